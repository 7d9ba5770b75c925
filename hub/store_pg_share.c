/*
 * store_pg_share.c - the PostgreSQL side of peering's shared indicators
 * (what peers sent us, what we sent them) and of the agents' bundles
 * (versions, members, what each agent runs, reach and matches): the
 * pg_shared_*, pg_sent_*, pg_bundle_* and pg_agent_bundle_* entries of
 * the ops table in store_pg.c.  Each behaves as the sq_ function of the
 * same name in store_sqlite.c; only store_pg.c's ops table calls them.
 *
 * Several hubs share the database: a shared row that two hubs receive
 * at once is inserted once (ON CONFLICT, then the update), and a bundle
 * version two hubs make at once is stored once (its primary key fails
 * the second transaction whole).
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/store.h"
#include "hub/store_pg.h"

#define PG_SHARED_SEL "SELECT id, peer, origin, stix_id, kind, value, " \
	"fingerprint, rule_ids, tlp, hosts, count, first_received_us, " \
	"last_received_us, state, decided_by, decided_us, excerpt "
#define PG_SHARED_COLS PG_SHARED_SEL "FROM shared_indicators "
#define PG_SHARED_SQL_MAX	1024

/* A callback and its argument, for the row readers. */


static int
pg_i64_row(const PGresult *r, int i, void *arg)
{
	*(int64_t *)arg = pg_i64(r, i, 0);
	return 0;
}

/* ------------------------------------------------------------ shared */

static int
pg_shared_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_shared h;

	memset(&h, 0, sizeof(h));
	h.id = pg_i64(r, i, 0);
	pg_str(r, i, 1, h.peer, sizeof(h.peer));
	pg_str(r, i, 2, h.origin, sizeof(h.origin));
	pg_str(r, i, 3, h.stix_id, sizeof(h.stix_id));
	pg_str(r, i, 4, h.kind, sizeof(h.kind));
	pg_str(r, i, 5, h.value, sizeof(h.value));
	pg_str(r, i, 6, h.fingerprint, sizeof(h.fingerprint));
	pg_str(r, i, 7, h.rule_ids, sizeof(h.rule_ids));
	h.tlp = pg_int(r, i, 8);
	h.hosts = pg_u64(r, i, 9);
	h.count = pg_u64(r, i, 10);
	h.first_received_us = pg_i64(r, i, 11);
	h.last_received_us = pg_i64(r, i, 12);
	h.state = pg_int(r, i, 13);
	pg_str(r, i, 14, h.decided_by, sizeof(h.decided_by));
	h.decided_us = pg_i64(r, i, 15);
	pg_str(r, i, 16, h.excerpt, sizeof(h.excerpt));
	return ((hub_shared_fn)cb->fn)(cb->arg, &h);
}

/*
 * The values of h as parameters: for the insert every column ($1 peer,
 * $2 stix_id, $3 origin ... $14 excerpt), for the update only those it
 * writes (first_received_us and state are the row's own).
 */
static void
pg_shared_params(struct pg_params *p, const struct hub_shared *h, int insert)
{
	pg_p_init(p);
	pg_p_text(p, h->peer);
	pg_p_text(p, h->stix_id);
	pg_p_text(p, h->origin);
	pg_p_text(p, h->kind);
	pg_p_text(p, h->value);
	pg_p_text(p, h->fingerprint);
	pg_p_text(p, h->rule_ids[0] != '\0' ? h->rule_ids : "[]");
	pg_p_i64(p, h->tlp);
	pg_p_u64(p, h->hosts);
	pg_p_u64(p, h->count);
	if (insert)
		pg_p_i64(p, h->first_received_us);
	pg_p_i64(p, h->last_received_us);
	if (insert)
		pg_p_i64(p, h->state);
	pg_p_text(p, h->excerpt);
}

/*
 * The string elements of the rule_ids text as a compact JSON array that
 * PostgreSQL's jsonb accepts, or NULL for none.  Parsed here rather than
 * cast in SQL: a cast of text that is not JSON fails the statement, and
 * with it the whole transaction, where SQLite's json_valid guard gives
 * no ids.  A string holding NUL is left out (PostgreSQL's text cannot
 * hold it) and the others kept, as json_each would list them.
 */
