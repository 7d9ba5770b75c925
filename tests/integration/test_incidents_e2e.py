"""Incidents end to end (issue 12): a scripted outbreak on three hosts,
the incident team's work on the hub, and the after-action report.

Four network namespaces: the hub's, and three hosts joined to it by veth
pairs (10.201.<i>.2 each, the hub at 10.201.<i>.1 on each link).  Each
host runs its own picketd with its own certificate.  A generated "worm"
on each host in turn sends one novel payload to 30 addresses of
10.202.0.0/24, which the hub's namespace takes as local and answers: each
agent reports the worm's fingerprint, and the hub groups the three hosts
into one outbreak.  The team opens an incident from that outbreak, orders
a pcap task for it (host 3's policy refuses pcap), marks it contained and
closes it.  The report's figures must equal the ones this test computes
from the hub's own answers and the test's order of events: time to
detect, to the first task, to containment and to closing from the first
indicator; three hosts; two tasks done and one refused; and the hosts
over time must grow 0 -> 3 in the order the test infected them."""
import os
import subprocess
import time
from datetime import datetime

import pytest

from apiclient import NsCurl
from hubrun import Hub, mkcerts
from netns import WORM, Star, novel_payload, sink_code, wait_for
from nsagent import NsAgent, hub_section

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

NHOSTS = 3
API_PORT = 8443
VICTIMS = [f"10.202.0.{i}" for i in range(10, 40)]
SINK = sink_code(128)


def ts(s):
    """RFC 3339 UTC (as the hub writes it) -> seconds since the epoch."""
    return datetime.strptime(s.replace("Z", "+0000"),
                             "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def make_lab():
    """The hub's namespace and NHOSTS host namespaces, one link each."""
    return Star(range(1, NHOSTS + 1), "10.201", "10.202.0.0/24", "pki")


class Agent(NsAgent):
    """picketd on host i, reporting to the hub over its own link."""

    def __init__(self, lab, i, tmp, certs, allow):
        self.i, self.id = i, f"agent-{i}"
        super().__init__(lab, lab.host[i], tmp, {
            "agent": {"control_socket": ""},
            "network": {"home_net": f"10.201.{i}.0/24"},
            "pcap": {"interfaces": lab.dev(i)},
            "hub": hub_section(f"{lab.hub_ip(i)}:7443", certs, self.id),
            "tasks": {"allow": allow},
        }, out="out.ndjson")
        self.start()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=30)


