/*
 * spoolout_win32.h - the Windows agent's side of reporting that runs on the
 * capture thread (docs/windows.md, "Reporting to the hub"): an engine
 * output that appends every indicator to the spool (transport/spool.c over
 * spool_win32.c, the record format and durability policy of Linux), the
 * spool's timer, and a health indicator when indicators could not be
 * spooled.  It is agent/spoolout.c's counterpart: on Linux the collector
 * and the shipper are processes that meet at the spool directory and a
 * socketpair; on Windows they are threads of one process, so the
 * socketpair's messages become a small locked structure, struct pk_wlink,
 * that both threads share (the spool's next sequence number and losses one
 * way, the hub's stored_seq and ACK the other, and the bundle messages
 * of agent/ipc.h both ways).  Nothing else is shared:
 * the shipper reads the spool files with its own reader.  Called by
 * agent/main_win32.c; the link is also read by agent/shipper_win32.c.
 */
#ifndef PICKET_SPOOLOUT_WIN32_H
#define PICKET_SPOOLOUT_WIN32_H

#include <windows.h>

#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/indicator.h"
#include "agent/ipc.h"
#include "transport/spool.h"

/* What the two threads tell each other; every field under mu. */
struct pk_wlink {
	CRITICAL_SECTION	 mu;
	/* capture thread -> shipper */
	uint64_t		 next_seq;	/* the spool's next seq */
	uint64_t		 lost;		/* records the spool lost */
	/* shipper -> capture thread */
	uint64_t		 hub_stored;	/* last WELCOME's stored_seq */
	uint64_t		 acked;		/* highest ACK (0: none) */
	int			 connected;	/* past WELCOME now */
	/*
	 * Shared-indicator bundles (agent/bundle_agent.h): the messages
	 * Linux's collector and shipper exchange over their socketpair,
	 * one slot each way (type 0: empty).  The shipper files the bundle
	 * and puts BUNDLE_NEW or BUNDLE_ROLLBACK in bundle_req; the capture
	 * thread takes it between packets, applies it and puts its
	 * BUNDLE_STATE in bundle_ans.  One request at a time (the shipper
	 * waits for the answer), so one slot is enough; bundles is set
	 * while the capture thread takes requests.
	 */
	struct pk_ipc_msg	 bundle_req;
	struct pk_ipc_msg	 bundle_ans;
	int			 bundles;
};

void pk_wlink_init(struct pk_wlink *l);
void pk_wlink_free(struct pk_wlink *l);

struct pk_wspool {
	struct pk_spool		*sp;
	struct pk_engine	*e;
	struct pk_wlink		*link;
	uint64_t		 raised_to;	/* hub_stored already applied */
	uint64_t		 check_us;	/* last look at the stats */
	uint64_t		 health_us;	/* last loss report */
	uint64_t		 reported_lost;
	int			 failing;	/* appends failing now */
	uint64_t		 failed_since;	/* appends lost this episode */
	uint64_t		 raised;	/* times the hub moved us on */
};

/*
 * Open the spool ([spool] settings; recovery is logged), make the
 * engine's next sequence number the spool's and publish it on link.
 * 0 or -1 (logged).
 */
int pk_wspool_open(struct pk_wspool *o, const struct pk_config *cfg,
    struct pk_engine *e, struct pk_wlink *link);
/* pk_output_fn for pk_engine_add_output(). */
void pk_wspool_write(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind);
/* Every loop turn: batch sync per policy, the hub's stored_seq, a health
 * indicator after losses (at most every 10 s). */
void pk_wspool_tick(struct pk_wspool *o, uint64_t mono_us);
/* Make everything appended durable now (policy never: nothing). */
void pk_wspool_sync(struct pk_wspool *o);
/* The last sequence number appended (0: none). */
uint64_t pk_wspool_last_seq(const struct pk_wspool *o);
/* "spool.* N" statistics lines, as agent/spoolout.c writes them. */
void pk_wspool_report(struct pk_wspool *o, FILE *fp);
/* Sync and close; the link stays. */
void pk_wspool_close(struct pk_wspool *o);

#endif
