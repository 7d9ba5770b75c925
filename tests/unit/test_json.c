/*
 * test_json.c - unit tests for the bounded JSON writer (common/json.c):
 * every escape, invalid UTF-8 replaced by U+FFFD as the Unicode "maximal
 * subpart" rule says (vectors in the style of Markus Kuhn's UTF-8 stress
 * test, written out here byte by byte), cutting at maxlen without
 * splitting a character, the exact-capacity boundary, overflow, nesting
 * and misuse, plus property tests that feed thousands of random byte
 * strings and random writer call sequences through a strict validator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"

#define FFFD "\xef\xbf\xbd"

#include "tests/unit/jsoncheck.h"

/* ------------------------------------------------------------ helpers */

/* Write bytes as one top-level string; return json_finish(). */
static long
one_string(char *buf, size_t cap, const void *s, size_t n, size_t maxlen)
{
	struct json j;

	json_init(&j, buf, cap);
	json_strn(&j, NULL, s, n, maxlen);
	return json_finish(&j);
}

/* Assert that bytes in come out as exactly the JSON text want. */
static void
check_str(const char *in, size_t n, size_t maxlen, const char *want)
{
	char buf[512];
	long r = one_string(buf, sizeof(buf), in, n, maxlen);

	assert_true(r >= 0);
	assert_int_equal((size_t)r, strlen(buf));
	assert_string_equal(buf, want);
	assert_true(valid_json_string(buf, (size_t)r));
}

/* ------------------------------------------------------------- tests */

static void
test_escapes(void **state)
{
	(void)state;
	check_str("plain", 5, 0, "\"plain\"");
	check_str("", 0, 0, "\"\"");
	check_str("\"", 1, 0, "\"\\\"\"");
	check_str("\\", 1, 0, "\"\\\\\"");
	check_str("\n", 1, 0, "\"\\n\"");
	check_str("\r", 1, 0, "\"\\r\"");
	check_str("\t", 1, 0, "\"\\t\"");
	check_str("\b", 1, 0, "\"\\b\"");
	check_str("\f", 1, 0, "\"\\f\"");
	check_str("\0", 1, 0, "\"\\u0000\"");
	check_str("\x01", 1, 0, "\"\\u0001\"");
	check_str("\x1b", 1, 0, "\"\\u001b\"");
	check_str("\x1f", 1, 0, "\"\\u001f\"");
	check_str("\x7f", 1, 0, "\"\\u007f\"");
	check_str(" ", 1, 0, "\" \"");
	check_str("/", 1, 0, "\"/\"");
	check_str("~", 1, 0, "\"~\"");
	check_str("a\0b", 3, 0, "\"a\\u0000b\"");
	check_str("GET /x?a=\"1\"\r\n", 14, 0,
	    "\"GET /x?a=\\\"1\\\"\\r\\n\"");
}

static void
test_utf8_valid(void **state)
{
	(void)state;
	/* Kuhn 1: "kosme" in Greek, passes unchanged. */
	check_str("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 11, 0,
	    "\"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\"");
	/* Kuhn 2: first and last of each length, and around surrogates. */
	check_str("\xc2\x80", 2, 0, "\"\xc2\x80\"");		/* U+0080 */
	check_str("\xdf\xbf", 2, 0, "\"\xdf\xbf\"");		/* U+07FF */
	check_str("\xe0\xa0\x80", 3, 0, "\"\xe0\xa0\x80\"");	/* U+0800 */
	check_str("\xef\xbf\xbf", 3, 0, "\"\xef\xbf\xbf\"");	/* U+FFFF */
	check_str("\xed\x9f\xbf", 3, 0, "\"\xed\x9f\xbf\"");	/* U+D7FF */
	check_str("\xee\x80\x80", 3, 0, "\"\xee\x80\x80\"");	/* U+E000 */
	check_str("\xef\xbf\xbd", 3, 0, "\"" FFFD "\"");	/* U+FFFD */
	check_str("\xf0\x90\x80\x80", 4, 0, "\"\xf0\x90\x80\x80\"");
	check_str("\xf4\x8f\xbf\xbf", 4, 0, "\"\xf4\x8f\xbf\xbf\"");
	/* U+2028 is legal in JSON strings (RFC 8259) and left alone. */
	check_str("\xe2\x80\xa8", 3, 0, "\"\xe2\x80\xa8\"");
}

