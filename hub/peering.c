/*
 * peering.c - member hubs sharing indicators (docs/peering.md, "The
 * exchange"): the peering listener takes bundles from peers and the
 * pusher offers each enabled peer what is new, both on the hub's one
 * event loop.
 *
 * The listener is evhttp over OpenSSL bufferevents whose context trusts
 * the union of the enabled peers' CAs and demands a hub certificate from
 * the client; the CA that verified a connection (its SHA-256) says which
 * peer it is, so a peer can only ever speak for itself.  A bundle is read
 * by hub/share_in.c and kept, with its sequence, in one transaction.  The
 * pusher sends each peer one bundle at a time (hub/share_out.c makes it)
 * over a connection pinned to that peer's CA and checked against its URL's
 * host, and moves the peer's cursor only on a 200; anything else keeps
 * cursor and sequence and backs off.  The peers are read from the store
 * every REFRESH_S so that `picket-hub peer ...` applies to a running hub.
 * hub/main.c creates it; the API (/metrics) and SIGUSR1 read its counters.
 * No OpenSSL header here: transport/tls.c makes the contexts and SSLs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <jansson.h>

#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "hub/auth.h"
#include "hub/conncap.h"
#include "hub/listener.h"
#include "hub/peering.h"
#include "hub/share.h"
#include "transport/tls.h"

#define PEERS_MAX		256	/* peers followed; more are counted */
#define PEER_FPS_MAX		8	/* certificates in one peer's CA PEM */
#define REFRESH_S		5	/* peers re-read from the store */
#define PUSH_TIMEOUT_S		30
#define SERVE_TIMEOUT_S		30	/* an idle or slow peer connection */
#define BACKOFF_MAX_S		600
#define ANSWER_MAX		(1024 * 1024)	/* a peer's answer */
#define ANSWER_ERR_MAX		4096	/* what we read of an error answer */
#define HEADERS_MAX		(16 * 1024)
#define WINDOWS_PER_TURN	16	/* empty windows skipped in one turn */
#define REFUSED_ADDRS		64	/* addresses with a refusal logged */
#define REFUSED_LOG_US		(60 * PK_USEC)	/* one line per minute */
#define ADDR_MAX		64
#define PEER_PATH		"/peer/v1/bundles"
#define WHY_MAX			(HUB_PEER_ERR_MAX + 1)

/* One peer as the pusher and the listener follow it. */
struct peer_st {
	struct hub_peering	*p;
	char			 name[HUB_PEER_NAME_MAX + 1];
	/* where it listens: https://host:port/path */
	char			 url[HUB_PEER_URL_MAX + 1];
	char			 host[HUB_PEER_URL_MAX + 1];	/* no [] */
	char			 hosthdr[HUB_PEER_URL_MAX + 16];
	char			 path[HUB_PEER_URL_MAX + sizeof(PEER_PATH)];
	uint16_t		 port;
	int			 url_ok;
	int			 host_is_ip;
	/* its CA: PEM and the SHA-256 of each certificate in it */
	char			*ca_pem;
	size_t			 ca_len;
	char			 fps[PEER_FPS_MAX][PK_TLS_FP_HEX];
	size_t			 nfps;
	int			 ca_ok;
	int			 enabled;
	int			 seen;		/* in the last peer_list */
	struct pk_tls_ctx	*cli;		/* pinned to its CA, lazily */
	/* the push in flight (at most one) */
	struct evhttp_connection *conn;
	struct event		*done_ev;	/* frees conn outside evhttp */
	int			 inflight;
	int			 code;		/* HTTP answer; 0: none */
	char			 why[WHY_MAX];
	uint64_t		 seq;
	int64_t			 last_rowid;
	uint32_t		 n;		/* indicators in it */
	uint64_t		 filtered, redacted;
	uint64_t		 excerpts, withheld;
	int			 tlp;		/* its send_tlp */
	int			 more;		/* a full window: go on */
	/* the values it carries, kept once the peer took it */
	struct hub_sent_value	*sent;
	size_t			 nsent;
	/* back-off after a failure */
	uint64_t		 backoff_s;	/* 0: none */
	uint64_t		 next_us;	/* mono: no push before */
	int			 warned;	/* bad URL/CA said once */
};

struct refused_addr {
	char		 addr[ADDR_MAX];
	uint64_t	 at;		/* mono µs of the last line */
	uint64_t	 unlogged;
};

struct hub_peering {
	struct event_base	*base;
	struct hub_store	*st;
	const struct hub_sharing *sh;
	char			 cert[HUB_PATH_MAX];
	char			 key[HUB_PATH_MAX];
	uint64_t		 push_interval;	/* seconds */
	uint64_t		 max_bytes;
	uint64_t		 max_objects;
	struct peer_st		*peers[PEERS_MAX];
	size_t			 npeers;
	uint64_t		 untracked;	/* peers over PEERS_MAX now */
	int			 untracked_said;
	/* the listener: NULL http when [peering] listen is "" */
	struct evhttp		*http;
	struct hub_conncap	 cap;	/* [peering] max_connections */
	uint64_t		 max_conns;
	struct pk_tls_ctx	*srv;
	char			*trust;		/* fingerprints srv trusts */
	struct evdns_base	*dns;		/* for peer URLs with names */
	struct event		*refresh_ev;
	struct event		*push_ev;
	struct refused_addr	 refused[REFUSED_ADDRS];
	struct hub_peering_stats k;
};

/* ------------------------------------------------------------ peers */

static void
peer_free(struct peer_st *s)
{
	if (s == NULL)
		return;
	if (s->conn != NULL)
		evhttp_connection_free(s->conn);	/* drops its request */
	if (s->done_ev != NULL)
		event_free(s->done_ev);
	pk_tls_ctx_free(s->cli);
	free(s->ca_pem);
	free(s->sent);
	free(s);
}

