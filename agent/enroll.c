/*
 * enroll.c - `picketd enroll --hub HOST:PORT --token T --ca CA.crt
 * [--dir /etc/picket] [--host-name NAME] [--server-name NAME]` (see
 * enroll.h, docs/enrollment.md).  The key is made here and never leaves
 * the host: it is written (0600) before the request, under a temporary
 * name that becomes agent.key only once the hub has signed, so a refusal
 * leaves nothing behind and a crash after the hub signed never loses the
 * key.  The request is libevent's evhttp client over an OpenSSL
 * bufferevent (transport/tls.c makes the SSL object: TLS 1.3, only the
 * given CA, the hub's name checked); no HTTP is parsed here.  The JSON
 * request is written with common/json.c and the answer read with the
 * bounded, fuzzed reader of hub/jsonread.c.  What the hub answers is
 * checked before it is kept: the certificate must name the agent id
 * that this key derives to and carry this key.  Called by agent/main.c.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "agent/config.h"
#include "agent/enroll.h"
#include "agent/enrollmsg.h"
#include "common/util.h"
#include "transport/pki.h"
#include "transport/tls.h"

#define ENROLL_PATH		"/api/v1/enroll"
#define ENROLL_TIMEOUT_S	30
#define ANSWER_MAX		(64 * 1024)	/* the hub's JSON answer */
#define TOKEN_MAX		128
#define HOST_NAME_MAX_LEN	255
#define MSG_MAX			256
#define DEFAULT_DIR		"/etc/picket"

struct opts {
	const char	*hub;
	const char	*token;
	const char	*ca;
	const char	*dir;
	const char	*host_name;
	const char	*server_name;
};

/* What one HTTPS request brought back. */
struct answer {
	struct event_base	*base;
	struct bufferevent	*bev;
	int			 code;		/* 0: no HTTP answer */
	char			*body;
	size_t			 len;
	char			 why[MSG_MAX];	/* when code == 0 */
};

static void
usage(void)
{
	fprintf(stderr, "usage: picketd enroll --hub HOST:PORT --token TOKEN|- "
	    "--ca CA.crt\n"
	    "                      [--dir DIR] [--host-name NAME] "
	    "[--server-name NAME]\n"
	    "  --hub          the hub's HTTPS API address (its [api] listen)\n"
	    "  --token        the enrollment token (- reads it from stdin)\n"
	    "  --ca           the CA certificate that verifies the hub\n"
	    "  --dir          where agent.key, agent.crt and ca.crt go "
	    "(default " DEFAULT_DIR ")\n"
	    "  --host-name    this host's name as the hub records it "
	    "(default: gethostname)\n"
	    "  --server-name  the name the hub's certificate must carry "
	    "(default: HOST)\n");
}

static void
on_error(enum evhttp_request_error e, void *arg)
{
	struct answer *a = arg;

	switch (e) {
	case EVREQ_HTTP_TIMEOUT:
		pk_strlcpy(a->why, "timed out", sizeof(a->why));
		break;
	case EVREQ_HTTP_EOF:
		pk_strlcpy(a->why, "connection closed", sizeof(a->why));
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		pk_strlcpy(a->why, "malformed HTTP answer", sizeof(a->why));
		break;
	case EVREQ_HTTP_DATA_TOO_LONG:
		pk_strlcpy(a->why, "answer too long", sizeof(a->why));
		break;
	default:
		pk_strlcpy(a->why, "connection failed (is the address the "
		    "hub's [api] listen?)", sizeof(a->why));
		break;
	}
}

