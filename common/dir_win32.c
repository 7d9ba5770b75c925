/*
 * dir_win32.c - directory listing on Windows (see dir.h), with
 * FindFirstFileA, names sorted as on POSIX hosts; and atomic file
 * replacement with MoveFileExA.
 */
#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	DWORD a = GetFileAttributesA(path);

	if (a == INVALID_FILE_ATTRIBUTES)
		return -1;
	return (a & FILE_ATTRIBUTE_DIRECTORY) ? 1 : 0;
}

int
pk_dir_each(const char *dir, const char *suffix, pk_dir_fn fn, void *arg)
{
	WIN32_FIND_DATAA fd;
	char pattern[4096], path[4096], **names = NULL;
	size_t n = 0, i;
	HANDLE h;
	int rc = 0;

	if (snprintf(pattern, sizeof(pattern), "%s\\*", dir) >=
	    (int)sizeof(pattern)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((h = FindFirstFileA(pattern, &fd)) == INVALID_HANDLE_VALUE) {
		errno = ENOENT;
		return -1;
	}
	do {
		char **grown;

		if ((fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ||
		    fd.cFileName[0] == '.' ||
		    !has_suffix(fd.cFileName, suffix))
			continue;
		if ((grown = realloc(names, (n + 1) * sizeof(*names))) == NULL ||
		    (grown[n] = _strdup(fd.cFileName)) == NULL) {
			if (grown != NULL)
				names = grown;
			rc = -1;
			break;
		}
		names = grown;
		n++;
	} while (n < PK_DIR_MAX_FILES && FindNextFileA(h, &fd));
	FindClose(h);
	if (rc == 0 && n > 1)	/* names may be NULL when n is 0 */
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (rc == 0 && snprintf(path, sizeof(path), "%s\\%s", dir,
		    names[i]) < (int)sizeof(path) && fn(arg, path) != 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc == 0 ? (int)n : -1;
}

/*
 * The temporary file, then MoveFileExA with REPLACE_EXISTING (atomic on
 * NTFS) and, when durable, _commit (FlushFileBuffers) before and
 * WRITE_THROUGH for the rename.  mode: Windows has ACLs, not modes; the
 * file inherits its directory's.
 */
int
pk_file_replace(const char *path, const void *buf, size_t len, int mode,
    int flags)
{
	const uint8_t *p = buf;
	char tmp[1100];
	int fd, n, saved, ok = 1;

	(void)mode;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = _open(tmp, _O_WRONLY | _O_CREAT | _O_TRUNC | _O_BINARY,
	    _S_IREAD | _S_IWRITE)) < 0)
		return -1;
	while (ok && len > 0) {
		n = _write(fd, p, len > 65536 ? 65536 : (unsigned)len);
		if (n <= 0)
			ok = 0;
		else {
			p += n;
			len -= (size_t)n;
		}
	}
	if (ok && (flags & PK_FILE_DURABLE) && _commit(fd) != 0)
		ok = 0;
	saved = errno;
	if (_close(fd) != 0 || !ok || !MoveFileExA(tmp, path,
	    MOVEFILE_REPLACE_EXISTING | ((flags & PK_FILE_DURABLE) ?
	    MOVEFILE_WRITE_THROUGH : 0))) {
		(void)DeleteFileA(tmp);
		errno = ok ? EIO : saved;
		return -1;
	}
	return 0;
}
