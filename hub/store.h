/*
 * store.h - the hub's storage interface.  The hub talks to its database
 * only through this table of functions, so that SQLite (store_sqlite.c,
 * the default, one hub) and PostgreSQL (store_pg*.c: several hubs, one
 * database) are interchangeable.  Rows carry the columns the UI filters on, taken
 * out of the indicator JSON by hub/ingest.c, plus the JSON itself.  The
 * schema is in docs/schema-hub.md.  Called by hub/ingest.c, hub/main.c,
 * hub/api.c and the unit tests; never by the agent.
 */
#ifndef PICKET_HUB_STORE_H
#define PICKET_HUB_STORE_H

#include <stddef.h>
#include <stdint.h>

#define HUB_ID_MAX	64		/* agent ids, as in HELLO */
#define HUB_HOST_MAX	255
#define HUB_TIME_MAX	40		/* RFC 3339 text */
#define HUB_RULE_MAX	256
#define HUB_SHORT_MAX	64		/* kinds, addresses, transport */

/* One indicator as stored: indexed columns plus the JSON it came from. */
struct hub_indicator {
	char		 agent_id[HUB_ID_MAX + 1];
	uint64_t	 seq;			/* agent's sequence number */
	int64_t		 ingest_us;		/* hub clock when stored */
	int64_t		 ts_us;			/* @timestamp */
	char		 timestamp[HUB_TIME_MAX];
	char		 rule_id[HUB_RULE_MAX];
	char		 rule_name[HUB_RULE_MAX];
	char		 ruleset[HUB_RULE_MAX];
	char		 event_kind[HUB_SHORT_MAX];
	int		 severity;
	char		 source_ip[HUB_SHORT_MAX];	/* "" = absent */
	char		 destination_ip[HUB_SHORT_MAX];
	int		 destination_port;		/* -1 = absent */
	char		 transport[HUB_SHORT_MAX];
	char		 direction[HUB_SHORT_MAX];
	char		 fingerprint[HUB_SHORT_MAX];
	char		 first_seen[HUB_TIME_MAX];
	char		 last_seen[HUB_TIME_MAX];
	uint64_t	 count;
	int64_t		 shared_ref;	/* picket.shared.ref; 0 none, -1 bad */
	const char	*json;			/* not NUL-terminated */
	size_t		 json_len;
};

/* What `indicators` and the UI ask for; NULL / 0 fields do not filter. */
struct hub_query {
	const char	*host;		/* agent id or host name */
	int64_t		 since_us;	/* @timestamp >= this */
	const char	*kind;		/* event.kind */
	const char	*rule;		/* rule.id */
	uint64_t	 limit;		/* 0 = all */
};

struct hub_host {
	char		 agent_id[HUB_ID_MAX + 1];
	char		 host_name[HUB_HOST_MAX + 1];
	int64_t		 first_seen_us, last_seen_us;
	uint64_t	 last_seq;	/* highest seq settled (the ACK) */
	uint64_t	 dropped;	/* the agent's spool drops (HELLO) */
	uint64_t	 rejected;	/* records the hub refused */
};

/*
 * What the API's GET /api/v1/indicators asks for (hub/apiparam.c builds
 * it).  Rows come newest first, ordered by (ts_us, agent_id, seq)
 * descending; with has_after only rows strictly after that key in this
 * order (older) are returned, which makes cursor pagination stable while
 * new rows arrive.  NULL / 0 / -1 fields do not filter.
 */
struct hub_ind_filter {
	const char	*host;		/* agent id or host name */
	const char	*kind;		/* event.kind */
	const char	*rule;		/* rule.id */
	const char	*text;		/* in rule.name or message (no case) */
	int		 severity_min;	/* -1 = any */
	int64_t		 since_us;	/* @timestamp >= this; 0 = any */
	int64_t		 until_us;	/* @timestamp < this; 0 = any */
	int		 has_after;
	int64_t		 after_ts_us;
	char		 after_agent[HUB_ID_MAX + 1];
	uint64_t	 after_seq;
	uint64_t	 limit;		/* rows; 0 = all */
};

/* Indicators of one host, grouped by rule (GET /api/v1/hosts/{id}). */
struct hub_rule_count {
	char		 rule_id[HUB_RULE_MAX];
	char		 rule_name[HUB_RULE_MAX];
	uint64_t	 count;		/* rows */
	int64_t		 last_ts_us;	/* newest @timestamp */
};

/* API roles, in order: each includes the ones below it. */
enum hub_role { HUB_ROLE_NONE = 0, HUB_ROLE_VIEWER = 1,
	HUB_ROLE_RESPONDER = 2, HUB_ROLE_ADMIN = 3 };

#define HUB_TOKEN_NAME_MAX	64
#define HUB_TOKEN_HASH_LEN	32	/* SHA-256 of the secret */

