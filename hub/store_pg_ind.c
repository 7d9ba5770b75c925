/*
 * store_pg_ind.c - the PostgreSQL backend's reads of hosts and
 * indicators (hub/store.h): one host, every host, a host's rules, the
 * UI's query, the API's filtered and paginated list, one indicator, the
 * alerts of a window (outbreaks, incidents), the peering cursor, the
 * hosts that reported something (task targets) and the database's size.
 * Each operation returns the rows, in the order, that its SQLite twin in
 * hub/store_sqlite.c returns.  Called only through the hub_store_pg ops
 * table (hub/store_pg.c).
 *
 * SQLite compares text byte by byte and its lower() and NOCASE fold only
 * ASCII letters.  PostgreSQL uses the database's collation, which may be
 * a language's (en_US: "a1" < "B0"), so every text comparison that
 * decides an order or a match says COLLATE "C", which is SQLite's
 * behaviour whatever the database was created with.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "hub/store.h"
#include "hub/store_pg.h"

/* Room for the longest statement built here (pg_find's). */
#define PG_SQL_MAX	2048

/* The host columns, in the order pg_host_row reads them. */
#define PG_HOST_COLS	"agent_id, host_name, first_seen_us, " \
	"last_seen_us, last_seq, dropped, rejected"

/* A caller's callback and its argument, passed through pg_each. */

/*
 * A statement built from fixed pieces: only placeholders ($n) are
 * numbered into the text, values go in through pg_params.  PostgreSQL
 * must see every parameter it is given, so a filter that is absent
 * takes no number (SQLite could bind ?5 and leave ?4 out).
 */
struct pg_sql {
	char	 text[PG_SQL_MAX];
	size_t	 len;
	int	 bad;		/* did not fit: do not run */
};

static void	pg_sql_add(struct pg_sql *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
pg_sql_add(struct pg_sql *q, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (q->bad)
		return;
	va_start(ap, fmt);
	n = vsnprintf(q->text + q->len, sizeof(q->text) - q->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(q->text) - q->len) {
		q->bad = 1;
		return;
	}
	q->len += (size_t)n;
}



/*
 * A host filter: the agent id itself, or every agent whose host has that
 * name.  The ids are looked up first and the filter is a plain
 * agent_id IN (...), which the (agent_id, ts_us) index answers; written
 * as "agent_id = $n OR agent_id IN (SELECT ...)" the planner walks every
 * partition's ts_us index instead (12.6 s for a host with 1,000 of 14
 * million rows, 83 ms this way; tests/bench/pg_scale.py).  Over
 * PG_HOST_IDS agents of one name, the subquery form again.
 */
#define PG_HOST_IDS	8

struct pg_hids {
	char	 id[PG_HOST_IDS][HUB_ID_MAX + 1];
	size_t	 n;
	int	 over;
};

static int
pg_hid_row(const PGresult *r, int i, void *arg)
{
	struct pg_hids *h = arg;

	if (h->n == PG_HOST_IDS) {
		h->over = 1;
		return 1;
	}
	pg_str(r, i, 0, h->id[h->n++], sizeof(h->id[0]));
	return 0;
}

static int
pg_host_filter(struct pg_store *s, struct pg_sql *q, struct pg_params *p,
    const char *host, struct pg_hids *h)
{
	struct pg_params hp;
	size_t i;

	memset(h, 0, sizeof(*h));
	pg_p_init(&hp);
	pg_p_text(&hp, host);
	pg_p_i64(&hp, PG_HOST_IDS + 1);
	if (pg_each(s, "SELECT DISTINCT agent_id FROM hosts WHERE "
	    "host_name = $1 AND agent_id <> $1 LIMIT $2", &hp, pg_hid_row, h,
	    "host") == -1)
		return -1;
	pg_p_text(p, host);
	if (h->over) {
		pg_sql_add(q, " AND (agent_id = $%d OR agent_id IN (SELECT "
		    "agent_id FROM hosts WHERE host_name = $%d))", p->n, p->n);
		return 0;
	}
	pg_sql_add(q, " AND agent_id IN ($%d", p->n);
	for (i = 0; i < h->n; i++) {
		pg_p_text(p, h->id[i]);
		pg_sql_add(q, ", $%d", p->n);
	}
	pg_sql_add(q, ")");
	return 0;
}

/* ------------------------------------------------------------ hosts */

static void
pg_host_row(const PGresult *r, int i, struct hub_host *h)
{
	memset(h, 0, sizeof(*h));
	pg_str(r, i, 0, h->agent_id, sizeof(h->agent_id));
	pg_str(r, i, 1, h->host_name, sizeof(h->host_name));
	h->first_seen_us = pg_i64(r, i, 2);
	h->last_seen_us = pg_i64(r, i, 3);
	h->last_seq = pg_u64(r, i, 4);
	h->dropped = pg_u64(r, i, 5);
	h->rejected = pg_u64(r, i, 6);
}

static int
pg_host_one(const PGresult *r, int i, void *arg)
{
	pg_host_row(r, i, arg);
	return 0;
}

int
pg_host_get(struct hub_store *st, const char *agent_id, struct hub_host *h,
    int *found)
{
	struct pg_params p;

	memset(h, 0, sizeof(*h));
	pg_p_init(&p);
	pg_p_text(&p, agent_id);
	return pg_one((struct pg_store *)st, "SELECT " PG_HOST_COLS
	    " FROM hosts WHERE agent_id = $1", &p, pg_host_one, h, found,
	    "host");
}

static int
pg_hosts_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_host h;

	pg_host_row(r, i, &h);
	return ((hub_host_fn)cb->fn)(cb->arg, &h);
}

