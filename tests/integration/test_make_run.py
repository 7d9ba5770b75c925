"""`make run` (packaging/run.sh) does what the README says: a local hub
with fresh certificates, the agent live on this host reporting to it,
indicators on stdout; a port scan of loopback shows up on stdout, through
the hub's API with the viewer token the script prints, and, after Ctrl-C,
in the hub's store summary."""
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import REPO, binary
from hubrun import HUB
from netns import wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="live capture needs root")


def port_free(port):
    with socket.socket() as s:
        # As the hub binds: TIME-WAIT leftovers of an earlier hub do not
        # stop it.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_make_run(tmp_path):
    if not port_free(7443) or not port_free(8443):
        pytest.skip("127.0.0.1:7443 or :8443 is in use here")
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "w") as fo, open(err, "w") as fe:
        proc = subprocess.Popen(["sh", "packaging/run.sh", binary(),
                                 str(HUB)], cwd=REPO, stdout=fo, stderr=fe,
                                start_new_session=True)
    try:
        assert wait_for(lambda: "running, host" in err.read_text(),
                        timeout=60), err.read_text()
        assert wait_for(lambda: "hub: connected" in err.read_text(),
                        timeout=20), err.read_text()
        time.sleep(0.5)
        # The README's example: 41 closed ports on loopback.
        for port in range(20000, 20041):
            with socket.socket() as s:
                s.settimeout(0.5)
                try:
                    s.connect(("127.0.0.1", port))
                except OSError:
                    pass
        assert wait_for(lambda: "picket.scan.port" in out.read_text(),
                        timeout=20), out.read_text()
        # The API, with the viewer token the script printed.
        m = re.search(r"--cacert (\S+) -H 'Authorization: Bearer "
                      r"(pkt_[A-Za-z0-9_-]+)' (https://\S+)",
                      err.read_text())
        assert m, err.read_text()
        ctx = ssl.create_default_context(cafile=m.group(1))

        def api_has_scan():
            c = http.client.HTTPSConnection("127.0.0.1", 8443, context=ctx,
                                            timeout=10)
            c.request("GET", "/api/v1/indicators?rule=picket.scan.port",
                      headers={"Authorization": f"Bearer {m.group(2)}"})
            r = c.getresponse()
            body = json.loads(r.read())
            c.close()
            return r.status == 200 and len(body["indicators"]) > 0
        assert wait_for(api_has_scan, timeout=20)
        # The web UI the script points at.
        c = http.client.HTTPSConnection("127.0.0.1", 8443, context=ctx,
                                        timeout=10)
        c.request("GET", "/")
        r = c.getresponse()
        page = r.read().decode()
        c.close()
        assert r.status == 200 and "<html" in page.lower(), page[:200]
        # The demo replay through the veth pair raises worm rules
        # (wormgen's captures) within a minute.
        assert wait_for(lambda: "replaying" in err.read_text(),
                        timeout=60), err.read_text()[-3000:]
        assert wait_for(lambda: "SQL Slammer" in out.read_text(),
                        timeout=60), out.read_text()[-3000:]
        slammer = next(json.loads(l) for l in out.read_text().splitlines()
                       if "SQL Slammer" in l)

        def api_has(rule):
            c = http.client.HTTPSConnection("127.0.0.1", 8443, context=ctx,
                                            timeout=10)
            c.request("GET", f"/api/v1/indicators?rule={rule}",
                      headers={"Authorization": f"Bearer {m.group(2)}"})
            r = c.getresponse()
            body = json.loads(r.read())
            c.close()
            return r.status == 200 and len(body["indicators"]) > 0
        # ... and the hub has it from the agent.
        assert wait_for(lambda: api_has(slammer["rule"]["id"]), timeout=30)
        os.killpg(proc.pid, signal.SIGINT)     # Ctrl-C in the terminal
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = err.read_text()
    assert "picket-hub stores" in text, text[-3000:]
    summary = text.rsplit("picket-hub stores", 1)[1]
    assert "picket.scan.port" in summary, text[-3000:]
    # The agent enrolled with a token: its id derives from its key.
    m = re.search(r"picketd: enrolled as (a-[0-9a-f]{24})", text)
    assert m, text[-3000:]
    assert m.group(1)[:16] in summary     # the AGENT column is 16 wide

