/*
 * shipper_win32.c - spool to hub on Windows (shipper_win32.h): one thread,
 * one connection at a time, Winsock sockets in non-blocking mode (tls.c
 * wants them so: it answers WANT_READ / WANT_WRITE) waited on with
 * select() in slices of at most SHIP_SLICE_MS, so a stop request or new
 * records in the spool are seen within that slice without a wake-up
 * channel between the threads.  The rules are docs/protocol.md's, and
 * the protocol logic is agent/shipcore.c, which agent/shipper.c (Linux)
 * calls too; this file does the Winsock and TLS I/O around it:
 *
 *  - setup (TCP connect, the HTTP CONNECT through [hub] proxy when one
 *    is set, TLS 1.3 handshake with SNI, the hub's name and CA checked
 *    by tls.c, HELLO, WELCOME) under one deadline, [hub] connect_timeout;
 *  - HELLO offers versions 1..2, the agent id is the certificate's CN,
 *    next_seq / oldest_seq / dropped from the spool;
 *  - in a version 2 session, APPLIED RUNNING right after WELCOME; a
 *    CONFIG is filed and judged by agent/bundle_agent.c (pk_bship_*, as
 *    on Linux), handed to the capture thread through struct pk_wlink,
 *    which applies it between packets, and its answer goes back as
 *    APPLIED; CONFIG in a version 1 session is ERROR TYPE;
 *  - sending resumes at max(stored_seq + 1, oldest_seq); batches of
 *    consecutive records within our and WELCOME's limits (records,
 *    inflated bytes, max_frame), deflated with the preset dictionary both
 *    sides know, at most max_inflight unACKed;
 *  - spool segments are deleted only when an ACK covers them;
 *  - HEARTBEAT after heartbeat_s of sending nothing, the hub's silence
 *    or an unACKed batch past 3 x heartbeat_s ends the session;
 *  - TASK START is answered RESULT STATE refused (no targeted
 *    collection on Windows yet), CANCEL with cancelled, FORGET is a
 *    no-op;
 *  - every failure: close, wait uniform(0, min(cap, base x 2^n))
 *    (pk_backoff_ms), or between cap/2 and cap after ERROR VERSION or
 *    AUTH, and try again;
 *  - RENEW when [hub] cert nears its end (agent/renew_win32.c); an
 *    installed certificate ends the session with ERROR SHUTDOWN and the
 *    next connection, at once, uses a TLS context made anew from it;
 *  - a stop drains the spool for up to 5 s, then ERROR SHUTDOWN.
 *
 * Not here yet (docs/windows.md): tasks, the status file.
 */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bundle_agent.h"
#include "agent/renew_win32.h"
#include "agent/shipconn.h"
#include "agent/shipcore.h"
#include "agent/shipper_win32.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "transport/batch.h"
#include "transport/spool.h"
#include "transport/task.h"

#define SHIP_SLICE_MS		200	/* longest wait between looks */
#define SHIP_REPLY_MAX		16	/* RESULT answers waiting */
#define SHIP_STABLE_US		(30 * PK_USEC)
#define SHIP_DRAIN_US		(5 * PK_USEC)
#define MS			1000ULL
#define NO_TASKS_REASON	"targeted collection is not available on " \
	"Windows yet"

struct reply {
	uint64_t	id;
	uint8_t		state;
};

struct pk_wship {
	struct pk_wship_conf	 c;
	struct pk_tls_ctx	*ctx;		/* ours: remade after a renewal */
	struct pk_wrenew	 rn;
	int			 renewed;	/* this session installed one */
	struct pk_wlink		*link;
	struct pk_spool_reader	*rd;
	struct pk_wship_stats	 st;
	HANDLE			 thread;
	HANDLE			 stop_ev;	/* ends a backoff sleep */
	volatile LONG		 stop;
	uint64_t		 rng;
	int			 failed_auth;

	SOCKET			 sock;
	struct pk_shipcore	 sc;		/* the protocol (shipcore.h) */
	struct pk_shipconn	 cn;		/* its TLS I/O (shipconn.h) */
	uint64_t		 session_start;
	struct reply		 rq[SHIP_REPLY_MAX];
	unsigned		 rq_n;
	struct pk_bship		 bs;		/* bundles (bundle_agent.h) */
};

/* ------------------------------------------------------------ helpers */

static int
stopping(struct pk_wship *s)
{
	return InterlockedCompareExchange(&s->stop, 0, 0) != 0;
}