static void
test_utf8_invalid(void **state)
{
	(void)state;
	/* Kuhn 3.1: lone continuation bytes, one U+FFFD each. */
	check_str("\x80", 1, 0, "\"" FFFD "\"");
	check_str("\xbf", 1, 0, "\"" FFFD "\"");
	check_str("\x80\xbf\x80", 3, 0, "\"" FFFD FFFD FFFD "\"");
	/* Kuhn 3.2: lead bytes followed by a space. */
	check_str("\xc2 ", 2, 0, "\"" FFFD " \"");
	check_str("\xe1 ", 2, 0, "\"" FFFD " \"");
	check_str("\xf1 ", 2, 0, "\"" FFFD " \"");
	/* Kuhn 3.3: sequences missing their last byte: one U+FFFD for the
	 * maximal subpart, and the next character survives. */
	check_str("\xe2\x82" "A", 3, 0, "\"" FFFD "A\"");
	check_str("\xe0\xa0" "A", 3, 0, "\"" FFFD "A\"");
	check_str("\xf0\x90\x80" "A", 4, 0, "\"" FFFD "A\"");
	check_str("\xf4\x8f\xbf" "\xc2\x80", 5, 0, "\"" FFFD "\xc2\x80\"");
	/* Truncated at the very end of the input. */
	check_str("ab\xe2\x82", 4, 0, "\"ab" FFFD "\"");
	check_str("\xf0\x90\x80", 3, 0, "\"" FFFD "\"");
	check_str("\xc3", 1, 0, "\"" FFFD "\"");
	/* Kuhn 3.5: bytes that never appear. */
	check_str("\xfe", 1, 0, "\"" FFFD "\"");
	check_str("\xff", 1, 0, "\"" FFFD "\"");
	check_str("\xfe\xfe\xff\xff", 4, 0,
	    "\"" FFFD FFFD FFFD FFFD "\"");
	check_str("\xf5\x80\x80\x80", 4, 0,
	    "\"" FFFD FFFD FFFD FFFD "\"");
	check_str("\xf8\x88\x80\x80\x80", 5, 0,
	    "\"" FFFD FFFD FFFD FFFD FFFD "\"");
	check_str("\xfc\x84\x80\x80\x80\x80", 6, 0,
	    "\"" FFFD FFFD FFFD FFFD FFFD FFFD "\"");
	/* Kuhn 4: overlong forms of '/' and the largest overlongs. */
	check_str("\xc0\xaf", 2, 0, "\"" FFFD FFFD "\"");
	check_str("\xe0\x80\xaf", 3, 0, "\"" FFFD FFFD FFFD "\"");
	check_str("\xf0\x80\x80\xaf", 4, 0,
	    "\"" FFFD FFFD FFFD FFFD "\"");
	check_str("\xc1\xbf", 2, 0, "\"" FFFD FFFD "\"");
	check_str("\xe0\x9f\xbf", 3, 0, "\"" FFFD FFFD FFFD "\"");
	check_str("\xf0\x8f\xbf\xbf", 4, 0,
	    "\"" FFFD FFFD FFFD FFFD "\"");
	/* Overlong NUL must not become a real NUL or a quote. */
	check_str("\xc0\x80", 2, 0, "\"" FFFD FFFD "\"");
	check_str("\xc0\xa2", 2, 0, "\"" FFFD FFFD "\"");
	/* Kuhn 5: UTF-16 surrogates, single and paired. */
	check_str("\xed\xa0\x80", 3, 0, "\"" FFFD FFFD FFFD "\"");
	check_str("\xed\xbf\xbf", 3, 0, "\"" FFFD FFFD FFFD "\"");
	check_str("\xed\xa0\x80\xed\xb0\x80", 6, 0,
	    "\"" FFFD FFFD FFFD FFFD FFFD FFFD "\"");
	/* Above U+10FFFF. */
	check_str("\xf4\x90\x80\x80", 4, 0,
	    "\"" FFFD FFFD FFFD FFFD "\"");
	/* Mixed with escapes: still one output per input problem. */
	check_str("a\xff\n\xc3\xa9\"", 6, 0, "\"a" FFFD "\\n\xc3\xa9\\\"\"");
}

