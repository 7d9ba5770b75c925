/*
 * test_task_policy.c - the [tasks] policy and the task status file
 * (agent/task_policy.c): each refusal with its exact reason, the filter
 * rules (allow_filters exact after blank normalisation, deny_words as
 * whole words), room for one more task, and the status file's one exact
 * shape.  Portable: runs under wine too.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agent/task_policy.h"
#include "transport/task.h"

static void
spec(const char *json, struct pk_task_spec *t)
{
	char err[256];

	assert_int_equal(pk_task_parse(json, strlen(json), t, err,
	    sizeof(err)), 0);
}

static const char *
check(const struct pk_task_policy *p, const char *json)
{
	static char reason[PK_TASK_REASON_MAX + 1];
	static struct pk_task_spec t;

	spec(json, &t);
	reason[0] = '\0';
	if (pk_task_policy_check(p, &t, reason, sizeof(reason)) == 0)
		return NULL;
	return reason;
}

static void
test_defaults(void **state)
{
	struct pk_task_policy p;

	(void)state;
	pk_task_policy_default(&p);
	assert_true(p.enabled);
	assert_int_equal(p.max_duration_s, 300);
	assert_int_equal(p.max_bytes, 100ULL << 20);
	assert_int_equal(p.max_concurrent, 2);
	assert_null(check(&p, "{\"type\":\"pcap\",\"duration\":300}"));
	assert_null(check(&p, "{\"type\":\"snapshot\"}"));
	assert_null(check(&p, "{\"type\":\"ioc_sweep\",\"domains\":[\"a.b\"]}"));
	assert_string_equal(check(&p, "{\"type\":\"proc_trace\",\"pid\":1,"
	    "\"duration\":5}"), "type proc_trace is not allowed by [tasks] "
	    "allow");
	assert_string_equal(check(&p, "{\"type\":\"sensitivity\","
	    "\"duration\":5}"), "type sensitivity is not allowed by [tasks] "
	    "allow");
	assert_string_equal(check(&p, "{\"type\":\"pcap\",\"duration\":301}"),
	    "duration 301s is over [tasks] max_duration (300s)");
	assert_string_equal(check(&p, "{\"type\":\"snapshot\",\"max_bytes\":"
	    "104857601}"), "max_bytes 104857601 is over [tasks] max_bytes "
	    "(104857600)");
	p.enabled = 0;
	assert_string_equal(check(&p, "{\"type\":\"snapshot\"}"),
	    "tasks are turned off on this host ([tasks] enabled = no)");
}

static void
test_init(void **state)
{
	struct pk_task_policy p;
	char err[256];

	(void)state;
	assert_int_equal(pk_task_policy_init(&p, 1, "pcap,,snapshot  "
	    "sensitivity", 60, 1000, 1, 1 << 20, "", "", err, sizeof(err)), 0);
	assert_int_equal(p.allow, (1u << PK_TASK_PCAP) |
	    (1u << PK_TASK_SNAPSHOT) | (1u << PK_TASK_SENSITIVITY));
	/* allowed explicitly: it runs (no max_bytes to check) */
	assert_null(check(&p, "{\"type\":\"sensitivity\",\"duration\":5}"));
	assert_string_equal(check(&p, "{\"type\":\"proc_trace\",\"pid\":1,"
	    "\"duration\":5}"), "type proc_trace is not allowed by [tasks] "
	    "allow");
	assert_int_equal(pk_task_policy_init(&p, 1, "pcap, rootkit", 60,
	    1000, 1, 1 << 20, "", "", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown task type \"rootkit\""));
	assert_int_equal(pk_task_policy_init(&p, 1, "", 60, 1000, 1, 1 << 20,
	    "", "", err, sizeof(err)), 0);
	assert_string_equal(check(&p, "{\"type\":\"snapshot\",\"max_bytes\":"
	    "10}"), "type snapshot is not allowed by [tasks] allow");
}

static void
test_filters(void **state)
{
	struct pk_task_policy p;
	char err[256];

	(void)state;
	assert_int_equal(pk_task_policy_init(&p, 1, "pcap", 60, 1 << 30, 1,
	    1 << 30, " tcp  port 445 ;udp port\t53;", "22, 10.0.0.5,HOST",
	    err, sizeof(err)), 0);
	assert_int_equal(p.nfilters, 2);
	assert_string_equal(p.filters[0], "tcp port 445");
	assert_int_equal(p.nwords, 3);
	assert_null(check(&p, "{\"type\":\"pcap\",\"duration\":5,\"filter\":"
	    "\"tcp   port 445 \"}"));
	assert_null(check(&p, "{\"type\":\"pcap\",\"duration\":5,\"filter\":"
	    "\"udp port 53\"}"));
	assert_string_equal(check(&p, "{\"type\":\"pcap\",\"duration\":5,"
	    "\"filter\":\"tcp port 4450\"}"), "filter \"tcp port 4450\" is not "
	    "one of [tasks] allow_filters");
	/* no filter at all = everything: not in the list either */
	assert_non_null(check(&p, "{\"type\":\"pcap\",\"duration\":5}"));

	/* deny_words alone */
	assert_int_equal(pk_task_policy_init(&p, 1, "pcap", 60, 1 << 30, 1,
	    1 << 30, "", "22, 10.0.0.5,HOST", err, sizeof(err)), 0);
	assert_null(check(&p, "{\"type\":\"pcap\",\"duration\":5,\"filter\":"
	    "\"tcp port 2222\"}"));
	assert_null(check(&p, "{\"type\":\"pcap\",\"duration\":5,\"filter\":"
	    "\"net 10.0.0.50\"}"));
	assert_string_equal(check(&p, "{\"type\":\"pcap\",\"duration\":5,"
	    "\"filter\":\"tcp and (port 22)\"}"), "filter \"tcp and (port 22)\" "
	    "contains \"22\", refused by [tasks] deny_words");
	assert_non_null(check(&p, "{\"type\":\"pcap\",\"duration\":5,"
	    "\"filter\":\"src host 10.0.0.5\"}"));
	/* case-insensitive */
	assert_non_null(strstr(check(&p, "{\"type\":\"pcap\",\"duration\":5,"
	    "\"filter\":\"udp and host 1.2.3.4\"}"), "\"HOST\""));
}