struct hub_token {
	int64_t		 id;
	char		 name[HUB_TOKEN_NAME_MAX + 1];
	int		 role;		/* enum hub_role */
	uint8_t		 hash[HUB_TOKEN_HASH_LEN];
	int64_t		 created_us;
	int64_t		 revoked_us;	/* 0 = valid */
};

#define HUB_AUDIT_FIELD_MAX	256

/* One audit log row: who did what to what, from where, and how it went. */
struct hub_audit {
	int64_t		 id;		/* set by the store */
	int64_t		 ts_us;
	char		 actor[HUB_TOKEN_NAME_MAX + 1];	/* token name, "cli" */
	char		 role[16];
	char		 action[HUB_AUDIT_FIELD_MAX];	/* "token.create", "GET /x" */
	char		 target[HUB_AUDIT_FIELD_MAX];
	char		 remote[HUB_AUDIT_FIELD_MAX];	/* address, "local" */
	char		 result[64];			/* "ok", "403" ... */
};

/* Schema 3: enrollment (docs/enrollment.md). */
#define HUB_TAG_MAX		64
#define HUB_SERIAL_MAX		64	/* hex */
#define HUB_SPKI_HEX		64

/* An enrollment token: only the SHA-256 of its secret is kept. */
struct hub_enroll_token {
	int64_t		 id;
	uint8_t		 hash[HUB_TOKEN_HASH_LEN];
	char		 tag[HUB_TAG_MAX + 1];	/* given to its agents */
	int64_t		 created_us;
	int64_t		 expires_us;		/* 0 = never */
	uint64_t	 uses_max;
	uint64_t	 uses;
	int64_t		 revoked_us;		/* 0 = valid */
};

/* An enrolled agent: what the hub signed for it. */
struct hub_agent {
	char		 agent_id[HUB_ID_MAX + 1];
	char		 host_name[HUB_HOST_MAX + 1];	/* as it enrolled */
	char		 tag[HUB_TAG_MAX + 1];
	char		 spki[HUB_SPKI_HEX + 1];	/* SHA-256, hex */
	int64_t		 enrolled_us;
	int64_t		 token_id;
	char		 serial[HUB_SERIAL_MAX + 1];	/* hex */
	int64_t		 not_after_us;
	int64_t		 revoked_us;		/* 0 = valid */
};

/* Schema 4: targeted collection (docs/tasks.md). */
#define HUB_TASK_DESC_MAX	512	/* how the targets were chosen */
#define HUB_TASK_REASON_MAX	512	/* = PK_TASK_REASON_MAX */

/* A task.  spec points into the store's row: valid during the callback. */
struct hub_task {
	int64_t		 id;		/* set by the store */
	int		 type;		/* enum pk_task_type */
	const char	*spec;		/* canonical JSON (pk_task_encode) */
	size_t		 spec_len;
	int64_t		 created_us;
	char		 created_by[HUB_TOKEN_NAME_MAX + 1];	/* or "cli" */
	int64_t		 expires_us;	/* queued/sent after this: expired */
	int64_t		 cancelled_us;	/* 0 = not cancelled */
	char		 targets[HUB_TASK_DESC_MAX + 1];
};

/* What task_reported matches. */
enum { HUB_REPORTED_RULE = 0, HUB_REPORTED_FINGERPRINT = 1,
	HUB_REPORTED_IOC = 2 };

/* A task's state on one host. */
struct hub_task_host {
	int64_t		 task_id;
	char		 agent_id[HUB_ID_MAX + 1];
	int		 state;		/* enum pk_task_state */
	char		 reason[HUB_TASK_REASON_MAX + 1];
	int64_t		 updated_us;
	uint64_t	 bytes;		/* result bytes stored at the hub */
	uint64_t	 final_bytes;	/* the agent's total (done), else 0 */
	uint64_t	 rows;
	char		 host_name[HUB_HOST_MAX + 1];	/* task_hosts only */
};

/* Schema 5: incidents (docs/incidents.md, hub/incidents.c). */
#define HUB_INC_KIND_MAX	31	/* an event's kind: "opened", "note" */

/*
 * An incident.  The text fields point into the store's row: valid during
 * the callback only (the writer's are read during the call).  Times are
 * µs since 1970; 0 means "not yet".
 */
struct hub_incident {
	int64_t		 id;		/* set by the store */
	int		 state;		/* enum hub_inc_state */
	const char	*title;
	const char	*owner;		/* "" = nobody */
	const char	*created_by;
	const char	*lessons;
	const char	*report;	/* JSON kept at close; "" none */
	int64_t		 created_us, since_us, contained_us, closed_us;
	uint64_t	 links;		/* incident_list only: how many */
};

/* One link of an incident; value valid during the callback. */
struct hub_inc_link_row {
	int64_t		 incident_id;
	int		 kind;		/* enum hub_inc_link */
	const char	*value;
	int64_t		 added_us;
	char		 added_by[HUB_TOKEN_NAME_MAX + 1];
};

