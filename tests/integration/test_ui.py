"""picket-hub's web UI (docs/ui.md): the hub side and a real browser.

The hub side, against a real `picket-hub serve`: GET / and /ui/<file>
serve the tree's hub/ui with the right content types, the strict
Content-Security-Policy and the other security headers; path tricks
(dot segments, encoded dots, sub directories, hidden names, unknown
extensions, a symlink, a FIFO, an oversized file in ui_dir) never serve
anything; ui_dir = "" turns the UI off.

The browser: two real agents (build/picketd as agent-1 and agent-2, root,
capturing on lo) ship spools pre-filled with the indicator lines
`picketd -r` prints for sample captures (times moved into the last 24 h,
so the overview's chart has them; agent-1 also sends its own capture
health reports), the hub stores them, and tests/browser/ui_test.js drives
Debian's chromium through every page (see that file); on a hub of its own
seeded the same way, tests/browser/ui_incidents_test.js runs an incident
from an outbreak to its closed report.  Screenshots go to
$PICKET_UI_SHOTS (default build/test-artifacts/ui).  Needs root (pcap on
lo), /usr/bin/chromium, node and npm (tests/browser/setup.sh installs
playwright-core into /var/cache/picket/npm)."""
import http.client
import json
import os
import pathlib
import shutil
import signal
import sqlite3
import ssl
import subprocess
import time

import pytest

from conftest import PCAPS, REPO, analyse, binary, spool_fill
from hubrun import HUB, UI_DIR, Hub, free_port, mkcerts
from netns import wait_for

CAPTURES = ("nmap_synscan.pcap", "40.TCP_SYN_scan.pcap",
            "ncsa_multiport_scan.pcap", "masscan_tcp_0_1000.pcap",
            "28.xmas_can.pcap", "42.TCP_NULL_scan.pcap")
BROWSER = REPO / "tests" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = pathlib.Path(os.environ.get("PICKET_UI_SHOTS",
                                    REPO / "build" / "test-artifacts" / "ui"))
CSP_PARTS = ("default-src 'self'", "script-src 'self'", "style-src 'self'",
             "object-src 'none'", "frame-ancestors 'none'")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return mkcerts(tmp_path_factory.mktemp("pki") / "pki", "-a", "agent-1",
                   "-a", "agent-2")


class Api:
    """HTTPS to the hub's API port, verifying it with the test CA; paths
    are sent exactly as given (no client-side normalisation)."""

    def __init__(self, hub):
        self.hub = hub
        self.ctx = ssl.create_default_context(
            cafile=str(hub.certs / "ca.crt"))

    def get(self, path, token=None, method="GET"):
        c = http.client.HTTPSConnection("localhost", self.hub.api_port,
                                        context=self.ctx, timeout=30)
        try:
            hdr = {"Authorization": f"Bearer {token}"} if token else {}
            c.request(method, path, headers=hdr)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, \
                r.read()
        finally:
            c.close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory, certs):
    h = Hub(tmp_path_factory.mktemp("uihub") / "hub", certs, ui=True)
    yield h
    rc, _ = h.stop()
    assert rc == 0


# ------------------------------------------------------------ hub side

@pytest.mark.parametrize("path,ctype,file", [
    ("/", "text/html; charset=utf-8", "index.html"),
    ("/ui/index.html", "text/html; charset=utf-8", "index.html"),
    ("/ui/app.js", "text/javascript; charset=utf-8", "app.js"),
    ("/ui/app.css", "text/css; charset=utf-8", "app.css"),
    ("/ui/favicon.svg", "image/svg+xml", "favicon.svg"),
])
def test_serves_the_ui_with_security_headers(hub, path, ctype, file):
    st, h, body = Api(hub).get(path)
    assert st == 200
    assert body == (UI_DIR / file).read_bytes()
    assert h["content-type"] == ctype
    assert int(h["content-length"]) == len(body)
    for part in CSP_PARTS:
        assert part in h["content-security-policy"], h
    assert "unsafe-inline" not in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert h["cache-control"] == "no-cache"


