/*
 * test_engine.c - the engine end to end (agent/engine.c): Ethernet frames
 * built byte by byte go through decode, flows, application parsing and the
 * registered detectors to an output, as in picketd -r and live capture.
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
#include "tests/unit/jsoncheck.h"

#define SEC	1000000ULL
#define MS	1000ULL
#define T0	(1700000000ULL * SEC)
#define MAXLINES 16

struct sink {
	size_t	n;
	char	line[MAXLINES][8192];
	int	phase[MAXLINES];
};

static void
sink_write(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind)
{
	struct sink *s = arg;

	assert_true(s->n < MAXLINES);
	assert_true(len < sizeof(s->line[0]));
	assert_int_equal(strlen(line), len);
	assert_true(valid_json(line, len));
	memcpy(s->line[s->n], line, len + 1);
	s->phase[s->n] = ind->phase;
	s->n++;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv4 (no options) header; returns the IP header offset. */
static size_t
eth_ip(uint8_t *f, const uint8_t src[4], const uint8_t dst[4], uint8_t proto,
    size_t l4len)
{
	memset(f, 0, 34);
	memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01", 12);
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(20 + l4len));
	f[22] = 64;
	f[23] = proto;
	memcpy(f + 26, src, 4);
	memcpy(f + 30, dst, 4);
	return 14;
}

static size_t
tcp_frame(uint8_t *f, const uint8_t src[4], uint16_t sp,
    const uint8_t dst[4], uint16_t dp, uint8_t flags)
{
	size_t o = eth_ip(f, src, dst, 6, 20) + 20;

	memset(f + o, 0, 20);
	put16(f + o, sp);
	put16(f + o + 2, dp);
	f[o + 12] = 5 << 4;
	f[o + 13] = flags;
	put16(f + o + 14, 1024);
	return o + 20;
}

static const uint8_t inside[4] = { 10, 0, 0, 5 };
static const uint8_t outside[4] = { 192, 0, 2, 9 };

static struct pk_engine *
engine(struct pk_config *cfg, struct sink *s, int offline)
{
	struct pk_engine *e;
	char err[128];

	pk_config_defaults(cfg);
	assert_int_equal(pk_config_set(cfg, "network", "home_net",
	    "10.0.0.0/8", err, sizeof(err)), 0);
	e = pk_engine_new(cfg);
	assert_non_null(e);
	pk_engine_set_identity(e, "host-1", "ws-1", "agent-1");
	pk_engine_set_offline(e, offline);
	assert_int_equal(pk_engine_add_output(e, sink_write, s), 0);
	return e;
}

/* The host probes ports 1..n of an outside host; each answered RST. */
static uint64_t
port_scan(struct pk_engine *e, unsigned n)
{
	uint8_t f[128];
	uint64_t t = T0;
	unsigned i;
	size_t len;

	for (i = 1; i <= n; i++, t += 10 * MS) {
		len = tcp_frame(f, inside, 40000, outside, (uint16_t)i, 0x02);
		assert_int_equal(pk_engine_frame(e, 1, f, (uint32_t)len,
		    (uint32_t)len, t), 1);
		len = tcp_frame(f, outside, (uint16_t)i, inside, 40000, 0x14);
		assert_int_equal(pk_engine_frame(e, 1, f, (uint32_t)len,
		    (uint32_t)len, t + MS), 1);
	}
	return t;
}

