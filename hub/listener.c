/*
 * listener.c - the hub's agent listener (see listener.h; the protocol is
 * docs/protocol.md, running it is docs/hub.md).  One thread, one libevent
 * event_base shared with the HTTPS API (hub/api.c): the listening socket
 * and every connection have an event for their fd, re-armed with what the
 * connection waits for after each step, and an evtimer for their next
 * deadline (handshake/HELLO limit, heartbeat, silence, close grace).
 * A connection goes
 * HANDSHAKE (TLS) -> HELLO (waiting for the agent's first frame) -> READY
 * (BATCH / HEARTBEAT) and ends in CLOSING (an ERROR queued, flushing for a
 * moment) or is dropped at once.  Why it is shaped like this:
 *
 * - Every agent byte is hostile.  Before HELLO the frame decoder has only
 *   a HELLO-sized buffer, so an unauthenticated peer costs ~7 KiB; the
 *   max_frame buffer is allocated after WELCOME.  Any bad frame is one
 *   ERROR and a close of that connection only.
 * - Output is bounded (OUT_CAP).  Every frame we send in answer is small,
 *   and we stop decoding an agent's input while its output buffer has no
 *   room for one more answer, so an agent that does not read cannot make
 *   the hub buffer without limit: its socket simply stops being read.
 * - Group commit.  A batch is stored synchronously (hub_ingest_batch),
 *   but into the group's open transaction, and its ACK is queued *held*:
 *   behind c->hold_at, which conn_flush does not pass.  The group commits
 *   when the loop turn ends (group_ev, below) or at once when it is full
 *   (HUB_GROUP_BATCHES / HUB_GROUP_RECORDS); only then are the held ACKs
 *   released and sent, or, if the commit failed, thrown away and their
 *   connections closed with ERROR INTERNAL, the answer to any failed
 *   store: exactly-once needs the commit before the ACK, and one fsync
 *   per turn instead of one per batch is what lets the loop (and the API
 *   on it) breathe with a thousand agents sending.  WELCOME is held the
 *   same way (HELLO writes the host row).  A connection that closes
 *   while its ACK is held loses it: the records are stored, the agent
 *   resends them and the (agent, seq) key drops the copies.
 * - max_inflight is enforced: a BATCH that would make more than
 *   max_inflight of the agent's batches unACKed (held ACKs count) is
 *   ERROR LIMIT.  Counted per connection against the ACKs released to it,
 *   so an agent that keeps the rule is never refused (see handle_batch).
 * - Connections are never freed in the middle of a callback: conn_drop()
 *   closes the socket, deletes its events and marks the connection dead;
 *   reap() frees it when the callback ends, so no caller holds a dangling
 *   pointer and no event of a dead connection ever fires.
 * - Input TLS still holds after a burst of reads (c->again) is taken up
 *   by a zero timeout rather than at once, so the other connections get
 *   their turn first: the same fairness the poll loop had.
 * - TASK frames (hub/tasks.c) carry a specification of up to 64 KiB, far
 *   more than OUT_CAP: they wait in a per-connection queue of their own
 *   (malloc'ed only while one is pending, at most TQ_FRAMES frames and
 *   TQ_BYTES bytes), written only when out[] is empty (so never ahead of
 *   a WELCOME held for the group) and, once begun, finished before
 *   out[] goes on, since frames must not interleave.  RESULT frames go
 *   to hub/tasks.c.
 * - CONFIG frames (shared-indicator bundles, protocol version 2 only)
 *   use the same queue: the agent says what it runs (APPLIED RUNNING)
 *   right after WELCOME, and while it is not at the hub's current version
 *   it gets one CONFIG at a time (the frame hub/bundles.c made once for
 *   every agent), the next only after the APPLIED that answers it.  A
 *   version the agent refused is not offered again in that session: it
 *   would refuse it again; a new session (reconnect) tries once more.
 *
 * Called by hub/main.c only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* accept4 */
#endif
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "hub/bundles.h"
#include "hub/enroll.h"
#include "hub/listener.h"
#include "hub/tasks.h"
#include "transport/batch.h"
#include "transport/tls.h"

/* The largest HELLO payload: fixed fields and three full strings. */
#define HELLO_MAX	(PK_HELLO_MIN + PK_AGENT_VERSION_MAX + \
			 PK_AGENT_ID_MAX + PK_HOST_NAME_MAX)
#define IN_CAP		4096	/* decrypted bytes read per call */
#define OUT_CAP		2048	/* queued frames to send */
#define RENEW_ROOM	1536	/* free OUT_CAP bytes to answer a RENEW */
/* The largest frame we ever queue (an ERROR with a full message). */
#define REPLY_MAX	(PK_FRAME_HDR + PK_ERROR_MIN + PK_ERROR_MSG_MAX)
#define ACCEPT_BURST	256	/* accepts per turn: fairness to the rest */
#define READ_BURST	64	/* reads per connection per turn */
#define CLOSE_GRACE_US	(2 * PK_USEC)	/* to flush an ERROR */
#define ACCEPT_PAUSE_US	(100 * 1000)	/* after EMFILE and friends */
#define LOG_EVERY_US	PK_USEC		/* rate limit for refusal logs */
#define PEER_MAX	96	/* "[v6 address%scope]:port" */
#define MSG_MAX		200	/* ERROR messages we send */
#define TQ_FRAMES	64	/* TASK frames queued per connection */
#define TQ_BYTES	(2u * 1024u * 1024u)

/* A TASK frame waiting for its connection (tq below). */
struct tframe {
	struct tframe	*next;
	size_t		 len, off;
	int		 started;	/* bytes of it went to TLS */
	uint8_t		 b[];
};

enum conn_state { CS_HANDSHAKE, CS_HELLO, CS_READY, CS_CLOSING };

struct conn {
	struct hub_listener	*l;
	struct event		*ev;		/* fd: what conn_events() says */
	struct event		*tmr;		/* next deadline, or again */
	short			 armed;		/* EV_READ|EV_WRITE now added */
	int			 fd;
	int			 state;
	int			 dead;		/* dropped; freed by reap() */
	int			 tls_up;	/* handshake done */
	int			 tls_broken;	/* fatal TLS error: no shutdown */
	int			 hs_want;	/* POLLIN/POLLOUT */
	int			 rd_want;	/* what the read side waits for */
	int			 wr_want;	/* what the write side waits for */
	int			 again;		/* input left: no waiting */
	int			 held;		/* out[hold_at..] waits: group */
	size_t			 hold_at;
	uint32_t		 unacked;	/* BATCHes whose ACK is held */
	uint32_t		 held_batches;	/* all of them, for counters */
	uint64_t		 acked;		/* highest ACK released */
	uint64_t		 ack_held;	/* highest ACK held */
	struct pk_tls		*tls;
	struct tframe		*tq, *tq_tail;	/* TASK frames to send */
	size_t			 tq_bytes;
	uint32_t		 tq_n;
	uint16_t		 proto;		/* the session's version */
	int			 b_known;	/* APPLIED RUNNING came */
	uint64_t		 b_running, b_previous;
	int			 cfg_out;	/* a CONFIG waits for APPLIED */
	uint8_t			 cfg_op;	/* ... its op and version */
	uint64_t		 cfg_version;
	int			 b_skip_set;	/* b_skip: not offered again */
	uint64_t		 b_skip;
	char			 peer[PEER_MAX];
	char			 cn[PK_TLS_CN_MAX + 1];	/* = agent id */
	struct pk_frame_dec	 dec;
	uint8_t			*big;		/* max_frame bytes, READY */
	size_t			 big_len;	/* its mapping's length */
	uint64_t		 t_accept;	/* monotonic µs */
	uint64_t		 t_rx;		/* last byte received */
	uint64_t		 t_tx;		/* last frame queued */
	uint64_t		 t_close;	/* CLOSING: drop by then */
	size_t			 in_pos, in_len;
	size_t			 out_len;
	uint8_t			 hello[HELLO_MAX];
	uint8_t			 in[IN_CAP];
	uint8_t			 out[OUT_CAP];
};

/*
 * Two machines with one identity (a cloned disk image, a copied key):
 * each connection makes the other's look stale, so the hub sees the agent
 * come back from alternating addresses.  A roaming laptop changes address
 * once; a clone keeps flipping.  Tracked per agent id in a small table
 * (the least recently flipping entry is reused).
 */
#define CLONE_TRACK	256
#define CLONE_WINDOW_US	(600ULL * 1000000)	/* flips counted over 10 min */
#define CLONE_FLIPS	3			/* this many: report */

struct clone_track {
	char		 cn[PK_TLS_CN_MAX + 1];
	char		 addr[2][PEER_MAX];	/* the last two addresses */
	uint64_t	 first_us, last_us;	/* of the current window */
	uint32_t	 flips;			/* in this window */
	uint64_t	 total;			/* flips ever */
	uint64_t	 reported_us;
};

