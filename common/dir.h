/*
 * dir.h - list the files of a directory (rule and IOC directories) and
 * replace a small file atomically (status, task, bundle and certificate
 * files): the file-system calls the agent's portable parts need.
 * dir_unix.c and dir_win32.c implement them.  Names come back sorted, so
 * the load order (and so rule order and messages) is the same on every
 * host.
 */
#ifndef PICKET_DIR_H
#define PICKET_DIR_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#define PK_DIR_MAX_FILES 4096

typedef int (*pk_dir_fn)(void *arg, const char *path);

/*
 * Call fn with the full path of every regular file in dir whose name ends
 * in suffix (e.g. ".rules"), in name order, at most PK_DIR_MAX_FILES.
 * Returns the number of files, or -1 (errno set) if dir cannot be read;
 * stops early and returns -1 if fn does.
 */
int pk_dir_each(const char *dir, const char *suffix, pk_dir_fn fn, void *arg);
/* 1 if path names a directory, 0 if anything else, -1 if it is absent. */
int pk_path_is_dir(const char *path);

/* pk_file_replace flags */
#define PK_FILE_DURABLE	0x1	/* fsync the file before the rename and its
				 * directory after: it survives a power loss */

/*
 * Replace path with the len bytes at buf, atomically: readers see the old
 * file or the new one, never a part.  The bytes go to path + ".tmp"
 * (created with mode, never through a symbolic link), which is renamed
 * over path.  0, or -1 with errno set and the temporary file removed.
 */
int pk_file_replace(const char *path, const void *buf, size_t len, int mode,
    int flags);

/*
 * Keys and certificates (transport/pki.c).  pk_file_write writes path
 * with the len bytes at buf and syncs them to stable storage before it
 * returns: created only if absent with PK_FILE_EXCL (errno EEXIST
 * otherwise), else created or truncated; mode is set on the file (on
 * Windows, where files have ACLs, a mode without group and other bits
 * makes the new file's ACL SYSTEM and Administrators only, not inherited;
 * any other mode inherits the directory's).  0, or -1 with errno.
 */
#define PK_FILE_EXCL	0x2
int pk_file_write(const char *path, const void *buf, size_t len, int mode,
    int flags);
/*
 * The whole of a regular file of 0..max bytes (bundles, their state
 * files), not followed through a symbolic link (or reparse point): 0 with
 * *buf malloc'd (a NUL after the bytes), -1 with errno (ENOENT when
 * absent, EINVAL when not a regular file), -2 larger than max.
 */
int pk_file_read_max(const char *path, size_t max, char **buf, size_t *len);
/*
 * The whole of a small regular file, the same way: 1..max bytes,
 * malloc'd with a NUL after them, the length in *len.  NULL with errno:
 * EINVAL when it is not a regular file of that size.  One body over
 * pk_file_read_max for every host.
 */
static inline char *
pk_file_read_small(const char *path, size_t max, size_t *lenp)
{
	char *buf;
	int r;

	if ((r = pk_file_read_max(path, max, &buf, lenp)) == -2 ||
	    (r == 0 && *lenp == 0)) {
		free(buf);
		errno = EINVAL;
		return NULL;
	}
	return r == 0 ? buf : NULL;
}
/*
 * Rename from over to (an existing to is replaced atomically).  On
 * Windows, where a file another handle has open cannot be replaced, the
 * rename is tried again for up to 100 ms, and it is write-through.  0, or
 * -1 with errno (and, on Windows, GetLastError the rename's).
 */
int pk_file_move(const char *from, const char *to);
/* Make directory path (mode 0700 on POSIX; on Windows it inherits its
 * parent's ACL): 0, or -1 with errno (EEXIST when it is there). */
int pk_dir_make(const char *path);
/* Delete the file path: 0, or -1 with errno. */
int pk_file_remove(const char *path);
/* Make a rename in path's directory durable (fsync the directory; on
 * Windows the rename's WRITE_THROUGH did it).  0 or -1 with errno. */
int pk_dir_sync_parent(const char *path);

#endif
