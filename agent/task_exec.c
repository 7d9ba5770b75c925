/*
 * task_exec.c - the collector's task runner (task_exec.h).  It trusts
 * nothing the shipper wrote: each task file is parsed again with
 * pk_task_parse and checked again against the policy before anything
 * runs.  pcap tasks are filters over the frames the engine already sees,
 * written with libpcap's own dump format; ioc_sweep and snapshot run on
 * one worker thread each (the collector has dropped its privileges before
 * any thread starts, docs/privsep.md) and write NDJSON rows.  Only the
 * main thread touches the status files and the task table; a worker
 * shares just its stop flag, its counters and its final word.
 * sensitivity and proc_trace need no thread: the first sets the engine's
 * thresholds and puts them back, the second is called by the eBPF
 * collector's events on this same thread (the engine's process tap).
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/engine.h"
#include "agent/task_agent.h"
#include "agent/task_exec.h"
#include "agent/task_sys.h"
#include "collectors/ebpf/evdecode.h"
#include "collectors/ebpf/proc.h"
#include "collectors/ebpf/proctable.h"
#include "common/json.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/pktime.h"
#include "common/util.h"
#include "transport/task.h"

#define TX_PATH_MAX	1024
#define TX_ROW_MAX	8192
#define TX_HASHCACHE	512
#define TX_FLUSH_US	100000ULL	/* pcap output flushed this often */
#define TX_TREE_SLOTS	(2 * PK_TX_TREE_MAX)	/* open addressing */
#define TX_SEED_MAX	65536	/* processes looked at in /proc */

/* One process of a proc_trace's tree. */
struct tnode {
	uint32_t		 pid;
	uint8_t			 used;		/* 1 member, 2 tombstone */
	uint8_t			 hash_wait;	/* its exec row lacked sha256 */
	struct pk_filekey	 key;		/* of that exec */
};

struct ptree {
	struct tnode	 slot[TX_TREE_SLOTS];
	uint32_t	 n, tombs;
	int		 full_noted;
};

struct ioc_sets {
	uint8_t		(*hashes)[32];
	size_t		 nhashes;
	struct pk_cidr	*cidrs;
	size_t		 ncidrs;
	char		(*domains)[PK_TASK_NAME_MAX + 1];
	size_t		 ndomains;
};

struct hashcache {
	char		path[PK_SYS_PATH_MAX];
	uint8_t		digest[32];
	int		ok;
};

struct xtask {
	uint64_t		 id;
	struct pk_task_spec	 spec;
	char			*src;		/* the task file, for the lists */
	uint64_t		 deadline_us;
	struct pk_task_status	 st;
	uint64_t		 status_us;	/* last written */
	int			 dirty;
	int			 cancel;
	/* pcap */
	pcap_t			*dead;
	struct bpf_program	 prog;
	int			 have_prog;
	pcap_dumper_t		*dump;
	int			 linktype;
	uint64_t		 flush_us;
	const char		*why;		/* the cap that ended it */
	/* worker (ioc_sweep, snapshot) */
	pthread_t		 th;
	int			 have_th;
	int			 stop;		/* main -> worker (atomic) */
	int			 finished;	/* worker -> main (atomic) */
	uint64_t		 w_rows, w_bytes;	/* atomic */
	int			 w_state;
	char			 w_reason[PK_TASK_REASON_MAX + 1];
	FILE			*out;
	struct ioc_sets		 ioc;
	char			(*dns)[PK_TASK_NAME_MAX + 1];
	size_t			 ndns;
	struct hashcache	*hc;
	size_t			 nhc;
	uint64_t		 max_rows, max_bytes;
	uint64_t		 wall_deadline_us;
	/* proc_trace */
	struct ptree		*tree;
	/* sensitivity */
	uint64_t		 sens_start_us;
	uint64_t		 sens_ind;	/* engine indicators at start */
	char			 sens_desc[400];
};

struct pk_texec {
	char			 dir[TX_PATH_MAX];
	struct pk_task_policy	 pol;
	int			 linktype;
	uint32_t		 snaplen;
	void			(*notify)(void *, uint64_t);
	void			*notify_arg;
	struct xtask		*t[PK_TX_MAX];
	int			 nt;
	int			 npcap;		/* pcap tasks in t[] */
	char			 dns[PK_TX_DNS_RING][PK_TASK_NAME_MAX + 1];
	size_t			 dns_head, dns_n;
	struct pk_texec_stats	 stats;
	struct pk_engine	*engine;
	char			 proc_why[256];	/* "" = events available */
	int			 ntrace;	/* proc_trace tasks in t[] */
	struct xtask		*sens;		/* the sensitivity task */
};

static uint64_t
mono_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

struct pk_texec *
pk_texec_new(const struct pk_texec_conf *c)
{
	struct pk_texec *te;

	if ((te = calloc(1, sizeof(*te))) == NULL)
		return NULL;
	if (snprintf(te->dir, sizeof(te->dir), "%s/%s", c->spool_dir,
	    PK_TASKS_SUBDIR) >= (int)sizeof(te->dir)) {
		free(te);
		return NULL;
	}
	if (mkdir(te->dir, 0700) != 0 && errno != EEXIST) {
		log_warn("tasks: cannot create %s", te->dir);
		free(te);
		return NULL;
	}
	te->pol = c->pol;
	te->notify = c->notify;
	te->notify_arg = c->notify_arg;
	te->linktype = c->linktype;
	te->snaplen = c->snaplen ? c->snaplen : 262144;
	te->engine = c->engine;
	if (c->proc_why != NULL)
		pk_strlcpy(te->proc_why, c->proc_why, sizeof(te->proc_why));
	return te;
}

/* ------------------------------------------------------------ status */

static int
write_status(struct pk_texec *te, struct xtask *x, uint64_t now)
{
	char buf[PK_TSTATUS_MAX];
	size_t len;

	len = pk_task_status_encode(&x->st, buf, sizeof(buf));
	x->status_us = now;
	x->dirty = 0;
	if (len == 0 || pk_tfile_write(te->dir, x->id, "state", buf,
	    len) != 0) {
		te->stats.file_errors++;
		return -1;
	}
	if (te->notify != NULL)
		te->notify(te->notify_arg, x->id);
	return 0;
}

/* A state for a task that never ran (refused, cancelled, failed). */
static void
file_state(struct pk_texec *te, uint64_t id, int state, const char *reason)
{
	struct xtask x;

	memset(&x, 0, sizeof(x));
	x.id = id;
	x.st.state = state;
	pk_strlcpy(x.st.reason, reason, sizeof(x.st.reason));
	(void)write_status(te, &x, 0);
	if (state == PK_TS_REFUSED)
		te->stats.refused++;
	else if (state == PK_TS_FAILED)
		te->stats.failed++;
	else if (state == PK_TS_CANCELLED)
		te->stats.cancelled++;
	log_info("task %llu: %s%s%s", (unsigned long long)id,
	    pk_task_state_name(state), reason[0] ? ": " : "", reason);
}

