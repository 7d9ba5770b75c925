/*
 * test_incidents.c - incidents and after-action reports (hub/incidents.c,
 * docs/incidents.md) on a real SQLite store in a temporary directory:
 * indicators of five hosts go in through the store's insert as ingest
 * stores them (a worm fingerprint on three hosts, a scan, a process rule,
 * a content rule, an IOC match, a health report, rows outside the
 * window), a task through task_add with its hosts' outcomes.  The test
 * opens an incident from the fingerprint's outbreak, links an indicator,
 * a host and the task, writes a note, contains and closes it, and checks
 * the record (links, hosts, counts, the timeline's order and texts), the
 * report's figures against the known timestamps, hosts over time, the
 * detection classes and the hosts only one class saw, the report kept at
 * close surviving retention, the state machine (first containment kept,
 * reopening, a closed incident refusing a new title), every refusal
 * (titles, owners, malformed outbreaks, unknown hosts, tasks and
 * indicators, the link cap), the list's pages, and the migration of a
 * schema-4 database.  Run by make check-unit and check-asan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "hub/incidents.h"
#include "hub/outbreak.h"
#include "hub/stix.h"
#include "hub/store.h"
#include "tests/unit/hubfix.h"
#include "transport/task.h"

#define S	HUB_USEC
#define T0	1714521600000000LL	/* 2024-05-01T00:00:00Z */
#define FP	"9f86d081884c7d659a2feaa0c55ad015"

struct fx {
	struct hubfix	 hf;	/* first: hubfix_setup allocates */
	int64_t		 task;		/* the pcap task on a1, a2, a3 */
};

static int
setup(void **state)
{
	return hubfix_setup(state, sizeof(struct fx), "incidents");
}

/* One stored indicator, its columns as hub_extract fills them. */
static void
ind(struct fx *f, const char *agent, uint64_t seq, const char *kind,
    int64_t ts, int64_t first, const char *rule, const char *fp, int dport,
    const char *json)
{
	struct hub_indicator d;

	hubfix_row(&d, agent, seq, ts, kind, rule, fp);
	d.ingest_us = T0;
	hub_time_ms(ts, d.timestamp, sizeof(d.timestamp));
	hub_time_ms(first != 0 ? first : ts, d.first_seen,
	    sizeof(d.first_seen));
	hub_time_ms(ts, d.last_seen, sizeof(d.last_seen));
	snprintf(d.rule_name, sizeof(d.rule_name), "name of %s", rule);
	snprintf(d.ruleset, sizeof(d.ruleset), "picket-builtin");
	d.severity = 73;
	d.destination_port = dport;
	snprintf(d.transport, sizeof(d.transport), "tcp");
	hubfix_put_row(f->hf.st, &d, json);
}

static void
task_host(struct fx *f, const char *agent, int state, const char *reason,
    uint64_t bytes, int64_t at)
{
	struct hub_task_host h;

	memset(&h, 0, sizeof(h));
	h.task_id = f->task;
	snprintf(h.agent_id, sizeof(h.agent_id), "%s", agent);
	h.state = state;
	snprintf(h.reason, sizeof(h.reason), "%s", reason);
	h.updated_us = at;
	h.bytes = bytes;
	assert_int_equal(f->hf.st->ops->task_host_put(f->hf.st, &h), 0);
}

/*
 * The story: a1 scans (T0+50 s), then the worm's fingerprint is reported
 * by a1 (T0+90 s; its picket.first_seen, T0+80 s, is not what counts),
 * a2 (T0+400 s) and a3 (T0+1000 s); a content rule fires on a2 (T0+500
 * s) and a4 (T0+700 s), an IOC on a2 (T0+600 s), a process rule on a1
 * (T0+1200 s).  a5 saw the fingerprint 30 hours before, outside the
 * window.  A pcap task on a1..a3 is ordered at T0+2500 s: a1 done (1000
 * bytes, T0+3000 s), a2 refused (T0+2700 s), a3 done (500 bytes,
 * T0+3200 s).
 */