int
pg_hosts(struct hub_store *st, hub_host_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };

	return pg_each((struct pg_store *)st, "SELECT " PG_HOST_COLS
	    " FROM hosts ORDER BY agent_id COLLATE \"C\"", NULL, pg_hosts_row,
	    &cb, "hosts");
}

static int
pg_rules_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_rule_count rc;

	memset(&rc, 0, sizeof(rc));
	pg_str(r, i, 0, rc.rule_id, sizeof(rc.rule_id));
	pg_str(r, i, 1, rc.rule_name, sizeof(rc.rule_name));
	rc.count = pg_u64(r, i, 2);
	rc.last_ts_us = pg_i64(r, i, 3);
	return ((hub_rule_fn)cb->fn)(cb->arg, &rc);
}

int
pg_host_rules(struct hub_store *st, const char *agent_id, hub_rule_fn fn,
    void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_text(&p, agent_id);
	/* max(rule_name) by bytes, as SQLite picks it when a rule was
	 * renamed between versions */
	return pg_each((struct pg_store *)st, "SELECT rule_id, "
	    "max(rule_name COLLATE \"C\"), count(*), max(ts_us) FROM "
	    "indicators WHERE agent_id = $1 GROUP BY rule_id ORDER BY "
	    "count(*) DESC, rule_id COLLATE \"C\"", &p, pg_rules_row, &cb,
	    "host rules");
}

int
pg_agent_known(struct hub_store *st, const char *agent_id, int *found)
{
	struct pg_params p;

	pg_p_init(&p);
	pg_p_text(&p, agent_id);
	return pg_one((struct pg_store *)st, "SELECT 1 FROM hosts WHERE "
	    "agent_id = $1 UNION ALL SELECT 1 FROM agents WHERE agent_id = $1 "
	    "LIMIT 1", &p, NULL, NULL, found, "agent");
}

static int
pg_size_row(const PGresult *r, int i, void *arg)
{
	*(uint64_t *)arg = pg_u64(r, i, 0);
	return 0;
}

int
pg_size(struct hub_store *st, uint64_t *bytes)
{
	int found;

	*bytes = 0;
	return pg_one((struct pg_store *)st, "SELECT pg_database_size("
	    "current_database())", NULL, pg_size_row, bytes, &found, "size");
}

/* ------------------------------------------------------------ indicators */