struct hub_listener {
	struct hub_ingest	*in;
	struct hub_tasks	*tasks;		/* NULL: no task frames */
	struct hub_bundles	*bundles;	/* NULL: no CONFIG frames */
	struct conn		*cur;		/* whose callback runs */
	struct pk_tls_ctx	*ctx;
	struct event_base	*base;
	struct event		*lev;		/* the listening socket */
	struct event		*pause_ev;	/* accept pause over */
	struct event		*group_ev;	/* end of turn: commit */
	int			 lfd;
	struct conn		**conns;
	size_t			 nconns, cap;
	size_t			 ndead;		/* dropped, not yet reaped */
	uint64_t		 max_conns;
	uint64_t		 hb_us;		/* heartbeat interval */
	uint64_t		 hs_us;		/* handshake + HELLO limit */
	uint32_t		 max_frame;
	uint32_t		 max_inflight;
	uint16_t		 hb_s;
	char			 hub_id[PK_HUB_ID_MAX + 1];
	uint64_t		 accept_pause_until;
	uint64_t		 refused_log_at;	/* last refusal logged */
	uint64_t		 refused_unlogged;
	struct hub_counters	 k;
	struct clone_track	 clones[CLONE_TRACK];
};

static const char *const we_names[HUB_WE_SLOTS] = {
	[PK_WE_PROTOCOL] = "protocol", [PK_WE_TOOLARGE] = "toolarge",
	[PK_WE_TYPE] = "type", [PK_WE_VERSION] = "version",
	[PK_WE_STATE] = "state", [PK_WE_BATCH] = "batch",
	[PK_WE_LIMIT] = "limit", [PK_WE_AUTH] = "auth",
	[PK_WE_TIMEOUT] = "timeout", [PK_WE_INTERNAL] = "internal",
	[PK_WE_SHUTDOWN] = "shutdown",
};

static const char *
we_name(uint16_t code)
{
	return code > 0 && code < HUB_WE_SLOTS ? we_names[code] : "unknown";
}

/* ------------------------------------------------------------ setup */

/* "host:port", "[v6]:port", ":port" or "*:port" (any address). */
static int
split_hostport(const char *s, char *host, size_t hcap, char *port,
    size_t pcap)
{
	const char *colon, *end;
	size_t hl;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return -1;
		hl = (size_t)(end - s - 1);
		s++;
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - s);
		if (memchr(s, ':', hl) != NULL)
			return -1;	/* a bare IPv6 address needs [] */
	}
	if (hl >= hcap || colon[1] == '\0' ||
	    pk_strlcpy(port, colon + 1, pcap) >= pcap)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (strcmp(host, "*") == 0)
		host[0] = '\0';
	return 0;
}

