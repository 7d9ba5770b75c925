/*
 * test_privsep.c - unit tests for agent/privsep_linux.c (Linux only).
 * Every drop and every filter happens in a forked child, which checks the
 * result from the kernel's side (/proc/self/status, real system calls) and
 * reports by exit status; cmocka asserts only in the parent, since a failed
 * assert longjmps and must not do so in a child.  The drop and chown cases
 * need root and skip with a message otherwise; the seccomp cases need no
 * privilege (the filter sets no_new_privs itself).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "agent/privsep.h"

/* In a child: report the failed check on stderr and exit with its line. */
#define CHK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "child check failed, line %d: %s "	\
		    "(errno %s)\n", __LINE__, #c, strerror(errno));	\
		_exit(100);						\
	}								\
} while (0)

static char	 tmpdir[64];
static uid_t	 nobody_uid;
static gid_t	 nobody_gid;

/* cmocka's skip() marks the case SKIPPED; say why first. */
static int
skip_unless_root(void)
{
	if (geteuid() == 0)
		return 0;
	print_message("      skipped: needs root (run the unit tests as root "
	    "to cover the privilege drop)\n");
	skip();
	return 1;
}

/* Fork, run fn(arg) in the child, return the raw wait status. */
static int
in_child(void (*fn)(void *), void *arg)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void
assert_child_ok(int st)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("child failed: %s %d", WIFEXITED(st) ? "exit" :
		    "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

static void
assert_child_sigsys(int st)
{
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("child not killed by SIGSYS: %s %d",
		    WIFEXITED(st) ? "exit" : "signal",
		    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* The value of a "Name:\tvalue" line of /proc/self/status, or "". */
static const char *
status_field(const char *name, char *out, size_t outlen)
{
	char line[256];
	size_t nl = strlen(name);
	FILE *f;

	out[0] = '\0';
	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return out;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
			snprintf(out, outlen, "%s", line + nl + 2);
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
	return out;
}

static int
status_is(const char *name, const char *want)
{
	char v[128];

	status_field(name, v, sizeof(v));
	if (strcmp(v, want) == 0)
		return 1;
	fprintf(stderr, "%s: '%s', want '%s'\n", name, v, want);
	return 0;
}

/* ---------------------------------------------------------------- */

static void
test_lookup(void **state)
{
	struct pk_priv_user u;
	char err[128];

	(void)state;
	assert_int_equal(pk_priv_lookup("nobody", &u, err, sizeof(err)), 0);
	assert_int_equal(u.uid, nobody_uid);
	assert_int_equal(u.gid, nobody_gid);
	assert_string_equal(u.name, "nobody");

	err[0] = '\0';
	assert_int_equal(pk_priv_lookup("pk-no-such-user-q7", &u, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "pk-no-such-user-q7"));
	assert_int_equal(pk_priv_lookup("", &u, err, sizeof(err)), -1);
	assert_int_equal(pk_priv_lookup("a-name-much-longer-than-sixty-four-"
	    "bytes-which-no-passwd-entry-has-xyz", &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
}

static void
child_not_root(void *arg)
{
	struct pk_priv_user u = { 65534, 65534, "nobody" };
	char err[128];

	(void)arg;
	if (geteuid() == 0)
		CHK(setresuid(65534, 65534, 65534) == 0);
	CHK(pk_priv_drop(&u, 0, err, sizeof(err)) == 1);
	CHK(getuid() == 65534 || getuid() != 0);
}

/* Not root: nothing is done and the caller is told so (1). */
static void
test_drop_not_root(void **state)
{
	(void)state;
	assert_child_ok(in_child(child_not_root, NULL));
}

static void
child_drop_none(void *arg)
{
	struct pk_priv_user u;
	char err[256], want[64];
	gid_t groups[8];
	int sig = 0, fd;

	CHK(prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == 0);
	CHK(pk_priv_lookup("nobody", &u, err, sizeof(err)) == 0);
	if (pk_priv_drop(&u, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "drop: %s\n", err);
		_exit(101);
	}
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", u.uid, u.uid, u.uid,
	    u.uid);
	CHK(status_is("Uid", want));
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", u.gid, u.gid, u.gid,
	    u.gid);
	CHK(status_is("Gid", want));
	CHK(status_is("CapInh", "0000000000000000"));
	CHK(status_is("CapPrm", "0000000000000000"));
	CHK(status_is("CapEff", "0000000000000000"));
	CHK(status_is("CapBnd", "0000000000000000"));
	CHK(status_is("CapAmb", "0000000000000000"));
	CHK(status_is("NoNewPrivs", "1"));
	CHK(getgroups(8, groups) == 1 && groups[0] == (gid_t)u.gid);
	CHK(setuid(0) == -1 && errno == EPERM);
	CHK(setgid(0) == -1 && errno == EPERM);
	CHK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	/* The kernel cleared the death signal on the uid change; re-armed. */
	CHK(prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) == 0 && sig == SIGTERM);
	/* No CAP_DAC_*: a root-only file is closed to us. */
	fd = open((const char *)arg, O_RDONLY);
	CHK(fd == -1 && errno == EACCES);
}

/* A root-only 0600 file in tmpdir, path into buf. */
static void
make_secret(char *buf, size_t len)
{
	int fd;

	snprintf(buf, len, "%s/secret", tmpdir);
	fd = open(buf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "key", 3), 3);
	close(fd);
	assert_int_equal(chown(buf, 0, 0), 0);
}

static void
test_drop_none(void **state)
{
	char secret[128];

	(void)state;
	if (skip_unless_root())
		return;
	make_secret(secret, sizeof(secret));
	assert_child_ok(in_child(child_drop_none, secret));
}

static void
child_drop_keep(void *arg)
{
	struct pk_priv_user u;
	char err[256], buf[8], want[32];
	uint64_t keep = PK_PRIV_CAP(CAP_DAC_READ_SEARCH);
	int fd;

	CHK(pk_priv_lookup("nobody", &u, err, sizeof(err)) == 0);
	if (pk_priv_drop(&u, keep, err, sizeof(err)) != 0) {
		fprintf(stderr, "drop: %s\n", err);
		_exit(101);
	}
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)keep);
	CHK(status_is("CapEff", want));
	CHK(status_is("CapPrm", want));
	CHK(status_is("CapBnd", want));
	CHK(status_is("CapInh", "0000000000000000"));
	CHK(status_is("NoNewPrivs", "1"));
	CHK(getuid() == (uid_t)u.uid && geteuid() == (uid_t)u.uid);
	CHK(setuid(0) == -1);
	/* CAP_DAC_READ_SEARCH reads the root-only file... */
	CHK((fd = open((const char *)arg, O_RDONLY)) >= 0);
	CHK(read(fd, buf, sizeof(buf)) == 3 && memcmp(buf, "key", 3) == 0);
	close(fd);
	/* ...and does not write it. */
	CHK(open((const char *)arg, O_WRONLY) == -1 && errno == EACCES);
}

