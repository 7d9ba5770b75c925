/*
 * stream.c - in-order TCP stream reassembly (see stream.h for the
 * contract).  The engine keeps one opaque pointer per flow and calls
 * pk_stream_packet() for every TCP packet and pk_stream_release() when the
 * flow leaves its table; content detectors read the resulting view.
 *
 * Per direction:
 *   - the first byte is the one after the SYN (seq + 1), or, for a
 *     direction picked up midstream, the first byte of the first segment
 *     carrying data; then view.gap is set, because bytes before it were
 *     missed and offsets are not stream offsets;
 *   - in-order bytes are appended to a buffer that starts small and
 *     doubles up to [stream] depth, so the many short flows never cost a
 *     depth-sized buffer; depth is a stream position: bytes whose position
 *     is at or past depth are not kept;
 *   - out-of-order bytes wait in a sorted list of pieces, at most
 *     max_segments per direction, and are appended when the hole before
 *     them fills;
 *   - overlapping bytes keep the first copy that arrived, whether it sits
 *     in the buffer or in the held list ("first data wins", counted once
 *     per packet when the copies differ); a packet is cut around held
 *     pieces rather than overwriting them;
 *   - on FIN or RST in a direction, holes still open there are given up
 *     (counted in gaps) and the held data after them is inspected, as
 *     Suricata inspects what is in order after a gap: the buffer restarts
 *     at the first held byte (view.gap = 1, new_off = 0); but when the
 *     FIN/RST packet itself added bytes, or several holes are given up at
 *     once, the runs after the holes are joined to the buffer instead, so
 *     that no byte goes uninspected (these are the last bytes the
 *     direction will show; offsets past a hole are not stream offsets);
 *   - nothing more is kept in a direction after its FIN, nor in either
 *     direction after an RST (the connection is aborted, as Suricata
 *     closes the session); the buffer of a direction that is complete
 *     (FIN/RST, depth, memcap) is freed as soon as no view shows it: at
 *     once, or at the flow's next packet (flow_trim): memory follows the
 *     open conversations;
 *   - sequence numbers are compared with serial-number arithmetic
 *     (RFC 1982): differences are taken as signed 32-bit values, which is
 *     right across the 2^32 wrap because every position kept lies within
 *     depth (at most 16 MiB) of the next expected byte.
 *
 * Memory: every allocation (the per-flow state, buffers, held pieces) is
 * counted in stats.mem and checked against memcap first; what is refused
 * is counted in memcap_refused.  A flow whose state itself is refused
 * gets a shared sentinel, so it is refused (and counted) once.  Live
 * states are also kept on a list, so pk_streams_free() frees those whose
 * flows were never released (a flow table freed without END events).
 * Portable.
 */
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/flow.h"
#include "collectors/pcap/stream.h"
#include "common/dlist.h"
#include "common/util.h"

#define STREAM_BUF_MIN	2048u	/* first buffer of a direction */

/* One held out-of-order piece: bytes [seq, seq + len). */
struct seg {
	struct seg	*next;
	uint32_t	 seq;
	uint32_t	 len;
	uint8_t		 data[];
};

struct sdir {
	uint8_t		 init;		/* first byte's sequence known */
	uint8_t		 gap;		/* bytes before buf[0] were missed */
	uint8_t		 full;		/* FIN/RST, depth or memcap: no more */
	uint32_t	 next;		/* sequence number of buf[len] */
	uint32_t	 pos;		/* stream position of buf[len] */
	uint8_t		*buf;
	uint32_t	 len, cap;
	struct seg	*segs;		/* held, ascending, none overlapping */
	uint32_t	 nsegs;
	struct pk_stream_scan scan;	/* the matcher's (stream.h) */
};

struct sflow {
	struct pk_dlink	 link;		/* every live state, for free */
	struct sdir	 d[2];
};

struct pk_streams {
	struct pk_stream_cfg	 cfg;
	struct pk_stream_stats	 st;
	struct pk_dlist		 live;
};

