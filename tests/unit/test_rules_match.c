/*
 * test_rules_match.c - unit tests for rule matching
 * (collectors/pcap/rules_match.c) and the rules detector
 * (collectors/pcap/sigdet.c): payload semantics after Suricata's payload
 * keyword documentation (offset/depth, distance/within, negative
 * distance, backtracking over later occurrences, negated and nocase
 * contents), header keywords (addresses, ports, negation, $HOME_NET,
 * bidirectional rules, flags, dsize, flow), the prefilter (stream vs
 * packet, ip rules, port-indexed rules), thresholds over packet time, and
 * the detector through its ops with hand-built packets.
 *
 * The detector calls back pk_engine_emit, pk_engine_direction and
 * pk_engine_offline; this file defines them as test doubles (home net
 * 10.0.0.0/8), so engine.o is not linked in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/indicator.h"
#include "collectors/pcap/flow.h"
#include "collectors/pcap/rules.h"
#include "collectors/pcap/sigdet.h"
#include "common/json.h"
#include "tests/unit/pktbuild.h"

#define SEC	1000000ULL
#define T0	(1700000000ULL * SEC)
#define MAXREC	64

/* ---- helpers ------------------------------------------------------------ */

static struct pk_ruleset *
rules(const char *text)
{
	struct pk_ruleset *rs = pk_ruleset_new(NULL);

	assert_non_null(rs);
	assert_true(pk_ruleset_load_text(rs, "m.rules", text,
	    strlen(text)) >= 0);
	if (pk_ruleset_skipped(rs) != 0)
		fail_msg("rule not loaded: %s", text);
	assert_int_equal(pk_ruleset_compile(rs), 0);
	return rs;
}

/* Contents of a one-rule set against a string. */
static int
cmatch(const char *opts, const char *payload)
{
	char text[2048];
	struct pk_ruleset *rs;
	int m;

	snprintf(text, sizeof(text), "alert tcp any any -> any any (%s "
	    "sid:1;)", opts);
	rs = rules(text);
	m = pk_rule_contents(pk_ruleset_rule(rs, 0),
	    (const uint8_t *)payload, (uint32_t)strlen(payload));
	pk_ruleset_free(rs);
	return m;
}

static struct pk_packet
tcpd(struct pk_addr s, uint16_t sp, struct pk_addr d, uint16_t dp,
    uint8_t flags, const char *data, uint64_t ts)
{
	struct pk_packet p = tcp(s, sp, d, dp, flags, ts);

	p.payload = (const uint8_t *)data;
	p.payload_len = data != NULL ? (uint32_t)strlen(data) : 0;
	return p;
}

static struct pk_packet
udpd(struct pk_addr s, uint16_t sp, struct pk_addr d, uint16_t dp,
    const char *data, uint64_t ts)
{
	struct pk_packet p = udp(s, sp, d, dp, ts);

	p.payload = (const uint8_t *)data;
	p.payload_len = (uint32_t)strlen(data);
	return p;
}

static struct pk_rule_input
input(const struct pk_packet *p)
{
	struct pk_rule_input in;

	memset(&in, 0, sizeof(in));
	in.pkt = p;
	in.src_home = p->src.family == 4 && p->src.a[0] == 10;
	in.dst_home = p->dst.family == 4 && p->dst.a[0] == 10;
	return in;
}

/* Does the one rule match this packet (through pk_rule_match)? */
static int
rmatch(const char *rule, const struct pk_rule_input *in)
{
	struct pk_ruleset *rs = rules(rule);
	int m = pk_rule_match(pk_ruleset_rule(rs, 0), in, NULL, NULL);

	pk_ruleset_free(rs);
	return m;
}

/* ---- payload keywords ---------------------------------------------------- */

static void
test_offset_depth(void **state)
{
	(void)state;
	/* offset:3; depth:3 looks at bytes 3..5 */
	assert_int_equal(cmatch("content:\"def\"; offset:3; depth:3;",
	    "abcdefgh"), 1);
	assert_int_equal(cmatch("content:\"def\"; offset:3; depth:3;",
	    "abdefgh"), 0);
	assert_int_equal(cmatch("content:\"def\"; offset:3; depth:3;",
	    "abcxdefg"), 0);
	assert_int_equal(cmatch("content:\"abc\"; depth:3;", "abcd"), 1);
	assert_int_equal(cmatch("content:\"abc\"; depth:3;", "xabc"), 0);
	assert_int_equal(cmatch("content:\"c\"; offset:2;", "abc"), 1);
	assert_int_equal(cmatch("content:\"c\"; offset:3;", "abcc"), 1);
	assert_int_equal(cmatch("content:\"c\"; offset:4;", "abcc"), 0);
	/* offset past the end of the buffer */
	assert_int_equal(cmatch("content:\"a\"; offset:100;", "aaaa"), 0);
}

static void
test_distance_within(void **state)
{
	(void)state;
	assert_int_equal(cmatch("content:\"abc\"; content:\"def\"; "
	    "distance:2;", "abcxxdef"), 1);
	assert_int_equal(cmatch("content:\"abc\"; content:\"def\"; "
	    "distance:2;", "abcxdef"), 0);
	assert_int_equal(cmatch("content:\"abc\"; content:\"def\"; "
	    "distance:0;", "defabc"), 0);
	assert_int_equal(cmatch("content:\"abc\"; content:\"def\"; within:3;",
	    "abcdef"), 1);
	assert_int_equal(cmatch("content:\"abc\"; content:\"def\"; within:3;",
	    "abcxdef"), 0);
	assert_int_equal(cmatch("content:\"abc\"; content:\"def\"; "
	    "distance:1; within:4;", "abcxdefg"), 1);
	assert_int_equal(cmatch("content:\"abc\"; content:\"def\"; "
	    "distance:1; within:4;", "abcxydef"), 1);
	assert_int_equal(cmatch("content:\"abc\"; content:\"def\"; "
	    "distance:1; within:4;", "abcxyzdef"), 0);
	/* negative distance: a match overlapping the previous one */
	assert_int_equal(cmatch("content:\"abcd\"; content:\"bc\"; "
	    "distance:-3; within:2;", "abcd"), 1);
	assert_int_equal(cmatch("content:\"abcd\"; content:\"ab\"; "
	    "distance:-4; within:2;", "xxabcd"), 1);
	assert_int_equal(cmatch("content:\"abcd\"; content:\"xa\"; "
	    "distance:-5; within:2;", "xxabcd"), 1);
	assert_int_equal(cmatch("content:\"abcd\"; content:\"xx\"; "
	    "distance:-5; within:2;", "xxabcd"), 0);
	/* a distance larger than the start clamps to 0 */
	assert_int_equal(cmatch("content:\"b\"; content:\"a\"; "
	    "distance:-100;", "ab"), 1);
	/* a first content with distance is relative to the start */
	assert_int_equal(cmatch("content:\"x\"; distance:2;", "xaxb"), 1);
	assert_int_equal(cmatch("content:\"x\"; distance:2;", "xab"), 0);
}

