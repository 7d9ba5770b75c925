/*
 * tls.c - the OpenSSL backend of tls.h, and the only file of the project
 * that includes <openssl/ssl.h> (transport/pki.c makes certificates for
 * enrollment with libcrypto; digests are the project's own,
 * common/sha256.c).  It enforces the
 * policy of docs/tls.md in one place: TLS 1.3 only, ALPN "picket/1"
 * required both ways, verification against the configured CA and never
 * the system store, hostname check and optional SPKI pin on the client,
 * mandatory client certificate and optional CRL on the server, no session
 * resumption (a revoked agent must not ride an old ticket).  Errors become
 * one bounded line for the logs.  Called only through tls.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/util.h"
#include "transport/tls.h"

/* ALPN on the wire: length-prefixed protocol names. */
static const unsigned char alpn_wire[] = "\x08picket/1";
#define ALPN_WIRE_LEN (sizeof(alpn_wire) - 1)

struct pk_tls_ctx {
	SSL_CTX		*ssl;
	int		 server;
	int		 has_pin;
	uint8_t		 pin[PK_TLS_SPKI_LEN];
	pk_tls_refused_fn refused_fn;	/* peering listener */
	void		*refused_arg;
};

struct pk_tls {
	struct pk_tls_ctx *ctx;
	SSL		*ssl;
	int		 done;		/* handshake complete and checked */
	int		 http;		/* pk_tls_http_client_new: no ALPN */
	char		 cn[PK_TLS_CN_MAX + 1];
	uint8_t		 spki[PK_TLS_SPKI_LEN];
	char		 err[PK_TLS_ERRLEN];
	char		 why[PK_TLS_ERRLEN];	/* reason set by our callbacks */
};

/* The first queued OpenSSL reason, or fallback; empties the queue. */
const char *
pk_tls_ossl_reason(const char *fallback)
{
	unsigned long e = ERR_get_error();
	const char *r;

	/* A missing or unreadable file is a system error: say which. */
	if (e != 0 && ERR_SYSTEM_ERROR(e))
		r = strerror(ERR_GET_REASON(e));
	else
		r = e ? ERR_reason_error_string(e) : NULL;
	ERR_clear_error();
	return r != NULL ? r : fallback;
}

/* SHA-256 of the DER SubjectPublicKeyInfo (the RFC 7469 pin input). */
static int
cert_spki(X509 *cert, uint8_t out[PK_TLS_SPKI_LEN])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len, rc;

	len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	if (len <= 0)
		return -1;
	rc = EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return (rc == 1 && mdlen == PK_TLS_SPKI_LEN) ? 0 : -1;
}

static int
parse_pin(const char *hex, uint8_t out[PK_TLS_SPKI_LEN])
{
	size_t i;

	if (strlen(hex) != 2 * PK_TLS_SPKI_LEN)
		return -1;
	for (i = 0; i < 2 * PK_TLS_SPKI_LEN; i++) {
		int v = pk_hexval((unsigned char)hex[i]);

		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

/*
 * Client verify callback: runs after OpenSSL's own checks of each chain
 * element; at depth 0 with the chain good we compare the pin, so a pin
 * mismatch aborts the handshake before the agent shows its certificate.
 */
static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl;
	struct pk_tls *t;
	uint8_t spki[PK_TLS_SPKI_LEN];

	if (!ok || X509_STORE_CTX_get_error_depth(xs) != 0)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	t = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	if (t == NULL || !t->ctx->has_pin)
		return ok;
	if (cert_spki(X509_STORE_CTX_get_current_cert(xs), spki) == -1 ||
	    memcmp(spki, t->ctx->pin, sizeof(spki)) != 0) {
		pk_strlcpy(t->why, "hub SPKI pin mismatch", sizeof(t->why));
		X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return ok;
}

/*
 * Server: refuse a ClientHello without ALPN here, because OpenSSL calls the
 * ALPN select callback only when the extension is present.
 */
static int
client_hello_cb(SSL *ssl, int *alert, void *arg)
{
	const unsigned char *p;
	size_t len;
	struct pk_tls *t = SSL_get_app_data(ssl);

	(void)arg;
	if (SSL_client_hello_get0_ext(ssl,
	    TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &len))
		return SSL_CLIENT_HELLO_SUCCESS;
	if (t != NULL)
		pk_strlcpy(t->why, "no ALPN: client offered none",
		    sizeof(t->why));
	*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
	return SSL_CLIENT_HELLO_ERROR;
}

static int
alpn_select_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel = NULL;
	struct pk_tls *t = SSL_get_app_data(ssl);

	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, alpn_wire, ALPN_WIRE_LEN,
	    in, inlen) == OPENSSL_NPN_NEGOTIATED) {
		*out = sel;
		return SSL_TLSEXT_ERR_OK;
	}
	if (t != NULL)
		pk_strlcpy(t->why, "no ALPN: client did not offer picket/1",
		    sizeof(t->why));
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int
load_crl(SSL_CTX *ssl, const char *file, char *err, size_t errlen)
{
	X509_STORE *st = SSL_CTX_get_cert_store(ssl);
	X509_LOOKUP *lu = X509_STORE_add_lookup(st, X509_LOOKUP_file());

	if (lu == NULL || X509_load_crl_file(lu, file, X509_FILETYPE_PEM) <= 0) {
		pk_errf(err, errlen, "CRL %s: %s", file,
		    pk_tls_ossl_reason("cannot load"));
		return -1;
	}
	/* Leaf only: our CAs are roots, so there is nothing above to check. */
	X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	return 0;
}