/*
 * select() on the connection for reading and/or writing, at most ms
 * (and at most one slice).  1 ready, 0 not yet, -1 error.
 */
static int
sock_wait(SOCKET sock, int rd, int wr, int ms)
{
	fd_set r, w, x;
	struct timeval tv;
	int n;

	if (ms > SHIP_SLICE_MS || ms < 0)
		ms = SHIP_SLICE_MS;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_ZERO(&x);
	if (rd)
		FD_SET(sock, &r);
	if (wr)
		FD_SET(sock, &w);
	FD_SET(sock, &x);	/* a failed non-blocking connect */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	n = select(0, &r, &w, &x, &tv);
	if (n == SOCKET_ERROR)
		return -1;
	return n > 0 ? 1 : 0;
}

/* Wait until the socket is ready or the deadline: 1, 0 deadline or
 * stop, -1 error.  Setup only: a stop ends it at once. */
static int
wait_fd(struct pk_wship *s, int rd, int wr, uint64_t deadline)
{
	int r;

	for (;;) {
		if (stopping(s) || pk_mono_us() >= deadline)
			return 0;
		if ((r = sock_wait(s->sock, rd, wr,
		    pk_sc_ms_until(deadline))) != 0)
			return r;
	}
}

/* shipconn's ops.wait: the connection's socket, as TLS asked. */
static int
conn_wait(void *arg, int rd, int wr, uint64_t deadline)
{
	return wait_fd(arg, rd, wr, deadline);
}

/* ----------------------------------------------------- connection setup */

static int
tcp_connect(struct pk_wship *s, const char *host, uint16_t port,
    uint64_t deadline, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[8];
	u_long nb = 1;
	int rc, soerr;
	int sl;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(why, whylen, "resolve %s: error %d", host, rc);
		return -1;
	}
	snprintf(why, whylen, "%s:%u: no address", host, port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		s->sock = socket(ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol);
		if (s->sock == INVALID_SOCKET) {
			snprintf(why, whylen, "socket: error %d",
			    WSAGetLastError());
			continue;
		}
		/* tls.c hands the socket to OpenSSL as an int (SSL_set_fd),
		 * which OpenSSL turns back into a SOCKET: handles are small
		 * numbers in practice; refuse one that would not survive. */
		if ((UINT_PTR)s->sock > (UINT_PTR)INT_MAX ||
		    ioctlsocket(s->sock, FIONBIO, &nb) != 0) {
			snprintf(why, whylen, "socket: unusable handle");
			goto next;
		}
		if (connect(s->sock, ai->ai_addr, (int)ai->ai_addrlen) == 0)
			break;
		if (WSAGetLastError() == WSAEWOULDBLOCK &&
		    (rc = wait_fd(s, 0, 1, deadline)) == 1) {
			sl = sizeof(soerr);
			soerr = 0;
			if (getsockopt(s->sock, SOL_SOCKET, SO_ERROR,
			    (char *)&soerr, &sl) == 0 && soerr == 0)
				break;
			snprintf(why, whylen, "connect %s:%u: error %d",
			    host, port, soerr);
		} else
			snprintf(why, whylen, "connect %s:%u: %s", host,
			    port, stopping(s) ? "stopping" :
			    "timed out or failed");
next:
		closesocket(s->sock);
		s->sock = INVALID_SOCKET;
		if (stopping(s) || pk_mono_us() >= deadline)
			break;
	}
	freeaddrinfo(res);
	return s->sock == INVALID_SOCKET ? -1 : 0;
}

/*
 * HTTP CONNECT through [hub] proxy, as agent/shipper.c does it: the
 * response header read a byte at a time, so that nothing after it (the
 * hub's TLS bytes) is consumed, at most PK_SC_PROXY_MAX bytes, under the
 * setup's deadline.
 */
