/*
 * ingest.h - what the hub does with one BATCH frame from an agent, without
 * sockets: open the batch (inflate, split into records with their sequence
 * numbers), check each record, store it once under (agent id, seq) in one
 * transaction, and say which ACK to send.  The network listener and
 * `picket-hub import` both call it, so tests of the import prove the path
 * the network uses.  Called by hub/main.c (and the listener), unit tests.
 *
 * Two ways to commit.  Alone (import, tests): each call of
 * hub_ingest_batch is its own transaction, committed before it returns.
 * In a group (the listener): between hub_ingest_group_begin and
 * hub_ingest_group_commit every HELLO and BATCH is written into one open
 * transaction, so one fsync covers all the batches of a loop turn; none
 * of their answers (ACK, WELCOME) may be sent before group_commit says
 * the group is durable.
 */
#ifndef PICKET_HUB_INGEST_H
#define PICKET_HUB_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "hub/store.h"
#include "transport/batch.h"
#include "transport/frame.h"

struct hub_ingest_stats {
	uint64_t	batches;	/* stored and ACKed */
	uint64_t	records;	/* records in those batches */
	uint64_t	stored;		/* new rows */
	uint64_t	duplicates;	/* (agent, seq) already stored */
	uint64_t	rejected;	/* records refused (not an indicator) */
	uint64_t	bad_frames;	/* BATCH header refused */
	uint64_t	store_errors;	/* batches not stored: store failed */
	uint64_t	group_commits;	/* groups committed with a batch */
	uint64_t	group_max;	/* most batches in one of them */
	uint64_t	shared_ref_bad;	/* picket.shared.ref not an id: ignored */
	struct pk_batch_stats batch;	/* pk_batch_open outcomes */
};

/*
 * A group is committed by the listener when its loop turn ends, or at
 * once when it holds this many batches or records: the bound keeps one
 * commit (and what waits for it: the ACKs, an API request) short.  64
 * batches is 8 agent callbacks (the loop's dispatch limit) of the default
 * max_inflight 8.
 */
#define HUB_GROUP_BATCHES	64
#define HUB_GROUP_RECORDS	50000

/* What the open group holds: counted into the stats once it commits. */
struct hub_ingest_group {
	uint64_t	batches, records, stored, duplicates, rejected;
	uint64_t	writes;		/* HELLOs and batches */
};

struct hub_ingest {
	struct hub_store	*st;
	struct pk_batch_limits	 lim;
	uint8_t			*raw;		/* lim.max_raw bytes */
	struct pk_batch_rec	*recs;		/* lim.max_records slots */
	struct hub_ingest_stats	 stats;
	int			 group;		/* a group is open */
	struct hub_ingest_group	 g;
};

/* lim NULL: the protocol's defaults.  0 or -1 (memory). */
int hub_ingest_init(struct hub_ingest *in, struct hub_store *st,
    const struct pk_batch_limits *lim);
void hub_ingest_free(struct hub_ingest *in);

/*
 * Start a group: from now on HELLOs and batches join one transaction
 * (opened at the first write) until hub_ingest_group_commit.  0.
 */
int hub_ingest_group_begin(struct hub_ingest *in);

/*
 * End the group.  0: every write since group_begin is durable, and the
 * answers held for it may be sent.  -1: some of it was rolled back
 * (logged, its batches counted in store_errors): send none of them; each
 * of those connections gets ERROR INTERNAL and the agent resends (the
 * (agent, seq) key makes that safe).  0 when no group is open.
 */
int hub_ingest_group_commit(struct hub_ingest *in);

/* The open group reached HUB_GROUP_BATCHES or HUB_GROUP_RECORDS. */
int hub_ingest_group_full(const struct hub_ingest *in);

/* HELLO arrived: record the host; *stored_seq is WELCOME's stored_seq.
 * In a group, WELCOME waits for the group's commit like an ACK: the
 * number may include the group's own uncommitted batches. */
int hub_ingest_hello(struct hub_ingest *in, const char *agent_id,
    const char *host_name, uint64_t dropped, int64_t now_us,
    uint64_t *stored_seq);

/*
 * One BATCH frame f from agent_id.  0: stored and committed (in a group:
 * stored in the group, to be sent only once it commits), *ack is the
 * ACK to send (the batch's last seq, or the higher seq already settled),
 * *added the rows that were new.  -1: nothing stored, *wire_err is the
 * ERROR code to send before closing (PK_WE_PROTOCOL, PK_WE_BATCH,
 * PK_WE_LIMIT, or PK_WE_INTERNAL when the store failed; in a group that
 * failure also fails the group).  A record that is
 * not an indicator is skipped and counted, not fatal: refusing the batch
 * would make the agent resend it for ever.
 */
int hub_ingest_batch(struct hub_ingest *in, const char *agent_id,
    const struct pk_frame *f, int64_t now_us, uint64_t *ack,
    uint32_t *added, uint16_t *wire_err);

/*
 * Take the indexed columns out of one record (s[0..len)).  0, or -1 when
 * it is not a JSON object with every required field (docs/schema-hub.md).
 * ind->json points at s.
 */
int hub_extract(const char *s, size_t len, struct hub_indicator *ind);

/* "2010-04-18T21:41:52.640830Z" (fraction optional, 1..9 digits) to µs
 * since 1970.  0 or -1. */
int hub_parse_time(const char *s, int64_t *us);

#endif
