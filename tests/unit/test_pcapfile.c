/*
 * test_pcapfile.c - unit tests for the capture-file reader
 * (collectors/pcap/pcapfile.c).  Tiny pcap and pcapng files are crafted
 * here byte by byte (each byte order, microsecond and nanosecond magic,
 * several pcapng interfaces with their own link types, if_tsresol and
 * if_tsoffset, every packet block type, skipped blocks, a second section
 * in the other byte order) and every refusal is checked with its message.
 * The shared sample captures are then read through the file path and
 * compared with what libpcap 1.10 reads from them (frame count, byte
 * totals, first and last timestamp, CRC-32C of all captured bytes; the
 * table was made with pcap_open_offline_with_tstamp_precision(MICRO)).
 * Portable: it runs under wine too.  Env: PICKET_PCAPS (default
 * ../shared/data/pcaps).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/pcapfile.h"
#include "common/crc32c.h"

/* ---- a byte builder for fixtures ----------------------------------------- */

struct fx {
	uint8_t	b[4096];
	size_t	n;
	int	be;	/* big-endian fields */
};

static void
put8(struct fx *x, uint8_t v)
{
	assert_true(x->n < sizeof(x->b));
	x->b[x->n++] = v;
}

static void
put16(struct fx *x, uint16_t v)
{
	if (x->be) {
		put8(x, (uint8_t)(v >> 8));
		put8(x, (uint8_t)v);
	} else {
		put8(x, (uint8_t)v);
		put8(x, (uint8_t)(v >> 8));
	}
}

static void
put32(struct fx *x, uint32_t v)
{
	if (x->be) {
		put16(x, (uint16_t)(v >> 16));
		put16(x, (uint16_t)v);
	} else {
		put16(x, (uint16_t)v);
		put16(x, (uint16_t)(v >> 16));
	}
}

static void
putbytes(struct fx *x, const void *p, size_t n)
{
	assert_true(n <= sizeof(x->b) - x->n);
	memcpy(x->b + x->n, p, n);
	x->n += n;
}

static void
pad4(struct fx *x)
{
	while (x->n % 4 != 0)
		put8(x, 0);
}

static void
set32(struct fx *x, size_t at, uint32_t v)
{
	size_t n = x->n;

	x->n = at;
	put32(x, v);
	x->n = n;
}

/* Classic header; magic written in the builder's byte order. */
static void
pcap_hdr(struct fx *x, uint32_t magic, uint16_t minor, uint32_t snaplen,
    uint32_t linktype)
{
	put32(x, magic);
	put16(x, 2);
	put16(x, minor);
	put32(x, 0);
	put32(x, 0);
	put32(x, snaplen);
	put32(x, linktype);
}

static void
pcap_rec(struct fx *x, uint32_t sec, uint32_t frac, uint32_t caplen,
    uint32_t wirelen, const void *data, size_t datalen)
{
	put32(x, sec);
	put32(x, frac);
	put32(x, caplen);
	put32(x, wirelen);
	putbytes(x, data, datalen);
}

/* pcapng block: opens with type and a length patched by ng_end(). */
static size_t
ng_begin(struct fx *x, uint32_t type)
{
	size_t at = x->n;

	put32(x, type);
	put32(x, 0);
	return at;
}

static void
ng_end(struct fx *x, size_t at)
{
	uint32_t len;

	pad4(x);
	len = (uint32_t)(x->n - at + 4);
	put32(x, len);
	set32(x, at + 4, len);
}

static void
ng_shb(struct fx *x)
{
	size_t at = ng_begin(x, 0x0a0d0d0a);

	put32(x, 0x1a2b3c4d);
	put16(x, 1);
	put16(x, 0);
	put32(x, 0xffffffff);	/* section length: unknown */
	put32(x, 0xffffffff);
	ng_end(x, at);
}

