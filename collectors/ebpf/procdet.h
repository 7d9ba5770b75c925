/*
 * procdet.h - the process collector's detections.  It keeps the process
 * table (proctable.h) up to date from decoded events (evdecode.h) and
 * turns what matters into indicators through the engine:
 *
 *   picket.process.exec_writable  run from an [process] exec_paths prefix
 *   picket.process.exec_memfd     run from a memfd_create() file
 *   picket.process.exec_deleted   run from a file with no links left
 *   picket.process.exec_recent    run within recent_write of its file's
 *                                 last write (mtime or ctime)
 *   picket.process.persistence    open for write / create under a
 *                                 persistence_paths pattern
 *   picket.process.listener       listening on a port not in listen_allow
 *   picket.process.module         kernel module loaded
 *   picket.process.ptrace         PTRACE_ATTACH/SEIZE of another process
 *   picket.process.scan           first contact with address_scan_hosts
 *                                 distinct addresses on one port within
 *                                 address_scan_window
 *   picket.process.ioc_hash       executable SHA-256 on an IOC list
 *
 * Each is one indicator per (kind, executable or path) that updates
 * (START, CHANGE every [output] update_interval, END after [scan]
 * idle_timeout or at shutdown); the fingerprint never includes a pid.
 * Process data goes in picket.details.process for now.  Portable C; fed
 * by ebpf.c on Linux and by the Windows agent's ETW feed
 * (collectors/etw/etwproc.c), each on one thread, and by the unit tests
 * with recorded events.
 */
#ifndef PICKET_EBPF_PROCDET_H
#define PICKET_EBPF_PROCDET_H

#include <stdint.h>
#include <stdio.h>

#include "collectors/ebpf/evdecode.h"
#include "collectors/ebpf/proctable.h"

struct pk_engine;
struct pk_config;
struct pk_iocset;
struct pk_procdet;

#define PK_PROCDET_MAX_IND	1024	/* open indicators */

/*
 * Asked for every exec (and seeded process): returns an enum
 * pk_hash_state and fills out when the hash is known now.
 */
typedef int (*pk_hash_request_fn)(void *arg, const struct pk_proc *p,
    uint8_t out[32]);

struct pk_procdet *pk_procdet_new(struct pk_engine *e,
    const struct pk_config *cfg, const struct pk_iocset *ioc);
void pk_procdet_free(struct pk_procdet *d);
void pk_procdet_set_hasher(struct pk_procdet *d, pk_hash_request_fn fn,
    void *arg);
struct pk_proctable *pk_procdet_table(struct pk_procdet *d);
/*
 * Windows path rules for exec_paths and persistence_paths: "\\" is a
 * separator too and ASCII letters match either case; a process's name is
 * the image's last component after either slash.  Off (Linux) by default.
 */
void pk_procdet_set_winpaths(struct pk_procdet *d, int on);

/* One decoded event; ts_us is its wall-clock time. */
void pk_procdet_event(struct pk_procdet *d, const struct pk_pev *ev,
    uint64_t ts_us);
/* A hash finished (state: enum pk_hash_state). */
void pk_procdet_hash(struct pk_procdet *d, const struct pk_filekey *key,
    int state, const uint8_t sha256[32], uint64_t now_us);
/* Ask hashes for every known process (after seeding). */
void pk_procdet_hash_all(struct pk_procdet *d);
/*
 * Check hashes against new IOC lists (a reload; NULL: none): running
 * processes whose hash the new lists name and the old did not are
 * reported now, not at their next exec.  The old set is the caller's
 * to free, after this returns.
 */
void pk_procdet_set_ioc(struct pk_procdet *d, const struct pk_iocset *ioc);
void pk_procdet_tick(struct pk_procdet *d, uint64_t now_us);
void pk_procdet_flush(struct pk_procdet *d, uint64_t now_us);
void pk_procdet_stats(struct pk_procdet *d, FILE *fp);

/*
 * Does path match one of the comma-separated patterns?  A pattern is a
 * prefix in which "*" stands for exactly one path component.
 */
int pk_procdet_path_match(const char *patterns, const char *path);
/* The same under the Windows path rules (pk_procdet_set_winpaths). */
int pk_procdet_path_match_win(const char *patterns, const char *path);

#endif
