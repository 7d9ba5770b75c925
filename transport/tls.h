/*
 * tls.h - the mutual-TLS layer between agent and hub (docs/tls.md,
 * docs/protocol.md "Transport").  TLS 1.3 only, ALPN "picket/1" required
 * on both sides, the client verifies the hub against the configured CA and
 * name (and optionally an SPKI pin), the hub requires a client certificate
 * from the member's CA (and checks a CRL when one is configured) and takes
 * the certificate's subject CN as the agent id.  Every call is
 * non-blocking: it wraps an fd the caller has already connected or
 * accepted and set O_NONBLOCK, and answers WANT_READ / WANT_WRITE when the
 * caller's event loop should wait.  The types are opaque so that no file
 * but tls.c ever includes an OpenSSL header.  Called by the hub's listener,
 * the agent's shipper and tests/unit/test_tls.c; the hub's HTTPS API
 * (hub/api.c) uses the two pk_tls_http_* functions at the end.
 */
#ifndef PICKET_TLS_H
#define PICKET_TLS_H

#include <stddef.h>
#include <stdint.h>

#define PK_TLS_ALPN		"picket/1"
#define PK_TLS_ERRLEN		192	/* every reason fits, NUL included */
#define PK_TLS_CN_MAX		64	/* = PK_AGENT_ID_MAX in frame.h */
#define PK_TLS_SPKI_LEN		32	/* SHA-256 of the DER SubjectPublicKeyInfo */

/* Results of the step functions; read/write return > 0 for bytes moved. */
enum pk_tls_rc {
	PK_TLS_DONE		= 0,	/* handshake complete / shutdown sent */
	PK_TLS_ERROR		= -1,	/* fatal; pk_tls_error() says why */
	PK_TLS_WANT_READ	= -2,	/* call again when the fd is readable */
	PK_TLS_WANT_WRITE	= -3,	/* call again when the fd is writable */
	PK_TLS_CLOSED		= -4,	/* peer sent close_notify */
};

struct pk_tls_ctx;	/* per configuration: CA, own certificate, CRL, pin */
struct pk_tls;		/* per connection */

struct pk_tls_client_opts {
	const char	*ca_file;	/* PEM CA(s) that issue hub certificates */
	const char	*cert_file;	/* agent certificate (PEM, may hold chain) */
	const char	*key_file;	/* agent private key (PEM) */
	const char	*crl_file;	/* optional PEM CRL for the hub's CA */
	const char	*spki_pin;	/* optional: 64 hex digits, SHA-256 of the
					 * hub certificate's SubjectPublicKeyInfo */
};

struct pk_tls_server_opts {
	const char	*ca_file;	/* PEM CA(s) that issue agent certificates */
	const char	*cert_file;	/* hub certificate (PEM, may hold chain) */
	const char	*key_file;	/* hub private key (PEM) */
	const char	*crl_file;	/* optional PEM CRL(s) for that CA */
};

/*
 * Contexts: NULL on error with a one-line reason in err (errlen bytes,
 * PK_TLS_ERRLEN is enough).  A context may serve many connections and must
 * outlive them.
 */
struct pk_tls_ctx *pk_tls_client_ctx_new(const struct pk_tls_client_opts *o,
    char *err, size_t errlen);
struct pk_tls_ctx *pk_tls_server_ctx_new(const struct pk_tls_server_opts *o,
    char *err, size_t errlen);
void pk_tls_ctx_free(struct pk_tls_ctx *ctx);

/*
 * Connections.  fd is connected (client) or accepted (server) and
 * non-blocking; the caller keeps owning it (pk_tls_free does not close it).
 * host is the hub's name or IP address as configured: sent as SNI (names
 * only) and checked against the certificate's subjectAltName.
 */
struct pk_tls *pk_tls_client_new(struct pk_tls_ctx *ctx, int fd,
    const char *host, char *err, size_t errlen);
struct pk_tls *pk_tls_server_new(struct pk_tls_ctx *ctx, int fd,
    char *err, size_t errlen);
void pk_tls_free(struct pk_tls *t);

/* One handshake step: DONE, WANT_READ, WANT_WRITE or ERROR. */
int pk_tls_handshake(struct pk_tls *t);

/*
 * Move bytes: > 0 bytes read/written, or WANT_READ, WANT_WRITE, CLOSED
 * (read only) or ERROR.  A write that returned WANT_* must be retried; it
 * may be retried with a different buffer (moving-buffer mode) holding the
 * same leading bytes.
 */
long pk_tls_read(struct pk_tls *t, void *buf, size_t len);
long pk_tls_write(struct pk_tls *t, const void *buf, size_t len);
/* Decrypted bytes already buffered: read them before waiting on the fd. */
size_t pk_tls_pending(const struct pk_tls *t);

/* Send close_notify: DONE, WANT_READ/WANT_WRITE (call again) or ERROR. */
int pk_tls_shutdown(struct pk_tls *t);

/* The reason for the last ERROR (or ""), one line, < PK_TLS_ERRLEN. */
const char *pk_tls_error(const struct pk_tls *t);

/*
 * The verified peer after DONE.  Server side: the client certificate's
 * subject CN (the agent id, 1..PK_TLS_CN_MAX printable ASCII bytes) and its
 * SPKI hash; client side: the hub's.  NULL / -1 before DONE.
 */
const char *pk_tls_peer_cn(const struct pk_tls *t);
int pk_tls_peer_spki(const struct pk_tls *t, uint8_t out[PK_TLS_SPKI_LEN]);
/* The same hash as 64 lowercase hex digits (out: 65 bytes). */
int pk_tls_peer_spki_hex(const struct pk_tls *t, char *out, size_t outlen);