static void
test_offline_port_scan(void **state)
{
	static struct pk_config cfg;
	static struct sink s;
	struct pk_engine *e;
	uint64_t t;

	(void)state;
	memset(&s, 0, sizeof(s));
	e = engine(&cfg, &s, 1);
	t = port_scan(e, 30);
	assert_int_equal(s.n, 0);	/* offline: only when it closes */
	pk_engine_flush(e, t);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(s.line[0], "\"rule\":{\"id\":\"picket.scan.port\""));
	assert_non_null(strstr(s.line[0], "\"direction\":\"outbound\""));
	assert_non_null(strstr(s.line[0], "\"severity\":73"));
	assert_non_null(strstr(s.line[0], "\"source\":{\"ip\":\"10.0.0.5\"}"));
	assert_non_null(strstr(s.line[0], "\"destination\":{\"ip\":\"192.0.2.9\"}"));
	assert_non_null(strstr(s.line[0], "\"distinct_ports\":30"));
	assert_non_null(strstr(s.line[0], "\"host\":{\"id\":\"host-1\",\"name\":\"ws-1\"}"));
	assert_non_null(strstr(s.line[0], "\"seq\":1,"));
	assert_int_equal(pk_engine_stats(e)->indicators, 1);
	assert_int_equal(pk_decoder_stats(pk_engine_decoder(e))->decoded, 60);
	assert_int_equal(pk_flow_stats(pk_engine_flows(e))->attempts_fail, 30);
	pk_engine_free(e);
}

static void
test_live_start_then_end(void **state)
{
	static struct pk_config cfg;
	static struct sink s;
	struct pk_engine *e;
	uint64_t t;

	(void)state;
	memset(&s, 0, sizeof(s));
	e = engine(&cfg, &s, 0);
	t = port_scan(e, 20);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.phase[0], PK_PHASE_START);
	pk_engine_flush(e, t + SEC);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.phase[1], PK_PHASE_END);
	assert_non_null(strstr(s.line[1], "\"seq\":2,"));
	/* same finding: same fingerprint in both reports */
	assert_memory_equal(strstr(s.line[0], "\"fingerprint\""),
	    strstr(s.line[1], "\"fingerprint\""), 48);
	pk_engine_free(e);
}

static void
test_malformed_and_foreign_frames(void **state)
{
	static struct pk_config cfg;
	static struct sink s;
	const struct pk_decode_stats *ds;
	struct pk_engine *e;
	uint8_t f[128];
	size_t len;

	(void)state;
	memset(&s, 0, sizeof(s));
	e = engine(&cfg, &s, 1);
	ds = pk_decoder_stats(pk_engine_decoder(e));
	/* IPv4 header claiming more bytes than the frame holds */
	len = tcp_frame(f, inside, 1, outside, 2, 0x02);
	put16(f + 16, 1400);
	assert_int_equal(pk_engine_frame(e, 1, f, (uint32_t)len,
	    (uint32_t)len, T0), -1);
	/* ARP: not ours, not an error */
	len = tcp_frame(f, inside, 1, outside, 2, 0x02);
	put16(f + 12, 0x0806);
	assert_int_equal(pk_engine_frame(e, 1, f, (uint32_t)len,
	    (uint32_t)len, T0), 0);
	/* an Ethernet header cut short */
	assert_int_equal(pk_engine_frame(e, 1, f, 10, 60, T0), -1);
	assert_int_equal(pk_decoder_errors(pk_engine_decoder(e)), 2);
	assert_int_equal(ds->packets, 3);
	assert_int_equal(ds->decoded, 0);
	pk_engine_flush(e, T0);
	assert_int_equal(s.n, 0);
	pk_engine_free(e);
}

static void
test_dns_is_parsed(void **state)
{
	static const uint8_t query[] = {
		0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 7, 'e', 'x', 'a', 'm', 'p',
		'l', 'e', 4, 't', 'e', 's', 't', 0, 0x00, 0x01,
		0x00, 0x01,
	};
	static struct pk_config cfg;
	static struct sink s;
	struct pk_engine *e;
	uint8_t f[128];
	size_t o;

	(void)state;
	memset(&s, 0, sizeof(s));
	e = engine(&cfg, &s, 1);
	o = eth_ip(f, inside, outside, 17, 8 + sizeof(query)) + 20;
	put16(f + o, 53000);
	put16(f + o + 2, 53);
	put16(f + o + 4, (uint16_t)(8 + sizeof(query)));
	f[o + 6] = f[o + 7] = 0;
	memcpy(f + o + 8, query, sizeof(query));
	o += 8 + sizeof(query);
	assert_int_equal(pk_engine_frame(e, 1, f, (uint32_t)o, (uint32_t)o,
	    T0), 1);
	assert_int_equal(pk_engine_stats(e)->dns, 1);
	assert_int_equal(pk_engine_stats(e)->app_errors, 0);
	pk_engine_flush(e, T0);
	assert_int_equal(s.n, 0);
	pk_engine_free(e);
}

