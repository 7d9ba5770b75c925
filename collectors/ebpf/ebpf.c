/*
 * ebpf.c - the eBPF process collector: loads proc.bpf.c through its
 * generated skeleton (build/ebpf/proc.skel.h), attaches each hook, and
 * drains the ring buffer into the decoder (evdecode.c) and the detections
 * (procdet.c); executables are hashed off-thread (hash_linux.c).
 *
 * Nothing here is fatal to the agent.  available() names the first missing
 * requirement (BTF, privileges, tracefs) in one line; open() degrades hook
 * by hook: a tracepoint this kernel lacks (module/module_load on a kernel
 * without modules) is skipped with one log line, and only the process
 * lifecycle hooks are required.  A verifier refusal is reported with the
 * program's name and libbpf's last message.  The agent then runs on with
 * the packet collector.  Lost ring-buffer records and rate-limited events
 * are counted per type by the kernel side and reported in the statistics
 * and, when they grow, as a health indicator.  Every decoded event and
 * hash result also goes to the engine's process tap when one is set
 * (the proc_trace task, docs/tasks.md).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/indicator.h"
#include "agent/ioc.h"
#include "collectors/ebpf/ebpf.h"
#include "collectors/ebpf/evdecode.h"
#include "collectors/ebpf/hash.h"
#include "collectors/ebpf/proc.h"
#include "collectors/ebpf/procdet.h"
#include "common/json.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "proc.skel.h"

#define TRACEFS		"/sys/kernel/tracing"
#define BTF_PATH	"/sys/kernel/btf/vmlinux"
#define HEALTH_US	(60ULL * 1000000ULL)
#define BUDGET_STOP	(-EBUSY)	/* our callback's "enough for now" */
/*
 * The programs wake the agent at most every PK_EV_WAKE_NS during a burst
 * (proc.bpf.c); records submitted in between are read when it looks
 * again this long after reading any.
 */
#define RECALL_US	(PK_EV_WAKE_NS / 1000 + 2000)

#define CAP_SYS_ADMIN_BIT	21
#define CAP_PERFMON_BIT		38
#define CAP_BPF_BIT		39

struct hook {
	const char	*prog;		/* program name in proc.bpf.c */
	const char	*tp;		/* tracepoint: category/name */
	const char	*what;
	int		 required;
};

static const struct hook hooks[] = {
	{ "handle_exec", "sched/sched_process_exec", "exec", 1 },
	{ "handle_fork", "sched/sched_process_fork", "fork (raw)", 1 },
	{ "handle_exit", "sched/sched_process_exit", "exit", 1 },
	{ "handle_sock_state", "sock/inet_sock_set_state",
	    "tcp connect outcome, listen", 0 },
	{ "handle_connect_enter", "syscalls/sys_enter_connect", "connect", 0 },
	{ "handle_connect_exit", "syscalls/sys_exit_connect",
	    "connect result", 0 },
	{ "handle_sendto", "syscalls/sys_enter_sendto", "udp sendto", 0 },
	{ "handle_openat_enter", "syscalls/sys_enter_openat", "openat", 0 },
	{ "handle_openat_exit", "syscalls/sys_exit_openat", "openat", 0 },
	{ "handle_openat2_enter", "syscalls/sys_enter_openat2", "openat2", 0 },
	{ "handle_openat2_exit", "syscalls/sys_exit_openat2", "openat2", 0 },
	{ "handle_creat_enter", "syscalls/sys_enter_creat", "creat", 0 },
	{ "handle_creat_exit", "syscalls/sys_exit_creat", "creat", 0 },
	{ "handle_ptrace", "syscalls/sys_enter_ptrace", "ptrace", 0 },
	{ "handle_memfd", "syscalls/sys_enter_memfd_create", "memfd_create",
	    0 },
	{ "handle_module", "module/module_load", "module load", 0 },
};
#define NHOOKS	(sizeof(hooks) / sizeof(hooks[0]))

