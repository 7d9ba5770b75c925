/*
 * test_ioc.c - unit tests for IOC sets (agent/ioc.c): every line form of
 * the list format and every kind of bad line, longest-prefix matching
 * against a brute-force model on random prefixes, parent-domain matching,
 * URL normalisation and matching, SHA-256, duplicates, max_entries,
 * loading files, directories and configured paths (rules/ioc, relative to
 * the repository, where the tests run), and a million-entry load whose
 * time and memory are printed (200k entries under AddressSanitizer).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/config.h"
#include "agent/indicator.h"
#include "agent/ioc.h"
#include "transport/bundle.h"
#include "common/netaddr.h"
#include "common/util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Messages written while loading, for the assertions. */
static char msgs[65536];

static int
load(struct pk_iocset *set, const char *name, const char *text)
{
	FILE *fp = tmpfile();
	size_t n;
	int bad;

	assert_non_null(fp);
	bad = pk_ioc_load_buf(set, name, text, strlen(text), fp);
	rewind(fp);
	n = fread(msgs, 1, sizeof(msgs) - 1, fp);
	msgs[n] = '\0';
	fclose(fp);
	return bad;
}

static struct pk_addr
A(const char *s)
{
	struct pk_addr a;

	assert_int_equal(pk_addr_parse(s, &a), 0);
	return a;
}

static void
test_format(void **unused)
{
	struct pk_iocset *set = pk_iocset_new(1000);
	struct pk_ioc_match m;
	struct pk_addr a;
	uint8_t h[32];
	const struct pk_ioc_stats *st;
	const char *text =
	    "# a whole-line comment\n"
	    "\n"
	    "   \t  \n"
	    "192.0.2.7\n"
	    "198.51.100.0/24   test net two   # comment after whitespace\n"
	    "2001:db8::/32\n"
	    "2001:DB8:1::5\n"
	    "Evil.Example.   \r\n"
	    "  *.wild.example\tref-1\n"
	    ".dot.example\n"
	    "=exact.example\n"
	    "under_score.example\n"
	    "HTTP://Bad.Example:80/Path?q=1#frag\n"
	    "https://bad.example:443\n"
	    "http://x.example/a#b c\n"
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
	    "sha256:E3B0C44298FC1C149AFBF4C8996FB924"
	    "27AE41E4649B934CA495991B7852B856\n"
	    "# trailing comment, no newline at the end";

	(void)unused;
	assert_non_null(set);
	assert_int_equal(load(set, "lists/test.txt", text), 0);
	assert_string_equal(msgs, "");
	st = pk_iocset_stats(set);
	assert_int_equal(st->entries[PK_IOC_ADDR], 4);
	assert_int_equal(st->entries[PK_IOC_DOMAIN], 5);
	assert_int_equal(st->entries[PK_IOC_URL], 3);
	assert_int_equal(st->entries[PK_IOC_SHA256], 2);
	assert_int_equal(pk_iocset_size(set), 14);
	assert_int_equal(st->files, 1);
	assert_int_equal(st->bad, 0);

	a = A("198.51.100.77");
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_int_equal(m.type, PK_IOC_ADDR);
	assert_string_equal(m.value, "198.51.100.0/24");
	assert_string_equal(m.list, "test");
	assert_int_equal(m.line, 5);
	assert_int_equal(m.plen, 24);
	assert_string_equal(m.desc, "test net two");
	a = A("192.0.2.7");
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_string_equal(m.value, "192.0.2.7");
	assert_string_equal(m.desc, "");
	a = A("192.0.2.8");
	assert_int_equal(pk_ioc_match_addr(set, &a, NULL), 0);
	a = A("2001:db8:1::5");
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_string_equal(m.value, "2001:db8:1::5");
	a = A("2001:db8:ffff::1");
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_string_equal(m.value, "2001:db8::/32");
	a = A("2001:db9::1");
	assert_int_equal(pk_ioc_match_addr(set, &a, NULL), 0);

	assert_int_equal(pk_ioc_match_domain(set, "evil.example", &m), 1);
	assert_string_equal(m.value, "evil.example");
	assert_int_equal(m.line, 8);
	assert_int_equal(pk_ioc_match_domain(set, "x.wild.example", &m), 1);
	assert_string_equal(m.desc, "ref-1");
	assert_int_equal(pk_ioc_match_domain(set, "wild.example", NULL), 1);
	assert_int_equal(pk_ioc_match_domain(set, "a.dot.example", NULL), 1);
	assert_int_equal(pk_ioc_match_domain(set, "exact.example", &m), 1);
	assert_int_equal(m.exact, 1);
	assert_int_equal(pk_ioc_match_domain(set, "www.exact.example", NULL),
	    0);
	assert_int_equal(pk_ioc_match_domain(set, "under_score.example", NULL),
	    1);

	assert_int_equal(pk_ioc_match_url(set, "http://bad.example/Path?q=1",
	    &m), 1);
	assert_string_equal(m.value, "http://bad.example/Path?q=1");
	assert_int_equal(m.type, PK_IOC_URL);
	assert_int_equal(pk_ioc_match_url(set, "http://bad.example/", &m), 1);
	assert_string_equal(m.value, "https://bad.example/");
	assert_int_equal(pk_ioc_match_url(set, "http://x.example/a", &m), 1);
	assert_string_equal(m.desc, "c");

	memset(h, 0, sizeof(h));
	assert_int_equal(pk_ioc_match_sha256(set, h, NULL), 0);
	pk_iocset_free(set);
}

