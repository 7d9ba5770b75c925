/*
 * test_ring.c - the capture ring (collectors/pcap/ring.c): order, the
 * skip at the end of the buffer, drops when full (counted, never a torn
 * record), pk_ring_fits agreeing with push, and a two-thread run in which every frame the producer did not
 * drop reaches the consumer intact and in order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/ring.h"

static void
fill(uint8_t *b, uint32_t n, uint32_t seed)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 31 + i);
}

static int
check(const uint8_t *b, uint32_t n, uint32_t seed)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (uint8_t)(seed * 31 + i))
			return 0;
	return 1;
}

static void
test_order_and_wrap(void **state)
{
	struct pk_ring r;
	struct pk_ring_frame f;
	uint8_t buf[2000];
	uint32_t i, next = 0, len;

	(void)state;
	assert_int_equal(pk_ring_init(&r, 1000), 0);
	assert_int_equal(r.size, 64 * 1024);	/* rounded up */
	assert_int_equal(pk_ring_peek(&r, &f), -1);
	/* odd sizes so records end everywhere, incl. near the buffer end */
	for (i = 0; i < 5000; i++) {
		len = 1 + (i * 7919) % 1999;
		fill(buf, len, i);
		assert_int_not_equal(pk_ring_push(&r, i, buf, len, len + 4),
		    -1);
		if (i % 3 == 2) {	/* consume in bursts */
			while (pk_ring_peek(&r, &f) == 0) {
				assert_int_equal(f.ts_us, next);
				assert_int_equal(f.caplen, 1 + (next * 7919) %
				    1999);
				assert_int_equal(f.wirelen, f.caplen + 4);
				assert_true(check(f.data, f.caplen, next));
				pk_ring_pop(&r);
				next++;
			}
		}
	}
	while (pk_ring_peek(&r, &f) == 0) {
		assert_int_equal(f.ts_us, next++);
		pk_ring_pop(&r);
	}
	assert_int_equal(next, 5000);
	assert_int_equal(atomic_load(&r.dropped), 0);
	pk_ring_destroy(&r);
}

static void
test_full_drops_and_wakeup(void **state)
{
	struct pk_ring r;
	struct pk_ring_frame f;
	uint8_t buf[1500];
	int rc, pushed = 0, dropped = 0, i;

	(void)state;
	assert_int_equal(pk_ring_init(&r, 64 * 1024), 0);
	fill(buf, sizeof(buf), 1);
	/* first push into an empty ring asks for a wakeup */
	assert_int_equal(pk_ring_push(&r, 1, buf, sizeof(buf), 1500), 1);
	assert_int_equal(pk_ring_push(&r, 2, buf, sizeof(buf), 1500), 0);
	pushed = 2;
	for (i = 0; i < 100; i++) {
		rc = pk_ring_push(&r, 3, buf, sizeof(buf), 1500);
		if (rc == -1)
			dropped++;
		else
			pushed++;
	}
	assert_true(dropped > 0);
	assert_int_equal((int)atomic_load(&r.dropped), dropped);
	assert_int_equal(atomic_load(&r.dropped_bytes), 1500ULL * dropped);
	/* 64 KiB holds 42 records of 1512 bytes */
	assert_int_equal(pushed, 65536 / 1512);
	/* a frame larger than half the ring is never accepted */
	assert_int_equal(pk_ring_push(&r, 4, buf, 40000, 40000), -1);
	while (pk_ring_peek(&r, &f) == 0) {
		assert_true(check(f.data, f.caplen, 1));
		pk_ring_pop(&r);
		pushed--;
	}
	assert_int_equal(pushed, 0);
	pk_ring_destroy(&r);
}

/* pk_ring_fits says beforehand what push will do, at every fill level,
 * including records that must skip the end of the buffer. */
static void
test_fits_agrees_with_push(void **state)
{
	struct pk_ring r;
	struct pk_ring_frame f;
	uint8_t buf[3000];
	uint32_t i, len;
	int fits, rc, n, refused = 0, skipped_end = 0;
	size_t before;

	(void)state;
	assert_int_equal(pk_ring_init(&r, 64 * 1024), 0);
	fill(buf, sizeof(buf), 7);
	for (i = 0; i < 20000; i++) {
		len = 1 + (i * 2654435761u) % 2999;
		fits = pk_ring_fits(&r, len);
		before = atomic_load(&r.head);
		rc = pk_ring_push(&r, i, buf, len, len);
		assert_int_equal(fits, rc != -1);
		refused += !fits;
		skipped_end += rc != -1 && (before & (r.size - 1)) +
		    len + 16 > r.size;
		/* the consumer takes two every fourth turn: the ring fills,
		 * refuses, and gets room again, over and over */
		for (n = 0; i % 4 == 0 && n < 2 && pk_ring_peek(&r, &f) == 0;
		    n++)
			pk_ring_pop(&r);
	}
	assert_true(refused > 0);
	assert_true(skipped_end > 0);
	/* larger than half the ring: "fits" (push drops and counts it),
	 * so the capture never waits for room that cannot come */
	assert_int_equal(pk_ring_fits(&r, 40000), 1);
	pk_ring_destroy(&r);
}

#define STRESS_N 200000

static void *
producer(void *arg)
{
	struct pk_ring *r = arg;
	uint8_t buf[600];
	uint32_t i, len;

	for (i = 0; i < STRESS_N; i++) {
		len = 20 + i % 577;
		fill(buf, len, i);
		(void)pk_ring_push(r, i, buf, len, len);
	}
	return NULL;
}

static void
test_two_threads(void **state)
{
	struct pk_ring r;
	struct pk_ring_frame f;
	pthread_t t;
	uint64_t got = 0, last = 0;
	int first = 1, done = 0;

	(void)state;
	assert_int_equal(pk_ring_init(&r, 128 * 1024), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, &r), 0);
	while (!done || pk_ring_peek(&r, &f) == 0) {
		if (pk_ring_peek(&r, &f) != 0) {
			done = atomic_load(&r.pushed) + atomic_load(&r.dropped)
			    == STRESS_N;
			continue;
		}
		/* in order, intact, nothing seen twice */
		assert_true(first || f.ts_us > last);
		assert_int_equal(f.caplen, 20 + f.ts_us % 577);
		assert_true(check(f.data, f.caplen, (uint32_t)f.ts_us));
		last = f.ts_us;
		first = 0;
		got++;
		pk_ring_pop(&r);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(got, atomic_load(&r.pushed));
	assert_int_equal(got + atomic_load(&r.dropped), STRESS_N);
	pk_ring_destroy(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_wrap),
		cmocka_unit_test(test_full_drops_and_wakeup),
		cmocka_unit_test(test_fits_agrees_with_push),
		cmocka_unit_test(test_two_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
