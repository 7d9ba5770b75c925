/*
 * test_decode.c - unit tests for the packet decoder and IP reassembler
 * (collectors/pcap/decode.c, reasm.c): hand-built frames for every link
 * type, VLAN/QinQ, IPv4 options, IPv6 extension headers, TCP/UDP/ICMP/
 * ICMPv6 and ICMP errors; every valid frame cut at every length; fragments
 * in order, reversed, duplicated, overlapping, timed out, over the memory
 * bound, and the ping of death; then facts about the real captures in
 * PICKET_PCAPS (default ../shared/data/pcaps), read by a small classic-pcap
 * reader so this test needs no libpcap and runs under wine too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/decode.h"
#include "collectors/pcap/reasm.h"
#include "common/util.h"

static const uint8_t A4[4] = { 192, 0, 2, 1 };
static const uint8_t B4[4] = { 198, 51, 100, 7 };
static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t B6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 2 };

#define SEC	1000000ULL

/* ---- frame builder ---- */

struct fb {
	uint8_t		b[2048];
	uint32_t	n;
};

static void
put8(struct fb *f, unsigned v)
{
	assert_true(f->n < sizeof(f->b));
	f->b[f->n++] = (uint8_t)v;
}

static void
put16(struct fb *f, unsigned v)
{
	put8(f, v >> 8);
	put8(f, v);
}

static void
put32(struct fb *f, uint32_t v)
{
	put16(f, v >> 16);
	put16(f, v & 0xffff);
}

static void
putn(struct fb *f, const void *p, uint32_t n)
{
	assert_true(f->n + n <= sizeof(f->b));
	if (n > 0)
		memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void
set16(struct fb *f, uint32_t off, unsigned v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

static void
eth(struct fb *f, unsigned type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

	putn(f, macs, 12);
	put16(f, type);
}

/* IPv4 header; returns its offset, finish with ip4_end(). */
static uint32_t
ip4_begin(struct fb *f, unsigned proto, uint16_t id, unsigned frag,
    const uint8_t *opts, uint32_t optlen)
{
	uint32_t off = f->n;

	assert_int_equal(optlen % 4, 0);
	put8(f, 0x40 | (5 + optlen / 4));
	put8(f, 0);
	put16(f, 0);			/* total length, set later */
	put16(f, id);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	putn(f, A4, 4);
	putn(f, B4, 4);
	putn(f, opts, optlen);
	return off;
}

static void
ip4_end(struct fb *f, uint32_t off)
{
	set16(f, off + 2, f->n - off);
}

static uint32_t
ip6_begin(struct fb *f, unsigned nh)
{
	uint32_t off = f->n;

	put32(f, 0x60000000);
	put16(f, 0);			/* payload length, set later */
	put8(f, nh);
	put8(f, 55);
	putn(f, A6, 16);
	putn(f, B6, 16);
	return off;
}

static void
ip6_end(struct fb *f, uint32_t off)
{
	set16(f, off + 4, f->n - off - 40);
}

/* Extension header of 8 bytes (options/routing style, len field 0). */
static void
ext8(struct fb *f, unsigned nh)
{
	put8(f, nh);
	put8(f, 0);
	put8(f, 1);			/* PadN, 4 bytes */
	put8(f, 4);
	put32(f, 0);
}

static void
tcp(struct fb *f, unsigned sport, unsigned dport, unsigned flags,
    const uint8_t *opts, uint32_t optlen, const char *payload)
{
	put16(f, sport);
	put16(f, dport);
	put32(f, 0x11223344);
	put32(f, 0x55667788);
	put8(f, (5 + optlen / 4) << 4);
	put8(f, flags);
	put16(f, 4096);
	put16(f, 0);
	put16(f, 0);
	putn(f, opts, optlen);
	putn(f, payload, (uint32_t)strlen(payload));
}

static void
udp(struct fb *f, unsigned sport, unsigned dport, const char *payload)
{
	uint32_t n = (uint32_t)strlen(payload);

	put16(f, sport);
	put16(f, dport);
	put16(f, 8 + n);
	put16(f, 0);
	putn(f, payload, n);
}

static struct pk_decoder *
dec(void)
{
	struct pk_decode_cfg cfg = { 1u << 20, 30, 64 };
	struct pk_decoder *d = pk_decoder_new(&cfg);

	assert_non_null(d);
	return d;
}

static uint64_t
errc(struct pk_decoder *d, int e)
{
	return pk_decoder_stats(d)->err[e];
}

static int
run(struct pk_decoder *d, int lt, const struct fb *f, struct pk_packet *p)
{
	return pk_decode(d, lt, f->b, f->n, f->n, 1 * SEC, p);
}

static void
assert_v4_pair(const struct pk_packet *p)
{
	assert_int_equal(p->src.family, 4);
	assert_memory_equal(p->src.a, A4, 4);
	assert_int_equal(p->dst.family, 4);
	assert_memory_equal(p->dst.a, B4, 4);
}

/* Standard frames, also used by the truncation sweep. */
static const uint8_t MSS[4] = { 2, 4, 0x05, 0xb4 };

static uint32_t
frame_eth_tcp(struct fb *f)
{
	uint32_t ip;

	memset(f, 0, sizeof(*f));
	eth(f, 0x0800);
	ip = ip4_begin(f, 6, 7, 0x4000, NULL, 0);
	tcp(f, 40000, 80, PK_TH_SYN | PK_TH_ACK, MSS, 4, "hello");
	ip4_end(f, ip);
	return 14 + 20 + 24;
}

static uint32_t
frame_vlan_ip6_udp(struct fb *f)
{
	uint32_t ip;

	memset(f, 0, sizeof(*f));
	eth(f, 0x88a8);
	put16(f, 100);
	put16(f, 0x8100);
	put16(f, 200);
	put16(f, 0x86dd);
	ip = ip6_begin(f, 0);		/* hop-by-hop, dest opts, UDP */
	ext8(f, 60);
	ext8(f, 17);
	udp(f, 5353, 53, "query");
	ip6_end(f, ip);
	return 22 + 40 + 16 + 8;
}

/* ICMP port unreachable quoting a UDP datagram (header + 8 bytes). */
static uint32_t
frame_icmp_unreach(struct fb *f)
{
	uint32_t ip, inner;

	memset(f, 0, sizeof(*f));
	eth(f, 0x0800);
	ip = ip4_begin(f, 1, 9, 0, NULL, 0);
	put8(f, 3);
	put8(f, 3);
	put16(f, 0);
	put32(f, 0);
	inner = ip4_begin(f, 17, 1234, 0, NULL, 0);
	/* The quoted packet went the other way: B4 -> A4. */
	memcpy(f->b + inner + 12, B4, 4);
	memcpy(f->b + inner + 16, A4, 4);
	udp(f, 33000, 161, "");
	set16(f, inner + 2, 60);	/* original length, longer than quote */
	ip4_end(f, ip);
	return 14 + 20 + 8;
}

static uint32_t
frame_icmp6_unreach(struct fb *f)
{
	uint32_t ip, inner;

	memset(f, 0, sizeof(*f));
	put16(f, 0);			/* SLL2: protocol */
	f->b[0] = 0x86;
	f->b[1] = 0xdd;
	put16(f, 0);
	put32(f, 3);
	put16(f, 1);
	put8(f, 0);
	put8(f, 6);
	put32(f, 0x02000000);
	put32(f, 0);
	ip = ip6_begin(f, 58);
	put8(f, 1);			/* destination unreachable */
	put8(f, 4);			/* port unreachable */
	put16(f, 0);
	put32(f, 0);
	inner = ip6_begin(f, 60);
	memcpy(f->b + inner + 8, B6, 16);
	memcpy(f->b + inner + 24, A6, 16);
	ext8(f, 17);
	udp(f, 40001, 514, "x");
	ip6_end(f, inner);
	ip6_end(f, ip);
	return 20 + 40 + 8;
}

/* ---- link layers ---- */

static void
test_eth_tcp(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;

	(void)state;
	frame_eth_tcp(&f);
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), 1);
	assert_int_equal(p.ipver, 4);
	assert_int_equal(p.proto, PK_PROTO_TCP);
	assert_int_equal(p.ttl, 64);
	assert_v4_pair(&p);
	assert_int_equal(p.ip_len, 20 + 24 + 5);
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 80);
	assert_int_equal(p.tcp_flags, PK_TH_SYN | PK_TH_ACK);
	assert_int_equal(p.tcp_seq, 0x11223344);
	assert_int_equal(p.tcp_ack, 0x55667788);
	assert_int_equal(p.tcp_win, 4096);
	assert_int_equal(p.flags, 0);
	assert_int_equal(p.payload_len, 5);
	assert_memory_equal(p.payload, "hello", 5);
	assert_ptr_equal(p.payload, f.b + 14 + 44);
	assert_int_equal(p.wirelen, f.n);
	assert_int_equal(p.ts_us, 1 * SEC);
	assert_int_equal(pk_decoder_stats(d)->decoded, 1);
	assert_int_equal(pk_decoder_errors(d), 0);
	pk_decoder_free(d);
}