static void
test_backtracking(void **state)
{
	(void)state;
	/* the first "a" fails "b within 1"; the third one succeeds */
	assert_int_equal(cmatch("content:\"a\"; content:\"b\"; distance:0; "
	    "within:1;", "a a ab"), 1);
	assert_int_equal(cmatch("content:\"a\"; content:\"b\"; distance:0; "
	    "within:1;", "a a a b"), 0);
	/* three levels: "|01|" then "X" within 2 then "Y" within 2 */
	assert_int_equal(cmatch("content:\"|01|\"; content:\"X\"; "
	    "distance:0; within:2; content:\"Y\"; distance:0; within:2;",
	    "\x01X..\x01.XY"), 1);
	/* a later non-relative content is not retried per occurrence */
	assert_int_equal(cmatch("content:\"ab\"; content:\"zz\";",
	    "ab ab ab"), 0);
	assert_int_equal(cmatch("content:\"zz\"; content:\"ab\";",
	    "ab ab zz"), 1);
}

static void
test_negation_nocase(void **state)
{
	static const char ff[] = "content:\"User-Agent|3A| Mozilla/5.0 "
	    "|28|Windows|3B| \"; content:\"Firefox/3.\"; distance:0; "
	    "content:!\"Firefox/3.6.13\"; distance:-10;";

	(void)state;
	/* Suricata's "outdated Firefox" example */
	assert_int_equal(cmatch(ff, "User-Agent: Mozilla/5.0 (Windows; U) "
	    "Gecko Firefox/3.6.12\r\n"), 1);
	assert_int_equal(cmatch(ff, "User-Agent: Mozilla/5.0 (Windows; U) "
	    "Gecko Firefox/3.6.13\r\n"), 0);
	assert_int_equal(cmatch(ff, "User-Agent: Mozilla/5.0 (X11; U) "
	    "Gecko Firefox/3.6.12\r\n"), 0);
	/* absolute negation */
	assert_int_equal(cmatch("content:\"GET\"; content:!\"Host\";",
	    "GET / HTTP/1.0\r\n\r\n"), 1);
	assert_int_equal(cmatch("content:\"GET\"; content:!\"Host\";",
	    "GET / HTTP/1.1\r\nHost: x\r\n"), 0);
	assert_int_equal(cmatch("content:!\"Host\"; depth:4;", "xHost"), 1);
	assert_int_equal(cmatch("content:!\"Host\"; depth:4;", "Host"), 0);
	/* relative negation: "a" not followed by "b" somewhere */
	assert_int_equal(cmatch("content:\"a\"; content:!\"b\"; distance:0; "
	    "within:1;", "ab ab ac"), 1);
	assert_int_equal(cmatch("content:\"a\"; content:!\"b\"; distance:0; "
	    "within:1;", "ab ab"), 0);
	/* nocase */
	assert_int_equal(cmatch("content:\"abc\"; nocase;", "xABcx"), 1);
	assert_int_equal(cmatch("content:\"abc\";", "xABcx"), 0);
	assert_int_equal(cmatch("content:\"[@]\"; nocase;", "{`}"), 0);
	/* every content is required */
	assert_int_equal(cmatch("content:\"foo\"; content:\"bar\";",
	    "bar foo"), 1);
	assert_int_equal(cmatch("content:\"foo\"; content:\"bar\";",
	    "foo baz"), 0);
	/* binary and an empty buffer */
	assert_int_equal(cmatch("content:\"|00 ff|\";", "ab"), 0);
	assert_int_equal(cmatch("content:\"a\";", ""), 0);
}

static void
test_inspect_limit(void **state)
{
	char *buf = malloc(5001);

	(void)state;
	assert_non_null(buf);
	memset(buf, 'a', 5000);
	buf[5000] = '\0';
	/* every "a" is retried for a "b" that never comes */
	assert_int_equal(cmatch("content:\"a\"; content:\"b\"; distance:0;",
	    buf), -1);
	assert_int_equal(cmatch("content:\"a\"; content:\"b\"; distance:0;",
	    "aaab"), 1);
	free(buf);
}

/* ---- header keywords ------------------------------------------------------ */