/* IDB; tsresol < 0: none; tsoffset written when nonzero. */
static void
ng_idb(struct fx *x, uint16_t linktype, uint32_t snaplen, int tsresol,
    int64_t tsoffset)
{
	size_t at = ng_begin(x, 1);

	put16(x, linktype);
	put16(x, 0);
	put32(x, snaplen);
	if (tsresol >= 0) {
		put16(x, 9);
		put16(x, 1);
		put8(x, (uint8_t)tsresol);
		pad4(x);
	}
	if (tsoffset != 0) {
		uint64_t u = (uint64_t)tsoffset;

		put16(x, 14);
		put16(x, 8);
		if (x->be) {
			put32(x, (uint32_t)(u >> 32));
			put32(x, (uint32_t)u);
		} else {
			put32(x, (uint32_t)u);
			put32(x, (uint32_t)(u >> 32));
		}
	}
	put16(x, 0);	/* opt_endofopt */
	put16(x, 0);
	ng_end(x, at);
}

static void
ng_epb(struct fx *x, uint32_t ifid, uint64_t ts, uint32_t caplen,
    uint32_t wirelen, const void *data, size_t datalen)
{
	size_t at = ng_begin(x, 6);

	put32(x, ifid);
	put32(x, (uint32_t)(ts >> 32));
	put32(x, (uint32_t)ts);
	put32(x, caplen);
	put32(x, wirelen);
	putbytes(x, data, datalen);
	ng_end(x, at);
}

static void
ng_spb(struct fx *x, uint32_t wirelen, const void *data, size_t datalen)
{
	size_t at = ng_begin(x, 3);

	put32(x, wirelen);
	putbytes(x, data, datalen);
	ng_end(x, at);
}

static void
ng_opb(struct fx *x, uint16_t ifid, uint64_t ts, uint32_t caplen,
    uint32_t wirelen, const void *data, size_t datalen)
{
	size_t at = ng_begin(x, 2);

	put16(x, ifid);
	put16(x, 0);	/* drops */
	put32(x, (uint32_t)(ts >> 32));
	put32(x, (uint32_t)ts);
	put32(x, caplen);
	put32(x, wirelen);
	putbytes(x, data, datalen);
	ng_end(x, at);
}

/* A block of a type the reader skips (e.g. 4 = name resolution). */
static void
ng_other(struct fx *x, uint32_t type, size_t body)
{
	size_t at = ng_begin(x, type), i;

	for (i = 0; i < body; i++)
		put8(x, (uint8_t)i);
	ng_end(x, at);
}

static struct pk_pcapfile *
open_fx(const struct fx *x)
{
	char err[PK_PCAPFILE_ERRLEN];
	struct pk_pcapfile *f = pk_pcapfile_open_mem(x->b, x->n, err,
	    sizeof(err));

	if (f == NULL)
		fail_msg("open: %s", err);
	return f;
}

/* Open must fail with a message containing want. */
static void
open_fails(const struct fx *x, const char *want)
{
	char err[PK_PCAPFILE_ERRLEN] = "";
	struct pk_pcapfile *f = pk_pcapfile_open_mem(x->b, x->n, err,
	    sizeof(err));

	if (f != NULL) {
		pk_pcapfile_close(f);
		fail_msg("open succeeded, wanted \"%s\"", want);
	}
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static const uint8_t frame_a[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    1, 2, 3, 4, 5, 6, 0x08, 0x00 };
static const uint8_t frame_b[7] = { 0x45, 0, 0, 20, 0xaa, 0xbb, 0xcc };

/* ---- classic pcap ---------------------------------------------------------- */

static void
classic_both_orders(int be)
{
	struct fx x = { .be = be };
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;

	pcap_hdr(&x, 0xa1b2c3d4, 4, 65535, 1);
	pcap_rec(&x, 1700000000, 999999, 14, 60, frame_a, 14);
	pcap_rec(&x, 1700000001, 5, 7, 7, frame_b, 7);
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_format(f), PK_PCAPFILE_PCAP);
	assert_int_equal(pk_pcapfile_linktype(f), 1);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(r.linktype, 1);
	assert_int_equal(r.caplen, 14);
	assert_int_equal(r.wirelen, 60);
	assert_true(r.ts_us == 1700000000999999ULL);
	assert_memory_equal(r.data, frame_a, 14);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_true(r.ts_us == 1700000001000005ULL);
	assert_int_equal(r.caplen, 7);
	assert_memory_equal(r.data, frame_b, 7);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_EOF);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_EOF);
	assert_string_equal(pk_pcapfile_error(f), "");
	assert_true(pk_pcapfile_stats(f)->records == 2);
	pk_pcapfile_close(f);
}

