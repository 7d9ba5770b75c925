/*
 * test_apiparam.c - the API's input checks (hub/apiparam.c): path tricks
 * refused with the reason, query strings decoded and refused (unknown,
 * repeated, empty, bad escapes, control bytes, too many), the indicator
 * filters (limits, severity, RFC 3339 with offsets and durations, since
 * before until) and the cursor round trip.  Portable C, but linked with
 * hub/apiparam.o through mk/hub.mk, so not under wine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hub/apiparam.h"

#define NOW	(1767225600LL * 1000000)	/* 2026-01-01T00:00:00Z */
#define ALLOWED	"host kind rule severity since until q limit cursor"

static void
path_ok(const char *raw, const char *want)
{
	char out[HUB_PATH_LEN_MAX + 1], err[HUB_ERR_MAX];

	assert_int_equal(hub_path_check(raw, out, sizeof(out), err,
	    sizeof(err)), 0);
	assert_string_equal(out, want);
}

static void
path_bad(const char *raw, const char *why)
{
	char out[HUB_PATH_LEN_MAX + 1], err[HUB_ERR_MAX];

	assert_int_equal(hub_path_check(raw, out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, why));
}

static void
test_paths(void **state)
{
	char longp[2100];

	(void)state;
	path_ok("/api/v1/hosts", "/api/v1/hosts");
	path_ok("/api/v1/hosts/agent%2D1", "/api/v1/hosts/agent-1");
	path_ok("/", "/");
	path_ok("/a/", "/a/");
	path_ok("/a/.b/..c", "/a/.b/..c");
	path_bad("api", "start");
	path_bad("", "start");
	path_bad("/a//b", "empty segment");
	path_bad("/a/../b", "dot segment");
	path_bad("/a/./b", "dot segment");
	path_bad("/a/..", "dot segment");
	path_bad("/a/%2e%2e/b", "dot segment");
	path_bad("/a/%2E", "dot segment");
	path_bad("/a%2fb", "encoded /");
	path_bad("/a%00", "control");
	path_bad("/a%0a", "control");
	path_bad("/a%", "escape");
	path_bad("/a%4", "escape");
	path_bad("/a%zz", "escape");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	path_bad(longp, "too long");
}

static void
q_bad(const char *raw, const char *why)
{
	struct hub_params p;
	char err[HUB_ERR_MAX];

	assert_int_equal(hub_params_parse(raw, ALLOWED, &p, err, sizeof(err)),
	    -1);
	if (strstr(err, why) == NULL)
		fail_msg("%s: %s, want %s", raw, err, why);
}

static void
test_query(void **state)
{
	struct hub_params p;
	char err[HUB_ERR_MAX], big[HUB_QUERY_LEN_MAX + 10];
	int i, n;

	(void)state;
	assert_int_equal(hub_params_parse(NULL, ALLOWED, &p, err,
	    sizeof(err)), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(hub_params_parse("host=ws+1&q=a%26b%3Dc&&kind=alert",
	    ALLOWED, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(hub_params_get(&p, "host"), "ws 1");
	assert_string_equal(hub_params_get(&p, "q"), "a&b=c");
	assert_string_equal(hub_params_get(&p, "kind"), "alert");
	assert_null(hub_params_get(&p, "rule"));
	q_bad("bogus=1", "bogus: unknown");
	q_bad("host=a&host=b", "host: given twice");
	q_bad("host=", "host: empty value");
	q_bad("host", "host: no value");
	q_bad("host=%00", "host: control byte");
	q_bad("host=%g1", "host: bad escape");
	q_bad("host=%4", "host: bad escape");
	q_bad("HOST=1", "not [a-z_]");
	q_bad("=1", "empty");
	assert_int_equal(hub_params_parse("limit=1", NULL, &p, err,
	    sizeof(err)), -1);
	/* More than HUB_PARAM_MAX distinct allowed names. */
	n = 0;
	big[0] = '\0';
	for (i = 0; i < HUB_PARAM_MAX + 1; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "%sk%c=1",
		    i ? "&" : "", 'a' + i);
	assert_int_equal(hub_params_parse(big, "ka kb kc kd ke kf kg kh ki "
	    "kj kk kl km kn ko kp kq kr", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too many"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	q_bad(big, "query: too long");
}

static int
filt(const char *raw, struct hub_ind_filter *f, char *err, size_t cap)
{
	static struct hub_params p;

	if (hub_params_parse(raw, ALLOWED, &p, err, cap) == -1)
		return -1;
	return hub_ind_filter_parse(&p, NOW, f, err, cap);
}

static void
f_bad(const char *raw, const char *why)
{
	struct hub_ind_filter f;
	char err[HUB_ERR_MAX];

	assert_int_equal(filt(raw, &f, err, sizeof(err)), -1);
	if (strstr(err, why) == NULL)
		fail_msg("%s: %s, want %s", raw, err, why);
}

static void
test_filters(void **state)
{
	struct hub_ind_filter f;
	char err[HUB_ERR_MAX];

	(void)state;
	assert_int_equal(filt("", &f, err, sizeof(err)), 0);
	assert_int_equal(f.limit, HUB_LIMIT_DEFAULT);
	assert_int_equal(f.severity_min, -1);
	assert_int_equal(f.since_us, 0);
	assert_int_equal(f.has_after, 0);
	assert_int_equal(filt("since=24h&until=2026-01-01T01:00:00%2B02:00"
	    "&severity=47&limit=1000&q=x", &f, err, sizeof(err)), 0);
	assert_true(f.since_us == NOW - 86400LL * 1000000);
	assert_true(f.until_us == NOW - 3600LL * 1000000);
	assert_int_equal(f.severity_min, 47);
	assert_int_equal(f.limit, 1000);
	assert_string_equal(f.text, "x");
	assert_int_equal(filt("since=2026-01-01T00:00:00.5Z", &f, err,
	    sizeof(err)), 0);
	assert_true(f.since_us == NOW + 500000);
	f_bad("limit=0", "limit");
	f_bad("limit=1001", "limit");
	f_bad("severity=101", "severity");
	f_bad("severity=-1", "severity");
	f_bad("since=yesterday", "since");
	f_bad("since=2026-02-30T00:00:00", "since");
	f_bad("until=2026-01-01T00:00:00+24:00", "until");
	f_bad("since=1h&until=2h", "until: not after since");
	f_bad("cursor=c", "cursor");
	f_bad("cursor=c3a3a", "cursor");
	f_bad("cursor=c313a323a", "cursor");	/* "1:2:" no agent */
}

static void
test_cursor(void **state)
{
	struct hub_ind_filter f;
	char c[HUB_CURSOR_MAX + 1];
	char id[HUB_ID_MAX + 1];

	(void)state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(hub_cursor_encode(NOW, "agent-1:x", 42, c,
	    sizeof(c)), 0);
	assert_int_equal(hub_cursor_decode(c, &f), 0);
	assert_true(f.has_after && f.after_ts_us == NOW &&
	    f.after_seq == 42);
	assert_string_equal(f.after_agent, "agent-1:x");
	memset(id, 'z', HUB_ID_MAX);
	id[HUB_ID_MAX] = '\0';
	assert_int_equal(hub_cursor_encode(-5, id, UINT32_MAX, c, sizeof(c)),
	    0);
	assert_int_equal(hub_cursor_decode(c, &f), 0);
	assert_true(f.after_ts_us == -5);
	assert_string_equal(f.after_agent, id);
	/* Too small a buffer is refused, not truncated. */
	assert_int_equal(hub_cursor_encode(NOW, "a", 1, c, 10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_cursor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
