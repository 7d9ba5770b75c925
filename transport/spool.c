/*
 * spool.c - the spool's portable logic (see spool.h, docs/spool.md):
 * record framing, segment names, the scanner shared by recovery, the reader
 * and the fuzzer, rotation under max_bytes, the ack file and deletion.
 * Every file operation goes through struct pk_spool_fsops, so this file
 * uses the C library only and runs unchanged on Windows.
 *
 * One rule carries most of the design: a segment's name is the first
 * sequence number it may hold, so the last record of segment i is below
 * the name of segment i + 1.  Acknowledgement and drop accounting work from
 * the names alone; only the newest segment (the one being written) is ever
 * scanned at open, because every older one was fsynced before its
 * successor was created.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crc32c.h"
#include "common/log.h"
#include "common/util.h"
#include "transport/spool.h"

#define SEG_SUFFIX	".seg"
#define SEG_DIGITS	20
#define ACK_NAME	"ack"
#define ACK_TMP		"ack.tmp"
#define ACK_MAGIC	"PKSPACK1"
#define ACK_LEN		20	/* magic[8] seq[8] crc[4] */
/* Scan window: always holds at least one whole maximal record. */
#define WIN_CAP		(2 * (PK_SPOOL_HDR + PK_SPOOL_PAYLOAD_MAX))

/* ------------------------------------------------------------ bytes */

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* --------------------------------------------------------- framing */

/*
 * Header: magic(1) version(1) flags(2, zero) length(4) seq(8) crc(4).
 * The CRC covers the first 16 header bytes and the payload, so a length or
 * sequence number damaged on disk is caught like damaged payload.
 */
void
pk_spool_encode(uint8_t *out, uint64_t seq, const void *payload, size_t len)
{
	uint32_t crc;

	out[0] = PK_SPOOL_MAGIC;
	out[1] = PK_SPOOL_VERSION;
	out[2] = 0;
	out[3] = 0;
	put_le32(out + 4, (uint32_t)len);
	put_le64(out + 8, seq);
	crc = pk_crc32c(0, out, 16);
	crc = pk_crc32c(crc, payload, len);
	put_le32(out + 16, crc);
	if (len > 0)
		memcpy(out + PK_SPOOL_HDR, payload, len);
}

long
pk_spool_decode(const uint8_t *buf, size_t avail, uint64_t *seq,
    const uint8_t **payload, size_t *len)
{
	uint32_t n, crc;

	if (avail >= 1 && buf[0] != PK_SPOOL_MAGIC)
		return -1;
	if (avail >= 2 && buf[1] != PK_SPOOL_VERSION)
		return -1;
	if (avail >= 4 && (buf[2] != 0 || buf[3] != 0))
		return -1;
	if (avail < PK_SPOOL_HDR)
		return 0;
	n = get_le32(buf + 4);
	if (n == 0 || n > PK_SPOOL_PAYLOAD_MAX)
		return -1;
	if (avail - PK_SPOOL_HDR < n)
		return 0;
	crc = pk_crc32c(0, buf, 16);
	crc = pk_crc32c(crc, buf + PK_SPOOL_HDR, n);
	if (crc != get_le32(buf + 16))
		return -1;
	/* Only a damaged (or hostile) file holds such a number; trusting it
	 * would let next_seq wrap around to numbers already used. */
	if (get_le64(buf + 8) >= PK_SPOOL_SEQ_LIMIT)
		return -1;
	*seq = get_le64(buf + 8);
	*payload = buf + PK_SPOOL_HDR;
	*len = n;
	return (long)(PK_SPOOL_HDR + n);
}

/* ----------------------------------------------------------- names */

static int
seg_name(char *out, size_t cap, uint64_t first)
{
	int n = snprintf(out, cap, "%0*llu" SEG_SUFFIX, SEG_DIGITS,
	    (unsigned long long)first);

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* "00000000000000000042.seg" -> 42; -1 for any other name. */
static int
seg_parse(const char *name, uint64_t *first)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < SEG_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (strcmp(name + SEG_DIGITS, SEG_SUFFIX) != 0)
		return -1;
	*first = v;
	return 0;
}

static int
join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int
seg_path(char *out, size_t cap, const char *dir, uint64_t first)
{
	char name[64];

	if (seg_name(name, sizeof(name), first) != 0)
		return -1;
	return join(out, cap, dir, name);
}

/* ----------------------------------------------------- segment list */

struct seglist {
	uint64_t	*first;
	size_t		 n, cap;
	uint64_t	 ignored;	/* over PK_SPOOL_MAX_SEGMENTS */
};

