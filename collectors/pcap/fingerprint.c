/*
 * fingerprint.c - the worm fingerprinting detector (pk_detector_fingerprint),
 * after EarlyBird (Singh, Estan, Varghese and Savage, "Automated Worm
 * Fingerprinting", OSDI 2004): a worm sends the same exploit bytes to many
 * hosts, so a substring of payload that this host sends to many distinct
 * destinations within a window is worth an indicator, even when no rule
 * knows the worm yet.
 *
 * Per payload (initiator side of a flow only: responses are never hashed,
 * so a server handing one file to many clients is not a worm), a cyclic
 * polynomial rolling hash (buzhash) runs over every window of
 * fingerprint.substring bytes of the first FP_SCAN_MAX bytes; value
 * sampling keeps the windows whose hash is 0 modulo fingerprint.sample.
 * The hash table is derived from a fixed seed, so the same bytes give the
 * same 64-bit fingerprint on every host: the hub groups the indicators of
 * one worm on many hosts by picket.fingerprint.  Each kept fingerprint
 * counts prevalence (packets) and address dispersion (distinct peers) in
 * a bounded LRU table; one payload yields many fingerprints, so the
 * fingerprints of one packet are grouped and a payload opens one indicator.
 *
 * A running bundle (docs/bundles.md) may list fingerprints peer members'
 * agents reported: every sampled window is looked up in that set and a
 * hit reports picket.fingerprint.shared at once (known_check).
 *
 * Portable.  The engine calls it through struct pk_detector_ops; it calls
 * back pk_engine_emit(), pk_engine_direction() and pk_engine_offline().
 * docs/detection.md ("Worm fingerprinting") describes the figures.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/indicator.h"
#include "agent/ioc.h"
#include "collectors/pcap/fingerprint.h"
#include "common/dlist.h"
#include "common/json.h"
#include "common/lrutab.h"
#include "common/netaddr.h"
#include "common/util.h"

#define USEC			1000000ULL
#define FP_SCAN_MAX		2048	/* payload bytes hashed per packet */
#define FP_PKT_MAX		64	/* distinct fingerprints kept per packet */
#define FP_INLINE		32	/* exact distinct peers before a bitmap */
#define FP_BITS			8192u	/* 1 KiB linear-counting bitmap */
#define FP_MAX_BITMAPS		1024	/* 1 MiB of bitmaps in all */
#define FP_TARGETS		8	/* addresses kept for the details */
#define FP_TOP_PORTS		8
#define FP_MAX_BUCKETS		(1u << 22)
/* Fixed on purpose: every host must compute the same fingerprints. */
#define FP_TABLE_SEED		0x7069636b65742d66ULL	/* "picket-f" */

#define RULE_ID		"picket.fingerprint.outbound"
#define RULE_NAME	"Same payload sent to many hosts (possible worm)"
#define KNOWN_RULE_ID	"picket.fingerprint.shared"
#define KNOWN_RULE_NAME	"Payload of a worm a peer member shared"
#define KNOWN_MAX	1024	/* open known-fingerprint indicators */
#define KNOWN_BUCKETS	1024u
#define KNOWN_EXCERPT	64	/* window bytes kept for the details */

/* Who the fingerprint is counted for. */
enum { ROLE_OUT = 0,	/* sent by the initiator: count destinations */
	ROLE_IN };	/* received by this host: count sources */

enum { ST_IDLE = 0,	/* counting */
	ST_ACTIVE,	/* owns an open indicator */
	ST_COVERED };	/* another window of the same payload owns it */

struct fport {
	uint16_t	 port;
	uint32_t	 n;		/* packets */
};

/*
 * Dispersion of one fingerprint once it has reached a second peer or
 * port (most never do: one-off content keeps the entry small).  Exact
 * for FP_INLINE peers, then linear counting (Whang et al. 1990) in a
 * bitmap from a fixed budget; without one the count stops growing.
 */
struct spread {
	uint32_t	 n;		/* distinct peers */
	uint32_t	 nbits;
	uint8_t		 ninl, full, ntargets, nports;
	uint32_t	 inl[FP_INLINE];
	uint8_t		*bits;
	struct pk_addr	 targets[FP_TARGETS];
	struct fport	 ports[FP_TOP_PORTS];
};

struct fent;

/* An open indicator, owned by one entry. */
struct find {
	struct pk_dlink	 act;		/* active list, least recently grown first */
	struct fent	*owner;
	uint8_t		 started, direction, severity;
	uint64_t	 first_us, last_us;	/* packet times */
	uint64_t	 touch_us;	/* detector clock at last growth */
	uint64_t	 count;		/* packets carrying the payload */
	uint64_t	 reported_us, reported_count;
	uint32_t	 covered;	/* other windows grouped into it */
	uint32_t	 offset;	/* of the window in the payload */
	uint32_t	 excerpt_off, excerpt_len;
	uint8_t		 excerpt[];
};

struct fent {
	struct pk_lrunode n;		/* table links: hash, LRU, touch */
	/* key */
	uint64_t	 fp;
	struct pk_addr	 sender;	/* zero for ROLE_IN */
	uint8_t		 role, proto;
	/* episode */
	uint8_t		 state;
	uint8_t		 dispersed;	/* ROLE_IN: counted this window */
	uint16_t	 port;		/* first hit's destination port */
	struct pk_addr	 peer;		/* first hit's peer */
	uint32_t	 prevalence;	/* packets in this window */
	uint64_t	 win_start;	/* detector clock */
	uint64_t	 first_us, last_us;
	uint64_t	 cover_fp;	/* ST_COVERED: the owner's fingerprint */
	struct spread	*sp;
	struct find	*ind;
};

/*
 * An indicator for a fingerprint a bundle lists (docs/bundles.md): one
 * per (fingerprint, sender), reported on its first packet.
 */
