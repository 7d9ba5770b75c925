/*
 * listener.h - picket-hub's agent listener: one poll() loop, a
 * non-blocking TLS 1.3 listening socket and many agent connections, each a
 * small state machine (TLS handshake -> wait for HELLO -> ready) that
 * speaks docs/protocol.md and hands every BATCH to hub/ingest.c.  Single
 * threaded: a batch is stored and committed before its ACK is queued, and
 * no call ever blocks on a socket.  The counters below are the hub's
 * health data (docs/hub.md).  Called by hub/main.c (`picket-hub serve`).
 */
#ifndef PICKET_HUB_LISTENER_H
#define PICKET_HUB_LISTENER_H

#include <signal.h>
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
	uint64_t	peer_errors;		/* ERROR frames from agents */
	uint64_t	peer_closed;		/* agent closed (EOF, reset) */
	uint64_t	truncated;		/* agent closed inside a frame */
	uint64_t	closed_by_error[HUB_WE_SLOTS];	/* ERROR we sent */
	uint64_t	frames_in;
	uint64_t	frames_out;
	uint64_t	batches;		/* BATCH frames stored and ACKed */
	uint64_t	acks;
	uint64_t	heartbeats_in;
	uint64_t	heartbeats_out;
	uint64_t	bytes_in;		/* decrypted bytes */
	uint64_t	bytes_out;
	uint64_t	active;			/* open connections now */
};

struct hub_listener;

/*
 * Make the TLS context from c's [tls] files and listen on c->listen
 * (host:port, [v6]:port).  in is the ingest (store) every connection
 * feeds; it must outlive the listener.  NULL on error (logged).
 */
struct hub_listener *hub_listener_new(const struct hub_config *c,
    struct hub_ingest *in);

/*
 * One turn of the loop: wait at most max_ms (less when a timer is due) in
 * ppoll() with the signal mask *mask (NULL: keep the current one), then
 * accept, read, answer, write and expire.  0, or -1 on a fatal error
 * (poll itself failed).  A signal ends the wait early and returns 0.
 */
int hub_listener_poll(struct hub_listener *l, int max_ms,
    const sigset_t *mask);

/*
 * Graceful stop: close the listening socket, send ERROR SHUTDOWN to every
 * agent past its handshake, flush for at most grace_ms, close everything.
 */
void hub_listener_stop(struct hub_listener *l, int grace_ms,
    const sigset_t *mask);

/* Close whatever is still open and free everything. */
void hub_listener_free(struct hub_listener *l);

const struct hub_counters *hub_listener_counters(const struct hub_listener *l);

/*
 * Write the counters (and the ingest's) as "name value" lines to fp in
 * one write, so a reader never sees half a set.
 */
void hub_counters_print(const struct hub_counters *k,
    const struct hub_ingest_stats *is, FILE *fp);

#endif
