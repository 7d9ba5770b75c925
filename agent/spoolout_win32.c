/*
 * spoolout_win32.c - the capture thread's side of reporting on Windows
 * (spoolout_win32.h): indicators into the spool, the spool's batch sync,
 * the hub's stored_seq applied, losses reported as a health indicator.
 * The same rules as agent/spoolout.c on Linux: the spool never blocks
 * detection (an append that fails loses that indicator, counts it, logs
 * once per episode, and the next append tries again), and picket.seq is
 * the record's sequence number.  Where Linux sends the shipper a status
 * message over a socketpair, this thread writes the same numbers into
 * the shared struct pk_wlink under its lock.
 */
#include <windows.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/spoolcore.h"
#include "agent/spoolout_win32.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"

#define HEALTH_EVERY_US		(10 * PK_USEC)
#define CHECK_EVERY_US		(100 * 1000ULL)

void
pk_wlink_init(struct pk_wlink *l)
{
	memset(l, 0, sizeof(*l));
	InitializeCriticalSection(&l->mu);
}

void
pk_wlink_free(struct pk_wlink *l)
{
	DeleteCriticalSection(&l->mu);
}

/*
 * The spool's numbers for the shipper (HELLO's next_seq and dropped).
 * Losses come from the statistics, which read the ack file: taken at
 * the tick's pace (st non-NULL), not at every append.
 */
static void
publish(struct pk_wspool *o, const struct pk_spool_stats *st)
{
	uint64_t next = pk_spool_next_seq(o->sp);

	EnterCriticalSection(&o->link->mu);
	o->link->next_seq = next;
	if (st != NULL)
		o->link->lost = pk_spoolcore_lost(st);
	LeaveCriticalSection(&o->link->mu);
}

int
pk_wspool_open(struct pk_wspool *o, const struct pk_config *cfg,
    struct pk_engine *e, struct pk_wlink *link)
{
	struct pk_spool_stats st;

	memset(o, 0, sizeof(*o));
	o->e = e;
	o->link = link;
	if ((o->sp = pk_spoolcore_open(cfg, NULL)) == NULL) {
		log_warnx("spool %s: cannot open it: nothing is reported to "
		    "the hub", cfg->spool.dir);
		return -1;
	}
	pk_spool_stats(o->sp, &st);
	pk_engine_set_next_seq(e, pk_spool_next_seq(o->sp));
	publish(o, &st);
	return 0;
}

void
pk_wspool_write(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind)
{
	struct pk_wspool *o = arg;
	uint64_t seq;

	(void)ind;
	if (o->sp == NULL)
		return;
	(void)pk_spoolcore_append(o->sp, o->e, &o->failing, &o->failed_since,
	    line, len, &seq);
	publish(o, NULL);
}

void
pk_wspool_tick(struct pk_wspool *o, uint64_t mono_us)
{
	struct pk_spool_stats st;
	uint64_t stored, lost;

	if (o->sp == NULL)
		return;
	(void)pk_spool_tick(o->sp, mono_us);
	if (mono_us - o->check_us < CHECK_EVERY_US)
		return;
	o->check_us = mono_us;
	EnterCriticalSection(&o->link->mu);
	stored = o->link->hub_stored;
	LeaveCriticalSection(&o->link->mu);
	if (stored > o->raised_to) {
		o->raised_to = stored;
		if (stored + 1 > pk_spool_next_seq(o->sp)) {
			/* The hub has numbers we were about to reuse (a
			 * power loss took unsynced records already sent). */
			log_warnx("spool: hub stores up to %llu, past our "
			    "next %llu: skipping ahead",
			    (unsigned long long)stored, (unsigned long long)
			    pk_spool_next_seq(o->sp));
			pk_spool_raise_seq(o->sp, stored + 1);
			pk_engine_set_next_seq(o->e, pk_spool_next_seq(o->sp));
			o->raised++;
		}
	}
	pk_spool_stats(o->sp, &st);
	publish(o, &st);
	lost = pk_spoolcore_lost(&st);
	if (lost > o->reported_lost &&
	    mono_us - o->health_us >= HEALTH_EVERY_US) {
		o->health_us = mono_us;
		pk_spoolcore_report_loss(o->e, &st, lost,
		    &o->reported_lost);
	}
}

void
pk_wspool_sync(struct pk_wspool *o)
{
	if (o->sp != NULL && pk_spool_sync(o->sp, NULL) != 0)
		log_warnx("spool: sync failed (%s)", strerror(errno));
}

uint64_t
pk_wspool_last_seq(const struct pk_wspool *o)
{
	return o->sp != NULL ? pk_spool_next_seq(o->sp) - 1 : 0;
}

static void
report_line(void *arg, const char *name, uint64_t v)
{
	fprintf(arg, "spool.%s %llu\n", name, (unsigned long long)v);
}

void
pk_wspool_report(struct pk_wspool *o, FILE *fp)
{
	if (o->sp == NULL)
		return;
	pk_spoolcore_report(o->sp, report_line, fp);
	report_line(fp, "hub_raised", o->raised);
}

void
pk_wspool_close(struct pk_wspool *o)
{
	if (o->sp != NULL) {
		publish(o, NULL);
		pk_spool_close(o->sp);
	}
	o->sp = NULL;
}
