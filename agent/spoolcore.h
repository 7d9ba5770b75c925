/*
 * spoolcore.h - what the collector's spool output does the same way on
 * every platform (docs/spool.md): the spool opened from [spool] with its
 * recovery logged, an indicator appended as one record (never blocking
 * detection: a failed append loses that indicator, counts it, logs once
 * per episode), the health indicator that reports losses to the hub, and
 * the spool.* statistics.  Portable (CORE_SRCS); called by
 * agent/spoolout.c (Linux: status to the shipper over a socketpair) and
 * agent/spoolout_win32.c (Windows: a struct shared with the shipper
 * thread), which do only the telling.
 */
#ifndef PICKET_SPOOLCORE_H
#define PICKET_SPOOLCORE_H

#include <stddef.h>
#include <stdint.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "transport/spool.h"

/* Open the spool of cfg ([spool] settings) and log what recovery found.
 * *sync_batch (may be NULL): [spool] sync = batch.  NULL on failure. */
struct pk_spool *pk_spoolcore_open(const struct pk_config *cfg,
    int *sync_batch);
/*
 * One engine line (its newline dropped) as a record; the engine's next
 * sequence number follows the spool's, as a failed append still used up
 * its number.  *failing and *failed_since track an episode of failures.
 * 0 appended (*seq), -1 lost.
 */
int pk_spoolcore_append(struct pk_spool *sp, struct pk_engine *e,
    int *failing, uint64_t *failed_since, const char *line, size_t len,
    uint64_t *seq);
/* Records the spool has lost since it was created. */
uint64_t pk_spoolcore_lost(const struct pk_spool_stats *st);
/* A health indicator for the losses past *reported (which becomes lost),
 * emitted through the engine like any other. */
void pk_spoolcore_report_loss(struct pk_engine *e,
    const struct pk_spool_stats *st, uint64_t lost, uint64_t *reported);
/* Each spool.* statistic, in the order `picketd` prints them. */
void pk_spoolcore_report(struct pk_spool *sp,
    void (*fn)(void *arg, const char *name, uint64_t v), void *arg);

#endif
