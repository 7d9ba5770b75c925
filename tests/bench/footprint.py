#!/usr/bin/python3
"""Footprint (issue 9, benchmark 4): picketd's RSS and CPU idle and under
the benchmark traffic, and the hub's RSS per connected agent.

    /usr/bin/python3 tests/bench/footprint.py [--smoke] [--idle S]
        [--pcap FILE] [--mbps N] [--idle-only] [--runs N]

picketd captures live on one end of a veth pair in a network namespace
made here (tests/integration/netns.py Pair), with the worm rules and
HOME_NET 10.0.0.0/8.  Idle: nothing is sent for --idle seconds (default
60, --smoke 3); RSS (VmRSS, VmHWM) and CPU of picketd and every process
it forked are read from /proc, and its wake-ups: the growth of every
thread's voluntary_ctxt_switches (/proc/PID/task/TID/status), each one a
time the thread went to sleep, per second and per thread.  The process
collector (eBPF) is on, so processes that other programs start show up
as wake-ups too.  Then the same idle measurement for an agent with a
hub: a hub (tests/integration/hubrun.py), picketd enrolled with it and
capturing `udp port 9` on lo with [process] off, as
tests/integration/test_status.py starts one.  Traffic: the benchmark capture
(tests/bench/mkbench.py; --smoke: 5 MB) is replayed with tcpreplay into the
other end, at --mbps (default 100) and at top speed; picketd's own
counters give what it received and dropped.  Then tests/bench/agent_load.py
-n 200 (--smoke: its own --smoke) gives the hub's RSS per connection.
--idle-only: the two idle measurements and nothing else.
Needs root; traffic stays inside the two namespaces and lo.
"""
import argparse
import os
import pathlib
import signal
import statistics
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


def wakeups(pid):
    """{(pid, tid): voluntary context switches} of every thread of every
    process of the tree: each is one time a thread went to sleep (in
    poll, a futex, a read...), so the deltas over an idle period count
    its wake-ups.  Key (0, 0): the tree's CPU time in nanoseconds from
    /proc/PID/task/TID/schedstat, finer than stat's clock ticks."""
    out = {(0, 0): 0}
    for p in tree(pid):
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tids:
            try:
                with open(f"/proc/{p}/task/{t}/status") as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            out[(p, int(t))] = int(line.split()[1])
                with open(f"/proc/{p}/task/{t}/schedstat") as f:
                    out[(0, 0)] += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return out


