"""`picketd status` over the control socket (issue 8, Service).

A real hub (hubrun.py, enrollment as in test_enroll.py) and a real
picketd on lo. The status shows the supervisor's own data (version, pid,
uptime, reloads), the collector's (collectors active, packets, drops)
and the shipper's (spool, hub state, last ACK), and its exit status
follows systemctl's conventions: 0 connected, 1 running but the hub is
not connected, 3 not running, 4 not allowed. The socket takes one fixed
request: anything else gets an error line, a silent client does not
stop others for long, and a non-root user cannot connect. Needs root."""
import json
import os
import pathlib
import re
import socket
import subprocess
import tempfile
import time

import pytest

import test_enroll as te
from conftest import binary
from netns import wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="live capture on lo needs root")


def status(ini, *args, user=None):
    cmd = [binary(), "status", "-c", str(ini), *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}",
               "--clear-groups", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20)


def ask(path, data, wait=5):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(wait)
        s.connect(str(path))
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out.decode()
            out += b


def test_status_with_a_hub(tmp_path):
    hub = te.start_hub(tmp_path / "hub")
    a = None
    try:
        tok, _ = te.token(hub)
        d = tmp_path / "etc-picket"
        assert te.enroll(hub, tok, d).returncode == 0
        a = te.Agent(tmp_path, hub, d)
        sock = tmp_path / "run" / "picketd.sock"
        a.ini.write_text(a.ini.read_text().replace(
            "[agent]\nuser = \n",
            f"[agent]\nuser = \ncontrol_socket = {sock}\n"))
        # Not started yet: "not running", 3.
        r = status(a.ini)
        assert r.returncode == 3, (r.stdout, r.stderr)
        assert r.stdout == "picketd: not running\n"
        a.start()
        assert wait_for(lambda: status(a.ini).returncode == 0,
                        timeout=30), status(a.ini)
        assert (sock.parent.stat().st_mode & 0o777) == 0o700
        assert (sock.stat().st_mode & 0o777) == 0o600
        r = status(a.ini)
        print("\n" + r.stdout)
        lines = r.stdout.splitlines()
        assert re.fullmatch(r"picketd \S+: running, pid \d+, up \d+s "
                            r"\(since \S+Z\)", lines[0]), lines
        assert lines[1] == f"config: {a.ini}, 0 reloads, 0 refused"
        assert re.fullmatch(r"collector: running, pid \d+, up \d+s, "
                            r"0 restarts, last exit none", lines[2])
        assert lines[3] == "  collectors active: pcap"
        assert re.fullmatch(r"  packets: \d+, indicators: \d+", lines[4])
        assert re.fullmatch(r"  rules: (\d+|off), IOC entries: (\d+|off), "
                            r"reloads: 0, refused: 0", lines[5])
        assert lines[6] == "  drops: kernel 0, agent 0, spool 0"
        assert re.fullmatch(r"  spool: \d+ bytes in \d+ segments?, "
                            r"oldest seq \d+, next seq \d+", lines[7])
        assert re.fullmatch(r"shipper: running, pid \d+, up \d+s, "
                            r"0 restarts, last exit none", lines[8])
        assert re.fullmatch(rf"  hub: connected 127\.0\.0\.1:{hub.port} "
                            r"since \S+Z", lines[9])
        assert lines[10].startswith("  last ack: ")
        j = json.loads(status(a.ini, "--json").stdout)
        assert j["hub"]["state"] == "connected"
        assert j["collector"]["running"] and j["shipper"]["running"]
        assert j["collectors"] == ["pcap"]
        assert set(j["drops"]) == {"kernel", "agent", "spool"}
        assert set(j["spool"]) == {"bytes", "segments", "oldest_seq",
                                   "next_seq"}

        # Only the fixed words; a silent client is dropped after 2 s and
        # the next one is answered.
        assert ask(sock, b"hello\n") == \
            'ERR unknown request (send "status" or "status json")\n'
        assert ask(sock, b"status\x00\n").startswith("ERR ")
        assert ask(sock, b"x" * 100).startswith("ERR ")
        assert ask(sock, b"status\n").startswith("OK 0\npicketd ")
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.connect(str(sock))
        t0 = time.monotonic()
        r = status(a.ini)
        assert r.returncode == 0 and time.monotonic() - t0 < 4
        silent.close()
        # Not root: refused by the socket's mode.
        with tempfile.TemporaryDirectory() as pub:
            os.chmod(pub, 0o755)
            ini = pathlib.Path(pub) / "agent.ini"
            ini.write_text(f"[agent]\ncontrol_socket = {sock}\n")
            os.chmod(ini, 0o644)
            r = status(ini, user=65534)
        assert r.returncode == 4, (r.stdout, r.stderr)
        assert "root only" in r.stderr

        # The hub goes away: 1, with the reason.
        hub.stop()
        assert wait_for(lambda: status(a.ini).returncode == 1,
                        timeout=30), status(a.ini).stdout
        assert wait_for(lambda: json.loads(status(a.ini, "--json").stdout)
                        ["hub"]["state"] == "failed", timeout=30)
        j = json.loads(status(a.ini, "--json").stdout)
        assert j["hub"]["last_error"], j
        assert re.search(r"  hub: (failed|connecting) 127\.0\.0\.1:\d+ "
                         r"since \S+", status(a.ini).stdout)
        a.stop()
        r = status(a.ini)
        assert r.returncode == 3 and not sock.exists()
    finally:
        if a is not None:
            a.kill()
        hub.stop()


def test_status_off_and_without_hub(tmp_path):
    ini = tmp_path / "off.ini"
    ini.write_text("[agent]\ncontrol_socket = \n")
    r = status(ini)
    assert r.returncode == 4 and "control_socket is off" in r.stderr
