/*
 * enroll_win32.c - `picketd.exe enroll --hub HOST:PORT --token T|- --ca
 * CA.crt [--dir DIR] [--host-name NAME] [--server-name NAME]`
 * (enroll_win32.h, docs/enrollment.md, docs/windows.md).  The exchange
 * and its checks are agent/enroll.c's: the key is made here and never
 * leaves the host (written under .agent.key.new, with an ACL of SYSTEM
 * and Administrators only, and renamed to agent.key only once the hub's
 * certificate names the id this key derives to and carries this key); the
 * token goes out only over TLS 1.3 to a hub that --ca verifies under its
 * name; the body is {"token", "csr", "host_name"} written with
 * common/json.c, the answer read with the bounded hub/jsonread.c.
 *
 * The HTTP is one request and one response on a connection that closes
 * after it, so a small client does: the status line, the headers up to
 * HTTP_HEAD_MAX bytes (Content-Length read strictly; a chunked answer is
 * refused), a body of at most ANSWER_MAX bytes (Content-Length's, or up
 * to the close), all under one deadline of ENROLL_TIMEOUT_S.  Winsock
 * sockets are non-blocking (tls.c answers WANT_READ / WANT_WRITE) and
 * waited on with select().
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/enroll_win32.h"
#include "agent/enrollmsg.h"
#include "common/pktime.h"
#include "common/util.h"
#include "transport/pki.h"
#include "transport/tls.h"

#define ENROLL_PATH		"/api/v1/enroll"
#define ENROLL_TIMEOUT_S	30
#define HTTP_HEAD_MAX		(16 * 1024)	/* status line and headers */
#define ANSWER_MAX		(64 * 1024)	/* the hub's JSON answer */
#define TOKEN_MAX		128
#define HOST_NAME_MAX_LEN	255
#define MSG_MAX			256

/* One HTTP answer. */
struct answer {
	int		 code;		/* status */
	char		*body;		/* NUL-terminated */
	size_t		 len;
};

/* ------------------------------------------------------------ HTTP */

/* Wait for the socket until the deadline: 1 ready, 0 late, -1 error. */
static int
sock_wait(SOCKET s, int wr, uint64_t deadline)
{
	struct timeval tv;
	fd_set r, w, x;
	uint64_t now = pk_mono_us(), left;
	int n;

	if (now >= deadline)
		return 0;
	left = deadline - now;
	tv.tv_sec = (long)(left / PK_USEC);
	tv.tv_usec = (long)(left % PK_USEC);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&x);
	FD_SET(s, wr ? &w : &r);
	FD_SET(s, &x);
	n = select(0, &r, &w, &x, &tv);
	if (n == SOCKET_ERROR)
		return -1;
	return n > 0 ? 1 : 0;
}

static SOCKET
tcp_connect(const char *host, uint16_t port, uint64_t deadline, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	SOCKET s = INVALID_SOCKET;
	char portstr[8];
	u_long nb = 1;
	int rc, soerr, sl;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		pk_errf(err, errlen, "cannot resolve %s (error %d)", host, rc);
		return INVALID_SOCKET;
	}
	pk_errf(err, errlen, "connection failed (is the address the hub's "
	    "[api] listen?)");
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((s = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol)) == INVALID_SOCKET)
			continue;
		/* tls.c hands OpenSSL the socket as an int */
		if ((UINT_PTR)s <= (UINT_PTR)INT_MAX &&
		    ioctlsocket(s, FIONBIO, &nb) == 0) {
			if (connect(s, ai->ai_addr, (int)ai->ai_addrlen) == 0)
				break;
			if (WSAGetLastError() == WSAEWOULDBLOCK &&
			    sock_wait(s, 1, deadline) == 1) {
				sl = sizeof(soerr);
				soerr = 0;
				if (getsockopt(s, SOL_SOCKET, SO_ERROR,
				    (char *)&soerr, &sl) == 0 && soerr == 0)
					break;
			}
		}
		closesocket(s);
		s = INVALID_SOCKET;
	}
	freeaddrinfo(res);
	return s;
}

