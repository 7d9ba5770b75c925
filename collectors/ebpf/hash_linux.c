/*
 * hash_linux.c - the executable hasher on Linux (see hash.h; the Windows
 * one is hash_win32.c).  One worker thread takes
 * requests from a bounded ring under a mutex, opens /proc/PID/exe (which
 * works for deleted files and memfd while the process lives) or else the
 * path, checks that the file is still the one that was run (device, inode,
 * size, mtime), and digests it (common/sha256.c) in 64 KiB reads.  The
 * thread starts in pk_hasher_start(), after the collector has dropped its
 * privileges.  Results go to a second ring; a pipe wakes the
 * collector's poll loop.  The cache
 * lives on the collector's thread only, so it needs no lock; a file being
 * hashed sits in it as PENDING so that it is asked for once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collectors/ebpf/hash.h"
#include "common/dlist.h"
#include "common/log.h"
#include "common/sha256.h"
#include "common/util.h"

#define HASH_CHUNK	(64 * 1024)
#define CACHE_BUCKETS	8192

struct hreq {
	struct pk_filekey key;
	uint32_t	 pid;
	char		 path[PK_PROC_EXE_MAX + 1];
};

struct centry {
	struct centry	*hnext;
	struct pk_dlink	 lru;
	struct pk_filekey key;
	uint8_t		 state;
	uint8_t		 sha256[32];
};

struct pk_hasher {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	pthread_t	 th;
	int		 running, stop;
	int		 wake[2];
	uint64_t	 max_size;
	struct hreq	 q[PK_HASH_QUEUE];
	size_t		 qhead, qn;
	struct pk_hres	 r[PK_HASH_QUEUE];
	size_t		 rhead, rn;
	size_t		 outstanding;	/* asked, result not yet taken */
	/* collector's thread only: nothing outstanding and the wake pipe
	 * read empty since, so pk_hasher_result has nothing to look at */
	int		 quiet;
	/* cache: collector's thread only */
	struct centry	*b[CACHE_BUCKETS];
	struct pk_dlist	 lru;
	size_t		 ncache;
	/* counters */
	uint64_t	 requests, hits, queue_full, evicted;
	uint64_t	 hashed, too_big, failed, bytes;	/* worker */
};

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

int
pk_sha256_file(int fd, uint64_t max_size, uint64_t budget_us, uint8_t out[32])
{
	struct pk_sha256 ctx;
	unsigned char *buf;
	uint64_t start = mono_us(), total = 0;
	ssize_t n;
	int rc = -1;

	if ((buf = malloc(HASH_CHUNK)) == NULL)
		return -1;
	pk_sha256_init(&ctx);
	for (;;) {
		n = read(fd, buf, HASH_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max_size || mono_us() - start > budget_us)
			goto out;
		pk_sha256_update(&ctx, buf, (size_t)n);
	}
	pk_sha256_final(&ctx, out);
	rc = 0;
out:
	free(buf);
	return rc;
}

static int
same_file(const struct stat *sb, const struct pk_filekey *k)
{
	uint64_t mt = (uint64_t)sb->st_mtim.tv_sec * 1000000000ULL +
	    (uint64_t)sb->st_mtim.tv_nsec;

	return (uint64_t)sb->st_dev == k->dev && (uint64_t)sb->st_ino == k->ino &&
	    (uint64_t)sb->st_size == k->size && mt == k->mtime_ns;
}

