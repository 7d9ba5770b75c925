"""picket-hub serve with many agents at once: 200 concurrent agent
connections to one real hub (hubrun.Hub, API on), driven by hubproto.py.

Functional, not timed (tests/bench/agent_load.py measures): every agent
gets through TLS 1.3 and HELLO to WELCOME, stores its one batch of real
picketd indicators exactly once and gets the ACK; while the agents connect
and send, and while all 200 are connected, the HTTPS API keeps answering
(every request 200, no latency threshold); the hub's counters show 200
welcomes, 200 batches and no refusal, timeout or ERROR; hub.db holds every
record once."""
import concurrent.futures
import http.client
import json
import ssl
import threading
import time

import pytest

from conftest import PCAPS, analyse
from hubrun import Hub, mkcerts

N = 200
K = 10          # records in each agent's batch


def aid(i):
    return f"many-{i:03d}"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    args = []
    for i in range(N):
        args += ["-a", aid(i)]
    return mkcerts(tmp_path_factory.mktemp("certs") / "pki", *args)


@pytest.fixture(scope="module")
def template():
    _, _, proc = analyse(PCAPS / "nmap_synscan.pcap")
    return json.loads(proc.stdout.splitlines()[0])


def batch_for(template, agent):
    out = []
    for s in range(1, K + 1):
        d = dict(template, message=f"{agent} record {s}")
        d["host"] = dict(template["host"], name=f"{agent}-host")
        out.append(json.dumps(d, separators=(",", ":")))
    return out


class Poller(threading.Thread):
    """GETs the hosts and indicators endpoints every 100 ms until stopped;
    records every status (0: no answer)."""

    def __init__(self, hub, certs, token):
        super().__init__(daemon=True)
        self.hub, self.token = hub, token
        self.ctx = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.statuses = []
        self.stop = threading.Event()

    def get(self, path):
        c = http.client.HTTPSConnection(self.hub.host, self.hub.api_port,
                                        context=self.ctx, timeout=60)
        try:
            c.request("GET", path,
                      headers={"Authorization": f"Bearer {self.token}"})
            r = c.getresponse()
            body = r.read()
            return r.status, body
        except (OSError, http.client.HTTPException) as e:
            return 0, repr(e).encode()
        finally:
            c.close()

    def run(self):
        while not self.stop.is_set():
            for p in ("/api/v1/hosts", "/api/v1/indicators?limit=100"):
                self.statuses.append((p, self.get(p)[0]))
            self.stop.wait(0.1)


def test_200_agents_at_once(tmp_path, certs, template):
    hub = Hub(tmp_path / "hub", certs, handshake_timeout=30)
    token = hub.token("viewer", "many-agents")
    poller = Poller(hub, certs, token)
    poller.start()
    conns = {}
    lock = threading.Lock()
    go = threading.Event()

    def agent(i):
        a = aid(i)
        c = hub.conn(a, timeout=60)
        with lock:
            conns[a] = c
        go.wait(60)             # connect all first, then HELLO together
        w = c.hello(a, host_name=f"{a}-host")
        assert w.stored_seq == 0
        return a, w, c.send_batch(1, batch_for(template, a))

    try:
        with concurrent.futures.ThreadPoolExecutor(N) as pool:
            futs = [pool.submit(agent, i) for i in range(N)]
            deadline = time.monotonic() + 60
            while len(conns) < N and time.monotonic() < deadline:
                if any(f.done() and f.exception() for f in futs):
                    break
                time.sleep(0.05)
            go.set()
            results = [f.result(timeout=120) for f in futs]
        assert len(results) == N
        for a, w, acked in results:
            assert acked == K, (a, acked)
            assert w.max_inflight >= 1
        k = hub.counters()
        assert k["active"] == N

        # All 200 connected: the API still answers, and sees them.
        st, body = poller.get("/api/v1/hosts")
        assert st == 200
        hosts = {h["agent_id"]: h for h in json.loads(body)["hosts"]}
        assert len(hosts) == N
        assert all(h["connected"] and h["last_seq"] == K
                   for h in hosts.values())
        st, body = poller.get("/healthz")
        assert st == 200 and json.loads(body)["agents_connected"] == N
        time.sleep(0.3)
    finally:
        poller.stop.set()
        poller.join(120)
        for c in conns.values():
            c.close()

    assert len(poller.statuses) >= 2
    assert all(st == 200 for _, st in poller.statuses), \
        [s for s in poller.statuses if s[1] != 200]
    hub.wait_counter("peer_closed", N)
    rc, k = hub.stop()
    assert rc == 0
    assert k["accepted"] == N and k["welcomes"] == N
    assert k["batches"] == N and k["acks"] == N
    assert k["ingest_stored"] == N * K and k["ingest_duplicates"] == 0
    for name in ("refused_limit", "accept_errors", "handshake_failures",
                 "timeouts", "auth_failures", "version_failures", "replaced",
                 "peer_errors", "truncated", "ingest_rejected",
                 "ingest_bad_frames", "ingest_batch_refused",
                 "ingest_store_errors"):
        assert k[name] == 0, (name, k[name])
    assert not {n: v for n, v in k.items()
                if n.startswith("closed_by_error_") and v}
    assert len(hub.indicators("--limit", str(N * K + 1))) == N * K
