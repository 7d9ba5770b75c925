"""The eBPF process collector, live: the real programs loaded into this
kernel (as root, as CI runs), real workloads, and the indicators picketd
writes.  Also: the agent keeps running, and says why, when BPF cannot load.

Everything sent stays inside network namespaces made here (netns.Pair);
the persistence "location" is a temporary directory added to
[process] persistence_paths, so the real /etc is never touched.
"""
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import REPO, binary, parse_indicators
from netns import Pair, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="loading BPF programs needs root")


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


class Agent:
    """picketd -f with a config, indicators to a file."""

    def __init__(self, workdir, config, prefix=()):
        self.dir = pathlib.Path(workdir)
        self.out = self.dir / "out.ndjson"
        self.err = self.dir / "err.txt"
        self.cfg = self.dir / "picket.ini"
        self.cfg.write_text(config)
        self.proc = subprocess.Popen(
            [*prefix, binary(), "-f", "-c", str(self.cfg), "-o",
             str(self.out)],
            stdout=subprocess.DEVNULL, stderr=open(self.err, "w"))

    def log(self):
        return self.err.read_text() if self.err.exists() else ""

    def lines(self):
        if not self.out.exists():
            return []
        text = self.out.read_text()
        # the last line may be half written
        full = text[:text.rfind("\n") + 1]
        return parse_indicators(full)

    def find(self, rule, pred=lambda o: True, timeout=15):
        found = []

        def look():
            found[:] = [o for o in self.lines()
                        if o["rule"]["id"] == rule and pred(o)]
            return bool(found)
        wait_for(look, timeout=timeout)
        return found

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        return self.proc.returncode


def proc_of(o):
    """ECS process.* at the top level of the indicator."""
    return o.get("process", {})


@pytest.fixture(scope="module")
def live():
    """One agent for the workloads: a persistence directory and an IOC
    list naming a binary prepared here."""
    work = pathlib.Path(tempfile.mkdtemp(prefix="pk-ebpf-"))
    (work / "persist").mkdir()
    (work / "ioc").mkdir()
    listed = work / "listed_true"
    # a copy of true with a unique tail: its own hash, still runnable
    listed.write_bytes(pathlib.Path("/bin/true").read_bytes() +
                       os.urandom(32))
    listed.chmod(0o755)
    (work / "ioc" / "test.txt").write_text(
        f"{sha256(listed)} test-listed-binary\n")
    scanner = work / "ebpf_scanner"
    subprocess.run(["cc", "-O2", "-o", str(scanner),
                    str(REPO / "tests/integration/ebpf_scanner.c")],
                   check=True)
    # The collector drops to nobody after loading the programs, keeping
    # only what hashing other users' executables needs: every test here
    # runs against that (docs/privsep.md).
    agent = Agent(work, f"""
[agent]
user = nobody
[pcap]
interfaces = lo
[process]
persistence_paths = {work}/persist/cron,/home/*/.ssh/authorized_keys
[ioc]
paths = {work}/ioc
""")
    ok = wait_for(lambda: "hooks attached" in agent.log(), timeout=30)
    if not ok:
        agent.stop()
        pytest.fail(f"the collector did not start:\n{agent.log()}")
    yield agent, work, listed, scanner
    agent.stop()
    shutil.rmtree(work, ignore_errors=True)


def test_hooks_attached(live):
    agent, *_ = live
    log = agent.log()
    assert "collector ebpf not available" not in log
    m = re.search(r"ebpf: (\d+) of (\d+) hooks attached", log)
    assert m, log
    # every hook but module_load, which kernels without modules lack
    assert int(m.group(1)) >= int(m.group(2)) - 1, log


