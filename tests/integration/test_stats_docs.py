"""docs/statistics.md explains every statistic the agent prints.  A live
picketd (capture on lo, the eBPF collector, a spool, and a shipper whose
hub does not answer) is asked for its statistics with SIGUSR1 (to the
whole process group, then to the supervisor alone: each child reports
once each time) and stopped, and each `stats: NAME VALUE` line it logged
is looked up in the page, the interface name written `<if>`; so are the
lines `picketd -r` prints for a capture file.  A statistic added to the
code without a line in the page fails here."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import PCAPS, REPO, binary
from hubrun import free_port, mkcerts

STAT = re.compile(r"^(?:picketd: info: stats: )?([A-Za-z0-9_.]+) -?\d+$")


def documented():
    return (REPO / "docs" / "statistics.md").read_text()


def missing(names, text):
    return sorted(n for n in names if f"`{n}`" not in text)


def test_offline_statistics_are_documented():
    p = subprocess.run([binary(), "-r", str(PCAPS / "40.TCP_SYN_scan.pcap"),
                        "-o", "/dev/null"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    names = {m.group(1) for m in map(STAT.match, p.stderr.splitlines())
             if m}
    assert len(names) >= 100, p.stderr
    assert missing(names, documented()) == []


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="capture and BPF programs need root")
def test_live_statistics_are_documented(tmp_path):
    pki = mkcerts(tmp_path / "pki", "-a", "agent-1")
    cfg = tmp_path / "agent.ini"
    cfg.write_text(f"""[agent]
control_socket =
[pcap]
interfaces = lo
[spool]
dir = {tmp_path / "spool"}
[hub]
address = 127.0.0.1:{free_port()}
ca = {pki / "ca.crt"}
cert = {pki / "agents" / "agent-1.crt"}
key = {pki / "agents" / "agent-1.key"}
""")
    err = tmp_path / "err.txt"
    with open(err, "w") as fp:
        proc = subprocess.Popen([binary(), "-f", "-c", str(cfg)],
                                stdout=subprocess.DEVNULL, stderr=fp,
                                start_new_session=True)

    def wait(pred, what):
        deadline = time.monotonic() + 30
        while not pred(err.read_text()):
            assert proc.poll() is None, err.read_text()
            assert time.monotonic() < deadline, what + "\n" + \
                err.read_text()
            time.sleep(0.1)

    try:
        wait(lambda t: "hooks attached" in t and "shipping to" in t,
             "the collector and the shipper to start")
        # SIGUSR1 to every process of the agent, as `systemctl kill`
        # does: the supervisor passes it on and each child reports once
        os.killpg(proc.pid, signal.SIGUSR1)
        wait(lambda t: "stats: pcap.frames " in t and
             "stats: shipper.connects " in t, "the statistics")
        time.sleep(1)
        text = err.read_text()
        assert text.count("stats: pcap.frames ") == 1, text
        assert text.count("stats: shipper.connects ") == 1, text
        assert proc.poll() is None, text
        # to the supervisor alone: the same
        proc.send_signal(signal.SIGUSR1)
        wait(lambda t: t.count("stats: pcap.frames ") == 2 and
             t.count("stats: shipper.connects ") == 2, "a second report")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    names = set()
    for line in err.read_text().splitlines():
        m = STAT.match(line)
        if m and line.startswith("picketd: info: stats: "):
            names.add(re.sub(r"^pcap\.lo\.", "pcap.<if>.", m.group(1)))
    # every part ran: capture, processes, spool, shipper
    for prefix in ("pcap.<if>.", "process.kernel.", "spool.", "shipper."):
        assert any(n.startswith(prefix) for n in names), (prefix, names)
    assert missing(names, documented()) == []

    # The kernel's counts are read (followed as 64-bit totals from
    # libpcap's 32-bit ones), not left at 0: the shipper's refused
    # connections alone put packets on lo.
    text = err.read_text()

    def last(name):
        return int(re.findall(rf"stats: {re.escape(name)} (\d+)", text)[-1])
    assert last("pcap.frames") > 0, text
    assert last("pcap.lo.received") >= last("pcap.frames"), text
