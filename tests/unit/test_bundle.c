/*
 * test_bundle.c - the shared-indicator bundle format (transport/bundle.c):
 * write then parse gives back the same bundle and the same bytes, the
 * stable sort keeps the first of each duplicate, every refusal of the
 * parser names its line and its reason (header, counts, end, trailing
 * bytes, CR, order, duplicates, each kind's bad values, limits, fields),
 * the writer refuses what the parser would, and a bundle of the maximum
 * 20,000 entries parses.  Portable: no files, no POSIX calls (it also runs
 * under wine).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/bundle.h"
#include "transport/frame.h"

#define HDR(n)	"picket-bundle 1\nversion 7\ncreated 1764201600000000\n" \
		"entries " #n "\n"

static const char good[] =
    HDR(9)
    "domain evil.example ref=4 origin=state-b tlp=amber\n"
    "domain x_y-1.evil.example ref=5 origin=state-b tlp=green\n"
    "fingerprint 3f2a9c0e1b7d4a6c8e0f1a2b3c4d5e6f ref=12 origin=state-a "
    "tlp=green\n"
    "ipv4 198.51.100.0/24 ref=13 origin=state-b tlp=amber\n"
    "ipv4 203.0.113.7 ref=14 origin=state-b tlp=clear\n"
    "ipv6 2001:db8::/32 ref=15 origin=city.c tlp=amber+strict\n"
    "rule sid:2001337 ref=16 origin=state-a tlp=green\n"
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    " ref=17 origin=state-a tlp=green\n"
    "url https://dl.evil.example/Get?ID=7 ref=18 origin=state-b tlp=amber\n"
    "end\n";

static int
parse(const char *s, struct pk_bundle *b, char *err, size_t errlen)
{
	err[0] = '\0';
	return pk_bundle_parse(s, strlen(s), PK_BUNDLE_MAX_ENTRIES, b, err,
	    errlen);
}

/* Parse must fail and the reason must contain want. */
static void
refused(const char *s, const char *want)
{
	struct pk_bundle b;
	char err[PK_BUNDLE_ERRLEN];

	if (parse(s, &b, err, sizeof(err)) != -1 ||
	    strstr(err, want) == NULL) {
		print_error("%s\n  -> \"%s\" (wanted \"%s\")\n", s, err, want);
		if (err[0] == '\0')
			pk_bundle_free(&b);
		fail();
	}
	assert_null(b.e);
	assert_null(b.text);
	assert_int_equal(b.n, 0);
}

/* A one-entry bundle of kind/value: refused, naming line 5 and want. */
static void
bad_value(const char *kind, const char *value, const char *want)
{
	char text[4096];
	struct pk_bundle b;

	snprintf(text, sizeof(text), HDR(1) "%s %s ref=1 origin=o tlp=green\n"
	    "end\n", kind, value);
	refused(text, want);
	assert_int_equal(pk_bundle_parse(text, strlen(text), 1, &b, text,
	    sizeof(text)), -1);
	assert_memory_equal(text, "line 5: ", 8);
	/* The same rule, asked directly. */
	assert_int_equal(pk_bundle_check_value(pk_bundle_kind_parse(kind),
	    value, text, sizeof(text)), -1);
	if (strstr(text, want) == NULL) {
		print_error("%s %s -> \"%s\"\n", kind, value, text);
		fail();
	}
}

static void
good_value(int kind, const char *value)
{
	char err[PK_BUNDLE_ERRLEN];

	err[0] = '\0';
	if (pk_bundle_check_value(kind, value, err, sizeof(err)) != 0) {
		print_error("%s %s -> \"%s\"\n", pk_bundle_kind_name(kind),
		    value, err);
		fail();
	}
}

/* ------------------------------------------------------------ round trip */

