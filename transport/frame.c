/*
 * frame.c - the agent <-> hub frame codec (layout in docs/protocol.md).
 * Everything here treats the peer's bytes as hostile: the incremental
 * decoder checks a header the moment its six bytes are in (so an oversized
 * length is refused before any payload is buffered), and each payload
 * decoder walks its fields with a cursor that can only move forward inside
 * the payload, then insists the cursor ends exactly at the end.  Encoders
 * apply the same field checks, so whatever we send our own decoder
 * accepts.  Portable C, no allocation; called by the shipper, the hub
 * listener, tests and fuzzers.
 */
#include <string.h>

#include "transport/frame.h"

/* Per-type rules the header check applies. */
struct ftype {
	const char	*name;
	uint32_t	 min;	/* smallest payload */
	uint32_t	 exact;	/* 1: payload is exactly min bytes */
	uint8_t		 flags;	/* defined flag bits */
	uint8_t		 dir;	/* PK_FDIR_* */
};

static const struct ftype ftypes[PK_FT_LAST + 1] = {
	[PK_FT_HELLO] = { "HELLO", PK_HELLO_MIN, 0, 0, PK_FDIR_AGENT },
	[PK_FT_WELCOME] = { "WELCOME", PK_WELCOME_MIN, 0, 0, PK_FDIR_HUB },
	[PK_FT_BATCH] = { "BATCH", PK_BATCH_FIXED + 1, 0,
	    PK_FF_BATCH_DEFLATE, PK_FDIR_AGENT },
	[PK_FT_ACK] = { "ACK", PK_ACK_SIZE, 1, 0, PK_FDIR_HUB },
	[PK_FT_HEARTBEAT] = { "HEARTBEAT", PK_HEARTBEAT_SIZE, 1, 0,
	    PK_FDIR_AGENT | PK_FDIR_HUB },
	[PK_FT_ERROR] = { "ERROR", PK_ERROR_MIN, 0, 0,
	    PK_FDIR_AGENT | PK_FDIR_HUB },
	[PK_FT_TASK] = { "TASK", PK_TASK_FRAME_MIN, 0, 0, PK_FDIR_HUB },
	[PK_FT_RESULT] = { "RESULT", PK_RESULT_MIN, 0, PK_FF_RESULT_DEFLATE,
	    PK_FDIR_AGENT },
	[PK_FT_CONFIG] = { "CONFIG", PK_CONFIG_MIN, 0, PK_FF_CONFIG_DEFLATE,
	    PK_FDIR_HUB },
	[PK_FT_RENEW] = { "RENEW", PK_RENEW_MIN, 0, 0, PK_FDIR_AGENT },
	[PK_FT_CERT] = { "CERT", PK_CERT_MIN, 0, 0, PK_FDIR_HUB },
	[PK_FT_APPLIED] = { "APPLIED", PK_APPLIED_MIN, 0, 0, PK_FDIR_AGENT },
};

/* ------------------------------------------------------------ bytes */

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t
get64(const uint8_t *p)
{
	return ((uint64_t)get32(p) << 32) | get32(p + 4);
}

/* ------------------------------------------------------------ header */

int
pk_frame_check_header(uint8_t type, uint8_t flags, uint32_t len, uint32_t max)
{
	const struct ftype *t;

	if (max > PK_FRAME_MAX_PAYLOAD)
		max = PK_FRAME_MAX_PAYLOAD;
	if (len > max)
		return PK_FE_TOOLARGE;
	if (type == 0 || type > PK_FT_LAST)
		return PK_FE_TYPE;
	t = &ftypes[type];
	if ((flags & ~t->flags) != 0)
		return PK_FE_FLAGS;
	if (len < t->min)
		return PK_FE_SHORT;
	if (t->exact && len > t->min)
		return PK_FE_TRAILING;
	return PK_FE_OK;
}

/* ------------------------------------------------------------ decoder */

void
pk_frame_dec_init(struct pk_frame_dec *d, uint8_t *buf, uint32_t max)
{
	memset(d, 0, sizeof(*d));
	d->buf = buf;
	d->max = max > PK_FRAME_MAX_PAYLOAD ? PK_FRAME_MAX_PAYLOAD : max;
}