static void
load(struct fx *f)
{
	static const char *const ids[] = { "a1", "a2", "a3" };
	static const char *const names[] = { "ws-01", "ws-02", "ws-03",
	    "ws-04", "ws-05" };
	struct hub_task t;
	char id[16];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "a%d", i + 1);
		assert_int_equal(f->hf.st->ops->host_seen(f->hf.st, id,
		    names[i], 0, T0), 0);
	}
	ind(f, "a1", 1, "alert", T0 + 90 * S, T0 + 80 * S,
	    "picket.fingerprint.outbound", FP, 445, "{}");
	ind(f, "a2", 1, "alert", T0 + 400 * S, 0,
	    "picket.fingerprint.outbound", FP, 445, "{}");
	ind(f, "a3", 1, "alert", T0 + 1000 * S, 0,
	    "picket.fingerprint.outbound", FP, 445, "{}");
	ind(f, "a1", 2, "alert", T0 + 50 * S, 0, "picket.scan.worm_port",
	    "1111", 445, "{}");
	ind(f, "a2", 2, "alert", T0 + 500 * S, 0, "2001", "2222", 445, "{}");
	ind(f, "a4", 1, "alert", T0 + 700 * S, 0, "2001", "2222", 445, "{}");
	ind(f, "a2", 3, "alert", T0 + 600 * S, 0, "picket.ioc.domain", "3333",
	    53, "{\"threat\":{\"indicator\":{\"type\":\"domain-name\","
	    "\"name\":\"evil.example\"}}}");
	ind(f, "a1", 3, "alert", T0 + 1200 * S, 0, "picket.process.exec_tmp",
	    "4444", -1, "{}");
	ind(f, "a1", 4, "metric", T0 + 300 * S, 0, "picket.health.capture",
	    "5555", -1, "{}");
	ind(f, "a5", 1, "alert", T0 - 30 * 3600 * S, 0,
	    "picket.fingerprint.outbound", FP, 445, "{}");
	memset(&t, 0, sizeof(t));
	t.type = PK_TASK_PCAP;
	t.spec = "{\"type\":\"pcap\"}";
	t.spec_len = strlen(t.spec);
	t.created_us = T0 + 2500 * S;
	t.expires_us = T0 + 9000 * S;
	snprintf(t.created_by, sizeof(t.created_by), "bob");
	assert_int_equal(f->hf.st->ops->task_add(f->hf.st, &t, ids, 3,
	    &f->task), 0);
	task_host(f, "a1", PK_TS_DONE, "", 1000, T0 + 3000 * S);
	task_host(f, "a2", PK_TS_REFUSED, "policy: pcap is not allowed", 0,
	    T0 + 2700 * S);
	task_host(f, "a3", PK_TS_DONE, "", 500, T0 + 3200 * S);
}

static const char *
sget(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	assert_non_null(v);
	return json_is_null(v) ? NULL : json_string_value(v);
}

static json_int_t
iget(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void
assert_time(const json_t *o, const char *k, int64_t us)
{
	char b[HUB_TIME_MS_LEN];

	assert_non_null(sget(o, k));
	assert_string_equal(sget(o, k), hub_time_ms(us, b, sizeof(b)));
}

static void
assert_secs(const json_t *o, const char *k, double v)
{
	const json_t *j = json_object_get(o, k);

	assert_true(json_is_real(j));
	assert_true(json_real_value(j) == v);
}

/* The incident of the story, opened at T0+2000 s; its id. */
static int64_t
story(struct fx *f)
{
	char err[HUB_INC_ERR_MAX], v[32];
	int64_t id;
	int dup = -1;

	load(f);
	assert_int_equal(hub_incident_create(f->hf.st, "Worm on the campus",
	    "alice", "fingerprint:" "9F86D081884C7D659A2FEAA0C55AD015", 0,
	    "alice", T0 + 2000 * S, &id, err, sizeof(err)), 0);
	assert_true(id >= 1);
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_INDICATOR,
	    "a2/2", "bob", T0 + 2050 * S, &dup, err, sizeof(err)), 0);
	assert_int_equal(dup, 0);
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_HOST, "a4",
	    "bob", T0 + 2100 * S, &dup, err, sizeof(err)), 0);
	snprintf(v, sizeof(v), "%lld", (long long)f->task);
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_TASK, v,
	    "bob", T0 + 2600 * S, &dup, err, sizeof(err)), 0);
	assert_int_equal(dup, 0);
	/* the same thing twice: not an error, no second link */
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_TASK, v,
	    "bob", T0 + 2610 * S, &dup, err, sizeof(err)), 0);
	assert_int_equal(dup, 1);
	assert_int_equal(hub_incident_note(f->hf.st, id, "ws-01 isolated\n"
	    "from the switch", "carol", T0 + 2800 * S, err, sizeof(err)), 0);
	return id;
}

static void
check_timeline(const json_t *tl, int closed)
{
	static const struct {
		const char	*kind;
		int64_t		 at;
		const char	*agent, *actor, *text;
	} want[] = {
		{ "first_indicator", 90, "a1", NULL,
		  "name of picket.fingerprint.outbound "
		  "(picket.fingerprint.outbound) on ws-01" },
		{ "first_host", 90, "a1", NULL,
		  "ws-01 is the first host affected" },
		{ "new_host", 400, "a2", NULL,
		  "ws-02 affected (host 2 of the incident)" },
		{ "new_host", 1000, "a3", NULL,
		  "ws-03 affected (host 3 of the incident)" },
		{ "opened", 2000, NULL, "alice", "opened by alice from "
		  "outbreak fingerprint:" FP },
		{ "linked", 2050, NULL, "bob", "bob linked indicator a2/2" },
		{ "linked", 2100, NULL, "bob", "bob linked host a4" },
		{ "task_ordered", 2500, NULL, "bob",
		  "task 1 (pcap) ordered by bob on 3 hosts" },
		{ "linked", 2600, NULL, "bob", "bob linked task 1" },
		{ "note", 2800, NULL, "carol",
		  "ws-01 isolated\nfrom the switch" },
		{ "task_finished", 3200, NULL, NULL,
		  "task 1 (pcap) finished: 2 done, 1 refused" },
		{ "contained", 3600, NULL, "alice", "contained by alice" },
		{ "closed", 7290, NULL, "alice", "closed by alice" },
	};
	size_t i, n = PK_NELEM(want) - (closed ? 0 : 2);
	const json_t *e;

	assert_true(json_is_array(tl));
	assert_int_equal(json_array_size(tl), n);
	for (i = 0; i < n; i++) {
		e = json_array_get(tl, i);
		assert_string_equal(sget(e, "kind"), want[i].kind);
		assert_time(e, "time", T0 + want[i].at * S);
		assert_string_equal(sget(e, "text"), want[i].text);
		if (want[i].agent != NULL)
			assert_string_equal(sget(e, "agent_id"),
			    want[i].agent);
		else
			assert_null(sget(e, "agent_id"));
		if (want[i].actor != NULL)
			assert_string_equal(sget(e, "actor"), want[i].actor);
		else
			assert_null(sget(e, "actor"));
	}
}

