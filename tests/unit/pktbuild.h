/*
 * pktbuild.h - hand-built struct pk_packet values for unit tests that
 * drive the flow table and the detectors without the decoder: an IPv4
 * address, a TCP segment, a UDP datagram and an ICMPv4 destination
 * unreachable quoting an earlier packet.  One copy, so the flow and scan
 * tests feed the code the same packets.  Fields the decoder would fill and
 * no test reads stay zero.  Header-only (static inline); any unit test may
 * include it.
 */
#ifndef PICKET_TEST_PKTBUILD_H
#define PICKET_TEST_PKTBUILD_H

#include <stdint.h>
#include <string.h>

#include "collectors/pcap/decode.h"
#include "common/netaddr.h"

static inline struct pk_addr
v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct pk_addr x;

	memset(&x, 0, sizeof(x));
	x.family = 4;
	x.a[0] = a;
	x.a[1] = b;
	x.a[2] = c;
	x.a[3] = d;
	return x;
}

/* The IP layer every builder starts from: the rest is zero. */
static inline struct pk_packet
ip_packet(uint8_t proto, struct pk_addr s, struct pk_addr d, uint64_t ts)
{
	struct pk_packet p;

	memset(&p, 0, sizeof(p));
	p.ts_us = ts;
	p.ipver = s.family;
	p.proto = proto;
	p.src = s;
	p.dst = d;
	return p;
}

/* A TCP segment without payload: a 40-byte IP packet, 54 on Ethernet. */
static inline struct pk_packet
tcp(struct pk_addr s, uint16_t sp, struct pk_addr d, uint16_t dp,
    uint8_t flags, uint64_t ts)
{
	struct pk_packet p = ip_packet(PK_PROTO_TCP, s, d, ts);

	p.sport = sp;
	p.dport = dp;
	p.tcp_flags = flags;
	p.ip_len = 40;
	p.wirelen = p.caplen = 54;
	return p;
}

/*
 * A UDP datagram with four bytes of payload (a 32-byte IP packet): real
 * probes carry data, and the scan detector tells a half-open exchange by
 * the absence of payload.
 */
static inline struct pk_packet
udp(struct pk_addr s, uint16_t sp, struct pk_addr d, uint16_t dp,
    uint64_t ts)
{
	static const uint8_t payload[4] = { 1, 2, 3, 4 };
	struct pk_packet p = ip_packet(PK_PROTO_UDP, s, d, ts);

	p.sport = sp;
	p.dport = dp;
	p.payload = payload;
	p.payload_len = sizeof(payload);
	p.ip_len = 32;
	p.wirelen = p.caplen = 46;
	return p;
}

/*
 * ICMPv4 destination unreachable (type 3, `code`) from `from` to `to`,
 * quoting a `proto` packet is:isp -> id:idp.  Both ends are IPv4.
 */
static inline struct pk_packet
unreach(struct pk_addr from, struct pk_addr to, uint8_t code, uint8_t proto,
    struct pk_addr is, uint16_t isp, struct pk_addr id, uint16_t idp,
    uint64_t ts)
{
	struct pk_packet p = ip_packet(PK_PROTO_ICMP, from, to, ts);

	p.flags = PK_PF_ICMP_ERR;
	p.icmp_type = 3;
	p.icmp_code = code;
	p.inner_proto = proto;
	p.inner_src = is;
	p.inner_dst = id;
	p.inner_sport = isp;
	p.inner_dport = idp;
	p.ip_len = 56;
	return p;
}

#endif
