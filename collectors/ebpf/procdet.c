/*
 * procdet.c - the process detections (see procdet.h).
 *
 * Events first update the process table, then each detection looks at the
 * updated process.  An indicator holds a copy of what it reports (the
 * process as last seen, the path, port or module), so it can still be
 * reported after the process and its table entry are gone.  Indicators live
 * in a bounded table (PK_PROCDET_MAX_IND): when it is full the least
 * recently grown one is closed (END) and counted.  The per-process scan
 * state (distinct addresses per port) hangs off the process entry, is
 * created only for processes that connect, and is bounded too.  TCP
 * attempts also feed the engine's attribution service (engine.h), and the
 * process-level scan claims its (pid, port) there so that a scan the
 * packet detector already reported is not reported twice (docs/process.md).
 */
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/indicator.h"
#include "agent/ioc.h"
#include "collectors/ebpf/procdet.h"
#include "collectors/ebpf/proc.h"
#include "common/dlist.h"
#include "common/json.h"
#include "common/util.h"

#define USEC		1000000ULL
#define ANCESTRY	8
#define TARGETS		8
#define SCAN_PORTS	4	/* ports followed per process */
#define SCAN_SLOTS	128	/* exact distinct hosts per port ... */
#define SCAN_FILL	96	/* ... filled up to this, then counted */
#define SCAN_TRACKERS	4096	/* processes followed for scans */
#define KEY_MAX		(PK_PROC_EXE_MAX + 128)

enum kind {
	K_EXEC_WRITABLE = 0, K_EXEC_MEMFD, K_EXEC_DELETED, K_EXEC_RECENT,
	K_PERSIST, K_LISTEN, K_MODULE, K_PTRACE, K_SCAN, K_IOC, K__N
};

static const struct {
	const char	*id, *name, *category;
	uint8_t		 severity;
} kinds[K__N] = {
	[K_EXEC_WRITABLE] = { "picket.process.exec_writable",
	    "Program run from a world-writable or memory-backed path",
	    "process", PK_SEV_MEDIUM },
	[K_EXEC_MEMFD] = { "picket.process.exec_memfd",
	    "Program run from a memfd (fileless)", "process", PK_SEV_HIGH },
	[K_EXEC_DELETED] = { "picket.process.exec_deleted",
	    "Program run from a deleted file", "process", PK_SEV_HIGH },
	[K_EXEC_RECENT] = { "picket.process.exec_recent",
	    "Program run soon after its file was written", "process",
	    PK_SEV_LOW },
	[K_PERSIST] = { "picket.process.persistence",
	    "Write to a persistence location", "file", PK_SEV_HIGH },
	[K_LISTEN] = { "picket.process.listener",
	    "New listener on a port outside the allow-list", "process",
	    PK_SEV_MEDIUM },
	[K_MODULE] = { "picket.process.module", "Kernel module loaded",
	    "host", PK_SEV_MEDIUM },
	[K_PTRACE] = { "picket.process.ptrace",
	    "Process attached to another with ptrace", "process",
	    PK_SEV_HIGH },
	[K_SCAN] = { "picket.process.scan",
	    "Process contacting many addresses on one port", "network",
	    PK_SEV_HIGH },
	[K_IOC] = { "picket.process.ioc_hash",
	    "Executable hash on an IOC list", "malware", PK_SEV_CRITICAL },
};

/* What an indicator says about its process: a copy. */
struct psnap {
	uint32_t	 pid, ppid, uid;
	char		 exe[PK_PROC_EXE_MAX + 1];
	char		 parent_exe[PK_PROC_EXE_MAX + 1];
	char		 comm[17];
	char		*args;
	size_t		 args_len;
	int		 has_hash;
	uint8_t		 sha256[32];
	uint32_t	 ancestry[ANCESTRY];
	uint8_t		 nancestry;
};

struct pind {
	struct pk_dlink	 lru;		/* head = least recently grown */
	uint8_t		 kind;
	uint8_t		 started;
	uint8_t		 reported_hash;
	char		 key[KEY_MAX];	/* fingerprint input */
	size_t		 keylen;
	uint64_t	 first_us, last_us, touch_us;
	uint64_t	 count, reported_count, reported_us;
	struct psnap	 ps;
	/* kind-specific */
	char		 path[PK_PROC_EXE_MAX + 1];	/* persistence */
	uint32_t	 open_flags;
	uint16_t	 port;				/* listener, scan */
	uint8_t		 proto;
	char		 name[PK_PEV_NAME_MAX + 1];	/* module */
	uint32_t	 target_pid;			/* ptrace */
	char		 target_exe[PK_PROC_EXE_MAX + 1];
	uint64_t	 hosts, ok, failed;		/* scan */
	uint32_t	 claim_pid;
	struct pk_addr	 src;
	struct pk_addr	 targets[TARGETS];
	uint8_t		 ntargets;
	char		 ioc_list[PK_IOC_LIST_MAX];	/* ioc */
	char		 ioc_value[65];
	struct pk_ind_shared *shared;	/* ioc from a bundle: the entry */
};

struct scanport {
	uint16_t	 port;
	uint8_t		 proto;
	uint8_t		 used;
	uint64_t	 win_start;
	uint32_t	 n, filled;
	uint32_t	 h[SCAN_SLOTS];
	uint64_t	 ok, failed;
	struct pk_addr	 targets[TARGETS];
	uint8_t		 ntargets;
	uint8_t		 deferred;	/* the packet side reports it */
	struct pind	*ind;
};

struct pscan {
	struct pk_procdet *d;
	struct pk_addr	 src;
	struct scanport	 p[SCAN_PORTS];
	/* this image's reference is in the engine's attribution service
	 * (with its hash once hash_pub) */
	uint8_t		 ref_pub, hash_pub;
};

