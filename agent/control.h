/*
 * control.h - picketd's local control socket (docs/privsep.md, "Control
 * socket") and the status files behind `picketd status` (docs/status.md).
 * The root supervisor (agent/main.c) serves one Unix stream socket: one
 * client at a time, a request of one fixed line ("status\n" or
 * "status json\n"), a deadline, root peers only (SO_PEERCRED), and never
 * a blocking call, so the supervisor's loop goes on (its fds/ready hooks,
 * agent/supervise.h).  The collector and the shipper write what they know
 * as "key value" lines into status files (tmp + rename) that the answer
 * combines.  `picketd status` is the client.  Unix only.
 */
#ifndef PICKET_CONTROL_H
#define PICKET_CONTROL_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PK_CTL_REQ_MAX		32		/* longest request line */
#define PK_CTL_ANSWER_MAX	(64 * 1024)	/* longest answer */
#define PK_CTL_TIMEOUT_MS	2000		/* per client */
#define PK_STATUS_COLLECTOR	".status-collector"
#define PK_STATUS_SHIPPER	".status-shipper"
#define PK_STATUS_MAX		(32 * 1024)	/* a status file */

enum pk_ctl_req { PK_CTL_BAD = -1, PK_CTL_STATUS = 0, PK_CTL_STATUS_JSON };

/* The request in buf (len bytes, one line ending in '\n'): which, or
 * PK_CTL_BAD for anything else (other words, more bytes, NUL, no '\n'). */
int pk_ctl_parse(const char *buf, size_t len);

/*
 * Writes the answer's body for req to fp and returns the exit status the
 * client should end with (0 running and connected or no hub, 1 hub not
 * connected).
 */
typedef int (*pk_ctl_answer_fn)(int req, FILE *fp, void *arg);

struct pk_ctl;

/* Listen on path (its directory made 0700 if missing; a stale socket
 * replaced, a live one refused).  NULL and err on failure. */
struct pk_ctl *pk_ctl_open(const char *path, pk_ctl_answer_fn fn, void *arg,
    char *err, size_t errlen);
void pk_ctl_close(struct pk_ctl *c);		/* and unlink the path */
/* In a forked child: let go of the parent's descriptors, keep the path. */
void pk_ctl_forget(struct pk_ctl *c);
const char *pk_ctl_path(const struct pk_ctl *c);
/* The supervisor's hooks: descriptors to wait on, and their events. */
int pk_ctl_fds(struct pk_ctl *c, struct pollfd *pfd, int max,
    uint64_t *timeout_ms);
void pk_ctl_ready(struct pk_ctl *c, const struct pollfd *pfd, int n);

/*
 * The client: ask the agent at path and copy the body to out.  Returns
 * the agent's exit status (0, 1), 2 when the agent refused the request or
 * the answer was cut, 3 when nothing listens at path (not running).
 */
int pk_ctl_query(const char *path, int json, FILE *out, char *err,
    size_t errlen);

/* Replace dir/name with text atomically (tmp + rename, mode 0640). */
int pk_status_write(const char *dir, const char *name, const char *text,
    size_t len);
/* Read dir/name (at most PK_STATUS_MAX bytes) into a malloc'd string;
 * NULL if missing. */
char *pk_status_read(const char *dir, const char *name);
/* The value of key in "key value" lines, copied to out; 0 or -1. */
int pk_status_get(const char *text, const char *key, char *out,
    size_t outlen);
/* Its value as a number (0 when missing or not a number). */
uint64_t pk_status_u64(const char *text, const char *key);
/* The sum of every key starting with prefix and ending with suffix. */
uint64_t pk_status_sum(const char *text, const char *prefix,
    const char *suffix);

#endif
