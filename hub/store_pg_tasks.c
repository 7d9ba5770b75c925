/*
 * store_pg_tasks.c - the PostgreSQL backend's targeted collection (tasks
 * and their state per host): the store.h task_* operations, each
 * behaving exactly as its sq_ twin in store_sqlite.c (same rows, order,
 * limits and *found / *changed results).  Only the ops table in
 * store_pg.c calls these; the hub reaches them through struct
 * hub_store_ops.
 *
 * Several hubs share the database and each learns of the others' tasks
 * through task_scan, a cursor on the task id.  Ids come from a sequence,
 * which hands them out in one order and lets transactions commit in
 * another; task_add therefore makes its transaction the only one adding
 * a task (an advisory lock held to its commit), so that a task visible
 * to a scan has every lower id visible too and no cursor skips one.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "hub/store.h"
#include "hub/store_pg.h"
#include "transport/task.h"

/* Host rows per INSERT: $1 the task, $2 the time, the rest agents. */
#define PG_THOSTS_BATCH	(PG_PARAM_MAX - 2)

#define PG_TASK_COLS	"SELECT t.id, t.type, t.spec, t.created_us, " \
	"t.created_by, t.expires_us, t.cancelled_us, t.targets FROM tasks t "
#define PG_THOST_COLS	"h.task_id, h.agent_id, h.state, h.reason, " \
	"h.updated_us, h.bytes, h.final_bytes, h.rows"
/* A task's columns, then its host row's (from 8). */
#define PG_TASK_COLS_H	"SELECT t.id, t.type, t.spec, t.created_us, " \
	"t.created_by, t.expires_us, t.cancelled_us, t.targets, " \
	PG_THOST_COLS " FROM tasks t"


/* Columns 0..7 of PG_TASK_COLS; spec points into r. */
static void
pg_task_fill(const PGresult *r, int i, struct hub_task *t)
{
	memset(t, 0, sizeof(*t));
	t->id = pg_i64(r, i, 0);
	t->type = pg_int(r, i, 1);
	t->spec = PQgetvalue(r, i, 2);		/* "" for NULL */
	t->spec_len = (size_t)PQgetlength(r, i, 2);
	t->created_us = pg_i64(r, i, 3);
	pg_str(r, i, 4, t->created_by, sizeof(t->created_by));
	t->expires_us = pg_i64(r, i, 5);
	t->cancelled_us = pg_i64(r, i, 6);	/* NULL: not cancelled, 0 */
	pg_str(r, i, 7, t->targets, sizeof(t->targets));
}

/* Columns at..at+7 of PG_THOST_COLS. */
static void
pg_thost_fill(const PGresult *r, int i, int at, struct hub_task_host *h)
{
	memset(h, 0, sizeof(*h));
	h->task_id = pg_i64(r, i, at);
	pg_str(r, i, at + 1, h->agent_id, sizeof(h->agent_id));
	h->state = pg_int(r, i, at + 2);
	pg_str(r, i, at + 3, h->reason, sizeof(h->reason));
	h->updated_us = pg_i64(r, i, at + 4);
	h->bytes = pg_u64(r, i, at + 5);
	h->final_bytes = pg_u64(r, i, at + 6);
	h->rows = pg_u64(r, i, at + 7);
}

static int
pg_tasks_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_task t;

	pg_task_fill(r, i, &t);
	return ((hub_task_fn)cb->fn)(cb->arg, &t);
}

static int
pg_pairs_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_task t;
	struct hub_task_host h;

	pg_task_fill(r, i, &t);
	pg_thost_fill(r, i, 8, &h);
	return ((hub_task_pair_fn)cb->fn)(cb->arg, &t, &h);
}

/* ------------------------------------------------------------ add */

struct pg_task_add {
	const struct hub_task	 *t;
	const char *const	 *agents;
	size_t			  n;
	int64_t			 *id;
};


/*
 * Host rows agents[from .. from + n) of task id, queued, in one
 * statement.  The SQL holds only placeholders; a repeated agent (in the
 * list or from before) is skipped, as SQLite's INSERT OR IGNORE does.
 */
static int
pg_thosts_add(struct pg_store *s, const struct pg_task_add *a, size_t from,
    size_t n)
{
	char sql[128 + PG_THOSTS_BATCH * 24];
	struct pg_params p;
	size_t k, off;
	int w;

	off = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO task_hosts "
	    "(task_id, agent_id, state, updated_us) VALUES ");
	for (k = 0; k < n; k++) {
		w = snprintf(sql + off, sizeof(sql) - off,
		    "%s($1, $%zu, 1, $2)", k > 0 ? ", " : "", k + 3);
		if (w < 0 || (size_t)w >= sizeof(sql) - off)
			return -1;
		off += (size_t)w;
	}
	w = snprintf(sql + off, sizeof(sql) - off, " ON CONFLICT DO NOTHING");
	if (w < 0 || (size_t)w >= sizeof(sql) - off)
		return -1;
	pg_p_init(&p);
	pg_p_i64(&p, *a->id);
	pg_p_i64(&p, a->t->created_us);
	for (k = 0; k < n; k++)
		pg_p_text(&p, a->agents[from + k]);
	return pg_cmd(s, sql, &p, NULL, "task host");
}

