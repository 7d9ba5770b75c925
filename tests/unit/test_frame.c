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
	/* CONFIG and APPLIED (v2): their fixed parts and flags. */
	n = raw_frame(buf, PK_FT_CONFIG, 0, pl, PK_CONFIG_MIN - 1);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_SHORT);
	n = raw_frame(buf, PK_FT_CONFIG, 0x02, pl, PK_CONFIG_MIN);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_FLAGS);
	n = raw_frame(buf, PK_FT_APPLIED, 0, pl, PK_APPLIED_MIN - 1);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_SHORT);
	n = raw_frame(buf, PK_FT_APPLIED, 0x01, pl, PK_APPLIED_MIN);
	assert_int_equal(one_frame(buf, n, &f), -PK_FE_FLAGS);
	/* The retired code still maps to ERROR TYPE (codes are stable). */
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

/* A stream with a frame of most types, CONFIG and APPLIED among them. */
static size_t
stream(uint8_t *out, size_t cap)
{
	struct pk_hello h = sample_hello();
	struct pk_welcome w = sample_welcome();
	struct pk_batch_hdr b = { PK_FF_BATCH_DEFLATE, 5, 2, 6, 1 };
	uint8_t data[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct pk_config_frame cf = { 3, PK_COP_APPLY, 0, 9, data, 9 };
	struct pk_applied a = { 3, 2, 3, PK_AO_APPLIED, "" };
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
	assert_int_equal(pk_config_encode(&cf, out + off, cap - off, &n), 0);
	off += n;
	assert_int_equal(pk_applied_encode(&a, out + off, cap - off, &n), 0);
	off += n;
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
			assert_int_equal(pk_frame_validate(&f), PK_FE_OK);
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

/* ------------------------------------------------------------ CONFIG */

/* A CONFIG payload by hand: version, op, raw_len, then dlen bytes. */
static uint32_t
config_pl(uint8_t *pl, uint64_t version, uint8_t op, uint32_t raw_len,
    const void *data, uint32_t dlen)
{
	int i;

	for (i = 0; i < 8; i++)
		pl[i] = (uint8_t)(version >> (56 - 8 * i));
	pl[8] = op;
	pl[9] = (uint8_t)(raw_len >> 24);
	pl[10] = (uint8_t)(raw_len >> 16);
	pl[11] = (uint8_t)(raw_len >> 8);
	pl[12] = (uint8_t)raw_len;
	if (dlen > 0)
		memcpy(pl + PK_CONFIG_MIN, data, dlen);
	return PK_CONFIG_MIN + dlen;
}

/* Decode a hand-made CONFIG: the header must pass, then the payload. */
static int
config_raw(uint8_t flags, uint64_t version, uint8_t op, uint32_t raw_len,
    const void *data, uint32_t dlen)
{
	static uint8_t pl[PK_CONFIG_MIN + 256], buf[PK_FRAME_HDR + sizeof(pl)];
	struct pk_config_frame c;
	struct pk_frame f;
	uint32_t len;
	size_t n;
	int err;

	assert_true(dlen <= 256);
	len = config_pl(pl, version, op, raw_len, data, dlen);
	n = raw_frame(buf, PK_FT_CONFIG, flags, pl, len);
	assert_int_equal(one_frame(buf, n, &f), 0);
	err = pk_config_decode(&f, &c);
	assert_int_equal(pk_frame_validate(&f), err);
	if (err != PK_FE_OK) {
		assert_null(c.data);
		assert_int_equal(c.dlen, 0);
	}
	return err;
}

static void
test_config_roundtrip(void **state)
{
	static const char text[] = "picket-bundle 1\nversion 7\n";
	static uint8_t big[PK_FRAME_MAX_PAYLOAD - PK_CONFIG_MIN];
	static uint8_t buf[PK_FRAME_HDR + PK_FRAME_MAX_PAYLOAD + 16];
	uint8_t z[5] = { 0x78, 0x9c, 0x03, 0x00, 0x01 };
	struct pk_config_frame c, g;
	struct pk_frame f;
	size_t n;

	(void)state;
	/* Plain APPLY: the text itself, raw_len its size. */
	memset(&c, 0, sizeof(c));
	c.version = 7;
	c.op = PK_COP_APPLY;
	c.raw_len = (uint32_t)strlen(text);
	c.data = (const uint8_t *)text;
	c.dlen = strlen(text);
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(n, PK_FRAME_HDR + PK_CONFIG_MIN + strlen(text));
	assert_int_equal(buf[4], PK_FT_CONFIG);
	assert_int_equal(buf[5], 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_config_decode(&f, &g), PK_FE_OK);
	assert_int_equal(pk_frame_validate(&f), PK_FE_OK);
	assert_int_equal(g.version, 7);
	assert_int_equal(g.op, PK_COP_APPLY);
	assert_int_equal(g.flags, 0);
	assert_int_equal(g.raw_len, strlen(text));
	assert_int_equal(g.dlen, strlen(text));
	assert_memory_equal(g.data, text, g.dlen);
	/* Deflated APPLY: raw_len is the inflated size, up to the cap. */
	c.version = UINT64_MAX;
	c.flags = PK_FF_CONFIG_DEFLATE;
	c.raw_len = PK_BUNDLE_RAW_MAX;
	c.data = z;
	c.dlen = sizeof(z);
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(buf[5], PK_FF_CONFIG_DEFLATE);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_config_decode(&f, &g), PK_FE_OK);
	assert_int_equal(g.version, UINT64_MAX);
	assert_int_equal(g.flags, PK_FF_CONFIG_DEFLATE);
	assert_int_equal(g.raw_len, PK_BUNDLE_RAW_MAX);
	assert_int_equal(g.dlen, sizeof(z));
	assert_memory_equal(g.data, z, sizeof(z));
	/* ROLLBACK: nothing after the fixed part; version 0 = run none. */
	memset(&c, 0, sizeof(c));
	c.op = PK_COP_ROLLBACK;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(n, PK_FRAME_HDR + PK_CONFIG_MIN);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_config_decode(&f, &g), PK_FE_OK);
	assert_int_equal(g.op, PK_COP_ROLLBACK);
	assert_int_equal(g.version, 0);
	assert_int_equal(g.raw_len, 0);
	assert_null(g.data);
	assert_int_equal(g.dlen, 0);
	c.version = 6;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_config_decode(&f, &g), PK_FE_OK);
	assert_int_equal(g.version, 6);
	/* The largest plain APPLY fills a maximum frame exactly. */
	memset(big, 'a', sizeof(big));
	memset(&c, 0, sizeof(c));
	c.version = 1;
	c.op = PK_COP_APPLY;
	c.raw_len = (uint32_t)sizeof(big);
	c.data = big;
	c.dlen = sizeof(big);
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n), PK_FE_OK);
	assert_int_equal(n, PK_FRAME_HDR + PK_FRAME_MAX_PAYLOAD);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_config_decode(&f, &g), PK_FE_OK);
	assert_int_equal(g.dlen, sizeof(big));
	/* One more byte is no frame; a small buffer is the caller's error. */
	c.raw_len++;
	c.dlen++;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_TOOLARGE);
	assert_int_equal(n, 0);
	c.raw_len = 4;
	c.dlen = 4;
	assert_int_equal(pk_config_encode(&c, buf, PK_FRAME_HDR +
	    PK_CONFIG_MIN + 3, &n), PK_FE_ARG);
	assert_int_equal(n, 0);
}