struct kent {
	struct pk_lrunode n;		/* LRU head = least recently grown */
	uint8_t		 h[16];		/* picket.fingerprint's bytes */
	struct pk_addr	 sender;
	uint8_t		 proto, started, direction, severity, ntargets;
	uint16_t	 port;		/* first packet's destination port */
	uint32_t	 offset, excerpt_len;
	struct pk_addr	 targets[FP_TARGETS];
	uint64_t	 first_us, last_us, count;
	uint64_t	 reported_us, reported_count;
	struct pk_ind_shared *shared;	/* copy of the bundle entry */
	uint8_t		 excerpt[KNOWN_EXCERPT];
};

struct fpd {
	struct pk_engine	*e;
	size_t			 k;		/* substring */
	uint64_t		 sample, mask;
	int			 pow2;
	uint64_t		 min_dest, window, update;
	uint64_t		 cfg_min_dest;	/* min_dest as configured */
	size_t			 excerpt;
	uint64_t		 t[256], tout[256];	/* buzhash tables */
	/* the table */
	struct pk_lrutab	 tab;
	struct pk_dlist		 act;
	uint64_t		 seed;		/* table hashing only */
	uint64_t		 now;
	/* counters */
	uint64_t		 payloads, windows, sampled, pkt_capped;
	uint64_t		 tls_skipped, http_trimmed, midstream;
	uint64_t		 nbitmaps, bitmaps_denied, nomem;
	uint64_t		 detections, reports, covered, inbound_dispersed;
	/* known fingerprints (a bundle's) */
	struct pk_lrutab	 known;
	uint64_t		 known_payloads, known_lookups, known_matches;
	uint64_t		 known_opened, known_reports;
};

/* One sampled window of the packet at hand. */
struct sample {
	uint64_t	 fp;
	uint32_t	 off;
};

struct pktset {
	size_t		 n;
	struct sample	 s[FP_PKT_MAX];
};

static uint64_t
age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void
fp_clock(struct fpd *d, uint64_t ts)
{
	if (ts > d->now)
		d->now = ts;
}

static uint64_t
rotl(uint64_t x, unsigned r)
{
	r &= 63;
	return r == 0 ? x : (x << r) | (x >> (64 - r));
}

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---- rolling hash and sampling ------------------------------------------ */

/*
 * Buzhash (cyclic polynomial): h(w) = XOR of rotl(T[w_i], k-1-i).  One
 * rotate, two table reads and two XORs per byte, no multiply; every bit
 * of h depends on every byte of the window, so low bits sample fairly.
 */
static void
tables_init(struct fpd *d)
{
	uint64_t s = FP_TABLE_SEED;
	int i;

	for (i = 0; i < 256; i++) {
		d->t[i] = splitmix64(&s);
		d->tout[i] = rotl(d->t[i], (unsigned)(d->k % 64));
	}
}

/* Keep one sampled window; -1 when the packet's quota is spent. */
static int
pkt_add(struct fpd *d, struct pktset *ps, uint64_t h, size_t off)
{
	size_t i;

	d->sampled++;
	for (i = 0; i < ps->n; i++)
		if (ps->s[i].fp == h)
			return 0;	/* a repeat inside one packet counts once */
	if (ps->n >= FP_PKT_MAX) {
		d->pkt_capped++;
		return -1;
	}
	ps->s[ps->n].fp = h;
	ps->s[ps->n].off = (uint32_t)off;
	ps->n++;
	return 0;
}

/* Hash every window of p[off..end). */
static void
hash_segment(struct fpd *d, const uint8_t *p, size_t off, size_t end,
    struct pktset *ps)
{
	const uint64_t *t = d->t, *tout = d->tout;
	const uint64_t mask = d->mask, sample = d->sample;
	const int pow2 = d->pow2;
	size_t i, k = d->k;
	uint64_t h = 0;

	if (end < off || end - off < k)
		return;
	for (i = off; i < off + k; i++)
		h = rotl(h, 1) ^ t[p[i]];
	/* locals only in the loop: p may alias anything, *d included */
	for (i = off + k;; i++) {
		/* h covers p[i-k..i) */
		if ((pow2 ? (h & mask) == 0 : h % sample == 0) &&
		    pkt_add(d, ps, h, i - k) == -1)
			break;
		if (i >= end)
			break;
		h = rotl(h, 1) ^ tout[p[i - k]] ^ t[p[i]];
	}
	d->windows += i - (off + k) + 1;
}

/* Position of pat in p[from..end), or end. */
static size_t
find_bytes(const uint8_t *p, size_t from, size_t end, const char *pat,
    size_t plen)
{
	size_t i;

	for (i = from; i + plen <= end; i++)
		if (p[i] == (uint8_t)pat[0] && memcmp(p + i, pat, plen) == 0)
			return i;
	return end;
}

/*
 * A TLS handshake record (a ClientHello): its cipher-suite and extension
 * lists are the same in every connection a client makes, so they would
 * "spread" to every HTTPS server the host visits.
 */
static int
is_tls_handshake(const struct pk_packet *p)
{
	return p->proto == PK_PROTO_TCP && p->payload_len >= 3 &&
	    p->payload[0] == 0x16 && p->payload[1] == 0x03 &&
	    p->payload[2] <= 0x04;
}

/*
 * The windows of one payload.  An HTTP request (the engine parsed one)
 * is hashed without its header lines: User-Agent, Accept and friends
 * are what a browser sends to every server.  The request line and the
 * body, where HTTP worms carry their exploit, are kept.
 */
