/*
 * test_scan.c - unit tests for the scan detector (collectors/pcap/scan.c)
 * driven the way the engine drives it: hand-built packets go through the
 * real flow table, whose attempt events and the packets reach the
 * detector through its struct pk_detector_ops.
 *
 * The detector calls back the engine: pk_engine_emit, pk_engine_direction,
 * pk_engine_offline, and the process attribution service (lookups and
 * scan claims).  This file defines them as test doubles (recording every
 * indicator, home net 10.0.0.0/8, a fake attribution table), so the
 * binary links against the core library without engine.o being pulled in.
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
#include "collectors/pcap/scan.h"
#include "common/json.h"
#include "common/util.h"
#include "tests/unit/pktbuild.h"

#define SEC 1000000ULL
#define MS 1000ULL
#define T0 (1700000000ULL * SEC)
#define MAXREC 64

/* ---- engine doubles ---------------------------------------------------- */

struct rec {
	char		 rule[48];
	int		 phase, direction, severity;
	uint64_t	 count, first, last;
	char		 fp[33];
	char		 msg[256];
	char		 details[2048];
	struct pk_addr	 src, dst;
	int		 has_dst, has_dport;
	uint16_t	 dport;
	uint8_t		 transport;
	char		 ecs[1024];	/* write_ecs output, "" if none */
};

#define FAKE_EPS	64
#define FAKE_CLAIMS	8

struct fake_ep {
	uint8_t		 proto;
	uint16_t	 sport;
	struct pk_addr	 laddr;
	uint32_t	 pid;
};

struct fake_claim {
	uint32_t	 pid;
	uint16_t	 port;
	uint8_t		 proto;
	int		 owner;
};

#define ENGINE_DOUBLE_FIELDS						\
	/* attribution double */					\
	int		 attrib_active;					\
	struct fake_ep	 ep[FAKE_EPS];					\
	size_t		 nep;						\
	struct pk_proc_ref proc;	/* one process */		\
	uint64_t	 lookups;					\
	struct fake_claim claim[FAKE_CLAIMS];				\
	size_t		 nclaim;
#include "tests/unit/engine_double.h"

static void
ed_record(struct rec *r, struct pk_indicator *ind)
{
	struct json j;

	snprintf(r->rule, sizeof(r->rule), "%s", ind->rule_id);
	r->first = ind->first_seen_us;
	r->last = ind->last_seen_us;
	snprintf(r->msg, sizeof(r->msg), "%s", ind->message);
	r->src = ind->src;
	r->dst = ind->dst;
	r->has_dst = ind->has_dst;
	r->has_dport = ind->has_dport;
	r->dport = ind->dport;
	r->transport = ind->transport;
	assert_true(ind->has_src);
	assert_string_equal(ind->module, "network");
	assert_string_equal(ind->dataset, "picket.scan");
	assert_string_equal(ind->ruleset, "picket-builtin");
	assert_non_null(ind->rule_name);
	assert_int_equal(strlen(ind->fingerprint), 32);
	assert_true(ind->first_seen_us <= ind->last_seen_us);

	if (ind->write_ecs != NULL) {
		json_init(&j, r->ecs, sizeof(r->ecs));
		json_obj_begin(&j, NULL);
		ind->write_ecs(&j, ind->ecs_arg);
		json_obj_end(&j);
		assert_true(json_finish(&j) > 0);
	}
}

int
pk_engine_attribute(struct pk_engine *e, uint8_t proto,
    const struct pk_addr *laddr, uint16_t lport, struct pk_proc_ref *out)
{
	size_t i;

	e->lookups++;
	for (i = 0; i < e->nep; i++)
		if (e->ep[i].proto == proto && e->ep[i].sport == lport &&
		    pk_addr_eq(&e->ep[i].laddr, laddr) &&
		    e->ep[i].pid == e->proc.pid) {
			*out = e->proc;
			return 1;
		}
	return 0;
}

int
pk_engine_attribute_pid(struct pk_engine *e, uint32_t pid,
    struct pk_proc_ref *out)
{
	if (e->proc.pid == 0 || e->proc.pid != pid)
		return 0;
	*out = e->proc;
	return 1;
}

int
pk_engine_attrib_active(const struct pk_engine *e)
{
	return e->attrib_active;
}

/* The real writer is the engine's; this one writes what the tests read. */
void
pk_proc_ref_write_ecs(struct json *j, const void *arg)
{
	const struct pk_proc_ref *r = arg;
	char hex[65];

	json_obj_begin(j, "process");
	json_u64(j, "pid", r->pid);
	json_str(j, "executable", r->exe, 0);
	if (r->has_hash) {
		pk_hex(r->sha256, 32, hex);
		json_str(j, "sha256", hex, 0);
	}
	json_obj_end(j);
}

static struct fake_claim *
claim_find(struct pk_engine *e, uint32_t pid, uint16_t port, uint8_t proto)
{
	size_t i;

	for (i = 0; i < e->nclaim; i++)
		if (e->claim[i].pid == pid && e->claim[i].port == port &&
		    e->claim[i].proto == proto &&
		    e->claim[i].owner != PK_CLAIM_NONE)
			return &e->claim[i];
	return NULL;
}

int
pk_engine_scan_claim(struct pk_engine *e, uint32_t pid, uint16_t port,
    uint8_t proto, int owner, uint64_t now_us)
{
	struct fake_claim *c = claim_find(e, pid, port, proto);

	(void)now_us;
	if (c != NULL)
		return c->owner;
	assert_true(e->nclaim < FAKE_CLAIMS);
	c = &e->claim[e->nclaim++];
	c->pid = pid;
	c->port = port;
	c->proto = proto;
	c->owner = owner;
	return owner;
}