static int
pg_task_add_txn(struct pg_store *s, void *arg)
{
	struct pg_task_add *a = arg;
	const struct hub_task *t = a->t;
	struct pg_params p;
	size_t i, n;
	int found;

	/* held to the commit: tasks become visible in id order */
	if (pg_exec(s, "SELECT pg_advisory_xact_lock(" PG_LOCK_TASKS ")") ==
	    -1)
		return -1;
	pg_p_init(&p);
	pg_p_textn(&p, t->spec, t->spec_len);
	pg_p_i64(&p, t->type);
	pg_p_i64(&p, t->created_us);
	pg_p_text(&p, t->created_by);
	pg_p_i64(&p, t->expires_us);
	pg_p_text(&p, t->targets);
	if (pg_one(s, "INSERT INTO tasks (spec, type, created_us, created_by, "
	    "expires_us, targets) VALUES ($1, $2, $3, $4, $5, $6) "
	    "RETURNING id", &p, pg_row_i64, a->id, &found, "task") == -1)
		return -1;
	if (!found)
		return -1;
	for (i = 0; i < a->n; i += n) {
		n = a->n - i < PG_THOSTS_BATCH ? a->n - i : PG_THOSTS_BATCH;
		if (pg_thosts_add(s, a, i, n) == -1)
			return -1;
	}
	return 0;
}

int
pg_task_add(struct hub_store *st, const struct hub_task *t,
    const char *const *agents, size_t n, int64_t *id)
{
	struct pg_task_add a = { t, agents, n, id };

	*id = 0;
	if (t->spec_len > INT_MAX)
		return -1;
	if (pg_txn((struct pg_store *)st, pg_task_add_txn, &a) == -1) {
		*id = 0;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ read */

int
pg_task_get(struct hub_store *st, int64_t id, hub_task_fn fn, void *arg,
    int *found)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, id);
	return pg_one((struct pg_store *)st, PG_TASK_COLS "WHERE t.id = $1",
	    &p, pg_tasks_row, &cb, found, "task");
}

int
pg_task_list(struct hub_store *st, int64_t before_id, uint64_t limit,
    hub_task_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, before_id);
	if (limit == 0 || limit > (uint64_t)INT64_MAX)
		pg_p_null(&p);			/* LIMIT NULL: all */
	else
		pg_p_u64(&p, limit);
	return pg_each((struct pg_store *)st, PG_TASK_COLS "WHERE "
	    "($1::bigint = 0 OR t.id < $1::bigint) ORDER BY t.id DESC "
	    "LIMIT $2::bigint", &p, pg_tasks_row, &cb, "tasks");
}

/*
 * Two index lookups, as in SQLite: the id range, and the partial index
 * of cancelled tasks for those at or below it (so no row comes twice).
 */
int
pg_task_scan(struct hub_store *st, int64_t after_id, int64_t cancelled_after,
    hub_task_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, after_id);
	pg_p_i64(&p, cancelled_after);
	return pg_each((struct pg_store *)st, PG_TASK_COLS "WHERE t.id > "
	    "$1::bigint UNION ALL " PG_TASK_COLS "WHERE t.cancelled_us > "
	    "$2::bigint AND t.id <= $1::bigint ORDER BY 1", &p, pg_tasks_row,
	    &cb, "tasks");
}

static int
pg_thosts_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_task_host h;

	pg_thost_fill(r, i, 0, &h);
	pg_str(r, i, 8, h.host_name, sizeof(h.host_name));
	return ((hub_task_host_fn)cb->fn)(cb->arg, &h);
}

/* By agent id in byte order (COLLATE "C"), as SQLite's BINARY sorts,
 * whatever the database's collation. */
int
pg_task_hosts(struct hub_store *st, int64_t task_id, hub_task_host_fn fn,
    void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, task_id);
	return pg_each((struct pg_store *)st, "SELECT " PG_THOST_COLS ", "
	    "o.host_name FROM task_hosts h LEFT JOIN hosts o ON o.agent_id = "
	    "h.agent_id WHERE h.task_id = $1 ORDER BY h.agent_id COLLATE \"C\"",
	    &p, pg_thosts_row, &cb, "task hosts");
}

static int
pg_count_row(const PGresult *r, int i, void *arg)
{
	uint64_t *counts = arg;
	int state = pg_int(r, i, 0);

	if (state > 0 && state < PK_TS_NSTATES)
		counts[state] = pg_u64(r, i, 1);
	return 0;
}

int
pg_task_counts(struct hub_store *st, int64_t task_id, uint64_t *counts)
{
	struct pg_params p;

	memset(counts, 0, PK_TS_NSTATES * sizeof(*counts));
	pg_p_init(&p);
	pg_p_i64(&p, task_id);
	return pg_each((struct pg_store *)st, "SELECT state, count(*) FROM "
	    "task_hosts WHERE task_id = $1 GROUP BY state", &p, pg_count_row,
	    counts, "task counts");
}

