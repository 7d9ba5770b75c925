"""`picket-hub peer add|list|show|set|remove` (docs/peering.md, "Peers")
against a real data dir, with a running `picket-hub serve` on it and with
the hub stopped: a peer added with a CA made by packaging/mkcerts.sh
carries the SHA-256 of that CA's DER (computed here with Python's ssl,
not the hub's code) and keeps the PEM in the database, so the file can
go; the defaults of docs/peering.md; list and show (table and --json);
set changes only what it is given; remove; refusals (bad names, TLP:RED
either way, URLs with a path, another scheme, no port, a PEM with a
private key, a file that is not PEM, a file over the size cap, unknown
kinds, a severity over 100, a duplicate, an unknown peer) leave nothing
behind; every change is in the audit log the API serves, with actor
"cli"; a hub.ini with a bad [peering] value is refused naming it.  The
hub is PICKET_HUB (default build/picket-hub)."""
import hashlib
import http.client
import json
import re
import sqlite3
import ssl
import subprocess

import pytest

from hubrun import HUB, Hub, mkcerts


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return mkcerts(tmp_path_factory.mktemp("certs") / "pki")


@pytest.fixture(scope="module")
def peer_pki(tmp_path_factory):
    """Another member's CA (its own mkcerts run)."""
    return mkcerts(tmp_path_factory.mktemp("peer") / "pki", "-H",
                   "hub.b.example")


def der_sha256(pem_text):
    """SHA-256 of the first certificate's DER, by Python's ssl."""
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                  pem_text, re.S)
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(m.group(0))).hexdigest()