int
hub_listen_on(const char *addr)
{
	struct addrinfo hints, *res, *ai;
	char host[256], port[16];
	int fd = -1, on = 1, rc;

	if (split_hostport(addr, host, sizeof(host), port, sizeof(port))
	    == -1) {
		log_warnx("listen = %s: want host:port or [v6addr]:port", addr);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints,
	    &res)) != 0) {
		log_warnx("listen = %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		log_warn("listen = %s", addr);
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* The name WELCOME carries: [hub] name, else the host name. */
static void
set_hub_id(struct hub_listener *l, const char *name)
{
	char host[256];
	size_t i;

	if (name[0] == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		name = host[0] != '\0' ? host : "picket-hub";
	}
	pk_strlcpy(l->hub_id, name, sizeof(l->hub_id));
	/* The frame encoder refuses control bytes: never fail WELCOME. */
	for (i = 0; l->hub_id[i] != '\0'; i++)
		if ((unsigned char)l->hub_id[i] < 0x20 ||
		    (unsigned char)l->hub_id[i] == 0x7f)
			l->hub_id[i] = '?';
}

static void on_accept(evutil_socket_t, short, void *);

/* Agents' events go last in each turn of the loop (listener.h). */
static int
agent_prio(struct event *ev)
{
	return event_priority_set(ev, HUB_PRIO_AGENTS);
}
static void on_pause_over(evutil_socket_t, short, void *);
static void on_group(evutil_socket_t, short, void *);

struct hub_listener *
hub_listener_new(const struct hub_config *c, struct hub_ingest *in,
    struct event_base *base)
{
	struct pk_tls_server_opts o;
	struct hub_listener *l;
	char err[PK_TLS_ERRLEN];

	if (c->tls_ca[0] == '\0' || c->tls_cert[0] == '\0' ||
	    c->tls_key[0] == '\0') {
		log_warnx("[tls] ca, cert and key are required to serve");
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("listener");
		return NULL;
	}
	l->in = in;
	l->base = base;
	l->lfd = -1;
	l->max_conns = c->max_connections;
	l->hb_s = (uint16_t)c->heartbeat;
	l->hb_us = c->heartbeat * PK_USEC;
	l->hs_us = c->handshake_timeout * PK_USEC;
	l->max_frame = (uint32_t)c->max_frame;
	l->max_inflight = (uint32_t)c->max_inflight;
	set_hub_id(l, c->name);
	memset(&o, 0, sizeof(o));
	o.ca_file = c->tls_ca;
	o.cert_file = c->tls_cert;
	o.key_file = c->tls_key;
	o.crl_file = c->tls_crl[0] != '\0' ? c->tls_crl : NULL;
	if ((l->ctx = pk_tls_server_ctx_new(&o, err, sizeof(err))) == NULL) {
		log_warnx("TLS: %s", err);
		hub_listener_free(l);
		return NULL;
	}
	if ((l->lfd = hub_listen_on(c->listen)) == -1) {
		hub_listener_free(l);
		return NULL;
	}
	l->lev = event_new(base, l->lfd, EV_READ | EV_PERSIST, on_accept, l);
	l->pause_ev = evtimer_new(base, on_pause_over, l);
	l->group_ev = event_new(base, -1, 0, on_group, l);
	if (l->lev == NULL || l->pause_ev == NULL || l->group_ev == NULL ||
	    agent_prio(l->lev) == -1 || agent_prio(l->pause_ev) == -1 ||
	    agent_prio(l->group_ev) == -1 || event_add(l->lev, NULL) == -1) {
		log_warnx("listener: cannot make events");
		hub_listener_free(l);
		return NULL;
	}
	return l;
}

/* ------------------------------------------------------------ closing */

static const char *
conn_who(const struct conn *c)
{
	return c->cn[0] != '\0' ? c->cn : "-";
}

/* Free queued TASK frames; keep_started keeps one half-written. */
static void
tq_clear(struct conn *c, int keep_started)
{
	struct tframe *f, *next;

	f = c->tq;
	if (keep_started && f != NULL && f->started) {
		next = f->next;
		f->next = NULL;
		c->tq_tail = f;
		c->tq_n = 1;
		c->tq_bytes = f->len;
		f = next;
	} else {
		c->tq = c->tq_tail = NULL;
		c->tq_n = 0;
		c->tq_bytes = 0;
	}
	for (; f != NULL; f = next) {
		next = f->next;
		free(f);
	}
}

/*
 * A READY connection's frame buffer ([hub] max_frame, 1 MiB by default)
 * is its own anonymous mapping: untouched it costs no memory, and after a
 * large frame (a BATCH) its pages are given back, so an agent idle
 * between batches holds a page of it, not the size of its last batch.
 * Thousands of idle agents are what a hub mostly holds (docs/hub.md).
 */
#define BIG_TRIM	(64 * 1024)	/* frames from this size give back */

static int
big_new(struct hub_listener *l, struct conn *c)
{
	void *p = mmap(NULL, l->max_frame, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	c->big = p;
	c->big_len = l->max_frame;
	return 0;
}

static void
big_free(struct hub_listener *l, struct conn *c)
{
	(void)l;
	if (c->big != NULL)
		(void)munmap(c->big, c->big_len);
	c->big = NULL;
	c->big_len = 0;
}

/* After a frame of len bytes was handled (its payload is no longer
 * used): give its pages back when it was large. */
static void
big_trim(struct conn *c, size_t len)
{
	if (c->big != NULL && len >= BIG_TRIM)
		(void)madvise(c->big, PK_MIN(len, c->big_len),
		    MADV_DONTNEED);
}

/* Close now: close_notify if TLS is healthy, socket, buffers. */
static void
conn_drop(struct hub_listener *l, struct conn *c)
{
	if (c->dead)
		return;
	if (c->tls != NULL) {
		if (c->tls_up && !c->tls_broken)
			(void)pk_tls_shutdown(c->tls);
		pk_tls_free(c->tls);
		c->tls = NULL;
	}
	if (c->ev != NULL)
		event_del(c->ev);
	if (c->tmr != NULL)
		event_del(c->tmr);
	c->armed = 0;
	close(c->fd);
	c->fd = -1;
	big_free(l, c);
	tq_clear(c, 0);
	c->dead = 1;
	l->ndead++;
	l->k.active--;
}

/* Free dropped connections; keep the live ones in order. */
static void
conn_free(struct conn *c)
{
	if (c->ev != NULL)
		event_free(c->ev);
	if (c->tmr != NULL)
		event_free(c->tmr);
	free(c);
}

static void
reap(struct hub_listener *l)
{
	size_t i, j = 0;

	if (l->ndead == 0)
		return;
	for (i = 0; i < l->nconns; i++) {
		if (l->conns[i]->dead)
			conn_free(l->conns[i]);
		else
			l->conns[j++] = l->conns[i];
	}
	l->nconns = j;
	l->ndead = 0;
}

/* ------------------------------------------------------------ output */

static size_t
out_room(const struct conn *c)
{
	return OUT_CAP - c->out_len;
}

/* Bytes that may be sent now: not those held for the group's commit. */
static size_t
out_ready(const struct conn *c)
{
	return c->held ? c->hold_at : c->out_len;
}

/* May the head TASK frame be written now?  Not ahead of out[] (a
 * WELCOME held for the group may be there), but once begun, first. */
static int
tq_ready(const struct conn *c)
{
	return c->tq != NULL && (c->tq->started || c->out_len == 0);
}

/* What is queued from now on waits for the open group's commit. */
static void
hold(struct conn *c)
{
	if (c->held)
		return;
	c->held = 1;
	c->hold_at = c->out_len;
}

/* Account for a frame an encoder just wrote at c->out + c->out_len. */
static void
queued(struct hub_listener *l, struct conn *c, int rc, size_t n,
    uint64_t now)
{
	if (rc != PK_FE_OK) {
		/* Our own fields are in range: this is a bug, say so. */
		log_warnx("%s [%s]: cannot encode a frame: %s", c->peer,
		    conn_who(c), pk_frame_strerror(rc));
		return;
	}
	c->out_len += n;
	c->t_tx = now;
	l->k.frames_out++;
}

/* Send what is queued.  0 (sent or waiting), -1 dropped. */
static int
conn_flush(struct hub_listener *l, struct conn *c)
{
	struct tframe *f;
	long n;

	for (;;) {
		if (tq_ready(c)) {
			f = c->tq;
			f->started = 1;
			n = pk_tls_write(c->tls, f->b + f->off, f->len - f->off);
			if (n > 0) {
				f->off += (size_t)n;
				l->k.bytes_out += (uint64_t)n;
				if (f->off == f->len) {
					c->tq = f->next;
					if (c->tq == NULL)
						c->tq_tail = NULL;
					c->tq_n--;
					c->tq_bytes -= f->len;
					free(f);
				}
				continue;
			}
		} else if (out_ready(c) > 0) {
			n = pk_tls_write(c->tls, c->out, out_ready(c));
		} else {
			break;
		}
		if (n > 0) {
			memmove(c->out, c->out + n, c->out_len - (size_t)n);
			c->out_len -= (size_t)n;
			if (c->held)
				c->hold_at -= (size_t)n;
			l->k.bytes_out += (uint64_t)n;
			continue;
		}
		if (n == PK_TLS_WANT_WRITE || n == PK_TLS_WANT_READ) {
			c->wr_want = n == PK_TLS_WANT_WRITE ? POLLOUT : POLLIN;
			return 0;
		}
		c->tls_broken = 1;
		if (c->state != CS_CLOSING) {
			l->k.peer_closed++;
			log_info("%s [%s]: write failed: %s", c->peer,
			    conn_who(c), pk_tls_error(c->tls));
		}
		conn_drop(l, c);
		return -1;
	}
	return 0;
}

/*
 * Send ERROR code (best effort: when TLS is up and there is room) and
 * close once it is flushed.  Counted per code.  Always -1, so that frame
 * handlers can `return conn_fail(...)`.
 */
static int conn_fail(struct hub_listener *, struct conn *, uint16_t,
    const char *, ...) PK_PRINTF(4, 5);

static int
conn_fail(struct hub_listener *l, struct conn *c, uint16_t code,
    const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;
	size_t n;
	int rc;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code > 0 && code < HUB_WE_SLOTS)
		l->k.closed_by_error[code]++;
	if (code == PK_WE_SHUTDOWN)
		log_debug("%s [%s]: ERROR %s: %s", c->peer, conn_who(c),
		    we_name(code), msg);
	else
		log_warnx("%s [%s]: ERROR %s: %s", c->peer, conn_who(c),
		    we_name(code), msg);
	if (c->tls_up && !c->tls_broken && out_room(c) >= REPLY_MAX) {
		rc = pk_error_encode(code, msg, c->out + c->out_len,
		    out_room(c), &n);
		queued(l, c, rc, n, pk_mono_us());
	}
	tq_clear(c, 1);		/* a half-written frame goes first */
	c->state = CS_CLOSING;
	c->t_close = pk_mono_us() + CLOSE_GRACE_US;
	return -1;
}

/* Flush; a CLOSING connection with nothing left to send is dropped. */
static void
conn_settle(struct hub_listener *l, struct conn *c)
{
	if (c->dead || conn_flush(l, c) == -1)
		return;
	if (c->state == CS_CLOSING && c->out_len == 0 && c->tq == NULL)
		conn_drop(l, c);
}

/* The agent closed (close_notify, EOF, reset). */
static void
peer_gone(struct hub_listener *l, struct conn *c, const char *why)
{
	l->k.peer_closed++;
	if (pk_frame_dec_eof(&c->dec) == -1) {
		l->k.truncated++;
		log_info("%s [%s]: closed inside a frame: %s", c->peer,
		    conn_who(c), why);
	} else {
		log_info("%s [%s]: closed: %s", c->peer, conn_who(c), why);
	}
	conn_drop(l, c);
}

/* ------------------------------------------------------------ frames */

/* "[v6]:port" or "v4:port" -> the address part. */
static void
peer_addr(const char *peer, char *out, size_t cap)
{
	const char *colon = strrchr(peer, ':');
	size_t n = colon != NULL ? (size_t)(colon - peer) : strlen(peer);

	if (n >= cap)
		n = cap - 1;
	memcpy(out, peer, n);
	out[n] = '\0';
}

static struct clone_track *
clone_slot(struct hub_listener *l, const char *cn)
{
	struct clone_track *t, *old = &l->clones[0];
	size_t i;

	for (i = 0; i < CLONE_TRACK; i++) {
		t = &l->clones[i];
		if (strcmp(t->cn, cn) == 0)
			return t;
		if (t->last_us < old->last_us)
			old = t;
	}
	memset(old, 0, sizeof(*old));
	pk_strlcpy(old->cn, cn, sizeof(old->cn));
	return old;
}

/*
 * Agent cn, connected from oldp, is connecting again from newp while the
 * old connection is still up.  From another address, that is a flip.
 */
static void
clone_check(struct hub_listener *l, const char *cn, const char *oldp,
    const char *newp, uint64_t now)
{
	char a[PEER_MAX], b[PEER_MAX];
	struct clone_track *t;

	peer_addr(oldp, a, sizeof(a));
	peer_addr(newp, b, sizeof(b));
	if (strcmp(a, b) == 0)
		return;
	t = clone_slot(l, cn);
	if (t->flips == 0 || now - t->first_us > CLONE_WINDOW_US) {
		t->first_us = now;
		t->flips = 0;
	}
	t->flips++;
	t->total++;
	t->last_us = now;
	pk_strlcpy(t->addr[0], a, sizeof(t->addr[0]));
	pk_strlcpy(t->addr[1], b, sizeof(t->addr[1]));
	if (t->flips >= CLONE_FLIPS &&
	    (t->reported_us == 0 || now - t->reported_us > CLONE_WINDOW_US)) {
		t->reported_us = now;
		l->k.identity_conflicts++;
		log_warnx("agent %s: one identity keeps connecting from %s and "
		    "%s (%u times in 10 min): two machines share its "
		    "certificate (a cloned image?); revoke it and enrol each "
		    "machine", cn, a, b, t->flips);
	}
}

int
hub_listener_conflicts(const struct hub_listener *l, const char *agent_id,
    uint64_t *flips, char *addr_a, char *addr_b, size_t cap)
{
	const struct clone_track *t;
	size_t i;

	for (i = 0; i < CLONE_TRACK; i++) {
		t = &l->clones[i];
		if (t->reported_us == 0 || strcmp(t->cn, agent_id) != 0)
			continue;
		*flips = t->total;
		pk_strlcpy(addr_a, t->addr[0], cap);
		pk_strlcpy(addr_b, t->addr[1], cap);
		return 1;
	}
	return 0;
}

/* Another READY connection of the same agent is stale: the newer wins. */
static void
replace_older(struct hub_listener *l, struct conn *c)
{
	struct conn *o;
	size_t i;

	for (i = 0; i < l->nconns; i++) {
		o = l->conns[i];
		if (o == c || o->dead || o->state != CS_READY ||
		    strcmp(o->cn, c->cn) != 0)
			continue;
		log_info("agent %s connected again from %s: closing its "
		    "older connection from %s", c->cn, c->peer, o->peer);
		l->k.replaced++;
		clone_check(l, c->cn, o->peer, c->peer, pk_mono_us());
		conn_drop(l, o);
	}
}

/* ------------------------------------------------------------ group */

static void conn_arm(struct hub_listener *, struct conn *, uint64_t);

/*
 * Before a store write: open a group unless one is open, and make sure
 * it commits when this turn of the loop ends.  event_active() puts
 * group_ev at the tail of the active queue (the agents' priority), so it
 * runs after every agent callback that the same poll made ready: the
 * batches of one turn share one commit, and the ACKs wait for no timer.
 * A lower priority than the agents' would starve it for as long as any
 * agent has input (only the size bound would commit); a timer would add
 * its delay to every ACK.  The API (a higher priority) runs between turns as
 * before and waits for one commit at most.
 *
 * The API reads the store through the same SQLite connection, so a read
 * in the middle of a group sees its uncommitted rows.  That is accepted:
 * it is the same process, the rows commit within milliseconds, and only
 * a failed commit (disk full, I/O error) could show a row that then goes
 * away until the agent resends it.  API *writes* (audit, enrollment) do
 * not join the group: the store commits the group before them
 * (hub/store.h), and the ACKs still wait for group_end.
 */
static void
group_open(struct hub_listener *l)
{
	if (l->in->group)
		return;
	(void)hub_ingest_group_begin(l->in);
	event_active(l->group_ev, EV_TIMEOUT, 1);
}

/*
 * Commit the open group and release every held answer, or, when the
 * commit failed, drop them and close those connections with ERROR
 * INTERNAL.  self (may be NULL) is the connection whose callback is
 * running: it is flushed and re-armed by that callback, not here.
 */
static void
group_end(struct hub_listener *l, struct conn *self)
{
	struct conn *c;
	uint64_t now;
	size_t i;
	int rc;

	if (!l->in->group)
		return;
	rc = hub_ingest_group_commit(l->in);
	now = pk_mono_us();
	for (i = 0; i < l->nconns; i++) {
		c = l->conns[i];
		if (!c->held)
			continue;
		c->held = 0;
		c->unacked = 0;
		if (c->dead)
			continue;	/* closed while held: the ACK is lost */
		if (rc == 0) {
			c->acked = PK_MAX(c->acked, c->ack_held);
			l->k.batches += c->held_batches;
			l->k.acks += c->held_batches;
		} else {
			c->out_len = c->hold_at;
			(void)conn_fail(l, c, PK_WE_INTERNAL,
			    "store unavailable");
		}
		c->held_batches = 0;
		if (c != self) {
			conn_settle(l, c);
			conn_arm(l, c, now);
		}
	}
}

static void
on_group(evutil_socket_t fd, short what, void *arg)
{
	struct hub_listener *l = arg;

	(void)fd;
	(void)what;
	group_end(l, NULL);
	reap(l);
}

static int
handle_hello(struct hub_listener *l, struct conn *c, const struct pk_frame *f,
    uint64_t now)
{
	struct pk_hello h;
	struct pk_welcome w;
	uint64_t stored;
	uint16_t ver;
	size_t n;
	int rc;

	if ((rc = pk_hello_decode(f, &h)) != PK_FE_OK)
		return conn_fail(l, c, pk_frame_err_wire(rc), "HELLO: %s",
		    pk_frame_strerror(rc));
	if (strcmp(h.agent_id, c->cn) != 0) {
		l->k.auth_failures++;
		return conn_fail(l, c, PK_WE_AUTH, "HELLO agent_id \"%s\" is "
		    "not the certificate's \"%s\"", h.agent_id, c->cn);
	}
	/* `picket-hub agent revoke` (another process) writes the store;
	 * reading it at every HELLO makes that the next connection's
	 * answer.  Agents that never enrolled (mkcerts.sh) have no row. */
	if ((rc = hub_agent_revoked(l->in->st, c->cn)) != 0) {
		if (rc == -1)
			return conn_fail(l, c, PK_WE_INTERNAL,
			    "store unavailable");
		l->k.auth_failures++;
		return conn_fail(l, c, PK_WE_AUTH, "revoked");
	}
	ver = pk_proto_pick(h.ver_min, h.ver_max, PK_PROTO_MIN, PK_PROTO_MAX);
	if (ver == 0) {
		l->k.version_failures++;
		return conn_fail(l, c, PK_WE_VERSION, "agent speaks versions "
		    "%u..%u, hub %u..%u", h.ver_min, h.ver_max, PK_PROTO_MIN,
		    PK_PROTO_MAX);
	}
	replace_older(l, c);
	group_open(l);
	if (hub_ingest_hello(l->in, c->cn, h.host_name, h.dropped,
	    (int64_t)pk_now_us(), &stored) == -1) {
		group_end(l, c);	/* the group failed: tell the others */
		return conn_fail(l, c, PK_WE_INTERNAL, "store unavailable");
	}
	/* The host row and stored_seq are the group's until it commits. */
	hold(c);
	if (big_new(l, c) == -1)
		return conn_fail(l, c, PK_WE_INTERNAL, "out of memory");
	/* Between frames: the HELLO payload in c->hello is no longer used. */
	pk_frame_dec_init(&c->dec, c->big, l->max_frame);

	memset(&w, 0, sizeof(w));
	w.version = ver;
	w.dicts = PK_DICT_MASK & h.dicts;
	w.stored_seq = stored;
	w.server_time_us = pk_now_us();
	w.max_frame = l->max_frame;
	w.max_batch_records = l->in->lim.max_records;
	w.max_batch_bytes = l->in->lim.max_raw;
	w.max_inflight = l->max_inflight;
	w.heartbeat_s = l->hb_s;
	pk_strlcpy(w.hub_id, l->hub_id, sizeof(w.hub_id));
	rc = pk_welcome_encode(&w, c->out + c->out_len, out_room(c), &n);
	if (rc != PK_FE_OK)
		return conn_fail(l, c, PK_WE_INTERNAL, "cannot encode WELCOME");
	queued(l, c, rc, n, now);
	c->state = CS_READY;
	c->proto = ver;
	l->k.welcomes++;
	/* Tasks not final on this agent: START, queued behind WELCOME. */
	if (l->tasks != NULL)
		hub_tasks_welcome(l->tasks, (struct hub_conn *)c, c->cn);
	log_info("%s [%s]: ready: host %s, %s, protocol %u, stored_seq %llu, "
	    "next_seq %llu, oldest_seq %llu, dropped %llu", c->peer, c->cn,
	    h.host_name, h.agent_version, ver,
	    (unsigned long long)stored, (unsigned long long)h.next_seq,
	    (unsigned long long)h.oldest_seq, (unsigned long long)h.dropped);
	return 0;
}

/*
 * Why ingest refused f, for the log and the ERROR message: the BATCH
 * header's decode error, else the batch decoder's, found by the counter
 * ingest just raised.
 */
static const char *
batch_reason(const struct pk_frame *f, const uint64_t *before,
    const struct pk_batch_stats *after)
{
	struct pk_batch_hdr b;
	const uint8_t *data;
	size_t dlen;
	int i, rc;

	if ((rc = pk_batch_decode_hdr(f, &b, &data, &dlen)) != PK_FE_OK)
		return pk_frame_strerror(rc);
	for (i = 1; i < PK_BE_NERR; i++)
		if (after->err[i] != before[i])
			return pk_batch_strerror(i);
	return "refused";
}

/*
 * Would f be one BATCH too many?  The agent counts a batch in flight
 * until an ACK >= its last seq arrives (agent/shipper.c); we count the
 * batches received since the ACKs released to this connection, except
 * those an ACK already released covers (an ACK may run ahead of a batch
 * when the seqs were settled before).  What we count is never more than
 * what the agent counted when it sent f, so an agent that keeps the rule
 * is never refused.  A header that does not decode is ingest's to refuse.
 */
static int
over_inflight(const struct hub_listener *l, const struct conn *c,
    const struct pk_frame *f, int *counts)
{
	struct pk_batch_hdr b;
	const uint8_t *data;
	size_t dlen;

	*counts = 0;
	if (pk_batch_decode_hdr(f, &b, &data, &dlen) != PK_FE_OK)
		return 0;
	*counts = b.first_seq + b.count - 1 > c->acked;
	return *counts && c->unacked >= l->max_inflight;
}

static int
handle_batch(struct hub_listener *l, struct conn *c, const struct pk_frame *f,
    uint64_t now)
{
	uint64_t before[PK_BE_NERR], ack;
	uint32_t added;
	uint16_t werr;
	size_t n;
	int rc, counts;

	if (over_inflight(l, c, f, &counts)) {
		l->k.inflight_exceeded++;
		return conn_fail(l, c, PK_WE_LIMIT, "more than max_inflight "
		    "(%u) BATCH frames without their ACK", l->max_inflight);
	}
	memcpy(before, l->in->stats.batch.err, sizeof(before));
	group_open(l);
	if (hub_ingest_batch(l->in, c->cn, f, (int64_t)pk_now_us(), &ack,
	    &added, &werr) == -1) {
		if (werr == 0 || werr >= HUB_WE_SLOTS)
			werr = PK_WE_INTERNAL;
		/* A store failure rolled the whole group back: fail its
		 * held ACKs now rather than at the end of the turn. */
		if (werr == PK_WE_INTERNAL)
			group_end(l, c);
		if (c->state == CS_CLOSING)
			return -1;
		return conn_fail(l, c, werr, "BATCH refused: %s",
		    werr == PK_WE_INTERNAL ? "store unavailable" :
		    batch_reason(f, before, &l->in->stats.batch));
	}
	hold(c);
	rc = pk_ack_encode(ack, c->out + c->out_len, out_room(c), &n);
	queued(l, c, rc, n, now);
	c->unacked += (uint32_t)counts;
	c->held_batches++;
	c->ack_held = PK_MAX(c->ack_held, ack);
	log_debug("%s [%s]: BATCH stored %u new, ACK %llu held", c->peer,
	    c->cn, added, (unsigned long long)ack);
	/* A full group commits now: its ACKs and its size stay bounded. */
	if (hub_ingest_group_full(l->in)) {
		group_end(l, c);
		if (c->state == CS_CLOSING)
			return -1;
	}
	return 0;
}

/* ERROR from the agent: it is closing; log why and close too. */
static int
peer_error(struct hub_listener *l, struct conn *c, const struct pk_frame *f)
{
	struct pk_error e;

	l->k.peer_errors++;
	if (pk_error_decode(f, &e) == PK_FE_OK)
		log_warnx("%s [%s]: agent sent ERROR %u (%s): %s", c->peer,
		    conn_who(c), e.code, we_name(e.code), e.msg);
	else
		log_warnx("%s [%s]: agent sent a malformed ERROR", c->peer,
		    conn_who(c));
	conn_drop(l, c);
	return -1;
}

/*
 * RENEW: the agent asks for a new certificate for its key
 * (docs/enrollment.md).  The answer is a CERT frame whatever the outcome;
 * only bytes that are not a request end the session.
 */
static int
handle_renew(struct hub_listener *l, struct conn *c, const struct pk_frame *f,
    uint64_t now)
{
	char msg[PK_ERROR_MSG_MAX + 1], *pem = NULL;
	const uint8_t *csr;
	size_t len, n;
	int rc, res;

	if ((rc = pk_renew_decode(f, &csr, &len)) != PK_FE_OK)
		return conn_fail(l, c, pk_frame_err_wire(rc), "RENEW: %s",
		    pk_frame_strerror(rc));
	l->k.renewals++;
	/* An agent certificate's PEM is under 1 KiB: with less room behind
	 * frames still queued, do not sign one that could not be sent. */
	if (out_room(c) < RENEW_ROOM) {
		rc = pk_cert_encode(PK_CERT_LATER, "hub busy", NULL, 0,
		    c->out + c->out_len, out_room(c), &n);
		queued(l, c, rc, n, now);
		return 0;
	}
	res = hub_enroll_renew(l->in->st, c->cn, c->peer, (const char *)csr,
	    len, (int64_t)pk_now_us(), &pem, msg, sizeof(msg));
	if (res == PK_CERT_ISSUED)
		l->k.renewed++;
	rc = pk_cert_encode((uint8_t)res, msg, pem, pem != NULL ?
	    strlen(pem) : 0, c->out + c->out_len, out_room(c), &n);
	free(pem);
	queued(l, c, rc, n, now);
	return 0;
}

/* ------------------------------------------------------------ bundles */

/* Queue what brings c to the current bundle, if anything may go now. */
static void
bundle_sync(struct hub_listener *l, struct conn *c)
{
	struct pk_config_frame cf;
	uint8_t rb[PK_FRAME_HDR + PK_CONFIG_MIN];
	const uint8_t *frame;
	uint64_t cur;
	size_t len;
	uint8_t op;

	if (l->bundles == NULL || c->dead || c->state != CS_READY ||
	    c->proto < PK_PROTO_BUNDLES || !c->b_known || c->cfg_out)
		return;
	cur = hub_bundles_version(l->bundles);
	if (c->b_running == cur || (c->b_skip_set && c->b_skip == cur))
		return;
	if (c->b_previous == cur) {
		/* What it keeps for rollback is what it should run. */
		memset(&cf, 0, sizeof(cf));
		cf.version = cur;
		cf.op = op = PK_COP_ROLLBACK;
		if (pk_config_encode(&cf, rb, sizeof(rb), &len) != PK_FE_OK)
			return;
		frame = rb;
	} else if (cur == 0) {
		return;		/* "run none" exists only as a rollback */
	} else if (hub_bundles_frame(l->bundles, &frame, &len) == -1) {
		l->k.bundle_too_big++;
		c->b_skip_set = 1;
		c->b_skip = cur;
		return;
	} else {
		op = PK_COP_APPLY;
	}
	if (hub_listener_queue(l, (struct hub_conn *)c, frame, len) == -1) {
		l->k.bundle_queue_full++;
		return;		/* tried again at its next APPLIED or change */
	}
	c->cfg_out = 1;
	c->cfg_op = op;
	c->cfg_version = cur;
	l->k.configs_sent++;
	log_debug("%s [%s]: CONFIG %s version %llu", c->peer, c->cn,
	    op == PK_COP_APPLY ? "APPLY" : "ROLLBACK",
	    (unsigned long long)cur);
}

/* Is a an answer the connection may send now?  NULL yes, else why not. */
static const char *
applied_unexpected(const struct conn *c, const struct pk_applied *a)
{
	if (a->outcome == PK_AO_RUNNING)
		return c->b_known ? "a second RUNNING report" : NULL;
	if (!c->b_known)
		return "an answer before the RUNNING report";
	if (!c->cfg_out)
		return "an answer to no CONFIG";
	if (a->version != c->cfg_version)
		return "an answer to another version";
	if ((a->outcome == PK_AO_APPLIED && c->cfg_op != PK_COP_APPLY) ||
	    (a->outcome == PK_AO_ROLLED_BACK && c->cfg_op != PK_COP_ROLLBACK))
		return "an answer to another operation";
	return NULL;
}

static void
applied_count(struct hub_listener *l, int outcome)
{
	switch (outcome) {
	case PK_AO_RUNNING:	l->k.bundle_reports++; break;
	case PK_AO_APPLIED:	l->k.applied++; break;
	case PK_AO_REFUSED:	l->k.refused++; break;
	default:		l->k.rolled_back++; break;
	}
}

/* Record the report in the turn's group (one fsync for many). */
static void
applied_store(struct hub_listener *l, struct conn *c,
    const struct pk_applied *a)
{
	struct hub_agent_bundle ab;
	struct hub_store *st = l->in->st;
	int64_t now = (int64_t)pk_now_us();

	memset(&ab, 0, sizeof(ab));
	pk_strlcpy(ab.agent_id, c->cn, sizeof(ab.agent_id));
	ab.running = a->running;
	ab.previous = a->previous;
	ab.outcome = a->outcome;
	pk_strlcpy(ab.reason, a->reason, sizeof(ab.reason));
	hub_task_reason_clean(ab.reason);
	ab.reported_us = now;
	if (a->outcome == PK_AO_APPLIED || a->outcome == PK_AO_ROLLED_BACK)
		ab.applied_us = now;
	group_open(l);
	/* The event is about the version run, or the one refused. */
	if (st->ops->agent_bundle_put(st, &ab, a->outcome == PK_AO_REFUSED ?
	    a->version : a->running) == -1) {
		l->k.bundle_store_errors++;
		log_warnx("%s [%s]: APPLIED not recorded (store)", c->peer,
		    c->cn);
	}
}

static int
handle_applied(struct hub_listener *l, struct conn *c,
    const struct pk_frame *f)
{
	struct pk_applied a;
	const char *why;
	int rc;

	if (c->proto < PK_PROTO_BUNDLES)
		return conn_fail(l, c, PK_WE_TYPE, "APPLIED needs protocol "
		    "%u, the session is %u", PK_PROTO_BUNDLES, c->proto);
	if ((rc = pk_applied_decode(f, &a)) != PK_FE_OK)
		return conn_fail(l, c, pk_frame_err_wire(rc), "APPLIED: %s",
		    pk_frame_strerror(rc));
	if ((why = applied_unexpected(c, &a)) != NULL)
		return conn_fail(l, c, PK_WE_STATE, "APPLIED: %s", why);
	applied_count(l, a.outcome);
	applied_store(l, c, &a);
	if (a.outcome == PK_AO_REFUSED) {
		c->b_skip_set = 1;
		c->b_skip = a.version;
		log_warnx("%s [%s]: bundle %llu refused: %s", c->peer, c->cn,
		    (unsigned long long)a.version, a.reason);
	}
	c->b_known = 1;
	c->cfg_out = 0;
	c->b_running = a.running;
	c->b_previous = a.previous;
	bundle_sync(l, c);
	return 0;
}

void
hub_listener_set_bundles(struct hub_listener *l, struct hub_bundles *b)
{
	l->bundles = b;
}

void
hub_listener_bundle_changed(struct hub_listener *l)
{
	size_t i, n = l->nconns;

	/* bundle_sync only queues frames: the array stays as it is. */
	for (i = 0; i < n && i < l->nconns; i++)
		bundle_sync(l, l->conns[i]);
}

/* One whole frame from the agent.  0 go on, -1 closing or dropped. */
static int
handle_frame(struct hub_listener *l, struct conn *c, const struct pk_frame *f,
    uint64_t now)
{
	uint64_t t;
	int rc;

	/* CONFIG is the hub's frame: the check below answers STATE. */
	if (f->type == PK_FT_TASK ||
	    (f->type == PK_FT_RESULT && l->tasks == NULL))
		return conn_fail(l, c, PK_WE_TYPE, "%s is reserved in v1",
		    pk_frame_type_name(f->type));
	if (!(pk_frame_dir(f->type) & PK_FDIR_AGENT))
		return conn_fail(l, c, PK_WE_STATE, "%s is not an agent's "
		    "frame", pk_frame_type_name(f->type));
	if (f->type == PK_FT_ERROR)
		return peer_error(l, c, f);
	if (c->state == CS_HELLO) {
		if (f->type != PK_FT_HELLO)
			return conn_fail(l, c, PK_WE_STATE, "%s before HELLO",
			    pk_frame_type_name(f->type));
		return handle_hello(l, c, f, now);
	}
	switch (f->type) {
	case PK_FT_BATCH:
		return handle_batch(l, c, f, now);
	case PK_FT_RENEW:
		return handle_renew(l, c, f, now);
	case PK_FT_APPLIED:
		return handle_applied(l, c, f);
	case PK_FT_RESULT:
		/* State writes join the turn's group: one fsync for many. */
		group_open(l);
		if ((rc = hub_tasks_result(l->tasks, (struct hub_conn *)c,
		    c->cn, f)) != PK_FE_OK)
			return conn_fail(l, c, pk_frame_err_wire(rc),
			    "RESULT: %s", pk_frame_strerror(rc));
		return 0;
	case PK_FT_HEARTBEAT:
		if ((rc = pk_heartbeat_decode(f, &t)) != PK_FE_OK)
			return conn_fail(l, c, pk_frame_err_wire(rc),
			    "HEARTBEAT: %s", pk_frame_strerror(rc));
		l->k.heartbeats_in++;
		return 0;
	default:	/* HELLO */
		return conn_fail(l, c, PK_WE_STATE, "second HELLO");
	}
}

/*
 * The decoder refused a header.  Before HELLO its limit is HELLO's
 * largest size, so "too large" there is really "not a HELLO": judge the
 * header against the protocol's own limit to send the documented code.
 */
static int
decode_failed(struct hub_listener *l, struct conn *c)
{
	const uint8_t *h = c->dec.hdr;
	uint32_t len;
	int err = c->dec.err, e2;

	if (c->state == CS_HELLO && err == PK_FE_TOOLARGE) {
		len = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) |
		    ((uint32_t)h[2] << 8) | h[3];
		e2 = pk_frame_check_header(h[4], h[5], len,
		    PK_FRAME_MAX_PAYLOAD);
		if (e2 != PK_FE_OK)
			err = e2;
		else if (h[4] != PK_FT_HELLO)
			return conn_fail(l, c, h[4] >= PK_FT_TASK ? PK_WE_TYPE :
			    PK_WE_STATE, "%s before HELLO",
			    pk_frame_type_name(h[4]));
		else
			return conn_fail(l, c, PK_WE_PROTOCOL, "HELLO of %u "
			    "bytes is longer than any valid one", len);
	}
	return conn_fail(l, c, pk_frame_err_wire(err), "%s (type %u, "
	    "length %u)", pk_frame_strerror(err), h[4],
	    ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) |
	    ((uint32_t)h[2] << 8) | h[3]);
}

