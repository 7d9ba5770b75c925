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
import pathlib
import shutil
import signal
import subprocess
import time

import pytest

from conftest import binary
from netns import Pair, wait_for
from taskhub import TaskHub

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

HUB_IP, AGENT_IP = "10.201.0.1", "10.201.0.2"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    from hubrun import mkcerts
    return mkcerts(tmp_path_factory.mktemp("pki") / "pki", "-t",
                   "-H", "hub.test", "-I", HUB_IP, "-a", "agent-1")


class Agent:
    """picketd in namespace b reporting to HUB_IP:7443; stderr in a file.
    sections override the INI ({"tasks": {"allow": "pcap"}})."""

    def __init__(self, pair, tmp, certs, exe=None, **sections):
        self.pair, self.tmp = pair, tmp
        self.exe = exe or binary()
        for d in (tmp, *tmp.parents):
            if str(d) in ("/", "/tmp"):
                break
            os.chmod(d, os.stat(d).st_mode | 0o111)
        self.spool = tmp / "spool"
        self.log = tmp / "agent.log"
        self.proc = None
        conf = {
            "agent": {"user": "nobody", "control_socket": ""},
            "network": {"home_net": "10.201.0.0/24"},
            "pcap": {"interfaces": "any", "health_interval": "0"},
            "process": {"enabled": "no"},
            "spool": {"dir": str(self.spool), "segment_bytes": "64k"},
            "hub": {"address": f"{HUB_IP}:7443", "server_name": "hub.test",
                    "ca": str(certs / "ca.crt"),
                    "cert": str(certs / "agents" / "agent-1.crt"),
                    "key": str(certs / "agents" / "agent-1.key"),
                    "backoff_base": "1s", "backoff_cap": "2s",
                    "connect_timeout": "3s"},
        }
        for sec, opts in sections.items():
            conf.setdefault(sec, {}).update(opts)
        self.ini = tmp / "agent.ini"
        self.ini.write_text("".join(
            f"[{sec}]\n" + "".join(f"{k} = {v}\n" for k, v in opts.items())
            for sec, opts in conf.items()))

    def start(self):
        with open(self.log, "a") as logf:
            self.proc = self.pair.popen(self.pair.b, self.exe, "-f", "-c",
                                        str(self.ini), "-o", "/dev/null",
                                        stdout=subprocess.DEVNULL,
                                        stderr=logf, start_new_session=True)
        assert wait_for(lambda: "running, host" in self.text()
                        or self.proc.poll() is not None, timeout=20), \
            self.text()
        return self

    def text(self):
        return self.log.read_text(errors="replace") if self.log.exists() \
            else ""

    def children(self):
        out = {}
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/"
                  "children") as f:
            for pid in (int(p) for p in f.read().split()):
                with open(f"/proc/{pid}/comm") as c:
                    out[c.read().strip().replace("pk-", "")] = pid
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        assert rc == 0, self.text()[-3000:]
        for mark in ("runtime error", "AddressSanitizer", "SIGSYS"):
            assert mark not in self.text(), self.text()[-3000:]


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
