/*
 * task_agent.c - the shipper's half of targeted collection (task_agent.h)
 * and the spool/tasks file helpers both processes use.  The shipper is
 * the process that faces the network, so this file only checks, writes
 * one specification file, and relays: what runs, and what the result
 * holds, is decided by the collector from files it re-reads and checks
 * itself.  Every table here has a cap and a counter.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/task_agent.h"
#include "common/dir.h"
#include "common/log.h"
#include "common/util.h"
#include "transport/batch.h"
#include "transport/task.h"

#define TA_PATH_MAX	1024
#define TA_REASON	(PK_TASK_REASON_MAX + 1)

/* ------------------------------------------------------------ files */

int
pk_tfile_path(char *out, size_t cap, const char *dir, uint64_t id,
    const char *ext)
{
	int n = snprintf(out, cap, "%s/%llu.%s", dir, (unsigned long long)id,
	    ext);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int
pk_tfile_write(const char *dir, uint64_t id, const char *ext,
    const void *buf, size_t len)
{
	char path[TA_PATH_MAX];

	if (pk_tfile_path(path, sizeof(path), dir, id, ext) != 0)
		return -1;
	return pk_file_replace(path, buf, len, 0600, 0);
}

long
pk_tfile_read(const char *dir, uint64_t id, const char *ext, char *buf,
    size_t cap)
{
	char path[TA_PATH_MAX];
	size_t got = 0;
	ssize_t n;
	char extra;
	int fd;

	if (pk_tfile_path(path, sizeof(path), dir, id, ext) != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	while (got < cap) {
		if ((n = read(fd, buf + got, cap - got)) < 0) {
			if (errno == EINTR)
				continue;
			(void)close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got == cap && read(fd, &extra, 1) == 1) {
		(void)close(fd);
		return -2;
	}
	(void)close(fd);
	return (long)got;
}

int
pk_tfile_status(const char *dir, uint64_t id, struct pk_task_status *st)
{
	char buf[PK_TSTATUS_MAX];
	long n;

	n = pk_tfile_read(dir, id, "state", buf, sizeof(buf));
	if (n == -1) {
		char path[TA_PATH_MAX];
		struct stat sb;

		if (pk_tfile_path(path, sizeof(path), dir, id, "state") == 0 &&
		    stat(path, &sb) != 0 && errno == ENOENT)
			return 1;
		return -1;
	}
	if (n < 0 || pk_task_status_decode(buf, (size_t)n, st) != 0)
		return -1;
	return 0;
}

int64_t
pk_tfile_size(const char *dir, uint64_t id, const char *ext)
{
	char path[TA_PATH_MAX];
	struct stat sb;

	if (pk_tfile_path(path, sizeof(path), dir, id, ext) != 0 ||
	    stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return -1;
	return (int64_t)sb.st_size;
}

int
pk_tfile_each(const char *dir, void (*fn)(void *, uint64_t), void *arg)
{
	struct dirent *de;
	const char *ext;
	uint64_t id;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && n < PK_TA_SCAN_MAX) {
		if (pk_task_file_id(de->d_name, &id, &ext) != 0 ||
		    strcmp(ext, "task") != 0)
			continue;
		n++;
		fn(arg, id);
	}
	(void)closedir(d);
	return 0;
}

struct usage {
	const char	*dir;
	uint64_t	 running;
};

static void
usage_one(void *arg, uint64_t id)
{
	struct usage *u = arg;
	struct pk_task_status st;
	int r;

	r = pk_tfile_status(u->dir, id, &st);
	if (r == 1 || (r == 0 && st.state == PK_TS_RUNNING))
		u->running++;
}

int
pk_tfile_usage(const char *dir, uint64_t *running, uint64_t *bytes)
{
	struct usage u = { dir, 0 };
	char path[TA_PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int n = 0;

	*running = *bytes = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && n++ < 4 * PK_TA_SCAN_MAX) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) <
		    (int)sizeof(path) && lstat(path, &sb) == 0 &&
		    S_ISREG(sb.st_mode))
			*bytes += (uint64_t)sb.st_size;
	}
	(void)closedir(d);
	if (pk_tfile_each(dir, usage_one, &u) != 0)
		return -1;
	*running = u.running;
	return 0;
}