/* ------------------------------------------------------------ input */

/*
 * Decode buffered input into frames and handle them, pausing while the
 * output has no room for one more answer.  0, or -1 closing/dropped.
 */
static int
conn_feed(struct hub_listener *l, struct conn *c, uint64_t now)
{
	struct pk_frame f;
	const uint8_t *p;
	size_t left;
	int r;

	while (c->in_pos < c->in_len) {
		if (out_room(c) < REPLY_MAX)
			return 0;
		p = c->in + c->in_pos;
		left = c->in_len - c->in_pos;
		r = pk_frame_dec_next(&c->dec, &p, &left, &f);
		c->in_pos = c->in_len - left;
		if (r == -1)
			return decode_failed(l, c);
		if (r == 1) {
			l->k.frames_in++;
			if (handle_frame(l, c, &f, now) == -1)
				return -1;
			big_trim(c, f.len);
		}
	}
	c->in_pos = c->in_len = 0;
	return 0;
}

/* Read and handle until TLS wants the socket.  0, or -1 closing. */
static int
conn_read(struct hub_listener *l, struct conn *c, uint64_t now)
{
	long n;
	int i;

	for (i = 0; i < READ_BURST; i++) {
		if (conn_feed(l, c, now) == -1)
			return -1;
		if (c->in_pos < c->in_len)
			return 0;	/* paused until the output drains */
		n = pk_tls_read(c->tls, c->in, sizeof(c->in));
		if (n > 0) {
			c->in_pos = 0;
			c->in_len = (size_t)n;
			c->t_rx = now;
			c->rd_want = POLLIN;
			l->k.bytes_in += (uint64_t)n;
			continue;
		}
		switch (n) {
		case PK_TLS_WANT_READ:
			c->rd_want = POLLIN;
			return 0;
		case PK_TLS_WANT_WRITE:
			c->rd_want = POLLOUT;
			return 0;
		case PK_TLS_CLOSED:
			peer_gone(l, c, "close_notify");
			return -1;
		default:
			c->tls_broken = 1;
			peer_gone(l, c, pk_tls_error(c->tls));
			return -1;
		}
	}
	c->again = 1;	/* TLS may hold more: come back without waiting */
	return 0;
}

