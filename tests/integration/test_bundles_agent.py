"""The agent's side of shared-indicator bundles (issue 11, docs/bundles.md).

A real picketd (supervisor, collector, shipper, as root dropping to
nobody) runs in network namespace b and reports to BundleHub, a scripted
hub in namespace a speaking protocol 2 over real TLS, which pushes
bundles in CONFIG frames and reads the APPLIED answers and the
indicators.  Checked:

- APPLIED RUNNING right after WELCOME (running 0 at first);
- "member A": the agent flags a novel worm spreading to 30 hosts
  (picket.fingerprint.outbound), which gives the worm's fingerprint;
  bundle 1 carries it (origin state-a) and an address (origin state-b):
  APPLIED APPLIED 1; the same worm sent to ONE host is then reported at
  once as picket.fingerprint.shared with picket.shared (ref, origin,
  tlp, bundle, kind, value) and the same picket.fingerprint, and traffic
  to the address as picket.ioc.address with picket.shared and provider
  shared:state-b, both at the fake hub;
- bundle 2 (APPLIED, previous 1) replaces bundle 1; ROLLBACK to 1 gives
  ROLLED_BACK and detection follows bundle 1 again (its address
  reported, bundle 2's not);
- a restarted picketd answers RUNNING with running 1 and still detects;
  `picketd -n` prints the bundle's summary;
- a bundle with a bad line is REFUSED with the parser's reason and
  bundle 1 still detects;
- [bundle] accept = no: REFUSED with that reason;
- CONFIG in a version 1 session: ERROR TYPE and the agent hangs up.
"""
import json
import os
import struct
import sys
import time

import pytest

import hubproto as hp
from conftest import VALIDATOR, binary
from netns import WORM, Pair, novel_payload, sink_code, wait_for
from nsagent import NsAgent, hub_section
from taskhub import TaskHub

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

HUB_IP, AGENT_IP = "10.201.0.1", "10.201.0.2"
HOSTS = [f"10.201.0.{i}" for i in range(10, 40)]
# addresses bundles list (on namespace a's side)
V1_ADDRS = ["10.201.0.50", "10.201.0.53", "10.201.0.56"]
V2_ADDRS = ["10.201.0.51", "10.201.0.54"]


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    from hubrun import mkcerts
    return mkcerts(tmp_path_factory.mktemp("pki") / "pki", "-t",
                   "-H", "hub.test", "-I", HUB_IP, "-a", "agent-1")


class BundleHub(TaskHub):
    """TaskHub speaking protocol `version`: it records APPLIED answers,
    the indicators of every BATCH and ERROR frames, and sends CONFIG."""

    def __init__(self, certs, version=2, **kw):
        self.version = version
        self.applied = []
        self.indicators = []
        self.invalid = []       # schema errors of indicators
        super().__init__(certs, **kw)

    def _welcome(self):
        payload = struct.pack(">HIQQIIIIH", self.version, 0, 0,
                              int(time.time() * 1e6), self.max_frame,
                              10000, 8 * 1024 * 1024, 64, self.heartbeat_s)
        return hp.frame(hp.WELCOME, payload + hp.pstr("bundlehub"))

    def _frame(self, s, f):
        if f.type == hp.APPLIED:
            with self.lock:
                self.applied.append(hp.decode_applied(f.payload))
                self.lock.notify_all()
            return
        if f.type == hp.BATCH:
            first, count, raw_len, dict_id = struct.unpack_from(
                ">QIIB", f.payload)
            data = f.payload[17:]
            assert not (f.flags & hp.FLAG_DEFLATE) and dict_id == 0
            with self.lock:
                for line in data.decode().splitlines():
                    if line:
                        ind = json.loads(line)
                        # every line, picket.shared included, is valid
                        self.invalid += [e.message for e in
                                         VALIDATOR.iter_errors(ind)]
                        self.indicators.append(ind)
                self.lock.notify_all()
        super()._frame(s, f)

    def send(self, data):
        with self.lock:
            assert self._send(data)

    def config(self, version, text, op=hp.COP_APPLY):
        self.send(hp.config(version, op, text, deflate=True))

    def wait_applied(self, n, timeout=30):
        with self.lock:
            ok = self.lock.wait_for(lambda: len(self.applied) >= n,
                                    timeout)
            assert ok, self.applied
            return self.applied[n - 1]

    def wait_indicator(self, pred, timeout=20):
        with self.lock:
            found = []

            def seen():
                found[:] = [i for i in self.indicators if pred(i)]
                return found
            self.lock.wait_for(seen, timeout)
            return list(found)