static char *
pg_rule_json(const char *text)
{
	json_t *in, *out;
	json_error_t err;
	size_t i;
	char *s = NULL;

	if ((in = json_loads(text, JSON_ALLOW_NUL, &err)) == NULL)
		return NULL;
	if (!json_is_array(in) || (out = json_array()) == NULL) {
		json_decref(in);
		return NULL;
	}
	for (i = 0; i < json_array_size(in); i++) {
		json_t *e = json_array_get(in, i);

		if (!json_is_string(e) || strlen(json_string_value(e)) !=
		    json_string_length(e))
			continue;
		if (json_array_append(out, e) == -1)
			goto out;
	}
	if (json_array_size(out) > 0)
		s = json_dumps(out, JSON_COMPACT);
out:
	json_decref(out);
	json_decref(in);
	return s;
}

/*
 * Row id's rule ids as rows of shared_rule_ids, in place of the ones it
 * had: what a rule outbreak looks peers up by.
 */
static int
pg_shared_rules(struct pg_store *s, int64_t id, const struct hub_shared *h)
{
	struct pg_params p;
	char *ids;
	int rc;

	pg_p_init(&p);
	pg_p_i64(&p, id);
	if (pg_cmd(s, "DELETE FROM shared_rule_ids WHERE shared_id = $1", &p,
	    NULL, "shared rules") == -1)
		return -1;
	if ((ids = pg_rule_json(h->rule_ids[0] != '\0' ? h->rule_ids :
	    "[]")) == NULL)
		return 0;
	pg_p_text(&p, ids);
	rc = pg_cmd(s, "INSERT INTO shared_rule_ids (shared_id, rule_id) "
	    "SELECT $1, jsonb_array_elements_text($2::jsonb) "
	    "ON CONFLICT DO NOTHING", &p, NULL, "shared rules");
	free(ids);
	return rc;
}

struct pg_shared_put {
	const struct hub_shared	*h;
	int			*is_new;
};

#define PG_SHARED_UPDATE "UPDATE shared_indicators SET origin = $3, " \
	"kind = $4, value = $5, fingerprint = $6, rule_ids = $7, tlp = $8, " \
	"hosts = $9, count = $10, last_received_us = " \
	"GREATEST(last_received_us, $11), excerpt = $12 WHERE peer = $1 " \
	"AND stix_id = $2 RETURNING id"

/*
 * Update first, insert when there was nothing to update.  Another hub
 * may insert the same (peer, stix_id) in between: the insert then does
 * nothing and the update runs again, so the row is never new twice.
 * The state, decided_by and decided_us of an existing row are never
 * written: an analyst's decision stands.
 */
static int
pg_shared_write(struct pg_store *s, void *arg)
{
	struct pg_shared_put *sp = arg;
	struct pg_params p, u;
	int64_t id = 0;
	int found;

	pg_shared_params(&u, sp->h, 0);
	if (pg_one(s, PG_SHARED_UPDATE, &u, pg_i64_row, &id, &found,
	    "shared") == -1)
		return -1;
	if (!found) {
		pg_shared_params(&p, sp->h, 1);
		if (pg_one(s, "INSERT INTO shared_indicators (peer, stix_id, "
		    "origin, kind, value, fingerprint, rule_ids, tlp, hosts, "
		    "count, first_received_us, last_received_us, state, "
		    "excerpt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
		    "$11, $12, $13, $14) ON CONFLICT (peer, stix_id) DO "
		    "NOTHING RETURNING id", &p, pg_i64_row, &id, &found,
		    "shared") == -1)
			return -1;
		if (found)
			*sp->is_new = 1;
		else if (pg_one(s, PG_SHARED_UPDATE, &u, pg_i64_row, &id,
		    &found, "shared") == -1 || !found)
			return -1;
	}
	return pg_shared_rules(s, id, sp->h);
}

int
pg_shared_put(struct hub_store *st, const struct hub_shared *h, int *is_new)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_shared_put sp = { h, is_new };

	*is_new = 0;
	if (h->hosts > (uint64_t)INT64_MAX || h->count > (uint64_t)INT64_MAX)
		return -1;
	if (pg_txn(s, pg_shared_write, &sp) == -1) {
		*is_new = 0;
		return -1;
	}
	return 0;
}

/* A statement under construction: its text and its parameters. */
struct pg_sql {
	char			 text[PG_SHARED_SQL_MAX];
	size_t			 len;
	int			 bad;		/* did not fit */
	struct pg_params	 p;
};