struct pk_procdet {
	struct pk_engine	*e;
	const struct pk_config	*cfg;
	const struct pk_iocset	*ioc;
	struct pk_proctable	*pt;
	pk_hash_request_fn	 hreq;
	void			*hreq_arg;
	struct pk_dlist		 inds;
	size_t			 nind;
	uint64_t		 idle_us, update_us, recent_ns;
	uint64_t		 scan_win_us, scan_hosts;
	uint64_t		 ntrackers;
	uint64_t		 now;
	int			 winpaths;	/* Windows path rules */
	/* counters */
	uint64_t		 events[PK_EV__MAX];
	uint64_t		 unknown_pid, ind_evicted, trackers_denied;
	uint64_t		 attr_records, scan_deferred, accepted;
	uint64_t		 detections[K__N], reports;
};

static void det_release(void *det, void *arg);

/* ---- path patterns -------------------------------------------------- */

static int
is_sep(char c, int win)
{
	return c == '/' || (win && c == '\\');
}

static int
same_char(char a, char b, int win)
{
	if (win) {
		/* Windows paths: either slash, ASCII case folded (NTFS
		 * compares names case-insensitively) */
		if (is_sep(a, 1) && is_sep(b, 1))
			return 1;
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
	}
	return a == b;
}

/* Does path start with the pattern p[0..plen)? */
static int
pattern_match(const char *p, size_t plen, const char *path, int win)
{
	size_t i = 0;

	while (i < plen) {
		if (p[i] == '*') {
			if (*path == '\0' || is_sep(*path, win))
				return 0;
			while (*path != '\0' && !is_sep(*path, win))
				path++;
			i++;
			continue;
		}
		if (*path == '\0' || !same_char(*path, p[i], win))
			return 0;
		path++;
		i++;
	}
	return 1;
}

static int
match_list(const char *patterns, const char *path, int win)
{
	const char *s = patterns, *e;
	size_t n;

	while (s != NULL && *s != '\0') {
		e = strchr(s, ',');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		while (n > 0 && *s == ' ') {
			s++;
			n--;
		}
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if (n > 0 && pattern_match(s, n, path, win))
			return 1;
		s = e != NULL ? e + 1 : NULL;
	}
	return 0;
}

int
pk_procdet_path_match(const char *patterns, const char *path)
{
	return match_list(patterns, path, 0);
}

int
pk_procdet_path_match_win(const char *patterns, const char *path)
{
	return match_list(patterns, path, 1);
}

/* ---- setup ---------------------------------------------------------- */

struct pk_procdet *
pk_procdet_new(struct pk_engine *e, const struct pk_config *cfg,
    const struct pk_iocset *ioc)
{
	struct pk_procdet *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->e = e;
	d->cfg = cfg;
	d->ioc = ioc;
	d->pt = pk_proctable_new(cfg->process.max_processes,
	    cfg->process.argv_bytes, det_release, d);
	if (d->pt == NULL) {
		free(d);
		return NULL;
	}
	d->idle_us = PK_MAX(cfg->scan.idle_timeout, 1) * USEC;
	d->update_us = cfg->output.update_interval * USEC;
	d->recent_ns = cfg->process.recent_write * 1000000000ULL;
	d->scan_win_us = PK_MAX(cfg->scan.address_scan_window, 1) * USEC;
	d->scan_hosts = PK_MAX(cfg->scan.address_scan_hosts, 1);
	return d;
}

void
pk_procdet_set_hasher(struct pk_procdet *d, pk_hash_request_fn fn, void *arg)
{
	d->hreq = fn;
	d->hreq_arg = arg;
}

void
pk_procdet_set_winpaths(struct pk_procdet *d, int on)
{
	d->winpaths = on != 0;
}

struct pk_proctable *
pk_procdet_table(struct pk_procdet *d)
{
	return d->pt;
}

/* ---- snapshots and reports ------------------------------------------ */

static void
snap(struct pk_procdet *d, const struct pk_proc *p, struct psnap *s)
{
	const struct pk_proc *a;
	size_t i;

	free(s->args);
	memset(s, 0, sizeof(*s));
	s->pid = p->pid;
	s->ppid = p->ppid;
	s->uid = p->uid;
	pk_strlcpy(s->exe, p->exe != NULL ? p->exe : "", sizeof(s->exe));
	pk_strlcpy(s->comm, p->comm, sizeof(s->comm));
	if (p->args != NULL && (s->args = malloc(p->args_len + 1)) != NULL) {
		memcpy(s->args, p->args, p->args_len);
		s->args[p->args_len] = '\0';
		s->args_len = p->args_len;
	}
	if (p->hash_state == PK_HASH_DONE) {
		s->has_hash = 1;
		memcpy(s->sha256, p->sha256, 32);
	}
	/* ancestry: parent first; stops at pid 0/1, unknown pids, loops */
	a = p;
	for (i = 0; i < ANCESTRY && a->ppid > 0; i++) {
		s->ancestry[s->nancestry++] = a->ppid;
		if (a->ppid == 1 || a->ppid == p->pid ||
		    (a = pk_proc_find(d->pt, a->ppid)) == NULL)
			break;
		if (i == 0)
			pk_strlcpy(s->parent_exe, a->exe != NULL ? a->exe : "",
			    sizeof(s->parent_exe));
	}
}

static void
write_args(struct json *j, const char *args, size_t len)
{
	size_t pos = 0, alen, n = 0, used = 0;
	const char *a;

	/* Bounded so that one indicator stays well inside its 8 KiB line
	 * whatever argv_bytes says; the full text is in the table. */
	json_arr_begin(j, "args");
	while (n < 32 && used < 1024 &&
	    pk_pev_argv_next(args, len, &pos, &a, &alen)) {
		json_strn(j, NULL, a, alen, 256);
		used += PK_MIN(alen, (size_t)256);
		n++;
	}
	json_arr_end(j);
}