static void
test_parse_good(void **state)
{
	struct pk_bundle b;
	char err[PK_BUNDLE_ERRLEN], *out;
	size_t len, i;

	(void)state;
	assert_int_equal(parse(good, &b, err, sizeof(err)), 0);
	assert_int_equal(b.version, 7);
	assert_int_equal(b.created_us, 1764201600000000ULL);
	assert_int_equal(b.n, 9);
	assert_int_equal(b.e[0].kind, PK_BK_DOMAIN);
	assert_string_equal(b.e[0].value, "evil.example");
	assert_int_equal(b.e[0].ref, 4);
	assert_string_equal(b.e[0].origin, "state-b");
	assert_int_equal(b.e[0].tlp, PK_BTLP_AMBER);
	assert_int_equal(b.e[5].kind, PK_BK_IPV6);
	assert_string_equal(b.e[5].value, "2001:db8::/32");
	assert_string_equal(b.e[5].origin, "city.c");
	assert_int_equal(b.e[5].tlp, PK_BTLP_AMBER_STRICT);
	assert_int_equal(b.e[6].kind, PK_BK_RULE);
	assert_int_equal(b.e[8].kind, PK_BK_URL);
	assert_string_equal(b.e[8].value, "https://dl.evil.example/Get?ID=7");
	assert_int_equal(b.e[8].tlp, PK_BTLP_AMBER);
	for (i = 0; i < b.n; i++) {
		/* The strings live in the bundle's own copy. */
		assert_true(b.e[i].value >= b.text &&
		    b.e[i].value < b.text + strlen(good));
		assert_int_equal(pk_bundle_check_value(b.e[i].kind,
		    b.e[i].value, err, sizeof(err)), 0);
	}
	/* Written back: the very same bytes (the format is canonical). */
	assert_int_equal(pk_bundle_write(&b, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, strlen(good));
	assert_memory_equal(out, good, len);
	assert_int_equal(out[len], '\0');
	free(out);
	pk_bundle_free(&b);
	assert_null(b.e);
	assert_null(b.text);
	pk_bundle_free(&b);		/* twice is harmless */
}

static void
test_write_then_parse(void **state)
{
	struct pk_bundle_entry e[4] = {
		{ PK_BK_URL, PK_BTLP_CLEAR, 9, "http://h.example/", "m" },
		{ PK_BK_IPV4, PK_BTLP_GREEN, 18446744073709551615ULL,
		    "10.1.0.0/16", "a.b" },
		{ PK_BK_DOMAIN, PK_BTLP_AMBER, 1, "b.example", "x" },
		{ PK_BK_DOMAIN, PK_BTLP_AMBER_STRICT, 2, "a.example", "y" },
	};
	struct pk_bundle w, b;
	char err[PK_BUNDLE_ERRLEN], *out;
	size_t n = 4, len, i;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.version = UINT64_MAX;
	w.created_us = 0;
	pk_bundle_sort(e, &n);
	w.e = e;
	w.n = n;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)), 0);
	assert_string_equal(out,
	    "picket-bundle 1\nversion 18446744073709551615\ncreated 0\n"
	    "entries 4\n"
	    "domain a.example ref=2 origin=y tlp=amber+strict\n"
	    "domain b.example ref=1 origin=x tlp=amber\n"
	    "ipv4 10.1.0.0/16 ref=18446744073709551615 origin=a.b tlp=green\n"
	    "url http://h.example/ ref=9 origin=m tlp=clear\n"
	    "end\n");
	assert_int_equal(len, strlen(out));
	assert_int_equal(pk_bundle_parse(out, len, 4, &b, err, sizeof(err)),
	    0);
	assert_int_equal(b.version, UINT64_MAX);
	assert_int_equal(b.created_us, 0);
	assert_int_equal(b.n, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(b.e[i].kind, e[i].kind);
		assert_int_equal(b.e[i].tlp, e[i].tlp);
		assert_int_equal(b.e[i].ref, e[i].ref);
		assert_string_equal(b.e[i].value, e[i].value);
		assert_string_equal(b.e[i].origin, e[i].origin);
	}
	pk_bundle_free(&b);
	/* One entry fewer allowed than there are: refused. */
	assert_int_equal(pk_bundle_parse(out, len, 3, &b, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "line 4: 4 entries, over the limit of 3"));
	free(out);

	/* An empty bundle is a bundle (it withdraws every shared value). */
	w.n = 0;
	w.e = NULL;
	w.version = 1;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)), 0);
	assert_string_equal(out, "picket-bundle 1\nversion 1\ncreated 0\n"
	    "entries 0\nend\n");
	assert_int_equal(pk_bundle_parse(out, len, 0, &b, err, sizeof(err)),
	    0);
	assert_int_equal(b.n, 0);
	pk_bundle_free(&b);
	free(out);
}

