/*
 * spoolout.c - the collector's side of reporting (spoolout.h).  The spool
 * never blocks detection: an append that fails (full disk) loses that
 * indicator, counts it, logs once per episode, and the next append tries
 * again; once appends succeed again a health indicator says how many were
 * lost, so the loss reaches the hub and not only the local log.
 *
 * Idle, the tick has nothing to do but the shipper's periodic status:
 * after every look it works out when the next one is needed (records
 * waiting for a batch sync, a status to send, a loss to report) and
 * pk_spoolout_timeout() gives the main loop that deadline instead of a
 * fixed 100 ms poll.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/ipc.h"
#include "agent/spoolcore.h"
#include "agent/spoolout.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"

#define STATUS_EVERY_US		(200 * 1000ULL)	/* when something changed */
#define STATUS_IDLE_US		(5 * PK_USEC)	/* even when nothing did */
#define HEALTH_EVERY_US		(10 * PK_USEC)
#define CHECK_EVERY_US		(100 * 1000ULL)

int
pk_spoolout_open(struct pk_spoolout *o, const struct pk_config *cfg,
    struct pk_engine *e, int ipc_fd)
{
	memset(o, 0, sizeof(*o));
	o->e = e;
	o->ipc_fd = ipc_fd;
	if ((o->sp = pk_spoolcore_open(cfg, &o->sync_batch)) == NULL)
		return -1;
	/* Recovery losses are reported like any other. */
	o->reported_lost = 0;
	pk_engine_set_next_seq(e, pk_spool_next_seq(o->sp));
	return 0;
}

void
pk_spoolout_write(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind)
{
	struct pk_spoolout *o = arg;
	uint64_t seq;

	(void)ind;
	if (o->sp == NULL)	/* closed: nothing may be written any more */
		return;
	/* The tick has a status to send and maybe a sync to do. */
	o->touched = 1;
	if (pk_spoolcore_append(o->sp, o->e, &o->failing, &o->failed_since,
	    line, len, &seq) == 0 && o->sync_batch)
		o->unsynced = seq;
}

