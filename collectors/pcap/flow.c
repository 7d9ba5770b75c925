/*
 * flow.c - the bounded flow table (see flow.h).  A chained hash table keyed
 * by the 5-tuple in either direction, one LRU list over every flow, and two
 * FIFO lists of connection attempts still waiting for an answer (TCP and
 * UDP, one timeout each).  The attempt lists exist because the LRU walk
 * stops at the first live flow: a long-lived established flow at the old
 * end would otherwise hold back every unanswered SYN behind it, and the
 * scan detector needs those failures on time.  Because each list has a
 * single timeout and flows join it in arrival order, expiring it is also a
 * walk from the head that stops at the first attempt still in time.
 * Portable; called by the engine (and the unit tests).
 */
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/flow.h"
#include "common/dlist.h"
#include "common/util.h"

#define FLOW_MIN_BUCKETS	64u
#define FLOW_MAX_BUCKETS	(1u << 22)	/* 32 MiB of pointers at most */
#define USEC			1000000ULL

enum { AL_NONE = 0, AL_TCP, AL_UDP, AL__COUNT };

/*
 * The node around each public struct pk_flow; node_of() turns a struct
 * pk_flow * handed out by this file back into it.
 */
struct flow_node {
	struct pk_flow		 f;
	struct pk_dlink		 alink;		/* attempt list */
	uint8_t			 alist;		/* AL_* it is on */
	uint8_t			 attempt;	/* an attempt in TRW's sense */
};

struct pk_flow_table {
	struct pk_flow_cfg	 cfg;
	pk_flow_cb		 cb;
	void			*arg;
	struct pk_flow		**buckets;
	size_t			 mask;
	struct pk_dlist		 lru;	/* head = least recently used */
	struct pk_dlist		 al[AL__COUNT];	/* attempt lists, FIFO */
	uint64_t		 seed;
	struct pk_flow_stats	 st;
};

static struct flow_node *
node_of(struct pk_flow *f)
{
	return PK_CONTAINER_OF(f, struct flow_node, f);
}

/* The least recently used flow, or NULL. */
static struct pk_flow *
lru_oldest(struct pk_flow_table *t)
{
	return PK_DLIST_FIRST(&t->lru, struct pk_flow, lru);
}

/* The oldest attempt still waiting on list `which`, or NULL. */
static struct flow_node *
al_oldest(struct pk_flow_table *t, int which)
{
	return PK_DLIST_FIRST(&t->al[which], struct flow_node, alink);
}

static int
addr_same(const struct pk_addr *a, const struct pk_addr *b)
{
	return a->family == b->family && memcmp(a->a, b->a, sizeof(a->a)) == 0;
}

/* Multicast and broadcast destinations never answer on the same tuple, so
 * a datagram to them is not a connection attempt. */
static int
addr_is_group(const struct pk_addr *a)
{
	if (a->family == 4)
		return a->a[0] >= 224;	/* 224/4 multicast, 240/4 + bcast */
	if (a->family == 6)
		return a->a[0] == 0xff;
	return 0;
}

/*
 * Hash both endpoints in a canonical order so a packet and its reply land
 * in the same bucket.
 */
static uint64_t
flow_hash(const struct pk_flow_table *t, const struct pk_addr *a, uint16_t pa,
    const struct pk_addr *b, uint16_t pb, uint8_t proto)
{
	uint8_t key[1 + 2 * (1 + 16 + 2)];
	const struct pk_addr *lo = a, *hi = b;
	uint16_t plo = pa, phi = pb;
	size_t off = 0;
	int c;

	c = memcmp(a, b, sizeof(*a));
	if (c > 0 || (c == 0 && pa > pb)) {
		lo = b;
		hi = a;
		plo = pb;
		phi = pa;
	}
	key[off++] = proto;
	key[off++] = lo->family;
	memcpy(key + off, lo->a, 16);
	off += 16;
	key[off++] = (uint8_t)(plo >> 8);
	key[off++] = (uint8_t)plo;
	key[off++] = hi->family;
	memcpy(key + off, hi->a, 16);
	off += 16;
	key[off++] = (uint8_t)(phi >> 8);
	key[off++] = (uint8_t)phi;
	return pk_fnv1a64(key, off, t->seed);
}

