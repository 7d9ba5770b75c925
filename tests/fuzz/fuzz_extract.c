/*
 * fuzz_extract.c - libFuzzer target for hub_extract (hub/ingest.c), which
 * takes the indexed columns out of every record an agent sends, in one
 * walk over the record.  On any bytes it must not read past them or
 * crash; a record it accepts must leave every text column NUL-terminated
 * within its size, the numbers in their ranges, and the JSON pointing at
 * the input itself.  Built by the generic fuzz rule with hub/ingest.o
 * (mk/hub.mk); run by `make fuzz` / `make check-fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/ingest.h"
#include "hub/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(f)	(memchr((f), '\0', sizeof(f)) != NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hub_indicator d;
	char *s;

	/* a copy of exactly size bytes, so ASan sees any overread */
	if ((s = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	if (hub_extract(s, size, &d) == 0) {
		if (!TERMINATED(d.timestamp) || !TERMINATED(d.rule_id) ||
		    !TERMINATED(d.rule_name) || !TERMINATED(d.ruleset) ||
		    !TERMINATED(d.event_kind) || !TERMINATED(d.source_ip) ||
		    !TERMINATED(d.destination_ip) ||
		    !TERMINATED(d.transport) || !TERMINATED(d.direction) ||
		    !TERMINATED(d.fingerprint) ||
		    !TERMINATED(d.first_seen) || !TERMINATED(d.last_seen))
			abort();
		if (d.rule_id[0] == '\0' || d.event_kind[0] == '\0' ||
		    d.severity < 0 || d.severity > 100 || d.count < 1 ||
		    d.destination_port < -1 || d.destination_port > 65535 ||
		    d.shared_ref < -1 || d.json != s || d.json_len != size)
			abort();
	}
	free(s);
	return 0;
}