static void
test_config_malformed(void **state)
{
	static uint8_t buf[256];
	uint8_t d[4] = { 'a', 'b', 'c', 'd' };
	struct pk_config_frame c;
	struct pk_applied a;
	struct pk_frame f;
	size_t n;

	(void)state;
	/* By hand, each field out of its range. */
	assert_int_equal(config_raw(0, 1, PK_COP_APPLY, 4, d, 4), PK_FE_OK);
	assert_int_equal(config_raw(0, 0, PK_COP_APPLY, 4, d, 4),
	    PK_FE_VALUE);			/* APPLY version 0 */
	assert_int_equal(config_raw(0, 1, 0, 4, d, 4), PK_FE_VALUE);
	assert_int_equal(config_raw(0, 1, 3, 0, NULL, 0), PK_FE_VALUE);
	assert_int_equal(config_raw(0, 1, 0xff, 4, d, 4), PK_FE_VALUE);
	assert_int_equal(config_raw(0, 1, PK_COP_APPLY, 0, d, 4),
	    PK_FE_VALUE);			/* raw_len 0 */
	assert_int_equal(config_raw(PK_FF_CONFIG_DEFLATE, 1, PK_COP_APPLY,
	    PK_BUNDLE_RAW_MAX, d, 4), PK_FE_OK);
	assert_int_equal(config_raw(PK_FF_CONFIG_DEFLATE, 1, PK_COP_APPLY,
	    PK_BUNDLE_RAW_MAX + 1, d, 4), PK_FE_VALUE);
	assert_int_equal(config_raw(PK_FF_CONFIG_DEFLATE, 1, PK_COP_APPLY,
	    UINT32_MAX, d, 4), PK_FE_VALUE);
	assert_int_equal(config_raw(0, 1, PK_COP_APPLY, 4, NULL, 0),
	    PK_FE_SHORT);			/* no data */
	assert_int_equal(config_raw(PK_FF_CONFIG_DEFLATE, 1, PK_COP_APPLY, 4,
	    NULL, 0), PK_FE_SHORT);
	assert_int_equal(config_raw(0, 1, PK_COP_APPLY, 5, d, 4),
	    PK_FE_VALUE);			/* plain: dlen != raw_len */
	assert_int_equal(config_raw(0, 1, PK_COP_APPLY, 3, d, 4),
	    PK_FE_VALUE);
	assert_int_equal(config_raw(PK_FF_CONFIG_DEFLATE, 1, PK_COP_APPLY, 3,
	    d, 4), PK_FE_OK);		/* deflated: inflate checks it */
	assert_int_equal(config_raw(0, 0, PK_COP_ROLLBACK, 0, NULL, 0),
	    PK_FE_OK);
	assert_int_equal(config_raw(0, 5, PK_COP_ROLLBACK, 1, NULL, 0),
	    PK_FE_VALUE);			/* ROLLBACK raw_len */
	assert_int_equal(config_raw(0, 5, PK_COP_ROLLBACK, 0, d, 1),
	    PK_FE_TRAILING);		/* ROLLBACK data */
	assert_int_equal(config_raw(PK_FF_CONFIG_DEFLATE, 5, PK_COP_ROLLBACK,
	    0, NULL, 0), PK_FE_FLAGS);	/* ROLLBACK flag */
	/* The encoder refuses the same. */
	memset(&c, 0, sizeof(c));
	c.version = 0;
	c.op = PK_COP_APPLY;
	c.raw_len = 4;
	c.data = d;
	c.dlen = 4;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	assert_int_equal(n, 0);
	c.version = 2;
	c.raw_len = 5;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	c.raw_len = PK_BUNDLE_RAW_MAX + 1;
	c.flags = PK_FF_CONFIG_DEFLATE;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	c.raw_len = 4;
	c.flags = 0x02;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_FLAGS);
	c.flags = 0;
	c.data = NULL;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_ARG);
	c.dlen = 0;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_SHORT);
	c.op = 9;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	c.op = PK_COP_ROLLBACK;
	c.raw_len = 0;
	c.flags = PK_FF_CONFIG_DEFLATE;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_FLAGS);
	c.flags = 0;
	c.data = d;
	c.dlen = 1;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_TRAILING);
	c.dlen = 0;
	c.raw_len = 4;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	/* A CONFIG handed to APPLIED's decoder is the caller's mistake. */
	c.raw_len = 0;
	c.data = NULL;
	assert_int_equal(pk_config_encode(&c, buf, sizeof(buf), &n), 0);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_applied_decode(&f, &a), PK_FE_ARG);
}