/*
 * The values a bundle carries, read back from its own bytes with the
 * parser peers use, so what is recorded as sent is exactly what a peer
 * could keep.  On any failure nothing is recorded (the push goes on).
 */
static void
sent_values(struct peer_st *s, const char *body, size_t len)
{
	struct hub_share_limits lim;
	struct hub_share_in in;
	char err[WHY_MAX];
	size_t i;

	free(s->sent);
	s->sent = NULL;
	s->nsent = 0;
	memset(&lim, 0, sizeof(lim));
	lim.max_bytes = len;
	lim.max_objects = s->p->max_objects;
	lim.accept_tlp = HUB_TLP_AMBER_STRICT;
	if (hub_share_parse(body, len, &lim, 0, &in, err, sizeof(err)) != 0)
		return;
	if (in.nitems > 0 &&
	    (s->sent = calloc(in.nitems, sizeof(*s->sent))) != NULL) {
		for (i = 0; i < in.nitems; i++) {
			struct hub_sent_value *v = &s->sent[i];

			pk_strlcpy(v->peer, s->name, sizeof(v->peer));
			pk_strlcpy(v->kind, in.items[i].kind, sizeof(v->kind));
			pk_strlcpy(v->value, in.items[i].value,
			    sizeof(v->value));
			v->tlp = in.items[i].tlp;
		}
		s->nsent = in.nitems;
	}
	hub_share_in_free(&in);
}

static struct peer_st *
peer_find(struct hub_peering *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->npeers; i++)
		if (strcmp(p->peers[i]->name, name) == 0)
			return p->peers[i];
	return NULL;
}

/*
 * https://host[:port][/prefix] -> host (IPv6 without brackets), port
 * (443 by default), the Host header and the request path.  0 / -1.
 */
static int
peer_set_url(struct peer_st *s, const char *url)
{
	struct evhttp_uri *u;
	const char *scheme, *host, *path;
	size_t hl, pl;
	int port, rc = -1;

	s->url_ok = 0;
	pk_strlcpy(s->url, url, sizeof(s->url));
	if ((u = evhttp_uri_parse_with_flags(url, 0)) == NULL)
		return -1;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	path = evhttp_uri_get_path(u);
	port = evhttp_uri_get_port(u);
	if (scheme == NULL || strcasecmp(scheme, "https") != 0 ||
	    host == NULL || host[0] == '\0' ||
	    evhttp_uri_get_userinfo(u) != NULL ||
	    evhttp_uri_get_query(u) != NULL ||
	    evhttp_uri_get_fragment(u) != NULL || port == 0 || port > 65535)
		goto out;
	hl = strlen(host);
	if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']' || hl - 2 >= sizeof(s->host))
			goto out;
		memcpy(s->host, host + 1, hl - 2);
		s->host[hl - 2] = '\0';
	} else if (pk_strlcpy(s->host, host, sizeof(s->host)) >=
	    sizeof(s->host)) {
		goto out;
	}
	s->port = port < 0 ? 443 : (uint16_t)port;
	snprintf(s->hosthdr, sizeof(s->hosthdr), "%s:%u", host,
	    (unsigned)s->port);
	/* A prefix (a proxy in front of the peer) is kept; "/" is none. */
	pl = path != NULL ? strlen(path) : 0;
	while (pl > 0 && path[pl - 1] == '/')
		pl--;
	snprintf(s->path, sizeof(s->path), "%.*s%s", (int)pl,
	    path != NULL ? path : "", PEER_PATH);
	{
		struct in6_addr a6;

		s->host_is_ip = inet_pton(AF_INET, s->host, &a6) == 1 ||
		    inet_pton(AF_INET6, s->host, &a6) == 1;
	}
	s->url_ok = 1;
	rc = 0;
out:
	evhttp_uri_free(u);
	return rc;
}

/* A new CA for s: its PEM and fingerprints; the old pinned context goes. */
static void
peer_set_ca(struct peer_st *s, const char *pem, size_t len)
{
	char err[PK_TLS_ERRLEN];
	char *cp;

	pk_tls_ctx_free(s->cli);
	s->cli = NULL;
	free(s->ca_pem);
	s->ca_pem = NULL;
	s->ca_len = 0;
	s->nfps = 0;
	s->ca_ok = 0;
	s->warned = 0;
	if (pem == NULL || len == 0 || (cp = malloc(len)) == NULL)
		return;
	memcpy(cp, pem, len);
	s->ca_pem = cp;
	s->ca_len = len;
	if (pk_tls_pem_fingerprints(cp, len, s->fps, PEER_FPS_MAX, &s->nfps,
	    err, sizeof(err)) == -1) {
		log_warnx("peer %s: CA: %s", s->name, err);
		(void)s->p->st->ops->peer_error(s->p->st, s->name, err);
		return;
	}
	s->ca_ok = 1;
}

static void done_cb(evutil_socket_t, short, void *);
static void on_refused(void *, int, const char *);

/* One row of peer_list: follow it. */
static int
refresh_row(void *arg, const struct hub_peer *row)
{
	struct hub_peering *p = arg;
	struct peer_st *s;

	if ((s = peer_find(p, row->name)) == NULL) {
		if (p->npeers == PEERS_MAX) {
			p->untracked++;
			return 0;
		}
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			log_warn("peering");
			return 0;
		}
		s->p = p;
		pk_strlcpy(s->name, row->name, sizeof(s->name));
		if ((s->done_ev = evtimer_new(p->base, done_cb, s)) == NULL) {
			free(s);
			log_warnx("peering: evtimer_new failed");
			return 0;
		}
		p->peers[p->npeers++] = s;
		s->url[0] = '\0';
		log_info("peer %s: following (%s)", s->name,
		    row->enabled ? "enabled" : "disabled");
	}
	s->seen = 1;
	if (strcmp(s->url, row->url) != 0 || !s->url_ok) {
		if (strcmp(s->url, row->url) != 0)
			s->warned = 0;
		if (peer_set_url(s, row->url) == -1 && !s->warned) {
			log_warnx("peer %s: url %.200s: want https://host:port",
			    s->name, row->url);
			(void)p->st->ops->peer_error(p->st, s->name,
			    "url: want https://host:port");
			s->warned = 1;
		}
	}
	if (row->ca_len != s->ca_len || row->ca_pem == NULL ||
	    s->ca_pem == NULL || memcmp(row->ca_pem, s->ca_pem, s->ca_len) != 0)
		peer_set_ca(s, row->ca_pem, row->ca_len);
	if (s->enabled != row->enabled) {
		/* A peer enabled again starts without a back-off. */
		s->backoff_s = 0;
		s->next_us = 0;
	}
	s->enabled = row->enabled;
	return 0;
}

