"""Member hubs share indicators (issue 11, docs/peering.md), end to end.

Real `picket-hub serve` processes, one per member, each in its own
network namespace on one bridge (10.203.0.0/24, the bridge in a fifth
namespace), each member with its own CA from packaging/mkcerts.sh, each
with a [peering] listener, peers added with `picket-hub peer add` on the
member's own database.  Hub A's indicators come from hubproto connections
as A's agents (worm fingerprint rows whose attackers are outside, and IOC
matches of each kind, under every TLP marking, besides rows that name A's
own addresses, host names, agent ids and internal domains).

- A pushes to B (policy up to TLP:AMBER) and to C (TLP:CLEAR only): each
  gets exactly what its policy allows, with the origin; AMBER+STRICT and
  RED rows never leave A; B's whole database (every table, dumped) holds
  none of A's internal addresses, internal names, host names or agent
  ids.  A fourth member D, which B never added, pushes to B: refused at
  the handshake and counted by B, nothing stored.  Every exchange is an
  audit row on both sides (peer.send at A, peer.receive at B).
- B is stopped while A has more to send; A's attempts fail (its peer row
  says why); when B is back every value is at B exactly once and B's
  last received sequence is A's next one minus one.
- Hostile bundles posted straight to B's listener with A's certificate:
  over max_bundle_bytes (413), nested deeper than 8 (400), wrong types
  (400 or refused one by one with reasons), a pattern that matches every
  address (refused with a reason), a sequence that skips ahead (400):
  none reaches /api/v1/shared, while one honest bundle does, once.
- The API: /api/v1/peers (admin only) and /api/v1/shared (filters,
  paging), approve and reject (responder, audited).
- B's own agents report a fingerprint A shared: B's /api/v1/outbreaks
  shows A as the one member that saw it (the cross-member view); the same
  for a content rule A's shared rows list (a rule outbreak's members).
- Payload excerpts: A sends B (--send-excerpts) the excerpts of its
  AMBER rows, never those of GREEN or CLEAR rows, never to C, and never
  one that names A's internal addresses, internal domain or the
  reporting host (withheld whole and counted).

Needs root (network namespaces).  The hub is PICKET_HUB."""
import contextlib
import ctypes
import http.client
import json
import os
import re
import select
import socket
import sqlite3
import ssl
import subprocess
import time
import uuid

import pytest

import hubproto as hp
from hubrun import HUB, Hub, mkcerts, send_batch
from netns import sh, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

NET = "10.203.0"
PEER_PORT = 7444
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)

