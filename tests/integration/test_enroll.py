"""Enrollment, the member CA and revocation against a real hub (issue 6).

`picket-hub ca init` makes the member CA and the hub's certificate, an
enrollment token comes from `picket-hub enroll-token create`, and
`picketd enroll` gets a certificate over the hub's HTTPS API: files with
tight modes, an agent id that is the certificate's CN and derives from
the key (checked with the openssl command line). A real picketd then
reports with those files alone and the hub stores its indicators under
the enrolled id. Refusals (a used-up, expired, unknown or revoked token;
a malformed request, a bad CSR; the per-address rate limit) each give a
clear message on the agent side and an audit row on the hub. After
`picket-hub agent revoke` the agent's next connection gets ERROR AUTH
and nothing more is stored.

The agent runs in the root namespace on lo (no traffic of its own:
[pcap] filter "udp port 9"); its spool is pre-filled with real indicator
lines (as test_reporting.py does). Needs root for the capture."""
import hashlib
import json
import os
import re
import secrets
import signal
import sqlite3
import ssl
import stat
import subprocess
import time
import http.client

import pytest

import hubproto
from conftest import PCAPS, REPO, analyse, binary, spool_fill
from hubrun import HUB, Hub
from netns import wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="live capture on lo needs root")

REFUSED = ("enrollment token refused: unknown, expired, used up or "
           "revoked")


def hubcmd(hub_or_ini, *args, check=0):
    ini = hub_or_ini.ini if isinstance(hub_or_ini, Hub) else hub_or_ini
    proc = subprocess.run([str(HUB), *args, "-c", str(ini)],
                          capture_output=True, text=True, timeout=60)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stderr)
    return proc


def ca_init(tmp):
    """A hub directory with a CA and hub certificate from `ca init`."""
    tmp.mkdir(parents=True, exist_ok=True)
    pki = tmp / "pki"
    pki.mkdir()
    ini = tmp / "ca-init.ini"
    ini.write_text(f"[hub]\ndata_dir = {tmp / 'data'}\n"
                   f"[tls]\nca = {pki / 'ca.crt'}\ncert = {pki / 'hub.crt'}\n"
                   f"key = {pki / 'hub.key'}\n")
    proc = hubcmd(ini, "ca", "init", "--name", "Test Member CA",
                  "--hub-name", "localhost", "--hub-ip", "127.0.0.1")
    assert "wrote" in proc.stdout
    return pki


def start_hub(tmp):
    pki = ca_init(tmp)
    return Hub(tmp, pki, crl=False)


def token(hub, *args):
    """(secret, id) of a new enrollment token."""
    proc = hubcmd(hub, "enroll-token", "create", *args)
    tid = int(re.search(r"enrollment token (\d+)", proc.stderr).group(1))
    return proc.stdout.strip(), tid


def enroll(hub, tok, d, *extra):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    return subprocess.run([binary(), "enroll", "--hub",
                           f"127.0.0.1:{hub.api_port}", "--token", tok,
                           "--ca", str(hub.certs / "ca.crt"), "--dir",
                           str(d), *extra], capture_output=True, text=True,
                          timeout=60, env=env)


def audit(hub):
    db = sqlite3.connect(f"file:{hub.data / 'hub.db'}?mode=ro", uri=True,
                         timeout=30)
    try:
        return db.execute("SELECT actor, action, target, remote, result "
                          "FROM audit ORDER BY id").fetchall()
    finally:
        db.close()


def enroll_results(hub):
    return [r[4] for r in audit(hub) if r[0] == "enroll"]


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def openssl(*args, stdin=None):
    return subprocess.run(["openssl", *args], input=stdin,
                          capture_output=True, check=True).stdout


