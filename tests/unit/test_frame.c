/*
 * test_frame.c - unit tests for the frame codec (transport/frame.c): every
 * frame type round-trips, field boundaries (maximum string lengths, zero
 * and maximum values, the maximum frame size), every malformed case gets
 * its own error (length over the maximum, payload shorter than the fixed
 * part, unknown type, undefined flags, trailing bytes, strings past the
 * frame or over their maximum, control bytes, out-of-range values), a
 * close inside a frame, and incremental decoding with the input split at
 * every byte position yielding exactly the frames of a one-shot decode.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/frame.h"

static uint8_t dbuf[PK_FRAME_MAX_PAYLOAD];

/* ------------------------------------------------------------ helpers */

/* Decode one whole frame from buf (exactly len bytes) with a fresh decoder. */
static int
one_frame(const uint8_t *buf, size_t len, struct pk_frame *f)
{
	struct pk_frame_dec d;
	const uint8_t *p = buf;
	size_t n = len;
	int r;

	pk_frame_dec_init(&d, dbuf, PK_FRAME_MAX_PAYLOAD);
	r = pk_frame_dec_next(&d, &p, &n, f);
	if (r < 0)
		return -d.err;
	assert_int_equal(r, 1);
	assert_int_equal(n, 0);
	return 0;
}

/* A frame with a hand-made header and payload. */
static size_t
raw_frame(uint8_t *out, uint8_t type, uint8_t flags, const void *pl,
    uint32_t len)
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	out[4] = type;
	out[5] = flags;
	if (len > 0)
		memcpy(out + PK_FRAME_HDR, pl, len);
	return PK_FRAME_HDR + len;
}

static void
fill(char *s, size_t n, char c)
{
	memset(s, c, n);
	s[n] = '\0';
}

static struct pk_hello
sample_hello(void)
{
	struct pk_hello h;

	memset(&h, 0, sizeof(h));
	h.ver_min = 1;
	h.ver_max = 3;
	h.next_seq = 1001;
	h.oldest_seq = 900;
	h.dropped = 7;
	h.dicts = 0x2;
	snprintf(h.agent_version, sizeof(h.agent_version), "0.1.0");
	snprintf(h.agent_id, sizeof(h.agent_id), "%s",
	    "63a7be250a8261190a18f4bf4baed39e");
	snprintf(h.host_name, sizeof(h.host_name), "ws-042.example.gov");
	return h;
}

static struct pk_welcome
sample_welcome(void)
{
	struct pk_welcome w;

	memset(&w, 0, sizeof(w));
	w.version = 1;
	w.dicts = 0x2;
	w.stored_seq = 999;
	w.server_time_us = 1700000000123456ULL;
	w.max_frame = PK_FRAME_MAX_PAYLOAD;
	w.max_batch_records = 10000;
	w.max_batch_bytes = 8u << 20;
	w.max_inflight = 4;
	w.heartbeat_s = 30;
	snprintf(w.hub_id, sizeof(w.hub_id), "hub.state.example");
	return w;
}

/* ------------------------------------------------------------ round trips */