static void
test_record(void **state)
{
	struct fx *f = *state;
	char err[HUB_INC_ERR_MAX];
	const json_t *links, *hosts, *h, *tasks, *st;
	json_t *r;
	int64_t id;
	int found = 0;

	id = story(f);
	r = hub_incident_get(f->hf.st, id, T0 + 3000 * S, &found, err,
	    sizeof(err));
	assert_non_null(r);
	assert_int_equal(found, 1);
	assert_int_equal(iget(r, "id"), id);
	assert_string_equal(sget(r, "title"), "Worm on the campus");
	assert_string_equal(sget(r, "state"), "open");
	assert_string_equal(sget(r, "owner"), "alice");
	assert_string_equal(sget(r, "created_by"), "alice");
	assert_time(r, "created", T0 + 2000 * S);
	assert_time(r, "since", T0 + 2000 * S - HUB_INC_SINCE_DEF);
	assert_null(sget(r, "contained"));
	assert_null(sget(r, "closed"));
	links = json_object_get(r, "links");
	assert_int_equal(json_array_size(json_object_get(links, "outbreaks")),
	    1);
	/* the fingerprint was typed in capitals: stored as the view keys */
	assert_string_equal(sget(json_array_get(json_object_get(links,
	    "outbreaks"), 0), "value"), "fingerprint:" FP);
	assert_string_equal(sget(json_array_get(json_object_get(links,
	    "outbreaks"), 0), "kind"), "fingerprint");
	assert_string_equal(sget(json_array_get(json_object_get(links,
	    "outbreaks"), 0), "key"), FP);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(links, "indicators"), 0)), "a2/2");
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(links, "hosts"), 0)), "a4");
	assert_int_equal(json_integer_value(json_array_get(
	    json_object_get(links, "tasks"), 0)), f->task);
	/* three fingerprint rows in the window (not a5's, 30 h before)
	 * and the linked content-rule row */
	assert_int_equal(iget(r, "indicators"), 4);
	assert_false(json_is_true(json_object_get(r, "truncated")));
	hosts = json_object_get(r, "hosts");
	assert_int_equal(json_array_size(hosts), 4);
	h = json_array_get(hosts, 0);
	assert_string_equal(sget(h, "agent_id"), "a1");
	assert_string_equal(sget(h, "host_name"), "ws-01");
	assert_time(h, "first_seen", T0 + 90 * S);
	assert_int_equal(iget(h, "indicators"), 1);
	h = json_array_get(hosts, 1);
	assert_string_equal(sget(h, "agent_id"), "a2");
	assert_int_equal(iget(h, "indicators"), 2);
	h = json_array_get(hosts, 3);
	assert_string_equal(sget(h, "agent_id"), "a4");
	assert_null(sget(h, "first_seen"));
	assert_int_equal(iget(h, "indicators"), 0);
	tasks = json_object_get(r, "tasks");
	assert_int_equal(json_array_size(tasks), 1);
	assert_string_equal(sget(json_array_get(tasks, 0), "type"), "pcap");
	assert_string_equal(sget(json_array_get(tasks, 0), "created_by"),
	    "bob");
	assert_int_equal(iget(json_array_get(tasks, 0), "hosts"), 3);
	st = json_object_get(json_array_get(tasks, 0), "states");
	assert_int_equal(json_object_size(st), 2);
	assert_int_equal(iget(st, "done"), 2);
	assert_int_equal(iget(st, "refused"), 1);
	check_timeline(json_object_get(r, "timeline"), 0);
	json_decref(r);
	/* no such incident */
	assert_null(hub_incident_get(f->hf.st, id + 100, T0, &found, err,
	    sizeof(err)));
	assert_int_equal(found, 0);
}