def post(hub, body, raw=False):
    """POST /api/v1/enroll from Python: (status, JSON answer)."""
    ctx = ssl.create_default_context(cafile=str(hub.certs / "ca.crt"))
    c = http.client.HTTPSConnection("127.0.0.1", hub.api_port, context=ctx,
                                    timeout=30)
    try:
        c.request("POST", "/api/v1/enroll",
                  body if raw else json.dumps(body),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        c.close()


@pytest.fixture(scope="module")
def sample_lines():
    _, _, proc = analyse(PCAPS / "nmap_synscan.pcap")
    out = proc.stdout.splitlines()
    assert out
    return out


def prefill(driver, spool, lines, first):
    out = []
    for i in range(len(lines)):
        obj = json.loads(lines[i])
        obj["picket"]["seq"] = first + i
        out.append(json.dumps(obj, separators=(",", ":")))
    spool_fill(driver, spool, out)


def stored(hub, agent_id):
    db = sqlite3.connect(f"file:{hub.data / 'hub.db'}?mode=ro", uri=True,
                         timeout=30)
    try:
        return db.execute("SELECT count(*) FROM indicators WHERE "
                          "agent_id = ?", (agent_id,)).fetchone()[0]
    finally:
        db.close()


class Agent:
    """picketd in the root namespace on lo, [hub] from an enrolled dir."""

    def __init__(self, tmp, hub, d, hub_extra=""):
        self.spool = tmp / "spool"
        self.log = tmp / "agent.log"
        self.ini = tmp / "agent.ini"
        self.ini.write_text(
            "[agent]\nuser = \n"
            "[pcap]\ninterfaces = lo\nfilter = udp port 9\n"
            "health_interval = 0\n"
            "[process]\nenabled = no\n"
            f"[spool]\ndir = {self.spool}\nsegment_bytes = 64k\n"
            f"[hub]\naddress = 127.0.0.1:{hub.port}\n"
            f"ca = {d / 'ca.crt'}\ncert = {d / 'agent.crt'}\n"
            f"key = {d / 'agent.key'}\n"
            "backoff_base = 1s\nbackoff_cap = 2s\nconnect_timeout = 3s\n"
            + hub_extra)
        self.proc = None

    def start(self):
        with open(self.log, "a") as logf:
            self.proc = subprocess.Popen([binary(), "-f", "-c",
                                          str(self.ini)],
                                         stdout=subprocess.DEVNULL,
                                         stderr=logf,
                                         start_new_session=True)
        assert wait_for(lambda: "running, host" in self.text()
                        or self.proc.poll() is not None, timeout=20), \
            self.text()
        assert self.proc.poll() is None, self.text()

    def text(self):
        return self.log.read_text(errors="replace") \
            if self.log.exists() else ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0, self.text()[-3000:]

    def kill(self):
        """After a failed test: no agent left behind."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def test_enroll_report_revoke(tmp_path, driver, sample_lines):
    """The whole path: ca init, a token, picketd enroll, a real agent
    reporting with those files, then revocation."""
    hub = start_hub(tmp_path / "hub")
    try:
        tok, _ = token(hub, "--uses", "1", "--tag", "lab")
        assert re.fullmatch(r"pke_[A-Za-z0-9_-]{43}", tok)
        d = tmp_path / "etc-picket"
        proc = enroll(hub, tok, d, "--host-name", "ws-042")
        assert proc.returncode == 0, proc.stderr
        agent_id = proc.stdout.strip()
        assert re.fullmatch(r"a-[0-9a-f]{24}", agent_id)

        # Files and modes; no temporary key left behind.
        assert mode(d) == 0o700
        assert mode(d / "agent.key") == 0o600
        assert mode(d / "agent.crt") == 0o644
        assert mode(d / "ca.crt") == 0o644
        assert sorted(p.name for p in d.iterdir()) == \
            ["agent.crt", "agent.key", "ca.crt"]
        # The id is the certificate's CN, and derives from the key.
        subj = openssl("x509", "-in", str(d / "agent.crt"), "-noout",
                       "-subject", "-nameopt", "RFC2253").decode()
        assert subj.strip() == f"subject=CN={agent_id}"
        der = openssl("pkey", "-in", str(d / "agent.key"), "-pubout",
                      "-outform", "DER")
        assert agent_id == "a-" + hashlib.sha256(der).hexdigest()[:24]
        # The certificate chains to the member CA, for a TLS client.
        openssl("verify", "-CAfile", str(hub.data / "ca" / "ca.crt"),
                "-purpose", "sslclient", str(d / "agent.crt"))
        # The CA key never left data_dir/ca.
        assert mode(hub.data / "ca" / "ca.key") == 0o600
        assert mode(hub.data / "ca") == 0o700

        listing = hubcmd(hub, "agent", "list").stdout
        row = next(l for l in listing.splitlines() if agent_id in l)
        assert "ws-042" in row and "lab" in row and row.rstrip()[-1] == "-"
        assert enroll_results(hub) == ["ok"]
        assert any(r[1] == "enroll_token.create" for r in audit(hub))

        # A real agent with those files ships its spool; the hub stores
        # the indicators under the enrolled id.
        agent = Agent(tmp_path, hub, d)
        lines = (sample_lines * 10)[:10]
        prefill(driver, agent.spool, lines, 1)
        agent.start()
        assert wait_for(lambda: stored(hub, agent_id) >= len(lines),
                        timeout=60, step=0.2), \
            (agent.text()[-2000:], hub.stderr()[-2000:])
        agent.stop()

        # Revoked: the next connection gets ERROR AUTH, nothing stored.
        proc = hubcmd(hub, "agent", "revoke", agent_id)
        assert "revoked" in proc.stdout
        assert ("cli", "agent.revoke", agent_id, "local", "ok") in audit(hub)
        prefill(driver, agent.spool, lines, 1 + len(lines))
        agent.start()
        assert wait_for(lambda: "ERROR auth: revoked" in hub.stderr(),
                        timeout=30), hub.stderr()[-2000:]
        assert wait_for(lambda: "revoked" in agent.text(), timeout=30), \
            agent.text()[-2000:]
        time.sleep(2)
        assert stored(hub, agent_id) == len(lines)
        agent.stop()
        row = next(l for l in hubcmd(hub, "agent", "list").stdout
                   .splitlines() if agent_id in l)
        assert row.rstrip()[-1] != "-"      # the revocation time
        # Revoking again: nothing to revoke.
        assert hubcmd(hub, "agent", "revoke", agent_id,
                      check=1).returncode == 1
        # The key of a revoked agent cannot enroll again (it gets a new
        # key; checked by the hub, with its own message).
        tok2, _ = token(hub)
        st, ans = post(hub, {"token": tok2, "csr": openssl(
            "req", "-new", "-key", str(d / "agent.key"), "-subj", "/CN=x")
            .decode()})
        assert st == 403 and "revoked" in ans["error"], ans
    finally:
        assert hub.stop()[0] == 0


def test_token_refusals(tmp_path):
    """Used up, expired, unknown, revoked: one message for all four on
    the agent side; the hub's log and audit say which."""
    hub = start_hub(tmp_path / "hub")
    try:
        once, _ = token(hub, "--uses", "1")
        assert enroll(hub, once, tmp_path / "d0").returncode == 0
        expired, _ = token(hub, "--expires", "1s")
        revoked, rid = token(hub, "--uses", "5")
        hubcmd(hub, "enroll-token", "revoke", str(rid))
        unknown = "pke_" + secrets.token_urlsafe(32)[:43]
        time.sleep(1.5)
        cases = [(once, "used-up"), (expired, "expired"),
                 (unknown, "unknown"), (revoked, "revoked")]
        for i, (tok, why) in enumerate(cases, 1):
            d = tmp_path / f"d{i}"
            proc = enroll(hub, tok, d)
            assert proc.returncode == 1, (why, proc.stderr)
            assert proc.stdout == ""
            assert f"enrollment refused by the hub (HTTP 403): {REFUSED}" \
                in proc.stderr, (why, proc.stderr)
            # Nothing left behind: no key, no certificate.
            assert list(d.iterdir()) == [], why
            assert f"refused: {why} token" in hub.stderr()
        assert enroll_results(hub) == ["ok", "403 used-up token",
                                       "403 expired token",
                                       "403 unknown token",
                                       "403 revoked token"]
        rows = [r for r in audit(hub) if r[0] == "enroll"]
        assert all(r[3].startswith("127.0.0.1:") for r in rows)
        listing = hubcmd(hub, "enroll-token", "list").stdout
        states = [l.split()[-1] for l in listing.splitlines()[1:]]
        assert states == ["used-up", "expired", "revoked"]
        # A revoked token cannot be revoked twice.
        hubcmd(hub, "enroll-token", "revoke", str(rid), check=1)
    finally:
        assert hub.stop()[0] == 0


def test_bad_requests(tmp_path):
    """Malformed JSON, missing fields, bad CSRs: 400 with a reason, the
    token's use not taken."""
    hub = start_hub(tmp_path / "hub")
    try:
        tok, _ = token(hub, "--uses", "1")
        key = tmp_path / "k.pem"
        good = openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                       str(key), "-subj", "/CN=anything").decode()
        p384 = openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                       "ec_paramgen_curve:P-384", "-nodes", "-keyout",
                       str(tmp_path / "k384.pem"), "-subj", "/CN=x").decode()
        assert post(hub, b"{not json", raw=True)[0] == 400
        st, ans = post(hub, {"csr": good})
        assert (st, ans["error"]) == (400, "token: want a string")
        st, ans = post(hub, {"token": tok, "csr": p384})
        assert st == 400
        assert ans["error"] == "EC key on curve secp384r1, want P-256"
        st, ans = post(hub, {"token": tok, "csr": good.replace("A", "B", 1)
                             [:200]})
        assert st == 400 and ans["error"].startswith("CSR"), ans
        st, ans = post(hub, {"token": tok, "csr": good,
                             "host_name": "bad name\n"})
        assert st == 400 and ans["error"].startswith("host_name"), ans
        # The token survived all of that: its one use is still there,
        # and the hub names the agent by the key, not the CSR's CN.
        st, ans = post(hub, {"token": tok, "csr": good})
        assert st == 200, ans
        der = openssl("pkey", "-in", str(key), "-pubout", "-outform", "DER")
        assert ans["agent_id"] == "a-" + hashlib.sha256(der).hexdigest()[:24]
        assert ans["ca"] == (hub.data / "ca" / "ca.crt").read_text()
        assert "BEGIN CERTIFICATE" in ans["certificate"]
        results = enroll_results(hub)
        assert len(results) == 6 and results[-1] == "ok"
        assert all(r.startswith("400 ") for r in results[:5])
    finally:
        assert hub.stop()[0] == 0