static struct pk_flow *
flow_lookup(struct pk_flow_table *t, uint64_t h, const struct pk_addr *s,
    uint16_t sp, const struct pk_addr *d, uint16_t dp, uint8_t proto,
    int *dir)
{
	struct pk_flow *f;

	for (f = t->buckets[h & t->mask]; f != NULL; f = f->hnext) {
		if (f->hash != h || f->proto != proto)
			continue;
		if (f->sport == sp && f->dport == dp &&
		    addr_same(&f->src, s) && addr_same(&f->dst, d)) {
			*dir = PK_DIR_FWD;
			return f;
		}
		if (f->sport == dp && f->dport == sp &&
		    addr_same(&f->src, d) && addr_same(&f->dst, s)) {
			*dir = PK_DIR_REV;
			return f;
		}
	}
	return NULL;
}

static void
al_append(struct pk_flow_table *t, struct flow_node *n, int which)
{
	n->alist = (uint8_t)which;
	pk_dlist_append(&t->al[which], &n->alink);
}

static void
al_unlink(struct pk_flow_table *t, struct flow_node *n)
{
	if (n->alist == AL_NONE)
		return;
	pk_dlist_unlink(&t->al[n->alist], &n->alink);
	n->alist = AL_NONE;
}

static void
hash_unlink(struct pk_flow_table *t, struct pk_flow *f)
{
	struct pk_flow **pp;

	for (pp = &t->buckets[f->hash & t->mask]; *pp != NULL;
	    pp = &(*pp)->hnext) {
		if (*pp == f) {
			*pp = f->hnext;
			f->hnext = NULL;
			return;
		}
	}
}

/* Report an attempt's outcome: at most once per attempt. */
static void
attempt_done(struct pk_flow_table *t, struct pk_flow *f, int ev,
    uint64_t now)
{
	struct flow_node *n = node_of(f);

	if (!n->attempt || f->outcome != 0)
		return;
	f->outcome = (uint8_t)ev;
	al_unlink(t, n);
	if (ev == PK_FE_ATTEMPT_OK)
		t->st.attempts_ok++;
	else
		t->st.attempts_fail++;
	t->cb(t->arg, f, ev, now);
}

enum { END_EXPIRED, END_EVICTED, END_FLUSHED, END_RECYCLED };

/* Remove a flow: FAIL for an unanswered attempt, END, then free it. */
static void
flow_end(struct pk_flow_table *t, struct pk_flow *f, uint64_t now, int why)
{
	struct flow_node *n = node_of(f);

	attempt_done(t, f, PK_FE_ATTEMPT_FAIL, now);
	t->cb(t->arg, f, PK_FE_END, now);
	hash_unlink(t, f);
	pk_dlist_unlink(&t->lru, &f->lru);
	al_unlink(t, n);
	t->st.active--;
	if (why == END_EXPIRED)
		t->st.expired++;
	else if (why == END_EVICTED)
		t->st.evicted++;
	free(n);
}

static uint64_t
flow_timeout_us(const struct pk_flow_table *t, const struct pk_flow *f)
{
	const struct pk_flow_cfg *c = &t->cfg;
	uint32_t s;

	if (f->proto == PK_PROTO_UDP)
		s = c->udp_timeout_s;
	else if (f->proto != PK_PROTO_TCP)
		s = c->other_timeout_s;
	else {
		switch (f->state) {
		case PK_FS_SYN_SENT:
			s = c->tcp_attempt_timeout_s;
			break;
		case PK_FS_NEW:
			/* One packet from one side is a probe or a flow we
			 * joined late; only the latter deserves patience. */
			s = f->pkts[PK_DIR_FWD] > 1 ?
			    c->tcp_established_timeout_s :
			    c->tcp_attempt_timeout_s;
			break;
		case PK_FS_CLOSED:
		case PK_FS_RESET:
			s = c->tcp_closed_timeout_s;
			break;
		default:
			s = c->tcp_established_timeout_s;
			break;
		}
	}
	return (uint64_t)s * USEC;
}