/* One stored timeline event; text valid during the callback. */
struct hub_inc_event {
	int64_t		 id;		/* set by the store */
	int64_t		 incident_id;
	int64_t		 ts_us;
	char		 kind[HUB_INC_KIND_MAX + 1];
	char		 actor[HUB_TOKEN_NAME_MAX + 1];
	const char	*text;
};

/*
 * Alerts (event.kind "alert") with @timestamp in [since_us, until_us),
 * oldest first by (ts_us, agent_id, seq), at most limit rows (0 = all).
 * The other fields narrow the rows with an index or a cheap test so a
 * caller that classifies rows (hub_outbreak_classify) reads fewer of
 * them; NULL / 0 do not filter.
 */
struct hub_alert_filter {
	int64_t		 since_us, until_us;
	const char	*fingerprint;	/* picket.fingerprint (lowercased) */
	const char	*rule;		/* rule.id equal to this */
	const char	*ioc_name;	/* threat.indicator.name, no case */
	int		 scan;		/* picket.scan.* or picket.process.scan */
	const char	*agents;	/* a JSON array of agent ids: only these */
	uint64_t	 limit;
};

struct hub_store;

/* Called once per row of a query; non-zero stops the query. */
typedef int (*hub_row_fn)(void *arg, const struct hub_indicator *ind);
typedef int (*hub_host_fn)(void *arg, const struct hub_host *h);
typedef int (*hub_rule_fn)(void *arg, const struct hub_rule_count *r);
typedef int (*hub_token_fn)(void *arg, const struct hub_token *t);
typedef int (*hub_audit_fn)(void *arg, const struct hub_audit *a);
typedef int (*hub_etoken_fn)(void *arg, const struct hub_enroll_token *t);
typedef int (*hub_agent_fn)(void *arg, const struct hub_agent *a);
typedef int (*hub_task_fn)(void *arg, const struct hub_task *t);
typedef int (*hub_task_host_fn)(void *arg, const struct hub_task_host *h);
/* A task with one host's row (hosts' open tasks, expiry). */
typedef int (*hub_task_pair_fn)(void *arg, const struct hub_task *t,
    const struct hub_task_host *h);
typedef int (*hub_id_fn)(void *arg, const char *agent_id);
/* Schema 6: peering (docs/peering.md, hub/peering.c). */
#define HUB_PEER_NAME_MAX	64	/* [A-Za-z0-9._-] */
#define HUB_PEER_URL_MAX	512
#define HUB_PEER_CA_MAX		65536	/* PEM bytes */
#define HUB_PEER_ERR_MAX	256
#define HUB_SHARED_VALUE_MAX	1024
#define HUB_SHARED_RULES_MAX	4200	/* JSON array text */
#define HUB_SHARED_EXCERPT_MAX	1024	/* x_picket_excerpt (schema 9) */

/* Kinds of what send_kinds allows: bits of (1 << outbreak kind). */
#define HUB_PEER_KINDS_ALL	0x0f

/* A peer: its identity, its policy, and both directions' progress. */
struct hub_peer {
	char		 name[HUB_PEER_NAME_MAX + 1];
	char		 url[HUB_PEER_URL_MAX + 1];
	const char	*ca_pem;		/* valid during the callback */
	size_t		 ca_len;
	char		 ca_sha256[65];		/* hex of the DER */
	int		 enabled;
	/* what goes to it */
	int		 send_tlp;		/* enum hub_tlp, < RED */
	int		 send_min_severity;	/* 0..100 */
	unsigned	 send_kinds;		/* HUB_PEER_KINDS_* bits */
	/* schema 9: payload excerpts of AMBER+ rows (default 0) */
	int		 send_excerpts;
	/* what comes from it */
	int		 accept_tlp;		/* enum hub_tlp, < RED */
	int		 auto_approve;
	int64_t		 created_us;
	/* sent: rows after cursor_rowid go next, as sequence send_seq */
	int64_t		 cursor_rowid;
	uint64_t	 send_seq;		/* next to send, from 1 */
	int64_t		 last_push_us;		/* last 200, 0 never */
	char		 last_error[HUB_PEER_ERR_MAX + 1];	/* "" none */
	uint64_t	 bundles_sent, indicators_sent;
	/* received: the last sequence accepted from it */
	uint64_t	 recv_seq;
	uint64_t	 bundles_received, indicators_received;
	uint64_t	 objects_refused;
};

enum hub_shared_state { HUB_SHARED_PENDING = 0, HUB_SHARED_APPROVED = 1,
	HUB_SHARED_REJECTED = 2 };

