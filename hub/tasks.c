/*
 * tasks.c - targeted collection on the hub (see tasks.h; the contract is
 * docs/tasks.md).  Why it is shaped like this:
 *
 * - The store is the truth.  A task and its state on each host are rows
 *   (hub/store.h); the API and the CLI write them, and this hub learns of
 *   what another process made by polling the store once a second with a
 *   query that only looks past the highest task id it has seen and at
 *   cancellations newer than the last it applied: two index lookups, so
 *   several hubs on one database later need nothing more.
 * - Nothing waits on an agent.  A START goes to every connected target at
 *   once (its state becomes sent); a target that is away gets it when it
 *   connects, with resume = the result bytes the hub holds, and a task
 *   whose expiry passes before it starts is expired instead.
 * - Every result byte is appended at the offset the hub expects and only
 *   there: a chunk at another offset is ignored and counted, and the
 *   agent resends from the resume of the next START.  The file is cut to
 *   the stored size before a write (a crash may have left more), cut at
 *   the task's max_bytes (the task fails) and at [tasks] max_total_bytes
 *   for all results together; it is fsynced before the state says done
 *   and FORGET lets the agent delete its copy.
 * - State writes from RESULT frames join the listener's group commit
 *   (store.h) when one is open, so a thousand agents reporting "running"
 *   cost one fsync, not a thousand.  Nothing is acknowledged on them: a
 *   lost write is repaired by the agent's next report.
 *
 * Called by hub/main.c, hub/api.c and hub/listener.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "hub/listener.h"
#include "hub/tasks.h"
#include "transport/batch.h"

#define POLL_US			PK_USEC	/* new tasks, cancels, expiry */
#define POLL_TASKS_MAX		256	/* new tasks dispatched per poll */
#define TINFO_SLOTS		64	/* cached type and max_bytes */
#define OPEN_PER_AGENT_MAX	4096	/* open tasks started at WELCOME */
#define FRAME_MAX		(PK_FRAME_HDR + PK_TASK_FRAME_MIN + \
				 PK_TASK_JSON_MAX)

/* What the data path needs of a task, cached (it never changes). */
struct tinfo {
	int64_t		 id;
	int		 type;
	uint64_t	 max_bytes;
};

/*
 * Several hubs over one database (docs/scaling.md): a cancel is stamped
 * with the clock of the hub that made it, which may be behind this one's,
 * and its transaction may commit after a later one.  So the poll looks
 * back CANCEL_SKEW_US before the newest cancel it applied and skips those
 * it has sent out already (the last CANCEL_SEEN; an older one sent again
 * is a CANCEL the agent ignores).
 */
#define CANCEL_SKEW_US	((int64_t)10 * 1000000)
#define CANCEL_SEEN	256

struct hub_tasks;
static int	cancel_seen(struct hub_tasks *, int64_t, int64_t);

struct hub_tasks {
	struct hub_store	*st;
	struct hub_listener	*l;
	struct event		*timer;
	char			 results_dir[HUB_PATH_MAX];
	int64_t			 last_id;	/* highest task dispatched */
	int64_t			 last_cancel;	/* newest cancel applied */
	/* cancels already sent out, for the look-back window below */
	int64_t			 fanned[CANCEL_SEEN][2];	/* id, when */
	size_t			 nfanned;
	uint64_t		 total_bytes;	/* result bytes held */
	uint64_t		 max_total;	/* [tasks] max_total_bytes */
	struct hub_task_stats	 k;
	struct tinfo		 ti[TINFO_SLOTS];
	uint8_t			 frame[FRAME_MAX];
	uint8_t			 zbuf[PK_RESULT_CHUNK_MAX];
};

/* ------------------------------------------------------------ serving */

static void on_poll(evutil_socket_t, short, void *);

static int
max_id_row(void *arg, const struct hub_task *t)
{
	*(int64_t *)arg = t->id;
	return 1;
}

