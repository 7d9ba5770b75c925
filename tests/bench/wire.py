#!/usr/bin/python3
"""Bytes per indicator on the wire for the benchmark mix.

Runs `picketd -r` on the benchmark capture (tests/bench/mkbench.py, the
300 MB default; worm rules, HOME_NET 10/8, as throughput.py does) and
packs the indicators it prints the way the shipper does
(transport/batch.c: zlib, level 6, window 15, one NDJSON line per record;
the preset dictionary id 1 read from transport/dict_v1.h), in
consecutive batches of 1, 10, 100 and every record (no wrapping round, so
no line is counted twice).  Per indicator, for each batch size:

- raw NDJSON (the line and its newline);
- deflate without a dictionary;
- deflate with dictionary 1;
- the same plus what each batch costs around it: the frame header and
  the BATCH fixed part (PK_FRAME_HDR + PK_BATCH_FIXED, 23 bytes) and a
  TLS 1.3 record (22 bytes per 16 KiB: header, AEAD tag, content type).

Then the raw size by detector (event.dataset), and build/bench/batch_bench
on the same lines as a cross-check of the dictionary figures (it wraps
round the file for batches larger than it, so its 1,000-line row repeats
lines).

    /usr/bin/python3 tests/bench/wire.py [--smoke] [--pcap F]

--smoke uses the 5 MB capture and skips batch_bench (under a second).
Needs no root.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PICKETD = os.environ.get("PICKETD", os.path.join(REPO, "build", "picketd"))
BATCH_BENCH = os.environ.get("BATCH_BENCH", os.path.join(
    REPO, "build", "bench", "batch_bench"))
RULES = os.path.join(REPO, "rules", "worms.rules")
FRAMING = 6 + 17        # PK_FRAME_HDR + PK_BATCH_FIXED
TLS_RECORD, TLS_OVERHEAD = 16384, 22


def dictionary():
    """pk_dict_v1 from transport/dict_v1.h: C string literals that use no
    escape but \\" and \\\\ (checked against the length in its comment)."""
    with open(os.path.join(REPO, "transport", "dict_v1.h")) as f:
        text = f.read()
    body = text.split("pk_dict_v1[] =", 1)[1].split(";", 1)[0]
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    if any(re.search(r'\\[^"\\]', p) for p in parts):
        sys.exit("wire: dict_v1.h has escapes this parser does not know")
    data = "".join(json.loads(f'"{p}"') for p in parts).encode()
    m = re.search(r"/\* (\d+) bytes \*/", text)
    if m and int(m.group(1)) != len(data):
        sys.exit(f"wire: dictionary is {len(data)} bytes, header says "
                 f"{m.group(1)}")
    return data


def deflate(lines, zdict):
    z = (zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY,
                          zdict=zdict) if zdict else
         zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY))
    return len(z.compress(b"".join(ln + b"\n" for ln in lines)) + z.flush())


def on_wire(zlen):
    """A BATCH frame of zlen payload bytes inside TLS records."""
    n = zlen + FRAMING
    return n + TLS_OVERHEAD * ((n + TLS_RECORD - 1) // TLS_RECORD)


def capture(smoke):
    argv = ["/usr/bin/python3", os.path.join(HERE, "mkbench.py")]
    if smoke:
        argv.append("--smoke")
    return subprocess.run(argv, check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--pcap")
    o = ap.parse_args()
    pcap = o.pcap or capture(o.smoke)
    p = subprocess.run([PICKETD, "-r", pcap, "-S", RULES, "--home-net",
                        "10.0.0.0/8"], capture_output=True, timeout=600)
    if p.returncode != 0:
        sys.exit("wire: picketd -r failed:\n" + p.stderr.decode()[-2000:])
    lines = [ln for ln in p.stdout.split(b"\n") if ln.startswith(b"{")]
    if not lines:
        sys.exit("wire: picketd -r printed no indicators")
    zdict = dictionary()
    n = len(lines)
    raw = sum(len(ln) + 1 for ln in lines)
    print(f"wire: {n} indicators from picketd -r {os.path.basename(pcap)}, "
          f"{raw:,} bytes of NDJSON ({raw / n:.0f} per indicator); "
          f"zlib level 6, dictionary v1 {len(zdict):,} bytes")
    print()
    print("| records per batch | batches | raw NDJSON | deflate | "
          "deflate + dictionary | + frame and TLS |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    sizes = sorted({s for s in (1, 10, 100, 1000) if s < n} | {n})
    res = {}
    for size in sizes:
        chunks = [lines[i:i + size] for i in range(0, n, size)]
        z0 = sum(deflate(c, None) for c in chunks)
        z1 = sum(deflate(c, zdict) for c in chunks)
        w = sum(on_wire(deflate(c, zdict)) for c in chunks)
        res[size] = (z0 / n, z1 / n, w / n)
        label = f"{size} (all)" if size == n else str(size)
        print(f"| {label} | {len(chunks)} | {raw / n:.0f} | {z0 / n:.0f} | "
              f"{z1 / n:.0f} | {w / n:.0f} |")
    print()
    by = collections.defaultdict(lambda: [0, 0])
    for ln in lines:
        ds = json.loads(ln).get("event", {}).get("dataset", "?")
        by[ds][0] += 1
        by[ds][1] += len(ln) + 1
    print("raw size by detector: " + ", ".join(
        f"{ds} {c} x {b / c:.0f} B" for ds, (c, b) in
        sorted(by.items(), key=lambda kv: -kv[1][1])))
    if os.path.exists(BATCH_BENCH) and not o.smoke:
        with tempfile.NamedTemporaryFile(suffix=".ndjson") as f:
            f.write(b"".join(ln + b"\n" for ln in lines))
            f.flush()
            bb = subprocess.run([BATCH_BENCH, f.name], capture_output=True,
                                text=True, timeout=600)
        table = [ln for ln in bb.stdout.splitlines()
                 if ln.startswith("| ") and "MB/s" not in ln
                 and ("dictionary" in ln or ln.count("|") == 5)]
        print("batch_bench on the same lines (wraps round past "
              f"{n} lines):")
        for ln in table[:5]:
            print("  " + ln)
    if o.smoke and not (res[sizes[0]][1] < res[sizes[0]][0] and
                        res[sizes[-1]][1] < raw / n):
        sys.exit("wire smoke: the dictionary does not help")


if __name__ == "__main__":
    main()
