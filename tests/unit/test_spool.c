/*
 * test_spool.c - unit tests for the spool (transport/spool.c with the
 * host's file layer, spool_unix.c or spool_win32.c): framing, append and
 * read back across segments, restart continuing the sequence, ack deleting
 * only covered segments and persisting, a torn tail cut at every byte of
 * the last record, CRC damage in the middle of a segment, the max_bytes
 * bound dropping the oldest segment with counts, a reader running beside
 * the writer (interleaved and in a thread), the fsyncs each sync policy
 * makes, and a full disk (ENOSPC injected through a wrapped file layer).
 * Files live in a fresh directory under TMPDIR/TEMP, removed at the end.
 * Runs on Linux and, cross-built, under wine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <direct.h>
#define rmdir_portable _rmdir
#else
#include <unistd.h>
#define rmdir_portable rmdir
#endif

#include "common/log.h"
#include "transport/spool.h"

#define REC(len) (PK_SPOOL_HDR + (len))

/* ------------------------------------------------------------ helpers */

static char tmpdir[1024];

static int
rm_one(void *arg, const char *name)
{
	char path[2048];

	snprintf(path, sizeof(path), "%s/%s", (const char *)arg, name);
	(void)pk_spool_fs_default.remove(path);
	return 0;
}

static void
rm_dir(const char *dir)
{
	(void)pk_spool_fs_default.list(dir, rm_one, (void *)dir);
	(void)rmdir_portable(dir);
}

