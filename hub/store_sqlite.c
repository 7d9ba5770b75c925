/*
 * store_sqlite.c - the SQLite backend of hub/store.h: one database file in
 * the hub's data directory, WAL mode (readers never block the ingest
 * writer), a busy timeout instead of immediate SQLITE_BUSY, synchronous
 * FULL because an ACK promises the agent that the batch is on disk (the
 * listener groups many batches into one commit to pay that fsync once per
 * loop turn, not once per batch: see "group" below).  The
 * schema is versioned: schema_version holds one row and each migration
 * below moves the database one version up inside a transaction, so an old
 * database is upgraded on open and a newer one is refused.  Layout and
 * retention are documented in docs/schema-hub.md.  Only hub code calls it,
 * through hub_store_sqlite.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/store.h"
#include "transport/task.h"

#define SQ_BUSY_MS	5000
#define SQ_QUERY_MAX	1024

struct sq_store {
	struct hub_store	 base;		/* first: hub_store * casts */
	sqlite3			*db;
	sqlite3_stmt		*ins;		/* insert one indicator */
	int			 grp_open;	/* the group's transaction */
	int			 grp_failed;	/* part of the group was lost */
};

/* Migration i takes the schema from version i to i + 1. */
static const char *const migrations[] = {
	/* 0 -> 1: hosts, indicators and the UI's indexes */
	"CREATE TABLE hosts ("
	"  agent_id TEXT PRIMARY KEY,"
	"  host_name TEXT NOT NULL DEFAULT '',"
	"  first_seen_us INTEGER NOT NULL,"
	"  last_seen_us INTEGER NOT NULL,"
	"  last_seq INTEGER NOT NULL DEFAULT 0,"
	"  dropped INTEGER NOT NULL DEFAULT 0,"
	"  rejected INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE indicators ("
	"  agent_id TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  ingest_us INTEGER NOT NULL,"
	"  ts_us INTEGER NOT NULL,"
	"  timestamp TEXT NOT NULL,"
	"  rule_id TEXT NOT NULL,"
	"  rule_name TEXT NOT NULL,"
	"  ruleset TEXT NOT NULL,"
	"  event_kind TEXT NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  source_ip TEXT,"
	"  destination_ip TEXT,"
	"  destination_port INTEGER,"
	"  transport TEXT,"
	"  direction TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  first_seen TEXT NOT NULL,"
	"  last_seen TEXT NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  json TEXT NOT NULL,"
	"  PRIMARY KEY (agent_id, seq));"
	"CREATE INDEX indicators_ts ON indicators(ts_us);"
	"CREATE INDEX indicators_host_ts ON indicators(agent_id, ts_us);"
	"CREATE INDEX indicators_fingerprint ON indicators(fingerprint, ts_us);"
	"CREATE INDEX indicators_rule ON indicators(rule_id, ts_us);"
	"CREATE INDEX indicators_ingest ON indicators(ingest_us);",
	/* 1 -> 2: the API's tokens and audit log, and the index its
	 * newest-first cursor pagination walks */
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  role INTEGER NOT NULL,"
	"  hash BLOB NOT NULL UNIQUE,"
	"  created_us INTEGER NOT NULL,"
	"  revoked_us INTEGER);"
	"CREATE UNIQUE INDEX tokens_valid_name ON tokens(name) "
	"  WHERE revoked_us IS NULL;"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  ts_us INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  remote TEXT NOT NULL,"
	"  result TEXT NOT NULL);"
	"CREATE INDEX indicators_page ON indicators(ts_us, agent_id, seq);",
	/* 2 -> 3: enrollment tokens and enrolled agents */
	"CREATE TABLE enroll_tokens ("
	"  id INTEGER PRIMARY KEY,"
	"  hash BLOB NOT NULL UNIQUE,"
	"  tag TEXT NOT NULL DEFAULT '',"
	"  created_us INTEGER NOT NULL,"
	"  expires_us INTEGER,"
	"  uses_max INTEGER NOT NULL,"
	"  uses INTEGER NOT NULL DEFAULT 0,"
	"  revoked_us INTEGER);"
	"CREATE TABLE agents ("
	"  agent_id TEXT PRIMARY KEY,"
	"  host_name TEXT NOT NULL DEFAULT '',"
	"  tag TEXT NOT NULL DEFAULT '',"
	"  spki TEXT NOT NULL,"
	"  enrolled_us INTEGER NOT NULL,"
	"  token_id INTEGER,"
	"  cert_serial TEXT NOT NULL,"
	"  not_after_us INTEGER NOT NULL,"
	"  revoked_us INTEGER);"
	"CREATE INDEX agents_not_after ON agents(not_after_us);",
	/* 3 -> 4: targeted collection: tasks and their state per host;
	 * the partial index holds only hosts whose task is not final
	 * (queued 1, sent 2, running 3): what a connecting agent and the
	 * expiry timer look for */
	"CREATE TABLE tasks ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  spec TEXT NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  created_us INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  expires_us INTEGER NOT NULL,"
	"  cancelled_us INTEGER,"
	"  targets TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX tasks_cancelled ON tasks(cancelled_us) "
	"  WHERE cancelled_us IS NOT NULL;"
	"CREATE TABLE task_hosts ("
	"  task_id INTEGER NOT NULL REFERENCES tasks(id),"
	"  agent_id TEXT NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  updated_us INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  final_bytes INTEGER NOT NULL DEFAULT 0,"
	"  rows INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (task_id, agent_id));"
	"CREATE INDEX task_hosts_open ON task_hosts(agent_id) "
	"  WHERE state <= 3;",
	/* 4 -> 5: incidents, what they link and their stored events; the
	 * list pages by id within a state, the timeline reads one
	 * incident's events in time order */
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  title TEXT NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  owner TEXT NOT NULL DEFAULT '',"
	"  created_us INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  since_us INTEGER NOT NULL,"
	"  contained_us INTEGER,"
	"  closed_us INTEGER,"
	"  lessons TEXT NOT NULL DEFAULT '',"
	"  report TEXT);"
	"CREATE INDEX incidents_state ON incidents(state, id);"
	"CREATE TABLE incident_links ("
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	"  kind INTEGER NOT NULL,"
	"  value TEXT NOT NULL,"
	"  added_us INTEGER NOT NULL,"
	"  added_by TEXT NOT NULL,"
	"  PRIMARY KEY (incident_id, kind, value));"
	"CREATE TABLE incident_events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  incident_id INTEGER NOT NULL REFERENCES incidents(id),"
	"  ts_us INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  text TEXT NOT NULL);"
	"CREATE INDEX incident_events_time ON incident_events(incident_id, "
	"  ts_us, id);",
	/* 5 -> 6: peering (docs/peering.md): the peers with their pinned
	 * CA, policy and both directions' progress, and what they shared,
	 * one row per (peer, STIX id) so a value sent again updates its
	 * row.  The list pages by id, newest first, within a state, a peer
	 * or a kind.  The send cursor is the indicators table's rowid: no
	 * new index on indicators (see sq_alerts_after). */
	"CREATE TABLE peers ("
	"  name TEXT PRIMARY KEY,"
	"  url TEXT NOT NULL,"
	"  ca_pem TEXT NOT NULL,"
	"  ca_sha256 TEXT NOT NULL,"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  send_tlp INTEGER NOT NULL,"
	"  send_min_severity INTEGER NOT NULL DEFAULT 0,"
	"  send_kinds INTEGER NOT NULL,"
	"  accept_tlp INTEGER NOT NULL,"
	"  auto_approve INTEGER NOT NULL DEFAULT 0,"
	"  created_us INTEGER NOT NULL,"
	"  cursor_rowid INTEGER NOT NULL DEFAULT 0,"
	"  send_seq INTEGER NOT NULL DEFAULT 1,"
	"  last_push_us INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '',"
	"  bundles_sent INTEGER NOT NULL DEFAULT 0,"
	"  indicators_sent INTEGER NOT NULL DEFAULT 0,"
	"  recv_seq INTEGER NOT NULL DEFAULT 0,"
	"  bundles_received INTEGER NOT NULL DEFAULT 0,"
	"  indicators_received INTEGER NOT NULL DEFAULT 0,"
	"  objects_refused INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE shared_indicators ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  peer TEXT NOT NULL,"
	"  origin TEXT NOT NULL DEFAULT '',"
	"  stix_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL DEFAULT '',"
	"  rule_ids TEXT NOT NULL DEFAULT '[]',"
	"  tlp INTEGER NOT NULL,"
	"  hosts INTEGER NOT NULL DEFAULT 0,"
	"  count INTEGER NOT NULL DEFAULT 0,"
	"  first_received_us INTEGER NOT NULL,"
	"  last_received_us INTEGER NOT NULL,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  decided_by TEXT NOT NULL DEFAULT '',"
	"  decided_us INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (peer, stix_id));"
	"CREATE INDEX shared_state ON shared_indicators(state, id);"
	"CREATE INDEX shared_peer ON shared_indicators(peer, id);"
	"CREATE INDEX shared_kind ON shared_indicators(kind, id);"
	/* the outbreak view and incidents look values up one by one */
	"CREATE INDEX shared_value ON shared_indicators(kind, value);",
	/* 6 -> 7: the values each bundle carried to a peer (incidents show
	 * what went to whom and when) */
	"CREATE TABLE peer_sent_values ("
	"  peer TEXT NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  tlp INTEGER NOT NULL,"
	"  sent_us INTEGER NOT NULL,"
	"  PRIMARY KEY (peer, seq, kind, value));"
	"CREATE INDEX peer_sent_value ON peer_sent_values(kind, value);",
	/* 7 -> 8: bundles of approved shared indicators for the agents,
	 * what each agent runs, and which indicators a bundle entry matched
	 * (docs/peering.md, "From shared indicators to detection") */
	"CREATE TABLE bundles ("
	"  version INTEGER PRIMARY KEY,"
	"  created_us INTEGER NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  entries INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  content TEXT NOT NULL,"
	"  withdrawn INTEGER NOT NULL DEFAULT 0,"
	"  withdrawn_by TEXT NOT NULL DEFAULT '',"
	"  withdrawn_us INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX bundle_sha ON bundles(sha256);"
	/* the bundle timer's signature of the approved set: each max is
	 * one index seek, not a scan (sq_shared_signature) */
	"CREATE INDEX shared_received ON shared_indicators(state, "
	"last_received_us);"
	"CREATE INDEX shared_decided ON shared_indicators(decided_us);"
	"CREATE TABLE bundle_members ("
	"  version INTEGER NOT NULL,"
	"  shared_id INTEGER NOT NULL,"
	"  PRIMARY KEY (version, shared_id));"
	/* reach is asked per shared indicator */
	"CREATE INDEX bundle_member_shared ON bundle_members(shared_id, "
	"version);"
	"CREATE TABLE agent_bundle ("
	"  agent_id TEXT PRIMARY KEY,"
	"  running INTEGER NOT NULL DEFAULT 0,"
	"  previous INTEGER NOT NULL DEFAULT 0,"
	"  outcome INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  reported_us INTEGER NOT NULL DEFAULT 0,"
	"  applied_us INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE agent_bundle_events ("
	"  id INTEGER PRIMARY KEY,"
	"  agent_id TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  outcome INTEGER NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  us INTEGER NOT NULL);"
	"CREATE INDEX agent_bundle_event_version ON "
	"agent_bundle_events(version, agent_id);"
	"ALTER TABLE indicators ADD COLUMN shared_ref INTEGER;"
	"CREATE INDEX indicators_shared ON indicators(shared_ref, ts_us) "
	"WHERE shared_ref IS NOT NULL;",
	/* 8 -> 9: payload excerpts between peers (a peer's policy, the
	 * excerpt a shared indicator carried) and the rule ids of shared
	 * rows as rows of their own, so the outbreak view looks a rule up
	 * through an index instead of reading every row's JSON list
	 * (docs/peering.md).  The rows already kept are indexed here from
	 * their rule_ids text; a row whose text is not a JSON array gets
	 * none, as shared_put would give it. */
	"ALTER TABLE peers ADD COLUMN send_excerpts INTEGER NOT NULL "
	"DEFAULT 0;"
	"ALTER TABLE shared_indicators ADD COLUMN excerpt TEXT NOT NULL "
	"DEFAULT '';"
	"CREATE TABLE shared_rule_ids ("
	"  shared_id INTEGER NOT NULL,"
	"  rule_id TEXT NOT NULL,"
	"  PRIMARY KEY (rule_id, shared_id)) WITHOUT ROWID;"
	/* shared_put replaces a row's ids */
	"CREATE INDEX shared_rule_row ON shared_rule_ids(shared_id);"
	"INSERT OR IGNORE INTO shared_rule_ids (shared_id, rule_id) "
	"SELECT s.id, j.value FROM shared_indicators AS s, json_each("
	"CASE WHEN json_valid(s.rule_ids) THEN CASE json_type(s.rule_ids) "
	"WHEN 'array' THEN s.rule_ids ELSE '[]' END ELSE '[]' END) AS j "
	"WHERE j.type = 'text';",
	/* 9 -> 10: indicators_ts (ts_us) goes.  indicators_page (ts_us,
	 * agent_id, seq) begins with the same column and serves every
	 * time range and order it served; one index fewer to write for
	 * each stored indicator (docs/performance.md, "Ingest") */
	"DROP INDEX IF EXISTS indicators_ts;",
};