static void
collect(struct fpd *d, const struct pk_pktctx *c, struct pktset *ps)
{
	const uint8_t *p = c->pkt->payload;
	size_t lim = PK_MIN((size_t)c->pkt->payload_len, (size_t)FP_SCAN_MAX);
	size_t eol, body;

	ps->n = 0;
	if (c->http == NULL) {
		hash_segment(d, p, 0, lim, ps);
		return;
	}
	d->http_trimmed++;
	eol = find_bytes(p, 0, lim, "\r\n", 2);
	hash_segment(d, p, 0, eol, ps);
	body = find_bytes(p, eol, lim, "\r\n\r\n", 4);
	if (body < lim)
		hash_segment(d, p, body + 4, lim, ps);
}

/* ---- distinct peers ---------------------------------------------------- */

static uint32_t
peer32(const struct fpd *d, const struct pk_addr *a)
{
	uint64_t h = pk_fnv1a64(a, sizeof(*a), d->seed);

	return (uint32_t)(h ^ (h >> 32));
}

static int
bit_set(struct spread *sp, uint32_t key)
{
	uint32_t i = (key ^ (key >> 16)) & (FP_BITS - 1);
	uint8_t m = (uint8_t)(1u << (i & 7));

	if (sp->bits[i >> 3] & m)
		return 0;
	sp->bits[i >> 3] |= m;
	sp->nbits++;
	return 1;
}

static void
bits_count(struct spread *sp)
{
	double m = FP_BITS, est;
	uint32_t n;

	if (sp->nbits >= FP_BITS)
		return;		/* saturated: keep the last estimate */
	est = -m * log(1.0 - (double)sp->nbits / m);
	n = (uint32_t)(est + 0.5);
	if (n > sp->n)
		sp->n = n;
}

/* Add a peer hash; returns 1 when it was new. */
static int
dset_add(struct fpd *d, struct spread *sp, uint32_t key)
{
	uint8_t i;

	if (sp->bits == NULL) {
		for (i = 0; i < sp->ninl; i++)
			if (sp->inl[i] == key)
				return 0;
		if (sp->ninl < FP_INLINE) {
			sp->inl[sp->ninl++] = key;
			sp->n++;
			return 1;
		}
		if (sp->full)
			return 0;
		if (d->nbitmaps >= FP_MAX_BITMAPS ||
		    (sp->bits = calloc(FP_BITS / 8, 1)) == NULL) {
			d->bitmaps_denied++;
			sp->full = 1;
			return 0;
		}
		d->nbitmaps++;
		for (i = 0; i < sp->ninl; i++)
			bit_set(sp, sp->inl[i]);
	}
	if (!bit_set(sp, key))
		return 0;
	bits_count(sp);
	return 1;
}

static void
port_add(struct spread *sp, uint16_t port, uint32_t n)
{
	uint8_t i, min = 0;

	for (i = 0; i < sp->nports; i++) {
		if (sp->ports[i].port == port) {
			sp->ports[i].n += n;
			return;
		}
		if (sp->ports[i].n < sp->ports[min].n)
			min = i;
	}
	if (sp->nports < FP_TOP_PORTS)
		min = sp->nports++;
	else
		n += sp->ports[min].n;	/* space-saving: inherit the count */
	sp->ports[min].port = port;
	sp->ports[min].n = n;
}

static void
spread_add(struct fpd *d, struct spread *sp, const struct pk_addr *peer,
    uint32_t ph, uint16_t port, uint32_t packets)
{
	if (dset_add(d, sp, ph) &&
	    sp->ntargets < FP_TARGETS)
		sp->targets[sp->ntargets++] = *peer;
	port_add(sp, port, packets);
}

static void
spread_free(struct fpd *d, struct fent *en)
{
	if (en->sp == NULL)
		return;
	if (en->sp->bits != NULL) {
		free(en->sp->bits);
		d->nbitmaps--;
	}
	free(en->sp);
	en->sp = NULL;
}

static uint32_t
distinct(const struct fent *en)
{
	if (en->sp != NULL)
		return en->sp->n;
	return en->prevalence > 0 ? 1 : 0;
}

/*
 * Count one packet's peer (ph: its peer32(), once per packet); the first
 * distinct (peer, port) needs no spread.
 */
static void
peer_add(struct fpd *d, struct fent *en, const struct pk_addr *peer,
    uint32_t ph, uint16_t port)
{
	if (en->prevalence == 1) {
		en->peer = *peer;
		en->port = port;
		return;
	}
	if (en->sp == NULL) {
		if (port == en->port &&
		    memcmp(peer, &en->peer, sizeof(*peer)) == 0)
			return;
		if ((en->sp = calloc(1, sizeof(*en->sp))) == NULL) {
			d->nomem++;
			return;
		}
		spread_add(d, en->sp, &en->peer, peer32(d, &en->peer),
		    en->port, en->prevalence - 1);
	}
	spread_add(d, en->sp, peer, ph, port, 1);
}

/* ---- the table --------------------------------------------------------- */

/* Hash of the sender (and role, protocol), once per packet. */
static uint64_t
sender_hash(const struct fpd *d, uint8_t role, uint8_t proto,
    const struct pk_addr *sender)
{
	return pk_fnv1a64(sender, sizeof(*sender), d->seed ^ role ^
	    ((uint64_t)proto << 8));
}

/*
 * Table slot of a fingerprint: fp is already a uniform hash except in
 * its low bits, which sampling zeroes, hence the final mix (murmur3's).
 */
