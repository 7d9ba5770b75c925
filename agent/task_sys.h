/*
 * task_sys.h - what ioc_sweep and snapshot read from the running system
 * (docs/tasks.md, "Agent"): processes, their executables' SHA-256, TCP
 * and UDP sockets with the process that holds each, kernel modules.
 * Each reader walks a bounded number of entries and calls back once per
 * entry, so the caller writes rows as they come and stops when its own
 * bounds (rows, time) say so.  The Linux implementation is
 * agent/task_sys_linux.c (/proc); called by agent/task_exec.c and
 * tests/unit/test_task_exec.c.
 */
#ifndef PICKET_TASK_SYS_H
#define PICKET_TASK_SYS_H

#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

#define PK_SYS_PROCS_MAX	65536	/* processes walked */
#define PK_SYS_SOCKS_MAX	262144	/* socket lines read */
#define PK_SYS_MODULES_MAX	8192
#define PK_SYS_HASH_MAX		(256ULL * 1024 * 1024)	/* bytes hashed */
#define PK_SYS_PATH_MAX		1024
#define PK_SYS_CMDLINE_MAX	512

struct pk_sys_proc {
	uint32_t	pid, ppid, uid;
	char		comm[64];
	char		exe[PK_SYS_PATH_MAX];	/* "" when unreadable */
	char		cmdline[PK_SYS_CMDLINE_MAX];	/* args, spaces */
};

struct pk_sys_sock {
	const char	*proto;		/* tcp, tcp6, udp, udp6 */
	const char	*state;		/* listen, established, ... */
	struct pk_addr	 local, remote;
	uint16_t	 lport, rport;
	uint32_t	 uid;
	uint64_t	 inode;
	uint32_t	 pid;		/* 0 when not resolved */
};

struct pk_sys_module {
	char		name[64];
	uint64_t	size;
	uint32_t	refs;
	char		state[16];
};

/* fn returns non-zero to stop (that value is returned). */
int pk_sys_procs(int (*fn)(void *, const struct pk_sys_proc *), void *arg);
/* The SHA-256 of /proc/<pid>/exe, up to PK_SYS_HASH_MAX bytes: 0, or -1
 * (gone, unreadable, too large). *stop is polled between reads. */
int pk_sys_exe_sha256(uint32_t pid, uint8_t out[32], const volatile int *stop);
/* Sockets, with inode -> pid resolved when /proc/<pid>/fd is readable
 * (at most PK_SYS_SOCKS_MAX inodes remembered). */
int pk_sys_sockets(int (*fn)(void *, const struct pk_sys_sock *), void *arg);
int pk_sys_modules(int (*fn)(void *, const struct pk_sys_module *),
    void *arg);

/* Parse one line of /proc/net/{tcp,udp}[6] (the header line and
 * malformed lines give -1).  Exposed for the unit tests. */
int pk_sys_sock_line(const char *line, int v6, int udp,
    struct pk_sys_sock *s);

#endif
