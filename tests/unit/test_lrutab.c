/*
 * test_lrutab.c - unit tests for common/lrutab.h, the bounded LRU hash
 * table the detectors share: bucket sizing from the cap, find by hash
 * with an equality callback (including colliding hashes), eviction of the
 * least recently used when full and its counter, touch, unlink from the
 * middle of a chain and of the LRU list, and clear.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/lrutab.h"

struct item {
	struct pk_lrunode n;
	int		 key;
};

static int
item_eq(const struct pk_lrunode *n, const void *key)
{
	return ((const struct item *)(const void *)n)->key == *(const int *)key;
}

static struct item *
find(struct pk_lrutab *t, uint64_t h, int key)
{
	return (struct item *)(void *)pk_lrutab_find(t, h, item_eq, &key);
}

/* Keys in LRU order, oldest first, into out; returns how many. */
static size_t
lru_keys(const struct pk_lrutab *t, int *out, size_t max)
{
	const struct pk_dlink *l;
	size_t n = 0;

	for (l = t->lru.head; l != NULL && n < max; l = l->next)
		out[n++] = PK_CONTAINER_OF(l, struct item, n.lru)->key;
	return n;
}

static void
test_init_buckets(void **unused)
{
	struct pk_lrutab t;

	(void)unused;
	assert_int_equal(pk_lrutab_init(&t, 0, 1u << 20), 0);
	assert_int_equal(t.cap, 1);
	assert_int_equal(t.mask + 1, PK_LRUTAB_MIN_BUCKETS);
	pk_lrutab_clear(&t, NULL, NULL);
	assert_int_equal(pk_lrutab_init(&t, 1000, 1u << 20), 0);
	assert_int_equal(t.mask + 1, 1024);
	pk_lrutab_clear(&t, NULL, NULL);
	/* the bucket count stops at max_buckets, the cap does not */
	assert_int_equal(pk_lrutab_init(&t, 100000, 4096), 0);
	assert_int_equal(t.mask + 1, 4096);
	assert_int_equal(t.cap, 100000);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.evicted, 0);
	assert_null(pk_lrutab_oldest(&t));
	pk_lrutab_clear(&t, NULL, NULL);
	assert_null(t.b);
}