static int
seglist_add(void *arg, const char *name)
{
	struct seglist *l = arg;
	uint64_t first;

	if (seg_parse(name, &first) != 0)
		return 0;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 32;
		uint64_t *p;

		if (l->cap >= PK_SPOOL_MAX_SEGMENTS) {
			l->ignored++;
			return 0;
		}
		if (ncap > PK_SPOOL_MAX_SEGMENTS)
			ncap = PK_SPOOL_MAX_SEGMENTS;
		if ((p = realloc(l->first, ncap * sizeof(*p))) == NULL)
			return -1;
		l->first = p;
		l->cap = ncap;
	}
	l->first[l->n++] = first;
	return 0;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The directory's segments, sorted by first sequence number. */
static int
seglist_load(const struct pk_spool_fsops *fs, const char *dir,
    struct seglist *l)
{
	l->n = 0;
	l->ignored = 0;
	if (fs->list(dir, seglist_add, l) != 0) {
		if (errno == ENOENT)
			return 0;
		return -1;
	}
	if (l->n > 1)
		qsort(l->first, l->n, sizeof(*l->first), u64_cmp);
	return 0;
}

static void
seglist_free(struct seglist *l)
{
	free(l->first);
	memset(l, 0, sizeof(*l));
}

/* ---------------------------------------------------------- scanner */

/*
 * Reads records from one open segment through a window of WIN_CAP bytes.
 * The window is only trusted for a record that decodes completely; any
 * other answer is checked again with fresh bytes, because a concurrent
 * writer may have extended the file since the window was filled.
 */
struct scan {
	const struct pk_spool_fsops *fs;
	void		*fh;
	uint64_t	 off;		/* next record */
	uint8_t		*win;
	uint64_t	 woff;		/* file offset of win[0] */
	size_t		 wlen;
};

enum { SCAN_IO = -1, SCAN_REC = 1, SCAN_END = 2, SCAN_TORN = 3,
	SCAN_BAD = 4 };

static int
scan_fill(struct scan *sc)
{
	size_t got = 0;

	sc->woff = sc->off;
	sc->wlen = 0;
	if (sc->fs->pread(sc->fh, sc->off, sc->win, WIN_CAP, &got) != 0)
		return -1;
	sc->wlen = got;
	return 0;
}

/*
 * The record at sc->off: SCAN_REC (with *size), SCAN_END (clean end of
 * file), SCAN_TORN (an incomplete record at the end), SCAN_BAD (bytes that
 * are no record), SCAN_IO.  Does not advance; the caller does.
 */
static int
scan_next(struct scan *sc, uint64_t *seq, const uint8_t **payload,
    size_t *len, size_t *size)
{
	int fresh;
	long r;

	for (fresh = 0; fresh < 2; fresh++) {
		if (fresh && scan_fill(sc) != 0)
			return SCAN_IO;
		if (sc->off < sc->woff || sc->off - sc->woff >= sc->wlen) {
			if (!fresh)
				continue;
			return SCAN_END;
		}
		r = pk_spool_decode(sc->win + (sc->off - sc->woff),
		    sc->wlen - (size_t)(sc->off - sc->woff), seq, payload, len);
		if (r > 0) {
			*size = (size_t)r;
			return SCAN_REC;
		}
		if (fresh)
			return r == 0 ? SCAN_TORN : SCAN_BAD;
	}
	return SCAN_IO;		/* not reached */
}

/* ------------------------------------------------------------- ack */

static int
ack_read(const struct pk_spool_fsops *fs, const char *dir, uint64_t *seq)
{
	char path[PK_SPOOL_PATH_MAX];
	uint8_t b[ACK_LEN];
	size_t got = 0;
	void *fh;
	int rc;

	*seq = 0;
	if (join(path, sizeof(path), dir, ACK_NAME) != 0)
		return -1;
	if (fs->open(path, PK_SPOOL_OPEN_READ, &fh) != 0)
		return errno == ENOENT ? 0 : -1;
	rc = fs->pread(fh, 0, b, sizeof(b), &got);
	fs->close(fh);
	if (rc != 0)
		return -1;
	/* A damaged ack file only means resending: the hub deduplicates. */
	if (got != ACK_LEN || memcmp(b, ACK_MAGIC, 8) != 0 ||
	    pk_crc32c(0, b, 16) != get_le32(b + 16)) {
		log_warnx("spool: %s: invalid ack file ignored", path);
		return 0;
	}
	*seq = get_le64(b + 8);
	if (*seq >= PK_SPOOL_SEQ_LIMIT) {
		log_warnx("spool: %s: ack point out of range ignored", path);
		*seq = 0;
	}
	return 0;
}

