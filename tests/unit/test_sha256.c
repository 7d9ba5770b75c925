/*
 * test_sha256.c - unit tests for common/sha256.c: the NIST example vectors
 * for FIPS 180-4 ("", "abc", the 448-bit two-block message, one million
 * 'a'), messages of 55, 56, 63, 64, 65, 119, 120 and 200 bytes around the
 * padding boundary whose digests were taken with coreutils sha256sum (an
 * independent implementation) when the test was written, and incremental
 * use split at every offset, in every three pieces and in uneven pieces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"

/* Hex of a digest, for readable failures. */
static void
hex32(const uint8_t d[32], char out[65])
{
	static const char x[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[64] = '\0';
}

static void
check_digest(const uint8_t d[32], const char *want)
{
	char got[65];

	hex32(d, got);
	assert_string_equal(got, want);
}

/* The message the boundary tests use: byte i is i * 31 + 7.  The same
 * bytes were written with python3 and digested with sha256sum. */
static void
fill(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + 7);
}

static void
test_nist_vectors(void **state)
{
	static const char two_block[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t d[32];

	(void)state;
	pk_sha256("", 0, d);
	check_digest(d,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	pk_sha256(NULL, 0, d);
	check_digest(d,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	pk_sha256("abc", 3, d);
	check_digest(d,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(strlen(two_block), 56);
	pk_sha256(two_block, strlen(two_block), d);
	check_digest(d,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void
test_million_a(void **state)
{
	static const char want[] =
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	struct pk_sha256 c;
	uint8_t *m, d[32];
	size_t off, step;

	(void)state;
	m = malloc(1000000);
	assert_non_null(m);
	memset(m, 'a', 1000000);
	pk_sha256(m, 1000000, d);
	check_digest(d, want);
	/* The same in pieces that never line up with a block. */
	pk_sha256_init(&c);
	for (off = 0, step = 1; off < 1000000; off += step) {
		step = step * 3 % 997 + 1;
		if (step > 1000000 - off)
			step = 1000000 - off;
		pk_sha256_update(&c, m + off, step);
	}
	pk_sha256_final(&c, d);
	check_digest(d, want);
	free(m);
}

/* Lengths either side of 55/56 (where the length no longer fits in the
 * last block) and 64 (a whole block), digests from sha256sum. */
static void
test_padding_boundary(void **state)
{
	static const struct {
		size_t		 len;
		const char	*want;
	} v[] = {
		{ 55, "8aa994584139d128848eeebc4e815639ba5ab6e6e39574195a63ac4f14f7c43b" },
		{ 56, "ad574708f75c044c9b85de64cb568ee7711ff4f36448c6242f053ba8f6cc2b63" },
		{ 63, "280ed3e8ff1df845b2e7dfe6ac6cee817bef20e783cc65abc41b818b4d2fe076" },
		{ 64, "c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd" },
		{ 65, "788367c73c7ddf4c53f65e68cc0d943e6227ab55b0e78ba63ace822b1c6301c0" },
		{ 119, "3d610547d68216dedf7435a4fb6260353911f6b3fd3f18805ddb8be285d726fe" },
		{ 120, "1f80156a804cb7862ad113e8200e9d74499723e7c7854d5f48776d3148e09656" },
		{ 200, "44cae5223d431caed4a9e32271d6abf17c3f2f4abac45fcdb48a99fcc6072a09" },
	};
	uint8_t m[200], d[32];
	size_t i;

	(void)state;
	fill(m, sizeof(m));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		pk_sha256(m, v[i].len, d);
		check_digest(d, v[i].want);
	}
}

/* Every split of the 200-byte message, including empty pieces, gives the
 * one-shot digest, which is itself checked against sha256sum above. */
static void
test_every_split(void **state)
{
	struct pk_sha256 c;
	uint8_t m[200], one[32], d[32];
	size_t k, j;

	(void)state;
	fill(m, sizeof(m));
	pk_sha256(m, sizeof(m), one);
	check_digest(one,
	    "44cae5223d431caed4a9e32271d6abf17c3f2f4abac45fcdb48a99fcc6072a09");
	for (k = 0; k <= sizeof(m); k++) {
		pk_sha256_init(&c);
		pk_sha256_update(&c, m, k);
		pk_sha256_update(&c, NULL, 0);
		pk_sha256_update(&c, m + k, sizeof(m) - k);
		pk_sha256_final(&c, d);
		assert_memory_equal(d, one, 32);
	}
	/* Byte by byte. */
	pk_sha256_init(&c);
	for (k = 0; k < sizeof(m); k++)
		pk_sha256_update(&c, m + k, 1);
	pk_sha256_final(&c, d);
	assert_memory_equal(d, one, 32);
	/* Every split into three pieces: the middle piece then starts with
	 * the buffer holding any number of bytes and may or may not fill it. */
	for (k = 0; k <= sizeof(m); k++) {
		for (j = k; j <= sizeof(m); j++) {
			pk_sha256_init(&c);
			pk_sha256_update(&c, m, k);
			pk_sha256_update(&c, m + k, j - k);
			pk_sha256_update(&c, m + j, sizeof(m) - j);
			pk_sha256_final(&c, d);
			assert_memory_equal(d, one, 32);
		}
	}
}

/* A spent context works again after init, and flipping one bit of the
 * last byte of a block changes the digest. */
static void
test_reuse_and_sensitivity(void **state)
{
	struct pk_sha256 c;
	uint8_t m[200], a[32], b[32];

	(void)state;
	fill(m, sizeof(m));
	pk_sha256_init(&c);
	pk_sha256_update(&c, "junk", 4);
	pk_sha256_final(&c, a);
	pk_sha256_init(&c);
	pk_sha256_update(&c, m, 64);
	pk_sha256_final(&c, a);
	check_digest(a,
	    "c6ab9724ade5b6a7a1edfffb12f3aa9181351355af8fd08c919952ad211339dd");
	m[63] ^= 1;
	pk_sha256(m, 64, b);
	assert_memory_not_equal(a, b, 32);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nist_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_padding_boundary),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_reuse_and_sensitivity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