static void
test_sort_dedup(void **state)
{
	struct pk_bundle_entry e[8] = {
		{ PK_BK_URL, 0, 1, "http://z.example/", "first" },
		{ PK_BK_DOMAIN, 0, 2, "b.example", "first" },
		{ PK_BK_DOMAIN, 0, 3, "a.example", "first" },
		{ PK_BK_URL, 0, 4, "http://z.example/", "second" },
		{ PK_BK_DOMAIN, 0, 5, "b.example", "second" },
		{ PK_BK_IPV4, 0, 6, "10.0.0.0/16", "first" },
		{ PK_BK_DOMAIN, 0, 7, "b.example", "third" },
		{ PK_BK_DOMAIN, 0, 8, "a.example", "second" },
	};
	static struct pk_bundle_entry many[3000];
	static char vals[3000][32];
	size_t n = 8, i;

	(void)state;
	pk_bundle_sort(e, &n);
	assert_int_equal(n, 4);
	assert_string_equal(e[0].value, "a.example");
	assert_int_equal(e[0].ref, 3);		/* the first one kept */
	assert_string_equal(e[1].value, "b.example");
	assert_int_equal(e[1].ref, 2);
	assert_int_equal(e[2].kind, PK_BK_IPV4);
	assert_int_equal(e[3].kind, PK_BK_URL);
	assert_int_equal(e[3].ref, 1);
	/* Empty and one-element lists stay as they are. */
	n = 0;
	pk_bundle_sort(e, &n);
	assert_int_equal(n, 0);
	n = 1;
	pk_bundle_sort(e, &n);
	assert_int_equal(n, 1);
	/* A longer list in reverse with every value three times: sorted,
	 * one of each, and each the first given (its ref the lowest). */
	for (i = 0; i < 3000; i++) {
		snprintf(vals[i], sizeof(vals[i]), "h%04zu.example",
		    999 - i % 1000);
		many[i].kind = PK_BK_DOMAIN;
		many[i].ref = i + 1;
		many[i].value = vals[i];
		many[i].origin = "o";
	}
	n = 3000;
	pk_bundle_sort(many, &n);
	assert_int_equal(n, 1000);
	for (i = 0; i < n; i++) {
		assert_int_equal(many[i].ref, 1000 - i);
		if (i > 0)
			assert_true(strcmp(many[i - 1].value,
			    many[i].value) < 0);
	}
}

/* ------------------------------------------------------------ refusals */