static void
test_hello_roundtrip(void **state)
{
	struct pk_hello h = sample_hello(), g;
	uint8_t buf[1024];
	struct pk_frame f;
	size_t n;

	(void)state;
	assert_int_equal(pk_hello_encode(&h, buf, sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(n, PK_FRAME_HDR + PK_HELLO_MIN + 5 + 32 + 18);
	assert_int_equal(buf[4], PK_FT_HELLO);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_hello_decode(&f, &g), PK_FE_OK);
	assert_memory_equal(&h, &g, sizeof(h));
	assert_int_equal(pk_frame_validate(&f), PK_FE_OK);
	/* Byte offsets as docs/protocol.md gives them. */
	assert_int_equal(buf[PK_FRAME_HDR + 1], 1);	/* ver_min lo */
	assert_int_equal(buf[PK_FRAME_HDR + 3], 3);	/* ver_max lo */
	assert_int_equal(buf[PK_FRAME_HDR + 11], 1001 & 0xff);
	assert_int_equal(buf[PK_FRAME_HDR + 31], 2);	/* dicts lo */
	assert_int_equal(buf[PK_FRAME_HDR + 33], 5);	/* version len */
	assert_memory_equal(buf + PK_FRAME_HDR + 34, "0.1.0", 5);
}

static void
test_welcome_roundtrip(void **state)
{
	struct pk_welcome w = sample_welcome(), g;
	uint8_t buf[256];
	struct pk_frame f;
	size_t n;

	(void)state;
	assert_int_equal(pk_welcome_encode(&w, buf, sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(n, PK_FRAME_HDR + PK_WELCOME_MIN + 17);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_welcome_decode(&f, &g), PK_FE_OK);
	assert_memory_equal(&w, &g, sizeof(w));
	assert_int_equal(buf[PK_FRAME_HDR + 39], 30);	/* heartbeat lo */
}

static void
test_batch_roundtrip(void **state)
{
	struct pk_batch_hdr b = { PK_FF_BATCH_DEFLATE, 42, 3, 30, 1 }, g;
	uint8_t data[20], buf[64];
	const uint8_t *d;
	struct pk_frame f;
	size_t n, dl, hn;

	(void)state;
	memset(data, 0xab, sizeof(data));
	assert_int_equal(pk_batch_encode_frame(&b, data, sizeof(data), buf,
	    sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(n, PK_FRAME_HDR + PK_BATCH_FIXED + sizeof(data));
	assert_int_equal(buf[5], PK_FF_BATCH_DEFLATE);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_batch_decode_hdr(&f, &g, &d, &dl), PK_FE_OK);
	assert_int_equal(g.flags, b.flags);
	assert_true(g.first_seq == b.first_seq);
	assert_int_equal(g.count, b.count);
	assert_int_equal(g.raw_len, b.raw_len);
	assert_int_equal(g.dict_id, b.dict_id);
	assert_int_equal(dl, sizeof(data));
	assert_memory_equal(d, data, sizeof(data));
	/* The head-only encoder writes the same first bytes. */
	assert_int_equal(pk_batch_encode_head(&b, sizeof(data), buf,
	    PK_FRAME_HDR + PK_BATCH_FIXED, &hn), PK_FE_OK);
	assert_int_equal(hn, PK_FRAME_HDR + PK_BATCH_FIXED);
	/* Plain batches: data length equals raw_len, no dictionary. */
	b.flags = 0;
	b.dict_id = 0;
	b.raw_len = sizeof(data);
	b.count = 2;
	assert_int_equal(pk_batch_encode_frame(&b, data, sizeof(data), buf,
	    sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_batch_decode_hdr(&f, &g, &d, &dl), PK_FE_OK);
	b.dict_id = 1;
	assert_int_equal(pk_batch_encode_frame(&b, data, sizeof(data), buf,
	    sizeof(buf), &n), PK_FE_VALUE);
}

static void
test_small_roundtrips(void **state)
{
	uint8_t buf[1024];
	struct pk_frame f;
	struct pk_error e;
	uint64_t v;
	size_t n;
	char msg[PK_ERROR_MSG_MAX + 1];

	(void)state;
	assert_int_equal(pk_ack_encode(UINT64_MAX, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, PK_FRAME_HDR + 8);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_ack_decode(&f, &v), PK_FE_OK);
	assert_true(v == UINT64_MAX);
	assert_int_equal(pk_ack_encode(0, buf, sizeof(buf), &n), 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_ack_decode(&f, &v), PK_FE_OK);
	assert_true(v == 0);
	/* ACK decoder refuses a HEARTBEAT frame: types are not interchangeable. */
	assert_int_equal(pk_heartbeat_encode(1700000000000000ULL, buf,
	    sizeof(buf), &n), 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_heartbeat_decode(&f, &v), PK_FE_OK);
	assert_true(v == 1700000000000000ULL);
	assert_int_equal(pk_ack_decode(&f, &v), PK_FE_ARG);

	assert_int_equal(pk_error_encode(PK_WE_VERSION, "no common version",
	    buf, sizeof(buf), &n), 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_error_decode(&f, &e), PK_FE_OK);
	assert_int_equal(e.code, PK_WE_VERSION);
	assert_string_equal(e.msg, "no common version");
	/* Empty message is allowed; maximum length too; one more is not. */
	assert_int_equal(pk_error_encode(PK_WE_SHUTDOWN, "", buf, sizeof(buf),
	    &n), 0);
	assert_int_equal(n, PK_FRAME_HDR + PK_ERROR_MIN);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_error_decode(&f, &e), PK_FE_OK);
	fill(msg, PK_ERROR_MSG_MAX, 'm');
	assert_int_equal(pk_error_encode(1, msg, buf, sizeof(buf), &n), 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_error_decode(&f, &e), PK_FE_OK);
	assert_string_equal(e.msg, msg);
	assert_int_equal(pk_error_encode(0, "x", buf, sizeof(buf), &n),
	    PK_FE_VALUE);
}

/* ------------------------------------------------------------ boundaries */

static void
test_string_limits(void **state)
{
	struct pk_hello h = sample_hello(), g;
	struct pk_welcome w = sample_welcome(), wg;
	uint8_t buf[1024];
	struct pk_frame f;
	size_t n;

	(void)state;
	fill(h.agent_version, PK_AGENT_VERSION_MAX, 'v');
	fill(h.agent_id, PK_AGENT_ID_MAX, 'a');
	fill(h.host_name, PK_HOST_NAME_MAX, 'h');
	assert_int_equal(pk_hello_encode(&h, buf, sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_hello_decode(&f, &g), PK_FE_OK);
	assert_memory_equal(&h, &g, sizeof(h));
	/* Exactly fitting buffer works, one byte less does not. */
	assert_int_equal(pk_hello_encode(&h, buf, n, &n), PK_FE_OK);
	assert_int_equal(pk_hello_encode(&h, buf, n - 1, &n), PK_FE_ARG);
	assert_int_equal(n, 0);
	/* Empty identity strings are refused both ways. */
	h = sample_hello();
	h.agent_id[0] = '\0';
	assert_int_equal(pk_hello_encode(&h, buf, sizeof(buf), &n),
	    PK_FE_STRING);
	h = sample_hello();
	h.host_name[3] = '\n';
	assert_int_equal(pk_hello_encode(&h, buf, sizeof(buf), &n),
	    PK_FE_STRING);
	fill(w.hub_id, PK_HUB_ID_MAX, 'x');
	assert_int_equal(pk_welcome_encode(&w, buf, sizeof(buf), &n), 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_welcome_decode(&f, &wg), PK_FE_OK);
	assert_string_equal(wg.hub_id, w.hub_id);
}

static void
test_value_limits(void **state)
{
	struct pk_hello h = sample_hello();
	struct pk_welcome w = sample_welcome();
	struct pk_batch_hdr b = { 0, UINT64_MAX, 1, 3, 0 };
	uint8_t buf[256], d[3] = { '{', '}', '\n' };
	size_t n;

	(void)state;
	/* Last possible sequence number is fine; one past wraps. */
	assert_int_equal(pk_batch_encode_frame(&b, d, 3, buf, sizeof(buf), &n),
	    PK_FE_OK);
	b.count = 2;
	b.raw_len = 6;
	assert_int_equal(pk_batch_encode_frame(&b, d, 3, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	b.first_seq = 0;
	b.count = 1;
	b.raw_len = 3;
	assert_int_equal(pk_batch_encode_frame(&b, d, 3, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	b.first_seq = 1;
	b.count = 0;
	assert_int_equal(pk_batch_encode_frame(&b, d, 3, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	b.count = 1;
	b.flags = 0x80;
	assert_int_equal(pk_batch_encode_frame(&b, d, 3, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	h.oldest_seq = h.next_seq + 1;
	assert_int_equal(pk_hello_encode(&h, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	h = sample_hello();
	h.ver_min = 0;
	assert_int_equal(pk_hello_encode(&h, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	w.max_frame = PK_FRAME_MAX_PAYLOAD + 1;
	assert_int_equal(pk_welcome_encode(&w, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
}

static void
test_max_frame(void **state)
{
	static uint8_t data[PK_FRAME_MAX_PAYLOAD], buf[PK_FRAME_MAX_PAYLOAD +
	    PK_FRAME_HDR + 1];
	struct pk_batch_hdr b = { PK_FF_BATCH_DEFLATE, 1, 1, 100, 0 }, g;
	const uint8_t *d;
	struct pk_frame f;
	size_t n, dl;
	uint32_t dmax = PK_FRAME_MAX_PAYLOAD - PK_BATCH_FIXED;

	(void)state;
	assert_int_equal(pk_batch_encode_frame(&b, data, dmax, buf, sizeof(buf),
	    &n), PK_FE_OK);
	assert_int_equal(n, PK_FRAME_HDR + PK_FRAME_MAX_PAYLOAD);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_batch_decode_hdr(&f, &g, &d, &dl), PK_FE_OK);
	assert_int_equal(dl, dmax);
	assert_int_equal(pk_batch_encode_frame(&b, data, dmax + 1, buf,
	    sizeof(buf), &n), PK_FE_TOOLARGE);
	/* Header saying max+1 is refused before any payload arrives. */
	raw_frame(buf, PK_FT_BATCH, 0, NULL, 0);
	buf[0] = 0x00;
	buf[1] = 0x10;
	buf[2] = 0x00;
	buf[3] = 0x01;
	assert_int_equal(one_frame(buf, PK_FRAME_HDR, &f), -PK_FE_TOOLARGE);
	/* A decoder with a lower limit (the hub's negotiated one). */
	{
		struct pk_frame_dec dd;
		const uint8_t *p = buf;
		size_t left;

		pk_frame_dec_init(&dd, dbuf, 64);
		left = raw_frame(buf, PK_FT_HEARTBEAT, 0, data, 8);
		assert_int_equal(pk_frame_dec_next(&dd, &p, &left, &f), 1);
		raw_frame(buf, PK_FT_ERROR, 0, data, 65);
		p = buf;
		left = PK_FRAME_HDR;
		assert_int_equal(pk_frame_dec_next(&dd, &p, &left, &f), -1);
		assert_int_equal(dd.err, PK_FE_TOOLARGE);
	}
}

/* ------------------------------------------------------------ malformed */

static void
test_malformed_header(void **state)
{
	uint8_t buf[256], pl[64];
	struct pk_frame f;
	size_t n;

	(void)state;
	memset(pl, 0, sizeof(pl));
	n = raw_frame(buf, 0, 0, pl, 8);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_TYPE);
	n = raw_frame(buf, PK_FT_LAST + 1, 0, pl, 8);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_TYPE);
	n = raw_frame(buf, 0xff, 0, pl, 8);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_TYPE);
	/* Flags: none defined but BATCH's bit 0. */
	n = raw_frame(buf, PK_FT_ACK, 0x01, pl, 8);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_FLAGS);
	n = raw_frame(buf, PK_FT_BATCH, 0x02, pl, 30);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_FLAGS);
	n = raw_frame(buf, PK_FT_TASK, 0x80, pl, 0);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_FLAGS);
	/* Shorter than the fixed part. */
	n = raw_frame(buf, PK_FT_ACK, 0, pl, 7);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_SHORT);
	n = raw_frame(buf, PK_FT_HELLO, 0, pl, PK_HELLO_MIN - 1);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_SHORT);
	n = raw_frame(buf, PK_FT_WELCOME, 0, pl, PK_WELCOME_MIN - 1);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_SHORT);
	n = raw_frame(buf, PK_FT_BATCH, 1, pl, PK_BATCH_FIXED);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_SHORT);
	n = raw_frame(buf, PK_FT_ERROR, 0, pl, 3);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_SHORT);
	/* Trailing bytes in fixed-size frames. */
	n = raw_frame(buf, PK_FT_ACK, 0, pl, 9);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_TRAILING);
	n = raw_frame(buf, PK_FT_HEARTBEAT, 0, pl, 16);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_TRAILING);
	/* Reserved types pass the header but have no v1 decoder. */
	n = raw_frame(buf, PK_FT_CONFIG, 0, pl, 5);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_frame_validate(&f), PK_FE_RESERVED);
	assert_int_equal(pk_frame_err_wire(PK_FE_RESERVED), PK_WE_TYPE);
	assert_int_equal(pk_frame_err_wire(PK_FE_TOOLARGE), PK_WE_TOOLARGE);
	assert_int_equal(pk_frame_err_wire(PK_FE_STRLEN), PK_WE_PROTOCOL);
}

/* Build a HELLO, then mutate its bytes: each change has its own error. */
static void
test_malformed_payload(void **state)
{
	struct pk_hello h = sample_hello(), g;
	struct pk_error e;
	uint8_t buf[512], copy[512];
	struct pk_frame f;
	size_t n;
	uint32_t len;

	(void)state;
	assert_int_equal(pk_hello_encode(&h, buf, sizeof(buf), &n), 0);
	len = (uint32_t)(n - PK_FRAME_HDR);
	/* Trailing byte after the last string. */
	memcpy(copy, buf, n);
	copy[n] = 'x';
	copy[3] = (uint8_t)(len + 1);
	assert_int_equal(one_frame(copy, n + 1, &f), 0);
	assert_int_equal(pk_hello_decode(&f, &g), PK_FE_TRAILING);
	/* Host name length runs past the frame. */
	memcpy(copy, buf, n);
	copy[PK_FRAME_HDR + PK_HELLO_MIN - 6 + 2 + 5 + 2 + 32 + 1] = 19;
	assert_int_equal(one_frame(copy, n, &f), 0);
	assert_int_equal(pk_hello_decode(&f, &g), PK_FE_STRLEN);
	/* Version string length over its maximum (but inside the frame). */
	memcpy(copy, buf, n);
	copy[PK_FRAME_HDR + 32] = 0;
	copy[PK_FRAME_HDR + 33] = PK_AGENT_VERSION_MAX + 1;
	assert_int_equal(one_frame(copy, n, &f), 0);
	assert_int_equal(pk_hello_decode(&f, &g), PK_FE_STRLEN);
	/* Length field itself cut off: frame ends inside the fields. */
	memcpy(copy, buf, n);
	copy[3] = (uint8_t)(PK_HELLO_MIN - 6 + 2 + 5 + 1);
	copy[2] = 0;
	assert_int_equal(one_frame(copy, PK_FRAME_HDR + copy[3], &f), 0);
	assert_int_equal(pk_hello_decode(&f, &g), PK_FE_SHORT);
	/* Control byte in agent id. */
	memcpy(copy, buf, n);
	copy[PK_FRAME_HDR + 32 + 2 + 5 + 2 + 3] = 0x00;
	assert_int_equal(one_frame(copy, n, &f), 0);
	assert_int_equal(pk_hello_decode(&f, &g), PK_FE_STRING);
	copy[PK_FRAME_HDR + 32 + 2 + 5 + 2 + 3] = 0x7f;
	assert_int_equal(pk_hello_decode(&f, &g), PK_FE_STRING);
	/* next_seq 0 is out of range. */
	memcpy(copy, buf, n);
	memset(copy + PK_FRAME_HDR + 4, 0, 8);
	assert_int_equal(one_frame(copy, n, &f), 0);
	assert_int_equal(pk_hello_decode(&f, &g), PK_FE_VALUE);
	/* ERROR code 0; message length past frame. */
	assert_int_equal(pk_error_encode(5, "abc", buf, sizeof(buf), &n), 0);
	memcpy(copy, buf, n);
	copy[PK_FRAME_HDR + 1] = 0;
	assert_int_equal(one_frame(copy, n, &f), 0);
	assert_int_equal(pk_error_decode(&f, &e), PK_FE_VALUE);
	memcpy(copy, buf, n);
	copy[PK_FRAME_HDR + 3] = 4;
	assert_int_equal(one_frame(copy, n, &f), 0);
	assert_int_equal(pk_error_decode(&f, &e), PK_FE_STRLEN);
	/* Each error has its own message. */
	assert_string_not_equal(pk_frame_strerror(PK_FE_STRLEN),
	    pk_frame_strerror(PK_FE_STRING));
	assert_string_equal(pk_frame_strerror(-1), "unknown error");
}

static void
test_malformed_batch(void **state)
{
	uint8_t pl[64], buf[128];
	struct pk_batch_hdr g;
	const uint8_t *d;
	struct pk_frame f;
	size_t n, dl;

	(void)state;
	memset(pl, 0, sizeof(pl));
	pl[7] = 1;		/* first_seq 1 */
	pl[11] = 1;		/* count 1 */
	pl[15] = 3;		/* raw_len 3 */
	pl[16] = 0;		/* dict */
	pl[17] = '{';
	pl[18] = '}';
	pl[19] = '\n';
	n = raw_frame(buf, PK_FT_BATCH, 0, pl, 20);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_batch_decode_hdr(&f, &g, &d, &dl), PK_FE_OK);
	/* Plain batch whose data length differs from raw_len. */
	n = raw_frame(buf, PK_FT_BATCH, 0, pl, 19);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_batch_decode_hdr(&f, &g, &d, &dl), PK_FE_VALUE);
	/* Plain batch naming a dictionary. */
	pl[16] = 1;
	n = raw_frame(buf, PK_FT_BATCH, 0, pl, 20);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_batch_decode_hdr(&f, &g, &d, &dl), PK_FE_VALUE);
	/* raw_len too small for count records. */
	pl[16] = 0;
	pl[11] = 2;
	n = raw_frame(buf, PK_FT_BATCH, 1, pl, 20);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_batch_decode_hdr(&f, &g, &d, &dl), PK_FE_VALUE);
}