static int
setup(void **state)
{
	static unsigned counter;
	const char *base = getenv("TMPDIR");

	(void)state;
	if (base == NULL || base[0] == '\0')
		base = getenv("TEMP");
	if (base == NULL || base[0] == '\0')
		base = ".";
	snprintf(tmpdir, sizeof(tmpdir), "%s/picket-spool-test-%lx-%u",
	    base, (unsigned long)time(NULL) ^ (unsigned long)clock() ^
	    (unsigned long)(uintptr_t)&counter, counter++);
	rm_dir(tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rm_dir(tmpdir);
	return 0;
}

static struct pk_spool *
open_sp(uint64_t seg, uint64_t max, int sync)
{
	struct pk_spool_settings s;

	pk_spool_settings_init(&s, tmpdir);
	s.segment_bytes = seg;
	s.max_bytes = max;
	s.sync = sync;
	return pk_spool_open(&s);
}

/* Payload i: a small JSON line whose length varies with i. */
static size_t
payload(int i, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "{\"i\":%d,\"pad\":\"%.*s\"}", i, i % 37,
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

	return (size_t)n;
}

static void
append_n(struct pk_spool *sp, int from, int n, uint64_t *seqs)
{
	char buf[128];
	uint64_t seq;
	int i;

	for (i = from; i < from + n; i++) {
		size_t len = payload(i, buf, sizeof(buf));

		assert_int_equal(pk_spool_append(sp, buf, len, &seq), 0);
		if (seqs != NULL)
			seqs[i] = seq;
	}
}

struct got {
	uint64_t seq[20000];
	int	 idx[20000];	/* payload's i */
	size_t	 n;
	size_t	 stop_after;	/* callback asks to stop after this many */
};

static int
collect(void *arg, uint64_t seq, const uint8_t *pl, size_t len)
{
	struct got *g = arg;
	char buf[128], want[128];
	int i = -1;

	assert_true(len < sizeof(buf));
	memcpy(buf, pl, len);
	buf[len] = '\0';
	assert_int_equal(sscanf(buf, "{\"i\":%d,", &i), 1);
	assert_int_equal(payload(i, want, sizeof(want)), len);
	assert_memory_equal(want, pl, len);
	assert_true(g->n < sizeof(g->seq) / sizeof(g->seq[0]));
	if (g->n > 0)
		assert_true(seq > g->seq[g->n - 1]);
	g->seq[g->n] = seq;
	g->idx[g->n] = i;
	g->n++;
	return g->stop_after != 0 && g->n >= g->stop_after;
}

static struct got *
read_all(uint64_t from)
{
	struct pk_spool_reader *rd;
	struct got *g = calloc(1, sizeof(*g));
	uint64_t next = from;
	long r;

	assert_non_null(g);
	rd = pk_spool_reader_open(tmpdir, NULL);
	assert_non_null(rd);
	do {
		r = pk_spool_read(rd, next, 7, 0, collect, g, &next);
		assert_true(r >= 0);
	} while (r > 0);
	pk_spool_reader_close(rd);
	return g;
}

static int
count_segs_cb(void *arg, const char *name)
{
	size_t n = strlen(name);

	if (n > 4 && strcmp(name + n - 4, ".seg") == 0)
		(*(int *)arg)++;
	return 0;
}

static int
count_segs(void)
{
	int n = 0;

	assert_int_equal(pk_spool_fs_default.list(tmpdir, count_segs_cb, &n),
	    0);
	return n;
}

struct names {
	char	 name[64][64];
	int	 n;
};

static int
names_cb(void *arg, const char *name)
{
	struct names *nm = arg;
	size_t len = strlen(name);

	if (len > 4 && strcmp(name + len - 4, ".seg") == 0 && nm->n < 64)
		snprintf(nm->name[nm->n++], 64, "%s", name);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Path of the k-th segment in name order (negative: from the end). */
static void
seg_path_k(int k, char *out, size_t cap)
{
	struct names nm;

	memset(&nm, 0, sizeof(nm));
	assert_int_equal(pk_spool_fs_default.list(tmpdir, names_cb, &nm), 0);
	assert_true(nm.n > 0);
	qsort(nm.name, (size_t)nm.n, sizeof(nm.name[0]), name_cmp);
	if (k < 0)
		k += nm.n;
	assert_true(k >= 0 && k < nm.n);
	snprintf(out, cap, "%s/%s", tmpdir, nm.name[k]);
}

static uint64_t
fsize(const char *path)
{
	uint64_t sz = 0;
	void *fh;

	assert_int_equal(pk_spool_fs_default.open(path, PK_SPOOL_OPEN_READ,
	    &fh), 0);
	assert_int_equal(pk_spool_fs_default.size(fh, &sz), 0);
	pk_spool_fs_default.close(fh);
	return sz;
}

static void
ftrunc(const char *path, uint64_t size)
{
	void *fh;

	assert_int_equal(pk_spool_fs_default.open(path, PK_SPOOL_OPEN_APPEND,
	    &fh), 0);
	assert_int_equal(pk_spool_fs_default.truncate(fh, size), 0);
	pk_spool_fs_default.close(fh);
}

/* Rewrite one byte of a file (read it all, change, write it back). */
static void
fpoke(const char *path, uint64_t off, uint8_t xor)
{
	static uint8_t buf[1 << 16];
	uint64_t sz = fsize(path);
	size_t got;
	void *fh;

	assert_true(sz <= sizeof(buf) && off < sz);
	assert_int_equal(pk_spool_fs_default.open(path, PK_SPOOL_OPEN_READ,
	    &fh), 0);
	assert_int_equal(pk_spool_fs_default.pread(fh, 0, buf, sz, &got), 0);
	pk_spool_fs_default.close(fh);
	assert_int_equal(got, sz);
	buf[off] ^= xor;
	assert_int_equal(pk_spool_fs_default.open(path, PK_SPOOL_OPEN_REPLACE,
	    &fh), 0);
	assert_int_equal(pk_spool_fs_default.append(fh, buf, sz), 0);
	pk_spool_fs_default.close(fh);
}

static void
fappend(const char *path, const void *buf, size_t len)
{
	void *fh;

	assert_int_equal(pk_spool_fs_default.open(path, PK_SPOOL_OPEN_APPEND,
	    &fh), 0);
	assert_int_equal(pk_spool_fs_default.append(fh, buf, len), 0);
	pk_spool_fs_default.close(fh);
}

/* ------------------------------------------------------------- tests */

static void
test_frame_roundtrip(void **state)
{
	uint8_t rec[REC(5)], bad[REC(5)];
	const uint8_t *pl;
	uint64_t seq;
	size_t len, i;

	(void)state;
	pk_spool_encode(rec, 0x0102030405060708ULL, "hello", 5);
	assert_int_equal(rec[0], PK_SPOOL_MAGIC);
	assert_int_equal(rec[4], 5);	/* little-endian length */
	assert_int_equal(rec[8], 0x08);	/* little-endian seq */
	assert_int_equal(pk_spool_decode(rec, sizeof(rec), &seq, &pl, &len),
	    (long)sizeof(rec));
	assert_true(seq == 0x0102030405060708ULL);
	assert_int_equal(len, 5);
	assert_memory_equal(pl, "hello", 5);
	/* Every prefix is "need more", never a record or garbage. */
	for (i = 0; i < sizeof(rec); i++)
		assert_int_equal(pk_spool_decode(rec, i, &seq, &pl, &len), 0);
	/* Every single-bit flip anywhere is refused. */
	for (i = 0; i < sizeof(rec) * 8; i++) {
		long r;

		memcpy(bad, rec, sizeof(rec));
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		r = pk_spool_decode(bad, sizeof(bad), &seq, &pl, &len);
		/* A flipped length may ask for more bytes: still no record. */
		assert_true(r <= 0);
	}
}

static void
test_append_read_back(void **state)
{
	static uint64_t seqs[300];
	struct pk_spool_stats st;
	struct pk_spool *sp;
	struct got *g;
	int i;

	(void)state;
	sp = open_sp(1024, 1 << 20, PK_SPOOL_SYNC_BATCH);
	assert_non_null(sp);
	assert_int_equal(pk_spool_next_seq(sp), 1);
	append_n(sp, 0, 300, seqs);
	for (i = 0; i < 300; i++)
		assert_true(seqs[i] == (uint64_t)i + 1);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.records_appended, 300);
	assert_true(st.segments > 5);
	assert_int_equal(st.segments, count_segs());
	assert_true(st.next_seq == 301);
	assert_true(st.disk_bytes == st.bytes_appended);
	g = read_all(0);
	assert_int_equal(g->n, 300);
	for (i = 0; i < 300; i++) {
		assert_true(g->seq[i] == (uint64_t)i + 1);
		assert_int_equal(g->idx[i], i);
	}
	free(g);
	/* From the middle of a middle segment. */
	g = read_all(123);
	assert_int_equal(g->n, 300 - 122);
	assert_true(g->seq[0] == 123);
	free(g);
	pk_spool_close(sp);
}

static void
test_read_limits(void **state)
{
	struct pk_spool_reader *rd;
	struct pk_spool *sp;
	struct got *g = calloc(1, sizeof(*g));
	uint64_t next;
	long r;

	(void)state;
	assert_non_null(g);
	sp = open_sp(4096, 1 << 20, PK_SPOOL_SYNC_NEVER);
	assert_non_null(sp);
	append_n(sp, 0, 50, NULL);
	rd = pk_spool_reader_open(tmpdir, NULL);
	assert_non_null(rd);
	assert_int_equal(pk_spool_read(rd, 1, 10, 0, collect, g, &next), 10);
	assert_true(next == 11);
	/* Byte budget: i=10..: payload lengths 18+ each; 60 bytes -> 3. */
	r = pk_spool_read(rd, next, 0, 60, collect, g, &next);
	assert_true(r >= 2 && r <= 3);
	/* The first record always comes, even over the budget. */
	assert_int_equal(pk_spool_read(rd, next, 0, 1, collect, g, &next), 1);
	/* The callback may stop early. */
	g->stop_after = g->n + 2;
	assert_int_equal(pk_spool_read(rd, next, 0, 0, collect, g, &next), 2);
	g->stop_after = 0;
	while ((r = pk_spool_read(rd, next, 0, 0, collect, g, &next)) > 0)
		;
	assert_int_equal(r, 0);
	assert_int_equal(g->n, 50);
	assert_true(next == 51);
	pk_spool_reader_close(rd);
	pk_spool_close(sp);
	free(g);
}

static void
test_restart_continues_sequence(void **state)
{
	struct pk_spool_stats st;
	struct pk_spool *sp;
	struct got *g;
	uint64_t seq;

	(void)state;
	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_BATCH);
	append_n(sp, 0, 40, NULL);
	pk_spool_close(sp);
	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_BATCH);
	assert_non_null(sp);
	pk_spool_stats(sp, &st);
	assert_true(st.next_seq == 41);
	assert_true(st.durable_seq == 40);
	assert_int_equal(st.torn_bytes, 0);
	assert_int_equal(st.corrupt_records, 0);
	assert_int_equal(pk_spool_append(sp, "{\"i\":40,\"pad\":\"xxx\"}", 20,
	    &seq), 0);
	assert_true(seq == 41);
	pk_spool_close(sp);
	/* Reopen with nothing new in the last segment, and again. */
	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_BATCH);
	assert_true(pk_spool_next_seq(sp) == 42);
	pk_spool_raise_seq(sp, 1000);
	pk_spool_raise_seq(sp, 10);	/* never backwards */
	append_n(sp, 41, 1, NULL);
	pk_spool_close(sp);
	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_BATCH);
	assert_true(pk_spool_next_seq(sp) == 1001);
	pk_spool_close(sp);
	g = read_all(0);
	assert_int_equal(g->n, 42);
	assert_true(g->seq[40] == 41 && g->seq[41] == 1000);
	free(g);
}

