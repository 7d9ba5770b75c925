/*
 * task_sys_linux.c - the /proc readers behind ioc_sweep and snapshot
 * (task_sys.h).  Runs in the collector, which keeps CAP_DAC_READ_SEARCH
 * and CAP_SYS_PTRACE when the eBPF process collector is on: then every
 * process's executable and descriptors are readable; without them only
 * the collector's own user's are, and the rest are reported without a
 * hash or an owner.  Every walk is bounded; /proc changes under us, so a
 * process or socket that vanishes mid-read is skipped, never an error.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/task_sys.h"
#include "common/sha256.h"
#include "common/util.h"

#define LINE_MAX_	512

static int
pid_name(const char *s, uint32_t *pid)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || v == 0 || v > 0xffffffffULL)
		return -1;
	*pid = (uint32_t)v;
	return 0;
}

/* The whole small file into buf (NUL-terminated): its length or -1. */
static long
read_small(const char *path, char *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	(void)close(fd);
	buf[got] = '\0';
	return (long)got;
}

static void
proc_status(uint32_t pid, struct pk_sys_proc *p)
{
	char path[64], buf[4096], *l;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return;
	for (l = buf; l != NULL && *l != '\0'; l = strchr(l, '\n'),
	    l = l != NULL ? l + 1 : NULL) {
		if (strncmp(l, "Name:\t", 6) == 0) {
			size_t n = strcspn(l + 6, "\n");

			if (n >= sizeof(p->comm))
				n = sizeof(p->comm) - 1;
			memcpy(p->comm, l + 6, n);
			p->comm[n] = '\0';
		} else if (strncmp(l, "PPid:\t", 6) == 0)
			p->ppid = (uint32_t)strtoul(l + 6, NULL, 10);
		else if (strncmp(l, "Uid:\t", 5) == 0)
			p->uid = (uint32_t)strtoul(l + 5, NULL, 10);
	}
}

static void
proc_cmdline(uint32_t pid, struct pk_sys_proc *p)
{
	char path[64];
	long n, i;

	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	if ((n = read_small(path, p->cmdline, sizeof(p->cmdline))) <= 0)
		return;
	/* arguments are NUL-separated; the last NUL ends the string */
	while (n > 0 && p->cmdline[n - 1] == '\0')
		n--;
	for (i = 0; i < n; i++)
		if (p->cmdline[i] == '\0' || (unsigned char)p->cmdline[i] < 0x20)
			p->cmdline[i] = ' ';
	p->cmdline[n] = '\0';
}

int
pk_sys_procs(int (*fn)(void *, const struct pk_sys_proc *), void *arg)
{
	struct pk_sys_proc *p;
	struct dirent *de;
	char path[64];
	ssize_t n;
	DIR *d;
	int r = 0, count = 0;
	uint32_t pid;

	if ((p = malloc(sizeof(*p))) == NULL)
		return -1;
	if ((d = opendir("/proc")) == NULL) {
		free(p);
		return -1;
	}
	while (r == 0 && count < PK_SYS_PROCS_MAX && (de = readdir(d)) != NULL) {
		if (pid_name(de->d_name, &pid) != 0)
			continue;
		count++;
		memset(p, 0, sizeof(*p));
		p->pid = pid;
		proc_status(pid, p);
		if (p->comm[0] == '\0')
			continue;	/* gone */
		snprintf(path, sizeof(path), "/proc/%u/exe", pid);
		n = readlink(path, p->exe, sizeof(p->exe) - 1);
		p->exe[n > 0 ? n : 0] = '\0';
		proc_cmdline(pid, p);
		r = fn(arg, p);
	}
	(void)closedir(d);
	free(p);
	return r;
}

int
pk_sys_exe_sha256(uint32_t pid, uint8_t out[32], const volatile int *stop)
{
	struct pk_sha256 c;
	uint8_t buf[65536];
	char path[64];
	struct stat sb;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > PK_SYS_HASH_MAX) {
		(void)close(fd);
		return -1;
	}
	pk_sha256_init(&c);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		pk_sha256_update(&c, buf, (size_t)n);
		if (stop != NULL && *stop) {
			(void)close(fd);
			return -1;
		}
	}
	(void)close(fd);
	if (n < 0)
		return -1;
	pk_sha256_final(&c, out);
	return 0;
}

