#!/usr/bin/python3
"""Packet-analysis throughput (issue 9, benchmark 1): picketd -r versus
Suricata 7 (--runmode single and its default, autofp) versus a bare libpcap
read loop, on the same generated capture (tests/bench/mkbench.py), run
several times each; then picketd and Suricata again with a large generated
ruleset to show how the per-packet cost moves with the rule count.

    /usr/bin/python3 tests/bench/throughput.py [--smoke] [--runs N]
        [--size MB] [--rules N] [--pcap FILE]

Defaults: 5 runs, a 300 MB capture, 5,000 generated rules (plus the worm
rules).  --smoke: 1 run, 5 MB, 200 rules; checks only that every tool ran
and that figures were printed.  Environment: PICKETD, PCAP_READ (default
build/picketd, build/bench/pcap_read).

Every tool reads the same file with the same worm rules
(rules/worms.rules, which is Suricata syntax) and the same HOME_NET
(10.0.0.0/8): picketd with `-S` and `--home-net`, Suricata with
tests/integration/suricata-oracle.yaml (the config the rule tests use:
alerts to eve.json, nothing else) and `-k none`.  User+sys CPU and peak
RSS of each run come from /usr/bin/time (Debian: time), wall time from
around it.  A run of each tool on the first 100 packets gives its start-up
cost (rule loading), which is subtracted for the per-packet figures.
Alerting sids are compared between the tools, so a faster tool that
detects less shows up.
"""
import argparse
import collections
import json
import os
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PICKETD = os.environ.get("PICKETD", os.path.join(REPO, "build", "picketd"))
PCAP_READ = os.environ.get("PCAP_READ",
                           os.path.join(REPO, "build", "bench", "pcap_read"))
RULES = os.path.join(REPO, "rules", "worms.rules")
SURI_CONF = os.path.join(REPO, "tests", "integration", "suricata-oracle.yaml")
HOME_NET = "10.0.0.0/8"

Run = collections.namedtuple("Run", "wall cpu rss_kb out")


def run(argv, outdir):
    """Run argv once under /usr/bin/time: wall seconds (measured here: time's
    own are in hundredths), user+sys CPU seconds, peak RSS (KB).  Not
    wait4() from here: a child forked from Python carries Python's resident
    pages into ru_maxrss until exec."""
    os.makedirs(outdir, exist_ok=True)
    tf = os.path.join(outdir, "time")
    with open(os.path.join(outdir, "stdout"), "wb") as so, \
            open(os.path.join(outdir, "stderr"), "wb") as se:
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-o", tf, "-f", "%e %U %S %M"]
                           + argv, stdout=so, stderr=se)
        wall = time.monotonic() - t0
    if p.returncode != 0:
        with open(os.path.join(outdir, "stderr")) as f:
            err = f.read()[-2000:]
        sys.exit(f"throughput: {argv[0]} failed ({p.returncode}):\n{err}")
    with open(tf) as f:
        _, user, sys_, rss = f.read().split()[-4:]
    return Run(wall, float(user) + float(sys_), int(rss), outdir)


# ------------------------------------------------------------ the tools

def bare(pcap, out):
    return [PCAP_READ, pcap]


def picketd(rules):
    def argv(pcap, out):
        return [PICKETD, "-r", pcap, "-S", rules, "--home-net", HOME_NET,
                "-o", os.path.join(out, "alerts.ndjson")]
    return argv


def suricata(rules, single):
    def argv(pcap, out):
        a = ["suricata", "-c", SURI_CONF, "-S", rules, "-r", pcap, "-l", out,
             "-k", "none"]
        return a + ["--runmode", "single"] if single else a
    return argv


def sids(r, tool):
    """sid -> alert count, from the run's output."""
    got = collections.Counter()
    if tool.startswith("picketd"):
        path, key = os.path.join(r.out, "alerts.ndjson"), "picket"
    elif tool.startswith("suricata"):
        path, key = os.path.join(r.out, "eve.json"), "alert"
    else:
        return got
    if not os.path.exists(path):
        return got
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            if key == "picket":
                d = e.get("picket", {}).get("details", {})
                if "sid" in d:
                    got[d["sid"]] += e["picket"].get("count", 1)
            elif e.get("event_type") == "alert":
                got[e["alert"]["signature_id"]] += 1
    return got


