/*
 * dir_unix.c - directory listing for POSIX hosts (see dir.h).
 */
#include <sys/stat.h>

#include <dirent.h>
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