# TLP 2.0 marking ids (docs/outbreaks.md)
MARKING = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
}
TLPS = ["TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]

# What A's agents are called and where they live: none of it may leave A.
A_AGENTS = {"agent-a7f3": "ws-payroll-a17", "agent-a9c1": "srv-records-a02"}
A_INTERNAL = ["10.77.1.5", "10.77.3.4", "192.168.77.9", "198.18.9.9",
              "172.20.4.4"]
A_DOMAIN = "corp-a.example"
A_INTERNAL_NAMES = ["fileserver.corp-a.example", "intranet.corp-a.example"]
RULE_SID = "sid:2024217"     # a content rule A's agents report
A_SHARING = {
    "name": "Member A SOC",
    "internal": "10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10 "
                "127.0.0.0/8 169.254.0.0/16 0.0.0.0/8 fc00::/7 fe80::/10 "
                "::1/128 ::/128 198.18.0.0/15",
    "internal_domains": A_DOMAIN,
}


# ------------------------------------------------------------ namespaces

@contextlib.contextmanager
def netns(name):
    """Run the block's socket calls in namespace name (this thread only:
    setns(2) on /proc/thread-self); sockets made there stay there."""
    with open("/proc/thread-self/ns/net") as home, \
            open(f"/var/run/netns/{name}") as there:
        if _libc.setns(there.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        try:
            yield
        finally:
            if _libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")


class Lab:
    """n member namespaces (10.203.0.1 ...) on a bridge in its own one."""
    made = 0        # labs of this process: names never repeat

    def __init__(self, n):
        Lab.made += 1
        tag = f"{os.getpid() % 100000}{Lab.made % 10}"
        self.tag = tag
        self.sw = f"pkpsw{tag}"
        self.ns = [f"pkp{i}{tag}" for i in range(n)]

    def ip(self, i):
        return f"{NET}.{i + 1}"

    def __enter__(self):
        try:
            sh("ip", "netns", "add", self.sw)
            sh("ip", "-n", self.sw, "link", "add", "br0", "type", "bridge")
            sh("ip", "-n", self.sw, "link", "set", "br0", "up")
            for i, ns in enumerate(self.ns):
                sh("ip", "netns", "add", ns)
                sh("ip", "link", "add", f"pm{i}{self.tag}", "netns", ns,
                   "type", "veth", "peer", "name", f"ps{i}{self.tag}",
                   "netns", self.sw)
                sh("ip", "-n", ns, "addr", "add", f"{self.ip(i)}/24", "dev",
                   f"pm{i}{self.tag}")
                sh("ip", "-n", ns, "link", "set", f"pm{i}{self.tag}", "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
                sh("ip", "-n", self.sw, "link", "set", f"ps{i}{self.tag}",
                   "master", "br0")
                sh("ip", "-n", self.sw, "link", "set", f"ps{i}{self.tag}",
                   "up")
        except Exception:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for ns in (*self.ns, self.sw):
            sh("ip", "netns", "del", ns, check=False)


# ------------------------------------------------------------ members

class Member:
    """One member: its CA and certificates, its hub in namespace ns."""

    def __init__(self, lab, i, name, tmp, agents=("agent-1",),
                 sharing=None, peering=None, **hub_opts):
        self.lab, self.i, self.name = lab, i, name
        self.ns, self.ip = lab.ns[i], lab.ip(i)
        self.tmp = tmp
        args = ["-H", "localhost", "-I", self.ip]
        for a in agents:
            args += ["-a", a]
        self.certs = mkcerts(tmp / "pki", *args)
        self.sharing = {"name": name, **(sharing or {})}
        self.peering = {"listen": f"{self.ip}:{PEER_PORT}",
                        "push_interval": "1s", **(peering or {})}
        self.hub_opts = hub_opts
        self.hub = None
        self.start()
        self.tok = {r: self.hub.token(r, f"{r}-{name}")
                    for r in ("viewer", "responder", "admin")}
        self.ctx = ssl.create_default_context(
            cafile=str(self.certs / "ca.crt"))

    def start(self):
        old = self.hub
        self.hub = Hub(self.tmp / "hub", self.certs, host=self.ip,
                       ns=self.ns, sharing=self.sharing,
                       peering=self.peering,
                       port=old.port if old else None,
                       api_port=old.api_port if old else None,
                       name=self.name, **self.hub_opts)

    def stop(self):
        rc, counters = self.hub.stop()
        assert rc == 0, self.hub.stderr()[-3000:]
        return counters

    @property
    def url(self):
        return f"https://{self.ip}:{PEER_PORT}"

    @property
    def db(self):
        return self.hub.data / "hub.db"

    def cli(self, *args, check=True):
        p = subprocess.run([str(HUB), *args, "-c", str(self.hub.ini)],
                           capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p

    def add_peer(self, other, *opts):
        """`picket-hub peer add` for other, named as other calls itself."""
        return self.cli("peer", "add", other.name, "--url", other.url,
                        "--ca", str(other.certs / "ca.crt"), *opts)

    # -- API, from inside the member's namespace

    def call(self, method, path, role="admin", body=None):
        hdr = {"Authorization": f"Bearer {self.tok[role]}"}
        if body is not None:
            body = json.dumps(body)
            hdr["Content-Type"] = "application/json"
        with netns(self.ns):
            c = http.client.HTTPSConnection(self.ip, self.hub.api_port,
                                            context=self.ctx, timeout=20)
            try:
                c.request(method, path, body=body, headers=hdr)
                r = c.getresponse()
                data = r.read()
            finally:
                c.close()
        return r.status, (json.loads(data) if data else None)

    def ok(self, path, role="admin"):
        st, b = self.call("GET", path, role)
        assert st == 200, (path, st, b)
        return b

    def shared(self, **params):
        """Every row of /api/v1/shared, page by page."""
        rows, cursor = [], None
        for _ in range(100):
            q = dict(params, limit=1000)
            if cursor:
                q["cursor"] = cursor
            qs = "&".join(f"{k}={v}" for k, v in q.items())
            b = self.ok(f"/api/v1/shared?{qs}", "viewer")
            rows += b["shared"]
            cursor = b["next_cursor"]
            if not cursor:
                return rows
        pytest.fail("more than 100 pages")

    def peer(self, name):
        for p in self.ok("/api/v1/peers")["peers"]:
            if p["name"] == name:
                return p
        return None

    def audit(self):
        return self.ok("/api/v1/audit?limit=1000")["audit"]

    def dump(self):
        """Every table's every row, as SQL text."""
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True,
                              timeout=30)
        try:
            return "\n".join(con.iterdump())
        finally:
            con.close()


def iso(t):
    us = int(round(t * 1e6))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 10**6)) + \
        ".%06dZ" % (us % 10**6)


def record(agent, t, tlp, rule="picket.ioc.domain", src=None, dst=None,
           direction="inbound", ioc=None, severity=73, fp=None,
           excerpt=None):
    """One agent record as picketd writes it (docs/schema.md)."""
    d = {
        "@timestamp": iso(t),
        "event": {"kind": "alert", "category": ["network"],
                  "type": ["indicator"], "module": "network",
                  "dataset": "picket.test", "severity": severity},
        "host": {"id": agent, "name": A_AGENTS.get(agent, agent)},
        "agent": {"id": agent, "type": "picketd", "version": "0.1.0"},
        "rule": {"id": rule, "name": "Test rule", "ruleset": "picket-test"},
        "message": f"seen on {A_AGENTS.get(agent, agent)}",
        "network": {"transport": "tcp", "direction": direction},
        "picket": {"seq": 1, "count": 3, "first_seen": iso(t),
                   "last_seen": iso(t + 1),
                   "fingerprint": fp or uuid.uuid4().hex, "tlp": tlp},
    }
    if src:
        d["source"] = {"ip": src}
    if dst:
        d["destination"] = {"ip": dst, "port": 445}
    if ioc:
        d["threat"] = {"indicator": {"type": ioc[0], "name": ioc[1]}}
    if excerpt is not None:
        d["picket"]["details"] = {"excerpt": excerpt, "offset": 0}
    return json.dumps(d, separators=(",", ":"))


class Agent:
    """A hubproto connection to member m's hub as one of its agents."""

    def __init__(self, m, agent_id):
        self.m, self.id = m, agent_id
        with netns(m.ns):
            self.c = hp.Conn(m.ip, m.hub.port, m.hub.ctx(agent_id))
        w = self.c.hello(agent_id, host_name=A_AGENTS.get(agent_id,
                                                          agent_id))
        self.next = w.stored_seq + 1

    def send(self, records):
        self.next = send_batch(self.c, self.next, records)

    def close(self):
        self.c.close()


class Seed:
    """Rows for A and what each policy must let through.

    shared: value -> (kind B stores, TLP index) for values A may share;
    kept: values that must never leave A (RED, internal, names);
    excerpt_b: fingerprint -> the excerpt B must keep for it (None: none)."""

    def __init__(self, tag):
        self.tag = tag
        self.shared = {}
        self.excerpt_b = {}
        self.rows = []          # (agent, record)
        self.never = set(A_INTERNAL) | set(A_INTERNAL_NAMES) | \
            set(A_AGENTS) | set(A_AGENTS.values())

    def add(self, agent, t, tlp_i, leaky=False, **kw):
        if kw.get("rule", "").startswith("picket.fingerprint."):
            # a worm's payload fingerprint is shared as itself, whatever
            # the row's addresses (docs/peering.md, "Validation")
            kw["fp"] = fp = uuid.uuid4().hex
            if tlp_i < 4:
                self.shared[fp] = ("fingerprint", tlp_i)
            else:
                self.never.add(fp)
            # B (up to AMBER, excerpts on) keeps an AMBER row's excerpt,
            # unless it names something of A's
            ex = kw.get("excerpt")
            self.excerpt_b[fp] = ex if tlp_i == 2 and not leaky else None
        self.rows.append((agent, record(agent, t, TLPS[tlp_i], **kw)))

    def value(self, kind, v, tlp_i, agent, t, **kw):
        """A value B could store, marked TLPS[tlp_i]."""
        if kind == "worm":
            self.add(agent, t, tlp_i, rule="picket.fingerprint.worm",
                     src=v, dst="10.77.1.5", **kw)
            kind = "ipv4"
        elif kind == "rule":
            # a content rule fired by an outside source: its address is
            # shared with the rule id (x_picket_rule_ids)
            self.add(agent, t, tlp_i, rule=RULE_SID, src=v,
                     dst="10.77.1.5", **kw)
            kind = "ipv4"
        else:
            typ = {"ipv4": "ipv4-addr", "domain": "domain-name",
                   "url": "url", "sha256": "file"}[kind]
            self.add(agent, t, tlp_i, rule=f"picket.ioc.{kind}",
                     src="10.77.3.4", direction="outbound",
                     dst="64.13.134.52", ioc=(typ, v), **kw)
        if tlp_i < 4:
            self.shared[v] = (kind, tlp_i)
        else:
            self.never.add(v)

    def allowed(self, max_tlp):
        return {v for v, (_, t) in self.shared.items() if t <= max_tlp}


def seed_a(tag, t0):
    """Worm sources and IOCs of every kind under every marking, and the
    rows that name only what is A's own."""
    s = Seed(tag)
    ag = list(A_AGENTS)
    for i in range(5):          # one of each marking per kind
        a = ag[i % 2]
        # every worm row has a clean excerpt: only the AMBER one goes
        s.value("worm", f"203.0.113.{10 + i + 10 * tag}", i, a, t0 + i,
                excerpt=f"GET /w{tag}{i}.exe HTTP/1.0 worm-body-{tag}-{i}")
        # an AMBER row's excerpt naming A's internal domain: withheld
        s.value("domain", f"c2-{tag}-{i}.worm.example", i, a, t0 + i,
                **({"excerpt": "\\\\intranet.corp-a.example\\share"}
                   if i == 2 else {}))
        s.value("url", f"http://drop-{tag}-{i}.worm.example/w{i}.exe", i, a,
                t0 + i)
        s.value("sha256", f"{tag:02x}{i:02x}" + "ab" * 30, i, a, t0 + i)
        s.value("ipv4", f"198.51.100.{10 + i + 10 * tag}", i, a, t0 + i)
    # a content rule from outside (GREEN): a rule outbreak's member at B
    s.value("rule", f"192.0.2.{20 + tag}", 1, ag[0], t0)
    # A's own: an inbound worm from its own network, IOC matches that name
    # its internal ranges (default and configured) and internal domains;
    # the worms are AMBER with excerpts naming an internal address and the
    # reporting host, which must stay at A
    s.add(ag[0], t0, 2, rule="picket.fingerprint.worm", src="10.77.3.4",
          dst="10.77.1.5", leaky=True,
          excerpt="GET / HTTP/1.1\r\nHost: 10.77.1.5\r\n\r\n")
    s.add(ag[1], t0, 2, rule="picket.fingerprint.worm", src="172.20.4.4",
          dst="192.168.77.9", leaky=True,
          excerpt=f"\x00\x00SMB session {A_AGENTS[ag[1]]}")
    s.add(ag[0], t0, 0, rule="picket.ioc.ipv4", src="10.77.1.5",
          direction="outbound", ioc=("ipv4-addr", "198.18.9.9"))
    s.add(ag[1], t0, 1, rule="picket.ioc.ipv4", src="10.77.1.5",
          direction="outbound", ioc=("ipv4-addr", "192.168.77.9"))
    for n in A_INTERNAL_NAMES:
        s.add(ag[0], t0, 0, rule="picket.ioc.domain", src="10.77.1.5",
              direction="outbound", ioc=("domain-name", n))
    s.add(ag[1], t0, 0, rule="picket.ioc.url", src="10.77.1.5",
          direction="outbound",
          ioc=("url", f"http://intranet.{A_DOMAIN}/payroll"))
    return s


def send_rows(member, rows):
    agents = {}
    try:
        for a, rec in rows:
            if a not in agents:
                agents[a] = Agent(member, a)
        for a in agents:
            recs = [r for x, r in rows if x == a]
            for i in range(0, len(recs), 50):
                agents[a].send(recs[i:i + 50])
    finally:
        for ag in agents.values():
            ag.close()


def values_at(m, peer=None):
    rows = m.shared(**({"peer": peer} if peer else {}))
    return rows, {r["value"] for r in rows}


def wait_values(m, want, peer=None, timeout=40):
    """Until every value of want is in m's shared list."""
    got = set()

    def done():
        nonlocal got
        _, got = values_at(m, peer)
        return want <= got
    ok = wait_for(done, timeout=timeout, step=0.5)
    return ok, got


def counter(m, name):
    return m.hub.counters().get(name, 0)


# ------------------------------------------------------------ the network

@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """A, B, C, D: A pushes to B (up to AMBER) and C (CLEAR only); B and C
    accept from A; D pushes to B, which never heard of D."""
    tmp = tmp_path_factory.mktemp("peering")
    with Lab(4) as lab:
        members = []
        try:
            a = Member(lab, 0, "member-a", tmp / "a",
                       agents=list(A_AGENTS), sharing=A_SHARING)
            members.append(a)
            # two agents: B's own outbreak of a fingerprint A shared
            # (test_outbreak_members)
            b = Member(lab, 1, "member-b", tmp / "b",
                       agents=("agent-1", "agent-2"))
            members.append(b)
            c = Member(lab, 2, "member-c", tmp / "c")
            members.append(c)
            d = Member(lab, 3, "member-d", tmp / "d")
            members.append(d)
            t0 = time.time() - 600
            seed = seed_a(0, t0)
            send_rows(a, seed.rows)
            # D has something to offer B: its own domain
            send_rows(d, [("agent-1", record("agent-1", t0, "TLP:CLEAR",
                                             ioc=("domain-name",
                                                  "d-only.worm.example"),
                                             src="10.1.1.1",
                                             direction="outbound"))])
            t_added = time.time()
            b.add_peer(a)
            c.add_peer(a)
            a.add_peer(b, "--send-tlp", "amber", "--send-excerpts")
            a.add_peer(c, "--send-tlp", "clear")
            d.add_peer(b)
            ok_b, got_b = wait_values(b, seed.allowed(2))
            ok_c, got_c = wait_values(c, seed.allowed(0))
            took = time.time() - t_added
            assert ok_b and ok_c, (
                sorted(seed.allowed(2) - got_b),
                sorted(seed.allowed(0) - got_c),
                a.hub.stderr()[-3000:], b.hub.stderr()[-3000:])
            yield {"a": a, "b": b, "c": c, "d": d, "seed": seed,
                   "took": took}
        finally:
            for m in members:
                if m.hub.proc.poll() is None:
                    m.stop()


def test_each_peer_gets_what_its_policy_allows(net):
    a, b, c, seed = net["a"], net["b"], net["c"], net["seed"]
    assert net["took"] < 40, net["took"]
    time.sleep(2.5)             # a push interval or two more: no extras
    rows_b, got_b = values_at(b)
    rows_c, got_c = values_at(c)
    assert got_b == seed.allowed(2), (got_b ^ seed.allowed(2))
    assert got_c == seed.allowed(0), (got_c ^ seed.allowed(0))
    # each value once, with its origin, kind and marking
    for rows, who in ((rows_b, b), (rows_c, c)):
        per_value = {}
        for r in rows:
            per_value[r["value"]] = per_value.get(r["value"], 0) + 1
            kind, tlp_i = seed.shared[r["value"]]
            assert r["peer"] == "member-a", r
            assert r["origin"] == "Member A SOC", r
            assert r["kind"] == kind, r
            assert r["tlp"] == TLPS[tlp_i], r
            assert r["state"] == "pending", r
            assert r["stix_id"].startswith("indicator--"), r
            assert r["hosts"] >= 1 and r["first_received"], r
        assert set(per_value.values()) == {1}, per_value
    # the worm rows' attackers are there as addresses
    worm = [r for r in rows_b if r["value"].startswith("203.0.113.")]
    assert len(worm) == 3, worm
    fps = [r for r in rows_b if r["kind"] == "fingerprint"]
    assert len(fps) == 3 + 2, fps      # 2 from worms inside A's network
    assert all(isinstance(r["rule_ids"], list) for r in rows_b)
    # progress as each side sees it
    pa_b, pa_c = a.peer("member-b"), a.peer("member-c")
    pb_a = b.peer("member-a")
    assert pa_b["policy"]["send_tlp"] == "TLP:AMBER", pa_b
    assert pa_c["policy"]["send_tlp"] == "TLP:CLEAR", pa_c
    assert pa_b["sent"]["bundles"] >= 1 and pa_b["sent"]["last_error"] is None
    assert pa_b["sent"]["indicators"] >= len(seed.allowed(2))
    assert pb_a["received"]["sequence"] == pa_b["sent"]["sequence"] - 1
    assert pb_a["received"]["indicators"] >= len(seed.allowed(2))
    # A recorded, value by value, what each peer took (schema 7): the
    # same values each peer keeps, in bundles it answered 200 to
    con = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True, timeout=30)
    try:
        sent = con.execute("SELECT peer, seq, value FROM "
                           "peer_sent_values").fetchall()
    finally:
        con.close()
    for peer, got, pa in (("member-b", got_b, pa_b),
                          ("member-c", got_c, pa_c)):
        mine = [(q, v) for p, q, v in sent if p == peer]
        assert {v for _, v in mine} == got, ({v for _, v in mine} ^ got)
        assert all(1 <= q < pa["sent"]["sequence"] for q, _ in mine), mine


