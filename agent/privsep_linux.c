/*
 * privsep_linux.c - Linux implementation of privsep.h: user lookup, the
 * spool directory hand-over, the drop from root to the unprivileged user
 * with an exact capability set, and the shipper's seccomp allowlist written
 * as raw classic BPF (no libseccomp: one dependency less in the process that
 * talks to the network, and the whole filter is readable below).
 * Called by agent/main.c in the collector and shipper children right after
 * fork, before they start any thread; see docs/privsep.md.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* setresuid, getresuid and friends */
#endif
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "agent/privsep.h"
#include "common/log.h"
#include "common/util.h"

#if defined(__SANITIZE_ADDRESS__)
#define PK_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PK_HAVE_ASAN 1
#endif
#endif
#ifdef PK_HAVE_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* Older userland headers: the numbers are kernel ABI. */
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT			47
#define PR_CAP_AMBIENT_CLEAR_ALL	4
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS	0x80000000U
#endif
#ifndef SECCOMP_GET_ACTION_AVAIL
#define SECCOMP_GET_ACTION_AVAIL	2
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC	1
#endif

#define PW_BUF_MAX	(1024 * 1024)	/* getpwnam_r buffer cap (ERANGE) */

static int priv_err(char *, size_t, const char *, ...) PK_PRINTF(3, 4);

/* Format a reason into err; always returns -1 so callers can return it. */
static int
priv_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
pk_priv_lookup(const char *user, struct pk_priv_user *u, char *err,
    size_t errlen)
{
	struct passwd pw, *res = NULL;
	size_t len = 4096;
	char *buf = NULL, *nbuf;
	int rc;

	memset(u, 0, sizeof(*u));
	if (user == NULL || *user == '\0')
		return priv_err(err, errlen, "empty user name");
	if (strlen(user) >= sizeof(u->name))
		return priv_err(err, errlen, "user name '%.32s...' too long",
		    user);
	/* getpwnam_r says ERANGE until the buffer fits; grow to a cap. */
	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL) {
			free(buf);
			return priv_err(err, errlen, "user '%s': out of memory",
			    user);
		}
		buf = nbuf;
		rc = getpwnam_r(user, &pw, buf, len, &res);
		if (rc != ERANGE || len >= PW_BUF_MAX)
			break;
		len *= 2;
	}
	if (rc != 0) {
		free(buf);
		return priv_err(err, errlen, "user '%s': lookup failed: %s",
		    user, strerror(rc));
	}
	if (res == NULL) {
		free(buf);
		return priv_err(err, errlen, "no such user '%s'", user);
	}
	u->uid = (uint32_t)pw.pw_uid;
	u->gid = (uint32_t)pw.pw_gid;
	pk_strlcpy(u->name, user, sizeof(u->name));
	free(buf);
	return 0;
}

/*
 * Highest capability number this kernel knows.  /proc is the cheap way;
 * without it, probe the bounding set until the kernel says EINVAL.
 */
static int
cap_last(void)
{
	FILE *f;
	int last = -1, c;

	if ((f = fopen("/proc/sys/kernel/cap_last_cap", "re")) != NULL) {
		if (fscanf(f, "%d", &last) != 1)
			last = -1;
		fclose(f);
	}
	if (last >= 0 && last < 64)
		return last;
	for (c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) < 0)
			break;
	return c - 1;
}

/*
 * Threads in this process, or 0 if /proc cannot tell.  The bounding set,
 * keep-caps, no_new_privs, capset() and seccomp are per thread in the
 * kernel (only glibc's set*id wrappers broadcast to all threads): a thread
 * started before the drop would keep the full bounding set and no
 * no_new_privs, so we refuse to drop in a threaded process.
 */
static int
thread_count(void)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if ((d = opendir("/proc/self/task")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && n < 100000)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	if (syscall(SYS_capget, &hdr, data) != 0)
		return -1;
	*eff = data[0].effective | (uint64_t)data[1].effective << 32;
	*prm = data[0].permitted | (uint64_t)data[1].permitted << 32;
	*inh = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
	return 0;
}

static int
caps_set(uint64_t keep)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

