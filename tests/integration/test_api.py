"""picket-hub's HTTPS JSON API (docs/api.md) against a real `picket-hub
serve`: TLS 1.3 with the hub's certificate, bearer tokens made with
`picket-hub token create`, the role matrix of every endpoint, indicators
a real agent connection (hubproto, as agent-1/agent-2) stored coming back
with filters and cursor pagination that covers every row exactly once,
hosts shown connected while their connection is open, the audit log, bad
input (400/404/405/413, never a crash), every refusal of the HTTP layer
itself as JSON (raw requests no client library would send), /metrics as
Prometheus text counting requests by route and status exactly, the API
answering while agents connect, the [api] max_connections cap, and STIX
exports that never spell an internal domain.  The hub is PICKET_HUB
(default build/picket-hub); under ASan the final stop checks for
reports."""
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
from conftest import PCAPS, REPO, analyse
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
    db = h.dump()
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
    "/api/v1/whoami": "viewer",
    "/api/v1/tasks": "viewer",
    "/api/v1/tasks/1": "viewer",        # 404 once past the role check
    "/api/v1/tasks/1/results/agent-1": "responder",
}
# POST endpoints: path -> (least role, body); past the role check the
# answer is whatever the body earns (400 for an empty order, 404 for a
# task that does not exist), never 401/403.
POST_ENDPOINTS = {
    "/api/v1/tasks": ("responder", b"{}"),
    "/api/v1/tasks/1/cancel": ("responder", b""),
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
        if least is not None and st == 404 and "/tasks/" in path:
            st = 200        # no such task: the role check passed
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


@pytest.mark.parametrize("path", list(POST_ENDPOINTS))
def test_role_matrix_post(env, path):
    api, tok = env["api"], env["tok"]
    least, body = POST_ENDPOINTS[path]
    callers = {"none": None, "bad": "pkt_" + "A" * 43,
               "revoked": tok["revoked"], "viewer": tok["viewer"],
               "responder": tok["responder"], "admin": tok["admin"]}
    for who, t in callers.items():
        st, _, data = api.raw("POST", path, t, body=body)
        if who in ("none", "bad", "revoked"):
            assert st == 401, (path, who, st)
        elif ORDER.index(who) < ORDER.index(least):
            assert st == 403, (path, who, st)
        else:
            assert st in (400, 404), (path, who, st, data)
        assert json.loads(data)["error"]


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
    # before the body is read, with the JSON error every answer has.
    for m in ("POST", "GET"):
        st, h, b = parse_answer(api.exchange(
            f"{m} /api/v1/hosts HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {t}\r\n"
            "Content-Length: 70000\r\n\r\n".encode() + b"x" * 1000))
        assert st == 413 and h["content-type"] == "application/json"
        assert b["error"] == "body over 65536 bytes ([api] max_body)"
    # Just under the limit is read, then refused by method or served.
    st, _, _ = api.raw("POST", "/api/v1/hosts", t, body=b"x" * 65536)
    assert st == 405
    # Malformed JSON in a body is never parsed by a GET endpoint.
    st, _, data = api.raw("GET", "/api/v1/hosts", t, body=b"{\"a\":")
    assert st == 200


def parse_answer(raw):
    """(status, {lower-case header: value}, parsed JSON body) of one
    HTTP/1.1 answer; asserts it is whole (Content-Length) and JSON."""
    assert raw.startswith(b"HTTP/1.1 "), raw[:200]
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    assert int(hdrs["content-length"]) == len(body), raw
    assert b"<" not in body, body           # no HTML, ever
    return int(lines[0].split()[1]), hdrs, json.loads(body)


# 200 headers of 100 bytes: over the 16 KiB evhttp reads.
TOO_BIG_HEADERS = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" +
                   b"".join(b"X-%d: %s\r\n" % (i, b"y" * 100)
                            for i in range(200)) + b"\r\n")