static void
test_addresses_ports(void **state)
{
	struct pk_packet p = tcpd(v4(10, 1, 2, 3), 40000, v4(8, 8, 8, 8), 80,
	    PK_TH_ACK, "x", T0);
	struct pk_rule_input in = input(&p);

	(void)state;
	assert_true(rmatch("alert tcp 10.0.0.0/8 any -> any 80 (sid:1;)",
	    &in));
	assert_false(rmatch("alert tcp [10.0.0.0/8,!10.1.2.3] any -> any any "
	    "(sid:1;)", &in));
	assert_true(rmatch("alert tcp [!10.1.2.4] any -> any any (sid:1;)",
	    &in));
	assert_false(rmatch("alert tcp ![10.1.2.3,1.1.1.1] any -> any any "
	    "(sid:1;)", &in));
	assert_true(rmatch("alert tcp $HOME_NET any -> $EXTERNAL_NET any "
	    "(sid:1;)", &in));
	assert_false(rmatch("alert tcp $EXTERNAL_NET any -> $HOME_NET any "
	    "(sid:1;)", &in));
	/* <> matches the other way round too */
	assert_true(rmatch("alert tcp $EXTERNAL_NET any <> $HOME_NET any "
	    "(sid:1;)", &in));
	assert_true(rmatch("alert tcp any 1024: -> any :1023 (sid:1;)", &in));
	assert_false(rmatch("alert tcp any :1023 -> any any (sid:1;)", &in));
	assert_true(rmatch("alert tcp any any -> any 80:90 (sid:1;)", &in));
	assert_true(rmatch("alert tcp any any -> any [443,!81,70:85] "
	    "(sid:1;)", &in));
	assert_false(rmatch("alert tcp any any -> any [70:85,!80] (sid:1;)",
	    &in));
	assert_false(rmatch("alert tcp any any -> any $SHELLCODE_PORTS "
	    "(sid:1;)", &in));
	assert_true(rmatch("alert tcp any any -> any $FILE_DATA_PORTS "
	    "(sid:1;)", &in));
	assert_false(rmatch("alert tcp any any -> 2001:db8::/32 any (sid:1;)",
	    &in));
	/* protocol */
	assert_false(rmatch("alert udp any any -> any any (sid:1;)", &in));
	assert_true(rmatch("alert ip any any -> any any (sid:1;)", &in));
	/* a rule naming ports does not match a packet without ports */
	p.proto = PK_PROTO_ICMP;
	assert_false(rmatch("alert ip any any -> any 80 (sid:1;)", &in));
	assert_true(rmatch("alert ip any any -> any any (sid:1;)", &in));
	assert_true(rmatch("alert icmp any any -> any any (sid:1;)", &in));
}

static void
test_flags(void **state)
{
	struct pk_packet p = tcp(v4(1, 1, 1, 1), 1, v4(2, 2, 2, 2), 2,
	    PK_TH_SYN, T0);
	struct pk_rule_input in = input(&p);

	(void)state;
	assert_true(rmatch("alert tcp any any -> any any (flags:S; sid:1;)",
	    &in));
	assert_false(rmatch("alert tcp any any -> any any (flags:SA; sid:1;)",
	    &in));
	assert_true(rmatch("alert tcp any any -> any any (flags:*SA; sid:1;)",
	    &in));
	assert_false(rmatch("alert tcp any any -> any any (flags:!S; sid:1;)",
	    &in));
	assert_false(rmatch("alert tcp any any -> any any (flags:0; sid:1;)",
	    &in));
	assert_true(rmatch("alert tcp any any -> any any (flags:!0; sid:1;)",
	    &in));
	/* SYN with ECN bits: exact S fails unless 12 are ignored */
	p.tcp_flags = PK_TH_SYN | PK_TH_ECE | PK_TH_CWR;
	assert_false(rmatch("alert tcp any any -> any any (flags:S; sid:1;)",
	    &in));
	assert_true(rmatch("alert tcp any any -> any any (flags:S,12; "
	    "sid:1;)", &in));
	assert_true(rmatch("alert tcp any any -> any any (flags:S+; sid:1;)",
	    &in));
	/* Xmas: FPU */
	p.tcp_flags = PK_TH_FIN | PK_TH_PUSH | PK_TH_URG;
	assert_true(rmatch("alert tcp any any -> any any (flags:FPU; sid:1;)",
	    &in));
	assert_true(rmatch("alert tcp any any -> any any (flags:!A; sid:1;)",
	    &in));
	p.tcp_flags = 0;
	assert_true(rmatch("alert tcp any any -> any any (flags:0; sid:1;)",
	    &in));
	/* flags never match a udp packet, even in an ip rule */
	p.proto = PK_PROTO_UDP;
	assert_false(rmatch("alert ip any any -> any any (flags:0; sid:1;)",
	    &in));
}

static void
test_dsize_flow(void **state)
{
	struct pk_packet p = udpd(v4(1, 1, 1, 1), 1, v4(2, 2, 2, 2), 1434,
	    "0123456789", T0);
	struct pk_rule_input in = input(&p);

	(void)state;
	assert_true(rmatch("alert udp any any -> any any (dsize:10; sid:1;)",
	    &in));
	assert_false(rmatch("alert udp any any -> any any (dsize:!10; "
	    "sid:1;)", &in));
	assert_true(rmatch("alert udp any any -> any any (dsize:<11; sid:1;)",
	    &in));
	assert_false(rmatch("alert udp any any -> any any (dsize:>10; "
	    "sid:1;)", &in));
	assert_true(rmatch("alert udp any any -> any any (dsize:>=10; "
	    "sid:1;)", &in));
	assert_true(rmatch("alert udp any any -> any any (dsize:9<>11; "
	    "sid:1;)", &in));
	assert_false(rmatch("alert udp any any -> any any (dsize:10<>20; "
	    "sid:1;)", &in));	/* the range is exclusive */
	/* flow needs a flow */
	assert_false(rmatch("alert udp any any -> any any (flow:to_server; "
	    "sid:1;)", &in));
	assert_true(rmatch("alert udp any any -> any any (flow:stateless; "
	    "sid:1;)", &in));
	in.has_flow = 1;
	in.to_server = 1;
	assert_true(rmatch("alert udp any any -> any any (flow:to_server; "
	    "sid:1;)", &in));
	assert_true(rmatch("alert udp any any -> any any (flow:from_client, "
	    "not_established; sid:1;)", &in));
	assert_false(rmatch("alert udp any any -> any any (flow:to_client; "
	    "sid:1;)", &in));
	assert_false(rmatch("alert udp any any -> any any (flow:established; "
	    "sid:1;)", &in));
	in.established = 1;
	in.to_server = 0;
	assert_true(rmatch("alert udp any any -> any any "
	    "(flow:from_server,established; sid:1;)", &in));
}

/* ---- the prefilter ---------------------------------------------------------- */

