/*
 * frame.h - the agent <-> hub wire format (docs/protocol.md is the
 * contract; keep the two in step).  A frame is a 6-byte header (payload
 * length, big-endian u32; type byte; flags byte) and a payload of at most
 * PK_FRAME_MAX_PAYLOAD bytes.  This file offers an incremental decoder that
 * takes bytes as a non-blocking socket delivers them and yields whole
 * frames or an error, one encoder and one strict decoder per frame type
 * (every length checked exactly, every field range checked), and the
 * version negotiation rule.  Portable: no I/O, no allocation.  Called by
 * the agent's shipper, the hub's listener, the tests and the fuzzers.
 */
#ifndef PICKET_FRAME_H
#define PICKET_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Protocol versions this code speaks.  Version 2 adds CONFIG (a rule/IOC
 * bundle for the agent, docs/bundles.md) and APPLIED (what the agent runs);
 * everything else is the same in both.  A session's version is WELCOME's. */
#define PK_PROTO_MIN		1
#define PK_PROTO_MAX		2
#define PK_PROTO_BUNDLES	2	/* first version with CONFIG/APPLIED */

#define PK_FRAME_HDR		6		/* u32 len, u8 type, u8 flags */
#define PK_FRAME_MAX_PAYLOAD	(1024u * 1024u)	/* hard cap, both sides */

/* Frame types.  0 is never valid.  RENEW and CERT renew the agent's
 * certificate (docs/enrollment.md); TASK and RESULT carry targeted
 * collection (docs/tasks.md); CONFIG and APPLIED carry shared-indicator
 * bundles (docs/bundles.md) and exist only in sessions of version >= 2
 * (PK_PROTO_BUNDLES): the receiver of either in a version 1 session
 * answers ERROR TYPE. */
enum pk_frame_type {
	PK_FT_HELLO	= 1,	/* agent -> hub, first frame */
	PK_FT_WELCOME	= 2,	/* hub -> agent, answer to HELLO */
	PK_FT_BATCH	= 3,	/* agent -> hub */
	PK_FT_ACK	= 4,	/* hub -> agent */
	PK_FT_HEARTBEAT	= 5,	/* either way */
	PK_FT_ERROR	= 6,	/* either way, then close */
	PK_FT_TASK	= 7,	/* hub -> agent: start, cancel, forget */
	PK_FT_RESULT	= 8,	/* agent -> hub: a task's state or data */
	PK_FT_CONFIG	= 9,	/* hub -> agent: apply or roll back a bundle */
	PK_FT_RENEW	= 10,	/* agent -> hub: CSR for its own key */
	PK_FT_CERT	= 11,	/* hub -> agent: answer to RENEW */
	PK_FT_APPLIED	= 12,	/* agent -> hub: the bundle it runs (v2) */
};
#define PK_FT_LAST	PK_FT_APPLIED

/* Flags.  Only BATCH and RESULT define one; every other bit of every type
 * must be 0. */
#define PK_FF_BATCH_DEFLATE	0x01	/* payload is a zlib stream */
#define PK_FF_RESULT_DEFLATE	0x01	/* DATA chunk is a zlib stream */
#define PK_FF_CONFIG_DEFLATE	0x01	/* APPLY's bundle is a zlib stream */

/* Who may send a type (for the state machines): bit mask. */
#define PK_FDIR_AGENT	0x1
#define PK_FDIR_HUB	0x2

/* Decode errors: each malformed case has its own code. */
enum pk_frame_err {
	PK_FE_OK = 0,
	PK_FE_TOOLARGE,		/* length over the maximum payload */
	PK_FE_TYPE,		/* type 0 or above PK_FT_LAST */
	PK_FE_FLAGS,		/* a flag bit this type does not define */
	PK_FE_TRUNCATED,	/* connection closed inside a frame */
	PK_FE_SHORT,		/* payload shorter than the type's fixed part */
	PK_FE_TRAILING,		/* bytes left after the last field */
	PK_FE_STRLEN,		/* a string runs past the frame or its max */
	PK_FE_STRING,		/* a string is empty or has control bytes */
	PK_FE_VALUE,		/* a field out of its range */
	PK_FE_RESERVED,		/* unused since v2 (kept: codes are stable) */
	PK_FE_ARG,		/* caller error (encoder input, small buffer) */
	PK_FE_NERR
};