struct ebpf {
	struct pk_engine	*e;
	const struct pk_config	*cfg;
	struct proc_bpf		*skel;
	struct ring_buffer	*rb;
	struct bpf_link		*links[NHOOKS];
	int			 nattached;
	struct pk_procdet	*det;
	struct pk_hasher	*hasher;
	struct pk_iocset	*ioc;
	int64_t			 mono_to_wall;	/* us to add */
	int			 budget, handled;
	uint64_t		 records, bad[PK_PEV__NERR];
	uint64_t		 next_health, health_reports;
	uint64_t		 last_lost, last_limited;
	FILE			*record;	/* PICKET_EBPF_RECORD */
};

/* ---- libbpf messages: kept for the one line we log --------------------- */

static char last_libbpf[256];

static int
libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (n == 0)
		return 0;
	if (level != LIBBPF_DEBUG)
		pk_strlcpy(last_libbpf, line, sizeof(last_libbpf));
	if (level == LIBBPF_WARN)
		log_debug("libbpf: %s", line);
	return 0;
}

/* ---- requirements ------------------------------------------------------ */

/* Effective capability bit from /proc/self/status. */
static int
have_cap(int bit)
{
	char line[256];
	unsigned long long v = 0;
	FILE *fp;
	int found = 0;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "CapEff:", 7) == 0) {
			found = sscanf(line + 7, "%llx", &v) == 1;
			break;
		}
	fclose(fp);
	return found && (v >> bit) & 1;
}

static int
privileged(void)
{
	return have_cap(CAP_SYS_ADMIN_BIT) ||
	    (have_cap(CAP_BPF_BIT) && have_cap(CAP_PERFMON_BIT));
}

static int
tp_exists(const char *tp)
{
	char path[256];
	struct stat sb;

	snprintf(path, sizeof(path), TRACEFS "/events/%s", tp);
	return stat(path, &sb) == 0;
}

/* tracefs mounted, or mounted now; -1 with a reason otherwise. */
static int
ensure_tracefs(int may_mount, char *why, size_t len)
{
	struct stat sb;

	if (stat(TRACEFS "/events", &sb) == 0)
		return 0;
	if (may_mount && mount("nodev", TRACEFS, "tracefs", 0, NULL) == 0 &&
	    stat(TRACEFS "/events", &sb) == 0) {
		log_info("ebpf: mounted tracefs on " TRACEFS);
		return 0;
	}
	snprintf(why, len, "tracefs is not mounted on " TRACEFS
	    " and could not be mounted (%s); run: mount -t tracefs nodev "
	    TRACEFS, strerror(errno));
	return -1;
}

static int
requirements(char *why, size_t len, int may_mount)
{
	struct stat sb;

	if (stat(BTF_PATH, &sb) != 0) {
		snprintf(why, len, "the kernel has no BTF (" BTF_PATH
		    " missing): CO-RE programs cannot load");
		return -1;
	}
	if (!privileged()) {
		snprintf(why, len, "not permitted to load BPF programs: needs "
		    "root, or CAP_BPF with CAP_PERFMON");
		return -1;
	}
	return ensure_tracefs(may_mount, why, len);
}

static int
ebpf_available(const struct pk_config *cfg, int offline, char *why,
    size_t whylen)
{
	if (!cfg->process.enabled) {
		snprintf(why, whylen, "disabled ([process] enabled = no)");
		return -1;
	}
	if (offline) {
		snprintf(why, whylen, "process events are live only");
		return -1;
	}
	/* No side effects here: a missing tracefs is mounted by open(),
	 * which reports if that fails. */
	if (requirements(why, whylen, 0) == 0 || strstr(why, "tracefs"))
		return 0;
	return -1;
}

/* ---- loading ----------------------------------------------------------- */