static void
test_hashes(void **unused)
{
	struct pk_iocset *set = pk_iocset_new(1000);
	struct pk_ioc_match m;
	uint8_t h[32];
	int i;

	(void)unused;
	assert_int_equal(load(set, "h", "sha256:"
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	    " a file\n"
	    "ffeeddccbbaa99887766554433221100"
	    "ffeeddccbbaa99887766554433221100\n"),
	    0);
	for (i = 0; i < 16; i++)
		h[i] = h[16 + i] = (uint8_t)(i * 0x11);
	assert_int_equal(pk_ioc_match_sha256(set, h, &m), 1);
	assert_int_equal(m.type, PK_IOC_SHA256);
	assert_string_equal(m.value, "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff");
	assert_string_equal(m.desc, "a file");
	assert_int_equal(m.line, 1);
	h[31] ^= 1;
	assert_int_equal(pk_ioc_match_sha256(set, h, NULL), 0);
	for (i = 0; i < 32; i++)
		h[i] = (uint8_t)(0xff - (i % 16) * 0x11);
	assert_int_equal(pk_ioc_match_sha256(set, h, &m), 1);
	assert_int_equal(m.line, 2);
	pk_iocset_free(set);
}

static void
test_bad_lines(void **unused)
{
	static const struct {
		const char *line, *msg;
	} cases[] = {
		{ "1.2.3.4/33", "bad IP address or CIDR" },
		{ "1.2.3", "bad IP address or CIDR" },
		{ "999.1.1.1", "bad IP address or CIDR" },
		{ "2001:db8::g", "bad IP address or CIDR" },
		{ "evil.example:8080", "bad IP address or CIDR" },
		{ "localhost", "a single label would match" },
		{ "*.com", "a single label would match" },
		{ "a..b.example", "empty label" },
		{ "evil.123", "not an IP address and not a domain name" },
		{ "exa$mple.com", "character not allowed" },
		{ "\xc3\xa9vil.example", "non-ASCII domain name" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
		  "domain label longer than 63" },
		{ "ftp://evil.example/x", "only http:// and https://" },
		{ "http:///path", "URL without a host" },
		{ "http://h.example:8o/", "bad port in URL" },
		{ "http://u:p@h.example/", "user information" },
		{ "http://[::1]:x:/y", "bad host in URL" },
		{ "http://a]b.example/", "bad host in URL" },
		{ "http://h.example/\xc3\xbc",
		  "URL with a byte outside printable" },
		{ "sha256:abcd", "sha256: needs 64 hex digits" },
		{ ".", "bad IP address or CIDR" },
		{ "=", "empty domain name" },
	};
	char text[8192], want[256], longline[5000];
	struct pk_iocset *set = pk_iocset_new(1000);
	size_t i, o = 0;

	(void)unused;
	for (i = 0; i < PK_NELEM(cases); i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\n",
		    cases[i].line);
	o += (size_t)snprintf(text + o, sizeof(text) - o, "good.example\n");
	assert_int_equal(load(set, "bad.txt", text), (int)PK_NELEM(cases));
	for (i = 0; i < PK_NELEM(cases); i++) {
		snprintf(want, sizeof(want), "bad.txt:%u: %s", (unsigned)i + 1,
		    cases[i].msg);
		if (strstr(msgs, want) == NULL)
			fail_msg("no \"%s\" in:\n%s", want, msgs);
	}
	/* loading went on past them */
	assert_int_equal(pk_ioc_match_domain(set, "good.example", NULL), 1);
	assert_int_equal(pk_iocset_stats(set)->bad, PK_NELEM(cases));
	assert_int_equal(pk_iocset_size(set), 1);

	/* a line too long, a NUL byte, a name too long */
	memset(longline, 'a', sizeof(longline));
	memcpy(longline + sizeof(longline) - 10, ".example\n", 10);
	assert_int_equal(pk_ioc_load_buf(set, "long", longline,
	    sizeof(longline) - 1, NULL), 1);
	assert_int_equal(pk_ioc_load_buf(set, "nul",
	    "a.example\nb\0c.example\n", 22, NULL), 1);
	assert_int_equal(pk_ioc_match_domain(set, "a.example", NULL), 1);
	o = 0;
	for (i = 0; i < 50; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "abcdef.");
	snprintf(text + o, sizeof(text) - o, "example\n");
	assert_int_equal(load(set, "n", text), 1);
	assert_non_null(strstr(msgs, "n:1: domain name longer than 253"));
	pk_iocset_free(set);
}