static void
test_drop_keep(void **state)
{
	char secret[128];

	(void)state;
	if (skip_unless_root())
		return;
	make_secret(secret, sizeof(secret));
	assert_child_ok(in_child(child_drop_keep, secret));
}

static void *
idle_thread(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static void
child_drop_refusals(void *arg)
{
	struct pk_priv_user root = { 0, 0, "root" }, u;
	char err[256];
	pthread_t t;

	(void)arg;
	CHK(pk_priv_drop(&root, 0, err, sizeof(err)) == -1);
	CHK(strstr(err, "root") != NULL);
	CHK(pk_priv_lookup("nobody", &u, err, sizeof(err)) == 0);
	/* A capability number above the kernel's last one. */
	CHK(pk_priv_drop(&u, PK_PRIV_CAP(63), err, sizeof(err)) == -1);
	CHK(getuid() == 0);
	/* A second thread would keep its own bounding set: refused. */
	CHK(pthread_create(&t, NULL, idle_thread, NULL) == 0);
	CHK(pk_priv_drop(&u, 0, err, sizeof(err)) == -1);
	CHK(strstr(err, "threads") != NULL);
	CHK(getuid() == 0);
}

static void
test_drop_refusals(void **state)
{
	(void)state;
	if (skip_unless_root())
		return;
	assert_child_ok(in_child(child_drop_refusals, NULL));
}

static void
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static void
test_own_dir(void **state)
{
	struct pk_priv_user u;
	char err[256], dir[128], p[192], link1[192], link2[192], sym[192],
	    secret[128];
	struct stat st;

	(void)state;
	if (skip_unless_root())
		return;
	assert_int_equal(pk_priv_lookup("nobody", &u, err, sizeof(err)), 0);
	make_secret(secret, sizeof(secret));
	snprintf(dir, sizeof(dir), "%s/spool", tmpdir);
	assert_int_equal(pk_priv_own_dir(dir, &u, err, sizeof(err)), 0);
	assert_int_equal(lstat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_uid, u.uid);
	assert_int_equal(st.st_gid, u.gid);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* A spool left by a run as root: files, a hard link, a symlink. */
	assert_int_equal(chown(dir, 0, 0), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(p, sizeof(p), "%s/seg-1", dir);
	write_file(p, "x");
	snprintf(link1, sizeof(link1), "%s/two", dir);
	write_file(link1, "y");
	snprintf(link2, sizeof(link2), "%s/two-b", tmpdir);
	assert_int_equal(link(link1, link2), 0);
	snprintf(sym, sizeof(sym), "%s/sym", dir);
	assert_int_equal(symlink(secret, sym), 0);

	assert_int_equal(pk_priv_own_dir(dir, &u, err, sizeof(err)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, u.uid);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_uid, u.uid);
	assert_int_equal(st.st_gid, u.gid);
	assert_int_equal(stat(link1, &st), 0);
	assert_int_equal(st.st_uid, 0);		/* two links: left alone */
	assert_int_equal(stat(secret, &st), 0);
	assert_int_equal(st.st_uid, 0);		/* symlink not followed */
	assert_int_equal(lstat(sym, &st), 0);
	assert_int_equal(st.st_uid, 0);

	/* The directory itself as a symlink is refused. */
	snprintf(p, sizeof(p), "%s/spool-link", tmpdir);
	assert_int_equal(symlink(dir, p), 0);
	assert_int_equal(pk_priv_own_dir(p, &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic"));
	/* A missing parent is an error naming the path. */
	snprintf(p, sizeof(p), "%s/no/such", tmpdir);
	assert_int_equal(pk_priv_own_dir(p, &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, p));
}

/* ---------------------------------------------------------------- */
/* seccomp                                                           */

struct sc_env {
	int	port;		/* listening 127.0.0.1 TCP port */
	int	drop;		/* drop to nobody first (root only) */
};

static void
install_filter(void)
{
	char err[256];
	int rc = pk_priv_seccomp_shipper(err, sizeof(err));

	if (rc != 0) {
		fprintf(stderr, "seccomp: %d %s\n", rc, err);
		_exit(102);
	}
}

/* What the shipper does, after the filter, all of which must work. */
static void
child_shipper_allowed(void *arg)
{
	const struct sc_env *env = arg;
	struct pk_priv_user u;
	struct sockaddr_in sin;
	struct addrinfo hints, *ai = NULL;
	char err[256], p[192], q[192], buf[16];
	struct stat st;
	DIR *d;
	int fd, n, nb = 1, sig;
	uint8_t rnd[16];
	void *big;

	if (env->drop) {
		CHK(pk_priv_lookup("nobody", &u, err, sizeof(err)) == 0);
		CHK(pk_priv_drop(&u, 0, err, sizeof(err)) == 0);
	}
	install_filter();
	CHK(status_is("Seccomp", "2"));
	CHK(status_is("NoNewPrivs", "1"));

	/* TCP to the "hub". */
	CHK((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)env->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHK(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHK(setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &nb,
	    sizeof(nb)) == 0);
	CHK(ioctl(fd, FIONBIO, &nb) == 0);
	CHK(send(fd, "ping", 4, 0) == 4);
	CHK(shutdown(fd, SHUT_WR) == 0);
	close(fd);

	/* Spool: read a segment, write/fsync/rename/unlink the ack file. */
	snprintf(p, sizeof(p), "%s/seg", tmpdir);
	CHK((fd = open(p, O_RDONLY | O_CLOEXEC)) >= 0);
	CHK(fstat(fd, &st) == 0 && st.st_size == 5);
	CHK(pread(fd, buf, 5, 0) == 5 && memcmp(buf, "hello", 5) == 0);
	CHK(lseek(fd, 1, SEEK_SET) == 1 && read(fd, buf, 4) == 4);
	close(fd);
	snprintf(p, sizeof(p), "%s/ack.tmp", tmpdir);
	snprintf(q, sizeof(q), "%s/ack", tmpdir);
	CHK((fd = open(p, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC,
	    0600)) >= 0);
	CHK(write(fd, "42\n", 3) == 3 && fsync(fd) == 0 && fdatasync(fd) == 0);
	close(fd);
	CHK(rename(p, q) == 0 && stat(q, &st) == 0 && st.st_size == 3);
	CHK((d = opendir(tmpdir)) != NULL);
	for (n = 0; readdir(d) != NULL; n++)
		;
	closedir(d);
	CHK(n >= 4);
	CHK(unlink(q) == 0);

	/* DNS through nsswitch (files), with and without AI_ADDRCONFIG. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	CHK(getaddrinfo("localhost", "443", &hints, &ai) == 0 && ai != NULL);
	freeaddrinfo(ai);
	hints.ai_flags = AI_ADDRCONFIG;
	CHK(getaddrinfo("localhost", "443", &hints, &ai) == 0 && ai != NULL);
	freeaddrinfo(ai);

	/* Refused with an error, not a kill. */
	CHK(socket(AF_NETLINK, SOCK_RAW, 0) == -1 && errno == EAFNOSUPPORT);
	CHK(socket(AF_PACKET, SOCK_RAW, 0) == -1 && errno == EAFNOSUPPORT);
	CHK(ioctl(2, TIOCSTI, "x") == -1 && errno == ENOTTY);

	/* Memory, time, randomness, signals. */
	CHK((big = malloc(64 << 20)) != NULL);
	memset(big, 1, 64 << 20);
	free(big);
	CHK(getrandom(rnd, sizeof(rnd), 0) == (ssize_t)sizeof(rnd));
	CHK(time(NULL) > 0);
	CHK(usleep(1000) == 0);
	sig = SIGPIPE;
	CHK(signal(sig, SIG_IGN) != SIG_ERR);
	CHK(getpid() > 0 && getppid() > 0 && getuid() == geteuid());
}

static int
listen_lo(int *port)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void
run_shipper_allowed(int drop)
{
	struct sc_env env;
	char p[128], buf[8];
	int lfd, cfd;

	snprintf(p, sizeof(p), "%s/seg", tmpdir);
	write_file(p, "hello");
	if (drop) {
		/* nobody must be able to read and write in tmpdir. */
		assert_int_equal(chown(tmpdir, nobody_uid, nobody_gid), 0);
		assert_int_equal(chown(p, nobody_uid, nobody_gid), 0);
	}
	lfd = listen_lo(&env.port);
	env.drop = drop;
	assert_child_ok(in_child(child_shipper_allowed, &env));
	/* The child connected and sent before exiting: it is queued. */
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	assert_int_equal(read(cfd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
	close(cfd);
	close(lfd);
	if (drop)
		assert_int_equal(chown(tmpdir, 0, 0), 0);
}

static void
test_seccomp_allowed(void **state)
{
	(void)state;
	run_shipper_allowed(0);
}

/* The real shipper order: drop to the user, then the filter. */
static void
test_seccomp_after_drop(void **state)
{
	(void)state;
	if (skip_unless_root())
		return;
	run_shipper_allowed(1);
}

/* Each of these must kill the process with SIGSYS. */
enum forbidden { F_EXECVE, F_FORK, F_CLONE3, F_PTRACE, F_SETUID, F_KILL,
    F_TGKILL_OTHER, F_MOUNT, F_BPF, F_X32, F_NFORBIDDEN };

static void
child_forbidden(void *arg)
{
	enum forbidden what = *(enum forbidden *)arg;
	char *const argv[] = { (char *)"/bin/true", NULL };
	long rc = 0;

	install_filter();
	switch (what) {
	case F_EXECVE:
		execve("/bin/true", argv, environ);
		break;
	case F_FORK:
		rc = fork();
		if (rc == 0)
			_exit(0);
		break;
	case F_CLONE3:
#ifdef SYS_clone3
		rc = syscall(SYS_clone3, NULL, 0);
#else
		raise(SIGSYS);
#endif
		break;
	case F_PTRACE:
		rc = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		break;
	case F_SETUID:
		rc = setuid(getuid());
		break;
	case F_KILL:
		rc = kill(getppid(), 0);
		break;
	case F_TGKILL_OTHER:
		rc = syscall(SYS_tgkill, getppid(), getppid(), 0);
		break;
	case F_MOUNT:
		rc = syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, NULL);
		break;
	case F_BPF:
		rc = syscall(SYS_bpf, 0, NULL, 0);
		break;
	case F_X32:
#ifdef __x86_64__
		rc = syscall(0x40000000 | SYS_getpid);
#else
		raise(SIGSYS);
#endif
		break;
	case F_NFORBIDDEN:
		break;
	}
	fprintf(stderr, "forbidden call %d returned %ld\n", (int)what, rc);
	_exit(103);
}

static void
test_seccomp_kills(void **state)
{
	enum forbidden w;

	(void)state;
	for (w = F_EXECVE; w < F_NFORBIDDEN; w++) {
		print_message("      forbidden call %d\n", (int)w);
		assert_child_sigsys(in_child(child_forbidden, &w));
	}
}

static void
child_abort(void *arg)
{
	(void)arg;
	install_filter();
	abort();
}

/* abort() signals only ourselves (tgkill on our own pid): allowed. */
static void
test_seccomp_abort(void **state)
{
	int st;

	(void)state;
	st = in_child(child_abort, NULL);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

#ifdef TEST_ASAN
static volatile char asan_sink;

static void
child_asan_report(void *arg)
{
	volatile size_t n = 9;
	char *p;

	dup2(*(int *)arg, 2);
	install_filter();
	p = malloc(8);
	/* heap-buffer-overflow: ASan reports and exits 1.  Through memset,
	 * which ASan checks and UBSan's object-size check does not, so that
	 * a -fno-sanitize-recover build reports through ASan too. */
	memset(p, 1, n);
	asan_sink = p[3];	/* or the compiler drops the dead memset */
	free(p);
}

/* In an ASan build, a report made inside the filter must come out whole. */
static void
test_seccomp_asan_report(void **state)
{
	char buf[16384];
	size_t got = 0;
	ssize_t n;
	int pfd[2], st;

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	st = in_child(child_asan_report, &pfd[1]);
	close(pfd[1]);
	while (got < sizeof(buf) - 1 &&
	    (n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(pfd[0]);
	if (!WIFEXITED(st))
		fail_msg("ASan child killed by signal %d; stderr:\n%s",
		    WTERMSIG(st), buf);
	assert_int_not_equal(WEXITSTATUS(st), 0);
	if (strstr(buf, "heap-buffer-overflow") == NULL)
		fail_msg("status %d, stderr:\n%s", WEXITSTATUS(st), buf);
	assert_non_null(strstr(buf, "SUMMARY"));
	/* Symbolized: the frame names the function. */
	assert_non_null(strstr(buf, "in child_asan_report"));
}
#endif

static int
setup(void **state)
{
	struct passwd *pw = getpwnam("nobody");

	(void)state;
	if (pw == NULL)
		return -1;
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pk-privsep-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	(void)state;
	/* Depth first, links not followed: only the scratch tree goes. */
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_drop_not_root),
		cmocka_unit_test(test_drop_none),
		cmocka_unit_test(test_drop_keep),
		cmocka_unit_test(test_drop_refusals),
		cmocka_unit_test(test_own_dir),
		cmocka_unit_test(test_seccomp_allowed),
		cmocka_unit_test(test_seccomp_after_drop),
		cmocka_unit_test(test_seccomp_kills),
		cmocka_unit_test(test_seccomp_abort),
#ifdef TEST_ASAN
		cmocka_unit_test(test_seccomp_asan_report),
#endif
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
