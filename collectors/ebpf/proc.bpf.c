// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * proc.bpf.c - the kernel side of the process collector: tracepoint and
 * raw-tracepoint programs that write struct pk_ev_* records (proc.h) into
 * one ring buffer.  Loaded only by ebpf.c through the generated skeleton
 * (build/ebpf/proc.skel.h).
 *
 * Only tracepoints are used (kprobes, fentry and BPF LSM are absent on the
 * kernels we must support).  Memory is read with bpf_probe_read_kernel/_user
 * and BPF_CORE_READ, never the legacy bpf_probe_read that kernel lockdown
 * refuses.  Filtering happens here so that the agent is not flooded: the
 * agent's own process is skipped, opens are reported only when they are
 * for writing and the resolved path starts with a watched prefix, and each
 * process may send at most rate_limit events a second (LRU map; what is
 * dropped is counted per event type, as is every failed ring reserve).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "collectors/ebpf/proc.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the loader between open and load. */
const volatile __u32 agent_tgid = 0;
const volatile __u32 rate_limit = 1000;		/* events/s per process */
const volatile __u32 argv_max = 1024;		/* < PK_EV_ARGV_MAX */
const volatile __u32 nprefix = 0;

#define PBUF		(2 * PK_EV_PATH_MAX)
#define PMASK		(PK_EV_PATH_MAX - 1)
#define NSEC		1000000000ULL

#define TCP_ESTABLISHED	1
#define TCP_SYN_SENT	2
#define TCP_CLOSE	7
#define TCP_LISTEN	10
#define AF_INET		2
#define AF_INET6	10
#define IPPROTO_TCP	6
#define IPPROTO_UDP	17
#define EINPROGRESS	115

#define O_WRONLY	01
#define O_RDWR		02
#define O_CREAT		0100
#define O_TRUNC		01000
#define WRITE_FLAGS	(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)

#define PTRACE_ATTACH	16
#define PTRACE_SEIZE	0x4206

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);	/* [process] ring_size sets it */
} rb SEC(".maps");

/*
 * When a record wakes the agent.  By default the kernel wakes the reader
 * for each record that finds it caught up; a reader that keeps up goes
 * back to sleep after every record, so a burst of execs costs a wakeup
 * and two context switches per event, which was half the agent's time
 * in that burst.  Here a record wakes it only when the last wakeup is
 * PK_EV_WAKE_NS old or an eighth of the ring is waiting: a lone event
 * still wakes it at once, a burst at most every PK_EV_WAKE_NS.  Records
 * that did not wake it are read when it looks again after reading
 * (ebpf.c, recall), so the end of a burst does not wait for the next.
 * Two CPUs may both decide to wake it: harmless.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_wake SEC(".maps");

static __always_inline __u64
wake_flags(void)
{
	__u32 k = 0;
	__u64 *last = bpf_map_lookup_elem(&last_wake, &k);
	__u64 now = bpf_ktime_get_ns();

	if (last == NULL)
		return 0;
	if (now - *last >= PK_EV_WAKE_NS ||
	    bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >=
	    bpf_ringbuf_query(&rb, BPF_RB_RING_SIZE) / 8) {
		*last = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PK_CNT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct rl {
	__u64	win;
	__u32	n;
	__u32	pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct rl);
} rate SEC(".maps");

/* Scratch space: records and paths too big for the 512-byte stack. */
struct rec {
	char	b[PK_EV_REC_MAX];
};
struct pbuf {
	char	b[PBUF];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rec);
} scratch_rec SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pbuf);
} scratch_path SEC(".maps");

/*
 * connect(): what a thread asked for, until the syscall returns.  A TCP
 * socket reaches SYN_SENT before the kernel picks its local port, so the
 * attempt (with that port, which names the process to the packet side's
 * attribution lookups) is reported when connect() returns: sk is set then.
 */