static int
sq_fail(struct sq_store *s, const char *what)
{
	log_warnx("store: %s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

static int
sq_exec(struct sq_store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("store: %s", msg != NULL ? msg : "exec failed");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
sq_version(struct hub_store *st, int *version)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*version = 0;
	rc = sqlite3_prepare_v2(s->db, "SELECT name FROM sqlite_master "
	    "WHERE type = 'table' AND name = 'schema_version'", -1, &q, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, "schema");
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc == SQLITE_DONE)
		return 0;		/* empty database */
	if (rc != SQLITE_ROW)
		return sq_fail(s, "schema");
	if (sqlite3_prepare_v2(s->db, "SELECT version FROM schema_version",
	    -1, &q, NULL) != SQLITE_OK)
		return sq_fail(s, "schema");
	if (sqlite3_step(q) == SQLITE_ROW)
		*version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return 0;
}

/* Bring the schema up to HUB_SCHEMA_VERSION, one step per transaction. */
static int
sq_migrate(struct sq_store *s)
{
	char sql[64];
	int v;

	if (sq_version(&s->base, &v) == -1)
		return -1;
	if (v > HUB_SCHEMA_VERSION) {
		log_warnx("store: database schema %d is newer than this "
		    "hub (%d)", v, HUB_SCHEMA_VERSION);
		return -1;
	}
	for (; v < HUB_SCHEMA_VERSION && (size_t)v < PK_NELEM(migrations);
	    v++) {
		if (sq_exec(s, "BEGIN IMMEDIATE") == -1)
			return -1;
		if (v == 0 && sq_exec(s, "CREATE TABLE IF NOT EXISTS "
		    "schema_version (version INTEGER NOT NULL);"
		    "DELETE FROM schema_version;"
		    "INSERT INTO schema_version VALUES (0)") == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET "
		    "version = %d", v + 1);
		if (sq_exec(s, migrations[v]) == -1 || sq_exec(s, sql) == -1)
			goto fail;
		if (sq_exec(s, "COMMIT") == -1)
			goto fail;
		log_info("store: schema migrated to version %d", v + 1);
	}
	return 0;
fail:
	sq_exec(s, "ROLLBACK");
	return -1;
}

static void
sq_close(struct hub_store *st)
{
	struct sq_store *s = (struct sq_store *)st;

	if (s == NULL)
		return;
	sqlite3_finalize(s->ins);
	sqlite3_close(s->db);
	free(s);
}

static int
sq_open(struct hub_store **out, const char *path)
{
	struct sq_store *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -1;
	s->base.ops = &hub_store_sqlite;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("store: %s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : "out of memory");
		sq_close(&s->base);
		return -1;
	}
	sqlite3_busy_timeout(s->db, SQ_BUSY_MS);
	if (sq_exec(s, "PRAGMA journal_mode = WAL") == -1 ||
	    sq_exec(s, "PRAGMA synchronous = FULL") == -1 ||
	    sq_migrate(s) == -1)
		goto fail;
	if (sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO indicators ("
	    "agent_id, seq, ingest_us, ts_us, timestamp, rule_id, rule_name, "
	    "ruleset, event_kind, severity, source_ip, destination_ip, "
	    "destination_port, transport, direction, fingerprint, first_seen, "
	    "last_seen, count, json, shared_ref) VALUES (?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &s->ins, NULL) !=
	    SQLITE_OK) {
		sq_fail(s, "prepare");
		goto fail;
	}
	*out = &s->base;
	return 0;
fail:
	sq_close(&s->base);
	return -1;
}

/* ------------------------------------------------------------ group
 *
 * Group commit (store.h, docs/hub.md): the listener writes the batches of
 * one loop turn into one transaction and holds their ACKs until
 * group_commit says it is durable.  Everything else that writes through
 * this connection (the API's audit rows and enrollments, tokens,
 * retention, a transaction of its own) first commits the open group
 * (sq_settle): it must never join the group, whose fate it does not
 * share, nor nest in it (BEGIN inside BEGIN is an error).  The outcome of
 * that early commit is kept for group_commit, which alone may release
 * ACKs; the held ACKs simply go out a little after their data is durable.
 */

/* Roll back whatever is open; SQLite may have done it already. */
static void
sq_abort(struct sq_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)sq_exec(s, "ROLLBACK");
}

static void
sq_settle(struct sq_store *s)
{
	if (!s->grp_open)
		return;
	s->grp_open = 0;
	if (sq_exec(s, "COMMIT") == -1) {
		sq_abort(s);
		s->grp_failed = 1;
	}
}

static int
sq_group_join(struct hub_store *st)
{
	struct sq_store *s = (struct sq_store *)st;

	if (s->grp_open)
		return 0;
	if (!sqlite3_get_autocommit(s->db)) {
		/* Someone's own transaction is open: a caller's bug. */
		log_warnx("store: group write inside another transaction");
		return -1;
	}
	if (sq_exec(s, "BEGIN IMMEDIATE") == -1)
		return -1;
	s->grp_open = 1;
	return 0;
}

static int
sq_group_commit(struct hub_store *st)
{
	struct sq_store *s = (struct sq_store *)st;
	int failed;

	if (s->grp_open) {
		s->grp_open = 0;
		if (sq_exec(s, "COMMIT") == -1) {
			sq_abort(s);
			s->grp_failed = 1;
		}
	}
	failed = s->grp_failed;
	s->grp_failed = 0;
	return failed ? -1 : 0;
}

static int
sq_group_rollback(struct hub_store *st)
{
	struct sq_store *s = (struct sq_store *)st;

	if (s->grp_open) {
		s->grp_open = 0;
		sq_abort(s);
	}
	s->grp_failed = 1;
	return 0;
}

/* ------------------------------------------------------------ own txn */

static int
sq_begin(struct hub_store *st)
{
	struct sq_store *s = (struct sq_store *)st;

	sq_settle(s);
	return sq_exec(s, "BEGIN IMMEDIATE");
}

static int
sq_commit(struct hub_store *st)
{
	return sq_exec((struct sq_store *)st, "COMMIT");
}

static int
sq_rollback(struct hub_store *st)
{
	return sq_exec((struct sq_store *)st, "ROLLBACK");
}

/* Bind a text column, NULL when empty (absent in the JSON). */
static void
sq_text(sqlite3_stmt *q, int i, const char *v, int null_if_empty)
{
	if (null_if_empty && v[0] == '\0')
		sqlite3_bind_null(q, i);
	else
		sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

static int
sq_insert(struct hub_store *st, const struct hub_indicator *d, int *is_new)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q = s->ins;
	int rc;

	*is_new = 0;
	if (d->seq > (uint64_t)INT64_MAX || d->count > (uint64_t)INT64_MAX ||
	    d->json_len > (size_t)SQ_QUERY_MAX * 1024 * 1024)
		return -1;
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	sqlite3_bind_text(q, 1, d->agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)d->seq);
	sqlite3_bind_int64(q, 3, d->ingest_us);
	sqlite3_bind_int64(q, 4, d->ts_us);
	sq_text(q, 5, d->timestamp, 0);
	sq_text(q, 6, d->rule_id, 0);
	sq_text(q, 7, d->rule_name, 0);
	sq_text(q, 8, d->ruleset, 0);
	sq_text(q, 9, d->event_kind, 0);
	sqlite3_bind_int(q, 10, d->severity);
	sq_text(q, 11, d->source_ip, 1);
	sq_text(q, 12, d->destination_ip, 1);
	if (d->destination_port >= 0)
		sqlite3_bind_int(q, 13, d->destination_port);
	sq_text(q, 14, d->transport, 1);
	sq_text(q, 15, d->direction, 0);
	sq_text(q, 16, d->fingerprint, 0);
	sq_text(q, 17, d->first_seen, 0);
	sq_text(q, 18, d->last_seen, 0);
	sqlite3_bind_int64(q, 19, (sqlite3_int64)d->count);
	sqlite3_bind_text(q, 20, d->json, (int)d->json_len, SQLITE_STATIC);
	if (d->shared_ref > 0)
		sqlite3_bind_int64(q, 21, d->shared_ref);
	rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "insert");
	*is_new = sqlite3_changes(s->db) > 0;
	return 0;
}

/* Prepare, bind and run a statement that returns no rows. */
static int
sq_run(struct sq_store *s, const char *sql, const char *t1, const char *t2,
    int64_t i3, int64_t i4, int64_t i5)
{
	sqlite3_stmt *q;
	int rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	sqlite3_bind_text(q, 1, t1, -1, SQLITE_STATIC);
	if (t2 != NULL)
		sqlite3_bind_text(q, 2, t2, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, i3);
	sqlite3_bind_int64(q, 4, i4);
	sqlite3_bind_int64(q, 5, i5);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "update");
}

static int
sq_host_seen(struct hub_store *st, const char *agent_id,
    const char *host_name, uint64_t dropped, int64_t now_us)
{
	if (dropped > (uint64_t)INT64_MAX)
		dropped = (uint64_t)INT64_MAX;
	/* ?2 NULL keeps the stored name (an import may not know it). */
	return sq_run((struct sq_store *)st,
	    "INSERT INTO hosts (agent_id, host_name, first_seen_us, "
	    "last_seen_us, dropped) VALUES (?1, coalesce(?2, ''), ?3, ?3, ?4) "
	    "ON CONFLICT(agent_id) DO UPDATE SET "
	    "host_name = coalesce(?2, host_name), last_seen_us = ?3, "
	    "dropped = max(dropped, ?4)",
	    agent_id, host_name, now_us, (int64_t)dropped, 0);
}

static int
sq_host_settle(struct hub_store *st, const char *agent_id, uint64_t seq,
    uint64_t rejected, int64_t now_us)
{
	if (seq > (uint64_t)INT64_MAX || rejected > (uint64_t)INT64_MAX)
		return -1;
	return sq_run((struct sq_store *)st,
	    "INSERT INTO hosts (agent_id, host_name, first_seen_us, "
	    "last_seen_us, last_seq, rejected) VALUES (?1, '', ?3, ?3, ?4, ?5) "
	    "ON CONFLICT(agent_id) DO UPDATE SET last_seen_us = ?3, "
	    "last_seq = max(last_seq, ?4), rejected = rejected + ?5",
	    agent_id, NULL, now_us, (int64_t)seq, (int64_t)rejected);
}

static void
sq_col(sqlite3_stmt *q, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	pk_strlcpy(out, t != NULL ? (const char *)t : "", cap);
}

static int
sq_host_get(struct hub_store *st, const char *agent_id, struct hub_host *h,
    int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*found = 0;
	memset(h, 0, sizeof(*h));
	if (sqlite3_prepare_v2(s->db, "SELECT agent_id, host_name, "
	    "first_seen_us, last_seen_us, last_seq, dropped, rejected "
	    "FROM hosts WHERE agent_id = ?", -1, &q, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	sqlite3_bind_text(q, 1, agent_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*found = 1;
		sq_col(q, 0, h->agent_id, sizeof(h->agent_id));
		sq_col(q, 1, h->host_name, sizeof(h->host_name));
		h->first_seen_us = sqlite3_column_int64(q, 2);
		h->last_seen_us = sqlite3_column_int64(q, 3);
		h->last_seq = (uint64_t)sqlite3_column_int64(q, 4);
		h->dropped = (uint64_t)sqlite3_column_int64(q, 5);
		h->rejected = (uint64_t)sqlite3_column_int64(q, 6);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s, "host");
	return 0;
}

/* Fill *d from a row of the query in sq_query (column order there). */
static void
sq_row(sqlite3_stmt *q, struct hub_indicator *d)
{
	memset(d, 0, sizeof(*d));
	sq_col(q, 0, d->agent_id, sizeof(d->agent_id));
	d->seq = (uint64_t)sqlite3_column_int64(q, 1);
	d->ingest_us = sqlite3_column_int64(q, 2);
	d->ts_us = sqlite3_column_int64(q, 3);
	sq_col(q, 4, d->timestamp, sizeof(d->timestamp));
	sq_col(q, 5, d->rule_id, sizeof(d->rule_id));
	sq_col(q, 6, d->rule_name, sizeof(d->rule_name));
	sq_col(q, 7, d->ruleset, sizeof(d->ruleset));
	sq_col(q, 8, d->event_kind, sizeof(d->event_kind));
	d->severity = sqlite3_column_int(q, 9);
	sq_col(q, 10, d->source_ip, sizeof(d->source_ip));
	sq_col(q, 11, d->destination_ip, sizeof(d->destination_ip));
	d->destination_port = sqlite3_column_type(q, 12) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(q, 12);
	sq_col(q, 13, d->transport, sizeof(d->transport));
	sq_col(q, 14, d->direction, sizeof(d->direction));
	sq_col(q, 15, d->fingerprint, sizeof(d->fingerprint));
	sq_col(q, 16, d->first_seen, sizeof(d->first_seen));
	sq_col(q, 17, d->last_seen, sizeof(d->last_seen));
	d->count = (uint64_t)sqlite3_column_int64(q, 18);
	d->json = (const char *)sqlite3_column_text(q, 19);
	d->json_len = (size_t)sqlite3_column_bytes(q, 19);
}

static int
sq_query(struct hub_store *st, const struct hub_query *hq, hub_row_fn fn,
    void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct hub_indicator d;
	sqlite3_stmt *q;
	char sql[SQ_QUERY_MAX];
	int rc, n;

	/* Fixed text, the filters bound by number: no value is ever
	 * spliced into the SQL. */
	n = snprintf(sql, sizeof(sql), "SELECT agent_id, seq, ingest_us, "
	    "ts_us, timestamp, rule_id, rule_name, ruleset, event_kind, "
	    "severity, source_ip, destination_ip, destination_port, "
	    "transport, direction, fingerprint, first_seen, last_seen, count, "
	    "json FROM indicators WHERE 1%s%s%s%s "
	    "ORDER BY ts_us, agent_id, seq LIMIT ?5",
	    hq->host != NULL ? " AND (agent_id = ?1 OR agent_id IN (SELECT "
	    "agent_id FROM hosts WHERE host_name = ?1))" : "",
	    hq->since_us != 0 ? " AND ts_us >= ?2" : "",
	    hq->kind != NULL ? " AND event_kind = ?3" : "",
	    hq->rule != NULL ? " AND rule_id = ?4" : "");
	if (n < 0 || (size_t)n >= sizeof(sql))
		return -1;
	if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	if (hq->host != NULL)
		sqlite3_bind_text(q, 1, hq->host, -1, SQLITE_STATIC);
	if (hq->since_us != 0)
		sqlite3_bind_int64(q, 2, hq->since_us);
	if (hq->kind != NULL)
		sqlite3_bind_text(q, 3, hq->kind, -1, SQLITE_STATIC);
	if (hq->rule != NULL)
		sqlite3_bind_text(q, 4, hq->rule, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, hq->limit == 0 ||
	    hq->limit > (uint64_t)INT64_MAX ? -1 : (sqlite3_int64)hq->limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		sq_row(q, &d);
		if (fn(arg, &d) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "query");
}

static int
sq_retention(struct hub_store *st, int64_t cutoff_us, uint32_t chunk,
    uint64_t *deleted)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc, n;

	sq_settle(s);
	*deleted = 0;
	if (chunk == 0)
		chunk = 1;
	/* The newest row always stays, however old: with the table empty
	 * SQLite would number the next row 1 again, below the peers'
	 * cursors (docs/schema-hub.md), and it would never be shared. */
	if (sqlite3_prepare_v2(s->db, "DELETE FROM indicators WHERE rowid IN "
	    "(SELECT rowid FROM indicators WHERE ingest_us < ? AND rowid < "
	    "(SELECT MAX(rowid) FROM indicators) LIMIT ?)",
	    -1, &q, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	/* Each round deletes at least one row or ends the loop, and each
	 * is its own transaction, so ingest waits at most one chunk. */
	do {
		sqlite3_bind_int64(q, 1, cutoff_us);
		sqlite3_bind_int64(q, 2, chunk);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(q);
			return sq_fail(s, "retention");
		}
		n = sqlite3_changes(s->db);
		*deleted += (uint64_t)n;
	} while ((uint32_t)n == chunk);
	sqlite3_finalize(q);
	return 0;
}

/* ------------------------------------------------------------ API */

static int
sq_prepare(struct sq_store *s, const char *sql, sqlite3_stmt **q)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, q, NULL) != SQLITE_OK)
		return sq_fail(s, "prepare");
	return 0;
}

