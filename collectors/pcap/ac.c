/*
 * ac.c - Aho-Corasick automaton (Aho & Corasick 1975) over ASCII-folded
 * bytes, used by the content-rule prefilter.  While patterns are added the
 * trie keeps each state's children as a linked list; pk_ac_build() then
 * computes failure and dictionary-suffix links breadth-first and lays the
 * children of every state out as one sorted run, with a full 256-entry
 * table for the root (most bytes of ordinary traffic leave the root at
 * once).  A scan follows failure links, so it costs amortised O(1) per
 * byte plus one step per reported occurrence, however many patterns there
 * are.  Memory is a few words per trie state.  Portable.
 */
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/ac.h"

#define NONE	UINT32_MAX

const uint8_t pk_ac_fold[256] = {
#define R8(b) (b), (b) + 1, (b) + 2, (b) + 3, (b) + 4, (b) + 5, (b) + 6, (b) + 7
	R8(0), R8(8), R8(16), R8(24), R8(32), R8(40), R8(48), R8(56),
	/* 'A'..'Z' (65..90) fold to 'a'..'z' */
	64, 97, 98, 99, 100, 101, 102, 103,
	104, 105, 106, 107, 108, 109, 110, 111,
	112, 113, 114, 115, 116, 117, 118, 119,
	120, 121, 122, 91, 92, 93, 94, 95,
	R8(96), R8(104), R8(112), R8(120),
	R8(128), R8(136), R8(144), R8(152), R8(160), R8(168), R8(176), R8(184),
	R8(192), R8(200), R8(208), R8(216), R8(224), R8(232), R8(240), R8(248),
#undef R8
};

struct bedge {			/* build-time child list */
	uint32_t	 to, sib;
	uint8_t		 c;
};

struct out {
	uint32_t	 id, next;
};

struct pk_ac {
	int		 built;
	size_t		 nstates, capstates;
	uint32_t	*head;		/* build: first child edge */
	uint32_t	*fail;
	uint32_t	*outh;		/* first output of the state, NONE */
	uint32_t	*dict;		/* next state with output on the
					   failure chain, NONE */
	struct bedge	*be;
	size_t		 nbe, capbe;
	struct out	*out;
	size_t		 nout, capout;
	/* after build */
	uint32_t	*estart;	/* per state: first sorted edge */
	uint16_t	*ecount;	/* per state: number of edges */
	uint8_t		*ebyte;
	uint32_t	*eto;
	uint32_t	 root[256];
};

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t nc;
	void *np;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	if ((np = realloc(*p, nc * elem)) == NULL)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

static int
grow_states(struct pk_ac *ac, size_t need)
{
	size_t nc, old = ac->capstates;
	void *p;

	if (need <= old)
		return 0;
	nc = old ? old * 2 : 64;
	while (nc < need)
		nc *= 2;
#define G(f) do {							\
	if ((p = realloc(ac->f, nc * sizeof(*ac->f))) == NULL)		\
		return -1;						\
	ac->f = p;							\
} while (0)
	G(head);
	G(fail);
	G(outh);
	G(dict);
#undef G
	ac->capstates = nc;
	return 0;
}

static uint32_t
new_state(struct pk_ac *ac)
{
	uint32_t s;

	if (ac->nstates >= PK_AC_MAX_STATES ||
	    grow_states(ac, ac->nstates + 1) == -1)
		return NONE;
	s = (uint32_t)ac->nstates++;
	ac->head[s] = NONE;
	ac->fail[s] = 0;
	ac->outh[s] = NONE;
	ac->dict[s] = NONE;
	return s;
}

struct pk_ac *
pk_ac_new(void)
{
	struct pk_ac *ac;

	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		return NULL;
	if (new_state(ac) == NONE) {
		pk_ac_free(ac);
		return NULL;
	}
	return ac;
}

void
pk_ac_free(struct pk_ac *ac)
{
	if (ac == NULL)
		return;
	free(ac->head);
	free(ac->fail);
	free(ac->outh);
	free(ac->dict);
	free(ac->be);
	free(ac->out);
	free(ac->estart);
	free(ac->ecount);
	free(ac->ebyte);
	free(ac->eto);
	free(ac);
}

static uint32_t
build_child(const struct pk_ac *ac, uint32_t s, uint8_t c)
{
	uint32_t e;

	for (e = ac->head[s]; e != NONE; e = ac->be[e].sib)
		if (ac->be[e].c == c)
			return ac->be[e].to;
	return NONE;
}

int
pk_ac_add(struct pk_ac *ac, const uint8_t *pat, size_t len, uint32_t id)
{
	uint32_t s = 0, t, e;
	size_t i;

	if (ac->built || len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		uint8_t c = pk_ac_fold[pat[i]];

		if ((t = build_child(ac, s, c)) == NONE) {
			if ((t = new_state(ac)) == NONE ||
			    grow((void **)&ac->be, &ac->capbe, ac->nbe + 1,
			    sizeof(*ac->be)) == -1)
				return -1;
			e = (uint32_t)ac->nbe++;
			ac->be[e].c = c;
			ac->be[e].to = t;
			ac->be[e].sib = ac->head[s];
			ac->head[s] = e;
		}
		s = t;
	}
	if (grow((void **)&ac->out, &ac->capout, ac->nout + 1,
	    sizeof(*ac->out)) == -1)
		return -1;
	ac->out[ac->nout].id = id;
	ac->out[ac->nout].next = ac->outh[s];
	ac->outh[s] = (uint32_t)ac->nout++;
	return 0;
}