static void
test_truncated(void **state)
{
	struct pk_frame_dec d;
	uint8_t buf[64];
	const uint8_t *p;
	struct pk_frame f;
	size_t n, left, cut;

	(void)state;
	assert_int_equal(pk_ack_encode(7, buf, sizeof(buf), &n), 0);
	for (cut = 0; cut <= n; cut++) {
		pk_frame_dec_init(&d, dbuf, PK_FRAME_MAX_PAYLOAD);
		p = buf;
		left = cut;
		assert_int_equal(pk_frame_dec_next(&d, &p, &left, &f),
		    cut == n ? 1 : 0);
		if (cut == 0 || cut == n) {
			assert_int_equal(pk_frame_dec_eof(&d), 0);
		} else {
			assert_int_equal(pk_frame_dec_eof(&d), -1);
			assert_int_equal(d.err, PK_FE_TRUNCATED);
			/* Sticky: the decoder stays failed. */
			p = buf;
			left = n;
			assert_int_equal(pk_frame_dec_next(&d, &p, &left, &f),
			    -1);
		}
	}
}

/* ------------------------------------------------------------ incremental */

/* A stream with one frame of every v1 type plus a reserved one. */
static size_t
stream(uint8_t *out, size_t cap)
{
	struct pk_hello h = sample_hello();
	struct pk_welcome w = sample_welcome();
	struct pk_batch_hdr b = { PK_FF_BATCH_DEFLATE, 5, 2, 6, 1 };
	uint8_t data[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	size_t off = 0, n;

	assert_int_equal(pk_hello_encode(&h, out + off, cap - off, &n), 0);
	off += n;
	assert_int_equal(pk_welcome_encode(&w, out + off, cap - off, &n), 0);
	off += n;
	assert_int_equal(pk_batch_encode_frame(&b, data, sizeof(data),
	    out + off, cap - off, &n), 0);
	off += n;
	assert_int_equal(pk_ack_encode(6, out + off, cap - off, &n), 0);
	off += n;
	assert_int_equal(pk_heartbeat_encode(99, out + off, cap - off, &n), 0);
	off += n;
	off += raw_frame(out + off, PK_FT_CONFIG, 0, NULL, 0);
	assert_int_equal(pk_error_encode(PK_WE_SHUTDOWN, "bye", out + off,
	    cap - off, &n), 0);
	off += n;
	return off;
}

struct got {
	uint8_t	type;
	uint32_t len;
	uint8_t	bytes[512];
};

/* Feed in two pieces split at cut; collect frames. */
static size_t
decode_split(const uint8_t *s, size_t len, size_t cut, struct got *g,
    size_t maxg)
{
	struct pk_frame_dec d;
	struct pk_frame f;
	const uint8_t *p;
	size_t left, ng = 0, piece;
	int r;

	pk_frame_dec_init(&d, dbuf, 4096);
	for (piece = 0; piece < 2; piece++) {
		p = s + (piece == 0 ? 0 : cut);
		left = piece == 0 ? cut : len - cut;
		while ((r = pk_frame_dec_next(&d, &p, &left, &f)) == 1) {
			assert_true(ng < maxg);
			assert_true(f.len <= sizeof(g[ng].bytes));
			g[ng].type = f.type;
			g[ng].len = f.len;
			memcpy(g[ng].bytes, f.payload, f.len);
			assert_int_equal(pk_frame_validate(&f),
			    f.type == PK_FT_CONFIG ? PK_FE_RESERVED : PK_FE_OK);
			ng++;
		}
		assert_int_equal(r, 0);
		assert_int_equal(left, 0);
	}
	assert_int_equal(pk_frame_dec_eof(&d), 0);
	assert_int_equal(d.frames, ng);
	return ng;
}

/* RENEW carries a CSR, CERT the answer; both refuse non-PEM bytes. */
static void
test_renew_cert(void **state)
{
	static const char csr[] = "-----BEGIN CERTIFICATE REQUEST-----\r\n"
	    "MIIBADCBpwIBADAP\n-----END CERTIFICATE REQUEST-----\n";
	static uint8_t buf[PK_CERT_PEM_MAX + 600];
	static char big[PK_CERT_PEM_MAX + 2];
	const uint8_t *pem;
	struct pk_frame f;
	struct pk_cert c;
	size_t n, len;

	(void)state;
	assert_int_equal(pk_renew_encode(csr, strlen(csr), buf, sizeof(buf),
	    &n), PK_FE_OK);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(f.type, PK_FT_RENEW);
	assert_int_equal(pk_renew_decode(&f, &pem, &len), PK_FE_OK);
	assert_int_equal(len, strlen(csr));
	assert_memory_equal(pem, csr, len);
	assert_int_equal(pk_frame_dir(PK_FT_RENEW), PK_FDIR_AGENT);
	assert_int_equal(pk_frame_dir(PK_FT_CERT), PK_FDIR_HUB);
	/* Empty, binary, or over the limit: refused both ways. */
	assert_int_equal(pk_renew_encode(csr, 0, buf, sizeof(buf), &n),
	    PK_FE_STRING);
	assert_int_equal(pk_renew_encode("a\001b", 3, buf, sizeof(buf), &n),
	    PK_FE_STRING);
	memset(big, 'A', sizeof(big) - 1);
	assert_int_equal(pk_renew_encode(big, PK_CERT_PEM_MAX + 1, buf,
	    sizeof(buf), &n), PK_FE_STRING);
	n = raw_frame(buf, PK_FT_RENEW, 0, (const uint8_t *)"ab\0c", 4);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_renew_decode(&f, &pem, &len), PK_FE_STRING);
	assert_int_equal(pk_frame_validate(&f), PK_FE_STRING);
	n = raw_frame(buf, PK_FT_RENEW, 0, (const uint8_t *)"", 0);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_SHORT);
	n = raw_frame(buf, PK_FT_RENEW, 1, (const uint8_t *)"ab", 2);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_FLAGS);

	/* Issued: message and PEM come back. */
	assert_int_equal(pk_cert_encode(PK_CERT_ISSUED, "ok", csr,
	    strlen(csr), buf, sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_cert_decode(&f, &c), PK_FE_OK);
	assert_int_equal(c.result, PK_CERT_ISSUED);
	assert_string_equal(c.msg, "ok");
	assert_int_equal(c.pem_len, strlen(csr));
	assert_memory_equal(c.pem, csr, c.pem_len);
	/* Refused: a reason and no PEM; a PEM with a refusal is malformed. */
	assert_int_equal(pk_cert_encode(PK_CERT_REFUSED, "revoked", NULL, 0,
	    buf, sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_cert_decode(&f, &c), PK_FE_OK);
	assert_int_equal(c.result, PK_CERT_REFUSED);
	assert_string_equal(c.msg, "revoked");
	assert_null(c.pem);
	assert_int_equal(pk_cert_encode(PK_CERT_REFUSED, "x", csr, 3, buf,
	    sizeof(buf), &n), PK_FE_STRING);
	assert_int_equal(pk_cert_encode(PK_CERT_ISSUED, "x", NULL, 0, buf,
	    sizeof(buf), &n), PK_FE_STRING);
	assert_int_equal(pk_cert_encode(3, "x", NULL, 0, buf, sizeof(buf),
	    &n), PK_FE_VALUE);
	/* By hand: trailing bytes after a refusal, an unknown result, an
	 * issued answer without a PEM, a message running past the end. */
	n = raw_frame(buf, PK_FT_CERT, 0,
	    (const uint8_t *)"\001\000\000zz", 5);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_cert_decode(&f, &c), PK_FE_TRAILING);
	n = raw_frame(buf, PK_FT_CERT, 0, (const uint8_t *)"\007\000\000", 3);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_cert_decode(&f, &c), PK_FE_VALUE);
	n = raw_frame(buf, PK_FT_CERT, 0, (const uint8_t *)"\000\000\000", 3);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_cert_decode(&f, &c), PK_FE_SHORT);
	n = raw_frame(buf, PK_FT_CERT, 0, (const uint8_t *)"\000\000\011ab", 5);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_cert_decode(&f, &c), PK_FE_STRLEN);
	assert_int_equal(pk_frame_validate(&f), PK_FE_STRLEN);
}

