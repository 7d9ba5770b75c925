/*
 * test_stream.c - unit tests for TCP stream reassembly
 * (collectors/pcap/stream.c): in-order, reversed and randomly permuted
 * segments with overlaps checked against a first-copy-wins model,
 * retransmissions with different bytes, the 2^32 wrap, depth, the
 * out-of-order cap, memcap refusal, midstream pickup, zero-length
 * segments, a SYN carrying data, holes given up at FIN and RST, and the
 * memory figure returning to zero after every release.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/decode.h"
#include "collectors/pcap/flow.h"
#include "collectors/pcap/stream.h"
#include "common/util.h"
#include "tests/unit/pktbuild.h"

#define ACK	PK_TH_ACK

static struct pk_streams *
mk(uint32_t depth, uint64_t memcap, uint32_t maxseg)
{
	struct pk_stream_cfg c;
	struct pk_streams *s;

	c.depth = depth;
	c.memcap = memcap;
	c.max_segments = maxseg;
	s = pk_streams_new(&c);
	assert_non_null(s);
	return s;
}

static struct pk_packet
seg(uint32_t seq, uint8_t flags, const void *data, uint32_t len)
{
	struct pk_packet p = tcp(v4(10, 0, 0, 1), 40000, v4(192, 0, 2, 1), 80,
	    flags, 1);

	p.tcp_seq = seq;
	p.payload = data;
	p.payload_len = len;
	return p;
}

/* Feed one segment; returns what pk_stream_packet returned. */
static int
feed(struct pk_streams *s, void **st, int dir, uint32_t seq, uint8_t flags,
    const void *data, uint32_t len, struct pk_stream_view *v)
{
	struct pk_packet p = seg(seq, flags, data, len);

	memset(v, 0, sizeof(*v));
	return pk_stream_packet(s, st, dir, &p, v);
}

static void
done(struct pk_streams *s, void *st)
{
	pk_stream_release(s, st);
	assert_int_equal(pk_streams_stats(s)->mem, 0);
	pk_streams_free(s);
}

static void
test_in_order(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	void *st = NULL;

	(void)unused;
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1000, PK_TH_SYN, NULL, 0,
	    &v), 0);
	assert_non_null(st);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1001, ACK, "GET ", 4, &v), 1);
	assert_int_equal(v.len, 4);
	assert_int_equal(v.new_off, 0);
	assert_int_equal(v.gap, 0);
	assert_int_equal(v.full, 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1005, ACK, "/x HTTP", 7, &v),
	    1);
	assert_int_equal(v.len, 11);
	assert_int_equal(v.new_off, 4);
	assert_memory_equal(v.data, "GET /x HTTP", 11);
	/* the other direction is separate */
	assert_int_equal(feed(s, &st, PK_DIR_REV, 7000, PK_TH_SYN | ACK, NULL,
	    0, &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_REV, 7001, ACK, "HTTP/1.1", 8,
	    &v), 1);
	assert_int_equal(v.len, 8);
	assert_int_equal(v.new_off, 0);
	assert_int_equal(pk_streams_stats(s)->bytes, 19);
	assert_int_equal(pk_streams_stats(s)->streams, 2);
	/* a small flow costs a small buffer, not depth */
	assert_true(pk_streams_stats(s)->mem < 8192);
	done(s, st);
}

static void
test_reversed(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	const char *text = "abcdefghijklmnopqrstuvwxyz0123";
	void *st = NULL;
	int i;

	(void)unused;
	feed(s, &st, PK_DIR_FWD, 99, PK_TH_SYN, NULL, 0, &v);
	for (i = 9; i >= 1; i--)
		assert_int_equal(feed(s, &st, PK_DIR_FWD, 100 + 3 * i, ACK,
		    text + 3 * i, 3, &v), 0);
	assert_int_equal(pk_streams_stats(s)->segments_ooo, 9);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 100, ACK, text, 3, &v), 1);
	assert_int_equal(v.len, 30);
	assert_int_equal(v.new_off, 0);
	assert_memory_equal(v.data, text, 30);
	assert_int_equal(pk_streams_stats(s)->overlaps_differ, 0);
	done(s, st);
}

/* ---- property test: random segments, overlaps, first copy wins -------- */

static uint64_t rng;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)((rng >> 11) % n);
}

