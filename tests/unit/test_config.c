/*
 * test_config.c - unit tests for the configuration subsystem: the option
 * tables' defaults, every value type's parser and its error messages,
 * bounds at min/max, loading the sample files in tests/config/ (whose
 * expected outputs are read from disk, under $PICKET_SRCDIR, default "."),
 * inih syntax errors, long lines and the generated documentation.
 * Linked against the core library plus agent/config_ini.o and -linih.
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
#include "common/log.h"

/* Big (two port sets): keep it off the test stack. */
static struct pk_config cfg;
static char errbuf[512];

/* --- helpers -------------------------------------------------------- */

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static char *
srcpath(const char *rel, char *out, size_t len)
{
	const char *dir = getenv("PICKET_SRCDIR");

	snprintf(out, len, "%s/%s", dir != NULL ? dir : ".", rel);
	return out;
}

static char *
slurp_src(const char *rel)
{
	char path[1024];

	return slurp(srcpath(rel, path, sizeof(path)));
}

/* Output of pk_config_print as a string (free it). */
static char *
print_str(const struct pk_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	pk_config_print(c, fp);
	fclose(fp);
	return buf;
}

struct loadres {
	int	 n;
	char	*err;	/* everything written to errfp */
	size_t	 len;
};

static void
load_str(struct loadres *r, const char *text, const char *name)
{
	FILE *fp;

	r->err = NULL;
	r->len = 0;
	fp = open_memstream(&r->err, &r->len);
	assert_non_null(fp);
	r->n = pk_config_load_string(&cfg, text, name, fp);
	fclose(fp);
}

static int
set(const char *sec, const char *key, const char *val)
{
	errbuf[0] = '\0';
	return pk_config_set(&cfg, sec, key, val, errbuf, sizeof(errbuf));
}

static void
set_ok(const char *sec, const char *key, const char *val)
{
	if (set(sec, key, val) != 0)
		fail_msg("%s.%s = %s refused: %s", sec, key, val, errbuf);
}

static void
set_bad(const char *sec, const char *key, const char *val, const char *msg)
{
	if (set(sec, key, val) == 0)
		fail_msg("%s.%s = %s accepted", sec, key, val);
	assert_string_equal(errbuf, msg);
}

/* The printed value of one option, from the -nv output. */
static void
printed(const char *section, const char *key, char *out, size_t len)
{
	char *all = print_str(&cfg), *p, *e, want[64];
	int in = 0;

	out[0] = '\0';
	snprintf(want, sizeof(want), "[%s]", section);
	for (p = all; p != NULL && *p != '\0'; p = e != NULL ? e + 1 : NULL) {
		e = strchr(p, '\n');
		if (e != NULL)
			*e = '\0';
		if (p[0] == '[')
			in = strcmp(p, want) == 0;
		else if (in && strncmp(p, key, strlen(key)) == 0 &&
		    strncmp(p + strlen(key), " = ", 3) == 0) {
			snprintf(out, len, "%s", p + strlen(key) + 3);
			break;
		}
	}
	free(all);
}

static void
assert_printed(const char *section, const char *key, const char *want)
{
	char got[4096];

	printed(section, key, got, sizeof(got));
	assert_string_equal(got, want);
}

static int
setup(void **state)
{
	(void)state;
	pk_config_defaults(&cfg);
	return 0;
}

/* --- defaults ------------------------------------------------------- */