static void
test_find_collisions(void **unused)
{
	struct pk_lrutab t;
	struct item a, b, c;

	(void)unused;
	assert_int_equal(pk_lrutab_init(&t, 8, 64), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	a.key = 1;
	b.key = 2;
	c.key = 3;
	/* a and b share a hash, c only a bucket (h & 63) */
	pk_lrutab_link(&t, &a.n, 7, 100);
	pk_lrutab_link(&t, &b.n, 7, 101);
	pk_lrutab_link(&t, &c.n, 7 + 64, 102);
	assert_int_equal(t.n, 3);
	assert_ptr_equal(find(&t, 7, 1), &a);
	assert_ptr_equal(find(&t, 7, 2), &b);
	assert_ptr_equal(find(&t, 7 + 64, 3), &c);
	assert_null(find(&t, 7, 3));		/* right key, wrong hash */
	assert_null(find(&t, 7 + 64, 1));
	assert_null(find(&t, 8, 1));
	/* the chain holds all three, newest first */
	assert_ptr_equal(pk_lrutab_chain(&t, 7), &c.n);
	assert_ptr_equal(c.n.hnext, &b.n);
	assert_ptr_equal(b.n.hnext, &a.n);
	assert_null(a.n.hnext);
	assert_int_equal(a.n.touch_us, 100);
	assert_int_equal(c.n.hash, 7 + 64);
	pk_lrutab_clear(&t, NULL, NULL);
}

static void
test_eviction_order_and_touch(void **unused)
{
	struct pk_lrutab t;
	struct item it[5];
	struct pk_lrunode *v;
	int keys[8];
	int i;

	(void)unused;
	memset(it, 0, sizeof(it));
	assert_int_equal(pk_lrutab_init(&t, 3, 64), 0);
	for (i = 0; i < 3; i++) {
		assert_null(pk_lrutab_victim(&t));	/* room left */
		it[i].key = i;
		pk_lrutab_link(&t, &it[i].n, (uint64_t)i, (uint64_t)i);
	}
	assert_int_equal(t.evicted, 0);
	assert_int_equal(lru_keys(&t, keys, 8), 3);
	assert_int_equal(keys[0], 0);
	assert_int_equal(keys[2], 2);
	/* touching the oldest makes 1 the next to go */
	pk_lrutab_touch(&t, &it[0].n, 50);
	assert_int_equal(it[0].n.touch_us, 50);
	assert_ptr_equal(pk_lrutab_oldest(&t), &it[1].n);
	/* touching the newest changes nothing but its time */
	pk_lrutab_touch(&t, &it[0].n, 51);
	assert_int_equal(lru_keys(&t, keys, 8), 3);
	assert_int_equal(keys[0], 1);
	assert_int_equal(keys[1], 2);
	assert_int_equal(keys[2], 0);
	/* full: the victim is the least recently used, counted */
	v = pk_lrutab_victim(&t);
	assert_ptr_equal(v, &it[1].n);
	assert_int_equal(t.evicted, 1);
	pk_lrutab_unlink(&t, v);
	assert_null(find(&t, 1, 1));
	assert_null(pk_lrutab_victim(&t));
	assert_int_equal(t.evicted, 1);
	it[3].key = 3;
	pk_lrutab_link(&t, &it[3].n, 3, 60);
	assert_int_equal(t.n, 3);
	v = pk_lrutab_victim(&t);
	assert_ptr_equal(v, &it[2].n);
	assert_int_equal(t.evicted, 2);
	pk_lrutab_unlink(&t, v);
	it[4].key = 4;
	pk_lrutab_link(&t, &it[4].n, 4, 61);
	assert_int_equal(lru_keys(&t, keys, 8), 3);
	assert_int_equal(keys[0], 0);
	assert_int_equal(keys[1], 3);
	assert_int_equal(keys[2], 4);
	assert_int_equal(t.n, 3);
	pk_lrutab_clear(&t, NULL, NULL);
}

static void
test_unlink_middle(void **unused)
{
	struct pk_lrutab t;
	struct item it[5];
	int keys[8];
	int i;

	(void)unused;
	memset(it, 0, sizeof(it));
	assert_int_equal(pk_lrutab_init(&t, 10, 64), 0);
	/* all in one chain (same bucket), in LRU order 0..4 */
	for (i = 0; i < 5; i++) {
		it[i].key = i;
		pk_lrutab_link(&t, &it[i].n, 5 + 64 * (uint64_t)i, 10);
	}
	pk_lrutab_unlink(&t, &it[2].n);		/* middle of both */
	assert_null(it[2].n.hnext);
	assert_int_equal(t.n, 4);
	assert_null(find(&t, 5 + 128, 2));
	for (i = 0; i < 5; i++)
		if (i != 2)
			assert_ptr_equal(find(&t, 5 + 64 * (uint64_t)i, i),
			    &it[i]);
	assert_int_equal(lru_keys(&t, keys, 8), 4);
	assert_int_equal(keys[0], 0);
	assert_int_equal(keys[1], 1);
	assert_int_equal(keys[2], 3);
	assert_int_equal(keys[3], 4);
	pk_lrutab_unlink(&t, &it[4].n);		/* chain head, LRU tail */
	pk_lrutab_unlink(&t, &it[0].n);		/* chain tail, LRU head */
	assert_int_equal(t.n, 2);
	assert_ptr_equal(pk_lrutab_oldest(&t), &it[1].n);
	assert_ptr_equal(pk_lrutab_chain(&t, 5), &it[3].n);
	assert_ptr_equal(it[3].n.hnext, &it[1].n);
	assert_null(it[1].n.hnext);
	/* and it can go back in */
	pk_lrutab_link(&t, &it[2].n, 5 + 128, 11);
	assert_ptr_equal(find(&t, 5 + 128, 2), &it[2]);
	assert_int_equal(t.n, 3);
	pk_lrutab_clear(&t, NULL, NULL);
}

struct released {
	int	 keys[16];
	size_t	 n;
};

static void
release(struct pk_lrunode *n, void *arg)
{
	struct released *r = arg;
	struct item *it = (struct item *)(void *)n;

	assert_true(r->n < 16);
	r->keys[r->n++] = it->key;
	free(it);
}

static void
test_clear(void **unused)
{
	struct pk_lrutab t;
	struct released r;
	struct item *it;
	int i;

	(void)unused;
	memset(&r, 0, sizeof(r));
	assert_int_equal(pk_lrutab_init(&t, 4, 64), 0);
	for (i = 0; i < 6; i++) {
		struct pk_lrunode *v = pk_lrutab_victim(&t);

		if (v != NULL) {
			pk_lrutab_unlink(&t, v);
			free(v);
		}
		it = calloc(1, sizeof(*it));
		assert_non_null(it);
		it->key = i;
		pk_lrutab_link(&t, &it->n, (uint64_t)i * 31, (uint64_t)i);
	}
	assert_int_equal(t.evicted, 2);
	pk_lrutab_touch(&t, &find(&t, 2 * 31, 2)->n, 99);
	/* oldest first, each handed over once (ASan catches a leak) */
	pk_lrutab_clear(&t, release, &r);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.keys[0], 3);
	assert_int_equal(r.keys[1], 4);
	assert_int_equal(r.keys[2], 5);
	assert_int_equal(r.keys[3], 2);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.evicted, 2);		/* still reported */
	assert_null(t.b);
	assert_null(pk_lrutab_oldest(&t));
	/* a table whose init never ran (zeroed) clears safely */
	memset(&t, 0, sizeof(t));
	pk_lrutab_clear(&t, release, &r);
	assert_int_equal(r.n, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_buckets),
		cmocka_unit_test(test_find_collisions),
		cmocka_unit_test(test_eviction_order_and_touch),
		cmocka_unit_test(test_unlink_middle),
		cmocka_unit_test(test_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