/* Shared by every flow whose state was refused over memcap. */
static struct sflow refused_flow;

/* Serial-number difference a - b (RFC 1982), as a signed value. */
static int64_t
seqdiff(uint32_t a, uint32_t b)
{
	return (int64_t)(int32_t)(a - b);
}

static int
mem_take(struct pk_streams *s, size_t n)
{
	if (n > s->cfg.memcap || s->st.mem > s->cfg.memcap - n) {
		s->st.memcap_refused++;
		return -1;
	}
	s->st.mem += n;
	if (s->st.mem > s->st.mem_peak)
		s->st.mem_peak = s->st.mem;
	return 0;
}

static void
mem_give(struct pk_streams *s, size_t n)
{
	s->st.mem -= n;
}

struct pk_streams *
pk_streams_new(const struct pk_stream_cfg *cfg)
{
	struct pk_streams *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cfg = *cfg;
	if (s->cfg.depth == 0)
		s->cfg.depth = 1;
	return s;
}

static void flow_release(struct pk_streams *, struct sflow *);

/*
 * States not released yet (flows still in a table that is freed without
 * END events) are freed here, so the owner cannot leak them.
 */
void
pk_streams_free(struct pk_streams *s)
{
	struct pk_dlink *l;

	if (s == NULL)
		return;
	while ((l = s->live.head) != NULL)
		flow_release(s, PK_CONTAINER_OF(l, struct sflow, link));
	free(s);
}

const struct pk_stream_stats *
pk_streams_stats(const struct pk_streams *s)
{
	return &s->st;
}

static void
seg_free(struct pk_streams *s, struct sdir *d, struct seg *g)
{
	mem_give(s, sizeof(*g) + g->len);
	d->nsegs--;
	free(g);
}

static void
dir_drop_segs(struct pk_streams *s, struct sdir *d)
{
	struct seg *g;

	while ((g = d->segs) != NULL) {
		d->segs = g->next;
		seg_free(s, d, g);
	}
}

/* Nothing more will be kept in this direction. */
static void
dir_stop(struct pk_streams *s, struct sdir *d)
{
	d->full = 1;
	dir_drop_segs(s, d);
}

/* Room for len + n bytes, growing geometrically; -1 stops the direction. */
static int
dir_reserve(struct pk_streams *s, struct sdir *d, uint32_t n)
{
	uint32_t need = d->len + n, ncap;
	uint8_t *nb;

	if (need <= d->cap)
		return 0;
	ncap = d->cap ? d->cap : STREAM_BUF_MIN;
	while (ncap < need && ncap < s->cfg.depth)
		ncap = ncap > UINT32_MAX / 2 ? UINT32_MAX : ncap * 2;
	ncap = PK_MIN(ncap, s->cfg.depth);
	if (ncap < need)
		ncap = need;	/* cannot happen: positions stay under depth */
	if (mem_take(s, ncap - d->cap) == -1)
		goto refuse;
	if ((nb = realloc(d->buf, ncap)) == NULL) {
		mem_give(s, ncap - d->cap);
		goto refuse;
	}
	if (d->buf == NULL)
		s->st.streams++;
	d->buf = nb;
	d->cap = ncap;
	return 0;
refuse:
	dir_stop(s, d);
	return -1;
}

static int
dir_append(struct pk_streams *s, struct sdir *d, const uint8_t *p,
    uint32_t n)
{
	if (n == 0 || d->full)
		return 0;
	if (dir_reserve(s, d, n) == -1)
		return -1;
	memcpy(d->buf + d->len, p, n);
	d->len += n;
	d->next += n;
	d->pos += n;
	s->st.bytes += n;
	if (d->pos >= s->cfg.depth) {
		s->st.depth_reached++;
		dir_stop(s, d);
	}
	return 0;
}

/*
 * Bytes [rel, rel + n) relative to d->next, rel < 0: already past.
 * Compare what the buffer still holds; returns 1 if a byte differs.
 */