/* TASK and RESULT: round trips, and each malformed case refused. */
static void
test_task_result(void **state)
{
	static const char spec[] = "{\"type\":\"snapshot\",\"max_rows\":5}";
	static uint8_t buf[PK_FRAME_HDR + 70000], pl[80];
	uint8_t chunk[100] = { 1, 2, 3 };
	struct pk_task_frame t, tt;
	struct pk_result r, rr;
	struct pk_frame f;
	size_t n;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.id = 42;
	t.op = PK_TOP_START;
	t.resume = 1000;
	t.spec = (const uint8_t *)spec;
	t.spec_len = strlen(spec);
	assert_int_equal(pk_task_frame_encode(&t, buf, sizeof(buf), &n), 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_task_frame_decode(&f, &tt), PK_FE_OK);
	assert_int_equal(tt.id, 42);
	assert_int_equal(tt.op, PK_TOP_START);
	assert_int_equal(tt.resume, 1000);
	assert_int_equal(tt.spec_len, strlen(spec));
	assert_memory_equal(tt.spec, spec, tt.spec_len);
	assert_int_equal(pk_frame_dir(PK_FT_TASK), PK_FDIR_HUB);
	/* CANCEL carries nothing; a START carries a spec. */
	t.op = PK_TOP_CANCEL;
	assert_int_equal(pk_task_frame_encode(&t, buf, sizeof(buf), &n),
	    PK_FE_VALUE);			/* resume on a cancel */
	t.resume = 0;
	assert_int_equal(pk_task_frame_encode(&t, buf, sizeof(buf), &n),
	    PK_FE_STRING);			/* a spec on a cancel */
	t.spec = NULL;
	t.spec_len = 0;
	assert_int_equal(pk_task_frame_encode(&t, buf, sizeof(buf), &n), 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_task_frame_decode(&f, &tt), PK_FE_OK);
	assert_int_equal(tt.op, PK_TOP_CANCEL);
	assert_null(tt.spec);
	/* By hand: id 0, op 9, a START without spec, binary in a spec. */
	memset(pl, 0, sizeof(pl));
	pl[8] = PK_TOP_START;
	n = raw_frame(buf, PK_FT_TASK, 0, pl, 17);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_task_frame_decode(&f, &tt), PK_FE_VALUE);
	pl[7] = 1;
	n = raw_frame(buf, PK_FT_TASK, 0, pl, 17);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_task_frame_decode(&f, &tt), PK_FE_SHORT);
	pl[8] = 9;
	n = raw_frame(buf, PK_FT_TASK, 0, pl, 17);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_task_frame_decode(&f, &tt), PK_FE_VALUE);
	pl[8] = PK_TOP_START;
	pl[17] = '{';
	pl[18] = 0;
	n = raw_frame(buf, PK_FT_TASK, 0, pl, 19);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_task_frame_decode(&f, &tt), PK_FE_STRING);
	n = raw_frame(buf, PK_FT_TASK, 0, pl, 16);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_SHORT);

	/* RESULT STATE and DATA. */
	memset(&r, 0, sizeof(r));
	r.id = 42;
	r.kind = PK_RK_STATE;
	r.state = 4;		/* done */
	r.bytes = 123456;
	r.rows = 7;
	snprintf(r.reason, sizeof(r.reason), "finished");
	assert_int_equal(pk_result_encode(&r, buf, sizeof(buf), &n), 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_result_decode(&f, &rr), PK_FE_OK);
	assert_int_equal(rr.kind, PK_RK_STATE);
	assert_int_equal(rr.state, 4);
	assert_int_equal(rr.bytes, 123456);
	assert_int_equal(rr.rows, 7);
	assert_string_equal(rr.reason, "finished");
	r.state = 2;		/* "sent" is the hub's word, not an agent's */
	assert_int_equal(pk_result_encode(&r, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	memset(&r, 0, sizeof(r));
	r.id = 42;
	r.kind = PK_RK_DATA;
	r.flags = PK_FF_RESULT_DEFLATE;
	r.offset = 65536;
	r.data = chunk;
	r.dlen = sizeof(chunk);
	assert_int_equal(pk_result_encode(&r, buf, sizeof(buf), &n), 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_result_decode(&f, &rr), PK_FE_OK);
	assert_int_equal(rr.flags, PK_FF_RESULT_DEFLATE);
	assert_int_equal(rr.offset, 65536);
	assert_int_equal(rr.dlen, sizeof(chunk));
	assert_memory_equal(rr.data, chunk, sizeof(chunk));
	r.dlen = PK_RESULT_CHUNK_MAX + 1;
	assert_int_equal(pk_result_encode(&r, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	/* By hand: the deflate flag on a STATE, an unknown kind. */
	memset(pl, 0, sizeof(pl));
	pl[7] = 1;
	pl[8] = PK_RK_STATE;
	pl[9] = 3;
	n = raw_frame(buf, PK_FT_RESULT, PK_FF_RESULT_DEFLATE, pl, 28);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_result_decode(&f, &rr), PK_FE_FLAGS);
	n = raw_frame(buf, PK_FT_RESULT, 0, pl, 28);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_result_decode(&f, &rr), PK_FE_OK);
	assert_int_equal(rr.state, 3);
	pl[8] = 7;
	n = raw_frame(buf, PK_FT_RESULT, 0, pl, 28);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_result_decode(&f, &rr), PK_FE_VALUE);
	n = raw_frame(buf, PK_FT_RESULT, 2, pl, 28);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_FLAGS);
}