static void
check_report(const json_t *rep, int64_t id)
{
	const json_t *fig, *hot, *det, *d, *only, *hosts, *t, *o;
	static const json_int_t cum[HUB_INC_BUCKETS] = { 1, 1, 2, 2, 2, 2, 3,
	    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3 };
	static const char *const det_order[] = { "scan", "fingerprint",
	    "signature", "ioc", "process" };
	size_t i;

	assert_true(json_is_true(json_object_get(rep, "final")));
	assert_int_equal(iget(json_object_get(rep, "incident"), "id"), id);
	assert_string_equal(sget(json_object_get(rep, "incident"), "state"),
	    "closed");
	fig = json_object_get(rep, "figures");
	assert_time(fig, "first_indicator", T0 + 90 * S);
	assert_secs(fig, "time_to_detect_s", 1910.0);
	assert_secs(fig, "time_to_first_task_s", 2410.0);
	assert_secs(fig, "time_to_contain_s", 3510.0);
	assert_secs(fig, "time_to_close_s", 7200.0);
	assert_int_equal(iget(fig, "hosts_affected"), 3);
	assert_int_equal(iget(fig, "indicators"), 4);
	check_timeline(json_object_get(rep, "timeline"), 1);
	/* 7200 s from the first indicator to closing: 48 buckets of 150 s;
	 * a2 is 310 s in (bucket 2), a3 910 s (bucket 6) */
	hot = json_object_get(rep, "hosts_over_time");
	assert_time(hot, "start", T0 + 90 * S);
	assert_int_equal(iget(hot, "bucket_seconds"), 150);
	assert_int_equal(json_array_size(json_object_get(hot, "cumulative")),
	    HUB_INC_BUCKETS);
	for (i = 0; i < HUB_INC_BUCKETS; i++)
		assert_int_equal(json_integer_value(json_array_get(
		    json_object_get(hot, "cumulative"), i)), cum[i]);
	/* every alert on a1..a4 in the window, by class, earliest first */
	det = json_object_get(rep, "detections");
	assert_int_equal(json_array_size(det), 5);
	for (i = 0; i < 5; i++)
		assert_string_equal(sget(json_array_get(det, i), "class"),
		    det_order[i]);
	d = json_array_get(det, 0);
	assert_time(d, "first_seen", T0 + 50 * S);
	assert_string_equal(sget(d, "first_host"), "ws-01");
	assert_int_equal(iget(d, "hosts"), 1);
	d = json_array_get(det, 1);
	assert_int_equal(iget(d, "hosts"), 3);
	assert_int_equal(iget(d, "indicators"), 3);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(d, "rules"), 0)), "picket.fingerprint.outbound");
	d = json_array_get(det, 2);
	assert_int_equal(iget(d, "hosts"), 2);
	assert_string_equal(sget(d, "first_host"), "ws-02");
	only = json_object_get(rep, "hosts_seen_only_by");
	assert_int_equal(json_object_size(only), 5);
	assert_int_equal(json_array_size(json_object_get(only,
	    "fingerprint")), 1);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(only, "fingerprint"), 0)), "ws-03");
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(only, "signature"), 0)), "ws-04");
	assert_int_equal(json_array_size(json_object_get(only, "scan")), 0);
	assert_int_equal(json_array_size(json_object_get(only, "ioc")), 0);
	hosts = json_object_get(rep, "hosts");
	assert_int_equal(json_array_size(hosts), 4);
	o = json_object_get(json_array_get(hosts, 0), "classes");
	assert_int_equal(json_array_size(o), 3);
	assert_string_equal(json_string_value(json_array_get(o, 0)),
	    "fingerprint");
	assert_string_equal(json_string_value(json_array_get(o, 1)), "scan");
	assert_string_equal(json_string_value(json_array_get(o, 2)),
	    "process");
	o = json_object_get(json_array_get(hosts, 1), "classes");
	assert_int_equal(json_array_size(o), 3);
	assert_string_equal(json_string_value(json_array_get(o, 1)), "ioc");
	t = json_array_get(json_object_get(rep, "tasks"), 0);
	assert_int_equal(iget(t, "bytes"), 1500);
	o = json_object_get(t, "outcomes");
	assert_int_equal(json_object_size(o), 6);
	assert_int_equal(iget(o, "done"), 2);
	assert_int_equal(iget(o, "refused"), 1);
	assert_int_equal(iget(o, "failed"), 0);
	assert_int_equal(iget(o, "running"), 0);
	o = json_object_get(t, "refusals");
	assert_int_equal(json_array_size(o), 1);
	assert_string_equal(sget(json_array_get(o, 0), "agent_id"), "a2");
	assert_string_equal(sget(json_array_get(o, 0), "reason"),
	    "policy: pcap is not allowed");
	/* nothing was shared by peers in the story */
	assert_int_equal(json_array_size(json_object_get(json_object_get(rep,
	    "sharing"), "received")), 0);
}

