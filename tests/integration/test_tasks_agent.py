"""The agent's side of targeted collection (issue 7, docs/tasks.md).

A real picketd (supervisor, collector, shipper, as root dropping to
nobody) runs in one network namespace and reports to taskhub.TaskHub, a
scripted hub in the other, which orders tasks with TASK frames and
collects the RESULT frames.  Checked:

- pcap with filter `tcp port 8080` while HTTP runs between the two
  namespaces: the bytes uploaded are a pcap file that `tshark -r` reads,
  holding only port-8080 packets and no more than max_packets;
- ioc_sweep finds a process whose executable's SHA-256 is listed (a copy
  of /bin/sleep started from a temporary directory) and the hub's
  address among the sockets;
- snapshot lists a listener the test opened;
- a type outside the policy comes back refused with the reason; a filter
  libpcap cannot compile comes back failed with libpcap's message;
- sensitivity at 50%: a scan of 8 ports (under the configured 15) is
  reported while it runs and not after; a second one fails;
- proc_trace by exe follows a copied /bin/sh running a script: exec rows
  for it and its child, the child's connect to a listener; without the
  eBPF collector, or for a pid that does not exist, it fails with why;
- cancel stops a running pcap task;
- malformed orders (bad JSON, unknown type, huge duration) are refused
  while another task runs on undisturbed;
- a collector killed mid-task: the task is failed "agent restarted";
- a shipper killed mid-upload: the next one resumes at the hub's offset.

The time from TASK START to the first RESULT running is printed (-s).
"""
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from netns import Pair, wait_for
from nsagent import NsAgent, hub_section
from taskhub import TaskHub

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

HUB_IP, AGENT_IP = "10.201.0.1", "10.201.0.2"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    from hubrun import mkcerts
    return mkcerts(tmp_path_factory.mktemp("pki") / "pki", "-t",
                   "-H", "hub.test", "-I", HUB_IP, "-a", "agent-1")


class Agent(NsAgent):
    """picketd in namespace b reporting to HUB_IP:7443; stderr in a file.
    sections override the INI ({"tasks": {"allow": "pcap"}})."""

    def __init__(self, pair, tmp, certs, exe=None, **sections):
        conf = {"agent": {"control_socket": ""},
                "network": {"home_net": "10.201.0.0/24"},
                "pcap": {"interfaces": "any"},
                "hub": hub_section(f"{HUB_IP}:7443", certs)}
        for sec, opts in sections.items():
            conf.setdefault(sec, {}).update(opts)
        super().__init__(pair, pair.b, tmp, conf, exe=exe)

    def indicators(self, rule):
        """Indicators of rule the collector wrote so far (whole lines)."""
        if not self.out.exists():
            return []
        text = self.out.read_text(errors="replace")
        text = text[:text.rfind("\n") + 1]
        out = [json.loads(line) for line in text.splitlines() if line]
        return [o for o in out if o["rule"]["id"] == rule]


@pytest.fixture
def net():
    with Pair() as pair:
        yield pair


@pytest.fixture
def setup(net, tmp_path, certs):
    """(pair, hub, agent) with the agent connected; torn down after."""
    made = {}

    def make(**sections):
        hub = TaskHub(certs, host=HUB_IP, port=7443, ns=net.a)
        made["hub"] = hub
        agent = Agent(net, tmp_path, certs, **sections).start()
        made["agent"] = agent
        assert hub.wait_connected(30), agent.text()[-2000:]
        return net, hub, agent

    yield make
    if "agent" in made:
        made["agent"].stop()
    if "hub" in made:
        made["hub"].close()


def http_traffic(pair, tmp, seconds=4.0):
    """An HTTP server on HUB_IP:8080 in namespace a and requests to it
    from namespace b for a few seconds."""
    root = tmp / "www"
    root.mkdir(exist_ok=True)
    (root / "index.html").write_text("x" * 3000)
    srv = pair.popen(pair.a, "python3", "-m", "http.server", "8080",
                     "--bind", HUB_IP, "--directory", str(root))
    try:
        assert wait_for(lambda: pair.run(
            pair.b, "curl", "-s", "-o", "/dev/null", "-m", "1",
            f"http://{HUB_IP}:8080/", check=False).returncode == 0, 10)
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            pair.run(pair.b, "curl", "-s", "-o", "/dev/null", "-m", "2",
                     f"http://{HUB_IP}:8080/", check=False)
            n += 1
        return n
    finally:
        srv.kill()
        srv.wait()


