/*
 * lrutab.h - a bounded hash table with an LRU list, so the detectors'
 * tables (scan sources and trackers, rule alerts, payload fingerprints,
 * IOC indicators) share one tested implementation of the chaining, the
 * LRU bookkeeping and the cap instead of each hand-writing it.  The table
 * is intrusive: an element embeds a struct pk_lrunode (usually as its
 * first member) and the table never allocates or frees elements, only its
 * bucket array.  The caller hashes its own key, finds by hash with an
 * equality callback (or walks the chain from pk_lrutab_chain itself),
 * links, touches (move to the LRU tail and stamp the caller's clock) and
 * evicts the oldest when full; the table keeps the count, the cap and the
 * eviction counter so every table reports what it dropped the same way.
 * Header-only, standard C; any file may include it.
 */
#ifndef PICKET_LRUTAB_H
#define PICKET_LRUTAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/dlist.h"

/* Fewest buckets a table gets, however small its cap. */
#define PK_LRUTAB_MIN_BUCKETS	64u

struct pk_lrunode {
	struct pk_lrunode	*hnext;		/* hash chain */
	struct pk_dlink		 lru;		/* head = least recently used */
	uint64_t		 hash;
	uint64_t		 touch_us;	/* caller's clock at last use */
};

struct pk_lrutab {
	struct pk_lrunode	**b;
	size_t			 mask;
	struct pk_dlist		 lru;		/* head = least recently used */
	uint64_t		 n, cap, evicted;
};

/* Does node n hold the key the caller is looking for? */
typedef int (*pk_lrutab_eq_fn)(const struct pk_lrunode *n, const void *key);

/*
 * An empty table holding at most cap nodes (0 counts as 1), with a power
 * of two number of buckets: at least cap (so chains stay short when
 * full) but no more than max_buckets, and no fewer than
 * PK_LRUTAB_MIN_BUCKETS.  0, or -1 when the buckets cannot be allocated.
 */
static inline int
pk_lrutab_init(struct pk_lrutab *t, uint64_t cap, size_t max_buckets)
{
	size_t nb = PK_LRUTAB_MIN_BUCKETS;

	t->b = NULL;
	t->mask = 0;
	pk_dlist_init(&t->lru);
	t->n = t->evicted = 0;
	t->cap = cap ? cap : 1;
	while (nb < t->cap && nb < max_buckets)
		nb <<= 1;
	if ((t->b = (struct pk_lrunode **)calloc(nb, sizeof(*t->b))) == NULL)
		return -1;
	t->mask = nb - 1;
	return 0;
}

/* The first node of the chain hash h falls in, for the caller to walk. */
static inline struct pk_lrunode *
pk_lrutab_chain(const struct pk_lrutab *t, uint64_t h)
{
	return t->b[h & t->mask];
}

/* The node with hash h for which eq(node, key) holds, or NULL. */
static inline struct pk_lrunode *
pk_lrutab_find(const struct pk_lrutab *t, uint64_t h, pk_lrutab_eq_fn eq,
    const void *key)
{
	struct pk_lrunode *n;

	for (n = t->b[h & t->mask]; n != NULL; n = n->hnext)
		if (n->hash == h && eq(n, key))
			return n;
	return NULL;
}

/* Add n, which is in no table, as the most recently used, at time now. */
static inline void
pk_lrutab_link(struct pk_lrutab *t, struct pk_lrunode *n, uint64_t h,
    uint64_t now)
{
	struct pk_lrunode **bp = &t->b[h & t->mask];

	n->hash = h;
	n->touch_us = now;
	n->hnext = *bp;
	*bp = n;
	pk_dlist_append(&t->lru, &n->lru);
	t->n++;
}

/* Take n, which is in t, out of it; the caller still owns (frees) it. */
static inline void
pk_lrutab_unlink(struct pk_lrutab *t, struct pk_lrunode *n)
{
	struct pk_lrunode **pp;

	for (pp = &t->b[n->hash & t->mask]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	pk_dlist_unlink(&t->lru, &n->lru);
	n->hnext = NULL;
	t->n--;
}

/* n was used at time now: it becomes the most recently used. */
static inline void
pk_lrutab_touch(struct pk_lrutab *t, struct pk_lrunode *n, uint64_t now)
{
	n->touch_us = now;
	pk_dlist_move_tail(&t->lru, &n->lru);
}

/* The least recently used node, or NULL when t is empty. */
static inline struct pk_lrunode *
pk_lrutab_oldest(const struct pk_lrutab *t)
{
	return PK_DLIST_FIRST(&t->lru, struct pk_lrunode, lru);
}

/*
 * Room for one more: when t is full, count an eviction and return the
 * least recently used node, which the caller must then take out (with
 * pk_lrutab_unlink, usually through its own remove function) before it
 * links a new one.  NULL when there is room.
 */
static inline struct pk_lrunode *
pk_lrutab_victim(struct pk_lrutab *t)
{
	struct pk_lrunode *n;

	if (t->n < t->cap || (n = pk_lrutab_oldest(t)) == NULL)
		return NULL;
	t->evicted++;
	return n;
}

/*
 * Empty t, oldest first, handing each node to release (which may free
 * it; NULL to just drop them), then free the buckets.  The counters stay,
 * so a table can be cleared and still report; pk_lrutab_init again
 * before reuse.
 */
static inline void
pk_lrutab_clear(struct pk_lrutab *t,
    void (*release)(struct pk_lrunode *n, void *arg), void *arg)
{
	struct pk_lrunode *n;

	if (t->b != NULL)
		while ((n = pk_lrutab_oldest(t)) != NULL) {
			pk_lrutab_unlink(t, n);
			if (release != NULL)
				release(n, arg);
		}
	free(t->b);
	t->b = NULL;
	t->mask = 0;
}

#endif