struct hitlog {
	size_t		 n;
	uint32_t	 sid[64];
	int		 stream[64];
};

static void
hit(void *arg, const struct pk_rule *r, int on_stream)
{
	struct hitlog *h = arg;

	assert_true(h->n < 64);
	h->sid[h->n] = r->sid;
	h->stream[h->n++] = on_stream;
}

static void
test_prefilter(void **state)
{
	struct pk_ruleset *rs = rules(
	    "alert tcp any any -> any 445 (content:\"|ff|SMB\"; sid:1;)\n"
	    "alert tcp any any -> any any (content:\"evil\"; nocase; "
	    "content:\"x\"; sid:2;)\n"
	    "alert tcp any any -> any any (dsize:<10; content:\"EVIL\"; "
	    "sid:3;)\n"
	    "alert udp any any -> any 1434 (content:\"|04|\"; depth:1; "
	    "sid:4;)\n"
	    "alert ip any any -> any any (content:\"EVIL\"; sid:5;)\n"
	    "alert tcp any any -> any 445 (flags:S; sid:6;)\n"
	    "alert tcp any any -> any any (content:!\"benign\"; "
	    "flow:only_stream; sid:7;)\n"
	    "alert icmp any any -> any any (content:\"ping\"; sid:8;)\n");
	struct pk_packet p = tcpd(v4(1, 1, 1, 1), 1000, v4(2, 2, 2, 2), 445,
	    PK_TH_ACK, "EVIL", T0);
	struct pk_rule_input in = input(&p);
	struct hitlog h;
	const char *stream = "hello EVIL x \xffSMB";
	const struct pk_rules_stats *st = pk_ruleset_stats(rs);

	(void)state;
	/* no stream: the packet payload for every tcp rule */
	memset(&h, 0, sizeof(h));
	pk_ruleset_match(rs, &in, hit, &h);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.sid[0], 3);
	assert_int_equal(h.sid[1], 5);
	/* with a stream: stream rules see it, dsize and ip rules the packet */
	in.stream = (const uint8_t *)stream;
	in.stream_len = (uint32_t)strlen(stream);
	memset(&h, 0, sizeof(h));
	pk_ruleset_match(rs, &in, hit, &h);
	assert_int_equal(h.n, 5);
	assert_int_equal(h.sid[0], 1);
	assert_int_equal(h.stream[0], 1);
	assert_int_equal(h.sid[1], 2);
	assert_int_equal(h.sid[2], 7);
	assert_int_equal(h.sid[3], 3);
	assert_int_equal(h.stream[3], 0);
	assert_int_equal(h.sid[4], 5);
	/* a bare SYN: only the port-indexed header rule */
	p = tcpd(v4(1, 1, 1, 1), 1000, v4(2, 2, 2, 2), 445, PK_TH_SYN, NULL,
	    T0);
	in = input(&p);
	memset(&h, 0, sizeof(h));
	pk_ruleset_match(rs, &in, hit, &h);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.sid[0], 6);
	p.dport = 446;
	memset(&h, 0, sizeof(h));
	pk_ruleset_match(rs, &in, hit, &h);
	assert_int_equal(h.n, 0);
	/* udp: the slammer-like rule and the ip rule */
	p = udpd(v4(1, 1, 1, 1), 1000, v4(2, 2, 2, 2), 1434, "\x04" "EVIL",
	    T0);
	in = input(&p);
	memset(&h, 0, sizeof(h));
	pk_ruleset_match(rs, &in, hit, &h);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.sid[0], 4);
	assert_int_equal(h.sid[1], 5);
	p.proto = PK_PROTO_ICMP;
	p.payload = (const uint8_t *)"ping";
	p.payload_len = 4;
	memset(&h, 0, sizeof(h));
	pk_ruleset_match(rs, &in, hit, &h);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.sid[0], 8);
	assert_true(st->candidates >= st->matches);
	assert_true(st->evaluated > 0);
	pk_ruleset_free(rs);
}

/* ---- streams scanned once, with a cursor --------------------------------- */

/* Feed stream bytes [from, to) of text as one segment through a cursor. */
static void
feed_stream(struct pk_ruleset *rs, struct pk_packet *p,
    struct pk_stream_scan *cur, const char *text, uint32_t from,
    uint32_t to, struct hitlog *h)
{
	struct pk_rule_input in;
	char seg[256];

	assert_true(to - from < sizeof(seg));
	memcpy(seg, text + from, to - from);
	seg[to - from] = '\0';
	p->payload = (const uint8_t *)seg;
	p->payload_len = to - from;
	in = input(p);
	in.has_flow = 1;
	in.to_server = 1;
	in.established = 1;
	in.stream = (const uint8_t *)text;
	in.stream_len = to;
	in.stream_new = from;
	in.scan = cur;
	pk_ruleset_match(rs, &in, hit, h);
}

