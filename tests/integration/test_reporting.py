"""picketd reporting to a real picket-hub over mutual TLS (issue 5).

Two network namespaces joined by a veth pair: the hub listens in one
(10.201.0.1), the agent captures on the other end (10.201.0.2) and ships
its spool through the veth.  Everything is real: the agent's supervisor,
collector and shipper processes (the latter two switched to `nobody`),
TLS 1.3 with certificates from packaging/mkcerts.sh, the hub's SQLite
store.  The checks:

- live traffic: the hub stores exactly the lines the agent wrote to its
  local output, and the closed indicators match `picketd -r`;
- hub down, then up; SIGKILL of the whole agent (or of its shipper) 50
  times while it sends; the link cut and restored: every spooled record
  arrives once, sequence numbers without gaps or repeats;
- a full spool disk (a small tmpfs): the agent keeps running, says so, and
  recovers when the hub's ACKs free space;
- refused certificates in both directions;
- the shipper's and the collector's credentials in /proc;
- an HTTP CONNECT proxy.

Pre-loaded spool records are real indicator lines (from `picketd -r`)
whose picket.seq is rewritten to the record's sequence number, so each
stored row says which record it came from."""
import json
import os
import random
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import PCAPS, analyse, binary, spool_fill
from hubrun import Hub, mkcerts
from netns import Pair, wait_for
from nsagent import NsAgent, hub_section

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

HUB_IP, AGENT_IP = "10.201.0.1", "10.201.0.2"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return mkcerts(tmp_path_factory.mktemp("pki") / "pki", "-t",
                   "-H", "hub.test", "-I", HUB_IP, "-a", "agent-1")


@pytest.fixture(scope="module")
def sample_lines():
    """Real indicators, as picketd -r prints them."""
    out = []
    for name in ("nmap_synscan.pcap", "40.TCP_SYN_scan.pcap",
                 "ncsa_multiport_scan.pcap"):
        _, _, proc = analyse(PCAPS / name)
        out += proc.stdout.splitlines()
    assert len(out) >= 3
    return out


def numbered(sample, n, first=1):
    """n indicator lines whose picket.seq is their spool sequence number."""
    lines = []
    for i in range(n):
        obj = json.loads(sample[i % len(sample)])
        obj["picket"]["seq"] = first + i
        lines.append(json.dumps(obj, separators=(",", ":")))
    return lines


def prefill(driver, spool, lines, segment=65536):
    return spool_fill(driver, spool, lines, segment)


class Agent(NsAgent):
    """picketd in the agent namespace reporting to HUB_IP:7443; sections
    override the INI."""

    def __init__(self, pair, tmp, certs, exe=None, **sections):
        conf = {"network": {"home_net": "10.201.0.0/24"},
                "pcap": {"interfaces": "veth-pkb", "promiscuous": "yes"},
                "hub": hub_section(f"{HUB_IP}:7443", certs)}
        for sec, opts in sections.items():
            conf.setdefault(sec, {}).update(opts)
        super().__init__(pair, pair.b, tmp, conf, exe=exe,
                         out="agent-out.ndjson")


def rows(hub):
    """Every stored row: (seq, json) from the hub's database."""
    db = sqlite3.connect(f"file:{hub.data / 'hub.db'}?mode=ro", uri=True,
                         timeout=30)
    try:
        return db.execute("SELECT seq, json FROM indicators "
                          "WHERE agent_id = 'agent-1' ORDER BY seq").fetchall()
    finally:
        db.close()


def stored_count(hub):
    try:
        db = sqlite3.connect(f"file:{hub.data / 'hub.db'}?mode=ro",
                             uri=True, timeout=30)
    except sqlite3.OperationalError:
        return 0
    try:
        return db.execute("SELECT count(*) FROM indicators").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def wait_stored(hub, n, timeout=120):
    assert wait_for(lambda: stored_count(hub) >= n, timeout=timeout,
                    step=0.2), (stored_count(hub), n, hub.stderr()[-3000:])


def check_exactly(hub, lines):
    """The hub holds exactly these records, seq i = lines[i-1], once."""
    got = rows(hub)
    assert [s for s, _ in got] == list(range(1, len(lines) + 1))
    for (seq, text), want in zip(got, lines):
        assert json.loads(text) == json.loads(want), seq


@pytest.fixture
def net():
    with Pair() as pair:
        pair.hubs = []
        yield pair
        # A failed test must not leave its hub behind.
        for h in pair.hubs:
            if h.proc.poll() is None:
                h.proc.kill()
                h.proc.wait()


def start_hub(pair, tmp, certs, **opts):
    hub = Hub(tmp / "hub", certs, host=HUB_IP, port=7443, ns=pair.a, **opts)
    pair.hubs.append(hub)
    return hub