/* A TLS step that wants the socket: wait for it.  0 or -1 (late). */
static int
tls_wait(SOCKET s, long rc, uint64_t deadline)
{
	return sock_wait(s, rc == PK_TLS_WANT_WRITE, deadline) == 1 ? 0 : -1;
}

/* Case-insensitive prefix match of a header name at p. */
static int
hdr_is(const char *p, const char *end, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(end - p) > n && _strnicmp(p, name, n) == 0 &&
	    p[n] == ':';
}

/*
 * The head of an HTTP/1.x answer in buf[0..len) (it ends with the blank
 * line): status code, and Content-Length (-1 if absent).  0, or -1 with
 * err for a malformed head or one that asks for what this client does
 * not do (chunked).
 */
static int
parse_head(const char *buf, size_t len, int *code, long *clen, char *err,
    size_t errlen)
{
	const char *p = buf, *end = buf + len, *eol, *v;
	uint64_t n;
	const char *why;
	char num[24];
	size_t vl;

	*clen = -1;
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9') {
		pk_errf(err, errlen, "malformed HTTP answer");
		return -1;
	}
	*code = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	/* header lines, one at a time, each bounded by the head */
	while ((eol = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		p = eol + 1;
		if (p >= end || *p == '\r' || *p == '\n')
			break;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			break;
		if (hdr_is(p, eol, "Transfer-Encoding")) {
			pk_errf(err, errlen, "chunked HTTP answer: not "
			    "supported");
			return -1;
		}
		if (!hdr_is(p, eol, "Content-Length"))
			continue;
		for (v = p + strlen("Content-Length:"); v < eol &&
		    (*v == ' ' || *v == '\t'); v++)
			;
		for (vl = 0; v + vl < eol && v[vl] >= '0' && v[vl] <= '9';
		    vl++)
			;
		if (vl == 0 || vl >= sizeof(num)) {
			pk_errf(err, errlen, "malformed Content-Length");
			return -1;
		}
		memcpy(num, v, vl);
		num[vl] = '\0';
		if (pk_parse_u64(num, 0, ANSWER_MAX, &n, &why) != 0) {
			pk_errf(err, errlen, "answer too long (%s)", why);
			return -1;
		}
		*clen = (long)n;
	}
	return 0;
}

/*
 * Read the answer: head, then body.  0 with a->code and a->body, or -1
 * with err.
 */
static int
read_answer(struct pk_tls *t, SOCKET s, uint64_t deadline, struct answer *a,
    char *err, size_t errlen)
{
	size_t cap = HTTP_HEAD_MAX + ANSWER_MAX, have = 0, head = 0;
	char *buf, *hend;
	long n, clen = -1;

	if ((buf = malloc(cap + 1)) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return -1;
	}
	for (;;) {
		if (head != 0 && clen >= 0 && have - head >= (size_t)clen)
			break;
		if (have == cap) {
			pk_errf(err, errlen, "answer too long");
			goto fail;
		}
		n = pk_tls_read(t, buf + have, cap - have);
		if (n == PK_TLS_WANT_READ || n == PK_TLS_WANT_WRITE) {
			if (tls_wait(s, n, deadline) != 0) {
				pk_errf(err, errlen, "timed out");
				goto fail;
			}
			continue;
		}
		if (n == PK_TLS_CLOSED || (n < 0 && head != 0 && clen < 0))
			break;	/* the end of an answer without a length */
		if (n <= 0) {
			pk_errf(err, errlen, "%s", head ? "connection closed "
			    "inside the answer" : "connection closed");
			goto fail;
		}
		have += (size_t)n;
		if (head == 0) {
			buf[have] = '\0';
			if ((hend = strstr(buf, "\r\n\r\n")) == NULL) {
				if (have >= HTTP_HEAD_MAX) {
					pk_errf(err, errlen, "HTTP head too "
					    "long");
					goto fail;
				}
				continue;
			}
			head = (size_t)(hend - buf) + 4;
			if (parse_head(buf, head, &a->code, &clen, err,
			    errlen) != 0)
				goto fail;
		}
	}
	if (head == 0) {
		pk_errf(err, errlen, "connection closed inside the answer");
		goto fail;
	}
	a->len = have - head;
	if (clen >= 0) {
		if (a->len < (size_t)clen) {
			pk_errf(err, errlen, "connection closed inside the "
			    "answer");
			goto fail;
		}
		a->len = (size_t)clen;	/* nothing may follow: closed */
	}
	if (a->len > ANSWER_MAX) {
		pk_errf(err, errlen, "answer too long");
		goto fail;
	}
	memmove(buf, buf + head, a->len);
	buf[a->len] = '\0';
	a->body = buf;
	return 0;
fail:
	free(buf);
	return -1;
}

