/*
 * conncap.h - a bound on the TLS connections one of the hub's evhttp
 * servers holds open (the API, hub/api.c; the peering listener,
 * hub/peering.c).  libevent 2.1 has no connection limit for evhttp and
 * no callback when evhttp frees a connection, so the count is kept on
 * each connection's SSL (an ex_data slot whose free callback uncounts
 * it).  At the cap evhttp's listener is paused and a plain event on the
 * same socket accepts and closes what comes, before TLS starts, so a
 * flood costs a descriptor for microseconds; counted, logged at most once
 * a minute.  accept() failing (out of descriptors) pauses accepting for
 * 100 ms instead of letting libevent retry at full speed; counted, logged
 * at most once a second.
 */
#ifndef PICKET_HUB_CONNCAP_H
#define PICKET_HUB_CONNCAP_H

#include <stdint.h>

struct event;
struct event_base;
struct evconnlistener;
struct evhttp_bound_socket;
struct ssl_st;

struct hub_conncap {
	const char		*name;		/* "api": log lines */
	const char		*setting;	/* "[api] max_connections" */
	struct event_base	*base;
	struct evconnlistener	*lev;		/* evhttp's, not ours */
	struct event		*refuse;	/* accept-and-close at the cap */
	struct event		*resume;	/* after accept() failed */
	uint64_t		 max;
	uint64_t		 conns;		/* open now */
	uint64_t		 refused;	/* closed at once: at the cap */
	uint64_t		 accept_errors;
	uint64_t		 refused_logged;	/* mono µs of the last line */
	uint64_t		 accept_err_logged;
	int			 at_cap;
	int			 err_paused;
};

/*
 * Watch bs (evhttp_accept_socket_with_handle's) with at most max (>= 1)
 * connections open.  name and setting are for log lines and must
 * outlive cc.  0, or -1 (logged).
 */
int	hub_conncap_start(struct hub_conncap *cc, struct event_base *base,
	    struct evhttp_bound_socket *bs, uint64_t max, const char *name,
	    const char *setting);
/*
 * Count the connection ssl will carry: from evhttp's bufferevent
 * callback, once ssl exists.  Freeing ssl uncounts it.  After the
 * bufferevent is made, hub_conncap_check() pauses the listener when this
 * one filled the cap.
 */
void	hub_conncap_count(struct hub_conncap *cc, struct ssl_st *ssl);
void	hub_conncap_check(struct hub_conncap *cc);
/*
 * Stop: before evhttp_free() closes the socket.  SSLs freed later (libevent
 * frees them from finalizers, even in event_base_free) count nothing.
 */
void	hub_conncap_stop(struct hub_conncap *cc);

#endif
