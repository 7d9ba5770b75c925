/*
 * test_iocdet.c - unit tests for the IOC detector
 * (collectors/pcap/iocdet.c) driven through its struct pk_detector_ops
 * with hand-built packet contexts: new flows to and from listed
 * addresses, DNS queries and responses (parsed struct pk_dns), TLS server
 * names, HTTP hosts and URLs, the START/CHANGE/END lifecycle online and
 * offline, idle expiry, eviction, and the statistics.  The list is
 * tests/unit/data/iocdet.txt (documentation addresses and reserved names
 * only), read relative to the repository, where the tests run.
 *
 * The detector calls back three engine functions: pk_engine_emit,
 * pk_engine_direction and pk_engine_offline.  This file defines them as
 * test doubles (recording every indicator, home net 10.0.0.0/8).
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
#include "collectors/pcap/app.h"
#include "collectors/pcap/flow.h"
#include "collectors/pcap/iocdet.h"
#include "common/json.h"
#include "common/util.h"
#include "tests/unit/jsoncheck.h"
#include "tests/unit/pktbuild.h"

#define SEC	1000000ULL
#define T0	(1700000000ULL * SEC)
#define MAXREC	64
#define LIST	"tests/unit/data/iocdet.txt"

/* ---- engine doubles ------------------------------------------------------ */

struct rec {
	char		 rule[48], ttype[16], tname[256], tprov[64];
	char		 dns[256], sni[256], udom[256], upath[1100];
	int		 phase, direction, severity;
	uint64_t	 count, first, last;
	char		 fp[33];
	char		 details[2048];
	struct pk_addr	 src, dst;
};

#define ENGINE_DOUBLE_DROP_EXCESS
#define ENGINE_DOUBLE_CHECK_LINE(line, len) \
	assert_true(valid_json((line), (size_t)(len)))
#include "tests/unit/engine_double.h"

static void
cp(char *d, size_t n, const char *s)
{
	snprintf(d, n, "%s", s != NULL ? s : "");
}

static void
ed_record(struct rec *r, struct pk_indicator *ind)
{
	cp(r->rule, sizeof(r->rule), ind->rule_id);
	cp(r->ttype, sizeof(r->ttype), ind->threat_type);
	cp(r->tname, sizeof(r->tname), ind->threat_name);
	cp(r->tprov, sizeof(r->tprov), ind->threat_provider);
	cp(r->dns, sizeof(r->dns), ind->dns_name);
	cp(r->sni, sizeof(r->sni), ind->sni);
	cp(r->udom, sizeof(r->udom), ind->url_domain);
	cp(r->upath, sizeof(r->upath), ind->url_path);
	r->first = ind->first_seen_us;
	r->last = ind->last_seen_us;
	r->src = ind->src;
	r->dst = ind->dst;
	assert_true(ind->has_src);
	assert_string_equal(ind->module, "network");
	assert_string_equal(ind->dataset, "picket.ioc");
	assert_string_equal(ind->ruleset, "picket-ioc");
	assert_non_null(ind->rule_name);
	assert_non_null(ind->message);
	assert_int_equal(strlen(ind->fingerprint), 32);
	assert_true(ind->first_seen_us <= ind->last_seen_us);
	/* serialised with the TLP marking, which the record must carry */
	ind->tlp = "TLP:AMBER";
}

/* ---- harness ------------------------------------------------------ */

struct harness {
	struct pk_engine	 eng;
	struct pk_config	 cfg;
	void			*st;
};

static struct harness *
h_new(int offline, uint64_t update)
{
	struct harness *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	pk_config_defaults(&h->cfg);
	pk_strlcpy(h->cfg.ioc.paths, LIST, sizeof(h->cfg.ioc.paths));
	h->cfg.output.update_interval = update;
	assert_true(pk_detector_ioc.enabled(&h->cfg));
	h->eng.offline = offline;
	h->st = pk_detector_ioc.init(&h->eng, &h->cfg);
	assert_non_null(h->st);
	return h;
}

static void
h_free(struct harness *h)
{
	pk_detector_ioc.free(h->st);
	free(h);
}

static void
ctx_for(struct pk_pktctx *c, const struct pk_packet *p)
{
	memset(c, 0, sizeof(*c));
	c->pkt = p;
	c->dir = PK_DIR_FWD;
	c->src_home = ed_home(&p->src);
	c->dst_home = ed_home(&p->dst);
}

