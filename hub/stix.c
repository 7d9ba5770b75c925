/*
 * stix.c - the STIX 2.1 bundle export (see stix.h, docs/outbreaks.md).
 * One pass over the alert rows in the window: rows marked above the
 * requested TLP are skipped, each remaining row gives at most three
 * shareable observations (the listed IOC value it matched, its worm
 * fingerprint, the outside address that acted), every value is checked
 * against the member's internal networks and internal domains before it
 * becomes a pattern,
 * and observations with the same pattern become one indicator with one
 * sighting.  For a peer whose policy allows it, an indicator of AMBER
 * rows also carries a payload excerpt of one of them, as printable text,
 * and only when the whole excerpt names nothing of the member's
 * (hub_sharing_text_leaks): an excerpt is sent whole or not at all.
 * Reports of one finding (start, change, end) carry cumulative
 * counts, so a sighting counts each finding once, at its largest count.
 * SHA-1 below is only the hash RFC 4122 prescribes for version-5 UUIDs;
 * pseudonyms use HMAC-SHA-256 over common/sha256.c.  Called by
 * hub/api.c (GET /api/v1/export/stix), by hub/share_out.c (the bundles
 * for peers, through hub_stix_begin/add/finish over the rows it picks)
 * and the unit tests.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "common/util.h"
#include "hub/ingest.h"
#include "hub/jsonread.h"
#include "hub/outbreak.h"
#include "hub/stix.h"

#define EMPTY		UINT32_MAX
#define VALUE_MAX	1100	/* an IOC value as stored (1024) */
#define PATTERN_MAX	2400	/* value escaped, with its frame */
#define URL_MAX		2048
#define RULES_MAX	4
#define RULE_ID_MAX	64
#define HOSTS_MAX	100000
#define PSEUDONYMS_MAX	64	/* hosts listed per sighting */
#define COUNT_MAX	999999999	/* STIX sighting count ceiling */

/* TLP 2.0 marking definitions as OASIS publishes them: the STIX 2.1
 * extension in oasis-open/cti-stix-common-objects,
 * extension-definition-specifications/tlp-2.0 (marking-definition.json
 * and examples/), with its fixed ids and created time. */
#define TLP2_EXT	"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
#define TLP2_CREATED	"2022-10-01T00:00:00.000Z"
static const struct {
	const char	*name, *id, *value;
} tlps[HUB_TLP__N] = {
	{ "TLP:CLEAR", "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
	  "clear" },
	{ "TLP:GREEN", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
	  "green" },
	{ "TLP:AMBER", "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
	  "amber" },
	{ "TLP:AMBER+STRICT",
	  "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
	  "amber+strict" },
	{ "TLP:RED", "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
	  "red" },
};

/* The OASIS namespace for deterministic STIX ids (STIX 2.1, 2.9). */
static const uint8_t stix_ns[16] = {
	0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c,
	0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7,
};

/* The identity's fixed times: re-exports must be byte-identical. */
#define IDENTITY_TIME	"2024-01-01T00:00:00.000Z"

/* ---- SHA-1 (RFC 3174), only for UUIDv5 -------------------------------- */

struct sha1 {
	uint32_t	 h[5];
	uint64_t	 n;
	uint8_t		 buf[64];
	size_t		 nbuf;
};

static uint32_t
rol(uint32_t x, int k)
{
	return (x << k) | (x >> (32 - k));
}

static void
sha1_block(struct sha1 *c, const uint8_t *p)
{
	uint32_t w[80], a, b, d, e, f, k, t, cc;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = c->h[0];
	b = c->h[1];
	cc = c->h[2];
	d = c->h[3];
	e = c->h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & cc) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ cc ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & cc) | (b & d) | (cc & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ cc ^ d;
			k = 0xca62c1d6;
		}
		t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = cc;
		cc = rol(b, 30);
		b = a;
		a = t;
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += cc;
	c->h[3] += d;
	c->h[4] += e;
}

static void
sha1_init(struct sha1 *c)
{
	static const uint32_t iv[5] = {
		0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0,
	};

	memset(c, 0, sizeof(*c));
	memcpy(c->h, iv, sizeof(iv));
}

static void
sha1_update(struct sha1 *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t k;

	c->n += len;
	while (len > 0) {
		k = PK_MIN(len, sizeof(c->buf) - c->nbuf);
		memcpy(c->buf + c->nbuf, p, k);
		c->nbuf += k;
		p += k;
		len -= k;
		if (c->nbuf == sizeof(c->buf)) {
			sha1_block(c, c->buf);
			c->nbuf = 0;
		}
	}
}

static void
sha1_final(struct sha1 *c, uint8_t out[20])
{
	uint64_t bits = c->n * 8;
	uint8_t pad = 0x80, z = 0, len[8];
	int i;

	sha1_update(c, &pad, 1);
	while (c->nbuf != 56)
		sha1_update(c, &z, 1);
	for (i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	sha1_update(c, len, 8);
	for (i = 0; i < 20; i++)
		out[i] = (uint8_t)(c->h[i / 4] >> (24 - 8 * (i % 4)));
}

void
hub_uuid5(const uint8_t ns[16], const void *name, size_t len, char out[37])
{
	struct sha1 c;
	uint8_t h[20];
	char hex[33];

	sha1_init(&c);
	sha1_update(&c, ns, 16);
	sha1_update(&c, name, len);
	sha1_final(&c, h);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x50);	/* version 5 */
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	pk_hex(h, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
}

/* ---- HMAC-SHA-256 (RFC 2104) and pseudonyms --------------------------- */

void
hub_hmac_sha256(const uint8_t *key, size_t keylen, const void *msg,
    size_t len, uint8_t out[32])
{
	uint8_t k[PK_SHA256_BLOCK], pad[PK_SHA256_BLOCK], inner[32];
	struct pk_sha256 c;
	size_t i;

	memset(k, 0, sizeof(k));
	if (keylen > sizeof(k))
		pk_sha256(key, keylen, k);
	else if (keylen > 0)
		memcpy(k, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	pk_sha256_init(&c);
	pk_sha256_update(&c, pad, sizeof(pad));
	pk_sha256_update(&c, msg, len);
	pk_sha256_final(&c, inner);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	pk_sha256_init(&c);
	pk_sha256_update(&c, pad, sizeof(pad));
	pk_sha256_update(&c, inner, sizeof(inner));
	pk_sha256_final(&c, out);
	memset(k, 0, sizeof(k));
	memset(pad, 0, sizeof(pad));
}

void
hub_pseudonym(const uint8_t secret[32], const char *id,
    char out[HUB_PSEUDONYM_LEN + 1])
{
	uint8_t mac[32];
	char hex[17];

	/* The domain prefix keeps these apart from any other use of the
	 * same key. */
	uint8_t msg[5 + HUB_ID_MAX + 1];
	size_t n = strlen(id);

	n = PK_MIN(n, (size_t)HUB_ID_MAX + 1);
	memcpy(msg, "host|", 5);
	memcpy(msg + 5, id, n);
	hub_hmac_sha256(secret, 32, msg, 5 + n, mac);
	pk_hex(mac, 8, hex);
	snprintf(out, HUB_PSEUDONYM_LEN + 1, "h-%s", hex);
}

/* ---- TLP -------------------------------------------------------------- */

static int
ieq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		int x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return *a == '\0' && *b == '\0';
}

int
hub_tlp_parse(const char *s, int *tlp)
{
	int i;

	if (s == NULL)
		return -1;
	if ((s[0] == 't' || s[0] == 'T') && (s[1] == 'l' || s[1] == 'L') &&
	    (s[2] == 'p' || s[2] == 'P') && s[3] == ':')
		s += 4;
	if (ieq(s, "white")) {
		*tlp = HUB_TLP_CLEAR;
		return 0;
	}
	for (i = 0; i < HUB_TLP__N; i++)
		if (ieq(s, tlps[i].value)) {
			*tlp = i;
			return 0;
		}
	return -1;
}

const char *
hub_tlp_name(int tlp)
{
	return tlp >= 0 && tlp < HUB_TLP__N ? tlps[tlp].name : "TLP:RED";
}

const char *
hub_tlp_marking_id(int tlp)
{
	return tlp >= 0 && tlp < HUB_TLP__N ? tlps[tlp].id : tlps[4].id;
}

/* ---- sharing settings and the internal check --------------------------- */

void
hub_sharing_default(struct hub_sharing *s)
{
	memset(s, 0, sizeof(*s));
	s->hub_name = "picket-hub";
	(void)pk_cidrset_parse(HUB_STIX_INTERNAL_DEFAULT, &s->internal, NULL,
	    0);
}

int
hub_sharing_set_internal(struct hub_sharing *s, const char *cidrs, char *err,
    size_t errlen)
{
	struct pk_cidrset set;

	if (pk_cidrset_parse(cidrs, &set, err, errlen) == -1)
		return -1;
	s->internal = set;
	return 0;
}

static int valid_domain(const char *, size_t);

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* n bytes of a and b equal, ASCII case ignored (b is lower case). */
static int
ieqn(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lc((unsigned char)a[i]) != (unsigned char)b[i])
			return 0;
	return 1;
}

