/*
 * store_pg.c - the PostgreSQL backend of hub/store.h: the store of a
 * member that runs several hubs over one database (docs/scaling.md).
 * This file holds the connection, the schema and its migrations, the
 * transactions (group commit as in store_sqlite.c), the indicator insert
 * with its deduplication across hubs, the time partitions and retention;
 * the other operations are in store_pg_*.c, one file per area, over the
 * helpers declared in store_pg.h.
 *
 * Several hubs share the database, so nothing here may rely on being the
 * only writer:
 * - migrations run under an advisory lock, one version per transaction,
 *   and read the version again once they hold it;
 * - (agent, seq) is stored once: the insert locks the agent's hosts row
 *   for the rest of the transaction and skips every sequence number at or
 *   below its settled mark (a batch resent to another hub after a
 *   failover), and a unique index catches a repeat inside one partition;
 * - indicators are partitioned by ingest day; partitions are made ahead
 *   (under another advisory lock, on a second connection, never inside
 *   the group's transaction) and retention drops whole days.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "hub/store.h"
#include "hub/store_pg.h"

#define PG_DAY_US	((int64_t)86400 * 1000000)
#define PG_AHEAD_DAYS	7		/* partitions made ahead of today */
#define PG_JSON_MAX	(64 * 1024 * 1024)

/*
 * Migration i takes the schema from version i to i + 1: the same steps
 * and versions as the SQLite schema (docs/schema-hub.md), in
 * PostgreSQL's types.  Integers are BIGINT; SQLite's rowid cursor is the
 * indicators' id column.
 */