/*
 * A context for TLS 1.3 only with this side's certificate chain and key,
 * checked to match: what every context here that presents a certificate
 * starts from.  NULL with err.
 */
static SSL_CTX *
ctx_keyed(const SSL_METHOD *m, const char *cert, const char *key, char *err,
    size_t errlen)
{
	SSL_CTX *ssl;

	ERR_clear_error();
	if ((ssl = SSL_CTX_new(m)) == NULL) {
		pk_errf(err, errlen, "SSL_CTX_new: %s", pk_tls_ossl_reason("failed"));
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(ssl, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ssl, TLS1_3_VERSION)) {
		pk_errf(err, errlen, "cannot require TLS 1.3");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ssl, cert) != 1) {
		pk_errf(err, errlen, "certificate %s: %s", cert,
		    pk_tls_ossl_reason("cannot load"));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ssl, key, SSL_FILETYPE_PEM) != 1) {
		pk_errf(err, errlen, "key %s: %s", key, pk_tls_ossl_reason("cannot load"));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ssl) != 1) {
		pk_errf(err, errlen, "key %s does not match certificate %s",
		    key, cert);
		goto fail;
	}
	return ssl;
fail:
	ERR_clear_error();
	SSL_CTX_free(ssl);
	return NULL;
}

/* What both sides share: protocol floor, own certificate, trust anchor. */
static SSL_CTX *
ctx_common(const SSL_METHOD *m, const char *ca, const char *cert,
    const char *key, const char *crl, char *err, size_t errlen)
{
	SSL_CTX *ssl;

	if (ca == NULL || cert == NULL || key == NULL) {
		pk_errf(err, errlen, "CA, certificate and key files are required");
		return NULL;
	}
	if ((ssl = ctx_keyed(m, cert, key, err, errlen)) == NULL)
		return NULL;
	/* Only the configured CA: we never call set_default_verify_paths. */
	if (!SSL_CTX_load_verify_locations(ssl, ca, NULL)) {
		pk_errf(err, errlen, "CA %s: %s", ca, pk_tls_ossl_reason("cannot load"));
		goto fail;
	}
	if (crl != NULL && crl[0] != '\0' &&
	    load_crl(ssl, crl, err, errlen) == -1)
		goto fail;
	X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(ssl),
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	/* RELEASE_BUFFERS: an idle connection gives its 16 KiB read and
	 * write buffers back (agents are idle between batches; a hub
	 * holds thousands of them) */
	SSL_CTX_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* No resumption: each connection proves its certificate afresh. */
	SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ssl, SSL_OP_NO_TICKET);
	ERR_clear_error();
	return ssl;
fail:
	ERR_clear_error();
	SSL_CTX_free(ssl);
	return NULL;
}

