/*
 * dir.h - list the files of a directory, the one file-system call the
 * portable core needs (rule and IOC directories).  dir_unix.c and
 * dir_win32.c implement it.  Names come back sorted, so the load order
 * (and so rule order and messages) is the same on every host.
 */
#ifndef PICKET_DIR_H
#define PICKET_DIR_H

#include <stddef.h>

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

#endif