def tshark_ports(path):
    """(src port, dst port) of every TCP packet tshark reads in path;
    tshark must read the file without an error."""
    proc = subprocess.run(["tshark", "-r", str(path), "-T", "fields",
                           "-e", "tcp.srcport", "-e", "tcp.dstport",
                           "-e", "frame.protocols"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = []
    for line in proc.stdout.splitlines():
        f = line.split("\t")
        out.append((f[0], f[1], f[2]))
    return out


def rows(data):
    return [json.loads(line) for line in data.decode().splitlines()]


# ------------------------------------------------------------------ tests


def test_pcap_filter_caps_and_tshark(setup, tmp_path):
    pair, hub, agent = setup()
    spec = {"type": "pcap", "filter": "tcp port 8080", "duration": 30,
            "max_packets": 40}
    hub.start(1, spec)
    running = hub.wait_state(1, "running", timeout=10)
    assert running, agent.text()[-2000:]
    t = hub.tasks[1]
    print(f"\nSTART -> running: {(running[0] - t.started_at) * 1000:.1f} ms")
    http_traffic(pair, tmp_path, seconds=4)
    done = hub.wait_state(1, "done", "failed", timeout=40)
    assert done and done[1] == "done", (done, agent.text()[-2000:])
    assert done[4] == "max_packets reached"
    assert hub.wait_forgotten(1)
    data = hub.data(1)
    assert len(data) == done[2] and done[3] == 40
    out = tmp_path / "task1.pcap"
    out.write_bytes(data)
    pkts = tshark_ports(out)
    assert len(pkts) == 40
    for src, dst, protos in pkts:
        assert "8080" in (src, dst), (src, dst, protos)
        assert protos.startswith("sll:"), protos   # LINUX_SLL for "any"
    # FORGET deleted the agent's files for the task
    tdir = agent.spool / "tasks"
    assert wait_for(lambda: not any(tdir.glob("1.*")), 10), \
        list(tdir.iterdir())
    assert hub.tasks[1].deflated > 0


def test_ioc_sweep_finds_hash_and_address(setup, tmp_path):
    pair, hub, agent = setup()
    d = tmp_path / "bin"
    d.mkdir()
    os.chmod(d, 0o755)
    exe = d / "sleepy"
    shutil.copy("/bin/sleep", exe)
    os.chmod(exe, 0o755)
    digest = hashlib.sha256(exe.read_bytes()).hexdigest()
    # As nobody, like the collector: without the eBPF collector it keeps
    # no capability to read other users' /proc/PID/exe.
    proc = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup",
                             "--clear-groups", str(exe), "60"])
    try:
        time.sleep(0.3)
        hub.start(2, {"type": "ioc_sweep", "hashes": [digest, "0" * 64],
                      "addresses": [HUB_IP, "192.0.2.0/24"],
                      "domains": ["example.invalid"]})
        done = hub.wait_state(2, "done", "failed", "refused", timeout=60)
        assert done and done[1] == "done", (done, agent.text()[-2000:])
        hits = rows(hub.data(2))
        assert done[3] == len(hits)
        procs = [h for h in hits if h["list"] == "hash"]
        assert [h["pid"] for h in procs] == [proc.pid], hits
        assert procs[0]["value"] == digest
        assert procs[0]["exe"] == str(exe)
        assert procs[0]["where"] == "process"
        socks = [h for h in hits if h["list"] == "address"]
        # the shipper's own connection to the hub
        assert any(h["remote"] == HUB_IP and h["rport"] == 7443 and
                   h["where"] == "socket" for h in socks), hits
    finally:
        proc.kill()
        proc.wait()