/*
 * The trust of the listener: the CAs of the enabled peers.  Made again
 * only when that set changes; on failure the listener takes no one until
 * the next refresh succeeds (it never keeps trusting a removed peer).
 */
static void
trust_sync(struct hub_peering *p)
{
	const char *pems[PEERS_MAX];
	size_t lens[PEERS_MAX], i, j, n = 0, cap = 1, len = 0;
	char *sig, err[PK_TLS_ERRLEN];
	struct pk_tls_ctx *ctx;

	if (p->http == NULL)
		return;
	for (i = 0; i < p->npeers; i++)
		cap += p->peers[i]->nfps * PK_TLS_FP_HEX + 1;
	if ((sig = malloc(cap)) == NULL) {
		log_warn("peering");
		return;
	}
	sig[0] = '\0';
	for (i = 0; i < p->npeers; i++) {
		struct peer_st *s = p->peers[i];

		if (!s->enabled || !s->ca_ok)
			continue;
		pems[n] = s->ca_pem;
		lens[n++] = s->ca_len;
		for (j = 0; j < s->nfps; j++)
			len += (size_t)snprintf(sig + len, cap - len, "%s",
			    s->fps[j]);
		len += (size_t)snprintf(sig + len, cap - len, ";");
	}
	if (p->trust != NULL && strcmp(p->trust, sig) == 0) {
		free(sig);
		return;
	}
	if ((ctx = pk_tls_peer_server_ctx_new(p->cert, p->key, pems, lens, n,
	    err, sizeof(err))) == NULL) {
		log_warnx("peering listener TLS: %s; refusing every peer", err);
		pk_tls_ctx_free(p->srv);
		p->srv = NULL;
		free(sig);
		free(p->trust);
		p->trust = NULL;
		return;
	}
	pk_tls_ctx_on_refused(ctx, on_refused, p);
	pk_tls_ctx_free(p->srv);
	p->srv = ctx;
	free(p->trust);
	p->trust = sig;
	log_info("peering listener trusts the CAs of %zu peer(s)", n);
}

/* Read the peers; forget the ones removed; rebuild the trust. */
static void
refresh(struct hub_peering *p)
{
	size_t i, keep = 0;

	for (i = 0; i < p->npeers; i++)
		p->peers[i]->seen = 0;
	p->untracked = 0;
	if (p->st->ops->peer_list(p->st, refresh_row, p) == -1) {
		log_warnx("peering: cannot read the peers");
		return;		/* keep following what we had */
	}
	if (p->untracked > 0 && !p->untracked_said) {
		log_warnx("peering: %llu peer(s) over %d ignored",
		    (unsigned long long)p->untracked, PEERS_MAX);
		p->untracked_said = 1;
	}
	for (i = 0; i < p->npeers; i++) {
		if (p->peers[i]->seen) {
			p->peers[keep++] = p->peers[i];
			continue;
		}
		log_info("peer %s: removed", p->peers[i]->name);
		peer_free(p->peers[i]);
	}
	p->npeers = keep;
	trust_sync(p);
}

static void
refresh_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	refresh(arg);
}

/* ------------------------------------------------------------ pusher */

/* A copy of a peer row, without its CA (valid only in the callback). */
static int
copy_row(void *arg, const struct hub_peer *row)
{
	struct hub_peer *out = arg;

	*out = *row;
	out->ca_pem = NULL;
	out->ca_len = 0;
	return 0;
}

static void
backoff(struct peer_st *s)
{
	uint64_t b = s->backoff_s == 0 ? s->p->push_interval :
	    s->backoff_s * 2;

	s->backoff_s = b > BACKOFF_MAX_S ? BACKOFF_MAX_S : b;
	s->next_us = pk_mono_us() + s->backoff_s * PK_USEC;
}

/* A push that did not reach a 200: remembered in the store, retried. */
static void
push_failed(struct peer_st *s, const char *why)
{
	(void)s->p->st->ops->peer_error(s->p->st, s->name, why);
	backoff(s);
	log_warnx("peer %s: push failed: %s (next try in %llus)", s->name,
	    why, (unsigned long long)s->backoff_s);
}

/* A peer's words in our log: printable ASCII only, bounded. */
static void
clean_copy(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < cap; i++)
		dst[o++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[o] = '\0';
}

static void
on_req_error(enum evhttp_request_error e, void *arg)
{
	struct peer_st *s = arg;
	const char *w;

	switch (e) {
	case EVREQ_HTTP_TIMEOUT:	w = "timed out"; break;
	case EVREQ_HTTP_EOF:		w = "connection closed"; break;
	case EVREQ_HTTP_INVALID_HEADER:	w = "malformed HTTP answer"; break;
	case EVREQ_HTTP_DATA_TOO_LONG:	w = "answer too long"; break;
	default:
		/* libevent does not keep the socket's error for us */
		w = "connection failed (refused, unreachable or reset)";
		break;
	}
	pk_strlcpy(s->why, w, sizeof(s->why));
}

