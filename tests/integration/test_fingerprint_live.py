"""Worm fingerprinting on live traffic between two test hosts.

Host b runs the agent.  Host a has 30 addresses on its veth, standing for
30 hosts.  A generated unknown "worm" on b sends one novel payload to all
of them: flagged.  The same payload sent 40 times to one host, and a
popular file fetched by all 30 "hosts" from a web server on b, are not.
"""
import os
import signal
import sys
import time

import pytest

from conftest import REPO, binary, parse_indicators
from netns import WORM, Pair, novel_payload, sink_code, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

HOSTS = [f"10.201.0.{i}" for i in range(10, 40)]
SINK = sink_code(64)


def run_agent(pair, tmp_path, action):
    cfg = tmp_path / "agent.ini"
    cfg.write_text("[pcap]\ninterfaces = veth-pkb\n[process]\nenabled = no\n")
    out = tmp_path / "out.ndjson"
    for h in HOSTS:
        pair.run(pair.a, "ip", "addr", "add", f"{h}/24", "dev", "veth-pka")
    agent = pair.popen(pair.b, binary(), "-f", "-c", str(cfg), "-o",
                       str(out), text=True)
    lines = []

    def ready():
        lines.append(agent.stderr.readline())
        return "running, host" in lines[-1] or agent.poll() is not None
    assert wait_for(ready, timeout=20), lines
    action()
    time.sleep(1.0)
    agent.send_signal(signal.SIGTERM)
    _, err = agent.communicate(timeout=30)
    assert agent.returncode == 0, err
    return parse_indicators(out.read_text()), err


def fingerprints(inds):
    return [i for i in inds if i["rule"]["id"].startswith("picket.fingerprint")]


def start_sink(pair):
    sink = pair.popen(pair.a, sys.executable, "-c", SINK, text=True)
    assert sink.stdout.readline().strip() == "ready"


def test_unknown_worm_is_flagged(tmp_path):
    payload = novel_payload()
    with Pair() as pair:
        def spread():
            start_sink(pair)
            pair.run(pair.b, sys.executable, "-c", WORM, payload.hex(),
                     *HOSTS)
        inds, _ = run_agent(pair, tmp_path, spread)
    found = fingerprints(inds)
    ends = [i for i in found if i["event"]["type"][0] == "end"]
    assert len(ends) == 1, found
    d = ends[0]["picket"]["details"]
    assert d["distinct_destinations"] >= 20
    assert ends[0]["source"]["ip"] == "10.201.0.2"
    assert ends[0]["network"]["direction"] == "outbound"
    assert ends[0]["destination"]["port"] == 8445
    # the excerpt is the payload itself, escaped, never more than asked
    assert 0 < len(d["excerpt"]) <= 4 * 64
    # one worm payload, one indicator: start and end share a fingerprint
    assert len({i["picket"]["fingerprint"] for i in found}) == 1


def test_same_payload_to_one_host_is_not(tmp_path):
    payload = novel_payload()
    with Pair() as pair:
        def repeat():
            start_sink(pair)
            pair.run(pair.b, sys.executable, "-c", WORM, payload.hex(),
                     *([HOSTS[0]] * 40))
        inds, err = run_agent(pair, tmp_path, repeat)
    assert fingerprints(inds) == []
    assert "stats: fingerprint.tracked" in err


def test_popular_file_from_one_server_is_not(tmp_path):
    (tmp_path / "www").mkdir()
    blob = novel_payload() * 20
    (tmp_path / "www" / "popular.bin").write_bytes(blob)
    with Pair() as pair:
        def fetch():
            web = pair.popen(pair.b, sys.executable, "-m", "http.server",
                             "8080", "--bind", pair.ip_b, "--directory",
                             str(tmp_path / "www"))

            def up():
                r = pair.run(pair.a, "curl", "-s", "-o", "/dev/null", "-w",
                             "%{http_code}", f"http://{pair.ip_b}:8080/",
                             check=False)
                return r.stdout == "200"
            assert wait_for(up, timeout=15)
            for h in HOSTS:
                r = pair.run(pair.a, "curl", "-s", "--interface", h, "-o",
                             "/dev/null", "-w", "%{size_download}",
                             f"http://{pair.ip_b}:8080/popular.bin")
                assert r.stdout == str(len(blob))
            web.terminate()
        inds, err = run_agent(pair, tmp_path, fetch)
    assert fingerprints(inds) == [], fingerprints(inds)
