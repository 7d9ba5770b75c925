/*
 * fuzz_frame.c - libFuzzer target for the frame codec (transport/frame.c).
 * Arbitrary bytes go through the incremental decoder in chunk sizes drawn
 * from a generator seeded by the input, and again in one piece: both must
 * yield the same frames and the same error.  Every frame goes through its
 * type's decoder; whatever decodes must encode back to the very same
 * bytes (the format has one encoding per value), which also proves the
 * decoders read every byte they accept.  Any broken promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF	64

static uint8_t buf_a[PK_FRAME_MAX_PAYLOAD], buf_b[PK_FRAME_MAX_PAYLOAD];
static uint8_t enc[PK_FRAME_MAX_PAYLOAD + PK_FRAME_HDR];

struct seen {
	uint8_t		type, flags;
	uint32_t	len;
	uint64_t	hash;
};

static uint64_t
hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n-- > 0)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* Decode f; if it decodes, re-encode and compare with the original. */
static void
check_frame(const struct pk_frame *f)
{
	union {
		struct pk_hello h;
		struct pk_welcome w;
		struct pk_batch_hdr b;
		struct pk_error e;
		struct pk_cert c;
		struct pk_task_frame t;
		struct pk_result r;
		struct pk_config_frame cf;
		struct pk_applied a;
	} u;
	const uint8_t *d;
	size_t dl, n = 0;
	uint64_t v;
	int r, e = -1;

	switch (f->type) {
	case PK_FT_HELLO:
		if ((r = pk_hello_decode(f, &u.h)) == 0)
			e = pk_hello_encode(&u.h, enc, sizeof(enc), &n);
		break;
	case PK_FT_WELCOME:
		if ((r = pk_welcome_decode(f, &u.w)) == 0)
			e = pk_welcome_encode(&u.w, enc, sizeof(enc), &n);
		break;
	case PK_FT_BATCH:
		if ((r = pk_batch_decode_hdr(f, &u.b, &d, &dl)) == 0) {
			if (d < f->payload || d + dl != f->payload + f->len)
				abort();
			e = pk_batch_encode_frame(&u.b, d, dl, enc,
			    sizeof(enc), &n);
		}
		break;
	case PK_FT_ACK:
		if ((r = pk_ack_decode(f, &v)) == 0)
			e = pk_ack_encode(v, enc, sizeof(enc), &n);
		break;
	case PK_FT_HEARTBEAT:
		if ((r = pk_heartbeat_decode(f, &v)) == 0)
			e = pk_heartbeat_encode(v, enc, sizeof(enc), &n);
		break;
	case PK_FT_ERROR:
		if ((r = pk_error_decode(f, &u.e)) == 0)
			e = pk_error_encode(u.e.code, u.e.msg, enc,
			    sizeof(enc), &n);
		break;
	case PK_FT_RENEW:
		if ((r = pk_renew_decode(f, &d, &dl)) == 0)
			e = pk_renew_encode((const char *)d, dl, enc,
			    sizeof(enc), &n);
		break;
	case PK_FT_CERT:
		if ((r = pk_cert_decode(f, &u.c)) == 0)
			e = pk_cert_encode(u.c.result, u.c.msg,
			    (const char *)u.c.pem, u.c.pem_len, enc,
			    sizeof(enc), &n);
		break;
	case PK_FT_TASK:
		if ((r = pk_task_frame_decode(f, &u.t)) == 0)
			e = pk_task_frame_encode(&u.t, enc, sizeof(enc), &n);
		break;
	case PK_FT_RESULT:
		if ((r = pk_result_decode(f, &u.r)) == 0)
			e = pk_result_encode(&u.r, enc, sizeof(enc), &n);
		break;
	case PK_FT_CONFIG:
		if ((r = pk_config_decode(f, &u.cf)) == 0) {
			if (u.cf.op == PK_COP_APPLY && (u.cf.data == NULL ||
			    u.cf.data + u.cf.dlen != f->payload + f->len))
				abort();
			if (u.cf.op != PK_COP_APPLY && u.cf.dlen != 0)
				abort();
			e = pk_config_encode(&u.cf, enc, sizeof(enc), &n);
		}
		break;
	case PK_FT_APPLIED:
		if ((r = pk_applied_decode(f, &u.a)) == 0)
			e = pk_applied_encode(&u.a, enc, sizeof(enc), &n);
		break;
	default:
		/* The header check lets only known types through, and every
		 * known type has a decoder since version 2. */
		abort();
	}
	if (r != pk_frame_validate(f))
		abort();
	if (r != 0)
		return;
	if (e != 0 || n != PK_FRAME_HDR + f->len || enc[4] != f->type ||
	    enc[5] != f->flags ||
	    memcmp(enc + PK_FRAME_HDR, f->payload, f->len) != 0)
		abort();
}

/* Run the whole input through a decoder; chunk sizes from seed (0: all). */
static int
run(const uint8_t *data, size_t size, uint32_t seed, uint8_t *buf,
    uint32_t max, struct seen *s, size_t *ns)
{
	struct pk_frame_dec d;
	struct pk_frame f;
	const uint8_t *p = data;
	size_t left = size, chunk, take;
	int r;

	*ns = 0;
	pk_frame_dec_init(&d, buf, max);
	while (left > 0) {
		seed = seed * 1103515245u + 12345u;
		chunk = seed == 0 ? left : 1 + (seed >> 16) % 64;
		take = chunk < left ? chunk : left;
		left -= take;
		while ((r = pk_frame_dec_next(&d, &p, &take, &f)) == 1) {
			if (f.len > max || f.len > PK_FRAME_MAX_PAYLOAD)
				abort();
			check_frame(&f);
			if (*ns < MAXF) {
				s[*ns].type = f.type;
				s[*ns].flags = f.flags;
				s[*ns].len = f.len;
				s[*ns].hash = hash(f.payload, f.len);
			}
			(*ns)++;
		}
		if (r < 0)
			return d.err;
		if (take != 0)
			abort();
	}
	if (pk_frame_dec_eof(&d) != 0)
		return d.err;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen a[MAXF], b[MAXF];
	size_t na, nb, i;
	uint32_t seed = 1;
	int ea, eb;

	if (size >= 4)
		memcpy(&seed, data, 4);
	seed |= 1;
	ea = run(data, size, 0, buf_a, PK_FRAME_MAX_PAYLOAD, a, &na);
	eb = run(data, size, seed, buf_b, PK_FRAME_MAX_PAYLOAD, b, &nb);
	if (ea != eb || na != nb)
		abort();
	for (i = 0; i < na && i < MAXF; i++)
		if (a[i].type != b[i].type || a[i].flags != b[i].flags ||
		    a[i].len != b[i].len || a[i].hash != b[i].hash)
			abort();
	/* A small negotiated limit must never let a longer frame through. */
	(void)run(data, size, seed, buf_b, 64, b, &nb);
	return 0;
}
