/*
 * hash_win32.c - the executable hasher on Windows (see hash.h; the Linux
 * one is hash_linux.c).  The Windows agent has one thread for capture and
 * ETW, so hashing runs on it, synchronously, and is bounded instead of
 * handed off: a token bucket lets at most WIN_RATE bytes a second be read
 * over time (a file may start while the second's budget is not spent, so
 * one stall is at most one file of up to [process] hash_max_size), and
 * one file may take at most WIN_FILE_US.  A request that finds the budget
 * spent waits in a bounded queue (PK_HASH_QUEUE) and is hashed by a later
 * pk_hasher_result(), which the agent calls after every ETW drain and
 * every second; its result then reaches procdet as on Linux.  Files are
 * opened with every share mode (a running image is open for execution;
 * a writer must not be blocked by the agent) and must still be the file
 * that ran (volume serial, file index, size, last write time).  Results
 * are cached, direct-mapped by file identity, PK_HASH_CACHE slots.
 * Called by the Windows agent's ETW feed (collectors/etw/etwproc.c) and
 * the unit test under wine, on one thread.
 */
#include <windows.h>
#include <io.h>

#include <stdlib.h>
#include <string.h>

#include "collectors/ebpf/hash.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/sha256.h"
#include "common/util.h"

#define HASH_CHUNK	(64 * 1024)
#define WIN_RATE	(32LL * 1024 * 1024)	/* bytes a second */
#define WIN_FILE_US	(2ULL * 1000000ULL)	/* one file at most */
#define WPATH_MAX	(PK_PROC_EXE_MAX + 8)	/* UTF-16 units, \\?\ too */
#define FT_UNIX_EPOCH	116444736000000000ULL	/* 1970 in 100 ns units */

struct wreq {
	struct pk_filekey key;
	uint32_t	 pid;
	char		 path[PK_PROC_EXE_MAX + 1];
};

struct wcache {
	struct pk_filekey key;
	uint8_t		 used, state;
	uint8_t		 sha256[32];
};

struct pk_hasher {
	uint64_t	 max_size;
	int64_t		 credit;	/* bytes that may still be read */
	uint64_t	 credit_us;	/* when it was last refilled */
	struct wreq	 q[PK_HASH_QUEUE];
	size_t		 qhead, qn;
	struct wcache	*c;		/* PK_HASH_CACHE slots */
	uint64_t	 requests, hits, queue_full, evicted, waited;
	uint64_t	 hashed, too_big, failed, bytes;
	unsigned char	 buf[HASH_CHUNK];
};

static uint64_t
ft_ns(DWORD lo, DWORD hi)
{
	uint64_t t = (uint64_t)hi << 32 | lo;

	return t > FT_UNIX_EPOCH ? (t - FT_UNIX_EPOCH) * 100 : 0;
}

/* UTF-8 path to UTF-16, long paths with the \\?\ prefix; 0 or -1. */
static int
wpath(const char *path, WCHAR *out, size_t cap)
{
	WCHAR tmp[WPATH_MAX];
	int n;

	n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, tmp,
	    (int)PK_NELEM(tmp));
	if (n <= 1)
		return -1;
	if ((size_t)n <= MAX_PATH || tmp[0] == L'\\') {
		if ((size_t)n > cap)
			return -1;
		memcpy(out, tmp, (size_t)n * sizeof(WCHAR));
		return 0;
	}
	/* a drive path longer than MAX_PATH: only the \\?\ form opens it */
	if ((size_t)n + 4 > cap)
		return -1;
	memcpy(out, L"\\\\?\\", 4 * sizeof(WCHAR));
	memcpy(out + 4, tmp, (size_t)n * sizeof(WCHAR));
	return 0;
}

static HANDLE
open_path(const char *path, DWORD access)
{
	WCHAR w[WPATH_MAX];

	if (wpath(path, w, PK_NELEM(w)) != 0)
		return INVALID_HANDLE_VALUE;
	return CreateFileW(w, access, FILE_SHARE_READ | FILE_SHARE_WRITE |
	    FILE_SHARE_DELETE, NULL, OPEN_EXISTING,
	    FILE_FLAG_SEQUENTIAL_SCAN, NULL);
}