static void
test_refuse_structure(void **state)
{
	static const char e1[] = "domain a.example ref=1 origin=o tlp=green\n";
	char text[1024];
	struct pk_bundle b;
	char err[PK_BUNDLE_ERRLEN];

	(void)state;
	refused("", "line 1: not a picket bundle");
	refused("picket-bundle 1", "line 1: no LF at the end");
	refused("hello\n", "line 1: not a picket bundle");
	refused("picket-bundle 2\nversion 1\ncreated 0\nentries 0\nend\n",
	    "line 1: format '2' is not 1");
	refused("picket-bundle 01\nversion 1\ncreated 0\nentries 0\nend\n",
	    "line 1: format");
	refused("picket-bundle 1\nversion 0\ncreated 0\nentries 0\nend\n",
	    "line 2: version is not a number from 1");
	refused("picket-bundle 1\nversion 07\ncreated 0\nentries 0\nend\n",
	    "line 2: version");
	refused("picket-bundle 1\nversion 18446744073709551616\ncreated 0\n"
	    "entries 0\nend\n", "line 2: version");
	refused("picket-bundle 1\nversion 1\ncreated -1\nentries 0\nend\n",
	    "line 3: created");
	refused("picket-bundle 1\nversion 1\nentries 0\nend\n",
	    "line 3: want 'created N'");
	refused("picket-bundle 1\nversion  1\ncreated 0\nentries 0\nend\n",
	    "line 2: version");
	refused("picket-bundle 1\nversion 1\ncreated 0\n",
	    "line 4: missing the 'entries' line");
	refused("picket-bundle 1\nversion 1\ncreated 0\nentries x\nend\n",
	    "line 4: entries");
	/* The entries count must match. */
	refused(HDR(2) "domain a.example ref=1 origin=o tlp=green\nend\n",
	    "line 6: 'end' after 1 entries, 'entries' says 2");
	refused(HDR(0) "domain a.example ref=1 origin=o tlp=green\nend\n",
	    "line 5: more entries than 'entries 0' says");
	refused(HDR(20001) "end\n", "line 4: 20001 entries, over the limit "
	    "of 20000");
	/* The end: missing, not last, without its LF, CRLF. */
	snprintf(text, sizeof(text), HDR(1) "%s", e1);
	refused(text, "line 6: missing the 'end' line");
	snprintf(text, sizeof(text), HDR(1) "%send", e1);
	refused(text, "line 6: no LF at the end");
	snprintf(text, sizeof(text), HDR(1) "%send\n\n", e1);
	refused(text, "line 7: bytes after 'end'");
	snprintf(text, sizeof(text), HDR(1) "%send\nx", e1);
	refused(text, "line 7: bytes after 'end'");
	snprintf(text, sizeof(text), HDR(1) "%send\r\n", e1);
	refused(text, "line 6: CR in a line");
	refused("picket-bundle 1\r\nversion 1\r\n", "line 1: CR in a line");
	snprintf(text, sizeof(text), HDR(1) "%send\n", e1);
	assert_int_equal(parse(text, &b, err, sizeof(err)), 0);
	pk_bundle_free(&b);
	/* A NUL after the end, inside a line; a byte over 0x7e. */
	assert_int_equal(pk_bundle_parse(text, strlen(text) + 1, 10, &b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "line 7: bytes after 'end'"));
	assert_int_equal(text[68], 'a');	/* line 5's "a.example" */
	text[68] = '\0';
	assert_int_equal(pk_bundle_parse(text, strlen(text + 69) + 69, 10, &b,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 5: byte 0x00 is not printable"));
	text[68] = (char)0xc3;
	refused(text, "line 5: byte 0xc3 is not printable");
	/* Over the size limit, before anything else is looked at. */
	assert_int_equal(pk_bundle_parse(good, PK_BUNDLE_RAW_MAX + 1, 10, &b,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "over the limit"));
}

static void
test_refuse_order(void **state)
{
	(void)state;
	refused(HDR(2) "domain b.example ref=1 origin=o tlp=green\n"
	    "domain a.example ref=2 origin=o tlp=green\nend\n",
	    "line 6: not sorted");
	refused(HDR(2) "ipv4 10.0.0.0/16 ref=1 origin=o tlp=green\n"
	    "domain a.example ref=2 origin=o tlp=green\nend\n",
	    "line 6: not sorted");
	refused(HDR(3) "domain a.example ref=1 origin=o tlp=green\n"
	    "domain b.example ref=2 origin=o tlp=green\n"
	    "domain b.example ref=3 origin=p tlp=amber\nend\n",
	    "line 7: duplicate of the line before");
	/* Sorted by bytes: "a-" (0x2d) before "a." (0x2e) before "a0". */
	refused(HDR(2) "domain a.example ref=1 origin=o tlp=green\n"
	    "domain a-b.example ref=2 origin=o tlp=green\nend\n",
	    "line 6: not sorted");
}

static void
test_refuse_fields(void **state)
{
	(void)state;
	refused(HDR(1) "domain a.example ref=1 origin=o\nend\n",
	    "line 5: want 'KIND VALUE ref=N origin=NAME tlp=WORD'");
	refused(HDR(1) "domain a.example ref=1 origin=o tlp=green x\nend\n",
	    "line 5: want 'KIND VALUE");
	refused(HDR(1) "domain  a.example ref=1 origin=o tlp=green\nend\n",
	    "line 5: empty field");
	refused(HDR(1) " domain a.example ref=1 origin=o tlp=green\nend\n",
	    "line 5: empty field");
	refused(HDR(1) "domain a.example ref=1 origin=o tlp=green \nend\n",
	    "line 5: want 'KIND VALUE");
	refused(HDR(1) "\nend\n", "line 5: empty field");
	refused(HDR(1) "domain a.example\tref=1 origin=o tlp=green\nend\n",
	    "line 5: byte 0x09 is not printable");
	refused(HDR(1) "host a.example ref=1 origin=o tlp=green\nend\n",
	    "line 5: unknown kind 'host'");
	refused(HDR(1) "Domain a.example ref=1 origin=o tlp=green\nend\n",
	    "line 5: unknown kind");
	refused(HDR(1) "domain a.example ref=0 origin=o tlp=green\nend\n",
	    "line 5: want ref=N");
	refused(HDR(1) "domain a.example ref=01 origin=o tlp=green\nend\n",
	    "line 5: want ref=N");
	refused(HDR(1) "domain a.example ref= origin=o tlp=green\nend\n",
	    "line 5: want ref=N");
	refused(HDR(1) "domain a.example id=1 origin=o tlp=green\nend\n",
	    "line 5: want ref=N");
	refused(HDR(1) "domain a.example origin=o ref=1 tlp=green\nend\n",
	    "line 5: want ref=N");
	refused(HDR(1) "domain a.example ref=1 origin= tlp=green\nend\n",
	    "line 5: origin is not 1 to 64 bytes");
	refused(HDR(1) "domain a.example ref=1 origin=a/b tlp=green\nend\n",
	    "line 5: origin is not");
	refused(HDR(1) "domain a.example ref=1 origin=a:b tlp=green\nend\n",
	    "line 5: origin is not");
	refused(HDR(1) "domain a.example ref=1 origin=0123456789012345678901"
	    "2345678901234567890123456789012345678901234 tlp=green\nend\n",
	    "line 5: origin is not");
	refused(HDR(1) "domain a.example ref=1 tlp=green origin=o\nend\n",
	    "line 5: want origin=NAME");
	refused(HDR(1) "domain a.example ref=1 origin=o tlp=red\nend\n",
	    "line 5: want tlp=clear, green, amber or amber+strict");
	refused(HDR(1) "domain a.example ref=1 origin=o tlp=white\nend\n",
	    "line 5: want tlp=");
	refused(HDR(1) "domain a.example ref=1 origin=o tlp=GREEN\nend\n",
	    "line 5: want tlp=");
	refused(HDR(1) "domain a.example ref=1 origin=o TLP=green\nend\n",
	    "line 5: want tlp=");
}

static void
test_values(void **state)
{
	char v[1100];

	(void)state;
	/* ipv4 */
	good_value(PK_BK_IPV4, "198.51.100.7");
	good_value(PK_BK_IPV4, "198.51.0.0/16");
	good_value(PK_BK_IPV4, "198.51.100.128/25");
	bad_value("ipv4", "10.0.0.0/8", "ipv4 network /8 is wider than /16");
	bad_value("ipv4", "10.0.0.0/15", "ipv4 network /15 is wider than /16");
	bad_value("ipv4", "0.0.0.0/0", "ipv4 network /0 is wider than /16");
	bad_value("ipv4", "10.1.2.0/16", "ipv4 network /16 has host bits set");
	bad_value("ipv4", "198.51.100.7/32", "written with /32");
	bad_value("ipv4", "198.51.100.07", "not an ipv4 address");
	bad_value("ipv4", "198.51.100", "not an ipv4 address");
	bad_value("ipv4", "198.51.100.256", "not an ipv4 address");
	bad_value("ipv4", "198.51.100.0/33", "not an ipv4 address");
	bad_value("ipv4", "198.51.100.0/024", "not an ipv4 address");
	bad_value("ipv4", "198.51.100.0/", "not an ipv4 address");
	bad_value("ipv4", "2001:db8::1", "not an ipv4 address (an IPv6 one)");
	bad_value("ipv4", "evil.example", "not an ipv4 address");
	/* ipv6 */
	good_value(PK_BK_IPV6, "2001:db8::1");
	good_value(PK_BK_IPV6, "2001:db8::/32");
	good_value(PK_BK_IPV6, "2001:db8:1:2::/64");
	good_value(PK_BK_IPV6, "::ffff:198.51.100.7");
	bad_value("ipv6", "2001::/16", "ipv6 network /16 is wider than /32");
	bad_value("ipv6", "::/0", "ipv6 network /0 is wider than /32");
	bad_value("ipv6", "2001:db8::1/64", "ipv6 network /64 has host bits");
	bad_value("ipv6", "2001:db8::1/128", "written with /128");
	bad_value("ipv6", "2001:DB8::1", "not in canonical form (write "
	    "2001:db8::1)");
	bad_value("ipv6", "2001:0db8::1", "not in canonical form");
	bad_value("ipv6", "2001:db8:0:0:0:0:0:1", "not in canonical form");
	bad_value("ipv6", "2001:db8:::1", "not an ipv6 address");
	bad_value("ipv6", "2001:db8::1%eth0", "not an ipv6 address");
	bad_value("ipv6", "198.51.100.7", "not an ipv6 address (an IPv4 one)");
	/* domain */
	good_value(PK_BK_DOMAIN, "a.example");
	good_value(PK_BK_DOMAIN, "_dmarc.x-1.example");
	good_value(PK_BK_DOMAIN, "xn--bcher-kva.example");
	good_value(PK_BK_DOMAIN, "1.2.3.example4");
	bad_value("domain", "localhost", "domain of one label");
	bad_value("domain", "com", "domain of one label");
	bad_value("domain", "1.2.3.4", "last label is all digits");
	bad_value("domain", "a.example.", "empty label");
	bad_value("domain", ".a.example", "empty label");
	bad_value("domain", "a..example", "empty label");
	bad_value("domain", "A.example", "domain byte 0x41");
	bad_value("domain", "*.a.example", "domain byte 0x2a");
	bad_value("domain", "=a.example", "domain byte 0x3d");
	memset(v, 'a', 64);
	memcpy(v + 64, ".example", 9);
	bad_value("domain", v, "domain label longer than 63");
	v[63] = '.';
	memcpy(v + 64, "example", 8);
	good_value(PK_BK_DOMAIN, v);
	memset(v, 'a', 254);
	v[254] = '\0';
	for (size_t i = 63; i < 254; i += 64)
		v[i] = '.';
	bad_value("domain", v, "domain longer than 253");
	v[253] = '\0';
	v[252] = 'b';
	good_value(PK_BK_DOMAIN, v);
	/* url */
	good_value(PK_BK_URL, "http://a.example");
	good_value(PK_BK_URL, "https://198.51.100.7:8443/Path?Q=%20#f");
	good_value(PK_BK_URL, "http://user:PW@h.example/");
	bad_value("url", "ftp://a.example/", "does not start with http");
	bad_value("url", "HTTP://a.example/", "does not start with http");
	bad_value("url", "http:/a.example/", "does not start with http");
	bad_value("url", "http://", "url without a host");
	bad_value("url", "https:///x", "url without a host");
	bad_value("url", "http://u@/x", "url without a host");
	bad_value("url", "http://:80/x", "url without a host");
	bad_value("url", "http://A.example/", "url host not lower case");
	refused(HDR(1) "url http://a.example/\x7f ref=1 origin=o tlp=green\n"
	    "end\n", "line 5: byte 0x7f is not printable");
	assert_int_equal(pk_bundle_check_value(PK_BK_URL, "http://a.example/"
	    "\x7f", v, sizeof(v)), -1);
	assert_non_null(strstr(v, "url byte 0x7f"));
	assert_int_equal(pk_bundle_check_value(PK_BK_URL, "http://a b/", v,
	    sizeof(v)), -1);
	assert_non_null(strstr(v, "url byte 0x20"));
	memcpy(v, "http://a.example/", 17);
	memset(v + 17, 'x', 1024 - 17);
	v[1024] = '\0';
	good_value(PK_BK_URL, v);
	v[1024] = 'x';
	v[1025] = '\0';
	bad_value("url", v, "value longer than 1024 bytes");
	/* sha256 */
	good_value(PK_BK_SHA256, "9f86d081884c7d659a2feaa0c55ad015"
	    "a3bf4f1b2b0b822cd15d6c15b0f00a08");
	bad_value("sha256", "9F86d081884c7d659a2feaa0c55ad015"
	    "a3bf4f1b2b0b822cd15d6c15b0f00a08", "not a lower-case hex digit");
	bad_value("sha256", "9f86d081884c7d659a2feaa0c55ad015"
	    "a3bf4f1b2b0b822cd15d6c15b0f00a0",
	    "sha256 is 63 hex digits, not 64");
	bad_value("sha256", "9f86d081884c7d659a2feaa0c55ad015"
	    "a3bf4f1b2b0b822cd15d6c15b0f00a080", "sha256 is 65 hex digits");
	refused(HDR(1) "sha256 a b ref=1 origin=o tlp=green\nend\n",
	    "line 5: want 'KIND VALUE");	/* a space in the value */
	/* fingerprint */
	good_value(PK_BK_FINGERPRINT, "0123456789abcdef0123456789abcdef");
	good_value(PK_BK_FINGERPRINT, "9f86d081884c7d659a2feaa0c55ad015"
	    "a3bf4f1b2b0b822cd15d6c15b0f00a08");
	bad_value("fingerprint", "0123456789abcdef0123456789abcde",
	    "fingerprint is 31 hex digits, not 32 to 64");
	bad_value("fingerprint", "0123456789abcdef0123456789abcdeg",
	    "not a lower-case hex digit");
	/* rule */
	good_value(PK_BK_RULE, "sid:2001337");
	good_value(PK_BK_RULE, "picket.scan.fanout-port_1");
	good_value(PK_BK_RULE, "A");
	bad_value("rule", "sid/1", "rule id is not 1 to 64 bytes");
	bad_value("rule", "0123456789012345678901234567890123456789012345678"
	    "901234567890123456", "rule id is not");
	/* empty, NULL, unknown kind */
	assert_int_equal(pk_bundle_check_value(PK_BK_RULE, "", v, sizeof(v)),
	    -1);
	assert_non_null(strstr(v, "empty value"));
	assert_int_equal(pk_bundle_check_value(PK_BK_RULE, NULL, v,
	    sizeof(v)), -1);
	assert_int_equal(pk_bundle_check_value(0, "a.example", v, sizeof(v)),
	    -1);
	assert_int_equal(pk_bundle_check_value(PK_BK_LAST + 1, "a.example", v,
	    sizeof(v)), -1);
	assert_non_null(strstr(v, "unknown kind"));
}

static void
test_names(void **state)
{
	int k;

	(void)state;
	for (k = PK_BK_DOMAIN; k <= PK_BK_LAST; k++)
		assert_int_equal(pk_bundle_kind_parse(pk_bundle_kind_name(k)),
		    k);
	assert_string_equal(pk_bundle_kind_name(PK_BK_FINGERPRINT),
	    "fingerprint");
	assert_null(pk_bundle_kind_name(0));
	assert_null(pk_bundle_kind_name(PK_BK_LAST + 1));
	assert_int_equal(pk_bundle_kind_parse("ip"), 0);
	assert_int_equal(pk_bundle_kind_parse(""), 0);
	assert_int_equal(pk_bundle_kind_parse(NULL), 0);
	for (k = PK_BTLP_CLEAR; k <= PK_BTLP_AMBER_STRICT; k++)
		assert_int_equal(pk_bundle_tlp_parse(pk_bundle_tlp_name(k)), k);
	assert_string_equal(pk_bundle_tlp_name(PK_BTLP_AMBER_STRICT),
	    "amber+strict");
	assert_null(pk_bundle_tlp_name(-1));
	assert_null(pk_bundle_tlp_name(4));
	assert_int_equal(pk_bundle_tlp_parse("red"), -1);
	assert_int_equal(pk_bundle_tlp_parse("Green"), -1);
}

/* The writer refuses, naming the entry, what the parser would refuse. */
static void
test_writer_refuses(void **state)
{
	struct pk_bundle_entry e[2] = {
		{ PK_BK_DOMAIN, PK_BTLP_GREEN, 1, "a.example", "o" },
		{ PK_BK_IPV4, PK_BTLP_GREEN, 2, "10.0.0.0/8", "o" },
	};
	struct pk_bundle w;
	char err[PK_BUNDLE_ERRLEN], *out = (char *)1;
	size_t len = 1;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.version = 3;
	w.e = e;
	w.n = 2;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)),
	    -1);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_string_equal(err, "entry 1 (ipv4 10.0.0.0/8): ipv4 network /8 "
	    "is wider than /16");
	e[1].value = "10.0.0.0/16";
	e[1].tlp = 9;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "entry 1 (ipv4 10.0.0.0/16): unknown tlp"));
	e[1].tlp = PK_BTLP_CLEAR;
	e[1].ref = 0;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "ref 0"));
	e[1].ref = 2;
	e[1].origin = "";
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "origin is not"));
	e[1].origin = NULL;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)),
	    -1);
	e[1].origin = "o";
	e[1].kind = 0;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "entry 1: unknown kind 0"));
	e[1].kind = PK_BK_DOMAIN;
	e[1].value = "a.example";
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "entry 1 (domain a.example): duplicate"));
	e[0].value = "b.example";
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not sorted"));
	e[1].value = "c.example";
	w.version = 0;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "version 0"));
	w.version = 1;
	w.n = PK_BUNDLE_MAX_ENTRIES + 1;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "over the limit of 20000"));
	w.n = 2;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)), 0);
	free(out);
}

