/*
 * test_batch.c - unit tests for BATCH payloads (transport/batch.c): real
 * indicator lines (picketd -r output) round-trip plain, deflated, and
 * deflated with the preset dictionary, which must make a single line
 * smaller; the builder refuses non-consecutive sequence numbers and
 * records that are not one line of JSON text; the opener refuses a
 * dictionary id that does not match the stream, a corrupt, truncated or
 * over-long deflate stream, a zip bomb (a ~1 KiB payload inflating far
 * past the limit, whether declared honestly or not), a record count or
 * length that differs from the header, records with a raw newline or NUL,
 * and counts every outcome.  Result chunks (pk_chunk_deflate/inflate,
 * docs/tasks.md) round-trip up to exactly PK_RESULT_CHUNK_MAX bytes; one
 * byte more is a bomb; truncated, trailing, dictionary and non-zlib
 * streams are corrupt; a stream that does not fit is PK_BE_SPACE.  No
 * zlib here: batch.c is the only user.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/batch.h"

/* Two real lines: a port scan and a content-rule (worm) match. */
static const char line1[] =
    "{\"@timestamp\":\"2017-06-15T14:19:59.809545Z\",\"event\":{\"kind\":\"alert\",\"category\":[\"network\",\"intrusion_detection\"],\"type\":[\"end\",\"indicator\"],\"module\":\"network\",\"dataset\":\"picket.scan\",\"severity\":47,\"start\":\"2017-06-15T14:19:58.484854Z\",\"end\":\"2017-06-15T14:19:59.809545Z\"},\"host\":{\"id\":\"63a7be250a8261190a18f4bf4baed39e\",\"name\":\"vm\"},\"agent\":{\"id\":\"63a7be250a8261190a18f4bf4baed39e\",\"type\":\"picketd\",\"version\":\"0.1.0\"},\"rule\":{\"id\":\"picket.scan.port\",\"name\":\"Port scan\",\"ruleset\":\"picket-builtin\"},\"message\":\"10.0.2.15 scanned 48 tcp ports on 192.168.0.101\",\"source\":{\"ip\":\"10.0.2.15\"},\"destination\":{\"ip\":\"192.168.0.101\"},\"network\":{\"transport\":\"tcp\",\"direction\":\"unknown\"},\"picket\":{\"seq\":1,\"count\":50,\"first_seen\":\"2017-06-15T14:19:58.484854Z\",\"last_seen\":\"2017-06-15T14:19:59.809545Z\",\"fingerprint\":\"57eba679290f23730ffd1f0fd75f542a\",\"tlp\":\"TLP:AMBER\",\"details\":{\"method\":\"stealth\",\"distinct_ports\":48}}}";
static const char line2[] =
    "{\"@timestamp\":\"2023-11-14T23:20:00.030998Z\",\"event\":{\"kind\":\"alert\",\"category\":[\"network\",\"intrusion_detection\"],\"type\":[\"end\",\"indicator\"],\"module\":\"network\",\"dataset\":\"picket.rules\",\"severity\":73,\"start\":\"2023-11-14T23:20:00.013999Z\",\"end\":\"2023-11-14T23:20:00.013999Z\"},\"host\":{\"id\":\"63a7be250a8261190a18f4bf4baed39e\",\"name\":\"vm\"},\"agent\":{\"id\":\"63a7be250a8261190a18f4bf4baed39e\",\"type\":\"picketd\",\"version\":\"0.1.0\"},\"rule\":{\"id\":\"9000011\",\"name\":\"PICKET WORM Blaster DCOM activation with an overlong server name\",\"ruleset\":\"worms.rules\",\"category\":\"attempted-admin\",\"reference\":\"cve:2003-0352\",\"version\":\"1\"},\"message\":\"PICKET WORM Blaster DCOM activation with an overlong server name: 192.0.2.1 -> 10.1.0.1\",\"source\":{\"ip\":\"192.0.2.1\",\"port\":1234},\"destination\":{\"ip\":\"10.1.0.1\",\"port\":135},\"network\":{\"transport\":\"tcp\",\"direction\":\"unknown\"},\"picket\":{\"seq\":1,\"count\":1,\"first_seen\":\"2023-11-14T23:20:00.013999Z\",\"last_seen\":\"2023-11-14T23:20:00.013999Z\",\"fingerprint\":\"a61920432725c7e41e05ca8e99434a67\",\"tlp\":\"TLP:AMBER\",\"details\":{\"method\":\"signature\",\"gid\":1,\"sid\":9000011,\"rev\":1,\"matched\":\"stream\"}}}";