static void
test_stream_cursor(void **state)
{
	struct pk_ruleset *rs = rules(
	    "alert tcp any any -> any any (flow:established; "
	    "content:\"MAGICWORD\"; content:\"tail\"; distance:0; sid:1;)\n"
	    "alert tcp any any -> any any (content:\"span\"; sid:2;)\n"
	    "alert tcp any any -> any any (dsize:>0; content:\"PKTONLY\"; "
	    "sid:3;)\n");
	const char *text = "xxMAGICWORDyyyyspa" "nzzPKTONLYqqqPKT" "ONLYtail!";
	struct pk_packet p = tcpd(v4(1, 1, 1, 1), 1000, v4(2, 2, 2, 2), 80,
	    PK_TH_ACK, NULL, T0);
	struct pk_stream_scan cur;
	struct hitlog h;
	const struct pk_rules_stats *st = pk_ruleset_stats(rs);
	uint64_t bytes0;

	(void)state;
	memset(&cur, 0, sizeof(cur));
	memset(&h, 0, sizeof(h));
	/* sid 1's fast pattern arrives; its second content not yet */
	feed_stream(rs, &p, &cur, text, 0, 18, &h);
	assert_int_equal(h.n, 0);
	assert_int_equal(cur.npending, 1);
	assert_int_equal(cur.off, 18);
	/* "span" spans the segments; PKTONLY lies inside this payload */
	bytes0 = st->scanned_bytes;
	feed_stream(rs, &p, &cur, text, 18, 34, &h);
	assert_int_equal(st->scanned_bytes - bytes0, 16);	/* new only */
	assert_int_equal(h.n, 2);
	assert_int_equal(h.sid[0], 2);
	assert_int_equal(h.stream[0], 1);
	assert_int_equal(h.sid[1], 3);
	assert_int_equal(h.stream[1], 0);
	/* "PKT" + "ONLY" spans packets: the stream pass must not give it to
	 * the packet rule (not even as a candidate); "tail" completes sid
	 * 1, found earlier */
	memset(&h, 0, sizeof(h));
	bytes0 = st->candidates;
	feed_stream(rs, &p, &cur, text, 34, 43, &h);
	assert_int_equal(st->candidates - bytes0, 1);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.sid[0], 1);
	assert_int_equal(h.stream[0], 1);
	assert_int_equal(cur.npending, 0);
	/* the stream restarted after a hole: the cursor starts over */
	memset(&h, 0, sizeof(h));
	feed_stream(rs, &p, &cur, "span", 0, 4, &h);
	assert_int_equal(h.n, 1);
	assert_int_equal(cur.off, 4);
	pk_ruleset_free(rs);

	/* another rule set (a reload): its automaton starts over */
	rs = rules("alert tcp any any -> any any (content:\"yyyy\"; sid:9;)");
	memset(&h, 0, sizeof(h));
	feed_stream(rs, &p, &cur, text, 4, 20, &h);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.sid[0], 9);
	pk_stream_scan_reset(&cur);
	pk_ruleset_free(rs);
}

static uint32_t prng = 99;

static uint32_t
rnd(void)
{
	prng ^= prng << 13;
	prng ^= prng >> 17;
	prng ^= prng << 5;
	return prng;
}

/*
 * Differential: a stream fed in random segments matches through a cursor
 * exactly as a whole-stream rescan at every growth does (no cursor): the
 * same stream rules first match at the same segment, and the packet rules
 * match the same packets.  Short patterns over a small alphabet, relative
 * and absolute windows, negations, pending rules that wait for one of
 * their contents (four bytes and more) and those that are retried at
 * every growth (shorter contents, a header that refuses some packets),
 * and cursors whose pending list overflows.
 */
static void
test_stream_cursor_property(void **state)
{
	static const char *const rt =
	    "alert tcp any any -> any any (content:\"ab\"; content:\"ba\"; "
	    "distance:0; within:6; sid:1;)\n"
	    "alert tcp any any -> any any (content:\"aab\"; sid:2;)\n"
	    "alert tcp any any -> any any (content:\"bb\"; content:!\"aaaa\"; "
	    "sid:3;)\n"
	    "alert tcp any any -> any any (content:\"ca\"; offset:3; depth:20; "
	    "content:\"cb\"; distance:2; sid:4;)\n"
	    "alert tcp any any -> any any (content:\"abca\"; content:\"ccab\"; "
	    "distance:-4; within:8; sid:5;)\n"
	    "alert tcp any any -> any any (content:\"ACB\"; nocase; "
	    "content:\"bca\"; sid:6;)\n"
	    "alert tcp any any -> any any (content:\"cbaa\"; content:\"abcab\"; "
	    "sid:7;)\n"
	    "alert tcp any any -> any any (content:\"baca\"; content:\"ccca\"; "
	    "content:!\"aaaa\"; sid:8;)\n"
	    "alert tcp any any -> any any (content:\"abab\"; content:\"bAbA\"; "
	    "nocase; flags:AP; sid:9;)\n"
	    "alert tcp any any -> any any (dsize:>2; content:\"cab\"; "
	    "sid:10;)\n"
	    "alert ip any any -> any any (content:\"bcb\"; sid:11;)\n";
	struct pk_ruleset *a = rules(rt), *b = rules(rt);
	struct pk_packet p = tcpd(v4(1, 1, 1, 1), 1000, v4(2, 2, 2, 2), 80,
	    PK_TH_ACK, NULL, T0);
	/* a memcap that refuses every pending list: the overflow path */
	struct pk_stream_cfg tc = { 1024, 1, 0 };
	struct pk_streams *tiny = pk_streams_new(&tc);
	char text[200];
	int round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		struct pk_stream_scan cur;
		uint32_t len = 1 + rnd() % 150, off = 0, k, seg = 0;
		int first_a[16], first_b[16];
		size_t i;

		for (k = 0; k < len; k++)
			text[k] = "abcA"[rnd() % 4];
		text[len] = '\0';
		memset(&cur, 0, sizeof(cur));
		cur.owner = round % 4 == 3 ? tiny : NULL;
		for (i = 0; i < 16; i++)
			first_a[i] = first_b[i] = -1;
		while (off < len) {
			uint32_t to = off + 1 + rnd() % 12;
			struct hitlog ha, hb;

			to = to > len ? len : to;
			p.tcp_flags = rnd() % 3 ? PK_TH_ACK :
			    PK_TH_ACK | PK_TH_PUSH;
			memset(&ha, 0, sizeof(ha));
			memset(&hb, 0, sizeof(hb));
			feed_stream(a, &p, &cur, text, off, to, &ha);
			feed_stream(b, &p, NULL, text,
			    off, to, &hb);
			for (i = 0; i < ha.n; i++)
				if (ha.sid[i] < 10 && first_a[ha.sid[i]] < 0)
					first_a[ha.sid[i]] = (int)seg;
			for (i = 0; i < hb.n; i++)
				if (hb.sid[i] < 10 && first_b[hb.sid[i]] < 0)
					first_b[hb.sid[i]] = (int)seg;
			/* packet rules: the same, packet by packet */
			{
				uint32_t pa[8], pb[8];
				size_t na = 0, nb = 0;

				for (i = 0; i < ha.n; i++)
					if (ha.sid[i] >= 10)
						pa[na++] = ha.sid[i];
				for (i = 0; i < hb.n; i++)
					if (hb.sid[i] >= 10)
						pb[nb++] = hb.sid[i];
				assert_int_equal(na, nb);
				for (i = 0; i < na; i++)
					assert_int_equal(pa[i], pb[i]);
			}
			off = to;
			seg++;
		}
		for (i = 0; i < 16; i++)
			if (first_a[i] != first_b[i])
				fail_msg("round %d sid %zu: cursor %d, rescan "
				    "%d: %s", round, i, first_a[i],
				    first_b[i], text);
		pk_stream_scan_reset(&cur);
	}
	assert_true(pk_ruleset_stats(a)->stream_resumed > 0);
	assert_true(pk_ruleset_stats(a)->pending_overflow > 0);
	assert_true(pk_ruleset_stats(a)->pending_skipped > 0);
	assert_true(pk_streams_stats(tiny)->scan_refused > 0);
	assert_int_equal(pk_streams_stats(tiny)->mem, 0);
	pk_streams_free(tiny);
	pk_ruleset_free(a);
	pk_ruleset_free(b);
}