def test_red_never_leaves_and_redaction_holds(net):
    a, b, c, seed = net["a"], net["b"], net["c"], net["seed"]
    # everything B and C keep, every table
    for m in (b, c):
        dump = m.dump()
        assert "member-a" in dump and "Member A SOC" in dump  # it is there
        for v in sorted(seed.never):
            assert v not in dump, (m.name, v)
        # nothing marked AMBER+STRICT or RED either
        for v, (_, t) in seed.shared.items():
            if t > (2 if m is b else 0):
                assert v not in dump, (m.name, v)
    # the search finds what is there: A stored every one of them
    dump_a = a.dump()
    for v in sorted(seed.never):
        assert v in dump_a, v


def test_excerpts_follow_the_policy(net):
    """A's policy for B sends payload excerpts, its policy for C does
    not: B keeps the excerpt of each AMBER fingerprint row that names
    nothing of A's, and no other; C none; A counted what it withheld."""
    a, b, c, seed = net["a"], net["b"], net["c"], net["seed"]
    assert a.peer("member-b")["policy"]["send_excerpts"] is True
    assert a.peer("member-c")["policy"]["send_excerpts"] is False
    assert b.peer("member-a")["policy"]["send_excerpts"] is False
    rows_b, _ = values_at(b)
    fps = {r["value"]: r for r in rows_b if r["kind"] == "fingerprint"}
    want = {fp: ex for fp, ex in seed.excerpt_b.items() if fp in fps}
    assert len(want) == 5, (want, fps)
    assert {fp: fps[fp]["excerpt"] for fp in want} == want
    amber = [fp for fp, ex in want.items() if ex is not None]
    assert len(amber) == 1 and fps[amber[0]]["tlp"] == "TLP:AMBER", want
    # the two AMBER rows whose excerpt named A's own are there, bare
    bare = [r for r in fps.values()
            if r["tlp"] == "TLP:AMBER" and r["excerpt"] is None]
    assert len(bare) == 2, fps
    # nothing below AMBER carries one, whatever its kind
    assert all(r["excerpt"] is None for r in rows_b
               if r["tlp"] != "TLP:AMBER"), rows_b
    # the row's own page says the same
    one = b.ok(f"/api/v1/shared/{fps[amber[0]]['id']}", "viewer")
    assert one["excerpt"] == want[amber[0]], one
    # C: never
    rows_c, _ = values_at(c)
    assert rows_c and all(r["excerpt"] is None for r in rows_c)
    assert "worm-body" not in c.dump()
    # A withheld the three that named its own (address, domain, host)
    assert counter(a, "peering_excerpts_withheld") >= 3, a.hub.counters()
    assert counter(a, "peering_excerpts_sent") >= 1, a.hub.counters()


