/*
 * test_netaddr.c - unit tests for common/netaddr.c: strict IPv4 and RFC 4291
 * IPv6 parsing, RFC 5952 output (vectors from the RFC's own examples and
 * its tie and single-group rules), CIDR parsing and matching, CIDR sets and
 * their error messages, plus a seeded round-trip property test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/util.h"

static void
check_v4(const char *s, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct pk_addr x;
	char out[PK_ADDRSTRLEN];

	memset(&x, 0xaa, sizeof(x));
	if (pk_addr_parse(s, &x) != 0) {
		fprintf(stderr, "rejected \"%s\"\n", s);
		fail();
	}
	assert_int_equal(x.family, 4);
	assert_int_equal(x.a[0], a);
	assert_int_equal(x.a[1], b);
	assert_int_equal(x.a[2], c);
	assert_int_equal(x.a[3], d);
	/* "the rest is zero" */
	for (int i = 4; i < 16; i++)
		assert_int_equal(x.a[i], 0);
	assert_string_equal(pk_addr_format(&x, out, sizeof(out)), s);
}

static void
test_v4_good(void **state)
{
	(void)state;
	check_v4("0.0.0.0", 0, 0, 0, 0);
	check_v4("255.255.255.255", 255, 255, 255, 255);
	check_v4("1.2.3.4", 1, 2, 3, 4);
	check_v4("10.0.0.1", 10, 0, 0, 1);
	check_v4("192.168.100.200", 192, 168, 100, 200);
	check_v4("100.64.0.10", 100, 64, 0, 10);
}

static void
test_v4_bad(void **state)
{
	static const char *const bad[] = {
		"", "1", "1.2", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256",
		"01.2.3.4", "1.2.3.04", "010.0.0.1", "1.2.3.00", "0000.0.0.0",
		"1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4.", "1.2.3.4 ",
		" 1.2.3.4", "1.2.3.-4", "1.2.3.+4", "1.2.3.0x4", "0x1.2.3.4",
		"1.2.3.4/8", "1.2.3.1000", "1.2.3.a", "1,2,3,4", "1.2.3.4\n",
		"4294967297", "1.2.3.4\t", "1.2.3.99999999999",
	};
	struct pk_addr x;
	size_t i;

	(void)state;
	for (i = 0; i < PK_NELEM(bad); i++) {
		if (pk_addr_parse(bad[i], &x) != -1) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			fail();
		}
	}
	assert_int_equal(pk_addr_parse(NULL, &x), -1);
}

