/*
 * peer_cli.c - `picket-hub peer add|list|show|set|remove` (docs/peering.md,
 * "Peers"): the member hubs this hub shares indicators with.  Like `task`
 * it writes the store directly; a running hub reads the peers again
 * within a few seconds (hub/peering.c).  The peer's CA file is read once,
 * checked (PEM, CERTIFICATE blocks only, each one DER whose outer shape
 * is an X.509 certificate) and kept in the database with the SHA-256 of
 * the first certificate's DER, so the hub never depends on the file
 * again.  No OpenSSL here: the base64 and the DER framing are checked by
 * hand; the TLS layer parses the certificate when it pins it.  Every
 * change is audited with actor "cli" (hub/cli.c opens the store and
 * writes the audit rows).  Called by hub/main.c.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/pktime.h"
#include "common/sha256.h"
#include "common/util.h"
#include "hub/cli.h"
#include "hub/outbreak.h"
#include "hub/peering.h"
#include "hub/stix.h"
#include "hub/store.h"

#define KINDS_TEXT_MAX	64	/* "fingerprint,rule,ioc,scan" */
#define SEND_TLP_DEF	HUB_TLP_GREEN
#define ACCEPT_TLP_DEF	HUB_TLP_AMBER

enum { O_DB = 500, O_URL, O_CA, O_SEND_TLP, O_SEND_SEV, O_SEND_KINDS,
	O_ACCEPT_TLP, O_AUTO, O_NO_AUTO, O_DISABLED, O_ENABLED, O_JSON,
	O_EXCERPTS, O_NO_EXCERPTS };

static void
usage(void)
{
	fprintf(stderr,
	    "usage: picket-hub peer add NAME --url https://HOST:PORT --ca "
	    "CA.pem [options]\n"
	    "       picket-hub peer set NAME [--url URL] [--ca CA.pem] "
	    "[options]\n"
	    "       picket-hub peer list [--json]\n"
	    "       picket-hub peer show NAME [--json]\n"
	    "       picket-hub peer remove NAME\n"
	    "options: [--send-tlp clear|green|amber|amber+strict] "
	    "[--send-min-severity 0..100]\n"
	    "         [--send-kinds fingerprint,ioc,rule,scan] "
	    "[--accept-tlp clear|green|amber|amber+strict]\n"
	    "         [--send-excerpts | --no-send-excerpts] "
	    "[--auto-approve | --no-auto-approve]\n"
	    "         [--disabled | --enabled]\n"
	    "every command: [-c hub.ini | --db PATH]\n");
}

/* The flags as given: NULL / -1 when absent (set keeps the stored value). */
struct opts {
	struct hub_cli_where where;	/* -c, --db */
	const char	*url, *ca, *send_tlp, *send_sev, *send_kinds;
	const char	*accept_tlp;
	int		 auto_approve;	/* -1, 0, 1 */
	int		 send_excerpts;	/* -1, 0, 1 */
	int		 enabled;	/* -1, 0, 1 */
	int		 json;
};

