#!/usr/bin/python3
"""Reporting benchmark: how fast does a backlog move from an agent's spool
into the hub's store, and what does it cost?

A spool is pre-loaded with N real indicator lines (the 33 lines of
tests/bench/indicators-sample.ndjson, repeated: batch_bench's ratio on
that file is the comparison, 11:1 at 1,000 lines); picket-hub listens in one network
namespace, picketd starts in the other and ships the backlog over mutual
TLS through a veth pair.  Printed: records per second from the agent's
start until the hub stores the last one, uncompressed and wire bytes (the
compression ratio), CPU seconds and peak memory of the shipper, the
collector and the hub.  The same run also times `picket-hub import` of the
same lines into a fresh store (the store's cost alone, no network, no
TLS), the yardstick the shipping figure is read against.

    /usr/bin/python3 tests/bench/ship_bench.py [--smoke] [N]

Needs root (namespaces).  Not part of `make check` except as --smoke
(2,000 records), which proves the script works.  Traffic stays inside the
two namespaces it creates.
"""
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from netns import Pair, wait_for  # noqa: E402

PICKETD = os.environ.get("PICKETD", os.path.join(REPO, "build", "picketd"))
HUB = os.environ.get("PICKET_HUB", os.path.join(REPO, "build", "picket-hub"))
DRIVER_SRCS = ["tests/integration/spool_driver.c", "transport/spool.c",
               "transport/spool_unix.c", "common/crc32c.c", "common/log.c",
               "common/log_unix.c", "common/util.c"]


def proc_stat(pid):
    """(cpu seconds, peak RSS kB) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return cpu, hwm


def children(pid):
    out = {}
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        for c in f.read().split():
            with open(f"/proc/{c}/comm") as g:
                out[g.read().strip()] = int(c)
    return out


def count(db):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            return con.execute("SELECT count(*) FROM indicators").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def stat(text, name):
    for line in text.splitlines():
        if f"stats: {name} " in line:
            return int(line.split()[-1])
    return 0


def main():
    smoke = "--smoke" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--smoke"]
    n = 2000 if smoke else int(args[0]) if args else 100000
    if os.geteuid() != 0:
        sys.exit("ship_bench: needs root (network namespaces)")
    tmp = tempfile.mkdtemp(prefix="pk-shipbench-")
    os.chmod(tmp, 0o755)        # the shipper runs as nobody
    driver = os.path.join(tmp, "spool_driver")
    subprocess.run(["cc", "-O2", "-I.", "-o", driver, *DRIVER_SRCS, "-lm"],
                   cwd=REPO, check=True)
    pki = os.path.join(tmp, "pki")
    subprocess.run(["sh", "packaging/mkcerts.sh", "-I", "10.201.0.1",
                    "-a", "bench", pki], cwd=REPO, check=True,
                   capture_output=True)
    with open(os.path.join(HERE, "indicators-sample.ndjson")) as f:
        sample = [ln for ln in f.read().splitlines() if ln]
    lines = [sample[i % len(sample)] for i in range(n)]
    src = os.path.join(tmp, "backlog.ndjson")
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    raw = os.path.getsize(src)
    spool = os.path.join(tmp, "spool")
    subprocess.run([driver, "fill", spool, str(8 << 20), src], check=True,
                   capture_output=True)

    # The yardstick: the same lines through the store, no network.
    t0 = time.monotonic()
    subprocess.run([HUB, "import", src, "--agent", "bench", "--db",
                    os.path.join(tmp, "import.db")], check=True,
                   capture_output=True)
    t_import = time.monotonic() - t0

    hubdir = os.path.join(tmp, "hub")
    with open(os.path.join(tmp, "hub.ini"), "w") as f:
        f.write(f"[hub]\ndata_dir = {hubdir}\nlisten = 10.201.0.1:7443\n"
                f"[tls]\nca = {pki}/ca.crt\ncert = {pki}/hub.crt\n"
                f"key = {pki}/hub.key\n")
    with open(os.path.join(tmp, "agent.ini"), "w") as f:
        f.write(f"[agent]\nuser = nobody\n[pcap]\ninterfaces = veth-pkb\n"
                f"filter = udp port 9\nhealth_interval = 0\n"
                f"[process]\nenabled = no\n[spool]\ndir = {spool}\n"
                f"[hub]\naddress = 10.201.0.1:7443\nca = {pki}/ca.crt\n"
                f"cert = {pki}/agents/bench.crt\n"
                f"key = {pki}/agents/bench.key\n")
    with Pair() as pair:
        hlog = open(os.path.join(tmp, "hub.log"), "w")
        hub = subprocess.Popen(["ip", "netns", "exec", pair.a, HUB, "serve",
                                "-c", os.path.join(tmp, "hub.ini")],
                               stderr=hlog)
        if not wait_for(lambda: "listening on" in
                        open(os.path.join(tmp, "hub.log")).read(), 20):
            sys.exit("ship_bench: the hub did not start")
        alog = os.path.join(tmp, "agent.log")
        t0 = time.monotonic()
        agent = pair.popen(pair.b, PICKETD, "-f", "-c",
                           os.path.join(tmp, "agent.ini"),
                           stdout=subprocess.DEVNULL, stderr=open(alog, "w"))
        db = os.path.join(hubdir, "hub.db")
        if not wait_for(lambda: count(db) >= n, timeout=600, step=0.05):
            sys.exit(f"ship_bench: only {count(db)} of {n} arrived")
        t_ship = time.monotonic() - t0
        kids = children(agent.pid)
        ship = proc_stat(kids["pk-shipper"])
        coll = proc_stat(kids["pk-collector"])
        hubst = proc_stat(hub.pid)
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=60)
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=60)
        text = open(alog).read()
    raw_sent = stat(text, "shipper.raw_bytes")
    wire = stat(text, "shipper.wire_bytes")
    print(f"ship_bench: {n} records, {raw / 1e6:.1f} MB of NDJSON "
          f"(mean {raw / n:.0f} bytes)")
    print(f"  spool -> hub over TLS: {t_ship:.2f} s, {n / t_ship:,.0f} "
          f"records/s, {raw / t_ship / 1e6:.1f} MB/s of NDJSON")
    print(f"  hub import (store alone, no network): {t_import:.2f} s, "
          f"{n / t_import:,.0f} records/s")
    batches = stat(text, "shipper.batches")
    if wire and batches:
        print(f"  on the wire: {wire / 1e6:.2f} MB for {raw_sent / 1e6:.2f}"
              f" MB, compression {raw_sent / wire:.1f}:1, {batches} batches"
              f" of {stat(text, 'shipper.records') / batches:.0f} records")
    for name, (cpu, hwm) in (("shipper", ship), ("collector", coll),
                             ("hub", hubst)):
        print(f"  {name:9s} cpu {cpu:6.2f} s   peak RSS {hwm / 1024:6.1f} MB")
    if smoke:
        assert wire > 0 and raw_sent > 0
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
