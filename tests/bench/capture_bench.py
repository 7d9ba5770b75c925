#!/usr/bin/python3
"""Capture benchmark: does live capture hold while detection works, and
up to what rate compared with Suricata?

Replays the first packets of the benchmark capture (tests/bench/mkbench.py,
300 MB, 466,166 packets of the realistic mix, worm conversations
included: about SECONDS of traffic at each rate, the whole file at top
speed, never looped, so every flow is new) with tcpreplay into one end of
a veth pair at rising packet rates, while one tool at a time captures on
the other end (its own network namespace):

- picketd, worm rules (rules/worms.rules), HOME_NET 10/8, defaults
  otherwise (libpcap, 4 MB kernel buffer, its own ring to the engine);
- Suricata 7 with the same rules and tests/integration/suricata-oracle.yaml's
  variables, AF_PACKET (its default runmode for it, workers; threads
  auto, tpacket-v3, cluster_flow), and the same in pcap mode (4 MB
  buffer, like picketd's);
- tcpdump -w (4 MB buffer): capture with no analysis at all.

Tools run one after the other, never together (2 cores: running them side
by side would measure who wins the CPU), interleaved within each rate and
repeated (--runs).  Each tool's own counters say what it received and
dropped: picketd's exit statistics (pcap.IF.received / .dropped: the
kernel; .agent_dropped: its ring), Suricata's final "device: packets,
drops" line (capture.kernel_packets / kernel_drops; its eve.json stats
event as the fallback), tcpdump's "dropped by kernel".  Per rate: median
and range of each; then, per tool, the lowest rate at which a run dropped
anything.

    /usr/bin/python3 tests/bench/capture_bench.py [--smoke] [--runs N]
        [--rates 10000,50000,max] [--tools picketd,suricata,...] [--pcap F]
        [--cpu-limit PERCENT]

--cpu-limit gives every tool the same CPU budget: PERCENT of one core
(a cgroup's CPU quota, 10 ms period: cgroup v2 cpu.max or v1
cpu.cfs_quota_us), the tool pinned to the last CPU and tcpreplay to the
first.  Unconstrained, on this 2-core machine no tool drops anything up
to the fastest rate one tcpreplay sends, so there is no rate at which
"Suricata starts dropping"; with the same small budget each tool drops
from the rate its own cost per packet allows, and the rates and the
drops beyond them can be compared.  The cgroup's throttling counters are
printed with each run, to show the budget was what limited it.

Needs root (namespaces).  Not part of `make check` except as --smoke: the
first 2,000 packets of the 5 MB capture at 5,000 packets/s, once for
picketd and once for Suricata AF_PACKET, about 8 s in all (Suricata
starts in under a second on these rules, so it is in the smoke;
without `suricata` installed the smoke skips it and says so).  Traffic
stays inside the two namespaces it creates.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from netns import Pair, sh, wait_for  # noqa: E402

PICKETD = os.environ.get("PICKETD", os.path.join(REPO, "build", "picketd"))
RULES = os.path.join(REPO, "rules", "worms.rules")
IFACE = "veth-pkb"
SECONDS = 4.0           # traffic per run at a given rate
BUFFER_MB = 4           # every tool's kernel buffer (picketd's default)
TOOLS = ("picketd", "suricata", "suricata-pcap", "tcpdump")

SURI_YAML = """%YAML 1.1
---
# capture_bench.py: tests/integration/suricata-oracle.yaml plus live
# capture and a stats event every second.
stats:
  enabled: yes
  interval: 1
vars:
  address-groups:
    HOME_NET: "[10.0.0.0/8]"
    EXTERNAL_NET: "!$HOME_NET"
  port-groups:
    HTTP_PORTS: "80"
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      types:
        - alert
        - stats:
            totals: yes
            threads: no
logging:
  default-log-level: notice
  outputs:
    - console:
        enabled: yes
af-packet:
  - interface: {iface}
    threads: auto
    cluster-id: {cluster}
    cluster-type: cluster_flow
    defrag: yes
    use-mmap: yes
    tpacket-v3: yes
pcap:
  - interface: {iface}
    buffer-size: {buf}
