/*
 * test_tls.c - unit tests for transport/tls.c: real TLS 1.3 handshakes over
 * a non-blocking socketpair, both ends driven in one thread, with
 * certificates made at test time by packaging/mkcerts.sh (repo path from
 * PICKET_SRCDIR, default ".").  Covers the good mutual handshake (agent id
 * and SPKI seen by the hub, data both ways, close_notify) and every refusal
 * docs/tls.md promises, each with its reason string.  The peers that our
 * own API cannot make (TLS 1.2 only, wrong or no ALPN, no client
 * certificate) are built here with OpenSSL directly: this test is the one
 * place besides tls.c allowed to include it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "transport/tls.h"

static char certdir[256];

static const char *
P(const char *name)
{
	static char buf[8][512];
	static unsigned n;
	char *b = buf[n++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", certdir, name);
	return b;
}

static int
setup_all(void **state)
{
	const char *src = getenv("PICKET_SRCDIR");
	char cmd[1024];

	(void)state;
	signal(SIGPIPE, SIG_IGN);	/* a refused peer's writes hit EPIPE */
	snprintf(certdir, sizeof(certdir), "/tmp/picket-tls-XXXXXX");
	if (mkdtemp(certdir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "sh '%s/packaging/mkcerts.sh' -t -a agent-1 "
	    "'%s' 2>/dev/null", src != NULL ? src : ".", certdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
teardown_all(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* SHA-256 SPKI of a key, by the openssl command line (independent check). */
static void
cli_spki(const char *key, char out[65])
{
	char cmd[700];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "openssl pkey -in '%s' -pubout -outform DER "
	    "| openssl dgst -sha256 -r", key);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, 65, f));
	pclose(f);
	assert_int_equal(strlen(out), 64);
}

/* ---- endpoints: ours (struct pk_tls) or a raw OpenSSL peer ---------- */

struct ep {
	struct pk_tls	*t;
	SSL		*raw;
	SSL_CTX		*rawctx;
	int		 fd;
	int		 rc;
};

static int
raw_rc(SSL *s, int ret)
{
	switch (SSL_get_error(s, ret)) {
	case SSL_ERROR_WANT_READ:
		return PK_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return PK_TLS_WANT_WRITE;
	default:
		ERR_clear_error();
		return PK_TLS_ERROR;
	}
}

static void
ep_step(struct ep *e)
{
	int ret;

	if (e->rc == PK_TLS_DONE || e->rc == PK_TLS_ERROR)
		return;
	if (e->t != NULL) {
		e->rc = pk_tls_handshake(e->t);
		return;
	}
	ret = SSL_do_handshake(e->raw);
	e->rc = ret == 1 ? PK_TLS_DONE : raw_rc(e->raw, ret);
}

static void
ep_free(struct ep *e)
{
	pk_tls_free(e->t);
	SSL_free(e->raw);
	SSL_CTX_free(e->rawctx);
	if (e->fd >= 0)
		close(e->fd);
}

static void
mkpair(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
}

/* Step both ends until each is DONE or ERROR (bounded). */
static void
drive(struct ep *a, struct ep *b)
{
	int i, stuck = 0;

	for (i = 0; i < 200; i++) {
		ep_step(a);
		ep_step(b);
		if ((a->rc == PK_TLS_DONE || a->rc == PK_TLS_ERROR) &&
		    (b->rc == PK_TLS_DONE || b->rc == PK_TLS_ERROR))
			return;
		/* One side failed; the other may wait forever for bytes. */
		if ((a->rc == PK_TLS_ERROR || b->rc == PK_TLS_ERROR) &&
		    ++stuck > 5)
			return;
	}
}

static struct pk_tls_ctx *
client_ctx(const char *cert, const char *key, const char *pin)
{
	struct pk_tls_client_opts o = {
		.ca_file = P("ca.crt"), .cert_file = P(cert),
		.key_file = P(key), .spki_pin = pin,
	};
	char err[PK_TLS_ERRLEN];
	struct pk_tls_ctx *c = pk_tls_client_ctx_new(&o, err, sizeof(err));

	if (c == NULL)
		fail_msg("client ctx: %s", err);
	return c;
}