class Agent(NsAgent):
    """picketd in namespace b reporting to HUB_IP:7443; stderr in a file."""

    def __init__(self, pair, tmp, certs, **sections):
        conf = {"agent": {"control_socket": ""},
                "network": {"home_net": "10.201.0.0/24"},
                "pcap": {"interfaces": "veth-pkb"},
                "hub": hub_section(f"{HUB_IP}:7443", certs,
                                   compression="0")}
        for sec, opts in sections.items():
            conf.setdefault(sec, {}).update(opts)
        super().__init__(pair, pair.b, tmp, conf, out=None)


def bundle(version, entries):
    """Bundle text (docs/bundles.md); entries (kind, value, ref, origin,
    tlp) sorted as the format wants."""
    order = {"domain": 1, "fingerprint": 2, "ipv4": 3, "ipv6": 4,
             "rule": 5, "sha256": 6, "url": 7}
    entries = sorted(entries, key=lambda e: (order[e[0]], e[1]))
    lines = ["picket-bundle 1", f"version {version}",
             f"created {int(time.time() * 1e6)}", f"entries {len(entries)}"]
    lines += [f"{k} {v} ref={r} origin={o} tlp={t}"
              for k, v, r, o, t in entries]
    return "\n".join(lines + ["end"]) + "\n"


def connect(pair, addr):
    """One TCP connection from namespace b to addr:8445 (the sink)."""
    pair.run(pair.b, sys.executable, "-c",
             "import socket,sys\n"
             "s=socket.create_connection((sys.argv[1],8445),timeout=2)\n"
             "s.sendall(b'hello'); s.close()\n", addr)


def rule_is(rule, **shared):
    def pred(i):
        if i["rule"]["id"] != rule:
            return False
        sh = i["picket"].get("shared")
        return sh is not None and all(sh.get(k) == v
                                      for k, v in shared.items())
    return pred


def ioc_for(addr):
    return lambda i: (i["rule"]["id"] == "picket.ioc.address" and
                      i.get("threat", {}).get("indicator", {})
                      .get("name", "").startswith(addr))


@pytest.fixture
def net():
    with Pair() as pair:
        for h in HOSTS + V1_ADDRS + V2_ADDRS:
            pair.run(pair.a, "ip", "addr", "add", f"{h}/24", "dev",
                     "veth-pka")
        sink = pair.popen(pair.a, sys.executable, "-c", sink_code(64),
                          text=True)
        assert sink.stdout.readline().strip() == "ready"
        yield pair