static void
test_maxlen(void **state)
{
	(void)state;
	/* Input bytes are counted, not output bytes. */
	check_str("abcdef", 6, 3, "\"abc\"");
	check_str("abc", 3, 3, "\"abc\"");
	check_str("abc", 3, 4, "\"abc\"");
	check_str("\n\n\n", 3, 2, "\"\\n\\n\"");
	/* Never split a character: "a" + U+00E9 + U+20AC. */
	check_str("a\xc3\xa9\xe2\x82\xac", 6, 1, "\"a\"");
	check_str("a\xc3\xa9\xe2\x82\xac", 6, 2, "\"a\"");
	check_str("a\xc3\xa9\xe2\x82\xac", 6, 3, "\"a\xc3\xa9\"");
	check_str("a\xc3\xa9\xe2\x82\xac", 6, 4, "\"a\xc3\xa9\"");
	check_str("a\xc3\xa9\xe2\x82\xac", 6, 5, "\"a\xc3\xa9\"");
	check_str("a\xc3\xa9\xe2\x82\xac", 6, 6,
	    "\"a\xc3\xa9\xe2\x82\xac\"");
	check_str("\xf0\x9f\x98\x80", 4, 3, "\"\"");
	/* Invalid bytes inside the limit are still replaced. */
	check_str("a\xff" "bc", 4, 2, "\"a" FFFD "\"");
	/* json_str cuts NUL-terminated input the same way. */
	{
		char buf[64];
		struct json j;

		json_init(&j, buf, sizeof(buf));
		json_str(&j, NULL, "hello world", 5);
		assert_int_equal(json_finish(&j), 7);
		assert_string_equal(buf, "\"hello\"");
	}
}

static void
test_escape_direct(void **state)
{
	char out[16];
	int ovf = 0;
	size_t n;

	(void)state;
	memset(out, 'X', sizeof(out));
	n = json_escape(out, sizeof(out), "a\"b", 3, 0, &ovf);
	assert_int_equal(n, 4);
	assert_string_equal(out, "a\\\"b");
	assert_int_equal(ovf, 0);

	/* Too small: stops at a whole escape, sets overflow, stays in cap. */
	memset(out, 'X', sizeof(out));
	n = json_escape(out, 6, "ab\x01" "cd", 5, 0, &ovf);
	assert_int_equal(ovf, 1);
	assert_int_equal(n, 2);
	assert_string_equal(out, "ab");
	assert_int_equal(out[6], 'X');

	/* Multi-byte output never split either. */
	ovf = 0;
	memset(out, 'X', sizeof(out));
	n = json_escape(out, 4, "a\xff", 2, 0, &ovf);
	assert_int_equal(ovf, 1);
	assert_int_equal(n, 1);
	assert_string_equal(out, "a");
	assert_int_equal(out[4], 'X');
	/* One byte more and the U+FFFD fits. */
	ovf = 0;
	n = json_escape(out, 5, "a\xff", 2, 0, &ovf);
	assert_int_equal(ovf, 0);
	assert_int_equal(n, 4);
	assert_string_equal(out, "a" FFFD);
	memset(out, 'X', sizeof(out));
	ovf = 0;
	n = json_escape(out, 5, "\xc3\xa9\xc3\xa9\xc3\xa9", 6, 0, &ovf);
	assert_int_equal(ovf, 1);
	assert_int_equal(n, 4);
	assert_int_equal(out[4], '\0');
	assert_int_equal(out[5], 'X');
}

static void
test_writer_values(void **state)
{
	char buf[512];
	struct json j;
	long r;

	(void)state;
	json_init(&j, buf, sizeof(buf));
	json_obj_begin(&j, NULL);
	json_str(&j, "s", "v", 0);
	json_u64(&j, "u0", 0);
	json_u64(&j, "umax", UINT64_MAX);
	json_i64(&j, "imin", INT64_MIN);
	json_i64(&j, "imax", INT64_MAX);
	json_i64(&j, "neg", -1);
	json_bool(&j, "t", 1);
	json_bool(&j, "f", 0);
	json_nullv(&j, "n");
	json_str(&j, "nul", NULL, 0);
	json_arr_begin(&j, "a");
	json_u64(&j, NULL, 1);
	json_str(&j, NULL, "x", 0);
	json_obj_begin(&j, NULL);
	json_obj_end(&j);
	json_arr_begin(&j, NULL);
	json_arr_end(&j);
	json_arr_end(&j);
	json_obj_begin(&j, "o");
	json_str(&j, "k\"ey\n", "q", 0);
	json_obj_end(&j);
	json_obj_end(&j);
	r = json_finish(&j);
	assert_true(r > 0);
	assert_string_equal(buf, "{\"s\":\"v\",\"u0\":0,"
	    "\"umax\":18446744073709551615,\"imin\":-9223372036854775808,"
	    "\"imax\":9223372036854775807,\"neg\":-1,\"t\":true,"
	    "\"f\":false,\"n\":null,\"nul\":null,"
	    "\"a\":[1,\"x\",{},[]],\"o\":{\"k\\\"ey\\n\":\"q\"}}");
	assert_int_equal((size_t)r, strlen(buf));
	assert_true(valid_json(buf, (size_t)r));

	/* Scalars at top level are valid documents too. */
	json_init(&j, buf, sizeof(buf));
	json_u64(&j, NULL, 5);
	assert_int_equal(json_finish(&j), 1);
	assert_string_equal(buf, "5");
}

