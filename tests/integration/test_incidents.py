"""Incidents and after-action reports (docs/incidents.md) through the
HTTPS API and the command line of a real `picket-hub serve`: indicators
from a real agent's output (picketd -r on a capture) reshaped into worm
fingerprints and sent by hubproto as four agents; an incident made from
a fingerprint outbreak brings in its hosts and indicators and a timeline
(first indicator, first host, new hosts, opened); the list pages newest
first and filters by state; state moves open -> contained -> closed, the
closed incident's report is final and does not change when more
indicators arrive, only lessons and a reopening are taken afterwards;
notes; links of each kind (a second time is 200, an unknown host or task
is 400); strict bodies (unknown field, wrong type, sizes, bad state are
400s naming the field; unknown incidents 404; a viewer's write 403); the
PDF download (application/pdf, attachment incident-N.pdf, pdftotext shows
the title); a task ordered with "incident" is linked and on the
timeline; every change in the audit log; and `picket-hub incident ...`
on the same data dir with the hub running and stopped.  The hub is
PICKET_HUB (default build/picket-hub), the agent PICKETD."""
import json
import shutil
import subprocess
import time

import pytest

from apiclient import HttpsApi
from conftest import PCAPS, analyse
from hubrun import HUB, Hub, mkcerts_agents, send_batch

AGENTS = ["agent-1", "agent-2", "agent-3", "agent-4"]
FP = "3fa9c0de" * 4            # the outbreak of most tests: agents 1-3
FP2 = "b0a710ad" * 4           # the one that is closed: agents 1-2
FP_RULE = "picket.fingerprint.worm"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return mkcerts_agents(tmp_path_factory.mktemp("certs") / "pki", AGENTS)


def iso(t):
    us = int(round(t * 1e6))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 10**6)) + \
        ".%06dZ" % (us % 10**6)


def record(template, t, rule, fp=None, msg="test", name=None):
    """One indicator shaped from picketd's own output line."""
    d = json.loads(template)
    d["@timestamp"] = iso(t)
    d["event"]["kind"] = "alert"
    d["rule"]["id"] = rule
    d["rule"]["name"] = name or rule.rsplit(".", 1)[1].capitalize()
    d["message"] = msg
    d["picket"]["first_seen"] = d["picket"]["last_seen"] = iso(t)
    if fp is not None:
        d["picket"]["fingerprint"] = fp
    return json.dumps(d, separators=(",", ":"))


def Api(hub, certs):
    """The API client of these tests: a body given as bytes or str (the
    strict-body tests send broken JSON on purpose) is typed JSON too."""
    return HttpsApi(hub, certs, timeout=30, type_raw=True)


class Agent:
    """A hubproto connection as one agent, with its next seq."""

    def __init__(self, hub, name):
        self.hub, self.name = hub, name
        self.c, w = hub.agent(name, host_name="ws-" + name[-1])
        self.next = w.stored_seq + 1

    def send(self, records):
        """One BATCH; its ACK (the tasks ordered meanwhile are not
        this test's business): the seqs."""
        first = self.next
        self.next = send_batch(self.c, first, records)
        return list(range(first, self.next))


@pytest.fixture(scope="module")
def env(tmp_path_factory, certs):
    tmp = tmp_path_factory.mktemp("incidents")
    h = Hub(tmp / "hub", certs, api_opts={"max_body": 262144})
    _, _, proc = analyse(PCAPS / "nmap_synscan.pcap")
    template = proc.stdout.splitlines()[0]
    now = time.time()
    ag = {a: Agent(h, a) for a in AGENTS}
    seqs = {}
    # FP: agent-1 first (50 min ago), then agent-2, agent-3; FP2 on 1, 2.
    for i, a in enumerate(AGENTS[:3]):
        t = now - 3000 + i * 600
        seqs[a] = ag[a].send([
            record(template, t, FP_RULE, FP, f"worm on {a}"),
            record(template, t + 5, FP_RULE, FP, f"worm again on {a}")])
    for i, a in enumerate(AGENTS[:2]):
        seqs[a] += ag[a].send([record(template, now - 2400 + i * 60,
                                      FP_RULE, FP2, f"second worm {a}")])
    # agent-4: a content rule only, the host linked by hand
    seqs["agent-4"] = ag["agent-4"].send([record(
        template, now - 1200, "picket.test.sig", None, "signature")])
    tok = {r: h.token(r, f"{r}-1") for r in ("viewer", "responder",
                                                "admin")}
    api = Api(h, certs)
    yield {"hub": h, "api": api, "tok": tok, "agents": ag, "seqs": seqs,
           "template": template, "now": now, "tmp": tmp}
    for a in ag.values():
        a.c.close()
    rc, _ = h.stop()
    assert rc == 0