/* ECS process.* and user.*, at the top level of the indicator. */
static void
write_process(struct json *j, const struct psnap *s)
{
	char hex[65], uid[16];

	json_obj_begin(j, "process");
	json_u64(j, "pid", s->pid);
	json_str(j, "executable", s->exe, PK_PROC_EXE_MAX);
	json_str(j, "name", s->comm, 0);
	if (s->args != NULL)
		write_args(j, s->args, s->args_len);
	json_obj_begin(j, "parent");
	json_u64(j, "pid", s->ppid);
	if (s->parent_exe[0] != '\0')
		json_str(j, "executable", s->parent_exe, 512);
	json_obj_end(j);
	if (s->has_hash) {
		pk_hex(s->sha256, 32, hex);
		json_obj_begin(j, "hash");
		json_str(j, "sha256", hex, 0);
		json_obj_end(j);
	}
	json_obj_end(j);
	/* ECS user.id is a string (it holds SIDs on Windows). */
	snprintf(uid, sizeof(uid), "%u", (unsigned)s->uid);
	json_obj_begin(j, "user");
	json_str(j, "id", uid, 0);
	json_obj_end(j);
}

static void
write_ecs(struct json *j, const void *arg)
{
	const struct pind *in = arg;

	write_process(j, &in->ps);
}

static void
write_details(struct json *j, const void *arg)
{
	const struct pind *in = arg;
	char ip[PK_ADDRSTRLEN];
	size_t i;

	/* Not ECS: the chain of parent pids, nearest first. */
	json_arr_begin(j, "ancestry");
	for (i = 0; i < in->ps.nancestry; i++)
		json_u64(j, NULL, in->ps.ancestry[i]);
	json_arr_end(j);
	switch (in->kind) {
	case K_PERSIST:
		json_obj_begin(j, "file");
		json_str(j, "path", in->path, PK_PROC_EXE_MAX);
		json_u64(j, "flags", in->open_flags);
		json_obj_end(j);
		break;
	case K_LISTEN:
		json_u64(j, "port", in->port);
		break;
	case K_MODULE:
		json_str(j, "module", in->name, 0);
		break;
	case K_PTRACE:
		json_obj_begin(j, "target");
		json_u64(j, "pid", in->target_pid);
		json_str(j, "executable", in->target_exe, 512);
		json_obj_end(j);
		break;
	case K_SCAN:
		json_str(j, "method", "fanout", 0);
		json_u64(j, "distinct_hosts", in->hosts);
		json_arr_begin(j, "top_ports");
		json_u64(j, NULL, in->port);
		json_arr_end(j);
		json_arr_begin(j, "targets");
		for (i = 0; i < in->ntargets; i++)
			json_str(j, NULL, pk_addr_format(&in->targets[i], ip,
			    sizeof(ip)), 0);
		json_arr_end(j);
		json_u64(j, "attempts_ok", in->ok);
		json_u64(j, "attempts_failed", in->failed);
		break;
	case K_IOC:
		json_str(j, "method", "ioc", 0);
		json_str(j, "matched", in->ioc_value, 0);
		break;
	}
}

static void
report(struct pk_procdet *d, struct pind *in, int phase)
{
	struct pk_indicator ind;
	char msg[2 * PK_PROC_EXE_MAX + 256];
	const char *exe = in->ps.exe[0] != '\0' ? in->ps.exe : in->ps.comm;

	memset(&ind, 0, sizeof(ind));
	ind.phase = (uint8_t)phase;
	ind.severity = kinds[in->kind].severity;
	ind.module = "process";
	ind.dataset = "picket.process";
	ind.category = kinds[in->kind].category;
	ind.rule_id = kinds[in->kind].id;
	ind.rule_name = kinds[in->kind].name;
	ind.ruleset = "picket-builtin";
	ind.first_seen_us = in->first_us;
	ind.last_seen_us = in->last_us;
	ind.count = in->count > 0 ? in->count : 1;
	pk_indicator_fingerprint(&ind, in->key, in->keylen);
	ind.direction = PK_DIRN_UNKNOWN;
	switch (in->kind) {
	case K_PERSIST:
		snprintf(msg, sizeof(msg), "%s (pid %u) wrote %s", exe,
		    in->ps.pid, in->path);
		break;
	case K_LISTEN:
		snprintf(msg, sizeof(msg), "%s (pid %u) listens on port %u",
		    exe, in->ps.pid, in->port);
		ind.has_sport = 1;
		ind.sport = in->port;
		ind.transport = 6;
		break;
	case K_MODULE:
		snprintf(msg, sizeof(msg), "module %s loaded by %s (pid %u)",
		    in->name, exe, in->ps.pid);
		break;
	case K_PTRACE:
		snprintf(msg, sizeof(msg), "%s (pid %u) attached to %s "
		    "(pid %u)", exe, in->ps.pid, in->target_exe,
		    in->target_pid);
		break;
	case K_SCAN:
		snprintf(msg, sizeof(msg), "%s (pid %u) contacted %llu "
		    "addresses on %s port %u", exe, in->ps.pid,
		    (unsigned long long)in->hosts,
		    in->proto == 17 ? "udp" : "tcp", in->port);
		if (in->src.family != 0) {
			ind.has_src = 1;
			ind.src = in->src;
			ind.direction = (uint8_t)pk_engine_direction(d->e,
			    &in->src, NULL);
		}
		ind.has_dport = 1;
		ind.dport = in->port;
		ind.transport = in->proto;
		break;
	case K_IOC:
		snprintf(msg, sizeof(msg), "%s (pid %u) has SHA-256 %s "
		    "listed in %s", exe, in->ps.pid, in->ioc_value,
		    in->ioc_list);
		ind.threat_type = "file";
		ind.threat_name = in->ioc_value;
		ind.threat_provider = in->ioc_list;
		ind.shared = in->shared;
		break;
	default:
		snprintf(msg, sizeof(msg), "%s (pid %u, user %u) started: %s",
		    exe, in->ps.pid, in->ps.uid, kinds[in->kind].name);
	}
	ind.message = msg;
	ind.write_ecs = write_ecs;
	ind.ecs_arg = in;
	ind.write_details = write_details;
	ind.details_arg = in;
	pk_engine_emit(d->e, &ind);
	in->started = 1;
	in->reported_us = d->now;
	in->reported_count = in->count;
	in->reported_hash = (uint8_t)in->ps.has_hash;
	d->reports++;
}

