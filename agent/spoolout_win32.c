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

#include "agent/spoolout_win32.h"
#include "common/json.h"
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

static uint64_t
now_mono(void)
{
	return pk_mono_us();
}

static uint64_t
lost_of(const struct pk_spool_stats *st)
{
	return st->dropped_full_records + st->write_errors +
	    st->corrupt_records;
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
		o->link->lost = lost_of(st);
	LeaveCriticalSection(&o->link->mu);
}

int
pk_wspool_open(struct pk_wspool *o, const struct pk_config *cfg,
    struct pk_engine *e, struct pk_wlink *link)
{
	struct pk_spool_settings set;
	struct pk_spool_stats st;

	memset(o, 0, sizeof(*o));
	o->e = e;
	o->link = link;
	pk_spool_settings_init(&set, cfg->spool.dir);
	set.max_bytes = cfg->spool.max_bytes;
	set.segment_bytes = cfg->spool.segment_bytes;
	set.sync = pk_config_spool_sync(cfg);
	set.sync_interval_ms = (uint32_t)cfg->spool.sync_interval;
	set.now_us = now_mono;
	if ((o->sp = pk_spool_open(&set)) == NULL) {
		log_warnx("spool %s: cannot open it: nothing is reported to "
		    "the hub", cfg->spool.dir);
		return -1;
	}
	pk_spool_stats(o->sp, &st);
	log_info("spool %s: records %llu..%llu waiting, %llu acknowledged; "
	    "recovery dropped %llu corrupt records, %llu torn bytes",
	    cfg->spool.dir, (unsigned long long)st.oldest_seq,
	    (unsigned long long)(st.next_seq - 1),
	    (unsigned long long)st.acked_seq,
	    (unsigned long long)st.corrupt_records,
	    (unsigned long long)st.torn_bytes);
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
	int err;

	(void)ind;
	if (o->sp == NULL)
		return;
	/* The engine's line ends with a newline; the record does not. */
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (pk_spool_append(o->sp, line, len, &seq) != 0) {
		err = errno;
		if (!o->failing) {
			o->failing = 1;
			o->failed_since = 0;
			log_warnx("spool: cannot write (%s): indicators are "
			    "lost until this is fixed; detection goes on",
			    strerror(err));
		}
		o->failed_since++;
	} else if (o->failing) {
		o->failing = 0;
		log_info("spool: writing again after losing %llu indicators",
		    (unsigned long long)o->failed_since);
	}
	/* A failed append still used up its number. */
	pk_engine_set_next_seq(o->e, pk_spool_next_seq(o->sp));
	publish(o, NULL);
}

static void
loss_details(struct json *j, const void *arg)
{
	const struct pk_spool_stats *st = arg;

	json_u64(j, "dropped_full", st->dropped_full_records);
	json_u64(j, "write_errors", st->write_errors);
	json_u64(j, "disk_full_errors", st->enospc_errors);
	json_u64(j, "corrupt", st->corrupt_records);
	json_u64(j, "disk_bytes", st->disk_bytes);
}

/* A health indicator: how many indicators the spool lost, and why (the
 * same indicator agent/spoolout.c makes, so the hub sees one kind). */
static void
report_loss(struct pk_wspool *o, const struct pk_spool_stats *st,
    uint64_t lost)
{
	struct pk_indicator ind;
	char msg[256];

	pk_indicator_health(&ind, "agent", "picket.health.spool",
	    "Spool health");
	ind.severity = PK_SEV_HIGH;
	snprintf(msg, sizeof(msg), "spool lost %llu indicators (%llu when "
	    "full, %llu write errors of which %llu disk full, %llu corrupt)",
	    (unsigned long long)(lost - o->reported_lost),
	    (unsigned long long)st->dropped_full_records,
	    (unsigned long long)st->write_errors,
	    (unsigned long long)st->enospc_errors,
	    (unsigned long long)st->corrupt_records);
	ind.message = msg;
	ind.first_seen_us = ind.last_seen_us = pk_now_us();
	ind.count = lost - o->reported_lost;
	pk_indicator_fingerprint(&ind, "spool", 5);
	ind.write_details = loss_details;
	ind.details_arg = st;
	o->reported_lost = lost;
	pk_engine_emit(o->e, &ind);
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
	lost = lost_of(&st);
	if (lost > o->reported_lost &&
	    mono_us - o->health_us >= HEALTH_EVERY_US) {
		o->health_us = mono_us;
		report_loss(o, &st, lost);
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

void
pk_wspool_report(struct pk_wspool *o, FILE *fp)
{
	struct pk_spool_stats st;

	if (o->sp == NULL)
		return;
	pk_spool_stats(o->sp, &st);
#define SL(name, v) fprintf(fp, "spool.%s %llu\n", name, \
	(unsigned long long)(v))
	SL("records_appended", st.records_appended);
	SL("disk_bytes", st.disk_bytes);
	SL("segments", st.segments);
	SL("fsyncs", st.fsyncs);
	SL("next_seq", st.next_seq);
	SL("oldest_seq", st.oldest_seq);
	SL("durable_seq", st.durable_seq);
	SL("acked_seq", st.acked_seq);
	SL("dropped_full_records", st.dropped_full_records);
	SL("write_errors", st.write_errors);
	SL("enospc_errors", st.enospc_errors);
	SL("corrupt_records", st.corrupt_records);
	SL("hub_raised", o->raised);
#undef SL
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