/* Lay the children of every state out sorted by byte. */
static int
flatten(struct pk_ac *ac)
{
	size_t n = ac->nstates, s, k = 0;
	uint32_t e, cnt[256], i;

	ac->estart = calloc(n, sizeof(*ac->estart));
	ac->ecount = calloc(n, sizeof(*ac->ecount));
	ac->ebyte = malloc(ac->nbe ? ac->nbe : 1);
	ac->eto = malloc((ac->nbe ? ac->nbe : 1) * sizeof(*ac->eto));
	if (ac->estart == NULL || ac->ecount == NULL || ac->ebyte == NULL ||
	    ac->eto == NULL)
		return -1;
	for (s = 0; s < n; s++) {
		uint16_t c = 0;

		ac->estart[s] = (uint32_t)k;
		for (i = 0; i < 256; i++)
			cnt[i] = NONE;
		for (e = ac->head[s]; e != NONE; e = ac->be[e].sib)
			cnt[ac->be[e].c] = ac->be[e].to;
		for (i = 0; i < 256; i++)
			if (cnt[i] != NONE) {
				ac->ebyte[k] = (uint8_t)i;
				ac->eto[k] = cnt[i];
				k++;
				c++;
			}
		ac->ecount[s] = c;
	}
	return 0;
}

static uint32_t
child(const struct pk_ac *ac, uint32_t s, uint8_t c)
{
	uint32_t lo = ac->estart[s], hi = lo + ac->ecount[s], mid;

	if (hi - lo <= 8) {
		for (; lo < hi; lo++)
			if (ac->ebyte[lo] == c)
				return ac->eto[lo];
			else if (ac->ebyte[lo] > c)
				break;
		return NONE;
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ac->ebyte[mid] == c)
			return ac->eto[mid];
		if (ac->ebyte[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NONE;
}

int
pk_ac_build(struct pk_ac *ac)
{
	uint32_t *queue, qh = 0, qt = 0, s, t, f, k;
	int i;

	if (ac->built)
		return 0;
	if (flatten(ac) == -1)
		return -1;
	if ((queue = malloc(ac->nstates * sizeof(*queue))) == NULL)
		return -1;
	for (i = 0; i < 256; i++) {
		t = child(ac, 0, (uint8_t)i);
		ac->root[i] = t == NONE ? 0 : t;
		if (t != NONE) {
			ac->fail[t] = 0;
			queue[qt++] = t;
		}
	}
	while (qh < qt) {
		s = queue[qh++];
		for (k = ac->estart[s]; k < ac->estart[s] + ac->ecount[s];
		    k++) {
			uint8_t c = ac->ebyte[k];

			t = ac->eto[k];
			f = ac->fail[s];
			while (f != 0 && child(ac, f, c) == NONE)
				f = ac->fail[f];
			f = f == 0 ? ac->root[c] : child(ac, f, c);
			ac->fail[t] = f == t ? 0 : f;
			ac->dict[t] = ac->outh[ac->fail[t]] != NONE ?
			    ac->fail[t] : ac->dict[ac->fail[t]];
			queue[qt++] = t;
		}
	}
	free(queue);
	free(ac->head);
	free(ac->be);
	ac->head = NULL;
	ac->be = NULL;
	ac->nbe = ac->capbe = 0;
	ac->built = 1;
	return 0;
}

uint64_t
pk_ac_scan(const struct pk_ac *ac, const uint8_t *buf, size_t len,
    pk_ac_hit_fn fn, void *arg)
{
	uint64_t hits = 0;
	uint32_t s = 0, t, o, x;
	size_t i;

	if (!ac->built)
		return 0;
	for (i = 0; i < len; i++) {
		uint8_t c = pk_ac_fold[buf[i]];

		for (;;) {
			if (s == 0) {
				s = ac->root[c];
				break;
			}
			if ((t = child(ac, s, c)) != NONE) {
				s = t;
				break;
			}
			s = ac->fail[s];
		}
		x = ac->outh[s] != NONE ? s : ac->dict[s];
		for (; x != NONE; x = ac->dict[x])
			for (o = ac->outh[x]; o != NONE; o = ac->out[o].next) {
				hits++;
				if (fn != NULL && fn(arg, ac->out[o].id, i + 1))
					return hits;
			}
	}
	return hits;
}

size_t
pk_ac_patterns(const struct pk_ac *ac)
{
	return ac->nout;
}

size_t
pk_ac_states(const struct pk_ac *ac)
{
	return ac->nstates;
}

size_t
pk_ac_memory(const struct pk_ac *ac)
{
	return sizeof(*ac) + ac->capstates * 4 * sizeof(uint32_t) +
	    ac->capbe * sizeof(struct bedge) + ac->capout * sizeof(struct out) +
	    (ac->built ? ac->nstates * (sizeof(uint32_t) + sizeof(uint16_t)) +
	    ac->nstates * (1 + sizeof(uint32_t)) : 0);
}
