/*
 * fuzz_jsonread.c - libFuzzer target for hub/jsonread.c, the reader the
 * hub runs on every record an agent sends: validation, path lookups of the
 * fields the hub indexes, the member walk hub_extract does (with keys too
 * long for its buffer), string decoding and integer parsing must never
 * read past the input or crash, and a value found must lie inside it.
 * Built by mk/hub.mk; run by `make fuzz` / `make check-fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/jsonread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"@timestamp", "event.kind", "event.severity", "rule.id",
		"picket.details.top_ports", "a", "a.b.c", "",
	};
	struct pk_jr_val v, root, m;
	struct pk_jr_iter it;
	char out[256], key[8];
	char *s;
	size_t i;
	int64_t n;

	/* A copy of exactly size bytes, so ASan sees any overread. */
	if ((s = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	(void)pk_jr_validate(s, size);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (pk_jr_find(s, size, paths[i], &v) != 1)
			continue;
		if (v.p < s || v.p + v.len > s + size)
			abort();
		if (pk_jr_string(&v, out, sizeof(out)) == 0 &&
		    strlen(out) >= sizeof(out))
			abort();
		(void)pk_jr_int(&v, INT64_MIN, INT64_MAX, &n);
	}
	/* the walk hub_extract does: members of the root, keys longer
	 * than the buffer come back as "" (long_keys) */
	if (pk_jr_validate(s, size) == 0 && pk_jr_root(s, size, &root) == 0 &&
	    root.type == PK_JR_OBJECT && pk_jr_iter_init(&it, &root) == 0) {
		it.long_keys = 1;
		for (i = 0; i < 4096 && pk_jr_iter_next(&it, key, sizeof(key),
		    &m) == 1; i++)
			if (strlen(key) >= sizeof(key) || m.p < s ||
			    m.p + m.len > s + size)
				abort();
	}
	free(s);
	return 0;
}
