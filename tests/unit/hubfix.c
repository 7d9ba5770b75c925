/*
 * hubfix.c - the hub unit tests' shared fixture (see hubfix.h): a real
 * SQLite store in a temporary directory and the ways the tests put rows
 * in it.  One copy, so every hub test sets up, migrates and cleans up
 * the same way; linked into the tests that mk/hub.mk names.
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

#include <sqlite3.h>

#include "hub/ingest.h"
#include "hub/store.h"
#include "tests/unit/hubfix.h"

int
hubfix_setup(void **state, size_t size, const char *name)
{
	struct hubfix *hf;

	assert_true(size >= sizeof(*hf));
	hf = calloc(1, size);
	assert_non_null(hf);
	snprintf(hf->dir, sizeof(hf->dir), "/tmp/%s.XXXXXX", name);
	assert_non_null(mkdtemp(hf->dir));
	snprintf(hf->path, sizeof(hf->path), "%s/hub.db", hf->dir);
	assert_int_equal(hub_store_sqlite.open(&hf->st, hf->path), 0);
	*state = hf;
	return 0;
}

int
hubfix_teardown(void **state)
{
	struct hubfix *hf = *state;
	char p[128];

	if (hf->st != NULL)
		hf->st->ops->close(hf->st);
	/* SQLite's WAL files, then the database and its directory */
	snprintf(p, sizeof(p), "%s-wal", hf->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", hf->path);
	unlink(p);
	unlink(hf->path);
	rmdir(hf->dir);
	free(hf);
	return 0;
}

void
hubfix_reopen(struct hubfix *hf)
{
	hf->st->ops->close(hf->st);
	hf->st = NULL;
	assert_int_equal(hub_store_sqlite.open(&hf->st, hf->path), 0);
}

void
hubfix_downgrade(struct hubfix *hf, const char *sql)
{
	sqlite3 *db;

	hf->st->ops->close(hf->st);
	hf->st = NULL;
	assert_int_equal(sqlite3_open(hf->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(hub_store_sqlite.open(&hf->st, hf->path), 0);
}

int
hubfix_put_json(struct hub_store *st, const char *json, const char *agent,
    uint64_t seq, int64_t ingest_us)
{
	struct hub_indicator d;
	int is_new = -1;

	assert_int_equal(hub_extract(json, strlen(json), &d), 0);
	snprintf(d.agent_id, sizeof(d.agent_id), "%s", agent);
	d.seq = seq;
	d.ingest_us = ingest_us;
	assert_int_equal(st->ops->insert(st, &d, &is_new), 0);
	return is_new;
}

void
hubfix_row(struct hub_indicator *d, const char *agent, uint64_t seq,
    int64_t ts, const char *kind, const char *rule, const char *fp)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->agent_id, sizeof(d->agent_id), "%s", agent);
	d->seq = seq;
	d->ts_us = ts;
	d->ingest_us = ts;
	snprintf(d->event_kind, sizeof(d->event_kind), "%s", kind);
	snprintf(d->rule_id, sizeof(d->rule_id), "%s", rule);
	snprintf(d->fingerprint, sizeof(d->fingerprint), "%s", fp);
	snprintf(d->direction, sizeof(d->direction), "outbound");
	d->count = 1;
}

void
hubfix_put_row(struct hub_store *st, struct hub_indicator *d,
    const char *json)
{
	int is_new = 0;

	d->json = json;
	d->json_len = strlen(json);
	assert_int_equal(st->ops->insert(st, d, &is_new), 0);
	assert_int_equal(is_new, 1);
}
