/*
 * store_pg_auth.c - the PostgreSQL backend's API tokens, audit log,
 * enrollment tokens and enrolled agents: the store.h operations of the
 * same names, each behaving exactly as its sq_ twin in store_sqlite.c
 * (same rows, order, limits and *found / *dup / *ok results).  Only the
 * ops table in store_pg.c calls these; the hub reaches them through
 * struct hub_store_ops.
 *
 * Several hubs may share the database, so every check that decides
 * something (a name already taken, a token's last use) is made by the
 * statement that writes, never by a SELECT before it.
 */
#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "hub/store.h"
#include "hub/store_pg.h"

/* ------------------------------------------------------------ tokens */

#define PG_TOKEN_COLS	"SELECT id, name, role, hash, created_us, " \
	"revoked_us FROM tokens "

struct pg_tokens_cb {
	hub_token_fn	 fn;
	void		*arg;
};

static void
pg_token_fill(const PGresult *r, int i, struct hub_token *t)
{
	memset(t, 0, sizeof(*t));
	t->id = pg_i64(r, i, 0);
	pg_str(r, i, 1, t->name, sizeof(t->name));
	t->role = pg_int(r, i, 2);
	/* a hash of another length reads as zeros, as in SQLite */
	(void)pg_bytes(r, i, 3, t->hash, sizeof(t->hash));
	t->created_us = pg_i64(r, i, 4);
	t->revoked_us = pg_i64(r, i, 5);	/* NULL: valid, 0 */
}

static int
pg_token_one(const PGresult *r, int i, void *arg)
{
	pg_token_fill(r, i, arg);
	return 0;
}

static int
pg_tokens_row(const PGresult *r, int i, void *arg)
{
	struct pg_tokens_cb *cb = arg;
	struct hub_token t;

	pg_token_fill(r, i, &t);
	return cb->fn(cb->arg, &t);
}

/*
 * A valid token with the same name (or a repeated hash) is a conflict:
 * no row changed means *dup, as SQLite's constraint error does.  The NOT
 * EXISTS keeps a refused name from taking a value of the id sequence (ids
 * stay as SQLite numbers them); ON CONFLICT still settles a race with
 * another hub without an error that would abort the caller's
 * transaction.
 */
int
pg_token_add(struct hub_store *st, const struct hub_token *t, int *dup)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	uint64_t n;

	pg_settle(s);
	*dup = 0;
	pg_p_init(&p);
	pg_p_text(&p, t->name);
	pg_p_i64(&p, t->role);
	pg_p_bytes(&p, t->hash, HUB_TOKEN_HASH_LEN);
	pg_p_i64(&p, t->created_us);
	if (pg_cmd(s, "INSERT INTO tokens (name, role, hash, created_us) "
	    "SELECT $1::text, $2::bigint, $3::bytea, $4::bigint "
	    "WHERE NOT EXISTS (SELECT 1 FROM tokens WHERE (name = $1 AND "
	    "revoked_us IS NULL) OR hash = $3) ON CONFLICT DO NOTHING", &p, &n,
	    "token") == -1)
		return -1;
	*dup = n == 0;
	return 0;
}

int
pg_token_find(struct hub_store *st, const uint8_t *hash, struct hub_token *t,
    int *found)
{
	struct pg_params p;

	pg_p_init(&p);
	pg_p_bytes(&p, hash, HUB_TOKEN_HASH_LEN);
	return pg_one((struct pg_store *)st, PG_TOKEN_COLS "WHERE hash = $1",
	    &p, pg_token_one, t, found, "token");
}

int
pg_token_list(struct hub_store *st, hub_token_fn fn, void *arg)
{
	struct pg_tokens_cb cb = { fn, arg };

	return pg_each((struct pg_store *)st, PG_TOKEN_COLS "ORDER BY id",
	    NULL, pg_tokens_row, &cb, "tokens");
}

