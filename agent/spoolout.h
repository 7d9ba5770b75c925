/*
 * spoolout.h - the collector's side of reporting: an engine output that
 * appends every indicator to the spool with the same sequence number the
 * engine gave it, the spool's timer (durability policy), the status
 * messages that tell the shipper how far the spool goes, the shipper's
 * "hub stores up to" message, and a health indicator when indicators
 * could not be spooled (full disk, write errors, dropped segments).
 * Called by agent/main.c in the collector process.
 */
#ifndef PICKET_SPOOLOUT_H
#define PICKET_SPOOLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/ipc.h"
#include "agent/indicator.h"
#include "transport/spool.h"

struct pk_spoolout {
	struct pk_spool		*sp;
	struct pk_engine	*e;
	int			 ipc_fd;	/* -1 = no shipper */
	uint64_t		 check_us;	/* last look at the stats */
	uint64_t		 status_us;	/* last status sent */
	uint64_t		 sent_next, sent_durable, sent_lost;
	uint64_t		 health_us;	/* last loss report */
	uint64_t		 reported_lost;
	int			 failing;	/* appends failing now */
	uint64_t		 failed_since;	/* appends lost this episode */
	uint64_t		 ipc_bad;
	uint64_t		 raised;	/* HUB_STORED applied */
	/* TASK_NEW / TASK_CANCEL (agent/task_exec.c) and BUNDLE_NEW /
	 * BUNDLE_ROLLBACK (agent/bundle_agent.c) go here; NULL: they
	 * count as bad. */
	void			(*task_fn)(void *arg,
				    const struct pk_ipc_msg *m);
	void			*task_arg;
	/* When the next tick has work (pk_spoolout_timeout): idle, none. */
	int			 sync_batch;	/* [spool] sync = batch */
	uint64_t		 unsynced;	/* last seq appended, not yet
						 * known durable; 0 none */
	int			 touched;	/* appended since the last look */
	uint64_t		 next_us;	/* next look (mono); 0 at once,
						 * UINT64_MAX none */
};

/*
 * Open the spool ([spool] settings; recovery happens here and what it
 * dropped is logged) and make the engine's next sequence number the
 * spool's.  0 or -1 (logged).
 */
int pk_spoolout_open(struct pk_spoolout *o, const struct pk_config *cfg,
    struct pk_engine *e, int ipc_fd);
/* pk_output_fn for pk_engine_add_output(). */
void pk_spoolout_write(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind);
/* Every loop turn: sync per policy, status to the shipper, messages from
 * it, a health indicator after losses (at most every 10 s). */
void pk_spoolout_tick(struct pk_spoolout *o, uint64_t mono_us);
/*
 * Milliseconds until pk_spoolout_tick has something to do (a batch sync,
 * a status for the shipper, a loss report): the main loop's poll timeout
 * on its account.  -1 when nothing is pending: the loop may sleep until
 * a descriptor wakes it (appends happen only then).
 */
int pk_spoolout_timeout(const struct pk_spoolout *o, uint64_t mono_us);
/* "stats: spool.* N" lines. */
void pk_spoolout_report(struct pk_spoolout *o, void (*line)(const char *));
/* Sync and close. */
void pk_spoolout_close(struct pk_spoolout *o);

#endif