struct pconn {
	__u16	family;
	__u16	dport;
	__u8	tcp;		/* the socket reached SYN_SENT */
	__u8	pad[3];
	__u8	daddr[16];
	__u8	saddr[16];	/* with sk: the socket's local address */
	__u64	sk;		/* attempt to report at sys_exit_connect */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);			/* tid */
	__type(value, struct pconn);
} pending_conn SEC(".maps");

/* TCP sockets in SYN_SENT: who connected, for the outcome. */
struct owner {
	__u32	tgid;
	__u32	uid, gid;
	__u32	pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);			/* struct sock * */
	__type(value, struct owner);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);			/* tid */
	__type(value, __u32);			/* open flags */
} pending_open SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PK_PREFIX_MAX);
	__type(key, __u32);
	__type(value, struct pk_prefix);
} prefixes SEC(".maps");

/* Kernels before 6.7 keep inode times as timespec64. */
struct inode___old {
	struct timespec64 i_mtime;
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

/* module/module_load is absent on kernels built without modules. */
struct module_load_args {
	__u64	common;
	__u32	taints;
	__u32	data_loc_name;
};

static __always_inline void
count(__u32 type, __u32 what)
{
	__u32 k = type * PK_CNT__N + what;
	__u64 *v = bpf_map_lookup_elem(&counters, &k);

	if (v != NULL)
		*v += 1;	/* per-CPU: no atomics needed */
}

static __always_inline __u32
cur_tgid(void)
{
	return (__u32)(bpf_get_current_pid_tgid() >> 32);
}

/*
 * Per-process rate limit: rate_limit events per one-second window.  Races
 * between CPUs may let a few extra through; the bound still holds.
 */
static __always_inline int
allow(__u32 tgid, __u32 type)
{
	__u64 now = bpf_ktime_get_ns();
	struct rl *r, n = {};

	if (tgid == agent_tgid)
		return 0;
	r = bpf_map_lookup_elem(&rate, &tgid);
	if (r == NULL) {
		n.win = now;
		n.n = 1;
		bpf_map_update_elem(&rate, &tgid, &n, BPF_ANY);
		return 1;
	}
	if (now - r->win >= NSEC) {
		r->win = now;
		r->n = 1;
		return 1;
	}
	if (r->n >= rate_limit) {
		count(type, PK_CNT_LIMITED);
		return 0;
	}
	r->n++;
	return 1;
}

static __always_inline void
fill_hdr(struct pk_ev_hdr *h, __u16 type, __u32 size, __u32 tgid)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u64 ug = bpf_get_current_uid_gid();

