/*
 * shipcore.c - the protocol logic both platform shippers share
 * (shipcore.h).  Nothing here touches a socket, a thread or a clock: the
 * callers pass the monotonic time and move the bytes.  Nothing here can
 * lose a record either: the spool keeps everything until an ACK covers
 * it, and the hub stores (agent, seq) once, so a batch sent twice after a
 * lost ACK is harmless (docs/protocol.md "Exactly once").
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/shipcore.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "transport/spool.h"

#ifndef PICKET_VERSION
#define PICKET_VERSION "0.0.0"
#endif

#define MS	1000ULL

int
pk_sc_init(struct pk_shipcore *sc, const struct pk_sc_conf *c,
    struct pk_spool_reader *rd)
{
	memset(sc, 0, sizeof(*sc));
	sc->c = *c;
	sc->rd = rd;
	sc->sg.cap = (size_t)c->batch_bytes + PK_SPOOL_PAYLOAD_MAX;
	sc->sg.max = c->batch_records;
	if ((sc->sg.buf = malloc(sc->sg.cap)) == NULL ||
	    (sc->sg.carry = malloc(PK_SPOOL_PAYLOAD_MAX)) == NULL ||
	    (sc->sg.recs = calloc(sc->sg.max > 0 ? sc->sg.max : 1,
	    sizeof(*sc->sg.recs))) == NULL) {
		pk_sc_free(sc);
		return -1;
	}
	return 0;
}

void
pk_sc_free(struct pk_shipcore *sc)
{
	free(sc->sg.buf);
	free(sc->sg.carry);
	free(sc->sg.recs);
	sc->sg.buf = sc->sg.carry = NULL;
	sc->sg.recs = NULL;
}

void
pk_sc_reset(struct pk_shipcore *sc)
{
	sc->fl_head = sc->fl_n = 0;
	sc->sg.carry_len = 0;
}

/* ------------------------------------------------------- HELLO, WELCOME */

void
pk_sc_hello(struct pk_shipcore *sc, uint8_t ver_min, uint8_t ver_max,
    uint64_t spool_next, uint64_t lost, const char *agent_id,
    const char *host_name, struct pk_hello *h)
{
	uint64_t acked = pk_spool_reader_acked(sc->rd);

	memset(h, 0, sizeof(*h));
	h->ver_min = ver_min;
	h->ver_max = ver_max;
	h->next_seq = spool_next > acked + 1 ? spool_next : acked + 1;
	h->oldest_seq = acked + 1;
	h->dropped = lost;
	h->dicts = PK_DICT_MASK;
	pk_strlcpy(h->agent_version, PICKET_VERSION, sizeof(h->agent_version));
	pk_strlcpy(h->agent_id, agent_id, sizeof(h->agent_id));
	pk_strlcpy(h->host_name, host_name, sizeof(h->host_name));
}

int
pk_sc_welcome(struct pk_shipcore *sc, const struct pk_frame *f,
    uint8_t ver_min, uint8_t ver_max, int *auth, char *why, size_t whylen)
{
	struct pk_error e;

	*auth = 0;
	if (f->type == PK_FT_ERROR) {
		if (pk_error_decode(f, &e) != PK_FE_OK)
			snprintf(e.msg, sizeof(e.msg), "(malformed ERROR)");
		else if (e.code == PK_WE_VERSION || e.code == PK_WE_AUTH)
			*auth = 1;
		snprintf(why, whylen, "hub refused HELLO: error %u: %.300s",
		    e.code, e.msg);
		return 1;
	}
	if (f->type != PK_FT_WELCOME ||
	    pk_welcome_decode(f, &sc->wl) != PK_FE_OK ||
	    sc->wl.version < ver_min || sc->wl.version > ver_max) {
		snprintf(why, whylen, "hub answered HELLO with a bad %s",
		    pk_frame_type_name(f->type));
		return -1;
	}
	return 0;
}

void
pk_sc_begin(struct pk_shipcore *sc, uint64_t now)
{
	uint64_t acked = pk_spool_reader_acked(sc->rd);

	sc->read_from = (sc->wl.stored_seq > acked ? sc->wl.stored_seq :
	    acked) + 1;
	sc->sent_seq = sc->read_from - 1;
	if (sc->n.acked_seq < sc->sent_seq)
		sc->n.acked_seq = sc->sent_seq;
	if (sc->wl.stored_seq > acked && pk_spool_reader_ack(sc->rd,
	    sc->wl.stored_seq, sc->c.spool_fsync) != 0)
		sc->n.spool_errors++;
	sc->last_rx = sc->last_tx = now;
}

/* --------------------------------------------------------- batching */

