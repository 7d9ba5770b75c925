/*
 * hubfix.h - the fixture the hub's unit tests share (test_hubstore,
 * test_hubtasks, test_peerstore, test_outbreak, test_stix, test_share,
 * test_incidents): a real store, opened in setup and removed in
 * teardown: SQLite in a fresh temporary directory, or, with
 * PICKET_TEST_PG=<libpq connection string> in the environment, a fresh
 * schema on that PostgreSQL server (the same suites test both backends);
 * reopening it, taking it back to an older schema with raw SQL (the
 * migration tests), and storing indicator rows as ingest does (a JSON
 * line through hub_extract, or a row whose columns the test fills).
 * Every helper asserts with cmocka, so a failure names the test.  Only
 * tests/unit/test_*.c include this; mk/hub.mk links hubfix.o into them.
 */
#ifndef PICKET_TESTS_HUBFIX_H
#define PICKET_TESTS_HUBFIX_H

#include <stddef.h>
#include <stdint.h>

#include "hub/store.h"

/* The first member of each test's own fixture struct, so that
 * hubfix_setup and hubfix_teardown can allocate and free the whole. */
struct hubfix {
	char		 dir[64];	/* /tmp/NAME.XXXXXX */
	char		 path[320];	/* DIR/hub.db or the PostgreSQL target */
	char		 schema[64];	/* PostgreSQL: the test's schema */
	struct hub_store *st;		/* NULL while a test has it closed */
};

/* Allocate a zeroed fixture of size bytes (a struct whose first member
 * is struct hubfix), open its store under /tmp/NAME.XXXXXX, *state = it. */
int	hubfix_setup(void **state, size_t size, const char *name);
/* Close the store if open, remove its files and directory, free. */
int	hubfix_teardown(void **state);

/* The PostgreSQL connection string under test, or NULL (SQLite). */
const char *hubfix_pg(void);
/* The backend under test. */
const struct hub_store_ops *hubfix_ops(void);

void	hubfix_reopen(struct hubfix *hf);
/* Run sql on the database over a connection of the test's own (another
 * process's view: it sees only what is committed). */
void	hubfix_sql(struct hubfix *hf, const char *sql);
/* The first column of the first row sql returns, read the same way. */
int64_t	hubfix_sql_int(struct hubfix *hf, const char *sql);
/* Close the store, run sql with hubfix_sql (dropping a later schema's
 * tables, setting the version back), open it again. */
void	hubfix_downgrade(struct hubfix *hf, const char *sql);

/* One JSON line through hub_extract and the insert op, as ingest stores
 * it; returns the insert's is_new. */
int	hubfix_put_json(struct hub_store *st, const char *json,
	    const char *agent, uint64_t seq, int64_t ingest_us);
/* A zeroed row with the columns every test sets: agent, seq, time (also
 * the ingest time), kind, rule, fingerprint, direction outbound, count 1. */
void	hubfix_row(struct hub_indicator *d, const char *agent, uint64_t seq,
	    int64_t ts, const char *kind, const char *rule, const char *fp);
/* Store a filled row with json as its text; it must be new. */
void	hubfix_put_row(struct hub_store *st, struct hub_indicator *d,
	    const char *json);

#endif
