/*
 * store_pg.h - what the PostgreSQL backend's files share (hub/store_pg*.c):
 * the handle, parameter lists and the few calls every operation is made
 * of.  Not a public interface: the hub sees only hub_store_pg (store.h).
 *
 * Every statement goes through pg_cmd, pg_one or pg_each with its
 * parameters in text form (struct pg_params), never pasted into the SQL.
 * Integers are 64-bit (BIGINT columns); a value over INT64_MAX makes the
 * statement fail instead of wrapping.
 */
#ifndef PICKET_HUB_STORE_PG_H
#define PICKET_HUB_STORE_PG_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "hub/store.h"

#define PG_PARAM_MAX	32

/*
 * Advisory lock keys.  Each is the pair (hash of the schema, number), so
 * the stores of several members, or of several tests, in one database
 * (each in its own schema, through search_path) never wait on each
 * other's locks or take each other's jobs.
 */
#define PG_LOCK_SCHEMA	"hashtext(current_schema()), 1"	/* migrations */
#define PG_LOCK_PARTS	"hashtext(current_schema()), 2"	/* partitions */
#define PG_LOCK_TASKS	"hashtext(current_schema()), 4"	/* task ids */
#define PG_LOCK_LEAD	16	/* + enum hub_lead: session locks */

struct pg_store {
	struct hub_store	 base;		/* first: hub_store * casts */
	PGconn			*conn;
	PGconn			*side;		/* partition DDL, lazily */
	char			*dsn;
	int			 txn;		/* a transaction is open */
	int			 grp_open;	/* ... and it is the group's */
	int			 grp_failed;	/* part of the group was lost */
	/* the agent whose hosts row this transaction has locked (insert) */
	char			 lock_agent[HUB_ID_MAX + 1];
	int64_t			 lock_last_seq;
	int			 lock_has_row;
	int64_t			 covered_until_us;	/* partitions made */
	int64_t			 parts_retry_us;	/* after a failure */
	unsigned		 leads;		/* HUB_LEAD_* bits held */
};

/* One statement's parameters, $1 first.  NULL values are SQL NULL. */
struct pg_params {
	int		 n;
	int		 bad;		/* a value did not fit: do not run */
	const char	*v[PG_PARAM_MAX];
	int		 len[PG_PARAM_MAX];
	int		 fmt[PG_PARAM_MAX];	/* 1: binary (bytea, counted) */
	char		 num[PG_PARAM_MAX][32];
};

void	pg_p_init(struct pg_params *p);
/* NUL-terminated text; NULL is SQL NULL. */
void	pg_p_text(struct pg_params *p, const char *v);
/* Text, SQL NULL when "" (columns that hold absent values as NULL). */
void	pg_p_text_ne(struct pg_params *p, const char *v);
/* Counted text (not NUL-terminated, e.g. an indicator's JSON). */
void	pg_p_textn(struct pg_params *p, const char *v, size_t len);
void	pg_p_i64(struct pg_params *p, int64_t v);
/* Fails the statement (p->bad) when v > INT64_MAX. */
void	pg_p_u64(struct pg_params *p, uint64_t v);
void	pg_p_null(struct pg_params *p);
/* bytea from bytes. */
void	pg_p_bytes(struct pg_params *p, const void *v, size_t len);

/* Log "store: what: <server message>" and return -1. */
int	pg_fail(struct pg_store *s, const char *what, const PGresult *r);
/* A statement without rows: *changed (may be NULL) the rows it changed. */
int	pg_cmd(struct pg_store *s, const char *sql, const struct pg_params *p,
	    uint64_t *changed, const char *what);
/* A statement with rows: row(r, i, arg) for each; a non-zero return
 * stops (and is not an error).  *n (may be NULL) the rows seen. */
typedef int (*pg_row_fn)(const PGresult *r, int i, void *arg);
int	pg_each(struct pg_store *s, const char *sql, const struct pg_params *p,
	    pg_row_fn row, void *arg, const char *what);
/* The first row's columns through row, or *found 0 for no row. */
int	pg_one(struct pg_store *s, const char *sql, const struct pg_params *p,
	    pg_row_fn row, void *arg, int *found, const char *what);
/* Run SQL text without parameters (DDL, BEGIN/COMMIT). */
int	pg_exec(struct pg_store *s, const char *sql);

/* Column readers: NULL reads as 0 / "" / all zero bytes. */
int64_t	pg_i64(const PGresult *r, int i, int col);
uint64_t pg_u64(const PGresult *r, int i, int col);
int	pg_int(const PGresult *r, int i, int col);
void	pg_str(const PGresult *r, int i, int col, char *out, size_t cap);
int	pg_null(const PGresult *r, int i, int col);
/* A bytea column (hex text form) into exactly len bytes: 0 or -1. */
int	pg_bytes(const PGresult *r, int i, int col, uint8_t *out, size_t len);