#define NREC	40
#define ZCAP	(256 * 1024)
#define RAWCAP	(2 * 1024 * 1024)

static uint8_t zbuf[ZCAP], raw[RAWCAP];
static struct pk_batch_rec recs[NREC], out[NREC + 1];
static const struct pk_batch_limits lim = { 1000, 1024 * 1024 };

static void
make_recs(uint32_t n, uint64_t first)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		recs[i].seq = first + i;
		recs[i].data = i % 3 == 1 ? line2 : line1;
		recs[i].len = i % 3 == 1 ? sizeof(line2) - 1 : sizeof(line1) - 1;
	}
}

static int
open_it(const struct pk_batch_hdr *h, const uint8_t *d, size_t dl,
    struct pk_batch_stats *st)
{
	return pk_batch_open(h, d, dl, &lim, raw, sizeof(raw), out, NREC + 1,
	    st);
}

static void
check_out(uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		assert_true(out[i].seq == recs[i].seq);
		assert_int_equal(out[i].len, recs[i].len);
		assert_memory_equal(out[i].data, recs[i].data, recs[i].len);
	}
}

static void
test_roundtrip(void **state)
{
	static const uint32_t counts[] = { 1, 2, 10, NREC };
	struct pk_batch_stats st;
	struct pk_batch_hdr h;
	size_t zl, i;
	int mode;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		for (mode = 0; mode < 3; mode++) {
			make_recs(counts[i], 1000 * (i + 1));
			assert_int_equal(pk_batch_build(recs, counts[i],
			    mode == 2 ? PK_DICT_V1 : PK_DICT_NONE,
			    mode == 0 ? PK_BATCH_PLAIN : PK_BATCH_LEVEL, zbuf,
			    sizeof(zbuf), &h, &zl), PK_BE_OK);
			assert_int_equal(h.count, counts[i]);
			assert_true(h.first_seq == 1000 * (i + 1));
			assert_int_equal(h.flags, mode ? PK_FF_BATCH_DEFLATE : 0);
			assert_int_equal(h.dict_id, mode == 2 ? PK_DICT_V1 : 0);
			if (mode)
				assert_true(zl < h.raw_len);
			else
				assert_int_equal(zl, h.raw_len);
			assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_OK);
			check_out(counts[i]);
		}
	}
	assert_int_equal(st.batches, 12);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(st.records, 3 * (1 + 2 + 10 + NREC));
}

/* The point of the dictionary: one line alone compresses far better. */
static void
test_dictionary_helps(void **state)
{
	struct pk_batch_hdr h;
	size_t z0, z1;

	(void)state;
	make_recs(1, 1);
	assert_int_equal(pk_batch_build(recs, 1, PK_DICT_NONE, PK_BATCH_LEVEL,
	    zbuf, sizeof(zbuf), &h, &z0), 0);
	assert_int_equal(pk_batch_build(recs, 1, PK_DICT_V1, PK_BATCH_LEVEL,
	    zbuf, sizeof(zbuf), &h, &z1), 0);
	print_message("one line: %zu bytes, deflate %zu, with dictionary %zu\n",
	    (size_t)h.raw_len, z0, z1);
	assert_true(z1 * 3 < z0 * 2);
}