/* POST body to https://host:port/api/v1/enroll, the hub checked as name
 * under ca.  0 with the answer, or -1 with err. */
static int
post(const char *host, uint16_t port, const char *name, const char *ca,
    const char *body, size_t blen, struct answer *a, char *err,
    size_t errlen)
{
	uint64_t deadline = pk_mono_us() + ENROLL_TIMEOUT_S * PK_USEC;
	struct pk_tls_ctx *ctx = NULL;
	struct pk_tls *t = NULL;
	char req[1024];
	const char *vr;
	SOCKET s = INVALID_SOCKET;
	size_t off;
	int rc = -1, w, v6;
	long n;

	if ((ctx = pk_tls_http_client_ctx_new(ca, err, errlen)) == NULL)
		return -1;
	if ((s = tcp_connect(host, port, deadline, err, errlen)) ==
	    INVALID_SOCKET)
		goto out;
	if ((t = pk_tls_http_client_new(ctx, (int)s, name, err,
	    errlen)) == NULL)
		goto out;
	while ((n = pk_tls_handshake(t)) != PK_TLS_DONE) {
		if (n == PK_TLS_WANT_READ || n == PK_TLS_WANT_WRITE) {
			if (tls_wait(s, n, deadline) == 0)
				continue;
			pk_errf(err, errlen, "TLS: timed out");
		} else if ((vr = pk_tls_verify_reason(t)) != NULL)
			pk_errf(err, errlen, "TLS: certificate verify failed: "
			    "%s", vr);
		else
			pk_errf(err, errlen, "TLS: %s", pk_tls_error(t));
		goto out;
	}
	v6 = strchr(host, ':') != NULL;
	w = snprintf(req, sizeof(req), "POST " ENROLL_PATH " HTTP/1.1\r\n"
	    "Host: %s%s%s:%u\r\nContent-Type: application/json\r\n"
	    "Accept: application/json\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n\r\n", v6 ? "[" : "", host, v6 ? "]" : "",
	    port, blen);
	if (w < 0 || (size_t)w >= sizeof(req)) {
		pk_errf(err, errlen, "request too large");
		goto out;
	}
	/* head, then body: each written whole, waiting as TLS asks */
	for (int part = 0; part < 2; part++) {
		const char *p = part == 0 ? req : body;
		size_t len = part == 0 ? (size_t)w : blen;

		for (off = 0; off < len; ) {
			n = pk_tls_write(t, p + off, len - off);
			if (n > 0) {
				off += (size_t)n;
				continue;
			}
			if ((n == PK_TLS_WANT_READ || n == PK_TLS_WANT_WRITE) &&
			    tls_wait(s, n, deadline) == 0)
				continue;
			pk_errf(err, errlen, "sending the request: %s",
			    n < 0 && n != PK_TLS_WANT_READ &&
			    n != PK_TLS_WANT_WRITE ? pk_tls_error(t) :
			    "timed out");
			goto out;
		}
	}
	rc = read_answer(t, s, deadline, a, err, errlen);
out:
	pk_tls_free(t);
	if (s != INVALID_SOCKET)
		closesocket(s);
	pk_tls_ctx_free(ctx);
	return rc;
}

/* ------------------------------------------------------------ enrol */

