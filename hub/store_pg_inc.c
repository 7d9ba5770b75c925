/*
 * store_pg_inc.c - the PostgreSQL backend's incidents (schema 5) and
 * peers (schema 6 and 9): the store.h operations incident_* / inc_* and
 * peer_*, each the twin of the sq_ function of the same name in
 * hub/store_sqlite.c (same rows, order, limits and results).  Only the
 * ops table in hub/store_pg.c calls these; they are built from the
 * helpers in hub/store_pg.h.
 */
#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "hub/store.h"
#include "hub/store_pg.h"

/* A caller's callback and its argument, for the row functions. */


static const char *
pgi_or_empty(const char *v)
{
	return v != NULL ? v : "";
}

/* ------------------------------------------------------------ incidents */

#define PGI_INC_COLS "SELECT id, state, title, owner, created_by, lessons, " \
	"coalesce(report, ''), created_us, since_us, " \
	"coalesce(contained_us, 0), coalesce(closed_us, 0)"

/* Columns 0..10 of PGI_INC_COLS (and the list's link count, 11); the
 * text stays the result's, which outlives the callback. */
static int
pgi_inc_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_incident inc;

	memset(&inc, 0, sizeof(inc));
	inc.id = pg_i64(r, i, 0);
	inc.state = pg_int(r, i, 1);
	inc.title = PQgetvalue(r, i, 2);
	inc.owner = PQgetvalue(r, i, 3);
	inc.created_by = PQgetvalue(r, i, 4);
	inc.lessons = PQgetvalue(r, i, 5);
	inc.report = PQgetvalue(r, i, 6);
	inc.created_us = pg_i64(r, i, 7);
	inc.since_us = pg_i64(r, i, 8);
	inc.contained_us = pg_i64(r, i, 9);
	inc.closed_us = pg_i64(r, i, 10);
	if (PQnfields(r) > 11)
		inc.links = pg_u64(r, i, 11);
	return ((hub_incident_fn)cb->fn)(cb->arg, &inc);
}


int
pg_incident_add(struct hub_store *st, const struct hub_incident *i,
    int64_t *id)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	int found;

	*id = 0;
	pg_settle(s);
	pg_p_init(&p);
	pg_p_text(&p, i->title);
	pg_p_i64(&p, i->state);
	pg_p_text(&p, pgi_or_empty(i->owner));
	pg_p_i64(&p, i->created_us);
	pg_p_text(&p, pgi_or_empty(i->created_by));
	pg_p_i64(&p, i->since_us);
	if (pg_one(s, "INSERT INTO incidents (title, state, owner, "
	    "created_us, created_by, since_us) VALUES ($1, $2, $3, $4, $5, "
	    "$6) RETURNING id", &p, pg_row_i64, id, &found,
	    "incident") == -1)
		return -1;
	return found ? 0 : -1;
}

int
pg_incident_get(struct hub_store *st, int64_t id, hub_incident_fn fn,
    void *arg, int *found)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, id);
	return pg_one((struct pg_store *)st, PGI_INC_COLS " FROM incidents "
	    "WHERE id = $1", &p, pgi_inc_row, &cb, found, "incident");
}

int
pg_incident_list(struct hub_store *st, int64_t before_id, uint64_t limit,
    int state, hub_incident_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, before_id);
	pg_p_i64(&p, state);
	pg_p_limit(&p, limit);
	/* The list never carries the reports: they can be large.  The
	 * casts keep $1 and $2 BIGINT (a bare "$1 = 0" would be int4). */
	return pg_each((struct pg_store *)st, "SELECT id, state, title, "
	    "owner, created_by, lessons, ''::text, created_us, since_us, "
	    "coalesce(contained_us, 0), coalesce(closed_us, 0), "
	    "(SELECT count(*) FROM incident_links l WHERE l.incident_id = "
	    "i.id) FROM incidents i WHERE ($1::bigint = 0 OR id < "
	    "$1::bigint) AND ($2::bigint < 0 OR state = $2::bigint) "
	    "ORDER BY id DESC LIMIT $3::bigint", &p, pgi_inc_row, &cb,
	    "incidents");
}