def test_process_scan_names_the_process(live):
    agent, work, _, scanner = live
    with Pair() as net:
        r = net.run(net.a, str(scanner), "10.201.0", "3", "62", "445",
                    "1500")
        pid = int(r.stdout.split()[0])
    want = sha256(scanner)
    found = agent.find("picket.process.scan",
                       lambda o: proc_of(o).get("pid") == pid and
                       proc_of(o).get("hash", {}).get("sha256") == want)
    assert found, agent.lines()
    o = found[-1]
    assert proc_of(o)["executable"] == str(scanner)
    assert o["destination"]["port"] == 445
    assert o["source"]["ip"] == "10.201.0.1"
    assert o["event"]["dataset"] == "picket.process"
    assert o["picket"]["details"]["distinct_hosts"] >= 25
    assert all(t.startswith("10.201.0.")
               for t in o["picket"]["details"]["targets"])


SCAN_RULES = ("picket.scan.address", "picket.scan.worm_port",
              "picket.scan.port", "picket.process.scan")


@pytest.mark.parametrize("hosts", [None, 100])
def test_one_scan_indicator_names_the_process(tmp_path, hosts):
    """Packets and process events both see one scan: the analyst gets one
    indicator, and it names the scanner's pid, executable and hash.

    Process events usually reach the agent before the packets, so the
    process collector reports first and the packet side defers to it.
    With address_scan_hosts above the scanner's 60 hosts, only the packet
    side's sequential test finds the scan, and its indicator must name the
    process through the attribution service.

    The agent runs inside the scanner's namespace (ip netns exec), so its
    packet collector sees the SYNs on the veth; the BPF tracepoints are
    global, so its process collector sees the scanner too.  The targets
    are 10.202.0.0/24, routed to the peer namespace, which takes the whole
    /24 as local and refuses every SYN: each probe fails at once."""
    scanner = tmp_path / "ebpf_scanner"
    subprocess.run(["cc", "-O2", "-o", str(scanner),
                    str(REPO / "tests/integration/ebpf_scanner.c")],
                   check=True)
    with Pair() as net:
        net.run(net.a, "ip", "route", "add", "10.202.0.0/24", "via",
                net.ip_b)
        net.run(net.b, "ip", "route", "add", "local", "10.202.0.0/24",
                "dev", "lo")
        agent = Agent(tmp_path, f"""
[network]
home_net = 10.201.0.0/24
[pcap]
interfaces = veth-pka
[scan]
address_scan_hosts = {hosts or 25}
""", prefix=["ip", "netns", "exec", net.a])
        try:
            ok = wait_for(lambda: "hooks attached" in agent.log() and
                          "capturing on veth-pka" in agent.log(),
                          timeout=30)
            assert ok, agent.log()
            r = net.run(net.a, str(scanner), "10.202.0", "3", "62", "445",
                        "1500")
            pid = int(r.stdout.split()[0])
            want = sha256(scanner)

            def named(o):
                p = proc_of(o)
                return (o["rule"]["id"] in SCAN_RULES and
                        p.get("pid") == pid and
                        p.get("hash", {}).get("sha256") == want)
            found = []

            def look():
                found[:] = [o for o in agent.lines() if named(o)]
                return bool(found)
            assert wait_for(look, timeout=20), agent.lines()
        finally:
            assert agent.stop() == 0
        lines = agent.lines()
    scans = [o for o in lines if o["rule"]["id"] in SCAN_RULES]
    ids = {(o["rule"]["id"], o["picket"]["fingerprint"]) for o in scans}
    assert len(ids) == 1, [(o["rule"]["id"], o["event"]["type"],
                            proc_of(o).get("pid"),
                            proc_of(o).get("executable"),
                            o.get("source", {}).get("ip"),
                            o.get("destination", {}).get("port"),
                            o["picket"].get("details")) for o in scans]
    # every report of it names the process; the last one has the hash
    assert all(proc_of(o).get("pid") == pid for o in scans), scans
    last = scans[-1]
    assert last["event"]["type"][0] == "end"
    assert proc_of(last)["executable"] == str(scanner)
    assert proc_of(last)["hash"]["sha256"] == want
    assert last["source"]["ip"] == "10.201.0.1"
    if hosts is None:
        assert last["destination"]["port"] == 445
    else:
        # the sequential test alone: no fan-out, so no single port
        assert last["rule"]["id"] == "picket.scan.address"
        assert last["picket"]["details"]["attributed"] is True
        assert last["network"]["direction"] == "outbound"


