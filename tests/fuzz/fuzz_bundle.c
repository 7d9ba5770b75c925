/*
 * fuzz_bundle.c - libFuzzer target for the shared-indicator bundle parser
 * (transport/bundle.c), which an agent runs on text that came from the
 * network.  Whatever parses must keep the format's promises: written back
 * it gives the very same bytes (the format is canonical), every entry's
 * value passes pk_bundle_check_value for its kind, the entries are sorted
 * and unique (pk_bundle_sort changes nothing), and the parser's own limits
 * hold.  A refusal must come with a reason naming a line.  Any broken
 * promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small on purpose: the limit check is then reachable. */
#define FUZZ_MAX_ENTRIES	64

static void
check_parsed(const struct pk_bundle *b, const uint8_t *data, size_t size)
{
	char err[PK_BUNDLE_ERRLEN], *out;
	size_t i, n, len;

	if (b->version == 0 || b->n > FUZZ_MAX_ENTRIES)
		abort();
	for (i = 0; i < b->n; i++) {
		if (pk_bundle_check_value(b->e[i].kind, b->e[i].value, err,
		    sizeof(err)) != 0)
			abort();
		if (b->e[i].ref == 0 ||
		    pk_bundle_tlp_name(b->e[i].tlp) == NULL ||
		    b->e[i].origin[0] == '\0' ||
		    strlen(b->e[i].origin) > PK_BUNDLE_ORIGIN_MAX)
			abort();
	}
	/* Sorted and unique already: the sort keeps every entry in place. */
	if (b->n > 0) {
		struct pk_bundle_entry *copy = malloc(b->n * sizeof(*copy));

		if (copy == NULL)
			abort();
		memcpy(copy, b->e, b->n * sizeof(*copy));
		n = b->n;
		pk_bundle_sort(copy, &n);
		if (n != b->n || memcmp(copy, b->e, n * sizeof(*copy)) != 0)
			abort();
		free(copy);
	}
	if (pk_bundle_write(b, &out, &len, err, sizeof(err)) != 0)
		abort();
	if (len != size || memcmp(out, data, size) != 0 || out[len] != '\0')
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_bundle b;
	char err[PK_BUNDLE_ERRLEN];

	err[0] = '\0';
	if (pk_bundle_parse((const char *)data, size, FUZZ_MAX_ENTRIES, &b,
	    err, sizeof(err)) == 0) {
		check_parsed(&b, data, size);
		pk_bundle_free(&b);
		return 0;
	}
	/* Refused: a reason that names a line (or the size), nothing kept. */
	if (strncmp(err, "line ", 5) != 0 && strstr(err, "over the limit") ==
	    NULL)
		abort();
	if (b.e != NULL || b.text != NULL || b.n != 0)
		abort();
	return 0;
}