/* Build the same record into buffers of every size around its length. */
static long
build_record(char *buf, size_t cap)
{
	struct json j;

	json_init(&j, buf, cap);
	json_obj_begin(&j, NULL);
	json_str(&j, "dns", "ex\xe2\x82\xac\n", 0);
	json_arr_begin(&j, "n");
	json_u64(&j, NULL, 12345);
	json_i64(&j, NULL, -7);
	json_bool(&j, NULL, 1);
	json_arr_end(&j);
	json_obj_end(&j);
	return json_finish(&j);
}

static void
test_exact_capacity(void **state)
{
	char ref[256], buf[256 + 16];
	long want = build_record(ref, sizeof(ref)), r;
	size_t cap, k;

	(void)state;
	assert_true(want > 0);
	assert_true(valid_json(ref, (size_t)want));
	for (cap = 0; cap <= (size_t)want + 4; cap++) {
		memset(buf, 'Z', sizeof(buf));
		r = build_record(buf, cap);
		if (cap >= (size_t)want + 1) {
			assert_int_equal(r, want);
			assert_string_equal(buf, ref);
		} else {
			assert_int_equal(r, -1);
			/* Failed records leave an empty string behind. */
			if (cap > 0)
				assert_int_equal(buf[0], '\0');
		}
		for (k = cap; k < sizeof(buf); k++)
			assert_int_equal(buf[k], 'Z');
	}
}

static void
test_overflow_sticky(void **state)
{
	char buf[8 + 8];
	struct json j;

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	json_init(&j, buf, 8);
	json_arr_begin(&j, NULL);
	json_str(&j, NULL, "this does not fit", 0);
	assert_int_not_equal(j.overflow, 0);
	/* A short value afterwards must not sneak in. */
	json_u64(&j, NULL, 1);
	json_arr_end(&j);
	assert_int_equal(json_finish(&j), -1);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[8], 'Z');

	/* Zero capacity. */
	json_init(&j, buf, 0);
	json_nullv(&j, NULL);
	assert_int_equal(json_finish(&j), -1);
}

static void
test_depth(void **state)
{
	char buf[256];
	struct json j;
	int i;

	(void)state;
	/* JSON_MAX_DEPTH nested containers are fine... */
	json_init(&j, buf, sizeof(buf));
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr_begin(&j, NULL);
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr_end(&j);
	assert_int_equal(json_finish(&j), 2 * JSON_MAX_DEPTH);
	assert_true(valid_json(buf, strlen(buf)));

	/* ...one more is an error, even if closed properly. */
	json_init(&j, buf, sizeof(buf));
	for (i = 0; i < JSON_MAX_DEPTH + 1; i++)
		json_arr_begin(&j, NULL);
	for (i = 0; i < JSON_MAX_DEPTH + 1; i++)
		json_arr_end(&j);
	assert_int_equal(json_finish(&j), -1);

	/* Objects count the same way. */
	json_init(&j, buf, sizeof(buf));
	json_obj_begin(&j, NULL);
	for (i = 1; i < JSON_MAX_DEPTH; i++)
		json_obj_begin(&j, "k");
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		json_obj_end(&j);
	assert_true(json_finish(&j) > 0);
	assert_true(valid_json(buf, strlen(buf)));
}