static int
proxy_tunnel(struct pk_wship *s, uint64_t deadline, char *why,
    size_t whylen)
{
	char req[2 * PK_WSHIP_HOST_MAX + 128], resp[PK_SC_PROXY_MAX + 1];
	size_t have = 0;
	int n, w, off = 0;

	if ((w = pk_sc_proxy_request(s->c.host, s->c.port, req,
	    sizeof(req))) < 0) {
		snprintf(why, whylen, "proxy: cannot send CONNECT");
		return -1;
	}
	while (off < w) {
		if ((n = send(s->sock, req + off, w - off, 0)) > 0)
			off += n;
		else if (WSAGetLastError() != WSAEWOULDBLOCK ||
		    wait_fd(s, 0, 1, deadline) != 1) {
			snprintf(why, whylen, "proxy: cannot send CONNECT");
			return -1;
		}
	}
	while (have < PK_SC_PROXY_MAX) {
		if ((n = recv(s->sock, resp + have, 1, 0)) == 1) {
			have++;
			if (have >= 4 && memcmp(resp + have - 4, "\r\n\r\n",
			    4) == 0)
				break;
			continue;
		}
		if (n == 0) {
			snprintf(why, whylen, "proxy closed the connection");
			return -1;
		}
		if (WSAGetLastError() != WSAEWOULDBLOCK) {
			snprintf(why, whylen, "proxy: error %d",
			    WSAGetLastError());
			return -1;
		}
		if (wait_fd(s, 1, 0, deadline) != 1) {
			snprintf(why, whylen, "proxy: no answer in time");
			return -1;
		}
	}
	return pk_sc_proxy_answer(resp, have, why, whylen);
}

static void
conn_close(struct pk_wship *s)
{
	pk_shipconn_close(&s->cn);
	if (s->sock != INVALID_SOCKET) {
		closesocket(s->sock);
		s->sock = INVALID_SOCKET;
	}
	s->rq_n = 0;
	pk_wrenew_session_end(&s->rn);
	EnterCriticalSection(&s->link->mu);
	s->link->connected = 0;
	LeaveCriticalSection(&s->link->mu);
}

/* What HELLO says about the spool, from the capture thread's numbers. */
static void
hello_fill(struct pk_wship *s, struct pk_hello *h)
{
	uint64_t next, lost;

	EnterCriticalSection(&s->link->mu);
	next = s->link->next_seq;
	lost = s->link->lost;
	LeaveCriticalSection(&s->link->mu);
	pk_sc_hello(&s->sc, PK_PROTO_MIN, PK_PROTO_MAX, next, lost,
	    s->c.agent_id, s->c.host_name, h);
}

/* One connection up to WELCOME.  0 ready, -1 failed (why says why). */
static int
conn_open(struct pk_wship *s, char *why, size_t whylen)
{
	uint64_t deadline = pk_mono_us() + s->c.connect_timeout_ms * MS;
	struct pk_hello h;

	s->st.connects++;
	if (tcp_connect(s, s->c.proxy_host[0] ? s->c.proxy_host : s->c.host,
	    s->c.proxy_host[0] ? s->c.proxy_port : s->c.port, deadline, why,
	    whylen) != 0 || (s->c.proxy_host[0] && proxy_tunnel(s, deadline,
	    why, whylen) != 0)) {
		s->st.connect_failures++;
		return -1;
	}
	if (pk_shipconn_tls(&s->cn, s->ctx, (int)s->sock, s->c.server_name,
	    deadline, why, whylen) != 0)
		return -1;
	hello_fill(s, &h);
	return pk_shipconn_hello(&s->cn, &h, deadline, &s->failed_auth, why,
	    whylen);
}

/* ------------------------------------------------------- the session */

static void
publish_acked(struct pk_wship *s, uint64_t seq)
{
	EnterCriticalSection(&s->link->mu);
	if (seq > s->link->acked)
		s->link->acked = seq;
	LeaveCriticalSection(&s->link->mu);
}

/* The core took an ACK (shipconn's ops.acked): the capture thread's
 * pk_wship_wait_acked sees it. */
static void
on_acked(void *arg, uint64_t seq)
{
	publish_acked(arg, seq);
}

static void
reply_queue(struct pk_wship *s, uint64_t id, uint8_t state)
{
	if (s->rq_n >= SHIP_REPLY_MAX) {
		s->st.results_dropped++;	/* the hub sends START again */
		return;
	}
	s->rq[s->rq_n].id = id;
	s->rq[s->rq_n].state = state;
	s->rq_n++;
}

/* A TASK: strictly decoded (malformed ends the session), then answered:
 * no targeted collection on Windows yet. */
