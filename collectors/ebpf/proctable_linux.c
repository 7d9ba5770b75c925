/*
 * proctable_linux.c - the Linux half of the process table (proctable.h):
 * seeding from /proc at start, so processes older than the agent are
 * known, and the kernel's dev_t encoding turned into stat(2)'s.  Called by
 * ebpf.c (seeding) and procdet.c (device numbers), on the collector's
 * thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "collectors/ebpf/proctable.h"
#include "common/util.h"

uint64_t
pk_kdev_to_udev(uint64_t kdev)
{
	return makedev((unsigned)(kdev >> 20), (unsigned)(kdev & 0xfffff));
}

/* ---- seeding from /proc ------------------------------------------- */

static ssize_t
read_small(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, len);
	close(fd);
	return n;
}

static void
seed_status(struct pk_proc *p, int dfd)
{
	char buf[2048], *line, *next;
	uint64_t v;
	ssize_t n;

	if ((n = read_small(dfd, "status", buf, sizeof(buf) - 1)) <= 0)
		return;
	buf[n] = '\0';
	for (line = buf; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "PPid:\t", 6) == 0 &&
		    pk_parse_u64(line + 6, 0, UINT32_MAX, &v, NULL) == 0)
			p->ppid = (uint32_t)v;
		else if (strncmp(line, "Uid:\t", 5) == 0) {
			char *tab = strchr(line + 5, '\t');

			if (tab != NULL)
				*tab = '\0';
			if (pk_parse_u64(line + 5, 0, UINT32_MAX, &v,
			    NULL) == 0)
				p->uid = (uint32_t)v;
		} else if (strncmp(line, "Gid:\t", 5) == 0) {
			char *tab = strchr(line + 5, '\t');

			if (tab != NULL)
				*tab = '\0';
			if (pk_parse_u64(line + 5, 0, UINT32_MAX, &v,
			    NULL) == 0)
				p->gid = (uint32_t)v;
		} else if (strncmp(line, "Name:\t", 6) == 0)
			pk_strlcpy(p->comm, line + 6, sizeof(p->comm));
	}
}

static void
seed_one(struct pk_proctable *t, int procfd, uint32_t pid, const char *name,
    uint64_t now_us)
{
	char buf[PK_PROC_EXE_MAX + 16], args[16384];
	struct pk_proc *p;
	struct stat sb;
	ssize_t n;
	int dfd;

	if ((dfd = openat(procfd, name, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return;
	if ((p = pk_proc_new(t, pid, now_us)) == NULL) {
		close(dfd);
		return;
	}
	p->seeded = 1;
	seed_status(p, dfd);
	n = readlinkat(dfd, "exe", buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		pk_proc_set_exe(p, buf, (size_t)n);
	}
	if (fstatat(dfd, "exe", &sb, 0) == 0) {
		p->key.dev = sb.st_dev;
		p->key.ino = sb.st_ino;
		p->key.size = (uint64_t)sb.st_size;
		p->key.mtime_ns = (uint64_t)sb.st_mtim.tv_sec * 1000000000ULL +
		    (uint64_t)sb.st_mtim.tv_nsec;
		p->ctime_ns = (uint64_t)sb.st_ctim.tv_sec * 1000000000ULL +
		    (uint64_t)sb.st_ctim.tv_nsec;
	}
	n = read_small(dfd, "cmdline", args,
	    PK_MIN(pk_proctable_argv_bytes(t), sizeof(args)));
	if (n > 0) {
		/* cmdline ends with a NUL; the events' argv does too */
		pk_proc_set_args(t, p, args, (size_t)n);
	}
	close(dfd);
	pk_proctable_count_seed(t, 1);
}

int
pk_proctable_seed(struct pk_proctable *t, const char *root, uint64_t now_us)
{
	struct dirent *de;
	uint64_t pid;
	int procfd, added = 0;
	DIR *d;

	if ((procfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	if ((d = fdopendir(procfd)) == NULL) {
		close(procfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (pk_parse_u64(de->d_name, 1, UINT32_MAX, &pid, NULL) != 0)
			continue;
		if (pk_proctable_full(t)) {
			pk_proctable_count_seed(t, 0);
			continue;
		}
		seed_one(t, procfd, (uint32_t)pid, de->d_name, now_us);
		added++;
	}
	closedir(d);
	return added;
}