/* Take header bytes; 1 when the header is whole and valid. */
static int
dec_header(struct pk_frame_dec *d, const uint8_t **in, size_t *len)
{
	size_t n = PK_FRAME_HDR - d->hdr_have;

	if (n > *len)
		n = *len;
	memcpy(d->hdr + d->hdr_have, *in, n);
	d->hdr_have += n;
	*in += n;
	*len -= n;
	if (d->hdr_have < PK_FRAME_HDR)
		return 0;
	d->need = get32(d->hdr);
	d->have = 0;
	d->err = pk_frame_check_header(d->hdr[4], d->hdr[5], d->need, d->max);
	return d->err == PK_FE_OK ? 1 : -1;
}

int
pk_frame_dec_next(struct pk_frame_dec *d, const uint8_t **in, size_t *len,
    struct pk_frame *f)
{
	size_t n;
	int r;

	if (d->err != PK_FE_OK)
		return -1;
	if (d->hdr_have < PK_FRAME_HDR) {
		if ((r = dec_header(d, in, len)) != 1)
			return r;
	}
	n = d->need - d->have;
	if (n > *len)
		n = *len;
	if (n > 0)
		memcpy(d->buf + d->have, *in, n);
	d->have += (uint32_t)n;
	*in += n;
	*len -= n;
	if (d->have < d->need)
		return 0;
	f->len = d->need;
	f->type = d->hdr[4];
	f->flags = d->hdr[5];
	f->payload = d->buf;
	d->hdr_have = 0;
	d->frames++;
	return 1;
}