/* Step 1: the bounding set limits what any later execve could gain. */
static int
drop_bounding(uint64_t keep, int last, char *err, size_t errlen)
{
	int c;

	for (c = 0; c <= last; c++) {
		if (keep & PK_PRIV_CAP(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0, 0, 0) != 0)
			return priv_err(err, errlen, "PR_CAPBSET_DROP %d: %s",
			    c, strerror(errno));
	}
	return 0;
}

/* Step 2: the identity change proper (glibc applies it to every thread). */
static int
drop_ids(const struct pk_priv_user *u, uint64_t keep, char *err,
    size_t errlen)
{
	gid_t gid = (gid_t)u->gid;
	uid_t uid = (uid_t)u->uid;

	/* Keep the permitted set across setresuid only if something stays. */
	if (keep != 0 && prctl(PR_SET_KEEPCAPS, 1UL, 0, 0, 0) != 0)
		return priv_err(err, errlen, "PR_SET_KEEPCAPS: %s",
		    strerror(errno));
	if (setgroups(1, &gid) != 0)
		return priv_err(err, errlen, "setgroups(%u): %s", u->gid,
		    strerror(errno));
	if (setresgid(gid, gid, gid) != 0)
		return priv_err(err, errlen, "setresgid(%u): %s", u->gid,
		    strerror(errno));
	if (setresuid(uid, uid, uid) != 0)
		return priv_err(err, errlen, "setresuid(%u): %s", u->uid,
		    strerror(errno));
	return 0;
}

/* Step 3: exact capability sets, then the one-way flags. */
static int
drop_caps(uint64_t keep, char *err, size_t errlen)
{
	if (caps_set(keep) != 0)
		return priv_err(err, errlen, "capset: %s", strerror(errno));
	/* EINVAL: kernel before 4.3 has no ambient set, nothing to clear. */
	if (prctl(PR_CAP_AMBIENT, (unsigned long)PR_CAP_AMBIENT_CLEAR_ALL,
	    0UL, 0UL, 0UL) != 0 && errno != EINVAL)
		return priv_err(err, errlen, "PR_CAP_AMBIENT_CLEAR_ALL: %s",
		    strerror(errno));
	if (prctl(PR_SET_KEEPCAPS, 0UL, 0, 0, 0) != 0)
		return priv_err(err, errlen, "PR_SET_KEEPCAPS 0: %s",
		    strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0)
		return priv_err(err, errlen, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
	/*
	 * Not dumpable: another process of the same user (the other child)
	 * cannot ptrace us or open /proc/PID/mem, environ, fd; no core file
	 * holds the TLS key.  /proc/PID/status stays world-readable.
	 */
	if (prctl(PR_SET_DUMPABLE, 0UL, 0, 0, 0) != 0)
		return priv_err(err, errlen, "PR_SET_DUMPABLE 0: %s",
		    strerror(errno));
	return 0;
}

/* Step 4: trust nothing above; check the result from the kernel's side. */
static int
drop_verify(const struct pk_priv_user *u, uint64_t keep, int last,
    char *err, size_t errlen)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	uint64_t eff, prm, inh;
	int c;

	if (getresuid(&r, &e, &s) != 0 || r != (uid_t)u->uid ||
	    e != (uid_t)u->uid || s != (uid_t)u->uid)
		return priv_err(err, errlen, "uids are not all %u", u->uid);
	if (getresgid(&gr, &ge, &gs) != 0 || gr != (gid_t)u->gid ||
	    ge != (gid_t)u->gid || gs != (gid_t)u->gid)
		return priv_err(err, errlen, "gids are not all %u", u->gid);
	if (setuid(0) != -1 || setgid(0) != -1)
		return priv_err(err, errlen, "could regain root after drop");
	if (caps_get(&eff, &prm, &inh) != 0)
		return priv_err(err, errlen, "capget: %s", strerror(errno));
	if (eff != keep || prm != keep || inh != 0)
		return priv_err(err, errlen, "capabilities eff %#llx prm %#llx "
		    "inh %#llx, wanted %#llx", (unsigned long long)eff,
		    (unsigned long long)prm, (unsigned long long)inh,
		    (unsigned long long)keep);
	for (c = 0; c <= last; c++)
		if (!(keep & PK_PRIV_CAP(c)) &&
		    prctl(PR_CAPBSET_READ, (unsigned long)c, 0, 0, 0) != 0)
			return priv_err(err, errlen, "capability %d still in "
			    "bounding set", c);
	return 0;
}