static void
test_split_everywhere(void **state)
{
	static uint8_t s[4096];
	static struct got ref[16], got[16];
	size_t len, cut, nref, n, i;

	(void)state;
	len = stream(s, sizeof(s));
	nref = decode_split(s, len, len, ref, 16);
	assert_int_equal(nref, 7);
	for (cut = 0; cut <= len; cut++) {
		n = decode_split(s, len, cut, got, 16);
		assert_int_equal(n, nref);
		for (i = 0; i < n; i++) {
			assert_int_equal(got[i].type, ref[i].type);
			assert_int_equal(got[i].len, ref[i].len);
			assert_memory_equal(got[i].bytes, ref[i].bytes,
			    ref[i].len);
		}
	}
}

/* Byte at a time: the slowest peer. */
static void
test_byte_at_a_time(void **state)
{
	static uint8_t s[4096];
	struct pk_frame_dec d;
	struct pk_frame f;
	const uint8_t *p;
	size_t len, i, left, frames = 0;
	int r;

	(void)state;
	len = stream(s, sizeof(s));
	pk_frame_dec_init(&d, dbuf, 4096);
	for (i = 0; i < len; i++) {
		p = s + i;
		left = 1;
		r = pk_frame_dec_next(&d, &p, &left, &f);
		assert_true(r == 0 || r == 1);
		frames += (size_t)r;
		assert_int_equal(left, 0);
	}
	assert_int_equal(frames, 7);
	assert_int_equal(pk_frame_dec_eof(&d), 0);
}