def test_snapshot_lists_listener(setup):
    pair, hub, agent = setup()
    port = 45678
    lst = pair.popen(pair.b, "setpriv", "--reuid=nobody", "--regid=nogroup",
                     "--clear-groups", "/usr/bin/python3", "-c",
                     "import socket,time;s=socket.socket();"
                     f"s.bind(('0.0.0.0',{port}));s.listen();"
                     "print('up',flush=True);time.sleep(60)")
    try:
        assert lst.stdout.readline().strip() == b"up"
        hub.start(3, {"type": "snapshot", "max_rows": 5000})
        done = hub.wait_state(3, "done", "failed", timeout=60)
        assert done and done[1] == "done", (done, agent.text()[-2000:])
        snap = rows(hub.data(3))
        assert done[3] == len(snap)
        ls = [r for r in snap if r["kind"] == "socket" and
              r["state"] == "listen" and r["lport"] == port]
        assert len(ls) == 1, [r for r in snap if r["kind"] == "socket"]
        assert ls[0]["pid"] == lst.pid
        procs = {r["pid"]: r for r in snap if r["kind"] == "process"}
        assert procs[lst.pid]["comm"].startswith("python3")
        assert "sha256" in procs[lst.pid]
        assert procs[lst.pid]["ppid"] > 0
        kinds = {r["kind"] for r in snap}
        assert "module" in kinds or "note" in kinds
    finally:
        lst.kill()
        lst.wait()


def test_policy_refusals_and_bad_filter(setup):
    pair, hub, agent = setup(tasks={"deny_words": "22"})
    hub.start(10, {"type": "proc_trace", "pid": 1, "duration": 5})
    r = hub.wait_state(10, "refused")
    assert r and r[4] == "type proc_trace is not allowed by [tasks] allow"
    hub.start(11, {"type": "pcap", "duration": 400})
    r = hub.wait_state(11, "refused")
    assert r and "duration 400s is over [tasks] max_duration (300s)" == r[4]
    hub.start(12, {"type": "pcap", "duration": 5, "filter": "tcp port 22"})
    r = hub.wait_state(12, "refused")
    assert r and "refused by [tasks] deny_words" in r[4], r
    hub.start(14, {"type": "sensitivity", "factor": 50, "duration": 5})
    r = hub.wait_state(14, "refused")
    assert r and r[4] == "type sensitivity is not allowed by [tasks] allow"
    hub.start(13, {"type": "pcap", "duration": 5, "filter": "tcp port ((("})
    r = hub.wait_state(13, "failed", "refused", "done")
    assert r and r[1] == "failed", r
    assert r[4].startswith("filter does not compile: "), r
    assert "syntax error" in r[4], r


def test_cancel_stops_pcap(setup):
    pair, hub, agent = setup()
    hub.start(20, {"type": "pcap", "duration": 120})
    assert hub.wait_state(20, "running", timeout=10)
    time.sleep(1)
    t0 = time.monotonic()
    hub.cancel(20)
    c = hub.wait_state(20, "cancelled", "done", "failed", timeout=10)
    assert c and c[1] == "cancelled", c
    print(f"\ncancel -> cancelled: {(c[0] - t0) * 1000:.1f} ms")
    assert "task 20 (pcap): cancelled" in agent.text()


def test_malformed_orders_do_not_disturb(setup, tmp_path):
    pair, hub, agent = setup()
    hub.start(30, {"type": "pcap", "filter": "tcp port 8080",
                   "duration": 8})
    assert hub.wait_state(30, "running", timeout=10)
    hub.start(31, "{not json")
    hub.start(32, {"type": "rootkit"})
    hub.start(33, {"type": "pcap", "duration": 10 ** 9})
    hub.start(34, '{"type":"pcap","duration":5,"duration":6}')
    hub.start(35, "{" + '"x":' * 1 + '"' + "a" * 60000 + '"}')
    for tid in (31, 32, 33, 34, 35):
        r = hub.wait_state(tid, "refused", timeout=10)
        assert r, (tid, agent.text()[-2000:])
        assert r[4].startswith("bad specification: "), r
    http_traffic(pair, tmp_path, seconds=2)
    done = hub.wait_state(30, "done", "failed", timeout=30)
    assert done and done[1] == "done", done
    assert done[3] > 0
    assert hub.connections == 1          # the session never broke
    assert not hub.errors


