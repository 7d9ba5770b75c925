/*
 * ioc.c - indicator-of-compromise sets (see ioc.h; the list format is
 * docs/ioc.md).  Loading parses each line, recognises its type from the
 * value and files it in one of four structures:
 *
 *   addresses  one array per family, sorted by (prefix length, network)
 *              once loading is done; a lookup tries the prefix lengths
 *              present from longest to shortest, one binary search each,
 *              so the most specific listed prefix wins.  16 bytes an
 *              IPv4 entry, 28 an IPv6 one.
 *   domains    an open-addressing hash set of normalised names; a lookup
 *              tries the name, then each parent (label suffix), so a
 *              listed domain matches itself and every subdomain unless
 *              it was listed exact ("=name").
 *   URLs       a hash set keyed by the normalised URL without its scheme
 *              (host[:port]/path?query); a lookup tries the URL, then the
 *              URL without its query (host + path).
 *   SHA-256    a sorted array of 32-byte keys.
 *
 * Strings (names, URLs, descriptions) live in one arena addressed by
 * 32-bit offsets.  Duplicates keep the first entry.  Entries are capped
 * by [ioc] max_entries; every bad line is reported "FILE:LINE: message"
 * and skipped.  Portable: stdio for files, common/dir.h for directories.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/indicator.h"
#include "agent/ioc.h"
#include "common/dir.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/util.h"
#include "transport/bundle.h"

#define IOC_FILE_MAX		(1024UL * 1024 * 1024)	/* bytes per list */
#define IOC_DESC_MAX		256	/* description bytes kept */
#define IOC_REPORT_MAX		1000	/* bad lines printed per list */
#define IOC_LISTS_MAX		65535
#define IOC_NAME_MAX		253
#define IOC_LABEL_MAX		63
#define IOC_MIN_SLOTS		1024u

#define EF_EXACT		0x01	/* domain: no subdomains */

struct a4 {
	uint32_t	 net;
	uint32_t	 line;
	uint32_t	 desc;
	uint16_t	 list;
	uint8_t		 plen;
};

struct a6 {
	uint8_t		 net[16];
	uint32_t	 line;
	uint32_t	 desc;
	uint16_t	 list;
	uint8_t		 plen;
};

struct hent {
	uint8_t		 h[32];
	uint32_t	 line;
	uint32_t	 desc;
	uint16_t	 list;
};

/* A string-set entry: the text at arena + str, the key from keyoff. */
struct sent {
	uint32_t	 str;
	uint32_t	 hash;
	uint32_t	 line;
	uint32_t	 desc;
	uint16_t	 list;
	uint8_t		 flags;
	uint8_t		 keyoff;
};

struct sset {
	uint32_t	*slot;		/* 0 empty, else entry index + 1 */
	size_t		 nslot;		/* power of two */
	struct sent	*e;
	size_t		 n, cap;
};

struct pk_iocset {
	uint64_t	 max;
	char		*arena;
	size_t		 alen, acap;
	char		(*lists)[PK_IOC_LIST_MAX];
	size_t		 nlists, listcap;
	struct a4	*v4;
	size_t		 n4, cap4;
	struct a6	*v6;
	size_t		 n6, cap6;
	size_t		 start4[34], start6[130];	/* by prefix length */
	struct hent	*h;
	size_t		 nh, caph;
	struct sset	 dom, url;
	int		 dirty;		/* arrays need sorting */
	struct pk_ioc_stats st;
};

/* One list being loaded. */
struct loader {
	struct pk_iocset	*set;
	const char		*name;	/* for messages */
	uint16_t		 list;
	FILE			*errfp;
	uint64_t		 bad, reported;
	int			 over_said;
};

static const char *const type_names[PK_IOC__COUNT] = {
	"address", "domain", "url", "sha256",
};

const char *
pk_ioc_type_name(int type)
{
	return type >= 0 && type < PK_IOC__COUNT ? type_names[type] : "?";
}

/* ---- messages ------------------------------------------------------------ */

static void say(FILE *errfp, const char *fmt, ...) PK_PRINTF(2, 3);

static void
say(FILE *errfp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (errfp != NULL)
		fprintf(errfp, "%s\n", msg);
	else
		log_warnx("ioc: %s", msg);
}

static void
bad_line(struct loader *L, uint32_t line, const char *msg)
{
	L->bad++;
	L->set->st.bad++;
	if (L->reported++ < IOC_REPORT_MAX)
		say(L->errfp, "%s:%u: %s", L->name, line, msg);
}

/* ---- small helpers ------------------------------------------------------- */

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Case-insensitive: does s start with the lowercase prefix p? */
static int
has_prefix_ci(const char *s, const char *p)
{
	for (; *p != '\0'; s++, p++)
		if (lower((unsigned char)*s) != *p)
			return 0;
	return 1;
}