struct hub_tasks *
hub_tasks_new(const struct hub_config *c, struct hub_store *st,
    struct event_base *base)
{
	struct timeval tv = { 1, 0 };
	struct hub_tasks *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warn("tasks");
		return NULL;
	}
	t->st = st;
	t->max_total = c->tasks_max_total_bytes;
	if (hub_config_results_dir(c, t->results_dir,
	    sizeof(t->results_dir)) == -1) {
		log_warnx("tasks: results directory name too long");
		free(t);
		return NULL;
	}
	if (mkdir(t->results_dir, 0750) == -1 && errno != EEXIST) {
		log_warn("%s", t->results_dir);
		free(t);
		return NULL;
	}
	/* Agents connect after this: every task so far goes out at their
	 * WELCOME, so the poll only looks past what exists now. */
	if (st->ops->task_list(st, 0, 1, max_id_row, &t->last_id) == -1 ||
	    st->ops->task_bytes_total(st, &t->total_bytes) == -1) {
		free(t);
		return NULL;
	}
	t->last_cancel = (int64_t)pk_now_us();
	if (base != NULL && ((t->timer = event_new(base, -1, EV_PERSIST,
	    on_poll, t)) == NULL || event_add(t->timer, &tv) == -1)) {
		log_warnx("tasks: cannot make the poll timer");
		hub_tasks_free(t);
		return NULL;
	}
	return t;
}

void
hub_tasks_set_listener(struct hub_tasks *t, struct hub_listener *l)
{
	t->l = l;
}

void
hub_tasks_free(struct hub_tasks *t)
{
	if (t == NULL)
		return;
	if (t->timer != NULL)
		event_free(t->timer);
	free(t);
}

const struct hub_task_stats *
hub_tasks_stats(const struct hub_tasks *t)
{
	return &t->k;
}

uint64_t
hub_tasks_total_bytes(const struct hub_tasks *t)
{
	return t->total_bytes;
}

const char *
hub_tasks_results_dir(const struct hub_tasks *t)
{
	return t->results_dir;
}

void
hub_tasks_print(const struct hub_tasks *t, FILE *fp)
{
	const struct hub_task_stats *k = &t->k;

	fprintf(fp, "tasks_created %llu\ntasks_cancelled %llu\n"
	    "tasks_frames_out %llu\ntasks_starts %llu\ntasks_cancels %llu\n"
	    "tasks_forgets %llu\ntasks_queue_full %llu\n"
	    "tasks_frames_in %llu\ntasks_states %llu\ntasks_chunks %llu\n"
	    "tasks_chunks_ignored %llu\ntasks_chunks_bad %llu\n"
	    "tasks_unknown %llu\ntasks_bytes_stored %llu\n"
	    "tasks_over_quota %llu\ntasks_expired %llu\ntasks_done %llu\n"
	    "tasks_store_errors %llu\ntasks_file_errors %llu\n"
	    "tasks_bytes_held %llu\n",
	    (unsigned long long)k->created, (unsigned long long)k->cancelled,
	    (unsigned long long)k->frames_out, (unsigned long long)k->starts,
	    (unsigned long long)k->cancels, (unsigned long long)k->forgets,
	    (unsigned long long)k->queue_full,
	    (unsigned long long)k->frames_in, (unsigned long long)k->states,
	    (unsigned long long)k->chunks,
	    (unsigned long long)k->chunks_ignored,
	    (unsigned long long)k->chunks_bad, (unsigned long long)k->unknown,
	    (unsigned long long)k->bytes_stored,
	    (unsigned long long)k->over_quota, (unsigned long long)k->expired,
	    (unsigned long long)k->done, (unsigned long long)k->store_errors,
	    (unsigned long long)k->file_errors,
	    (unsigned long long)t->total_bytes);
}

/* Encode a TASK frame into t->frame: its length, or 0. */
static size_t
task_frame(struct hub_tasks *t, int64_t id, int op, uint64_t resume,
    const char *spec, size_t spec_len)
{
	struct pk_task_frame tf;
	size_t n;

	memset(&tf, 0, sizeof(tf));
	tf.id = (uint64_t)id;
	tf.op = (uint8_t)op;
	tf.resume = resume;
	if (op == PK_TOP_START) {
		tf.spec = (const uint8_t *)spec;
		tf.spec_len = spec_len;
	}
	if (pk_task_frame_encode(&tf, t->frame, sizeof(t->frame), &n) !=
	    PK_FE_OK) {
		log_warnx("task %lld: cannot encode a TASK frame",
		    (long long)id);
		return 0;
	}
	return n;
}