static const char *const pg_migrations[] = {
	/* 0 -> 1: hosts, indicators (partitioned by ingest time) and the
	 * UI's indexes */
	"CREATE TABLE hosts ("
	"  agent_id TEXT PRIMARY KEY,"
	"  host_name TEXT NOT NULL DEFAULT '',"
	"  first_seen_us BIGINT NOT NULL,"
	"  last_seen_us BIGINT NOT NULL,"
	"  last_seq BIGINT NOT NULL DEFAULT 0,"
	"  dropped BIGINT NOT NULL DEFAULT 0,"
	"  rejected BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE indicators ("
	"  id BIGSERIAL,"
	"  agent_id TEXT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  ingest_us BIGINT NOT NULL,"
	"  ts_us BIGINT NOT NULL,"
	"  timestamp TEXT NOT NULL,"
	"  rule_id TEXT NOT NULL,"
	"  rule_name TEXT NOT NULL,"
	"  ruleset TEXT NOT NULL,"
	"  event_kind TEXT NOT NULL,"
	"  severity BIGINT NOT NULL,"
	"  source_ip TEXT,"
	"  destination_ip TEXT,"
	"  destination_port BIGINT,"
	"  transport TEXT,"
	"  direction TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  first_seen TEXT NOT NULL,"
	"  last_seen TEXT NOT NULL,"
	"  count BIGINT NOT NULL,"
	"  json TEXT NOT NULL) PARTITION BY RANGE (ingest_us);"
	"CREATE UNIQUE INDEX indicators_key ON indicators(agent_id, seq, "
	"  ingest_us);"
	"CREATE INDEX indicators_id ON indicators(id);"
	"CREATE INDEX indicators_ts ON indicators(ts_us);"
	"CREATE INDEX indicators_host_ts ON indicators(agent_id, ts_us);"
	"CREATE INDEX indicators_fingerprint ON indicators(fingerprint, ts_us);"
	"CREATE INDEX indicators_rule ON indicators(rule_id, ts_us);"
	"CREATE INDEX indicators_ingest ON indicators(ingest_us);"
	/* rows whose day has no partition (a clock far off) */
	"CREATE TABLE indicators_default PARTITION OF indicators DEFAULT;",
	/* 1 -> 2: the API's tokens and audit log */
	"CREATE TABLE tokens ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  role BIGINT NOT NULL,"
	"  hash BYTEA NOT NULL UNIQUE,"
	"  created_us BIGINT NOT NULL,"
	"  revoked_us BIGINT);"
	"CREATE UNIQUE INDEX tokens_valid_name ON tokens(name) "
	"  WHERE revoked_us IS NULL;"
	"CREATE TABLE audit ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  ts_us BIGINT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  remote TEXT NOT NULL,"
	"  result TEXT NOT NULL);"
	"CREATE INDEX indicators_page ON indicators(ts_us, agent_id, seq);",
	/* 2 -> 3: enrollment tokens and enrolled agents */
	"CREATE TABLE enroll_tokens ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  hash BYTEA NOT NULL UNIQUE,"
	"  tag TEXT NOT NULL DEFAULT '',"
	"  created_us BIGINT NOT NULL,"
	"  expires_us BIGINT,"
	"  uses_max BIGINT NOT NULL,"
	"  uses BIGINT NOT NULL DEFAULT 0,"
	"  revoked_us BIGINT);"
	"CREATE TABLE agents ("
	"  agent_id TEXT PRIMARY KEY,"
	"  host_name TEXT NOT NULL DEFAULT '',"
	"  tag TEXT NOT NULL DEFAULT '',"
	"  spki TEXT NOT NULL,"
	"  enrolled_us BIGINT NOT NULL,"
	"  token_id BIGINT,"
	"  cert_serial TEXT NOT NULL,"
	"  not_after_us BIGINT NOT NULL,"
	"  revoked_us BIGINT);"
	"CREATE INDEX agents_not_after ON agents(not_after_us);",
	/* 3 -> 4: targeted collection */
	"CREATE TABLE tasks ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  spec TEXT NOT NULL,"
	"  type BIGINT NOT NULL,"
	"  created_us BIGINT NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  expires_us BIGINT NOT NULL,"
	"  cancelled_us BIGINT,"
	"  targets TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX tasks_cancelled ON tasks(cancelled_us) "
	"  WHERE cancelled_us IS NOT NULL;"
	"CREATE TABLE task_hosts ("
	"  task_id BIGINT NOT NULL REFERENCES tasks(id),"
	"  agent_id TEXT NOT NULL,"
	"  state BIGINT NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  updated_us BIGINT NOT NULL,"
	"  bytes BIGINT NOT NULL DEFAULT 0,"
	"  final_bytes BIGINT NOT NULL DEFAULT 0,"
	"  rows BIGINT NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (task_id, agent_id));"
	"CREATE INDEX task_hosts_open ON task_hosts(agent_id) "
	"  WHERE state <= 3;",
	/* 4 -> 5: incidents */
	"CREATE TABLE incidents ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  title TEXT NOT NULL,"
	"  state BIGINT NOT NULL DEFAULT 0,"
	"  owner TEXT NOT NULL DEFAULT '',"
	"  created_us BIGINT NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  since_us BIGINT NOT NULL,"
	"  contained_us BIGINT,"
	"  closed_us BIGINT,"
	"  lessons TEXT NOT NULL DEFAULT '',"
	"  report TEXT);"
	"CREATE INDEX incidents_state ON incidents(state, id);"
	"CREATE TABLE incident_links ("
	"  incident_id BIGINT NOT NULL REFERENCES incidents(id),"
	"  kind BIGINT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  added_us BIGINT NOT NULL,"
	"  added_by TEXT NOT NULL,"
	"  seq BIGSERIAL,"
	"  PRIMARY KEY (incident_id, kind, value));"
	"CREATE TABLE incident_events ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  incident_id BIGINT NOT NULL REFERENCES incidents(id),"
	"  ts_us BIGINT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  text TEXT NOT NULL);"
	"CREATE INDEX incident_events_time ON incident_events(incident_id, "
	"  ts_us, id);",
	/* 5 -> 6: peering */
	"CREATE TABLE peers ("
	"  name TEXT PRIMARY KEY,"
	"  url TEXT NOT NULL,"
	"  ca_pem TEXT NOT NULL,"
	"  ca_sha256 TEXT NOT NULL,"
	"  enabled BIGINT NOT NULL DEFAULT 1,"
	"  send_tlp BIGINT NOT NULL,"
	"  send_min_severity BIGINT NOT NULL DEFAULT 0,"
	"  send_kinds BIGINT NOT NULL,"
	"  accept_tlp BIGINT NOT NULL,"
	"  auto_approve BIGINT NOT NULL DEFAULT 0,"
	"  created_us BIGINT NOT NULL,"
	"  cursor_rowid BIGINT NOT NULL DEFAULT 0,"
	"  send_seq BIGINT NOT NULL DEFAULT 1,"
	"  last_push_us BIGINT NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '',"
	"  bundles_sent BIGINT NOT NULL DEFAULT 0,"
	"  indicators_sent BIGINT NOT NULL DEFAULT 0,"
	"  recv_seq BIGINT NOT NULL DEFAULT 0,"
	"  bundles_received BIGINT NOT NULL DEFAULT 0,"
	"  indicators_received BIGINT NOT NULL DEFAULT 0,"
	"  objects_refused BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE shared_indicators ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  peer TEXT NOT NULL,"
	"  origin TEXT NOT NULL DEFAULT '',"
	"  stix_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL DEFAULT '',"
	"  rule_ids TEXT NOT NULL DEFAULT '[]',"
	"  tlp BIGINT NOT NULL,"
	"  hosts BIGINT NOT NULL DEFAULT 0,"
	"  count BIGINT NOT NULL DEFAULT 0,"
	"  first_received_us BIGINT NOT NULL,"
	"  last_received_us BIGINT NOT NULL,"
	"  state BIGINT NOT NULL DEFAULT 0,"
	"  decided_by TEXT NOT NULL DEFAULT '',"
	"  decided_us BIGINT NOT NULL DEFAULT 0,"
	"  UNIQUE (peer, stix_id));"
	"CREATE INDEX shared_state ON shared_indicators(state, id);"
	"CREATE INDEX shared_peer ON shared_indicators(peer, id);"
	"CREATE INDEX shared_kind ON shared_indicators(kind, id);"
	"CREATE INDEX shared_value ON shared_indicators(kind, value);",
	/* 6 -> 7: the values each bundle carried to a peer */
	"CREATE TABLE peer_sent_values ("
	"  peer TEXT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  tlp BIGINT NOT NULL,"
	"  sent_us BIGINT NOT NULL,"
	"  PRIMARY KEY (peer, seq, kind, value));"
	"CREATE INDEX peer_sent_value ON peer_sent_values(kind, value);",
	/* 7 -> 8: bundles for the agents */
	"CREATE TABLE bundles ("
	"  version BIGINT PRIMARY KEY,"
	"  created_us BIGINT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  entries BIGINT NOT NULL,"
	"  bytes BIGINT NOT NULL,"
	"  content TEXT NOT NULL,"
	"  withdrawn BIGINT NOT NULL DEFAULT 0,"
	"  withdrawn_by TEXT NOT NULL DEFAULT '',"
	"  withdrawn_us BIGINT NOT NULL DEFAULT 0);"
	"CREATE INDEX bundle_sha ON bundles(sha256);"
	"CREATE INDEX shared_received ON shared_indicators(state, "
	"last_received_us);"
	"CREATE INDEX shared_decided ON shared_indicators(decided_us);"
	"CREATE TABLE bundle_members ("
	"  version BIGINT NOT NULL,"
	"  shared_id BIGINT NOT NULL,"
	"  PRIMARY KEY (version, shared_id));"
	"CREATE INDEX bundle_member_shared ON bundle_members(shared_id, "
	"version);"
	"CREATE TABLE agent_bundle ("
	"  agent_id TEXT PRIMARY KEY,"
	"  running BIGINT NOT NULL DEFAULT 0,"
	"  previous BIGINT NOT NULL DEFAULT 0,"
	"  outcome BIGINT NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  reported_us BIGINT NOT NULL DEFAULT 0,"
	"  applied_us BIGINT NOT NULL DEFAULT 0);"
	"CREATE TABLE agent_bundle_events ("
	"  id BIGSERIAL PRIMARY KEY,"
	"  agent_id TEXT NOT NULL,"
	"  version BIGINT NOT NULL,"
	"  outcome BIGINT NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  us BIGINT NOT NULL);"
	"CREATE INDEX agent_bundle_event_version ON "
	"agent_bundle_events(version, agent_id);"
	"ALTER TABLE indicators ADD COLUMN shared_ref BIGINT;"
	"CREATE INDEX indicators_shared ON indicators(shared_ref, ts_us) "
	"WHERE shared_ref IS NOT NULL;",
	/* 8 -> 9: excerpts between peers and the rule ids of shared rows
	 * as rows of their own; the rows already kept are indexed from
	 * their rule_ids text (a row whose text is not a JSON array of
	 * strings gets none, as shared_put would give it) */
	"ALTER TABLE peers ADD COLUMN send_excerpts BIGINT NOT NULL "
	"DEFAULT 0;"
	"ALTER TABLE shared_indicators ADD COLUMN excerpt TEXT NOT NULL "
	"DEFAULT '';"
	"CREATE TABLE shared_rule_ids ("
	"  shared_id BIGINT NOT NULL,"
	"  rule_id TEXT NOT NULL,"
	"  PRIMARY KEY (rule_id, shared_id));"
	"CREATE INDEX shared_rule_row ON shared_rule_ids(shared_id);"
	"DO $$ DECLARE r record; BEGIN "
	"FOR r IN SELECT id, rule_ids FROM shared_indicators LOOP "
	"BEGIN "
	"INSERT INTO shared_rule_ids (shared_id, rule_id) "
	"SELECT r.id, e #>> '{}' FROM jsonb_array_elements("
	"r.rule_ids::jsonb) AS e WHERE jsonb_typeof(e) = 'string' "
	"ON CONFLICT DO NOTHING; "
	"EXCEPTION WHEN others THEN NULL; "
	"END; END LOOP; END $$;",
	/* 9 -> 10: indicators_ts goes; indicators_page begins with ts_us
	 * and serves what it did (as in the SQLite store) */
	"DROP INDEX IF EXISTS indicators_ts;",
};

