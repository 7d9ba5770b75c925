"""Targeted collection end to end (issue 7): a real picket-hub and a real
picketd, each in its own network namespace, over mutual TLS.

The agent reports a port scan it made; a responder orders, through the
hub's API, a pcap task for "every host that reported picket.scan.port in
the last hour"; HTTP traffic runs between the namespaces; the task ends
at its packet cap; the file downloaded from the hub opens in tshark and
holds exactly the capped number of port-8080 packets. Then a snapshot
ordered with the CLI (`picket-hub task create`, which a running hub picks
up from the store) lists a listener, `task fetch` writes the result, and
the audit log holds the creation and the downloads. A viewer cannot order
anything."""
import json
import os
import subprocess
import time

import pytest

from apiclient import NsCurl
from hubrun import HUB, Hub
from netns import Pair, wait_for
from test_tasks_agent import Agent, http_traffic, tshark_ports

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="network namespaces need root")

HUB_IP = "10.201.0.1"
API_PORT = 8443


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    from hubrun import mkcerts
    return mkcerts(tmp_path_factory.mktemp("pki") / "pki", "-t",
                   "-H", "hub.test", "-I", HUB_IP, "-a", "agent-1")


def hub_cli(hub, *args):
    p = subprocess.run([str(HUB), "task", *args, "-c", str(hub.ini)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p


def host(api, tid):
    st, t = api.json("GET", f"/api/v1/tasks/{tid}")
    assert st == 200, t
    (h,) = [h for h in t["hosts"] if h["agent_id"] == "agent-1"]
    return h


def wait_host(api, tid, *states, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        h = host(api, tid)
        if h["state"] in states or time.monotonic() > deadline:
            assert h["state"] in states, h
            return h
        time.sleep(0.2)


def test_pcap_for_hosts_that_scanned(tmp_path, certs):
    with Pair() as pair:
        hub = Hub(tmp_path / "hub", certs, host=HUB_IP, port=7443,
                  ns=pair.a, api_port=API_PORT)
        agent = None
        try:
            responder = hub.token("responder", "ir-1")
            viewer = hub.token("viewer", "soc-1")
            api = NsCurl(pair.a, certs, responder, HUB_IP, API_PORT)
            (tmp_path / "agent").mkdir()
            agent = Agent(pair, tmp_path / "agent", certs,
                          tasks={"allow": "pcap, snapshot"}).start()
            # The agent scans 40 closed ports of the hub's namespace.
            probe = ("import socket,sys\n"
                     "for p in range(20000, 20040):\n"
                     "    s = socket.socket(); s.settimeout(1)\n"
                     "    s.connect_ex((sys.argv[1], p)); s.close()\n")
            pair.run(pair.b, "python3", "-c", probe, HUB_IP)

            def reported():
                st, b = api.json("GET", "/api/v1/indicators?rule="
                                 "picket.scan.port", token=viewer)
                return st == 200 and len(b["indicators"]) > 0
            assert wait_for(reported, timeout=40), agent.text()[-3000:]

            order = {"task": {"type": "pcap", "filter": "tcp port 8080",
                              "duration": 60, "max_packets": 25},
                     "targets": {"reported": {"rule": "picket.scan.port",
                                              "since": "1h"}},
                     "expires_in": "1h"}
            # A viewer may look but not order.
            st, _ = api.json("POST", "/api/v1/tasks", order, token=viewer)
            assert st == 403
            st, made = api.json("POST", "/api/v1/tasks", order)
            assert st in (200, 201), made
            tid = made["id"]
            assert wait_host(api, tid, "running")["state"] == "running"
            http_traffic(pair, tmp_path, seconds=4)
            h = wait_host(api, tid, "done", "failed", timeout=60)
            assert h["state"] == "done", (h, agent.text()[-2000:])
            out = tmp_path / "scan-hosts.pcap"
            st, _ = api.call("GET", f"/api/v1/tasks/{tid}/results/agent-1",
                             out=out)
            assert st == 200
            assert out.stat().st_size == h["bytes"]
            pkts = tshark_ports(out)
            assert len(pkts) == 25
            assert all("8080" in (s, d) for s, d, _ in pkts), pkts

            # A snapshot ordered with the CLI lists a listener the test
            # opens in the agent's namespace.
            lsn = pair.popen(pair.b, "python3", "-c",
                             "import socket,time; s=socket.socket(); "
                             "s.bind(('0.0.0.0', 45679)); s.listen(); "
                             "time.sleep(60)")
            try:
                time.sleep(0.5)
                p = hub_cli(hub, "create", "--type", "snapshot",
                            "--agent", "agent-1", "--max-rows", "5000")
                tid2 = int(p.stdout.strip())    # the new task's id
                h = wait_host(api, tid2, "done", "failed", timeout=60)
                assert h["state"] == "done", h
                snap = tmp_path / "snap.ndjson"
                hub_cli(hub, "fetch", str(tid2), "--host", "agent-1", "-o",
                        str(snap))
                rows = [json.loads(l) for l in
                        snap.read_text().splitlines()]
                assert any(r["kind"] == "socket" and
                           r["state"] == "listen" and r["lport"] == 45679
                           for r in rows), [r for r in rows
                                            if r["kind"] == "socket"]
            finally:
                lsn.kill()
                lsn.wait()
            # Every order and download is in the audit log.
            st, audit = api.json("GET", "/api/v1/audit?limit=200",
                                 token=hub.token("admin", "boss"))
            assert st == 200, audit
            actions = [a["action"] for a in audit["audit"]]
            assert actions.count("task.create") >= 2, actions
            assert "task.download" in actions
        finally:
            if agent is not None:
                agent.stop()
            assert hub.stop()[0] == 0