static int
cmp_past(const struct sdir *d, int64_t rel, const uint8_t *p, uint32_t n)
{
	int64_t bo = (int64_t)d->len + rel, i;

	for (i = 0; i < (int64_t)n && rel + i < 0; i++)
		if (bo + i >= 0 && d->buf[bo + i] != p[i])
			return 1;
	return 0;
}

/* Append the held pieces that have become contiguous. */
static void
dir_drain(struct pk_streams *s, struct sdir *d, int *differ)
{
	struct seg *g;
	int64_t rel, skip;

	while ((g = d->segs) != NULL && !d->full &&
	    (rel = seqdiff(g->seq, d->next)) <= 0) {
		/* Held pieces never overlap the buffer (appends stop where
		 * a piece starts); trim anyway rather than trust it. */
		skip = PK_MIN(-rel, (int64_t)g->len);
		if (skip > 0 && cmp_past(d, rel, g->data, (uint32_t)skip))
			*differ = 1;
		d->segs = g->next;
		if (dir_append(s, d, g->data + skip, g->len - (uint32_t)skip)
		    == -1) {
			seg_free(s, d, g);
			return;
		}
		seg_free(s, d, g);
	}
}

static int
seg_new(struct pk_streams *s, struct sdir *d, struct seg **pp, uint32_t seq,
    const uint8_t *p, uint32_t n)
{
	struct seg *g;

	if (d->nsegs >= s->cfg.max_segments) {
		s->st.ooo_dropped++;
		return -1;
	}
	if (mem_take(s, sizeof(*g) + n) == -1)
		return -1;
	if ((g = malloc(sizeof(*g) + n)) == NULL) {
		mem_give(s, sizeof(*g) + n);
		s->st.memcap_refused++;
		return -1;
	}
	g->seq = seq;
	g->len = n;
	memcpy(g->data, p, n);
	g->next = *pp;
	*pp = g;
	d->nsegs++;
	s->st.segments_ooo++;
	return 0;
}

/*
 * Hold bytes [rel, rel + n) (rel > 0) out of order: only the parts no
 * held piece covers yet are stored, in order, each as one piece.
 */
static void
dir_hold(struct pk_streams *s, struct sdir *d, int64_t rel,
    const uint8_t *p, uint32_t n, int *differ)
{
	struct seg **pp = &d->segs, *g;
	int64_t cur = rel, end = rel + n, hr, he, pe, i;

	while (cur < end) {
		g = *pp;
		if (g == NULL) {
			seg_new(s, d, pp, d->next + (uint32_t)cur,
			    p + (cur - rel), (uint32_t)(end - cur));
			return;
		}
		hr = seqdiff(g->seq, d->next);
		he = hr + g->len;
		if (he <= cur) {
			pp = &g->next;
			continue;
		}
		if (hr > cur) {
			pe = PK_MIN(hr, end);
			if (seg_new(s, d, pp, d->next + (uint32_t)cur,
			    p + (cur - rel), (uint32_t)(pe - cur)) == -1)
				return;
			pp = &(*pp)->next;
			cur = pe;
			continue;
		}
		/* hr <= cur < he: the held copy wins */
		pe = PK_MIN(end, he);
		for (i = cur; i < pe; i++)
			if (g->data[i - hr] != p[i - rel]) {
				*differ = 1;
				break;
			}
		cur = pe;
		pp = &g->next;
	}
}

