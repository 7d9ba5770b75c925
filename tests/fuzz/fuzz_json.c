/*
 * fuzz_json.c - libFuzzer target for the JSON writer's string path
 * (common/json.c).  The input is arbitrary bytes, as packet fields are;
 * it is written with json_strn into a small buffer (often overflowing),
 * into one always large enough, and with a few maxlen values.  Whenever
 * json_finish() succeeds the output must be exactly one JSON string of
 * valid UTF-8, checked by a validator written here independently of
 * json.c; a failed record must leave an empty buffer; bytes past the
 * capacity must never change.  Any broken promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One strict UTF-8 character: its length, or 0. */
static size_t
utf8_len(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int
is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* s[0..n) is exactly one JSON string literal of valid UTF-8. */
static int
valid_json_string(const uint8_t *s, size_t n)
{
	size_t k, c;

	if (n < 2 || s[0] != '"')
		return 0;
	for (k = 1; k < n; ) {
		if (s[k] == '"')
			return k == n - 1;
		if (s[k] < 0x20)
			return 0;
		if (s[k] == '\\') {
			if (k + 1 >= n)
				return 0;
			if (strchr("\"\\/bfnrt", s[k + 1]) != NULL &&
			    s[k + 1] != '\0') {
				k += 2;
				continue;
			}
			if (s[k + 1] != 'u' || k + 5 >= n || !is_hex(s[k + 2]) ||
			    !is_hex(s[k + 3]) || !is_hex(s[k + 4]) ||
			    !is_hex(s[k + 5]))
				return 0;
			/* A lone surrogate escape is not text either. */
			if ((s[k + 2] == 'd' || s[k + 2] == 'D') &&
			    strchr("89abAB", s[k + 3]) != NULL)
				return 0;
			k += 6;
			continue;
		}
		if ((c = utf8_len(s + k, n - k)) == 0)
			return 0;
		k += c;
	}
	return 0;
}

static void
one(const uint8_t *data, size_t size, char *buf, size_t cap, size_t slack,
    size_t maxlen, int must_fit)
{
	struct json j;
	long r;
	size_t i;

	memset(buf, 0x5a, cap + slack);
	json_init(&j, buf, cap);
	json_strn(&j, NULL, data, size, maxlen);
	r = json_finish(&j);
	for (i = cap; i < cap + slack; i++)
		if ((uint8_t)buf[i] != 0x5a)
			abort();
	if (r < 0) {
		if (must_fit || (cap > 0 && buf[0] != '\0'))
			abort();
		return;
	}
	if ((size_t)r >= cap || buf[r] != '\0' ||
	    !valid_json_string((const uint8_t *)buf, (size_t)r))
		abort();
	/* Input is cut by bytes: the text never grows past 6 per byte. */
	if ((size_t)r > 2 + 6 * (maxlen != 0 && maxlen < size ? maxlen : size))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char small[64 + 16];
	size_t bigcap = 6 * size + 3;
	char *big = malloc(bigcap + 16);

	if (big == NULL)
		return 0;
	one(data, size, small, 64, 16, 0, 0);
	one(data, size, small, 64, 16, 7, 0);
	one(data, size, big, bigcap, 16, 0, 1);
	one(data, size, big, bigcap, 16, size / 2 + 1, 1);
	free(big);
	return 0;
}