/* Codes carried in ERROR frames (u16 on the wire). */
enum pk_wire_err {
	PK_WE_PROTOCOL	= 1,	/* malformed frame */
	PK_WE_TOOLARGE	= 2,	/* frame over the maximum size */
	PK_WE_TYPE	= 3,	/* unknown or unsupported frame type */
	PK_WE_VERSION	= 4,	/* no common protocol version */
	PK_WE_STATE	= 5,	/* frame not valid now or from this side */
	PK_WE_BATCH	= 6,	/* batch payload rejected (deflate, count...) */
	PK_WE_LIMIT	= 7,	/* a negotiated limit exceeded */
	PK_WE_AUTH	= 8,	/* identity does not match the certificate */
	PK_WE_TIMEOUT	= 9,	/* peer silent past the timeout */
	PK_WE_INTERNAL	= 10,	/* sender's fault (store down): retry later */
	PK_WE_SHUTDOWN	= 11,	/* sender is going away: retry later */
};

/* String limits (bytes, without the terminating NUL we add). */
#define PK_AGENT_VERSION_MAX	64
#define PK_AGENT_ID_MAX		64
#define PK_HOST_NAME_MAX	255
#define PK_HUB_ID_MAX		64
#define PK_ERROR_MSG_MAX	512
#define PK_CERT_PEM_MAX		16384	/* CSR in RENEW, certificate in CERT */

/* Smallest payload of each type: its fixed fields plus the u16 length of
 * each string (strings empty).  ACK and HEARTBEAT have exactly this size. */
#define PK_HELLO_MIN		38
#define PK_WELCOME_MIN		42
#define PK_BATCH_FIXED		17	/* then the data, >= 1 byte */
#define PK_ACK_SIZE		8
#define PK_HEARTBEAT_SIZE	8
#define PK_ERROR_MIN		4
#define PK_RENEW_MIN		1	/* the PEM, at least one byte */
#define PK_TASK_FRAME_MIN	17	/* id, op, resume */
#define PK_RESULT_MIN		18	/* id, kind, then DATA's offset + 1 */
#define PK_RESULT_CHUNK_MAX	(256u * 1024u)	/* DATA bytes, inflated */
#define PK_CERT_MIN		3	/* result, empty message, no PEM */
#define PK_CONFIG_MIN		13	/* version, op, raw_len */
#define PK_APPLIED_MIN		27	/* running, previous, version, outcome,
					 * empty reason */
#define PK_BUNDLE_RAW_MAX	(4u * 1024u * 1024u)	/* inflated bundle */

/* A whole frame as the decoder yields it; payload points into the
 * decoder's buffer and stays valid until the next pk_frame_dec_next(). */
struct pk_frame {
	uint8_t		 type;
	uint8_t		 flags;
	uint32_t	 len;
	const uint8_t	*payload;
};

struct pk_hello {
	uint16_t	ver_min, ver_max;
	uint64_t	next_seq;	/* seq the agent will give next (>= 1) */
	uint64_t	oldest_seq;	/* oldest seq still spooled (<= next_seq) */
	uint64_t	dropped;	/* records the spool dropped, ever */
	uint32_t	dicts;		/* bit i: preset dictionary id i known */
	char		agent_version[PK_AGENT_VERSION_MAX + 1];
	char		agent_id[PK_AGENT_ID_MAX + 1];
	char		host_name[PK_HOST_NAME_MAX + 1];
};