/* Write the ack point atomically: tmp, fsync, rename, fsync dir. */
static int
ack_write(const struct pk_spool_fsops *fs, const char *dir, uint64_t seq,
    int sync, struct pk_spool_stats *st)
{
	char tmp[PK_SPOOL_PATH_MAX], path[PK_SPOOL_PATH_MAX];
	uint8_t b[ACK_LEN];
	void *fh;
	int rc;

	if (join(tmp, sizeof(tmp), dir, ACK_TMP) != 0 ||
	    join(path, sizeof(path), dir, ACK_NAME) != 0)
		return -1;
	memcpy(b, ACK_MAGIC, 8);
	put_le64(b + 8, seq);
	put_le32(b + 16, pk_crc32c(0, b, 16));
	if (fs->open(tmp, PK_SPOOL_OPEN_REPLACE, &fh) != 0)
		return -1;
	rc = fs->append(fh, b, sizeof(b));
	if (rc == 0 && sync) {
		rc = fs->sync(fh);
		st->fsyncs++;
	}
	fs->close(fh);
	if (rc != 0 || fs->rename(tmp, path) != 0) {
		(void)fs->remove(tmp);
		return -1;
	}
	if (sync) {
		st->dir_fsyncs++;
		if (fs->sync_dir(dir) != 0)
			return -1;
	}
	return 0;
}

/*
 * Persist the ack point, then delete each segment but the newest whose
 * successor starts at or below seq + 1 (so all its records are <= seq).
 * Deleting after persisting: a crash in between leaves files whose records
 * the ack file already skips.  When the ack file cannot be written (full
 * disk), the segments go first and the write is retried (see below).
 */
static int
ack_apply(const struct pk_spool_fsops *fs, const char *dir, uint64_t seq,
    int sync, struct pk_spool_stats *st, uint64_t *acked)
{
	char path[PK_SPOOL_PATH_MAX];
	struct seglist l;
	uint64_t cur;
	size_t i, removed = 0;
	int rc = 0, unsaved = 0;

	if (ack_read(fs, dir, &cur) != 0)
		return -1;
	if (seq > cur) {
		/*
		 * A full disk must not stop us freeing it: the hub has every
		 * record <= seq, so the covered segments may go even before
		 * the ack file says so (a crash then leaves an ack point
		 * below the oldest record, which recovery accepts).  The
		 * write is tried again once they are gone.
		 */
		if (ack_write(fs, dir, seq, sync, st) != 0)
			unsaved = 1;
		cur = seq;
	}
	*acked = cur;
	memset(&l, 0, sizeof(l));
	if (seglist_load(fs, dir, &l) != 0) {
		seglist_free(&l);
		return -1;
	}
	for (i = 0; i + 1 < l.n; i++) {
		if (l.first[i + 1] - 1 > cur)
			break;
		if (seg_path(path, sizeof(path), dir, l.first[i]) != 0 ||
		    (fs->remove(path) != 0 && errno != ENOENT)) {
			rc = -1;
			break;
		}
		removed++;
	}
	st->acked_segments_removed += removed;
	seglist_free(&l);
	if (removed > 0 && sync) {
		st->dir_fsyncs++;
		if (fs->sync_dir(dir) != 0)
			rc = -1;
	}
	if (unsaved && ack_write(fs, dir, seq, sync, st) != 0) {
		log_warn("spool: %s: cannot write the ack file", dir);
		rc = -1;
	}
	return rc;
}

/* ----------------------------------------------------------- writer */

struct pk_spool {
	struct pk_spool_settings set;
	char		 dir[PK_SPOOL_PATH_MAX];
	const struct pk_spool_fsops *fs;
	void		*fh;		/* newest segment, or NULL */
	uint64_t	 seg_first;
	uint64_t	 seg_size;	/* bytes of whole records in it */
	int		 seg_broken;	/* a failed write or fsync: rotate */
	int		 dirty;		/* appended since the last sync */
	uint64_t	 last_seq;	/* last record written (0: none) */
	uint64_t	 last_sync_us;
	int		 failing;	/* log the first of a run of errors */
	struct pk_spool_stats st;
	uint8_t		 frame[PK_SPOOL_HDR + PK_SPOOL_PAYLOAD_MAX];
};

void
pk_spool_settings_init(struct pk_spool_settings *s, const char *dir)
{
	memset(s, 0, sizeof(*s));
	s->dir = dir;
	s->max_bytes = PK_SPOOL_MAX_BYTES_DEFAULT;
	s->segment_bytes = PK_SPOOL_SEGMENT_DEFAULT;
	s->sync = PK_SPOOL_SYNC_BATCH;
	s->sync_interval_ms = PK_SPOOL_SYNC_MS_DEFAULT;
}