static void
test_defaults(void **state)
{
	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	pk_config_defaults(&cfg);
	assert_string_equal(cfg.agent.host_name, "");
	assert_string_equal(cfg.agent.host_id, "");
	assert_int_equal(cfg.agent.log_level, LOG_LVL_INFO);
	assert_string_equal(cfg.agent.tlp, "TLP:AMBER");
	assert_int_equal(cfg.network.home_net.n, 0);
	assert_string_equal(cfg.pcap.interfaces, "any");
	assert_int_equal(cfg.pcap.snaplen, 4096);
	assert_int_equal(cfg.pcap.promiscuous, 0);
	assert_int_equal(cfg.pcap.buffer_size, 4 << 20);
	assert_string_equal(cfg.pcap.filter, "");
	assert_int_equal(cfg.decode.frag_memory, 4 << 20);
	assert_int_equal(cfg.decode.frag_timeout, 30);
	assert_int_equal(cfg.decode.frag_max_datagrams, 1024);
	assert_int_equal(cfg.flows.max_flows, 65536);
	assert_int_equal(cfg.flows.tcp_attempt_timeout, 10);
	assert_int_equal(cfg.flows.tcp_timeout, 600);
	assert_int_equal(cfg.flows.tcp_closed_timeout, 10);
	assert_int_equal(cfg.flows.udp_timeout, 60);
	assert_int_equal(cfg.flows.other_timeout, 30);
	assert_int_equal(cfg.scan.enabled, 1);
	assert_int_equal(cfg.scan.max_sources, 8192);
	assert_true(cfg.scan.trw_benign_success == 0.8);
	assert_true(cfg.scan.trw_scanner_success == 0.2);
	assert_true(cfg.scan.trw_detection == 0.99);
	assert_true(cfg.scan.trw_false_alarm == 0.01);
	assert_int_equal(cfg.scan.address_scan_hosts, 25);
	assert_int_equal(cfg.scan.address_scan_window, 300);
	assert_int_equal(cfg.scan.port_scan_ports, 15);
	assert_int_equal(cfg.scan.port_scan_window, 300);
	assert_int_equal(cfg.scan.worm_tcp_ports.n, 3);
	assert_true(pk_portset_has(&cfg.scan.worm_tcp_ports, 135));
	assert_true(pk_portset_has(&cfg.scan.worm_tcp_ports, 139));
	assert_true(pk_portset_has(&cfg.scan.worm_tcp_ports, 445));
	assert_false(pk_portset_has(&cfg.scan.worm_tcp_ports, 136));
	assert_int_equal(cfg.scan.worm_tcp_rate, 70);
	assert_int_equal(cfg.scan.worm_udp_ports.n, 1);
	assert_true(pk_portset_has(&cfg.scan.worm_udp_ports, 1434));
	assert_int_equal(cfg.scan.worm_udp_rate, 40);
	assert_int_equal(cfg.scan.worm_window, 60);
	assert_int_equal(cfg.scan.idle_timeout, 600);
	assert_string_equal(cfg.output.file, "");
	assert_int_equal(cfg.output.update_interval, 60);
	/* The defaults pass the cross-option checks. */
	assert_int_equal(pk_config_validate(&cfg, "x", stderr), 0);
}

/* An empty file is the defaults, and prints as empty.expected. */
static void
test_empty_file(void **state)
{
	struct loadres r;
	char *want = slurp_src("tests/config/empty.expected"), *got;

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	load_str(&r, "", "empty.ini");
	assert_int_equal(r.n, 0);
	assert_int_equal(r.len, 0);
	got = print_str(&cfg);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(r.err);
}

/* --- loading the sample files --------------------------------------- */

static void
test_full_file(void **state)
{
	char path[1024], *want, *got, *err = NULL;
	size_t len = 0;
	FILE *efp = open_memstream(&err, &len);
	int n;

	(void)state;
	n = pk_config_load(&cfg, srcpath("tests/config/full.ini", path,
	    sizeof(path)), efp);
	n += pk_config_validate(&cfg, "full.ini", efp);
	fclose(efp);
	assert_string_equal(err, "");
	assert_int_equal(n, 0);
	want = slurp_src("tests/config/full.expected");
	got = print_str(&cfg);
	assert_string_equal(got, want);
	free(got);

	/* The -nv output is itself a valid file meaning the same. */
	free(err);
	err = NULL;
	efp = open_memstream(&err, &len);
	n = pk_config_load_string(&cfg, want, "full.expected", efp);
	fclose(efp);
	assert_int_equal(n, 0);
	got = print_str(&cfg);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(err);
}