struct pk_welcome {
	uint16_t	version;	/* chosen */
	uint32_t	dicts;		/* dictionary ids the hub accepts */
	uint64_t	stored_seq;	/* highest seq settled for this agent */
	uint64_t	server_time_us;	/* µs since 1970 UTC */
	uint32_t	max_frame;	/* payload bytes the hub accepts */
	uint32_t	max_batch_records;
	uint32_t	max_batch_bytes;	/* inflated NDJSON bytes */
	uint32_t	max_inflight;	/* BATCH frames sent but not ACKed */
	uint16_t	heartbeat_s;	/* interval; timeout is 3 x this */
	char		hub_id[PK_HUB_ID_MAX + 1];
};

struct pk_batch_hdr {
	uint8_t		flags;		/* PK_FF_BATCH_DEFLATE or 0 */
	uint64_t	first_seq;	/* >= 1 */
	uint32_t	count;		/* records, >= 1 */
	uint32_t	raw_len;	/* NDJSON bytes after inflate */
	uint8_t		dict_id;	/* 0 = none; must be 0 if not deflated */
};

struct pk_error {
	uint16_t	code;		/* enum pk_wire_err */
	char		msg[PK_ERROR_MSG_MAX + 1];
};

/* TASK operations */
enum pk_task_op {
	PK_TOP_START	= 1,	/* run it (or resume its upload at resume) */
	PK_TOP_CANCEL	= 2,	/* stop it; report CANCELLED */
	PK_TOP_FORGET	= 3,	/* the hub has it all: delete local files */
};

struct pk_task_frame {
	uint64_t	 id;		/* >= 1 */
	uint8_t		 op;		/* enum pk_task_op */
	uint64_t	 resume;	/* START: result bytes the hub holds */
	const uint8_t	*spec;		/* START: the JSON (task.h), else NULL */
	size_t		 spec_len;
};

/* RESULT kinds */
enum pk_result_kind {
	PK_RK_STATE	= 1,	/* state, result size, rows, reason */
	PK_RK_DATA	= 2,	/* bytes of the result at an offset */
};

struct pk_result {
	uint64_t	 id;
	uint8_t		 kind;		/* enum pk_result_kind */
	uint8_t		 flags;		/* PK_FF_RESULT_DEFLATE (DATA) */
	/* STATE */
	uint8_t		 state;		/* running, done, failed, refused,
					 * cancelled (transport/task.h) */
	uint64_t	 bytes;		/* result bytes (done: the total) */
	uint64_t	 rows;
	char		 reason[PK_ERROR_MSG_MAX + 1];
	/* DATA */
	uint64_t	 offset;
	const uint8_t	*data;		/* into the frame */
	size_t		 dlen;
};

/* CERT results */
enum pk_cert_result {
	PK_CERT_ISSUED	= 0,	/* pem holds the new certificate */
	PK_CERT_REFUSED	= 1,	/* msg says why; asking again will not help */
	PK_CERT_LATER	= 2,	/* msg says why; ask again later */
};

struct pk_cert {
	uint8_t		 result;	/* enum pk_cert_result */
	char		 msg[PK_ERROR_MSG_MAX + 1];
	const uint8_t	*pem;		/* into the frame; ISSUED only */
	size_t		 pem_len;
};

/* CONFIG operations (v2) */
enum pk_config_op {
	PK_COP_APPLY	= 1,	/* run this bundle (data follows) */
	PK_COP_ROLLBACK	= 2,	/* go back to the bundle kept as previous,
				 * which is `version` (0: run none) */
};

/*
 * CONFIG (9), hub -> agent: u64 version, u8 op, u32 raw_len, data.
 * APPLY: version >= 1, raw_len 1..PK_BUNDLE_RAW_MAX is the bundle text's size; data is
 * >= 1 byte, a zlib stream when flag PK_FF_CONFIG_DEFLATE is set (the
 * caller inflates with a raw_len cap and checks the size), else exactly
 * raw_len bytes of text.  ROLLBACK: raw_len 0, no data, no flag.
 */
