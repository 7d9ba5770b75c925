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
#include "agent/spoolout.h"
#include "common/json.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"

#define STATUS_EVERY_US		(200 * 1000ULL)	/* when something changed */
#define STATUS_IDLE_US		(5 * PK_USEC)	/* even when nothing did */
#define HEALTH_EVERY_US		(10 * PK_USEC)
#define CHECK_EVERY_US		(100 * 1000ULL)

static uint64_t
now_mono(void)
{
	return pk_mono_us();
}

uint64_t
pk_spoolout_lost(const struct pk_spool_stats *st)
{
	return st->dropped_full_records + st->write_errors +
	    st->corrupt_records;
}

int
pk_spoolout_open(struct pk_spoolout *o, const struct pk_config *cfg,
    struct pk_engine *e, int ipc_fd)
{
	struct pk_spool_settings set;
	struct pk_spool_stats st;

	memset(o, 0, sizeof(*o));
	o->e = e;
	o->ipc_fd = ipc_fd;
	pk_spool_settings_init(&set, cfg->spool.dir);
	set.max_bytes = cfg->spool.max_bytes;
	set.segment_bytes = cfg->spool.segment_bytes;
	set.sync = pk_config_spool_sync(cfg);
	set.sync_interval_ms = (uint32_t)cfg->spool.sync_interval;
	set.now_us = now_mono;
	o->sync_batch = set.sync == PK_SPOOL_SYNC_BATCH;
	if ((o->sp = pk_spool_open(&set)) == NULL)
		return -1;
	pk_spool_stats(o->sp, &st);
	log_info("spool %s: records %llu..%llu waiting, %llu acknowledged; "
	    "recovery dropped %llu corrupt records, %llu torn bytes",
	    cfg->spool.dir, (unsigned long long)st.oldest_seq,
	    (unsigned long long)(st.next_seq - 1),
	    (unsigned long long)st.acked_seq,
	    (unsigned long long)st.corrupt_records,
	    (unsigned long long)st.torn_bytes);
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
	/* The engine's line ends with a newline; the record does not. */
	if (len > 0 && line[len - 1] == '\n')
		len--;
	/* The tick has a status to send and maybe a sync to do. */
	o->touched = 1;
	if (pk_spool_append(o->sp, line, len, &seq) != 0) {
		if (!o->failing) {
			o->failing = 1;
			o->fail_errno = errno;
			o->failed_since = 0;
			log_warnx("spool: cannot write (%s): indicators are "
			    "lost until this is fixed; detection goes on",
			    strerror(o->fail_errno));
		}
		o->failed_since++;
	} else {
		if (o->sync_batch)
			o->unsynced = seq;
		if (o->failing) {
			o->failing = 0;
			log_info("spool: writing again after losing %llu "
			    "indicators", (unsigned long long)o->failed_since);
		}
	}
	/* Keep picket.seq equal to the record's sequence number: a failed
	 * append still used up its number. */
	pk_engine_set_next_seq(o->e, pk_spool_next_seq(o->sp));
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

/* A health indicator: how many indicators the spool lost, and why. */
static void
report_loss(struct pk_spoolout *o, const struct pk_spool_stats *st,
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
	lost = pk_spoolout_lost(&st);
	if (lost > o->reported_lost &&
	    mono_us - o->health_us >= HEALTH_EVERY_US) {
		o->health_us = mono_us;
		report_loss(o, &st, lost);
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

void
pk_spoolout_report(struct pk_spoolout *o, void (*line)(const char *))
{
	struct pk_spool_stats st;
	char buf[128];

	pk_spool_stats(o->sp, &st);
#define SL(name, v) do {						\
	snprintf(buf, sizeof(buf), "spool.%s %llu", name,		\
	    (unsigned long long)(v));					\
	line(buf);							\
} while (0)
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
	SL("ipc_bad", o->ipc_bad);
#undef SL
}

void
pk_spoolout_close(struct pk_spoolout *o)
{
	if (o->sp != NULL)
		pk_spool_close(o->sp);
	o->sp = NULL;
}
