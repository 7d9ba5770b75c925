/*
 * reasm.c - IPv4/IPv6 fragment reassembly (policy and bounds: see reasm.h).
 * Only decode.c calls this.  Portable: standard C only.
 *
 * Each datagram under assembly has one data buffer, grown to the highest
 * byte seen, and a bitmap with one bit per 8-byte block.  Fragment offsets
 * are always multiples of 8 and every fragment but the last has a length
 * that is a multiple of 8, so a block is either wholly held or is the last,
 * partial block of the datagram; that makes "first wins" a simple per-block
 * test and completion a counter compare.  Datagrams sit in a hash table
 * (chained, bucket count a power of two) and in an age list, oldest first,
 * so expiry only looks at the head of the list.
 */
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/reasm.h"
#include "common/dlist.h"
#include "common/util.h"

#define BLK		8u
#define NBLK		((PK_REASM_DATA_MAX + BLK) / BLK)	/* 8192 */
#define BUF_MIN		512u	/* first data allocation */
#define BUCKETS_MAX	(1u << 20)

struct dgram {
	struct dgram	*hnext;		/* hash chain */
	struct pk_dlink	 age;		/* age list */
	uint64_t	 created_us;
	uint32_t	 bucket;

	/* key */
	uint8_t		 ipver;
	uint8_t		 proto;
	uint32_t	 id;
	uint8_t		 src[16], dst[16];

	int		 have_first;	/* offset-zero fragment held */
	int		 have_last;	/* fragment without MF held */
	uint32_t	 end;		/* datagram data length, if have_last */
	uint32_t	 maxseen;	/* highest data byte held + 1 */
	uint32_t	 nblk;		/* blocks held */
	uint32_t	 max_end;	/* from the first fragment */
	uint32_t	 hdrlen;
	uint8_t		 hdr[PK_REASM_HDR_MAX];

	/* PK_REASM_HDR_MAX bytes of room for the header, then cap data. */
	uint8_t		*buf;
	uint32_t	 cap;
	uint8_t		 map[NBLK / 8];
};

struct pk_reasm {
	struct pk_decode_cfg	 cfg;
	uint64_t		*err;		/* decoder's counters */
	uint64_t		 seed;
	struct dgram		**bucket;
	uint32_t		 nbucket;	/* power of two */
	uint32_t		 count;
	size_t			 mem;
	struct pk_dlist		 age;		/* head = oldest */
	uint8_t			*out;		/* last completed datagram */
};

/* The datagram that has waited longest, or NULL. */
static struct dgram *
oldest(struct pk_reasm *r)
{
	return PK_DLIST_FIRST(&r->age, struct dgram, age);
}

static size_t
dgram_mem(const struct dgram *g)
{
	return sizeof(*g) + (g->buf ? PK_REASM_HDR_MAX + (size_t)g->cap : 0);
}

struct pk_reasm *
pk_reasm_new(const struct pk_decode_cfg *cfg, uint64_t *err)
{
	struct pk_reasm *r;
	uint32_t n = 16;

	if (cfg == NULL || err == NULL)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->cfg = *cfg;
	r->err = err;
	while (n < cfg->frag_max_datagrams && n < BUCKETS_MAX)
		n <<= 1;
	r->nbucket = n;
	if ((r->bucket = calloc(n, sizeof(*r->bucket))) == NULL) {
		free(r);
		return NULL;
	}
	/*
	 * Keys are chosen by whoever sends fragments; a per-instance seed
	 * (the address, randomised by ASLR where there is ASLR) makes chains
	 * harder to aim.  Chains are bounded by frag_max_datagrams anyway.
	 */
	r->seed = PK_FNV_SEED ^ (uint64_t)(uintptr_t)r;
	return r;
}

static void
unlink_dgram(struct pk_reasm *r, struct dgram *g)
{
	struct dgram **pp;

	for (pp = &r->bucket[g->bucket]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == g) {
			*pp = g->hnext;
			break;
		}
	}
	pk_dlist_unlink(&r->age, &g->age);
	r->mem -= dgram_mem(g);
	r->count--;
}

static void
drop_dgram(struct pk_reasm *r, struct dgram *g)
{
	unlink_dgram(r, g);
	free(g->buf);
	free(g);
}