classification-file: /etc/suricata/classification.config
reference-config-file: /etc/suricata/reference.config
"""


def cpu_seconds(pid):
    """CPU of pid and every process it forked (picketd's supervisor forks
    the worker that captures; threads are counted in their process)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    v = f.read().rsplit(")", 1)[1].split()
                kids.setdefault(int(v[1]), []).append(
                    (int(d), int(v[11]) + int(v[12])))
            except OSError:
                pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            v = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    todo, ticks = [pid], int(v[11]) + int(v[12])
    while todo:
        for child, t in kids.get(todo.pop(), []):
            ticks += t
            todo.append(child)
    return ticks / os.sysconf("SC_CLK_TCK")


def stat(err, name):
    for line in err.splitlines():
        if f"stats: {name} " in line:
            return int(line.split()[-1])
    return -1


def inner_pid(wrapper):
    """`ip netns exec` execs the command, so the pid is the tool's."""
    return wrapper.pid


def start_picketd(pair, tmp, pre=None):
    cfg = os.path.join(tmp, "agent.ini")
    with open(cfg, "w") as f:
        f.write(f"[network]\nhome_net = 10.0.0.0/8\n"
                f"[pcap]\ninterfaces = {IFACE}\npromiscuous = yes\n"
                f"buffer_size = {BUFFER_MB}M\nhealth_interval = 0\n"
                "[process]\nenabled = no\n"
                + os.environ.get("PICKET_BENCH_EXTRA", "") + "\n")
    errf = os.path.join(tmp, "picketd.err")
    if os.path.exists(os.path.join(tmp, "picketd.ndjson")):
        os.unlink(os.path.join(tmp, "picketd.ndjson"))   # -o appends
    p = pair.popen(pair.b, PICKETD, "-f", "-c", cfg, "-S", RULES, "-o",
                   os.path.join(tmp, "picketd.ndjson"),
                   stdout=subprocess.DEVNULL, stderr=open(errf, "w"),
                   preexec_fn=pre)
    ok = wait_for(lambda: "running, host" in open(errf).read()
                  or p.poll() is not None, timeout=30)
    if not ok or p.poll() is not None:
        sys.exit("capture_bench: picketd did not start:\n" + open(errf).read())
    return p, errf


def stop_picketd(p, errf):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=60)
    err = open(errf).read()
    kd = stat(err, f"pcap.{IFACE}.dropped")
    ad = stat(err, f"pcap.{IFACE}.agent_dropped")
    return {"received": stat(err, f"pcap.{IFACE}.received"),
            "kernel_drop": kd, "agent_drop": ad,
            "dropped": max(kd, 0) + max(ad, 0),
            "alerts": count_lines(os.path.join(os.path.dirname(errf),
                                               "picketd.ndjson"))}


def count_lines(path):
    try:
        with open(path) as f:
            return sum(1 for _ in f)
    except OSError:
        return -1


def start_suricata(pair, tmp, mode, pre=None):
    conf = os.path.join(tmp, "suricata.yaml")
    with open(conf, "w") as f:
        f.write(SURI_YAML.format(iface=IFACE, buf=f"{BUFFER_MB}mb",
                                 cluster=90 + os.getpid() % 9))
    out = os.path.join(tmp, "suri")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    errf = os.path.join(tmp, "suricata.err")
    cap = f"--af-packet={IFACE}" if mode == "afp" else f"--pcap={IFACE}"
    p = pair.popen(pair.b, "suricata", "-c", conf, "-S", RULES, cap, "-l",
                   out, "-k", "none", stdout=open(errf, "w"),
                   stderr=subprocess.STDOUT, preexec_fn=pre)
    ok = wait_for(lambda: "Engine started" in open(errf).read()
                  or p.poll() is not None, timeout=60)
    if not ok or p.poll() is not None:
        sys.exit("capture_bench: suricata did not start:\n"
                 + open(errf).read())
    return p, errf