/* Ethernet pads short frames to 60 bytes: the IP length must win. */
static void
test_eth_padding(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;
	uint32_t ip;

	(void)state;
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ip = ip4_begin(&f, 6, 1, 0, NULL, 0);
	tcp(&f, 1, 2, PK_TH_RST, NULL, 0, "");
	ip4_end(&f, ip);
	assert_int_equal(f.n, 54);
	while (f.n < 60)
		put8(&f, 0xee);
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), 1);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.ip_len, 40);

	/* UDP: padding after the datagram is not payload either. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ip = ip4_begin(&f, 17, 1, 0, NULL, 0);
	udp(&f, 1, 2, "ab");
	ip4_end(&f, ip);
	while (f.n < 60)
		put8(&f, 0xee);
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), 1);
	assert_int_equal(p.payload_len, 2);
	assert_memory_equal(p.payload, "ab", 2);
	pk_decoder_free(d);
}

static void
test_vlan_qinq(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;
	uint32_t ip;
	int i;

	(void)state;
	/* One 802.1Q tag. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x8100);
	put16(&f, 42);
	put16(&f, 0x0800);
	ip = ip4_begin(&f, 17, 1, 0, NULL, 0);
	udp(&f, 68, 67, "dhcp");
	ip4_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), 1);
	assert_true(p.flags & PK_PF_VLAN);
	assert_int_equal(p.dport, 67);
	assert_memory_equal(p.payload, "dhcp", 4);

	/* 802.1ad + 802.1Q (QinQ) carrying IPv6 with extension headers. */
	frame_vlan_ip6_udp(&f);
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), 1);
	assert_true(p.flags & PK_PF_VLAN);
	assert_int_equal(p.ipver, 6);
	assert_int_equal(p.proto, PK_PROTO_UDP);
	assert_int_equal(p.sport, 5353);
	assert_int_equal(p.ttl, 55);
	assert_memory_equal(p.src.a, A6, 16);
	assert_memory_equal(p.dst.a, B6, 16);
	assert_memory_equal(p.payload, "query", 5);

	/* Four tags are followed, five are not. */
	for (i = 4; i <= 5; i++) {
		int j;

		memset(&f, 0, sizeof(f));
		eth(&f, 0x8100);
		for (j = 0; j < i; j++) {
			put16(&f, j + 1);
			put16(&f, j + 1 < i ? 0x8100 : 0x0800);
		}
		ip = ip4_begin(&f, 17, 1, 0, NULL, 0);
		udp(&f, 1, 2, "");
		ip4_end(&f, ip);
		assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p),
		    i == 4 ? 1 : -1);
	}
	assert_int_equal(errc(d, PK_DE_VLAN_DEPTH), 1);
	pk_decoder_free(d);
}

static void
test_sll(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;
	uint32_t ip;

	(void)state;
	/* SLL: packet type, ARPHRD, addr len, addr[8], protocol. */
	memset(&f, 0, sizeof(f));
	put16(&f, 0);
	put16(&f, 1);
	put16(&f, 6);
	put32(&f, 0x02000000);
	put32(&f, 0x00010000);
	put16(&f, 0x0800);
	ip = ip4_begin(&f, 17, 1, 0, NULL, 0);
	udp(&f, 1000, 2000, "sll");
	ip4_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_LINUX_SLL, &f, &p), 1);
	assert_int_equal(p.sport, 1000);
	assert_memory_equal(p.payload, "sll", 3);
	/* The same bytes as SLL2 put "0x0000" in the protocol: not IP. */
	assert_int_equal(run(d, PK_LINK_LINUX_SLL2, &f, &p), 0);
	assert_int_equal(errc(d, PK_DE_ETHERTYPE), 1);

	/* SLL2 (ICMPv6 error frame). */
	frame_icmp6_unreach(&f);
	assert_int_equal(run(d, PK_LINK_LINUX_SLL2, &f, &p), 1);
	assert_int_equal(p.proto, PK_PROTO_ICMPV6);
	/* Too short for the SLL header. */
	f.n = 15;
	assert_int_equal(run(d, PK_LINK_LINUX_SLL, &f, &p), -1);
	assert_int_equal(errc(d, PK_DE_LINK_SHORT), 1);
	pk_decoder_free(d);
}

static void
test_raw_links(void **state)
{
	static const int v4[] = { PK_LINK_RAW, PK_LINK_RAW_DLT,
		PK_LINK_RAW_DLT14, PK_LINK_IPV4 };
	static const int v6[] = { PK_LINK_RAW, PK_LINK_RAW_DLT,
		PK_LINK_RAW_DLT14, PK_LINK_IPV6 };
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f4, f6;
	uint32_t ip;
	size_t i;

	(void)state;
	memset(&f4, 0, sizeof(f4));
	ip = ip4_begin(&f4, 6, 1, 0, NULL, 0);
	tcp(&f4, 1, 22, PK_TH_SYN, NULL, 0, "");
	ip4_end(&f4, ip);
	memset(&f6, 0, sizeof(f6));
	ip = ip6_begin(&f6, 6);
	tcp(&f6, 2, 23, PK_TH_SYN, NULL, 0, "");
	ip6_end(&f6, ip);
	for (i = 0; i < PK_NELEM(v4); i++) {
		assert_int_equal(run(d, v4[i], &f4, &p), 1);
		assert_int_equal(p.ipver, 4);
		assert_int_equal(p.dport, 22);
		assert_int_equal(run(d, v6[i], &f6, &p), 1);
		assert_int_equal(p.ipver, 6);
		assert_int_equal(p.dport, 23);
	}
	/* The link type promises a version; the header disagrees. */
	assert_int_equal(run(d, PK_LINK_IPV4, &f6, &p), -1);
	assert_int_equal(run(d, PK_LINK_IPV6, &f4, &p), -1);
	f4.b[0] = 0x55;
	assert_int_equal(run(d, PK_LINK_RAW, &f4, &p), -1);
	assert_int_equal(errc(d, PK_DE_IP_VERSION), 3);
	assert_int_equal(pk_decode(d, 9999, f4.b, f4.n, f4.n, 0, &p), -1);
	assert_int_equal(errc(d, PK_DE_LINK_UNKNOWN), 1);
	pk_decoder_free(d);
}

static void
test_null_loop(void **state)
{
	static const uint32_t afs[] = { 2, 24, 28, 30 };
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;
	uint32_t ip;
	size_t i;
	int order;

	(void)state;
	for (i = 0; i < PK_NELEM(afs); i++) {
		for (order = 0; order < 2; order++) {
			memset(&f, 0, sizeof(f));
			if (order == 0) {	/* little-endian host */
				put8(&f, afs[i]);
				put8(&f, 0);
				put16(&f, 0);
			} else
				put32(&f, afs[i]);
			if (afs[i] == 2)
				ip = ip4_begin(&f, 17, 1, 0, NULL, 0);
			else
				ip = ip6_begin(&f, 17);
			udp(&f, 7, 9, "lo");
			if (afs[i] == 2)
				ip4_end(&f, ip);
			else
				ip6_end(&f, ip);
			assert_int_equal(run(d, PK_LINK_NULL, &f, &p), 1);
			assert_int_equal(p.ipver, afs[i] == 2 ? 4 : 6);
			assert_int_equal(p.dport, 9);
			/* LOOP should be network order, but writers such
			 * as scapy use host order; both are read, as
			 * tcpdump does. */
			assert_int_equal(run(d, PK_LINK_LOOP, &f, &p), 1);
			assert_int_equal(p.dport, 9);
		}
	}
	assert_int_equal(errc(d, PK_DE_ETHERTYPE), 0);
	/* AF 7 (not IP) is "not for us", not an error. */
	f.b[0] = 7;
	f.b[3] = 0;
	assert_int_equal(run(d, PK_LINK_NULL, &f, &p), 0);
	assert_int_equal(errc(d, PK_DE_ETHERTYPE), 1);
	assert_int_equal(pk_decoder_errors(d), 0);
	pk_decoder_free(d);
}