static int
parse_sha256(const char *s, uint8_t out[32])
{
	int i, hi, lo;

	for (i = 0; i < 32; i++) {
		if ((hi = pk_hexval((unsigned char)s[2 * i])) < 0 ||
		    (lo = pk_hexval((unsigned char)s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[64] == '\0' ? 0 : -1;
}

static uint32_t
shash(const char *s, size_t n)
{
	uint64_t h = pk_fnv1a64(s, n, PK_FNV_SEED);

	return (uint32_t)(h ^ (h >> 32));
}

/* Copy n bytes into the arena, NUL-terminated; offset or -1. */
static int64_t
arena_add(struct pk_iocset *set, const char *s, size_t n)
{
	size_t need = set->alen + n + 1, ncap;
	char *na;
	int64_t off;

	if (need > UINT32_MAX)
		return -1;
	if (need > set->acap) {
		ncap = set->acap ? set->acap : 4096;
		while (ncap < need)
			ncap *= 2;
		if ((na = realloc(set->arena, ncap)) == NULL)
			return -1;
		set->arena = na;
		set->acap = ncap;
	}
	off = (int64_t)set->alen;
	memcpy(set->arena + set->alen, s, n);
	set->arena[set->alen + n] = '\0';
	set->alen = need;
	return off;
}

/* ---- the set ------------------------------------------------------------- */

struct pk_iocset *
pk_iocset_new(uint64_t max_entries)
{
	struct pk_iocset *set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	set->max = max_entries;
	/* offset 0 is the empty description */
	if (arena_add(set, "", 0) == -1) {
		free(set);
		return NULL;
	}
	return set;
}

void
pk_iocset_free(struct pk_iocset *set)
{
	if (set == NULL)
		return;
	free(set->arena);
	free(set->lists);
	free(set->v4);
	free(set->v6);
	free(set->h);
	free(set->dom.slot);
	free(set->dom.e);
	free(set->url.slot);
	free(set->url.e);
	free(set);
}

static uint64_t
total(const struct pk_iocset *set)
{
	return set->n4 + set->n6 + set->nh + set->dom.n + set->url.n;
}

uint64_t
pk_iocset_size(const struct pk_iocset *set)
{
	return total(set);
}

static void
mem_update(struct pk_iocset *set)
{
	set->st.mem = sizeof(*set) + set->acap +
	    set->listcap * sizeof(*set->lists) +
	    set->cap4 * sizeof(*set->v4) + set->cap6 * sizeof(*set->v6) +
	    set->caph * sizeof(*set->h) +
	    set->dom.nslot * sizeof(uint32_t) +
	    set->dom.cap * sizeof(struct sent) +
	    set->url.nslot * sizeof(uint32_t) +
	    set->url.cap * sizeof(struct sent);
}

const struct pk_ioc_stats *
pk_iocset_stats(const struct pk_iocset *set)
{
	return &set->st;
}

/* ---- string sets -------------------------------------------------------- */

static const char *
skey(const struct pk_iocset *set, const struct sent *e)
{
	return set->arena + e->str + e->keyoff;
}

static long
sset_find(const struct pk_iocset *set, const struct sset *t, const char *k,
    size_t n, uint32_t h)
{
	const struct sent *e;
	const char *es;
	size_t i, probe;
	uint32_t x;

	if (t->nslot == 0)
		return -1;
	i = h & (t->nslot - 1);
	for (probe = 0; probe < t->nslot; probe++) {
		if ((x = t->slot[i]) == 0)
			return -1;
		e = &t->e[x - 1];
		es = skey(set, e);
		if (e->hash == h && strncmp(es, k, n) == 0 && es[n] == '\0')
			return (long)(x - 1);
		i = (i + 1) & (t->nslot - 1);
	}
	return -1;
}

static void
sset_place(struct sset *t, uint32_t idx)
{
	size_t i = t->e[idx].hash & (t->nslot - 1);

	while (t->slot[i] != 0)
		i = (i + 1) & (t->nslot - 1);
	t->slot[i] = idx + 1;
}

/* Keep the load factor at most one half. */
static int
sset_reserve(struct sset *t)
{
	size_t ns = t->nslot ? t->nslot : IOC_MIN_SLOTS, i;
	uint32_t *old = t->slot;

	if ((t->n + 1) * 2 <= t->nslot)
		return 0;
	while ((t->n + 1) * 2 > ns)
		ns *= 2;
	if (ns > UINT32_MAX || (t->slot = calloc(ns, sizeof(*t->slot))) ==
	    NULL) {
		t->slot = old;
		return -1;
	}
	free(old);
	t->nslot = ns;
	for (i = 0; i < t->n; i++)
		sset_place(t, (uint32_t)i);
	return 0;
}

/*
 * Add text (the key starts keyoff bytes in).  Returns 1 added, 0 a
 * duplicate (first kept), -1 out of memory.
 */
static int
sset_add(struct pk_iocset *set, struct sset *t, const char *text,
    uint8_t keyoff, uint8_t flags, struct loader *L, uint32_t line,
    uint32_t desc)
{
	size_t n = strlen(text);
	uint32_t h = shash(text + keyoff, n - keyoff);
	struct sent *e;
	int64_t off;

	if (sset_find(set, t, text + keyoff, n - keyoff, h) >= 0) {
		set->st.duplicates++;
		return 0;
	}
	if (sset_reserve(t) == -1 || pk_grow(&t->e, &t->cap, t->n,
	    sizeof(*t->e)) == -1 || (off = arena_add(set, text, n)) == -1)
		return -1;
	e = &t->e[t->n];
	e->str = (uint32_t)off;
	e->hash = h;
	e->line = line;
	e->desc = desc;
	e->list = L->list;
	e->flags = flags;
	e->keyoff = keyoff;
	sset_place(t, (uint32_t)t->n);
	t->n++;
	return 1;
}

/* ---- normalisation ------------------------------------------------------- */

int
pk_ioc_norm_domain(const char *in, char *out, size_t outlen,
    const char **err)
{
	size_t n = strlen(in), i, lab = 0;
	int c;

	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0) {
		*err = "empty domain name";
		return -1;
	}
	if (n > IOC_NAME_MAX || n >= outlen) {
		*err = "domain name longer than 253 characters";
		return -1;
	}
	for (i = 0; i < n; i++) {
		c = lower((unsigned char)in[i]);
		if (c == '.') {
			if (lab == 0) {
				*err = "empty label in domain name";
				return -1;
			}
			lab = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_') {
			if (++lab > IOC_LABEL_MAX) {
				*err = "domain label longer than 63 characters";
				return -1;
			}
		} else {
			*err = (c & 0x80) ? "non-ASCII domain name (write it "
			    "as punycode, xn--)" : "character not allowed in a "
			    "domain name";
			return -1;
		}
		out[i] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

/*
 * A host is a bracketed IPv6 literal or a name/IPv4 address without the
 * characters that delimit URL parts, so that a normalised URL normalises
 * to itself.
 */
static int
url_host_bad(const char *h, size_t n)
{
	size_t i;

	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']')
			return 1;
		for (i = 1; i < n - 1; i++)
			if (pk_hexval((unsigned char)h[i]) < 0 && h[i] != ':' &&
			    h[i] != '.')
				return 1;
		return 0;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)h[i] <= 0x20 ||
		    (unsigned char)h[i] >= 0x7f ||
		    strchr(":[]@\\", h[i]) != NULL)
			return 1;
	return 0;
}

int
pk_ioc_norm_url(const char *in, char *out, size_t outlen, const char **err)
{
	const char *p, *host, *hend, *port = NULL, *rest, *frag;
	size_t o = 0, hlen, rlen, plen = 0, need;
	int https;

	if (has_prefix_ci(in, "http://"))
		https = 0;
	else if (has_prefix_ci(in, "https://"))
		https = 1;
	else {
		*err = "only http:// and https:// URLs are recognised";
		return -1;
	}
	host = in + (https ? 8 : 7);
	hend = host + strcspn(host, "/?#");
	rest = hend;
	if (memchr(host, '@', (size_t)(hend - host)) != NULL) {
		*err = "user information in a URL is not supported";
		return -1;
	}
	/* the port: after the last ':' not inside an IPv6 literal */
	for (p = hend; p > host; p--)
		if (p[-1] == ':' || p[-1] == ']')
			break;
	if (p > host && p[-1] == ':') {
		port = p;
		plen = (size_t)(hend - p);
		hend = p - 1;
		for (p = port; p < port + plen; p++)
			if (*p < '0' || *p > '9') {
				*err = "bad port in URL";
				return -1;
			}
		if (plen > 5) {
			*err = "bad port in URL";
			return -1;
		}
		/* the default port, or none, is the same URL */
		if (plen == 0 || (!https && plen == 2 &&
		    memcmp(port, "80", 2) == 0) || (https && plen == 3 &&
		    memcmp(port, "443", 3) == 0))
			plen = 0;
	}
	hlen = (size_t)(hend - host);
	if (hlen == 0) {
		*err = "URL without a host";
		return -1;
	}
	if (url_host_bad(host, hlen)) {
		*err = "bad host in URL";
		return -1;
	}
	frag = strchr(rest, '#');
	rlen = frag != NULL ? (size_t)(frag - rest) : strlen(rest);
	need = (https ? 8 : 7) + hlen + (plen ? plen + 1 : 0) +
	    (rlen == 0 || rest[0] == '?' ? 1 : 0) + rlen;
	if (need >= outlen || need > PK_IOC_VALUE_MAX) {
		*err = "URL longer than 2048 characters";
		return -1;
	}
	memcpy(out, https ? "https://" : "http://", https ? 8 : 7);
	o = https ? 8 : 7;
	for (p = host; p < hend; p++)
		out[o++] = (char)lower((unsigned char)*p);
	if (plen) {
		out[o++] = ':';
		memcpy(out + o, port, plen);
		o += plen;
	}
	if (rlen == 0 || rest[0] == '?')
		out[o++] = '/';
	memcpy(out + o, rest, rlen);
	o += rlen;
	out[o] = '\0';
	return 0;
}

/* ---- adding entries ------------------------------------------------------ */

static void
add_cidr(struct loader *L, const struct pk_cidr *c, uint32_t line,
    uint32_t desc)
{
	struct pk_iocset *set = L->set;
	struct a4 *e4;
	struct a6 *e6;

	if (c->net.family == 4) {
		if (pk_grow(&set->v4, &set->cap4, set->n4, sizeof(*set->v4)) == -1)
			goto nomem;
		e4 = &set->v4[set->n4++];
		e4->net = (uint32_t)c->net.a[0] << 24 |
		    (uint32_t)c->net.a[1] << 16 | (uint32_t)c->net.a[2] << 8 |
		    c->net.a[3];
		e4->plen = c->plen;
		e4->line = line;
		e4->desc = desc;
		e4->list = L->list;
	} else {
		if (pk_grow(&set->v6, &set->cap6, set->n6, sizeof(*set->v6)) == -1)
			goto nomem;
		e6 = &set->v6[set->n6++];
		memcpy(e6->net, c->net.a, 16);
		e6->plen = c->plen;
		e6->line = line;
		e6->desc = desc;
		e6->list = L->list;
	}
	set->dirty = 1;
	return;
nomem:
	bad_line(L, line, "out of memory");
}

static void
add_hash(struct loader *L, const uint8_t h[32], uint32_t line, uint32_t desc)
{
	struct pk_iocset *set = L->set;
	struct hent *e;

	if (pk_grow(&set->h, &set->caph, set->nh, sizeof(*set->h)) == -1) {
		bad_line(L, line, "out of memory");
		return;
	}
	e = &set->h[set->nh++];
	memcpy(e->h, h, 32);
	e->line = line;
	e->desc = desc;
	e->list = L->list;
	set->dirty = 1;
}

static int
is_addr_like(const char *v)
{
	const char *p;

	if (strchr(v, ':') != NULL || strchr(v, '/') != NULL)
		return 1;
	for (p = v; *p != '\0'; p++)
		if (*p != '.' && (*p < '0' || *p > '9'))
			return 0;
	return 1;
}

static void
add_domain(struct loader *L, const char *v, uint32_t line, uint32_t desc)
{
	char name[IOC_NAME_MAX + 2];
	const char *err, *last;
	uint8_t flags = 0;
	int rc;

	if (v[0] == '=') {
		flags = EF_EXACT;
		v++;
	} else if (v[0] == '*' && v[1] == '.')
		v += 2;
	else if (v[0] == '.')
		v++;
	if (pk_ioc_norm_domain(v, name, sizeof(name), &err) == -1) {
		bad_line(L, line, err);
		return;
	}
	if ((last = strrchr(name, '.')) == NULL) {
		bad_line(L, line, "a single label would match a whole "
		    "top-level domain");
		return;
	}
	if (strspn(last + 1, "0123456789") == strlen(last + 1)) {
		bad_line(L, line, "not an IP address and not a domain name");
		return;
	}
	if ((rc = sset_add(L->set, &L->set->dom, name, 0, flags, L, line,
	    desc)) == -1)
		bad_line(L, line, "out of memory");
}

static void
add_url(struct loader *L, const char *v, uint32_t line, uint32_t desc)
{
	char url[PK_IOC_VALUE_MAX + 1];
	const char *err, *p;

	for (p = v; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
			bad_line(L, line, "URL with a byte outside printable "
			    "ASCII (percent-encode it)");
			return;
		}
	if (pk_ioc_norm_url(v, url, sizeof(url), &err) == -1) {
		bad_line(L, line, err);
		return;
	}
	if (sset_add(L->set, &L->set->url, url,
	    (uint8_t)(url[4] == 's' ? 8 : 7), 0, L, line, desc) == -1)
		bad_line(L, line, "out of memory");
}

/* One line, NUL-terminated, without its newline. */
static void
load_line(struct loader *L, char *s, uint32_t line)
{
	struct pk_cidr c;
	uint8_t h[32];
	char *v, *d, *e;
	int64_t desc = 0;
	size_t n;

	while (is_ws((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '#')
		return;
	for (e = s + 1; *e != '\0'; e++)
		if (*e == '#' && is_ws((unsigned char)e[-1])) {
			*e = '\0';
			break;
		}
	v = s;
	while (*s != '\0' && !is_ws((unsigned char)*s))
		s++;
	if (*s != '\0')
		*s++ = '\0';
	while (is_ws((unsigned char)*s))
		s++;
	d = s;
	n = strlen(d);
	while (n > 0 && is_ws((unsigned char)d[n - 1]))
		n--;
	if (total(L->set) >= L->set->max) {
		L->set->st.over_limit++;
		if (!L->over_said) {
			L->over_said = 1;
			say(L->errfp, "%s:%u: max_entries (%llu) reached, the "
			    "rest is skipped", L->name, line,
			    (unsigned long long)L->set->max);
		}
		return;
	}
	if (n > 0 && (desc = arena_add(L->set, d, PK_MIN(n,
	    (size_t)IOC_DESC_MAX))) == -1) {
		bad_line(L, line, "out of memory");
		return;
	}
	if (has_prefix_ci(v, "sha256:")) {
		if (strlen(v + 7) != 64 || parse_sha256(v + 7, h) == -1)
			bad_line(L, line, "sha256: needs 64 hex digits");
		else
			add_hash(L, h, line, (uint32_t)desc);
	} else if (strlen(v) == 64 && parse_sha256(v, h) == 0)
		add_hash(L, h, line, (uint32_t)desc);
	else if (strstr(v, "://") != NULL)
		add_url(L, v, line, (uint32_t)desc);
	else if (is_addr_like(v)) {
		if (pk_cidr_parse(v, &c) == -1)
			bad_line(L, line, "bad IP address or CIDR");
		else
			add_cidr(L, &c, line, (uint32_t)desc);
	} else
		add_domain(L, v, line, (uint32_t)desc);
}

/* The list name: the base name without ".txt", cut to fit. */
static int
list_add(struct pk_iocset *set, const char *path)
{
	const char *b = path, *p;
	size_t n;

	for (p = path; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	n = strlen(b);
	if (n > 4 && strcmp(b + n - 4, ".txt") == 0)
		n -= 4;
	if (set->nlists >= IOC_LISTS_MAX || pk_grow(&set->lists, &set->listcap,
	    set->nlists, sizeof(*set->lists)) == -1)
		return -1;
	n = PK_MIN(n, (size_t)PK_IOC_LIST_MAX - 1);
	memcpy(set->lists[set->nlists], b, n);
	set->lists[set->nlists][n] = '\0';
	return (int)set->nlists++;
}

static int
load_text(struct pk_iocset *set, const char *name, const char *text,
    size_t len, FILE *errfp)
{
	char buf[PK_IOC_LINE_MAX + 1];
	struct loader L;
	const char *p = text, *end = text + len, *nl;
	uint32_t line = 0;
	size_t n;
	int li;

	if ((li = list_add(set, name)) < 0) {
		say(errfp, "%s: too many lists (or out of memory)", name);
		set->st.unreadable++;
		return 1;
	}
	memset(&L, 0, sizeof(L));
	L.set = set;
	L.name = name;
	L.list = (uint16_t)li;
	L.errfp = errfp;
	set->st.files++;
	while (p < end) {
		if (line < UINT32_MAX)
			line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > PK_IOC_LINE_MAX)
			bad_line(&L, line, "line longer than 4096 bytes");
		else if (memchr(p, '\0', n) != NULL)
			bad_line(&L, line, "NUL byte in line");
		else {
			memcpy(buf, p, n);
			buf[n] = '\0';
			load_line(&L, buf, line);
		}
		p += n + (nl != NULL);
	}
	if (L.reported > IOC_REPORT_MAX)
		say(errfp, "%s: %llu more bad lines not shown", name,
		    (unsigned long long)(L.reported - IOC_REPORT_MAX));
	mem_update(set);
	return L.bad > (uint64_t)INT32_MAX ? INT32_MAX : (int)L.bad;
}

/* ---- finishing: sort, deduplicate, index -------------------------------- */

static int
cmp_origin(uint16_t la, uint32_t na, uint16_t lb, uint32_t nb)
{
	if (la != lb)
		return la < lb ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

static int
cmp_a4(const void *x, const void *y)
{
	const struct a4 *a = x, *b = y;

	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	if (a->net != b->net)
		return a->net < b->net ? -1 : 1;
	return cmp_origin(a->list, a->line, b->list, b->line);
}

static int
cmp_a6(const void *x, const void *y)
{
	const struct a6 *a = x, *b = y;
	int c;

	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	if ((c = memcmp(a->net, b->net, 16)) != 0)
		return c;
	return cmp_origin(a->list, a->line, b->list, b->line);
}

static int
cmp_h(const void *x, const void *y)
{
	const struct hent *a = x, *b = y;
	int c;

	if ((c = memcmp(a->h, b->h, 32)) != 0)
		return c;
	return cmp_origin(a->list, a->line, b->list, b->line);
}

/* Sort, keep the first of equal keys; returns the new count. */
static size_t
sort_unique(void *base, size_t n, size_t elem, int (*cmp)(const void *,
    const void *), size_t keylen_cmp(const void *, const void *),
    uint64_t *dups)
{
	char *b = base;
	size_t i, o = 0;

	if (n == 0)
		return 0;
	qsort(base, n, elem, cmp);
	for (i = 1; i < n; i++) {
		if (keylen_cmp(b + o * elem, b + i * elem) == 0) {
			(*dups)++;
			continue;
		}
		o++;
		if (o != i)
			memcpy(b + o * elem, b + i * elem, elem);
	}
	return o + 1;
}

static size_t
key_a4(const void *x, const void *y)
{
	const struct a4 *a = x, *b = y;

	return !(a->plen == b->plen && a->net == b->net);
}

static size_t
key_a6(const void *x, const void *y)
{
	const struct a6 *a = x, *b = y;

	return !(a->plen == b->plen && memcmp(a->net, b->net, 16) == 0);
}

static size_t
key_h(const void *x, const void *y)
{
	return memcmp(((const struct hent *)x)->h,
	    ((const struct hent *)y)->h, 32) != 0;
}

void
pk_iocset_finish(struct pk_iocset *set)
{
	size_t i;
	int p;

	if (set->dirty) {
		set->n4 = sort_unique(set->v4, set->n4, sizeof(*set->v4),
		    cmp_a4, key_a4, &set->st.duplicates);
		set->n6 = sort_unique(set->v6, set->n6, sizeof(*set->v6),
		    cmp_a6, key_a6, &set->st.duplicates);
		set->nh = sort_unique(set->h, set->nh, sizeof(*set->h),
		    cmp_h, key_h, &set->st.duplicates);
		set->dirty = 0;
	}
	/* start[p] .. start[p + 1]: the entries of prefix length p */
	for (p = 0, i = 0; p <= 33; p++) {
		while (i < set->n4 && set->v4[i].plen < p)
			i++;
		set->start4[p] = i;
	}
	for (p = 0, i = 0; p <= 129; p++) {
		while (i < set->n6 && set->v6[i].plen < p)
			i++;
		set->start6[p] = i;
	}
	set->st.entries[PK_IOC_ADDR] = set->n4 + set->n6;
	set->st.entries[PK_IOC_DOMAIN] = set->dom.n;
	set->st.entries[PK_IOC_URL] = set->url.n;
	set->st.entries[PK_IOC_SHA256] = set->nh;
	mem_update(set);
}

/* ---- loading files and paths -------------------------------------------- */

int
pk_ioc_load_buf(struct pk_iocset *set, const char *name, const char *text,
    size_t len, FILE *errfp)
{
	int bad = load_text(set, name, text, len, errfp);

	pk_iocset_finish(set);
	return bad;
}

static int
load_file(struct pk_iocset *set, const char *path, FILE *errfp)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0, got;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "rb")) == NULL) {
		say(errfp, "%s: cannot read: %s", path, strerror(errno));
		set->st.unreadable++;
		return 1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > IOC_FILE_MAX + 1 ||
			    (nb = realloc(buf, cap)) == NULL) {
				say(errfp, "%s: larger than 1 GiB or out of "
				    "memory", path);
				goto fail;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, fp);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		say(errfp, "%s: read error", path);
		goto fail;
	}
	fclose(fp);
	rc = load_text(set, path, buf, len, errfp);
	free(buf);
	return rc;
fail:
	fclose(fp);
	free(buf);
	set->st.unreadable++;
	return 1;
}