int
pk_priv_drop(const struct pk_priv_user *u, uint64_t keep, char *err,
    size_t errlen)
{
	int last, nthr, pdeath = 0;
	pid_t ppid;

	if (geteuid() != 0)
		return 1;
	if (u->uid == 0 || u->gid == 0)
		return priv_err(err, errlen, "user '%s' has uid %u gid %u: "
		    "privilege separation needs an unprivileged user",
		    u->name, u->uid, u->gid);
	if ((nthr = thread_count()) > 1)
		return priv_err(err, errlen, "process has %d threads: drop "
		    "privileges before starting any", nthr);
	last = cap_last();
	if (last < 0 || (last < 63 && (keep >> (last + 1)) != 0))
		return priv_err(err, errlen, "keep mask %#llx names a "
		    "capability above %d", (unsigned long long)keep, last);
	/*
	 * The kernel clears the parent-death signal when the euid changes;
	 * remember it (and the parent) to re-arm it afterwards.
	 */
	ppid = getppid();
	if (prctl(PR_GET_PDEATHSIG, (unsigned long)&pdeath, 0, 0, 0) != 0)
		pdeath = 0;

	if (drop_bounding(keep, last, err, errlen) != 0 ||
	    drop_ids(u, keep, err, errlen) != 0 ||
	    drop_caps(keep, err, errlen) != 0)
		return -1;
	if (pdeath != 0) {
		if (prctl(PR_SET_PDEATHSIG, (unsigned long)pdeath, 0, 0, 0) != 0)
			return priv_err(err, errlen, "PR_SET_PDEATHSIG: %s",
			    strerror(errno));
		/* The parent may have died while the signal was off. */
		if (getppid() != ppid)
			return priv_err(err, errlen, "parent exited during "
			    "privilege drop");
	}
	return drop_verify(u, keep, last, err, errlen);
}

/*
 * chown the regular files directly in the directory open as dfd.  A file
 * with more than one link is skipped: a compromised child running as the
 * user could hard-link /etc/shadow into its spool, and root must not hand
 * that to it at the next start.
 */
static int
own_entries(int dfd, const char *dir, const struct pk_priv_user *u,
    char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	int fd2, n = 0, rc = 0;

	if ((fd2 = dup(dfd)) < 0)
		return priv_err(err, errlen, "%s: dup: %s", dir,
		    strerror(errno));
	if ((d = fdopendir(fd2)) == NULL) {
		close(fd2);
		return priv_err(err, errlen, "%s: %s", dir, strerror(errno));
	}
	while (rc == 0 && n++ < PK_PRIV_OWN_MAX && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (st.st_uid == (uid_t)u->uid && st.st_gid == (gid_t)u->gid)
			continue;
		if (st.st_nlink != 1) {
			log_warnx("%s/%s has %lu links; not changing its owner",
			    dir, de->d_name, (unsigned long)st.st_nlink);
			continue;
		}
		if (fchownat(dfd, de->d_name, (uid_t)u->uid, (gid_t)u->gid,
		    AT_SYMLINK_NOFOLLOW) != 0)
			rc = priv_err(err, errlen, "%s/%s: chown: %s", dir,
			    de->d_name, strerror(errno));
	}
	closedir(d);
	return rc;
}

