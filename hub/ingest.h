/*
 * ingest.h - what the hub does with one BATCH frame from an agent, without
 * sockets: open the batch (inflate, split into records with their sequence
 * numbers), check each record, store it once under (agent id, seq) in one
 * transaction, and say which ACK to send.  The network listener and
 * `picket-hub import` both call it, so tests of the import prove the path
 * the network uses.  Called by hub/main.c (and the listener), unit tests.
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
	struct pk_batch_stats batch;	/* pk_batch_open outcomes */
};

struct hub_ingest {
	struct hub_store	*st;
	struct pk_batch_limits	 lim;
	uint8_t			*raw;		/* lim.max_raw bytes */
	struct pk_batch_rec	*recs;		/* lim.max_records slots */
	struct hub_ingest_stats	 stats;
};

/* lim NULL: the protocol's defaults.  0 or -1 (memory). */
int hub_ingest_init(struct hub_ingest *in, struct hub_store *st,
    const struct pk_batch_limits *lim);
void hub_ingest_free(struct hub_ingest *in);

/* HELLO arrived: record the host; *stored_seq is WELCOME's stored_seq. */
int hub_ingest_hello(struct hub_ingest *in, const char *agent_id,
    const char *host_name, uint64_t dropped, int64_t now_us,
    uint64_t *stored_seq);

/*
 * One BATCH frame f from agent_id.  0: stored and committed, *ack is the
 * ACK to send (the batch's last seq, or the higher seq already settled),
 * *added the rows that were new.  -1: nothing stored, *wire_err is the
 * ERROR code to send before closing (PK_WE_PROTOCOL, PK_WE_BATCH,
 * PK_WE_LIMIT, or PK_WE_INTERNAL when the store failed).  A record that is
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