/* A callback and its argument, carried through pg_each to a row
 * function (fn is the store.h callback type the row function calls). */
struct pg_cb {
	void	*fn;
	void	*arg;
};
/* A row function: the first column into *(int64_t *)arg. */
int	pg_row_i64(const PGresult *r, int i, void *arg);
/* A LIMIT parameter: 0 (or more than a BIGINT holds) is NULL, all rows. */
void	pg_p_limit(struct pg_params *p, uint64_t limit);

/* Every write that is not the group's first commits the open group
 * (store.h): call this before writing outside the group. */
void	pg_settle(struct pg_store *s);
/* Run fn(s, arg) in a transaction of its own (after pg_settle) unless
 * the caller has one open: commit on 0, roll back on -1. */
int	pg_txn(struct pg_store *s, int (*fn)(struct pg_store *, void *),
	    void *arg);

/* The indicator row's columns, in the order pg_ind_row reads them. */
#define PG_IND_COLS	"agent_id, seq, ingest_us, ts_us, timestamp, " \
	"rule_id, rule_name, ruleset, event_kind, severity, source_ip, " \
	"destination_ip, destination_port, transport, direction, " \
	"fingerprint, first_seen, last_seen, count, json, shared_ref"
/* Fill d from PG_IND_COLS starting at column col (json points into r). */
void	pg_ind_row(const PGresult *r, int i, int col, struct hub_indicator *d);

/*
 * The operations, one file per area.  Each is the store.h entry of the
 * same name.
 */
/* store_pg.c: connection, schema, transactions, insert, retention */
int	pg_host_seen(struct hub_store *, const char *, const char *, uint64_t,
	    int64_t);
int	pg_host_settle(struct hub_store *, const char *, uint64_t, uint64_t,
	    int64_t);
/* store_pg_ind.c: hosts and indicators read by the API and UI */
int	pg_host_get(struct hub_store *, const char *, struct hub_host *,
	    int *);
int	pg_query(struct hub_store *, const struct hub_query *, hub_row_fn,
	    void *);
int	pg_hosts(struct hub_store *, hub_host_fn, void *);
int	pg_host_rules(struct hub_store *, const char *, hub_rule_fn, void *);
int	pg_find(struct hub_store *, const struct hub_ind_filter *, hub_row_fn,
	    void *);
int	pg_size(struct hub_store *, uint64_t *);
int	pg_indicator_get(struct hub_store *, const char *, uint64_t,
	    hub_row_fn, void *, int *);
int	pg_alerts(struct hub_store *, const struct hub_alert_filter *,
	    hub_row_fn, void *);
int	pg_alerts_after(struct hub_store *, int64_t, uint64_t, hub_rowid_fn,
	    void *);
int	pg_task_reported(struct hub_store *, int, const char *, int64_t,
	    hub_id_fn, void *);
int	pg_agent_known(struct hub_store *, const char *, int *);
/* store_pg_auth.c: API tokens, audit, enrollment, agents */
int	pg_token_add(struct hub_store *, const struct hub_token *, int *);
int	pg_token_find(struct hub_store *, const uint8_t *, struct hub_token *,
	    int *);
int	pg_token_list(struct hub_store *, hub_token_fn, void *);
int	pg_token_revoke(struct hub_store *, const char *, int64_t, int *);
int	pg_audit_add(struct hub_store *, const struct hub_audit *);
int	pg_audit_list(struct hub_store *, int64_t, uint64_t, hub_audit_fn,
	    void *);
int	pg_etoken_add(struct hub_store *, const struct hub_enroll_token *,
	    int64_t *);
int	pg_etoken_find(struct hub_store *, const uint8_t *,
	    struct hub_enroll_token *, int *);
int	pg_etoken_list(struct hub_store *, hub_etoken_fn, void *);
int	pg_etoken_revoke(struct hub_store *, int64_t, int64_t, int *);
int	pg_etoken_use(struct hub_store *, int64_t, int64_t, int *);
int	pg_agent_put(struct hub_store *, const struct hub_agent *);
int	pg_agent_get(struct hub_store *, const char *, struct hub_agent *,
	    int *);
int	pg_agent_list(struct hub_store *, hub_agent_fn, void *);
int	pg_agent_revoke(struct hub_store *, const char *, int64_t, int *);
/* store_pg_tasks.c: targeted collection */
int	pg_task_add(struct hub_store *, const struct hub_task *,
	    const char *const *, size_t, int64_t *);
int	pg_task_get(struct hub_store *, int64_t, hub_task_fn, void *, int *);
int	pg_task_list(struct hub_store *, int64_t, uint64_t, hub_task_fn,
	    void *);
int	pg_task_scan(struct hub_store *, int64_t, int64_t, hub_task_fn,
	    void *);