int
pk_priv_own_dir(const char *dir, const struct pk_priv_user *u, char *err,
    size_t errlen)
{
	struct stat st;
	int fd, rc = 0;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return priv_err(err, errlen, "%s: mkdir: %s", dir,
		    strerror(errno));
	/* O_NOFOLLOW: a planted symlink must not make us chown its target. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return priv_err(err, errlen, "%s: %s", dir,
		    errno == ELOOP || errno == ENOTDIR ?
		    "not a directory (symbolic links are refused)" :
		    strerror(errno));
	if (fstat(fd, &st) != 0)
		rc = priv_err(err, errlen, "%s: fstat: %s", dir,
		    strerror(errno));
	else if ((st.st_uid != (uid_t)u->uid || st.st_gid != (gid_t)u->gid) &&
	    fchown(fd, (uid_t)u->uid, (gid_t)u->gid) != 0)
		rc = priv_err(err, errlen, "%s: chown to %s: %s", dir, u->name,
		    strerror(errno));
	else if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) != 0)
		rc = priv_err(err, errlen, "%s: chmod 0700: %s", dir,
		    strerror(errno));
	if (rc == 0)
		rc = own_entries(fd, dir, u, err, errlen);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The shipper's seccomp filter                                        */
/* ------------------------------------------------------------------ */

#if defined(__x86_64__) && !defined(__ILP32__)
#define PK_SECCOMP_ARCH		AUDIT_ARCH_X86_64
#elif defined(__aarch64__) && defined(__AARCH64EL__)
#define PK_SECCOMP_ARCH		AUDIT_ARCH_AARCH64
#endif

#ifdef PK_SECCOMP_ARCH

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "argument offsets below assume a little-endian seccomp_data"
#endif

#define SC_NR		offsetof(struct seccomp_data, nr)
#define SC_ARCH		offsetof(struct seccomp_data, arch)
/* Low 32 bits of argument i (little-endian), then the high 32 bits. */
#define SC_ARG_LO(i)	(offsetof(struct seccomp_data, args) + 8 * (i))
#define SC_ARG_HI(i)	(SC_ARG_LO(i) + 4)

#define FILTER_MAX	256	/* instructions; x86_64 uses 181 */

/*
 * System calls the shipper may make without condition, and why.  Every
 * name is optional (#ifdef): aarch64 has no open/stat/poll/rename/unlink,
 * only their *at / p* forms, which glibc uses there.
 */
static const int allow_plain[] = {
	/* Descriptors, spool files (read, ack file write, rename, unlink). */
	__NR_read, __NR_write, __NR_readv, __NR_writev, __NR_pread64,
	__NR_pwrite64, __NR_close, __NR_lseek, __NR_fcntl, __NR_fsync,
	__NR_fdatasync, __NR_ftruncate, __NR_openat, __NR_fstat,
	__NR_newfstatat, __NR_getdents64, __NR_renameat, __NR_unlinkat,
#ifdef __NR_open
	__NR_open,
#endif
#ifdef __NR_stat
	__NR_stat, __NR_lstat,
#endif
#ifdef __NR_statx
	__NR_statx,
#endif
#ifdef __NR_rename
	__NR_rename,
#endif
#ifdef __NR_renameat2
	__NR_renameat2,
#endif
#ifdef __NR_unlink
	__NR_unlink,
#endif
	/* ASan reads /proc/self/exe and /proc/self/maps when it reports. */
	__NR_readlinkat,
#ifdef __NR_readlink
	__NR_readlink,
#endif
	/* Network: TCP to the hub; DNS over UDP/TCP and nscd over AF_UNIX
	 * (glibc's resolver sends A and AAAA with sendmmsg; getaddrinfo
	 * connects UDP sockets and calls getsockname to sort addresses). */
	__NR_connect, __NR_getsockopt, __NR_setsockopt, __NR_getsockname,
	__NR_getpeername, __NR_shutdown, __NR_sendto, __NR_recvfrom,
	__NR_sendmsg, __NR_recvmsg, __NR_sendmmsg,
	/* The sanitizers probe whether memory is readable by writing it
	 * into a pipe (IsAccessibleMemoryRange) when they print a report;
	 * a pipe reaches nothing outside the process. */
	__NR_pipe2,
#ifdef __NR_pipe
	__NR_pipe,
#endif
	/* Waiting. */
	__NR_ppoll, __NR_pselect6,
#ifdef __NR_poll
	__NR_poll,
#endif
#ifdef __NR_select
	__NR_select,
#endif
	/* Time (normally the vDSO, these are its fallbacks) and randomness
	 * (OpenSSL's DRBG seeds from getrandom). */
	__NR_clock_gettime, __NR_clock_getres, __NR_clock_nanosleep,
	__NR_nanosleep, __NR_gettimeofday, __NR_getrandom,
#ifdef __NR_time
	__NR_time,
#endif
	/* Memory: malloc, dlopen of libnss_*.so by getaddrinfo, ASan. */
	__NR_brk, __NR_mmap, __NR_munmap, __NR_mremap, __NR_madvise,
	__NR_mprotect,
	/* Signals: handlers, masks, abort(); sigaltstack for ASan. */
	__NR_rt_sigaction, __NR_rt_sigprocmask, __NR_rt_sigreturn,
	__NR_sigaltstack,
	/* Locks (glibc, OpenSSL) and harmless identity queries. */
	__NR_futex, __NR_sched_yield, __NR_getpid, __NR_gettid,
	__NR_getppid, __NR_getuid, __NR_geteuid, __NR_getgid, __NR_getegid,
	__NR_uname,
	/* Leaving. */
	__NR_exit, __NR_exit_group, __NR_restart_syscall,
};

struct filter {
	struct sock_filter	ins[FILTER_MAX];
	unsigned		n;
	int			overflow;
};

static void
emit(struct filter *f, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (f->n >= FILTER_MAX) {
		f->overflow = 1;
		return;
	}
	f->ins[f->n].code = code;
	f->ins[f->n].jt = jt;
	f->ins[f->n].jf = jf;
	f->ins[f->n].k = k;
	f->n++;
}

#define LD(f, off)	emit(f, BPF_LD | BPF_W | BPF_ABS, (uint32_t)(off), 0, 0)
#define RET(f, act)	emit(f, BPF_RET | BPF_K, (act), 0, 0)
#define JEQ(f, v, t, e)	emit(f, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(v), t, e)

/* nr: allow.  Two instructions each, so no jump is ever longer than 1. */
static void
emit_allow(struct filter *f, int nr)
{
	JEQ(f, nr, 0, 1);
	RET(f, SECCOMP_RET_ALLOW);
}

/*
 * nr: allow when the low 32 bits of argument arg are one of v[0..n-1],
 * else return fail.  Used for int arguments, whose high half the kernel
 * ignores.  Leaves the accumulator clobbered, so every path returns.
 */
static void
emit_allow_arg_in(struct filter *f, int nr, unsigned arg, const uint32_t *v,
    unsigned n, uint32_t fail)
{
	unsigned j;

	JEQ(f, nr, 0, (uint8_t)(n + 3));
	LD(f, SC_ARG_LO(arg));
	for (j = 0; j < n; j++)
		JEQ(f, v[j], (uint8_t)(n - 1 - j), j + 1 == n ? 1 : 0);
	RET(f, SECCOMP_RET_ALLOW);
	RET(f, fail);
}

/* nr: allow only when the whole 64-bit argument arg is zero (NULL). */
static void
emit_allow_arg_null(struct filter *f, int nr, unsigned arg, uint32_t fail)
{
	JEQ(f, nr, 0, 6);
	LD(f, SC_ARG_LO(arg));
	JEQ(f, 0, 0, 3);
	LD(f, SC_ARG_HI(arg));
	JEQ(f, 0, 0, 1);
	RET(f, SECCOMP_RET_ALLOW);
	RET(f, fail);
}

/* SECCOMP_RET_KILL_PROCESS if this kernel knows it (4.14+). */
static uint32_t
kill_action(void)
{
	uint32_t act = SECCOMP_RET_KILL_PROCESS;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act) == 0)
		return SECCOMP_RET_KILL_PROCESS;
	/* Kills the calling thread only; the shipper has no other. */
	return SECCOMP_RET_KILL_THREAD;
}

