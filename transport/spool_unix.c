/*
 * spool_unix.c - the spool's file operations on POSIX hosts (the table
 * pk_spool_fs_default declared in spool.h); only transport/spool.c calls
 * them.  Plain descriptors: O_APPEND for segments, pread for readers (so a
 * reader never moves a shared offset), fdatasync for records (the size
 * change of an append is part of what fdatasync writes), fsync on the
 * directory for names.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport/spool.h"

static int
fd_of(void *fh)
{
	return (int)(intptr_t)fh - 1;
}

static int
ux_open(const char *path, int mode, void **fh)
{
	int fd, flags = O_CLOEXEC;

	switch (mode) {
	case PK_SPOOL_OPEN_READ:
		flags |= O_RDONLY;
		break;
	case PK_SPOOL_OPEN_APPEND:
		flags |= O_RDWR | O_APPEND | O_CREAT;
		break;
	case PK_SPOOL_OPEN_REPLACE:
		flags |= O_WRONLY | O_CREAT | O_TRUNC;
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	do
		fd = open(path, flags, 0600);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return -1;
	*fh = (void *)(intptr_t)(fd + 1);
	return 0;
}

static int
ux_append(void *fh, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd_of(fh), p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
ux_pread(void *fh, uint64_t off, void *buf, size_t len, size_t *got)
{
	uint8_t *p = buf;
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = pread(fd_of(fh), p + *got, len - *got,
		    (off_t)(off + *got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

static int
ux_size(void *fh, uint64_t *size)
{
	struct stat st;

	if (fstat(fd_of(fh), &st) != 0)
		return -1;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int
ux_truncate(void *fh, uint64_t size)
{
	int rc;

	do
		rc = ftruncate(fd_of(fh), (off_t)size);
	while (rc != 0 && errno == EINTR);
	return rc;
}

static int
ux_sync(void *fh)
{
	return fdatasync(fd_of(fh));
}

static void
ux_close(void *fh)
{
	(void)close(fd_of(fh));
}

static int
ux_sync_dir(const char *dir)
{
	int fd, rc, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return rc;
}

static int
ux_list(const char *dir, pk_spool_name_fn fn, void *arg)
{
	struct dirent *de;
	DIR *d;
	int rc = 0, saved;

	if ((d = opendir(dir)) == NULL)
		return -1;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fn(arg, de->d_name) != 0) {
			rc = -1;
			break;
		}
	}
	saved = errno;
	(void)closedir(d);
	errno = saved;
	return rc;
}

static int
ux_remove(const char *path)
{
	return unlink(path);
}

static int
ux_rename(const char *from, const char *to)
{
	return rename(from, to);
}

static int
ux_mkdir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return -1;
}

const struct pk_spool_fsops pk_spool_fs_default = {
	.open = ux_open,
	.append = ux_append,
	.pread = ux_pread,
	.size = ux_size,
	.truncate = ux_truncate,
	.sync = ux_sync,
	.close = ux_close,
	.sync_dir = ux_sync_dir,
	.list = ux_list,
	.remove = ux_remove,
	.rename = ux_rename,
	.mkdir = ux_mkdir,
};