int
pg_token_revoke(struct hub_store *st, const char *name, int64_t now_us,
    int *found)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	uint64_t n;

	pg_settle(s);
	*found = 0;
	pg_p_init(&p);
	pg_p_i64(&p, now_us);
	pg_p_text(&p, name);
	if (pg_cmd(s, "UPDATE tokens SET revoked_us = $1 WHERE name = $2 "
	    "AND revoked_us IS NULL", &p, &n, "revoke") == -1)
		return -1;
	*found = n > 0;
	return 0;
}

/* ------------------------------------------------------------ audit */

struct pg_audit_cb {
	hub_audit_fn	 fn;
	void		*arg;
};

int
pg_audit_add(struct hub_store *st, const struct hub_audit *a)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;

	pg_settle(s);
	pg_p_init(&p);
	pg_p_i64(&p, a->ts_us);
	pg_p_text(&p, a->actor);
	pg_p_text(&p, a->role);
	pg_p_text(&p, a->action);
	pg_p_text(&p, a->target);
	pg_p_text(&p, a->remote);
	pg_p_text(&p, a->result);
	return pg_cmd(s, "INSERT INTO audit (ts_us, actor, role, action, "
	    "target, remote, result) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	    &p, NULL, "audit");
}

static int
pg_audit_row(const PGresult *r, int i, void *arg)
{
	struct pg_audit_cb *cb = arg;
	struct hub_audit a;

	memset(&a, 0, sizeof(a));
	a.id = pg_i64(r, i, 0);
	a.ts_us = pg_i64(r, i, 1);
	pg_str(r, i, 2, a.actor, sizeof(a.actor));
	pg_str(r, i, 3, a.role, sizeof(a.role));
	pg_str(r, i, 4, a.action, sizeof(a.action));
	pg_str(r, i, 5, a.target, sizeof(a.target));
	pg_str(r, i, 6, a.remote, sizeof(a.remote));
	pg_str(r, i, 7, a.result, sizeof(a.result));
	return cb->fn(cb->arg, &a);
}

int
pg_audit_list(struct hub_store *st, int64_t before_id, uint64_t limit,
    hub_audit_fn fn, void *arg)
{
	struct pg_audit_cb cb = { fn, arg };
	struct pg_params p;

	pg_p_init(&p);
	pg_p_i64(&p, before_id > 0 ? before_id : INT64_MAX);
	/* LIMIT NULL is every row, like SQLite's LIMIT -1 */
	if (limit == 0 || limit > (uint64_t)INT64_MAX)
		pg_p_null(&p);
	else
		pg_p_u64(&p, limit);
	return pg_each((struct pg_store *)st, "SELECT id, ts_us, actor, role, "
	    "action, target, remote, result FROM audit WHERE id < $1 "
	    "ORDER BY id DESC LIMIT $2::bigint", &p, pg_audit_row, &cb,
	    "audit");
}

/* ------------------------------------------------------------ enrollment */

#define PG_ETOKEN_COLS	"SELECT id, hash, tag, created_us, expires_us, " \
	"uses_max, uses, revoked_us FROM enroll_tokens "

struct pg_etokens_cb {
	hub_etoken_fn	 fn;
	void		*arg;
};


int
pg_etoken_add(struct hub_store *st, const struct hub_enroll_token *t,
    int64_t *id)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	int found;

	pg_settle(s);
	*id = 0;
	if (t->uses_max > (uint64_t)INT64_MAX)
		return -1;
	pg_p_init(&p);
	pg_p_bytes(&p, t->hash, HUB_TOKEN_HASH_LEN);
	pg_p_text(&p, t->tag);
	pg_p_i64(&p, t->created_us);
	if (t->expires_us != 0)
		pg_p_i64(&p, t->expires_us);
	else
		pg_p_null(&p);		/* never expires */
	pg_p_u64(&p, t->uses_max);
	return pg_one(s, "INSERT INTO enroll_tokens (hash, tag, created_us, "
	    "expires_us, uses_max) VALUES ($1, $2, $3, $4, $5) RETURNING id",
	    &p, pg_row_i64, id, &found, "enroll token");
}

