"""Several hubs over one PostgreSQL database (issue 13, docs/scaling.md).

Real `picket-hub serve` processes with `[store] backend = postgresql` on
one real PostgreSQL server (tests/pg/pgserver.sh: a private cluster on a
Unix socket; PICKET_TEST_PG names it, or the module starts its own), each
test in a schema of its own.  The checks:

- a batch stored through hub A and sent again to hub B (a failover before
  the ACK arrived) is stored once: B's WELCOME already names A's stored
  sequence, B ACKs the repeat without a new row, and an overlapping batch
  adds only the new sequence numbers; the API of either hub shows them;
- the hub's database session is killed: it reconnects by itself and
  nothing is lost or stored twice;
- a real agent moves from hub A to hub B mid-stream: the agent reaches
  "the hub" through a TCP load balancer in the hubs' namespace that sends
  each new connection to the first hub that answers; A is killed with
  SIGKILL while 20,000 spooled records are on their way; in the end the
  database holds every sequence number 1..20,000 exactly once with the
  record the agent spooled under it;
- a task created through hub A's API reaches an agent connected to hub B
  (B's one-second poll of the tasks table); its result, uploaded through
  B into the hubs' shared results directory, downloads from A byte for
  byte, and A's API shows it done; a cancel made on A reaches the agent
  on B;
- only one hub pushes to peers and runs retention (advisory locks): the
  other takes the job over when the first one dies."""
import json
import os
import subprocess
import sys
import time

import pytest

import hubproto as hp
from apiclient import HttpsApi
from conftest import PCAPS, REPO, analyse, spool_fill
from hubrun import Hub, free_port, mkcerts
from netns import Pair, wait_for
from nsagent import NsAgent, hub_section

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="the PostgreSQL server runs as postgres")

