/*
 * test_dlist.c - unit tests for the intrusive list in common/dlist.h that
 * the flow table, the reassembler and the scan detector share: order after
 * append, unlink from the head, middle and tail, move to the tail, pop
 * from the head, and PK_CONTAINER_OF on a member that is not first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/dlist.h"

struct item {
	int		 id;	/* before the link: container_of must subtract */
	struct pk_dlink	 link;
};

/* Walk l both ways and check it holds exactly ids[0..n) in order. */
static void
expect(const struct pk_dlist *l, const int *ids, size_t n)
{
	const struct pk_dlink *e, *prev = NULL;
	size_t i;

	for (i = 0, e = l->head; e != NULL; prev = e, e = e->next, i++) {
		assert_true(i < n);
		assert_int_equal(PK_CONTAINER_OF(e, struct item, link)->id,
		    ids[i]);
		assert_ptr_equal(e->prev, prev);
	}
	assert_int_equal(i, n);
	assert_ptr_equal(l->tail, prev);
	for (i = n, e = l->tail; e != NULL; e = e->prev, i--) {
		assert_true(i > 0);
		assert_int_equal(PK_CONTAINER_OF(e, struct item, link)->id,
		    ids[i - 1]);
	}
	assert_int_equal(i, 0);
}

static void
fill(struct pk_dlist *l, struct item *it, int n)
{
	int i;

	pk_dlist_init(l);
	for (i = 0; i < n; i++) {
		it[i].id = i;
		pk_dlist_append(l, &it[i].link);
	}
}

static void
test_append_order(void **state)
{
	static const int want[] = { 0, 1, 2, 3 };
	struct pk_dlist l;
	struct item it[4];

	(void)state;
	fill(&l, it, 0);
	expect(&l, want, 0);
	assert_null(PK_DLIST_FIRST(&l, struct item, link));
	fill(&l, it, 4);
	expect(&l, want, 4);
	assert_ptr_equal(PK_DLIST_FIRST(&l, struct item, link), &it[0]);
}

static void
test_unlink(void **state)
{
	static const int mid[] = { 0, 1, 3, 4 }, ends[] = { 1, 3 };
	static const int none[] = { 0 };
	struct pk_dlist l;
	struct item it[5];

	(void)state;
	fill(&l, it, 5);
	pk_dlist_unlink(&l, &it[2].link);
	assert_null(it[2].link.prev);
	assert_null(it[2].link.next);
	expect(&l, mid, 4);
	pk_dlist_unlink(&l, &it[0].link);
	pk_dlist_unlink(&l, &it[4].link);
	expect(&l, ends, 2);
	pk_dlist_unlink(&l, &it[1].link);
	pk_dlist_unlink(&l, &it[3].link);
	expect(&l, none, 0);
	assert_null(l.head);
}

static void
test_move_tail(void **state)
{
	static const int a[] = { 1, 2, 0 }, b[] = { 1, 0, 2 };
	struct pk_dlist l;
	struct item it[3];

	(void)state;
	fill(&l, it, 3);
	pk_dlist_move_tail(&l, &it[0].link);	/* from the head */
	expect(&l, a, 3);
	pk_dlist_move_tail(&l, &it[0].link);	/* already the tail */
	expect(&l, a, 3);
	pk_dlist_move_tail(&l, &it[2].link);	/* from the middle */
	expect(&l, b, 3);
}

static void
test_pop_head(void **state)
{
	struct pk_dlist l;
	struct item it[3];
	struct pk_dlink *e;
	int i;

	(void)state;
	fill(&l, it, 3);
	for (i = 0; i < 3; i++) {
		e = pk_dlist_pop_head(&l);
		assert_non_null(e);
		assert_ptr_equal(PK_CONTAINER_OF(e, struct item, link), &it[i]);
		assert_null(e->next);
	}
	assert_null(pk_dlist_pop_head(&l));
	assert_null(l.head);
	assert_null(l.tail);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_order),
		cmocka_unit_test(test_unlink),
		cmocka_unit_test(test_move_tail),
		cmocka_unit_test(test_pop_head),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