#define PL	4000
#define PMAXSEG	200

struct pseg {
	uint32_t off, len;
	uint8_t  data[300];
};

static void
one_permutation(uint64_t seed, uint32_t isn)
{
	static struct pseg sg[PMAXSEG];
	uint8_t base[PL], val[PL], have[PL], got[PL];
	struct pk_streams *s = mk(65536, 16 << 20, 4096);
	struct pk_stream_view v;
	struct pseg tmp;
	uint32_t n = 0, off, i, k, glen = 0;
	uint64_t model_differ = 0;
	void *st = NULL;
	int differ;

	rng = seed;
	for (i = 0; i < PL; i++)
		base[i] = (uint8_t)rnd(256);
	/* a tiling, so every byte comes at least once ... */
	for (off = 0; off < PL; off += sg[n - 1].len) {
		sg[n].off = off;
		k = 1 + rnd(120);	/* PK_MIN evaluates twice */
		sg[n].len = PK_MIN(k, PL - off);
		n++;
	}
	/* ... and random overlapping extras */
	while (n < PMAXSEG) {
		sg[n].off = rnd(PL);
		k = 1 + rnd(299);
		sg[n].len = PK_MIN(k, PL - sg[n].off);
		n++;
	}
	for (i = 0; i < n; i++) {
		memcpy(sg[i].data, base + sg[i].off, sg[i].len);
		if (rnd(5) == 0)	/* a copy with different bytes */
			sg[i].data[rnd(sg[i].len)] ^= (uint8_t)(1 + rnd(255));
	}
	for (i = n - 1; i > 0; i--) {
		k = rnd(i + 1);
		tmp = sg[i];
		sg[i] = sg[k];
		sg[k] = tmp;
	}
	memset(have, 0, sizeof(have));
	feed(s, &st, PK_DIR_FWD, isn, PK_TH_SYN, NULL, 0, &v);
	for (i = 0; i < n; i++) {
		differ = 0;
		for (k = 0; k < sg[i].len; k++) {
			off = sg[i].off + k;
			if (!have[off]) {
				have[off] = 1;
				val[off] = sg[i].data[k];
			} else if (val[off] != sg[i].data[k])
				differ = 1;
		}
		model_differ += differ;
		if (feed(s, &st, PK_DIR_FWD, isn + 1 + sg[i].off, ACK,
		    sg[i].data, sg[i].len, &v)) {
			/* what is new is exactly the next bytes */
			assert_int_equal(v.new_off, glen);
			assert_true(v.len > glen);
			assert_int_equal(v.gap, 0);
			memcpy(got + glen, v.data + v.new_off,
			    v.len - v.new_off);
			glen = v.len;
			assert_memory_equal(v.data, got, glen);
		}
	}
	assert_int_equal(glen, PL);
	assert_memory_equal(got, val, PL);
	assert_int_equal(pk_streams_stats(s)->overlaps_differ, model_differ);
	assert_int_equal(pk_streams_stats(s)->ooo_dropped, 0);
	done(s, st);
}

static void
test_permutations(void **unused)
{
	uint64_t seed;

	(void)unused;
	for (seed = 1; seed <= 60; seed++)
		one_permutation(seed * 0x9e3779b97f4a7c15ULL,
		    (uint32_t)(seed * 2654435761u));
	/* ISNs that put the stream across the 2^32 wrap */
	for (seed = 61; seed <= 80; seed++)
		one_permutation(seed * 0x9e3779b97f4a7c15ULL,
		    0xffffffffu - (uint32_t)(seed * 97 % PL));
}

static void
test_retransmit_differs(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	void *st = NULL;

	(void)unused;
	feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1, ACK, "hello", 5, &v), 1);
	/* same bytes again: nothing new, nothing counted */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1, ACK, "hello", 5, &v), 0);
	assert_int_equal(pk_streams_stats(s)->overlaps_differ, 0);
	/* different bytes over old ones plus one new byte */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 3, ACK, "XXXX", 4, &v), 1);
	assert_int_equal(v.len, 6);
	assert_int_equal(v.new_off, 5);
	assert_memory_equal(v.data, "helloX", 6);
	assert_int_equal(pk_streams_stats(s)->overlaps_differ, 1);
	/* a held piece keeps its first copy too */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 10, ACK, "abc", 3, &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 10, ACK, "abZ", 3, &v), 0);
	assert_int_equal(pk_streams_stats(s)->overlaps_differ, 2);
	/* filling the hole with bytes that run over the held piece */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 7, ACK, "123QQQ4", 7, &v),
	    1);
	assert_int_equal(v.len, 13);
	assert_memory_equal(v.data, "helloX123abc4", 13);
	assert_int_equal(pk_streams_stats(s)->overlaps_differ, 3);
	done(s, st);
}