/* ---- longest prefix: random prefixes vs. brute force ------------------- */

static uint64_t rng;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

#define NPFX 600

static void
lpm_family(int fam)
{
	static struct pk_cidr pf[NPFX];
	static char text[NPFX * 64];
	struct pk_iocset *set = pk_iocset_new(100000);
	struct pk_ioc_match m;
	struct pk_addr a;
	char buf[PK_ADDRSTRLEN];
	size_t i, o = 0, alen = fam == 4 ? 4 : 16;
	int maxp = fam == 4 ? 32 : 128, q, k, best, bestline, plen;

	for (i = 0; i < NPFX; i++) {
		memset(&a, 0, sizeof(a));
		a.family = (uint8_t)fam;
		/* few distinct top bytes so prefixes nest often */
		for (k = 0; k < (int)alen; k++)
			a.a[k] = (uint8_t)(k < 2 ? rnd() % 3 : rnd());
		plen = (int)(rnd() % (unsigned)(maxp + 1));
		if (rnd() % 4 == 0)
			plen = fam == 4 ? 8 + (int)(rnd() % 12) :
			    16 + (int)(rnd() % 40);
		pk_addr_format(&a, buf, sizeof(buf));
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s/%d\n",
		    buf, plen);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%d",
		    plen);
		assert_int_equal(pk_cidr_parse(buf, &pf[i]), 0);
	}
	assert_int_equal(load(set, "lpm", text), 0);
	for (q = 0; q < 20000; q++) {
		memset(&a, 0, sizeof(a));
		a.family = (uint8_t)fam;
		if (q % 2 == 0) {	/* near a listed prefix */
			a = pf[rnd() % NPFX].net;
			a.a[rnd() % alen] ^= (uint8_t)(1u << (rnd() % 8));
		} else
			for (k = 0; k < (int)alen; k++)
				a.a[k] = (uint8_t)(k < 2 ? rnd() % 3 : rnd());
		best = -1;
		bestline = 0;
		for (i = 0; i < NPFX; i++)
			if (pk_cidr_contains(&pf[i], &a) &&
			    pf[i].plen > best) {
				best = pf[i].plen;
				bestline = (int)i + 1;
			}
		if (best < 0) {
			assert_int_equal(pk_ioc_match_addr(set, &a, &m), 0);
			continue;
		}
		assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
		assert_int_equal(m.plen, best);
		/* duplicates keep the first line */
		assert_int_equal(m.line, bestline);
	}
	pk_iocset_free(set);
}

