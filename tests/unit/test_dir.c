/*
 * test_dir.c - common/dir.h on real files: pk_file_replace creates,
 * replaces whole, leaves no temporary file behind and fails cleanly into a
 * missing directory; pk_dir_each lists in name order and copes with a
 * directory where nothing matches (it once sorted a NULL array).  Portable:
 * it runs natively and as an .exe under wine, against dir_unix.c and
 * dir_win32.c, in the platform's temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/dir.h"
#include "common/pktime.h"

struct seen {
	char	names[8][64];
	int	n;
};

static const char *
sep(const char *dir)
{
	return strchr(dir, '\\') != NULL ? "\\" : "/";
}

/* A fresh directory under the platform's temporary one, by name only:
 * pk_file_replace needs an existing directory, made here with a first
 * replace of a file inside a directory the platform already has. */
static void
tmp_path(char *out, size_t cap, const char *name)
{
	const char *dir;

	if ((dir = getenv("TEMP")) == NULL && (dir = getenv("TMPDIR")) == NULL)
		dir = "/tmp";
	snprintf(out, cap, "%s%spicket-dir-%llu-%s", dir, sep(dir),
	    (unsigned long long)pk_mono_us(), name);
}

static size_t
slurp(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (fp == NULL)
		return (size_t)-1;
	n = fread(buf, 1, cap, fp);
	fclose(fp);
	return n;
}

static int
exists(const char *path)
{
	FILE *fp = fopen(path, "rb");

	if (fp == NULL)
		return 0;
	fclose(fp);
	return 1;
}

static void
test_replace(void **state)
{
	char path[512], tmp[600], buf[64];
	int flags;

	(void)state;
	for (flags = 0; flags <= PK_FILE_DURABLE; flags++) {
		tmp_path(path, sizeof(path), "f.txt");
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		assert_int_equal(pk_file_replace(path, "first version\n", 14,
		    0600, flags), 0);
		assert_int_equal(slurp(path, buf, sizeof(buf)), 14);
		assert_memory_equal(buf, "first version\n", 14);
		/* a shorter one replaces it whole: nothing of the old left */
		assert_int_equal(pk_file_replace(path, "v2", 2, 0600, flags),
		    0);
		assert_int_equal(slurp(path, buf, sizeof(buf)), 2);
		assert_memory_equal(buf, "v2", 2);
		/* empty is a valid content */
		assert_int_equal(pk_file_replace(path, "", 0, 0600, flags), 0);
		assert_int_equal(slurp(path, buf, sizeof(buf)), 0);
		assert_false(exists(tmp));
		assert_int_equal(remove(path), 0);
	}
}

static void
test_replace_missing_dir(void **state)
{
	char dir[512], path[600], tmp[700];

	(void)state;
	tmp_path(dir, sizeof(dir), "absent");
	snprintf(path, sizeof(path), "%s%sf", dir, sep(dir));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(pk_file_replace(path, "x", 1, 0600, PK_FILE_DURABLE),
	    -1);
	assert_false(exists(path));
	assert_false(exists(tmp));
}

static int
note(void *arg, const char *path)
{
	struct seen *s = arg;
	const char *b1 = strrchr(path, '/'), *b2 = strrchr(path, '\\');
	const char *base = b1 > b2 ? b1 : b2;

	assert_true(s->n < 8);
	snprintf(s->names[s->n++], sizeof(s->names[0]), "%s",
	    base != NULL ? base + 1 : path);
	return 0;
}

/*
 * Three files with a suffix no one else uses, in the platform's temporary
 * directory (a directory of their own would need mkdir, which differs
 * between the two platforms): listed in name order, the other file
 * left out; then nothing matches once they are gone.
 */
static void
test_each(void **state)
{
	const char *const names[] = { "b", "a", "c" };
	char suffix[40], path[600];
	const char *tdir;
	struct seen s;
	size_t i;

	(void)state;
	if ((tdir = getenv("TEMP")) == NULL &&
	    (tdir = getenv("TMPDIR")) == NULL)
		tdir = "/tmp";
	snprintf(suffix, sizeof(suffix), ".pk%llu",
	    (unsigned long long)pk_mono_us());
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s%s%s", tdir, sep(tdir),
		    names[i], i == 2 ? ".other" : suffix);
		assert_int_equal(pk_file_replace(path, "x", 1, 0600, 0), 0);
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(pk_dir_each(tdir, suffix, note, &s), 2);
	assert_int_equal(s.n, 2);
	assert_true(strncmp(s.names[0], "a.", 2) == 0);
	assert_true(strncmp(s.names[1], "b.", 2) == 0);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s%s%s", tdir, sep(tdir),
		    names[i], i == 2 ? ".other" : suffix);
		assert_int_equal(remove(path), 0);
	}
	/* no file matches: 0, and the empty list is not sorted (UBSan) */
	memset(&s, 0, sizeof(s));
	assert_int_equal(pk_dir_each(tdir, suffix, note, &s), 0);
	assert_int_equal(s.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_replace_missing_dir),
		cmocka_unit_test(test_each),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
