/*
 * hash.h - SHA-256 of executables for the process collector, computed on a
 * worker thread so that hashing never holds up event intake.  The
 * collector's thread asks (pk_hasher_request) and later collects results
 * (pk_hasher_result) when the descriptor pk_hasher_fd() is readable.
 * Results are cached by file identity (device, inode, mtime, size) in a
 * bounded LRU cache, so a binary run ten thousand times is read once.
 * Files over max_size are not read; a file that changed since it was run,
 * or that takes longer than the time budget, is reported as failed.  All
 * queues and the cache are bounded, with counters for what they refused.
 * Two implementations behind this one interface: hash_linux.c (a worker
 * thread, pthreads, /proc/PID/exe) used by ebpf.c, and hash_win32.c (on
 * the caller's thread, within a byte budget a second; see there) used
 * by the Windows agent's ETW feed (collectors/etw/etwproc.c).
 */
#ifndef PICKET_EBPF_HASH_H
#define PICKET_EBPF_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collectors/ebpf/proctable.h"

#define PK_HASH_QUEUE		256	/* requests in flight */
#define PK_HASH_CACHE		4096	/* files remembered */
#define PK_HASH_BUDGET_US	(5ULL * 1000000ULL)	/* per file */

struct pk_hres {
	struct pk_filekey key;
	uint32_t	 pid;
	int		 state;		/* PK_HASH_DONE / TOO_BIG / FAILED */
	uint8_t		 sha256[32];
};

struct pk_hasher;

struct pk_hasher *pk_hasher_new(uint64_t max_size, char *err, size_t errlen);
void pk_hasher_free(struct pk_hasher *h);
/* Start the worker thread (after the privilege drop); requests made
 * before wait in the queue.  0 or -1 with a reason. */
int pk_hasher_start(struct pk_hasher *h, char *err, size_t errlen);
int pk_hasher_fd(const struct pk_hasher *h);

/*
 * Ask for the hash of the file key identifies, run by pid from path.
 * Returns the state now: PK_HASH_DONE (out filled from the cache),
 * PK_HASH_TOO_BIG or PK_HASH_FAILED (cached verdicts), PK_HASH_PENDING
 * (a result will come), or PK_HASH_NONE (queue full: counted, not asked).
 */
int pk_hasher_request(struct pk_hasher *h, const struct pk_filekey *key,
    uint32_t pid, const char *path, uint8_t out[32]);
/* Next finished result (1), or 0 when none is waiting. */
int pk_hasher_result(struct pk_hasher *h, struct pk_hres *out);
void pk_hasher_stats(const struct pk_hasher *h, FILE *fp);

/*
 * The identity of the regular file at path as the hash cache keys it
 * (Linux: stat(2)'s device, inode, size, mtime; Windows: the volume
 * serial number, the file index, size, last write time), and its change
 * time (Windows: the later of change and creation time, since a copy
 * keeps the write time) in *ctime_ns when not NULL.  0 or -1.
 */
int pk_hash_file_key(const char *path, struct pk_filekey *key,
    uint64_t *ctime_ns);

/* One file, on the caller's thread (tests, the bench). */
int pk_sha256_file(int fd, uint64_t max_size, uint64_t budget_us,
    uint8_t out[32]);

#endif