def create(env, body, token="responder"):
    return env["api"].call("POST", "/api/v1/incidents", env["tok"][token],
                           body)


def get(env, iid, token="viewer"):
    st, b = env["api"].call("GET", f"/api/v1/incidents/{iid}",
                            env["tok"][token])
    assert st == 200, b
    return b


def patch(env, iid, body, token="responder"):
    return env["api"].call("PATCH", f"/api/v1/incidents/{iid}",
                           env["tok"][token], body)


def report(env, iid):
    st, b = env["api"].call("GET", f"/api/v1/incidents/{iid}/report",
                            env["tok"]["viewer"])
    assert st == 200, b
    return b


def kinds(rec):
    return [e["kind"] for e in rec["timeline"]]


def new_incident(env, title, outbreak=None):
    body = {"title": title, "since": "2h"}
    if outbreak is not None:
        body["outbreak"] = outbreak
    st, b = create(env, body)
    assert st == 201, b
    return b["id"]


def about(target, iid):
    """Is an audit target about incident iid ("incident/3", "incident/3
    state=closed", "incident/3: why")?"""
    t = f"incident/{iid}"
    return target == t or target.startswith((t + " ", t + ":"))


def cli(env, *args, check=True, conf=None):
    p = subprocess.run([str(HUB), "incident", *args, "-c",
                        str(conf or env["hub"].ini)], capture_output=True,
                       text=True, timeout=60)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_create_from_outbreak(env):
    api, tok = env["api"], env["tok"]
    st, ob = api.call("GET", "/api/v1/outbreaks?kind=fingerprint&since=2h",
                      tok["viewer"])
    assert st == 200, ob
    keys = {g["key"]: g for g in ob["outbreaks"]}
    assert keys[FP]["hosts_affected"] == 3, keys
    st, b = create(env, {"title": "Worm on the campus", "owner": "alice",
                         "outbreak": f"fingerprint:{FP}", "since": "2h"})
    assert st == 201, b
    iid = b["id"]
    assert b["url"] == f"/api/v1/incidents/{iid}"
    r = get(env, iid)
    assert r["id"] == iid and r["title"] == "Worm on the campus"
    assert r["state"] == "open" and r["owner"] == "alice"
    assert r["created_by"] == "responder-1"
    assert r["contained"] is None and r["closed"] is None
    assert r["links"]["outbreaks"] == [{"kind": "fingerprint", "key": FP,
                                        "value": f"fingerprint:{FP}"}]
    assert sorted(x["agent_id"] for x in r["hosts"]) == AGENTS[:3]
    assert r["indicators"] == 6 and r["truncated"] is False
    byid = {x["agent_id"]: x for x in r["hosts"]}
    assert byid["agent-1"]["host_name"] == "ws-1"
    assert byid["agent-2"]["indicators"] == 2
    k = kinds(r)
    assert k.count("first_indicator") == 1 and k.count("first_host") == 1
    assert k.count("new_host") == 2 and k.count("opened") == 1
    # oldest first: the worm was there before anyone opened the incident
    assert k.index("first_indicator") < k.index("new_host") < \
        k.index("opened")
    first = r["timeline"][k.index("first_host")]
    assert first["agent_id"] == "agent-1"
    opened = r["timeline"][k.index("opened")]
    assert opened["actor"] == "responder-1"
    times = [e["time"] for e in r["timeline"]]
    assert times == sorted(times)


