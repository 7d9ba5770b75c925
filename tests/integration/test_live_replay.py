"""Live capture gives what offline analysis gives: the sample captures are
replayed with tcpreplay into one end of a veth pair while the agent
captures on the other end (in its own network namespace); the indicators
it reports when stopped must match `picketd -r` on the same files."""
import os
import signal
import time

import pytest

from conftest import analyse, binary, parse_indicators
from netns import Pair, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

CAPTURES = ["nmap_synscan.pcap", "masscan_tcp_0_1000.pcap",
            "40.TCP_SYN_scan.pcap", "42.TCP_NULL_scan.pcap",
            "28.xmas_can.pcap", "ncsa_multiport_scan.pcap"]

CONFIG = """
[network]
home_net = 10.201.0.0/24
[pcap]
promiscuous = yes
health_interval = 1s
[process]
enabled = no
"""

# 20,000 packets a second is far above an ordinary host's rate; the
# benchmark (tests/bench) measures where loss starts.
RATE = "--pps=20000"


def key(ind):
    return (ind["rule"]["id"], ind["source"]["ip"],
            ind.get("destination", {}).get("ip"),
            ind.get("destination", {}).get("port"),
            ind["picket"]["details"].get("distinct_ports"))


def test_live_capture_matches_offline(pcaps, tmp_path):
    cfg = tmp_path / "agent.ini"
    cfg.write_text(CONFIG)
    expected = set()
    for name in CAPTURES:
        inds, _, _ = analyse(pcaps / name, "-c", str(cfg))
        expected |= {key(i) for i in inds}
    assert len(expected) >= len(CAPTURES)

    out = tmp_path / "live.ndjson"
    with Pair() as pair:
        agent = pair.popen(pair.b, binary(), "-f", "-c", str(cfg), "-o",
                           str(out), text=True)
        lines = []

        def ready():
            lines.append(agent.stderr.readline())
            return "running" in lines[-1] or agent.poll() is not None
        assert wait_for(ready, timeout=20), lines
        for name in CAPTURES:
            r = pair.run(pair.a, "tcpreplay", "-q", RATE,
                         "-i", "veth-pka", str(pcaps / name), timeout=120)
            assert r.returncode == 0, r.stderr
        time.sleep(1.5)	# the last frames reach the engine; one health tick
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=30)
        assert agent.returncode == 0, err

    inds = parse_indicators(out.read_text())
    ends = [i for i in inds if i["event"]["kind"] == "alert"
            and i["event"]["type"][0] == "end"]
    assert {key(i) for i in ends} == expected
    # Capture health was reported, and nothing was dropped at this rate.
    health = [i for i in inds if i["rule"]["id"] == "picket.health.capture"]
    assert health, "no health indicator"
    assert sum(h["picket"]["details"]["received"] for h in health) > 0
    for h in health:
        d = h["picket"]["details"]
        assert d["agent_dropped"] == d["kernel_dropped"] == 0, d
    assert "stats: pcap.any.agent_dropped 0" in err