static void
test_wraparound(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	void *st = NULL;

	(void)unused;
	feed(s, &st, PK_DIR_FWD, 0xfffffffau, PK_TH_SYN, NULL, 0, &v);
	/* bytes at 0xfffffffb .. 0x00000004, the middle part first */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 0xffffffffu, ACK, "efgh", 4,
	    &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 0x00000003u, ACK, "ij", 2,
	    &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 0xfffffffbu, ACK, "abcd", 4,
	    &v), 1);
	assert_int_equal(v.len, 10);
	assert_memory_equal(v.data, "abcdefghij", 10);
	/* an old segment from before the wrap is a retransmission */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 0xfffffffbu, ACK, "abcd", 4,
	    &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 0x00000005u, ACK, "k", 1,
	    &v), 1);
	assert_int_equal(v.len, 11);
	done(s, st);
}

static void
test_depth(void **unused)
{
	struct pk_streams *s = mk(100, 1 << 20, 32);
	struct pk_stream_view v;
	uint8_t buf[150];
	void *st = NULL;
	int i;

	(void)unused;
	for (i = 0; i < 150; i++)
		buf[i] = (uint8_t)i;
	feed(s, &st, PK_DIR_FWD, 500, PK_TH_SYN, NULL, 0, &v);
	/* held beyond depth: dropped, never held */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 501 + 120, ACK, buf, 10, &v),
	    0);
	assert_int_equal(pk_streams_stats(s)->segments_ooo, 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 501, ACK, buf, 60, &v), 1);
	assert_int_equal(v.full, 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 561, ACK, buf + 60, 90, &v),
	    1);
	assert_int_equal(v.len, 100);
	assert_int_equal(v.new_off, 60);
	assert_int_equal(v.full, 1);
	assert_memory_equal(v.data, buf, 100);
	assert_int_equal(pk_streams_stats(s)->depth_reached, 1);
	assert_int_equal(pk_streams_stats(s)->bytes, 100);
	/* nothing more comes */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 651, ACK, buf, 10, &v), 0);
	/* the buffer never grew past depth */
	assert_true(pk_streams_stats(s)->mem < 100 + 512);
	done(s, st);
}

static void
test_max_segments(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 2);
	struct pk_stream_view v;
	void *st = NULL;

	(void)unused;
	feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 3, ACK, "cc", 2, &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 5, ACK, "dd", 2, &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 7, ACK, "ee", 2, &v), 0);
	assert_int_equal(pk_streams_stats(s)->segments_ooo, 2);
	assert_int_equal(pk_streams_stats(s)->ooo_dropped, 1);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1, ACK, "bb", 2, &v), 1);
	assert_int_equal(v.len, 6);
	assert_memory_equal(v.data, "bbccdd", 6);
	/* the dropped segment's retransmission is in order now */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 7, ACK, "ee", 2, &v), 1);
	assert_int_equal(v.len, 8);
	done(s, st);
}

static void
test_max_segments_zero(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 0);
	struct pk_stream_view v;
	void *st = NULL;

	(void)unused;
	feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 3, ACK, "cc", 2, &v), 0);
	assert_int_equal(pk_streams_stats(s)->ooo_dropped, 1);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1, ACK, "bb", 2, &v), 1);
	assert_int_equal(v.len, 2);
	done(s, st);
}