/* The answer came (or the request failed): note it; done_cb acts. */
static void
on_answer(struct evhttp_request *req, void *arg)
{
	struct peer_st *s = arg;
	struct bufferevent *bev;
	struct evbuffer *in;
	char tls[PK_TLS_ERRLEN], msg[200];
	const char *e;
	json_t *j;
	size_t len;
	unsigned long oe;
	struct timeval now = { 0, 0 };

	s->code = req != NULL ? evhttp_request_get_response_code(req) : 0;
	if (s->code == 0) {
		/* TLS says more than evhttp: our CA pin, the name, a peer
		 * that refused our certificate. */
		bev = s->conn != NULL ?
		    evhttp_connection_get_bufferevent(s->conn) : NULL;
		oe = bev != NULL ? bufferevent_get_openssl_error(bev) : 0;
		if (bev != NULL && pk_tls_http_ssl_why(
		    bufferevent_openssl_get_ssl(bev), oe, tls, sizeof(tls)) == 0)
			snprintf(s->why, sizeof(s->why), "TLS: %s", tls);
		else if (s->why[0] == '\0')
			pk_strlcpy(s->why, "connection failed (refused, "
			    "unreachable or reset)", sizeof(s->why));
	} else if (s->code != 200) {
		in = evhttp_request_get_input_buffer(req);
		len = evbuffer_get_length(in);
		if (len > ANSWER_ERR_MAX)
			len = ANSWER_ERR_MAX;
		msg[0] = '\0';
		j = len == 0 ? NULL : json_loadb((const char *)evbuffer_pullup(
		    in, (ev_ssize_t)len), len, JSON_REJECT_DUPLICATES, NULL);
		if (j != NULL && (e = json_string_value(json_object_get(j,
		    "error"))) != NULL)
			clean_copy(msg, sizeof(msg), e, strlen(e));
		json_decref(j);
		snprintf(s->why, sizeof(s->why), "HTTP %d%s%s", s->code,
		    msg[0] ? ": " : "", msg);
	}
	/* evhttp still uses the connection after this returns. */
	evtimer_add(s->done_ev, &now);
}

/* One audit row per bundle a peer answered. */
static void
audit_send(struct peer_st *s, const char *outcome)
{
	char target[HUB_PEER_NAME_MAX + 32], res[64];

	snprintf(target, sizeof(target), "%s bundle %llu", s->name,
	    (unsigned long long)s->seq);
	snprintf(res, sizeof(res), "%s %u ind %llu filt %s", outcome, s->n,
	    (unsigned long long)s->filtered, hub_tlp_name(s->tlp));
	(void)hub_audit(s->p->st, "hub", "peer", "peer.send", target, s->url,
	    res);
}

static void push_peer(struct peer_st *s);

static void
done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer_st *s = arg;
	struct hub_peering *p = s->p;

	(void)fd;
	(void)what;
	if (s->conn != NULL)
		evhttp_connection_free(s->conn);
	s->conn = NULL;
	s->inflight = 0;
	if (s->code == 200) {
		if (p->st->ops->peer_sent(p->st, s->name, s->last_rowid,
		    s->seq + 1, s->n, (int64_t)pk_now_us()) == -1) {
			/* Sent again with the same sequence: a duplicate. */
			log_warnx("peer %s: cannot record bundle %llu", s->name,
			    (unsigned long long)s->seq);
			backoff(s);
			return;
		}
		if (s->nsent > 0) {
			size_t i;

			for (i = 0; i < s->nsent; i++) {
				s->sent[i].seq = s->seq;
				s->sent[i].sent_us = (int64_t)pk_now_us();
			}
			if (p->st->ops->sent_add(p->st, s->sent, s->nsent) ==
			    -1)
				log_warnx("peer %s: bundle %llu taken, but what "
				    "it carried could not be recorded", s->name,
				    (unsigned long long)s->seq);
		}
		p->k.bundles_sent++;
		p->k.indicators_sent += s->n;
		p->k.rows_filtered += s->filtered;
		p->k.values_redacted += s->redacted;
		p->k.excerpts_sent += s->excerpts;
		p->k.excerpts_withheld += s->withheld;
		s->backoff_s = 0;
		s->next_us = 0;
		audit_send(s, "ok");
		log_info("peer %s: bundle %llu taken (%u indicators)", s->name,
		    (unsigned long long)s->seq, s->n);
		if (s->more)
			push_peer(s);	/* the rows waiting behind it */
		return;
	}
	if (s->code != 0) {
		p->k.bundles_refused++;
		audit_send(s, "refused");
	} else {
		p->k.push_failures++;
	}
	push_failed(s, s->why);
}