static void
pg_etoken_fill(const PGresult *r, int i, struct hub_enroll_token *t)
{
	memset(t, 0, sizeof(*t));
	t->id = pg_i64(r, i, 0);
	(void)pg_bytes(r, i, 1, t->hash, sizeof(t->hash));
	pg_str(r, i, 2, t->tag, sizeof(t->tag));
	t->created_us = pg_i64(r, i, 3);
	t->expires_us = pg_i64(r, i, 4);	/* NULL: never, 0 */
	t->uses_max = (uint64_t)pg_i64(r, i, 5);
	t->uses = (uint64_t)pg_i64(r, i, 6);
	t->revoked_us = pg_i64(r, i, 7);
}

static int
pg_etoken_one(const PGresult *r, int i, void *arg)
{
	pg_etoken_fill(r, i, arg);
	return 0;
}

static int
pg_etokens_row(const PGresult *r, int i, void *arg)
{
	struct pg_etokens_cb *cb = arg;
	struct hub_enroll_token t;

	pg_etoken_fill(r, i, &t);
	return cb->fn(cb->arg, &t);
}

int
pg_etoken_find(struct hub_store *st, const uint8_t *hash,
    struct hub_enroll_token *t, int *found)
{
	struct pg_params p;

	pg_p_init(&p);
	pg_p_bytes(&p, hash, HUB_TOKEN_HASH_LEN);
	return pg_one((struct pg_store *)st, PG_ETOKEN_COLS "WHERE hash = $1",
	    &p, pg_etoken_one, t, found, "enroll token");
}

int
pg_etoken_list(struct hub_store *st, hub_etoken_fn fn, void *arg)
{
	struct pg_etokens_cb cb = { fn, arg };

	return pg_each((struct pg_store *)st, PG_ETOKEN_COLS "ORDER BY id",
	    NULL, pg_etokens_row, &cb, "enroll tokens");
}

/* Run an UPDATE whose $1 is an integer and $2 an integer or (t2) text,
 * outside the ingest group; *changed: whether a row changed. */
static int
pg_update1(struct pg_store *s, const char *sql, int64_t i1, int64_t i2,
    const char *t2, int *changed)
{
	struct pg_params p;
	uint64_t n;

	*changed = 0;
	pg_settle(s);
	pg_p_init(&p);
	pg_p_i64(&p, i1);
	if (t2 != NULL)
		pg_p_text(&p, t2);
	else
		pg_p_i64(&p, i2);
	if (pg_cmd(s, sql, &p, &n, "update") == -1)
		return -1;
	*changed = n > 0;
	return 0;
}

int
pg_etoken_revoke(struct hub_store *st, int64_t id, int64_t now_us,
    int *found)
{
	return pg_update1((struct pg_store *)st, "UPDATE enroll_tokens SET "
	    "revoked_us = $1 WHERE id = $2 AND revoked_us IS NULL",
	    now_us, id, NULL, found);
}

/*
 * One statement, so the check and the count are one step: under READ
 * COMMITTED a second hub taking the same token waits for the first's row
 * lock and then evaluates the WHERE again on the row the first left, so
 * the last use goes to exactly one of them.
 */
int
pg_etoken_use(struct hub_store *st, int64_t id, int64_t now_us, int *ok)
{
	return pg_update1((struct pg_store *)st, "UPDATE enroll_tokens SET "
	    "uses = uses + 1 WHERE id = $2 AND revoked_us IS NULL AND "
	    "uses < uses_max AND (expires_us IS NULL OR expires_us > $1)",
	    now_us, id, NULL, ok);
}

/* ------------------------------------------------------------ agents */

#define PG_AGENT_COLS	"SELECT agent_id, host_name, tag, spki, " \
	"enrolled_us, token_id, cert_serial, not_after_us, revoked_us " \
	"FROM agents "

struct pg_agents_cb {
	hub_agent_fn	 fn;
	void		*arg;
};

