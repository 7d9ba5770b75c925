/*
 * bundle_agent.h - the agent's half of shared-indicator bundles
 * (docs/bundles.md, "Agent").  The shipper takes a CONFIG APPLY from the
 * hub, inflates and parses the bundle, and files it in spool/bundle as
 * <version>.bundle (pk_bundle_receive); the collector, which trusts
 * nothing the network-facing process wrote, reads and parses the file
 * again, builds the detection sets (agent/ioc.h, struct pk_shared), swaps
 * them into the engine between packets and records what runs in
 * spool/bundle/state (pk_bagent_*).  The two meet only in those files and
 * the PK_IPC_BUNDLE_* messages of agent/ipc.h, as tasks do.
 *
 *   spool/bundle/<v>.bundle  shipper, tmp + fsync + rename + fsync dir
 *   spool/bundle/state       collector: "running=R\nprevious=P\n"
 *   spool/bundle/status      collector: "version=V\noutcome=O\n
 *                            running=R\nprevious=P\nreason=...\n", the
 *                            answer to the last request
 *
 * On Windows (docs/windows.md) the shipper and the collector are two
 * threads of one process: the same files, but the messages pass through
 * struct pk_wlink (agent/spoolout_win32.h).  File calls go through
 * common/dir.h (the Linux shipper half runs under its seccomp filter).
 * Called by agent/shipper.c, agent/main.c, agent/shipper_win32.c,
 * agent/main_win32.c and tests/unit/test_bundle_agent.c.
 */
#ifndef PICKET_BUNDLE_AGENT_H
#define PICKET_BUNDLE_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/ipc.h"
#include "transport/frame.h"

#define PK_BUNDLE_SUBDIR	"bundle"
#define PK_BUNDLE_REASON_MAX	PK_ERROR_MSG_MAX
#define PK_BUNDLE_OFF_REASON	"bundles are turned off on this host " \
				"([bundle] accept = no)"

struct pk_engine;

/* What the collector runs (the state file). */
struct pk_bstate {
	uint64_t	running, previous;	/* 0 = none */
};

/* The collector's answer to the last request (the status file). */
struct pk_bstatus {
	uint64_t	version;	/* the request it answers */
	uint8_t		outcome;	/* enum pk_applied_outcome */
	uint64_t	running, previous;
	char		reason[PK_BUNDLE_REASON_MAX + 1];
};

/* ---- files, both sides ---- */

/* spool/bundle/state: 0, 1 when there is none, -1 when malformed. */
int pk_bstate_read(const char *spool_dir, struct pk_bstate *st);
int pk_bstate_write(const char *spool_dir, const struct pk_bstate *st);
int pk_bstatus_read(const char *spool_dir, struct pk_bstatus *st);
int pk_bstatus_write(const char *spool_dir, const struct pk_bstatus *st);
/* spool/bundle/<version>.bundle, atomically (made durable). */
int pk_bundle_store(const char *spool_dir, uint64_t version, const void *text,
    size_t len);
/* Read spool/bundle/<version>.bundle (at most PK_BUNDLE_RAW_MAX bytes)
 * into a malloc'd buffer: 0, -1 missing or unreadable, -2 too large. */
int pk_bundle_load_file(const char *spool_dir, uint64_t version, char **text,
    size_t *len);

/* ---- the shipper's half ---- */

/*
 * One CONFIG APPLY (decoded, version >= 1): inflate (a raw_len cap, the
 * size checked), parse with pk_bundle_parse (at most max_entries; the
 * header's version must be the frame's), and file it.  accept 0 refuses
 * with PK_BUNDLE_OFF_REASON.  0 filed, -1 refused with the reason.
 */
int pk_bundle_receive(const char *spool_dir, const struct pk_config_frame *cf,
    size_t max_entries, int accept, char *reason, size_t len);

/*
 * What both platforms' shippers do around it (agent/shipper.c, a process
 * on Linux; agent/shipper_win32.c, a thread on Windows): one request at
 * a time with the collector, the APPLIED answers queued for the
 * connection (at most PK_BSHIP_QUEUE, the rest counted and dropped: the
 * hub sends again), a collector silent for PK_BSHIP_WAIT_US answered
 * REFUSED.  How the request reaches the collector is the caller's.
 */
#define PK_BSHIP_QUEUE		8
#define PK_BSHIP_WAIT_US	(60 * 1000000ULL)

struct pk_bship_stats {
	uint64_t	config_frames;	/* CONFIG frames taken */
	uint64_t	refused;	/* refused without the collector */
	uint64_t	applied_frames;
	uint64_t	applied_dropped;	/* answer queue full */
	uint64_t	timeouts;	/* collector did not answer */
};