static void
test_memcap(void **unused)
{
	struct pk_streams *s = mk(65536, 1000, 32);
	struct pk_stream_view v;
	void *st = NULL, *st2 = NULL;

	(void)unused;
	/* the state fits, the first buffer (2 KiB) does not */
	feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	assert_non_null(st);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1, ACK, "data", 4, &v), 0);
	assert_int_equal(pk_streams_stats(s)->memcap_refused, 1);
	assert_int_equal(pk_streams_stats(s)->streams, 0);
	/* refused once: the direction stays stopped, not re-counted */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 5, ACK, "more", 4, &v), 0);
	assert_int_equal(pk_streams_stats(s)->memcap_refused, 1);
	pk_stream_release(s, st);
	assert_int_equal(pk_streams_stats(s)->mem, 0);
	pk_streams_free(s);

	/* no room even for the state: a sentinel, counted once */
	s = mk(65536, 8, 32);
	assert_int_equal(feed(s, &st2, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v),
	    0);
	assert_non_null(st2);
	assert_int_equal(feed(s, &st2, PK_DIR_FWD, 1, ACK, "x", 1, &v), 0);
	assert_int_equal(pk_streams_stats(s)->memcap_refused, 1);
	done(s, st2);

	/* memcap shared: a second flow is refused its buffer */
	s = mk(65536, 2048 + 2 * 256, 32);
	st = st2 = NULL;
	feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1, ACK, "a", 1, &v), 1);
	feed(s, &st2, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	assert_int_equal(feed(s, &st2, PK_DIR_FWD, 1, ACK, "b", 1, &v), 0);
	assert_int_equal(pk_streams_stats(s)->memcap_refused, 1);
	assert_true(pk_streams_stats(s)->mem <= 2048 + 2 * 256);
	pk_stream_release(s, st2);
	done(s, st);
}

static void
test_midstream(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	void *st = NULL;

	(void)unused;
	assert_int_equal(feed(s, &st, PK_DIR_REV, 5000, ACK, "world", 5, &v),
	    1);
	assert_int_equal(v.gap, 1);
	assert_int_equal(v.len, 5);
	assert_memory_equal(v.data, "world", 5);
	/* bytes from before the pickup are old */
	assert_int_equal(feed(s, &st, PK_DIR_REV, 4995, ACK, "hello", 5, &v),
	    0);
	assert_int_equal(feed(s, &st, PK_DIR_REV, 5005, ACK, "!", 1, &v), 1);
	assert_int_equal(v.len, 6);
	assert_int_equal(v.gap, 1);
	done(s, st);
}

static void
test_zero_length(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	void *st = NULL;

	(void)unused;
	/* pure ACKs of a flow we joined late allocate nothing */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 77, ACK, NULL, 0, &v), 0);
	assert_null(st);
	assert_int_equal(pk_streams_stats(s)->mem, 0);
	feed(s, &st, PK_DIR_FWD, 77, PK_TH_SYN, NULL, 0, &v);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 78, ACK, "", 0, &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 78, ACK, "ab", 2, &v), 1);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 80, ACK, NULL, 0, &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 80, ACK, "c", 1, &v), 1);
	assert_int_equal(v.len, 3);
	done(s, st);
}

static void
test_syn_data(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	void *st = NULL;

	(void)unused;
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 100, PK_TH_SYN, "tfo", 3,
	    &v), 1);
	assert_int_equal(v.len, 3);
	assert_int_equal(v.gap, 0);
	assert_memory_equal(v.data, "tfo", 3);
	/* a retransmitted SYN changes nothing */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 100, PK_TH_SYN, "tfo", 3,
	    &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 104, ACK, "+", 1, &v), 1);
	assert_memory_equal(v.data, "tfo+", 4);
	done(s, st);
}

static void
test_fin_gives_up_gap(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	void *st = NULL;

	(void)unused;
	feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	feed(s, &st, PK_DIR_FWD, 1, ACK, "head", 4, &v);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 10, ACK, "tail", 4, &v), 0);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 20, ACK, "end", 3, &v), 0);
	/* FIN (itself in order, no data): both holes are given up */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 5, PK_TH_FIN | ACK, NULL, 0,
	    &v), 1);
	assert_int_equal(v.gap, 1);
	assert_int_equal(v.new_off, 0);
	assert_int_equal(v.len, 7);
	assert_memory_equal(v.data, "tailend", 7);
	assert_int_equal(pk_streams_stats(s)->gaps, 2);
	/* a late copy of the hole is old now */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 5, ACK, "xxxxx", 5, &v), 0);
	done(s, st);
}

