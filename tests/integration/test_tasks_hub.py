"""Targeted collection, the hub's side (docs/tasks.md), against a real
`picket-hub serve` over TLS with hubproto as the agent: a task for a
connected agent arrives within a second as TASK START with the canonical
specification; the agent's states and result chunks (plain and deflated)
are stored at the offset the hub expects (another offset is ignored and
counted), done makes the hub send FORGET and the download returns exactly
the bytes; a target that is offline gets START when it connects, and an
upload cut by a lost connection resumes from the bytes the hub holds;
max_bytes fails the task and sends CANCEL; cancel sends CANCEL; expiry;
refused shows its reason; targets by rule reported and by tag; malformed
orders are a 400 with the parser's reason and disturb nothing; a viewer
cannot create (403); the CLI creates, shows, cancels and fetches; every
create, cancel and download is audited.  The hub is PICKET_HUB (default
build/picket-hub)."""
import json
import socket
import subprocess
import time

import pytest

import hubproto as hp
from apiclient import HttpsApi
from conftest import PCAPS, analyse
from hubrun import HUB, Hub, mkcerts_agents

AGENTS = [f"agent-{i}" for i in range(1, 9)]
PCAP_HDR = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000071000000")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return mkcerts_agents(tmp_path_factory.mktemp("certs") / "pki", AGENTS)


@pytest.fixture(scope="module")
def env(tmp_path_factory, certs):
    tmp = tmp_path_factory.mktemp("tasks")
    h = Hub(tmp / "hub", certs, api_opts={"max_body": 262144})
    tok = {r: h.token(r, f"{r}-1") for r in ("viewer", "responder",
                                                "admin")}
    # Every agent connects once, so the hub knows it.
    for a in AGENTS:
        c, _ = h.agent(a, host_name=f"host-{a}")
        c.close()
    api = HttpsApi(h, certs, timeout=20)
    yield {"hub": h, "api": api, "tok": tok}
    rc, k = h.stop()
    assert rc == 0


def create(env, spec, targets, expires_in=None, token="responder"):
    body = {"task": spec, "targets": targets}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return env["api"].json("POST", "/api/v1/tasks", env["tok"][token], body)


def task(env, tid):
    st, b = env["api"].json("GET", f"/api/v1/tasks/{tid}",
                            env["tok"]["viewer"])
    assert st == 200, b
    return b


def host_state(env, tid, agent):
    for h in task(env, tid)["hosts"]:
        if h["agent_id"] == agent:
            return h
    raise AssertionError(f"{agent} not in task {tid}")