/* ------------------------------------------------------------ helpers */

void
pg_p_init(struct pg_params *p)
{
	memset(p, 0, sizeof(*p));
}

static int
pg_p_slot(struct pg_params *p)
{
	if (p->n >= PG_PARAM_MAX) {
		p->bad = 1;
		return -1;
	}
	return p->n++;
}

void
pg_p_text(struct pg_params *p, const char *v)
{
	int i;

	if ((i = pg_p_slot(p)) != -1)
		p->v[i] = v;
}

void
pg_p_text_ne(struct pg_params *p, const char *v)
{
	pg_p_text(p, v != NULL && v[0] != '\0' ? v : NULL);
}

void
pg_p_textn(struct pg_params *p, const char *v, size_t len)
{
	int i;

	if (len > INT_MAX) {
		p->bad = 1;
		return;
	}
	if ((i = pg_p_slot(p)) == -1)
		return;
	/* the binary form of text is its bytes: no terminator needed */
	p->v[i] = v;
	p->len[i] = (int)len;
	p->fmt[i] = 1;
}

void
pg_p_i64(struct pg_params *p, int64_t v)
{
	int i;

	if ((i = pg_p_slot(p)) == -1)
		return;
	snprintf(p->num[i], sizeof(p->num[i]), "%" PRId64, v);
	p->v[i] = p->num[i];
}

void
pg_p_u64(struct pg_params *p, uint64_t v)
{
	if (v > (uint64_t)INT64_MAX)
		p->bad = 1;
	pg_p_i64(p, (int64_t)(v > (uint64_t)INT64_MAX ? INT64_MAX : v));
}

void
pg_p_limit(struct pg_params *p, uint64_t limit)
{
	if (limit == 0 || limit > (uint64_t)INT64_MAX)
		pg_p_null(p);
	else
		pg_p_i64(p, (int64_t)limit);
}

int
pg_row_i64(const PGresult *r, int i, void *arg)
{
	*(int64_t *)arg = pg_i64(r, i, 0);
	return 0;
}

void
pg_p_null(struct pg_params *p)
{
	pg_p_text(p, NULL);
}

void
pg_p_bytes(struct pg_params *p, const void *v, size_t len)
{
	pg_p_textn(p, v, len);		/* bytea's binary form: its bytes */
}

static int	pg_prepare_ins(struct pg_store *);
static int	pg_session(struct pg_store *);
static void	pg_txn_reset(struct pg_store *);
static void	pg_notice(void *, const char *);

/*
 * The server went away (restart, failover of the database, a cut
 * link): reconnect once, here, so that the next statement works.  What
 * the lost session held is gone with it: an open group fails (its ACKs
 * are never sent, the agents send again), the prepared insert is made
 * again and the jobs this hub led are asked for anew.
 */
static void
pg_reconnect(struct pg_store *s)
{
	if (s->grp_open)
		s->grp_failed = 1;
	pg_txn_reset(s);
	s->leads = 0;
	PQreset(s->conn);
	if (PQstatus(s->conn) != CONNECTION_OK) {
		log_warnx("store: PostgreSQL is unreachable; trying again "
		    "at the next statement");
		return;
	}
	PQsetNoticeProcessor(s->conn, pg_notice, NULL);
	if (pg_session(s) == -1 || pg_prepare_ins(s) == -1)
		return;
	log_info("store: reconnected to PostgreSQL");
}

int
pg_fail(struct pg_store *s, const char *what, const PGresult *r)
{
	const char *m = r != NULL ? PQresultErrorMessage(r) : "";
	static int depth;

	if (m == NULL || m[0] == '\0')
		m = PQerrorMessage(s->conn);
	log_warnx("store: %s: %.*s", what, (int)strcspn(m, "\n"), m);
	if (PQstatus(s->conn) == CONNECTION_BAD && depth == 0) {
		depth++;
		pg_reconnect(s);
		depth--;
	}
	return -1;
}

static PGresult *
pg_run(struct pg_store *s, const char *sql, const struct pg_params *p,
    ExecStatusType want, const char *what)
{
	PGresult *r;

	if (p != NULL && p->bad) {
		log_warnx("store: %s: a value is out of range", what);
		return NULL;
	}
	if (p == NULL)
		r = PQexecParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	else
		r = PQexecParams(s->conn, sql, p->n, NULL, p->v, p->len,
		    p->fmt, 0);
	if (r == NULL || PQresultStatus(r) != want) {
		pg_fail(s, what, r);
		PQclear(r);
		return NULL;
	}
	return r;
}