struct pk_config_frame {
	uint64_t	 version;
	uint8_t		 op;		/* enum pk_config_op */
	uint8_t		 flags;		/* PK_FF_CONFIG_DEFLATE or 0 */
	uint32_t	 raw_len;
	const uint8_t	*data;		/* into the frame; APPLY only */
	size_t		 dlen;
};

/* APPLIED outcomes (v2) */
enum pk_applied_outcome {
	PK_AO_RUNNING	 = 0,	/* report at session start, version 0 */
	PK_AO_APPLIED	 = 1,	/* CONFIG APPLY `version` is now running */
	PK_AO_REFUSED	 = 2,	/* CONFIG `version` not applied: reason */
	PK_AO_ROLLED_BACK = 3,	/* CONFIG ROLLBACK done: running = version */
};
#define PK_AO_LAST	PK_AO_ROLLED_BACK

/*
 * APPLIED (12), agent -> hub: u64 running (bundle version in use, 0 =
 * none), u64 previous (kept for rollback, 0 = none), u64 version (the
 * CONFIG this answers; 0 with RUNNING), u8 outcome, string reason (<= 512
 * bytes, may be empty).  The agent sends one RUNNING right after WELCOME
 * in a v2 session and one answer per CONFIG.
 */
struct pk_applied {
	uint64_t	running;
	uint64_t	previous;
	uint64_t	version;
	uint8_t		outcome;	/* enum pk_applied_outcome */
	char		reason[PK_ERROR_MSG_MAX + 1];
};

/* ---- incremental decoder ---- */

struct pk_frame_dec {
	uint8_t		*buf;		/* caller's, holds one payload */
	uint32_t	 max;		/* payload limit (<= cap, <= hard max) */
	uint8_t		 hdr[PK_FRAME_HDR];
	size_t		 hdr_have;
	uint32_t	 need;		/* payload length of current frame */
	uint32_t	 have;
	int		 err;		/* sticky enum pk_frame_err */
	uint64_t	 frames;	/* frames yielded */
};

/* buf must hold max bytes; max is clamped to PK_FRAME_MAX_PAYLOAD. */
void pk_frame_dec_init(struct pk_frame_dec *d, uint8_t *buf, uint32_t max);
/*
 * Consume bytes from *in (advancing *in and *len).  Returns 1 when a whole
 * frame is in *f (more input may remain: call again), 0 when all input was
 * consumed without completing a frame, -1 on error (d->err says which; the
 * decoder stays failed: send ERROR and close).
 */
int pk_frame_dec_next(struct pk_frame_dec *d, const uint8_t **in,
    size_t *len, struct pk_frame *f);
/* The peer closed: 0 if between frames, -1 (PK_FE_TRUNCATED) inside one. */
int pk_frame_dec_eof(struct pk_frame_dec *d);

/* Header checks alone (length limit, type, flags, fixed-size lengths). */
int pk_frame_check_header(uint8_t type, uint8_t flags, uint32_t len,
    uint32_t max);

/* ---- per-type payload decoders: 0 or a pk_frame_err ---- */

int pk_hello_decode(const struct pk_frame *f, struct pk_hello *h);
int pk_welcome_decode(const struct pk_frame *f, struct pk_welcome *w);
/* data, dlen: the batch payload (deflated or plain NDJSON). */
int pk_batch_decode_hdr(const struct pk_frame *f, struct pk_batch_hdr *b,
    const uint8_t **data, size_t *dlen);
int pk_ack_decode(const struct pk_frame *f, uint64_t *seq);
int pk_heartbeat_decode(const struct pk_frame *f, uint64_t *time_us);
int pk_error_decode(const struct pk_frame *f, struct pk_error *e);
/* RENEW: the CSR's PEM text (points into the frame, not NUL-terminated):
 * 1..PK_CERT_PEM_MAX bytes of printable ASCII, CR and LF. */