static void
test_classic_le(void **state)
{
	(void)state;
	classic_both_orders(0);
}

static void
test_classic_be(void **state)
{
	(void)state;
	classic_both_orders(1);
}

/* Nanosecond magic: truncated to microseconds, as libpcap does. */
static void
test_classic_nanos(void **state)
{
	struct fx x = { .be = 1 };
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;

	(void)state;
	pcap_hdr(&x, 0xa1b23c4d, 4, 0, 101);
	pcap_rec(&x, 10, 123456789, 7, 7, frame_b, 7);
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_linktype(f), 101);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_true(r.ts_us == 10123456ULL);
	assert_int_equal(r.linktype, 101);
	pk_pcapfile_close(f);
}

/* FCS bits above the link type are not part of it. */
static void
test_classic_linktype_fcs_bits(void **state)
{
	struct fx x = { 0 };
	struct pk_pcapfile *f;

	(void)state;
	pcap_hdr(&x, 0xa1b2c3d4, 4, 65535, 0x14000000u | 1);
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_linktype(f), 1);
	pk_pcapfile_close(f);
}

/* Kuznetzov's patched format: 8 more bytes in each record header. */
static void
test_classic_kuznetzov(void **state)
{
	struct fx x = { 0 };
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;

	(void)state;
	pcap_hdr(&x, 0xa1b2cd34, 4, 65535, 1);
	put32(&x, 7);
	put32(&x, 8);
	put32(&x, 14);
	put32(&x, 14);
	put32(&x, 2);		/* ifindex */
	put16(&x, 0x0800);	/* protocol */
	put8(&x, 0);		/* pkt_type */
	put8(&x, 0);
	putbytes(&x, frame_a, 14);
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_true(r.ts_us == 7000008ULL);
	assert_memory_equal(r.data, frame_a, 14);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_EOF);
	pk_pcapfile_close(f);
}

/* Version 2.2 wrote caplen and len the other way round. */
static void
test_classic_old_swapped_lengths(void **state)
{
	struct fx x = { 0 };
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;

	(void)state;
	pcap_hdr(&x, 0xa1b2c3d4, 2, 65535, 1);
	pcap_rec(&x, 1, 0, 60, 14, frame_a, 14);	/* len, caplen */
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(r.caplen, 14);
	assert_int_equal(r.wirelen, 60);
	pk_pcapfile_close(f);
}

/* A record longer than the file's snapshot is cut to it and counted. */
static void
test_classic_caplen_over_snaplen(void **state)
{
	struct fx x = { 0 };
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;

	(void)state;
	pcap_hdr(&x, 0xa1b2c3d4, 4, 10, 1);
	pcap_rec(&x, 1, 0, 14, 14, frame_a, 14);
	pcap_rec(&x, 2, 0, 7, 7, frame_b, 7);
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(r.caplen, 10);
	assert_int_equal(r.wirelen, 14);
	assert_memory_equal(r.data, frame_a, 10);
	/* the cut bytes were skipped: the next record is intact */
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_memory_equal(r.data, frame_b, 7);
	assert_true(pk_pcapfile_stats(f)->cut_to_snaplen == 1);
	pk_pcapfile_close(f);
}

static void
test_classic_caplen_too_big(void **state)
{
	struct fx x = { 0 };
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;

	(void)state;
	pcap_hdr(&x, 0xa1b2c3d4, 4, 65535, 1);
	pcap_rec(&x, 1, 0, PK_PCAPFILE_MAX_SNAP + 1, 14, frame_a, 14);
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_ERROR);
	assert_non_null(strstr(pk_pcapfile_error(f),
	    "invalid packet capture length 262145"));
	/* nothing is read after an error */
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_EOF);
	pk_pcapfile_close(f);
}