static uint64_t
key_hash(uint64_t fp, uint64_t sh)
{
	uint64_t h = fp ^ sh;

	h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
	h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static struct fent *
ent_find(const struct fpd *d, uint64_t h, uint64_t fp, uint8_t role,
    uint8_t proto, const struct pk_addr *sender)
{
	struct pk_lrunode *n;
	struct fent *en;

	for (n = pk_lrutab_chain(&d->tab, h); n != NULL; n = n->hnext) {
		en = PK_CONTAINER_OF(n, struct fent, n);
		if (n->hash == h && en->fp == fp && en->role == role &&
		    en->proto == proto &&
		    memcmp(&en->sender, sender, sizeof(*sender)) == 0)
			return en;
	}
	return NULL;
}

static void ind_end(struct fpd *, struct fent *);

/* Take an entry out of the table (its indicator closed); not freed. */
static void
ent_detach(struct fpd *d, struct fent *en)
{
	ind_end(d, en);
	pk_lrutab_unlink(&d->tab, &en->n);
	spread_free(d, en);
}

static void
ent_remove(struct fpd *d, struct fent *en)
{
	ent_detach(d, en);
	free(en);
}

static struct fent *
ent_get(struct fpd *d, uint64_t fp, uint64_t sh, uint8_t role, uint8_t proto,
    const struct pk_addr *sender)
{
	uint64_t h = key_hash(fp, sh);
	struct pk_lrunode *n;
	struct fent *en;

	if ((en = ent_find(d, h, fp, role, proto, sender)) != NULL) {
		pk_lrutab_touch(&d->tab, &en->n, d->now);
		return en;
	}
	/*
	 * Full: the least recently used entry makes room, and its memory is
	 * reused, since a busy host replaces entries at its packet rate.
	 */
	if ((n = pk_lrutab_victim(&d->tab)) != NULL) {
		en = PK_CONTAINER_OF(n, struct fent, n);
		ent_detach(d, en);
		memset(en, 0, sizeof(*en));
	} else if ((en = calloc(1, sizeof(*en))) == NULL) {
		d->nomem++;
		return NULL;
	}
	en->fp = fp;
	en->role = role;
	en->proto = proto;
	en->sender = *sender;
	pk_lrutab_link(&d->tab, &en->n, h, d->now);
	return en;
}

/*
 * The active owner a covered entry points to, or NULL if it is gone.
 * sh: the entry's sender_hash().
 */
static struct fent *
cover_owner(const struct fpd *d, const struct fent *en, uint64_t sh)
{
	struct fent *o;

	o = ent_find(d, key_hash(en->cover_fp, sh), en->cover_fp, en->role,
	    en->proto, &en->sender);
	return o != NULL && o->state == ST_ACTIVE ? o : NULL;
}

static void
ent_reset(struct fpd *d, struct fent *en, uint64_t ts)
{
	spread_free(d, en);
	en->prevalence = 0;
	en->dispersed = 0;
	en->win_start = d->now;
	en->first_us = en->last_us = ts;
}

/* One packet carrying this fingerprint; 1 when it is over the threshold. */
static int
ent_hit(struct fpd *d, struct fent *en, uint64_t sh,
    const struct pk_addr *peer, uint32_t ph, uint16_t port, uint64_t ts)
{
	if (en->state == ST_COVERED && cover_owner(d, en, sh) == NULL)
		en->state = ST_IDLE;	/* its owner closed or left */
	/* An open (or covered) episode keeps counting past the window. */
	if (en->state == ST_IDLE && (en->prevalence == 0 ||
	    age(d->now, en->win_start) >= d->window))
		ent_reset(d, en, ts);
	if (en->prevalence < UINT32_MAX)
		en->prevalence++;
	if (ts < en->first_us)
		en->first_us = ts;
	if (ts > en->last_us)
		en->last_us = ts;
	peer_add(d, en, peer, ph, port);
	return distinct(en) >= d->min_dest;
}

/* ---- reporting ----------------------------------------------------------- */

struct details {
	const struct fent	*en;
	const struct find	*in;
	uint16_t		 top[FP_TOP_PORTS];
	size_t			 ntop;
};

static void
top_ports(const struct fent *en, struct details *dt)
{
	struct fport p[FP_TOP_PORTS], tmp;
	size_t i, k, n;

	if (en->sp == NULL) {
		dt->top[0] = en->port;
		dt->ntop = 1;
		return;
	}
	n = en->sp->nports;
	memcpy(p, en->sp->ports, n * sizeof(p[0]));
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && p[k].n > p[k - 1].n; k--) {
			tmp = p[k];
			p[k] = p[k - 1];
			p[k - 1] = tmp;
		}
	for (i = 0; i < n; i++)
		dt->top[i] = p[i].port;
	dt->ntop = n;
}

static void
write_details(struct json *j, const void *arg)
{
	const struct details *dt = arg;
	const struct fent *en = dt->en;
	const struct find *in = dt->in;
	char ip[PK_ADDRSTRLEN];
	size_t i;

	json_str(j, "method", "prevalence", 0);
	json_u64(j, "distinct_destinations", distinct(en));
	json_u64(j, "prevalence", en->prevalence);
	json_arr_begin(j, "top_ports");
	for (i = 0; i < dt->ntop; i++)
		json_u64(j, NULL, dt->top[i]);
	json_arr_end(j);
	json_arr_begin(j, "targets");
	if (en->sp == NULL)
		json_str(j, NULL, pk_addr_format(&en->peer, ip, sizeof(ip)), 0);
	else
		for (i = 0; i < en->sp->ntargets; i++)
			json_str(j, NULL, pk_addr_format(&en->sp->targets[i],
			    ip, sizeof(ip)), 0);
	json_arr_end(j);
	json_strn(j, "excerpt", in->excerpt, in->excerpt_len, in->excerpt_len);
	json_u64(j, "offset", in->offset);
	json_u64(j, "excerpt_offset", in->excerpt_off);
	json_u64(j, "covered_fingerprints", in->covered);
}