/* ------------------------------------------------------------ per conn */

/* 0 handshake done, 1 waiting, -1 dropped. */
static int
conn_handshake(struct hub_listener *l, struct conn *c, uint64_t now)
{
	const char *cn;

	switch (pk_tls_handshake(c->tls)) {
	case PK_TLS_DONE:
		break;
	case PK_TLS_WANT_READ:
		c->hs_want = POLLIN;
		return 1;
	case PK_TLS_WANT_WRITE:
		c->hs_want = POLLOUT;
		return 1;
	default:
		l->k.handshake_failures++;
		c->tls_broken = 1;
		log_warnx("%s: TLS handshake failed: %s", c->peer,
		    pk_tls_error(c->tls));
		conn_drop(l, c);
		return -1;
	}
	cn = pk_tls_peer_cn(c->tls);
	pk_strlcpy(c->cn, cn != NULL ? cn : "", sizeof(c->cn));
	c->tls_up = 1;
	c->state = CS_HELLO;
	c->rd_want = POLLIN;
	c->wr_want = POLLOUT;
	c->t_rx = now;
	pk_frame_dec_init(&c->dec, c->hello, HELLO_MAX);
	log_debug("%s: TLS up, certificate CN %s", c->peer, c->cn);
	return 0;
}

static void
conn_io(struct hub_listener *l, struct conn *c, uint64_t now)
{
	c->again = 0;
	if (c->state == CS_HANDSHAKE && conn_handshake(l, c, now) != 0)
		return;
	if (conn_flush(l, c) == -1)
		return;
	if (c->state != CS_CLOSING)
		(void)conn_read(l, c, now);
	conn_settle(l, c);
	/* The flush may have made room for input we paused on. */
	if (!c->dead && c->state != CS_CLOSING && c->in_pos < c->in_len &&
	    out_room(c) >= REPLY_MAX)
		c->again = 1;
}