def stop_suricata(p, errf):
    p.send_signal(signal.SIGINT)
    p.wait(timeout=120)
    text = open(errf).read()
    got = drop = -1
    m = re.search(r"device: \S+: packets: (\d+), drops: (\d+)", text)
    if m:
        got, drop = int(m.group(1)), int(m.group(2))
    eve = os.path.join(os.path.dirname(errf), "suri", "eve.json")
    alerts, last = 0, None
    try:
        with open(eve) as f:
            for line in f:
                if '"event_type":"alert"' in line:
                    alerts += 1
                elif '"event_type":"stats"' in line:
                    last = line
    except OSError:
        pass
    if got < 0 and last:
        c = json.loads(last)["stats"].get("capture", {})
        got, drop = c.get("kernel_packets", -1), c.get("kernel_drops", -1)
    return {"received": got, "kernel_drop": drop, "agent_drop": 0,
            "dropped": max(drop, 0), "alerts": alerts}


def start_tcpdump(pair, tmp, pre=None):
    errf = os.path.join(tmp, "tcpdump.err")
    p = pair.popen(pair.b, "tcpdump", "-p", "-i", IFACE, "-w",
                   os.path.join(tmp, "peer.pcap"), "-B",
                   str(BUFFER_MB * 1024), stdout=subprocess.DEVNULL,
                   stderr=open(errf, "w"), preexec_fn=pre)
    wait_for(lambda: "listening on" in open(errf).read()
             or p.poll() is not None, timeout=20)
    return p, errf


def stop_tcpdump(p, errf):
    p.send_signal(signal.SIGINT)
    p.wait(timeout=30)
    got = drop = -1
    for line in open(errf).read().splitlines():
        if "packets captured" in line:
            got = int(line.split()[0])
        if "dropped by kernel" in line:
            drop = int(line.split()[0])
    return {"received": got, "kernel_drop": drop, "agent_drop": 0,
            "dropped": max(drop, 0), "alerts": -1}