static void
test_ack_deletes_covered_and_persists(void **state)
{
	struct pk_spool_stats st;
	struct pk_spool *sp;
	struct got *g;
	char first[2048];
	int before, after;

	(void)state;
	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_BATCH);
	append_n(sp, 0, 100, NULL);
	before = count_segs();
	assert_true(before >= 5);
	/* Name of the second segment - 1 is the last seq of the first. */
	seg_path_k(1, first, sizeof(first));
	{
		const char *base = strrchr(first, '/') + 1;
		uint64_t second = strtoull(base, NULL, 10);

		/* One short of the first segment's end: nothing deleted. */
		assert_int_equal(pk_spool_ack(sp, second - 2), 0);
		assert_int_equal(count_segs(), before);
		/* Exactly its end: the first segment goes. */
		assert_int_equal(pk_spool_ack(sp, second - 1), 0);
		assert_int_equal(count_segs(), before - 1);
	}
	/* Everything: all but the newest segment go. */
	assert_int_equal(pk_spool_ack(sp, 100), 0);
	after = count_segs();
	assert_int_equal(after, 1);
	/* Backwards is a no-op; beyond next_seq is clamped. */
	assert_int_equal(pk_spool_ack(sp, 5), 0);
	pk_spool_stats(sp, &st);
	assert_true(st.acked_seq == 100);
	assert_true(st.acked_segments_removed == (uint64_t)before - 1);
	append_n(sp, 100, 10, NULL);
	pk_spool_close(sp);

	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_BATCH);
	pk_spool_stats(sp, &st);
	assert_true(st.acked_seq == 100);
	assert_true(st.next_seq == 111);
	pk_spool_close(sp);
	/* The shipper resumes after the ack point: exactly the new ones. */
	g = read_all(st.acked_seq + 1);
	assert_int_equal(g->n, 10);
	assert_true(g->seq[0] == 101);
	free(g);

	/* All segments gone (ack, then delete the newest by hand as a
	 * reader-side ack of a later run might): the ack file alone keeps
	 * sequence numbers from being reused. */
	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_BATCH);
	assert_int_equal(pk_spool_ack(sp, 110), 0);
	pk_spool_close(sp);
	seg_path_k(-1, first, sizeof(first));
	assert_int_equal(pk_spool_fs_default.remove(first), 0);
	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_BATCH);
	assert_true(pk_spool_next_seq(sp) == 111);
	pk_spool_close(sp);
}