/* Bytes from the agent that the hub has not handled yet: in our buffer,
 * decrypted in OpenSSL, or in the socket's receive queue. */
static int
input_waits(const struct conn *c)
{
	int n = 0;

	if (c->in_pos < c->in_len || (c->tls != NULL &&
	    pk_tls_pending(c->tls) > 0))
		return 1;
	return c->fd >= 0 && ioctl(c->fd, FIONREAD, &n) == 0 && n > 0;
}

/* Timers of one connection; returns when it next needs a look. */
static uint64_t
conn_timers(struct hub_listener *l, struct conn *c, uint64_t now)
{
	uint64_t dl, beat;
	size_t n;
	int rc;

	switch (c->state) {
	case CS_HANDSHAKE:
	case CS_HELLO:
		dl = c->t_accept + l->hs_us;
		if (now < dl)
			return dl;
		l->k.timeouts++;
		if (c->state == CS_HANDSHAKE) {
			log_warnx("%s: no TLS handshake within %llus", c->peer,
			    (unsigned long long)(l->hs_us / PK_USEC));
			conn_drop(l, c);
			return UINT64_MAX;
		}
		conn_fail(l, c, PK_WE_TIMEOUT, "no HELLO within %llus",
		    (unsigned long long)(l->hs_us / PK_USEC));
		break;
	case CS_READY:
		dl = c->t_rx + 3 * l->hb_us;
		if (now >= dl && input_waits(c)) {
			/* the agent spoke; the hub has not read it yet (a
			 * backlog of batches ahead of it): not silence */
			c->t_rx = now;
			dl = now + 3 * l->hb_us;
		}
		if (now >= dl) {
			l->k.timeouts++;
			conn_fail(l, c, PK_WE_TIMEOUT, "nothing received for "
			    "%llus", (unsigned long long)(3 * l->hb_us /
			    PK_USEC));
			break;
		}
		beat = c->t_tx + l->hb_us;
		if (now >= beat && out_room(c) >= REPLY_MAX) {
			rc = pk_heartbeat_encode(pk_now_us(),
			    c->out + c->out_len, out_room(c), &n);
			queued(l, c, rc, n, now);
			l->k.heartbeats_out++;
			beat = now + l->hb_us;
		}
		conn_settle(l, c);
		return PK_MIN(dl, beat);
	default:	/* CS_CLOSING */
		if (now < c->t_close)
			return c->t_close;
		conn_drop(l, c);
		return UINT64_MAX;
	}
	conn_settle(l, c);
	return c->dead ? UINT64_MAX : c->t_close;
}

