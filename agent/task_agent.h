/*
 * task_agent.h - the shipper's half of targeted collection (docs/tasks.md,
 * "Agent"): it takes the hub's TASK frames, checks each order against the
 * [tasks] policy, refuses at once what may not run, and hands the rest to
 * the collector as a file in spool/tasks plus a TASK_NEW message
 * (agent/ipc.h).  It never runs anything: it relays the collector's
 * status files and result files to the hub as RESULT frames, resuming
 * where the hub's START says, and deletes a task's files on FORGET.
 * POSIX files only (no fork, exec or sockets: it runs under the
 * shipper's seccomp filter).  Called by agent/shipper.c and
 * tests/unit/test_task_agent.c.
 */
#ifndef PICKET_TASK_AGENT_H
#define PICKET_TASK_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "agent/ipc.h"
#include "agent/task_policy.h"
#include "transport/frame.h"

#define PK_TASKS_SUBDIR		"tasks"
#define PK_TA_TRACK_MAX		64	/* tasks followed in one session */
#define PK_TA_REPLY_MAX		64	/* immediate answers waiting */
/* Frame bytes a RESULT DATA needs besides its data. */
#define PK_TA_DATA_OVERHEAD	(PK_FRAME_HDR + PK_RESULT_MIN)
/* A running task's bytes and rows are re-sent at most this often. */
#define PK_TA_PROGRESS_US	1000000ULL

struct pk_tagent_stats {
	uint64_t	tasks_started;		/* handed to the collector */
	uint64_t	tasks_refused;		/* answered refused at once */
	uint64_t	tasks_resumed;		/* START for a task we hold */
	uint64_t	tasks_cancelled;	/* CANCEL passed on */
	uint64_t	tasks_forgotten;	/* FORGET: files deleted */
	uint64_t	track_full;		/* START ignored: table full */
	uint64_t	replies_dropped;	/* answer queue full */
	uint64_t	state_frames;
	uint64_t	data_frames;
	uint64_t	data_bytes;		/* result bytes sent */
	uint64_t	wire_bytes;		/* DATA bytes on the wire */
	uint64_t	status_bad;		/* unreadable .state files */
	uint64_t	file_errors;
};

struct pk_tagent;

/* spool_dir/tasks must exist (the collector makes it); pol is copied. */
struct pk_tagent *pk_tagent_new(const char *spool_dir,
    const struct pk_task_policy *pol);
void pk_tagent_free(struct pk_tagent *ta);
/* A new connection: nothing is uploaded until the hub's START says
 * where the hub stands. */
void pk_tagent_session(struct pk_tagent *ta);
/*
 * One TASK frame.  May queue an answer (next()) and may ask for a
 * message to the collector: *ipc's type is 0 when none is needed.
 */
void pk_tagent_on_task(struct pk_tagent *ta, const struct pk_task_frame *tf,
    struct pk_ipc_msg *ipc);
/*
 * The next RESULT frame to send, written whole into out (header
 * included, cap >= PK_TA_DATA_OVERHEAD + 1); a DATA chunk carries at most
 * max_payload - PK_RESULT_MIN bytes (the hub's max_frame).  1 with
 * *outlen, 0 when nothing is due.  now_us: monotonic clock.
 */
int pk_tagent_next(struct pk_tagent *ta, uint8_t *out, size_t cap,
    size_t max_payload, uint64_t now_us, size_t *outlen);
void pk_tagent_stats(const struct pk_tagent *ta, struct pk_tagent_stats *st);

/* ---- spool/tasks files, shared with agent/task_exec.c ---- */

/* dir/<id>.<ext> into out; 0, or -1 when it does not fit. */
int pk_tfile_path(char *out, size_t cap, const char *dir, uint64_t id,
    const char *ext);
/* Replace dir/<id>.<ext> atomically (a .tmp file renamed over it). */
int pk_tfile_write(const char *dir, uint64_t id, const char *ext,
    const void *buf, size_t len);
/* Read at most cap bytes of dir/<id>.<ext>: the length, -1 when missing
 * or unreadable, -2 when larger than cap. */
long pk_tfile_read(const char *dir, uint64_t id, const char *ext, char *buf,
    size_t cap);
/* The status file: 0, 1 when there is none, -1 when malformed. */
int pk_tfile_status(const char *dir, uint64_t id, struct pk_task_status *st);
/* Bytes of dir/<id>.<ext>, or -1 when missing. */
int64_t pk_tfile_size(const char *dir, uint64_t id, const char *ext);
/* Tasks not finished (a .task whose status is missing or running) and
 * the bytes of every file in dir. */
int pk_tfile_usage(const char *dir, uint64_t *running, uint64_t *bytes);
/* Call fn for each task id with a .task file (at most PK_TA_SCAN_MAX). */
#define PK_TA_SCAN_MAX	4096
int pk_tfile_each(const char *dir, void (*fn)(void *, uint64_t), void *arg);
/* Delete every file of the task. */
void pk_tfile_remove(const char *dir, uint64_t id);

#endif