static void
test_direction(void **state)
{
	static struct pk_config cfg;
	static struct sink s;
	struct pk_engine *e;
	struct pk_addr a, b, c;
	struct pk_cidr extra;

	(void)state;
	e = engine(&cfg, &s, 1);
	pk_addr_v4(&a, inside);
	pk_addr_v4(&b, outside);
	assert_int_equal(pk_addr_parse("10.9.9.9", &c), 0);
	assert_int_equal(pk_engine_direction(e, &a, &b), PK_DIRN_OUTBOUND);
	assert_int_equal(pk_engine_direction(e, &b, &a), PK_DIRN_INBOUND);
	assert_int_equal(pk_engine_direction(e, &a, &c), PK_DIRN_INTERNAL);
	assert_int_equal(pk_cidr_parse("192.0.2.0/24", &extra), 0);
	assert_int_equal(pk_engine_add_home(e, &extra), 0);
	assert_int_equal(pk_engine_add_home(e, &extra), 0);	/* once */
	assert_int_equal(pk_engine_direction(e, &a, &b), PK_DIRN_INTERNAL);
	pk_engine_free(e);
}

/* ---- process attribution ---------------------------------------------- */

static void
scanner_ref(struct pk_proc_ref *r, uint32_t pid)
{
	memset(r, 0, sizeof(*r));
	r->pid = pid;
	r->ppid = 4000;
	r->uid = 1000;
	snprintf(r->name, sizeof(r->name), "scanner");
	snprintf(r->exe, sizeof(r->exe), "/tmp/.x/scanner");
	snprintf(r->parent_exe, sizeof(r->parent_exe), "/bin/sh");
	r->has_hash = 1;
	memset(r->sha256, 0xab, sizeof(r->sha256));
}

/* The host sends SYNs to 445 on n outside hosts from ports 30000..; each
 * is refused.  If attribute, the process collector saw each attempt. */
static uint64_t
address_scan(struct pk_engine *e, unsigned n, int attribute)
{
	struct pk_addr la, ra;
	uint8_t f[128], dst[4] = { 192, 0, 2, 0 };
	uint64_t t = T0;
	unsigned i;
	size_t len;

	pk_addr_v4(&la, inside);
	for (i = 0; i < n; i++, t += 10 * MS) {
		uint16_t sp = (uint16_t)(30000 + i);

		dst[3] = (uint8_t)(1 + i);
		pk_addr_v4(&ra, dst);
		if (attribute)
			assert_int_equal(pk_engine_attrib_record(e, 6, &la, sp,
			    &ra, 445, 4242, t), 0);
		len = tcp_frame(f, inside, sp, dst, 445, 0x02);
		assert_int_equal(pk_engine_frame(e, 1, f, (uint32_t)len,
		    (uint32_t)len, t), 1);
		len = tcp_frame(f, dst, 445, inside, sp, 0x14);
		assert_int_equal(pk_engine_frame(e, 1, f, (uint32_t)len,
		    (uint32_t)len, t + MS), 1);
	}
	return t;
}

