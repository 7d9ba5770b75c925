"""picket-hub serve: the agent listener (hub/listener.c) against the
protocol contract (docs/protocol.md), driven over real TLS by hubproto.py.

Each test starts the real build/picket-hub (PICKET_HUB overrides, e.g. an
ASan build) on 127.0.0.1 and a free port, with certificates from
packaging/mkcerts.sh -t, and reads its counters ("name value" lines on
stderr, after SIGUSR1 and at exit).  Covered: HELLO -> WELCOME -> BATCH ->
ACK with real picketd indicators stored exactly once; resume from
stored_seq; every TLS refusal and every malformed or out-of-place frame
closing only that connection while a healthy agent keeps being served;
handshake and silence timeouts; the newer connection of an agent winning;
max_connections; max_inflight enforced (ERROR LIMIT) and pipelined batches
sharing group commits; SIGTERM sending ERROR SHUTDOWN and exiting 0."""
import http.client
import json
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import time

import pytest

import hubproto as hp
from conftest import PCAPS, REPO, analyse
from hubrun import HUB, SANITIZER_MARKS, Hub, mkcerts, parse_counters


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return mkcerts(tmp_path_factory.mktemp("certs") / "pki", "-t", "-a",
                   "agent-1", "-a", "agent-2")


@pytest.fixture(scope="module")
def lines():
    """Indicator lines exactly as picketd -r prints them."""
    _, _, proc = analyse(PCAPS / "nmap_synscan.pcap")
    out = proc.stdout.splitlines()
    assert len(out) >= 1
    return out


@pytest.fixture
def hub(tmp_path, certs):
    hubs = []

    def start(**opts):
        d = tmp_path / f"hub{len(hubs)}"
        d.mkdir()
        h = Hub(d, certs, **opts)
        hubs.append(h)
        return h

    yield start
    for h in hubs:
        if h.proc.poll() is None:
            rc, _ = h.stop()
            assert rc == 0, h.stderr()


# ------------------------------------------------------------ the good path

