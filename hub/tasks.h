/*
 * tasks.h - the hub's side of targeted collection (docs/tasks.md, "Hub"):
 * orders checked with transport/task.c and their targets resolved to
 * agent ids when they are made (hub_task_create, for the API and the
 * CLI), TASK frames to connected agents (at once, when an agent
 * connects, and when a 1 s poll of the store finds a task this hub has
 * not dispatched: one the CLI made, or a cancellation), RESULT frames
 * from agents (states; chunks appended at the offset the hub expects to
 * files under data_dir/tasks/<id>/), expiry and quotas.  Runs on the
 * hub's one event loop; the listener (hub/listener.c) hands it RESULT
 * frames and connected agents, the API (hub/api.c) and hub/main.c call
 * the rest.
 */
#ifndef PICKET_HUB_TASKS_H
#define PICKET_HUB_TASKS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hub/config.h"
#include "hub/store.h"
#include "transport/frame.h"
#include "transport/task.h"

#define HUB_TASK_TARGETS_MAX	10000	/* hosts of one task */
#define HUB_TASK_ERR_MAX	256
#define HUB_TASK_EXPIRES_DEF	3600	/* seconds, when not said */
#define HUB_TASK_EXPIRES_MAX	(30 * 86400)

/* How the hosts of an order are chosen; the union of all that is set. */
struct hub_task_targets {
	const char *const *agents;	/* explicit agent ids */
	size_t		 nagents;
	const char *const *tags;	/* enrolled agents with this tag */
	size_t		 ntags;
	int		 reported;	/* HUB_REPORTED_*, or -1: none */
	const char	*value;		/* the rule, fingerprint or IOC */
	int64_t		 since_us;	/* reported since (wall clock) */
	uint64_t	 since_s;	/* for the description only */
};

/*
 * Make a task: spec[0..len) is checked with pk_task_parse and stored in
 * its canonical form, the targets are resolved now (at least one host, at
 * most HUB_TASK_TARGETS_MAX; an explicit agent id must be known to the
 * hub), every host starts queued.  actor is the token name or "cli".
 * 0 with *id and *nhosts; 1 the order is refused (err says why, for a
 * 400); -1 the store failed (err).
 */
int hub_task_create(struct hub_store *st, const char *spec, size_t len,
    const struct hub_task_targets *tg, int64_t expires_us, const char *actor,
    int64_t now_us, int64_t *id, size_t *nhosts, char *err, size_t errlen);

/* Control bytes in a reason (the parser may quote a hostile key) -> '?'. */
void hub_task_reason_clean(char *s);

/*
 * The result file of a task on one host: <results_dir>/<id>/<agent>.pcap
 * for pcap, .ndjson otherwise (agent ids outside [A-Za-z0-9._-] are
 * %-escaped); results_dir is hub_config_results_dir's ([tasks]
 * results_dir, or data_dir/tasks).  0, or -1 when it does not fit cap.
 */
int hub_task_result_path(const char *results_dir, int64_t id,
    const char *agent_id, int type, char *out, size_t cap);

/* Counters for /metrics and SIGUSR1 (docs/hub.md). */
struct hub_task_stats {
	uint64_t	created;	/* tasks made by this process */
	uint64_t	cancelled;	/* cancellations applied */
	uint64_t	frames_out;	/* TASK frames queued to agents */
	uint64_t	starts, cancels, forgets;
	uint64_t	queue_full;	/* START not queued: connection busy */
	uint64_t	frames_in;	/* RESULT frames */
	uint64_t	states;		/* RESULT STATE frames applied */
	uint64_t	chunks;		/* DATA chunks stored */
	uint64_t	chunks_ignored;	/* wrong offset, or nothing to add to */
	uint64_t	chunks_bad;	/* did not inflate */
	uint64_t	unknown;	/* RESULT for a task the host lacks */
	uint64_t	bytes_stored;	/* result bytes written */
	uint64_t	over_quota;	/* tasks failed on max_bytes or total */
	uint64_t	expired;	/* hosts expired */
	uint64_t	done;		/* hosts done */
	uint64_t	store_errors;
	uint64_t	file_errors;
};

struct hub_tasks;
struct hub_listener;
struct hub_conn;
struct event_base;

/* The serving side: needs c's data_dir; polls st every second on base. */
struct hub_tasks *hub_tasks_new(const struct hub_config *c,
    struct hub_store *st, struct event_base *base);
void hub_tasks_set_listener(struct hub_tasks *t, struct hub_listener *l);
void hub_tasks_free(struct hub_tasks *t);
/* Dispatch what the store holds that this hub has not dispatched (new
 * tasks, cancellations) now rather than at the next poll. */
void hub_tasks_poll(struct hub_tasks *t);
/* Cancel a task for the API: the store, then CANCEL to connected hosts.
 * 0 with *found and *changed, -1 store error. */
int hub_tasks_cancel(struct hub_tasks *t, int64_t id, const char *actor,
    int *found, uint64_t *changed);
const struct hub_task_stats *hub_tasks_stats(const struct hub_tasks *t);
/* Result bytes the hub holds for every task. */
uint64_t hub_tasks_total_bytes(const struct hub_tasks *t);
const char *hub_tasks_results_dir(const struct hub_tasks *t);

/* The counters as "tasks_<name> value" lines (SIGUSR1, docs/hub.md). */
void hub_tasks_print(const struct hub_tasks *t, FILE *fp);

/* `picket-hub task ...` (hub/task_cli.c). */
int hub_cmd_task(int argc, char **argv);

/* From the listener: agent_id's connection c is READY (its WELCOME is
 * queued): START each task not final on it, or expire it. */
void hub_tasks_welcome(struct hub_tasks *t, struct hub_conn *c,
    const char *agent_id);
/* From the listener: a RESULT frame of agent_id on c.  0, or a
 * pk_frame_err when it does not decode (the listener closes). */
int hub_tasks_result(struct hub_tasks *t, struct hub_conn *c,
    const char *agent_id, const struct pk_frame *f);

#endif