static void
emit(struct fpd *d, struct fent *en, int phase)
{
	struct find *in = en->ind;
	struct pk_indicator pi;
	struct details dt;
	char msg[256], a[PK_ADDRSTRLEN];
	const char *tn;
	uint8_t key[8];
	int i;

	memset(&pi, 0, sizeof(pi));
	memset(&dt, 0, sizeof(dt));
	dt.en = en;
	dt.in = in;
	top_ports(en, &dt);
	pi.phase = (uint8_t)phase;
	pi.direction = in->direction;
	pi.severity = in->severity;
	pi.module = "network";
	pi.dataset = "picket.fingerprint";
	pi.category = "network";
	pi.rule_id = RULE_ID;
	pi.rule_name = RULE_NAME;
	pi.ruleset = "picket-builtin";
	pi.message = msg;
	pi.first_seen_us = PK_MIN(in->first_us, in->last_us);
	pi.last_seen_us = in->last_us;
	pi.count = in->count;
	pi.has_src = 1;
	pi.src = en->sender;
	pi.has_dport = 1;
	pi.dport = dt.top[0];
	pi.transport = en->proto;
	tn = pk_transport_name(en->proto);
	snprintf(msg, sizeof(msg), "%s sent the same payload to %u hosts "
	    "(port %u/%s)", pk_addr_format(&en->sender, a, sizeof(a)),
	    distinct(en), dt.top[0], tn != NULL ? tn : "ip");
	/* Only the content: the same worm gives the same value anywhere. */
	for (i = 0; i < 8; i++)
		key[i] = (uint8_t)(en->fp >> (56 - 8 * i));
	pk_indicator_fingerprint(&pi, key, sizeof(key));
	pi.write_details = write_details;
	pi.details_arg = &dt;
	pk_engine_emit(d->e, &pi);
	d->reports++;
	in->reported_us = d->now;
	in->reported_count = in->count;
}

/* ---- indicator lifecycle -------------------------------------------------- */

static void
ind_open(struct fpd *d, struct fent *en, const struct pk_pktctx *c,
    uint32_t off)
{
	const struct pk_packet *p = c->pkt;
	size_t len = p->payload_len, xl = PK_MIN(d->excerpt, len), start;
	struct find *in;

	/* the excerpt: the window with as much context around it as fits */
	if (xl >= d->k) {
		start = off - PK_MIN((size_t)off, (xl - d->k) / 2);
		if (start + xl > len)
			start = len - xl;
	} else {
		start = off;
		xl = PK_MIN(xl, len - off);
	}
	if ((in = calloc(1, sizeof(*in) + xl)) == NULL) {
		d->nomem++;
		return;
	}
	memcpy(in->excerpt, p->payload + start, xl);
	in->excerpt_len = (uint32_t)xl;
	in->excerpt_off = (uint32_t)start;
	in->offset = off;
	in->owner = en;
	in->first_us = en->first_us;
	in->last_us = p->ts_us;
	in->count = en->prevalence;
	in->touch_us = d->now;
	in->direction = (uint8_t)pk_engine_direction(d->e, &p->src, &p->dst);
	in->severity = c->src_home ? PK_SEV_CRITICAL : PK_SEV_HIGH;
	en->ind = in;
	en->state = ST_ACTIVE;
	pk_dlist_append(&d->act, &in->act);
	d->detections++;
	if (!pk_engine_offline(d->e)) {
		emit(d, en, PK_PHASE_START);
		in->started = 1;
	}
}

static void
ind_grow(struct fpd *d, struct fent *en, uint64_t ts)
{
	struct find *in = en->ind;

	in->count++;
	if (ts < in->first_us)
		in->first_us = ts;
	if (ts > in->last_us)
		in->last_us = ts;
	in->touch_us = d->now;
	pk_dlist_move_tail(&d->act, &in->act);
	if (d->update > 0 && in->started &&
	    in->count != in->reported_count &&
	    age(d->now, in->reported_us) >= d->update &&
	    !pk_engine_offline(d->e))
		emit(d, en, PK_PHASE_CHANGE);
}

/* Close: END in every mode, then forget the episode's counts. */
static void
ind_end(struct fpd *d, struct fent *en)
{
	if (en->ind == NULL)
		return;
	emit(d, en, PK_PHASE_END);
	pk_dlist_unlink(&d->act, &en->ind->act);
	free(en->ind);
	en->ind = NULL;
	en->state = ST_IDLE;
	spread_free(d, en);
	en->prevalence = 0;
}

/* ---- packets ------------------------------------------------------------------ */

/*
 * One packet's fingerprints, entries already counted.  A payload gives
 * many fingerprints: if one of them already owns (or is covered by) an
 * open indicator, that indicator grows and every newly crossing window
 * joins it; otherwise the first crossing window (lowest offset) opens the
 * indicator and the others join it.
 */
static void
group_out(struct fpd *d, const struct pk_pktctx *c, const struct pktset *ps,
    struct fent **ents, const uint8_t *over, uint64_t sh)
{
	struct fent *owner = NULL, *en;
	size_t i, first = ps->n;
	int opened = 0;

	for (i = 0; i < ps->n; i++) {
		if ((en = ents[i]) == NULL)
			continue;
		if (owner == NULL && en->state == ST_ACTIVE)
			owner = en;
		else if (owner == NULL && en->state == ST_COVERED)
			owner = cover_owner(d, en, sh);
		if (first == ps->n && en->state == ST_IDLE && over[i])
			first = i;
	}
	if (owner == NULL && first < ps->n) {
		ind_open(d, ents[first], c, ps->s[first].off);
		if (ents[first]->ind == NULL)
			return;
		owner = ents[first];
		opened = 1;
	}
	if (owner == NULL)
		return;
	if (!opened)
		ind_grow(d, owner, c->pkt->ts_us);
	for (i = 0; i < ps->n; i++) {
		if ((en = ents[i]) == NULL || en == owner ||
		    en->state != ST_IDLE || !over[i])
			continue;
		en->state = ST_COVERED;
		en->cover_fp = owner->fp;
		owner->ind->covered++;
		d->covered++;
	}
}