int	pg_task_hosts(struct hub_store *, int64_t, hub_task_host_fn, void *);
int	pg_task_counts(struct hub_store *, int64_t, uint64_t *);
int	pg_task_host_get(struct hub_store *, int64_t, const char *,
	    struct hub_task_host *, int *);
int	pg_task_host_put(struct hub_store *, const struct hub_task_host *);
int	pg_task_open_for(struct hub_store *, const char *, hub_task_pair_fn,
	    void *);
int	pg_task_expiring(struct hub_store *, int64_t, hub_task_pair_fn,
	    void *);
int	pg_task_cancel(struct hub_store *, int64_t, int64_t, const char *,
	    int *, uint64_t *);
int	pg_task_bytes_total(struct hub_store *, uint64_t *);
/* store_pg_inc.c: incidents and peers */
int	pg_incident_add(struct hub_store *, const struct hub_incident *,
	    int64_t *);
int	pg_incident_get(struct hub_store *, int64_t, hub_incident_fn, void *,
	    int *);
int	pg_incident_list(struct hub_store *, int64_t, uint64_t, int,
	    hub_incident_fn, void *);
int	pg_incident_put(struct hub_store *, const struct hub_incident *,
	    int *);
int	pg_inc_link_add(struct hub_store *, const struct hub_inc_link_row *,
	    int *);
int	pg_inc_links(struct hub_store *, int64_t, uint64_t, hub_inc_link_fn,
	    void *);
int	pg_inc_event_add(struct hub_store *, const struct hub_inc_event *);
int	pg_inc_events(struct hub_store *, int64_t, uint64_t, hub_inc_event_fn,
	    void *);
int	pg_inc_counts(struct hub_store *, int64_t, uint64_t *, uint64_t *);
int	pg_peer_add(struct hub_store *, const struct hub_peer *, int *);
int	pg_peer_get(struct hub_store *, const char *, hub_peer_fn, void *,
	    int *);
int	pg_peer_list(struct hub_store *, hub_peer_fn, void *);
int	pg_peer_update(struct hub_store *, const struct hub_peer *, int *);
int	pg_peer_remove(struct hub_store *, const char *, int *);
int	pg_peer_sent(struct hub_store *, const char *, int64_t, uint64_t,
	    uint64_t, int64_t);
int	pg_peer_cursor(struct hub_store *, const char *, int64_t);
int	pg_peer_error(struct hub_store *, const char *, const char *);
int	pg_peer_received(struct hub_store *, const char *, uint64_t, uint64_t,
	    uint64_t);
/* store_pg_share.c: shared indicators, what went where, bundles */
int	pg_shared_put(struct hub_store *, const struct hub_shared *, int *);
int	pg_shared_list(struct hub_store *, const struct hub_shared_filter *,
	    hub_shared_fn, void *);
int	pg_shared_get(struct hub_store *, int64_t, hub_shared_fn, void *,
	    int *);
int	pg_shared_decide(struct hub_store *, int64_t, int, const char *,
	    int64_t, int *);
int	pg_sent_add(struct hub_store *, const struct hub_sent_value *, size_t);
int	pg_sent_list(struct hub_store *, const char *, const char *, uint64_t,
	    hub_sent_fn, void *);
int	pg_shared_signature(struct hub_store *, struct hub_shared_sig *);
int	pg_shared_approved(struct hub_store *, uint64_t, hub_shared_fn,
	    void *);
int	pg_bundle_add(struct hub_store *, const struct hub_bundle_row *,
	    const int64_t *, size_t, uint64_t, uint64_t *);
int	pg_bundle_get(struct hub_store *, uint64_t, hub_bundle_fn, void *,
	    int *);
int	pg_bundle_list(struct hub_store *, uint64_t, hub_bundle_fn, void *);
int	pg_bundle_current(struct hub_store *, uint64_t *, uint64_t *);
int	pg_bundle_sha_withdrawn(struct hub_store *, const char *, int *);
int	pg_bundle_withdraw(struct hub_store *, uint64_t, const char *, int64_t,
	    int *);
int	pg_bundle_members(struct hub_store *, uint64_t, uint64_t,
	    hub_member_fn, void *);
int	pg_agent_bundle_put(struct hub_store *, const struct hub_agent_bundle *,
	    uint64_t);
int	pg_agent_bundle_get(struct hub_store *, const char *,
	    struct hub_agent_bundle *, int *);
int	pg_agent_bundles(struct hub_store *, hub_agent_bundle_fn, void *);
int	pg_shared_reach(struct hub_store *, int64_t, struct hub_shared_reach *);
int	pg_shared_reached_hosts(struct hub_store *, int64_t, uint64_t,
	    hub_reached_fn, void *);
int	pg_shared_matches(struct hub_store *, int64_t, uint64_t, hub_row_fn,
	    void *);

#endif
