/*
 * test_flow.c - unit tests for the flow table (collectors/pcap/flow.c):
 * every TCP state transition, attempt outcomes (SYN-ACK, RST, ICMP
 * unreachable, timeouts), UDP replies and silence, LRU eviction at
 * max_flows, expiry order and flush.  Packets are built by hand as struct
 * pk_packet (tests/unit/pktbuild.h), so no decoder is involved.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "collectors/pcap/flow.h"
#include "tests/unit/pktbuild.h"

#define SEC 1000000ULL
#define T0 (1700000000ULL * SEC)

struct ev {
	int		event;
	uint16_t	sport, dport;
	uint8_t		proto;
	uint8_t		state;
	uint8_t		outcome;
	uint64_t	now;
};

struct rec {
	struct ev	ev[64];
	size_t		n;
};

static void
record(void *arg, const struct pk_flow *f, int event, uint64_t now)
{
	struct rec *r = arg;

	assert_true(r->n < 64);
	r->ev[r->n].event = event;
	r->ev[r->n].sport = f->sport;
	r->ev[r->n].dport = f->dport;
	r->ev[r->n].proto = f->proto;
	r->ev[r->n].state = f->state;
	r->ev[r->n].outcome = f->outcome;
	r->ev[r->n].now = now;
	r->n++;
}

static const struct pk_flow_cfg cfg_default = {
	.max_flows = 100,
	.tcp_attempt_timeout_s = 30,
	.tcp_established_timeout_s = 3600,
	.tcp_closed_timeout_s = 10,
	.udp_timeout_s = 60,
	.other_timeout_s = 60,
};

static struct pk_flow *
feed(struct pk_flow_table *t, struct pk_packet p, int *dir, int *is_new)
{
	return pk_flow_update(t, &p, dir, is_new);
}

static struct pk_addr A, B, C;

static int
setup(void **state)
{
	(void)state;
	A = v4(10, 0, 0, 5);
	B = v4(10, 0, 0, 9);
	C = v4(192, 0, 2, 1);
	return 0;
}

static void
test_tcp_handshake_and_close(void **state)
{
	struct rec r = { .n = 0 };
	struct pk_flow_table *t = pk_flow_table_new(&cfg_default, record, &r);
	struct pk_flow *f, *g;
	int dir, nw;

	(void)state;
	assert_non_null(t);
	f = feed(t, tcp(A, 40000, B, 80, PK_TH_SYN, T0), &dir, &nw);
	assert_non_null(f);
	assert_int_equal(nw, 1);
	assert_int_equal(dir, PK_DIR_FWD);
	assert_int_equal(f->state, PK_FS_SYN_SENT);
	assert_int_equal(f->saw_syn, 1);
	assert_int_equal(f->first_flags, PK_TH_SYN);
	assert_int_equal(r.n, 0);

	g = feed(t, tcp(B, 80, A, 40000, PK_TH_SYN | PK_TH_ACK, T0 + 1000),
	    &dir, &nw);
	assert_ptr_equal(g, f);
	assert_int_equal(nw, 0);
	assert_int_equal(dir, PK_DIR_REV);
	assert_int_equal(f->state, PK_FS_SYN_RCVD);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].event, PK_FE_ATTEMPT_OK);
	assert_int_equal(f->outcome, PK_FE_ATTEMPT_OK);

	feed(t, tcp(A, 40000, B, 80, PK_TH_ACK, T0 + 2000), &dir, &nw);
	assert_int_equal(dir, PK_DIR_FWD);
	assert_int_equal(f->state, PK_FS_ESTABLISHED);
	feed(t, tcp(A, 40000, B, 80, PK_TH_ACK | PK_TH_FIN, T0 + 3000), &dir,
	    &nw);
	assert_int_equal(f->state, PK_FS_FIN);
	feed(t, tcp(B, 80, A, 40000, PK_TH_ACK | PK_TH_FIN, T0 + 4000), &dir,
	    &nw);
	assert_int_equal(f->state, PK_FS_CLOSED);
	assert_int_equal(f->pkts[PK_DIR_FWD], 3);
	assert_int_equal(f->pkts[PK_DIR_REV], 2);
	assert_int_equal(f->bytes[PK_DIR_FWD], 120);
	assert_int_equal(f->tcp_flags[PK_DIR_REV],
	    PK_TH_SYN | PK_TH_ACK | PK_TH_FIN);
	assert_int_equal(r.n, 1);	/* no new events during the close */

	/* closed timeout is 10 s: not yet at 9 s, gone at 10 s */
	pk_flow_expire(t, T0 + 4000 + 9 * SEC);
	assert_int_equal(r.n, 1);
	assert_int_equal(pk_flow_stats(t)->active, 1);
	pk_flow_expire(t, T0 + 4000 + 10 * SEC);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[1].event, PK_FE_END);
	assert_int_equal(r.ev[1].state, PK_FS_CLOSED);
	assert_int_equal(pk_flow_stats(t)->active, 0);
	assert_int_equal(pk_flow_stats(t)->expired, 1);
	assert_int_equal(pk_flow_stats(t)->attempts_ok, 1);
	assert_int_equal(pk_flow_stats(t)->created, 1);
	pk_flow_table_free(t);
}

