/*
 * etwproc.c - ETW process events into the detections (see etwproc.h).
 * Exec: the image path mapped to its drive letter (a miss reloads the
 * map, bounded in time; still unmapped, the device path is kept and
 * counted), the file's identity read for the hash cache (no identity,
 * no hash: counted), then procdet as on Linux.  Accepts arrive with
 * their own phase (PK_CONN_ACCEPTED) and procdet keeps them out of the
 * fan-out; the INBOUND flag is checked here too, so a decoder that gave
 * an accept another phase could not turn it into an outbound attempt.
 */
#include <stdlib.h>
#include <string.h>

#include "collectors/ebpf/hash.h"
#include "collectors/ebpf/proc.h"
#include "collectors/ebpf/procdet.h"
#include "collectors/etw/etwdecode.h"
#include "collectors/etw/etwproc.h"
#include "common/pktime.h"
#include "common/util.h"

struct pk_etwproc {
	struct pk_procdet	*d;
	struct pk_hasher	*h;
	int			(*load)(struct pk_ntmap *m);
	struct pk_ntmap		 map;
	uint64_t		 loaded_us;	/* monotonic */
	char			 path[PK_PROC_EXE_MAX + 1];
	/* counters */
	uint64_t		 mapped, unmapped, too_long, reloads;
	uint64_t		 no_identity;
};

static int
hash_request(void *arg, const struct pk_proc *p, uint8_t out[32])
{
	struct pk_etwproc *x = arg;

	return pk_hasher_request(x->h, &p->key, p->pid, p->exe, out);
}

struct pk_etwproc *
pk_etwproc_new(struct pk_procdet *d, struct pk_hasher *h,
    int (*load)(struct pk_ntmap *m))
{
	struct pk_etwproc *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->d = d;
	x->h = h;
	x->load = load;
	pk_ntmap_clear(&x->map);
	pk_procdet_set_winpaths(d, 1);
	if (h != NULL)
		pk_procdet_set_hasher(d, hash_request, x);
	if (load != NULL) {
		(void)load(&x->map);
		x->loaded_us = pk_mono_us();
	}
	return x;
}

void
pk_etwproc_free(struct pk_etwproc *x)
{
	free(x);
}

struct pk_ntmap *
pk_etwproc_ntmap(struct pk_etwproc *x)
{
	return &x->map;
}

/* The image's drive-letter path into x->path; 1 mapped, else 0. */
static int
map_path(struct pk_etwproc *x, const char *path, size_t len)
{
	int r = pk_ntmap_map(&x->map, path, len, x->path, sizeof(x->path));

	if (r == 0 && x->load != NULL &&
	    pk_mono_us() - x->loaded_us >= PK_ETWPROC_RELOAD_US) {
		/* a drive mounted since the last load */
		(void)x->load(&x->map);
		x->loaded_us = pk_mono_us();
		x->reloads++;
		r = pk_ntmap_map(&x->map, path, len, x->path,
		    sizeof(x->path));
	}
	if (r == 1)
		x->mapped++;
	else if (r == 0)
		x->unmapped++;
	else
		x->too_long++;
	return r == 1;
}

static void
on_exec(struct pk_etwproc *x, struct pk_pev *ev, unsigned flags)
{
	struct pk_filekey key;
	uint64_t ctime_ns = 0;

	if ((flags & PK_ETW_F_NTDEVICE) &&
	    map_path(x, ev->u.exec.path, ev->u.exec.path_len)) {
		ev->u.exec.path = x->path;
		ev->u.exec.path_len = strlen(x->path);
		ev->u.exec.fname = x->path;
		ev->u.exec.fname_len = ev->u.exec.path_len;
	}
	/* a cut path names another file, a device path none CreateFile
	 * opens as it stands: no identity, so no hash */
	if ((ev->u.exec.flags & PK_EXEC_PATH_TRUNC) ||
	    ev->u.exec.path[0] == '\\' ||
	    pk_hash_file_key(ev->u.exec.path, &key, &ctime_ns) != 0) {
		x->no_identity++;
		return;
	}
	ev->u.exec.flags |= PK_EXEC_UDEV;
	ev->u.exec.dev = key.dev;
	ev->u.exec.ino = key.ino;
	ev->u.exec.size = key.size;
	ev->u.exec.mtime_ns = key.mtime_ns;
	ev->u.exec.ctime_ns = ctime_ns;
}

void
pk_etwproc_event(struct pk_etwproc *x, const struct pk_pev *ev,
    unsigned flags, uint64_t ts_us)
{
	struct pk_pev e = *ev;

	if (e.type == PK_EV_EXEC)
		on_exec(x, &e, flags);
	else if (e.type == PK_EV_CONNECT && (flags & PK_ETW_F_INBOUND))
		e.u.conn.phase = PK_CONN_ACCEPTED;
	pk_procdet_event(x->d, &e, ts_us);
}

void
pk_etwproc_sink(void *arg, const struct pk_pev *ev, unsigned flags)
{
	uint64_t now = pk_now_us(), mono = pk_mono_us(), ts = now;
	uint64_t ev_us = ev->ts_ns / 1000;

	/* the record's monotonic copy time, moved onto the wall clock */
	if (ev_us > 0 && ev_us <= mono && mono - ev_us < now)
		ts = now - (mono - ev_us);
	pk_etwproc_event(arg, ev, flags, ts);
}

void
pk_etwproc_drain(struct pk_etwproc *x, uint64_t now_us)
{
	struct pk_hres r;
	int n = 0;

	if (x->h == NULL)
		return;
	while (n++ < PK_HASH_QUEUE && pk_hasher_result(x->h, &r) == 1)
		pk_procdet_hash(x->d, &r.key, r.state, r.sha256, now_us);
}

void
pk_etwproc_stats(struct pk_etwproc *x, FILE *fp)
{
	fprintf(fp, "process.etw.paths_mapped %llu\n",
	    (unsigned long long)x->mapped);
	fprintf(fp, "process.etw.paths_unmapped %llu\n",
	    (unsigned long long)x->unmapped);
	fprintf(fp, "process.etw.paths_mapped_too_long %llu\n",
	    (unsigned long long)x->too_long);
	fprintf(fp, "process.etw.device_map_reloads %llu\n",
	    (unsigned long long)x->reloads);
	fprintf(fp, "process.etw.device_map_refused %llu\n",
	    (unsigned long long)x->map.refused);
	fprintf(fp, "process.etw.no_file_identity %llu\n",
	    (unsigned long long)x->no_identity);
}
