/*
 * hubfix.c - the hub unit tests' shared fixture (see hubfix.h): a real
 * store - SQLite in a temporary directory, or, when PICKET_TEST_PG holds a
 * libpq connection string, a schema of its own on that PostgreSQL server -
 * and the ways the tests put rows in it.  One copy, so every hub test sets
 * up, migrates and cleans up the same way on both backends; linked into
 * the tests that mk/hub.mk names.
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

#include <libpq-fe.h>
#include <sqlite3.h>

#include "hub/ingest.h"
#include "hub/store.h"
#include "tests/unit/hubfix.h"

const char *
hubfix_pg(void)
{
	const char *dsn = getenv("PICKET_TEST_PG");

	return dsn != NULL && dsn[0] != '\0' ? dsn : NULL;
}

const struct hub_store_ops *
hubfix_ops(void)
{
	return hubfix_pg() != NULL ? &hub_store_pg : &hub_store_sqlite;
}

/* Run sql on a connection of the test's own to the PostgreSQL server
 * (dsn: the fixture's, with its schema, or the bare one). */
static void
pg_sql(const char *dsn, const char *sql)
{
	PGconn *c = PQconnectdb(dsn);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("postgresql: %s", PQerrorMessage(c));
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("postgresql: %s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

int
hubfix_setup(void **state, size_t size, const char *name)
{
	struct hubfix *hf;
	const char *dsn = hubfix_pg();
	static unsigned serial;
	char sql[128];

	assert_true(size >= sizeof(*hf));
	hf = calloc(1, size);
	assert_non_null(hf);
	snprintf(hf->dir, sizeof(hf->dir), "/tmp/%s.XXXXXX", name);
	assert_non_null(mkdtemp(hf->dir));
	if (dsn == NULL)
		snprintf(hf->path, sizeof(hf->path), "%s/hub.db", hf->dir);
	else {
		/* unique per process and fixture; name is the test's */
		snprintf(hf->schema, sizeof(hf->schema), "t_%.32s_%ld_%u",
		    name, (long)getpid(), serial++);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", hf->schema);
		pg_sql(dsn, sql);
		assert_true((size_t)snprintf(hf->path, sizeof(hf->path),
		    "%s options='-c search_path=%s'", dsn, hf->schema) <
		    sizeof(hf->path));
	}
	assert_int_equal(hubfix_ops()->open(&hf->st, hf->path), 0);
	*state = hf;
	return 0;
}

int
hubfix_teardown(void **state)
{
	struct hubfix *hf = *state;
	char p[sizeof(hf->path) + 8];

	if (hf->st != NULL)
		hf->st->ops->close(hf->st);
	if (hf->schema[0] != '\0') {
		snprintf(p, sizeof(p), "DROP SCHEMA %s CASCADE", hf->schema);
		pg_sql(hubfix_pg(), p);
	} else {
		/* SQLite's WAL files, then the database */
		snprintf(p, sizeof(p), "%s-wal", hf->path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", hf->path);
		unlink(p);
		unlink(hf->path);
	}
	rmdir(hf->dir);
	free(hf);
	return 0;
}

void
hubfix_reopen(struct hubfix *hf)
{
	hf->st->ops->close(hf->st);
	hf->st = NULL;
	assert_int_equal(hubfix_ops()->open(&hf->st, hf->path), 0);
}

void
hubfix_sql(struct hubfix *hf, const char *sql)
{
	sqlite3 *db;

	if (hf->schema[0] != '\0') {
		pg_sql(hf->path, sql);
		return;
	}
	assert_int_equal(sqlite3_open(hf->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

void
hubfix_downgrade(struct hubfix *hf, const char *sql)
{
	hf->st->ops->close(hf->st);
	hf->st = NULL;
	hubfix_sql(hf, sql);
	assert_int_equal(hubfix_ops()->open(&hf->st, hf->path), 0);
}

int64_t
hubfix_sql_int(struct hubfix *hf, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	PGconn *c;
	PGresult *r;
	int64_t v;

	if (hf->schema[0] != '\0') {
		c = PQconnectdb(hf->path);
		if (PQstatus(c) != CONNECTION_OK)
			fail_msg("postgresql: %s", PQerrorMessage(c));
		r = PQexec(c, sql);
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
			fail_msg("postgresql: %s: %s", sql,
			    PQerrorMessage(c));
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		PQclear(r);
		PQfinish(c);
		return v;
	}
	assert_int_equal(sqlite3_open_v2(hf->path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
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