/* One indicator a peer shared, as kept (docs/peering.md). */
struct hub_shared {
	int64_t		 id;			/* set by the store */
	char		 peer[HUB_PEER_NAME_MAX + 1];
	char		 origin[HUB_PEER_NAME_MAX * 2 + 1];	/* identity */
	char		 stix_id[64];		/* indicator--<uuid> */
	char		 kind[16];	/* ipv4 ipv6 domain url sha256
					 * fingerprint */
	char		 value[HUB_SHARED_VALUE_MAX + 1];
	char		 fingerprint[HUB_SHORT_MAX];	/* "" none */
	char		 rule_ids[HUB_SHARED_RULES_MAX + 1];	/* JSON */
	/* schema 9: the payload excerpt an AMBER+ indicator carried
	 * (x_picket_excerpt), "" none */
	char		 excerpt[HUB_SHARED_EXCERPT_MAX + 1];
	int		 tlp;			/* enum hub_tlp */
	uint64_t	 hosts;			/* sighting hosts */
	uint64_t	 count;			/* sighting count */
	int64_t		 first_received_us, last_received_us;
	int		 state;			/* enum hub_shared_state */
	char		 decided_by[HUB_TOKEN_NAME_MAX + 1];
	int64_t		 decided_us;
};

/* What shared_list returns; NULL / -1 / 0 fields do not filter. */
struct hub_shared_filter {
	const char	*peer;
	int		 state;		/* -1 any */
	const char	*kind;
	const char	*text;		/* substring of value (no case) */
	const char	*value;		/* exactly this value (indexed) */
	const char	*rule_id;	/* listed in rule_ids (schema 9's
					 * shared_rule_ids index) */
	int64_t		 before_id;	/* 0: from the newest */
	uint64_t	 limit;
};

/* Schema 7: one value a bundle carried to a peer (docs/peering.md). */
struct hub_sent_value {
	char		 peer[HUB_PEER_NAME_MAX + 1];
	uint64_t	 seq;			/* the bundle's sequence */
	char		 kind[16];		/* as struct hub_shared */
	char		 value[HUB_SHARED_VALUE_MAX + 1];
	int		 tlp;			/* enum hub_tlp */
	int64_t		 sent_us;		/* the peer's 200 */
};

/* Schema 8: bundles of approved shared indicators for the agents
 * (docs/peering.md, "From shared indicators to detection"). */
#define HUB_BUNDLE_REASON_MAX	512	/* = PK_ERROR_MSG_MAX */

/* One bundle version.  content is valid during the callback only, and
 * NULL in lists (bundle_get fills it). */
struct hub_bundle_row {
	uint64_t	 version;
	int64_t		 created_us;
	char		 sha256[65];		/* hex, of the entry lines */
	uint64_t	 entries;
	uint64_t	 bytes;			/* the text's size */
	const char	*content;
	size_t		 content_len;
	int		 withdrawn;
	char		 withdrawn_by[HUB_TOKEN_NAME_MAX + 1];
	int64_t		 withdrawn_us;
	uint64_t	 hosts_running;		/* agent_bundle rows at it */
};

/* What an agent last said about its bundles (APPLIED frames). */
struct hub_agent_bundle {
	char		 agent_id[HUB_ID_MAX + 1];
	uint64_t	 running;		/* 0 = none */
	uint64_t	 previous;
	int		 outcome;		/* enum pk_applied_outcome */
	char		 reason[HUB_BUNDLE_REASON_MAX + 1];
	int64_t		 reported_us;
	int64_t		 applied_us;		/* last APPLIED/ROLLED_BACK */
};

/* What changes when the approved set may have: compared by value. */
struct hub_shared_sig {
	uint64_t	 count;			/* approved rows */
	int64_t		 max_id, max_received_us;	/* of approved rows */
	int64_t		 decided_any;	/* max decided_us of every state */
};

/* How far one shared indicator went, and what it found since. */
struct hub_shared_reach {
	uint64_t	 first_bundle;		/* 0 = in none */
	uint64_t	 hosts;			/* hosts that ran one */
	int64_t		 first_reached_us;	/* 0 = none */
	uint64_t	 matches, match_hosts;
	int64_t		 first_match_us, last_match_us;
};

/* A host a shared indicator reached: since when. */
struct hub_reached_host {
	char		 agent_id[HUB_ID_MAX + 1];
	char		 host_name[HUB_HOST_MAX + 1];
	int64_t		 since_us;
};

typedef int (*hub_bundle_fn)(void *arg, const struct hub_bundle_row *b);
typedef int (*hub_agent_bundle_fn)(void *arg,
    const struct hub_agent_bundle *a);
typedef int (*hub_reached_fn)(void *arg, const struct hub_reached_host *h);
typedef int (*hub_member_fn)(void *arg, int64_t shared_id);