def test_restart_mid_task_fails_it(setup):
    """A collector killed mid-task: its successor files the task failed
    "agent restarted", and the hub hears it."""
    pair, hub, agent = setup()
    hub.start(40, {"type": "pcap", "duration": 120})
    assert hub.wait_state(40, "running", timeout=10)
    os.kill(agent.children()["collector"], signal.SIGKILL)
    r = hub.wait_state(40, "failed", timeout=30)
    assert r and r[4] == "agent restarted", (r, agent.text()[-2000:])


def test_upload_resumes_after_shipper_restart(setup, tmp_path):
    """The shipper killed after part of a result reached the hub: the
    next one resumes at the hub's offset (START resume) and the file
    arrives whole, every byte once."""
    pair, hub, agent = setup(pcap={"snaplen": "262144"})
    hub.start(50, {"type": "pcap", "filter": "tcp port 8080",
                   "duration": 20, "max_bytes": 50 * 1024 * 1024})
    assert hub.wait_state(50, "running", timeout=10)
    root = tmp_path / "www"
    root.mkdir()
    (root / "small").write_bytes(b"x" * 1000)
    (root / "big").write_bytes(os.urandom(3 * 1024 * 1024))
    srv = pair.popen(pair.a, "python3", "-m", "http.server", "8080",
                     "--bind", HUB_IP, "--directory", str(root))

    def get(name):
        return pair.run(pair.b, "curl", "-s", "-o", "/dev/null", "-m", "30",
                        f"http://{HUB_IP}:8080/{name}",
                        check=False).returncode == 0
    try:
        assert wait_for(lambda: get("small"), 10)
        assert wait_for(lambda: len(hub.data(50)) > 0, 10)
        first = len(hub.data(50))
        os.kill(agent.children()["shipper"], signal.SIGKILL)
        assert get("big")
    finally:
        srv.kill()
        srv.wait()
    done = hub.wait_state(50, "done", "failed", timeout=60)
    assert done and done[1] == "done", (done, agent.text()[-2000:])
    data = hub.data(50)
    assert len(data) == done[2] > first + 3 * 1024 * 1024
    assert hub.connections >= 2
    assert hub.tasks[50].bad_offsets == 0
    assert "shipper killed by signal 9" in agent.text()
    out = tmp_path / "task50.pcap"
    out.write_bytes(data)
    pkts = tshark_ports(out)
    assert len(pkts) == done[3]
    assert all("8080" in (s, d) for s, d, _ in pkts)


def scan_ports(pair, src, nports, first=2000):
    """From src (an address added in namespace a), a connect() to nports
    closed ports of the agent: each is a SYN answered by RST."""
    code = ("import socket\n"
            f"for p in range({first}, {first + nports}):\n"
            "    s = socket.socket()\n"
            f"    s.bind(('{src}', 0))\n"
            "    s.settimeout(2)\n"
            "    try:\n"
            f"        s.connect(('{AGENT_IP}', p))\n"
            "    except OSError:\n"
            "        pass\n"
            "    s.close()\n")
    pair.run(pair.a, "python3", "-c", code)


def test_sensitivity_lowers_then_restores(setup):
    pair, hub, agent = setup(tasks={
        "allow": "pcap, ioc_sweep, snapshot, sensitivity"})
    for ip in ("10.201.0.3", "10.201.0.4"):
        pair.run(pair.a, "ip", "addr", "add", f"{ip}/24", "dev",
                 "veth-pka")

    def scans(src):
        return [o for o in agent.indicators("picket.scan.port")
                if o["source"]["ip"] == src]

    hub.start(60, {"type": "sensitivity", "factor": 50, "duration": 6})
    assert hub.wait_state(60, "running", timeout=10), agent.text()[-2000:]
    # one at a time
    hub.start(61, {"type": "sensitivity", "factor": 20, "duration": 5})
    r = hub.wait_state(61, "failed", "refused", "running", timeout=10)
    assert r and r[1] == "failed", r
    assert r[4] == "another sensitivity task is running"
    scan_ports(pair, "10.201.0.3", 8)
    assert wait_for(lambda: scans("10.201.0.3"), 10), \
        agent.text()[-2000:]
    done = hub.wait_state(60, "done", "failed", "cancelled", timeout=20)
    assert done and done[1] == "done", (done, agent.text()[-2000:])
    assert done[2] == 0 and done[3] == 0        # no result bytes
    assert "thresholds were at 50%" in done[4], done
    assert "port_scan_ports 7" in done[4], done
    assert "min_destinations 10" in done[4], done
    assert "thresholds restored: scan: port_scan_ports 15" in agent.text()
    # back at 15: the same 8-port scan from another source is silent
    scan_ports(pair, "10.201.0.4", 8)
    time.sleep(4)
    assert not scans("10.201.0.4"), scans("10.201.0.4")
    assert hub.wait_forgotten(60)