static void
test_lpm_v4(void **unused)
{
	(void)unused;
	rng = 0x1234567887654321ULL;
	lpm_family(4);
}

static void
test_lpm_v6(void **unused)
{
	(void)unused;
	rng = 0x0badc0ffee15bad5ULL;
	lpm_family(6);
}

static void
test_lpm_edges(void **unused)
{
	struct pk_iocset *set = pk_iocset_new(100);
	struct pk_ioc_match m;
	struct pk_addr a;

	(void)unused;
	assert_int_equal(load(set, "e", "0.0.0.0/0 everything\n"
	    "10.0.0.0/8\n10.1.0.0/16\n10.1.2.3\n10.1.2.3/32 dup\n::/0\n"
	    "10.1.2.99/24 host bits cleared\n"), 0);
	assert_int_equal(pk_iocset_stats(set)->duplicates, 1);
	a = A("10.1.2.3");
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_int_equal(m.plen, 32);
	assert_int_equal(m.line, 4);
	a = A("10.1.2.4");
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_string_equal(m.value, "10.1.2.0/24");
	a = A("10.1.3.4");
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_string_equal(m.value, "10.1.0.0/16");
	a = A("10.9.3.4");
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_string_equal(m.value, "10.0.0.0/8");
	a = A("203.0.113.1");
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_string_equal(m.value, "0.0.0.0/0");
	assert_string_equal(m.desc, "everything");
	a = A("2001:db8::1");
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_string_equal(m.value, "::/0");
	memset(&a, 0, sizeof(a));
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 0);
	pk_iocset_free(set);
}

static void
test_parent_domains(void **unused)
{
	struct pk_iocset *set = pk_iocset_new(100);
	struct pk_ioc_match m;

	(void)unused;
	assert_int_equal(load(set, "d", "evil.example\n"
	    "deep.evil.example more specific\n=only.example\n"), 0);
	assert_int_equal(pk_ioc_match_domain(set, "evil.example", &m), 1);
	assert_int_equal(pk_ioc_match_domain(set, "a.b.evil.example", &m), 1);
	assert_string_equal(m.value, "evil.example");
	assert_int_equal(pk_ioc_match_domain(set, "A.B.EVIL.Example.", &m), 1);
	assert_int_equal(pk_ioc_match_domain(set, "x.deep.evil.example", &m),
	    1);
	assert_string_equal(m.value, "deep.evil.example");
	assert_string_equal(m.desc, "more specific");
	assert_int_equal(pk_ioc_match_domain(set, "notevil.example", NULL), 0);
	assert_int_equal(pk_ioc_match_domain(set, "example", NULL), 0);
	assert_int_equal(pk_ioc_match_domain(set, "evil.example.com", NULL),
	    0);
	assert_int_equal(pk_ioc_match_domain(set, "vil.example", NULL), 0);
	assert_int_equal(pk_ioc_match_domain(set, "only.example", NULL), 1);
	assert_int_equal(pk_ioc_match_domain(set, "a.only.example", NULL), 0);
	assert_int_equal(pk_ioc_match_domain(set, "", NULL), 0);
	assert_int_equal(pk_ioc_match_domain(set, ".", NULL), 0);
	assert_int_equal(pk_ioc_match_domain(set, "..evil.example", NULL), 1);
	pk_iocset_free(set);
}