struct dirctx {
	struct pk_iocset	*set;
	FILE			*errfp;
	int			 problems;
};

static int
dir_cb(void *arg, const char *path)
{
	struct dirctx *c = arg;

	c->problems += load_file(c->set, path, c->errfp);
	return 0;
}

static int
load_path(struct pk_iocset *set, const char *path, int missing_ok,
    FILE *errfp)
{
	struct dirctx c;
	int r;

	r = pk_path_is_dir(path);
	if (r == -1) {
		if (missing_ok)
			return 0;
		say(errfp, "%s: cannot read: no such file or directory", path);
		set->st.unreadable++;
		return 1;
	}
	if (r == 0)
		return load_file(set, path, errfp);
	c.set = set;
	c.errfp = errfp;
	c.problems = 0;
	if (pk_dir_each(path, ".txt", dir_cb, &c) == -1) {
		say(errfp, "%s: cannot list directory: %s", path,
		    strerror(errno));
		set->st.unreadable++;
		c.problems++;
	}
	return c.problems;
}

int
pk_ioc_load_path(struct pk_iocset *set, const char *path, int missing_ok,
    FILE *errfp)
{
	int rc = load_path(set, path, missing_ok, errfp);

	pk_iocset_finish(set);
	return rc;
}

static int
is_default_path(const char *p)
{
	return strcmp(p, "/usr/share/picket/ioc") == 0 ||
	    strcmp(p, "/etc/picket/ioc") == 0;
}

