"""picket-hub's HTTPS JSON API (docs/api.md) against a real `picket-hub
serve`: TLS 1.3 with the hub's certificate, bearer tokens made with
`picket-hub token create`, the role matrix of every endpoint, indicators
a real agent connection (hubproto, as agent-1/agent-2) stored coming back
with filters and cursor pagination that covers every row exactly once,
hosts shown connected while their connection is open, the audit log, bad
input (400/404/405/413, never a crash), /metrics as Prometheus text, and
the API answering while agents connect.  The hub is PICKET_HUB (default
build/picket-hub); under ASan the final stop checks for reports."""
import http.client
import json
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.parse

import pytest

import hubproto as hp
from conftest import PCAPS, analyse
from hubrun import HUB, Hub, mkcerts

BASE_TS = 1767225600          # 2026-01-01T00:00:00Z
N1 = 237                      # agent-1's indicators (not a page multiple)
N2 = 13                       # agent-2's
RULES = ["picket.test.alpha", "picket.test.beta", "picket.test.gamma"]


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return mkcerts(tmp_path_factory.mktemp("certs") / "pki", "-a",
                   "agent-1", "-a", "agent-2")


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".000000Z"


def records(template, agent, n, start):
    """n indicators from one picketd line: own times, rules, severities
    and messages, so that every filter has something to select."""
    out = []
    for i in range(n):
        d = json.loads(template)
        t = BASE_TS + start + i * 60
        d["@timestamp"] = iso(t)
        d["event"]["kind"] = "metric" if i % 10 == 0 else "alert"
        d["event"]["severity"] = [21, 47, 73, 99][i % 4]
        rid = RULES[i % 3]
        d["rule"]["id"] = rid
        d["rule"]["name"] = rid.rsplit(".", 1)[1].capitalize() + " rule"
        d["message"] = f"{agent} record {i} " + ("Needle" if i % 7 == 0
                                                 else "hay")
        d["picket"]["first_seen"] = d["picket"]["last_seen"] = iso(t)
        out.append(json.dumps(d, separators=(",", ":")))
    return out


class Api:
    """A small HTTPS client for the hub's API (TLS 1.3, the test CA)."""

    def __init__(self, hub, certs):
        self.host, self.port = hub.host, hub.api_port
        self.ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3

    def raw(self, method, path, token=None, body=None, headers=None):
        c = http.client.HTTPSConnection(self.host, self.port,
                                        context=self.ctx, timeout=20)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def exchange(self, data):
        """Send raw bytes over TLS; what comes back before the close."""
        out = b""
        with socket.create_connection((self.host, self.port), 10) as s:
            with self.ctx.wrap_socket(s, server_hostname=self.host) as t:
                try:
                    t.sendall(data)
                    while len(out) < 65536:
                        b = t.recv(4096)
                        if not b:
                            break
                        out += b
                except OSError:
                    pass
        return out

    def get(self, path, token=None, **kw):
        """(status, parsed JSON or text, headers)."""
        st, h, data = self.raw("GET", path, token, **kw)
        if h.get("Content-Type", "").startswith("application/json"):
            return st, json.loads(data), h
        return st, data.decode(), h


@pytest.fixture(scope="module")
def env(tmp_path_factory, certs):
    tmp = tmp_path_factory.mktemp("api")
    h = Hub(tmp / "hub", certs)
    _, _, proc = analyse(PCAPS / "nmap_synscan.pcap")
    template = proc.stdout.splitlines()[0]
    rec1 = records(template, "agent-1", N1, 0)
    rec2 = records(template, "agent-2", N2, 30)
    c1, w = h.agent("agent-1", host_name="ws-one")
    for i in range(0, N1, 50):
        assert c1.send_batch(w.stored_seq + 1 + i, rec1[i:i + 50]) == \
            w.stored_seq + min(i + 50, N1)
    c2, w2 = h.agent("agent-2", host_name="ws-two")
    assert c2.send_batch(w2.stored_seq + 1, rec2) == w2.stored_seq + N2
    c2.close()
    tok = {r: h.token(r, f"{r}-1") for r in ("viewer", "responder",
                                                "admin")}
    tok["revoked"] = h.token("admin", "gone")
    rv = subprocess.run([str(HUB), "token", "revoke", "gone", "-c",
                         str(h.ini)], capture_output=True, text=True)
    assert rv.returncode == 0, rv.stderr
    api = Api(h, certs)
    # agent-2's close has reached the hub once it is no longer listed.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st, b, _ = api.get("/api/v1/hosts", tok["viewer"])
        if st == 200 and [x["connected"] for x in b["hosts"]] == [True,
                                                                   False]:
            break
        time.sleep(0.05)
    yield {"hub": h, "api": api, "tok": tok, "rec1": rec1, "rec2": rec2,
           "c1": c1}
    c1.close()
    rc, _ = h.stop()
    assert rc == 0


