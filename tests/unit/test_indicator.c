/*
 * test_indicator.c - unit tests for the indicator's ECS JSON
 * (agent/indicator.c) and the portable time formatting (common/pktime.c):
 * hostile strings from packets still give one valid JSON object of valid
 * UTF-8, long fields are cut, optional objects appear only when set, and
 * fingerprints are stable and distinct.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "agent/indicator.h"
#include "common/pktime.h"
#include "tests/unit/jsoncheck.h"

#define SEC 1000000ULL

static void
test_time_format(void **state)
{
	char t[PK_TIMESTRLEN];

	(void)state;
	assert_string_equal(pk_time_format(0, t, sizeof(t)),
	    "1970-01-01T00:00:00.000000Z");
	/* 2000 is a leap year (divisible by 400) */
	assert_string_equal(pk_time_format(951782400ULL * SEC, t, sizeof(t)),
	    "2000-02-29T00:00:00.000000Z");
	/* 2100 is not: the day after Feb 28 is Mar 1 */
	assert_string_equal(pk_time_format(4107456000ULL * SEC + 86400 * SEC,
	    t, sizeof(t)), "2100-03-01T00:00:00.000000Z");
	assert_string_equal(pk_time_format(1700000000ULL * SEC + 123456, t,
	    sizeof(t)), "2023-11-14T22:13:20.123456Z");
	assert_string_equal(pk_time_format(1271626912ULL * SEC + 640830, t,
	    sizeof(t)), "2010-04-18T21:41:52.640830Z");
}

static void
details(struct json *j, const void *arg)
{
	json_u64(j, "distinct_ports", *(const uint64_t *)arg);
}

static void
base(struct pk_indicator *ind)
{
	static const uint64_t ports = 1000;
	static const uint8_t s4[4] = { 172, 16, 0, 8 };
	static const uint8_t d4[4] = { 64, 13, 134, 52 };

	memset(ind, 0, sizeof(*ind));
	ind->seq = 7;
	ind->ts_us = 1700000000ULL * SEC;
	ind->host_id = "h1";
	ind->host_name = "ws-042";
	ind->agent_id = "a1";
	ind->agent_version = "0.1.0";
	ind->phase = PK_PHASE_END;
	ind->direction = PK_DIRN_OUTBOUND;
	ind->severity = PK_SEV_HIGH;
	ind->dataset = "picket.scan";
	ind->rule_id = "picket.scan.port";
	ind->rule_name = "Port scan";
	ind->ruleset = "picket-builtin";
	ind->first_seen_us = ind->ts_us - 5 * SEC;
	ind->last_seen_us = ind->ts_us;
	ind->count = 1994;
	ind->has_src = ind->has_dst = 1;
	pk_addr_v4(&ind->src, s4);
	pk_addr_v4(&ind->dst, d4);
	ind->transport = 6;
	ind->write_details = details;
	ind->details_arg = &ports;
	pk_indicator_fingerprint(ind, "k", 1);
}

static void
test_json_fields(void **state)
{
	struct pk_indicator ind;
	char buf[8192];
	long n;

	(void)state;
	base(&ind);
	n = pk_indicator_json(&ind, buf, sizeof(buf));
	assert_true(n > 0);
	assert_true(valid_json(buf, (size_t)n));
	assert_non_null(strstr(buf, "{\"@timestamp\":\"2023-11-14T22:13:20.000000Z\""));
	assert_non_null(strstr(buf, "\"type\":[\"end\",\"indicator\"]"));
	assert_non_null(strstr(buf, "\"source\":{\"ip\":\"172.16.0.8\"}"));
	assert_non_null(strstr(buf, "\"destination\":{\"ip\":\"64.13.134.52\"}"));
	assert_non_null(strstr(buf, "\"network\":{\"transport\":\"tcp\","
	    "\"direction\":\"outbound\"}"));
	assert_non_null(strstr(buf, "\"details\":{\"distinct_ports\":1000}"));
	assert_non_null(strstr(buf, "\"tlp\":\"TLP:AMBER\""));
	assert_non_null(strstr(buf, "\"seq\":7,\"count\":1994"));
	/* optional objects only when set */
	assert_null(strstr(buf, "\"dns\""));
	assert_null(strstr(buf, "\"tls\""));
	assert_null(strstr(buf, "\"url\""));
	assert_null(strstr(buf, "\"message\""));
}

static void
test_hostile_strings(void **state)
{
	static char longmsg[5000];
	struct pk_indicator ind;
	char buf[8192];
	const char *msg;
	long n;

	(void)state;
	base(&ind);
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	ind.message = longmsg;
	/* quote, backslash, control bytes, a lone continuation byte, an
	 * overlong '/', a surrogate: what a crafted DNS answer may hold */
	ind.dns_name = "a\"b\\c\n\x01\x80\xc0\xaf\xed\xa0\x80.example";
	ind.sni = "\xff\xfe";
	ind.url_domain = "evil.example";
	ind.url_path = "/\x7f";
	n = pk_indicator_json(&ind, buf, sizeof(buf));
	assert_true(n > 0);
	assert_true(valid_json(buf, (size_t)n));
	assert_non_null(strstr(buf, "\"name\":\"a\\\"b\\\\c\\n\\u0001\xef\xbf\xbd"));
	assert_non_null(strstr(buf, "\"server_name\":\"\xef\xbf\xbd\xef\xbf\xbd\""));
	assert_non_null(strstr(buf, "\"url\":{\"domain\":\"evil.example\""));
	/* message cut at 1024 bytes of input */
	msg = strstr(buf, "\"message\":\"");
	assert_non_null(msg);
	msg += strlen("\"message\":\"");
	assert_int_equal(strspn(msg, "x"), 1024);
	assert_int_equal(msg[1024], '"');
}

static void
test_too_small_buffer_fails_whole(void **state)
{
	struct pk_indicator ind;
	char buf[256];

	(void)state;
	base(&ind);
	assert_int_equal(pk_indicator_json(&ind, buf, sizeof(buf)), -1);
}

static void
test_fingerprint(void **state)
{
	struct pk_indicator a, b;
	size_t i;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	pk_indicator_fingerprint(&a, "picket.scan.port|outbound", 25);
	pk_indicator_fingerprint(&b, "picket.scan.port|outbound", 25);
	assert_string_equal(a.fingerprint, b.fingerprint);
	assert_int_equal(strlen(a.fingerprint), 32);
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", a.fingerprint[i]));
	pk_indicator_fingerprint(&b, "picket.scan.port|inbound", 24);
	assert_string_not_equal(a.fingerprint, b.fingerprint);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(pk_transport_name(17), "udp");
	assert_string_equal(pk_transport_name(58), "ipv6-icmp");
	assert_null(pk_transport_name(47));
	assert_string_equal(pk_direction_name(PK_DIRN_INBOUND), "inbound");
	assert_string_equal(pk_direction_name(99), "unknown");
	assert_string_equal(pk_phase_name(PK_PHASE_CHANGE), "change");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_json_fields),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_too_small_buffer_fails_whole),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
