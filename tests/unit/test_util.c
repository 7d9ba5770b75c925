/*
 * test_util.c - unit tests for common/util.c: bounded copy, strict number,
 * duration, size and boolean parsing (the values configuration files feed
 * us), FNV-1a against published vectors, and hex output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/util.h"

static void
test_strlcpy(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(pk_strlcpy(buf, "abc", sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	/* Exactly size-1 fits. */
	assert_int_equal(pk_strlcpy(buf, "1234567", sizeof(buf)), 7);
	assert_string_equal(buf, "1234567");
	/* Longer is cut and still terminated; return says how long. */
	assert_int_equal(pk_strlcpy(buf, "123456789abc", sizeof(buf)), 12);
	assert_string_equal(buf, "1234567");
	/* Size 0 writes nothing. */
	buf[0] = 'X';
	assert_int_equal(pk_strlcpy(buf, "abc", 0), 3);
	assert_int_equal(buf[0], 'X');
	assert_int_equal(pk_strlcpy(buf, "abc", 1), 3);
	assert_string_equal(buf, "");
}

static void
test_u64_ok(void **state)
{
	static const struct {
		const char	*s;
		uint64_t	 v;
	} ok[] = {
		{ "0", 0 }, { "1", 1 }, { "42", 42 }, { "007", 7 },
		{ "18446744073709551615", UINT64_MAX },
		{ "0x0", 0 }, { "0xff", 255 }, { "0XFF", 255 },
		{ "0xffffffffffffffff", UINT64_MAX },
		{ "0000000000000000000000000000000000000001", 1 },
	};
	uint64_t v;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < PK_NELEM(ok); i++) {
		err = NULL;
		v = 12345;
		assert_int_equal(pk_parse_u64(ok[i].s, 0, UINT64_MAX, &v,
		    &err), 0);
		assert_true(v == ok[i].v);
		assert_null(err);
	}
}

static void
test_u64_bad(void **state)
{
	static const char *const nan[] = {
		"", " ", " 1", "1 ", "+1", "-1", "-0", "1a", "a1", "0x",
		"0x-1", "0x 1", "1.5", "1e3", "0b1", "\xd9\xa1", "1\n", "\t1",
		"0x+1",
	};
	static const char *const big[] = {
		"18446744073709551616", "99999999999999999999999",
		"0x10000000000000000",
	};
	uint64_t v = 7;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < PK_NELEM(nan); i++) {
		err = NULL;
		assert_int_equal(pk_parse_u64(nan[i], 0, UINT64_MAX, &v,
		    &err), -1);
		assert_string_equal(err, "not a number");
		assert_true(v == 7);
	}
	for (i = 0; i < PK_NELEM(big); i++) {
		err = NULL;
		assert_int_equal(pk_parse_u64(big[i], 0, UINT64_MAX, &v,
		    &err), -1);
		assert_string_equal(err, "out of range");
	}
	assert_int_equal(pk_parse_u64(NULL, 0, 1, &v, &err), -1);
	/* err may be NULL. */
	assert_int_equal(pk_parse_u64("x", 0, 1, &v, NULL), -1);
}

static void
test_u64_range(void **state)
{
	uint64_t v = 0;
	const char *err = NULL;

	(void)state;
	assert_int_equal(pk_parse_u64("10", 10, 20, &v, &err), 0);
	assert_true(v == 10);
	assert_int_equal(pk_parse_u64("20", 10, 20, &v, &err), 0);
	assert_true(v == 20);
	assert_int_equal(pk_parse_u64("9", 10, 20, &v, &err), -1);
	assert_string_equal(err, "out of range");
	assert_int_equal(pk_parse_u64("21", 10, 20, &v, &err), -1);
	assert_string_equal(err, "out of range");
	assert_true(v == 20);
}

static void
test_duration(void **state)
{
	static const struct {
		const char	*s;
		uint64_t	 v;
	} ok[] = {
		{ "0", 0 }, { "10", 10 }, { "10s", 10 }, { "5m", 300 },
		{ "2h", 7200 }, { "1d", 86400 }, { "0s", 0 }, { "0x10", 16 },
		{ "0x1d", 29 },	/* hex takes no unit */
		{ "213503982334601d", 213503982334601ULL * 86400 },
	};
	static const char *const bad[] = {
		"", "s", "10x", "10 s", " 10s", "10S", "-1s", "1.5h", "10ss",
		"0xs", "213503982334602d", "m5", "10sm",
	};
	uint64_t v;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < PK_NELEM(ok); i++) {
		assert_int_equal(pk_parse_duration(ok[i].s, 0, UINT64_MAX,
		    &v, &err), 0);
		assert_true(v == ok[i].v);
	}
	for (i = 0; i < PK_NELEM(bad); i++) {
		err = NULL;
		assert_int_equal(pk_parse_duration(bad[i], 0, UINT64_MAX,
		    &v, &err), -1);
		assert_non_null(err);
	}
	assert_int_equal(pk_parse_duration("10x", 0, 100, &v, &err), -1);
	assert_string_equal(err, "unknown unit");
	/* Range applies after the unit. */
	assert_int_equal(pk_parse_duration("2m", 0, 60, &v, &err), -1);
	assert_string_equal(err, "out of range");
	assert_int_equal(pk_parse_duration("1m", 0, 60, &v, &err), 0);
	assert_true(v == 60);
}