static int
settings_check(struct pk_spool_settings *s)
{
	if (s->dir == NULL || s->dir[0] == '\0' ||
	    strlen(s->dir) >= PK_SPOOL_PATH_MAX - 64) {
		log_warnx("spool: no usable directory");
		return -1;
	}
	if (s->segment_bytes == 0)
		s->segment_bytes = PK_SPOOL_SEGMENT_DEFAULT;
	if (s->max_bytes == 0)
		s->max_bytes = PK_SPOOL_MAX_BYTES_DEFAULT;
	if (s->sync_interval_ms == 0)
		s->sync_interval_ms = PK_SPOOL_SYNC_MS_DEFAULT;
	if (s->segment_bytes < PK_SPOOL_SEGMENT_MIN ||
	    s->max_bytes / 2 < s->segment_bytes) {
		log_warnx("spool: segment_bytes must be at least %d and at "
		    "most half of max_bytes", PK_SPOOL_SEGMENT_MIN);
		return -1;
	}
	if (s->sync != PK_SPOOL_SYNC_BATCH && s->sync != PK_SPOOL_SYNC_ALWAYS &&
	    s->sync != PK_SPOOL_SYNC_NEVER) {
		log_warnx("spool: unknown sync policy %d", s->sync);
		return -1;
	}
	if (s->fs == NULL)
		s->fs = &pk_spool_fs_default;
	return 0;
}

static int
do_sync(struct pk_spool *sp)
{
	if (sp->set.sync == PK_SPOOL_SYNC_NEVER || sp->fh == NULL ||
	    !sp->dirty)
		return 0;
	sp->st.fsyncs++;
	if (sp->set.now_us != NULL)
		sp->last_sync_us = sp->set.now_us();
	if (sp->fs->sync(sp->fh) != 0) {
		/* After a failed fsync the kernel may have dropped the dirty
		 * pages: never trust this file again for new records. */
		log_warn("spool: fsync of segment %llu",
		    (unsigned long long)sp->seg_first);
		sp->seg_broken = 1;
		sp->st.write_errors++;
		return -1;
	}
	sp->dirty = 0;
	sp->st.durable_seq = sp->last_seq;
	return 0;
}

static int
dir_sync(struct pk_spool *sp)
{
	if (sp->set.sync == PK_SPOOL_SYNC_NEVER)
		return 0;
	sp->st.dir_fsyncs++;
	return sp->fs->sync_dir(sp->dir);
}

static int
file_size(const struct pk_spool_fsops *fs, const char *path, uint64_t *size)
{
	void *fh;
	int rc;

	if (fs->open(path, PK_SPOOL_OPEN_READ, &fh) != 0)
		return -1;
	rc = fs->size(fh, size);
	fs->close(fh);
	return rc;
}

/*
 * Drop the oldest segments until what is on disk plus need fits in
 * max_bytes.  The active segment (if any) is kept: need is 0 at open and
 * the next segment's size at rotation, when nothing is active.  What was
 * not acknowledged is counted as sequence numbers lost, which is what the
 * hub sees as a gap.
 */
static int
enforce_bound(struct pk_spool *sp, uint64_t need)
{
	char path[PK_SPOOL_PATH_MAX];
	struct seglist l;
	uint64_t *sizes = NULL, total = 0, acked = sp->st.acked_seq, last;
	size_t i, keep, removed = 0;
	int rc = 0;

	memset(&l, 0, sizeof(l));
	if (seglist_load(sp->fs, sp->dir, &l) != 0 ||
	    (l.n > 0 && (sizes = calloc(l.n, sizeof(*sizes))) == NULL)) {
		seglist_free(&l);
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		if (seg_path(path, sizeof(path), sp->dir, l.first[i]) == 0 &&
		    file_size(sp->fs, path, &sizes[i]) == 0)
			total += sizes[i];
	}
	keep = sp->fh != NULL ? 1 : 0;
	for (i = 0; i + keep < l.n && total + need > sp->set.max_bytes; i++) {
		if (seg_path(path, sizeof(path), sp->dir, l.first[i]) != 0 ||
		    (sp->fs->remove(path) != 0 && errno != ENOENT)) {
			rc = -1;
			break;
		}
		removed++;
		total -= sizes[i];
		last = i + 1 < l.n ? l.first[i + 1] - 1 : sp->st.next_seq - 1;
		if (last > acked) {
			uint64_t from = PK_MAX(l.first[i], acked + 1);

			sp->st.dropped_full_records += last - from + 1;
			sp->st.dropped_full_bytes += sizes[i];
			sp->st.dropped_full_segments++;
			log_warnx("spool: full (max_bytes %llu): dropped "
			    "segment %llu, %llu unacknowledged records",
			    (unsigned long long)sp->set.max_bytes,
			    (unsigned long long)l.first[i],
			    (unsigned long long)(last - from + 1));
		} else
			sp->st.acked_segments_removed++;
	}
	sp->st.segments = l.n - removed;
	sp->st.disk_bytes = total;
	sp->st.oldest_seq = removed < l.n ? l.first[removed] : 0;
	free(sizes);
	seglist_free(&l);
	if (removed > 0 && dir_sync(sp) != 0)
		rc = -1;
	return rc;
}

