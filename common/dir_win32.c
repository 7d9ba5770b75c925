/*
 * dir_win32.c - directory listing on Windows (see dir.h), with
 * FindFirstFileA, names sorted as on POSIX hosts; atomic file
 * replacement with MoveFileExA; and the key and certificate file calls
 * (CreateFileA, FlushFileBuffers, a private ACL for keys).
 */
#include <windows.h>
#include <sddl.h>

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
 * NTFS, pk_file_move: WRITE_THROUGH, tried again while a reader holds
 * the file) and, when durable, _commit (FlushFileBuffers) before it.  mode: Windows has ACLs, not modes; the
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
	if (_close(fd) != 0 || !ok || pk_file_move(tmp, path) != 0) {
		(void)DeleteFileA(tmp);
		errno = ok ? EIO : saved;
		return -1;
	}
	return 0;
}

/* Windows error -> errno, for the callers' messages. */
static int
win_errno(DWORD e)
{
	switch (e) {
	case ERROR_FILE_EXISTS:
	case ERROR_ALREADY_EXISTS:
		return EEXIST;
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return ENOENT;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
		return EACCES;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return ENOSPC;
	default:
		return EIO;
	}
}

/*
 * Windows refuses to replace a file another handle has open, even one
 * opened with FILE_SHARE_DELETE (a thread reading it: the spool's ack
 * file, the bundle state), where POSIX rename succeeds.  Such a hold is
 * brief: the rename is tried again, at most RENAME_TRIES times
 * RENAME_WAIT_MS.  GetLastError stays the rename's for the caller.
 */
#define RENAME_TRIES	20
#define RENAME_WAIT_MS	5

int
pk_file_move(const char *from, const char *to)
{
	DWORD e = 0;
	int i;

	for (i = 0; i < RENAME_TRIES; i++) {
		if (MoveFileExA(from, to,
		    MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
			return 0;
		e = GetLastError();
		if (e != ERROR_ACCESS_DENIED && e != ERROR_SHARING_VIOLATION)
			break;
		Sleep(RENAME_WAIT_MS);
	}
	errno = win_errno(e);
	SetLastError(e);
	return -1;
}

/*
 * A private file (no group or other bits in mode): protected DACL, full
 * control for SYSTEM (the service) and Administrators, nothing
 * inherited from %ProgramData%, where Users may read.
 */
#define PRIVATE_SDDL	"D:P(A;;FA;;;SY)(A;;FA;;;BA)"

int
pk_file_write(const char *path, const void *buf, size_t len, int mode,
    int flags)
{
	SECURITY_ATTRIBUTES sa, *psa = NULL;
	PSECURITY_DESCRIPTOR sd = NULL;
	const uint8_t *p = buf;
	DWORD n, e = 0;
	HANDLE h;

	if ((mode & 077) == 0) {
		if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(
		    PRIVATE_SDDL, SDDL_REVISION_1, &sd, NULL)) {
			errno = EIO;
			return -1;
		}
		sa.nLength = sizeof(sa);
		sa.lpSecurityDescriptor = sd;
		sa.bInheritHandle = FALSE;
		psa = &sa;
	}
	h = CreateFileA(path, GENERIC_WRITE, 0, psa, (flags & PK_FILE_EXCL) ?
	    CREATE_NEW : CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE)
		e = GetLastError();
	if (sd != NULL)
		LocalFree(sd);
	if (h == INVALID_HANDLE_VALUE) {
		errno = win_errno(e);
		return -1;
	}
	while (len > 0 && e == 0) {
		if (!WriteFile(h, p, len > 65536 ? 65536 : (DWORD)len, &n,
		    NULL) || n == 0)
			e = GetLastError() ? GetLastError() : ERROR_WRITE_FAULT;
		else {
			p += n;
			len -= n;
		}
	}
	if (e == 0 && !FlushFileBuffers(h))
		e = GetLastError();
	if (!CloseHandle(h) && e == 0)
		e = GetLastError();
	if (e != 0) {
		errno = win_errno(e);
		return -1;
	}
	return 0;
}

int
pk_file_read_max(const char *path, size_t max, char **bufp, size_t *lenp)
{
	BY_HANDLE_FILE_INFORMATION fi;
	uint64_t size;
	size_t off = 0;
	char *buf = NULL;
	DWORD n;
	HANDLE h;

	*bufp = NULL;
	*lenp = 0;
	/* OPEN_REPARSE_POINT: a link is opened as itself, then refused. */
	h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL,
	    OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		errno = win_errno(GetLastError());
		return -1;
	}
	if (!GetFileInformationByHandle(h, &fi) ||
	    (fi.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY |
	    FILE_ATTRIBUTE_REPARSE_POINT))) {
		CloseHandle(h);
		errno = EINVAL;
		return -1;
	}
	if ((size = ((uint64_t)fi.nFileSizeHigh << 32) | fi.nFileSizeLow) >
	    max) {
		CloseHandle(h);
		errno = EFBIG;
		return -2;
	}
	if ((buf = malloc((size_t)size + 1)) == NULL) {
		CloseHandle(h);
		errno = ENOMEM;
		return -1;
	}
	while (off < size) {
		if (!ReadFile(h, buf + off, (DWORD)(size - off), &n, NULL) ||
		    n == 0) {
			free(buf);
			CloseHandle(h);
			errno = EIO;
			return -1;
		}
		off += n;
	}
	CloseHandle(h);
	buf[off] = '\0';
	*bufp = buf;
	*lenp = off;
	return 0;
}

/* The directory inherits its parent's ACL (%ProgramData%\Picket's). */
int
pk_dir_make(const char *path)
{
	if (!CreateDirectoryA(path, NULL)) {
		errno = win_errno(GetLastError());
		return -1;
	}
	return 0;
}

int
pk_file_remove(const char *path)
{
	if (!DeleteFileA(path)) {
		errno = win_errno(GetLastError());
		return -1;
	}
	return 0;
}

int
pk_dir_sync_parent(const char *path)
{
	(void)path;
	return 0;
}