static void
ind_free(struct pk_procdet *d, struct pind *in)
{
	pk_dlist_unlink(&d->inds, &in->lru);
	d->nind--;
	free(in->ps.args);
	free(in->shared);
	free(in);
}

/* Close it: END (if it was ever reported) and forget it. */
static void
ind_close(struct pk_procdet *d, struct pind *in)
{
	struct pk_proc *p;

	if (in->started)
		report(d, in, PK_PHASE_END);
	/* the claim lapses scan.idle_timeout from now, not at once: the
	 * packets of this scan may still be on their way */
	if (in->kind == K_SCAN)
		(void)pk_engine_scan_claim(d->e, in->claim_pid, in->port,
		    in->proto, PK_CLAIM_PROCESS, d->now);
	/* a scan tracker may still point at it */
	if (in->kind == K_SCAN && (p = pk_proc_find(d->pt, in->ps.pid)) &&
	    p->det != NULL) {
		struct pscan *ps = p->det;
		size_t i;

		for (i = 0; i < SCAN_PORTS; i++)
			if (ps->p[i].ind == in)
				ps->p[i].ind = NULL;
	}
	ind_free(d, in);
}

static struct pind *
ind_find(struct pk_procdet *d, int kind, const char *key, size_t keylen)
{
	struct pk_dlink *l;
	struct pind *in;

	/* Open indicators are few (bounded); a linear look is enough. */
	for (l = d->inds.tail; l != NULL; l = l->prev) {
		in = PK_CONTAINER_OF(l, struct pind, lru);
		if (in->kind == kind && in->keylen == keylen &&
		    memcmp(in->key, key, keylen) == 0)
			return in;
	}
	return NULL;
}

/*
 * The indicator for (kind, key part a, key part b), new or grown by one;
 * the caller fills the kind-specific fields, then calls ind_done().
 */
static struct pind *
ind_get(struct pk_procdet *d, int kind, const char *a, const char *b,
    const struct pk_proc *p, uint64_t ts)
{
	char key[KEY_MAX];
	struct pind *in;
	int n;

	n = snprintf(key, sizeof(key), "%s|%s|%s", kinds[kind].id, a,
	    b != NULL ? b : "");
	if (n < 0)
		return NULL;
	if ((size_t)n >= sizeof(key))
		n = sizeof(key) - 1;
	if ((in = ind_find(d, kind, key, (size_t)n)) == NULL) {
		if (d->nind >= PK_PROCDET_MAX_IND) {
			ind_close(d, PK_CONTAINER_OF(d->inds.head,
			    struct pind, lru));
			d->ind_evicted++;
		}
		if ((in = calloc(1, sizeof(*in))) == NULL)
			return NULL;
		in->kind = (uint8_t)kind;
		memcpy(in->key, key, (size_t)n);
		in->keylen = (size_t)n;
		in->first_us = ts;
		pk_dlist_append(&d->inds, &in->lru);
		d->nind++;
		d->detections[kind]++;
	} else
		pk_dlist_move_tail(&d->inds, &in->lru);
	in->count++;
	if (ts > in->last_us)
		in->last_us = ts;
	in->touch_us = d->now;
	if (p != NULL)
		snap(d, p, &in->ps);
	return in;
}

static void
ind_done(struct pk_procdet *d, struct pind *in)
{
	if (!in->started)
		report(d, in, PK_PHASE_START);
	else if (in->ps.has_hash && !in->reported_hash)
		report(d, in, PK_PHASE_CHANGE);	/* the hash is news */
}

/* ---- detections ----------------------------------------------------- */

static void
check_ioc(struct pk_procdet *d, struct pk_proc *p, uint64_t ts)
{
	const struct pk_shared *sh = pk_engine_shared(d->e);
	struct pk_ind_shared tag;
	struct pk_ioc_match m;
	struct pind *in;
	char hex[65];
	int shared = 0;

	if (p->hash_state != PK_HASH_DONE)
		return;
	/* the configured lists first, then the running bundle's, which
	 * the engine holds: a bundle applies without a restart */
	if (d->ioc == NULL || !pk_ioc_match_sha256(d->ioc, p->sha256, &m)) {
		if (pk_shared_iocset(sh) == NULL ||
		    !pk_ioc_match_sha256(pk_shared_iocset(sh), p->sha256, &m) ||
		    !pk_shared_ioc(sh, &m, &tag))
			return;
		shared = 1;
	}
	pk_hex(p->sha256, 32, hex);
	if ((in = ind_get(d, K_IOC, hex, NULL, p, ts)) == NULL)
		return;
	pk_strlcpy(in->ioc_value, hex, sizeof(in->ioc_value));
	pk_strlcpy(in->ioc_list, m.list, sizeof(in->ioc_list));
	if (shared && in->shared == NULL)
		in->shared = pk_ind_shared_dup(&tag);
	ind_done(d, in);
}

static void
ask_hash(struct pk_procdet *d, struct pk_proc *p)
{
	int st;

	if (d->hreq == NULL || p->key.ino == 0)
		return;
	st = d->hreq(d->hreq_arg, p, p->sha256);
	p->hash_state = (uint8_t)st;
}