/* POST body[0..len) to s: 0 (in flight), or -1 with why. */
static int
post(struct peer_st *s, char *body, size_t len, char *why, size_t cap)
{
	struct hub_peering *p = s->p;
	struct evhttp_request *req;
	struct evkeyvalq *h;
	struct bufferevent *bev;
	struct ssl_st *ssl;
	struct evdns_base *dns = NULL;
	char err[PK_TLS_ERRLEN], num[32];

	if (s->cli == NULL && (s->cli = pk_tls_peer_client_ctx_new(p->cert,
	    p->key, s->ca_pem, s->ca_len, err, sizeof(err))) == NULL) {
		snprintf(why, cap, "TLS: %s", err);
		return -1;
	}
	if ((ssl = pk_tls_http_client_ssl_new(s->cli, s->host, err,
	    sizeof(err))) == NULL) {
		snprintf(why, cap, "TLS: %s", err);
		return -1;
	}
	bev = bufferevent_openssl_socket_new(p->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		pk_tls_http_ssl_free(ssl);
		snprintf(why, cap, "cannot make a TLS bufferevent");
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	/* Names go through evdns (made once); an address needs none. */
	if (!s->host_is_ip) {
		if (p->dns == NULL)
			p->dns = evdns_base_new(p->base,
			    EVDNS_BASE_INITIALIZE_NAMESERVERS |
			    EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		dns = p->dns;
	}
	/* The connection owns bev from here. */
	if ((s->conn = evhttp_connection_base_bufferevent_new(p->base, dns,
	    bev, s->host, s->port)) == NULL) {
		bufferevent_free(bev);
		snprintf(why, cap, "cannot make an HTTP connection");
		return -1;
	}
	evhttp_connection_set_timeout(s->conn, PUSH_TIMEOUT_S);
	evhttp_connection_set_retries(s->conn, 0);
	evhttp_connection_set_max_body_size(s->conn, ANSWER_MAX);
	evhttp_connection_set_max_headers_size(s->conn, HEADERS_MAX);
	if ((req = evhttp_request_new(on_answer, s)) == NULL) {
		evhttp_connection_free(s->conn);
		s->conn = NULL;
		snprintf(why, cap, "out of memory");
		return -1;
	}
	evhttp_request_set_error_cb(req, on_req_error);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", s->hosthdr);
	evhttp_add_header(h, "Content-Type",
	    "application/stix+json;version=2.1");
	evhttp_add_header(h, "Accept", "application/json");
	evhttp_add_header(h, "Connection", "close");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)s->seq);
	evhttp_add_header(h, "X-Picket-Sequence", num);
	snprintf(num, sizeof(num), "%lld", (long long)s->last_rowid);
	evhttp_add_header(h, "X-Picket-Cursor", num);
	if (evbuffer_add(evhttp_request_get_output_buffer(req), body, len) ==
	    -1) {
		evhttp_request_free(req);
		evhttp_connection_free(s->conn);
		s->conn = NULL;
		snprintf(why, cap, "out of memory");
		return -1;
	}
	s->why[0] = '\0';
	s->code = 0;
	s->inflight = 1;
	/* evhttp owns req from here, even on failure. */
	if (evhttp_make_request(s->conn, req, EVHTTP_REQ_POST, s->path) ==
	    -1) {
		s->inflight = 0;
		evhttp_connection_free(s->conn);
		s->conn = NULL;
		snprintf(why, cap, "cannot send the request");
		return -1;
	}
	return 0;
}

/*
 * The next bundle for s: windows of rows after its cursor, moving the
 * cursor over those the policy keeps back entirely, then one POST.
 */
static void
push_peer(struct peer_st *s)
{
	struct hub_peering *p = s->p;
	struct hub_share_out_stats ks;
	struct hub_peer row;
	json_t *bundle;
	char err[WHY_MAX], *body;
	uint64_t max_rows;
	int64_t last;
	size_t len;
	int found = 0, w;

	if (!s->enabled || s->inflight || !s->url_ok || !s->ca_ok ||
	    pk_mono_us() < s->next_us)
		return;
	memset(&row, 0, sizeof(row));
	if (p->st->ops->peer_get(p->st, s->name, copy_row, &row, &found) ==
	    -1 || !found || !row.enabled)
		return;
	/*
	 * Agents' batches may sit in an open group transaction (group
	 * commit): settle it first, so that the rows read are durable and
	 * a rolled-back group cannot hand its row ids to later rows after
	 * the cursor passed them.
	 */
	if (p->st->ops->begin(p->st) == -1 || p->st->ops->commit(p->st) ==
	    -1) {
		push_failed(s, "store error");
		return;
	}
	max_rows = p->max_objects / 2 > 0 ? p->max_objects / 2 : 1;
	for (w = 0; w < WINDOWS_PER_TURN; w++) {
		memset(&ks, 0, sizeof(ks));
		err[0] = '\0';
		last = row.cursor_rowid;
		bundle = hub_share_bundle(p->st, &row, p->sh, max_rows,
		    (uint32_t)p->max_objects, (int64_t)pk_now_us(), &last, &ks,
		    err, sizeof(err));
		if (bundle == NULL && err[0] != '\0') {
			push_failed(s, err);
			return;
		}
		if (bundle == NULL) {
			/* Nothing the peer may have: the cursor moves, no
			 * request. */
			p->k.rows_filtered += ks.filtered;
			p->k.values_redacted += ks.redacted;
			p->k.excerpts_withheld += ks.excerpts_withheld;
			if (last != row.cursor_rowid && p->st->ops->peer_cursor(
			    p->st, s->name, last) == -1)
				return;
			if (last == row.cursor_rowid || ks.rows < max_rows)
				return;
			row.cursor_rowid = last;
			continue;
		}
		body = json_dumps(bundle, JSON_COMPACT);
		json_decref(bundle);
		if (body == NULL) {
			push_failed(s, "out of memory");
			return;
		}
		len = strlen(body);
		if (len > p->max_bytes) {
			free(body);
			if (max_rows == 1) {
				push_failed(s, "one alert makes a bundle over "
				    "max_bundle_bytes");
				return;
			}
			max_rows /= 2;	/* fewer rows, same cursor */
			w--;
			continue;
		}
		s->seq = row.send_seq;
		s->last_rowid = last;
		s->n = ks.indicators;
		s->filtered = ks.filtered;
		s->redacted = ks.redacted;
		s->excerpts = ks.excerpts;
		s->withheld = ks.excerpts_withheld;
		s->tlp = row.send_tlp;
		s->more = ks.rows >= max_rows;
		sent_values(s, body, len);
		if (post(s, body, len, err, sizeof(err)) == -1) {
			p->k.push_failures++;
			push_failed(s, err);
		}
		free(body);
		return;
	}
}

static void
push_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hub_peering *p = arg;
	size_t i;
	int mine = 0;

	(void)fd;
	(void)what;
	/* several hubs on one database share the peers' cursors and
	 * sequences: one of them pushes (docs/scaling.md) */
	if (p->st->ops->lead(p->st, HUB_LEAD_PEERING, &mine) == -1 || !mine)
		return;
	for (i = 0; i < p->npeers; i++)
		push_peer(p->peers[i]);
}

/* ------------------------------------------------------------ listener */

static void
sock_addr(int fd, char *out, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const void *a = NULL;

	pk_strlcpy(out, "unknown", cap);
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return;
	if (ss.ss_family == AF_INET)
		a = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (a == NULL || inet_ntop(ss.ss_family, a, out, (socklen_t)cap) ==
	    NULL)
		pk_strlcpy(out, "unknown", cap);
}