def test_unknown_member_is_refused_at_the_handshake(net):
    b, d = net["b"], net["d"]

    def refused():
        p = d.peer("member-b")
        return p is not None and p["sent"]["last_error"] and \
            counter(b, "peering_handshakes_refused") >= 1
    assert wait_for(refused, timeout=20, step=0.5), (
        d.peer("member-b"), d.hub.stderr()[-2000:], b.hub.stderr()[-2000:])
    p = d.peer("member-b")
    assert p["sent"]["bundles"] == 0 and p["sent"]["sequence"] == 1, p
    assert "d-only.worm.example" not in b.dump()
    assert all(r["peer"] == "member-a" for r in b.shared())


def test_every_exchange_is_audited_on_both_sides(net):
    a, b, c = net["a"], net["b"], net["c"]
    sent = [x for x in a.audit() if x["action"] == "peer.send"]
    recv = [x for x in b.audit() if x["action"] == "peer.receive"]
    assert sent and recv, (a.audit()[:5], b.audit()[:5])
    # A: one row per bundle a peer took, naming the peer and the bundle
    pa_b, pa_c = a.peer("member-b"), a.peer("member-c")
    for name, p in (("member-b", pa_b), ("member-c", pa_c)):
        ok = [x for x in sent if x["target"].startswith(name + " ") and
              x["result"].startswith("ok")]
        assert len(ok) == p["sent"]["bundles"], (name, sent)
    # B: one row per bundle with what it kept; the counts add up
    pb_a = b.peer("member-a")
    assert all(x["actor"] == "peer:member-a" for x in recv), recv
    ok = [x for x in recv if x["result"].startswith("ok")]
    assert len(ok) == pb_a["received"]["bundles"], recv
    kept = 0
    for x in ok:
        m = re.search(r"new (\d+) upd (\d+) refused (\d+)", x["result"])
        assert m, x
        kept += int(m.group(1)) + int(m.group(2))
    assert kept == pb_a["received"]["indicators"], (recv, pb_a)
    assert kept >= len(net["seed"].allowed(2))
    # C too, and the peers' changes by the command line
    assert any(x["action"] == "peer.receive" for x in c.audit())
    assert [x["target"] for x in a.audit() if x["action"] == "peer.add"] \
        == ["member-c", "member-b"]