/* Append pre, the number of the last parameter bound, then post. */
static void
pg_sql_add(struct pg_sql *q, const char *pre, const char *post)
{
	size_t cap = sizeof(q->text) - q->len;
	int n;

	n = snprintf(q->text + q->len, cap, "%s$%d%s", pre, q->p.n, post);
	if (n < 0 || (size_t)n >= cap) {
		q->bad = 1;
		return;
	}
	q->len += (size_t)n;
}

/*
 * Fixed text, every value bound by number, numbered in the order the
 * filters are present.  A rule id is looked up in shared_rule_ids (its
 * primary key leads with rule_id), so only the rows that list it are
 * read.  lower() under the "C" collation folds ASCII only, as SQLite's.
 */
int
pg_shared_list(struct hub_store *st, const struct hub_shared_filter *f,
    hub_shared_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_sql *q;
	int n, rc;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	pg_p_init(&q->p);
	n = snprintf(q->text, sizeof(q->text), PG_SHARED_SEL "FROM %s WHERE "
	    "TRUE", f->rule_id != NULL ? "shared_rule_ids JOIN "
	    "shared_indicators ON id = shared_id" : "shared_indicators");
	if (n < 0 || (size_t)n >= sizeof(q->text))
		q->bad = 1;
	else
		q->len = (size_t)n;
	if (f->rule_id != NULL) {
		pg_p_text(&q->p, f->rule_id);
		pg_sql_add(q, " AND rule_id = ", "");
	}
	if (f->peer != NULL) {
		pg_p_text(&q->p, f->peer);
		pg_sql_add(q, " AND peer = ", "");
	}
	if (f->state >= 0) {
		pg_p_i64(&q->p, f->state);
		pg_sql_add(q, " AND state = ", "");
	}
	if (f->kind != NULL) {
		pg_p_text(&q->p, f->kind);
		pg_sql_add(q, " AND kind = ", "");
	}
	if (f->text != NULL) {
		pg_p_text(&q->p, f->text);
		pg_sql_add(q, " AND strpos(lower(value COLLATE \"C\"), lower(",
		    "::text COLLATE \"C\")) > 0");
	}
	if (f->value != NULL) {
		pg_p_text(&q->p, f->value);
		pg_sql_add(q, " AND value = ", "");
	}
	if (f->before_id > 0) {
		pg_p_i64(&q->p, f->before_id);
		pg_sql_add(q, " AND id < ", "");
	}
	pg_p_limit(&q->p, f->limit);
	pg_sql_add(q, " ORDER BY id DESC LIMIT ", "");
	rc = q->bad ? -1 : pg_each((struct pg_store *)st, q->text, &q->p,
	    pg_shared_row, &cb, "shared");
	free(q);
	return rc;
}

int
pg_shared_get(struct hub_store *st, int64_t id, hub_shared_fn fn, void *arg,
    int *found)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, id);
	return pg_one((struct pg_store *)st, PG_SHARED_COLS "WHERE id = $1",
	    &p, pg_shared_row, &cb, found, "shared");
}

int
pg_shared_decide(struct hub_store *st, int64_t id, int state,
    const char *actor, int64_t now_us, int *found)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	uint64_t n = 0;

	*found = 0;
	if (state < HUB_SHARED_PENDING || state > HUB_SHARED_REJECTED)
		return -1;
	pg_settle(s);
	pg_p_init(&p);
	pg_p_i64(&p, state);
	pg_p_text(&p, actor != NULL ? actor : "");
	pg_p_i64(&p, now_us);
	pg_p_i64(&p, id);
	if (pg_cmd(s, "UPDATE shared_indicators SET state = $1, decided_by = "
	    "$2, decided_us = $3 WHERE id = $4", &p, &n,
	    "shared decide") == -1)
		return -1;
	*found = n > 0;
	return 0;
}

/* ------------------------------------------------------------ schema 7 */

struct pg_sent {
	const struct hub_sent_value	*v;
	size_t				 n;
};

static int
pg_sent_write(struct pg_store *s, void *arg)
{
	struct pg_sent *sv = arg;
	struct pg_params p;
	size_t i;

	for (i = 0; i < sv->n; i++) {
		const struct hub_sent_value *v = &sv->v[i];

		if (v->seq > (uint64_t)INT64_MAX)
			continue;
		pg_p_init(&p);
		pg_p_text(&p, v->peer);
		pg_p_u64(&p, v->seq);
		pg_p_text(&p, v->kind);
		pg_p_text(&p, v->value);
		pg_p_i64(&p, v->tlp);
		pg_p_i64(&p, v->sent_us);
		if (pg_cmd(s, "INSERT INTO peer_sent_values (peer, seq, kind, "
		    "value, tlp, sent_us) VALUES ($1, $2, $3, $4, $5, $6) "
		    "ON CONFLICT DO NOTHING", &p, NULL, "sent values") == -1)
			return -1;
	}
	return 0;
}