/* A handshake refused: counted, and logged once a minute per address. */
static void
on_refused(void *arg, int fd, const char *why)
{
	struct hub_peering *p = arg;
	struct refused_addr *r = NULL, *old = &p->refused[0];
	char addr[ADDR_MAX];
	uint64_t now = pk_mono_us();
	size_t i;

	p->k.handshakes_refused++;
	sock_addr(fd, addr, sizeof(addr));
	for (i = 0; i < REFUSED_ADDRS && r == NULL; i++) {
		if (strcmp(p->refused[i].addr, addr) == 0)
			r = &p->refused[i];
		else if (p->refused[i].at < old->at)
			old = &p->refused[i];
	}
	if (r != NULL && now - r->at < REFUSED_LOG_US) {
		r->unlogged++;
		return;
	}
	if (r == NULL) {
		r = old;	/* an empty slot (at 0) or the oldest */
		pk_strlcpy(r->addr, addr, sizeof(r->addr));
		r->unlogged = 0;
	}
	if (r->unlogged > 0)
		log_warnx("peering: %s: handshake refused: %s (and %llu more "
		    "in the last minute)", addr, why,
		    (unsigned long long)r->unlogged);
	else
		log_warnx("peering: %s: handshake refused: %s", addr, why);
	r->at = now;
	r->unlogged = 0;
}

/* evhttp accepted a connection: its TLS bufferevent. */
static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
	struct hub_peering *p = arg;
	struct bufferevent *bev;
	struct ssl_st *ssl;

	/* NULL: evhttp falls back to plain text, which on_request refuses */
	if (p->srv == NULL || (ssl = pk_tls_http_ssl_new(p->srv)) == NULL)
		return NULL;
	hub_conncap_count(&p->cap, ssl);
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		pk_tls_http_ssl_free(ssl);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	hub_conncap_check(&p->cap);
	return bev;
}

static void
reply(struct evhttp_request *req, int code, json_t *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (text != NULL) {
		evbuffer_add(evhttp_request_get_output_buffer(req), text,
		    strlen(text));
		evbuffer_add(evhttp_request_get_output_buffer(req), "\n", 1);
	}
	free(text);
	evhttp_send_reply(req, code, NULL, NULL);
}

static void
reply_error(struct evhttp_request *req, int code, const char *msg)
{
	reply(req, code, json_pack("{s:s}", "error", msg));
}

/* The enabled peer whose CA verified this connection, or NULL. */
static struct peer_st *
peer_of(struct hub_peering *p, struct evhttp_request *req, int *ambiguous)
{
	struct evhttp_connection *ec = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	struct peer_st *hit = NULL;
	char fp[PK_TLS_FP_HEX];
	size_t i, j;

	*ambiguous = 0;
	if (ec == NULL || (bev = evhttp_connection_get_bufferevent(ec)) ==
	    NULL || pk_tls_http_ssl_anchor(bufferevent_openssl_get_ssl(bev),
	    fp, sizeof(fp)) == -1)
		return NULL;
	for (i = 0; i < p->npeers; i++) {
		struct peer_st *s = p->peers[i];

		if (!s->enabled || !s->ca_ok)
			continue;
		for (j = 0; j < s->nfps; j++) {
			if (strcmp(s->fps[j], fp) != 0)
				continue;
			if (hit != NULL && hit != s) {
				*ambiguous = 1;
				return NULL;
			}
			hit = s;
		}
	}
	return hit;
}

/* Keep a bundle's indicators, its sequence and an audit row: one
 * transaction.  0, or -1 (rolled back). */
static int
keep(struct hub_peering *p, const struct hub_peer *row,
    struct hub_share_in *in, const char *remote, uint64_t *nnew,
    uint64_t *nupd)
{
	struct hub_store *st = p->st;
	char actor[HUB_PEER_NAME_MAX + 8], target[48], res[64];
	size_t i;
	int is_new;

	*nnew = *nupd = 0;
	if (st->ops->begin(st) == -1)
		return -1;
	for (i = 0; i < in->nitems; i++) {
		struct hub_shared *s = &in->items[i];

		pk_strlcpy(s->peer, row->name, sizeof(s->peer));
		if (s->origin[0] == '\0')
			pk_strlcpy(s->origin, in->origin, sizeof(s->origin));
		s->state = row->auto_approve ? HUB_SHARED_APPROVED :
		    HUB_SHARED_PENDING;
		is_new = 0;
		if (st->ops->shared_put(st, s, &is_new) == -1)
			goto fail;
		if (is_new)
			(*nnew)++;
		else
			(*nupd)++;
	}
	if (st->ops->peer_received(st, row->name, in->seq, in->nitems,
	    in->nrefused) == -1)
		goto fail;
	snprintf(actor, sizeof(actor), "peer:%s", row->name);
	snprintf(target, sizeof(target), "bundle %llu",
	    (unsigned long long)in->seq);
	snprintf(res, sizeof(res), "ok new %llu upd %llu refused %zu",
	    (unsigned long long)*nnew, (unsigned long long)*nupd,
	    in->nrefused);
	if (hub_audit(st, actor, "peer", "peer.receive", target, remote,
	    res) == -1)
		goto fail;
	if (st->ops->commit(st) == 0)
		return 0;
fail:
	(void)st->ops->rollback(st);
	return -1;
}

static void
audit_refused(struct hub_peering *p, const char *name, uint64_t seq,
    const char *remote, const char *why)
{
	char actor[HUB_PEER_NAME_MAX + 8], target[48], res[64];

	snprintf(actor, sizeof(actor), "peer:%s", name);
	snprintf(target, sizeof(target), "bundle %llu",
	    (unsigned long long)seq);
	snprintf(res, sizeof(res), "refused: %s", why);
	(void)hub_audit(p->st, actor, "peer", "peer.receive", target, remote,
	    res);
}