int
pg_exec(struct pg_store *s, const char *sql)
{
	PGresult *r;

	if ((r = PQexec(s->conn, sql)) == NULL ||
	    (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK)) {
		pg_fail(s, "exec", r);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int
pg_cmd(struct pg_store *s, const char *sql, const struct pg_params *p,
    uint64_t *changed, const char *what)
{
	PGresult *r;
	const char *t;

	if (changed != NULL)
		*changed = 0;
	if ((r = pg_run(s, sql, p, PGRES_COMMAND_OK, what)) == NULL)
		return -1;
	if (changed != NULL && (t = PQcmdTuples(r)) != NULL && t[0] != '\0')
		*changed = strtoull(t, NULL, 10);
	PQclear(r);
	return 0;
}

/*
 * The whole result is read before the first row() call: row functions
 * may call the store again (the hosts list asks each host's bundle), and
 * a connection streaming one query (single-row mode) cannot run another.
 */
int
pg_each(struct pg_store *s, const char *sql, const struct pg_params *p,
    pg_row_fn row, void *arg, const char *what)
{
	PGresult *r;
	int i, n;

	if ((r = pg_run(s, sql, p, PGRES_TUPLES_OK, what)) == NULL)
		return -1;
	n = PQntuples(r);
	for (i = 0; i < n; i++)
		if (row(r, i, arg) != 0)
			break;
	PQclear(r);
	return 0;
}

int
pg_one(struct pg_store *s, const char *sql, const struct pg_params *p,
    pg_row_fn row, void *arg, int *found, const char *what)
{
	PGresult *r;

	*found = 0;
	if ((r = pg_run(s, sql, p, PGRES_TUPLES_OK, what)) == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		*found = 1;
		if (row != NULL)
			(void)row(r, 0, arg);
	}
	PQclear(r);
	return 0;
}

int64_t
pg_i64(const PGresult *r, int i, int col)
{
	if (PQgetisnull(r, i, col))
		return 0;
	return strtoll(PQgetvalue(r, i, col), NULL, 10);
}

uint64_t
pg_u64(const PGresult *r, int i, int col)
{
	int64_t v = pg_i64(r, i, col);

	return v < 0 ? 0 : (uint64_t)v;
}

int
pg_int(const PGresult *r, int i, int col)
{
	int64_t v = pg_i64(r, i, col);

	return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

void
pg_str(const PGresult *r, int i, int col, char *out, size_t cap)
{
	pk_strlcpy(out, PQgetisnull(r, i, col) ? "" : PQgetvalue(r, i, col),
	    cap);
}

int
pg_null(const PGresult *r, int i, int col)
{
	return PQgetisnull(r, i, col);
}

static int
pg_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
pg_bytes(const PGresult *r, int i, int col, uint8_t *out, size_t len)
{
	const char *v = PQgetvalue(r, i, col);
	size_t k;
	int hi, lo;

	memset(out, 0, len);
	if (PQgetisnull(r, i, col) || strncmp(v, "\\x", 2) != 0 ||
	    strlen(v + 2) != len * 2)
		return -1;
	for (k = 0; k < len; k++) {
		if ((hi = pg_hex(v[2 + 2 * k])) == -1 ||
		    (lo = pg_hex(v[3 + 2 * k])) == -1)
			return -1;
		out[k] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
pg_ind_row(const PGresult *r, int i, int col, struct hub_indicator *d)
{
	memset(d, 0, sizeof(*d));
	pg_str(r, i, col + 0, d->agent_id, sizeof(d->agent_id));
	d->seq = pg_u64(r, i, col + 1);
	d->ingest_us = pg_i64(r, i, col + 2);
	d->ts_us = pg_i64(r, i, col + 3);
	pg_str(r, i, col + 4, d->timestamp, sizeof(d->timestamp));
	pg_str(r, i, col + 5, d->rule_id, sizeof(d->rule_id));
	pg_str(r, i, col + 6, d->rule_name, sizeof(d->rule_name));
	pg_str(r, i, col + 7, d->ruleset, sizeof(d->ruleset));
	pg_str(r, i, col + 8, d->event_kind, sizeof(d->event_kind));
	d->severity = pg_int(r, i, col + 9);
	pg_str(r, i, col + 10, d->source_ip, sizeof(d->source_ip));
	pg_str(r, i, col + 11, d->destination_ip, sizeof(d->destination_ip));
	d->destination_port = pg_null(r, i, col + 12) ? -1 :
	    pg_int(r, i, col + 12);
	pg_str(r, i, col + 13, d->transport, sizeof(d->transport));
	pg_str(r, i, col + 14, d->direction, sizeof(d->direction));
	pg_str(r, i, col + 15, d->fingerprint, sizeof(d->fingerprint));
	pg_str(r, i, col + 16, d->first_seen, sizeof(d->first_seen));
	pg_str(r, i, col + 17, d->last_seen, sizeof(d->last_seen));
	d->count = pg_u64(r, i, col + 18);
	d->json = PQgetvalue(r, i, col + 19);
	d->json_len = (size_t)PQgetlength(r, i, col + 19);
	d->shared_ref = pg_i64(r, i, col + 20);
}

/* ------------------------------------------------------------ txn */

static void
pg_txn_reset(struct pg_store *s)
{
	s->txn = 0;
	s->grp_open = 0;
	s->lock_agent[0] = '\0';
	s->lock_has_row = 0;
	s->lock_last_seq = 0;
}

/* Roll back whatever is open (a failed statement aborts the whole
 * transaction in PostgreSQL). */
static void
pg_abort(struct pg_store *s)
{
	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		(void)pg_exec(s, "ROLLBACK");
	pg_txn_reset(s);
}

static int
pg_end(struct pg_store *s)
{
	int rc = pg_exec(s, "COMMIT");

	if (rc == -1)
		pg_abort(s);
	pg_txn_reset(s);
	return rc;
}

void
pg_settle(struct pg_store *s)
{
	if (!s->grp_open)
		return;
	if (pg_end(s) == -1)
		s->grp_failed = 1;
}

static int
pg_start(struct pg_store *s)
{
	if (pg_exec(s, "BEGIN") == -1)
		return -1;
	s->txn = 1;
	return 0;
}

int
pg_txn(struct pg_store *s, int (*fn)(struct pg_store *, void *), void *arg)
{
	if (s->txn && !s->grp_open)
		return fn(s, arg);	/* the caller's transaction */
	pg_settle(s);
	if (pg_start(s) == -1)
		return -1;
	if (fn(s, arg) == -1) {
		pg_abort(s);
		return -1;
	}
	return pg_end(s);
}

static int
pg_group_join(struct hub_store *st)
{
	struct pg_store *s = (struct pg_store *)st;

	if (s->grp_open)
		return 0;
	if (s->txn) {
		log_warnx("store: group write inside another transaction");
		return -1;
	}
	if (pg_start(s) == -1)
		return -1;
	s->grp_open = 1;
	return 0;
}

static int
pg_group_commit(struct hub_store *st)
{
	struct pg_store *s = (struct pg_store *)st;
	int failed;

	if (s->grp_open && pg_end(s) == -1)
		s->grp_failed = 1;
	failed = s->grp_failed;
	s->grp_failed = 0;
	return failed ? -1 : 0;
}

static int
pg_group_rollback(struct hub_store *st)
{
	struct pg_store *s = (struct pg_store *)st;

	if (s->grp_open)
		pg_abort(s);
	s->grp_failed = 1;
	return 0;
}

static int
pg_begin(struct hub_store *st)
{
	struct pg_store *s = (struct pg_store *)st;

	pg_settle(s);
	return pg_start(s);
}

static int
pg_commit(struct hub_store *st)
{
	return pg_end((struct pg_store *)st);
}

static int
pg_rollback(struct hub_store *st)
{
	pg_abort((struct pg_store *)st);
	return 0;
}

/* ------------------------------------------------------------ schema */

static int
pg_version_row(const PGresult *r, int i, void *arg)
{
	*(int *)arg = pg_int(r, i, 0);
	return 0;
}

static int
pg_version(struct hub_store *st, int *version)
{
	struct pg_store *s = (struct pg_store *)st;
	int found;

	*version = 0;
	if (pg_one(s, "SELECT 1 FROM pg_tables WHERE schemaname = "
	    "current_schema() AND tablename = 'schema_version'", NULL, NULL,
	    NULL, &found, "schema") == -1)
		return -1;
	if (!found)
		return 0;
	return pg_one(s, "SELECT version FROM schema_version", NULL,
	    pg_version_row, version, &found, "schema");
}

/*
 * Bring the schema up to HUB_SCHEMA_VERSION, one step per transaction,
 * each under the schema lock so that hubs starting together migrate once.
 */
static int
pg_migrate(struct pg_store *s)
{
	char sql[80];
	int v;

	for (;;) {
		if (pg_start(s) == -1)
			return -1;
		if (pg_exec(s, "SELECT pg_advisory_xact_lock("
		    PG_LOCK_SCHEMA ")") == -1 || pg_version(&s->base, &v) == -1)
			goto fail;
		if (v > HUB_SCHEMA_VERSION) {
			log_warnx("store: database schema %d is newer than "
			    "this hub (%d)", v, HUB_SCHEMA_VERSION);
			goto fail;
		}
		if (v >= HUB_SCHEMA_VERSION ||
		    (size_t)v >= PK_NELEM(pg_migrations)) {
			pg_abort(s);
			return 0;
		}
		if (v == 0 && pg_exec(s, "CREATE TABLE IF NOT EXISTS "
		    "schema_version (version BIGINT NOT NULL);"
		    "DELETE FROM schema_version;"
		    "INSERT INTO schema_version VALUES (0)") == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET "
		    "version = %d", v + 1);
		if (pg_exec(s, pg_migrations[v]) == -1 ||
		    pg_exec(s, sql) == -1 || pg_end(s) == -1)
			goto fail;
		log_info("store: schema migrated to version %d", v + 1);
	}
fail:
	pg_abort(s);
	return -1;
}

/* ------------------------------------------------------------ partitions */

static int64_t
pg_day(int64_t us)
{
	return us >= 0 ? us / PG_DAY_US : -((-us + PG_DAY_US - 1) / PG_DAY_US);
}

/* Run sql on c, logging a failure; 0 or -1. */
static int
pg_side_exec(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = r != NULL && (PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK);

	if (!ok)
		log_warnx("store: partitions: %.*s", (int)strcspn(
		    PQerrorMessage(c), "\n"), PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -1;
}

/*
 * Make the daily partitions from..to that do not exist yet, on a
 * connection of its own: creating one locks the parent table, which must
 * not happen inside the group's transaction, and two hubs must not race
 * (the advisory lock).  A day whose rows are already in the default
 * partition cannot get a partition: its rows stay there and retention
 * deletes them row by row.
 */
static int
pg_make_parts(struct pg_store *s, int64_t from, int64_t to)
{
	char sql[320];
	int64_t d;
	int rc = 0;

	if (s->side == NULL || PQstatus(s->side) != CONNECTION_OK) {
		PQfinish(s->side);
		s->side = PQconnectdb(s->dsn);
		if (PQstatus(s->side) != CONNECTION_OK) {
			log_warnx("store: partitions: %.*s", (int)strcspn(
			    PQerrorMessage(s->side), "\n"),
			    PQerrorMessage(s->side));
			PQfinish(s->side);
			s->side = NULL;
			return -1;
		}
		(void)pg_side_exec(s->side, "SET client_min_messages = "
		    "warning");
	}
	for (d = from; d <= to && rc == 0; d++) {
		snprintf(sql, sizeof(sql), "BEGIN; SELECT "
		    "pg_advisory_xact_lock(" PG_LOCK_PARTS "); "
		    "CREATE TABLE IF NOT EXISTS indicators_d%" PRId64
		    " PARTITION OF indicators FOR VALUES FROM (%" PRId64
		    ") TO (%" PRId64 "); COMMIT",
		    d, d * PG_DAY_US, (d + 1) * PG_DAY_US);
		if (pg_side_exec(s->side, sql) == -1) {
			(void)pg_side_exec(s->side, "ROLLBACK");
			rc = -1;
		}
	}
	if (rc == 0)
		s->covered_until_us = (to + 1) * PG_DAY_US;
	return rc;
}

static int
pg_parts_ahead(struct pg_store *s, int64_t now_us)
{
	int64_t today = pg_day(now_us);

	return pg_make_parts(s, today - 1, today + PG_AHEAD_DAYS);
}

/* ------------------------------------------------------------ open */

static void
pg_close(struct hub_store *st)
{
	struct pg_store *s = (struct pg_store *)st;

	if (s == NULL)
		return;
	if (s->conn != NULL && PQtransactionStatus(s->conn) !=
	    PQTRANS_IDLE)
		(void)pg_exec(s, "ROLLBACK");
	PQfinish(s->side);
	PQfinish(s->conn);
	free(s->dsn);
	free(s);
}

static void
pg_notice(void *arg, const char *msg)
{
	(void)arg;
	log_debug("store: %.*s", (int)strcspn(msg, "\n"), msg);
}

/*
 * Session settings: warnings only (not the notices of IF NOT EXISTS);
 * no JIT, whose compile time (a second and more) dwarfs the short
 * indexed queries the hub runs (tests/bench/pg_scale.py).
 */
static int
pg_session(struct pg_store *s)
{
	return pg_exec(s, "SET client_min_messages = warning; SET jit = off");
}

/* The insert every indicator goes through, parsed once per session. */
static int
pg_prepare_ins(struct pg_store *s)
{
	PGresult *r = PQprepare(s->conn, "pk_ins", "INSERT INTO "
	    "indicators (" PG_IND_COLS ") VALUES ($1, $2, $3, $4, $5, "
	    "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
	    "$18, $19, $20, $21) ON CONFLICT DO NOTHING", 0, NULL);
	int ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;

	if (!ok)
		pg_fail(s, "prepare", r);
	PQclear(r);
	return ok ? 0 : -1;
}

/* Open dsn, migrate it, make the partitions ahead, prepare the insert. */
static int
pg_open(struct hub_store **out, const char *dsn)
{
	struct pg_store *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->dsn = strdup(dsn)) == NULL) {
		free(s);
		return -1;
	}
	s->base.ops = &hub_store_pg;
	{
		/* the dsn's own application_name wins over this one */
		const char *keys[] = { "dbname", "fallback_application_name",
		    NULL };
		const char *vals[] = { dsn, "picket-hub", NULL };

		s->conn = PQconnectdbParams(keys, vals, 1);
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		log_warnx("store: postgresql: %.*s", (int)strcspn(
		    PQerrorMessage(s->conn), "\n"), PQerrorMessage(s->conn));
		pg_close(&s->base);
		return -1;
	}
	PQsetNoticeProcessor(s->conn, pg_notice, NULL);
	if (pg_session(s) == -1 || pg_migrate(s) == -1 ||
	    pg_parts_ahead(s, (int64_t)pk_now_us()) == -1 ||
	    pg_prepare_ins(s) == -1)
		goto fail;
	*out = &s->base;
	return 0;
fail:
	pg_close(&s->base);
	return -1;
}


/* ------------------------------------------------------------ insert */

static int
pg_lock_row(const PGresult *r, int i, void *arg)
{
	struct pg_store *s = arg;

	s->lock_last_seq = pg_i64(r, i, 0);
	return 0;
}

/*
 * Lock agent's hosts row for the rest of the transaction and read its
 * settled mark: another hub storing the same agent's batch waits here
 * and then sees what this one settled.
 */
static int
pg_lock_agent(struct pg_store *s, const char *agent_id)
{
	struct pg_params p;

	if (strcmp(s->lock_agent, agent_id) == 0)
		return 0;
	pg_p_init(&p);
	pg_p_text(&p, agent_id);
	s->lock_last_seq = 0;
	if (pg_one(s, "SELECT last_seq FROM hosts WHERE agent_id = $1 FOR "
	    "UPDATE", &p, pg_lock_row, s, &s->lock_has_row, "insert") == -1)
		return -1;
	pk_strlcpy(s->lock_agent, agent_id, sizeof(s->lock_agent));
	return 0;
}

static int	pg_insert(struct hub_store *, const struct hub_indicator *,
		    int *);

struct pg_ins1 {
	const struct hub_indicator	*d;
	int				*is_new;
};

static int
pg_insert_txn(struct pg_store *s, void *arg)
{
	struct pg_ins1 *x = arg;

	return pg_insert(&s->base, x->d, x->is_new);
}

static int
pg_insert(struct hub_store *st, const struct hub_indicator *d, int *is_new)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_ins1 one = { d, is_new };
	struct pg_params p;
	PGresult *r;
	uint64_t n = 0;
	int found, ok;

	*is_new = 0;
	if (d->seq > (uint64_t)INT64_MAX || d->count > (uint64_t)INT64_MAX ||
	    d->json_len > PG_JSON_MAX || memchr(d->json, '\0',
	    d->json_len) != NULL)
		return -1;
	/* ingest always has a transaction open; an import or a test row
	 * outside one gets its own, as SQLite's autocommit would */
	if (!s->txn)
		return pg_txn(s, pg_insert_txn, &one);
	/* a failure is tried again a minute later, not at every row */
	if (d->ingest_us >= s->covered_until_us - PG_DAY_US &&
	    d->ingest_us >= s->parts_retry_us &&
	    pg_parts_ahead(s, d->ingest_us) == -1) {
		s->parts_retry_us = d->ingest_us + (int64_t)60 * 1000000;
		log_warnx("store: no partition ahead; rows go to the default "
		    "partition until one can be made");
	}
	if (pg_lock_agent(s, d->agent_id) == -1)
		return -1;
	if ((int64_t)d->seq <= s->lock_last_seq)
		return 0;		/* settled: stored or refused before */
	pg_p_init(&p);
	pg_p_text(&p, d->agent_id);
	pg_p_u64(&p, d->seq);
	if (!s->lock_has_row) {
		/* no settled mark (an import, a test): look in every day */
		if (pg_one(s, "SELECT 1 FROM indicators WHERE agent_id = $1 "
		    "AND seq = $2 LIMIT 1", &p, NULL, NULL, &found,
		    "insert") == -1)
			return -1;
		if (found)
			return 0;
	}
	pg_p_i64(&p, d->ingest_us);
	pg_p_i64(&p, d->ts_us);
	pg_p_text(&p, d->timestamp);
	pg_p_text(&p, d->rule_id);
	pg_p_text(&p, d->rule_name);
	pg_p_text(&p, d->ruleset);
	pg_p_text(&p, d->event_kind);
	pg_p_i64(&p, d->severity);
	pg_p_text_ne(&p, d->source_ip);
	pg_p_text_ne(&p, d->destination_ip);
	if (d->destination_port >= 0)
		pg_p_i64(&p, d->destination_port);
	else
		pg_p_null(&p);
	pg_p_text_ne(&p, d->transport);
	pg_p_text(&p, d->direction);
	pg_p_text(&p, d->fingerprint);
	pg_p_text(&p, d->first_seen);
	pg_p_text(&p, d->last_seen);
	pg_p_u64(&p, d->count);
	pg_p_textn(&p, d->json, d->json_len);
	if (d->shared_ref > 0)
		pg_p_i64(&p, d->shared_ref);
	else
		pg_p_null(&p);
	if (p.bad)
		return -1;
	r = PQexecPrepared(s->conn, "pk_ins", p.n, p.v, p.len, p.fmt, 0);
	ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		pg_fail(s, "insert", r);
		PQclear(r);
		return -1;
	}
	n = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	*is_new = n > 0;
	return 0;
}

int
pg_host_settle(struct hub_store *st, const char *agent_id, uint64_t seq,
    uint64_t rejected, int64_t now_us)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;

	pg_p_init(&p);
	pg_p_text(&p, agent_id);
	pg_p_i64(&p, now_us);
	pg_p_u64(&p, seq);
	pg_p_u64(&p, rejected);
	if (pg_cmd(s, "INSERT INTO hosts (agent_id, host_name, first_seen_us, "
	    "last_seen_us, last_seq, rejected) VALUES ($1, '', $2, $2, $3, $4) "
	    "ON CONFLICT (agent_id) DO UPDATE SET last_seen_us = $2, "
	    "last_seq = GREATEST(hosts.last_seq, $3), "
	    "rejected = hosts.rejected + $4", &p, NULL, "settle") == -1)
		return -1;
	/* the next batch of this transaction sees the new mark */
	if (strcmp(s->lock_agent, agent_id) == 0) {
		if ((int64_t)seq > s->lock_last_seq)
			s->lock_last_seq = (int64_t)seq;
	} else
		s->lock_agent[0] = '\0';	/* lock it (again) next time */
	return 0;
}

int
pg_host_seen(struct hub_store *st, const char *agent_id,
    const char *host_name, uint64_t dropped, int64_t now_us)
{
	struct pg_params p;

	pg_p_init(&p);
	pg_p_text(&p, agent_id);
	pg_p_text(&p, host_name);
	pg_p_i64(&p, now_us);
	pg_p_i64(&p, dropped > (uint64_t)INT64_MAX ? INT64_MAX :
	    (int64_t)dropped);
	/* $2 NULL keeps the stored name (an import may not know it) */
	return pg_cmd((struct pg_store *)st, "INSERT INTO hosts (agent_id, "
	    "host_name, first_seen_us, last_seen_us, dropped) VALUES ($1, "
	    "coalesce($2, ''), $3, $3, $4) ON CONFLICT (agent_id) DO UPDATE "
	    "SET host_name = coalesce($2, hosts.host_name), last_seen_us = $3, "
	    "dropped = GREATEST(hosts.dropped, $4)", &p, NULL, "host");
}

/* ------------------------------------------------------------ retention */

struct pg_parts {
	int64_t		 days[4096];
	size_t		 n;
};

static int
pg_parts_row(const PGresult *r, int i, void *arg)
{
	struct pg_parts *pp = arg;
	const char *name = PQgetvalue(r, i, 0);
	char *end;
	long long d;

	if (strncmp(name, "indicators_d", 12) != 0)
		return 0;
	d = strtoll(name + 12, &end, 10);
	if (*end != '\0' || pp->n >= PK_NELEM(pp->days))
		return 0;
	pp->days[pp->n++] = d;
	return 0;
}

/* p = { "indicators_d<day>" } (the name lives in p). */
static const struct pg_params *
pg_part_name(struct pg_params *p, int64_t day)
{
	pg_p_init(p);
	snprintf(p->num[0], sizeof(p->num[0]), "indicators_d%" PRId64, day);
	p->v[0] = p->num[0];
	p->n = 1;
	return p;
}

static int
pg_count_row(const PGresult *r, int i, void *arg)
{
	*(uint64_t *)arg = pg_u64(r, i, 0);
	return 0;
}

/*
 * Whole days before the cutoff go as partitions (DROP TABLE: no row by
 * row delete, no bloat); the rest, the cutoff's own day and the default
 * partition, chunk by chunk as SQLite does.
 */
static int
pg_retention(struct hub_store *st, int64_t cutoff_us, uint32_t chunk,
    uint64_t *deleted)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_parts *pp;
	struct pg_params p;
	char sql[160];
	uint64_t n;
	size_t i;
	int found;

	pg_settle(s);
	*deleted = 0;
	if (chunk == 0)
		chunk = 1;
	if ((pp = calloc(1, sizeof(*pp))) == NULL)
		return -1;
	if (pg_each(s, "SELECT c.relname FROM pg_inherits i JOIN pg_class c "
	    "ON c.oid = i.inhrelid WHERE i.inhparent = 'indicators'::regclass",
	    NULL, pg_parts_row, pp, "retention") == -1)
		goto fail;
	for (i = 0; i < pp->n; i++) {
		if ((pp->days[i] + 1) * PG_DAY_US > cutoff_us)
			continue;
		n = 0;
		found = 0;
		if (pg_start(s) == -1)
			goto fail;
		/* under the partitions' lock, so that a hub making or
		 * dropping partitions at the same time waits; another
		 * hub's retention may have dropped this day already */
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
		    "indicators_d%" PRId64, pp->days[i]);
		if (pg_exec(s, "SELECT pg_advisory_xact_lock(" PG_LOCK_PARTS
		    ")") == -1 || pg_one(s, "SELECT 1 FROM pg_class WHERE "
		    "relname = $1 AND relnamespace = current_schema()::"
		    "regnamespace", pg_part_name(&p, pp->days[i]), NULL, NULL,
		    &found, "retention") == -1 ||
		    (found && pg_one(s, sql, NULL, pg_count_row, &n, &found,
		    "retention") == -1))
			goto abort;
		snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS "
		    "indicators_d%" PRId64, pp->days[i]);
		if (pg_exec(s, sql) == -1 || pg_end(s) == -1)
			goto fail;
		*deleted += n;
		log_info("store: retention dropped the partition of day %"
		    PRId64 " (%" PRIu64 " indicators)", pp->days[i], n);
	}
	free(pp);
	pp = NULL;
	do {
		pg_p_init(&p);
		pg_p_i64(&p, cutoff_us);
		pg_p_i64(&p, chunk);
		/* the outer ingest_us bound keeps the join to the
		 * cutoff's day and the default partition: without it
		 * each chunk read every partition (283 rows/s at 14
		 * million rows, tests/bench/pg_scale.py) */
		if (pg_cmd(s, "DELETE FROM indicators AS i USING (SELECT "
		    "agent_id, seq, ingest_us FROM indicators WHERE ingest_us "
		    "< $1 LIMIT $2) AS o WHERE i.ingest_us < $1 AND "
		    "i.agent_id = o.agent_id AND i.seq = o.seq AND "
		    "i.ingest_us = o.ingest_us", &p, &n, "retention") == -1)
			return -1;
		*deleted += n;
	} while (n == chunk);
	return 0;
