/*
 * rules_match.c - matching a loaded rule set (rules_parse.c) against
 * packets and TCP stream views, with Suricata's semantics; and the
 * threshold / detection_filter table.
 *
 * Prefilter: pk_ruleset_compile() sorts the rules into groups by what they
 * inspect (TCP stream, TCP packet, UDP, ICMP, other IP) and builds one
 * Aho-Corasick automaton over each rule's fast pattern (ac.c,
 * case-folded) per transport: TCP stream and TCP packet rules share one,
 * so a TCP payload that the stream pass covers is not scanned again.
 * Rules with no positive content are kept aside, indexed by destination
 * port when the rule names one port.  The work does not grow with the
 * number of rules whose patterns do not occur.
 *
 * Streams are scanned once: the direction's cursor (struct pk_stream_scan,
 * kept by stream.c) holds the automaton state after the bytes scanned so
 * far, so each packet scans only the bytes it added, and occurrences that
 * span segments are still found.  A rule whose pattern was found but
 * which did not match yet (a later content may still arrive, or the
 * packet's flags or flow state did not fit) stays pending in the cursor
 * and is evaluated again, on the whole stream, each time the stream
 * grows, until it matches: exactly the rules a rescan of the whole stream
 * would make candidates, minus those that matched already (which the
 * detector would suppress anyway).  A packet rule's pattern found by the
 * stream pass counts only when it lies inside the packet's own payload.
 *
 * Content inspection follows Suricata's detect-engine-content-inspection:
 * contents are checked in rule order, distance/within are relative to the
 * end of the previous positive match, and when a later content fails the
 * earlier one is retried at its next occurrence (start + 1), bounded by
 * PK_RULE_INSPECT_LIMIT steps as Suricata bounds its recursion.
 *
 * Called by sigdet.c, the tests and the fuzz target.  Portable.
 */
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/ac.h"
#include "collectors/pcap/rules.h"
#include "common/dlist.h"
#include "common/util.h"

#define USEC	1000000ULL

enum { G_TCP = 0, G_TCP_PKT, G_UDP, G_ICMP, G_OTHER, NGROUPS };

struct portent {
	uint16_t	 port;
	uint32_t	 rule;
};

struct pk_rule_group {
	struct pk_ac	*ac;		/* NULL: no fast patterns */
	uint32_t	*always;	/* rules with no positive content */
	size_t		 nalways;
	struct portent	*byport;	/* the same, for one dport, sorted */
	size_t		 nbyport;
};

/* ---- header ------------------------------------------------------------- */

static int node_value(const struct pk_rule_node *, const struct pk_addr *,
    int, uint16_t);

/*
 * A group matches when one of its positive elements does (or it has
 * none) and none of its negated elements' lists does: "[10.0.0.0/8,
 * !10.1.2.3]" is 10/8 but that host.
 */
static int
node_raw(const struct pk_rule_node *n, const struct pk_addr *a, int home,
    uint16_t port)
{
	const struct pk_rule_node *c, *end;
	int npos = 0, pos = 0;

	switch (n->kind) {
	case PK_RN_ANY:
		return 1;
	case PK_RN_CIDR:
		return a != NULL && pk_cidr_contains(&n->cidr, a);
	case PK_RN_HOME:
		return home;
	case PK_RN_RANGE:
		return port >= n->lo && port <= n->hi;
	default:
		break;
	}
	end = n + n->size;
	for (c = n + 1; c < end; c += c->size) {
		int v = node_value(c, a, home, port);

		if (c->neg) {
			if (!v)
				return 0;
		} else {
			npos++;
			pos |= v;
		}
	}
	return npos == 0 || pos;
}

static int
node_value(const struct pk_rule_node *n, const struct pk_addr *a, int home,
    uint16_t port)
{
	int v = node_raw(n, a, home, port);

	return n->neg ? !v : v;
}

static int
list_addr(const struct pk_rule_list *l, const struct pk_addr *a, int home)
{
	return l->any || node_value(l->n, a, home, 0);
}

static int
list_port(const struct pk_rule_list *l, uint16_t port)
{
	return l->any || node_value(l->n, NULL, 0, port);
}

static int
proto_ok(const struct pk_rule *r, uint8_t proto)
{
	switch (r->proto) {
	case PK_RP_TCP:
		return proto == PK_PROTO_TCP;
	case PK_RP_UDP:
		return proto == PK_PROTO_UDP;
	case PK_RP_ICMP:
		return proto == PK_PROTO_ICMP || proto == PK_PROTO_ICMPV6;
	default:
		return 1;
	}
}

static int
endpoints(const struct pk_rule *r, int ports, const struct pk_addr *sa,
    int sh, uint16_t sp, const struct pk_addr *da, int dh, uint16_t dp)
{
	if (!list_addr(&r->src, sa, sh) || !list_addr(&r->dst, da, dh))
		return 0;
	if (ports && (!list_port(&r->sport, sp) || !list_port(&r->dport, dp)))
		return 0;
	return 1;
}