/* A bundle from peer s (docs/peering.md, "The exchange"). */
static void
receive(struct hub_peering *p, struct peer_st *s, struct evhttp_request *req,
    const char *remote)
{
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	struct hub_share_limits lim;
	struct hub_share_in in;
	struct hub_peer row;
	const char *hs, *body, *e;
	char err[256], msg[300];
	uint64_t hseq, nnew, nupd;
	size_t len = evbuffer_get_length(b);
	int found = 0;
	json_t *ans;

	if (len > p->max_bytes) {
		p->k.bundles_refused_in++;
		reply_error(req, 413, "bundle over max_bundle_bytes");
		return;
	}
	memset(&row, 0, sizeof(row));
	if (p->st->ops->peer_get(p->st, s->name, copy_row, &row, &found) ==
	    -1) {
		reply_error(req, 500, "store error");
		return;
	}
	if (!found || !row.enabled) {
		reply_error(req, 403, "not an enabled peer");
		return;
	}
	lim.max_bytes = p->max_bytes;
	lim.max_objects = p->max_objects;
	lim.accept_tlp = row.accept_tlp;
	body = len > 0 ? (const char *)evbuffer_pullup(b, -1) : "";
	memset(&in, 0, sizeof(in));
	err[0] = '\0';
	if (hub_share_parse(body != NULL ? body : "", len, &lim,
	    (int64_t)pk_now_us(), &in, err, sizeof(err)) == -1) {
		p->k.bundles_refused_in++;
		log_warnx("peer %s: bundle refused: %s", s->name, err);
		audit_refused(p, s->name, 0, remote, err);
		reply_error(req, 400, err[0] ? err : "bundle refused");
		return;
	}
	hs = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-Picket-Sequence");
	e = NULL;
	if (in.seq == 0)
		e = "sequence 0: they start at 1";
	else if (hs != NULL && (pk_parse_u64(hs, 1, UINT64_MAX, &hseq,
	    &e) == -1 || hseq != in.seq))
		e = "X-Picket-Sequence is not the bundle's x_picket_sequence";
	else if (in.seq > row.recv_seq + 1)
		e = "sequence skips ahead";
	if (e != NULL) {
		p->k.bundles_refused_in++;
		snprintf(msg, sizeof(msg), "%s (bundle %llu; the next is %llu)",
		    e, (unsigned long long)in.seq,
		    (unsigned long long)row.recv_seq + 1);
		log_warnx("peer %s: %s", s->name, msg);
		audit_refused(p, s->name, in.seq, remote, e);
		hub_share_in_free(&in);
		reply_error(req, 400, msg);
		return;
	}
	if (in.seq <= row.recv_seq) {
		/* Our 200 was lost: the sender tries again.  Nothing new. */
		p->k.bundles_duplicate++;
		log_debug("peer %s: bundle %llu again", s->name,
		    (unsigned long long)in.seq);
		reply(req, 200, json_pack("{s:I,s:b}", "sequence",
		    (json_int_t)in.seq, "duplicate", 1));
		hub_share_in_free(&in);
		return;
	}
	if (keep(p, &row, &in, remote, &nnew, &nupd) == -1) {
		log_warnx("peer %s: bundle %llu not stored", s->name,
		    (unsigned long long)in.seq);
		hub_share_in_free(&in);
		reply_error(req, 500, "store error");
		return;
	}
	p->k.bundles_received++;
	p->k.objects_refused += in.nrefused;
	p->k.shared_new += nnew;
	p->k.shared_updated += nupd;
	log_info("peer %s: bundle %llu: %llu new, %llu updated, %zu refused",
	    s->name, (unsigned long long)in.seq, (unsigned long long)nnew,
	    (unsigned long long)nupd, in.nrefused);
	ans = hub_share_answer(&in, nnew, nupd);
	hub_share_in_free(&in);
	if (ans == NULL)
		reply_error(req, 500, "out of memory");
	else
		reply(req, 200, ans);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct hub_peering *p = arg;
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	struct evhttp_connection *ec = evhttp_request_get_connection(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	struct peer_st *s;
	char remote[ADDR_MAX + 8], *addr = NULL;
	ev_uint16_t port = 0;
	int ambiguous;

	pk_strlcpy(remote, "unknown", sizeof(remote));
	if (ec != NULL) {
		evhttp_connection_get_peer(ec, &addr, &port);
		if (addr != NULL)
			snprintf(remote, sizeof(remote), "%.*s", ADDR_MAX,
			    addr);
	}
	if (path == NULL || strcmp(path, PEER_PATH) != 0) {
		reply_error(req, 404, "no such endpoint");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "POST");
		reply_error(req, 405, "POST only");
		return;
	}
	if ((s = peer_of(p, req, &ambiguous)) == NULL) {
		log_warnx("peering: %s: %s", remote, ambiguous ?
		    "its CA is pinned for more than one peer: refused" :
		    "not verified by an enabled peer's CA");
		reply_error(req, 403, ambiguous ? "CA of several peers" :
		    "not a peer");
		return;
	}
	receive(p, s, req, remote);
}

