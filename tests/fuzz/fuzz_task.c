/*
 * fuzz_task.c - libFuzzer target for what an agent and the hub meet in
 * targeted collection (docs/tasks.md): the task specification parser
 * (transport/task.c), the TASK frame decoder and the RESULT frame decoder
 * (transport/frame.c) with the result-chunk inflater the hub uses
 * (transport/batch.c).  The first byte picks one; the rest is its input.
 * Promises checked: a specification that parses encodes to a canonical
 * form that parses to the same fields and encodes to the same bytes, and
 * its IOC lists hold as many entries as it counted; a TASK or RESULT that
 * decodes encodes back to the very same payload (one encoding per value),
 * a START's specification goes through the parser like the agent's; a
 * deflated chunk never inflates past PK_RESULT_CHUNK_MAX.  Any broken
 * promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/batch.h"
#include "transport/frame.h"
#include "transport/task.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char canon[PK_TASK_JSON_MAX * 2], canon2[PK_TASK_JSON_MAX * 2];
static uint8_t enc[PK_FRAME_MAX_PAYLOAD + PK_FRAME_HDR];
static uint8_t chunk[PK_RESULT_CHUNK_MAX + 1];

static int
count_entry(void *arg, int list, const char *entry)
{
	uint32_t *n = arg;

	if (list < PK_TL_ADDRESS || list > PK_TL_HASH || entry[0] == '\0')
		abort();
	n[list]++;
	return 0;
}

static void
spec(const char *s, size_t len)
{
	struct pk_task_spec a, b;
	char err[256];
	uint32_t n[3] = { 0, 0, 0 };
	size_t l1, l2;

	if (pk_task_parse(s, len, &a, err, sizeof(err)) == -1) {
		/* A reason, always.  (It may quote an unknown key with its
		 * control bytes decoded: the hub makes those '?' before it
		 * shows the reason, hub/task_create.c.) */
		if (err[0] == '\0' || strlen(err) >= sizeof(err))
			abort();
		return;
	}
	if (pk_task_ioc_each(&a, count_entry, n) != 0 ||
	    n[PK_TL_ADDRESS] != a.n_addresses ||
	    n[PK_TL_DOMAIN] != a.n_domains || n[PK_TL_HASH] != a.n_hashes)
		abort();
	if ((l1 = pk_task_encode(&a, canon, sizeof(canon))) == 0)
		abort();
	if (pk_task_parse(canon, l1, &b, err, sizeof(err)) == -1) {
		/* Only an over-long canonical form may be refused. */
		if (l1 <= PK_TASK_JSON_MAX)
			abort();
		return;
	}
	if (a.type != b.type || a.duration_s != b.duration_s ||
	    a.max_bytes != b.max_bytes || a.max_packets != b.max_packets ||
	    a.max_rows != b.max_rows || a.pid != b.pid ||
	    a.factor_pct != b.factor_pct || strcmp(a.filter, b.filter) != 0 ||
	    strcmp(a.exe, b.exe) != 0 || a.n_addresses != b.n_addresses ||
	    a.n_domains != b.n_domains || a.n_hashes != b.n_hashes)
		abort();
	if ((l2 = pk_task_encode(&b, canon2, sizeof(canon2))) != l1 ||
	    memcmp(canon, canon2, l1) != 0)
		abort();
}

static void
task_frame(const uint8_t *p, size_t n)
{
	struct pk_task_frame t;
	struct pk_frame f;
	size_t len;

	f.type = PK_FT_TASK;
	f.flags = 0;
	f.len = (uint32_t)n;
	f.payload = p;
	if (pk_task_frame_decode(&f, &t) != PK_FE_OK)
		return;
	if (pk_task_frame_encode(&t, enc, sizeof(enc), &len) != PK_FE_OK ||
	    len != PK_FRAME_HDR + n || memcmp(enc + PK_FRAME_HDR, p, n) != 0)
		abort();
	if (t.op == PK_TOP_START)
		spec((const char *)t.spec, t.spec_len);
}

static void
result_frame(uint8_t flags, const uint8_t *p, size_t n)
{
	struct pk_result r;
	struct pk_frame f;
	size_t len, out;
	int rc;

	f.type = PK_FT_RESULT;
	f.flags = flags;
	f.len = (uint32_t)n;
	f.payload = p;
	if (pk_result_decode(&f, &r) != PK_FE_OK)
		return;
	if (pk_result_encode(&r, enc, sizeof(enc), &len) != PK_FE_OK ||
	    len != PK_FRAME_HDR + n || enc[5] != flags ||
	    memcmp(enc + PK_FRAME_HDR, p, n) != 0)
		abort();
	if (r.kind == PK_RK_DATA && (r.flags & PK_FF_RESULT_DEFLATE)) {
		chunk[PK_RESULT_CHUNK_MAX] = 0xa5;
		rc = pk_chunk_inflate(r.data, r.dlen, chunk,
		    PK_RESULT_CHUNK_MAX, &out);
		if (chunk[PK_RESULT_CHUNK_MAX] != 0xa5 ||
		    (rc == PK_BE_OK && (out == 0 || out > PK_RESULT_CHUNK_MAX)))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > PK_FRAME_MAX_PAYLOAD)
		return 0;
	switch (data[0] % 4) {
	case 0:
		spec((const char *)data + 1, size - 1);
		break;
	case 1:
		task_frame(data + 1, size - 1);
		break;
	default:
		result_frame(data[0] & 0x80 ? PK_FF_RESULT_DEFLATE : 0,
		    data + 1, size - 1);
		break;
	}
	return 0;
}
