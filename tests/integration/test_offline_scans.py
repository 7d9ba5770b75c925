"""`picketd -r` on the public scan captures in ../shared/data/pcaps.

Facts about each capture (scanner, target, number of distinct probed
ports) were read with tcpdump; see tests/integration/README.md.
"""
import pytest

from conftest import analyse

# capture, scanner, target, minimum distinct ports probed
PORT_SCANS = [
    ("nmap_synscan.pcap", "172.16.0.8", "64.13.134.52", 990),
    ("masscan_tcp_0_1000.pcap", "172.31.15.102", "198.124.152.15", 1000),
    ("40.TCP_SYN_scan.pcap", "192.168.0.59", "217.70.184.38", 20),
    ("42.TCP_NULL_scan.pcap", "10.0.2.15", "192.168.0.101", 48),
    ("43.TCP_FIN_scan.pcap", "10.0.2.15", "192.168.0.101", 48),
    ("44.TCP_ACK_scan.pcap", "10.0.2.15", "192.168.0.101", 48),
    ("28.xmas_can.pcap", "192.168.0.49", "192.168.0.194", 1),
]


def by_rule(inds, rule):
    return [i for i in inds if i["rule"]["id"] == rule]


@pytest.mark.parametrize("name,scanner,target,ports", PORT_SCANS)
def test_port_scan_found(pcaps, name, scanner, target, ports):
    inds, stats, _ = analyse(pcaps / name)
    scans = [i for i in by_rule(inds, "picket.scan.port")
             if i["source"]["ip"] == scanner
             and i["destination"]["ip"] == target]
    assert len(scans) == 1, inds
    ind = scans[0]
    assert ind["picket"]["details"]["distinct_ports"] >= ports
    assert ind["network"]["transport"] == "tcp"
    # Offline analysis reports each finding once, when it closes.
    assert ind["event"]["type"][0] == "end"
    assert ind["picket"]["first_seen"] <= ind["picket"]["last_seen"]
    assert stats["indicators"] == len(inds)
    # Nobody else in these captures is scanning the scanner.
    assert not [i for i in inds if i["source"]["ip"] == target
                and i["rule"]["id"] == "picket.scan.port"]


def test_nmap_port_count_exact(pcaps):
    """nmap probed 1000 ports of 64.13.134.52 (tcpdump: 1000 distinct)."""
    inds, _, _ = analyse(pcaps / "nmap_synscan.pcap")
    (scan,) = by_rule(inds, "picket.scan.port")
    assert scan["picket"]["details"]["distinct_ports"] == 1000


def test_address_scan_found(pcaps):
    inds, _, _ = analyse(pcaps / "ncsa_multiport_scan.pcap")
    scans = by_rule(inds, "picket.scan.address")
    assert [s["source"]["ip"] for s in scans] == ["125.27.226.209"], inds
    details = scans[0]["picket"]["details"]
    assert details["distinct_hosts"] >= 4
    assert details["attempts_failed"] >= 4


def test_direction_and_severity_follow_home_net(pcaps):
    """The host scanning others is an infection sign: outbound, high."""
    pcap = pcaps / "nmap_synscan.pcap"
    out, _, _ = analyse(pcap, "--home-net", "172.16.0.0/12")
    inn, _, _ = analyse(pcap, "--home-net", "64.13.134.52/32")
    (o,) = by_rule(out, "picket.scan.port")
    (i,) = by_rule(inn, "picket.scan.port")
    assert o["network"]["direction"] == "outbound"
    assert i["network"]["direction"] == "inbound"
    assert o["event"]["severity"] > i["event"]["severity"]
    # Same finding seen from the other side is a different indicator.
    assert o["picket"]["fingerprint"] != i["picket"]["fingerprint"]


def test_same_scan_same_fingerprint_across_runs(pcaps):
    a, _, _ = analyse(pcaps / "masscan_tcp_0_1000.pcap")
    b, _, _ = analyse(pcaps / "masscan_tcp_0_1000.pcap")
    assert [x["picket"]["fingerprint"] for x in a] == \
        [x["picket"]["fingerprint"] for x in b]
    assert [x["picket"]["seq"] for x in a] == list(range(1, len(a) + 1))


def test_port_scan_threshold_is_configurable(pcaps, tmp_path):
    """ncsa_port_scan probes 10 ports: under the default 15, over 10."""
    pcap = pcaps / "ncsa_port_scan.pcap"
    inds, _, _ = analyse(pcap)
    assert not by_rule(inds, "picket.scan.port")
    cfg = tmp_path / "agent.ini"
    cfg.write_text("[scan]\nport_scan_ports = 10\n")
    inds, _, _ = analyse(pcap, "-c", str(cfg))
    (scan,) = by_rule(inds, "picket.scan.port")
    assert scan["source"]["ip"] == "192.168.2.154"
    assert scan["destination"]["ip"] == "192.168.2.22"
    assert scan["picket"]["details"]["distinct_ports"] == 10