int
pk_frame_dec_eof(struct pk_frame_dec *d)
{
	if (d->err != PK_FE_OK)
		return -1;
	if (d->hdr_have != 0) {
		d->err = PK_FE_TRUNCATED;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ cursor */

/* Reads fields in order; any read past the end is an error. */
struct cur {
	const uint8_t	*p;
	uint32_t	 left;
	int		 err;
};

static void
cur_init(struct cur *c, const struct pk_frame *f, uint8_t type)
{
	c->p = f->payload;
	c->left = f->len;
	c->err = pk_frame_check_header(f->type, f->flags, f->len,
	    PK_FRAME_MAX_PAYLOAD);
	if (c->err == PK_FE_OK && f->type != type)
		c->err = PK_FE_ARG;
}

static const uint8_t *
cur_take(struct cur *c, uint32_t n, int err)
{
	const uint8_t *p = c->p;

	if (c->err != PK_FE_OK)
		return NULL;
	if (n > c->left) {
		c->err = err;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return p;
}

static uint8_t
cur8(struct cur *c)
{
	const uint8_t *p = cur_take(c, 1, PK_FE_SHORT);

	return p != NULL ? p[0] : 0;
}

static uint16_t
cur16(struct cur *c)
{
	const uint8_t *p = cur_take(c, 2, PK_FE_SHORT);

	return p != NULL ? get16(p) : 0;
}

static uint32_t
cur32(struct cur *c)
{
	const uint8_t *p = cur_take(c, 4, PK_FE_SHORT);

	return p != NULL ? get32(p) : 0;
}

static uint64_t
cur64(struct cur *c)
{
	const uint8_t *p = cur_take(c, 8, PK_FE_SHORT);

	return p != NULL ? get64(p) : 0;
}

/* Text we accept in identity strings and messages: no control bytes. */
static int
text_ok(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* u16 length, then that many bytes, into out (max bytes + NUL). */
static void
cur_str(struct cur *c, char *out, size_t max, int empty_ok)
{
	uint16_t n = cur16(c);
	const uint8_t *p;

	out[0] = '\0';
	if (c->err != PK_FE_OK)
		return;
	if (n > max || n > c->left) {
		c->err = PK_FE_STRLEN;
		return;
	}
	p = cur_take(c, n, PK_FE_STRLEN);
	if ((n == 0 && !empty_ok) || !text_ok(p, n)) {
		c->err = PK_FE_STRING;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

static int
cur_end(struct cur *c)
{
	if (c->err == PK_FE_OK && c->left != 0)
		c->err = PK_FE_TRAILING;
	return c->err;
}

/* ------------------------------------------------------------ checks */

static int
hello_ok(const struct pk_hello *h)
{
	return h->ver_min >= 1 && h->ver_min <= h->ver_max &&
	    h->next_seq >= 1 && h->oldest_seq >= 1 &&
	    h->oldest_seq <= h->next_seq;
}

static int
welcome_ok(const struct pk_welcome *w)
{
	return w->version >= 1 && w->max_frame >= PK_BATCH_FIXED + 1 &&
	    w->max_frame <= PK_FRAME_MAX_PAYLOAD &&
	    w->max_batch_records >= 1 && w->max_batch_bytes >= 3 &&
	    w->max_inflight >= 1 && w->heartbeat_s >= 1;
}

static int
batch_ok(const struct pk_batch_hdr *b, size_t dlen)
{
	if (b->first_seq == 0 || b->count == 0 || dlen == 0)
		return 0;
	if (b->first_seq - 1 > UINT64_MAX - b->count)
		return 0;	/* last seq would wrap */
	/* Every record is at least "{}\n". */
	if (b->raw_len / 3 < b->count)
		return 0;
	if (!(b->flags & PK_FF_BATCH_DEFLATE))
		return b->dict_id == 0 && dlen == b->raw_len;
	return 1;
}

/* ------------------------------------------------------------ decoders */

int
pk_hello_decode(const struct pk_frame *f, struct pk_hello *h)
{
	struct cur c;

	memset(h, 0, sizeof(*h));
	cur_init(&c, f, PK_FT_HELLO);
	h->ver_min = cur16(&c);
	h->ver_max = cur16(&c);
	h->next_seq = cur64(&c);
	h->oldest_seq = cur64(&c);
	h->dropped = cur64(&c);
	h->dicts = cur32(&c);
	cur_str(&c, h->agent_version, PK_AGENT_VERSION_MAX, 0);
	cur_str(&c, h->agent_id, PK_AGENT_ID_MAX, 0);
	cur_str(&c, h->host_name, PK_HOST_NAME_MAX, 0);
	if (cur_end(&c) != PK_FE_OK)
		return c.err;
	return hello_ok(h) ? PK_FE_OK : PK_FE_VALUE;
}

int
pk_welcome_decode(const struct pk_frame *f, struct pk_welcome *w)
{
	struct cur c;

	memset(w, 0, sizeof(*w));
	cur_init(&c, f, PK_FT_WELCOME);
	w->version = cur16(&c);
	w->dicts = cur32(&c);
	w->stored_seq = cur64(&c);
	w->server_time_us = cur64(&c);
	w->max_frame = cur32(&c);
	w->max_batch_records = cur32(&c);
	w->max_batch_bytes = cur32(&c);
	w->max_inflight = cur32(&c);
	w->heartbeat_s = cur16(&c);
	cur_str(&c, w->hub_id, PK_HUB_ID_MAX, 0);
	if (cur_end(&c) != PK_FE_OK)
		return c.err;
	return welcome_ok(w) ? PK_FE_OK : PK_FE_VALUE;
}

int
pk_batch_decode_hdr(const struct pk_frame *f, struct pk_batch_hdr *b,
    const uint8_t **data, size_t *dlen)
{
	struct cur c;
	const uint8_t *p;

	memset(b, 0, sizeof(*b));
	*data = NULL;
	*dlen = 0;
	cur_init(&c, f, PK_FT_BATCH);
	b->flags = f->flags;
	b->first_seq = cur64(&c);
	b->count = cur32(&c);
	b->raw_len = cur32(&c);
	p = cur_take(&c, 1, PK_FE_SHORT);
	if (c.err != PK_FE_OK)
		return c.err;
	b->dict_id = p[0];
	if (!batch_ok(b, c.left))
		return PK_FE_VALUE;
	*data = c.p;
	*dlen = c.left;
	return PK_FE_OK;
}

static int
decode_u64(const struct pk_frame *f, uint8_t type, uint64_t *v)
{
	struct cur c;

	*v = 0;
	cur_init(&c, f, type);
	*v = cur64(&c);
	return cur_end(&c);
}

int
pk_ack_decode(const struct pk_frame *f, uint64_t *seq)
{
	return decode_u64(f, PK_FT_ACK, seq);
}

int
pk_heartbeat_decode(const struct pk_frame *f, uint64_t *time_us)
{
	return decode_u64(f, PK_FT_HEARTBEAT, time_us);
}

int
pk_error_decode(const struct pk_frame *f, struct pk_error *e)
{
	struct cur c;

	memset(e, 0, sizeof(*e));
	cur_init(&c, f, PK_FT_ERROR);
	e->code = cur16(&c);
	cur_str(&c, e->msg, PK_ERROR_MSG_MAX, 1);
	if (cur_end(&c) != PK_FE_OK)
		return c.err;
	return e->code != 0 ? PK_FE_OK : PK_FE_VALUE;
}

/* Text blocks (PEM, task JSON): printable ASCII, tab, CR and LF; at
 * least one byte, at most max. */
static int
text_block_ok(const uint8_t *s, size_t n, size_t max)
{
	size_t i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((s[i] < 0x20 && s[i] != '\n' && s[i] != '\r' &&
		    s[i] != '\t') || s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
pem_ok(const uint8_t *s, size_t n)
{
	return text_block_ok(s, n, PK_CERT_PEM_MAX);
}

int
pk_renew_decode(const struct pk_frame *f, const uint8_t **pem, size_t *len)
{
	struct cur c;

	*pem = NULL;
	*len = 0;
	cur_init(&c, f, PK_FT_RENEW);
	if (c.err != PK_FE_OK)
		return c.err;
	if (f->len > PK_CERT_PEM_MAX)
		return PK_FE_STRLEN;
	if (!pem_ok(f->payload, f->len))
		return PK_FE_STRING;
	*pem = f->payload;
	*len = f->len;
	return PK_FE_OK;
}

int
pk_cert_decode(const struct pk_frame *f, struct pk_cert *ce)
{
	struct cur c;

	memset(ce, 0, sizeof(*ce));
	cur_init(&c, f, PK_FT_CERT);
	ce->result = cur8(&c);
	cur_str(&c, ce->msg, PK_ERROR_MSG_MAX, 1);
	if (c.err != PK_FE_OK)
		return c.err;
	if (ce->result > PK_CERT_LATER)
		return PK_FE_VALUE;
	if (ce->result != PK_CERT_ISSUED)
		return c.left == 0 ? PK_FE_OK : PK_FE_TRAILING;
	if (c.left > PK_CERT_PEM_MAX)
		return PK_FE_STRLEN;
	if (!pem_ok(c.p, c.left))
		return c.left == 0 ? PK_FE_SHORT : PK_FE_STRING;
	ce->pem = c.p;
	ce->pem_len = c.left;
	return PK_FE_OK;
}

/* Task states an agent may report (transport/task.h numbering). */
#define RS_RUNNING	3
#define RS_DONE		4
#define RS_FAILED	5
#define RS_REFUSED	6
#define RS_CANCELLED	8
#define TASK_SPEC_MAX	65536	/* PK_TASK_JSON_MAX */

int
pk_task_frame_decode(const struct pk_frame *f, struct pk_task_frame *t)
{
	struct cur c;

	memset(t, 0, sizeof(*t));
	cur_init(&c, f, PK_FT_TASK);
	t->id = cur64(&c);
	t->op = cur8(&c);
	t->resume = cur64(&c);
	if (c.err != PK_FE_OK)
		return c.err;
	if (t->id == 0 || t->op < PK_TOP_START || t->op > PK_TOP_FORGET ||
	    (t->op != PK_TOP_START && t->resume != 0))
		return PK_FE_VALUE;
	if (t->op != PK_TOP_START)
		return c.left == 0 ? PK_FE_OK : PK_FE_TRAILING;
	if (c.left == 0)
		return PK_FE_SHORT;
	if (c.left > TASK_SPEC_MAX)
		return PK_FE_STRLEN;
	if (!text_block_ok(c.p, c.left, TASK_SPEC_MAX))
		return PK_FE_STRING;
	t->spec = c.p;
	t->spec_len = c.left;
	return PK_FE_OK;
}

static int
state_ok(uint8_t s)
{
	return s == RS_RUNNING || s == RS_DONE || s == RS_FAILED ||
	    s == RS_REFUSED || s == RS_CANCELLED;
}

int
pk_result_decode(const struct pk_frame *f, struct pk_result *r)
{
	struct cur c;

	memset(r, 0, sizeof(*r));
	cur_init(&c, f, PK_FT_RESULT);
	r->id = cur64(&c);
	r->kind = cur8(&c);
	r->flags = f->flags;
	if (c.err != PK_FE_OK)
		return c.err;
	if (r->id == 0)
		return PK_FE_VALUE;
	switch (r->kind) {
	case PK_RK_STATE:
		if (r->flags != 0)
			return PK_FE_FLAGS;
		r->state = cur8(&c);
		r->bytes = cur64(&c);
		r->rows = cur64(&c);
		cur_str(&c, r->reason, PK_ERROR_MSG_MAX, 1);
		if (cur_end(&c) != PK_FE_OK)
			return c.err;
		return state_ok(r->state) ? PK_FE_OK : PK_FE_VALUE;
	case PK_RK_DATA:
		r->offset = cur64(&c);
		if (c.err != PK_FE_OK)
			return c.err;
		if (c.left == 0)
			return PK_FE_SHORT;
		if (c.left > PK_RESULT_CHUNK_MAX)
			return PK_FE_STRLEN;
		if (r->offset > (UINT64_C(1) << 40))
			return PK_FE_VALUE;
		r->data = c.p;
		r->dlen = c.left;
		return PK_FE_OK;
	default:
		return PK_FE_VALUE;
	}
}

/*
 * CONFIG's fields against each other.  dlen is what follows the fixed
 * part.  A plain APPLY carries the text itself, so its size must be
 * raw_len; a deflated one is checked against raw_len by the caller's
 * capped inflate.  ROLLBACK carries nothing: any byte or flag after its
 * fixed part is a peer we do not understand.
 */
static int
config_check(const struct pk_config_frame *c, size_t dlen)
{
	switch (c->op) {
	case PK_COP_APPLY:
		if (c->version == 0 || c->raw_len == 0 ||
		    c->raw_len > PK_BUNDLE_RAW_MAX)
			return PK_FE_VALUE;
		if (dlen == 0)
			return PK_FE_SHORT;
		if ((c->flags & ~PK_FF_CONFIG_DEFLATE) != 0)
			return PK_FE_FLAGS;
		if (!(c->flags & PK_FF_CONFIG_DEFLATE) && dlen != c->raw_len)
			return PK_FE_VALUE;
		return PK_FE_OK;
	case PK_COP_ROLLBACK:
		if (c->flags != 0)
			return PK_FE_FLAGS;
		if (c->raw_len != 0)
			return PK_FE_VALUE;
		return dlen == 0 ? PK_FE_OK : PK_FE_TRAILING;
	default:
		return PK_FE_VALUE;
	}
}

int
pk_config_decode(const struct pk_frame *f, struct pk_config_frame *cf)
{
	struct cur c;
	int err;

	memset(cf, 0, sizeof(*cf));
	cur_init(&c, f, PK_FT_CONFIG);
	cf->version = cur64(&c);
	cf->op = cur8(&c);
	cf->raw_len = cur32(&c);
	cf->flags = f->flags;
	if (c.err != PK_FE_OK)
		return c.err;
	if ((err = config_check(cf, c.left)) != PK_FE_OK)
		return err;
	if (cf->op == PK_COP_APPLY) {
		cf->data = c.p;
		cf->dlen = c.left;
	}
	return PK_FE_OK;
}

/* The outcome and the three versions must tell one consistent story. */
static int
applied_ok(const struct pk_applied *a)
{
	switch (a->outcome) {
	case PK_AO_RUNNING:
		return a->version == 0;
	case PK_AO_APPLIED:
		return a->version != 0 && a->running == a->version;
	case PK_AO_REFUSED:
		return 1;
	case PK_AO_ROLLED_BACK:
		return a->running == a->version;
	default:
		return 0;
	}
}

int
pk_applied_decode(const struct pk_frame *f, struct pk_applied *a)
{
	struct cur c;

	memset(a, 0, sizeof(*a));
	cur_init(&c, f, PK_FT_APPLIED);
	a->running = cur64(&c);
	a->previous = cur64(&c);
	a->version = cur64(&c);
	a->outcome = cur8(&c);
	cur_str(&c, a->reason, PK_ERROR_MSG_MAX, 1);
	if (cur_end(&c) != PK_FE_OK)
		return c.err;
	return applied_ok(a) ? PK_FE_OK : PK_FE_VALUE;
}

int
pk_frame_validate(const struct pk_frame *f)
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
		uint64_t v;
	} u;
	const uint8_t *data;
	size_t dlen;

	switch (f->type) {
	case PK_FT_HELLO:
		return pk_hello_decode(f, &u.h);
	case PK_FT_WELCOME:
		return pk_welcome_decode(f, &u.w);
	case PK_FT_BATCH:
		return pk_batch_decode_hdr(f, &u.b, &data, &dlen);
	case PK_FT_ACK:
		return pk_ack_decode(f, &u.v);
	case PK_FT_HEARTBEAT:
		return pk_heartbeat_decode(f, &u.v);
	case PK_FT_ERROR:
		return pk_error_decode(f, &u.e);
	case PK_FT_RENEW:
		return pk_renew_decode(f, &data, &dlen);
	case PK_FT_CERT:
		return pk_cert_decode(f, &u.c);
	case PK_FT_TASK:
		return pk_task_frame_decode(f, &u.t);
	case PK_FT_RESULT:
		return pk_result_decode(f, &u.r);
	case PK_FT_CONFIG:
		return pk_config_decode(f, &u.cf);
	case PK_FT_APPLIED:
		return pk_applied_decode(f, &u.a);
	default:
		return PK_FE_TYPE;
	}
}

/* ------------------------------------------------------------ encoders */

/* Writes forward into a bounded buffer, like the cursor. */
struct wr {
	uint8_t	*p;
	size_t	 left;
	int	 err;
};

static uint8_t *
wr_take(struct wr *w, size_t n)
{
	uint8_t *p = w->p;

	if (w->err != PK_FE_OK)
		return NULL;
	if (n > w->left) {
		w->err = PK_FE_ARG;
		return NULL;
	}
	w->p += n;
	w->left -= n;
	return p;
}

static void
wr16(struct wr *w, uint16_t v)
{
	uint8_t *p = wr_take(w, 2);

	if (p != NULL)
		put16(p, v);
}

static void
wr32(struct wr *w, uint32_t v)
{
	uint8_t *p = wr_take(w, 4);

	if (p != NULL)
		put32(p, v);
}

static void
wr64(struct wr *w, uint64_t v)
{
	uint8_t *p = wr_take(w, 8);

	if (p != NULL)
		put64(p, v);
}

static void
wr_bytes(struct wr *w, const void *s, size_t n)
{
	uint8_t *p = wr_take(w, n);

	if (p != NULL && n > 0)
		memcpy(p, s, n);
}

/* The string must fit max, be text, and be non-empty unless allowed. */
static void
wr_str(struct wr *w, const char *s, size_t max, int empty_ok)
{
	size_t n = strnlen(s, max + 1);

	if (w->err != PK_FE_OK)
		return;
	if (n > max) {
		w->err = PK_FE_STRLEN;
		return;
	}
	if ((n == 0 && !empty_ok) || !text_ok((const uint8_t *)s, n)) {
		w->err = PK_FE_STRING;
		return;
	}
	wr16(w, (uint16_t)n);
	wr_bytes(w, s, n);
}

/* Start a frame: reserve the header, fill it in at wr_finish(). */
static uint8_t *
wr_begin(struct wr *w, uint8_t *out, size_t cap)
{
	w->p = out;
	w->left = cap;
	w->err = PK_FE_OK;
	return wr_take(w, PK_FRAME_HDR);
}

static int
wr_finish(struct wr *w, uint8_t *hdr, uint8_t type, uint8_t flags,
    size_t extra, size_t *outlen)
{
	size_t len;
	int err;

	*outlen = 0;
	if (w->err != PK_FE_OK)
		return w->err;
	len = (size_t)(w->p - hdr) - PK_FRAME_HDR + extra;
	if (len > PK_FRAME_MAX_PAYLOAD)
		return PK_FE_TOOLARGE;
	err = pk_frame_check_header(type, flags, (uint32_t)len,
	    PK_FRAME_MAX_PAYLOAD);
	if (err != PK_FE_OK)
		return err;
	put32(hdr, (uint32_t)len);
	hdr[4] = type;
	hdr[5] = flags;
	*outlen = (size_t)(w->p - hdr);
	return PK_FE_OK;
}

int
pk_hello_encode(const struct pk_hello *h, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);

	*outlen = 0;
	if (!hello_ok(h))
		return PK_FE_VALUE;
	wr16(&w, h->ver_min);
	wr16(&w, h->ver_max);
	wr64(&w, h->next_seq);
	wr64(&w, h->oldest_seq);
	wr64(&w, h->dropped);
	wr32(&w, h->dicts);
	wr_str(&w, h->agent_version, PK_AGENT_VERSION_MAX, 0);
	wr_str(&w, h->agent_id, PK_AGENT_ID_MAX, 0);
	wr_str(&w, h->host_name, PK_HOST_NAME_MAX, 0);
	return wr_finish(&w, hdr, PK_FT_HELLO, 0, 0, outlen);
}

int
pk_welcome_encode(const struct pk_welcome *wl, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);

	*outlen = 0;
	if (!welcome_ok(wl))
		return PK_FE_VALUE;
	wr16(&w, wl->version);
	wr32(&w, wl->dicts);
	wr64(&w, wl->stored_seq);
	wr64(&w, wl->server_time_us);
	wr32(&w, wl->max_frame);
	wr32(&w, wl->max_batch_records);
	wr32(&w, wl->max_batch_bytes);
	wr32(&w, wl->max_inflight);
	wr16(&w, wl->heartbeat_s);
	wr_str(&w, wl->hub_id, PK_HUB_ID_MAX, 0);
	return wr_finish(&w, hdr, PK_FT_WELCOME, 0, 0, outlen);
}

static int
batch_head(struct wr *w, uint8_t *hdr, const struct pk_batch_hdr *b,
    size_t dlen, size_t *outlen)
{
	uint8_t *p;

	if (!batch_ok(b, dlen) || (b->flags & ~PK_FF_BATCH_DEFLATE) != 0)
		return PK_FE_VALUE;
	if (dlen > PK_FRAME_MAX_PAYLOAD - PK_BATCH_FIXED)
		return PK_FE_TOOLARGE;
	wr64(w, b->first_seq);
	wr32(w, b->count);
	wr32(w, b->raw_len);
	if ((p = wr_take(w, 1)) != NULL)
		p[0] = b->dict_id;
	return wr_finish(w, hdr, PK_FT_BATCH, b->flags, dlen, outlen);
}

int
pk_batch_encode_head(const struct pk_batch_hdr *b, size_t dlen, uint8_t *out,
    size_t cap, size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);

	*outlen = 0;
	return batch_head(&w, hdr, b, dlen, outlen);
}

int
pk_batch_encode_frame(const struct pk_batch_hdr *b, const uint8_t *data,
    size_t dlen, uint8_t *out, size_t cap, size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);
	size_t head;
	int err;

	*outlen = 0;
	if ((err = batch_head(&w, hdr, b, dlen, &head)) != PK_FE_OK)
		return err;
	if (dlen > cap - head)
		return PK_FE_ARG;
	memmove(out + head, data, dlen);
	*outlen = head + dlen;
	return PK_FE_OK;
}

static int
encode_u64(uint8_t type, uint64_t v, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);

	wr64(&w, v);
	return wr_finish(&w, hdr, type, 0, 0, outlen);
}

int
pk_ack_encode(uint64_t seq, uint8_t *out, size_t cap, size_t *outlen)
{
	return encode_u64(PK_FT_ACK, seq, out, cap, outlen);
}

int
pk_heartbeat_encode(uint64_t time_us, uint8_t *out, size_t cap,
    size_t *outlen)
{
	return encode_u64(PK_FT_HEARTBEAT, time_us, out, cap, outlen);
}

int
pk_error_encode(uint16_t code, const char *msg, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);

	*outlen = 0;
	if (code == 0)
		return PK_FE_VALUE;
	wr16(&w, code);
	wr_str(&w, msg != NULL ? msg : "", PK_ERROR_MSG_MAX, 1);
	return wr_finish(&w, hdr, PK_FT_ERROR, 0, 0, outlen);
}