/* The first packet of a flow p->src -> p->dst. */
static void
new_flow(struct harness *h, struct pk_packet p)
{
	struct pk_pktctx c;
	struct pk_flow f;

	memset(&f, 0, sizeof(f));
	f.src = p.src;
	f.dst = p.dst;
	f.sport = p.sport;
	f.dport = p.dport;
	f.proto = p.proto;
	f.first_us = f.last_us = p.ts_us;
	ctx_for(&c, &p);
	c.flow = &f;
	c.flow_new = 1;
	pk_detector_ioc.packet(h->st, &c);
}

static struct pk_addr
A(const char *s)
{
	struct pk_addr a;

	assert_int_equal(pk_addr_parse(s, &a), 0);
	return a;
}

static const struct rec *
last(struct harness *h)
{
	assert_true(h->eng.n > 0);
	return &h->eng.rec[h->eng.n - 1];
}

static void
has_detail(const struct rec *r, const char *s)
{
	if (strstr(r->details, s) == NULL)
		fail_msg("no %s in %s", s, r->details);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_outbound_address(void **unused)
{
	struct harness *h = h_new(0, 0);
	const struct rec *r;
	char fp[33];

	(void)unused;
	new_flow(h, tcp(v4(10, 0, 0, 5), 40000, v4(198, 51, 100, 7), 443,
	    PK_TH_SYN, T0));
	assert_int_equal(h->eng.n, 1);
	r = last(h);
	assert_string_equal(r->rule, "picket.ioc.address");
	assert_int_equal(r->phase, PK_PHASE_START);
	assert_string_equal(r->ttype, "ipv4-addr");
	assert_string_equal(r->tname, "198.51.100.0/24");
	assert_string_equal(r->tprov, "iocdet");
	assert_int_equal(r->severity, PK_SEV_HIGH);
	assert_int_equal(r->direction, PK_DIRN_OUTBOUND);
	assert_true(pk_addr_eq(&r->src, &(struct pk_addr){ 4,
	    { 10, 0, 0, 5 } }));
	assert_true(pk_addr_eq(&r->dst, &(struct pk_addr){ 4,
	    { 198, 51, 100, 7 } }));
	has_detail(r, "\"method\":\"ioc\"");
	has_detail(r, "\"matched\":\"destination.ip\"");
	has_detail(r, "\"list\":\"iocdet\"");
	has_detail(r, "\"line\":3");
	memcpy(fp, r->fp, sizeof(fp));
	/* a second connection grows it (no update interval: no CHANGE) */
	new_flow(h, tcp(v4(10, 0, 0, 5), 40001, v4(198, 51, 100, 8), 80,
	    PK_TH_SYN, T0 + 5 * SEC));
	assert_int_equal(h->eng.n, 1);
	/* another host, same listed value: another indicator, same
	 * fingerprint */
	new_flow(h, tcp(v4(10, 0, 0, 6), 40000, v4(198, 51, 100, 7), 443,
	    PK_TH_SYN, T0 + 6 * SEC));
	assert_int_equal(h->eng.n, 2);
	assert_string_equal(last(h)->fp, fp);
	pk_detector_ioc.flush(h->st, T0 + 10 * SEC);
	assert_int_equal(h->eng.n, 4);
	r = &h->eng.rec[2];
	assert_int_equal(r->phase, PK_PHASE_END);
	assert_int_equal(r->count, 2);
	assert_int_equal(r->first, T0);
	assert_int_equal(r->last, T0 + 5 * SEC);
	/* a flow to an unlisted address: nothing */
	new_flow(h, tcp(v4(10, 0, 0, 5), 40000, v4(198, 51, 101, 7), 443,
	    PK_TH_SYN, T0 + 11 * SEC));
	assert_int_equal(h->eng.n, 4);
	h_free(h);
}

static void
test_inbound_and_v6(void **unused)
{
	struct harness *h = h_new(0, 0);
	const struct rec *r;

	(void)unused;
	new_flow(h, tcp(v4(198, 51, 100, 9), 5555, v4(10, 0, 0, 5), 22,
	    PK_TH_SYN, T0));
	r = last(h);
	assert_int_equal(r->severity, PK_SEV_MEDIUM);
	assert_int_equal(r->direction, PK_DIRN_INBOUND);
	has_detail(r, "\"matched\":\"source.ip\"");
	/* the flow's source is the listed address */
	assert_true(pk_addr_eq(&r->src, &(struct pk_addr){ 4,
	    { 198, 51, 100, 9 } }));
	new_flow(h, udp(A("2001:db8::1"), 5353, A("2001:db8:bad:1::2"), 9999,
	    T0 + SEC));
	r = last(h);
	assert_string_equal(r->ttype, "ipv6-addr");
	assert_string_equal(r->tname, "2001:db8:bad::/48");
	h_free(h);
}

static void
dns_query(struct pk_dns *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	d->qdcount = 1;
	d->nquestions = 1;
	pk_strlcpy(d->q[0].name, name, sizeof(d->q[0].name));
	d->q[0].type = 1;
	d->q[0].class = 1;
}

static void
dns_packet(struct harness *h, struct pk_packet p, const struct pk_dns *d)
{
	struct pk_pktctx c;

	ctx_for(&c, &p);
	c.dns = d;
	pk_detector_ioc.packet(h->st, &c);
}

static void
test_dns_query(void **unused)
{
	struct harness *h = h_new(0, 0);
	struct pk_dns d;
	const struct rec *r;

	(void)unused;
	dns_query(&d, "notevil.example");
	dns_packet(h, udp(v4(10, 0, 0, 5), 5000, v4(10, 0, 0, 53), 53, T0), &d);
	dns_query(&d, "exact.example.net");
	dns_packet(h, udp(v4(10, 0, 0, 5), 5000, v4(10, 0, 0, 53), 53, T0), &d);
	dns_query(&d, "www.exact.example");
	dns_packet(h, udp(v4(10, 0, 0, 5), 5000, v4(10, 0, 0, 53), 53, T0), &d);
	assert_int_equal(h->eng.n, 0);
	dns_query(&d, "a.b.evil.example");
	dns_packet(h, udp(v4(10, 0, 0, 5), 5001, v4(10, 0, 0, 53), 53, T0), &d);
	assert_int_equal(h->eng.n, 1);
	r = last(h);
	assert_string_equal(r->rule, "picket.ioc.domain");
	assert_string_equal(r->ttype, "domain-name");
	assert_string_equal(r->tname, "evil.example");
	assert_string_equal(r->dns, "a.b.evil.example");
	assert_int_equal(r->severity, PK_SEV_HIGH);
	has_detail(r, "\"matched\":\"dns.question.name\"");
	has_detail(r, "\"line\":6");
	/* the same listed value from the same host: one indicator */
	dns_query(&d, "evil.example");
	dns_packet(h, udp(v4(10, 0, 0, 5), 5002, v4(10, 0, 0, 53), 53,
	    T0 + SEC), &d);
	assert_int_equal(h->eng.n, 1);
	dns_query(&d, "EXACT.example.");
	dns_packet(h, udp(v4(10, 0, 0, 5), 5002, v4(10, 0, 0, 53), 53,
	    T0 + SEC), &d);
	assert_int_equal(h->eng.n, 2);
	assert_string_equal(last(h)->tname, "exact.example");
	pk_detector_ioc.flush(h->st, T0 + 2 * SEC);
	assert_int_equal(h->eng.rec[2].count, 2);
	h_free(h);
}

static void
test_dns_answers(void **unused)
{
	struct harness *h = h_new(0, 0);
	struct pk_dns d;
	const struct rec *r;
	size_t i;

	(void)unused;
	dns_query(&d, "innocent.example.org");
	d.qr = 1;
	d.nanswers = 3;
	pk_strlcpy(d.an[0].name, "innocent.example.org", PK_DNS_NAME_MAX);
	d.an[0].type = 5;
	pk_strlcpy(d.an[0].target, "x.cname.example", PK_DNS_NAME_MAX);
	pk_strlcpy(d.an[1].name, "x.cname.example", PK_DNS_NAME_MAX);
	d.an[1].type = 1;
	d.an[1].addr = v4(192, 0, 2, 66);
	pk_strlcpy(d.an[2].name, "x.cname.example", PK_DNS_NAME_MAX);
	d.an[2].type = 1;
	d.an[2].addr = v4(192, 0, 2, 67);
	/* resolver -> client */
	dns_packet(h, udp(v4(10, 0, 0, 53), 53, v4(10, 0, 0, 5), 5000, T0), &d);
	assert_int_equal(h->eng.n, 2);
	for (i = 0; i < 2; i++) {
		r = &h->eng.rec[i];
		has_detail(r, "\"matched\":\"dns.answers\"");
		assert_string_equal(r->dns, "innocent.example.org");
		/* the client is the source */
		assert_true(pk_addr_eq(&r->src, &(struct pk_addr){ 4,
		    { 10, 0, 0, 5 } }));
		assert_int_equal(r->severity, PK_SEV_HIGH);
	}
	assert_string_equal(h->eng.rec[0].tname, "cname.example");
	assert_string_equal(h->eng.rec[1].tname, "192.0.2.66");
	assert_string_equal(h->eng.rec[1].ttype, "ipv4-addr");
	pk_detector_ioc.flush(h->st, T0 + SEC);
	/* the CNAME target and the answer names in one packet count once */
	assert_int_equal(h->eng.rec[2].count, 1);
	h_free(h);
}

static void
test_tls_http(void **unused)
{
	struct harness *h = h_new(0, 0);
	struct pk_http_req http;
	struct pk_pktctx c;
	struct pk_packet p;
	const struct rec *r;

	(void)unused;
	p = tcp(v4(10, 0, 0, 5), 40000, v4(203, 0, 113, 5), 443, PK_TH_ACK, T0);
	ctx_for(&c, &p);
	c.sni = "api.tls.example";
	pk_detector_ioc.packet(h->st, &c);
	r = last(h);
	assert_string_equal(r->tname, "tls.example");
	assert_string_equal(r->sni, "api.tls.example");
	has_detail(r, "\"matched\":\"tls.client.server_name\"");

	memset(&http, 0, sizeof(http));
	pk_strlcpy(http.method, "GET", sizeof(http.method));
	pk_strlcpy(http.host, "dl.example", sizeof(http.host));
	pk_strlcpy(http.uri, "/payload.exe?id=3", sizeof(http.uri));
	p = tcp(v4(10, 0, 0, 5), 40001, v4(203, 0, 113, 6), 80, PK_TH_ACK,
	    T0 + SEC);
	ctx_for(&c, &p);
	c.http = &http;
	pk_detector_ioc.packet(h->st, &c);
	assert_int_equal(h->eng.n, 2);
	r = last(h);
	assert_string_equal(r->rule, "picket.ioc.url");
	assert_string_equal(r->ttype, "url");
	assert_string_equal(r->tname, "http://dl.example/payload.exe");
	assert_string_equal(r->udom, "dl.example");
	assert_string_equal(r->upath, "/payload.exe?id=3");
	has_detail(r, "\"matched\":\"url.full\"");

	/* Host listed: url.domain; a port other than 80 joins the URL */
	pk_strlcpy(http.host, "www.web.example", sizeof(http.host));
	pk_strlcpy(http.uri, "/", sizeof(http.uri));
	pk_detector_ioc.packet(h->st, &c);
	assert_int_equal(h->eng.n, 3);
	has_detail(last(h), "\"matched\":\"url.domain\"");
	assert_string_equal(last(h)->tname, "web.example");
	pk_strlcpy(http.host, "alt.example", sizeof(http.host));
	pk_strlcpy(http.uri, "/x", sizeof(http.uri));
	pk_detector_ioc.packet(h->st, &c);
	assert_int_equal(h->eng.n, 3);
	p.dport = 8080;
	pk_detector_ioc.packet(h->st, &c);
	assert_int_equal(h->eng.n, 4);
	assert_string_equal(last(h)->tname, "http://alt.example:8080/x");
	/* an absolute URI (proxy request) is taken as it is */
	p.dport = 3128;
	pk_strlcpy(http.host, "proxy.local", sizeof(http.host));
	pk_strlcpy(http.uri, "http://DL.example:80/payload.exe",
	    sizeof(http.uri));
	pk_detector_ioc.packet(h->st, &c);
	pk_detector_ioc.flush(h->st, T0 + 2 * SEC);
	assert_int_equal(h->eng.n, 8);
	/* ended least recently grown first: the payload URL grew last */
	r = last(h);
	assert_int_equal(r->phase, PK_PHASE_END);
	assert_string_equal(r->tname, "http://dl.example/payload.exe");
	assert_int_equal(r->count, 2);
	h_free(h);
}

static void
test_offline_and_change(void **unused)
{
	struct harness *h = h_new(1, 0);
	struct pk_dns d;
	int i;

	(void)unused;
	dns_query(&d, "evil.example");
	for (i = 0; i < 3; i++)
		dns_packet(h, udp(v4(10, 0, 0, 5), 5000, v4(10, 0, 0, 53), 53,
		    T0 + (uint64_t)i * SEC), &d);
	assert_int_equal(h->eng.n, 0);
	pk_detector_ioc.flush(h->st, T0 + 10 * SEC);
	assert_int_equal(h->eng.n, 1);
	assert_int_equal(h->eng.rec[0].phase, PK_PHASE_END);
	assert_int_equal(h->eng.rec[0].count, 3);
	h_free(h);

	/* online, updates every 10 s */
	h = h_new(0, 10);
	for (i = 0; i < 25; i++)
		dns_packet(h, udp(v4(10, 0, 0, 5), 5000, v4(10, 0, 0, 53), 53,
		    T0 + (uint64_t)i * SEC), &d);
	assert_int_equal(h->eng.n, 3);
	assert_int_equal(h->eng.rec[0].phase, PK_PHASE_START);
	assert_int_equal(h->eng.rec[1].phase, PK_PHASE_CHANGE);
	assert_int_equal(h->eng.rec[1].count, 11);
	assert_int_equal(h->eng.rec[2].count, 21);
	/* idle for 600 s: END */
	pk_detector_ioc.tick(h->st, T0 + 24 * SEC + 599 * SEC);
	assert_int_equal(h->eng.n, 3);
	pk_detector_ioc.tick(h->st, T0 + 24 * SEC + 600 * SEC);
	assert_int_equal(h->eng.n, 4);
	assert_int_equal(h->eng.rec[3].phase, PK_PHASE_END);
	assert_int_equal(h->eng.rec[3].count, 25);
	h_free(h);
}

static void
test_eviction_and_stats(void **unused)
{
	struct harness *h = h_new(1, 0);
	struct pk_dns d;
	char buf[4096];
	FILE *fp;
	size_t n;
	uint32_t i;

	(void)unused;
	dns_query(&d, "evil.example");
	for (i = 0; i < 4097; i++)
		dns_packet(h, udp(v4(10, 1, (uint8_t)(i >> 8), (uint8_t)i),
		    5000, v4(10, 0, 0, 53), 53, T0 + i), &d);
	/* the oldest indicator was ended to make room */
	assert_int_equal(h->eng.total, 1);
	assert_int_equal(h->eng.rec[0].phase, PK_PHASE_END);
	assert_true(pk_addr_eq(&h->eng.rec[0].src, &(struct pk_addr){ 4,
	    { 10, 1, 0, 0 } }));
	fp = tmpfile();
	assert_non_null(fp);
	pk_detector_ioc.stats(h->st, fp);
	rewind(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(buf, "ioc.entries 10\n"));
	assert_non_null(strstr(buf, "ioc.lookups 4097\n"));
	assert_non_null(strstr(buf, "ioc.hits 4097\n"));
	assert_non_null(strstr(buf, "ioc.indicators_evicted 1\n"));
	assert_non_null(strstr(buf, "ioc.indicators_open 4096\n"));
	assert_non_null(strstr(buf, "ioc.indicators 1\n"));
	pk_detector_ioc.flush(h->st, T0 + 10 * SEC);
	assert_int_equal(h->eng.total, 4097);
	h_free(h);
}

static void
test_empty_lists(void **unused)
{
	struct pk_engine eng;
	struct pk_config cfg;
	struct pk_pktctx c;
	struct pk_packet p;
	struct pk_flow f;
	void *st;

	(void)unused;
	memset(&eng, 0, sizeof(eng));
	pk_config_defaults(&cfg);
	cfg.ioc.paths[0] = '\0';	/* no lists: an empty set */
	st = pk_detector_ioc.init(&eng, &cfg);
	assert_non_null(st);
	p = tcp(v4(10, 0, 0, 5), 1, v4(198, 51, 100, 7), 2, PK_TH_SYN, T0);
	memset(&f, 0, sizeof(f));
	f.src = p.src;
	f.dst = p.dst;
	ctx_for(&c, &p);
	c.flow = &f;
	c.flow_new = 1;
	pk_detector_ioc.packet(st, &c);
	pk_detector_ioc.flush(st, T0);
	assert_int_equal(eng.total, 0);
	pk_detector_ioc.free(st);
	cfg.ioc.enabled = 0;
	assert_false(pk_detector_ioc.enabled(&cfg));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outbound_address),
		cmocka_unit_test(test_inbound_and_v6),
		cmocka_unit_test(test_dns_query),
		cmocka_unit_test(test_dns_answers),
		cmocka_unit_test(test_tls_http),
		cmocka_unit_test(test_offline_and_change),
		cmocka_unit_test(test_eviction_and_stats),
		cmocka_unit_test(test_empty_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