def test_proc_trace_by_exe(setup, tmp_path):
    pair, hub, agent = setup(
        process={"enabled": "yes"},
        tasks={"allow": "pcap, ioc_sweep, snapshot, proc_trace"})
    if "collector ebpf" in agent.text():
        pytest.skip("eBPF collector not running: " + agent.text()[-500:])
    port = 9099
    lst = pair.popen(pair.a, "python3", "-c",
                     "import socket,time;s=socket.socket();"
                     "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
                     f"s.bind(('{HUB_IP}',{port}));s.listen();"
                     "print('up',flush=True)\n"
                     "while True:\n c,_=s.accept();c.close()")
    d = tmp_path / "bin"
    d.mkdir()
    os.chmod(d, 0o755)
    tsh = d / "tsh"
    shutil.copy("/bin/sh", tsh)
    os.chmod(tsh, 0o755)
    job = d / "job.sh"
    job.write_text(
        f"#!{tsh}\n"
        "/usr/bin/python3 -c \"import socket; "
        f"socket.create_connection(('{HUB_IP}', {port}), 5).close()\"\n"
        "echo done\n")
    os.chmod(job, 0o755)
    try:
        assert lst.stdout.readline().strip() == b"up"
        # a pid that does not exist
        hub.start(70, {"type": "proc_trace", "pid": 4194303,
                       "duration": 5})
        r = hub.wait_state(70, "failed", "running", timeout=10)
        assert r and r[1] == "failed" and r[4] == "no process 4194303", r
        hub.start(71, {"type": "proc_trace", "exe": str(tsh),
                       "duration": 8, "max_rows": 1000})
        assert hub.wait_state(71, "running", timeout=10), \
            agent.text()[-2000:]
        job_run = pair.run(pair.b, str(job))
        assert job_run.stdout.strip() == "done"
        done = hub.wait_state(71, "done", "failed", timeout=30)
        assert done and done[1] == "done", (done, agent.text()[-2000:])
        assert hub.wait_forgotten(71)
        trace = rows(hub.data(71))
        assert done[3] == len(trace)
        execs = [r for r in trace if r["kind"] == "exec"]
        roots = [r for r in execs if r["exe"] == str(tsh)]
        assert len(roots) == 1, execs
        root = roots[0]
        assert root["argv"][-1] == str(job), root
        kids = [r for r in execs if r["ppid"] == root["pid"]]
        assert kids and kids[0]["exe"].startswith("/usr/bin/python3"), \
            execs
        kid = kids[0]
        assert kid["argv"][0] == "/usr/bin/python3", kid
        assert any(r["kind"] == "fork" and r["pid"] == root["pid"] and
                   r["child"] == kid["pid"] for r in trace), trace
        conns = [r for r in trace if r["kind"] == "connect" and
                 r["pid"] == kid["pid"] and r["address"] == HUB_IP and
                 r["port"] == port]
        assert conns, trace
        assert {r["kind"] for r in trace} >= {"exec", "fork", "connect",
                                               "exit"}
        # nothing of processes outside the tree
        pids = {root["pid"], kid["pid"]}
        assert {r["pid"] for r in trace} <= pids, trace
    finally:
        lst.kill()
        lst.wait()


def test_proc_trace_without_ebpf(setup):
    pair, hub, agent = setup(tasks={
        "allow": "pcap, ioc_sweep, snapshot, proc_trace"})
    hub.start(80, {"type": "proc_trace", "pid": 1, "duration": 5})
    r = hub.wait_state(80, "failed", "running", timeout=10)
    assert r and r[1] == "failed", r
    assert r[4] == ("process events are not available on this host: "
                    "disabled ([process] enabled = no)"), r
