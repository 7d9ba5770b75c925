/*
 * test_fingerprint.c - unit tests for the worm fingerprinting detector
 * (collectors/pcap/fingerprint.c), driven through its struct
 * pk_detector_ops with hand-built packets and packet contexts: the
 * direction within the flow and the home flags are set here the way the
 * engine sets them (home net 10.0.0.0/8).
 *
 * The detector calls back three engine functions: pk_engine_emit,
 * pk_engine_direction and pk_engine_offline.  This file defines them as
 * test doubles (recording every indicator), so the binary links against
 * the core library without engine.o being pulled in.
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
#include "agent/ioc.h"
#include "collectors/pcap/fingerprint.h"
#include "common/json.h"
#include "tests/unit/pktbuild.h"
#include "transport/bundle.h"

#define SEC 1000000ULL
#define T0 (1700000000ULL * SEC)
#define MAXREC 32

/* ---- engine doubles ---------------------------------------------------- */

struct rec {
	int		 phase, direction, severity;
	uint64_t	 count;
	char		 fp[33];
	char		 details[4096];
	struct pk_addr	 src;
	uint16_t	 dport;
	uint8_t		 transport;
	char		 rule[64];
	char		 origin[65];	/* picket.shared, "" without */
	uint64_t	 ref, bundle;
};

#include "tests/unit/engine_double.h"

static void
ed_record(struct rec *r, struct pk_indicator *ind)
{
	r->src = ind->src;
	assert_true(ind->has_dport);
	r->dport = ind->dport;
	r->transport = ind->transport;
	assert_true(ind->has_src);
	snprintf(r->rule, sizeof(r->rule), "%s", ind->rule_id);
	r->origin[0] = '\0';
	r->ref = r->bundle = 0;
	if (ind->shared != NULL) {
		snprintf(r->origin, sizeof(r->origin), "%s",
		    ind->shared->origin);
		r->ref = ind->shared->ref;
		r->bundle = ind->shared->bundle;
		assert_string_equal(ind->shared->kind, "fingerprint");
		assert_string_equal(ind->shared->value, ind->fingerprint);
	}
	if (strcmp(ind->rule_id, "picket.fingerprint.shared") == 0) {
		assert_non_null(ind->shared);
		assert_string_equal(ind->rule_name,
		    "Payload of a worm a peer member shared");
	} else {
		assert_null(ind->shared);
		assert_string_equal(ind->rule_id,
		    "picket.fingerprint.outbound");
		assert_string_equal(ind->rule_name,
		    "Same payload sent to many hosts (possible worm)");
	}
	assert_string_equal(ind->module, "network");
	assert_string_equal(ind->dataset, "picket.fingerprint");
	assert_string_equal(ind->ruleset, "picket-builtin");
	assert_int_equal(strlen(ind->fingerprint), 32);
	assert_true(ind->first_seen_us <= ind->last_seen_us);
	assert_true(ind->count > 0);
}

/* ---- harness ----------------------------------------------------------- */

struct harness {
	struct pk_engine	 eng;
	struct pk_config	 cfg;
	struct pk_flow		 flow;	/* the packets' flow: TCP's began with
					 * a SYN unless a test says not */
	void			*st;
	int			 no_home;	/* home_net empty */
};

static struct harness *
h_new(int offline, void (*tune)(struct pk_config *))
{
	struct harness *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	pk_config_defaults(&h->cfg);
	/* the figures these tests are written against */
	h->cfg.fingerprint.enabled = 1;
	h->cfg.fingerprint.substring = 40;
	h->cfg.fingerprint.sample = 64;
	h->cfg.fingerprint.min_destinations = 20;
	h->cfg.fingerprint.window = 600;
	h->cfg.fingerprint.max_fingerprints = 65536;
	h->cfg.fingerprint.excerpt = 64;
	h->cfg.output.update_interval = 0;
	if (tune != NULL)
		tune(&h->cfg);
	assert_true(pk_detector_fingerprint.enabled(&h->cfg));
	h->eng.offline = offline;
	h->flow.saw_syn = 1;
	h->st = pk_detector_fingerprint.init(&h->eng, &h->cfg);
	assert_non_null(h->st);
	return h;
}

static void
h_free(struct harness *h)
{
	pk_detector_fingerprint.free(h->st);
	free(h);
}

