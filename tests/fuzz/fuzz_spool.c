/*
 * fuzz_spool.c - libFuzzer target for the spool's reading and recovery
 * (transport/spool.c).  The input becomes segment files in an in-memory
 * directory (a struct pk_spool_fsops kept here, so no disk is touched):
 * split at the first "SEG2" into an older segment named 1 and a newer one
 * named 1000, and, when it starts with "ACK", the 20 bytes after it are the
 * ack file.  Then: a reader reads everything (sequence numbers must rise,
 * payloads stay in bounds), the writer opens (recovery truncates the newest
 * segment), a second read must deliver exactly what the first did (the
 * reader and recovery share one rule for where valid data ends), and one
 * append must come back last with the sequence number the writer promised.
 * Any broken promise aborts.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "transport/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_FILES	8
#define MEM_CAP		(1 << 20)
#define DIR		"mem"

struct memfile {
	char	 name[64];
	uint8_t	*data;
	size_t	 size;
	int	 used;
};

static struct memfile files[MEM_FILES];

static struct memfile *
lookup(const char *path)
{
	const char *name;
	int i;

	if (strncmp(path, DIR "/", sizeof(DIR)) != 0)
		return NULL;
	name = path + sizeof(DIR);
	for (i = 0; i < MEM_FILES; i++)
		if (files[i].used && strcmp(files[i].name, name) == 0)
			return &files[i];
	return NULL;
}

static struct memfile *
create(const char *name)
{
	int i;

	for (i = 0; i < MEM_FILES; i++)
		if (!files[i].used) {
			memset(&files[i], 0, sizeof(files[i]));
			snprintf(files[i].name, sizeof(files[i].name), "%s",
			    name);
			if ((files[i].data = malloc(MEM_CAP)) == NULL)
				abort();
			files[i].used = 1;
			return &files[i];
		}
	errno = ENOSPC;
	return NULL;
}

static int
m_open(const char *path, int mode, void **fh)
{
	struct memfile *f = lookup(path);

	if (f == NULL) {
		if (mode == PK_SPOOL_OPEN_READ ||
		    strncmp(path, DIR "/", sizeof(DIR)) != 0) {
			errno = ENOENT;
			return -1;
		}
		if ((f = create(path + sizeof(DIR))) == NULL)
			return -1;
	}
	if (mode == PK_SPOOL_OPEN_REPLACE)
		f->size = 0;
	*fh = f;
	return 0;
}

static int
m_append(void *fh, const void *buf, size_t len)
{
	struct memfile *f = fh;

	if (len > MEM_CAP - f->size) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(f->data + f->size, buf, len);
	f->size += len;
	return 0;
}

static int
m_pread(void *fh, uint64_t off, void *buf, size_t len, size_t *got)
{
	struct memfile *f = fh;

	*got = 0;
	if (off < f->size) {
		*got = f->size - (size_t)off < len ? f->size - (size_t)off :
		    len;
		memcpy(buf, f->data + off, *got);
	}
	return 0;
}

static int
m_size(void *fh, uint64_t *size)
{
	*size = ((struct memfile *)fh)->size;
	return 0;
}

static int
m_truncate(void *fh, uint64_t size)
{
	struct memfile *f = fh;

	if (size > f->size)
		abort();	/* the spool only ever shortens */
	f->size = (size_t)size;
	return 0;
}

static int
m_ok(void *fh)
{
	(void)fh;
	return 0;
}

static void
m_close(void *fh)
{
	(void)fh;
}

static int
m_sync_dir(const char *dir)
{
	(void)dir;
	return 0;
}

static int
m_list(const char *dir, pk_spool_name_fn fn, void *arg)
{
	int i;

	if (strcmp(dir, DIR) != 0) {
		errno = ENOENT;
		return -1;
	}
	for (i = 0; i < MEM_FILES; i++)
		if (files[i].used && fn(arg, files[i].name) != 0)
			return -1;
	return 0;
}

/* Removal keeps the bytes (handles may still read them, as on POSIX). */
static int
m_remove(const char *path)
{
	struct memfile *f = lookup(path);

	if (f == NULL) {
		errno = ENOENT;
		return -1;
	}
	f->used = 0;
	return 0;
}

