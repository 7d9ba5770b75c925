/*
 * share_in.c - reading a bundle a peer sent (share.h, docs/peering.md
 * "Validation").  Everything in it is a stranger's: the size is checked
 * first, then the nesting depth by a small scanner before jansson sees a
 * byte (so a deep document costs nothing), then the bundle's frame.  Each
 * object is then taken or refused on its own with a short reason: only
 * indicators with one exact comparison on an address, a domain, a URL or
 * a SHA-256, values that name something specific enough to act on, and
 * TLP markings the peer's policy accepts; a payload excerpt only on an
 * indicator marked AMBER or stricter.  Sightings only add counts to an
 * indicator of the same bundle.  Called by hub/peering.c, the unit
 * tests and tests/fuzz/fuzz_share.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/netaddr.h"
#include "common/util.h"
#include "hub/outbreak.h"
#include "hub/share.h"

#define REFUSALS_LISTED	100	/* what the answer lists */
#define PSEUDONYMS_MAX	64	/* the export lists at most 64 */
#define COUNT_MAX	999999999	/* STIX sighting count ceiling */
#define RULE_LEN_MAX	256
#define ORIGIN_MAX	(HUB_PEER_NAME_MAX * 2)
#define EMPTY		UINT32_MAX

/* The six things a peer may share, by pattern path. */
static const struct {
	const char	*path, *kind;
} paths[] = {
	{ "ipv4-addr:value", "ipv4" },
	{ "ipv6-addr:value", "ipv6" },
	{ "domain-name:value", "domain" },
	{ "url:value", "url" },
	{ "file:hashes.'SHA-256'", "sha256" },
	{ "x-picket-fingerprint:value", "fingerprint" },
};
enum { K_IPV4, K_IPV6, K_DOMAIN, K_URL, K_SHA256, K_FP };

struct rd {
	const struct hub_share_limits *lim;
	int64_t			 now;
	struct hub_share_in	*in;
	size_t			 items_cap;
	uint8_t			*sighted;	/* per item */
	size_t			 sighted_cap;
	struct hub_itab		 ix;		/* stix_id -> item */
	const char		*key;		/* being looked up */
	int			 identities;
	int			 nomem;
};

/* ---- small helpers ------------------------------------------------------ */

static int
is_lhex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* n bytes of hex, either case. */
static int
all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (pk_hexval((unsigned char)s[i]) < 0)
			return 0;
	return 1;
}

/* "<type>--<uuid>", the UUID in lower-case 8-4-4-4-12 hex. */
static int
stix_id_ok(const char *s, const char *type)
{
	size_t n = strlen(type), i;

	if (strncmp(s, type, n) != 0 || s[n] != '-' || s[n + 1] != '-')
		return 0;
	s += n + 2;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!is_lhex((unsigned char)s[i]))
			return 0;
	}
	return s[36] == '\0';
}

/* Printable ASCII of s, at most cap - 1 bytes, others as '?': what goes
 * back to the sender in a reason is always valid UTF-8 and short. */
static void
safe_copy(char *out, size_t cap, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < cap && s[i] != '\0'; i++)
		out[i] = (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

static const char *
sget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- the scanner that runs before jansson ------------------------------ */

/*
 * 1 if no '[' or '{' outside strings opens deeper than max.  Only the
 * depth is judged here; jansson judges the rest, on a document now known
 * to be shallow.  One pass, one byte of look-ahead for escapes.
 */
static int
depth_ok(const char *s, size_t n, int max)
{
	int d = 0, in_str = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;	/* the escaped byte, whatever it is */
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '[' || c == '{') {
			if (++d > max)
				return 0;
		} else if ((c == ']' || c == '}') && d > 0)
			d--;
	}
	return 1;
}

/* 1 if every string and key in j is at most HUB_SHARE_STR_MAX bytes;
 * the depth was bounded before parsing, and lev bounds it again. */