def thread_name(p, t):
    try:
        with open(f"/proc/{p}/task/{t}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def wakeup_rates(w0, w1, secs):
    """(total wake-ups/s, [(rate, pid, tid, name)] busiest first)."""
    per = []
    for k, v in w1.items():
        if k in w0 and k != (0, 0):
            per.append(((v - w0[k]) / secs, k[0], k[1],
                        thread_name(*k)))
    per.sort(reverse=True)
    return sum(r[0] for r in per), per


def print_idle(label, pid, secs):
    """Idle for secs: CPU, RSS and wake-ups of pid's tree, printed."""
    c0, _, _, _ = sample(pid)
    w0 = wakeups(pid)
    t0 = time.monotonic()
    time.sleep(secs)
    w1 = wakeups(pid)
    c1, r1, h1, n1 = sample(pid)
    el = time.monotonic() - t0
    print(f"  {label} {el:.0f} s: RSS {r1 / 1024:.1f} MiB (peak "
          f"{h1 / 1024:.1f} MiB, {n1} processes), CPU {c1 - c0:.2f} s = "
          f"{100 * (c1 - c0) / el:.3f}% of a core "
          f"(clock ticks of 1/{TCK} s)")
    total, per = wakeup_rates(w0, w1, el)
    ns = w1[(0, 0)] - w0[(0, 0)]
    print(f"    CPU by schedstat: {ns / 1e6:.1f} ms = "
          f"{100 * ns / 1e9 / el:.4f}% of a core (threads that ended "
          f"meanwhile not counted)")
    print(f"    wake-ups: {total:.1f}/s over {len(per)} threads "
          f"(voluntary context switches, /proc/PID/task/*/status)")
    for rate, p, t, name in per:
        print(f"    {rate:7.2f}/s  pid {p} tid {t} {name}")
    return (c1, r1, h1, n1), {"rss": r1 / 1024,
                              "cpu": 100 * ns / 1e9 / el, "wake": total}


def idle_with_hub(secs):
    """An enrolled picketd with a hub, idle, as test_status.py runs one."""
    import test_enroll as te  # noqa: E402 (tests/integration)
    with tempfile.TemporaryDirectory(prefix="pk-foot-hub-") as tmp:
        tmp = pathlib.Path(tmp)
        hub = te.start_hub(tmp / "hub")
        a = None
        try:
            tok, _ = te.token(hub)
            d = tmp / "etc-picket"
            if te.enroll(hub, tok, d).returncode != 0:
                sys.exit("footprint: enrollment with the hub failed")
            a = te.Agent(tmp, hub, d)
            a.start()
            time.sleep(3.0)
            _, figs = print_idle("idle with a hub,", a.proc.pid, secs)
            a.stop()
            return figs
        finally:
            if a is not None:
                a.kill()
            hub.stop()


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


def one_run(o, idle, pcap):
    """The agent idle, under the replays, and idle with a hub: printed,
    and the figures returned."""
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
            return "running, host" in lines[-1] or agent.poll() is not None
        wait_for(ready, timeout=30)
        if agent.poll() is not None:
            sys.exit("footprint: picketd did not start:\n" + "".join(lines))
        time.sleep(1.0)
        (c1, r1, h1, n1), figs = print_idle("idle", agent.pid, idle)
        if o.idle_only:
            agent.send_signal(signal.SIGTERM)
            agent.communicate(timeout=60)
        rates = [] if o.idle_only else \
            ([o.mbps] if not o.smoke else []) + ["max"]
        for rate in rates:
            sent, secs = replay(pair, pcap, rate)
            time.sleep(1.0)
            c2, r2, h2, _ = sample(agent.pid)
            print(f"  replay at {rate if rate == 'max' else f'{rate:g}'}"
                  f"{'' if rate == 'max' else ' Mbit/s'}: {sent} packets "
                  f"in {secs:.1f} s; picketd CPU {c2 - c1:.2f} s "
                  f"({100 * (c2 - c1) / secs:.0f}% of a core), RSS "
                  f"{r2 / 1024:.1f} MiB, peak {h2 / 1024:.1f} MiB")
            figs[f"replay_{rate}_cpu"] = 100 * (c2 - c1) / secs
            figs[f"replay_{rate}_rss"] = r2 / 1024
            c1 = c2
        if o.idle_only:
            figs.update({"hub_" + k: v for k, v in
                         idle_with_hub(idle).items()})
            return figs
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
    figs.update({"hub_" + k: v for k, v in idle_with_hub(idle).items()})
    return figs


# Labels of the figures summarised over several runs.
LABELS = {"rss": "idle RSS, MiB", "cpu": "idle CPU, % of a core",
          "wake": "idle wake-ups/s", "hub_rss": "idle with a hub: RSS, MiB",
          "hub_cpu": "idle with a hub: CPU, % of a core",
          "hub_wake": "idle with a hub: wake-ups/s"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--idle", type=float)
    ap.add_argument("--pcap")
    ap.add_argument("--mbps", type=float, default=100)
    ap.add_argument("--idle-only", action="store_true",
                    help="the two idle measurements only")
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat the agent's measurements; then median "
                    "and range")
    o = ap.parse_args()
    idle = o.idle or (3 if o.smoke else 60)
    if os.geteuid() != 0:
        sys.exit("footprint: needs root (network namespaces)")
    pcap = None if o.idle_only else (o.pcap or capture(o.smoke))
    runs = []
    for run in range(o.runs):
        if o.runs > 1:
            print(f"run {run + 1} of {o.runs}:")
        runs.append(one_run(o, idle, pcap))
    if o.runs > 1:
        print(f"footprint: {o.runs} runs, median [range]:")
        for key in runs[0]:
            xs = sorted(r[key] for r in runs if key in r)
            label = LABELS.get(key) or (
                f"replay at {key.split('_')[1]}: "
                + ("CPU, % of a core" if key.endswith("cpu") else
                   "RSS, MiB"))
            print(f"  {label:40s} {statistics.median(xs):.3f} "
                  f"[{xs[0]:.3f}-{xs[-1]:.3f}]")
    if o.idle_only:
        return 0
    print("\n  hub RSS per connected agent (tests/bench/agent_load.py):")
    argv = ["/usr/bin/python3", os.path.join(HERE, "agent_load.py")]
    argv += ["--smoke"] if o.smoke else ["-n", "200"]
    argv += ["--runs", str(o.runs)]
    p = subprocess.run(argv, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if "hub RSS" in line or "connections:" in line or \
                "smoke OK" in line or "KiB per connection" in line:
            print("  " + line.strip())
    if p.returncode != 0:
        sys.exit(f"agent_load failed:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    if o.smoke:
        print("footprint: smoke OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