static struct pk_tls_ctx *
server_ctx(const char *cert, const char *key, int crl)
{
	struct pk_tls_server_opts o = {
		.ca_file = P("ca.crt"), .cert_file = P(cert),
		.key_file = P(key), .crl_file = crl ? P("ca.crl") : NULL,
	};
	char err[PK_TLS_ERRLEN];
	struct pk_tls_ctx *c = pk_tls_server_ctx_new(&o, err, sizeof(err));

	if (c == NULL)
		fail_msg("server ctx: %s", err);
	return c;
}

/* A connection of our client and our server over a fresh socketpair. */
struct run {
	struct pk_tls_ctx	*cc, *sc;
	struct ep		 c, s;
};

static void
run_start(struct run *r, struct pk_tls_ctx *cc, struct pk_tls_ctx *sc,
    const char *host)
{
	int fds[2];
	char err[PK_TLS_ERRLEN];

	memset(r, 0, sizeof(*r));
	r->cc = cc;
	r->sc = sc;
	mkpair(fds);
	r->c.fd = fds[0];
	r->s.fd = fds[1];
	r->c.rc = r->s.rc = PK_TLS_WANT_READ;
	if (cc != NULL) {
		r->c.t = pk_tls_client_new(cc, fds[0], host, err, sizeof(err));
		if (r->c.t == NULL)
			fail_msg("client: %s", err);
	}
	if (sc != NULL) {
		r->s.t = pk_tls_server_new(sc, fds[1], err, sizeof(err));
		if (r->s.t == NULL)
			fail_msg("server: %s", err);
	}
}

static void
run_end(struct run *r)
{
	ep_free(&r->c);
	ep_free(&r->s);
	pk_tls_ctx_free(r->cc);
	pk_tls_ctx_free(r->sc);
}

/* Expect e to have failed with a reason containing want. */
static void
assert_refused(struct ep *e, const char *want)
{
	const char *why;

	assert_int_equal(e->rc, PK_TLS_ERROR);
	why = pk_tls_error(e->t);
	if (strstr(why, want) == NULL)
		fail_msg("reason \"%s\", wanted \"%s\"", why, want);
	assert_true(strlen(why) < PK_TLS_ERRLEN);
}

/*
 * In TLS 1.3 the client finishes before the hub has judged its
 * certificate; the refusal reaches it as an alert on its first read.
 */
static void
assert_client_sees_alert(struct ep *c)
{
	char buf[16];
	long n = PK_TLS_WANT_READ;
	int i;

	if (c->rc == PK_TLS_ERROR)
		return;
	assert_int_equal(c->rc, PK_TLS_DONE);
	for (i = 0; i < 10 && n == PK_TLS_WANT_READ; i++)
		n = pk_tls_read(c->t, buf, sizeof(buf));
	assert_int_equal(n, PK_TLS_ERROR);
	assert_true(strstr(pk_tls_error(c->t), "alert") != NULL);
}

/* ---- the good path ---------------------------------------------------- */

/* Move len bytes from a to b, both non-blocking, in one thread. */
static void
pump(struct pk_tls *a, struct pk_tls *b, size_t len)
{
	static uint8_t out[300000], in[300000];
	size_t sent = 0, got = 0, i;
	long n;
	int iter;

	assert_true(len <= sizeof(out));
	for (i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 7 + 3);
	for (iter = 0; got < len && iter < 100000; iter++) {
		if (sent < len) {
			n = pk_tls_write(a, out + sent, len - sent);
			if (n > 0)
				sent += (size_t)n;
			else
				assert_true(n == PK_TLS_WANT_WRITE ||
				    n == PK_TLS_WANT_READ);
		}
		n = pk_tls_read(b, in + got, len - got);
		if (n > 0)
			got += (size_t)n;
		else
			assert_int_equal(n, PK_TLS_WANT_READ);
	}
	assert_int_equal(got, len);
	assert_memory_equal(in, out, len);
}