static void
test_version_pick(void **state)
{
	(void)state;
	assert_int_equal(pk_proto_pick(1, 1, 1, 1), 1);
	assert_int_equal(pk_proto_pick(1, 3, 2, 5), 3);
	assert_int_equal(pk_proto_pick(2, 5, 1, 3), 3);
	assert_int_equal(pk_proto_pick(4, 5, 1, 3), 0);
	assert_int_equal(pk_proto_pick(0, 0, 0, 0), 0);
	assert_int_equal(pk_frame_dir(PK_FT_HELLO), PK_FDIR_AGENT);
	assert_int_equal(pk_frame_dir(PK_FT_ACK), PK_FDIR_HUB);
	assert_int_equal(pk_frame_dir(PK_FT_HEARTBEAT),
	    PK_FDIR_AGENT | PK_FDIR_HUB);
	assert_int_equal(pk_frame_dir(0), 0);
	assert_string_equal(pk_frame_type_name(PK_FT_CONFIG), "CONFIG");
	assert_string_equal(pk_frame_type_name(200), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_roundtrip),
		cmocka_unit_test(test_welcome_roundtrip),
		cmocka_unit_test(test_batch_roundtrip),
		cmocka_unit_test(test_small_roundtrips),
		cmocka_unit_test(test_string_limits),
		cmocka_unit_test(test_value_limits),
		cmocka_unit_test(test_max_frame),
		cmocka_unit_test(test_malformed_header),
		cmocka_unit_test(test_malformed_payload),
		cmocka_unit_test(test_malformed_batch),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_renew_cert),
		cmocka_unit_test(test_task_result),
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_version_pick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
