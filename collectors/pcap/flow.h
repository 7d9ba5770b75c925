/*
 * flow.h - the bounded flow table.  A flow is a 5-tuple seen in both
 * directions; its "initiator" is the side that sent the first packet we
 * saw (for TCP, the SYN sender when we saw the SYN).  The table follows TCP
 * state, times flows out, evicts the least recently used flow when full
 * (counted), and tells its listener how each connection *attempt* ended,
 * which is what the scan detector's sequential test consumes:
 *
 *   PK_FE_ATTEMPT_OK    the responder answered (SYN-ACK, or any UDP reply)
 *   PK_FE_ATTEMPT_FAIL  RST in answer to a SYN, ICMP unreachable for it,
 *                       or no answer before the attempt timeout
 *   PK_FE_END           the flow leaves the table (timeout, eviction, flush)
 *
 * Portable; called by the engine.
 */
#ifndef PICKET_FLOW_H
#define PICKET_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "collectors/pcap/decode.h"
#include "common/dlist.h"

enum pk_flow_state {
	PK_FS_NEW = 0,		/* one packet, not TCP-SYN (midstream, UDP) */
	PK_FS_SYN_SENT,		/* SYN from initiator */
	PK_FS_SYN_RCVD,		/* SYN-ACK from responder */
	PK_FS_ESTABLISHED,	/* handshake done or both sides talked */
	PK_FS_FIN,		/* one side closed */
	PK_FS_CLOSED,		/* both FINs */
	PK_FS_RESET,
};

enum pk_flow_event {
	PK_FE_ATTEMPT_OK = 1,
	PK_FE_ATTEMPT_FAIL,
	PK_FE_END,
};

/* Direction of a packet within its flow. */
#define PK_DIR_FWD 0	/* initiator -> responder */
#define PK_DIR_REV 1	/* responder -> initiator */

struct pk_flow {
	/* initiator-oriented key */
	struct pk_addr	 src, dst;
	uint16_t	 sport, dport;
	uint8_t		 proto;

	uint8_t		 state;		/* enum pk_flow_state */
	uint8_t		 outcome;	/* 0, PK_FE_ATTEMPT_OK or _FAIL */
	uint8_t		 saw_syn;	/* first packet was a bare SYN */
	uint8_t		 tcp_flags[2];	/* OR of flags per direction */
	uint8_t		 first_flags;	/* TCP flags of the first packet */

	uint64_t	 first_us, last_us;
	uint64_t	 pkts[2], bytes[2];	/* per direction, IP bytes */
	uint64_t	 payload[2];	/* transport payload bytes */

	void		*user;		/* reserved for detectors/engine */

	/* table internals */
	struct pk_flow	*hnext;
	struct pk_dlink	 lru;		/* table-wide LRU list */
	uint64_t	 hash;
};

struct pk_flow_cfg {
	uint32_t max_flows;
	uint32_t tcp_attempt_timeout_s;	/* SYN with no answer -> FAIL */
	uint32_t tcp_established_timeout_s;
	uint32_t tcp_closed_timeout_s;	/* after FIN/RST */
	uint32_t udp_timeout_s;
	uint32_t other_timeout_s;
};

struct pk_flow_stats {
	uint64_t created;
	uint64_t active;
	uint64_t expired;
	uint64_t evicted;	/* removed early because the table was full */
	uint64_t attempts_ok, attempts_fail;
};

typedef void (*pk_flow_cb)(void *arg, const struct pk_flow *f, int event,
    uint64_t now_us);

struct pk_flow_table;

struct pk_flow_table *pk_flow_table_new(const struct pk_flow_cfg *cfg,
    pk_flow_cb cb, void *arg);
void pk_flow_table_free(struct pk_flow_table *t); /* no END events */
/* Free, calling fn for each flow still held first (no events either). */
void pk_flow_table_free_each(struct pk_flow_table *t,
    void (*fn)(void *, struct pk_flow *), void *arg);
/*
 * Account one decoded packet.  Returns its flow (created if new) and the
 * packet's direction in *dir, or NULL for packets that carry no flow (ICMP
 * errors are applied to the flow they quote and return NULL).  *is_new is
 * set when this packet created the flow.
 */
struct pk_flow *pk_flow_update(struct pk_flow_table *t,
    const struct pk_packet *p, int *dir, int *is_new);
/* Time out attempts and idle flows at packet/wall time now_us. */
void pk_flow_expire(struct pk_flow_table *t, uint64_t now_us);
/* End every flow (END events, and FAIL for unanswered attempts). */
void pk_flow_flush(struct pk_flow_table *t, uint64_t now_us);
const struct pk_flow_stats *pk_flow_stats(const struct pk_flow_table *t);

#endif