static void
good_session(const char *host, int crl, const char *pin)
{
	struct run r;
	char spki[65], want[65], err[PK_TLS_ERRLEN];
	uint8_t raw[PK_TLS_SPKI_LEN];
	char buf[8];
	long n;
	int i;

	run_start(&r, client_ctx("agents/agent-1.crt", "agents/agent-1.key",
	    pin), server_ctx("hub.crt", "hub.key", crl), host);
	/* Nothing about the peer before the handshake. */
	assert_null(pk_tls_peer_cn(r.s.t));
	assert_int_equal(pk_tls_peer_spki(r.s.t, raw), -1);
	drive(&r.c, &r.s);
	if (r.c.rc != PK_TLS_DONE || r.s.rc != PK_TLS_DONE)
		fail_msg("client %d \"%s\", server %d \"%s\"", r.c.rc,
		    pk_tls_error(r.c.t), r.s.rc, pk_tls_error(r.s.t));

	/* The hub's view of the agent: CN and public key hash. */
	assert_string_equal(pk_tls_peer_cn(r.s.t), "agent-1");
	assert_int_equal(pk_tls_peer_spki_hex(r.s.t, spki, sizeof(spki)), 0);
	cli_spki(P("agents/agent-1.key"), want);
	assert_string_equal(spki, want);
	assert_int_equal(pk_tls_file_spki_hex(P("agents/agent-1.crt"), want,
	    sizeof(want), err, sizeof(err)), 0);
	assert_string_equal(spki, want);
	/* The agent's view of the hub. */
	assert_int_equal(pk_tls_peer_spki_hex(r.c.t, spki, sizeof(spki)), 0);
	cli_spki(P("hub.key"), want);
	assert_string_equal(spki, want);

	/* Data both ways, more than a socket buffer holds. */
	pump(r.c.t, r.s.t, 5);
	pump(r.s.t, r.c.t, 3);
	pump(r.c.t, r.s.t, 280000);
	pump(r.s.t, r.c.t, 100000);
	assert_int_equal(pk_tls_pending(r.s.t), 0);

	/* close_notify: the other side reads CLOSED, not an error. */
	assert_int_equal(pk_tls_shutdown(r.c.t), PK_TLS_DONE);
	n = PK_TLS_WANT_READ;
	for (i = 0; i < 10 && n == PK_TLS_WANT_READ; i++)
		n = pk_tls_read(r.s.t, buf, sizeof(buf));
	assert_int_equal(n, PK_TLS_CLOSED);
	run_end(&r);
}

static void
test_good_dns_name(void **state)
{
	(void)state;
	good_session("localhost", 0, NULL);
}

static void
test_good_ip_crl_pin(void **state)
{
	char pin[65];

	(void)state;
	cli_spki(P("hub.key"), pin);
	good_session("127.0.0.1", 1, pin);
	good_session("::1", 1, NULL);
}

/* ---- the hub refuses the agent ---------------------------------------- */

static void
refused_by_hub(const char *cert, const char *key, int crl, const char *want)
{
	struct run r;

	run_start(&r, client_ctx(cert, key, NULL),
	    server_ctx("hub.crt", "hub.key", crl), "localhost");
	drive(&r.c, &r.s);
	assert_refused(&r.s, want);
	assert_null(pk_tls_peer_cn(r.s.t));
	assert_client_sees_alert(&r.c);
	run_end(&r);
}

static void
test_client_other_ca(void **state)
{
	(void)state;
	refused_by_hub("other-agent.crt", "other-agent.key", 1,
	    "certificate verify failed: unable to get local issuer certificate");
}

static void
test_client_expired(void **state)
{
	(void)state;
	refused_by_hub("expired.crt", "expired.key", 1,
	    "certificate verify failed: certificate has expired");
}