/* Step q to the end, calling row(q) per row; finalizes q. */
static int
sq_each(struct sq_store *s, sqlite3_stmt *q, int (*row)(sqlite3_stmt *,
    void *), void *arg, const char *what)
{
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		if (row(q, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, what);
}

struct sq_cb {
	void	*fn;
	void	*arg;
};

static void
sq_host_row(sqlite3_stmt *q, struct hub_host *h)
{
	memset(h, 0, sizeof(*h));
	sq_col(q, 0, h->agent_id, sizeof(h->agent_id));
	sq_col(q, 1, h->host_name, sizeof(h->host_name));
	h->first_seen_us = sqlite3_column_int64(q, 2);
	h->last_seen_us = sqlite3_column_int64(q, 3);
	h->last_seq = (uint64_t)sqlite3_column_int64(q, 4);
	h->dropped = (uint64_t)sqlite3_column_int64(q, 5);
	h->rejected = (uint64_t)sqlite3_column_int64(q, 6);
}

static int
sq_hosts_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_host h;

	sq_host_row(q, &h);
	return ((hub_host_fn)cb->fn)(cb->arg, &h);
}

static int
sq_hosts(struct hub_store *st, hub_host_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, "SELECT agent_id, host_name, first_seen_us, "
	    "last_seen_us, last_seq, dropped, rejected FROM hosts "
	    "ORDER BY agent_id", &q) == -1)
		return -1;
	return sq_each(s, q, sq_hosts_row, &cb, "hosts");
}

static int
sq_rules_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_rule_count r;

	memset(&r, 0, sizeof(r));
	sq_col(q, 0, r.rule_id, sizeof(r.rule_id));
	sq_col(q, 1, r.rule_name, sizeof(r.rule_name));
	r.count = (uint64_t)sqlite3_column_int64(q, 2);
	r.last_ts_us = sqlite3_column_int64(q, 3);
	return ((hub_rule_fn)cb->fn)(cb->arg, &r);
}

static int
sq_host_rules(struct hub_store *st, const char *agent_id, hub_rule_fn fn,
    void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, "SELECT rule_id, max(rule_name), count(*), "
	    "max(ts_us) FROM indicators WHERE agent_id = ? GROUP BY rule_id "
	    "ORDER BY count(*) DESC, rule_id", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, agent_id, -1, SQLITE_STATIC);
	return sq_each(s, q, sq_rules_row, &cb, "host rules");
}

static int
sq_find_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_indicator d;

	sq_row(q, &d);
	return ((hub_row_fn)cb->fn)(cb->arg, &d);
}

static int
sq_find(struct hub_store *st, const struct hub_ind_filter *f, hub_row_fn fn,
    void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;
	char sql[SQ_QUERY_MAX * 2];
	int n;

	/* Fixed text, every value bound by number. */
	n = snprintf(sql, sizeof(sql), "SELECT agent_id, seq, ingest_us, "
	    "ts_us, timestamp, rule_id, rule_name, ruleset, event_kind, "
	    "severity, source_ip, destination_ip, destination_port, "
	    "transport, direction, fingerprint, first_seen, last_seen, count, "
	    "json FROM indicators WHERE 1%s%s%s%s%s%s%s%s "
	    "ORDER BY ts_us DESC, agent_id DESC, seq DESC LIMIT ?11",
	    f->host != NULL ? " AND (agent_id = ?1 OR agent_id IN (SELECT "
	    "agent_id FROM hosts WHERE host_name = ?1))" : "",
	    f->kind != NULL ? " AND event_kind = ?2" : "",
	    f->rule != NULL ? " AND rule_id = ?3" : "",
	    f->text != NULL ? " AND (instr(lower(rule_name), lower(?4)) > 0 "
	    "OR instr(lower(coalesce(json_extract(json, '$.message'), '')), "
	    "lower(?4)) > 0)" : "",
	    f->severity_min >= 0 ? " AND severity >= ?5" : "",
	    f->since_us != 0 ? " AND ts_us >= ?6" : "",
	    f->until_us != 0 ? " AND ts_us < ?7" : "",
	    f->has_after ? " AND (ts_us, agent_id, seq) < (?8, ?9, ?10)" : "");
	if (n < 0 || (size_t)n >= sizeof(sql) ||
	    f->after_seq > (uint64_t)INT64_MAX)
		return -1;
	if (sq_prepare(s, sql, &q) == -1)
		return -1;
	if (f->host != NULL)
		sqlite3_bind_text(q, 1, f->host, -1, SQLITE_STATIC);
	if (f->kind != NULL)
		sqlite3_bind_text(q, 2, f->kind, -1, SQLITE_STATIC);
	if (f->rule != NULL)
		sqlite3_bind_text(q, 3, f->rule, -1, SQLITE_STATIC);
	if (f->text != NULL)
		sqlite3_bind_text(q, 4, f->text, -1, SQLITE_STATIC);
	if (f->severity_min >= 0)
		sqlite3_bind_int(q, 5, f->severity_min);
	if (f->since_us != 0)
		sqlite3_bind_int64(q, 6, f->since_us);
	if (f->until_us != 0)
		sqlite3_bind_int64(q, 7, f->until_us);
	if (f->has_after) {
		sqlite3_bind_int64(q, 8, f->after_ts_us);
		sqlite3_bind_text(q, 9, f->after_agent, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 10, (sqlite3_int64)f->after_seq);
	}
	sqlite3_bind_int64(q, 11, f->limit == 0 ||
	    f->limit > (uint64_t)INT64_MAX ? -1 : (sqlite3_int64)f->limit);
	return sq_each(s, q, sq_find_row, &cb, "find");
}

static void
sq_token_row(sqlite3_stmt *q, struct hub_token *t)
{
	const void *h;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(q, 0);
	sq_col(q, 1, t->name, sizeof(t->name));
	t->role = sqlite3_column_int(q, 2);
	h = sqlite3_column_blob(q, 3);
	if (h != NULL && sqlite3_column_bytes(q, 3) == HUB_TOKEN_HASH_LEN)
		memcpy(t->hash, h, HUB_TOKEN_HASH_LEN);
	t->created_us = sqlite3_column_int64(q, 4);
	t->revoked_us = sqlite3_column_type(q, 5) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(q, 5);
}

#define SQ_TOKEN_COLS "SELECT id, name, role, hash, created_us, revoked_us " \
	"FROM tokens "

static int
sq_token_add(struct hub_store *st, const struct hub_token *t, int *dup)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	sq_settle(s);
	*dup = 0;
	if (sq_prepare(s, "INSERT INTO tokens (name, role, hash, created_us) "
	    "VALUES (?, ?, ?, ?)", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, t->role);
	sqlite3_bind_blob(q, 3, t->hash, HUB_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, t->created_us);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc == SQLITE_CONSTRAINT) {
		*dup = 1;
		return 0;
	}
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "token");
}

static int
sq_token_find(struct hub_store *st, const uint8_t hash[HUB_TOKEN_HASH_LEN],
    struct hub_token *t, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*found = 0;
	if (sq_prepare(s, SQ_TOKEN_COLS "WHERE hash = ?", &q) == -1)
		return -1;
	sqlite3_bind_blob(q, 1, hash, HUB_TOKEN_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		sq_token_row(q, t);
		*found = 1;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sq_fail(s, "token");
}

static int
sq_tokens_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_token t;

	sq_token_row(q, &t);
	return ((hub_token_fn)cb->fn)(cb->arg, &t);
}

static int
sq_token_list(struct hub_store *st, hub_token_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, SQ_TOKEN_COLS "ORDER BY id", &q) == -1)
		return -1;
	return sq_each(s, q, sq_tokens_row, &cb, "tokens");
}

static int
sq_token_revoke(struct hub_store *st, const char *name, int64_t now_us,
    int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	sq_settle(s);
	*found = 0;
	if (sq_prepare(s, "UPDATE tokens SET revoked_us = ? WHERE name = ? "
	    "AND revoked_us IS NULL", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, now_us);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "revoke");
	*found = sqlite3_changes(s->db) > 0;
	return 0;
}

static int
sq_audit_add(struct hub_store *st, const struct hub_audit *a)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	sq_settle(s);
	if (sq_prepare(s, "INSERT INTO audit (ts_us, actor, role, action, "
	    "target, remote, result) VALUES (?, ?, ?, ?, ?, ?, ?)", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, a->ts_us);
	sqlite3_bind_text(q, 2, a->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, a->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, a->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, a->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, a->remote, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, a->result, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "audit");
}

static int
sq_audit_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_audit a;

	memset(&a, 0, sizeof(a));
	a.id = sqlite3_column_int64(q, 0);
	a.ts_us = sqlite3_column_int64(q, 1);
	sq_col(q, 2, a.actor, sizeof(a.actor));
	sq_col(q, 3, a.role, sizeof(a.role));
	sq_col(q, 4, a.action, sizeof(a.action));
	sq_col(q, 5, a.target, sizeof(a.target));
	sq_col(q, 6, a.remote, sizeof(a.remote));
	sq_col(q, 7, a.result, sizeof(a.result));
	return ((hub_audit_fn)cb->fn)(cb->arg, &a);
}

static int
sq_audit_list(struct hub_store *st, int64_t before_id, uint64_t limit,
    hub_audit_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, "SELECT id, ts_us, actor, role, action, target, "
	    "remote, result FROM audit WHERE id < ? ORDER BY id DESC "
	    "LIMIT ?", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, before_id > 0 ? before_id : INT64_MAX);
	sqlite3_bind_int64(q, 2, limit == 0 || limit > (uint64_t)INT64_MAX ?
	    -1 : (sqlite3_int64)limit);
	return sq_each(s, q, sq_audit_row, &cb, "audit");
}

static int
sq_pragma(struct sq_store *s, const char *sql, int64_t *v)
{
	sqlite3_stmt *q;
	int rc;

	*v = 0;
	if (sq_prepare(s, sql, &q) == -1)
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : sq_fail(s, "pragma");
}

static int
sq_size(struct hub_store *st, uint64_t *bytes)
{
	struct sq_store *s = (struct sq_store *)st;
	int64_t pages, psize;

	*bytes = 0;
	if (sq_pragma(s, "PRAGMA page_count", &pages) == -1 ||
	    sq_pragma(s, "PRAGMA page_size", &psize) == -1)
		return -1;
	if (pages > 0 && psize > 0)
		*bytes = (uint64_t)pages * (uint64_t)psize;
	return 0;
}

/* ------------------------------------------------------------ enrollment */

#define SQ_ETOKEN_COLS "SELECT id, hash, tag, created_us, expires_us, " \
	"uses_max, uses, revoked_us FROM enroll_tokens "

static int
sq_etoken_add(struct hub_store *st, const struct hub_enroll_token *t,
    int64_t *id)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	sq_settle(s);
	*id = 0;
	if (t->uses_max > (uint64_t)INT64_MAX)
		return -1;
	if (sq_prepare(s, "INSERT INTO enroll_tokens (hash, tag, created_us, "
	    "expires_us, uses_max) VALUES (?, ?, ?, ?, ?)", &q) == -1)
		return -1;
	sqlite3_bind_blob(q, 1, t->hash, HUB_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, t->tag, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, t->created_us);
	if (t->expires_us != 0)
		sqlite3_bind_int64(q, 4, t->expires_us);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)t->uses_max);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "enroll token");
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static void
sq_etoken_row(sqlite3_stmt *q, struct hub_enroll_token *t)
{
	const void *h;

	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(q, 0);
	h = sqlite3_column_blob(q, 1);
	if (h != NULL && sqlite3_column_bytes(q, 1) == HUB_TOKEN_HASH_LEN)
		memcpy(t->hash, h, HUB_TOKEN_HASH_LEN);
	sq_col(q, 2, t->tag, sizeof(t->tag));
	t->created_us = sqlite3_column_int64(q, 3);
	t->expires_us = sqlite3_column_type(q, 4) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(q, 4);
	t->uses_max = (uint64_t)sqlite3_column_int64(q, 5);
	t->uses = (uint64_t)sqlite3_column_int64(q, 6);
	t->revoked_us = sqlite3_column_type(q, 7) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(q, 7);
}

static int
sq_etoken_find(struct hub_store *st, const uint8_t hash[HUB_TOKEN_HASH_LEN],
    struct hub_enroll_token *t, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*found = 0;
	if (sq_prepare(s, SQ_ETOKEN_COLS "WHERE hash = ?", &q) == -1)
		return -1;
	sqlite3_bind_blob(q, 1, hash, HUB_TOKEN_HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		sq_etoken_row(q, t);
		*found = 1;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sq_fail(s, "enroll token");
}

static int
sq_etokens_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_enroll_token t;

	sq_etoken_row(q, &t);
	return ((hub_etoken_fn)cb->fn)(cb->arg, &t);
}

static int
sq_etoken_list(struct hub_store *st, hub_etoken_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, SQ_ETOKEN_COLS "ORDER BY id", &q) == -1)
		return -1;
	return sq_each(s, q, sq_etokens_row, &cb, "enroll tokens");
}

/* Run an UPDATE with ?1 an integer and ?2 an integer or (t2) text;
 * *changed: whether a row changed. */
static int
sq_update1(struct sq_store *s, const char *sql, int64_t i1, int64_t i2,
    const char *t2, int *changed)
{
	sqlite3_stmt *q;
	int rc;

	*changed = 0;
	sq_settle(s);
	if (sq_prepare(s, sql, &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, i1);
	if (t2 != NULL)
		sqlite3_bind_text(q, 2, t2, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 2, i2);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "update");
	*changed = sqlite3_changes(s->db) > 0;
	return 0;
}

static int
sq_etoken_revoke(struct hub_store *st, int64_t id, int64_t now_us,
    int *found)
{
	return sq_update1((struct sq_store *)st, "UPDATE enroll_tokens SET "
	    "revoked_us = ?1 WHERE id = ?2 AND revoked_us IS NULL",
	    now_us, id, NULL, found);
}

