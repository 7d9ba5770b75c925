/*
 * app.c - parsers for the few application-layer fields the detectors use:
 * DNS questions and answers, the TLS ClientHello server name and the HTTP/1.x
 * request line with its Host and User-Agent headers.  Every byte here comes
 * from the network and may be hostile, so each parser reads only inside
 * [p, p + len), every loop is bounded by the bytes it consumes or by a fixed
 * cap, and every output string is NUL-terminated; names (DNS, SNI, Host)
 * are printable ASCII, URI and User-Agent are raw bytes without spaces or
 * line ends that the JSON writer sanitizes.  Portable C;
 * called by the engine and the fuzz targets (see app.h).
 */
#include <string.h>

#include "collectors/pcap/app.h"
#include "common/util.h"

/* A bounds-checked reader over one payload. */
struct rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

static int
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->len - r->off < 1)
		return -1;
	*v = r->p[r->off++];
	return 0;
}

static int
rd_u16(struct rd *r, uint16_t *v)
{
	if (r->len - r->off < 2)
		return -1;
	*v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return 0;
}

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->len - r->off < 4)
		return -1;
	*v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 |
	    (uint32_t)r->p[r->off + 2] << 8 | r->p[r->off + 3];
	r->off += 4;
	return 0;
}

static int
rd_skip(struct rd *r, size_t n)
{
	if (r->len - r->off < n)
		return -1;
	r->off += n;
	return 0;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* ------------------------------------------------------------------ DNS */

#define DNS_HDR_LEN	12
#define DNS_WIRE_MAX	255	/* RFC 1035 2.3.4: whole name on the wire */

/* Append one label byte in presentation form; -1 if it does not fit. */
static int
dns_put_byte(char *out, size_t *o, uint8_t c)
{
	c = (uint8_t)lower(c);
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	    c == '_') {
		if (*o + 1 > PK_DNS_NAME_MAX)
			return -1;
		out[(*o)++] = (char)c;
		return 0;
	}
	if (*o + 4 > PK_DNS_NAME_MAX)
		return -1;
	out[(*o)++] = '\\';
	out[(*o)++] = (char)('0' + c / 100);
	out[(*o)++] = (char)('0' + c / 10 % 10);
	out[(*o)++] = (char)('0' + c % 10);
	return 0;
}

/*
 * Decode the (possibly compressed) name at r->off and leave r->off just
 * after it.  out (PK_DNS_NAME_MAX + 1 bytes) may be NULL to only skip.
 *
 * Loops are impossible by construction: a pointer must point strictly
 * before the start of the labels being read (the name's start or the
 * previous pointer's target), so every jump lands lower than the last one.
 * That is how compressors write names (they point at names already in the
 * message) and it also rules out forward pointers.  The PK_DNS_MAX_POINTERS
 * cap stays as a second, independent bound.
 *
 * A name running past the payload is ETRUNC; one breaking a rule (reserved
 * label type, bad pointer, over 255 bytes, or too long to print) is
 * MALFORMED.
 */
static int
dns_name(struct rd *r, char *out)
{
	size_t pos = r->off, seg = r->off, after = 0, o = 0, wire = 1;
	int jumps = 0, i;
	uint8_t c, l;

	for (;;) {
		if (pos >= r->len)
			return PK_APP_ETRUNC;
		c = r->p[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t tgt;

			if (pos + 1 >= r->len)
				return PK_APP_ETRUNC;
			tgt = (size_t)(c & 0x3f) << 8 | r->p[pos + 1];
			if (tgt >= seg || ++jumps > PK_DNS_MAX_POINTERS)
				return PK_APP_EMALFORMED;
			if (after == 0)
				after = pos + 2;
			pos = seg = tgt;
			continue;
		}
		if ((c & 0xc0) != 0)
			return PK_APP_EMALFORMED;	/* 01/10: reserved */
		if (c == 0)
			break;
		/* Label: c <= 63 by the two top bits; count the length byte. */
		wire += (size_t)c + 1;
		if (wire > DNS_WIRE_MAX)
			return PK_APP_EMALFORMED;
		if (r->len - pos - 1 < c)
			return PK_APP_ETRUNC;
		if (out != NULL && o > 0) {
			if (o + 1 > PK_DNS_NAME_MAX)
				return PK_APP_EMALFORMED;
			out[o++] = '.';
		}
		for (i = 0; out != NULL && i < c; i++) {
			l = r->p[pos + 1 + (size_t)i];
			if (dns_put_byte(out, &o, l) == -1)
				return PK_APP_EMALFORMED;
		}
		pos += (size_t)c + 1;
	}
	if (out != NULL)
		out[o] = '\0';
	r->off = after != 0 ? after : pos + 1;
	return 0;
}