static void
test_arp(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;
	int i;

	(void)state;
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0806);
	for (i = 0; i < 28; i++)
		put8(&f, i);
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), 0);
	assert_int_equal(errc(d, PK_DE_ETHERTYPE), 1);
	assert_int_equal(pk_decoder_errors(d), 0);
	assert_int_equal(pk_decoder_stats(d)->decoded, 0);
	assert_int_equal(pk_decoder_stats(d)->packets, 1);
	pk_decoder_free(d);
}

/* ---- IPv4 ---- */

static void
test_ipv4_options(void **state)
{
	/* Record route (7 addresses of room would be 39; keep it short). */
	static const uint8_t rr[8] = { 7, 7, 4, 0, 0, 0, 0, 1 };
	static const uint8_t nop_ts[12] = { 1, 68, 8, 5, 0, 0, 0, 0, 1, 1,
		0, 0 };
	static const uint8_t bad_len[4] = { 130, 9, 0, 0 };	/* past end */
	static const uint8_t zero_len[4] = { 131, 0, 0, 0 };
	static const uint8_t bad_ptr[4] = { 7, 3, 3, 0 };
	static const uint8_t trailing[4] = { 1, 1, 1, 148 };	/* no len */
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;
	uint32_t ip;

	(void)state;
	memset(&f, 0, sizeof(f));
	ip = ip4_begin(&f, 6, 1, 0, rr, sizeof(rr));
	tcp(&f, 5, 6, PK_TH_SYN, NULL, 0, "");
	ip4_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), 1);
	assert_true(p.flags & PK_PF_IPOPTS);
	assert_int_equal(p.dport, 6);

	memset(&f, 0, sizeof(f));
	ip = ip4_begin(&f, 6, 1, 0, nop_ts, sizeof(nop_ts));
	tcp(&f, 5, 6, PK_TH_SYN, NULL, 0, "");
	ip4_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), 1);
	assert_true(p.flags & PK_PF_IPOPTS);

	memset(&f, 0, sizeof(f));
	ip = ip4_begin(&f, 6, 1, 0, bad_len, 4);
	tcp(&f, 5, 6, PK_TH_SYN, NULL, 0, "");
	ip4_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), -1);
	memcpy(f.b + 20, zero_len, 4);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), -1);
	memcpy(f.b + 20, bad_ptr, 4);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), -1);
	memcpy(f.b + 20, trailing, 4);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), -1);
	assert_int_equal(errc(d, PK_DE_IP_OPTS), 4);
	pk_decoder_free(d);
}

static void
test_ipv4_header_errors(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f, g;
	uint32_t ip;

	(void)state;
	memset(&f, 0, sizeof(f));
	ip = ip4_begin(&f, 17, 1, 0, NULL, 0);
	udp(&f, 1, 2, "abcdef");
	ip4_end(&f, ip);

	g = f;
	g.b[0] = 0x44;				/* IHL 4 */
	assert_int_equal(run(d, PK_LINK_IPV4, &g, &p), -1);
	g.b[0] = 0x4f;				/* IHL 15 > total 34 */
	assert_int_equal(run(d, PK_LINK_IPV4, &g, &p), -1);
	assert_int_equal(errc(d, PK_DE_IP_HLEN), 2);
	g = f;
	set16(&g, 2, 19);			/* total < header */
	assert_int_equal(run(d, PK_LINK_IPV4, &g, &p), -1);
	set16(&g, 2, f.n + 1);			/* total > frame */
	assert_int_equal(run(d, PK_LINK_IPV4, &g, &p), -1);
	assert_int_equal(errc(d, PK_DE_IP_LEN), 2);
	g.n = 19;
	assert_int_equal(run(d, PK_LINK_IPV4, &g, &p), -1);
	assert_int_equal(errc(d, PK_DE_IP_SHORT), 1);
	/* UDP length beyond the datagram, and below 8. */
	g = f;
	set16(&g, 24, 15);
	assert_int_equal(run(d, PK_LINK_IPV4, &g, &p), -1);
	set16(&g, 24, 7);
	assert_int_equal(run(d, PK_LINK_IPV4, &g, &p), -1);
	assert_int_equal(errc(d, PK_DE_UDP_LEN), 2);
	/* UDP length shorter than the datagram: the rest is not payload. */
	set16(&g, 24, 10);
	assert_int_equal(run(d, PK_LINK_IPV4, &g, &p), 1);
	assert_int_equal(p.payload_len, 2);
	/* A datagram too short for its UDP header. */
	g = f;
	g.n = 27;
	set16(&g, 2, 27);
	assert_int_equal(run(d, PK_LINK_IPV4, &g, &p), -1);
	assert_int_equal(errc(d, PK_DE_UDP_SHORT), 1);
	assert_int_equal(errc(d, PK_DE_TRUNCATED), 0);
	pk_decoder_free(d);
}

/* ---- IPv6 ---- */

static void
test_ipv6_ext(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;
	uint32_t ip;
	int i;

	(void)state;
	/* HBH, routing, fragment (atomic), AH, dest opts, then TCP. */
	memset(&f, 0, sizeof(f));
	ip = ip6_begin(&f, 0);
	ext8(&f, 43);
	ext8(&f, 44);
	put8(&f, 51);			/* atomic fragment: offset 0, M 0 */
	put8(&f, 0);
	put16(&f, 0);
	put32(&f, 0xabcdef);
	put8(&f, 60);			/* AH: len 4 -> (4+2)*4 = 24 bytes */
	put8(&f, 4);
	put16(&f, 0);
	put32(&f, 0x1000);
	put32(&f, 1);
	put32(&f, 0);
	put32(&f, 0);
	put32(&f, 0);
	ext8(&f, 6);
	tcp(&f, 1111, 443, PK_TH_ACK | PK_TH_PUSH, NULL, 0, "tls");
	ip6_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), 1);
	assert_int_equal(p.proto, PK_PROTO_TCP);
	assert_int_equal(p.dport, 443);
	assert_int_equal(p.ip_len, f.n);
	assert_memory_equal(p.payload, "tls", 3);
	assert_int_equal(p.flags & PK_PF_REASSEMBLED, 0);

	/* Nine extension headers: more than we walk. */
	memset(&f, 0, sizeof(f));
	ip = ip6_begin(&f, 60);
	for (i = 0; i < 9; i++)
		ext8(&f, i < 8 ? 60 : 17);
	udp(&f, 1, 2, "");
	ip6_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), -1);
	assert_int_equal(errc(d, PK_DE_IP6_EXT), 1);

	/* Hop-by-hop after another header. */
	memset(&f, 0, sizeof(f));
	ip = ip6_begin(&f, 60);
	ext8(&f, 0);
	ext8(&f, 17);
	udp(&f, 1, 2, "");
	ip6_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), -1);
	assert_int_equal(errc(d, PK_DE_IP6_EXT), 2);

	/* Extension header longer than the datagram. */
	memset(&f, 0, sizeof(f));
	ip = ip6_begin(&f, 60);
	ext8(&f, 17);
	f.b[41] = 3;
	ip6_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), -1);
	assert_int_equal(errc(d, PK_DE_IP6_EXT), 3);

	/* ESP and "no next header" end the walk: proto set, no ports. */
	memset(&f, 0, sizeof(f));
	ip = ip6_begin(&f, 60);
	ext8(&f, 50);
	put32(&f, 0x100);		/* SPI */
	put32(&f, 1);
	ip6_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), 1);
	assert_int_equal(p.proto, 50);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.payload_len, 8);
	memset(&f, 0, sizeof(f));
	ip = ip6_begin(&f, 59);
	ip6_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), 1);
	assert_int_equal(p.proto, 59);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(errc(d, PK_DE_PROTO_UNKNOWN), 2);
	/* Payload length beyond the frame. */
	set16(&f, 4, 1);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), -1);
	assert_int_equal(errc(d, PK_DE_IP_LEN), 1);
	pk_decoder_free(d);
}

/* ---- transport ---- */

static void
test_tcp_header(void **state)
{
	static const uint8_t badopt[4] = { 2, 0, 1, 1 };	/* len 0 */
	static const uint8_t longopt[4] = { 1, 8, 9, 0 };	/* past end */
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;
	uint32_t ip;

	(void)state;
	frame_eth_tcp(&f);
	f.b[14 + 20 + 12] = 0x40;		/* data offset 4 */
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), -1);
	f.b[14 + 20 + 12] = 0xf0;		/* 60 > segment */
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), -1);
	assert_int_equal(errc(d, PK_DE_TCP_HLEN), 2);

	/*
	 * Broken option lengths are counted, but the segment is still
	 * returned: the receiving stack would accept it.
	 */
	memset(&f, 0, sizeof(f));
	ip = ip4_begin(&f, 6, 1, 0, NULL, 0);
	tcp(&f, 1, 2, PK_TH_SYN, badopt, 4, "x");
	ip4_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), 1);
	assert_int_equal(p.payload_len, 1);
	memcpy(f.b + 40, longopt, 4);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), 1);
	assert_int_equal(errc(d, PK_DE_TCP_HLEN), 4);
	/* A datagram too short for a TCP header. */
	f.n = 30;
	set16(&f, 2, 30);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), -1);
	assert_int_equal(errc(d, PK_DE_TCP_SHORT), 1);
	pk_decoder_free(d);
}