static short
conn_events(const struct conn *c)
{
	short ev = 0;

	switch (c->state) {
	case CS_HANDSHAKE:
		return (short)c->hs_want;
	case CS_CLOSING:
		return out_ready(c) > 0 || tq_ready(c) ? (short)c->wr_want : 0;
	default:
		if (out_ready(c) > 0 || tq_ready(c))
			ev |= (short)c->wr_want;
		if (out_room(c) >= REPLY_MAX)
			ev |= (short)c->rd_want;
		return ev;
	}
}

/* ------------------------------------------------------------ accept */

static void
peer_string(const struct sockaddr_storage *ss, socklen_t sl, char *out,
    size_t cap)
{
	char host[64], serv[8];

	if (getnameinfo((const struct sockaddr *)ss, sl, host, sizeof(host),
	    serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		pk_strlcpy(out, "?", cap);
		return;
	}
	if (ss->ss_family == AF_INET6)
		snprintf(out, cap, "[%s]:%s", host, serv);
	else
		snprintf(out, cap, "%s:%s", host, serv);
}

static int
grow(struct hub_listener *l)
{
	struct conn **nc;
	size_t ncap;

	if (l->nconns < l->cap)
		return 0;
	ncap = l->cap == 0 ? 64 : l->cap * 2;
	if ((nc = realloc(l->conns, ncap * sizeof(*nc))) == NULL)
		return -1;
	l->conns = nc;
	l->cap = ncap;
	return 0;
}

/* ------------------------------------------------------------ events */

static void on_conn(evutil_socket_t, short, void *);
static void on_conn_timer(evutil_socket_t, short, void *);

/* Schedule t (µs from now; 0 = at the next loop iteration). */
static void
timer_in(struct event *t, uint64_t us)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(us / PK_USEC);
	tv.tv_usec = (suseconds_t)(us % PK_USEC);
	evtimer_add(t, &tv);
}

/*
 * After every step of a connection: run its timers (as each turn of the
 * poll loop did), then wait on its fd for what conn_events() says and
 * set its timer to the next deadline, or to now when input is left over.
 */
static void
conn_arm(struct hub_listener *l, struct conn *c, uint64_t now)
{
	uint64_t dl;
	short pe, want = 0;

	if (c->dead)
		return;
	dl = conn_timers(l, c, now);
	if (c->dead)
		return;
	pe = conn_events(c);
	if (pe & POLLIN)
		want |= EV_READ;
	if (pe & POLLOUT)
		want |= EV_WRITE;
	if (want != c->armed) {
		event_del(c->ev);
		c->armed = 0;
		if (want != 0) {
			event_assign(c->ev, l->base, c->fd, want | EV_PERSIST,
			    on_conn, c);
			(void)agent_prio(c->ev);	/* assign reset it */
			if (event_add(c->ev, NULL) == 0)
				c->armed = want;
			else
				log_warnx("%s: cannot wait on the socket",
				    c->peer);
		}
	}
	if (c->again)
		timer_in(c->tmr, 0);
	else if (dl == UINT64_MAX)
		evtimer_del(c->tmr);
	else
		timer_in(c->tmr, dl > now ? dl - now : 0);
}

static void
on_conn(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct hub_listener *l = c->l;
	uint64_t now = pk_mono_us();

	(void)fd;
	(void)what;
	l->cur = c;
	if (!c->dead)
		conn_io(l, c, now);
	conn_arm(l, c, now);
	l->cur = NULL;
	reap(l);
}

static void
on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct hub_listener *l = c->l;
	uint64_t now = pk_mono_us();

	(void)fd;
	(void)what;
	l->cur = c;
	if (!c->dead && c->again)
		conn_io(l, c, now);
	conn_arm(l, c, now);
	l->cur = NULL;
	reap(l);
}

/* ------------------------------------------------------------ new conns */

static int
conn_new(struct hub_listener *l, int fd, const char *peer, uint64_t now)
{
	struct conn *c;
	char err[PK_TLS_ERRLEN];
	int on = 1;

	if (grow(l) == -1 || (c = calloc(1, sizeof(*c))) == NULL) {
		log_warnx("%s: out of memory, connection closed", peer);
		return -1;
	}
	c->l = l;
	c->fd = fd;
	if ((c->ev = event_new(l->base, fd, EV_READ | EV_PERSIST, on_conn,
	    c)) == NULL || (c->tmr = evtimer_new(l->base, on_conn_timer,
	    c)) == NULL || agent_prio(c->ev) == -1 ||
	    agent_prio(c->tmr) == -1) {
		log_warnx("%s: out of memory, connection closed", peer);
		conn_free(c);
		return -1;
	}
	/* ACK and HEARTBEAT are tiny and latency matters more. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((c->tls = pk_tls_server_new(l->ctx, fd, err, sizeof(err))) ==
	    NULL) {
		log_warnx("%s: %s", peer, err);
		conn_free(c);
		return -1;
	}
	c->state = CS_HANDSHAKE;
	c->hs_want = POLLIN;
	c->t_accept = c->t_rx = c->t_tx = now;
	pk_strlcpy(c->peer, peer, sizeof(c->peer));
	l->conns[l->nconns++] = c;
	l->k.active++;
	log_debug("%s: accepted", peer);
	conn_arm(l, c, now);
	return 0;
}

/* Refusals can come by the thousand: log at most one line a second. */
static void
refused(struct hub_listener *l, const char *peer, uint64_t now)
{
	l->k.refused_limit++;
	l->refused_unlogged++;
	if (l->refused_log_at != 0 && now - l->refused_log_at < LOG_EVERY_US)
		return;
	log_warnx("max_connections (%llu) reached: refused %llu "
	    "connection(s), latest from %s",
	    (unsigned long long)l->max_conns,
	    (unsigned long long)l->refused_unlogged, peer);
	l->refused_log_at = now;
	l->refused_unlogged = 0;
}

static void
accept_all(struct hub_listener *l, uint64_t now)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char peer[PEER_MAX];
	int i, fd;

	for (i = 0; i < ACCEPT_BURST; i++) {
		sl = sizeof(ss);
		fd = accept4(l->lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* EMFILE, ENFILE, ENOBUFS: the socket stays readable,
			 * so pause instead of spinning on it. */
			l->k.accept_errors++;
			log_warn("accept");
			event_del(l->lev);
			timer_in(l->pause_ev, ACCEPT_PAUSE_US);
			return;
		}
		l->k.accepted++;
		peer_string(&ss, sl, peer, sizeof(peer));
		if (l->nconns - l->ndead >= l->max_conns) {
			refused(l, peer, now);
			close(fd);
			continue;
		}
		if (conn_new(l, fd, peer, now) == -1)
			close(fd);
	}
}

static void
on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct hub_listener *l = arg;

	(void)fd;
	(void)what;
	reap(l);
	accept_all(l, pk_mono_us());
	reap(l);
}

static void
on_pause_over(evutil_socket_t fd, short what, void *arg)
{
	struct hub_listener *l = arg;

	(void)fd;
	(void)what;
	if (l->lfd != -1 && event_add(l->lev, NULL) == -1)
		log_warnx("listener: cannot wait on the listening socket");
}

/* ------------------------------------------------------------ stop */

static size_t
live(const struct hub_listener *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->nconns; i++)
		n += !l->conns[i]->dead;
	return n;
}

static void
on_stop_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;	/* only wakes the loop to check the time */
}