int
pk_renew_encode(const char *pem, size_t len, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);

	*outlen = 0;
	if (pem == NULL || !pem_ok((const uint8_t *)pem, len))
		return PK_FE_STRING;
	wr_bytes(&w, pem, len);
	return wr_finish(&w, hdr, PK_FT_RENEW, 0, 0, outlen);
}

int
pk_cert_encode(uint8_t result, const char *msg, const char *pem, size_t len,
    uint8_t *out, size_t cap, size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);

	*outlen = 0;
	if (result > PK_CERT_LATER)
		return PK_FE_VALUE;
	if ((result == PK_CERT_ISSUED) !=
	    (pem != NULL && pem_ok((const uint8_t *)pem, len)))
		return PK_FE_STRING;
	wr_bytes(&w, &result, 1);
	wr_str(&w, msg != NULL ? msg : "", PK_ERROR_MSG_MAX, 1);
	if (result == PK_CERT_ISSUED)
		wr_bytes(&w, pem, len);
	return wr_finish(&w, hdr, PK_FT_CERT, 0, 0, outlen);
}

int
pk_task_frame_encode(const struct pk_task_frame *t, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);

	*outlen = 0;
	if (t->id == 0 || t->op < PK_TOP_START || t->op > PK_TOP_FORGET ||
	    (t->op != PK_TOP_START && t->resume != 0))
		return PK_FE_VALUE;
	if ((t->op == PK_TOP_START) != (t->spec != NULL && t->spec_len > 0))
		return PK_FE_STRING;
	if (t->op == PK_TOP_START &&
	    !text_block_ok(t->spec, t->spec_len, TASK_SPEC_MAX))
		return PK_FE_STRING;
	wr64(&w, t->id);
	wr_bytes(&w, &t->op, 1);
	wr64(&w, t->resume);
	if (t->op == PK_TOP_START)
		wr_bytes(&w, t->spec, t->spec_len);
	return wr_finish(&w, hdr, PK_FT_TASK, 0, 0, outlen);
}