static void
test_scan_names_the_process(void **state)
{
	static struct pk_config cfg;
	static struct sink s;
	struct pk_proc_ref ref;
	struct pk_engine *e;
	uint64_t t;
	size_t i;

	(void)state;
	memset(&s, 0, sizeof(s));
	e = engine(&cfg, &s, 0);
	scanner_ref(&ref, 4242);
	pk_engine_attrib_process(e, &ref, T0);
	assert_true(pk_engine_attrib_active(e));
	t = address_scan(e, 30, 1);
	pk_engine_flush(e, t + SEC);
	/* one indicator, START and END, each naming the process */
	assert_int_equal(s.n, 2);
	for (i = 0; i < s.n; i++) {
		assert_non_null(strstr(s.line[i],
		    "\"rule\":{\"id\":\"picket.scan.address\""));
		assert_non_null(strstr(s.line[i], "\"process\":{\"pid\":4242,"
		    "\"executable\":\"/tmp/.x/scanner\",\"name\":\"scanner\","
		    "\"parent\":{\"pid\":4000,\"executable\":\"/bin/sh\"},"
		    "\"hash\":{\"sha256\":\"abababab"));
		assert_non_null(strstr(s.line[i], "\"user\":{\"id\":\"1000\"}"));
		assert_non_null(strstr(s.line[i], "\"attributed\":true"));
		assert_non_null(strstr(s.line[i], "\"direction\":\"outbound\""));
	}
	assert_memory_equal(strstr(s.line[0], "\"fingerprint\""),
	    strstr(s.line[1], "\"fingerprint\""), 48);
	pk_engine_free(e);

	/* the same scan without attribution: as before, no process */
	memset(&s, 0, sizeof(s));
	e = engine(&cfg, &s, 0);
	t = address_scan(e, 30, 0);
	pk_engine_flush(e, t + SEC);
	assert_int_equal(s.n, 2);
	for (i = 0; i < s.n; i++) {
		assert_non_null(strstr(s.line[i], "picket.scan.address"));
		assert_null(strstr(s.line[i], "\"process\""));
		assert_null(strstr(s.line[i], "attributed"));
	}
	pk_engine_free(e);
}

static void
test_attribution_table(void **state)
{
	static struct pk_config cfg;
	static struct sink s;
	struct pk_proc_ref ref, got;
	struct pk_addr la, other, none;
	struct pk_engine *e;
	char report[8192];
	FILE *fp;
	unsigned i;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&none, 0, sizeof(none));
	e = engine(&cfg, &s, 0);
	pk_addr_v4(&la, inside);
	pk_addr_v4(&other, outside);
	assert_false(pk_engine_attrib_active(e));
	/* a pid nobody described, a port not yet bound: refused */
	assert_int_equal(pk_engine_attrib_record(e, 6, &la, 1, NULL, 0, 7,
	    T0), -1);
	scanner_ref(&ref, 7);
	pk_engine_attrib_process(e, &ref, T0);
	assert_int_equal(pk_engine_attrib_record(e, 6, &la, 0, NULL, 0, 7,
	    T0), -1);
	assert_int_equal(pk_engine_attrib_record(e, 6, &la, 1, NULL, 0, 7,
	    T0), 0);
	assert_int_equal(pk_engine_attribute(e, 6, &la, 1, &got), 1);
	assert_int_equal(got.pid, 7);
	assert_string_equal(got.exe, "/tmp/.x/scanner");
	/* protocol and local address are part of the key */
	assert_int_equal(pk_engine_attribute(e, 17, &la, 1, &got), 0);
	assert_int_equal(pk_engine_attribute(e, 6, &other, 1, &got), 0);
	/* an unknown local address matches any */
	assert_int_equal(pk_engine_attrib_record(e, 6, &none, 2, NULL, 0, 7,
	    T0), 0);
	assert_int_equal(pk_engine_attribute(e, 6, &other, 2, &got), 1);

	/* the LRU cap: the oldest endpoints go, counted */
	for (i = 0; i < PK_ATTR_MAX_ENDPOINTS + 10; i++)
		assert_int_equal(pk_engine_attrib_record(e, 6, &la,
		    (uint16_t)(1000 + i), NULL, 0, 7, T0), 0);
	assert_int_equal(pk_engine_attribute(e, 6, &la, 1000, &got), 0);
	assert_int_equal(pk_engine_attribute(e, 6, &la,
	    (uint16_t)(1000 + PK_ATTR_MAX_ENDPOINTS + 9), &got), 1);
	fp = tmpfile();
	assert_non_null(fp);
	pk_engine_report(e, fp);
	rewind(fp);
	report[fread(report, 1, sizeof(report) - 1, fp)] = '\0';
	fclose(fp);
	assert_non_null(strstr(report, "attrib.endpoints 8192\n"));
	assert_non_null(strstr(report, "attrib.endpoints_evicted 12\n"));

	/* expiry: tcp_attempt_timeout + PK_ATTR_MARGIN_S after recording */
	pk_engine_tick(e, T0 + (cfg.flows.tcp_attempt_timeout +
	    PK_ATTR_MARGIN_S - 1) * SEC);
	assert_int_equal(pk_engine_attribute(e, 6, &la, 1020, &got), 1);
	pk_engine_tick(e, T0 + (cfg.flows.tcp_attempt_timeout +
	    PK_ATTR_MARGIN_S + 1) * SEC);
	assert_int_equal(pk_engine_attribute(e, 6, &la, 1020, &got), 0);
	assert_int_equal(pk_engine_attrib_record(e, 6, &la, 1020, NULL, 0, 7,
	    T0 + 100 * SEC), 0);
	assert_int_equal(pk_engine_attribute(e, 6, &la, 1020, &got), 1);

	/* the process cap: the least recently used reference goes */
	for (i = 0; i < PK_ATTR_MAX_PROCS + 1; i++) {
		scanner_ref(&ref, 10000 + i);
		pk_engine_attrib_process(e, &ref, T0);
	}
	assert_int_equal(pk_engine_attribute_pid(e, 7, &got), 0);
	assert_int_equal(pk_engine_attribute_pid(e, 10000 + PK_ATTR_MAX_PROCS,
	    &got), 1);
	pk_engine_free(e);
}