/* The literal part of each persistence pattern, for the kernel filter. */
static int
fill_prefixes(struct proc_bpf *skel, const char *patterns, int write)
{
	const char *s = patterns, *e, *star;
	struct pk_prefix p;
	uint32_t i = 0;
	size_t n;

	while (s != NULL && *s != '\0' && i < PK_PREFIX_MAX) {
		e = strchr(s, ',');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		while (n > 0 && *s == ' ') {
			s++;
			n--;
		}
		while (n > 0 && s[n - 1] == ' ')
			n--;
		star = memchr(s, '*', n);
		if (star != NULL)
			n = (size_t)(star - s);
		if (n > PK_PREFIX_LEN)
			n = PK_PREFIX_LEN;	/* shorter = more permissive */
		if (n == 0) {
			s = "/";	/* a leading "*": filter in user space */
			n = 1;
		}
		memset(&p, 0, sizeof(p));
		memcpy(p.s, s, n);
		p.len = (uint32_t)n;
		if (write && bpf_map__update_elem(skel->maps.prefixes, &i,
		    sizeof(i), &p, sizeof(p), BPF_ANY) != 0)
			return -1;
		i++;
		s = e != NULL ? e + 1 : NULL;
	}
	return (int)i;
}

static struct bpf_program *
find_prog(struct proc_bpf *skel, const char *name)
{
	return bpf_object__find_program_by_name(skel->obj, name);
}

/*
 * Open and load the skeleton with the hooks this kernel has.  On failure
 * why says which step and, for the verifier, which program.
 */