static void
test_icmp(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;
	uint32_t ip;

	(void)state;
	/* Echo request: not an error. */
	memset(&f, 0, sizeof(f));
	ip = ip4_begin(&f, 1, 1, 0, NULL, 0);
	put8(&f, 8);
	put8(&f, 0);
	put16(&f, 0);
	put32(&f, 0x00010002);
	putn(&f, "ping", 4);
	ip4_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), 1);
	assert_int_equal(p.proto, PK_PROTO_ICMP);
	assert_int_equal(p.icmp_type, 8);
	assert_int_equal(p.flags & PK_PF_ICMP_ERR, 0);
	assert_memory_equal(p.payload, "ping", 4);

	/* Port unreachable quoting UDP B4:33000 -> A4:161. */
	frame_icmp_unreach(&f);
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), 1);
	assert_int_equal(p.icmp_type, 3);
	assert_int_equal(p.icmp_code, 3);
	assert_true(p.flags & PK_PF_ICMP_ERR);
	assert_int_equal(p.inner_proto, PK_PROTO_UDP);
	assert_memory_equal(p.inner_src.a, B4, 4);
	assert_memory_equal(p.inner_dst.a, A4, 4);
	assert_int_equal(p.inner_src.family, 4);
	assert_int_equal(p.inner_sport, 33000);
	assert_int_equal(p.inner_dport, 161);
	/* A quote with a broken header: packet decoded, no inner data. */
	f.b[14 + 28] = 0x42;
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), 1);
	assert_int_equal(p.flags & PK_PF_ICMP_ERR, 0);
	assert_int_equal(p.inner_dport, 0);

	/* ICMPv6 port unreachable quoting IPv6 + dest opts + UDP. */
	frame_icmp6_unreach(&f);
	assert_int_equal(run(d, PK_LINK_LINUX_SLL2, &f, &p), 1);
	assert_int_equal(p.icmp_type, 1);
	assert_int_equal(p.icmp_code, 4);
	assert_true(p.flags & PK_PF_ICMP_ERR);
	assert_int_equal(p.inner_proto, PK_PROTO_UDP);
	assert_int_equal(p.inner_src.family, 6);
	assert_memory_equal(p.inner_src.a, B6, 16);
	assert_int_equal(p.inner_sport, 40001);
	assert_int_equal(p.inner_dport, 514);

	/*
	 * Quoting a non-first fragment (dest opts, then fragment header at
	 * offset 8): the protocol is known, the ports are not in it.
	 */
	f.b[20 + 48 + 40] = 44;			/* dest opts -> fragment */
	f.n = 20 + 48 + 48;
	put8(&f, 17);
	put8(&f, 0);
	put16(&f, 8);
	put32(&f, 99);
	put32(&f, 0x11112222);
	set16(&f, 20 + 4, f.n - 20 - 40);
	assert_int_equal(run(d, PK_LINK_LINUX_SLL2, &f, &p), 1);
	assert_true(p.flags & PK_PF_ICMP_ERR);
	assert_int_equal(p.inner_proto, PK_PROTO_UDP);
	assert_int_equal(p.inner_sport, 0);
	assert_int_equal(p.inner_dport, 0);

	/* ICMPv6 echo request. */
	memset(&f, 0, sizeof(f));
	ip = ip6_begin(&f, 58);
	put8(&f, 128);
	put8(&f, 0);
	put16(&f, 0);
	put32(&f, 7);
	ip6_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), 1);
	assert_int_equal(p.icmp_type, 128);
	assert_int_equal(p.flags & PK_PF_ICMP_ERR, 0);
	/* Short ICMP. */
	f.n = 44;
	set16(&f, 4, 4);
	assert_int_equal(run(d, PK_LINK_RAW, &f, &p), -1);
	assert_int_equal(errc(d, PK_DE_ICMP_SHORT), 1);
	assert_int_equal(pk_decoder_errors(d), 1);
	pk_decoder_free(d);
}

static void
test_unknown_proto(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct fb f;
	uint32_t ip;

	(void)state;
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ip = ip4_begin(&f, 47, 1, 0, NULL, 0);	/* GRE */
	put32(&f, 0x00000800);
	ip4_end(&f, ip);
	assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), 1);
	assert_int_equal(p.proto, 47);
	assert_int_equal(p.sport, 0);
	assert_int_equal(p.dport, 0);
	assert_ptr_equal(p.payload, f.b + 34);
	assert_int_equal(p.payload_len, 4);
	assert_int_equal(errc(d, PK_DE_PROTO_UNKNOWN), 1);
	assert_int_equal(pk_decoder_errors(d), 0);
	pk_decoder_free(d);
}

/* ---- truncation ---- */

/*
 * Cut a valid frame at every length.  With wirelen = full length the cut
 * is the capture's (snaplen): either the headers fit and the packet comes
 * back with the captured payload only, or -1 with one error counted.
 * With wirelen = cut the frame really is that short: always an error, and
 * never "truncated".  Each cut frame is copied to its own heap block so
 * ASan sees any read past it.
 */
static void
cut_sweep(int lt, const struct fb *f, uint32_t hdrlen)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	uint64_t e0, t0;
	uint32_t cut;
	uint8_t *copy;
	int rc;

	for (cut = 0; cut < f->n; cut++) {
		copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, f->b, cut);
		e0 = pk_decoder_errors(d);
		t0 = errc(d, PK_DE_TRUNCATED);
		rc = pk_decode(d, lt, copy, cut, f->n, 0, &p);
		if (hdrlen != 0 && cut >= hdrlen) {
			assert_int_equal(rc, 1);
			assert_int_equal(p.payload_len, cut - hdrlen);
			assert_ptr_equal(p.payload, copy + hdrlen);
			assert_int_equal(pk_decoder_errors(d), e0);
		} else {
			assert_int_equal(rc, -1);
			assert_int_equal(pk_decoder_errors(d), e0 + 1);
			assert_int_equal(errc(d, PK_DE_TRUNCATED), t0 + 1);
		}
		e0 = pk_decoder_errors(d);
		rc = pk_decode(d, lt, copy, cut, cut, 0, &p);
		assert_int_equal(rc, -1);
		assert_int_equal(pk_decoder_errors(d), e0 + 1);
		assert_int_equal(errc(d, PK_DE_TRUNCATED), t0 + 1 -
		    (hdrlen != 0 && cut >= hdrlen));
		free(copy);
	}
	pk_decoder_free(d);
}

static void
test_truncated_every_length(void **state)
{
	struct fb f;
	uint32_t h, ip;

	(void)state;
	h = frame_eth_tcp(&f);
	cut_sweep(PK_LINK_ETHERNET, &f, h);
	h = frame_vlan_ip6_udp(&f);
	cut_sweep(PK_LINK_ETHERNET, &f, h);
	h = frame_icmp_unreach(&f);
	cut_sweep(PK_LINK_ETHERNET, &f, h);
	h = frame_icmp6_unreach(&f);
	cut_sweep(PK_LINK_LINUX_SLL2, &f, h);

	/* NULL link, IPv4 with options, UDP. */
	memset(&f, 0, sizeof(f));
	put8(&f, 2);
	put8(&f, 0);
	put16(&f, 0);
	ip = ip4_begin(&f, 17, 1, 0, (const uint8_t *)"\x01\x01\x01\x00", 4);
	udp(&f, 9, 9, "null");
	ip4_end(&f, ip);
	cut_sweep(PK_LINK_NULL, &f, 4 + 24 + 8);

	/* A fragment is never returned: cut, it cannot be held either. */
	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ip = ip4_begin(&f, 17, 77, 0x2000, NULL, 0);
	udp(&f, 1, 2, "12345678");
	ip4_end(&f, ip);
	cut_sweep(PK_LINK_ETHERNET, &f, 0);

	/* IPv6 fragment after a destination options header. */
	memset(&f, 0, sizeof(f));
	ip = ip6_begin(&f, 60);
	ext8(&f, 44);
	put8(&f, 17);
	put8(&f, 0);
	put16(&f, 1);			/* offset 0, M */
	put32(&f, 5);
	udp(&f, 1, 2, "12345678");
	ip6_end(&f, ip);
	cut_sweep(PK_LINK_IPV6, &f, 0);
}