static void
test_scan_claims(void **state)
{
	static struct pk_config cfg;
	static struct sink s;
	struct pk_engine *e;
	unsigned i;

	(void)state;
	e = engine(&cfg, &s, 0);
	/* first come owns it; the other is told who */
	assert_int_equal(pk_engine_scan_claim(e, 5, 445, 6, PK_CLAIM_PROCESS,
	    T0), PK_CLAIM_PROCESS);
	assert_int_equal(pk_engine_scan_claim(e, 5, 445, 6, PK_CLAIM_PACKET,
	    T0), PK_CLAIM_PROCESS);
	assert_int_equal(pk_engine_scan_claim(e, 5, 139, 6, PK_CLAIM_PACKET,
	    T0), PK_CLAIM_PACKET);
	/* the owner's refresh moves the lapse; the other's asking does not */
	assert_int_equal(pk_engine_scan_claim(e, 5, 445, 6, PK_CLAIM_PROCESS,
	    T0 + 10 * SEC), PK_CLAIM_PROCESS);
	assert_int_equal(pk_engine_scan_claim(e, 5, 139, 6, PK_CLAIM_PROCESS,
	    T0 + 10 * SEC), PK_CLAIM_PACKET);
	assert_int_equal(pk_engine_scan_claim(e, 5, 445, 6, PK_CLAIM_PACKET,
	    T0 + (cfg.scan.idle_timeout + 5) * SEC), PK_CLAIM_PROCESS);
	/* a claim lapses scan.idle_timeout after its last refresh */
	assert_int_equal(pk_engine_scan_claim(e, 5, 139, 6, PK_CLAIM_PROCESS,
	    T0 + (cfg.scan.idle_timeout + 5) * SEC), PK_CLAIM_PROCESS);
	assert_int_equal(pk_engine_scan_claim(e, 5, 445, 6, PK_CLAIM_PACKET,
	    T0 + (cfg.scan.idle_timeout + 11) * SEC), PK_CLAIM_PACKET);
	/* bounded: more claims than slots push the oldest out */
	for (i = 0; i < PK_SCAN_CLAIMS + 1; i++)
		assert_int_equal(pk_engine_scan_claim(e, 100 + i, 445, 6,
		    PK_CLAIM_PACKET, T0 + (cfg.scan.idle_timeout + 2 + i) *
		    SEC), PK_CLAIM_PACKET);
	pk_engine_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offline_port_scan),
		cmocka_unit_test(test_live_start_then_end),
		cmocka_unit_test(test_malformed_and_foreign_frames),
		cmocka_unit_test(test_dns_is_parsed),
		cmocka_unit_test(test_direction),
		cmocka_unit_test(test_scan_names_the_process),
		cmocka_unit_test(test_attribution_table),
		cmocka_unit_test(test_scan_claims),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
