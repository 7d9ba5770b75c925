"""Peering smoke test (docs/peering.md, hub/peering.c) on loopback.

Two real `picket-hub serve` processes, members A and B, each with its own
CA from packaging/mkcerts.sh and a [peering] listener on 127.0.0.1, each
pinning the other's CA with `picket-hub peer add`.  One indicator goes
into A through hubproto as one of A's agents and reaches B's
shared_indicators, with A as its origin.  Then B stops, A gets a second
indicator and fails to push it (its peer row says why), B starts again on
the same data and port, and the second indicator arrives once: B's last
received sequence is A's next one minus one, and nothing is stored twice.
A client whose certificate no peer's CA issued is refused at the
handshake and counted.  The namespace suite is test_peering.py; this one
needs no root and runs in seconds."""
import json
import socket
import sqlite3
import ssl
import subprocess
import time
import uuid

import pytest

from hubrun import HUB, Hub, free_port, mkcerts

PUSH = "1s"


def iso(t):
    us = int(round(t * 1e6))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 10**6)) + \
        ".%06dZ" % (us % 10**6)


def ioc_record(agent, domain, tlp="TLP:GREEN"):
    """An IOC match of a domain, as picketd reports it (docs/schema.md)."""
    t = time.time()
    return json.dumps({
        "@timestamp": iso(t),
        "event": {"kind": "alert", "category": ["network"],
                  "type": ["indicator"], "module": "network",
                  "dataset": "picket.test", "severity": 73},
        "host": {"id": agent, "name": "ws-smoke"},
        "agent": {"id": agent, "type": "picketd", "version": "0.1.0"},
        "rule": {"id": "picket.ioc.domain", "name": "Listed domain",
                 "ruleset": "picket-test"},
        "message": f"lookup of {domain}",
        "network": {"transport": "udp", "direction": "outbound"},
        "threat": {"indicator": {"type": "domain-name", "name": domain}},
        "picket": {"seq": 1, "count": 1, "first_seen": iso(t),
                   "last_seen": iso(t), "fingerprint": uuid.uuid4().hex,
                   "tlp": tlp},
    }, separators=(",", ":"))