static void
test_size(void **state)
{
	static const struct {
		const char	*s;
		uint64_t	 v;
	} ok[] = {
		{ "0", 0 }, { "512", 512 }, { "64k", 65536 }, { "64K", 65536 },
		{ "10M", 10485760 }, { "10m", 10485760 }, { "1G", 1073741824 },
		{ "1g", 1073741824 }, { "17179869183G", 17179869183ULL << 30 },
	};
	static const char *const bad[] = {
		"", "k", "1kb", "1 K", "1T", "-1k", "1.5G", "17179869184G",
		"0x10k",
	};
	uint64_t v;
	const char *err;
	size_t i;

	(void)state;
	for (i = 0; i < PK_NELEM(ok); i++) {
		assert_int_equal(pk_parse_size(ok[i].s, 0, UINT64_MAX, &v,
		    &err), 0);
		assert_true(v == ok[i].v);
	}
	for (i = 0; i < PK_NELEM(bad); i++) {
		assert_int_equal(pk_parse_size(bad[i], 0, UINT64_MAX, &v,
		    &err), -1);
	}
	assert_int_equal(pk_parse_size("17179869184G", 0, UINT64_MAX, &v,
	    &err), -1);
	assert_string_equal(err, "out of range");
	assert_int_equal(pk_parse_size("1M", 0, 1048575, &v, &err), -1);
	assert_string_equal(err, "out of range");
}

static void
test_bool(void **state)
{
	static const struct {
		const char	*s;
		int		 v;
	} ok[] = {
		{ "yes", 1 }, { "YES", 1 }, { "Yes", 1 }, { "no", 0 },
		{ "No", 0 }, { "true", 1 }, { "TRUE", 1 }, { "false", 0 },
		{ "FaLsE", 0 }, { "on", 1 }, { "ON", 1 }, { "off", 0 },
		{ "Off", 0 }, { "1", 1 }, { "0", 0 },
	};
	static const char *const bad[] = {
		"", "y", "n", "2", "yes ", " yes", "truee", "of", "01", "-1",
		"enable", "oui",
	};
	const char *err;
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < PK_NELEM(ok); i++) {
		v = -1;
		assert_int_equal(pk_parse_bool(ok[i].s, &v, &err), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (i = 0; i < PK_NELEM(bad); i++) {
		v = -1;
		err = NULL;
		assert_int_equal(pk_parse_bool(bad[i], &v, &err), -1);
		assert_int_equal(v, -1);
		assert_non_null(err);
	}
}

static void
test_fnv(void **state)
{
	(void)state;
	/* Published FNV-1a 64 test vectors (Fowler/Noll/Vo reference). */
	assert_true(pk_fnv1a64("", 0, PK_FNV_SEED) == 0xcbf29ce484222325ULL);
	assert_true(pk_fnv1a64("a", 1, PK_FNV_SEED) == 0xaf63dc4c8601ec8cULL);
	assert_true(pk_fnv1a64("foobar", 6, PK_FNV_SEED) ==
	    0x85944171f73967e8ULL);
	/* Chaining equals hashing the concatenation. */
	assert_true(pk_fnv1a64("bar", 3, pk_fnv1a64("foo", 3, PK_FNV_SEED)) ==
	    0x85944171f73967e8ULL);
	/* A different seed gives a different hash. */
	assert_true(pk_fnv1a64("a", 1, 1) != pk_fnv1a64("a", 1, PK_FNV_SEED));
}

static void
test_hex(void **state)
{
	static const uint8_t in[] = { 0x00, 0x01, 0xab, 0xff, 0x10 };
	char out[2 * sizeof(in) + 1];

	(void)state;
	memset(out, 'X', sizeof(out));
	pk_hex(in, sizeof(in), out);
	assert_string_equal(out, "0001abff10");
	pk_hex(in, 0, out);
	assert_string_equal(out, "");
}

/* Host names as DNS and TLS write them. */
static void
test_hostname(void **state)
{
	static const char *const good[] = { "a", "example.com",
	    "x-1.b_2.EXAMPLE", "a.b.c.d.e" };
	static const char *const bad[] = { "", ".", "a.", ".a", "a..b",
	    "a b", "a/b", "\xc3\xa9.example" };
	char label[70];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(pk_hostname_ok((const uint8_t *)good[i],
		    strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(pk_hostname_ok((const uint8_t *)bad[i],
		    strlen(bad[i])));
	/* Labels of 63 bytes pass, 64 do not. */
	memset(label, 'a', sizeof(label));
	assert_true(pk_hostname_ok((const uint8_t *)label, 63));
	assert_false(pk_hostname_ok((const uint8_t *)label, 64));
	/* Bytes after n are not looked at. */
	assert_true(pk_hostname_ok((const uint8_t *)"ab.", 2));
}

/* libpcap's 32-bit counters as 64-bit totals, across a wrap. */
static void
test_wrap32(void **state)
{
	uint64_t total = 0;
	uint32_t last = 0;

	(void)state;
	pk_wrap32_add(&total, &last, 1000);
	assert_int_equal(total, 1000);
	pk_wrap32_add(&total, &last, 1000);	/* nothing new */
	assert_int_equal(total, 1000);
	pk_wrap32_add(&total, &last, UINT32_MAX - 5);
	assert_int_equal(total, (uint64_t)UINT32_MAX - 5);
	pk_wrap32_add(&total, &last, 10);	/* wrapped: 16 more */
	assert_int_equal(total, (uint64_t)UINT32_MAX + 11);
	assert_int_equal(last, 10);
	pk_wrap32_add(&total, &last, 4000000000u);
	pk_wrap32_add(&total, &last, 3000000000u);	/* wrapped again */
	assert_int_equal(total, (uint64_t)UINT32_MAX + 1 + 3000000000ull +
	    (uint64_t)UINT32_MAX + 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_u64_ok),
		cmocka_unit_test(test_u64_bad),
		cmocka_unit_test(test_u64_range),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_fnv),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hostname),
		cmocka_unit_test(test_wrap32),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
