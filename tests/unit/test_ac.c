/*
 * test_ac.c - unit tests for the Aho-Corasick prefilter automaton
 * (collectors/pcap/ac.c): known cases (overlaps, nested patterns,
 * duplicates, case folding, binary bytes) and a property test that every
 * occurrence reported equals what a naive search finds on random data,
 * for random pattern sets over a small alphabet (many overlaps), also
 * with more states than get dense rows, and when the text is fed in
 * random pieces with the state carried (pk_ac_scan_from, stream offsets).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/ac.h"

#define MAXHITS 200000

struct hits {
	size_t		 n;
	uint32_t	 id[MAXHITS];
	uint32_t	 end[MAXHITS];
};

static struct hits H;

static int
record(void *arg, uint32_t id, size_t end)
{
	struct hits *h = arg;

	assert_true(h->n < MAXHITS);
	h->id[h->n] = id;
	h->end[h->n] = (uint32_t)end;
	h->n++;
	return 0;
}

static int
has(const struct hits *h, uint32_t id, uint32_t end)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->id[i] == id && h->end[i] == end)
			return 1;
	return 0;
}

static struct pk_ac *
build(const char *const *pats, size_t n)
{
	struct pk_ac *ac = pk_ac_new();
	size_t i;

	assert_non_null(ac);
	for (i = 0; i < n; i++)
		assert_int_equal(pk_ac_add(ac, (const uint8_t *)pats[i],
		    strlen(pats[i]), (uint32_t)i), 0);
	assert_int_equal(pk_ac_build(ac), 0);
	return ac;
}

static void
test_classic(void **state)
{
	/* Aho and Corasick's own example: he, she, his, hers */
	static const char *const p[] = { "he", "she", "his", "hers" };
	const char *text = "ushers";
	struct pk_ac *ac = build(p, 4);

	(void)state;
	H.n = 0;
	assert_int_equal(pk_ac_scan(ac, (const uint8_t *)text, strlen(text),
	    record, &H), 3);
	assert_true(has(&H, 1, 4));	/* she ends at 4 */
	assert_true(has(&H, 0, 4));	/* he ends at 4 */
	assert_true(has(&H, 3, 6));	/* hers ends at 6 */
	pk_ac_free(ac);
}

static void
test_fold_and_binary(void **state)
{
	static const char *const p[] = { "GET /", "\x90\x90\x90", "aBc" };
	const uint8_t text[] = "get /x\x90\x90\x90\x90 ABC abc";
	struct pk_ac *ac = build(p, 3);

	(void)state;
	H.n = 0;
	pk_ac_scan(ac, text, sizeof(text) - 1, record, &H);
	assert_true(has(&H, 0, 5));
	assert_true(has(&H, 1, 9));
	assert_true(has(&H, 1, 10));	/* overlapping NOP runs */
	assert_true(has(&H, 2, 14));
	assert_true(has(&H, 2, 18));
	assert_int_equal(H.n, 5);
	/* folding touches letters only: '@' (0x40) is not '`' (0x60) */
	assert_int_equal(pk_ac_fold['@'], '@');
	assert_int_equal(pk_ac_fold['['], '[');
	assert_int_equal(pk_ac_fold['Z'], 'z');
	assert_int_equal(pk_ac_fold[0xC4], 0xC4);
	pk_ac_free(ac);
}

static void
test_duplicates_and_stop(void **state)
{
	struct pk_ac *ac = pk_ac_new();
	const uint8_t text[] = "xxabab";

	(void)state;
	assert_int_equal(pk_ac_add(ac, (const uint8_t *)"ab", 2, 7), 0);
	assert_int_equal(pk_ac_add(ac, (const uint8_t *)"AB", 2, 9), 0);
	assert_int_equal(pk_ac_add(ac, (const uint8_t *)"", 0, 1), -1);
	assert_int_equal(pk_ac_build(ac), 0);
	assert_int_equal(pk_ac_add(ac, (const uint8_t *)"zz", 2, 1), -1);
	assert_int_equal(pk_ac_patterns(ac), 2);
	H.n = 0;
	assert_int_equal(pk_ac_scan(ac, text, 6, record, &H), 4);
	assert_true(has(&H, 7, 4) && has(&H, 9, 4));
	assert_true(has(&H, 7, 6) && has(&H, 9, 6));
	/* no callback: only the count */
	assert_int_equal(pk_ac_scan(ac, text, 6, NULL, NULL), 4);
	pk_ac_free(ac);
}

static int
stop_first(void *arg, uint32_t id, size_t end)
{
	(void)arg;
	(void)id;
	(void)end;
	return 1;
}