static void
test_url_norm(void **unused)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{ "HTTP://Evil.Example/A/B?X=Y",
		  "http://evil.example/A/B?X=Y" },
		{ "http://evil.example:80/x", "http://evil.example/x" },
		{ "https://evil.example:443/x", "https://evil.example/x" },
		{ "http://evil.example:443/x", "http://evil.example:443/x" },
		{ "https://evil.example:80", "https://evil.example:80/" },
		{ "http://evil.example", "http://evil.example/" },
		{ "http://evil.example:", "http://evil.example/" },
		{ "http://evil.example?q", "http://evil.example/?q" },
		{ "http://evil.example/p#frag", "http://evil.example/p" },
		{ "http://[2001:DB8::1]:8080/p",
		  "http://[2001:db8::1]:8080/p" },
		{ "http://[2001:db8::1]/p", "http://[2001:db8::1]/p" },
	};
	static const char *const bad[] = {
		"evil.example/x", "ftp://a/", "http://", "http://a:123456/",
		"http://a:1x/", "http://u@a/", "http://[::1/", "http://[x]/",
		"http://a:b:80/",
	};
	char out[PK_IOC_VALUE_MAX + 1], big[PK_IOC_VALUE_MAX + 64];
	const char *err;
	size_t i;

	(void)unused;
	for (i = 0; i < PK_NELEM(ok); i++) {
		if (pk_ioc_norm_url(ok[i].in, out, sizeof(out), &err) != 0)
			fail_msg("%s: %s", ok[i].in, err);
		assert_string_equal(out, ok[i].out);
	}
	for (i = 0; i < PK_NELEM(bad); i++)
		assert_int_equal(pk_ioc_norm_url(bad[i], out, sizeof(out),
		    &err), -1);
	memcpy(big, "http://a.example/", 17);
	memset(big + 17, 'x', sizeof(big) - 18);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(pk_ioc_norm_url(big, out, sizeof(out), &err), -1);
	assert_int_equal(pk_ioc_norm_url("http://a/b", out, 8, &err), -1);
	assert_int_equal(pk_ioc_norm_domain("WWW.Example.COM.", out,
	    sizeof(out), &err), 0);
	assert_string_equal(out, "www.example.com");
}

static void
test_url_match(void **unused)
{
	struct pk_iocset *set = pk_iocset_new(100);
	struct pk_ioc_match m;

	(void)unused;
	assert_int_equal(load(set, "u", "http://Evil.Example:80/Path?q=1\n"
	    "http://evil.example/dl\nhttps://tls.example/p\n"), 0);
	assert_int_equal(pk_ioc_match_url(set, "http://evil.example/Path?q=1",
	    &m), 1);
	assert_string_equal(m.value, "http://evil.example/Path?q=1");
	/* the path and query are case-sensitive */
	assert_int_equal(pk_ioc_match_url(set, "http://evil.example/path?q=1",
	    NULL), 0);
	assert_int_equal(pk_ioc_match_url(set, "http://evil.example/Path?q=2",
	    NULL), 0);
	/* listed without query: host + path matches any query */
	assert_int_equal(pk_ioc_match_url(set, "http://EVIL.example/dl?id=7",
	    &m), 1);
	assert_string_equal(m.value, "http://evil.example/dl");
	assert_int_equal(pk_ioc_match_url(set, "http://evil.example/dl2",
	    NULL), 0);
	/* the scheme is not part of the key */
	assert_int_equal(pk_ioc_match_url(set, "http://tls.example/p", &m), 1);
	assert_string_equal(m.value, "https://tls.example/p");
	assert_int_equal(pk_ioc_match_url(set, "not a url", NULL), 0);
	pk_iocset_free(set);
}

static void
test_limits_and_dups(void **unused)
{
	struct pk_iocset *set = pk_iocset_new(3);
	struct pk_ioc_match m;

	(void)unused;
	assert_int_equal(load(set, "l", "a.example first\na.example second\n"
	    "b.example\nc.example\nd.example\ne.example\n"), 0);
	assert_int_equal(pk_iocset_size(set), 3);
	assert_int_equal(pk_iocset_stats(set)->duplicates, 1);
	assert_int_equal(pk_iocset_stats(set)->over_limit, 2);
	assert_non_null(strstr(msgs, "l:5: max_entries (3) reached"));
	/* reported once */
	assert_null(strstr(strstr(msgs, "max_entries") + 1, "max_entries"));
	assert_int_equal(pk_ioc_match_domain(set, "a.example", &m), 1);
	assert_string_equal(m.desc, "first");
	assert_int_equal(pk_ioc_match_domain(set, "d.example", NULL), 0);
	pk_iocset_free(set);
}