/* The last record cut short, in its header or in its data. */
static void
test_classic_truncated(void **state)
{
	struct fx x = { 0 };
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;
	size_t full;

	(void)state;
	pcap_hdr(&x, 0xa1b2c3d4, 4, 65535, 1);
	pcap_rec(&x, 1, 0, 7, 7, frame_b, 7);
	full = x.n;
	pcap_rec(&x, 2, 0, 14, 14, frame_a, 14);

	x.n = full + 20;	/* 4 of 14 data bytes */
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_TRUNCATED);
	assert_string_equal(pk_pcapfile_error(f),
	    "truncated packet data: 4 of 14 bytes");
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_EOF);
	pk_pcapfile_close(f);

	x.n = full + 9;		/* 9 of 16 header bytes */
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_TRUNCATED);
	assert_string_equal(pk_pcapfile_error(f),
	    "truncated record header: 9 of 16 bytes");
	pk_pcapfile_close(f);
}

static void
test_bad_headers(void **state)
{
	struct fx x = { 0 };
	char err[PK_PCAPFILE_ERRLEN] = "";

	(void)state;
	open_fails(&x, "empty file");
	putbytes(&x, "\xd4\xc3", 2);
	open_fails(&x, "file too short");
	x.n = 0;
	putbytes(&x, "GET / HTTP/1.1\r\n", 16);
	open_fails(&x, "unknown file format (magic 0x20544547)");
	x.n = 0;
	pcap_hdr(&x, 0xa1b2c3d4, 4, 65535, 1);
	x.n = 20;
	open_fails(&x, "truncated pcap file header: 20 of 24 bytes");
	x.n = 0;
	put32(&x, 0xa1b2c3d4);
	put16(&x, 3);
	put16(&x, 0);
	put32(&x, 0); put32(&x, 0); put32(&x, 65535); put32(&x, 1);
	open_fails(&x, "unsupported pcap version 3.0");
	assert_null(pk_pcapfile_open("no/such/file.pcap", err, sizeof(err)));
	assert_non_null(strstr(err, "no/such/file.pcap: "));
}

/* ---- pcapng -------------------------------------------------------------- */

/*
 * Three interfaces: Ethernet in microseconds (the default), raw IP in
 * nanoseconds with a 100 s offset, and Linux SLL in 2^-10 s ticks with a
 * 16-byte snapshot.  Every packet block type, and skipped blocks between.
 */
static void
build_multi(struct fx *x)
{
	uint8_t big[20];

	memset(big, 0x5a, sizeof(big));
	ng_shb(x);
	ng_other(x, 0x00000bad, 5);		/* custom, before any IDB */
	ng_idb(x, 1, 0, -1, 0);
	ng_idb(x, 101, 65535, 9, 100);
	ng_idb(x, 113, 16, 0x80 | 10, 0);
	ng_epb(x, 0, 1700000000123456ULL, 14, 64, frame_a, 14);
	ng_other(x, 4, 12);			/* name resolution */
	ng_epb(x, 1, 1700000000987654321ULL, 7, 7, frame_b, 7);
	ng_epb(x, 2, (3ULL << 10) | 512, 20, 99, big, 20);
	ng_other(x, 5, 20);			/* interface statistics */
	ng_spb(x, 9, frame_a, 9);
	ng_opb(x, 1, 5000000001ULL, 7, 8, frame_b, 7);
}

