/*
 * task_exec.h - the collector's half of targeted collection
 * (docs/tasks.md, "Agent"): it runs the tasks the shipper filed in
 * spool/tasks, after reading each file again and checking it against the
 * same [tasks] policy, and writes each task's result (<id>.out) and
 * status (<id>.state) for the shipper to relay.  pcap runs on frames the
 * collector already captures (a tap in the engine's frame path: no new
 * handle, no new privilege); ioc_sweep and snapshot run on a worker
 * thread each so packet processing never waits for /proc or hashing;
 * sensitivity lowers the engine's thresholds for a while; proc_trace
 * follows a process tree through the eBPF collector's events (a tap in
 * the engine, on the collector's thread).
 * POSIX and libpcap; called by agent/main.c (collector loop and engine
 * tap) and tests/unit/test_task_exec.c.
 */
#ifndef PICKET_TASK_EXEC_H
#define PICKET_TASK_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "agent/ipc.h"
#include "agent/task_policy.h"

#define PK_TX_MAX		16	/* tasks running at once, hard cap */
#define PK_TX_DNS_RING		1024	/* recent DNS names kept */
#define PK_TX_SWEEP_MAX_S	120	/* a sweep or snapshot's time bound */
#define PK_TX_STATUS_US		500000ULL	/* progress written this often */
#define PK_TX_TREE_MAX		4096	/* processes one proc_trace follows */
#define PK_TX_ARGV_MAX		64	/* arguments in an exec row */
#define PK_TX_ARG_BYTES		1024	/* argument bytes in an exec row */

struct pk_engine;
struct pk_pev;
struct pk_proc;
struct pk_filekey;

struct pk_texec_conf {
	const char		*spool_dir;
	struct pk_task_policy	 pol;
	int			 linktype;	/* the capture's, until a frame says */
	uint32_t		 snaplen;
	/* Called after a status file changed (main.c: TASK_STATE to the
	 * shipper, so it relays at once); may be NULL. */
	void			(*notify)(void *arg, uint64_t id);
	void			*notify_arg;
	/* The engine: sensitivity lowers its thresholds, proc_trace sets
	 * its process tap.  NULL: neither can run. */
	struct pk_engine	*engine;
	/* Why process events are not available here ("disabled ([process]
	 * enabled = no)"); NULL or "" when the eBPF collector runs. */
	const char		*proc_why;
};

struct pk_texec_stats {
	uint64_t	started;
	uint64_t	refused;	/* by the collector's own check */
	uint64_t	failed;
	uint64_t	cancelled;
	uint64_t	done;
	uint64_t	recovered_failed;	/* running at a restart */
	uint64_t	frames_seen;	/* frames through the tap */
	uint64_t	frames_matched;
	uint64_t	frames_linktype;	/* other link type: skipped */
	uint64_t	dns_names;	/* names put in the ring */
	uint64_t	ipc_ignored;	/* TASK messages for unknown files */
	uint64_t	file_errors;
	uint64_t	proc_events;	/* process events through the tap */
	uint64_t	proc_rows;	/* proc_trace rows written */
	uint64_t	tree_full;	/* processes not followed: tree cap */
};

struct pk_texec;

/* Creates spool_dir/tasks (mode 0700) when missing. NULL on failure. */
struct pk_texec *pk_texec_new(const struct pk_texec_conf *c);
/* Stops what runs (state failed "agent stopped") and frees. */
void pk_texec_free(struct pk_texec *te);
/* After a start: a task left running by an earlier collector is failed
 * "agent restarted"; a filed task never begun is begun now. */
void pk_texec_recover(struct pk_texec *te, uint64_t mono_us);
/* A PK_IPC_TASK_NEW or PK_IPC_TASK_CANCEL message. */
void pk_texec_ipc(struct pk_texec *te, const struct pk_ipc_msg *m,
    uint64_t mono_us);
/* Deadlines, worker results, progress: call at least every 100 ms. */
void pk_texec_tick(struct pk_texec *te, uint64_t mono_us);
/* Tasks not finished. */
int pk_texec_running(const struct pk_texec *te);
/* The engine's taps (engine.h pk_engine_set_tap). */
void pk_texec_frame(void *arg, int linktype, const uint8_t *frame,
    uint32_t caplen, uint32_t wirelen, uint64_t ts_us);
void pk_texec_dns(void *arg, const char *name);
/* The engine's process tap (engine.h pk_engine_proc_tap), set by the
 * runner itself while a proc_trace runs: one decoded event of the eBPF
 * collector with its process entry (may be NULL), and a hash result. */
void pk_texec_proc_event(void *arg, const struct pk_pev *ev,
    const struct pk_proc *p, uint64_t ts_us);
void pk_texec_proc_hash(void *arg, const struct pk_filekey *key, int state,
    const uint8_t sha256[32]);
void pk_texec_stats(const struct pk_texec *te, struct pk_texec_stats *st);

#endif