typedef int (*hub_peer_fn)(void *arg, const struct hub_peer *p);
typedef int (*hub_sent_fn)(void *arg, const struct hub_sent_value *v);
typedef int (*hub_shared_fn)(void *arg, const struct hub_shared *s);
/* An alert row with the row id it was stored under (peering cursors). */
typedef int (*hub_rowid_fn)(void *arg, int64_t rowid,
    const struct hub_indicator *d);

typedef int (*hub_incident_fn)(void *arg, const struct hub_incident *i);
typedef int (*hub_inc_link_fn)(void *arg, const struct hub_inc_link_row *l);
typedef int (*hub_inc_event_fn)(void *arg, const struct hub_inc_event *e);

/* Every function returns 0 or -1 (errors go to the hub's log). */
struct hub_store_ops {
	const char	*name;
	/* target: a file path for SQLite, a libpq connection string for
	 * PostgreSQL. */
	int	(*open)(struct hub_store **st, const char *target);
	void	(*close)(struct hub_store *st);
	int	(*schema_version)(struct hub_store *st, int *version);
	/* A batch is stored in one transaction, committed before the ACK.
	 * begin first commits an open group (below): a transaction of its
	 * own never joins or nests in one. */
	int	(*begin)(struct hub_store *st);
	int	(*commit)(struct hub_store *st);
	int	(*rollback)(struct hub_store *st);
	/*
	 * Group commit (hub/ingest.c, docs/hub.md): the writes of many
	 * batches share one transaction and one fsync.  group_join opens
	 * the group's transaction unless it is open; insert, host_seen and
	 * host_settle then write into it.  group_commit ends the group: 0
	 * only when every write since the previous group_commit is durable,
	 * -1 when any of it was rolled back (no ACK for any of it may be
	 * sent).  group_rollback throws the open part away and fails the
	 * group.  Every other write (begin, retention, tokens, audit,
	 * enrollment) first commits the open group, whose outcome then waits
	 * for group_commit; reads see the group's uncommitted rows (it is
	 * the same connection).
	 */
	int	(*group_join)(struct hub_store *st);
	int	(*group_commit)(struct hub_store *st);
	int	(*group_rollback)(struct hub_store *st);
	/* *is_new = 1 if stored, 0 if (agent_id, seq) was already there. */
	int	(*insert)(struct hub_store *st, const struct hub_indicator *ind,
		    int *is_new);
	/* Create or update the host row (HELLO; host_name NULL keeps it). */
	int	(*host_seen)(struct hub_store *st, const char *agent_id,
		    const char *host_name, uint64_t dropped, int64_t now_us);
	/* Raise last_seq to seq (never lowers it); add rejected records. */
	int	(*host_settle)(struct hub_store *st, const char *agent_id,
		    uint64_t seq, uint64_t rejected, int64_t now_us);
	/* *found 1 and *h filled, or *found 0 for an unknown agent. */
	int	(*host_get)(struct hub_store *st, const char *agent_id,
		    struct hub_host *h, int *found);
	int	(*query)(struct hub_store *st, const struct hub_query *q,
		    hub_row_fn fn, void *arg);
	/* Delete indicators ingested before cutoff_us, chunk rows per
	 * transaction so writers are never blocked for long. */
	int	(*retention)(struct hub_store *st, int64_t cutoff_us,
		    uint32_t chunk, uint64_t *deleted);

	/* Schema 2: the API (docs/api.md). */
	/* Every host, by agent_id. */
	int	(*hosts)(struct hub_store *st, hub_host_fn fn, void *arg);
	/* One host's indicators counted by rule, most rows first. */
	int	(*host_rules)(struct hub_store *st, const char *agent_id,
		    hub_rule_fn fn, void *arg);
	/* Filtered indicators, newest first (struct hub_ind_filter). */
	int	(*find)(struct hub_store *st, const struct hub_ind_filter *f,
		    hub_row_fn fn, void *arg);
	/* *dup = 1 (and nothing stored) when a valid token has t->name. */
	int	(*token_add)(struct hub_store *st, const struct hub_token *t,
		    int *dup);
	/* The token whose secret hashes to hash, revoked ones included. */
	int	(*token_find)(struct hub_store *st,
		    const uint8_t hash[HUB_TOKEN_HASH_LEN], struct hub_token *t,
		    int *found);
	int	(*token_list)(struct hub_store *st, hub_token_fn fn,
		    void *arg);
	/* Revoke the valid token called name; *found 0 if there is none. */
	int	(*token_revoke)(struct hub_store *st, const char *name,
		    int64_t now_us, int *found);
	int	(*audit_add)(struct hub_store *st, const struct hub_audit *a);
	/* Newest first, ids < before_id (0: from the newest), limit rows. */
	int	(*audit_list)(struct hub_store *st, int64_t before_id,
		    uint64_t limit, hub_audit_fn fn, void *arg);
	/* Bytes the database takes (pages in use, all files). */
	int	(*size)(struct hub_store *st, uint64_t *bytes);