static void
check_multi(struct fx *x)
{
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;
	const struct pk_pcapfile_stats *st;

	f = open_fx(x);
	assert_int_equal(pk_pcapfile_format(f), PK_PCAPFILE_PCAPNG);
	assert_int_equal(pk_pcapfile_linktype(f), 1);

	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(r.ifindex, 0);
	assert_int_equal(r.linktype, 1);
	assert_true(r.ts_us == 1700000000123456ULL);
	assert_int_equal(r.caplen, 14);
	assert_int_equal(r.wirelen, 64);
	assert_memory_equal(r.data, frame_a, 14);

	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(r.ifindex, 1);
	assert_int_equal(r.linktype, 101);
	/* ns truncated to us, plus the 100 s if_tsoffset */
	assert_true(r.ts_us == 1700000100987654ULL);
	assert_memory_equal(r.data, frame_b, 7);

	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(r.linktype, 113);
	assert_true(r.ts_us == 3500000ULL);	/* 3 s + 512/1024 */
	assert_int_equal(r.caplen, 16);		/* cut to the snapshot */
	assert_int_equal(r.wirelen, 99);

	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(r.ifindex, 0);		/* SPB: interface 0 */
	assert_true(r.ts_us == 0);
	assert_int_equal(r.caplen, 9);
	assert_int_equal(r.wirelen, 9);
	assert_memory_equal(r.data, frame_a, 9);

	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(r.linktype, 101);	/* OPB on interface 1 */
	assert_true(r.ts_us == 105000000ULL);	/* 5.000000001 s + 100 */
	assert_int_equal(r.wirelen, 8);

	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_EOF);
	st = pk_pcapfile_stats(f);
	assert_true(st->records == 5);
	assert_true(st->blocks_skipped == 3);
	assert_true(st->cut_to_snaplen == 1);
	assert_int_equal(st->interfaces, 3);
	assert_int_equal(st->sections, 1);
	pk_pcapfile_close(f);
}

/*
 * Negative if_tsoffset: a packet before the epoch clamps to 0, and the
 * most negative offset (INT64_MIN, whose negation does not fit an
 * int64_t) is handled without undefined behaviour (a fuzzer found it;
 * UBSan in `make check` would stop here if it came back).
 */
static void
test_ng_negative_tsoffset(void **state)
{
	struct fx x = { 0 };
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;

	(void)state;
	ng_shb(&x);
	ng_idb(&x, 1, 0, -1, -100);
	ng_idb(&x, 1, 0, -1, INT64_MIN);
	ng_epb(&x, 0, 1700000000123456ULL, 14, 14, frame_a, 14);
	ng_epb(&x, 0, 50000000ULL, 14, 14, frame_a, 14);
	ng_epb(&x, 1, 1700000000123456ULL, 14, 14, frame_a, 14);
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_true(r.ts_us == 1699999900123456ULL);	/* 100 s earlier */
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_true(r.ts_us == 0);		/* 50 s - 100 s: clamped */
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_true(r.ts_us == 123456);		/* seconds clamped, not µs */
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_EOF);
	pk_pcapfile_close(f);
}

static void
test_ng_multi_le(void **state)
{
	struct fx x = { 0 };

	(void)state;
	build_multi(&x);
	check_multi(&x);
}

static void
test_ng_multi_be(void **state)
{
	struct fx x = { .be = 1 };

	(void)state;
	build_multi(&x);
	check_multi(&x);
}

/* A second section in the other byte order: its own interfaces. */
static void
test_ng_two_sections(void **state)
{
	struct fx x = { 0 };
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;

	(void)state;
	ng_shb(&x);
	ng_idb(&x, 1, 0, -1, 0);
	ng_epb(&x, 0, 1, 14, 14, frame_a, 14);
	x.be = 1;
	ng_shb(&x);
	ng_idb(&x, 101, 0, 3, 0);	/* milliseconds */
	ng_epb(&x, 0, 1234, 7, 7, frame_b, 7);
	ng_epb(&x, 1, 1, 7, 7, frame_b, 7);	/* only one IDB here */
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(r.linktype, 1);
	assert_true(r.ts_us == 1);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(r.linktype, 101);
	assert_true(r.ts_us == 1234000ULL);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_ERROR);
	assert_string_equal(pk_pcapfile_error(f), "a packet arrived on "
	    "interface 1, but there's no Interface Description Block for "
	    "that interface");
	assert_int_equal(pk_pcapfile_stats(f)->sections, 2);
	pk_pcapfile_close(f);
}