static void
on_done(struct evhttp_request *req, void *arg)
{
	struct answer *a = arg;
	struct evbuffer *in;
	char tls[MSG_MAX], base[MSG_MAX];
	unsigned long e;

	if (req == NULL || (a->code = evhttp_request_get_response_code(req)) ==
	    0) {
		a->code = 0;
		pk_strlcpy(base, a->why[0] ? a->why : "connection failed (is "
		    "the address the hub's [api] listen?)", sizeof(base));
		/* TLS says more than evhttp: a refused certificate, a
		 * wrong name, a TLS 1.2 server. */
		e = bufferevent_get_openssl_error(a->bev);
		if (pk_tls_http_ssl_why(bufferevent_openssl_get_ssl(a->bev), e,
		    tls, sizeof(tls)) == 0)
			snprintf(a->why, sizeof(a->why), "TLS: %.200s", tls);
		else
			pk_strlcpy(a->why, base, sizeof(a->why));
		event_base_loopexit(a->base, NULL);
		return;
	}
	in = evhttp_request_get_input_buffer(req);
	a->len = evbuffer_get_length(in);
	if (a->len > ANSWER_MAX)
		a->len = ANSWER_MAX;
	if ((a->body = malloc(a->len + 1)) != NULL) {
		evbuffer_copyout(in, a->body, a->len);
		a->body[a->len] = '\0';
	} else {
		a->len = 0;
	}
	event_base_loopexit(a->base, NULL);
}

/*
 * POST body to https://host:port/api/v1/enroll, the hub verified against
 * ca as name.  0 with a->code and a->body, or -1 (err).
 */
static int
post(const char *host, uint16_t port, const char *name, const char *ca,
    const char *body, size_t len, struct answer *a, char *err, size_t cap)
{
	struct evhttp_connection *conn = NULL;
	struct evhttp_request *req;
	struct pk_tls_ctx *ctx;
	struct ssl_st *ssl;
	char hosthdr[300];
	int rc = -1;

	if ((ctx = pk_tls_http_client_ctx_new(ca, err, cap)) == NULL)
		return -1;
	if ((a->base = event_base_new()) == NULL) {
		snprintf(err, cap, "event_base_new failed");
		goto out;
	}
	if ((ssl = pk_tls_http_client_ssl_new(ctx, name, err, cap)) == NULL)
		goto out;
	a->bev = bufferevent_openssl_socket_new(a->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (a->bev == NULL) {
		pk_tls_http_ssl_free(ssl);
		snprintf(err, cap, "cannot make a TLS bufferevent");
		goto out;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(a->bev, 1);
	/* The connection owns bev from here. */
	conn = evhttp_connection_base_bufferevent_new(a->base, NULL, a->bev,
	    host, port);
	if (conn == NULL) {
		bufferevent_free(a->bev);
		snprintf(err, cap, "cannot make an HTTP connection");
		goto out;
	}
	evhttp_connection_set_timeout(conn, ENROLL_TIMEOUT_S);
	evhttp_connection_set_retries(conn, 0);
	evhttp_connection_set_max_body_size(conn, ANSWER_MAX);
	if ((req = evhttp_request_new(on_done, a)) == NULL) {
		snprintf(err, cap, "out of memory");
		goto out;
	}
	evhttp_request_set_error_cb(req, on_error);
	if (strchr(host, ':') != NULL)
		snprintf(hosthdr, sizeof(hosthdr), "[%s]:%u", host, port);
	else
		snprintf(hosthdr, sizeof(hosthdr), "%s:%u", host, port);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
	    hosthdr);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Accept",
	    "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Connection", "close");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	/* evhttp owns req from here, even on failure. */
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, ENROLL_PATH) ==
	    -1) {
		snprintf(err, cap, "cannot send the request");
		goto out;
	}
	if (event_base_dispatch(a->base) == -1) {
		snprintf(err, cap, "event loop failed");
		goto out;
	}
	if (a->code == 0)
		snprintf(err, cap, "%.180s", a->why);
	else
		rc = 0;
out:
	if (conn != NULL)
		evhttp_connection_free(conn);
	if (a->base != NULL)
		event_base_free(a->base);
	a->base = NULL;
	a->bev = NULL;
	pk_tls_ctx_free(ctx);
	return rc;
}