static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "url", required_argument, NULL, O_URL },
		{ "ca", required_argument, NULL, O_CA },
		{ "send-tlp", required_argument, NULL, O_SEND_TLP },
		{ "send-min-severity", required_argument, NULL, O_SEND_SEV },
		{ "send-kinds", required_argument, NULL, O_SEND_KINDS },
		{ "accept-tlp", required_argument, NULL, O_ACCEPT_TLP },
		{ "auto-approve", no_argument, NULL, O_AUTO },
		{ "no-auto-approve", no_argument, NULL, O_NO_AUTO },
		{ "disabled", no_argument, NULL, O_DISABLED },
		{ "enabled", no_argument, NULL, O_ENABLED },
		{ "json", no_argument, NULL, O_JSON },
		{ "send-excerpts", no_argument, NULL, O_EXCERPTS },
		{ "no-send-excerpts", no_argument, NULL, O_NO_EXCERPTS },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->auto_approve = o->enabled = o->send_excerpts = -1;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':		o->where.conf = optarg; break;
		case O_DB:		o->where.db = optarg; break;
		case O_URL:		o->url = optarg; break;
		case O_CA:		o->ca = optarg; break;
		case O_SEND_TLP:	o->send_tlp = optarg; break;
		case O_SEND_SEV:	o->send_sev = optarg; break;
		case O_SEND_KINDS:	o->send_kinds = optarg; break;
		case O_ACCEPT_TLP:	o->accept_tlp = optarg; break;
		case O_AUTO:		o->auto_approve = 1; break;
		case O_NO_AUTO:		o->auto_approve = 0; break;
		case O_DISABLED:	o->enabled = 0; break;
		case O_ENABLED:		o->enabled = 1; break;
		case O_JSON:		o->json = 1; break;
		case O_EXCERPTS:	o->send_excerpts = 1; break;
		case O_NO_EXCERPTS:	o->send_excerpts = 0; break;
		default:
			return -1;
		}
	}
	return 0;
}

/* ---- checks of what the operator typed */

static int
name_ok(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if (n == HUB_PEER_NAME_MAX)
			return 0;
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '.' || s[n] == '_' || s[n] == '-'))
			return 0;
	}
	return n > 0;
}

/*
 * https://HOST:PORT with an optional "/" and nothing else: HOST a DNS
 * name, an IPv4 address or [IPv6].  No user, path, query or fragment:
 * the peering path is fixed (docs/peering.md), and a URL that says more
 * than where to connect was probably meant for something else.
 */
static int
url_ok(const char *u, char *err, size_t errlen)
{
	static const char scheme[] = "https://";
	char host[HUB_PEER_URL_MAX + 1], portbuf[8];
	const char *h, *end, *colon;
	struct in6_addr a6;
	struct in_addr a4;
	const char *why;
	uint64_t port;
	size_t hl, pl;

	if (strlen(u) > HUB_PEER_URL_MAX) {
		pk_errf(err, errlen, "longer than %d bytes", HUB_PEER_URL_MAX);
		return -1;
	}
	if (strncmp(u, scheme, sizeof(scheme) - 1) != 0) {
		pk_errf(err, errlen, "must start with https://");
		return -1;
	}
	h = u + sizeof(scheme) - 1;
	end = h + strlen(h);
	if (end > h && end[-1] == '/')
		end--;
	if (h[0] == '[') {
		if ((colon = memchr(h, ']', (size_t)(end - h))) == NULL) {
			pk_errf(err, errlen, "no ] after the IPv6 address");
			return -1;
		}
		hl = (size_t)(colon - h - 1);
		memcpy(host, h + 1, hl);
		host[hl] = '\0';
		colon++;
		if (colon >= end || *colon != ':')
			colon = NULL;
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			pk_errf(err, errlen, "[%s] is not an IPv6 address",
			    host);
			return -1;
		}
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hl = (size_t)((colon != NULL ? colon : end) - h);
		memcpy(host, h, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, &a4) != 1 &&
		    !pk_hostname_ok((const uint8_t *)host, hl)) {
			pk_errf(err, errlen, "\"%s\" is not a host name or "
			    "address (no path, user or query may follow)",
			    host);
			return -1;
		}
	}
	if (colon == NULL) {
		pk_errf(err, errlen, "no :PORT after the host");
		return -1;
	}
	pl = (size_t)(end - colon - 1);
	if (pl == 0 || pl >= sizeof(portbuf)) {
		pk_errf(err, errlen, "the port must be 1..65535, with no "
		    "path after it");
		return -1;
	}
	memcpy(portbuf, colon + 1, pl);
	portbuf[pl] = '\0';
	if (pk_parse_u64(portbuf, 1, 65535, &port, &why) == -1) {
		pk_errf(err, errlen, "the port must be 1..65535, with no "
		    "path after it");
		return -1;
	}
	return 0;
}

/* A marking a peer may have: any TLP but RED, which never leaves and is
 * never accepted. */
