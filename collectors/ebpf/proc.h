/*
 * proc.h - the records the kernel side (proc.bpf.c) writes into the ring
 * buffer and the constants both sides agree on; nothing else.  Included by
 * proc.bpf.c (after vmlinux.h) and by the user-space decoder (evdecode.c),
 * which is the only user-space file that should read these layouts: every
 * other file sees the decoded, validated struct pk_pev of evdecode.h.
 *
 * Every record starts with struct pk_ev_hdr; hdr.size is the whole record.
 * Variable parts (paths, arguments) follow the fixed part, their lengths in
 * the fixed part, so the decoder can check each against hdr.size.  Layouts
 * only grow at the end; PK_EV_VERSION changes when one changes shape.
 */
#ifndef PICKET_EBPF_PROC_H
#define PICKET_EBPF_PROC_H

#ifndef __VMLINUX_H__
#include <stdint.h>
typedef uint8_t pk_u8;
typedef uint16_t pk_u16;
typedef uint32_t pk_u32;
typedef int32_t pk_s32;
typedef uint64_t pk_u64;
#else
typedef __u8 pk_u8;
typedef __u16 pk_u16;
typedef __u32 pk_u32;
typedef __s32 pk_s32;
typedef __u64 pk_u64;
#endif

#define PK_EV_VERSION		1

/* Event types: also the index of the per-type counters. */
enum pk_ev_type {
	PK_EV_EXEC = 1,
	PK_EV_FORK,
	PK_EV_EXIT,
	PK_EV_CONNECT,		/* attempt or outcome, TCP or UDP */
	PK_EV_LISTEN,
	PK_EV_OPEN,		/* open for write / create, watched prefix */
	PK_EV_PTRACE,
	PK_EV_MEMFD,
	PK_EV_MODULE,
	PK_EV__MAX
};

/* Per-type counters in the per-CPU "counters" map: [type * 4 + what]. */
#define PK_CNT_SENT		0	/* written to the ring */
#define PK_CNT_LOST		1	/* ring full: reserve/output failed */
#define PK_CNT_LIMITED		2	/* dropped by the per-process rate limit */
#define PK_CNT__N		4
#define PK_CNT_SLOTS		(PK_EV__MAX * PK_CNT__N)

/* Bounds on the variable parts (kernel side enforces, decoder re-checks). */
#define PK_EV_PATH_MAX		4096	/* reconstructed path */
#define PK_EV_PATH_DEPTH	32	/* components walked */
#define PK_EV_FNAME_MAX		256	/* exec filename as given */
#define PK_EV_ARGV_MAX		16384	/* argument bytes (config caps lower) */
#define PK_EV_NAME_MAX		64	/* memfd and module names */
#define PK_EV_COMM		16
#define PK_EV_REC_MAX		(PK_EV_PATH_MAX + PK_EV_FNAME_MAX + \
				 PK_EV_ARGV_MAX + 256)

/*
 * During a burst the programs wake the agent at most once per this many
 * nanoseconds, or when an eighth of the ring is waiting (proc.bpf.c).
 */
#define PK_EV_WAKE_NS		10000000ULL	/* 10 ms */

/* In-kernel prefix filter for PK_EV_OPEN */
#define PK_PREFIX_MAX		32
#define PK_PREFIX_LEN		64

struct pk_prefix {
	pk_u32	len;		/* 0 = unused slot */
	char	s[PK_PREFIX_LEN];
};

/* exec flags */
#define PK_EXEC_DELETED		0x01	/* the file has no links left */
#define PK_EXEC_MEMFD		0x02	/* memfd_create() file */
#define PK_EXEC_PATH_TRUNC	0x04	/* path deeper/longer than the bounds */
#define PK_EXEC_ARGV_TRUNC	0x08
#define PK_EXEC_NO_FILE		0x10	/* no exe_file (should not happen) */
/* dev is already stat(2)'s (or a Windows volume serial): set by the ETW
 * feed (collectors/etw/etwproc.c), never by the kernel side */
#define PK_EXEC_UDEV		0x20

/* connect phases */
#define PK_CONN_ATTEMPT		1
#define PK_CONN_OK		2
#define PK_CONN_FAIL		3
/* accepted from a peer: ETW's accept events (collectors/etw/etwdecode.c);
 * never sent by the kernel side, whose decoder refuses it */
#define PK_CONN_ACCEPTED	4

struct pk_ev_hdr {
	pk_u16	type;		/* enum pk_ev_type */
	pk_u16	version;	/* PK_EV_VERSION */
	pk_u32	size;		/* whole record, header included */
	pk_u64	ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	pk_u32	pid;		/* tgid the event belongs to */
	pk_u32	tid;
	pk_u32	uid, gid;
	char	comm[PK_EV_COMM];
};

struct pk_ev_exec {
	struct pk_ev_hdr h;
	pk_u32	ppid;
	pk_u32	old_tid;	/* thread that called execve */
	pk_u64	cgroup_id;
	pk_u64	dev, ino;	/* the executable: cache key */
	pk_u64	size;
	pk_u32	flags;		/* PK_EXEC_* */
	pk_u32	pad0;
	pk_u64	mtime_ns;	/* ns since the epoch */
	pk_u64	ctime_ns;
	pk_u32	nlink;
	pk_u32	mode;
	pk_u32	fname_len;	/* bytes of filename, no NUL */
	pk_u32	path_len;	/* bytes of path, no NUL */
	pk_u32	argv_len;	/* bytes of NUL-separated arguments */
	pk_u32	pad;
	/* then: filename, path, argv */
};

struct pk_ev_fork {
	struct pk_ev_hdr h;	/* pid = parent tgid */
	pk_u32	child;		/* new process (tgid) */
	pk_u32	pad;
};

struct pk_ev_exit {
	struct pk_ev_hdr h;
	pk_s32	code;		/* task->exit_code */
	pk_u32	pad;
};

struct pk_ev_connect {
	struct pk_ev_hdr h;	/* pid: the process that connected */
	pk_u64	sock;		/* identifies the socket (attempt->outcome) */
	pk_u8	phase;		/* PK_CONN_* */
	pk_u8	proto;		/* IPPROTO_TCP / IPPROTO_UDP, 0 = unknown */
	pk_u16	family;		/* AF_INET 2 / AF_INET6 10 */
	pk_u16	sport, dport;	/* host order */
	pk_s32	err;		/* outcome: errno (positive), 0 = ok */
	pk_u8	saddr[16];	/* IPv4 in the first 4 bytes */
	pk_u8	daddr[16];
};

struct pk_ev_listen {
	struct pk_ev_hdr h;
	pk_u16	family;
	pk_u16	port;
	pk_u32	pad;
	pk_u8	addr[16];
};

struct pk_ev_open {
	struct pk_ev_hdr h;
	pk_u32	flags;		/* open(2) flags */
	pk_u32	path_len;
	/* then: path */
};

struct pk_ev_ptrace {
	struct pk_ev_hdr h;
	pk_u32	request;	/* PTRACE_ATTACH 16, PTRACE_SEIZE 0x4206 */
	pk_u32	target;		/* pid as given */
};

struct pk_ev_name {		/* PK_EV_MEMFD, PK_EV_MODULE */
	struct pk_ev_hdr h;
	pk_u32	flags;		/* memfd flags / module taints */
	pk_u32	pad;
	char	name[PK_EV_NAME_MAX];
};

#endif
