/*
 * fuzz_batch.c - libFuzzer target for the hub's batch opener
 * (transport/batch.c).  The first 11 input bytes choose the BATCH header
 * (flags, count, declared raw length, dictionary id) and the rest is the
 * payload, so the fuzzer reaches plain and deflated batches, with and
 * without the preset dictionary, under small limits.  Promises checked:
 * nothing is written past the declared length or the limit; on success
 * there are exactly count records, consecutive from first_seq, each one
 * line of JSON-looking text inside the output, adding up to raw_len; and
 * what opened rebuilds and opens again to the same records.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT_RAW	(256 * 1024)
#define LIMIT_REC	64
#define SLACK		64

static uint8_t raw[LIMIT_RAW + SLACK], raw2[LIMIT_RAW + SLACK];
static uint8_t z[PK_FRAME_MAX_PAYLOAD];
static struct pk_batch_rec recs[LIMIT_REC], recs2[LIMIT_REC];

static void
check(const struct pk_batch_hdr *h)
{
	struct pk_batch_limits lim = { LIMIT_REC, LIMIT_RAW };
	struct pk_batch_hdr h2;
	size_t total = 0, zl;
	uint32_t i;

	for (i = 0; i < h->count; i++) {
		if (recs[i].seq != h->first_seq + i ||
		    (const uint8_t *)recs[i].data < raw ||
		    (const uint8_t *)recs[i].data + recs[i].len >
		    raw + h->raw_len ||
		    !pk_batch_record_ok(recs[i].data, recs[i].len) ||
		    memchr(recs[i].data, '\n', recs[i].len) != NULL)
			abort();
		total += recs[i].len + 1;
	}
	if (total != h->raw_len)
		abort();
	if (pk_batch_build(recs, h->count, PK_DICT_V1, 1, z, sizeof(z), &h2,
	    &zl) != PK_BE_OK)
		return;		/* may not fit one frame: fine */
	if (pk_batch_open(&h2, z, zl, &lim, raw2, LIMIT_RAW, recs2, LIMIT_REC,
	    NULL) != PK_BE_OK || h2.raw_len != h->raw_len)
		abort();
	for (i = 0; i < h->count; i++)
		if (recs2[i].len != recs[i].len ||
		    memcmp(recs2[i].data, recs[i].data, recs[i].len) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_batch_limits lim = { LIMIT_REC, LIMIT_RAW };
	struct pk_batch_stats st;
	struct pk_batch_hdr h;
	size_t i;
	int err;

	if (size < 11)
		return 0;
	memset(&st, 0, sizeof(st));
	memset(&h, 0, sizeof(h));
	h.flags = data[0] & 1 ? PK_FF_BATCH_DEFLATE : 0;
	h.dict_id = (data[0] >> 1) & 3;
	h.first_seq = (uint64_t)data[1] << 56 | (uint64_t)data[2] << 8 |
	    data[3];
	h.count = (uint32_t)data[4] << 8 | data[5];
	h.raw_len = (uint32_t)data[6] << 24 | (uint32_t)data[7] << 16 |
	    (uint32_t)data[8] << 8 | data[9];
	/* Often an honest-ish length, so inflate runs to the end. */
	if (data[10] & 1)
		h.raw_len &= 0x3ffff;
	data += 11;
	size -= 11;
	if (!(h.flags & PK_FF_BATCH_DEFLATE) && (data[-1] & 2))
		h.raw_len = (uint32_t)size;
	memset(raw + LIMIT_RAW, 0xa5, SLACK);
	err = pk_batch_open(&h, data, size, &lim, raw, LIMIT_RAW, recs,
	    LIMIT_REC, &st);
	for (i = LIMIT_RAW; i < LIMIT_RAW + SLACK; i++)
		if (raw[i] != 0xa5)
			abort();
	if (st.batches + st.rejected != 1 || (err == 0) != (st.batches == 1))
		abort();
	if (err == 0)
		check(&h);
	return 0;
}