static void
test_reader_ack_and_bad_ack_file(void **state)
{
	struct pk_spool_reader *rd;
	struct pk_spool *sp;
	char path[2048];

	(void)state;
	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_ALWAYS);
	append_n(sp, 0, 60, NULL);
	rd = pk_spool_reader_open(tmpdir, NULL);
	assert_true(pk_spool_reader_acked(rd) == 0);
	assert_int_equal(pk_spool_reader_ack(rd, 30, 1), 0);
	assert_true(pk_spool_reader_acked(rd) == 30);
	assert_int_equal(pk_spool_reader_ack(rd, 20, 1), 0);
	assert_true(pk_spool_reader_acked(rd) == 30);
	pk_spool_close(sp);
	/* A damaged ack file means "nothing acknowledged": resend. */
	snprintf(path, sizeof(path), "%s/ack", tmpdir);
	fpoke(path, 9, 0xff);
	assert_true(pk_spool_reader_acked(rd) == 0);
	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_ALWAYS);
	assert_true(pk_spool_next_seq(sp) == 61);
	pk_spool_close(sp);
	pk_spool_reader_close(rd);
}

/*
 * Cut the last record at every length from 0 to its size - 1: the earlier
 * records survive, the cut bytes are counted and truncated, and the next
 * append reuses the torn record's sequence number (it was never whole,
 * so never synced and never shipped).
 */