static int
on_task(struct pk_wship *s, const struct pk_frame *f, char *why,
    size_t whylen)
{
	struct pk_task_frame tf;
	int r;

	if ((r = pk_task_frame_decode(f, &tf)) != PK_FE_OK) {
		s->st.protocol_errors++;
		snprintf(why, whylen, "malformed TASK frame from hub: %s",
		    pk_frame_strerror(r));
		return -1;
	}
	s->st.task_frames++;
	switch (tf.op) {
	case PK_TOP_START:
		s->st.tasks_refused++;
		log_info("task %llu refused: %s", (unsigned long long)tf.id,
		    NO_TASKS_REASON);
		reply_queue(s, tf.id, PK_TS_REFUSED);
		break;
	case PK_TOP_CANCEL:
		/* never started here: nothing to stop */
		reply_queue(s, tf.id, PK_TS_CANCELLED);
		break;
	default:	/* FORGET: no files kept for it */
		break;
	}
	return 0;
}

/* The next RESULT STATE answer into s->out: 1 queued, 0 none. */
static int
reply_next(struct pk_wship *s)
{
	struct pk_result r;
	size_t len;

	if (s->rq_n == 0 || s->cn.out_len != 0)
		return 0;
	memset(&r, 0, sizeof(r));
	r.id = s->rq[0].id;
	r.kind = PK_RK_STATE;
	r.state = s->rq[0].state;
	if (r.state == PK_TS_REFUSED)
		pk_strlcpy(r.reason, NO_TASKS_REASON, sizeof(r.reason));
	memmove(&s->rq[0], &s->rq[1], (s->rq_n - 1) * sizeof(s->rq[0]));
	s->rq_n--;
	if (pk_result_encode(&r, s->cn.out, s->cn.out_cap, &len) != PK_FE_OK)
		return 0;
	s->cn.out_len = len;
	s->cn.out_off = 0;
	s->st.result_frames++;
	return 1;
}

/*
 * A CONFIG (version 2 sessions only): judged and filed as on Linux
 * (pk_bship_config), then the request waits in the link for the capture
 * thread.  A malformed frame ends the session like any other.
 */
static int
on_config(struct pk_wship *s, const struct pk_frame *f, char *why,
    size_t whylen)
{
	struct pk_config_frame cf;
	struct pk_ipc_msg req;
	int terr, capture;

	if (pk_bship_decode(s->sc.wl.version, f, &cf, &terr, why,
	    whylen) != 0) {
		s->st.protocol_errors++;
		if (terr)
			pk_shipconn_error(&s->cn, PK_WE_TYPE,
			    PK_BSHIP_TYPE_MSG);
		return -1;
	}
	EnterCriticalSection(&s->link->mu);
	capture = s->link->bundles;
	LeaveCriticalSection(&s->link->mu);
	if (pk_bship_config(&s->bs, &cf, capture, &req) == 1) {
		EnterCriticalSection(&s->link->mu);
		s->link->bundle_req = req;
		LeaveCriticalSection(&s->link->mu);
	}
	return 0;
}

/* The capture thread's answer, if it gave one, then the next APPLIED
 * into s->out: 1 queued, 0 none. */
static int
applied_next(struct pk_wship *s)
{
	struct pk_ipc_msg ans;
	size_t len;

	EnterCriticalSection(&s->link->mu);
	ans = s->link->bundle_ans;
	s->link->bundle_ans.type = 0;
	LeaveCriticalSection(&s->link->mu);
	if (ans.type == PK_IPC_BUNDLE_STATE)
		pk_bship_answered(&s->bs, &ans, 1);
	if (s->cn.out_len != 0 || pk_bship_next(&s->bs, pk_mono_us(),
	    s->cn.out, s->cn.out_cap, &len) != 1)
		return 0;
	s->cn.out_len = len;
	s->cn.out_off = 0;
	return 1;
}

/*
 * The hub's frames other than ACK, HEARTBEAT and ERROR (shipconn's
 * ops.frame): 0 go on, -1 over, 1 unexpected here.
 */
static int
on_frame(void *arg, const struct pk_frame *f, char *why, size_t whylen)
{
	struct pk_wship *s = arg;
	int r;

	switch (f->type) {
	case PK_FT_TASK:
		return on_task(s, f, why, whylen);
	case PK_FT_CERT:
		if ((r = pk_wrenew_answer(&s->rn, f, why, whylen)) < 0) {
			s->st.protocol_errors++;
			pk_shipconn_error(&s->cn, PK_WE_PROTOCOL,
			    "unasked or malformed");
			return -1;
		}
		/* a new certificate: this session ends, the next uses it */
		s->renewed = r;
		return -r;
	case PK_FT_CONFIG:
		return on_config(s, f, why, whylen);
	default:
		break;
	}
	return 1;
}

