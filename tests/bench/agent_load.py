#!/usr/bin/python3
"""Load benchmark: many concurrent agents on one hub, and what the API
feels meanwhile.

A real `picket-hub serve` (tests/integration/hubrun.Hub, API on) listens
on 127.0.0.1.  N simulated agents (asyncio, TLS 1.3 with their own client
certificate, ALPN picket/1) connect at once and HELLO; once every one has
its WELCOME (or has failed) the hub's RSS is read, then each agent sends B
batches of K real indicator lines (the line `picketd -r nmap_synscan.pcap`
prints, rewritten per agent and record), waiting for each ACK, and a
HEARTBEAT after each batch.  A separate process times API requests
(/api/v1/hosts and /api/v1/indicators?limit=100, viewer token, one
keep-alive HTTPS connection) every 100 ms, idle first and then during the
load.  Printed: connections established and the time to establish them,
batches/s and indicators/s stored, API latency p50/p99/max idle and under
load, hub RSS before and with N connected (KiB per connection), hub CPU
seconds, refused or failed connections and the hub's counters.

    /usr/bin/python3 tests/bench/agent_load.py [--smoke] [-n N] [-b B]
        [-k K] [--hub-nofile M] [--hub-opt NAME=VALUE ...]
        [--timeout S] [--connect-timeout S] [--retry-for S] [--runs N]

A reconnection storm as the field has one: --connect-timeout 10
--retry-for 300 makes every agent give up an attempt after picketd's
default connect_timeout and try again with picketd's backoff (random 0-5
s, doubling up to 30 s); the attempts are counted.  --hub-opt passes
[hub] options to the hub.

Agent certificates (packaging/mkcerts.sh with every id, about 36 ms an
agent) are cached in /var/cache/picket/loadcerts-N (ids load-0001...),
or under $PICKET_LOADCERTS.  The script raises its own RLIMIT_NOFILE soft
limit to the hard limit; the hub inherits it, or --hub-nofile M (to see
what the hub does when it runs out of descriptors).  --smoke: N=20, B=2,
K=5; asserts every record is in hub.db and every API request got 200.
Traffic stays on 127.0.0.1.
"""
import argparse
import asyncio
import json
import os
import random
import resource
import select
import shutil
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import hubproto as hp  # noqa: E402

PICKETD = os.environ.get("PICKETD", os.path.join(REPO, "build", "picketd"))
PCAP = os.path.join(os.path.dirname(REPO), "shared", "data", "pcaps",
                    "nmap_synscan.pcap")
CACHE = os.environ.get("PICKET_LOADCERTS", "/var/cache/picket")


def agent_id(i):
    return f"load-{i:04d}"


# ------------------------------------------------------------ certificates

def certs_for(n):
    """A mkcerts.sh directory with agents load-0001..load-N: cached.
    Returns (path, seconds mkcerts took when it was made)."""
    d = os.path.join(CACHE, f"loadcerts-{n}")
    mark = os.path.join(d, ".complete")
    if not os.path.exists(mark):
        tmp = d + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(CACHE, exist_ok=True)
        args = []
        for i in range(1, n + 1):
            args += ["-a", agent_id(i)]
        t0 = time.monotonic()
        subprocess.run(["sh", os.path.join(REPO, "packaging", "mkcerts.sh"),
                        *args, tmp], check=True, capture_output=True)
        with open(os.path.join(tmp, ".complete"), "w") as f:
            f.write(f"{time.monotonic() - t0:.1f}\n")
        shutil.rmtree(d, ignore_errors=True)
        os.rename(tmp, d)
    with open(mark) as f:
        return d, float(f.read().strip() or 0)


# ------------------------------------------------------------ records

def template():
    """The first indicator picketd finds in nmap_synscan.pcap, with
    markers where each record differs (agent, sequence number)."""
    proc = subprocess.run([PICKETD, "-r", PCAP], capture_output=True,
                          text=True, timeout=120, check=True)
    d = json.loads(proc.stdout.splitlines()[0])
    d["host"]["name"] = "@@AGENT@@-host"
    d["message"] = "@@AGENT@@ record @@SEQ@@: " + d["message"]
    return json.dumps(d, separators=(",", ":"))


