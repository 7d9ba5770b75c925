/*
 * dlist.h - a small intrusive doubly linked list, so the bounded tables
 * (the flow table's LRU and attempt lists, the reassembler's age list, the
 * scan detector's LRU tables and active indicators) share one tested
 * implementation instead of each hand-writing its pointer surgery.  An
 * element embeds a struct pk_dlink and PK_CONTAINER_OF() turns the link
 * back into the element.  The list keeps both ends: append at the tail
 * (newest), take from the head (oldest), unlink or move anything in
 * constant time.  The list counts nothing and allocates nothing: each
 * table keeps its own cap and counters.  Header-only, standard C; any file
 * may include it.
 */
#ifndef PICKET_DLIST_H
#define PICKET_DLIST_H

#include <stddef.h>

/* The struct of type `type` whose member `member` is at ptr. */
#define PK_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * The element at the head (the oldest) of list l, or NULL when l is
 * empty.  l is evaluated twice: pass a plain pointer expression.
 */
#define PK_DLIST_FIRST(l, type, member) \
	((l)->head == NULL ? (type *)NULL : \
	    PK_CONTAINER_OF((l)->head, type, member))

struct pk_dlink {
	struct pk_dlink	*prev, *next;
};

struct pk_dlist {
	struct pk_dlink	*head;	/* oldest */
	struct pk_dlink	*tail;	/* newest */
};

/* A zeroed list (calloc, memset) is empty too. */
static inline void
pk_dlist_init(struct pk_dlist *l)
{
	l->head = l->tail = NULL;
}

/* Add e, not on any list, at the tail. */
static inline void
pk_dlist_append(struct pk_dlist *l, struct pk_dlink *e)
{
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
}

/* Take e, which is on l, off it; its links are cleared. */
static inline void
pk_dlist_unlink(struct pk_dlist *l, struct pk_dlink *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

/* Make e, which is on l, the newest (an LRU "touch"). */
static inline void
pk_dlist_move_tail(struct pk_dlist *l, struct pk_dlink *e)
{
	if (l->tail == e)
		return;
	pk_dlist_unlink(l, e);
	pk_dlist_append(l, e);
}

/* Take the oldest link off l and return it; NULL when l is empty. */
static inline struct pk_dlink *
pk_dlist_pop_head(struct pk_dlist *l)
{
	struct pk_dlink *e = l->head;

	if (e != NULL)
		pk_dlist_unlink(l, e);
	return e;
}

#endif