int
pg_incident_put(struct hub_store *st, const struct hub_incident *i,
    int *found)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	uint64_t n;

	*found = 0;
	pg_settle(s);
	pg_p_init(&p);
	pg_p_text(&p, i->title);
	pg_p_i64(&p, i->state);
	pg_p_text(&p, pgi_or_empty(i->owner));
	pg_p_text(&p, pgi_or_empty(i->lessons));
	pg_p_i64(&p, i->contained_us);
	pg_p_i64(&p, i->closed_us);
	pg_p_text(&p, pgi_or_empty(i->report));
	pg_p_i64(&p, i->id);
	if (pg_cmd(s, "UPDATE incidents SET title = $1, state = $2, "
	    "owner = $3, lessons = $4, contained_us = nullif($5::bigint, 0), "
	    "closed_us = nullif($6::bigint, 0), report = nullif($7::text, "
	    "'') WHERE id = $8", &p, &n, "incident") == -1)
		return -1;
	*found = n > 0;
	return 0;
}

/*
 * The key (incident_id, kind, value) makes a repeat change nothing.  A
 * repeat still takes a number from the seq sequence; only the order of
 * the numbers matters (inc_links).
 */
int
pg_inc_link_add(struct hub_store *st, const struct hub_inc_link_row *l,
    int *dup)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	uint64_t n;

	*dup = 0;
	pg_settle(s);
	pg_p_init(&p);
	pg_p_i64(&p, l->incident_id);
	pg_p_i64(&p, l->kind);
	pg_p_text(&p, l->value);
	pg_p_i64(&p, l->added_us);
	pg_p_text(&p, l->added_by);
	if (pg_cmd(s, "INSERT INTO incident_links (incident_id, kind, value, "
	    "added_us, added_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO "
	    "NOTHING", &p, &n, "incident link") == -1)
		return -1;
	*dup = n == 0;
	return 0;
}

static int
pgi_link_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_inc_link_row l;

	memset(&l, 0, sizeof(l));
	l.incident_id = pg_i64(r, i, 0);
	l.kind = pg_int(r, i, 1);
	l.value = PQgetvalue(r, i, 2);
	l.added_us = pg_i64(r, i, 3);
	pg_str(r, i, 4, l.added_by, sizeof(l.added_by));
	return ((hub_inc_link_fn)cb->fn)(cb->arg, &l);
}

/* seq stands for SQLite's rowid: the order the links were added. */
int
pg_inc_links(struct hub_store *st, int64_t id, uint64_t limit,
    hub_inc_link_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, id);
	pg_p_limit(&p, limit);
	return pg_each((struct pg_store *)st, "SELECT incident_id, kind, "
	    "value, added_us, added_by FROM incident_links WHERE "
	    "incident_id = $1 ORDER BY seq LIMIT $2::bigint", &p,
	    pgi_link_row, &cb, "incident links");
}

int
pg_inc_event_add(struct hub_store *st, const struct hub_inc_event *e)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;

	pg_settle(s);
	pg_p_init(&p);
	pg_p_i64(&p, e->incident_id);
	pg_p_i64(&p, e->ts_us);
	pg_p_text(&p, e->kind);
	pg_p_text(&p, e->actor);
	pg_p_text(&p, pgi_or_empty(e->text));
	return pg_cmd(s, "INSERT INTO incident_events (incident_id, ts_us, "
	    "kind, actor, text) VALUES ($1, $2, $3, $4, $5)", &p, NULL,
	    "incident event");
}

static int
pgi_event_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_inc_event e;

	memset(&e, 0, sizeof(e));
	e.id = pg_i64(r, i, 0);
	e.incident_id = pg_i64(r, i, 1);
	e.ts_us = pg_i64(r, i, 2);
	pg_str(r, i, 3, e.kind, sizeof(e.kind));
	pg_str(r, i, 4, e.actor, sizeof(e.actor));
	e.text = PQgetvalue(r, i, 5);
	return ((hub_inc_event_fn)cb->fn)(cb->arg, &e);
}