static int
strings_ok(const json_t *j, int lev)
{
	const char *k;
	json_t *v;
	size_t i;

	if (lev > HUB_SHARE_DEPTH_MAX)
		return 0;
	if (json_is_string(j))
		return json_string_length(j) <= HUB_SHARE_STR_MAX;
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if (!strings_ok(v, lev + 1))
				return 0;
	} else if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v)
			if (strlen(k) > HUB_SHARE_STR_MAX ||
			    !strings_ok(v, lev + 1))
				return 0;
	}
	return 1;
}

/* ---- refusals ----------------------------------------------------------- */

static void
refuse(struct rd *r, const json_t *o, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
refuse(struct rd *r, const json_t *o, const char *fmt, ...)
{
	struct hub_share_in *in = r->in;
	struct hub_share_refusal *f;
	const char *id = json_is_object(o) ? sget(o, "id") : NULL;
	char reason[HUB_SHARE_REASON_MAX];
	va_list ap;

	in->nrefused++;
	if (in->nrefused_listed >= REFUSALS_LISTED)
		return;
	if (in->refused == NULL &&
	    (in->refused = calloc(REFUSALS_LISTED, sizeof(*f))) == NULL) {
		r->nomem = 1;
		return;
	}
	f = &in->refused[in->nrefused_listed++];
	/* an id is echoed only whole (never cut short), in printable
	 * ASCII: the answer must stay valid UTF-8 */
	f->id[0] = '\0';
	if (id != NULL && strlen(id) < sizeof(f->id))
		safe_copy(f->id, sizeof(f->id), id);
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	safe_copy(f->reason, sizeof(f->reason), reason);
}

/* ---- markings ----------------------------------------------------------- */

/* The TLP of a marking-definition id, or -1 for any other. */
static int
tlp_of(const char *id)
{
	int t;

	for (t = 0; t < HUB_TLP__N && id != NULL; t++)
		if (strcmp(id, hub_tlp_marking_id(t)) == 0)
			return t;
	return -1;
}

/* The object's one TLP marking, accepted: its level, or -1 refused with
 * the reason in why. */
static int
marking(const struct rd *r, const json_t *o, char *why, size_t wlen)
{
	const json_t *m = json_object_get(o, "object_marking_refs");
	int t;

	if (m == NULL || !json_is_array(m) || json_array_size(m) == 0) {
		snprintf(why, wlen, "no TLP marking");
		return -1;
	}
	if (json_array_size(m) != 1) {
		snprintf(why, wlen, "more than one marking");
		return -1;
	}
	if ((t = tlp_of(json_string_value(json_array_get(m, 0)))) == -1) {
		snprintf(why, wlen, "unknown marking");
		return -1;
	}
	if (t >= HUB_TLP_RED) {
		snprintf(why, wlen, "TLP:RED is never accepted");
		return -1;
	}
	if (t > r->lim->accept_tlp) {
		snprintf(why, wlen, "%s is above what is accepted from this "
		    "peer (%s)", hub_tlp_name(t),
		    hub_tlp_name(r->lim->accept_tlp));
		return -1;
	}
	return t;
}

/* ---- values ------------------------------------------------------------- */

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * A DNS name specific enough to act on: labels of letters, digits, '-'
 * (and '_', which the export also sends), at least two of them, at most
 * 253 bytes, ending in an alphabetic or IDN ("xn--") label so that no
 * spelling of an address ("10.0.0.5") passes as a name.  0 ok, -1 bad,
 * -2 too broad (one label).
 */
static int
domain_check(const char *s, size_t n)
{
	size_t last, i;

	if (n == 0 || n > 253 || !pk_hostname_ok((const uint8_t *)s, n))
		return -1;
	if (memchr(s, '.', n) == NULL)
		return -2;
	for (last = n; last > 0 && s[last - 1] != '.'; last--)
		;
	if (n - last >= 4 && strncmp(s + last, "xn--", 4) == 0)
		return 0;
	for (i = last; i < n; i++)
		if (!is_alpha((unsigned char)s[i]))
			return -1;
	return 0;
}

/* An address or network of family fam, at least minp bits long, put
 * back in canonical text.  0, -1 bad, -2 too broad. */
static int
addr_check(char *v, int fam, unsigned minp)
{
	char a[PK_ADDRSTRLEN];
	struct pk_cidr c;

	if (strlen(v) >= PK_ADDRSTRLEN + 4 || pk_cidr_parse(v, &c) == -1 ||
	    c.net.family != fam)
		return -1;
	if (c.plen < minp)
		return -2;
	pk_addr_format(&c.net, a, sizeof(a));
	if (c.plen == (fam == 4 ? 32 : 128))
		snprintf(v, HUB_SHARED_VALUE_MAX + 1, "%s", a);
	else
		snprintf(v, HUB_SHARED_VALUE_MAX + 1, "%s/%u", a, c.plen);
	return 0;
}

/*
 * http, https or ftp, "://", an optional user info, a host that is an
 * address (IPv6 in brackets) or a name as above, an optional port, then
 * anything printable.  The scheme and the host are lower-cased (they
 * are case-blind); the rest keeps its case.  0, -1 bad, -2 no host.
 */
static int
url_check(char *v)
{
	static const char *const schemes[] = { "http://", "https://",
	    "ftp://" };
	char host[256];
	size_t n = strlen(v), i, hn, s = 0;
	char *h, *e, *at, *p;
	struct pk_addr a;

	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			return -1;
	for (i = 0; i < PK_NELEM(schemes); i++) {
		s = strlen(schemes[i]);
		if (n >= s && strncasecmp(v, schemes[i], s) == 0)
			break;
	}
	if (i == PK_NELEM(schemes))
		return -1;
	for (p = v; p < v + s; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	h = v + s;
	e = h + strcspn(h, "/?#");
	for (at = h; at < e; at++)	/* user info is not the host */
		if (*at == '@')
			h = at + 1;
	if (h == e)
		return -2;
	if (*h == '[') {
		if ((p = memchr(h, ']', (size_t)(e - h))) == NULL)
			return -1;
		hn = (size_t)(p - h - 1);
		if (hn == 0 || hn >= sizeof(host))
			return -1;
		memcpy(host, h + 1, hn);
		host[hn] = '\0';
		if (pk_addr_parse(host, &a) == -1 || a.family != 6)
			return -1;
		p++;
	} else {
		for (p = h; p < e && *p != ':'; p++)
			;
		hn = (size_t)(p - h);
		if (hn == 0)
			return -2;
		if (hn >= sizeof(host))
			return -1;
		memcpy(host, h, hn);
		host[hn] = '\0';
		if (pk_addr_parse(host, &a) == -1) {
			if (domain_check(host, hn) != 0)
				return -1;
		} else if (a.family != 4)
			return -1;
	}
	if (p < e) {	/* ":port" */
		size_t nd = (size_t)(e - p - 1);
		unsigned port = 0;

		if (*p != ':' || nd == 0 || nd > 5)
			return -1;
		for (i = 1; i <= nd; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -1;
			port = port * 10 + (unsigned)(p[i] - '0');
		}
		if (port == 0 || port > 65535)
			return -1;
	}
	for (p = h; p < e && *p != ':' && *p != ']'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	return 0;
}

/* v checked and made canonical for kind k: 0, or -1 with the reason. */
static int
value_check(int k, char *v, char *why, size_t wlen)
{
	int rc;

	switch (k) {
	case K_IPV4:
		if ((rc = addr_check(v, 4, 16)) == -2)
			snprintf(why, wlen, "matches too much: IPv4 network "
			    "shorter than /16");
		break;
	case K_IPV6:
		if ((rc = addr_check(v, 6, 32)) == -2)
			snprintf(why, wlen, "matches too much: IPv6 network "
			    "shorter than /32");
		break;
	case K_DOMAIN:
		lower(v);
		if ((rc = domain_check(v, strlen(v))) == -2)
			snprintf(why, wlen, "matches too much: a domain of "
			    "one label");
		break;
	case K_URL:
		if ((rc = url_check(v)) == -2)
			snprintf(why, wlen, "matches too much: a URL without "
			    "a host");
		break;
	case K_FP:
		/* a worm fingerprint as the agents make it: 32 to 64 hex */
		rc = strlen(v) >= 32 && strlen(v) <= 64 &&
		    all_hex(v, strlen(v)) ? 0 : -1;
		lower(v);
		break;
	default:
		rc = strlen(v) == 64 && all_hex(v, 64) ? 0 : -2;
		lower(v);
		if (rc == -2)
			snprintf(why, wlen, "matches too much: a hash that is "
			    "not 64 hex digits");
		break;
	}
	if (rc == -1)
		snprintf(why, wlen, "not a valid %s value", paths[k].kind);
	return rc == 0 ? 0 : -1;
}

/*
 * "[<path> = '<value>']" and nothing else: one comparison, '=' only, the
 * value in single quotes with the two STIX escapes (\' and \\).  The
 * kind (index into paths) and the unescaped value, or -1 with why.
 */
static int
pattern_parse(const char *s, size_t n, int *kind, char *v, size_t vcap,
    char *why, size_t wlen)
{
	size_t i = 0, o = 0, k, pl;

#define SPACES()	while (i < n && s[i] == ' ') i++
	SPACES();
	if (i >= n || s[i++] != '[')
		goto shape;
	SPACES();
	for (k = 0; k < PK_NELEM(paths); k++) {
		pl = strlen(paths[k].path);
		if (n - i >= pl && memcmp(s + i, paths[k].path, pl) == 0 &&
		    (i + pl == n || s[i + pl] == ' ' || s[i + pl] == '='))
			break;
	}
	if (k == PK_NELEM(paths)) {
		snprintf(why, wlen, "pattern path not accepted");
		return -1;
	}
	i += pl;
	SPACES();
	if (i >= n || s[i++] != '=')
		goto shape;
	SPACES();
	if (i >= n || s[i++] != '\'')
		goto shape;
	for (;;) {
		if (i >= n)
			goto shape;
		if (s[i] == '\'')
			break;
		if (s[i] == '\\') {
			if (i + 1 >= n || (s[i + 1] != '\'' && s[i + 1] != '\\')) {
				snprintf(why, wlen, "pattern: bad escape");
				return -1;
			}
			i++;
		}
		if (o + 1 >= vcap) {
			snprintf(why, wlen, "pattern value too long");
			return -1;
		}
		v[o++] = s[i++];
	}
	v[o] = '\0';
	i++;
	SPACES();
	if (i >= n || s[i++] != ']')
		goto shape;
	SPACES();
	if (i != n)
		goto shape;
#undef SPACES
	if (o == 0 || memchr(v, '\0', o) != NULL) {
		snprintf(why, wlen, "pattern: empty value");
		return -1;
	}
	*kind = (int)k;
	return 0;
shape:
	snprintf(why, wlen, "pattern is not one comparison [path = 'value']");
	return -1;
}

/* ---- objects ------------------------------------------------------------ */

static int
item_eq(void *arg, uint32_t v)
{
	struct rd *r = arg;

	return strcmp(r->in->items[v].stix_id, r->key) == 0;
}

static uint32_t
item_find(struct rd *r, const char *id, uint64_t *h)
{
	*h = hub_itab_hash(&r->ix, id, strlen(id));
	r->key = id;
	return hub_itab_find(&r->ix, *h, item_eq, r);
}

static void
identity(struct rd *r, const json_t *o)
{
	const char *id = sget(o, "id"), *name = sget(o, "name");
	size_t i, n;

	if (id == NULL || !stix_id_ok(id, "identity")) {
		refuse(r, o, "bad id");
		return;
	}
	if (r->identities++ > 0) {
		refuse(r, o, "more than one identity");
		return;
	}
	if (name == NULL || (n = strlen(name)) == 0 || n > ORIGIN_MAX) {
		refuse(r, o, "identity name missing or over %d bytes",
		    ORIGIN_MAX);
		return;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
			refuse(r, o, "identity name with control characters");
			return;
		}
	pk_strlcpy(r->in->origin, name, sizeof(r->in->origin));
}

/* x_picket_rule_ids, when present, as JSON text into out. */
static int
rule_ids(const json_t *o, char *out, size_t cap, char *why, size_t wlen)
{
	const json_t *a = json_object_get(o, "x_picket_rule_ids");
	size_t i, n;
	json_t *v;

	pk_strlcpy(out, "[]", cap);
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > HUB_SHARE_RULES_MAX)
		goto bad;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL || (n = strlen(s)) == 0 || n > RULE_LEN_MAX)
			goto bad;
		for (; *s != '\0'; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				goto bad;
	}
	n = json_dumpb(a, out, cap - 1, JSON_COMPACT);
	if (n == 0 || n >= cap - 1)
		goto bad;
	out[n] = '\0';
	return 0;
bad:
	snprintf(why, wlen, "x_picket_rule_ids: at most %d strings of %d "
	    "bytes", HUB_SHARE_RULES_MAX, RULE_LEN_MAX);
	return -1;
}

/*
 * x_picket_excerpt, when present, into out: a string of at most
 * HUB_SHARE_EXCERPT_MAX bytes without NUL, on an indicator the sender
 * marked TLP:AMBER or AMBER+STRICT (a payload may carry the sender's own
 * data, so it is never shared wider).  0, or -1 with why.
 */
static int
excerpt(const json_t *o, int tlp, char *out, size_t cap, char *why,
    size_t wlen)
{
	const json_t *x = json_object_get(o, "x_picket_excerpt");
	size_t n;

	out[0] = '\0';
	if (x == NULL)
		return 0;
	if (!json_is_string(x)) {
		snprintf(why, wlen, "x_picket_excerpt is not a string");
		return -1;
	}
	if (tlp < HUB_TLP_AMBER) {
		snprintf(why, wlen, "x_picket_excerpt under a marking below "
		    "TLP:AMBER");
		return -1;
	}
	n = json_string_length(x);
	if (n > HUB_SHARE_EXCERPT_MAX || n >= cap ||
	    memchr(json_string_value(x), '\0', n) != NULL) {
		snprintf(why, wlen, "x_picket_excerpt: at most %d bytes, no "
		    "NUL", HUB_SHARE_EXCERPT_MAX);
		return -1;
	}
	memcpy(out, json_string_value(x), n);
	out[n] = '\0';
	return 0;
}

static void
indicator(struct rd *r, const json_t *o)
{
	struct hub_share_in *in = r->in;
	const char *id = sget(o, "id"), *pt = sget(o, "pattern_type");
	const json_t *pat = json_object_get(o, "pattern"), *fpj;
	char why[HUB_SHARE_REASON_MAX], sid[64];
	struct hub_shared *s;
	uint64_t h;
	int kind, tlp;

	if (id == NULL || !stix_id_ok(id, "indicator")) {
		refuse(r, o, "bad id");
		return;
	}
	pk_strlcpy(sid, id, sizeof(sid));
	if (item_find(r, sid, &h) != EMPTY) {
		refuse(r, o, "duplicate id");
		return;
	}
	if (pt == NULL || strcmp(pt, "stix") != 0) {
		refuse(r, o, "pattern_type is not stix");
		return;
	}
	if (!json_is_string(pat)) {
		refuse(r, o, "no pattern");
		return;
	}
	if ((tlp = marking(r, o, why, sizeof(why))) == -1) {
		refuse(r, o, "%s", why);
		return;
	}
	if (pk_grow(&in->items, &r->items_cap, in->nitems,
	    sizeof(*in->items)) == -1 ||
	    pk_grow(&r->sighted, &r->sighted_cap, in->nitems, 1) == -1) {
		r->nomem = 1;
		return;
	}
	s = &in->items[in->nitems];
	memset(s, 0, sizeof(*s));
	if (pattern_parse(json_string_value(pat), json_string_length(pat),
	    &kind, s->value, sizeof(s->value), why, sizeof(why)) == -1 ||
	    value_check(kind, s->value, why, sizeof(why)) == -1 ||
	    rule_ids(o, s->rule_ids, sizeof(s->rule_ids), why,
	    sizeof(why)) == -1) {
		refuse(r, o, "%s", why);
		return;
	}
	if ((fpj = json_object_get(o, "x_picket_fingerprint")) != NULL) {
		const char *fp = json_string_value(fpj);

		if (fp == NULL || strlen(fp) != 32 || !all_hex(fp, 32)) {
			refuse(r, o, "x_picket_fingerprint is not 32 hex "
			    "digits");
			return;
		}
		pk_strlcpy(s->fingerprint, fp, sizeof(s->fingerprint));
		lower(s->fingerprint);
	}
	if (excerpt(o, tlp, s->excerpt, sizeof(s->excerpt), why,
	    sizeof(why)) == -1) {
		refuse(r, o, "%s", why);
		return;
	}
	pk_strlcpy(s->stix_id, sid, sizeof(s->stix_id));
	pk_strlcpy(s->kind, paths[kind].kind, sizeof(s->kind));
	s->tlp = tlp;
	s->first_received_us = s->last_received_us = r->now;
	s->state = HUB_SHARED_PENDING;
	if (hub_itab_add(&r->ix, h, (uint32_t)in->nitems) == -1) {
		refuse(r, o, "too many indicators");
		return;
	}
	r->sighted[in->nitems] = 0;
	in->nitems++;
}

/* A JSON integer in 0..max, or -1. */
static int64_t
count_of(const json_t *v, int64_t max)
{
	json_int_t n;

	if (!json_is_integer(v))
		return -1;
	n = json_integer_value(v);
	return n >= 0 && n <= max ? (int64_t)n : -1;
}

static void
sighting(struct rd *r, const json_t *o)
{
	const char *id = sget(o, "id"), *ref = sget(o, "sighting_of_ref");
	const json_t *c = json_object_get(o, "count");
	const json_t *hj = json_object_get(o, "x_picket_hosts");
	const json_t *ps = json_object_get(o, "x_picket_host_pseudonyms");
	char why[HUB_SHARE_REASON_MAX];
	struct hub_shared *s;
	int64_t count = 0, hosts = 0;
	uint64_t h;
	uint32_t it;
	size_t i;
	json_t *v;
	int tlp;

	if (id == NULL || !stix_id_ok(id, "sighting")) {
		refuse(r, o, "bad id");
		return;
	}
	if (ref == NULL || !stix_id_ok(ref, "indicator") ||
	    (it = item_find(r, ref, &h)) == EMPTY) {
		refuse(r, o, "not a sighting of an indicator taken from this "
		    "bundle");
		return;
	}
	if ((c != NULL && (count = count_of(c, COUNT_MAX)) == -1) ||
	    (hj != NULL && (hosts = count_of(hj, COUNT_MAX)) == -1)) {
		refuse(r, o, "count and x_picket_hosts must be integers "
		    "0..%d", COUNT_MAX);
		return;
	}
	if (ps != NULL) {
		if (!json_is_array(ps) || json_array_size(ps) > PSEUDONYMS_MAX)
			goto bad_ps;
		json_array_foreach(ps, i, v) {
			const char *p = json_string_value(v);
			size_t k;

			if (p == NULL || strlen(p) != HUB_PSEUDONYM_LEN ||
			    p[0] != 'h' || p[1] != '-')
				goto bad_ps;
			for (k = 2; k < HUB_PSEUDONYM_LEN; k++)
				if (!is_lhex((unsigned char)p[k]))
					goto bad_ps;
		}
	}
	if ((tlp = marking(r, o, why, sizeof(why))) == -1) {
		refuse(r, o, "%s", why);
		return;
	}
	if (r->sighted[it]) {
		refuse(r, o, "a second sighting of one indicator");
		return;
	}
	r->sighted[it] = 1;
	s = &r->in->items[it];
	s->count = (uint64_t)count;
	s->hosts = (uint64_t)hosts;
	/* the counts are as restricted as their own marking says */
	s->tlp = PK_MAX(s->tlp, tlp);
	return;
bad_ps:
	refuse(r, o, "x_picket_host_pseudonyms: at most %d of \"h-\" + 16 hex",
	    PSEUDONYMS_MAX);
}

/* Pass 1 takes everything but sightings, pass 2 the sightings, which
 * may come before the indicator they are about. */
static void
object(struct rd *r, const json_t *o, int pass)
{
	const char *type = json_is_object(o) ? sget(o, "type") : NULL;
	char t[48];

	if (type != NULL && strcmp(type, "sighting") == 0) {
		if (pass != 2)
			return;
		if (!strings_ok(o, 0))
			refuse(r, o, "a string over %d bytes",
			    HUB_SHARE_STR_MAX);
		else
			sighting(r, o);
		return;
	}
	if (pass != 1)
		return;
	if (!json_is_object(o)) {
		refuse(r, o, "not an object");
		return;
	}
	if (!strings_ok(o, 0)) {
		refuse(r, o, "a string over %d bytes", HUB_SHARE_STR_MAX);
		return;
	}
	if (type == NULL)
		refuse(r, o, "no type");
	else if (strcmp(type, "identity") == 0)
		identity(r, o);
	else if (strcmp(type, "marking-definition") == 0) {
		if (tlp_of(sget(o, "id")) == -1)
			refuse(r, o, "unknown marking");
	} else if (strcmp(type, "indicator") == 0)
		indicator(r, o);
	else {
		safe_copy(t, sizeof(t), type);
		refuse(r, o, "type %s is not accepted", t);
	}
}

/* ---- the bundle --------------------------------------------------------- */

/* The frame: 0, or -1 with err (the bundle is refused whole). */
static int
frame(const json_t *root, const struct hub_share_limits *lim, uint64_t *seq,
    const json_t **objs, char *err, size_t errlen)
{
	const char *id, *k;
	const json_t *sq;
	json_t *v;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object");
		return -1;
	}
	json_object_foreach((json_t *)root, k, v)
		if (strcmp(k, "objects") != 0 && (strlen(k) >
		    HUB_SHARE_STR_MAX || !strings_ok(v, 1))) {
			snprintf(err, errlen, "a string over %d bytes",
			    HUB_SHARE_STR_MAX);
			return -1;
		}
	if ((k = sget(root, "type")) == NULL || strcmp(k, "bundle") != 0) {
		snprintf(err, errlen, "not a STIX bundle");
		return -1;
	}
	if ((id = sget(root, "id")) == NULL || !stix_id_ok(id, "bundle")) {
		snprintf(err, errlen, "bad bundle id");
		return -1;
	}
	sq = json_object_get(root, "x_picket_sequence");
	if (sq == NULL) {
		snprintf(err, errlen, "no x_picket_sequence");
		return -1;
	}
	if (!json_is_integer(sq) || json_integer_value(sq) < 1) {
		snprintf(err, errlen, "x_picket_sequence is not a positive "
		    "integer");
		return -1;
	}
	*seq = (uint64_t)json_integer_value(sq);
	*objs = json_object_get(root, "objects");
	if (!json_is_array(*objs)) {
		snprintf(err, errlen, "no objects array");
		return -1;
	}
	if (json_array_size(*objs) > lim->max_objects) {
		snprintf(err, errlen, "more than %zu objects",
		    lim->max_objects);
		return -1;
	}
	return 0;
}