static void
test_misuse(void **state)
{
	char buf[128];
	struct json j;

	(void)state;
	/* Unclosed. */
	json_init(&j, buf, sizeof(buf));
	json_obj_begin(&j, NULL);
	assert_int_equal(json_finish(&j), -1);
	/* Wrong closer. */
	json_init(&j, buf, sizeof(buf));
	json_obj_begin(&j, NULL);
	json_arr_end(&j);
	assert_int_equal(json_finish(&j), -1);
	/* Close with nothing open. */
	json_init(&j, buf, sizeof(buf));
	json_obj_end(&j);
	assert_int_equal(json_finish(&j), -1);
	/* Value without key inside an object. */
	json_init(&j, buf, sizeof(buf));
	json_obj_begin(&j, NULL);
	json_u64(&j, NULL, 1);
	json_obj_end(&j);
	assert_int_equal(json_finish(&j), -1);
	/* Key inside an array. */
	json_init(&j, buf, sizeof(buf));
	json_arr_begin(&j, NULL);
	json_u64(&j, "k", 1);
	json_arr_end(&j);
	assert_int_equal(json_finish(&j), -1);
	/* Key at top level. */
	json_init(&j, buf, sizeof(buf));
	json_u64(&j, "k", 1);
	assert_int_equal(json_finish(&j), -1);
	/* Two top-level values would not be one document. */
	json_init(&j, buf, sizeof(buf));
	json_u64(&j, NULL, 1);
	json_u64(&j, NULL, 2);
	assert_int_equal(json_finish(&j), -1);
	/* Nothing written. */
	json_init(&j, buf, sizeof(buf));
	assert_int_equal(json_finish(&j), -1);
}

/* xorshift64*: a fixed seed makes failures reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Random bytes that hit the interesting cases often: control bytes,
 * quotes, lead bytes of each length, continuation bytes. */
static uint8_t
rng_byte(void)
{
	static const uint8_t hot[] = {
		0x00, 0x01, 0x1f, '"', '\\', '\n', 0x7f, 0x80, 0xbf, 0xc0,
		0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
		0xa0, 0x9f, 0x90, 0x8f,
	};
	uint64_t r = rng();

	if (r % 3 == 0)
		return hot[(r >> 8) % sizeof(hot)];
	return (uint8_t)(r >> 16);
}

static void
test_property_random_bytes(void **state)
{
	uint8_t in[96];
	char buf[96 * 6 + 3], small[40];
	size_t n, maxlen, k;
	long r;
	int iter;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		n = (size_t)(rng() % sizeof(in));
		for (k = 0; k < n; k++)
			in[k] = rng_byte();
		maxlen = rng() % 4 == 0 ? (size_t)(rng() % (n + 2)) : 0;
		r = one_string(buf, sizeof(buf), in, n, maxlen);
		/* 6 bytes per input byte plus quotes always fits. */
		assert_true(r >= 2);
		assert_int_equal((size_t)r, strlen(buf));
		if (!valid_json_string(buf, (size_t)r)) {
			fprintf(stderr, "iteration %d: invalid output\n",
			    iter);
			fail();
		}
		/* Same input into a small buffer: whole or nothing. */
		memset(small, 'Z', sizeof(small));
		r = one_string(small, 32, in, n, maxlen);
		if (r >= 0)
			assert_true(valid_json_string(small, (size_t)r));
		else
			assert_int_equal(small[0], '\0');
		for (k = 32; k < sizeof(small); k++)
			assert_int_equal(small[k], 'Z');
	}
}