static void
build_filter(struct filter *f, uint32_t kill)
{
	/* Address families the shipper may create sockets in. */
	static const uint32_t families[] = { AF_UNIX, AF_INET, AF_INET6 };
	/* ioctls of libc and OpenSSL's socket BIO; no terminal control. */
	static const uint32_t ioctls[] = { FIONBIO, FIONREAD, TCGETS };
	size_t i;

	memset(f, 0, sizeof(*f));
	/* Another architecture's numbers mean other calls: kill. */
	LD(f, SC_ARCH);
	JEQ(f, PK_SECCOMP_ARCH, 1, 0);
	RET(f, kill);
	LD(f, SC_NR);
#ifdef __x86_64__
	/* x32 calls share the x86_64 arch value; bit 30 marks them. */
	emit(f, BPF_JMP | BPF_JGE | BPF_K, 0x40000000U, 0, 1);
	RET(f, kill);
#endif
	for (i = 0; i < PK_NELEM(allow_plain); i++)
		emit_allow(f, allow_plain[i]);
	/*
	 * socket(): other families fail with EAFNOSUPPORT instead of killing,
	 * because glibc's getaddrinfo(AI_ADDRCONFIG) asks AF_NETLINK which
	 * address families are configured and copes with a refusal.
	 */
	emit_allow_arg_in(f, __NR_socket, 0, families, PK_NELEM(families),
	    SECCOMP_RET_ERRNO | EAFNOSUPPORT);
	/* ioctl(): the three above; anything else fails with ENOTTY. */
	emit_allow_arg_in(f, __NR_ioctl, 1, ioctls, PK_NELEM(ioctls),
	    SECCOMP_RET_ERRNO | ENOTTY);
	/* prlimit64(): reading limits only (getrlimit), never setting. */
	emit_allow_arg_null(f, __NR_prlimit64, 2, SECCOMP_RET_ERRNO | EPERM);
	/* tgkill(): abort() and raise() signal our own process only. */
	{
		uint32_t self = (uint32_t)getpid();

		emit_allow_arg_in(f, __NR_tgkill, 0, &self, 1, kill);
	}
	/* Everything else: execve, clone/fork, ptrace, mount, set*id, bpf,
	 * perf_event_open, module loading, keyctl, kill, ... */
	RET(f, kill);
}