int
pg_sent_add(struct hub_store *st, const struct hub_sent_value *v, size_t n)
{
	struct pg_sent sv = { v, n };

	return pg_txn((struct pg_store *)st, pg_sent_write, &sv);
}

static int
pg_sent_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_sent_value v;

	memset(&v, 0, sizeof(v));
	pg_str(r, i, 0, v.peer, sizeof(v.peer));
	v.seq = pg_u64(r, i, 1);
	pg_str(r, i, 2, v.kind, sizeof(v.kind));
	pg_str(r, i, 3, v.value, sizeof(v.value));
	v.tlp = pg_int(r, i, 4);
	v.sent_us = pg_i64(r, i, 5);
	return ((hub_sent_fn)cb->fn)(cb->arg, &v);
}

/* Peers order as SQLite's binary collation orders them. */
int
pg_sent_list(struct hub_store *st, const char *kind, const char *value,
    uint64_t limit, hub_sent_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_text(&p, kind);
	pg_p_text(&p, value);
	pg_p_limit(&p, limit);
	return pg_each((struct pg_store *)st, "SELECT peer, seq, kind, value, "
	    "tlp, sent_us FROM peer_sent_values WHERE kind = $1 AND value = $2 "
	    "ORDER BY sent_us, peer COLLATE \"C\", seq LIMIT $3", &p,
	    pg_sent_row, &cb, "sent values");
}

/* ------------------------------------------------------------ schema 8 */

static int
pg_sig_row(const PGresult *r, int i, void *arg)
{
	struct hub_shared_sig *g = arg;

	g->count = pg_u64(r, i, 0);
	g->max_id = pg_i64(r, i, 1);
	g->max_received_us = pg_i64(r, i, 2);
	g->decided_any = pg_i64(r, i, 3);
	return 0;
}

/* What changes when the approved set may have (see sq_shared_signature):
 * each part is one index scan. */
int
pg_shared_signature(struct hub_store *st, struct hub_shared_sig *sig)
{
	int found;

	memset(sig, 0, sizeof(*sig));
	return pg_one((struct pg_store *)st, "SELECT (SELECT count(*) FROM "
	    "shared_indicators WHERE state = 1), (SELECT coalesce(max(id), 0) "
	    "FROM shared_indicators WHERE state = 1), (SELECT "
	    "coalesce(max(last_received_us), 0) FROM shared_indicators WHERE "
	    "state = 1), (SELECT coalesce(max(decided_us), 0) FROM "
	    "shared_indicators)", NULL, pg_sig_row, sig, &found,
	    "shared signature");
}

int
pg_shared_approved(struct hub_store *st, uint64_t limit, hub_shared_fn fn,
    void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_limit(&p, limit);
	return pg_each((struct pg_store *)st, PG_SHARED_COLS "WHERE state = 1 "
	    "ORDER BY first_received_us, id LIMIT $1", &p, pg_shared_row, &cb,
	    "shared approved");
}

static int
pg_bundle_insert(struct pg_store *s, const struct hub_bundle_row *b)
{
	struct pg_params p;

	if (b->version > (uint64_t)INT64_MAX || b->content_len > INT_MAX ||
	    b->entries > (uint64_t)INT64_MAX || b->bytes > (uint64_t)INT64_MAX)
		return -1;
	pg_p_init(&p);
	pg_p_u64(&p, b->version);
	pg_p_i64(&p, b->created_us);
	pg_p_text(&p, b->sha256);
	pg_p_u64(&p, b->entries);
	pg_p_u64(&p, b->bytes);
	if (b->content != NULL)
		pg_p_textn(&p, b->content, b->content_len);
	else
		pg_p_null(&p);
	return pg_cmd(s, "INSERT INTO bundles (version, created_us, sha256, "
	    "entries, bytes, content) VALUES ($1, $2, $3, $4, $5, $6)", &p,
	    NULL, "bundle add");
}

/*
 * The members in one statement: a bundle may carry tens of thousands of
 * ids, one round trip each would be slow over a network.  The ids are
 * integers, so the array literal needs no quoting.
 */