/* ---- a tiny engine: flow table + the detector ---------------------------- */

struct harness {
	struct pk_engine	 eng;
	struct pk_config	 cfg;
	struct pk_flow_table	*ft;
	void			*st;
	uint64_t		 last_tick;
};

static void
h_flow_event(void *arg, const struct pk_flow *f, int ev, uint64_t now)
{
	struct harness *h = arg;

	pk_detector_scan.flow_event(h->st, f, ev, now);
}

static struct harness *
h_new(int offline, void (*tune)(struct pk_config *))
{
	struct harness *h = calloc(1, sizeof(*h));
	struct pk_flow_cfg fc;

	assert_non_null(h);
	pk_config_defaults(&h->cfg);
	/* the figures these tests are written against */
	h->cfg.scan.max_sources = 1024;
	h->cfg.scan.port_scan_ports = 15;
	h->cfg.scan.port_scan_window = 300;
	h->cfg.scan.address_scan_hosts = 25;
	h->cfg.scan.address_scan_window = 300;
	h->cfg.scan.worm_tcp_rate = 70;
	h->cfg.scan.worm_udp_rate = 40;
	h->cfg.scan.worm_window = 60;
	h->cfg.scan.idle_timeout = 600;
	h->cfg.scan.trw_benign_success = 0.8;
	h->cfg.scan.trw_scanner_success = 0.2;
	h->cfg.scan.trw_detection = 0.99;
	h->cfg.scan.trw_false_alarm = 0.01;
	h->cfg.output.update_interval = 0;
	if (tune != NULL)
		tune(&h->cfg);
	assert_true(pk_detector_scan.enabled(&h->cfg));
	memset(&fc, 0, sizeof(fc));
	fc.max_flows = 100000;
	fc.tcp_attempt_timeout_s = 10;
	fc.tcp_established_timeout_s = 600;
	fc.tcp_closed_timeout_s = 10;
	fc.udp_timeout_s = 60;
	fc.other_timeout_s = 30;
	h->ft = pk_flow_table_new(&fc, h_flow_event, h);
	assert_non_null(h->ft);
	h->eng.offline = offline;
	h->st = pk_detector_scan.init(&h->eng, &h->cfg);
	assert_non_null(h->st);
	h->last_tick = T0;
	return h;
}

static void
h_tick(struct harness *h, uint64_t now)
{
	pk_flow_expire(h->ft, now);
	pk_detector_scan.tick(h->st, now);
	h->last_tick = now;
}

static void
h_pkt(struct harness *h, struct pk_packet p)
{
	struct pk_pktctx c;

	if (p.ts_us >= h->last_tick + SEC)
		h_tick(h, p.ts_us);
	memset(&c, 0, sizeof(c));
	c.pkt = &p;
	c.flow = pk_flow_update(h->ft, &p, &c.dir, &c.flow_new);
	/* home net 10.0.0.0/8, as pk_engine_direction says */
	c.src_home = p.src.family == 4 && p.src.a[0] == 10;
	c.dst_home = p.dst.family == 4 && p.dst.a[0] == 10;
	pk_detector_scan.packet(h->st, &c);
}

static void
h_finish(struct harness *h, uint64_t now)
{
	pk_flow_flush(h->ft, now);
	pk_detector_scan.flush(h->st, now);
}

static void
h_free(struct harness *h)
{
	pk_detector_scan.free(h->st);
	pk_flow_table_free(h->ft);
	free(h);
}

static size_t
h_count(const struct harness *h, const char *rule, int phase)
{
	size_t i, n = 0;

	for (i = 0; i < h->eng.n; i++)
		if ((rule == NULL || strcmp(h->eng.rec[i].rule, rule) == 0) &&
		    (phase < 0 || h->eng.rec[i].phase == phase))
			n++;
	return n;
}

static const struct rec *
h_find(const struct harness *h, const char *rule, int phase)
{
	size_t i;

	for (i = 0; i < h->eng.n; i++)
		if (strcmp(h->eng.rec[i].rule, rule) == 0 &&
		    h->eng.rec[i].phase == phase)
			return &h->eng.rec[i];
	return NULL;
}

/* Does the details object (or the message) contain this text? */
static int
has_detail(const struct rec *r, const char *text)
{
	return r != NULL && strstr(r->details, text) != NULL;
}

static int
has_msg(const struct rec *r, const char *text)
{
	return r != NULL && strstr(r->msg, text) != NULL;
}

/* "key":N in a details object */
static long long
detail_num(const struct rec *r, const char *key)
{
	char pat[64];
	const char *p;

	if (r == NULL)
		return -2;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(r->details, pat)) == NULL)
		return -1;
	return strtoll(p + strlen(pat), NULL, 10);
}

/* ---- packets (built by tests/unit/pktbuild.h) ---------------------------- */

/* A whole ordinary connection: handshake, request, response, close. */
static void h_pkt(struct harness *h, struct pk_packet p);
static void
talk(struct harness *h, struct pk_addr c, uint16_t cp, struct pk_addr s,
    uint16_t sp, uint64_t t)
{
	static const uint8_t data[16];
	struct pk_packet p;

	h_pkt(h, tcp(c, cp, s, sp, PK_TH_SYN, t));
	h_pkt(h, tcp(s, sp, c, cp, PK_TH_SYN | PK_TH_ACK, t + 1));
	h_pkt(h, tcp(c, cp, s, sp, PK_TH_ACK, t + 2));
	p = tcp(c, cp, s, sp, PK_TH_ACK | PK_TH_PUSH, t + 3);
	p.payload = data;
	p.payload_len = sizeof(data);
	h_pkt(h, p);
	p = tcp(s, sp, c, cp, PK_TH_ACK | PK_TH_PUSH, t + 4);
	p.payload = data;
	p.payload_len = sizeof(data);
	h_pkt(h, p);
	h_pkt(h, tcp(c, cp, s, sp, PK_TH_ACK | PK_TH_FIN, t + 5));
	h_pkt(h, tcp(s, sp, c, cp, PK_TH_ACK | PK_TH_FIN, t + 6));
}

