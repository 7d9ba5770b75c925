#!/usr/bin/python3
"""Reporting latency: how long from the packet that raises an indicator
until the hub has it stored?

A real hub (tests/integration/hubrun.py Hub: `picket-hub serve`, its
SQLite store, mutual TLS with certificates from packaging/mkcerts.sh)
listens in one network namespace; a real agent (picketd with its
supervisor, collector and shipper; worm rules, HOME_NET 10/8, defaults
otherwise) captures live on the veth end in the other namespace and ships
to the hub through the same veth.  tcpreplay replays the benchmark slice
(tests/bench/mkbench.py --size 40: the realistic mix, with worm
conversations, scans and the rest) into the veth at --rate packets/s, so
indicators are raised at times spread over the replay.

Three times per indicator, matched by picket.seq (the spool sequence
number, the same in the agent's -o output and the hub's row):

- detected: the record's @timestamp, the packet time of the report (the
  kernel's capture timestamp, same clock as the hub's);
- written: when this script saw the line appear in the agent's -o output
  (polled every 2 ms);
- stored: the hub's indicators.ingest_us in hub.db.

Printed per run and over all runs: p50, p99 and max of detected -> stored
and written -> stored, for every record and for the first report of each
indicator (event.type start, or a report with no start before it), and
the shipper's own counters: batches, records per batch, bytes on the wire
per indicator.  Records the agent flushes at SIGTERM are not counted
(the replay is over and the script waits for the hub to catch up first).

    /usr/bin/python3 tests/bench/latency.py [--smoke] [--runs N]
                                            [--rate PPS] [--pcap F]

Needs root (namespaces).  --smoke replays nmap_synscan.pcap once (one
port-scan indicator, about 6 s in all) to prove the script works; it is
in `make check-bench-smoke`.  Traffic stays inside the two namespaces it
creates.
"""
import argparse
import json
import os
import pathlib
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from hubrun import Hub, mkcerts  # noqa: E402
from netns import Pair, sh, wait_for  # noqa: E402

PICKETD = os.environ.get("PICKETD", os.path.join(REPO, "build", "picketd"))
RULES = os.path.join(REPO, "rules", "worms.rules")
PCAPS = os.environ.get("PICKET_PCAPS", os.path.join(REPO, "..", "shared",
                                                    "data", "pcaps"))
HUB_IP = "10.201.0.1"


def ts_us(text):
    """RFC 3339 UTC with µs ("2026-11-26T20:27:29.487482Z") -> µs."""
    import calendar
    date, frac = text.rstrip("Z").split(".") if "." in text else (
        text.rstrip("Z"), "0")
    secs = calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000000 + int(frac.ljust(6, "0")[:6])


