/*
 * decode.c - frame decoding from the link layer to TCP/UDP/ICMP (contract in
 * decode.h).  Called by the capture collectors and the fuzz target; uses
 * reasm.c for IP fragments.  Portable: standard C only.
 *
 * Every layer works on a "span": the bytes captured (cap) and the bytes the
 * enclosing header says exist (wire), cap <= wire.  A header that needs
 * bytes beyond wire is malformed and gets its layer's own counter; one that
 * needs bytes between cap and wire was cut by the capture (snaplen) and
 * counts PK_DE_TRUNCATED.  Nothing here allocates: the only memory is the
 * reassembler's.
 *
 * Two anomalies are counted without dropping the packet, because the end
 * host would still accept it and a detector that skipped it could be blinded
 * on purpose: a malformed TCP option list (counted PK_DE_TCP_HLEN; stacks
 * stop parsing options and process the segment) and an overlapping fragment
 * (PK_DE_FRAG_OVERLAP, see reasm.h).  Malformed IPv4 options do drop the
 * packet: hosts discard those too.
 *
 * Counters that are not malformations (pk_decode_err_is_malformed() == 0,
 * left out of pk_decoder_errors()): ETHERTYPE and PROTO_UNKNOWN (traffic we
 * do not decode), FRAG_TIMEOUT (a lost fragment is normal network loss) and
 * FRAG_NOMEM (a drop caused by our own memory bound, which says nothing
 * about the packet; it has its own counter so operators still see it).
 * TRUNCATED is counted as an error: the frame could not be decoded.
 */
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/decode.h"
#include "collectors/pcap/reasm.h"
#include "common/util.h"

#define VLAN_MAX	4	/* 802.1Q/802.1ad tags followed (QinQ + 2) */
#define IP6_EXT_MAX	8	/* IPv6 extension headers walked */

#define ETH_IPV4	0x0800
#define ETH_IPV6	0x86dd
#define ETH_8021Q	0x8100
#define ETH_8021AD	0x88a8
#define ETH_QINQ_OLD	0x9100

/* Defaults for zero fields of pk_decode_cfg. */
#define DEF_FRAG_MEM		(4u * 1024 * 1024)
#define DEF_FRAG_TIMEOUT_S	30	/* Linux ipfrag_time */
#define DEF_FRAG_DGRAMS		1024

struct pk_decoder {
	struct pk_decode_cfg	 cfg;
	struct pk_decode_stats	 st;
	struct pk_reasm		*ra;
	uint64_t		 now_us;	/* time of the current frame */
};

struct span {
	const uint8_t	*p;
	uint32_t	 cap;
	uint32_t	 wire;
};

static const char *const err_names[PK_DE__COUNT] = {
	[PK_DE_LINK_SHORT] = "link_short",
	[PK_DE_LINK_UNKNOWN] = "link_unknown",
	[PK_DE_ETHERTYPE] = "ethertype",
	[PK_DE_VLAN_DEPTH] = "vlan_depth",
	[PK_DE_IP_SHORT] = "ip_short",
	[PK_DE_IP_VERSION] = "ip_version",
	[PK_DE_IP_HLEN] = "ip_hlen",
	[PK_DE_IP_LEN] = "ip_len",
	[PK_DE_IP_OPTS] = "ip_opts",
	[PK_DE_IP6_EXT] = "ip6_ext",
	[PK_DE_FRAG_BAD] = "frag_bad",
	[PK_DE_FRAG_OVERLAP] = "frag_overlap",
	[PK_DE_FRAG_TOOBIG] = "frag_toobig",
	[PK_DE_FRAG_TIMEOUT] = "frag_timeout",
	[PK_DE_FRAG_NOMEM] = "frag_nomem",
	[PK_DE_TCP_SHORT] = "tcp_short",
	[PK_DE_TCP_HLEN] = "tcp_hlen",
	[PK_DE_UDP_SHORT] = "udp_short",
	[PK_DE_UDP_LEN] = "udp_len",
	[PK_DE_ICMP_SHORT] = "icmp_short",
	[PK_DE_PROTO_UNKNOWN] = "proto_unknown",
	[PK_DE_TRUNCATED] = "truncated",
};

static int decode_ipv4(struct pk_decoder *, struct span, int,
    struct pk_packet *);