struct pk_iocset *
pk_ioc_load(const struct pk_config *cfg, FILE *errfp, int *problems)
{
	char tok[PK_CFG_PATH_MAX];
	const char *s = cfg->ioc.paths, *e;
	struct pk_iocset *set;
	size_t n;
	int pr = 0;

	if ((set = pk_iocset_new(cfg->ioc.max_entries)) == NULL)
		return NULL;
	while (*s != '\0') {
		while (*s == ',' || is_ws((unsigned char)*s))
			s++;
		e = s + strcspn(s, ",");
		n = (size_t)(e - s);
		while (n > 0 && is_ws((unsigned char)s[n - 1]))
			n--;
		if (n > 0 && n < sizeof(tok)) {
			memcpy(tok, s, n);
			tok[n] = '\0';
			pr += load_path(set, tok, is_default_path(tok), errfp);
		}
		s = e;
	}
	pk_iocset_finish(set);
	if (set->st.over_limit > 0)
		pr++;
	if (problems != NULL)
		*problems = pr;
	return set;
}

int
pk_ioc_check(const struct pk_config *cfg, FILE *out)
{
	const struct pk_ioc_stats *st;
	struct pk_iocset *set;
	int problems = 0;

	if (!cfg->ioc.enabled) {
		fprintf(out, "ioc: disabled\n");
		return 0;
	}
	if ((set = pk_ioc_load(cfg, out, &problems)) == NULL) {
		fprintf(out, "ioc: out of memory\n");
		return 1;
	}
	st = pk_iocset_stats(set);
	fprintf(out, "ioc: %llu entries (%llu addresses, %llu domains, "
	    "%llu urls, %llu hashes) from %llu files, %llu bad lines",
	    (unsigned long long)pk_iocset_size(set),
	    (unsigned long long)st->entries[PK_IOC_ADDR],
	    (unsigned long long)st->entries[PK_IOC_DOMAIN],
	    (unsigned long long)st->entries[PK_IOC_URL],
	    (unsigned long long)st->entries[PK_IOC_SHA256],
	    (unsigned long long)st->files, (unsigned long long)st->bad);
	if (st->unreadable > 0)
		fprintf(out, ", %llu unreadable paths",
		    (unsigned long long)st->unreadable);
	if (st->over_limit > 0)
		fprintf(out, ", %llu entries over max_entries",
		    (unsigned long long)st->over_limit);
	fprintf(out, "\n");
	pk_iocset_free(set);
	return problems;
}

