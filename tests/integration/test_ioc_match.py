"""IOC lists matched in every place the issue names, on a capture built
with scapy: a connection to a listed address, a DNS query for a listed
domain's subdomain, a DNS answer returning a listed address, a TLS
ClientHello naming a listed server, and an HTTP request to a listed URL
and to a listed host.  A near-miss of each gives nothing."""
import struct

from conftest import analyse, run

LIST = """\
# test list: documentation addresses and reserved names only
192.0.2.66            c2 server
198.51.100.0/24       a bad network
evil.example          a bad domain
tls.bad.example       a bad TLS server
=exact.test           only this name
http://dl.example.net/payload.exe   a dropper URL
"""


def client_hello(sni):
    name = sni.encode()
    sni_ext = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    ext = struct.pack("!HH", 0, len(sni_ext)) + sni_ext
    body = (b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" +
            b"\x01\x00" + struct.pack("!H", len(ext)) + ext)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def capture(path, good):
    from scapy.all import DNS, DNSQR, DNSRR, IP, TCP, UDP, Ether, wrpcap
    me, dns = "10.0.0.5", "10.0.0.53"
    pkts = []

    def tcp_session(dst, dport, payload, sport):
        e = Ether() / IP(src=me, dst=dst)
        pkts.extend([
            e / TCP(sport=sport, dport=dport, flags="S", seq=100),
            Ether() / IP(src=dst, dst=me) / TCP(sport=dport, dport=sport,
                                                 flags="SA", seq=500,
                                                 ack=101),
            e / TCP(sport=sport, dport=dport, flags="A", seq=101, ack=501),
            e / TCP(sport=sport, dport=dport, flags="PA", seq=101, ack=501)
            / payload])

    addr = "192.0.2.66" if good else "192.0.2.67"
    tcp_session(addr, 8080, b"x", 40001)
    qname = "www.evil.example" if good else "www.notevil.example"
    pkts.append(Ether() / IP(src=me, dst=dns) / UDP(sport=5353 + 1,
                dport=53) / DNS(id=1, rd=1, qd=DNSQR(qname=qname)))
    answer = "198.51.100.9" if good else "203.0.113.9"
    pkts.append(Ether() / IP(src=dns, dst=me) / UDP(sport=53, dport=5355) /
                DNS(id=2, qr=1, qd=DNSQR(qname="cdn.example.org"),
                    an=DNSRR(rrname="cdn.example.org", rdata=answer)))
    sni = "login.tls.bad.example" if good else "tls.bad.example.org"
    tcp_session("203.0.113.20", 443, client_hello(sni), 40002)
    path_ = "/payload.exe" if good else "/payload.txt"
    tcp_session("203.0.113.21", 80, (
        f"GET {path_} HTTP/1.1\r\nHost: dl.example.net\r\n\r\n").encode(),
        40003)
    host = "exact.test" if good else "www.exact.test"
    tcp_session("203.0.113.22", 80, (
        f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").encode(), 40004)
    wrpcap(str(path), pkts)


def ioc_run(tmp_path, good):
    (tmp_path / "lists").mkdir(exist_ok=True)
    (tmp_path / "lists" / "testlist.txt").write_text(LIST)
    cfg = tmp_path / "agent.ini"
    cfg.write_text(f"[ioc]\npaths = {tmp_path / 'lists'}\n"
                   "[network]\nhome_net = 10.0.0.0/8\n")
    pcap = tmp_path / ("good.pcap" if good else "miss.pcap")
    capture(pcap, good)
    inds, stats, _ = analyse(pcap, "-c", str(cfg))
    return [i for i in inds if i["rule"]["id"].startswith("picket.ioc.")]


def test_every_place_matches(tmp_path):
    """One indicator per (listed value, local address): each place below
    matches a different listed value so each shows up on its own."""
    inds = ioc_run(tmp_path, True)
    got = {(i["picket"]["details"]["matched"],
            i["threat"]["indicator"]["name"]) for i in inds}
    assert got == {
        ("destination.ip", "192.0.2.66"),
        ("dns.question.name", "evil.example"),
        ("dns.answers", "198.51.100.0/24"),
        ("tls.client.server_name", "tls.bad.example"),
        ("url.full", "http://dl.example.net/payload.exe"),
        ("url.domain", "exact.test"),
    }, got
    for i in inds:
        assert i["threat"]["indicator"]["provider"] == "testlist"
        assert i["rule"]["ruleset"] == "picket-ioc"
        if i["picket"]["details"]["matched"] == "destination.ip":
            # this host reaching a listed address: the stronger sign
            assert i["network"]["direction"] == "outbound"
            assert i["event"]["severity"] >= 73
    sni = [i for i in inds if i["picket"]["details"]["matched"] ==
           "tls.client.server_name"][0]
    assert sni["tls"]["client"]["server_name"] == "login.tls.bad.example"
    assert sni["threat"]["indicator"]["type"] == "domain-name"


def test_near_misses_do_not(tmp_path):
    assert ioc_run(tmp_path, False) == []


def test_check_reports_bad_lines(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("192.0.2.1\nnot a valid entry!\n300.1.2.3\ncom\n")
    cfg = tmp_path / "agent.ini"
    cfg.write_text(f"[ioc]\npaths = {bad}\n")
    proc = run(["-n", "-c", str(cfg)])
    assert proc.returncode == 1
    assert f"{bad}:2:" in proc.stderr
    assert f"{bad}:4:" in proc.stderr
    assert "1 entries" in proc.stderr or "ioc: 1 entr" in proc.stderr