class CpuLimit:
    """One cgroup with a CPU quota for the tool under test (--cpu-limit).
    cgroup v2 when its root offers the cpu controller, else the v1 cpu
    hierarchy; anything else is refused with the reason.  The tool joins
    it before exec (preexec), so every process and thread it starts is
    inside."""

    PERIOD_US = 10000   # short: a 4 MB ring must outlast one throttle

    def __init__(self, percent):
        self.percent = percent
        name = f"picket-capbench-{os.getpid()}"
        v2 = "/sys/fs/cgroup"
        v1 = "/sys/fs/cgroup/cpu"
        quota = max(1000, int(self.PERIOD_US * percent / 100))
        if "cpu" in _read(os.path.join(v2, "cgroup.controllers")).split():
            _write(os.path.join(v2, "cgroup.subtree_control"), "+cpu",
                   ok_fail=True)
            self.dir = os.path.join(v2, name)
            os.makedirs(self.dir, exist_ok=True)
            _write(os.path.join(self.dir, "cpu.max"),
                   f"{quota} {self.PERIOD_US}")
            self.v2 = True
        elif os.path.exists(os.path.join(v1, "cpu.cfs_quota_us")):
            self.dir = os.path.join(v1, name)
            os.makedirs(self.dir, exist_ok=True)
            _write(os.path.join(self.dir, "cpu.cfs_period_us"),
                   str(self.PERIOD_US))
            _write(os.path.join(self.dir, "cpu.cfs_quota_us"), str(quota))
            self.v2 = False
        else:
            sys.exit("capture_bench: --cpu-limit needs the cgroup cpu "
                     "controller (v2 cpu.max or v1 cpu.cfs_quota_us); "
                     "neither is mounted")
        self.last = os.cpu_count() - 1

    def enter(self):
        """preexec_fn: this process into the cgroup, on the last CPU."""
        with open(os.path.join(self.dir, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
        os.sched_setaffinity(0, {self.last})

    def throttled(self):
        """(periods, throttled periods, throttled seconds) so far."""
        st = {}
        for line in _read(os.path.join(self.dir, "cpu.stat")).splitlines():
            k, _, v = line.partition(" ")
            st[k] = int(v or 0)
        us = st.get("throttled_usec", st.get("throttled_time", 0) // 1000)
        return st.get("nr_periods", 0), st.get("nr_throttled", 0), us / 1e6

    def close(self):
        for _ in range(50):
            try:
                os.rmdir(self.dir)
                return
            except OSError:
                time.sleep(0.1)   # the last tool is still exiting


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _write(path, text, ok_fail=False):
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        if not ok_fail:
            sys.exit(f"capture_bench: {path}: {e}")


def run_one(pair, tool, pcap, limit, loops, rate, tmp, cg=None):
    pre = cg.enter if cg is not None else None
    if tool == "picketd":
        p, errf = start_picketd(pair, tmp, pre)
    elif tool.startswith("suricata"):
        p, errf = start_suricata(pair, tmp,
                                 "pcap" if tool.endswith("pcap") else "afp",
                                 pre)
    else:
        p, errf = start_tcpdump(pair, tmp, pre)
    time.sleep(0.5)
    cpu0 = cpu_seconds(inner_pid(p))
    thr0 = cg.throttled() if cg is not None else (0, 0, 0.0)
    args = ["tcpreplay", "-q", f"--loop={loops}", "-i", "veth-pka"]
    if cg is not None:
        args = ["taskset", "-c", "0"] + args
    if limit:
        args.append(f"--limit={limit}")
    args += ["--topspeed"] if rate == "max" else [f"--pps={rate}"]
    t0 = time.monotonic()
    rep = pair.run(pair.a, *args, pcap, timeout=900)
    elapsed = time.monotonic() - t0
    time.sleep(1.5)     # the kernel hands over what it buffered
    cpu = cpu_seconds(inner_pid(p)) - cpu0
    thr1 = cg.throttled() if cg is not None else (0, 0, 0.0)
    if tool == "picketd":
        r = stop_picketd(p, errf)
    elif tool.startswith("suricata"):
        r = stop_suricata(p, errf)
    else:
        r = stop_tcpdump(p, errf)
    sent, pps = 0, 0.0
    for line in rep.stdout.splitlines():
        if "Actual:" in line:
            sent = int(line.split()[1])
        m = re.search(r"([\d.]+) pps", line)
        if "Rated:" in line and m:
            pps = float(m.group(1))
    r.update(tool=tool, rate=rate, sent=sent, seconds=elapsed, cpu=cpu,
             pps=pps, periods=thr1[0] - thr0[0],
             throttled=thr1[1] - thr0[1], throttled_s=thr1[2] - thr0[2])
    return r


def capture(smoke):
    argv = ["/usr/bin/python3", os.path.join(HERE, "mkbench.py")]
    if smoke:
        argv.append("--smoke")
    return subprocess.run(argv, check=True, capture_output=True,
                          text=True).stdout.strip().splitlines()[-1]


def packets_in(pcap):
    """Records in a classic pcap file (mkbench writes no options)."""
    n, off = 0, 24
    size = os.path.getsize(pcap)
    with open(pcap, "rb") as f:
        while off + 16 <= size:
            f.seek(off + 8)
            caplen = int.from_bytes(f.read(4), "little")
            off += 16 + caplen
            n += 1
    return n


def med(xs, f="{:,.0f}"):
    xs = [x for x in xs if x is not None and x >= 0]
    if not xs:
        return "-"
    m = statistics.median(xs)
    if min(xs) == max(xs):
        return f.format(m)
    return f"{f.format(m)} [{f.format(min(xs))}-{f.format(max(xs))}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rates",
                    default="10000,50000,100000,150000,200000,max")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--pcap", help="replay this capture instead")
    ap.add_argument("--cpu-limit", type=float, metavar="PERCENT",
                    help="every tool gets this share of one core")
    o = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("capture_bench: needs root (network namespaces)")
    tools = [t for t in o.tools.split(",") if t]
    if shutil.which("suricata") is None:
        print("capture_bench: suricata not installed (packaging/deps.sh); "
              "left out")
        tools = [t for t in tools if not t.startswith("suricata")]
    pcap = o.pcap or capture(o.smoke)
    if o.smoke:
        rates, runs, npk = [5000], 1, 2000
        tools = [t for t in tools if t in ("picketd", "suricata")]
    else:
        rates = [r if r == "max" else int(r) for r in o.rates.split(",")]
        runs, npk = o.runs, packets_in(pcap)
    ver = ""
    if any(t.startswith("suricata") for t in tools):
        ver = subprocess.run(["suricata", "-V"], capture_output=True,
                             text=True).stdout.strip()
    cg = CpuLimit(o.cpu_limit) if o.cpu_limit else None
    budget = "no CPU limit" if cg is None else (
        f"each tool limited to {o.cpu_limit:g}% of CPU {cg.last} "
        f"({'cgroup v2' if cg.v2 else 'cgroup v1'}, {cg.PERIOD_US // 1000} "
        "ms period), tcpreplay on CPU 0")
    print(f"capture benchmark: {os.path.basename(pcap)} ({npk:,} packets"
          f"{' sent' if o.smoke else ''}), {', '.join(tools)}, one at a time "
          f"on one veth; {budget}; {runs} run(s); {os.cpu_count()} CPUs; "
          f"load {os.getloadavg()[0]:.2f}; {ver}")
    try:
        res = measure(o, cg, pcap, tools, rates, runs, npk)
    finally:
        if cg is not None:
            cg.close()
    report(o, cg, tools, rates, res)


def measure(o, cg, pcap, tools, rates, runs, npk):
    res = {}
    with tempfile.TemporaryDirectory() as tmp, Pair() as pair:
        os.chmod(tmp, 0o755)
        for ns, dev in ((pair.a, "veth-pka"), (pair.b, IFACE)):
            # the mix has a few frames above 1500 bytes (worm payloads)
            sh("ip", "-n", ns, "link", "set", dev, "mtu", "9000")
        for rate in rates:
            # about SECONDS of traffic: the first packets of the capture
            limit = npk if rate == "max" else min(npk, int(rate * SECONDS))
            for run in range(runs):
                for tool in tools:
                    r = run_one(pair, tool, pcap, limit, 1, rate, tmp,
                                cg)
                    res.setdefault((rate, tool), []).append(r)
                    thr = "" if cg is None else (
                        f" throttled {r['throttled']}/{r['periods']} "
                        f"periods, {r['throttled_s']:.2f} s")
                    print(f"  {str(rate):>7} run {run + 1} {tool:14s} "
                          f"sent {r['sent']:>8,} at {r['pps']:>8,.0f}/s "
                          f"received {r['received']:>8,} dropped "
                          f"{r['kernel_drop']:>6,}+{r['agent_drop']:>6,} "
                          f"cpu {r['cpu']:5.2f} s alerts {r['alerts']}"
                          f"{thr}", flush=True)
    return res


def pct(r):
    """Share of what was sent that the tool dropped, in percent."""
    return 100.0 * r["dropped"] / r["sent"] if r["sent"] > 0 else None


def report(o, cg, tools, rates, res):
    print()
    print("| rate (pps) | tool | sent | achieved pps | received | "
          "kernel drops | agent drops | drops % | CPU s | alerts |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for rate in rates:
        for tool in tools:
            rs = res[(rate, tool)]
            print(f"| {rate} | {tool} | {med([r['sent'] for r in rs])} | "
                  f"{med([r['pps'] for r in rs])} | "
                  f"{med([r['received'] for r in rs])} | "
                  f"{med([r['kernel_drop'] for r in rs])} | "
                  f"{med([r['agent_drop'] for r in rs])} | "
                  f"{med([pct(r) for r in rs], '{:.1f}')} | "
                  f"{med([r['cpu'] for r in rs], '{:.2f}')} | "
                  f"{med([r['alerts'] for r in rs])} |")
    print()
    for tool in tools:
        first = [rate for rate in rates
                 if any(r["dropped"] > 0 for r in res[(rate, tool)])]
        every = [rate for rate in rates
                 if all(r["dropped"] > 0 for r in res[(rate, tool)])]
        print(f"  {tool:14s} first drops at: "
              f"{first[0] if first else 'none up to ' + str(rates[-1])}"
              f"{'' if not every else f' (every run from {every[0]})'}")
    if o.smoke:
        for tool in tools:
            r = res[(rates[0], tool)][0]
            if r["sent"] <= 0 or r["received"] < 0:
                sys.exit(f"capture benchmark smoke: {tool} printed no "
                         "figures")
            if cg is not None and r["periods"] <= 0:
                sys.exit(f"capture benchmark smoke: {tool} ran outside "
                         "its CPU-limited cgroup")


if __name__ == "__main__":
    main()