/* Seal the active segment (fsynced) and start the next one. */
static int
rotate(struct pk_spool *sp, uint64_t need)
{
	char path[PK_SPOOL_PATH_MAX];
	uint64_t size = 0, acked;

	if (sp->fh != NULL) {
		/* Older segments are never scanned at open: they must be
		 * complete on disk before a newer one exists. */
		if (!sp->seg_broken && do_sync(sp) != 0)
			return -1;
		sp->fs->close(sp->fh);
		sp->fh = NULL;
	}
	if (ack_read(sp->fs, sp->dir, &acked) == 0 && acked > sp->st.acked_seq)
		sp->st.acked_seq = acked;
	if (enforce_bound(sp, PK_MAX(need, sp->set.segment_bytes)) != 0)
		log_warn("spool: %s: cannot drop old segments", sp->dir);
	if (seg_path(path, sizeof(path), sp->dir, sp->st.next_seq) != 0 ||
	    sp->fs->open(path, PK_SPOOL_OPEN_APPEND, &sp->fh) != 0) {
		sp->fh = NULL;
		return -1;
	}
	/* A file of this name can only hold a failed attempt: no record with
	 * a sequence number >= next_seq was ever written successfully. */
	if (sp->fs->size(sp->fh, &size) != 0 ||
	    (size > 0 && sp->fs->truncate(sp->fh, 0) != 0) ||
	    dir_sync(sp) != 0) {
		sp->fs->close(sp->fh);
		sp->fh = NULL;
		return -1;
	}
	sp->seg_first = sp->st.next_seq;
	sp->seg_size = 0;
	sp->seg_broken = 0;
	sp->dirty = 0;
	sp->st.segments++;
	if (sp->st.oldest_seq == 0)
		sp->st.oldest_seq = sp->seg_first;
	return 0;
}

/*
 * Scan the newest segment with CRCs; truncate at the first record that is
 * incomplete, invalid or out of sequence.  Everything after that point was
 * written after the last successful fsync (earlier bytes were durable), so
 * only records never promised durable are cut.
 */
static int
recover_last(struct pk_spool *sp, uint64_t first)
{
	char path[PK_SPOOL_PATH_MAX];
	struct scan sc;
	uint64_t size = 0, seq, prev = 0;
	const uint8_t *pl;
	size_t len, rsize;
	int r, bad = 0;

	memset(&sc, 0, sizeof(sc));
	if (seg_path(path, sizeof(path), sp->dir, first) != 0 ||
	    sp->fs->open(path, PK_SPOOL_OPEN_APPEND, &sp->fh) != 0 ||
	    sp->fs->size(sp->fh, &size) != 0) {
		log_warn("spool: cannot open %s", path);
		return -1;
	}
	sc.fs = sp->fs;
	sc.fh = sp->fh;
	if ((sc.win = malloc(WIN_CAP)) == NULL)
		return -1;
	for (;;) {
		r = scan_next(&sc, &seq, &pl, &len, &rsize);
		if (r == SCAN_IO) {
			free(sc.win);
			return -1;
		}
		if (r != SCAN_REC)
			break;
		if (seq < first || (prev != 0 && seq <= prev)) {
			r = SCAN_BAD;
			break;
		}
		prev = seq;
		sc.off += rsize;
	}
	free(sc.win);
	if (r == SCAN_BAD)
		bad = 1;
	if (sc.off < size) {
		sp->st.torn_bytes += size - sc.off;
		if (bad)
			sp->st.corrupt_records++;
		log_warnx("spool: %s: truncated %llu bytes at offset %llu (%s)",
		    path, (unsigned long long)(size - sc.off),
		    (unsigned long long)sc.off, bad ? "corrupt record" :
		    "torn write");
		if (sp->fs->truncate(sp->fh, sc.off) != 0) {
			log_warn("spool: truncate %s", path);
			/* Appending after garbage would hide new records
			 * from readers: start a new segment instead. */
			sp->seg_broken = 1;
		}
	}
	/* Whatever survived may still be only in the page cache (the
	 * previous run may have been killed before its sync): make it
	 * durable now, so durable_seq is true from the start. */
	if (!sp->seg_broken && sp->set.sync != PK_SPOOL_SYNC_NEVER) {
		sp->st.fsyncs++;
		if (sp->fs->sync(sp->fh) != 0)
			sp->seg_broken = 1;
	}
	sp->seg_first = first;
	sp->seg_size = sc.off;
	sp->last_seq = prev;
	if (prev != 0)
		sp->st.next_seq = PK_MAX(sp->st.next_seq, prev + 1);
	sp->st.next_seq = PK_MAX(sp->st.next_seq, first);
	sp->st.durable_seq = sp->seg_broken ? 0 : prev;
	return 0;
}

