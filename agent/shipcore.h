/*
 * shipcore.h - the agent's side of protocol 1/2 (docs/protocol.md) without
 * any I/O: HELLO filled from the spool, WELCOME judged, the resume point
 * of "Exactly once", BATCH frames staged from the spool reader (a record
 * held over a gap or a full stage, a batch halved until it fits, a record
 * that cannot travel skipped), the ring of batches waiting for their ACK,
 * ACK handling that trims the spool, the heartbeat and silence clocks and
 * the reconnect backoff.  Portable (CORE_SRCS, runs under wine); called
 * only by the two platform shippers, agent/shipper.c (Linux process) and
 * agent/shipper_win32.c (Windows thread), which do the sockets, TLS and
 * the talk with the collector, and by tests/unit/test_shipcore.c.
 */
#ifndef PICKET_SHIPCORE_H
#define PICKET_SHIPCORE_H

#include <stddef.h>
#include <stdint.h>

#include "transport/batch.h"
#include "transport/frame.h"

struct pk_spool_reader;

#define PK_SC_INFLIGHT_MAX	64	/* batches unACKed, whatever WELCOME says */

struct pk_sc_conf {
	uint32_t	batch_records, batch_bytes;	/* our own limits */
	int		level;		/* 0 plain, 1..9 deflate */
	int		spool_fsync;	/* fsync the ack file */
};

/* The counters the core keeps; the shippers report them as theirs. */
struct pk_sc_counts {
	uint64_t	batches, records, raw_bytes, wire_bytes;
	uint64_t	acks, acked_seq, unsendable, spool_errors;
};

struct pk_sc_inflight {
	uint64_t	first, last;
	uint64_t	sent_us;	/* monotonic */
};

/* Records of the batch being made, copied out of the spool reader. */
struct pk_sc_stage {
	uint8_t			*buf;		/* payload bytes */
	size_t			 cap, used;
	struct pk_batch_rec	*recs;
	uint32_t		 max, n;
	uint64_t		 next;		/* seq the next record must have */
	uint64_t		 carry_seq;	/* record held over a gap */
	uint8_t			*carry;
	size_t			 carry_len;
};

struct pk_shipcore {
	struct pk_sc_conf	 c;
	struct pk_spool_reader	*rd;		/* the caller's */
	struct pk_sc_counts	 n;
	struct pk_welcome	 wl;		/* this session's limits */
	struct pk_sc_inflight	 fl[PK_SC_INFLIGHT_MAX];
	unsigned		 fl_head, fl_n;
	uint64_t		 read_from;	/* next seq to read from spool */
	uint64_t		 sent_seq;	/* highest seq sent (or skipped) */
	uint64_t		 last_rx, last_tx;	/* monotonic, set by I/O */
	unsigned		 attempt;	/* failures since a good session */
	struct pk_sc_stage	 sg;
};

/* Buffers for c's limits (clamped by the caller).  0, or -1 out of memory. */
int pk_sc_init(struct pk_shipcore *sc, const struct pk_sc_conf *c,
    struct pk_spool_reader *rd);
void pk_sc_free(struct pk_shipcore *sc);
/* The connection ended: nothing in flight, nothing carried. */
void pk_sc_reset(struct pk_shipcore *sc);

/*
 * HELLO: next_seq the larger of the collector's next (0: unknown) and the
 * ack point + 1, oldest_seq the ack point + 1, dropped what the collector
 * lost.
 */
void pk_sc_hello(struct pk_shipcore *sc, uint8_t ver_min, uint8_t ver_max,
    uint64_t spool_next, uint64_t lost, const char *agent_id,
    const char *host_name, struct pk_hello *h);
/*
 * The hub's answer to HELLO: 0 WELCOME of a version in ver_min..ver_max
 * (kept in sc->wl), 1 ERROR (*auth 1 when VERSION or AUTH: wait the
 * backoff cap), -1 anything else (a protocol error).  why says why.
 */
int pk_sc_welcome(struct pk_shipcore *sc, const struct pk_frame *f,
    uint8_t ver_min, uint8_t ver_max, int *auth, char *why, size_t whylen);
/*
 * After WELCOME (rule 4 of "Exactly once"): resume at max(stored_seq,
 * ack point) + 1; what the hub stores past our ack point is acked in the
 * spool.  Starts the clocks at now.
 */
void pk_sc_begin(struct pk_shipcore *sc, uint64_t now);

/* May another BATCH go out (the window is not full)? */
int pk_sc_can_send(const struct pk_shipcore *sc);
/*
 * The next BATCH frame into out (cap >= PK_FRAME_HDR + wl.max_frame),
 * recorded in flight at now: 1 made (*len), 0 nothing to send, -1 spool
 * or encoder error.  Records that cannot travel are skipped (counted).
 */
int pk_sc_next_batch(struct pk_shipcore *sc, uint8_t *out, uint64_t now,
    size_t *len);
/*
 * ACK seq: -1 outside what was sent (a protocol error); else the batches
 * it covers leave the ring, the spool is trimmed up to seq (rule 5) and
 * the backoff starts again.
 */
int pk_sc_ack(struct pk_shipcore *sc, uint64_t seq);

/* Heartbeat period of this session, µs. */
uint64_t pk_sc_heartbeat_us(const struct pk_shipcore *sc);
/*
 * A HEARTBEAT into out when heartbeat_s passed without sending: 1 made
 * (*len), 0 not due.  wall_us is the time it carries.
 */
int pk_sc_heartbeat(const struct pk_shipcore *sc, uint64_t now,
    uint64_t wall_us, uint8_t *out, size_t cap, size_t *len);
/* The hub silent, or the oldest batch unACKed, past 3 x heartbeat_s. */
int pk_sc_timed_out(const struct pk_shipcore *sc, uint64_t now);
/*
 * When, by the clocks alone, a heartbeat is due (only when nothing is
 * pending: out_idle) or the session would time out; monotonic.
 */
uint64_t pk_sc_wake_at(const struct pk_shipcore *sc, int out_idle);

/* xorshift64*: enough to spread reconnects; *state seeded odd. */
uint64_t pk_sc_rng(uint64_t *state);
/*
 * The wait before the next attempt (docs/protocol.md "Reconnecting"):
 * uniform(0, min(cap, base x 2^attempt)), or between cap/2 and cap after
 * a VERSION/AUTH refusal; counts the attempt.
 */
uint64_t pk_sc_backoff_ms(struct pk_shipcore *sc, uint32_t base_ms,
    uint32_t cap_ms, int auth, uint64_t *rng);
/* Milliseconds from now to a monotonic deadline, rounded up. */
int pk_sc_ms_until(uint64_t at);

/*
 * The HTTP CONNECT through [hub] proxy (docs/protocol.md "Connection"):
 * the request for the hub at host:port into out (an IPv6 literal in
 * brackets), its length or -1 when it does not fit; the response header
 * each shipper reads byte by byte, at most PK_SC_PROXY_MAX bytes up to
 * and including its blank line, judged: 0 a 200 answer, -1 with why.
 */
#define PK_SC_PROXY_MAX		8192	/* proxy response header bytes */
int pk_sc_proxy_request(const char *host, uint16_t port, char *out,
    size_t cap);
int pk_sc_proxy_answer(char *resp, size_t len, char *why, size_t whylen);

#endif
