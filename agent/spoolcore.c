/*
 * spoolcore.c - the spool output's shared part (spoolcore.h).  No
 * sockets, no threads: the platform files call it and then tell their
 * shipper what changed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/spoolcore.h"
#include "common/json.h"
#include "common/log.h"
#include "common/pktime.h"

static uint64_t
now_mono(void)
{
	return pk_mono_us();
}

struct pk_spool *
pk_spoolcore_open(const struct pk_config *cfg, int *sync_batch)
{
	struct pk_spool_settings set;
	struct pk_spool_stats st;
	struct pk_spool *sp;

	pk_spool_settings_init(&set, cfg->spool.dir);
	set.max_bytes = cfg->spool.max_bytes;
	set.segment_bytes = cfg->spool.segment_bytes;
	set.sync = pk_config_spool_sync(cfg);
	set.sync_interval_ms = (uint32_t)cfg->spool.sync_interval;
	set.now_us = now_mono;
	if (sync_batch != NULL)
		*sync_batch = set.sync == PK_SPOOL_SYNC_BATCH;
	if ((sp = pk_spool_open(&set)) == NULL)
		return NULL;
	pk_spool_stats(sp, &st);
	log_info("spool %s: records %llu..%llu waiting, %llu acknowledged; "
	    "recovery dropped %llu corrupt records, %llu torn bytes",
	    cfg->spool.dir, (unsigned long long)st.oldest_seq,
	    (unsigned long long)(st.next_seq - 1),
	    (unsigned long long)st.acked_seq,
	    (unsigned long long)st.corrupt_records,
	    (unsigned long long)st.torn_bytes);
	return sp;
}

int
pk_spoolcore_append(struct pk_spool *sp, struct pk_engine *e, int *failing,
    uint64_t *failed_since, const char *line, size_t len, uint64_t *seq)
{
	int r, err;

	/* The engine's line ends with a newline; the record does not. */
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if ((r = pk_spool_append(sp, line, len, seq)) != 0) {
		err = errno;
		if (!*failing) {
			*failing = 1;
			*failed_since = 0;
			log_warnx("spool: cannot write (%s): indicators are "
			    "lost until this is fixed; detection goes on",
			    strerror(err));
		}
		(*failed_since)++;
	} else if (*failing) {
		*failing = 0;
		log_info("spool: writing again after losing %llu indicators",
		    (unsigned long long)*failed_since);
	}
	/* Keep picket.seq equal to the record's sequence number: a failed
	 * append still used up its number. */
	pk_engine_set_next_seq(e, pk_spool_next_seq(sp));
	return r != 0 ? -1 : 0;
}

uint64_t
pk_spoolcore_lost(const struct pk_spool_stats *st)
{
	return st->dropped_full_records + st->write_errors +
	    st->corrupt_records;
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

void
pk_spoolcore_report_loss(struct pk_engine *e, const struct pk_spool_stats *st,
    uint64_t lost, uint64_t *reported)
{
	struct pk_indicator ind;
	char msg[256];

	pk_indicator_health(&ind, "agent", "picket.health.spool",
	    "Spool health");
	ind.severity = PK_SEV_HIGH;
	snprintf(msg, sizeof(msg), "spool lost %llu indicators (%llu when "
	    "full, %llu write errors of which %llu disk full, %llu corrupt)",
	    (unsigned long long)(lost - *reported),
	    (unsigned long long)st->dropped_full_records,
	    (unsigned long long)st->write_errors,
	    (unsigned long long)st->enospc_errors,
	    (unsigned long long)st->corrupt_records);
	ind.message = msg;
	ind.first_seen_us = ind.last_seen_us = pk_now_us();
	ind.count = lost - *reported;
	pk_indicator_fingerprint(&ind, "spool", 5);
	ind.write_details = loss_details;
	ind.details_arg = st;
	*reported = lost;
	pk_engine_emit(e, &ind);
}

void
pk_spoolcore_report(struct pk_spool *sp,
    void (*fn)(void *arg, const char *name, uint64_t v), void *arg)
{
	struct pk_spool_stats st;

	pk_spool_stats(sp, &st);
	fn(arg, "records_appended", st.records_appended);
	fn(arg, "disk_bytes", st.disk_bytes);
	fn(arg, "segments", st.segments);
	fn(arg, "fsyncs", st.fsyncs);
	fn(arg, "next_seq", st.next_seq);
	fn(arg, "oldest_seq", st.oldest_seq);
	fn(arg, "durable_seq", st.durable_seq);
	fn(arg, "acked_seq", st.acked_seq);
	fn(arg, "dropped_full_records", st.dropped_full_records);
	fn(arg, "write_errors", st.write_errors);
	fn(arg, "enospc_errors", st.enospc_errors);
	fn(arg, "corrupt_records", st.corrupt_records);
}