/* SYN to each port of dst, answered by RST: what nmap -sS sees closed. */
static uint64_t
syn_port_scan(struct harness *h, struct pk_addr src, struct pk_addr dst,
    unsigned nports, uint64_t t)
{
	unsigned i;

	for (i = 0; i < nports; i++) {
		uint16_t port = (uint16_t)(1 + i);

		h_pkt(h, tcp(src, 40000, dst, port, PK_TH_SYN, t));
		h_pkt(h, tcp(dst, port, src, 40000, PK_TH_RST | PK_TH_ACK,
		    t + 100));
		t += MS;
	}
	return t;
}

static struct pk_addr attacker, victim, inside;

static int
setup(void **state)
{
	(void)state;
	attacker = v4(192, 0, 2, 66);
	victim = v4(10, 0, 0, 9);
	inside = v4(10, 0, 0, 5);
	return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_port_scan_offline_one_end(void **state)
{
	struct harness *h = h_new(1, NULL);
	const struct rec *r;
	uint64_t t;

	(void)state;
	t = syn_port_scan(h, attacker, victim, 1000, T0);
	h_finish(h, t + SEC);
	/* exactly one report, the END; no TRW (one host), no worm rate */
	assert_int_equal(h->eng.n, 1);
	r = h_find(h, "picket.scan.port", PK_PHASE_END);
	assert_non_null(r);
	assert_int_equal(detail_num(r, "distinct_ports"), 1000);
	assert_true(has_detail(r, "\"method\":\"fanout\""));
	assert_int_equal(r->count, 1000);
	assert_int_equal(r->direction, PK_DIRN_INBOUND);
	assert_int_equal(r->severity, PK_SEV_MEDIUM);
	assert_int_equal(r->transport, PK_PROTO_TCP);
	assert_true(r->has_dst);
	assert_memory_equal(&r->src, &attacker, sizeof(attacker));
	assert_memory_equal(&r->dst, &victim, sizeof(victim));
	assert_int_equal(r->first, T0);
	assert_int_equal(r->last, T0 + 999 * MS);
	assert_true(has_msg(r, "1000"));
	h_free(h);
}

static void
test_port_scan_below_threshold(void **state)
{
	struct harness *h = h_new(1, NULL);
	uint64_t t;

	(void)state;
	t = syn_port_scan(h, attacker, victim, 14, T0);
	h_finish(h, t + SEC);
	assert_int_equal(h->eng.n, 0);
	h_free(h);

	/* connections to open ports that carry data are not probes */
	h = h_new(1, NULL);
	{
		unsigned i;

		for (i = 0; i < 40; i++)
			talk(h, inside, (uint16_t)(5000 + i), victim,
			    (uint16_t)(20000 + i), T0 + i * MS);
		h_finish(h, T0 + SEC);
	}
	assert_int_equal(h->eng.n, 0);
	h_free(h);
}

static void
test_half_open_probes_of_open_ports_count(void **state)
{
	struct harness *h = h_new(1, NULL);
	const struct rec *r;
	unsigned i;

	(void)state;
	/* nmap -sS: SYN, SYN-ACK from the open port, RST from the scanner;
	 * 20 ports, 5 of them open */
	for (i = 0; i < 20; i++) {
		uint16_t port = (uint16_t)(7000 + i);
		uint64_t t = T0 + i * MS;

		h_pkt(h, tcp(attacker, 41000, victim, port, PK_TH_SYN, t));
		if (i % 4 == 0) {
			h_pkt(h, tcp(victim, port, attacker, 41000,
			    PK_TH_SYN | PK_TH_ACK, t + 10));
			h_pkt(h, tcp(attacker, 41000, victim, port, PK_TH_RST,
			    t + 20));
		} else
			h_pkt(h, tcp(victim, port, attacker, 41000,
			    PK_TH_RST | PK_TH_ACK, t + 10));
	}
	h_finish(h, T0 + SEC);
	r = h_find(h, "picket.scan.port", PK_PHASE_END);
	assert_non_null(r);
	assert_int_equal(detail_num(r, "distinct_ports"), 20);
	h_free(h);
}

static void
worm20(struct pk_config *c)
{
	c->scan.worm_tcp_rate = 20;
}

/* 30 hosts on 445, nobody answers; returns the time after. */
static uint64_t
sweep445(struct harness *h, struct pk_addr src, uint8_t net0, uint64_t t)
{
	unsigned i;

	for (i = 0; i < 30; i++) {
		h_pkt(h, tcp(src, (uint16_t)(30000 + i),
		    v4(net0, 51, 100, (uint8_t)(1 + i)), 445, PK_TH_SYN, t));
		t += 100 * MS;
	}
	return t;
}

static void
test_address_scan_worm_trw(void **state)
{
	struct harness *h = h_new(1, worm20);
	const struct rec *r;
	uint64_t t;

	(void)state;
	/* this host (10.0.0.5) sweeps 30 outside hosts on 445 */
	t = sweep445(h, inside, 198, T0);
	h_tick(h, t + 20 * SEC);	/* attempt timeouts: 30 failures */
	h_finish(h, t + 21 * SEC);
	assert_int_equal(h->eng.n, 2);
	assert_int_equal(h_count(h, NULL, PK_PHASE_END), 2);

	r = h_find(h, "picket.scan.address", PK_PHASE_END);
	assert_non_null(r);
	assert_int_equal(detail_num(r, "distinct_hosts"), 30);
	assert_true(has_detail(r, "\"top_ports\":[445]"));
	assert_true(has_detail(r, "\"targets\":[\"198.51.100.1\""));
	assert_int_equal(r->count, 30);
	assert_int_equal(r->dport, 445);
	assert_true(r->has_dport);
	assert_false(r->has_dst);
	assert_int_equal(r->direction, PK_DIRN_OUTBOUND);
	assert_int_equal(r->severity, PK_SEV_HIGH);
	/* TRW reached its verdict first (4 failures); the fan-out tracker
	 * then joined the same indicator: one per source */
	assert_true(has_detail(r, "\"method\":\"trw\""));
	assert_int_equal(detail_num(r, "attempts_failed"), 30);
	assert_int_equal(detail_num(r, "attempts_ok"), 0);

	r = h_find(h, "picket.scan.worm_port", PK_PHASE_END);
	assert_non_null(r);
	assert_int_equal(r->count, 30);
	assert_int_equal(r->dport, 445);
	assert_int_equal(detail_num(r, "distinct_hosts"), 30);
	assert_true(has_detail(r, "\"method\":\"rate\""));
	assert_int_equal(r->severity, PK_SEV_CRITICAL);
	h_free(h);

	/* default rate 70 SYNs/min: 30 SYNs are no worm, the rest stays */
	h = h_new(1, NULL);
	t = sweep445(h, inside, 198, T0);
	h_tick(h, t + 20 * SEC);
	h_finish(h, t + 21 * SEC);
	assert_int_equal(h->eng.n, 1);
	assert_int_equal(h_count(h, "picket.scan.worm_port", -1), 0);
	assert_int_equal(h_count(h, "picket.scan.address", PK_PHASE_END), 1);
	h_free(h);
}

static void
test_worm_rate_window(void **state)
{
	struct harness *h = h_new(1, NULL);
	unsigned i;
	uint64_t t = T0;

	(void)state;
	/* 60 attempts a minute for three minutes, under 70 a minute, then
	 * 80 in 40 s, over it (answered: neither fan-out nor TRW has
	 * anything to say) */
	for (i = 0; i < 60 * 3 + 80; i++) {
		struct pk_addr d = v4(10, 9, (uint8_t)(i >> 8), (uint8_t)i);

		if (i == 60 * 3)
			assert_int_equal(h->eng.n, 0);
		talk(h, inside, (uint16_t)(20000 + i), d, 445, t);
		t += i < 60 * 3 ? SEC : 500 * MS;
	}
	h_finish(h, t + SEC);
	assert_int_equal(h->eng.n, 1);
	assert_int_equal(h_count(h, "picket.scan.worm_port", PK_PHASE_END), 1);
	assert_int_equal(h->eng.rec[0].direction, PK_DIRN_INTERNAL);
	assert_int_equal(h->eng.rec[0].severity, PK_SEV_MEDIUM);
	h_free(h);

	/* SQL Slammer: 1434/udp to 50 hosts in 5 s; one worm indicator */
	h = h_new(1, NULL);
	for (i = 0; i < 50; i++)
		h_pkt(h, udp(inside, 1033, v4(172, 16, 0, (uint8_t)(1 + i)),
		    1434, T0 + i * 100 * MS));
	h_finish(h, T0 + 10 * SEC);
	{
		const struct rec *r = h_find(h, "picket.scan.worm_port",
		    PK_PHASE_END);

		assert_non_null(r);
		assert_int_equal(r->transport, PK_PROTO_UDP);
		assert_int_equal(r->dport, 1434);
		assert_int_equal(r->count, 50);
		assert_true(has_msg(r, "datagrams"));
	}
	assert_int_equal(h_count(h, "picket.scan.worm_port", -1), 1);
	h_free(h);

	/* one client polling one server on 1434 is not a worm */
	h = h_new(1, NULL);
	for (i = 0; i < 100; i++)
		h_pkt(h, udp(inside, 1033, victim, 1434, T0 + i * 100 * MS));
	h_finish(h, T0 + 20 * SEC);
	assert_int_equal(h_count(h, "picket.scan.worm_port", -1), 0);
	h_free(h);
}

static void
test_benign_client(void **state)
{
	struct harness *h;
	int live;

	(void)state;
	for (live = 0; live < 2; live++) {
		struct pk_addr dns = v4(10, 0, 0, 53);
		uint64_t t = T0;
		unsigned i;

		h = h_new(!live, NULL);
		for (i = 0; i < 50; i++) {
			struct pk_addr srv = v4(203, 0, 113,
			    (uint8_t)(1 + i % 5));
			uint16_t sp = (uint16_t)(50000 + i);
			uint16_t dp = i % 2 ? 443 : 80;

			h_pkt(h, udp(inside, (uint16_t)(40000 + i), dns, 53,
			    t));
			h_pkt(h, udp(dns, 53, inside, (uint16_t)(40000 + i),
			    t + 2 * MS));
			h_pkt(h, tcp(inside, sp, srv, dp, PK_TH_SYN, t + 3 * MS));
			h_pkt(h, tcp(srv, dp, inside, sp,
			    PK_TH_SYN | PK_TH_ACK, t + 20 * MS));
			h_pkt(h, tcp(inside, sp, srv, dp, PK_TH_ACK,
			    t + 21 * MS));
			h_pkt(h, tcp(inside, sp, srv, dp,
			    PK_TH_ACK | PK_TH_FIN, t + 500 * MS));
			h_pkt(h, tcp(srv, dp, inside, sp,
			    PK_TH_ACK | PK_TH_FIN, t + 520 * MS));
			t += 2 * SEC;
		}
		h_tick(h, t + 700 * SEC);
		h_finish(h, t + 701 * SEC);
		assert_int_equal(h->eng.n, 0);
		h_free(h);
	}
}

static void
upd1(struct pk_config *c)
{
	c->output.update_interval = 1;
	c->scan.idle_timeout = 30;
}

static void
test_live_start_change_end(void **state)
{
	struct harness *h = h_new(0, NULL);
	const struct rec *s, *e;
	uint64_t t;
	size_t i;

	(void)state;
	t = syn_port_scan(h, attacker, victim, 100, T0);
	s = h_find(h, "picket.scan.port", PK_PHASE_START);
	assert_non_null(s);
	assert_int_equal(s->count, 15);	/* reported when it crossed 15 */
	assert_int_equal(h->eng.n, 1);	/* update_interval 0: no CHANGE */
	/* idle for idle_timeout (600 s): END with the same fingerprint */
	h_tick(h, t + 599 * SEC);
	assert_int_equal(h->eng.n, 1);
	h_tick(h, t + 601 * SEC);
	e = h_find(h, "picket.scan.port", PK_PHASE_END);
	assert_non_null(e);
	assert_int_equal(h->eng.n, 2);
	assert_string_equal(s->fp, e->fp);
	assert_int_equal(e->count, 100);
	assert_int_equal(detail_num(e, "distinct_ports"), 100);
	/* flush has nothing left to report */
	h_finish(h, t + 602 * SEC);
	assert_int_equal(h->eng.n, 2);
	h_free(h);

	/* update_interval 1 s: CHANGE at most once a second while it grows;
	 * 60 ports spread over 6 s */
	h = h_new(0, upd1);
	for (i = 0; i < 60; i++) {
		uint16_t port = (uint16_t)(1 + i);
		uint64_t ts = T0 + i * 100 * MS;

		h_pkt(h, tcp(attacker, 40000, victim, port, PK_TH_SYN, ts));
		h_pkt(h, tcp(victim, port, attacker, 40000,
		    PK_TH_RST | PK_TH_ACK, ts + 10));
	}
	assert_int_equal(h_count(h, "picket.scan.port", PK_PHASE_START), 1);
	/* start at 1.4 s; changes at 2.4, 3.4, 4.4, 5.4 */
	assert_int_equal(h_count(h, "picket.scan.port", PK_PHASE_CHANGE), 4);
	for (i = 1; i < h->eng.n; i++) {
		assert_string_equal(h->eng.rec[i].fp, h->eng.rec[0].fp);
		assert_true(h->eng.rec[i].count > h->eng.rec[i - 1].count);
	}
	h_tick(h, T0 + 40 * SEC);
	assert_int_equal(h_count(h, "picket.scan.port", PK_PHASE_END), 1);
	assert_int_equal(h->eng.rec[h->eng.n - 1].count, 60);
	h_free(h);
}

static void
thresholds(struct pk_config *c)
{
	c->scan.port_scan_ports = 50;
	c->scan.address_scan_hosts = 5;
	c->scan.worm_tcp_ports.n = 0;
	memset(c->scan.worm_tcp_ports.bits, 0,
	    sizeof(c->scan.worm_tcp_ports.bits));
	/* TRW needs more evidence: P_F 0.0001 -> ln(9900) / ln 4 = 7 */
	c->scan.trw_false_alarm = 0.0001;
}

static void
test_thresholds_from_config(void **state)
{
	struct harness *h;
	unsigned i;
	uint64_t t;

	(void)state;
	h = h_new(1, thresholds);
	t = syn_port_scan(h, attacker, victim, 49, T0);
	h_finish(h, t);
	assert_int_equal(h_count(h, "picket.scan.port", -1), 0);
	h_free(h);

	h = h_new(1, thresholds);
	t = syn_port_scan(h, attacker, victim, 50, T0);
	h_finish(h, t);
	assert_int_equal(h_count(h, "picket.scan.port", -1), 1);
	h_free(h);

	/* 6 hosts on 23 refused: address scan at 5 hosts; TRW needs 7 */
	h = h_new(1, thresholds);
	for (i = 0; i < 6; i++) {
		struct pk_addr d = v4(10, 0, 1, (uint8_t)(1 + i));

		h_pkt(h, tcp(attacker, 999, d, 23, PK_TH_SYN, T0 + i * MS));
		h_pkt(h, tcp(d, 23, attacker, 999, PK_TH_RST | PK_TH_ACK,
		    T0 + i * MS + 10));
	}
	h_finish(h, T0 + SEC);
	assert_int_equal(h_count(h, "picket.scan.address", PK_PHASE_END), 1);
	assert_int_equal(detail_num(h_find(h, "picket.scan.address",
	    PK_PHASE_END), "distinct_hosts"), 6);
	assert_int_equal(h->eng.n, 1);
	h_free(h);
}

static void
test_trw_walk(void **state)
{
	struct harness *h = h_new(0, NULL);
	unsigned i;

	(void)state;
	/* three refused first contacts: not yet; the fourth: scanner */
	for (i = 0; i < 4; i++) {
		struct pk_addr d = v4(10, 0, 2, (uint8_t)(1 + i));

		assert_int_equal(h->eng.n, 0);
		h_pkt(h, tcp(attacker, 999, d, 8080, PK_TH_SYN, T0 + i * MS));
		h_pkt(h, tcp(d, 8080, attacker, 999, PK_TH_RST | PK_TH_ACK,
		    T0 + i * MS + 10));
	}
	assert_int_equal(h->eng.n, 1);
	assert_string_equal(h->eng.rec[0].rule, "picket.scan.address");
	assert_true(has_detail(&h->eng.rec[0], "\"method\":\"trw\""));
	assert_int_equal(h->eng.rec[0].phase, PK_PHASE_START);
	assert_int_equal(h->eng.rec[0].direction, PK_DIRN_INBOUND);
	assert_int_equal(h->eng.rec[0].severity, PK_SEV_MEDIUM);
	assert_int_equal(detail_num(&h->eng.rec[0], "attempts_failed"), 4);
	/* a repeat contact to a host already tested adds nothing */
	h_pkt(h, tcp(attacker, 998, v4(10, 0, 2, 1), 8080, PK_TH_SYN,
	    T0 + SEC));
	h_pkt(h, tcp(v4(10, 0, 2, 1), 8080, attacker, 998,
	    PK_TH_RST | PK_TH_ACK, T0 + SEC + 10));
	h_finish(h, T0 + 2 * SEC);
	assert_int_equal(h->eng.n, 2);
	assert_int_equal(h->eng.rec[1].phase, PK_PHASE_END);
	assert_int_equal(h->eng.rec[1].count, 4);
	assert_string_equal(h->eng.rec[0].fp, h->eng.rec[1].fp);
	h_free(h);

	/* four successes first: benign, the failures after it are not
	 * tested until the window (address_scan_window) has passed */
	h = h_new(1, NULL);
	for (i = 0; i < 8; i++) {
		struct pk_addr d = v4(10, 0, 3, (uint8_t)(1 + i));

		h_pkt(h, tcp(attacker, 999, d, 8080, PK_TH_SYN, T0 + i * MS));
		h_pkt(h, tcp(d, 8080, attacker, 999, i < 4 ?
		    PK_TH_SYN | PK_TH_ACK : PK_TH_RST | PK_TH_ACK,
		    T0 + i * MS + 10));
	}
	h_finish(h, T0 + SEC);
	assert_int_equal(h->eng.n, 0);
	h_free(h);
}

static void
test_stealth_and_udp_port_scans(void **state)
{
	static const uint8_t kinds[] = { 0, PK_TH_FIN,
	    PK_TH_FIN | PK_TH_PUSH | PK_TH_URG, PK_TH_ACK };
	struct harness *h;
	const struct rec *r;
	size_t k;
	unsigned i;

	(void)state;
	for (k = 0; k < sizeof(kinds); k++) {
		h = h_new(1, NULL);
		for (i = 0; i < 20; i++) {
			uint16_t port = (uint16_t)(100 + i);

			h_pkt(h, tcp(attacker, 41000, victim, port, kinds[k],
			    T0 + i * MS));
			h_pkt(h, tcp(victim, port, attacker, 41000,
			    PK_TH_RST, T0 + i * MS + 10));
		}
		h_finish(h, T0 + SEC);
		assert_int_equal(h->eng.n, 1);
		r = h_find(h, "picket.scan.port", PK_PHASE_END);
		assert_non_null(r);
		assert_int_equal(detail_num(r, "distinct_ports"), 20);
		h_free(h);
	}

	/* data packets of connections joined late are not probes */
	h = h_new(1, NULL);
	for (i = 0; i < 20; i++) {
		struct pk_packet p = tcp(victim, (uint16_t)(100 + i), inside,
		    41000, PK_TH_ACK | PK_TH_PUSH, T0 + i * MS);
		static const uint8_t data[8];

		p.payload = data;
		p.payload_len = sizeof(data);
		h_pkt(h, p);
	}
	h_finish(h, T0 + SEC);
	assert_int_equal(h->eng.n, 0);
	h_free(h);

	/* UDP scan: ICMP port unreachable for each datagram */
	h = h_new(1, NULL);
	for (i = 0; i < 20; i++) {
		uint16_t port = (uint16_t)(2000 + i);

		h_pkt(h, udp(attacker, 53533, victim, port, T0 + i * MS));
		h_pkt(h, unreach(victim, attacker, 3, PK_PROTO_UDP, attacker,
		    53533, victim, port, T0 + i * MS + 10));
	}
	h_finish(h, T0 + SEC);
	assert_int_equal(h->eng.n, 1);
	r = h_find(h, "picket.scan.port", PK_PHASE_END);
	assert_non_null(r);
	assert_int_equal(r->transport, PK_PROTO_UDP);
	assert_int_equal(detail_num(r, "distinct_ports"), 20);
	h_free(h);
}

static void
small_table(struct pk_config *c)
{
	c->scan.max_sources = 16;
}

static long long
stat_value(void *st, const char *name)
{
	char line[256], key[128];
	long long v = -1, x;
	FILE *fp = tmpfile();

	assert_non_null(fp);
	pk_detector_scan.stats(st, fp);
	rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%127s %lld", key, &x) == 2 &&
		    strcmp(key, name) == 0)
			v = x;
	fclose(fp);
	return v;
}