static int
pg_ind_cb(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_indicator d;

	pg_ind_row(r, i, 0, &d);
	return ((hub_row_fn)cb->fn)(cb->arg, &d);
}

int
pg_query(struct hub_store *st, const struct hub_query *hq, hub_row_fn fn,
    void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;
	struct pg_sql q;
	struct pg_hids hids;

	memset(&q, 0, sizeof(q));
	pg_p_init(&p);
	pg_sql_add(&q, "SELECT " PG_IND_COLS " FROM indicators WHERE TRUE");
	if (hq->host != NULL && pg_host_filter((struct pg_store *)st, &q, &p,
	    hq->host, &hids) == -1)
		return -1;
	if (hq->since_us != 0) {
		pg_p_i64(&p, hq->since_us);
		pg_sql_add(&q, " AND ts_us >= $%d", p.n);
	}
	if (hq->kind != NULL) {
		pg_p_text(&p, hq->kind);
		pg_sql_add(&q, " AND event_kind = $%d", p.n);
	}
	if (hq->rule != NULL) {
		pg_p_text(&p, hq->rule);
		pg_sql_add(&q, " AND rule_id = $%d", p.n);
	}
	pg_p_limit(&p, hq->limit);
	pg_sql_add(&q, " ORDER BY ts_us, agent_id COLLATE \"C\", seq "
	    "LIMIT $%d::bigint", p.n);
	if (q.bad)
		return -1;
	return pg_each((struct pg_store *)st, q.text, &p, pg_ind_cb, &cb,
	    "query");
}

/*
 * The text filter: a substring of rule.name or of the JSON's message,
 * ASCII case folded (lower() under "C", as SQLite's lower()).  strpos
 * takes the user's text literally: no LIKE, so '%' and '_' are only
 * characters.  A message that is not a string is matched in its JSON
 * form, as SQLite's json_extract gives it.
 */
static void
pg_find_text(struct pg_sql *q, struct pg_params *p, const char *text)
{
	pg_p_text(p, text);
	pg_sql_add(q, " AND (strpos(lower(rule_name COLLATE \"C\"), "
	    "lower($%d::text COLLATE \"C\")) > 0 OR strpos(lower(coalesce("
	    "json::jsonb ->> 'message', '') COLLATE \"C\"), lower($%d::text "
	    "COLLATE \"C\")) > 0)", p->n, p->n);
}

/*
 * Rows strictly older than the cursor in (ts_us, agent_id, seq) order.
 * The plain ts_us bound says the same thing in a form an index on ts_us
 * can start from.
 */
static int
pg_find_after(struct pg_sql *q, struct pg_params *p,
    const struct hub_ind_filter *f)
{
	if (f->after_seq > (uint64_t)INT64_MAX)
		return -1;
	pg_p_i64(p, f->after_ts_us);
	pg_p_text(p, f->after_agent);
	pg_p_u64(p, f->after_seq);
	pg_sql_add(q, " AND ts_us <= $%d::bigint AND (ts_us, agent_id "
	    "COLLATE \"C\", seq) < ($%d::bigint, $%d::text, $%d::bigint)",
	    p->n - 2, p->n - 2, p->n - 1, p->n);
	return 0;
}