int
hub_sharing_set_domains(struct hub_sharing *s, const char *list, char *err,
    size_t errlen)
{
	static const char sep[] = ", \t";
	char d[HUB_SHARING_DOMAINS_MAX][HUB_SHARING_DOMAIN_LEN + 1];
	size_t nd = 0, n, i;
	const char *p = list;

	/* Each turn takes a separator run or a name: bounded by strlen. */
	while (*p != '\0') {
		if (strchr(sep, *p) != NULL) {
			p++;
			continue;
		}
		n = strcspn(p, sep);
		if (nd == HUB_SHARING_DOMAINS_MAX) {
			snprintf(err, errlen, "more than %d internal domains",
			    HUB_SHARING_DOMAINS_MAX);
			return -1;
		}
		/* ".agency.example" and "agency.example." are the same */
		i = *p == '.' ? 1 : 0;
		while (n > i && p[n - 1] == '.')
			n--;
		if (n - i == 0 || n - i > HUB_SHARING_DOMAIN_LEN ||
		    !valid_domain(p + i, n - i)) {
			snprintf(err, errlen, "internal domain \"%.*s\": not a "
			    "DNS name", (int)PK_MIN(n, (size_t)64), p);
			return -1;
		}
		memcpy(d[nd], p + i, n - i);
		d[nd][n - i] = '\0';
		for (i = 0; d[nd][i] != '\0'; i++)
			d[nd][i] = (char)lc((unsigned char)d[nd][i]);
		nd++;
		p += strcspn(p, sep);
	}
	memcpy(s->domains, d, sizeof(d));
	s->ndomains = nd;
	return 0;
}

/*
 * Every label-aligned run of labels is compared with every suffix, not
 * only the name's tail: "www.agency.example.evil.example" is a stranger's
 * name, but exporting it would still spell the member's internal one.
 */
int
hub_sharing_is_internal_name(const struct hub_sharing *s, const char *name,
    size_t n)
{
	size_t i, j, k;

	for (j = 0; j < s->ndomains && j < HUB_SHARING_DOMAINS_MAX; j++) {
		k = strlen(s->domains[j]);
		if (k == 0 || k > n)
			continue;
		for (i = 0; i + k <= n; i++) {
			if (i > 0 && name[i - 1] != '.')
				continue;	/* not a label start */
			if ((i + k == n || name[i + k] == '.') &&
			    ieqn(name + i, s->domains[j], k))
				return 1;
		}
	}
	return 0;
}

/* Do prefixes (a, alen) and (b, blen) share any address? */
static int
cidr_overlap(const struct pk_addr *a, unsigned alen, const struct pk_addr *b,
    unsigned blen)
{
	unsigned p = PK_MIN(alen, blen), i;

	if (a->family != b->family)
		return 0;
	for (i = 0; i < p; i++) {
		unsigned bit = 0x80u >> (i % 8);

		if ((a->a[i / 8] & bit) != (b->a[i / 8] & bit))
			return 0;
	}
	return 1;
}

int
hub_sharing_is_internal(const struct hub_sharing *s, const char *v)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	struct pk_cidr c;
	size_t i;

	if (v == NULL || strlen(v) >= PK_ADDRSTRLEN + 4 ||
	    pk_cidr_parse(v, &c) == -1)
		return 1;
	/* ::ffff:10.0.0.1 is 10.0.0.1 */
	if (c.net.family == 6 && c.plen >= 96 &&
	    memcmp(c.net.a, mapped, 12) == 0) {
		uint8_t b[4];

		memcpy(b, c.net.a + 12, 4);
		pk_addr_v4(&c.net, b);
		c.plen = (uint8_t)(c.plen - 96);
	}
	for (i = 0; i < s->internal.n && i < PK_CIDRSET_MAX; i++)
		if (cidr_overlap(&c.net, c.plen, &s->internal.c[i].net,
		    s->internal.c[i].plen))
			return 1;
	return 0;
}

/* ---- free text: does it name anything of the member's? ---------------- */

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/*
 * A dotted quad starting at t[i] (a digit after a non-digit): 1 when it
 * is internal.  The first three numbers are whole digit runs; the last
 * may run into more digits ("10.0.0.55x"), so each of its 1..3 digit
 * prefixes is tried: a reader could take any of them for the address.
 */
static int
v4_internal_at(const struct hub_sharing *s, const char *t, size_t n,
    size_t i)
{
	char a[16];
	unsigned o[3], v;
	size_t k, d, j;

	for (k = 0; k < 3; k++) {
		for (d = 0, v = 0; d < 4 && i + d < n &&
		    is_digit((unsigned char)t[i + d]); d++)
			v = v * 10 + (unsigned)(t[i + d] - '0');
		if (d == 0 || d > 3 || v > 255 || i + d >= n ||
		    t[i + d] != '.')
			return 0;
		o[k] = v;
		i += d + 1;
	}
	for (j = 0, v = 0; j < 3 && i + j < n &&
	    is_digit((unsigned char)t[i + j]); j++) {
		v = v * 10 + (unsigned)(t[i + j] - '0');
		if (v > 255)
			break;
		snprintf(a, sizeof(a), "%u.%u.%u.%u", o[0], o[1], o[2], v);
		if (hub_sharing_is_internal(s, a))
			return 1;
	}
	return 0;
}

static int
v6_char(int c)
{
	return pk_hexval(c) >= 0 || c == ':' || c == '.';
}

/* A run of hex digits, ':' and '.' with two colons: an IPv6 address as
 * written (trailing '.' or one ':' of punctuation tried off), 1 when it
 * is one and internal. */
