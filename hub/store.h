/*
 * store.h - the hub's storage interface.  The hub talks to its database
 * only through this table of functions, so that SQLite (store_sqlite.c,
 * the default, one hub) and later PostgreSQL (several hubs, one database)
 * are interchangeable.  Rows carry the columns the UI filters on, taken
 * out of the indicator JSON by hub/ingest.c, plus the JSON itself.  The
 * schema is in docs/schema-hub.md.  Called by hub/ingest.c, hub/main.c and
 * the unit tests; never by the agent.
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

struct hub_store;

/* Called once per row of a query; non-zero stops the query. */
typedef int (*hub_row_fn)(void *arg, const struct hub_indicator *ind);

/* Every function returns 0 or -1 (errors go to the hub's log). */
struct hub_store_ops {
	const char	*name;
	/* target: a file path for SQLite, a connection string later. */
	int	(*open)(struct hub_store **st, const char *target);
	void	(*close)(struct hub_store *st);
	int	(*schema_version)(struct hub_store *st, int *version);
	/* A batch is stored in one transaction, committed before the ACK. */
	int	(*begin)(struct hub_store *st);
	int	(*commit)(struct hub_store *st);
	int	(*rollback)(struct hub_store *st);
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
};

/* Every backend's handle starts with this. */
struct hub_store {
	const struct hub_store_ops *ops;
};

extern const struct hub_store_ops hub_store_sqlite;

/* The schema version this code writes (docs/schema-hub.md). */
#define HUB_SCHEMA_VERSION	1

#endif