/* ---- lookups ------------------------------------------------------------ */

static void
fill(const struct pk_iocset *set, struct pk_ioc_match *out, int type,
    uint16_t list, uint32_t line, uint32_t desc)
{
	out->type = type;
	out->line = line;
	out->desc = set->arena + desc;
	pk_strlcpy(out->list, list < set->nlists ? set->lists[list] : "",
	    sizeof(out->list));
	out->plen = 0;
	out->exact = 0;
}

static int
match_v4(const struct pk_iocset *set, const uint8_t b[4],
    struct pk_ioc_match *out)
{
	uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3], key;
	size_t lo, hi, mid;
	const struct a4 *e;
	struct pk_addr x;
	int p;

	for (p = 32; p >= 0; p--) {
		lo = set->start4[p];
		hi = set->start4[p + 1];
		if (lo == hi)
			continue;
		key = p == 0 ? 0 : a & (0xffffffffu << (32 - p));
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (set->v4[mid].net < key)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < set->start4[p + 1] && set->v4[lo].net == key) {
			if (out == NULL)
				return 1;
			e = &set->v4[lo];
			fill(set, out, PK_IOC_ADDR, e->list, e->line, e->desc);
			memset(&x, 0, sizeof(x));
			x.family = 4;
			x.a[0] = (uint8_t)(key >> 24);
			x.a[1] = (uint8_t)(key >> 16);
			x.a[2] = (uint8_t)(key >> 8);
			x.a[3] = (uint8_t)key;
			out->plen = (uint8_t)p;
			pk_addr_format(&x, out->value, sizeof(out->value));
			if (p < 32)
				snprintf(out->value + strlen(out->value),
				    sizeof(out->value) - strlen(out->value),
				    "/%d", p);
			return 1;
		}
	}
	return 0;
}