static void
test_torn_tail_every_offset(void **state)
{
	char path[2048], buf[128];
	struct pk_spool_stats st;
	struct pk_spool *sp;
	struct got *g;
	uint64_t full, seq;
	size_t last, cut;

	(void)state;
	last = payload(2, buf, sizeof(buf));
	for (cut = 0; cut < REC(last); cut++) {
		rm_dir(tmpdir);
		sp = open_sp(1 << 16, 1 << 20, PK_SPOOL_SYNC_ALWAYS);
		append_n(sp, 0, 3, NULL);
		pk_spool_close(sp);
		seg_path_k(-1, path, sizeof(path));
		full = fsize(path);
		ftrunc(path, full - REC(last) + cut);

		/* A reader before recovery stops quietly at the torn tail. */
		g = read_all(0);
		assert_int_equal(g->n, 2);
		free(g);

		sp = open_sp(1 << 16, 1 << 20, PK_SPOOL_SYNC_ALWAYS);
		assert_non_null(sp);
		pk_spool_stats(sp, &st);
		assert_int_equal(st.torn_bytes, cut);
		assert_int_equal(st.corrupt_records, 0);
		assert_true(st.next_seq == 3);
		assert_int_equal(fsize(path), full - REC(last));
		assert_int_equal(pk_spool_append(sp, buf, last, &seq), 0);
		assert_true(seq == 3);
		pk_spool_close(sp);
		g = read_all(0);
		assert_int_equal(g->n, 3);
		assert_int_equal(g->idx[2], 2);
		free(g);
	}
}

/*
 * A damaged record in an older segment: readers deliver what comes
 * before it, skip the rest of that segment (counted), and go on with the
 * next segment.  In the newest segment, recovery truncates from there.
 */
static void
test_crc_corruption_mid_segment(void **state)
{
	struct pk_spool_reader *rd;
	struct pk_spool_stats st;
	struct pk_spool *sp;
	struct got *g;
	char path[2048], buf[128];
	uint64_t next, off, sz;
	long r;
	int i, in_first;

	(void)state;
	sp = open_sp(1024, 1 << 20, PK_SPOOL_SYNC_BATCH);
	append_n(sp, 0, 120, NULL);
	pk_spool_close(sp);
	/* Damage the third record of the first segment (a payload byte). */
	seg_path_k(0, path, sizeof(path));
	sz = fsize(path);
	off = 0;
	for (i = 0; i < 2; i++)
		off += REC(payload(i, buf, sizeof(buf)));
	fpoke(path, off + PK_SPOOL_HDR + 3, 0x20);
	/* How many records the first segment held. */
	for (in_first = 0, off = 0; off < sz; in_first++)
		off += REC(payload(in_first, buf, sizeof(buf)));

	g = calloc(1, sizeof(*g));
	rd = pk_spool_reader_open(tmpdir, NULL);
	next = 0;
	while ((r = pk_spool_read(rd, next, 0, 0, collect, g, &next)) > 0)
		;
	assert_int_equal(r, 0);
	assert_int_equal(g->n, 120 - (in_first - 2));
	assert_int_equal(g->idx[0], 0);
	assert_int_equal(g->idx[1], 1);
	assert_int_equal(g->idx[2], in_first);	/* next segment's first */
	pk_spool_reader_stats(rd, &st);
	assert_int_equal(st.corrupt_records, 1);
	assert_true(st.skipped_bytes > 0);
	pk_spool_reader_close(rd);
	free(g);

	/* Damage in the newest segment, second record of three there. */
	rm_dir(tmpdir);
	sp = open_sp(1 << 16, 1 << 20, PK_SPOOL_SYNC_BATCH);
	append_n(sp, 0, 3, NULL);
	pk_spool_close(sp);
	seg_path_k(-1, path, sizeof(path));
	sz = fsize(path);
	off = REC(payload(0, buf, sizeof(buf)));
	fpoke(path, off + 10, 0x01);	/* in the seq field: CRC catches */
	sp = open_sp(1 << 16, 1 << 20, PK_SPOOL_SYNC_BATCH);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.corrupt_records, 1);
	assert_int_equal(st.torn_bytes, sz - off);
	assert_true(st.next_seq == 2);
	assert_int_equal(fsize(path), off);
	pk_spool_close(sp);

	/* Not a record at all (zeros, as a power cut may leave). */
	memset(buf, 0, sizeof(buf));
	fappend(path, buf, 64);
	sp = open_sp(1 << 16, 1 << 20, PK_SPOOL_SYNC_BATCH);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.torn_bytes, 64);
	assert_int_equal(st.corrupt_records, 1);
	assert_true(st.next_seq == 2);
	pk_spool_close(sp);
}