static void
test_rst_with_data(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	void *st = NULL;

	(void)unused;
	feed(s, &st, PK_DIR_REV, 0, PK_TH_SYN | ACK, NULL, 0, &v);
	assert_int_equal(feed(s, &st, PK_DIR_REV, 10, ACK, "later", 5, &v), 0);
	/* RST with in-order data: its bytes stay, the run after the hole
	 * is joined to them so neither goes uninspected */
	assert_int_equal(feed(s, &st, PK_DIR_REV, 1, PK_TH_RST | ACK, "ab", 2,
	    &v), 1);
	assert_int_equal(v.gap, 1);
	assert_int_equal(v.new_off, 0);
	assert_int_equal(v.len, 7);
	assert_memory_equal(v.data, "ablater", 7);
	assert_int_equal(pk_streams_stats(s)->gaps, 1);
	assert_int_equal(pk_streams_stats(s)->bytes, 7);
	done(s, st);
}

static void
test_release_with_held(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	void *st = NULL;
	uint64_t held;

	(void)unused;
	feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	feed(s, &st, PK_DIR_FWD, 50, ACK, "zzzz", 4, &v);
	feed(s, &st, PK_DIR_REV, 9, ACK, "qq", 2, &v);
	held = pk_streams_stats(s)->mem;
	assert_true(held > 0);
	pk_stream_release(s, NULL);	/* NULL is fine */
	assert_int_equal(pk_streams_stats(s)->mem, held);
	done(s, st);
}