static void
test_client_revoked(void **state)
{
	struct run r;

	(void)state;
	refused_by_hub("revoked.crt", "revoked.key", 1,
	    "certificate verify failed: certificate revoked");
	/* The same certificate passes without the CRL: the CRL did that. */
	run_start(&r, client_ctx("revoked.crt", "revoked.key", NULL),
	    server_ctx("hub.crt", "hub.key", 0), "localhost");
	drive(&r.c, &r.s);
	assert_int_equal(r.s.rc, PK_TLS_DONE);
	assert_string_equal(pk_tls_peer_cn(r.s.t), "agent-revoked");
	run_end(&r);
}

/* A raw OpenSSL client: what our API will not build. */
static void
raw_client(struct ep *e, int maxver, const char *alpn, int with_cert)
{
	e->rawctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(e->rawctx);
	if (maxver != 0)
		assert_int_equal(SSL_CTX_set_max_proto_version(e->rawctx,
		    maxver), 1);
	assert_int_equal(SSL_CTX_load_verify_locations(e->rawctx,
	    P("ca.crt"), NULL), 1);
	if (with_cert) {
		assert_int_equal(SSL_CTX_use_certificate_file(e->rawctx,
		    P("agents/agent-1.crt"), SSL_FILETYPE_PEM), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(e->rawctx,
		    P("agents/agent-1.key"), SSL_FILETYPE_PEM), 1);
	}
	if (alpn != NULL) {
		unsigned char w[32];
		size_t l = strlen(alpn);

		w[0] = (unsigned char)l;
		memcpy(w + 1, alpn, l);
		assert_int_equal(SSL_CTX_set_alpn_protos(e->rawctx, w,
		    (unsigned)l + 1), 0);
	}
	e->raw = SSL_new(e->rawctx);
	assert_non_null(e->raw);
	SSL_set_fd(e->raw, e->fd);
	SSL_set_connect_state(e->raw);
}

static void
raw_client_vs_hub(int maxver, const char *alpn, int with_cert,
    const char *want)
{
	struct run r;

	run_start(&r, NULL, server_ctx("hub.crt", "hub.key", 1), NULL);
	raw_client(&r.c, maxver, alpn, with_cert);
	drive(&r.c, &r.s);
	assert_refused(&r.s, want);
	run_end(&r);
}

static void
test_client_no_cert(void **state)
{
	(void)state;
	raw_client_vs_hub(0, "picket/1", 0, "no client certificate");
	/* Control: the same raw client with its certificate gets in. */
	{
		struct run r;

		run_start(&r, NULL, server_ctx("hub.crt", "hub.key", 1), NULL);
		raw_client(&r.c, 0, "picket/1", 1);
		drive(&r.c, &r.s);
		assert_int_equal(r.s.rc, PK_TLS_DONE);
		assert_string_equal(pk_tls_peer_cn(r.s.t), "agent-1");
		run_end(&r);
	}
}

static void
test_client_tls12(void **state)
{
	(void)state;
	raw_client_vs_hub(TLS1_2_VERSION, "picket/1", 1, "unsupported protocol");
}

static void
test_client_wrong_alpn(void **state)
{
	(void)state;
	raw_client_vs_hub(0, "http/1.1", 1,
	    "no ALPN: client did not offer picket/1");
	raw_client_vs_hub(0, NULL, 1, "no ALPN: client offered none");
}

/* ---- the agent refuses the hub ---------------------------------------- */

static void
refused_by_agent(const char *cert, const char *key, const char *host,
    const char *pin, const char *want)
{
	struct run r;

	run_start(&r, client_ctx("agents/agent-1.crt", "agents/agent-1.key",
	    pin), server_ctx(cert, key, 1), host);
	drive(&r.c, &r.s);
	assert_refused(&r.c, want);
	assert_int_not_equal(r.s.rc, PK_TLS_DONE);
	run_end(&r);
}

static void
test_hub_wrong_name(void **state)
{
	(void)state;
	refused_by_agent("hub.crt", "hub.key", "hub.example.org", NULL,
	    "certificate verify failed: hostname mismatch");
	refused_by_agent("hub.crt", "hub.key", "10.9.8.7", NULL,
	    "certificate verify failed: IP address mismatch");
}

static void
test_hub_other_ca(void **state)
{
	(void)state;
	refused_by_agent("other-hub.crt", "other-hub.key", "localhost", NULL,
	    "certificate verify failed: unable to get local issuer certificate");
}

