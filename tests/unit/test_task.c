/*
 * test_task.c - the task specification (transport/task.c): each type
 * with its defaults, the canonical form and its round trip, and every
 * refusal the parser documents, each with its reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/task.h"

static int
parse(const char *s, struct pk_task_spec *t, char *err, size_t errlen)
{
	err[0] = '\0';
	return pk_task_parse(s, strlen(s), t, err, errlen);
}

/* Parse must fail and the reason must contain want. */
static void
refused(const char *s, const char *want)
{
	struct pk_task_spec t;
	char err[256];

	if (parse(s, &t, err, sizeof(err)) != -1 ||
	    strstr(err, want) == NULL) {
		print_error("%s\n  -> \"%s\" (wanted \"%s\")\n", s, err, want);
		fail();
	}
}

static void
test_types_and_defaults(void **state)
{
	struct pk_task_spec t;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"type\":\"pcap\",\"duration\":60,"
	    "\"filter\":\"tcp port 445\"}", &t, err, sizeof(err)), 0);
	assert_int_equal(t.type, PK_TASK_PCAP);
	assert_int_equal(t.duration_s, 60);
	assert_string_equal(t.filter, "tcp port 445");
	assert_int_equal(t.max_bytes, PK_TASK_DEF_BYTES);
	assert_int_equal(t.max_packets, PK_TASK_DEF_PACKETS);

	assert_int_equal(parse(" {\"type\":\"proc_trace\",\"exe\":"
	    "\"/usr/bin/x\",\"duration\":5,\"max_rows\":7} ", &t, err,
	    sizeof(err)), 0);
	assert_int_equal(t.type, PK_TASK_PROC_TRACE);
	assert_string_equal(t.exe, "/usr/bin/x");
	assert_int_equal(t.pid, 0);
	assert_int_equal(t.max_rows, 7);

	assert_int_equal(parse("{\"type\":\"snapshot\"}", &t, err,
	    sizeof(err)), 0);
	assert_int_equal(t.max_rows, PK_TASK_DEF_ROWS);
	assert_int_equal(t.max_bytes, PK_TASK_DEF_BYTES);

	assert_int_equal(parse("{\"type\":\"sensitivity\",\"duration\":600}",
	    &t, err, sizeof(err)), 0);
	assert_int_equal(t.factor_pct, 50);
	assert_int_equal(t.max_bytes, 0);

	assert_int_equal(parse("{\"hashes\":[\"" "0123456789abcdef0123456789"
	    "abcdef0123456789abcdef0123456789ABCDEF\"],\"type\":\"ioc_sweep\","
	    "\"addresses\":[\"10.0.0.1\",\"192.0.2.0/24\",\"2001:db8::/32\"],"
	    "\"domains\":[\"evil.example\",\"a.b.example.\"]}", &t, err,
	    sizeof(err)), 0);
	assert_int_equal(t.n_addresses, 3);
	assert_int_equal(t.n_domains, 2);
	assert_int_equal(t.n_hashes, 1);
}

struct seen {
	char	text[512];
};

static int
collect(void *arg, int list, const char *entry)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%d:%s;", list, entry);
	return 0;
}

static int
stop_at_domain(void *arg, int list, const char *entry)
{
	(void)arg;
	(void)entry;
	return list == PK_TL_DOMAIN ? 7 : 0;
}

/* Lists come back decoded, list by list, in order; fn can stop. */
static void
test_ioc_each(void **state)
{
	static const char js[] = "{\"type\":\"ioc_sweep\",\"domains\":"
	    "[\"x\\u002eexample\"],\"addresses\":[\"10.1.2.3\",\"::1\"]}";
	struct pk_task_spec t;
	struct seen s;
	char err[256];

	(void)state;
	assert_int_equal(parse(js, &t, err, sizeof(err)), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(pk_task_ioc_each(&t, collect, &s), 0);
	assert_string_equal(s.text, "0:10.1.2.3;0:::1;1:x.example;");
	assert_int_equal(pk_task_ioc_each(&t, stop_at_domain, NULL), 7);
}

/* encode -> parse -> encode gives the same bytes, defaults written. */
static void
test_canonical(void **state)
{
	static const char *const in[] = {
		"{\"filter\":\"udp\",\"type\":\"pcap\",\"duration\":3}",
		"{\"type\":\"proc_trace\",\"pid\":42,\"duration\":9}",
		"{\"type\":\"ioc_sweep\",\"hashes\":[\"" "aaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"],"
		    "\"domains\":[\"q\\\"x.example\"]}",
		"{\"type\":\"sensitivity\",\"duration\":1,\"factor\":10}",
		"{\"type\":\"snapshot\",\"max_rows\":3,\"max_bytes\":99}",
	};
	struct pk_task_spec t, u;
	char a[1024], b[1024], err[256];
	size_t i, na, nb;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		if (parse(in[i], &t, err, sizeof(err)) != 0) {
			/* The domain with a quote is refused: checked below. */
			assert_int_equal(i, 2);
			assert_non_null(strstr(err, "domains[0]"));
			continue;
		}
		na = pk_task_encode(&t, a, sizeof(a));
		assert_true(na > 0);
		assert_int_equal(pk_task_parse(a, na, &u, err, sizeof(err)),
		    0);
		nb = pk_task_encode(&u, b, sizeof(b));
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na);
	}
	assert_int_equal(parse(in[0], &t, err, sizeof(err)), 0);
	na = pk_task_encode(&t, a, sizeof(a));
	assert_string_equal(a, "{\"type\":\"pcap\",\"duration\":3,"
	    "\"filter\":\"udp\",\"max_packets\":100000,\"max_bytes\":10485760}");
	/* Too small a buffer: 0, not a cut document. */
	assert_int_equal(pk_task_encode(&t, a, 20), 0);
}

