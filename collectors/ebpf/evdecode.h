/*
 * evdecode.h - decode one ring-buffer record of the process collector
 * (layouts in proc.h) into a checked struct pk_pev.  Plain C with no kernel
 * or libbpf dependency, so the unit test and the fuzzer run it on recorded
 * bytes without root.  Called by ebpf.c for every record; the detections
 * (procdet.c) and the process table (proctable.c) see only struct pk_pev.
 *
 * Every length is checked against the record: a record that is short,
 * of an unknown type or version, or whose variable parts do not fit is
 * refused with a reason, never read past.  Strings in the result point
 * into the caller's buffer (valid while it is) and hold no NUL.
 */
#ifndef PICKET_EBPF_EVDECODE_H
#define PICKET_EBPF_EVDECODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

enum pk_pev_err {
	PK_PEV_OK = 0,
	PK_PEV_ESHORT = -1,	/* shorter than its fixed part */
	PK_PEV_ETYPE = -2,	/* unknown type */
	PK_PEV_EVERSION = -3,	/* other layout version */
	PK_PEV_ESIZE = -4,	/* header size disagrees with the record */
	PK_PEV_ELEN = -5,	/* variable parts overrun the record */
	PK_PEV_ESTRING = -6,	/* NUL inside a path or name */
	PK_PEV_EFAMILY = -7,	/* address family not IPv4/IPv6 */
	PK_PEV__NERR = 8
};

#define PK_PEV_NAME_MAX	64

struct pk_pev {
	int		 type;		/* enum pk_ev_type (proc.h) */
	uint64_t	 ts_ns;		/* CLOCK_MONOTONIC */
	uint32_t	 pid, tid, uid, gid;
	char		 comm[17];
	union {
		struct {
			uint32_t	 ppid, old_tid;
			uint64_t	 cgroup_id, dev, ino, size;
			uint64_t	 mtime_ns, ctime_ns;	/* epoch ns */
			uint32_t	 nlink, mode, flags;	/* PK_EXEC_* */
			const char	*fname;		/* as given to execve */
			size_t		 fname_len;
			const char	*path;		/* the file, resolved */
			size_t		 path_len;
			const char	*argv;		/* NUL-separated */
			size_t		 argv_len;
			size_t		 argc;
		} exec;
		struct {
			uint32_t	 child;
		} fork;
		struct {
			int32_t		 code;
		} exit;
		struct {
			uint64_t	 sock;
			int		 phase;		/* PK_CONN_* */
			int		 proto;		/* 6, 17, 0 unknown */
			struct pk_addr	 src, dst;	/* src unset for UDP */
			uint16_t	 sport, dport;
			int32_t		 err;		/* errno, 0 = none */
		} conn;
		struct {
			struct pk_addr	 addr;
			uint16_t	 port;
		} listen;
		struct {
			uint32_t	 flags;
			const char	*path;
			size_t		 path_len;
		} open;
		struct {
			uint32_t	 request, target;
		} ptrace;
		struct {		/* memfd, module */
			uint32_t	 flags;
			char		 name[PK_PEV_NAME_MAX + 1];
		} name;
	} u;
};

/* Returns PK_PEV_OK or a negative enum pk_pev_err. */
int pk_pev_decode(const void *buf, size_t len, struct pk_pev *out);
const char *pk_pev_strerror(int err);
const char *pk_pev_type_name(int type);	/* "exec", ...; "?" if unknown */

/*
 * Iterate over NUL-separated arguments: returns 1 and sets *arg and *alen to
 * the next one (the last may lack its NUL), 0 at the end.  *pos starts 0.
 */
int pk_pev_argv_next(const char *argv, size_t len, size_t *pos,
    const char **arg, size_t *alen);

#endif
