/*
 * test_hasher.c - the Linux process collector's hashing thread
 * (collectors/ebpf/hash_linux.c) on a real file: this test's own
 * executable, opened by the worker through /proc/PID/exe as it opens a
 * process's.  A result arrives through the wake descriptor with the
 * file's SHA-256; once it is taken the descriptor is quiet again (a
 * descriptor left readable would make the agent's poll loop spin); the
 * cache answers the second request; a changed identity fails; a file
 * over the size limit is refused and counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "collectors/ebpf/hash.h"

#define MAX_SIZE	(256ULL * 1024 * 1024)

struct fx {
	struct pk_hasher *h;
	struct pk_filekey key;
	char		 exe[4096];
	uint8_t		 want[32];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	ssize_t n;
	int fd;

	assert_non_null(f);
	n = readlink("/proc/self/exe", f->exe, sizeof(f->exe) - 1);
	assert_true(n > 0);
	f->exe[n] = '\0';
	assert_int_equal(pk_hash_file_key(f->exe, &f->key, NULL), 0);
	assert_true((fd = open(f->exe, O_RDONLY)) >= 0);
	assert_int_equal(pk_sha256_file(fd, MAX_SIZE, PK_HASH_BUDGET_US,
	    f->want), 0);
	close(fd);
	f->h = pk_hasher_new(MAX_SIZE, err, sizeof(err));
	assert_non_null(f->h);
	assert_int_equal(pk_hasher_start(f->h, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	pk_hasher_free(f->h);
	free(f);
	return 0;
}

/* Is the wake descriptor readable within ms? */
static int
readable(struct pk_hasher *h, int ms)
{
	struct pollfd p = { .fd = pk_hasher_fd(h), .events = POLLIN };

	assert_true(poll(&p, 1, ms) >= 0);
	return (p.revents & POLLIN) != 0;
}

/* Wait for the next result as the collector does: poll, then take. */
static void
next_result(struct fx *f, struct pk_hres *r)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (pk_hasher_result(f->h, r) == 1)
			return;
		(void)readable(f->h, 100);
	}
	fail_msg("no hash result in 10 s");
}

static void
test_result_then_quiet(void **state)
{
	struct fx *f = *state;
	struct pk_hres r;
	uint8_t out[32];
	int i;

	/* nothing asked: nothing to take, nothing to wake for */
	for (i = 0; i < 3; i++)
		assert_int_equal(pk_hasher_result(f->h, &r), 0);
	assert_false(readable(f->h, 0));

	assert_int_equal(pk_hasher_request(f->h, &f->key, (uint32_t)getpid(),
	    f->exe, out), PK_HASH_PENDING);
	assert_true(readable(f->h, 10000));
	next_result(f, &r);
	assert_int_equal(r.state, PK_HASH_DONE);
	assert_int_equal(r.pid, (uint32_t)getpid());
	assert_memory_equal(&r.key, &f->key, sizeof(f->key));
	assert_memory_equal(r.sha256, f->want, 32);

	/* taken: the next call finds none and leaves the descriptor quiet,
	 * and so do the calls after it */
	for (i = 0; i < 3; i++) {
		assert_int_equal(pk_hasher_result(f->h, &r), 0);
		assert_false(readable(f->h, 0));
	}

	/* the same file again: from the cache, no work, no wake */
	memset(out, 0, sizeof(out));
	assert_int_equal(pk_hasher_request(f->h, &f->key, (uint32_t)getpid(),
	    f->exe, out), PK_HASH_DONE);
	assert_memory_equal(out, f->want, 32);
	assert_int_equal(pk_hasher_result(f->h, &r), 0);
	assert_false(readable(f->h, 50));
}

/*
 * Results asked one after another while earlier ones are still being
 * taken: every one arrives, and the descriptor is quiet at the end.
 */
static void
test_several_then_quiet(void **state)
{
	struct fx *f = *state;
	struct pk_filekey k[3];
	struct pk_hres r;
	uint8_t out[32];
	int i, done = 0, failed = 0;

	for (i = 0; i < 3; i++) {
		k[i] = f->key;
		k[i].mtime_ns += (uint64_t)i;	/* 1 and 2: not this file */
		assert_int_equal(pk_hasher_request(f->h, &k[i],
		    (uint32_t)getpid(), f->exe, out), PK_HASH_PENDING);
		if (i == 0) {
			next_result(f, &r);
			assert_int_equal(r.state, PK_HASH_DONE);
			done++;
		}
	}
	for (i = 1; i < 3; i++) {
		next_result(f, &r);
		/* the file on disk is not the one with that identity */
		if (r.state == PK_HASH_FAILED)
			failed++;
	}
	assert_int_equal(done, 1);
	assert_int_equal(failed, 2);
	assert_int_equal(pk_hasher_result(f->h, &r), 0);
	assert_false(readable(f->h, 0));
	assert_int_equal(pk_hasher_result(f->h, &r), 0);
}

/* A file over max_size is turned away before the queue, and counted. */
static void
test_too_big_counted(void **state)
{
	struct fx *f = *state;
	struct pk_hasher *h;
	char err[256], buf[4096];
	uint8_t out[32];
	FILE *fp;
	size_t n;
	int i;

	h = pk_hasher_new(f->key.size - 1, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(pk_hasher_start(h, err, sizeof(err)), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pk_hasher_request(h, &f->key,
		    (uint32_t)getpid(), f->exe, out), PK_HASH_TOO_BIG);
	assert_false(readable(h, 50));
	fp = tmpfile();
	assert_non_null(fp);
	pk_hasher_stats(h, fp);
	rewind(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(buf, "process.hash.too_big 2\n"));
	assert_non_null(strstr(buf, "process.hash.hashed 0\n"));
	pk_hasher_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_result_then_quiet, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_several_then_quiet, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_big_counted, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
