/*
 * task.h - targeted collection's shared vocabulary (docs/tasks.md): the
 * task types, the states a task takes on each host, and the task
 * specification, a flat JSON object that travels from the responder (API
 * or CLI) through the hub's store and the TASK frame to the agent's task
 * files.  One strict parser serves both sides: the hub checks an order
 * with it before storing it, the agent checks it again before running it,
 * so the two can never disagree on what a task means.  What only the
 * agent can judge (a BPF filter compiles, its own [tasks] policy) is
 * checked there.  Portable (standard C); called by hub/tasks*.c,
 * agent/task*.c, tests/unit/test_task.c and tests/fuzz/fuzz_task.c.
 */
#ifndef PICKET_TASK_H
#define PICKET_TASK_H

#include <stddef.h>
#include <stdint.h>

enum pk_task_type {
	PK_TASK_PCAP = 1,	/* capture with a filter, duration, caps */
	PK_TASK_PROC_TRACE,	/* follow a process tree for a duration */
	PK_TASK_IOC_SWEEP,	/* look for addresses, domains, hashes now */
	PK_TASK_SENSITIVITY,	/* lower detection thresholds for a while */
	PK_TASK_SNAPSHOT,	/* processes, sockets, kernel modules now */
	PK_TASK_NTYPES
};

/* A task's state on one host (the hub keeps one per host). */
enum pk_task_state {
	PK_TS_QUEUED = 1,	/* waiting for the host to connect */
	PK_TS_SENT,		/* TASK written to the host's connection */
	PK_TS_RUNNING,		/* the agent started it */
	PK_TS_DONE,		/* finished, every result byte at the hub */
	PK_TS_FAILED,		/* could not run or finish (reason) */
	PK_TS_REFUSED,		/* the host's [tasks] policy said no (reason) */
	PK_TS_EXPIRED,		/* the host did not start it before expiry */
	PK_TS_CANCELLED,	/* a responder cancelled it */
	PK_TS_NSTATES
};

/* Bounds of a specification (docs/tasks.md). */
#define PK_TASK_JSON_MAX	65536	/* the specification's JSON */
#define PK_TASK_FILTER_MAX	1024	/* pcap filter expression */
#define PK_TASK_PATH_MAX	1024	/* proc_trace executable path */
#define PK_TASK_LIST_MAX	1024	/* entries in each ioc_sweep list */
#define PK_TASK_NAME_MAX	253	/* a domain */
#define PK_TASK_DURATION_MAX	86400	/* seconds */
#define PK_TASK_BYTES_MAX	(1024ULL * 1024 * 1024)	/* result bytes */
#define PK_TASK_PACKETS_MAX	100000000ULL
#define PK_TASK_ROWS_MAX	1000000ULL
#define PK_TASK_PID_MAX		4194304	/* Linux's pid_max ceiling */
#define PK_TASK_REASON_MAX	512	/* a state's reason (RESULT frame) */

/* Defaults when the order does not say. */
#define PK_TASK_DEF_BYTES	(10ULL * 1024 * 1024)
#define PK_TASK_DEF_PACKETS	100000ULL
#define PK_TASK_DEF_ROWS	10000ULL

/*
 * A checked specification.  The ioc_sweep lists stay in the caller's
 * JSON text (src), which must outlive the struct; pk_task_ioc_each()
 * walks them.
 */
struct pk_task_spec {
	int		type;			/* enum pk_task_type */
	uint32_t	duration_s;		/* pcap, proc_trace, sensitivity */
	uint64_t	max_bytes;		/* result bytes, every type */
	uint64_t	max_packets;		/* pcap */
	uint64_t	max_rows;		/* proc_trace, ioc_sweep, snapshot */
	char		filter[PK_TASK_FILTER_MAX + 1];	/* pcap; "" = all */
	uint32_t	pid;			/* proc_trace: 0 = by exe */
	char		exe[PK_TASK_PATH_MAX + 1];	/* proc_trace */
	uint32_t	factor_pct;		/* sensitivity: 10..100 */
	uint32_t	n_addresses, n_domains, n_hashes;	/* ioc_sweep */
	const char	*src;
	size_t		 srclen;
};

/*
 * Parse and check a specification: one JSON object of at most
 * PK_TASK_JSON_MAX bytes with "type" and that type's keys only (an
 * unknown or repeated key, a value of the wrong kind or out of its range,
 * a missing required key are each refused with a one-line reason in err).
 * 0, or -1.
 */
int pk_task_parse(const char *json, size_t len, struct pk_task_spec *t,
    char *err, size_t errlen);
/* The canonical JSON of t (keys in a fixed order, defaults written out)
 * into out; returns its length, or 0 if cap is too small. */
size_t pk_task_encode(const struct pk_task_spec *t, char *out, size_t cap);

/* The ioc_sweep lists ("addresses", "domains", "hashes"). */
enum pk_task_list { PK_TL_ADDRESS, PK_TL_DOMAIN, PK_TL_HASH };
/* Call fn for each entry (decoded, NUL-terminated) of each list; stops
 * when fn returns non-zero and returns that, else 0. */
int pk_task_ioc_each(const struct pk_task_spec *t,
    int (*fn)(void *arg, int list, const char *entry), void *arg);

const char *pk_task_type_name(int type);	/* "pcap", or "?" */
int pk_task_type_parse(const char *s);		/* 0 if unknown */
const char *pk_task_state_name(int state);	/* "running", or "?" */
int pk_task_state_parse(const char *s);		/* 0 if unknown */
/* Finished for good: done, failed, refused, expired, cancelled. */
int pk_task_state_final(int state);

#endif