def records(tpl, agent, first, k):
    t = tpl.replace("@@AGENT@@", agent)
    return [t.replace("@@SEQ@@", str(s)) for s in range(first, first + k)]


# ------------------------------------------------------------ /proc

def proc_cpu_rss(pid):
    """(cpu seconds, RSS KiB) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return cpu, rss


def open_fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def count_rows(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM indicators").fetchone()[0]
    finally:
        con.close()


# ------------------------------------------------------------ API poller

def poller(host, port, ca, token, interval):
    """Child process: every interval, GET both endpoints on one
    keep-alive connection; one line per request on stdout: monotonic
    start, path, status (0: failed), seconds.  Stops when stdin closes."""
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    paths = ("/api/v1/hosts", "/api/v1/indicators?limit=100")
    conn = None
    nxt = time.monotonic()
    while True:
        r, _, _ = select.select([sys.stdin], [], [],
                                max(0.0, nxt - time.monotonic()))
        if r and not sys.stdin.buffer.read1(4096):
            break
        if time.monotonic() < nxt:
            continue
        nxt += interval
        for p in paths:
            t0 = time.monotonic()
            status = 0
            for _ in range(2):       # one retry on a stale keep-alive
                try:
                    if conn is None:
                        conn = http.client.HTTPSConnection(
                            host, port, context=ctx, timeout=30)
                        conn.connect()
                        # Our side must not add Nagle delays; any left
                        # in the figures are the hub's.
                        conn.sock.setsockopt(socket.IPPROTO_TCP,
                                             socket.TCP_NODELAY, 1)
                    conn.request("GET", p, headers={
                        "Authorization": f"Bearer {token}"})
                    resp = conn.getresponse()
                    resp.read()
                    status = resp.status
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = None
            print(f"{t0:.6f} {p} {status} {time.monotonic() - t0:.6f}",
                  flush=True)


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def lat_line(name, rows):
    ms = [r[3] * 1000 for r in rows]
    bad = sum(1 for r in rows if r[2] != 200)
    return (f"  API {name:6s} {len(rows):5d} requests, {bad} not 200:  "
            f"p50 {pct(ms, .5):7.1f} ms  p99 {pct(ms, .99):7.1f} ms  "
            f"max {max(ms) if ms else float('nan'):7.1f} ms")


# ------------------------------------------------------------ agents

class Agent:
    def __init__(self, idx, certs):
        self.id = agent_id(idx)
        self.ctx = hp.client_context(
            os.path.join(certs, "ca.crt"),
            os.path.join(certs, "agents", f"{self.id}.crt"),
            os.path.join(certs, "agents", f"{self.id}.key"))
        self.reader = self.writer = None
        self.dec = hp.Decoder()
        self.failed = None          # "stage: error" when it failed
        self.welcomed = None        # monotonic time of WELCOME
        self.acked = 0              # batches ACKed
        self.attempts = 0           # connections tried

    async def frame(self, timeout):
        """The next frame that is not a HEARTBEAT."""
        while True:
            f = await asyncio.wait_for(self._frame(), timeout)
            if f.type != hp.HEARTBEAT:
                return f

    async def _frame(self):
        hdr = await self.reader.readexactly(hp.HDR.size)
        n, ftype, flags = hp.HDR.unpack(hdr)
        payload = await self.reader.readexactly(n) if n else b""
        return hp.Frame(ftype, flags, payload)

    async def expect(self, ftype, timeout):
        f = await self.frame(timeout)
        v = hp.decode(f)
        if f.type == hp.ERROR:
            raise hp.HubError(v)
        if f.type != ftype:
            raise hp.ProtocolError(f"got {hp.TYPE_NAMES.get(f.type)}")
        return v

    async def connect(self, host, port, timeout, retry_until=0.0):
        """Connect and HELLO; with retry_until (monotonic), a failed
        attempt is tried again after the agent's backoff (random 0-5 s,
        doubling up to 30 s), as picketd does, until that time."""
        while True:
            self.failed = None
            self.attempts += 1
            await self._connect(host, port, timeout)
            if self.failed is None or time.monotonic() >= retry_until:
                return
            if self.writer is not None:
                self.writer.close()
                self.writer = None
            delay = random.uniform(0, min(30.0, 5.0 * 2 ** (
                self.attempts - 1)))
            if time.monotonic() + delay >= retry_until:
                return
            await asyncio.sleep(delay)

    async def _connect(self, host, port, timeout):
        stage = "connect"
        try:
            self.reader, self.writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=self.ctx,
                                        server_hostname="localhost",
                                        ssl_handshake_timeout=timeout),
                timeout)
            stage = "hello"
            self.writer.write(hp.hello(self.id, host_name=f"{self.id}-host"))
            w = await self.expect(hp.WELCOME, timeout)
            self.next_seq = w.stored_seq + 1
            self.welcomed = time.monotonic()
        except Exception as e:       # noqa: BLE001 - every failure counts
            self.failed = f"{stage}: {type(e).__name__} {e}"[:160]

    async def run_batches(self, tpl, b, k, timeout):
        try:
            for _ in range(b):
                recs = records(tpl, self.id, self.next_seq, k)
                self.writer.write(hp.batch(self.next_seq, recs))
                a = await self.expect(hp.ACK, timeout)
                if a.seq != self.next_seq + k - 1:
                    raise hp.ProtocolError(f"ACK {a.seq}")
                self.next_seq += k
                self.acked += 1
                self.writer.write(hp.heartbeat())
        except Exception as e:       # noqa: BLE001
            self.failed = f"batch: {type(e).__name__} {e}"[:160]

    def close(self):
        if self.writer is not None:
            self.writer.close()


async def load(agents, hub, tpl, b, k, timeout, marks, retry_for=0.0,
               connect_timeout=None):
    """Connect all, measure with all connected, then the batches."""
    t0 = time.monotonic()
    marks["connect_start"] = t0
    await asyncio.gather(*(a.connect(hub.host, hub.port,
                                     connect_timeout or timeout,
                                     t0 + retry_for) for a in agents))
    marks["connected"] = time.monotonic()
    await asyncio.sleep(1.0)          # let the hub settle its buffers
    marks["rss_connected"] = proc_cpu_rss(hub.proc.pid)
    marks["fds_connected"] = open_fds(hub.proc.pid)
    live = [a for a in agents if a.failed is None]
    marks["batch_start"] = time.monotonic()
    await asyncio.gather(*(a.run_batches(tpl, b, k, timeout) for a in live))
    marks["batch_end"] = time.monotonic()
    marks["cpu_loaded"] = proc_cpu_rss(hub.proc.pid)
    for a in agents:
        a.close()
    await asyncio.sleep(0.2)


# ------------------------------------------------------------ main

def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--poll":
        _, _, host, port, ca, token, interval = sys.argv
        return poller(host, int(port), ca, token, float(interval))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("-n", type=int, help="agents (default 1000)")
    ap.add_argument("-b", type=int, help="batches per agent (default 5)")
    ap.add_argument("-k", type=int, help="records per batch (default 50)")
    ap.add_argument("--hub-nofile", type=int,
                    help="the hub's RLIMIT_NOFILE soft limit")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds an agent waits for each step")
    ap.add_argument("--keep", action="store_true", help="keep the tmp dir")
    ap.add_argument("--runs", type=int, default=1,
                    help="repeat with a fresh hub; then median and range")
    ap.add_argument("--connect-timeout", type=float, metavar="S",
                    help="seconds for TCP, TLS and HELLO/WELCOME together "
                    "(default --timeout; picketd's connect_timeout is 10)")
    ap.add_argument("--retry-for", type=float, default=0.0, metavar="S",
                    help="agents whose connection fails try again with "
                    "picketd's backoff for this many seconds (default: "
                    "one attempt each)")
    ap.add_argument("--hub-opt", action="append", default=[],
                    metavar="NAME=VALUE",
                    help="a [hub] option for the hub (repeatable), e.g. "
                    "max_inflight=16")
    o = ap.parse_args()
    n = o.n or (20 if o.smoke else 1000)
    b = o.b or (2 if o.smoke else 5)
    k = o.k or (5 if o.smoke else 50)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if n + 64 > hard:
        sys.exit(f"agent_load: RLIMIT_NOFILE hard limit {hard} is below "
                 f"{n} agents")

    certs, mk_s = certs_for(n)
    tpl = template()
    figs = []
    for run in range(o.runs):
        if o.runs > 1:
            print(f"run {run + 1} of {o.runs}:")
        figs.append(run_once(o, n, b, k, hard, certs, mk_s, tpl))
    if o.runs > 1:
        print(f"agent_load: {o.runs} runs, median [range]:")
        for key, name, fmt in SUMMARY:
            xs = sorted(f[key] for f in figs)
            print(f"  {name:34s} {fmt.format(statistics.median(xs))} "
                  f"[{fmt.format(xs[0])}-{fmt.format(xs[-1])}]")


# What the summary of several runs shows: figure, label, format.
SUMMARY = (
    ("connect_s", "all connected after, s", "{:.2f}"),
    ("failed", "agents failed", "{:.0f}"),
    ("ind_s", "indicators/s stored", "{:,.0f}"),
    ("kib_conn", "hub KiB per connection", "{:.1f}"),
    ("api_p99", "API p99 under load, ms", "{:.1f}"),
    ("hub_cpu", "hub CPU in all, s", "{:.2f}"),
)


def run_once(o, n, b, k, hard, certs, mk_s, tpl):
    """One hub, n agents, the batches; prints the figures and returns
    the ones SUMMARY names."""
    import hubrun                # imports pytest; not needed for --poll
    import pathlib
    tmp = tempfile.mkdtemp(prefix="pk-agentload-")
    hub_limit = o.hub_nofile or hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (hub_limit, hard))
    try:
        opts = {"handshake_timeout": int(max(10, o.timeout)),
                "max_connections": max(10000, n + 100)}
        opts.update(x.split("=", 1) for x in o.hub_opt)
        hub = hubrun.Hub(pathlib.Path(tmp) / "hub", pathlib.Path(certs),
                         **opts)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    poll = None
    try:
        token = hub.token("viewer", "agent-load")
        agents = [Agent(i, certs) for i in range(1, n + 1)]
        cpu0, rss0 = proc_cpu_rss(hub.proc.pid)
        fds0 = open_fds(hub.proc.pid)

        poll = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--poll", hub.host,
             str(hub.api_port), os.path.join(certs, "ca.crt"), token, "0.1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        time.sleep(3.0 if not o.smoke else 1.0)   # idle API samples
        marks = {}
        asyncio.run(load(agents, hub, tpl, b, k, o.timeout, marks,
                         o.retry_for, o.connect_timeout))
        time.sleep(1.0 if o.smoke else 2.0)       # idle again afterwards
        marks["idle_after"] = time.monotonic()
        poll.stdin.close()
        out = poll.stdout.read()
        poll.wait(timeout=60)
        cpu1, rss1 = proc_cpu_rss(hub.proc.pid)
        counters = hub.counters()
        rc, final = hub.stop()
    finally:
        if poll is not None and poll.poll() is None:
            poll.kill()
        if hub.proc.poll() is None:
            hub.proc.kill()
    db = os.path.join(tmp, "hub", "data", "hub.db")
    rows = count_rows(db)

    reqs = []
    for line in out.splitlines():
        t, p, st, dt = line.split()
        reqs.append((float(t), p, int(st), float(dt)))
    idle = [r for r in reqs if r[0] < marks["connect_start"]
            or r[0] > marks["batch_end"] + 0.5]
    during = [r for r in reqs if marks["connect_start"] <= r[0]
              <= marks["batch_end"]]
    during_b = [r for r in during if r[0] >= marks["batch_start"]]
    during_c = [r for r in during if r[0] <= marks["connected"]]

    ok = [a for a in agents if a.welcomed is not None]
    failed = [a for a in agents if a.failed is not None]
    conn_s = marks["connected"] - marks["connect_start"]
    last_w = max((a.welcomed for a in ok), default=marks["connect_start"])
    batch_s = marks["batch_end"] - marks["batch_start"]
    nb = sum(a.acked for a in agents)
    cpu_c = marks["rss_connected"][0]
    rss_c = marks["rss_connected"][1]

    print(f"agent_load: {n} agents x {b} batches x {k} records "
          f"(hub nofile {hub_limit}, certs {certs}: mkcerts took "
          f"{mk_s:.1f} s)")
    print(f"  connections: {len(ok)} of {n} got WELCOME, last after "
          f"{last_w - marks['connect_start']:.2f} s "
          f"(all attempts done in {conn_s:.2f} s), {len(failed)} failed; "
          f"{sum(a.attempts for a in agents)} attempts")
    reasons = {}
    for a in failed:
        key = a.failed.split(":")[0] + ": " + a.failed.split(" ")[1] \
            if " " in a.failed else a.failed
        reasons[key] = reasons.get(key, 0) + 1
    for r, c in sorted(reasons.items()):
        print(f"    failed {c:5d}  {r}")
    if failed:
        print(f"    e.g. {failed[0].id}: {failed[0].failed}")
    print(f"  batches: {nb} ACKed in {batch_s:.2f} s: {nb / batch_s:,.0f} "
          f"batches/s, {nb * k / batch_s:,.0f} indicators/s "
          f"(hub.db holds {rows} rows)")
    print(lat_line("idle", idle))
    print(lat_line("load", during))
    print(lat_line("conn", during_c) + "  (started while connecting)")
    print(lat_line("batch", during_b) + "  (started in the batch phase)")
    for p in ("/api/v1/hosts", "/api/v1/indicators?limit=100"):
        print("    " + lat_line("load", [r for r in during if r[1] == p])
              .strip() + f"  {p}")
    per = (rss_c - rss0) / max(1, len(ok))
    print(f"  hub RSS: {rss0} KiB idle, {rss_c} KiB with {len(ok)} "
          f"connected ({per:.1f} KiB per connection), {rss1} KiB at the "
          f"end; fds {fds0} -> {marks['fds_connected']}")
    print(f"  hub CPU: {cpu_c - cpu0:.2f} s to accept {len(ok)}, "
          f"{marks['cpu_loaded'][0] - cpu_c:.2f} s for the batches, "
          f"{cpu1 - cpu0:.2f} s in all")
    keys = ("accepted", "welcomes", "refused_limit", "accept_errors",
            "handshake_failures", "timeouts", "peer_closed", "batches",
            "ingest_stored", "heartbeats_in")
    print("  hub counters: " + ", ".join(f"{x} {counters.get(x, 0)}"
                                         for x in keys))
    errs = {x: v for x, v in counters.items()
            if x.startswith("closed_by_error_") and v}
    if errs:
        print(f"  hub sent ERRORs: {errs}")
    print(f"  hub exit status {rc}")
    if o.smoke:
        assert not failed, [a.failed for a in failed]
        assert rows == n * b * k, (rows, n * b * k)
        assert nb == n * b
        assert reqs and all(r[2] == 200 for r in reqs), \
            [r for r in reqs if r[2] != 200]
        assert during, "no API request during the load"
        assert counters["welcomes"] == n and rc == 0
        print("agent_load: smoke OK")
    if not o.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"  kept {tmp}")
    return {"connect_s": last_w - marks["connect_start"],
            "failed": len(failed), "ind_s": nb * k / batch_s,
            "kib_conn": per, "api_p99": pct([r[3] * 1000 for r in during],
                                             .99),
            "hub_cpu": cpu1 - cpu0}


if __name__ == "__main__":
    main()