static void
test_bom_crlf_file(void **state)
{
	char *text = slurp_src("tests/config/bom-crlf.ini");
	char *want = slurp_src("tests/config/bom-crlf.expected"), *got;
	struct loadres r;

	(void)state;
	load_str(&r, text, "bom-crlf.ini");
	assert_string_equal(r.err, "");
	assert_int_equal(r.n, 0);
	assert_string_equal(cfg.agent.host_name, "win-host");
	assert_int_equal(cfg.pcap.snaplen, 1500);
	got = print_str(&cfg);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(text);
	free(r.err);
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_bad_file(void **state)
{
	char *text = slurp_src("tests/config/bad.ini");
	char *want = slurp_src("tests/config/bad.expected-errors");
	struct loadres r;

	(void)state;
	load_str(&r, text, "bad.ini");
	assert_string_equal(r.err, want);
	assert_int_equal(r.n, count_lines(want));
	/* A refused value leaves the default; the first of a duplicate wins. */
	assert_int_equal(cfg.pcap.snaplen, 4096);
	assert_int_equal(cfg.decode.frag_timeout, 30);
	assert_int_equal(cfg.scan.max_sources, 16);
	assert_string_equal(cfg.output.file, "ok.json");
	/* Nothing in bad.ini is a cross-option problem. */
	assert_int_equal(pk_config_validate(&cfg, "bad.ini", stderr), 0);
	free(text);
	free(want);
	free(r.err);
}

/* From a path, the messages name the path. */
static void
test_bad_file_by_path(void **state)
{
	char path[1024], *want, *err = NULL, *line, *nl;
	char expect[2048];
	size_t len = 0, off = 0;
	FILE *efp = open_memstream(&err, &len);
	int n;

	(void)state;
	srcpath("tests/config/bad.ini", path, sizeof(path));
	n = pk_config_load(&cfg, path, efp);
	fclose(efp);
	want = slurp_src("tests/config/bad.expected-errors");
	assert_int_equal(n, count_lines(want));
	/* Each expected line with "bad.ini" replaced by the path. */
	for (line = want; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		assert_int_equal(strncmp(line, "bad.ini:", 8), 0);
		snprintf(expect, sizeof(expect), "%s:%s\n", path, line + 8);
		assert_true(off + strlen(expect) <= len);
		assert_int_equal(strncmp(err + off, expect, strlen(expect)), 0);
		off += strlen(expect);
	}
	assert_int_equal(off, len);
	free(want);
	free(err);
}

static void
test_invalid_file(void **state)
{
	char *text = slurp_src("tests/config/invalid.ini");
	char *want = slurp_src("tests/config/invalid.expected-errors");
	char *err = NULL;
	size_t len = 0;
	struct loadres r;
	FILE *efp;
	int n;

	(void)state;
	load_str(&r, text, "invalid.ini");
	assert_int_equal(r.n, 0);
	efp = open_memstream(&err, &len);
	n = pk_config_validate(&cfg, "invalid.ini", efp);
	fclose(efp);
	assert_string_equal(err, want);
	assert_int_equal(n, count_lines(want));
	free(text);
	free(want);
	free(err);
	free(r.err);
}

static void
test_missing_file(void **state)
{
	char *err = NULL;
	size_t len = 0;
	FILE *efp = open_memstream(&err, &len);
	int n;

	(void)state;
	n = pk_config_load(&cfg, "/nonexistent/picket.ini", efp);
	fclose(efp);
	assert_int_equal(n, 1);
	assert_non_null(strstr(err, "/nonexistent/picket.ini: "));
	/* Still a usable (default) configuration. */
	assert_int_equal(cfg.pcap.snaplen, 4096);
	free(err);
}

/* --- syntax --------------------------------------------------------- */

static void
test_syntax_errors(void **state)
{
	struct loadres r;

	(void)state;
	/* Every malformed line is reported, not only inih's first. */
	load_str(&r, "[pcap]\nsnaplen 100\nbuffer_size = 1M\n[scan\n"
	    "port_scan_ports = 20\nnothing here\n", "t.ini");
	/* Lines after an error still count; a bad "[scan" changes nothing. */
	assert_string_equal(r.err,
	    "t.ini:2: syntax error\n"
	    "t.ini:4: syntax error\n"
	    "t.ini:5: unknown key \"port_scan_ports\" in section [pcap]\n"
	    "t.ini:6: syntax error\n");
	assert_int_equal(r.n, 4);
	assert_int_equal(cfg.pcap.buffer_size, 1 << 20);
	free(r.err);
	/* A value with no name, a name with no value. */
	load_str(&r, "[pcap]\n= 5\nsnaplen =\n", "t.ini");
	assert_string_equal(r.err,
	    "t.ini:2: unknown key \"\" in section [pcap]\n"
	    "t.ini:3: value \"\" for pcap.snaplen: not a number\n");
	free(r.err);
}

/* Keys in an unknown section are not reported one by one. */
static void
test_unknown_section(void **state)
{
	struct loadres r;

	(void)state;
	load_str(&r, "[scan]\nenabled = no\n[sacn]\nenabled = yes\nx = 1\n"
	    "[]\n[output]\nfile = a\n", "t.ini");
	assert_string_equal(r.err,
	    "t.ini:3: unknown section [sacn]\n"
	    "t.ini:6: empty section name\n");
	assert_int_equal(r.n, 2);
	assert_int_equal(cfg.scan.enabled, 0);
	assert_string_equal(cfg.output.file, "a");
	free(r.err);
}

static void
test_comments_and_case(void **state)
{
	struct loadres r;

	(void)state;
	load_str(&r, "# c\n ; c\n[PCAP]\nSnapLen = 100 ; c\n"
	    "filter = port 80 # c\ninterfaces = eth0;x\n"
	    "[ output ]\nfile : \"/tmp/a b\"  \n", "t.ini");
	assert_string_equal(r.err, "");
	assert_int_equal(cfg.pcap.snaplen, 100);
	assert_string_equal(cfg.pcap.filter, "port 80");
	/* A comment needs a space before it. */
	assert_string_equal(cfg.pcap.interfaces, "eth0;x");
	assert_string_equal(cfg.output.file, "/tmp/a b");
	free(r.err);
	/* Duplicates are found whatever the case. */
	load_str(&r, "[scan]\nenabled = no\n[SCAN]\nENABLED = yes\n", "t.ini");
	assert_string_equal(r.err, "t.ini:4: duplicate key \"ENABLED\" in "
	    "section [SCAN] (first set on line 2)\n");
	assert_int_equal(cfg.scan.enabled, 0);
	free(r.err);
}

static char *
make_line(const char *prefix, size_t total, char fill, const char *end)
{
	char *s = malloc(total + strlen(end) + 1);
	size_t n = strlen(prefix);

	assert_non_null(s);
	memcpy(s, prefix, n);
	memset(s + n, fill, total - n);
	memcpy(s + total, end, strlen(end) + 1);
	return s;
}

/* Lines up to 2000 characters are read; longer ones are refused whole. */
static void
test_long_lines(void **state)
{
	struct loadres r;
	char *text;

	(void)state;
	text = make_line("; ", 2000, 'x', "\n[scan]\nenabled = no\n");
	load_str(&r, text, "t.ini");
	assert_string_equal(r.err, "");
	assert_int_equal(cfg.scan.enabled, 0);
	free(text);
	free(r.err);

	/* CRLF: the CR does not count. */
	text = make_line("; ", 2000, 'x', "\r\n");
	load_str(&r, text, "t.ini");
	assert_string_equal(r.err, "");
	free(text);
	free(r.err);

	text = make_line("; ", 2001, 'x', "\r\n");
	load_str(&r, text, "t.ini");
	assert_string_equal(r.err,
	    "t.ini:1: line too long (more than 2000 characters)\n");
	free(text);
	free(r.err);

	/* One more is too long, and its tail is not read as a new line. */
	text = make_line("[pcap]\nfilter = ", 7 + 2001, 'x', "\n");
	memcpy(text + 7 + 1500, "snaplen=100", 11);
	load_str(&r, text, "t.ini");
	assert_string_equal(r.err,
	    "t.ini:2: line too long (more than 2000 characters)\n");
	assert_int_equal(r.n, 1);
	assert_int_equal(cfg.pcap.snaplen, 4096);
	assert_string_equal(cfg.pcap.filter, "");
	free(text);
	free(r.err);

	/* A very long line: 1 MB, no newline at the end. */
	text = make_line("[pcap]\nfilter = ", 1 << 20, 'y', "");
	load_str(&r, text, "t.ini");
	assert_string_equal(r.err,
	    "t.ini:2: line too long (more than 2000 characters)\n");
	free(text);
	free(r.err);

	/* A line that fits but a value too long for its field. */
	text = make_line("[pcap]\nfilter = ", 7 + 9 + 1024, 'z', "\n");
	load_str(&r, text, "t.ini");
	assert_string_equal(r.err, "t.ini:2: value for pcap.filter too "
	    "long (1024 bytes, at most 1023)\n");
	free(text);
	free(r.err);
}

static void
test_nul_byte(void **state)
{
	char path[] = "/tmp/picket-test-config-XXXXXX", *err = NULL;
	static const char text[] = "[pcap]\nsnaplen = 1\0002\nsnaplen=99\n";
	size_t len = 0;
	FILE *efp;
	int fd, n;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd);
	efp = open_memstream(&err, &len);
	n = pk_config_load(&cfg, path, efp);
	fclose(efp);
	unlink(path);
	assert_int_equal(n, 1);
	assert_non_null(strstr(err, ":2: NUL byte in line\n"));
	assert_int_equal(cfg.pcap.snaplen, 99);
	free(err);
}