void
hub_listener_stop(struct hub_listener *l, int grace_ms)
{
	struct event *tick;
	uint64_t until;
	size_t i, told = 0;
	struct conn *c;

	if (l->lev != NULL)
		event_del(l->lev);
	evtimer_del(l->pause_ev);
	if (l->lfd != -1) {
		close(l->lfd);
		l->lfd = -1;
	}
	/* What is stored is ACKed before SHUTDOWN goes out. */
	group_end(l, NULL);
	until = pk_mono_us() + (uint64_t)grace_ms * 1000;
	for (i = 0; i < l->nconns; i++) {
		c = l->conns[i];
		if (c->dead)
			continue;
		if (c->state == CS_HANDSHAKE) {
			conn_drop(l, c);
			continue;
		}
		if (c->state != CS_CLOSING) {
			conn_fail(l, c, PK_WE_SHUTDOWN, "hub is stopping");
			told++;
		}
		c->t_close = PK_MIN(c->t_close, until);
		conn_settle(l, c);
		conn_arm(l, c, pk_mono_us());
	}
	if (told > 0)
		log_info("stopping: sent SHUTDOWN to %zu agent(s)", told);
	reap(l);
	/* Flush the ERRORs; a tick bounds every wait by 50 ms. */
	tick = event_new(l->base, -1, EV_PERSIST, on_stop_tick, NULL);
	if (tick != NULL)
		timer_in(tick, 50 * 1000);
	while (tick != NULL && live(l) > 0 && pk_mono_us() < until)
		if (event_base_loop(l->base, EVLOOP_ONCE) == -1)
			break;
	if (tick != NULL)
		event_free(tick);
	for (i = 0; i < l->nconns; i++)
		conn_drop(l, l->conns[i]);
	reap(l);
}

void
hub_listener_free(struct hub_listener *l)
{
	size_t i;

	if (l == NULL)
		return;
	/* Stored rows are kept even though their ACKs can no longer go. */
	if (l->in != NULL && l->in->group)
		(void)hub_ingest_group_commit(l->in);
	for (i = 0; i < l->nconns; i++)
		conn_drop(l, l->conns[i]);
	reap(l);
	if (l->group_ev != NULL)
		event_free(l->group_ev);
	if (l->lev != NULL)
		event_free(l->lev);
	if (l->pause_ev != NULL)
		event_free(l->pause_ev);
	if (l->lfd != -1)
		close(l->lfd);
	pk_tls_ctx_free(l->ctx);
	free(l->conns);
	free(l);
}

/* How many agents are past HELLO now (the API's agents_connected). */
size_t
hub_listener_connected(const struct hub_listener *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->nconns; i++)
		n += !l->conns[i]->dead && l->conns[i]->state == CS_READY;
	return n;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t
hub_listener_ready_ids(const struct hub_listener *l, const char ***ids)
{
	size_t i, n = 0;

	*ids = NULL;
	if (l->nconns == 0 || (*ids = calloc(l->nconns, sizeof(**ids))) ==
	    NULL)
		return 0;
	for (i = 0; i < l->nconns; i++)
		if (!l->conns[i]->dead && l->conns[i]->state == CS_READY)
			(*ids)[n++] = l->conns[i]->cn;
	qsort(*ids, n, sizeof(**ids), cmp_str);
	return n;
}

const struct hub_counters *
hub_listener_counters(const struct hub_listener *l)
{
	return &l->k;
}

/* ------------------------------------------------------------ tasks */

void
hub_listener_set_tasks(struct hub_listener *l, struct hub_tasks *t)
{
	l->tasks = t;
}

int
hub_listener_queue(struct hub_listener *l, struct hub_conn *hc,
    const uint8_t *frame, size_t len)
{
	struct conn *c = (struct conn *)hc;
	struct tframe *f;

	if (c->dead || c->state != CS_READY || len == 0 ||
	    c->tq_n >= TQ_FRAMES || c->tq_bytes + len > TQ_BYTES)
		return -1;
	if ((f = malloc(sizeof(*f) + len)) == NULL)
		return -1;
	f->next = NULL;
	f->len = len;
	f->off = 0;
	f->started = 0;
	memcpy(f->b, frame, len);
	if (c->tq_tail != NULL)
		c->tq_tail->next = f;
	else
		c->tq = f;
	c->tq_tail = f;
	c->tq_n++;
	c->tq_bytes += len;
	c->t_tx = pk_mono_us();
	l->k.frames_out++;
	/* The running callback of c re-arms it when it ends. */
	if (c != l->cur)
		conn_arm(l, c, pk_mono_us());
	return 0;
}

void
hub_listener_each_ready(struct hub_listener *l,
    int (*fn)(void *arg, const char *agent_id, struct hub_conn *c),
    void *arg)
{
	size_t i, n = l->nconns;
	struct conn *c;

	/* fn may queue frames (never accepts): the array stays as it is. */
	for (i = 0; i < n && i < l->nconns; i++) {
		c = l->conns[i];
		if (c->dead || c->state != CS_READY)
			continue;
		if (fn(arg, c->cn, (struct hub_conn *)c) != 0)
			break;
	}
}

struct hub_conn *
hub_listener_find(struct hub_listener *l, const char *agent_id)
{
	size_t i;

	for (i = 0; i < l->nconns; i++)
		if (!l->conns[i]->dead && l->conns[i]->state == CS_READY &&
		    strcmp(l->conns[i]->cn, agent_id) == 0)
			return (struct hub_conn *)l->conns[i];
	return NULL;
}

/* ------------------------------------------------------------ counters */

struct kv_buf {
	char	 b[4096];
	size_t	 off;
};

static void
kv(struct kv_buf *o, const char *prefix, const char *name, uint64_t v)
{
	int n;

	if (o->off >= sizeof(o->b))
		return;
	n = snprintf(o->b + o->off, sizeof(o->b) - o->off, "%s%s %llu\n",
	    prefix, name, (unsigned long long)v);
	if (n > 0)
		o->off = PK_MIN(o->off + (size_t)n, sizeof(o->b) - 1);
}

void
hub_counters_print(const struct hub_counters *k,
    const struct hub_ingest_stats *is, FILE *fp)
{
	struct kv_buf o;
	int i;

	o.off = 0;
	kv(&o, "", "accepted", k->accepted);
	kv(&o, "", "refused_limit", k->refused_limit);
	kv(&o, "", "accept_errors", k->accept_errors);
	kv(&o, "", "handshake_failures", k->handshake_failures);
	kv(&o, "", "timeouts", k->timeouts);
	kv(&o, "", "auth_failures", k->auth_failures);
	kv(&o, "", "version_failures", k->version_failures);
	kv(&o, "", "welcomes", k->welcomes);
	kv(&o, "", "replaced", k->replaced);
	kv(&o, "", "identity_conflicts", k->identity_conflicts);
	kv(&o, "", "peer_errors", k->peer_errors);
	kv(&o, "", "peer_closed", k->peer_closed);
	kv(&o, "", "truncated", k->truncated);
	kv(&o, "", "inflight_exceeded", k->inflight_exceeded);
	for (i = 1; i < HUB_WE_SLOTS; i++)
		kv(&o, "closed_by_error_", we_names[i],
		    k->closed_by_error[i]);
	kv(&o, "", "frames_in", k->frames_in);
	kv(&o, "", "frames_out", k->frames_out);
	kv(&o, "", "batches", k->batches);
	kv(&o, "", "acks", k->acks);
	kv(&o, "", "heartbeats_in", k->heartbeats_in);
	kv(&o, "", "heartbeats_out", k->heartbeats_out);
	kv(&o, "", "renewals", k->renewals);
	kv(&o, "", "renewed", k->renewed);
	kv(&o, "", "bytes_in", k->bytes_in);
	kv(&o, "", "bytes_out", k->bytes_out);
	kv(&o, "", "configs_sent", k->configs_sent);
	kv(&o, "", "bundle_reports", k->bundle_reports);
	kv(&o, "", "applied", k->applied);
	kv(&o, "", "refused", k->refused);
	kv(&o, "", "rolled_back", k->rolled_back);
	kv(&o, "", "bundle_too_big", k->bundle_too_big);
	kv(&o, "", "bundle_queue_full", k->bundle_queue_full);
	kv(&o, "", "bundle_store_errors", k->bundle_store_errors);
	if (is != NULL) {
		kv(&o, "ingest_", "records", is->records);
		kv(&o, "ingest_", "stored", is->stored);
		kv(&o, "ingest_", "duplicates", is->duplicates);
		kv(&o, "ingest_", "rejected", is->rejected);
		kv(&o, "ingest_", "bad_frames", is->bad_frames);
		kv(&o, "ingest_", "store_errors", is->store_errors);
		kv(&o, "ingest_", "batch_refused", is->batch.rejected);
		kv(&o, "", "group_commits", is->group_commits);
		kv(&o, "", "group_max", is->group_max);
		kv(&o, "ingest_", "shared_ref_bad", is->shared_ref_bad);
	}
	/* Last, so a reader knows the set is complete. */
	kv(&o, "", "active", k->active);
	fwrite(o.b, 1, o.off, fp);
	fflush(fp);
}