static void
test_report_and_snapshot(void **state)
{
	struct fx *f = *state;
	char err[HUB_INC_ERR_MAX];
	json_t *rep, *r, *fig;
	uint64_t deleted;
	int64_t id;
	int found;

	id = story(f);
	/* open: computed now, not final, nothing contained yet */
	rep = hub_incident_report(f->hf.st, id, T0 + 3000 * S, &found, err,
	    sizeof(err));
	assert_non_null(rep);
	assert_false(json_is_true(json_object_get(rep, "final")));
	fig = json_object_get(rep, "figures");
	assert_secs(fig, "time_to_detect_s", 1910.0);
	assert_true(json_is_null(json_object_get(fig, "time_to_contain_s")));
	assert_true(json_is_null(json_object_get(fig, "time_to_close_s")));
	json_decref(rep);
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, NULL,
	    "contained", NULL, "alice", T0 + 3600 * S, err, sizeof(err)), 0);
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, NULL, "closed",
	    NULL, "alice", T0 + 7290 * S, err, sizeof(err)), 0);
	rep = hub_incident_report(f->hf.st, id, T0 + 9000 * S, &found, err,
	    sizeof(err));
	assert_non_null(rep);
	check_report(rep, id);
	assert_time(rep, "generated", T0 + 7290 * S);
	json_decref(rep);
	/* retention takes every indicator of the incident (a later health
	 * report is the newest row, which SQLite's retention keeps and
	 * PostgreSQL's takes too): the record (live) shows it, the report
	 * kept at close does not change */
	ind(f, "zz", 1, "event", T0, 0, "picket.health.stats", "", -1, "{}");
	assert_int_equal(f->hf.st->ops->retention(f->hf.st, T0 + 1, 100,
	    &deleted), 0);
	assert_int_equal(deleted, hubfix_pg() != NULL ? 11 : 10);
	r = hub_incident_get(f->hf.st, id, T0 + 9000 * S, &found, err,
	    sizeof(err));
	assert_non_null(r);
	assert_int_equal(iget(r, "indicators"), 0);
	assert_string_equal(sget(r, "state"), "closed");
	assert_time(r, "closed", T0 + 7290 * S);
	json_decref(r);
	rep = hub_incident_report(f->hf.st, id, T0 + 9000 * S, &found, err,
	    sizeof(err));
	assert_non_null(rep);
	check_report(rep, id);
	json_decref(rep);
	/* lessons after closing go into the kept report */
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, NULL, NULL,
	    "Patch SMB sooner.", "alice", T0 + 8000 * S, err, sizeof(err)),
	    0);
	rep = hub_incident_report(f->hf.st, id, T0 + 9000 * S, &found, err,
	    sizeof(err));
	assert_non_null(rep);
	assert_string_equal(sget(rep, "lessons"), "Patch SMB sooner.");
	assert_int_equal(iget(json_object_get(rep, "figures"), "indicators"),
	    4);
	assert_string_equal(sget(json_array_get(json_object_get(rep,
	    "timeline"), 13), "kind"), "lessons");
	json_decref(rep);
}

static void
test_state_machine(void **state)
{
	struct fx *f = *state;
	char err[HUB_INC_ERR_MAX];
	json_t *r, *tl;
	int64_t id;
	int found;
	size_t n;

	assert_int_equal(hub_incident_create(f->hf.st, "Scan", NULL, NULL,
	    T0 - 3600 * S, "cli", T0, &id, err, sizeof(err)), 0);
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, "dave",
	    "contained", NULL, "alice", T0 + 10 * S, err, sizeof(err)), 0);
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, NULL, "closed",
	    NULL, "alice", T0 + 20 * S, err, sizeof(err)), 0);
	/* closed: no new title, owner, note, link; no containing */
	err[0] = '\0';
	assert_int_equal(hub_incident_update(f->hf.st, id, "New title", NULL,
	    NULL, NULL, "alice", T0 + 30 * S, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "title"));
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, "erin", NULL,
	    NULL, "alice", T0 + 30 * S, err, sizeof(err)), 1);
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, NULL,
	    "contained", NULL, "alice", T0 + 30 * S, err, sizeof(err)), 1);
	assert_int_equal(hub_incident_note(f->hf.st, id, "late", "alice",
	    T0 + 30 * S, err, sizeof(err)), 1);
	/* the same title is no change, and allowed */
	assert_int_equal(hub_incident_update(f->hf.st, id, "Scan", NULL, NULL,
	    NULL, "alice", T0 + 30 * S, err, sizeof(err)), 0);
	/* reopen (renaming it in the same change), contain and close
	 * again: the first times stay */
	assert_int_equal(hub_incident_update(f->hf.st, id, "Scan, part 2", NULL,
	    "open", NULL, "alice", T0 + 40 * S, err, sizeof(err)), 0);
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, NULL,
	    "contained", NULL, "alice", T0 + 50 * S, err, sizeof(err)), 0);
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, NULL, "closed",
	    NULL, "alice", T0 + 60 * S, err, sizeof(err)), 0);
	r = hub_incident_get(f->hf.st, id, T0 + 100 * S, &found, err,
	    sizeof(err));
	assert_non_null(r);
	assert_string_equal(sget(r, "state"), "closed");
	assert_string_equal(sget(r, "title"), "Scan, part 2");
	assert_string_equal(sget(r, "owner"), "dave");
	assert_time(r, "contained", T0 + 10 * S);
	assert_time(r, "closed", T0 + 20 * S);
	assert_time(r, "since", T0 - 3600 * S);
	tl = json_object_get(r, "timeline");
	n = json_array_size(tl);
	/* opened, owner, contained, closed, title, reopened, contained,
	 * closed: no indicators, so nothing derived */
	assert_int_equal(n, 8);
	assert_string_equal(sget(json_array_get(tl, 0), "kind"), "opened");
	assert_string_equal(sget(json_array_get(tl, 0), "text"),
	    "opened by cli");
	assert_string_equal(sget(json_array_get(tl, 1), "kind"), "owner");
	assert_string_equal(sget(json_array_get(tl, 1), "text"), "dave");
	assert_string_equal(sget(json_array_get(tl, 2), "kind"), "contained");
	/* a title and a state in one change: title first (the table) */
	assert_string_equal(sget(json_array_get(tl, 4), "kind"), "title");
	assert_string_equal(sget(json_array_get(tl, 4), "text"),
	    "Scan, part 2");
	assert_string_equal(sget(json_array_get(tl, 5), "kind"), "reopened");
	assert_string_equal(sget(json_array_get(tl, 6), "kind"), "contained");
	assert_string_equal(sget(json_array_get(tl, 7), "kind"), "closed");
	json_decref(r);
	r = hub_incident_report(f->hf.st, id, T0 + 100 * S, &found, err,
	    sizeof(err));
	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "final")));
	/* no indicators: nothing to measure from */
	assert_true(json_is_null(json_object_get(json_object_get(r,
	    "figures"), "time_to_detect_s")));
	assert_true(json_is_null(json_object_get(json_object_get(r,
	    "hosts_over_time"), "start")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(r,
	    "hosts_over_time"), "cumulative")), HUB_INC_BUCKETS);
	json_decref(r);
	/* unknown incident, unknown state */
	assert_int_equal(hub_incident_update(f->hf.st, id + 9, NULL, NULL,
	    "open", NULL, "alice", T0, err, sizeof(err)), 2);
	assert_int_equal(hub_incident_note(f->hf.st, id + 9, "x", "alice", T0,
	    err, sizeof(err)), 2);
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, NULL, "gone",
	    NULL, "alice", T0, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "state"));
}