/* ---- fragments ---- */

#define DG_LEN	64	/* UDP header + 56 bytes */

static void
make_dgram(uint8_t *dg)
{
	int i;

	dg[0] = 0x03;			/* sport 1000 */
	dg[1] = 0xe8;
	dg[2] = 0;			/* dport 53 */
	dg[3] = 53;
	dg[4] = 0;
	dg[5] = DG_LEN;
	dg[6] = 0;
	dg[7] = 0;
	for (i = 8; i < DG_LEN; i++)
		dg[i] = (uint8_t)(i * 7 + 1);
}

static int
frag4(struct pk_decoder *d, uint16_t id, const uint8_t *data, uint32_t off,
    uint32_t len, int more, uint64_t ts, struct pk_packet *p)
{
	struct fb f;
	uint32_t ip;

	memset(&f, 0, sizeof(f));
	eth(&f, 0x0800);
	ip = ip4_begin(&f, 17, id, (more ? 0x2000 : 0) | off / 8, NULL, 0);
	putn(&f, data + off, len);
	ip4_end(&f, ip);
	return pk_decode(d, PK_LINK_ETHERNET, f.b, f.n, f.n, ts, p);
}

static void
assert_dgram(const struct pk_packet *p, const uint8_t *dg)
{
	assert_true(p->flags & PK_PF_REASSEMBLED);
	assert_int_equal(p->ipver, 4);
	assert_int_equal(p->proto, PK_PROTO_UDP);
	assert_v4_pair(p);
	assert_int_equal(p->sport, 1000);
	assert_int_equal(p->dport, 53);
	assert_int_equal(p->ip_len, 20 + DG_LEN);
	assert_int_equal(p->payload_len, DG_LEN - 8);
	assert_memory_equal(p->payload, dg + 8, DG_LEN - 8);
}

static void
test_frag_in_order_and_reversed(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	uint8_t dg[DG_LEN];
	uint32_t off;
	int i;

	(void)state;
	make_dgram(dg);
	for (off = 0; off < DG_LEN; off += 16)
		assert_int_equal(frag4(d, 1, dg, off, 16, off + 16 < DG_LEN,
		    SEC, &p), off + 16 < DG_LEN ? 0 : 1);
	assert_dgram(&p, dg);

	for (i = 3; i >= 0; i--)
		assert_int_equal(frag4(d, 2, dg, (uint32_t)i * 16, 16, i < 3,
		    SEC, &p), i > 0 ? 0 : 1);
	assert_dgram(&p, dg);
	/* Tiny first fragment: only the UDP header. */
	assert_int_equal(frag4(d, 3, dg, 0, 8, 1, SEC, &p), 0);
	assert_int_equal(frag4(d, 3, dg, 8, DG_LEN - 8, 0, SEC, &p), 1);
	assert_dgram(&p, dg);

	assert_int_equal(pk_decoder_stats(d)->reassembled, 3);
	assert_int_equal(pk_decoder_stats(d)->fragments, 10);
	assert_int_equal(pk_decoder_stats(d)->decoded, 3);
	assert_int_equal(pk_decoder_errors(d), 0);
	pk_decoder_free(d);
}

static void
test_frag_duplicate_and_overlap(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	uint8_t dg[DG_LEN], evil[DG_LEN], mixed[DG_LEN];

	(void)state;
	make_dgram(dg);
	memset(evil, 'X', sizeof(evil));

	/* Exact duplicate: benign, not counted. */
	assert_int_equal(frag4(d, 1, dg, 0, 32, 1, SEC, &p), 0);
	assert_int_equal(frag4(d, 1, dg, 0, 32, 1, SEC, &p), 0);
	assert_int_equal(frag4(d, 1, dg, 32, 32, 0, SEC, &p), 1);
	assert_dgram(&p, dg);
	assert_int_equal(errc(d, PK_DE_FRAG_OVERLAP), 0);

	/* Overlap with different bytes after the real data: first wins. */
	assert_int_equal(frag4(d, 2, dg, 0, 16, 1, SEC, &p), 0);
	assert_int_equal(frag4(d, 2, dg, 16, 16, 1, SEC, &p), 0);
	assert_int_equal(frag4(d, 2, evil, 8, 24, 1, SEC, &p), 0);
	assert_int_equal(errc(d, PK_DE_FRAG_OVERLAP), 1);
	assert_int_equal(frag4(d, 2, dg, 32, 32, 0, SEC, &p), 1);
	assert_dgram(&p, dg);
	assert_int_equal(errc(d, PK_DE_FRAG_OVERLAP), 1);

	/*
	 * The conflicting copy came first: it is what we keep, and the
	 * real data arriving later counts as the overlap.
	 */
	assert_int_equal(frag4(d, 3, evil, 16, 16, 1, SEC, &p), 0);
	assert_int_equal(frag4(d, 3, dg, 0, 48, 1, SEC, &p), 0);
	assert_int_equal(errc(d, PK_DE_FRAG_OVERLAP), 2);
	assert_int_equal(frag4(d, 3, dg, 48, 16, 0, SEC, &p), 1);
	memcpy(mixed, dg, DG_LEN);
	memset(mixed + 16, 'X', 16);
	assert_int_equal(p.payload_len, DG_LEN - 8);
	assert_memory_equal(p.payload, mixed + 8, DG_LEN - 8);
	/* Overlaps are counted but are not drops. */
	assert_int_equal(pk_decoder_stats(d)->reassembled, 3);
	pk_decoder_free(d);
}

static void
test_frag_bad(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	uint8_t dg[DG_LEN];

	(void)state;
	make_dgram(dg);
	/* More-fragments with a length that is not a multiple of 8. */
	assert_int_equal(frag4(d, 1, dg, 0, 12, 1, SEC, &p), -1);
	assert_int_equal(errc(d, PK_DE_FRAG_BAD), 1);
	/* Two last fragments that disagree on the end: datagram dropped. */
	assert_int_equal(frag4(d, 2, dg, 0, 16, 1, SEC, &p), 0);
	assert_int_equal(frag4(d, 2, dg, 32, 32, 0, SEC, &p), 0);
	assert_int_equal(frag4(d, 2, dg, 32, 24, 0, SEC, &p), -1);
	assert_int_equal(errc(d, PK_DE_FRAG_BAD), 2);
	/* The rest alone does not complete it: it was dropped. */
	assert_int_equal(frag4(d, 2, dg, 16, 16, 1, SEC, &p), 0);
	/* Data past a known end. */
	assert_int_equal(frag4(d, 4, dg, 16, 16, 0, SEC, &p), 0);
	assert_int_equal(frag4(d, 4, dg, 0, 48, 1, SEC, &p), -1);
	assert_int_equal(errc(d, PK_DE_FRAG_BAD), 3);
	assert_int_equal(pk_decoder_stats(d)->reassembled, 0);
	pk_decoder_free(d);
}

static void
test_frag_timeout(void **state)
{
	struct pk_decoder *d = dec();		/* 30 s timeout */
	struct pk_packet p;
	uint8_t dg[DG_LEN];

	(void)state;
	make_dgram(dg);
	assert_int_equal(frag4(d, 1, dg, 0, 32, 1, 100 * SEC, &p), 0);
	pk_decoder_expire(d, 129 * SEC);
	assert_int_equal(errc(d, PK_DE_FRAG_TIMEOUT), 0);
	pk_decoder_expire(d, 130 * SEC);
	assert_int_equal(errc(d, PK_DE_FRAG_TIMEOUT), 1);
	/* The late half finds nothing to complete. */
	assert_int_equal(frag4(d, 1, dg, 32, 32, 0, 131 * SEC, &p), 0);
	/* Expiry also happens when the next fragment arrives. */
	assert_int_equal(frag4(d, 2, dg, 0, 32, 1, 170 * SEC, &p), 0);
	assert_int_equal(errc(d, PK_DE_FRAG_TIMEOUT), 2);
	/* Time running backwards expires nothing. */
	pk_decoder_expire(d, 1 * SEC);
	assert_int_equal(frag4(d, 2, dg, 32, 32, 0, 171 * SEC, &p), 1);
	assert_dgram(&p, dg);
	/* Timeouts are not malformations. */
	assert_int_equal(pk_decoder_errors(d), 0);
	pk_decoder_free(d);
}

