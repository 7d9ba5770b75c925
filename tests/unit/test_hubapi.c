/*
 * test_hubapi.c - the store operations behind the HTTPS API
 * (hub/store_sqlite.c schema 2, hub/auth.c): a version-1 database made as
 * the previous hub made it is migrated with its rows kept; find() filters
 * and pages newest first with a cursor that visits every row once; hosts
 * and per-rule counts; tokens stored as hashes only, unique among valid
 * ones, revoked; the audit log newest first.  Needs SQLite: not under
 * wine.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hub/apiparam.h"
#include "hub/auth.h"
#include "hub/store.h"

/* Schema 1 exactly as the version-1 hub wrote it. */
static const char V1[] =
    "CREATE TABLE schema_version (version INTEGER NOT NULL);"
    "INSERT INTO schema_version VALUES (1);"
    "CREATE TABLE hosts (agent_id TEXT PRIMARY KEY, host_name TEXT NOT NULL "
    "DEFAULT '', first_seen_us INTEGER NOT NULL, last_seen_us INTEGER NOT "
    "NULL, last_seq INTEGER NOT NULL DEFAULT 0, dropped INTEGER NOT NULL "
    "DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE indicators (agent_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " ingest_us INTEGER NOT NULL, ts_us INTEGER NOT NULL, timestamp TEXT "
    "NOT NULL, rule_id TEXT NOT NULL, rule_name TEXT NOT NULL, ruleset TEXT"
    " NOT NULL, event_kind TEXT NOT NULL, severity INTEGER NOT NULL, "
    "source_ip TEXT, destination_ip TEXT, destination_port INTEGER, "
    "transport TEXT, direction TEXT NOT NULL, fingerprint TEXT NOT NULL, "
    "first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, count INTEGER NOT "
    "NULL, json TEXT NOT NULL, PRIMARY KEY (agent_id, seq));"
    "CREATE INDEX indicators_ts ON indicators(ts_us);"
    "INSERT INTO hosts VALUES ('old-agent', 'old-host', 1, 2, 7, 0, 0);"
    "INSERT INTO indicators VALUES ('old-agent', 7, 5, 1000000, "
    "'1970-01-01T00:00:01Z', 'r.old', 'Old', 'x', 'alert', 47, NULL, NULL,"
    " NULL, NULL, 'outbound', 'f', 'a', 'b', 1, "
    "'{\"message\":\"an old Needle\"}');";