/* ---- thresholds -------------------------------------------------------- */

static int
run(struct pk_rule_thresh *t, const struct pk_rule *r, int n, uint64_t step,
    uint64_t start, char *out)
{
	struct pk_addr s = v4(1, 1, 1, 1), d = v4(2, 2, 2, 2);
	int i, alerts = 0;

	for (i = 0; i < n; i++) {
		int a = pk_rule_thresh_check(t, r, &s, &d, start + i * step);

		out[i] = a ? 'A' : '.';
		alerts += a;
	}
	out[n] = '\0';
	return alerts;
}

static void
test_thresholds(void **state)
{
	struct pk_ruleset *rs = rules(
	    "alert tcp any any -> any any (threshold:type limit, track by_src, "
	    "count 2, seconds 60; sid:1;)\n"
	    "alert tcp any any -> any any (threshold:type threshold, track "
	    "by_src, count 3, seconds 60; sid:2;)\n"
	    "alert tcp any any -> any any (threshold:type both, track by_dst, "
	    "count 3, seconds 60; sid:3;)\n"
	    "alert tcp any any -> any any (detection_filter:track by_src, "
	    "count 3, seconds 60; sid:4;)\n"
	    "alert tcp any any -> any any (threshold:type threshold, track "
	    "by_src, count 1, seconds 60; sid:5;)\n"
	    "alert tcp any any -> any any (sid:6;)\n");
	struct pk_rule_thresh *t = pk_rule_thresh_new(1024);
	struct pk_addr a = v4(1, 1, 1, 1), b = v4(3, 3, 3, 3);
	char out[64];

	(void)state;
	/* 8 matches 5 s apart: all inside one 60 s window */
	run(t, pk_ruleset_rule(rs, 0), 8, 5 * SEC, T0, out);
	assert_string_equal(out, "AA......");
	run(t, pk_ruleset_rule(rs, 1), 8, 5 * SEC, T0, out);
	assert_string_equal(out, "..A..A..");
	run(t, pk_ruleset_rule(rs, 2), 8, 5 * SEC, T0, out);
	assert_string_equal(out, "..A.....");
	run(t, pk_ruleset_rule(rs, 3), 8, 5 * SEC, T0, out);
	assert_string_equal(out, "...AAAAA");
	run(t, pk_ruleset_rule(rs, 4), 4, 5 * SEC, T0, out);
	assert_string_equal(out, "AAAA");
	run(t, pk_ruleset_rule(rs, 5), 3, 5 * SEC, T0, out);
	assert_string_equal(out, "AAA");
	/* a later window starts over (limit: two more alerts) */
	run(t, pk_ruleset_rule(rs, 0), 3, 5 * SEC, T0 + 100 * SEC, out);
	assert_string_equal(out, "AA.");
	run(t, pk_ruleset_rule(rs, 3), 4, 5 * SEC, T0 + 100 * SEC, out);
	assert_string_equal(out, "...A");
	/* 30 s apart: the detection_filter never gets 4 within 60 s */
	run(t, pk_ruleset_rule(rs, 3), 6, 30 * SEC, T0 + 1000 * SEC, out);
	assert_string_equal(out, "......");
	/* tracked per source: another source has its own count */
	assert_int_equal(pk_rule_thresh_check(t, pk_ruleset_rule(rs, 0), &b,
	    &a, T0 + 101 * SEC), 1);
	pk_rule_thresh_free(t);

	/* eviction at the cap, counted */
	t = pk_rule_thresh_new(4);
	{
		int i;

		for (i = 0; i < 10; i++) {
			struct pk_addr s = v4(9, 9, 9, (uint8_t)i);

			assert_int_equal(pk_rule_thresh_check(t,
			    pk_ruleset_rule(rs, 0), &s, &a, T0), 1);
		}
	}
	assert_int_equal(pk_rule_thresh_entries(t), 4);
	assert_int_equal(pk_rule_thresh_evicted(t), 6);
	pk_rule_thresh_free(t);
	pk_ruleset_free(rs);
}

/* ---- the detector through its ops --------------------------------------- */

struct rec {
	char		 rule_id[16];
	int		 phase, severity, direction;
	uint64_t	 count;
	char		 fp[33];
	char		 details[512];
	char		 ruleset[64], ref[64], cat[64], ver[16], name[128];
};

#include "tests/unit/engine_double.h"

static void
ed_record(struct rec *r, struct pk_indicator *ind)
{
	snprintf(r->rule_id, sizeof(r->rule_id), "%s", ind->rule_id);
	snprintf(r->ruleset, sizeof(r->ruleset), "%s", ind->ruleset);
	snprintf(r->ref, sizeof(r->ref), "%s", ind->rule_reference ?
	    ind->rule_reference : "");
	snprintf(r->cat, sizeof(r->cat), "%s", ind->rule_category ?
	    ind->rule_category : "");
	snprintf(r->ver, sizeof(r->ver), "%s", ind->rule_version);
	snprintf(r->name, sizeof(r->name), "%s", ind->rule_name);
	assert_string_equal(ind->dataset, "picket.rules");
}