static void
test_refusals(void **state)
{
	struct fx *f = *state;
	char err[HUB_INC_ERR_MAX], big[HUB_INC_LESSONS_MAX + 2], v[32];
	int64_t id, other;
	int dup, i;
	static const char *const bad_titles[] = { "", "   ", "bell\a",
	    "tab\there", "line\nbreak", "\xff\xfe", "\xc0\xaf",
	    "\xed\xa0\x80" };
	static const char *const bad_outbreaks[] = { "nocolon", "worm:abc",
	    "fingerprint:", ":abc", "ioc:domain", "ioc::x", "ioc:domain:",
	    "rule:bad\x01" };

	load(f);
	for (i = 0; i < (int)PK_NELEM(bad_titles); i++) {
		err[0] = '\0';
		assert_int_equal(hub_incident_create(f->hf.st, bad_titles[i],
		    NULL, NULL, 0, "alice", T0, &id, err, sizeof(err)), 1);
		assert_non_null(strstr(err, "title"));
	}
	memset(big, 'x', sizeof(big));
	big[HUB_INC_TITLE_MAX + 1] = '\0';
	assert_int_equal(hub_incident_create(f->hf.st, big, NULL, NULL, 0,
	    "alice", T0, &id, err, sizeof(err)), 1);
	big[HUB_INC_TITLE_MAX] = '\0';
	assert_int_equal(hub_incident_create(f->hf.st, big, NULL, NULL, 0,
	    "alice", T0, &id, err, sizeof(err)), 0);
	/* UTF-8 is welcome */
	assert_int_equal(hub_incident_create(f->hf.st, "Wurm im Büro – 🐛",
	    NULL, NULL, 0, "alice", T0, &id, err, sizeof(err)), 0);
	big[HUB_INC_OWNER_MAX + 1] = '\0';
	assert_int_equal(hub_incident_create(f->hf.st, "t", big, NULL, 0,
	    "alice", T0, &other, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "owner"));
	for (i = 0; i < (int)PK_NELEM(bad_outbreaks); i++) {
		err[0] = '\0';
		assert_int_equal(hub_incident_create(f->hf.st, "t", NULL,
		    bad_outbreaks[i], 0, "alice", T0, &other, err,
		    sizeof(err)), 1);
		assert_non_null(strstr(err, "outbreak"));
		assert_int_equal(hub_incident_link(f->hf.st, id,
		    HUB_LINK_OUTBREAK, bad_outbreaks[i], "alice", T0, &dup,
		    err, sizeof(err)), 1);
		assert_non_null(strstr(err, "value"));
	}
	assert_int_equal(hub_incident_create(f->hf.st, "t", NULL, NULL,
	    T0 + S, "alice", T0, &other, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "since"));
	/* links to nothing the hub knows */
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_HOST,
	    "nobody", "alice", T0, &dup, err, sizeof(err)), 1);
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_TASK, "999",
	    "alice", T0, &dup, err, sizeof(err)), 1);
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_TASK, "1x",
	    "alice", T0, &dup, err, sizeof(err)), 1);
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_INDICATOR,
	    "a1/99", "alice", T0, &dup, err, sizeof(err)), 1);
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_INDICATOR,
	    "a1", "alice", T0, &dup, err, sizeof(err)), 1);
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_INDICATOR,
	    "", "alice", T0, &dup, err, sizeof(err)), 1);
	assert_int_equal(hub_incident_link(f->hf.st, id, 7, "a1", "alice", T0,
	    &dup, err, sizeof(err)), 1);
	assert_int_equal(hub_incident_link(f->hf.st, id + 50, HUB_LINK_HOST,
	    "a1", "alice", T0, &dup, err, sizeof(err)), 2);
	/* notes and lessons: bounded, UTF-8, lines allowed */
	assert_int_equal(hub_incident_note(f->hf.st, id, "", "alice", T0, err,
	    sizeof(err)), 1);
	memset(big, 'x', sizeof(big));
	big[HUB_INC_NOTE_MAX + 1] = '\0';
	assert_int_equal(hub_incident_note(f->hf.st, id, big, "alice", T0, err,
	    sizeof(err)), 1);
	big[HUB_INC_NOTE_MAX] = '\0';
	assert_int_equal(hub_incident_note(f->hf.st, id, big, "alice", T0, err,
	    sizeof(err)), 0);
	memset(big, 'x', sizeof(big));
	big[HUB_INC_LESSONS_MAX + 1] = '\0';
	assert_int_equal(hub_incident_update(f->hf.st, id, NULL, NULL, NULL,
	    big, "alice", T0, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "lessons"));
	/* at most HUB_INC_LINKS_MAX links; a duplicate still answers */
	for (i = 0; i < HUB_INC_LINKS_MAX; i++) {
		snprintf(v, sizeof(v), "rule:r%d", i);
		assert_int_equal(hub_incident_link(f->hf.st, id,
		    HUB_LINK_OUTBREAK, v, "alice", T0, &dup, err,
		    sizeof(err)), 0);
		assert_int_equal(dup, 0);
	}
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_HOST, "a1",
	    "alice", T0, &dup, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "links"));
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_OUTBREAK,
	    "rule:r7", "alice", T0, &dup, err, sizeof(err)), 0);
	assert_int_equal(dup, 1);
}