static void
test_paths(void **unused)
{
	struct pk_config cfg;
	struct pk_iocset *set;
	struct pk_ioc_match m;
	FILE *fp;
	size_t n;
	int problems = -1;

	(void)unused;
	set = pk_iocset_new(100);
	assert_int_equal(pk_ioc_load_path(set, "rules/ioc", 0, NULL), 0);
	assert_int_equal(pk_iocset_stats(set)->files, 1);
	assert_int_equal(pk_ioc_match_domain(set,
	    "www.iuqerfsodp9ifjaposdfjhgosurijfaewrwergwea.com", &m), 1);
	assert_string_equal(m.list, "wannacry");
	assert_int_equal(pk_ioc_match_domain(set,
	    "ifferfsodp9ifjaposdfjhgosurijfaewrwergwea.com", NULL), 1);
	/* a file by name; a missing one is a problem unless missing_ok */
	assert_int_equal(pk_ioc_load_path(set, "rules/ioc/wannacry.txt", 0,
	    NULL), 0);
	assert_int_equal(pk_iocset_stats(set)->duplicates, 2);
	assert_int_equal(pk_ioc_load_path(set, "no/such/list.txt", 1, NULL),
	    0);
	fp = tmpfile();
	assert_non_null(fp);
	assert_int_equal(pk_ioc_load_path(set, "no/such/list.txt", 0, fp), 1);
	fclose(fp);
	assert_int_equal(pk_iocset_stats(set)->unreadable, 1);
	pk_iocset_free(set);

	pk_config_defaults(&cfg);
	pk_strlcpy(cfg.ioc.paths, " rules/ioc , /usr/share/picket/ioc,"
	    "/etc/picket/ioc", sizeof(cfg.ioc.paths));
	set = pk_ioc_load(&cfg, NULL, &problems);
	assert_non_null(set);
	assert_int_equal(problems, 0);
	assert_int_equal(pk_iocset_size(set), 2);
	pk_iocset_free(set);

	pk_strlcpy(cfg.ioc.paths, "rules/ioc,no/such/dir",
	    sizeof(cfg.ioc.paths));
	fp = tmpfile();
	assert_non_null(fp);
	assert_int_equal(pk_ioc_check(&cfg, fp), 1);
	rewind(fp);
	n = fread(msgs, 1, sizeof(msgs) - 1, fp);
	msgs[n] = '\0';
	fclose(fp);
	assert_non_null(strstr(msgs, "no/such/dir: cannot read"));
	assert_non_null(strstr(msgs, "ioc: 2 entries (0 addresses, 2 domains, "
	    "0 urls, 0 hashes) from 1 files, 0 bad lines, 1 unreadable "
	    "paths\n"));
}

/* ---- a million entries ------------------------------------------ */