int
pk_result_encode(const struct pk_result *r, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);
	uint8_t flags = 0;

	*outlen = 0;
	if (r->id == 0)
		return PK_FE_VALUE;
	wr64(&w, r->id);
	wr_bytes(&w, &r->kind, 1);
	switch (r->kind) {
	case PK_RK_STATE:
		if (!state_ok(r->state))
			return PK_FE_VALUE;
		wr_bytes(&w, &r->state, 1);
		wr64(&w, r->bytes);
		wr64(&w, r->rows);
		wr_str(&w, r->reason, PK_ERROR_MSG_MAX, 1);
		break;
	case PK_RK_DATA:
		if (r->dlen == 0 || r->dlen > PK_RESULT_CHUNK_MAX ||
		    r->data == NULL || (r->flags & ~PK_FF_RESULT_DEFLATE))
			return PK_FE_VALUE;
		flags = r->flags;
		wr64(&w, r->offset);
		wr_bytes(&w, r->data, r->dlen);
		break;
	default:
		return PK_FE_VALUE;
	}
	return wr_finish(&w, hdr, PK_FT_RESULT, flags, 0, outlen);
}

int
pk_config_encode(const struct pk_config_frame *c, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);
	int err;

	*outlen = 0;
	if (c->op == PK_COP_APPLY && c->data == NULL && c->dlen != 0)
		return PK_FE_ARG;
	if (c->dlen > PK_FRAME_MAX_PAYLOAD - PK_CONFIG_MIN)
		return PK_FE_TOOLARGE;
	if ((err = config_check(c, c->dlen)) != PK_FE_OK)
		return err;
	wr64(&w, c->version);
	wr_bytes(&w, &c->op, 1);
	wr32(&w, c->raw_len);
	if (c->op == PK_COP_APPLY)
		wr_bytes(&w, c->data, c->dlen);
	return wr_finish(&w, hdr, PK_FT_CONFIG, c->flags, 0, outlen);
}