/* Queue a TASK frame on c: 0, or -1 (not queued, counted). */
static int
send_op(struct hub_tasks *t, struct hub_conn *c, int64_t id, int op,
    uint64_t resume, const char *spec, size_t spec_len)
{
	size_t n;

	if (t->l == NULL || c == NULL ||
	    (n = task_frame(t, id, op, resume, spec, spec_len)) == 0)
		return -1;
	if (hub_listener_queue(t->l, c, t->frame, n) == -1) {
		t->k.queue_full++;
		return -1;
	}
	t->k.frames_out++;
	if (op == PK_TOP_START)
		t->k.starts++;
	else if (op == PK_TOP_CANCEL)
		t->k.cancels++;
	else
		t->k.forgets++;
	return 0;
}

/* Host rows of one task in a given state, sorted by agent id. */
struct hrow {
	char		 agent_id[HUB_ID_MAX + 1];
	int		 state;
	uint64_t	 bytes, final_bytes, rows;
	int64_t		 updated_us;
	int		 hit;
};

struct hrows {
	struct hrow	*v;
	size_t		 n, cap;
	int		 want;		/* state, or 0: any not final */
	int64_t		 updated_us;	/* 0, or only rows updated then */
	int		 oom;
};

static int
hrows_row(void *arg, const struct hub_task_host *h)
{
	struct hrows *x = arg;

	if (x->want != 0 && h->state != x->want)
		return 0;
	if (x->updated_us != 0 && h->updated_us != x->updated_us)
		return 0;
	if (pk_grow(&x->v, &x->cap, x->n, sizeof(*x->v)) == -1) {
		x->oom = 1;
		return 1;
	}
	memset(&x->v[x->n], 0, sizeof(x->v[0]));
	pk_strlcpy(x->v[x->n].agent_id, h->agent_id,
	    sizeof(x->v[x->n].agent_id));
	x->v[x->n].state = h->state;
	x->v[x->n].bytes = h->bytes;
	x->v[x->n].final_bytes = h->final_bytes;
	x->v[x->n].rows = h->rows;
	x->v[x->n].updated_us = h->updated_us;
	x->n++;
	return 0;
}

static int
cmp_hrow_key(const void *key, const void *elt)
{
	return strcmp(key, ((const struct hrow *)elt)->agent_id);
}

/* Send one op to every connected host of a sorted set. */
struct fan {
	struct hub_tasks	*t;
	struct hrows		*rows;
	int64_t			 id;
	int			 op;
	const char		*spec;
	size_t			 spec_len;
};

static int
fan_one(void *arg, const char *agent_id, struct hub_conn *c)
{
	struct fan *f = arg;
	struct hrow *r;

	r = bsearch(agent_id, f->rows->v, f->rows->n, sizeof(*f->rows->v),
	    cmp_hrow_key);
	if (r == NULL)
		return 0;
	if (send_op(f->t, c, f->id, f->op, r->bytes, f->spec, f->spec_len)
	    == 0)
		r->hit = 1;
	return 0;
}

/* START task id on every connected host still queued: they are sent. */
static void
dispatch(struct hub_tasks *t, int64_t id, const char *spec, size_t spec_len)
{
	struct hrows rows;
	struct fan f;
	struct hub_task_host h;
	int64_t now = (int64_t)pk_now_us();
	size_t i, sent = 0;
	int rc = 0;

	memset(&rows, 0, sizeof(rows));
	rows.want = PK_TS_QUEUED;
	if (t->st->ops->task_hosts(t->st, id, hrows_row, &rows) == -1 ||
	    rows.oom) {
		t->k.store_errors++;
		free(rows.v);
		return;
	}
	f.t = t;
	f.rows = &rows;
	f.id = id;
	f.op = PK_TOP_START;
	f.spec = spec;
	f.spec_len = spec_len;
	if (rows.n > 0 && t->l != NULL)
		hub_listener_each_ready(t->l, fan_one, &f);
	for (i = 0; i < rows.n; i++)
		sent += rows.v[i].hit;
	/* One transaction for them all: one fsync, not one per host. */
	if (sent > 0 && (rc = t->st->ops->begin(t->st)) == 0) {
		for (i = 0; i < rows.n && rc == 0; i++) {
			if (!rows.v[i].hit)
				continue;
			memset(&h, 0, sizeof(h));
			h.task_id = id;
			pk_strlcpy(h.agent_id, rows.v[i].agent_id,
			    sizeof(h.agent_id));
			h.state = PK_TS_SENT;
			h.updated_us = now;
			rc = t->st->ops->task_host_put(t->st, &h);
		}
		if (rc == 0)
			rc = t->st->ops->commit(t->st);
		else
			(void)t->st->ops->rollback(t->st);
	}
	if (rc != 0)
		t->k.store_errors++;
	log_info("task %lld: START sent to %zu of %zu queued host(s)",
	    (long long)id, sent, rows.n);
	free(rows.v);
}