static void
test_frag_memory_bound(void **state)
{
	struct pk_decode_cfg cfg = { 12000, 30, 64 };
	struct pk_decoder *d = pk_decoder_new(&cfg);
	struct pk_packet p;
	uint8_t big[1480];
	uint8_t dg[DG_LEN];
	uint16_t id;
	int held = 0;

	(void)state;
	assert_non_null(d);
	make_dgram(dg);
	memset(big, 0x5a, sizeof(big));
	/* Open datagrams until the 12000-byte bound refuses one. */
	for (id = 100; id < 120; id++)
		if (frag4(d, id, big, 0, sizeof(big), 1, SEC, &p) == 0)
			held++;
	assert_true(held >= 1 && held < 20);
	assert_int_equal(errc(d, PK_DE_FRAG_NOMEM), 20 - held);
	/* A drop for our memory, not a malformation. */
	assert_int_equal(pk_decoder_errors(d), 0);
	/* Once they time out, there is room again. */
	pk_decoder_expire(d, 40 * SEC);
	assert_int_equal(errc(d, PK_DE_FRAG_TIMEOUT), held);
	assert_int_equal(frag4(d, 1, dg, 0, 32, 1, 41 * SEC, &p), 0);
	assert_int_equal(frag4(d, 1, dg, 32, 32, 0, 41 * SEC, &p), 1);
	assert_dgram(&p, dg);
	pk_decoder_free(d);

	/* The datagram count bound. */
	cfg.frag_mem_max = 1u << 20;
	cfg.frag_max_datagrams = 4;
	d = pk_decoder_new(&cfg);
	assert_non_null(d);
	for (id = 0; id < 6; id++)
		assert_int_equal(frag4(d, id, dg, 0, 32, 1, SEC, &p),
		    id < 4 ? 0 : -1);
	assert_int_equal(errc(d, PK_DE_FRAG_NOMEM), 2);
	/* Held datagrams still complete. */
	assert_int_equal(frag4(d, 3, dg, 32, 32, 0, SEC, &p), 1);
	pk_decoder_free(d);
}

/* The bounds, seen from inside the reassembler. */
static void
test_reasm_mem_never_exceeds_bound(void **state)
{
	struct pk_decode_cfg cfg = { 20000, 30, 1000 };
	uint64_t err[PK_DE__COUNT] = { 0 };
	struct pk_reasm *r = pk_reasm_new(&cfg, err);
	uint8_t data[1480], hdr[20] = { 0x45 };
	uint8_t src[4] = { 10, 0, 0, 1 }, dst[4] = { 10, 0, 0, 2 };
	const uint8_t *out;
	uint32_t outlen, i, held;
	struct pk_frag f;
	int rc;

	(void)state;
	assert_non_null(r);
	memset(data, 1, sizeof(data));
	memset(&f, 0, sizeof(f));
	f.ipver = 4;
	f.proto = 17;
	f.src = src;
	f.dst = dst;
	f.hdr = hdr;
	f.hdrlen = 20;
	f.max_end = 65515;
	f.data = data;
	f.len = 1480;
	f.more = 1;
	for (i = 0; i < 500; i++) {
		f.id = i % 50;
		f.off = (i / 50) * 1480;
		rc = pk_reasm_add(r, &f, SEC, &out, &outlen);
		assert_true(rc == 0 || rc == -1);
		assert_true(pk_reasm_mem(r) <= cfg.frag_mem_max);
	}
	assert_true(err[PK_DE_FRAG_NOMEM] > 0);
	assert_true(pk_reasm_count(r) > 0);
	held = pk_reasm_count(r);
	assert_int_equal(pk_reasm_expire(r, 100 * SEC), held);
	assert_int_equal(err[PK_DE_FRAG_TIMEOUT], held);
	assert_int_equal(pk_reasm_count(r), 0);
	assert_int_equal(pk_reasm_mem(r), 0);
	pk_reasm_free(r);
}

/* Ping of death: fragments reaching past 65535 bytes. */
static void
test_ping_of_death(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	static uint8_t big[66016];
	uint32_t off;

	(void)state;
	memset(big, 0x41, sizeof(big));
	for (off = 0; off + 1480 <= 65120; off += 1480)
		assert_int_equal(frag4(d, 9, big, off, 1480, 1, SEC, &p), 0);
	/* 65120 + 888 = 66008 bytes of data, plus the 20-byte header. */
	assert_int_equal(frag4(d, 9, big, 65120, 888, 0, SEC, &p), -1);
	assert_int_equal(errc(d, PK_DE_FRAG_TOOBIG), 1);
	/*
	 * The datagram was dropped: a legal last fragment now starts a new
	 * one instead of clashing with 64 KB of held data (FRAG_BAD).
	 */
	assert_int_equal(frag4(d, 9, big, 1480, 8, 0, SEC, &p), 0);
	assert_int_equal(errc(d, PK_DE_FRAG_BAD), 0);
	/* The classic single fragment at offset 65528. */
	assert_int_equal(frag4(d, 10, big, 65528, 16, 0, SEC, &p), -1);
	assert_int_equal(errc(d, PK_DE_FRAG_TOOBIG), 2);
	/* Exactly 65535 bytes is legal. */
	for (off = 0; off < 65512; off += 1480) {
		uint32_t len = PK_MIN(1480u, 65515 - off);

		assert_int_equal(frag4(d, 11, big, off, len, off + len < 65515,
		    SEC, &p), off + len < 65515 ? 0 : 1);
	}
	assert_int_equal(p.ip_len, 65535);
	assert_true(p.flags & PK_PF_REASSEMBLED);
	/*
	 * The same 65515 data bytes, but the offset-zero fragment arrives
	 * last with 40 bytes of options: only its header decides the size.
	 */
	for (off = 1480; off < 65512; off += 1480) {
		uint32_t len = PK_MIN(1480u, 65515 - off);

		assert_int_equal(frag4(d, 12, big, off, len, off + len < 65515,
		    SEC, &p), 0);
	}
	{
		static const uint8_t nops[40] = { 1, 1, 1, 1 };
		struct fb f;
		uint32_t ip;

		memset(&f, 0, sizeof(f));
		eth(&f, 0x0800);
		ip = ip4_begin(&f, 17, 12, 0x2000, nops, sizeof(nops));
		putn(&f, big, 1480);
		ip4_end(&f, ip);
		assert_int_equal(run(d, PK_LINK_ETHERNET, &f, &p), -1);
		assert_int_equal(errc(d, PK_DE_FRAG_TOOBIG), 3);
	}
	pk_decoder_free(d);
}

static int
frag6(struct pk_decoder *d, uint32_t id, const uint8_t *data, uint32_t off,
    uint32_t len, int more, struct pk_packet *p)
{
	struct fb f;
	uint32_t ip;

	memset(&f, 0, sizeof(f));
	ip = ip6_begin(&f, 60);
	ext8(&f, 44);
	put8(&f, 17);
	put8(&f, 0);
	put16(&f, off | (more ? 1 : 0));
	put32(&f, id);
	putn(&f, data + off, len);
	ip6_end(&f, ip);
	return pk_decode(d, PK_LINK_RAW, f.b, f.n, f.n, SEC, p);
}

static void
test_frag_ipv6(void **state)
{
	struct pk_decoder *d = dec();
	struct pk_packet p;
	uint8_t dg[DG_LEN];

	(void)state;
	make_dgram(dg);
	assert_int_equal(frag6(d, 0x10000, dg, 24, 40, 0, &p), 0);
	assert_int_equal(frag6(d, 0x10000, dg, 0, 24, 1, &p), 1);
	assert_true(p.flags & PK_PF_REASSEMBLED);
	assert_int_equal(p.ipver, 6);
	assert_int_equal(p.proto, PK_PROTO_UDP);
	assert_int_equal(p.sport, 1000);
	assert_int_equal(p.dport, 53);
	assert_memory_equal(p.src.a, A6, 16);
	assert_int_equal(p.payload_len, DG_LEN - 8);
	assert_memory_equal(p.payload, dg + 8, DG_LEN - 8);
	/* Different id: a different datagram. */
	assert_int_equal(frag6(d, 1, dg, 0, 24, 1, &p), 0);
	assert_int_equal(frag6(d, 2, dg, 24, 40, 0, &p), 0);
	/* Bad length with M set. */
	assert_int_equal(frag6(d, 3, dg, 0, 20, 1, &p), -1);
	assert_int_equal(errc(d, PK_DE_FRAG_BAD), 1);
	/* Ping of death over IPv6. */
	{
		static uint8_t big[65536 + 64];

		assert_int_equal(frag6(d, 4, big, 65528, 16, 0, &p), -1);
		assert_int_equal(errc(d, PK_DE_FRAG_TOOBIG), 1);
	}
	pk_decoder_free(d);
}

/* ---- names ---- */