static void
test_stop(void **state)
{
	static const char *const p[] = { "a" };
	struct pk_ac *ac = build(p, 1);

	(void)state;
	assert_int_equal(pk_ac_scan(ac, (const uint8_t *)"aaaa", 4,
	    stop_first, NULL), 1);
	pk_ac_free(ac);
}

static uint32_t rng = 12345;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Random pattern sets vs a naive search, alphabet "abAB\0" */
static void
test_property(void **state)
{
	static const uint8_t alpha[] = { 'a', 'b', 'A', 'B', 0 };
	uint8_t pats[40][8], text[600];
	size_t plen[40];
	int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		size_t np = 1 + rnd() % 40, tl = rnd() % sizeof(text), i, j, k;
		size_t expect = 0;
		struct pk_ac *ac = pk_ac_new();

		for (i = 0; i < np; i++) {
			plen[i] = 1 + rnd() % 7;
			for (k = 0; k < plen[i]; k++)
				pats[i][k] = alpha[rnd() % 5];
			assert_int_equal(pk_ac_add(ac, pats[i], plen[i],
			    (uint32_t)i), 0);
		}
		assert_int_equal(pk_ac_build(ac), 0);
		for (j = 0; j < tl; j++)
			text[j] = alpha[rnd() % 5];
		H.n = 0;
		pk_ac_scan(ac, text, tl, record, &H);
		for (i = 0; i < np; i++)
			for (j = 0; j + plen[i] <= tl; j++) {
				for (k = 0; k < plen[i]; k++)
					if (pk_ac_fold[text[j + k]] !=
					    pk_ac_fold[pats[i][k]])
						break;
				if (k == plen[i]) {
					expect++;
					assert_true(has(&H, (uint32_t)i,
					    (uint32_t)(j + plen[i])));
				}
			}
		assert_int_equal(H.n, expect);
		pk_ac_free(ac);
	}
}

/* Many patterns: the root table and binary-searched edges. */
static void
test_many(void **state)
{
	struct pk_ac *ac = pk_ac_new();
	uint8_t p[4];
	uint32_t i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		p[0] = (uint8_t)(i & 0xff);
		p[1] = (uint8_t)(i >> 8);
		p[2] = 0x41;
		assert_int_equal(pk_ac_add(ac, p, 3, i), 0);
	}
	assert_int_equal(pk_ac_build(ac), 0);
	assert_true(pk_ac_states(ac) > 20000);
	assert_true(pk_ac_memory(ac) > 0);
	p[0] = 0x34;
	p[1] = 0x12;
	p[2] = 'a';
	H.n = 0;
	pk_ac_scan(ac, p, 3, record, &H);
	assert_int_equal(H.n, 1);
	assert_int_equal(H.id[0], 0x1234);
	pk_ac_free(ac);
}

/* Occurrences of pats (lengths plen) in text, by a naive search. */
static size_t
naive_check(uint8_t pats[][8], const size_t *plen, size_t np,
    const uint8_t *text, size_t tl)
{
	size_t i, j, k, expect = 0;

	for (i = 0; i < np; i++)
		for (j = 0; j + plen[i] <= tl; j++) {
			for (k = 0; k < plen[i]; k++)
				if (pk_ac_fold[text[j + k]] !=
				    pk_ac_fold[pats[i][k]])
					break;
			if (k == plen[i]) {
				expect++;
				assert_true(has(&H, (uint32_t)i,
				    (uint32_t)(j + plen[i])));
			}
		}
	return expect;
}

/*
 * Text fed in random pieces, the state carried: exactly the occurrences
 * of one scan, spanning pieces too, with stream offsets.
 */
static void
test_resume(void **state)
{
	static const uint8_t alpha[] = { 'a', 'b', 'A', 'B', 0 };
	static uint8_t pats[40][8];
	uint8_t text[600];
	size_t plen[40];
	int round;

	(void)state;
	for (round = 0; round < 200; round++) {
		size_t np = 1 + rnd() % 40, tl = rnd() % sizeof(text), i, k;
		size_t off = 0, piece;
		uint32_t st = 0;
		struct pk_ac *ac = pk_ac_new();

		for (i = 0; i < np; i++) {
			plen[i] = 1 + rnd() % 7;
			for (k = 0; k < plen[i]; k++)
				pats[i][k] = alpha[rnd() % 5];
			assert_int_equal(pk_ac_add(ac, pats[i], plen[i],
			    (uint32_t)i), 0);
		}
		assert_int_equal(pk_ac_build(ac), 0);
		for (k = 0; k < tl; k++)
			text[k] = alpha[rnd() % 5];
		H.n = 0;
		while (off < tl) {
			piece = 1 + rnd() % 9;
			if (piece > tl - off)
				piece = tl - off;
			pk_ac_scan_from(ac, &st, text + off, piece, off,
			    record, &H);
			off += piece;
		}
		assert_int_equal(H.n, naive_check(pats, plen, np, text, tl));
		pk_ac_free(ac);
	}
	/* a state from elsewhere (too large) starts over */
	{
		static const char *const p[] = { "ab" };
		struct pk_ac *ac = build(p, 1);
		uint32_t st = 0x7fffff;

		H.n = 0;
		assert_int_equal(pk_ac_scan_from(ac, &st, (const uint8_t *)
		    "abab", 4, 10, record, &H), 2);
		assert_true(has(&H, 0, 12) && has(&H, 0, 14));
		pk_ac_free(ac);
	}
}

