/*
 * netaddr.c - IPv4/IPv6 address and CIDR text handling for configuration,
 * IOC lists and indicator output, written against the C library only so
 * the portable core needs no socket headers (inet_pton differs between
 * platforms and is lenient in places we are not).  Parsing is strict:
 * IPv4 is exactly four decimal octets without leading zeros, IPv6 is the
 * RFC 4291 text form (with "::" and a trailing dotted quad), no zone ids.
 * Output follows RFC 5952.  Any file may call these (see netaddr.h).
 */
#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/util.h"

/* Longest accepted address text, e.g. "ffff:...:ffff:255.255.255.255". */
#define ADDR_TEXT_MAX	45

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Exactly "d.d.d.d" up to the NUL, each 0..255, "0" but never "01". */
static int
parse_v4(const char *s, uint8_t out[4])
{
	int i, nd;
	unsigned v;

	for (i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return -1;
		v = 0;
		for (nd = 0; nd < 4 && is_digit((unsigned char)s[nd]); nd++)
			v = v * 10 + (unsigned)(s[nd] - '0');
		if (nd == 0 || nd > 3 || v > 255 || (nd > 1 && s[0] == '0'))
			return -1;
		out[i] = (uint8_t)v;
		s += nd;
	}
	return *s == '\0' ? 0 : -1;
}

/*
 * RFC 4291 section 2.2: eight groups of 1-4 hex digits, at most one "::"
 * standing for one or more zero groups, and optionally a dotted quad in
 * place of the last two groups.  Groups before "::" go to head, after it
 * to tail; the gap between them is zero.
 */
static int
parse_v6(const char *s, uint8_t out[16])
{
	uint16_t grp[2][8];
	int cnt[2] = { 0, 0 };
	int dbl = 0, nd, v, d;
	const char *p = s;
	uint8_t v4[4];

	if (p[0] == ':') {
		if (p[1] != ':')
			return -1;
		dbl = 1;
		p += 2;
		if (*p == '\0')
			goto done;
	}
	for (;;) {
		if (cnt[0] + cnt[1] >= 8)
			return -1;
		v = 0;
		for (nd = 0; nd < 5 && (d = pk_hexval((unsigned char)p[nd])) >= 0;
		    nd++)
			v = v * 16 + d;
		if (p[nd] == '.') {
			/* Embedded IPv4: last, and worth two groups. */
			if (cnt[0] + cnt[1] > 6 || parse_v4(p, v4) == -1)
				return -1;
			grp[dbl][cnt[dbl]++] = (uint16_t)(v4[0] << 8 | v4[1]);
			grp[dbl][cnt[dbl]++] = (uint16_t)(v4[2] << 8 | v4[3]);
			break;
		}
		if (nd == 0 || nd > 4)
			return -1;
		grp[dbl][cnt[dbl]++] = (uint16_t)v;
		p += nd;
		if (*p == '\0')
			break;
		if (*p++ != ':')
			return -1;
		if (*p == ':') {
			if (dbl)
				return -1;
			dbl = 1;
			p++;
			if (*p == '\0')
				break;
		}
	}
done:
	if (dbl ? cnt[0] + cnt[1] > 7 : cnt[0] != 8)
		return -1;
	memset(out, 0, 16);
	for (d = 0; d < cnt[0]; d++) {
		out[2 * d] = (uint8_t)(grp[0][d] >> 8);
		out[2 * d + 1] = (uint8_t)grp[0][d];
	}
	for (d = 0; d < cnt[1]; d++) {
		int k = 8 - cnt[1] + d;

		out[2 * k] = (uint8_t)(grp[1][d] >> 8);
		out[2 * k + 1] = (uint8_t)grp[1][d];
	}
	return 0;
}

int
pk_addr_parse(const char *s, struct pk_addr *out)
{
	uint8_t b[16];

	if (s == NULL || strlen(s) > ADDR_TEXT_MAX)
		return -1;
	if (strchr(s, ':') != NULL) {
		if (parse_v6(s, b) == -1)
			return -1;
		pk_addr_v6(out, b);
		return 0;
	}
	if (parse_v4(s, b) == -1)
		return -1;
	pk_addr_v4(out, b);
	return 0;
}

static int
is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t pfx[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};

	return memcmp(a, pfx, sizeof(pfx)) == 0;
}

/* RFC 5952 section 4: lowercase, no leading zeros, "::" for the longest run
 * of two or more zero groups (the first one on a tie), section 5 for
 * IPv4-mapped addresses. */
static void
format_v6(const uint8_t a[16], char *out, size_t len)
{
	char tmp[PK_ADDRSTRLEN];
	unsigned g[8];
	int i, best = -1, bestlen = 1, run, o = 0;

	for (i = 0; i < 8; i++)
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
	if (is_v4_mapped(a)) {
		snprintf(out, len, "::ffff:%u.%u.%u.%u", a[12], a[13], a[14],
		    a[15]);
		return;
	}
	for (i = 0; i < 8; i += run > 0 ? run : 1) {
		for (run = 0; i + run < 8 && g[i + run] == 0; run++)
			;
		if (run > bestlen) {
			best = i;
			bestlen = run;
		}
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			o += snprintf(tmp + o, sizeof(tmp) - (size_t)o, "::");
			i += bestlen - 1;
			continue;
		}
		/* Right after "::" the separator is already there. */
		o += snprintf(tmp + o, sizeof(tmp) - (size_t)o, "%s%x",
		    i > 0 && i != best + bestlen ? ":" : "", g[i]);
	}
	pk_strlcpy(out, tmp, len);
}