/* Suricata's detect-flags.c FlagsMatch. */
static int
flags_ok(const struct pk_rule *r, uint8_t pf)
{
	uint8_t f;

	if (r->flags_val == 0 && pf != 0)
		return r->flags_mod == PK_FM_NOT;
	f = pf & r->flags_keep;
	switch (r->flags_mod) {
	case PK_FM_ANY:
		return (f & r->flags_val) != 0;
	case PK_FM_PLUS:
		return (f & r->flags_val) == r->flags_val;
	case PK_FM_NOT:
		return (f & r->flags_val) != r->flags_val;
	default:
		return f == r->flags_val;
	}
}

static int
dsize_ok(const struct pk_rule *r, uint32_t n)
{
	switch (r->dsize_op) {
	case PK_DS_EQ:
		return n == r->dsize_lo;
	case PK_DS_NE:
		return n != r->dsize_lo;
	case PK_DS_LT:
		return n < r->dsize_lo;
	case PK_DS_LE:
		return n <= r->dsize_lo;
	case PK_DS_GT:
		return n > r->dsize_lo;
	case PK_DS_GE:
		return n >= r->dsize_lo;
	case PK_DS_RANGE:
		return n > r->dsize_lo && n < r->dsize_hi;
	default:
		return 1;
	}
}

static int
flow_ok(const struct pk_rule *r, const struct pk_rule_input *in)
{
	uint8_t f = r->flow;

	if (f & (PK_FLOW_TO_SERVER | PK_FLOW_TO_CLIENT | PK_FLOW_ESTABLISHED |
	    PK_FLOW_NOT_ESTABLISHED)) {
		if (!in->has_flow)
			return 0;
		if ((f & PK_FLOW_TO_SERVER) && !in->to_server)
			return 0;
		if ((f & PK_FLOW_TO_CLIENT) && in->to_server)
			return 0;
		if ((f & PK_FLOW_ESTABLISHED) && !in->established)
			return 0;
		if ((f & PK_FLOW_NOT_ESTABLISHED) && in->established)
			return 0;
	}
	return 1;
}

/* Everything but the contents. */
static int
header_ok(const struct pk_rule *r, const struct pk_rule_input *in)
{
	const struct pk_packet *p = in->pkt;
	int ports = p->proto == PK_PROTO_TCP || p->proto == PK_PROTO_UDP;

	if (!proto_ok(r, p->proto))
		return 0;
	/* a rule naming ports wants a transport that has them */
	if (!ports && (!r->sport.any || !r->dport.any))
		return 0;
	if (!endpoints(r, ports, &p->src, in->src_home, p->sport, &p->dst,
	    in->dst_home, p->dport) && (!r->bidir || !endpoints(r, ports,
	    &p->dst, in->dst_home, p->dport, &p->src, in->src_home, p->sport)))
		return 0;
	if (r->has_flags && (p->proto != PK_PROTO_TCP ||
	    !flags_ok(r, p->tcp_flags)))
		return 0;
	if (r->dsize_op != PK_DS_NONE && !dsize_ok(r, p->payload_len))
		return 0;
	return flow_ok(r, in);
}

/* ---- content inspection ----------------------------------------------- */

/* First occurrence of pat in h, or -1. */
static long
find(const uint8_t *h, uint32_t hl, const struct pk_rule_content *c)
{
	const uint8_t *pat = c->pat, *q;
	uint32_t pl = c->len, i, last;
	uint8_t f0;

	if (hl < pl)
		return -1;
	last = hl - pl;
	if (!c->nocase) {
		for (i = 0; i <= last; i = (uint32_t)(q - h) + 1) {
			q = memchr(h + i, pat[0], last - i + 1);
			if (q == NULL)
				return -1;
			if (memcmp(q + 1, pat + 1, pl - 1) == 0)
				return q - h;
		}
		return -1;
	}
	f0 = pk_ac_fold[pat[0]];
	for (i = 0; i <= last; i++) {
		uint32_t k;

		if (pk_ac_fold[h[i]] != f0)
			continue;
		for (k = 1; k < pl; k++)
			if (pk_ac_fold[h[i + k]] != pk_ac_fold[pat[k]])
				break;
		if (k == pl)
			return (long)i;
	}
	return -1;
}

struct insp {
	const struct pk_rule	*r;
	const uint8_t		*buf;
	uint32_t		 len;
	uint32_t		 steps;
	int			 stop;		/* no other occurrence helps */
	int			 limit;		/* step limit reached */
};