static void
test_trailing_newline(void **state)
{
	struct pk_batch_rec r[2] = { { 7, "{\"a\":1}\n", 8 }, { 8, "{}", 2 } };
	struct pk_batch_hdr h;
	size_t zl;

	(void)state;
	assert_int_equal(pk_batch_build(r, 2, PK_DICT_V1, 9, zbuf,
	    sizeof(zbuf), &h, &zl), 0);
	assert_int_equal(h.raw_len, 11);
	assert_int_equal(open_it(&h, zbuf, zl, NULL), 0);
	assert_int_equal(out[0].len, 7);
	assert_int_equal(out[1].len, 2);
	assert_true(out[1].seq == 8);
}

static void
test_build_refuses(void **state)
{
	struct pk_batch_rec r[3] = { { 5, "{}", 2 }, { 6, "{}", 2 },
	    { 7, "{}", 2 } };
	struct pk_batch_hdr h;
	size_t zl;

	(void)state;
	assert_int_equal(pk_batch_build(r, 3, 0, 6, zbuf, sizeof(zbuf), &h,
	    &zl), 0);
	r[2].seq = 8;
	assert_int_equal(pk_batch_build(r, 3, 0, 6, zbuf, sizeof(zbuf), &h,
	    &zl), PK_BE_SEQ);
	r[2].seq = 6;
	assert_int_equal(pk_batch_build(r, 3, 0, 6, zbuf, sizeof(zbuf), &h,
	    &zl), PK_BE_SEQ);
	r[2].seq = 7;
	r[1].data = "{\"a\n\"}";
	r[1].len = 6;
	assert_int_equal(pk_batch_build(r, 3, 0, 6, zbuf, sizeof(zbuf), &h,
	    &zl), PK_BE_RECORD);
	r[1].data = "{\"a\0\"}";
	assert_int_equal(pk_batch_build(r, 3, 0, 6, zbuf, sizeof(zbuf), &h,
	    &zl), PK_BE_RECORD);
	r[1].data = "[1]";
	r[1].len = 3;
	assert_int_equal(pk_batch_build(r, 3, 0, 6, zbuf, sizeof(zbuf), &h,
	    &zl), PK_BE_RECORD);
	r[1].data = "{}";
	r[1].len = 2;
	r[0].seq = 0;
	assert_int_equal(pk_batch_build(r, 3, 0, 6, zbuf, sizeof(zbuf), &h,
	    &zl), PK_BE_ARG);
	r[0].seq = 5;
	assert_int_equal(pk_batch_build(r, 0, 0, 6, zbuf, sizeof(zbuf), &h,
	    &zl), PK_BE_ARG);
	assert_int_equal(pk_batch_build(r, 3, 9, 6, zbuf, sizeof(zbuf), &h,
	    &zl), PK_BE_DICT);
	assert_int_equal(pk_batch_build(r, 3, 1, PK_BATCH_PLAIN, zbuf,
	    sizeof(zbuf), &h, &zl), PK_BE_DICT);
	assert_int_equal(pk_batch_build(r, 3, 0, 10, zbuf, sizeof(zbuf), &h,
	    &zl), PK_BE_ARG);
	/* Output too small: plain and deflated. */
	assert_int_equal(pk_batch_build(r, 3, 0, PK_BATCH_PLAIN, zbuf, 8, &h,
	    &zl), PK_BE_SPACE);
	assert_int_equal(pk_batch_build(r, 3, 0, 6, zbuf, 8, &h, &zl),
	    PK_BE_SPACE);
	assert_int_equal(zl, 0);
}

static void
test_dict_mismatch(void **state)
{
	struct pk_batch_stats st;
	struct pk_batch_hdr h;
	size_t zl;

	(void)state;
	memset(&st, 0, sizeof(st));
	make_recs(3, 1);
	assert_int_equal(pk_batch_build(recs, 3, PK_DICT_V1, 6, zbuf,
	    sizeof(zbuf), &h, &zl), 0);
	h.dict_id = PK_DICT_NONE;
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_DICT);
	h.dict_id = 2;		/* unknown id */
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_DICT);
	assert_int_equal(pk_batch_build(recs, 3, PK_DICT_NONE, 6, zbuf,
	    sizeof(zbuf), &h, &zl), 0);
	h.dict_id = PK_DICT_V1;	/* header names one, stream uses none */
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_DICT);
	assert_int_equal(st.err[PK_BE_DICT], 3);
	assert_int_equal(st.rejected, 3);
	assert_int_equal(st.batches, 0);
}