def wait_state(env, tid, agent, state, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        h = host_state(env, tid, agent)
        if h["state"] == state or time.monotonic() > deadline:
            assert h["state"] == state, h
            return h
        time.sleep(0.05)


def connect(env, agent):
    c = env["hub"].conn(agent)
    c.hello(agent, host_name=f"host-{agent}")
    return c


def cli(env, *args, check=True):
    p = subprocess.run([str(HUB), "task", *args, "-c",
                        str(env["hub"].ini)], capture_output=True,
                       text=True, timeout=60)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_dispatch_upload_done_forget_download(env):
    c = connect(env, "agent-1")
    spec = {"type": "pcap", "filter": "tcp port 445", "duration": 60,
            "max_bytes": 1000000}
    t0 = time.monotonic()
    st, b = create(env, spec, {"agents": ["agent-1"]})
    assert st == 201, b
    tid = b["id"]
    assert b["hosts"] == 1
    t = c.expect_task(timeout=5)
    took = time.monotonic() - t0
    assert took < 1.0, took
    assert (t.id, t.op, t.resume) == (tid, hp.TOP_START, 0)
    # The canonical form: defaults written out, what the store holds.
    assert json.loads(t.spec) == {"type": "pcap", "duration": 60,
                                  "max_bytes": 1000000,
                                  "max_packets": 100000,
                                  "filter": "tcp port 445"}
    shown = json.loads(cli(env, "show", str(tid), "--json")
                       .stdout.splitlines()[0])
    assert json.dumps(shown["spec"], separators=(",", ":")) == t.spec
    assert wait_state(env, tid, "agent-1", "sent")
    c.send(hp.result_state(tid, hp.TS_RUNNING))
    wait_state(env, tid, "agent-1", "running")
    body = PCAP_HDR + bytes(range(256)) * 40
    c.send(hp.result_data(tid, 0, body[:5000]))
    c.send(hp.result_data(tid, 5000, body[5000:8000], deflate=True))
    before = env["hub"].counters()["tasks_chunks_ignored"]
    c.send(hp.result_data(tid, 7000, b"wrong offset"))      # ignored
    c.send(hp.result_data(tid, 8000, body[8000:]))
    c.send(hp.result_state(tid, hp.TS_DONE, len(body), 3))
    f = c.expect_task(timeout=5)
    assert (f.id, f.op) == (tid, hp.TOP_FORGET)
    h = wait_state(env, tid, "agent-1", "done")
    assert h["bytes"] == len(body) and h["rows"] == 3
    assert env["hub"].counters()["tasks_chunks_ignored"] == before + 1
    st, hdrs, data = env["api"].raw("GET", h["result"],
                                    env["tok"]["responder"])
    assert st == 200 and data == body
    assert hdrs["Content-Type"] == "application/vnd.tcpdump.pcap"
    assert "attachment" in hdrs["Content-Disposition"]
    assert f"task-{tid}-agent-1.pcap" in hdrs["Content-Disposition"]
    # a viewer sees the task but may not download
    assert env["api"].raw("GET", h["result"], env["tok"]["viewer"])[0] == 403
    st, a = env["api"].json("GET", "/api/v1/audit", env["tok"]["admin"])
    actions = [(x["action"], x["target"]) for x in a["audit"]]
    assert ("task.create", f"task {tid} (1 hosts)") in actions
    assert ("task.download", f"task {tid} host agent-1") in actions
    # the list counts states
    st, lst = env["api"].json("GET", "/api/v1/tasks", env["tok"]["viewer"])
    row = [x for x in lst["tasks"] if x["id"] == tid][0]
    assert row["states"]["done"] == 1 and row["finished"] is True
    assert row["type"] == "pcap" and row["created_by"] == "responder-1"
    c.close()


def test_offline_target_and_resume_after_cut(env):
    spec = {"type": "snapshot"}
    st, b = create(env, spec, {"agents": ["agent-2"]})
    assert st == 201, b
    tid = b["id"]
    assert host_state(env, tid, "agent-2")["state"] == "queued"
    c = connect(env, "agent-2")
    t = c.expect_task()
    assert (t.id, t.op, t.resume) == (tid, hp.TOP_START, 0)
    assert json.loads(t.spec)["type"] == "snapshot"
    wait_state(env, tid, "agent-2", "sent")
    rows = b"".join(b'{"n":%d,"kind":"process"}\n' % i for i in range(500))
    c.send(hp.result_state(tid, hp.TS_RUNNING))
    c.send(hp.result_data(tid, 0, rows[:4000], deflate=True))
    c.send(hp.result_data(tid, 4000, rows[4000:6000]))
    deadline = time.monotonic() + 10
    while host_state(env, tid, "agent-2")["bytes"] < 6000:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    c.close()                                   # cut mid-upload
    c = connect(env, "agent-2")
    t = c.expect_task()
    assert (t.id, t.op, t.resume) == (tid, hp.TOP_START, 6000)
    c.send(hp.result_data(tid, 6000, rows[6000:]))
    c.send(hp.result_state(tid, hp.TS_DONE, len(rows), 500))
    assert c.expect_task().op == hp.TOP_FORGET
    h = wait_state(env, tid, "agent-2", "done")
    st, hdrs, data = env["api"].raw("GET", h["result"],
                                    env["tok"]["responder"])
    assert st == 200 and data == rows
    assert hdrs["Content-Type"] == "application/x-ndjson"
    # A done task is not started again at the next connect.
    c.close()
    c = connect(env, "agent-2")
    with pytest.raises(socket.timeout):
        c.expect_task(timeout=1)
    c.close()


def test_over_max_bytes_fails_and_cancels(env):
    c = connect(env, "agent-3")
    st, b = create(env, {"type": "pcap", "duration": 10, "max_bytes": 1000},
                   {"agents": ["agent-3"]})
    tid = b["id"]
    assert c.expect_task().op == hp.TOP_START
    c.send(hp.result_state(tid, hp.TS_RUNNING))
    c.send(hp.result_data(tid, 0, PCAP_HDR + bytes(1500)))
    t = c.expect_task()
    assert (t.id, t.op) == (tid, hp.TOP_CANCEL)
    h = wait_state(env, tid, "agent-3", "failed")
    assert h["reason"] == "result over max_bytes" and h["bytes"] == 1000
    st, _, data = env["api"].raw("GET", h["result"], env["tok"]["responder"])
    assert st == 200 and len(data) == 1000
    # More data for a failed task: ignored, CANCEL again.
    c.send(hp.result_data(tid, 1000, b"x" * 10))
    assert c.expect_task().op == hp.TOP_CANCEL
    c.close()


def test_cancel_sends_cancel(env):
    c = connect(env, "agent-4")
    st, b = create(env, {"type": "pcap", "duration": 600},
                   {"agents": ["agent-4", "agent-5"]})
    tid = b["id"]
    assert c.expect_task().op == hp.TOP_START
    c.send(hp.result_state(tid, hp.TS_RUNNING))
    wait_state(env, tid, "agent-4", "running")
    st, _ = env["api"].json("POST", f"/api/v1/tasks/{tid}/cancel",
                            env["tok"]["viewer"])
    assert st == 403
    st, r = env["api"].json("POST", f"/api/v1/tasks/{tid}/cancel",
                            env["tok"]["responder"])
    assert st == 200 and r["cancelled"] == 2
    t = c.expect_task()
    assert (t.id, t.op) == (tid, hp.TOP_CANCEL)
    c.send(hp.result_state(tid, hp.TS_CANCELLED, reason="stopped"))
    for a in ("agent-4", "agent-5"):
        h = wait_state(env, tid, a, "cancelled")
        assert h["reason"] == "cancelled by responder-1"
    assert env["api"].json("POST", "/api/v1/tasks/99999/cancel",
                           env["tok"]["responder"])[0] == 404
    c.close()
    # agent-5 was offline: it never gets the cancelled task.
    c = connect(env, "agent-5")
    with pytest.raises(socket.timeout):
        c.expect_task(timeout=1)
    c.close()


def test_expiry(env):
    st, b = create(env, {"type": "snapshot"}, {"agents": ["agent-6"]},
                   expires_in=1)
    tid = b["id"]
    h = wait_state(env, tid, "agent-6", "expired", timeout=5)
    assert "expiry" in h["reason"]
    c = connect(env, "agent-6")
    with pytest.raises(socket.timeout):
        c.expect_task(timeout=1)
    c.close()


def test_refused_with_reason(env):
    c = connect(env, "agent-7")
    st, b = create(env, {"type": "sensitivity", "duration": 60},
                   {"agents": ["agent-7"]})
    tid = b["id"]
    assert c.expect_task().op == hp.TOP_START
    c.send(hp.result_state(tid, hp.TS_REFUSED,
                           reason="refused by policy: sensitivity is not "
                                  "in [tasks] allow"))
    h = wait_state(env, tid, "agent-7", "refused")
    assert h["reason"].startswith("refused by policy")
    st, lst = env["api"].json("GET", f"/api/v1/tasks/{tid}",
                              env["tok"]["viewer"])
    assert lst["task"]["states"]["refused"] == 1
    c.close()


def test_targets_reported_and_tags(env):
    h = env["hub"]
    c = connect(env, "agent-8")
    _, _, proc = analyse(PCAPS / "nmap_synscan.pcap")
    rec = json.loads(proc.stdout.splitlines()[0])
    rec["@timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z",
                                      time.gmtime())
    rec["rule"]["id"] = "picket.test.taskrule"
    rec["picket"]["fingerprint"] = "ab" * 16
    assert c.send_batch(1, [json.dumps(rec)]) == 1
    assert env["hub"].indicators("--rule", "picket.test.taskrule")
    st, b = create(env, {"type": "snapshot"},
                   {"reported": {"rule": "picket.test.taskrule",
                                 "since": "1h"}})
    assert st == 201 and b["hosts"] == 1, b
    t = c.expect_task()
    assert t.id == b["id"]
    st, b2 = create(env, {"type": "snapshot"},
                    {"reported": {"fingerprint": "AB" * 16}})
    assert st == 201 and b2["hosts"] == 1, b2
    st, e = create(env, {"type": "snapshot"},
                   {"reported": {"rule": "no.such.rule"}})
    assert st == 400 and "no host" in e["error"]
    # Tags come from enrollment (the agents table).
    for a in ("agent-6", "agent-7"):
        h.sql("INSERT INTO agents (agent_id, tag, spki, enrolled_us, "
              "cert_serial, not_after_us) VALUES (?, 'lab', '', 1, "
              "'1', 1)", a)
    st, b3 = create(env, {"type": "snapshot"}, {"tags": ["lab"],
                                                "agents": ["agent-7"]})
    assert st == 201 and b3["hosts"] == 2, b3
    hosts = [x["agent_id"] for x in task(env, b3["id"])["hosts"]]
    assert hosts == ["agent-6", "agent-7"]
    c.close()


BAD = [
    ({"type": "nmap"}, "type"),
    ({"type": "pcap", "duration": -5}, "duration"),
    ({"type": "pcap", "duration": 86401}, "duration"),
    ({"type": "pcap", "duration": 10, "colour": "red"}, "colour"),
    ({"type": "snapshot", "duration": 10}, "duration"),
    ({"type": "ioc_sweep"}, ""),
    ({"type": "pcap", "duration": 10,
      "filter": "x" * 70000}, ""),               # over 64 KiB
]


@pytest.mark.parametrize("spec,word", BAD)
def test_malformed_orders_are_400(env, spec, word):
    st, lst = env["api"].json("GET", "/api/v1/tasks?limit=1",
                              env["tok"]["viewer"])
    before = lst["tasks"][0]["id"] if lst["tasks"] else 0
    st, b = create(env, spec, {"agents": ["agent-1"]})
    assert st == 400, b
    assert b["error"].startswith("task: ") and word in b["error"], b
    st, lst = env["api"].json("GET", "/api/v1/tasks?limit=1",
                              env["tok"]["viewer"])
    assert (lst["tasks"][0]["id"] if lst["tasks"] else 0) == before


def test_malformed_bodies_and_targets(env):
    api, t = env["api"], env["tok"]["responder"]
    cases = [
        (b'{"task": {"type": "snapshot"}, "task": {"type": "snapshot"}, '
         b'"targets": {"agents": ["agent-1"]}}', "duplicate"),
        (b'{"task": {"type": "snapshot", "type": "pcap"}, '
         b'"targets": {"agents": ["agent-1"]}}', "type"),
        (b'{"task": {"type": "snapshot"}}', "targets"),
        (b'{"task": {"type": "snapshot"}, "targets": {}}', "targets"),
        (b'{"task": {"type": "snapshot"}, "targets": {"agents": '
         b'["nobody"]}}', "unknown agent"),
        (b'{"task": {"type": "snapshot"}, "targets": {"hosts": []}}',
         "unknown key"),
        (b'{"task": {"type": "snapshot"}, "targets": {"agents": '
         b'["agent-1"]}, "expires_in": "forever"}', "expires_in"),
        (b'{"task": {"type": "snapshot"}, "targets": {"agents": '
         b'["agent-1"]}, "priority": 1}', "unknown key"),
        (b'{"task": [1]', "task"),
        (b'', "body"),
    ]
    for body, word in cases:
        st, _, data = api.raw("POST", "/api/v1/tasks", t, body)
        assert st == 400, (body, data)
        assert word in json.loads(data)["error"], (body, data)
    # Over [api] max_body: the HTTP layer's 413.
    with socket.create_connection((api.host, api.port), 10) as s:
        with api.ctx.wrap_socket(s, server_hostname=api.host) as tls:
            tls.sendall(b"POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\n"
                        b"Authorization: Bearer " + t.encode() +
                        b"\r\nContent-Length: 300000\r\n\r\n")
            assert tls.recv(4096).startswith(b"HTTP/1.1 413 ")
    # A viewer may look but not order.
    st, b = create(env, {"type": "snapshot"}, {"agents": ["agent-1"]},
                   token="viewer")
    assert st == 403
    assert api.json("GET", "/api/v1/tasks/12345", t)[0] == 404
    assert api.json("GET", "/api/v1/tasks/abc", t)[0] == 404
    assert api.raw("GET", "/api/v1/tasks/1/results/nobody", t)[0] == 404


def test_cli_create_show_cancel_fetch(env):
    c = connect(env, "agent-1")
    p = cli(env, "create", "--type", "pcap", "--filter", "tcp port 445",
            "--duration", "60s", "--max-bytes", "50M", "--max-packets",
            "1000", "--agent", "agent-1", "--expires", "1h")
    tid = int(p.stdout.strip())
    t0 = time.monotonic()
    t = c.expect_task(timeout=5)
    assert time.monotonic() - t0 < 2.0        # the 1 s poll
    assert t.id == tid and json.loads(t.spec) == {
        "type": "pcap", "duration": 60, "max_bytes": 50 * 1024 * 1024,
        "max_packets": 1000, "filter": "tcp port 445"}
    body = PCAP_HDR + b"\x01" * 3000
    c.send(hp.result_data(tid, 0, body, deflate=True))
    c.send(hp.result_state(tid, hp.TS_DONE, len(body), 0))
    assert c.expect_task().op == hp.TOP_FORGET
    wait_state(env, tid, "agent-1", "done")
    out = cli(env, "show", str(tid)).stdout
    assert "agent-1" in out and "done" in out and "tcp port 445" in out
    assert str(tid) in cli(env, "list").stdout
    dest = env["hub"].tmp / "out.pcap"
    cli(env, "fetch", str(tid), "--host", "agent-1", "-o", str(dest))
    assert dest.read_bytes() == body
    # bad flags: the parser's reason, nothing made
    p = cli(env, "create", "--type", "pcap", "--agent", "agent-1",
            check=False)
    assert p.returncode == 1 and "duration" in p.stderr
    # CLI cancel: the running hub sends CANCEL within its poll
    p = cli(env, "create", "--type", "pcap", "--duration", "600",
            "--agent", "agent-1")
    tid2 = int(p.stdout.strip())
    assert c.expect_task(timeout=5).id == tid2
    cli(env, "cancel", str(tid2))
    t = c.expect_task(timeout=5)
    assert (t.id, t.op) == (tid2, hp.TOP_CANCEL)
    wait_state(env, tid2, "agent-1", "cancelled")
    # audited as cli
    st, a = env["api"].json("GET", "/api/v1/audit", env["tok"]["admin"])
    acts = {(x["actor"], x["action"]) for x in a["audit"]}
    assert {("cli", "task.create"), ("cli", "task.cancel"),
            ("cli", "task.download")} <= acts
    c.close()


def test_unknown_task_result_gets_forget_and_bad_chunk_fails(env):
    c = connect(env, "agent-3")
    c.send(hp.result_state(777777, hp.TS_RUNNING))
    t = c.expect_task()
    assert (t.id, t.op) == (777777, hp.TOP_FORGET)
    st, b = create(env, {"type": "snapshot"}, {"agents": ["agent-3"]})
    tid = b["id"]
    assert c.expect_task().id == tid
    c.send(hp.result_data(tid, 0, b"not zlib at all", flags=hp.FLAG_DEFLATE))
    assert c.expect_task().op == hp.TOP_CANCEL
    h = wait_state(env, tid, "agent-3", "failed")
    assert "inflate" in h["reason"]
    # The connection is still fine.
    c.send(hp.heartbeat())
    c.close()


def test_metrics_count_tasks(env):
    st, text = env["api"].json("GET", "/metrics", env["tok"]["viewer"])
    text = text.decode() if isinstance(text, bytes) else text
    assert st == 200
    vals = {}
    for line in text.splitlines():
        if line.startswith("picket_hub_task"):
            k, v = line.rsplit(" ", 1)
            vals[k] = float(v)
    assert vals["picket_hub_tasks_total"] >= 5
    assert vals['picket_hub_task_frames_out_total{op="forget"}'] >= 3
    assert vals["picket_hub_task_chunks_ignored_total"] >= 1
    assert vals["picket_hub_task_bytes_stored_total"] > 10000