static void
mask6(uint8_t k[16], const uint8_t a[16], int p)
{
	int i;

	for (i = 0; i < 16; i++) {
		if (p >= 8)
			k[i] = a[i];
		else if (p > 0)
			k[i] = (uint8_t)(a[i] & (0xff << (8 - p)));
		else
			k[i] = 0;
		p = p >= 8 ? p - 8 : 0;
	}
}

static int
match_v6(const struct pk_iocset *set, const uint8_t a[16],
    struct pk_ioc_match *out)
{
	uint8_t key[16];
	size_t lo, hi, mid;
	const struct a6 *e;
	struct pk_addr x;
	int p;

	for (p = 128; p >= 0; p--) {
		lo = set->start6[p];
		hi = set->start6[p + 1];
		if (lo == hi)
			continue;
		mask6(key, a, p);
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (memcmp(set->v6[mid].net, key, 16) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < set->start6[p + 1] &&
		    memcmp(set->v6[lo].net, key, 16) == 0) {
			if (out == NULL)
				return 1;
			e = &set->v6[lo];
			fill(set, out, PK_IOC_ADDR, e->list, e->line, e->desc);
			memset(&x, 0, sizeof(x));
			x.family = 6;
			memcpy(x.a, key, 16);
			out->plen = (uint8_t)p;
			pk_addr_format(&x, out->value, sizeof(out->value));
			if (p < 128)
				snprintf(out->value + strlen(out->value),
				    sizeof(out->value) - strlen(out->value),
				    "/%d", p);
			return 1;
		}
	}
	return 0;
}

int
pk_ioc_match_addr(const struct pk_iocset *set, const struct pk_addr *a,
    struct pk_ioc_match *out)
{
	if (set == NULL || a == NULL)
		return 0;
	if (a->family == 4)
		return match_v4(set, a->a, out);
	if (a->family == 6)
		return match_v6(set, a->a, out);
	return 0;
}