static const char detector_rules[] =
    "alert tcp $EXTERNAL_NET any -> $HOME_NET 135 (msg:\"DCOM bind\"; "
    "flow:to_server,established; content:\"|05 00 0b|\"; depth:3; "
    "reference:cve,2003-0352; classtype:attempted-admin; sid:100; rev:2;)\n"
    "alert udp any any -> any 1434 (msg:\"Slammer\"; content:\"|04|\"; "
    "depth:1; content:\"sock\"; sid:200; rev:1; priority:3;)\n"
    "alert udp any any -> any 9999 (msg:\"limited\"; content:\"L\"; "
    "threshold:type limit, track by_src, count 1, seconds 60; sid:300;)\n"
    "alert tcp any any -> any any (msg:\"unsupported\"; pcre:\"/x/\"; "
    "sid:400;)\n";

struct h {
	struct pk_engine	 e;
	struct pk_config	 cfg;
	void			*st;
	struct pk_flow		 flow;
};

static void
h_init(struct h *h, int offline, const char *path)
{
	FILE *fp;

	memset(h, 0, sizeof(*h));
	h->e.offline = offline;
	pk_config_defaults(&h->cfg);
	h->cfg.output.update_interval = 0;
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(detector_rules, fp);
	fclose(fp);
	pk_sigdet_set_rule_file(path);
	assert_true(pk_detector_sig.enabled(&h->cfg));
	h->st = pk_detector_sig.init(&h->e, &h->cfg);
	assert_non_null(h->st);
}

static void
h_free(struct h *h, const char *path)
{
	pk_detector_sig.free(h->st);
	pk_sigdet_set_rule_file(NULL);
	remove(path);
}

/* One TCP segment of h->flow (dir FWD or REV) with a stream view. */
static void
h_tcp(struct h *h, int dir, const char *data, const struct pk_stream_view *v,
    uint64_t ts)
{
	struct pk_packet p;
	struct pk_pktctx c;

	p = dir == PK_DIR_FWD ? tcpd(h->flow.src, h->flow.sport, h->flow.dst,
	    h->flow.dport, PK_TH_ACK | PK_TH_PUSH, data, ts) :
	    tcpd(h->flow.dst, h->flow.dport, h->flow.src, h->flow.sport,
	    PK_TH_ACK | PK_TH_PUSH, data, ts);
	memset(&c, 0, sizeof(c));
	c.pkt = &p;
	c.flow = &h->flow;
	c.dir = dir;
	c.src_home = p.src.a[0] == 10;
	c.dst_home = p.dst.a[0] == 10;
	c.stream = v;
	pk_detector_sig.packet(h->st, &c);
}

static void
h_udp(struct h *h, struct pk_addr s, struct pk_addr d, uint16_t dp,
    const char *data, uint64_t ts)
{
	struct pk_packet p = udpd(s, 5000, d, dp, data, ts);
	struct pk_pktctx c;
	struct pk_flow f;

	memset(&f, 0, sizeof(f));
	f.src = s;
	f.dst = d;
	f.proto = PK_PROTO_UDP;
	f.pkts[0] = 1;
	f.first_us = ts;
	memset(&c, 0, sizeof(c));
	c.pkt = &p;
	c.flow = &f;
	c.dir = PK_DIR_FWD;
	c.src_home = s.a[0] == 10;
	c.dst_home = d.a[0] == 10;
	pk_detector_sig.packet(h->st, &c);
}

static void
test_detector_stream(void **state)
{
	const char *path = "test_rules_match.tmp.rules";
	struct h h;
	struct pk_stream_view v;
	char buf[64];

	(void)state;
	h_init(&h, 0, path);
	h.flow.src = v4(198, 51, 100, 7);
	h.flow.dst = v4(10, 0, 0, 5);
	h.flow.sport = 3333;
	h.flow.dport = 135;
	h.flow.proto = PK_PROTO_TCP;
	h.flow.state = PK_FS_ESTABLISHED;
	h.flow.first_us = T0;
	/* the bind arrives in two segments: only the stream shows it */
	memcpy(buf, "\x05\x00\x0b\x03rest", 8);
	memset(&v, 0, sizeof(v));
	v.data = (const uint8_t *)buf;
	v.len = 2;
	h_tcp(&h, PK_DIR_FWD, "\x05", &v, T0 + 1);
	assert_int_equal(h.e.n, 0);
	v.len = 8;
	v.new_off = 2;
	h_tcp(&h, PK_DIR_FWD, "\x0b\x03rest", &v, T0 + 2);
	assert_int_equal(h.e.n, 1);
	assert_int_equal(h.e.rec[0].phase, PK_PHASE_START);
	assert_string_equal(h.e.rec[0].rule_id, "100");
	assert_string_equal(h.e.rec[0].name, "DCOM bind");
	assert_string_equal(h.e.rec[0].ruleset, "test_rules_match.tmp.rules");
	assert_string_equal(h.e.rec[0].ref, "cve:2003-0352");
	assert_string_equal(h.e.rec[0].cat, "attempted-admin");
	assert_string_equal(h.e.rec[0].ver, "2");
	assert_int_equal(h.e.rec[0].severity, PK_SEV_HIGH);
	assert_int_equal(h.e.rec[0].direction, PK_DIRN_INBOUND);
	assert_non_null(strstr(h.e.rec[0].details, "\"method\":\"signature\""));
	assert_non_null(strstr(h.e.rec[0].details, "\"sid\":100"));
	assert_non_null(strstr(h.e.rec[0].details, "\"matched\":\"stream\""));
	/* the stream grows: the same flow direction is not reported again */
	v.len = 12;
	memcpy(buf + 8, "more", 4);
	h_tcp(&h, PK_DIR_FWD, "more", &v, T0 + 3);
	assert_int_equal(h.e.n, 1);
	/* not established: no match on a new flow */
	h.flow.state = PK_FS_SYN_RCVD;
	h.flow.first_us = T0 + 10;
	h_tcp(&h, PK_DIR_FWD, "more", &v, T0 + 11);
	assert_int_equal(h.e.n, 1);
	/* a second flow from the same source counts into the indicator */
	h.flow.state = PK_FS_ESTABLISHED;
	h.flow.sport = 3334;
	h.flow.first_us = T0 + 20;
	h_tcp(&h, PK_DIR_FWD, "x", &v, T0 + 21);
	assert_int_equal(h.e.n, 1);	/* update_interval 0: no CHANGE */
	pk_detector_sig.flush(h.st, T0 + 30);
	assert_int_equal(h.e.n, 2);
	assert_int_equal(h.e.rec[1].phase, PK_PHASE_END);
	assert_int_equal(h.e.rec[1].count, 2);
	assert_string_equal(h.e.rec[0].fp, h.e.rec[1].fp);
	h_free(&h, path);
}