abort:
	pg_abort(s);
fail:
	free(pp);
	return -1;
}

static int
pg_lead_row(const PGresult *r, int i, void *arg)
{
	*(int *)arg = strcmp(PQgetvalue(r, i, 0), "t") == 0;
	return 0;
}

/*
 * A session advisory lock per job: held by this connection until it
 * ends (the hub exits or dies), so exactly one hub runs the job and
 * another takes it over at its next ask.  Asked once it is held: a
 * session lock taken twice would need two unlocks.
 */
static int
pg_lead(struct hub_store *st, int job, int *mine)
{
	struct pg_store *s = (struct pg_store *)st;
	struct pg_params p;
	int found, got = 0;

	*mine = 0;
	if (job < 0 || job >= HUB_LEAD_N)
		return -1;
	if (s->leads & (1u << job)) {
		*mine = 1;
		return 0;
	}
	pg_p_init(&p);
	pg_p_i64(&p, PG_LOCK_LEAD + job);
	if (pg_one(s, "SELECT pg_try_advisory_lock(hashtext(current_schema()), "
	    "$1::integer)", &p,
	    pg_lead_row, &got, &found, "lead") == -1)
		return -1;
	if (got) {
		s->leads |= 1u << job;
		log_info("store: this hub now runs %s for every hub",
		    job == HUB_LEAD_PEERING ? "the pushes to peers" :
		    "retention");
	}
	*mine = got;
	return 0;
}