/* ------------------------------------------------------------ APPLIED */

static void
test_applied_roundtrip(void **state)
{
	static const struct pk_applied cases[] = {
		{ 0, 0, 0, PK_AO_RUNNING, "" },
		{ 7, 6, 0, PK_AO_RUNNING, "" },
		{ 8, 7, 8, PK_AO_APPLIED, "" },
		{ 7, 6, 8, PK_AO_REFUSED, "line 4: ipv4 network /8 is wider "
		    "than /16" },
		{ 0, 0, 0, PK_AO_REFUSED, "no previous bundle" },
		{ 6, 0, 6, PK_AO_ROLLED_BACK, "" },
		{ 0, 0, 0, PK_AO_ROLLED_BACK, "" },
		{ UINT64_MAX, UINT64_MAX, UINT64_MAX, PK_AO_APPLIED, "x" },
	};
	uint8_t buf[PK_FRAME_HDR + PK_APPLIED_MIN + PK_ERROR_MSG_MAX + 1];
	struct pk_applied a, g;
	struct pk_frame f;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(pk_applied_encode(&cases[i], buf, sizeof(buf),
		    &n), PK_FE_OK);
		assert_int_equal(n, PK_FRAME_HDR + PK_APPLIED_MIN +
		    strlen(cases[i].reason));
		assert_int_equal(buf[4], PK_FT_APPLIED);
		assert_int_equal(one_frame(buf, n, &f), 0);
		assert_int_equal(pk_applied_decode(&f, &g), PK_FE_OK);
		assert_int_equal(pk_frame_validate(&f), PK_FE_OK);
		assert_int_equal(g.running, cases[i].running);
		assert_int_equal(g.previous, cases[i].previous);
		assert_int_equal(g.version, cases[i].version);
		assert_int_equal(g.outcome, cases[i].outcome);
		assert_string_equal(g.reason, cases[i].reason);
	}
	/* The longest reason fits; one more byte does not. */
	memset(&a, 0, sizeof(a));
	a.outcome = PK_AO_REFUSED;
	a.version = 3;
	fill(a.reason, PK_ERROR_MSG_MAX, 'r');
	assert_int_equal(pk_applied_encode(&a, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, sizeof(buf) - 1);
	assert_int_equal(one_frame(buf, n, &f), 0);
	assert_int_equal(pk_applied_decode(&f, &g), PK_FE_OK);
	assert_int_equal(strlen(g.reason), PK_ERROR_MSG_MAX);
	assert_int_equal(pk_applied_encode(&a, buf, n - 1, &n), PK_FE_ARG);
}

