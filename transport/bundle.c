/*
 * bundle.c - the shared-indicator bundle's text format (transport/bundle.h,
 * docs/bundles.md): the strict parser an agent runs on bytes that came
 * over the network, the writer the hub runs, the stable sort that makes a
 * list writable, and the per-kind value rules both share.  The format is
 * canonical (one text per bundle), so the writer and the parser are exact
 * inverses and the hub can never send what an agent would refuse: the
 * writer applies the parser's own checks before it writes a byte.  Every
 * loop is bounded by the input length, the line limit or the entry limit.
 * Portable C, no I/O; called by the hub, the agent, tests and fuzz_bundle.
 */
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/util.h"
#include "transport/bundle.h"
#include "transport/frame.h"

#define MAGIC		"picket-bundle "
#define DOMAIN_MAX	253
#define LABEL_MAX	63
#define SHORT_MAX	64	/* rule ids, origins */
#define U64_DIGITS	20

static const char *const kind_names[PK_BK_LAST + 1] = {
	[PK_BK_DOMAIN] = "domain",
	[PK_BK_FINGERPRINT] = "fingerprint",
	[PK_BK_IPV4] = "ipv4",
	[PK_BK_IPV6] = "ipv6",
	[PK_BK_RULE] = "rule",
	[PK_BK_SHA256] = "sha256",
	[PK_BK_URL] = "url",
};

static const char *const tlp_names[] = {
	[PK_BTLP_CLEAR] = "clear",
	[PK_BTLP_GREEN] = "green",
	[PK_BTLP_AMBER] = "amber",
	[PK_BTLP_AMBER_STRICT] = "amber+strict",
};

/* ------------------------------------------------------------ names */

const char *
pk_bundle_kind_name(int kind)
{
	if (kind < PK_BK_DOMAIN || kind > PK_BK_LAST)
		return NULL;
	return kind_names[kind];
}