/* Read the token from stdin for "-" (keeps it out of ps and history). */
static int
read_token(const char *arg, char *out, size_t cap)
{
	size_t n;

	if (strcmp(arg, "-") != 0)
		return pk_strlcpy(out, arg, cap) < cap ? 0 : -1;
	if (fgets(out, (int)cap, stdin) == NULL)
		return -1;
	n = strcspn(out, "\r\n");
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

static int
path_in(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The directory: made 0700 when missing; refuses an enrolled one. */
static int
prepare_dir(const char *dir, const char *key, const char *crt)
{
	struct stat sb;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "picketd: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "picketd: %s: not a directory\n", dir);
		return -1;
	}
	if (access(key, F_OK) == 0 || access(crt, F_OK) == 0) {
		fprintf(stderr, "picketd: %s exists: this host is already "
		    "enrolled there (remove agent.key and agent.crt to enroll "
		    "again)\n", access(key, F_OK) == 0 ? key : crt);
		return -1;
	}
	return 0;
}

/* Copy the CA file that verified the hub to dir/ca.crt (unless it is
 * that file already). */
static int
keep_ca(const char *from, const char *to, char *err, size_t cap)
{
	char rf[PATH_MAX], rt[PATH_MAX], *buf;
	size_t n;
	FILE *fp;
	int rc;

	if (realpath(from, rf) != NULL && realpath(to, rt) != NULL &&
	    strcmp(rf, rt) == 0)
		return 0;
	if ((fp = fopen(from, "rb")) == NULL) {
		snprintf(err, cap, "%s: %s", from, strerror(errno));
		return -1;
	}
	if ((buf = malloc(ANSWER_MAX)) == NULL) {
		fclose(fp);
		snprintf(err, cap, "out of memory");
		return -1;
	}
	n = fread(buf, 1, ANSWER_MAX, fp);
	fclose(fp);
	rc = pk_pki_write_file(to, buf, n, 0644, 1, err, cap);
	free(buf);
	return rc;
}

static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "hub", required_argument, NULL, 'H' },
		{ "token", required_argument, NULL, 't' },
		{ "ca", required_argument, NULL, 'C' },
		{ "dir", required_argument, NULL, 'd' },
		{ "host-name", required_argument, NULL, 'n' },
		{ "server-name", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->dir = DEFAULT_DIR;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'H':	o->hub = optarg; break;
		case 't':	o->token = optarg; break;
		case 'C':	o->ca = optarg; break;
		case 'd':	o->dir = optarg; break;
		case 'n':	o->host_name = optarg; break;
		case 's':	o->server_name = optarg; break;
		default:
			usage();
			return -1;
		}
	}
	if (optind != argc || o->hub == NULL || o->token == NULL ||
	    o->ca == NULL) {
		usage();
		return -1;
	}
	return 0;
}