def test_tokens_are_secret_shaped_and_listed_without_secrets(env):
    h, tok = env["hub"], env["tok"]
    for t in tok.values():
        assert re.fullmatch(r"pkt_[A-Za-z0-9_-]{43}", t), t
    assert len(set(tok.values())) == 4
    out = subprocess.run([str(HUB), "token", "list", "-c", str(h.ini)],
                         capture_output=True, text=True, check=True).stdout
    assert "viewer-1" in out and "admin-1" in out and "gone" in out
    for t in tok.values():
        assert t not in out and t[4:] not in out
    # The database holds hashes only.
    db = (h.data / "hub.db").read_bytes()
    for t in tok.values():
        assert t.encode() not in db
    # A second valid token of the same name is refused; a bad role too.
    p = subprocess.run([str(HUB), "token", "create", "--role", "viewer",
                        "--name", "viewer-1", "-c", str(h.ini)],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "already" in p.stderr
    p = subprocess.run([str(HUB), "token", "create", "--role", "root",
                        "--name", "x", "-c", str(h.ini)],
                       capture_output=True, text=True)
    assert p.returncode == 2


ENDPOINTS = {   # path -> least role
    "/healthz": None,
    "/metrics": "viewer",
    "/api/v1/hosts": "viewer",
    "/api/v1/hosts/agent-1": "viewer",
    "/api/v1/indicators": "viewer",
    "/api/v1/audit": "admin",
    "/api/v1/outbreaks": "viewer",
    "/api/v1/export/stix": "viewer",
}
ORDER = ["viewer", "responder", "admin"]


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_role_matrix(env, path):
    api, tok = env["api"], env["tok"]
    least = ENDPOINTS[path]
    callers = {"none": None, "bad": "pkt_" + "A" * 43,
               "garbage": "not-a-token", "revoked": tok["revoked"],
               "viewer": tok["viewer"], "responder": tok["responder"],
               "admin": tok["admin"]}
    for who, t in callers.items():
        st, body, h = api.get(path, t)
        if least is None:
            want = 200
        elif who in ("none", "bad", "garbage", "revoked"):
            want = 401
        elif ORDER.index(who) >= ORDER.index(least):
            want = 200
        else:
            want = 403
        assert st == want, (path, who, st, body)
        if want == 401:
            assert h["WWW-Authenticate"].startswith("Bearer"), h
        if want in (401, 403):
            assert isinstance(body, dict) and body["error"], body
    # A scheme other than Bearer is a 401 too.
    if least is not None:
        st, body, _ = api.get(path, headers={"Authorization":
                                             "Basic dXNlcjpwdw=="})
        assert st == 401


def test_healthz(env):
    st, b, h = env["api"].get("/healthz")
    assert st == 200 and h["Content-Type"] == "application/json"
    assert b["status"] == "ok" and b["version"]
    assert b["agents_connected"] == 1           # agent-1 is still open


def test_hosts_show_connection_state(env):
    api, tok = env["api"], env["tok"]
    st, b, _ = api.get("/api/v1/hosts", tok["viewer"])
    assert st == 200
    hosts = {x["agent_id"]: x for x in b["hosts"]}
    assert set(hosts) == {"agent-1", "agent-2"}
    assert hosts["agent-1"]["connected"] is True
    assert hosts["agent-2"]["connected"] is False
    assert hosts["agent-1"]["host_name"] == "ws-one"
    assert hosts["agent-1"]["last_seq"] == N1
    assert hosts["agent-2"]["last_seq"] == N2
    for x in hosts.values():
        assert x["first_seen"].endswith("Z") and x["last_seen"] >= \
            x["first_seen"]
        assert x["dropped"] == 0 and x["rejected"] == 0
    # A new connection shows up at once, and goes when it closes.
    c, _ = env["hub"].agent("agent-2", host_name="ws-two")
    st, b, _ = api.get("/api/v1/hosts", tok["viewer"])
    assert {x["agent_id"]: x["connected"] for x in b["hosts"]} == \
        {"agent-1": True, "agent-2": True}
    st, b, _ = api.get("/healthz")
    assert b["agents_connected"] == 2
    c.close()


def test_host_detail_and_unknown(env):
    api, tok = env["api"], env["tok"]
    st, b, _ = api.get("/api/v1/hosts/agent-1", tok["viewer"])
    assert st == 200
    assert b["host"]["agent_id"] == "agent-1"
    counts = {r["rule_id"]: r["count"] for r in b["rules"]}
    assert counts == {RULES[k]: len(range(k, N1, 3)) for k in range(3)}
    assert sum(counts.values()) == N1
    st, b, _ = api.get("/api/v1/hosts/agent-9", tok["viewer"])
    assert st == 404 and "agent-9" in b["error"]
    st, b, _ = api.get("/api/v1/hosts/%2e%2e", tok["viewer"])
    assert st in (400, 404)


def page_all(api, token, query, limit):
    """Every page of /api/v1/indicators?query: the records, the pages."""
    got, pages, cursor = [], 0, None
    while True:
        q = dict(query, limit=limit)
        if cursor is not None:
            q["cursor"] = cursor
        st, b, _ = api.get("/api/v1/indicators?" +
                           urllib.parse.urlencode(q), token)
        assert st == 200, b
        assert len(b["indicators"]) <= limit
        got += b["indicators"]
        pages += 1
        cursor = b["next_cursor"]
        if cursor is None:
            return got, pages
        assert len(b["indicators"]) == limit
        assert pages < 1000


def norm(recs):
    return sorted(json.dumps(json.loads(r), sort_keys=True) for r in recs)


def test_indicators_pagination_covers_every_row_once(env):
    api, t = env["api"], env["tok"]["viewer"]
    everything = env["rec1"] + env["rec2"]
    got, pages = page_all(api, t, {}, 25)
    assert len(got) == N1 + N2
    assert pages == -(-(N1 + N2) // 25)
    assert norm(json.dumps(g) for g in got) == norm(everything)
    # Newest first.
    stamps = [g["@timestamp"] for g in got]
    assert stamps == sorted(stamps, reverse=True)
    # Default limit 100; the largest page 1000.
    st, b, _ = api.get("/api/v1/indicators", t)
    assert len(b["indicators"]) == 100 and b["next_cursor"]
    st, b, _ = api.get("/api/v1/indicators?limit=1000", t)
    assert len(b["indicators"]) == N1 + N2 and b["next_cursor"] is None


def want(recs, pred):
    return norm(r for r in recs if pred(json.loads(r)))


def ts(d):
    return d["@timestamp"]


@pytest.mark.parametrize("query,pred", [
    ({"host": "agent-2"}, lambda d, a: a == "agent-2"),
    ({"host": "ws-one"}, lambda d, a: a == "agent-1"),
    ({"kind": "metric"}, lambda d, a: d["event"]["kind"] == "metric"),
    ({"rule": RULES[1]}, lambda d, a: d["rule"]["id"] == RULES[1]),
    ({"severity": "73"}, lambda d, a: d["event"]["severity"] >= 73),
    ({"q": "needle"}, lambda d, a: "Needle" in d["message"]),
    ({"q": "GAMMA"}, lambda d, a: d["rule"]["id"] == RULES[2]),
    ({"since": iso(BASE_TS + 3600)},
     lambda d, a: ts(d) >= iso(BASE_TS + 3600)),
    ({"until": "2026-01-01T02:00:00+01:00"},
     lambda d, a: ts(d) < iso(BASE_TS + 3600)),
    ({"since": iso(BASE_TS + 600), "until": iso(BASE_TS + 1800),
      "host": "agent-1", "severity": "47"},
     lambda d, a: a == "agent-1" and d["event"]["severity"] >= 47 and
     iso(BASE_TS + 600) <= ts(d) < iso(BASE_TS + 1800)),
    ({"since": "3650d"}, lambda d, a: True),
])
def test_indicator_filters_with_pagination(env, query, pred):
    api, t = env["api"], env["tok"]["viewer"]
    expect = want(env["rec1"], lambda d: pred(d, "agent-1")) + \
        want(env["rec2"], lambda d: pred(d, "agent-2"))
    got, _ = page_all(api, t, query, 7)
    assert norm(json.dumps(g) for g in got) == sorted(expect)
    assert len(got) > 0


def test_pagination_is_stable_while_agents_add_rows(env):
    api, t = env["api"], env["tok"]["viewer"]
    st, b, _ = api.get("/api/v1/indicators?limit=50&host=agent-1", t)
    first = b["indicators"]
    # A newer row arrives between pages: the next pages go on after the
    # last row seen, so nothing repeats and nothing is skipped.
    extra = records(json.dumps(first[0]), "agent-1", 1, 10 ** 6)
    assert env["c1"].send_batch(N1 + 1, extra) == N1 + 1
    env["rec1"].append(extra[0])
    rest, _ = page_all(api, t, {"host": "agent-1",
                                "cursor": b["next_cursor"]}, 50)
    seen = [json.dumps(x, sort_keys=True) for x in first + rest]
    assert len(seen) == len(set(seen)) == N1
    st, b, _ = api.get("/api/v1/indicators?limit=1&host=agent-1", t)
    assert norm([json.dumps(b["indicators"][0])]) == norm(extra)


BAD = [
    ("/api/v1/indicators?limit=0", 400, "limit"),
    ("/api/v1/indicators?limit=1001", 400, "limit"),
    ("/api/v1/indicators?limit=ten", 400, "limit"),
    ("/api/v1/indicators?severity=101", 400, "severity"),
    ("/api/v1/indicators?since=yesterday", 400, "since"),
    ("/api/v1/indicators?until=2026-13-01T00:00:00Z", 400, "until"),
    ("/api/v1/indicators?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
     400, "until"),
    ("/api/v1/indicators?cursor=zzz", 400, "cursor"),
    ("/api/v1/indicators?cursor=c41", 400, "cursor"),
    ("/api/v1/indicators?bogus=1", 400, "bogus"),
    ("/api/v1/indicators?host=a&host=b", 400, "host"),
    ("/api/v1/indicators?host=", 400, "host"),
    ("/api/v1/indicators?host", 400, "host"),
    ("/api/v1/indicators?host=%00", 400, "host"),
    ("/api/v1/indicators?host=%zz", 400, "host"),
    ("/api/v1/indicators?q=" + "x" * 300, 400, "q"),
    ("/api/v1/hosts?limit=5", 400, "limit"),
    ("/api/v1/audit?cursor=-1", 400, "cursor"),
    ("/api/v1/../api/v1/hosts", 400, "path"),
    ("/api/v1/./hosts", 400, "path"),
    ("/api//v1/hosts", 400, "path"),
    ("/api/v1/hosts/%00", 400, "path"),
    ("/api/v1/hosts/a%2fb", 400, "path"),
    ("/api/v1/hosts/%", 400, "path"),
    ("/" + "a" * 2000, 400, "path"),
    ("/api/v1/nothing", 404, "endpoint"),
    ("/api/v1/hosts/", 404, "endpoint"),
    ("/", 404, "endpoint"),
]


@pytest.mark.parametrize("path,status,word", BAD)
def test_bad_input_is_a_json_4xx(env, path, status, word):
    st, b, _ = env["api"].get(path, env["tok"]["admin"])
    assert st == status, (path, b)
    assert word in b["error"], b


def test_wrong_method_and_big_body(env):
    api, t = env["api"], env["tok"]["admin"]
    for m in ("POST", "PUT", "DELETE", "PATCH"):
        st, h, data = api.raw(m, "/api/v1/hosts", t, body=b"{}")
        assert st == 405, m
        assert h["Allow"] == "GET"
        assert "not allowed" in json.loads(data)["error"]
    # Over [api] max_body (64 KiB): 413 as soon as the headers say so,
    # before the body is read.
    for m in ("POST", "GET"):
        head = api.exchange(f"{m} /api/v1/hosts HTTP/1.1\r\nHost: x\r\n"
                            f"Authorization: Bearer {t}\r\n"
                            "Content-Length: 70000\r\n\r\n".encode() +
                            b"x" * 1000)
        assert head.startswith(b"HTTP/1.1 413"), head[:200]
    # Just under the limit is read, then refused by method or served.
    st, _, _ = api.raw("POST", "/api/v1/hosts", t, body=b"x" * 65536)
    assert st == 405
    # Malformed JSON in a body is never parsed by a GET endpoint.
    st, _, data = api.raw("GET", "/api/v1/hosts", t, body=b"{\"a\":")
    assert st == 200


def test_raw_garbage_never_hurts_the_hub(env):
    api = env["api"]
    for junk in (b"GET\r\n\r\n", b"\x00\x01\x02" * 100,
                 b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 5000
                 + b"\r\n", b"GET /%%%% HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n"):
        # Junk with no line end gets no answer: wait 2 s, not for ever.
        with socket.create_connection((api.host, api.port), 2) as s:
            with api.ctx.wrap_socket(s, server_hostname=api.host) as ts_:
                try:
                    ts_.sendall(junk)
                    ts_.recv(4096)
                except OSError:
                    pass
    # Plain HTTP on the TLS port, and a TLS 1.2-only client: refused.
    with socket.create_connection((api.host, api.port), 10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            s.recv(4096)
        except OSError:
            pass
    ctx12 = ssl.create_default_context(cafile=str(env["hub"].certs /
                                                  "ca.crt"))
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        with socket.create_connection((api.host, api.port), 10) as s:
            ctx12.wrap_socket(s, server_hostname=api.host)
    st, b, _ = api.get("/healthz")
    assert st == 200 and b["status"] == "ok"


def test_audit_log(env):
    api, tok, h = env["api"], env["tok"], env["hub"]
    api.get("/api/v1/hosts", tok["viewer"])            # not audited
    api.get("/api/v1/audit", tok["viewer"])            # 403: audited
    api.get("/api/v1/hosts?x=1", tok["admin"])         # admin: audited
    st, b, _ = api.get("/api/v1/audit?limit=1000", tok["admin"])
    assert st == 200
    rows = b["audit"]
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids, reverse=True)
    acts = [(r["actor"], r["action"], r["target"], r["result"])
            for r in rows]
    for r in ("viewer", "responder", "admin"):
        assert ("cli", "token.create", f"{r}-1", "ok") in acts
    assert ("cli", "token.revoke", "gone", "ok") in acts
    assert ("cli", "token.create", "viewer-1", "exists") in acts
    assert ("viewer-1", "GET /api/v1/audit", "", "403") in acts
    assert ("admin-1", "GET /api/v1/hosts", "x=1", "400") in acts
    assert not any(a[0] == "viewer-1" and a[1] == "GET /api/v1/hosts"
                   for a in acts)
    for r in rows:
        assert r["time"].endswith("Z")
        assert r["remote"] == "local" if r["actor"] == "cli" else \
            r["remote"].startswith("127.0.0.1:")
    # Paging the audit log.
    st, b1, _ = api.get("/api/v1/audit?limit=2", tok["admin"])
    st, b2, _ = api.get("/api/v1/audit?limit=2&cursor=" +
                        b1["next_cursor"], tok["admin"])
    assert len(b1["audit"]) == len(b2["audit"]) == 2
    assert all(r["id"] < b1["audit"][-1]["id"] for r in b2["audit"])


PROM_LINE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-z_]+=\"[^\"]*\"\})? "
                       r"[0-9.eE+-]+$")