static int
sq_etoken_use(struct hub_store *st, int64_t id, int64_t now_us, int *ok)
{
	return sq_update1((struct sq_store *)st, "UPDATE enroll_tokens SET "
	    "uses = uses + 1 WHERE id = ?2 AND revoked_us IS NULL AND "
	    "uses < uses_max AND (expires_us IS NULL OR expires_us > ?1)",
	    now_us, id, NULL, ok);
}

static int
sq_agent_put(struct hub_store *st, const struct hub_agent *a)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	sq_settle(s);
	if (sq_prepare(s, "INSERT OR REPLACE INTO agents (agent_id, "
	    "host_name, tag, spki, enrolled_us, token_id, cert_serial, "
	    "not_after_us, revoked_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, a->agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, a->host_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, a->tag, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, a->spki, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, a->enrolled_us);
	if (a->token_id != 0)
		sqlite3_bind_int64(q, 6, a->token_id);
	sqlite3_bind_text(q, 7, a->serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, a->not_after_us);
	if (a->revoked_us != 0)
		sqlite3_bind_int64(q, 9, a->revoked_us);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "agent");
}

#define SQ_AGENT_COLS "SELECT agent_id, host_name, tag, spki, enrolled_us, " \
	"token_id, cert_serial, not_after_us, revoked_us FROM agents "

static void
sq_agent_row(sqlite3_stmt *q, struct hub_agent *a)
{
	memset(a, 0, sizeof(*a));
	sq_col(q, 0, a->agent_id, sizeof(a->agent_id));
	sq_col(q, 1, a->host_name, sizeof(a->host_name));
	sq_col(q, 2, a->tag, sizeof(a->tag));
	sq_col(q, 3, a->spki, sizeof(a->spki));
	a->enrolled_us = sqlite3_column_int64(q, 4);
	a->token_id = sqlite3_column_int64(q, 5);
	sq_col(q, 6, a->serial, sizeof(a->serial));
	a->not_after_us = sqlite3_column_int64(q, 7);
	a->revoked_us = sqlite3_column_type(q, 8) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(q, 8);
}

static int
sq_agent_get(struct hub_store *st, const char *agent_id, struct hub_agent *a,
    int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*found = 0;
	if (sq_prepare(s, SQ_AGENT_COLS "WHERE agent_id = ?", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, agent_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		sq_agent_row(q, a);
		*found = 1;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sq_fail(s, "agent");
}

static int
sq_agents_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_agent a;

	sq_agent_row(q, &a);
	return ((hub_agent_fn)cb->fn)(cb->arg, &a);
}

static int
sq_agent_list(struct hub_store *st, hub_agent_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, SQ_AGENT_COLS "ORDER BY enrolled_us, agent_id",
	    &q) == -1)
		return -1;
	return sq_each(s, q, sq_agents_row, &cb, "agents");
}

static int
sq_agent_revoke(struct hub_store *st, const char *agent_id, int64_t now_us,
    int *found)
{
	return sq_update1((struct sq_store *)st, "UPDATE agents SET "
	    "revoked_us = ?1 WHERE agent_id = ?2 AND revoked_us IS NULL",
	    now_us, 0, agent_id, found);
}

/* ------------------------------------------------------------ tasks */

#define SQ_TASK_COLS "SELECT t.id, t.type, t.spec, t.created_us, " \
	"t.created_by, t.expires_us, t.cancelled_us, t.targets FROM tasks t "
/* A task's columns, then its host row's (from 8). */
#define SQ_TASK_COLS_H "SELECT t.id, t.type, t.spec, t.created_us, " \
	"t.created_by, t.expires_us, t.cancelled_us, t.targets, " SQ_THOST_COLS \
	" FROM tasks t"
#define SQ_THOST_COLS "h.task_id, h.agent_id, h.state, h.reason, " \
	"h.updated_us, h.bytes, h.final_bytes, h.rows"

/* Columns 0..7 of SQ_TASK_COLS; spec stays the statement's. */
static void
sq_task_row(sqlite3_stmt *q, struct hub_task *t)
{
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(q, 0);
	t->type = sqlite3_column_int(q, 1);
	t->spec = (const char *)sqlite3_column_text(q, 2);
	t->spec_len = (size_t)sqlite3_column_bytes(q, 2);
	if (t->spec == NULL)
		t->spec = "";
	t->created_us = sqlite3_column_int64(q, 3);
	sq_col(q, 4, t->created_by, sizeof(t->created_by));
	t->expires_us = sqlite3_column_int64(q, 5);
	t->cancelled_us = sqlite3_column_type(q, 6) == SQLITE_NULL ? 0 :
	    sqlite3_column_int64(q, 6);
	sq_col(q, 7, t->targets, sizeof(t->targets));
}

/* Columns at..at+7 of SQ_THOST_COLS. */
static void
sq_thost_row(sqlite3_stmt *q, int at, struct hub_task_host *h)
{
	memset(h, 0, sizeof(*h));
	h->task_id = sqlite3_column_int64(q, at);
	sq_col(q, at + 1, h->agent_id, sizeof(h->agent_id));
	h->state = sqlite3_column_int(q, at + 2);
	sq_col(q, at + 3, h->reason, sizeof(h->reason));
	h->updated_us = sqlite3_column_int64(q, at + 4);
	h->bytes = (uint64_t)sqlite3_column_int64(q, at + 5);
	h->final_bytes = (uint64_t)sqlite3_column_int64(q, at + 6);
	h->rows = (uint64_t)sqlite3_column_int64(q, at + 7);
}

static int
sq_task_add(struct hub_store *st, const struct hub_task *t,
    const char *const *agents, size_t n, int64_t *id)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q = NULL;
	size_t i;
	int rc;

	*id = 0;
	if (t->spec_len > INT_MAX)
		return -1;
	sq_settle(s);
	if (sq_exec(s, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (sq_prepare(s, "INSERT INTO tasks (spec, type, created_us, "
	    "created_by, expires_us, targets) VALUES (?, ?, ?, ?, ?, ?)",
	    &q) == -1)
		goto fail;
	sqlite3_bind_text(q, 1, t->spec, (int)t->spec_len, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, t->type);
	sqlite3_bind_int64(q, 3, t->created_us);
	sqlite3_bind_text(q, 4, t->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, t->expires_us);
	sqlite3_bind_text(q, 6, t->targets, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	q = NULL;
	if (rc != SQLITE_DONE) {
		sq_fail(s, "task");
		goto fail;
	}
	*id = sqlite3_last_insert_rowid(s->db);
	if (sq_prepare(s, "INSERT OR IGNORE INTO task_hosts (task_id, "
	    "agent_id, state, updated_us) VALUES (?, ?, 1, ?)", &q) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, *id);
		sqlite3_bind_text(q, 2, agents[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, t->created_us);
		if (sqlite3_step(q) != SQLITE_DONE) {
			sq_fail(s, "task host");
			goto fail;
		}
	}
	sqlite3_finalize(q);
	q = NULL;
	if (sq_exec(s, "COMMIT") == -1)
		goto fail;
	return 0;
fail:
	sqlite3_finalize(q);
	sq_abort(s);
	*id = 0;
	return -1;
}

static int
sq_tasks_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_task t;

	sq_task_row(q, &t);
	return ((hub_task_fn)cb->fn)(cb->arg, &t);
}

struct sq_found {
	struct sq_cb	 cb;
	int		*found;
};

static int
sq_task_found(sqlite3_stmt *q, void *arg)
{
	struct sq_found *f = arg;

	*f->found = 1;
	return sq_tasks_row(q, &f->cb);
}

static int
sq_task_get(struct hub_store *st, int64_t id, hub_task_fn fn, void *arg,
    int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_found f = { { (void *)fn, arg }, found };
	sqlite3_stmt *q;

	*found = 0;
	if (sq_prepare(s, SQ_TASK_COLS "WHERE t.id = ?", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	return sq_each(s, q, sq_task_found, &f, "task");
}

static int
sq_task_list(struct hub_store *st, int64_t before_id, uint64_t limit,
    hub_task_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, SQ_TASK_COLS "WHERE (?1 = 0 OR t.id < ?1) "
	    "ORDER BY t.id DESC LIMIT ?2", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, before_id);
	sqlite3_bind_int64(q, 2, limit == 0 || limit > INT64_MAX ? -1 :
	    (int64_t)limit);
	return sq_each(s, q, sq_tasks_row, &cb, "tasks");
}

static int
sq_task_scan(struct hub_store *st, int64_t after_id, int64_t cancelled_after,
    hub_task_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	/* Two index lookups: the rowid range and the partial index. */
	if (sq_prepare(s, SQ_TASK_COLS "WHERE t.id > ?1 UNION "
	    SQ_TASK_COLS "WHERE t.cancelled_us > ?2 ORDER BY 1", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, after_id);
	sqlite3_bind_int64(q, 2, cancelled_after);
	return sq_each(s, q, sq_tasks_row, &cb, "tasks");
}

static int
sq_thosts_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_task_host h;

	sq_thost_row(q, 0, &h);
	sq_col(q, 8, h.host_name, sizeof(h.host_name));
	return ((hub_task_host_fn)cb->fn)(cb->arg, &h);
}

static int
sq_task_hosts(struct hub_store *st, int64_t task_id, hub_task_host_fn fn,
    void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, "SELECT " SQ_THOST_COLS ", o.host_name FROM "
	    "task_hosts h LEFT JOIN hosts o ON o.agent_id = h.agent_id "
	    "WHERE h.task_id = ? ORDER BY h.agent_id", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, task_id);
	return sq_each(s, q, sq_thosts_row, &cb, "task hosts");
}

static int
sq_count_row(sqlite3_stmt *q, void *arg)
{
	uint64_t *counts = arg;
	int state = sqlite3_column_int(q, 0);

	if (state > 0 && state < PK_TS_NSTATES)
		counts[state] = (uint64_t)sqlite3_column_int64(q, 1);
	return 0;
}

static int
sq_task_counts(struct hub_store *st, int64_t task_id, uint64_t *counts)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	memset(counts, 0, PK_TS_NSTATES * sizeof(*counts));
	if (sq_prepare(s, "SELECT state, count(*) FROM task_hosts WHERE "
	    "task_id = ? GROUP BY state", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, task_id);
	return sq_each(s, q, sq_count_row, counts, "task counts");
}

static int
sq_task_host_get(struct hub_store *st, int64_t task_id, const char *agent_id,
    struct hub_task_host *h, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*found = 0;
	if (sq_prepare(s, "SELECT " SQ_THOST_COLS " FROM task_hosts h "
	    "WHERE h.task_id = ? AND h.agent_id = ?", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, task_id);
	sqlite3_bind_text(q, 2, agent_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		sq_thost_row(q, 0, h);
		*found = 1;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sq_fail(s, "task host");
}

static int
sq_task_host_put(struct hub_store *st, const struct hub_task_host *h)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	if (h->bytes > (uint64_t)INT64_MAX ||
	    h->final_bytes > (uint64_t)INT64_MAX ||
	    h->rows > (uint64_t)INT64_MAX)
		return -1;
	sq_settle(s);
	if (sq_prepare(s, "UPDATE task_hosts SET state = ?, reason = ?, "
	    "updated_us = ?, bytes = ?, final_bytes = ?, rows = ? WHERE "
	    "task_id = ? AND agent_id = ?", &q) == -1)
		return -1;
	sqlite3_bind_int(q, 1, h->state);
	sqlite3_bind_text(q, 2, h->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, h->updated_us);
	sqlite3_bind_int64(q, 4, (int64_t)h->bytes);
	sqlite3_bind_int64(q, 5, (int64_t)h->final_bytes);
	sqlite3_bind_int64(q, 6, (int64_t)h->rows);
	sqlite3_bind_int64(q, 7, h->task_id);
	sqlite3_bind_text(q, 8, h->agent_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "task host");
}

static int
sq_pairs_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_task t;
	struct hub_task_host h;

	sq_task_row(q, &t);
	sq_thost_row(q, 8, &h);
	return ((hub_task_pair_fn)cb->fn)(cb->arg, &t, &h);
}

static int
sq_task_open_for(struct hub_store *st, const char *agent_id,
    hub_task_pair_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, SQ_TASK_COLS_H " JOIN task_hosts h ON h.task_id = "
	    "t.id WHERE h.agent_id = ? AND h.state <= 3 ORDER BY t.id", &q)
	    == -1)
		return -1;
	sqlite3_bind_text(q, 1, agent_id, -1, SQLITE_STATIC);
	return sq_each(s, q, sq_pairs_row, &cb, "open tasks");
}

static int
sq_task_expiring(struct hub_store *st, int64_t now_us, hub_task_pair_fn fn,
    void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, SQ_TASK_COLS_H " JOIN task_hosts h ON h.task_id = "
	    "t.id WHERE h.state <= 2 AND t.expires_us <= ? ORDER BY t.id",
	    &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, now_us);
	return sq_each(s, q, sq_pairs_row, &cb, "expiring tasks");
}

static int
sq_task_cancel(struct hub_store *st, int64_t id, int64_t now_us,
    const char *reason, int *found, uint64_t *changed)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q = NULL;
	int rc;

	*found = 0;
	*changed = 0;
	sq_settle(s);
	if (sq_exec(s, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (sq_prepare(s, "UPDATE tasks SET cancelled_us = ?1 WHERE id = ?2",
	    &q) == -1)
		goto fail;
	sqlite3_bind_int64(q, 1, now_us);
	sqlite3_bind_int64(q, 2, id);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	q = NULL;
	if (rc != SQLITE_DONE)
		goto fail;
	*found = sqlite3_changes(s->db) > 0;
	if (sq_prepare(s, "UPDATE task_hosts SET state = 8, reason = ?1, "
	    "updated_us = ?2 WHERE task_id = ?3 AND state <= 3", &q) == -1)
		goto fail;
	sqlite3_bind_text(q, 1, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now_us);
	sqlite3_bind_int64(q, 3, id);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	q = NULL;
	if (rc != SQLITE_DONE)
		goto fail;
	*changed = (uint64_t)sqlite3_changes(s->db);
	if (sq_exec(s, "COMMIT") == -1)
		goto fail;
	return 0;
fail:
	sq_fail(s, "cancel");
	sq_abort(s);
	*found = 0;
	*changed = 0;
	return -1;
}

static int
sq_id_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	const unsigned char *t = sqlite3_column_text(q, 0);

	return t == NULL ? 0 : ((hub_id_fn)cb->fn)(cb->arg, (const char *)t);
}