struct pk_bship {
	const char		*spool_dir;
	size_t			 max_entries;	/* [bundle] max_entries */
	int			 accept;	/* [bundle] accept */
	int			 wait;		/* a request is with the collector */
	uint64_t		 version;	/* ... for this version */
	uint64_t		 since;		/* monotonic */
	struct pk_applied	 aq[PK_BSHIP_QUEUE];
	unsigned		 aq_n;
	struct pk_bship_stats	 st;
};

void pk_bship_init(struct pk_bship *b, const char *spool_dir,
    size_t max_entries, int accept);
/*
 * A CONFIG frame in a session of version version: 0 with *cf decoded;
 * -1 with why (the session ends, a protocol error), *type_err 1 when the
 * hub must first hear ERROR TYPE with PK_BSHIP_TYPE_MSG (a version 1
 * session), 0 when the frame is malformed.
 */
#define PK_BSHIP_TYPE_MSG	"CONFIG needs protocol 2"
int pk_bship_decode(uint8_t version, const struct pk_frame *f,
    struct pk_config_frame *cf, int *type_err, char *why, size_t whylen);
/* A session began (WELCOME of version version): a request of the last
 * session is the hub's to send again; in version 2 APPLIED RUNNING with
 * what spool/bundle/state says is queued. */
void pk_bship_session(struct pk_bship *b, uint8_t version);
/*
 * A decoded CONFIG of a version 2 session: 1 when *req (BUNDLE_NEW or
 * BUNDLE_ROLLBACK, a = the version) must go to the collector, 0 when it
 * was refused here (logged, REFUSED queued): another request waits, no
 * collector (have_collector 0), [bundle] accept = no, or an APPLY that
 * pk_bundle_receive refused.
 */
int pk_bship_config(struct pk_bship *b, const struct pk_config_frame *cf,
    int have_collector, struct pk_ipc_msg *req);
/* The collector's BUNDLE_STATE: when it answers the waiting request (its
 * status file says so), the answer is queued (connected 0: dropped, the
 * hub hears the running bundle at the next session's start). */
void pk_bship_answered(struct pk_bship *b, const struct pk_ipc_msg *m,
    int connected);
/* Is a request waiting or an answer queued? */
int pk_bship_busy(const struct pk_bship *b);
/* The next APPLIED into out (a request that waited too long is answered
 * REFUSED first): 1 made (*len), 0 none. */
int pk_bship_next(struct pk_bship *b, uint64_t now, uint8_t *out,
    size_t cap, size_t *len);

/* ---- the collector's half ---- */

struct pk_bagent_stats {
	uint64_t	applied;	/* APPLY done */
	uint64_t	refused;	/* APPLY or ROLLBACK refused */
	uint64_t	rolled_back;
	uint64_t	corrupt;	/* state or bundle files unusable at start */
	uint64_t	file_errors;	/* state/status not written */
	uint64_t	ipc_ignored;	/* messages of another kind */
	uint64_t	entries_loaded;	/* of the running bundle */
	uint64_t	entries_ignored;
	uint64_t	apply_us;	/* last apply: read, parse, build, swap */
};

struct pk_bagent;

/*
 * spool_dir/bundle is made when missing.  accept, max_entries: [bundle]
 * (accept 0: no bundle runs, every request is refused, checked here again
 * after the shipper).  e gets the running bundle's sets
 * (pk_engine_set_shared).
 */
struct pk_bagent *pk_bagent_new(const char *spool_dir, int accept,
    size_t max_entries, struct pk_engine *e);
/* Clears the engine's sets and frees them. */
void pk_bagent_free(struct pk_bagent *ba);
/*
 * At start: the state file and the bundle it names.  A corrupt state or
 * bundle is logged and counted and the agent runs none (the hub sends it
 * again).  *m gets the BUNDLE_STATE message for the shipper.
 */
void pk_bagent_start(struct pk_bagent *ba, struct pk_ipc_msg *m);
/*
 * BUNDLE_NEW or BUNDLE_ROLLBACK from the shipper: apply, writes the
 * status file, and *reply gets the BUNDLE_STATE to send (type 0: none).
 */
void pk_bagent_ipc(struct pk_bagent *ba, const struct pk_ipc_msg *m,
    struct pk_ipc_msg *reply);
void pk_bagent_state(const struct pk_bagent *ba, struct pk_bstate *st);
void pk_bagent_stats(const struct pk_bagent *ba, struct pk_bagent_stats *st);
/* Its numbers as "key value" lines (docs/bundles.md): bundle_running,
 * ..., shared_matches (the engine's count, given). */
void pk_bagent_report(const struct pk_bagent *ba, uint64_t shared_matches,
    FILE *fp);

/*
 * For `picketd -n`: the bundle the spool's state names, as
 *   bundle: version V (previous P), N entries: a domain, b fingerprint, ...
 * or "bundle: none".  0, or -1 when the files are corrupt (printed).
 */
int pk_bundle_summary(const char *spool_dir, size_t max_entries, FILE *out);

#endif
