#!/usr/bin/python3
"""Load benchmark for two hubs over one PostgreSQL database (issue 13):
many agents split between the hubs, a task fanned out to all of them,
a hub killed and its agents failing over, a hub restarted under a
reconnection storm.

Two real `picket-hub serve` processes (tests/integration/hubrun.Hub,
`[store] backend = postgresql`) share one schema of one PostgreSQL server:
$PICKET_TEST_PG, else a private server this script starts and stops
(tests/pg/pgserver.sh).  N simulated agents (tests/bench/agent_load.Agent:
asyncio, TLS 1.3 with their own certificates cached in
/var/cache/picket/loadcerts-N, the real protocol of hubproto) live in this
process; agent i (0-based) belongs to hub i % 2, as a round-robin DNS name
or a load balancer would place it, and tries the other hub when its own
refuses (the second address of the name).  Each agent reads its frames
all the time (ACKs, TASKs, HEARTBEATs, ERRORs) and sends a HEARTBEAT every
20 s.  The phases, each printing its figures:

1. connect: all N connect and HELLO (at most --concurrency handshakes at
   a time); time until the last WELCOME, connections per hub, each hub's
   RSS idle and with its agents (KiB per connection).
2. steady flow: each agent sends B batches of K real indicator lines
   (agent_load's template: the record `picketd -r nmap_synscan.pcap`
   prints, rewritten per agent and sequence number), waiting for each
   ACK; batches/s and indicators/s; PostgreSQL must then hold every
   record exactly once.
3. task fan-out: one snapshot task naming all N agents (the API has no
   "all" target: `targets.agents` lists the N ids, up to 10,000) POSTed
   to hub A; the time from the POST until each agent holds its TASK START
   (p50/p99/max per hub: B learns of the task by its one-second poll),
   each agent answering RESULT running and done (0 bytes); then the time
   until the API shows every host done.
4. failover: hub A is killed with SIGKILL; its agents reconnect after a
   jittered backoff (uniform in 0..J s, the window doubling after each
   failed attempt up to 8 J, as the agent's full-jitter backoff does)
   and land on hub B; the failover time is the kill to the last of them
   WELCOMEd by B.  Every WELCOME must name the sequence number the agent
   had ACKed (nothing lost, nothing to resend).
5. storm: hub B, holding all N, is restarted (SIGTERM, then started
   again on its port); all N reconnect with the same jitter while hub A
   is still down; the hub must survive and take every agent back.
6. rebalance: hub A is started again and A's agents move home (each
   closes its connection to B after a jittered wait and reconnects).

Finally every agent must be connected to its own hub, PostgreSQL must
still hold N*B*K records once each, and a summary table is printed.

    /usr/bin/python3 tests/bench/multihub_load.py [--smoke] [-n N] [-b B]
        [-k K] [--jitter J] [--concurrency C] [--timeout S]

--smoke: N=40, B=2, K=5, J=1 (well under a minute).  Any broken invariant
(a record missing or stored twice, an agent without its task, an agent
not back after the kill or the restart, a hub that died) is printed and
the exit status is 1.  The script raises its RLIMIT_NOFILE soft limit to
the hard limit; the hubs inherit it ([hub] max_connections is N + 1000).
The binaries: PICKET_HUB and PICKETD, as for agent_load.py.  Traffic stays
on 127.0.0.1 and the server's Unix socket.
"""
import argparse
import asyncio
import os
import pathlib
import random
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)
import hubproto as hp  # noqa: E402
from agent_load import (Agent, certs_for, open_fds, pct,  # noqa: E402
                        proc_cpu_rss, records, template)
from task_dispatch import api  # noqa: E402

PGSERVER = os.path.join(REPO, "tests", "pg", "pgserver.sh")
HEARTBEAT_EVERY = 20.0          # s; the hubs close an agent after 90 s mute
HUB_NAMES = ("hub-a", "hub-b")


# ------------------------------------------------------------ PostgreSQL