static int
sq_task_reported(struct hub_store *st, int what, const char *value,
    int64_t since_us, hub_id_fn fn, void *arg)
{
	static const char *const sql[] = {
		[HUB_REPORTED_RULE] = "SELECT DISTINCT agent_id FROM "
		    "indicators WHERE rule_id = ?1 AND ts_us >= ?2",
		[HUB_REPORTED_FINGERPRINT] = "SELECT DISTINCT agent_id FROM "
		    "indicators WHERE fingerprint = lower(?1) AND ts_us >= ?2",
		/* no column for it: the JSON of the period's rows */
		[HUB_REPORTED_IOC] = "SELECT DISTINCT agent_id FROM indicators "
		    "WHERE ts_us >= ?2 AND json_extract(json, "
		    "'$.threat.indicator.name') = ?1 COLLATE NOCASE",
	};
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (what < 0 || what > HUB_REPORTED_IOC)
		return -1;
	if (sq_prepare(s, sql[what], &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, since_us);
	return sq_each(s, q, sq_id_row, &cb, "reported");
}

static int
sq_agent_known(struct hub_store *st, const char *agent_id, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*found = 0;
	if (sq_prepare(s, "SELECT 1 FROM hosts WHERE agent_id = ?1 UNION ALL "
	    "SELECT 1 FROM agents WHERE agent_id = ?1 LIMIT 1", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, agent_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	*found = rc == SQLITE_ROW;
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sq_fail(s, "agent");
}

static int
sq_task_bytes_total(struct hub_store *st, uint64_t *bytes)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*bytes = 0;
	if (sq_prepare(s, "SELECT coalesce(sum(bytes), 0) FROM task_hosts",
	    &q) == -1)
		return -1;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*bytes = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : sq_fail(s, "task bytes");
}

/* ------------------------------------------------------------ incidents */

#define SQ_INC_COLS "SELECT id, state, title, owner, created_by, lessons, " \
	"coalesce(report, ''), created_us, since_us, " \
	"coalesce(contained_us, 0), coalesce(closed_us, 0)"

/* Columns 0..10 of SQ_INC_COLS; the text stays the statement's. */
static void
sq_inc_row(sqlite3_stmt *q, struct hub_incident *i)
{
	const unsigned char *t;
	const char **txt[5];
	int k;

	memset(i, 0, sizeof(*i));
	i->id = sqlite3_column_int64(q, 0);
	i->state = sqlite3_column_int(q, 1);
	txt[0] = &i->title;
	txt[1] = &i->owner;
	txt[2] = &i->created_by;
	txt[3] = &i->lessons;
	txt[4] = &i->report;
	for (k = 0; k < 5; k++) {
		t = sqlite3_column_text(q, 2 + k);
		*txt[k] = t != NULL ? (const char *)t : "";
	}
	i->created_us = sqlite3_column_int64(q, 7);
	i->since_us = sqlite3_column_int64(q, 8);
	i->contained_us = sqlite3_column_int64(q, 9);
	i->closed_us = sqlite3_column_int64(q, 10);
}

static int
sq_incidents_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_incident i;

	sq_inc_row(q, &i);
	if (sqlite3_column_count(q) > 11)
		i.links = (uint64_t)sqlite3_column_int64(q, 11);
	return ((hub_incident_fn)cb->fn)(cb->arg, &i);
}

static int
sq_incident_add(struct hub_store *st, const struct hub_incident *i,
    int64_t *id)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*id = 0;
	sq_settle(s);
	if (sq_prepare(s, "INSERT INTO incidents (title, state, owner, "
	    "created_us, created_by, since_us) VALUES (?, ?, ?, ?, ?, ?)",
	    &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, i->title, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, i->state);
	sqlite3_bind_text(q, 3, i->owner != NULL ? i->owner : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, i->created_us);
	sqlite3_bind_text(q, 5, i->created_by != NULL ? i->created_by : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, i->since_us);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "incident");
	*id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int
sq_incident_get(struct hub_store *st, int64_t id, hub_incident_fn fn,
    void *arg, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;
	int rc;

	*found = 0;
	if (sq_prepare(s, SQ_INC_COLS " FROM incidents WHERE id = ?", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*found = 1;
		(void)sq_incidents_row(q, &cb);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sq_fail(s, "incident");
}

static int
sq_incident_list(struct hub_store *st, int64_t before_id, uint64_t limit,
    int state, hub_incident_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	/* The list never carries the reports: they can be large. */
	if (sq_prepare(s, "SELECT id, state, title, owner, created_by, "
	    "lessons, '', created_us, since_us, coalesce(contained_us, 0), "
	    "coalesce(closed_us, 0), (SELECT count(*) FROM incident_links l "
	    "WHERE l.incident_id = i.id) FROM incidents i WHERE "
	    "(?1 = 0 OR id < ?1) AND (?2 < 0 OR state = ?2) "
	    "ORDER BY id DESC LIMIT ?3", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, before_id);
	sqlite3_bind_int(q, 2, state);
	sqlite3_bind_int64(q, 3, limit == 0 || limit > INT64_MAX ? -1 :
	    (int64_t)limit);
	return sq_each(s, q, sq_incidents_row, &cb, "incidents");
}

static int
sq_incident_put(struct hub_store *st, const struct hub_incident *i,
    int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*found = 0;
	sq_settle(s);
	if (sq_prepare(s, "UPDATE incidents SET title = ?1, state = ?2, "
	    "owner = ?3, lessons = ?4, contained_us = nullif(?5, 0), "
	    "closed_us = nullif(?6, 0), report = nullif(?7, '') "
	    "WHERE id = ?8", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, i->title, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, i->state);
	sqlite3_bind_text(q, 3, i->owner != NULL ? i->owner : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(q, 4, i->lessons != NULL ? i->lessons : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, i->contained_us);
	sqlite3_bind_int64(q, 6, i->closed_us);
	sqlite3_bind_text(q, 7, i->report != NULL ? i->report : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, i->id);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "incident");
	*found = sqlite3_changes(s->db) > 0;
	return 0;
}

static int
sq_inc_link_add(struct hub_store *st, const struct hub_inc_link_row *l,
    int *dup)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*dup = 0;
	sq_settle(s);
	if (sq_prepare(s, "INSERT OR IGNORE INTO incident_links (incident_id, "
	    "kind, value, added_us, added_by) VALUES (?, ?, ?, ?, ?)",
	    &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, l->incident_id);
	sqlite3_bind_int(q, 2, l->kind);
	sqlite3_bind_text(q, 3, l->value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, l->added_us);
	sqlite3_bind_text(q, 5, l->added_by, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "incident link");
	*dup = sqlite3_changes(s->db) == 0;
	return 0;
}

static int
sq_inc_links_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_inc_link_row l;
	const unsigned char *t;

	memset(&l, 0, sizeof(l));
	l.incident_id = sqlite3_column_int64(q, 0);
	l.kind = sqlite3_column_int(q, 1);
	t = sqlite3_column_text(q, 2);
	l.value = t != NULL ? (const char *)t : "";
	l.added_us = sqlite3_column_int64(q, 3);
	sq_col(q, 4, l.added_by, sizeof(l.added_by));
	return ((hub_inc_link_fn)cb->fn)(cb->arg, &l);
}

static int
sq_inc_links(struct hub_store *st, int64_t id, uint64_t limit,
    hub_inc_link_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, "SELECT incident_id, kind, value, added_us, "
	    "added_by FROM incident_links WHERE incident_id = ? "
	    "ORDER BY rowid LIMIT ?", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, limit == 0 || limit > INT64_MAX ? -1 :
	    (int64_t)limit);
	return sq_each(s, q, sq_inc_links_row, &cb, "incident links");
}

static int
sq_inc_event_add(struct hub_store *st, const struct hub_inc_event *e)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	sq_settle(s);
	if (sq_prepare(s, "INSERT INTO incident_events (incident_id, ts_us, "
	    "kind, actor, text) VALUES (?, ?, ?, ?, ?)", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, e->incident_id);
	sqlite3_bind_int64(q, 2, e->ts_us);
	sqlite3_bind_text(q, 3, e->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, e->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, e->text != NULL ? e->text : "", -1,
	    SQLITE_STATIC);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "incident event");
}

static int
sq_inc_events_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_inc_event e;
	const unsigned char *t;

	memset(&e, 0, sizeof(e));
	e.id = sqlite3_column_int64(q, 0);
	e.incident_id = sqlite3_column_int64(q, 1);
	e.ts_us = sqlite3_column_int64(q, 2);
	sq_col(q, 3, e.kind, sizeof(e.kind));
	sq_col(q, 4, e.actor, sizeof(e.actor));
	t = sqlite3_column_text(q, 5);
	e.text = t != NULL ? (const char *)t : "";
	return ((hub_inc_event_fn)cb->fn)(cb->arg, &e);
}

static int
sq_inc_events(struct hub_store *st, int64_t id, uint64_t limit,
    hub_inc_event_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, "SELECT id, incident_id, ts_us, kind, actor, text "
	    "FROM incident_events WHERE incident_id = ? ORDER BY ts_us, id "
	    "LIMIT ?", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, limit == 0 || limit > INT64_MAX ? -1 :
	    (int64_t)limit);
	return sq_each(s, q, sq_inc_events_row, &cb, "incident events");
}

static int
sq_inc_counts(struct hub_store *st, int64_t id, uint64_t *links,
    uint64_t *events)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*links = *events = 0;
	if (sq_prepare(s, "SELECT (SELECT count(*) FROM incident_links WHERE "
	    "incident_id = ?1), (SELECT count(*) FROM incident_events WHERE "
	    "incident_id = ?1)", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*links = (uint64_t)sqlite3_column_int64(q, 0);
		*events = (uint64_t)sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW ? 0 : sq_fail(s, "incident counts");
}

#define SQ_IND_COLS "SELECT agent_id, seq, ingest_us, ts_us, timestamp, " \
	"rule_id, rule_name, ruleset, event_kind, severity, source_ip, " \
	"destination_ip, destination_port, transport, direction, " \
	"fingerprint, first_seen, last_seen, count, json FROM indicators "

static int
sq_ind_found(sqlite3_stmt *q, void *arg)
{
	struct sq_found *f = arg;

	*f->found = 1;
	return sq_find_row(q, &f->cb);
}

static int
sq_indicator_get(struct hub_store *st, const char *agent_id, uint64_t seq,
    hub_row_fn fn, void *arg, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_found f = { { (void *)fn, arg }, found };
	sqlite3_stmt *q;

	*found = 0;
	if (seq > (uint64_t)INT64_MAX)
		return 0;
	if (sq_prepare(s, SQ_IND_COLS "WHERE agent_id = ? AND seq = ?",
	    &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
	return sq_each(s, q, sq_ind_found, &f, "indicator");
}

static int
sq_alerts(struct hub_store *st, const struct hub_alert_filter *f,
    hub_row_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;
	char sql[SQ_QUERY_MAX * 2];
	int n;

	/* Fixed text, every value bound by number.  The agents' array
	 * goes in as one JSON text (json_each): no limit on bound
	 * parameters, and no id is ever spliced into the SQL. */
	n = snprintf(sql, sizeof(sql), SQ_IND_COLS "WHERE event_kind = "
	    "'alert' AND ts_us >= ?1 AND ts_us < ?2%s%s%s%s%s "
	    "ORDER BY ts_us, agent_id, seq LIMIT ?8",
	    f->fingerprint != NULL ? " AND fingerprint = lower(?3)" : "",
	    f->rule != NULL ? " AND rule_id = ?4" : "",
	    f->ioc_name != NULL ? " AND json_extract(json, "
	    "'$.threat.indicator.name') = ?5 COLLATE NOCASE" : "",
	    f->scan ? " AND (substr(rule_id, 1, 12) = 'picket.scan.' OR "
	    "rule_id = 'picket.process.scan')" : "",
	    f->agents != NULL ? " AND agent_id IN (SELECT value FROM "
	    "json_each(?6))" : "");
	if (n < 0 || (size_t)n >= sizeof(sql))
		return -1;
	if (sq_prepare(s, sql, &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, f->since_us);
	sqlite3_bind_int64(q, 2, f->until_us);
	if (f->fingerprint != NULL)
		sqlite3_bind_text(q, 3, f->fingerprint, -1, SQLITE_STATIC);
	if (f->rule != NULL)
		sqlite3_bind_text(q, 4, f->rule, -1, SQLITE_STATIC);
	if (f->ioc_name != NULL)
		sqlite3_bind_text(q, 5, f->ioc_name, -1, SQLITE_STATIC);
	if (f->agents != NULL)
		sqlite3_bind_text(q, 6, f->agents, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 8, f->limit == 0 ||
	    f->limit > (uint64_t)INT64_MAX ? -1 : (sqlite3_int64)f->limit);
	return sq_each(s, q, sq_find_row, &cb, "alerts");
}

/* ------------------------------------------------------------ peering
 *
 * Schema 6 (docs/peering.md).  Counters are INTEGER columns: values above
 * INT64_MAX are refused rather than wrapped.  The peer's CA is text kept
 * as given (PEM); its hash is computed by the caller (hub/peer_cli.c).
 */

#define SQ_PEER_COLS "SELECT name, url, ca_pem, ca_sha256, enabled, " \
	"send_tlp, send_min_severity, send_kinds, accept_tlp, auto_approve, " \
	"created_us, cursor_rowid, send_seq, last_push_us, last_error, " \
	"bundles_sent, indicators_sent, recv_seq, bundles_received, " \
	"indicators_received, objects_refused, send_excerpts FROM peers "

/* Columns of SQ_PEER_COLS; ca_pem stays the statement's. */
static int
sq_peer_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_peer p;
	const unsigned char *t;

	memset(&p, 0, sizeof(p));
	sq_col(q, 0, p.name, sizeof(p.name));
	sq_col(q, 1, p.url, sizeof(p.url));
	t = sqlite3_column_text(q, 2);
	p.ca_pem = t != NULL ? (const char *)t : "";
	p.ca_len = (size_t)sqlite3_column_bytes(q, 2);
	sq_col(q, 3, p.ca_sha256, sizeof(p.ca_sha256));
	p.enabled = sqlite3_column_int(q, 4);
	p.send_tlp = sqlite3_column_int(q, 5);
	p.send_min_severity = sqlite3_column_int(q, 6);
	p.send_kinds = (unsigned)sqlite3_column_int(q, 7);
	p.accept_tlp = sqlite3_column_int(q, 8);
	p.auto_approve = sqlite3_column_int(q, 9);
	p.created_us = sqlite3_column_int64(q, 10);
	p.cursor_rowid = sqlite3_column_int64(q, 11);
	p.send_seq = (uint64_t)sqlite3_column_int64(q, 12);
	p.last_push_us = sqlite3_column_int64(q, 13);
	sq_col(q, 14, p.last_error, sizeof(p.last_error));
	p.bundles_sent = (uint64_t)sqlite3_column_int64(q, 15);
	p.indicators_sent = (uint64_t)sqlite3_column_int64(q, 16);
	p.recv_seq = (uint64_t)sqlite3_column_int64(q, 17);
	p.bundles_received = (uint64_t)sqlite3_column_int64(q, 18);
	p.indicators_received = (uint64_t)sqlite3_column_int64(q, 19);
	p.objects_refused = (uint64_t)sqlite3_column_int64(q, 20);
	p.send_excerpts = sqlite3_column_int(q, 21);
	return ((hub_peer_fn)cb->fn)(cb->arg, &p);
}

static int
sq_peer_found(sqlite3_stmt *q, void *arg)
{
	struct sq_found *f = arg;

	*f->found = 1;
	return sq_peer_row(q, &f->cb);
}

/* Step a prepared write once; *changed whether a row changed (NULL: not
 * asked).  Finalizes q. */
static int
sq_write(struct sq_store *s, sqlite3_stmt *q, int *changed, const char *what)
{
	int rc;

	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, what);
	if (changed != NULL)
		*changed = sqlite3_changes(s->db) > 0;
	return 0;
}

static int
sq_peer_add(struct hub_store *st, const struct hub_peer *p, int *dup)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int rc;

	*dup = 0;
	if (p->ca_pem == NULL || p->ca_len > INT_MAX)
		return -1;
	sq_settle(s);
	if (sq_prepare(s, "INSERT INTO peers (name, url, ca_pem, ca_sha256, "
	    "enabled, send_tlp, send_min_severity, send_kinds, accept_tlp, "
	    "auto_approve, created_us, send_excerpts) VALUES (?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?)", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, p->url, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, p->ca_pem, (int)p->ca_len, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, p->ca_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 5, p->enabled != 0);
	sqlite3_bind_int(q, 6, p->send_tlp);
	sqlite3_bind_int(q, 7, p->send_min_severity);
	sqlite3_bind_int64(q, 8, (sqlite3_int64)p->send_kinds);
	sqlite3_bind_int(q, 9, p->accept_tlp);
	sqlite3_bind_int(q, 10, p->auto_approve != 0);
	sqlite3_bind_int64(q, 11, p->created_us);
	sqlite3_bind_int(q, 12, p->send_excerpts != 0);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc == SQLITE_CONSTRAINT) {
		*dup = 1;
		return 0;
	}
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "peer");
}