def test_api_peers_and_shared(net):
    b = net["b"]
    # /api/v1/peers: admin only
    for role in ("viewer", "responder"):
        st, body = b.call("GET", "/api/v1/peers", role)
        assert st == 403, body
    p = b.peer("member-a")
    assert p["url"] == net["a"].url and p["enabled"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", p["ca_sha256"]), p
    assert p["policy"]["accept_tlp"] == "TLP:AMBER"
    assert p["policy"]["auto_approve"] is False
    assert sorted(p["policy"]["send_kinds"]) == ["fingerprint", "ioc",
                                                 "rule", "scan"]
    # filters and paging
    every = b.shared()
    assert {r["kind"] for r in b.shared(kind="url")} == {"url"}
    assert len(b.shared(kind="sha256")) == 3
    assert len(b.shared(kind="fingerprint")) == 5
    assert len(b.shared(peer="member-a")) == len(every)
    assert b.shared(peer="member-zz") == []
    assert [r["value"] for r in b.shared(q="DROP-0-1")] == \
        ["http://drop-0-1.worm.example/w1.exe"]
    ids = [r["id"] for r in every]
    assert ids == sorted(ids, reverse=True)
    seen, cursor = [], None
    while True:
        b2 = b.ok("/api/v1/shared?limit=4" +
                  (f"&cursor={cursor}" if cursor else ""), "viewer")
        seen += [r["id"] for r in b2["shared"]]
        cursor = b2["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    for bad in ("state=maybe", "kind=scan", "peer=a%20b",
                "limit=0", "cursor=x", "colour=red", "q=" + "x" * 300):
        st, body = b.call("GET", "/api/v1/shared?" + bad, "viewer")
        assert st == 400 and body["error"], (bad, st, body)
    # decisions: responder; the row answers
    one, two = every[0]["id"], every[1]["id"]
    st, body = b.call("POST", f"/api/v1/shared/{one}/approve", "viewer")
    assert st == 403, body
    st, row = b.call("POST", f"/api/v1/shared/{one}/approve", "responder")
    assert st == 200 and row["state"] == "approved", row
    assert row["decided_by"] == "responder-member-b" and row["decided"]
    st, row = b.call("POST", f"/api/v1/shared/{two}/reject", "responder",
                     body={})
    assert st == 200 and row["state"] == "rejected", row
    assert {r["id"] for r in b.shared(state="approved")} == {one}
    assert {r["id"] for r in b.shared(state="rejected")} == {two}
    assert len(b.shared(state="pending")) == len(every) - 2
    st, body = b.call("POST", "/api/v1/shared/999999/approve", "responder")
    assert st == 404, body
    st, body = b.call("POST", f"/api/v1/shared/{one}/reject", "responder",
                      body={"why": "x"})
    assert st == 400, body
    st, body = b.call("GET", f"/api/v1/shared/{one}/approve", "responder")
    assert st == 405, body
    acts = [(x["action"], x["target"], x["result"]) for x in b.audit()]
    assert ("shared.approve", f"shared/{one}", "ok") in acts, acts
    assert ("shared.reject", f"shared/{two}", "ok") in acts, acts
    assert ("shared.approve", "shared/999999", "404") in acts, acts
    # A's agents report both values again: A sends them in a new bundle,
    # B updates the rows (last received) and keeps the decisions
    a, seed = net["a"], net["seed"]
    before = {r["id"]: r for r in every}
    vals = {before[one]["value"], before[two]["value"]}
    send_rows(a, [(ag, rec) for ag, rec in seed.rows
                  if any(f'"{v}"' in rec for v in vals)])
    again = {}

    def updated():
        again.clear()
        again.update({r["id"]: r for r in b.shared()})
        return all(again[i]["last_received"] != before[i]["last_received"]
                   for i in (one, two))
    assert wait_for(updated, timeout=20, step=0.5), (again.get(one),
                                                     again.get(two))
    assert again[one]["state"] == "approved"
    assert again[one]["decided_by"] == "responder-member-b"
    assert again[two]["state"] == "rejected"
    assert again[one]["first_received"] == before[one]["first_received"]
    assert sorted(again) == sorted(before)      # no new row


def test_outbreak_members(net):
    """B's own agents report a worm fingerprint A already shared: B's
    outbreak of it names one member, A, with A's origin and hosts
    (docs/outbreaks.md, "members").  Runs after the other tests of the
    module: B now has alerts of its own to push to A."""
    b = net["b"]
    fps = [r for r in b.shared(kind="fingerprint")
           if r["state"] != "rejected" and r["peer"] == "member-a"]
    assert fps, b.shared()
    row = fps[0]
    fp = row["value"]
    t = time.time() - 60
    send_rows(b, [(ag, record(ag, t + i, "TLP:GREEN",
                              rule="picket.fingerprint.worm", fp=fp,
                              src="198.51.100.77", dst="10.9.9.9"))
                  for i, ag in enumerate(("agent-1", "agent-2"))])
    body = b.ok("/api/v1/outbreaks?kind=fingerprint", "viewer")
    assert body["members_truncated"] is False, body
    grp = [o for o in body["outbreaks"] if o["key"] == fp]
    assert len(grp) == 1, body
    m = grp[0]["members"]
    assert grp[0]["hosts_affected"] == 2, grp
    assert m["count"] == 1, m
    assert m["hosts"] == row["hosts"] and m["truncated"] is False, (m, row)
    assert m["first"] == {"peer": "member-a", "origin": "Member A SOC",
                          "first_received": row["first_received"][:23] +
                          "Z"}, (m, row)
    assert [(p["peer"], p["origin"], p["tlp"], p["state"])
            for p in m["peers"]] == \
        [("member-a", "Member A SOC", row["tlp"], row["state"])], m
    # an outbreak only peers saw is not invented: A's other fingerprints
    # are not B's outbreaks
    others = {r["value"] for r in fps[1:]}
    assert not others & {o["key"] for o in body["outbreaks"]}, body


def test_rule_outbreak_members(net):
    """B's own agents fire a content rule whose id A's shared rows list:
    B's rule outbreak of it names A as its one member (rows found through
    the rule id index, schema 9)."""
    b = net["b"]
    rows = [r for r in b.shared(kind="ipv4")
            if RULE_SID in r["rule_ids"] and r["state"] != "rejected"]
    assert len(rows) == 1, b.shared(kind="ipv4")
    row = rows[0]
    t = time.time() - 30
    send_rows(b, [(ag, record(ag, t + i, "TLP:GREEN", rule=RULE_SID,
                              src="10.9.9.9", dst="198.51.100.88",
                              direction="outbound"))
                  for i, ag in enumerate(("agent-1", "agent-2"))])
    body = b.ok("/api/v1/outbreaks?kind=rule", "viewer")
    grp = [o for o in body["outbreaks"] if o["key"] == RULE_SID]
    assert len(grp) == 1, body
    assert grp[0]["hosts_affected"] == 2, grp
    m = grp[0]["members"]
    assert m["count"] == 1 and m["truncated"] is False, m
    assert m["hosts"] == row["hosts"], (m, row)
    assert m["first"] == {"peer": "member-a", "origin": "Member A SOC",
                          "first_received": row["first_received"][:23] +
                          "Z"}, (m, row)
    assert [(p["peer"], p["tlp"], p["state"]) for p in m["peers"]] == \
        [("member-a", row["tlp"], row["state"])], m
    # a rule A never shared has no member
    send_rows(b, [(ag, record(ag, t + 5 + i, "TLP:GREEN",
                              rule="sid:2999999", src="10.9.9.9",
                              dst="198.51.100.89", direction="outbound"))
                  for i, ag in enumerate(("agent-1", "agent-2"))])
    body = b.ok("/api/v1/outbreaks?kind=rule", "viewer")
    grp = [o for o in body["outbreaks"] if o["key"] == "sid:2999999"]
    assert len(grp) == 1 and grp[0]["members"]["count"] == 0, body
    # B's agents never get an excerpt: B approves its AMBER fingerprint
    # row (the last test to decide anything here), and the bundle for its
    # agents carries the value, not the excerpt
    amber = [r for r in b.shared(kind="fingerprint") if r["excerpt"]]
    assert len(amber) == 1, b.shared(kind="fingerprint")
    st, r = b.call("POST", f"/api/v1/shared/{amber[0]['id']}/approve",
                   "responder")
    assert st == 200 and r["excerpt"] == amber[0]["excerpt"], r

    def carried():
        cur = b.ok("/api/v1/bundles", "viewer")["current"]
        if not cur:
            return None
        text = b.ok(f"/api/v1/bundles/{cur}", "viewer")["content"]
        return text if amber[0]["value"] in text else None
    assert wait_for(carried, timeout=20, step=0.5), \
        b.ok("/api/v1/bundles", "viewer")
    assert "worm-body" not in carried() and "GET /" not in carried()


# ------------------------------------------------------------ outage

def test_exchange_resumes_after_the_receiver_was_down(tmp_path):
    t_start = time.monotonic()
    with Lab(2) as lab:
        a = b = None
        try:
            a = Member(lab, 0, "member-a", tmp_path / "a",
                       agents=list(A_AGENTS), sharing=A_SHARING)
            b = Member(lab, 1, "member-b", tmp_path / "b")
            b.add_peer(a, "--auto-approve")
            a.add_peer(b, "--send-tlp", "amber")
            t0 = time.time() - 600
            first = seed_a(1, t0)
            send_rows(a, first.rows)
            ok, got = wait_values(b, first.allowed(2), timeout=30)
            assert ok, sorted(first.allowed(2) - got)
            before = a.peer("member-b")["sent"]["sequence"]
            b.stop()
            # more while B is down: new values, and old ones again
            second = seed_a(2, t0 + 60)
            repeat = [(ag, rec) for ag, rec in first.rows
                      if "c2-1-" in rec][:3]
            send_rows(a, second.rows + repeat)
            assert wait_for(lambda: a.peer("member-b")["sent"]["last_error"],
                            timeout=20, step=0.5), a.peer("member-b")
            p = a.peer("member-b")
            assert p["sent"]["sequence"] == before, p     # nothing moved
            time.sleep(2)                                  # a retry or two
            b.start()
            want = first.allowed(2) | second.allowed(2)
            ok, got = wait_values(b, want, timeout=30)
            assert ok, sorted(want - got)
            # settled: A has nothing more to say
            assert wait_for(lambda: a.peer("member-b")["sent"]["last_error"]
                            is None, timeout=20, step=0.5)
            time.sleep(2.5)
            rows, got = values_at(b)
            assert got == want, got ^ want
            counts = {}
            for r in rows:
                counts[r["value"]] = counts.get(r["value"], 0) + 1
            assert set(counts.values()) == {1}, \
                {v: n for v, n in counts.items() if n != 1}
            con = sqlite3.connect(f"file:{b.db}?mode=ro", uri=True)
            dup = con.execute("SELECT value, COUNT(*) FROM shared_indicators "
                              "GROUP BY peer, value HAVING COUNT(*) > 1"
                              ).fetchall()
            con.close()
            assert dup == [], dup
            assert all(r["state"] == "approved" for r in rows)  # auto
            pa_b, pb_a = a.peer("member-b"), b.peer("member-a")
            assert pb_a["received"]["sequence"] == \
                pa_b["sent"]["sequence"] - 1, (pa_b, pb_a)
            assert pa_b["sent"]["bundles"] == pb_a["received"]["bundles"]
            assert pa_b["sent"]["sequence"] > before
            assert counter(a, "peering_push_failures") >= 1
        finally:
            for m in (a, b):
                if m is not None and m.hub.proc.poll() is None:
                    m.stop()
    assert time.monotonic() - t_start < 60


# ------------------------------------------------------------ hostile

def stix_indicator(value_pattern, tlp="green", **extra):
    o = {"type": "indicator", "spec_version": "2.1",
         "id": f"indicator--{uuid.uuid4()}",
         "created": "2026-01-01T00:00:00.000Z",
         "modified": "2026-01-01T00:00:00.000Z",
         "name": "test", "indicator_types": ["malicious-activity"],
         "pattern": value_pattern, "pattern_type": "stix",
         "valid_from": "2026-01-01T00:00:00.000Z",
         "object_marking_refs": [MARKING[tlp]]}
    o.update(extra)
    return o


def bundle(seq, objects):
    ident = {"type": "identity", "spec_version": "2.1",
             "id": f"identity--{uuid.uuid4()}",
             "created": "2026-01-01T00:00:00.000Z",
             "modified": "2026-01-01T00:00:00.000Z",
             "name": "Member A SOC", "identity_class": "organization"}
    mark = {"type": "marking-definition", "spec_version": "2.1",
            "id": MARKING["green"], "created": "2022-10-01T00:00:00.000Z",
            "name": "TLP:GREEN",
            "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-"
                           "9e08dde9e88d": {"extension_type":
                                            "property-extension",
                                            "tlp_2_0": "green"}}}
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
            "x_picket_sequence": seq, "objects": [ident, mark, *objects]}