	/* Schema 3: enrollment (docs/enrollment.md). */
	/* Store t (its id is ignored), *id the new one. */
	int	(*etoken_add)(struct hub_store *st,
		    const struct hub_enroll_token *t, int64_t *id);
	/* The token whose secret hashes to hash, whatever its state. */
	int	(*etoken_find)(struct hub_store *st,
		    const uint8_t hash[HUB_TOKEN_HASH_LEN],
		    struct hub_enroll_token *t, int *found);
	int	(*etoken_list)(struct hub_store *st, hub_etoken_fn fn,
		    void *arg);
	/* *found 0 when no unrevoked token has that id. */
	int	(*etoken_revoke)(struct hub_store *st, int64_t id,
		    int64_t now_us, int *found);
	/* Take one use if the token is still valid at now_us (in one
	 * statement, so two enrollments never share the last use): *ok. */
	int	(*etoken_use)(struct hub_store *st, int64_t id, int64_t now_us,
		    int *ok);
	/* Create or replace the agent's row (a re-enrollment of the same
	 * key records its new certificate). */
	int	(*agent_put)(struct hub_store *st, const struct hub_agent *a);
	int	(*agent_get)(struct hub_store *st, const char *agent_id,
		    struct hub_agent *a, int *found);
	int	(*agent_list)(struct hub_store *st, hub_agent_fn fn,
		    void *arg);
	/* *found 0 when no unrevoked agent has that id. */
	int	(*agent_revoke)(struct hub_store *st, const char *agent_id,
		    int64_t now_us, int *found);

	/* Schema 4: targeted collection (docs/tasks.md, hub/tasks.c). */
	/* Store t (its id is ignored) and one host row per agent id
	 * (queued), in one transaction: *id the new task's. */
	int	(*task_add)(struct hub_store *st, const struct hub_task *t,
		    const char *const *agents, size_t n, int64_t *id);
	/* fn once with the task, or not at all (*found 0). */
	int	(*task_get)(struct hub_store *st, int64_t id, hub_task_fn fn,
		    void *arg, int *found);
	/* Newest first, ids < before_id (0: from the newest), limit. */
	int	(*task_list)(struct hub_store *st, int64_t before_id,
		    uint64_t limit, hub_task_fn fn, void *arg);
	/* Tasks with id > after_id or cancelled_us > cancelled_after, by
	 * id: what a hub has not dispatched or cancelled yet. */
	int	(*task_scan)(struct hub_store *st, int64_t after_id,
		    int64_t cancelled_after, hub_task_fn fn, void *arg);
	/* Host rows of one task, by agent id, with their host names. */
	int	(*task_hosts)(struct hub_store *st, int64_t task_id,
		    hub_task_host_fn fn, void *arg);
	/* counts[state] of one task's hosts (PK_TS_NSTATES slots). */
	int	(*task_counts)(struct hub_store *st, int64_t task_id,
		    uint64_t *counts);
	int	(*task_host_get)(struct hub_store *st, int64_t task_id,
		    const char *agent_id, struct hub_task_host *h, int *found);
	/* Write h's state, reason, updated_us, bytes, final_bytes, rows. */
	int	(*task_host_put)(struct hub_store *st,
		    const struct hub_task_host *h);
	/* Tasks of agent_id not final on it (queued, sent, running). */
	int	(*task_open_for)(struct hub_store *st, const char *agent_id,
		    hub_task_pair_fn fn, void *arg);
	/* Hosts still queued or sent on a task whose expiry is <= now. */
	int	(*task_expiring)(struct hub_store *st, int64_t now_us,
		    hub_task_pair_fn fn, void *arg);
	/* Cancel: cancelled_us = now and every host not final becomes
	 * cancelled with reason, updated now; *found 0 for no such task,
	 * *changed hosts cancelled. */
	int	(*task_cancel)(struct hub_store *st, int64_t id, int64_t now_us,
		    const char *reason, int *found, uint64_t *changed);
	/* Agents whose indicators since since_us have rule.id (what 0),
	 * picket.fingerprint (1) or threat.indicator.name (2, no case)
	 * equal to value; each agent once. */
	int	(*task_reported)(struct hub_store *st, int what,
		    const char *value, int64_t since_us, hub_id_fn fn,
		    void *arg);
	/* Known agents (hosts rows and enrolled agents): *found. */
	int	(*agent_known)(struct hub_store *st, const char *agent_id,
		    int *found);
	/* Result bytes held for every task (the [tasks] total quota). */
	int	(*task_bytes_total)(struct hub_store *st, uint64_t *bytes);