struct fx {
	char		 path[64];
	struct hub_store *st;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	sqlite3 *db;
	int fd;

	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/test_hubapi.XXXXXX");
	assert_true((fd = mkstemp(f->path)) >= 0);
	close(fd);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, V1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(hub_store_sqlite.open(&f->st, f->path), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char p[96];

	f->st->ops->close(f->st);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	free(f);
	return 0;
}

static void
add(struct hub_store *st, const char *agent, uint64_t seq, int64_t ts,
    const char *rule, int sev, const char *msg)
{
	struct hub_indicator d;
	char json[128];
	int is_new;

	memset(&d, 0, sizeof(d));
	snprintf(d.agent_id, sizeof(d.agent_id), "%s", agent);
	d.seq = seq;
	d.ts_us = ts;
	snprintf(d.timestamp, sizeof(d.timestamp), "t%lld", (long long)ts);
	snprintf(d.rule_id, sizeof(d.rule_id), "%s", rule);
	snprintf(d.rule_name, sizeof(d.rule_name), "Name of %s", rule);
	snprintf(d.ruleset, sizeof(d.ruleset), "x");
	snprintf(d.event_kind, sizeof(d.event_kind), "alert");
	d.severity = sev;
	d.destination_port = -1;
	snprintf(d.direction, sizeof(d.direction), "outbound");
	snprintf(d.fingerprint, sizeof(d.fingerprint), "f");
	snprintf(d.first_seen, sizeof(d.first_seen), "a");
	snprintf(d.last_seen, sizeof(d.last_seen), "b");
	d.count = 1;
	snprintf(json, sizeof(json), "{\"message\":\"%s\"}", msg);
	d.json = json;
	d.json_len = strlen(json);
	assert_int_equal(st->ops->insert(st, &d, &is_new), 0);
	assert_int_equal(is_new, 1);
}

struct seen {
	int		 n;
	uint64_t	 seqs[512];
	char		 agents[512][HUB_ID_MAX + 1];
	int64_t		 ts[512];
};

static int
collect(void *arg, const struct hub_indicator *d)
{
	struct seen *s = arg;

	assert_true(s->n < 512);
	s->seqs[s->n] = d->seq;
	s->ts[s->n] = d->ts_us;
	snprintf(s->agents[s->n], sizeof(s->agents[0]), "%s", d->agent_id);
	s->n++;
	return 0;
}

static void
test_migration_keeps_rows(void **state)
{
	struct fx *f = *state;
	struct hub_ind_filter q;
	struct seen s;
	int v;

	assert_int_equal(f->st->ops->schema_version(f->st, &v), 0);
	/* Migrated from version 1 all the way to the current version. */
	assert_int_equal(v, HUB_SCHEMA_VERSION);
	assert_true(v >= 2);
	memset(&q, 0, sizeof(q));
	q.severity_min = -1;
	q.text = "needle";
	memset(&s, 0, sizeof(s));
	assert_int_equal(f->st->ops->find(f->st, &q, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.agents[0], "old-agent");
	q.text = NULL;
	q.host = "old-host";
	memset(&s, 0, sizeof(s));
	assert_int_equal(f->st->ops->find(f->st, &q, collect, &s), 0);
	assert_int_equal(s.n, 1);
}

static void
test_find_pages_every_row_once(void **state)
{
	struct fx *f = *state;
	struct hub_ind_filter q;
	struct seen s, page;
	int i, pages = 0, total = 0;

	assert_int_equal(f->st->ops->begin(f->st), 0);
	/* Many rows share a timestamp: the cursor must still be exact. */
	for (i = 1; i <= 200; i++)
		add(f->st, i % 2 ? "a1" : "a2", (uint64_t)i,
		    2000000 + (i / 7) * 1000, i % 3 ? "r.x" : "r.y",
		    i % 100, i % 5 ? "hay" : "NEEDLE");
	assert_int_equal(f->st->ops->commit(f->st), 0);
	memset(&s, 0, sizeof(s));
	memset(&q, 0, sizeof(q));
	q.severity_min = -1;
	q.since_us = 1500000;		/* not the old row */
	q.limit = 13;
	for (;;) {
		memset(&page, 0, sizeof(page));
		assert_int_equal(f->st->ops->find(f->st, &q, collect, &page),
		    0);
		pages++;
		for (i = 0; i < page.n; i++) {
			s.seqs[s.n] = page.seqs[i];
			s.ts[s.n++] = page.ts[i];
		}
		total += page.n;
		if (page.n < 13)
			break;
		q.has_after = 1;
		q.after_ts_us = page.ts[page.n - 1];
		snprintf(q.after_agent, sizeof(q.after_agent), "%s",
		    page.agents[page.n - 1]);
		q.after_seq = page.seqs[page.n - 1];
	}
	assert_int_equal(total, 200);
	assert_int_equal(pages, 16);
	for (i = 1; i < s.n; i++)
		assert_true(s.ts[i] <= s.ts[i - 1]);
	{
		int hit[201] = { 0 };

		for (i = 0; i < s.n; i++)
			hit[s.seqs[i]]++;
		for (i = 1; i <= 200; i++)
			assert_int_equal(hit[i], 1);
	}
	/* Filters: severity, rule, text, until. */
	memset(&q, 0, sizeof(q));
	q.severity_min = 90;
	q.rule = "r.y";
	memset(&s, 0, sizeof(s));
	assert_int_equal(f->st->ops->find(f->st, &q, collect, &s), 0);
	for (i = 0; i < s.n; i++)
		assert_true(s.seqs[i] % 100 >= 90 && s.seqs[i] % 3 == 0);
	assert_int_equal(s.n, 7);	/* 90 93 96 99, 192 195 198 */
	memset(&q, 0, sizeof(q));
	q.severity_min = -1;
	q.text = "needle";
	q.until_us = 2000000 + 7 * 1000;	/* i / 7 < 7: i < 49 */
	memset(&s, 0, sizeof(s));
	assert_int_equal(f->st->ops->find(f->st, &q, collect, &s), 0);
	assert_int_equal(s.n, 1 + 9);	/* the old row, 5..45 */
}

static int
count_rule(void *arg, const struct hub_rule_count *r)
{
	uint64_t *n = arg;

	if (strcmp(r->rule_id, "r.x") == 0)
		n[0] = r->count;
	else
		n[1] = r->count;
	return 0;
}

static int
count_host(void *arg, const struct hub_host *h)
{
	(*(int *)arg)++;
	assert_string_equal(h->agent_id, "old-agent");
	assert_int_equal(h->last_seq, 7);
	return 0;
}

static void
test_hosts_and_rules(void **state)
{
	struct fx *f = *state;
	uint64_t n[2] = { 0, 0 };
	int hosts = 0;

	assert_int_equal(f->st->ops->begin(f->st), 0);
	add(f->st, "old-agent", 8, 3, "r.x", 1, "m");
	add(f->st, "old-agent", 9, 4, "r.x", 1, "m");
	assert_int_equal(f->st->ops->commit(f->st), 0);
	assert_int_equal(f->st->ops->hosts(f->st, count_host, &hosts), 0);
	assert_int_equal(hosts, 1);
	assert_int_equal(f->st->ops->host_rules(f->st, "old-agent",
	    count_rule, n), 0);
	assert_int_equal(n[0], 2);
	assert_int_equal(n[1], 1);	/* r.old */
}

static int
count_tok(void *arg, const struct hub_token *t)
{
	(*(int *)arg)++;
	assert_true(t->role >= HUB_ROLE_VIEWER);
	return 0;
}

struct alog {
	int	n;
	char	first[2 * HUB_AUDIT_FIELD_MAX + 2];
};

static int
audit_row(void *arg, const struct hub_audit *a)
{
	struct alog *l = arg;

	if (l->n++ == 0)
		snprintf(l->first, sizeof(l->first), "%s %s", a->action,
		    a->target);
	return 0;
}

static void
test_tokens_and_audit(void **state)
{
	struct fx *f = *state;
	char sec[HUB_TOKEN_LEN + 1], sec2[HUB_TOKEN_LEN + 1];
	struct hub_token t;
	struct alog l;
	const char *err;
	uint64_t size;
	int n = 0, found;
	FILE *fp;
	char *buf;
	size_t len;

	assert_int_equal(hub_token_create(f->st, "ops", HUB_ROLE_ADMIN, sec,
	    sizeof(sec), &err), 0);
	assert_int_equal(strlen(sec), HUB_TOKEN_LEN);
	assert_memory_equal(sec, "pkt_", 4);
	assert_int_equal(hub_token_create(f->st, "ops", HUB_ROLE_VIEWER, sec2,
	    sizeof(sec2), &err), 1);
	assert_int_equal(hub_token_create(f->st, "bad name", HUB_ROLE_VIEWER,
	    sec2, sizeof(sec2), &err), -1);
	assert_int_equal(hub_token_create(f->st, "v", HUB_ROLE_NONE, sec2,
	    sizeof(sec2), &err), -1);
	assert_int_equal(hub_token_check(f->st, sec, strlen(sec), &t), 0);
	assert_string_equal(t.name, "ops");
	assert_int_equal(t.role, HUB_ROLE_ADMIN);
	sec[10] ^= 1;
	assert_int_equal(hub_token_check(f->st, sec, strlen(sec), &t), 1);
	sec[10] ^= 1;
	assert_int_equal(hub_token_check(f->st, "pkt_", 4, &t), 1);
	assert_int_equal(hub_token_check(f->st, "pkt_a b", 7, &t), 1);
	assert_int_equal(f->st->ops->token_revoke(f->st, "ops", 5, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(hub_token_check(f->st, sec, strlen(sec), &t), 1);
	assert_int_equal(f->st->ops->token_revoke(f->st, "ops", 6, &found), 0);
	assert_int_equal(found, 0);
	/* The name is free again once revoked. */
	assert_int_equal(hub_token_create(f->st, "ops", HUB_ROLE_VIEWER, sec2,
	    sizeof(sec2), &err), 0);
	assert_string_not_equal(sec, sec2);
	assert_int_equal(f->st->ops->token_list(f->st, count_tok, &n), 0);
	assert_int_equal(n, 2);
	/* No secret is in the file. */
	assert_non_null(fp = fopen(f->path, "rb"));
	assert_non_null(buf = malloc(1 << 20));
	len = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	assert_null(memmem(buf, len, sec + 4, HUB_TOKEN_LEN - 4));
	free(buf);
	assert_int_equal(hub_audit(f->st, "cli", "admin", "token.create",
	    "ops", "local", "ok"), 0);
	assert_int_equal(hub_audit(f->st, "ops", "viewer", "GET /x", "q",
	    "127.0.0.1:1", "403"), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(f->st->ops->audit_list(f->st, 0, 10, audit_row, &l),
	    0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.first, "GET /x q");
	assert_int_equal(f->st->ops->size(f->st, &size), 0);
	assert_true(size > 4096);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migration_keeps_rows,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_pages_every_row_once,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hosts_and_rules, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tokens_and_audit, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