static void
test_detector_udp_offline(void **state)
{
	const char *path = "test_rules_match.tmp2.rules";
	struct h h;
	char fp_out[33];
	size_t i;

	(void)state;
	h_init(&h, 1, path);
	/* Slammer from outside, three times; then from a home host */
	for (i = 0; i < 3; i++)
		h_udp(&h, v4(203, 0, 113, 9), v4(10, 0, 0, 9), 1434,
		    "\x04\x01\x01\x01sock", T0 + i * SEC);
	assert_int_equal(h.e.n, 0);		/* offline: END only */
	h_udp(&h, v4(10, 0, 0, 9), v4(198, 51, 100, 1), 1434,
	    "\x04\x01\x01\x01sock", T0 + 5 * SEC);
	h_udp(&h, v4(10, 0, 0, 9), v4(198, 51, 100, 1), 1434, "\x05sock",
	    T0 + 6 * SEC);
	/* the limited rule: one alert a minute per source */
	for (i = 0; i < 5; i++)
		h_udp(&h, v4(203, 0, 113, 9), v4(10, 0, 0, 9), 9999, "L",
		    T0 + i * SEC);
	pk_detector_sig.tick(h.st, T0 + 10 * SEC);
	assert_int_equal(h.e.n, 0);		/* not idle yet */
	pk_detector_sig.tick(h.st, T0 + 3600 * SEC);
	assert_int_equal(h.e.n, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(h.e.rec[i].phase, PK_PHASE_END);
	assert_string_equal(h.e.rec[0].rule_id, "200");
	assert_int_equal(h.e.rec[0].count, 3);
	assert_int_equal(h.e.rec[0].severity, PK_SEV_LOW);	/* priority 3 */
	assert_non_null(strstr(h.e.rec[0].details, "\"matched\":\"packet\""));
	assert_string_equal(h.e.rec[1].rule_id, "200");
	assert_int_equal(h.e.rec[1].count, 1);
	assert_int_equal(h.e.rec[1].severity, PK_SEV_CRITICAL);
	assert_int_equal(h.e.rec[1].direction, PK_DIRN_OUTBOUND);
	assert_string_equal(h.e.rec[2].rule_id, "300");
	assert_int_equal(h.e.rec[2].count, 1);
	/* the fingerprint has no addresses but the direction */
	memcpy(fp_out, h.e.rec[1].fp, sizeof(fp_out));
	assert_string_not_equal(h.e.rec[0].fp, fp_out);
	pk_detector_sig.flush(h.st, T0 + 3601 * SEC);
	assert_int_equal(h.e.n, 3);		/* nothing left open */
	h_free(&h, path);
}

static void
test_rules_check(void **state)
{
	const char *path = "test_rules_match.tmp3.rules";
	static struct pk_config cfg;
	char out[4096], err[128];
	FILE *fp, *o;
	size_t n;

	(void)state;
	pk_config_defaults(&cfg);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(detector_rules, fp);
	fclose(fp);
	o = fopen("test_rules_match.tmp4.out", "w+b");
	assert_non_null(o);
	assert_int_equal(pk_rules_check(&cfg, path, o), 0);
	assert_int_equal(pk_rules_check(&cfg, "no/such.rules", o), 1);
	/* default paths that do not exist are skipped silently, others not */
	assert_int_equal(pk_rules_check(&cfg, NULL, o), 0);
	assert_int_equal(pk_config_set(&cfg, "rules", "paths",
	    "/usr/share/picket/rules, test_rules_match.tmp3.rules ,nope.rules",
	    err, sizeof(err)), 0);
	assert_int_equal(pk_rules_check(&cfg, NULL, o), 1);
	rewind(o);
	n = fread(out, 1, sizeof(out) - 1, o);
	out[n] = '\0';
	fclose(o);
	remove("test_rules_match.tmp4.out");
	assert_non_null(strstr(out, "test_rules_match.tmp3.rules:4: sid 400: "
	    "unsupported keyword \"pcre\"\n"));
	assert_non_null(strstr(out, "rules: 3 loaded, 1 skipped\n"));
	assert_non_null(strstr(out, "rules: skipped 1: unsupported keyword "
	    "\"pcre\"\n"));
	assert_non_null(strstr(out, "no/such.rules: cannot read\n"));
	assert_non_null(strstr(out, "rules: 0 loaded, 0 skipped\n"));
	assert_non_null(strstr(out, "nope.rules: no such file or directory\n"));
	remove(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offset_depth),
		cmocka_unit_test(test_distance_within),
		cmocka_unit_test(test_backtracking),
		cmocka_unit_test(test_negation_nocase),
		cmocka_unit_test(test_inspect_limit),
		cmocka_unit_test(test_addresses_ports),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_dsize_flow),
		cmocka_unit_test(test_prefilter),
		cmocka_unit_test(test_stream_cursor),
		cmocka_unit_test(test_stream_cursor_property),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_detector_stream),
		cmocka_unit_test(test_detector_udp_offline),
		cmocka_unit_test(test_rules_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