void
hub_share_in_free(struct hub_share_in *in)
{
	if (in == NULL)
		return;
	free(in->items);
	free(in->refused);
	memset(in, 0, sizeof(*in));
}

int
hub_share_parse(const char *body, size_t len,
    const struct hub_share_limits *lim, int64_t now_us,
    struct hub_share_in *in, char *err, size_t errlen)
{
	const json_t *objs;
	json_error_t je;
	json_t *root = NULL;
	struct rd r;
	size_t i;
	json_t *o;
	int pass;

	memset(in, 0, sizeof(*in));
	memset(&r, 0, sizeof(r));
	if (lim->accept_tlp < HUB_TLP_CLEAR || lim->accept_tlp >= HUB_TLP_RED) {
		snprintf(err, errlen, "bad limits");
		return -1;
	}
	if (len > lim->max_bytes) {
		snprintf(err, errlen, "bundle over %zu bytes", lim->max_bytes);
		return -1;
	}
	if (!depth_ok(body, len, HUB_SHARE_DEPTH_MAX)) {
		snprintf(err, errlen, "nesting deeper than %d",
		    HUB_SHARE_DEPTH_MAX);
		return -1;
	}
	if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		char t[64];

		safe_copy(t, sizeof(t), je.text);
		snprintf(err, errlen, "not JSON: %s", t);
		return -1;
	}
	if (frame(root, lim, &in->seq, &objs, err, errlen) == -1)
		goto fail;
	r.lim = lim;
	r.now = now_us;
	r.in = in;
	if (hub_itab_init(&r.ix, json_array_size(objs)) == -1) {
		r.nomem = 1;
		goto nomem;
	}
	for (pass = 1; pass <= 2; pass++)
		json_array_foreach(objs, i, o) {
			object(&r, o, pass);
			if (r.nomem)
				goto nomem;
		}
	/* every item carries the origin the identity named */
	for (i = 0; i < in->nitems; i++)
		pk_strlcpy(in->items[i].origin, in->origin,
		    sizeof(in->items[i].origin));
	hub_itab_free(&r.ix);
	free(r.sighted);
	json_decref(root);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	hub_itab_free(&r.ix);
	free(r.sighted);
	json_decref(root);
	hub_share_in_free(in);
	return -1;
}

json_t *
hub_share_answer(const struct hub_share_in *in, uint64_t accepted,
    uint64_t duplicates)
{
	json_t *a = json_object(), *list = json_array(), *e;
	size_t i, n = PK_MIN(in->nrefused_listed, (size_t)REFUSALS_LISTED);
	int bad = a == NULL || list == NULL;

	for (i = 0; i < n && !bad; i++) {
		e = json_object();
		bad |= e == NULL;
		bad |= json_object_set_new(e, "id",
		    json_string(in->refused[i].id)) == -1;
		bad |= json_object_set_new(e, "reason",
		    json_string(in->refused[i].reason)) == -1;
		bad |= json_array_append_new(list, e) == -1;
	}
	bad |= json_object_set_new(a, "sequence",
	    json_integer((json_int_t)in->seq)) == -1;
	bad |= json_object_set_new(a, "accepted",
	    json_integer((json_int_t)accepted)) == -1;
	bad |= json_object_set_new(a, "duplicates",
	    json_integer((json_int_t)duplicates)) == -1;
	bad |= json_object_set_new(a, "refused", list) == -1;
	list = NULL;
	if (bad) {
		json_decref(list);
		json_decref(a);
		return NULL;
	}
	return a;
}