# ------------------------------------------------------------------ tests


def key(ind):
    return (ind["rule"]["id"], ind["source"]["ip"],
            ind.get("destination", {}).get("ip"),
            ind.get("destination", {}).get("port"),
            ind["picket"]["details"].get("distinct_ports"))


def test_live_traffic_reaches_the_hub_once(net, tmp_path, certs):
    """What the agent writes locally is what the hub stores, line for line;
    the closed indicators are the ones picketd -r finds in the captures."""
    files = [PCAPS / n for n in ("nmap_synscan.pcap", "40.TCP_SYN_scan.pcap",
                                 "42.TCP_NULL_scan.pcap")]
    expected = set()
    for path in files:
        inds, _, _ = analyse(path, "--home-net", "10.201.0.0/24")
        expected |= {key(i) for i in inds}
    hub = start_hub(net, tmp_path, certs)
    agent = Agent(net, tmp_path, certs).start()
    for path in files:
        r = net.run(net.a, "tcpreplay", "--pps=20000", "-i", "veth-pka",
                    str(path), timeout=120)
        assert r.returncode == 0, r.stderr
    time.sleep(1.5)
    agent.stop()        # the collector's last indicators are drained too
    local = agent.out.read_text().splitlines()
    assert local
    wait_stored(hub, len(local), timeout=30)
    got = rows(hub)
    assert [json.loads(j) for _, j in got] == [json.loads(x) for x in local]
    # picket.seq is the spool's sequence number, which is the hub's key.
    assert [s for s, _ in got] == [json.loads(x)["picket"]["seq"]
                                   for x in local]
    ends = [json.loads(j) for _, j in got]
    ends = [i for i in ends if i["event"]["kind"] == "alert"
            and i["event"]["type"][0] == "end"]
    assert {key(i) for i in ends} == expected
    rc, k = hub.stop()
    assert rc == 0 and k["ingest_stored"] == len(local)
    # Everything was acknowledged, so the spool keeps only its newest file.
    assert len(list(agent.spool.glob("*.seg"))) <= 1


@pytest.mark.parametrize("build", ["PICKETD", "PICKETD_ASAN"])
def test_hub_down_then_up(net, tmp_path, certs, driver, sample_lines, build):
    """Also with the ASan+UBSan agent: its collector and its shipper
    (inside the seccomp filter) move 3000 records without an error."""
    lines = numbered(sample_lines, 3000)
    exe = binary(build, "build/asan/picketd" if build.endswith("ASAN")
                 else "build/picketd")
    agent = Agent(net, tmp_path, certs, exe=exe)
    prefill(driver, agent.spool, lines)
    agent.start()
    # The shipper keeps trying, with backoff, while detection goes on.
    assert wait_for(lambda: agent.text().count("next attempt in") >= 2,
                    timeout=20), agent.text()
    hub = start_hub(net, tmp_path, certs)
    wait_stored(hub, len(lines))
    check_exactly(hub, lines)
    agent.stop()
    assert hub.stop()[0] == 0


def test_sigkill_while_sending(net, tmp_path, certs, driver, sample_lines):
    """50 rounds: start the agent, let it send for a random moment, kill
    it (the whole process group, or only the shipper, which the
    supervisor then restarts).  Health indicators made meanwhile join the
    pre-loaded records.  In the end every record is stored exactly once
    and the sequence numbers have no gap."""
    lines = numbered(sample_lines, 30000)
    agent = Agent(net, tmp_path, certs, pcap={"health_interval": "1s"},
                  hub={"batch_records": "10"})
    prefill(driver, agent.spool, lines)
    hub = start_hub(net, tmp_path, certs)
    rng = random.Random(5)
    progressed = 0
    for rnd in range(50):
        before = stored_count(hub)
        agent.start()
        time.sleep(rng.uniform(0.05, 0.6))
        if rnd % 5 == 4:
            ship = agent.children()["shipper"]
            os.kill(ship, signal.SIGKILL)
            assert wait_for(lambda: agent.children().get("shipper",
                                                         ship) != ship,
                            timeout=10), agent.text()[-2000:]
            time.sleep(rng.uniform(0.05, 0.3))
        agent.kill()
        progressed += stored_count(hub) > before
    assert "shipper killed by signal 9" in agent.text()
    # Most rounds were killed while records were moving.
    assert progressed >= 25, progressed
    agent.start()
    wait_stored(hub, len(lines), timeout=180)
    time.sleep(2)       # the health indicators of the last run
    agent.stop()
    wait_for(lambda: stored_count(hub) == max(s for s, _ in rows(hub)),
             timeout=30)
    got = rows(hub)
    seqs = [s for s, _ in got]
    assert seqs == list(range(1, len(seqs) + 1)), "gap or repeat"
    for (seq, text), want in zip(got, lines):
        assert json.loads(text) == json.loads(want), seq
    extra = [json.loads(t) for _, t in got[len(lines):]]
    assert extra and all(i["rule"]["id"] == "picket.health.capture"
                         for i in extra)
    # No indicator was stored twice under two numbers.
    assert len({t for _, t in got}) == len(got)
    hub.stop()