/* Window of content i after a previous positive match ending at prev. */
static void
window(const struct pk_rule_content *c, uint32_t len, uint32_t prev,
    int64_t *start, int64_t *end)
{
	int64_t s, e = len, d = 0;

	if (c->relative) {
		s = prev;
		if (c->has_distance) {
			d = c->distance;
			s = d < 0 && -d > s ? 0 : s + d;
		}
		if (c->has_within && (int64_t)prev + d + c->within < e)
			e = (int64_t)prev + d + c->within;
	} else {
		s = c->has_offset ? c->offset : 0;
		if (c->has_depth && s + c->depth < e)
			e = s + c->depth;
	}
	*start = s;
	*end = e < 0 ? 0 : e;
}

/* 1 match, 0 no match (x->stop: give up), -1 step limit. */
static int
inspect(struct insp *x, int i, uint32_t prev)
{
	const struct pk_rule_content *c;
	int64_t start, end, pos;
	long f;
	int r;

	if (i >= x->r->ncontents)
		return 1;
	c = &x->r->c[i];
	window(c, x->len, prev, &start, &end);
	for (pos = start;;) {
		if (++x->steps > PK_RULE_INSPECT_LIMIT) {
			x->limit = 1;
			return -1;
		}
		f = pos < end && end - pos >= c->len ?
		    find(x->buf + pos, (uint32_t)(end - pos), c) : -1;
		if (f < 0) {
			if (c->negated)
				return inspect(x, i + 1, prev);
			if (!c->relative)
				x->stop = 1;	/* nothing earlier can help */
			return 0;
		}
		if (c->negated) {
			if (!c->relative && !c->relative_next)
				x->stop = 1;
			return 0;
		}
		r = inspect(x, i + 1, (uint32_t)(pos + f + c->len));
		if (r != 0)
			return r;
		if (x->stop)
			return 0;
		if (!c->relative_next) {
			/* the next content does not depend on this one */
			x->stop = 1;
			return 0;
		}
		pos = pos + f + 1;	/* Suricata: next occurrence */
	}
}

int
pk_rule_contents(const struct pk_rule *r, const uint8_t *buf, uint32_t len)
{
	struct insp x;

	if (r->ncontents == 0)
		return 1;
	if (len == 0 || buf == NULL)
		return 0;
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.buf = buf;
	x.len = len;
	return inspect(&x, 0, 0);
}

/* Does r inspect the stream (else the packet payload)? */
static int
wants_stream(const struct pk_rule *r)
{
	return r->proto == PK_RP_TCP && r->dsize_op == PK_DS_NONE &&
	    !(r->flow & PK_FLOW_NO_STREAM);
}

static int
eval(const struct pk_rule *r, const struct pk_rule_input *in,
    const uint8_t *buf, uint32_t len, int on_stream, uint64_t *limit_hits)
{
	int m;

	if ((r->flow & PK_FLOW_ONLY_STREAM) && !on_stream)
		return 0;
	if (!header_ok(r, in))
		return 0;
	if ((m = pk_rule_contents(r, buf, len)) < 0 && limit_hits != NULL)
		(*limit_hits)++;
	return m == 1;
}

int
pk_rule_match(const struct pk_rule *r, const struct pk_rule_input *in,
    int *on_stream, uint64_t *limit_hits)
{
	const struct pk_packet *p = in->pkt;
	int s = p->proto == PK_PROTO_TCP && wants_stream(r) &&
	    in->stream != NULL;

	if (on_stream != NULL)
		*on_stream = s;
	return s ? eval(r, in, in->stream, in->stream_len, 1, limit_hits) :
	    eval(r, in, p->payload, p->payload_len, 0, limit_hits);
}

/* ---- prefilter ------------------------------------------------------------ */