char *
pk_addr_format(const struct pk_addr *a, char *out, size_t len)
{
	if (len == 0)
		return out;
	if (a->family == 4)
		snprintf(out, len, "%u.%u.%u.%u", a->a[0], a->a[1], a->a[2],
		    a->a[3]);
	else if (a->family == 6)
		format_v6(a->a, out, len);
	else
		out[0] = '\0';	/* unset: nothing to print */
	return out;
}

static size_t
addr_len(const struct pk_addr *a)
{
	return a->family == 4 ? 4 : a->family == 6 ? 16 : 0;
}

int
pk_addr_cmp(const struct pk_addr *x, const struct pk_addr *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->a, y->a, addr_len(x));
}

int
pk_addr_eq(const struct pk_addr *x, const struct pk_addr *y)
{
	return pk_addr_cmp(x, y) == 0;
}

void
pk_addr_v4(struct pk_addr *out, const uint8_t b[4])
{
	memset(out, 0, sizeof(*out));
	out->family = 4;
	memcpy(out->a, b, 4);
}

void
pk_addr_v6(struct pk_addr *out, const uint8_t b[16])
{
	memset(out, 0, sizeof(*out));
	out->family = 6;
	memcpy(out->a, b, 16);
}

uint64_t
pk_addr_hash(const struct pk_addr *a, uint64_t seed)
{
	uint64_t h = pk_fnv1a64(&a->family, 1, seed);

	return pk_fnv1a64(a->a, addr_len(a), h);
}

/* Clear every bit after the first plen bits of an address. */
static void
mask_host(uint8_t *b, size_t blen, unsigned plen)
{
	size_t i;

	for (i = 0; i < blen; i++) {
		if (plen >= 8)
			plen -= 8;
		else {
			b[i] &= (uint8_t)(0xff00u >> plen);
			plen = 0;
		}
	}
}

int
pk_cidr_parse(const char *s, struct pk_cidr *out)
{
	char tmp[ADDR_TEXT_MAX + 1];
	const char *slash;
	size_t alen, nd;
	unsigned plen = 0, maxp;

	if (s == NULL)
		return -1;
	slash = strchr(s, '/');
	alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (alen > ADDR_TEXT_MAX)
		return -1;
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	memset(out, 0, sizeof(*out));
	if (pk_addr_parse(tmp, &out->net) == -1)
		return -1;
	maxp = out->net.family == 4 ? 32 : 128;
	if (slash == NULL) {
		out->plen = (uint8_t)maxp;
		return 0;
	}
	slash++;
	for (nd = 0; nd < 4 && is_digit((unsigned char)slash[nd]); nd++)
		plen = plen * 10 + (unsigned)(slash[nd] - '0');
	if (nd == 0 || nd > 3 || slash[nd] != '\0' ||
	    (nd > 1 && slash[0] == '0') || plen > maxp)
		return -1;
	out->plen = (uint8_t)plen;
	mask_host(out->net.a, addr_len(&out->net), plen);
	return 0;
}

int
pk_cidr_contains(const struct pk_cidr *c, const struct pk_addr *a)
{
	struct pk_addr m;

	if (c->net.family != a->family || a->family == 0)
		return 0;
	m = *a;
	mask_host(m.a, addr_len(&m), c->plen);
	return memcmp(m.a, c->net.a, addr_len(&m)) == 0;
}

static int
is_sep(int c)
{
	return c == ',' || c == ' ' || c == '\t';
}

int
pk_cidrset_parse(const char *s, struct pk_cidrset *out, char *err,
    size_t errlen)
{
	char tok[64];
	size_t n;

	out->n = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (s == NULL)
		return 0;
	for (;;) {
		while (is_sep((unsigned char)*s))
			s++;
		if (*s == '\0')
			return 0;
		for (n = 0; s[n] != '\0' && !is_sep((unsigned char)s[n]); n++)
			;
		/* Copy for the parser and for the message, cut if long. */
		memcpy(tok, s, PK_MIN(n, sizeof(tok) - 1));
		tok[PK_MIN(n, sizeof(tok) - 1)] = '\0';
		if (out->n >= PK_CIDRSET_MAX) {
			if (err != NULL)
				snprintf(err, errlen, "too many CIDRs at "
				    "\"%s\" (limit %d)", tok, PK_CIDRSET_MAX);
			out->n = 0;
			return -1;
		}
		if (n >= sizeof(tok) ||
		    pk_cidr_parse(tok, &out->c[out->n]) == -1) {
			if (err != NULL)
				snprintf(err, errlen, "bad CIDR \"%s%s\"", tok,
				    n >= sizeof(tok) ? "..." : "");
			out->n = 0;
			return -1;
		}
		out->n++;
		s += n;
	}
}

int
pk_cidrset_contains(const struct pk_cidrset *set, const struct pk_addr *a)
{
	size_t i;

	for (i = 0; i < set->n && i < PK_CIDRSET_MAX; i++) {
		if (pk_cidr_contains(&set->c[i], a))
			return 1;
	}
	return 0;
}

void
pk_cidrset_format(const struct pk_cidrset *set, char *out, size_t len)
{
	char a[PK_ADDRSTRLEN], one[PK_ADDRSTRLEN + 8];
	size_t i, o = 0, w;

	if (len == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < set->n && i < PK_CIDRSET_MAX; i++) {
		pk_addr_format(&set->c[i].net, a, sizeof(a));
		snprintf(one, sizeof(one), "%s%s/%u", i > 0 ? "," : "", a,
		    (unsigned)set->c[i].plen);
		w = strlen(one);
		/* Whole elements only: a cut "10.0.0.0/" would mislead. */
		if (w >= len - o)
			return;
		memcpy(out + o, one, w + 1);
		o += w;
	}
}