static void
test_million(void **unused)
{
#ifdef UNDER_ASAN
	const uint32_t N = 200000;
#else
	const uint32_t N = 1000000;
#endif
	struct pk_iocset *set = pk_iocset_new(N);
	struct pk_ioc_match m;
	struct pk_addr a;
	size_t cap = (size_t)N * 80, o = 0;
	char *text = malloc(cap);
	uint32_t i, x, hits = 0;
	clock_t t0, t1, t2;
	uint64_t hv;

	(void)unused;
	assert_non_null(text);
	/* 40% IPv4 (a tenth of them CIDRs), 10% IPv6, 30% domains, 10%
	 * URLs, 10% hashes; all distinct */
	for (i = 0; i < N; i++) {
		x = i * 2654435761u;
		switch (i % 10) {
		case 0: case 1: case 2: case 3:
			o += (size_t)snprintf(text + o, cap - o,
			    i % 40 == 0 ? "%u.%u.%u.0/24\n" : "%u.%u.%u.%u\n",
			    x >> 24, (x >> 16) & 255, (x >> 8) & 255, x & 255);
			break;
		case 4:
			o += (size_t)snprintf(text + o, cap - o,
			    "2001:db8:%x:%x::1\n", i >> 16, i & 0xffff);
			break;
		case 5: case 6: case 7:
			o += (size_t)snprintf(text + o, cap - o,
			    "h%u.d%u.example list ref %u\n", i, i % 977, i);
			break;
		case 8:
			o += (size_t)snprintf(text + o, cap - o,
			    "http://u%u.example/p/%u?x=1\n", i % 1000, i);
			break;
		default:
			hv = pk_fnv1a64(&i, sizeof(i), PK_FNV_SEED);
			o += (size_t)snprintf(text + o, cap - o,
			    "%016llx%016llx%016llx%016llx\n",
			    (unsigned long long)hv, (unsigned long long)~hv,
			    (unsigned long long)(hv * 3),
			    (unsigned long long)i);
			break;
		}
	}
	t0 = clock();
	assert_int_equal(pk_ioc_load_buf(set, "big", text, o, NULL), 0);
	t1 = clock();
	/* /24 entries can coincide with each other */
	assert_true(pk_iocset_size(set) > (uint64_t)N * 99 / 100);
	assert_int_equal(pk_iocset_stats(set)->entries[PK_IOC_DOMAIN],
	    N / 10 * 3);
	for (i = 0; i < N / 10; i++) {
		x = (i * 10 + 1) * 2654435761u;
		a.family = 4;
		memset(a.a, 0, sizeof(a.a));
		a.a[0] = (uint8_t)(x >> 24);
		a.a[1] = (uint8_t)(x >> 16);
		a.a[2] = (uint8_t)(x >> 8);
		a.a[3] = (uint8_t)x;
		hits += (uint32_t)pk_ioc_match_addr(set, &a, NULL);
	}
	assert_int_equal(hits, N / 10);
	assert_int_equal(pk_ioc_match_domain(set, "www.h5.d5.example", &m), 1);
	assert_string_equal(m.desc, "list ref 5");
	assert_int_equal(pk_ioc_match_url(set, "http://u8.example/p/8?x=1",
	    NULL), 1);
	t2 = clock();
	printf("ioc: %u entries loaded in %.2f s, %.1f MiB; %u address "
	    "lookups in %.3f s%s\n", N,
	    (double)(t1 - t0) / CLOCKS_PER_SEC,
	    (double)pk_iocset_stats(set)->mem / (1024.0 * 1024.0), N / 10,
	    (double)(t2 - t1) / CLOCKS_PER_SEC,
#ifdef UNDER_ASAN
	    " (AddressSanitizer build)"
#else
	    ""
#endif
	    );
	free(text);
	pk_iocset_free(set);
}

/*
 * A bundle's IOC entries are lists "shared:<origin>" matched like any
 * other; each match leads back to its entry (ref, origin, tlp, version).
 * Fingerprints of another length than 32 hex are ignored and counted.
 */