# Requests evhttp refuses before the API sees them, and what the JSON
# error says; each needs a raw socket (no client library sends them).
HTTP_LAYER = [
    (b"GARBAGE\r\n\r\n", 400, "malformed request line"),
    (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400, "malformed"),
    (b"GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n", 400, "header"),
    (TOO_BIG_HEADERS, 400, "16384 bytes"),
    (b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: nine\r\n\r\n", 400, "malformed"),
    (b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 501, "method"),
    (b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n"
     b"Content-Length: 2\r\n\r\n{}", 417, "100-continue"),
    (b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 65537\r\n\r\n", 413, "65536 bytes"),
    # a chunk that would take the body over max_body, and the same after
    # a "100 Continue" the hub had queued
    (b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n10001\r\nxx", 413, "max_body"),
    (b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\n"
     b"Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"10001\r\nxx", 413, "max_body"),
    # and what the API itself answers, for the same shape
    (b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404, "endpoint"),
    (b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405, "allowed"),
    (b"GET /api/v1/hosts HTTP/1.1\r\nHost: x\r\n\r\n", 401, "token"),
    (b"GET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "path"),
]


@pytest.mark.parametrize("raw,status,word", HTTP_LAYER)
def test_http_layer_errors_are_json(env, raw, status, word):
    out = env["api"].exchange(raw)
    if out.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
        out = out[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
    st, h, b = parse_answer(out)
    assert st == status, out
    assert h["content-type"] == "application/json", h
    assert h["x-content-type-options"] == "nosniff"
    assert set(b) == {"error"} and word in b["error"], b


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


PROM_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                       r'(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? '
                       r'([0-9.eE+-]+)$')


def prom(text):
    """Prometheus text: {sample name with labels: value}, each sample of
    a family announced by # TYPE (histograms: _bucket, _sum, _count)."""
    values, typed = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if parts[1] == "TYPE":
                assert parts[3] in ("counter", "gauge", "histogram")
                typed[parts[2]] = parts[3]
            continue
        m = PROM_LINE.match(line)
        assert m, line
        name = m.group(1)
        fam = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or typed.get(fam) == "histogram", line
        assert line.rsplit(" ", 1)[0] not in values, "duplicate: " + line
        values[line.rsplit(" ", 1)[0]] = float(m.group(4))
    return values


def test_metrics_is_prometheus_text(env):
    api, t = env["api"], env["tok"]["viewer"]
    st, text, h = api.get("/metrics", t)
    assert st == 200 and h["Content-Type"].startswith("text/plain")
    values = prom(text)
    assert values["picket_hub_agents_connected"] == 1
    assert values["picket_hub_batches_total"] >= 6
    assert values["picket_hub_indicators_stored_total"] >= N1 + N2
    assert values["picket_hub_store_size_bytes"] > 0
    assert values['picket_hub_listener_events_total{event="welcomes"}'] >= 2
    assert values['picket_hub_api_requests_total{route="/api/v1/hosts",'
                  'code="2xx"}'] > 0
    assert values['picket_hub_api_requests_total{route="other",'
                  'code="4xx"}'] > 0
    assert 'picket_hub_closed_by_error_total{code="auth"}' in values
    assert values["picket_hub_api_connections"] >= 1    # this one
    # Labels come from the route table, not from what was asked for:
    # the role matrix asked for /api/v1/hosts/agent-1.
    routes = {re.search(r'route="([^"]*)"', k).group(1) for k in values
              if k.startswith("picket_hub_api_requests_total")}
    assert routes == {"/healthz", "/metrics", "/api/v1/hosts",
                      "/api/v1/hosts/{id}", "/api/v1/indicators",
                      "/api/v1/audit", "/api/v1/outbreaks",
                      "/api/v1/export/stix", "/api/v1/enroll",
                      "/api/v1/whoami", "/api/v1/tasks", "/api/v1/tasks/{id}",
                      "/api/v1/tasks/{id}/cancel",
                      "/api/v1/tasks/{id}/results/{agent}",
                      "/api/v1/incidents", "/api/v1/incidents/{id}",
                      "/api/v1/incidents/{id}/notes",
                      "/api/v1/incidents/{id}/links",
                      "/api/v1/incidents/{id}/report", "/api/v1/peers",
                      "/api/v1/shared", "/api/v1/shared/{id}/approve",
                      "/api/v1/shared/{id}/reject", "/api/v1/shared/{id}",
                      "/api/v1/bundles", "/api/v1/bundles/{id}",
                      "/api/v1/bundles/rollback", "ui", "other"}, routes


def test_every_metric_family_is_documented(env):
    """Each family /metrics announces is named, in full, in docs/api.md's
    table or docs/hub.md (which lists the peering families)."""
    api, t = env["api"], env["tok"]["viewer"]
    _, text, _ = api.get("/metrics", t)
    families = {line.split(" ")[2] for line in text.splitlines()
                if line.startswith("# TYPE ")}
    assert len(families) >= 30, families
    docs = (REPO / "docs" / "api.md").read_text() + \
        (REPO / "docs" / "hub.md").read_text()
    missing = sorted(f for f in families
                     if not re.search(re.escape(f) + r"(?![a-z_])", docs))
    assert not missing, missing


def requests_by(values):
    """{(route, code): n} of picket_hub_api_requests_total."""
    out = {}
    for k, v in values.items():
        m = re.fullmatch(r'picket_hub_api_requests_total\{route="([^"]*)",'
                         r'code="([^"]*)"\}', k)
        if m:
            out[m.groups()] = v
    return out


def histogram(values, route):
    """(cumulative bucket counts by le, sum, count) of one route."""
    b = {}
    for k, v in values.items():
        m = re.fullmatch(r'picket_hub_api_request_duration_seconds_bucket'
                         r'\{route="' + re.escape(route) +
                         r'",le="([^"]*)"\}', k)
        if m:
            b[m.group(1)] = v
    pre = 'picket_hub_api_request_duration_seconds'
    return (b, values[f'{pre}_sum{{route="{route}"}}'],
            values[f'{pre}_count{{route="{route}"}}'])


def test_metrics_count_requests_by_route_exactly(env):
    """A known set of requests moves the counters by exactly that much,
    and nothing else (no other API traffic runs meanwhile)."""
    api, tok = env["api"], env["tok"]
    _, text, _ = api.get("/metrics", tok["viewer"])
    before = prom(text)
    h0 = histogram(before, "/api/v1/indicators")
    for _ in range(3):
        assert api.get("/api/v1/indicators?limit=1", tok["viewer"])[0] == 200
    for q in ("limit=0", "severity=x"):
        assert api.get("/api/v1/indicators?" + q, tok["viewer"])[0] == 400
    assert api.get("/api/v1/hosts/nope", tok["viewer"])[0] == 404
    assert api.get("/api/v1/hosts")[0] == 401
    assert api.get("/api/v1/audit", tok["viewer"])[0] == 403
    assert api.get("/no/such/thing", tok["viewer"])[0] == 404
    assert api.get("/api/v1/../x", tok["viewer"])[0] == 400
    assert parse_answer(api.exchange(b"NOPE\r\n\r\n"))[0] == 400
    assert parse_answer(api.exchange(b"BREW / HTTP/1.1\r\n\r\n"))[0] == 501
    assert api.raw("PUT", "/healthz")[0] == 405
    _, text, _ = api.get("/metrics", tok["viewer"])
    after = prom(text)
    want = {("/api/v1/indicators", "2xx"): 3,
            ("/api/v1/indicators", "4xx"): 2,
            ("/api/v1/hosts/{id}", "4xx"): 1,
            ("/api/v1/hosts", "4xx"): 1,
            ("/api/v1/audit", "4xx"): 1,
            ("other", "4xx"): 3,
            ("other", "5xx"): 1,
            ("/healthz", "4xx"): 1,
            ("/metrics", "2xx"): 1}     # the first read of /metrics
    b, a = requests_by(before), requests_by(after)
    assert set(a) == set(b)
    moved = {k: a[k] - b[k] for k in a if a[k] != b[k]}
    assert moved == want, moved
    # The histogram: five more indicator requests, cumulative buckets
    # that never fall, +Inf equal to the count, time spent > 0.
    h1 = histogram(after, "/api/v1/indicators")
    assert h1[2] - h0[2] == 5
    les = list(h1[0])
    assert les[-1] == "+Inf" and les[0] == "0.001" and "10" in les
    counts = [h1[0][le] for le in les]
    assert counts == sorted(counts) and counts[-1] == h1[2]
    assert h1[1] > h0[1]
    # An evhttp refusal never reached a handler: it counts, in 0 s.
    assert histogram(after, "other")[2] - histogram(before, "other")[2] == 4


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


# ---- a second, small hub: [api] max_connections = 4, the web UI, and
# [sharing] internal_domains

INTERNAL = ["www.agency.example", "agency.example", "a.b.agency.example."]
OUTSIDE = "xagency.example"


def ioc_records(template, names, start):
    """One IOC-match indicator (threat.indicator, a domain) per name,
    TLP:CLEAR, as the agent reports them."""
    out = []
    for i, name in enumerate(names):
        d = json.loads(template)
        t = BASE_TS + start + i * 60
        d["@timestamp"] = iso(t)
        d["event"]["kind"] = "alert"
        d["rule"]["id"] = "picket.ioc.domain"
        d["rule"]["name"] = "Listed domain"
        d["message"] = f"lookup of {name}"
        d["threat"] = {"indicator": {"type": "domain-name", "name": name,
                                     "provider": "feed.txt"}}
        d["network"]["direction"] = "outbound"
        d["picket"]["tlp"] = "TLP:CLEAR"
        d["picket"]["fingerprint"] = f"{i:032x}"
        d["picket"]["first_seen"] = d["picket"]["last_seen"] = iso(t)
        out.append(json.dumps(d, separators=(",", ":")))
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory, certs):
    from hubrun import UI_DIR
    tmp = tmp_path_factory.mktemp("api-small")
    # Hub writes api_opts under [api] in order; the last value carries
    # the [sharing] section (hubrun has no parameter for it).
    h = Hub(tmp / "hub", certs, api_opts={
        "ui_dir": UI_DIR, "max_connections":
        "4\n[sharing]\ninternal_domains = Agency.Example,\n"
        "  corp.example"})           # an indented line adds to the list
    _, _, proc = analyse(PCAPS / "nmap_synscan.pcap")
    recs = ioc_records(proc.stdout.splitlines()[0], INTERNAL + [OUTSIDE], 0)
    c, w = h.agent("agent-1", host_name="ws-one")
    assert c.send_batch(w.stored_seq + 1, recs) == w.stored_seq + len(recs)
    c.close()
    api = Api(h, certs)
    yield {"hub": h, "api": api, "tok": h.token("viewer", "v")}
    rc, _ = h.stop()
    assert rc == 0


def test_stix_export_never_spells_internal_domains(small):
    api, t = small["api"], small["tok"]
    st, _, raw = api.raw("GET", f"/api/v1/export/stix?{SINCE}&tlp=red",
                         t)
    assert st == 200
    text = raw.decode().lower()          # the raw answer, not just fields
    for name in INTERNAL:
        assert name.rstrip(".") not in text.replace(OUTSIDE, ""), name
    assert f"[domain-name:value = '{OUTSIDE}']" in text
    b = json.loads(raw)
    pats = [o["pattern"] for o in b["objects"] if o["type"] == "indicator"]
    assert pats == [f"[domain-name:value = '{OUTSIDE}']"], pats
    st, text, _ = api.get("/metrics", t)
    m = prom(text)
    assert m["picket_hub_stix_exports_total"] == 1
    assert m["picket_hub_stix_redacted_names_total"] == 3
    assert m["picket_hub_stix_redacted_total"] == 3


def test_ui_files_are_counted(small):
    api, t = small["api"], small["tok"]
    _, text, _ = api.get("/metrics", t)
    before = prom(text)
    assert api.raw("GET", "/")[0] == 200
    assert api.raw("GET", "/ui/app.js")[0] == 200
    st, h, data = api.raw("GET", "/ui/nope.js")
    assert st == 404 and json.loads(data)["error"]
    _, text, _ = api.get("/metrics", t)
    after = prom(text)
    assert (after["picket_hub_ui_files_served_total"] -
            before["picket_hub_ui_files_served_total"]) == 2
    b, a = requests_by(before), requests_by(after)
    assert a[("ui", "2xx")] - b[("ui", "2xx")] == 2
    assert a[("ui", "4xx")] - b[("ui", "4xx")] == 1


def tls_conn(api):
    s = socket.create_connection((api.host, api.port), 5)
    try:
        return api.ctx.wrap_socket(s, server_hostname=api.host)
    except BaseException:
        s.close()
        raise


def ask(conn, path, token=None):
    """One request on an open TLS connection: (status, body bytes)."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}"
                 "Connection: close\r\n\r\n".encode())
    out = b""
    while True:
        b = conn.recv(65536)
        if not b:
            break
        out += b
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def refused(api):
    """True if a new connection is closed before it can be answered."""
    try:
        c = tls_conn(api)
    except (ssl.SSLError, OSError):
        return True
    try:
        ask(c, "/healthz")
        return False
    except (ssl.SSLError, OSError, IndexError):
        return True
    finally:
        c.close()


def test_api_connection_cap(small):
    h, api, t = small["hub"], small["api"], small["tok"]
    # Earlier tests' connections are gone once /metrics counts only
    # the one asking.
    deadline = time.monotonic() + 10
    while prom(api.get("/metrics", t)[1])["picket_hub_api_connections"] > 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    idle = [tls_conn(api) for _ in range(4)]    # handshaken, silent
    try:
        assert refused(api)
        # The agent listener has its own limit: agents still connect.
        c, _ = h.agent("agent-1", host_name="ws-one")
        c.close()
        idle.pop().close()
        tries = 1                   # refusals until the hub saw the close
        deadline = time.monotonic() + 10
        while True:
            try:
                c = tls_conn(api)
                st, body = ask(c, "/metrics", t)
                c.close()
                break
            except (ssl.SSLError, OSError, IndexError):
                assert time.monotonic() < deadline, "never accepted again"
                tries += 1
                time.sleep(0.05)
        assert st == 200
        m = prom(body.decode())
        assert m["picket_hub_api_refused_limit_total"] == tries
        assert m["picket_hub_api_connections"] == 4     # 3 idle + this
    finally:
        for c in idle:
            c.close()
    # Logged once, not once per refusal (at most a line a minute).
    assert h.stderr().count("max_connections reached") == 1


def test_enroll_without_ca_is_a_json_503(small):
    """The 503 of the list: a hub with no member CA (no `ca init`)."""
    out = small["api"].exchange(b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\n"
                                b"Content-Length: 2\r\n\r\n{}")
    st, h, b = parse_answer(out)
    assert st == 503 and h["content-type"] == "application/json"
    assert "no member CA" in b["error"], b