static void
test_max_bytes_drops_oldest(void **state)
{
	struct pk_spool_stats st;
	struct pk_spool *sp;
	struct got *g;
	uint64_t on_disk;
	int i;

	(void)state;
	/* Segments of 1 KiB, at most 4 KiB. */
	sp = open_sp(1024, 4096, PK_SPOOL_SYNC_BATCH);
	append_n(sp, 0, 400, NULL);
	pk_spool_stats(sp, &st);
	assert_true(st.disk_bytes <= 4096);
	assert_true(st.segments <= 4);
	assert_int_equal(st.segments, count_segs());
	assert_true(st.dropped_full_segments > 0);
	g = read_all(0);
	/* Nothing acked: every sequence number not on disk was counted. */
	assert_true(g->n + st.dropped_full_records == 400);
	assert_true(g->seq[g->n - 1] == 400);
	for (i = 1; i < (int)g->n; i++)
		assert_true(g->seq[i] == g->seq[i - 1] + 1);
	assert_true(st.oldest_seq == g->seq[0]);
	on_disk = st.disk_bytes;
	assert_true(on_disk + st.dropped_full_bytes == st.bytes_appended);
	free(g);
	/* Acknowledged data dropped for space is not counted as lost. */
	assert_int_equal(pk_spool_ack(sp, 400), 0);
	pk_spool_stats(sp, &st);
	{
		uint64_t dropped = st.dropped_full_records;

		append_n(sp, 400, 100, NULL);
		pk_spool_stats(sp, &st);
		assert_true(st.dropped_full_records - dropped < 100);
	}
	pk_spool_close(sp);
	/* A smaller bound at the next start drops at open. */
	sp = open_sp(512, 1024, PK_SPOOL_SYNC_BATCH);
	assert_non_null(sp);
	pk_spool_stats(sp, &st);
	assert_true(st.disk_bytes <= 1024 || st.segments == 1);
	pk_spool_close(sp);
}

static void
test_rejects(void **state)
{
	static char big[PK_SPOOL_PAYLOAD_MAX + 1];
	struct pk_spool_settings s;
	struct pk_spool_stats st;
	struct pk_spool *sp;
	uint64_t seq;

	(void)state;
	pk_spool_settings_init(&s, tmpdir);
	s.segment_bytes = 100;
	assert_null(pk_spool_open(&s));
	s.segment_bytes = 1 << 20;
	s.max_bytes = (1 << 20) + 1;
	assert_null(pk_spool_open(&s));
	s.max_bytes = 0;
	s.segment_bytes = 0;
	s.sync = 7;
	assert_null(pk_spool_open(&s));

	sp = open_sp(1024, 1 << 20, PK_SPOOL_SYNC_BATCH);
	memset(big, 'a', sizeof(big));
	assert_int_equal(pk_spool_append(sp, big, 0, &seq), -1);
	assert_int_equal(pk_spool_append(sp, big, sizeof(big), &seq), -1);
	/* The largest allowed record goes in its own segment. */
	assert_int_equal(pk_spool_append(sp, big, sizeof(big) - 1, &seq), 0);
	assert_true(seq == 1);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.rejected_records, 2);
	assert_int_equal(st.write_errors, 0);
	pk_spool_close(sp);
}

/* ---------------------------------------------- reader beside writer */

static void
test_reader_interleaved(void **state)
{
	struct pk_spool_reader *rd;
	struct pk_spool *sp;
	struct got *g = calloc(1, sizeof(*g));
	char path[2048], buf[128];
	uint8_t rec[REC(128)];
	uint64_t next = 1;
	size_t len;
	int i;

	(void)state;
	sp = open_sp(600, 1 << 20, PK_SPOOL_SYNC_NEVER);
	rd = pk_spool_reader_open(tmpdir, NULL);
	/* Nothing there yet (not even the directory's segments). */
	assert_int_equal(pk_spool_read(rd, next, 0, 0, collect, g, &next), 0);
	for (i = 0; i < 200; i++) {
		append_n(sp, i, 1, NULL);
		if (i % 3 == 0)
			assert_true(pk_spool_read(rd, next, 0, 0, collect, g,
			    &next) >= 1);
	}
	while (pk_spool_read(rd, next, 0, 0, collect, g, &next) > 0)
		;
	assert_int_equal(g->n, 200);
	pk_spool_close(sp);

	/* Half a record at the end of the newest segment (the writer is in
	 * the middle of it): nothing delivered, then the record once whole. */
	len = payload(200, buf, sizeof(buf));
	pk_spool_encode(rec, 201, buf, len);
	seg_path_k(-1, path, sizeof(path));
	fappend(path, rec, 11);
	assert_int_equal(pk_spool_read(rd, next, 0, 0, collect, g, &next), 0);
	fappend(path, rec + 11, REC(len) - 11);
	assert_int_equal(pk_spool_read(rd, next, 0, 0, collect, g, &next), 1);
	assert_true(next == 202);
	pk_spool_reader_close(rd);
	free(g);
}