static void
test_err_names(void **state)
{
	const char *n, *m;
	int e, e2;
	size_t i;

	(void)state;
	for (e = 0; e < PK_DE__COUNT; e++) {
		n = pk_decode_err_name(e);
		assert_non_null(n);
		assert_true(strlen(n) > 0);
		for (i = 0; n[i] != '\0'; i++)
			assert_true((n[i] >= 'a' && n[i] <= 'z') ||
			    (n[i] >= '0' && n[i] <= '9') || n[i] == '_');
		for (e2 = 0; e2 < e; e2++) {
			m = pk_decode_err_name(e2);
			assert_true(strcmp(n, m) != 0);
		}
	}
	assert_string_equal(pk_decode_err_name(PK_DE_IP_SHORT), "ip_short");
	assert_string_equal(pk_decode_err_name(PK_DE_FRAG_OVERLAP),
	    "frag_overlap");
	assert_string_equal(pk_decode_err_name(PK_DE_TRUNCATED), "truncated");
	assert_string_equal(pk_decode_err_name(-1), "unknown");
	assert_string_equal(pk_decode_err_name(PK_DE__COUNT), "unknown");
	assert_int_equal(pk_decode_err_is_malformed(PK_DE_ETHERTYPE), 0);
	assert_int_equal(pk_decode_err_is_malformed(PK_DE_PROTO_UNKNOWN), 0);
	assert_int_equal(pk_decode_err_is_malformed(PK_DE_FRAG_TIMEOUT), 0);
	assert_int_equal(pk_decode_err_is_malformed(PK_DE_FRAG_NOMEM), 0);
	assert_int_equal(pk_decode_err_is_malformed(PK_DE_FRAG_OVERLAP), 1);
	assert_int_equal(pk_decode_err_is_malformed(PK_DE_IP_HLEN), 1);
	assert_int_equal(pk_decode_err_is_malformed(PK_DE_TRUNCATED), 1);
	assert_int_equal(pk_decode_err_is_malformed(PK_DE__COUNT), 0);
}

/* ---- real captures ---- */

struct pcapf {
	uint8_t		*buf;
	size_t		 len, pos;
	int		 swap, nsec;
	uint32_t	 linktype;
};

static uint32_t
rd32(const struct pcapf *pf, const uint8_t *p)
{
	if (pf->swap)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0];
}

static const char *
pcap_dir(void)
{
	const char *s = getenv("PICKET_PCAPS");

	return s != NULL && *s != '\0' ? s : "../shared/data/pcaps";
}

/* Read a whole classic pcap file; 0, or -1 if it cannot be opened. */
static int
pcap_load(const char *name, struct pcapf *pf)
{
	char path[1024];
	FILE *fp;
	long sz;
	uint32_t magic;

	memset(pf, 0, sizeof(*pf));
	snprintf(path, sizeof(path), "%s/%s", pcap_dir(), name);
	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	sz = ftell(fp);
	assert_true(sz >= 24 && sz < 64L * 1024 * 1024);
	rewind(fp);
	pf->buf = malloc((size_t)sz);
	assert_non_null(pf->buf);
	assert_int_equal(fread(pf->buf, 1, (size_t)sz, fp), (size_t)sz);
	fclose(fp);
	pf->len = (size_t)sz;
	magic = (uint32_t)pf->buf[0] | (uint32_t)pf->buf[1] << 8 |
	    (uint32_t)pf->buf[2] << 16 | (uint32_t)pf->buf[3] << 24;
	switch (magic) {
	case 0xa1b2c3d4: break;
	case 0xa1b23c4d: pf->nsec = 1; break;
	case 0xd4c3b2a1: pf->swap = 1; break;
	case 0x4d3cb2a1: pf->swap = pf->nsec = 1; break;
	default: fail_msg("%s: not a classic pcap file", name);
	}
	pf->linktype = rd32(pf, pf->buf + 20) & 0xffff;	/* low 16 bits */
	pf->pos = 24;
	return 0;
}

static int
pcap_next(struct pcapf *pf, const uint8_t **data, uint32_t *caplen,
    uint32_t *wirelen, uint64_t *ts_us)
{
	const uint8_t *h;
	uint32_t frac;

	if (pf->pos + 16 > pf->len)
		return 0;
	h = pf->buf + pf->pos;
	*caplen = rd32(pf, h + 8);
	*wirelen = rd32(pf, h + 12);
	assert_true(*caplen <= pf->len - pf->pos - 16);
	frac = rd32(pf, h + 4);
	*ts_us = (uint64_t)rd32(pf, h) * SEC + (pf->nsec ? frac / 1000 : frac);
	*data = h + 16;
	pf->pos += 16 + (size_t)*caplen;
	return 1;
}

struct tally {
	uint32_t	frames, decoded, reassembled;
	uint32_t	syn, synack, rst, icmp_err, vlan, ipopts;
	uint32_t	proto[256];
	struct pk_packet last_reasm, first_icmp_err;
};

static void
tally_pkt(struct tally *t, const struct pk_packet *p)
{
	t->decoded++;
	t->proto[p->proto]++;
	if (p->proto == PK_PROTO_TCP) {
		if ((p->tcp_flags & 0x3f) == PK_TH_SYN)
			t->syn++;
		if ((p->tcp_flags & 0x3f) == (PK_TH_SYN | PK_TH_ACK))
			t->synack++;
		if (p->tcp_flags & PK_TH_RST)
			t->rst++;
	}
	if (p->flags & PK_PF_ICMP_ERR) {
		if (t->icmp_err++ == 0)
			t->first_icmp_err = *p;
	}
	if (p->flags & PK_PF_VLAN)
		t->vlan++;
	if (p->flags & PK_PF_IPOPTS)
		t->ipopts++;
	if (p->flags & PK_PF_REASSEMBLED) {
		t->reassembled++;
		t->last_reasm = *p;
		t->last_reasm.payload = NULL;	/* only valid until next call */
	}
}

/*
 * Decode a capture into a fresh decoder.  Returns the decoder (caller
 * frees), or NULL with the test skipped when the captures are missing.
 */
static struct pk_decoder *
decode_pcap(const char *name, struct tally *t, uint8_t *reasm_payload,
    uint32_t *reasm_len)
{
	struct pk_decoder *d = dec();
	struct pcapf pf;
	struct pk_packet p;
	const uint8_t *data;
	uint32_t cap, wire;
	uint64_t ts = 0;

	memset(t, 0, sizeof(*t));
	if (pcap_load(name, &pf) == -1) {
		pk_decoder_free(d);
		return NULL;
	}
	assert_int_equal(pf.linktype, PK_LINK_ETHERNET);
	while (pcap_next(&pf, &data, &cap, &wire, &ts)) {
		t->frames++;
		if (pk_decode(d, (int)pf.linktype, data, cap, wire, ts, &p)
		    != 1)
			continue;
		tally_pkt(t, &p);
		if ((p.flags & PK_PF_REASSEMBLED) && reasm_payload != NULL) {
			*reasm_len = p.payload_len;
			memcpy(reasm_payload, p.payload,
			    PK_MIN(p.payload_len, 65536u));
		}
	}
	free(pf.buf);
	return d;
}

#define LOAD_OR_SKIP(name, t)	do {					\
	d = decode_pcap((name), (t), NULL, NULL);			\
	if (d == NULL) {						\
		print_message("no %s/%s: skipped\n", pcap_dir(), name);	\
		skip();							\
	}								\
} while (0)

