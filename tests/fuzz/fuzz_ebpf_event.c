/*
 * fuzz_ebpf_event.c - libFuzzer target for the process collector's record
 * decoder (collectors/ebpf/evdecode.c): any bytes, at any length, must be
 * decoded or refused without reading past them.  Seeds are records
 * recorded from the real programs (tests/fuzz/corpus/fuzz_ebpf_event).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/ebpf/evdecode.h"
#include "collectors/ebpf/proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_pev ev;
	size_t pos = 0, alen, n = 0, sum = 0;
	const char *a;

	if (pk_pev_decode(data, size, &ev) != PK_PEV_OK)
		return 0;
	if (ev.type == PK_EV_EXEC) {
		/* touch every byte the decoder handed out */
		while (pk_pev_argv_next(ev.u.exec.argv, ev.u.exec.argv_len,
		    &pos, &a, &alen)) {
			sum += alen > 0 ? (unsigned char)a[alen - 1] : 0;
			n++;
		}
		if (n != ev.u.exec.argc)
			abort();
		if (memchr(ev.u.exec.path, '\0', ev.u.exec.path_len) != NULL)
			abort();
	} else if (ev.type == PK_EV_OPEN && ev.u.open.path_len > 0)
		sum += (unsigned char)ev.u.open.path[ev.u.open.path_len - 1];
	return sum == (size_t)-1;
}