static int
pg_bundle_members_add(struct pg_store *s, uint64_t version,
    const int64_t *members, size_t n)
{
	struct pg_params p;
	char *lit;
	size_t cap, len, i;
	int k, rc;

	if (n == 0)
		return 0;
	if (n > (SIZE_MAX - 3) / 22)
		return -1;
	cap = n * 22 + 3;
	if ((lit = malloc(cap)) == NULL)
		return -1;
	lit[0] = '{';
	len = 1;
	for (i = 0; i < n; i++) {
		k = snprintf(lit + len, cap - len, "%s%" PRId64,
		    i > 0 ? "," : "", members[i]);
		if (k < 0 || (size_t)k >= cap - len) {
			free(lit);
			return -1;
		}
		len += (size_t)k;
	}
	lit[len++] = '}';
	lit[len] = '\0';
	pg_p_init(&p);
	pg_p_u64(&p, version);
	pg_p_text(&p, lit);
	rc = pg_cmd(s, "INSERT INTO bundle_members (version, shared_id) "
	    "SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING", &p,
	    NULL, "bundle members");
	free(lit);
	return rc;
}

/* DELETE sql with $1 floor and $2 the current version. */
static int
pg_trim_run(struct pg_store *s, const char *sql, int64_t floor, int64_t cur,
    uint64_t *changed)
{
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, floor);
	pg_p_i64(&p, cur);
	return pg_cmd(s, sql, &p, changed, "bundle trim");
}

/*
 * Keep the newest `keep` versions and the current one: the oldest kept
 * version is the keep-th newest; everything below it goes, members and
 * events with it (docs/schema-hub.md).
 */
static int
pg_bundle_trim(struct pg_store *s, uint64_t keep, uint64_t *dropped)
{
	struct pg_params p;
	int64_t floor = 0, cur = 0;
	int found;

	*dropped = 0;
	if (keep == 0 || keep > (uint64_t)INT64_MAX)
		return 0;
	pg_p_init(&p);
	pg_p_u64(&p, keep);
	if (pg_one(s, "SELECT coalesce(min(version), 0) FROM (SELECT version "
	    "FROM bundles ORDER BY version DESC LIMIT $1) AS t", &p,
	    pg_i64_row, &floor, &found, "bundle trim") == -1 ||
	    pg_one(s, "SELECT coalesce(max(version), 0) FROM bundles WHERE "
	    "withdrawn = 0", NULL, pg_i64_row, &cur, &found,
	    "bundle trim") == -1)
		return -1;
	if (pg_trim_run(s, "DELETE FROM bundle_members WHERE version < $1 "
	    "AND version != $2", floor, cur, NULL) == -1 ||
	    pg_trim_run(s, "DELETE FROM agent_bundle_events WHERE version < $1 "
	    "AND version != $2", floor, cur, NULL) == -1 ||
	    pg_trim_run(s, "DELETE FROM bundles WHERE version < $1 AND "
	    "version != $2", floor, cur, dropped) == -1)
		return -1;
	return 0;
}

struct pg_bundle_add {
	const struct hub_bundle_row	*b;
	const int64_t			*members;
	size_t				 n;
	uint64_t			 keep;
	uint64_t			*dropped;
};

static int
pg_bundle_write(struct pg_store *s, void *arg)
{
	struct pg_bundle_add *ba = arg;

	if (pg_bundle_insert(s, ba->b) == -1 ||
	    pg_bundle_members_add(s, ba->b->version, ba->members,
	    ba->n) == -1 ||
	    pg_bundle_trim(s, ba->keep, ba->dropped) == -1) {
		*ba->dropped = 0;
		return -1;
	}
	return 0;
}

/*
 * One transaction: a version another hub stored first fails the insert
 * on the primary key, and pg_txn rolls the whole of it back (no members,
 * no trim), so the caller sees -1 and nothing of this attempt remains.
 */
int
pg_bundle_add(struct hub_store *st, const struct hub_bundle_row *b,
    const int64_t *members, size_t n, uint64_t keep, uint64_t *dropped)
{
	struct pg_bundle_add ba = { b, members, n, keep, dropped };

	*dropped = 0;
	if (pg_txn((struct pg_store *)st, pg_bundle_write, &ba) == -1) {
		*dropped = 0;
		return -1;
	}
	return 0;
}

#define PG_BUNDLE_COLS "SELECT b.version, b.created_us, b.sha256, " \
	"b.entries, b.bytes, b.withdrawn, b.withdrawn_by, b.withdrawn_us, " \
	"(SELECT count(*) FROM agent_bundle a WHERE a.running = b.version)"