def test_list_pages_and_filters(env):
    ids = [new_incident(env, f"page {i}") for i in range(5)]
    api, t = env["api"], env["tok"]["viewer"]
    st, full = api.call("GET", "/api/v1/incidents?limit=1000", t)
    assert st == 200, full
    every = [x["id"] for x in full["incidents"]]
    assert every == sorted(every, reverse=True)        # newest first
    assert set(ids) <= set(every) and full["next_cursor"] is None
    row = next(x for x in full["incidents"] if x["id"] == ids[0])
    assert row["title"] == "page 0" and row["state"] == "open"
    assert row["created_by"] == "responder-1" and row["links"] == 0
    for key in ("owner", "created", "contained", "closed"):
        assert key in row
    got, pages, cur = [], 0, None
    while True:
        q = "/api/v1/incidents?limit=2" + (f"&cursor={cur}" if cur else "")
        st, b = api.call("GET", q, t)
        assert st == 200, b
        assert len(b["incidents"]) <= 2
        got += [x["id"] for x in b["incidents"]]
        pages += 1
        cur = b["next_cursor"]
        if cur is None:
            break
        assert len(b["incidents"]) == 2
    assert got == every and pages == (len(every) + 1) // 2
    st, b = api.call("GET", "/api/v1/incidents?state=closed&limit=1000", t)
    assert st == 200 and all(x["state"] == "closed" for x in b["incidents"])
    assert not set(ids) & {x["id"] for x in b["incidents"]}
    st, b = api.call("GET", "/api/v1/incidents?state=open&limit=1000", t)
    assert set(ids) <= {x["id"] for x in b["incidents"]}
    for q, word in (("state=bogus", "state"), ("limit=0", "limit"),
                    ("limit=1001", "limit"), ("cursor=x", "cursor"),
                    ("bogus=1", "bogus")):
        st, b = api.call("GET", f"/api/v1/incidents?{q}", t)
        assert st == 400 and word in b["error"], (q, b)


def test_states_and_the_final_report(env):
    iid = new_incident(env, "The second worm", f"fingerprint:{FP2}")
    draft = report(env, iid)
    assert draft["final"] is False
    assert draft["incident"]["id"] == iid
    assert draft["figures"]["hosts_affected"] == 2
    assert draft["figures"]["time_to_contain_s"] is None
    st, r = patch(env, iid, {"state": "contained", "owner": "bob"})
    assert st == 200, r
    assert r["state"] == "contained" and r["owner"] == "bob"
    assert r["contained"] is not None and r["closed"] is None
    contained = r["contained"]
    st, r = patch(env, iid, {"state": "closed"})
    assert st == 200, r
    assert r["state"] == "closed" and r["closed"] is not None
    assert r["contained"] == contained
    assert {"contained", "closed", "owner"} <= set(kinds(r))
    final = report(env, iid)
    assert final["final"] is True and final["incident"]["state"] == "closed"
    f = final["figures"]
    assert f["hosts_affected"] == 2 and f["indicators"] == 2
    assert f["time_to_contain_s"] is not None
    assert f["time_to_close_s"] >= f["time_to_contain_s"] > 0
    assert f["time_to_detect_s"] > 2000        # first one 40 min before
    assert report(env, iid) == final           # kept, not recomputed
    # A third host reports the worm after the close: the kept report
    # does not move, while an incident opened now sees three hosts.
    env["agents"]["agent-3"].send([record(env["template"], time.time(),
                                          FP_RULE, FP2, "late")])
    assert report(env, iid) == final
    other = new_incident(env, "The second worm, again", f"fingerprint:{FP2}")
    assert len(get(env, other)["hosts"]) == 3
    # closed: only lessons and a reopening
    st, b = patch(env, iid, {"title": "renamed"})
    assert st == 400, b
    st, b = patch(env, iid, {"owner": "carol"})
    assert st == 400, b
    st, r = patch(env, iid, {"lessons": "Patch MS08-067 everywhere."})
    assert st == 200 and r["lessons"] == "Patch MS08-067 everywhere.", r
    assert "lessons" in kinds(r)
    st, r = patch(env, iid, {"state": "open"})
    assert st == 200 and r["state"] == "open", r
    assert "reopened" in kinds(r)
    assert r["contained"] == contained        # the first containment
    assert report(env, iid)["final"] is False


