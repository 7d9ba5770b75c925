"""Every sample capture decodes under ASan+UBSan with no finding, and the
malformed ones are counted as decode errors, not crashes."""
import pytest

from conftest import PCAPS, analyse, run

ALL = sorted(p.name for p in PCAPS.glob("*.pcap")) if PCAPS.is_dir() else []

# What each capture really holds (read with tcpdump -v): nestea has a
# fragment whose length is not a multiple of 8 with more-fragments set;
# ping of death reassembles past 65,535 bytes; ip_frag_off is ten
# fragments all at offset 0 whose bytes differ (overlaps).  Despite their
# names, 23 and 25 are the same file: nine 8-byte fragments arriving out
# of order, without overlap.
MALFORMED = {
    "52.nestea.pcap": "decode.frag_bad",
    "51.ping_of_death.pcap": "decode.frag_toobig",
    "21.ip_frag_off.pcap": "decode.frag_overlap",
}


@pytest.mark.parametrize("name", ALL)
def test_decodes_clean_under_sanitizers(pcaps, name):
    inds, stats, proc = analyse(pcaps / name, var="PICKETD_ASAN",
                                default="build/asan/picketd")
    assert "runtime error" not in proc.stderr
    assert "AddressSanitizer" not in proc.stderr
    assert stats["packets"] > 0
    assert stats["packets"] == stats["pcap.frames"]


@pytest.mark.parametrize("name,counter", sorted(MALFORMED.items()))
def test_malformed_counted(pcaps, name, counter):
    _, stats, _ = analyse(pcaps / name)
    assert stats["decode_errors"] > 0, stats
    assert stats.get(counter, 0) > 0, stats


@pytest.mark.parametrize("name", ["22.ip_frag_size.pcap",
                                  "23.ip_frag_overlapping.pcap",
                                  "25.ip_frag_overlapping_unordered.pcap",
                                  "8.ip.options.pcap"])
def test_fragments_reassembled(pcaps, name):
    _, stats, _ = analyse(pcaps / name)
    assert stats["fragments"] > 0
    assert stats["fragments_reassembled"] == 1
    assert stats["decode_errors"] == 0
    assert "decode.frag_overlap" not in stats


def test_link_types_and_unknown_protocols(tmp_path):
    """Captures written by scapy in four link types; GRE and SCTP are
    counted as protocols we do not decode, not as errors."""
    from scapy.all import (GRE, IP, IPv6, SCTP, TCP, UDP, CookedLinux,
                           Dot1Q, Ether, Loopback, wrpcap)
    pkts = [IP(src="10.0.0.1", dst="10.0.0.2") / TCP(dport=80, flags="S"),
            IP(src="10.0.0.1", dst="10.0.0.2") / GRE(),
            IP(src="10.0.0.1", dst="10.0.0.2") / SCTP(dport=9),
            IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(dport=53)]
    links = {"ether": lambda p: Ether() / p,
             "vlan": lambda p: Ether() / Dot1Q(vlan=7) / Dot1Q(vlan=8) / p,
             "sll": lambda p: CookedLinux(proto=0x86dd if IPv6 in p
                                          else 0x0800) / p,
             "null": lambda p: Loopback(type=24 if IPv6 in p else 2) / p}
    for name, wrap in links.items():
        path = tmp_path / f"{name}.pcap"
        wrpcap(str(path), [wrap(p) for p in pkts])
        _, stats, _ = analyse(path)
        assert stats["packets_decoded"] == 4, (name, stats)
        assert stats["decode.proto_unknown"] == 2, (name, stats)
        assert stats["decode_errors"] == 0, (name, stats)
    raw = tmp_path / "raw.pcap"
    wrpcap(str(raw), pkts, linktype=101)
    _, stats, _ = analyse(raw)
    assert stats["packets_decoded"] == 4, stats


def test_truncated_last_record_is_counted(pcaps, tmp_path):
    data = (pcaps / "nmap_synscan.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:-7])
    proc = run(["-r", str(cut)], check=0)
    assert "truncated" in proc.stderr
    full = run(["-r", str(pcaps / "nmap_synscan.pcap")], check=0)
    assert '"picket.scan.port"' in proc.stdout
    n_cut = int([l for l in proc.stderr.splitlines()
                 if l.startswith("packets ")][0].split()[1])
    n_full = int([l for l in full.stderr.splitlines()
                  if l.startswith("packets ")][0].split()[1])
    assert n_cut == n_full - 1
    assert "pcap.truncated_records 1" in proc.stderr


@pytest.mark.parametrize("content,why", [
    (b"", "empty"),
    (b"\xd4\xc3\xb2\xa1\x02\x00", "short header"),
    (b"this is not a capture file at all, just text\n" * 4, "garbage"),
])
def test_unreadable_file_fails_clearly(tmp_path, content, why):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    proc = run(["-r", str(bad)])
    assert proc.returncode != 0, why
    assert f"cannot read {bad}" in proc.stderr
    assert proc.stdout == ""


def test_missing_file_fails_clearly(tmp_path):
    proc = run(["-r", str(tmp_path / "nope.pcap")])
    assert proc.returncode != 0
    assert "No such file" in proc.stderr