static void
ipc_read(struct pk_spoolout *o)
{
	uint8_t buf[PK_IPC_MSG_SIZE + 1];
	struct pk_ipc_msg m;
	ssize_t n;

	while ((n = recv(o->ipc_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (pk_ipc_decode(buf, (size_t)n, &m) == 0 &&
		    (m.type == PK_IPC_TASK_NEW ||
		    m.type == PK_IPC_TASK_CANCEL ||
		    m.type == PK_IPC_BUNDLE_NEW ||
		    m.type == PK_IPC_BUNDLE_ROLLBACK) && o->task_fn != NULL) {
			o->task_fn(o->task_arg, &m);
			continue;
		}
		if (pk_ipc_decode(buf, (size_t)n, &m) != 0 ||
		    m.type != PK_IPC_HUB_STORED) {
			o->ipc_bad++;
			continue;
		}
		if (m.a + 1 > pk_spool_next_seq(o->sp)) {
			/* The hub has numbers we were about to reuse (a
			 * power loss took unsynced records already sent). */
			log_warnx("spool: hub stores up to %llu, past our "
			    "next %llu: skipping ahead",
			    (unsigned long long)m.a, (unsigned long long)
			    pk_spool_next_seq(o->sp));
			pk_spool_raise_seq(o->sp, m.a + 1);
			pk_engine_set_next_seq(o->e, pk_spool_next_seq(o->sp));
			o->raised++;
			o->touched = 1;	/* the shipper's status changed */
		}
	}
}

static uint64_t
at_least(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * After a look at the stats: when is the next one needed?  Records
 * waiting for a batch sync (the spool syncs them sync_interval after the
 * first, and a look is what gives it the turn), a changed status the
 * 200 ms limit held back (or a send that failed), a loss to report once
 * HEALTH_EVERY_US allows, and the shipper's idle status.  Nothing else
 * changes without an append, which sets touched.
 */
static void
next_look(struct pk_spoolout *o, int changed, uint64_t lost)
{
	uint64_t soon = o->check_us + CHECK_EVERY_US, at = UINT64_MAX;

	if (o->unsynced != 0 || o->touched)
		at = soon;
	if (lost > o->reported_lost)
		at = PK_MIN(at, at_least(o->health_us + HEALTH_EVERY_US, soon));
	if (o->ipc_fd >= 0)
		at = PK_MIN(at, changed ? at_least(o->status_us +
		    STATUS_EVERY_US, soon) : o->status_us + STATUS_IDLE_US);
	o->next_us = at;
}

void
pk_spoolout_tick(struct pk_spoolout *o, uint64_t mono_us)
{
	struct pk_spool_stats st;
	struct pk_ipc_msg m;
	uint8_t buf[PK_IPC_MSG_SIZE];
	uint64_t lost;
	int changed;

	(void)pk_spool_tick(o->sp, mono_us);
	/* Always: the main loop polls this socket, so a message left in it
	 * would wake the loop again at once. */
	if (o->ipc_fd >= 0)
		ipc_read(o);
	/* The rest reads the ack file: ten times a second is plenty, and
	 * the loop may turn thousands of times a second under load. */
	if (mono_us - o->check_us < CHECK_EVERY_US)
		return;
	o->check_us = mono_us;
	o->touched = 0;
	pk_spool_stats(o->sp, &st);
	/* A failed fsync leaves durable_seq behind: then we keep looking,
	 * as the spool keeps trying. */
	if (o->unsynced != 0 && st.durable_seq >= o->unsynced)
		o->unsynced = 0;
	lost = pk_spoolcore_lost(&st);
	if (lost > o->reported_lost &&
	    mono_us - o->health_us >= HEALTH_EVERY_US) {
		o->health_us = mono_us;
		pk_spoolcore_report_loss(o->e, &st, lost,
		    &o->reported_lost);
		pk_spool_stats(o->sp, &st);
	}
	if (o->ipc_fd < 0) {
		next_look(o, 0, lost);
		return;
	}
	changed = st.next_seq != o->sent_next ||
	    st.durable_seq != o->sent_durable || lost != o->sent_lost;
	if (changed ? mono_us - o->status_us < STATUS_EVERY_US :
	    mono_us - o->status_us < STATUS_IDLE_US) {
		next_look(o, changed, lost);
		return;
	}
	m.type = PK_IPC_SPOOL_STATUS;
	m.a = st.next_seq;
	m.b = st.durable_seq < st.next_seq ? st.durable_seq : st.next_seq - 1;
	m.c = lost;
	pk_ipc_encode(&m, buf);
	/* Non-blocking: a shipper that is down or slow never stalls us. */
	if (send(o->ipc_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    (ssize_t)sizeof(buf)) {
		o->sent_next = st.next_seq;
		o->sent_durable = st.durable_seq;
		o->sent_lost = lost;
	}
	o->status_us = mono_us;
	changed = st.next_seq != o->sent_next ||
	    st.durable_seq != o->sent_durable || lost != o->sent_lost;
	next_look(o, changed, lost);
}

int
pk_spoolout_timeout(const struct pk_spoolout *o, uint64_t mono_us)
{
	uint64_t at = o->next_us;

	/* An append since the last look: at the next look's earliest. */
	if (o->touched && o->check_us + CHECK_EVERY_US < at)
		at = o->check_us + CHECK_EVERY_US;
	if (at == UINT64_MAX)
		return -1;
	if (at <= mono_us)
		return 0;
	if ((at - mono_us) / 1000 >= INT_MAX)
		return INT_MAX;
	return (int)((at - mono_us + 999) / 1000);
}

static void
report_line(void *arg, const char *name, uint64_t v)
{
	void (*line)(const char *) = *(void (**)(const char *))arg;
	char buf[128];

	snprintf(buf, sizeof(buf), "spool.%s %llu", name,
	    (unsigned long long)v);
	line(buf);
}

void
pk_spoolout_report(struct pk_spoolout *o, void (*line)(const char *))
{
	pk_spoolcore_report(o->sp, report_line, &line);
	report_line(&line, "ipc_bad", o->ipc_bad);
	report_line(&line, "hub_raised", o->raised);
}

void
pk_spoolout_close(struct pk_spoolout *o)
{
	if (o->sp != NULL)
		pk_spool_close(o->sp);
	o->sp = NULL;
}