def test_outbreak_to_after_action_report(tmp_path):
    ips = [f"10.201.{i}.1" for i in range(1, NHOSTS + 1)]
    certs = mkcerts(tmp_path / "pki", "-t", "-H", "hub.test",
                    *[x for ip in ips for x in ("-I", ip)],
                    *[x for i in range(1, NHOSTS + 1)
                      for x in ("-a", f"agent-{i}")])
    with make_lab() as lab:
        hub = Hub(tmp_path / "hub", certs, host="0.0.0.0", port=7443,
                  ns=lab.hub, api_port=API_PORT)
        agents = []
        try:
            api = NsCurl(lab.hub, certs, hub.token("responder", "ir-lead"),
                         "10.201.1.1", API_PORT)
            viewer = hub.token("viewer", "soc-1")
            sink = lab.popen(lab.hub, "python3", "-c", SINK, text=True)
            assert sink.stdout.readline().strip() == "ready"
            for i in range(1, NHOSTS + 1):
                agents.append(Agent(lab, i, tmp_path / f"a{i}", certs,
                                    "snapshot" if i == NHOSTS else "pcap"))

            # The worm reaches host 1, then 2, then 3, a few seconds apart;
            # each agent's fingerprint must be at the hub before the next.
            payload = novel_payload().hex()

            def fingerprints():
                st, b = api.json("GET", "/api/v1/indicators?rule="
                                 "picket.fingerprint.outbound&limit=500",
                                 token=viewer)
                assert st == 200, b
                return b["indicators"]
            seen = []
            for i in range(1, NHOSTS + 1):
                lab.run(lab.host[i], "python3", "-c", WORM, payload,
                        *VICTIMS)
                assert wait_for(lambda: {o["agent"]["id"] for o in
                                         fingerprints()} >=
                                {f"agent-{k}" for k in range(1, i + 1)},
                                timeout=40), \
                    (agents[i - 1].text()[-3000:], hub.stderr()[-3000:])
                seen.append(f"agent-{i}")
                time.sleep(2)
            inds = fingerprints()
            fps = {o["picket"]["fingerprint"] for o in inds}
            assert len(fps) == 1, inds
            fp = fps.pop()
            first = min(ts(o["@timestamp"]) for o in inds)
            first_per_host = {}
            for o in inds:
                a = o["agent"]["id"]
                first_per_host[a] = min(first_per_host.get(a, 1e18),
                                        ts(o["@timestamp"]))

            # The outbreak view groups the three hosts under it.
            st, obs = api.json("GET", "/api/v1/outbreaks?kind=fingerprint",
                               token=viewer)
            assert st == 200, obs
            (ob,) = [o for o in obs["outbreaks"] if o["key"] == fp]
            assert ob["hosts_affected"] == NHOSTS

            # The team opens an incident from it ...
            made = api.ok("POST", "/api/v1/incidents",
                          {"title": "novel worm on 8445",
                           "owner": "ir-lead",
                           "outbreak": f"fingerprint:{fp}"})
            iid = made["id"]
            inc = api.ok("GET", f"/api/v1/incidents/{iid}")
            opened = ts(inc["created"])
            assert inc["state"] == "open"
            assert {h["agent_id"] for h in inc["hosts"]} == set(seen)
            # ... orders a pcap on the outbreak's hosts, for the incident
            order = {"task": {"type": "pcap", "filter": "tcp port 8080",
                              "duration": 2, "max_packets": 10},
                     "targets": {"reported": {"fingerprint": fp,
                                              "since": "1h"}},
                     "expires_in": "1h", "incident": iid}
            task = api.ok("POST", "/api/v1/tasks", order)
            tid = task["id"]
            st, t = api.json("GET", f"/api/v1/tasks/{tid}")
            ordered = ts(t["task"]["created"])

            def settled():
                st, t = api.json("GET", f"/api/v1/tasks/{tid}")
                return all(h["state"] in ("done", "failed", "refused")
                           for h in t["hosts"])
            assert wait_for(settled, timeout=60), \
                api.json("GET", f"/api/v1/tasks/{tid}")
            st, t = api.json("GET", f"/api/v1/tasks/{tid}")
            states = {h["agent_id"]: h["state"] for h in t["hosts"]}
            assert states == {"agent-1": "done", "agent-2": "done",
                              f"agent-{NHOSTS}": "refused"}, t

            # ... contains it, writes its lessons and closes it.
            c = api.ok("PATCH", f"/api/v1/incidents/{iid}",
                       {"state": "contained"})
            contained = ts(c["contained"])
            api.ok("POST", f"/api/v1/incidents/{iid}/notes",
                   {"text": "blocked 8445 at the campus edge"})
            api.ok("PATCH", f"/api/v1/incidents/{iid}",
                   {"lessons": "Edge filtering of 8445 took too long."})
            c = api.ok("PATCH", f"/api/v1/incidents/{iid}",
                       {"state": "closed"})
            closed = ts(c["closed"])
            assert first < opened <= ordered <= contained <= closed

            rep = api.ok("GET", f"/api/v1/incidents/{iid}/report")
            assert rep["final"] is True
            f = rep["figures"]
            assert ts(f["first_indicator"]) == pytest.approx(first, abs=1e-3)
            assert f["time_to_detect_s"] == pytest.approx(opened - first,
                                                          abs=1e-3)
            assert f["time_to_first_task_s"] == pytest.approx(
                ordered - first, abs=1e-3)
            assert f["time_to_contain_s"] == pytest.approx(
                contained - first, abs=1e-3)
            assert f["time_to_close_s"] == pytest.approx(closed - first,
                                                         abs=1e-3)
            assert f["hosts_affected"] == NHOSTS
            assert f["truncated"] is False
            (tr,) = [x for x in rep["tasks"] if x["id"] == tid]
            assert tr["outcomes"]["done"] == 2
            assert tr["outcomes"]["refused"] == 1
            assert [r["agent_id"] for r in tr["refusals"]] == \
                [f"agent-{NHOSTS}"]
            # hosts over time: ends at 3, never falls, and a host counts
            # from the bucket of its first indicator on
            hot = rep["hosts_over_time"]
            cum = hot["cumulative"]
            assert cum[-1] == NHOSTS and cum == sorted(cum), hot
            start, width = ts(hot["start"]), hot["bucket_seconds"]
            for k, v in enumerate(cum):
                end = start + (k + 1) * width
                want = sum(1 for t0 in first_per_host.values()
                           if t0 < end - 1e-3)
                # a first sighting on a bucket's edge may fall either way
                assert abs(v - want) <= 1, (k, v, want, hot,
                                            first_per_host)
            (fpd,) = [d for d in rep["detections"]
                      if d["class"] == "fingerprint"]
            assert fpd["hosts"] == NHOSTS
            assert ts(fpd["first_seen"]) == pytest.approx(first, abs=1e-3)
            kinds = [e["kind"] for e in rep["timeline"]]
            for k in ("first_indicator", "first_host", "new_host", "opened",
                      "task_ordered", "task_finished", "note", "contained",
                      "closed"):
                assert k in kinds, kinds
            assert kinds.count("new_host") == NHOSTS - 1
            assert rep["lessons"] == "Edge filtering of 8445 took too long."

            # Closed means final: the same report, later, byte for byte.
            time.sleep(1.1)
            again = api.ok("GET", f"/api/v1/incidents/{iid}/report")
            assert again == rep

            # The PDF says the same.
            pdf = tmp_path / "report.pdf"
            st, _ = api.call("GET", f"/api/v1/incidents/{iid}/report"
                             "?format=pdf", out=pdf)
            assert st == 200 and pdf.read_bytes()[:5] == b"%PDF-"
            text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"],
                                  capture_output=True, text=True,
                                  check=True).stdout
            assert "novel worm on 8445" in text
            assert "Edge filtering of 8445 took too long." in text
        finally:
            for a in agents:
                a.stop()
            assert hub.stop()[0] == 0