static int
pg_thost_one(const PGresult *r, int i, void *arg)
{
	pg_thost_fill(r, i, 0, arg);
	return 0;
}

int
pg_task_host_get(struct hub_store *st, int64_t task_id, const char *agent_id,
    struct hub_task_host *h, int *found)
{
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, task_id);
	pg_p_text(&p, agent_id);
	return pg_one((struct pg_store *)st, "SELECT " PG_THOST_COLS " FROM "
	    "task_hosts h WHERE h.task_id = $1 AND h.agent_id = $2", &p,
	    pg_thost_one, h, found, "task host");
}

int
pg_task_host_put(struct hub_store *st, const struct hub_task_host *h)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;

	if (h->bytes > (uint64_t)INT64_MAX ||
	    h->final_bytes > (uint64_t)INT64_MAX ||
	    h->rows > (uint64_t)INT64_MAX)
		return -1;
	pg_settle(s);
	pg_p_init(&p);
	pg_p_i64(&p, h->state);
	pg_p_text(&p, h->reason);
	pg_p_i64(&p, h->updated_us);
	pg_p_u64(&p, h->bytes);
	pg_p_u64(&p, h->final_bytes);
	pg_p_u64(&p, h->rows);
	pg_p_i64(&p, h->task_id);
	pg_p_text(&p, h->agent_id);
	return pg_cmd(s, "UPDATE task_hosts SET state = $1, reason = $2, "
	    "updated_us = $3, bytes = $4, final_bytes = $5, rows = $6 WHERE "
	    "task_id = $7 AND agent_id = $8", &p, NULL, "task host");
}

/* One agent's tasks not final on it (queued 1, sent 2, running 3). */
int
pg_task_open_for(struct hub_store *st, const char *agent_id,
    hub_task_pair_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_text(&p, agent_id);
	return pg_each((struct pg_store *)st, PG_TASK_COLS_H " JOIN task_hosts "
	    "h ON h.task_id = t.id WHERE h.agent_id = $1 AND h.state <= 3 "
	    "ORDER BY t.id", &p, pg_pairs_row, &cb, "open tasks");
}

/*
 * By task, then agent id in byte order: SQLite walks tasks by id and
 * each task's hosts through the (task_id, agent_id) key.
 */
int
pg_task_expiring(struct hub_store *st, int64_t now_us, hub_task_pair_fn fn,
    void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, now_us);
	return pg_each((struct pg_store *)st, PG_TASK_COLS_H " JOIN task_hosts "
	    "h ON h.task_id = t.id WHERE h.state <= 2 AND t.expires_us <= $1 "
	    "ORDER BY t.id, h.agent_id COLLATE \"C\"", &p, pg_pairs_row, &cb,
	    "expiring tasks");
}

/* ------------------------------------------------------------ cancel */

struct pg_task_cancel {
	int64_t		 id;
	int64_t		 now_us;
	const char	*reason;
	int		*found;
	uint64_t	*changed;
};

static int
pg_task_cancel_txn(struct pg_store *s, void *arg)
{
	struct pg_task_cancel *c = arg;
	struct pg_params p;
	uint64_t n;

	pg_p_init(&p);
	pg_p_i64(&p, c->now_us);
	pg_p_i64(&p, c->id);
	if (pg_cmd(s, "UPDATE tasks SET cancelled_us = $1 WHERE id = $2", &p,
	    &n, "cancel") == -1)
		return -1;
	*c->found = n > 0;
	pg_p_init(&p);
	pg_p_text(&p, c->reason);
	pg_p_i64(&p, c->now_us);
	pg_p_i64(&p, c->id);
	return pg_cmd(s, "UPDATE task_hosts SET state = 8, reason = $1, "
	    "updated_us = $2 WHERE task_id = $3 AND state <= 3", &p,
	    c->changed, "cancel");
}

int
pg_task_cancel(struct hub_store *st, int64_t id, int64_t now_us,
    const char *reason, int *found, uint64_t *changed)
{
	struct pg_task_cancel c = { id, now_us, reason, found, changed };

	*found = 0;
	*changed = 0;
	if (pg_txn((struct pg_store *)st, pg_task_cancel_txn, &c) == -1) {
		*found = 0;
		*changed = 0;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ quota */

static int
pg_u64_row(const PGresult *r, int i, void *arg)
{
	*(uint64_t *)arg = pg_u64(r, i, 0);
	return 0;
}

int
pg_task_bytes_total(struct hub_store *st, uint64_t *bytes)
{
	int found;

	*bytes = 0;
	/* sum(bigint) is numeric: back to bigint, an overflow fails */
	return pg_one((struct pg_store *)st, "SELECT coalesce(sum(bytes), 0)"
	    "::bigint FROM task_hosts", NULL, pg_u64_row, bytes, &found,
	    "task bytes");
}