def test_bundle_lifecycle(net, tmp_path, certs):
    pair = net
    hub = BundleHub(certs, host=HUB_IP, port=7443, ns=pair.a)
    agent = Agent(pair, tmp_path, certs).start()
    try:
        assert hub.wait_connected(30), agent.text()[-2000:]
        a = hub.wait_applied(1)
        assert (a.outcome, a.running, a.previous, a.version) == \
            (hp.AO_RUNNING, 0, 0, 0)

        # member A's view: a novel worm spreading gives its fingerprint
        payload = novel_payload()
        pair.run(pair.b, sys.executable, "-c", WORM, payload.hex(), *HOSTS)
        out = hub.wait_indicator(
            lambda i: i["rule"]["id"] == "picket.fingerprint.outbound")
        assert out, agent.text()[-2000:]
        fp = out[0]["picket"]["fingerprint"]
        assert "shared" not in out[0]["picket"]

        v1 = [("fingerprint", fp, 12, "state-a", "green")] + \
            [("ipv4", ip, 13 + k, "state-b", "amber")
             for k, ip in enumerate(V1_ADDRS)]
        t0 = time.monotonic()
        hub.config(1, bundle(1, v1))
        a = hub.wait_applied(2)
        print(f"\nCONFIG APPLY to APPLIED: "
              f"{(time.monotonic() - t0) * 1000:.1f} ms")
        assert (a.outcome, a.running, a.previous, a.version) == \
            (hp.AO_APPLIED, 1, 0, 1), a

        # the same worm, to one host: reported at once, with the origin
        pair.run(pair.b, sys.executable, "-c", WORM, payload.hex(),
                 HOSTS[0])
        got = hub.wait_indicator(rule_is("picket.fingerprint.shared",
                                         ref=12, origin="state-a"))
        assert got, agent.text()[-3000:]
        sh = got[0]["picket"]["shared"]
        assert sh == {"ref": 12, "origin": "state-a", "tlp": "green",
                      "bundle": 1, "kind": "fingerprint", "value": fp}
        assert got[0]["picket"]["fingerprint"] == fp
        assert got[0]["event"]["dataset"] == "picket.fingerprint"
        assert got[0]["event"]["type"][0] == "start"
        assert got[0]["source"]["ip"] == AGENT_IP

        connect(pair, V1_ADDRS[0])
        got = hub.wait_indicator(lambda i: ioc_for(V1_ADDRS[0])(i) and
                                 "shared" in i["picket"])
        assert got, agent.text()[-3000:]
        assert got[0]["picket"]["shared"]["ref"] == 13
        assert got[0]["picket"]["shared"]["origin"] == "state-b"
        assert got[0]["threat"]["indicator"]["provider"] == "shared:state-b"

        # bundle 2 replaces it
        v2 = [("ipv4", ip, 20 + k, "state-c", "clear")
              for k, ip in enumerate(V2_ADDRS)]
        hub.config(2, bundle(2, v2))
        a = hub.wait_applied(3)
        assert (a.outcome, a.running, a.previous) == (hp.AO_APPLIED, 2, 1)
        connect(pair, V2_ADDRS[0])
        assert hub.wait_indicator(rule_is("picket.ioc.address", ref=20,
                                          bundle=2))

        # ROLLBACK to 1: bundle 1's addresses again, bundle 2's not
        hub.send(hp.config(1, hp.COP_ROLLBACK))
        a = hub.wait_applied(4)
        assert (a.outcome, a.running, a.version) == \
            (hp.AO_ROLLED_BACK, 1, 1), a
        connect(pair, V1_ADDRS[1])
        connect(pair, V2_ADDRS[1])
        assert hub.wait_indicator(rule_is("picket.ioc.address", ref=14,
                                          bundle=1))
        time.sleep(1.5)
        assert not hub.wait_indicator(ioc_for(V2_ADDRS[1]), timeout=0.1)

        # a restart keeps bundle 1
        agent.stop()
        n = len(hub.applied)
        agent.start()
        a = hub.wait_applied(n + 1)
        assert (a.outcome, a.running, a.version) == (hp.AO_RUNNING, 1, 0)
        before = len(hub.wait_indicator(rule_is("picket.ioc.address",
                                                ref=13), timeout=0.1))
        connect(pair, V1_ADDRS[0])
        assert wait_for(lambda: len(hub.wait_indicator(
            rule_is("picket.ioc.address", ref=13), timeout=0.1)) > before,
            timeout=20)
        r = pair.run(pair.b, binary(), "-n", "-c", str(agent.ini),
                     check=False)
        assert "bundle: version 1 (previous 0), 4 entries: " \
            "1 fingerprint, 3 ipv4" in r.stdout, r.stdout + r.stderr

        # a bad line: refused with the parser's reason, bundle 1 stays
        bad = bundle(3, v1).replace("ipv4 10.201.0.56 ",
                                    "ipv4 10.201.0.356 ")
        hub.config(3, bad)
        a = hub.wait_applied(n + 2)
        assert (a.outcome, a.running, a.version) == (hp.AO_REFUSED, 1, 3)
        assert "line" in a.reason, a.reason
        connect(pair, V1_ADDRS[1])
        assert hub.wait_indicator(lambda i: rule_is(
            "picket.ioc.address", ref=14)(i) and
            i["event"]["type"][0] == "start" and
            i["picket"]["seq"] > 0, timeout=20)
        status = (tmp_path / "spool" / "bundle" / "state").read_text()
        assert status == "running=1\nprevious=0\n"
    finally:
        agent.stop()
        hub.close()
    assert "bundle: version 1 applied" in agent.text()
    assert hub.invalid == []


def test_bundles_turned_off(net, tmp_path, certs):
    hub = BundleHub(certs, host=HUB_IP, port=7443, ns=net.a)
    agent = Agent(net, tmp_path, certs, bundle={"accept": "no"}).start()
    try:
        assert hub.wait_connected(30), agent.text()[-2000:]
        hub.wait_applied(1)
        hub.config(1, bundle(1, [("ipv4", "10.201.0.50", 1, "x",
                                  "green")]))
        a = hub.wait_applied(2)
        assert (a.outcome, a.running, a.version) == (hp.AO_REFUSED, 0, 1)
        assert a.reason == "bundles are turned off on this host " \
            "([bundle] accept = no)"
    finally:
        agent.stop()
        hub.close()


def test_config_in_v1_session(net, tmp_path, certs):
    hub = BundleHub(certs, version=1, host=HUB_IP, port=7443, ns=net.a)
    agent = Agent(net, tmp_path, certs).start()
    try:
        assert hub.wait_connected(30), agent.text()[-2000:]
        time.sleep(0.5)
        assert hub.applied == []      # no APPLIED in a v1 session
        n = hub.connections
        hub.config(1, bundle(1, [("ipv4", "10.201.0.50", 1, "x",
                                  "green")]))
        assert wait_for(lambda: hub.errors, timeout=10), agent.text()
        assert hub.errors[0].code == hp.E_TYPE
        # the agent hung up and comes back
        assert wait_for(lambda: hub.connections > n, timeout=15)
        assert "CONFIG in a version 1 session" in agent.text()
    finally:
        agent.stop()
        hub.close()
