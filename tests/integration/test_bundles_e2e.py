"""A worm one member found becomes detection on another member's hosts
(issue 11, docs/bundles.md), end to end with real processes only.

Three network namespaces: the hubs' (both members' hubs, each on its own
link address, peering with each other over mutual TLS with their own
CAs), host a (member A's agent, 10.211.1.2) and host b (member B's agent,
10.211.2.2).  The hubs' namespace also takes every address of
10.212.0.0/24 as its own and answers them: the worm's victims.

1. A generated worm on host a sends one novel payload to 30 victims:
   agent a reports the payload's fingerprint to hub A.
2. Hub A pushes it to hub B (TLP:AMBER allowed); B accepts it with
   auto-approval; B's bundle gets a new version with the fingerprint,
   hub B sends it to agent b in a CONFIG frame, agent b applies it and
   says so (APPLIED): B's hosts API shows the version agent b runs.
3. The same worm on host b sends the payload to only 2 victims (far
   under the 20 destinations an unknown worm needs): agent b reports it
   at once as the shared worm, with A as the origin, and hub B counts it
   as a match of that shared indicator, with agent b among the hosts the
   indicator reached.
4. Nothing of A's host (its agent's address and id) appears anywhere in
   B's database.
5. B's admin rolls the bundle back: agent b runs none again, and the
   same payload sent again opens no new shared-worm indicator.

Needs root (network namespaces).  PICKETD and PICKET_HUB are the
programs."""
import os
import sqlite3
import subprocess
import time

import pytest

from apiclient import NsCurl
from hubrun import HUB, Hub, mkcerts
from netns import WORM, Star, novel_payload, sink_code, wait_for
from nsagent import NsAgent, hub_section

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

VICTIMS = [f"10.212.0.{i}" for i in range(10, 40)]
SINK = sink_code(128)
MEMBERS = {"a": ("state-a", "hub-a.test", 1), "b": ("state-b", "hub-b.test", 2)}


def make_lab():
    """The hubs' namespace and one host namespace per member."""
    return Star(list(MEMBERS), "10.211", "10.212.0.0/24", "pkb")


