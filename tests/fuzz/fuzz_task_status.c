/*
 * fuzz_task_status.c - libFuzzer target for the task status file
 * (agent/task_policy.c pk_task_status_decode), which the shipper reads
 * from the collector for every task, and for the task file names both
 * processes parse (pk_task_file_id).  A status that decodes must encode
 * back to exactly the same bytes and keep the documented ranges; a name
 * that parses must print back to its digits.  A broken promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/task_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_task_status s;
	char out[PK_TSTATUS_MAX + 1], name[64], back[32];
	const char *ext;
	uint64_t id;
	size_t n;

	if (pk_task_status_decode((const char *)data, size, &s) == 0) {
		if (s.state != PK_TS_RUNNING && s.state != PK_TS_DONE &&
		    s.state != PK_TS_FAILED && s.state != PK_TS_REFUSED &&
		    s.state != PK_TS_CANCELLED)
			abort();
		if (s.bytes > PK_TASK_BYTES_MAX ||
		    s.rows > PK_TASK_PACKETS_MAX)
			abort();
		n = pk_task_status_encode(&s, out, sizeof(out));
		if (n != size || memcmp(out, data, size) != 0)
			abort();
	}
	n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, n);
	name[n] = '\0';
	if (pk_task_file_id(name, &id, &ext) == 0) {
		if (id == 0 || id >= (1ULL << 63) || ext[-1] != '.')
			abort();
		snprintf(back, sizeof(back), "%llu", (unsigned long long)id);
		if (strncmp(name, back, strlen(back)) != 0 ||
		    name + strlen(back) + 1 != ext)
			abort();
	}
	return 0;
}
