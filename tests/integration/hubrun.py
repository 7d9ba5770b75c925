"""hubrun - a real `picket-hub serve` for integration tests.

Hub writes its own hub.ini (data dir, listen address, TLS files from
packaging/mkcerts.sh), starts the hub (optionally inside a network
namespace: `ip netns exec` execs the hub, so the process is the hub
itself) with stderr in a file, waits for "listening on", and reads the
counters the hub prints on SIGUSR1 and at exit.  mkcerts() makes the
certificates; send_batch() ships records as an agent.  Used by
test_hub_listener.py, test_reporting.py, test_api.py and others; the hub
binary is PICKET_HUB (default build/picket-hub).

The HTTPS API ([api] listen) always gets a free port of its own on the
hub's address (Hub.api_port; api_port=0 writes listen = "" and turns it
off), so that no two test hubs fight over the default 8443.

With PICKET_TEST_HUB_PG=<libpq connection string> in the environment
every Hub that is not given a [store] keeps its store in a fresh schema
of that PostgreSQL server instead of data_dir/hub.db (tests/pg/run.sh
runs the API, UI, task and incident suites so); Hub.sql() and
Hub.where() let a test read the store and point the command line at it
on either backend."""
import hashlib
import os
import pathlib
import signal
import sqlite3
import socket
import subprocess
import time

import pytest

import hubproto as hp
from conftest import REPO
from conftest import parse_stats as parse_counters  # "name value" lines

HUB = pathlib.Path(os.environ.get("PICKET_HUB", REPO / "build" / "picket-hub"))
MKCERTS = REPO / "packaging" / "mkcerts.sh"
UI_DIR = REPO / "hub" / "ui"     # the web UI from the tree (docs/ui.md)
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
PG = os.environ.get("PICKET_TEST_HUB_PG") or None