void
pk_reasm_release(struct pk_reasm *r)
{
	if (r == NULL)
		return;
	free(r->out);
	r->out = NULL;
}

void
pk_reasm_free(struct pk_reasm *r)
{
	struct dgram *g;

	if (r == NULL)
		return;
	while ((g = oldest(r)) != NULL)
		drop_dgram(r, g);
	pk_reasm_release(r);
	free(r->bucket);
	free(r);
}

uint32_t
pk_reasm_expire(struct pk_reasm *r, uint64_t now_us)
{
	uint64_t tmo = (uint64_t)r->cfg.frag_timeout_s * 1000000u;
	uint32_t n = 0;
	struct dgram *g;

	/*
	 * The list is in arrival order.  Packet time may step backwards
	 * (merged captures); a head "from the future" just waits.
	 */
	while ((g = oldest(r)) != NULL && now_us >= g->created_us &&
	    now_us - g->created_us >= tmo) {
		drop_dgram(r, g);
		r->err[PK_DE_FRAG_TIMEOUT]++;
		n++;
	}
	return n;
}

uint32_t
pk_reasm_count(const struct pk_reasm *r)
{
	return r->count;
}

size_t
pk_reasm_mem(const struct pk_reasm *r)
{
	return r->mem;
}

static uint32_t
key_bucket(const struct pk_reasm *r, const struct pk_frag *f)
{
	uint8_t k[2 + 4 + 32];
	size_t alen = f->ipver == 4 ? 4 : 16;
	uint64_t h;

	k[0] = f->ipver;
	k[1] = f->proto;
	memcpy(k + 2, &f->id, 4);
	memcpy(k + 6, f->src, alen);
	memcpy(k + 6 + alen, f->dst, alen);
	h = pk_fnv1a64(k, 6 + 2 * alen, r->seed);
	return (uint32_t)(h ^ (h >> 32)) & (r->nbucket - 1);
}

static struct dgram *
lookup(struct pk_reasm *r, const struct pk_frag *f, uint32_t b)
{
	size_t alen = f->ipver == 4 ? 4 : 16;
	struct dgram *g;

	for (g = r->bucket[b]; g != NULL; g = g->hnext) {
		if (g->ipver == f->ipver && g->proto == f->proto &&
		    g->id == f->id && memcmp(g->src, f->src, alen) == 0 &&
		    memcmp(g->dst, f->dst, alen) == 0)
			return g;
	}
	return NULL;
}

static struct dgram *
create(struct pk_reasm *r, const struct pk_frag *f, uint32_t b,
    uint64_t now_us)
{
	size_t alen = f->ipver == 4 ? 4 : 16;
	struct dgram *g;

	if (r->count >= r->cfg.frag_max_datagrams ||
	    r->mem + sizeof(*g) > r->cfg.frag_mem_max)
		return NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->created_us = now_us;
	g->bucket = b;
	g->ipver = f->ipver;
	g->proto = f->proto;
	g->id = f->id;
	memcpy(g->src, f->src, alen);
	memcpy(g->dst, f->dst, alen);
	g->hnext = r->bucket[b];
	r->bucket[b] = g;
	pk_dlist_append(&r->age, &g->age);
	r->mem += sizeof(*g);
	r->count++;
	return g;
}

/* Make room for data up to byte need; 0 / -1 (memory bound or malloc). */
static int
grow(struct pk_reasm *r, struct dgram *g, uint32_t need)
{
	uint32_t ncap;
	size_t delta;
	uint8_t *nb;

	if (need <= g->cap)
		return 0;
	ncap = g->cap ? g->cap : BUF_MIN;
	while (ncap < need)
		ncap *= 2;
	if (ncap > PK_REASM_DATA_MAX)
		ncap = PK_REASM_DATA_MAX;
	delta = (size_t)ncap - g->cap + (g->buf ? 0 : PK_REASM_HDR_MAX);
	if (r->mem + delta > r->cfg.frag_mem_max)
		return -1;
	if ((nb = realloc(g->buf, PK_REASM_HDR_MAX + (size_t)ncap)) == NULL)
		return -1;
	g->buf = nb;
	g->cap = ncap;
	r->mem += delta;
	return 0;
}

static int
blk_held(const struct dgram *g, uint32_t b)
{
	return (g->map[b >> 3] >> (b & 7)) & 1;
}