static void
test_corrupt(void **state)
{
	struct pk_batch_stats st;
	struct pk_batch_hdr h;
	size_t zl;

	(void)state;
	memset(&st, 0, sizeof(st));
	make_recs(10, 1);
	assert_int_equal(pk_batch_build(recs, 10, PK_DICT_V1, 6, zbuf,
	    sizeof(zbuf), &h, &zl), 0);
	/* Checksum trailer wrong. */
	zbuf[zl - 1] ^= 0x55;
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_CORRUPT);
	zbuf[zl - 1] ^= 0x55;
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_OK);
	/* Truncated stream. */
	assert_int_equal(open_it(&h, zbuf, zl - 5, &st), PK_BE_CORRUPT);
	assert_int_equal(open_it(&h, zbuf, zl / 2, &st), PK_BE_CORRUPT);
	/* Bytes after the stream's end. */
	zbuf[zl] = 0;
	assert_int_equal(open_it(&h, zbuf, zl + 1, &st), PK_BE_CORRUPT);
	/* Not a zlib stream at all. */
	memset(zbuf, 0xff, 64);
	assert_int_equal(open_it(&h, zbuf, 64, &st), PK_BE_CORRUPT);
	assert_int_equal(st.err[PK_BE_CORRUPT], 5);
	assert_int_equal(st.batches, 1);
}

/* One record of 1 MiB of 'a' deflates to about 1 KiB: a zip bomb. */
static void
test_zip_bomb(void **state)
{
	struct pk_batch_stats st;
	struct pk_batch_hdr h;
	struct pk_batch_rec r;
	size_t zl, big = 1024 * 1024;
	char *s = malloc(big);

	(void)state;
	assert_non_null(s);
	memset(&st, 0, sizeof(st));
	memset(s, 'a', big);
	s[0] = '{';
	s[big - 1] = '}';
	r.seq = 1;
	r.data = s;
	r.len = big;
	assert_int_equal(pk_batch_build(&r, 1, PK_DICT_NONE, 9, zbuf,
	    sizeof(zbuf), &h, &zl), 0);
	assert_true(zl <= 1100);
	print_message("bomb: %zu bytes inflate to %u\n", zl, h.raw_len);
	/* Honest header over the 1 MiB limit: refused before inflating. */
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_LIMIT);
	/* Lying header: inflate stops at the declared size. */
	h.raw_len = 1000;
	memset(raw, 0x5a, RAWCAP);
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_BOMB);
	assert_int_equal(raw[1000], 0x5a);	/* nothing past raw_len */
	h.raw_len = 1024 * 1024;	/* at the limit, one byte short */
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_BOMB);
	/* Declared bigger than it is. */
	h.raw_len = (uint32_t)big + 2;
	{
		struct pk_batch_limits wide = { 10, 2 * 1024 * 1024 };

		assert_int_equal(pk_batch_open(&h, zbuf, zl, &wide, raw,
		    sizeof(raw), out, NREC, &st), PK_BE_LENGTH);
		h.raw_len = (uint32_t)big + 1;
		assert_int_equal(pk_batch_open(&h, zbuf, zl, &wide, raw,
		    sizeof(raw), out, NREC, &st), PK_BE_OK);
	}
	assert_int_equal(st.err[PK_BE_LIMIT], 1);
	assert_int_equal(st.err[PK_BE_BOMB], 2);
	assert_int_equal(st.err[PK_BE_LENGTH], 1);
	free(s);
}