static int
spool_recover(struct pk_spool *sp)
{
	struct seglist l;
	int rc = 0;

	if (ack_read(sp->fs, sp->dir, &sp->st.acked_seq) != 0) {
		log_warn("spool: %s: cannot read the ack file", sp->dir);
		return -1;
	}
	sp->st.next_seq = PK_MAX(sp->st.acked_seq + 1, 1);
	memset(&l, 0, sizeof(l));
	if (seglist_load(sp->fs, sp->dir, &l) != 0) {
		log_warn("spool: cannot list %s", sp->dir);
		seglist_free(&l);
		return -1;
	}
	if (l.ignored > 0)
		log_warnx("spool: %s: %llu segments over the limit ignored",
		    sp->dir, (unsigned long long)l.ignored);
	if (l.n > 0)
		rc = recover_last(sp, l.first[l.n - 1]);
	seglist_free(&l);
	if (rc == 0 && enforce_bound(sp, 0) != 0)
		log_warn("spool: %s: cannot drop old segments", sp->dir);
	return rc;
}

struct pk_spool *
pk_spool_open(const struct pk_spool_settings *s)
{
	struct pk_spool *sp;

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return NULL;
	sp->set = *s;
	if (settings_check(&sp->set) != 0)
		goto fail;
	pk_strlcpy(sp->dir, sp->set.dir, sizeof(sp->dir));
	sp->set.dir = sp->dir;
	sp->fs = sp->set.fs;
	if (sp->fs->mkdir(sp->dir) != 0) {
		log_warn("spool: cannot create %s", sp->dir);
		goto fail;
	}
	if (spool_recover(sp) != 0)
		goto fail;
	if (sp->set.now_us != NULL)
		sp->last_sync_us = sp->set.now_us();
	if (sp->st.torn_bytes > 0 || sp->st.dropped_full_segments > 0)
		log_info("spool: %s recovered: next seq %llu, %llu bytes "
		    "truncated, %llu records dropped", sp->dir,
		    (unsigned long long)sp->st.next_seq,
		    (unsigned long long)sp->st.torn_bytes,
		    (unsigned long long)sp->st.dropped_full_records);
	return sp;
fail:
	if (sp->fh != NULL)
		sp->fs->close(sp->fh);
	free(sp);
	return NULL;
}

void
pk_spool_close(struct pk_spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fh != NULL) {
		(void)do_sync(sp);
		sp->fs->close(sp->fh);
	}
	free(sp);
}

static void
write_failed(struct pk_spool *sp, const char *what)
{
	int saved = errno;

	sp->st.write_errors++;
	if (saved == ENOSPC)
		sp->st.enospc_errors++;
	if (!sp->failing)
		log_warnx("spool: %s: %s: %s (records are lost and counted "
		    "until it works again)", sp->dir, what, strerror(saved));
	sp->failing = 1;
	errno = saved;
}

int
pk_spool_append(struct pk_spool *sp, const void *payload, size_t len,
    uint64_t *seq)
{
	size_t rec = PK_SPOOL_HDR + len;

	if (len == 0 || len > PK_SPOOL_PAYLOAD_MAX) {
		sp->st.rejected_records++;
		errno = EINVAL;
		return -1;
	}
	if (sp->fh == NULL || sp->seg_broken ||
	    (sp->seg_size > 0 && sp->seg_size + rec > sp->set.segment_bytes)) {
		if (rotate(sp, rec) != 0) {
			write_failed(sp, "cannot start a segment");
			return -1;
		}
	}
	pk_spool_encode(sp->frame, sp->st.next_seq, payload, len);
	if (sp->fs->append(sp->fh, sp->frame, rec) != 0) {
		int saved = errno;

		/* Part of the record may be on disk: cut it off, or stop
		 * writing to this file if even that fails.  The sequence
		 * number is spent either way, so it can never name two
		 * different records. */
		if (sp->fs->truncate(sp->fh, sp->seg_size) != 0)
			sp->seg_broken = 1;
		sp->st.next_seq++;
		errno = saved;
		write_failed(sp, "append");
		return -1;
	}
	if (sp->failing) {
		log_info("spool: %s: writing again", sp->dir);
		sp->failing = 0;
	}
	sp->last_seq = sp->st.next_seq++;
	sp->seg_size += rec;
	sp->dirty = 1;
	sp->st.records_appended++;
	sp->st.bytes_appended += rec;
	sp->st.disk_bytes += rec;
	if (seq != NULL)
		*seq = sp->last_seq;
	if (sp->set.sync == PK_SPOOL_SYNC_ALWAYS)
		return do_sync(sp);
	if (sp->set.sync == PK_SPOOL_SYNC_BATCH && sp->set.now_us != NULL)
		(void)pk_spool_tick(sp, sp->set.now_us());
	return 0;
}