static int
dns_question(struct rd *r, struct pk_dns *d, int keep)
{
	char *name = keep ? d->q[d->nquestions].name : NULL;
	uint16_t type, class;
	int rc;

	if ((rc = dns_name(r, name)) != 0)
		return rc;
	if (rd_u16(r, &type) == -1 || rd_u16(r, &class) == -1)
		return PK_APP_ETRUNC;
	if (keep) {
		d->q[d->nquestions].type = type;
		d->q[d->nquestions].class = class;
		d->nquestions++;
	}
	return 0;
}

/* Answer rdata we keep: addresses and the names CNAME/NS/PTR point to. */
static int
dns_rdata(struct rd *r, struct pk_dns_rr *rr, uint16_t class,
    uint16_t rdlen)
{
	struct rd sub;
	int rc;

	switch (rr->type) {
	case 1:		/* A */
	case 28:	/* AAAA */
		if (class != 1)
			return 0;	/* other classes use other formats */
		if (rdlen != (rr->type == 1 ? 4 : 16))
			return PK_APP_EMALFORMED;
		if (rr->type == 1)
			pk_addr_v4(&rr->addr, r->p + r->off);
		else
			pk_addr_v6(&rr->addr, r->p + r->off);
		return 0;
	case 2:		/* NS */
	case 5:		/* CNAME */
	case 12:	/* PTR */
		/* The name may point anywhere earlier but must end inside
		 * the rdata, so read it with the message as the bound. */
		sub = *r;
		if ((rc = dns_name(&sub, rr->target)) != 0)
			return rc == PK_APP_ETRUNC ? PK_APP_EMALFORMED : rc;
		if (sub.off > r->off + rdlen) {
			rr->target[0] = '\0';
			return PK_APP_EMALFORMED;
		}
		return 0;
	default:
		return 0;
	}
}

static int
dns_answer(struct rd *r, struct pk_dns *d)
{
	struct pk_dns_rr *rr = &d->an[d->nanswers];
	uint16_t class, rdlen;
	int rc;

	memset(rr, 0, sizeof(*rr));
	if ((rc = dns_name(r, rr->name)) != 0)
		return rc;
	if (rd_u16(r, &rr->type) == -1 || rd_u16(r, &class) == -1 ||
	    rd_u32(r, &rr->ttl) == -1 || rd_u16(r, &rdlen) == -1 ||
	    r->len - r->off < rdlen)
		return PK_APP_ETRUNC;
	if ((rc = dns_rdata(r, rr, class, rdlen)) != 0)
		return rc;
	r->off += rdlen;
	d->nanswers++;
	return 0;
}

/*
 * On ETRUNC or MALFORMED past the header, *out still holds every question
 * and answer read whole before the problem (nquestions, nanswers say how
 * many), so a cut capture still yields its first names.
 */