struct thr {
	int	 n;
	int	 done;
	pthread_mutex_t mu;
};

static void *
writer_thread(void *arg)
{
	struct thr *t = arg;
	struct pk_spool *sp = open_sp(2048, 64 << 20, PK_SPOOL_SYNC_NEVER);
	int i;

	assert_non_null(sp);
	for (i = 0; i < t->n; i++)
		append_n(sp, i, 1, NULL);
	pk_spool_close(sp);
	pthread_mutex_lock(&t->mu);
	t->done = 1;
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

static void
test_reader_concurrent_thread(void **state)
{
	struct thr t = { .n = 8000, .done = 0 };
	struct pk_spool_reader *rd;
	struct got *g = calloc(1, sizeof(*g));
	pthread_t th;
	uint64_t next = 1;
	int done, spins = 0;
	size_t i;

	(void)state;
	pthread_mutex_init(&t.mu, NULL);
	assert_int_equal(pthread_create(&th, NULL, writer_thread, &t), 0);
	rd = pk_spool_reader_open(tmpdir, NULL);
	for (;;) {
		pthread_mutex_lock(&t.mu);
		done = t.done;
		pthread_mutex_unlock(&t.mu);
		assert_true(pk_spool_read(rd, next, 100, 0, collect, g,
		    &next) >= 0);
		if (done && g->n == (size_t)t.n)
			break;
		/* After the writer is done one more pass must finish. */
		if (done)
			assert_true(++spins < 200);
	}
	pthread_join(th, NULL);
	for (i = 0; i < g->n; i++) {
		assert_true(g->seq[i] == i + 1);
		assert_int_equal(g->idx[i], (int)i);
	}
	pk_spool_reader_close(rd);
	pthread_mutex_destroy(&t.mu);
	free(g);
}

/* ----------------------------------------------------- sync policies */

static uint64_t fake_now;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

static void
test_sync_policies(void **state)
{
	struct pk_spool_settings s;
	struct pk_spool_stats st;
	struct pk_spool *sp;
	uint64_t durable;

	(void)state;
	/* always: one fsync per append (plus the directory per segment). */
	sp = open_sp(1 << 16, 1 << 20, PK_SPOOL_SYNC_ALWAYS);
	append_n(sp, 0, 25, NULL);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.fsyncs, 25);
	assert_int_equal(st.dir_fsyncs, 1);
	assert_true(st.durable_seq == 25);
	assert_int_equal(pk_spool_sync(sp, &durable), 0);
	assert_true(durable == 25);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.fsyncs, 25);	/* nothing new to sync */
	pk_spool_close(sp);
	rm_dir(tmpdir);

	/* batch: appends do not sync; pk_spool_sync and the interval do. */
	pk_spool_settings_init(&s, tmpdir);
	s.segment_bytes = 1 << 16;
	s.max_bytes = 1 << 20;
	s.now_us = fake_clock;
	fake_now = 1000000;
	sp = pk_spool_open(&s);
	append_n(sp, 0, 10, NULL);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.fsyncs, 0);
	assert_true(st.durable_seq == 0);
	assert_int_equal(pk_spool_sync(sp, &durable), 0);
	assert_true(durable == 10);
	assert_int_equal(pk_spool_sync(sp, &durable), 0);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.fsyncs, 1);
	fake_now += 150000;			/* 150 ms: not yet */
	append_n(sp, 10, 1, NULL);
	assert_int_equal(pk_spool_tick(sp, fake_now), 0);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.fsyncs, 1);
	fake_now += 60000;			/* 210 ms: the append syncs */
	append_n(sp, 11, 1, NULL);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.fsyncs, 2);
	assert_true(st.durable_seq == 12);
	fake_now += 250000;			/* timer with an append pending */
	append_n(sp, 12, 1, NULL);		/* (the append itself syncs) */
	append_n(sp, 13, 1, NULL);
	fake_now += 250000;
	assert_int_equal(pk_spool_tick(sp, fake_now), 0);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.fsyncs, 4);
	assert_true(st.durable_seq == 14);
	fake_now += 250000;			/* idle timer: nothing */
	assert_int_equal(pk_spool_tick(sp, fake_now), 0);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.fsyncs, 4);
	pk_spool_close(sp);
	rm_dir(tmpdir);

	/* never: no fsync of any kind, even across rotation and ack. */
	sp = open_sp(512, 1 << 20, PK_SPOOL_SYNC_NEVER);
	append_n(sp, 0, 100, NULL);
	assert_int_equal(pk_spool_sync(sp, &durable), 0);
	assert_int_equal(pk_spool_ack(sp, 50), 0);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.fsyncs, 0);
	assert_int_equal(st.dir_fsyncs, 0);
	assert_true(st.durable_seq == 0);
	pk_spool_close(sp);
}