/*
 * More states than PK_AC_DENSE_BYTES gives rows: the deep states search
 * their edges and fall back along failure links to a row.  Binary
 * patterns make every byte a class (wide rows); the text ones, over a
 * small alphabet, make a deep trie and many occurrences.
 */
static void
test_sparse_property(void **state)
{
	static const uint8_t alpha[] = { 'a', 'b', 'c', 'd', 'A', 'x' };
	static uint8_t pats[3300][8];
	static size_t plen[3300];
	static uint8_t text[4000];
	struct pk_ac *ac = pk_ac_new();
	size_t np = 3300, tl = sizeof(text), i, k;

	(void)state;
	for (i = 0; i < np; i++) {
		plen[i] = i < 300 ? 8 : 3 + rnd() % 6;
		for (k = 0; k < plen[i]; k++)
			pats[i][k] = i < 300 ? (uint8_t)rnd() :
			    alpha[rnd() % 6];
		assert_int_equal(pk_ac_add(ac, pats[i], plen[i],
		    (uint32_t)i), 0);
	}
	assert_int_equal(pk_ac_build(ac), 0);
	assert_true(pk_ac_dense_states(ac) < pk_ac_states(ac));
	assert_true(pk_ac_dense_states(ac) >= 256);
	for (k = 0; k < tl; k++)
		text[k] = k % 500 < 8 ? pats[k / 500][k % 500] :
		    alpha[rnd() % 6];
	H.n = 0;
	pk_ac_scan(ac, text, tl, record, &H);
	assert_true(H.n > 0);
	assert_true(has(&H, 0, 8));	/* a binary one, at the start */
	assert_int_equal(H.n, naive_check(pats, plen, np, text, tl));
	pk_ac_free(ac);
}

/*
 * The start filters skip positions at the root: few patterns over a
 * wider alphabet, so most pairs and triples start nothing; text fed in
 * pieces (the last bytes of a piece are checked differently), with
 * near misses (a pattern's first two or three bytes) planted often.
 */
static void
test_skip_property(void **state)
{
	static uint8_t pats[24][8];
	static uint8_t text[3000];
	size_t plen[24];
	int round;

	(void)state;
	for (round = 0; round < 300; round++) {
		size_t np = 1 + rnd() % 24, tl = rnd() % sizeof(text), i, k;
		size_t off = 0, piece;
		uint32_t st = 0;
		struct pk_ac *ac = pk_ac_new();

		for (i = 0; i < np; i++) {
			/* lengths 3-7; a short one now and then */
			plen[i] = round % 10 == 0 && i == 0 ? 1 + rnd() % 2 :
			    3 + rnd() % 5;
			for (k = 0; k < plen[i]; k++)
				pats[i][k] = (uint8_t)('A' + rnd() % 16 +
				    (rnd() % 2 ? 32 : 0));
			assert_int_equal(pk_ac_add(ac, pats[i], plen[i],
			    (uint32_t)i), 0);
		}
		assert_int_equal(pk_ac_build(ac), 0);
		for (k = 0; k < tl; k++) {
			if (rnd() % 8 == 0 && k + 8 < tl) {
				size_t q = rnd() % np, n = rnd() % (plen[q] + 1);

				memcpy(text + k, pats[q], n);
				k += n;
				if (k >= tl)
					break;
			}
			text[k] = (uint8_t)('A' + rnd() % 16 +
			    (rnd() % 2 ? 32 : 0));
		}
		H.n = 0;
		while (off < tl) {
			piece = 1 + rnd() % 40;
			if (piece > tl - off)
				piece = tl - off;
			pk_ac_scan_from(ac, &st, text + off, piece, off,
			    record, &H);
			off += piece;
		}
		assert_int_equal(H.n, naive_check(pats, plen, np, text, tl));
		pk_ac_free(ac);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classic),
		cmocka_unit_test(test_fold_and_binary),
		cmocka_unit_test(test_duplicates_and_stop),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_property),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_sparse_property),
		cmocka_unit_test(test_skip_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
