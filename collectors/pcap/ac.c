/*
 * ac.c - Aho-Corasick automaton (Aho & Corasick 1975) over ASCII-folded
 * bytes, used by the content-rule prefilter.  While patterns are added the
 * trie keeps each state's children as a linked list; pk_ac_build() then
 * numbers the states breadth-first, lays the children of every state out
 * as one sorted run, computes failure and dictionary-suffix links, and
 * gives the shallowest states (up to PK_AC_DENSE_BYTES) a full row of the
 * complete transition function over byte classes (the folded bytes that
 * occur in patterns, one each, and one class for all others), each entry
 * flagged when its target has output.  At the root, positions where no
 * pattern can begin are skipped with a table of the patterns' first two
 * bytes (64 KiB, indexed by a 16-bit load), four positions a round, a
 * loop without a dependency from one byte to the next;
 * the automaton steps only where a pattern may begin.  Most bytes of ordinary
 * traffic stay in the dense states, so the common step is one table load
 * and one bit test; a deeper
 * state searches its sorted run and falls back along failure links until
 * it reaches a row.  A scan costs amortised O(1) per byte plus one step
 * per reported occurrence, however many patterns there are.  Memory is a
 * few words per trie state plus the rows (for the 24 worm rules every
 * state has a row: a plain DFA).  Portable.
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
	uint32_t	*emit;		/* first state with output on the
					   chain from s (s itself), NONE */
	uint32_t	*dense;		/* ndense rows of ncls targets */
	size_t		 ndense;
	uint32_t	 ncls;
	uint8_t		 cls[256];	/* input byte -> class */
	uint8_t		 rep[256];	/* class -> a folded byte of it */
	uint8_t		*pair;		/* 65536, by two input bytes read
					   as a host-order uint16_t: 1 if
					   some pattern starts with them
					   (or with the first alone) */
	uint32_t	 d1;		/* states 1..d1 are at depth 1 */
};

/* Two bytes as one index, in host order (a load, no shifts). */
static inline uint16_t
ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#define PAIR(ac, p)	((ac)->pair[ld16(p)])

#define AC_OUT		0x80000000u	/* dense entry: target has output */
#define AC_STATE	0x7fffffffu
#define PK_MIN_SZ(a, b)	((a) < (b) ? (a) : (b))

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
	free(ac->emit);
	free(ac->dense);
	free(ac->pair);
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

/*
 * Lay the children of every state out sorted by byte, numbering the
 * states breadth-first: a state's number is then above its parent's and
 * above every state on its failure chain, so one pass in number order
 * computes the failure links, and the dense rows are a prefix.  The
 * build-time arrays (old numbering) are replaced by the new ones.
 */