static void
test_list(void **state)
{
	struct fx *f = *state;
	char err[HUB_INC_ERR_MAX];
	int64_t id[3];
	json_t *l, *a, *o;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(hub_incident_create(f->hf.st, "t", "o",
		    i == 2 ? "rule:2001" : NULL, 0, "alice", T0 + i, &id[i],
		    err, sizeof(err)), 0);
	assert_int_equal(hub_incident_update(f->hf.st, id[0], NULL, NULL,
	    "contained", NULL, "alice", T0 + 5 * S, err, sizeof(err)), 0);
	l = hub_incident_list(f->hf.st, 0, 2, -1, err, sizeof(err));
	assert_non_null(l);
	a = json_object_get(l, "incidents");
	assert_int_equal(json_array_size(a), 2);
	o = json_array_get(a, 0);
	assert_int_equal(iget(o, "id"), id[2]);
	assert_int_equal(iget(o, "links"), 1);
	assert_string_equal(sget(o, "state"), "open");
	assert_string_equal(sget(o, "created_by"), "alice");
	assert_null(sget(o, "closed"));
	assert_int_equal(iget(l, "next_cursor"), id[1]);
	json_decref(l);
	l = hub_incident_list(f->hf.st, id[1], 2, -1, err, sizeof(err));
	a = json_object_get(l, "incidents");
	assert_int_equal(json_array_size(a), 1);
	assert_int_equal(iget(json_array_get(a, 0), "id"), id[0]);
	assert_time(json_array_get(a, 0), "contained", T0 + 5 * S);
	assert_true(json_is_null(json_object_get(l, "next_cursor")));
	json_decref(l);
	l = hub_incident_list(f->hf.st, 0, 10, HUB_INC_CONTAINED, err,
	    sizeof(err));
	a = json_object_get(l, "incidents");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(sget(json_array_get(a, 0), "state"),
	    "contained");
	json_decref(l);
}

static void
test_names(void **state)
{
	(void)state;
	assert_int_equal(hub_inc_state_parse("contained"), HUB_INC_CONTAINED);
	assert_int_equal(hub_inc_state_parse("Closed"), -1);
	assert_string_equal(hub_inc_state_name(HUB_INC_CLOSED), "closed");
	assert_null(hub_inc_state_name(3));
	assert_int_equal(hub_inc_link_parse("task"), HUB_LINK_TASK);
	assert_int_equal(hub_inc_link_parse("tasks"), -1);
	assert_string_equal(hub_inc_link_name(HUB_LINK_OUTBREAK), "outbreak");
	assert_null(hub_inc_link_name(-1));
	assert_string_equal(hub_outbreak_kind_name(HUB_OB_SCAN), "scan");
	assert_null(hub_outbreak_kind_name(HUB_OB_NKINDS));
}