def test_rate_limit(tmp_path):
    """More than 10 attempts a minute from one address: 429, audited
    once, also for picketd enroll."""
    hub = start_hub(tmp_path / "hub")
    try:
        tok, _ = token(hub)
        bad = {"token": "pke_" + "x" * 43, "csr": "x"}
        for _ in range(10):
            assert post(hub, bad)[0] == 403
        st, ans = post(hub, bad)
        assert st == 429
        assert ans["error"] == ("too many enrollment attempts from "
                                "127.0.0.1: at most 10 per 60 s")
        # Even a good token waits for the window to end.
        proc = enroll(hub, tok, tmp_path / "d")
        assert proc.returncode == 1
        assert "(HTTP 429): too many enrollment attempts" in proc.stderr
        assert list((tmp_path / "d").iterdir()) == []
        results = enroll_results(hub)
        assert results.count("429 rate limited") == 1
        assert results.count("403 unknown token") == 10
        assert "over 10 attempts in 60 s" in hub.stderr()
    finally:
        assert hub.stop()[0] == 0


def test_agent_checks_the_hub(tmp_path):
    """The agent verifies the hub against --ca and its name before it
    sends the token."""
    hub = start_hub(tmp_path / "hub")
    other = ca_init(tmp_path / "other")
    try:
        tok, _ = token(hub)
        proc = enroll(hub, tok, tmp_path / "d1", "--server-name",
                      "hub.other.example")
        assert proc.returncode == 1
        assert "certificate verify failed: hostname mismatch" in proc.stderr
        proc = subprocess.run([binary(), "enroll", "--hub",
                               f"127.0.0.1:{hub.api_port}", "--token", tok,
                               "--ca", str(other / "ca.crt"), "--dir",
                               str(tmp_path / "d2")], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 1
        assert "unable to get local issuer certificate" in proc.stderr
        # The token was never shown to the hub: no attempt audited.
        assert enroll_results(hub) == []
        # And it still works against the right hub.
        assert enroll(hub, tok, tmp_path / "d3").returncode == 0
        # A second ca init refuses to overwrite the CA.
        proc = hubcmd(tmp_path / "hub" / "ca-init.ini", "ca", "init",
                      check=1)
        assert "refusing to overwrite" in proc.stderr
    finally:
        assert hub.stop()[0] == 0


def cert_serial(path):
    out = openssl("x509", "-in", str(path), "-noout", "-serial").decode()
    return int(out.strip().split("=", 1)[1], 16)


def cert_end(path):
    out = openssl("x509", "-in", str(path), "-noout", "-enddate").decode()
    return time.mktime(time.strptime(out.strip().split("=", 1)[1],
                                     "%b %d %H:%M:%S %Y GMT"))


def pubkey(path, cert=True):
    if cert:
        return openssl("x509", "-in", str(path), "-noout", "-pubkey")
    return openssl("pkey", "-in", str(path), "-pubout")


def agent_row(hub, agent_id):
    db = sqlite3.connect(f"file:{hub.data / 'hub.db'}?mode=ro", uri=True,
                         timeout=30)
    try:
        return db.execute("SELECT cert_serial, not_after_us FROM agents WHERE "
                          "agent_id = ?", (agent_id,)).fetchone()
    finally:
        db.close()


def check_renewed(hub, d, agent_id, spool, old_serial, old_end):
    """d/agent.crt was renewed: a new serial the hub recorded, a later
    end, the same key and identity, chaining to the member CA, nothing
    left behind.  Returns the new serial."""
    new_serial = cert_serial(d / "agent.crt")
    assert new_serial != old_serial
    assert cert_end(d / "agent.crt") > old_end
    assert pubkey(d / "agent.crt") == pubkey(d / "agent.key", False)
    subj = openssl("x509", "-in", str(d / "agent.crt"), "-noout",
                   "-subject", "-nameopt", "RFC2253").decode()
    assert subj.strip() == f"subject=CN={agent_id}"
    openssl("verify", "-CAfile", str(hub.data / "ca" / "ca.crt"),
            "-purpose", "sslclient", str(d / "agent.crt"))
    assert not (spool / "renewed.crt").exists()
    assert sorted(p.name for p in d.iterdir()) == \
        ["agent.crt", "agent.key", "ca.crt"]
    serial, _ = agent_row(hub, agent_id)
    assert int(serial, 16) == new_serial
    return new_serial


def test_agent_renews_its_certificate(tmp_path, driver, sample_lines,
                                      request):
    """An enrolled agent whose certificate is within renew_before asks
    the hub over its connection, the root supervisor checks and installs
    the new certificate, a new shipper reports with it, and asking again
    within the hour is answered "later" without breaking the session."""
    hub = start_hub(tmp_path / "hub")
    try:
        tok, _ = token(hub)
        d = tmp_path / "etc-picket"
        proc = enroll(hub, tok, d)
        assert proc.returncode == 0, proc.stderr
        agent_id = proc.stdout.strip()
        old_serial = cert_serial(d / "agent.crt")
        old_end = cert_end(d / "agent.crt")
        time.sleep(1.1)     # the new certificate must end later

        # Certificates last 397 days: 400 d before expiry is now.
        agent = Agent(tmp_path, hub, d, hub_extra="renew_before = 400d\n")
        request.addfinalizer(agent.kill)
        lines = (sample_lines * 10)[:10]
        prefill(driver, agent.spool, lines, 1)
        agent.start()
        assert wait_for(lambda: "certificate renewed: " in agent.text(),
                        timeout=60), (agent.text()[-3000:],
                                      hub.stderr()[-2000:])
        # Same key, same identity, chains to the member CA; the hub
        # recorded the new certificate and audited the renewal.
        new_serial = check_renewed(hub, d, agent_id, agent.spool,
                                   old_serial, old_end)
        assert mode(d / "agent.crt") == 0o644
        assert any(r[0] == agent_id and r[1] == "RENEW" and r[4] == "ok"
                   for r in audit(hub))
        # The shipper started again with the new certificate: it
        # reconnects, ships, and (still within 400 d) is told to wait.
        assert wait_for(lambda: "renewed less than an hour ago" in
                        agent.text(), timeout=60), agent.text()[-3000:]
        assert wait_for(lambda: stored(hub, agent_id) >= len(lines),
                        timeout=60, step=0.2), agent.text()[-2000:]
        assert agent.text().count("hub: connected to") >= 2
        assert cert_serial(d / "agent.crt") == new_serial
        agent.stop()
        assert "stats: shipper.renewals_refused 1" in agent.text()
        results = [r[4] for r in audit(hub) if r[1] == "RENEW"]
        assert results == ["ok", "later: renewed less than an hour ago"]
    finally:
        assert hub.stop()[0] == 0


def test_renew_refusals(tmp_path):
    """RENEW over a raw connection: a request for the connection's own
    key is signed; another key's, garbage, a second one within the hour,
    or one from an agent that never enrolled here are refused with a
    reason while the session goes on; non-PEM bytes end it."""
    hub = start_hub(tmp_path / "hub")
    try:
        tok, _ = token(hub)
        d = tmp_path / "etc-picket"
        proc = enroll(hub, tok, d)
        assert proc.returncode == 0, proc.stderr
        agent_id = proc.stdout.strip()
        ctx = hubproto.client_context(hub.certs / "ca.crt", d / "agent.crt",
                                      d / "agent.key")

        def ask(c, csr):
            c.send(hubproto.renew(csr))
            return c.expect(hubproto.CERT)

        other = tmp_path / "other.key"
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", str(other))
        with hubproto.Conn("127.0.0.1", hub.port, ctx) as c:
            c.hello(agent_id)
            a = ask(c, openssl("req", "-new", "-key", str(other), "-subj",
                               f"/CN={agent_id}"))
            assert a.result == hubproto.CERT_REFUSED, a
            assert "not for the key" in a.message
            a = ask(c, b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n")
            assert a.result == hubproto.CERT_REFUSED, a
            assert a.message.startswith("bad request")
            # Its own key (the subject asked for is ignored).
            a = ask(c, openssl("req", "-new", "-key", str(d / "agent.key"),
                               "-subj", "/CN=someone-else"))
            assert a.result == hubproto.CERT_ISSUED, a
            crt = tmp_path / "issued.crt"
            crt.write_text(a.pem)
            subj = openssl("x509", "-in", str(crt), "-noout", "-subject",
                           "-nameopt", "RFC2253").decode()
            assert subj.strip() == f"subject=CN={agent_id}"
            assert pubkey(crt) == pubkey(d / "agent.key", False)
            a = ask(c, openssl("req", "-new", "-key", str(d / "agent.key"),
                               "-subj", "/CN=x"))
            assert a.result == hubproto.CERT_LATER, a
            assert "less than an hour" in a.message
            # The session is still good for batches.
            assert c.send_batch(1, ['{"x":1}']) >= 0
            # Bytes that are not PEM text: a malformed frame.
            c.send(hubproto.frame(hubproto.RENEW, b"\x00\x01"))
            err = c.expect_error_and_close()
            assert err.code == hubproto.E_PROTOCOL, err

        # A certificate made by hand with the CA key (CN = the key's id,
        # but no enrollment row): renewal is the operator's.
        key = tmp_path / "hand.key"
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-out", str(key))
        der = openssl("pkey", "-in", str(key), "-pubout", "-outform", "DER")
        hid = "a-" + hashlib.sha256(der).hexdigest()[:24]
        csr = openssl("req", "-new", "-key", str(key), "-subj", f"/CN={hid}")
        ext = tmp_path / "ext.cnf"
        ext.write_text("extendedKeyUsage = clientAuth\n")
        hand = tmp_path / "hand.crt"
        openssl("x509", "-req", "-CA", str(hub.data / "ca" / "ca.crt"),
                "-CAkey", str(hub.data / "ca" / "ca.key"), "-days", "2",
                "-extfile", str(ext), "-out", str(hand), stdin=csr)
        ctx = hubproto.client_context(hub.certs / "ca.crt", hand, key)
        with hubproto.Conn("127.0.0.1", hub.port, ctx) as c:
            c.hello(hid)
            a = ask(c, csr)
            assert a.result == hubproto.CERT_REFUSED, a
            assert "did not enroll" in a.message
        # Audited on the hub, actor the agent (results are cut to the
        # audit column's width).
        results = [(r[0], r[4]) for r in audit(hub) if r[1] == "RENEW"]
        assert [a for a, _ in results] == [agent_id] * 4 + [hid]
        want = ["refused: the request is not for the key",
                "refused: bad request", "ok",
                "later: renewed less than an hour ago",
                "refused: this agent did not enroll with this hub"]
        assert len(results) == len(want)
        for (_, got), w in zip(results, want):
            assert got.startswith(w), (got, w)
    finally:
        assert hub.stop()[0] == 0