static int
portent_cmp(const void *a, const void *b)
{
	const struct portent *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Automaton ids: rule index << 1, low bit set for a trigger content (a
 * positive content other than the fast pattern, see stream_pass).
 */
#define AC_ID(idx, trigger)	((uint32_t)(idx) << 1 | (trigger))
/* Trigger contents shorter than this would fire too often: a rule that
 * has one is evaluated again at every growth instead. */
#define TRIGGER_MIN	4

/* Can r's other positive contents go into the automaton as triggers? */
static int
trigger_ok(const struct pk_rule *r)
{
	int i;

	for (i = 0; i < r->ncontents; i++)
		if (i != r->fast && !r->c[i].negated &&
		    r->c[i].len < TRIGGER_MIN)
			return 0;
	return 1;
}

/* Where r's fast pattern goes: TCP packet rules share the TCP automaton. */
static int
group_add(struct pk_ruleset *rs, int gi, const struct pk_rule *r)
{
	struct pk_rule_group *g = &rs->groups[gi];
	struct pk_rule_group *ag = &rs->groups[gi == G_TCP_PKT ? G_TCP : gi];
	const struct pk_rule_content *c;
	int i;

	if (r->fast >= 0) {
		c = &r->c[r->fast];
		if (ag->ac == NULL && (ag->ac = pk_ac_new()) == NULL)
			return -1;
		if (gi == G_TCP_PKT)
			rs->tcp_pkt_fast = 1;
		if (pk_ac_add(ag->ac, c->pat, c->len, AC_ID(r->idx, 0)) == -1)
			return -1;
		if (gi != G_TCP || !trigger_ok(r))
			return 0;
		rs->trig[r->idx] = 1;
		for (i = 0; i < r->ncontents; i++)
			if (i != r->fast && !r->c[i].negated &&
			    pk_ac_add(ag->ac, r->c[i].pat, r->c[i].len,
			    AC_ID(r->idx, 1)) == -1)
				return -1;
		return 0;
	}
	if (!r->bidir && r->dport.single >= 0) {
		g->byport[g->nbyport].port = (uint16_t)r->dport.single;
		g->byport[g->nbyport++].rule = r->idx;
		return 0;
	}
	g->always[g->nalways++] = r->idx;
	return 0;
}

void
pk_ruleset_uncompile(struct pk_ruleset *rs)
{
	int i;

	if (rs->groups != NULL)
		for (i = 0; i < NGROUPS; i++) {
			pk_ac_free(rs->groups[i].ac);
			free(rs->groups[i].always);
			free(rs->groups[i].byport);
		}
	free(rs->groups);
	free(rs->stamp);
	free(rs->cand);
	free(rs->cand2);
	free(rs->trig);
	free(rs->pmark);
	free(rs->ppos);
	rs->groups = NULL;
	rs->stamp = rs->cand = rs->cand2 = rs->pmark = rs->ppos = NULL;
	rs->trig = NULL;
	rs->tcp_pkt_fast = 0;
	rs->compiled = 0;
}

/* Each compiled set gets its own epoch, so a cursor knows its automaton. */
static uint32_t epochs;

int
pk_ruleset_compile(struct pk_ruleset *rs)
{
	size_t i, n = rs->n ? rs->n : 1;
	int g;

	if (rs->compiled)
		return 0;
	if ((rs->groups = calloc(NGROUPS, sizeof(*rs->groups))) == NULL ||
	    (rs->stamp = calloc(n, sizeof(*rs->stamp))) == NULL ||
	    (rs->cand = malloc(n * sizeof(*rs->cand))) == NULL ||
	    (rs->cand2 = malloc(n * sizeof(*rs->cand2))) == NULL ||
	    (rs->trig = calloc(n, sizeof(*rs->trig))) == NULL ||
	    (rs->pmark = calloc(n, sizeof(*rs->pmark))) == NULL ||
	    (rs->ppos = calloc(n, sizeof(*rs->ppos))) == NULL)
		goto fail;
	for (g = 0; g < NGROUPS; g++)
		if ((rs->groups[g].always = malloc(n *
		    sizeof(uint32_t))) == NULL ||
		    (rs->groups[g].byport = malloc(n *
		    sizeof(struct portent))) == NULL)
			goto fail;
	for (i = 0; i < rs->n; i++) {
		const struct pk_rule *r = rs->rules[i];
		int rc = 0;

		switch (r->proto) {
		case PK_RP_TCP:
			rc = group_add(rs, wants_stream(r) ? G_TCP :
			    G_TCP_PKT, r);
			break;
		case PK_RP_UDP:
			rc = group_add(rs, G_UDP, r);
			break;
		case PK_RP_ICMP:
			rc = group_add(rs, G_ICMP, r);
			break;
		default:
			for (g = G_TCP_PKT; g < NGROUPS && rc == 0; g++)
				rc = group_add(rs, g, r);
			break;
		}
		if (rc == -1)
			goto fail;
	}
	for (g = 0; g < NGROUPS; g++) {
		struct pk_rule_group *gr = &rs->groups[g];

		if (gr->ac != NULL && pk_ac_build(gr->ac) == -1)
			goto fail;
		qsort(gr->byport, gr->nbyport, sizeof(*gr->byport),
		    portent_cmp);
	}
	if (++epochs == 0)
		epochs = 1;
	rs->epoch = epochs;
	rs->compiled = 1;
	return 0;
fail:
	pk_ruleset_uncompile(rs);
	return -1;
}

/* Stamped once per packet: a rule is a candidate of one list only. */
static int
stamp(struct pk_ruleset *rs, uint32_t id)
{
	if (rs->stamp[id] == rs->gen)
		return 0;
	rs->stamp[id] = rs->gen;
	return 1;
}

static void
candidate(struct pk_ruleset *rs, uint32_t id)
{
	if (stamp(rs, id))
		rs->cand[rs->ncand++] = id;
}

static void
candidate2(struct pk_ruleset *rs, uint32_t id)
{
	if (stamp(rs, id))
		rs->cand2[rs->ncand2++] = id;
}

static void
next_gen(struct pk_ruleset *rs)
{
	if (++rs->gen == 0) {	/* wrapped: forget every stamp */
		memset(rs->stamp, 0, (rs->n ? rs->n : 1) *
		    sizeof(*rs->stamp));
		memset(rs->pmark, 0, (rs->n ? rs->n : 1) *
		    sizeof(*rs->pmark));
		rs->gen = 1;
	}
	rs->ncand = rs->ncand2 = 0;
}

/*
 * One prefilter pass.  The TCP automaton holds the fast patterns of the
 * stream rules and of the TCP packet rules (dsize, flow:no_stream, ip):
 *
 *   PASS_PLAIN   a buffer of its own (UDP, ICMP, other IP, a TCP payload
 *                without a stream view): every hit is a candidate, TCP
 *                packet rules into the second list;
 *   PASS_STREAM  a stream: stream rules' hits are candidates (and, with a
 *                cursor, pending until they match); a packet rule's hit
 *                counts only when the occurrence lies inside the packet's
 *                payload, where it sits in the stream [plo, phi);
 *   PASS_PACKET  a TCP payload scanned apart from its stream: packet rules
 *                only (the stream pass saw the stream rules).
 */
enum { PASS_PLAIN = 0, PASS_STREAM, PASS_PACKET };

struct pass {
	struct pk_ruleset	*rs;
	int			 tcp;		/* the TCP automaton */
	int			 kind;
	size_t			 plo, phi;	/* PASS_STREAM; plo > phi: none */
	struct pk_stream_scan	*cur;		/* PASS_STREAM: keep pending */
};

/*
 * A pending entry is a rule index; PENDING_RETRY marks one that must be
 * evaluated at every growth (its header refused the last packet, or its
 * other contents are not triggers).  While a cursor is matched, pmark and
 * ppos say which rules are pending in it and where.
 */
#define PENDING_RETRY	0x80000000u

static void
pending_mark(struct pk_ruleset *rs, struct pk_stream_scan *cur, uint32_t i)
{
	uint32_t id = cur->pending[i] & ~PENDING_RETRY;

	rs->pmark[id] = rs->gen;
	rs->ppos[id] = i;
}

static int
is_pending(const struct pk_ruleset *rs, uint32_t id)
{
	return rs->pmark[id] == rs->gen;
}

static void
pending_add(struct pk_ruleset *rs, struct pk_stream_scan *cur, uint32_t id)
{
	if (cur->overflow)
		return;
	if (pk_stream_scan_reserve(cur, cur->npending + 1) == -1) {
		/* Bounded: from now on this direction is scanned whole. */
		cur->overflow = 1;
		rs->stats.pending_overflow++;
		return;
	}
	cur->pending[cur->npending] = id | (rs->trig[id] ? 0 : PENDING_RETRY);
	pending_mark(rs, cur, cur->npending++);
}

static void
pending_del(struct pk_ruleset *rs, struct pk_stream_scan *cur, uint32_t id)
{
	uint32_t i;

	if (!is_pending(rs, id))
		return;
	i = rs->ppos[id];
	rs->pmark[id] = 0;
	cur->pending[i] = cur->pending[--cur->npending];
	if (i < cur->npending)
		pending_mark(rs, cur, i);
}

/* Retry r at every growth while its header refuses the packets. */
static void
pending_retry(struct pk_ruleset *rs, struct pk_stream_scan *cur, uint32_t id,
    int retry)
{
	uint32_t *e;

	if (!is_pending(rs, id) || !rs->trig[id])
		return;
	e = &cur->pending[rs->ppos[id]];
	*e = retry ? *e | PENDING_RETRY : *e & ~PENDING_RETRY;
}

static int
ac_hit(void *arg, uint32_t aid, size_t end)
{
	struct pass *ps = arg;
	struct pk_ruleset *rs = ps->rs;
	uint32_t id = aid >> 1;
	const struct pk_rule *r = rs->rules[id];
	size_t plen;

	if (!ps->tcp) {
		candidate(rs, id);
		return 0;
	}
	if (r->proto == PK_RP_TCP && wants_stream(r)) {
		if (ps->kind == PASS_PACKET)
			return 0;
		if (ps->cur != NULL && is_pending(rs, id)) {
			/* a content of a pending rule in the new bytes */
			candidate(rs, id);
			return 0;
		}
		if ((aid & 1) == 0 && stamp(rs, id)) {
			rs->cand[rs->ncand++] = id;
			if (ps->cur != NULL)
				pending_add(rs, ps->cur, id);
		}
		return 0;
	}
	if (ps->kind == PASS_STREAM) {
		plen = r->c[r->fast].len;
		if (ps->plo > ps->phi || end > ps->phi || end < plen ||
		    end - plen < ps->plo)
			return 0;
	}
	candidate2(rs, id);
	return 0;
}

/* Rules of group g with no fast pattern: by destination port, always. */
static void
group_fixed(struct pk_ruleset *rs, int g, const struct pk_packet *p,
    void (*add)(struct pk_ruleset *, uint32_t))
{
	const struct pk_rule_group *gr = &rs->groups[g];
	size_t i, lo, hi, mid;

	if (gr->nbyport > 0 && (p->proto == PK_PROTO_TCP ||
	    p->proto == PK_PROTO_UDP)) {
		lo = 0;
		hi = gr->nbyport;
		while (lo < hi) {	/* first entry >= dport */
			mid = lo + (hi - lo) / 2;
			if (gr->byport[mid].port < p->dport)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = lo; i < gr->nbyport && gr->byport[i].port == p->dport;
		    i++)
			add(rs, gr->byport[i].rule);
	}
	for (i = 0; i < gr->nalways; i++)
		add(rs, gr->always[i]);
}

static void
scan(struct pk_ruleset *rs, int g, struct pass *ps, uint32_t *state,
    const uint8_t *buf, size_t len, size_t base)
{
	uint32_t s0 = 0;

	if (rs->groups[g].ac == NULL || len == 0)
		return;
	pk_ac_scan_from(rs->groups[g].ac, state != NULL ? state : &s0, buf,
	    len, base, ac_hit, ps);
	rs->stats.scanned_bytes += len;
}

/*
 * Evaluate a candidate list in rule order (so reports do not depend on
 * where patterns occur) against buf.  With a cursor (stream candidates):
 * a match leaves the pending list; a rule whose header refused this
 * packet is retried at every growth, one whose contents failed waits for
 * one of its contents to occur in new bytes.
 */
static void
evaluate(struct pk_ruleset *rs, uint32_t *cand, size_t ncand,
    const struct pk_rule_input *in, const uint8_t *buf, uint32_t len,
    int on_stream, struct pk_stream_scan *cur, pk_rule_hit_fn fn, void *arg)
{
	size_t i;
	int m;

	if (ncand == 0)
		return;
	qsort(cand, ncand, sizeof(*cand), u32_cmp);
	rs->stats.candidates += ncand;
	for (i = 0; i < ncand; i++) {
		const struct pk_rule *r = rs->rules[cand[i]];

		rs->stats.evaluated++;
		if (cur == NULL) {
			m = eval(r, in, buf, len, on_stream,
			    &rs->stats.inspect_limit);
		} else if (!header_ok(r, in)) {
			pending_retry(rs, cur, r->idx, 1);
			continue;
		} else {
			pending_retry(rs, cur, r->idx, 0);
			if ((m = pk_rule_contents(r, buf, len)) < 0)
				rs->stats.inspect_limit++;
			m = m == 1;
		}
		if (m) {
			rs->stats.matches++;
			if (cur != NULL)
				pending_del(rs, cur, r->idx);
			fn(arg, r, on_stream);
		}
	}
}

/*
 * The stream pass: with a usable cursor only the bytes after it are
 * scanned, from the state it kept, and the rules pending in it are
 * candidates again; otherwise the whole stream from the start.  The
 * cursor starts over when it belongs to another automaton (a reload) or
 * when the stream restarted after a hole (new bytes begin before it).
 */
static struct pk_stream_scan *
stream_pass(struct pk_ruleset *rs, const struct pk_rule_input *in,
    struct pass *ps)
{
	struct pk_stream_scan *cur = in->scan;
	uint32_t from = 0, i;

	if (cur != NULL && (cur->epoch != rs->epoch ||
	    in->stream_new < cur->off || cur->off > in->stream_len)) {
		pk_stream_scan_reset(cur);
		cur->epoch = rs->epoch;
	}
	if (cur == NULL || cur->overflow || rs->groups[G_TCP].ac == NULL) {
		rs->stats.stream_rescans++;
		scan(rs, G_TCP, ps, NULL, in->stream, in->stream_len, 0);
		return NULL;
	}
	if (cur->off > 0)
		rs->stats.stream_resumed++;
	else
		rs->stats.stream_rescans++;
	/* Pending rules: those to retry are candidates now; the others
	 * only if one of their contents occurs in the new bytes (ac_hit),
	 * since without a new occurrence their contents fail as before. */
	for (i = 0; i < cur->npending; i++) {
		pending_mark(rs, cur, i);
		if (cur->pending[i] & PENDING_RETRY)
			candidate(rs, cur->pending[i] & ~PENDING_RETRY);
	}
	from = cur->off;
	ps->cur = cur;
	scan(rs, G_TCP, ps, &cur->state, in->stream + from,
	    in->stream_len - from, from);
	cur->off = in->stream_len;
	for (i = 0; i < cur->npending; i++)
		if (rs->stamp[cur->pending[i] & ~PENDING_RETRY] != rs->gen)
			rs->stats.pending_skipped++;
	if (cur->overflow) {
		/* the pending list is incomplete now: it is not used again,
		 * and this pass found every candidate of the new bytes */
		cur->npending = 0;
		return NULL;
	}
	return cur;
}

static void
match_tcp(struct pk_ruleset *rs, const struct pk_rule_input *in,
    pk_rule_hit_fn fn, void *arg)
{
	const struct pk_packet *p = in->pkt;
	struct pk_stream_scan *cur;
	struct pass ps;
	uint32_t pl = p->payload != NULL ? p->payload_len : 0;

	memset(&ps, 0, sizeof(ps));
	ps.rs = rs;
	ps.tcp = 1;
	next_gen(rs);
	group_fixed(rs, G_TCP, p, candidate);
	group_fixed(rs, G_TCP_PKT, p, candidate2);
	if (in->stream == NULL) {
		ps.kind = PASS_PLAIN;
		scan(rs, G_TCP, &ps, NULL, p->payload, pl, 0);
		evaluate(rs, rs->cand, rs->ncand, in, p->payload, pl, 0, NULL,
		    fn, arg);
		evaluate(rs, rs->cand2, rs->ncand2, in, p->payload, pl, 0,
		    NULL, fn, arg);
		return;
	}
	/* Where the payload sits in the stream, if it was appended whole:
	 * then the stream pass finds the packet rules' patterns too. */
	ps.kind = PASS_STREAM;
	ps.plo = 1;
	ps.phi = 0;
	if (pl > 0 && in->stream_new <= in->stream_len &&
	    in->stream_len - in->stream_new >= pl &&
	    memcmp(in->stream + in->stream_new, p->payload, pl) == 0) {
		ps.plo = in->stream_new;
		ps.phi = (size_t)in->stream_new + pl;
	}
	cur = stream_pass(rs, in, &ps);
	if (rs->tcp_pkt_fast && pl > 0 && ps.plo > ps.phi) {
		ps.kind = PASS_PACKET;
		ps.cur = NULL;
		rs->stats.packet_rescans++;
		scan(rs, G_TCP, &ps, NULL, p->payload, pl, 0);
	}
	evaluate(rs, rs->cand, rs->ncand, in, in->stream, in->stream_len, 1,
	    cur, fn, arg);
	evaluate(rs, rs->cand2, rs->ncand2, in, p->payload, pl, 0, NULL, fn,
	    arg);
}

static void
match_other(struct pk_ruleset *rs, int g, const struct pk_rule_input *in,
    pk_rule_hit_fn fn, void *arg)
{
	const struct pk_packet *p = in->pkt;
	uint32_t pl = p->payload != NULL ? p->payload_len : 0;
	struct pass ps;

	memset(&ps, 0, sizeof(ps));
	ps.rs = rs;
	ps.kind = PASS_PLAIN;
	next_gen(rs);
	group_fixed(rs, g, p, candidate);
	scan(rs, g, &ps, NULL, p->payload, pl, 0);
	evaluate(rs, rs->cand, rs->ncand, in, p->payload, pl, 0, NULL, fn,
	    arg);
}

void
pk_ruleset_match(struct pk_ruleset *rs, const struct pk_rule_input *in,
    pk_rule_hit_fn fn, void *arg)
{
	const struct pk_packet *p = in->pkt;

	if (!rs->compiled || rs->n == 0)
		return;
	rs->stats.packets++;
	switch (p->proto) {
	case PK_PROTO_TCP:
		match_tcp(rs, in, fn, arg);
		break;
	case PK_PROTO_UDP:
		match_other(rs, G_UDP, in, fn, arg);
		break;
	case PK_PROTO_ICMP:
	case PK_PROTO_ICMPV6:
		match_other(rs, G_ICMP, in, fn, arg);
		break;
	default:
		match_other(rs, G_OTHER, in, fn, arg);
		break;
	}
}

const struct pk_rules_stats *
pk_ruleset_stats(const struct pk_ruleset *rs)
{
	return &rs->stats;
}

/* ---- thresholds -------------------------------------------------------- */

struct tkey {
	uint32_t	 gid, sid;
	uint8_t		 track;
	struct pk_addr	 a, b;
};

struct tent {
	struct tent	*hnext;
	struct pk_dlink	 lru;
	uint64_t	 hash;
	struct tkey	 k;
	uint64_t	 tv1;		/* window start, packet time */
	uint64_t	 count;
};

struct pk_rule_thresh {
	struct tent	**b;
	size_t		 mask;
	struct pk_dlist	 lru;		/* head = least recently used */
	uint64_t	 n, cap, evicted;
};

struct pk_rule_thresh *
pk_rule_thresh_new(uint64_t max_entries)
{
	struct pk_rule_thresh *t;
	size_t nb = 64;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->cap = max_entries ? max_entries : 1;
	while (nb < t->cap && nb < (1u << 22))
		nb <<= 1;
	if ((t->b = calloc(nb, sizeof(*t->b))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	return t;
}

void
pk_rule_thresh_free(struct pk_rule_thresh *t)
{
	struct pk_dlink *l;

	if (t == NULL)
		return;
	while ((l = pk_dlist_pop_head(&t->lru)) != NULL)
		free(PK_CONTAINER_OF(l, struct tent, lru));
	free(t->b);
	free(t);
}

static void
tent_unlink(struct pk_rule_thresh *t, struct tent *e)
{
	struct tent **pp;

	for (pp = &t->b[e->hash & t->mask]; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	pk_dlist_unlink(&t->lru, &e->lru);
	t->n--;
}

static struct tent *
tent_get(struct pk_rule_thresh *t, const struct tkey *k, int *isnew)
{
	uint64_t h = pk_fnv1a64(k, sizeof(*k), PK_FNV_SEED);
	struct tent *e;

	*isnew = 0;
	for (e = t->b[h & t->mask]; e != NULL; e = e->hnext)
		if (e->hash == h && memcmp(&e->k, k, sizeof(*k)) == 0) {
			pk_dlist_move_tail(&t->lru, &e->lru);
			return e;
		}
	if (t->n >= t->cap && t->lru.head != NULL) {
		e = PK_CONTAINER_OF(t->lru.head, struct tent, lru);
		tent_unlink(t, e);
		free(e);
		t->evicted++;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->k = *k;
	e->hash = h;
	e->hnext = t->b[h & t->mask];
	t->b[h & t->mask] = e;
	pk_dlist_append(&t->lru, &e->lru);
	t->n++;
	*isnew = 1;
	return e;
}

/*
 * Suricata's detect-engine-threshold.c, per type:
 *   limit      alert on the first count matches of each window
 *   threshold  alert on every count-th match within a window
 *   both       alert once per window, on the count-th match
 *   detection  alert on every match after count within a window
 * A match after the window (seconds from its first match) starts anew.
 */
int
pk_rule_thresh_check(struct pk_rule_thresh *t, const struct pk_rule *r,
    const struct pk_addr *src, const struct pk_addr *dst, uint64_t ts_us)
{
	struct tkey k;
	struct tent *e;
	int isnew, within;

	if (r->th_type == PK_RT_NONE)
		return 1;
	memset(&k, 0, sizeof(k));
	k.gid = r->gid;
	k.sid = r->sid;
	k.track = r->th_track;
	switch (r->th_track) {
	case PK_TRACK_SRC:
		k.a = *src;
		break;
	case PK_TRACK_DST:
		k.a = *dst;
		break;
	case PK_TRACK_BOTH:	/* either direction is one pair */
		if (pk_addr_cmp(src, dst) <= 0) {
			k.a = *src;
			k.b = *dst;
		} else {
			k.a = *dst;
			k.b = *src;
		}
		break;
	default:
		break;
	}
	if ((e = tent_get(t, &k, &isnew)) == NULL)
		return 1;	/* no memory: fail open, report */
	if (isnew) {
		e->tv1 = ts_us;
		e->count = 1;
		switch (r->th_type) {
		case PK_RT_LIMIT:
			return 1;
		case PK_RT_THRESHOLD:
			if (r->th_count == 1) {
				e->count = 0;
				return 1;
			}
			return 0;
		case PK_RT_BOTH:
			return r->th_count == 1;
		default:
			return 0;
		}
	}
	within = ts_us >= e->tv1 &&
	    ts_us - e->tv1 < (uint64_t)r->th_seconds * USEC;
	if (!within) {
		e->tv1 = ts_us;
		e->count = 1;
		switch (r->th_type) {
		case PK_RT_LIMIT:
			return 1;
		case PK_RT_THRESHOLD:
			if (r->th_count == 1) {
				e->count = 0;
				return 1;
			}
			return 0;
		case PK_RT_BOTH:
			return r->th_count == 1;
		default:
			return 0;
		}
	}
	e->count++;
	switch (r->th_type) {
	case PK_RT_LIMIT:
		return e->count <= r->th_count;
	case PK_RT_THRESHOLD:
		if (e->count >= r->th_count) {
			e->count = 0;
			return 1;
		}
		return 0;
	case PK_RT_BOTH:
		return e->count == r->th_count;
	default:
		return e->count > r->th_count;
	}
}

uint64_t
pk_rule_thresh_entries(const struct pk_rule_thresh *t)
{
	return t->n;
}

uint64_t
pk_rule_thresh_evicted(const struct pk_rule_thresh *t)
{
	return t->evicted;
}