/* Reading x to its end must stop with want_rc, want in the message. */
static void
ng_next_fails(struct fx *x, int want_rc, const char *want)
{
	struct pk_pcapfile *f = open_fx(x);
	struct pk_pcapfile_rec r;
	int rc;

	while ((rc = pk_pcapfile_next(f, &r)) == PK_PCAPFILE_OK)
		;
	assert_int_equal(rc, want_rc);
	if (strstr(pk_pcapfile_error(f), want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", pk_pcapfile_error(f),
		    want);
	pk_pcapfile_close(f);
}

static void
test_ng_bad_blocks(void **state)
{
	struct fx x = { 0 };
	size_t at;

	(void)state;
	/* trailing length differs */
	ng_shb(&x);
	ng_idb(&x, 1, 0, -1, 0);
	at = x.n;
	ng_epb(&x, 0, 1, 14, 14, frame_a, 14);
	set32(&x, x.n - 4, 999);
	ng_next_fails(&x, PK_PCAPFILE_ERROR, "trailing length 999 differs");

	/* length not a multiple of four, and too small */
	x.n = at;
	ng_epb(&x, 0, 1, 14, 14, frame_a, 14);
	set32(&x, at + 4, 45);
	ng_next_fails(&x, PK_PCAPFILE_ERROR, "invalid length 45");
	set32(&x, at + 4, 8);
	ng_next_fails(&x, PK_PCAPFILE_ERROR, "invalid length 8");

	/* over the block size bound: refused before any allocation */
	set32(&x, at + 4, PK_PCAPFILE_MAX_BLOCK + 4);
	ng_next_fails(&x, PK_PCAPFILE_ERROR, "more than the maximum");
}

static void
test_ng_bad_packets(void **state)
{
	struct fx x = { 0 };
	size_t at;

	(void)state;
	ng_shb(&x);
	ng_idb(&x, 1, 0, -1, 0);
	at = x.n;
	/* caplen 200 in a block that holds 16 bytes of packet */
	ng_epb(&x, 0, 1, 200, 200, frame_a, 14);
	ng_next_fails(&x, PK_PCAPFILE_ERROR, "captured length 200 is more "
	    "than the 16 bytes the block holds");

	x.n = at;
	ng_epb(&x, 7, 1, 14, 14, frame_a, 14);
	ng_next_fails(&x, PK_PCAPFILE_ERROR, "interface 7, but there's no "
	    "Interface Description Block");

	/* SPB whose packet is longer than the block */
	x.n = at;
	ng_spb(&x, 40, frame_a, 14);
	ng_next_fails(&x, PK_PCAPFILE_ERROR, "simple packet block: 40 bytes");

	/* a packet block too short for its fixed fields */
	x.n = at;
	at = ng_begin(&x, 6);
	put32(&x, 0);
	ng_end(&x, at);
	ng_next_fails(&x, PK_PCAPFILE_ERROR, "packet block too short");
}

static void
test_ng_bad_options(void **state)
{
	struct fx x = { 0 };
	size_t at;

	(void)state;
	/* an option longer than what is left of the block */
	ng_shb(&x);
	at = ng_begin(&x, 1);
	put16(&x, 1);
	put16(&x, 0);
	put32(&x, 0);
	put16(&x, 2);		/* if_name */
	put16(&x, 200);
	put32(&x, 0x41414141);
	ng_end(&x, at);
	open_fails(&x, "option 2 is 200 bytes, past the end");

	/* if_tsresol out of range, and of the wrong size */
	x.n = 0;
	ng_shb(&x);
	ng_idb(&x, 1, 0, 20, 0);
	open_fails(&x, "if_tsresol 10^-20 is out of range");
	x.n = 0;
	ng_shb(&x);
	ng_idb(&x, 1, 0, 0x80 | 64, 0);
	open_fails(&x, "if_tsresol 2^-64 is out of range");
	x.n = 0;
	ng_shb(&x);
	at = ng_begin(&x, 1);
	put16(&x, 1);
	put16(&x, 0);
	put32(&x, 0);
	put16(&x, 9);
	put16(&x, 2);
	put32(&x, 0);
	ng_end(&x, at);
	open_fails(&x, "if_tsresol has length 2");
}

static void
test_ng_bad_sections(void **state)
{
	struct fx x = { 0 };
	size_t at;

	(void)state;
	ng_shb(&x);
	set32(&x, 8, 0x11223344);
	open_fails(&x, "bad byte-order magic 0x11223344");

	x.n = 0;
	ng_shb(&x);
	open_fails(&x, "has no Interface Description Blocks");

	x.n = 0;
	ng_shb(&x);
	ng_epb(&x, 0, 1, 14, 14, frame_a, 14);
	open_fails(&x, "packet block before any Interface Description");

	x.n = 0;
	at = ng_begin(&x, 0x0a0d0d0a);
	put32(&x, 0x1a2b3c4d);
	put16(&x, 2);
	put16(&x, 0);
	put32(&x, 0);
	put32(&x, 0);
	ng_end(&x, at);
	open_fails(&x, "unsupported pcapng version 2.0");

	x.n = 0;
	ng_shb(&x);
	x.n -= 10;
	open_fails(&x, "truncated pcapng block");
}

/* The last block cut short: counted as truncated, not a hard error. */
static void
test_ng_truncated(void **state)
{
	struct fx x = { 0 };
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;

	(void)state;
	ng_shb(&x);
	ng_idb(&x, 1, 0, -1, 0);
	ng_epb(&x, 0, 1, 14, 14, frame_a, 14);
	ng_epb(&x, 0, 2, 14, 14, frame_a, 14);
	x.n -= 5;
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_TRUNCATED);
	assert_string_equal(pk_pcapfile_error(f),
	    "truncated pcapng block: 43 of 48 bytes");
	pk_pcapfile_close(f);

	x.n = 0;
	ng_shb(&x);
	ng_idb(&x, 1, 0, -1, 0);
	ng_epb(&x, 0, 1, 14, 14, frame_a, 14);
	put32(&x, 6);		/* a block header cut after its type */
	f = open_fx(&x);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_OK);
	assert_int_equal(pk_pcapfile_next(f, &r), PK_PCAPFILE_TRUNCATED);
	assert_string_equal(pk_pcapfile_error(f),
	    "truncated pcapng block header: 4 of 8 bytes");
	pk_pcapfile_close(f);
}