	h->type = type;
	h->version = PK_EV_VERSION;
	h->size = size;
	h->ts_ns = bpf_ktime_get_ns();
	h->pid = tgid;
	h->tid = (__u32)pt;
	h->uid = (__u32)ug;
	h->gid = (__u32)(ug >> 32);
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

static __always_inline void *
reserve(__u32 type, __u32 size)
{
	void *p = bpf_ringbuf_reserve(&rb, size, 0);

	if (p == NULL)
		count(type, PK_CNT_LOST);
	else
		count(type, PK_CNT_SENT);
	return p;
}

/*
 * Rebuild the path of (dentry, vfsmount) root first, ending at
 * buf[PMASK], crossing mount points.  Returns the offset where it starts.
 * Names longer than the space left, or deeper than PK_EV_PATH_DEPTH, set
 * PK_EXEC_PATH_TRUNC.  A dentry that is its own parent but not a mount
 * root (pipes, memfd, other pseudo files) ends the walk.  One step per
 * bpf_loop() call: the verifier checks the step once instead of every
 * unrolled iteration.
 */
struct walk {
	struct dentry	*d;
	struct vfsmount	*vm;
	struct mount	*mnt, *mp;
	__u32		 off;
	__u32		 flags;
	__u32		 done;
};

static long
walk_step(__u64 idx, void *arg)
{
	struct walk *w = arg;
	struct dentry *d = w->d, *root, *parent;
	struct vfsmount *vm = w->vm;
	struct mount *mnt = w->mnt, *mp = w->mp;
	__u32 zero = 0, len, off;
	struct pbuf *pb;
	struct qstr q;

	/* Locals only inside BPF_CORE_READ: it relocates every access. */
	if ((pb = bpf_map_lookup_elem(&scratch_path, &zero)) == NULL)
		return 1;
	root = BPF_CORE_READ(vm, mnt_root);
	parent = BPF_CORE_READ(d, d_parent);
	if (d == root) {
		if (mnt == mp) {
			w->done = 1;
			return 1;
		}
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mp;
		w->mp = BPF_CORE_READ(mp, mnt_parent);
		w->vm = &mp->mnt;
		return 0;
	}
	q = BPF_CORE_READ(d, d_name);
	len = q.len & 255;
	off = w->off & PMASK;
	if (len + 2 > off) {
		w->flags |= PK_EXEC_PATH_TRUNC;
		w->done = 1;
		return 1;
	}
	off -= len;
	bpf_probe_read_kernel(&pb->b[off & PMASK], len, q.name);
	off--;
	pb->b[off & PMASK] = '/';
	w->off = off;
	if (d == parent) {
		w->done = 1;
		return 1;
	}
	w->d = parent;
	return 0;
}

static __always_inline __u32
walk_path(struct dentry *d, struct vfsmount *vm, char *buf, __u32 *flags)
{
	struct mount *mnt;
	struct walk w;

	w.d = d;
	w.vm = vm;
	mnt = container_of(vm, struct mount, mnt);
	w.mnt = mnt;
	w.mp = BPF_CORE_READ(mnt, mnt_parent);
	w.off = PMASK;
	w.flags = 0;
	w.done = 0;
	buf[PMASK] = '\0';
	bpf_loop(PK_EV_PATH_DEPTH, walk_step, &w, 0);
	if (!w.done)
		w.flags |= PK_EXEC_PATH_TRUNC;
	*flags |= w.flags;
	if (w.off == PMASK) {
		w.off--;
		buf[w.off & PMASK] = '/';
	}
	return w.off & PMASK;
}

static __always_inline void
inode_times(struct inode *ino, __u64 *mtime, __u64 *ctime)
{
	struct inode___old *old = (void *)ino;

	if (bpf_core_field_exists(ino->i_mtime_sec)) {
		*mtime = BPF_CORE_READ(ino, i_mtime_sec) * NSEC +
		    BPF_CORE_READ(ino, i_mtime_nsec);
		*ctime = BPF_CORE_READ(ino, i_ctime_sec) * NSEC +
		    BPF_CORE_READ(ino, i_ctime_nsec);
	} else if (bpf_core_field_exists(old->i_mtime)) {
		*mtime = BPF_CORE_READ(old, i_mtime.tv_sec) * NSEC +
		    BPF_CORE_READ(old, i_mtime.tv_nsec);
		*ctime = BPF_CORE_READ(old, i_ctime.tv_sec) * NSEC +
		    BPF_CORE_READ(old, i_ctime.tv_nsec);
	}
}

static __always_inline int
is_memfd_name(const char *buf, __u32 off)
{
	/* "/memfd:" at the top of a pseudo mount */
	return buf[(off + 1) & PMASK] == 'm' && buf[(off + 2) & PMASK] == 'e' &&
	    buf[(off + 3) & PMASK] == 'm' && buf[(off + 4) & PMASK] == 'f' &&
	    buf[(off + 5) & PMASK] == 'd' && buf[(off + 6) & PMASK] == ':';
}

SEC("tracepoint/sched/sched_process_exec")
int
handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	__u32 tgid = cur_tgid(), zero = 0, off, plen, flen, cur, alen = 0;
	struct file *exe;
	struct inode *ino;
	struct pk_ev_exec *e;
	struct rec *r;
	struct pbuf *pb;
	__u64 as, ae, total;
	long n;