def psql(dsn, sql, *args):
    """Rows of sql on dsn, '?' replaced by args as quoted literals."""
    for a in args:
        lit = "NULL" if a is None else (
            str(a) if isinstance(a, int) else
            "'" + str(a).replace("'", "''") + "'")
        sql = sql.replace("?", lit, 1)
    p = subprocess.run(["psql", dsn, "-qAtX", "-v", "ON_ERROR_STOP=1",
                        "-F", "\x1f", "-c", sql], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return [tuple(line.split("\x1f")) for line in p.stdout.splitlines()]


def mkcerts(out, *args):
    """packaging/mkcerts.sh ARGS OUT; returns OUT."""
    subprocess.run(["sh", str(MKCERTS), *args, str(out)], check=True,
                   capture_output=True, timeout=120)
    return out


def mkcerts_agents(out, agents, *args):
    """mkcerts(out) with a certificate (-a) for each name in agents."""
    return mkcerts(out, *args, *(x for a in agents for x in ("-a", a)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """A running picket-hub serve with its own hub.ini and data dir."""

    def __init__(self, tmp, certs, host="127.0.0.1", port=None, ns=None,
                 api_port=None, api_opts=None, ui=False, crl=True,
                 peering=None, sharing=None, sections=None, **opts):
        if not HUB.exists():
            pytest.fail(f"{HUB} missing: run make build/picket-hub")
        tmp.mkdir(parents=True, exist_ok=True)
        self.tmp, self.certs, self.host, self.ns = tmp, certs, host, ns
        self.data = tmp / "data"
        self.opts = {"handshake_timeout": 2, "heartbeat": 30,
                     "name": "test-hub", **opts}
        self.errpath = tmp / "hub.stderr"
        self.proc = None
        self.api_opts = dict(api_opts or {})
        # ui=True serves the tree's web UI (hub/ui); otherwise it is off,
        # whatever the machine has in /usr/share/picket-hub/ui.
        self.ui = ui
        # crl=False: no [tls] crl (a CA from `picket-hub ca init` has none).
        self.crl = crl
        # [peering] and [sharing] options (docs/peering.md), written only
        # when given: e.g. peering={"listen": "10.203.0.1:7444"}.
        self.peering = dict(peering or {})
        self.sharing = dict(sharing or {})
        # any other sections: {"bundles": {"check_interval": "1s"}}
        self.sections = dict(sections or {})
        self.dsn = None
        if PG and "store" not in self.sections:
            # one schema per data directory (in this test process), as
            # SQLite has one file: a hub started again on the same
            # directory finds its store
            name = "hub_" + hashlib.sha256(f"{os.getpid()}:{self.data}"
                                           .encode()).hexdigest()[:24]
            psql(PG, f"CREATE SCHEMA IF NOT EXISTS {name}")
            self.dsn = f"{PG} options='-c search_path={name}'"
            self.sections["store"] = {"backend": "postgresql",
                                      "dsn": self.dsn}
        for _ in range(5):      # the free port may be taken meanwhile
            self.port = port or free_port()
            self.api_port = free_port() if api_port is None else api_port
            if self._start():
                return
        pytest.fail("picket-hub did not start:\n" + self.stderr())

    def _start(self):
        addr = (f"[{self.host}]" if ":" in self.host else self.host)
        hub_opts = "".join(f"{k} = {v}\n" for k, v in self.opts.items())
        self.ini = self.tmp / "hub.ini"
        self.ini.write_text(
            f"[hub]\ndata_dir = {self.data}\nlisten = {addr}:{self.port}\n"
            f"{hub_opts}"
            f"[tls]\nca = {self.certs / 'ca.crt'}\n"
            f"cert = {self.certs / 'hub.crt'}\n"
            f"key = {self.certs / 'hub.key'}\n"
            + (f"crl = {self.certs / 'ca.crl'}\n" if self.crl else "")
            + f"[api]\nlisten = {self.api_listen()}\n"
            + "".join(f"{k} = {v}\n" for k, v in self.api_opts.items())
            + ("" if "ui_dir" in self.api_opts else
               f"ui_dir = {UI_DIR if self.ui else ''}\n")
            + self._section("peering", self.peering)
            + self._section("sharing", self.sharing)
            + "".join(self._section(k, v) for k, v in self.sections.items()))
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        prefix = ["ip", "netns", "exec", self.ns] if self.ns else []
        with open(self.errpath, "w") as err:
            self.proc = subprocess.Popen([*prefix, str(HUB), "serve", "-c",
                                          str(self.ini)], stderr=err,
                                         stdout=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if "listening on" in self.stderr():
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.02)
        self.proc.kill()
        pytest.fail("picket-hub never said 'listening on'")

    @staticmethod
    def _section(name, opts):
        if not opts:
            return ""
        return f"[{name}]\n" + "".join(f"{k} = {v}\n"
                                        for k, v in opts.items())

    def stderr(self):
        return self.errpath.read_text(errors="replace")

    def api_listen(self):
        """The [api] listen value: host:api_port, or "" (off)."""
        if not self.api_port:
            return ""
        addr = (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{addr}:{self.api_port}"

    def token(self, role, name):
        """`picket-hub token create` on this hub's database: the secret."""
        proc = subprocess.run([str(HUB), "token", "create", "--role", role,
                               "--name", name, "-c", str(self.ini)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    def ctx(self, agent="agent-1", **kw):
        return hp.client_context(self.certs / "ca.crt",
                                 self.certs / "agents" / f"{agent}.crt",
                                 self.certs / "agents" / f"{agent}.key", **kw)

    def conn(self, agent="agent-1", ctx=None, **kw):
        return hp.Conn(self.host, self.port, ctx or self.ctx(agent), **kw)

    def agent(self, agent="agent-1", **hello):
        """A connection past WELCOME: (conn, welcome)."""
        c = self.conn(agent)
        return c, c.hello(agent, **hello)

    def counters(self):
        """SIGUSR1, then the freshly printed counters."""
        before = self.stderr().count("info: counters")
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = self.stderr()
            if text.count("info: counters") > before:
                block = text.rsplit("info: counters", 1)[1]
                if "\nactive " in block:
                    return parse_counters(block)
            time.sleep(0.02)
        pytest.fail("no counters after SIGUSR1:\n" + self.stderr())

    def wait_counter(self, name, want, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            k = self.counters()
            if k[name] >= want or time.monotonic() > deadline:
                return k
            time.sleep(0.05)

    def stop(self):
        """SIGTERM: the exit status and the final counters."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        text = self.stderr()
        for mark in SANITIZER_MARKS:
            assert mark not in text, text
        return rc, parse_counters(text.rsplit("info: counters", 1)[-1])

    def indicators(self, *args):
        proc = subprocess.run([str(HUB), "indicators", *self.where(),
                               "--json", *args],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.splitlines()

    def where(self):
        """The command line's store options: --db for SQLite, -c hub.ini
        for PostgreSQL (whose dsn is in the configuration)."""
        if self.dsn:
            return ["-c", str(self.ini)]
        return ["--db", str(self.data / "hub.db")]

    def sql(self, query, *args):
        """Rows of query ('?' parameters) on the store, whichever it is;
        PostgreSQL's come back as text."""
        if self.dsn:
            return psql(self.dsn, query, *args)
        db = sqlite3.connect(str(self.data / "hub.db"), timeout=30)
        try:
            rows = db.execute(query, args).fetchall()
            db.commit()
            return rows
        finally:
            db.close()

    def dump(self):
        """Every byte of the store: the SQLite file, or the schema's
        rows as pg_dump writes them."""
        if self.dsn:
            schema = self.dsn.rsplit("search_path=", 1)[1].rstrip("'")
            p = subprocess.run(["pg_dump", "--data-only", "-n", schema,
                                "-d", PG], capture_output=True,
                               timeout=120)
            assert p.returncode == 0, p.stderr
            return p.stdout
        return (self.data / "hub.db").read_bytes()


def send_batch(conn, first, records):
    """One BATCH of records from seq first on a hubproto connection past
    WELCOME, and its ACK, which must cover them all; the TASKs and
    HEARTBEATs the hub sends meanwhile are passed over.  Returns the next
    seq."""
    conn.send(hp.batch(first, records))
    while True:
        f = conn.recv_frame()
        assert f is not None, "hub closed the connection"
        if f.type in (hp.TASK, hp.HEARTBEAT):
            continue
        assert f.type == hp.ACK, hp.decode(f)
        assert hp.decode(f).seq == first + len(records) - 1
        return first + len(records)