/*
 * Received payloads: many clients sending this host the same request is
 * what a popular service looks like, so it is counted, never reported.
 * One packet counts once however many of its windows cross.
 */
static void
group_in(struct fpd *d, const struct pktset *ps, struct fent **ents,
    const uint8_t *over)
{
	size_t i;
	int fresh = 0, seen = 0;

	for (i = 0; i < ps->n; i++) {
		if (ents[i] == NULL)
			continue;
		if (ents[i]->dispersed)
			seen = 1;
		else if (over[i])
			fresh = 1;
	}
	if (fresh && !seen)
		d->inbound_dispersed++;
	for (i = 0; i < ps->n; i++)
		if (ents[i] != NULL && over[i])
			ents[i]->dispersed = 1;
}

/* ---- known fingerprints (a bundle's) ------------------------------------- */

static void
known_details(struct json *j, const void *arg)
{
	const struct kent *k = arg;
	char ip[PK_ADDRSTRLEN];
	uint8_t i;

	json_str(j, "method", "shared", 0);
	json_u64(j, "distinct_destinations", k->ntargets);
	json_arr_begin(j, "top_ports");
	json_u64(j, NULL, k->port);
	json_arr_end(j);
	json_arr_begin(j, "targets");
	for (i = 0; i < k->ntargets; i++)
		json_str(j, NULL, pk_addr_format(&k->targets[i], ip,
		    sizeof(ip)), 0);
	json_arr_end(j);
	json_strn(j, "excerpt", k->excerpt, k->excerpt_len, k->excerpt_len);
	json_u64(j, "offset", k->offset);
}

static void
known_emit(struct fpd *d, struct kent *k, int phase)
{
	struct pk_indicator pi;
	char msg[256], a[PK_ADDRSTRLEN];
	const char *tn = pk_transport_name(k->proto);

	memset(&pi, 0, sizeof(pi));
	pi.phase = (uint8_t)phase;
	pi.direction = k->direction;
	pi.severity = k->severity;
	pi.module = "network";
	pi.dataset = "picket.fingerprint";
	pi.category = "network";
	pi.rule_id = KNOWN_RULE_ID;
	pi.rule_name = KNOWN_RULE_NAME;
	pi.ruleset = "picket-builtin";
	snprintf(msg, sizeof(msg), "%s sent the payload of a worm %s shared "
	    "(port %u/%s)", pk_addr_format(&k->sender, a, sizeof(a)),
	    k->shared != NULL ? k->shared->origin : "a peer", k->port,
	    tn != NULL ? tn : "ip");
	pi.message = msg;
	pi.first_seen_us = k->first_us;
	pi.last_seen_us = k->last_us;
	pi.count = k->count;
	pi.has_src = 1;
	pi.src = k->sender;
	if (k->ntargets > 0) {
		pi.has_dst = 1;
		pi.dst = k->targets[0];
	}
	pi.has_dport = 1;
	pi.dport = k->port;
	pi.transport = k->proto;
	/* the value the member who shared it saw: one outbreak at the hub */
	pk_hex(k->h, sizeof(k->h), pi.fingerprint);
	pi.shared = k->shared;
	pi.write_details = known_details;
	pi.details_arg = k;
	pk_engine_emit(d->e, &pi);
	d->known_reports++;
	k->reported_us = d->now;
	k->reported_count = k->count;
}

static void
known_free(struct kent *k)
{
	free(k->shared);
	free(k);
}

static void
known_release(struct pk_lrunode *n, void *arg)
{
	(void)arg;
	known_free(PK_CONTAINER_OF(n, struct kent, n));
}

static void
known_end(struct fpd *d, struct kent *k)
{
	known_emit(d, k, PK_PHASE_END);
	pk_lrutab_unlink(&d->known, &k->n);
	known_free(k);
}

static struct kent *
known_open(struct fpd *d, const struct pk_pktctx *c, uint64_t h,
    const uint8_t fp[16], uint32_t off, const struct pk_ind_shared *tag)
{
	const struct pk_packet *p = c->pkt;
	struct pk_lrunode *n;
	struct kent *k;
	size_t xl;

	if ((n = pk_lrutab_victim(&d->known)) != NULL)
		known_end(d, PK_CONTAINER_OF(n, struct kent, n));
	if ((k = calloc(1, sizeof(*k))) == NULL ||
	    (k->shared = pk_ind_shared_dup(tag)) == NULL) {
		free(k);
		d->nomem++;
		return NULL;
	}
	memcpy(k->h, fp, 16);
	k->sender = p->src;
	k->proto = p->proto;
	k->port = p->dport;
	k->offset = off;
	xl = PK_MIN((size_t)KNOWN_EXCERPT, PK_MIN(d->k, p->payload_len - off));
	memcpy(k->excerpt, p->payload + off, xl);
	k->excerpt_len = (uint32_t)xl;
	k->direction = (uint8_t)pk_engine_direction(d->e, &p->src, &p->dst);
	k->severity = c->src_home ? PK_SEV_CRITICAL : PK_SEV_HIGH;
	k->first_us = k->last_us = p->ts_us;
	pk_lrutab_link(&d->known, &k->n, h, d->now);
	d->known_opened++;
	return k;
}

/*
 * The sampled windows of one payload against the bundle's fingerprints:
 * the first that is listed opens (or grows) the indicator of (that
 * fingerprint, the sender) at once, with no dispersion threshold: a
 * member already saw this payload spread.
 */
