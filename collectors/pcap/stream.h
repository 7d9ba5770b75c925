/*
 * stream.h - in-order TCP stream reassembly for content inspection.
 *
 * For each direction of a TCP flow the reassembler keeps the payload bytes
 * in sequence order, from the first byte after the SYN (or the first
 * segment seen, for flows picked up midstream) up to [stream] depth bytes.
 * Out-of-order segments wait, at most [stream] max_segments per direction;
 * retransmitted and overlapping bytes keep the first copy ("first data
 * wins", counted when the copies differ).  All streams together stay under
 * [stream] memcap; what cannot be kept is counted, never silently lost.
 * A direction's buffer is freed once no more bytes will come to it (FIN or
 * RST sent in it, depth or memcap reached), at the next packet of its
 * flow, so memory follows the open conversations, not the flow table.
 * The engine owns the per-flow state (one pointer it stores with the
 * flow) and calls the functions below.  Portable.
 */
#ifndef PICKET_STREAM_H
#define PICKET_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "collectors/pcap/decode.h"

struct pk_stream_cfg {
	uint32_t	depth;		/* bytes per direction */
	uint64_t	memcap;		/* all streams */
	uint32_t	max_segments;	/* out-of-order held per direction */
};

/*
 * A content scanner's place in one direction: the content-rule matcher
 * (rules_match.c) scans each byte of a stream once, carrying its
 * automaton state from one packet to the next, and remembers the rules
 * whose prefilter pattern it found but which have not matched yet.
 * stream.c keeps one per direction, zeroed when the direction is created;
 * the pending list is allocated through pk_stream_scan_reserve(), counted
 * against [stream] memcap, and freed with the direction's buffer.
 * Bounded: a direction with more pending rules than PK_STREAM_SCAN_MAX
 * (or than the memcap allows) sets overflow, and the matcher then scans
 * that direction's whole buffer each time, as if it had no cursor.
 */
#define PK_STREAM_SCAN_MAX	512	/* pending rules per direction */

struct pk_streams;

struct pk_stream_scan {
	uint32_t	 state;		/* automaton state after off bytes */
	uint32_t	 off;		/* bytes of the buffer scanned */
	uint32_t	 epoch;		/* the automaton's; 0 = none yet */
	uint8_t		 overflow;
	uint32_t	 npending, cap;
	uint32_t	*pending;	/* rules found, not matched yet */
	struct pk_streams *owner;	/* counts the memory; NULL: none */
};

/* Room for n pending rules: 0, or -1 (over PK_STREAM_SCAN_MAX, memcap,
 * no memory; counted in scan_refused). */
int pk_stream_scan_reserve(struct pk_stream_scan *sc, uint32_t n);
/* Forget everything (the pending list is freed); the owner stays. */
void pk_stream_scan_reset(struct pk_stream_scan *sc);

/* What one packet made visible in its direction. */
struct pk_stream_view {
	const uint8_t	*data;		/* bytes 0..len of this direction */
	uint32_t	 len;
	uint32_t	 new_off;	/* first byte this packet made
					   available (data + new_off) */
	uint8_t		 gap;		/* bytes before data were missed */
	uint8_t		 full;		/* depth reached, or FIN/RST: no
					   more will come */
	/* the direction's scanner cursor (NULL: none, scan it all) */
	struct pk_stream_scan *scan;
};

struct pk_stream_stats {
	uint64_t streams;		/* directions that got a buffer */
	uint64_t bytes;			/* in-order bytes made available */
	uint64_t segments_ooo;		/* held out of order */
	uint64_t ooo_dropped;		/* over max_segments */
	uint64_t overlaps_differ;	/* overlap with different bytes */
	uint64_t gaps;			/* holes skipped (FIN/RST, full) */
	uint64_t depth_reached;		/* directions that hit depth */
	uint64_t memcap_refused;	/* buffers refused over memcap */
	uint64_t mem;			/* bytes held now */
	uint64_t mem_peak;		/* most bytes held at once */
	uint64_t closed;		/* buffers freed at FIN/RST/depth */
	uint64_t scan_refused;		/* pending lists refused growth */
};

struct pk_streams *pk_streams_new(const struct pk_stream_cfg *cfg);
/* Also frees every state not released yet (NULL is fine). */
void pk_streams_free(struct pk_streams *s);
/*
 * Account one TCP packet of a flow; *state is the flow's stream pointer
 * (NULL at first, kept by the caller).  dir is PK_DIR_FWD or PK_DIR_REV.
 * Returns 1 and fills *view when this packet added in-order bytes, else 0.
 * The view stays valid until the next call for the same flow (which frees
 * the buffer of a direction that was complete).
 */
int pk_stream_packet(struct pk_streams *s, void **state, int dir,
    const struct pk_packet *p, struct pk_stream_view *view);
/* The flow ended: free its state (NULL is fine). */
void pk_stream_release(struct pk_streams *s, void *state);
const struct pk_stream_stats *pk_streams_stats(const struct pk_streams *s);

#endif