static void
exec_kind(struct pk_procdet *d, struct pk_proc *p, int kind, uint64_t ts)
{
	struct pind *in;

	if ((in = ind_get(d, kind, p->exe, NULL, p, ts)) != NULL)
		ind_done(d, in);
}

static void
on_exec(struct pk_procdet *d, const struct pk_pev *ev, uint64_t ts)
{
	struct pk_proc *p, *old = pk_proc_find(d->pt, ev->pid);
	uint64_t now_ns = ts * 1000ULL, changed;
	char path[PK_PROC_EXE_MAX + 1];
	size_t n;

	/* A new image: the same pid, a fresh entry (its scan state goes). */
	if (old != NULL && old->det != NULL) {
		det_release(old->det, d);
		old->det = NULL;
	}
	if ((p = old) == NULL && (p = pk_proc_new(d->pt, ev->pid, ts)) == NULL)
		return;
	pk_proc_touch(d->pt, p);
	p->start_us = ts;
	p->seeded = 0;
	p->ppid = ev->u.exec.ppid;
	p->uid = ev->uid;
	p->gid = ev->gid;
	/* The kernel may still hold the caller's name at this tracepoint:
	 * the name is that of the file as run, cut as the kernel cuts it. */
	{
		const char *f = ev->u.exec.fname, *slash;
		size_t fl = ev->u.exec.fname_len;

		while ((slash = memchr(f, '/', fl)) != NULL ||
		    (d->winpaths && (slash = memchr(f, '\\', fl)) != NULL)) {
			fl -= (size_t)(slash + 1 - f);
			f = slash + 1;
		}
		n = PK_MIN(fl, sizeof(p->comm) - 2);
		if (n > 0) {
			memcpy(p->comm, f, n);
			p->comm[n] = '\0';
		} else
			memcpy(p->comm, ev->comm, sizeof(p->comm));
	}
	n = ev->u.exec.path_len < PK_PROC_EXE_MAX ? ev->u.exec.path_len :
	    PK_PROC_EXE_MAX;
	memcpy(path, ev->u.exec.path, n);
	path[n] = '\0';
	pk_proc_set_exe(p, path, n);
	pk_proc_set_args(d->pt, p, ev->u.exec.argv, ev->u.exec.argv_len);
	p->key.dev = (ev->u.exec.flags & PK_EXEC_UDEV) ? ev->u.exec.dev :
	    pk_kdev_to_udev(ev->u.exec.dev);
	p->key.ino = ev->u.exec.ino;
	p->key.size = ev->u.exec.size;
	p->key.mtime_ns = ev->u.exec.mtime_ns;
	p->ctime_ns = ev->u.exec.ctime_ns;
	p->exec_flags = ev->u.exec.flags;
	p->hash_state = PK_HASH_NONE;
	memset(p->sha256, 0, sizeof(p->sha256));
	ask_hash(d, p);

	if (p->exec_flags & PK_EXEC_MEMFD)
		exec_kind(d, p, K_EXEC_MEMFD, ts);
	else if (p->exec_flags & PK_EXEC_DELETED)
		exec_kind(d, p, K_EXEC_DELETED, ts);
	if (match_list(d->cfg->process.exec_paths, p->exe, d->winpaths))
		exec_kind(d, p, K_EXEC_WRITABLE, ts);
	changed = PK_MAX(p->key.mtime_ns, p->ctime_ns);
	if (!(p->exec_flags & PK_EXEC_MEMFD) && changed > 0 &&
	    changed <= now_ns + 1000000000ULL &&
	    now_ns - PK_MIN(changed, now_ns) <= d->recent_ns)
		exec_kind(d, p, K_EXEC_RECENT, ts);
	check_ioc(d, p, ts);
}

/* The process an event belongs to; a stub if the table lost it. */
static struct pk_proc *
owner(struct pk_procdet *d, const struct pk_pev *ev, uint64_t ts)
{
	struct pk_proc *p = pk_proc_find(d->pt, ev->pid);

	if (p == NULL) {
		d->unknown_pid++;
		if ((p = pk_proc_new(d->pt, ev->pid, ts)) == NULL)
			return NULL;
		p->uid = ev->uid;
		p->gid = ev->gid;
		memcpy(p->comm, ev->comm, sizeof(p->comm));
	}
	pk_proc_touch(d->pt, p);
	return p;
}

static void
on_fork(struct pk_procdet *d, const struct pk_pev *ev, uint64_t ts)
{
	struct pk_proc *parent = pk_proc_find(d->pt, ev->pid), *c;

	if ((c = pk_proc_new(d->pt, ev->u.fork.child, ts)) == NULL)
		return;
	/* the parent may have been evicted by the new entry */
	parent = pk_proc_find(d->pt, ev->pid);
	if (parent != NULL)
		pk_proc_inherit(d->pt, c, parent);
	else {
		c->ppid = ev->pid;
		c->uid = ev->uid;
		c->gid = ev->gid;
		memcpy(c->comm, ev->comm, sizeof(c->comm));
	}
}

static void
on_open(struct pk_procdet *d, const struct pk_pev *ev, uint64_t ts)
{
	char path[PK_PROC_EXE_MAX + 1];
	struct pk_proc *p;
	struct pind *in;
	size_t n = PK_MIN(ev->u.open.path_len, (size_t)PK_PROC_EXE_MAX);

	memcpy(path, ev->u.open.path, n);
	path[n] = '\0';
	if (!match_list(d->cfg->process.persistence_paths, path, d->winpaths))
		return;
	if ((p = owner(d, ev, ts)) == NULL)
		return;
	if ((in = ind_get(d, K_PERSIST, path, NULL, p, ts)) == NULL)
		return;
	pk_strlcpy(in->path, path, sizeof(in->path));
	in->open_flags = ev->u.open.flags;
	ind_done(d, in);
}