/* One payload packet; dir is its direction within its flow. */
static void
h_send(struct harness *h, uint8_t proto, struct pk_addr s, struct pk_addr d,
    uint16_t dport, int dir, const uint8_t *pl, size_t len, uint64_t ts,
    const struct pk_http_req *http)
{
	struct pk_packet p;
	struct pk_pktctx c;

	if (proto == PK_PROTO_TCP)
		p = tcp(s, dir == PK_DIR_FWD ? 40000 : dport, d,
		    dir == PK_DIR_FWD ? dport : 40000,
		    PK_TH_ACK | PK_TH_PUSH, ts);
	else
		p = udp(s, dir == PK_DIR_FWD ? 40000 : dport, d,
		    dir == PK_DIR_FWD ? dport : 40000, ts);
	p.payload = pl;
	p.payload_len = (uint32_t)len;
	memset(&c, 0, sizeof(c));
	c.pkt = &p;
	c.flow = &h->flow;
	c.dir = dir;
	c.src_home = !h->no_home && ed_home(&s);
	c.dst_home = !h->no_home && ed_home(&d);
	c.http = http;
	pk_detector_fingerprint.packet(h->st, &c);
}

static void
h_tick(struct harness *h, uint64_t now)
{
	pk_detector_fingerprint.tick(h->st, now);
}

static void
h_flush(struct harness *h, uint64_t now)
{
	pk_detector_fingerprint.flush(h->st, now);
}

/* One statistics counter, read back from the stats callback. */
static long long
h_stat(struct harness *h, const char *name)
{
	static const char path[] = "test_fingerprint_stats.tmp";
	char line[256];
	size_t n = strlen(name);
	long long v = -1;
	FILE *fp;

	fp = fopen(path, "w+");
	assert_non_null(fp);
	pk_detector_fingerprint.stats(h->st, fp);
	rewind(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ' ')
			v = strtoll(line + n + 1, NULL, 10);
	fclose(fp);
	remove(path);
	return v;
}

static long long
detail_num(const struct rec *r, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if ((p = strstr(r->details, pat)) == NULL)
		return -1;
	return strtoll(p + strlen(pat), NULL, 10);
}

/* Number of strings in the details' "targets" array. */
static int
n_targets(const struct rec *r)
{
	const char *p = strstr(r->details, "\"targets\":["), *q;
	int n = 0;

	if (p == NULL)
		return -1;
	q = strchr(p, ']');
	for (p += 11; p < q; p++)
		n += *p == '"';
	return n / 2;
}

/* ---- payloads ------------------------------------------------------------ */

static uint64_t rng_state;

static uint32_t
rnd(void)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng_state >> 33);
}

static void
fill_random(uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)rnd();
	/* never a TLS record header by chance */
	if (n > 0 && b[0] == 0x16)
		b[0] = 0x17;
}

static void
fill_letters(uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)('a' + rnd() % 26);
}

static struct pk_addr
ext(unsigned i)
{
	return v4(198, 51, (uint8_t)(i >> 8), (uint8_t)i);
}

static struct pk_addr me, me2;
static uint8_t worm[300];

static int
setup(void **state)
{
	(void)state;
	me = v4(10, 0, 0, 5);
	me2 = v4(10, 0, 0, 6);
	rng_state = 12345;
	fill_random(worm, sizeof(worm));
	return 0;
}