/* CANCEL to the connected hosts a cancellation at cancelled_us hit. */
static void
fan_cancel(struct hub_tasks *t, int64_t id, int64_t cancelled_us)
{
	struct hrows rows;
	struct fan f;

	memset(&rows, 0, sizeof(rows));
	rows.want = PK_TS_CANCELLED;
	rows.updated_us = cancelled_us;
	if (t->st->ops->task_hosts(t->st, id, hrows_row, &rows) == -1 ||
	    rows.oom) {
		t->k.store_errors++;
		free(rows.v);
		return;
	}
	memset(&f, 0, sizeof(f));
	f.t = t;
	f.rows = &rows;
	f.id = id;
	f.op = PK_TOP_CANCEL;
	if (rows.n > 0 && t->l != NULL)
		hub_listener_each_ready(t->l, fan_one, &f);
	free(rows.v);
}

int
hub_tasks_cancel(struct hub_tasks *t, int64_t id, const char *actor,
    int *found, uint64_t *changed)
{
	char reason[HUB_TASK_REASON_MAX + 1];
	int64_t now = (int64_t)pk_now_us();

	snprintf(reason, sizeof(reason), "cancelled by %s", actor);
	if (t->st->ops->task_cancel(t->st, id, now, reason, found, changed)
	    == -1) {
		t->k.store_errors++;
		return -1;
	}
	if (*found) {
		t->k.cancelled++;
		fan_cancel(t, id, now);
		(void)cancel_seen(t, id, now);
		t->last_cancel = PK_MAX(t->last_cancel, now);
	}
	return 0;
}

/* ---- the poll: new tasks, cancellations, expiry */

struct scan_item {
	int64_t		 id;
	int64_t		 cancelled_us;
	int64_t		 expires_us;
	char		*spec;
	size_t		 spec_len;
};

struct scan_ctx {
	struct hub_tasks	*t;
	struct scan_item	 v[POLL_TASKS_MAX];
	size_t			 n;
	int			 oom;
};

static int
scan_row(void *arg, const struct hub_task *task)
{
	struct scan_ctx *x = arg;
	struct scan_item *it;

	if (x->n == POLL_TASKS_MAX)
		return 1;
	it = &x->v[x->n];
	memset(it, 0, sizeof(*it));
	it->id = task->id;
	it->cancelled_us = task->cancelled_us;
	it->expires_us = task->expires_us;
	if (task->id > x->t->last_id) {
		if ((it->spec = malloc(task->spec_len + 1)) == NULL) {
			x->oom = 1;
			return 1;
		}
		memcpy(it->spec, task->spec, task->spec_len);
		it->spec[task->spec_len] = '\0';
		it->spec_len = task->spec_len;
	}
	x->n++;
	return 0;
}

/* Hosts whose task expired before they started it. */
struct exp_item {
	int64_t		 task_id;
	char		 agent_id[HUB_ID_MAX + 1];
	int		 state;
};

struct exp_ctx {
	struct exp_item	*v;
	size_t		 n, cap;
	int		 oom;
};

static int
exp_row(void *arg, const struct hub_task *task, const struct hub_task_host *h)
{
	struct exp_ctx *x = arg;

	if (x->n == HUB_TASK_TARGETS_MAX)
		return 1;	/* the rest at the next poll */
	if (pk_grow(&x->v, &x->cap, x->n, sizeof(*x->v)) == -1) {
		x->oom = 1;
		return 1;
	}
	x->v[x->n].task_id = task->id;
	pk_strlcpy(x->v[x->n].agent_id, h->agent_id,
	    sizeof(x->v[x->n].agent_id));
	x->v[x->n].state = h->state;
	x->n++;
	return 0;
}

static const char expired_reason[] = "not started before the task's expiry";

