"""`make run` (packaging/run.sh) does what the README says: a local hub
with fresh certificates, the agent live on this host reporting to it,
indicators on stdout; a port scan of loopback shows up on stdout and, after
Ctrl-C, in the hub's store summary."""
import os
import signal
import socket
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
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_make_run(tmp_path):
    if not port_free(7443):
        pytest.skip("127.0.0.1:7443 is in use here")
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
    assert "run-agent" in summary