int
pk_spool_sync(struct pk_spool *sp, uint64_t *durable)
{
	int rc = do_sync(sp);

	if (durable != NULL)
		*durable = sp->st.durable_seq;
	return rc;
}

int
pk_spool_tick(struct pk_spool *sp, uint64_t now_us)
{
	if (sp->set.sync != PK_SPOOL_SYNC_BATCH || !sp->dirty)
		return 0;
	if (now_us - sp->last_sync_us < (uint64_t)sp->set.sync_interval_ms *
	    1000)
		return 0;
	sp->last_sync_us = now_us;
	return do_sync(sp);
}

uint64_t
pk_spool_next_seq(const struct pk_spool *sp)
{
	return sp->st.next_seq;
}

void
pk_spool_raise_seq(struct pk_spool *sp, uint64_t next)
{
	if (next > sp->st.next_seq && next < PK_SPOOL_SEQ_LIMIT) {
		sp->st.next_seq = next;
		/* The active segment's name must stay <= its records' seqs,
		 * which it does; nothing else to do. */
	}
}

int
pk_spool_ack(struct pk_spool *sp, uint64_t seq)
{
	uint64_t acked = 0;
	int rc;

	/* Never acknowledge what was not handed out. */
	if (seq >= sp->st.next_seq)
		seq = sp->st.next_seq - 1;
	rc = ack_apply(sp->fs, sp->dir, seq,
	    sp->set.sync != PK_SPOOL_SYNC_NEVER, &sp->st, &acked);
	if (acked > sp->st.acked_seq)
		sp->st.acked_seq = acked;
	return rc;
}

void
pk_spool_stats(struct pk_spool *sp, struct pk_spool_stats *st)
{
	uint64_t acked;

	if (ack_read(sp->fs, sp->dir, &acked) == 0 && acked > sp->st.acked_seq)
		sp->st.acked_seq = acked;
	*st = sp->st;
}

/* ----------------------------------------------------------- reader */

struct pk_spool_reader {
	const struct pk_spool_fsops *fs;
	char		 dir[PK_SPOOL_PATH_MAX];
	struct seglist	 segs;
	struct scan	 sc;		/* sc.fh NULL: no cursor */
	uint64_t	 seg_first;
	uint64_t	 seg_limit;	/* successor's name: records stay below */
	uint64_t	 prev;		/* last seq seen in this segment */
	uint64_t	 cursor;	/* next call's from, when positioned */
	struct pk_spool_stats st;
};

struct pk_spool_reader *
pk_spool_reader_open(const char *dir, const struct pk_spool_fsops *fs)
{
	struct pk_spool_reader *rd;

	if (dir == NULL || strlen(dir) >= PK_SPOOL_PATH_MAX - 64)
		return NULL;
	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return NULL;
	if ((rd->sc.win = malloc(WIN_CAP)) == NULL) {
		free(rd);
		return NULL;
	}
	rd->fs = fs != NULL ? fs : &pk_spool_fs_default;
	rd->sc.fs = rd->fs;
	pk_strlcpy(rd->dir, dir, sizeof(rd->dir));
	return rd;
}

static void
reader_drop_cursor(struct pk_spool_reader *rd)
{
	if (rd->sc.fh != NULL)
		rd->fs->close(rd->sc.fh);
	rd->sc.fh = NULL;
	rd->sc.wlen = 0;
	rd->sc.woff = 0;
}

void
pk_spool_reader_close(struct pk_spool_reader *rd)
{
	if (rd == NULL)
		return;
	reader_drop_cursor(rd);
	seglist_free(&rd->segs);
	free(rd->sc.win);
	free(rd);
}

/* Open the oldest listed segment whose name is >= after (0: any). */
static int
reader_open_from(struct pk_spool_reader *rd, uint64_t min_first)
{
	char path[PK_SPOOL_PATH_MAX];
	size_t i;

	reader_drop_cursor(rd);
	for (i = 0; i < rd->segs.n; i++) {
		if (rd->segs.first[i] < min_first)
			continue;
		if (seg_path(path, sizeof(path), rd->dir, rd->segs.first[i])
		    != 0)
			return -1;
		if (rd->fs->open(path, PK_SPOOL_OPEN_READ, &rd->sc.fh) == 0) {
			rd->seg_first = rd->segs.first[i];
			rd->seg_limit = i + 1 < rd->segs.n ?
			    rd->segs.first[i + 1] : PK_SPOOL_SEQ_LIMIT;
			rd->sc.off = 0;
			rd->prev = 0;
			return 1;
		}
		rd->sc.fh = NULL;
		if (errno != ENOENT)	/* ENOENT: dropped meanwhile */
			return -1;
	}
	return 0;
}