static void
test_source_eviction(void **state)
{
	struct harness *h = h_new(1, small_table);
	unsigned i;

	(void)state;
	for (i = 0; i < 40; i++)
		h_pkt(h, tcp(v4(192, 0, 2, (uint8_t)(1 + i)), 1234, victim,
		    80, PK_TH_SYN, T0 + i * MS));
	assert_int_equal(stat_value(h->st, "scan.sources_tracked"), 16);
	assert_int_equal(stat_value(h->st, "scan.sources_evicted"), 24);
	assert_int_equal(stat_value(h->st, "scan.indicators"), 0);
	h_finish(h, T0 + SEC);
	/* each refused attempt is a probe of its own pair and port tracker */
	assert_int_equal(stat_value(h->st, "scan.pairs_tracked"), 16);
	assert_int_equal(stat_value(h->st, "scan.pairs_evicted"), 24);
	h_free(h);

	/* a source evicted with an open indicator still reports it once */
	h = h_new(1, small_table);
	syn_port_scan(h, attacker, victim, 20, T0);
	for (i = 0; i < 16; i++)
		h_pkt(h, tcp(v4(192, 0, 2, (uint8_t)(100 + i)), 1234, victim,
		    80, PK_TH_SYN, T0 + SEC + i * MS));
	h_finish(h, T0 + 2 * SEC);
	assert_int_equal(h_count(h, "picket.scan.port", PK_PHASE_END), 1);
	assert_int_equal(stat_value(h->st, "scan.indicators"), 1);
	h_free(h);
}