def test_binary_run_from_tmp(live):
    agent, *_ = live
    d = pathlib.Path(tempfile.mkdtemp(prefix="pkx", dir="/tmp"))
    try:
        exe = d / "dropped"
        shutil.copy("/bin/true", exe)
        p = subprocess.run([str(exe), "--flag"], check=True)
        assert p.returncode == 0
        found = agent.find("picket.process.exec_writable",
                           lambda o: proc_of(o).get("executable") ==
                           str(exe))
        assert found, agent.lines()
        assert "--flag" in proc_of(found[0])["args"]
        assert agent.find("picket.process.exec_recent",
                          lambda o: proc_of(o).get("executable") ==
                          str(exe))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_persistence_write(live):
    agent, work, *_ = live
    target = work / "persist" / "cron.d"
    target.mkdir(exist_ok=True)
    # a relative open from inside the directory is resolved too
    subprocess.run(["sh", "-c", "echo '* * * * * root x' > evil"],
                   cwd=target, check=True)
    found = agent.find("picket.process.persistence",
                       lambda o: o["picket"]["details"]["file"]["path"] ==
                       str(target / "evil"))
    assert found, agent.lines()
    assert found[0]["event"]["category"][0] == "file"
    # outside the patterns: nothing
    (work / "elsewhere").write_text("x")
    time.sleep(1)
    assert not [o for o in agent.lines()
                if o["rule"]["id"] == "picket.process.persistence" and
                "elsewhere" in o["picket"]["details"]["file"]["path"]]


def test_listed_hash_is_reported(live):
    agent, work, listed, _ = live
    subprocess.run([str(listed)], check=True)
    want = sha256(listed)
    found = agent.find("picket.process.ioc_hash",
                       lambda o: o["threat"]["indicator"]["name"] == want)
    assert found, agent.lines()
    assert found[0]["threat"]["indicator"]["provider"] == "test"
    assert proc_of(found[0])["executable"] == str(listed)


def test_fingerprints_have_no_pids(live):
    agent, work, listed, _ = live
    subprocess.run([str(listed)], check=True)
    time.sleep(1.5)
    fps = {o["picket"]["fingerprint"] for o in agent.lines()
           if o["rule"]["id"] == "picket.process.ioc_hash"}
    assert len(fps) == 1


def test_hash_listed_by_a_reload_is_reported(live):
    """A hash added to the IOC lists, then SIGHUP: a process that was
    already running the program (hashed under the old lists, so not
    reported) is reported at the reload, not at its next start."""
    agent, work, _, _ = live
    late = work / "late_sleep"
    late.write_bytes(pathlib.Path("/bin/sleep").read_bytes() +
                     os.urandom(32))
    late.chmod(0o755)
    want = sha256(late)

    def reported():
        return [o for o in agent.lines()
                if o["rule"]["id"] == "picket.process.ioc_hash" and
                o["threat"]["indicator"]["name"] == want]

    running = subprocess.Popen([str(late), "120"])
    try:
        time.sleep(2)               # seen and hashed: listed nowhere yet
        assert not reported()
        (work / "ioc" / "later.txt").write_text(f"{want} test-later\n")
        said = agent.log().count("hashes now checked against")
        agent.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: agent.log().count(
            "hashes now checked against") > said, timeout=30), agent.log()
        found = agent.find("picket.process.ioc_hash",
                           lambda o: o["threat"]["indicator"]["name"] ==
                           want)
        assert found, agent.lines()
        assert found[0]["threat"]["indicator"]["provider"] == "later"
        assert proc_of(found[0])["pid"] == running.pid
        assert proc_of(found[0])["executable"] == str(late)
    finally:
        running.kill()
        running.wait()