/* Check the answer and keep it.  0, or -1 (said on stderr). */
static int
accept_answer(const struct opts *o, const struct answer *a, const char *kid,
    const char *tmpkey, const char *key, const char *crt, const char *cacrt)
{
	char err[PK_PKI_ERRLEN], *pem;

	err[0] = '\0';
	if ((pem = pk_enroll_answer_pem(a->body, a->len, kid, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "picketd: enrollment: %s\n", err);
		return -1;
	}
	if (pk_pki_write_file(crt, pem, strlen(pem), 0644, 0, err,
	    sizeof(err)) == -1 || rename(tmpkey, key) == -1 ||
	    keep_ca(o->ca, cacrt, err, sizeof(err)) == -1) {
		fprintf(stderr, "picketd: enrollment: %s\n", err[0] ? err :
		    strerror(errno));
		free(pem);
		return -1;
	}
	free(pem);
	return 0;
}

int
pk_enroll_main(int argc, char **argv)
{
	char host[256], name[256], token[TOKEN_MAX + 1];
	char hostname[HOST_NAME_MAX_LEN + 1], kid[PK_PKI_ID_LEN + 1];
	char key[PATH_MAX], tmpkey[PATH_MAX], crt[PATH_MAX], cacrt[PATH_MAX];
	char err[PK_PKI_ERRLEN], msg[MSG_MAX];
	struct pk_pki_key *k = NULL;
	struct answer a;
	struct opts o;
	char *csr = NULL, *body = NULL;
	size_t blen = 0;
	uint16_t port;
	int rc = 1;

	if (parse(argc, argv, &o) == -1)
		return 2;
	if (pk_config_split_hostport(o.hub, host, sizeof(host), &port) != 0) {
		fprintf(stderr, "picketd: --hub %s: want HOST:PORT or "
		    "[V6ADDR]:PORT\n", o.hub);
		return 2;
	}
	if (read_token(o.token, token, sizeof(token)) == -1) {
		fprintf(stderr, "picketd: --token: empty or over %d bytes\n",
		    TOKEN_MAX);
		return 2;
	}
	pk_strlcpy(name, o.server_name != NULL ? o.server_name : host,
	    sizeof(name));
	if (o.host_name != NULL)
		pk_strlcpy(hostname, o.host_name, sizeof(hostname));
	else if (gethostname(hostname, sizeof(hostname)) == -1)
		hostname[0] = '\0';
	hostname[sizeof(hostname) - 1] = '\0';
	if (path_in(key, sizeof(key), o.dir, "agent.key") == -1 ||
	    path_in(tmpkey, sizeof(tmpkey), o.dir, ".agent.key.new") == -1 ||
	    path_in(crt, sizeof(crt), o.dir, "agent.crt") == -1 ||
	    path_in(cacrt, sizeof(cacrt), o.dir, "ca.crt") == -1) {
		fprintf(stderr, "picketd: --dir: path too long\n");
		return 2;
	}
	if (prepare_dir(o.dir, key, crt) == -1)
		return 1;
	memset(&a, 0, sizeof(a));
	err[0] = '\0';
	/* A leftover from an attempt that died: ours, not needed. */
	(void)unlink(tmpkey);
	if ((k = pk_pki_key_new(err, sizeof(err))) == NULL ||
	    pk_pki_key_id(k, kid, sizeof(kid)) == -1 ||
	    (csr = pk_pki_csr_make(k, kid, err, sizeof(err))) == NULL ||
	    pk_pki_key_write(k, tmpkey, err, sizeof(err)) == -1) {
		fprintf(stderr, "picketd: enrollment: %s\n", err[0] ? err :
		    "cannot make a key");
		goto out;
	}
	if ((body = pk_enroll_request(token, csr, hostname, &blen)) == NULL) {
		fprintf(stderr, "picketd: enrollment: request too large\n");
		goto fail;
	}
	if (post(host, port, name, o.ca, body, blen, &a, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "picketd: enrollment: cannot reach the hub at "
		    "%s: %s\n", o.hub, err);
		goto fail;
	}
	if (a.code != 200) {
		if (pk_enroll_field(a.body, a.len, "error", msg,
		    sizeof(msg)) == -1)
			pk_strlcpy(msg, "no reason given", sizeof(msg));
		fprintf(stderr, "picketd: enrollment refused by the hub (HTTP "
		    "%d): %s\n", a.code, msg);
		goto fail;
	}
	if (accept_answer(&o, &a, kid, tmpkey, key, crt, cacrt) == -1)
		goto fail;
	printf("%s\n", kid);
	fprintf(stderr, "picketd: enrolled as %s: %s, %s, %s\n", kid, key, crt,
	    cacrt);
	rc = fflush(stdout) == 0 ? 0 : 1;
	goto out;
fail:
	(void)unlink(tmpkey);
out:
	explicit_bzero(token, sizeof(token));
	free(a.body);
	free(body);
	free(csr);
	pk_pki_key_free(k);
	return rc;
}