PGSERVER = REPO / "tests" / "pg" / "pgserver.sh"
HUB_IP, AGENT_IP = "10.201.0.1", "10.201.0.2"


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    """The server's connection string: PICKET_TEST_PG, or a private
    server this module starts and stops."""
    dsn = os.environ.get("PICKET_TEST_PG")
    if dsn:
        yield dsn
        return
    d = tmp_path_factory.mktemp("pg")
    os.chmod(d, 0o755)
    for p in d.parents:
        if str(p) in ("/", "/tmp"):
            break
        os.chmod(p, os.stat(p).st_mode | 0o011)
    out = subprocess.run(["sh", str(PGSERVER), "start", str(d / "srv")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    yield out.stdout.strip()
    subprocess.run(["sh", str(PGSERVER), "stop", str(d / "srv")],
                   timeout=60)


def psql(dsn, sql):
    p = subprocess.run(["psql", dsn, "-qAtX", "-v", "ON_ERROR_STOP=1",
                        "-c", sql], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


@pytest.fixture
def db(pg, request):
    """A fresh schema: the dsn the hubs get, dropped afterwards."""
    name = "mh_" + "".join(c if c.isalnum() else "_"
                           for c in request.node.name.lower())[:40]
    psql(pg, f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}")
    yield f"{pg} options='-c search_path={name}'"
    psql(pg, f"DROP SCHEMA IF EXISTS {name} CASCADE")


def store(dsn):
    return {"store": {"backend": "postgresql", "dsn": dsn}}


def stored(dsn, agent="agent-1"):
    """(rows, distinct seqs, max seq) of agent's indicators."""
    out = psql(dsn, "SELECT count(*), count(DISTINCT seq), "
               f"coalesce(max(seq), 0) FROM indicators "
               f"WHERE agent_id = '{agent}'")
    return tuple(int(x) for x in out.split("|"))


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return mkcerts(tmp_path_factory.mktemp("pki") / "pki",
                   "-H", "hub.test", "-H", "localhost", "-I", HUB_IP,
                   "-I", "127.0.0.1", "-a", "agent-1", "-a", "agent-2")


def numbered(sample, n):
    out = []
    for i in range(n):
        obj = json.loads(sample[i % len(sample)])
        obj["picket"]["seq"] = i + 1
        out.append(json.dumps(obj, separators=(",", ":")))
    return out


@pytest.fixture(scope="module")
def lines():
    """40 real indicators (picketd -r of scan captures), picket.seq 1..40."""
    sample = []
    for name in ("nmap_synscan.pcap", "40.TCP_SYN_scan.pcap",
                 "ncsa_multiport_scan.pcap"):
        _, _, proc = analyse(PCAPS / name)
        sample += proc.stdout.splitlines()
    assert sample
    return numbered(sample, 40)


def two_hubs(tmp, certs, dsn, **kw):
    """Hubs A and B on one database, sharing one task results directory
    (a mount every hub has, in production)."""
    sec = {**store(dsn), "tasks": {"results_dir": tmp / "results"}}
    a = Hub(tmp / "a", certs, sections=sec, name="hub-a", **kw)
    b = Hub(tmp / "b", certs, sections=sec, name="hub-b", **kw)
    return a, b


def test_batch_resent_to_another_hub_is_stored_once(tmp_path, certs, db,
                                                     lines):
    a, b = two_hubs(tmp_path, certs, db)
    try:
        c, w = a.agent("agent-1")
        assert w.stored_seq == 0
        assert c.send_batch(1, lines[:10]) == 10
        c.close()
        # hub A is gone for this agent (no ACK reached it, say): B knows
        # what A stored, from the database
        c, w = b.agent("agent-1")
        assert w.stored_seq == 10
        assert w.hub_id == "hub-b"
        assert c.send_batch(1, lines[:10]) == 10        # the repeat
        assert stored(db) == (10, 10, 10)
        assert c.send_batch(5, lines[4:15]) == 15       # overlapping
        c.close()
        assert stored(db) == (15, 15, 15)
        # either hub's API reads the same store
        for h in (a, b):
            tok = h.token("viewer", f"v-{h.opts['name']}")
            st, body = HttpsApi(h, certs).json(
                "GET", "/api/v1/indicators?host=agent-1&limit=100", tok)
            assert st == 200, body
            assert sorted(r["picket"]["seq"] for r in body["indicators"]) == \
                list(range(1, 16))
        assert psql(db, "SELECT last_seq FROM hosts WHERE agent_id = "
                    "'agent-1'") == "15"
    finally:
        for h in (a, b):
            assert h.stop()[0] == 0


def test_database_connection_lost_and_back(tmp_path, certs, db, lines):
    """The hub's database session is killed between two batches (what a
    database restart does): the batch in flight is not ACKed or is
    stored, the hub reconnects by itself, and after the agent sends
    again every record is there once."""
    dsn = f"{db} application_name=mh_lost"
    h = Hub(tmp_path / "h", certs, sections=store(dsn), name="hub-a")
    try:
        c, w = h.agent("agent-1")
        assert c.send_batch(1, lines[:10]) == 10
        assert psql(db, "SELECT count(*) FROM (SELECT "
                    "pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                    "application_name = 'mh_lost') AS k") != "0"
        try:
            c.send(hp.batch(11, lines[10:20]))
            f = c.recv_frame(timeout=5)
        except (OSError, hp.ProtocolError):
            f = None
        c.close()
        assert wait_for(lambda: "reconnected to PostgreSQL" in h.stderr(),
                        timeout=10), h.stderr()[-2000:]
        c, w = h.agent("agent-1")
        assert w.stored_seq in (10, 20), (w.stored_seq, f)
        assert c.send_batch(w.stored_seq + 1,
                            lines[w.stored_seq:30]) == 30
        c.close()
        assert stored(db) == (30, 30, 30)
    finally:
        assert h.stop()[0] == 0


# ------------------------------------------------------------ failover

LB = r'''
import selectors, socket, sys, threading
listen = (sys.argv[1], int(sys.argv[2]))
backends = [("127.0.0.1", int(p)) for p in sys.argv[3:]]
srv = socket.create_server(listen, reuse_port=True)
print("lb ready", flush=True)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    cli, _ = srv.accept()
    for be in backends:
        try:
            up = socket.create_connection(be, timeout=2)
            up.settimeout(None)
            break
        except OSError:
            continue
    else:
        cli.close()
        continue
    print(f"lb -> {be[1]}", flush=True)
    threading.Thread(target=pipe, args=(cli, up), daemon=True).start()
    threading.Thread(target=pipe, args=(up, cli), daemon=True).start()
'''


def test_agent_moves_to_the_other_hub_without_loss(tmp_path, certs, db,
                                                   lines, driver):
    """The hubs listen on the namespace's loopback; the balancer on
    HUB_IP:7443 is all the agent knows."""
    n = 20000
    recs = numbered(lines, n)
    with Pair() as pair:
        pa, pb = free_port(), free_port()
        a = Hub(tmp_path / "a", certs, port=pa, ns=pair.a,
                sections=store(db), name="hub-a")
        b = Hub(tmp_path / "b", certs, port=pb, ns=pair.a,
                sections=store(db), name="hub-b")
        lb_log = tmp_path / "lb.log"
        with open(lb_log, "w") as lbf:
            lb = subprocess.Popen(["ip", "netns", "exec", pair.a,
                                   sys.executable, "-c", LB, HUB_IP, "7443",
                                   str(pa), str(pb)], stdout=lbf,
                                  stderr=subprocess.STDOUT)
        try:
            assert wait_for(lambda: "lb ready" in lb_log.read_text(),
                            timeout=10)
            agent = NsAgent(pair, pair.b, tmp_path / "agent", {
                "network": {"home_net": "10.201.0.0/24"},
                "pcap": {"interfaces": "veth-pkb"},
                "hub": hub_section(f"{HUB_IP}:7443", certs,
                                   batch_records="50")})
            spool_fill(driver, agent.spool, recs, 65536)
            agent.start()
            # A takes the agent first and stores part of the stream
            assert wait_for(lambda: stored(db)[0] >= 2000, timeout=60,
                            step=0.1), (stored(db), a.stderr()[-2000:])
            a.proc.kill()                   # SIGKILL: no goodbye
            a.proc.wait()
            at_kill = stored(db)[0]
            assert at_kill < n, "the stream ended before the failover"
            # the agent reconnects through the balancer, to B
            assert wait_for(lambda: stored(db)[0] >= n, timeout=180,
                            step=0.2), (stored(db), b.stderr()[-3000:],
                                        agent.text()[-3000:])
            time.sleep(1)
            assert stored(db) == (n, n, n)
            assert f"lb -> {pb}" in lb_log.read_text()
            got = psql(db, "SELECT string_agg(json, E'\\n' ORDER BY seq) "
                       "FROM indicators WHERE agent_id = 'agent-1'")
            for want, have in zip(recs, got.split("\n")):
                assert json.loads(have) == json.loads(want)
            assert psql(db, "SELECT last_seq FROM hosts") == str(n)
            agent.stop()
            assert b.stop()[0] == 0
        finally:
            lb.kill()
            lb.wait()
            for h in (a, b):
                if h.proc.poll() is None:
                    h.proc.kill()
                    h.proc.wait()


# ------------------------------------------------------------ tasks

def test_task_created_on_one_hub_reaches_an_agent_on_the_other(
        tmp_path, certs, db):
    a, b = two_hubs(tmp_path, certs, db)
    try:
        c, _ = b.agent("agent-2", host_name="host-2")
        api = HttpsApi(a, certs)
        tok = a.token("responder", "resp-a")
        t0 = time.monotonic()
        st, body = api.json("POST", "/api/v1/tasks", tok, {
            "task": {"type": "snapshot"},
            "targets": {"agents": ["agent-2"]}})
        assert st == 201, body
        tid = body["id"]
        t = c.expect_task(timeout=10)
        took = time.monotonic() - t0
        assert (t.id, t.op) == (tid, hp.TOP_START)
        assert took < 3.0, took             # B's poll is every second
        # the result goes up through B and comes down through A
        rows = b"".join(json.dumps({"process": {"pid": i}}).encode() + b"\n"
                        for i in range(200))
        c.send(hp.result_state(tid, hp.TS_RUNNING))
        c.send(hp.result_data(tid, 0, rows[:3000]))
        c.send(hp.result_data(tid, 3000, rows[3000:], deflate=True))
        c.send(hp.result_state(tid, hp.TS_DONE, len(rows), 200))

        def state():
            st2, b2 = api.json("GET", f"/api/v1/tasks/{tid}", tok)
            assert st2 == 200, b2
            return b2["hosts"][0]
        assert wait_for(lambda: state()["state"] == "done", timeout=10), \
            state()
        st, _, got = api.raw("GET", f"/api/v1/tasks/{tid}/results/agent-2",
                             tok)
        assert st == 200, got
        assert got == rows
        # a cancel made on A reaches the agent on B too
        st, body = api.json("POST", "/api/v1/tasks", tok, {
            "task": {"type": "pcap", "duration": 600},
            "targets": {"agents": ["agent-2"]}})
        assert st == 201, body
        t = c.expect_task(timeout=10)
        if (t.id, t.op) == (tid, hp.TOP_FORGET):     # the first one's
            t = c.expect_task(timeout=10)
        assert (t.id, t.op) == (body["id"], hp.TOP_START)
        c.send(hp.result_state(t.id, hp.TS_RUNNING))
        assert wait_for(lambda: api.json(
            "GET", f"/api/v1/tasks/{t.id}", tok)[1]["hosts"][0]["state"]
            == "running", timeout=10)
        st, _ = api.json("POST", f"/api/v1/tasks/{t.id}/cancel", tok, b"")
        assert st == 200
        t2 = c.expect_task(timeout=10)
        assert (t2.id, t2.op) == (t.id, hp.TOP_CANCEL)
        c.close()
    finally:
        for h in (a, b):
            assert h.stop()[0] == 0


# ------------------------------------------------------------ one leader

def test_one_hub_runs_the_shared_jobs(tmp_path, certs, db):
    a = Hub(tmp_path / "a", certs, sections=store(db), name="hub-a",
            retention_days=30)
    assert wait_for(lambda: "now runs retention" in a.stderr(), timeout=10)
    b = Hub(tmp_path / "b", certs, sections=store(db), name="hub-b",
            retention_days=30)
    try:
        time.sleep(1)
        assert "now runs retention" not in b.stderr()
        a.proc.kill()
        a.proc.wait()
        # B asks again at its next retention round: restart it to ask now
        assert b.stop()[0] == 0
        b = Hub(tmp_path / "b2", certs, sections=store(db), name="hub-b",
                retention_days=30)
        assert wait_for(lambda: "now runs retention" in b.stderr(), timeout=10)
    finally:
        for h in (a, b):
            if h.proc.poll() is None:
                h.stop()