def test_link_cut_and_restored(net, tmp_path, certs, driver, sample_lines):
    lines = numbered(sample_lines, 8000)
    agent = Agent(net, tmp_path, certs, hub={"batch_records": "10"})
    prefill(driver, agent.spool, lines)
    hub = start_hub(net, tmp_path, certs, heartbeat=1)
    agent.start()
    wait_stored(hub, 200)
    net.run(net.a, "ip", "link", "set", "veth-pka", "down")
    during = stored_count(hub)
    time.sleep(5)
    assert stored_count(hub) - during < 200     # nothing got through
    net.run(net.a, "ip", "link", "set", "veth-pka", "up")
    wait_stored(hub, len(lines))
    check_exactly(hub, lines)
    assert "connection lost" in agent.text()
    agent.stop()
    hub.stop()


def test_full_spool_disk(net, tmp_path, certs, driver, sample_lines):
    """The spool on a 2 MiB tmpfs, filled up while the hub is away: the
    agent logs the failure and goes on; once the hub has taken the
    backlog and its ACKs freed the space, spooling resumes and a health
    indicator tells the hub how many indicators were lost."""
    fs = tmp_path / "fs"
    fs.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs",
                    str(fs)], check=True)
    try:
        lines = numbered(sample_lines, 700)
        agent = Agent(net, tmp_path, certs, pcap={"health_interval": "1s"},
                      spool={"dir": str(fs / "spool"),
                             "segment_bytes": "64k"})
        agent.spool = fs / "spool"
        prefill(driver, agent.spool, lines)
        agent.start()
        # Take what is left of the disk.
        subprocess.run(["dd", "if=/dev/zero", f"of={fs / 'filler'}",
                        "bs=4k"], capture_output=True)
        assert wait_for(lambda: "No space left on device" in agent.text(),
                        timeout=20), agent.text()[-2000:]
        time.sleep(2)
        assert agent.proc.poll() is None
        # Local output still gets every health report.
        assert "picket.health.capture" in agent.out.read_text()
        hub = start_hub(net, tmp_path, certs)
        wait_stored(hub, len(lines))
        assert wait_for(lambda: "spool: writing again" in agent.text(),
                        timeout=30), agent.text()[-2000:]

        def loss_reported():
            return any(json.loads(t)["rule"]["id"] == "picket.health.spool"
                       for _, t in rows(hub))
        assert wait_for(loss_reported, timeout=30)
        agent.stop()
        got = rows(hub)
        for (seq, text), want in zip(got, lines):
            assert json.loads(text) == json.loads(want), seq
        spool = [json.loads(t) for _, t in got
                 if json.loads(t)["rule"]["id"] == "picket.health.spool"]
        assert spool[0]["picket"]["details"]["disk_full_errors"] > 0
        hub.stop()
    finally:
        subprocess.run(["umount", "-l", str(fs)], check=False)


@pytest.mark.parametrize("cert", ["other-agent", "expired", "revoked"])
def test_hub_refuses_bad_agent_certificates(net, tmp_path, certs, driver,
                                           sample_lines, cert):
    agent = Agent(net, tmp_path, certs, hub={
        "cert": str(certs / f"{cert}.crt"),
        "key": str(certs / f"{cert}.key")})
    prefill(driver, agent.spool, numbered(sample_lines, 5))
    hub = start_hub(net, tmp_path, certs)
    agent.start()
    # TLS 1.3: the hub judges the client certificate after the client's
    # side of the handshake, so the agent learns of it waiting for WELCOME.
    assert wait_for(lambda: "no WELCOME" in agent.text(), timeout=20), \
        agent.text()
    assert wait_for(lambda: hub.counters()["handshake_failures"] >= 1,
                    timeout=10)
    assert "welcomes 0" in hub.stderr().rsplit("counters", 1)[-1]
    agent.stop()
    assert stored_count(hub) == 0
    hub.stop()