static int decode_ipv6(struct pk_decoder *, struct span, int,
    struct pk_packet *);

const char *
pk_decode_err_name(int e)
{
	if (e < 0 || e >= PK_DE__COUNT || err_names[e] == NULL)
		return "unknown";
	return err_names[e];
}

int
pk_decode_err_is_malformed(int e)
{
	switch (e) {
	case PK_DE_ETHERTYPE:
	case PK_DE_PROTO_UNKNOWN:
	case PK_DE_FRAG_TIMEOUT:
	case PK_DE_FRAG_NOMEM:
		return 0;
	default:
		return e >= 0 && e < PK_DE__COUNT;
	}
}

struct pk_decoder *
pk_decoder_new(const struct pk_decode_cfg *cfg)
{
	struct pk_decoder *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if (cfg != NULL)
		d->cfg = *cfg;
	if (d->cfg.frag_mem_max == 0)
		d->cfg.frag_mem_max = DEF_FRAG_MEM;
	if (d->cfg.frag_timeout_s == 0)
		d->cfg.frag_timeout_s = DEF_FRAG_TIMEOUT_S;
	if (d->cfg.frag_max_datagrams == 0)
		d->cfg.frag_max_datagrams = DEF_FRAG_DGRAMS;
	if ((d->ra = pk_reasm_new(&d->cfg, d->st.err)) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void
pk_decoder_free(struct pk_decoder *d)
{
	if (d == NULL)
		return;
	pk_reasm_free(d->ra);
	free(d);
}

const struct pk_decode_stats *
pk_decoder_stats(const struct pk_decoder *d)
{
	return &d->st;
}

uint64_t
pk_decoder_errors(const struct pk_decoder *d)
{
	uint64_t n = 0;
	int e;

	for (e = 0; e < PK_DE__COUNT; e++)
		if (pk_decode_err_is_malformed(e))
			n += d->st.err[e];
	return n;
}

void
pk_decoder_expire(struct pk_decoder *d, uint64_t now_us)
{
	pk_reasm_expire(d->ra, now_us);
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int
bad(struct pk_decoder *d, int e)
{
	d->st.err[e]++;
	return -1;
}

/* Are n bytes of s available?  0, or -1 with the right counter. */
static int
need(struct pk_decoder *d, const struct span *s, uint32_t n, int short_err)
{
	if (n <= s->cap)
		return 0;
	return bad(d, n <= s->wire ? PK_DE_TRUNCATED : short_err);
}

static struct span
advance(struct span s, uint32_t n)
{
	s.p += n;
	s.cap -= n;
	s.wire -= n;
	return s;
}

/* ---- transport ---- */

/* Length sanity of the option list; 0 ok, -1 malformed. */
static int
tcp_options_ok(const uint8_t *o, uint32_t len)
{
	uint32_t i = 0;

	while (i < len) {
		if (o[i] == 0)			/* end of list */
			break;
		if (o[i] == 1) {		/* NOP */
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || o[i + 1] > len - i)
			return -1;
		i += o[i + 1];
	}
	return 0;
}

static int
decode_tcp(struct pk_decoder *d, struct span t, struct pk_packet *out)
{
	const uint8_t *p = t.p;
	uint32_t hl;

	if (need(d, &t, 20, PK_DE_TCP_SHORT) == -1)
		return -1;
	hl = (uint32_t)(p[12] >> 4) * 4;
	if (hl < 20 || hl > t.wire)
		return bad(d, PK_DE_TCP_HLEN);
	if (need(d, &t, hl, PK_DE_TCP_HLEN) == -1)
		return -1;
	out->sport = be16(p);
	out->dport = be16(p + 2);
	out->tcp_seq = be32(p + 4);
	out->tcp_ack = be32(p + 8);
	out->tcp_flags = p[13];
	out->tcp_win = be16(p + 14);
	if (tcp_options_ok(p + 20, hl - 20) == -1)
		d->st.err[PK_DE_TCP_HLEN]++;	/* counted, still decoded */
	out->payload = p + hl;
	out->payload_len = t.cap - hl;
	return 1;
}

static int
decode_udp(struct pk_decoder *d, struct span t, struct pk_packet *out)
{
	const uint8_t *p = t.p;
	uint32_t ulen;

	if (need(d, &t, 8, PK_DE_UDP_SHORT) == -1)
		return -1;
	ulen = be16(p + 4);
	if (ulen < 8 || ulen > t.wire)
		return bad(d, PK_DE_UDP_LEN);
	out->sport = be16(p);
	out->dport = be16(p + 2);
	out->payload = p + 8;
	out->payload_len = PK_MIN(ulen, t.cap) - 8;
	return 1;
}

static int
ip6_is_ext(uint8_t nh)
{
	/* hop-by-hop, routing, fragment, AH, destination options */
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60;
}

/* Length of extension header nh at h (2 bytes readable). */
static uint32_t
ip6_ext_len(uint8_t nh, const uint8_t *h)
{
	if (nh == 44)
		return 8;
	if (nh == 51)
		return ((uint32_t)h[1] + 2) * 4;
	return ((uint32_t)h[1] + 1) * 8;
}

static void
inner_ports(const uint8_t *q, uint32_t n, uint32_t off, struct pk_packet *out)
{
	if ((out->inner_proto == PK_PROTO_TCP ||
	    out->inner_proto == PK_PROTO_UDP) && n >= off + 4) {
		out->inner_sport = be16(q + off);
		out->inner_dport = be16(q + off + 2);
	}
}

/*
 * The IPv4 header quoted by an ICMP error.  The quote is usually cut short
 * (header + 8 bytes), so its total length is not checked; a quote we cannot
 * read leaves PK_PF_ICMP_ERR unset but does not fail the outer packet.
 */
static void
quoted_ipv4(const uint8_t *q, uint32_t n, struct pk_packet *out)
{
	uint32_t hl;

	if (n < 20 || q[0] >> 4 != 4)
		return;
	hl = (uint32_t)(q[0] & 0x0f) * 4;
	if (hl < 20 || hl > n)
		return;
	out->flags |= PK_PF_ICMP_ERR;
	out->inner_proto = q[9];
	pk_addr_v4(&out->inner_src, q + 12);
	pk_addr_v4(&out->inner_dst, q + 16);
	if ((be16(q + 6) & 0x1fff) == 0)	/* ports only in 1st fragment */
		inner_ports(q, n, hl, out);
}

static void
quoted_ipv6(const uint8_t *q, uint32_t n, struct pk_packet *out)
{
	uint32_t off = 40, i, elen;
	uint8_t nh;

	if (n < 40 || q[0] >> 4 != 6)
		return;
	out->flags |= PK_PF_ICMP_ERR;
	pk_addr_v6(&out->inner_src, q + 8);
	pk_addr_v6(&out->inner_dst, q + 24);
	nh = q[6];
	for (i = 0; i < IP6_EXT_MAX && ip6_is_ext(nh) && off + 8 <= n; i++) {
		if (nh == 44 && (be16(q + off + 2) & 0xfff8) != 0) {
			out->inner_proto = q[off];	/* no ports here */
			return;
		}
		elen = ip6_ext_len(nh, q + off);
		nh = q[off];
		off += elen;
	}
	out->inner_proto = nh;
	inner_ports(q, n, off, out);
}

static int
icmp_is_error(int v6, uint8_t type)
{
	if (v6)
		return type >= 1 && type <= 4;	/* unreach, too big, time, param */
	return type == 3 || type == 4 || type == 11 || type == 12;
}

static int
decode_icmp(struct pk_decoder *d, struct span t, struct pk_packet *out)
{
	const uint8_t *p = t.p;

	if (need(d, &t, 8, PK_DE_ICMP_SHORT) == -1)
		return -1;
	out->icmp_type = p[0];
	out->icmp_code = p[1];
	out->payload = p + 8;
	out->payload_len = t.cap - 8;
	if (icmp_is_error(out->ipver == 6, p[0])) {
		if (out->ipver == 4)
			quoted_ipv4(p + 8, t.cap - 8, out);
		else
			quoted_ipv6(p + 8, t.cap - 8, out);
	}
	return 1;
}

static int
decode_l4(struct pk_decoder *d, struct span t, struct pk_packet *out)
{
	out->payload = t.p;
	out->payload_len = t.cap;
	switch (out->proto) {
	case PK_PROTO_TCP:
		return decode_tcp(d, t, out);
	case PK_PROTO_UDP:
		return decode_udp(d, t, out);
	case PK_PROTO_ICMP:
		if (out->ipver == 4)
			return decode_icmp(d, t, out);
		break;
	case PK_PROTO_ICMPV6:
		if (out->ipver == 6)
			return decode_icmp(d, t, out);
		break;
	}
	d->st.err[PK_DE_PROTO_UNKNOWN]++;	/* counted, still returned */
	return 1;
}

/* ---- IP ---- */

/* Walk IPv4 options (bytes 20..hl of the header); 0 ok, -1 malformed. */
static int
ipv4_options_ok(const uint8_t *h, uint32_t hl)
{
	uint32_t i = 20, len;
	uint8_t type;

	while (i < hl) {
		type = h[i];
		if (type == 0)			/* end of options */
			break;
		if (type == 1) {		/* NOP */
			i++;
			continue;
		}
		if (i + 1 >= hl)
			return -1;
		len = h[i + 1];
		if (len < 2 || len > hl - i)
			return -1;
		/* Record route, LSRR, SSRR: pointer >= 4; timestamp >= 5. */
		if ((type == 7 || type == 131 || type == 137) &&
		    (len < 3 || h[i + 2] < 4))
			return -1;
		if (type == 68 && (len < 4 || h[i + 2] < 5))
			return -1;
		i += len;
	}
	return 0;
}

/* Hand a fragment to the reassembler; decode the datagram if complete. */
static int
fragment(struct pk_decoder *d, const struct pk_frag *f, struct pk_packet *out)
{
	const uint8_t *dg;
	uint32_t dglen;
	struct span s;
	int rc;

	rc = pk_reasm_add(d->ra, f, d->now_us, &dg, &dglen);
	if (rc == -1)
		return -1;
	d->st.fragments++;
	if (rc == 0)
		return 0;
	d->st.reassembled++;
	out->flags = (out->flags & ~(uint32_t)PK_PF_IPOPTS) |
	    PK_PF_REASSEMBLED;
	s.p = dg;
	s.cap = s.wire = dglen;
	if (f->ipver == 4)
		return decode_ipv4(d, s, 1, out);
	return decode_ipv6(d, s, 1, out);
}

static int
decode_ipv4(struct pk_decoder *d, struct span s, int reasm,
    struct pk_packet *out)
{
	const uint8_t *p = s.p;
	uint32_t hl, tot, fo;
	struct pk_frag f;

	if (need(d, &s, 20, PK_DE_IP_SHORT) == -1)
		return -1;
	if (p[0] >> 4 != 4)
		return bad(d, PK_DE_IP_VERSION);
	hl = (uint32_t)(p[0] & 0x0f) * 4;
	if (hl < 20 || hl > s.wire)
		return bad(d, PK_DE_IP_HLEN);
	tot = be16(p + 2);
	if (tot < hl || tot > s.wire)
		return bad(d, PK_DE_IP_LEN);
	if (need(d, &s, hl, PK_DE_IP_HLEN) == -1)
		return -1;
	if (hl > 20) {
		if (ipv4_options_ok(p, hl) == -1)
			return bad(d, PK_DE_IP_OPTS);
		out->flags |= PK_PF_IPOPTS;
	}
	/* Trim link padding (Ethernet minimum frame) to the IP length. */
	s.wire = tot;
	s.cap = PK_MIN(s.cap, tot);
	out->ipver = 4;
	out->proto = p[9];
	out->ttl = p[8];
	out->ip_len = (uint16_t)tot;
	pk_addr_v4(&out->src, p + 12);
	pk_addr_v4(&out->dst, p + 16);

	fo = be16(p + 6);
	if ((fo & 0x3fff) != 0) {		/* MF or offset */
		if (reasm)			/* cannot happen: we clear it */
			return bad(d, PK_DE_FRAG_BAD);
		if (s.cap < tot)		/* cannot hold a cut fragment */
			return bad(d, PK_DE_TRUNCATED);
		memset(&f, 0, sizeof(f));
		f.ipver = 4;
		f.proto = p[9];
		f.id = be16(p + 4);
		f.src = p + 12;
		f.dst = p + 16;
		f.hdr = p;
		f.hdrlen = hl;
		f.max_end = 65535 - hl;
		f.off = (fo & 0x1fff) * 8;
		f.more = (fo & 0x2000) != 0;
		f.data = p + hl;
		f.len = tot - hl;
		return fragment(d, &f, out);
	}
	return decode_l4(d, advance(s, hl), out);
}

static int
ipv6_fragment(struct pk_decoder *d, struct span s, uint32_t off,
    struct pk_packet *out)
{
	const uint8_t *p = s.p;
	uint8_t hdr[40];
	struct pk_frag f;

	if (s.cap < s.wire)
		return bad(d, PK_DE_TRUNCATED);
	memcpy(hdr, p, 40);
	hdr[6] = p[off];	/* the fragment header's Next Header */
	memset(&f, 0, sizeof(f));
	f.ipver = 6;
	f.proto = 0;		/* not part of the IPv6 key: see reasm.h */
	f.id = be32(p + off + 4);
	f.src = p + 8;
	f.dst = p + 24;
	f.hdr = hdr;
	f.hdrlen = 40;
	/* Unfragmentable extension headers count toward the 65535 limit. */
	f.max_end = 65535 - (off - 40);
	f.off = be16(p + off + 2) & 0xfff8;
	f.more = p[off + 3] & 1;
	f.data = p + off + 8;
	f.len = s.wire - (off + 8);
	return fragment(d, &f, out);
}

static int
decode_ipv6(struct pk_decoder *d, struct span s, int reasm,
    struct pk_packet *out)
{
	const uint8_t *p = s.p;
	uint32_t tot, off = 40, elen, n;
	uint8_t nh;

	if (need(d, &s, 40, PK_DE_IP_SHORT) == -1)
		return -1;
	if (p[0] >> 4 != 6)
		return bad(d, PK_DE_IP_VERSION);
	tot = 40 + (uint32_t)be16(p + 4);
	if (tot > s.wire)
		return bad(d, PK_DE_IP_LEN);
	s.wire = tot;
	s.cap = PK_MIN(s.cap, tot);
	out->ipver = 6;
	out->ttl = p[7];
	out->ip_len = (uint16_t)PK_MIN(tot, 65535u);	/* field is 16 bits */
	pk_addr_v6(&out->src, p + 8);
	pk_addr_v6(&out->dst, p + 24);

	/*
	 * Walk the extension headers.  ESP (50), no next header (59) and
	 * anything unknown end the walk and are the upper layer.
	 */
	nh = p[6];
	for (n = 0; ip6_is_ext(nh); n++) {
		/* Hop-by-hop must come first (RFC 8200 4.1). */
		if (n >= IP6_EXT_MAX || (nh == 0 && off != 40))
			return bad(d, PK_DE_IP6_EXT);
		if (need(d, &s, off + 2, PK_DE_IP6_EXT) == -1)
			return -1;
		elen = ip6_ext_len(nh, p + off);
		if (need(d, &s, off + elen, PK_DE_IP6_EXT) == -1)
			return -1;
		if (nh == 44 && (be16(p + off + 2) & 0xfff9) != 0) {
			if (reasm)	/* fragment inside a fragment */
				return bad(d, PK_DE_FRAG_BAD);
			return ipv6_fragment(d, s, off, out);
		}
		/* (An atomic fragment, offset 0 without M, is walked over.) */
		nh = p[off];
		off += elen;
	}
	out->proto = nh;
	return decode_l4(d, advance(s, off), out);
}

/* ---- link ---- */

static int
decode_ethertype(struct pk_decoder *d, uint16_t type, struct span s,
    struct pk_packet *out)
{
	int tags = 0;

	while (type == ETH_8021Q || type == ETH_8021AD ||
	    type == ETH_QINQ_OLD) {
		if (++tags > VLAN_MAX)
			return bad(d, PK_DE_VLAN_DEPTH);
		if (need(d, &s, 4, PK_DE_LINK_SHORT) == -1)
			return -1;
		out->flags |= PK_PF_VLAN;
		type = be16(s.p + 2);
		s = advance(s, 4);
	}
	if (type == ETH_IPV4)
		return decode_ipv4(d, s, 0, out);
	if (type == ETH_IPV6)
		return decode_ipv6(d, s, 0, out);
	d->st.err[PK_DE_ETHERTYPE]++;
	return 0;
}

/* BSD loopback address family: 2 is AF_INET, 24/28/30 are AF_INET6. */
static int
decode_af(struct pk_decoder *d, uint32_t af, struct span s,
    struct pk_packet *out)
{
	if (af == 2)
		return decode_ipv4(d, s, 0, out);
	if (af == 24 || af == 28 || af == 30)
		return decode_ipv6(d, s, 0, out);
	d->st.err[PK_DE_ETHERTYPE]++;
	return 0;
}

static int
decode_raw(struct pk_decoder *d, struct span s, struct pk_packet *out)
{
	if (need(d, &s, 1, PK_DE_IP_SHORT) == -1)
		return -1;
	if (s.p[0] >> 4 == 4)
		return decode_ipv4(d, s, 0, out);
	if (s.p[0] >> 4 == 6)
		return decode_ipv6(d, s, 0, out);
	return bad(d, PK_DE_IP_VERSION);
}

static int
decode_link(struct pk_decoder *d, int linktype, struct span s,
    struct pk_packet *out)
{
	const uint8_t *p = s.p;
	uint32_t le, be;

	switch (linktype) {
	case PK_LINK_ETHERNET:
		if (need(d, &s, 14, PK_DE_LINK_SHORT) == -1)
			return -1;
		return decode_ethertype(d, be16(p + 12), advance(s, 14), out);
	case PK_LINK_LINUX_SLL:
		if (need(d, &s, 16, PK_DE_LINK_SHORT) == -1)
			return -1;
		return decode_ethertype(d, be16(p + 14), advance(s, 16), out);
	case PK_LINK_LINUX_SLL2:
		if (need(d, &s, 20, PK_DE_LINK_SHORT) == -1)
			return -1;
		return decode_ethertype(d, be16(p), advance(s, 20), out);
	case PK_LINK_NULL:
	case PK_LINK_LOOP:
		if (need(d, &s, 4, PK_DE_LINK_SHORT) == -1)
			return -1;
		/*
		 * NULL is in the capturing machine's byte order, LOOP in
		 * network order, but writers get LOOP wrong too (tcpdump
		 * reads both): an address family is small, so whichever
		 * order gives a value under 65536 is the right one.
		 */
		le = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
		    (uint32_t)p[1] << 8 | p[0];
		be = be32(p);
		return decode_af(d, (le >> 16) == 0 ? le : be, advance(s, 4),
		    out);
	case PK_LINK_RAW:
	case PK_LINK_RAW_DLT:
	case PK_LINK_RAW_DLT14:
		return decode_raw(d, s, out);
	case PK_LINK_IPV4:
		return decode_ipv4(d, s, 0, out);
	case PK_LINK_IPV6:
		return decode_ipv6(d, s, 0, out);
	default:
		return bad(d, PK_DE_LINK_UNKNOWN);
	}
}

int
pk_decode(struct pk_decoder *d, int linktype, const uint8_t *frame,
    uint32_t caplen, uint32_t wirelen, uint64_t ts_us, struct pk_packet *out)
{
	struct span s;
	int rc;

	/* The last reassembled datagram was valid until this call. */
	pk_reasm_release(d->ra);
	memset(out, 0, sizeof(*out));
	out->ts_us = ts_us;
	out->caplen = caplen;
	out->wirelen = wirelen;
	d->now_us = ts_us;
	d->st.packets++;
	d->st.bytes += wirelen;
	if (frame == NULL)
		caplen = 0;
	s.p = frame;
	s.cap = caplen;
	s.wire = PK_MAX(caplen, wirelen);	/* never trust wire < cap */
	rc = decode_link(d, linktype, s, out);
	if (rc == 1)
		d->st.decoded++;
	return rc;
}

int
pk_linktype_supported(int lt)
{
	switch (lt) {
	case PK_LINK_NULL:
	case PK_LINK_ETHERNET:
	case PK_LINK_RAW:
	case PK_LINK_RAW_DLT:
	case PK_LINK_RAW_DLT14:
	case PK_LINK_LOOP:
	case PK_LINK_LINUX_SLL:
	case PK_LINK_IPV4:
	case PK_LINK_IPV6:
	case PK_LINK_LINUX_SLL2:
		return 1;
	}
	return 0;
}
