/*
 * proctable.c - the bounded process table (see proctable.h).  A chained
 * hash on pid with a power-of-two bucket array sized once from the cap; an
 * LRU list of live processes (head = least recently active, evicted first
 * when full) and a list of exited ones in exit order, freed after
 * PK_PROC_LINGER_US.  Strings are allocated to size, so a table of 32768
 * short-lived shells costs what they use, not 32768 worst cases.
 * Portable C: seeding from the system's process list and the device
 * number conversion are the platform's (proctable_linux.c,
 * proctable_win32.c).
 */
#include <stdlib.h>
#include <string.h>

#include "collectors/ebpf/proctable.h"
#include "common/util.h"

struct pk_proctable {
	struct pk_proc		**b;
	size_t			  mask;
	struct pk_dlist		  alive;	/* head = least recently used */
	struct pk_dlist		  dead;		/* head = exited first */
	size_t			  argv_bytes;
	void			(*release)(void *det, void *arg);
	void			 *release_arg;
	struct pk_proctable_stats st;
};

struct pk_proctable *
pk_proctable_new(uint64_t cap, size_t argv_bytes,
    void (*release)(void *det, void *arg), void *arg)
{
	struct pk_proctable *t;
	size_t nb = 256;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->st.cap = cap > 0 ? cap : 1;
	while (nb < t->st.cap && nb < (1u << 22))
		nb <<= 1;
	if ((t->b = calloc(nb, sizeof(*t->b))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	t->argv_bytes = argv_bytes;
	t->release = release;
	t->release_arg = arg;
	return t;
}

static size_t
bucket(const struct pk_proctable *t, uint32_t pid)
{
	return (pid * 2654435761u) & t->mask;
}

static void
proc_free(struct pk_proctable *t, struct pk_proc *p)
{
	if (p->det != NULL && t->release != NULL)
		t->release(p->det, t->release_arg);
	free(p->exe);
	free(p->args);
	free(p);
}

/* Take p out of the hash and its list, then free it. */
static void
proc_drop(struct pk_proctable *t, struct pk_proc *p)
{
	struct pk_proc **pp;

	for (pp = &t->b[bucket(t, p->pid)]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	pk_dlist_unlink(p->exited_us ? &t->dead : &t->alive, &p->lru);
	t->st.n--;
	proc_free(t, p);
}

void
pk_proctable_free(struct pk_proctable *t)
{
	struct pk_proc *p;

	if (t == NULL)
		return;
	while ((p = PK_DLIST_FIRST(&t->alive, struct pk_proc, lru)) != NULL)
		proc_drop(t, p);
	while ((p = PK_DLIST_FIRST(&t->dead, struct pk_proc, lru)) != NULL)
		proc_drop(t, p);
	free(t->b);
	free(t);
}

struct pk_proc *
pk_proc_find(struct pk_proctable *t, uint32_t pid)
{
	struct pk_proc *p;

	for (p = t->b[bucket(t, pid)]; p != NULL; p = p->hnext)
		if (p->pid == pid)
			return p;
	return NULL;
}

struct pk_proc *
pk_proc_new(struct pk_proctable *t, uint32_t pid, uint64_t now_us)
{
	struct pk_proc *p, *old;
	size_t h;

	if ((old = pk_proc_find(t, pid)) != NULL)
		proc_drop(t, old);
	if (t->st.n >= t->st.cap) {
		/* Exited ones go first; then the least recently active. */
		old = PK_DLIST_FIRST(&t->dead, struct pk_proc, lru);
		if (old == NULL) {
			old = PK_DLIST_FIRST(&t->alive, struct pk_proc, lru);
			t->st.evicted++;
		}
		if (old != NULL)
			proc_drop(t, old);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->pid = pid;
	p->start_us = now_us;
	h = bucket(t, pid);
	p->hnext = t->b[h];
	t->b[h] = p;
	pk_dlist_append(&t->alive, &p->lru);
	t->st.n++;
	return p;
}

void
pk_proc_exit(struct pk_proctable *t, struct pk_proc *p, uint64_t now_us)
{
	if (p->exited_us)
		return;
	pk_dlist_unlink(&t->alive, &p->lru);
	p->exited_us = now_us ? now_us : 1;
	pk_dlist_append(&t->dead, &p->lru);
}

void
pk_proc_touch(struct pk_proctable *t, struct pk_proc *p)
{
	if (!p->exited_us)
		pk_dlist_move_tail(&t->alive, &p->lru);
}

void
pk_proctable_expire(struct pk_proctable *t, uint64_t now_us)
{
	struct pk_proc *p;

	while ((p = PK_DLIST_FIRST(&t->dead, struct pk_proc, lru)) != NULL &&
	    now_us > p->exited_us + PK_PROC_LINGER_US)
		proc_drop(t, p);
}

/* Copy len bytes and a NUL (arguments keep their inner NULs). */
static int
set_bytes(char **dst, const char *src, size_t len)
{
	char *s;

	if ((s = malloc(len + 1)) == NULL)
		return -1;
	memcpy(s, src, len);
	s[len] = '\0';
	free(*dst);
	*dst = s;
	return 0;
}

int
pk_proc_set_exe(struct pk_proc *p, const char *path, size_t len)
{
	if (len > PK_PROC_EXE_MAX)
		len = PK_PROC_EXE_MAX;
	return set_bytes(&p->exe, path, len);
}

int
pk_proc_set_args(struct pk_proctable *t, struct pk_proc *p, const char *args,
    size_t len)
{
	if (len > t->argv_bytes)
		len = t->argv_bytes;
	if (set_bytes(&p->args, args, len) != 0)
		return -1;
	p->args_len = len;
	return 0;
}

int
pk_proc_inherit(struct pk_proctable *t, struct pk_proc *child,
    const struct pk_proc *parent)
{
	child->ppid = parent->pid;
	child->uid = parent->uid;
	child->gid = parent->gid;
	memcpy(child->comm, parent->comm, sizeof(child->comm));
	child->key = parent->key;
	child->ctime_ns = parent->ctime_ns;
	child->exec_flags = parent->exec_flags;
	child->hash_state = parent->hash_state;
	memcpy(child->sha256, parent->sha256, sizeof(child->sha256));
	if (parent->exe != NULL &&
	    pk_proc_set_exe(child, parent->exe, strlen(parent->exe)) != 0)
		return -1;
	if (parent->args != NULL &&
	    pk_proc_set_args(t, child, parent->args, parent->args_len) != 0)
		return -1;
	return 0;
}

void
pk_proctable_foreach(struct pk_proctable *t,
    void (*fn)(struct pk_proc *p, void *arg), void *arg)
{
	struct pk_dlink *l, *next;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (l = (pass ? t->dead : t->alive).head; l != NULL;
		    l = next) {
			next = l->next;
			fn(PK_CONTAINER_OF(l, struct pk_proc, lru), arg);
		}
}

const struct pk_proctable_stats *
pk_proctable_stats(const struct pk_proctable *t)
{
	return &t->st;
}

int
pk_proctable_full(const struct pk_proctable *t)
{
	return t->st.n >= t->st.cap;
}

void
pk_proctable_count_seed(struct pk_proctable *t, int added)
{
	if (added)
		t->st.seeded++;
	else
		t->st.seed_skipped++;
}

size_t
pk_proctable_argv_bytes(const struct pk_proctable *t)
{
	return t->argv_bytes;
}