	if (!allow(tgid, PK_EV_EXEC))
		return 0;
	r = bpf_map_lookup_elem(&scratch_rec, &zero);
	pb = bpf_map_lookup_elem(&scratch_path, &zero);
	if (r == NULL || pb == NULL)
		return 0;
	e = (struct pk_ev_exec *)r->b;
	__builtin_memset(e, 0, sizeof(*e));
	e->ppid = BPF_CORE_READ(t, real_parent, tgid);
	e->old_tid = ctx->old_pid;
	e->cgroup_id = bpf_get_current_cgroup_id();

	exe = BPF_CORE_READ(t, mm, exe_file);
	if (exe != NULL) {
		ino = BPF_CORE_READ(exe, f_inode);
		e->dev = BPF_CORE_READ(ino, i_sb, s_dev);
		e->ino = BPF_CORE_READ(ino, i_ino);
		e->size = BPF_CORE_READ(ino, i_size);
		e->nlink = BPF_CORE_READ(ino, __i_nlink);
		e->mode = BPF_CORE_READ(ino, i_mode);
		inode_times(ino, &e->mtime_ns, &e->ctime_ns);
		if (e->nlink == 0)
			e->flags |= PK_EXEC_DELETED;
		off = walk_path(BPF_CORE_READ(exe, f_path.dentry),
		    BPF_CORE_READ(exe, f_path.mnt), pb->b, &e->flags);
		if (is_memfd_name(pb->b, off))
			e->flags |= PK_EXEC_MEMFD;
	} else {
		e->flags |= PK_EXEC_NO_FILE;
		off = PMASK;
	}
	plen = (PMASK - off) & PMASK;

	/* The filename as given to execve, from the tracepoint's data. */
	cur = sizeof(*e);
	n = bpf_probe_read_kernel_str(&r->b[cur], PK_EV_FNAME_MAX,
	    (char *)ctx + (ctx->__data_loc_filename & 0xFFFF));
	flen = n > 0 ? (__u32)(n - 1) : 0;
	flen &= PK_EV_FNAME_MAX - 1;
	cur += flen;

	if (plen > 0)
		bpf_probe_read_kernel(&r->b[cur], plen, &pb->b[off & PMASK]);
	cur += plen;

	as = BPF_CORE_READ(t, mm, arg_start);
	ae = BPF_CORE_READ(t, mm, arg_end);
	if (ae > as) {
		alen = ae - as;
		if (alen > argv_max) {
			alen = argv_max;
			e->flags |= PK_EXEC_ARGV_TRUNC;
		}
		alen &= PK_EV_ARGV_MAX - 1;
		if (bpf_probe_read_user(&r->b[cur], alen, (void *)as) != 0)
			alen = 0;
	}
	e->fname_len = flen;
	e->path_len = plen;
	e->argv_len = alen;
	total = cur + alen;
	if (total > sizeof(r->b))
		return 0;
	fill_hdr(&e->h, PK_EV_EXEC, (__u32)total, tgid);
	if (bpf_ringbuf_output(&rb, r->b, total,
	    wake_flags()) != 0)
		count(PK_EV_EXEC, PK_CNT_LOST);
	else
		count(PK_EV_EXEC, PK_CNT_SENT);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int
BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct pk_ev_fork *e;

	if (ctgid == ptgid)		/* a new thread, not a process */
		return 0;
	if (!allow(ptgid, PK_EV_FORK))
		return 0;
	if ((e = reserve(PK_EV_FORK, sizeof(*e))) == NULL)
		return 0;
	fill_hdr(&e->h, PK_EV_FORK, sizeof(*e), ptgid);
	e->child = ctgid;
	e->pad = 0;
	bpf_ringbuf_submit(e, wake_flags());
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int
handle_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tgid = pt >> 32, tid = (__u32)pt;
	struct pk_ev_exit *e;
	int last;