def cli(hub, *args):
    proc = subprocess.run([str(HUB), "peer", *args, "-c", str(hub.ini)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def peer_row(hub, name):
    return json.loads(cli(hub, "show", name, "--json"))


def shared(hub):
    con = sqlite3.connect(f"file:{hub.data / 'hub.db'}?mode=ro", uri=True,
                          timeout=30)
    try:
        return con.execute("SELECT peer, value, kind, origin, state "
                           "FROM shared_indicators ORDER BY id").fetchall()
    finally:
        con.close()


def wait(pred, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def send(hub, agent, records):
    c, w = hub.agent(agent, host_name="ws-smoke")
    try:
        c.send_batch(w.stored_seq + 1, records)
    finally:
        c.close()


@pytest.fixture()
def members(tmp_path):
    ca = {m: mkcerts(tmp_path / f"certs-{m}", "-t") for m in "AB"}
    ports = {m: free_port() for m in "AB"}
    hubs = {}

    def start(m):
        hubs[m] = Hub(tmp_path / m, ca[m], api_port=0, name=f"hub-{m}",
                      peering={"listen": f"127.0.0.1:{ports[m]}",
                               "push_interval": PUSH})
        return hubs[m]

    start("A")
    start("B")
    cli(hubs["A"], "add", "B", "--url", f"https://127.0.0.1:{ports['B']}",
        "--ca", str(ca["B"] / "ca.crt"))
    cli(hubs["B"], "add", "A", "--url", f"https://127.0.0.1:{ports['A']}",
        "--ca", str(ca["A"] / "ca.crt"), "--auto-approve")
    yield hubs, start, ca, ports
    for h in hubs.values():
        if h.proc.poll() is None:
            h.stop()


def test_push_resume_and_refusal(members):
    hubs, start, ca, ports = members
    a, b = hubs["A"], hubs["B"]
    send(a, "agent-1", [ioc_record("agent-1", "worm-c2.example.net")])
    rows = wait(lambda: shared(b), what="B to store A's indicator")
    # --auto-approve: approved (1) at once; the origin is A's identity.
    assert rows == [("A", "worm-c2.example.net", "domain", "hub-A", 1)], \
        rows

    # B goes away; A's next push fails and says so, and backs off.
    # (A may have failed before: B pins A's CA a moment after A pins B's.)
    failed = a.counters()["peering_push_failures"]
    b.stop()
    send(a, "agent-1", [ioc_record("agent-1", "second.example.org")])
    wait(lambda: a.counters()["peering_push_failures"] > failed,
         what="A to fail pushing to a stopped B")
    assert peer_row(a, "B")["sent"]["last_error"], peer_row(a, "B")

    # B is back on the same data: the second value arrives, once.
    b = start("B")
    wait(lambda: len(shared(b)) == 2, what="the second indicator at B")
    vals = [r[1] for r in shared(b)]
    assert vals == ["worm-c2.example.net", "second.example.org"], vals
    wait(lambda: peer_row(a, "B")["sent"]["last_error"] == "",
         what="A's error to clear")
    sent = peer_row(a, "B")["sent"]
    got = peer_row(b, "A")["received"]
    assert got["sequence"] == sent["sequence"] - 1, (sent, got)
    assert got["indicators"] == 2, got

    # A hub certificate of an unrelated CA: refused at the handshake.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca["B"] / "ca.crt")
    ctx.load_cert_chain(ca["A"] / "other-hub.crt", ca["A"] / "other-hub.key")
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        with socket.create_connection(("127.0.0.1", ports["B"]), 5) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                t.sendall(b"POST /peer/v1/bundles HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 2\r\n\r\n{}")
                if not t.recv(100):
                    raise ConnectionError("closed")
    k = wait(lambda: (lambda c: c if c.get("peering_handshakes_refused", 0)
                      >= 1 else None)(b.counters()),
             what="B to count the refused handshake")
    assert k["peering_bundles_received"] >= 1, k
    assert "handshake refused" in b.stderr()
    assert len(shared(b)) == 2


def held(port):
    """A connection the peering listener keeps open (it waits for our
    ClientHello), or None when it closed it at once."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(1.0)
    try:
        if s.recv(1) == b"":
            s.close()
            return None
    except socket.timeout:
        return s
    except OSError:
        s.close()
        return None
    s.close()
    pytest.fail("the listener spoke first")


def test_listener_connection_cap(tmp_path):
    """[peering] max_connections (hub/conncap.c): two idle connections fill
    the listener, the third is closed at once, before TLS, counted and
    logged once; when one goes the listener takes connections again."""
    ca = mkcerts(tmp_path / "certs", "-t")
    port = free_port()
    hub = Hub(tmp_path / "hub", ca, api_port=0, name="hub-cap",
              peering={"listen": f"127.0.0.1:{port}", "push_interval": PUSH,
                       "max_connections": "2"})
    idle = []
    try:
        idle = [held(port), held(port)]
        assert None not in idle, idle
        assert held(port) is None
        k = hub.counters()
        assert k["peering_connections"] == 2, k
        assert k["peering_connections_refused"] == 1, k
        idle.pop().close()
        tries = 1                   # refusals until the hub saw the close
        deadline = time.monotonic() + 10
        while (c := held(port)) is None:
            assert time.monotonic() < deadline, "never accepted again"
            tries += 1
        idle.append(c)
        k = hub.counters()
        assert k["peering_connections"] == 2, k
        assert k["peering_connections_refused"] == tries, k
        assert k["peering_accept_errors"] == 0, k
    finally:
        for c in idle:
            if c is not None:
                c.close()
        hub.stop()
    # Logged once, not once per refusal (at most a line a minute).
    assert hub.stderr().count("[peering] max_connections reached") == 1, \
        hub.stderr()