struct pk_tls_ctx *
pk_tls_client_ctx_new(const struct pk_tls_client_opts *o, char *err,
    size_t errlen)
{
	struct pk_tls_ctx *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	if (o->spki_pin != NULL && o->spki_pin[0] != '\0') {
		if (parse_pin(o->spki_pin, c->pin) == -1) {
			pk_errf(err, errlen, "SPKI pin: want 64 hex digits");
			free(c);
			return NULL;
		}
		c->has_pin = 1;
	}
	c->ssl = ctx_common(TLS_client_method(), o->ca_file, o->cert_file,
	    o->key_file, o->crl_file, err, errlen);
	if (c->ssl == NULL) {
		free(c);
		return NULL;
	}
	SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, verify_cb);
	/* SSL_CTX_set_alpn_protos returns 0 on success. */
	if (SSL_CTX_set_alpn_protos(c->ssl, alpn_wire, ALPN_WIRE_LEN) != 0) {
		pk_errf(err, errlen, "cannot set ALPN");
		pk_tls_ctx_free(c);
		return NULL;
	}
	return c;
}

struct pk_tls_ctx *
pk_tls_server_ctx_new(const struct pk_tls_server_opts *o, char *err,
    size_t errlen)
{
	struct pk_tls_ctx *c;
	STACK_OF(X509_NAME) *names;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	c->server = 1;
	c->ssl = ctx_common(TLS_server_method(), o->ca_file, o->cert_file,
	    o->key_file, o->crl_file, err, errlen);
	if (c->ssl == NULL) {
		free(c);
		return NULL;
	}
	SSL_CTX_set_verify(c->ssl,
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* Tell clients which CA we accept (helps an agent with several). */
	if ((names = SSL_load_client_CA_file(o->ca_file)) != NULL)
		SSL_CTX_set_client_CA_list(c->ssl, names);
	SSL_CTX_set_num_tickets(c->ssl, 0);
	SSL_CTX_set_client_hello_cb(c->ssl, client_hello_cb, NULL);
	SSL_CTX_set_alpn_select_cb(c->ssl, alpn_select_cb, NULL);
	ERR_clear_error();
	return c;
}

void
pk_tls_ctx_free(struct pk_tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	/* Connections may keep the SSL_CTX alive: none may call back. */
	if (ctx->ssl != NULL)
		SSL_CTX_set_app_data(ctx->ssl, NULL);
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}

static struct pk_tls *
conn_new(struct pk_tls_ctx *ctx, int fd, char *err, size_t errlen)
{
	struct pk_tls *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	t->ctx = ctx;
	ERR_clear_error();
	if ((t->ssl = SSL_new(ctx->ssl)) == NULL ||
	    SSL_set_fd(t->ssl, fd) != 1) {
		pk_errf(err, errlen, "SSL_new: %s", pk_tls_ossl_reason("failed"));
		pk_tls_free(t);
		return NULL;
	}
	SSL_set_app_data(t->ssl, t);
	return t;
}

/* True when s is an IPv4/IPv6 literal (no SNI for those, RFC 6066 3). */
static int
is_ip_literal(const char *s)
{
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(s);

	if (ip == NULL) {
		ERR_clear_error();
		return 0;
	}
	ASN1_OCTET_STRING_free(ip);
	return 1;
}

struct pk_tls *
pk_tls_client_new(struct pk_tls_ctx *ctx, int fd, const char *host,
    char *err, size_t errlen)
{
	struct pk_tls *t;

	if (ctx == NULL || ctx->server || host == NULL || host[0] == '\0') {
		pk_errf(err, errlen, "client connection needs a client "
		    "context and the hub's name");
		return NULL;
	}
	if ((t = conn_new(ctx, fd, err, errlen)) == NULL)
		return NULL;
	/* SSL_set1_host takes IP literals too (checked against IP SANs). */
	if (SSL_set1_host(t->ssl, host) != 1 ||
	    (!is_ip_literal(host) &&
	    SSL_set_tlsext_host_name(t->ssl, host) != 1)) {
		pk_errf(err, errlen, "hub name %.64s: %s", host,
		    pk_tls_ossl_reason("refused"));
		pk_tls_free(t);
		return NULL;
	}
	SSL_set_connect_state(t->ssl);
	return t;
}

struct pk_tls *
pk_tls_server_new(struct pk_tls_ctx *ctx, int fd, char *err, size_t errlen)
{
	struct pk_tls *t;

	if (ctx == NULL || !ctx->server) {
		pk_errf(err, errlen, "server connection needs a server context");
		return NULL;
	}
	if ((t = conn_new(ctx, fd, err, errlen)) == NULL)
		return NULL;
	SSL_set_accept_state(t->ssl);
	return t;
}

void
pk_tls_free(struct pk_tls *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
}

/* Map the failure of an SSL_* call to our codes, filling t->err. */
static int
fail_reason(struct pk_tls *t, int ret, int syserr)
{
	int e = SSL_get_error(t->ssl, ret);
	long vr;
	unsigned long oe;
	const char *r;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return PK_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return PK_TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		ERR_clear_error();
		return PK_TLS_CLOSED;
	default:
		break;
	}
	if (t->why[0] != '\0') {
		pk_strlcpy(t->err, t->why, sizeof(t->err));
	} else if ((vr = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		pk_errf(t->err, sizeof(t->err), "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	} else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		if (syserr != 0)
			pk_errf(t->err, sizeof(t->err), "%s", strerror(syserr));
		else
			pk_strlcpy(t->err, "connection closed by peer",
			    sizeof(t->err));
	} else {
		oe = ERR_peek_error();
		r = pk_tls_ossl_reason("TLS error");
		if (ERR_GET_REASON(oe) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
			r = "no client certificate";
		else if (ERR_GET_REASON(oe) == SSL_R_UNSUPPORTED_PROTOCOL)
			r = "unsupported protocol (TLS 1.3 required)";
		pk_errf(t->err, sizeof(t->err), "%s", r);
	}
	ERR_clear_error();
	return PK_TLS_ERROR;
}

/*
 * The subject CN as an agent id: 1..PK_TLS_CN_MAX printable ASCII bytes
 * (it ends up in logs and the store).  out holds PK_TLS_CN_MAX + 1.
 */
static int
cert_cn(X509 *x, char *out, char *err, size_t errlen)
{
	X509_NAME *name = X509_get_subject_name(x);
	ASN1_STRING *s;
	const unsigned char *d;
	int idx, len, i;

	if ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0) {
		pk_strlcpy(err, "certificate has no subject CN", errlen);
		return -1;
	}
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	len = ASN1_STRING_length(s);
	d = ASN1_STRING_get0_data(s);
	if (len < 1 || len > PK_TLS_CN_MAX) {
		pk_strlcpy(err, "certificate CN empty or longer than 64", errlen);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (d[i] < 0x21 || d[i] > 0x7e) {
			pk_strlcpy(err, "certificate CN has non-printable bytes",
			    errlen);
			return -1;
		}
	}
	memcpy(out, d, (size_t)len);
	out[len] = '\0';
	return 0;
}

/* After the handshake: the checks OpenSSL does not do for us. */
static int
check_peer(struct pk_tls *t)
{
	const unsigned char *alpn = NULL;
	unsigned int alen = 0;
	X509 *peer;

	SSL_get0_alpn_selected(t->ssl, &alpn, &alen);
	if (!t->http && (alen != ALPN_WIRE_LEN - 1 ||
	    memcmp(alpn, PK_TLS_ALPN, ALPN_WIRE_LEN - 1) != 0)) {
		pk_strlcpy(t->err, "no ALPN: peer did not select picket/1",
		    sizeof(t->err));
		return -1;
	}
	/* Verified by OpenSSL (VERIFY_PEER on both sides) if present. */
	if ((peer = SSL_get0_peer_certificate(t->ssl)) == NULL ||
	    SSL_get_verify_result(t->ssl) != X509_V_OK) {
		pk_strlcpy(t->err, "no verified peer certificate",
		    sizeof(t->err));
		return -1;
	}
	if (cert_spki(peer, t->spki) == -1) {
		pk_strlcpy(t->err, "cannot hash peer public key", sizeof(t->err));
		return -1;
	}
	if (X509_NAME_get_index_by_NID(X509_get_subject_name(peer),
	    NID_commonName, -1) < 0 && !t->ctx->server)
		return 0;	/* a hub is known by its SAN, not its CN */
	return cert_cn(peer, t->cn, t->err, sizeof(t->err));
}

int
pk_tls_handshake(struct pk_tls *t)
{
	int ret;

	if (t->done)
		return PK_TLS_DONE;
	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(t->ssl);
	if (ret != 1)
		return fail_reason(t, ret, errno);
	if (check_peer(t) == -1) {
		t->cn[0] = '\0';
		return PK_TLS_ERROR;
	}
	t->done = 1;
	return PK_TLS_DONE;
}

long
pk_tls_read(struct pk_tls *t, void *buf, size_t len)
{
	size_t n = 0;
	int ret;

	if (!t->done) {
		pk_strlcpy(t->err, "read before handshake", sizeof(t->err));
		return PK_TLS_ERROR;
	}
	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	ret = SSL_read_ex(t->ssl, buf, len, &n);
	if (ret == 1)
		return (long)n;
	return fail_reason(t, ret, errno);
}

long
pk_tls_write(struct pk_tls *t, const void *buf, size_t len)
{
	size_t n = 0;
	int ret;

	if (!t->done) {
		pk_strlcpy(t->err, "write before handshake", sizeof(t->err));
		return PK_TLS_ERROR;
	}
	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	ret = SSL_write_ex(t->ssl, buf, len, &n);
	if (ret == 1)
		return (long)n;
	return fail_reason(t, ret, errno);
}

size_t
pk_tls_pending(const struct pk_tls *t)
{
	int n = SSL_pending(t->ssl);

	return n > 0 ? (size_t)n : 0;
}

int
pk_tls_shutdown(struct pk_tls *t)
{
	int ret;

	ERR_clear_error();
	errno = 0;
	/* 0 = our close_notify is out; we do not wait for the peer's. */
	ret = SSL_shutdown(t->ssl);
	if (ret >= 0)
		return PK_TLS_DONE;
	return fail_reason(t, ret, errno);
}

const char *
pk_tls_error(const struct pk_tls *t)
{
	return t->err;
}

const char *
pk_tls_peer_cn(const struct pk_tls *t)
{
	return t->done && t->cn[0] != '\0' ? t->cn : NULL;
}

int
pk_tls_peer_spki(const struct pk_tls *t, uint8_t out[PK_TLS_SPKI_LEN])
{
	if (!t->done)
		return -1;
	memcpy(out, t->spki, PK_TLS_SPKI_LEN);
	return 0;
}

int
pk_tls_peer_spki_hex(const struct pk_tls *t, char *out, size_t outlen)
{
	if (!t->done || outlen < 2 * PK_TLS_SPKI_LEN + 1)
		return -1;
	pk_hex(t->spki, PK_TLS_SPKI_LEN, out);
	return 0;
}

/* The first certificate of a PEM file, or NULL with the reason in err. */
static X509 *
read_cert(const char *path, char *err, size_t errlen)
{
	FILE *f;
	X509 *x;

	if ((f = fopen(path, "r")) == NULL) {
		pk_errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		pk_errf(err, errlen, "%s: %s", path,
		    pk_tls_ossl_reason("no PEM certificate"));
	return x;
}

int
pk_tls_file_spki_hex(const char *cert_file, char *out, size_t outlen,
    char *err, size_t errlen)
{
	X509 *x;
	uint8_t spki[PK_TLS_SPKI_LEN];
	int rc;

	if (outlen < 2 * PK_TLS_SPKI_LEN + 1) {
		pk_errf(err, errlen, "output buffer too small");
		return -1;
	}
	if ((x = read_cert(cert_file, err, errlen)) == NULL)
		return -1;
	rc = cert_spki(x, spki);
	X509_free(x);
	if (rc == -1) {
		pk_errf(err, errlen, "%s: cannot hash public key", cert_file);
		return -1;
	}
	pk_hex(spki, PK_TLS_SPKI_LEN, out);
	return 0;
}

int
pk_tls_file_cn(const char *cert_file, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char cn[PK_TLS_CN_MAX + 1], why[PK_TLS_ERRLEN];
	X509 *x;
	int rc;

	if ((x = read_cert(cert_file, err, errlen)) == NULL)
		return -1;
	rc = cert_cn(x, cn, why, sizeof(why));
	X509_free(x);
	if (rc == -1) {
		pk_errf(err, errlen, "%s: %s", cert_file, why);
		return -1;
	}
	if (pk_strlcpy(out, cn, outlen) >= outlen) {
		pk_errf(err, errlen, "output buffer too small");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ HTTPS API */

/* A context of ours around ctx_keyed: the HTTPS API's and peering's. */
static struct pk_tls_ctx *
keyed_new(const SSL_METHOD *m, int server, const char *cert, const char *key,
    char *err, size_t errlen)
{
	struct pk_tls_ctx *c;

	if (cert == NULL || key == NULL || cert[0] == '\0' || key[0] == '\0') {
		pk_errf(err, errlen, "certificate and key files are required");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	c->server = server;
	if ((c->ssl = ctx_keyed(m, cert, key, err, errlen)) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

struct pk_tls_ctx *
pk_tls_http_ctx_new(const char *cert_file, const char *key_file, char *err,
    size_t errlen)
{
	struct pk_tls_ctx *c;

	/* Debian's curl, chromium and Python all speak 1.3: no older. */
	if ((c = keyed_new(TLS_server_method(), 1, cert_file, key_file, err,
	    errlen)) == NULL)
		return NULL;
	/* Browsers and curl authenticate with a bearer token, not a
	 * certificate; a client that just closes the socket is no error. */
	SSL_CTX_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	SSL_CTX_set_options(c->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	ERR_clear_error();
	return c;
}

struct ssl_st *
pk_tls_http_ssl_new(struct pk_tls_ctx *ctx)
{
	SSL *ssl;

	if ((ssl = SSL_new(ctx->ssl)) == NULL)
		ERR_clear_error();
	return ssl;
}

void
pk_tls_http_ssl_free(struct ssl_st *ssl)
{
	SSL_free(ssl);
}

/* ------------------------------------------------------------ enrollment */

struct pk_tls_ctx *
pk_tls_http_client_ctx_new(const char *ca_file, char *err, size_t errlen)
{
	struct pk_tls_ctx *c;

	if (ca_file == NULL || ca_file[0] == '\0') {
		pk_errf(err, errlen, "a CA file is required");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	if ((c->ssl = SSL_CTX_new(TLS_client_method())) == NULL) {
		pk_errf(err, errlen, "SSL_CTX_new: %s", pk_tls_ossl_reason("failed"));
		free(c);
		return NULL;
	}
	if (!SSL_CTX_set_min_proto_version(c->ssl, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(c->ssl, TLS1_3_VERSION)) {
		pk_errf(err, errlen, "cannot require TLS 1.3");
		goto fail;
	}
	/* Only the CA the operator handed over: no system store. */
	if (!SSL_CTX_load_verify_locations(c->ssl, ca_file, NULL)) {
		pk_errf(err, errlen, "CA %s: %s", ca_file,
		    pk_tls_ossl_reason("cannot load"));
		goto fail;
	}
	X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(c->ssl),
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(c->ssl, SSL_OP_NO_TICKET);
	ERR_clear_error();
	return c;
fail:
	ERR_clear_error();
	pk_tls_ctx_free(c);
	return NULL;
}

struct ssl_st *
pk_tls_http_client_ssl_new(struct pk_tls_ctx *ctx, const char *host,
    char *err, size_t errlen)
{
	SSL *ssl;

	if (host == NULL || host[0] == '\0') {
		pk_errf(err, errlen, "the hub's name is required");
		return NULL;
	}
	ERR_clear_error();
	if ((ssl = SSL_new(ctx->ssl)) == NULL) {
		pk_errf(err, errlen, "SSL_new: %s", pk_tls_ossl_reason("failed"));
		return NULL;
	}
	if (SSL_set1_host(ssl, host) != 1 || (!is_ip_literal(host) &&
	    SSL_set_tlsext_host_name(ssl, host) != 1)) {
		pk_errf(err, errlen, "hub name %.64s: %s", host,
		    pk_tls_ossl_reason("refused"));
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

struct pk_tls *
pk_tls_http_client_new(struct pk_tls_ctx *ctx, int fd, const char *host,
    char *err, size_t errlen)
{
	struct pk_tls *t;

	if (ctx == NULL || ctx->server) {
		pk_errf(err, errlen, "HTTPS needs a client context");
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	t->ctx = ctx;
	t->http = 1;
	if ((t->ssl = pk_tls_http_client_ssl_new(ctx, host, err,
	    errlen)) == NULL) {
		free(t);
		return NULL;
	}
	ERR_clear_error();
	if (SSL_set_fd(t->ssl, fd) != 1) {
		pk_errf(err, errlen, "SSL_set_fd: %s",
		    pk_tls_ossl_reason("failed"));
		pk_tls_free(t);
		return NULL;
	}
	SSL_set_app_data(t->ssl, t);
	SSL_set_connect_state(t->ssl);
	return t;
}

const char *
pk_tls_verify_reason(const struct pk_tls *t)
{
	long v = SSL_get_verify_result(t->ssl);

	return v != X509_V_OK ? X509_verify_cert_error_string(v) : NULL;
}

int
pk_tls_http_ssl_why(struct ssl_st *ssl, unsigned long e, char *out,
    size_t cap)
{
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	const char *r;

	if (v != X509_V_OK) {
		pk_errf(out, cap, "certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
		return 0;
	}
	if (e != 0 && (r = ERR_reason_error_string(e)) != NULL) {
		pk_errf(out, cap, "%s", r);
		return 0;
	}
	return -1;
}

/* ------------------------------------------------------------ peering */

#define PEER_PEM_CERTS_MAX	16	/* certificates in one peer's PEM */

/* Each certificate of PEM text, in order: fn(x) for each, 0 with *n, or
 * -1 with err.  Bounded by PEER_PEM_CERTS_MAX. */
static int
pem_each(const char *pem, size_t len, int (*fn)(void *, X509 *), void *arg,
    size_t *n, char *err, size_t errlen)
{
	BIO *b;
	X509 *x;
	int rc = 0;

	*n = 0;
	if (pem == NULL || len == 0 || len > INT_MAX) {
		pk_errf(err, errlen, "no CA certificate");
		return -1;
	}
	ERR_clear_error();
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return -1;
	}
	while (rc == 0 && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) !=
	    NULL) {
		if (*n == PEER_PEM_CERTS_MAX) {
			pk_errf(err, errlen, "more than %d certificates in a "
			    "CA file", PEER_PEM_CERTS_MAX);
			rc = -1;
		} else if (fn(arg, x) == -1) {
			pk_errf(err, errlen, "CA certificate: %s",
			    pk_tls_ossl_reason("refused"));
			rc = -1;
		} else {
			(*n)++;
		}
		X509_free(x);
	}
	/* The loop ends on "no start line": not an error. */
	ERR_clear_error();
	BIO_free(b);
	if (rc == 0 && *n == 0) {
		pk_errf(err, errlen, "no PEM certificate in the CA");
		rc = -1;
	}
	return rc;
}

static int
trust_one(void *arg, X509 *x)
{
	SSL_CTX *ssl = arg;

	if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ssl), x) != 1)
		return -1;
	/* Named in the CertificateRequest: a hub with several can pick. */
	(void)SSL_CTX_add_client_CA(ssl, x);
	return 0;
}

/*
 * A refused handshake: OpenSSL sends a fatal alert before the handshake
 * is done (unknown CA, no certificate, an agent's certificate...).
 */
static void
peer_info_cb(const SSL *ssl, int where, int ret)
{
	struct pk_tls_ctx *c;
	char why[PK_TLS_ERRLEN];
	long vr;

	if (!(where & SSL_CB_WRITE_ALERT) || (ret >> 8) != SSL3_AL_FATAL ||
	    !SSL_in_init(ssl))
		return;
	c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (c == NULL || c->refused_fn == NULL)
		return;
	if ((vr = SSL_get_verify_result(ssl)) != X509_V_OK)
		pk_errf(why, sizeof(why), "certificate verify failed: %s",
		    X509_verify_cert_error_string(vr));
	else
		pk_errf(why, sizeof(why), "%s",
		    SSL_alert_desc_string_long(ret));
	c->refused_fn(c->refused_arg, SSL_get_fd(ssl), why);
}

/* What both ends of a peering connection share. */
static struct pk_tls_ctx *
peer_ctx(const SSL_METHOD *m, int server, const char *cert, const char *key,
    char *err, size_t errlen)
{
	struct pk_tls_ctx *c;
	SSL_CTX *ssl;

	if ((c = keyed_new(m, server, cert, key, err, errlen)) == NULL)
		return NULL;
	ssl = c->ssl;
	/* Either end must show a hub's certificate (serverAuth): on the
	 * listener this replaces OpenSSL's default for clients (clientAuth),
	 * which the member's agents have. */
	if (SSL_CTX_set_purpose(ssl, X509_PURPOSE_SSL_SERVER) != 1) {
		pk_errf(err, errlen, "cannot set the certificate purpose");
		goto fail;
	}
	X509_VERIFY_PARAM_set_hostflags(SSL_CTX_get0_param(ssl),
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	SSL_CTX_set_session_cache_mode(ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ssl, SSL_OP_NO_TICKET);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
	SSL_CTX_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
	SSL_CTX_set_app_data(ssl, c);
	return c;
fail:
	ERR_clear_error();
	pk_tls_ctx_free(c);
	return NULL;
}

struct pk_tls_ctx *
pk_tls_peer_server_ctx_new(const char *cert_file, const char *key_file,
    const char *const *ca_pems, const size_t *ca_lens, size_t nca, char *err,
    size_t errlen)
{
	struct pk_tls_ctx *c;
	size_t i, n;

	if ((c = peer_ctx(TLS_server_method(), 1, cert_file, key_file, err,
	    errlen)) == NULL)
		return NULL;
	for (i = 0; i < nca; i++) {
		if (pem_each(ca_pems[i], ca_lens[i], trust_one, c->ssl, &n,
		    err, errlen) == -1) {
			pk_tls_ctx_free(c);
			return NULL;
		}
	}
	SSL_CTX_set_verify(c->ssl,
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_num_tickets(c->ssl, 0);
	SSL_CTX_set_info_callback(c->ssl, peer_info_cb);
	ERR_clear_error();
	return c;
}

struct pk_tls_ctx *
pk_tls_peer_client_ctx_new(const char *cert_file, const char *key_file,
    const char *ca_pem, size_t ca_len, char *err, size_t errlen)
{
	struct pk_tls_ctx *c;
	size_t n;

	if ((c = peer_ctx(TLS_client_method(), 0, cert_file, key_file, err,
	    errlen)) == NULL)
		return NULL;
	if (pem_each(ca_pem, ca_len, trust_one, c->ssl, &n, err,
	    errlen) == -1) {
		pk_tls_ctx_free(c);
		return NULL;
	}
	SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
	ERR_clear_error();
	return c;
}

void
pk_tls_ctx_on_refused(struct pk_tls_ctx *ctx, pk_tls_refused_fn fn,
    void *arg)
{
	ctx->refused_fn = fn;
	ctx->refused_arg = arg;
}

/* SHA-256 of a certificate's DER as hex (out: PK_TLS_FP_HEX). */
static int
cert_fp(X509 *x, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != 32)
		return -1;
	pk_hex(md, mdlen, out);
	return 0;
}

int
pk_tls_http_ssl_anchor(struct ssl_st *ssl, char *out, size_t outlen)
{
	STACK_OF(X509) *chain;
	int n;

	if (ssl == NULL || outlen < PK_TLS_FP_HEX ||
	    SSL_get0_peer_certificate(ssl) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK ||
	    (chain = SSL_get0_verified_chain(ssl)) == NULL ||
	    (n = sk_X509_num(chain)) < 1)
		return -1;
	return cert_fp(sk_X509_value(chain, n - 1), out);
}

struct fp_acc {
	char		(*out)[PK_TLS_FP_HEX];
	size_t		 max, n;
};

static int
fp_one(void *arg, X509 *x)
{
	struct fp_acc *a = arg;

	if (a->n >= a->max)
		return -1;
	if (cert_fp(x, a->out[a->n]) == -1)
		return -1;
	a->n++;
	return 0;
}

int
pk_tls_pem_fingerprints(const char *pem, size_t len,
    char (*out)[PK_TLS_FP_HEX], size_t max, size_t *n, char *err,
    size_t errlen)
{
	struct fp_acc a = { out, max, 0 };

	if (pem_each(pem, len, fp_one, &a, n, err, errlen) == -1)
		return -1;
	*n = a.n;
	return 0;
}