void
pk_tfile_remove(const char *dir, uint64_t id)
{
	static const char *const exts[] = { "task", "out", "state", "cancel",
	    "task.tmp", "state.tmp" };
	char path[TA_PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (pk_tfile_path(path, sizeof(path), dir, id, exts[i]) == 0)
			(void)unlink(path);
}

/* ------------------------------------------------------------ store */

struct track {
	uint64_t	id;
	uint64_t	sent;		/* next result offset to send */
	int		last_state;	/* last STATE sent, 0 = none */
	uint64_t	last_bytes, last_rows;
	uint64_t	last_us;	/* when that STATE went */
	int		final_sent;
};

struct reply {
	uint64_t	id;
	int		state;
	char		reason[TA_REASON];
};

struct pk_tagent {
	char			dir[TA_PATH_MAX];
	struct pk_task_policy	pol;
	struct track		t[PK_TA_TRACK_MAX];
	int			nt;
	int			rr;		/* round robin start */
	struct reply		q[PK_TA_REPLY_MAX];
	int			qn;
	uint8_t			*chunk, *zchunk;
	struct pk_tagent_stats	st;
};

struct pk_tagent *
pk_tagent_new(const char *spool_dir, const struct pk_task_policy *pol)
{
	struct pk_tagent *ta;

	if ((ta = calloc(1, sizeof(*ta))) == NULL)
		return NULL;
	if (snprintf(ta->dir, sizeof(ta->dir), "%s/%s", spool_dir,
	    PK_TASKS_SUBDIR) >= (int)sizeof(ta->dir) ||
	    (ta->chunk = malloc(PK_RESULT_CHUNK_MAX)) == NULL ||
	    (ta->zchunk = malloc(PK_RESULT_CHUNK_MAX)) == NULL) {
		pk_tagent_free(ta);
		return NULL;
	}
	ta->pol = *pol;
	return ta;
}

void
pk_tagent_free(struct pk_tagent *ta)
{
	if (ta == NULL)
		return;
	free(ta->chunk);
	free(ta->zchunk);
	free(ta);
}

void
pk_tagent_session(struct pk_tagent *ta)
{
	ta->nt = 0;
	ta->qn = 0;
	ta->rr = 0;
}

void
pk_tagent_stats(const struct pk_tagent *ta, struct pk_tagent_stats *st)
{
	*st = ta->st;
}

static struct track *
find(struct pk_tagent *ta, uint64_t id)
{
	int i;

	for (i = 0; i < ta->nt; i++)
		if (ta->t[i].id == id)
			return &ta->t[i];
	return NULL;
}

static void
untrack(struct pk_tagent *ta, uint64_t id)
{
	struct track *t = find(ta, id);

	if (t != NULL)
		*t = ta->t[--ta->nt];
}

/* Follow id from offset resume; the current state goes out again. */
static struct track *
track(struct pk_tagent *ta, uint64_t id, uint64_t resume)
{
	struct track *t;

	if ((t = find(ta, id)) == NULL) {
		if (ta->nt >= PK_TA_TRACK_MAX) {
			ta->st.track_full++;
			return NULL;
		}
		t = &ta->t[ta->nt++];
	}
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->sent = resume;
	return t;
}

static void
reply(struct pk_tagent *ta, uint64_t id, int state, const char *reason)
{
	struct reply *r;

	if (ta->qn >= PK_TA_REPLY_MAX) {
		ta->st.replies_dropped++;	/* the hub asks again */
		return;
	}
	r = &ta->q[ta->qn++];
	r->id = id;
	r->state = state;
	pk_strlcpy(r->reason, reason, sizeof(r->reason));
}

static void
refuse(struct pk_tagent *ta, uint64_t id, const char *reason)
{
	ta->st.tasks_refused++;
	log_info("task %llu refused: %s", (unsigned long long)id, reason);
	reply(ta, id, PK_TS_REFUSED, reason);
}

static void
on_start(struct pk_tagent *ta, const struct pk_task_frame *tf,
    struct pk_ipc_msg *ipc)
{
	struct pk_task_spec *spec;
	char err[TA_REASON], reason[TA_REASON];
	char *canon = NULL;
	uint64_t running, bytes;
	size_t len;

	if (pk_tfile_size(ta->dir, tf->id, "task") >= 0) {
		/* ours already: upload from where the hub stands */
		ta->st.tasks_resumed++;
		(void)track(ta, tf->id, tf->resume);
		return;
	}
	if ((spec = malloc(sizeof(*spec))) == NULL ||
	    (canon = malloc(PK_TASK_JSON_MAX + 1)) == NULL) {
		ta->st.file_errors++;
		goto out;	/* the hub asks again at the next connect */
	}
	if (tf->spec == NULL || pk_task_parse((const char *)tf->spec,
	    tf->spec_len, spec, err, sizeof(err)) != 0) {
		snprintf(reason, sizeof(reason), "bad specification: %.480s",
		    tf->spec == NULL ? "none" : err);
		refuse(ta, tf->id, reason);
		goto out;
	}
	if (pk_task_policy_check(&ta->pol, spec, reason, sizeof(reason)) != 0) {
		refuse(ta, tf->id, reason);
		goto out;
	}
	if (pk_tfile_usage(ta->dir, &running, &bytes) != 0) {
		ta->st.file_errors++;
		refuse(ta, tf->id, "the task directory is not readable");
		goto out;
	}
	if (pk_task_policy_room(&ta->pol, spec, running, bytes, reason,
	    sizeof(reason)) != 0) {
		refuse(ta, tf->id, reason);
		goto out;
	}
	len = pk_task_encode(spec, canon, PK_TASK_JSON_MAX + 1);
	if (len == 0 || pk_tfile_write(ta->dir, tf->id, "task", canon,
	    len) != 0) {
		ta->st.file_errors++;
		log_warn("task %llu: cannot write its file",
		    (unsigned long long)tf->id);
		goto out;
	}
	ta->st.tasks_started++;
	(void)track(ta, tf->id, tf->resume);
	ipc->type = PK_IPC_TASK_NEW;
	ipc->a = tf->id;
out:
	free(spec);
	free(canon);
}

static void
on_cancel(struct pk_tagent *ta, uint64_t id, struct pk_ipc_msg *ipc)
{
	struct pk_task_status st;
	struct track *t;
	int r;

	if (pk_tfile_size(ta->dir, id, "task") < 0) {
		/* never started here: nothing to stop */
		reply(ta, id, PK_TS_CANCELLED, "");
		return;
	}
	ta->st.tasks_cancelled++;
	if ((t = track(ta, id, 0)) != NULL)
		t->sent = UINT64_MAX;	/* no data after a cancel */
	r = pk_tfile_status(ta->dir, id, &st);
	if (r == 0 && pk_task_state_final(st.state))
		return;			/* its final state goes out again */
	/* A marker survives a collector that is down right now. */
	(void)pk_tfile_write(ta->dir, id, "cancel", "", 0);
	ipc->type = PK_IPC_TASK_CANCEL;
	ipc->a = id;
}

void
pk_tagent_on_task(struct pk_tagent *ta, const struct pk_task_frame *tf,
    struct pk_ipc_msg *ipc)
{
	memset(ipc, 0, sizeof(*ipc));
	switch (tf->op) {
	case PK_TOP_START:
		on_start(ta, tf, ipc);
		break;
	case PK_TOP_CANCEL:
		on_cancel(ta, tf->id, ipc);
		break;
	case PK_TOP_FORGET:
		if (pk_tfile_size(ta->dir, tf->id, "task") >= 0) {
			struct pk_task_status st;

			if (pk_tfile_status(ta->dir, tf->id, &st) != 0 ||
			    !pk_task_state_final(st.state)) {
				ipc->type = PK_IPC_TASK_CANCEL;
				ipc->a = tf->id;
			}
			ta->st.tasks_forgotten++;
		}
		pk_tfile_remove(ta->dir, tf->id);
		untrack(ta, tf->id);
		break;
	default:
		break;
	}
}

static int
state_frame(struct pk_tagent *ta, uint64_t id, int state, uint64_t bytes,
    uint64_t rows, const char *reason, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct pk_result r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.kind = PK_RK_STATE;
	r.state = (uint8_t)state;
	r.bytes = bytes;
	r.rows = rows;
	pk_strlcpy(r.reason, reason, sizeof(r.reason));
	if (strlen(r.reason) > PK_TASK_REASON_MAX)
		r.reason[PK_TASK_REASON_MAX] = '\0';
	if (pk_result_encode(&r, out, cap, outlen) != PK_FE_OK)
		return -1;
	ta->st.state_frames++;
	return 1;
}

/* A chunk of the result from t->sent, at most upto.  1, 0 none, -1. */
static int
data_frame(struct pk_tagent *ta, struct track *t, uint64_t upto,
    uint8_t *out, size_t cap, size_t max_payload, size_t *outlen)
{
	char path[TA_PATH_MAX];
	struct pk_result r;
	size_t want, zlen;
	ssize_t n;
	int fd;

	if (t->sent >= upto || max_payload <= PK_RESULT_MIN ||
	    cap <= PK_TA_DATA_OVERHEAD)
		return 0;
	want = PK_MIN(upto - t->sent, (uint64_t)PK_RESULT_CHUNK_MAX);
	want = PK_MIN(want, max_payload - PK_RESULT_MIN);
	want = PK_MIN(want, cap - PK_TA_DATA_OVERHEAD);
	if (pk_tfile_path(path, sizeof(path), ta->dir, t->id, "out") != 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		ta->st.file_errors++;
		return -1;
	}
	n = pread(fd, ta->chunk, want, (off_t)t->sent);
	(void)close(fd);
	if (n <= 0) {
		if (n < 0)
			ta->st.file_errors++;
		return n < 0 ? -1 : 0;
	}
	memset(&r, 0, sizeof(r));
	r.id = t->id;
	r.kind = PK_RK_DATA;
	r.offset = t->sent;
	r.data = ta->chunk;
	r.dlen = (size_t)n;
	/* Deflated only when that makes it smaller. */
	if (pk_chunk_deflate(ta->chunk, (size_t)n, ta->zchunk, (size_t)n - 1,
	    &zlen) == 0 && zlen > 0) {
		r.data = ta->zchunk;
		r.dlen = zlen;
		r.flags = PK_FF_RESULT_DEFLATE;
	}
	if (pk_result_encode(&r, out, cap, outlen) != PK_FE_OK)
		return -1;
	t->sent += (uint64_t)n;
	ta->st.data_frames++;
	ta->st.data_bytes += (uint64_t)n;
	ta->st.wire_bytes += r.dlen;
	return 1;
}

/* What t has to say now: 1 with a frame, 0 nothing. */
static int
task_next(struct pk_tagent *ta, struct track *t, uint8_t *out, size_t cap,
    size_t max_payload, uint64_t now_us, size_t *outlen)
{
	struct pk_task_status st;
	int64_t size;
	int r;

	if (t->final_sent)
		return 0;
	if ((r = pk_tfile_status(ta->dir, t->id, &st)) != 0) {
		if (r < 0)
			ta->st.status_bad++;
		return 0;		/* the collector has not begun */
	}
	if (t->sent == UINT64_MAX && !pk_task_state_final(st.state))
		return 0;		/* cancelling: wait for its word */
	if (t->last_state == 0 && st.state == PK_TS_RUNNING) {
		/* running goes first, then data */
		goto state;
	}
	size = pk_tfile_size(ta->dir, t->id, "out");
	if (size > 0 && t->sent != UINT64_MAX) {
		uint64_t upto = (uint64_t)size;

		if (pk_task_state_final(st.state) && st.bytes < upto)
			upto = st.bytes;
		if (t->sent > upto)
			t->sent = upto;	/* the hub claims more: trust ours */
		if ((r = data_frame(ta, t, upto, out, cap, max_payload,
		    outlen)) != 0)
			return r > 0 ? 1 : 0;
	}
	if (pk_task_state_final(st.state)) {
		t->final_sent = 1;
		goto state;
	}
	if (st.state == t->last_state && (st.bytes == t->last_bytes &&
	    st.rows == t->last_rows))
		return 0;
	if (st.state == t->last_state && now_us - t->last_us <
	    PK_TA_PROGRESS_US)
		return 0;
state:
	t->last_state = st.state;
	t->last_bytes = st.bytes;
	t->last_rows = st.rows;
	t->last_us = now_us;
	return state_frame(ta, t->id, st.state, st.bytes, st.rows, st.reason,
	    out, cap, outlen) > 0 ? 1 : 0;
}

int
pk_tagent_next(struct pk_tagent *ta, uint8_t *out, size_t cap,
    size_t max_payload, uint64_t now_us, size_t *outlen)
{
	struct reply r;
	int i, k;

	while (ta->qn > 0) {
		r = ta->q[0];
		memmove(&ta->q[0], &ta->q[1], (size_t)(ta->qn - 1) *
		    sizeof(ta->q[0]));
		ta->qn--;
		if (state_frame(ta, r.id, r.state, 0, 0, r.reason, out, cap,
		    outlen) > 0)
			return 1;
	}
	for (i = 0; i < ta->nt; i++) {
		k = (ta->rr + i) % ta->nt;
		if (task_next(ta, &ta->t[k], out, cap, max_payload, now_us,
		    outlen) == 1) {
			ta->rr = k + 1;
			return 1;
		}
	}
	return 0;
}