static int
sq_peer_get(struct hub_store *st, const char *name, hub_peer_fn fn,
    void *arg, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_found f = { { (void *)fn, arg }, found };
	sqlite3_stmt *q;

	*found = 0;
	if (sq_prepare(s, SQ_PEER_COLS "WHERE name = ?", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	return sq_each(s, q, sq_peer_found, &f, "peer");
}

static int
sq_peer_list(struct hub_store *st, hub_peer_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, SQ_PEER_COLS "ORDER BY name", &q) == -1)
		return -1;
	return sq_each(s, q, sq_peer_row, &cb, "peers");
}

static int
sq_peer_update(struct hub_store *st, const struct hub_peer *p, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	*found = 0;
	if (p->ca_pem != NULL && p->ca_len > INT_MAX)
		return -1;
	sq_settle(s);
	/* ?3 and ?4 NULL keep the CA and its hash. */
	if (sq_prepare(s, "UPDATE peers SET url = ?1, ca_pem = coalesce(?2, "
	    "ca_pem), ca_sha256 = coalesce(?3, ca_sha256), enabled = ?4, "
	    "send_tlp = ?5, send_min_severity = ?6, send_kinds = ?7, "
	    "accept_tlp = ?8, auto_approve = ?9, send_excerpts = ?11 "
	    "WHERE name = ?10", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, p->url, -1, SQLITE_STATIC);
	if (p->ca_pem != NULL) {
		sqlite3_bind_text(q, 2, p->ca_pem, (int)p->ca_len,
		    SQLITE_STATIC);
		sqlite3_bind_text(q, 3, p->ca_sha256, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int(q, 4, p->enabled != 0);
	sqlite3_bind_int(q, 5, p->send_tlp);
	sqlite3_bind_int(q, 6, p->send_min_severity);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)p->send_kinds);
	sqlite3_bind_int(q, 8, p->accept_tlp);
	sqlite3_bind_int(q, 9, p->auto_approve != 0);
	sqlite3_bind_text(q, 10, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 11, p->send_excerpts != 0);
	return sq_write(s, q, found, "peer");
}

static int
sq_peer_remove(struct hub_store *st, const char *name, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	*found = 0;
	sq_settle(s);
	if (sq_prepare(s, "DELETE FROM peers WHERE name = ?", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	return sq_write(s, q, found, "peer");
}

/*
 * The cursor never moves back (max): a late answer to an older push
 * cannot make rows go twice.  The sequence is written as given: the
 * pusher owns it.
 */
static int
sq_peer_sent(struct hub_store *st, const char *name, int64_t cursor_rowid,
    uint64_t next_seq, uint64_t n, int64_t now_us)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	if (next_seq > (uint64_t)INT64_MAX || n > (uint64_t)INT64_MAX)
		return -1;
	sq_settle(s);
	if (sq_prepare(s, "UPDATE peers SET cursor_rowid = max(cursor_rowid, "
	    "?1), send_seq = ?2, last_push_us = ?3, last_error = '', "
	    "bundles_sent = bundles_sent + 1, indicators_sent = "
	    "indicators_sent + ?4 WHERE name = ?5", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, cursor_rowid);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)next_seq);
	sqlite3_bind_int64(q, 3, now_us);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)n);
	sqlite3_bind_text(q, 5, name, -1, SQLITE_STATIC);
	return sq_write(s, q, NULL, "peer sent");
}

static int
sq_peer_cursor(struct hub_store *st, const char *name, int64_t cursor_rowid)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	sq_settle(s);
	if (sq_prepare(s, "UPDATE peers SET cursor_rowid = max(cursor_rowid, "
	    "?1) WHERE name = ?2", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, cursor_rowid);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	return sq_write(s, q, NULL, "peer cursor");
}

static int
sq_peer_error(struct hub_store *st, const char *name, const char *error)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	size_t n;

	n = error != NULL ? strnlen(error, HUB_PEER_ERR_MAX) : 0;
	sq_settle(s);
	if (sq_prepare(s, "UPDATE peers SET last_error = ?1 WHERE name = ?2",
	    &q) == -1)
		return -1;
	/* at most HUB_PEER_ERR_MAX bytes, as the struct holds */
	sqlite3_bind_text(q, 1, error != NULL ? error : "", (int)n,
	    SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	return sq_write(s, q, NULL, "peer error");
}

static int
sq_peer_received(struct hub_store *st, const char *name, uint64_t seq,
    uint64_t n, uint64_t refused)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	if (seq > (uint64_t)INT64_MAX || n > (uint64_t)INT64_MAX ||
	    refused > (uint64_t)INT64_MAX)
		return -1;
	sq_settle(s);
	if (sq_prepare(s, "UPDATE peers SET recv_seq = ?1, bundles_received = "
	    "bundles_received + 1, indicators_received = indicators_received "
	    "+ ?2, objects_refused = objects_refused + ?3 WHERE name = ?4",
	    &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)n);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)refused);
	sqlite3_bind_text(q, 4, name, -1, SQLITE_STATIC);
	return sq_write(s, q, NULL, "peer received");
}

static int
sq_rowid_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_indicator d;

	sq_row(q, &d);
	return ((hub_rowid_fn)cb->fn)(cb->arg, sqlite3_column_int64(q, 20),
	    &d);
}

/*
 * The row id is the indicators table's own rowid (it has no INTEGER
 * PRIMARY KEY; its key is (agent_id, seq)).  SQLite gives a new row the
 * largest rowid + 1, and every write to the table goes through one
 * writer at a time, so rowid order is the order rows were stored in and
 * a range scan of the table's b-tree reads them without an index.  Two
 * things would break that order, and neither may happen to this table:
 * a VACUUM, which may renumber rowids of a table without an INTEGER
 * PRIMARY KEY (the hub never runs one), and a retention that deletes
 * every row, after which numbering starts again at 1 (docs/schema-hub.md).
 *
 * The open group is committed first (sq_settle): the group's rows are
 * visible to this connection before they are durable, and a rolled-back
 * group gives its rowids out again, so a cursor that had moved past
 * uncommitted rows would skip the rows that later took their numbers.
 */
static int
sq_alerts_after(struct hub_store *st, int64_t after_rowid, uint64_t limit,
    hub_rowid_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	sq_settle(s);
	if (sq_prepare(s, "SELECT agent_id, seq, ingest_us, ts_us, timestamp, "
	    "rule_id, rule_name, ruleset, event_kind, severity, source_ip, "
	    "destination_ip, destination_port, transport, direction, "
	    "fingerprint, first_seen, last_seen, count, json, rowid "
	    "FROM indicators WHERE rowid > ?1 AND event_kind = 'alert' "
	    "ORDER BY rowid LIMIT ?2", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, after_rowid);
	sqlite3_bind_int64(q, 2, limit == 0 || limit > (uint64_t)INT64_MAX ?
	    -1 : (sqlite3_int64)limit);
	return sq_each(s, q, sq_rowid_row, &cb, "alerts after");
}

#define SQ_SHARED_SEL "SELECT id, peer, origin, stix_id, kind, value, " \
	"fingerprint, rule_ids, tlp, hosts, count, first_received_us, " \
	"last_received_us, state, decided_by, decided_us, excerpt "
#define SQ_SHARED_COLS SQ_SHARED_SEL "FROM shared_indicators "

static int
sq_shared_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_shared h;

	memset(&h, 0, sizeof(h));
	h.id = sqlite3_column_int64(q, 0);
	sq_col(q, 1, h.peer, sizeof(h.peer));
	sq_col(q, 2, h.origin, sizeof(h.origin));
	sq_col(q, 3, h.stix_id, sizeof(h.stix_id));
	sq_col(q, 4, h.kind, sizeof(h.kind));
	sq_col(q, 5, h.value, sizeof(h.value));
	sq_col(q, 6, h.fingerprint, sizeof(h.fingerprint));
	sq_col(q, 7, h.rule_ids, sizeof(h.rule_ids));
	h.tlp = sqlite3_column_int(q, 8);
	h.hosts = (uint64_t)sqlite3_column_int64(q, 9);
	h.count = (uint64_t)sqlite3_column_int64(q, 10);
	h.first_received_us = sqlite3_column_int64(q, 11);
	h.last_received_us = sqlite3_column_int64(q, 12);
	h.state = sqlite3_column_int(q, 13);
	sq_col(q, 14, h.decided_by, sizeof(h.decided_by));
	h.decided_us = sqlite3_column_int64(q, 15);
	sq_col(q, 16, h.excerpt, sizeof(h.excerpt));
	return ((hub_shared_fn)cb->fn)(cb->arg, &h);
}

static int
sq_shared_found(sqlite3_stmt *q, void *arg)
{
	struct sq_found *f = arg;

	*f->found = 1;
	return sq_shared_row(q, &f->cb);
}

/* Bind the value columns of s as ?1.. in the order both statements of
 * sq_shared_put name them. */
static void
sq_shared_bind(sqlite3_stmt *q, const struct hub_shared *h)
{
	sqlite3_bind_text(q, 1, h->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, h->stix_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, h->origin, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, h->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, h->value, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, h->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, h->rule_ids[0] != '\0' ? h->rule_ids : "[]",
	    -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 8, h->tlp);
	sqlite3_bind_int64(q, 9, (sqlite3_int64)h->hosts);
	sqlite3_bind_int64(q, 10, (sqlite3_int64)h->count);
	sqlite3_bind_int64(q, 11, h->first_received_us);
	sqlite3_bind_int64(q, 12, h->last_received_us);
	sqlite3_bind_int(q, 13, h->state);
	sqlite3_bind_text(q, 14, h->excerpt, -1, SQLITE_STATIC);
}

/*
 * The row (peer, stix_id)'s rule ids as rows of shared_rule_ids, in
 * place of the ones it had: what a rule outbreak looks peers up by.
 * Text that is not a JSON array gives none (share_in.c only stores
 * arrays of strings; the check keeps json_each from failing the put).
 */
