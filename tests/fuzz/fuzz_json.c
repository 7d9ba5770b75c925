/*
 * fuzz_json.c - libFuzzer target for the JSON writer's string path
 * (common/json.c).  The input is arbitrary bytes, as packet fields are;
 * it is written with json_strn into a small buffer (often overflowing),
 * into one always large enough, and with a few maxlen values.  Whenever
 * json_finish() succeeds the output must be exactly one JSON string of
 * valid UTF-8, checked by tests/unit/jsoncheck.h (written independently
 * of json.c); a failed record must leave an empty buffer; bytes past the
 * capacity must never change.  Any broken promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "tests/unit/jsoncheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	    !valid_json_string(buf, (size_t)r))
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
