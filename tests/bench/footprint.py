#!/usr/bin/python3
"""Footprint (issue 9, benchmark 4): picketd's RSS and CPU idle and under
the benchmark traffic, and the hub's RSS per connected agent.

    /usr/bin/python3 tests/bench/footprint.py [--smoke] [--idle S]
        [--pcap FILE] [--mbps N]

picketd captures live on one end of a veth pair in a network namespace
made here (tests/integration/netns.py Pair), with the worm rules and
HOME_NET 10.0.0.0/8.  Idle: nothing is sent for --idle seconds (default
60, --smoke 3); RSS (VmRSS, VmHWM) and CPU of picketd and every process
it forked are read from /proc.  Traffic: the benchmark capture
(tests/bench/mkbench.py; --smoke: 5 MB) is replayed with tcpreplay into the
other end, at --mbps (default 100) and at top speed; picketd's own
counters give what it received and dropped.  Then tests/bench/agent_load.py
-n 200 (--smoke: its own --smoke) gives the hub's RSS per connection.
Needs root; traffic stays inside the two namespaces.
"""
import argparse
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
TCK = os.sysconf("SC_CLK_TCK")


def tree(pid):
    """pid and its descendants."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def sample(pid):
    """(CPU seconds, VmRSS KiB, VmHWM KiB, processes) over the tree.  The
    first process of the tree is `ip netns exec`'s picketd (exec'd)."""
    cpu = rss = hwm = 0
    procs = tree(pid)
    for p in procs:
        try:
            with open(f"/proc/{p}/stat") as f:
                v = f.read().rsplit(")", 1)[1].split()
            cpu += (int(v[11]) + int(v[12])) / TCK
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
        except OSError:
            pass
    return cpu, rss, hwm, len(procs)


def stat(err, name):
    for line in err.splitlines():
        if f"stats: {name} " in line:
            return int(line.split()[-1])
    return -1


def capture(smoke):
    argv = ["/usr/bin/python3", os.path.join(HERE, "mkbench.py")]
    argv += ["--smoke"] if smoke else []
    return subprocess.run(argv, check=True, capture_output=True,
                          text=True).stdout.strip()


def replay(pair, pcap, rate):
    args = ["tcpreplay", "-q", "-i", "veth-pka"]
    args += ["--topspeed"] if rate == "max" else [f"--mbps={rate}"]
    t0 = time.monotonic()
    rep = pair.run(pair.a, *args, pcap, timeout=1200)
    sent = 0
    for line in rep.stdout.splitlines():
        if "Actual:" in line:
            sent = int(line.split()[1])
    return sent, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--idle", type=float)
    ap.add_argument("--pcap")
    ap.add_argument("--mbps", type=float, default=100)
    o = ap.parse_args()
    idle = o.idle or (3 if o.smoke else 60)
    if os.geteuid() != 0:
        sys.exit("footprint: needs root (network namespaces)")
    pcap = o.pcap or capture(o.smoke)
    print(f"footprint: picketd live on a veth, worm rules; {os.cpu_count()} "
          f"CPUs, load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="pk-foot-") as tmp, \
            Pair() as pair:
        cfg = os.path.join(tmp, "agent.ini")
        with open(cfg, "w") as f:
            f.write(f"[pcap]\ninterfaces = veth-pkb\npromiscuous = yes\n"
                    f"health_interval = 0\n[network]\nhome_net = 10.0.0.0/8"
                    f"\n[rules]\npaths = {REPO}/rules/worms.rules\n")
        agent = pair.popen(pair.b, PICKETD, "-f", "-c", cfg, "-o",
                           os.path.join(tmp, "out.ndjson"), text=True)
        lines = []

        def ready():
            lines.append(agent.stderr.readline())
            return "running" in lines[-1] or agent.poll() is not None
        wait_for(ready, timeout=30)
        if agent.poll() is not None:
            sys.exit("footprint: picketd did not start:\n" + "".join(lines))
        time.sleep(1.0)
        c0, r0, h0, n0 = sample(agent.pid)
        t0 = time.monotonic()
        time.sleep(idle)
        c1, r1, h1, n1 = sample(agent.pid)
        el = time.monotonic() - t0
        print(f"  idle {el:.0f} s: RSS {r1 / 1024:.1f} MiB (peak "
              f"{h1 / 1024:.1f} MiB, {n1} processes), CPU {c1 - c0:.2f} s = "
              f"{100 * (c1 - c0) / el:.3f}% of a core "
              f"(clock ticks of 1/{TCK} s)")
        for rate in ([o.mbps] if not o.smoke else []) + ["max"]:
            sent, secs = replay(pair, pcap, rate)
            time.sleep(1.0)
            c2, r2, h2, _ = sample(agent.pid)
            print(f"  replay at {rate if rate == 'max' else f'{rate:g}'}"
                  f"{'' if rate == 'max' else ' Mbit/s'}: {sent} packets "
                  f"in {secs:.1f} s; picketd CPU {c2 - c1:.2f} s "
                  f"({100 * (c2 - c1) / secs:.0f}% of a core), RSS "
                  f"{r2 / 1024:.1f} MiB, peak {h2 / 1024:.1f} MiB")
            c1 = c2
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=60)
        got = stat(err, "pcap.frames")
        kd = stat(err, "pcap.veth-pkb.dropped")
        ad = stat(err, "pcap.veth-pkb.agent_dropped")
        print(f"  picketd over all replays: {got} frames received, kernel "
              f"drops {kd}, agent drops {ad}, "
              f"indicators {stat(err, 'indicators')}, "
              f"stream.memcap_refused {stat(err, 'stream.memcap_refused')}")
        if o.smoke and (got <= 0 or r1 <= 0):
            sys.exit("footprint smoke run printed no figures")
    print("\n  hub RSS per connected agent (tests/bench/agent_load.py):")
    argv = ["/usr/bin/python3", os.path.join(HERE, "agent_load.py")]
    argv += ["--smoke"] if o.smoke else ["-n", "200"]
    p = subprocess.run(argv, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if "hub RSS" in line or "connections:" in line or "smoke OK" in line:
            print("  " + line.strip())
    if p.returncode != 0:
        sys.exit(f"agent_load failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    if o.smoke:
        print("footprint: smoke OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