static int
path_in(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s\\%s", dir, name);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int
exists(const char *path)
{
	return GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES;
}

/* The directory (made if missing); refuses an enrolled one. */
static int
prepare_dir(const char *dir, const char *key, const char *crt, char *err,
    size_t errlen)
{
	DWORD a;

	if (!CreateDirectoryA(dir, NULL) &&
	    GetLastError() != ERROR_ALREADY_EXISTS) {
		pk_errf(err, errlen, "%s: cannot create it (error %lu)", dir,
		    (unsigned long)GetLastError());
		return -1;
	}
	a = GetFileAttributesA(dir);
	if (a == INVALID_FILE_ATTRIBUTES || !(a & FILE_ATTRIBUTE_DIRECTORY)) {
		pk_errf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	if (exists(key) || exists(crt)) {
		pk_errf(err, errlen, "%s exists: this host is already enrolled "
		    "there (remove agent.key and agent.crt to enroll again)",
		    exists(key) ? key : crt);
		return -1;
	}
	return 0;
}

/* Copy the CA that verified the hub to dir\ca.crt (unless it is it). */
static int
keep_ca(const char *from, const char *to, char *err, size_t errlen)
{
	char ff[MAX_PATH], ft[MAX_PATH], *buf;
	size_t n;
	int rc;

	if (GetFullPathNameA(from, sizeof(ff), ff, NULL) - 1 < sizeof(ff) - 1 &&
	    GetFullPathNameA(to, sizeof(ft), ft, NULL) - 1 < sizeof(ft) - 1 &&
	    _stricmp(ff, ft) == 0)
		return 0;
	if ((buf = pk_read_file(from, ANSWER_MAX, &n, err, errlen)) == NULL)
		return -1;
	rc = pk_pki_write_file(to, buf, n, 0644, 1, err, errlen);
	free(buf);
	return rc;
}

static int
accept_answer(const struct pk_wenroll_req *r, const struct answer *a,
    const char *kid, const char *tmpkey, const char *key, const char *crt,
    const char *cacrt, char *err, size_t errlen)
{
	char *pem;
	int rc = -1;

	if ((pem = pk_enroll_answer_pem(a->body, a->len, kid, err,
	    errlen)) == NULL)
		return -1;
	if (pk_pki_write_file(crt, pem, strlen(pem), 0644, 0, err,
	    errlen) == -1)
		goto out;
	if (!MoveFileExA(tmpkey, key, MOVEFILE_WRITE_THROUGH)) {
		pk_errf(err, errlen, "%s: cannot rename to %s (error %lu)",
		    tmpkey, key, (unsigned long)GetLastError());
		goto out;
	}
	rc = keep_ca(r->ca, cacrt, err, errlen);
out:
	free(pem);
	return rc;
}

int
pk_wenroll(const struct pk_wenroll_req *r, char *id, size_t idcap,
    char *err, size_t errlen, int *usage)
{
	char host[256], name[256], hostname[HOST_NAME_MAX_LEN + 1];
	char key[MAX_PATH + 32], tmpkey[MAX_PATH + 32], crt[MAX_PATH + 32];
	char cacrt[MAX_PATH + 32], kid[PK_PKI_ID_LEN + 1], msg[MSG_MAX];
	struct pk_pki_key *k = NULL;
	struct answer a;
	char *csr = NULL, *body = NULL;
	size_t blen = 0;
	uint16_t port;
	DWORD hn = sizeof(hostname);
	WSADATA wsa;
	int rc = -1;

	if (usage != NULL)
		*usage = 0;
	memset(&a, 0, sizeof(a));
	if (pk_config_split_hostport(r->hub, host, sizeof(host), &port) != 0 ||
	    r->token[0] == '\0' || strlen(r->token) > TOKEN_MAX ||
	    path_in(key, sizeof(key), r->dir, "agent.key") == -1 ||
	    path_in(tmpkey, sizeof(tmpkey), r->dir, ".agent.key.new") == -1 ||
	    path_in(crt, sizeof(crt), r->dir, "agent.crt") == -1 ||
	    path_in(cacrt, sizeof(cacrt), r->dir, "ca.crt") == -1) {
		pk_errf(err, errlen, "want --hub HOST:PORT, a token of 1..%d "
		    "bytes and a --dir that is not too long", TOKEN_MAX);
		if (usage != NULL)
			*usage = 1;
		return -1;
	}
	pk_strlcpy(name, r->server_name != NULL ? r->server_name : host,
	    sizeof(name));
	if (r->host_name != NULL)
		pk_strlcpy(hostname, r->host_name, sizeof(hostname));
	else if (!GetComputerNameExA(ComputerNameDnsHostname, hostname, &hn))
		hostname[0] = '\0';
	hostname[sizeof(hostname) - 1] = '\0';
	if (prepare_dir(r->dir, key, crt, err, errlen) == -1)
		return -1;
	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
		pk_errf(err, errlen, "Winsock: WSAStartup failed");
		return -1;
	}
	/* A leftover of an attempt that died: ours, not needed. */
	(void)DeleteFileA(tmpkey);
	msg[0] = '\0';
	if ((k = pk_pki_key_new(msg, sizeof(msg))) == NULL ||
	    pk_pki_key_id(k, kid, sizeof(kid)) == -1 ||
	    (csr = pk_pki_csr_make(k, kid, msg, sizeof(msg))) == NULL ||
	    pk_pki_key_write(k, tmpkey, msg, sizeof(msg)) == -1) {
		pk_errf(err, errlen, "%s", msg[0] ? msg : "cannot make a key");
		goto out;
	}
	if ((body = pk_enroll_request(r->token, csr, hostname, &blen)) == NULL) {
		pk_errf(err, errlen, "request too large");
		goto fail;
	}
	if (post(host, port, name, r->ca, body, blen, &a, msg,
	    sizeof(msg)) == -1) {
		pk_errf(err, errlen, "cannot reach the hub at %s: %s", r->hub,
		    msg);
		goto fail;
	}
	if (a.code != 200) {
		if (pk_enroll_field(a.body, a.len, "error", msg,
		    sizeof(msg)) == -1)
			pk_strlcpy(msg, "no reason given", sizeof(msg));
		pk_errf(err, errlen, "enrollment refused by the hub (HTTP %d): "
		    "%s", a.code, msg);
		goto fail;
	}
	if (accept_answer(r, &a, kid, tmpkey, key, crt, cacrt, err,
	    errlen) == -1)
		goto fail;
	pk_strlcpy(id, kid, idcap);
	rc = 0;
	goto out;
fail:
	(void)DeleteFileA(tmpkey);
out:
	if (body != NULL)
		SecureZeroMemory(body, blen);	/* it holds the token */
	free(a.body);
	free(body);
	free(csr);
	pk_pki_key_free(k);
	WSACleanup();
	return rc;
}

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
	    "(default %%ProgramData%%\\Picket)\n"
	    "  --host-name    this host's name as the hub records it "
	    "(default: the DNS host name)\n"
	    "  --server-name  the name the hub's certificate must carry "
	    "(default: HOST)\n");
}