	/* Schema 5: incidents (docs/incidents.md, hub/incidents.c).  The
	 * writes here are single statements: a caller that needs several
	 * at once wraps them in begin / commit. */
	/* Store i (id ignored; title, owner, created_by, since, state),
	 * *id the new one. */
	int	(*incident_add)(struct hub_store *st,
		    const struct hub_incident *i, int64_t *id);
	/* fn once with the incident, or not at all (*found 0). */
	int	(*incident_get)(struct hub_store *st, int64_t id,
		    hub_incident_fn fn, void *arg, int *found);
	/* Newest first, ids < before_id (0: from the newest), state -1
	 * any, at most limit; links is set, report is "". */
	int	(*incident_list)(struct hub_store *st, int64_t before_id,
		    uint64_t limit, int state, hub_incident_fn fn, void *arg);
	/* Write i's title, state, owner, lessons, contained_us, closed_us
	 * and report (NULL or "": none) to row i->id: *found. */
	int	(*incident_put)(struct hub_store *st,
		    const struct hub_incident *i, int *found);
	/* Add a link; *dup 1 (nothing stored) when it is there already. */
	int	(*inc_link_add)(struct hub_store *st,
		    const struct hub_inc_link_row *l, int *dup);
	/* Links of one incident in the order they were added, at most
	 * limit. */
	int	(*inc_links)(struct hub_store *st, int64_t id, uint64_t limit,
		    hub_inc_link_fn fn, void *arg);
	int	(*inc_event_add)(struct hub_store *st,
		    const struct hub_inc_event *e);
	/* Events of one incident by (ts_us, id), at most limit. */
	int	(*inc_events)(struct hub_store *st, int64_t id, uint64_t limit,
		    hub_inc_event_fn fn, void *arg);
	/* How many links and events incident id has. */
	int	(*inc_counts)(struct hub_store *st, int64_t id,
		    uint64_t *links, uint64_t *events);
	/* The indicator (agent_id, seq): fn once, or *found 0. */
	int	(*indicator_get)(struct hub_store *st, const char *agent_id,
		    uint64_t seq, hub_row_fn fn, void *arg, int *found);
	/* Alerts of a window (struct hub_alert_filter), oldest first. */
	int	(*alerts)(struct hub_store *st, const struct hub_alert_filter *f,
		    hub_row_fn fn, void *arg);

	/* Schema 6: peering (docs/peering.md). */
	/* Store p (name, url, CA, policy, created_us; progress zero, send_seq
	 * 1): *dup 1 (nothing stored) when the name exists. */
	int	(*peer_add)(struct hub_store *st, const struct hub_peer *p,
		    int *dup);
	/* fn once with the peer, or *found 0. */
	int	(*peer_get)(struct hub_store *st, const char *name,
		    hub_peer_fn fn, void *arg, int *found);
	/* Every peer by name. */
	int	(*peer_list)(struct hub_store *st, hub_peer_fn fn, void *arg);
	/* Write url, CA (ca_pem NULL keeps it), enabled and the policy of
	 * row p->name: *found. */
	int	(*peer_update)(struct hub_store *st, const struct hub_peer *p,
		    int *found);
	/* Remove the peer (its shared indicators stay, with its name). */
	int	(*peer_remove)(struct hub_store *st, const char *name,
		    int *found);
	/* After a 200: cursor, next sequence, last_push_us, error "",
	 * bundles_sent + 1, indicators_sent + n. */
	int	(*peer_sent)(struct hub_store *st, const char *name,
		    int64_t cursor_rowid, uint64_t next_seq, uint64_t n,
		    int64_t now_us);
	/* Nothing to send: move the cursor only. */
	int	(*peer_cursor)(struct hub_store *st, const char *name,
		    int64_t cursor_rowid);
	/* A failed push: last_error (progress unchanged). */
	int	(*peer_error)(struct hub_store *st, const char *name,
		    const char *error);
	/* A bundle accepted from the peer: recv_seq, bundles_received + 1,
	 * indicators_received + n, objects_refused + refused. */
	int	(*peer_received)(struct hub_store *st, const char *name,
		    uint64_t seq, uint64_t n, uint64_t refused);
	/* Alerts with row id > after_rowid in row id order, at most limit;
	 * the row id is what a peer's cursor holds. */
	int	(*alerts_after)(struct hub_store *st, int64_t after_rowid,
		    uint64_t limit, hub_rowid_fn fn, void *arg);
	/* Keep s (peer, stix_id key): a new row takes s->state; an existing
	 * one gets the values, counts, excerpt and last_received_us, never
	 * a new state; the row's rule ids are indexed again (schema 9).
	 * *is_new. */
	int	(*shared_put)(struct hub_store *st, const struct hub_shared *s,
		    int *is_new);
	/* Newest first (id descending). */
	int	(*shared_list)(struct hub_store *st,
		    const struct hub_shared_filter *f, hub_shared_fn fn,
		    void *arg);
	int	(*shared_get)(struct hub_store *st, int64_t id,
		    hub_shared_fn fn, void *arg, int *found);
	/* An analyst's decision: state, decided_by, decided_us. */
	int	(*shared_decide)(struct hub_store *st, int64_t id, int state,
		    const char *actor, int64_t now_us, int *found);