/* SQLite's INSERT OR REPLACE: agents has no key but agent_id, so
 * replacing the row is updating every column of it. */
int
pg_agent_put(struct hub_store *st, const struct hub_agent *a)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;

	pg_settle(s);
	pg_p_init(&p);
	pg_p_text(&p, a->agent_id);
	pg_p_text(&p, a->host_name);
	pg_p_text(&p, a->tag);
	pg_p_text(&p, a->spki);
	pg_p_i64(&p, a->enrolled_us);
	if (a->token_id != 0)
		pg_p_i64(&p, a->token_id);
	else
		pg_p_null(&p);
	pg_p_text(&p, a->serial);
	pg_p_i64(&p, a->not_after_us);
	if (a->revoked_us != 0)
		pg_p_i64(&p, a->revoked_us);
	else
		pg_p_null(&p);
	return pg_cmd(s, "INSERT INTO agents (agent_id, host_name, tag, spki, "
	    "enrolled_us, token_id, cert_serial, not_after_us, revoked_us) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
	    "ON CONFLICT (agent_id) DO UPDATE SET "
	    "host_name = EXCLUDED.host_name, tag = EXCLUDED.tag, "
	    "spki = EXCLUDED.spki, enrolled_us = EXCLUDED.enrolled_us, "
	    "token_id = EXCLUDED.token_id, "
	    "cert_serial = EXCLUDED.cert_serial, "
	    "not_after_us = EXCLUDED.not_after_us, "
	    "revoked_us = EXCLUDED.revoked_us", &p, NULL, "agent");
}

static void
pg_agent_fill(const PGresult *r, int i, struct hub_agent *a)
{
	memset(a, 0, sizeof(*a));
	pg_str(r, i, 0, a->agent_id, sizeof(a->agent_id));
	pg_str(r, i, 1, a->host_name, sizeof(a->host_name));
	pg_str(r, i, 2, a->tag, sizeof(a->tag));
	pg_str(r, i, 3, a->spki, sizeof(a->spki));
	a->enrolled_us = pg_i64(r, i, 4);
	a->token_id = pg_i64(r, i, 5);		/* NULL: none, 0 */
	pg_str(r, i, 6, a->serial, sizeof(a->serial));
	a->not_after_us = pg_i64(r, i, 7);
	a->revoked_us = pg_i64(r, i, 8);
}

static int
pg_agent_one(const PGresult *r, int i, void *arg)
{
	pg_agent_fill(r, i, arg);
	return 0;
}

static int
pg_agents_row(const PGresult *r, int i, void *arg)
{
	struct pg_agents_cb *cb = arg;
	struct hub_agent a;

	pg_agent_fill(r, i, &a);
	return cb->fn(cb->arg, &a);
}

int
pg_agent_get(struct hub_store *st, const char *agent_id, struct hub_agent *a,
    int *found)
{
	struct pg_params p;

	pg_p_init(&p);
	pg_p_text(&p, agent_id);
	return pg_one((struct pg_store *)st, PG_AGENT_COLS
	    "WHERE agent_id = $1", &p, pg_agent_one, a, found, "agent");
}

/* Byte order for the ids (COLLATE "C"), as SQLite compares text,
 * whatever collation the database was made with. */
int
pg_agent_list(struct hub_store *st, hub_agent_fn fn, void *arg)
{
	struct pg_agents_cb cb = { fn, arg };

	return pg_each((struct pg_store *)st, PG_AGENT_COLS
	    "ORDER BY enrolled_us, agent_id COLLATE \"C\"", NULL,
	    pg_agents_row, &cb, "agents");
}

int
pg_agent_revoke(struct hub_store *st, const char *agent_id, int64_t now_us,
    int *found)
{
	return pg_update1((struct pg_store *)st, "UPDATE agents SET "
	    "revoked_us = $1 WHERE agent_id = $2 AND revoked_us IS NULL",
	    now_us, 0, agent_id, found);
}