/* After WELCOME: where to start, what the hub already has. */
static void
session_begin(struct pk_wship *s)
{
	s->session_start = pk_mono_us();
	pk_sc_begin(&s->sc, s->session_start);
	EnterCriticalSection(&s->link->mu);
	/* The capture thread must never hand out a number the hub has. */
	s->link->hub_stored = s->sc.wl.stored_seq;
	s->link->connected = 1;
	LeaveCriticalSection(&s->link->mu);
	publish_acked(s, s->sc.sent_seq);
	s->rq_n = 0;
	/* a request of the last session is the hub's to send again */
	pk_bship_session(&s->bs, s->sc.wl.version);
}

/* The welcomed connection, until it ends.  Returns with why set. */
static void
session(struct pk_wship *s, char *why, size_t whylen)
{
	uint64_t hb = pk_sc_heartbeat_us(&s->sc), now;
	uint64_t drain_until = 0;
	size_t len;
	int r, idle = 0, ms;

	session_begin(s);
	for (;;) {
		if (stopping(s) && drain_until == 0)
			drain_until = pk_mono_us() + SHIP_DRAIN_US;
		/* a bundle's answer goes first: the hub waits for it */
		(void)applied_next(s);
		(void)reply_next(s);
		if (s->cn.out_len == 0 && drain_until == 0 &&
		    pk_wrenew_request(&s->rn, s->cn.out, s->cn.out_cap, &len)) {
			s->cn.out_off = 0;
			s->cn.out_len = len;
		}
		if (s->cn.out_len == 0 && pk_sc_can_send(&s->sc)) {
			if ((r = pk_shipconn_batch(&s->cn)) < 0) {
				snprintf(why, whylen, "cannot read the spool");
				return;
			}
			idle = r == 0;
		} else
			idle = 0;
		if (drain_until != 0 && ((idle && s->sc.fl_n == 0 &&
		    s->cn.out_len == 0) || pk_mono_us() >= drain_until)) {
			s->st.shutdowns_sent++;
			pk_shipconn_error(&s->cn, PK_WE_SHUTDOWN,
			    "agent stopping");
			snprintf(why, whylen, "stopping");
			return;
		}
		now = pk_mono_us();
		if (s->cn.out_len == 0 && pk_sc_heartbeat(&s->sc, now,
		    pk_now_us(), s->cn.out, s->cn.out_cap, &len)) {
			s->cn.out_len = len;
			s->cn.out_off = 0;
			s->st.heartbeats_sent++;
		}
		if (pk_shipconn_write(&s->cn, why, whylen) != 0)
			return;
		if (pk_sc_timed_out(&s->sc, now)) {
			s->st.timeouts++;
			pk_shipconn_error(&s->cn, PK_WE_TIMEOUT,
			    "no answer from hub");
			snprintf(why, whylen, "hub silent for %llu s",
			    (unsigned long long)(3 * hb / PK_USEC));
			return;
		}
		if (pk_tls_pending(s->cn.tls) == 0) {
			/* Busy: come back at once when the socket is ready;
			 * idle: one slice, then look at the spool again. */
			ms = idle ? SHIP_SLICE_MS : 50;
			if (s->cn.out_len == 0 && s->sc.last_tx + hb > now &&
			    pk_sc_ms_until(s->sc.last_tx + hb) < ms)
				ms = pk_sc_ms_until(s->sc.last_tx + hb);
			if (sock_wait(s->sock, 1, s->cn.out_len != 0, ms) < 0) {
				snprintf(why, whylen, "select: error %d",
				    WSAGetLastError());
				return;
			}
		}
		if (pk_shipconn_read(&s->cn, why, whylen) != 0)
			return;
	}
}

/* ------------------------------------------------------------- thread */

/*
 * [hub] cert was replaced: a context made from the files as they are now
 * for the next connection.  Should that fail the old one stays: its
 * certificate (in memory) is still valid, only nearer its end.
 */
static void
ctx_renew(struct pk_wship *s)
{
	char err[PK_TLS_ERRLEN];
	struct pk_tls_ctx *ctx;

	if ((ctx = pk_tls_client_ctx_new(&s->c.tls, err, sizeof(err))) ==
	    NULL) {
		log_warnx("hub: %s: going on with the certificate loaded "
		    "before", err);
		return;
	}
	pk_tls_ctx_free(s->ctx);
	s->ctx = ctx;
}