int
pg_inc_events(struct hub_store *st, int64_t id, uint64_t limit,
    hub_inc_event_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, id);
	pg_p_limit(&p, limit);
	return pg_each((struct pg_store *)st, "SELECT id, incident_id, "
	    "ts_us, kind, actor, text FROM incident_events WHERE "
	    "incident_id = $1 ORDER BY ts_us, id LIMIT $2::bigint", &p,
	    pgi_event_row, &cb, "incident events");
}

struct pgi_counts {
	uint64_t	*links;
	uint64_t	*events;
};

static int
pgi_counts_row(const PGresult *r, int i, void *arg)
{
	struct pgi_counts *c = arg;

	*c->links = pg_u64(r, i, 0);
	*c->events = pg_u64(r, i, 1);
	return 0;
}

int
pg_inc_counts(struct hub_store *st, int64_t id, uint64_t *links,
    uint64_t *events)
{
	struct pgi_counts c = { links, events };
	struct pg_params p;
	int found;

	*links = *events = 0;
	pg_p_init(&p);
	pg_p_i64(&p, id);
	if (pg_one((struct pg_store *)st, "SELECT (SELECT count(*) FROM "
	    "incident_links WHERE incident_id = $1::bigint), (SELECT count(*) "
	    "FROM incident_events WHERE incident_id = $1::bigint)", &p,
	    pgi_counts_row, &c, &found, "incident counts") == -1)
		return -1;
	return found ? 0 : -1;
}

/* ------------------------------------------------------------ peering
 *
 * Counters are BIGINT: values above INT64_MAX are refused, as in SQLite.
 * The CA is text kept as given (PEM), bound with its length.
 */

#define PGI_PEER_COLS "SELECT name, url, ca_pem, ca_sha256, enabled, " \
	"send_tlp, send_min_severity, send_kinds, accept_tlp, auto_approve, " \
	"created_us, cursor_rowid, send_seq, last_push_us, last_error, " \
	"bundles_sent, indicators_sent, recv_seq, bundles_received, " \
	"indicators_received, objects_refused, send_excerpts FROM peers "

/* Columns of PGI_PEER_COLS; ca_pem stays the result's. */
static int
pgi_peer_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_peer p;

	memset(&p, 0, sizeof(p));
	pg_str(r, i, 0, p.name, sizeof(p.name));
	pg_str(r, i, 1, p.url, sizeof(p.url));
	p.ca_pem = PQgetvalue(r, i, 2);
	p.ca_len = (size_t)PQgetlength(r, i, 2);
	pg_str(r, i, 3, p.ca_sha256, sizeof(p.ca_sha256));
	p.enabled = pg_int(r, i, 4);
	p.send_tlp = pg_int(r, i, 5);
	p.send_min_severity = pg_int(r, i, 6);
	/* as SQLite's column_int: the low 32 bits */
	p.send_kinds = (unsigned)pg_i64(r, i, 7);
	p.accept_tlp = pg_int(r, i, 8);
	p.auto_approve = pg_int(r, i, 9);
	p.created_us = pg_i64(r, i, 10);
	p.cursor_rowid = pg_i64(r, i, 11);
	p.send_seq = pg_u64(r, i, 12);
	p.last_push_us = pg_i64(r, i, 13);
	pg_str(r, i, 14, p.last_error, sizeof(p.last_error));
	p.bundles_sent = pg_u64(r, i, 15);
	p.indicators_sent = pg_u64(r, i, 16);
	p.recv_seq = pg_u64(r, i, 17);
	p.bundles_received = pg_u64(r, i, 18);
	p.indicators_received = pg_u64(r, i, 19);
	p.objects_refused = pg_u64(r, i, 20);
	p.send_excerpts = pg_int(r, i, 21);
	return ((hub_peer_fn)cb->fn)(cb->arg, &p);
}