def picketd_stat(r, name):
    with open(os.path.join(r.out, "stderr")) as f:
        for line in f:
            if line.startswith(name + " "):
                return int(line.split()[-1])
    return -1


# ------------------------------------------------------------ inputs

def capture(o):
    argv = ["/usr/bin/python3", os.path.join(HERE, "mkbench.py")]
    argv += ["--size", str(o.size)] if o.size else []
    argv += ["--smoke"] if o.smoke else []
    return subprocess.run(argv, check=True, capture_output=True,
                          text=True).stdout.strip()


def head(pcap, n, path):
    """The pcap header and the first n records of pcap, into path."""
    with open(pcap, "rb") as f, open(path, "wb") as g:
        g.write(f.read(24))
        for _ in range(n):
            h = f.read(16)
            if len(h) < 16:
                break
            incl = struct.unpack("<IIII", h)[2]
            g.write(h + f.read(incl))
    return path


WORDS = ("admin login update cmd shell exec upload panel config backup dump "
         "token session cookie agent proxy tunnel beacon loader stage drop "
         "payload invoke script query select union passwd shadow").split()


def gen_rules(n, path, seed=9):
    """n rules in Suricata syntax from a fixed seed: varied content strings
    (text and hex, some nocase, one to three per rule with distance/within,
    offset/depth), ports, protocols and flow keywords; then the worm rules.
    Written here from nothing; no real ruleset is copied.  Most contents
    are rare random strings (real rulesets rarely fire); a quarter start
    with a common anchor ("GET /", "HTTP/1.1", "|ff|SMB", TLS record bytes)
    so the prefilter finds candidates that the later contents refuse."""
    r = random.Random(seed)
    anchors = ('"GET /"', '"POST /"', '"HTTP/1.1"', '"User-Agent|3a| "',
               '"Host|3a| "', '"|ff|SMB"', '"|fe|SMB"', '"|16 03 01|"',
               '"|17 03 03|"', '"SSH-2.0-"')
    ports = ("any", "any", "any", "80", "$HTTP_PORTS", "443", "445", "53",
             "[139,445]", "1024:", "8000:8100", "25", "22", "[80,8080,8443]")
    alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

    def token():
        k = r.random()
        if k < 0.3:
            return '"|' + " ".join(f"{r.randrange(256):02x}" for _ in
                                   range(r.randrange(4, 10))) + '|"'
        s = r.choice(WORDS) + "".join(r.choice(alnum) for _ in
                                      range(r.randrange(3, 9)))
        if k < 0.5:
            s = "/" + s + r.choice((".php", ".asp", ".cgi", ".jsp"))
        return f'"{s}"'

    lines = []
    for i in range(n):
        proto = "udp" if r.random() < 0.12 else "tcp"
        sp, dp = ("any", r.choice(ports)) if r.random() < 0.8 else \
            (r.choice(ports), "any")
        opts = [f'msg:"BENCH generated rule {i}"']
        if proto == "tcp" and r.random() < 0.7:
            opts.append("flow:" + r.choice(("to_server,established",
                                            "to_client,established",
                                            "established")))
        if r.random() < 0.25:
            opts.append(f"content:{r.choice(anchors)}")
            if r.random() < 0.3:
                opts.append("depth:" + str(r.randrange(16, 64)))
            opts.append(f"content:{token()}")
            opts.append("distance:0")
            if r.random() < 0.4:
                opts.append("within:" + str(r.randrange(64, 512)))
        else:
            opts.append(f"content:{token()}")
            if r.random() < 0.2:
                opts.append("nocase")
            if r.random() < 0.15:
                opts.append("offset:" + str(r.randrange(0, 8)))
                opts.append("depth:" + str(r.randrange(32, 256)))
        if r.random() < 0.3:
            opts.append(f"content:{token()}")
            opts.append("distance:0")
        if proto == "udp" and r.random() < 0.2:
            opts.append("dsize:>" + str(r.randrange(20, 200)))
        opts.append(r.choice(("classtype:trojan-activity",
                              "classtype:web-application-attack",
                              "classtype:attempted-admin",
                              "classtype:misc-activity")))
        opts.append(f"sid:{2000000 + i}")
        opts.append("rev:1")
        lines.append(f"alert {proto} any {sp} -> any {dp} ("
                     + "; ".join(opts) + ";)")
    with open(RULES) as f:
        worms = f.read()
    with open(path, "w") as f:
        f.write("# generated by tests/bench/throughput.py (gen_rules)\n")
        f.write("\n".join(lines) + "\n" + worms)
    return path