	/* Report the process, not each thread. */
	if (bpf_core_field_exists(ctx->group_dead))
		last = BPF_CORE_READ(ctx, group_dead);
	else
		last = tgid == tid;
	if (!last || tgid == agent_tgid)
		return 0;
	bpf_map_delete_elem(&rate, &tgid);
	if ((e = reserve(PK_EV_EXIT, sizeof(*e))) == NULL)
		return 0;
	fill_hdr(&e->h, PK_EV_EXIT, sizeof(*e), tgid);
	e->code = BPF_CORE_READ(t, exit_code);
	e->pad = 0;
	bpf_ringbuf_submit(e, wake_flags());
	return 0;
}

static __always_inline int
read_sockaddr(const void *uaddr, struct pconn *pc)
{
	struct sockaddr_in6 s6;
	__u16 fam;

	if (uaddr == NULL ||
	    bpf_probe_read_user(&fam, sizeof(fam), uaddr) != 0)
		return -1;
	__builtin_memset(pc, 0, sizeof(*pc));
	pc->family = fam;
	if (fam == AF_INET) {
		struct sockaddr_in s4;

		if (bpf_probe_read_user(&s4, sizeof(s4), uaddr) != 0)
			return -1;
		pc->dport = bpf_ntohs(s4.sin_port);
		__builtin_memcpy(pc->daddr, &s4.sin_addr, 4);
		return 0;
	}
	if (fam == AF_INET6) {
		if (bpf_probe_read_user(&s6, sizeof(s6), uaddr) != 0)
			return -1;
		pc->dport = bpf_ntohs(s6.sin6_port);
		__builtin_memcpy(pc->daddr, &s6.sin6_addr, 16);
		return 0;
	}
	return -1;
}

static __always_inline void
emit_conn(__u32 tgid, __u8 phase, __u8 proto, const struct pconn *pc,
    __s32 err)
{
	struct pk_ev_connect *e;

	if ((e = reserve(PK_EV_CONNECT, sizeof(*e))) == NULL)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->h, PK_EV_CONNECT, sizeof(*e), tgid);
	e->phase = phase;
	e->proto = proto;
	e->family = pc->family;
	e->dport = pc->dport;
	e->err = err;
	__builtin_memcpy(e->daddr, pc->daddr, 16);
	bpf_ringbuf_submit(e, wake_flags());
}

/* The deferred TCP attempt: the port is bound now (tcp_v4_connect). */
static __always_inline void
emit_tcp_attempt(__u32 tgid, const struct pconn *pc)
{
	struct sock *s = (struct sock *)pc->sk;
	struct pk_ev_connect *e;

	if ((e = reserve(PK_EV_CONNECT, sizeof(*e))) == NULL)
		return;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->h, PK_EV_CONNECT, sizeof(*e), tgid);
	e->sock = pc->sk;
	e->phase = PK_CONN_ATTEMPT;
	e->proto = IPPROTO_TCP;
	e->family = pc->family;
	e->sport = BPF_CORE_READ(s, __sk_common.skc_num);
	e->dport = pc->dport;
	__builtin_memcpy(e->saddr, pc->saddr, 16);
	__builtin_memcpy(e->daddr, pc->daddr, 16);
	bpf_ringbuf_submit(e, wake_flags());
}

SEC("tracepoint/syscalls/sys_enter_connect")
int
handle_connect_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pconn pc;

	if (cur_tgid() == agent_tgid)
		return 0;
	if (read_sockaddr((const void *)ctx->args[1], &pc) != 0)
		return 0;
	bpf_map_update_elem(&pending_conn, &tid, &pc, BPF_ANY);
	return 0;
}

/*
 * TCP attempts and outcomes are reported from inet_sock_set_state; what
 * is left here is connect() on datagram sockets and TCP connects that
 * failed before a SYN was sent (no route, ...).
 */