/* Position at the segment that may hold from. 1 positioned, 0 none. */
static int
reader_seek(struct pk_spool_reader *rd, uint64_t from)
{
	size_t i, pick = 0;

	if (seglist_load(rd->fs, rd->dir, &rd->segs) != 0)
		return -1;
	for (i = 0; i < rd->segs.n; i++)
		if (rd->segs.first[i] <= from)
			pick = i;
	return rd->segs.n == 0 ? 0 :
	    reader_open_from(rd, rd->segs.first[pick]);
}

/* The first listed segment after the current one, or 0 if none. */
static int
reader_has_successor(struct pk_spool_reader *rd, int *yes)
{
	size_t i;

	*yes = 0;
	if (seglist_load(rd->fs, rd->dir, &rd->segs) != 0)
		return -1;
	for (i = 0; i < rd->segs.n && !*yes; i++)
		if (rd->segs.first[i] > rd->seg_first) {
			*yes = 1;
			rd->seg_limit = rd->segs.first[i];
		}
	return 0;
}

/*
 * At the end of what the current segment offers.  If a newer segment
 * exists, this one is sealed (the writer creates the next only after the
 * last write here), so read it once more to the end, count what cannot be
 * read, and move on.  1: moved, 0: stay (newest segment), -1: error.
 */
static int
reader_advance(struct pk_spool_reader *rd, int r)
{
	uint64_t seq, size = 0;
	const uint8_t *pl;
	size_t len, rsize;
	int succ;

	if (reader_has_successor(rd, &succ) != 0)
		return -1;
	if (!succ)
		return 0;
	if (r != SCAN_BAD) {
		r = scan_next(&rd->sc, &seq, &pl, &len, &rsize);
		if (r == SCAN_REC)
			return 1;	/* it grew before it was sealed */
		if (r == SCAN_IO)
			return -1;
	}
	if (r != SCAN_END && rd->fs->size(rd->sc.fh, &size) == 0 &&
	    size > rd->sc.off) {
		rd->st.corrupt_records++;
		rd->st.skipped_bytes += size - rd->sc.off;
		log_warnx("spool: %s: segment %llu unreadable from offset "
		    "%llu: %llu bytes skipped", rd->dir,
		    (unsigned long long)rd->seg_first,
		    (unsigned long long)rd->sc.off,
		    (unsigned long long)(size - rd->sc.off));
	}
	r = reader_open_from(rd, rd->seg_first + 1);
	return r < 0 ? -1 : r;
}

long
pk_spool_read(struct pk_spool_reader *rd, uint64_t from,
    size_t max_records, size_t max_bytes, pk_spool_record_fn fn, void *arg,
    uint64_t *next_from)
{
	const uint8_t *pl;
	uint64_t seq, bytes = 0;
	size_t len, rsize;
	long n = 0;
	int r;

	if (next_from != NULL)
		*next_from = from;
	if (rd->sc.fh == NULL || rd->cursor != from) {
		if ((r = reader_seek(rd, from)) <= 0)
			return r;
		rd->cursor = from;
	}
	while (max_records == 0 || (size_t)n < max_records) {
		r = scan_next(&rd->sc, &seq, &pl, &len, &rsize);
		if (r == SCAN_IO)
			return -1;
		if (r == SCAN_REC && (seq < rd->seg_first ||
		    seq >= rd->seg_limit || (rd->prev != 0 && seq <= rd->prev)))
			r = SCAN_BAD;	/* out of order: not to be trusted */
		if (r != SCAN_REC) {
			if ((r = reader_advance(rd, r)) < 0)
				return -1;
			if (r == 0)
				break;
			continue;
		}
		if (seq >= from) {
			if (n > 0 && max_bytes != 0 && bytes + len > max_bytes)
				break;
			bytes += len;
			n++;
			rd->cursor = seq + 1;
			if (next_from != NULL)
				*next_from = seq + 1;
		}
		rd->prev = seq;
		rd->sc.off += rsize;
		if (seq >= from && fn(arg, seq, pl, len) != 0)
			break;
	}
	return n;
}

int
pk_spool_reader_ack(struct pk_spool_reader *rd, uint64_t seq, int sync)
{
	uint64_t acked = 0;

	return ack_apply(rd->fs, rd->dir, seq, sync, &rd->st, &acked);
}

uint64_t
pk_spool_reader_acked(struct pk_spool_reader *rd)
{
	uint64_t acked = 0;

	(void)ack_read(rd->fs, rd->dir, &acked);
	return acked;
}

void
pk_spool_reader_stats(const struct pk_spool_reader *rd,
    struct pk_spool_stats *st)
{
	*st = rd->st;
}