/* An APPLIED payload by hand, reason given with its length. */
static int
applied_raw(uint64_t running, uint64_t previous, uint64_t version,
    uint8_t outcome, uint16_t slen, const char *reason, uint32_t rlen,
    uint32_t extra)
{
	static uint8_t pl[PK_APPLIED_MIN + 1024],
	    buf[PK_FRAME_HDR + sizeof(pl)];
	uint64_t v[3] = { running, previous, version };
	struct pk_applied a;
	struct pk_frame f;
	uint32_t len = 0;
	size_t n;
	int i, j, err;

	memset(pl, 0, sizeof(pl));
	for (j = 0; j < 3; j++)
		for (i = 0; i < 8; i++)
			pl[len++] = (uint8_t)(v[j] >> (56 - 8 * i));
	pl[len++] = outcome;
	pl[len++] = (uint8_t)(slen >> 8);
	pl[len++] = (uint8_t)slen;
	assert_true(rlen + extra <= 1000);
	memcpy(pl + len, reason, rlen);
	len += rlen + extra;
	n = raw_frame(buf, PK_FT_APPLIED, 0, pl, len);
	assert_int_equal(one_frame(buf, n, &f), 0);
	err = pk_applied_decode(&f, &a);
	assert_int_equal(pk_frame_validate(&f), err);
	return err;
}