int
pk_priv_seccomp_shipper(char *err, size_t errlen)
{
	struct filter f;
	struct sock_fprog prog;
	long rc;

	/* EINVAL: kernel built without CONFIG_SECCOMP. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL) {
		priv_err(err, errlen, "kernel has no seccomp");
		return 1;
	}
	/*
	 * Probe filter support with a NULL program: EFAULT means filters
	 * exist, EINVAL means CONFIG_SECCOMP_FILTER is off.  Probing first
	 * keeps an EINVAL for a bad program below a hard error, never a
	 * silent "run without".
	 */
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL, 0, 0) == 0 ||
	    errno == EINVAL) {
		priv_err(err, errlen, "kernel has no seccomp filters");
		return 1;
	}
	build_filter(&f, kill_action());
	if (f.overflow)
		return priv_err(err, errlen, "seccomp filter longer than %d",
		    FILTER_MAX);
	prog.len = (unsigned short)f.n;
	prog.filter = f.ins;
#ifdef PK_HAVE_ASAN
	{
		char sym[256];

		/*
		 * ASan builds only.  Cache /proc/self/maps for reports made
		 * inside the filter, and symbolize one address now: clang's
		 * runtime starts llvm-symbolizer as a child process on first
		 * use, which fork/execve would kill inside; started here, it
		 * keeps serving over its pipes.  (gcc's symbolizes in-process.)
		 */
		__sanitizer_sandbox_on_notify(NULL);
		__sanitizer_symbolize_pc(__builtin_return_address(0), "%p %F",
		    sym, sizeof(sym));
	}
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) != 0)
		return priv_err(err, errlen, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
	rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_TSYNC, &prog);
	if (rc < 0 && errno == ENOSYS)	/* before 3.17: no TSYNC either */
		rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
	if (rc < 0)
		return priv_err(err, errlen, "seccomp: %s", strerror(errno));
	if (rc > 0)
		return priv_err(err, errlen, "seccomp: thread %ld could not "
		    "be synchronised", rc);
	return 0;
}

#else	/* !PK_SECCOMP_ARCH */

int
pk_priv_seccomp_shipper(char *err, size_t errlen)
{
	priv_err(err, errlen, "no seccomp filter written for this "
	    "architecture");
	return 1;
}

#endif