static void
on_listen(struct pk_procdet *d, const struct pk_pev *ev, uint64_t ts)
{
	struct pk_proc *p;
	struct pind *in;
	char port[8];

	if (pk_portset_has(&d->cfg->process.listen_allow, ev->u.listen.port))
		return;
	if ((p = owner(d, ev, ts)) == NULL)
		return;
	snprintf(port, sizeof(port), "%u", ev->u.listen.port);
	if ((in = ind_get(d, K_LISTEN, p->exe != NULL ? p->exe : p->comm,
	    port, p, ts)) == NULL)
		return;
	in->port = ev->u.listen.port;
	ind_done(d, in);
}

static void
on_ptrace(struct pk_procdet *d, const struct pk_pev *ev, uint64_t ts)
{
	struct pk_proc *p, *t;
	struct pind *in;
	const char *texe;

	if (ev->u.ptrace.target == ev->pid || ev->u.ptrace.target == 0)
		return;
	if ((p = owner(d, ev, ts)) == NULL)
		return;
	t = pk_proc_find(d->pt, ev->u.ptrace.target);
	if (t != NULL && t->pid == p->pid)
		return;
	texe = t != NULL && t->exe != NULL ? t->exe : "";
	if ((in = ind_get(d, K_PTRACE, p->exe != NULL ? p->exe : p->comm,
	    texe, p, ts)) == NULL)
		return;
	in->target_pid = ev->u.ptrace.target;
	pk_strlcpy(in->target_exe, texe, sizeof(in->target_exe));
	ind_done(d, in);
}

static void
on_module(struct pk_procdet *d, const struct pk_pev *ev, uint64_t ts)
{
	struct pk_proc *p;
	struct pind *in;

	if ((p = owner(d, ev, ts)) == NULL)
		return;
	if ((in = ind_get(d, K_MODULE, ev->u.name.name, NULL, p, ts)) == NULL)
		return;
	pk_strlcpy(in->name, ev->u.name.name, sizeof(in->name));
	ind_done(d, in);
}

/* ---- process-level scans -------------------------------------------- */

static void
det_release(void *det, void *arg)
{
	struct pscan *ps = det;
	size_t i;

	(void)arg;
	/* its indicators live on: they own copies of what they report */
	for (i = 0; i < SCAN_PORTS; i++)
		ps->p[i].ind = NULL;
	ps->d->ntrackers--;
	free(ps);
}

static struct scanport *
scan_port(struct pk_procdet *d, struct pk_proc *p, uint16_t port,
    uint8_t proto)
{
	struct pscan *ps = p->det;
	struct scanport *sp, *oldest = NULL;
	size_t i;

	if (ps == NULL) {
		if (d->ntrackers >= SCAN_TRACKERS ||
		    (ps = calloc(1, sizeof(*ps))) == NULL) {
			d->trackers_denied++;
			return NULL;
		}
		ps->d = d;
		p->det = ps;
		d->ntrackers++;
	}
	for (i = 0; i < SCAN_PORTS; i++) {
		sp = &ps->p[i];
		if (sp->used && sp->port == port && sp->proto == proto)
			return sp;
		if (!sp->used || oldest == NULL ||
		    (oldest->used && sp->win_start < oldest->win_start))
			oldest = sp;
	}
	/* a free slot, else the port followed longest (not a reported one) */
	if (oldest->used && oldest->ind != NULL)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->used = 1;
	oldest->port = port;
	oldest->proto = proto;
	oldest->win_start = d->now;
	return oldest;
}

/* Add a host; 1 if it was not seen in this window. */
static int
scan_add(struct scanport *sp, const struct pk_addr *a)
{
	uint64_t h64 = pk_addr_hash(a, PK_FNV_SEED);
	uint32_t h = (uint32_t)(h64 ^ (h64 >> 32)) | 1u, i, k;

	for (i = 0; i < SCAN_SLOTS; i++) {
		k = (h + i) & (SCAN_SLOTS - 1);
		if (sp->h[k] == h)
			return 0;
		if (sp->h[k] == 0)
			break;
	}
	if (sp->filled < SCAN_FILL && i < SCAN_SLOTS) {
		sp->h[(h + i) & (SCAN_SLOTS - 1)] = h;
		sp->filled++;
	}
	/* past SCAN_FILL every new-looking host counts: a lower bound
	 * would hide a big scan, an upper bound only makes it bigger */
	sp->n++;
	if (sp->ntargets < TARGETS)
		sp->targets[sp->ntargets++] = *a;
	return 1;
}

/*
 * Process attribution (engine.h): the process's reference, once per image
 * and again when its hash is known, then each TCP attempt's local
 * endpoint, so the packet scan detector can name the process behind the
 * probes it sees.
 */
static void
attr_publish(struct pk_procdet *d, const struct pk_proc *p)
{
	const struct pk_proc *pp;
	struct pk_proc_ref r;
	struct pscan *ps = p->det;

	memset(&r, 0, sizeof(r));
	r.pid = p->pid;
	r.ppid = p->ppid;
	r.uid = p->uid;
	pk_strlcpy(r.name, p->comm, sizeof(r.name));
	pk_strlcpy(r.exe, p->exe != NULL ? p->exe : "", sizeof(r.exe));
	if (p->ppid > 0 && (pp = pk_proc_find(d->pt, p->ppid)) != NULL &&
	    pp->exe != NULL)
		pk_strlcpy(r.parent_exe, pp->exe, sizeof(r.parent_exe));
	if (p->hash_state == PK_HASH_DONE) {
		r.has_hash = 1;
		memcpy(r.sha256, p->sha256, sizeof(r.sha256));
	}
	pk_engine_attrib_process(d->e, &r, d->now);
	if (ps != NULL) {
		ps->ref_pub = 1;
		ps->hash_pub = r.has_hash;
	}
}