int
pk_dns_parse(const uint8_t *p, size_t len, struct pk_dns *out)
{
	struct rd r = { p, len, 0 };
	uint16_t id, flags, nscount, arcount;
	unsigned i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (rd_u16(&r, &id) == -1 || rd_u16(&r, &flags) == -1 ||
	    rd_u16(&r, &out->qdcount) == -1 ||
	    rd_u16(&r, &out->ancount) == -1 || rd_u16(&r, &nscount) == -1 ||
	    rd_u16(&r, &arcount) == -1)
		return PK_APP_ETRUNC;
	out->id = id;
	out->qr = (uint8_t)(flags >> 15);
	out->opcode = (uint8_t)((flags >> 11) & 0x0f);
	out->rcode = (uint8_t)(flags & 0x0f);
	/* Each question takes at least 5 bytes, so the payload bounds this
	 * loop long before 65535; we still skip the ones we cannot keep,
	 * because the answers follow them. */
	for (i = 0; i < out->qdcount; i++) {
		rc = dns_question(&r, out, out->nquestions <
		    PK_DNS_MAX_QUESTIONS);
		if (rc != 0)
			return rc;
	}
	/* Answers past the array are not read at all: nothing follows them
	 * that we need. */
	for (i = 0; i < out->ancount && out->nanswers < PK_DNS_MAX_ANSWERS;
	    i++) {
		if ((rc = dns_answer(&r, out)) != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ TLS */

#define TLS_CT_HANDSHAKE	22
#define TLS_HS_CLIENT_HELLO	1
#define TLS_RECORD_MAX		(16384 + 2048)	/* RFC 8446 5.2, ciphertext */
#define TLS_EXT_SERVER_NAME	0
#define TLS_SNI_HOST_NAME	0

/*
 * A server name as RFC 6066 allows it: ASCII letters, digits, '-', '_'
 * (seen in the wild) and dots between non-empty labels of at most 63
 * bytes, no trailing dot.  Anything else is not a host name we can trust
 * to print or match.
 */
static int
sni_valid(const uint8_t *s, size_t n)
{
	return n <= PK_SNI_MAX && pk_hostname_ok(s, n);
}

/* The server_name extension body (RFC 6066 section 3). */
static int
tls_sni_ext(struct rd *e, char *out, size_t outlen)
{
	uint16_t listlen, nlen;
	uint8_t ntype;
	size_t end, i;

	if (rd_u16(e, &listlen) == -1 || e->len - e->off < listlen)
		return PK_APP_EMALFORMED;
	end = e->off + listlen;
	while (e->off < end) {
		if (rd_u8(e, &ntype) == -1 || rd_u16(e, &nlen) == -1 ||
		    e->off > end || end - e->off < nlen)
			return PK_APP_EMALFORMED;
		if (ntype != TLS_SNI_HOST_NAME) {
			e->off += nlen;
			continue;
		}
		if (!sni_valid(e->p + e->off, nlen) || nlen >= outlen)
			return PK_APP_EMALFORMED;
		for (i = 0; i < nlen; i++)
			out[i] = (char)lower(e->p[e->off + i]);
		out[nlen] = '\0';
		return 0;
	}
	return 0;	/* no host_name entry: empty name */
}

/*
 * Walk one ClientHello body up to the extensions.  The reader's bound is
 * the end of what we can see of the handshake message; whether running
 * off it means "cut" or "lying lengths" is decided by the caller.
 */
static int
tls_hello(struct rd *h, char *out, size_t outlen)
{
	uint16_t ver, cslen, extlen, etype, elen;
	uint8_t sidlen, cmlen;
	struct rd e;

	if (rd_u16(h, &ver) == -1 || rd_skip(h, 32) == -1 ||
	    rd_u8(h, &sidlen) == -1)
		return PK_APP_ETRUNC;
	if ((ver >> 8) != 3 || sidlen > 32)
		return PK_APP_EMALFORMED;
	if (rd_skip(h, sidlen) == -1 || rd_u16(h, &cslen) == -1)
		return PK_APP_ETRUNC;
	if (cslen < 2 || cslen % 2 != 0)
		return PK_APP_EMALFORMED;
	if (rd_skip(h, cslen) == -1 || rd_u8(h, &cmlen) == -1)
		return PK_APP_ETRUNC;
	if (cmlen < 1)
		return PK_APP_EMALFORMED;
	if (rd_skip(h, cmlen) == -1)
		return PK_APP_ETRUNC;
	if (h->off == h->len)
		return 1;	/* may be the end: no extensions at all */
	if (rd_u16(h, &extlen) == -1)
		return PK_APP_ETRUNC;
	/* Each pass consumes at least 4 bytes, so the payload bounds it. */
	while (h->len - h->off >= 4 && extlen >= 4) {
		if (rd_u16(h, &etype) == -1 || rd_u16(h, &elen) == -1)
			return PK_APP_ETRUNC;	/* not reached: 4 bytes checked */
		extlen -= 4;
		if (elen > extlen)
			return PK_APP_EMALFORMED;
		extlen -= elen;
		if (h->len - h->off < elen)
			return PK_APP_ETRUNC;
		if (etype == TLS_EXT_SERVER_NAME) {
			e.p = h->p + h->off;
			e.len = elen;
			e.off = 0;
			return tls_sni_ext(&e, out, outlen);
		}
		h->off += elen;
	}
	if (extlen != 0)
		return h->len - h->off < 4 ? PK_APP_ETRUNC : PK_APP_EMALFORMED;
	return 0;
}

/*
 * Returns 0 with out set to the lowercased host name, or to "" for a
 * ClientHello without one.  outlen should be PK_SNI_MAX + 1; a name that
 * does not fit is MALFORMED.  A hello larger than its first record (or
 * than the payload) gives ETRUNC when the name is not in the part we have.
 */
int
pk_tls_sni(const uint8_t *p, size_t len, char *out, size_t outlen)
{
	struct rd h;
	uint32_t hslen;
	size_t reclen, end;
	int rc;

	if (outlen == 0)
		return PK_APP_EMALFORMED;
	out[0] = '\0';
	if ((len >= 1 && p[0] != TLS_CT_HANDSHAKE) || (len >= 2 && p[1] != 3))
		return PK_APP_ENOTMINE;
	if (len >= 6 && p[5] != TLS_HS_CLIENT_HELLO)
		return PK_APP_ENOTMINE;
	if (len < 9)
		return PK_APP_ETRUNC;
	reclen = (size_t)p[3] << 8 | p[4];
	if (reclen < 4 || reclen > TLS_RECORD_MAX)
		return PK_APP_EMALFORMED;
	hslen = (uint32_t)p[6] << 16 | (uint32_t)p[7] << 8 | p[8];
	/* What we can read of the hello: it ends at its own length, the
	 * record's end or the payload's end, whichever comes first. */
	end = PK_MIN(PK_MIN((size_t)hslen + 9, reclen + 5), len);
	h.p = p + 9;
	h.len = end - 9;
	h.off = 0;
	rc = tls_hello(&h, out, outlen);
	if (rc == 1)	/* compression methods ended what we could see */
		rc = end == (size_t)hslen + 9 ? 0 : PK_APP_ETRUNC;
	/* Running off a hello we hold whole means its lengths lie. */
	if (rc == PK_APP_ETRUNC && end == (size_t)hslen + 9)
		rc = PK_APP_EMALFORMED;
	if (rc != 0)
		out[0] = '\0';
	return rc;
}

/* ----------------------------------------------------------------- HTTP */

static const char *const http_methods[] = {
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT",
	"TRACE", "PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",
	"LOCK", "UNLOCK", "SEARCH", "REPORT", "MKACTIVITY", "CHECKOUT",
	"MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE",
};

/*
 * Match a known method followed by a space.  A payload that ends inside a
 * method name ("GE") is ETRUNC; anything else not starting with a method
 * is not HTTP at all.
 */
static int
http_method(const uint8_t *p, size_t len, struct pk_http_req *out,
    size_t *used)
{
	size_t i, n;
	int prefix = 0;

	for (i = 0; i < PK_NELEM(http_methods); i++) {
		n = strlen(http_methods[i]);
		if (len > n) {
			if (memcmp(p, http_methods[i], n) == 0 && p[n] == ' ') {
				memcpy(out->method, http_methods[i], n + 1);
				*used = n + 1;
				return 0;
			}
		} else if (memcmp(p, http_methods[i], len) == 0)
			prefix = 1;
	}
	return prefix ? PK_APP_ETRUNC : PK_APP_ENOTMINE;
}

/* One line ending in LF (CR before it dropped); -1 if the payload ends. */
static int
http_line(const uint8_t *p, size_t len, size_t off, size_t *lend,
    size_t *next)
{
	const uint8_t *lf = memchr(p + off, '\n', len - off);

	if (lf == NULL)
		return -1;
	*next = (size_t)(lf - p) + 1;
	*lend = (size_t)(lf - p);
	if (*lend > off && p[*lend - 1] == '\r')
		(*lend)--;
	return 0;
}

static int
is_space(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Copy a value trimmed of spaces and tabs, cut to cap bytes. */
static void
http_value(const uint8_t *v, size_t n, char *dst, size_t cap)
{
	while (n > 0 && is_space(v[0])) {
		v++;
		n--;
	}
	while (n > 0 && is_space(v[n - 1]))
		n--;
	n = PK_MIN(n, cap);
	memcpy(dst, v, n);
	dst[n] = '\0';
}

/* ":port" after a host: 1 to 5 digits (an empty port is allowed by
 * RFC 3986 and means the default). */
static int
port_ok(const char *s, size_t n)
{
	size_t i;

	if (n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

/*
 * Host: lowercased, port removed; an IPv6 literal keeps its brackets
 * ("[2001:db8::1]") as ECS url.domain wants.  A value with characters no
 * host name or literal has, or too long, is ignored rather than cut.
 */
static void
http_host(const uint8_t *v, size_t n, struct pk_http_req *out)
{
	char tmp[PK_HTTP_HOST_MAX + 1];
	size_t i, hl;

	while (n > 0 && is_space(v[0])) {
		v++;
		n--;
	}
	while (n > 0 && is_space(v[n - 1]))
		n--;
	if (n == 0 || n > PK_HTTP_HOST_MAX || out->host[0] != '\0')
		return;
	for (i = 0; i < n; i++) {
		uint8_t c = (uint8_t)lower(v[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == ':' || c == '[' ||
		    c == ']'))
			return;
		tmp[i] = (char)c;
	}
	tmp[n] = '\0';
	if (tmp[0] == '[') {
		/* "[v6]" or "[v6]:port": hex digits, colons, dots inside. */
		for (hl = 1; hl < n && (tmp[hl] == ':' || tmp[hl] == '.' ||
		    (tmp[hl] >= '0' && tmp[hl] <= '9') ||
		    (tmp[hl] >= 'a' && tmp[hl] <= 'f')); hl++)
			;
		if (hl == 1 || hl >= n || tmp[hl] != ']')
			return;
		hl++;
		if (hl < n && tmp[hl] != ':')
			return;
	} else {
		for (hl = 0; hl < n && tmp[hl] != ':' && tmp[hl] != '[' &&
		    tmp[hl] != ']'; hl++)
			;
		if (hl == 0 || (hl < n && tmp[hl] != ':'))
			return;
	}
	if (hl < n && !port_ok(tmp + hl + 1, n - hl - 1))
		return;
	memcpy(out->host, tmp, hl);
	out->host[hl] = '\0';
}

static int
header_is(const uint8_t *p, size_t n, const char *name)
{
	size_t i, nl = strlen(name);

	if (n != nl)
		return 0;
	for (i = 0; i < n; i++) {
		if (lower(p[i]) != name[i])
			return 0;
	}
	return 1;
}

/* "METHOD SP URI SP HTTP/1.x", the line being p[off..lend). */
static int
http_reqline(const uint8_t *p, size_t off, size_t lend,
    struct pk_http_req *out)
{
	size_t u = off, ulen;

	while (u < lend && p[u] > 0x20 && p[u] != 0x7f)
		u++;
	ulen = u - off;
	if (ulen == 0 || u >= lend || p[u] != ' ')
		return PK_APP_EMALFORMED;
	if (ulen > PK_HTTP_URI_MAX) {
		ulen = PK_HTTP_URI_MAX;
		out->uri_cut = 1;
	}
	memcpy(out->uri, p + off, ulen);
	out->uri[ulen] = '\0';
	u++;
	if (lend - u != 8 || memcmp(p + u, "HTTP/1.", 7) != 0 ||
	    p[u + 7] < '0' || p[u + 7] > '9')
		return PK_APP_EMALFORMED;
	out->version_minor = (uint8_t)(p[u + 7] - '0');
	return 0;
}

/*
 * Returns 0 once the blank line ending the headers is seen.  If the
 * payload ends first the result is ETRUNC, but *out already holds the
 * request line and every header line that arrived whole, so a request
 * spread over segments still yields what it has.  A line cut by the end
 * of the payload is never used: half a Host name would be a wrong one.
 */
int
pk_http_request(const uint8_t *p, size_t len, struct pk_http_req *out)
{
	size_t off, lend, next, colon;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return PK_APP_ETRUNC;
	if ((rc = http_method(p, len, out, &off)) != 0)
		return rc;
	if (http_line(p, len, off, &lend, &next) == -1) {
		/* Still check what we have so binary junk is not "cut". */
		while (off < len && p[off] > 0x20 && p[off] != 0x7f)
			off++;
		return off < len && p[off] != ' ' ? PK_APP_EMALFORMED :
		    PK_APP_ETRUNC;
	}
	if ((rc = http_reqline(p, off, lend, out)) != 0)
		return rc;
	/* Every pass consumes at least one byte (the LF). */
	for (off = next; off < len; off = next) {
		if (http_line(p, len, off, &lend, &next) == -1)
			return PK_APP_ETRUNC;
		if (lend == off)
			return 0;	/* blank line: end of headers */
		for (colon = off; colon < lend && p[colon] != ':'; colon++)
			;
		if (colon == lend)
			continue;	/* not a header; tolerate */
		if (header_is(p + off, colon - off, "host"))
			http_host(p + colon + 1, lend - colon - 1, out);
		else if (header_is(p + off, colon - off, "user-agent") &&
		    out->user_agent[0] == '\0')
			http_value(p + colon + 1, lend - colon - 1,
			    out->user_agent, PK_HTTP_UA_MAX);
	}
	return PK_APP_ETRUNC;
}