static int
sset_match(const struct pk_iocset *set, const struct sset *t, int type,
    const char *k, size_t n, int parent, struct pk_ioc_match *out)
{
	const struct sent *e;
	long i;

	if ((i = sset_find(set, t, k, n, shash(k, n))) < 0)
		return 0;
	e = &t->e[i];
	if (parent && (e->flags & EF_EXACT))
		return 0;
	if (out != NULL) {
		fill(set, out, type, e->list, e->line, e->desc);
		pk_strlcpy(out->value, set->arena + e->str, sizeof(out->value));
		out->exact = (e->flags & EF_EXACT) != 0;
	}
	return 1;
}

int
pk_ioc_match_domain(const struct pk_iocset *set, const char *name,
    struct pk_ioc_match *out)
{
	char buf[IOC_NAME_MAX + 2];
	size_t n, i;

	if (set == NULL || name == NULL || set->dom.n == 0)
		return 0;
	n = strlen(name);
	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n == 0 || n > IOC_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		buf[i] = (char)lower((unsigned char)name[i]);
	buf[n] = '\0';
	/* the name, then each parent: at most 127 labels */
	for (i = 0; i < n; i++) {
		if ((i == 0 || buf[i - 1] == '.') &&
		    sset_match(set, &set->dom, PK_IOC_DOMAIN, buf + i, n - i,
		    i > 0, out))
			return 1;
	}
	return 0;
}

int
pk_ioc_match_url(const struct pk_iocset *set, const char *url,
    struct pk_ioc_match *out)
{
	char buf[PK_IOC_VALUE_MAX + 1];
	const char *err, *k, *q;
	size_t n;

	if (set == NULL || url == NULL || set->url.n == 0 ||
	    pk_ioc_norm_url(url, buf, sizeof(buf), &err) == -1)
		return 0;
	k = buf + (buf[4] == 's' ? 8 : 7);
	n = strlen(k);
	if (sset_match(set, &set->url, PK_IOC_URL, k, n, 0, out))
		return 1;
	/* host + path: an entry listed without a query matches any */
	if ((q = strchr(k, '?')) != NULL &&
	    sset_match(set, &set->url, PK_IOC_URL, k, (size_t)(q - k), 0, out))
		return 1;
	return 0;
}

int
pk_ioc_match_sha256(const struct pk_iocset *set, const uint8_t h[32],
    struct pk_ioc_match *out)
{
	size_t lo = 0, hi, mid;
	const struct hent *e;

	if (set == NULL || h == NULL)
		return 0;
	hi = set->nh;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(set->h[mid].h, h, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= set->nh || memcmp(set->h[lo].h, h, 32) != 0)
		return 0;
	if (out != NULL) {
		e = &set->h[lo];
		fill(set, out, PK_IOC_SHA256, e->list, e->line, e->desc);
		pk_hex(e->h, 32, out->value);
	}
	return 1;
}

/* ---- shared indicators (a bundle's detection sets) ------------------------ */

#define SHARED_PREFIX	"shared:"

struct shfp {
	uint8_t		 h[16];
	uint32_t	 idx;		/* entry in the bundle */
};

struct pk_shared {
	struct pk_bundle	 b;		/* owned: the strings live here */
	struct pk_iocset	*ioc;		/* NULL: no IOC entries */
	struct shfp		*fp;
	size_t			 nfp;
	uint32_t		*rules;		/* entry indices, by value */
	size_t			 nrules;
	struct pk_shared_stats	 st;
};

static int
is_ioc_kind(int kind)
{
	return kind == PK_BK_IPV4 || kind == PK_BK_IPV6 ||
	    kind == PK_BK_DOMAIN || kind == PK_BK_URL || kind == PK_BK_SHA256;
}

static int
cmp_shfp(const void *x, const void *y)
{
	return memcmp(((const struct shfp *)x)->h,
	    ((const struct shfp *)y)->h, 16);
}

/* qsort has no context argument: the bundle being sorted, one at a time
 * (the collector builds sets on its one thread). */
static const struct pk_bundle *sort_b;

static int
cmp_origin_idx(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	int c = strcmp(sort_b->e[a].origin, sort_b->e[b].origin);

	return c != 0 ? c : (a > b) - (a < b);
}

static int
cmp_value_idx(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return strcmp(sort_b->e[a].value, sort_b->e[b].value);
}