/* A text value of len bytes that PostgreSQL's text can hold (no NUL). */
static int
pgi_text_ok(const char *v, size_t len)
{
	return len <= INT32_MAX && memchr(v, '\0', len) == NULL;
}

int
pg_peer_add(struct hub_store *st, const struct hub_peer *p, int *dup)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params q;
	uint64_t n;

	*dup = 0;
	if (p->ca_pem == NULL || !pgi_text_ok(p->ca_pem, p->ca_len))
		return -1;
	pg_settle(s);
	pg_p_init(&q);
	pg_p_text(&q, p->name);
	pg_p_text(&q, p->url);
	pg_p_textn(&q, p->ca_pem, p->ca_len);
	pg_p_text(&q, p->ca_sha256);
	pg_p_i64(&q, p->enabled != 0);
	pg_p_i64(&q, p->send_tlp);
	pg_p_i64(&q, p->send_min_severity);
	pg_p_i64(&q, (int64_t)p->send_kinds);
	pg_p_i64(&q, p->accept_tlp);
	pg_p_i64(&q, p->auto_approve != 0);
	pg_p_i64(&q, p->created_us);
	pg_p_i64(&q, p->send_excerpts != 0);
	/* the name is the key: a second one stores nothing */
	if (pg_cmd(s, "INSERT INTO peers (name, url, ca_pem, ca_sha256, "
	    "enabled, send_tlp, send_min_severity, send_kinds, accept_tlp, "
	    "auto_approve, created_us, send_excerpts) VALUES ($1, $2, $3, $4, "
	    "$5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (name) DO NOTHING",
	    &q, &n, "peer") == -1)
		return -1;
	*dup = n == 0;
	return 0;
}

int
pg_peer_get(struct hub_store *st, const char *name, hub_peer_fn fn,
    void *arg, int *found)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_text(&p, name);
	return pg_one((struct pg_store *)st, PGI_PEER_COLS "WHERE name = $1",
	    &p, pgi_peer_row, &cb, found, "peer");
}

/* By name as bytes (COLLATE "C"), the order SQLite's BINARY gives. */
int
pg_peer_list(struct hub_store *st, hub_peer_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };

	return pg_each((struct pg_store *)st, PGI_PEER_COLS "ORDER BY name "
	    "COLLATE \"C\"", NULL, pgi_peer_row, &cb, "peers");
}

int
pg_peer_update(struct hub_store *st, const struct hub_peer *p, int *found)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params q;
	uint64_t n;

	*found = 0;
	if (p->ca_pem != NULL && !pgi_text_ok(p->ca_pem, p->ca_len))
		return -1;
	pg_settle(s);
	pg_p_init(&q);
	pg_p_text(&q, p->url);
	/* $2 and $3 NULL keep the CA and its hash */
	if (p->ca_pem != NULL) {
		pg_p_textn(&q, p->ca_pem, p->ca_len);
		pg_p_text(&q, p->ca_sha256);
	} else {
		pg_p_null(&q);
		pg_p_null(&q);
	}
	pg_p_i64(&q, p->enabled != 0);
	pg_p_i64(&q, p->send_tlp);
	pg_p_i64(&q, p->send_min_severity);
	pg_p_i64(&q, (int64_t)p->send_kinds);
	pg_p_i64(&q, p->accept_tlp);
	pg_p_i64(&q, p->auto_approve != 0);
	pg_p_text(&q, p->name);
	pg_p_i64(&q, p->send_excerpts != 0);
	if (pg_cmd(s, "UPDATE peers SET url = $1, ca_pem = coalesce($2::text, "
	    "ca_pem), ca_sha256 = coalesce($3::text, ca_sha256), enabled = $4, "
	    "send_tlp = $5, send_min_severity = $6, send_kinds = $7, "
	    "accept_tlp = $8, auto_approve = $9, send_excerpts = $11 "
	    "WHERE name = $10", &q, &n, "peer") == -1)
		return -1;
	*found = n > 0;
	return 0;
}