static void
known_check(struct fpd *d, const struct pk_pktctx *c, const struct pktset *ps,
    const struct pk_shared *sh)
{
	const struct pk_packet *p = c->pkt;
	struct pk_ind_shared tag;
	struct pk_lrunode *n;
	struct kent *k = NULL;
	uint8_t key[8], fp[16];
	uint64_t h;
	size_t i;
	int b;

	for (i = 0; i < ps->n; i++) {
		for (b = 0; b < 8; b++)
			key[b] = (uint8_t)(ps->s[i].fp >> (56 - 8 * b));
		pk_indicator_fp_bytes(key, sizeof(key), fp);
		d->known_lookups++;
		if (pk_shared_fingerprint(sh, fp, &tag))
			break;
	}
	if (i == ps->n)
		return;
	d->known_matches++;
	h = pk_fnv1a64(&p->src, sizeof(p->src), pk_fnv1a64(fp, 16, d->seed));
	for (n = pk_lrutab_chain(&d->known, h); n != NULL; n = n->hnext) {
		k = PK_CONTAINER_OF(n, struct kent, n);
		if (n->hash == h && memcmp(k->h, fp, 16) == 0 &&
		    memcmp(&k->sender, &p->src, sizeof(p->src)) == 0)
			break;
		k = NULL;
	}
	if (k == NULL) {
		if ((k = known_open(d, c, h, fp, ps->s[i].off, &tag)) == NULL)
			return;
	} else {
		if (p->ts_us < k->first_us)
			k->first_us = p->ts_us;
		if (p->ts_us > k->last_us)
			k->last_us = p->ts_us;
		pk_lrutab_touch(&d->known, &k->n, d->now);
	}
	k->count++;
	for (b = 0; b < k->ntargets; b++)
		if (memcmp(&k->targets[b], &p->dst, sizeof(p->dst)) == 0)
			break;
	if (b == k->ntargets && k->ntargets < FP_TARGETS)
		k->targets[k->ntargets++] = p->dst;
	if (pk_engine_offline(d->e))
		return;
	if (!k->started) {
		known_emit(d, k, PK_PHASE_START);
		k->started = 1;
	} else if (d->update > 0 && k->count != k->reported_count &&
	    age(d->now, k->reported_us) >= d->update)
		known_emit(d, k, PK_PHASE_CHANGE);
}

static void
fp_packet(void *st, const struct pk_pktctx *c)
{
	struct fpd *d = st;
	const struct pk_packet *p = c->pkt;
	struct fent *ents[FP_PKT_MAX];
	uint8_t over[FP_PKT_MAX];
	struct pk_addr none;
	const struct pk_addr *sender, *peer;
	struct pktset ps;
	uint64_t sh;
	uint32_t ph;
	uint8_t role;
	size_t i;
	const struct pk_shared *bsh = pk_engine_shared(d->e);
	int known = pk_shared_nfingerprints(bsh) > 0, sent;

	/*
	 * The initiator's payloads are counted (responses are never worms
	 * here); with a bundle's fingerprints loaded, responses are hashed
	 * too, for the known set only: a download of a known worm counts.
	 * A TCP flow picked up midstream (its first packet was not a SYN:
	 * the agent started late, or capture lost the handshake under load)
	 * has a guessed initiator, often the server: its payloads are
	 * treated as responses.  Counting them would make a busy server's
	 * replies look sent, and cost the most when capture is already
	 * behind (a capture losing 60% in bursts spent a third of its time
	 * here, twice the cost per packet).
	 */
	if (p == NULL || c->flow == NULL ||
	    (p->proto != PK_PROTO_TCP && p->proto != PK_PROTO_UDP) ||
	    p->payload == NULL || p->payload_len < d->k)
		return;
	sent = c->dir == PK_DIR_FWD &&
	    (p->proto != PK_PROTO_TCP || c->flow->saw_syn);
	if (!sent && c->dir == PK_DIR_FWD)
		d->midstream++;
	if (!sent && !known)
		return;
	fp_clock(d, p->ts_us);
	if (is_tls_handshake(p)) {
		d->tls_skipped++;
		return;
	}
	if (!sent) {
		d->known_payloads++;
		collect(d, c, &ps);
		known_check(d, c, &ps, bsh);
		return;
	}
	d->payloads++;
	collect(d, c, &ps);
	if (ps.n == 0)
		return;
	/* received as well as sent: a host a known worm reaches is news */
	if (known)
		known_check(d, c, &ps, bsh);
	memset(&none, 0, sizeof(none));
	role = c->dst_home && !c->src_home ? ROLE_IN : ROLE_OUT;
	sender = role == ROLE_OUT ? &p->src : &none;
	peer = role == ROLE_OUT ? &p->dst : &p->src;
	sh = sender_hash(d, role, p->proto, sender);
	ph = peer32(d, peer);
	/*
	 * Every entry first, then the grouping: a table has at least
	 * FP_PKT_MAX entries, so the entries of this packet are the most
	 * recently used and none of them is evicted by another's creation.
	 */
	for (i = 0; i < ps.n; i++) {
		over[i] = 0;
		if ((ents[i] = ent_get(d, ps.s[i].fp, sh, role, p->proto,
		    sender)) != NULL)
			over[i] = (uint8_t)ent_hit(d, ents[i], sh, peer, ph,
			    p->dport, p->ts_us);
	}
	if (role == ROLE_OUT)
		group_out(d, c, &ps, ents, over, sh);
	else
		group_in(d, &ps, ents, over);
}

/* ---- the detector ---------------------------------------------------------- */

static int
fp_enabled(const struct pk_config *cfg)
{
	return cfg->fingerprint.enabled;
}

static void fp_free(void *);

/*
 * The sensitivity task: the one threshold, min_destinations, at pct
 * percent (rounded down, never below 1); 100 copies the configured value
 * back.  Prevalence is counted, not compared, so nothing else changes.
 */