/* States never released are freed with the reassembler (ASan: no leak). */
static void
test_free_unreleased(void **unused)
{
	struct pk_streams *s = mk(65536, 1 << 20, 32);
	struct pk_stream_view v;
	void *a = NULL, *b = NULL;

	(void)unused;
	feed(s, &a, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	feed(s, &a, PK_DIR_FWD, 9, ACK, "held", 4, &v);
	feed(s, &b, PK_DIR_REV, 0, ACK, "data", 4, &v);
	feed(s, &b, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	pk_stream_release(s, b);
	assert_true(pk_streams_stats(s)->mem > 0);
	pk_streams_free(s);
}

/*
 * A long stream grows its buffer geometrically, never past depth; once
 * depth is reached the buffer is freed at the flow's next packet.
 */
static void
test_growth(void **unused)
{
	struct pk_streams *s = mk(100000, 1 << 20, 32);
	struct pk_stream_view v, w;
	uint8_t chunk[1000];
	uint64_t mem0, prev = 0, grows = 0, peak = 0;
	void *st = NULL;
	uint32_t seq = 1;
	int i;

	(void)unused;
	memset(chunk, 'a', sizeof(chunk));
	feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	mem0 = pk_streams_stats(s)->mem;
	for (i = 0; i < 120; i++, seq += sizeof(chunk)) {
		if (feed(s, &st, PK_DIR_FWD, seq, ACK, chunk, sizeof(chunk),
		    &w))
			v = w;
		if (pk_streams_stats(s)->mem != prev)
			grows++;
		prev = pk_streams_stats(s)->mem;
		peak = PK_MAX(peak, prev);
	}
	assert_int_equal(v.len, 100000);
	assert_int_equal(v.full, 1);
	assert_int_equal(peak - mem0, 100000);
	assert_int_equal(pk_streams_stats(s)->mem_peak, peak);
	/* 2K, 4K, ... 64K, then depth: 7 steps, not 100; then freed */
	assert_true(grows <= 9);
	assert_int_equal(pk_streams_stats(s)->mem, mem0);
	assert_int_equal(pk_streams_stats(s)->closed, 1);
	done(s, st);
}

/*
 * FIN ends a direction: its buffer is freed at the flow's next packet
 * (the view of the FIN packet stays valid until then), nothing after the
 * FIN is kept, and the other direction goes on.  Many conversations that
 * end one after another fit a memcap sized for one.
 */
static void
test_fin_frees(void **unused)
{
	struct pk_streams *s = mk(65536, 2 * (2048 + 256) + 512, 32);
	struct pk_stream_view v, r;
	void *st = NULL;
	uint64_t mem0;
	int i;

	(void)unused;
	feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	feed(s, &st, PK_DIR_REV, 100, PK_TH_SYN | ACK, NULL, 0, &r);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1, ACK, "req", 3, &v), 1);
	assert_non_null(v.scan);
	/* the matcher's pending list is counted, bounded, freed with it */
	mem0 = pk_streams_stats(s)->mem;
	assert_int_equal(pk_stream_scan_reserve(v.scan, 3), 0);
	assert_int_equal(pk_streams_stats(s)->mem - mem0, 8 * sizeof(uint32_t));
	assert_int_equal(pk_stream_scan_reserve(v.scan, PK_STREAM_SCAN_MAX + 1),
	    -1);
	assert_int_equal(pk_stream_scan_reserve(v.scan, 1000000), -1);
	assert_int_equal(pk_streams_stats(s)->scan_refused, 2);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 4, PK_TH_FIN | ACK, "!", 1,
	    &v), 1);
	assert_int_equal(v.full, 1);
	assert_memory_equal(v.data, "req!", 4);	/* still valid */
	assert_int_equal(pk_streams_stats(s)->closed, 0);
	/* the next packet of the flow frees the finished direction */
	assert_int_equal(feed(s, &st, PK_DIR_REV, 101, ACK, "resp", 4, &r), 1);
	assert_memory_equal(r.data, "resp", 4);
	assert_int_equal(pk_streams_stats(s)->closed, 1);
	/* FWD buffer and pending list freed, REV buffer taken */
	assert_int_equal(pk_streams_stats(s)->mem, mem0);
	/* data after the FIN is not kept */
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 5, ACK, "late", 4, &v), 0);
	pk_stream_release(s, st);
	assert_int_equal(pk_streams_stats(s)->mem, 0);

	/* 100 conversations in turn, each closed by FIN both ways; half
	 * stay in the flow table (closed timeout): their states stay, but
	 * not their 2 KiB buffers, else they would need 200 KiB */
	pk_streams_free(s);
	s = mk(65536, 4 * 2048 + 50 * 512, 32);
	for (i = 0; i < 100; i++) {
		st = NULL;
		feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
		feed(s, &st, PK_DIR_REV, 100, PK_TH_SYN | ACK, NULL, 0, &r);
		assert_int_equal(feed(s, &st, PK_DIR_FWD, 1, ACK, "req", 3,
		    &v), 1);
		assert_int_equal(feed(s, &st, PK_DIR_REV, 101,
		    PK_TH_FIN | ACK, "resp", 4, &r), 1);
		assert_int_equal(feed(s, &st, PK_DIR_FWD, 4,
		    PK_TH_FIN | ACK, NULL, 0, &v), 0);
		if (i % 2 == 0)
			pk_stream_release(s, st);
		else
			assert_int_equal(feed(s, &st, PK_DIR_REV, 105, ACK,
			    NULL, 0, &r), 0);
	}
	assert_int_equal(pk_streams_stats(s)->memcap_refused, 0);

	/* RST aborts both directions: both buffers go at once (no view
	 * shows them), the flow stays in its table, and data after the
	 * RST is not kept in either direction */
	st = NULL;
	feed(s, &st, PK_DIR_FWD, 0, PK_TH_SYN, NULL, 0, &v);
	feed(s, &st, PK_DIR_REV, 100, PK_TH_SYN | ACK, NULL, 0, &r);
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 1, ACK, "req", 3, &v), 1);
	assert_int_equal(feed(s, &st, PK_DIR_REV, 101, ACK, "resp", 4, &r),
	    1);
	mem0 = pk_streams_stats(s)->closed;
	assert_int_equal(feed(s, &st, PK_DIR_FWD, 4, PK_TH_RST | ACK, NULL, 0,
	    &v), 0);
	assert_int_equal(pk_streams_stats(s)->closed - mem0, 2);
	assert_int_equal(feed(s, &st, PK_DIR_REV, 105, ACK, "more", 4, &r),
	    0);
	pk_streams_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reversed),
		cmocka_unit_test(test_permutations),
		cmocka_unit_test(test_retransmit_differs),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_max_segments),
		cmocka_unit_test(test_max_segments_zero),
		cmocka_unit_test(test_memcap),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_zero_length),
		cmocka_unit_test(test_syn_data),
		cmocka_unit_test(test_fin_gives_up_gap),
		cmocka_unit_test(test_rst_with_data),
		cmocka_unit_test(test_release_with_held),
		cmocka_unit_test(test_free_unreleased),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_fin_frees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