/* Payload bytes starting at sequence seq, for an initialised direction. */
static void
dir_data(struct pk_streams *s, struct sdir *d, uint32_t seq,
    const uint8_t *p, uint32_t n, int *differ)
{
	int64_t rel, room;
	uint32_t k;

	while (n > 0 && !d->full) {
		dir_drain(s, d, differ);
		if (d->full)
			break;
		rel = seqdiff(seq, d->next);
		if (rel < 0) {
			/* retransmitted or overlapping: first copy wins */
			k = (uint32_t)PK_MIN(-rel, (int64_t)n);
			if (cmp_past(d, rel, p, k))
				*differ = 1;
			seq += k;
			p += k;
			n -= k;
			continue;
		}
		/* nothing at or past depth is kept */
		room = (int64_t)s->cfg.depth - d->pos - rel;
		if (room <= 0)
			break;
		if ((int64_t)n > room)
			n = (uint32_t)room;
		if (rel > 0) {
			dir_hold(s, d, rel, p, n, differ);
			break;
		}
		/* in order: stop where a held piece begins */
		k = n;
		if (d->segs != NULL)
			k = (uint32_t)PK_MIN((int64_t)n,
			    seqdiff(d->segs->seq, d->next));
		if (dir_append(s, d, p, k) == -1)
			break;
		seq += k;
		p += k;
		n -= k;
	}
	dir_drain(s, d, differ);
}

/*
 * FIN or RST: give up the holes before held data.  If this packet added
 * no bytes, the buffer restarts at the first held byte (*new_off = 0);
 * otherwise, and for every later hole, the runs are joined to what is
 * there, so no byte goes uninspected.  Returns 1 if bytes were added.
 */
static int
dir_give_up(struct pk_streams *s, struct sdir *d, uint32_t *new_off)
{
	struct seg *g;
	int64_t hole;
	int differ = 0, reset = d->len == *new_off;
	uint64_t bytes0 = s->st.bytes;

	while ((g = d->segs) != NULL && !d->full) {
		hole = seqdiff(g->seq, d->next);
		if (hole > 0) {
			s->st.gaps++;
			d->next = g->seq;
			d->pos += (uint32_t)hole;
			d->gap = 1;
			if (reset) {
				d->len = 0;
				*new_off = 0;
				reset = 0;
			}
		}
		dir_drain(s, d, &differ);
	}
	return s->st.bytes != bytes0;
}

/*
 * A complete direction (full: FIN/RST, depth or memcap) gets no more
 * bytes; once its last view was used (by this packet or the flow's
 * previous one) its buffer can go.  Without this, buffers of closed
 * conversations stayed until the flow left the table ([flows]
 * tcp_closed_timeout after FIN or RST, tcp_timeout without one), and a
 * busy capture filled the memcap with conversations that were over.
 */
/* A direction that gets no more bytes: free its buffer and cursor. */
static void
dir_close(struct pk_streams *s, struct sdir *d)
{
	dir_stop(s, d);
	if (d->buf == NULL)
		return;
	pk_stream_scan_reset(&d->scan);
	mem_give(s, d->cap);
	free(d->buf);
	d->buf = NULL;
	d->len = d->cap = 0;
	s->st.closed++;
}

static void
flow_trim(struct pk_streams *s, struct sflow *f)
{
	int i;

	for (i = 0; i < 2; i++)
		if (f->d[i].full && f->d[i].buf != NULL)
			dir_close(s, &f->d[i]);
}

static struct sflow *
flow_get(struct pk_streams *s, void **state)
{
	struct sflow *f = *state;

	if (f != NULL)
		return f == &refused_flow ? NULL : f;
	if (mem_take(s, sizeof(*f)) == -1) {
		*state = &refused_flow;
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		mem_give(s, sizeof(*f));
		s->st.memcap_refused++;
		*state = &refused_flow;
		return NULL;
	}
	pk_dlist_append(&s->live, &f->link);
	f->d[0].scan.owner = f->d[1].scan.owner = s;
	*state = f;
	return f;
}

int
pk_stream_scan_reserve(struct pk_stream_scan *sc, uint32_t n)
{
	struct pk_streams *s = sc->owner;
	uint32_t ncap;
	uint32_t *np;
	size_t add;

	if (n <= sc->cap)
		return 0;
	if (n > PK_STREAM_SCAN_MAX)
		goto refuse;
	ncap = sc->cap ? sc->cap : 8;
	while (ncap < n)
		ncap *= 2;
	ncap = PK_MIN(ncap, PK_STREAM_SCAN_MAX);
	add = (ncap - sc->cap) * sizeof(*np);
	/* against memcap, but not counted as a refused stream buffer */
	if (s != NULL && (add > s->cfg.memcap ||
	    s->st.mem > s->cfg.memcap - add))
		goto refuse;
	if ((np = realloc(sc->pending, ncap * sizeof(*np))) == NULL)
		goto refuse;
	if (s != NULL) {
		s->st.mem += add;
		if (s->st.mem > s->st.mem_peak)
			s->st.mem_peak = s->st.mem;
	}
	sc->pending = np;
	sc->cap = ncap;
	return 0;
refuse:
	if (s != NULL)
		s->st.scan_refused++;
	return -1;
}