static int
stage_add(void *arg, uint64_t seq, const uint8_t *payload, size_t len)
{
	struct pk_sc_stage *g = arg;

	if (g->n > 0 && (seq != g->next || g->used + len > g->cap)) {
		/* Records were lost in between (spool full, disk error), or
		 * this one does not fit: a batch holds consecutive records,
		 * so this one starts the next batch.  The reader counts it
		 * as read, hence the copy. */
		memcpy(g->carry, payload, len);
		g->carry_len = len;
		g->carry_seq = seq;
		return 1;
	}
	memcpy(g->buf + g->used, payload, len);
	g->recs[g->n].seq = seq;
	g->recs[g->n].data = (const char *)g->buf + g->used;
	g->recs[g->n].len = len;
	g->used += len;
	g->n++;
	g->next = seq + 1;
	return g->n >= g->max;
}

/* Fill the stage: the carried record, then the spool.  0, -1 error. */
static int
stage_fill(struct pk_shipcore *sc, uint32_t max_rec, uint32_t max_raw)
{
	struct pk_sc_stage *g = &sc->sg;
	uint64_t next_from;
	uint32_t save;
	long r;

	g->n = 0;
	g->used = 0;
	if (g->carry_len > 0) {
		/* stage_add copies it; the carry buffer is free again */
		(void)stage_add(g, g->carry_seq, g->carry, g->carry_len);
		g->carry_len = 0;
	}
	if (g->n >= max_rec)
		return 0;
	save = g->max;
	g->max = max_rec;
	r = pk_spool_read(sc->rd, sc->read_from, max_rec - g->n,
	    max_raw > g->used ? max_raw - g->used : 1, stage_add, g,
	    &next_from);
	g->max = save;
	if (r < 0) {
		sc->n.spool_errors++;
		log_warn("hub: reading the spool from %llu",
		    (unsigned long long)sc->read_from);
		return -1;
	}
	if (r > 0 || next_from > sc->read_from)
		sc->read_from = next_from;
	return 0;
}

/*
 * Make the next BATCH frame in out from the spool.  1 made, 0 nothing
 * to send, 2 a record was skipped (call again), -1 error.
 */
static int
batch_try(struct pk_shipcore *sc, uint8_t *out, uint64_t now, size_t *len)
{
	struct pk_sc_stage *g = &sc->sg;
	struct pk_batch_hdr hdr;
	uint32_t max_rec = sc->c.batch_records, max_raw = sc->c.batch_bytes;
	size_t head = PK_FRAME_HDR + PK_BATCH_FIXED, dlen, hl;
	int err;
	uint8_t dict;

	if (max_rec > sc->wl.max_batch_records)
		max_rec = sc->wl.max_batch_records;
	if (max_raw > sc->wl.max_batch_bytes)
		max_raw = sc->wl.max_batch_bytes;
	if (max_rec > g->max)
		max_rec = g->max;
	if (stage_fill(sc, max_rec, max_raw) != 0)
		return -1;
	if (g->n == 0)
		return 0;
	dict = sc->c.level > 0 && (sc->wl.dicts & (1u << PK_DICT_CURRENT)) ?
	    PK_DICT_CURRENT : PK_DICT_NONE;
	for (;;) {
		err = pk_batch_build(g->recs, g->n, dict, sc->c.level,
		    out + head, sc->wl.max_frame - PK_BATCH_FIXED, &hdr,
		    &dlen);
		if (err == PK_BE_OK)
			break;
		if (err != PK_BE_SPACE && err != PK_BE_RECORD) {
			log_warnx("hub: cannot build a batch: %s",
			    pk_batch_strerror(err));
			return -1;
		}
		if (g->n == 1) {
			/* One record that cannot travel (too large for the
			 * hub's frame, or not one line of JSON): skip it;
			 * the hub counts the gap as lost. */
			sc->n.unsendable++;
			log_warnx("hub: record %llu cannot be sent (%s), "
			    "skipped", (unsigned long long)g->recs[0].seq,
			    pk_batch_strerror(err));
			sc->sent_seq = g->recs[0].seq;
			return 2;
		}
		/* Send the first half now; the rest comes next time. */
		g->n /= 2;
		sc->read_from = g->recs[g->n].seq;
		g->carry_len = 0;
	}
	if (pk_batch_encode_head(&hdr, dlen, out, head, &hl) != PK_FE_OK ||
	    hl != head) {
		log_warnx("hub: cannot frame a batch of %u records (%u bytes)",
		    hdr.count, hdr.raw_len);
		return -1;
	}
	*len = head + dlen;
	sc->fl[(sc->fl_head + sc->fl_n) % PK_SC_INFLIGHT_MAX] =
	    (struct pk_sc_inflight){ hdr.first_seq,
	    hdr.first_seq + hdr.count - 1, now };
	sc->fl_n++;
	sc->sent_seq = hdr.first_seq + hdr.count - 1;
	sc->n.batches++;
	sc->n.records += hdr.count;
	sc->n.raw_bytes += hdr.raw_len;
	sc->n.wire_bytes += dlen;
	return 1;
}

int
pk_sc_can_send(const struct pk_shipcore *sc)
{
	return sc->fl_n < sc->wl.max_inflight && sc->fl_n < PK_SC_INFLIGHT_MAX;
}