/* --- pk_config_set: names and messages ------------------------------ */

static void
test_set_names(void **state)
{
	(void)state;
	set_bad("scan", "foo", "1", "unknown key \"foo\" in section [scan]");
	set_bad("foo", "bar", "1", "unknown section [foo]");
	set_bad("", "bar", "1", "key \"bar\" is not in any section");
	set_bad("scan", "port_scan_ports", "abc",
	    "value \"abc\" for scan.port_scan_ports: not a number");
	set_bad("decode", "frag_timeout", "0",
	    "value 0 for decode.frag_timeout out of range 1s..300s");
	set_ok("Scan", "Port_Scan_Ports", "20");
	assert_int_equal(cfg.scan.port_scan_ports, 20);
	/* Section probe. */
	assert_int_equal(pk_config_set(&cfg, "flows", NULL, NULL, NULL, 0), 0);
	assert_int_equal(pk_config_set(&cfg, "flow", NULL, NULL, NULL, 0), -1);
}

/* --- each type ------------------------------------------------------ */

static void
test_type_string(void **state)
{
	char v[300];

	(void)state;
	set_ok("agent", "host_name", "web01");
	assert_string_equal(cfg.agent.host_name, "web01");
	assert_printed("agent", "host_name", "\"web01\"");
	set_ok("agent", "host_name", "\"\"");
	assert_string_equal(cfg.agent.host_name, "");
	set_ok("agent", "host_name", "\"a \"b\" c\"");
	assert_string_equal(cfg.agent.host_name, "a \"b\" c");
	/* 255 bytes fit in PK_CFG_STR_MAX, 256 do not. */
	memset(v, 'a', 255);
	v[255] = '\0';
	set_ok("agent", "host_id", v);
	assert_int_equal(strlen(cfg.agent.host_id), 255);
	v[255] = 'b';
	v[256] = '\0';
	set_bad("agent", "host_id", v, "value for agent.host_id too long "
	    "(256 bytes, at most 255)");
	assert_int_equal(strlen(cfg.agent.host_id), 255);
	set_bad("agent", "host_name", "a\tb",
	    "value for agent.host_name contains a control character");
}

