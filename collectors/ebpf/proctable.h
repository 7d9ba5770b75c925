/*
 * proctable.h - the process collector's bounded table of processes, keyed
 * by pid: what each runs (path, arguments, the file's identity and, once
 * computed, its SHA-256), who started it and as which user.  Filled from
 * exec/fork/exit events and seeded from /proc at start so processes older
 * than the agent are known.  At most cap processes: the least recently
 * active is evicted and counted.  An exited process stays readable for
 * PK_PROC_LINGER_US (late connect outcomes still name it), then goes.
 * Portable (proctable.c) but for seeding and device numbers, which are
 * the platform's (proctable_linux.c, proctable_win32.c).  Used by
 * procdet.c, ebpf.c (Linux) and the Windows agent's ETW feed, on one
 * thread only.
 */
#ifndef PICKET_EBPF_PROCTABLE_H
#define PICKET_EBPF_PROCTABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/dlist.h"

#define PK_PROC_LINGER_US	(30ULL * 1000000ULL)
#define PK_PROC_EXE_MAX		1024	/* longer paths are cut */

enum pk_hash_state {
	PK_HASH_NONE = 0,	/* not asked */
	PK_HASH_PENDING,
	PK_HASH_DONE,
	PK_HASH_TOO_BIG,	/* over [process] hash_max_size */
	PK_HASH_FAILED,		/* gone, unreadable, changed, too slow */
};

/* Identity of an executable file: the hash cache key. */
struct pk_filekey {
	uint64_t	dev, ino, mtime_ns, size;
};

struct pk_proc {
	struct pk_proc	*hnext;
	struct pk_dlink	 lru;		/* alive: LRU; exited: exit order */
	uint32_t	 pid, ppid, uid, gid;
	uint64_t	 start_us;	/* exec (or fork, or seen in /proc) */
	uint64_t	 exited_us;	/* 0 = alive */
	char		 comm[17];
	char		*exe;		/* malloc'd, "" if unknown */
	char		*args;		/* NUL-separated, args_len bytes */
	size_t		 args_len;
	struct pk_filekey key;
	uint64_t	 ctime_ns;
	uint32_t	 exec_flags;	/* PK_EXEC_* of the last exec */
	uint8_t		 seeded;	/* known from /proc, not an event */
	uint8_t		 hash_state;	/* enum pk_hash_state */
	uint8_t		 sha256[32];
	void		*det;		/* procdet's per-process state */
};

struct pk_proctable_stats {
	uint64_t	n, cap;
	uint64_t	evicted;	/* alive processes pushed out */
	uint64_t	seeded;
	uint64_t	seed_skipped;	/* /proc had more than cap */
	uint64_t	unknown;	/* events for pids never seen */
};

struct pk_proctable;

/* release(det) is called when an entry holding procdet state goes. */
struct pk_proctable *pk_proctable_new(uint64_t cap, size_t argv_bytes,
    void (*release)(void *det, void *arg), void *arg);
void pk_proctable_free(struct pk_proctable *t);

struct pk_proc *pk_proc_find(struct pk_proctable *t, uint32_t pid);
/* A fresh entry for pid (an old one with that pid is dropped first). */
struct pk_proc *pk_proc_new(struct pk_proctable *t, uint32_t pid,
    uint64_t now_us);
/* Mark exited; the entry lingers, then pk_proctable_expire() frees it. */
void pk_proc_exit(struct pk_proctable *t, struct pk_proc *p, uint64_t now_us);
void pk_proc_touch(struct pk_proctable *t, struct pk_proc *p);
void pk_proctable_expire(struct pk_proctable *t, uint64_t now_us);

int pk_proc_set_exe(struct pk_proc *p, const char *path, size_t len);
/* Arguments NUL-separated, cut at the table's argv_bytes. */
int pk_proc_set_args(struct pk_proctable *t, struct pk_proc *p,
    const char *args, size_t len);
/* Child inherits its parent's image until it execs. */
int pk_proc_inherit(struct pk_proctable *t, struct pk_proc *child,
    const struct pk_proc *parent);

/* Call fn for every process (alive or lingering); for hash results. */
void pk_proctable_foreach(struct pk_proctable *t,
    void (*fn)(struct pk_proc *p, void *arg), void *arg);

/*
 * The processes running now, so those older than the agent are known.
 * Linux (proctable_linux.c): every process under root ("/proc"): exe,
 * cmdline, status.  Windows (proctable_win32.c): a Toolhelp snapshot,
 * image paths by QueryFullProcessImageNameW; root is ignored.  Returns
 * the number added, or -1.
 */
int pk_proctable_seed(struct pk_proctable *t, const char *root,
    uint64_t now_us);
/* For the seeders: is the table at its cap; count one seeded (added) or
 * skipped (!added) process; the argument bytes kept per process. */
int pk_proctable_full(const struct pk_proctable *t);
void pk_proctable_count_seed(struct pk_proctable *t, int added);
size_t pk_proctable_argv_bytes(const struct pk_proctable *t);

const struct pk_proctable_stats *pk_proctable_stats(
    const struct pk_proctable *t);

/* The kernel's internal dev_t (20-bit minor) as stat(2) reports it
 * (Linux); on Windows the volume serial number, unchanged. */
uint64_t pk_kdev_to_udev(uint64_t kdev);

#endif