int
pg_find(struct hub_store *st, const struct hub_ind_filter *f, hub_row_fn fn,
    void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;
	struct pg_sql q;
	struct pg_hids hids;

	memset(&q, 0, sizeof(q));
	pg_p_init(&p);
	pg_sql_add(&q, "SELECT " PG_IND_COLS " FROM indicators WHERE TRUE");
	if (f->host != NULL && pg_host_filter((struct pg_store *)st, &q, &p,
	    f->host, &hids) == -1)
		return -1;
	if (f->kind != NULL) {
		pg_p_text(&p, f->kind);
		pg_sql_add(&q, " AND event_kind = $%d", p.n);
	}
	if (f->rule != NULL) {
		pg_p_text(&p, f->rule);
		pg_sql_add(&q, " AND rule_id = $%d", p.n);
	}
	if (f->text != NULL)
		pg_find_text(&q, &p, f->text);
	if (f->severity_min >= 0) {
		pg_p_i64(&p, f->severity_min);
		pg_sql_add(&q, " AND severity >= $%d", p.n);
	}
	if (f->since_us != 0) {
		pg_p_i64(&p, f->since_us);
		pg_sql_add(&q, " AND ts_us >= $%d", p.n);
	}
	if (f->until_us != 0) {
		pg_p_i64(&p, f->until_us);
		pg_sql_add(&q, " AND ts_us < $%d", p.n);
	}
	if (f->has_after && pg_find_after(&q, &p, f) == -1)
		return -1;
	pg_p_limit(&p, f->limit);
	pg_sql_add(&q, " ORDER BY ts_us DESC, agent_id COLLATE \"C\" DESC, "
	    "seq DESC LIMIT $%d::bigint", p.n);
	if (q.bad)
		return -1;
	return pg_each((struct pg_store *)st, q.text, &p, pg_ind_cb, &cb,
	    "find");
}

struct pg_found {
	struct pg_cb	 cb;
	int		*found;
};

static int
pg_ind_found(const PGresult *r, int i, void *arg)
{
	struct pg_found *f = arg;

	*f->found = 1;
	return pg_ind_cb(r, i, &f->cb);
}

int
pg_indicator_get(struct hub_store *st, const char *agent_id, uint64_t seq,
    hub_row_fn fn, void *arg, int *found)
{
	struct pg_found f = { { (void *)fn, arg }, found };
	struct pg_params p;

	*found = 0;
	if (seq > (uint64_t)INT64_MAX)
		return 0;
	pg_p_init(&p);
	pg_p_text(&p, agent_id);
	pg_p_u64(&p, seq);
	/* the unique key has ingest_us in it (one per partition), so it
	 * is pg_insert, not the database, that stores (agent_id, seq)
	 * once; LIMIT 1 keeps the contract's "fn once" regardless */
	return pg_each((struct pg_store *)st, "SELECT " PG_IND_COLS " FROM "
	    "indicators WHERE agent_id = $1 AND seq = $2 ORDER BY id LIMIT 1",
	    &p, pg_ind_found, &f, "indicator");
}

/*
 * threat.indicator.name equal to $n, ASCII case folded like SQLite's
 * NOCASE.  SQLite's json_extract gives a number or a boolean as such,
 * which never equals the text it is compared with: only a string
 * matches here too.
 */
#define PG_IOC_NAME(n) "(jsonb_typeof(json::jsonb #> " \
	"'{threat,indicator,name}') = 'string' AND lower((json::jsonb #>> " \
	"'{threat,indicator,name}') COLLATE \"C\") = lower($" n \
	"::text COLLATE \"C\"))"

int
pg_alerts(struct hub_store *st, const struct hub_alert_filter *f,
    hub_row_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;
	struct pg_sql q;

	memset(&q, 0, sizeof(q));
	pg_p_init(&p);
	pg_p_i64(&p, f->since_us);
	pg_p_i64(&p, f->until_us);
	pg_sql_add(&q, "SELECT " PG_IND_COLS " FROM indicators WHERE "
	    "event_kind = 'alert' AND ts_us >= $1 AND ts_us < $2");
	if (f->fingerprint != NULL) {
		pg_p_text(&p, f->fingerprint);
		pg_sql_add(&q, " AND fingerprint = lower($%d::text COLLATE "
		    "\"C\")", p.n);
	}
	if (f->rule != NULL) {
		pg_p_text(&p, f->rule);
		pg_sql_add(&q, " AND rule_id = $%d", p.n);
	}
	if (f->ioc_name != NULL) {
		pg_p_text(&p, f->ioc_name);
		pg_sql_add(&q, " AND " PG_IOC_NAME("%d"), p.n);
	}
	if (f->scan)
		pg_sql_add(&q, " AND (substr(rule_id, 1, 12) = 'picket.scan.' "
		    "OR rule_id = 'picket.process.scan')");
	/* the agents' array goes in as one JSON text: no limit on the
	 * number of ids, and none is spliced into the SQL */
	if (f->agents != NULL) {
		pg_p_text(&p, f->agents);
		pg_sql_add(&q, " AND agent_id IN (SELECT "
		    "jsonb_array_elements_text($%d::jsonb))", p.n);
	}
	pg_p_limit(&p, f->limit);
	pg_sql_add(&q, " ORDER BY ts_us, agent_id COLLATE \"C\", seq "
	    "LIMIT $%d::bigint", p.n);
	if (q.bad)
		return -1;
	return pg_each((struct pg_store *)st, q.text, &p, pg_ind_cb, &cb,
	    "alerts");
}