static void
test_type_bool(void **state)
{
	(void)state;
	set_ok("pcap", "promiscuous", "yes");
	assert_int_equal(cfg.pcap.promiscuous, 1);
	assert_printed("pcap", "promiscuous", "yes");
	set_ok("pcap", "promiscuous", "Off");
	assert_int_equal(cfg.pcap.promiscuous, 0);
	set_ok("pcap", "promiscuous", "1");
	assert_int_equal(cfg.pcap.promiscuous, 1);
	set_ok("pcap", "promiscuous", "false");
	assert_int_equal(cfg.pcap.promiscuous, 0);
	set_bad("pcap", "promiscuous", "2",
	    "value \"2\" for pcap.promiscuous: not yes or no");
	set_bad("pcap", "promiscuous", "",
	    "value \"\" for pcap.promiscuous: not yes or no");
}

static void
test_type_uint(void **state)
{
	(void)state;
	set_ok("pcap", "snaplen", "64");
	assert_int_equal(cfg.pcap.snaplen, 64);
	set_ok("pcap", "snaplen", "262144");
	assert_int_equal(cfg.pcap.snaplen, 262144);
	set_bad("pcap", "snaplen", "63",
	    "value 63 for pcap.snaplen out of range 64..262144");
	set_bad("pcap", "snaplen", "262145",
	    "value 262145 for pcap.snaplen out of range 64..262144");
	assert_int_equal(cfg.pcap.snaplen, 262144);
	set_ok("flows", "max_flows", "10000000");
	set_bad("flows", "max_flows", "10000001",
	    "value 10000001 for flows.max_flows out of range 64..10000000");
	set_ok("scan", "port_scan_ports", "0x10");
	assert_int_equal(cfg.scan.port_scan_ports, 16);
	set_bad("scan", "port_scan_ports", "-1",
	    "value \"-1\" for scan.port_scan_ports: not a number");
	set_bad("scan", "port_scan_ports", " 5",
	    "value \" 5\" for scan.port_scan_ports: not a number");
	set_bad("scan", "port_scan_ports", "5m",
	    "value \"5m\" for scan.port_scan_ports: not a number");
	set_bad("scan", "port_scan_ports", "18446744073709551616",
	    "value 18446744073709551616 for scan.port_scan_ports out of "
	    "range 2..65536");
	assert_int_equal(cfg.scan.port_scan_ports, 16);
}

static void
test_type_duration(void **state)
{
	(void)state;
	set_ok("decode", "frag_timeout", "1s");
	assert_int_equal(cfg.decode.frag_timeout, 1);
	set_ok("decode", "frag_timeout", "5m");
	assert_int_equal(cfg.decode.frag_timeout, 300);
	assert_printed("decode", "frag_timeout", "300s");
	set_bad("decode", "frag_timeout", "301",
	    "value 301 for decode.frag_timeout out of range 1s..300s");
	set_bad("decode", "frag_timeout", "1h",
	    "value 1h for decode.frag_timeout out of range 1s..300s");
	set_ok("flows", "tcp_timeout", "1d");
	assert_int_equal(cfg.flows.tcp_timeout, 86400);
	set_bad("flows", "tcp_timeout", "86401s",
	    "value 86401s for flows.tcp_timeout out of range 10s..86400s");
	set_bad("flows", "tcp_timeout", "9",
	    "value 9 for flows.tcp_timeout out of range 10s..86400s");
	set_ok("scan", "worm_window", "1h");
	set_bad("scan", "worm_window", "3601",
	    "value 3601 for scan.worm_window out of range 1s..3600s");
	set_ok("output", "update_interval", "0");
	assert_int_equal(cfg.output.update_interval, 0);
	set_bad("flows", "udp_timeout", "10x",
	    "value \"10x\" for flows.udp_timeout: unknown unit");
	set_bad("flows", "udp_timeout", "s",
	    "value \"s\" for flows.udp_timeout: not a number");
}