def check_loaded(rules, expect, tmp):
    """How many rules each tool loaded from the file (both must load all)."""
    p = subprocess.run([PICKETD, "-r", head_pcap, "-S", rules, "--home-net",
                        HOME_NET, "-o", "/dev/null"], capture_output=True,
                       text=True)
    pk = -1
    for line in p.stderr.splitlines():
        if line.startswith("rules.loaded "):
            pk = int(line.split()[-1])
    s = subprocess.run(["suricata", "-T", "-v", "-c", SURI_CONF, "-S", rules,
                        "-l", tmp], capture_output=True, text=True)
    su = -1
    for line in (s.stdout + s.stderr).splitlines():
        if "rules successfully loaded" in line:
            su = int(line.split("processed.")[1].split()[0])
    print(f"  rules loaded: picketd {pk}, suricata {su} (of {expect})")
    return pk, su


# ------------------------------------------------------------ report

def fmt_range(xs, f="{:.2f}"):
    return (f.format(statistics.median(xs)) + " [" + f.format(min(xs)) +
            "-" + f.format(max(xs)) + "]")


def measure(tools, pcap, runs, tmp, tag):
    """tools: [(name, argv_fn)]; runs interleaved round-robin so that load
    from the other users of the machine hits every tool alike."""
    res = {name: [] for name, _ in tools}
    for i in range(runs):
        for name, fn in tools:
            out = os.path.join(tmp, f"{tag}-{name}-{i}")
            res[name].append(run(fn(pcap, out), out))
    return res


def startup(tools, tiny, tmp, tag):
    st = {}
    for name, fn in tools:
        out = os.path.join(tmp, f"{tag}-{name}-startup")
        rs = [run(fn(tiny, out + str(k)), out + str(k)) for k in range(2)]
        st[name] = min(rs, key=lambda x: x.wall)
    return st


def report(res, st, packets, nbytes, ref, base):
    print(f"  {'tool':18} {'wall s median [range]':>24} {'Mpkt/s':>7} "
          f"{'Mbit/s':>7} {'CPU s median [range]':>24} {'RSS MB':>7} "
          f"{'start s':>7} {'us/pkt':>7} {'x ' + ref:>14} {'x bare':>7}")
    med = {}
    for name, rs in res.items():
        wall = statistics.median(r.wall for r in rs)
        cpu = statistics.median(r.cpu for r in rs)
        med[name] = (wall, cpu)
    for name, rs in res.items():
        wall, cpu = med[name]
        rss = statistics.median(r.rss_kb for r in rs) / 1024
        s0 = st[name].cpu if name in st else 0.0
        per = max(cpu - s0, 0) / packets * 1e6
        pps = packets / wall
        rref = med[ref][0] / wall if ref in med else float("nan")
        rbase = med[base][0] / wall if base in med else float("nan")
        print(f"  {name:18} {fmt_range([r.wall for r in rs]):>24} "
              f"{pps / 1e6:>7.3f} {nbytes * 8 / wall / 1e6:>7.0f} "
              f"{fmt_range([r.cpu for r in rs]):>24} {rss:>7.1f} "
              f"{st[name].wall if name in st else 0:>7.2f} {per:>7.2f} "
              f"{rref:>14.2f} {rbase:>7.2f}")
    return med


def compare(res):
    got = {name: sids(rs[0], name) for name, rs in res.items()
           if not name.startswith("bare")}
    names = list(got)
    for name in names:
        c = got[name]
        print(f"  alerts {name:18} {sum(c.values()):>6} over "
              f"{len(c)} sids")
    ref = got.get("suricata-single")
    if ref is not None:
        for name in names:
            if name.startswith("picketd"):
                miss = {s: ref[s] - got[name].get(s, 0) for s in ref
                        if got[name].get(s, 0) < ref[s]}
                extra = set(got[name]) - set(ref)
                print(f"  {name}: sids fewer than Suricata: "
                      f"{dict(sorted(miss.items())) or 'none'}; "
                      f"sids Suricata lacks: {sorted(extra) or 'none'}")
    return got


head_pcap = None