static int
flatten(struct pk_ac *ac)
{
	size_t n = ac->nstates, s, k = 0, qh = 0, qt = 0;
	uint32_t e, cnt[256], i, *order = NULL, *rank = NULL, *outh = NULL;
	int rc = -1;

	ac->estart = calloc(n, sizeof(*ac->estart));
	ac->ecount = calloc(n, sizeof(*ac->ecount));
	ac->ebyte = malloc(ac->nbe ? ac->nbe : 1);
	ac->eto = malloc((ac->nbe ? ac->nbe : 1) * sizeof(*ac->eto));
	order = malloc(n * sizeof(*order));
	rank = malloc(n * sizeof(*rank));
	outh = malloc(n * sizeof(*outh));
	if (ac->estart == NULL || ac->ecount == NULL || ac->ebyte == NULL ||
	    ac->eto == NULL || order == NULL || rank == NULL || outh == NULL)
		goto out;
	order[qt++] = 0;
	rank[0] = 0;
	while (qh < qt) {	/* breadth-first, children by byte */
		uint32_t old = order[qh], ns = (uint32_t)qh++;
		uint16_t c = 0;

		ac->estart[ns] = (uint32_t)k;
		outh[ns] = ac->outh[old];
		for (i = 0; i < 256; i++)
			cnt[i] = NONE;
		for (e = ac->head[old]; e != NONE; e = ac->be[e].sib)
			cnt[ac->be[e].c] = ac->be[e].to;
		for (i = 0; i < 256; i++)
			if (cnt[i] != NONE) {
				rank[cnt[i]] = (uint32_t)qt;
				order[qt++] = cnt[i];
				ac->ebyte[k] = (uint8_t)i;
				ac->eto[k] = rank[cnt[i]];
				k++;
				c++;
			}
		ac->ecount[ns] = c;
	}
	for (s = 0; s < n; s++)
		ac->outh[s] = outh[s];
	rc = 0;
out:
	free(order);
	free(rank);
	free(outh);
	return rc;
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

/* The full transition from s on folded byte c (class k). */
static uint32_t
delta(const struct pk_ac *ac, uint32_t s, uint8_t c, uint8_t k)
{
	uint32_t t;

	for (;;) {
		if (s < ac->ndense)
			return ac->dense[(size_t)s * ac->ncls + k] & AC_STATE;
		if ((t = child(ac, s, c)) != NONE)
			return t;
		s = ac->fail[s];
	}
}

/*
 * Byte classes: every folded byte that occurs in a pattern is a class of
 * its own, all the others are class 0, which always leads back to the
 * root.  Rows are as wide as the classes (a few dozen for text rules),
 * so more states fit the budget and the rows stay in cache.
 */
static void
build_classes(struct pk_ac *ac)
{
	uint8_t of[256];
	size_t k;
	int b;

	memset(of, 0, sizeof(of));
	ac->ncls = 1;
	ac->rep[0] = 0;
	for (k = 0; k < ac->estart[ac->nstates - 1] +
	    ac->ecount[ac->nstates - 1]; k++) {
		uint8_t c = ac->ebyte[k];

		if (of[c] == 0 && ac->ncls < 256) {
			of[c] = (uint8_t)ac->ncls;
			ac->rep[ac->ncls++] = c;
		}
	}
	for (b = 0; b < 256; b++)
		ac->cls[b] = of[pk_ac_fold[b]];
}

/* Rows for the first ndense states; entries flag a target with output. */
static int
build_dense(struct pk_ac *ac)
{
	size_t nd = PK_MIN_SZ(ac->nstates, PK_AC_DENSE_BYTES /
	    (ac->ncls * sizeof(uint32_t))), s;
	uint32_t t, k, *row;

	if ((ac->dense = malloc(nd * ac->ncls * sizeof(*ac->dense))) == NULL)
		return -1;
	for (s = 0; s < nd; s++) {
		row = ac->dense + s * ac->ncls;
		row[0] = 0;	/* class 0 is in no pattern */
		for (k = 1; k < ac->ncls; k++) {
			t = child(ac, (uint32_t)s, ac->rep[k]);
			if (t == NONE)	/* fail[s] < s: its row is done */
				t = s == 0 ? 0 : ac->dense[(size_t)ac->fail[s] *
				    ac->ncls + k] & AC_STATE;
			row[k] = t | (ac->emit[t] != NONE ? AC_OUT : 0);
		}
	}
	ac->ndense = nd;
	return 0;
}

/*
 * The pair filter: which two input bytes can begin an occurrence.  At
 * the root a scan skips every position whose byte and the next are not
 * the first two of a pattern (a one-byte pattern marks all pairs of its
 * byte).  Breadth-first numbering puts the depth-1 states at 1..d1 in
 * the order of the root's sorted edges.  (A filter on three bytes was
 * tried: no faster with 5,000 rules, slower with the worm rules.)
 */
static int
build_pairs(struct pk_ac *ac)
{
	uint8_t (*pf)[256];		/* folded pairs */
	uint8_t two[2];
	uint32_t s, k, c0;
	int a, b;

	if ((pf = calloc(256, sizeof(*pf))) == NULL ||
	    (ac->pair = calloc(65536, 1)) == NULL) {
		free(pf);
		return -1;
	}
	ac->d1 = ac->ecount[0];
	for (s = 1; s <= ac->d1; s++) {
		c0 = ac->ebyte[ac->estart[0] + s - 1];
		if (ac->outh[s] != NONE)
			memset(pf[c0], 1, 256);
		for (k = ac->estart[s]; k < ac->estart[s] + ac->ecount[s]; k++)
			pf[c0][ac->ebyte[k]] = 1;
	}
	for (a = 0; a < 256; a++)
		for (b = 0; b < 256; b++) {
			two[0] = (uint8_t)a;
			two[1] = (uint8_t)b;
			ac->pair[ld16(two)] = pf[pk_ac_fold[a]][pk_ac_fold[b]];
		}
	free(pf);
	return 0;
}

int
pk_ac_build(struct pk_ac *ac)
{
	uint32_t s, t, f, k;

	if (ac->built)
		return 0;
	if (flatten(ac) == -1)
		return -1;
	if ((ac->emit = malloc(ac->nstates * sizeof(*ac->emit))) == NULL)
		return -1;
	ac->fail[0] = 0;
	ac->dict[0] = NONE;
	ac->emit[0] = ac->outh[0];	/* no empty patterns: NONE */
	/* number order is breadth-first: fail[s] and its chain are done */
	for (s = 0; s < ac->nstates; s++)
		for (k = ac->estart[s]; k < ac->estart[s] + ac->ecount[s];
		    k++) {
			uint8_t c = ac->ebyte[k];

			t = ac->eto[k];
			if (s == 0)
				f = 0;
			else {
				f = ac->fail[s];
				while (f != 0 && child(ac, f, c) == NONE)
					f = ac->fail[f];
				f = child(ac, f, c);
				if (f == NONE)
					f = 0;
			}
			ac->fail[t] = f;
			ac->dict[t] = ac->emit[f];
			ac->emit[t] = ac->outh[t] != NONE ? t : ac->dict[t];
		}
	build_classes(ac);
	if (build_dense(ac) == -1 || build_pairs(ac) == -1)
		return -1;
	free(ac->head);
	free(ac->be);
	ac->head = NULL;
	ac->be = NULL;
	ac->nbe = ac->capbe = 0;
	ac->built = 1;
	return 0;
}

/* Report every output of state s (ending at end); 1 if fn stopped. */
static int
report(const struct pk_ac *ac, uint32_t s, size_t end, uint64_t *hits,
    pk_ac_hit_fn fn, void *arg)
{
	uint32_t x, o;

	for (x = ac->emit[s]; x != NONE; x = ac->dict[x])
		for (o = ac->outh[x]; o != NONE; o = ac->out[o].next) {
			(*hits)++;
			if (fn != NULL && fn(arg, ac->out[o].id, end))
				return 1;
		}
	return 0;
}

/*
 * At the root, skip to the next position where a pattern can begin (the
 * pair filter); then step the automaton until it is back at the root, or
 * at depth 1 with a next byte that cannot extend it (the step would go
 * to the root and take that byte from there: the same as skipping from
 * it).  The last byte of the buffer is always stepped, so the state
 * handed back is the automaton's own.
 */
uint64_t
pk_ac_scan_from(const struct pk_ac *ac, uint32_t *state, const uint8_t *buf,
    size_t len, size_t base, pk_ac_hit_fn fn, void *arg)
{
	const uint32_t *dense = ac->dense;
	const uint8_t *cls = ac->cls;
	uint64_t hits = 0;
	uint32_t s = *state, nd = (uint32_t)ac->ndense, ncls = ac->ncls, x;
	uint32_t d1 = ac->d1;
	size_t i = 0;

	if (!ac->built)
		return 0;
	if (s >= ac->nstates)
		s = 0;		/* not ours: start over */
	while (i < len) {
		if (s == 0) {
			while (i + 4 < len && !(PAIR(ac, buf + i) |
			    PAIR(ac, buf + i + 1) | PAIR(ac, buf + i + 2) |
			    PAIR(ac, buf + i + 3)))
				i += 4;
			while (i + 1 < len && !PAIR(ac, buf + i))
				i++;
		}
		if (s < nd) {
			x = dense[(size_t)s * ncls + cls[buf[i++]]];
			s = x & AC_STATE;
			if (x & AC_OUT && report(ac, s, base + i, &hits, fn,
			    arg))
				break;
		} else {
			s = delta(ac, s, pk_ac_fold[buf[i]], cls[buf[i]]);
			i++;
			if (ac->emit[s] != NONE && report(ac, s, base + i,
			    &hits, fn, arg))
				break;
		}
		if (s <= d1 && i < len && !PAIR(ac, buf + i - 1))
			s = 0;
	}
	*state = s;
	return hits;
}

uint64_t
pk_ac_scan(const struct pk_ac *ac, const uint8_t *buf, size_t len,
    pk_ac_hit_fn fn, void *arg)
{
	uint32_t s = 0;

	return pk_ac_scan_from(ac, &s, buf, len, 0, fn, arg);
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
	    (ac->built ? ac->nstates * (2 * sizeof(uint32_t) +
	    sizeof(uint16_t)) + ac->nout * (1 + sizeof(uint32_t)) +
	    ac->ndense * ac->ncls * sizeof(uint32_t) + 65536 : 0);
}

size_t
pk_ac_dense_states(const struct pk_ac *ac)
{
	return ac->ndense;
}
