/*
 * listener.h - picket-hub's agent listener: events on a libevent
 * event_base (shared with the HTTPS API, hub/api.c), a
 * non-blocking TLS 1.3 listening socket and many agent connections, each a
 * small state machine (TLS handshake -> wait for HELLO -> ready) that
 * speaks docs/protocol.md and hands every BATCH to hub/ingest.c.  Single
 * threaded: the batches of one loop turn are stored in one transaction
 * (group commit) and their ACKs are sent only after it commits, and no
 * call ever blocks on a socket.  The counters below are the hub's
 * health data (docs/hub.md).  Called by hub/main.c (`picket-hub serve`).
 */
#ifndef PICKET_HUB_LISTENER_H
#define PICKET_HUB_LISTENER_H

/*
 * Event priorities of the hub's one loop (hub/main.c makes this many):
 * the API and everything else run at the base's default (the middle
 * one, which libevent also gives the API's bufferevents when evhttp
 * hands them their socket, whatever was set before), agents' events at
 * the last, so a browser never queues behind a thousand busy agents.
 */
#define HUB_PRIO_LEVELS		3
#define HUB_PRIO_AGENTS		2

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hub/config.h"
#include "hub/ingest.h"
#include "transport/frame.h"

/* Wire error codes run 1..PK_WE_SHUTDOWN; slot 0 is unused. */
#define HUB_WE_SLOTS	(PK_WE_SHUTDOWN + 1)

struct hub_counters {
	uint64_t	accepted;		/* TCP connections taken in */
	uint64_t	refused_limit;		/* closed at once: max_connections */
	uint64_t	accept_errors;		/* accept() failed (EMFILE...) */
	uint64_t	handshake_failures;	/* TLS refused or broke */
	uint64_t	timeouts;		/* handshake/HELLO late, or silent */
	uint64_t	auth_failures;		/* HELLO agent_id != certificate */
	uint64_t	version_failures;	/* no common protocol version */
	uint64_t	welcomes;		/* connections that reached READY */
	uint64_t	replaced;		/* older connection of an agent */
	uint64_t	identity_conflicts;	/* agents seen as cloned */
	uint64_t	peer_errors;		/* ERROR frames from agents */
	uint64_t	peer_closed;		/* agent closed (EOF, reset) */
	uint64_t	truncated;		/* agent closed inside a frame */
	uint64_t	inflight_exceeded;	/* over max_inflight: LIMIT */
	uint64_t	closed_by_error[HUB_WE_SLOTS];	/* ERROR we sent */
	uint64_t	frames_in;
	uint64_t	frames_out;
	uint64_t	batches;		/* BATCH frames stored and ACKed */
	uint64_t	acks;
	uint64_t	heartbeats_in;
	uint64_t	renewals;	/* RENEW frames answered */
	uint64_t	renewed;	/* ... with a new certificate */
	uint64_t	heartbeats_out;
	uint64_t	bytes_in;		/* decrypted bytes */
	uint64_t	bytes_out;
	/* bundles (v2 sessions, docs/peering.md) */
	uint64_t	configs_sent;		/* CONFIG frames queued */
	uint64_t	bundle_reports;		/* APPLIED RUNNING at session start */
	uint64_t	applied;		/* APPLIED APPLIED */
	uint64_t	refused;		/* APPLIED REFUSED */
	uint64_t	rolled_back;		/* APPLIED ROLLED_BACK */
	uint64_t	bundle_too_big;		/* CONFIG not sent: no frame */
	uint64_t	bundle_queue_full;	/* CONFIG not queued: busy */
	uint64_t	bundle_store_errors;	/* APPLIED not recorded */
	uint64_t	active;			/* open connections now */
};

struct hub_listener;

struct event_base;

/*
 * A non-blocking, close-on-exec TCP socket listening on addr ("host:port",
 * "[v6]:port", ":port", "*:port").  The fd, or -1 (logged).  The API
 * listens through this too, so both take the same address syntax.
 */
int hub_listen_on(const char *addr);

/*
 * Make the TLS context from c's [tls] files, listen on c->listen
 * (host:port, [v6]:port) and add the listening socket to base; agents are
 * then served whenever base's loop runs.  in is the ingest (store) every
 * connection feeds; in and base must outlive the listener.  NULL on error
 * (logged).
 */
struct hub_listener *hub_listener_new(const struct hub_config *c,
    struct hub_ingest *in, struct event_base *base);

/*
 * Graceful stop: close the listening socket, send ERROR SHUTDOWN to every
 * agent past its handshake, run base's loop for at most grace_ms to flush
 * them, close everything.  Call with the loop not running.
 */
void hub_listener_stop(struct hub_listener *l, int grace_ms);

/* Close whatever is still open and free everything. */
void hub_listener_free(struct hub_listener *l);

/* Agents connected now (past HELLO). */
size_t hub_listener_connected(const struct hub_listener *l);
/*
 * Their agent ids, sorted (strcmp), in *ids: a calloc'ed array the caller
 * frees; the strings stay valid until the loop runs again.  The count.
 */
size_t hub_listener_ready_ids(const struct hub_listener *l,
    const char ***ids);

const struct hub_counters *hub_listener_counters(const struct hub_listener *l);

/*
 * Was agent_id reported as used by two machines at once (it kept
 * connecting from two alternating addresses)?  1 with how many times it
 * changed address and the last two addresses (cap bytes each), or 0.
 */
int hub_listener_conflicts(const struct hub_listener *l, const char *agent_id,
    uint64_t *flips, char *addr_a, char *addr_b, size_t cap);

/* ---- for hub/tasks.c (targeted collection) */

struct hub_conn;	/* a READY agent connection */
struct hub_tasks;

/* RESULT frames go to t and WELCOMEs tell it; NULL: RESULT is refused. */
void hub_listener_set_tasks(struct hub_listener *l, struct hub_tasks *t);
/*
 * Queue a whole encoded frame (a TASK) on c, after whatever is queued:
 * 0, or -1 when c is not ready or its task queue is full (64 frames,
 * 2 MiB), which the caller counts.
 */
int hub_listener_queue(struct hub_listener *l, struct hub_conn *c,
    const uint8_t *frame, size_t len);
/* fn for every READY connection (non-zero stops). */
void hub_listener_each_ready(struct hub_listener *l,
    int (*fn)(void *arg, const char *agent_id, struct hub_conn *c),
    void *arg);
/* The READY connection of agent_id, or NULL. */
struct hub_conn *hub_listener_find(struct hub_listener *l,
    const char *agent_id);

/* ---- for hub/bundles.c (shared-indicator bundles, protocol v2) */

struct hub_bundles;
/* CONFIG frames come from b's current version; NULL: none are sent. */
void hub_listener_set_bundles(struct hub_listener *l, struct hub_bundles *b);
/* The current version changed: every v2 agent not at it and with no
 * CONFIG outstanding gets one now. */
void hub_listener_bundle_changed(struct hub_listener *l);

/*
 * Write the counters (and the ingest's) as "name value" lines to fp in
 * one write, so a reader never sees half a set.
 */
void hub_counters_print(const struct hub_counters *k,
    const struct hub_ingest_stats *is, FILE *fp);

#endif