def test_notes(env):
    iid = new_incident(env, "Notes")
    st, b = env["api"].call("POST", f"/api/v1/incidents/{iid}/notes",
                            env["tok"]["responder"],
                            {"text": "isolated ws-2 at the switch"})
    assert st == 201, b
    r = get(env, iid)
    notes = [e for e in r["timeline"] if e["kind"] == "note"]
    assert len(notes) == 1 and "isolated ws-2" in notes[0]["text"]
    assert notes[0]["actor"] == "responder-1"
    big = "n" * 4096
    st, b = env["api"].call("POST", f"/api/v1/incidents/{iid}/notes",
                            env["tok"]["responder"], {"text": big})
    assert st == 201, b
    for body, word in (({"text": big + "n"}, "text"), ({"text": ""}, "text"),
                       ({"text": 5}, "text"), ({}, "text"),
                       ({"text": "x", "more": 1}, "more")):
        st, b = env["api"].call("POST", f"/api/v1/incidents/{iid}/notes",
                                env["tok"]["responder"], body)
        assert st == 400 and word in b["error"], (body, b)


def link(env, iid, kind, value, token="responder"):
    return env["api"].call("POST", f"/api/v1/incidents/{iid}/links",
                           env["tok"][token], {"kind": kind, "value": value})


def order_task(env, agents, incident=None):
    body = {"task": {"type": "snapshot"}, "targets": {"agents": agents}}
    if incident is not None:
        body["incident"] = incident
    return env["api"].call("POST", "/api/v1/tasks", env["tok"]["responder"],
                           body)


def test_links_of_each_kind(env):
    iid = new_incident(env, "Links")
    st, t = order_task(env, ["agent-4"])
    assert st == 201, t
    seq4 = env["seqs"]["agent-4"][0]
    for kind, value in (("host", "agent-4"), ("indicator", f"agent-4/{seq4}"),
                        ("task", str(t["id"])),
                        ("outbreak", f"fingerprint:{FP}")):
        st, b = link(env, iid, kind, value)
        assert st == 201, (kind, b)
        st, b = link(env, iid, kind, value)            # already linked
        assert st == 200, (kind, b)
    r = get(env, iid)
    assert r["links"]["hosts"] == ["agent-4"]
    assert r["links"]["indicators"] == [f"agent-4/{seq4}"]
    assert r["links"]["tasks"] == [t["id"]]
    assert [o["value"] for o in r["links"]["outbreaks"]] == \
        [f"fingerprint:{FP}"]
    assert {x["agent_id"] for x in r["hosts"]} == set(AGENTS)
    assert [x["id"] for x in r["tasks"]] == [t["id"]]
    assert r["tasks"][0]["type"] == "snapshot"
    linked = [e for e in r["timeline"] if e["kind"] == "linked"]
    assert len(linked) == 4                 # the repeats added nothing
    assert "task_ordered" in kinds(r)
    for kind, value, word in (("host", "agent-99", ""),
                              ("task", "999999", ""),
                              ("indicator", "agent-4/999999", ""),
                              ("outbreak", "nonsense", ""),
                              ("bogus", "x", "kind")):
        st, b = link(env, iid, kind, value)
        assert st == 400 and word in b["error"], (kind, value, b)
    st, b = link(env, 999999, "host", "agent-4")
    assert st == 404, b