static int
tlp_arg(const char *flag, const char *v, int *tlp)
{
	if (hub_tlp_parse(v, tlp) == -1) {
		fprintf(stderr, "picket-hub: %s %s: not a TLP marking (clear, "
		    "green, amber, amber+strict)\n", flag, v);
		return -1;
	}
	if (*tlp >= HUB_TLP_RED) {
		fprintf(stderr, "picket-hub: %s %s: TLP:RED is never shared "
		    "with a peer, in either direction\n", flag, v);
		return -1;
	}
	return 0;
}

/* "fingerprint,ioc,rule,scan" -> bits 1 << kind (hub/outbreak.h). */
static int
kinds_arg(const char *v, unsigned *bits)
{
	const char *p = v, *e, *name;
	size_t n;
	int k;

	*bits = 0;
	while (*p != '\0') {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		for (k = 0; k < HUB_OB_NKINDS; k++) {
			name = hub_outbreak_kind_name(k);
			if (name != NULL && strlen(name) == n &&
			    strncmp(name, p, n) == 0)
				break;
		}
		if (k == HUB_OB_NKINDS) {
			fprintf(stderr, "picket-hub: --send-kinds: \"%.*s\" is "
			    "not one of fingerprint, ioc, rule, scan\n",
			    (int)PK_MIN(n, (size_t)64), p);
			return -1;
		}
		*bits |= 1u << k;
		p += n;
		if (*p == ',')
			p++;
	}
	if (*bits == 0) {
		fprintf(stderr, "picket-hub: --send-kinds: name at least one "
		    "kind (or use --disabled)\n");
		return -1;
	}
	return 0;
}

static void
kinds_text(unsigned bits, char *out, size_t cap)
{
	const char *name;
	size_t n = 0;
	int k;

	out[0] = '\0';
	for (k = 0; k < HUB_OB_NKINDS; k++) {
		if (!(bits & (1u << k)) ||
		    (name = hub_outbreak_kind_name(k)) == NULL)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s%s",
		    n > 0 ? "," : "", name);
		if (n >= cap)
			break;
	}
	if (out[0] == '\0')
		pk_strlcpy(out, "-", cap);
}

/* ---- the CA file */

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode the base64 of s[0..n) (line breaks and blanks skipped, "="
 * only at the end) into out (at least n * 3 / 4 bytes): its length, or
 * -1.
 */