/* ---- process attribution -------------------------------------------------- */

/* n outbound SYNs to 445 from ports sport0.., each refused at once. */
static uint64_t
refused445(struct harness *h, struct pk_addr src, uint16_t sport0,
    unsigned n, uint64_t t)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		struct pk_addr dst = v4(198, 51, 100, (uint8_t)(1 + i));
		uint16_t sp = (uint16_t)(sport0 + i);

		h_pkt(h, tcp(src, sp, dst, 445, PK_TH_SYN, t));
		h_pkt(h, tcp(dst, 445, src, sp, PK_TH_RST | PK_TH_ACK,
		    t + MS));
		t += 10 * MS;
	}
	return t;
}

/* What a process collector would have recorded for those probes. */
static void
fake_process(struct harness *h, uint32_t pid, int hashed)
{
	struct pk_proc_ref *r = &h->eng.proc;

	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->ppid = 1;
	r->uid = 1000;
	snprintf(r->exe, sizeof(r->exe), "/tmp/.x/scanner");
	snprintf(r->name, sizeof(r->name), "scanner");
	if (hashed) {
		r->has_hash = 1;
		memset(r->sha256, 0xab, sizeof(r->sha256));
	}
	h->eng.attrib_active = 1;
}

static void
fake_endpoints(struct harness *h, struct pk_addr src, uint16_t sport0,
    unsigned n)
{
	unsigned i;

	for (i = 0; i < n && h->eng.nep < FAKE_EPS; i++) {
		struct fake_ep *x = &h->eng.ep[h->eng.nep++];

		x->proto = PK_PROTO_TCP;
		x->sport = (uint16_t)(sport0 + i);
		x->laddr = src;
		x->pid = h->eng.proc.pid;
	}
}