/* The worm payload from src to n distinct hosts, one second apart. */
static uint64_t
spread(struct harness *h, struct pk_addr src, const uint8_t *pl, size_t len,
    unsigned first, unsigned n, uint64_t t)
{
	unsigned i;

	for (i = 0; i < n; i++, t += SEC)
		h_send(h, PK_PROTO_TCP, src, ext(first + i), 445, PK_DIR_FWD,
		    pl, len, t, NULL);
	return t;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_sampling_finds_windows(void **state)
{
	struct harness *h = h_new(1, NULL);

	(void)state;
	/* the fixtures below rely on this payload having sampled windows */
	h_send(h, PK_PROTO_TCP, me, ext(1), 445, PK_DIR_FWD, worm,
	    sizeof(worm), T0, NULL);
	assert_int_equal(h_stat(h, "fingerprint.windows_hashed"),
	    sizeof(worm) - 40 + 1);
	assert_int_equal(h_stat(h, "fingerprint.sampled"), 3);
	assert_int_equal(h_stat(h, "fingerprint.tracked"),
	    h_stat(h, "fingerprint.sampled"));
	h_free(h);
}

static void
test_outbound_spread_one_indicator(void **state)
{
	struct harness *h = h_new(1, NULL);
	const struct rec *r;
	uint64_t t;

	(void)state;
	t = spread(h, me, worm, sizeof(worm), 1, 30, T0);
	assert_int_equal(h->eng.n, 0);		/* offline: END only */
	h_flush(h, t);
	assert_int_equal(h->eng.n, 1);
	r = &h->eng.rec[0];
	assert_int_equal(r->phase, PK_PHASE_END);
	assert_int_equal(detail_num(r, "distinct_destinations"), 30);
	assert_int_equal(detail_num(r, "prevalence"), 30);
	assert_int_equal(r->count, 30);
	assert_int_equal(r->severity, PK_SEV_CRITICAL);
	assert_int_equal(r->direction, PK_DIRN_OUTBOUND);
	assert_int_equal(r->dport, 445);
	assert_int_equal(r->transport, PK_PROTO_TCP);
	assert_true(pk_addr_eq(&r->src, &me));
	assert_int_equal(n_targets(r), 8);
	assert_non_null(strstr(r->details, "\"targets\":[\"198.51.0.1\","));
	assert_non_null(strstr(r->details, "\"method\":\"prevalence\""));
	assert_non_null(strstr(r->details, "\"top_ports\":[445]"));
	assert_non_null(strstr(r->details, "\"excerpt\":\""));
	assert_true(detail_num(r, "offset") >= 0);
	/* the other sampled windows of the payload were grouped into it */
	assert_int_equal(detail_num(r, "covered_fingerprints"),
	    h_stat(h, "fingerprint.tracked") - 1);
	assert_int_equal(h_stat(h, "fingerprint.indicators"), 1);
	h_free(h);
}

/* The payload inside otherwise random packets, at varying offsets. */
static void
test_outbound_embedded_matches(void **state)
{
	struct harness *h = h_new(1, NULL);
	static uint8_t pkt[1400];
	uint64_t t = T0;
	unsigned i;
	size_t off, len;

	(void)state;
	for (i = 0; i < 30; i++, t += SEC) {
		off = (size_t)(rnd() % 700);
		len = off + sizeof(worm) + (size_t)(rnd() % 300);
		fill_random(pkt, len);
		memcpy(pkt + off, worm, sizeof(worm));
		h_send(h, PK_PROTO_TCP, me, ext(100 + i), 445, PK_DIR_FWD,
		    pkt, len, t, NULL);
	}
	h_flush(h, t);
	assert_int_equal(h->eng.n, 1);
	assert_int_equal(detail_num(&h->eng.rec[0], "distinct_destinations"),
	    30);
	h_free(h);
}

/* Windows that cross in different packets still make one indicator. */
static void
test_late_windows_join(void **state)
{
	struct harness *h = h_new(1, NULL);
	uint64_t t;

	(void)state;
	/* the first half alone to 5 hosts, then the whole payload */
	t = spread(h, me, worm, 150, 1, 5, T0);
	t = spread(h, me, worm, sizeof(worm), 6, 25, t);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 1);
	assert_int_equal(detail_num(&h->eng.rec[0], "distinct_destinations"),
	    30);
	assert_true(detail_num(&h->eng.rec[0], "covered_fingerprints") >= 1);
	h_free(h);
}

/*
 * Packets that carry only grouped (covered) windows of an open indicator
 * keep it growing, and new windows that cross in them join it: the
 * payload's head is dropped and a new tail added, one indicator still.
 */
static void
test_covered_part_carries_group(void **state)
{
	struct harness *h = h_new(1, NULL);
	static uint8_t next[300];
	uint64_t t;

	(void)state;
	t = spread(h, me, worm, sizeof(worm), 1, 20, T0);
	/*
	 * The worm's sampled windows start at offsets 10, 19 and 38 (the
	 * hash table is fixed; test_sampling_finds_windows checks).  From
	 * offset 15 on, the first (the owner) is cut, the other two stay;
	 * then new bytes.
	 */
	memcpy(next, worm + 15, 135);
	fill_random(next + 135, 165);
	t = spread(h, me, next, sizeof(next), 21, 25, t);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 1);
	assert_int_equal(h->eng.rec[0].count, 45);
	h_free(h);
}