static void
test_tcp_rst_fails_attempt_once(void **state)
{
	struct rec r = { .n = 0 };
	struct pk_flow_table *t = pk_flow_table_new(&cfg_default, record, &r);
	struct pk_flow *f;
	int dir, nw;

	(void)state;
	f = feed(t, tcp(A, 40001, B, 23, PK_TH_SYN, T0), &dir, &nw);
	feed(t, tcp(B, 23, A, 40001, PK_TH_RST | PK_TH_ACK, T0 + 100), &dir,
	    &nw);
	assert_int_equal(f->state, PK_FS_RESET);
	assert_int_equal(f->outcome, PK_FE_ATTEMPT_FAIL);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].event, PK_FE_ATTEMPT_FAIL);
	/* An ICMP error or a second RST must not report a second outcome. */
	{
		struct pk_packet p = unreach(B, A, 3, PK_PROTO_TCP, A, 40001,
		    B, 23, T0 + 200);

		assert_null(pk_flow_update(t, &p, &dir, &nw));
	}
	feed(t, tcp(B, 23, A, 40001, PK_TH_RST, T0 + 300), &dir, &nw);
	assert_int_equal(r.n, 1);
	pk_flow_flush(t, T0 + SEC);
	/* END only: the attempt already has its outcome */
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[1].event, PK_FE_END);
	assert_int_equal(pk_flow_stats(t)->attempts_fail, 1);
	pk_flow_table_free(t);
}

static void
test_tcp_attempt_timeout(void **state)
{
	struct rec r = { .n = 0 };
	struct pk_flow_table *t = pk_flow_table_new(&cfg_default, record, &r);
	int dir, nw;

	(void)state;
	/* An established flow first: it sits at the old end of the LRU
	 * with a long timeout and must not hold back the SYN timeout. */
	feed(t, tcp(A, 5000, C, 443, PK_TH_SYN, T0), &dir, &nw);
	feed(t, tcp(C, 443, A, 5000, PK_TH_SYN | PK_TH_ACK, T0 + 10), &dir,
	    &nw);
	feed(t, tcp(A, 5000, C, 443, PK_TH_ACK, T0 + 20), &dir, &nw);
	r.n = 0;

	feed(t, tcp(A, 40002, B, 445, PK_TH_SYN, T0 + SEC), &dir, &nw);
	/* retransmissions do not restart the attempt clock */
	feed(t, tcp(A, 40002, B, 445, PK_TH_SYN, T0 + 4 * SEC), &dir, &nw);
	assert_int_equal(nw, 0);
	pk_flow_expire(t, T0 + 30 * SEC);
	assert_int_equal(r.n, 0);
	pk_flow_expire(t, T0 + 31 * SEC);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].event, PK_FE_ATTEMPT_FAIL);
	assert_int_equal(r.ev[0].dport, 445);
	assert_int_equal(r.ev[1].event, PK_FE_END);
	assert_int_equal(r.ev[1].dport, 445);
	assert_int_equal(pk_flow_stats(t)->active, 1);
	assert_int_equal(pk_flow_stats(t)->expired, 1);
	assert_int_equal(pk_flow_stats(t)->attempts_fail, 1);
	/* time stepping back expires nothing */
	pk_flow_expire(t, T0);
	assert_int_equal(r.n, 2);
	pk_flow_table_free(t);
}