	/* Schema 7: what went to whom, value by value. */
	/* Keep the n values one bundle carried (after its 200), in one
	 * transaction; a value already kept for (peer, seq) is skipped. */
	int	(*sent_add)(struct hub_store *st, const struct hub_sent_value *v,
		    size_t n);
	/* Every peer's sendings of (kind, value), oldest first, at most
	 * limit (0: all). */
	int	(*sent_list)(struct hub_store *st, const char *kind,
		    const char *value, uint64_t limit, hub_sent_fn fn,
		    void *arg);

	/* Schema 8: bundles for the agents (hub/bundles.c). */
	int	(*shared_signature)(struct hub_store *st,
		    struct hub_shared_sig *sig);
	/* Approved rows, earliest received first (first_received_us, id),
	 * at most limit (0: all). */
	int	(*shared_approved)(struct hub_store *st, uint64_t limit,
		    hub_shared_fn fn, void *arg);
	/* Store b (version, created_us, sha256, entries, bytes, content)
	 * and its n member shared ids, then keep only the newest `keep`
	 * versions (and the current one) with their members and events,
	 * in one transaction: *dropped versions deleted. */
	int	(*bundle_add)(struct hub_store *st,
		    const struct hub_bundle_row *b, const int64_t *members,
		    size_t n, uint64_t keep, uint64_t *dropped);
	/* fn once with the version (content filled), or *found 0. */
	int	(*bundle_get)(struct hub_store *st, uint64_t version,
		    hub_bundle_fn fn, void *arg, int *found);
	/* Newest first, at most limit (0: all); content NULL. */
	int	(*bundle_list)(struct hub_store *st, uint64_t limit,
		    hub_bundle_fn fn, void *arg);
	/* The newest version that is not withdrawn (0: none) and the
	 * highest version ever kept (0: none). */
	int	(*bundle_current)(struct hub_store *st, uint64_t *current,
		    uint64_t *max);
	/* Is there a withdrawn version with these entry lines? */
	int	(*bundle_sha_withdrawn)(struct hub_store *st,
		    const char *sha256, int *found);
	/* Withdraw version: *found 0 when it is not there or withdrawn. */
	int	(*bundle_withdraw)(struct hub_store *st, uint64_t version,
		    const char *actor, int64_t now_us, int *found);
	/* The shared ids a version carried, ascending, at most limit. */
	int	(*bundle_members)(struct hub_store *st, uint64_t version,
		    uint64_t limit, hub_member_fn fn, void *arg);
	/* An APPLIED report: the agent's row and one event about version
	 * (the bundle the report concerns).  Joins an open group. */
	int	(*agent_bundle_put)(struct hub_store *st,
		    const struct hub_agent_bundle *a, uint64_t version);
	int	(*agent_bundle_get)(struct hub_store *st, const char *agent_id,
		    struct hub_agent_bundle *a, int *found);
	/* Every agent's row, by agent id (bytewise): the hosts list reads
	 * them once instead of one query per host. */
	int	(*agent_bundles)(struct hub_store *st, hub_agent_bundle_fn fn,
		    void *arg);
	/* Reach and matches of shared indicator id. */
	int	(*shared_reach)(struct hub_store *st, int64_t id,
		    struct hub_shared_reach *r);
	/* Hosts it reached, earliest first, at most limit. */
	int	(*shared_reached_hosts)(struct hub_store *st, int64_t id,
		    uint64_t limit, hub_reached_fn fn, void *arg);
	/* Indicators with picket.shared.ref = id, newest first, at most
	 * limit. */
	int	(*shared_matches)(struct hub_store *st, int64_t id,
		    uint64_t limit, hub_row_fn fn, void *arg);

	/* Several hubs over one database (docs/scaling.md): is this hub
	 * the one that runs job (enum hub_lead)?  The first hub to ask
	 * keeps the job until its connection to the database ends, so a
	 * hub that dies frees it for the next one that asks.  With one
	 * hub (SQLite) the answer is always yes. */
	int	(*lead)(struct hub_store *st, int job, int *mine);
};

/* Work only one of several hubs may do at a time. */
enum hub_lead { HUB_LEAD_PEERING = 0, HUB_LEAD_RETENTION = 1,
	HUB_LEAD_N };

/* Every backend's handle starts with this. */
struct hub_store {
	const struct hub_store_ops *ops;
};

extern const struct hub_store_ops hub_store_sqlite;
/* PostgreSQL (hub/store_pg.c): target is a libpq connection string. */
extern const struct hub_store_ops hub_store_pg;

/* The schema version this code writes (docs/schema-hub.md). */
#define HUB_SCHEMA_VERSION	10

#endif