static void
test_one_destination_many_times(void **state)
{
	struct harness *h = h_new(1, NULL);
	uint64_t t = T0;
	unsigned i;

	(void)state;
	for (i = 0; i < 100; i++, t += SEC)
		h_send(h, PK_PROTO_TCP, me, ext(7), 445, PK_DIR_FWD, worm,
		    sizeof(worm), t, NULL);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 0);
	h_free(h);
}

/* A home server sends the same response to 50 clients: not a worm. */
static void
test_server_responses_ignored(void **state)
{
	struct harness *h = h_new(1, NULL);
	static const uint8_t req[8] = "GET /x\r\n";
	uint64_t t = T0;
	unsigned i;

	(void)state;
	for (i = 0; i < 50; i++, t += SEC) {
		h_send(h, PK_PROTO_TCP, ext(i), me, 80, PK_DIR_FWD, req,
		    sizeof(req), t, NULL);
		h_send(h, PK_PROTO_TCP, me, ext(i), 80, PK_DIR_REV, worm,
		    sizeof(worm), t + 1, NULL);
	}
	h_flush(h, t);
	assert_int_equal(h->eng.n, 0);
	assert_int_equal(h_stat(h, "fingerprint.windows_hashed"), 0);
	h_free(h);
}

/*
 * TCP flows picked up midstream (no SYN seen) have a guessed initiator:
 * their payloads are not counted as sent, however many destinations the
 * same bytes reach; UDP, which has no handshake, still is.
 */
static void
test_midstream_tcp_not_counted(void **state)
{
	struct harness *h = h_new(1, NULL);
	uint64_t t = T0;
	unsigned i;

	(void)state;
	h->flow.saw_syn = 0;
	t = spread(h, me, worm, sizeof(worm), 1, 30, t);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 0);
	assert_int_equal(h_stat(h, "fingerprint.midstream_skipped"), 30);
	assert_int_equal(h_stat(h, "fingerprint.windows_hashed"), 0);
	for (i = 0; i < 30; i++, t += SEC)
		h_send(h, PK_PROTO_UDP, me, ext(100 + i), 1434, PK_DIR_FWD,
		    worm, sizeof(worm), t, NULL);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 1);
	assert_int_equal(h->eng.rec[0].transport, PK_PROTO_UDP);
	assert_int_equal(detail_num(&h->eng.rec[0], "distinct_destinations"),
	    30);
	assert_int_equal(h_stat(h, "fingerprint.midstream_skipped"), 30);
	h_free(h);
}

/* 50 clients send this host the same request: counted, not reported. */
static void
test_inbound_dispersion_counted_only(void **state)
{
	struct harness *h = h_new(0, NULL);
	uint64_t t = T0;
	unsigned i;

	(void)state;
	for (i = 0; i < 50; i++, t += SEC)
		h_send(h, PK_PROTO_TCP, ext(i), me, 445, PK_DIR_FWD, worm,
		    sizeof(worm), t, NULL);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 0);
	/* one payload, one count, however many of its windows crossed */
	assert_int_equal(h_stat(h, "fingerprint.inbound_dispersed"), 1);
	h_free(h);
}

static void
test_random_payloads_none(void **state)
{
	struct harness *h = h_new(1, NULL);
	static uint8_t pkt[600];
	uint64_t t = T0;
	unsigned i;

	(void)state;
	for (i = 0; i < 300; i++, t += SEC / 10) {
		fill_random(pkt, sizeof(pkt));
		h_send(h, i % 2 ? PK_PROTO_TCP : PK_PROTO_UDP, me,
		    ext(i), 445, PK_DIR_FWD, pkt, sizeof(pkt), t, NULL);
	}
	h_flush(h, t);
	assert_int_equal(h->eng.n, 0);
	assert_true(h_stat(h, "fingerprint.sampled") > 300);
	h_free(h);
}

static void
tune_small(struct pk_config *c)
{
	c->fingerprint.max_fingerprints = 64;
}