static void
test_midstream_and_stealth_probes(void **state)
{
	struct rec r = { .n = 0 };
	struct pk_flow_table *t = pk_flow_table_new(&cfg_default, record, &r);
	struct pk_flow *f;
	static const uint8_t probes[] = { 0, PK_TH_FIN,
	    PK_TH_FIN | PK_TH_PUSH | PK_TH_URG, PK_TH_ACK };
	size_t i;
	int dir, nw;

	(void)state;
	/* FIN/NULL/Xmas/ACK probes answered by RST: no attempt events. */
	for (i = 0; i < sizeof(probes); i++) {
		f = feed(t, tcp(A, 41000, B, (uint16_t)(100 + i), probes[i],
		    T0), &dir, &nw);
		assert_int_equal(nw, 1);
		assert_int_equal(f->state, PK_FS_NEW);
		assert_int_equal(f->saw_syn, 0);
		assert_int_equal(f->first_flags, probes[i]);
		feed(t, tcp(B, (uint16_t)(100 + i), A, 41000,
		    PK_TH_RST | PK_TH_ACK, T0 + 10), &dir, &nw);
		assert_int_equal(dir, PK_DIR_REV);
		assert_int_equal(f->state, PK_FS_RESET);
		assert_int_equal(f->outcome, 0);
	}
	/* a flow joined midway: the first sender is the initiator */
	f = feed(t, tcp(C, 443, A, 5555, PK_TH_ACK | PK_TH_PUSH, T0 + 20),
	    &dir, &nw);
	assert_int_equal(f->state, PK_FS_NEW);
	assert_int_equal(f->sport, 443);
	feed(t, tcp(A, 5555, C, 443, PK_TH_ACK, T0 + 30), &dir, &nw);
	assert_int_equal(dir, PK_DIR_REV);
	assert_int_equal(f->state, PK_FS_ESTABLISHED);
	assert_int_equal(r.n, 0);
	pk_flow_flush(t, T0 + SEC);
	assert_int_equal(r.n, 5);
	for (i = 0; i < r.n; i++)
		assert_int_equal(r.ev[i].event, PK_FE_END);
	assert_int_equal(pk_flow_stats(t)->attempts_ok +
	    pk_flow_stats(t)->attempts_fail, 0);
	pk_flow_table_free(t);
}

static void
test_udp_reply_silence_unreachable(void **state)
{
	struct rec r = { .n = 0 };
	struct pk_flow_table *t = pk_flow_table_new(&cfg_default, record, &r);
	struct pk_addr mc = v4(224, 0, 0, 251);
	struct pk_packet p;
	struct pk_flow *f;
	int dir, nw;

	(void)state;
	/* answered */
	f = feed(t, udp(A, 53000, C, 53, T0), &dir, &nw);
	assert_int_equal(nw, 1);
	assert_int_equal(f->state, PK_FS_NEW);
	feed(t, udp(C, 53, A, 53000, T0 + 5000), &dir, &nw);
	assert_int_equal(dir, PK_DIR_REV);
	assert_int_equal(f->state, PK_FS_ESTABLISHED);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].event, PK_FE_ATTEMPT_OK);

	/* refused: ICMP port unreachable quoting the datagram */
	feed(t, udp(A, 53001, B, 161, T0 + SEC), &dir, &nw);
	p = unreach(B, A, 3, PK_PROTO_UDP, A, 53001, B, 161, T0 + SEC + 10);
	assert_null(pk_flow_update(t, &p, &dir, &nw));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[1].event, PK_FE_ATTEMPT_FAIL);
	assert_int_equal(r.ev[1].dport, 161);

	/* "fragmentation needed" is not a failure; an ICMP quoting the
	 * reply direction is not about our attempt either */
	feed(t, udp(A, 53002, B, 500, T0 + 2 * SEC), &dir, &nw);
	p = unreach(B, A, 4, PK_PROTO_UDP, A, 53002, B, 500, T0 + 2 * SEC);
	pk_flow_update(t, &p, &dir, &nw);
	p = unreach(A, B, 3, PK_PROTO_UDP, B, 500, A, 53002, T0 + 2 * SEC);
	pk_flow_update(t, &p, &dir, &nw);
	assert_int_equal(r.n, 2);

	/* multicast is never an attempt */
	feed(t, udp(A, 5353, mc, 5353, T0 + 2 * SEC), &dir, &nw);

	/* silence: FAIL at udp_timeout (60 s) after the first datagram,
	 * and the flow stays until it is idle */
	pk_flow_expire(t, T0 + 2 * SEC + 59 * SEC);
	assert_int_equal(pk_flow_stats(t)->attempts_fail, 1);
	pk_flow_expire(t, T0 + 2 * SEC + 60 * SEC);
	/* the answered and refused flows idled out too (last packet at
	 * <= T0 + 1 s): END for both, FAIL for port 500 */
	assert_int_equal(pk_flow_stats(t)->attempts_fail, 2);
	{
		size_t i, fails = 0, ends = 0;

		for (i = 2; i < r.n; i++) {
			if (r.ev[i].event == PK_FE_ATTEMPT_FAIL) {
				assert_int_equal(r.ev[i].dport, 500);
				fails++;
			} else if (r.ev[i].event == PK_FE_END)
				ends++;
		}
		assert_int_equal(fails, 1);
		assert_int_equal(ends, 4);
	}
	assert_int_equal(pk_flow_stats(t)->active, 0);
	pk_flow_table_free(t);
}