int
pk_wenroll_main(int argc, char **argv, const char *default_dir)
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
	struct pk_wenroll_req r;
	char token[TOKEN_MAX + 2], id[PK_PKI_ID_LEN + 1], err[512];
	const char *tok = NULL;
	int ch, bad;

	memset(&r, 0, sizeof(r));
	r.dir = default_dir;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'H':	r.hub = optarg; break;
		case 't':	tok = optarg; break;
		case 'C':	r.ca = optarg; break;
		case 'd':	r.dir = optarg; break;
		case 'n':	r.host_name = optarg; break;
		case 's':	r.server_name = optarg; break;
		default:
			usage();
			return 2;
		}
	}
	if (optind != argc || r.hub == NULL || tok == NULL || r.ca == NULL) {
		usage();
		return 2;
	}
	if (strcmp(tok, "-") == 0) {
		/* from stdin: keeps it out of the process list */
		if (fgets(token, sizeof(token), stdin) == NULL)
			token[0] = '\0';
		token[strcspn(token, "\r\n")] = '\0';
	} else
		pk_strlcpy(token, tok, sizeof(token));
	r.token = token;
	if (pk_wenroll(&r, id, sizeof(id), err, sizeof(err), &bad) != 0) {
		SecureZeroMemory(token, sizeof(token));
		fprintf(stderr, "picketd: %s%s\n", bad ? "" : "enrollment: ",
		    err);
		return bad ? 2 : 1;
	}
	SecureZeroMemory(token, sizeof(token));
	printf("%s\n", id);
	fprintf(stderr, "picketd: enrolled as %s: %s\\agent.key, "
	    "%s\\agent.crt, %s\\ca.crt\n", id, r.dir, r.dir, r.dir);
	return fflush(stdout) == 0 ? 0 : 1;
}