/* ------------------------------------------------------------ sockets */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* n hex digits at s into *v; 0 or -1. */
static int
hexn(const char *s, int n, uint32_t *v)
{
	int i, h;

	*v = 0;
	for (i = 0; i < n; i++) {
		if ((h = hexval((unsigned char)s[i])) < 0)
			return -1;
		*v = (*v << 4) | (uint32_t)h;
	}
	return 0;
}

/*
 * "0100007F:0016": the kernel prints each 32-bit word of the address as
 * the host loaded it, so on a little-endian host the bytes come reversed.
 */
static int
addr_port(const char *s, int v6, struct pk_addr *a, uint16_t *port)
{
	const uint16_t one = 1;
	int words = v6 ? 4 : 1, w, k;
	uint8_t b[16];
	uint32_t v;

	for (w = 0; w < words; w++) {
		if (hexn(s + 8 * w, 8, &v) != 0)
			return -1;
		for (k = 0; k < 4; k++)
			b[4 * w + k] = *(const uint8_t *)&one ?
			    (uint8_t)(v >> (8 * k)) : (uint8_t)(v >> (24 - 8 * k));
	}
	s += 8 * words;
	/* a blank follows: the caller steps over it */
	if (*s != ':' || hexn(s + 1, 4, &v) != 0 || s[5] != ' ')
		return -1;
	*port = (uint16_t)v;
	if (v6)
		pk_addr_v6(a, b);
	else
		pk_addr_v4(a, b);
	return 0;
}

static const char *
tcp_state(uint32_t st)
{
	static const char *const names[] = { "?", "established", "syn_sent",
	    "syn_recv", "fin_wait1", "fin_wait2", "time_wait", "close",
	    "close_wait", "last_ack", "listen", "closing", "new_syn_recv" };

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

int
pk_sys_sock_line(const char *line, int v6, int udp, struct pk_sys_sock *s)
{
	const char *p = line;
	uint32_t st;
	unsigned long long inode;
	unsigned long uid;
	char *end;
	int field;

	memset(s, 0, sizeof(*s));
	while (*p == ' ')
		p++;
	/* "sl:" */
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ':' || *p++ != ' ')
		return -1;
	if (addr_port(p, v6, &s->local, &s->lport) != 0)
		return -1;
	p += v6 ? 38 : 14;
	if (addr_port(p, v6, &s->remote, &s->rport) != 0)
		return -1;
	p += v6 ? 38 : 14;
	if (hexn(p, 2, &st) != 0 || p[2] != ' ')
		return -1;
	p += 3;
	/* tx:rx tr:when retrnsmt, then uid timeout inode */
	for (field = 0; field < 3; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return -1;
		while (*p == ' ')
			p++;
	}
	errno = 0;
	uid = strtoul(p, &end, 10);
	if (end == p || errno != 0)
		return -1;
	p = end;
	while (*p == ' ')
		p++;
	(void)strtoul(p, &end, 10);	/* timeout */
	if (end == p)
		return -1;
	p = end;
	inode = strtoull(p, &end, 10);
	if (end == p || errno != 0)
		return -1;
	s->uid = (uint32_t)uid;
	s->inode = inode;
	s->proto = udp ? (v6 ? "udp6" : "udp") : (v6 ? "tcp6" : "tcp");
	if (udp)
		s->state = st == 7 ? "unconnected" : st == 1 ? "connected" :
		    tcp_state(st);
	else
		s->state = tcp_state(st);
	return 0;
}

/* inode -> pid, open addressing; bounded. */
struct inomap {
	uint64_t	*ino;
	uint32_t	*pid;
	size_t		 cap, n;
};

static void
inomap_put(struct inomap *m, uint64_t ino, uint32_t pid)
{
	size_t i;

	if (m->n * 2 >= m->cap || ino == 0)
		return;
	for (i = (size_t)(ino * 0x9e3779b97f4a7c15ULL) & (m->cap - 1);
	    m->ino[i] != 0; i = (i + 1) & (m->cap - 1))
		if (m->ino[i] == ino)
			return;
	m->ino[i] = ino;
	m->pid[i] = pid;
	m->n++;
}

