/*
 * decode.h - packet decoding from link layer to transport layer.
 *
 * pk_decode() takes one captured frame and fills a struct pk_packet with
 * pointers into the frame (or into a reassembly buffer, valid until the next
 * call).  It never reads past caplen; every malformed frame increments one
 * named counter in the decoder's stats and is skipped.  IP fragments are
 * held by the reassembler (reasm.h) and the whole datagram is returned when
 * complete.  No libpcap or OS headers here: link types are LINKTYPE_ values.
 * Portable; called by the capture collectors and the fuzz target.
 */
#ifndef PICKET_DECODE_H
#define PICKET_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

/* LINKTYPE_* values from the pcap file format (tcpdump.org/linktypes). */
#define PK_LINK_NULL		0	/* BSD loopback, host byte order AF */
#define PK_LINK_ETHERNET	1
#define PK_LINK_RAW		101	/* raw IPv4/IPv6 */
#define PK_LINK_RAW_DLT		12	/* DLT_RAW on some platforms */
#define PK_LINK_RAW_DLT14	14	/* DLT_RAW on OpenBSD */
#define PK_LINK_LOOP		108	/* OpenBSD loopback, network order AF */
#define PK_LINK_LINUX_SLL	113
#define PK_LINK_IPV4		228
#define PK_LINK_IPV6		229
#define PK_LINK_LINUX_SLL2	276
/* 1 if the decoder reads frames of this link type (the list above). */
int pk_linktype_supported(int lt);

#define PK_PROTO_ICMP	1
#define PK_PROTO_TCP	6
#define PK_PROTO_UDP	17
#define PK_PROTO_ICMPV6	58

#define PK_TH_FIN	0x01
#define PK_TH_SYN	0x02
#define PK_TH_RST	0x04
#define PK_TH_PUSH	0x08
#define PK_TH_ACK	0x10
#define PK_TH_URG	0x20
#define PK_TH_ECE	0x40
#define PK_TH_CWR	0x80

/* Packet flags */
#define PK_PF_REASSEMBLED	0x01	/* built from IP fragments */
#define PK_PF_IPOPTS		0x02	/* IPv4 options present */
#define PK_PF_VLAN		0x04
#define PK_PF_ICMP_ERR		0x08	/* ICMP error: inner_* fields valid */

struct pk_packet {
	uint64_t	 ts_us;
	uint32_t	 caplen;
	uint32_t	 wirelen;
	uint32_t	 flags;

	uint8_t		 ipver;		/* 4 or 6 */
	uint8_t		 proto;		/* upper-layer protocol */
	uint8_t		 ttl;		/* TTL / hop limit */
	struct pk_addr	 src, dst;
	uint16_t	 ip_len;	/* IP datagram length */

	uint16_t	 sport, dport;	/* TCP/UDP */
	uint8_t		 tcp_flags;
	uint32_t	 tcp_seq, tcp_ack;
	uint16_t	 tcp_win;
	uint8_t		 icmp_type, icmp_code;

	/*
	 * For ICMP/ICMPv6 errors (unreachable, time exceeded): the quoted
	 * packet's addresses and ports, so the flow it refers to can be found.
	 */
	uint8_t		 inner_proto;
	struct pk_addr	 inner_src, inner_dst;
	uint16_t	 inner_sport, inner_dport;

	const uint8_t	*payload;	/* transport payload */
	uint32_t	 payload_len;
};

/* Named decode errors.  Keep pk_decode_err_names[] in decode.c in step. */
enum pk_decode_err {
	PK_DE_LINK_SHORT,	/* frame shorter than its link header */
	PK_DE_LINK_UNKNOWN,	/* unsupported link type */
	PK_DE_ETHERTYPE,	/* not IP (ARP, etc.): counted, not an error */
	PK_DE_VLAN_DEPTH,	/* more VLAN tags than we follow */
	PK_DE_IP_SHORT,
	PK_DE_IP_VERSION,
	PK_DE_IP_HLEN,		/* IHL < 5 or beyond packet */
	PK_DE_IP_LEN,		/* total length < header or > captured */
	PK_DE_IP_OPTS,		/* malformed IPv4 option */
	PK_DE_IP6_EXT,		/* malformed/too many IPv6 extension headers */
	PK_DE_FRAG_BAD,		/* impossible fragment (size, offset) */
	PK_DE_FRAG_OVERLAP,	/* overlapping fragment (policy: first wins) */
	PK_DE_FRAG_TOOBIG,	/* reassembled size > 65535 (ping of death) */
	PK_DE_FRAG_TIMEOUT,	/* incomplete datagram expired */
	PK_DE_FRAG_NOMEM,	/* reassembly memory bound hit: dropped */
	PK_DE_TCP_SHORT,
	PK_DE_TCP_HLEN,
	PK_DE_UDP_SHORT,
	PK_DE_UDP_LEN,
	PK_DE_ICMP_SHORT,
	PK_DE_PROTO_UNKNOWN,	/* IP protocol we do not decode: counted */
	PK_DE_TRUNCATED,	/* caplen < wirelen and the cut hurt decoding */
	PK_DE__COUNT
};

struct pk_decode_stats {
	uint64_t packets;	/* frames given to pk_decode */
	uint64_t bytes;		/* wire bytes */
	uint64_t decoded;	/* packets returned to the caller */
	uint64_t fragments;	/* fragments taken by the reassembler */
	uint64_t reassembled;	/* datagrams completed */
	uint64_t err[PK_DE__COUNT];
};

struct pk_decode_cfg {
	size_t	 frag_mem_max;		/* bytes held by reassembly */
	uint32_t frag_timeout_s;	/* incomplete datagram lifetime */
	uint32_t frag_max_datagrams;	/* concurrent datagrams */
};

struct pk_decoder;

struct pk_decoder *pk_decoder_new(const struct pk_decode_cfg *cfg);
void pk_decoder_free(struct pk_decoder *d);
const struct pk_decode_stats *pk_decoder_stats(const struct pk_decoder *d);
/* Non-error reasons (ethertype, unknown proto) are excluded. */
uint64_t pk_decoder_errors(const struct pk_decoder *d);
const char *pk_decode_err_name(int e);
/* Is this counter a malformation (1) or just "not for us" (0)? */
int pk_decode_err_is_malformed(int e);

/*
 * Decode one frame.  Returns 1 when *out holds a packet, 0 when the frame
 * was consumed without producing one (fragment held, non-IP), -1 when it
 * was malformed (one counter incremented).
 */
int pk_decode(struct pk_decoder *d, int linktype, const uint8_t *frame,
    uint32_t caplen, uint32_t wirelen, uint64_t ts_us, struct pk_packet *out);

/* Expire old fragments (call with packet time). */
void pk_decoder_expire(struct pk_decoder *d, uint64_t now_us);

#endif