static void
test_eviction_counted(void **state)
{
	struct harness *h = h_new(1, tune_small);
	static uint8_t pkt[1400];
	uint64_t t = T0;
	unsigned i;

	(void)state;
	for (i = 0; i < 100; i++, t += SEC) {
		fill_random(pkt, sizeof(pkt));
		h_send(h, PK_PROTO_TCP, me, ext(i), 80, PK_DIR_FWD, pkt,
		    sizeof(pkt), t, NULL);
	}
	assert_int_equal(h_stat(h, "fingerprint.tracked"), 64);
	assert_int_equal(h_stat(h, "fingerprint.evicted"),
	    h_stat(h, "fingerprint.sampled") - 64);
	assert_true(h_stat(h, "fingerprint.evicted") > 1000);
	/* the worm still gets through a small, churning table */
	t = spread(h, me, worm, sizeof(worm), 1000, 25, t);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 1);
	h_free(h);
}

static void
test_live_start_then_end(void **state)
{
	struct harness *h = h_new(0, NULL);
	uint64_t t;

	(void)state;
	t = spread(h, me, worm, sizeof(worm), 1, 19, T0);
	assert_int_equal(h->eng.n, 0);
	t = spread(h, me, worm, sizeof(worm), 20, 1, t);
	assert_int_equal(h->eng.n, 1);		/* at the 20th host */
	assert_int_equal(h->eng.rec[0].phase, PK_PHASE_START);
	assert_int_equal(detail_num(&h->eng.rec[0], "distinct_destinations"),
	    20);
	t = spread(h, me, worm, sizeof(worm), 21, 10, t);
	assert_int_equal(h->eng.n, 1);		/* update_interval 0 */
	/* idle for a window: the tick closes it */
	h_tick(h, t + 601 * SEC);
	assert_int_equal(h->eng.n, 2);
	assert_int_equal(h->eng.rec[1].phase, PK_PHASE_END);
	assert_string_equal(h->eng.rec[0].fp, h->eng.rec[1].fp);
	assert_int_equal(detail_num(&h->eng.rec[1], "distinct_destinations"),
	    30);
	assert_int_equal(h->eng.rec[1].count, 30);
	/* and the table forgot it */
	assert_int_equal(h_stat(h, "fingerprint.tracked"), 0);
	h_flush(h, t + 700 * SEC);
	assert_int_equal(h->eng.n, 2);
	h_free(h);
}

static void
tune_update(struct pk_config *c)
{
	c->output.update_interval = 5;
}

static void
test_live_change(void **state)
{
	struct harness *h = h_new(0, tune_update);
	uint64_t t;

	(void)state;
	t = spread(h, me, worm, sizeof(worm), 1, 30, T0);
	h_flush(h, t);
	/* START at 20, CHANGE at 25 and 30 (5 s apart), END */
	assert_int_equal(h->eng.n, 4);
	assert_int_equal(h->eng.rec[0].phase, PK_PHASE_START);
	assert_int_equal(h->eng.rec[1].phase, PK_PHASE_CHANGE);
	assert_int_equal(h->eng.rec[3].phase, PK_PHASE_END);
	assert_string_equal(h->eng.rec[0].fp, h->eng.rec[3].fp);
	h_free(h);
}

/* Two hosts, two detectors, one worm: one fingerprint string. */
static void
test_same_fingerprint_on_two_hosts(void **state)
{
	struct harness *a = h_new(1, NULL), *b = h_new(1, NULL);
	struct harness *c = h_new(1, NULL);
	static uint8_t other[300];
	uint64_t t;

	(void)state;
	t = spread(a, me, worm, sizeof(worm), 1, 25, T0);
	h_flush(a, t);
	t = spread(b, me2, worm, sizeof(worm), 500, 40, T0 + 3600 * SEC);
	h_flush(b, t);
	fill_random(other, sizeof(other));
	t = spread(c, me, other, sizeof(other), 1, 25, T0);
	h_flush(c, t);
	assert_int_equal(a->eng.n, 1);
	assert_int_equal(b->eng.n, 1);
	assert_int_equal(c->eng.n, 1);
	assert_string_equal(a->eng.rec[0].fp, b->eng.rec[0].fp);
	assert_string_not_equal(a->eng.rec[0].fp, c->eng.rec[0].fp);
	h_free(a);
	h_free(b);
	h_free(c);
}

/*
 * The value itself is part of the contract: hosts running different
 * builds (Linux, Windows, other versions) must give the same worm the
 * same picket.fingerprint, or the hub cannot group them.
 */
