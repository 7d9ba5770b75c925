/*
 * shipper.h - the part of picketd that faces the network: it reads the
 * spool, sends batches to the member's hub over mutual TLS (optionally
 * through an HTTP CONNECT proxy), deletes spool data once the hub's ACK
 * covers it, and reconnects with exponential backoff and full jitter
 * (docs/protocol.md "Reconnecting").  On Linux it runs in its own process,
 * as the unprivileged user, with no capabilities and a seccomp filter
 * (docs/privsep.md); it talks to the collector only through the spool
 * files and the messages of agent/ipc.h.  The TLS context is made by the
 * caller before privileges are dropped (the key is readable by root
 * only).  Called by agent/main.c.
 */
#ifndef PICKET_SHIPPER_H
#define PICKET_SHIPPER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/task_policy.h"
#include "transport/frame.h"

#define PK_SHIP_HOST_MAX	256

struct pk_tls_ctx;

struct pk_shipper_conf {
	char		 host[PK_SHIP_HOST_MAX];	/* hub address */
	uint16_t	 port;
	char		 server_name[PK_SHIP_HOST_MAX]; /* certificate, SNI */
	char		 proxy_host[PK_SHIP_HOST_MAX];	/* "" = direct */
	uint16_t	 proxy_port;
	const char	*spool_dir;
	int		 spool_fsync;	/* fsync the ack file (not policy never) */
	uint32_t	 connect_timeout_ms;
	uint32_t	 backoff_base_ms, backoff_cap_ms;
	uint32_t	 batch_records, batch_bytes;
	int		 level;		/* 0 = plain, 1..9 deflate */
	char		 agent_id[PK_AGENT_ID_MAX + 1];
	char		 host_name[PK_HOST_NAME_MAX + 1];
	int		 ipc_fd;	/* socketpair end, -1 = none */
	/* Write spool_dir/.status-shipper for `picketd status`. */
	int		 status_file;
	/*
	 * Renewal (docs/enrollment.md): a CSR for the agent's key made as
	 * root at start (NULL: the certificate is not one this agent can
	 * renew), the current certificate's expiry, and how long before
	 * it to ask the hub.  What the hub issues is written to
	 * spool_dir/PK_SHIP_RENEWED for the supervisor to check and install.
	 */
	const char	*renew_csr;
	int64_t		 cert_not_after_us;
	uint64_t	 renew_before_us;
	/*
	 * Targeted collection (docs/tasks.md, "Agent"): TASK frames are
	 * checked against this policy, filed in spool_dir/tasks and passed
	 * to the collector; its results go back as RESULT frames.  tasks 0:
	 * every TASK is answered refused.
	 */
	int			 tasks;
	struct pk_task_policy	 task_policy;
	/*
	 * Shared-indicator bundles (docs/bundles.md, "Agent"): CONFIG
	 * frames are checked, filed in spool_dir/bundle and passed to the
	 * collector; its answer goes back as APPLIED.  bundle_accept 0:
	 * every bundle is refused.  [bundle] max_entries.
	 */
	int			 bundle_accept;
	size_t			 bundle_max_entries;
};

#define PK_SHIP_RENEWED		"renewed.crt"
/* pk_shipper_run: a new certificate waits in spool_dir/PK_SHIP_RENEWED. */
#define PK_SHIP_RUN_RENEWED	1

struct pk_shipper_stats {
	uint64_t	connects;		/* attempts */
	uint64_t	sessions;		/* reached WELCOME */
	uint64_t	connect_failures;	/* TCP, proxy, DNS */
	uint64_t	tls_failures;
	uint64_t	refusals;		/* ERROR from the hub */
	uint64_t	timeouts;
	uint64_t	protocol_errors;	/* bad frames from the hub */
	uint64_t	batches;
	uint64_t	records;
	uint64_t	raw_bytes;		/* NDJSON before deflate */
	uint64_t	wire_bytes;		/* BATCH payload bytes */
	uint64_t	acks;
	uint64_t	acked_seq;
	uint64_t	unsendable;		/* records too large for a frame */
	uint64_t	spool_errors;
	uint64_t	ipc_bad;		/* malformed collector messages */
	uint64_t	renewals;		/* RENEW frames sent */
	uint64_t	renewals_refused;	/* CERT answers not ISSUED */
	uint64_t	task_frames;		/* TASK frames taken */
	uint64_t	result_frames;		/* RESULT frames sent */
	uint64_t	config_frames;		/* CONFIG frames taken */
	uint64_t	bundles_refused;	/* refused before the collector */
	uint64_t	applied_frames;		/* APPLIED frames sent */
	uint64_t	applied_dropped;	/* answer queue full */
	uint64_t	bundle_timeouts;	/* collector did not answer */
};

struct pk_shipper;

struct pk_shipper *pk_shipper_new(const struct pk_shipper_conf *c,
    struct pk_tls_ctx *ctx, char *err, size_t errlen);
/*
 * Run until *quit: connect, ship, reconnect.  *report (may be NULL) asks
 * for the counters in the log.  Returns 0 when asked to quit,
 * PK_SHIP_RUN_RENEWED when the hub renewed the certificate (the caller
 * exits so that the supervisor installs it and starts a new shipper), -1
 * when the spool cannot be read at all.
 */
int pk_shipper_run(struct pk_shipper *s, volatile sig_atomic_t *quit,
    volatile sig_atomic_t *report);
void pk_shipper_stats(const struct pk_shipper *s, struct pk_shipper_stats *st);
void pk_shipper_free(struct pk_shipper *s);

#endif
