/*
 * etw_win32.h - the Windows process collector's ETW real-time session
 * ("Picket-Agent"): Microsoft-Windows-Kernel-Process (process start and
 * stop) and Microsoft-Windows-Kernel-Network (TCP connect and accept,
 * IPv4 and IPv6), delivered by ProcessTrace on a thread of its own into a
 * bounded queue that the agent's main loop drains through the portable
 * decoder (etwdecode.h).  Called by agent/main_win32.c only.  Where ETW
 * cannot be used (not an administrator, wine's stubs) pk_etw_open() says
 * why and the agent runs on without process events.
 */
#ifndef PICKET_ETW_ETW_WIN32_H
#define PICKET_ETW_ETW_WIN32_H

#include <stddef.h>
#include <stdio.h>

#include "collectors/ebpf/evdecode.h"

#define PK_ETW_SESSION_NAME	"Picket-Agent"
#define PK_ETW_QUEUE_CAP	512	/* records between callback and loop */
#define PK_ETW_DATA_MAX		4096	/* user data bytes one record may hold */

struct pk_etw;

/*
 * Each decoded event, with its PK_ETW_F_* flags; the event's strings are
 * valid during the call only.
 */
typedef void (*pk_etw_sink)(void *arg, const struct pk_pev *ev,
    unsigned flags);

/* Start the session; NULL with the failing step and error in why. */
struct pk_etw *pk_etw_open(pk_etw_sink sink, void *arg, char *why,
    size_t whylen);
/* Decode up to budget queued records; returns how many it took. */
size_t pk_etw_poll(struct pk_etw *e, size_t budget);
/* The counters, as "process.etw.NAME VALUE" lines. */
void pk_etw_stats(struct pk_etw *e, FILE *fp);
/* Stop the session, join its thread, free everything. */
void pk_etw_close(struct pk_etw *e);

#endif
