"""Shared indicators to detection, the hub's side (docs/peering.md, "From
shared indicators to detection"), against a real `picket-hub serve` with
hubproto as a protocol-2 agent: approved shared rows become bundle version
1, which a v2 agent that reports RUNNING 0 receives as CONFIG APPLY whose
inflated text parses and lists the approved values (the earliest peer's
row for a value two peers shared); its APPLIED shows in the hosts API; an
approval sends a new CONFIG on the open connection within seconds; a
rollback through the API (admin only, audited) sends CONFIG ROLLBACK; a
v1 session never gets CONFIG and an APPLIED there is ERROR TYPE; CONFIG
from an agent is ERROR STATE; an indicator with picket.shared.ref counts
as a match of its shared indicator.  The hub is PICKET_HUB."""
import json
import socket
import sqlite3
import subprocess
import time

import pytest

import hubproto as hp
from apiclient import HttpsApi
from hubrun import HUB, Hub, mkcerts_agents, send_batch

AGENTS = ["agent-1", "agent-2", "agent-3", "agent-4"]
FP = "3f2a00112233445566778899aabbccdd"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return mkcerts_agents(tmp_path_factory.mktemp("certs") / "pki", AGENTS)


def shared_row(db, peer, k, kind, value, received, state, rules="[]"):
    """A shared indicator as the peering receiver keeps it; its id."""
    with sqlite3.connect(db, timeout=10) as c:
        cur = c.execute(
            "INSERT INTO shared_indicators (peer, origin, stix_id, kind, "
            "value, rule_ids, tlp, first_received_us, last_received_us, "
            "state) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (peer, f"Member {peer}",
             f"indicator--00000000-0000-4000-8000-{k:012d}", kind, value,
             rules, received, received, state))
        return cur.lastrowid


@pytest.fixture(scope="module")
def env(tmp_path_factory, certs):
    tmp = tmp_path_factory.mktemp("bundles")
    h = Hub(tmp / "hub", certs, sections={"bundles": {
        "check_interval": "1s"}})
    tok = {r: h.token(r, f"{r}-1") for r in ("viewer", "responder",
                                                "admin")}
    db = h.data / "hub.db"
    now = int(time.time() * 1e6)
    ids = {
        # state-b stored first, state-a received first: state-a wins
        "b_dup": shared_row(db, "state-b", 1, "domain", "worm.example.org",
                            now, 1, '["sid:2001"]'),
        "a_dom": shared_row(db, "state-a", 2, "domain", "worm.example.org",
                            now - 10_000_000, 1),
        "a_fp": shared_row(db, "state-a", 3, "fingerprint", FP, now, 1),
        "pending": shared_row(db, "state-b", 4, "ipv4", "198.51.100.9",
                              now, 0),
    }
    api = HttpsApi(h, certs, timeout=20)
    yield {"hub": h, "api": api, "tok": tok, "ids": ids, "db": db}
    rc, k = h.stop()
    assert rc == 0


def get(env, path, role="viewer"):
    st, b = env["api"].json("GET", path, env["tok"][role])
    assert st == 200, b
    return b