static void
attr_connect(struct pk_procdet *d, const struct pk_proc *p,
    const struct pk_pev *ev)
{
	const struct pscan *ps = p->det;

	if (ev->u.conn.proto != 6 || ev->u.conn.sport == 0)
		return;		/* no local port known yet */
	if (ps == NULL || !ps->ref_pub ||
	    (p->hash_state == PK_HASH_DONE && !ps->hash_pub))
		attr_publish(d, p);
	if (pk_engine_attrib_record(d->e, 6, &ev->u.conn.src,
	    ev->u.conn.sport, &ev->u.conn.dst, ev->u.conn.dport, p->pid,
	    d->now) == 0)
		d->attr_records++;
}

static void
on_connect(struct pk_procdet *d, const struct pk_pev *ev, uint64_t ts)
{
	struct scanport *sp;
	struct pk_proc *p;
	struct pind *in;
	char port[16];
	uint8_t proto = ev->u.conn.proto == 17 ? 17 : 6;

	if ((p = owner(d, ev, ts)) == NULL)
		return;
	/* Accepted from a peer (ETW): the process is active, but its
	 * fan-out and its attributed probes are what it initiates. */
	if (ev->u.conn.phase == PK_CONN_ACCEPTED) {
		d->accepted++;
		return;
	}
	sp = scan_port(d, p, ev->u.conn.dport, proto);
	attr_connect(d, p, ev);
	if (sp == NULL)
		return;
	if (ev->u.conn.phase == PK_CONN_OK) {
		sp->ok++;
	} else if (ev->u.conn.phase == PK_CONN_FAIL) {
		sp->failed++;
		/* an early failure (no route) is its own attempt */
		if (ev->u.conn.sock == 0 && ev->u.conn.proto == 0)
			scan_add(sp, &ev->u.conn.dst);
	} else {
		if (sp->ind == NULL &&
		    d->now - PK_MIN(sp->win_start, d->now) > d->scan_win_us) {
			uint16_t po = sp->port;

			memset(sp, 0, sizeof(*sp));
			sp->used = 1;
			sp->port = po;
			sp->proto = proto;
			sp->win_start = d->now;
		}
		if (ev->u.conn.src.family != 0)
			((struct pscan *)p->det)->src = ev->u.conn.src;
		if (!scan_add(sp, &ev->u.conn.dst))
			return;
	}
	if (sp->ind == NULL && sp->n < d->scan_hosts)
		return;
	snprintf(port, sizeof(port), "%s/%u", proto == 17 ? "udp" : "tcp",
	    sp->port);
	if (sp->ind == NULL) {
		/* One scan, one indicator: the packet side named this
		 * process first (docs/process.md). */
		if (pk_engine_scan_claim(d->e, p->pid, sp->port, proto,
		    PK_CLAIM_PROCESS, d->now) == PK_CLAIM_PACKET) {
			if (!sp->deferred)
				d->scan_deferred++;
			sp->deferred = 1;
			return;
		}
		if ((in = ind_get(d, K_SCAN, p->exe != NULL ? p->exe : p->comm,
		    port, p, ts)) == NULL)
			return;
		in->claim_pid = p->pid;
		sp->ind = in;
	} else {
		in = sp->ind;
		pk_dlist_move_tail(&d->inds, &in->lru);
		in->count++;
		in->last_us = PK_MAX(in->last_us, ts);
		in->touch_us = d->now;
		if (p->hash_state == PK_HASH_DONE && !in->ps.has_hash)
			snap(d, p, &in->ps);
		if (in->claim_pid == p->pid)
			(void)pk_engine_scan_claim(d->e, p->pid, sp->port,
			    proto, PK_CLAIM_PROCESS, d->now);
	}
	in->port = sp->port;
	in->proto = proto;
	in->hosts = PK_MAX(in->hosts, sp->n);
	in->ok = sp->ok;
	in->failed = sp->failed;
	in->src = ((struct pscan *)p->det)->src;
	memcpy(in->targets, sp->targets, sizeof(in->targets));
	in->ntargets = sp->ntargets;
	ind_done(d, in);
}

/* ---- entry points --------------------------------------------------- */

void
pk_procdet_event(struct pk_procdet *d, const struct pk_pev *ev, uint64_t ts)
{
	struct pk_proc *p;

	if (ev->type > 0 && ev->type < PK_EV__MAX)
		d->events[ev->type]++;
	if (ts > d->now)
		d->now = ts;
	switch (ev->type) {
	case PK_EV_EXEC:
		on_exec(d, ev, ts);
		break;
	case PK_EV_FORK:
		on_fork(d, ev, ts);
		break;
	case PK_EV_EXIT:
		if ((p = pk_proc_find(d->pt, ev->pid)) != NULL)
			pk_proc_exit(d->pt, p, ts);
		break;
	case PK_EV_CONNECT:
		on_connect(d, ev, ts);
		break;
	case PK_EV_LISTEN:
		on_listen(d, ev, ts);
		break;
	case PK_EV_OPEN:
		on_open(d, ev, ts);
		break;
	case PK_EV_PTRACE:
		on_ptrace(d, ev, ts);
		break;
	case PK_EV_MEMFD:
		(void)owner(d, ev, ts);
		break;
	case PK_EV_MODULE:
		on_module(d, ev, ts);
		break;
	}
}

struct hash_arg {
	struct pk_procdet	*d;
	const struct pk_filekey	*key;
	int			 state;
	const uint8_t		*sha;
	uint64_t		 now;
};