/* ------------------------------------------------------------ limits */

static void
test_limits(void **state)
{
	static const char tail[] = " ref=1 origin=o tlp=green";
	static char line[PK_BUNDLE_LINE_MAX + 200];
	static char text[PK_BUNDLE_LINE_MAX + 400];
	struct pk_bundle b;
	char err[PK_BUNDLE_ERRLEN];
	size_t n;

	(void)state;
	/* A line of exactly PK_BUNDLE_LINE_MAX bytes is read (and refused
	 * for its value); one byte more is refused as too long. */
	n = (size_t)snprintf(line, sizeof(line), "url http://a.example/");
	memset(line + n, 'x', PK_BUNDLE_LINE_MAX - n - strlen(tail));
	memcpy(line + PK_BUNDLE_LINE_MAX - strlen(tail), tail,
	    strlen(tail) + 1);
	assert_int_equal(strlen(line), PK_BUNDLE_LINE_MAX);
	snprintf(text, sizeof(text), HDR(1) "%s\nend\n", line);
	refused(text, "line 5: value longer than 1024");
	memmove(line + 1, line, PK_BUNDLE_LINE_MAX + 1);
	snprintf(text, sizeof(text), HDR(1) "%s\nend\n", line);
	refused(text, "line 5: longer than 2048 bytes");
	/* The caller's cap is honoured below the format's. */
	assert_int_equal(pk_bundle_parse(good, strlen(good), 8, &b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "line 4: 9 entries, over the limit of 8"));
	assert_int_equal(pk_bundle_parse(good, strlen(good), 9, &b, err,
	    sizeof(err)), 0);
	pk_bundle_free(&b);
	/* ... and capped by it. */
	assert_int_equal(pk_bundle_parse(good, strlen(good), (size_t)-1, &b,
	    err, sizeof(err)), 0);
	pk_bundle_free(&b);
}

