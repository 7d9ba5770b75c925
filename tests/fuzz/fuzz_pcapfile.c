/*
 * fuzz_pcapfile.c - libFuzzer target for the capture-file reader
 * (collectors/pcap/pcapfile.c).  The input is the whole file, read from
 * memory: every frame handed out is touched byte by byte (so ASan checks
 * that data and caplen stay inside what was read), and the reader's
 * promises are checked: no frame over PK_PCAPFILE_MAX_SNAP, a reason for
 * every error, nothing after the first error or end, and no more frames
 * than the input could hold (16 bytes of record header at least each).
 * Any broken promise aborts.  Seeds: tests/fuzz/corpus/fuzz_pcapfile.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "collectors/pcap/pcapfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PK_PCAPFILE_ERRLEN];
	struct pk_pcapfile *f;
	struct pk_pcapfile_rec r;
	uint64_t n = 0;
	uint32_t i;
	uint8_t x = 0;
	int rc;

	if ((f = pk_pcapfile_open_mem(data, size, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();
		return 0;
	}
	while ((rc = pk_pcapfile_next(f, &r)) == PK_PCAPFILE_OK) {
		if (r.caplen > PK_PCAPFILE_MAX_SNAP || r.data == NULL)
			abort();
		for (i = 0; i < r.caplen; i++)
			x ^= r.data[i];
		if (++n * 16 > size)
			abort();
	}
	sink = x;
	if (rc != PK_PCAPFILE_EOF && pk_pcapfile_error(f)[0] == '\0')
		abort();
	if (pk_pcapfile_next(f, &r) != PK_PCAPFILE_EOF)
		abort();
	if (pk_pcapfile_stats(f)->records != n)
		abort();
	pk_pcapfile_close(f);
	return 0;
}