int pk_renew_decode(const struct pk_frame *f, const uint8_t **pem,
    size_t *len);
/* CERT: a PEM (same rule) exactly when the result is ISSUED. */
int pk_cert_decode(const struct pk_frame *f, struct pk_cert *c);
/* TASK: spec points into the frame (checked as text only: the caller
 * parses it with pk_task_parse). */
int pk_task_frame_decode(const struct pk_frame *f, struct pk_task_frame *t);
/* RESULT: a DATA chunk is 1..PK_RESULT_CHUNK_MAX bytes (before inflate
 * when deflated: the caller inflates with a PK_RESULT_CHUNK_MAX cap). */
int pk_result_decode(const struct pk_frame *f, struct pk_result *r);
/* CONFIG: the rules above; data points into the frame. */
int pk_config_decode(const struct pk_frame *f, struct pk_config_frame *c);
/* APPLIED: outcome known; RUNNING has version 0; APPLIED has running ==
 * version != 0; ROLLED_BACK has running == version (0 allowed). */
int pk_applied_decode(const struct pk_frame *f, struct pk_applied *a);
/* Run f through its type's decoder, discarding the fields. */
int pk_frame_validate(const struct pk_frame *f);

/* ---- encoders: write header + payload into out; 0 or a pk_frame_err ---- */

int pk_hello_encode(const struct pk_hello *h, uint8_t *out, size_t cap,
    size_t *outlen);
int pk_welcome_encode(const struct pk_welcome *w, uint8_t *out, size_t cap,
    size_t *outlen);
int pk_batch_encode_frame(const struct pk_batch_hdr *b, const uint8_t *data,
    size_t dlen, uint8_t *out, size_t cap, size_t *outlen);
/* Header and fixed part only (PK_FRAME_HDR + PK_BATCH_FIXED bytes), for a
 * caller that writes the data from its own buffer right after. */
int pk_batch_encode_head(const struct pk_batch_hdr *b, size_t dlen,
    uint8_t *out, size_t cap, size_t *outlen);
int pk_ack_encode(uint64_t seq, uint8_t *out, size_t cap, size_t *outlen);
int pk_heartbeat_encode(uint64_t time_us, uint8_t *out, size_t cap,
    size_t *outlen);
int pk_error_encode(uint16_t code, const char *msg, uint8_t *out, size_t cap,
    size_t *outlen);
int pk_renew_encode(const char *pem, size_t len, uint8_t *out, size_t cap,
    size_t *outlen);
/* pem NULL / len 0 unless result is PK_CERT_ISSUED. */
int pk_cert_encode(uint8_t result, const char *msg, const char *pem,
    size_t len, uint8_t *out, size_t cap, size_t *outlen);
int pk_task_frame_encode(const struct pk_task_frame *t, uint8_t *out,
    size_t cap, size_t *outlen);
/* STATE uses state/bytes/rows/reason; DATA uses offset/data/dlen/flags. */
int pk_result_encode(const struct pk_result *r, uint8_t *out, size_t cap,
    size_t *outlen);
/* APPLY: data/dlen/flags/raw_len as above (the caller deflated it);
 * ROLLBACK: data NULL, dlen 0, raw_len 0. */
int pk_config_encode(const struct pk_config_frame *c, uint8_t *out,
    size_t cap, size_t *outlen);
int pk_applied_encode(const struct pk_applied *a, uint8_t *out, size_t cap,
    size_t *outlen);

/* ---- helpers ---- */

/* Highest version in both ranges, or 0 when they do not meet. */
uint16_t pk_proto_pick(uint16_t amin, uint16_t amax, uint16_t hmin,
    uint16_t hmax);
/* PK_FDIR_* mask of the sides that may send type (0 if unknown). */
int pk_frame_dir(uint8_t type);
const char *pk_frame_type_name(uint8_t type);
const char *pk_frame_strerror(int err);
/* The ERROR code to send for a decode error. */
uint16_t pk_frame_err_wire(int err);

#endif
