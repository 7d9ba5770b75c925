/*
 * shipper_win32.h - the Windows agent's reporting thread (docs/windows.md,
 * "Reporting to the hub"): spool to hub over Winsock and the mutual TLS of
 * transport/tls.c, speaking protocol versions 1 and 2 of docs/protocol.md
 * (HELLO, WELCOME, BATCH deflated with the preset dictionary, ACK,
 * HEARTBEAT, ERROR; TASK answered with a refusal; RENEW and CERT, through
 * agent/renew_win32.c; CONFIG and APPLIED, the bundles the capture thread
 * applies), directly or through an HTTP CONNECT proxy.
 * agent/shipper.c is the Linux
 * shipper (a process of its own, libevent-free poll loop, privilege
 * separation); this is the same protocol as a thread of the one Windows
 * process, meeting the capture thread only at the spool directory and
 * struct pk_wlink (agent/spoolout_win32.h).  Called by agent/main_win32.c.
 */
#ifndef PICKET_SHIPPER_WIN32_H
#define PICKET_SHIPPER_WIN32_H

#include <stdint.h>
#include <stdio.h>

#include "agent/spoolout_win32.h"
#include "transport/frame.h"
#include "transport/tls.h"

#define PK_WSHIP_HOST_MAX	256

struct pk_wship_conf {
	char		 host[PK_WSHIP_HOST_MAX];	/* hub address */
	uint16_t	 port;
	char		 server_name[PK_WSHIP_HOST_MAX]; /* SNI, name check */
	char		 proxy_host[PK_WSHIP_HOST_MAX];	/* "" = direct */
	uint16_t	 proxy_port;
	/* [hub] ca, cert, key, crl, pin: the thread makes its TLS context
	 * from them, and again after it renewed the certificate */
	struct pk_tls_client_opts tls;
	uint64_t	 renew_before_us;	/* [hub] renew_before */
	const char	*spool_dir;
	int		 spool_fsync;		/* ack file fsynced */
	uint32_t	 connect_timeout_ms;
	uint32_t	 backoff_base_ms, backoff_cap_ms;
	uint32_t	 batch_records, batch_bytes;	/* our own limits */
	int		 level;			/* 0 plain, 1..9 deflate */
	char		 agent_id[PK_AGENT_ID_MAX + 1];	/* certificate CN */
	char		 host_name[PK_HOST_NAME_MAX + 1];
	int		 bundle_accept;		/* [bundle] accept */
	size_t		 bundle_max_entries;	/* [bundle] max_entries */
};

struct pk_wship_stats {
	uint64_t	connects, sessions, connect_failures, tls_failures;
	uint64_t	refusals, timeouts, protocol_errors;
	uint64_t	batches, records, raw_bytes, wire_bytes;
	uint64_t	acks, acked_seq, unsendable, spool_errors;
	uint64_t	heartbeats_sent, heartbeats_received;
	uint64_t	task_frames, tasks_refused, result_frames;
	uint64_t	results_dropped, shutdowns_sent;
	uint64_t	renewals, renewals_refused;
	uint64_t	config_frames, bundles_refused, applied_frames;
	uint64_t	applied_dropped, bundle_timeouts;
};

struct pk_wship;

/* Start the thread (the strings c points to must outlive it).  NULL with
 * err on failure (the TLS files among them). */
struct pk_wship *pk_wship_start(const struct pk_wship_conf *c,
    struct pk_wlink *link, char *err, size_t errlen);
/*
 * Wait (on the calling thread) until the hub has ACKed every record up to
 * seq or timeout_ms passed: 1 all ACKed, 0 not (yet).
 */
int pk_wship_wait_acked(struct pk_wship *s, uint64_t seq, uint32_t timeout_ms);
/*
 * Stop: the thread sends what is left in the spool for up to 5 s, waits
 * for the ACKs, closes with ERROR SHUTDOWN, and ends; then it is joined
 * and freed.  The capture thread stops first (and syncs the spool).
 */
void pk_wship_stop(struct pk_wship *s, FILE *stats);

#endif