static long
b64_decode(const char *s, size_t n, uint8_t *out)
{
	uint32_t acc = 0;
	size_t i, o = 0;
	int bits = 0, pad = 0, v;

	for (i = 0; i < n; i++) {
		if (s[i] == '\n' || s[i] == '\r' || s[i] == ' ' ||
		    s[i] == '\t')
			continue;
		if (s[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64val((unsigned char)s[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (pad > 2 || bits >= 6)
		return -1;
	return (long)o;
}

/* The outer shape of an X.509 certificate: SEQUENCE { SEQUENCE ... }
 * whose length is exactly the DER's. */
static int
der_cert_ok(const uint8_t *d, size_t n)
{
	size_t len = 0, hdr, i, nb;

	if (n < 4 || d[0] != 0x30)
		return 0;
	if (d[1] < 0x80) {
		len = d[1];
		hdr = 2;
	} else {
		nb = d[1] & 0x7f;
		if (nb == 0 || nb > 3 || n < 2 + nb)
			return 0;
		for (i = 0; i < nb; i++)
			len = (len << 8) | d[2 + i];
		hdr = 2 + nb;
	}
	return hdr + len == n && n > hdr && d[hdr] == 0x30;
}

/*
 * Check a PEM file's text: only CERTIFICATE blocks (a private key or
 * anything else in it is refused: it would end up in the database), at
 * least one, each valid base64 of a DER certificate.  Text outside the
 * blocks (what `openssl x509 -text` prints) is allowed.  sha_hex gets
 * the SHA-256 of the first certificate's DER.
 */
static int
ca_check(const char *pem, size_t len, char sha_hex[65], int *ncerts,
    char *err, size_t errlen)
{
	static const char begin[] = "-----BEGIN ", dashes[] = "-----";
	const char *p = pem, *end = pem + len, *lab, *labend, *body, *fin;
	char endline[96];
	uint8_t *der, digest[PK_SHA256_LEN];
	long dn;
	size_t ln;

	*ncerts = 0;
	if (strlen(pem) != len) {
		pk_errf(err, errlen, "not a PEM file (binary data)");
		return -1;
	}
	if ((der = malloc(len * 3 / 4 + 4)) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return -1;
	}
	while ((p = strstr(p, begin)) != NULL) {
		lab = p + sizeof(begin) - 1;
		if ((labend = strstr(lab, dashes)) == NULL ||
		    (size_t)(labend - lab) > 64) {
			pk_errf(err, errlen, "a BEGIN line without its end");
			goto fail;
		}
		ln = (size_t)(labend - lab);
		if (ln != 11 || strncmp(lab, "CERTIFICATE", 11) != 0) {
			pk_errf(err, errlen, "holds a \"%.*s\" block: give "
			    "the peer's CA certificate(s) only", (int)ln, lab);
			goto fail;
		}
		body = labend + sizeof(dashes) - 1;
		snprintf(endline, sizeof(endline), "-----END %.*s-----",
		    (int)ln, lab);
		if ((fin = strstr(body, endline)) == NULL) {
			pk_errf(err, errlen, "certificate %d has no END line",
			    *ncerts + 1);
			goto fail;
		}
		if ((dn = b64_decode(body, (size_t)(fin - body), der)) <= 0 ||
		    !der_cert_ok(der, (size_t)dn)) {
			pk_errf(err, errlen, "certificate %d is not a DER "
			    "X.509 certificate in base64", *ncerts + 1);
			goto fail;
		}
		if (*ncerts == 0) {
			pk_sha256(der, (size_t)dn, digest);
			pk_hex(digest, sizeof(digest), sha_hex);
		}
		(*ncerts)++;
		p = fin + strlen(endline);
		if (p > end)
			break;
	}
	free(der);
	if (*ncerts == 0) {
		pk_errf(err, errlen, "not a PEM file: no BEGIN CERTIFICATE "
		    "block");
		return -1;
	}
	return 0;
fail:
	free(der);
	return -1;
}

/* Read and check --ca: the PEM (caller frees) in *pem, *len. */
static int
ca_read(const char *path, char **pem, size_t *len, char sha_hex[65])
{
	char err[256];
	int n;

	if ((*pem = pk_read_file(path, HUB_PEER_CA_MAX, len, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "picket-hub: --ca %s (at most %d bytes)\n", err,
		    HUB_PEER_CA_MAX);
		return -1;
	}
	if (ca_check(*pem, *len, sha_hex, &n, err, sizeof(err)) == -1) {
		fprintf(stderr, "picket-hub: --ca %s: %s\n", path, err);
		free(*pem);
		*pem = NULL;
		return -1;
	}
	return 0;
}

/*
 * Apply the flags to p (add starts from the defaults, set from the
 * stored row); the CA, when given, into *pem.  0, or -1 (said why).
 */
static int
apply(const struct opts *o, struct hub_peer *p, char **pem)
{
	char err[256];
	const char *why;
	uint64_t sev;

	*pem = NULL;
	if (o->url != NULL) {
		if (url_ok(o->url, err, sizeof(err)) == -1) {
			fprintf(stderr, "picket-hub: --url %s: %s\n", o->url,
			    err);
			return -1;
		}
		pk_strlcpy(p->url, o->url, sizeof(p->url));
	}
	if (o->send_tlp != NULL &&
	    tlp_arg("--send-tlp", o->send_tlp, &p->send_tlp) == -1)
		return -1;
	if (o->accept_tlp != NULL &&
	    tlp_arg("--accept-tlp", o->accept_tlp, &p->accept_tlp) == -1)
		return -1;
	if (o->send_sev != NULL) {
		if (pk_parse_u64(o->send_sev, 0, 100, &sev, &why) == -1) {
			fprintf(stderr, "picket-hub: --send-min-severity %s: "
			    "%s (0..100)\n", o->send_sev, why);
			return -1;
		}
		p->send_min_severity = (int)sev;
	}
	if (o->send_kinds != NULL && kinds_arg(o->send_kinds,
	    &p->send_kinds) == -1)
		return -1;
	if (o->auto_approve >= 0)
		p->auto_approve = o->auto_approve;
	if (o->send_excerpts >= 0)
		p->send_excerpts = o->send_excerpts;
	if (o->enabled >= 0)
		p->enabled = o->enabled;
	if (o->ca != NULL) {
		if (ca_read(o->ca, pem, &p->ca_len, p->ca_sha256) == -1)
			return -1;
		p->ca_pem = *pem;
	} else
		p->ca_pem = NULL;
	return 0;
}

/* ---- the commands */

static int
cmd_add(const struct opts *o, const char *name)
{
	struct hub_peer p;
	struct hub_store *st;
	char *pem = NULL;
	int dup = 0, rc;

	if (o->url == NULL || o->ca == NULL) {
		fprintf(stderr, "picket-hub: peer add: --url and --ca are "
		    "required\n");
		return 2;
	}
	memset(&p, 0, sizeof(p));
	pk_strlcpy(p.name, name, sizeof(p.name));
	p.enabled = 1;
	p.send_tlp = SEND_TLP_DEF;
	p.send_kinds = HUB_PEER_KINDS_ALL;
	p.accept_tlp = ACCEPT_TLP_DEF;
	p.created_us = (int64_t)pk_now_us();
	p.send_seq = 1;
	if (apply(o, &p, &pem) == -1)
		return 2;
	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL) {
		free(pem);
		return 1;
	}
	rc = st->ops->peer_add(st, &p, &dup);
	hub_cli_audit(st, "peer.add", name, rc == -1 ? "500" : dup ? "409" :
	    "ok");
	st->ops->close(st);
	free(pem);
	if (rc == -1)
		return 1;
	if (dup) {
		fprintf(stderr, "picket-hub: peer %s exists (peer set %s "
		    "... changes it)\n", name, name);
		return 1;
	}
	fprintf(stderr, "peer %s added: %s, CA SHA-256 %s\n", name, p.url,
	    p.ca_sha256);
	return 0;
}

/* Copy of a peer row for set (the CA pointer is not kept). */
static int
copy_peer(void *arg, const struct hub_peer *p)
{
	struct hub_peer *out = arg;

	*out = *p;
	out->ca_pem = NULL;
	out->ca_len = 0;
	return 0;
}

static int
cmd_set(const struct opts *o, const char *name)
{
	struct hub_peer p;
	struct hub_store *st;
	char *pem = NULL;
	int found = 0, rc;

	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	memset(&p, 0, sizeof(p));
	if (st->ops->peer_get(st, name, copy_peer, &p, &found) == -1) {
		st->ops->close(st);
		return 1;
	}
	if (!found) {
		hub_cli_audit(st, "peer.update", name, "404");
		st->ops->close(st);
		fprintf(stderr, "picket-hub: no peer %s\n", name);
		return 1;
	}
	if (apply(o, &p, &pem) == -1) {
		st->ops->close(st);
		return 2;
	}
	rc = st->ops->peer_update(st, &p, &found);
	hub_cli_audit(st, "peer.update", name, rc == -1 ? "500" :
	    found ? "ok" : "404");
	st->ops->close(st);
	free(pem);
	if (rc == -1 || !found) {
		if (rc == 0)
			fprintf(stderr, "picket-hub: no peer %s\n", name);
		return 1;
	}
	fprintf(stderr, "peer %s updated\n", name);
	return 0;
}

static int
cmd_remove(const struct opts *o, const char *name)
{
	struct hub_store *st;
	int found = 0, rc;

	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	rc = st->ops->peer_remove(st, name, &found);
	hub_cli_audit(st, "peer.remove", name, rc == -1 ? "500" :
	    found ? "ok" : "404");
	st->ops->close(st);
	if (rc == -1)
		return 1;
	if (!found) {
		fprintf(stderr, "picket-hub: no peer %s\n", name);
		return 1;
	}
	fprintf(stderr, "peer %s removed (what it shared is kept)\n", name);
	return 0;
}

/* Text from the store for a terminal: control bytes become '?' (the
 * last error may quote what a peer answered). */
static void
safe(const char *s, char *out, size_t cap)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < cap; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	out[i] = '\0';
}

static const char *
when(int64_t us, char *out, size_t cap)
{
	return hub_cli_time(us, "never", out, cap);
}

static json_t *
peer_json(const struct hub_peer *p)
{
	char kinds[KINDS_TEXT_MAX], t[PK_TIMESTRLEN], c[PK_TIMESTRLEN];

	kinds_text(p->send_kinds, kinds, sizeof(kinds));
	return json_pack("{s:s,s:s,s:s,s:b,s:s,s:{s:s,s:i,s:s,s:b,s:s,s:b},"
	    "s:{s:I,s:I,s:s,s:s,s:I,s:I},s:{s:I,s:I,s:I,s:I}}",
	    "name", p->name, "url", p->url, "ca_sha256", p->ca_sha256,
	    "enabled", p->enabled, "created", when(p->created_us, c,
	    sizeof(c)),
	    "policy", "send_tlp", hub_tlp_name(p->send_tlp),
	    "send_min_severity", p->send_min_severity, "send_kinds", kinds,
	    "send_excerpts", p->send_excerpts,
	    "accept_tlp", hub_tlp_name(p->accept_tlp), "auto_approve",
	    p->auto_approve,
	    "sent", "cursor", (json_int_t)p->cursor_rowid, "sequence",
	    (json_int_t)p->send_seq, "last_push", when(p->last_push_us, t,
	    sizeof(t)), "last_error", p->last_error, "bundles",
	    (json_int_t)p->bundles_sent, "indicators",
	    (json_int_t)p->indicators_sent,
	    "received", "sequence", (json_int_t)p->recv_seq, "bundles",
	    (json_int_t)p->bundles_received, "indicators",
	    (json_int_t)p->indicators_received, "refused",
	    (json_int_t)p->objects_refused);
}

static int
print_json(const struct hub_peer *p)
{
	json_t *j;
	int rc;

	rc = (j = peer_json(p)) != NULL &&
	    hub_cli_json_line(j, JSON_COMPACT) == 0 ? 0 : 1;
	json_decref(j);
	return rc;
}

static int
list_row(void *arg, const struct hub_peer *p)
{
	const struct opts *o = arg;
	char t[PK_TIMESTRLEN], e[80];

	if (o->json)
		return print_json(p);
	safe(p->last_error, e, sizeof(e));
	printf("%-20s %-36s %-3s %-16s %-16s %-16.16s %10lld %6llu %-27s %-3s "
	    "%s\n", p->name, p->url, p->enabled ? "yes" : "no",
	    hub_tlp_name(p->send_tlp), hub_tlp_name(p->accept_tlp),
	    p->ca_sha256, (long long)p->cursor_rowid,
	    (unsigned long long)p->send_seq, when(p->last_push_us, t,
	    sizeof(t)), p->send_excerpts ? "yes" : "no",
	    e[0] != '\0' ? e : "-");
	return 0;
}

static int
cmd_list(const struct opts *o)
{
	struct hub_store *st;
	int rc;

	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	if (!o->json)
		printf("%-20s %-36s %-3s %-16s %-16s %-16s %10s %6s %-27s %-3s "
		    "%s\n", "NAME", "URL", "ON", "SEND", "ACCEPT", "CA-SHA256",
		    "CURSOR", "SEQ", "LAST-PUSH", "EXC", "LAST-ERROR");
	rc = st->ops->peer_list(st, list_row, (void *)o);
	st->ops->close(st);
	return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

static int
show_row(void *arg, const struct hub_peer *p)
{
	const struct opts *o = arg;
	char kinds[KINDS_TEXT_MAX], t[PK_TIMESTRLEN], c[PK_TIMESTRLEN];
	char e[HUB_PEER_ERR_MAX + 1];

	if (o->json)
		return print_json(p);
	kinds_text(p->send_kinds, kinds, sizeof(kinds));
	safe(p->last_error, e, sizeof(e));
	printf("peer %s\nurl: %s\nenabled: %s\ncreated: %s\n"
	    "ca sha256: %s (%zu PEM bytes)\n"
	    "send: tlp at most %s, severity at least %d, kinds %s, payload "
	    "excerpts %s\n"
	    "accept: tlp at most %s, %s\n",
	    p->name, p->url, p->enabled ? "yes" : "no", when(p->created_us, c,
	    sizeof(c)), p->ca_sha256, p->ca_len, hub_tlp_name(p->send_tlp),
	    p->send_min_severity, kinds, p->send_excerpts ?
	    "of TLP:AMBER rows (--send-excerpts)" : "never",
	    hub_tlp_name(p->accept_tlp),
	    p->auto_approve ? "approved at once (--auto-approve)" :
	    "pending until an analyst decides");
	printf("sent: cursor %lld, next sequence %llu, last push %s, "
	    "bundles %llu, indicators %llu\nlast error: %s\n",
	    (long long)p->cursor_rowid, (unsigned long long)p->send_seq,
	    when(p->last_push_us, t, sizeof(t)),
	    (unsigned long long)p->bundles_sent,
	    (unsigned long long)p->indicators_sent, e[0] != '\0' ? e : "-");
	printf("received: last sequence %llu, bundles %llu, indicators "
	    "%llu, objects refused %llu\n", (unsigned long long)p->recv_seq,
	    (unsigned long long)p->bundles_received,
	    (unsigned long long)p->indicators_received,
	    (unsigned long long)p->objects_refused);
	return 0;
}

static int
cmd_show(const struct opts *o, const char *name)
{
	struct hub_store *st;
	int found = 0, rc;

	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	rc = st->ops->peer_get(st, name, show_row, (void *)o, &found);
	st->ops->close(st);
	if (rc == 0 && !found)
		fprintf(stderr, "picket-hub: no peer %s\n", name);
	return rc == 0 && found && fflush(stdout) == 0 ? 0 : 1;
}

int
hub_cmd_peer(int argc, char **argv)
{
	struct opts o;
	const char *sub, *name;

	if (argc < 2) {
		usage();
		return 2;
	}
	sub = argv[1];
	if (parse(argc, argv, &o) == -1) {
		usage();
		return 2;
	}
	if (strcmp(sub, "list") == 0)
		return optind == argc ? cmd_list(&o) : (usage(), 2);
	if (strcmp(sub, "add") != 0 && strcmp(sub, "show") != 0 &&
	    strcmp(sub, "set") != 0 && strcmp(sub, "remove") != 0) {
		usage();
		return 2;
	}
	if (optind + 1 != argc) {
		usage();
		return 2;
	}
	name = argv[optind];
	if (!name_ok(name)) {
		fprintf(stderr, "picket-hub: peer name \"%.*s\": 1..%d bytes "
		    "of A-Z a-z 0-9 . _ -\n", 80, name, HUB_PEER_NAME_MAX);
		return 2;
	}
	if (strcmp(sub, "add") == 0)
		return cmd_add(&o, name);
	if (strcmp(sub, "set") == 0)
		return cmd_set(&o, name);
	if (strcmp(sub, "show") == 0)
		return cmd_show(&o, name);
	return cmd_remove(&o, name);
}