/* Append one random valid character as UTF-8; returns its length. */
static size_t
rng_char(uint8_t *o)
{
	uint32_t cp;

	switch (rng() % 4) {
	case 0:
		cp = (uint32_t)(rng() % 0x80);
		o[0] = (uint8_t)cp;
		return 1;
	case 1:
		cp = 0x80 + (uint32_t)(rng() % (0x800 - 0x80));
		o[0] = (uint8_t)(0xc0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	case 2:
		do
			cp = 0x800 + (uint32_t)(rng() % (0x10000 - 0x800));
		while (cp >= 0xd800 && cp <= 0xdfff);
		o[0] = (uint8_t)(0xe0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	default:
		cp = 0x10000 + (uint32_t)(rng() % (0x110000 - 0x10000));
		o[0] = (uint8_t)(0xf0 | cp >> 18);
		o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (uint8_t)(0x80 | (cp & 0x3f));
		return 4;
	}
}

/* Valid UTF-8 must come back unchanged after decoding the escapes. */
static void
test_property_roundtrip(void **state)
{
	uint8_t in[200], dec[1400];
	char buf[1400];
	size_t n, dlen, i;
	long r;
	int iter;

	(void)state;
	for (iter = 0; iter < 5000; iter++) {
		n = 0;
		while (n < sizeof(in) - 4 && rng() % 40 != 0)
			n += rng_char(in + n);
		r = one_string(buf, sizeof(buf), in, n, 0);
		assert_true(r >= 2);
		i = 0;
		dlen = 0;
		assert_int_equal(v_string((const uint8_t *)buf, (size_t)r, &i,
		    dec, &dlen), 0);
		assert_int_equal(i, (size_t)r);
		assert_int_equal(dlen, n);
		assert_memory_equal(dec, in, n);
	}
}

/* Random call sequences: whenever finish succeeds, it is one valid
 * document; the buffer is never overrun. */
static void
test_property_writer(void **state)
{
	char buf[300 + 8], key[16];
	uint8_t bytes[24];
	struct json j;
	int iter, op, k, open, arr[32];
	size_t cap, n, b;
	long r, ok = 0;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		cap = (size_t)(rng() % 300);
		memset(buf, 'Z', sizeof(buf));
		json_init(&j, buf, cap);
		open = 0;
		json_obj_begin(&j, NULL);
		arr[open++] = 0;
		for (op = 0; op < 40 && open > 0; op++) {
			int in_arr = arr[open - 1];
			const char *kk = in_arr ? NULL : key;

			snprintf(key, sizeof(key), "k%d", op);
			switch (rng() % 8) {
			case 0:
				if (open < 20) {
					json_obj_begin(&j, kk);
					arr[open++] = 0;
				}
				break;
			case 1:
				if (open < 20) {
					json_arr_begin(&j, kk);
					arr[open++] = 1;
				}
				break;
			case 2:
				if (in_arr)
					json_arr_end(&j);
				else
					json_obj_end(&j);
				open--;
				break;
			case 3:
				n = (size_t)(rng() % sizeof(bytes));
				for (b = 0; b < n; b++)
					bytes[b] = rng_byte();
				json_strn(&j, kk, bytes, n,
				    (size_t)(rng() % 8));
				break;
			case 4:
				json_i64(&j, kk, (int64_t)rng());
				break;
			case 5:
				json_bool(&j, kk, (int)(rng() & 1));
				break;
			default:
				json_nullv(&j, kk);
				break;
			}
		}
		while (open > 0) {
			if (arr[--open])
				json_arr_end(&j);
			else
				json_obj_end(&j);
		}
		r = json_finish(&j);
		for (k = (int)cap; k < (int)sizeof(buf); k++)
			assert_int_equal(buf[k], 'Z');
		if (r < 0)
			continue;
		ok++;
		assert_int_equal((size_t)r, strlen(buf));
		if (!valid_json(buf, (size_t)r)) {
			fprintf(stderr, "iteration %d: %s\n", iter, buf);
			fail();
		}
	}
	/* The test means nothing unless plenty of records succeeded. */
	assert_true(ok > 1000);
}

/* The validator itself must reject what it is there to catch. */
static void
test_validator(void **state)
{
	(void)state;
	assert_true(valid_json_string("\"a\"", 3));
	assert_false(valid_json_string("\"a", 2));
	assert_false(valid_json_string("\"a\"b", 4));
	assert_false(valid_json_string("\"\n\"", 3));
	assert_false(valid_json_string("\"\\x\"", 4));
	assert_false(valid_json_string("\"\\ud800\"", 8));
	assert_false(valid_json_string("\"\xff\"", 3));
	assert_false(valid_json_string("\"\xc0\xaf\"", 4));
	assert_false(valid_json_string("\"\xed\xa0\x80\"", 5));
	assert_false(valid_json_string("\"\xf4\x90\x80\x80\"", 6));
	assert_false(valid_json_string("\"\xe2\x82\"", 4));
	assert_true(valid_json("{\"a\":[1,-2,true,null,{}]}", 25));
	assert_false(valid_json("{\"a\":[1,]}", 10));
	assert_false(valid_json("{\"a\" 1}", 7));
	assert_false(valid_json("[1][2]", 6));
	assert_false(valid_json("{,}", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_maxlen),
		cmocka_unit_test(test_escape_direct),
		cmocka_unit_test(test_writer_values),
		cmocka_unit_test(test_exact_capacity),
		cmocka_unit_test(test_overflow_sticky),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_property_random_bytes),
		cmocka_unit_test(test_property_roundtrip),
		cmocka_unit_test(test_property_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