/* 32 hex digits into 16 bytes; -1 when it is anything else. */
static int
parse_hex16(const char *s, uint8_t out[16])
{
	int i, hi, lo;

	if (strlen(s) != 32)
		return -1;
	for (i = 0; i < 16; i++) {
		if ((hi = pk_hexval(s[2 * i])) < 0 ||
		    (lo = pk_hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/*
 * The IOC entries of one origin, idx[0..n), as a list "shared:<origin>":
 * one line "VALUE INDEX" each, so a match's description leads back to
 * the entry.  Returns the bad lines.
 */
static int
shared_load_origin(struct pk_shared *sh, const uint32_t *idx, size_t n)
{
	char name[PK_IOC_LIST_MAX];
	char *text, *p;
	size_t i, cap = 0;
	int bad, w;

	for (i = 0; i < n; i++)
		cap += strlen(sh->b.e[idx[i]].value) + 24;
	if ((text = malloc(cap + 1)) == NULL)
		return (int)n;
	p = text;
	for (i = 0; i < n; i++) {
		w = snprintf(p, cap + 1 - (size_t)(p - text), "%s %u\n",
		    sh->b.e[idx[i]].value, idx[i]);
		if (w < 0 || (size_t)w > cap - (size_t)(p - text))
			break;
		p += w;
	}
	snprintf(name, sizeof(name), SHARED_PREFIX "%s",
	    sh->b.e[idx[0]].origin);
	bad = load_text(sh->ioc, name, text, (size_t)(p - text), NULL);
	free(text);
	return bad;
}

static int
shared_build_ioc(struct pk_shared *sh, uint32_t *idx, size_t n)
{
	const struct pk_ioc_stats *st;
	size_t i, start;
	uint64_t before = 0;
	int k;

	if (n == 0)
		return 0;
	if ((sh->ioc = pk_iocset_new(PK_BUNDLE_MAX_ENTRIES)) == NULL)
		return -1;
	sort_b = &sh->b;
	qsort(idx, n, sizeof(*idx), cmp_origin_idx);
	for (start = 0, i = 1; i <= n; i++) {
		if (i < n && strcmp(sh->b.e[idx[i]].origin,
		    sh->b.e[idx[start]].origin) == 0)
			continue;
		(void)shared_load_origin(sh, idx + start, i - start);
		start = i;
	}
	pk_iocset_finish(sh->ioc);
	st = pk_iocset_stats(sh->ioc);
	for (k = 0; k < PK_IOC__COUNT; k++)
		before += st->entries[k];
	/* what the loader refused or merged is not in use */
	sh->st.loaded += before;
	sh->st.ignored += n - PK_MIN((uint64_t)n, before);
	return 0;
}

struct pk_shared *
pk_shared_new(struct pk_bundle *b)
{
	struct pk_shared *sh;
	uint32_t *iocidx = NULL;
	size_t i, nioc = 0;
	const struct pk_bundle_entry *en;

	if ((sh = calloc(1, sizeof(*sh))) == NULL) {
		pk_bundle_free(b);
		memset(b, 0, sizeof(*b));
		return NULL;
	}
	sh->b = *b;
	memset(b, 0, sizeof(*b));
	if (sh->b.n > 0 &&
	    ((sh->fp = calloc(sh->b.n, sizeof(*sh->fp))) == NULL ||
	    (sh->rules = calloc(sh->b.n, sizeof(*sh->rules))) == NULL ||
	    (iocidx = calloc(sh->b.n, sizeof(*iocidx))) == NULL))
		goto fail;
	for (i = 0; i < sh->b.n && i < UINT32_MAX; i++) {
		en = &sh->b.e[i];
		if (en->kind < PK_NELEM(sh->st.kind))
			sh->st.kind[en->kind]++;
		if (en->kind == PK_BK_FINGERPRINT) {
			/* picket.fingerprint is 32 hex digits; a longer
			 * value is another kind of fingerprint */
			if (parse_hex16(en->value, sh->fp[sh->nfp].h) != 0) {
				sh->st.ignored++;
				continue;
			}
			sh->fp[sh->nfp++].idx = (uint32_t)i;
			sh->st.loaded++;
		} else if (en->kind == PK_BK_RULE) {
			sh->rules[sh->nrules++] = (uint32_t)i;
			sh->st.loaded++;
		} else if (is_ioc_kind(en->kind))
			iocidx[nioc++] = (uint32_t)i;
		else
			sh->st.ignored++;
	}
	qsort(sh->fp, sh->nfp, sizeof(*sh->fp), cmp_shfp);
	sort_b = &sh->b;
	qsort(sh->rules, sh->nrules, sizeof(*sh->rules), cmp_value_idx);
	if (shared_build_ioc(sh, iocidx, nioc) != 0)
		goto fail;
	free(iocidx);
	return sh;
fail:
	free(iocidx);
	pk_shared_free(sh);
	return NULL;
}

void
pk_shared_free(struct pk_shared *sh)
{
	if (sh == NULL)
		return;
	pk_iocset_free(sh->ioc);
	free(sh->fp);
	free(sh->rules);
	pk_bundle_free(&sh->b);
	free(sh);
}

uint64_t
pk_shared_version(const struct pk_shared *sh)
{
	return sh != NULL ? sh->b.version : 0;
}

const struct pk_shared_stats *
pk_shared_stats(const struct pk_shared *sh)
{
	return &sh->st;
}

const struct pk_iocset *
pk_shared_iocset(const struct pk_shared *sh)
{
	return sh != NULL ? sh->ioc : NULL;
}

size_t
pk_shared_nfingerprints(const struct pk_shared *sh)
{
	return sh != NULL ? sh->nfp : 0;
}

static void
shared_fill(const struct pk_shared *sh, size_t i, struct pk_ind_shared *out)
{
	const struct pk_bundle_entry *en = &sh->b.e[i];

	if (out == NULL)
		return;
	out->ref = en->ref;
	out->bundle = sh->b.version;
	out->origin = en->origin;
	out->tlp = pk_bundle_tlp_name(en->tlp);
	out->kind = pk_bundle_kind_name(en->kind);
	out->value = en->value;
}

int
pk_shared_ioc(const struct pk_shared *sh, const struct pk_ioc_match *m,
    struct pk_ind_shared *out)
{
	const char *perr;
	uint64_t i;

	if (sh == NULL || m == NULL || m->desc == NULL ||
	    strncmp(m->list, SHARED_PREFIX, strlen(SHARED_PREFIX)) != 0 ||
	    pk_parse_u64(m->desc, 0, UINT64_MAX, &i, &perr) != 0 ||
	    i >= sh->b.n ||
	    !is_ioc_kind(sh->b.e[i].kind))
		return 0;
	shared_fill(sh, (size_t)i, out);
	return 1;
}

int
pk_shared_fingerprint(const struct pk_shared *sh, const uint8_t fp[16],
    struct pk_ind_shared *out)
{
	struct shfp key;
	const struct shfp *f;

	if (sh == NULL || sh->nfp == 0)
		return 0;
	memcpy(key.h, fp, 16);
	if ((f = bsearch(&key, sh->fp, sh->nfp, sizeof(*sh->fp),
	    cmp_shfp)) == NULL)
		return 0;
	shared_fill(sh, f->idx, out);
	return 1;
}

int
pk_shared_rule(const struct pk_shared *sh, const char *rule_id,
    struct pk_ind_shared *out)
{
	size_t lo = 0, hi, mid;
	int c;

	if (sh == NULL || rule_id == NULL || sh->nrules == 0)
		return 0;
	hi = sh->nrules;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(rule_id, sh->b.e[sh->rules[mid]].value);
		if (c == 0) {
			shared_fill(sh, sh->rules[mid], out);
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}