static void
test_golden_fingerprint(void **state)
{
	struct harness *h = h_new(1, NULL);
	static const char text[] =
	    "POST /cgi-bin/vulnerable.cgi HTTP/1.0\r\n\r\n"
	    "\x90\x90\x90\x90\x90\x90\x90\x90\x31\xc0\x50\x68//sh"
	    "\x68/bin\x89\xe3\x50\x53\x89\xe1\xb0\x0b\xcd\x80"
	    "The quick brown fox jumps over the lazy dog, again and again: "
	    "the quick brown fox jumps over the lazy dog once more. "
	    "Pack my box with five dozen liquor jugs; sphinx of black "
	    "quartz, judge my vow.";
	uint64_t t;

	(void)state;
	t = spread(h, me, (const uint8_t *)text, sizeof(text) - 1, 1, 25, T0);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 1);
	assert_string_equal(h->eng.rec[0].fp,
	    "af11cebf5830eac9730b9f3dc41e8a94");
	assert_int_equal(detail_num(&h->eng.rec[0], "offset"), 37);
	h_free(h);
}

/* Counts restart when a window passes without crossing the threshold. */
static void
test_window_restarts(void **state)
{
	struct harness *h = h_new(1, NULL);
	uint64_t t;

	(void)state;
	t = spread(h, me, worm, sizeof(worm), 1, 15, T0);
	t += 700 * SEC;
	t = spread(h, me, worm, sizeof(worm), 100, 15, t);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 0);
	h_free(h);
}

/* A UDP worm from an unknown network (offline, no home_net): high. */
static void
test_udp_not_home(void **state)
{
	struct harness *h = h_new(1, NULL);
	struct pk_addr src = v4(192, 0, 2, 66);
	uint64_t t = T0;
	unsigned i;

	(void)state;
	h->no_home = 1;
	for (i = 0; i < 30; i++, t += SEC)
		h_send(h, PK_PROTO_UDP, src, ext(i), 1434, PK_DIR_FWD, worm,
		    sizeof(worm), t, NULL);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 1);
	assert_int_equal(h->eng.rec[0].severity, PK_SEV_HIGH);
	assert_int_equal(h->eng.rec[0].transport, PK_PROTO_UDP);
	assert_int_equal(h->eng.rec[0].dport, 1434);
	h_free(h);
}

/* The excerpt shows the bytes around the window, escaped and bounded. */
static void
test_excerpt(void **state)
{
	struct harness *h = h_new(1, NULL);
	static uint8_t text[300];
	char want[24];
	const char *x;
	long long off, xoff;
	uint64_t t;

	(void)state;
	fill_letters(text, sizeof(text));
	t = spread(h, me, text, sizeof(text), 1, 25, T0);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 1);
	off = detail_num(&h->eng.rec[0], "offset");
	xoff = detail_num(&h->eng.rec[0], "excerpt_offset");
	assert_true(off >= 0 && off + 40 <= 300);
	assert_true(xoff <= off && xoff + 64 >= off + 40);
	x = strstr(h->eng.rec[0].details, "\"excerpt\":\"");
	assert_non_null(x);
	x += 11;
	assert_int_equal(strchr(x, '"') - x, 64);
	memcpy(want, text + off, 20);
	want[20] = '\0';
	assert_non_null(strstr(x, want));
	h_free(h);
}

/*
 * A browser's requests: different request lines, the same long header
 * block.  Parsed as HTTP (as the engine would), the headers are not
 * hashed; the same bytes not known to be HTTP would be reported.
 */
static void
test_http_headers_not_hashed(void **state)
{
	struct harness *h = h_new(1, NULL), *g = h_new(1, NULL);
	struct pk_http_req http;
	char req[600];
	uint64_t t = T0;
	unsigned i;
	int n;

	(void)state;
	memset(&http, 0, sizeof(http));
	for (i = 0; i < 30; i++, t += SEC) {
		n = snprintf(req, sizeof(req),
		    "GET /page%u HTTP/1.1\r\nHost: site%u.example\r\n"
		    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) "
		    "Gecko/20100101 Firefox/128.0\r\n"
		    "Accept: text/html,application/xhtml+xml,application/xml;"
		    "q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
		    "Accept-Encoding: gzip, deflate, br\r\n\r\n", i, i);
		h_send(h, PK_PROTO_TCP, me, ext(i), 80, PK_DIR_FWD,
		    (const uint8_t *)req, (size_t)n, t, &http);
		h_send(g, PK_PROTO_TCP, me, ext(i), 80, PK_DIR_FWD,
		    (const uint8_t *)req, (size_t)n, t, NULL);
	}
	h_flush(h, t);
	h_flush(g, t);
	assert_int_equal(h->eng.n, 0);
	assert_int_equal(h_stat(h, "fingerprint.http_headers_skipped"), 30);
	assert_int_equal(g->eng.n, 1);
	h_free(h);
	h_free(g);
}