static int
pg_bundle_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_bundle_row b;

	memset(&b, 0, sizeof(b));
	b.version = pg_u64(r, i, 0);
	b.created_us = pg_i64(r, i, 1);
	pg_str(r, i, 2, b.sha256, sizeof(b.sha256));
	b.entries = pg_u64(r, i, 3);
	b.bytes = pg_u64(r, i, 4);
	b.withdrawn = pg_int(r, i, 5);
	pg_str(r, i, 6, b.withdrawn_by, sizeof(b.withdrawn_by));
	b.withdrawn_us = pg_i64(r, i, 7);
	b.hosts_running = pg_u64(r, i, 8);
	if (PQnfields(r) > 9) {
		b.content = PQgetvalue(r, i, 9);
		b.content_len = (size_t)PQgetlength(r, i, 9);
	}
	return ((hub_bundle_fn)cb->fn)(cb->arg, &b);
}

int
pg_bundle_get(struct hub_store *st, uint64_t version, hub_bundle_fn fn,
    void *arg, int *found)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	*found = 0;
	if (version > (uint64_t)INT64_MAX)
		return 0;
	pg_p_init(&p);
	pg_p_u64(&p, version);
	return pg_one((struct pg_store *)st, PG_BUNDLE_COLS ", b.content FROM "
	    "bundles b WHERE b.version = $1", &p, pg_bundle_row, &cb, found,
	    "bundle");
}

int
pg_bundle_list(struct hub_store *st, uint64_t limit, hub_bundle_fn fn,
    void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_limit(&p, limit);
	return pg_each((struct pg_store *)st, PG_BUNDLE_COLS " FROM bundles b "
	    "ORDER BY b.version DESC LIMIT $1", &p, pg_bundle_row, &cb,
	    "bundles");
}

static int
pg_two_row(const PGresult *r, int i, void *arg)
{
	int64_t *v = arg;

	v[0] = pg_i64(r, i, 0);
	v[1] = pg_i64(r, i, 1);
	return 0;
}

int
pg_bundle_current(struct hub_store *st, uint64_t *current, uint64_t *max)
{
	int64_t v[2] = { 0, 0 };
	int found;

	*current = *max = 0;
	if (pg_one((struct pg_store *)st, "SELECT coalesce((SELECT "
	    "max(version) FROM bundles WHERE withdrawn = 0), 0), "
	    "coalesce(max(version), 0) FROM bundles", NULL, pg_two_row, v,
	    &found, "bundle current") == -1)
		return -1;
	*current = v[0] < 0 ? 0 : (uint64_t)v[0];
	*max = v[1] < 0 ? 0 : (uint64_t)v[1];
	return 0;
}

int
pg_bundle_sha_withdrawn(struct hub_store *st, const char *sha256,
    int *found)
{
	struct pg_params p;
	int64_t n = 0;
	int any;

	*found = 0;
	pg_p_init(&p);
	pg_p_text(&p, sha256);
	if (pg_one((struct pg_store *)st, "SELECT count(*) FROM bundles WHERE "
	    "sha256 = $1 AND withdrawn = 1", &p, pg_i64_row, &n, &any,
	    "bundle sha") == -1)
		return -1;
	*found = n > 0;
	return 0;
}

int
pg_bundle_withdraw(struct hub_store *st, uint64_t version, const char *actor,
    int64_t now_us, int *found)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	uint64_t n = 0;

	*found = 0;
	if (version == 0 || version > (uint64_t)INT64_MAX)
		return 0;
	pg_settle(s);
	pg_p_init(&p);
	pg_p_u64(&p, version);
	pg_p_text(&p, actor != NULL ? actor : "");
	pg_p_i64(&p, now_us);
	if (pg_cmd(s, "UPDATE bundles SET withdrawn = 1, withdrawn_by = $2, "
	    "withdrawn_us = $3 WHERE version = $1 AND withdrawn = 0", &p, &n,
	    "bundle withdraw") == -1)
		return -1;
	*found = n > 0;
	return 0;
}

static int
pg_member_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;

	return ((hub_member_fn)cb->fn)(cb->arg, pg_i64(r, i, 0));
}

int
pg_bundle_members(struct hub_store *st, uint64_t version, uint64_t limit,
    hub_member_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	if (version > (uint64_t)INT64_MAX)
		return 0;
	pg_p_init(&p);
	pg_p_u64(&p, version);
	pg_p_limit(&p, limit);
	return pg_each((struct pg_store *)st, "SELECT shared_id FROM "
	    "bundle_members WHERE version = $1 ORDER BY shared_id LIMIT $2",
	    &p, pg_member_row, &cb, "bundle members");
}