static DWORD WINAPI
ship_main(LPVOID arg)
{
	struct pk_wship *s = arg;
	char why[512];
	uint64_t wait_ms;
	int was_up;

	log_info("hub: shipping to %s:%u as %s%s%s", s->c.host, s->c.port,
	    s->c.agent_id, s->c.proxy_host[0] ? " through proxy " : "",
	    s->c.proxy_host);
	while (!stopping(s)) {
		why[0] = '\0';
		s->failed_auth = 0;
		s->renewed = 0;
		was_up = 0;
		if (conn_open(s, why, sizeof(why)) == 0) {
			s->st.sessions++;
			was_up = 1;
			log_info("hub: connected to %s (%s), it stores up to "
			    "seq %llu", s->c.server_name, s->sc.wl.hub_id,
			    (unsigned long long)s->sc.wl.stored_seq);
			session(s, why, sizeof(why));
			if (pk_mono_us() - s->session_start >= SHIP_STABLE_US)
				s->sc.attempt = 0;
		}
		if (s->renewed && s->cn.tls != NULL)
			pk_shipconn_error(&s->cn, PK_WE_SHUTDOWN,
			    "agent reconnecting with its renewed certificate");
		conn_close(s);
		if (stopping(s))
			break;
		if (s->renewed) {
			/* Linux starts a new shipper at once: so here */
			log_info("hub: %s", why);
			ctx_renew(s);
			continue;
		}
		wait_ms = pk_sc_backoff_ms(&s->sc, s->c.backoff_base_ms,
		    s->c.backoff_cap_ms, s->failed_auth, &s->rng);
		log_warnx("hub: %s%s; next attempt in %.1f s",
		    was_up ? "connection lost: " : "", why,
		    (double)wait_ms / 1000.0);
		(void)WaitForSingleObject(s->stop_ev, wait_ms > 0xfffffff0ULL ?
		    0xfffffff0UL : (DWORD)wait_ms);
	}
	if (why[0] != '\0' && strcmp(why, "stopping") == 0)
		log_info("hub: stopped, everything up to seq %llu "
		    "acknowledged", (unsigned long long)s->sc.n.acked_seq);
	return 0;
}

static void
ship_free(struct pk_wship *s)
{
	if (s == NULL)
		return;
	if (s->rd != NULL)
		pk_spool_reader_close(s->rd);
	if (s->stop_ev != NULL)
		CloseHandle(s->stop_ev);
	pk_shipconn_free(&s->cn);
	pk_sc_free(&s->sc);
	pk_wrenew_free(&s->rn);
	pk_tls_ctx_free(s->ctx);
	free(s);
}