int
pk_sc_next_batch(struct pk_shipcore *sc, uint8_t *out, uint64_t now,
    size_t *len)
{
	int r;

	/* Each turn either makes a frame or moves read_from past one
	 * record: bounded by the spool. */
	while ((r = batch_try(sc, out, now, len)) == 2)
		;
	return r;
}

int
pk_sc_ack(struct pk_shipcore *sc, uint64_t seq)
{
	if (seq > sc->sent_seq || seq < sc->n.acked_seq)
		return -1;
	while (sc->fl_n > 0 && sc->fl[sc->fl_head].last <= seq) {
		sc->fl_head = (sc->fl_head + 1) % PK_SC_INFLIGHT_MAX;
		sc->fl_n--;
	}
	sc->n.acks++;
	sc->n.acked_seq = seq;
	sc->attempt = 0;
	/* Segments go only now that the hub has them (rule 5). */
	if (pk_spool_reader_ack(sc->rd, seq, sc->c.spool_fsync) != 0) {
		/* The hub has it; deleting is only housekeeping, and the
		 * next ACK tries again. */
		sc->n.spool_errors++;
		log_warnx("hub: cannot record ACK %llu in the spool",
		    (unsigned long long)seq);
	}
	return 0;
}

/* ------------------------------------------------------------- clocks */

uint64_t
pk_sc_heartbeat_us(const struct pk_shipcore *sc)
{
	return (uint64_t)sc->wl.heartbeat_s * PK_USEC;
}

int
pk_sc_heartbeat(const struct pk_shipcore *sc, uint64_t now, uint64_t wall_us,
    uint8_t *out, size_t cap, size_t *len)
{
	if (now - sc->last_tx < pk_sc_heartbeat_us(sc))
		return 0;
	return pk_heartbeat_encode(wall_us, out, cap, len) == PK_FE_OK;
}

int
pk_sc_timed_out(const struct pk_shipcore *sc, uint64_t now)
{
	uint64_t hb = pk_sc_heartbeat_us(sc);

	return now - sc->last_rx > 3 * hb || (sc->fl_n > 0 &&
	    now - sc->fl[sc->fl_head].sent_us > 3 * hb);
}

uint64_t
pk_sc_wake_at(const struct pk_shipcore *sc, int out_idle)
{
	uint64_t hb = pk_sc_heartbeat_us(sc), at;

	at = sc->last_rx + 3 * hb + 1;
	if (out_idle && sc->last_tx + hb < at)
		at = sc->last_tx + hb;
	if (sc->fl_n > 0 && sc->fl[sc->fl_head].sent_us + 3 * hb + 1 < at)
		at = sc->fl[sc->fl_head].sent_us + 3 * hb + 1;
	return at;
}

uint64_t
pk_sc_rng(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

uint64_t
pk_sc_backoff_ms(struct pk_shipcore *sc, uint32_t base_ms, uint32_t cap_ms,
    int auth, uint64_t *rng)
{
	uint64_t ms;

	/* After VERSION or AUTH the same HELLO would be refused again
	 * soon: wait between half the cap and the cap. */
	ms = auth ? cap_ms / 2 + pk_sc_rng(rng) % (cap_ms / 2 + 1) :
	    pk_backoff_ms(base_ms, cap_ms, sc->attempt, pk_sc_rng(rng));
	if (sc->attempt < 32)
		sc->attempt++;
	return ms;
}

int
pk_sc_ms_until(uint64_t at)
{
	uint64_t now = pk_mono_us();

	if (at <= now)
		return 0;
	if ((at - now) / MS >= INT_MAX)
		return INT_MAX;
	return (int)((at - now + MS - 1) / MS);
}

int
pk_sc_proxy_request(const char *host, uint16_t port, char *out, size_t cap)
{
	int v6 = strchr(host, ':') != NULL, w;

	w = snprintf(out, cap, "CONNECT %s%s%s:%u HTTP/1.1\r\n"
	    "Host: %s%s%s:%u\r\n\r\n", v6 ? "[" : "", host, v6 ? "]" : "",
	    port, v6 ? "[" : "", host, v6 ? "]" : "", port);
	return w < 0 || (size_t)w >= cap ? -1 : w;
}

/* resp holds len bytes read so far (cap len + 1): the whole header when
 * it ends in a blank line, else it was cut at PK_SC_PROXY_MAX. */
int
pk_sc_proxy_answer(char *resp, size_t len, char *why, size_t whylen)
{
	int code;

	resp[len] = '\0';
	if (len >= PK_SC_PROXY_MAX) {
		snprintf(why, whylen, "proxy: response header too long");
		return -1;
	}
	if (sscanf(resp, "HTTP/1.%*[01] %3d", &code) != 1 || code != 200) {
		resp[strcspn(resp, "\r\n")] = '\0';
		snprintf(why, whylen, "proxy refused CONNECT: %.100s", resp);
		return -1;
	}
	return 0;
}