def test_refusals(env):
    api, tok = env["api"], env["tok"]
    iid = new_incident(env, "Refusals")
    # viewers read, only responders write
    st, b = create(env, {"title": "no"}, token="viewer")
    assert st == 403, b
    for method, path, body in (
            ("PATCH", f"/api/v1/incidents/{iid}", {"state": "closed"}),
            ("POST", f"/api/v1/incidents/{iid}/notes", {"text": "x"}),
            ("POST", f"/api/v1/incidents/{iid}/links",
             {"kind": "host", "value": "agent-4"})):
        st, b = api.call(method, path, tok["viewer"], body)
        assert st == 403, (path, b)
    assert api.raw("GET", "/api/v1/incidents")[0] == 401
    assert get(env, iid)["state"] == "open"            # nothing changed
    for body, word in (
            ({"title": "x", "bogus": 1}, "bogus"),
            ({"title": "x" * 201}, "title"),
            ({"title": ""}, "title"),
            ({"title": 7}, "title"),
            ({"owner": "alice"}, "title"),
            ({"title": "x", "owner": "o" * 65}, "owner"),
            ({"title": "x", "owner": ["alice"]}, "owner"),
            ({"title": "x", "since": "tomorrow"}, "since"),
            ({"title": "x", "outbreak": 3}, "outbreak"),
            ({"title": "x", "outbreak": "fingerprint"}, ""),
            ([1, 2], "object"),
            ("{\"title\": \"a\", \"title\": \"b\"}", ""),
            ("{\"title\": ", "body"),
            ("", "body")):
        st, b = create(env, body)
        assert st == 400 and word in b["error"], (body, b)
    st, b = create(env, {"title": "t" * 200})
    assert st == 201, b
    for body, word in (({"state": "done"}, "state"), ({"state": 1}, "state"),
                       ({"color": "red"}, "color"), ({}, ""),
                       ({"lessons": "l" * 16385}, "lessons"),
                       ({"title": "x" * 201}, "title")):
        st, b = patch(env, iid, body)
        assert st == 400 and word in b["error"], (body, b)
    for method, path, body in (
            ("GET", "/api/v1/incidents/999999", None),
            ("GET", "/api/v1/incidents/abc", None),
            ("GET", "/api/v1/incidents/999999/report", None),
            ("PATCH", "/api/v1/incidents/999999", {"state": "closed"}),
            ("POST", "/api/v1/incidents/999999/notes", {"text": "x"})):
        st, b = api.call(method, path, tok["responder"], body)
        assert st == 404, (path, b)
    st, b = api.call("GET", f"/api/v1/incidents/{iid}/report?format=xml",
                     tok["viewer"])
    assert st == 400 and "format" in b["error"], b
    st, b = api.call("DELETE", f"/api/v1/incidents/{iid}", tok["admin"])
    assert st == 405, b