static int
pg_rowid_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_indicator d;

	pg_ind_row(r, i, 0, &d);
	return ((hub_rowid_fn)cb->fn)(cb->arg, pg_i64(r, i, 21), &d);
}

/*
 * The row id is indicators.id (BIGSERIAL), which a peer's cursor holds.
 * Several hubs insert at once, each in its own transaction, and an id is
 * taken when a row is inserted, not when it commits: hub A may commit id
 * 101 while hub B's id 100 is still uncommitted.  A cursor that moved to
 * 101 would never send 100.  So only rows ingested at least 10 seconds
 * before the database's clock are read: by then every transaction that
 * took a lower id has committed or rolled back (groups commit in well
 * under a second).  This assumes the hubs' clocks, which set ingest_us,
 * are within a few seconds of the database's; clock_timestamp(), not
 * now(), because a transaction's now() stands still.  The cost is that
 * an alert reaches the peers 10 seconds later.
 *
 * The open group is committed first, as in SQLite: a cursor must not
 * move past rows that may still be rolled back.
 */
int
pg_alerts_after(struct hub_store *st, int64_t after_rowid, uint64_t limit,
    hub_rowid_fn fn, void *arg)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_settle(s);
	pg_p_init(&p);
	pg_p_i64(&p, after_rowid);
	pg_p_limit(&p, limit);
	return pg_each(s, "SELECT " PG_IND_COLS ", id FROM indicators WHERE "
	    "id > $1 AND event_kind = 'alert' AND ingest_us <= (extract(epoch "
	    "FROM clock_timestamp()) * 1000000)::bigint - 10000000 "
	    "ORDER BY id LIMIT $2::bigint", &p, pg_rowid_row, &cb,
	    "alerts after");
}

/* ------------------------------------------------------------ tasks */

static int
pg_agent_id_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;

	if (pg_null(r, i, 0))
		return 0;
	return ((hub_id_fn)cb->fn)(cb->arg, PQgetvalue(r, i, 0));
}

/*
 * ORDER BY gives the ids in one order on every run: SQLite's DISTINCT
 * leaves it open, and hub/task_create.c sorts them anyway.
 */
int
pg_task_reported(struct hub_store *st, int what, const char *value,
    int64_t since_us, hub_id_fn fn, void *arg)
{
	static const char *const sql[] = {
		[HUB_REPORTED_RULE] = "SELECT DISTINCT agent_id COLLATE \"C\" "
		    "FROM indicators WHERE rule_id = $1 AND ts_us >= $2 "
		    "ORDER BY 1",
		[HUB_REPORTED_FINGERPRINT] = "SELECT DISTINCT agent_id "
		    "COLLATE \"C\" FROM indicators WHERE fingerprint = "
		    "lower($1::text COLLATE \"C\") AND ts_us >= $2 ORDER BY 1",
		/* no column for it: the JSON of the period's rows */
		[HUB_REPORTED_IOC] = "SELECT DISTINCT agent_id COLLATE \"C\" "
		    "FROM indicators WHERE ts_us >= $2 AND " PG_IOC_NAME("1")
		    " ORDER BY 1",
	};
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	if (what < 0 || what > HUB_REPORTED_IOC)
		return -1;
	pg_p_init(&p);
	pg_p_text(&p, value);
	pg_p_i64(&p, since_us);
	return pg_each((struct pg_store *)st, sql[what], &p, pg_agent_id_row,
	    &cb, "reported");
}