def psql(dsn, sql):
    p = subprocess.run(["psql", dsn, "-qAtX", "-v", "ON_ERROR_STOP=1",
                        "-c", sql], capture_output=True, text=True,
                       timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"psql: {p.stderr.strip()}")
    return p.stdout.strip()


class Postgres:
    """$PICKET_TEST_PG, or a private server in a temporary directory
    (started here, stopped by close()); schema() makes a fresh schema and
    returns the dsn the hubs get."""

    def __init__(self):
        self.dir = None
        self.dsn = os.environ.get("PICKET_TEST_PG")
        if self.dsn:
            return
        self.dir = tempfile.mkdtemp(prefix="pk-mhload-pg-")
        os.chmod(self.dir, 0o755)
        out = subprocess.run(["sh", PGSERVER, "start",
                              os.path.join(self.dir, "srv")],
                             capture_output=True, text=True, timeout=180)
        if out.returncode != 0:
            self.close()
            sys.exit(f"multihub_load: no PostgreSQL server: {out.stderr}")
        self.dsn = out.stdout.strip()

    def schema(self, name):
        psql(self.dsn, f"DROP SCHEMA IF EXISTS {name} CASCADE; "
             f"CREATE SCHEMA {name}")
        return f"{self.dsn} options='-c search_path={name}'"

    def drop(self, name):
        psql(self.dsn, f"DROP SCHEMA IF EXISTS {name} CASCADE")

    def close(self):
        if self.dir:
            subprocess.run(["sh", PGSERVER, "stop",
                            os.path.join(self.dir, "srv")], timeout=120)
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def pg_cpu(dsn):
    """CPU seconds of the server's processes (the postmaster and its
    children), or None when they cannot be read (another user's server,
    a remote one)."""
    try:
        d = psql(dsn, "SHOW data_directory")
        with open(os.path.join(d, "postmaster.pid")) as f:
            root = int(f.readline())
    except (OSError, RuntimeError, ValueError):
        return None
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(pid) == root or int(fields[1]) == root:
            total += (int(fields[11]) + int(fields[12])) / \
                os.sysconf("SC_CLK_TCK")
    return total


def stored(dsn):
    """(rows, distinct (agent, seq), hosts) in the shared store."""
    out = psql(dsn, "SELECT (SELECT count(*) FROM indicators), "
               "(SELECT count(*) FROM (SELECT DISTINCT agent_id, seq "
               "FROM indicators) d), (SELECT count(*) FROM hosts)")
    return tuple(int(x) for x in out.split("|"))


# ------------------------------------------------------------ agents