/* The same ClientHello body to 30 HTTPS servers: not hashed. */
static void
test_tls_handshake_skipped(void **state)
{
	struct harness *h = h_new(1, NULL);
	static uint8_t hello[300];
	uint64_t t = T0;
	unsigned i;

	(void)state;
	memcpy(hello, worm, sizeof(hello));
	hello[0] = 0x16;
	hello[1] = 0x03;
	hello[2] = 0x01;
	for (i = 0; i < 30; i++, t += SEC)
		h_send(h, PK_PROTO_TCP, me, ext(i), 443, PK_DIR_FWD, hello,
		    sizeof(hello), t, NULL);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 0);
	assert_int_equal(h_stat(h, "fingerprint.tls_skipped"), 30);
	h_free(h);
}

/* Work per packet is bounded: the first 2 KiB, at most 64 fingerprints. */
static void
tune_every(struct pk_config *c)
{
	c->fingerprint.sample = 1;
}

static void
test_bounded_per_packet(void **state)
{
	struct harness *h = h_new(1, tune_every);
	static uint8_t big[9000];

	(void)state;
	fill_random(big, sizeof(big));
	h_send(h, PK_PROTO_UDP, me, ext(1), 9, PK_DIR_FWD, big, sizeof(big),
	    T0, NULL);
	assert_int_equal(h_stat(h, "fingerprint.tracked"), 64);
	assert_int_equal(h_stat(h, "fingerprint.packet_cap_reached"), 1);
	assert_true(h_stat(h, "fingerprint.windows_hashed") <= 2048 - 40 + 1);
	h_free(h);
}

/* Payloads shorter than the substring are not looked at. */
static void
test_short_payload_ignored(void **state)
{
	struct harness *h = h_new(1, NULL);
	uint64_t t;

	(void)state;
	t = spread(h, me, worm, 39, 1, 30, T0);
	h_flush(h, t);
	assert_int_equal(h->eng.n, 0);
	assert_int_equal(h_stat(h, "fingerprint.payloads"), 0);
	h_free(h);
}

/* Detection sets of a bundle listing fp (and a 64-hex value it cannot
 * use), version 3. */
static struct pk_shared *
known_set(const char *fp)
{
	char text[1024], err[256];
	struct pk_bundle b;
	struct pk_shared *sh;
	int n;

	n = snprintf(text, sizeof(text), "picket-bundle 1\nversion 3\n"
	    "created 1\nentries 2\n"
	    "fingerprint %s ref=7 origin=state-a tlp=green\n"
	    "fingerprint %s%s ref=8 origin=state-a tlp=green\nend\n", fp,
	    "ffffffffffffffffffffffffffffffff", "ffffffffffffffffffffffff"
	    "ffffffff");
	assert_int_equal(pk_bundle_parse(text, (size_t)n, 100, &b, err,
	    sizeof(err)), 0);
	sh = pk_shared_new(&b);
	assert_non_null(sh);
	assert_int_equal(pk_shared_nfingerprints(sh), 1);
	assert_int_equal(pk_shared_stats(sh)->ignored, 1);
	return sh;
}

/*
 * A fingerprint a bundle lists is reported on its first packet, sent,
 * received or in a response, with picket.shared and the value the
 * member who shared it saw; an unknown payload stays quiet.
 */
