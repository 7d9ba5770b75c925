/*
 * test_hubtasks.c - the store's task operations (schema 4) and making a
 * task (hub/task_create.c): a version-3 database (schema 4's tables
 * dropped, version set back) is migrated on open with its rows kept;
 * hub_task_create refuses a bad specification with the parser's reason,
 * unknown agents, no targets, an empty match, past expiry, and stores the
 * canonical form with one queued row per unique target (explicit ids,
 * tags of enrolled agents, hosts that reported a rule / fingerprint /
 * IOC since a time, and not before it); the host rows go through states
 * (open tasks per agent, expiry picks only queued and sent, cancel marks
 * only hosts not final and records the time); counts per state; result
 * paths escape agent ids.  Run by make check-unit.
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

#include "hub/store.h"
#include "hub/tasks.h"
#include "tests/unit/hubfix.h"

static int
setup(void **state)
{
	return hubfix_setup(state, sizeof(struct hubfix), "hubtasks");
}

static void
add_ind(struct hub_store *st, const char *agent, uint64_t seq, int64_t ts,
    const char *rule, const char *fp, const char *json)
{
	struct hub_indicator d;

	hubfix_row(&d, agent, seq, ts, "alert", rule, fp);
	snprintf(d.timestamp, sizeof(d.timestamp), "t");
	d.destination_port = -1;
	hubfix_put_row(st, &d, json);
}

static void
add_agent(struct hub_store *st, const char *id, const char *tag,
    int revoked)
{
	struct hub_agent a;

	memset(&a, 0, sizeof(a));
	snprintf(a.agent_id, sizeof(a.agent_id), "%s", id);
	snprintf(a.tag, sizeof(a.tag), "%s", tag);
	snprintf(a.serial, sizeof(a.serial), "01");
	a.enrolled_us = 1;
	a.not_after_us = 2;
	a.revoked_us = revoked ? 3 : 0;
	assert_int_equal(st->ops->agent_put(st, &a), 0);
}

/* A version-3 database with rows: schema 4's tables gone. */
static void
test_migration_from_3(void **state)
{
	struct hubfix *f = *state;
	struct hub_host h;
	int v, found;
	int64_t id;
	uint64_t counts[PK_TS_NSTATES];
	struct hub_task t;
	static const char *const ids[] = { "old-agent" };

	assert_int_equal(f->st->ops->host_seen(f->st, "old-agent", "old-host",
	    0, 100), 0);
	add_agent(f->st, "old-agent", "lab", 0);
	/* a version-3 file has none of the later versions' tables */
	hubfix_downgrade(f, "DROP TABLE shared_rule_ids; "
	    "DROP TABLE bundles; DROP TABLE bundle_members; "
	    "DROP TABLE agent_bundle; DROP TABLE agent_bundle_events; "
	    "DROP INDEX indicators_shared; DROP INDEX shared_received; "
	    "DROP INDEX shared_decided; "
	    "ALTER TABLE indicators DROP COLUMN shared_ref; "
	    "DROP TABLE peer_sent_values; "
	    "DROP TABLE shared_indicators; "
	    "DROP TABLE peers; DROP TABLE incident_events; "
	    "DROP TABLE incident_links; DROP TABLE incidents; "
	    "DROP TABLE task_hosts; DROP TABLE tasks; "
	    "UPDATE schema_version SET version = 3");
	assert_int_equal(f->st->ops->schema_version(f->st, &v), 0);
	assert_int_equal(v, HUB_SCHEMA_VERSION);
	assert_int_equal(f->st->ops->host_get(f->st, "old-agent", &h,
	    &found), 0);
	assert_int_equal(found, 1);
	assert_string_equal(h.host_name, "old-host");
	/* and the new tables work */
	memset(&t, 0, sizeof(t));
	t.type = PK_TASK_SNAPSHOT;
	t.spec = "{\"type\":\"snapshot\"}";
	t.spec_len = strlen(t.spec);
	t.created_us = 10;
	t.expires_us = 20;
	snprintf(t.created_by, sizeof(t.created_by), "me");
	assert_int_equal(f->st->ops->task_add(f->st, &t, ids, 1, &id), 0);
	assert_true(id >= 1);
	assert_int_equal(f->st->ops->task_counts(f->st, id, counts), 0);
	assert_int_equal(counts[PK_TS_QUEUED], 1);
}

struct got {
	char		 spec[2048];
	char		 targets[HUB_TASK_DESC_MAX + 1];
	int		 type;
	int64_t		 expires_us, cancelled_us;
	int		 n;
	char		 agents[16][HUB_ID_MAX + 1];
	int		 states[16];
	int64_t		 ids[16];
};

static int
got_task(void *arg, const struct hub_task *t)
{
	struct got *g = arg;

	snprintf(g->spec, sizeof(g->spec), "%.*s", (int)t->spec_len, t->spec);
	snprintf(g->targets, sizeof(g->targets), "%s", t->targets);
	g->type = t->type;
	g->expires_us = t->expires_us;
	g->cancelled_us = t->cancelled_us;
	return 0;
}