def test_agent_runs_on_without_bpf(tmp_path):
    """Without CAP_BPF/CAP_SYS_ADMIN/CAP_PERFMON the collector says why in
    one line and the packet collector keeps the agent running."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) not installed")
    drop = "-bpf,-sys_admin,-perfmon"
    agent = Agent(tmp_path, "[pcap]\ninterfaces = lo\n",
                  prefix=["setpriv", "--bounding-set", drop,
                          "--inh-caps", drop, "--"])
    try:
        assert wait_for(lambda: "running, host" in agent.log(), timeout=20), \
            agent.log()
        log = agent.log()
        lines = [line for line in log.splitlines()
                 if "collector ebpf" in line]
        assert len(lines) == 1, log
        assert "not permitted to load BPF programs" in lines[0]
        time.sleep(1)
        assert agent.proc.poll() is None, log
    finally:
        assert agent.stop() == 0


def ringbuf_sizes(pid):
    """max_entries of every BPF ring buffer map pid and its children hold
    (fdinfo of their bpf-map descriptors; map_type 27 is a ring buffer)."""
    pids = [pid] + [int(c) for c in pathlib.Path(
        f"/proc/{pid}/task/{pid}/children").read_text().split()]
    sizes = []
    for p in pids:
        fdinfo = pathlib.Path(f"/proc/{p}/fdinfo")
        for f in fdinfo.iterdir():
            try:
                info = dict(line.split(":", 1) for line in
                            f.read_text().splitlines() if ":" in line)
            except OSError:
                continue
            if info.get("map_type", "").strip() == "27":
                sizes.append(int(info["max_entries"]))
    return sizes


@pytest.mark.parametrize("ring,want", [("", 8 << 20), ("700k", 1 << 20)])
def test_process_ring_size(tmp_path, ring, want):
    """[process] ring_size sizes the kernel ring buffer, rounded up to a
    power of two; the default is 8M."""
    conf = "[pcap]\ninterfaces = lo\nfilter = udp port 9\n"
    if ring:
        conf += f"[process]\nring_size = {ring}\n"
    agent = Agent(tmp_path, conf)
    try:
        assert wait_for(lambda: "hooks attached" in agent.log(),
                        timeout=30), agent.log()
        assert ringbuf_sizes(agent.proc.pid) == [want]
    finally:
        assert agent.stop() == 0


def test_check_reports_hooks():
    """picketd -n says which hooks would load (needs the lead's -n call:
    skipped until main.c calls pk_ebpf_check)."""
    r = subprocess.run([binary(), "-n"], capture_output=True, text=True,
                       timeout=60)
    if "ebpf: hook" not in r.stderr + r.stdout:
        pytest.skip("picketd -n does not call pk_ebpf_check yet")
    out = r.stderr + r.stdout
    assert "sched/sched_process_exec" in out
    assert "would load" in out


def test_collector_runs_unprivileged_with_two_capabilities(live):
    """After loading its programs the collector runs as nobody with exactly
    CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE (for hashing /proc/PID/exe),
    and no way back to more."""
    agent, _, _, _ = live
    with open(f"/proc/{agent.proc.pid}/task/{agent.proc.pid}/children") as f:
        kids = [int(p) for p in f.read().split()]
    assert len(kids) == 1, kids         # no [hub]: no shipper
    status = {}
    with open(f"/proc/{kids[0]}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            status[k] = v.split()
    assert status["Uid"] == ["65534"] * 4
    want = (1 << 2) | (1 << 19)
    for cap in ("CapPrm", "CapEff", "CapBnd"):
        assert int(status[cap][0], 16) == want, (cap, status[cap])
    assert int(status["CapInh"][0], 16) == 0
    assert status["NoNewPrivs"] == ["1"]
    # Every thread (capture, hashing) has the same credentials.
    for tid in os.listdir(f"/proc/{kids[0]}/task"):
        with open(f"/proc/{kids[0]}/task/{tid}/status") as f:
            t = {k: v.split() for k, _, v in
                 (ln.partition(":") for ln in f)}
        assert t["Uid"] == ["65534"] * 4, tid
        assert int(t["CapEff"][0], 16) == want, (tid, t["CapEff"])
        assert int(t["CapBnd"][0], 16) == want, (tid, t["CapBnd"])