def test_hello_batch_ack_exactly_once_and_resume(hub, lines):
    h = hub(max_frame=65536, max_batch_records=5000, max_inflight=4)
    c, w = h.agent("agent-1", dicts=0xFFFFFFFF, next_seq=1)
    assert w.version == 1
    assert w.stored_seq == 0
    assert w.heartbeat_s == 30
    assert w.max_frame == 65536
    assert w.max_batch_records == 5000
    assert w.max_batch_bytes == 8 * 1024 * 1024
    assert w.max_inflight == 4
    assert w.hub_id == "test-hub"
    assert w.dicts == 1 << 1            # the hub knows dictionary 1 only
    assert abs(w.server_time_us / 1e6 - time.time()) < 60

    half = len(lines) // 2 or 1
    first, rest = lines[:half], lines[half:]
    assert c.send_batch(1, first) == len(first)
    if rest:                            # a deflated one too
        assert c.send_batch(len(first) + 1, rest, deflate=True) == len(lines)
    # The same batch again (a lost ACK): ACKed, stored once, and the
    # ACK never moves backwards.
    assert c.send_batch(1, first) == len(lines)
    c.send(hp.heartbeat())
    c.close()

    stored = h.indicators()
    assert sorted(stored) == sorted(lines)
    assert h.indicators("--host", "agent-1") == stored
    assert h.indicators("--host", "test-host") == stored
    # `indicators -c hub.ini` finds the same store through the config.
    proc = subprocess.run([str(HUB), "indicators", "-c", str(h.ini),
                           "--json"], capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.splitlines() == stored

    # Reconnect: WELCOME says where to resume.
    c, w = h.agent("agent-1", next_seq=len(lines) + 1)
    assert w.stored_seq == len(lines)
    assert w.dicts == 0                 # offered none
    c.close()

    rc, k = h.stop()
    assert rc == 0
    assert k["welcomes"] == 2
    assert k["batches"] == k["acks"] == (3 if rest else 2)
    assert k["ingest_stored"] == len(lines)
    assert k["ingest_duplicates"] == len(first)
    assert k["heartbeats_in"] == 1
    assert k["handshake_failures"] == 0
    assert k["active"] == 0
    assert sum(v for n, v in k.items() if n.startswith("closed_by_error_")
               and n != "closed_by_error_shutdown") == 0


def test_pipelined_batches_all_acked_in_order(hub, lines):
    # 40 BATCH frames before any ACK: within max_inflight (the hub
    # enforces it, see test_max_inflight_enforced).
    h = hub(max_inflight=64)
    c, w = h.agent("agent-2")
    n = 40
    c.send(b"".join(hp.batch(1 + i, [lines[i % len(lines)]])
                    for i in range(n)))
    acks = [c.expect(hp.ACK).seq for _ in range(n)]
    assert acks == list(range(1, n + 1))
    # One frame dribbled a byte per TLS record: the decoder is incremental.
    for b in hp.batch(n + 1, [lines[0]]):
        c.send(bytes([b]))
    assert c.expect(hp.ACK).seq == n + 1
    assert len(h.indicators()) == n + 1
    # Group commit: the pipelined batches shared commits (one per loop
    # turn), and every batch was counted once it was ACKed.
    k = h.counters()
    assert k["batches"] == k["acks"] == n + 1
    assert 1 <= k["group_commits"] < n
    assert k["group_max"] >= 2


def test_max_inflight_enforced(hub, lines):
    """An agent may have max_inflight BATCH frames unACKed; one more is
    ERROR LIMIT and a close.  The batches before it are stored and
    ACKed; another agent is not disturbed."""
    h = hub(max_inflight=2)
    good, _ = h.agent("agent-2")
    c, w = h.agent("agent-1")
    assert w.max_inflight == 2
    # Keeping the rule: two at once, then wait for their ACKs.
    c.send(hp.batch(1, [lines[0]]) + hp.batch(2, [lines[0]]))
    assert [c.expect(hp.ACK).seq for _ in range(2)] == [1, 2]
    # Breaking it: three at once (one TLS record, one read).
    c.send(b"".join(hp.batch(s, [lines[0]]) for s in (3, 4, 5)))
    assert [c.expect(hp.ACK).seq for _ in range(2)] == [3, 4]
    err = c.expect_error_and_close()
    assert err.code == hp.E_LIMIT
    assert "max_inflight" in err.message
    c.close()
    assert good.send_batch(1, [lines[0]]) == 1
    k = h.counters()
    assert k["inflight_exceeded"] == 1
    assert k["closed_by_error_limit"] == 1
    assert k["batches"] == 5            # 1..4 of agent-1, 1 of agent-2
    good.close()
    # Batch 5 was refused whole: the agent resends it after reconnecting.
    c, w = h.agent("agent-1")
    assert w.stored_seq == 4
    c.close()


def test_many_connections_each_judged_alone(hub, lines):
    h = hub()
    good, _ = h.agent("agent-2")
    conns = [h.conn("agent-1") for _ in range(100)]
    assert good.send_batch(1, [lines[0]]) == 1
    for c in conns:
        c.send(hp.heartbeat())          # before HELLO: ERROR STATE
    for c in conns:
        assert c.expect_error_and_close().code == hp.E_STATE
        c.close()
    assert good.send_batch(2, [lines[0]]) == 2
    k = h.counters()
    assert k["closed_by_error_state"] == 100
    assert k["accepted"] == 101
    assert k["active"] == 1


# ------------------------------------------------------------ refusals

def healthy_roundtrip(c, seq, line):
    """The healthy agent is still served: a batch is stored and ACKed."""
    assert c.send_batch(seq, [line]) == seq


def test_tls_refusals_keep_others_served(hub, certs, lines):
    h = hub()
    good, _ = h.agent("agent-2")
    ca = certs / "ca.crt"
    cases = {
        "other CA": (hp.client_context(ca, certs / "other-agent.crt",
                                       certs / "other-agent.key"),
                     "unable to get local issuer certificate"),
        "expired": (hp.client_context(ca, certs / "expired.crt",
                                      certs / "expired.key"),
                    "certificate has expired"),
        "revoked": (hp.client_context(ca, certs / "revoked.crt",
                                      certs / "revoked.key"),
                    "certificate revoked"),
        "no certificate": (hp.client_context(ca), "no client certificate"),
        "no ALPN": (h.ctx("agent-1", alpn=()), "no ALPN"),
    }
    seq = 1
    for name, (ctx, reason) in cases.items():
        try:
            c = h.conn(ctx=ctx)
        except (ssl.SSLError, ConnectionError):
            pass                # refused inside the client's handshake
        else:
            # TLS 1.3: the client finishes first and learns on read.
            try:
                c.send(hp.hello("agent-1"))
            except (ssl.SSLError, ConnectionError):
                pass
            assert c.recv_frame() is None, name
            c.close()
        healthy_roundtrip(good, seq, lines[0])
        seq += 1
        assert reason in h.stderr(), (name, h.stderr())
    k = h.counters()
    assert k["handshake_failures"] == len(cases)
    assert k["welcomes"] == 1
    assert k["batches"] == len(cases)
    assert k["active"] == 1
    good.close()
    # Only the healthy agent's records were stored.
    assert len(h.indicators("--host", "agent-2")) == len(cases)
    assert len(h.indicators()) == len(cases)


def test_hello_identity_must_match_certificate(hub):
    h = hub()
    c = h.conn("agent-1")
    c.send(hp.hello("agent-2"))
    err = c.expect_error_and_close()
    assert err.code == hp.E_AUTH
    assert "agent-2" in err.message
    k = h.counters()
    assert k["auth_failures"] == 1
    assert k["closed_by_error_auth"] == 1
    assert k["welcomes"] == 0


def big_header(length, ftype=hp.BATCH):
    return hp.HDR.pack(length, ftype, 0)


# (name, send HELLO first?, bytes, expected ERROR code)
MALFORMED = [
    ("garbage before HELLO", False, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
     hp.E_TOOLARGE),
    ("garbage after HELLO", True, b"\x00\x00\x00\x04\x00\x00junk",
     hp.E_TYPE),
    ("length over max_frame", True, big_header(65537), hp.E_TOOLARGE),
    ("length over 1 MiB", True, big_header(16 * 1024 * 1024),
     hp.E_TOOLARGE),
    ("oversized before HELLO", False, big_header(2 * 1024 * 1024, 200),
     hp.E_TOOLARGE),
    ("unknown type", True, hp.frame(42, b"abc"), hp.E_TYPE),
    ("unknown type before HELLO", False, hp.frame(77), hp.E_TYPE),
    # RESULT is targeted collection's (docs/tasks.md): a short one is
    # malformed; TASK is the hub's own; CONFIG is the hub's too (bundles,
    # protocol 2): a well-formed one from an agent is in the wrong
    # direction.
    ("short RESULT", True, hp.frame(hp.RESULT, b"x"), hp.E_PROTOCOL),
    ("TASK from the agent", True, hp.frame(hp.TASK, bytes(17)), hp.E_TYPE),
    ("CONFIG from the agent", True, hp.config(1, hp.COP_ROLLBACK),
     hp.E_STATE),
    ("ACK from the agent", True, hp.ack(5), hp.E_STATE),
    ("WELCOME from the agent", True, hp.frame(hp.WELCOME, bytes(48)),
     hp.E_STATE),
    ("second HELLO", True, hp.hello("agent-1"), hp.E_STATE),
    ("BATCH before HELLO", False, hp.batch(1, ['{"a":1}']), hp.E_STATE),
    ("big BATCH before HELLO", False,
     hp.batch(1, ['{"a":"' + "x" * 2000 + '"}']), hp.E_STATE),
    ("HEARTBEAT before HELLO", False, hp.heartbeat(), hp.E_STATE),
    ("HEARTBEAT of 9 bytes", True, hp.frame(hp.HEARTBEAT, bytes(9)),
     hp.E_PROTOCOL),
    ("flags on HELLO", False, hp.hello("agent-1", flags=0x80),
     hp.E_PROTOCOL),
    ("HELLO ver_min 0", False, hp.hello("agent-1", ver_min=0),
     hp.E_PROTOCOL),
    ("HELLO oldest past next", False,
     hp.hello("agent-1", next_seq=5, oldest_seq=6), hp.E_PROTOCOL),
    ("HELLO versions 3..4", False, hp.hello("agent-1", ver_min=3,
                                            ver_max=4), hp.E_VERSION),
    ("BATCH count mismatch", True,
     hp.batch(1, ['{"a":1}', '{"b":2}'], count=1), hp.E_BATCH),
    ("BATCH corrupt deflate", True,
     hp.batch(1, ['{"a":1}'], data=b"not zlib", flags=hp.FLAG_DEFLATE),
     hp.E_BATCH),
    ("BATCH over max_batch_records", True,
     hp.batch(1, ['{}'] * 101), hp.E_LIMIT),
    ("BATCH plain length mismatch", True,
     hp.batch(1, ['{"a":1}'], raw_len=100), hp.E_PROTOCOL),
]


def test_malformed_frames_close_only_that_connection(hub, lines):
    h = hub(max_frame=65536, max_batch_records=100)
    good, _ = h.agent("agent-2")
    want = {}
    for seq, (name, hello_first, data, code) in enumerate(MALFORMED, 1):
        c = h.conn("agent-1")
        if hello_first:
            c.hello("agent-1")
        c.send(data)
        err = c.expect_error_and_close()
        assert err.code == code, (name, err)
        c.close()
        want[code] = want.get(code, 0) + 1
        healthy_roundtrip(good, seq, lines[0])
    k = h.counters()
    for code, n in want.items():
        assert k["closed_by_error_" + hp.ERROR_NAMES[code]] == n, code
    assert k["version_failures"] == 1
    assert k["active"] == 1
    assert k["batches"] == len(MALFORMED)
    good.close()


def test_agent_error_and_truncated_frame(hub):
    h = hub()
    c, _ = h.agent("agent-1")
    c.send(hp.error(hp.E_INTERNAL, "spool broken"))
    c.expect_closed()
    c.close()
    c, _ = h.agent("agent-1")
    c.send(hp.batch(1, ['{"a":1}'])[:10])   # half a frame, then close
    time.sleep(0.1)
    c.close()
    k = h.wait_counter("truncated", 1)
    assert k["peer_errors"] == 1
    assert k["truncated"] == 1
    assert "spool broken" in h.stderr()


# ------------------------------------------------------------ timeouts

def test_handshake_and_hello_timeouts(hub):
    h = hub(handshake_timeout=1)
    t0 = time.monotonic()
    tcp = socket.create_connection((h.host, h.port), timeout=10)
    c = h.conn("agent-1")               # TLS up, never says HELLO
    err = c.expect_error_and_close(timeout=10)
    assert err.code == hp.E_TIMEOUT
    assert tcp.recv(100) == b""         # no TLS at all: just closed
    took = time.monotonic() - t0
    assert 0.8 < took < 5, took
    tcp.close()
    k = h.counters()
    assert k["timeouts"] == 2
    assert k["closed_by_error_timeout"] == 1


def test_heartbeats_and_silence_timeout(hub):
    h = hub(heartbeat=1)
    quiet, w = h.agent("agent-1")
    assert w.heartbeat_s == 1
    chatty, _ = h.agent("agent-2")
    t0 = time.monotonic()
    beats = 0
    # The chatty agent sends a heartbeat every 0.5 s; the quiet one sends
    # nothing and must be closed after 3 x heartbeat, heartbeats before.
    while True:
        chatty.send(hp.heartbeat())
        try:
            f = quiet.recv_frame(timeout=0.5)
        except socket.timeout:
            continue
        if f is None or f.type != hp.HEARTBEAT:
            break
        beats += 1
    took = time.monotonic() - t0
    assert f is not None and f.type == hp.ERROR
    assert hp.decode(f).code == hp.E_TIMEOUT
    assert quiet.recv_frame() is None
    assert 2.5 < took < 6, took
    assert beats >= 2
    # The chatty one heard heartbeats too and is still served.
    got = []
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        chatty.send(hp.heartbeat())
        try:
            f = chatty.recv_frame(timeout=0.5)
        except socket.timeout:
            continue
        assert f is not None
        got.append(f.type)
    assert got and set(got) == {hp.HEARTBEAT}
    k = h.counters()
    assert k["timeouts"] == 1
    assert k["active"] == 1
    assert k["heartbeats_out"] >= 4


# ------------------------------------------------------------ connections

def test_newer_connection_of_an_agent_wins(hub, lines):
    h = hub()
    old, _ = h.agent("agent-1")
    new, _ = h.agent("agent-1")
    assert old.recv_frame() is None     # closed by the hub
    assert new.send_batch(1, [lines[0]]) == 1
    k = h.counters()
    assert k["replaced"] == 1
    assert k["active"] == 1
    assert "older connection" in h.stderr()


def test_max_connections(hub):
    h = hub(max_connections=2)
    a, _ = h.agent("agent-1")
    b, _ = h.agent("agent-2")
    refused = 0
    try:
        c = h.conn("agent-1")
        c.send(hp.hello("agent-1"))
        refused = c.recv_frame() is None
    except (ssl.SSLError, ConnectionError):
        refused = True
    assert refused
    k = h.counters()
    assert k["refused_limit"] == 1
    assert k["active"] == 2
    assert "max_connections" in h.stderr()
    a.close()
    b.close()


def test_ipv6_listen(hub, lines):
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    h = hub(host="::1")
    c = h.conn("agent-1", server_hostname="localhost")
    c.hello("agent-1")
    assert c.send_batch(1, [lines[0]]) == 1
    assert f"[::1]:{h.port}" in h.stderr()


def test_sigterm_sends_shutdown_and_exits_0(hub):
    h = hub()
    c, _ = h.agent("agent-1")
    hs = socket.create_connection((h.host, h.port))   # mid-handshake
    h.wait_counter("accepted", 2)
    h.proc.send_signal(signal.SIGTERM)
    err = c.expect_error_and_close(timeout=10)
    assert err.code == hp.E_SHUTDOWN
    rc, k = h.stop()
    assert rc == 0
    assert k["closed_by_error_shutdown"] == 1
    assert k["active"] == 0
    hs.close()


def test_serve_config_errors(tmp_path, certs):
    ini = tmp_path / "hub.ini"
    data = tmp_path / "data"
    ini.write_text(f"[hub]\ndata_dir = {data}\nlisten = 127.0.0.1:1\n")
    proc = subprocess.run([str(HUB), "serve", "-c", str(ini)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "[tls] ca, cert and key are required" in proc.stderr
    assert (data / "hub.db").exists()   # the store was opened first
    ini.write_text("[hub]\nheartbeat = 0\nmax_frame = 100\nbogus = 1\n")
    proc = subprocess.run([str(HUB), "serve", "-c", str(ini)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    for word in ("heartbeat", "max_frame", "bogus"):
        assert word in proc.stderr


def test_cloned_identity_is_reported(hub):
    """One certificate used by two machines: each connection makes the
    other's stale, so the agent keeps coming back from two addresses.  One
    move (a laptop changing networks) is not reported; the third flip
    within ten minutes is, in the log, the counters and the API."""
    h = hub()
    c1 = h.conn(source="127.0.0.2")
    c1.hello("agent-1")
    c2 = h.conn(source="127.0.0.3")
    c2.hello("agent-1")
    time.sleep(0.3)
    assert "share its certificate" not in h.stderr()
    conns = [c1, c2]
    for src in ("127.0.0.2", "127.0.0.3"):
        c = h.conn(source=src)
        c.hello("agent-1")
        conns.append(c)
    k = h.wait_counter("identity_conflicts", 1)
    assert k["identity_conflicts"] == 1 and k["replaced"] == 3, k
    # The third flip went back from .3 to .2... then .2 to .3: the log
    # names both addresses, the last two in order.
    assert "agent agent-1: one identity keeps connecting from 127.0.0.2 " \
        "and 127.0.0.3 (3 times in 10 min)" in h.stderr(), h.stderr()[-2000:]
    # The API says so on the host.
    token = h.token("viewer", "clone-check")
    ctx = ssl.create_default_context(cafile=str(h.certs / "ca.crt"))
    api = http.client.HTTPSConnection(h.host, h.api_port, context=ctx,
                                      timeout=10)
    api.request("GET", "/api/v1/hosts/agent-1",
                headers={"Authorization": f"Bearer {token}"})
    r = api.getresponse()
    body = json.loads(r.read())
    api.close()
    assert r.status == 200, body
    conflict = body["host"]["identity_conflict"]
    assert conflict["address_changes"] == 3
    assert sorted(conflict["addresses"]) == ["127.0.0.2", "127.0.0.3"]
    for c in conns:
        c.close()