static int
sq_shared_rules(struct sq_store *s, const struct hub_shared *h)
{
	sqlite3_stmt *q;

	if (sq_prepare(s, "DELETE FROM shared_rule_ids WHERE shared_id = "
	    "(SELECT id FROM shared_indicators WHERE peer = ?1 AND "
	    "stix_id = ?2)", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, h->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, h->stix_id, -1, SQLITE_STATIC);
	if (sq_write(s, q, NULL, "shared rules") == -1)
		return -1;
	if (sq_prepare(s, "INSERT OR IGNORE INTO shared_rule_ids (shared_id, "
	    "rule_id) SELECT s.id, j.value FROM shared_indicators AS s, "
	    "json_each(CASE WHEN json_valid(?3) THEN CASE json_type(?3) "
	    "WHEN 'array' THEN ?3 ELSE '[]' END ELSE '[]' END) AS j WHERE "
	    "s.peer = ?1 AND s.stix_id = ?2 AND j.type = 'text'", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, h->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, h->stix_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, h->rule_ids[0] != '\0' ? h->rule_ids : "[]",
	    -1, SQLITE_STATIC);
	return sq_write(s, q, NULL, "shared rules");
}

/*
 * Update first, insert when there was nothing to update: the number of
 * changed rows says which it was (an upsert changes one row either way).
 * Both run in one transaction, so a row cannot appear in between.  The
 * state, decided_by and decided_us of an existing row are never
 * written: an analyst's decision stands.
 */
static int
sq_shared_put(struct hub_store *st, const struct hub_shared *h, int *is_new)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int changed;

	*is_new = 0;
	if (h->hosts > (uint64_t)INT64_MAX || h->count > (uint64_t)INT64_MAX)
		return -1;
	sq_settle(s);
	if (sq_exec(s, "SAVEPOINT shared_put") == -1)
		return -1;
	if (sq_prepare(s, "UPDATE shared_indicators SET origin = ?3, "
	    "kind = ?4, value = ?5, fingerprint = ?6, rule_ids = ?7, tlp = ?8, "
	    "hosts = ?9, count = ?10, last_received_us = max(last_received_us, "
	    "?12), excerpt = ?14 WHERE peer = ?1 AND stix_id = ?2", &q) == -1)
		goto fail;
	sq_shared_bind(q, h);
	if (sq_write(s, q, &changed, "shared") == -1)
		goto fail;
	if (!changed) {
		if (sq_prepare(s, "INSERT INTO shared_indicators (peer, "
		    "stix_id, origin, kind, value, fingerprint, rule_ids, tlp, "
		    "hosts, count, first_received_us, last_received_us, state, "
		    "excerpt) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		    "?11, ?12, ?13, ?14)", &q) == -1)
			goto fail;
		sq_shared_bind(q, h);
		if (sq_write(s, q, NULL, "shared") == -1)
			goto fail;
		*is_new = 1;
	}
	if (sq_shared_rules(s, h) == -1)
		goto fail;
	if (sq_exec(s, "RELEASE shared_put") == -1)
		goto fail;
	return 0;
fail:
	*is_new = 0;
	(void)sq_exec(s, "ROLLBACK TO shared_put");
	(void)sq_exec(s, "RELEASE shared_put");
	return -1;
}

/* ------------------------------------------------------------ schema 7 */

static int
sq_sent_add(struct hub_store *st, const struct hub_sent_value *v, size_t n)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	size_t i;
	int rc;

	sq_settle(s);
	if (sq_exec(s, "SAVEPOINT sent_add") == -1)
		return -1;
	if (sq_prepare(s, "INSERT OR IGNORE INTO peer_sent_values (peer, seq, "
	    "kind, value, tlp, sent_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    &q) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (v[i].seq > (uint64_t)INT64_MAX)
			continue;
		sqlite3_bind_text(q, 1, v[i].peer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)v[i].seq);
		sqlite3_bind_text(q, 3, v[i].kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, v[i].value, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 5, v[i].tlp);
		sqlite3_bind_int64(q, 6, v[i].sent_us);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(q);
			(void)sq_fail(s, "sent values");
			goto fail;
		}
	}
	sqlite3_finalize(q);
	if (sq_exec(s, "RELEASE sent_add") == -1)
		goto fail;
	return 0;
fail:
	(void)sq_exec(s, "ROLLBACK TO sent_add");
	(void)sq_exec(s, "RELEASE sent_add");
	return -1;
}

static int
sq_sent_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_sent_value v;

	memset(&v, 0, sizeof(v));
	sq_col(q, 0, v.peer, sizeof(v.peer));
	v.seq = (uint64_t)sqlite3_column_int64(q, 1);
	sq_col(q, 2, v.kind, sizeof(v.kind));
	sq_col(q, 3, v.value, sizeof(v.value));
	v.tlp = sqlite3_column_int(q, 4);
	v.sent_us = sqlite3_column_int64(q, 5);
	return ((hub_sent_fn)cb->fn)(cb->arg, &v);
}

static int
sq_sent_list(struct hub_store *st, const char *kind, const char *value,
    uint64_t limit, hub_sent_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, "SELECT peer, seq, kind, value, tlp, sent_us FROM "
	    "peer_sent_values WHERE kind = ?1 AND value = ?2 ORDER BY "
	    "sent_us, peer, seq LIMIT ?3", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, limit == 0 || limit > (uint64_t)INT64_MAX ?
	    -1 : (sqlite3_int64)limit);
	return sq_each(s, q, sq_sent_row, &cb, "sent values");
}

static int
sq_shared_list(struct hub_store *st, const struct hub_shared_filter *f,
    hub_shared_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;
	char sql[SQ_QUERY_MAX];
	int n;

	/* Fixed text, every value bound by number.  A rule id is looked
	 * up in shared_rule_ids first (its primary key), so only the rows
	 * that list it are read (CROSS JOIN keeps that order). */
	n = snprintf(sql, sizeof(sql), SQ_SHARED_SEL "FROM %s WHERE 1%s%s%s"
	    "%s%s%s%s ORDER BY id DESC LIMIT ?6",
	    f->rule_id != NULL ? "shared_rule_ids CROSS JOIN "
	    "shared_indicators ON id = shared_id" : "shared_indicators",
	    f->rule_id != NULL ? " AND rule_id = ?8" : "",
	    f->peer != NULL ? " AND peer = ?1" : "",
	    f->state >= 0 ? " AND state = ?2" : "",
	    f->kind != NULL ? " AND kind = ?3" : "",
	    f->text != NULL ? " AND instr(lower(value), lower(?4)) > 0" : "",
	    f->value != NULL ? " AND value = ?7" : "",
	    f->before_id > 0 ? " AND id < ?5" : "");
	if (n < 0 || (size_t)n >= sizeof(sql))
		return -1;
	if (sq_prepare(s, sql, &q) == -1)
		return -1;
	if (f->peer != NULL)
		sqlite3_bind_text(q, 1, f->peer, -1, SQLITE_STATIC);
	if (f->state >= 0)
		sqlite3_bind_int(q, 2, f->state);
	if (f->kind != NULL)
		sqlite3_bind_text(q, 3, f->kind, -1, SQLITE_STATIC);
	if (f->text != NULL)
		sqlite3_bind_text(q, 4, f->text, -1, SQLITE_STATIC);
	if (f->before_id > 0)
		sqlite3_bind_int64(q, 5, f->before_id);
	if (f->value != NULL)
		sqlite3_bind_text(q, 7, f->value, -1, SQLITE_STATIC);
	if (f->rule_id != NULL)
		sqlite3_bind_text(q, 8, f->rule_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, f->limit == 0 ||
	    f->limit > (uint64_t)INT64_MAX ? -1 : (sqlite3_int64)f->limit);
	return sq_each(s, q, sq_shared_row, &cb, "shared");
}

static int
sq_shared_get(struct hub_store *st, int64_t id, hub_shared_fn fn, void *arg,
    int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_found f = { { (void *)fn, arg }, found };
	sqlite3_stmt *q;

	*found = 0;
	if (sq_prepare(s, SQ_SHARED_COLS "WHERE id = ?", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	return sq_each(s, q, sq_shared_found, &f, "shared");
}

static int
sq_shared_decide(struct hub_store *st, int64_t id, int state,
    const char *actor, int64_t now_us, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	*found = 0;
	if (state < HUB_SHARED_PENDING || state > HUB_SHARED_REJECTED)
		return -1;
	sq_settle(s);
	if (sq_prepare(s, "UPDATE shared_indicators SET state = ?1, "
	    "decided_by = ?2, decided_us = ?3 WHERE id = ?4", &q) == -1)
		return -1;
	sqlite3_bind_int(q, 1, state);
	sqlite3_bind_text(q, 2, actor != NULL ? actor : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, now_us);
	sqlite3_bind_int64(q, 4, id);
	return sq_write(s, q, found, "shared decide");
}

/* ------------------------------------------------------------ schema 8 */

static int
sq_sig_row(sqlite3_stmt *q, void *arg)
{
	struct hub_shared_sig *g = arg;

	g->count = (uint64_t)sqlite3_column_int64(q, 0);
	g->max_id = sqlite3_column_int64(q, 1);
	g->max_received_us = sqlite3_column_int64(q, 2);
	g->decided_any = sqlite3_column_int64(q, 3);
	return 0;
}

/*
 * What changes when the approved set may have: how many approved rows
 * (a count over the state index), the newest approved id and receipt,
 * and the latest decision of any row (an approval or a rejection sets
 * decided_us to now).  Each max is one seek in its index, so the timer
 * costs about a millisecond for tens of thousands of rows.
 */
static int
sq_shared_signature(struct hub_store *st, struct hub_shared_sig *sig)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	memset(sig, 0, sizeof(*sig));
	if (sq_prepare(s, "SELECT (SELECT count(*) FROM shared_indicators "
	    "WHERE state = 1), (SELECT coalesce(max(id), 0) FROM "
	    "shared_indicators WHERE state = 1), (SELECT "
	    "coalesce(max(last_received_us), 0) FROM shared_indicators WHERE "
	    "state = 1), (SELECT coalesce(max(decided_us), 0) FROM "
	    "shared_indicators)", &q) == -1)
		return -1;
	return sq_each(s, q, sq_sig_row, sig, "shared signature");
}

static int
sq_shared_approved(struct hub_store *st, uint64_t limit, hub_shared_fn fn,
    void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, SQ_SHARED_COLS "WHERE state = 1 ORDER BY "
	    "first_received_us, id LIMIT ?1", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, limit == 0 || limit > (uint64_t)INT64_MAX ?
	    -1 : (sqlite3_int64)limit);
	return sq_each(s, q, sq_shared_row, &cb, "shared approved");
}

/* Run sql with up to two integer parameters. */
static int
sq_run_ii(struct sq_store *s, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt *q;

	if (sq_prepare(s, sql, &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, a);
	sqlite3_bind_int64(q, 2, b);
	return sq_write(s, q, NULL, "bundles");
}

static int
sq_bundle_insert(struct sq_store *s, const struct hub_bundle_row *b)
{
	sqlite3_stmt *q;

	if (b->version > (uint64_t)INT64_MAX || b->content_len > INT_MAX ||
	    b->entries > (uint64_t)INT64_MAX || b->bytes > (uint64_t)INT64_MAX)
		return -1;
	if (sq_prepare(s, "INSERT INTO bundles (version, created_us, sha256, "
	    "entries, bytes, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	    &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)b->version);
	sqlite3_bind_int64(q, 2, b->created_us);
	sqlite3_bind_text(q, 3, b->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)b->entries);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)b->bytes);
	sqlite3_bind_text(q, 6, b->content, (int)b->content_len,
	    SQLITE_STATIC);
	return sq_write(s, q, NULL, "bundle add");
}

static int
sq_bundle_members_add(struct sq_store *s, uint64_t version,
    const int64_t *members, size_t n)
{
	sqlite3_stmt *q;
	size_t i;
	int rc;

	if (sq_prepare(s, "INSERT OR IGNORE INTO bundle_members (version, "
	    "shared_id) VALUES (?1, ?2)", &q) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(q, 1, (sqlite3_int64)version);
		sqlite3_bind_int64(q, 2, members[i]);
		rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE) {
			sqlite3_finalize(q);
			return sq_fail(s, "bundle members");
		}
	}
	sqlite3_finalize(q);
	return 0;
}

static int
sq_int_row(sqlite3_stmt *q, void *arg)
{
	*(int64_t *)arg = sqlite3_column_int64(q, 0);
	return 0;
}

/*
 * Keep the newest `keep` versions and the current one: the oldest kept
 * version is the keep-th newest; everything below it goes, members and
 * events with it (docs/schema-hub.md).
 */
static int
sq_bundle_trim(struct sq_store *s, uint64_t keep, uint64_t *dropped)
{
	sqlite3_stmt *q;
	int64_t floor = 0, cur = 0;

	*dropped = 0;
	if (keep == 0 || keep > (uint64_t)INT64_MAX)
		return 0;
	if (sq_prepare(s, "SELECT coalesce(min(version), 0) FROM (SELECT "
	    "version FROM bundles ORDER BY version DESC LIMIT ?1)", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)keep);
	if (sq_each(s, q, sq_int_row, &floor, "bundle trim") == -1)
		return -1;
	if (sq_prepare(s, "SELECT coalesce(max(version), 0) FROM bundles "
	    "WHERE withdrawn = 0", &q) == -1 ||
	    sq_each(s, q, sq_int_row, &cur, "bundle trim") == -1)
		return -1;
	if (sq_run_ii(s, "DELETE FROM bundle_members WHERE version < ?1 AND "
	    "version != ?2", floor, cur) == -1 ||
	    sq_run_ii(s, "DELETE FROM agent_bundle_events WHERE version < ?1 "
	    "AND version != ?2", floor, cur) == -1 ||
	    sq_run_ii(s, "DELETE FROM bundles WHERE version < ?1 AND "
	    "version != ?2", floor, cur) == -1)
		return -1;
	*dropped = (uint64_t)sqlite3_changes(s->db);
	return 0;
}

static int
sq_bundle_add(struct hub_store *st, const struct hub_bundle_row *b,
    const int64_t *members, size_t n, uint64_t keep, uint64_t *dropped)
{
	struct sq_store *s = (struct sq_store *)st;

	*dropped = 0;
	sq_settle(s);
	if (sq_exec(s, "SAVEPOINT bundle_add") == -1)
		return -1;
	if (sq_bundle_insert(s, b) == -1 ||
	    sq_bundle_members_add(s, b->version, members, n) == -1 ||
	    sq_bundle_trim(s, keep, dropped) == -1) {
		(void)sq_exec(s, "ROLLBACK TO bundle_add");
		(void)sq_exec(s, "RELEASE bundle_add");
		return -1;
	}
	return sq_exec(s, "RELEASE bundle_add");
}

#define SQ_BUNDLE_COLS "SELECT b.version, b.created_us, b.sha256, " \
	"b.entries, b.bytes, b.withdrawn, b.withdrawn_by, b.withdrawn_us, " \
	"(SELECT count(*) FROM agent_bundle a WHERE a.running = b.version)"

static int
sq_bundle_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_bundle_row b;

	memset(&b, 0, sizeof(b));
	b.version = (uint64_t)sqlite3_column_int64(q, 0);
	b.created_us = sqlite3_column_int64(q, 1);
	sq_col(q, 2, b.sha256, sizeof(b.sha256));
	b.entries = (uint64_t)sqlite3_column_int64(q, 3);
	b.bytes = (uint64_t)sqlite3_column_int64(q, 4);
	b.withdrawn = sqlite3_column_int(q, 5);
	sq_col(q, 6, b.withdrawn_by, sizeof(b.withdrawn_by));
	b.withdrawn_us = sqlite3_column_int64(q, 7);
	b.hosts_running = (uint64_t)sqlite3_column_int64(q, 8);
	if (sqlite3_column_count(q) > 9) {
		b.content = (const char *)sqlite3_column_text(q, 9);
		b.content_len = (size_t)sqlite3_column_bytes(q, 9);
	}
	return ((hub_bundle_fn)cb->fn)(cb->arg, &b);
}

static int
sq_bundle_found(sqlite3_stmt *q, void *arg)
{
	struct sq_found *f = arg;

	*f->found = 1;
	return sq_bundle_row(q, &f->cb);
}