void
pk_stream_scan_reset(struct pk_stream_scan *sc)
{
	struct pk_streams *owner = sc->owner;

	if (owner != NULL)
		mem_give(owner, sc->cap * sizeof(*sc->pending));
	free(sc->pending);
	memset(sc, 0, sizeof(*sc));
	sc->owner = owner;
}

int
pk_stream_packet(struct pk_streams *s, void **state, int dir,
    const struct pk_packet *p, struct pk_stream_view *view)
{
	const uint8_t *data = p->payload;
	struct sflow *f;
	struct sdir *d;
	uint32_t n = p->payload_len, seq = p->tcp_seq, off0;
	uint64_t bytes0;
	int syn = (p->tcp_flags & PK_TH_SYN) != 0, differ = 0, added;

	if (p->proto != PK_PROTO_TCP ||
	    (dir != PK_DIR_FWD && dir != PK_DIR_REV))
		return 0;
	if (data == NULL)
		n = 0;
	if (*state == NULL && !syn && n == 0)
		return 0;	/* nothing to keep yet: allocate nothing */
	if ((f = flow_get(s, state)) == NULL)
		return 0;
	flow_trim(s, f);
	d = &f->d[dir];
	if (syn) {
		seq++;		/* the SYN takes one sequence number */
		if (!d->init) {
			d->init = 1;
			d->next = seq;
		}
	} else if (!d->init && n > 0) {
		/* midstream: we never saw what came before */
		d->init = 1;
		d->gap = 1;
		d->next = seq;
	}
	if (!d->init || d->full)
		return 0;
	off0 = d->len;
	bytes0 = s->st.bytes;
	if (n > 0)
		dir_data(s, d, seq, data, n, &differ);
	if (differ)
		s->st.overlaps_differ++;
	added = s->st.bytes != bytes0;
	if ((p->tcp_flags & (PK_TH_FIN | PK_TH_RST)) && d->segs != NULL &&
	    dir_give_up(s, d, &off0))
		added = 1;
	/* Nothing after FIN or RST is kept (holes were given up above);
	 * RST aborts both directions.  A buffer goes now unless this
	 * packet's view shows it, else at the flow's next packet. */
	if (p->tcp_flags & (PK_TH_FIN | PK_TH_RST))
		dir_stop(s, d);
	if (p->tcp_flags & PK_TH_RST)
		dir_close(s, &f->d[dir ^ 1]);
	if (!added || d->buf == NULL) {
		if (d->full)
			dir_close(s, d);
		return 0;
	}
	view->data = d->buf;
	view->len = d->len;
	view->new_off = PK_MIN(off0, d->len);
	view->gap = d->gap;
	view->full = d->full;
	view->scan = &d->scan;
	return 1;
}

void
pk_stream_release(struct pk_streams *s, void *state)
{
	struct sflow *f = state;

	if (f == NULL || f == &refused_flow)
		return;
	flow_release(s, f);
}

static void
flow_release(struct pk_streams *s, struct sflow *f)
{
	int i;

	pk_dlist_unlink(&s->live, &f->link);
	for (i = 0; i < 2; i++) {
		dir_drop_segs(s, &f->d[i]);
		pk_stream_scan_reset(&f->d[i].scan);
		if (f->d[i].buf != NULL) {
			mem_give(s, f->d[i].cap);
			free(f->d[i].buf);
		}
	}
	mem_give(s, sizeof(*f));
	free(f);
}