static void
hash_one(struct pk_proc *p, void *arg)
{
	struct hash_arg *h = arg;
	struct pk_dlink *l;
	struct pind *in;

	if (p->hash_state != PK_HASH_PENDING ||
	    memcmp(&p->key, h->key, sizeof(p->key)) != 0)
		return;
	p->hash_state = (uint8_t)h->state;
	if (h->state != PK_HASH_DONE)
		return;
	memcpy(p->sha256, h->sha, 32);
	/* the packet side may be naming this process: give it the hash */
	if (p->det != NULL && ((struct pscan *)p->det)->ref_pub)
		attr_publish(h->d, p);
	/* open indicators about this process learn the hash */
	for (l = h->d->inds.head; l != NULL; l = l->next) {
		in = PK_CONTAINER_OF(l, struct pind, lru);
		if (in->ps.pid == p->pid && !in->ps.has_hash &&
		    strcmp(in->ps.exe, p->exe != NULL ? p->exe : "") == 0) {
			in->ps.has_hash = 1;
			memcpy(in->ps.sha256, h->sha, 32);
			if (in->started)
				report(h->d, in, PK_PHASE_CHANGE);
		}
	}
	check_ioc(h->d, p, h->now);
}

void
pk_procdet_hash(struct pk_procdet *d, const struct pk_filekey *key, int state,
    const uint8_t sha256[32], uint64_t now_us)
{
	struct hash_arg h = { d, key, state, sha256, now_us };

	if (now_us > d->now)
		d->now = now_us;
	pk_proctable_foreach(d->pt, hash_one, &h);
}

static void
hash_all_one(struct pk_proc *p, void *arg)
{
	struct pk_procdet *d = arg;

	if (p->hash_state == PK_HASH_NONE)
		ask_hash(d, p);
	if (p->hash_state == PK_HASH_DONE)
		check_ioc(d, p, d->now);
}

void
pk_procdet_hash_all(struct pk_procdet *d)
{
	pk_proctable_foreach(d->pt, hash_all_one, d);
}

struct ioc_arg {
	struct pk_procdet	*d;
	const struct pk_iocset	*old;
};

static void
recheck_one(struct pk_proc *p, void *arg)
{
	struct ioc_arg *a = arg;
	struct pk_ioc_match m;

	if (p->hash_state == PK_HASH_DONE && a->d->ioc != NULL &&
	    pk_ioc_match_sha256(a->d->ioc, p->sha256, &m) &&
	    (a->old == NULL || !pk_ioc_match_sha256(a->old, p->sha256, &m)))
		check_ioc(a->d, p, a->d->now);
}

void
pk_procdet_set_ioc(struct pk_procdet *d, const struct pk_iocset *ioc)
{
	struct ioc_arg a = { d, d->ioc };

	d->ioc = ioc;
	pk_proctable_foreach(d->pt, recheck_one, &a);
}

void
pk_procdet_tick(struct pk_procdet *d, uint64_t now_us)
{
	struct pk_dlink *l, *next;
	struct pind *in;

	if (now_us > d->now)
		d->now = now_us;
	for (l = d->inds.head; l != NULL; l = next) {
		next = l->next;
		in = PK_CONTAINER_OF(l, struct pind, lru);
		if (d->now - PK_MIN(in->touch_us, d->now) >= d->idle_us) {
			ind_close(d, in);
			continue;
		}
		if (d->update_us > 0 && in->started &&
		    in->count > in->reported_count &&
		    d->now - PK_MIN(in->reported_us, d->now) >= d->update_us)
			report(d, in, PK_PHASE_CHANGE);
	}
	pk_proctable_expire(d->pt, d->now);
}

void
pk_procdet_flush(struct pk_procdet *d, uint64_t now_us)
{
	struct pind *in;

	if (now_us > d->now)
		d->now = now_us;
	while ((in = PK_DLIST_FIRST(&d->inds, struct pind, lru)) != NULL)
		ind_close(d, in);
}

void
pk_procdet_stats(struct pk_procdet *d, FILE *fp)
{
	const struct pk_proctable_stats *st = pk_proctable_stats(d->pt);
	int i;

	for (i = 1; i < PK_EV__MAX; i++)
		fprintf(fp, "process.events.%s %llu\n", pk_pev_type_name(i),
		    (unsigned long long)d->events[i]);
	fprintf(fp, "process.table.size %llu\n", (unsigned long long)st->n);
	fprintf(fp, "process.table.evicted %llu\n",
	    (unsigned long long)st->evicted);
	fprintf(fp, "process.table.seeded %llu\n",
	    (unsigned long long)st->seeded);
	fprintf(fp, "process.table.seed_skipped %llu\n",
	    (unsigned long long)st->seed_skipped);
	fprintf(fp, "process.unknown_pid %llu\n",
	    (unsigned long long)d->unknown_pid);
	fprintf(fp, "process.indicators_evicted %llu\n",
	    (unsigned long long)d->ind_evicted);
	fprintf(fp, "process.scan_trackers_denied %llu\n",
	    (unsigned long long)d->trackers_denied);
	fprintf(fp, "process.attribution_records %llu\n",
	    (unsigned long long)d->attr_records);
	fprintf(fp, "process.scan_deferred_to_packet %llu\n",
	    (unsigned long long)d->scan_deferred);
	if (d->winpaths)	/* only ETW has accept events */
		fprintf(fp, "process.accepted_not_fanout %llu\n",
		    (unsigned long long)d->accepted);
	fprintf(fp, "process.reports %llu\n", (unsigned long long)d->reports);
	for (i = 0; i < K__N; i++)
		fprintf(fp, "process.detections.%s %llu\n",
		    kinds[i].id + sizeof("picket.process.") - 1,
		    (unsigned long long)d->detections[i]);
}

void
pk_procdet_free(struct pk_procdet *d)
{
	struct pind *in;

	if (d == NULL)
		return;
	while ((in = PK_DLIST_FIRST(&d->inds, struct pind, lru)) != NULL)
		ind_free(d, in);
	pk_proctable_free(d->pt);
	free(d);
}