def main():
    global head_pcap
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--size", type=float, help="capture MB (default 300)")
    ap.add_argument("--rules", type=int, help="generated rules (5000)")
    ap.add_argument("--pcap", help="use this capture instead of mkbench's")
    o = ap.parse_args()
    runs = o.runs or (1 if o.smoke else 5)
    nrules = o.rules if o.rules is not None else (200 if o.smoke else 5000)
    for exe in (PICKETD, PCAP_READ):
        if not os.access(exe, os.X_OK):
            sys.exit(f"throughput: {exe} missing (make all "
                     "build/bench/pcap_read)")
    v = subprocess.run(["suricata", "-V"], capture_output=True, text=True)
    pcap = o.pcap or capture(o)
    with tempfile.TemporaryDirectory(prefix="pk-tput-") as tmp:
        head_pcap = head(pcap, 100, os.path.join(tmp, "head.pcap"))
        cnt = run(bare(pcap, None), os.path.join(tmp, "count"))
        with open(os.path.join(cnt.out, "stdout")) as f:
            w = f.read().split()
        packets, nbytes = int(w[1]), int(w[3])
        print(f"throughput: {pcap}\n  {packets} packets, {nbytes} bytes "
              f"({nbytes / packets:.0f} B/packet); {runs} runs each, "
              f"interleaved; {os.cpu_count()} CPUs; load average "
              f"{os.getloadavg()[0]:.2f}; {v.stdout.strip()}")

        print("\n[1] default ruleset: rules/worms.rules")
        tools = [("bare-read", bare), ("picketd", picketd(RULES)),
                 ("suricata-single", suricata(RULES, True)),
                 ("suricata-autofp", suricata(RULES, False))]
        st = startup(tools, head_pcap, tmp, "d")
        res = measure(tools, pcap, runs, tmp, "d")
        med = report(res, st, packets, nbytes, "suricata-single",
                     "bare-read")
        compare(res)
        pr = res["picketd"][0]
        print("  picketd stream.memcap_refused "
              f"{picketd_stat(pr, 'stream.memcap_refused')}, "
              f"rules.prefilter_bytes "
              f"{picketd_stat(pr, 'rules.prefilter_bytes')} "
              f"(stream.bytes {picketd_stat(pr, 'stream.bytes')})")

        big = None
        if nrules > 0:
            big_rules = gen_rules(nrules, os.path.join(tmp, "big.rules"))
            nworm = sum(1 for line in open(RULES) if line.startswith("alert"))
            print(f"\n[2] large ruleset: {nrules} generated rules + "
                  f"{nworm} worm rules")
            check_loaded(big_rules, nrules + nworm, tmp)
            tools2 = [("picketd-big", picketd(big_rules)),
                      ("suricata-single-big", suricata(big_rules, True)),
                      ("suricata-autofp-big", suricata(big_rules, False))]
            st2 = startup(tools2, head_pcap, tmp, "b")
            res2 = measure(tools2, pcap, runs, tmp, "b")
            big = report(dict(res2, **{"suricata-single":
                                       res["suricata-single"],
                                       "bare-read": res["bare-read"]}),
                         dict(st2, **st), packets, nbytes,
                         "suricata-single", "bare-read")
            print("  per-packet CPU cost (median, start-up subtracted), "
                  f"{nworm} -> {nrules + nworm} rules:")
            for a, b in (("picketd", "picketd-big"),
                         ("suricata-single", "suricata-single-big"),
                         ("suricata-autofp", "suricata-autofp-big")):
                pa = max(med[a][1] - st[a].cpu, 0) / packets * 1e6
                pb = max(big[b][1] - st2[b].cpu, 0) / packets * 1e6
                print(f"    {a:16} {pa:6.2f} us -> {pb:6.2f} us "
                      f"(x{pb / pa if pa else float('nan'):.2f}); "
                      f"rule loading {st[a].wall:.2f} s -> "
                      f"{st2[b].wall:.2f} s")

        print("\n  wall ratio to Suricata single (>= 2 is the target): "
              f"picketd {med['suricata-single'][0] / med['picketd'][0]:.2f}"
              "; picketd share of the bare read rate (>= 0.5 is the "
              f"target): {med['bare-read'][0] / med['picketd'][0]:.3f}")
        if o.smoke:
            if packets <= 0 or any(len(v) != runs for v in res.values()):
                sys.exit("throughput smoke run printed no figures")
            print("throughput: smoke OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