static int
expired(uint64_t then, uint64_t timeout, uint64_t now)
{
	/* Packet time may step back; an older "now" expires nothing. */
	return now >= then && now - then >= timeout;
}

static uint32_t
clamp_timeout(uint32_t s)
{
	return s == 0 ? 1 : s;
}

struct pk_flow_table *
pk_flow_table_new(const struct pk_flow_cfg *cfg, pk_flow_cb cb, void *arg)
{
	struct pk_flow_table *t;
	size_t nb = FLOW_MIN_BUCKETS;

	if (cfg == NULL || cb == NULL)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cfg = *cfg;
	if (t->cfg.max_flows == 0)
		t->cfg.max_flows = 1;
	t->cfg.tcp_attempt_timeout_s = clamp_timeout(cfg->tcp_attempt_timeout_s);
	t->cfg.tcp_established_timeout_s =
	    clamp_timeout(cfg->tcp_established_timeout_s);
	t->cfg.tcp_closed_timeout_s = clamp_timeout(cfg->tcp_closed_timeout_s);
	t->cfg.udp_timeout_s = clamp_timeout(cfg->udp_timeout_s);
	t->cfg.other_timeout_s = clamp_timeout(cfg->other_timeout_s);
	while (nb < t->cfg.max_flows && nb < FLOW_MAX_BUCKETS)
		nb <<= 1;
	if ((t->buckets = calloc(nb, sizeof(*t->buckets))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	t->cb = cb;
	t->arg = arg;
	/* The table's address varies per run (ASLR): a cheap seed that makes
	 * precomputed bucket collisions less useful.  Not a defence on its
	 * own; chains are bounded by max_flows in any case. */
	t->seed = PK_FNV_SEED ^ (uint64_t)(uintptr_t)t;
	return t;
}

void
pk_flow_table_free_each(struct pk_flow_table *t,
    void (*fn)(void *, struct pk_flow *), void *arg)
{
	struct pk_dlink *l;
	struct pk_flow *f;

	if (t == NULL)
		return;
	while ((l = pk_dlist_pop_head(&t->lru)) != NULL) {
		f = PK_CONTAINER_OF(l, struct pk_flow, lru);
		if (fn != NULL)
			fn(arg, f);
		free(node_of(f));
	}
	free(t->buckets);
	free(t);
}

void
pk_flow_table_free(struct pk_flow_table *t)
{
	pk_flow_table_free_each(t, NULL, NULL);
}

static int
tcp_bare_syn(uint8_t fl)
{
	return (fl & (PK_TH_SYN | PK_TH_ACK | PK_TH_RST | PK_TH_FIN)) ==
	    PK_TH_SYN;
}

static void
flow_ports(const struct pk_packet *p, uint16_t *sp, uint16_t *dp)
{
	if (p->proto == PK_PROTO_TCP || p->proto == PK_PROTO_UDP) {
		*sp = p->sport;
		*dp = p->dport;
	} else {
		*sp = 0;
		*dp = 0;
	}
}

static struct pk_flow *
flow_create(struct pk_flow_table *t, const struct pk_packet *p, uint64_t h)
{
	struct flow_node *n;
	struct pk_flow *f;

	if (t->st.active >= t->cfg.max_flows && (f = lru_oldest(t)) != NULL)
		flow_end(t, f, p->ts_us, END_EVICTED);
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		/* Out of memory: give up the oldest flow for this one. */
		if ((f = lru_oldest(t)) == NULL)
			return NULL;
		flow_end(t, f, p->ts_us, END_EVICTED);
		if ((n = calloc(1, sizeof(*n))) == NULL)
			return NULL;
	}
	f = &n->f;
	f->src = p->src;
	f->dst = p->dst;
	flow_ports(p, &f->sport, &f->dport);
	f->proto = p->proto;
	f->first_us = f->last_us = p->ts_us;
	f->pkts[PK_DIR_FWD] = 1;
	f->bytes[PK_DIR_FWD] = p->ip_len ? p->ip_len : p->wirelen;
	f->payload[PK_DIR_FWD] = p->payload_len;
	f->hash = h;
	f->state = PK_FS_NEW;
	if (p->proto == PK_PROTO_TCP) {
		f->first_flags = p->tcp_flags;
		f->tcp_flags[PK_DIR_FWD] = p->tcp_flags;
		if (tcp_bare_syn(p->tcp_flags)) {
			f->state = PK_FS_SYN_SENT;
			f->saw_syn = 1;
			n->attempt = 1;
			al_append(t, n, AL_TCP);
		} else if (p->tcp_flags & PK_TH_RST)
			f->state = PK_FS_RESET;
		/* FIN/NULL/Xmas/ACK probes stay NEW: no attempt, because
		 * silence is their normal answer. */
	} else if (p->proto == PK_PROTO_UDP && !addr_is_group(&p->dst)) {
		n->attempt = 1;
		al_append(t, n, AL_UDP);
	}
	f->hnext = t->buckets[h & t->mask];
	t->buckets[h & t->mask] = f;
	pk_dlist_append(&t->lru, &f->lru);
	t->st.created++;
	t->st.active++;
	return f;
}

static void
tcp_step(struct pk_flow_table *t, struct pk_flow *f, uint8_t fl, int dir,
    uint64_t now)
{
	if (fl & PK_TH_RST) {
		if (f->state == PK_FS_SYN_SENT && dir == PK_DIR_REV)
			attempt_done(t, f, PK_FE_ATTEMPT_FAIL, now);
		f->state = PK_FS_RESET;
		return;
	}
	switch (f->state) {
	case PK_FS_SYN_SENT:
		if (dir == PK_DIR_REV &&
		    (fl & (PK_TH_SYN | PK_TH_ACK)) == (PK_TH_SYN | PK_TH_ACK)) {
			f->state = PK_FS_SYN_RCVD;
			attempt_done(t, f, PK_FE_ATTEMPT_OK, now);
		}
		return;
	case PK_FS_SYN_RCVD:
		if (dir == PK_DIR_FWD && (fl & PK_TH_ACK) &&
		    !(fl & PK_TH_SYN))
			f->state = PK_FS_ESTABLISHED;
		break;
	case PK_FS_NEW:
		if (dir == PK_DIR_REV)
			f->state = PK_FS_ESTABLISHED;	/* both sides talk */
		break;
	default:
		break;
	}
	if ((fl & PK_TH_FIN) && (f->state == PK_FS_SYN_RCVD ||
	    f->state == PK_FS_ESTABLISHED || f->state == PK_FS_FIN)) {
		if ((f->tcp_flags[PK_DIR_FWD] & PK_TH_FIN) &&
		    (f->tcp_flags[PK_DIR_REV] & PK_TH_FIN))
			f->state = PK_FS_CLOSED;
		else
			f->state = PK_FS_FIN;
	}
}

static void
flow_account(struct pk_flow_table *t, struct pk_flow *f,
    const struct pk_packet *p, int dir)
{
	f->pkts[dir]++;
	f->bytes[dir] += p->ip_len ? p->ip_len : p->wirelen;
	f->payload[dir] += p->payload_len;
	if (p->ts_us > f->last_us)
		f->last_us = p->ts_us;
	pk_dlist_move_tail(&t->lru, &f->lru);
	if (p->proto == PK_PROTO_TCP) {
		f->tcp_flags[dir] |= p->tcp_flags;
		tcp_step(t, f, p->tcp_flags, dir, p->ts_us);
	} else if (dir == PK_DIR_REV) {
		if (f->state == PK_FS_NEW)
			f->state = PK_FS_ESTABLISHED;
		attempt_done(t, f, PK_FE_ATTEMPT_OK, p->ts_us);
	}
}

/*
 * An ICMP destination unreachable quoting a packet the initiator sent: the
 * attempt failed.  The ICMP may come from a router, so its own source is
 * not checked; the quoted tuple is what ties it to the flow.
 */
static void
flow_icmp_error(struct pk_flow_table *t, const struct pk_packet *p)
{
	struct pk_flow *f;
	uint64_t h;
	int dir;

	if (p->proto == PK_PROTO_ICMP) {
		/* type 3; code 4 is "fragmentation needed" (path MTU
		 * discovery): the destination is fine. */
		if (p->icmp_type != 3 || p->icmp_code == 4)
			return;
	} else if (p->proto == PK_PROTO_ICMPV6) {
		if (p->icmp_type != 1)
			return;
	} else
		return;
	if (p->inner_proto != PK_PROTO_TCP && p->inner_proto != PK_PROTO_UDP)
		return;
	h = flow_hash(t, &p->inner_src, p->inner_sport, &p->inner_dst,
	    p->inner_dport, p->inner_proto);
	f = flow_lookup(t, h, &p->inner_src, p->inner_sport, &p->inner_dst,
	    p->inner_dport, p->inner_proto, &dir);
	if (f == NULL || dir != PK_DIR_FWD)
		return;
	attempt_done(t, f, PK_FE_ATTEMPT_FAIL, p->ts_us);
}

struct pk_flow *
pk_flow_update(struct pk_flow_table *t, const struct pk_packet *p, int *dir,
    int *is_new)
{
	struct pk_flow *f;
	uint16_t sp, dp;
	uint64_t h;
	int d = PK_DIR_FWD;

	*dir = PK_DIR_FWD;
	*is_new = 0;
	if (p->flags & PK_PF_ICMP_ERR) {
		flow_icmp_error(t, p);
		return NULL;
	}
	flow_ports(p, &sp, &dp);
	h = flow_hash(t, &p->src, sp, &p->dst, dp, p->proto);
	f = flow_lookup(t, h, &p->src, sp, &p->dst, dp, p->proto, &d);
	/* A new SYN on a finished connection is a new connection (port
	 * reuse, scanners retrying): close the old flow first. */
	if (f != NULL && p->proto == PK_PROTO_TCP &&
	    tcp_bare_syn(p->tcp_flags) &&
	    (f->state == PK_FS_CLOSED || f->state == PK_FS_RESET)) {
		flow_end(t, f, p->ts_us, END_RECYCLED);
		f = NULL;
		d = PK_DIR_FWD;
	}
	if (f == NULL) {
		if ((f = flow_create(t, p, h)) == NULL)
			return NULL;
		*is_new = 1;
		return f;
	}
	flow_account(t, f, p, d);
	*dir = d;
	return f;
}

void
pk_flow_expire(struct pk_flow_table *t, uint64_t now_us)
{
	struct flow_node *n;
	struct pk_flow *f;
	uint64_t to;

	/* Unanswered SYNs: FAIL and END (the attempt is all they were). */
	to = (uint64_t)t->cfg.tcp_attempt_timeout_s * USEC;
	while ((n = al_oldest(t, AL_TCP)) != NULL &&
	    expired(n->f.first_us, to, now_us))
		flow_end(t, &n->f, now_us, END_EXPIRED);
	/* Unanswered datagrams: FAIL; the flow lives on until idle. */
	to = (uint64_t)t->cfg.udp_timeout_s * USEC;
	while ((n = al_oldest(t, AL_UDP)) != NULL &&
	    expired(n->f.first_us, to, now_us))
		attempt_done(t, &n->f, PK_FE_ATTEMPT_FAIL, now_us);
	/* Idle flows, oldest first; stop at the first one still alive so
	 * the work is proportional to what leaves the table. */
	while ((f = lru_oldest(t)) != NULL &&
	    expired(f->last_us, flow_timeout_us(t, f), now_us))
		flow_end(t, f, now_us, END_EXPIRED);
}

void
pk_flow_flush(struct pk_flow_table *t, uint64_t now_us)
{
	struct pk_flow *f;

	while ((f = lru_oldest(t)) != NULL)
		flow_end(t, f, now_us, END_FLUSHED);
}

const struct pk_flow_stats *
pk_flow_stats(const struct pk_flow_table *t)
{
	return &t->st;
}