def wait_current(env, want, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        b = get(env, "/api/v1/bundles")
        if b["current"] == want or time.monotonic() > deadline:
            assert b["current"] == want, b
            return b
        time.sleep(0.1)


def expect_config(c, timeout=5):
    """The next CONFIG, passing over heartbeats."""
    while True:
        f = c.recv_frame(timeout)
        assert f is not None, "hub closed the connection"
        if f.type == hp.HEARTBEAT:
            continue
        assert f.type == hp.CONFIG, (f.type, hp.decode(f))
        return hp.decode(f)


def entries(text):
    """{(kind, value): {field: value}} of a bundle text, checked for shape."""
    lines = text.decode().split("\n")
    assert lines[0] == "picket-bundle 1"
    assert lines[1].startswith("version ")
    assert lines[2].startswith("created ")
    n = int(lines[3].split()[1])
    assert lines[4 + n] == "end" and lines[5 + n:] == [""]
    out = {}
    for line in lines[4:4 + n]:
        kind, value, *kv = line.split(" ")
        out[(kind, value)] = dict(x.split("=", 1) for x in kv)
    return out


def v2_agent(env, agent, running=0, previous=0):
    c = env["hub"].conn(agent)
    w = c.hello(agent, host_name=f"host-{agent}",
                versions=(1, hp.PROTO_BUNDLES))
    assert w.version == hp.PROTO_BUNDLES
    c.send(hp.applied(running, previous, 0, hp.AO_RUNNING))
    return c


def host(env, agent):
    for h in get(env, "/api/v1/hosts")["hosts"]:
        if h["agent_id"] == agent:
            return h
    raise AssertionError(f"no host {agent}")


def wait_host_bundle(env, agent, running, outcome, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        b = host(env, agent)["bundle"]
        if (b is not None and b["running"] == running and
                b["outcome"] == outcome) or time.monotonic() > deadline:
            assert b is not None and b["running"] == running, b
            assert b["outcome"] == outcome, b
            return b
        time.sleep(0.05)


def test_apply_approve_rollback(env):
    ids = env["ids"]
    b = wait_current(env, 1)
    assert b["bundles"][0]["version"] == 1
    assert b["bundles"][0]["entries"] == 3   # domain, fingerprint, rule

    c = v2_agent(env, "agent-1")
    cf = expect_config(c)
    assert (cf.version, cf.op) == (1, hp.COP_APPLY)
    assert cf.flags == hp.FLAG_DEFLATE
    e = entries(cf.text)
    assert set(e) == {("domain", "worm.example.org"), ("fingerprint", FP),
                      ("rule", "sid:2001")}
    assert e[("domain", "worm.example.org")] == {
        "ref": str(ids["a_dom"]), "origin": "state-a", "tlp": "green"}
    assert e[("rule", "sid:2001")]["ref"] == str(ids["b_dup"])
    # the stored text is what went out
    one = get(env, "/api/v1/bundles/1")
    assert one["content"].encode() == cf.text
    assert sorted(one["members"]) == sorted([ids["a_dom"], ids["a_fp"],
                                             ids["b_dup"]])

    c.send(hp.applied(1, 0, 1, hp.AO_APPLIED))
    wait_host_bundle(env, "agent-1", 1, "applied")
    assert wait_current(env, 1)["bundles"][0]["hosts_running"] == 1

    # an approval goes out on the open connection within seconds
    t0 = time.monotonic()
    st, r = env["api"].json("POST", f"/api/v1/shared/{ids['pending']}"
                            "/approve", env["tok"]["responder"])
    assert st == 200, r
    cf = expect_config(c, timeout=5)
    took = time.monotonic() - t0
    print(f"approve -> CONFIG on the open connection: {took * 1000:.0f} ms")
    assert took < 3.0, took
    assert (cf.version, cf.op) == (2, hp.COP_APPLY)
    assert ("ipv4", "198.51.100.9") in entries(cf.text)
    c.send(hp.applied(2, 1, 2, hp.AO_APPLIED))
    wait_host_bundle(env, "agent-1", 2, "applied")

    # rollback: admin only, audited, the agent goes back to what it kept
    st, r = env["api"].json("POST", "/api/v1/bundles/rollback",
                            env["tok"]["responder"])
    assert st == 403, r
    st, r = env["api"].json("POST", "/api/v1/bundles/rollback",
                            env["tok"]["admin"])
    assert st == 200, r
    assert r == {"withdrawn": 2, "current": 1}
    cf = expect_config(c)
    assert (cf.version, cf.op, cf.text) == (1, hp.COP_ROLLBACK, None)
    c.send(hp.applied(1, 0, 1, hp.AO_ROLLED_BACK))
    wait_host_bundle(env, "agent-1", 1, "rolled_back")
    b = get(env, "/api/v1/bundles")
    assert b["current"] == 1
    assert b["bundles"][0]["withdrawn"] is True
    assert b["bundles"][0]["withdrawn_by"] == "admin-1"
    audit = get(env, "/api/v1/audit", "admin")
    assert any(a["action"] == "bundle.rollback" and
               a["target"] == "bundle/2" for a in audit["audit"]), audit
    # the withdrawn content is not issued again by the next checks
    time.sleep(2.5)
    assert get(env, "/api/v1/bundles")["current"] == 1

    # a new agent that kept version 1 as previous is told to roll back,
    # one that runs nothing gets version 1
    c3 = v2_agent(env, "agent-3", running=2, previous=1)
    cf = expect_config(c3)
    assert (cf.version, cf.op) == (1, hp.COP_ROLLBACK)
    c3.close()
    c.close()


def test_refused_is_not_offered_again_in_the_session(env):
    wait_current(env, 1)
    c = v2_agent(env, "agent-4")
    cf = expect_config(c)
    assert cf.op == hp.COP_APPLY
    c.send(hp.applied(0, 0, cf.version, hp.AO_REFUSED, "line 5: test"))
    with pytest.raises(socket.timeout):
        expect_config(c, timeout=2)
    b = wait_host_bundle(env, "agent-4", 0, "refused")
    assert b["reason"] == "line 5: test"
    c.close()


def test_v1_session_never_gets_config(env):
    wait_current(env, 1)
    c, w = env["hub"].agent("agent-2")
    assert w.version == 1
    with pytest.raises(socket.timeout):
        while True:
            f = c.recv_frame(2)
            assert f is not None and f.type == hp.HEARTBEAT, f
    c.send(hp.applied(0, 0, 0, hp.AO_RUNNING))
    err = c.expect_error_and_close()
    assert err.code == hp.E_TYPE, err
    c.close()


def test_config_from_an_agent_is_state(env):
    c = v2_agent(env, "agent-2")
    expect_config(c)
    c.send(hp.config(1, hp.COP_ROLLBACK))
    err = c.expect_error_and_close()
    assert err.code == hp.E_STATE, err
    c.close()


def test_unexpected_applied_is_state(env):
    c = v2_agent(env, "agent-2")
    expect_config(c)
    c.send(hp.applied(0, 0, 0, hp.AO_RUNNING))     # a second RUNNING
    err = c.expect_error_and_close()
    assert err.code == hp.E_STATE, err
    c.close()


def match_record(ref):
    return json.dumps({
        "@timestamp": "2026-01-02T10:00:00Z",
        "event": {"kind": "alert", "severity": 70, "module": "picket"},
        "rule": {"id": "picket.ioc.domain", "name": "IOC domain",
                 "ruleset": "picket"},
        "network": {"direction": "outbound"},
        "picket": {"fingerprint": "00112233445566778899aabbccddeeff",
                   "first_seen": "2026-01-02T10:00:00Z",
                   "last_seen": "2026-01-02T10:00:00Z", "count": 1,
                   "shared": {"ref": ref, "origin": "state-a",
                              "tlp": "green", "bundle": 1,
                              "kind": "domain",
                              "value": "worm.example.org"}}},
        separators=(",", ":"))


def test_match_counts_for_the_shared_indicator(env):
    ids = env["ids"]
    c, w = env["hub"].agent("agent-3")
    send_batch(c, w.stored_seq + 1, [match_record(ids["a_dom"]),
                                      match_record("not-a-number")])
    c.close()
    s = get(env, f"/api/v1/shared/{ids['a_dom']}")
    assert s["matches"]["count"] == 1, s
    assert s["matches"]["hosts"] == 1
    assert s["matches"]["first"].startswith("2026-01-02T10:00:00")
    assert [m["agent_id"] for m in s["matched"]] == ["agent-3"]
    assert s["reach"]["first_bundle"] == 1
    assert s["reach"]["hosts"] >= 1
    assert "agent-1" in [h["agent_id"] for h in s["reach_hosts"]]
    # the list carries the same two objects
    rows = {r["id"]: r for r in get(env, "/api/v1/shared")["shared"]}
    assert rows[ids["a_dom"]]["matches"]["count"] == 1
    assert rows[ids["pending"]]["reach"]["first_bundle"] == 2
    assert rows[ids["b_dup"]]["matches"]["count"] == 0
    st, b = env["api"].json("GET", "/api/v1/shared/999999",
                            env["tok"]["viewer"])
    assert st == 404, b


def test_cli(env):
    ini = str(env["hub"].ini)
    p = subprocess.run([str(HUB), "bundle", "list", "--json", "-c", ini],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    assert [r["version"] for r in rows][:2] == [2, 1]
    assert rows[0]["withdrawn"] is True
    p = subprocess.run([str(HUB), "bundle", "show", "1", "--db",
                        str(env["db"])], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout == get(env, "/api/v1/bundles/1")["content"].encode()
    p = subprocess.run([str(HUB), "bundle", "show", "77", "-c", ini],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "no bundle 77" in p.stderr

    # a rollback from the command line (another process): the running hub
    # picks it up at its next check and an agent at v1 that keeps nothing
    # is told to run none
    c = v2_agent(env, "agent-1", running=1, previous=0)
    with pytest.raises(socket.timeout):
        expect_config(c, timeout=1.5)       # at the current version
    p = subprocess.run([str(HUB), "bundle", "rollback", "-c", ini],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "withdrew version 1" in p.stdout
    cf = expect_config(c, timeout=5)
    assert (cf.version, cf.op) == (0, hp.COP_ROLLBACK)
    c.send(hp.applied(0, 0, 0, hp.AO_ROLLED_BACK))
    wait_host_bundle(env, "agent-1", 0, "rolled_back")
    assert get(env, "/api/v1/bundles")["current"] is None
    audit = get(env, "/api/v1/audit", "admin")["audit"]
    assert any(a["action"] == "bundle.rollback" and a["actor"] == "cli" and
               a["target"] == "bundle/1" for a in audit), audit
    p = subprocess.run([str(HUB), "bundle", "rollback", "-c", ini],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "no bundle to roll back" in p.stderr
    c.close()


def test_counters(env):
    k = env["hub"].counters()
    assert k["configs_sent"] >= 6
    assert k["applied"] >= 2
    assert k["rolled_back"] >= 1
    assert k["refused"] >= 1
    assert k["bundle_too_big"] == 0
    assert k["ingest_shared_ref_bad"] >= 1
