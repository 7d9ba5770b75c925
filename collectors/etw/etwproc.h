/*
 * etwproc.h - the Windows agent's process events into the detections:
 * the ETW session's decoded events (etw_win32.c, etwdecode.c) go through
 * here to the same process table and detections the eBPF collector feeds
 * on Linux (collectors/ebpf/procdet.c).  On the way an image's NT device
 * path becomes a drive-letter path (ntpath.h), the image file's identity
 * is read so that the hasher (hash.h, hash_win32.c) can hash it and the
 * IOC lists see its SHA-256, and accepted connections are kept apart from
 * the process's own connection attempts.  Portable C over those
 * interfaces, so the unit test drives it with recorded records natively
 * and under wine.  Called by agent/main_win32.c on its one loop thread.
 */
#ifndef PICKET_ETW_ETWPROC_H
#define PICKET_ETW_ETWPROC_H

#include <stdint.h>
#include <stdio.h>

#include "collectors/ebpf/evdecode.h"
#include "collectors/etw/ntpath.h"

struct pk_procdet;
struct pk_hasher;
struct pk_etwproc;

/*
 * [process] exec_paths on Windows, where the configuration leaves the
 * (Linux) default: places any user can write and from which programs
 * are not normally installed.  "*" is one path component, so the first
 * one matches any drive.  C:\ProgramData is left out on purpose: it is
 * writable by users, but installed software (Defender's own engine
 * among it) runs from there every day.
 */
#define PK_WIN_EXEC_PATHS \
	"*\\Users\\*\\AppData\\Local\\Temp\\," \
	"*\\Users\\*\\Downloads\\," \
	"*\\Users\\Public\\," \
	"*\\Windows\\Temp\\"

#define PK_ETWPROC_RELOAD_US	(30ULL * 1000000ULL)	/* map reload */

/*
 * d gets Windows path rules and, when h is not NULL, h as its hasher.
 * load (may be NULL: the map stays as the caller fills it) fills the
 * device map now and again when a lookup misses, at most every
 * PK_ETWPROC_RELOAD_US.
 */
struct pk_etwproc *pk_etwproc_new(struct pk_procdet *d, struct pk_hasher *h,
    int (*load)(struct pk_ntmap *m));
void pk_etwproc_free(struct pk_etwproc *x);
struct pk_ntmap *pk_etwproc_ntmap(struct pk_etwproc *x);

/* One decoded event with its PK_ETW_F_* flags; ts_us is wall-clock. */
void pk_etwproc_event(struct pk_etwproc *x, const struct pk_pev *ev,
    unsigned flags, uint64_t ts_us);
/* The same as a pk_etw_sink: the time from ev->ts_ns (monotonic). */
void pk_etwproc_sink(void *arg, const struct pk_pev *ev, unsigned flags);
/* Hash results that waited for the hasher's budget, into the detections. */
void pk_etwproc_drain(struct pk_etwproc *x, uint64_t now_us);
void pk_etwproc_stats(struct pk_etwproc *x, FILE *fp);

#endif