static void
test_type_size(void **state)
{
	(void)state;
	set_ok("pcap", "buffer_size", "64k");
	assert_int_equal(cfg.pcap.buffer_size, 65536);
	assert_printed("pcap", "buffer_size", "64k");
	set_ok("pcap", "buffer_size", "1G");
	assert_int_equal(cfg.pcap.buffer_size, 1 << 30);
	assert_printed("pcap", "buffer_size", "1G");
	set_ok("pcap", "buffer_size", "1048577");
	assert_printed("pcap", "buffer_size", "1048577");
	set_ok("pcap", "buffer_size", "3072k");
	assert_printed("pcap", "buffer_size", "3M");
	set_bad("pcap", "buffer_size", "65535",
	    "value 65535 for pcap.buffer_size out of range 64k..1G");
	set_bad("pcap", "buffer_size", "1073741825",
	    "value 1073741825 for pcap.buffer_size out of range 64k..1G");
	set_bad("decode", "frag_memory", "2G",
	    "value 2G for decode.frag_memory out of range 64k..1G");
	set_bad("decode", "frag_memory", "4T",
	    "value \"4T\" for decode.frag_memory: unknown unit");
}

static void
test_type_double(void **state)
{
	(void)state;
	set_ok("scan", "trw_detection", "0.999");
	assert_true(cfg.scan.trw_detection == 0.999);
	assert_printed("scan", "trw_detection", "0.999");
	set_ok("scan", "trw_false_alarm", "1e-6");
	assert_true(cfg.scan.trw_false_alarm == 1e-6);
	assert_printed("scan", "trw_false_alarm", "1e-06");
	set_ok("scan", "trw_benign_success", ".9");
	set_ok("scan", "trw_scanner_success", "0.0000001");
	set_ok("scan", "trw_scanner_success", "0.123456789012");
	assert_printed("scan", "trw_scanner_success", "0.123456789012");
	set_bad("scan", "trw_detection", "1", "value 1 for scan.trw_detection "
	    "out of range: must be above 0 and below 1");
	set_bad("scan", "trw_detection", "0", "value 0 for scan.trw_detection "
	    "out of range: must be above 0 and below 1");
	set_bad("scan", "trw_detection", "1e400", "value \"1e400\" for "
	    "scan.trw_detection: not a decimal number");
	set_bad("scan", "trw_detection", "-0.5", "value \"-0.5\" for "
	    "scan.trw_detection: not a decimal number");
	set_bad("scan", "trw_detection", "inf", "value \"inf\" for "
	    "scan.trw_detection: not a decimal number");
	set_bad("scan", "trw_detection", "0x0.8p0", "value \"0x0.8p0\" for "
	    "scan.trw_detection: not a decimal number");
	set_bad("scan", "trw_detection", "0.5.", "value \"0.5.\" for "
	    "scan.trw_detection: not a decimal number");
	assert_true(cfg.scan.trw_detection == 0.999);
}

static void
test_type_cidrset(void **state)
{
	char v[2048];
	size_t o = 0;
	int i;

	(void)state;
	set_ok("network", "home_net", "10.0.0.0/8, 2001:DB8::/32 192.0.2.7");
	assert_int_equal(cfg.network.home_net.n, 3);
	assert_printed("network", "home_net",
	    "10.0.0.0/8,2001:db8::/32,192.0.2.7/32");
	set_bad("network", "home_net", "10.0.0.0/8,bogus",
	    "value for network.home_net: bad CIDR \"bogus\"");
	assert_int_equal(cfg.network.home_net.n, 3);
	set_ok("network", "home_net", "");
	assert_int_equal(cfg.network.home_net.n, 0);
	assert_printed("network", "home_net", "\"\"");
	/* 64 prefixes fit, 65 do not. */
	for (i = 0; i < 65; i++)
		o += (size_t)snprintf(v + o, sizeof(v) - o, "%s10.%d.0.0/16",
		    i ? "," : "", i);
	set_bad("network", "home_net", v, "value for network.home_net: too "
	    "many CIDRs at \"10.64.0.0/16\" (limit 64)");
	*strrchr(v, ',') = '\0';
	set_ok("network", "home_net", v);
	assert_int_equal(cfg.network.home_net.n, 64);
}