int
pg_peer_remove(struct hub_store *st, const char *name, int *found)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	uint64_t n;

	*found = 0;
	pg_settle(s);
	pg_p_init(&p);
	pg_p_text(&p, name);
	if (pg_cmd(s, "DELETE FROM peers WHERE name = $1", &p, &n,
	    "peer") == -1)
		return -1;
	*found = n > 0;
	return 0;
}

/*
 * The cursor never moves back (GREATEST): a late answer to an older push
 * cannot make rows go twice.  The sequence is written as given: the
 * pusher owns it.
 */
int
pg_peer_sent(struct hub_store *st, const char *name, int64_t cursor_rowid,
    uint64_t next_seq, uint64_t n, int64_t now_us)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;

	if (next_seq > (uint64_t)INT64_MAX || n > (uint64_t)INT64_MAX)
		return -1;
	pg_settle(s);
	pg_p_init(&p);
	pg_p_i64(&p, cursor_rowid);
	pg_p_u64(&p, next_seq);
	pg_p_i64(&p, now_us);
	pg_p_u64(&p, n);
	pg_p_text(&p, name);
	return pg_cmd(s, "UPDATE peers SET cursor_rowid = GREATEST("
	    "cursor_rowid, $1), send_seq = $2, last_push_us = $3, "
	    "last_error = '', bundles_sent = bundles_sent + 1, "
	    "indicators_sent = indicators_sent + $4 WHERE name = $5", &p,
	    NULL, "peer sent");
}

int
pg_peer_cursor(struct hub_store *st, const char *name, int64_t cursor_rowid)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;

	pg_settle(s);
	pg_p_init(&p);
	pg_p_i64(&p, cursor_rowid);
	pg_p_text(&p, name);
	return pg_cmd(s, "UPDATE peers SET cursor_rowid = GREATEST("
	    "cursor_rowid, $1) WHERE name = $2", &p, NULL, "peer cursor");
}

/*
 * Cut at HUB_PEER_ERR_MAX bytes, as the struct holds.  PostgreSQL refuses
 * text that is not UTF-8, so the cut steps back over a character it
 * would split (SQLite would keep the broken tail).
 */
static size_t
pgi_error_len(const char *error)
{
	size_t n, k;

	n = strnlen(error, HUB_PEER_ERR_MAX);
	if (n < HUB_PEER_ERR_MAX || error[n] == '\0')
		return n;
	/* the cut is inside a character when error[n] continues one */
	if (((unsigned char)error[n] & 0xc0) != 0x80)
		return n;
	for (k = 0; k < 4 && k < n; k++)
		if (((unsigned char)error[n - 1 - k] & 0xc0) != 0x80)
			return n - 1 - k;	/* drop the split lead byte */
	return n;
}

int
pg_peer_error(struct hub_store *st, const char *name, const char *error)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;

	if (error == NULL)
		error = "";
	pg_settle(s);
	pg_p_init(&p);
	pg_p_textn(&p, error, pgi_error_len(error));
	pg_p_text(&p, name);
	return pg_cmd(s, "UPDATE peers SET last_error = $1 WHERE name = $2",
	    &p, NULL, "peer error");
}

int
pg_peer_received(struct hub_store *st, const char *name, uint64_t seq,
    uint64_t n, uint64_t refused)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;

	if (seq > (uint64_t)INT64_MAX || n > (uint64_t)INT64_MAX ||
	    refused > (uint64_t)INT64_MAX)
		return -1;
	pg_settle(s);
	pg_p_init(&p);
	pg_p_u64(&p, seq);
	pg_p_u64(&p, n);
	pg_p_u64(&p, refused);
	pg_p_text(&p, name);
	return pg_cmd(s, "UPDATE peers SET recv_seq = $1, bundles_received = "
	    "bundles_received + 1, indicators_received = indicators_received "
	    "+ $2, objects_refused = objects_refused + $3 WHERE name = $4",
	    &p, NULL, "peer received");
}