static void
free_sets(struct ioc_sets *s)
{
	free(s->hashes);
	free(s->cidrs);
	free(s->domains);
	memset(s, 0, sizeof(*s));
}

static void
xtask_free(struct xtask *x)
{
	if (x == NULL)
		return;
	if (x->dump != NULL)
		pcap_dump_close(x->dump);
	if (x->have_prog)
		pcap_freecode(&x->prog);
	if (x->dead != NULL)
		pcap_close(x->dead);
	if (x->out != NULL)
		(void)fclose(x->out);
	free_sets(&x->ioc);
	free(x->dns);
	free(x->hc);
	free(x->tree);
	free(x->src);
	free(x);
}

static void sens_end(struct pk_texec *, struct xtask *, int, char *, size_t,
    uint64_t);

/* Take x out of the table; its files stay for the shipper. */
static void
finish(struct pk_texec *te, int i, int state, const char *reason,
    uint64_t now)
{
	struct xtask *x = te->t[i];
	char summary[PK_TASK_REASON_MAX + 1];

	if (x->have_th) {
		__atomic_store_n(&x->stop, 1, __ATOMIC_RELEASE);
		(void)pthread_join(x->th, NULL);
		x->have_th = 0;
		x->st.rows = __atomic_load_n(&x->w_rows, __ATOMIC_ACQUIRE);
		x->st.bytes = __atomic_load_n(&x->w_bytes, __ATOMIC_ACQUIRE);
	}
	if (x->dump != NULL) {
		(void)pcap_dump_flush(x->dump);
		pcap_dump_close(x->dump);
		x->dump = NULL;
		te->npcap--;
	}
	if (x->tree != NULL && --te->ntrace == 0 && te->engine != NULL)
		pk_engine_set_proc_tap(te->engine, NULL);
	if (x->out != NULL) {
		(void)fflush(x->out);
		(void)fclose(x->out);
		x->out = NULL;
	}
	if (x == te->sens) {
		sens_end(te, x, state, summary, sizeof(summary), now);
		if (state == PK_TS_DONE && reason[0] == '\0')
			reason = summary;
	}
	/* The final size is what the file holds now. */
	{
		int64_t sz = pk_tfile_size(te->dir, x->id, "out");

		x->st.bytes = sz > 0 ? (uint64_t)sz : 0;
	}
	x->st.state = state;
	pk_strlcpy(x->st.reason, reason, sizeof(x->st.reason));
	(void)write_status(te, x, now);
	switch (state) {
	case PK_TS_DONE:	te->stats.done++; break;
	case PK_TS_CANCELLED:	te->stats.cancelled++; break;
	default:		te->stats.failed++; break;
	}
	log_info("task %llu (%s): %s, %llu bytes, %llu rows%s%s",
	    (unsigned long long)x->id, pk_task_type_name(x->spec.type),
	    pk_task_state_name(state), (unsigned long long)x->st.bytes,
	    (unsigned long long)x->st.rows, reason[0] ? ": " : "", reason);
	te->t[i] = te->t[--te->nt];
	te->t[te->nt] = NULL;
	xtask_free(x);
}

/* ------------------------------------------------------------ pcap */

