#!/usr/bin/python3
"""Task dispatch benchmark (docs/tasks.md): how long from a responder's
POST /api/v1/tasks to every connected agent holding its TASK START, and
to the API showing every host "running".

A real `picket-hub serve` (tests/integration/hubrun.Hub) on 127.0.0.1;
N simulated agents (tests/bench/agent_load.Agent: asyncio, TLS 1.3, own
certificates cached in /var/cache/picket/loadcerts-N) connect and HELLO.
Then one snapshot task naming all N is POSTed; each agent answers its
START with RESULT running at once.  Printed: the POST's own time, the
first and last START received (after the POST was sent), the time until
GET /api/v1/tasks/ID shows N running, and the hub's task counters.

    /usr/bin/python3 tests/bench/task_dispatch.py [-n N] [--rounds R]

Traffic stays on 127.0.0.1.
"""
import argparse
import asyncio
import http.client
import json
import os
import pathlib
import ssl
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, HERE)
import hubproto as hp  # noqa: E402
from agent_load import Agent, certs_for  # noqa: E402
from hubrun import Hub  # noqa: E402


def api(hub, ca, method, path, token, body=None):
    ctx = ssl.create_default_context(cafile=ca)
    c = http.client.HTTPSConnection("127.0.0.1", hub.api_port, context=ctx,
                                    timeout=60)
    h = {"Authorization": f"Bearer {token}"}
    c.request(method, path, body=json.dumps(body) if body else None,
              headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data)


async def wait_start(a, tid, timeout):
    while True:
        f = await a.frame(timeout)
        if f.type == hp.TASK:
            t = hp.decode(f)
            if t.id == tid and t.op == hp.TOP_START:
                got = time.monotonic()
                a.writer.write(hp.result_state(tid, hp.TS_RUNNING))
                return got


async def one_round(agents, hub, ca, token):
    ids = [a.id for a in agents]
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    post = loop.run_in_executor(None, api, hub, ca, "POST", "/api/v1/tasks",
                                token, {"task": {"type": "snapshot"},
                                        "targets": {"agents": ids}})
    # the id is known once the POST answers; START frames may come first
    st, body = await post
    t_post = time.monotonic() - t0
    assert st == 201, body
    tid = body["id"]
    starts = await asyncio.gather(*(wait_start(a, tid, 60) for a in agents))
    while True:
        st, b = await loop.run_in_executor(None, api, hub, ca, "GET",
                                           f"/api/v1/tasks/{tid}", token)
        if b["task"]["states"]["running"] == len(agents):
            break
        await asyncio.sleep(0.02)
    t_run = time.monotonic() - t0
    return t_post, min(starts) - t0, max(starts) - t0, t_run


async def run(n, rounds):
    certs, _ = certs_for(n)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="taskbench-"))
    hub = Hub(tmp / "hub", pathlib.Path(certs), host="127.0.0.1",
              max_connections=n + 100, handshake_timeout=30)
    try:
        token = hub.token("responder", "bench")
        agents = [Agent(i + 1, certs) for i in range(n)]
        await asyncio.gather(*(a.connect("127.0.0.1", hub.port, 60)
                               for a in agents))
        failed = [a.failed for a in agents if a.failed]
        assert not failed, failed[:3]
        print(f"{n} agents connected")
        got = []
        for r in range(rounds):
            t_post, first, last, run_ = await one_round(
                agents, hub, os.path.join(certs, "ca.crt"), token)
            got.append((t_post, first, last, run_))
            print(f"round {r + 1}: POST answered {t_post * 1000:.1f} ms, "
                  f"first START {first * 1000:.1f} ms, last START "
                  f"{last * 1000:.1f} ms, all running in the API "
                  f"{run_ * 1000:.1f} ms")
        for i, name in enumerate(("POST answered", "first START",
                                  "last START", "all running")):
            xs = sorted(g[i] * 1000 for g in got)
            print(f"{name:14s} median {statistics.median(xs):.1f} ms "
                  f"[{xs[0]:.1f}-{xs[-1]:.1f}] over {len(xs)} rounds")
        k = hub.counters()
        print({x: v for x, v in k.items() if x.startswith("tasks_")})
        for a in agents:
            a.close()
    finally:
        hub.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    o = ap.parse_args()
    asyncio.run(run(o.n, o.rounds))


if __name__ == "__main__":
    main()