static int
got_host(void *arg, const struct hub_task_host *h)
{
	struct got *g = arg;

	assert_true(g->n < 16);
	snprintf(g->agents[g->n], sizeof(g->agents[0]), "%s", h->agent_id);
	g->states[g->n] = h->state;
	g->ids[g->n] = h->task_id;
	g->n++;
	return 0;
}

static int
got_pair(void *arg, const struct hub_task *t, const struct hub_task_host *h)
{
	assert_int_equal(t->id, h->task_id);
	return got_host(arg, h);
}

static int
mk(struct hubfix *f, const char *spec, const struct hub_task_targets *tg,
    int64_t expires, int64_t *id, size_t *n, char *err)
{
	return hub_task_create(f->st, spec, strlen(spec), tg, expires, "tester",
	    1000, id, n, err, HUB_TASK_ERR_MAX);
}

static void
test_create_and_targets(void **state)
{
	struct hubfix *f = *state;
	struct hub_task_targets tg;
	const char *agents[] = { "a2", "a1", "a2" };
	const char *nobody[] = { "ghost" };
	const char *tags[] = { "lab" };
	char err[HUB_TASK_ERR_MAX];
	struct got g;
	int64_t id;
	size_t n;
	int found;

	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->host_seen(f->st, "a1", "h1", 0, 1), 0);
	assert_int_equal(f->st->ops->host_seen(f->st, "a2", "h2", 0, 1), 0);
	add_agent(f->st, "t1", "lab", 0);
	add_agent(f->st, "t2", "lab", 1);		/* revoked */
	add_agent(f->st, "t3", "office", 0);
	add_ind(f->st, "r1", 1, 500, "picket.worm.x", "abcd", "{\"threat\":"
	    "{\"indicator\":{\"name\":\"Evil.Example\"}}}");
	add_ind(f->st, "r2", 1, 50, "picket.worm.x", "abcd", "{}");  /* old */
	add_ind(f->st, "r3", 1, 600, "picket.other", "ABCD", "{}");

	memset(&tg, 0, sizeof(tg));
	tg.reported = -1;
	/* bad spec: the parser's reason, nothing made */
	tg.agents = agents;
	tg.nagents = 3;
	assert_int_equal(mk(f, "{\"type\":\"pcap\"}", &tg, 5000, &id, &n, err),
	    1);
	assert_non_null(strstr(err, "task: "));
	assert_non_null(strstr(err, "duration"));
	assert_int_equal(mk(f, "{\"type\":\"pcap\",\"duration\":-1}", &tg,
	    5000, &id, &n, err), 1);
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 999, &id, &n,
	    err), 1);			/* expires before now */
	/* explicit ids, deduplicated and sorted; canonical spec stored */
	assert_int_equal(mk(f, "{ \"duration\" : 5, \"type\":\"pcap\" }", &tg,
	    5000, &id, &n, err), 0);
	assert_int_equal(n, 2);
	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->task_get(f->st, id, got_task, &g,
	    &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(g.type, PK_TASK_PCAP);
	assert_null(strstr(g.spec, " "));
	assert_non_null(strstr(g.spec, "\"max_packets\":100000"));
	assert_non_null(strstr(g.targets, "agent a2"));
	assert_int_equal(f->st->ops->task_hosts(f->st, id, got_host, &g), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.agents[0], "a1");
	assert_string_equal(g.agents[1], "a2");
	assert_int_equal(g.states[0], PK_TS_QUEUED);
	/* an unknown agent */
	tg.agents = nobody;
	tg.nagents = 1;
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 5000, &id, &n,
	    err), 1);
	assert_non_null(strstr(err, "unknown agent ghost"));
	/* no targets at all */
	tg.nagents = 0;
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 5000, &id, &n,
	    err), 1);
	/* a tag: enrolled, not revoked */
	tg.tags = tags;
	tg.ntags = 1;
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 5000, &id, &n,
	    err), 0);
	assert_int_equal(n, 1);
	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->task_hosts(f->st, id, got_host, &g), 0);
	assert_string_equal(g.agents[0], "t1");
	/* reported: by rule since 100 (r2's row is older), fingerprint (no
	 * case), IOC value (no case) */
	tg.ntags = 0;
	tg.reported = HUB_REPORTED_RULE;
	tg.value = "picket.worm.x";
	tg.since_us = 100;
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 5000, &id, &n,
	    err), 0);
	assert_int_equal(n, 1);
	tg.since_us = 0;
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 5000, &id, &n,
	    err), 0);
	assert_int_equal(n, 2);
	tg.reported = HUB_REPORTED_FINGERPRINT;
	tg.value = "ABCD";
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 5000, &id, &n,
	    err), 0);
	assert_int_equal(n, 2);		/* r1, r2 (stored lower case) */
	tg.reported = HUB_REPORTED_IOC;
	tg.value = "evil.example";
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 5000, &id, &n,
	    err), 0);
	assert_int_equal(n, 1);
	tg.value = "nothing.example";
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 5000, &id, &n,
	    err), 1);
	assert_non_null(strstr(err, "no host"));
}