struct pg_abput {
	const struct hub_agent_bundle	*a;
	uint64_t			 version;
};

static int
pg_agent_bundle_write(struct pg_store *s, void *arg)
{
	struct pg_abput *ab = arg;
	const struct hub_agent_bundle *a = ab->a;
	struct pg_params p;

	pg_p_init(&p);
	pg_p_text(&p, a->agent_id);
	pg_p_u64(&p, a->running);
	pg_p_u64(&p, a->previous);
	pg_p_i64(&p, a->outcome);
	pg_p_text(&p, a->reason);
	pg_p_i64(&p, a->reported_us);
	pg_p_i64(&p, a->applied_us);
	if (pg_cmd(s, "INSERT INTO agent_bundle (agent_id, running, previous, "
	    "outcome, reason, reported_us, applied_us) VALUES ($1, $2, $3, $4, "
	    "$5, $6, $7) ON CONFLICT (agent_id) DO UPDATE SET running = "
	    "EXCLUDED.running, previous = EXCLUDED.previous, outcome = "
	    "EXCLUDED.outcome, reason = EXCLUDED.reason, reported_us = "
	    "EXCLUDED.reported_us, applied_us = CASE WHEN "
	    "EXCLUDED.applied_us > 0 THEN EXCLUDED.applied_us ELSE "
	    "agent_bundle.applied_us END", &p, NULL, "agent bundle") == -1)
		return -1;
	pg_p_init(&p);
	pg_p_text(&p, a->agent_id);
	pg_p_u64(&p, ab->version);
	pg_p_i64(&p, a->outcome);
	pg_p_text(&p, a->reason);
	pg_p_i64(&p, a->reported_us);
	return pg_cmd(s, "INSERT INTO agent_bundle_events (agent_id, version, "
	    "outcome, reason, us) VALUES ($1, $2, $3, $4, $5)", &p, NULL,
	    "agent bundle event");
}

/*
 * No pg_settle: like the task states, a report joins the listener's open
 * group (one commit a loop turn), or runs in a transaction of its own
 * when there is none.  Inside a transaction it runs under a savepoint: a
 * report the server refuses (text it cannot store) must not abort the
 * group's transaction and lose the indicators of the turn with it.
 */
int
pg_agent_bundle_put(struct hub_store *st, const struct hub_agent_bundle *a,
    uint64_t version)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_abput ab = { a, version };

	if (a->running > (uint64_t)INT64_MAX ||
	    a->previous > (uint64_t)INT64_MAX || version > (uint64_t)INT64_MAX)
		return -1;
	if (!s->txn)
		return pg_txn(s, pg_agent_bundle_write, &ab);
	if (pg_exec(s, "SAVEPOINT agent_bundle") == -1)
		return -1;
	if (pg_agent_bundle_write(s, &ab) == -1) {
		(void)pg_exec(s, "ROLLBACK TO SAVEPOINT agent_bundle");
		(void)pg_exec(s, "RELEASE SAVEPOINT agent_bundle");
		return -1;
	}
	return pg_exec(s, "RELEASE SAVEPOINT agent_bundle");
}

static int
pg_agent_bundle_row(const PGresult *r, int i, void *arg)
{
	struct hub_agent_bundle *a = arg;

	pg_str(r, i, 0, a->agent_id, sizeof(a->agent_id));
	a->running = pg_u64(r, i, 1);
	a->previous = pg_u64(r, i, 2);
	a->outcome = pg_int(r, i, 3);
	pg_str(r, i, 4, a->reason, sizeof(a->reason));
	a->reported_us = pg_i64(r, i, 5);
	a->applied_us = pg_i64(r, i, 6);
	return 1;
}

int
pg_agent_bundle_get(struct hub_store *st, const char *agent_id,
    struct hub_agent_bundle *a, int *found)
{
	struct pg_params p;
	int any;

	memset(a, 0, sizeof(*a));
	*found = 0;
	pg_p_init(&p);
	pg_p_text(&p, agent_id);
	if (pg_one((struct pg_store *)st, "SELECT agent_id, running, "
	    "previous, outcome, reason, reported_us, applied_us FROM "
	    "agent_bundle WHERE agent_id = $1", &p, pg_agent_bundle_row, a,
	    &any, "agent bundle") == -1)
		return -1;
	*found = a->agent_id[0] != '\0';
	return 0;
}

