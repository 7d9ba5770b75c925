"""The live agent on a real interface: ordinary traffic between two test
hosts (network namespaces) gives no scan indicator; a port scan from the
monitored host gives an outbound port-scan indicator while it happens."""
import json
import os
import signal
import socket
import sys
import time

import pytest

from conftest import REPO, analyse, binary, parse_indicators
from netns import Pair, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

HERE = os.path.dirname(os.path.abspath(__file__))


def start_agent(pair, out, extra=()):
    # Packets only: the process collector watches the whole machine, and
    # these tests are about the traffic between the two test hosts.
    cfg = out.parent / "packets-only.ini"
    cfg.write_text("[process]\nenabled = no\n")
    p = pair.popen(pair.b, binary(), "-f", "-c", str(cfg), "-o", str(out),
                   *extra, text=True)
    # Wait for the capture to be open before making traffic.
    lines = []

    def ready():
        line = p.stderr.readline()
        lines.append(line)
        return "running, host" in line or p.poll() is not None
    assert wait_for(ready, timeout=20), lines
    assert p.poll() is None, "".join(lines) + p.stderr.read()
    return p


def stop_agent(p):
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    return err


def ordinary_traffic(pair):
    """DNS lookups and HTTP fetches from host b to host a."""
    dns = pair.popen(pair.a, sys.executable, os.path.join(HERE, "dns_server.py"),
                     pair.ip_a, "53", pair.ip_a, text=True)
    assert dns.stdout.readline().strip() == "ready"
    web = pair.popen(pair.a, sys.executable, "-m", "http.server", "8080",
                     "--bind", pair.ip_a, "--directory", str(REPO / "docs"))

    def web_up():
        r = pair.run(pair.b, "curl", "-s", "-o", "/dev/null", "-w",
                     "%{http_code}", f"http://{pair.ip_a}:8080/", check=False)
        return r.stdout == "200"
    assert wait_for(web_up, timeout=15)
    for i in range(20):
        r = pair.run(pair.b, "dig", "+short", "+time=2", "+tries=1",
                     f"@{pair.ip_a}", f"host{i}.example.test")
        assert r.stdout.strip() == pair.ip_a
        r = pair.run(pair.b, "curl", "-s", "-o", "/dev/null", "-w",
                     "%{http_code}", f"http://{pair.ip_a}:8080/")
        assert r.stdout == "200"
    web.terminate()
    dns.terminate()


def test_ordinary_traffic_is_not_flagged(tmp_path):
    out = tmp_path / "live.ndjson"
    pcap = tmp_path / "ordinary.pcap"
    with Pair() as pair:
        agent = start_agent(pair, out)
        dump = pair.popen(pair.b, "tcpdump", "-i", "veth-pkb", "-U", "-w",
                          str(pcap))
        time.sleep(1.0)
        ordinary_traffic(pair)
        time.sleep(1.5)
        dump.send_signal(signal.SIGINT)
        dump.wait(timeout=10)
        err = stop_agent(agent)
    live = parse_indicators(out.read_text()) if out.exists() else []
    assert live == [], live
    # The agent saw the traffic: flows and DNS answers were counted.
    assert "stats: app.dns" in err
    dns_seen = [l for l in err.splitlines() if "stats: app.dns " in l]
    assert int(dns_seen[0].split()[-1]) >= 40
    # And the recording, analysed offline, gives nothing either.
    inds, stats, _ = analyse(pcap, "--home-net", "10.201.0.2/32")
    assert inds == []
    assert stats["flows_created"] >= 40
    assert stats["decode_errors"] == 0


def probe_closed_ports(pair):
    """Probe 40 closed ports of host a from host b (each answered RST)."""
    probe = ("import socket,sys\n"
             "for p in range(20000, 20040):\n"
             "    s = socket.socket(); s.settimeout(1)\n"
             "    s.connect_ex((sys.argv[1], p)); s.close()\n")
    pair.run(pair.b, sys.executable, "-c", probe, pair.ip_a)


def test_live_port_scan_is_reported_as_it_happens(tmp_path):
    out = tmp_path / "live.ndjson"
    with Pair() as pair:
        agent = start_agent(pair, out)
        probe_closed_ports(pair)

        def reported():
            return out.exists() and "picket.scan.port" in out.read_text()
        assert wait_for(reported, timeout=10), "no live indicator"
        first = parse_indicators(out.read_text())
        stop_agent(agent)
    scans = [i for i in first if i["rule"]["id"] == "picket.scan.port"]
    assert scans[0]["event"]["type"][0] == "start"
    assert scans[0]["source"]["ip"] == pair.ip_b
    assert scans[0]["destination"]["ip"] == pair.ip_a
    # home_net was learned from the interface: the host is the scanner.
    assert scans[0]["network"]["direction"] == "outbound"
    every = parse_indicators(out.read_text())
    ends = [i for i in every if i["rule"]["id"] == "picket.scan.port"
            and i["event"]["type"][0] == "end"]
    assert len(ends) == 1
    assert ends[0]["picket"]["details"]["distinct_ports"] == 40
    assert ends[0]["picket"]["fingerprint"] == scans[0]["picket"]["fingerprint"]


def test_stop_analyses_what_was_already_captured(tmp_path):
    """Stopped the moment the scan ends, the agent still analyses every
    packet the kernel had taken (some wait in a capture block that the
    kernel closes only after its timeout) before its final report."""
    out = tmp_path / "live.ndjson"
    with Pair() as pair:
        agent = start_agent(pair, out)
        probe_closed_ports(pair)
        stop_agent(agent)
    every = parse_indicators(out.read_text()) if out.exists() else []
    ends = [i for i in every if i["rule"]["id"] == "picket.scan.port"
            and i["event"]["type"][0] == "end"]
    assert len(ends) == 1, every
    assert ends[0]["picket"]["details"]["distinct_ports"] == 40