def test_the_page_has_no_inline_code_and_no_outside_urls():
    """What the CSP would refuse anyway: no inline script or style, no
    style attributes, no URL off the hub, no innerHTML with data."""
    html = (UI_DIR / "index.html").read_text()
    assert "<script>" not in html and "<style" not in html
    assert " style=" not in html and "javascript:" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org', "")
    js = (UI_DIR / "app.js").read_text()
    for bad in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(",
                "new Function", "document.write", "https://", "http://ww"):
        assert bad not in js.replace("http://www.w3.org/2000/svg", ""), bad
    css = (UI_DIR / "app.css").read_text()
    assert "@import" not in css and "url(" not in css


@pytest.mark.parametrize("path,status", [
    ("/ui/../hub.ini", 400),            # dot segment: the API's path check
    ("/ui/%2e%2e/hub.ini", 400),
    ("/ui/%2E%2e", 400),
    ("/ui/..%2fhub.ini", 400),          # encoded /
    ("/ui/sub/x.js", 404),              # no sub directories
    ("/ui/", 404),
    ("/ui", 404),
    ("/ui/.hidden.js", 404),
    ("/ui/app.js~", 404),               # not [A-Za-z0-9._-]
    ("/ui/app%20.js", 404),
    ("/ui/nothing.js", 404),
    ("/ui/README", 404),                # no known extension
    ("/index.html", 404),               # only / and /ui/...
    ("/ui/" + "a" * 200 + ".js", 404),
])
def test_path_tricks_serve_nothing(hub, path, status):
    st, h, body = Api(hub).get(path)
    assert st == status, (path, body)
    assert h["content-type"] == "application/json"
    assert "error" in json.loads(body)


def test_only_get(hub):
    for m in ("POST", "PUT", "DELETE"):
        st, _, body = Api(hub).get("/", method=m)
        assert st == 404 and "error" in json.loads(body)
    st, _, body = Api(hub).get("/api/v1/hosts")     # the API is still there
    assert st == 401


def test_own_ui_dir_symlink_fifo_big_off(tmp_path, certs):
    """A ui_dir we control: what is in it but must not be served."""
    ui = tmp_path / "ui"
    (ui / "sub").mkdir(parents=True)
    (ui / "index.html").write_text("<!doctype html><title>t</title>\n")
    (ui / "ok.js").write_text("'use strict';\n")
    (ui / "sub" / "x.js").write_text("nested\n")
    secret = tmp_path / "secret.js"
    secret.write_text("SECRET\n")
    (ui / "link.js").symlink_to(secret)
    (ui / "dirlink.js").symlink_to(ui / "sub")
    (ui / "dir.js").mkdir()
    os.mkfifo(ui / "fifo.js")
    (ui / "big.js").write_bytes(b"x" * (2 * 1024 * 1024 + 1))
    (ui / "max.js").write_bytes(b"y" * (2 * 1024 * 1024))
    h = Hub(tmp_path / "hub", certs, api_opts={"ui_dir": str(ui)})
    try:
        api = Api(h)
        st, hd, body = api.get("/")
        assert st == 200 and b"<title>t</title>" in body
        assert api.get("/ui/ok.js")[0] == 200
        st, _, body = api.get("/ui/max.js")
        assert st == 200 and len(body) == 2 * 1024 * 1024
        for name in ("link.js", "dirlink.js", "dir.js", "fifo.js",
                     "big.js", "sub/x.js"):
            t0 = time.monotonic()
            st, hd, body = api.get("/ui/" + name)
            assert st == 404, (name, body)
            assert b"SECRET" not in body and b"nested" not in body
            assert time.monotonic() - t0 < 5, name     # the FIFO never blocks
    finally:
        rc, _ = h.stop()
    assert rc == 0
    h = Hub(tmp_path / "hub-off", certs, api_opts={"ui_dir": ""})
    try:
        st, _, body = Api(h).get("/")
        assert st == 404 and "endpoint" in json.loads(body)["error"]
        assert Api(h).get("/ui/app.js")[0] == 404
    finally:
        rc, _ = h.stop()
    assert rc == 0