static void
test_type_portset(void **state)
{
	struct pk_portset ps;
	char err[128], out[64];

	(void)state;
	set_ok("scan", "worm_tcp_ports", "445,135 139,1000-2000, 0,65535");
	assert_int_equal(cfg.scan.worm_tcp_ports.n, 3 + 1001 + 2);
	assert_true(pk_portset_has(&cfg.scan.worm_tcp_ports, 1000));
	assert_true(pk_portset_has(&cfg.scan.worm_tcp_ports, 2000));
	assert_false(pk_portset_has(&cfg.scan.worm_tcp_ports, 2001));
	assert_true(pk_portset_has(&cfg.scan.worm_tcp_ports, 65535));
	assert_printed("scan", "worm_tcp_ports",
	    "0,135,139,445,1000-2000,65535");
	set_bad("scan", "worm_tcp_ports", "135,13x9",
	    "value for scan.worm_tcp_ports: bad port \"13x9\": want 0-65535 "
	    "or a range like 1000-2000");
	set_bad("scan", "worm_tcp_ports", "65536",
	    "value for scan.worm_tcp_ports: bad port \"65536\": want 0-65535 "
	    "or a range like 1000-2000");
	set_bad("scan", "worm_tcp_ports", "5-",
	    "value for scan.worm_tcp_ports: bad port \"5-\": want 0-65535 "
	    "or a range like 1000-2000");
	set_bad("scan", "worm_tcp_ports", "9-8", "value for "
	    "scan.worm_tcp_ports: bad port range \"9-8\": start above end");
	/* A refused value leaves the old set. */
	assert_int_equal(cfg.scan.worm_tcp_ports.n, 1006);
	set_ok("scan", "worm_udp_ports", "");
	assert_int_equal(cfg.scan.worm_udp_ports.n, 0);
	assert_printed("scan", "worm_udp_ports", "\"\"");
	/* Duplicates count once; two adjacent ports are not a range. */
	assert_int_equal(pk_portset_parse("80,80,79-81,7,8", &ps, err,
	    sizeof(err)), 0);
	assert_int_equal(ps.n, 5);
	pk_portset_format(&ps, out, sizeof(out));
	assert_string_equal(out, "7,8,79-81");
	/* Cut after whole elements. */
	pk_portset_format(&ps, out, 9);
	assert_string_equal(out, "7,8...");
	pk_portset_format(&ps, out, 1);
	assert_string_equal(out, "");
	assert_int_equal(pk_portset_parse("0-65535", &ps, err, sizeof(err)),
	    0);
	assert_int_equal(ps.n, 65536);
	pk_portset_format(&ps, out, sizeof(out));
	assert_string_equal(out, "0-65535");
}

static void
test_type_loglevel(void **state)
{
	(void)state;
	set_ok("agent", "log_level", "err");
	assert_int_equal(cfg.agent.log_level, LOG_LVL_ERR);
	set_ok("agent", "log_level", "Warning");
	assert_int_equal(cfg.agent.log_level, LOG_LVL_WARN);
	assert_printed("agent", "log_level", "warn");
	set_ok("agent", "log_level", "DEBUG");
	assert_int_equal(cfg.agent.log_level, LOG_LVL_DEBUG);
	set_bad("agent", "log_level", "3", "value \"3\" for agent.log_level: "
	    "not a log level (err, warn, info, debug)");
}

static void
test_type_tlp(void **state)
{
	(void)state;
	set_ok("agent", "tlp", "tlp:amber+strict");
	assert_string_equal(cfg.agent.tlp, "TLP:AMBER+STRICT");
	set_ok("agent", "tlp", "Red");
	assert_string_equal(cfg.agent.tlp, "TLP:RED");
	set_ok("agent", "tlp", "TLP:WHITE");
	assert_string_equal(cfg.agent.tlp, "TLP:CLEAR");
	assert_printed("agent", "tlp", "TLP:CLEAR");
	set_ok("agent", "tlp", "TLP:GREEN");
	set_bad("agent", "tlp", "TLP:", "value \"TLP:\" for agent.tlp: not a "
	    "TLP marking (TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, "
	    "TLP:RED)");
	set_bad("agent", "tlp", "TLP:AMBER+", "value \"TLP:AMBER+\" for "
	    "agent.tlp: not a TLP marking (TLP:CLEAR, TLP:GREEN, TLP:AMBER, "
	    "TLP:AMBER+STRICT, TLP:RED)");
	assert_string_equal(cfg.agent.tlp, "TLP:GREEN");
}