static void
test_pcap_scans(void **state)
{
	struct pk_decoder *d;
	struct tally t;

	(void)state;
	/* tcpdump 'tcp[13] == 2': 1994 SYNs, 12 SYN-ACKs, 2011 frames. */
	LOAD_OR_SKIP("nmap_synscan.pcap", &t);
	assert_int_equal(t.frames, 2011);
	assert_int_equal(t.decoded, 2011);
	assert_int_equal(t.syn, 1994);
	assert_int_equal(t.synack, 12);
	assert_int_equal(pk_decoder_errors(d), 0);
	pk_decoder_free(d);

	/* masscan: every frame behind an 802.1Q tag (vlan 943). */
	LOAD_OR_SKIP("masscan_tcp_0_1000.pcap", &t);
	assert_int_equal(t.decoded, 1005);
	assert_int_equal(t.vlan, 1005);
	assert_int_equal(t.syn, 1001);
	assert_int_equal(t.rst, 4);
	assert_int_equal(pk_decoder_errors(d), 0);
	pk_decoder_free(d);

	/* 15 ICMP admin-prohibited errors quoting the scanner's SYNs. */
	LOAD_OR_SKIP("40.TCP_SYN_scan.pcap", &t);
	assert_int_equal(t.decoded, 100);
	assert_int_equal(t.syn, 78);
	assert_int_equal(t.icmp_err, 15);
	assert_int_equal(t.first_icmp_err.icmp_type, 3);
	assert_int_equal(t.first_icmp_err.icmp_code, 13);
	assert_int_equal(t.first_icmp_err.inner_proto, PK_PROTO_TCP);
	assert_int_equal(t.first_icmp_err.inner_sport, 58780);
	assert_int_equal(t.first_icmp_err.inner_dport, 143);
	assert_int_equal(pk_decoder_errors(d), 0);
	pk_decoder_free(d);

	/* VLAN-tagged, 6 ICMP unreachables for SYNs to port 80. */
	LOAD_OR_SKIP("ncsa_multiport_scan.pcap", &t);
	assert_int_equal(t.decoded, 16);
	assert_int_equal(t.vlan, 16);
	assert_int_equal(t.icmp_err, 6);
	assert_int_equal(t.first_icmp_err.inner_sport, 57638);
	assert_int_equal(t.first_icmp_err.inner_dport, 80);
	pk_decoder_free(d);

	/* The file name says "unknown proto"; the frames are all TCP. */
	LOAD_OR_SKIP("49.unknown_proto.pcap", &t);
	assert_int_equal(t.decoded, 14);
	assert_int_equal(t.proto[PK_PROTO_TCP], 14);
	assert_int_equal(errc(d, PK_DE_PROTO_UNKNOWN), 0);
	pk_decoder_free(d);

	/* Blaster's shell: the payload carries the worm's command. */
	LOAD_OR_SKIP("blaster_shell.pcap", &t);
	assert_int_equal(t.decoded, 18);
	pk_decoder_free(d);
}

static void
test_pcap_fragments(void **state)
{
	static uint8_t pl[65536];
	struct pk_decoder *d;
	struct tally t;
	uint32_t plen = 0, i;

	(void)state;
	/* 9 in-order 8-byte fragments of a TCP segment with 50 'A's. */
	d = decode_pcap("22.ip_frag_size.pcap", &t, pl, &plen);
	if (d == NULL)
		skip();
	assert_int_equal(t.frames, 9);
	assert_int_equal(t.reassembled, 1);
	assert_int_equal(t.last_reasm.sport, 6667);
	assert_int_equal(t.last_reasm.dport, 6364);
	assert_int_equal(t.last_reasm.tcp_flags, PK_TH_PUSH);
	assert_int_equal(t.last_reasm.ip_len, 90);
	assert_int_equal(plen, 50);
	for (i = 0; i < plen; i++)
		assert_int_equal(pl[i], 'A');
	assert_int_equal(pk_decoder_errors(d), 0);
	pk_decoder_free(d);

	/*
	 * 23 and 25 are the same bytes: offset 8 arrives before offset 0,
	 * nothing actually overlaps.  Out of order, still reassembled.
	 */
	d = decode_pcap("23.ip_frag_overlapping.pcap", &t, NULL, NULL);
	assert_non_null(d);
	assert_int_equal(t.reassembled, 1);
	assert_int_equal(errc(d, PK_DE_FRAG_OVERLAP), 0);
	pk_decoder_free(d);
	d = decode_pcap("25.ip_frag_overlapping_unordered.pcap", &t, NULL,
	    NULL);
	assert_non_null(d);
	assert_int_equal(t.reassembled, 1);
	pk_decoder_free(d);

	/*
	 * Ten fragments all at offset 0 with MF: the first holds a TCP
	 * header, the other nine 'A's.  Nine conflicting overlaps, never
	 * complete, and it times out.
	 */
	d = decode_pcap("21.ip_frag_off.pcap", &t, NULL, NULL);
	assert_non_null(d);
	assert_int_equal(t.frames, 10);
	assert_int_equal(t.reassembled, 0);
	assert_int_equal(errc(d, PK_DE_FRAG_OVERLAP), 9);
	assert_int_equal(pk_decoder_stats(d)->fragments, 10);
	pk_decoder_expire(d, UINT64_MAX / 2);
	assert_int_equal(errc(d, PK_DE_FRAG_TIMEOUT), 1);
	pk_decoder_free(d);

	/* Fragments with IP options (RR, option 6): reassembled, flagged. */
	d = decode_pcap("8.ip.options.pcap", &t, pl, &plen);
	assert_non_null(d);
	assert_int_equal(t.reassembled, 1);
	assert_true(t.last_reasm.flags & PK_PF_IPOPTS);
	assert_int_equal(t.last_reasm.sport, 20);
	assert_int_equal(t.last_reasm.dport, 80);
	assert_int_equal(plen, 10);
	assert_int_equal(errc(d, PK_DE_IP_OPTS), 0);
	pk_decoder_free(d);

	/* 45 fragments whose data ends at 66008 bytes; 2 ARP frames. */
	d = decode_pcap("51.ping_of_death.pcap", &t, NULL, NULL);
	assert_non_null(d);
	assert_int_equal(t.frames, 47);
	assert_int_equal(errc(d, PK_DE_FRAG_TOOBIG), 1);
	assert_int_equal(errc(d, PK_DE_ETHERTYPE), 2);
	assert_int_equal(t.decoded, 0);
	pk_decoder_free(d);

	/*
	 * nestea: an 18-byte UDP fragment with MF (not a multiple of 8), a
	 * last fragment of "protocol 0" at offset 384, and a 232-byte
	 * first fragment.  Nothing completes.
	 */
	d = decode_pcap("52.nestea.pcap", &t, NULL, NULL);
	assert_non_null(d);
	assert_int_equal(errc(d, PK_DE_FRAG_BAD), 1);
	assert_int_equal(errc(d, PK_DE_ETHERTYPE), 2);
	assert_int_equal(t.reassembled, 0);
	assert_true(pk_decoder_errors(d) > 0);
	pk_decoder_free(d);
}

/* Every frame of every capture, cut at every length: no crash, counted. */
static void
test_pcap_cut_frames(void **state)
{
	static const char *const files[] = {
		"nmap_synscan.pcap", "masscan_tcp_0_1000.pcap",
		"nmap_80_all.pcap", "40.TCP_SYN_scan.pcap",
		"ncsa_multiport_scan.pcap", "blaster_shell.pcap",
		"52.nestea.pcap", "8.ip.options.pcap", "13.data_in_SYN.pcap",
		"27.udp_scan.pcap", "28.xmas_can.pcap",
	};
	struct pk_decoder *d = dec();
	struct pk_packet p;
	struct pcapf pf;
	const uint8_t *data;
	uint32_t cap, wire, cut, n;
	uint64_t ts, e0;
	uint8_t *copy;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < PK_NELEM(files); i++) {
		if (pcap_load(files[i], &pf) == -1) {
			pk_decoder_free(d);
			skip();
		}
		for (n = 0; n < 40 && pcap_next(&pf, &data, &cap, &wire, &ts);
		    n++) {
			for (cut = 0; cut < cap; cut++) {
				copy = malloc(cut ? cut : 1);
				assert_non_null(copy);
				memcpy(copy, data, cut);
				e0 = pk_decoder_errors(d);
				rc = pk_decode(d, PK_LINK_ETHERNET, copy, cut,
				    wire, ts, &p);
				if (rc == 1)
					assert_true(p.payload_len <= cut);
				else if (rc == -1)
					assert_true(pk_decoder_errors(d) > e0);
				free(copy);
			}
		}
		free(pf.buf);
	}
	assert_true(errc(d, PK_DE_TRUNCATED) > 1000);
	pk_decoder_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_tcp),
		cmocka_unit_test(test_eth_padding),
		cmocka_unit_test(test_vlan_qinq),
		cmocka_unit_test(test_sll),
		cmocka_unit_test(test_raw_links),
		cmocka_unit_test(test_null_loop),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_ipv4_header_errors),
		cmocka_unit_test(test_ipv6_ext),
		cmocka_unit_test(test_tcp_header),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_unknown_proto),
		cmocka_unit_test(test_truncated_every_length),
		cmocka_unit_test(test_frag_in_order_and_reversed),
		cmocka_unit_test(test_frag_duplicate_and_overlap),
		cmocka_unit_test(test_frag_bad),
		cmocka_unit_test(test_frag_timeout),
		cmocka_unit_test(test_frag_memory_bound),
		cmocka_unit_test(test_reasm_mem_never_exceeds_bound),
		cmocka_unit_test(test_ping_of_death),
		cmocka_unit_test(test_frag_ipv6),
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_pcap_scans),
		cmocka_unit_test(test_pcap_fragments),
		cmocka_unit_test(test_pcap_cut_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