static void
expire(struct hub_tasks *t, int64_t now)
{
	struct exp_ctx x;
	struct hub_task_host h;
	struct hub_conn *c;
	size_t i;
	int rc;

	memset(&x, 0, sizeof(x));
	if (t->st->ops->task_expiring(t->st, now, exp_row, &x) == -1 ||
	    x.oom) {
		t->k.store_errors++;
		free(x.v);
		return;
	}
	if (x.n == 0)
		return;
	if ((rc = t->st->ops->begin(t->st)) == 0) {
		for (i = 0; i < x.n && rc == 0; i++) {
			memset(&h, 0, sizeof(h));
			h.task_id = x.v[i].task_id;
			pk_strlcpy(h.agent_id, x.v[i].agent_id,
			    sizeof(h.agent_id));
			h.state = PK_TS_EXPIRED;
			pk_strlcpy(h.reason, expired_reason, sizeof(h.reason));
			h.updated_us = now;
			rc = t->st->ops->task_host_put(t->st, &h);
		}
		if (rc == 0)
			rc = t->st->ops->commit(t->st);
		else
			(void)t->st->ops->rollback(t->st);
	}
	if (rc != 0) {
		t->k.store_errors++;
		free(x.v);
		return;
	}
	t->k.expired += x.n;
	/* A host that was sent it may hold it: tell it to stop. */
	for (i = 0; i < x.n; i++)
		if (x.v[i].state == PK_TS_SENT && t->l != NULL &&
		    (c = hub_listener_find(t->l, x.v[i].agent_id)) != NULL)
			(void)send_op(t, c, x.v[i].task_id, PK_TOP_CANCEL, 0,
			    NULL, 0);
	log_info("tasks: %zu host(s) expired", x.n);
	free(x.v);
}

/* Has this cancel (task id, time) been sent out?  If not, remember it. */
static int
cancel_seen(struct hub_tasks *t, int64_t id, int64_t when)
{
	size_t i, n = PK_MIN(t->nfanned, (size_t)CANCEL_SEEN);

	for (i = 0; i < n; i++)
		if (t->fanned[i][0] == id && t->fanned[i][1] == when)
			return 1;
	i = t->nfanned++ % CANCEL_SEEN;
	t->fanned[i][0] = id;
	t->fanned[i][1] = when;
	return 0;
}

void
hub_tasks_poll(struct hub_tasks *t)
{
	struct scan_ctx *x;
	int64_t now = (int64_t)pk_now_us();
	size_t i;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return;
	x->t = t;
	if (t->st->ops->task_scan(t->st, t->last_id, t->last_cancel -
	    CANCEL_SKEW_US, scan_row, x) == -1)
		t->k.store_errors++;
	for (i = 0; i < x->n; i++) {
		if (x->v[i].spec != NULL) {
			t->k.created++;
			if (x->v[i].expires_us > now && x->v[i].cancelled_us ==
			    0)
				dispatch(t, x->v[i].id, x->v[i].spec,
				    x->v[i].spec_len);
			t->last_id = PK_MAX(t->last_id, x->v[i].id);
		}
		if (x->v[i].cancelled_us > 0 && !cancel_seen(t, x->v[i].id,
		    x->v[i].cancelled_us)) {
			fan_cancel(t, x->v[i].id, x->v[i].cancelled_us);
			t->last_cancel = PK_MAX(t->last_cancel,
			    x->v[i].cancelled_us);
			t->k.cancelled++;
		}
		free(x->v[i].spec);
	}
	free(x);
	expire(t, now);
}

static void
on_poll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hub_tasks_poll(arg);
}

/* ---- an agent connects */

struct welcome_item {
	int64_t		 task_id;
	int		 state;		/* new state */
};

struct welcome_ctx {
	struct hub_tasks	*t;
	struct hub_conn		*c;
	int64_t			 now;
	struct welcome_item	*v;
	size_t			 n, cap;
	size_t			 started;
	int			 oom;
};

static int
welcome_row(void *arg, const struct hub_task *task,
    const struct hub_task_host *h)
{
	struct welcome_ctx *x = arg;
	int next = 0;

	if (x->n == OPEN_PER_AGENT_MAX)
		return 1;
	if (h->state != PK_TS_RUNNING && task->expires_us <= x->now) {
		next = PK_TS_EXPIRED;
	} else {
		if (send_op(x->t, x->c, task->id, PK_TOP_START, h->bytes,
		    task->spec, task->spec_len) == -1)
			return 0;	/* queued still: the next connect */
		x->started++;
		if (h->state == PK_TS_QUEUED)
			next = PK_TS_SENT;
	}
	if (next == 0)
		return 0;
	if (pk_grow(&x->v, &x->cap, x->n, sizeof(*x->v)) == -1) {
		x->oom = 1;
		return 1;
	}
	x->v[x->n].task_id = task->id;
	x->v[x->n].state = next;
	x->n++;
	return 0;
}