int
pk_bundle_kind_parse(const char *name)
{
	int k;

	if (name == NULL)
		return 0;
	for (k = PK_BK_DOMAIN; k <= PK_BK_LAST; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return k;
	return 0;
}

const char *
pk_bundle_tlp_name(int tlp)
{
	if (tlp < 0 || (size_t)tlp >= PK_NELEM(tlp_names))
		return NULL;
	return tlp_names[tlp];
}

int
pk_bundle_tlp_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < PK_NELEM(tlp_names); i++)
		if (strcmp(name, tlp_names[i]) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------ values */

static int
is_lower_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* n lowercase hex digits, lo <= n <= hi. */
static int
check_hex(const char *v, size_t n, size_t lo, size_t hi, const char *what,
    char *err, size_t errlen)
{
	size_t i;

	if (n < lo || n > hi) {
		if (lo == hi)
			pk_errf(err, errlen, "%s is %zu hex digits, not %zu",
			    what, n, lo);
		else
			pk_errf(err, errlen, "%s is %zu hex digits, not "
			    "%zu to %zu", what, n, lo, hi);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (!is_lower_hex((unsigned char)v[i])) {
			pk_errf(err, errlen, "%s has a byte that is not a "
			    "lower-case hex digit", what);
			return -1;
		}
	return 0;
}

/*
 * An address or network of family fam in canonical text: the address
 * as pk_addr_format writes it (RFC 5952 for IPv6), host bits zero, and
 * "/N" only for a network (a full-length prefix is written as the bare
 * address), N at least minp so that one entry cannot cover a whole
 * provider.
 */
static int
check_addr(const char *v, size_t n, int fam, unsigned minp, char *err,
    size_t errlen)
{
	const char *name = fam == 4 ? "ipv4" : "ipv6";
	unsigned maxp = fam == 4 ? 32 : 128;
	char tmp[PK_ADDRSTRLEN + 1], canon[PK_ADDRSTRLEN];
	const char *slash = memchr(v, '/', n);
	size_t alen = slash != NULL ? (size_t)(slash - v) : n;
	struct pk_addr a;
	struct pk_cidr c;

	if (alen >= sizeof(tmp) || pk_cidr_parse(v, &c) == -1) {
		pk_errf(err, errlen, "not an %s address or network", name);
		return -1;
	}
	if (c.net.family != fam) {
		pk_errf(err, errlen, "not an %s address (an IPv%d one)", name,
		    c.net.family);
		return -1;
	}
	memcpy(tmp, v, alen);
	tmp[alen] = '\0';
	if (pk_addr_parse(tmp, &a) == -1 || !pk_addr_eq(&a, &c.net)) {
		pk_errf(err, errlen, "%s network /%u has host bits set", name,
		    c.plen);
		return -1;
	}
	if (c.plen < minp) {
		pk_errf(err, errlen, "%s network /%u is wider than /%u", name,
		    c.plen, minp);
		return -1;
	}
	if (slash != NULL && c.plen == maxp) {
		pk_errf(err, errlen, "%s address written with /%u (write the "
		    "address alone)", name, maxp);
		return -1;
	}
	pk_addr_format(&c.net, canon, sizeof(canon));
	if (strcmp(canon, tmp) != 0) {
		pk_errf(err, errlen, "%s address not in canonical form "
		    "(write %s)", name, canon);
		return -1;
	}
	return 0;
}

/* docs/ioc.md "Domain names", already lower case and without a dot at
 * the end. */
static int
check_domain(const char *v, size_t n, char *err, size_t errlen)
{
	size_t i, start = 0, labels = 0;
	int digits = 1;

	if (n > DOMAIN_MAX) {
		pk_errf(err, errlen, "domain longer than %d bytes",
		    DOMAIN_MAX);
		return -1;
	}
	for (i = 0; i <= n; i++) {
		int ch = i < n ? (unsigned char)v[i] : '.';

		if (ch == '.') {
			if (i == start) {
				pk_errf(err, errlen, "domain has an empty "
				    "label");
				return -1;
			}
			if (i - start > LABEL_MAX) {
				pk_errf(err, errlen, "domain label longer "
				    "than %d bytes", LABEL_MAX);
				return -1;
			}
			labels++;
			if (i < n)
				digits = 1;
			start = i + 1;
			continue;
		}
		if (!(is_digit(ch) || (ch >= 'a' && ch <= 'z') || ch == '-' ||
		    ch == '_')) {
			pk_errf(err, errlen, "domain byte 0x%02x is not one "
			    "of a-z 0-9 - _", ch);
			return -1;
		}
		if (!is_digit(ch))
			digits = 0;
	}
	if (labels < 2) {
		pk_errf(err, errlen, "domain of one label (it would match a "
		    "whole top-level domain)");
		return -1;
	}
	if (digits) {
		pk_errf(err, errlen, "domain's last label is all digits (an "
		    "address?)");
		return -1;
	}
	return 0;
}

/* http:// or https://, a host, printable bytes without spaces; scheme
 * and host lower case (the path and query keep their case). */
static int
check_url(const char *v, size_t n, char *err, size_t errlen)
{
	size_t i, s, hstart, hend;

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e) {
			pk_errf(err, errlen, "url byte 0x%02x is not "
			    "printable ASCII", (unsigned char)v[i]);
			return -1;
		}
	if (n >= 7 && memcmp(v, "http://", 7) == 0)
		s = 7;
	else if (n >= 8 && memcmp(v, "https://", 8) == 0)
		s = 8;
	else {
		pk_errf(err, errlen, "url does not start with http:// or "
		    "https://");
		return -1;
	}
	for (hend = s; hend < n && v[hend] != '/' && v[hend] != '?' &&
	    v[hend] != '#'; hend++)
		;
	hstart = s;
	for (i = s; i < hend; i++)	/* user info is not the host */
		if (v[i] == '@')
			hstart = i + 1;
	if (hstart == hend || v[hstart] == ':') {
		pk_errf(err, errlen, "url without a host");
		return -1;
	}
	for (i = hstart; i < hend; i++)
		if (v[i] >= 'A' && v[i] <= 'Z') {
			pk_errf(err, errlen, "url host not lower case");
			return -1;
		}
	return 0;
}

/* 1..64 bytes of [A-Za-z0-9] and extra. */
static int
short_name_ok(const char *v, size_t n, const char *extra)
{
	size_t i;

	if (n == 0 || n > SHORT_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_alnum((unsigned char)v[i]) &&
		    strchr(extra, v[i]) == NULL)
			return 0;
	return 1;
}

int
pk_bundle_check_value(int kind, const char *value, char *err, size_t errlen)
{
	size_t n;

	if (value == NULL) {
		pk_errf(err, errlen, "no value");
		return -1;
	}
	n = strnlen(value, PK_BUNDLE_VALUE_MAX + 1);
	if (n == 0) {
		pk_errf(err, errlen, "empty value");
		return -1;
	}
	if (n > PK_BUNDLE_VALUE_MAX) {
		pk_errf(err, errlen, "value longer than %d bytes",
		    PK_BUNDLE_VALUE_MAX);
		return -1;
	}
	switch (kind) {
	case PK_BK_DOMAIN:
		return check_domain(value, n, err, errlen);
	case PK_BK_FINGERPRINT:
		return check_hex(value, n, 32, 64, "fingerprint", err, errlen);
	case PK_BK_IPV4:
		return check_addr(value, n, 4, 16, err, errlen);
	case PK_BK_IPV6:
		return check_addr(value, n, 6, 32, err, errlen);
	case PK_BK_RULE:
		if (short_name_ok(value, n, "._:-"))
			return 0;
		pk_errf(err, errlen, "rule id is not 1 to %d bytes of "
		    "A-Z a-z 0-9 . _ : -", SHORT_MAX);
		return -1;
	case PK_BK_SHA256:
		return check_hex(value, n, 64, 64, "sha256", err, errlen);
	case PK_BK_URL:
		return check_url(value, n, err, errlen);
	default:
		pk_errf(err, errlen, "unknown kind %d", kind);
		return -1;
	}
}

/* The rest of an entry: ref >= 1, origin, tlp. */
static int
check_meta(const struct pk_bundle_entry *e, char *err, size_t errlen)
{
	if (e->ref == 0) {
		pk_errf(err, errlen, "ref 0 (refs start at 1)");
		return -1;
	}
	if (e->origin == NULL || !short_name_ok(e->origin,
	    strnlen(e->origin, SHORT_MAX + 1), "._-")) {
		pk_errf(err, errlen, "origin is not 1 to %d bytes of "
		    "A-Z a-z 0-9 . _ -", PK_BUNDLE_ORIGIN_MAX);
		return -1;
	}
	if (pk_bundle_tlp_name(e->tlp) == NULL) {
		pk_errf(err, errlen, "unknown tlp %u", e->tlp);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ order */

static int
entry_cmp(const struct pk_bundle_entry *a, const struct pk_bundle_entry *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	return strcmp(a->value, b->value);
}

/* Merge the sorted runs e[lo..mid) and e[mid..hi) through tmp; on a tie
 * the left run's entry goes first, which is what makes the sort stable. */
static void
merge(struct pk_bundle_entry *e, struct pk_bundle_entry *tmp, size_t lo,
    size_t mid, size_t hi)
{
	size_t i = lo, j = mid, k = lo;

	while (i < mid && j < hi)
		tmp[k++] = entry_cmp(&e[j], &e[i]) < 0 ? e[j++] : e[i++];
	while (i < mid)
		tmp[k++] = e[i++];
	while (j < hi)
		tmp[k++] = e[j++];
	memcpy(e + lo, tmp + lo, (hi - lo) * sizeof(*e));
}

/* Stable in place, for when no scratch memory is to be had: slow on a
 * large list, but the result is the same. */
static void
insertion_sort(struct pk_bundle_entry *e, size_t n)
{
	struct pk_bundle_entry x;
	size_t i, j;

	for (i = 1; i < n; i++) {
		x = e[i];
		for (j = i; j > 0 && entry_cmp(&x, &e[j - 1]) < 0; j--)
			e[j] = e[j - 1];
		e[j] = x;
	}
}

void
pk_bundle_sort(struct pk_bundle_entry *e, size_t *n)
{
	struct pk_bundle_entry *tmp;
	size_t w, lo, i, out;

	if (*n < 2)
		return;
	if ((tmp = calloc(*n, sizeof(*tmp))) == NULL)
		insertion_sort(e, *n);
	else {
		/* Bottom-up merge sort: runs of width w doubling. */
		for (w = 1; w < *n; w *= 2)
			for (lo = 0; lo + w < *n; lo += 2 * w)
				merge(e, tmp, lo, lo + w,
				    PK_MIN(lo + 2 * w, *n));
		free(tmp);
	}
	for (i = 1, out = 1; i < *n; i++)
		if (entry_cmp(&e[out - 1], &e[i]) != 0)
			e[out++] = e[i];
	*n = out;
}

/* ------------------------------------------------------------ parser */

/* A canonical decimal: "0" or no leading zero, at most 2^64 - 1. */
static int
parse_dec(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= U64_DIGITS || !is_digit((unsigned char)s[i]))
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

struct parser {
	char		*t;	/* the copy, NUL-cut line by line */
	size_t		 len;
	size_t		 off;	/* start of the next line */
	unsigned long	 no;	/* number of the line last taken */
	char		*err;
	size_t		 errlen;
};

/*
 * The next line, its LF replaced by NUL: 1, 0 at the end of the text,
 * -1 with the error (no LF at the end, too long, a CR or another byte
 * that is not printable ASCII).
 */
static int
next_line(struct parser *p, char **line)
{
	char *s = p->t + p->off, *nl;
	size_t avail = p->len - p->off, n, i;

	if (avail == 0)
		return 0;
	p->no++;
	nl = memchr(s, '\n', PK_MIN(avail, (size_t)PK_BUNDLE_LINE_MAX + 1));
	if (nl == NULL) {
		if (avail > PK_BUNDLE_LINE_MAX)
			pk_errf(p->err, p->errlen, "line %lu: longer than %d "
			    "bytes", p->no, PK_BUNDLE_LINE_MAX);
		else
			pk_errf(p->err, p->errlen, "line %lu: no LF at the "
			    "end of the text", p->no);
		return -1;
	}
	n = (size_t)(nl - s);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\r') {
			pk_errf(p->err, p->errlen, "line %lu: CR in a line "
			    "(lines end in LF alone)", p->no);
			return -1;
		}
		if (ch < 0x20 || ch > 0x7e) {
			pk_errf(p->err, p->errlen, "line %lu: byte 0x%02x is "
			    "not printable ASCII", p->no, ch);
			return -1;
		}
	}
	*nl = '\0';
	*line = s;
	p->off += n + 1;
	return 1;
}

/* A header line "<key> <decimal>" with the value in [min, max]. */
static int
header_num(struct parser *p, const char *key, uint64_t min, uint64_t max,
    uint64_t *v)
{
	size_t kl = strlen(key);
	char *line;
	int r;

	if ((r = next_line(p, &line)) != 1) {
		if (r == 0)
			pk_errf(p->err, p->errlen, "line %lu: missing the "
			    "'%s' line", p->no + 1, key);
		return -1;
	}
	if (strncmp(line, key, kl) != 0 || line[kl] != ' ') {
		pk_errf(p->err, p->errlen, "line %lu: want '%s N'", p->no,
		    key);
		return -1;
	}
	if (parse_dec(line + kl + 1, v) == -1 || *v < min || *v > max) {
		pk_errf(p->err, p->errlen, "line %lu: %s is not a number "
		    "from %llu to %llu", p->no, key, (unsigned long long)min,
		    (unsigned long long)max);
		return -1;
	}
	return 0;
}

static int
parse_header(struct parser *p, size_t max_entries, struct pk_bundle *b,
    uint64_t *count)
{
	char *line;
	uint64_t fmt;
	int r;

	if ((r = next_line(p, &line)) == -1)
		return -1;
	if (r == 0 || strncmp(line, MAGIC, sizeof(MAGIC) - 1) != 0) {
		pk_errf(p->err, p->errlen, "line 1: not a picket bundle "
		    "(want 'picket-bundle %d')", PK_BUNDLE_FORMAT);
		return -1;
	}
	if (parse_dec(line + sizeof(MAGIC) - 1, &fmt) == -1 ||
	    fmt != PK_BUNDLE_FORMAT) {
		pk_errf(p->err, p->errlen, "line 1: format '%.20s' is not "
		    "%d, the one this reads", line + sizeof(MAGIC) - 1,
		    PK_BUNDLE_FORMAT);
		return -1;
	}
	if (header_num(p, "version", 1, UINT64_MAX, &b->version) == -1 ||
	    header_num(p, "created", 0, UINT64_MAX, &b->created_us) == -1 ||
	    header_num(p, "entries", 0, UINT64_MAX, count) == -1)
		return -1;
	if (*count > max_entries) {
		pk_errf(p->err, p->errlen, "line %lu: %llu entries, over the "
		    "limit of %zu", p->no, (unsigned long long)*count,
		    max_entries);
		return -1;
	}
	return 0;
}

/* "key=" then the rest of the field, or NULL. */
static const char *
field_val(const char *f, const char *key)
{
	size_t kl = strlen(key);

	if (strncmp(f, key, kl) != 0 || f[kl] != '=')
		return NULL;
	return f + kl + 1;
}

/* One entry line, cut into its five fields. */
static int
parse_entry(struct parser *p, char *line, struct pk_bundle_entry *e)
{
	char *f[5], *s = line, *sp;
	const char *v;
	char why[PK_BUNDLE_ERRLEN];
	uint64_t ref;
	size_t nf;
	int k, tlp;

	for (nf = 0; nf < 5; nf++) {
		f[nf] = s;
		sp = strchr(s, ' ');
		if (sp == s || (sp == NULL && *s == '\0')) {
			pk_errf(p->err, p->errlen, "line %lu: empty field "
			    "(one space between fields, none at the ends)",
			    p->no);
			return -1;
		}
		if (sp == NULL)
			break;
		*sp = '\0';
		s = sp + 1;
	}
	if (nf != 4) {
		pk_errf(p->err, p->errlen, "line %lu: want 'KIND VALUE ref=N "
		    "origin=NAME tlp=WORD'", p->no);
		return -1;
	}
	if ((k = pk_bundle_kind_parse(f[0])) == 0) {
		pk_errf(p->err, p->errlen, "line %lu: unknown kind '%.32s'",
		    p->no, f[0]);
		return -1;
	}
	e->kind = (uint8_t)k;
	e->value = f[1];
	if (pk_bundle_check_value(k, f[1], why, sizeof(why)) == -1) {
		pk_errf(p->err, p->errlen, "line %lu: %s", p->no, why);
		return -1;
	}
	if ((v = field_val(f[2], "ref")) == NULL || parse_dec(v, &ref) == -1 ||
	    ref == 0) {
		pk_errf(p->err, p->errlen, "line %lu: want ref=N (N from 1) "
		    "after the value", p->no);
		return -1;
	}
	e->ref = ref;
	if ((v = field_val(f[3], "origin")) == NULL) {
		pk_errf(p->err, p->errlen, "line %lu: want origin=NAME after "
		    "ref", p->no);
		return -1;
	}
	e->origin = v;
	if ((v = field_val(f[4], "tlp")) == NULL ||
	    (tlp = pk_bundle_tlp_parse(v)) < 0) {
		pk_errf(p->err, p->errlen, "line %lu: want tlp=clear, green, "
		    "amber or amber+strict after origin", p->no);
		return -1;
	}
	e->tlp = (uint8_t)tlp;
	if (check_meta(e, why, sizeof(why)) == -1) {
		pk_errf(p->err, p->errlen, "line %lu: %s", p->no, why);
		return -1;
	}
	return 0;
}

/* Entry lines up to "end" and nothing after it. */
static int
parse_body(struct parser *p, struct pk_bundle *b, uint64_t count)
{
	char *line;
	int r, c;

	for (;;) {
		if ((r = next_line(p, &line)) != 1) {
			if (r == 0)
				pk_errf(p->err, p->errlen, "line %lu: missing "
				    "the 'end' line", p->no + 1);
			return -1;
		}
		if (strcmp(line, "end") == 0)
			break;
		if (b->n == count) {
			pk_errf(p->err, p->errlen, "line %lu: more entries "
			    "than 'entries %llu' says", p->no,
			    (unsigned long long)count);
			return -1;
		}
		if (parse_entry(p, line, &b->e[b->n]) == -1)
			return -1;
		if (b->n > 0 && (c = entry_cmp(&b->e[b->n - 1],
		    &b->e[b->n])) >= 0) {
			pk_errf(p->err, p->errlen, "line %lu: %s", p->no,
			    c == 0 ? "duplicate of the line before" :
			    "not sorted (entries are ordered by kind, then "
			    "value: this one comes before the line before)");
			return -1;
		}
		b->n++;
	}
	if (b->n != count) {
		pk_errf(p->err, p->errlen, "line %lu: 'end' after %zu entries, "
		    "'entries' says %llu", p->no, b->n,
		    (unsigned long long)count);
		return -1;
	}
	if (p->off != p->len) {
		pk_errf(p->err, p->errlen, "line %lu: bytes after 'end'",
		    p->no + 1);
		return -1;
	}
	return 0;
}

void
pk_bundle_free(struct pk_bundle *b)
{
	if (b == NULL)
		return;
	free(b->e);
	free(b->text);
	memset(b, 0, sizeof(*b));
}

int
pk_bundle_parse(const char *text, size_t len, size_t max_entries,
    struct pk_bundle *b, char *err, size_t errlen)
{
	struct parser p;
	uint64_t count;

	memset(b, 0, sizeof(*b));
	memset(&p, 0, sizeof(p));
	p.err = err;
	p.errlen = errlen;
	if (max_entries > PK_BUNDLE_MAX_ENTRIES)
		max_entries = PK_BUNDLE_MAX_ENTRIES;
	if (text == NULL || len > PK_BUNDLE_RAW_MAX) {
		pk_errf(err, errlen, "bundle of %zu bytes, over the limit of "
		    "%u", len, PK_BUNDLE_RAW_MAX);
		return -1;
	}
	if ((b->text = malloc(len + 1)) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(b->text, text, len);
	b->text[len] = '\0';
	p.t = b->text;
	p.len = len;
	if (parse_header(&p, max_entries, b, &count) == -1)
		goto fail;
	if ((b->e = calloc(count > 0 ? (size_t)count : 1,
	    sizeof(*b->e))) == NULL) {
		pk_errf(err, errlen, "out of memory");
		goto fail;
	}
	if (parse_body(&p, b, count) == -1)
		goto fail;
	return 0;
fail:
	pk_bundle_free(b);
	return -1;
}

/* ------------------------------------------------------------ writer */

/* Decimal text of v into out (U64_DIGITS + 1 bytes); its length. */
static size_t
fmt_dec(uint64_t v, char *out)
{
	char tmp[U64_DIGITS];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

struct out {
	char	*p;
	size_t	 n;
};

/* Append s; the caller sized the buffer from the same strings. */
static void
put(struct out *o, const char *s, size_t n)
{
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
put_dec(struct out *o, uint64_t v)
{
	char d[U64_DIGITS + 1];

	put(o, d, fmt_dec(v, d));
}

/* Entry line length without its LF. */
static size_t
entry_len(const struct pk_bundle_entry *e)
{
	char d[U64_DIGITS + 1];

	return strlen(kind_names[e->kind]) + 1 + strlen(e->value) +
	    5 + fmt_dec(e->ref, d) + 8 + strlen(e->origin) + 5 +
	    strlen(tlp_names[e->tlp]);
}

/* Every entry valid, the list sorted and unique; the text's size. */
static int
write_check(const struct pk_bundle *b, size_t *size, char *err,
    size_t errlen)
{
	const struct pk_bundle_entry *e;
	char why[PK_BUNDLE_ERRLEN];
	size_t i, l;

	if (b->version == 0) {
		pk_errf(err, errlen, "bundle version 0 (versions start at 1)");
		return -1;
	}
	if (b->n > PK_BUNDLE_MAX_ENTRIES) {
		pk_errf(err, errlen, "%zu entries, over the limit of %d",
		    b->n, PK_BUNDLE_MAX_ENTRIES);
		return -1;
	}
	if (b->n > 0 && b->e == NULL) {
		pk_errf(err, errlen, "%zu entries but no array", b->n);
		return -1;
	}
	*size = 128;		/* the header and "end", generously */
	for (i = 0; i < b->n; i++) {
		e = &b->e[i];
		if (pk_bundle_kind_name(e->kind) == NULL) {
			pk_errf(err, errlen, "entry %zu: unknown kind %u", i,
			    e->kind);
			return -1;
		}
		if (pk_bundle_check_value(e->kind, e->value, why,
		    sizeof(why)) == -1 || check_meta(e, why,
		    sizeof(why)) == -1) {
			pk_errf(err, errlen, "entry %zu (%s %.80s): %s", i,
			    kind_names[e->kind], e->value != NULL ?
			    e->value : "(null)", why);
			return -1;
		}
		if (i > 0 && entry_cmp(&b->e[i - 1], e) >= 0) {
			pk_errf(err, errlen, "entry %zu (%s %.80s): %s", i,
			    kind_names[e->kind], e->value,
			    entry_cmp(&b->e[i - 1], e) == 0 ? "duplicate "
			    "(pk_bundle_sort drops them)" : "not sorted "
			    "(pk_bundle_sort sorts)");
			return -1;
		}
		l = entry_len(e);
		if (l > PK_BUNDLE_LINE_MAX) {
			pk_errf(err, errlen, "entry %zu (%s %.80s): line of "
			    "%zu bytes, over %d", i, kind_names[e->kind],
			    e->value, l, PK_BUNDLE_LINE_MAX);
			return -1;
		}
		*size += l + 1;
	}
	return 0;
}

int
pk_bundle_write(const struct pk_bundle *b, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	const struct pk_bundle_entry *e;
	struct out o;
	size_t size, i;

	*out = NULL;
	*outlen = 0;
	if (write_check(b, &size, err, errlen) == -1)
		return -1;
	if ((o.p = malloc(size + 1)) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return -1;
	}
	o.n = 0;
	puts_(&o, MAGIC);
	put_dec(&o, PK_BUNDLE_FORMAT);
	puts_(&o, "\nversion ");
	put_dec(&o, b->version);
	puts_(&o, "\ncreated ");
	put_dec(&o, b->created_us);
	puts_(&o, "\nentries ");
	put_dec(&o, b->n);
	puts_(&o, "\n");
	for (i = 0; i < b->n; i++) {
		e = &b->e[i];
		puts_(&o, kind_names[e->kind]);
		puts_(&o, " ");
		puts_(&o, e->value);
		puts_(&o, " ref=");
		put_dec(&o, e->ref);
		puts_(&o, " origin=");
		puts_(&o, e->origin);
		puts_(&o, " tlp=");
		puts_(&o, tlp_names[e->tlp]);
		puts_(&o, "\n");
	}
	puts_(&o, "end\n");
	o.p[o.n] = '\0';
	if (o.n > PK_BUNDLE_RAW_MAX) {
		pk_errf(err, errlen, "bundle of %zu bytes, over the limit of "
		    "%u: share fewer indicators", o.n, PK_BUNDLE_RAW_MAX);
		free(o.p);
		return -1;
	}
	*out = o.p;
	*outlen = o.n;
	return 0;
}