class MhAgent(Agent):
    """agent_load's Agent (TLS context, connect + HELLO/WELCOME, frame
    reading) with a frame reader running all the time, a home hub, and
    reconnection with jittered backoff."""

    def __init__(self, idx, certs, run):
        super().__init__(idx, certs)
        self.run = run                  # the shared Run: hubs, options
        self.home = (idx - 1) % 2       # agent i (0-based) to hub i % 2
        self.on = None                  # hub index connected to, or None
        self.next_seq = 1
        self.acks = asyncio.Queue()
        self.reader_task = None
        self.leaving = False            # closing on purpose: no rejoin
        self.welcomes = 0
        self.up = asyncio.Event()       # connected, past WELCOME
        self.acked_seq = 0              # the last seq ACKed (or WELCOMEd)
        self.sent = 0                   # BATCH frames sent (resends too)
        self.batch_failed = None
        self.seq_lost = 0               # WELCOME stored_seq below ACKed
        self.tasks = {}                 # task id -> monotonic START
        self.forgets = 0
        self.errors = []                # ERROR frames the hub sent
        self.lost_at = None

    def order(self):
        return [self.home, 1 - self.home]

    async def attach(self, order, stats):
        """One attempt: each hub of order in turn; True once WELCOMEd."""
        for h in order:
            host, port = self.run.hubs[h]
            had = self.next_seq
            self.failed = None
            await self.connect(host, port, self.run.timeout)
            if self.failed is None:
                stored = self.next_seq - 1      # connect() set it
                if stored < self.acked_seq:
                    self.seq_lost += 1
                    self.next_seq = had
                self.acked_seq = max(self.acked_seq, stored)
                while not self.acks.empty():    # the lost connection's
                    self.acks.get_nowait()
                self.welcomes += 1
                self.on = h
                self.up.set()
                self.reader_task = asyncio.create_task(self.read_loop())
                return True
            key = " ".join(self.failed.split(" ")[:2])
            stats[key] = stats.get(key, 0) + 1
            self.close()
            self.writer = None
        return False

    async def rejoin(self, stats, first_wait=True):
        """Reconnect as the agent does: wait uniform in 0..window, try
        the hubs, double the window after a failure (at most 8 J)."""
        window = self.run.jitter
        while not self.run.stopping:
            if first_wait and window > 0:
                await asyncio.sleep(random.uniform(0, window))
            first_wait = True
            if await self.attach(self.order(), stats):
                return True
            window = min(window * 2, 8 * self.run.jitter) or 1.0
        return False

    async def read_loop(self):
        try:
            while True:
                f = await self._frame()
                if f.type == hp.ACK:
                    self.acks.put_nowait(hp.decode(f).seq)
                elif f.type == hp.TASK:
                    self.on_task(hp.decode(f))
                elif f.type == hp.ERROR:
                    self.errors.append(hp.decode(f))
        except asyncio.CancelledError:
            raise
        except (asyncio.IncompleteReadError, OSError, ssl.SSLError,
                hp.ProtocolError):
            pass
        self.on = None
        self.up.clear()
        self.acks.put_nowait(None)      # wakes a batch waiting for an ACK
        self.lost_at = time.monotonic()
        self.close()
        self.writer = None
        if not self.leaving and not self.run.stopping:
            await self.rejoin(self.run.stats)

    def on_task(self, t):
        if t.op == hp.TOP_START:
            self.tasks.setdefault(t.id, time.monotonic())
            # started, and done with an empty result: the hub then
            # FORGETs it and does not send it again at a reconnect
            self.writer.write(hp.result_state(t.id, hp.TS_RUNNING))
            self.writer.write(hp.result_state(t.id, hp.TS_DONE))
        elif t.op == hp.TOP_FORGET:
            self.forgets += 1

    async def send_batches(self, tpl, b, k):
        """Records 1..b*k in batches of k, each ACKed; a lost connection
        is waited out (the reader rejoins) and the batch the new WELCOME
        does not cover is sent again, as the agent does."""
        last = b * k
        try:
            while self.acked_seq < last:
                if not self.up.is_set():
                    await asyncio.wait_for(self.up.wait(),
                                           4 * self.run.timeout)
                first = self.next_seq
                n = min(k, last - first + 1)
                self.writer.write(hp.batch(first, records(tpl, self.id,
                                                          first, n)))
                self.sent += 1
                seq = await asyncio.wait_for(self.acks.get(),
                                             self.run.timeout)
                if seq is None:
                    continue            # lost: resend after the WELCOME
                if seq != first + n - 1:
                    raise hp.ProtocolError(f"ACK {seq}")
                self.acked_seq = seq
                self.next_seq = seq + 1
                self.acked += 1
        except Exception as e:       # noqa: BLE001 - every failure counts
            self.batch_failed = f"batch: {type(e).__name__} {e}"[:160]

    async def go_home(self, stats):
        """Leave the hub we are on for our own (the rebalance)."""
        self.leaving = True
        self.close()
        if self.reader_task is not None:
            await self.reader_task
        self.leaving = False
        await self.rejoin(stats)


class Run:
    """What the agents share: hub addresses, options, failure counts."""

    def __init__(self, o):
        self.hubs = [None, None]        # (host, port) of each hub
        self.jitter = o.jitter
        self.timeout = o.timeout
        self.stopping = False
        self.stats = {}


