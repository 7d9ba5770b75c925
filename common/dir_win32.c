/*
 * dir_win32.c - directory listing on Windows (see dir.h), with
 * FindFirstFileA; names are sorted as on POSIX hosts.
 */
#include <windows.h>

#include <errno.h>
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