static void
test_refusals(void **state)
{
	static char big[PK_TASK_JSON_MAX + 64];
	struct pk_task_spec t;
	char err[256], *p;
	int i;

	(void)state;
	refused("", "JSON");
	refused("[1]", "not one JSON object");
	refused("{\"type\":\"pcap\"", "not one JSON object");
	refused("{}", "type: missing");
	refused("{\"type\":\"nmap\"}", "type: want one of");
	refused("{\"type\":7}", "type: want one of");
	refused("{\"type\":\"snapshot\",\"color\":1}", "unknown key \"color\"");
	/* A decoded control byte in an unknown key is not echoed. */
	refused("{\"type\":\"snapshot\",\"a\\nb\\u0007\":1}",
	    "unknown key \"a?b?\"");
	refused("{\"type\":\"snapshot\",\"type\":\"snapshot\"}", "twice");
	refused("{\"type\":\"pcap\"}", "duration: missing");
	refused("{\"type\":\"pcap\",\"duration\":0}", "duration: want");
	refused("{\"type\":\"pcap\",\"duration\":-5}", "duration: want");
	refused("{\"type\":\"pcap\",\"duration\":86401}", "duration: want");
	refused("{\"type\":\"pcap\",\"duration\":1.5}", "duration: want");
	refused("{\"type\":\"pcap\",\"duration\":\"60\"}", "duration: want");
	refused("{\"type\":\"pcap\",\"duration\":99999999999999999999999}",
	    "duration: want");
	refused("{\"type\":\"pcap\",\"duration\":5,\"max_bytes\":1073741825}",
	    "max_bytes: want");
	refused("{\"type\":\"pcap\",\"duration\":5,\"filter\":\"a\\nb\"}",
	    "filter: want");
	refused("{\"type\":\"snapshot\",\"duration\":5}",
	    "duration: not a key of a snapshot task");
	refused("{\"type\":\"pcap\",\"duration\":5,\"pid\":3}",
	    "pid: not a key of a pcap task");
	refused("{\"type\":\"proc_trace\",\"duration\":5}", "either pid or exe");
	refused("{\"type\":\"proc_trace\",\"duration\":5,\"pid\":1,"
	    "\"exe\":\"/x\"}", "either pid or exe");
	refused("{\"type\":\"proc_trace\",\"duration\":5,\"exe\":\"x\"}",
	    "absolute path");
	refused("{\"type\":\"proc_trace\",\"duration\":5,\"exe\":"
	    "\"/usr/../bin/sh\"}", "absolute path");
	refused("{\"type\":\"proc_trace\",\"duration\":5,\"pid\":4194305}",
	    "pid: want");
	refused("{\"type\":\"sensitivity\",\"duration\":5,\"factor\":9}",
	    "factor: want");
	refused("{\"type\":\"ioc_sweep\"}", "at least one");
	refused("{\"type\":\"ioc_sweep\",\"addresses\":[]}", "at least one");
	refused("{\"type\":\"ioc_sweep\",\"addresses\":\"10.0.0.1\"}",
	    "addresses: want an array");
	refused("{\"type\":\"ioc_sweep\",\"addresses\":[\"10.0.0.300\"]}",
	    "addresses[0]");
	refused("{\"type\":\"ioc_sweep\",\"addresses\":[1]}", "addresses[0]");
	refused("{\"type\":\"ioc_sweep\",\"domains\":[\"a..b\"]}",
	    "domains[0]");
	refused("{\"type\":\"ioc_sweep\",\"hashes\":[\"abc\"]}", "hashes[0]");
	/* A key longer than the reader keeps is malformed, not truncated
	 * into a known one. */
	refused("{\"type\":\"snapshot\",\"max_rowsxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\":1}",
	    "malformed");

	/* 1025 entries in a list. */
	p = big;
	p += snprintf(p, (size_t)(big + sizeof(big) - p),
	    "{\"type\":\"ioc_sweep\",\"domains\":[");
	for (i = 0; i < PK_TASK_LIST_MAX + 1; i++)
		p += snprintf(p, (size_t)(big + sizeof(big) - p),
		    "%s\"d%d.example\"", i ? "," : "", i);
	snprintf(p, (size_t)(big + sizeof(big) - p), "]}");
	refused(big, "more than 1024");
	/* Over the size limit, even if well-formed. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"type\":\"snapshot\"}", 19);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(pk_task_parse(big, strlen(big), &t, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "1..65536"));
	/* Names. */
	assert_string_equal(pk_task_type_name(PK_TASK_IOC_SWEEP), "ioc_sweep");
	assert_string_equal(pk_task_type_name(0), "?");
	assert_int_equal(pk_task_state_parse("refused"), PK_TS_REFUSED);
	assert_int_equal(pk_task_state_parse("nope"), 0);
	assert_true(pk_task_state_final(PK_TS_EXPIRED));
	assert_false(pk_task_state_final(PK_TS_RUNNING));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_and_defaults),
		cmocka_unit_test(test_ioc_each),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
