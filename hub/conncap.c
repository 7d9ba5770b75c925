/*
 * conncap.c - at most N TLS connections open on an evhttp server (see
 * conncap.h).  Used by the API (hub/api.c) and the peering listener
 * (hub/peering.c); the agent listener (hub/listener.c) owns its sockets
 * and keeps its own count.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

/* Only for SSL ex_data: the one place libevent 2.1 lets us see an HTTP
 * connection end (see ssl_gone). */
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "hub/conncap.h"

#define REFUSE_LOG_US	(60 * PK_USEC)	/* one line a minute */
#define REFUSE_BURST	64		/* accepts per wakeup at the cap */
#define PAUSE_US	(100 * 1000)	/* after accept() failed */
#define LIVE_MAX	4		/* caps in one process at a time */

/*
 * One ex_data slot for the whole process: every SSL's free calls
 * ssl_gone, which ignores those no live cap counted.  libevent frees an
 * SSL bufferevent from a finalizer that can run late (even in
 * event_base_free, after the server is gone), hence the list of live
 * caps rather than trusting the pointer.
 */
static int conn_idx = -1;
static struct hub_conncap *live[LIVE_MAX];

static int
is_live(const struct hub_conncap *cc)
{
	size_t i;

	for (i = 0; i < LIVE_MAX; i++)
		if (cc != NULL && live[i] == cc)
			return 1;
	return 0;
}

/*
 * Which of the two watchers of the listening socket runs: evhttp's
 * listener below the cap, the refuser at it, neither while accept()
 * fails for 100 ms.
 */
static void
sync_watchers(struct hub_conncap *cc)
{
	if (cc->lev == NULL)
		return;
	if (!cc->err_paused && !cc->at_cap)
		evconnlistener_enable(cc->lev);
	else
		evconnlistener_disable(cc->lev);
	if (cc->refuse != NULL) {
		if (!cc->err_paused && cc->at_cap)
			event_add(cc->refuse, NULL);
		else
			event_del(cc->refuse);
	}
}

static void
ssl_gone(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	struct hub_conncap *cc = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (!is_live(cc))
		return;
	if (cc->conns > 0)
		cc->conns--;
	if (cc->at_cap && cc->conns < cc->max) {
		cc->at_cap = 0;
		sync_watchers(cc);
	}
}

static void
resume_accepting(evutil_socket_t fd, short what, void *arg)
{
	struct hub_conncap *cc = arg;

	(void)fd;
	(void)what;
	cc->err_paused = 0;
	sync_watchers(cc);
}

static void
accept_failed(struct hub_conncap *cc, int e)
{
	struct timeval tv = { 0, PAUSE_US };
	uint64_t now = pk_mono_us();

	cc->accept_errors++;
	if (now - cc->accept_err_logged >= PK_USEC) {
		cc->accept_err_logged = now;
		log_warnx("%s: accept: %s (%llu so far); pausing 100 ms",
		    cc->name, evutil_socket_error_to_string(e),
		    (unsigned long long)cc->accept_errors);
	}
	if (cc->resume == NULL)
		cc->resume = evtimer_new(cc->base, resume_accepting, cc);
	if (cc->resume == NULL)
		return;			/* better spin than go deaf */
	cc->err_paused = 1;
	sync_watchers(cc);
	evtimer_add(cc->resume, &tv);
}

/* The listener's error callback gets evhttp's pointer, not ours. */
static void
listener_error(struct evconnlistener *lev, void *arg)
{
	size_t i;

	(void)arg;
	for (i = 0; i < LIVE_MAX; i++)
		if (live[i] != NULL && live[i]->lev == lev) {
			accept_failed(live[i], EVUTIL_SOCKET_ERROR());
			return;
		}
}

/* At the cap: take what waits (REFUSE_BURST a turn) and close it. */
static void
refuse(evutil_socket_t fd, short what, void *arg)
{
	struct hub_conncap *cc = arg;
	uint64_t now;
	int i, s, e;

	(void)what;
	for (i = 0; i < REFUSE_BURST; i++) {
		if ((s = accept(fd, NULL, NULL)) == -1) {
			e = errno;
			if (e != EAGAIN && e != EWOULDBLOCK && e != EINTR &&
			    e != ECONNABORTED)
				accept_failed(cc, e);
			break;
		}
		close(s);
		cc->refused++;
	}
	now = pk_mono_us();
	if (cc->refused > 0 && (cc->refused_logged == 0 ||
	    now - cc->refused_logged >= REFUSE_LOG_US)) {
		cc->refused_logged = now;
		log_warnx("%s: %llu connections open, %s reached: closing new "
		    "ones at once (%llu so far)", cc->name,
		    (unsigned long long)cc->conns, cc->setting,
		    (unsigned long long)cc->refused);
	}
}

int
hub_conncap_start(struct hub_conncap *cc, struct event_base *base,
    struct evhttp_bound_socket *bs, uint64_t max, const char *name,
    const char *setting)
{
	size_t i;

	cc->name = name;
	cc->setting = setting;
	cc->base = base;
	cc->max = max > 0 ? max : 1;
	for (i = 0; i < LIVE_MAX && live[i] != NULL; i++)
		;
	if (i == LIVE_MAX) {
		log_warnx("%s: too many connection caps", name);
		return -1;
	}
	if (conn_idx < 0 && (conn_idx = SSL_get_ex_new_index(0, NULL, NULL,
	    NULL, ssl_gone)) < 0) {
		log_warnx("%s: SSL_get_ex_new_index failed", name);
		return -1;
	}
	cc->lev = evhttp_bound_socket_get_listener(bs);
	if ((cc->refuse = event_new(base, evconnlistener_get_fd(cc->lev),
	    EV_READ | EV_PERSIST, refuse, cc)) == NULL) {
		log_warnx("%s: event_new failed", name);
		cc->lev = NULL;
		return -1;
	}
	evconnlistener_set_error_cb(cc->lev, listener_error);
	live[i] = cc;
	return 0;
}

void
hub_conncap_count(struct hub_conncap *cc, struct ssl_st *ssl)
{
	/* counted from here; SSL_free (ssl_gone) uncounts it */
	if (is_live(cc) && SSL_set_ex_data(ssl, conn_idx, cc) == 1)
		cc->conns++;
}

void
hub_conncap_check(struct hub_conncap *cc)
{
	/* Full: the listener stops after this one (libevent checks). */
	if (is_live(cc) && cc->conns >= cc->max && !cc->at_cap) {
		cc->at_cap = 1;
		sync_watchers(cc);
	}
}

void
hub_conncap_stop(struct hub_conncap *cc)
{
	size_t i;

	for (i = 0; i < LIVE_MAX; i++)
		if (live[i] == cc)
			live[i] = NULL;	/* late SSL frees count nothing now */
	if (cc->lev != NULL)
		evconnlistener_set_error_cb(cc->lev, NULL);
	cc->lev = NULL;
	if (cc->resume != NULL)
		event_free(cc->resume);
	cc->resume = NULL;
	if (cc->refuse != NULL)
		event_free(cc->refuse);	/* before evhttp closes its fd */
	cc->refuse = NULL;
}