static FILE *
open_out(struct pk_texec *te, uint64_t id)
{
	char path[TX_PATH_MAX];
	FILE *fp;
	int fd;

	if (pk_tfile_path(path, sizeof(path), te->dir, id, "out") != 0 ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return NULL;
	if ((fp = fdopen(fd, "w")) == NULL)
		(void)close(fd);
	return fp;
}

static int
pcap_begin(struct pk_texec *te, struct xtask *x, char *reason, size_t len)
{
	FILE *fp;

	x->linktype = te->linktype;
	if ((x->dead = pcap_open_dead(x->linktype, (int)te->snaplen)) ==
	    NULL) {
		snprintf(reason, len, "libpcap: cannot make a handle");
		return -1;
	}
	if (pcap_compile(x->dead, &x->prog, x->spec.filter, 1,
	    PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(reason, len, "filter does not compile: %.400s",
		    pcap_geterr(x->dead));
		return -1;
	}
	x->have_prog = 1;
	if ((fp = open_out(te, x->id)) == NULL) {
		snprintf(reason, len, "cannot create the result file");
		return -1;
	}
	if ((x->dump = pcap_dump_fopen(x->dead, fp)) == NULL) {
		(void)fclose(fp);
		snprintf(reason, len, "libpcap: %.400s", pcap_geterr(x->dead));
		return -1;
	}
	(void)pcap_dump_flush(x->dump);
	x->st.bytes = 24;		/* the file header */
	te->npcap++;
	return 0;
}

void
pk_texec_frame(void *arg, int linktype, const uint8_t *frame,
    uint32_t caplen, uint32_t wirelen, uint64_t ts_us)
{
	struct pk_texec *te = arg;
	struct pcap_pkthdr h;
	struct xtask *x;
	int i;

	te->linktype = linktype;
	if (te->npcap == 0)
		return;
	te->stats.frames_seen++;
	h.ts.tv_sec = (time_t)(ts_us / 1000000);
	h.ts.tv_usec = (suseconds_t)(ts_us % 1000000);
	h.caplen = caplen;
	h.len = wirelen;
	for (i = 0; i < te->nt; i++) {
		x = te->t[i];
		if (x->dump == NULL || x->cancel)
			continue;
		if (x->linktype != linktype) {
			te->stats.frames_linktype++;
			continue;
		}
		if (pcap_offline_filter(&x->prog, &h, frame) == 0)
			continue;
		if (x->why != NULL)
			continue;
		if (x->st.bytes + 16 + caplen > x->spec.max_bytes) {
			x->why = "max_bytes reached";	/* the tick ends it */
			continue;
		}
		pcap_dump((u_char *)x->dump, &h, frame);
		x->st.rows++;
		x->st.bytes += 16 + caplen;
		x->dirty = 1;
		te->stats.frames_matched++;
		if (x->st.rows >= x->spec.max_packets)
			x->why = "max_packets reached";
	}
}

/* ------------------------------------------------------------ workers */

static int
stopped(struct xtask *x)
{
	return __atomic_load_n(&x->stop, __ATOMIC_ACQUIRE) ||
	    mono_us() >= x->wall_deadline_us;
}

/* Append one JSON row; 0, or 1 when a bound says stop. */
static int
emit(struct xtask *x, struct json *j)
{
	long n = json_finish(j);

	if (n < 0)
		return 0;		/* a row too large: skipped */
	if (x->w_rows >= x->max_rows) {
		pk_strlcpy(x->w_reason, "cut at max_rows", sizeof(x->w_reason));
		return 1;
	}
	if (x->w_bytes + (uint64_t)n + 1 > x->max_bytes) {
		pk_strlcpy(x->w_reason, "cut at max_bytes",
		    sizeof(x->w_reason));
		return 1;
	}
	if (fwrite(j->buf, 1, (size_t)n, x->out) != (size_t)n ||
	    fputc('\n', x->out) == EOF || fflush(x->out) != 0) {
		pk_strlcpy(x->w_reason, "cannot write the result",
		    sizeof(x->w_reason));
		x->w_state = PK_TS_FAILED;
		return 1;
	}
	__atomic_store_n(&x->w_bytes, x->w_bytes + (uint64_t)n + 1,
	    __ATOMIC_RELEASE);
	__atomic_store_n(&x->w_rows, x->w_rows + 1, __ATOMIC_RELEASE);
	return 0;
}

static void
hex32(const uint8_t d[32], char out[65])
{
	static const char hx[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[64] = '\0';
}

/* The digest of a process's executable, cached by path. */
static int
exe_hash(struct xtask *x, const struct pk_sys_proc *p, uint8_t d[32])
{
	struct hashcache *h;
	size_t i;

	if (p->exe[0] == '\0')
		return -1;
	for (i = 0; i < x->nhc; i++)
		if (strcmp(x->hc[i].path, p->exe) == 0) {
			memcpy(d, x->hc[i].digest, 32);
			return x->hc[i].ok ? 0 : -1;
		}
	h = x->nhc < TX_HASHCACHE ? &x->hc[x->nhc] : NULL;
	if (pk_sys_exe_sha256(p->pid, d, &x->stop) != 0) {
		/* a failure may be the process ending: not cached */
		return -1;
	}
	if (h != NULL && strstr(p->exe, " (deleted)") == NULL) {
		pk_strlcpy(h->path, p->exe, sizeof(h->path));
		memcpy(h->digest, d, 32);
		h->ok = 1;
		x->nhc++;
	}
	return 0;
}

static int
sweep_proc(void *arg, const struct pk_sys_proc *p)
{
	struct xtask *x = arg;
	char row[TX_ROW_MAX], hex[65];
	uint8_t d[32];
	struct json j;
	size_t i;

	if (stopped(x))
		return 1;
	if (x->ioc.nhashes == 0 || exe_hash(x, p, d) != 0)
		return 0;
	for (i = 0; i < x->ioc.nhashes; i++)
		if (memcmp(d, x->ioc.hashes[i], 32) == 0)
			break;
	if (i == x->ioc.nhashes)
		return 0;
	hex32(d, hex);
	json_init(&j, row, sizeof(row));
	json_obj_begin(&j, NULL);
	json_str(&j, "kind", "hit", 0);
	json_str(&j, "list", "hash", 0);
	json_str(&j, "value", hex, 0);
	json_str(&j, "where", "process", 0);
	json_u64(&j, "pid", p->pid);
	json_u64(&j, "ppid", p->ppid);
	json_u64(&j, "uid", p->uid);
	json_str(&j, "comm", p->comm, 0);
	json_str(&j, "exe", p->exe, 0);
	json_str(&j, "cmdline", p->cmdline, 0);
	json_obj_end(&j);
	return emit(x, &j);
}

static void
sock_fields(struct json *j, const struct pk_sys_sock *s)
{
	char a[PK_ADDRSTRLEN];

	json_str(j, "proto", s->proto, 0);
	json_str(j, "state", s->state, 0);
	json_str(j, "local", pk_addr_format(&s->local, a, sizeof(a)), 0);
	json_u64(j, "lport", s->lport);
	json_str(j, "remote", pk_addr_format(&s->remote, a, sizeof(a)), 0);
	json_u64(j, "rport", s->rport);
	json_u64(j, "uid", s->uid);
	json_u64(j, "inode", s->inode);
	if (s->pid != 0)
		json_u64(j, "pid", s->pid);
}

static const struct pk_cidr *
cidr_hit(const struct xtask *x, const struct pk_addr *a)
{
	size_t i;

	for (i = 0; i < x->ioc.ncidrs; i++)
		if (pk_cidr_contains(&x->ioc.cidrs[i], a))
			return &x->ioc.cidrs[i];
	return NULL;
}

static int
sweep_sock(void *arg, const struct pk_sys_sock *s)
{
	struct xtask *x = arg;
	const struct pk_cidr *c;
	const char *side = "remote";
	char row[TX_ROW_MAX], a[PK_ADDRSTRLEN], v[PK_ADDRSTRLEN + 8];
	struct json j;

	if (stopped(x))
		return 1;
	/* a connection's peer, or the address a listener is bound to */
	if ((c = cidr_hit(x, &s->remote)) == NULL) {
		if ((c = cidr_hit(x, &s->local)) == NULL)
			return 0;
		side = "local";
	}
	snprintf(v, sizeof(v), "%s/%u", pk_addr_format(&c->net, a, sizeof(a)),
	    c->plen);
	json_init(&j, row, sizeof(row));
	json_obj_begin(&j, NULL);
	json_str(&j, "kind", "hit", 0);
	json_str(&j, "list", "address", 0);
	json_str(&j, "value", v, 0);
	json_str(&j, "where", "socket", 0);
	json_str(&j, "side", side, 0);
	sock_fields(&j, s);
	json_obj_end(&j);
	return emit(x, &j);
}

/* name equals d or ends in ".d" (both lower case). */
static int
domain_match(const char *name, const char *d)
{
	size_t n = strlen(name), m = strlen(d);

	if (n == m)
		return strcmp(name, d) == 0;
	return n > m && name[n - m - 1] == '.' && strcmp(name + n - m, d) == 0;
}

static int
sweep_dns(struct xtask *x)
{
	char row[TX_ROW_MAX];
	struct json j;
	size_t i, k;

	for (i = 0; i < x->ndns; i++) {
		for (k = 0; k < x->ioc.ndomains; k++)
			if (domain_match(x->dns[i], x->ioc.domains[k]))
				break;
		if (k == x->ioc.ndomains)
			continue;
		json_init(&j, row, sizeof(row));
		json_obj_begin(&j, NULL);
		json_str(&j, "kind", "hit", 0);
		json_str(&j, "list", "domain", 0);
		json_str(&j, "value", x->ioc.domains[k], 0);
		json_str(&j, "where", "dns", 0);
		json_str(&j, "name", x->dns[i], 0);
		json_obj_end(&j);
		if (emit(x, &j) != 0)
			return 1;
	}
	return 0;
}

static void *
sweep_main(void *arg)
{
	struct xtask *x = arg;

	x->w_state = PK_TS_DONE;
	if (x->ioc.nhashes > 0)
		(void)pk_sys_procs(sweep_proc, x);
	if (!stopped(x) && x->w_reason[0] == '\0' && x->ioc.ncidrs > 0)
		(void)pk_sys_sockets(sweep_sock, x);
	if (!stopped(x) && x->w_reason[0] == '\0' && x->ioc.ndomains > 0)
		(void)sweep_dns(x);
	if (x->w_reason[0] == '\0' && !__atomic_load_n(&x->stop,
	    __ATOMIC_ACQUIRE) && stopped(x))
		pk_strlcpy(x->w_reason, "cut at the time limit",
		    sizeof(x->w_reason));
	__atomic_store_n(&x->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int
snap_proc(void *arg, const struct pk_sys_proc *p)
{
	struct xtask *x = arg;
	char row[TX_ROW_MAX], hex[65];
	uint8_t d[32];
	struct json j;

	if (stopped(x))
		return 1;
	json_init(&j, row, sizeof(row));
	json_obj_begin(&j, NULL);
	json_str(&j, "kind", "process", 0);
	json_u64(&j, "pid", p->pid);
	json_u64(&j, "ppid", p->ppid);
	json_u64(&j, "uid", p->uid);
	json_str(&j, "comm", p->comm, 0);
	if (p->exe[0] != '\0')
		json_str(&j, "exe", p->exe, 0);
	if (exe_hash(x, p, d) == 0) {
		hex32(d, hex);
		json_str(&j, "sha256", hex, 0);
	}
	json_str(&j, "cmdline", p->cmdline, 0);
	json_obj_end(&j);
	return emit(x, &j);
}

static int
snap_sock(void *arg, const struct pk_sys_sock *s)
{
	struct xtask *x = arg;
	char row[TX_ROW_MAX];
	struct json j;

	if (stopped(x))
		return 1;
	json_init(&j, row, sizeof(row));
	json_obj_begin(&j, NULL);
	json_str(&j, "kind", "socket", 0);
	sock_fields(&j, s);
	json_obj_end(&j);
	return emit(x, &j);
}

static int
snap_module(void *arg, const struct pk_sys_module *m)
{
	struct xtask *x = arg;
	char row[TX_ROW_MAX];
	struct json j;

	if (stopped(x))
		return 1;
	json_init(&j, row, sizeof(row));
	json_obj_begin(&j, NULL);
	json_str(&j, "kind", "module", 0);
	json_str(&j, "name", m->name, 0);
	json_u64(&j, "size", m->size);
	json_u64(&j, "refs", m->refs);
	json_str(&j, "state", m->state, 0);
	json_obj_end(&j);
	return emit(x, &j);
}

static void *
snap_main(void *arg)
{
	struct xtask *x = arg;
	char row[256];
	struct json j;

	x->w_state = PK_TS_DONE;
	(void)pk_sys_procs(snap_proc, x);
	if (!stopped(x) && x->w_reason[0] == '\0')
		(void)pk_sys_sockets(snap_sock, x);
	if (!stopped(x) && x->w_reason[0] == '\0' &&
	    pk_sys_modules(snap_module, x) < 0) {
		json_init(&j, row, sizeof(row));
		json_obj_begin(&j, NULL);
		json_str(&j, "kind", "note", 0);
		json_str(&j, "what", "modules", 0);
		json_str(&j, "reason", "/proc/modules is not readable", 0);
		json_obj_end(&j);
		(void)emit(x, &j);
	}
	if (x->w_reason[0] == '\0' && !__atomic_load_n(&x->stop,
	    __ATOMIC_ACQUIRE) && stopped(x))
		pk_strlcpy(x->w_reason, "cut at the time limit",
		    sizeof(x->w_reason));
	__atomic_store_n(&x->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int
ioc_add(void *arg, int list, const char *entry)
{
	struct ioc_sets *s = arg;
	size_t i, n;

	switch (list) {
	case PK_TL_HASH:
		if (strlen(entry) != 64)
			return 0;	/* pk_task_parse checked it */
		for (i = 0; i < 32; i++) {
			unsigned v;

			if (sscanf(entry + 2 * i, "%2x", &v) != 1)
				return 0;
			s->hashes[s->nhashes][i] = (uint8_t)v;
		}
		s->nhashes++;
		break;
	case PK_TL_ADDRESS:
		if (pk_cidr_parse(entry, &s->cidrs[s->ncidrs]) == 0)
			s->ncidrs++;
		break;
	case PK_TL_DOMAIN:
		n = pk_strlcpy(s->domains[s->ndomains], entry,
		    sizeof(s->domains[0]));
		if (n >= sizeof(s->domains[0]))
			return 0;
		for (i = 0; i < n; i++)
			if (s->domains[s->ndomains][i] >= 'A' &&
			    s->domains[s->ndomains][i] <= 'Z')
				s->domains[s->ndomains][i] += 'a' - 'A';
		while (n > 0 && s->domains[s->ndomains][n - 1] == '.')
			s->domains[s->ndomains][--n] = '\0';
		if (n > 0)
			s->ndomains++;
		break;
	}
	return 0;
}

static int
worker_begin(struct pk_texec *te, struct xtask *x, uint64_t now,
    char *reason, size_t len)
{
	void *(*fn)(void *) = snap_main;
	size_t i, k;

	x->max_rows = x->spec.max_rows;
	x->max_bytes = x->spec.max_bytes;
	x->wall_deadline_us = now + PK_TX_SWEEP_MAX_S * 1000000ULL;
	if ((x->hc = calloc(TX_HASHCACHE, sizeof(*x->hc))) == NULL)
		goto nomem;
	if (x->spec.type == PK_TASK_IOC_SWEEP) {
		fn = sweep_main;
		x->ioc.hashes = calloc(x->spec.n_hashes + 1, 32);
		x->ioc.cidrs = calloc(x->spec.n_addresses + 1,
		    sizeof(*x->ioc.cidrs));
		x->ioc.domains = calloc(x->spec.n_domains + 1,
		    sizeof(*x->ioc.domains));
		if (x->ioc.hashes == NULL || x->ioc.cidrs == NULL ||
		    x->ioc.domains == NULL)
			goto nomem;
		(void)pk_task_ioc_each(&x->spec, ioc_add, &x->ioc);
		/* the names the engine saw, oldest first */
		if (te->dns_n > 0) {
			if ((x->dns = calloc(te->dns_n, sizeof(*x->dns))) ==
			    NULL)
				goto nomem;
			for (i = 0; i < te->dns_n; i++) {
				k = (te->dns_head + PK_TX_DNS_RING - te->dns_n +
				    i) % PK_TX_DNS_RING;
				memcpy(x->dns[i], te->dns[k], sizeof(x->dns[0]));
			}
			x->ndns = te->dns_n;
		}
	}
	if ((x->out = open_out(te, x->id)) == NULL) {
		snprintf(reason, len, "cannot create the result file");
		return -1;
	}
	if (pthread_create(&x->th, NULL, fn, x) != 0) {
		snprintf(reason, len, "cannot start a thread");
		return -1;
	}
	x->have_th = 1;
	return 0;
nomem:
	snprintf(reason, len, "out of memory");
	return -1;
}

/* ------------------------------------------------------------ sensitivity */

/*
 * The engine's thresholds at factor percent until the task ends; only
 * one such task at a time, so the values to put back are always the
 * configured ones (the detectors keep them: engine.h).
 */
static int
sens_begin(struct pk_texec *te, struct xtask *x, uint64_t now, char *reason,
    size_t len)
{
	if (te->sens != NULL) {
		snprintf(reason, len, "another sensitivity task is running");
		return -1;
	}
	if (te->engine == NULL) {
		snprintf(reason, len, "the detection engine is not available");
		return -1;
	}
	x->sens_start_us = now;
	x->sens_ind = pk_engine_stats(te->engine)->indicators;
	pk_engine_set_sensitivity(te->engine, x->spec.factor_pct, x->sens_desc,
	    sizeof(x->sens_desc));
	te->sens = x;
	log_info("task %llu (sensitivity): %u%% for %us: %s",
	    (unsigned long long)x->id, x->spec.factor_pct, x->spec.duration_s,
	    x->sens_desc);
	return 0;
}

/* Thresholds back to the configured values; summary for the done state. */
static void
sens_end(struct pk_texec *te, struct xtask *x, int state, char *summary,
    size_t len, uint64_t now)
{
	char back[400];
	uint64_t n;

	(void)state;
	n = pk_engine_stats(te->engine)->indicators - x->sens_ind;
	pk_engine_set_sensitivity(te->engine, 100, back, sizeof(back));
	te->sens = NULL;
	snprintf(summary, len, "thresholds were at %u%% for %llus (%.300s); "
	    "%llu indicator reports meanwhile", x->spec.factor_pct,
	    (unsigned long long)((now - x->sens_start_us + 500000) / 1000000),
	    x->sens_desc, (unsigned long long)n);
	log_info("task %llu (sensitivity): thresholds restored: %s",
	    (unsigned long long)x->id, back);
}

/* ------------------------------------------------------------ proc_trace */

static uint32_t
tree_hash(uint32_t pid)
{
	return (pid * 2654435761u) & (TX_TREE_SLOTS - 1);
}

static struct tnode *
tree_find(struct ptree *t, uint32_t pid)
{
	uint32_t i, k;

	if (pid == 0)
		return NULL;
	for (i = tree_hash(pid), k = 0; k < TX_TREE_SLOTS;
	    i = (i + 1) & (TX_TREE_SLOTS - 1), k++) {
		if (t->slot[i].used == 0)
			return NULL;
		if (t->slot[i].used == 1 && t->slot[i].pid == pid)
			return &t->slot[i];
	}
	return NULL;
}

/* Tombstones make probes long: rebuild in place when they pile up. */
static void
tree_rehash(struct ptree *t)
{
	struct tnode *old;
	uint32_t i, k;

	if ((old = malloc(sizeof(t->slot))) == NULL)
		return;
	memcpy(old, t->slot, sizeof(t->slot));
	memset(t->slot, 0, sizeof(t->slot));
	for (k = 0; k < TX_TREE_SLOTS; k++) {
		if (old[k].used != 1)
			continue;
		for (i = tree_hash(old[k].pid); t->slot[i].used != 0;
		    i = (i + 1) & (TX_TREE_SLOTS - 1))
			;
		t->slot[i] = old[k];
	}
	t->tombs = 0;
	free(old);
}

/* 1 added (or there already), 0 the tree is full. */
static int
tree_add(struct pk_texec *te, struct ptree *t, uint32_t pid)
{
	uint32_t i;

	if (pid == 0 || tree_find(t, pid) != NULL)
		return 1;
	if (t->n >= PK_TX_TREE_MAX) {
		te->stats.tree_full++;
		return 0;
	}
	if (t->n + t->tombs >= TX_TREE_SLOTS * 3 / 4)
		tree_rehash(t);
	for (i = tree_hash(pid); t->slot[i].used == 1;
	    i = (i + 1) & (TX_TREE_SLOTS - 1))
		;
	if (t->slot[i].used == 2)
		t->tombs--;
	memset(&t->slot[i], 0, sizeof(t->slot[i]));
	t->slot[i].pid = pid;
	t->slot[i].used = 1;
	t->n++;
	return 1;
}

static void
tree_del(struct ptree *t, struct tnode *n)
{
	n->used = 2;
	n->hash_wait = 0;
	t->n--;
	t->tombs++;
}

/* Append one row of a proc_trace (collector thread); 0, or 1 when a
 * bound ended the task (the tick finishes it). */
static int
trace_emit(struct pk_texec *te, struct xtask *x, struct json *j)
{
	long n = json_finish(j);

	if (x->why != NULL || x->out == NULL)
		return 1;
	if (n < 0)
		return 0;		/* cannot happen: every field is cut */
	if (x->st.rows >= x->spec.max_rows) {
		x->why = "cut at max_rows";
		return 1;
	}
	if (x->st.bytes + (uint64_t)n + 1 > x->spec.max_bytes) {
		x->why = "cut at max_bytes";
		return 1;
	}
	if (fwrite(j->buf, 1, (size_t)n, x->out) != (size_t)n ||
	    fputc('\n', x->out) == EOF) {
		x->why = "cannot write the result";
		te->stats.file_errors++;
		return 1;
	}
	x->st.rows++;
	x->st.bytes += (uint64_t)n + 1;
	x->dirty = 1;
	te->stats.proc_rows++;
	return 0;
}

static void
row_head(struct json *j, char *buf, size_t cap, const char *kind,
    uint64_t ts_us, uint32_t pid)
{
	char ts[40];

	json_init(j, buf, cap);
	json_obj_begin(j, NULL);
	json_str(j, "kind", kind, 0);
	json_str(j, "ts", pk_time_format(ts_us, ts, sizeof(ts)), 0);
	json_u64(j, "pid", pid);
}

/* One row, once, when the tree reached its cap. */
static void
tree_full(struct pk_texec *te, struct xtask *x, uint32_t pid, uint64_t ts)
{
	char row[512];
	struct json j;

	if (x->tree->full_noted)
		return;
	x->tree->full_noted = 1;
	row_head(&j, row, sizeof(row), "note", ts, pid);
	json_str(&j, "what", "tree_full", 0);
	json_u64(&j, "max", PK_TX_TREE_MAX);
	json_str(&j, "reason", "processes beyond the cap are not followed",
	    0);
	json_obj_end(&j);
	(void)trace_emit(te, x, &j);
}

static int
exe_equal(const char *path, size_t len, const char *exe)
{
	return len == strlen(exe) && memcmp(path, exe, len) == 0;
}

/* argv as an array: at most PK_TX_ARGV_MAX arguments, PK_TX_ARG_BYTES in
 * all; a cut says so. */
static void
argv_field(struct json *j, const char *argv, size_t len, int cut)
{
	size_t pos = 0, n = 0, bytes = 0, k;

	json_arr_begin(j, "argv");
	while (pos < len) {
		const char *a = argv + pos;
		const char *z = memchr(a, '\0', len - pos);
		size_t alen = z != NULL ? (size_t)(z - a) : len - pos;

		pos += alen + 1;
		if (n >= PK_TX_ARGV_MAX || bytes >= PK_TX_ARG_BYTES) {
			cut = 1;
			break;
		}
		k = PK_MIN(alen, PK_TX_ARG_BYTES - bytes);
		if (k < alen)
			cut = 1;
		json_strn(j, NULL, a, k, 0);
		bytes += k;
		n++;
	}
	json_arr_end(j);
	if (cut)
		json_bool(j, "argv_truncated", 1);
}

static void
addr_field(struct json *j, const char *key, const struct pk_addr *a)
{
	char s[PK_ADDRSTRLEN];

	if (a->family != 0)
		json_str(j, key, pk_addr_format(a, s, sizeof(s)), 0);
}

static void
trace_exec(struct pk_texec *te, struct xtask *x, struct tnode *tn,
    const struct pk_pev *ev, const struct pk_proc *p, uint64_t ts)
{
	char row[TX_ROW_MAX], hex[65];
	struct json j;

	row_head(&j, row, sizeof(row), "exec", ts, ev->pid);
	json_u64(&j, "ppid", ev->u.exec.ppid);
	json_u64(&j, "uid", ev->uid);
	json_u64(&j, "gid", ev->gid);
	json_str(&j, "comm", p != NULL ? p->comm : ev->comm, 0);
	json_strn(&j, "exe", ev->u.exec.path, ev->u.exec.path_len,
	    PK_TASK_PATH_MAX);
	if (ev->u.exec.fname_len != ev->u.exec.path_len ||
	    memcmp(ev->u.exec.fname, ev->u.exec.path, ev->u.exec.path_len))
		json_strn(&j, "filename", ev->u.exec.fname,
		    ev->u.exec.fname_len, 256);
	argv_field(&j, ev->u.exec.argv, ev->u.exec.argv_len,
	    (ev->u.exec.flags & PK_EXEC_ARGV_TRUNC) != 0);
	if (ev->u.exec.flags & PK_EXEC_DELETED)
		json_bool(&j, "deleted", 1);
	if (ev->u.exec.flags & PK_EXEC_MEMFD)
		json_bool(&j, "memfd", 1);
	tn->hash_wait = 0;
	if (p != NULL && p->hash_state == PK_HASH_DONE) {
		hex32(p->sha256, hex);
		json_str(&j, "sha256", hex, 0);
	} else if (p != NULL && p->hash_state == PK_HASH_PENDING) {
		/* a "hash" row follows when the hasher has it */
		tn->hash_wait = 1;
		tn->key = p->key;
	}
	json_obj_end(&j);
	(void)trace_emit(te, x, &j);
}

/* The event's comm, else the table's (an outcome in softirq has none). */
static void
comm_field(struct json *j, const struct pk_pev *ev, const struct pk_proc *p)
{
	if (ev->comm[0] != '\0')
		json_str(j, "comm", ev->comm, 0);
	else if (p != NULL && p->comm[0] != '\0')
		json_str(j, "comm", p->comm, 0);
}

static void
trace_connect(struct pk_texec *te, struct xtask *x, const struct pk_pev *ev,
    const struct pk_proc *p, uint64_t ts)
{
	static const char *const phase[] = { "?", "attempt", "ok", "fail" };
	char row[1024];
	struct json j;
	int ph = ev->u.conn.phase;

	row_head(&j, row, sizeof(row), "connect", ts, ev->pid);
	comm_field(&j, ev, p);
	json_str(&j, "phase", phase[ph >= 1 && ph <= 3 ? ph : 0], 0);
	json_str(&j, "proto", ev->u.conn.proto == 6 ? "tcp" :
	    ev->u.conn.proto == 17 ? "udp" : "?", 0);
	addr_field(&j, "src", &ev->u.conn.src);
	if (ev->u.conn.sport != 0)
		json_u64(&j, "sport", ev->u.conn.sport);
	addr_field(&j, "address", &ev->u.conn.dst);
	json_u64(&j, "port", ev->u.conn.dport);
	if (ev->u.conn.err != 0)
		json_i64(&j, "errno", ev->u.conn.err);
	json_obj_end(&j);
	(void)trace_emit(te, x, &j);
}

/* One event of a process in x's tree, or one that may join it. */
static void
trace_event(struct pk_texec *te, struct xtask *x, const struct pk_pev *ev,
    const struct pk_proc *p, uint64_t ts)
{
	struct ptree *t = x->tree;
	struct tnode *tn = tree_find(t, ev->pid);
	char row[1024];
	struct json j;

	if (ev->type == PK_EV_EXEC && tn == NULL) {
		/* a child whose fork we missed, or a new root by exe */
		if (tree_find(t, ev->u.exec.ppid) != NULL ||
		    (x->spec.pid == 0 && exe_equal(ev->u.exec.path,
		    ev->u.exec.path_len, x->spec.exe))) {
			if (!tree_add(te, t, ev->pid)) {
				tree_full(te, x, ev->pid, ts);
				return;
			}
			tn = tree_find(t, ev->pid);
		}
	}
	if (tn == NULL)
		return;
	switch (ev->type) {
	case PK_EV_EXEC:
		trace_exec(te, x, tn, ev, p, ts);
		return;
	case PK_EV_FORK:
		if (!tree_add(te, t, ev->u.fork.child))
			tree_full(te, x, ev->u.fork.child, ts);
		row_head(&j, row, sizeof(row), "fork", ts, ev->pid);
		json_u64(&j, "child", ev->u.fork.child);
		break;
	case PK_EV_EXIT:
		row_head(&j, row, sizeof(row), "exit", ts, ev->pid);
		json_i64(&j, "code", ev->u.exit.code);
		tree_del(t, tn);
		break;
	case PK_EV_CONNECT:
		trace_connect(te, x, ev, p, ts);
		return;
	case PK_EV_LISTEN:
		row_head(&j, row, sizeof(row), "listen", ts, ev->pid);
		addr_field(&j, "address", &ev->u.listen.addr);
		json_u64(&j, "port", ev->u.listen.port);
		break;
	case PK_EV_OPEN:
		row_head(&j, row, sizeof(row), "file_write", ts, ev->pid);
		json_strn(&j, "path", ev->u.open.path, ev->u.open.path_len,
		    PK_TASK_PATH_MAX);
		json_u64(&j, "flags", ev->u.open.flags);
		break;
	case PK_EV_PTRACE:
		row_head(&j, row, sizeof(row), "ptrace", ts, ev->pid);
		json_u64(&j, "request", ev->u.ptrace.request);
		json_u64(&j, "target", ev->u.ptrace.target);
		break;
	case PK_EV_MEMFD:
	case PK_EV_MODULE:
		row_head(&j, row, sizeof(row), ev->type == PK_EV_MEMFD ?
		    "memfd" : "module", ts, ev->pid);
		json_str(&j, "name", ev->u.name.name, 0);
		break;
	default:
		return;
	}
	comm_field(&j, ev, p);
	json_obj_end(&j);
	(void)trace_emit(te, x, &j);
}

void
pk_texec_proc_event(void *arg, const struct pk_pev *ev,
    const struct pk_proc *p, uint64_t ts_us)
{
	struct pk_texec *te = arg;
	int i;

	if (te->ntrace == 0)
		return;
	te->stats.proc_events++;
	for (i = 0; i < te->nt; i++)
		if (te->t[i]->tree != NULL && !te->t[i]->cancel &&
		    te->t[i]->why == NULL)
			trace_event(te, te->t[i], ev, p, ts_us);
}

void
pk_texec_proc_hash(void *arg, const struct pk_filekey *key, int state,
    const uint8_t sha256[32])
{
	struct pk_texec *te = arg;
	struct tnode *tn;
	struct xtask *x;
	char row[512], hex[65];
	struct json j;
	int i;
	uint32_t k;

	for (i = 0; i < te->nt; i++) {
		x = te->t[i];
		if (x->tree == NULL || x->why != NULL)
			continue;
		for (k = 0; k < TX_TREE_SLOTS; k++) {
			tn = &x->tree->slot[k];
			if (tn->used != 1 || !tn->hash_wait ||
			    memcmp(&tn->key, key, sizeof(*key)) != 0)
				continue;
			tn->hash_wait = 0;
			if (state != PK_HASH_DONE)
				continue;
			hex32(sha256, hex);
			row_head(&j, row, sizeof(row), "hash", pk_now_us(),
			    tn->pid);
			json_str(&j, "sha256", hex, 0);
			json_obj_end(&j);
			if (trace_emit(te, x, &j) != 0)
				break;
		}
	}
}

struct seed {
	uint32_t	pid, ppid;
	uint8_t		root;
};

struct seed_ctx {
	struct pk_texec		*te;
	struct xtask		*x;
	struct seed		*s;
	size_t			 n;
	int			 found;		/* the pid order's root */
};

static int
seed_collect(void *arg, const struct pk_sys_proc *p)
{
	struct seed_ctx *c = arg;
	struct seed *s;

	if (c->n >= TX_SEED_MAX)
		return 1;
	s = &c->s[c->n++];
	s->pid = p->pid;
	s->ppid = p->ppid;
	s->root = c->x->spec.pid != 0 ? p->pid == c->x->spec.pid :
	    strcmp(p->exe, c->x->spec.exe) == 0;
	if (s->root && c->x->spec.pid != 0)
		c->found = 1;
	return 0;
}

static int
seed_rows(void *arg, const struct pk_sys_proc *p)
{
	struct seed_ctx *c = arg;
	char row[TX_ROW_MAX];
	struct json j;

	if (tree_find(c->x->tree, p->pid) == NULL)
		return 0;
	row_head(&j, row, sizeof(row), "process", pk_now_us(), p->pid);
	json_u64(&j, "ppid", p->ppid);
	json_u64(&j, "uid", p->uid);
	json_str(&j, "comm", p->comm, 0);
	if (p->exe[0] != '\0')
		json_str(&j, "exe", p->exe, 0);
	json_str(&j, "cmdline", p->cmdline, 0);
	json_obj_end(&j);
	return trace_emit(c->te, c->x, &j);
}

/*
 * The tree at the start: the roots (the pid, or every process running
 * exe) and their descendants now, from /proc; one "process" row each.
 * The tap is set first, so a fork meanwhile is in the ring buffer and
 * handled once this returns (the collector's one thread runs both).
 */
static int
trace_begin(struct pk_texec *te, struct xtask *x, char *reason, size_t len)
{
	struct seed_ctx c;
	size_t i, pass;
	int grew;

	if (te->proc_why[0] != '\0' || te->engine == NULL) {
		snprintf(reason, len, "process events are not available on "
		    "this host: %s", te->proc_why[0] ? te->proc_why :
		    "no process collector");
		return -1;
	}
	if ((x->tree = calloc(1, sizeof(*x->tree))) == NULL) {
		snprintf(reason, len, "out of memory");
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.te = te;
	c.x = x;
	if ((c.s = calloc(TX_SEED_MAX, sizeof(*c.s))) == NULL) {
		snprintf(reason, len, "out of memory");
		return -1;
	}
	(void)pk_sys_procs(seed_collect, &c);
	if (x->spec.pid != 0 && !c.found) {
		free(c.s);
		snprintf(reason, len, "no process %u", x->spec.pid);
		return -1;
	}
	for (i = 0; i < c.n; i++)
		if (c.s[i].root)
			(void)tree_add(te, x->tree, c.s[i].pid);
	/* descendants: a pass per generation, bounded */
	for (pass = 0, grew = 1; grew && pass < 64; pass++) {
		grew = 0;
		for (i = 0; i < c.n; i++)
			if (tree_find(x->tree, c.s[i].pid) == NULL &&
			    tree_find(x->tree, c.s[i].ppid) != NULL &&
			    tree_add(te, x->tree, c.s[i].pid))
				grew = 1;
	}
	free(c.s);
	if ((x->out = open_out(te, x->id)) == NULL) {
		snprintf(reason, len, "cannot create the result file");
		return -1;
	}
	if (te->ntrace++ == 0) {
		struct pk_engine_proc_tap tap;

		tap.event = pk_texec_proc_event;
		tap.hash = pk_texec_proc_hash;
		tap.arg = te;
		pk_engine_set_proc_tap(te->engine, &tap);
	}
	(void)pk_sys_procs(seed_rows, &c);
	return 0;
}

/* ------------------------------------------------------------ begin */

static struct xtask *
find(struct pk_texec *te, uint64_t id)
{
	int i;

	for (i = 0; i < te->nt; i++)
		if (te->t[i]->id == id)
			return te->t[i];
	return NULL;
}

/* Read, check and start task id (its file exists, no status yet). */
static void
begin(struct pk_texec *te, uint64_t id, uint64_t now)
{
	char reason[PK_TASK_REASON_MAX + 1], err[PK_TASK_REASON_MAX + 1];
	uint64_t running, bytes;
	struct xtask *x;
	long n;
	int r;

	if (find(te, id) != NULL)
		return;
	if (pk_tfile_size(te->dir, id, "cancel") >= 0) {
		file_state(te, id, PK_TS_CANCELLED, "");
		return;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->src = malloc(PK_TASK_JSON_MAX + 1)) == NULL) {
		free(x);
		file_state(te, id, PK_TS_FAILED, "out of memory");
		return;
	}
	x->id = id;
	n = pk_tfile_read(te->dir, id, "task", x->src, PK_TASK_JSON_MAX);
	if (n < 0) {
		xtask_free(x);
		if (n == -1) {
			te->stats.ipc_ignored++;
			return;		/* forgotten meanwhile */
		}
		file_state(te, id, PK_TS_REFUSED, "bad specification: too "
		    "large");
		return;
	}
	x->src[n] = '\0';
	/* Everything again: the shipper may have been subverted. */
	if (pk_task_parse(x->src, (size_t)n, &x->spec, err, sizeof(err)) != 0) {
		snprintf(reason, sizeof(reason), "bad specification: %.480s",
		    err);
		r = PK_TS_REFUSED;
		goto fail;
	}
	if (pk_task_policy_check(&te->pol, &x->spec, reason,
	    sizeof(reason)) != 0) {
		r = PK_TS_REFUSED;
		goto fail;
	}
	running = (uint64_t)te->nt;
	if (pk_tfile_usage(te->dir, &(uint64_t){ 0 }, &bytes) != 0)
		bytes = 0;
	if (te->nt >= PK_TX_MAX || pk_task_policy_room(&te->pol, &x->spec,
	    running, bytes, reason, sizeof(reason)) != 0) {
		if (te->nt >= PK_TX_MAX)
			snprintf(reason, sizeof(reason), "%d tasks already "
			    "running", PK_TX_MAX);
		r = PK_TS_REFUSED;
		goto fail;
	}
	x->st.state = PK_TS_RUNNING;
	x->deadline_us = x->spec.duration_s ? now +
	    (uint64_t)x->spec.duration_s * 1000000ULL : UINT64_MAX;
	reason[0] = '\0';
	if (x->spec.type == PK_TASK_PCAP)
		r = pcap_begin(te, x, reason, sizeof(reason));
	else if (x->spec.type == PK_TASK_SENSITIVITY)
		r = sens_begin(te, x, now, reason, sizeof(reason));
	else if (x->spec.type == PK_TASK_PROC_TRACE)
		r = trace_begin(te, x, reason, sizeof(reason));
	else
		r = worker_begin(te, x, now, reason, sizeof(reason));
	if (r != 0) {
		if (x->dump != NULL) {
			pcap_dump_close(x->dump);
			x->dump = NULL;
			te->npcap--;
		}
		/* a trace that failed after its tap was set */
		if (x->tree != NULL && x->out != NULL && --te->ntrace == 0)
			pk_engine_set_proc_tap(te->engine, NULL);
		r = PK_TS_FAILED;
		goto fail;
	}
	te->t[te->nt++] = x;
	te->stats.started++;
	(void)write_status(te, x, now);
	log_info("task %llu (%s): running", (unsigned long long)id,
	    pk_task_type_name(x->spec.type));
	return;
fail:
	xtask_free(x);
	file_state(te, id, r, reason);
}

struct recover_ctx {
	struct pk_texec	*te;
	uint64_t	 now;
};

static void
recover_one(void *arg, uint64_t id)
{
	struct recover_ctx *c = arg;
	struct pk_task_status st;
	int r;

	r = pk_tfile_status(c->te->dir, id, &st);
	if (r == 1) {
		begin(c->te, id, c->now);
	} else if (r < 0 || st.state == PK_TS_RUNNING) {
		/* The collector that ran it is gone: the result is cut
		 * wherever it stopped. */
		if (pk_tfile_size(c->te->dir, id, "cancel") >= 0) {
			file_state(c->te, id, PK_TS_CANCELLED, "");
			return;
		}
		file_state(c->te, id, PK_TS_FAILED, "agent restarted");
		c->te->stats.recovered_failed++;
	}
}

void
pk_texec_recover(struct pk_texec *te, uint64_t now)
{
	struct recover_ctx c = { te, now };

	(void)pk_tfile_each(te->dir, recover_one, &c);
}

void
pk_texec_ipc(struct pk_texec *te, const struct pk_ipc_msg *m, uint64_t now)
{
	struct pk_task_status st;
	struct xtask *x;

	if (m->type == PK_IPC_TASK_NEW) {
		if (pk_tfile_status(te->dir, m->a, &st) != 1) {
			te->stats.ipc_ignored++;	/* already has a word */
			return;
		}
		begin(te, m->a, now);
	} else if (m->type == PK_IPC_TASK_CANCEL) {
		if ((x = find(te, m->a)) != NULL) {
			x->cancel = 1;
			pk_texec_tick(te, now);
		} else
			te->stats.ipc_ignored++;
	}
}

int
pk_texec_running(const struct pk_texec *te)
{
	return te->nt;
}

void
pk_texec_dns(void *arg, const char *name)
{
	struct pk_texec *te = arg;
	size_t i, n, last;

	n = strlen(name);
	if (n == 0 || n > PK_TASK_NAME_MAX)
		return;
	/* the same name again and again (retries, many answers) once */
	for (i = 0; i < te->dns_n && i < 8; i++) {
		last = (te->dns_head + PK_TX_DNS_RING - 1 - i) % PK_TX_DNS_RING;
		if (strcasecmp(te->dns[last], name) == 0)
			return;
	}
	for (i = 0; i <= n; i++)
		te->dns[te->dns_head][i] = (char)(name[i] >= 'A' &&
		    name[i] <= 'Z' ? name[i] + ('a' - 'A') : name[i]);
	while (n > 0 && te->dns[te->dns_head][n - 1] == '.')
		te->dns[te->dns_head][--n] = '\0';
	te->dns_head = (te->dns_head + 1) % PK_TX_DNS_RING;
	if (te->dns_n < PK_TX_DNS_RING)
		te->dns_n++;
	te->stats.dns_names++;
}

void
pk_texec_tick(struct pk_texec *te, uint64_t now)
{
	struct xtask *x;
	int i, state;
	const char *why;

	for (i = te->nt - 1; i >= 0; i--) {
		x = te->t[i];
		if (x->cancel) {
			finish(te, i, PK_TS_CANCELLED, "", now);
			continue;
		}
		/* FORGET took its files: stop writing into the void */
		if (now - x->status_us >= PK_TX_STATUS_US &&
		    pk_tfile_size(te->dir, x->id, "task") < 0) {
			finish(te, i, PK_TS_CANCELLED, "forgotten", now);
			pk_tfile_remove(te->dir, x->id);
			continue;
		}
		if (x->dump != NULL) {
			if (x->why != NULL || now >= x->deadline_us) {
				why = x->why != NULL ? x->why : "";
				finish(te, i, PK_TS_DONE, why, now);
				continue;
			}
			if (x->dirty && now - x->flush_us >= TX_FLUSH_US) {
				(void)pcap_dump_flush(x->dump);
				x->flush_us = now;
			}
		} else if (x->tree != NULL || x == te->sens) {
			if (x->why != NULL || now >= x->deadline_us) {
				finish(te, i, PK_TS_DONE, x->why != NULL ?
				    x->why : "", now);
				continue;
			}
			if (x->dirty && x->out != NULL &&
			    now - x->flush_us >= TX_FLUSH_US) {
				(void)fflush(x->out);
				x->flush_us = now;
			}
		} else if (x->have_th) {
			if (__atomic_load_n(&x->finished, __ATOMIC_ACQUIRE)) {
				state = x->w_state;
				finish(te, i, state, x->w_reason, now);
				continue;
			}
			uint64_t rows = __atomic_load_n(&x->w_rows,
			    __ATOMIC_ACQUIRE);

			if (rows != x->st.rows) {
				x->st.rows = rows;
				x->st.bytes = __atomic_load_n(&x->w_bytes,
				    __ATOMIC_ACQUIRE);
				x->dirty = 1;
			}
		}
		if (x->dirty && now - x->status_us >= PK_TX_STATUS_US) {
			if (x->dump != NULL)
				(void)pcap_dump_flush(x->dump);
			if (x->tree != NULL && x->out != NULL)
				(void)fflush(x->out);
			(void)write_status(te, x, now);
		}
	}
}

void
pk_texec_stats(const struct pk_texec *te, struct pk_texec_stats *st)
{
	*st = te->stats;
}

void
pk_texec_free(struct pk_texec *te)
{
	uint64_t now = mono_us();

	if (te == NULL)
		return;
	while (te->nt > 0)
		finish(te, te->nt - 1, PK_TS_FAILED, "agent stopped", now);
	free(te);
}