/* ----------------------------------------------- full disk (ENOSPC) */

static int disk_full;		/* appends fail after writing 7 bytes */
static int fs_syncs;

static int
full_append(void *fh, const void *buf, size_t len)
{
	if (disk_full) {
		(void)pk_spool_fs_default.append(fh, buf, len < 7 ? len : 7);
		errno = ENOSPC;
		return -1;
	}
	return pk_spool_fs_default.append(fh, buf, len);
}

static int
full_open(const char *path, int mode, void **fh)
{
	if (disk_full && mode != PK_SPOOL_OPEN_READ) {
		errno = ENOSPC;
		return -1;
	}
	return pk_spool_fs_default.open(path, mode, fh);
}

static int
count_sync(void *fh)
{
	fs_syncs++;
	return pk_spool_fs_default.sync(fh);
}

static void
test_disk_full(void **state)
{
	struct pk_spool_fsops fs = pk_spool_fs_default;
	struct pk_spool_settings s;
	struct pk_spool_stats st;
	struct pk_spool *sp;
	struct got *g;
	uint64_t seq;
	int i;

	(void)state;
	fs.append = full_append;
	fs.open = full_open;
	fs.sync = count_sync;
	pk_spool_settings_init(&s, tmpdir);
	s.segment_bytes = 512;
	s.max_bytes = 1 << 20;
	s.sync = PK_SPOOL_SYNC_ALWAYS;
	s.fs = &fs;
	fs_syncs = 0;
	sp = pk_spool_open(&s);
	assert_non_null(sp);
	append_n(sp, 0, 5, NULL);
	assert_int_equal(fs_syncs, 5);
	disk_full = 1;
	/* Partial writes are cut off; new segments cannot be made. */
	for (i = 5; i < 40; i++) {
		char buf[128];
		size_t len = payload(i, buf, sizeof(buf));

		assert_int_equal(pk_spool_append(sp, buf, len, &seq), -1);
		assert_int_equal(errno, ENOSPC);
	}
	pk_spool_stats(sp, &st);
	assert_int_equal(st.write_errors, 35);
	assert_int_equal(st.enospc_errors, 35);
	assert_int_equal(st.records_appended, 5);
	/* Space comes back: appends work again, later numbers. */
	disk_full = 0;
	assert_int_equal(pk_spool_append(sp, "{\"i\":40,\"pad\":\"xxx\"}", 20,
	    &seq), 0);
	assert_true(seq > 5);
	append_n(sp, 41, 20, NULL);
	pk_spool_close(sp);
	g = read_all(0);
	assert_int_equal(g->n, 26);
	for (i = 0; i < 5; i++)
		assert_int_equal(g->idx[i], i);
	assert_int_equal(g->idx[5], 40);
	free(g);
	/* And the next start finds nothing torn. */
	sp = pk_spool_open(&s);
	pk_spool_stats(sp, &st);
	assert_int_equal(st.torn_bytes, 0);
	pk_spool_close(sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test_setup_teardown(test_append_read_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_limits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart_continues_sequence,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ack_deletes_covered_and_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_ack_and_bad_ack_file,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_every_offset,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_crc_corruption_mid_segment,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_bytes_drops_oldest,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_interleaved, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reader_concurrent_thread,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_policies, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
	};

	/* Every test provokes warnings (drops, corruption) on purpose. */
	log_setlevel(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