/* --- documentation -------------------------------------------------- */

static void
test_doc(void **state)
{
	char *doc = NULL, *committed;
	size_t len = 0;
	FILE *fp = open_memstream(&doc, &len);

	(void)state;
	pk_config_doc(fp);
	fclose(fp);
	assert_non_null(strstr(doc, "/etc/picket/agent.ini"));
	assert_non_null(strstr(doc, "picketd -n -c FILE"));
	assert_non_null(strstr(doc, "duplicate key"));
	assert_non_null(strstr(doc, "| option | type | default | range | "
	    "description |"));
	assert_non_null(strstr(doc, "\n| `snaplen` | integer | `4096` | "
	    "64..262144 bytes | "));
	assert_non_null(strstr(doc, "\n| `frag_timeout` | duration | `30s` | "
	    "1s..300s | "));
	assert_non_null(strstr(doc, "\n| `worm_tcp_ports` | port list | "
	    "`135,139,445` | "));
	assert_non_null(strstr(doc, "\n| `tlp` | TLP | `TLP:AMBER` | "));
	assert_non_null(strstr(doc, "\n## [output]\n"));
	/* docs/configuration.md is this output, not an edited copy. */
	committed = slurp_src("docs/configuration.md");
	assert_string_equal(committed, doc);
	free(committed);
	free(doc);
}

static void
test_vars(void **state)
{
	char err[256], name[16];
	int i;

	(void)state;
	assert_int_equal(cfg.vars.n, 0);
	assert_null(pk_config_var(&cfg, "HTTP_PORTS"));
	assert_int_equal(pk_config_set(&cfg, "vars", "HTTP_PORTS",
	    "\"[80,8080]\"", err, sizeof(err)), 0);
	assert_string_equal(pk_config_var(&cfg, "HTTP_PORTS"), "[80,8080]");
	/* setting again replaces, not adds */
	assert_int_equal(pk_config_set(&cfg, "VARS", "HTTP_PORTS", "81", err,
	    sizeof(err)), 0);
	assert_string_equal(pk_config_var(&cfg, "HTTP_PORTS"), "81");
	assert_int_equal(cfg.vars.n, 1);
	assert_int_equal(pk_config_set(&cfg, "vars", "9LIVES", "1", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "bad variable name \"9LIVES\""));
	assert_int_equal(pk_config_set(&cfg, "vars", "A-B", "1", err,
	    sizeof(err)), -1);
	for (i = 1; i < PK_CFG_VARS_MAX; i++) {
		snprintf(name, sizeof(name), "V%d", i);
		assert_int_equal(pk_config_set(&cfg, "vars", name, "1", err,
		    sizeof(err)), 0);
	}
	assert_int_equal(pk_config_set(&cfg, "vars", "ONE_TOO_MANY", "1", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 64 variables"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_empty_file, setup),
		cmocka_unit_test_setup(test_full_file, setup),
		cmocka_unit_test_setup(test_bom_crlf_file, setup),
		cmocka_unit_test_setup(test_bad_file, setup),
		cmocka_unit_test_setup(test_bad_file_by_path, setup),
		cmocka_unit_test_setup(test_invalid_file, setup),
		cmocka_unit_test_setup(test_missing_file, setup),
		cmocka_unit_test_setup(test_syntax_errors, setup),
		cmocka_unit_test_setup(test_unknown_section, setup),
		cmocka_unit_test_setup(test_comments_and_case, setup),
		cmocka_unit_test_setup(test_long_lines, setup),
		cmocka_unit_test_setup(test_nul_byte, setup),
		cmocka_unit_test_setup(test_set_names, setup),
		cmocka_unit_test_setup(test_type_string, setup),
		cmocka_unit_test_setup(test_type_bool, setup),
		cmocka_unit_test_setup(test_type_uint, setup),
		cmocka_unit_test_setup(test_type_duration, setup),
		cmocka_unit_test_setup(test_type_size, setup),
		cmocka_unit_test_setup(test_type_double, setup),
		cmocka_unit_test_setup(test_type_cidrset, setup),
		cmocka_unit_test_setup(test_type_portset, setup),
		cmocka_unit_test_setup(test_type_loglevel, setup),
		cmocka_unit_test_setup(test_type_tlp, setup),
		cmocka_unit_test_setup(test_doc, setup),
		cmocka_unit_test_setup(test_vars, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
