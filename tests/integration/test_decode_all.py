"""Every sample capture decodes under ASan+UBSan with no finding, and the
malformed ones are counted as decode errors, not crashes."""
import pytest

from conftest import PCAPS, analyse, run

ALL = sorted(p.name for p in PCAPS.glob("*.pcap")) if PCAPS.is_dir() else []

MALFORMED = ["52.nestea.pcap", "51.ping_of_death.pcap",
             "23.ip_frag_overlapping.pcap",
             "25.ip_frag_overlapping_unordered.pcap"]


@pytest.mark.parametrize("name", ALL)
def test_decodes_clean_under_sanitizers(pcaps, name):
    inds, stats, proc = analyse(pcaps / name, var="PICKETD_ASAN",
                                default="build/asan/picketd")
    assert "runtime error" not in proc.stderr
    assert "AddressSanitizer" not in proc.stderr
    assert stats["packets"] > 0
    assert stats["packets"] == stats["pcap.frames"]


@pytest.mark.parametrize("name", MALFORMED)
def test_malformed_counted(pcaps, name):
    _, stats, _ = analyse(pcaps / name)
    assert stats["decode_errors"] > 0, stats
    assert any(k.startswith("decode.frag_") for k in stats), stats


def test_fragments_reassembled(pcaps):
    _, stats, _ = analyse(pcaps / "21.ip_frag_off.pcap")
    assert stats["fragments"] > 0
    assert stats["fragments_reassembled"] > 0


def test_unknown_protocol_is_not_an_error(pcaps):
    _, stats, _ = analyse(pcaps / "49.unknown_proto.pcap")
    assert stats.get("decode.proto_unknown", 0) > 0
    assert stats["decode_errors"] == 0


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