/* A schema-4 database with rows: schema 5's tables gone. */
static void
test_migration_from_4(void **state)
{
	struct fx *f = *state;
	char err[HUB_INC_ERR_MAX];
	struct hub_host h;
	int64_t id;
	int v, found;
	json_t *r;

	assert_int_equal(f->hf.st->ops->host_seen(f->hf.st, "old-agent",
	    "old-host", 0, 100), 0);
	hubfix_downgrade(&f->hf, "DROP TABLE shared_rule_ids; "
	    "DROP TABLE bundles; DROP TABLE bundle_members; "
	    "DROP TABLE agent_bundle; DROP TABLE agent_bundle_events; "
	    "DROP INDEX indicators_shared; DROP INDEX shared_received; "
	    "DROP INDEX shared_decided; "
	    "ALTER TABLE indicators DROP COLUMN shared_ref; "
	    "DROP TABLE peer_sent_values; "
	    "DROP TABLE shared_indicators; "
	    "DROP TABLE peers; DROP TABLE incident_events; "
	    "DROP TABLE incident_links; DROP TABLE incidents; "
	    "UPDATE schema_version SET version = 4");
	assert_int_equal(f->hf.st->ops->schema_version(f->hf.st, &v), 0);
	assert_int_equal(v, HUB_SCHEMA_VERSION);
	assert_int_equal(f->hf.st->ops->host_get(f->hf.st, "old-agent", &h,
	    &found), 0);
	assert_int_equal(found, 1);
	assert_string_equal(h.host_name, "old-host");
	assert_int_equal(hub_incident_create(f->hf.st, "after the upgrade",
	    NULL, NULL, 0, "cli", T0, &id, err, sizeof(err)), 0);
	assert_int_equal(hub_incident_link(f->hf.st, id, HUB_LINK_HOST,
	    "old-agent", "cli", T0, &v, err, sizeof(err)), 0);
	r = hub_incident_get(f->hf.st, id, T0, &found, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(sget(json_array_get(json_object_get(r, "hosts"),
	    0), "host_name"), "old-host");
	json_decref(r);
}

static void
shared(struct fx *f, const char *peer, const char *id, const char *kind,
    const char *value, int64_t at)
{
	struct hub_shared s;
	int is_new = 0;

	memset(&s, 0, sizeof(s));
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	snprintf(s.origin, sizeof(s.origin), "CERT of %s", peer);
	snprintf(s.stix_id, sizeof(s.stix_id), "indicator--%s", id);
	snprintf(s.kind, sizeof(s.kind), "%s", kind);
	snprintf(s.value, sizeof(s.value), "%s", value);
	snprintf(s.rule_ids, sizeof(s.rule_ids), "[]");
	s.tlp = HUB_TLP_GREEN;
	s.hosts = 3;
	s.first_received_us = s.last_received_us = at;
	s.state = HUB_SHARED_PENDING;
	assert_int_equal(f->hf.st->ops->shared_put(f->hf.st, &s, &is_new), 0);
	assert_int_equal(is_new, 1);
}

/* What peers shared about the incident's worm fingerprint: in the
 * timeline (shared_received) and in the report's sharing section; values
 * that only contain it, or of another kind, are not. */
static void
test_shared_received(void **state)
{
	struct fx *f = *state;
	char err[HUB_INC_ERR_MAX];
	const json_t *rec, *tl, *e;
	struct hub_sent_value sv;
	json_t *rep, *r;
	int64_t id;
	size_t i, n = 0, nsent = 0;
	int found;

	id = story(f);
	shared(f, "state-b", "00000000-0000-4000-8000-000000000001",
	    "fingerprint", "9f86d081884c7d659a2feaa0c55ad015", T0 + 2500 * S);
	shared(f, "state-c", "00000000-0000-4000-8000-000000000002",
	    "fingerprint", "9f86d081884c7d659a2feaa0c55ad01500", T0 + 2501 * S);
	shared(f, "state-c", "00000000-0000-4000-8000-000000000003",
	    "domain", "9f86d081884c7d659a2feaa0c55ad015.example",
	    T0 + 2502 * S);
	/* and this hub sent the fingerprint to state-d in its bundle 4 */
	memset(&sv, 0, sizeof(sv));
	snprintf(sv.peer, sizeof(sv.peer), "state-d");
	sv.seq = 4;
	snprintf(sv.kind, sizeof(sv.kind), "fingerprint");
	snprintf(sv.value, sizeof(sv.value), "%s",
	    "9f86d081884c7d659a2feaa0c55ad015");
	sv.tlp = HUB_TLP_GREEN;
	sv.sent_us = T0 + 2400 * S;
	assert_int_equal(f->hf.st->ops->sent_add(f->hf.st, &sv, 1), 0);
	rep = hub_incident_report(f->hf.st, id, T0 + 3000 * S, &found, err,
	    sizeof(err));
	assert_non_null(rep);
	rec = json_object_get(json_object_get(rep, "sharing"), "received");
	assert_int_equal(json_array_size(rec), 1);
	assert_string_equal(sget(json_array_get(rec, 0), "peer"), "state-b");
	assert_string_equal(sget(json_array_get(rec, 0), "origin"),
	    "CERT of state-b");
	assert_string_equal(sget(json_array_get(rec, 0), "tlp"), "TLP:GREEN");
	assert_string_equal(sget(json_array_get(rec, 0), "state"), "pending");
	assert_time(json_array_get(rec, 0), "first_received", T0 + 2500 * S);
	rec = json_object_get(json_object_get(rep, "sharing"), "sent");
	assert_int_equal(json_array_size(rec), 1);
	assert_string_equal(sget(json_array_get(rec, 0), "peer"), "state-d");
	assert_int_equal(iget(json_array_get(rec, 0), "sequence"), 4);
	assert_time(json_array_get(rec, 0), "sent", T0 + 2400 * S);
	json_decref(rep);
	r = hub_incident_get(f->hf.st, id, T0 + 3000 * S, &found, err,
	    sizeof(err));
	assert_non_null(r);
	tl = json_object_get(r, "timeline");
	for (i = 0; i < json_array_size(tl); i++) {
		e = json_array_get(tl, i);
		if (strcmp(sget(e, "kind"), "shared_received") == 0) {
			n++;
			assert_time(e, "time", T0 + 2500 * S);
			assert_non_null(strstr(sget(e, "text"), "state-b"));
		} else if (strcmp(sget(e, "kind"), "shared_sent") == 0) {
			nsent++;
			assert_time(e, "time", T0 + 2400 * S);
			assert_non_null(strstr(sget(e, "text"), "state-d"));
		}
	}
	assert_int_equal(n, 1);
	assert_int_equal(nsent, 1);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_record, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_report_and_snapshot,
		    setup, hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_state_machine, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_list, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_shared_received, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_4, setup,
		    hubfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
