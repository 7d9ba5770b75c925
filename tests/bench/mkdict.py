#!/usr/bin/python3
"""Make transport/dict_v1.h, the preset zlib dictionary for BATCH payloads,
from real indicator lines (picketd -r output, e.g. tests/bench/mkcorpus.py).

Each line is re-serialised in picketd's own order with its variable values
(times, addresses, ids, counts, free text) cut out; what is left are the
literal runs between them, such as
    ","event":{"kind":"alert","category":["network","intrusion_detection"],...
These runs, plus the field names and enumerated values of docs/schema.md
that the sample does not show (process, IOC, health, DNS/TLS/URL fields),
make the dictionary.  zlib finds matches more cheaply at short distances,
so the most frequent runs go last.  Once shipped, a dictionary never
changes: a new one gets a new id (dict_v2.h, PK_DICT_V2).

    /usr/bin/python3 tests/bench/mkdict.py corpus.ndjson > transport/dict_v1.h
"""
import collections
import json
import sys

# Values never worth a dictionary entry: they differ per host, per event or
# per ruleset.
VARIABLE = {"@timestamp", "start", "end", "first_seen", "last_seen", "id",
            "name", "version", "message", "fingerprint", "ip", "reference",
            "seq", "count", "severity", "port", "excerpt", "path",
            "executable", "args", "sha256", "domain", "server_name"}
MARK = "\x00"

# Schema fields and values the sample captures do not produce, least
# common first.  Key runs are written as picketd writes them.
EXTRA = [
    '"ancestry":[', '"covered_fingerprints":', '"excerpt_offset":',
    '"excerpt":"', '"prevalence":', '"distinct_destinations":',
    '"rate_limited":', '"lost":', '"gid":', '"sid":', '"rev":',
    '"offset":', '"line":', '"list":"', '"matched":"',
    '"user":{"id":"', '"user":{"name":"', '"parent":{"pid":',
    '"hash":{"sha256":"', '"args":[', '"executable":"',
    '"process":{"pid":', '"picket.process.exec_deleted"',
    '"picket.process.exec_memfd"', '"picket.process.exec_recent"',
    '"picket.process.exec_writable"', '"picket.process.ioc_hash"',
    '"picket.process.listener"', '"picket.process.module"',
    '"picket.process.persistence"', '"picket.process.ptrace"',
    '"picket.process.scan"', '"module":"process","dataset":"picket.process"',
    '"received":', '"kernel_dropped":', '"interface_dropped":',
    '"agent_dropped":', '"rule":{"id":"picket.health.capture"',
    '"rule":{"id":"picket.health.process"',
    '"event":{"kind":"metric","category":["host"],"type":["info"]',
    '"threat":{"indicator":{"type":"ipv4-addr","name":"',
    '"threat":{"indicator":{"type":"ipv6-addr","name":"',
    '"threat":{"indicator":{"type":"domain-name","name":"',
    '"threat":{"indicator":{"type":"url","name":"',
    '"threat":{"indicator":{"type":"file","name":"', '","provider":"',
    '"ruleset":"picket-ioc"', '"dataset":"picket.ioc"',
    '"picket.ioc.address"', '"picket.ioc.domain"', '"picket.ioc.url"',
    '"url":{"domain":"', '","path":"', '"tls":{"client":{"server_name":"',
    '"dns":{"question":{"name":"', '"TLP:CLEAR"', '"TLP:GREEN"',
    '"TLP:RED"', '"direction":"internal"', '"direction":"external"',
    '"direction":"inbound"', '"direction":"outbound"',
    '"transport":"ipv6-icmp"', '"transport":"icmp"', '"transport":"udp"',
    '"attempts_ok":', '"attempts_failed":', '"targets":["',
    '"top_ports":[', '"distinct_hosts":', '"method":"trw"',
    '"method":"rate"', '"method":"fanout"',
    '"rule":{"id":"picket.scan.worm_port","name":"Worm-port scan"',
    '"rule":{"id":"picket.scan.address","name":"Address scan"',
    '"dataset":"picket.fingerprint"', '"type":["start","indicator"]',
    '"type":["change","indicator"]',
]


def skeleton(v, key, out):
    """Append v's JSON text to out with variable values as MARK."""
    if isinstance(v, dict):
        out.append("{")
        for i, (k, x) in enumerate(v.items()):
            if i:
                out.append(",")
            out.append(json.dumps(k) + ":")
            skeleton(x, k, out)
        out.append("}")
    elif isinstance(v, list):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            skeleton(x, key, out)
        out.append("]")
    elif key in VARIABLE or isinstance(v, (int, float)) or (
            isinstance(v, str) and any(c.isdigit() for c in v)):
        out.append('"' + MARK + '"' if isinstance(v, str) else MARK)
    else:
        out.append(json.dumps(v, ensure_ascii=False))


def runs(lines):
    count = collections.Counter()
    for line in lines:
        out = []
        skeleton(json.loads(line), None, out)
        for r in "".join(out).split(MARK):
            if len(r) >= 4:
                count[r] += 1
    return count


def c_string(s):
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def main(argv):
    with open(argv[1], encoding="utf-8") as f:
        lines = [l for l in f if l.strip()]
    count = runs(lines)
    common = [r for r, _ in sorted(count.items(), key=lambda rc: (rc[1], len(rc[0]), rc[0]))]
    parts = []
    for s in EXTRA + common:
        if not any(s in p for p in parts):
            parts = [p for p in parts if p not in s] + [s]
    total = sum(len(p.encode()) for p in parts)
    print("/*")
    print(" * dict_v1.h - preset zlib dictionary id 1 (PK_DICT_V1) for BATCH")
    print(" * payloads: the literal runs of our indicator JSON, generated by")
    print(" * tests/bench/mkdict.py from %d lines of picketd -r output on the" % len(lines))
    print(" * sample and generated worm captures, most frequent last as zlib")
    print(" * advises.  Frozen: the hub must decode id 1 for as long as agents")
    print(" * may send it; a different dictionary is a new file and a new id.")
    print(" * Included only by transport/batch.c.")
    print(" */")
    print("#ifndef PICKET_DICT_V1_H")
    print("#define PICKET_DICT_V1_H")
    print()
    print("/* %d bytes */" % total)
    print("static const char pk_dict_v1[] =")
    for p in parts:
        print("\t" + c_string(p))
    print("\t;")
    print()
    print("#endif")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