/* The file that was run, opened, or -1. */
static int
open_exe(const struct hreq *rq)
{
	char proc[64];
	struct stat sb;
	int fd;

	snprintf(proc, sizeof(proc), "/proc/%u/exe", rq->pid);
	if ((fd = open(proc, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (fstat(fd, &sb) == 0 && same_file(&sb, &rq->key))
			return fd;
		close(fd);
	}
	if (rq->path[0] != '/')
		return -1;
	if ((fd = open(rq->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0) {
		if (fstat(fd, &sb) == 0 && same_file(&sb, &rq->key))
			return fd;
		close(fd);
	}
	return -1;
}

static void
work_one(struct pk_hasher *h, const struct hreq *rq, struct pk_hres *res)
{
	int fd;

	memset(res, 0, sizeof(*res));
	res->key = rq->key;
	res->pid = rq->pid;
	if (rq->key.size > h->max_size) {
		res->state = PK_HASH_TOO_BIG;
		return;
	}
	if ((fd = open_exe(rq)) < 0) {
		res->state = PK_HASH_FAILED;
		return;
	}
	res->state = pk_sha256_file(fd, h->max_size, PK_HASH_BUDGET_US,
	    res->sha256) == 0 ? PK_HASH_DONE : PK_HASH_FAILED;
	close(fd);
}

static void *
worker(void *arg)
{
	struct pk_hasher *h = arg;
	struct pk_hres res;
	struct hreq rq;
	char one = 1;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->stop && h->qn == 0)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->stop)
			break;
		rq = h->q[h->qhead];
		h->qhead = (h->qhead + 1) % PK_HASH_QUEUE;
		h->qn--;
		pthread_mutex_unlock(&h->mu);

		work_one(h, &rq, &res);

		pthread_mutex_lock(&h->mu);
		if (res.state == PK_HASH_DONE) {
			h->hashed++;
			h->bytes += res.key.size;
		} else if (res.state == PK_HASH_TOO_BIG)
			h->too_big++;
		else
			h->failed++;
		/* outstanding <= PK_HASH_QUEUE, so this slot is free */
		h->r[(h->rhead + h->rn) % PK_HASH_QUEUE] = res;
		h->rn++;
		(void)write(h->wake[1], &one, 1);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct pk_hasher *
pk_hasher_new(uint64_t max_size, char *err, size_t errlen)
{
	struct pk_hasher *h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->max_size = max_size;
	h->wake[0] = h->wake[1] = -1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pipe(h->wake) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		pk_hasher_free(h);
		return NULL;
	}
	fcntl(h->wake[0], F_SETFL, O_NONBLOCK);
	fcntl(h->wake[1], F_SETFL, O_NONBLOCK);
	fcntl(h->wake[0], F_SETFD, FD_CLOEXEC);
	fcntl(h->wake[1], F_SETFD, FD_CLOEXEC);
	/* The thread starts in pk_hasher_start(), not here: by then the
	 * collector has dropped to its unprivileged user keeping only the
	 * capabilities hashing needs, and a thread inherits the capability
	 * sets of the thread that creates it (docs/privsep.md).  Requests
	 * made before (processes found at start-up) wait in the queue. */
	return h;
}

int
pk_hasher_start(struct pk_hasher *h, char *err, size_t errlen)
{
	if (h->running)
		return 0;
	if (pthread_create(&h->th, NULL, worker, h) != 0) {
		snprintf(err, errlen, "cannot start the hashing thread");
		return -1;
	}
	h->running = 1;
	return 0;
}

void
pk_hasher_free(struct pk_hasher *h)
{
	struct centry *c;

	if (h == NULL)
		return;
	if (h->running) {
		pthread_mutex_lock(&h->mu);
		h->stop = 1;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->th, NULL);
	}
	while ((c = PK_DLIST_FIRST(&h->lru, struct centry, lru)) != NULL) {
		pk_dlist_unlink(&h->lru, &c->lru);
		free(c);
	}
	if (h->wake[0] >= 0)
		close(h->wake[0]);
	if (h->wake[1] >= 0)
		close(h->wake[1]);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

int
pk_hasher_fd(const struct pk_hasher *h)
{
	return h->wake[0];
}

static size_t
ckey(const struct pk_filekey *k)
{
	uint64_t v = pk_fnv1a64(k, sizeof(*k), PK_FNV_SEED);

	return (size_t)(v ^ (v >> 32)) & (CACHE_BUCKETS - 1);
}

static struct centry *
cache_find(struct pk_hasher *h, const struct pk_filekey *k)
{
	struct centry *c;

	for (c = h->b[ckey(k)]; c != NULL; c = c->hnext)
		if (memcmp(&c->key, k, sizeof(*k)) == 0)
			return c;
	return NULL;
}

static void
cache_drop(struct pk_hasher *h, struct centry *c)
{
	struct centry **pp;

	for (pp = &h->b[ckey(&c->key)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	pk_dlist_unlink(&h->lru, &c->lru);
	h->ncache--;
	free(c);
}

static struct centry *
cache_add(struct pk_hasher *h, const struct pk_filekey *k)
{
	struct centry *c, *old;
	struct pk_dlink *l;
	size_t i;

	if (h->ncache >= PK_HASH_CACHE) {
		/* the least recently used entry that is not in flight */
		for (l = h->lru.head, i = 0; l != NULL && i < 64;
		    l = l->next, i++) {
			old = PK_CONTAINER_OF(l, struct centry, lru);
			if (old->state != PK_HASH_PENDING) {
				cache_drop(h, old);
				h->evicted++;
				break;
			}
		}
		if (h->ncache >= PK_HASH_CACHE)
			return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->key = *k;
	c->hnext = h->b[ckey(k)];
	h->b[ckey(k)] = c;
	pk_dlist_append(&h->lru, &c->lru);
	h->ncache++;
	return c;
}

int
pk_hasher_request(struct pk_hasher *h, const struct pk_filekey *key,
    uint32_t pid, const char *path, uint8_t out[32])
{
	struct centry *c;
	struct hreq *rq;

	h->requests++;
	if ((c = cache_find(h, key)) != NULL) {
		pk_dlist_move_tail(&h->lru, &c->lru);
		if (c->state == PK_HASH_DONE) {
			memcpy(out, c->sha256, 32);
			h->hits++;
		}
		return c->state;
	}
	if (key->size > h->max_size) {
		/* no need to remember it; counted with the worker's */
		pthread_mutex_lock(&h->mu);
		h->too_big++;
		pthread_mutex_unlock(&h->mu);
		return PK_HASH_TOO_BIG;
	}
	pthread_mutex_lock(&h->mu);
	if (h->outstanding >= PK_HASH_QUEUE) {
		pthread_mutex_unlock(&h->mu);
		h->queue_full++;
		return PK_HASH_NONE;
	}
	pthread_mutex_unlock(&h->mu);
	if ((c = cache_add(h, key)) == NULL) {
		h->queue_full++;
		return PK_HASH_NONE;
	}
	c->state = PK_HASH_PENDING;
	pthread_mutex_lock(&h->mu);
	rq = &h->q[(h->qhead + h->qn) % PK_HASH_QUEUE];
	rq->key = *key;
	rq->pid = pid;
	pk_strlcpy(rq->path, path != NULL ? path : "", sizeof(rq->path));
	h->qn++;
	h->outstanding++;
	h->quiet = 0;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return PK_HASH_PENDING;
}

int
pk_hasher_result(struct pk_hasher *h, struct pk_hres *out)
{
	struct centry *c;
	char drain[64];
	int idle;

	/*
	 * The collector asks on every turn of its loop.  outstanding is
	 * written only on this thread, and the worker writes a result's
	 * wake byte before the result can be taken, so once the pipe was
	 * read empty with nothing outstanding no byte or result can come
	 * until the next request: no lock, no read().
	 */
	if (h->quiet)
		return 0;
	pthread_mutex_lock(&h->mu);
	if (h->rn == 0) {
		idle = h->outstanding == 0;
		pthread_mutex_unlock(&h->mu);
		while (read(h->wake[0], drain, sizeof(drain)) > 0)
			;
		h->quiet = idle;
		return 0;
	}
	*out = h->r[h->rhead];
	h->rhead = (h->rhead + 1) % PK_HASH_QUEUE;
	h->rn--;
	h->outstanding--;
	pthread_mutex_unlock(&h->mu);
	if ((c = cache_find(h, &out->key)) != NULL) {
		c->state = (uint8_t)out->state;
		memcpy(c->sha256, out->sha256, 32);
		/* A failure may be a race with the process exiting: let the
		 * next run of the same file try again. */
		if (out->state == PK_HASH_FAILED)
			cache_drop(h, c);
	}
	return 1;
}

void
pk_hasher_stats(const struct pk_hasher *h, FILE *fp)
{
	struct pk_hasher *m = (struct pk_hasher *)h;
	uint64_t hashed, too_big, failed, bytes;

	pthread_mutex_lock(&m->mu);
	hashed = h->hashed;
	too_big = h->too_big;
	failed = h->failed;
	bytes = h->bytes;
	pthread_mutex_unlock(&m->mu);
	fprintf(fp, "process.hash.requests %llu\n",
	    (unsigned long long)h->requests);
	fprintf(fp, "process.hash.cache_hits %llu\n",
	    (unsigned long long)h->hits);
	fprintf(fp, "process.hash.cache_evicted %llu\n",
	    (unsigned long long)h->evicted);
	fprintf(fp, "process.hash.queue_full %llu\n",
	    (unsigned long long)h->queue_full);
	fprintf(fp, "process.hash.hashed %llu\n", (unsigned long long)hashed);
	fprintf(fp, "process.hash.bytes %llu\n", (unsigned long long)bytes);
	fprintf(fp, "process.hash.too_big %llu\n", (unsigned long long)too_big);
	fprintf(fp, "process.hash.failed %llu\n", (unsigned long long)failed);
}

int
pk_hash_file_key(const char *path, struct pk_filekey *key, uint64_t *ctime_ns)
{
	struct stat sb;

	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return -1;
	key->dev = (uint64_t)sb.st_dev;
	key->ino = (uint64_t)sb.st_ino;
	key->size = (uint64_t)sb.st_size;
	key->mtime_ns = (uint64_t)sb.st_mtim.tv_sec * 1000000000ULL +
	    (uint64_t)sb.st_mtim.tv_nsec;
	if (ctime_ns != NULL)
		*ctime_ns = (uint64_t)sb.st_ctim.tv_sec * 1000000000ULL +
		    (uint64_t)sb.st_ctim.tv_nsec;
	return 0;
}