def test_pdf_download(env):
    iid = new_incident(env, "Blaster at the town hall", f"fingerprint:{FP}")
    st, h, data = env["api"].raw(
        "GET", f"/api/v1/incidents/{iid}/report?format=pdf",
        env["tok"]["viewer"])
    assert st == 200, data[:200]
    assert h["Content-Type"] == "application/pdf"
    assert h["Content-Disposition"] == \
        f'attachment; filename="incident-{iid}.pdf"'
    assert int(h["Content-Length"]) == len(data)
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    p = subprocess.run(["pdftotext", "-", "-"], input=data,
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    text = " ".join(p.stdout.decode().split())
    assert "Blaster at the town hall" in text, text[:2000]
    st, h, data = env["api"].raw(
        "GET", f"/api/v1/incidents/{iid}/report?format=json",
        env["tok"]["viewer"])
    assert st == 200 and json.loads(data)["incident"]["id"] == iid


def test_task_with_incident(env):
    iid = new_incident(env, "Collect from the worm hosts",
                       f"fingerprint:{FP}")
    api, tok = env["api"], env["tok"]
    st, b = order_task(env, ["agent-1", "agent-2"], incident=iid)
    assert st == 201, b
    assert b["incident"] == iid and b["hosts"] == 2
    tid = b["id"]
    r = get(env, iid)
    assert r["links"]["tasks"] == [tid]
    task = next(x for x in r["tasks"] if x["id"] == tid)
    assert task["hosts"] == 2 and task["created_by"] == "responder-1"
    ordered = [e for e in r["timeline"] if e["kind"] == "task_ordered"]
    assert len(ordered) == 1 and str(tid) in ordered[0]["text"]
    st, tasks = api.call("GET", "/api/v1/tasks?limit=1000", tok["viewer"])
    before = len(tasks["tasks"])
    for inc, word in ((999999, "incident"), (str(iid), "incident"),
                      (0, "incident"), (True, "incident")):
        st, b = order_task(env, ["agent-1"], incident=inc)
        assert st == 400 and word in b["error"], (inc, b)
    st, tasks = api.call("GET", "/api/v1/tasks?limit=1000", tok["viewer"])
    assert len(tasks["tasks"]) == before         # refused: nothing made
    rep = report(env, iid)
    assert rep["figures"]["time_to_first_task_s"] is not None
    assert [x["id"] for x in rep["tasks"]] == [tid]


def test_every_change_is_audited(env):
    iid = new_incident(env, "Audited")
    assert patch(env, iid, {"state": "contained"})[0] == 200
    assert env["api"].call("POST", f"/api/v1/incidents/{iid}/notes",
                           env["tok"]["responder"], {"text": "n"})[0] == 201
    assert link(env, iid, "host", "agent-4")[0] == 201
    assert patch(env, iid, {"state": "bogus"})[0] == 400
    st, a = env["api"].call("GET", "/api/v1/audit?limit=1000",
                            env["tok"]["admin"])
    assert st == 200, a
    rows = [(x["action"], x["target"], x["result"], x["actor"])
            for x in a["audit"] if about(x["target"], iid)]
    acts = {(r[0], r[2]) for r in rows}
    assert ("incident.create", "ok") in acts
    assert ("incident.update", "ok") in acts
    assert ("incident.note", "ok") in acts
    assert ("incident.link", "ok") in acts
    assert ("incident.update", "400") in acts
    assert all(r[3] == "responder-1" for r in rows)
    assert any(r[0] == "incident.update" and "state=contained" in r[1]
               for r in rows)
    assert any(r[0] == "incident.link" and "host agent-4" in r[1]
               for r in rows)
    # the API's own row of each write is there too
    assert any(x["action"] == f"PATCH /api/v1/incidents/{iid}"
               for x in a["audit"])


def test_cli_beside_the_running_hub(env, tmp_path):
    p = cli(env, "create", "--title", "From the console", "--owner", "eve",
            "--outbreak", f"fingerprint:{FP}", "--since", "2h")
    iid = int(p.stdout.strip())
    r = get(env, iid)                   # the running hub sees it at once
    assert r["title"] == "From the console" and r["created_by"] == "cli"
    assert len(r["hosts"]) == 3
    out = cli(env, "list").stdout
    assert any(line.split()[0] == str(iid) and "From the console" in line
               for line in out.splitlines()[1:]), out
    assert str(iid) not in [line.split()[0] for line in
                            cli(env, "list", "--state", "closed")
                            .stdout.splitlines()[1:]]
    listed = [json.loads(x) for x in cli(env, "list", "--json")
              .stdout.splitlines()]
    assert any(x["id"] == iid for x in listed)
    cli(env, "note", str(iid), "seen from the console\nsecond line")
    # An agent's rule name reaches the timeline (first_indicator): with
    # an escape sequence in it, the CLI must not hand it to the terminal.
    seq = env["agents"]["agent-4"].send([record(
        env["template"], env["now"] - 6500, "picket.test.esc", None,
        "escape", name="Evil\x1b[31m red")])[0]
    cli(env, "link", str(iid), "indicator", f"agent-4/{seq}")
    cli(env, "link", str(iid), "host", "agent-4")
    p = cli(env, "link", str(iid), "host", "agent-4")
    assert "linked already" in p.stderr
    lessons = tmp_path / "lessons.txt"
    lessons.write_text("Segment the campus.\nKeep the hub's clock right.\n")
    cli(env, "set", str(iid), "--state", "contained")
    cli(env, "set", str(iid), "--state", "closed", "--lessons-file",
        str(lessons))
    show = cli(env, "show", str(iid)).stdout
    assert f"incident {iid}: From the console" in show
    assert "state:      closed" in show and "timeline:" in show
    for k in ("first_indicator", "opened", "note", "linked", "contained",
              "closed"):
        assert k in show, (k, show)
    assert "Evil?[31m red" in show and "\x1b" not in show
    assert "seen from the console\n" in show and "second line" in show
    assert "Segment the campus." in show
    shown = json.loads(cli(env, "show", str(iid), "--json").stdout)
    assert shown["state"] == "closed" and shown["links"]["hosts"] == \
        ["agent-4"]
    assert shown["links"]["indicators"] == [f"agent-4/{seq}"]
    assert any("Evil\x1b[31m red" in e["text"] for e in shown["timeline"])
    rep = json.loads(cli(env, "report", str(iid), "--json").stdout)
    assert rep["final"] is True and rep["figures"]["hosts_affected"] >= 3
    assert rep == report(env, iid)              # the one kept at close
    text = cli(env, "report", str(iid)).stdout
    assert "final" in text and "time to contain" in text
    pdf = tmp_path / "r.pdf"
    cli(env, "report", str(iid), "--pdf", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF-")
    # refusals and usage
    for args, rc, word in ((["set", str(iid), "--state", "bogus"], 2,
                            "--state"),
                           (["set", str(iid), "--title", "renamed"], 1, ""),
                           (["show", "999999"], 1, "no incident 999999"),
                           (["note", "999999", "x"], 1, "no incident"),
                           (["link", str(iid), "host", "agent-99"], 1, ""),
                           (["link", str(iid), "color", "red"], 2, "kind"),
                           (["create"], 2, "--title"),
                           (["create", "--title", "x" * 201], 1, "title"),
                           (["report", str(iid), "--pdf", "x", "--json"], 2,
                            ""),
                           (["show"], 2, "usage"),
                           (["show", "abc"], 2, "id"),
                           (["frob"], 2, "usage")):
        p = cli(env, *args, check=False)
        assert p.returncode == rc and word in p.stderr, (args, p.stderr)
    p = subprocess.run([str(HUB), "incident"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 2 and "usage" in p.stderr
    st, a = env["api"].call("GET", "/api/v1/audit?limit=1000",
                            env["tok"]["admin"])
    cli_rows = {(x["action"], x["result"]) for x in a["audit"]
                if x["actor"] == "cli" and about(x["target"], iid)}
    assert {("incident.create", "ok"), ("incident.note", "ok"),
            ("incident.link", "ok"), ("incident.update", "ok"),
            ("incident.update", "400")} <= cli_rows, cli_rows


def test_cli_with_the_hub_stopped(tmp_path, certs):
    """The CLI needs only the store: a hub that is not running."""
    h = Hub(tmp_path / "hub", certs)
    c, w = h.agent("agent-1", host_name="ws-1")
    c.close()
    rc, _ = h.stop()
    assert rc == 0
    def run(*args, check=True):
        p = subprocess.run([str(HUB), "incident", *args, *h.where()],
                           capture_output=True, text=True, timeout=60)
        if check:
            assert p.returncode == 0, p.stderr
        return p

    iid = int(run("create", "--title", "Offline").stdout)
    run("link", str(iid), "host", "agent-1")
    run("set", str(iid), "--state", "closed")
    out = run("list").stdout
    assert "Offline" in out and "closed" in out
    rec = json.loads(run("show", str(iid), "--json").stdout)
    assert rec["links"]["hosts"] == ["agent-1"] and rec["state"] == "closed"
    assert rec["created_by"] == "cli"
    # the hub started again serves what the CLI wrote
    h2 = Hub(tmp_path / "hub", certs)
    tok = h2.token("viewer", "v")
    st, b = Api(h2, certs).call("GET", f"/api/v1/incidents/{iid}", tok)
    assert st == 200 and b["title"] == "Offline", b
    rc, _ = h2.stop()
    assert rc == 0