static uint32_t
inomap_get(const struct inomap *m, uint64_t ino)
{
	size_t i;

	if (m->cap == 0 || ino == 0)
		return 0;
	for (i = (size_t)(ino * 0x9e3779b97f4a7c15ULL) & (m->cap - 1);
	    m->ino[i] != 0; i = (i + 1) & (m->cap - 1))
		if (m->ino[i] == ino)
			return m->pid[i];
	return 0;
}

static void
inomap_fill(struct inomap *m)
{
	char path[64], link[64];
	struct dirent *de, *fe;
	DIR *d, *fd;
	uint32_t pid;
	ssize_t n;
	int procs = 0, fds;

	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL && procs < PK_SYS_PROCS_MAX) {
		if (pid_name(de->d_name, &pid) != 0)
			continue;
		procs++;
		snprintf(path, sizeof(path), "/proc/%u/fd", pid);
		if ((fd = opendir(path)) == NULL)
			continue;
		fds = 0;
		while ((fe = readdir(fd)) != NULL && fds++ < 65536) {
			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%u/fd/%.16s", pid,
			    fe->d_name);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 8)
				continue;
			link[n] = '\0';
			if (strncmp(link, "socket:[", 8) == 0)
				inomap_put(m, strtoull(link + 8, NULL, 10),
				    pid);
		}
		(void)closedir(fd);
	}
	(void)closedir(d);
}

int
pk_sys_sockets(int (*fn)(void *, const struct pk_sys_sock *), void *arg)
{
	static const struct { const char *path; int v6, udp; } files[] = {
		{ "/proc/net/tcp", 0, 0 }, { "/proc/net/tcp6", 1, 0 },
		{ "/proc/net/udp", 0, 1 }, { "/proc/net/udp6", 1, 1 },
	};
	struct inomap m = { NULL, NULL, 2 * 131072, 0 };
	struct pk_sys_sock s;
	char line[LINE_MAX_];
	size_t i;
	FILE *fp;
	int r = 0, lines = 0;

	m.ino = calloc(m.cap, sizeof(*m.ino));
	m.pid = calloc(m.cap, sizeof(*m.pid));
	if (m.ino == NULL || m.pid == NULL)
		m.cap = 0;
	else
		inomap_fill(&m);
	for (i = 0; r == 0 && i < sizeof(files) / sizeof(files[0]); i++) {
		if ((fp = fopen(files[i].path, "re")) == NULL)
			continue;
		while (r == 0 && lines < PK_SYS_SOCKS_MAX &&
		    fgets(line, sizeof(line), fp) != NULL) {
			lines++;
			if (pk_sys_sock_line(line, files[i].v6, files[i].udp,
			    &s) != 0)
				continue;
			s.pid = inomap_get(&m, s.inode);
			r = fn(arg, &s);
		}
		(void)fclose(fp);
	}
	free(m.ino);
	free(m.pid);
	return r;
}

int
pk_sys_modules(int (*fn)(void *, const struct pk_sys_module *), void *arg)
{
	struct pk_sys_module mod;
	char line[LINE_MAX_];
	unsigned long long size;
	unsigned refs;
	FILE *fp;
	int r = 0, n = 0;

	if ((fp = fopen("/proc/modules", "re")) == NULL)
		return -1;
	while (r == 0 && n++ < PK_SYS_MODULES_MAX &&
	    fgets(line, sizeof(line), fp) != NULL) {
		char deps[LINE_MAX_], state[16];

		memset(&mod, 0, sizeof(mod));
		/* name size refs deps state address */
		if (sscanf(line, "%63s %llu %u %511s %15s", mod.name, &size,
		    &refs, deps, state) != 5)
			continue;
		mod.size = size;
		mod.refs = refs;
		pk_strlcpy(mod.state, state, sizeof(mod.state));
		r = fn(arg, &mod);
	}
	(void)fclose(fp);
	return r;
}