static int
pg_agent_bundles_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_agent_bundle a;

	memset(&a, 0, sizeof(a));
	(void)pg_agent_bundle_row(r, i, &a);
	return ((hub_agent_bundle_fn)cb->fn)(cb->arg, &a);
}

int
pg_agent_bundles(struct hub_store *st, hub_agent_bundle_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };

	return pg_each((struct pg_store *)st, "SELECT agent_id, running, "
	    "previous, outcome, reason, reported_us, applied_us FROM "
	    "agent_bundle ORDER BY agent_id COLLATE \"C\"", NULL,
	    pg_agent_bundles_row, &cb, "agent bundles");
}

/* Reports that a host ran a version: not a refusal, version >= 1. */
#define PG_REACHED "FROM agent_bundle_events e JOIN bundle_members m ON " \
	"m.version = e.version WHERE m.shared_id = $1 AND e.outcome != 2 " \
	"AND e.version > 0"

static int
pg_reach_row(const PGresult *r, int i, void *arg)
{
	struct hub_shared_reach *h = arg;

	h->hosts = pg_u64(r, i, 0);
	h->first_reached_us = pg_i64(r, i, 1);
	h->first_bundle = pg_u64(r, i, 2);
	return 0;
}

static int
pg_match_row(const PGresult *r, int i, void *arg)
{
	struct hub_shared_reach *h = arg;

	h->matches = pg_u64(r, i, 0);
	h->match_hosts = pg_u64(r, i, 1);
	h->first_match_us = pg_i64(r, i, 2);
	h->last_match_us = pg_i64(r, i, 3);
	return 0;
}

int
pg_shared_reach(struct hub_store *st, int64_t id, struct hub_shared_reach *h)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	int found;

	memset(h, 0, sizeof(*h));
	pg_p_init(&p);
	pg_p_i64(&p, id);
	if (pg_one(s, "SELECT count(DISTINCT e.agent_id), coalesce(min(e.us), "
	    "0), coalesce((SELECT min(version) FROM bundle_members WHERE "
	    "shared_id = $1), 0) " PG_REACHED, &p, pg_reach_row, h, &found,
	    "shared reach") == -1)
		return -1;
	return pg_one(s, "SELECT count(*), count(DISTINCT agent_id), "
	    "coalesce(min(ts_us), 0), coalesce(max(ts_us), 0) FROM indicators "
	    "WHERE shared_ref = $1", &p, pg_match_row, h, &found,
	    "shared matches");
}

static int
pg_reached_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_reached_host h;

	memset(&h, 0, sizeof(h));
	pg_str(r, i, 0, h.agent_id, sizeof(h.agent_id));
	pg_str(r, i, 1, h.host_name, sizeof(h.host_name));
	h.since_us = pg_i64(r, i, 2);
	return ((hub_reached_fn)cb->fn)(cb->arg, &h);
}

/* Ties on the time go by agent id in SQLite's binary order. */
int
pg_shared_reached_hosts(struct hub_store *st, int64_t id, uint64_t limit,
    hub_reached_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, id);
	pg_p_limit(&p, limit);
	return pg_each((struct pg_store *)st, "SELECT e.agent_id, "
	    "coalesce((SELECT host_name FROM hosts h WHERE h.agent_id = "
	    "e.agent_id), ''), min(e.us) AS since " PG_REACHED " GROUP BY "
	    "e.agent_id ORDER BY since, e.agent_id COLLATE \"C\" LIMIT $2", &p,
	    pg_reached_row, &cb, "shared reached");
}

static int
pg_matched_row(const PGresult *r, int i, void *arg)
{
	struct pg_cb *cb = arg;
	struct hub_indicator d;

	pg_ind_row(r, i, 0, &d);
	return ((hub_row_fn)cb->fn)(cb->arg, &d);
}

int
pg_shared_matches(struct hub_store *st, int64_t id, uint64_t limit,
    hub_row_fn fn, void *arg)
{
	struct pg_cb cb = { (void *)fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, id);
	pg_p_limit(&p, limit);
	return pg_each((struct pg_store *)st, "SELECT " PG_IND_COLS " FROM "
	    "indicators WHERE shared_ref = $1 ORDER BY ts_us DESC, agent_id "
	    "COLLATE \"C\", seq LIMIT $2", &p, pg_matched_row, &cb,
	    "shared matches");
}