/* ---- the shared captures, against libpcap ---------------------------------- */

struct expect {
	const char	*name;
	int		 linktype;
	uint64_t	 frames, caplen, wirelen, first_us, last_us;
	uint32_t	 crc;
};

/* From libpcap 1.10.3 (Debian 12), microsecond precision. */
static const struct expect shared[] = {
	{ "13.data_in_SYN.pcap", 1, 2, 134, 134, 1485963430640075ULL, 1485963430640282ULL, 0x516644f2u },
	{ "21.ip_frag_off.pcap", 1, 10, 1380, 1380, 1485963208608283ULL, 1485963209132348ULL, 0xab722c56u },
	{ "22.ip_frag_size.pcap", 1, 9, 376, 376, 1492180866100583ULL, 1492180866123028ULL, 0x403ad607u },
	{ "23.ip_frag_overlapping.pcap", 1, 9, 376, 376, 1492527291352807ULL, 1492527291376887ULL, 0xcb657f8fu },
	{ "25.ip_frag_overlapping_unordered.pcap", 1, 9, 376, 376, 1492527291352807ULL, 1492527291376887ULL, 0xcb657f8fu },
	{ "27.udp_scan.pcap", 1, 10, 510, 510, 1482146988466975ULL, 1482146988467404ULL, 0xe30a12f8u },
	{ "28.xmas_can.pcap", 1, 3, 174, 174, 1482147248132014ULL, 1482147248133381ULL, 0x1b6a1a6au },
	{ "40.TCP_SYN_scan.pcap", 1, 100, 8309, 8309, 1497449993246674ULL, 1497449996628355ULL, 0xdf35ed37u },
	{ "42.TCP_NULL_scan.pcap", 1, 100, 5680, 5680, 1497536398484694ULL, 1497536399809545ULL, 0xdb333615u },
	{ "43.TCP_FIN_scan.pcap", 1, 100, 5680, 5680, 1497536092840604ULL, 1497536094164605ULL, 0x16016a0cu },
	{ "44.TCP_ACK_scan.pcap", 1, 100, 5680, 5680, 1497535770720483ULL, 1497535772037406ULL, 0x6093cf5fu },
	{ "49.unknown_proto.pcap", 1, 14, 939, 939, 1481630551113605ULL, 1481630552371824ULL, 0x07f25878u },
	{ "51.ping_of_death.pcap", 1, 47, 67640, 67640, 1502116038402410ULL, 1502116038466953ULL, 0x2c9b1197u },
	{ "52.nestea.pcap", 1, 5, 570, 570, 1502112093163324ULL, 1502112093281846ULL, 0x3d569df2u },
	{ "8.ip.options.pcap", 1, 4, 182, 182, 1492179288366961ULL, 1492179288375981ULL, 0x635c8ce8u },
	{ "blaster_shell.pcap", 1, 18, 1168, 1168, 1060648157150816ULL, 1060648162851102ULL, 0xd27d73b6u },
	{ "masscan_tcp_0_1000.pcap", 1, 1005, 64320, 64320, 1566411407841604ULL, 1566411417888982ULL, 0x1a139734u },
	{ "ncsa_multiport_scan.pcap", 1, 16, 1116, 1116, 1505072954306835ULL, 1505059494013180ULL, 0xd4b99f23u },
	{ "ncsa_port_scan.pcap", 1, 10, 780, 780, 1508968601767055ULL, 1508968601767244ULL, 0x457e08c8u },
	{ "nmap_80_all.pcap", 1, 431, 110495, 110495, 1596347378734373ULL, 1596347386099090ULL, 0xc3f2e45fu },
	{ "nmap_synscan.pcap", 1, 2011, 116672, 116672, 1278275056274870ULL, 1278275079360213ULL, 0x3ce3216fu },
};