static int
v6_internal(const struct hub_sharing *s, const char *t, size_t n)
{
	char a[PK_ADDRSTRLEN + 1];
	struct pk_addr ad;
	size_t colons = 0, hex = 0, i;

	for (i = 0; i < n; i++) {
		colons += t[i] == ':';
		hex += pk_hexval((unsigned char)t[i]) >= 0;
	}
	if (colons < 2 || hex == 0 || n > PK_ADDRSTRLEN)
		return 0;
	memcpy(a, t, n);
	a[n] = '\0';
	/* each turn shortens the text by one: at most n turns */
	while (n > 0) {
		if (pk_addr_parse(a, &ad) == 0)
			return ad.family == 6 && hub_sharing_is_internal(s, a);
		if (a[n - 1] != '.' && a[n - 1] != ':')
			return 0;
		a[--n] = '\0';
	}
	return 0;
}

static int
addrs_internal(const struct hub_sharing *s, const char *t, size_t n)
{
	size_t i, e;

	for (i = 0; i < n; i++)
		if (is_digit((unsigned char)t[i]) &&
		    (i == 0 || !is_digit((unsigned char)t[i - 1])) &&
		    v4_internal_at(s, t, n, i))
			return 1;
	for (i = 0; i < n; i = e) {
		if (!v6_char((unsigned char)t[i])) {
			e = i + 1;
			continue;
		}
		for (e = i; e < n && v6_char((unsigned char)t[e]); e++)
			;
		if (v6_internal(s, t + i, e - i))
			return 1;
	}
	return 0;
}

static int names_internal(const struct hub_sharing *, const char *, size_t);

/* Is w (w[0] != 0) in t[0..n), ASCII case ignored? */
static int
contains_nocase(const char *t, size_t n, const char *w)
{
	size_t m = strlen(w), i, j;

	if (m == 0 || m > n)
		return 0;
	for (i = 0; i + m <= n; i++) {
		for (j = 0; j < m; j++)
			if (lc((unsigned char)t[i + j]) !=
			    lc((unsigned char)w[j]))
				break;
		if (j == m)
			return 1;
	}
	return 0;
}

static int
text_leaks(const struct hub_sharing *s, const char *t, size_t n,
    const char *const *own, size_t nown)
{
	size_t i;

	if (addrs_internal(s, t, n))
		return HUB_LEAK_ADDR;
	if (s->ndomains > 0 && names_internal(s, t, n))
		return HUB_LEAK_NAME;
	for (i = 0; i < nown; i++)
		if (own[i] != NULL && own[i][0] != '\0' &&
		    contains_nocase(t, n, own[i]))
			return HUB_LEAK_OWN;
	return HUB_LEAK_NONE;
}