static void
test_known_fingerprint_first_packet(void **state)
{
	struct harness *a = h_new(1, NULL), *b;
	struct pk_shared *sh;
	uint8_t other[300];
	char fp[33];
	uint64_t t;

	(void)state;
	/* member A: the worm spreads, its indicator gives the value */
	t = spread(a, me, worm, sizeof(worm), 1, 30, T0);
	h_flush(a, t);
	assert_int_equal(a->eng.n, 1);
	memcpy(fp, a->eng.rec[0].fp, sizeof(fp));
	h_free(a);

	sh = known_set(fp);
	ed_shared = sh;
	b = h_new(0, NULL);
	/* unknown content: nothing */
	fill_random(other, sizeof(other));
	h_send(b, PK_PROTO_TCP, me, ext(1), 445, PK_DIR_FWD, other,
	    sizeof(other), T0, NULL);
	assert_int_equal(b->eng.n, 0);
	/* the worm, once, to one host: START at once */
	h_send(b, PK_PROTO_TCP, me, ext(1), 445, PK_DIR_FWD, worm,
	    sizeof(worm), T0 + SEC, NULL);
	assert_int_equal(b->eng.n, 1);
	assert_string_equal(b->eng.rec[0].rule, "picket.fingerprint.shared");
	assert_int_equal(b->eng.rec[0].phase, PK_PHASE_START);
	assert_string_equal(b->eng.rec[0].fp, fp);
	assert_string_equal(b->eng.rec[0].origin, "state-a");
	assert_int_equal(b->eng.rec[0].ref, 7);
	assert_int_equal(b->eng.rec[0].bundle, 3);
	assert_int_equal(b->eng.rec[0].severity, PK_SEV_CRITICAL);
	assert_int_equal(b->eng.rec[0].direction, PK_DIRN_OUTBOUND);
	/* again from the same sender: the same indicator grows */
	h_send(b, PK_PROTO_TCP, me, ext(2), 445, PK_DIR_FWD, worm,
	    sizeof(worm), T0 + 2 * SEC, NULL);
	assert_int_equal(b->eng.n, 1);
	/* received from outside, and in a server's response: reported */
	h_send(b, PK_PROTO_TCP, ext(9), me, 445, PK_DIR_FWD, worm,
	    sizeof(worm), T0 + 3 * SEC, NULL);
	assert_int_equal(b->eng.n, 2);
	assert_int_equal(b->eng.rec[1].direction, PK_DIRN_INBOUND);
	assert_int_equal(b->eng.rec[1].severity, PK_SEV_HIGH);
	h_send(b, PK_PROTO_TCP, ext(10), me2, 80, PK_DIR_REV, worm,
	    sizeof(worm), T0 + 4 * SEC, NULL);
	assert_int_equal(b->eng.n, 3);
	assert_int_equal(h_stat(b, "fingerprint.shared.responses_hashed"), 1);
	h_flush(b, T0 + 5 * SEC);
	assert_int_equal(b->eng.n, 6);		/* three ENDs */
	assert_int_equal(b->eng.rec[5].phase, PK_PHASE_END);
	assert_string_equal(b->eng.rec[5].origin, "state-a");
	h_free(b);
	/* without a bundle the same packet is not looked up */
	ed_shared = NULL;
	b = h_new(0, NULL);
	h_send(b, PK_PROTO_TCP, me, ext(1), 445, PK_DIR_FWD, worm,
	    sizeof(worm), T0, NULL);
	assert_int_equal(b->eng.n, 0);
	assert_int_equal(h_stat(b, "fingerprint.shared.lookups"), 0);
	h_free(b);
	pk_shared_free(sh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sampling_finds_windows),
		cmocka_unit_test(test_outbound_spread_one_indicator),
		cmocka_unit_test(test_outbound_embedded_matches),
		cmocka_unit_test(test_late_windows_join),
		cmocka_unit_test(test_covered_part_carries_group),
		cmocka_unit_test(test_one_destination_many_times),
		cmocka_unit_test(test_server_responses_ignored),
		cmocka_unit_test(test_midstream_tcp_not_counted),
		cmocka_unit_test(test_inbound_dispersion_counted_only),
		cmocka_unit_test(test_random_payloads_none),
		cmocka_unit_test(test_eviction_counted),
		cmocka_unit_test(test_live_start_then_end),
		cmocka_unit_test(test_live_change),
		cmocka_unit_test(test_same_fingerprint_on_two_hosts),
		cmocka_unit_test(test_golden_fingerprint),
		cmocka_unit_test(test_window_restarts),
		cmocka_unit_test(test_udp_not_home),
		cmocka_unit_test(test_excerpt),
		cmocka_unit_test(test_http_headers_not_hashed),
		cmocka_unit_test(test_tls_handshake_skipped),
		cmocka_unit_test(test_bounded_per_packet),
		cmocka_unit_test(test_short_payload_ignored),
		cmocka_unit_test_setup(test_known_fingerprint_first_packet,
		    setup),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