class Tail(threading.Thread):
    """Notes the wall time each complete line appears in a file."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path, self.seen, self.stop = path, {}, False

    def run(self):
        buf, off = b"", 0
        while not self.stop:
            try:
                with open(self.path, "rb") as f:
                    f.seek(off)
                    chunk = f.read()
            except OSError:
                chunk = b""
            now = int(time.time() * 1e6)
            if chunk:
                off += len(chunk)
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for ln in lines:
                    try:
                        seq = json.loads(ln)["picket"]["seq"]
                    except (ValueError, KeyError):
                        continue
                    self.seen.setdefault(seq, (now, ln))
            time.sleep(0.002)


def rows(db):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return []
    try:
        return con.execute("SELECT seq, ingest_us, ts_us, json FROM "
                           "indicators").fetchall()
    except sqlite3.Error:
        return []
    finally:
        con.close()


def stat(text, name):
    for line in text.splitlines():
        if f"stats: {name} " in line:
            return int(line.split()[-1])
    return 0


def agent_ini(tmp, certs):
    spool = tmp / "spool"
    ini = tmp / "agent.ini"
    ini.write_text(
        "[agent]\nuser = nobody\n"
        "[network]\nhome_net = 10.0.0.0/8\n"
        "[pcap]\ninterfaces = veth-pkb\npromiscuous = yes\n"
        "health_interval = 0\n"
        "[process]\nenabled = no\n"
        f"[spool]\ndir = {spool}\n"
        f"[hub]\naddress = {HUB_IP}:7443\nserver_name = hub.test\n"
        f"ca = {certs / 'ca.crt'}\n"
        f"cert = {certs / 'agents' / 'bench.crt'}\n"
        f"key = {certs / 'agents' / 'bench.key'}\n"
        "backoff_base = 1s\nbackoff_cap = 2s\nconnect_timeout = 3s\n")
    return ini


def one_run(pair, base, certs, pcap, rate, n):
    tmp = base / f"run{n}"
    tmp.mkdir(mode=0o755)
    hub = Hub(tmp / "hub", certs, host=HUB_IP, port=7443, ns=pair.a,
              api_port=0)
    out, log = tmp / "agent-out.ndjson", tmp / "agent.log"
    ini = agent_ini(tmp, certs)
    tail = Tail(out)
    tail.start()
    with open(log, "w") as logf:
        agent = pair.popen(pair.b, PICKETD, "-f", "-c", str(ini), "-S",
                           RULES, "-o", str(out), stdout=subprocess.DEVNULL,
                           stderr=logf)
    try:
        text = lambda: log.read_text(errors="replace")  # noqa: E731
        if not wait_for(lambda: "running, host" in text()
                        or agent.poll() is not None, timeout=30):
            sys.exit("latency: the agent did not start:\n" + text())
        # the shipper's HELLO answered: indicators can flow
        wait_for(lambda: "hub: connected to" in text(), timeout=20)
        time.sleep(0.5)
        args = ["tcpreplay", "-q", "-i", "veth-pka"]
        args += ["--topspeed"] if rate == "max" else [f"--pps={rate}"]
        pair.run(pair.a, *args, str(pcap), timeout=900)
        # the last indicators raised: give the agent and hub time to agree
        db = hub.data / "hub.db"
        settle = time.monotonic() + 60
        while time.monotonic() < settle:
            time.sleep(0.3)
            have = len(tail.seen)
            if have and len(rows(db)) >= have:
                time.sleep(0.5)
                if len(tail.seen) == have and len(rows(db)) >= have:
                    break
        got = rows(db)
    finally:
        tail.stop = True
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)
        hub.stop()
    text = log.read_text(errors="replace")
    ship = {k: stat(text, f"shipper.{k}") for k in
            ("batches", "records", "raw_bytes", "wire_bytes")}
    return got, dict(tail.seen), ship


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def summary(label, xs):
    if not xs:
        return f"  {label:34s} none"
    ms = [x / 1000 for x in xs]
    return (f"  {label:34s} n {len(ms):4d}  p50 {pct(ms, 50):7.1f} ms  "
            f"p99 {pct(ms, 99):7.1f} ms  max {max(ms):7.1f} ms")


def latencies(got, seen):
    """(detected->stored all, first reports only, written->stored all)."""
    det, first, wri = [], [], []
    started = set()
    for seq, ingest, ts, js in sorted(got):
        rec = json.loads(js)
        det.append(ingest - ts)
        phase = rec.get("event", {}).get("type", ["?"])[0]
        fp = rec.get("picket", {}).get("fingerprint")
        if phase == "start" or fp not in started:
            first.append(ingest - ts)
        started.add(fp)
        if seq in seen:
            wri.append(ingest - seen[seq][0])
    return det, first, wri


def capture(smoke):
    if smoke:
        return pathlib.Path(PCAPS) / "nmap_synscan.pcap"
    return pathlib.Path(subprocess.run(
        ["/usr/bin/python3", os.path.join(HERE, "mkbench.py"), "--size",
         "40"], check=True, capture_output=True,
        text=True).stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rate", default="5000", help="packets/s or max")
    ap.add_argument("--pcap")
    o = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("latency: needs root (network namespaces)")
    pcap = pathlib.Path(o.pcap) if o.pcap else capture(o.smoke)
    runs = 1 if o.smoke else o.runs
    print(f"latency benchmark: {pcap.name} replayed at {o.rate} packets/s "
          f"into a live agent reporting to a hub over the same veth; "
          f"{runs} run(s); {os.cpu_count()} CPUs; load "
          f"{os.getloadavg()[0]:.2f}")
    base = pathlib.Path(tempfile.mkdtemp(prefix="pk-latency-"))
    os.chmod(base, 0o755)      # the collector and shipper run as nobody
    alld, allf, allw, ships = [], [], [], []
    try:
        certs = mkcerts(base / "pki", "-t", "-H", "hub.test", "-I", HUB_IP,
                        "-a", "bench")
        for d in (base / "pki", base / "pki" / "agents"):
            os.chmod(d, 0o755)
        for n in range(runs):
            with Pair() as pair:
                for ns, dev in ((pair.a, "veth-pka"), (pair.b, "veth-pkb")):
                    sh("ip", "-n", ns, "link", "set", dev, "mtu", "9000")
                got, seen, ship = one_run(pair, base, certs, pcap, o.rate, n)
            det, first, wri = latencies(got, seen)
            alld += det
            allf += first
            allw += wri
            ships.append(ship)
            per = (ship["wire_bytes"] / ship["records"]
                   if ship["records"] else 0)
            print(f" run {n + 1}: {len(got)} stored of {len(seen)} written; "
                  f"shipper {ship['batches']} batches, "
                  f"{ship['records'] / max(ship['batches'], 1):.1f} "
                  f"records per batch, {per:.0f} wire bytes per indicator "
                  f"({ship['raw_bytes'] / max(ship['records'], 1):.0f} "
                  f"raw)")
            print(summary("detected -> stored, every report", det))
            print(summary("detected -> stored, first reports", first))
            print(summary("written -> stored, every report", wri))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if runs > 1:
        print(f" all {runs} runs:")
        print(summary("detected -> stored, every report", alld))
        print(summary("detected -> stored, first reports", allf))
        print(summary("written -> stored, every report", allw))
        rec = sum(s["records"] for s in ships)
        if rec:
            print(f"  wire bytes per indicator (shipper counters): "
                  f"{sum(s['wire_bytes'] for s in ships) / rec:.0f}, raw "
                  f"NDJSON {sum(s['raw_bytes'] for s in ships) / rec:.0f}, "
                  f"{rec / max(sum(s['batches'] for s in ships), 1):.1f} "
                  "records per batch")
    if o.smoke and not alld:
        sys.exit("latency smoke: no indicator reached the hub")


if __name__ == "__main__":
    main()