int
hub_sharing_text_leaks(const struct hub_sharing *s, const char *t, size_t n,
    const char *const *own, size_t nown)
{
	char *dec;
	size_t i, o = 0;
	int rc, hi, lo;

	if ((rc = text_leaks(s, t, n, own, nown)) != HUB_LEAK_NONE ||
	    memchr(t, '%', n) == NULL)
		return rc;
	/* "Host: %31%30.0.0.5" spells the address as much as its text */
	if ((dec = malloc(n)) == NULL)
		return HUB_LEAK_ADDR;	/* unchecked: not sent */
	for (i = 0; i < n; i++) {
		if (t[i] == '%' && i + 2 < n &&
		    (hi = pk_hexval((unsigned char)t[i + 1])) >= 0 &&
		    (lo = pk_hexval((unsigned char)t[i + 2])) >= 0) {
			dec[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			dec[o++] = t[i];
	}
	rc = text_leaks(s, dec, o, own, nown);
	free(dec);
	return rc;
}

/* ---- parameters ------------------------------------------------------- */

void
hub_stix_params_default(struct hub_stix_params *p)
{
	struct hub_outbreak_params o;

	hub_outbreak_params_default(&o);
	memset(p, 0, sizeof(*p));
	p->now_us = o.now_us;
	p->since_us = o.since_us;
	p->until_us = o.until_us;
	p->tlp = HUB_TLP_CLEAR;
	p->max_indicators = HUB_STIX_MAX_INDICATORS;
	p->max_objects = HUB_STIX_MAX_OBJECTS;
}

int
hub_stix_params_set(struct hub_stix_params *p, const char *name,
    const char *value, char *err, size_t errlen)
{
	int tlp, k;

	if ((k = hub_window_param(name, value, p->now_us, &p->since_us,
	    &p->until_us, err, errlen)) != 0)
		return k < 0 ? -1 : 0;
	if (strcmp(name, "tlp") == 0) {
		if (hub_tlp_parse(value, &tlp) == -1) {
			snprintf(err, errlen, "tlp: expected clear, green, "
			    "amber, amber+strict or red");
			return -1;
		}
		p->tlp = tlp;
		return 0;
	}
	snprintf(err, errlen, "unknown parameter \"%.32s\" (since, until, "
	    "tlp)", name);
	return -1;
}

/* ---- the export's tables ---------------------------------------------- */

enum { O_IOC, O_FP, O_ACTOR };

struct obj {
	char		*pattern;
	char		*name;
	uint8_t		 kind;
	const char	*itype;		/* indicator_types value */
	int		 tlp;		/* most restrictive contributing */
	int64_t		 first_us, last_us;
	uint64_t	 count;
	uint32_t	 nhosts;
	uint32_t	 nrules;
	char		 rules[RULES_MAX][RULE_ID_MAX];
	uint32_t	 ent_off;	/* its slice of the sorted pairs */
	char		*excerpt;	/* its rows' first clean one */
};

/* One finding of one host: its reports share fingerprint and start. */
struct finding {
	uint32_t	 obj, host;
	int64_t		 first_us;
	uint64_t	 fp;		/* hash of picket.fingerprint */
	uint64_t	 count;		/* largest count reported */
};

struct pair {
	uint32_t	 obj, host;
};

struct ex {
	const struct hub_stix_params *p;
	const struct hub_sharing *sh;
	struct hub_stix_stats st;
	char		 (*hosts)[HUB_ID_MAX + 1];
	uint32_t	 nhosts, hosts_cap;
	struct obj	*objs;
	uint32_t	 nobjs, objs_cap;
	struct finding	*fnds;
	uint32_t	 nfnds, fnds_cap;
	struct pair	*pairs;
	uint32_t	 npairs, pairs_cap;
	struct hub_itab	 hix, oix, fix, pix;
	int		 nomem;
	const char	*row_excerpt;	/* the row being taken's, or NULL */
	/* the key being looked up */
	const char	*k;
	struct finding	 kf;
	struct pair	 kp;
};

/* Grow *arr (n used, *cap slots of size sz) for one more: 0 / -1. */
static int
grow(void *arrp, uint32_t n, uint32_t *cap, size_t sz)
{
	void **arr = arrp, *q;
	uint32_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	if ((q = realloc(*arr, (size_t)nc * sz)) == NULL)
		return -1;
	*arr = q;
	*cap = nc;
	return 0;
}

static int
host_eq(void *arg, uint32_t v)
{
	struct ex *x = arg;

	return strcmp(x->hosts[v], x->k) == 0;
}

static uint32_t
host_intern(struct ex *x, const char *id)
{
	uint64_t h = hub_itab_hash(&x->hix, id, strlen(id));
	uint32_t i;

	x->k = id;
	if ((i = hub_itab_find(&x->hix, h, host_eq, x)) != EMPTY)
		return i;
	if (x->nhosts >= HOSTS_MAX)
		return EMPTY;
	if (grow(&x->hosts, x->nhosts, &x->hosts_cap, sizeof(*x->hosts))) {
		x->nomem = 1;
		return EMPTY;
	}
	pk_strlcpy(x->hosts[x->nhosts], id, sizeof(x->hosts[0]));
	if (hub_itab_add(&x->hix, h, x->nhosts) == -1)
		return EMPTY;
	return x->nhosts++;
}

static int
obj_eq(void *arg, uint32_t v)
{
	struct ex *x = arg;

	return strcmp(x->objs[v].pattern, x->k) == 0;
}

static char *
dupstr(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	if (d != NULL)
		memcpy(d, s, n + 1);
	return d;
}

static uint32_t
obj_intern(struct ex *x, int kind, const char *pattern, const char *name)
{
	uint64_t h = hub_itab_hash(&x->oix, pattern, strlen(pattern));
	struct obj *o;
	uint32_t i;

	x->k = pattern;
	if ((i = hub_itab_find(&x->oix, h, obj_eq, x)) != EMPTY)
		return i;
	if (x->nobjs >= x->p->max_objects) {
		x->st.objects_dropped++;
		return EMPTY;
	}
	if (grow(&x->objs, x->nobjs, &x->objs_cap, sizeof(*x->objs)))
		goto nomem;
	o = &x->objs[x->nobjs];
	memset(o, 0, sizeof(*o));
	o->kind = (uint8_t)kind;
	o->itype = kind == O_IOC ? "malicious-activity" : "anomalous-activity";
	o->tlp = HUB_TLP_CLEAR;
	o->first_us = INT64_MAX;
	o->last_us = INT64_MIN;
	if ((o->pattern = dupstr(pattern)) == NULL)
		goto nomem;
	if ((o->name = dupstr(name)) == NULL) {
		free(o->pattern);
		goto nomem;
	}
	if (hub_itab_add(&x->oix, h, x->nobjs) == -1) {
		free(o->pattern);
		free(o->name);
		x->st.objects_dropped++;
		return EMPTY;
	}
	return x->nobjs++;
nomem:
	x->nomem = 1;
	return EMPTY;
}

static int
fnd_eq(void *arg, uint32_t v)
{
	struct ex *x = arg;
	const struct finding *f = &x->fnds[v];

	return f->obj == x->kf.obj && f->host == x->kf.host &&
	    f->first_us == x->kf.first_us && f->fp == x->kf.fp;
}

static int
pair_eq(void *arg, uint32_t v)
{
	struct ex *x = arg;

	return x->pairs[v].obj == x->kp.obj && x->pairs[v].host == x->kp.host;
}

/* Host h saw object oi: count the host once, the finding at its max. */
static void
sighted(struct ex *x, uint32_t oi, uint32_t hi, const char *fp,
    int64_t first, uint64_t count)
{
	struct obj *o = &x->objs[oi];
	uint32_t k[6];
	uint64_t h;
	uint32_t i;

	x->kp.obj = oi;
	x->kp.host = hi;
	k[0] = oi;
	k[1] = hi;
	h = hub_itab_hash(&x->pix, k, 2 * sizeof(k[0]));
	if (hub_itab_find(&x->pix, h, pair_eq, x) == EMPTY) {
		if (grow(&x->pairs, x->npairs, &x->pairs_cap,
		    sizeof(*x->pairs)) == 0 &&
		    hub_itab_add(&x->pix, h, x->npairs) == 0) {
			x->pairs[x->npairs++] = x->kp;
			o->nhosts++;
		} else
			x->nomem = 1;
	}
	memset(&x->kf, 0, sizeof(x->kf));
	x->kf.obj = oi;
	x->kf.host = hi;
	x->kf.first_us = first;
	x->kf.fp = pk_fnv1a64(fp, strlen(fp), PK_FNV_SEED);
	memcpy(&k[2], &x->kf.first_us, 8);
	memcpy(&k[4], &x->kf.fp, 8);
	h = hub_itab_hash(&x->fix, k, sizeof(k));
	if ((i = hub_itab_find(&x->fix, h, fnd_eq, x)) != EMPTY) {
		if (count > x->fnds[i].count) {
			o->count += count - x->fnds[i].count;
			x->fnds[i].count = count;
		}
		return;
	}
	if (grow(&x->fnds, x->nfnds, &x->fnds_cap, sizeof(*x->fnds)) ||
	    hub_itab_add(&x->fix, h, x->nfnds) == -1) {
		/* counted, just not de-duplicated */
		o->count += count;
		return;
	}
	x->kf.count = count;
	x->fnds[x->nfnds++] = x->kf;
	o->count += count;
}

/* ---- values to patterns ------------------------------------------------ */

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_alnum(int c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

/*
 * A DNS name we are willing to publish: labels of letters, digits, '-'
 * and '_', at most 253 bytes, and a top-level label that is alphabetic
 * (or an IDN "xn--" label).  That last rule refuses the spellings of
 * addresses a resolver or browser would accept ("167772165",
 * "0x0a000005", "10.5"), so an internal address cannot leave disguised.
 */
static int
valid_domain(const char *s, size_t n)
{
	size_t i, lab = 0, last = 0;

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
			last = i + 1;
			continue;
		}
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
		if (++lab > 63)
			return 0;
	}
	if (n - last >= 4 && strncmp(s + last, "xn--", 4) == 0)
		return 1;
	for (i = last; i < n; i++)
		if (!is_alpha((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pk_hexval((unsigned char)s[i]) < 0)
			return 0;
	return n > 0;
}

/* '...' with STIX pattern escapes; -1 when it does not fit. */
static int
quote(char *out, size_t cap, const char *v)
{
	size_t o = 0;

	for (; *v != '\0'; v++) {
		if (o + 3 >= cap)
			return -1;
		if (*v == '\'' || *v == '\\')
			out[o++] = '\\';
		out[o++] = *v;
	}
	out[o] = '\0';
	return 0;
}

enum { V_OK = 0, V_INTERNAL = 1, V_BAD = 2, V_INTERNAL_NAME = 3 };

static int
name_char(int c)
{
	return is_alnum(c) || c == '-' || c == '_' || c == '.';
}

/* Does any run of name characters in t[0..n) name an internal domain? */
static int
names_internal(const struct hub_sharing *sh, const char *t, size_t n)
{
	size_t i = 0, e;

	while (i < n) {
		if (!name_char((unsigned char)t[i])) {
			i++;
			continue;
		}
		for (e = i; e < n && name_char((unsigned char)t[e]); e++)
			;
		if (hub_sharing_is_internal_name(sh, t + i, e - i))
			return 1;
		i = e;
	}
	return 0;
}

/*
 * A URL names an internal domain anywhere in it (host, user info, path
 * or query, as written or percent-decoded): "https://cdn.example/?next=
 * intranet.agency%2Eexample" leaks the name as much as its host would.
 */
static int
url_names_internal(const struct hub_sharing *sh, const char *u, size_t n)
{
	char dec[URL_MAX + 1];
	size_t i, o = 0;
	int hi, lo;

	if (sh->ndomains == 0)
		return 0;
	if (names_internal(sh, u, n))
		return 1;
	for (i = 0; i < n && o < URL_MAX; i++) {
		if (u[i] == '%' && i + 2 < n &&
		    (hi = pk_hexval((unsigned char)u[i + 1])) >= 0 &&
		    (lo = pk_hexval((unsigned char)u[i + 2])) >= 0) {
			dec[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			dec[o++] = u[i];
	}
	return names_internal(sh, dec, o);
}

/* An address or CIDR pattern, canonical text; internal ones refused. */
static int
addr_pattern(const struct hub_sharing *sh, const char *v, char *pat,
    size_t cap, char *shown, size_t scap)
{
	char a[PK_ADDRSTRLEN];
	struct pk_cidr c;

	if (strlen(v) >= PK_ADDRSTRLEN + 4 || pk_cidr_parse(v, &c) == -1)
		return V_BAD;
	if (hub_sharing_is_internal(sh, v))
		return V_INTERNAL;
	pk_addr_format(&c.net, a, sizeof(a));
	if (c.plen == (c.net.family == 4 ? 32 : 128))
		snprintf(shown, scap, "%s", a);
	else
		snprintf(shown, scap, "%s/%u", a, c.plen);
	snprintf(pat, cap, "[%s:value = '%s']",
	    c.net.family == 4 ? "ipv4-addr" : "ipv6-addr", shown);
	return V_OK;
}

/* The host of an absolute URL, checked: V_OK, V_INTERNAL or V_BAD. */
static int
url_host_ok(const struct hub_sharing *sh, const char *u)
{
	const char *p = strstr(u, "://"), *h, *e, *at;
	char host[256];
	size_t n;

	if (p == NULL)
		return V_BAD;
	h = p + 3;
	e = h + strcspn(h, "/?#");
	/* userinfo@ is not part of the host */
	for (at = h; at < e; at++)
		if (*at == '@')
			h = at + 1;
	if (*h == '[') {	/* [v6]:port */
		const char *r = memchr(h, ']', (size_t)(e - h));

		if (r == NULL || (size_t)(r - h - 1) >= sizeof(host))
			return V_BAD;
		n = (size_t)(r - h - 1);
		memcpy(host, h + 1, n);
		host[n] = '\0';
		return pk_cidr_parse(host, &(struct pk_cidr){ 0 }) == -1 ?
		    V_BAD : hub_sharing_is_internal(sh, host) ? V_INTERNAL :
		    V_OK;
	}
	n = strcspn(h, ":/?#");
	if (h + n > e)
		n = (size_t)(e - h);
	if (n == 0 || n >= sizeof(host))
		return V_BAD;
	memcpy(host, h, n);
	host[n] = '\0';
	if (pk_cidr_parse(host, &(struct pk_cidr){ 0 }) == 0)
		return hub_sharing_is_internal(sh, host) ? V_INTERNAL : V_OK;
	return valid_domain(host, n) ? V_OK : V_BAD;
}

/*
 * The pattern and name for an IOC match of type t and value v.  Only the
 * five types the agent reports; anything malformed is not exported.
 */
static int
ioc_pattern(const struct hub_sharing *sh, const char *t, char *v, char *pat,
    size_t cap, char *name, size_t ncap)
{
	/* q leaves room for the pattern's frame around it */
	char shown[PK_ADDRSTRLEN + 8], q[PATTERN_MAX - 20];
	size_t n = strlen(v), i;
	int rc;

	if (strcmp(t, "ipv4-addr") == 0 || strcmp(t, "ipv6-addr") == 0) {
		rc = addr_pattern(sh, v, pat, cap, shown, sizeof(shown));
		if (rc == V_OK)
			snprintf(name, ncap, "Listed address %s", shown);
		return rc;
	}
	if (strcmp(t, "domain-name") == 0) {
		lower(v);
		if (hub_sharing_is_internal_name(sh, v, n))
			return V_INTERNAL_NAME;
		if (!valid_domain(v, n)) {
			/* a bare address listed as a name */
			rc = addr_pattern(sh, v, pat, cap, shown,
			    sizeof(shown));
			if (rc == V_OK)
				snprintf(name, ncap, "Listed address %s",
				    shown);
			return rc;
		}
		snprintf(pat, cap, "[domain-name:value = '%.253s']", v);
		snprintf(name, ncap, "Listed domain %.253s", v);
		return V_OK;
	}
	if (strcmp(t, "url") == 0) {
		if (n > URL_MAX)
			return V_BAD;
		for (i = 0; i < n; i++)
			if ((unsigned char)v[i] <= 0x20 ||
			    (unsigned char)v[i] >= 0x7f)
				return V_BAD;
		if (url_names_internal(sh, v, n))
			return V_INTERNAL_NAME;
		if ((rc = url_host_ok(sh, v)) != V_OK)
			return rc;
		if (quote(q, sizeof(q), v) == -1)
			return V_BAD;
		snprintf(pat, cap, "[url:value = '%s']", q);
		snprintf(name, ncap, "Listed URL %.200s", v);
		return V_OK;
	}
	if (strcmp(t, "file") == 0) {
		if (n != 64 || !all_hex(v, n))
			return V_BAD;
		lower(v);
		snprintf(pat, cap, "[file:hashes.'SHA-256' = '%s']", v);
		snprintf(name, ncap, "Listed file SHA-256 %.16s...", v);
		return V_OK;
	}
	return V_BAD;
}

/* ---- the pass over the rows ------------------------------------------- */

static void
json_field(const struct hub_indicator *d, const char *path, char *out,
    size_t cap)
{
	struct pk_jr_val v;

	out[0] = '\0';
	if (d->json == NULL ||
	    pk_jr_find(d->json, d->json_len, path, &v) != 1 ||
	    pk_jr_string(&v, out, cap) == -1)
		out[0] = '\0';
}

static int
has_prefix(const char *s, const char *pfx)
{
	return strncmp(s, pfx, strlen(pfx)) == 0;
}

static void
note(struct ex *x, uint32_t oi, uint32_t hi, const struct hub_indicator *d,
    int tlp, int64_t first, int64_t last)
{
	struct obj *o = &x->objs[oi];
	uint32_t i;

	o->tlp = PK_MAX(o->tlp, tlp);
	o->first_us = PK_MIN(o->first_us, first);
	o->last_us = PK_MAX(o->last_us, last);
	for (i = 0; i < o->nrules; i++)
		if (strncmp(o->rules[i], d->rule_id, RULE_ID_MAX - 1) == 0)
			break;
	if (i == o->nrules && o->nrules < RULES_MAX)
		pk_strlcpy(o->rules[o->nrules++], d->rule_id, RULE_ID_MAX);
	if (x->row_excerpt != NULL && o->excerpt == NULL &&
	    (o->excerpt = dupstr(x->row_excerpt)) == NULL)
		x->nomem = 1;
	sighted(x, oi, hi, d->fingerprint, first, d->count);
}

/* One observation: pattern made, object found, host counted. */
static int
observe(struct ex *x, int kind, const char *pat, const char *name,
    const struct hub_indicator *d, int tlp, int64_t first, int64_t last)
{
	uint32_t oi, hi;

	if ((hi = host_intern(x, d->agent_id)) == EMPTY ||
	    (oi = obj_intern(x, kind, pat, name)) == EMPTY)
		return 0;
	note(x, oi, hi, d, tlp, first, last);
	return 1;
}

int
hub_stix_row_tlp(const struct hub_indicator *d)
{
	char tl[HUB_SHORT_MAX];
	int tlp;

	json_field(d, "picket.tlp", tl, sizeof(tl));
	if (hub_tlp_parse(tl, &tlp) == -1)
		tlp = HUB_TLP_RED;	/* unmarked: treat as not shareable */
	return tlp;
}

/* A string field of the row into out ("" when absent), or -1 when it is
 * there but does not read into cap bytes. */
static int
own_field(const struct hub_indicator *d, const char *path, char *out,
    size_t cap)
{
	struct pk_jr_val v;
	int rc;

	out[0] = '\0';
	if ((rc = pk_jr_find(d->json, d->json_len, path, &v)) == 0)
		return 0;
	if (rc != 1 || v.type != PK_JR_STRING ||
	    pk_jr_string(&v, out, cap) == -1) {
		out[0] = '\0';
		return v.type == PK_JR_STRING || rc != 1 ? -1 : 0;
	}
	return 0;
}

/*
 * The row's payload excerpt (picket.details.excerpt) as the text a peer
 * may get, in a new string, or NULL: none, or withheld (counted).  The
 * agent's JSON string is decoded whole (jansson keeps a \u0000 the
 * reader would stop at), then written as printable text: control bytes
 * as \xNN, a backslash doubled, other characters as they are (valid
 * UTF-8, as JSON decoding leaves them).  The whole text is checked
 * before it is cut to HUB_STIX_EXCERPT_MAX bytes at a character
 * boundary, so a name running over the cut is caught too.
 */
static char *
row_excerpt(struct ex *x, const struct hub_indicator *d)
{
	char hname[HUB_HOST_MAX + 1], hid[HUB_HOST_MAX + 1], label[64];
	const char *own[4];
	struct pk_jr_val v;
	const unsigned char *raw;
	json_t *j;
	char *t;
	size_t rn, i, o = 0, cut = 0, k;

	if (d->json == NULL || pk_jr_find(d->json, d->json_len,
	    "picket.details.excerpt", &v) != 1 || v.type != PK_JR_STRING ||
	    (j = json_loadb(v.p, v.len, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    NULL)) == NULL)
		return NULL;
	raw = (const unsigned char *)json_string_value(j);
	rn = json_string_length(j);
	if (raw == NULL || rn == 0 || (t = malloc(rn * 4 + 1)) == NULL) {
		if (raw != NULL && rn > 0)
			x->nomem = 1;
		json_decref(j);
		return NULL;
	}
	for (i = 0; i < rn; i++) {
		/* a continuation byte never starts a character */
		if ((raw[i] & 0xc0) != 0x80 && o <= HUB_STIX_EXCERPT_MAX)
			cut = o;
		if (raw[i] == '\\') {
			t[o++] = '\\';
			t[o++] = '\\';
		} else if (raw[i] < 0x20 || raw[i] == 0x7f)
			o += (size_t)snprintf(t + o, 5, "\\x%02x", raw[i]);
		else
			t[o++] = (char)raw[i];
	}
	if (o <= HUB_STIX_EXCERPT_MAX)
		cut = o;
	t[o] = '\0';
	json_decref(j);
	if (own_field(d, "host.name", hname, sizeof(hname)) == -1 ||
	    own_field(d, "host.id", hid, sizeof(hid)) == -1) {
		/* a name too long to check is not checked against: withheld */
		x->st.excerpts_withheld++;
		free(t);
		return NULL;
	}
	/* "ws-17" of "ws-17.agency.example" names the host too */
	k = strcspn(hname, ".");
	label[0] = '\0';
	if (k >= 3 && k < sizeof(label) && hname[k] == '.')
		snprintf(label, sizeof(label), "%.*s", (int)k, hname);
	own[0] = d->agent_id;
	own[1] = hname;
	own[2] = hid;
	own[3] = label;
	if (hub_sharing_text_leaks(x->sh, t, o, own, 4) != HUB_LEAK_NONE) {
		x->st.excerpts_withheld++;
		free(t);
		return NULL;
	}
	t[cut] = '\0';
	if (cut == 0) {
		free(t);
		return NULL;
	}
	return t;
}

/* One row the caller decided to look at (the window or the peer's
 * cursor chose it): its shareable values observed. */
static void
take_row(struct ex *x, const struct hub_indicator *d)
{
	const struct hub_stix_params *p = x->p;
	char v[VALUE_MAX], t[HUB_SHORT_MAX];
	char pat[PATTERN_MAX], name[320], shown[PK_ADDRSTRLEN + 8];
	char *excerpt = NULL;
	int64_t first, last;
	int tlp, used = 0, rc;

	x->st.scanned++;
	if (has_prefix(d->rule_id, "picket.health."))
		return;
	tlp = hub_stix_row_tlp(d);
	if (tlp > p->tlp) {
		x->st.tlp_filtered++;
		return;
	}
	if (hub_parse_time(d->first_seen, &first) == -1)
		first = d->ts_us;
	if (hub_parse_time(d->last_seen, &last) == -1 || last < first)
		last = PK_MAX(first, d->ts_us);
	/* below AMBER an excerpt never goes, whatever the policy says */
	if (p->excerpts && tlp >= HUB_TLP_AMBER && tlp < HUB_TLP_RED)
		excerpt = row_excerpt(x, d);
	x->row_excerpt = excerpt;

	/* 1. the listed value an IOC match names */
	json_field(d, "threat.indicator.name", v, sizeof(v));
	json_field(d, "threat.indicator.type", t, sizeof(t));
	if (v[0] != '\0') {
		rc = ioc_pattern(x->sh, t, v, pat, sizeof(pat), name,
		    sizeof(name));
		if (rc == V_OK)
			used += observe(x, O_IOC, pat, name, d, tlp, first,
			    last);
		else if (rc == V_INTERNAL || rc == V_INTERNAL_NAME)
			x->st.redacted++;
		if (rc == V_INTERNAL_NAME)
			x->st.redacted_names++;
	}
	/* 2. a worm fingerprint: the same value on any member's hosts */
	if (has_prefix(d->rule_id, "picket.fingerprint.") &&
	    strlen(d->fingerprint) <= 64 &&
	    all_hex(d->fingerprint, strlen(d->fingerprint))) {
		pk_strlcpy(v, d->fingerprint, sizeof(v));
		lower(v);
		snprintf(pat, sizeof(pat), "[x-picket-fingerprint:value = "
		    "'%s']", v);
		snprintf(name, sizeof(name), "Worm payload fingerprint %.64s",
		    v);
		used += observe(x, O_FP, pat, name, d, tlp, first, last);
	}
	/* 3. the outside address that acted: only when the agent says the
	 * source is not one of its own (inbound, or seen between two
	 * outside hosts).  Outbound sources are our hosts, whatever their
	 * address; destinations are victims or our hosts: never shared. */
	if (d->source_ip[0] != '\0' &&
	    (strcmp(d->direction, "inbound") == 0 ||
	    strcmp(d->direction, "external") == 0)) {
		rc = addr_pattern(x->sh, d->source_ip, pat, sizeof(pat), shown,
		    sizeof(shown));
		if (rc == V_OK) {
			snprintf(name, sizeof(name), "Attack source %s",
			    shown);
			used += observe(x, O_ACTOR, pat, name, d, tlp, first,
			    last);
		} else if (rc == V_INTERNAL)
			x->st.redacted++;
	}
	x->row_excerpt = NULL;
	free(excerpt);
	if (!used)
		x->st.unusable++;
}

static int
on_row(void *arg, const struct hub_indicator *d)
{
	struct ex *x = arg;

	if (d->ts_us >= x->p->until_us)
		return 1;
	if (x->st.scanned >= x->p->max_indicators) {
		x->st.truncated = 1;
		return 1;
	}
	take_row(x, d);
	return x->nomem;
}

/* ---- output ----------------------------------------------------------- */

static int
put(json_t *o, const char *k, json_t *v)
{
	return v == NULL || json_object_set_new(o, k, v) == -1 ? -1 : 0;
}

static json_t *
jtime(int64_t us)
{
	char b[HUB_TIME_MS_LEN];

	return json_string(hub_time_ms(us, b, sizeof(b)));
}

/* "<type>--<uuid5 of picket|type|hub|key>" */
static void
make_id(const char *type, const char *hub, const char *key, char *out,
    size_t cap)
{
	struct pk_sha256 c;
	uint8_t h[32];
	char u[37], hex[65];

	/* The name can be long (URLs): digest it first, UUIDv5 of that. */
	pk_sha256_init(&c);
	pk_sha256_update(&c, "picket|", 7);
	pk_sha256_update(&c, type, strlen(type));
	pk_sha256_update(&c, "|", 1);
	pk_sha256_update(&c, hub, strlen(hub));
	pk_sha256_update(&c, "|", 1);
	pk_sha256_update(&c, key, strlen(key));
	pk_sha256_final(&c, h);
	pk_hex(h, sizeof(h), hex);
	hub_uuid5(stix_ns, hex, 64, u);
	snprintf(out, cap, "%s--%s", type, u);
}

static json_t *
marking_json(int tlp)
{
	json_t *j = json_object(), *ext = json_object(), *e = json_object();
	int bad = 0;

	bad |= put(e, "extension_type", json_string("property-extension"));
	bad |= put(e, "tlp_2_0", json_string(tlps[tlp].value));
	bad |= put(ext, TLP2_EXT, e);
	bad |= put(j, "type", json_string("marking-definition"));
	bad |= put(j, "spec_version", json_string("2.1"));
	bad |= put(j, "id", json_string(tlps[tlp].id));
	bad |= put(j, "created", json_string(TLP2_CREATED));
	bad |= put(j, "name", json_string(tlps[tlp].name));
	bad |= put(j, "extensions", ext);
	if (bad || j == NULL) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *
identity_json(const char *id, const char *name)
{
	json_t *j = json_object();
	int bad = 0;

	bad |= put(j, "type", json_string("identity"));
	bad |= put(j, "spec_version", json_string("2.1"));
	bad |= put(j, "id", json_string(id));
	bad |= put(j, "created", json_string(IDENTITY_TIME));
	bad |= put(j, "modified", json_string(IDENTITY_TIME));
	bad |= put(j, "name", hub_json_str(name));
	bad |= put(j, "identity_class", json_string("organization"));
	if (bad || j == NULL) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *
markings(int tlp)
{
	json_t *a = json_array();

	if (json_array_append_new(a, json_string(tlps[tlp].id)) == -1) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static json_t *
indicator_json(const struct obj *o, const char *id, const char *ident)
{
	json_t *j = json_object(), *types = json_array(), *rules = json_array();
	int64_t mod = PK_MAX(o->last_us, o->first_us);
	uint32_t i;
	int bad = 0;

	bad |= json_array_append_new(types, json_string(o->itype));
	for (i = 0; i < o->nrules; i++)
		bad |= json_array_append_new(rules, hub_json_str(o->rules[i]));
	bad |= put(j, "type", json_string("indicator"));
	bad |= put(j, "spec_version", json_string("2.1"));
	bad |= put(j, "id", json_string(id));
	bad |= put(j, "created", jtime(o->first_us));
	bad |= put(j, "modified", jtime(mod));
	bad |= put(j, "created_by_ref", json_string(ident));
	bad |= put(j, "name", hub_json_str(o->name));
	bad |= put(j, "indicator_types", types);
	bad |= put(j, "pattern", hub_json_str(o->pattern));
	bad |= put(j, "pattern_type", json_string("stix"));
	bad |= put(j, "pattern_version", json_string("2.1"));
	bad |= put(j, "valid_from", jtime(o->first_us));
	bad |= put(j, "object_marking_refs", markings(o->tlp));
	bad |= put(j, "x_picket_rule_ids", rules);
	if (o->kind == O_FP) {
		/* the value alone, for peers that search their own store */
		const char *q = strchr(o->pattern, '\'');

		bad |= put(j, "x_picket_fingerprint", json_stringn(q + 1,
		    strlen(q + 1) - 2));
	}
	/* only ever from AMBER rows, so o->tlp is AMBER or stricter; the
	 * test stays in case a row's marking reads differently later */
	if (o->excerpt != NULL && o->tlp >= HUB_TLP_AMBER)
		bad |= put(j, "x_picket_excerpt", hub_json_str(o->excerpt));
	if (bad || j == NULL) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *
sighting_json(struct ex *x, const struct obj *o, const char *id,
    const char *ind_id, const char *ident)
{
	json_t *j = json_object(), *where = json_array(), *ps;
	const struct pair *pr = &x->pairs[o->ent_off];
	char pn[HUB_PSEUDONYM_LEN + 1];
	int64_t mod = PK_MAX(o->last_us, o->first_us);
	uint32_t i;
	int bad = 0;

	bad |= json_array_append_new(where, json_string(ident));
	bad |= put(j, "type", json_string("sighting"));
	bad |= put(j, "spec_version", json_string("2.1"));
	bad |= put(j, "id", json_string(id));
	bad |= put(j, "created", jtime(o->first_us));
	bad |= put(j, "modified", jtime(mod));
	bad |= put(j, "created_by_ref", json_string(ident));
	bad |= put(j, "first_seen", jtime(o->first_us));
	bad |= put(j, "last_seen", jtime(mod));
	bad |= put(j, "count", json_integer((json_int_t)PK_MIN(o->count,
	    (uint64_t)COUNT_MAX)));
	bad |= put(j, "sighting_of_ref", json_string(ind_id));
	bad |= put(j, "where_sighted_refs", where);
	bad |= put(j, "object_marking_refs", markings(o->tlp));
	bad |= put(j, "x_picket_hosts", json_integer(o->nhosts));
	if (x->sh->host_pseudonyms) {
		ps = json_array();
		for (i = 0; i < o->nhosts && i < PSEUDONYMS_MAX; i++) {
			hub_pseudonym(x->sh->secret, x->hosts[pr[i].host], pn);
			bad |= json_array_append_new(ps, json_string(pn));
		}
		bad |= put(j, "x_picket_host_pseudonyms", ps);
	}
	if (bad || j == NULL) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static const struct obj *sort_objs;

static int
obj_cmp(const void *a, const void *b)
{
	return strcmp(sort_objs[*(const uint32_t *)a].pattern,
	    sort_objs[*(const uint32_t *)b].pattern);
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->obj != y->obj)
		return x->obj < y->obj ? -1 : 1;
	if (x->host != y->host)
		return x->host < y->host ? -1 : 1;
	return 0;
}

static json_t *
bundle_json(struct ex *x)
{
	const char *hub = x->sh->hub_name;
	char ident[80], iid[80], sid[80], bid[80], hex[65];
	json_t *b = json_object(), *objs = json_array();
	int used[HUB_TLP__N] = { 0 };
	struct pk_sha256 c;
	uint8_t h[32];
	uint32_t *idx = NULL, i;
	int bad = 0, t;

	if (b == NULL || objs == NULL)
		goto fail;
	if (x->nobjs > 0 &&
	    (idx = malloc((size_t)x->nobjs * sizeof(*idx))) == NULL)
		goto fail;
	for (i = 0; i < x->nobjs; i++) {
		idx[i] = i;
		used[x->objs[i].tlp] = 1;
	}
	sort_objs = x->objs;
	if (x->nobjs > 0)
		qsort(idx, x->nobjs, sizeof(*idx), obj_cmp);
	sort_objs = NULL;
	if (x->npairs > 0)
		qsort(x->pairs, x->npairs, sizeof(*x->pairs), pair_cmp);
	for (i = x->npairs; i > 0; i--)
		x->objs[x->pairs[i - 1].obj].ent_off = i - 1;

	make_id("identity", hub, "", ident, sizeof(ident));
	/* the bundle id is a digest of what it carries */
	pk_sha256_init(&c);
	pk_sha256_update(&c, ident, strlen(ident));
	bad |= json_array_append_new(objs, identity_json(ident, hub));
	for (t = 0; t < HUB_TLP__N; t++)
		if (used[t])
			bad |= json_array_append_new(objs, marking_json(t));
	for (i = 0; i < x->nobjs; i++) {
		const struct obj *o = &x->objs[idx[i]];
		char mod[HUB_TIME_MS_LEN];

		make_id("indicator", hub, o->pattern, iid, sizeof(iid));
		make_id("sighting", hub, o->pattern, sid, sizeof(sid));
		bad |= json_array_append_new(objs, indicator_json(o, iid,
		    ident));
		if (o->excerpt != NULL && o->tlp >= HUB_TLP_AMBER)
			x->st.excerpts++;
		bad |= json_array_append_new(objs, sighting_json(x, o, sid,
		    iid, ident));
		hub_time_ms(PK_MAX(o->last_us, o->first_us), mod, sizeof(mod));
		pk_sha256_update(&c, sid, strlen(sid));
		pk_sha256_update(&c, mod, strlen(mod));
		pk_sha256_update(&c, &o->count, sizeof(o->count));
		x->st.indicators++;
		x->st.sightings++;
	}
	free(idx);
	idx = NULL;
	pk_sha256_final(&c, h);
	pk_hex(h, sizeof(h), hex);
	make_id("bundle", hub, hex, bid, sizeof(bid));
	bad |= put(b, "type", json_string("bundle"));
	bad |= put(b, "id", json_string(bid));
	bad |= put(b, "objects", objs);
	objs = NULL;
	if (bad)
		goto fail;
	return b;
fail:
	free(idx);
	json_decref(objs);
	json_decref(b);
	return NULL;
}

static int
secret_set(const struct hub_sharing *s)
{
	size_t i;

	for (i = 0; i < sizeof(s->secret); i++)
		if (s->secret[i] != 0)
			return 1;
	return 0;
}

static void
ex_free(struct ex *x)
{
	uint32_t i;

	for (i = 0; i < x->nobjs; i++) {
		free(x->objs[i].pattern);
		free(x->objs[i].name);
		free(x->objs[i].excerpt);
	}
	free(x->objs);
	free(x->hosts);
	free(x->fnds);
	free(x->pairs);
	hub_itab_free(&x->hix);
	hub_itab_free(&x->oix);
	hub_itab_free(&x->fix);
	hub_itab_free(&x->pix);
}

/* The checks every export makes, window or not: 0 / -1 with err. */
static int
params_ok(const struct hub_stix_params *p, char *err, size_t errlen)
{
	const struct hub_sharing *sh = p->sharing;

	if (sh == NULL || sh->hub_name == NULL || sh->hub_name[0] == '\0') {
		snprintf(err, errlen, "sharing settings without a hub name");
		return -1;
	}
	if (sh->host_pseudonyms && !secret_set(sh)) {
		/* with a known key a pseudonym is a dictionary lookup away
		 * from the host name */
		snprintf(err, errlen, "host pseudonyms need a sharing secret");
		return -1;
	}
	if (p->tlp < 0 || p->tlp >= HUB_TLP__N || p->max_indicators < 1 ||
	    p->max_indicators > HUB_OB_MAX_INDICATORS_CAP ||
	    p->max_objects < 1 || p->max_objects > HUB_STIX_MAX_OBJECTS_CAP) {
		snprintf(err, errlen, "parameters out of range");
		return -1;
	}
	return 0;
}

static int
ex_init(struct ex *x, const struct hub_stix_params *p, char *err,
    size_t errlen)
{
	memset(x, 0, sizeof(*x));
	x->p = p;
	x->sh = p->sharing;
	if (hub_itab_init(&x->hix, 64) == -1 ||
	    hub_itab_init(&x->oix, 256) == -1 ||
	    hub_itab_init(&x->fix, 1024) == -1 ||
	    hub_itab_init(&x->pix, 1024) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

json_t *
hub_stix_bundle(struct hub_store *st, const struct hub_stix_params *p,
    char *err, size_t errlen)
{
	struct hub_query q;
	struct ex x;
	json_t *res = NULL;

	if (params_ok(p, err, errlen) == -1)
		return NULL;
	if (p->since_us >= p->until_us) {
		snprintf(err, errlen, "since must be before until");
		return NULL;
	}
	if (ex_init(&x, p, err, errlen) == -1)
		goto out;
	memset(&q, 0, sizeof(q));
	q.since_us = p->since_us != 0 ? p->since_us : 1;
	q.kind = "alert";
	q.limit = p->max_indicators + 1;
	if (st->ops->query(st, &q, on_row, &x) == -1 || x.nomem) {
		snprintf(err, errlen, x.nomem ? "out of memory" :
		    "store query failed");
		goto out;
	}
	if ((res = bundle_json(&x)) == NULL)
		snprintf(err, errlen, "out of memory");
out:
	if (p->stats != NULL)
		*p->stats = x.st;
	ex_free(&x);
	return res;
}

/* ---- a bundle from rows the caller picks -------------------------------- */

struct hub_stix_build {
	struct ex	 x;
};

struct hub_stix_build *
hub_stix_begin(const struct hub_stix_params *p, char *err, size_t errlen)
{
	struct hub_stix_build *b;

	if (params_ok(p, err, errlen) == -1)
		return NULL;
	if (p->max_objects < HUB_STIX_ROW_VALUES) {
		/* a row that can never fit would hold the caller's cursor
		 * back for ever */
		snprintf(err, errlen, "parameters out of range");
		return NULL;
	}
	if ((b = malloc(sizeof(*b))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ex_init(&b->x, p, err, errlen) == -1) {
		ex_free(&b->x);
		free(b);
		return NULL;
	}
	return b;
}

int
hub_stix_add(struct hub_stix_build *b, const struct hub_indicator *d)
{
	struct ex *x = &b->x;

	if (x->nomem)
		return -1;
	if (x->st.scanned >= x->p->max_indicators ||
	    x->nobjs + HUB_STIX_ROW_VALUES > x->p->max_objects) {
		x->st.truncated = 1;
		return HUB_STIX_FULL;
	}
	take_row(x, d);
	return x->nomem ? -1 : 0;
}

uint32_t
hub_stix_count(const struct hub_stix_build *b)
{
	return b->x.nobjs;
}

json_t *
hub_stix_finish(struct hub_stix_build *b, char *err, size_t errlen)
{
	json_t *res = NULL;

	if (b->x.nomem)
		snprintf(err, errlen, "out of memory");
	else if ((res = bundle_json(&b->x)) == NULL)
		snprintf(err, errlen, "out of memory");
	if (b->x.p->stats != NULL)
		*b->x.p->stats = b->x.st;
	hub_stix_abort(b);
	return res;
}

void
hub_stix_abort(struct hub_stix_build *b)
{
	if (b == NULL)
		return;
	ex_free(&b->x);
	free(b);
}