static const char *
pcap_dir(void)
{
	const char *s = getenv("PICKET_PCAPS");

	return s != NULL && *s != '\0' ? s : "../shared/data/pcaps";
}

static void
test_shared_captures(void **state)
{
	char path[1024], err[PK_PCAPFILE_ERRLEN];
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;
	uint64_t n, cap, wire, first, last;
	uint32_t crc;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
		const struct expect *e = &shared[i];

		snprintf(path, sizeof(path), "%s/%s", pcap_dir(), e->name);
		if ((f = pk_pcapfile_open(path, err, sizeof(err))) == NULL)
			fail_msg("%s (set PICKET_PCAPS)", err);
		assert_int_equal(pk_pcapfile_linktype(f), e->linktype);
		n = cap = wire = first = last = 0;
		crc = 0;
		while ((rc = pk_pcapfile_next(f, &r)) == PK_PCAPFILE_OK) {
			if (n++ == 0)
				first = r.ts_us;
			last = r.ts_us;
			cap += r.caplen;
			wire += r.wirelen;
			crc = pk_crc32c(crc, r.data, r.caplen);
		}
		if (rc != PK_PCAPFILE_EOF)
			fail_msg("%s: %s", e->name, pk_pcapfile_error(f));
		if (n != e->frames || cap != e->caplen ||
		    wire != e->wirelen || first != e->first_us ||
		    last != e->last_us || crc != e->crc)
			fail_msg("%s: %llu frames %llu/%llu bytes ts %llu..%llu "
			    "crc %08x differ from libpcap's", e->name,
			    (unsigned long long)n, (unsigned long long)cap,
			    (unsigned long long)wire,
			    (unsigned long long)first,
			    (unsigned long long)last, crc);
		pk_pcapfile_close(f);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classic_le),
		cmocka_unit_test(test_classic_be),
		cmocka_unit_test(test_classic_nanos),
		cmocka_unit_test(test_classic_linktype_fcs_bits),
		cmocka_unit_test(test_classic_kuznetzov),
		cmocka_unit_test(test_classic_old_swapped_lengths),
		cmocka_unit_test(test_classic_caplen_over_snaplen),
		cmocka_unit_test(test_classic_caplen_too_big),
		cmocka_unit_test(test_classic_truncated),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_ng_multi_le),
		cmocka_unit_test(test_ng_multi_be),
		cmocka_unit_test(test_ng_two_sections),
		cmocka_unit_test(test_ng_bad_blocks),
		cmocka_unit_test(test_ng_bad_packets),
		cmocka_unit_test(test_ng_bad_options),
		cmocka_unit_test(test_ng_bad_sections),
		cmocka_unit_test(test_ng_truncated),
		cmocka_unit_test(test_ng_negative_tsoffset),
		cmocka_unit_test(test_shared_captures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