# ------------------------------------------------------------ the browser

def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + \
        f".{int(ts * 1e6) % 1000000:06d}Z"


def recent(lines, agent_id, host_name, first_seq, offset_s):
    """Real indicator lines as that agent would have written them: its
    identity (agent.id, host.name, as picketd puts them in its live
    records), times moved into the last 24 h (spread over it), picket.seq
    = their spool sequence number."""
    now = time.time()
    out = []
    for i, line in enumerate(lines):
        d = json.loads(line)
        d["agent"]["id"] = agent_id
        d["host"]["name"] = host_name
        end = now - offset_s - i * 2 * 3600 - 60
        span = 5.0
        d["@timestamp"] = iso(end)
        d["picket"]["first_seen"] = iso(end - span)
        d["picket"]["last_seen"] = iso(end)
        if "start" in d["event"]:
            d["event"]["start"] = iso(end - span)
            d["event"]["end"] = iso(end)
        d["picket"]["seq"] = first_seq + i
        out.append(json.dumps(d, separators=(",", ":")))
    return out


class Agent:
    """build/picketd as root on lo, its spool pre-filled, shipping to hub."""

    def __init__(self, tmp, hub, certs, agent_id, host_name, driver, lines,
                 health="0"):
        tmp.mkdir(parents=True)
        self.spool, self.log = tmp / "spool", tmp / "agent.log"
        spool_fill(driver, self.spool, lines)
        conf = {
            "agent": {"user": '""', "host_name": host_name},
            "pcap": {"interfaces": "lo", "filter": '"udp port 9"',
                     "health_interval": health},
            "process": {"enabled": "no"},
            "spool": {"dir": str(self.spool), "segment_bytes": "64k"},
            "hub": {"address": f"127.0.0.1:{hub.port}",
                    "server_name": "localhost",
                    "ca": str(certs / "ca.crt"),
                    "cert": str(certs / "agents" / f"{agent_id}.crt"),
                    "key": str(certs / "agents" / f"{agent_id}.key"),
                    "backoff_base": "1s", "backoff_cap": "2s"},
        }
        self.ini = tmp / "agent.ini"
        self.ini.write_text("".join(
            f"[{sec}]\n" + "".join(f"{k} = {v}\n" for k, v in opts.items())
            for sec, opts in conf.items()))
        with open(self.log, "w") as logf:
            self.proc = subprocess.Popen(
                [binary(), "-f", "-c", str(self.ini), "-o",
                 str(tmp / "out.ndjson")], stdout=subprocess.DEVNULL,
                stderr=logf, start_new_session=True)
        assert wait_for(lambda: "running, host" in self.text() or
                        self.proc.poll() is not None, timeout=20), self.text()
        assert self.proc.poll() is None, self.text()

    def text(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            rc = self.proc.wait(timeout=10)
        assert rc == 0, self.text()[-3000:]


def stored(hub, agent_id, rule=None):
    try:
        rows = hub.sql("SELECT json FROM indicators WHERE agent_id = ?",
                       agent_id)
    except (sqlite3.OperationalError, AssertionError):
        return 0
    if rule is None:
        return len(rows)
    return sum(1 for (j,) in rows if json.loads(j)["rule"]["id"] == rule)


def node_path():
    """tests/browser/setup.sh: playwright-core's node_modules directory."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} missing: apt-get install nodejs npm")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium")
    proc = subprocess.run(["sh", str(BROWSER / "setup.sh")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(os.geteuid() != 0, reason="capture on lo needs root")
def test_browser_sees_what_real_agents_reported(tmp_path, hub, certs,
                                                driver):
    modules = node_path()
    sample = []
    for name in CAPTURES:
        _, _, proc = analyse(PCAPS / name)
        sample += proc.stdout.splitlines()
    assert len(sample) >= 4, sample
    rule = json.loads(sample[0])["rule"]["id"]      # picket.scan.port
    viewer = hub.token("viewer", "ui-viewer")
    admin = hub.token("admin", "ui-admin")
    lines1 = recent(sample, "agent-1", "ws-001", 1, 600)
    lines2 = recent(sample[:2], "agent-2", "ws-002", 1, 300)  # an outbreak
    agents = [Agent(tmp_path / "a1", hub, certs, "agent-1", "ws-001", driver,
                    lines1, health="2s"),
              Agent(tmp_path / "a2", hub, certs, "agent-2", "ws-002", driver,
                    lines2)]
    try:
        # Everything pre-filled, and agent-1's own health reports.
        assert wait_for(lambda: stored(hub, "agent-1") >= len(lines1) and
                        stored(hub, "agent-2") >= len(lines2) and
                        stored(hub, "agent-1", "picket.health.capture") >= 1,
                        timeout=60, step=0.2), \
            (stored(hub, "agent-1"), stored(hub, "agent-2"),
             agents[0].text()[-2000:], hub.stderr()[-2000:])
        SHOTS.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ,
                   NODE_PATH=modules,
                   PICKET_UI_URL=f"https://localhost:{hub.api_port}/",
                   PICKET_UI_VIEWER=viewer, PICKET_UI_ADMIN=admin,
                   PICKET_UI_HUB_CERT=str(hub.certs / "hub.crt"),
                   PICKET_UI_RULE=rule, PICKET_UI_HOST="agent-1",
                   PICKET_UI_OUTBREAK="1", PICKET_UI_SHOTS=str(SHOTS),
                   CHROMIUM=CHROMIUM)
        t0 = time.monotonic()
        proc = subprocess.run(["node", str(BROWSER / "ui_test.js")],
                              env=env, capture_output=True, text=True,
                              timeout=180)
        took = time.monotonic() - t0
        print(proc.stdout)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert took < 60, f"the browser test took {took:.0f} s"
        for shot in ("overview.png", "indicators.png"):
            data = (SHOTS / shot).read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
    finally:
        for a in agents:
            a.stop()


def test_browser_orders_a_task_and_sees_its_state(hub, certs):
    """Targeted collection in the UI (tests/browser/ui_tasks_test.js): a
    responder orders a snapshot from a host page and watches its state;
    the host is hubproto's fake agent, which answers START with running.
    A viewer gets no form.  No root needed."""
    import threading
    import hubproto as hp
    modules = node_path()
    responder = hub.token("responder", "ui-responder")
    viewer = hub.token("viewer", "ui-viewer-tasks")
    c = hub.conn("agent-2")
    c.hello("agent-2", host_name="ws-tasks")
    got = []

    def agent():
        try:
            t = c.expect_task(timeout=60)
            got.append(t)
            c.send(hp.result_state(t.id, hp.TS_RUNNING))
            c.expect_task(timeout=60)       # CANCEL or nothing
        except Exception as e:              # the test's end closes it
            got.append(e)

    th = threading.Thread(target=agent, daemon=True)
    th.start()
    try:
        env = dict(os.environ, NODE_PATH=modules,
                   PICKET_UI_URL=f"https://localhost:{hub.api_port}/",
                   PICKET_UI_RESPONDER=responder, PICKET_UI_VIEWER=viewer,
                   PICKET_UI_HUB_CERT=str(hub.certs / "hub.crt"),
                   PICKET_UI_HOST="agent-2", CHROMIUM=CHROMIUM)
        proc = subprocess.run(["node", str(BROWSER / "ui_tasks_test.js")],
                              env=env, capture_output=True, text=True,
                              timeout=180)
        print(proc.stdout)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert got and got[0].op == hp.TOP_START
        assert json.loads(got[0].spec)["type"] == "snapshot"
    finally:
        c.close()
        th.join(5)


@pytest.mark.skipif(os.geteuid() != 0, reason="capture on lo needs root")
def test_browser_runs_an_incident_to_its_report(tmp_path, certs, driver):
    """Incidents in the UI (tests/browser/ui_incidents_test.js): a hub of
    its own (the module's hub has other tests' tasks and tokens) holding
    real indicators, shipped by two real agents the way the first browser
    test seeds them, both reporting the same scans, which makes the
    outbreak the incident is opened from.  A responder runs it from the
    outbreak to the closed report; a viewer reads it.  Screenshots
    incident.png and report.png go to $PICKET_UI_SHOTS."""
    modules = node_path()
    sample = []
    for name in CAPTURES:
        _, _, proc = analyse(PCAPS / name)
        sample += proc.stdout.splitlines()
    assert len(sample) >= 4, sample
    hub = Hub(tmp_path / "hub", certs, ui=True)
    agents = []
    try:
        responder = hub.token("responder", "ui-inc-responder")
        viewer = hub.token("viewer", "ui-inc-viewer")
        lines1 = recent(sample, "agent-1", "ws-001", 1, 600)
        lines2 = recent(sample[:2], "agent-2", "ws-002", 1, 300)
        agents = [Agent(tmp_path / "a1", hub, certs, "agent-1", "ws-001",
                        driver, lines1),
                  Agent(tmp_path / "a2", hub, certs, "agent-2", "ws-002",
                        driver, lines2)]
        assert wait_for(lambda: stored(hub, "agent-1") >= len(lines1) and
                        stored(hub, "agent-2") >= len(lines2),
                        timeout=60, step=0.2), \
            (stored(hub, "agent-1"), stored(hub, "agent-2"),
             hub.stderr()[-2000:])
        SHOTS.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, NODE_PATH=modules,
                   PICKET_UI_URL=f"https://localhost:{hub.api_port}/",
                   PICKET_UI_RESPONDER=responder, PICKET_UI_VIEWER=viewer,
                   PICKET_UI_HUB_CERT=str(hub.certs / "hub.crt"),
                   PICKET_UI_HOST="agent-1", PICKET_UI_SHOTS=str(SHOTS),
                   CHROMIUM=CHROMIUM)
        proc = subprocess.run(["node", str(BROWSER /
                                           "ui_incidents_test.js")],
                              env=env, capture_output=True, text=True,
                              timeout=180)
        print(proc.stdout)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for shot in ("incident.png", "report.png"):
            data = (SHOTS / shot).read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
        # What the browser did is what the hub kept.
        st, _, body = Api(hub).get("/api/v1/incidents?state=closed",
                                   token=viewer)
        assert st == 200, body
        closed = json.loads(body)["incidents"]
        assert len(closed) == 1 and closed[0]["links"] >= 3, closed
    finally:
        for a in agents:
            a.stop()
        rc, _ = hub.stop()
    assert rc == 0


def test_browser_shared_indicators_and_peers(tmp_path):
    """Peering in the UI (tests/browser/ui_peering_test.js): two real hubs
    on loopback, each member with its own CA; A's agents (hubproto)
    report IOC matches of each kind, A pushes them to B under its policy,
    and the browser reads B: the shared list with the origin, filters,
    approve and reject, a viewer's list without buttons, the admin's
    Peers page.  A's name and one rule id are markup, which must show as
    text.  No root needed."""
    import hubproto as hp
    modules = node_path()
    origin = "A <img src=x onerror=alert(1)> SOC"
    rule = "picket.ioc.<script>alert(2)</script>"
    ca = mkcerts(tmp_path / "pki-a", "-a", "agent-a1")
    cb = mkcerts(tmp_path / "pki-b", "-a", "agent-1")
    pa, pb = free_port(), free_port()
    a = Hub(tmp_path / "a", ca, sharing={"name": origin},
            peering={"listen": f"127.0.0.1:{pa}", "push_interval": "1s"})
    b = None
    try:
        b = Hub(tmp_path / "b", cb, ui=True,
                peering={"listen": f"127.0.0.1:{pb}", "push_interval": "1s"})

        def cli(hub, *args):
            p = subprocess.run([str(HUB), *args, "-c", str(hub.ini)],
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, (args, p.stdout, p.stderr)

        now = time.time()
        values = {"domain-name": ["c2.worm.example", "update.worm.example"],
                  "ipv4-addr": ["203.0.113.7"],
                  "url": ["http://drop.worm.example/w.exe"],
                  "file": ["ab" * 32]}
        recs, n = [], 0
        for typ, vs in values.items():
            for v in vs:
                n += 1
                recs.append(json.dumps({
                    "@timestamp": iso(now - 300 + n),
                    "event": {"kind": "alert", "severity": 73},
                    "host": {"name": "ws-a"}, "agent": {"id": "agent-a1"},
                    "rule": {"id": rule if n == 1 else f"picket.ioc.{n}",
                             "name": "IOC", "ruleset": "test"},
                    "network": {"direction": "outbound"},
                    "source": {"ip": "10.9.9.9"},
                    "threat": {"indicator": {"type": typ, "name": v}},
                    "picket": {"count": 1, "first_seen": iso(now - 300),
                               "last_seen": iso(now - 299),
                               "fingerprint": f"{n:032x}",
                               "tlp": ["TLP:CLEAR", "TLP:GREEN",
                                       "TLP:AMBER"][n % 3]}}))
        c = a.conn("agent-a1")
        w = c.hello("agent-a1", host_name="ws-a")
        c.send(hp.batch(w.stored_seq + 1, recs))
        assert hp.decode(c.recv_frame()).seq == w.stored_seq + len(recs)
        c.close()
        cli(b, "peer", "add", "member-a", "--url", f"https://127.0.0.1:{pa}",
            "--ca", str(ca / "ca.crt"))
        cli(a, "peer", "add", "member-b", "--url", f"https://127.0.0.1:{pb}",
            "--ca", str(cb / "ca.crt"), "--send-tlp", "amber")
        viewer = b.token("viewer", "ui-peer-viewer")
        responder = b.token("responder", "ui-peer-responder")
        admin = b.token("admin", "ui-peer-admin")
        want = {v for vs in values.values() for v in vs}
        got = []

        def arrived():
            st, _, body = Api(b).get("/api/v1/shared?limit=100", viewer)
            assert st == 200, body
            got[:] = json.loads(body)["shared"]
            return {r["value"] for r in got} >= want
        assert wait_for(arrived, timeout=40, step=0.5), \
            (got, a.stderr()[-2000:], b.stderr()[-2000:])
        markup = sorted({s for r in got for s in [r["origin"], r["value"],
                                                   *r["rule_ids"]]
                         if "<" in s})
        assert origin in markup, got
        SHOTS.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, NODE_PATH=modules,
                   PICKET_UI_URL=f"https://localhost:{b.api_port}/",
                   PICKET_UI_RESPONDER=responder, PICKET_UI_VIEWER=viewer,
                   PICKET_UI_ADMIN=admin,
                   PICKET_UI_HUB_CERT=str(cb / "hub.crt"),
                   PICKET_UI_PEER="member-a", PICKET_UI_ORIGIN=origin,
                   PICKET_UI_VALUES=json.dumps(sorted(r["value"]
                                                      for r in got)),
                   PICKET_UI_MARKUP=json.dumps(markup),
                   PICKET_UI_SHOTS=str(SHOTS), CHROMIUM=CHROMIUM)
        proc = subprocess.run(["node", str(BROWSER / "ui_peering_test.js")],
                              env=env, capture_output=True, text=True,
                              timeout=180)
        print(proc.stdout)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for shot in ("shared.png", "peers.png"):
            data = (SHOTS / shot).read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
        # What the browser did is what the hub kept.
        st, _, body = Api(b).get("/api/v1/shared?limit=100", viewer)
        rows = json.loads(body)["shared"]
        states = sorted(r["state"] for r in rows)
        assert states.count("approved") == 1, rows
        assert states.count("rejected") == 1, rows
        assert {r["decided_by"] for r in rows if r["decided_by"]} == \
            {"ui-peer-responder"}
    finally:
        for h in (a, b):
            if h is not None:
                rc, _ = h.stop()
                assert rc == 0