static void
test_count_and_length(void **state)
{
	struct pk_batch_stats st;
	struct pk_batch_hdr h;
	size_t zl;

	(void)state;
	memset(&st, 0, sizeof(st));
	make_recs(10, 50);
	assert_int_equal(pk_batch_build(recs, 10, PK_DICT_V1, 6, zbuf,
	    sizeof(zbuf), &h, &zl), 0);
	h.count = 11;
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_COUNT);
	h.count = 9;
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_COUNT);
	h.count = 10;
	h.raw_len -= 1;
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_BOMB);
	h.raw_len += 2;
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_LENGTH);
	h.raw_len -= 1;
	/* Over the record limit, or more than the caller's slots. */
	{
		struct pk_batch_limits small = { 9, 1024 * 1024 };

		assert_int_equal(pk_batch_open(&h, zbuf, zl, &small, raw,
		    sizeof(raw), out, NREC, &st), PK_BE_LIMIT);
		assert_int_equal(pk_batch_open(&h, zbuf, zl, &lim, raw,
		    sizeof(raw), out, 9, &st), PK_BE_SPACE);
		assert_int_equal(pk_batch_open(&h, zbuf, zl, &lim, raw,
		    h.raw_len - 1, out, NREC, &st), PK_BE_SPACE);
	}
	assert_int_equal(open_it(&h, zbuf, zl, &st), PK_BE_OK);
	assert_int_equal(st.err[PK_BE_COUNT], 2);
	assert_int_equal(st.rejected, 7);
}

/* Plain batches made by hand: what a hostile agent could send. */
static void
test_bad_records(void **state)
{
	static const struct {
		const char	*s;
		uint32_t	 count;
		int		 want;
	} cases[] = {
		{ "{\"a\":1}\n{\"b\":2}\n", 2, PK_BE_OK },
		{ "{\"a\":1}\n{\"b\n\":2}\n", 2, PK_BE_RECORD },	/* raw LF */
		{ "{\"a\":1}\n{\"b\n\":2}\n", 3, PK_BE_RECORD },
		{ "{\"a\":1}\n{\"b\r\":2}\n", 2, PK_BE_RECORD },
		{ "{\"a\":1}\n{\"b\":2}", 2, PK_BE_RECORD },	/* no final LF */
		{ "{\"a\":1}\n\n{\"b\":2}\n", 3, PK_BE_RECORD },	/* empty */
		{ "{\"a\":1}\n[1,2,3]\n", 2, PK_BE_RECORD },
		{ "{\"a\":1}\n{\"b\":2}\n", 1, PK_BE_COUNT },
		{ "{\"a\":1}\n{\"b\":2}\n", 3, PK_BE_COUNT },
	};
	struct pk_batch_hdr h;
	uint8_t nul[] = "{\"a\":1}\n{\"b\0\":2}\n";
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].s);
		memset(&h, 0, sizeof(h));
		h.first_seq = 1;
		h.count = cases[i].count;
		h.raw_len = (uint32_t)n;
		assert_int_equal(open_it(&h, (const uint8_t *)cases[i].s, n,
		    NULL), cases[i].want);
	}
	h.count = 2;
	h.raw_len = sizeof(nul) - 1;
	assert_int_equal(open_it(&h, nul, sizeof(nul) - 1, NULL),
	    PK_BE_RECORD);
	/* Plain with a dictionary id, or a length differing from data. */
	h.dict_id = 1;
	assert_int_equal(open_it(&h, nul, sizeof(nul) - 1, NULL), PK_BE_DICT);
	h.dict_id = 0;
	assert_int_equal(open_it(&h, nul, sizeof(nul) - 2, NULL),
	    PK_BE_LENGTH);
	assert_string_not_equal(pk_batch_strerror(PK_BE_BOMB),
	    pk_batch_strerror(PK_BE_LENGTH));
}

static void
test_dictionary(void **state)
{
	size_t n;
	const uint8_t *d = pk_batch_dict(PK_DICT_V1, &n);

	(void)state;
	assert_non_null(d);
	/* zlib uses at most 32 KiB - 262 bytes of a dictionary. */
	assert_true(n > 1000 && n < 32768 - 262);
	assert_null(pk_batch_dict(0, &n));
	assert_null(pk_batch_dict(2, &n));
	assert_int_equal(PK_DICT_MASK & (1u << PK_DICT_V1), 1u << PK_DICT_V1);
}