def peer(args, db=None, ini=None, check=True):
    cmd = [str(HUB), "peer", *args]
    cmd += ["--db", str(db)] if db is not None else ["-c", str(ini)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert "Sanitizer" not in p.stderr and "runtime error" not in p.stderr
    if check:
        assert p.returncode == 0, (args, p.stderr)
    return p


def api_get(hub, certs, path, token):
    ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    c = http.client.HTTPSConnection(hub.host, hub.api_port, context=ctx,
                                    timeout=30)
    c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, json.loads(body)


def shown(db, name):
    return json.loads(peer(["show", name, "--json"], db=db).stdout)


def test_peer_lifecycle_with_the_hub_running(tmp_path, certs, peer_pki):
    h = Hub(tmp_path / "hub", certs)
    admin = h.token("admin", "ops")
    ca = tmp_path / "b-ca.pem"
    ca.write_text((peer_pki / "ca.crt").read_text())
    want = der_sha256(ca.read_text())

    p = peer(["add", "state-b", "--url", "https://hub.b.example:7444",
              "--ca", str(ca)], ini=h.ini)
    assert want in p.stderr
    # the CA is in the database: the file is not needed any more
    ca.unlink()
    rec = json.loads(peer(["show", "state-b", "--json"], ini=h.ini).stdout)
    assert rec["name"] == "state-b"
    assert rec["url"] == "https://hub.b.example:7444"
    assert rec["ca_sha256"] == want
    assert rec["enabled"] is True
    # docs/peering.md's defaults
    assert rec["policy"] == {"send_tlp": "TLP:GREEN", "send_min_severity": 0,
                             "send_kinds": "fingerprint,rule,ioc,scan",
                             "send_excerpts": False,
                             "accept_tlp": "TLP:AMBER",
                             "auto_approve": False}
    assert rec["sent"]["cursor"] == 0 and rec["sent"]["sequence"] == 1
    assert rec["sent"]["last_push"] == "never"
    assert rec["received"] == {"sequence": 0, "bundles": 0,
                               "indicators": 0, "refused": 0}
    db = sqlite3.connect(str(h.data / "hub.db"))
    pem, = db.execute("SELECT ca_pem FROM peers WHERE name = 'state-b'"
                      ).fetchone()
    db.close()
    assert pem == (peer_pki / "ca.crt").read_text()

    # a second peer with every option
    peer(["add", "county.a_1", "--url", "https://[::1]:7445/", "--ca",
          str(peer_pki / "ca.crt"), "--send-tlp", "amber+strict",
          "--send-min-severity", "40", "--send-kinds", "ioc,scan",
          "--accept-tlp", "TLP:CLEAR", "--auto-approve", "--disabled",
          "--send-excerpts"],
         ini=h.ini)
    rec = json.loads(peer(["show", "county.a_1", "--json"],
                          ini=h.ini).stdout)
    assert rec["enabled"] is False
    assert rec["policy"] == {"send_tlp": "TLP:AMBER+STRICT",
                             "send_min_severity": 40,
                             "send_kinds": "ioc,scan",
                             "send_excerpts": True,
                             "accept_tlp": "TLP:CLEAR",
                             "auto_approve": True}

    # list: a header and one line per peer, by name, with the CA prefix
    out = peer(["list"], ini=h.ini).stdout.splitlines()
    assert out[0].split()[:3] == ["NAME", "URL", "ON"]
    assert [line.split()[0] for line in out[1:]] == ["county.a_1", "state-b"]
    b = out[2].split()
    assert b[1:5] == ["https://hub.b.example:7444", "yes", "TLP:GREEN",
                      "TLP:AMBER"]
    assert b[5] == want[:16] and b[6:9] == ["0", "1", "never"]
    assert b[9] == "no" and out[1].split()[9] == "yes"   # EXC
    js = [json.loads(x) for x in
          peer(["list", "--json"], ini=h.ini).stdout.splitlines()]
    assert [x["name"] for x in js] == ["county.a_1", "state-b"]
    # show as text names everything
    text = peer(["show", "state-b"], ini=h.ini).stdout
    for word in (want, "https://hub.b.example:7444", "TLP:GREEN",
                 "TLP:AMBER", "fingerprint,rule,ioc,scan", "next sequence 1",
                 "pending until an analyst decides"):
        assert word in text, (word, text)

    # set changes what it is given and nothing else
    peer(["set", "county.a_1", "--enabled", "--no-auto-approve",
          "--send-kinds", "fingerprint", "--no-send-excerpts"], ini=h.ini)
    rec = json.loads(peer(["show", "county.a_1", "--json"],
                          ini=h.ini).stdout)
    assert rec["enabled"] is True
    assert rec["policy"] == {"send_tlp": "TLP:AMBER+STRICT",
                             "send_min_severity": 40,
                             "send_kinds": "fingerprint",
                             "send_excerpts": False,
                             "accept_tlp": "TLP:CLEAR",
                             "auto_approve": False}
    assert rec["url"] == "https://[::1]:7445/" and rec["ca_sha256"] == want
    # a new CA replaces the old one and its hash
    peer(["set", "county.a_1", "--ca", str(certs / "ca.crt"), "--url",
          "https://127.0.0.1:7446"], ini=h.ini)
    rec = json.loads(peer(["show", "county.a_1", "--json"],
                          ini=h.ini).stdout)
    assert rec["ca_sha256"] == der_sha256((certs / "ca.crt").read_text())
    assert rec["url"] == "https://127.0.0.1:7446"
    assert rec["policy"]["send_min_severity"] == 40

    # remove
    peer(["remove", "county.a_1"], ini=h.ini)
    p = peer(["show", "county.a_1"], ini=h.ini, check=False)
    assert p.returncode == 1 and "no peer county.a_1" in p.stderr
    p = peer(["remove", "county.a_1"], ini=h.ini, check=False)
    assert p.returncode == 1 and "no peer" in p.stderr
    p = peer(["set", "county.a_1", "--enabled"], ini=h.ini, check=False)
    assert p.returncode == 1 and "no peer" in p.stderr
    # a duplicate is refused and changes nothing
    p = peer(["add", "state-b", "--url", "https://other.example:1",
              "--ca", str(certs / "ca.crt")], ini=h.ini, check=False)
    assert p.returncode == 1 and "exists" in p.stderr
    rec = json.loads(peer(["show", "state-b", "--json"], ini=h.ini).stdout)
    assert rec["url"] == "https://hub.b.example:7444"
    assert rec["ca_sha256"] == want

    # every change, and the refused ones at the store, are audited
    st, a = api_get(h, certs, "/api/v1/audit?limit=1000", admin)
    assert st == 200, a
    rows = [(x["action"], x["target"], x["result"]) for x in a["audit"]
            if x["actor"] == "cli" and x["action"].startswith("peer.")]
    assert sorted(rows) == sorted([
        ("peer.add", "state-b", "ok"),
        ("peer.add", "county.a_1", "ok"),
        ("peer.update", "county.a_1", "ok"),
        ("peer.update", "county.a_1", "ok"),
        ("peer.remove", "county.a_1", "ok"),
        ("peer.remove", "county.a_1", "404"),
        ("peer.update", "county.a_1", "404"),
        ("peer.add", "state-b", "409"),
    ]), rows
    rc, _ = h.stop()
    assert rc == 0


def test_refusals_leave_nothing(tmp_path, certs, peer_pki):
    db = tmp_path / "hub.db"
    ca = str(peer_pki / "ca.crt")
    notpem = tmp_path / "notes.txt"
    notpem.write_text("this is not a certificate\n")
    binary = tmp_path / "ca.der"
    binary.write_bytes(ssl.PEM_cert_to_DER_cert(
        (peer_pki / "ca.crt").read_text()))
    keyed = tmp_path / "ca-and-key.pem"
    keyed.write_text((peer_pki / "ca.crt").read_text() +
                     (peer_pki / "ca.key").read_text())
    big = tmp_path / "big.pem"
    big.write_text("# padding\n" * 7000 + (peer_pki / "ca.crt").read_text())
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nMIIB!!!!\n"
                      "-----END CERTIFICATE-----\n")
    unended = tmp_path / "unended.pem"
    unended.write_text((peer_pki / "ca.crt").read_text().split("-----END")[0])
    url = "https://hub.b.example:7444"
    cases = [
        (["add", "bad/name", "--url", url, "--ca", ca], "peer name"),
        (["add", "a" * 65, "--url", url, "--ca", ca], "peer name"),
        (["add", "sp ace", "--url", url, "--ca", ca], "peer name"),
        (["add", "b", "--url", url, "--ca", ca, "--send-tlp", "red"],
         "TLP:RED"),
        (["add", "b", "--url", url, "--ca", ca, "--accept-tlp", "TLP:RED"],
         "TLP:RED"),
        (["add", "b", "--url", url, "--ca", ca, "--send-tlp", "white+"],
         "not a TLP"),
        (["add", "b", "--url", "https://hub.b.example:7444/peer/v1",
          "--ca", ca], "--url"),
        (["add", "b", "--url", "http://hub.b.example:7444", "--ca", ca],
         "https://"),
        (["add", "b", "--url", "https://hub.b.example", "--ca", ca], "PORT"),
        (["add", "b", "--url", "https://hub.b.example:0", "--ca", ca],
         "1..65535"),
        (["add", "b", "--url", "https://u@hub.b.example:7444", "--ca", ca],
         "--url"),
        (["add", "b", "--url", "https://[::1:7444", "--ca", ca], "--url"),
        (["add", "b", "--url", url, "--ca", str(notpem)], "not a PEM"),
        (["add", "b", "--url", url, "--ca", str(binary)], "not a PEM"),
        (["add", "b", "--url", url, "--ca", str(keyed)], "PRIVATE KEY"),
        (["add", "b", "--url", url, "--ca", str(big)], "65536"),
        (["add", "b", "--url", url, "--ca", str(broken)], "not a DER"),
        (["add", "b", "--url", url, "--ca", str(unended)], "END"),
        (["add", "b", "--url", url, "--ca", str(tmp_path / "none.pem")],
         "none.pem"),
        (["add", "b", "--url", url, "--ca", ca, "--send-kinds", "ioc,worm"],
         "worm"),
        (["add", "b", "--url", url, "--ca", ca, "--send-kinds", ""],
         "at least one"),
        (["add", "b", "--url", url, "--ca", ca, "--send-min-severity",
          "101"], "0..100"),
        (["add", "b", "--url", url], "--ca are required"),
        (["add", "b", "--ca", ca], "--url and --ca"),
        (["add"], "usage"),
        (["show"], "usage"),
        (["frob", "b"], "usage"),
        (["list", "extra"], "usage"),
        (["add", "b", "c", "--url", url, "--ca", ca], "usage"),
    ]
    for args, word in cases:
        p = peer(args, db=db, check=False)
        assert p.returncode == 2 and word in p.stderr, (args, p.stderr)
    p = subprocess.run([str(HUB), "peer"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2 and "usage" in p.stderr
    # nothing was stored by any of them
    out = peer(["list"], db=db).stdout.splitlines()
    assert len(out) == 1 and out[0].startswith("NAME")
    # a set refused for its values changes nothing
    peer(["add", "b", "--url", url, "--ca", ca], db=db)
    before = shown(db, "b")
    for args in (["--send-tlp", "red"], ["--url", "https://x:1/p"],
                 ["--ca", str(keyed)], ["--send-min-severity", "-1"]):
        p = peer(["set", "b", *args], db=db, check=False)
        assert p.returncode == 2, (args, p.stderr)
    assert shown(db, "b") == before


def test_ca_file_forms(tmp_path, peer_pki, certs):
    """Text around the block (openssl x509 -text) is allowed; with two
    certificates the first one's hash is shown; CRLF line ends work."""
    db = tmp_path / "hub.db"
    first = (peer_pki / "ca.crt").read_text()
    second = (certs / "ca.crt").read_text()
    texty = tmp_path / "texty.pem"
    texty.write_text("Certificate:\n    Data: what openssl prints\n" + first)
    two = tmp_path / "two.pem"
    two.write_text(first + second)
    crlf = tmp_path / "crlf.pem"
    crlf.write_bytes(first.replace("\n", "\r\n").encode())
    url = "https://hub.b.example:7444"
    for name, f in (("texty", texty), ("two", two), ("crlf", crlf)):
        peer(["add", name, "--url", url, "--ca", str(f)], db=db)
        assert shown(db, name)["ca_sha256"] == der_sha256(first), name


def test_bad_peering_config_is_refused(tmp_path, certs):
    """The CLI loads hub.ini: a bad [peering] value stops it, named."""
    ini = tmp_path / "hub.ini"
    ini.write_text(f"[hub]\ndata_dir = {tmp_path / 'data'}\n"
                   "[peering]\npush_interval = 0s\nmax_bundle_bytes = 9G\n"
                   "listen = 7444\n")
    p = peer(["list"], ini=ini, check=False)
    assert p.returncode == 1
    for opt in ("push_interval", "max_bundle_bytes", "listen"):
        assert f"[peering] {opt}:" in p.stderr, p.stderr
    ini.write_text(f"[hub]\ndata_dir = {tmp_path / 'data'}\n"
                   "[peering]\nlisten = 127.0.0.1:7444\npush_interval = 5m\n"
                   "max_bundle_bytes = 512k\nmax_bundle_objects = 100\n")
    p = peer(["list"], ini=ini)
    assert p.stdout.startswith("NAME")
