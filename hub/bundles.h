/*
 * bundles.h - from shared indicators to detection (docs/peering.md, "From
 * shared indicators to detection"): the hub turns the shared indicators
 * its analysts approved into a versioned rule/IOC bundle
 * (transport/bundle.h), keeps every version in the store (schema 8) and
 * pushes the current one to its agents in CONFIG frames; agents answer
 * with APPLIED.  Three parts:
 *
 * - the library (hub_bundles_refresh, hub_bundles_rollback): store in,
 *   store out, no I/O else; the unit tests, the CLI and the serving side
 *   call it;
 * - the serving side (struct hub_bundles): a timer on the hub's loop that
 *   looks for a changed approved set every [bundles] check_interval, the
 *   current version's CONFIG APPLY frame made once for every agent, and
 *   the listener told when the current version changes (hub/main.c makes
 *   it, hub/listener.c and the API use it);
 * - the API handlers (hub/api_bundles.c) and `picket-hub bundle`
 *   (hub/bundle_cli.c).
 */
#ifndef PICKET_HUB_BUNDLES_H
#define PICKET_HUB_BUNDLES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "hub/config.h"
#include "hub/store.h"

/* Entries gathered from the approved rows before duplicates go and the
 * cap applies: bounds the work of one refresh whatever the store holds. */
#define HUB_BUNDLE_COLLECT_MAX	200000
#define HUB_BUNDLE_ERR_MAX	256

struct hub_bundle_opts {
	uint64_t	 max_entries;	/* [bundles] max_entries */
	uint64_t	 keep;		/* [bundles] keep: versions kept */
};

/* What one refresh did. */
struct hub_bundle_result {
	int		 made;		/* 1: a new version was stored */
	uint64_t	 version;	/* the new version, else the current */
	uint64_t	 rows;		/* approved rows read */
	uint64_t	 entries;	/* entries of the bundle written */
	uint64_t	 invalid;	/* values a bundle may not carry */
	uint64_t	 duplicates;	/* (kind, value) another row had first */
	uint64_t	 over_cap;	/* newest entries over max_entries */
	uint64_t	 trimmed;	/* old versions deleted (keep) */
	int		 unchanged;	/* same entries as the current one */
	int		 withdrawn;	/* same entries as a withdrawn one */
};

/*
 * Build the bundle of the approved shared indicators and store it as
 * version max + 1 unless its entry lines are those of the current
 * version or of a withdrawn one (a rolled-back content is not issued
 * again until the set changes).  No approved row and no bundle yet:
 * nothing.  0 with *res, or -1 with err (store, memory).
 */
int hub_bundles_refresh(struct hub_store *st, const struct hub_bundle_opts *o,
    int64_t now_us, struct hub_bundle_result *res, char *err, size_t errlen);

/*
 * Withdraw the current version (actor: who, for the row; the caller
 * audits).  *withdrawn the version withdrawn (0: there was none), *current
 * the new current (the previous one not withdrawn, 0: none).  0 or -1.
 */
int hub_bundles_rollback(struct hub_store *st, const char *actor,
    int64_t now_us, uint64_t *withdrawn, uint64_t *current);

/* The hex SHA-256 of a bundle text's entry lines (between the header and
 * "end").  0, or -1 when text is not shaped like a bundle. */
int hub_bundles_entry_sha(const char *text, size_t len, char hex[65]);

/* ---- serving (picket-hub serve) */

struct hub_bundle_stats {
	uint64_t	 checks;	/* timer ticks and pokes */
	uint64_t	 refreshes;	/* bundles built (set changed) */
	uint64_t	 versions;	/* new versions stored */
	uint64_t	 invalid;	/* entries left out: invalid */
	uint64_t	 over_cap;	/* entries left out: max_entries */
	uint64_t	 rollbacks;
	uint64_t	 too_big;	/* current version fits no frame */
	uint64_t	 store_errors;
};

struct hub_bundles;
struct event_base;

/* NULL on error (logged).  Checks the store at once and then every
 * c->bundles_check_interval seconds on base. */
struct hub_bundles *hub_bundles_new(const struct hub_config *c,
    struct hub_store *st, struct event_base *base);
/* fn(arg) when the current version changes (hub/main.c: the listener's
 * hub_listener_bundle_changed). */
typedef void (*hub_bundles_notify_fn)(void *arg);
void hub_bundles_set_notify(struct hub_bundles *b, hub_bundles_notify_fn fn,
    void *arg);
void hub_bundles_free(struct hub_bundles *b);
/* Refresh now if the approved set changed, pick up a version another
 * process withdrew, and tell the listener when the current one moved
 * (after an approval, a rejection, rows a peer sent). */
void hub_bundles_check(struct hub_bundles *b);
/* Roll back for the API: hub_bundles_rollback, then tell the agents. */
int hub_bundles_rollback_now(struct hub_bundles *b, const char *actor,
    uint64_t *withdrawn, uint64_t *current);
/* The current version (0: none). */
uint64_t hub_bundles_version(const struct hub_bundles *b);
/* Its whole CONFIG APPLY frame: 0, or -1 when there is none or it does
 * not fit a frame (counted once per version as too_big). */
int hub_bundles_frame(const struct hub_bundles *b, const uint8_t **frame,
    size_t *len);
const struct hub_bundle_stats *hub_bundles_stats(const struct hub_bundles *b);
/* "bundles_<name> value" lines (SIGUSR1). */
void hub_bundles_print(const struct hub_bundles *b, FILE *fp);

/* ---- API (hub/api_bundles.c, docs/api.md) */

struct hub_api;
struct hub_api_req;
/* Set by hub/main.c; NULL: no serving side (the handlers still read). */
void hub_api_set_bundles(struct hub_api *a, struct hub_bundles *b);
struct hub_bundles *hub_api_bundles(const struct hub_api *a);
json_t *hub_api_bundle_list(struct hub_api_req *r, int *status);
json_t *hub_api_bundle_get(struct hub_api_req *r, int *status);
json_t *hub_api_bundle_rollback(struct hub_api_req *r, int *status);
json_t *hub_api_shared_get(struct hub_api_req *r, int *status);
/* Add "reach" and "matches" of shared indicator id to o.  0 or -1. */
int hub_api_shared_reach(struct hub_store *st, int64_t id, json_t *o);
/* Add "reach_hosts" [{agent_id, host_name, since}] and "matched"
 * [indicator rows] (each at most HUB_SHARED_DETAIL_MAX) to o.  0 or -1. */
#define HUB_SHARED_DETAIL_MAX	100
int hub_api_shared_detail(struct hub_store *st, int64_t id, json_t *o);
/* The "bundle" of a host row: an object, or JSON null. */
json_t *hub_api_host_bundle(struct hub_store *st, const char *agent_id);
/* The same from a row already read (NULL: the host has none). */
json_t *hub_api_bundle_json(const struct hub_agent_bundle *a);

/* `picket-hub bundle list|show|rollback` (hub/bundle_cli.c). */
int hub_cmd_bundle(int argc, char **argv);

#endif