static int
handle_key(HANDLE fh, struct pk_filekey *key, uint64_t *ctime_ns)
{
	BY_HANDLE_FILE_INFORMATION fi;
	FILE_BASIC_INFO bi;
	uint64_t c;

	if (!GetFileInformationByHandle(fh, &fi) ||
	    (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
		return -1;
	key->dev = fi.dwVolumeSerialNumber;
	key->ino = (uint64_t)fi.nFileIndexHigh << 32 | fi.nFileIndexLow;
	key->size = (uint64_t)fi.nFileSizeHigh << 32 | fi.nFileSizeLow;
	key->mtime_ns = ft_ns(fi.ftLastWriteTime.dwLowDateTime,
	    fi.ftLastWriteTime.dwHighDateTime);
	if (ctime_ns == NULL)
		return 0;
	/* A copy keeps the write time and gets a new creation time, so
	 * the later of the two stands for "when this file appeared". */
	c = ft_ns(fi.ftCreationTime.dwLowDateTime,
	    fi.ftCreationTime.dwHighDateTime);
	if (GetFileInformationByHandleEx(fh, FileBasicInfo, &bi,
	    sizeof(bi)) && bi.ChangeTime.QuadPart > 0)
		c = PK_MAX(c, ft_ns((DWORD)bi.ChangeTime.LowPart,
		    (DWORD)bi.ChangeTime.HighPart));
	*ctime_ns = c;
	return 0;
}

int
pk_hash_file_key(const char *path, struct pk_filekey *key, uint64_t *ctime_ns)
{
	HANDLE fh;
	int r;

	if ((fh = open_path(path, FILE_READ_ATTRIBUTES)) ==
	    INVALID_HANDLE_VALUE)
		return -1;
	r = handle_key(fh, key, ctime_ns);
	CloseHandle(fh);
	return r;
}

int
pk_sha256_file(int fd, uint64_t max_size, uint64_t budget_us, uint8_t out[32])
{
	struct pk_sha256 ctx;
	unsigned char *buf;
	uint64_t start = pk_mono_us(), total = 0;
	int n, rc = -1;

	if ((buf = malloc(HASH_CHUNK)) == NULL)
		return -1;
	pk_sha256_init(&ctx);
	for (;;) {
		if ((n = _read(fd, buf, HASH_CHUNK)) < 0)
			goto out;
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max_size || pk_mono_us() - start > budget_us)
			goto out;
		pk_sha256_update(&ctx, buf, (size_t)n);
	}
	pk_sha256_final(&ctx, out);
	rc = 0;
out:
	free(buf);
	return rc;
}

/* Hash the file rq names if it is still the one that ran. */
static int
work_one(struct pk_hasher *h, const struct wreq *rq, uint8_t out[32])
{
	struct pk_sha256 ctx;
	struct pk_filekey now;
	uint64_t start = pk_mono_us(), total = 0;
	HANDLE fh;
	DWORD n;
	int st = PK_HASH_FAILED;

	if (rq->key.size > h->max_size)
		return PK_HASH_TOO_BIG;
	if ((fh = open_path(rq->path, GENERIC_READ)) == INVALID_HANDLE_VALUE)
		return PK_HASH_FAILED;
	if (handle_key(fh, &now, NULL) != 0 ||
	    memcmp(&now, &rq->key, sizeof(now)) != 0)
		goto out;
	pk_sha256_init(&ctx);
	for (;;) {
		if (!ReadFile(fh, h->buf, sizeof(h->buf), &n, NULL))
			goto out;
		if (n == 0)
			break;
		total += n;
		if (total > h->max_size || pk_mono_us() - start > WIN_FILE_US)
			goto out;
		pk_sha256_update(&ctx, h->buf, n);
	}
	pk_sha256_final(&ctx, out);
	st = PK_HASH_DONE;
out:
	CloseHandle(fh);
	/* what was read is charged, whatever came of it */
	h->credit -= (int64_t)PK_MIN(total, (uint64_t)INT64_MAX / 2);
	h->bytes += total;
	return st;
}

static void
refill(struct pk_hasher *h)
{
	uint64_t now = pk_mono_us(), dt = now - PK_MIN(h->credit_us, now);

	h->credit_us = now;
	if (dt > PK_USEC)
		dt = PK_USEC;
	h->credit += (int64_t)(dt * (uint64_t)WIN_RATE / PK_USEC);
	if (h->credit > WIN_RATE)
		h->credit = WIN_RATE;
}

static struct wcache *
slot(struct pk_hasher *h, const struct pk_filekey *k)
{
	uint64_t v = pk_fnv1a64(k, sizeof(*k), PK_FNV_SEED);

	return &h->c[(size_t)(v ^ (v >> 32)) & (PK_HASH_CACHE - 1)];
}

static void
count(struct pk_hasher *h, int st)
{
	if (st == PK_HASH_DONE)
		h->hashed++;
	else if (st == PK_HASH_TOO_BIG)
		h->too_big++;
	else
		h->failed++;
}

/* Remember a verdict; a failure may be a race with an exit: forgotten. */
static void
remember(struct wcache *c, const struct pk_filekey *k, int st,
    const uint8_t sha[32])
{
	if (st == PK_HASH_FAILED) {
		c->used = 0;
		return;
	}
	c->used = 1;
	c->key = *k;
	c->state = (uint8_t)st;
	memcpy(c->sha256, sha, 32);
}

struct pk_hasher *
pk_hasher_new(uint64_t max_size, char *err, size_t errlen)
{
	struct pk_hasher *h;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->c = calloc(PK_HASH_CACHE, sizeof(*h->c))) == NULL) {
		free(h);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->max_size = max_size;
	h->credit = WIN_RATE;
	h->credit_us = pk_mono_us();
	return h;
}