static void
test_shared_lists(void **state)
{
	static const char text[] = "picket-bundle 1\nversion 4\ncreated 1\n"
	    "entries 7\n"
	    "domain evil.example ref=1 origin=state-a tlp=green\n"
	    "fingerprint 00112233445566778899aabbccddeeff ref=2 origin=state-a "
	    "tlp=green\n"
	    "fingerprint 00112233445566778899aabbccddeeff00112233445566778899aab"
	    "bccddeeff ref=3 origin=state-a tlp=green\n"
	    "ipv4 198.51.100.0/24 ref=4 origin=state-b tlp=amber\n"
	    "rule 2001 ref=5 origin=state-b tlp=clear\n"
	    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b785"
	    "2b855 ref=6 origin=state-c tlp=green\n"
	    "url http://dl.example/x.exe ref=7 origin=state-c tlp=green\nend\n";
	const struct pk_iocset *set;
	struct pk_ind_shared tag;
	struct pk_ioc_match m;
	struct pk_bundle b;
	struct pk_shared *sh;
	struct pk_addr a;
	uint8_t fp[16], h[32];
	char err[256];
	int i;

	(void)state;
	assert_int_equal(pk_bundle_parse(text, sizeof(text) - 1, 100, &b, err,
	    sizeof(err)), 0);
	assert_non_null(sh = pk_shared_new(&b));
	assert_int_equal(pk_shared_version(sh), 4);
	assert_int_equal(pk_shared_stats(sh)->loaded, 6);
	assert_int_equal(pk_shared_stats(sh)->ignored, 1);
	assert_int_equal(pk_shared_stats(sh)->kind[PK_BK_FINGERPRINT], 2);
	assert_non_null(set = pk_shared_iocset(sh));

	assert_int_equal(pk_addr_parse("198.51.100.77", &a), 0);
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 1);
	assert_string_equal(m.list, "shared:state-b");
	assert_int_equal(pk_shared_ioc(sh, &m, &tag), 1);
	assert_int_equal(tag.ref, 4);
	assert_int_equal(tag.bundle, 4);
	assert_string_equal(tag.origin, "state-b");
	assert_string_equal(tag.tlp, "amber");
	assert_string_equal(tag.kind, "ipv4");
	assert_string_equal(tag.value, "198.51.100.0/24");
	assert_int_equal(pk_ioc_match_domain(set, "a.evil.example", &m), 1);
	assert_string_equal(m.list, "shared:state-a");
	assert_int_equal(pk_shared_ioc(sh, &m, &tag), 1);
	assert_int_equal(tag.ref, 1);
	assert_int_equal(pk_ioc_match_url(set, "http://dl.example/x.exe", &m),
	    1);
	assert_int_equal(pk_shared_ioc(sh, &m, &tag), 1);
	assert_int_equal(tag.ref, 7);
	for (i = 0; i < 32; i++)
		h[i] = (uint8_t)("\xe3\xb0\xc4\x42\x98\xfc\x1c\x14\x9a\xfb"
		    "\xf4\xc8\x99\x6f\xb9\x24\x27\xae\x41\xe4\x64\x9b\x93"
		    "\x4c\xa4\x95\x99\x1b\x78\x52\xb8\x55")[i];
	assert_int_equal(pk_ioc_match_sha256(set, h, &m), 1);
	assert_int_equal(pk_shared_ioc(sh, &m, &tag), 1);
	assert_string_equal(tag.origin, "state-c");
	assert_int_equal(pk_addr_parse("198.51.101.1", &a), 0);
	assert_int_equal(pk_ioc_match_addr(set, &a, &m), 0);

	for (i = 0; i < 16; i++)
		fp[i] = (uint8_t)(i * 0x11);
	assert_int_equal(pk_shared_fingerprint(sh, fp, &tag), 1);
	assert_int_equal(tag.ref, 2);
	fp[15] ^= 1;
	assert_int_equal(pk_shared_fingerprint(sh, fp, NULL), 0);
	assert_int_equal(pk_shared_rule(sh, "2001", &tag), 1);
	assert_int_equal(tag.ref, 5);
	assert_int_equal(pk_shared_rule(sh, "2002", NULL), 0);
	/* a match on a configured list is not a bundle entry */
	memset(&m, 0, sizeof(m));
	snprintf(m.list, sizeof(m.list), "local");
	m.desc = "0";
	assert_int_equal(pk_shared_ioc(sh, &m, &tag), 0);
	pk_shared_free(sh);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_lpm_v4),
		cmocka_unit_test(test_lpm_v6),
		cmocka_unit_test(test_lpm_edges),
		cmocka_unit_test(test_parent_domains),
		cmocka_unit_test(test_url_norm),
		cmocka_unit_test(test_url_match),
		cmocka_unit_test(test_limits_and_dups),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_million),
		cmocka_unit_test(test_shared_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