/* Distinct reported scan indicators (rule + fingerprint). */
static size_t
h_indicators(const struct harness *h)
{
	size_t i, k, n = 0;

	for (i = 0; i < h->eng.n; i++) {
		for (k = 0; k < i; k++)
			if (strcmp(h->eng.rec[k].rule, h->eng.rec[i].rule) == 0 &&
			    strcmp(h->eng.rec[k].fp, h->eng.rec[i].fp) == 0)
				break;
		if (k == i)
			n++;
	}
	return n;
}

static void
test_outbound_scan_names_the_process(void **state)
{
	struct harness *h = h_new(0, NULL);
	const struct rec *r;
	uint64_t t;

	(void)state;
	fake_process(h, 4242, 1);
	fake_endpoints(h, inside, 30000, 40);
	t = refused445(h, inside, 30000, 40, T0);
	r = h_find(h, "picket.scan.address", PK_PHASE_START);
	assert_non_null(r);
	assert_int_equal(r->direction, PK_DIRN_OUTBOUND);
	assert_non_null(strstr(r->ecs, "\"pid\":4242"));
	assert_non_null(strstr(r->ecs, "\"executable\":\"/tmp/.x/scanner\""));
	assert_non_null(strstr(r->ecs, "abababab"));
	assert_true(has_detail(r, "\"attributed\":true"));
	assert_true(has_msg(r, "by /tmp/.x/scanner (pid 4242)"));
	/* the packet side named it: it holds the claim on the scan */
	assert_int_equal(pk_engine_scan_claim(&h->eng, 4242, 445,
	    PK_PROTO_TCP, PK_CLAIM_PROCESS, t), PK_CLAIM_PACKET);
	h_finish(h, t + SEC);
	assert_int_equal(h_indicators(h), 1);
	r = h_find(h, "picket.scan.address", PK_PHASE_END);
	assert_non_null(r);
	assert_non_null(strstr(r->ecs, "\"pid\":4242"));
	/* closed: the claim stays until it lapses, so the process
	 * collector's late events for this scan report nothing */
	assert_int_equal(pk_engine_scan_claim(&h->eng, 4242, 445,
	    PK_PROTO_TCP, PK_CLAIM_PROCESS, t + 2 * SEC), PK_CLAIM_PACKET);
	h_free(h);
}