def test_metrics_is_prometheus_text(env):
    api, t = env["api"], env["tok"]["viewer"]
    st, text, h = api.get("/metrics", t)
    assert st == 200 and h["Content-Type"].startswith("text/plain")
    values, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if parts[1] == "TYPE":
                assert parts[3] in ("counter", "gauge")
                typed.add(parts[2])
            continue
        assert PROM_LINE.match(line), line
        name, v = line.rsplit(" ", 1)
        assert name.split("{")[0] in typed, line
        values[name] = float(v)
    assert values["picket_hub_agents_connected"] == 1
    assert values["picket_hub_batches_total"] >= 6
    assert values["picket_hub_indicators_stored_total"] >= N1 + N2
    assert values["picket_hub_store_size_bytes"] > 0
    assert values['picket_hub_listener_events_total{event="welcomes"}'] >= 2
    assert values['picket_hub_api_requests_total{class="2xx"}'] > 0
    assert values['picket_hub_api_requests_total{class="4xx"}'] > 0
    assert 'picket_hub_closed_by_error_total{code="auth"}' in values


def test_api_serves_while_agents_connect(env):
    """Agents connecting, batching and closing in a thread while the API
    answers: one loop serves both."""
    h, api, t = env["hub"], env["api"], env["tok"]["viewer"]
    stop = threading.Event()
    errors = []
    template = env["rec1"][0]

    def agents():
        try:
            while not stop.is_set():
                c, w = h.agent("agent-2", host_name="ws-two")
                recs = records(template, "agent-2", 5, 2 * 10 ** 6)
                c.send_batch(w.stored_seq + 1, recs)
                c.close()
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append(e)

    th = threading.Thread(target=agents)
    th.start()
    try:
        t0 = time.monotonic()
        n = 0
        while time.monotonic() - t0 < 3:
            st, b, _ = api.get("/api/v1/indicators?limit=20", t)
            assert st == 200 and len(b["indicators"]) == 20
            st, b, _ = api.get("/healthz")
            assert st == 200
            n += 1
    finally:
        stop.set()
        th.join(30)
    assert not errors, errors
    assert n > 10