static void
test_icmp_unreachable_for_syn(void **state)
{
	struct rec r = { .n = 0 };
	struct pk_flow_table *t = pk_flow_table_new(&cfg_default, record, &r);
	struct pk_addr router = v4(198, 51, 100, 1);
	struct pk_packet p;
	struct pk_flow *f;
	int dir, nw;

	(void)state;
	f = feed(t, tcp(A, 40003, C, 80, PK_TH_SYN, T0), &dir, &nw);
	/* admin prohibited, sent by a router, not the target */
	p = unreach(router, A, 13, PK_PROTO_TCP, A, 40003, C, 80, T0 + 100);
	assert_null(pk_flow_update(t, &p, &dir, &nw));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].event, PK_FE_ATTEMPT_FAIL);
	assert_int_equal(f->outcome, PK_FE_ATTEMPT_FAIL);
	/* a late SYN-ACK is not a second outcome */
	feed(t, tcp(C, 80, A, 40003, PK_TH_SYN | PK_TH_ACK, T0 + 200), &dir,
	    &nw);
	assert_int_equal(r.n, 1);
	/* off the attempt list: the attempt timeout no longer ends it */
	pk_flow_expire(t, T0 + 31 * SEC);
	assert_int_equal(r.n, 1);
	/* an ICMP for a flow we never saw is ignored */
	p = unreach(router, A, 1, PK_PROTO_TCP, A, 1, C, 2, T0 + 300);
	assert_null(pk_flow_update(t, &p, &dir, &nw));
	assert_int_equal(r.n, 1);
	assert_int_equal(pk_flow_stats(t)->active, 1);
	pk_flow_table_free(t);
}

static void
test_eviction_lru(void **state)
{
	struct pk_flow_cfg c = cfg_default;
	struct rec r = { .n = 0 };
	struct pk_flow_table *t;
	int dir, nw;

	(void)state;
	c.max_flows = 2;
	t = pk_flow_table_new(&c, record, &r);
	feed(t, tcp(A, 1, B, 1001, PK_TH_SYN, T0), &dir, &nw);
	feed(t, tcp(A, 2, B, 1002, PK_TH_SYN, T0 + 1), &dir, &nw);
	/* touch the first: the second becomes least recently used */
	feed(t, tcp(A, 1, B, 1001, PK_TH_SYN, T0 + 2), &dir, &nw);
	assert_int_equal(nw, 0);
	feed(t, tcp(A, 3, B, 1003, PK_TH_SYN, T0 + 3), &dir, &nw);
	assert_int_equal(nw, 1);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[0].event, PK_FE_ATTEMPT_FAIL);
	assert_int_equal(r.ev[0].dport, 1002);
	assert_int_equal(r.ev[1].event, PK_FE_END);
	assert_int_equal(r.ev[1].dport, 1002);
	assert_int_equal(pk_flow_stats(t)->evicted, 1);
	assert_int_equal(pk_flow_stats(t)->active, 2);
	/* an answered flow is evicted with END only */
	feed(t, tcp(B, 1001, A, 1, PK_TH_SYN | PK_TH_ACK, T0 + 4), &dir, &nw);
	assert_int_equal(r.ev[2].event, PK_FE_ATTEMPT_OK);
	feed(t, tcp(A, 4, B, 1004, PK_TH_SYN, T0 + 5), &dir, &nw);
	feed(t, tcp(A, 5, B, 1005, PK_TH_SYN, T0 + 6), &dir, &nw);
	assert_int_equal(pk_flow_stats(t)->evicted, 3);
	assert_int_equal(pk_flow_stats(t)->active, 2);
	assert_int_equal(pk_flow_stats(t)->created, 5);
	pk_flow_table_free(t);
}