static int
sq_bundle_get(struct hub_store *st, uint64_t version, hub_bundle_fn fn,
    void *arg, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_found f = { { (void *)fn, arg }, found };
	sqlite3_stmt *q;

	*found = 0;
	if (version > (uint64_t)INT64_MAX)
		return 0;
	if (sq_prepare(s, SQ_BUNDLE_COLS ", b.content FROM bundles b WHERE "
	    "b.version = ?1", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)version);
	return sq_each(s, q, sq_bundle_found, &f, "bundle");
}

static int
sq_bundle_list(struct hub_store *st, uint64_t limit, hub_bundle_fn fn,
    void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, SQ_BUNDLE_COLS " FROM bundles b ORDER BY b.version "
	    "DESC LIMIT ?1", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, limit == 0 || limit > (uint64_t)INT64_MAX ?
	    -1 : (sqlite3_int64)limit);
	return sq_each(s, q, sq_bundle_row, &cb, "bundles");
}

static int
sq_two_row(sqlite3_stmt *q, void *arg)
{
	int64_t *v = arg;

	v[0] = sqlite3_column_int64(q, 0);
	v[1] = sqlite3_column_int64(q, 1);
	return 0;
}

static int
sq_bundle_current(struct hub_store *st, uint64_t *current, uint64_t *max)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int64_t v[2] = { 0, 0 };

	*current = *max = 0;
	if (sq_prepare(s, "SELECT coalesce((SELECT max(version) FROM bundles "
	    "WHERE withdrawn = 0), 0), coalesce(max(version), 0) FROM bundles",
	    &q) == -1 || sq_each(s, q, sq_two_row, v, "bundle current") == -1)
		return -1;
	*current = (uint64_t)v[0];
	*max = (uint64_t)v[1];
	return 0;
}

static int
sq_bundle_sha_withdrawn(struct hub_store *st, const char *sha256, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;
	int64_t n = 0;

	*found = 0;
	if (sq_prepare(s, "SELECT count(*) FROM bundles WHERE sha256 = ?1 AND "
	    "withdrawn = 1", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, sha256, -1, SQLITE_STATIC);
	if (sq_each(s, q, sq_int_row, &n, "bundle sha") == -1)
		return -1;
	*found = n > 0;
	return 0;
}

static int
sq_bundle_withdraw(struct hub_store *st, uint64_t version, const char *actor,
    int64_t now_us, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	*found = 0;
	if (version == 0 || version > (uint64_t)INT64_MAX)
		return 0;
	sq_settle(s);
	if (sq_prepare(s, "UPDATE bundles SET withdrawn = 1, withdrawn_by = "
	    "?2, withdrawn_us = ?3 WHERE version = ?1 AND withdrawn = 0",
	    &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)version);
	sqlite3_bind_text(q, 2, actor != NULL ? actor : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, now_us);
	return sq_write(s, q, found, "bundle withdraw");
}

static int
sq_member_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;

	return ((hub_member_fn)cb->fn)(cb->arg, sqlite3_column_int64(q, 0));
}

static int
sq_bundle_members(struct hub_store *st, uint64_t version, uint64_t limit,
    hub_member_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (version > (uint64_t)INT64_MAX)
		return 0;
	if (sq_prepare(s, "SELECT shared_id FROM bundle_members WHERE "
	    "version = ?1 ORDER BY shared_id LIMIT ?2", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)version);
	sqlite3_bind_int64(q, 2, limit == 0 || limit > (uint64_t)INT64_MAX ?
	    -1 : (sqlite3_int64)limit);
	return sq_each(s, q, sq_member_row, &cb, "bundle members");
}

/*
 * No sq_settle: like the task states, a report joins the listener's open
 * group (one fsync a loop turn), or runs on its own when there is none.
 */
static int
sq_agent_bundle_put(struct hub_store *st, const struct hub_agent_bundle *a,
    uint64_t version)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	if (a->running > (uint64_t)INT64_MAX ||
	    a->previous > (uint64_t)INT64_MAX || version > (uint64_t)INT64_MAX)
		return -1;
	if (sq_prepare(s, "INSERT INTO agent_bundle (agent_id, running, "
	    "previous, outcome, reason, reported_us, applied_us) VALUES (?1, "
	    "?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (agent_id) DO UPDATE SET "
	    "running = ?2, previous = ?3, outcome = ?4, reason = ?5, "
	    "reported_us = ?6, applied_us = CASE WHEN ?7 > 0 THEN ?7 ELSE "
	    "applied_us END", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, a->agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)a->running);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)a->previous);
	sqlite3_bind_int(q, 4, a->outcome);
	sqlite3_bind_text(q, 5, a->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 6, a->reported_us);
	sqlite3_bind_int64(q, 7, a->applied_us);
	if (sq_write(s, q, NULL, "agent bundle") == -1)
		return -1;
	if (sq_prepare(s, "INSERT INTO agent_bundle_events (agent_id, "
	    "version, outcome, reason, us) VALUES (?1, ?2, ?3, ?4, ?5)",
	    &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, a->agent_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)version);
	sqlite3_bind_int(q, 3, a->outcome);
	sqlite3_bind_text(q, 4, a->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, a->reported_us);
	return sq_write(s, q, NULL, "agent bundle event");
}

static int
sq_agent_bundle_row(sqlite3_stmt *q, void *arg)
{
	struct hub_agent_bundle *a = arg;

	sq_col(q, 0, a->agent_id, sizeof(a->agent_id));
	a->running = (uint64_t)sqlite3_column_int64(q, 1);
	a->previous = (uint64_t)sqlite3_column_int64(q, 2);
	a->outcome = sqlite3_column_int(q, 3);
	sq_col(q, 4, a->reason, sizeof(a->reason));
	a->reported_us = sqlite3_column_int64(q, 5);
	a->applied_us = sqlite3_column_int64(q, 6);
	return 1;
}

static int
sq_agent_bundle_get(struct hub_store *st, const char *agent_id,
    struct hub_agent_bundle *a, int *found)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	memset(a, 0, sizeof(*a));
	*found = 0;
	if (sq_prepare(s, "SELECT agent_id, running, previous, outcome, "
	    "reason, reported_us, applied_us FROM agent_bundle WHERE "
	    "agent_id = ?1", &q) == -1)
		return -1;
	sqlite3_bind_text(q, 1, agent_id, -1, SQLITE_STATIC);
	if (sq_each(s, q, sq_agent_bundle_row, a, "agent bundle") == -1)
		return -1;
	*found = a->agent_id[0] != '\0';
	return 0;
}

struct sq_abs {
	hub_agent_bundle_fn	 fn;
	void			*arg;
};

static int
sq_agent_bundles_row(sqlite3_stmt *q, void *arg)
{
	struct sq_abs *x = arg;
	struct hub_agent_bundle a;

	memset(&a, 0, sizeof(a));
	(void)sq_agent_bundle_row(q, &a);
	return x->fn(x->arg, &a);
}

static int
sq_agent_bundles(struct hub_store *st, hub_agent_bundle_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_abs x = { fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, "SELECT agent_id, running, previous, outcome, "
	    "reason, reported_us, applied_us FROM agent_bundle ORDER BY "
	    "agent_id", &q) == -1)
		return -1;
	return sq_each(s, q, sq_agent_bundles_row, &x, "agent bundles");
}

/* Reports that a host ran a version: not a refusal, version >= 1. */
#define SQ_REACHED "FROM agent_bundle_events e JOIN bundle_members m ON " \
	"m.version = e.version WHERE m.shared_id = ?1 AND e.outcome != 2 " \
	"AND e.version > 0"

static int
sq_reach_row(sqlite3_stmt *q, void *arg)
{
	struct hub_shared_reach *r = arg;

	r->hosts = (uint64_t)sqlite3_column_int64(q, 0);
	r->first_reached_us = sqlite3_column_int64(q, 1);
	r->first_bundle = (uint64_t)sqlite3_column_int64(q, 2);
	return 0;
}

static int
sq_match_row(sqlite3_stmt *q, void *arg)
{
	struct hub_shared_reach *r = arg;

	r->matches = (uint64_t)sqlite3_column_int64(q, 0);
	r->match_hosts = (uint64_t)sqlite3_column_int64(q, 1);
	r->first_match_us = sqlite3_column_int64(q, 2);
	r->last_match_us = sqlite3_column_int64(q, 3);
	return 0;
}

static int
sq_shared_reach(struct hub_store *st, int64_t id, struct hub_shared_reach *r)
{
	struct sq_store *s = (struct sq_store *)st;
	sqlite3_stmt *q;

	memset(r, 0, sizeof(*r));
	if (sq_prepare(s, "SELECT count(DISTINCT e.agent_id), "
	    "coalesce(min(e.us), 0), coalesce((SELECT min(version) FROM "
	    "bundle_members WHERE shared_id = ?1), 0) " SQ_REACHED, &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	if (sq_each(s, q, sq_reach_row, r, "shared reach") == -1)
		return -1;
	if (sq_prepare(s, "SELECT count(*), count(DISTINCT agent_id), "
	    "coalesce(min(ts_us), 0), coalesce(max(ts_us), 0) FROM indicators "
	    "WHERE shared_ref = ?1", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	return sq_each(s, q, sq_match_row, r, "shared matches");
}

static int
sq_reached_row(sqlite3_stmt *q, void *arg)
{
	struct sq_cb *cb = arg;
	struct hub_reached_host h;

	memset(&h, 0, sizeof(h));
	sq_col(q, 0, h.agent_id, sizeof(h.agent_id));
	sq_col(q, 1, h.host_name, sizeof(h.host_name));
	h.since_us = sqlite3_column_int64(q, 2);
	return ((hub_reached_fn)cb->fn)(cb->arg, &h);
}

static int
sq_shared_reached_hosts(struct hub_store *st, int64_t id, uint64_t limit,
    hub_reached_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, "SELECT e.agent_id, coalesce((SELECT host_name FROM "
	    "hosts h WHERE h.agent_id = e.agent_id), ''), min(e.us) AS since "
	    SQ_REACHED " GROUP BY e.agent_id ORDER BY since, e.agent_id "
	    "LIMIT ?2", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, limit == 0 || limit > (uint64_t)INT64_MAX ?
	    -1 : (sqlite3_int64)limit);
	return sq_each(s, q, sq_reached_row, &cb, "shared reached");
}

static int
sq_shared_matches(struct hub_store *st, int64_t id, uint64_t limit,
    hub_row_fn fn, void *arg)
{
	struct sq_store *s = (struct sq_store *)st;
	struct sq_cb cb = { (void *)fn, arg };
	sqlite3_stmt *q;

	if (sq_prepare(s, SQ_IND_COLS "WHERE shared_ref = ?1 ORDER BY ts_us "
	    "DESC, agent_id, seq LIMIT ?2", &q) == -1)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, limit == 0 || limit > (uint64_t)INT64_MAX ?
	    -1 : (sqlite3_int64)limit);
	return sq_each(s, q, sq_find_row, &cb, "shared matches");
}

/* One hub per SQLite file: every job is this hub's. */
static int
sq_lead(struct hub_store *st, int job, int *mine)
{
	(void)st;
	(void)job;
	*mine = 1;
	return 0;
}

const struct hub_store_ops hub_store_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.schema_version = sq_version,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.group_join = sq_group_join,
	.group_commit = sq_group_commit,
	.group_rollback = sq_group_rollback,
	.insert = sq_insert,
	.host_seen = sq_host_seen,
	.host_settle = sq_host_settle,
	.host_get = sq_host_get,
	.query = sq_query,
	.retention = sq_retention,
	.hosts = sq_hosts,
	.host_rules = sq_host_rules,
	.find = sq_find,
	.token_add = sq_token_add,
	.token_find = sq_token_find,
	.token_list = sq_token_list,
	.token_revoke = sq_token_revoke,
	.audit_add = sq_audit_add,
	.audit_list = sq_audit_list,
	.size = sq_size,
	.etoken_add = sq_etoken_add,
	.etoken_find = sq_etoken_find,
	.etoken_list = sq_etoken_list,
	.etoken_revoke = sq_etoken_revoke,
	.etoken_use = sq_etoken_use,
	.agent_put = sq_agent_put,
	.agent_get = sq_agent_get,
	.agent_list = sq_agent_list,
	.agent_revoke = sq_agent_revoke,
	.task_add = sq_task_add,
	.task_get = sq_task_get,
	.task_list = sq_task_list,
	.task_scan = sq_task_scan,
	.task_hosts = sq_task_hosts,
	.task_counts = sq_task_counts,
	.task_host_get = sq_task_host_get,
	.task_host_put = sq_task_host_put,
	.task_open_for = sq_task_open_for,
	.task_expiring = sq_task_expiring,
	.task_cancel = sq_task_cancel,
	.task_reported = sq_task_reported,
	.agent_known = sq_agent_known,
	.task_bytes_total = sq_task_bytes_total,
	.incident_add = sq_incident_add,
	.incident_get = sq_incident_get,
	.incident_list = sq_incident_list,
	.incident_put = sq_incident_put,
	.inc_link_add = sq_inc_link_add,
	.inc_links = sq_inc_links,
	.inc_event_add = sq_inc_event_add,
	.inc_events = sq_inc_events,
	.inc_counts = sq_inc_counts,
	.indicator_get = sq_indicator_get,
	.alerts = sq_alerts,
	.peer_add = sq_peer_add,
	.peer_get = sq_peer_get,
	.peer_list = sq_peer_list,
	.peer_update = sq_peer_update,
	.peer_remove = sq_peer_remove,
	.peer_sent = sq_peer_sent,
	.peer_cursor = sq_peer_cursor,
	.peer_error = sq_peer_error,
	.peer_received = sq_peer_received,
	.alerts_after = sq_alerts_after,
	.shared_put = sq_shared_put,
	.shared_list = sq_shared_list,
	.shared_get = sq_shared_get,
	.shared_decide = sq_shared_decide,
	.sent_add = sq_sent_add,
	.sent_list = sq_sent_list,
	.shared_signature = sq_shared_signature,
	.shared_approved = sq_shared_approved,
	.bundle_add = sq_bundle_add,
	.bundle_get = sq_bundle_get,
	.bundle_list = sq_bundle_list,
	.bundle_current = sq_bundle_current,
	.bundle_sha_withdrawn = sq_bundle_sha_withdrawn,
	.bundle_withdraw = sq_bundle_withdraw,
	.bundle_members = sq_bundle_members,
	.agent_bundle_put = sq_agent_bundle_put,
	.agent_bundle_get = sq_agent_bundle_get,
	.agent_bundles = sq_agent_bundles,
	.shared_reach = sq_shared_reach,
	.shared_reached_hosts = sq_shared_reached_hosts,
	.shared_matches = sq_shared_matches,
	.lead = sq_lead,
};