SINCE = "since=2025-12-31T00:00:00Z"


def test_outbreaks_group_hosts(env):
    """Both agents reported the three test rules: each is an outbreak of
    two hosts, agent-1 first (its records start 30 s earlier)."""
    api, tok = env["api"], env["tok"]
    st, b, _ = api.get(f"/api/v1/outbreaks?{SINCE}&kind=rule",
                       tok["viewer"])
    assert st == 200, b
    groups = {g["key"]: g for g in b["outbreaks"]}
    for rid in RULES:
        g = next(g for k, g in groups.items() if rid in k)
        assert g["hosts_affected"] == 2, g
        assert g["patient_zero"]["agent_id"] == "agent-1", g
    st, b, _ = api.get(f"/api/v1/outbreaks?{SINCE}&min_hosts=3",
                       tok["viewer"])
    assert st == 200 and b["outbreaks"] == [], b
    st, b, _ = api.get("/api/v1/outbreaks?min_hosts=-1", tok["viewer"])
    assert st == 400 and "min_hosts" in b["error"]


def test_stix_export_redacts(env):
    """A STIX 2.1 bundle whose text never names a host, an agent or an
    internal address (the test indicators scan from 172.16.0.8)."""
    api, tok = env["api"], env["tok"]
    st, b, _ = api.get(f"/api/v1/export/stix?{SINCE}&tlp=red",
                       tok["viewer"])
    assert st == 200, b
    assert b["type"] == "bundle" and b["id"].startswith("bundle--")
    # These rows are outbound scans from an internal address: nothing
    # about them may leave but the member's identity (test_stix.c covers
    # what is exported and how).
    types = {o["type"] for o in b["objects"]}
    assert "identity" in types, types
    for o in b["objects"]:
        assert o["id"].startswith(o["type"] + "--")
        if o["type"] != "marking-definition":
            assert o["spec_version"] == "2.1"
    text = json.dumps(b)
    for secret in ("ws-one", "ws-two", "agent-1", "agent-2", "172.16.0.8"):
        assert secret not in text, secret
    st, b, _ = api.get("/api/v1/export/stix?tlp=purple", tok["viewer"])
    assert st == 400 and "tlp" in b["error"]