/* 20,000 entries, the most a bundle holds: written, parsed, the same. */
static void
test_max_bundle(void **state)
{
	struct pk_bundle_entry *e;
	struct pk_bundle w, b;
	char (*vals)[32], err[PK_BUNDLE_ERRLEN], *out, *big;
	size_t n = PK_BUNDLE_MAX_ENTRIES, i, len;

	(void)state;
	e = calloc(n, sizeof(*e));
	vals = calloc(n, sizeof(*vals));
	assert_non_null(e);
	assert_non_null(vals);
	for (i = 0; i < n; i++) {
		snprintf(vals[i], sizeof(vals[i]), "10.%zu.%zu.%zu",
		    i / 65536, i / 256 % 256, i % 256);
		e[i].kind = PK_BK_IPV4;
		e[i].tlp = PK_BTLP_GREEN;
		e[i].ref = i + 1;
		e[i].value = vals[i];
		e[i].origin = "state-a";
	}
	pk_bundle_sort(e, &n);
	assert_int_equal(n, PK_BUNDLE_MAX_ENTRIES);
	memset(&w, 0, sizeof(w));
	w.version = 42;
	w.created_us = 1;
	w.e = e;
	w.n = n;
	assert_int_equal(pk_bundle_write(&w, &out, &len, err, sizeof(err)), 0);
	assert_true(len < PK_BUNDLE_RAW_MAX);
	assert_int_equal(pk_bundle_parse(out, len, PK_BUNDLE_MAX_ENTRIES, &b,
	    err, sizeof(err)), 0);
	assert_int_equal(b.n, PK_BUNDLE_MAX_ENTRIES);
	assert_int_equal(b.version, 42);
	for (i = 0; i < n; i++) {
		assert_string_equal(b.e[i].value, e[i].value);
		assert_int_equal(b.e[i].ref, e[i].ref);
	}
	pk_bundle_free(&b);
	/* One more is over the format's limit, whatever the caller asks. */
	big = malloc(len + 64);
	assert_non_null(big);
	memcpy(big, out, len);
	assert_non_null(strstr(big, "entries 20000\n"));
	memcpy(strstr(big, "entries 20000\n"), "entries 20001\n", 14);
	assert_int_equal(pk_bundle_parse(big, len, SIZE_MAX, &b, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "line 4: 20001 entries, over the limit "
	    "of 20000"));
	free(big);
	free(out);
	free(vals);
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_write_then_parse),
		cmocka_unit_test(test_sort_dedup),
		cmocka_unit_test(test_refuse_structure),
		cmocka_unit_test(test_refuse_order),
		cmocka_unit_test(test_refuse_fields),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_writer_refuses),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_max_bundle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
