#!/usr/bin/python3
"""Capture benchmark: does live capture hold while detection works?

Replays a capture with tcpreplay into one end of a veth pair at rising
packet rates while picketd captures on the other end (its own network
namespace), and tcpdump captures the same interface as the peer tool.
Prints, per rate: packets sent, what each tool received, kernel drops,
picketd's own drops (its ring) and picketd's CPU time.

    /usr/bin/python3 tests/bench/capture_bench.py [--smoke] [PCAP]

Needs root (namespaces).  Not part of `make check` except as --smoke,
which runs one tiny rate to prove the script works.  Traffic stays inside
the two namespaces it creates.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from netns import Pair, wait_for  # noqa: E402

PICKETD = os.environ.get("PICKETD", os.path.join(REPO, "build", "picketd"))


def cpu_seconds(pid):
    """CPU of pid and every process it forked: picketd's supervisor forks
    the worker that captures, so the parent alone shows about 0."""
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
    with open(f"/proc/{pid}/stat") as f:
        v = f.read().rsplit(")", 1)[1].split()
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


def run_rate(pair, pcap, loops, rate, tmp):
    cfg = os.path.join(tmp, "agent.ini")
    with open(cfg, "w") as f:
        f.write("[pcap]\ninterfaces = veth-pkb\npromiscuous = yes\n"
                "health_interval = 0\n" + os.environ.get("PICKET_BENCH_EXTRA", ""))
    agent = pair.popen(pair.b, PICKETD, "-f", "-c", cfg, "-o",
                       os.path.join(tmp, "out.ndjson"), text=True)
    lines = []

    def ready():
        lines.append(agent.stderr.readline())
        return "running" in lines[-1] or agent.poll() is not None
    wait_for(ready, timeout=20)
    dump_file = os.path.join(tmp, "peer.pcap")
    dump = pair.popen(pair.b, "tcpdump", "-p", "-i", "veth-pkb", "-w",
                      dump_file, "-B", "4096", text=True)
    time.sleep(1.0)
    cpu0 = cpu_seconds(agent.pid)
    args = ["tcpreplay", "-q", f"--loop={loops}", "-i", "veth-pka"]
    args += ["--topspeed"] if rate == "max" else [f"--pps={rate}"]
    t0 = time.monotonic()
    rep = pair.run(pair.a, *args, str(pcap), timeout=600)
    elapsed = time.monotonic() - t0
    time.sleep(1.0)
    cpu = cpu_seconds(agent.pid) - cpu0
    dump.send_signal(signal.SIGINT)
    _, dump_err = dump.communicate(timeout=30)
    agent.send_signal(signal.SIGTERM)
    _, err = agent.communicate(timeout=60)
    sent = 0
    for line in rep.stdout.splitlines():
        if "Actual:" in line:
            sent = int(line.split()[1])
    peer_got = peer_drop = -1
    for line in dump_err.splitlines():
        if "packets captured" in line:
            peer_got = int(line.split()[0])
        if "dropped by kernel" in line:
            peer_drop = int(line.split()[0])
    return {
        "rate": rate, "sent": sent, "seconds": elapsed,
        "picketd_frames": stat(err, "pcap.frames"),
        "picketd_kernel_drop": stat(err, "pcap.veth-pkb.dropped"),
        "picketd_agent_drop": stat(err, "pcap.veth-pkb.agent_dropped"),
        "picketd_cpu_s": cpu,
        "tcpdump_got": peer_got, "tcpdump_kernel_drop": peer_drop,
    }


def main():
    smoke = "--smoke" in sys.argv
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    pcap = args[0] if args else os.path.join(
        REPO, "..", "shared", "data", "pcaps", "nmap_synscan.pcap")
    rates = [(1, 1000)] if smoke else [(20, 10000), (20, 50000),
                                      (20, 100000), (20, "max")]
    print(f"capture benchmark: {os.path.basename(pcap)}, picketd vs "
          f"tcpdump on one veth; {os.cpu_count()} CPUs")
    print(f"{'rate pps':>9} {'sent':>8} {'s':>6} {'picketd':>8} "
          f"{'k.drop':>7} {'a.drop':>7} {'cpu s':>6} {'tcpdump':>8} "
          f"{'k.drop':>7}")
    with tempfile.TemporaryDirectory() as tmp, Pair() as pair:
        for loops, rate in rates:
            r = run_rate(pair, pcap, loops, rate, tmp)
            print(f"{str(r['rate']):>9} {r['sent']:>8} {r['seconds']:>6.2f} "
                  f"{r['picketd_frames']:>8} {r['picketd_kernel_drop']:>7} "
                  f"{r['picketd_agent_drop']:>7} {r['picketd_cpu_s']:>6.2f} "
                  f"{r['tcpdump_got']:>8} {r['tcpdump_kernel_drop']:>7}")
            if smoke and (r["sent"] <= 0 or r["picketd_frames"] < 0):
                sys.exit("capture benchmark smoke run printed no figures")


if __name__ == "__main__":
    main()
