/*
 * test_sensitivity.c - unit tests for the sensitivity task's engine side
 * (pk_engine_set_sensitivity, agent/engine.c, and the scan and
 * fingerprint detectors' sensitivity callbacks): hand-built Ethernet
 * frames go through the real engine (decoder, flow table, detectors), so
 * a port scan below [scan] port_scan_ports is reported only while the
 * thresholds are lowered, a reload in between keeps them lowered, and
 * going back to 100% restores the configured values exactly.
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
#include "agent/engine.h"

#define SEC	1000000ULL
#define MS	1000ULL
#define T0	(1700000000ULL * SEC)
#define MAXLINES 64

struct sink {
	size_t	n;
	char	line[MAXLINES][8192];
};

static char dir[64];
static struct pk_config cfg1, cfg2;

static void
sink_write(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind)
{
	struct sink *s = arg;

	(void)ind;
	assert_true(s->n < MAXLINES);
	assert_true(len < sizeof(s->line[0]));
	memcpy(s->line[s->n], line, len + 1);
	s->n++;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet, IPv4, TCP without payload from src:sport to dst:dport. */
static size_t
tcp_frame(uint8_t *f, const uint8_t src[4], uint16_t sport,
    const uint8_t dst[4], uint16_t dport, uint8_t flags)
{
	memset(f, 0, 54);
	memcpy(f, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01", 12);
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	put16(f + 16, 40);
	f[22] = 64;
	f[23] = 6;
	memcpy(f + 26, src, 4);
	memcpy(f + 30, dst, 4);
	put16(f + 34, sport);
	put16(f + 36, dport);
	f[38] = 0x01;			/* seq */
	f[46] = 0x50;			/* data offset 5 */
	f[47] = flags;
	put16(f + 48, 1024);
	return 54;
}

static void
send_tcp(struct pk_engine *e, const uint8_t src[4], uint16_t sport,
    const uint8_t dst[4], uint16_t dport, uint8_t flags, uint64_t t)
{
	uint8_t f[64];
	size_t len = tcp_frame(f, src, sport, dst, dport, flags);

	assert_int_equal(pk_engine_frame(e, 1, f, (uint32_t)len,
	    (uint32_t)len, t), 1);
}

static const uint8_t victim[4] = { 10, 0, 0, 5 };

/*
 * Scanner 198.51.100.<who> probes nports closed ports of the victim: a
 * SYN, answered by RST+ACK (a failed attempt).  Returns the time after.
 */
static uint64_t
port_scan(struct pk_engine *e, uint8_t who, int nports, uint64_t t)
{
	const uint8_t src[4] = { 198, 51, 100, who };
	int i;

	for (i = 0; i < nports; i++) {
		uint16_t sport = (uint16_t)(40000 + i), dport =
		    (uint16_t)(1000 + i);

		send_tcp(e, src, sport, victim, dport, 0x02, t);
		send_tcp(e, victim, dport, src, sport, 0x14, t + MS);
		t += 10 * MS;
	}
	pk_engine_tick(e, t);
	return t;
}

/* Lines of picket.scan.port naming 198.51.100.<who>. */
static int
reported(const struct sink *s, uint8_t who)
{
	char ip[48];
	size_t i;
	int n = 0;

	snprintf(ip, sizeof(ip), "\"ip\":\"198.51.100.%u\"", who);
	for (i = 0; i < s->n; i++)
		if (strstr(s->line[i], "picket.scan.port") != NULL &&
		    strstr(s->line[i], ip) != NULL)
			n++;
	return n;
}

static void
config(struct pk_config *c, const char *rules)
{
	char err[128], path[128];

	pk_config_defaults(c);
	assert_int_equal(pk_config_set(c, "network", "home_net", "10.0.0.0/8",
	    err, sizeof(err)), 0);
	assert_int_equal(pk_config_set(c, "ioc", "enabled", "no", err,
	    sizeof(err)), 0);
	if (rules == NULL) {
		assert_int_equal(pk_config_set(c, "rules", "enabled", "no",
		    err, sizeof(err)), 0);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, rules);
	assert_int_equal(pk_config_set(c, "rules", "paths", path, err,
	    sizeof(err)), 0);
}

static int
setup(void **state)
{
	FILE *fp;
	char path[128];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_sens.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a.rules", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs("alert udp any any -> any any (msg:\"one\"; "
	    "content:\"EVILSTRING\"; sid:1;)\n", fp);
	fclose(fp);
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

/*
 * Eight ports, under the configured fifteen: silent at 100%, reported at
 * 50% (seven), still after a reload that starts a detector, silent again
 * once restored; fifteen ports are still a scan after the restore.
 */
static void
test_port_scan_only_while_lowered(void **state)
{
	struct sink *s;
	struct pk_engine *e;
	char desc[1024], err[256];
	uint64_t t = T0;

	(void)state;
	assert_non_null(s = calloc(1, sizeof(*s)));
	config(&cfg1, NULL);
	assert_int_equal(cfg1.scan.port_scan_ports, 15);
	assert_non_null(e = pk_engine_new(&cfg1));
	assert_int_equal(pk_engine_add_output(e, sink_write, s), 0);
	assert_int_equal(pk_engine_sensitivity(e), 100);

	t = port_scan(e, 1, 8, t);
	assert_int_equal(reported(s, 1), 0);

	pk_engine_set_sensitivity(e, 50, desc, sizeof(desc));
	assert_int_equal(pk_engine_sensitivity(e), 50);
	assert_non_null(strstr(desc, "scan: port_scan_ports 7, "
	    "address_scan_hosts 12, worm_tcp_rate 35, worm_udp_rate 20, "
	    "trw_failures 2"));
	assert_non_null(strstr(desc, "fingerprint: min_destinations 10"));
	t = port_scan(e, 2, 8, t);
	assert_true(reported(s, 2) >= 1);

	/* A reload (rules turned on: a detector started) keeps 50%. */
	config(&cfg2, "a.rules");
	assert_int_equal(pk_engine_reload(e, &cfg2, err, sizeof(err)), 0);
	assert_int_equal(pk_engine_detector_size(e, "rules"), 1);
	assert_int_equal(pk_engine_sensitivity(e), 50);
	t = port_scan(e, 3, 8, t);
	assert_true(reported(s, 3) >= 1);

	pk_engine_set_sensitivity(e, 100, desc, sizeof(desc));
	assert_non_null(strstr(desc, "scan: port_scan_ports 15, "
	    "address_scan_hosts 25, worm_tcp_rate 70, worm_udp_rate 40, "
	    "trw_failures 4"));
	assert_non_null(strstr(desc, "fingerprint: min_destinations 20"));
	t = port_scan(e, 4, 8, t);
	assert_int_equal(reported(s, 4), 0);
	t = port_scan(e, 5, 14, t);
	assert_int_equal(reported(s, 5), 0);
	(void)port_scan(e, 6, 15, t);
	assert_true(reported(s, 6) >= 1);
	pk_engine_free(e);
	free(s);
}

/* The floor: 10% of small counts is 1, never 0; 10..100 is clamped. */
static void
test_floor_and_clamp(void **state)
{
	struct pk_engine *e;
	char desc[1024], err[128];

	(void)state;
	config(&cfg1, NULL);
	assert_int_equal(pk_config_set(&cfg1, "scan", "port_scan_ports", "5",
	    err, sizeof(err)), 0);
	assert_non_null(e = pk_engine_new(&cfg1));
	pk_engine_set_sensitivity(e, 10, desc, sizeof(desc));
	assert_non_null(strstr(desc, "port_scan_ports 1,"));
	assert_non_null(strstr(desc, "trw_failures 1"));
	pk_engine_set_sensitivity(e, 3, desc, sizeof(desc));
	assert_int_equal(pk_engine_sensitivity(e), 10);
	pk_engine_set_sensitivity(e, 250, desc, sizeof(desc));
	assert_int_equal(pk_engine_sensitivity(e), 100);
	assert_non_null(strstr(desc, "port_scan_ports 5,"));
	pk_engine_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_port_scan_only_while_lowered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_floor_and_clamp, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