class Member:
    """One member: its CA, its hub (in the hubs' namespace, on its link's
    address) and one agent on its host."""

    def __init__(self, lab, m, tmp):
        self.lab, self.m = lab, m
        self.name, self.dns, i = MEMBERS[m]
        self.ip = lab.hub_ip(m)
        self.agent_id = f"agent-{m}"
        self.certs = mkcerts(tmp / "pki", "-t", "-H", self.dns, "-I",
                             self.ip, "-a", self.agent_id)
        self.hub = Hub(tmp / "hub", self.certs, host=self.ip, port=7443,
                       ns=lab.hub, api_port=8443, name=self.name,
                       sharing={"name": self.name,
                                "internal": f"10.211.{i}.0/24"},
                       peering={"listen": f"{self.ip}:7444",
                                "push_interval": "1s"},
                       sections={"bundles": {"check_interval": "1s"}})
        self.api = NsCurl(lab.hub, self.certs,
                          self.hub.token("admin", f"admin-{m}"), self.ip,
                          8443, name=self.dns)
        self.tmp = tmp
        self.agent = None

    @property
    def url(self):
        return f"https://{self.ip}:7444"

    def cli(self, *args):
        p = subprocess.run([str(HUB), *args, "-c", str(self.hub.ini)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        return p.stdout

    def start_agent(self):
        _, _, i = MEMBERS[self.m]
        self.agent = NsAgent(self.lab, self.lab.host[self.m],
                             self.tmp / "agent", {
                                 "agent": {"control_socket": ""},
                                 "network": {"home_net": f"10.211.{i}.0/24"},
                                 "pcap": {"interfaces": self.lab.dev(self.m)},
                                 "hub": hub_section(f"{self.ip}:7443",
                                                    self.certs, self.agent_id,
                                                    self.dns),
                             }, out="out.ndjson").start()

    def agent_log(self):
        return self.agent.text()

    def get(self, path):
        return self.api.ok("GET", path)

    def host_bundle(self):
        """The bundle state hub reports for this member's agent, or None."""
        rows = self.get("/api/v1/hosts")["hosts"]
        for h in rows:
            if h["agent_id"] == self.agent_id:
                return h.get("bundle")
        return None

    def indicators(self, rule):
        return self.get(f"/api/v1/indicators?rule={rule}&limit=500")[
            "indicators"]

    def why(self):
        return (self.agent_log()[-3000:], self.hub.stderr()[-3000:])


def spread(lab, m, payload, victims):
    lab.run(lab.host[m], "python3", "-c", WORM, payload.hex(), *victims)


def starts(inds):
    return [o for o in inds if "start" in o["event"]["type"]]


def test_a_worm_one_member_found_is_detected_on_anothers_host(tmp_path):
    payload = novel_payload()
    with make_lab() as lab:
        a = Member(lab, "a", tmp_path / "a")
        b = Member(lab, "b", tmp_path / "b")
        a.cli("peer", "add", b.name, "--url", b.url, "--ca",
              str(b.certs / "ca.crt"), "--send-tlp", "amber")
        b.cli("peer", "add", a.name, "--url", a.url, "--ca",
              str(a.certs / "ca.crt"), "--accept-tlp", "amber",
              "--auto-approve")
        sink = lab.popen(lab.hub, "python3", "-c", SINK, text=True)
        assert sink.stdout.readline().strip() == "ready"
        a.start_agent()
        b.start_agent()
        # agent b speaks protocol 2 and has told hub B it runs no bundle
        assert wait_for(lambda: (b.host_bundle() or {}).get("running")
                        == 0, timeout=30), b.why()

        # 1. the worm on host a: agent a reports its fingerprint
        spread(lab, "a", payload, VICTIMS)
        assert wait_for(lambda: a.indicators("picket.fingerprint.outbound"),
                        timeout=40), a.why()
        (fp,) = {o["picket"]["fingerprint"]
                 for o in a.indicators("picket.fingerprint.outbound")}

        # 2. hub B holds it, approved, and agent b runs a bundle with it
        def shared_row():
            rows = b.get("/api/v1/shared?kind=fingerprint&limit=100")[
                "shared"]
            rows = [r for r in rows if r["value"] == fp]
            return rows[0] if rows else None
        assert wait_for(shared_row, timeout=40), (a.hub.stderr()[-3000:],
                                                  b.hub.stderr()[-3000:])
        row = shared_row()
        assert row["state"] == "approved" and row["peer"] == a.name, row
        sid = row["id"]

        def bundle_with_fp():
            for v in b.get("/api/v1/bundles")["bundles"]:
                if not v["withdrawn"]:
                    text = b.get(f"/api/v1/bundles/{v['version']}")[
                        "content"]
                    return v["version"] if fp in text else None
            return None
        assert wait_for(bundle_with_fp, timeout=20), b.why()
        version = bundle_with_fp()
        assert wait_for(lambda: (b.host_bundle() or {}).get("running")
                        == version, timeout=20), (b.host_bundle(), b.why())

        # 3. the same worm on host b, to two victims only: reported at
        # once as the worm A shared, with A as its origin
        spread(lab, "b", payload, VICTIMS[:2])

        def shared_hits():
            return [o for o in b.indicators("picket.fingerprint.shared")
                    if o["agent"]["id"] == b.agent_id]
        assert wait_for(shared_hits, timeout=30), b.why()
        hit = shared_hits()[0]
        assert hit["picket"]["fingerprint"] == fp, hit
        sh_ = hit["picket"]["shared"]
        assert sh_["origin"] == a.name and sh_["ref"] == sid, hit
        assert sh_["kind"] == "fingerprint" and sh_["value"] == fp, hit
        assert sh_["bundle"] == version, hit
        # agent b never saw 20 destinations: no unknown-worm indicator
        assert not [o for o in b.indicators("picket.fingerprint.outbound")
                    if o["agent"]["id"] == b.agent_id]

        def reach():
            return b.get(f"/api/v1/shared/{sid}")
        assert wait_for(lambda: reach()["matches"]["count"] >= 1,
                        timeout=20), reach()
        r = reach()
        assert r["matches"]["hosts"] == 1, r
        assert r["reach"]["hosts"] == 1 and \
            r["reach"]["first_bundle"] == version, r
        assert b.agent_id in {h["agent_id"] for h in r["reach_hosts"]}, r

        # 4. nothing of A's hosts anywhere in B's database
        con = sqlite3.connect(str(b.hub.data / "hub.db"))
        dump = "\n".join(con.iterdump())
        con.close()
        # (both agents share this machine's host name, so the name is
        # test_peering.py's business, where A's names are its own)
        for secret in ("10.211.1.2", a.agent_id):
            assert secret not in dump, secret

        # 5. roll back: agent b runs none, and the payload opens no new
        # shared-worm indicator
        before = len(starts(shared_hits()))
        rb = b.api.ok("POST", "/api/v1/bundles/rollback", {})
        assert rb["current"] in (None, 0) or rb["current"] < version, rb
        assert wait_for(lambda: (b.host_bundle() or {}).get("running")
                        != version, timeout=20), (b.host_bundle(), b.why())
        assert b.host_bundle()["outcome"] == "rolled_back", b.host_bundle()
        spread(lab, "b", payload, VICTIMS[2:4])
        time.sleep(4)
        assert len(starts(shared_hits())) == before, shared_hits()

        for mem in (a, b):
            mem.agent.stop()
            rc, _ = mem.hub.stop()
            assert rc == 0, mem.hub.stderr()[-3000:]