/* SHA-256 SPKI of the certificate in a PEM file, as hex (for pins). */
int pk_tls_file_spki_hex(const char *cert_file, char *out, size_t outlen,
    char *err, size_t errlen);

/* The subject CN of the certificate in a PEM file: the agent id the hub
 * will see (1..PK_TLS_CN_MAX printable bytes). */
int pk_tls_file_cn(const char *cert_file, char *out, size_t outlen,
    char *err, size_t errlen);

/*
 * The hub's HTTPS API (docs/api.md): a server context with the hub's own
 * certificate and key, TLS 1.3 only, no client certificate, no ALPN (so
 * HTTP/1.1), and one SSL object per accepted connection for hub/api.c to
 * hand to libevent's bufferevent_openssl_socket_new() (whose header only
 * forward-declares struct ssl_st, so no OpenSSL header leaves tls.c).
 * tls.c itself does not call libevent: picketd links it without one.
 * The agent functions above are untouched by these.
 */
struct ssl_st;
struct pk_tls_ctx *pk_tls_http_ctx_new(const char *cert_file,
    const char *key_file, char *err, size_t errlen);
/* NULL on error; freed by the bufferevent that takes it, or by ..._free. */
struct ssl_st *pk_tls_http_ssl_new(struct pk_tls_ctx *ctx);
void pk_tls_http_ssl_free(struct ssl_st *ssl);

/*
 * `picketd enroll` (agent/enroll.c), the one HTTPS client: a context that
 * trusts only ca_file (never the system store), TLS 1.3 only, no client
 * certificate, no ALPN; and per connection an SSL object for libevent's
 * bufferevent_openssl_socket_new() that checks the hub's name or address
 * as pk_tls_client_new() does (SNI for names).  After a failure,
 * pk_tls_http_ssl_why() gives the reason: the certificate verification
 * result, else OpenSSL's error e (bufferevent_get_openssl_error()); 0, or
 * -1 when there is none to give.
 */
struct pk_tls_ctx *pk_tls_http_client_ctx_new(const char *ca_file,
    char *err, size_t errlen);
struct ssl_st *pk_tls_http_client_ssl_new(struct pk_tls_ctx *ctx,
    const char *host, char *err, size_t errlen);
int pk_tls_http_ssl_why(struct ssl_st *ssl, unsigned long e, char *out,
    size_t cap);
/*
 * `picketd.exe enroll` (agent/enroll_win32.c), which has no libevent: the
 * same HTTPS client connection (a context from pk_tls_http_client_ctx_new,
 * the hub's name checked, SNI for names, no ALPN) over a socket the
 * caller connected and made non-blocking, driven by pk_tls_handshake,
 * pk_tls_read and pk_tls_write like the agent's own connections.  After a
 * failed handshake pk_tls_verify_reason() says why the hub's certificate
 * was refused, or NULL when it was not.
 */
struct pk_tls *pk_tls_http_client_new(struct pk_tls_ctx *ctx, int fd,
    const char *host, char *err, size_t errlen);
const char *pk_tls_verify_reason(const struct pk_tls *t);

/* The first reason in OpenSSL's error queue as text (a system error as
 * strerror), or fallback; empties the queue.  For transport/pki.c, the
 * other file that calls OpenSSL. */
const char *pk_tls_ossl_reason(const char *fallback);

/*
 * Peering between member hubs (docs/peering.md, hub/peering.c).  Both
 * sides present the hub's own certificate and key, TLS 1.3 only, no
 * ALPN (HTTP/1.1), no resumption, and both require of the other a hub
 * certificate (extended key usage serverAuth, so a member's agent
 * certificates cannot speak for its hub).  CAs come as PEM text (the
 * store keeps each peer's), never from the system store.
 *
 * The listener's context trusts the union of the enabled peers' CAs
 * (nca may be 0: every handshake then fails) and demands a client
 * certificate; after the handshake pk_tls_http_ssl_anchor() names the
 * CA that verified the connection by the SHA-256 of its DER, which the
 * caller compares with pk_tls_pem_fingerprints() of each peer's PEM.
 * The pusher's context trusts exactly one peer's CA; its connections
 * come from pk_tls_http_client_ssl_new() (SNI and the URL host's check).
 */
#define PK_TLS_FP_HEX		65	/* SHA-256 as hex, NUL included */
struct pk_tls_ctx *pk_tls_peer_server_ctx_new(const char *cert_file,
    const char *key_file, const char *const *ca_pems, const size_t *ca_lens,
    size_t nca, char *err, size_t errlen);
struct pk_tls_ctx *pk_tls_peer_client_ctx_new(const char *cert_file,
    const char *key_file, const char *ca_pem, size_t ca_len, char *err,
    size_t errlen);
/*
 * Called when a server context refuses a handshake (it sends a fatal
 * alert before the handshake completed): the accepted socket and the
 * reason.  Not called after pk_tls_ctx_free(ctx), even for connections
 * still open.
 */
typedef void (*pk_tls_refused_fn)(void *arg, int fd, const char *why);
void pk_tls_ctx_on_refused(struct pk_tls_ctx *ctx, pk_tls_refused_fn fn,
    void *arg);
/* The verified chain's trust anchor as 64 hex digits: 0, or -1 (no
 * verified peer).  out: PK_TLS_FP_HEX bytes. */
int pk_tls_http_ssl_anchor(struct ssl_st *ssl, char *out, size_t outlen);
/* The SHA-256 of each certificate in PEM text, at most max: 0 with *n
 * (>= 1), or -1 with err (no certificate, or more than max). */
int pk_tls_pem_fingerprints(const char *pem, size_t len,
    char (*out)[PK_TLS_FP_HEX], size_t max, size_t *n, char *err,
    size_t errlen);

#endif