/* Result chunks: PK_RESULT_CHUNK_MAX bytes exactly, and not one more. */
static void
test_chunks(void **state)
{
	static uint8_t src[PK_RESULT_CHUNK_MAX + 1], z[PK_RESULT_CHUNK_MAX + 64],
	    back[PK_RESULT_CHUNK_MAX];
	size_t zlen, blen, i, dlen;
	uint32_t x = 12345;

	(void)state;
	/* pcap-like: repeating headers and some noise */
	for (i = 0; i < sizeof(src); i++) {
		x = x * 1103515245u + 12345u;
		src[i] = i % 64 < 16 ? (uint8_t)(i % 16) : (uint8_t)(x >> 24);
	}
	assert_int_equal(pk_chunk_deflate(src, PK_RESULT_CHUNK_MAX, z,
	    sizeof(z), &zlen), PK_BE_OK);
	assert_true(zlen > 0 && zlen < PK_RESULT_CHUNK_MAX);
	assert_int_equal(pk_chunk_inflate(z, zlen, back, sizeof(back), &blen),
	    PK_BE_OK);
	assert_int_equal(blen, PK_RESULT_CHUNK_MAX);
	assert_memory_equal(back, src, blen);
	/* a small one */
	assert_int_equal(pk_chunk_deflate(src, 100, z, sizeof(z), &zlen), 0);
	assert_int_equal(pk_chunk_inflate(z, zlen, back, sizeof(back), &blen),
	    PK_BE_OK);
	assert_int_equal(blen, 100);
	assert_memory_equal(back, src, 100);
	/* truncated, and with a byte after the end */
	assert_int_equal(pk_chunk_inflate(z, zlen - 1, back, sizeof(back),
	    &blen), PK_BE_CORRUPT);
	z[zlen] = 0;
	assert_int_equal(pk_chunk_inflate(z, zlen + 1, back, sizeof(back),
	    &blen), PK_BE_CORRUPT);
	assert_int_equal(blen, 0);
	/* one byte over the cap: a bomb, and zlib never wrote past it */
	memset(src, 0, sizeof(src));
	assert_int_equal(pk_chunk_deflate(src, sizeof(src), z, sizeof(z),
	    &zlen), PK_BE_OK);
	assert_true(zlen < 1024);
	back[sizeof(back) - 1] = 0x55;
	assert_int_equal(pk_chunk_inflate(z, zlen, back, sizeof(back) - 1,
	    &blen), PK_BE_BOMB);
	assert_int_equal(back[sizeof(back) - 1], 0x55);
	assert_int_equal(pk_chunk_inflate(z, zlen, back, sizeof(back), &blen),
	    PK_BE_BOMB);
	/* not zlib at all */
	assert_int_equal(pk_chunk_inflate((const uint8_t *)"hello", 5, back,
	    sizeof(back), &blen), PK_BE_CORRUPT);
	/* a stream that needs a preset dictionary is not a chunk */
	recs[0].seq = 1;
	recs[0].data = line1;
	recs[0].len = sizeof(line1) - 1;
	{
		struct pk_batch_hdr h;

		assert_int_equal(pk_batch_build(recs, 1, PK_DICT_V1,
		    PK_BATCH_LEVEL, zbuf, sizeof(zbuf), &h, &dlen), 0);
	}
	assert_int_equal(pk_chunk_inflate(zbuf, dlen, back, sizeof(back),
	    &blen), PK_BE_CORRUPT);
	/* the deflated stream does not fit: SPACE; bad arguments: ARG */
	assert_int_equal(pk_chunk_deflate((const uint8_t *)line2,
	    sizeof(line2) - 1, z, 16, &zlen), PK_BE_SPACE);
	assert_int_equal(pk_chunk_deflate(src, 0, z, sizeof(z), &zlen),
	    PK_BE_ARG);
	assert_int_equal(pk_chunk_inflate(z, 0, back, sizeof(back), &blen),
	    PK_BE_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_dictionary_helps),
		cmocka_unit_test(test_trailing_newline),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_dict_mismatch),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_zip_bomb),
		cmocka_unit_test(test_count_and_length),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_dictionary),
		cmocka_unit_test(test_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