static int
listen_start(struct hub_peering *p, const char *addr)
{
	struct evhttp_bound_socket *bs;
	int fd;

	if ((p->http = evhttp_new(p->base)) == NULL) {
		log_warnx("peering: evhttp_new failed");
		return -1;
	}
	evhttp_set_bevcb(p->http, make_bev, p);
	evhttp_set_gencb(p->http, on_request, p);
	evhttp_set_max_body_size(p->http, (ev_ssize_t)p->max_bytes);
	/* A body over the limit is read to its end (and dropped) before the
	 * 413, so a sender that writes it all first reads the answer rather
	 * than a reset. */
	(void)evhttp_set_flags(p->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_max_headers_size(p->http, HEADERS_MAX);
	evhttp_set_timeout(p->http, SERVE_TIMEOUT_S);
	/* Every method reaches on_request, which answers 405 itself. */
	evhttp_set_allowed_methods(p->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	if ((fd = hub_listen_on(addr)) == -1)
		return -1;
	/* evhttp owns fd from here. */
	if ((bs = evhttp_accept_socket_with_handle(p->http, fd)) == NULL) {
		log_warnx("peering: cannot accept on %s", addr);
		evutil_closesocket(fd);
		return -1;
	}
	return hub_conncap_start(&p->cap, p->base, bs, p->max_conns,
	    "peering", "[peering] max_connections");
}

/* ------------------------------------------------------------ life */

struct hub_peering *
hub_peering_new(const struct hub_config *c, struct hub_store *st,
    struct event_base *base, const struct hub_sharing *sh)
{
	struct hub_peering *p;
	struct timeval rt = { REFRESH_S, 0 }, pt = { 0, 0 };
	char err[PK_TLS_ERRLEN];

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("peering");
		return NULL;
	}
	p->base = base;
	p->st = st;
	p->sh = sh;
	pk_strlcpy(p->cert, c->peering_cert[0] ? c->peering_cert :
	    c->tls_cert, sizeof(p->cert));
	pk_strlcpy(p->key, c->peering_key[0] ? c->peering_key : c->tls_key,
	    sizeof(p->key));
	p->push_interval = c->peering_push_interval > 0 ?
	    c->peering_push_interval : 30;
	p->max_bytes = c->peering_max_bundle_bytes > 0 ?
	    c->peering_max_bundle_bytes : 4u << 20;
	p->max_objects = c->peering_max_bundle_objects > 1 ?
	    c->peering_max_bundle_objects : 5000;
	p->max_conns = c->peering_max_connections > 0 ?
	    c->peering_max_connections : 64;
	if (c->peering_listen[0] != '\0') {
		/* The files are checked now, not at the first peer. */
		struct pk_tls_ctx *probe = pk_tls_peer_server_ctx_new(p->cert,
		    p->key, NULL, NULL, 0, err, sizeof(err));

		if (probe == NULL) {
			log_warnx("[peering] TLS: %s", err);
			hub_peering_free(p);
			return NULL;
		}
		pk_tls_ctx_free(probe);
		if (listen_start(p, c->peering_listen) == -1) {
			hub_peering_free(p);
			return NULL;
		}
	}
	refresh(p);
	pt.tv_sec = (time_t)p->push_interval;
	if ((p->refresh_ev = event_new(base, -1, EV_PERSIST, refresh_cb,
	    p)) == NULL || event_add(p->refresh_ev, &rt) == -1 ||
	    (p->push_ev = event_new(base, -1, EV_PERSIST, push_cb, p)) ==
	    NULL || event_add(p->push_ev, &pt) == -1) {
		log_warnx("peering: timers");
		hub_peering_free(p);
		return NULL;
	}
	event_active(p->push_ev, EV_TIMEOUT, 1);	/* at start too */
	if (c->peering_listen[0] != '\0')
		log_info("peering listening on %s", c->peering_listen);
	log_info("peering: %zu peer(s), push every %llus", p->npeers,
	    (unsigned long long)p->push_interval);
	return p;
}

void
hub_peering_free(struct hub_peering *p)
{
	size_t i;

	if (p == NULL)
		return;
	if (p->refresh_ev != NULL)
		event_free(p->refresh_ev);
	if (p->push_ev != NULL)
		event_free(p->push_ev);
	for (i = 0; i < p->npeers; i++)
		peer_free(p->peers[i]);
	hub_conncap_stop(&p->cap);	/* before evhttp closes its fd */
	if (p->http != NULL)
		evhttp_free(p->http);
	if (p->dns != NULL)
		evdns_base_free(p->dns, 0);
	pk_tls_ctx_free(p->srv);
	free(p->trust);
	free(p);
}

const struct hub_peering_stats *
hub_peering_stats(const struct hub_peering *p)
{
	return &p->k;
}

const struct hub_conncap *
hub_peering_conncap(const struct hub_peering *p)
{
	return &p->cap;
}

void
hub_peering_print(const struct hub_peering *p, FILE *fp)
{
	const struct hub_peering_stats *k = &p->k;

	fprintf(fp, "peering_peers %zu\npeering_bundles_sent %llu\n"
	    "peering_bundles_refused %llu\npeering_push_failures %llu\n"
	    "peering_indicators_sent %llu\npeering_rows_filtered %llu\n"
	    "peering_values_redacted %llu\npeering_bundles_received %llu\n"
	    "peering_bundles_duplicate %llu\npeering_bundles_refused_in %llu\n"
	    "peering_objects_refused %llu\npeering_shared_new %llu\n"
	    "peering_shared_updated %llu\npeering_handshakes_refused %llu\n"
	    "peering_excerpts_sent %llu\npeering_excerpts_withheld %llu\n"
	    "peering_connections %llu\npeering_connections_refused %llu\n"
	    "peering_accept_errors %llu\n",
	    p->npeers, (unsigned long long)k->bundles_sent,
	    (unsigned long long)k->bundles_refused,
	    (unsigned long long)k->push_failures,
	    (unsigned long long)k->indicators_sent,
	    (unsigned long long)k->rows_filtered,
	    (unsigned long long)k->values_redacted,
	    (unsigned long long)k->bundles_received,
	    (unsigned long long)k->bundles_duplicate,
	    (unsigned long long)k->bundles_refused_in,
	    (unsigned long long)k->objects_refused,
	    (unsigned long long)k->shared_new,
	    (unsigned long long)k->shared_updated,
	    (unsigned long long)k->handshakes_refused,
	    (unsigned long long)k->excerpts_sent,
	    (unsigned long long)k->excerpts_withheld,
	    (unsigned long long)p->cap.conns,
	    (unsigned long long)p->cap.refused,
	    (unsigned long long)p->cap.accept_errors);
}