@pytest.mark.parametrize("change", ["name", "ca"])
def test_agent_refuses_wrong_hub(net, tmp_path, certs, driver, sample_lines,
                                 change):
    opts = {"server_name": "other.test"} if change == "name" else \
        {"ca": str(certs / "other-ca.crt")}
    agent = Agent(net, tmp_path, certs, hub=opts)
    prefill(driver, agent.spool, numbered(sample_lines, 5))
    hub = start_hub(net, tmp_path, certs)
    agent.start()
    assert wait_for(lambda: "certificate verify failed" in agent.text(),
                    timeout=20), agent.text()
    agent.stop()
    assert stored_count(hub) == 0
    hub.stop()


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def test_processes_and_privileges(net, tmp_path, certs, driver,
                                  sample_lines):
    lines = numbered(sample_lines, 50)
    agent = Agent(net, tmp_path, certs)
    prefill(driver, agent.spool, lines)
    hub = start_hub(net, tmp_path, certs)
    agent.start()
    wait_stored(hub, len(lines))
    kids = agent.children()
    assert set(kids) == {"collector", "shipper"}, kids
    nobody = ["65534"] * 4
    sup = status(agent.proc.pid)
    assert sup["Uid"] == ["0"] * 4      # the supervisor stays root
    ship = status(kids["shipper"])
    assert ship["Uid"] == nobody and ship["Gid"] == nobody
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(ship[cap][0], 16) == 0, (cap, ship[cap])
    assert ship["NoNewPrivs"] == ["1"]
    assert ship["Seccomp"] == ["2"]     # filter mode
    coll = status(kids["collector"])
    assert coll["Uid"] == nobody
    assert int(coll["CapEff"][0], 16) == 0      # [process] is off here
    assert coll["NoNewPrivs"] == ["1"]
    # The shipper dies: the supervisor says why and starts another.
    os.kill(kids["shipper"], signal.SIGKILL)
    assert wait_for(lambda: "shipper killed by signal 9" in agent.text(),
                    timeout=10)
    assert wait_for(lambda: agent.children().get("shipper") not in
                    (None, kids["shipper"]), timeout=10)
    check_exactly(hub, lines)
    agent.stop()
    hub.stop()


PROXY = r"""
import socket, sys, threading
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2]))); ls.listen(8)
print("ready", flush=True)
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def serve(c):
    head = b""
    while b"\r\n\r\n" not in head:
        d = c.recv(1)
        if not d:
            return
        head += d
    line = head.split(b"\r\n")[0].decode()
    print(line, flush=True)
    verb, target, _ = line.split(" ")
    host, port = target.rsplit(":", 1)
    u = socket.create_connection((host.strip("[]"), int(port)))
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pump, args=(c, u), daemon=True).start()
    pump(u, c)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def test_through_connect_proxy(net, tmp_path, certs, driver, sample_lines):
    lines = numbered(sample_lines, 300)
    script = tmp_path / "proxy.py"
    script.write_text(PROXY)
    proxy = net.popen(net.a, "/usr/bin/python3", str(script), HUB_IP,
                      "3128", text=True)
    assert proxy.stdout.readline().strip() == "ready"
    agent = Agent(net, tmp_path, certs, hub={"proxy": f"{HUB_IP}:3128"})
    prefill(driver, agent.spool, lines)
    hub = start_hub(net, tmp_path, certs)
    agent.start()
    wait_stored(hub, len(lines))
    check_exactly(hub, lines)
    assert proxy.stdout.readline().strip() == \
        f"CONNECT {HUB_IP}:7443 HTTP/1.1"
    agent.stop()
    hub.stop()
    proxy.kill()


def test_check_loads_the_hub_certificates(tmp_path, certs):
    """picketd -n reads the [hub] certificates as the shipper will: the
    agent id it will have, or why it cannot load them."""
    good = tmp_path / "good.ini"
    good.write_text(f"[hub]\naddress = {HUB_IP}:7443\n"
                    f"ca = {certs / 'ca.crt'}\n"
                    f"cert = {certs / 'agents' / 'agent-1.crt'}\n"
                    f"key = {certs / 'agents' / 'agent-1.key'}\n"
                    "[process]\nenabled = no\n")
    proc = subprocess.run([binary(), "-n", "-c", str(good)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"hub: {HUB_IP}:7443 as agent agent-1, certificates OK" in \
        proc.stderr
    bad = tmp_path / "bad.ini"
    bad.write_text(good.read_text().replace("agent-1.key", "missing.key"))
    proc = subprocess.run([binary(), "-n", "-c", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "missing.key: No such file or directory" in proc.stderr
    # A key that does not belong to the certificate.
    other = tmp_path / "other.ini"
    other.write_text(good.read_text().replace(
        str(certs / "agents" / "agent-1.key"), str(certs / "expired.key")))
    proc = subprocess.run([binary(), "-n", "-c", str(other)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "expired.key: key values mismatch" in proc.stderr
