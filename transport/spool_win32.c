/*
 * spool_win32.c - the spool's file operations on Windows (the table
 * pk_spool_fs_default declared in spool.h); only transport/spool.c calls
 * them.  Native Win32, no POSIX emulation: CreateFileA with every share
 * flag (a reader may read, and the writer delete, a file another handle
 * holds open, as on POSIX), WriteFile at end of file, ReadFile with an
 * OVERLAPPED offset, FlushFileBuffers, MoveFileExA with write-through
 * (pk_file_move) for the atomic ack file.  Win32 errors are mapped to the errno values the
 * portable code looks at (ENOENT, ENOSPC).
 */
#include <windows.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/dir.h"
#include "transport/spool.h"

static int
fail(void)
{
	switch (GetLastError()) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		errno = ENOENT;
		break;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		errno = ENOSPC;
		break;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
		errno = EACCES;
		break;
	case ERROR_ALREADY_EXISTS:
	case ERROR_FILE_EXISTS:
		errno = EEXIST;
		break;
	default:
		errno = EIO;
		break;
	}
	return -1;
}

static int
w_open(const char *path, int mode, void **fh)
{
	DWORD access, disp;
	HANDLE h;

	switch (mode) {
	case PK_SPOOL_OPEN_READ:
		access = GENERIC_READ;
		disp = OPEN_EXISTING;
		break;
	case PK_SPOOL_OPEN_APPEND:
		access = GENERIC_READ | GENERIC_WRITE;
		disp = OPEN_ALWAYS;
		break;
	case PK_SPOOL_OPEN_REPLACE:
		access = GENERIC_WRITE;
		disp = CREATE_ALWAYS;
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	h = CreateFileA(path, access,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, disp,
	    FILE_ATTRIBUTE_NORMAL, NULL);
	if (h == INVALID_HANDLE_VALUE)
		return fail();
	*fh = h;
	return 0;
}

static int
w_append(void *fh, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	LARGE_INTEGER zero;
	DWORD n, chunk;

	zero.QuadPart = 0;
	if (!SetFilePointerEx(fh, zero, NULL, FILE_END))
		return fail();
	while (len > 0) {
		chunk = len > 0x40000000 ? 0x40000000 : (DWORD)len;
		if (!WriteFile(fh, p, chunk, &n, NULL))
			return fail();
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int
w_pread(void *fh, uint64_t off, void *buf, size_t len, size_t *got)
{
	uint8_t *p = buf;
	OVERLAPPED ov;
	DWORD n, chunk;

	*got = 0;
	while (*got < len) {
		memset(&ov, 0, sizeof(ov));
		ov.Offset = (DWORD)(off + *got);
		ov.OffsetHigh = (DWORD)((off + *got) >> 32);
		chunk = len - *got > 0x40000000 ? 0x40000000 :
		    (DWORD)(len - *got);
		if (!ReadFile(fh, p + *got, chunk, &n, &ov)) {
			if (GetLastError() == ERROR_HANDLE_EOF)
				break;
			return fail();
		}
		if (n == 0)
			break;
		*got += n;
	}
	return 0;
}

static int
w_size(void *fh, uint64_t *size)
{
	LARGE_INTEGER sz;

	if (!GetFileSizeEx(fh, &sz))
		return fail();
	*size = (uint64_t)sz.QuadPart;
	return 0;
}

static int
w_truncate(void *fh, uint64_t size)
{
	LARGE_INTEGER pos;

	pos.QuadPart = (LONGLONG)size;
	if (!SetFilePointerEx(fh, pos, NULL, FILE_BEGIN) || !SetEndOfFile(fh))
		return fail();
	return 0;
}

static int
w_sync(void *fh)
{
	return FlushFileBuffers(fh) ? 0 : fail();
}

static void
w_close(void *fh)
{
	CloseHandle(fh);
}

/*
 * NTFS journals names, and FlushFileBuffers on a directory needs a write
 * handle that ordinary accounts may not get (and wine refuses): try, and
 * count a refusal as done.  MoveFileEx with MOVEFILE_WRITE_THROUGH already
 * waited for the rename itself.
 */
static int
w_sync_dir(const char *dir)
{
	HANDLE h;

	h = CreateFileA(dir, GENERIC_READ | GENERIC_WRITE,
	    FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
	    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE)
		return 0;
	(void)FlushFileBuffers(h);
	CloseHandle(h);
	return 0;
}

static int
w_list(const char *dir, pk_spool_name_fn fn, void *arg)
{
	char pattern[PK_SPOOL_PATH_MAX];
	WIN32_FIND_DATAA fd;
	HANDLE h;
	int n, rc = 0;

	n = snprintf(pattern, sizeof(pattern), "%s\\*", dir);
	if (n < 0 || (size_t)n >= sizeof(pattern)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	h = FindFirstFileA(pattern, &fd);
	if (h == INVALID_HANDLE_VALUE) {
		if (GetLastError() == ERROR_FILE_NOT_FOUND)
			return 0;	/* empty */
		return fail();
	}
	do {
		if (strcmp(fd.cFileName, ".") == 0 ||
		    strcmp(fd.cFileName, "..") == 0 ||
		    (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
			continue;
		if (fn(arg, fd.cFileName) != 0) {
			rc = -1;
			break;
		}
	} while (FindNextFileA(h, &fd));
	FindClose(h);
	return rc;
}

static int
w_remove(const char *path)
{
	return DeleteFileA(path) ? 0 : fail();
}

/*
 * Replacing a file another handle has open fails on Windows (access
 * denied or a sharing violation) even with FILE_SHARE_DELETE, where POSIX
 * rename simply succeeds; the agent's two threads meet that on the ack
 * file, which the writer reads for its statistics (one pread, then
 * close) while the shipper's reader replaces it.  Such a hold is brief:
 * pk_file_move (common/dir_win32.c) tries again a few times before it
 * fails.
 */
static int
w_rename(const char *from, const char *to)
{
	return pk_file_move(from, to) == 0 ? 0 : fail();
}

static int
w_mkdir(const char *path)
{
	DWORD attr;

	if (CreateDirectoryA(path, NULL))
		return 0;
	if (GetLastError() == ERROR_ALREADY_EXISTS &&
	    (attr = GetFileAttributesA(path)) != INVALID_FILE_ATTRIBUTES &&
	    (attr & FILE_ATTRIBUTE_DIRECTORY))
		return 0;
	return fail();
}

const struct pk_spool_fsops pk_spool_fs_default = {
	.open = w_open,
	.append = w_append,
	.pread = w_pread,
	.size = w_size,
	.truncate = w_truncate,
	.sync = w_sync,
	.close = w_close,
	.sync_dir = w_sync_dir,
	.list = w_list,
	.remove = w_remove,
	.rename = w_rename,
	.mkdir = w_mkdir,
};