static void
test_flush_and_recycle(void **state)
{
	struct rec r = { .n = 0 };
	struct pk_flow_table *t = pk_flow_table_new(&cfg_default, record, &r);
	struct pk_flow *f;
	int dir, nw;
	size_t i, fails = 0, ends = 0;

	(void)state;
	/* RST'd attempt, then the same tuple SYNs again: a new flow */
	feed(t, tcp(A, 40010, B, 22, PK_TH_SYN, T0), &dir, &nw);
	feed(t, tcp(B, 22, A, 40010, PK_TH_RST | PK_TH_ACK, T0 + 1), &dir,
	    &nw);
	f = feed(t, tcp(A, 40010, B, 22, PK_TH_SYN, T0 + 2), &dir, &nw);
	assert_int_equal(nw, 1);
	assert_int_equal(f->state, PK_FS_SYN_SENT);
	assert_int_equal(f->outcome, 0);
	assert_int_equal(r.n, 2);	/* FAIL, END of the old flow */
	assert_int_equal(r.ev[1].event, PK_FE_END);
	assert_int_equal(pk_flow_stats(t)->created, 2);

	feed(t, udp(A, 6000, C, 123, T0 + 3), &dir, &nw);
	feed(t, tcp(A, 40011, C, 443, PK_TH_SYN, T0 + 4), &dir, &nw);
	feed(t, tcp(C, 443, A, 40011, PK_TH_SYN | PK_TH_ACK, T0 + 5), &dir,
	    &nw);
	r.n = 0;
	pk_flow_flush(t, T0 + SEC);
	for (i = 0; i < r.n; i++) {
		if (r.ev[i].event == PK_FE_ATTEMPT_FAIL) {
			fails++;
			/* FAIL comes right before the END of its flow */
			assert_true(i + 1 < r.n);
			assert_int_equal(r.ev[i + 1].event, PK_FE_END);
			assert_int_equal(r.ev[i + 1].dport, r.ev[i].dport);
		} else if (r.ev[i].event == PK_FE_END)
			ends++;
	}
	assert_int_equal(fails, 2);	/* the SYN to 22 and NTP */
	assert_int_equal(ends, 3);
	assert_int_equal(pk_flow_stats(t)->active, 0);
	pk_flow_flush(t, T0 + 2 * SEC);
	assert_int_equal(r.n, 5);
	pk_flow_table_free(t);
}

static void
test_ipv6_and_many_flows(void **state)
{
	struct rec r = { .n = 0 };
	struct pk_flow_cfg c = cfg_default;
	struct pk_flow_table *t;
	struct pk_addr s6, d6;
	struct pk_flow *f;
	uint32_t i;
	int dir, nw;

	(void)state;
	memset(&s6, 0, sizeof(s6));
	s6.family = 6;
	s6.a[0] = 0x20;
	s6.a[1] = 0x01;
	s6.a[2] = 0x0d;
	s6.a[3] = 0xb8;
	s6.a[15] = 1;
	d6 = s6;
	d6.a[15] = 2;
	c.max_flows = 5000;
	t = pk_flow_table_new(&c, record, &r);
	f = feed(t, tcp(s6, 1234, d6, 80, PK_TH_SYN, T0), &dir, &nw);
	feed(t, tcp(d6, 80, s6, 1234, PK_TH_SYN | PK_TH_ACK, T0 + 1), &dir,
	    &nw);
	assert_int_equal(f->state, PK_FS_SYN_RCVD);
	assert_int_equal(r.ev[0].event, PK_FE_ATTEMPT_OK);
	/* many flows, every one found again in the reply direction */
	for (i = 0; i < 4000; i++) {
		struct pk_addr d = v4(10, 1, (uint8_t)(i >> 8), (uint8_t)i);

		feed(t, tcp(A, (uint16_t)(10000 + i % 50000), d, 80,
		    PK_TH_SYN, T0 + 10), &dir, &nw);
		assert_int_equal(nw, 1);
	}
	for (i = 0; i < 4000; i++) {
		struct pk_addr d = v4(10, 1, (uint8_t)(i >> 8), (uint8_t)i);
		struct pk_packet p = tcp(d, 80, A,
		    (uint16_t)(10000 + i % 50000), PK_TH_RST | PK_TH_ACK,
		    T0 + 20);

		r.n = 0;
		f = pk_flow_update(t, &p, &dir, &nw);
		assert_int_equal(nw, 0);
		assert_int_equal(dir, PK_DIR_REV);
		assert_int_equal(r.n, 1);
	}
	assert_int_equal(pk_flow_stats(t)->attempts_fail, 4000);
	assert_int_equal(pk_flow_stats(t)->active, 4001);
	pk_flow_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_tcp_handshake_and_close, setup),
		cmocka_unit_test_setup(test_tcp_rst_fails_attempt_once, setup),
		cmocka_unit_test_setup(test_tcp_attempt_timeout, setup),
		cmocka_unit_test_setup(test_midstream_and_stealth_probes,
		    setup),
		cmocka_unit_test_setup(test_udp_reply_silence_unreachable,
		    setup),
		cmocka_unit_test_setup(test_icmp_unreachable_for_syn, setup),
		cmocka_unit_test_setup(test_eviction_lru, setup),
		cmocka_unit_test_setup(test_flush_and_recycle, setup),
		cmocka_unit_test_setup(test_ipv6_and_many_flows, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