async def keepalive(agents, run):
    """A HEARTBEAT from every connected agent every HEARTBEAT_EVERY s,
    spread over the period."""
    step = 0.5
    per = max(1, int(len(agents) * step / HEARTBEAT_EVERY))
    i = 0
    while not run.stopping:
        for a in agents[i:i + per]:
            if a.on is not None and a.writer is not None \
                    and not a.writer.is_closing():
                a.writer.write(hp.heartbeat())
        i = i + per if i + per < len(agents) else 0
        await asyncio.sleep(step)


# ------------------------------------------------------------ helpers

def quantiles(xs):
    """'p50 p99 max' of seconds, as text."""
    if not xs:
        return "-"
    return (f"p50 {pct(xs, .5):.2f} s, p99 {pct(xs, .99):.2f} s, "
            f"max {max(xs):.2f} s")


def per_hub(agents):
    n = [0, 0]
    for a in agents:
        if a.on is not None:
            n[a.on] += 1
    return n


async def wait_until(cond, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


def reasons(stats):
    return ", ".join(f"{k} {v}" for k, v in sorted(stats.items())) or "none"


# ------------------------------------------------------------ the run

class Bench:
    def __init__(self, o, n, b, k):
        self.o, self.n, self.b, self.k = o, n, b, k
        self.run = Run(o)
        self.hub = [None, None]
        self.ports = [None, None]
        self.summary = []               # (phase, figure, value)
        self.problems = []
        self.starts = 0

    def fig(self, phase, name, value):
        self.summary.append((phase, name, value))

    def check(self, ok, what):
        if not ok:
            self.problems.append(what)
            print(f"  FAILED: {what}", flush=True)

    def start_hub(self, h):
        """Blocking: a hub on its port (the same port again at a
        restart), in a data dir of its own."""
        import hubrun               # imports pytest
        self.starts += 1
        hub = hubrun.Hub(
            self.tmp / f"{HUB_NAMES[h]}-{self.starts}", pathlib.Path(
                self.certs), port=self.ports[h],
            sections={"store": {"backend": "postgresql", "dsn": self.dsn}},
            api_opts={"max_body": 4 * 1024 * 1024},
            name=HUB_NAMES[h], handshake_timeout=int(min(300, self.o.timeout)),
            heartbeat=30, max_connections=self.n + 1000)
        self.ports[h] = hub.port
        self.run.hubs[h] = (hub.host, hub.port)
        self.hub[h] = hub
        return hub

    def alive(self, h):
        return self.hub[h] is not None and self.hub[h].proc.poll() is None

    def rss(self, h):
        return proc_cpu_rss(self.hub[h].proc.pid)[1]

    async def blocking(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(None, fn,
                                                                *args)

    # -------------------------------------------------------- phases

    async def connect_all(self, agents):
        print("phase 1: connect", flush=True)
        rss0 = [self.rss(0), self.rss(1)]
        sem = asyncio.Semaphore(self.o.concurrency)
        stats = {}

        async def first(a):
            window = self.run.jitter or 1.0
            deadline = time.monotonic() + 2 * self.o.timeout
            while time.monotonic() < deadline:
                async with sem:
                    if await a.attach([a.home], stats):
                        return
                await asyncio.sleep(random.uniform(0, window))
                window = min(2 * window, 8 * (self.run.jitter or 1.0))
        t0 = time.monotonic()
        await asyncio.gather(*(first(a) for a in agents))
        ok = [a for a in agents if a.on is not None]
        last = max((a.welcomed for a in ok), default=t0) - t0
        await asyncio.sleep(1.0)            # let the hubs settle buffers
        rss1 = [self.rss(0), self.rss(1)]
        conns = per_hub(agents)
        print(f"  {len(ok)} of {self.n} WELCOMEd, the last after {last:.2f} s "
              f"({len(ok) / max(last, 1e-9):,.0f} connections/s); failed "
              f"attempts: {reasons(stats)}")
        for h in (0, 1):
            kib = (rss1[h] - rss0[h]) / max(1, conns[h])
            print(f"  {HUB_NAMES[h]}: {conns[h]} agents, RSS {rss0[h]} -> "
                  f"{rss1[h]} KiB ({kib:.1f} KiB per connection), fds "
                  f"{open_fds(self.hub[h].proc.pid)}")
            self.fig("connect", f"{HUB_NAMES[h]} agents / KiB per conn",
                     f"{conns[h]} / {kib:.1f}")
        self.fig("connect", "all WELCOMEd after", f"{last:.2f} s")
        self.check(len(ok) == self.n, f"connect: {self.n - len(ok)} agents "
                   "never got WELCOME")
        self.check(conns == [len([a for a in agents if a.home == h])
                             for h in (0, 1)], f"connect: split {conns}")

    async def steady(self, agents, tpl):
        b, k = self.b, self.k
        print(f"phase 2: steady flow, {b} batches x {k} records per agent",
              flush=True)
        self.run.stats = {}
        w0 = sum(a.welcomes for a in agents)
        cpu0 = [proc_cpu_rss(self.hub[h].proc.pid)[0] for h in (0, 1)]
        pg0 = await self.blocking(pg_cpu, self.dsn)
        me0 = time.process_time()
        t0 = time.monotonic()
        await asyncio.gather(*(a.send_batches(tpl, b, k) for a in agents))
        dt = time.monotonic() - t0
        me = time.process_time() - me0
        cpu1 = [proc_cpu_rss(self.hub[h].proc.pid)[0] for h in (0, 1)]
        pg1 = await self.blocking(pg_cpu, self.dsn)
        for h in (0, 1):
            c = await self.blocking(self.hub[h].counters)
            print(f"  {HUB_NAMES[h]}: batches {c.get('batches')}, "
                  f"group_commits {c.get('group_commits')}, group_max "
                  f"{c.get('group_max')}, CPU {cpu1[h] - cpu0[h]:.1f} s, "
                  f"closed for silence (timeouts) {c.get('timeouts')}, "
                  f"handshake_failures {c.get('handshake_failures')}")
        print(f"  CPU in the {dt:.1f} s: PostgreSQL "
              + (f"{pg1 - pg0:.1f} s" if pg0 is not None and pg1 is not None
                 else "unknown") + f", this simulator {me:.1f} s")
        nb = sum(a.acked for a in agents)
        sent = sum(a.sent for a in agents)
        bad = [a for a in agents if a.batch_failed]
        again = sum(a.welcomes for a in agents) - w0
        t1 = time.monotonic()
        rows, distinct, hosts = await self.blocking(stored, self.dsn)
        q = time.monotonic() - t1
        want = self.n * b * k
        print(f"  {nb} batches ACKed in {dt:.2f} s: {nb / dt:,.0f} batches/s, "
              f"{nb * k / dt:,.0f} indicators/s; {len(bad)} agents failed")
        print(f"  {again} reconnections meanwhile, {sent - nb} batches sent "
              f"again; failed attempts: {reasons(self.run.stats)}")
        if bad:
            print(f"    e.g. {bad[0].id}: {bad[0].batch_failed}")
        print(f"  PostgreSQL: {rows} rows, {distinct} distinct (agent, seq), "
              f"{hosts} hosts; want {want} (count took {q:.1f} s)")
        self.fig("steady", "indicators/s stored", f"{nb * k / dt:,.0f}")
        self.fig("steady", "batches/s", f"{nb / dt:,.0f}")
        self.fig("steady", "rows in PostgreSQL (want)",
                 f"{rows} / {distinct} distinct ({want})")
        self.check(rows == want and distinct == want and not bad,
                   f"steady: {rows} rows, {distinct} distinct, {nb} batches;"
                   f" want {want} records once each")

    async def fan_out(self, agents):
        print("phase 3: task fan-out through hub A's API", flush=True)
        hub = self.hub[0]
        ca = os.path.join(self.certs, "ca.crt")
        tok = await self.blocking(hub.token, "responder", "mhload")
        body = {"task": {"type": "snapshot"},
                "targets": {"agents": [a.id for a in agents]}}
        t0 = time.monotonic()
        st, res = await self.blocking(api, hub, ca, "POST", "/api/v1/tasks",
                                      tok, body)
        t_post = time.monotonic() - t0
        self.check(st == 201, f"task: POST {st} {res}")
        if st != 201:
            return
        tid = res["id"]
        await wait_until(lambda: all(tid in a.tasks for a in agents),
                         self.o.timeout)
        got = [a for a in agents if tid in a.tasks]
        lat = [[a.tasks[tid] - t0 for a in got if a.home == h]
               for h in (0, 1)]
        every = lat[0] + lat[1]
        print(f"  POST answered in {t_post:.2f} s ({res.get('hosts')} hosts);"
              f" {len(got)} of {self.n} agents got TASK START")
        for h in (0, 1):
            print(f"  START on {HUB_NAMES[h]}'s agents: {quantiles(lat[h])}")
        print(f"  START, every agent: {quantiles(every)}")

        def done():
            s, r = api(hub, ca, "GET", f"/api/v1/tasks/{tid}", tok)
            return r["task"]["states"] if s == 200 else {}
        states = {}
        deadline = time.monotonic() + self.o.timeout
        while time.monotonic() < deadline:
            states = await self.blocking(done)
            if states.get("done", 0) == self.n:
                break
            await asyncio.sleep(0.2)
        t_done = time.monotonic() - t0
        print(f"  the API shows {states.get('done', 0)} done after "
              f"{t_done:.2f} s: {states}")
        self.fig("task", "START p50/p99/max (s)",
                 f"{pct(every, .5):.2f} / {pct(every, .99):.2f} / "
                 f"{max(every, default=float('nan')):.2f}")
        self.fig("task", "all START (A's / B's agents)",
                 f"{max(lat[0], default=float('nan')):.2f} s / "
                 f"{max(lat[1], default=float('nan')):.2f} s")
        self.fig("task", "all done in the API", f"{t_done:.2f} s")
        self.check(len(got) == self.n, f"task: {self.n - len(got)} agents "
                   "never got TASK START")

    async def failover(self, agents):
        print("phase 4: failover: hub A killed (SIGKILL)", flush=True)
        mine = [a for a in agents if a.home == 0]
        self.run.stats = {}
        rss0 = self.rss(1)
        t0 = time.monotonic()
        self.hub[0].proc.kill()
        await self.blocking(self.hub[0].proc.wait)
        ok = await wait_until(lambda: all(a.on == 1 for a in agents),
                              16 * self.run.jitter + 2 * self.o.timeout)
        back = [a.welcomed - t0 for a in mine if a.on == 1]
        t_all = max(back, default=float("nan"))
        await asyncio.sleep(1.0)
        k = await self.blocking(self.hub[1].counters)
        print(f"  {len(back)} of {len(mine)} of A's agents on hub B; the "
              f"last after {t_all:.2f} s ({quantiles(back)}); failed "
              f"attempts: {reasons(self.run.stats)}")
        print(f"  hub B: alive {self.alive(1)}, {k.get('active')} active, "
              f"RSS {rss0} -> {self.rss(1)} KiB, refused_limit "
              f"{k.get('refused_limit')}, handshake_failures "
              f"{k.get('handshake_failures')}, timeouts {k.get('timeouts')}")
        self.fig("failover", "A's agents on B after", f"{t_all:.2f} s")
        self.fig("failover", "reconnect p50/p99",
                 f"{pct(back, .5):.2f} / {pct(back, .99):.2f} s")
        self.check(ok and self.alive(1), f"failover: {len(back)} of "
                   f"{len(mine)} back, hub B alive {self.alive(1)}")

    async def storm(self, agents):
        print("phase 5: storm: hub B restarted with all agents on it",
              flush=True)
        self.run.stats = {}
        t0 = time.monotonic()
        rc, _ = await self.blocking(self.hub[1].stop)
        t_down = time.monotonic() - t0
        await self.blocking(self.start_hub, 1)
        t_up = time.monotonic() - t0
        ok = await wait_until(lambda: all(a.on == 1 for a in agents),
                              16 * self.run.jitter + 2 * self.o.timeout)
        back = [a.welcomed - t0 for a in agents if a.on == 1]
        t_all = max(back, default=float("nan"))
        await asyncio.sleep(1.0)
        k = await self.blocking(self.hub[1].counters)
        print(f"  old hub B stopped in {t_down:.2f} s (exit {rc}), new one "
              f"listening {t_up:.2f} s after the stop")
        print(f"  {len(back)} of {self.n} agents back on hub B, the last "
              f"after {t_all:.2f} s ({quantiles(back)}); failed attempts: "
              f"{reasons(self.run.stats)}")
        print(f"  new hub B: alive {self.alive(1)}, {k.get('active')} "
              f"active, accepted {k.get('accepted')}, welcomes "
              f"{k.get('welcomes')}, refused_limit {k.get('refused_limit')}, "
              f"handshake_failures {k.get('handshake_failures')}, timeouts "
              f"{k.get('timeouts')}, RSS {self.rss(1)} KiB")
        self.fig("storm", "all N back on B after", f"{t_all:.2f} s")
        self.fig("storm", "B down / listening again", f"{t_down:.2f} / "
                 f"{t_up:.2f} s")
        self.check(rc == 0, f"storm: hub B exit status {rc}")
        self.check(ok and self.alive(1), f"storm: {len(back)} of {self.n} "
                   f"back, hub B alive {self.alive(1)}")

    async def rebalance(self, agents):
        print("phase 6: hub A restarted; its agents move home", flush=True)
        mine = [a for a in agents if a.home == 0]
        stats = {}
        t0 = time.monotonic()
        await self.blocking(self.start_hub, 0)
        t_up = time.monotonic() - t0
        await asyncio.gather(*(a.go_home(stats) for a in mine))
        back = [a.welcomed - t0 for a in mine if a.on == 0]
        t_all = max(back, default=float("nan"))
        await asyncio.sleep(1.0)
        conns = per_hub(agents)
        print(f"  hub A listening after {t_up:.2f} s; {len(back)} of "
              f"{len(mine)} home after {t_all:.2f} s; failed attempts: "
              f"{reasons(stats)}; agents per hub {conns}")
        self.fig("rebalance", "A's agents home after", f"{t_all:.2f} s")
        self.check(len(back) == len(mine), f"rebalance: {len(back)} of "
                   f"{len(mine)} home")

    async def main(self, agents, tpl):
        self.run.hubs = [None, None]
        for h in (0, 1):
            await self.blocking(self.start_hub, h)
        ka = asyncio.create_task(keepalive(agents, self.run))
        try:
            await self.connect_all(agents)
            await self.steady(agents, tpl)
            await self.fan_out(agents)
            await self.failover(agents)
            await self.storm(agents)
            await self.rebalance(agents)
            print("end: checks", flush=True)
            await asyncio.sleep(1.0)
            conns = per_hub(agents)
            home = sum(1 for a in agents if a.on == a.home)
            mism = sum(a.seq_lost for a in agents)
            errs = {}
            for a in agents:
                for e in a.errors:
                    name = hp.ERROR_NAMES.get(e.code, str(e.code))
                    errs[name] = errs.get(name, 0) + 1
            rows, distinct, _ = await self.blocking(stored, self.dsn)
            want = self.n * self.b * self.k
            print(f"  agents per hub {conns}, {home} of {self.n} on their own "
                  f"hub; WELCOMEs {sum(a.welcomes for a in agents)}, "
                  f"{mism} named a stored seq below the agent's ACKed one; "
                  f"ERROR frames from the hubs: {reasons(errs)}; PostgreSQL {rows} rows, "
                  f"{distinct} distinct")
            self.fig("end", "agents per hub", f"{conns[0]} / {conns[1]}")
            self.fig("end", "rows / distinct (want)",
                     f"{rows} / {distinct} ({want})")
            self.check(home == self.n, f"end: {self.n - home} agents not on "
                       "their own hub")
            self.check(mism == 0, f"end: {mism} WELCOMEs with a stored seq "
                       "below one the hub had ACKed")
            self.check(rows == want and distinct == want,
                       f"end: {rows} rows, {distinct} distinct, want {want}")
        finally:
            self.run.stopping = True
            ka.cancel()
            for a in agents:
                a.leaving = True
                a.close()
            await asyncio.sleep(0.5)
        for h in (0, 1):
            if self.alive(h):
                rc, _ = await self.blocking(self.hub[h].stop)
                self.check(rc == 0, f"{HUB_NAMES[h]} exit status {rc}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("-n", type=int, help="agents (default 10000)")
    ap.add_argument("-b", type=int, help="batches per agent (default 5)")
    ap.add_argument("-k", type=int, help="records per batch (default 50)")
    ap.add_argument("--jitter", type=float,
                    help="reconnect jitter window J, s (default 5)")
    ap.add_argument("--concurrency", type=int, default=1000,
                    help="handshakes at a time in phase 1 (default 1000)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds an agent waits for each step")
    ap.add_argument("--keep", action="store_true",
                    help="keep the schema and the hubs' directories")
    o = ap.parse_args()
    n = o.n or (40 if o.smoke else 10000)
    b = o.b or (2 if o.smoke else 5)
    k = o.k or (5 if o.smoke else 50)
    if o.jitter is None:
        o.jitter = 1.0 if o.smoke else 5.0
    if o.smoke:
        o.timeout = min(o.timeout, 30.0)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if n + 200 > hard:
        sys.exit(f"multihub_load: RLIMIT_NOFILE hard limit {hard} is too "
                 f"low for {n} agents (one hub holds all of them)")

    t_start = time.monotonic()
    certs, mk_s = certs_for(n)
    tpl = template()
    pg = Postgres()
    schema = f"mhload_{os.getpid()}"
    bench = Bench(o, n, b, k)
    bench.certs = certs
    bench.tmp = pathlib.Path(tempfile.mkdtemp(prefix="pk-mhload-"))
    try:
        bench.dsn = pg.schema(schema)
        print(f"multihub_load: {n} agents x {b} batches x {k} records, "
              f"jitter {o.jitter:g} s, two hubs over PostgreSQL "
              f"({pg.dsn}, schema {schema}); certs {certs} (mkcerts took "
              f"{mk_s:.1f} s); RLIMIT_NOFILE {hard}", flush=True)
        agents = [MhAgent(i, certs, bench.run) for i in range(1, n + 1)]
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        asyncio.run(bench.main(agents, tpl))
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        for h in (0, 1):
            if bench.alive(h):
                bench.hub[h].proc.kill()
                bench.hub[h].proc.wait()
        if not o.keep:
            pg.drop(schema)
            shutil.rmtree(bench.tmp, ignore_errors=True)
        else:
            print(f"  kept schema {schema} and {bench.tmp}")
        pg.close()
    me = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    bench.fig("all", "simulator CPU / wall / max RSS", f"{me:.0f} s / "
              f"{time.monotonic() - t_start:.0f} s / "
              f"{cpu1.ru_maxrss // 1024} MiB")

    print(f"\nsummary: {n} agents, {b} x {k} records each, jitter "
          f"{o.jitter:g} s, 2 hubs, 1 PostgreSQL")
    w = max(len(f"{p}  {f}") for p, f, _ in bench.summary)
    for p, f, v in bench.summary:
        print(f"  {(p + '  ' + f).ljust(w)}  {v}")
    if bench.problems:
        print("multihub_load: FAILED: " + "; ".join(bench.problems))
        sys.exit(1)
    print("multihub_load: " + ("smoke OK" if o.smoke else "every check OK"))


if __name__ == "__main__":
    main()
