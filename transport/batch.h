/*
 * batch.h - BATCH payloads: NDJSON records with consecutive sequence
 * numbers, deflated with zlib and a preset dictionary of our indicator
 * JSON's common strings (transport/dict_v1.h, dictionary id 1).  The agent
 * builds a batch from spooled records; the hub opens one with hard limits
 * (records, inflated bytes: a zip bomb stops at the limit) and gets the
 * records back, each checked to be one line of JSON-looking text.  The
 * layout and the rules are in docs/protocol.md.  batch.c is the only file
 * that includes <zlib.h>.  Portable; called by the shipper, the hub
 * listener, tests, fuzzers and tests/bench/batch_bench.c.
 */
#ifndef PICKET_BATCH_H
#define PICKET_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "transport/frame.h"

/* Preset dictionaries: id 0 is "none"; a changed dictionary gets a new id
 * and the old one stays decodable for as long as agents may send it. */
#define PK_DICT_NONE		0
#define PK_DICT_V1		1
#define PK_DICT_CURRENT		PK_DICT_V1
/* HELLO/WELCOME dicts mask of what this code knows. */
#define PK_DICT_MASK		(1u << PK_DICT_V1)

#define PK_BATCH_MAX_RECORDS	10000u
#define PK_BATCH_MAX_RAW	(8u * 1024u * 1024u)

/* pk_batch_build level: 0 sends plain NDJSON, 1..9 deflate levels. */
#define PK_BATCH_PLAIN		0
#define PK_BATCH_LEVEL		6

struct pk_batch_rec {
	uint64_t	 seq;
	const char	*data;		/* one JSON object, no newline */
	size_t		 len;
};

enum pk_batch_err {
	PK_BE_OK = 0,
	PK_BE_ARG,		/* caller error */
	PK_BE_SEQ,		/* sequence numbers not consecutive */
	PK_BE_RECORD,		/* a record is not one line of JSON text */
	PK_BE_SPACE,		/* caller's output buffer too small */
	PK_BE_LIMIT,		/* count or declared size over the limit */
	PK_BE_DICT,		/* unknown dictionary or stream/id mismatch */
	PK_BE_CORRUPT,		/* bad deflate stream or bytes after its end */
	PK_BE_BOMB,		/* inflates past its declared size */
	PK_BE_LENGTH,		/* inflates to less than its declared size */
	PK_BE_COUNT,		/* record count differs from the header */
	PK_BE_ZLIB,		/* zlib failed (memory) */
	PK_BE_NERR
};

struct pk_batch_limits {
	uint32_t	max_records;	/* <= PK_BATCH_MAX_RECORDS */
	uint32_t	max_raw;	/* inflated bytes, <= PK_BATCH_MAX_RAW */
};

/* Counters the hub reports as health data; err[] per pk_batch_err. */
struct pk_batch_stats {
	uint64_t	batches;	/* opened successfully */
	uint64_t	records;
	uint64_t	bytes_in;	/* payload bytes of good batches */
	uint64_t	bytes_out;	/* NDJSON bytes of good batches */
	uint64_t	rejected;
	uint64_t	err[PK_BE_NERR];
};

/*
 * Agent: make a BATCH payload of n records (recs[i].seq consecutive; a
 * trailing newline on a record is dropped) into out, and fill *hdr for
 * pk_batch_encode_frame().  dict_id is PK_DICT_NONE or a known id; level
 * PK_BATCH_PLAIN or 1..9.  0 or a pk_batch_err; PK_BE_SPACE means the
 * deflated data does not fit cap: send fewer records.
 */
int pk_batch_build(const struct pk_batch_rec *recs, uint32_t n,
    uint8_t dict_id, int level, uint8_t *out, size_t cap,
    struct pk_batch_hdr *hdr, size_t *outlen);

/*
 * Hub: inflate (when hdr says so) data into out, never writing more than
 * hdr->raw_len bytes and refusing a declared raw_len over lim->max_raw,
 * then split it into exactly hdr->count records in recs (nrecs slots;
 * data points into out, seq from hdr->first_seq).  Counts the outcome in
 * st (may be NULL).  0 or a pk_batch_err.
 */
int pk_batch_open(const struct pk_batch_hdr *hdr, const uint8_t *data,
    size_t dlen, const struct pk_batch_limits *lim, uint8_t *out, size_t cap,
    struct pk_batch_rec *recs, uint32_t nrecs, struct pk_batch_stats *st);

/* 1 if the bytes are one record we accept: "{...}", no byte below 0x20. */
int pk_batch_record_ok(const char *s, size_t len);

/*
 * Result chunks of targeted collection (docs/tasks.md, RESULT DATA): one
 * plain zlib stream (no preset dictionary) per chunk.
 *
 * pk_chunk_deflate (agent): in[0..inlen) into out[cap]; 0 with *outlen, or
 * PK_BE_SPACE when the stream does not fit (send the chunk plain), or
 * PK_BE_ARG / PK_BE_ZLIB.
 *
 * pk_chunk_inflate (hub): the stream in[0..inlen) into out[cap] (cap is
 * PK_RESULT_CHUNK_MAX for a RESULT chunk), never writing more than cap:
 * 0 with *outlen (at least 1 byte), PK_BE_BOMB when it inflates past cap,
 * PK_BE_CORRUPT for a bad or truncated stream, bytes after its end, a
 * dictionary or an empty result, PK_BE_ZLIB when zlib has no memory.
 */
int pk_chunk_deflate(const uint8_t *in, size_t inlen, uint8_t *out,
    size_t cap, size_t *outlen);
int pk_chunk_inflate(const uint8_t *in, size_t inlen, uint8_t *out,
    size_t cap, size_t *outlen);

/* The preset dictionary for id (NULL, 0 if unknown). */
const uint8_t *pk_batch_dict(uint8_t dict_id, size_t *len);
const char *pk_batch_strerror(int err);

#endif