static void
put_state(struct hubfix *f, int64_t id, const char *agent, int state,
    int64_t now)
{
	struct hub_task_host h;
	int found;

	assert_int_equal(f->st->ops->task_host_get(f->st, id, agent, &h,
	    &found), 0);
	assert_int_equal(found, 1);
	h.state = state;
	h.updated_us = now;
	h.bytes = 42;
	assert_int_equal(f->st->ops->task_host_put(f->st, &h), 0);
}

static void
test_states_expiry_cancel(void **state)
{
	struct hubfix *f = *state;
	struct hub_task_targets tg;
	const char *agents[] = { "a1", "a2", "a3", "a4" };
	char err[HUB_TASK_ERR_MAX];
	uint64_t counts[PK_TS_NSTATES], changed, bytes;
	struct hub_task_host h;
	struct got g;
	int64_t id, id2;
	size_t n, i;
	int found;

	for (i = 0; i < 4; i++)
		assert_int_equal(f->st->ops->host_seen(f->st, agents[i], "h", 0,
		    1), 0);
	memset(&tg, 0, sizeof(tg));
	tg.reported = -1;
	tg.agents = agents;
	tg.nagents = 4;
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 2000, &id, &n,
	    err), 0);
	tg.nagents = 1;
	assert_int_equal(mk(f, "{\"type\":\"snapshot\"}", &tg, 9000, &id2, &n,
	    err), 0);
	put_state(f, id, "a2", PK_TS_SENT, 1500);
	put_state(f, id, "a3", PK_TS_RUNNING, 1500);
	put_state(f, id, "a4", PK_TS_DONE, 1500);
	assert_int_equal(f->st->ops->task_host_get(f->st, id, "a4", &h,
	    &found), 0);
	assert_int_equal(h.bytes, 42);
	assert_int_equal(f->st->ops->task_bytes_total(f->st, &bytes), 0);
	assert_int_equal(bytes, 3 * 42);
	/* a1's open tasks: both, oldest first */
	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->task_open_for(f->st, "a1", got_pair, &g),
	    0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.ids[0], id);
	assert_int_equal(g.ids[1], id2);
	/* a4 is done: nothing open */
	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->task_open_for(f->st, "a4", got_pair, &g),
	    0);
	assert_int_equal(g.n, 0);
	/* expiry at 2000: queued a1 and sent a2 of the first task only */
	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->task_expiring(f->st, 2000, got_pair, &g),
	    0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.agents[0], "a1");
	assert_string_equal(g.agents[1], "a2");
	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->task_expiring(f->st, 1999, got_pair, &g),
	    0);
	assert_int_equal(g.n, 0);
	/* cancel: a1, a2, a3 (not a4, done) */
	assert_int_equal(f->st->ops->task_cancel(f->st, id, 3000, "cancelled "
	    "by x", &found, &changed), 0);
	assert_int_equal(found, 1);
	assert_int_equal(changed, 3);
	assert_int_equal(f->st->ops->task_counts(f->st, id, counts), 0);
	assert_int_equal(counts[PK_TS_CANCELLED], 3);
	assert_int_equal(counts[PK_TS_DONE], 1);
	assert_int_equal(f->st->ops->task_host_get(f->st, id, "a3", &h,
	    &found), 0);
	assert_string_equal(h.reason, "cancelled by x");
	assert_int_equal(h.updated_us, 3000);
	assert_int_equal(f->st->ops->task_cancel(f->st, 9999, 3000, "x",
	    &found, &changed), 0);
	assert_int_equal(found, 0);
	/* the scan: past id2's id nothing; cancellations after 2999 */
	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->task_scan(f->st, id2, 2999, got_task, &g),
	    0);
	assert_int_equal(g.cancelled_us, 3000);
	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->task_scan(f->st, id2, 3000, got_task, &g),
	    0);
	assert_int_equal(g.cancelled_us, 0);
	assert_int_equal(g.type, 0);	/* nothing */
}

static void
test_result_path(void **state)
{
	char p[256];

	(void)state;
	assert_int_equal(hub_task_result_path("/d/tasks", 7, "agent-1.x_y",
	    PK_TASK_PCAP, p, sizeof(p)), 0);
	assert_string_equal(p, "/d/tasks/7/agent-1.x_y.pcap");
	assert_int_equal(hub_task_result_path("/d/tasks", 7, "a/../b c",
	    PK_TASK_SNAPSHOT, p, sizeof(p)), 0);
	assert_string_equal(p, "/d/tasks/7/a%2F..%2Fb%20c.ndjson");
	assert_int_equal(hub_task_result_path("/d/tasks", 7, "", PK_TASK_PCAP,
	    p, sizeof(p)), -1);
	assert_int_equal(hub_task_result_path("/d/tasks", 7, "agent",
	    PK_TASK_PCAP, p, 10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migration_from_3, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_create_and_targets, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_states_expiry_cancel,
		    setup, hubfix_teardown),
		cmocka_unit_test(test_result_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