/*
 * Copy the fragment's data into the holes it covers; return 1 when some
 * byte it brings differs from a byte already held (first wins).
 */
static int
fill(struct dgram *g, const struct pk_frag *f)
{
	uint32_t b, lo, hi, end = f->off + f->len;
	uint8_t *data = g->buf + PK_REASM_HDR_MAX;
	int differs = 0;

	for (b = f->off / BLK; b * BLK < end; b++) {
		lo = b * BLK;
		hi = PK_MIN(lo + BLK, end);
		if (blk_held(g, b)) {
			if (memcmp(data + lo, f->data + (lo - f->off),
			    hi - lo) != 0)
				differs = 1;
			continue;
		}
		memcpy(data + lo, f->data + (lo - f->off), hi - lo);
		g->map[b >> 3] |= (uint8_t)(1u << (b & 7));
		g->nblk++;
	}
	if (end > g->maxseen)
		g->maxseen = end;
	return differs;
}

/* Hand the completed datagram to r->out and forget it. */
static void
complete(struct pk_reasm *r, struct dgram *g, const uint8_t **dgram,
    uint32_t *dgramlen)
{
	uint8_t *h = g->buf + PK_REASM_HDR_MAX - g->hdrlen;
	uint32_t tot;

	memcpy(h, g->hdr, g->hdrlen);
	if (g->ipver == 4) {
		tot = g->hdrlen + g->end;
		h[2] = (uint8_t)(tot >> 8);
		h[3] = (uint8_t)tot;
		h[6] &= 0x40;		/* keep DF, clear MF and offset */
		h[7] = 0;
	} else {
		h[4] = (uint8_t)(g->end >> 8);
		h[5] = (uint8_t)g->end;
	}
	unlink_dgram(r, g);
	pk_reasm_release(r);
	r->out = g->buf;
	*dgram = h;
	*dgramlen = g->hdrlen + g->end;
	free(g);
}

static int
refuse(struct pk_reasm *r, struct dgram *g, int e)
{
	if (g != NULL)
		drop_dgram(r, g);
	r->err[e]++;
	return -1;
}

int
pk_reasm_add(struct pk_reasm *r, const struct pk_frag *f, uint64_t now_us,
    const uint8_t **dgram, uint32_t *dgramlen)
{
	uint32_t b, end;
	struct dgram *g;

	pk_reasm_expire(r, now_us);
	if (f->len == 0 || (f->more && f->len % BLK != 0) ||
	    f->off % BLK != 0 || f->hdrlen > PK_REASM_HDR_MAX)
		return refuse(r, NULL, PK_DE_FRAG_BAD);
	end = f->off + f->len;
	b = key_bucket(r, f);
	g = lookup(r, f, b);
	if (end > f->max_end || end > PK_REASM_DATA_MAX)
		return refuse(r, g, PK_DE_FRAG_TOOBIG);
	if (g == NULL && (g = create(r, f, b, now_us)) == NULL)
		return refuse(r, NULL, PK_DE_FRAG_NOMEM);

	/* The end, once known, is fixed; nothing may lie beyond it. */
	if (!f->more) {
		if ((g->have_last && g->end != end) || g->maxseen > end)
			return refuse(r, g, PK_DE_FRAG_BAD);
		g->have_last = 1;
		g->end = end;
	} else if (g->have_last && end > g->end)
		return refuse(r, g, PK_DE_FRAG_BAD);

	if (grow(r, g, end) == -1)
		return refuse(r, g, PK_DE_FRAG_NOMEM);
	if (fill(g, f))
		r->err[PK_DE_FRAG_OVERLAP]++;
	if (f->off == 0 && !g->have_first) {
		g->have_first = 1;
		g->hdrlen = f->hdrlen;
		memcpy(g->hdr, f->hdr, f->hdrlen);
		g->max_end = f->max_end;
	}
	if (!g->have_first || !g->have_last ||
	    g->nblk != (g->end + BLK - 1) / BLK)
		return 0;
	/* The first fragment's header may be longer than later ones'. */
	if (g->end > g->max_end)
		return refuse(r, g, PK_DE_FRAG_TOOBIG);
	complete(r, g, dgram, dgramlen);
	return 1;
}
