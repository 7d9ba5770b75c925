/*
 * test_reload.c - unit tests for SIGHUP's reload of the detection engine
 * (pk_engine_reload, agent/engine.c, with the rules and IOC detectors'
 * reload callbacks) and for the control socket's request parsing and
 * status-file helpers (agent/control.c).  Rule and IOC files are written
 * to a temporary directory; packets are built by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/control.h"
#include "agent/engine.h"

#define SEC	1000000ULL
#define T0	(1700000000ULL * SEC)
#define MAXLINES 16

struct sink {
	size_t	n;
	char	line[MAXLINES][8192];
	int	phase[MAXLINES];
};

static char dir[64];
static struct pk_config cfg1, cfg2, cfg3;

static void
sink_write(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind)
{
	struct sink *s = arg;

	assert_true(s->n < MAXLINES);
	assert_true(len < sizeof(s->line[0]));
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

/* Ethernet, IPv4, UDP from 10.0.0.5:sport to 192.0.2.9:9999, payload. */
static size_t
udp_frame(uint8_t *f, uint16_t sport, const char *payload)
{
	size_t plen = strlen(payload);

	memset(f, 0, 42);
	memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01", 12);
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	put16(f + 16, (uint16_t)(20 + 8 + plen));
	f[22] = 64;
	f[23] = 17;
	memcpy(f + 26, "\x0a\x00\x00\x05", 4);
	memcpy(f + 30, "\xc0\x00\x02\x09", 4);
	put16(f + 34, sport);
	put16(f + 36, 9999);
	put16(f + 38, (uint16_t)(8 + plen));
	memcpy(f + 42, payload, plen);
	return 42 + plen;
}

static void
frame(struct pk_engine *e, uint16_t sport, const char *payload, uint64_t t)
{
	uint8_t f[256];
	size_t len = udp_frame(f, sport, payload);

	assert_int_equal(pk_engine_frame(e, 1, f, (uint32_t)len,
	    (uint32_t)len, t), 1);
}

static void
write_file(const char *name, const char *text)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