static void
test_unattributed_scan_as_before(void **state)
{
	struct harness *h = h_new(0, NULL);
	const struct rec *r;
	uint64_t t;

	(void)state;
	/* no process collector: reported at once, no process */
	t = refused445(h, inside, 30000, 40, T0);
	r = h_find(h, "picket.scan.address", PK_PHASE_START);
	assert_non_null(r);
	assert_string_equal(r->ecs, "");
	assert_false(has_detail(r, "attributed"));
	assert_int_equal(h->eng.lookups, 0);
	h_finish(h, t + SEC);
	assert_int_equal(h_indicators(h), 1);
	h_free(h);

	/* a process collector that never saw these ports: START waits
	 * ATTR_WAIT (2 s), then goes out without a process */
	h = h_new(0, NULL);
	fake_process(h, 4242, 1);
	fake_endpoints(h, inside, 50000, 4);	/* other ports */
	t = refused445(h, inside, 30000, 40, T0);
	assert_null(h_find(h, "picket.scan.address", PK_PHASE_START));
	assert_true(h->eng.lookups > 0);
	h_tick(h, t + 3 * SEC);
	r = h_find(h, "picket.scan.address", PK_PHASE_START);
	assert_non_null(r);
	assert_string_equal(r->ecs, "");
	assert_int_equal(h->eng.nclaim, 0);
	h_finish(h, t + 4 * SEC);
	assert_int_equal(h_indicators(h), 1);
	h_free(h);
}