static void
test_hub_pin_mismatch(void **state)
{
	char pin[65];

	(void)state;
	cli_spki(P("other-hub.key"), pin);
	refused_by_agent("hub.crt", "hub.key", "localhost", pin,
	    "hub SPKI pin mismatch");
}

/* A raw OpenSSL hub: TLS 1.2 only, or no ALPN selected. */
static void
raw_hub_vs_agent(int maxver, const char *want)
{
	struct run r;
	struct ep *e;

	run_start(&r, client_ctx("agents/agent-1.crt", "agents/agent-1.key",
	    NULL), NULL, "localhost");
	e = &r.s;
	e->rawctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(e->rawctx);
	if (maxver != 0)
		assert_int_equal(SSL_CTX_set_max_proto_version(e->rawctx,
		    maxver), 1);
	assert_int_equal(SSL_CTX_use_certificate_file(e->rawctx, P("hub.crt"),
	    SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(e->rawctx, P("hub.key"),
	    SSL_FILETYPE_PEM), 1);
	e->raw = SSL_new(e->rawctx);
	SSL_set_fd(e->raw, e->fd);
	SSL_set_accept_state(e->raw);
	drive(&r.c, &r.s);
	assert_refused(&r.c, want);
	run_end(&r);
}

static void
test_hub_tls12(void **state)
{
	(void)state;
	raw_hub_vs_agent(TLS1_2_VERSION, "alert protocol version");
}

static void
test_hub_no_alpn(void **state)
{
	(void)state;
	raw_hub_vs_agent(0, "no ALPN: peer did not select picket/1");
}

/* ---- configuration errors ---------------------------------------------- */

static void
test_bad_config(void **state)
{
	struct pk_tls_client_opts co = {
		.ca_file = P("ca.crt"), .cert_file = P("agents/agent-1.crt"),
		.key_file = P("agents/agent-1.key"), .spki_pin = "abc",
	};
	struct pk_tls_server_opts so = {
		.ca_file = P("ca.crt"), .cert_file = P("hub.crt"),
		.key_file = P("agents/agent-1.key"),
	};
	char err[PK_TLS_ERRLEN];

	(void)state;
	assert_null(pk_tls_client_ctx_new(&co, err, sizeof(err)));
	assert_non_null(strstr(err, "SPKI pin"));
	co.spki_pin = NULL;
	co.ca_file = P("missing.crt");
	assert_null(pk_tls_client_ctx_new(&co, err, sizeof(err)));
	assert_non_null(strstr(err, "missing.crt"));
	assert_null(pk_tls_server_ctx_new(&so, err, sizeof(err)));
	/* OpenSSL catches the mismatch when loading: "key values mismatch". */
	assert_non_null(strstr(err, "agent-1.key"));
	assert_non_null(strstr(err, "mismatch"));
	so.key_file = P("hub.key");
	so.crl_file = P("missing.crl");
	assert_null(pk_tls_server_ctx_new(&so, err, sizeof(err)));
	assert_non_null(strstr(err, "CRL"));
	/* Private keys must not be readable by others. */
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "test \"$(stat -c %%a '%s')\" = 600 "
		    "&& test \"$(stat -c %%a '%s')\" = 600", P("hub.key"),
		    P("agents/agent-1.key"));
		assert_int_equal(system(cmd), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_dns_name),
		cmocka_unit_test(test_good_ip_crl_pin),
		cmocka_unit_test(test_client_other_ca),
		cmocka_unit_test(test_client_expired),
		cmocka_unit_test(test_client_revoked),
		cmocka_unit_test(test_client_no_cert),
		cmocka_unit_test(test_client_tls12),
		cmocka_unit_test(test_client_wrong_alpn),
		cmocka_unit_test(test_hub_wrong_name),
		cmocka_unit_test(test_hub_other_ca),
		cmocka_unit_test(test_hub_pin_mismatch),
		cmocka_unit_test(test_hub_tls12),
		cmocka_unit_test(test_hub_no_alpn),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