struct pk_wship *
pk_wship_start(const struct pk_wship_conf *c, struct pk_wlink *link,
    char *err, size_t errlen)
{
	struct pk_wship *s;
	LARGE_INTEGER qpc;
	WSADATA wsa;

	if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
		snprintf(err, errlen, "Winsock: WSAStartup failed");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		WSACleanup();
		return NULL;
	}
	s->c = *c;
	s->link = link;
	pk_bship_init(&s->bs, s->c.spool_dir, s->c.bundle_max_entries,
	    s->c.bundle_accept);
	s->sock = INVALID_SOCKET;
	if (s->c.batch_records == 0 ||
	    s->c.batch_records > PK_BATCH_MAX_RECORDS)
		s->c.batch_records = PK_BATCH_MAX_RECORDS;
	if (s->c.batch_bytes == 0 || s->c.batch_bytes > PK_BATCH_MAX_RAW)
		s->c.batch_bytes = PK_BATCH_MAX_RAW;
	if (s->c.backoff_cap_ms < s->c.backoff_base_ms)
		s->c.backoff_cap_ms = s->c.backoff_base_ms;
	s->cn.ops = (struct pk_shipconn_ops){ conn_wait, on_frame, on_acked,
	    s };
	s->cn.cnt = (struct pk_shipconn_counts){ &s->st.tls_failures,
	    &s->st.refusals, &s->st.protocol_errors,
	    &s->st.heartbeats_received };
	/* The hub hears why we end a session over its protocol error. */
	s->cn.answer_errors = 1;
	if (pk_shipconn_init(&s->cn, &s->sc) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* First the renewal: a certificate a crash left is installed
	 * before the context loads [hub] cert. */
	pk_wrenew_init(&s->rn, c->tls.cert_file, c->tls.key_file,
	    c->tls.ca_file, c->spool_dir, c->renew_before_us);
	if ((s->ctx = pk_tls_client_ctx_new(&s->c.tls, err, errlen)) ==
	    NULL)
		goto fail;
	if ((s->rd = pk_spool_reader_open(c->spool_dir, NULL)) == NULL) {
		snprintf(err, errlen, "cannot read spool %s", c->spool_dir);
		goto fail;
	}
	if (pk_sc_init(&s->sc, &(struct pk_sc_conf){ s->c.batch_records,
	    s->c.batch_bytes, s->c.level, s->c.spool_fsync }, s->rd) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if ((s->stop_ev = CreateEventA(NULL, TRUE, FALSE, NULL)) == NULL) {
		snprintf(err, errlen, "CreateEvent: error %lu",
		    (unsigned long)GetLastError());
		goto fail;
	}
	QueryPerformanceCounter(&qpc);
	s->rng = (pk_now_us() ^ ((uint64_t)GetCurrentProcessId() << 32) ^
	    (uint64_t)qpc.QuadPart) | 1;
	if ((s->thread = CreateThread(NULL, 0, ship_main, s, 0, NULL)) ==
	    NULL) {
		snprintf(err, errlen, "CreateThread: error %lu",
		    (unsigned long)GetLastError());
		goto fail;
	}
	return s;
fail:
	ship_free(s);
	WSACleanup();
	return NULL;
}

int
pk_wship_wait_acked(struct pk_wship *s, uint64_t seq, uint32_t timeout_ms)
{
	uint64_t until = pk_mono_us() + (uint64_t)timeout_ms * MS, acked;

	for (;;) {
		EnterCriticalSection(&s->link->mu);
		acked = s->link->acked;
		LeaveCriticalSection(&s->link->mu);
		if (acked >= seq)
			return 1;
		if (pk_mono_us() >= until)
			return 0;
		Sleep(50);
	}
}

static void
report(const struct pk_wship *s, FILE *fp)
{
	struct pk_wship_stats all = s->st, *t = &all;

	/* the protocol's counters are kept by shipcore */
	all.batches = s->sc.n.batches;
	all.records = s->sc.n.records;
	all.raw_bytes = s->sc.n.raw_bytes;
	all.wire_bytes = s->sc.n.wire_bytes;
	all.acks = s->sc.n.acks;
	all.acked_seq = s->sc.n.acked_seq;
	all.unsendable = s->sc.n.unsendable;
	all.spool_errors = s->sc.n.spool_errors;
	all.renewals = s->rn.renewals;
	all.renewals_refused = s->rn.refused;
	all.config_frames = s->bs.st.config_frames;
	all.bundles_refused = s->bs.st.refused;
	all.applied_frames = s->bs.st.applied_frames;
	all.applied_dropped = s->bs.st.applied_dropped;
	all.bundle_timeouts = s->bs.st.timeouts;

#define ST(f) fprintf(fp, "shipper.%s %llu\n", #f, (unsigned long long)t->f)
	ST(connects); ST(sessions); ST(connect_failures); ST(tls_failures);
	ST(refusals); ST(timeouts); ST(protocol_errors); ST(batches);
	ST(records); ST(raw_bytes); ST(wire_bytes); ST(acks); ST(acked_seq);
	ST(unsendable); ST(spool_errors); ST(heartbeats_sent);
	ST(heartbeats_received); ST(task_frames); ST(tasks_refused);
	ST(result_frames); ST(results_dropped); ST(shutdowns_sent);
	ST(renewals); ST(renewals_refused); ST(config_frames);
	ST(bundles_refused); ST(applied_frames); ST(applied_dropped);
	ST(bundle_timeouts);
#undef ST
}

void
pk_wship_stop(struct pk_wship *s, FILE *stats)
{
	if (s == NULL)
		return;
	InterlockedExchange(&s->stop, 1);
	SetEvent(s->stop_ev);
	/* The drain is bounded (5 s) and so is every wait in the setup
	 * (one slice): the join cannot hang on the hub. */
	(void)WaitForSingleObject(s->thread, INFINITE);
	CloseHandle(s->thread);
	if (stats != NULL)
		report(s, stats);
	ship_free(s);
	WSACleanup();
}