static void
test_room(void **state)
{
	struct pk_task_policy p;
	struct pk_task_spec t;
	char r[256];

	(void)state;
	pk_task_policy_default(&p);
	spec("{\"type\":\"snapshot\",\"max_bytes\":1000}", &t);
	assert_int_equal(pk_task_policy_room(&p, &t, 1, 0, r, sizeof(r)), 0);
	assert_int_equal(pk_task_policy_room(&p, &t, 2, 0, r, sizeof(r)), -1);
	assert_string_equal(r, "2 tasks already running ([tasks] "
	    "max_concurrent 2)");
	assert_int_equal(pk_task_policy_room(&p, &t, 0, p.max_disk - 1000, r,
	    sizeof(r)), 0);
	assert_int_equal(pk_task_policy_room(&p, &t, 0, p.max_disk - 999, r,
	    sizeof(r)), -1);
	assert_non_null(strstr(r, "max_disk"));
}

static void
test_status(void **state)
{
	struct pk_task_status s, b;
	char buf[PK_TSTATUS_MAX];
	size_t n;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.state = PK_TS_FAILED;
	s.bytes = 1234;
	s.rows = 5;
	snprintf(s.reason, sizeof(s.reason), "line1\nline2\x7f");
	n = pk_task_status_encode(&s, buf, sizeof(buf));
	assert_true(n > 0);
	assert_string_equal(buf, "state=failed\nbytes=1234\nrows=5\n"
	    "reason=line1?line2?\n");
	assert_int_equal(pk_task_status_decode(buf, n, &b), 0);
	assert_int_equal(b.state, PK_TS_FAILED);
	assert_true(b.bytes == 1234 && b.rows == 5);
	assert_string_equal(b.reason, "line1?line2?");
	/* too small a buffer */
	assert_int_equal(pk_task_status_encode(&s, buf, 20), 0);
}

static void
test_status_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"state=running\nbytes=1\nrows=1\nreason=\n\n",	/* trailing */
		"state=running\nbytes=1\nrows=1\nreason=",	/* no newline */
		"state=running\nrows=1\nbytes=1\nreason=\n",	/* order */
		"state=queued\nbytes=1\nrows=1\nreason=\n",	/* not ours */
		"state=running\nbytes=01\nrows=1\nreason=\n",	/* leading 0 */
		"state=running\nbytes=-1\nrows=1\nreason=\n",
		"state=running\nbytes=0x1\nrows=1\nreason=\n",
		"state=running\nbytes=\nrows=1\nreason=\n",
		"state=running\nbytes=1073741825\nrows=1\nreason=\n",
		"state=running\nbytes=1\nrows=1\nreason=a\tb\n",
		"state=running\nbytes=1\nrows=1\nextra=1\nreason=\n",
		"state =running\nbytes=1\nrows=1\nreason=\n",
		("state=running\nbytes=99999999999999999999999\nrows=1\n"
		    "reason=\n"),
	};
	struct pk_task_status s;
	char nul[] = "state=done\nbytes=1\nrows=1\nreason=a\0b\n";
	char big[PK_TSTATUS_MAX + 2];
	const char *ok = "state=done\nbytes=0\nrows=0\nreason=\n";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pk_task_status_decode(bad[i], strlen(bad[i]),
		    &s), -1);
	assert_int_equal(pk_task_status_decode(nul, sizeof(nul) - 1, &s), -1);
	memset(big, 'a', sizeof(big));
	assert_int_equal(pk_task_status_decode(big, sizeof(big), &s), -1);
	assert_int_equal(pk_task_status_decode(ok, strlen(ok), &s), 0);
	assert_int_equal(s.state, PK_TS_DONE);
}

static void
test_file_id(void **state)
{
	const char *ext;
	uint64_t id;

	(void)state;
	assert_int_equal(pk_task_file_id("42.task", &id, &ext), 0);
	assert_true(id == 42);
	assert_string_equal(ext, "task");
	assert_int_equal(pk_task_file_id("9223372036854775807.out", &id,
	    &ext), 0);
	assert_int_equal(pk_task_file_id("9223372036854775808.out", &id,
	    &ext), -1);
	assert_int_equal(pk_task_file_id("042.task", &id, &ext), -1);
	assert_int_equal(pk_task_file_id("0.task", &id, &ext), -1);
	assert_int_equal(pk_task_file_id("12", &id, &ext), -1);
	assert_int_equal(pk_task_file_id(".task", &id, &ext), -1);
	assert_int_equal(pk_task_file_id("12345678901234567890.x", &id,
	    &ext), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_room),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_status_refused),
		cmocka_unit_test(test_file_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