void
hub_tasks_welcome(struct hub_tasks *t, struct hub_conn *c,
    const char *agent_id)
{
	struct welcome_ctx x;
	struct hub_task_host h;
	size_t i;

	memset(&x, 0, sizeof(x));
	x.t = t;
	x.c = c;
	x.now = (int64_t)pk_now_us();
	if (t->st->ops->task_open_for(t->st, agent_id, welcome_row, &x) ==
	    -1)
		t->k.store_errors++;
	/* These join the listener's open group (the WELCOME's). */
	for (i = 0; i < x.n; i++) {
		memset(&h, 0, sizeof(h));
		h.task_id = x.v[i].task_id;
		pk_strlcpy(h.agent_id, agent_id, sizeof(h.agent_id));
		h.state = x.v[i].state;
		h.updated_us = x.now;
		if (h.state == PK_TS_EXPIRED) {
			pk_strlcpy(h.reason, expired_reason, sizeof(h.reason));
			t->k.expired++;
		}
		if (t->st->ops->task_host_put(t->st, &h) == -1)
			t->k.store_errors++;
	}
	if (x.started > 0)
		log_info("agent %s: START for %zu open task(s)", agent_id,
		    x.started);
	free(x.v);
}

/* ---- RESULT frames */

static int
tinfo_row(void *arg, const struct hub_task *task)
{
	struct tinfo *ti = arg;
	struct pk_task_spec ts;
	char err[64];

	if (pk_task_parse(task->spec, task->spec_len, &ts, err, sizeof(err))
	    == -1)
		return 1;	/* stored canonical: never happens */
	ti->id = task->id;
	ti->type = ts.type;
	ti->max_bytes = ts.max_bytes;
	return 0;
}

/* The task's type and max_bytes: 0, or -1 (unknown or store error). */
static int
task_info(struct hub_tasks *t, int64_t id, struct tinfo *out)
{
	struct tinfo *slot = &t->ti[(uint64_t)id % TINFO_SLOTS], ti;
	int found;

	if (slot->id == id && id != 0) {
		*out = *slot;
		return 0;
	}
	memset(&ti, 0, sizeof(ti));
	if (t->st->ops->task_get(t->st, id, tinfo_row, &ti, &found) == -1) {
		t->k.store_errors++;
		return -1;
	}
	if (!found || ti.id != id)
		return -1;
	*slot = ti;
	*out = ti;
	return 0;
}

/* Make <results_dir>/<id>/ and open the host's result file. */
static int
result_open(struct hub_tasks *t, int64_t id, const char *agent_id, int type,
    char *path, size_t cap)
{
	char *slash;
	int fd;

	if (hub_task_result_path(t->results_dir, id, agent_id, type, path, cap)
	    == -1)
		return -1;
	if ((slash = strrchr(path, '/')) == NULL)
		return -1;
	*slash = '\0';
	if (mkdir(path, 0750) == -1 && errno != EEXIST) {
		log_warn("%s", path);
		return -1;
	}
	*slash = '/';
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640)) == -1)
		log_warn("%s", path);
	return fd;
}