int
pk_applied_encode(const struct pk_applied *a, uint8_t *out, size_t cap,
    size_t *outlen)
{
	struct wr w;
	uint8_t *hdr = wr_begin(&w, out, cap);

	*outlen = 0;
	if (!applied_ok(a))
		return PK_FE_VALUE;
	wr64(&w, a->running);
	wr64(&w, a->previous);
	wr64(&w, a->version);
	wr_bytes(&w, &a->outcome, 1);
	wr_str(&w, a->reason, PK_ERROR_MSG_MAX, 1);
	return wr_finish(&w, hdr, PK_FT_APPLIED, 0, 0, outlen);
}

/* ------------------------------------------------------------ helpers */

uint16_t
pk_proto_pick(uint16_t amin, uint16_t amax, uint16_t hmin, uint16_t hmax)
{
	uint16_t lo = amin > hmin ? amin : hmin;
	uint16_t hi = amax < hmax ? amax : hmax;

	if (lo == 0 || lo > hi)
		return 0;
	return hi;
}

int
pk_frame_dir(uint8_t type)
{
	if (type == 0 || type > PK_FT_LAST)
		return 0;
	return ftypes[type].dir;
}

const char *
pk_frame_type_name(uint8_t type)
{
	if (type == 0 || type > PK_FT_LAST)
		return "unknown";
	return ftypes[type].name;
}

