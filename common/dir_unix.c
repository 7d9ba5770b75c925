/*
 * dir_unix.c - directory listing, atomic file replacement and the key and
 * certificate file calls for POSIX hosts (see dir.h).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/dir.h"

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

int
pk_path_is_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return S_ISDIR(st.st_mode) ? 1 : 0;
}

int
pk_dir_each(const char *dir, const char *suffix, pk_dir_fn fn, void *arg)
{
	char **names = NULL, path[4096];
	struct dirent *de;
	struct stat st;
	size_t n = 0, i;
	int rc = 0, saved;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && n < PK_DIR_MAX_FILES) {
		char **grown;

		if (de->d_name[0] == '.' || !has_suffix(de->d_name, suffix))
			continue;
		if ((grown = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (grown[n] = strdup(de->d_name)) == NULL) {
			if (grown != NULL)
				names = grown;
			rc = -1;
			break;
		}
		names = grown;
		n++;
	}
	saved = errno;
	closedir(d);
	/* qsort's array may not be NULL, even with no element (UBSan). */
	if (rc == 0 && n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (rc == 0 && snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]) < (int)sizeof(path) && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode) && fn(arg, path) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	errno = saved;
	return rc == 0 ? (int)n : -1;
}

/* All of buf to fd, then (durable) fsync; 0 or -1 with errno. */
static int
write_all(int fd, const uint8_t *p, size_t len, int durable)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return durable ? fsync(fd) : 0;
}

int
pk_file_replace(const char *path, const void *buf, size_t len, int mode,
    int flags)
{
	char tmp[1100];
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, (mode_t)mode)) < 0)
		return -1;
	if (write_all(fd, buf, len, flags & PK_FILE_DURABLE) != 0) {
		saved = errno;
		(void)close(fd);
		(void)unlink(tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		saved = errno;
		(void)unlink(tmp);
		errno = saved;
		return -1;
	}
	if (flags & PK_FILE_DURABLE)
		(void)pk_dir_sync_parent(path);	/* the rename, durable */
	return 0;
}

int
pk_file_write(const char *path, const void *buf, size_t len, int mode,
    int flags)
{
	int fd, saved, oflags = O_WRONLY | O_CREAT | O_CLOEXEC;

	oflags |= (flags & PK_FILE_EXCL) ? O_EXCL : O_TRUNC;
	if ((fd = open(path, oflags, mode)) < 0)
		return -1;
	/* The mode of an existing file (replace) or under a umask. */
	if (fchmod(fd, (mode_t)mode) == -1 ||
	    write_all(fd, buf, len, 1) == -1) {
		saved = errno;
		(void)close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

int
pk_file_read_max(const char *path, size_t max, char **bufp, size_t *lenp)
{
	struct stat sb;
	char *buf = NULL;
	size_t off = 0;
	ssize_t n;
	int fd, saved;

	*bufp = NULL;
	*lenp = 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_size < 0) {
		(void)close(fd);
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)sb.st_size > max) {
		(void)close(fd);
		errno = EFBIG;
		return -2;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL)
		goto fail;
	while (off < (size_t)sb.st_size) {
		n = read(fd, buf + off, (size_t)sb.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;	/* shorter than it said */
			goto fail;
		}
		off += (size_t)n;
	}
	(void)close(fd);
	buf[off] = '\0';
	*bufp = buf;
	*lenp = off;
	return 0;
fail:
	saved = errno;
	free(buf);
	(void)close(fd);
	errno = saved;
	return -1;
}

int
pk_file_move(const char *from, const char *to)
{
	return rename(from, to);
}

int
pk_dir_make(const char *path)
{
	return mkdir(path, 0700);
}

int
pk_file_remove(const char *path)
{
	return unlink(path);
}

int
pk_dir_sync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int dfd, rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)(slash - path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	} else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(dfd);
	(void)close(dfd);
	return rc;
}