/* rules.paths = dir/<rules>, ioc as asked. */
static void
config(struct pk_config *c, const char *rules, const char *ioc)
{
	char err[128], path[128];

	pk_config_defaults(c);
	assert_int_equal(pk_config_set(c, "network", "home_net", "10.0.0.0/8",
	    err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, rules);
	assert_int_equal(pk_config_set(c, "rules", "paths", path, err,
	    sizeof(err)), 0);
	assert_int_equal(pk_config_set(c, "rules", "enabled", "yes", err,
	    sizeof(err)), 0);
	if (ioc == NULL) {
		assert_int_equal(pk_config_set(c, "ioc", "enabled", "no", err,
		    sizeof(err)), 0);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, ioc);
	assert_int_equal(pk_config_set(c, "ioc", "enabled", "yes", err,
	    sizeof(err)), 0);
	assert_int_equal(pk_config_set(c, "ioc", "paths", path, err,
	    sizeof(err)), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_reload.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* New rules replace the old between packets; flows and sequence numbers
 * go on; the old rule's open indicator is ended, not lost. */
static void
test_reload_swaps_rules(void **state)
{
	struct sink s;
	struct pk_engine *e;
	char err[256];
	uint64_t active, next;

	(void)state;
	memset(&s, 0, sizeof(s));
	write_file("a.rules", "alert udp any any -> any any (msg:\"one\"; "
	    "content:\"EVILSTRING\"; sid:1;)\n");
	config(&cfg1, "a.rules", NULL);
	assert_non_null(e = pk_engine_new(&cfg1));
	assert_int_equal(pk_engine_add_output(e, sink_write, &s), 0);
	assert_int_equal(pk_engine_detector_size(e, "rules"), 1);
	assert_int_equal(pk_engine_detector_size(e, "ioc"), -1);

	frame(e, 1000, "OTHERTHING", T0);
	assert_int_equal(s.n, 0);
	frame(e, 1001, "xxEVILSTRINGxx", T0 + SEC);
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(s.line[0], "\"id\":\"1\""));
	assert_int_equal(s.phase[0], PK_PHASE_START);
	active = pk_flow_stats(pk_engine_flows(e))->active;
	next = pk_engine_next_seq(e);

	write_file("b.rules", "alert udp any any -> any any (msg:\"two\"; "
	    "content:\"OTHERTHING\"; sid:2;)\n"
	    "alert udp any any -> any any (msg:\"three\"; "
	    "content:\"NOTHERE\"; sid:3;)\n");
	config(&cfg2, "b.rules", NULL);
	assert_int_equal(pk_engine_reload(e, &cfg2, err, sizeof(err)), 0);
	/* sid 1's indicator ended with the old set. */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.phase[1], PK_PHASE_END);
	assert_non_null(strstr(s.line[1], "\"id\":\"1\""));
	assert_int_equal(pk_engine_detector_size(e, "rules"), 2);
	assert_int_equal(pk_flow_stats(pk_engine_flows(e))->active, active);
	assert_int_equal(pk_engine_next_seq(e), next + 1);

	frame(e, 1002, "xxEVILSTRINGxx", T0 + 2 * SEC);
	assert_int_equal(s.n, 2);
	frame(e, 1003, "OTHERTHING", T0 + 3 * SEC);
	assert_int_equal(s.n, 3);
	assert_non_null(strstr(s.line[2], "\"id\":\"2\""));
	assert_int_equal(s.phase[2], PK_PHASE_START);
	pk_engine_free(e);
}

/* A rule file that cannot be read keeps the running rules. */
static void
test_reload_failure_keeps_rules(void **state)
{
	struct sink s;
	struct pk_engine *e;
	char err[256];

	(void)state;
	memset(&s, 0, sizeof(s));
	write_file("a.rules", "alert udp any any -> any any (msg:\"one\"; "
	    "content:\"EVILSTRING\"; sid:1;)\n");
	config(&cfg1, "a.rules", NULL);
	assert_non_null(e = pk_engine_new(&cfg1));
	assert_int_equal(pk_engine_add_output(e, sink_write, &s), 0);
	config(&cfg2, "missing.rules", NULL);
	err[0] = '\0';
	assert_int_equal(pk_engine_reload(e, &cfg2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "could not be read"));
	assert_int_equal(pk_engine_detector_size(e, "rules"), 1);
	frame(e, 1001, "EVILSTRING", T0);
	assert_int_equal(s.n, 1);
	pk_engine_free(e);
}

/* [ioc] turned on by a reload starts the detector; a bad list later is
 * refused and the running list stays. */
static void
test_reload_ioc(void **state)
{
	struct sink s;
	struct pk_engine *e;
	char err[256];

	(void)state;
	memset(&s, 0, sizeof(s));
	write_file("a.rules", "alert udp any any -> any any (msg:\"one\"; "
	    "content:\"EVILSTRING\"; sid:1;)\n");
	write_file("bad.txt", "192.0.2.9\nnot an ioc at all\n");
	write_file("good.txt", "192.0.2.9\n");
	config(&cfg1, "a.rules", NULL);
	assert_non_null(e = pk_engine_new(&cfg1));
	assert_int_equal(pk_engine_add_output(e, sink_write, &s), 0);
	frame(e, 1000, "hello", T0);
	assert_int_equal(s.n, 0);

	config(&cfg2, "a.rules", "good.txt");
	assert_int_equal(pk_engine_reload(e, &cfg2, err, sizeof(err)), 0);
	assert_int_equal(pk_engine_detector_size(e, "ioc"), 1);
	assert_int_equal(pk_engine_detector_size(e, "rules"), 1);
	frame(e, 1001, "hello", T0 + SEC);	/* a new flow to 192.0.2.9 */
	assert_int_equal(s.n, 1);
	assert_non_null(strstr(s.line[0], "picket.ioc.address"));

	config(&cfg3, "a.rules", "bad.txt");
	assert_int_equal(pk_engine_reload(e, &cfg3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ioc:"));
	assert_int_equal(pk_engine_detector_size(e, "ioc"), 1);

	/* Turned off: the detector goes, its open indicator ends. */
	config(&cfg3, "a.rules", NULL);
	assert_int_equal(pk_engine_reload(e, &cfg3, err, sizeof(err)), 0);
	assert_int_equal(pk_engine_detector_size(e, "ioc"), -1);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.phase[1], PK_PHASE_END);
	pk_engine_free(e);
}

/* The control socket takes one fixed line and nothing else. */
static void
test_ctl_parse(void **state)
{
	static const char *const bad[] = {
		"status", "status\n\n", "STATUS\n", "status \n", " status\n",
		"status json", "status JSON\n", "statusjson\n", "stop\n",
		"status json extra\n", "\n", "",
	};
	size_t i;

	(void)state;
	assert_int_equal(pk_ctl_parse("status\n", 7), PK_CTL_STATUS);
	assert_int_equal(pk_ctl_parse("status json\n", 12),
	    PK_CTL_STATUS_JSON);
	assert_int_equal(pk_ctl_parse("status\0\n", 8), PK_CTL_BAD);
	assert_int_equal(pk_ctl_parse("status\n", 6), PK_CTL_BAD);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pk_ctl_parse(bad[i], strlen(bad[i])),
		    PK_CTL_BAD);
}

/* Status files: atomic replacement, keys, sums over interfaces. */
static void
test_status_file(void **state)
{
	static const char text[] = "pid 42\nstate connected\n"
	    "pcap.eth0.dropped 3\npcap.eth0.agent_dropped 5\n"
	    "pcap.eth1.dropped 4\npcap.eth1.if_dropped 1\nlast_error \n";
	char v[64], *back;

	(void)state;
	assert_int_equal(pk_status_write(dir, ".status-x", text,
	    strlen(text)), 0);
	assert_non_null(back = pk_status_read(dir, ".status-x"));
	assert_string_equal(back, text);
	assert_int_equal(pk_status_get(back, "state", v, sizeof(v)), 0);
	assert_string_equal(v, "connected");
	assert_int_equal(pk_status_get(back, "stat", v, sizeof(v)), -1);
	assert_int_equal(pk_status_get(back, "last_error", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(pk_status_u64(back, "pid"), 42);
	assert_int_equal(pk_status_u64(back, "state"), 0);
	assert_int_equal(pk_status_sum(back, "pcap.", ".dropped"), 7);
	assert_int_equal(pk_status_sum(back, "pcap.", ".agent_dropped"), 5);
	assert_int_equal(pk_status_sum(back, "pcap.", ".if_dropped"), 1);
	free(back);
	assert_null(pk_status_read(dir, ".status-none"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reload_swaps_rules, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reload_failure_keeps_rules,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_ioc, setup,
		    teardown),
		cmocka_unit_test(test_ctl_parse),
		cmocka_unit_test_setup_teardown(test_status_file, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