SEC("tracepoint/syscalls/sys_exit_connect")
int
handle_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), tgid = cur_tgid();
	struct pconn *pc = bpf_map_lookup_elem(&pending_conn, &tid);
	long ret = ctx->ret;

	if (pc == NULL)
		return 0;
	if (pc->tcp && pc->sk != 0)
		emit_tcp_attempt(tgid, pc);
	if (!pc->tcp && ret != -EINPROGRESS && allow(tgid, PK_EV_CONNECT)) {
		if (ret == 0)
			emit_conn(tgid, PK_CONN_ATTEMPT, IPPROTO_UDP, pc, 0);
		else
			emit_conn(tgid, PK_CONN_FAIL, 0, pc, (__s32)-ret);
	}
	bpf_map_delete_elem(&pending_conn, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int
handle_sendto(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = cur_tgid();
	struct pconn pc;

	if (ctx->args[4] == 0 || tgid == agent_tgid)
		return 0;
	if (read_sockaddr((const void *)ctx->args[4], &pc) != 0)
		return 0;
	if (!allow(tgid, PK_EV_CONNECT))
		return 0;
	emit_conn(tgid, PK_CONN_ATTEMPT, IPPROTO_UDP, &pc, 0);
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int
handle_sock_state(struct trace_event_raw_inet_sock_set_state *tp)
{
	struct trace_event_raw_inet_sock_set_state c, *ctx = &c;
	__u32 tgid, tid;
	__u64 sk;
	struct pk_ev_connect *e;
	struct pk_ev_listen *l;
	struct owner o, *op;
	struct pconn *pc;
	struct sock *s;
	__u8 phase;

	/* One copy: the verifier refuses arithmetic on the context. */
	if (bpf_probe_read_kernel(&c, sizeof(c), tp) != 0)
		return 0;
	sk = (__u64)ctx->skaddr;
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (ctx->newstate == TCP_LISTEN) {
		/* listen() runs in the caller's context */
		tgid = cur_tgid();
		if (!allow(tgid, PK_EV_LISTEN))
			return 0;
		if ((l = reserve(PK_EV_LISTEN, sizeof(*l))) == NULL)
			return 0;
		__builtin_memset(l, 0, sizeof(*l));
		fill_hdr(&l->h, PK_EV_LISTEN, sizeof(*l), tgid);
		l->family = ctx->family;
		l->port = ctx->sport;
		if (ctx->family == AF_INET)
			__builtin_memcpy(l->addr, ctx->saddr, 4);
		else
			__builtin_memcpy(l->addr, ctx->saddr_v6, 16);
		bpf_ringbuf_submit(l, wake_flags());
		return 0;
	}
	if (ctx->oldstate == TCP_CLOSE && ctx->newstate == TCP_SYN_SENT) {
		/* connect() runs in the caller's context */
		__u64 pt = bpf_get_current_pid_tgid();
		__u64 ug = bpf_get_current_uid_gid();

		tgid = pt >> 32;
		tid = (__u32)pt;
		if ((pc = bpf_map_lookup_elem(&pending_conn, &tid)) != NULL)
			pc->tcp = 1;
		if (!allow(tgid, PK_EV_CONNECT))
			return 0;
		o.tgid = tgid;
		o.uid = (__u32)ug;
		o.gid = (__u32)(ug >> 32);
		o.pad = 0;
		bpf_map_update_elem(&conns, &sk, &o, BPF_ANY);
		phase = PK_CONN_ATTEMPT;
		if (ctx->sport == 0 && pc != NULL &&
		    ctx->family == pc->family) {
			/* no local port yet: sys_exit_connect reports it */
			pc->sk = sk;
			if (ctx->family == AF_INET)
				__builtin_memcpy(pc->saddr, ctx->saddr, 4);
			else
				__builtin_memcpy(pc->saddr, ctx->saddr_v6, 16);
			return 0;
		}
	} else if (ctx->oldstate == TCP_SYN_SENT &&
	    (ctx->newstate == TCP_ESTABLISHED || ctx->newstate == TCP_CLOSE)) {
		if ((op = bpf_map_lookup_elem(&conns, &sk)) == NULL)
			return 0;
		o = *op;
		bpf_map_delete_elem(&conns, &sk);
		phase = ctx->newstate == TCP_ESTABLISHED ? PK_CONN_OK :
		    PK_CONN_FAIL;
	} else
		return 0;

	if ((e = reserve(PK_EV_CONNECT, sizeof(*e))) == NULL)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill_hdr(&e->h, PK_EV_CONNECT, sizeof(*e), o.tgid);
	if (phase != PK_CONN_ATTEMPT) {
		/* softirq or another task: the owner's identity */
		e->h.tid = 0;
		e->h.uid = o.uid;
		e->h.gid = o.gid;
		__builtin_memset(e->h.comm, 0, sizeof(e->h.comm));
	}
	e->sock = sk;
	e->phase = phase;
	e->proto = IPPROTO_TCP;
	e->family = ctx->family;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	if (phase == PK_CONN_FAIL) {
		s = (struct sock *)ctx->skaddr;
		e->err = BPF_CORE_READ(s, sk_err);
	}
	if (ctx->family == AF_INET) {
		__builtin_memcpy(e->saddr, ctx->saddr, 4);
		__builtin_memcpy(e->daddr, ctx->daddr, 4);
	} else {
		__builtin_memcpy(e->saddr, ctx->saddr_v6, 16);
		__builtin_memcpy(e->daddr, ctx->daddr_v6, 16);
	}
	bpf_ringbuf_submit(e, wake_flags());
	return 0;
}

static __always_inline int
open_enter(__u32 flags)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!(flags & WRITE_FLAGS) || nprefix == 0 || cur_tgid() == agent_tgid)
		return 0;
	bpf_map_update_elem(&pending_open, &tid, &flags, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int
handle_openat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter((__u32)ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_enter_openat2")
int
handle_openat2_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct open_how how;

	if (bpf_probe_read_user(&how, sizeof(how), (void *)ctx->args[2]) != 0)
		return 0;
	return open_enter((__u32)how.flags);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int
handle_creat_enter(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(O_CREAT | O_WRONLY | O_TRUNC);
}

/* Does the path at scratch_path[off..PMASK) start with a watched prefix? */
struct pmatch {
	__u32	off;
	__u32	hit;
};

static long
prefix_step(__u64 idx, void *arg)
{
	struct pmatch *m = arg;
	__u32 i = (__u32)idx, zero = 0, j, pl, len = PMASK - (m->off & PMASK);
	struct pk_prefix *p;
	struct pbuf *pb;

	if (i >= nprefix)
		return 1;
	if ((p = bpf_map_lookup_elem(&prefixes, &i)) == NULL ||
	    (pb = bpf_map_lookup_elem(&scratch_path, &zero)) == NULL)
		return 1;
	pl = p->len;
	if (pl == 0 || pl > len || pl > PK_PREFIX_LEN)
		return 0;
	for (j = 0; j < PK_PREFIX_LEN; j++) {
		if (j >= pl)
			break;
		if (pb->b[(m->off + j) & PMASK] != p->s[j])
			return 0;
	}
	m->hit = 1;
	return 1;
}

static __always_inline int
prefix_match(__u32 off)
{
	struct pmatch m = { .off = off, .hit = 0 };

	bpf_loop(PK_PREFIX_MAX, prefix_step, &m, 0);
	return m.hit;
}

static __always_inline int
open_exit(long ret)
{
	__u64 pt = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pt, tgid = pt >> 32, zero = 0, flags, off, plen;
	__u32 pflags = 0, maxfds;
	struct task_struct *t;
	struct file **fda, *f;
	struct pk_ev_open *e;
	struct pbuf *pb;
	struct rec *r;
	__u32 *fp;

	if ((fp = bpf_map_lookup_elem(&pending_open, &tid)) == NULL)
		return 0;
	flags = *fp;
	bpf_map_delete_elem(&pending_open, &tid);
	if (ret < 0)
		return 0;
	t = (void *)bpf_get_current_task();
	fda = BPF_CORE_READ(t, files, fdt, fd);
	maxfds = BPF_CORE_READ(t, files, fdt, max_fds);
	if ((__u64)ret >= maxfds)
		return 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fda[ret]) != 0 || f == NULL)
		return 0;
	pb = bpf_map_lookup_elem(&scratch_path, &zero);
	r = bpf_map_lookup_elem(&scratch_rec, &zero);
	if (pb == NULL || r == NULL)
		return 0;
	off = walk_path(BPF_CORE_READ(f, f_path.dentry),
	    BPF_CORE_READ(f, f_path.mnt), pb->b, &pflags);
	if (!prefix_match(off))
		return 0;
	if (!allow(tgid, PK_EV_OPEN))
		return 0;
	plen = (PMASK - off) & PMASK;
	e = (struct pk_ev_open *)r->b;
	e->flags = flags;
	e->path_len = plen;
	if (plen > 0)
		bpf_probe_read_kernel(&r->b[sizeof(*e)], plen,
		    &pb->b[off & PMASK]);
	fill_hdr(&e->h, PK_EV_OPEN, sizeof(*e) + plen, tgid);
	if (bpf_ringbuf_output(&rb, r->b, sizeof(*e) + plen,
	    wake_flags()) != 0)
		count(PK_EV_OPEN, PK_CNT_LOST);
	else
		count(PK_EV_OPEN, PK_CNT_SENT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int
handle_openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int
handle_openat2_exit(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_creat")
int
handle_creat_exit(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int
handle_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = cur_tgid(), req = (__u32)ctx->args[0];
	struct pk_ev_ptrace *e;

	if (req != PTRACE_ATTACH && req != PTRACE_SEIZE)
		return 0;
	if (!allow(tgid, PK_EV_PTRACE))
		return 0;
	if ((e = reserve(PK_EV_PTRACE, sizeof(*e))) == NULL)
		return 0;
	fill_hdr(&e->h, PK_EV_PTRACE, sizeof(*e), tgid);
	e->request = req;
	e->target = (__u32)ctx->args[1];
	bpf_ringbuf_submit(e, wake_flags());
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_memfd_create")
int
handle_memfd(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = cur_tgid();
	struct pk_ev_name *e;

	if (!allow(tgid, PK_EV_MEMFD))
		return 0;
	if ((e = reserve(PK_EV_MEMFD, sizeof(*e))) == NULL)
		return 0;
	fill_hdr(&e->h, PK_EV_MEMFD, sizeof(*e), tgid);
	e->flags = (__u32)ctx->args[1];
	e->pad = 0;
	__builtin_memset(e->name, 0, sizeof(e->name));
	bpf_probe_read_user_str(e->name, sizeof(e->name),
	    (void *)ctx->args[0]);
	bpf_ringbuf_submit(e, wake_flags());
	return 0;
}

SEC("tracepoint/module/module_load")
int
handle_module(struct module_load_args *ctx)
{
	__u32 tgid = cur_tgid();
	struct pk_ev_name *e;

	if (!allow(tgid, PK_EV_MODULE))
		return 0;
	if ((e = reserve(PK_EV_MODULE, sizeof(*e))) == NULL)
		return 0;
	fill_hdr(&e->h, PK_EV_MODULE, sizeof(*e), tgid);
	e->flags = ctx->taints;
	e->pad = 0;
	__builtin_memset(e->name, 0, sizeof(e->name));
	bpf_probe_read_kernel_str(e->name, sizeof(e->name),
	    (char *)ctx + (ctx->data_loc_name & 0xFFFF));
	bpf_ringbuf_submit(e, wake_flags());
	return 0;
}