static const struct {
	const char	*in;
	const char	*canon;
} v6_good[] = {
	{ "::", "::" },
	{ "::0", "::" },
	{ "0:0:0:0:0:0:0:0", "::" },
	{ "::1", "::1" },
	{ "0:0:0:0:0:0:0:1", "::1" },
	{ "1::", "1::" },
	{ "1:0:0:0:0:0:0:0", "1::" },
	{ "2001:db8::1", "2001:db8::1" },
	{ "2001:DB8::1", "2001:db8::1" },
	/* RFC 5952 4.1: no leading zeros. */
	{ "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
	{ "2001:db8:0:0:0:0:2:1", "2001:db8::2:1" },
	/* 4.2.2: a single zero group is not compressed. */
	{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
	{ "2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
	/* 4.2.3: the longest run; the first one on a tie. */
	{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1" },
	{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
	{ "2001:db8::0:1:0:0:1", "2001:db8::1:0:0:1" },
	{ "1:0:0:2:0:0:0:3", "1:0:0:2::3" },
	{ "0:0:1:0:0:0:0:0", "0:0:1::" },
	{ "1:0:0:1:0:0:1:1", "1::1:0:0:1:1" },
	/* 4.3: lowercase. */
	{ "2001:DB8:AAAA:BBBB:CCCC:DDDD:EEEE:FFFF",
	    "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff" },
	{ "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8" },
	{ "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0" },
	{ "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8" },
	{ "fe80::1:2", "fe80::1:2" },
	{ "ff02::1", "ff02::1" },
	{ "fe80:0000:0000:0000:0204:61ff:fe9d:f156",
	    "fe80::204:61ff:fe9d:f156" },
	/* Section 5 and RFC 4291 2.2 form 3: embedded IPv4. */
	{ "::ffff:1.2.3.4", "::ffff:1.2.3.4" },
	{ "::FFFF:192.168.1.1", "::ffff:192.168.1.1" },
	{ "0:0:0:0:0:ffff:0102:0304", "::ffff:1.2.3.4" },
	{ "0:0:0:0:0:FFFF:129.144.52.38", "::ffff:129.144.52.38" },
	{ "::ffff:0.0.0.0", "::ffff:0.0.0.0" },
	/* Only mapped addresses print dotted; these stay hex. */
	{ "::1.2.3.4", "::102:304" },
	{ "::13.1.68.3", "::d01:4403" },
	{ "64:ff9b::192.0.2.33", "64:ff9b::c000:221" },
	{ "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304" },
	{ "::ffff:0:1.2.3.4", "::ffff:0:102:304" },
	{ "0:0:0:0:0:ffff:ffff:ffff", "::ffff:255.255.255.255" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
};

static void
test_v6_good(void **state)
{
	struct pk_addr x, y;
	char out[PK_ADDRSTRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < PK_NELEM(v6_good); i++) {
		if (pk_addr_parse(v6_good[i].in, &x) != 0) {
			fprintf(stderr, "rejected \"%s\"\n", v6_good[i].in);
			fail();
		}
		assert_int_equal(x.family, 6);
		pk_addr_format(&x, out, sizeof(out));
		if (strcmp(out, v6_good[i].canon) != 0) {
			fprintf(stderr, "\"%s\" -> \"%s\", want \"%s\"\n",
			    v6_good[i].in, out, v6_good[i].canon);
			fail();
		}
		/* Canonical text parses back to the same address. */
		assert_int_equal(pk_addr_parse(out, &y), 0);
		assert_true(pk_addr_eq(&x, &y));
	}
}

static void
test_v6_bytes(void **state)
{
	struct pk_addr x;

	(void)state;
	assert_int_equal(pk_addr_parse("2001:db8:1::ab9:C0A8:102", &x), 0);
	static const uint8_t want[16] = {
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0, 0, 0, 0x0a, 0xb9,
		0xc0, 0xa8, 0x01, 0x02
	};
	assert_memory_equal(x.a, want, 16);
	assert_int_equal(pk_addr_parse("::ffff:10.20.30.40", &x), 0);
	static const uint8_t want2[16] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 20, 30, 40
	};
	assert_memory_equal(x.a, want2, 16);
}

static void
test_v6_bad(void **state)
{
	static const char *const bad[] = {
		":", ":::", "1:::2", "1::2::3", "::1::", "1:2:3:4:5:6:7:8:9",
		"1:2:3:4:5:6:7", "12345::", "::12345", "g::", "1:2:3:4:5:6:7:8::",
		"::1:2:3:4:5:6:7:8", ":1::2", "1::2:", ":1:2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:8:", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3",
		"::1.2.3.4.5", "::256.1.1.1", "::01.2.3.4", "::1.2.3.4:1",
		"::1.2.3.4::", "1.2.3.4::", "fe80::1%eth0", "[::1]", " ::1",
		"::1 ", "::ffff:1.2.3.4.", "0x1::", "1:2:3:4:5:6:7:8:1.2.3.4",
		"::-1", "::+1", "1 ::2", "::1/64", "1::2:3:4:5:6:7:8",
		"0000:0000:0000:0000:0000:0000:0000:0000:0",
		"00000::", ":: ", "::\n",
		"2001:db8:85a3:0000:0000:8a2e:0370:7334:0000:0000:0000",
	};
	struct pk_addr x;
	size_t i;

	(void)state;
	for (i = 0; i < PK_NELEM(bad); i++) {
		if (pk_addr_parse(bad[i], &x) != -1) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			fail();
		}
	}
}

static void
test_format_misc(void **state)
{
	static const uint8_t b4[4] = { 192, 0, 2, 1 };
	struct pk_addr x;
	char out[PK_ADDRSTRLEN], tiny[5];

	(void)state;
	pk_addr_v4(&x, b4);
	assert_string_equal(pk_addr_format(&x, out, sizeof(out)), "192.0.2.1");
	/* Small buffers are cut and terminated. */
	memset(tiny, 'Z', sizeof(tiny));
	pk_addr_format(&x, tiny, sizeof(tiny));
	assert_string_equal(tiny, "192.");
	assert_int_equal(pk_addr_parse("2001:db8::1", &x), 0);
	pk_addr_format(&x, tiny, sizeof(tiny));
	assert_string_equal(tiny, "2001");
	tiny[0] = 'Q';
	pk_addr_format(&x, tiny, 0);
	assert_int_equal(tiny[0], 'Q');
	/* Unset prints as nothing. */
	memset(&x, 0, sizeof(x));
	assert_string_equal(pk_addr_format(&x, out, sizeof(out)), "");
	/* The longest possible text fits PK_ADDRSTRLEN. */
	assert_int_equal(pk_addr_parse("::ffff:255.255.255.255", &x), 0);
	assert_string_equal(pk_addr_format(&x, out, sizeof(out)),
	    "::ffff:255.255.255.255");
}

static void
test_cmp_hash(void **state)
{
	struct pk_addr a, b, c, m;

	(void)state;
	assert_int_equal(pk_addr_parse("1.2.3.4", &a), 0);
	assert_int_equal(pk_addr_parse("1.2.3.5", &b), 0);
	assert_int_equal(pk_addr_parse("::1", &c), 0);
	assert_int_equal(pk_addr_parse("::ffff:1.2.3.4", &m), 0);
	assert_true(pk_addr_cmp(&a, &b) < 0);
	assert_true(pk_addr_cmp(&b, &a) > 0);
	assert_true(pk_addr_cmp(&a, &c) < 0);	/* v4 sorts before v6 */
	assert_int_equal(pk_addr_cmp(&a, &a), 0);
	assert_true(pk_addr_eq(&a, &a));
	assert_false(pk_addr_eq(&a, &m));	/* families differ */
	assert_true(pk_addr_hash(&a, PK_FNV_SEED) ==
	    pk_addr_hash(&a, PK_FNV_SEED));
	assert_true(pk_addr_hash(&a, PK_FNV_SEED) !=
	    pk_addr_hash(&b, PK_FNV_SEED));
	assert_true(pk_addr_hash(&a, PK_FNV_SEED) !=
	    pk_addr_hash(&m, PK_FNV_SEED));
	/* Garbage beyond the v4 bytes does not change identity. */
	b = a;
	b.a[9] = 0x55;
	assert_true(pk_addr_eq(&a, &b));
	assert_true(pk_addr_hash(&a, 1) == pk_addr_hash(&b, 1));
}

static void
check_cidr(const char *s, const char *net, unsigned plen)
{
	struct pk_cidr c;
	char out[PK_ADDRSTRLEN];

	if (pk_cidr_parse(s, &c) != 0) {
		fprintf(stderr, "rejected \"%s\"\n", s);
		fail();
	}
	assert_string_equal(pk_addr_format(&c.net, out, sizeof(out)), net);
	assert_int_equal(c.plen, plen);
}

static void
test_cidr_parse(void **state)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08",
		"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/ 8",
		"10.0.0.0 /8", "10.0.0.0/1000", "10.0.0.0/8 ", "10.0.0/8",
		"2001:db8::/129", "::/000", "::/1x", "bogus/8", "010.0.0.0/8",
		"2001:db8::/0x20",
		"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/8",
	};
	struct pk_cidr c;
	size_t i;

	(void)state;
	check_cidr("10.0.0.0/8", "10.0.0.0", 8);
	check_cidr("10.1.2.3/8", "10.0.0.0", 8);
	check_cidr("192.168.1.255/23", "192.168.0.0", 23);
	check_cidr("1.2.3.4/32", "1.2.3.4", 32);
	check_cidr("1.2.3.4", "1.2.3.4", 32);
	check_cidr("255.255.255.255/0", "0.0.0.0", 0);
	check_cidr("255.255.255.255/1", "128.0.0.0", 1);
	check_cidr("255.255.255.255/31", "255.255.255.254", 31);
	check_cidr("2001:db8::/32", "2001:db8::", 32);
	check_cidr("2001:db8:ffff::1/33", "2001:db8:8000::", 33);
	check_cidr("2001:db8::1", "2001:db8::1", 128);
	check_cidr("2001:db8::1/128", "2001:db8::1", 128);
	check_cidr("2001:db8::ffff/127", "2001:db8::fffe", 127);
	check_cidr("ffff::/0", "::", 0);
	check_cidr("fe80::1/10", "fe80::", 10);
	check_cidr("::ffff:10.1.2.3/104", "::ffff:10.0.0.0", 104);
	for (i = 0; i < PK_NELEM(bad); i++) {
		if (pk_cidr_parse(bad[i], &c) != -1) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			fail();
		}
	}
	assert_int_equal(pk_cidr_parse(NULL, &c), -1);
}

static int
contains(const char *cidr, const char *addr)
{
	struct pk_cidr c;
	struct pk_addr a;

	assert_int_equal(pk_cidr_parse(cidr, &c), 0);
	assert_int_equal(pk_addr_parse(addr, &a), 0);
	return pk_cidr_contains(&c, &a);
}

static void
test_cidr_contains(void **state)
{
	struct pk_cidr c;
	struct pk_addr unset;

	(void)state;
	assert_true(contains("10.0.0.0/8", "10.0.0.0"));
	assert_true(contains("10.0.0.0/8", "10.255.255.255"));
	assert_false(contains("10.0.0.0/8", "11.0.0.0"));
	assert_false(contains("10.0.0.0/8", "9.255.255.255"));
	assert_true(contains("0.0.0.0/0", "203.0.113.9"));
	assert_false(contains("0.0.0.0/0", "::1"));
	assert_true(contains("192.168.1.4/31", "192.168.1.5"));
	assert_false(contains("192.168.1.4/31", "192.168.1.6"));
	assert_true(contains("172.16.0.0/12", "172.31.255.255"));
	assert_false(contains("172.16.0.0/12", "172.32.0.0"));
	assert_true(contains("1.2.3.4", "1.2.3.4"));
	assert_false(contains("1.2.3.4", "1.2.3.5"));
	assert_true(contains("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(contains("2001:db8::/32", "2001:db9::"));
	assert_true(contains("2001:db8::/127", "2001:db8::1"));
	assert_false(contains("2001:db8::/127", "2001:db8::2"));
	assert_true(contains("::/0", "ff02::1"));
	/* A mapped address is an IPv6 address; it is not in 10/8. */
	assert_false(contains("10.0.0.0/8", "::ffff:10.0.0.1"));
	assert_true(contains("::ffff:0:0/96", "::ffff:10.0.0.1"));
	memset(&unset, 0, sizeof(unset));
	assert_int_equal(pk_cidr_parse("0.0.0.0/0", &c), 0);
	assert_false(pk_cidr_contains(&c, &unset));
}

static void
test_cidrset(void **state)
{
	struct pk_cidrset set;
	struct pk_addr a;
	char err[128], out[512];

	(void)state;
	assert_int_equal(pk_cidrset_parse("10.0.0.0/8, 192.168.1.7/16 "
	    "2001:DB8::/32,\t::1", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 4);
	pk_cidrset_format(&set, out, sizeof(out));
	assert_string_equal(out,
	    "10.0.0.0/8,192.168.0.0/16,2001:db8::/32,::1/128");
	assert_int_equal(pk_addr_parse("192.168.200.1", &a), 0);
	assert_true(pk_cidrset_contains(&set, &a));
	assert_int_equal(pk_addr_parse("192.169.0.1", &a), 0);
	assert_false(pk_cidrset_contains(&set, &a));
	assert_int_equal(pk_addr_parse("::1", &a), 0);
	assert_true(pk_cidrset_contains(&set, &a));
	assert_int_equal(pk_addr_parse("::2", &a), 0);
	assert_false(pk_cidrset_contains(&set, &a));

	/* Formatting is normalised: it parses back to the same text. */
	{
		struct pk_cidrset again;
		char out2[512];

		assert_int_equal(pk_cidrset_parse(out, &again, err,
		    sizeof(err)), 0);
		pk_cidrset_format(&again, out2, sizeof(out2));
		assert_string_equal(out, out2);
	}

	/* Empty lists and lone separators are an empty set. */
	assert_int_equal(pk_cidrset_parse("", &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 0);
	assert_int_equal(pk_cidrset_parse(" , ,\t", &set, err, sizeof(err)),
	    0);
	assert_int_equal(set.n, 0);
	pk_cidrset_format(&set, out, sizeof(out));
	assert_string_equal(out, "");
	assert_false(pk_cidrset_contains(&set, &a));

	/* A bad element is named. */
	assert_int_equal(pk_cidrset_parse("10.0.0.0/8, bogus 1.2.3.4", &set,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"bogus\""));
	assert_int_equal(set.n, 0);
	assert_int_equal(pk_cidrset_parse("10.0.0.0/33", &set, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "10.0.0.0/33"));
	/* A huge element is named too, cut. */
	{
		char big[300];

		memset(big, '1', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(pk_cidrset_parse(big, &set, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "bad CIDR \"111"));
		assert_non_null(strstr(err, "...\""));
	}
	/* err may be NULL, or tiny. */
	assert_int_equal(pk_cidrset_parse("x", &set, NULL, 0), -1);
	assert_int_equal(pk_cidrset_parse("x", &set, err, 4), -1);
	assert_int_equal(strlen(err), 3);
}

static void
test_cidrset_limit(void **state)
{
	struct pk_cidrset set;
	char list[2048], err[128], out[2048];
	size_t o = 0;
	int i;

	(void)state;
	for (i = 0; i < PK_CIDRSET_MAX; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s10.%d.0.0/16",
		    i ? ", " : "", i);
	assert_int_equal(pk_cidrset_parse(list, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, PK_CIDRSET_MAX);
	snprintf(list + o, sizeof(list) - o, " 10.%d.0.0/16", i);
	assert_int_equal(pk_cidrset_parse(list, &set, err, sizeof(err)), -1);
	/* The message names the limit and the element over it. */
	snprintf(out, sizeof(out), "limit %d", PK_CIDRSET_MAX);
	assert_non_null(strstr(err, out));
	snprintf(out, sizeof(out), "10.%d.0.0/16", PK_CIDRSET_MAX);
	assert_non_null(strstr(err, out));

	/* Formatting into a small buffer keeps whole elements only. */
	assert_int_equal(pk_cidrset_parse("10.0.0.0/8,192.168.0.0/16", &set,
	    err, sizeof(err)), 0);
	pk_cidrset_format(&set, out, 20);
	assert_string_equal(out, "10.0.0.0/8");
	pk_cidrset_format(&set, out, 5);
	assert_string_equal(out, "");
}

/* xorshift64*, fixed seed. */
static uint64_t
rng(void)
{
	static uint64_t s = 0x243f6a8885a308d3ULL;

	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dULL;
}

/*
 * Random addresses with many zero groups: format, parse back, same
 * address; the text has at most one "::", no uppercase, no leading
 * zeros, and "::" never stands for a single group.
 */
static void
test_roundtrip_property(void **state)
{
	struct pk_addr x, y;
	char out[PK_ADDRSTRLEN];
	uint8_t b[16];
	int iter, g;
	const char *p, *q;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		for (g = 0; g < 8; g++) {
			uint64_t r = rng();
			uint16_t v = r % 2 ? 0 : (uint16_t)(r >> 20);

			if (r % 7 == 0)
				v = (uint16_t)(r >> 40) & 0xf;
			b[2 * g] = (uint8_t)(v >> 8);
			b[2 * g + 1] = (uint8_t)v;
		}
		if (iter % 10 == 0) {
			memset(b, 0, 10);
			b[10] = b[11] = 0xff;
		}
		pk_addr_v6(&x, b);
		pk_addr_format(&x, out, sizeof(out));
		if (pk_addr_parse(out, &y) != 0 || !pk_addr_eq(&x, &y)) {
			fprintf(stderr, "round trip failed: %s\n", out);
			fail();
		}
		p = strstr(out, "::");
		if (p != NULL)
			assert_null(strstr(p + 1, "::"));
		for (q = out; *q; q++)
			assert_false(*q >= 'A' && *q <= 'Z');
		/* No group printed with a leading zero. */
		for (q = out; *q; q++) {
			if ((q == out || q[-1] == ':') && q[0] == '0' &&
			    q[1] != ':' && q[1] != '\0' && q[1] != '.')
				fail_msg("leading zero in %s", out);
		}
		/* "::" for one group only is forbidden (RFC 5952 4.2.2):
		 * then the text would have 7 colons besides the "::". */
		if (p != NULL && strchr(out, '.') == NULL) {
			int colons = 0;

			for (q = out; *q; q++)
				colons += *q == ':';
			assert_true(colons <= 7);
			assert_false(colons == 7 && p != out &&
			    p[2] != '\0');
		}
	}
	/* v4 round trip over random addresses. */
	for (iter = 0; iter < 20000; iter++) {
		uint64_t r = rng();

		b[0] = (uint8_t)r;
		b[1] = (uint8_t)(r >> 8);
		b[2] = r & 0x10000 ? 0 : (uint8_t)(r >> 16);
		b[3] = (uint8_t)(r >> 24);
		pk_addr_v4(&x, b);
		pk_addr_format(&x, out, sizeof(out));
		assert_int_equal(pk_addr_parse(out, &y), 0);
		assert_true(pk_addr_eq(&x, &y));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_good),
		cmocka_unit_test(test_v4_bad),
		cmocka_unit_test(test_v6_good),
		cmocka_unit_test(test_v6_bytes),
		cmocka_unit_test(test_v6_bad),
		cmocka_unit_test(test_format_misc),
		cmocka_unit_test(test_cmp_hash),
		cmocka_unit_test(test_cidr_parse),
		cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_cidrset),
		cmocka_unit_test(test_cidrset_limit),
		cmocka_unit_test(test_roundtrip_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