void
pk_hasher_free(struct pk_hasher *h)
{
	if (h == NULL)
		return;
	free(h->c);
	free(h);
}

int
pk_hasher_start(struct pk_hasher *h, char *err, size_t errlen)
{
	(void)h;
	(void)err;
	(void)errlen;
	return 0;	/* no thread: the caller's does the work */
}

int
pk_hasher_fd(const struct pk_hasher *h)
{
	(void)h;
	return -1;
}

int
pk_hasher_request(struct pk_hasher *h, const struct pk_filekey *key,
    uint32_t pid, const char *path, uint8_t out[32])
{
	struct wcache *c = slot(h, key);
	struct wreq *rq, one;
	int st;

	h->requests++;
	if (c->used && memcmp(&c->key, key, sizeof(*key)) == 0) {
		if (c->state == PK_HASH_DONE) {
			memcpy(out, c->sha256, 32);
			h->hits++;
		}
		return c->state;
	}
	if (key->size > h->max_size) {
		h->too_big++;		/* no need to remember it */
		return PK_HASH_TOO_BIG;
	}
	if (c->used && c->state == PK_HASH_PENDING) {
		h->queue_full++;	/* its slot is held by one waiting */
		return PK_HASH_NONE;
	}
	if (c->used)
		h->evicted++;
	refill(h);
	if (h->qn == 0 && h->credit > 0) {
		one.key = *key;
		one.pid = pid;
		pk_strlcpy(one.path, path != NULL ? path : "",
		    sizeof(one.path));
		st = work_one(h, &one, out);
		count(h, st);
		remember(c, key, st, out);
		return st;
	}
	if (h->qn >= PK_HASH_QUEUE) {
		h->queue_full++;
		return PK_HASH_NONE;
	}
	rq = &h->q[(h->qhead + h->qn) % PK_HASH_QUEUE];
	rq->key = *key;
	rq->pid = pid;
	pk_strlcpy(rq->path, path != NULL ? path : "", sizeof(rq->path));
	h->qn++;
	h->waited++;
	c->used = 1;
	c->key = *key;
	c->state = PK_HASH_PENDING;
	return PK_HASH_PENDING;
}

int
pk_hasher_result(struct pk_hasher *h, struct pk_hres *out)
{
	const struct wreq *rq;
	struct wcache *c;

	if (h->qn == 0)
		return 0;
	refill(h);
	if (h->credit <= 0)
		return 0;	/* the next second's budget */
	rq = &h->q[h->qhead];
	memset(out, 0, sizeof(*out));
	out->key = rq->key;
	out->pid = rq->pid;
	out->state = work_one(h, rq, out->sha256);
	count(h, out->state);
	h->qhead = (h->qhead + 1) % PK_HASH_QUEUE;
	h->qn--;
	c = slot(h, &out->key);
	if (c->used && memcmp(&c->key, &out->key, sizeof(c->key)) == 0)
		remember(c, &out->key, out->state, out->sha256);
	return 1;
}

void
pk_hasher_stats(const struct pk_hasher *h, FILE *fp)
{
	fprintf(fp, "process.hash.requests %llu\n",
	    (unsigned long long)h->requests);
	fprintf(fp, "process.hash.cache_hits %llu\n",
	    (unsigned long long)h->hits);
	fprintf(fp, "process.hash.cache_evicted %llu\n",
	    (unsigned long long)h->evicted);
	fprintf(fp, "process.hash.queue_full %llu\n",
	    (unsigned long long)h->queue_full);
	fprintf(fp, "process.hash.budget_waits %llu\n",
	    (unsigned long long)h->waited);
	fprintf(fp, "process.hash.hashed %llu\n",
	    (unsigned long long)h->hashed);
	fprintf(fp, "process.hash.bytes %llu\n", (unsigned long long)h->bytes);
	fprintf(fp, "process.hash.too_big %llu\n",
	    (unsigned long long)h->too_big);
	fprintf(fp, "process.hash.failed %llu\n",
	    (unsigned long long)h->failed);
}