const char *
pk_frame_strerror(int err)
{
	static const char *const msgs[PK_FE_NERR] = {
		[PK_FE_OK] = "ok",
		[PK_FE_TOOLARGE] = "frame too large",
		[PK_FE_TYPE] = "unknown frame type",
		[PK_FE_FLAGS] = "undefined flag bits set",
		[PK_FE_TRUNCATED] = "connection closed inside a frame",
		[PK_FE_SHORT] = "payload shorter than its fields",
		[PK_FE_TRAILING] = "bytes after the last field",
		[PK_FE_STRLEN] = "string length past the frame or its maximum",
		[PK_FE_STRING] = "empty string or control bytes",
		[PK_FE_VALUE] = "field value out of range",
		[PK_FE_RESERVED] = "reserved frame type",	/* unused */
		[PK_FE_ARG] = "bad argument or buffer too small",
	};

	if (err < 0 || err >= PK_FE_NERR)
		return "unknown error";
	return msgs[err];
}

uint16_t
pk_frame_err_wire(int err)
{
	switch (err) {
	case PK_FE_TOOLARGE:
		return PK_WE_TOOLARGE;
	case PK_FE_TYPE:
	case PK_FE_RESERVED:
		return PK_WE_TYPE;
	default:
		return PK_WE_PROTOCOL;
	}
}