/* Write the whole chunk at off: 0 or -1. */
static int
pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	ssize_t w;

	while (n > 0) {
		w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/*
 * Append p[0..n) to the host's file at h->bytes.  The file may be longer
 * than the store says (a crash between the write and the commit): cut
 * it.  Shorter (the store's write outlived the file's): the store is
 * told the truth and the chunk waits for the agent's resend.  0 written,
 * 1 the store's size was corrected, -1 error.
 */
static int
result_append(struct hub_tasks *t, struct hub_task_host *h, int type,
    const uint8_t *p, size_t n)
{
	char path[HUB_PATH_MAX + 128];
	struct stat sb;
	int fd, rc = 0;

	if ((fd = result_open(t, h->task_id, h->agent_id, type, path,
	    sizeof(path))) == -1)
		return -1;
	if (fstat(fd, &sb) == -1) {
		close(fd);
		return -1;
	}
	if ((uint64_t)sb.st_size < h->bytes) {
		log_warnx("%s: %lld bytes, the store said %llu: resuming "
		    "from there", path, (long long)sb.st_size,
		    (unsigned long long)h->bytes);
		t->total_bytes -= PK_MIN(t->total_bytes, h->bytes -
		    (uint64_t)sb.st_size);
		h->bytes = (uint64_t)sb.st_size;
		close(fd);
		return 1;
	}
	if ((uint64_t)sb.st_size > h->bytes &&
	    ftruncate(fd, (off_t)h->bytes) == -1)
		rc = -1;
	if (rc == 0 && pwrite_all(fd, p, n, h->bytes) == -1)
		rc = -1;
	if (rc == -1)
		log_warn("%s", path);
	close(fd);
	return rc;
}

/* fsync the finished file (and its directory entry's directory). */
static int
result_sync(struct hub_tasks *t, const struct hub_task_host *h, int type)
{
	char path[HUB_PATH_MAX + 128], *slash;
	int fd, rc;

	if (hub_task_result_path(t->results_dir, h->task_id, h->agent_id, type,
	    path, sizeof(path)) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && h->bytes == 0)
			return 0;	/* an empty result: no file */
		return -1;
	}
	rc = fsync(fd);
	close(fd);
	if (rc == 0 && (slash = strrchr(path, '/')) != NULL) {
		*slash = '\0';
		if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >=
		    0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	return rc;
}

static void
host_fail(struct hub_tasks *t, struct hub_task_host *h, const char *why)
{
	h->state = PK_TS_FAILED;
	pk_strlcpy(h->reason, why, sizeof(h->reason));
	log_info("task %lld on %s: failed: %s", (long long)h->task_id,
	    h->agent_id, why);
	(void)t;
}

/* Every byte is here: fsync, then done.  1 done, 0 failed. */
static int
host_done(struct hub_tasks *t, struct hub_task_host *h, int type)
{
	if (result_sync(t, h, type) == -1) {
		t->k.file_errors++;
		host_fail(t, h, "result file could not be synced");
		return 0;
	}
	h->state = PK_TS_DONE;
	h->reason[0] = '\0';
	t->k.done++;
	log_info("task %lld on %s: done, %llu bytes, %llu rows",
	    (long long)h->task_id, h->agent_id, (unsigned long long)h->bytes,
	    (unsigned long long)h->rows);
	return 1;
}

/*
 * Write h.  Most writes join the listener's open group (one fsync for
 * the turn); done is committed on its own first, because FORGET makes
 * the agent delete its copy and may go out before the group commits.
 */
static void
put(struct hub_tasks *t, struct hub_conn *c, struct hub_task_host *h,
    int forget)
{
	int rc;

	h->updated_us = (int64_t)pk_now_us();
	if (!forget) {
		if (t->st->ops->task_host_put(t->st, h) == -1)
			t->k.store_errors++;
		return;
	}
	if ((rc = t->st->ops->begin(t->st)) == 0) {
		if ((rc = t->st->ops->task_host_put(t->st, h)) == 0)
			rc = t->st->ops->commit(t->st);
		else
			(void)t->st->ops->rollback(t->st);
	}
	if (rc != 0) {
		t->k.store_errors++;
		return;		/* no FORGET: the agent reports done again */
	}
	(void)send_op(t, c, h->task_id, PK_TOP_FORGET, 0, NULL, 0);
}

/* A host that is final on the hub sent r: tell it again what to do. */
static void
final_reply(struct hub_tasks *t, struct hub_conn *c,
    const struct hub_task_host *h, const struct pk_result *r)
{
	if (h->state == PK_TS_DONE) {
		if (r->kind == PK_RK_STATE && r->state == PK_TS_DONE)
			(void)send_op(t, c, h->task_id, PK_TOP_FORGET, 0, NULL,
			    0);
	} else if (h->state != PK_TS_REFUSED && (r->kind == PK_RK_DATA ||
	    r->state == PK_TS_RUNNING)) {
		(void)send_op(t, c, h->task_id, PK_TOP_CANCEL, 0, NULL, 0);
	}
}

static void
result_state(struct hub_tasks *t, struct hub_conn *c,
    struct hub_task_host *h, const struct tinfo *ti,
    const struct pk_result *r)
{
	int forget = 0;

	t->k.states++;
	h->rows = r->rows;
	switch (r->state) {
	case PK_TS_RUNNING:
		h->state = PK_TS_RUNNING;
		h->reason[0] = '\0';
		break;
	case PK_TS_DONE:
		h->final_bytes = r->bytes;
		if (r->bytes > ti->max_bytes) {
			t->k.over_quota++;
			host_fail(t, h, "result over max_bytes");
			(void)send_op(t, c, h->task_id, PK_TOP_CANCEL, 0, NULL,
			    0);
		} else if (h->bytes == r->bytes) {
			forget = host_done(t, h, ti->type);
		} else if (h->bytes > r->bytes) {
			host_fail(t, h, "result longer than the agent's "
			    "final size");
		} else {
			h->state = PK_TS_RUNNING;	/* bytes still to come */
		}
		break;
	case PK_TS_FAILED:
	case PK_TS_REFUSED:
	case PK_TS_CANCELLED:
		h->state = r->state;
		pk_strlcpy(h->reason, r->reason[0] != '\0' ? r->reason :
		    pk_task_state_name(r->state), sizeof(h->reason));
		log_info("task %lld on %s: %s: %s", (long long)h->task_id,
		    h->agent_id, pk_task_state_name(h->state), h->reason);
		break;
	default:
		return;		/* the decoder allows only those */
	}
	put(t, c, h, forget);
}

static void
result_data(struct hub_tasks *t, struct hub_conn *c, struct hub_task_host *h,
    const struct tinfo *ti, const struct pk_result *r)
{
	const uint8_t *p = r->data;
	size_t n = r->dlen;
	const char *over = NULL;
	int rc, forget = 0;

	if (r->offset != h->bytes) {
		t->k.chunks_ignored++;
		return;
	}
	if (r->flags & PK_FF_RESULT_DEFLATE) {
		if (pk_chunk_inflate(r->data, r->dlen, t->zbuf,
		    sizeof(t->zbuf), &n) != PK_BE_OK) {
			t->k.chunks_bad++;
			host_fail(t, h, "a result chunk does not inflate");
			(void)send_op(t, c, h->task_id, PK_TOP_CANCEL, 0, NULL,
			    0);
			put(t, c, h, 0);
			return;
		}
		p = t->zbuf;
	}
	if (h->bytes + n > ti->max_bytes) {
		n = (size_t)(ti->max_bytes - PK_MIN(ti->max_bytes, h->bytes));
		over = "result over max_bytes";
	}
	if (t->max_total != 0 && t->total_bytes + n > t->max_total) {
		n = (size_t)(t->max_total - PK_MIN(t->max_total,
		    t->total_bytes));
		over = "the hub's result quota ([tasks] max_total_bytes) "
		    "is full";
	}
	if (n > 0) {
		rc = result_append(t, h, ti->type, p, n);
		if (rc == -1) {
			t->k.file_errors++;
			return;		/* the agent resends from resume */
		}
		if (rc == 1) {
			t->k.chunks_ignored++;
			put(t, c, h, 0);
			return;
		}
		h->bytes += n;
		t->total_bytes += n;
		t->k.bytes_stored += n;
	}
	t->k.chunks++;
	if (h->state == PK_TS_QUEUED || h->state == PK_TS_SENT)
		h->state = PK_TS_RUNNING;
	if (over != NULL) {
		t->k.over_quota++;
		host_fail(t, h, over);
		(void)send_op(t, c, h->task_id, PK_TOP_CANCEL, 0, NULL, 0);
	} else if (h->final_bytes > 0 && h->bytes == h->final_bytes) {
		forget = host_done(t, h, ti->type);
	}
	put(t, c, h, forget);
}

int
hub_tasks_result(struct hub_tasks *t, struct hub_conn *c,
    const char *agent_id, const struct pk_frame *f)
{
	struct hub_task_host h;
	struct pk_result r;
	struct tinfo ti;
	int rc, found;

	if ((rc = pk_result_decode(f, &r)) != PK_FE_OK)
		return rc;
	t->k.frames_in++;
	if (r.id > (uint64_t)INT64_MAX) {
		t->k.unknown++;
		return 0;
	}
	if (t->st->ops->task_host_get(t->st, (int64_t)r.id, agent_id, &h,
	    &found) == -1) {
		t->k.store_errors++;
		return 0;
	}
	if (!found || task_info(t, (int64_t)r.id, &ti) == -1) {
		/* Not a task of this host (any more): it may drop it. */
		t->k.unknown++;
		(void)send_op(t, c, (int64_t)r.id, PK_TOP_FORGET, 0, NULL, 0);
		return 0;
	}
	if (pk_task_state_final(h.state)) {
		if (r.kind == PK_RK_DATA)
			t->k.chunks_ignored++;
		final_reply(t, c, &h, &r);
		return 0;
	}
	if (r.kind == PK_RK_STATE)
		result_state(t, c, &h, &ti, &r);
	else
		result_data(t, c, &h, &ti, &r);
	return 0;
}