static void
test_applied_malformed(void **state)
{
	static char longr[PK_ERROR_MSG_MAX + 2];
	uint8_t buf[PK_FRAME_HDR + PK_APPLIED_MIN + PK_ERROR_MSG_MAX + 8];
	struct pk_applied a;
	size_t n;

	(void)state;
	memset(longr, 'r', sizeof(longr) - 1);
	assert_int_equal(applied_raw(1, 0, 0, PK_AO_RUNNING, 0, "", 0, 0),
	    PK_FE_OK);
	assert_int_equal(applied_raw(1, 0, 1, PK_AO_RUNNING, 0, "", 0, 0),
	    PK_FE_VALUE);			/* RUNNING answers no CONFIG */
	assert_int_equal(applied_raw(0, 0, 0, PK_AO_APPLIED, 0, "", 0, 0),
	    PK_FE_VALUE);			/* APPLIED version 0 */
	assert_int_equal(applied_raw(4, 0, 5, PK_AO_APPLIED, 0, "", 0, 0),
	    PK_FE_VALUE);			/* runs another */
	assert_int_equal(applied_raw(5, 4, 5, PK_AO_APPLIED, 0, "", 0, 0),
	    PK_FE_OK);
	assert_int_equal(applied_raw(5, 4, 4, PK_AO_ROLLED_BACK, 0, "", 0, 0),
	    PK_FE_VALUE);			/* rolled back, runs another */
	assert_int_equal(applied_raw(4, 0, 4, PK_AO_ROLLED_BACK, 0, "", 0, 0),
	    PK_FE_OK);
	assert_int_equal(applied_raw(4, 0, 4, PK_AO_LAST + 1, 0, "", 0, 0),
	    PK_FE_VALUE);			/* unknown outcome */
	assert_int_equal(applied_raw(4, 0, 4, 0xff, 0, "", 0, 0), PK_FE_VALUE);
	/* The reason: its length, its bytes, what follows it. */
	assert_int_equal(applied_raw(4, 0, 5, PK_AO_REFUSED, 3, "bad", 3, 0),
	    PK_FE_OK);
	assert_int_equal(applied_raw(4, 0, 5, PK_AO_REFUSED, 3, "bad", 3, 1),
	    PK_FE_TRAILING);
	assert_int_equal(applied_raw(4, 0, 5, PK_AO_REFUSED, 4, "bad", 3, 0),
	    PK_FE_STRLEN);			/* past the frame */
	assert_int_equal(applied_raw(4, 0, 5, PK_AO_REFUSED, 3, "b\nd", 3, 0),
	    PK_FE_STRING);			/* control byte */
	assert_int_equal(applied_raw(4, 0, 5, PK_AO_REFUSED, 3, "b\177d", 3,
	    0), PK_FE_STRING);
	assert_int_equal(applied_raw(4, 0, 5, PK_AO_REFUSED, PK_ERROR_MSG_MAX,
	    longr, PK_ERROR_MSG_MAX, 0), PK_FE_OK);
	assert_int_equal(applied_raw(4, 0, 5, PK_AO_REFUSED,
	    PK_ERROR_MSG_MAX + 1, longr, PK_ERROR_MSG_MAX + 1, 0),
	    PK_FE_STRLEN);			/* over the maximum */
	/* The encoder refuses the same stories. */
	memset(&a, 0, sizeof(a));
	a.outcome = PK_AO_RUNNING;
	a.version = 1;
	assert_int_equal(pk_applied_encode(&a, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	assert_int_equal(n, 0);
	a.outcome = PK_AO_APPLIED;
	a.running = 2;
	assert_int_equal(pk_applied_encode(&a, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	a.outcome = PK_AO_ROLLED_BACK;
	assert_int_equal(pk_applied_encode(&a, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	a.outcome = PK_AO_LAST + 1;
	a.running = 1;
	assert_int_equal(pk_applied_encode(&a, buf, sizeof(buf), &n),
	    PK_FE_VALUE);
	a.outcome = PK_AO_REFUSED;
	snprintf(a.reason, sizeof(a.reason), "tab\there");
	assert_int_equal(pk_applied_encode(&a, buf, sizeof(buf), &n),
	    PK_FE_STRING);
	a.reason[3] = ' ';
	assert_int_equal(pk_applied_encode(&a, buf, sizeof(buf), &n), 0);
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
	assert_int_equal(nref, 8);
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
	assert_int_equal(frames, 8);
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
	/* Version 2 (bundles): an old peer still meets a new one at 1. */
	assert_int_equal(PK_PROTO_MIN, 1);
	assert_int_equal(PK_PROTO_MAX, 2);
	assert_int_equal(pk_proto_pick(1, 2, PK_PROTO_MIN, PK_PROTO_MAX), 2);
	assert_int_equal(pk_proto_pick(1, 1, PK_PROTO_MIN, PK_PROTO_MAX), 1);
	assert_int_equal(pk_proto_pick(PK_PROTO_MIN, PK_PROTO_MAX, 1, 1), 1);
	assert_int_equal(pk_proto_pick(2, 2, 1, 1), 0);
	assert_int_equal(pk_proto_pick(1, 1, 2, 2), 0);
	assert_int_equal(pk_proto_pick(1, 9, PK_PROTO_MIN, PK_PROTO_MAX), 2);
	assert_int_equal(pk_proto_pick(3, 9, PK_PROTO_MIN, PK_PROTO_MAX), 0);
	assert_int_equal(pk_frame_dir(PK_FT_HELLO), PK_FDIR_AGENT);
	assert_int_equal(pk_frame_dir(PK_FT_ACK), PK_FDIR_HUB);
	assert_int_equal(pk_frame_dir(PK_FT_HEARTBEAT),
	    PK_FDIR_AGENT | PK_FDIR_HUB);
	assert_int_equal(pk_frame_dir(0), 0);
	assert_string_equal(pk_frame_type_name(PK_FT_CONFIG), "CONFIG");
	assert_string_equal(pk_frame_type_name(PK_FT_APPLIED), "APPLIED");
	assert_string_equal(pk_frame_type_name(PK_FT_APPLIED + 1), "unknown");
	assert_int_equal(pk_frame_dir(PK_FT_CONFIG), PK_FDIR_HUB);
	assert_int_equal(pk_frame_dir(PK_FT_APPLIED), PK_FDIR_AGENT);
	assert_int_equal(pk_frame_dir(PK_FT_APPLIED + 1), 0);
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
		cmocka_unit_test(test_config_roundtrip),
		cmocka_unit_test(test_config_malformed),
		cmocka_unit_test(test_applied_roundtrip),
		cmocka_unit_test(test_applied_malformed),
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_version_pick),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