def post(sender, receiver, body, seq, path="/peer/v1/bundles"):
    """POST body to receiver's listener as sender (its hub certificate),
    from sender's namespace: (status, JSON or None).  The headers go
    first: a receiver that refuses on Content-Length answers before the
    body, and this client reads that answer instead of writing into a
    closed connection (a 413 sent by a peer that then closes)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(str(receiver.certs / "ca.crt"))
    ctx.load_cert_chain(str(sender.certs / "hub.crt"),
                        str(sender.certs / "hub.key"))
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {receiver.ip}:{PEER_PORT}\r\n"
            "Content-Type: application/stix+json;version=2.1\r\n"
            f"X-Picket-Sequence: {seq}\r\nX-Picket-Cursor: 1\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    with netns(sender.ns):
        raw = socket.create_connection((receiver.ip, PEER_PORT), timeout=20)
    with ctx.wrap_socket(raw, server_hostname=receiver.ip) as s:
        s.sendall(head.encode())
        if not select.select([s], [], [], 0.5)[0]:
            s.sendall(body)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ssl.SSLEOFError, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    status = int(status_line.split()[1])
    _, _, payload = rest.partition(b"\r\n\r\n")
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, None


def test_hostile_bundles_never_reach_the_shared_list(tmp_path):
    with Lab(2) as lab:
        a = b = None
        try:
            # A's hub only lends its certificates: it is not running, so
            # the sequence numbers below are this test's alone.
            a = Member(lab, 0, "member-a", tmp_path / "a")
            a.stop()
            b = Member(lab, 1, "member-b", tmp_path / "b",
                       peering={"max_bundle_bytes": "64k",
                                "max_bundle_objects": "100"})
            b.add_peer(a)
            seq = 1

            def wait_known():
                try:
                    st, _ = post(a, b, bundle(seq + 1000, []), seq + 1000)
                except (OSError, http.client.HTTPException):
                    return False        # B has not read its peers yet
                return st == 400        # past the handshake: a known peer
            assert wait_for(wait_known, timeout=15, step=0.5), \
                b.hub.stderr()[-2000:]

            # over max_bundle_bytes
            big = bundle(seq, [stix_indicator(
                f"[domain-name:value = 'big{i}.worm.example']",
                description="x" * 900) for i in range(80)])
            st, body = post(a, b, big, seq)
            assert st == 413, (st, body)
            # nesting deeper than 8
            deep = bundle(seq, [stix_indicator(
                "[domain-name:value = 'deep.worm.example']",
                x_deep=json.loads("[" * 20 + "1" + "]" * 20))])
            st, body = post(a, b, deep, seq)
            assert st == 400 and body["error"], (st, body)
            # not a bundle at all, objects not a list, no sequence
            bid = f"bundle--{uuid.uuid4()}"
            for bad, why in (
                    ({"type": "bundle", "id": bid, "objects": "many",
                      "x_picket_sequence": seq}, "objects"),
                    ({"type": "bundle", "id": bid, "objects": {},
                      "x_picket_sequence": seq}, "objects"),
                    ({"type": "report", "id": bid, "objects": [],
                      "x_picket_sequence": seq}, "bundle"),
                    ([1, 2, 3], "object"), ("bundle", "JSON"),
                    ({"type": "bundle", "id": bid, "objects": []},
                     "sequence"),
                    ({"type": "bundle", "id": bid, "objects": [],
                      "x_picket_sequence": "1"}, "sequence"),
                    ({"type": "bundle", "id": 17, "objects": [],
                      "x_picket_sequence": seq}, "id")):
                st, body = post(a, b, bad, seq)
                assert st == 400 and why in body["error"], (bad, st, body)
            st, body = post(a, b, b"{not json", seq)
            assert st == 400, (st, body)
            # wrong types inside objects: refused one by one, with reasons
            wrong = [stix_indicator(7),
                     stix_indicator("[domain-name:value = 'w1.worm.example']",
                                    pattern_type=["stix"]),
                     stix_indicator("[domain-name:value = 'w2.worm.example']",
                                    object_marking_refs="green"),
                     dict(stix_indicator(
                         "[domain-name:value = 'w3.worm.example']"), id=5),
                     {"type": "sighting", "id": f"sighting--{uuid.uuid4()}",
                      "count": "many", "sighting_of_ref": "indicator--x"}]
            st, body = post(a, b, bundle(seq, wrong), seq)
            if st == 200:
                assert body["accepted"] == 0, body
                assert len(body["refused"]) >= 4, body
                assert all(r["reason"] for r in body["refused"]), body
                seq += 1
            else:
                assert st == 400 and body["error"], (st, body)
            # patterns that match too much, and other refusals
            broad = ["[ipv4-addr:value = '0.0.0.0/0']",
                     "[ipv4-addr:value = '203.0.0.0/8']",
                     "[ipv6-addr:value = '2001::/16']",
                     "[domain-name:value = 'example']",
                     "[url:value = 'http:///nohost']",
                     "[file:hashes.'SHA-256' = 'abcd']",
                     "[x-picket-fingerprint:value = 'abc']",
                     "[domain-name:value = 'a.example'] OR "
                     "[domain-name:value = 'b.example']",
                     "[ipv4-addr:value != '203.0.113.1']"]
            objs = [stix_indicator(p) for p in broad]
            objs.append(stix_indicator(
                "[domain-name:value = 'red.worm.example']",
                object_marking_refs=["marking-definition--e828b379-4e03-"
                                     "4974-9ac4-e53a884c97c1"]))
            st, body = post(a, b, bundle(seq, objs), seq)
            assert st == 200, (st, body)
            assert body["accepted"] == 0 and body["sequence"] == seq, body
            reasons = {r["id"]: r["reason"] for r in body["refused"]}
            for o in objs:
                assert reasons.get(o["id"]), (o["pattern"], body)
            every = reasons[objs[0]["id"]]
            assert re.search(r"every|too (broad|wide|much)|match", every), \
                every
            seq += 1
            # a sequence that skips ahead
            ahead = bundle(seq + 3, [stix_indicator(
                "[domain-name:value = 'ahead.worm.example']")])
            st, body = post(a, b, ahead, seq + 3)
            assert st == 400 and body["error"], (st, body)
            # another path
            st, _ = post(a, b, bundle(seq, []), seq, path="/peer/v1/x")
            assert st == 404
            assert b.call("GET", "/api/v1/shared", "viewer")[1]["shared"] \
                == []
            # one honest bundle, and the same again: one row
            good = bundle(seq, [stix_indicator(
                "[domain-name:value = 'good.worm.example']")])
            st, body = post(a, b, good, seq)
            assert st == 200 and body["accepted"] == 1, (st, body)
            st, body = post(a, b, good, seq)
            assert st == 200 and body.get("duplicate") is True, (st, body)
            rows = b.shared()
            assert [r["value"] for r in rows] == ["good.worm.example"], rows
            assert rows[0]["tlp"] == "TLP:GREEN"
            assert rows[0]["origin"] == "Member A SOC"
            dump = b.dump()
            for v in ("big0.", "deep.", "w1.", "w2.", "w3.", "red.worm",
                      "ahead.", "0.0.0.0/0", "203.0.0.0"):
                assert v not in dump, v
            p = b.peer("member-a")
            assert p["received"]["sequence"] == seq, p
            assert p["received"]["refused"] >= len(objs), p
            k = b.hub.counters()
            assert k.get("peering_bundles_refused_in", 0) >= 8, k
            assert k.get("peering_bundles_duplicate", 0) >= 1, k
        finally:
            for m in (a, b):
                if m is not None and m.hub.proc.poll() is None:
                    m.stop()
