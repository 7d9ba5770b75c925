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
 * POSIX files only (the shipper half runs under its seccomp filter).
 * Called by agent/shipper.c, agent/main.c and tests/unit/test_bundle_agent.c.
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

/*
 * For `picketd -n`: the bundle the spool's state names, as
 *   bundle: version V (previous P), N entries: a domain, b fingerprint, ...
 * or "bundle: none".  0, or -1 when the files are corrupt (printed).
 */
int pk_bundle_summary(const char *spool_dir, size_t max_entries, FILE *out);

#endif