static void
test_late_attribution_and_hash(void **state)
{
	struct harness *h = h_new(0, NULL);
	const struct rec *r;
	uint64_t t;

	(void)state;
	/* the process events lag the packets: START waits for them */
	fake_process(h, 77, 0);
	t = refused445(h, inside, 30000, 30, T0);
	assert_null(h_find(h, "picket.scan.address", PK_PHASE_START));
	fake_endpoints(h, inside, 30000, 30);
	h_tick(h, t + 500 * MS);
	r = h_find(h, "picket.scan.address", PK_PHASE_START);
	assert_non_null(r);
	assert_non_null(strstr(r->ecs, "\"pid\":77"));
	assert_null(strstr(r->ecs, "sha256"));
	/* the hash is computed later: one CHANGE says it */
	h->eng.proc.has_hash = 1;
	memset(h->eng.proc.sha256, 0xcd, sizeof(h->eng.proc.sha256));
	h_tick(h, t + 1500 * MS);
	r = h_find(h, "picket.scan.address", PK_PHASE_CHANGE);
	assert_non_null(r);
	assert_non_null(strstr(r->ecs, "cdcdcdcd"));
	h_tick(h, t + 2500 * MS);
	assert_int_equal(h_count(h, "picket.scan.address", PK_PHASE_CHANGE),
	    1);
	h_finish(h, t + 3 * SEC);
	assert_int_equal(h_indicators(h), 1);
	h_free(h);
}

static void
test_process_indicator_owns_the_scan(void **state)
{
	struct harness *h = h_new(0, NULL);
	uint64_t t;

	(void)state;
	/* the process collector reported this scan first */
	fake_process(h, 4242, 1);
	fake_endpoints(h, inside, 30000, 40);
	assert_int_equal(pk_engine_scan_claim(&h->eng, 4242, 445,
	    PK_PROTO_TCP, PK_CLAIM_PROCESS, T0), PK_CLAIM_PROCESS);
	t = refused445(h, inside, 30000, 40, T0);
	h_finish(h, t + SEC);
	assert_int_equal(h_count(h, "picket.scan.address", -1), 0);
	assert_int_equal(h->eng.n, 0);
	h_free(h);

	/* another process's claim does not silence this one */
	h = h_new(0, NULL);
	fake_process(h, 4242, 1);
	fake_endpoints(h, inside, 30000, 40);
	assert_int_equal(pk_engine_scan_claim(&h->eng, 999, 445,
	    PK_PROTO_TCP, PK_CLAIM_PROCESS, T0), PK_CLAIM_PROCESS);
	t = refused445(h, inside, 30000, 40, T0);
	h_finish(h, t + SEC);
	assert_int_equal(h_count(h, "picket.scan.address", PK_PHASE_START),
	    1);
	h_free(h);
}

static void
test_inbound_scan_not_attributed(void **state)
{
	struct harness *h = h_new(0, NULL);
	const struct rec *r;
	uint64_t t;

	(void)state;
	/* a remote scanner: nothing on this host to name, no waiting */
	fake_process(h, 4242, 1);
	fake_endpoints(h, attacker, 40000, 1);
	t = syn_port_scan(h, attacker, victim, 20, T0);
	r = h_find(h, "picket.scan.port", PK_PHASE_START);
	assert_non_null(r);
	assert_string_equal(r->ecs, "");
	assert_int_equal(h->eng.lookups, 0);
	h_finish(h, t + SEC);
	h_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_port_scan_offline_one_end, setup),
		cmocka_unit_test_setup(test_port_scan_below_threshold, setup),
		cmocka_unit_test_setup(test_half_open_probes_of_open_ports_count,
		    setup),
		cmocka_unit_test_setup(test_address_scan_worm_trw, setup),
		cmocka_unit_test_setup(test_worm_rate_window, setup),
		cmocka_unit_test_setup(test_benign_client, setup),
		cmocka_unit_test_setup(test_live_start_change_end, setup),
		cmocka_unit_test_setup(test_thresholds_from_config, setup),
		cmocka_unit_test_setup(test_trw_walk, setup),
		cmocka_unit_test_setup(test_stealth_and_udp_port_scans, setup),
		cmocka_unit_test_setup(test_source_eviction, setup),
		cmocka_unit_test_setup(test_outbound_scan_names_the_process,
		    setup),
		cmocka_unit_test_setup(test_unattributed_scan_as_before, setup),
		cmocka_unit_test_setup(test_late_attribution_and_hash, setup),
		cmocka_unit_test_setup(test_process_indicator_owns_the_scan,
		    setup),
		cmocka_unit_test_setup(test_inbound_scan_not_attributed, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