static int
pg_schema_version(struct hub_store *st, int *version)
{
	return pg_version(st, version);
}

const struct hub_store_ops hub_store_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.schema_version = pg_schema_version,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.group_join = pg_group_join,
	.group_commit = pg_group_commit,
	.group_rollback = pg_group_rollback,
	.insert = pg_insert,
	.host_seen = pg_host_seen,
	.host_settle = pg_host_settle,
	.host_get = pg_host_get,
	.query = pg_query,
	.retention = pg_retention,
	.hosts = pg_hosts,
	.host_rules = pg_host_rules,
	.find = pg_find,
	.token_add = pg_token_add,
	.token_find = pg_token_find,
	.token_list = pg_token_list,
	.token_revoke = pg_token_revoke,
	.audit_add = pg_audit_add,
	.audit_list = pg_audit_list,
	.size = pg_size,
	.etoken_add = pg_etoken_add,
	.etoken_find = pg_etoken_find,
	.etoken_list = pg_etoken_list,
	.etoken_revoke = pg_etoken_revoke,
	.etoken_use = pg_etoken_use,
	.agent_put = pg_agent_put,
	.agent_get = pg_agent_get,
	.agent_list = pg_agent_list,
	.agent_revoke = pg_agent_revoke,
	.task_add = pg_task_add,
	.task_get = pg_task_get,
	.task_list = pg_task_list,
	.task_scan = pg_task_scan,
	.task_hosts = pg_task_hosts,
	.task_counts = pg_task_counts,
	.task_host_get = pg_task_host_get,
	.task_host_put = pg_task_host_put,
	.task_open_for = pg_task_open_for,
	.task_expiring = pg_task_expiring,
	.task_cancel = pg_task_cancel,
	.task_reported = pg_task_reported,
	.agent_known = pg_agent_known,
	.task_bytes_total = pg_task_bytes_total,
	.incident_add = pg_incident_add,
	.incident_get = pg_incident_get,
	.incident_list = pg_incident_list,
	.incident_put = pg_incident_put,
	.inc_link_add = pg_inc_link_add,
	.inc_links = pg_inc_links,
	.inc_event_add = pg_inc_event_add,
	.inc_events = pg_inc_events,
	.inc_counts = pg_inc_counts,
	.indicator_get = pg_indicator_get,
	.alerts = pg_alerts,
	.peer_add = pg_peer_add,
	.peer_get = pg_peer_get,
	.peer_list = pg_peer_list,
	.peer_update = pg_peer_update,
	.peer_remove = pg_peer_remove,
	.peer_sent = pg_peer_sent,
	.peer_cursor = pg_peer_cursor,
	.peer_error = pg_peer_error,
	.peer_received = pg_peer_received,
	.alerts_after = pg_alerts_after,
	.shared_put = pg_shared_put,
	.shared_list = pg_shared_list,
	.shared_get = pg_shared_get,
	.shared_decide = pg_shared_decide,
	.sent_add = pg_sent_add,
	.sent_list = pg_sent_list,
	.shared_signature = pg_shared_signature,
	.shared_approved = pg_shared_approved,
	.bundle_add = pg_bundle_add,
	.bundle_get = pg_bundle_get,
	.bundle_list = pg_bundle_list,
	.bundle_current = pg_bundle_current,
	.bundle_sha_withdrawn = pg_bundle_sha_withdrawn,
	.bundle_withdraw = pg_bundle_withdraw,
	.bundle_members = pg_bundle_members,
	.agent_bundle_put = pg_agent_bundle_put,
	.agent_bundle_get = pg_agent_bundle_get,
	.agent_bundles = pg_agent_bundles,
	.shared_reach = pg_shared_reach,
	.shared_reached_hosts = pg_shared_reached_hosts,
	.shared_matches = pg_shared_matches,
	.lead = pg_lead,
};
