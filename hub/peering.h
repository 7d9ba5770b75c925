/*
 * peering.h - the hub's side of member-to-member sharing (docs/peering.md):
 * the peering listener, which takes bundles from peers over mutual TLS
 * (each peer's pinned CA decides who it is) and keeps what they share,
 * and the pusher, which offers each enabled peer, every push_interval,
 * the alerts stored after its cursor, and moves the cursor only on a 200.
 * Both run on the hub's one event loop (libevent evhttp over OpenSSL
 * bufferevents, TLS through transport/tls.c); the peers are read from the
 * store every few seconds, so `picket-hub peer ...` applies to a running
 * hub.  hub/main.c creates it; the API reads its counters.
 */
#ifndef PICKET_HUB_PEERING_H
#define PICKET_HUB_PEERING_H

#include <stdint.h>
#include <stdio.h>

#include "hub/config.h"
#include "hub/stix.h"
#include "hub/store.h"

struct event_base;
struct hub_conncap;
struct hub_peering;

struct hub_peering_stats {
	uint64_t	 bundles_sent;		/* answered 200 */
	uint64_t	 bundles_refused;	/* answered 4xx/5xx */
	uint64_t	 push_failures;		/* connection, TLS, timeout */
	uint64_t	 indicators_sent;
	uint64_t	 rows_filtered;		/* kept back by policy */
	uint64_t	 values_redacted;
	uint64_t	 bundles_received;
	uint64_t	 bundles_duplicate;
	uint64_t	 bundles_refused_in;	/* refused whole */
	uint64_t	 objects_refused;
	uint64_t	 shared_new, shared_updated;
	uint64_t	 handshakes_refused;	/* no peer's CA, disabled */
	uint64_t	 excerpts_sent;		/* in bundles taken */
	uint64_t	 excerpts_withheld;	/* naming the member's own */
};

/*
 * Start listening on c->peering_listen (when set) and pushing to the
 * peers in st.  sh: the [sharing] settings (redaction), which must
 * outlive it.  NULL on error (logged).
 */
struct hub_peering *hub_peering_new(const struct hub_config *c,
    struct hub_store *st, struct event_base *base,
    const struct hub_sharing *sh);
void hub_peering_free(struct hub_peering *p);
const struct hub_peering_stats *hub_peering_stats(const struct hub_peering *p);
/* The listener's connection count and refusals (all 0 when it is off). */
const struct hub_conncap *hub_peering_conncap(const struct hub_peering *p);
/* "peering_<name> value" lines (SIGUSR1, docs/hub.md). */
void hub_peering_print(const struct hub_peering *p, FILE *fp);

/* `picket-hub peer ...` (hub/peer_cli.c). */
int hub_cmd_peer(int argc, char **argv);

#endif