static struct proc_bpf *
load_skel(const struct pk_config *cfg, int *present, char *why, size_t len)
{
	struct proc_bpf *skel;
	struct bpf_program *prog;
	size_t i, rb;
	int np;

	libbpf_set_print(libbpf_print);
	last_libbpf[0] = '\0';
	if ((skel = proc_bpf__open()) == NULL) {
		snprintf(why, len, "cannot open the BPF object: %s",
		    strerror(errno));
		return NULL;
	}
	skel->rodata->agent_tgid = (uint32_t)getpid();
	skel->rodata->rate_limit = (uint32_t)cfg->process.rate_limit;
	skel->rodata->argv_max = (uint32_t)PK_MIN(cfg->process.argv_bytes,
	    (uint64_t)PK_EV_ARGV_MAX - 1);
	/* A ring buffer's size is a power of two and whole pages. */
	for (rb = (size_t)sysconf(_SC_PAGESIZE); rb < cfg->process.ring_size &&
	    rb < (size_t)1 << 30; rb <<= 1)
		;
	if (bpf_map__set_max_entries(skel->maps.rb, (uint32_t)rb) != 0) {
		snprintf(why, len, "cannot size the ring buffer: %s",
		    strerror(errno));
		proc_bpf__destroy(skel);
		return NULL;
	}
	np = fill_prefixes(skel, cfg->process.persistence_paths, 0);
	skel->rodata->nprefix = (uint32_t)(np > 0 ? np : 0);
	for (i = 0; i < NHOOKS; i++) {
		present[i] = tp_exists(hooks[i].tp);
		if (present[i])
			continue;
		if ((prog = find_prog(skel, hooks[i].prog)) != NULL)
			bpf_program__set_autoload(prog, false);
		if (hooks[i].required) {
			snprintf(why, len, "tracepoint %s is missing on this "
			    "kernel", hooks[i].tp);
			proc_bpf__destroy(skel);
			return NULL;
		}
	}
	if (proc_bpf__load(skel) != 0) {
		int err = errno;

		/* libbpf names the program it was loading last */
		snprintf(why, len, "the kernel refused the BPF programs "
		    "(%s): %s", strerror(err), last_libbpf[0] ? last_libbpf :
		    "no detail");
		proc_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* ---- records ----------------------------------------------------------- */

static int
on_record(void *ctx, void *data, size_t size)
{
	struct ebpf *c = ctx;
	struct pk_pev ev;
	int r;

	c->records++;
	if (c->record != NULL) {
		uint32_t n = (uint32_t)size;

		fwrite(&n, sizeof(n), 1, c->record);
		fwrite(data, size, 1, c->record);
	}
	r = pk_pev_decode(data, size, &ev);
	if (r != PK_PEV_OK) {
		c->bad[-r]++;
		if (c->bad[-r] == 1)
			log_warnx("ebpf: bad record (%s); counted from now on",
			    pk_pev_strerror(r));
	} else {
		const struct pk_engine_proc_tap *tap;
		uint64_t ts = (uint64_t)((int64_t)(ev.ts_ns / 1000) +
		    c->mono_to_wall);

		pk_procdet_event(c->det, &ev, ts);
		/* proc_trace (agent/task_exec.c): the event and the entry
		 * as the detections left it */
		if ((tap = pk_engine_proc_tap(c->e)) != NULL &&
		    tap->event != NULL)
			tap->event(tap->arg, &ev, pk_proc_find(
			    pk_procdet_table(c->det), ev.pid), ts);
	}
	if (++c->handled >= c->budget)
		return BUDGET_STOP;
	return 0;
}

static int
hash_request(void *arg, const struct pk_proc *p, uint8_t out[32])
{
	struct ebpf *c = arg;

	return pk_hasher_request(c->hasher, &p->key, p->pid, p->exe, out);
}

static void
drain_hashes(struct ebpf *c)
{
	struct pk_hres r;
	int n = 0;

	const struct pk_engine_proc_tap *tap;

	while (n++ < PK_HASH_QUEUE && pk_hasher_result(c->hasher, &r) == 1) {
		pk_procdet_hash(c->det, &r.key, r.state, r.sha256, pk_now_us());
		if ((tap = pk_engine_proc_tap(c->e)) != NULL &&
		    tap->hash != NULL)
			tap->hash(tap->arg, &r.key, r.state, r.sha256);
	}
}

static void ebpf_close(void *st);

static void *
ebpf_open(struct pk_engine *e, const struct pk_config *cfg,
    const char *source, char *err, size_t errlen)
{
	int present[NHOOKS];
	struct ebpf *c;
	size_t i;
	int problems = 0, seeded;

	if (source != NULL) {
		snprintf(err, errlen, "process events are live only");
		return NULL;
	}
	if (requirements(err, errlen, 1) != 0)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->e = e;
	c->cfg = cfg;
	/*
	 * A developer's aid: every raw record, as a 4-byte length (host
	 * order) and the bytes, for the decoder's tests and fuzz seeds.
	 */
	if (getenv("PICKET_EBPF_RECORD") != NULL &&
	    (c->record = fopen(getenv("PICKET_EBPF_RECORD"), "we")) == NULL)
		log_warn("ebpf: PICKET_EBPF_RECORD");
	if ((c->skel = load_skel(cfg, present, err, errlen)) == NULL)
		goto fail;
	if (fill_prefixes(c->skel, cfg->process.persistence_paths, 1) < 0) {
		snprintf(err, errlen, "cannot fill the prefix map: %s",
		    strerror(errno));
		goto fail;
	}
	if (cfg->ioc.enabled)
		c->ioc = pk_ioc_load(cfg, NULL, &problems);
	if ((c->det = pk_procdet_new(e, cfg, c->ioc)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((c->hasher = pk_hasher_new(cfg->process.hash_max_size, err,
	    errlen)) == NULL)
		goto fail;
	pk_procdet_set_hasher(c->det, hash_request, c);
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.rb), on_record, c,
	    NULL);
	if (c->rb == NULL) {
		snprintf(err, errlen, "cannot open the ring buffer: %s",
		    strerror(errno));
		goto fail;
	}
	for (i = 0; i < NHOOKS; i++) {
		struct bpf_program *prog = find_prog(c->skel, hooks[i].prog);

		if (!present[i]) {
			log_info("ebpf: hook %s skipped: tracepoint %s not in "
			    "this kernel", hooks[i].what, hooks[i].tp);
			continue;
		}
		if (prog == NULL ||
		    (c->links[i] = bpf_program__attach(prog)) == NULL) {
			if (hooks[i].required) {
				snprintf(err, errlen, "cannot attach %s to "
				    "%s: %s", hooks[i].prog, hooks[i].tp,
				    strerror(errno));
				goto fail;
			}
			log_warnx("ebpf: hook %s (%s) not attached: %s",
			    hooks[i].what, hooks[i].tp, strerror(errno));
			continue;
		}
		c->nattached++;
	}
	/* Attach first, then seed: a process started in between is seen
	 * by both, never by neither. */
	c->mono_to_wall = (int64_t)pk_now_us() - (int64_t)pk_mono_us();
	seeded = pk_proctable_seed(pk_procdet_table(c->det), "/proc",
	    pk_now_us());
	pk_procdet_hash_all(c->det);
	log_info("ebpf: %d of %zu hooks attached, %d processes from /proc%s",
	    c->nattached, NHOOKS, seeded, c->ioc != NULL ?
	    ", executable hashes checked against the IOC lists" : "");
	return c;
fail:
	ebpf_close(c);
	return NULL;
}

static int
ebpf_fds(void *st, int *fds, int max)
{
	struct ebpf *c = st;

	if (max < 2)
		return 0;
	fds[0] = ring_buffer__epoll_fd(c->rb);
	fds[1] = pk_hasher_fd(c->hasher);
	return 2;
}

static int
ebpf_poll(void *st, int budget)
{
	struct ebpf *c = st;
	int r;

	drain_hashes(c);
	c->budget = budget > 0 ? budget : 1;
	c->handled = 0;
	r = ring_buffer__consume(c->rb);
	if (r < 0 && r != BUDGET_STOP) {
		log_warnx("ebpf: ring buffer: %s", strerror(-r));
		return PK_COLL_ERROR;
	}
	return c->handled;
}

/*
 * SIGHUP: the executable hashes are checked against the reloaded [ioc]
 * lists (the engine reloaded its own copy for the network side).  A
 * list that cannot be read whole keeps the running set, as the engine
 * would have refused the reload for it.
 */
static void
ebpf_reload(void *st, const struct pk_config *cfg)
{
	struct ebpf *c = st;
	struct pk_iocset *set = NULL;
	int problems = 0;

	if (cfg->ioc.enabled) {
		set = pk_ioc_load(cfg, NULL, &problems);
		if (set == NULL) {
			log_warnx("ebpf: IOC lists not reloaded: out of "
			    "memory; keeping the running ones");
			return;
		}
	}
	pk_procdet_set_ioc(c->det, set);
	pk_iocset_free(c->ioc);
	c->ioc = set;
	log_info("ebpf: executable hashes now checked against %s%s",
	    set != NULL ? "the reloaded IOC lists" : "no IOC list",
	    problems > 0 ? " (with problems, logged above)" : "");
}

static uint64_t
ebpf_recall(void *st)
{
	struct ebpf *c = st;

	return c->handled > 0 ? RECALL_US : 0;
}

/* Sum of one counter over every CPU and every event type. */
static void
read_counters(struct ebpf *c, uint64_t sum[PK_CNT_SLOTS])
{
	int ncpu = libbpf_num_possible_cpus(), k, cpu;
	uint64_t *vals;

	memset(sum, 0, PK_CNT_SLOTS * sizeof(sum[0]));
	if (ncpu <= 0 || (vals = calloc((size_t)ncpu, sizeof(*vals))) == NULL)
		return;
	for (k = 0; k < PK_CNT_SLOTS; k++) {
		uint32_t key = (uint32_t)k;

		if (bpf_map__lookup_elem(c->skel->maps.counters, &key,
		    sizeof(key), vals, (size_t)ncpu * sizeof(*vals), 0) != 0)
			continue;
		for (cpu = 0; cpu < ncpu; cpu++)
			sum[k] += vals[cpu];
	}
	free(vals);
}

struct health {
	uint64_t	 lost[PK_EV__MAX], limited[PK_EV__MAX];
};

static void
health_details(struct json *j, const void *arg)
{
	const struct health *h = arg;
	int i;

	json_obj_begin(j, "lost");
	for (i = 1; i < PK_EV__MAX; i++)
		if (h->lost[i] > 0)
			json_u64(j, pk_pev_type_name(i), h->lost[i]);
	json_obj_end(j);
	json_obj_begin(j, "rate_limited");
	for (i = 1; i < PK_EV__MAX; i++)
		if (h->limited[i] > 0)
			json_u64(j, pk_pev_type_name(i), h->limited[i]);
	json_obj_end(j);
}

/* A health report when records were lost or limited since the last. */
static void
ebpf_health(struct ebpf *c, uint64_t now)
{
	uint64_t sum[PK_CNT_SLOTS], lost = 0, limited = 0;
	struct pk_indicator ind;
	struct health h;
	char msg[256];
	int i;

	read_counters(c, sum);
	memset(&h, 0, sizeof(h));
	for (i = 1; i < PK_EV__MAX; i++) {
		h.lost[i] = sum[i * PK_CNT__N + PK_CNT_LOST];
		h.limited[i] = sum[i * PK_CNT__N + PK_CNT_LIMITED];
		lost += h.lost[i];
		limited += h.limited[i];
	}
	if (lost == c->last_lost && limited == c->last_limited)
		return;
	pk_indicator_health(&ind, "process", "picket.health.process",
	    "Process collector health");
	ind.severity = lost > c->last_lost ? PK_SEV_MEDIUM : PK_SEV_LOW;
	snprintf(msg, sizeof(msg), "process events: %llu lost (ring buffer "
	    "full), %llu dropped by the per-process rate limit, in all",
	    (unsigned long long)lost, (unsigned long long)limited);
	ind.message = msg;
	ind.first_seen_us = ind.last_seen_us = now;
	ind.count = 1 + (lost - c->last_lost) + (limited - c->last_limited);
	pk_indicator_fingerprint(&ind, "ebpf", 4);
	ind.write_details = health_details;
	ind.details_arg = &h;
	pk_engine_emit(c->e, &ind);
	c->last_lost = lost;
	c->last_limited = limited;
	c->health_reports++;
}

static void
ebpf_tick(void *st, uint64_t now_us)
{
	struct ebpf *c = st;

	/* the two clocks drift apart (NTP steps): follow */
	c->mono_to_wall = (int64_t)pk_now_us() - (int64_t)pk_mono_us();
	drain_hashes(c);
	pk_procdet_tick(c->det, now_us);
	if (c->next_health == 0 || now_us >= c->next_health) {
		if (c->next_health != 0)
			ebpf_health(c, now_us);
		c->next_health = now_us + HEALTH_US;
	}
}

static void
ebpf_stats(void *st, FILE *fp)
{
	struct ebpf *c = st;
	uint64_t sum[PK_CNT_SLOTS];
	int i;

	read_counters(c, sum);
	fprintf(fp, "process.hooks_attached %d\n", c->nattached);
	fprintf(fp, "process.records %llu\n", (unsigned long long)c->records);
	for (i = 1; i < PK_PEV__NERR; i++)
		if (c->bad[i] > 0)
			fprintf(fp, "process.bad_records.%d %llu\n", i,
			    (unsigned long long)c->bad[i]);
	for (i = 1; i < PK_EV__MAX; i++) {
		fprintf(fp, "process.kernel.%s.sent %llu\n",
		    pk_pev_type_name(i),
		    (unsigned long long)sum[i * PK_CNT__N + PK_CNT_SENT]);
		fprintf(fp, "process.kernel.%s.lost %llu\n",
		    pk_pev_type_name(i),
		    (unsigned long long)sum[i * PK_CNT__N + PK_CNT_LOST]);
		fprintf(fp, "process.kernel.%s.rate_limited %llu\n",
		    pk_pev_type_name(i),
		    (unsigned long long)sum[i * PK_CNT__N + PK_CNT_LIMITED]);
	}
	fprintf(fp, "process.health_reports %llu\n",
	    (unsigned long long)c->health_reports);
	pk_procdet_stats(c->det, fp);
	pk_hasher_stats(c->hasher, fp);
}

static void
ebpf_close(void *st)
{
	struct ebpf *c = st;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NHOOKS; i++)
		bpf_link__destroy(c->links[i]);
	if (c->rb != NULL) {
		/* what is already in the ring is analysed before the flush */
		c->budget = 1 << 30;
		ring_buffer__consume(c->rb);
		ring_buffer__free(c->rb);
	}
	if (c->det != NULL) {
		drain_hashes(c);
		pk_procdet_flush(c->det, pk_now_us());
	}
	pk_hasher_free(c->hasher);
	pk_procdet_free(c->det);
	pk_iocset_free(c->ioc);
	proc_bpf__destroy(c->skel);
	if (c->record != NULL)
		fclose(c->record);
	free(c);
}

/* ---- picketd -n -------------------------------------------------------- */

int
pk_ebpf_check(FILE *out)
{
	static struct pk_config cfg;	/* defaults: the prefix filter */
	int present[NHOOKS], n = 0, ok;
	struct proc_bpf *skel = NULL;
	struct stat sb;
	char why[512];
	size_t i;

	pk_config_defaults(&cfg);
	fprintf(out, "ebpf: kernel BTF: %s\n", stat(BTF_PATH, &sb) == 0 ?
	    "yes" : "no (" BTF_PATH " missing)");
	fprintf(out, "ebpf: privileges: %s\n", privileged() ? "yes" :
	    "no (needs root, or CAP_BPF with CAP_PERFMON)");
	fprintf(out, "ebpf: tracefs: %s\n", stat(TRACEFS "/events", &sb) ==
	    0 ? "mounted" : "not mounted (the agent mounts it when it "
	    "starts as root)");
	ok = requirements(why, sizeof(why), 0) == 0;
	if (ok && (skel = load_skel(&cfg, present, why, sizeof(why))) == NULL)
		ok = 0;
	for (i = 0; i < NHOOKS; i++) {
		const char *verdict;

		if (!tp_exists(hooks[i].tp))
			verdict = stat(TRACEFS "/events", &sb) == 0 ?
			    "missing on this kernel" : "unknown (no tracefs)";
		else if (skel != NULL) {
			verdict = "would load (verifier passed)";
			n++;
		} else
			verdict = "tracepoint present, not loaded";
		fprintf(out, "ebpf: hook %-28s %-34s %s\n", hooks[i].what,
		    hooks[i].tp, verdict);
	}
	if (!ok)
		fprintf(out, "ebpf: the process collector would not run: %s\n",
		    why);
	else
		fprintf(out, "ebpf: %d of %zu hooks would load\n", n, NHOOKS);
	proc_bpf__destroy(skel);
	return ok ? 0 : -1;
}

/* After the privilege drop: the hashing thread (docs/privsep.md). */
static int
ebpf_start(void *st, char *err, size_t errlen)
{
	struct ebpf *c = st;

	return pk_hasher_start(c->hasher, err, errlen);
}

const struct pk_collector_ops pk_collector_ebpf = {
	.name = "ebpf",
	.description = "processes, their connections and file writes (Linux "
	    "eBPF tracepoints)",
	.section = "process",
	.available = ebpf_available,
	.open = ebpf_open,
	.start = ebpf_start,
	.fds = ebpf_fds,
	.poll = ebpf_poll,
	.recall_us = ebpf_recall,
	.tick = ebpf_tick,
	.reload = ebpf_reload,
	.stats = ebpf_stats,
	.close = ebpf_close,
};