static void
fp_sensitivity(void *st, unsigned pct, char *desc, size_t len)
{
	struct fpd *d = st;
	uint64_t v = d->cfg_min_dest;

	if (pct < 100) {
		v = v / 100 * pct + v % 100 * pct / 100;
		if (v < 1)
			v = 1;
	}
	d->min_dest = v;
	if (desc != NULL && len > 0)
		snprintf(desc, len, "min_destinations %llu",
		    (unsigned long long)d->min_dest);
}

static void *
fp_init(struct pk_engine *e, const struct pk_config *cfg)
{
	struct fpd *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->e = e;
	d->seed = PK_FNV_SEED ^ (uint64_t)(uintptr_t)d;
	d->k = (size_t)PK_MAX(cfg->fingerprint.substring, 1);
	d->sample = PK_MAX(cfg->fingerprint.sample, 1);
	d->pow2 = (d->sample & (d->sample - 1)) == 0;
	d->mask = d->sample - 1;
	d->min_dest = PK_MAX(cfg->fingerprint.min_destinations, 1);
	d->cfg_min_dest = d->min_dest;
	d->window = PK_MAX(cfg->fingerprint.window, 1) * USEC;
	d->update = cfg->output.update_interval * USEC;
	d->excerpt = (size_t)PK_MIN(cfg->fingerprint.excerpt, 4096);
	/* see fp_packet: a packet's entries must all fit */
	if (pk_lrutab_init(&d->tab, PK_MAX(cfg->fingerprint.max_fingerprints,
	    FP_PKT_MAX), FP_MAX_BUCKETS) == -1) {
		fp_free(d);
		return NULL;
	}
	if (pk_lrutab_init(&d->known, KNOWN_MAX, KNOWN_BUCKETS) == -1) {
		fp_free(d);
		return NULL;
	}
	tables_init(d);
	return d;
}

/* Close indicators and drop entries unused for a window, oldest first. */
static void
sweep(struct fpd *d)
{
	struct find *in;
	struct pk_lrunode *n;

	while ((in = PK_DLIST_FIRST(&d->act, struct find, act)) != NULL &&
	    age(d->now, in->touch_us) >= d->window)
		ind_end(d, in->owner);
	while ((n = pk_lrutab_oldest(&d->tab)) != NULL &&
	    age(d->now, n->touch_us) >= d->window)
		ent_remove(d, PK_CONTAINER_OF(n, struct fent, n));
	while ((n = pk_lrutab_oldest(&d->known)) != NULL &&
	    age(d->now, n->touch_us) >= d->window)
		known_end(d, PK_CONTAINER_OF(n, struct kent, n));
}

static void
fp_tick(void *st, uint64_t now_us)
{
	struct fpd *d = st;

	fp_clock(d, now_us);
	sweep(d);
}

static void
fp_flush(void *st, uint64_t now_us)
{
	struct fpd *d = st;
	struct find *in;

	fp_clock(d, now_us);
	struct pk_lrunode *n;

	while ((in = PK_DLIST_FIRST(&d->act, struct find, act)) != NULL)
		ind_end(d, in->owner);
	while ((n = pk_lrutab_oldest(&d->known)) != NULL)
		known_end(d, PK_CONTAINER_OF(n, struct kent, n));
}

static void
fp_stats(void *st, FILE *fp)
{
	struct fpd *d = st;
	const struct {
		const char	*name;
		uint64_t	 v;
	} c[] = {
		{ "tracked", d->tab.n },
		{ "evicted", d->tab.evicted },
		{ "payloads", d->payloads },
		{ "windows_hashed", d->windows },
		{ "sampled", d->sampled },
		{ "packet_cap_reached", d->pkt_capped },
		{ "tls_skipped", d->tls_skipped },
		{ "http_headers_skipped", d->http_trimmed },
		{ "midstream_skipped", d->midstream },
		{ "bitmaps", d->nbitmaps },
		{ "bitmaps_denied", d->bitmaps_denied },
		{ "nomem", d->nomem },
		{ "detections", d->detections },
		{ "covered", d->covered },
		{ "indicators", d->reports },
		{ "inbound_dispersed", d->inbound_dispersed },
		{ "shared.responses_hashed", d->known_payloads },
		{ "shared.lookups", d->known_lookups },
		{ "shared.matches", d->known_matches },
		{ "shared.opened", d->known_opened },
		{ "shared.open", d->known.n },
		{ "shared.evicted", d->known.evicted },
		{ "shared.indicators", d->known_reports },
	};
	size_t i;

	for (i = 0; i < PK_NELEM(c); i++)
		fprintf(fp, "fingerprint.%s %llu\n", c[i].name,
		    (unsigned long long)c[i].v);
}

/* Frees an entry without reporting: the detector is going away. */
static void
ent_release(struct pk_lrunode *n, void *arg)
{
	struct fent *en = PK_CONTAINER_OF(n, struct fent, n);

	spread_free(arg, en);
	free(en->ind);
	free(en);
}

static void
fp_free(void *st)
{
	struct fpd *d = st;

	if (d == NULL)
		return;
	pk_lrutab_clear(&d->tab, ent_release, d);
	pk_lrutab_clear(&d->known, known_release, NULL);
	free(d);
}

const struct pk_detector_ops pk_detector_fingerprint = {
	.name = "fingerprint",
	.description = "the same payload sent to many hosts: content "
	    "prevalence and address dispersion (EarlyBird)",
	.enabled = fp_enabled,
	.init = fp_init,
	.packet = fp_packet,
	.tick = fp_tick,
	.flush = fp_flush,
	.stats = fp_stats,
	.free = fp_free,
	.sensitivity = fp_sensitivity,
};