static int
m_rename(const char *from, const char *to)
{
	struct memfile *f = lookup(from), *t = lookup(to);

	if (f == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (t != NULL) {
		free(t->data);
		memset(t, 0, sizeof(*t));
	}
	snprintf(f->name, sizeof(f->name), "%s", to + sizeof(DIR));
	return 0;
}

static int
m_mkdir(const char *path)
{
	(void)path;
	return 0;
}

static const struct pk_spool_fsops memfs = {
	m_open, m_append, m_pread, m_size, m_truncate, m_ok, m_close,
	m_sync_dir, m_list, m_remove, m_rename, m_mkdir,
};

static void
put(const char *name, const uint8_t *p, size_t n)
{
	struct memfile *f = create(name);

	if (f == NULL || n > MEM_CAP)
		abort();
	memcpy(f->data, p, n);
	f->size = n;
}

struct seen {
	uint64_t seq[4096];
	uint32_t crc[4096];
	size_t	 n;
	int	 overflow;
};

static int
see(void *arg, uint64_t seq, const uint8_t *pl, size_t len)
{
	struct seen *s = arg;
	uint32_t h = 2166136261u;
	size_t i;

	if (len == 0 || len > PK_SPOOL_PAYLOAD_MAX)
		abort();
	if (s->n > 0 && seq <= s->seq[s->n - 1])
		abort();
	for (i = 0; i < len; i++)
		h = (h ^ pl[i]) * 16777619u;
	if (s->n == 4096) {
		s->overflow = 1;
		return 1;
	}
	s->seq[s->n] = seq;
	s->crc[s->n] = h;
	s->n++;
	return 0;
}

static void
read_all(struct seen *s)
{
	struct pk_spool_reader *rd = pk_spool_reader_open(DIR, &memfs);
	uint64_t next = 0;
	long r;
	int rounds = 0;

	if (rd == NULL)
		abort();
	memset(s, 0, sizeof(*s));
	while ((r = pk_spool_read(rd, next, 64, 0, see, s, &next)) > 0 &&
	    !s->overflow)
		if (++rounds > 10000)
			abort();
	if (r < 0)
		abort();
	pk_spool_reader_close(rd);
}

static void
reset(void)
{
	int i;

	for (i = 0; i < MEM_FILES; i++) {
		free(files[i].data);
		memset(&files[i], 0, sizeof(files[i]));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen before, after;
	struct pk_spool_settings set;
	struct pk_spool *sp;
	const uint8_t *split;
	uint64_t seq = 0, expect;
	size_t i;

	log_setlevel(LOG_LVL_ERR);
	if (size > MEM_CAP / 2)
		return 0;
	reset();
	if (size >= 23 && memcmp(data, "ACK", 3) == 0) {
		put("ack", data + 3, 20);
		data += 23;
		size -= 23;
	}
	split = NULL;
	for (i = 0; i + 4 <= size; i++)
		if (memcmp(data + i, "SEG2", 4) == 0) {
			split = data + i;
			break;
		}
	if (split != NULL) {
		put("00000000000000000001.seg", data, (size_t)(split - data));
		put("00000000000000001000.seg", split + 4,
		    size - (size_t)(split - data) - 4);
	} else
		put("00000000000000000001.seg", data, size);

	read_all(&before);
	pk_spool_settings_init(&set, DIR);
	set.segment_bytes = 1 << 16;
	set.max_bytes = 1 << 22;
	set.fs = &memfs;
	if ((sp = pk_spool_open(&set)) == NULL)
		abort();
	read_all(&after);
	if (!before.overflow && !after.overflow &&
	    (before.n != after.n ||
	    memcmp(before.seq, after.seq, before.n * sizeof(before.seq[0])) ||
	    memcmp(before.crc, after.crc, before.n * sizeof(before.crc[0]))))
		abort();
	expect = pk_spool_next_seq(sp);
	if (after.n > 0 && expect <= after.seq[after.n - 1])
		abort();
	if (pk_spool_append(sp, "{\"x\":1}", 7, &seq) != 0 || seq != expect)
		abort();
	pk_spool_close(sp);
	read_all(&after);
	/* The new record is last: unless the ack point hides it... it never
	 * does (the writer numbers above the ack point). */
	if (!after.overflow && (after.n == 0 || after.seq[after.n - 1] != seq))
		abort();
	reset();
	return 0;
}
