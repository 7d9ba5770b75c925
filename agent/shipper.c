/*
 * shipper.c - spool to hub (shipper.h).  One connection at a time.  The
 * setup (TCP, optional proxy tunnel, TLS handshake, HELLO/WELCOME) is a
 * straight sequence under one deadline; once the hub has welcomed us, a
 * poll loop keeps up to max_inflight batches on the wire, takes ACKs,
 * sends heartbeats and notices a dead hub.  Every failure ends in the same
 * place: close, wait a random time below an exponentially growing bound,
 * try again.  Nothing here can lose a record: the spool keeps everything
 * until an ACK covers it, and the hub stores (agent, seq) once, so a batch
 * sent twice after a lost ACK is harmless (docs/protocol.md).  The
 * protocol logic (HELLO, WELCOME, resume point, batches, the in-flight
 * ring, ACKs, clocks, backoff) is agent/shipcore.c, shared with the
 * Windows shipper; this file does the I/O, privsep and the collector.
 *
 * Idle, the shipper sleeps until something is due: a heartbeat, the
 * hub's silence limit, a certificate renewal, its status file, or a
 * message (the collector's SPOOL_STATUS, sent within 200 ms of an append,
 * says the spool grew; the hub's frames).  It sleeps in ppoll() with the
 * stop and report signals unblocked only there, so a signal is never
 * lost between looking at the flags and going to sleep.  While batches
 * or task results are moving it comes back every SHIP_SLICE_MS, as the
 * spool and the task files change without a message each time.
 */
#define _GNU_SOURCE	/* ppoll */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/bundle_agent.h"
#include "agent/ipc.h"
#include "agent/task_agent.h"
#include "agent/control.h"
#include "agent/renew.h"
#include "agent/shipconn.h"
#include "agent/shipcore.h"
#include "agent/shipper.h"
#include "agent/supervise.h"
#include "common/dir.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "transport/batch.h"
#include "transport/frame.h"
#include "transport/pki.h"
#include "transport/spool.h"
#include "transport/tls.h"

#define SHIP_SLICE_MS		200	/* longest sleep while busy */
#define SHIP_STABLE_US		(30 * PK_USEC)	/* a session this long resets
						 * the backoff */
#define SHIP_DRAIN_US		(5 * PK_USEC)	/* sending on after a stop */
#define MS			1000ULL

struct pk_shipper {
	struct pk_shipper_conf	 c;
	struct pk_tls_ctx	*ctx;
	struct pk_spool_reader	*rd;
	struct pk_shipper_stats	 st;
	uint64_t		 rng;
	volatile sig_atomic_t	*quit;
	sigset_t		 sleepmask;	/* signals open while asleep */

	/* what the collector last said (ipc.h) */
	uint64_t		 spool_next, spool_lost;
	int			 have_status;

	/* the current connection */
	int			 fd;
	struct pk_shipcore	 sc;		/* the protocol (shipcore.h) */
	struct pk_shipconn	 cn;		/* its TLS I/O (shipconn.h) */
	uint64_t		 session_start;
	int			 failed_auth;	/* VERSION/AUTH: wait the cap */

	/* certificate renewal */
	int			 renew_wait;	/* RENEW sent, no CERT yet */
	int			 renewed;	/* new certificate written */
	uint64_t		 renew_next;	/* monotonic: not before */

	/* targeted collection (agent/task_agent.c); NULL: refuse all */
	struct pk_tagent	*ta;
	int			 task_turn;	/* tasks before batches */

	/* status file for `picketd status` (docs/status.md) */
	const char		*state;		/* connecting, connected, ... */
	char			 last_error[256];
	uint64_t		 since_us, last_ack_us;	/* wall */
	uint64_t		 status_at;	/* monotonic, last written */
	uint64_t		 status_sig[4];	/* what it said then */

	int			 task_session;	/* TASK frames this session */

	/* bundles (agent/bundle_agent.c): one change at a time waits for
	 * the collector; answers wait for the connection */
	struct pk_bship		 bs;
};

/* ------------------------------------------------------------ helpers */

/* Status file rewritten while its numbers change, and when they do not
 * (well within the supervisor's 10 s before it calls one stale). */
#define SHIP_STATUS_US		(2 * PK_USEC)
#define SHIP_STATUS_IDLE_US	(5 * PK_USEC)

/* Did the numbers of the status file change since it was written? */
static int
status_changed(const struct pk_shipper *s)
{
	return s->status_sig[0] != s->sc.n.acked_seq ||
	    s->status_sig[1] != s->last_ack_us ||
	    s->status_sig[2] != s->st.sessions ||
	    s->status_sig[3] != s->sc.n.records;
}

/* When ship_status(s, 0) writes next (monotonic); UINT64_MAX never. */
static uint64_t
status_due(const struct pk_shipper *s)
{
	if (!s->c.status_file)
		return UINT64_MAX;
	return s->status_at + (status_changed(s) ? SHIP_STATUS_US :
	    SHIP_STATUS_IDLE_US);
}

/*
 * spool_dir/.status-shipper: the connection's state, its last error and
 * the last ACK, as "key value" lines for the supervisor (control.h);
 * at most every SHIP_STATUS_US while they change, every
 * SHIP_STATUS_IDLE_US otherwise, at once when the state just changed
 * (force).
 */
static void
ship_status(struct pk_shipper *s, int force)
{
	char buf[1024];
	int n;

	if (!s->c.status_file || (!force && pk_mono_us() < status_due(s)))
		return;
	s->status_at = pk_mono_us();
	s->status_sig[0] = s->sc.n.acked_seq;
	s->status_sig[1] = s->last_ack_us;
	s->status_sig[2] = s->st.sessions;
	s->status_sig[3] = s->sc.n.records;
	n = snprintf(buf, sizeof(buf), "pid %d\nupdated_us %llu\n"
	    "state %s\nsince_us %llu\nhub %s:%u\nlast_error %s\n"
	    "acked_seq %llu\nlast_ack_us %llu\nsessions %llu\n"
	    "records %llu\n", (int)getpid(), (unsigned long long)pk_now_us(),
	    s->state != NULL ? s->state : "starting",
	    (unsigned long long)s->since_us, s->c.host, s->c.port,
	    s->last_error, (unsigned long long)s->sc.n.acked_seq,
	    (unsigned long long)s->last_ack_us,
	    (unsigned long long)s->st.sessions,
	    (unsigned long long)s->sc.n.records);
	if (n > 0 && (size_t)n < sizeof(buf))
		(void)pk_status_write(s->c.spool_dir, PK_STATUS_SHIPPER, buf,
		    (size_t)n);
}

static void
ship_state(struct pk_shipper *s, const char *state, const char *why)
{
	if (s->state == NULL || strcmp(s->state, state) != 0)
		s->since_us = pk_now_us();
	s->state = state;
	if (why != NULL) {
		/* One line: the file is "key value" lines. */
		pk_strlcpy(s->last_error, why, sizeof(s->last_error));
		s->last_error[strcspn(s->last_error, "\r\n")] = '\0';
	}
	ship_status(s, 1);
}

static void
ipc_send(struct pk_shipper *s, uint8_t type, uint64_t a)
{
	struct pk_ipc_msg m = { .type = type, .a = a };
	uint8_t buf[PK_IPC_MSG_SIZE];

	if (s->c.ipc_fd < 0)
		return;
	pk_ipc_encode(&m, buf);
	/* A full socket means the collector is busy; the message is a
	 * hint it will get again with the next WELCOME. */
	(void)send(s->c.ipc_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Take every waiting collector message. */
static void
ipc_drain(struct pk_shipper *s)
{
	uint8_t buf[PK_IPC_MSG_SIZE + 1];
	struct pk_ipc_msg m;
	ssize_t n;

	if (s->c.ipc_fd < 0)
		return;
	while ((n = recv(s->c.ipc_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (pk_ipc_decode(buf, (size_t)n, &m) == 0 &&
		    m.type == PK_IPC_TASK_STATE)
			continue;	/* a wake-up: the files say the rest */
		if (pk_ipc_decode(buf, (size_t)n, &m) == 0 &&
		    m.type == PK_IPC_BUNDLE_STATE) {
			pk_bship_answered(&s->bs, &m, s->cn.tls != NULL);
			continue;
		}
		if (pk_ipc_decode(buf, (size_t)n, &m) != 0 ||
		    m.type != PK_IPC_SPOOL_STATUS) {
			s->st.ipc_bad++;
			continue;
		}
		s->spool_next = m.a;
		s->spool_lost = m.c;
		s->have_status = 1;
	}
}

/*
 * poll() that lets the stop and report signals in only while it sleeps
 * (pk_shipper_run blocks them otherwise): one that arrives after the
 * caller looked at the flags ends the sleep at once.  ms < 0: no limit.
 */
static int
ship_poll(struct pk_shipper *s, struct pollfd *p, nfds_t n, int ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	return ppoll(p, n, ms < 0 ? NULL : &ts, &s->sleepmask);
}

/*
 * Sleep until fd is ready for events or the deadline passes; a signal
 * wakes it to look at quit.  1 ready, 0 deadline, -1 quit or error.
 */
static int
wait_fd(struct pk_shipper *s, int fd, short events, uint64_t deadline)
{
	struct pollfd p;
	uint64_t now;
	int r;

	for (;;) {
		if (*s->quit)
			return -1;
		now = pk_mono_us();
		if (now >= deadline)
			return 0;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		if ((r = ship_poll(s, &p, 1, pk_sc_ms_until(deadline))) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r > 0)
			return 1;
	}
}

/* shipconn's ops.wait: the connection's socket, as TLS asked. */
static int
conn_wait(void *arg, int rd, int wr, uint64_t deadline)
{
	struct pk_shipper *s = arg;

	return wait_fd(s, s->fd, (short)((rd ? POLLIN : 0) |
	    (wr ? POLLOUT : 0)), deadline);
}

/* ----------------------------------------------------- connection setup */

static int
tcp_connect(struct pk_shipper *s, const char *host, uint16_t port,
    uint64_t deadline, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[8];
	int fd = -1, rc, soerr;
	socklen_t sl;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(why, whylen, "resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	snprintf(why, whylen, "%s:%u: no address", host, port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			snprintf(why, whylen, "socket: %s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS &&
		    (rc = wait_fd(s, fd, POLLOUT, deadline)) == 1) {
			sl = sizeof(soerr);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == 0 && soerr == 0)
				break;
			errno = soerr;
		} else if (errno == EINPROGRESS)
			errno = rc == 0 ? ETIMEDOUT : EINTR;
		snprintf(why, whylen, "connect %s:%u: %s", host, port,
		    strerror(errno));
		close(fd);
		fd = -1;
		if (*s->quit || pk_mono_us() >= deadline)
			break;
	}
	freeaddrinfo(res);
	return fd;
}

static int
raw_write_all(struct pk_shipper *s, const char *buf, size_t len,
    uint64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		n = send(s->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (wait_fd(s, s->fd, POLLOUT, deadline) != 1)
			return -1;
	}
	return 0;
}

/*
 * HTTP CONNECT through the proxy.  The response header is read a byte at
 * a time so that nothing after it (which would be the hub's TLS bytes) is
 * consumed; it happens once per connection.
 */
static int
proxy_tunnel(struct pk_shipper *s, uint64_t deadline, char *why,
    size_t whylen)
{
	char req[2 * PK_SHIP_HOST_MAX + 128], resp[PK_SC_PROXY_MAX + 1];
	size_t have = 0;
	ssize_t n;
	int w;

	if ((w = pk_sc_proxy_request(s->c.host, s->c.port, req,
	    sizeof(req))) < 0 ||
	    raw_write_all(s, req, (size_t)w, deadline) != 0) {
		snprintf(why, whylen, "proxy: cannot send CONNECT");
		return -1;
	}
	while (have < PK_SC_PROXY_MAX) {
		n = recv(s->fd, resp + have, 1, 0);
		if (n == 1) {
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
		if (errno != EAGAIN && errno != EINTR) {
			snprintf(why, whylen, "proxy: %s", strerror(errno));
			return -1;
		}
		if (wait_fd(s, s->fd, POLLIN, deadline) != 1) {
			snprintf(why, whylen, "proxy: no answer in time");
			return -1;
		}
	}
	return pk_sc_proxy_answer(resp, have, why, whylen);
}

static void
conn_close(struct pk_shipper *s)
{
	pk_shipconn_close(&s->cn);
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
}

/* One connection up to WELCOME.  0 ready, -1 failed (why says why). */
static int
conn_open(struct pk_shipper *s, char *why, size_t whylen)
{
	uint64_t deadline = pk_mono_us() + s->c.connect_timeout_ms * MS;
	const char *host = s->c.proxy_host[0] ? s->c.proxy_host : s->c.host;
	uint16_t port = s->c.proxy_host[0] ? s->c.proxy_port : s->c.port;
	struct pk_hello h;

	s->st.connects++;
	if ((s->fd = tcp_connect(s, host, port, deadline, why, whylen)) < 0) {
		s->st.connect_failures++;
		return -1;
	}
	if (s->c.proxy_host[0] && proxy_tunnel(s, deadline, why,
	    whylen) != 0) {
		s->st.connect_failures++;
		return -1;
	}
	if (pk_shipconn_tls(&s->cn, s->ctx, s->fd, s->c.server_name,
	    deadline, why, whylen) != 0)
		return -1;
	ipc_drain(s);
	pk_sc_hello(&s->sc, PK_PROTO_MIN, PK_PROTO_MAX, s->have_status ?
	    s->spool_next : 0, s->spool_lost, s->c.agent_id, s->c.host_name,
	    &h);
	return pk_shipconn_hello(&s->cn, &h, deadline, &s->failed_auth, why,
	    whylen);
}

/* ------------------------------------------------------- the session */

/* The core took an ACK (shipconn's ops.acked): for the status file. */
static void
on_acked(void *arg, uint64_t seq)
{
	struct pk_shipper *s = arg;

	(void)seq;
	s->last_ack_us = pk_now_us();
}

/* ------------------------------------------------------- renewal */

/* Due: a CSR to send, the certificate near its end, not asked lately. */
static int
renew_due(const struct pk_shipper *s)
{
	return s->c.renew_csr != NULL && !s->renew_wait && !s->renewed &&
	    pk_mono_us() >= s->renew_next &&
	    (int64_t)pk_now_us() + (int64_t)s->c.renew_before_us >=
	    s->c.cert_not_after_us;
}

/* RENEW goes out in the frame buffer, like a batch. */
static void
renew_send(struct pk_shipper *s)
{
	if (pk_renew_encode(s->c.renew_csr, strlen(s->c.renew_csr), s->cn.out,
	    s->cn.out_cap, &s->cn.out_len) != PK_FE_OK) {
		s->renew_next = pk_mono_us() + PK_RENEW_REFUSED_US;
		log_warnx("hub: cannot encode the certificate request");
		return;
	}
	s->cn.out_off = 0;
	s->renew_wait = 1;
	s->renew_next = pk_mono_us() + PK_RENEW_LATER_US;
	s->st.renewals++;
	log_info("hub: certificate expires within renew_before: asking the "
	    "hub for a new one");
}

/* Write the certificate where the supervisor looks, atomically and
 * durably (the seccomp filter allows no fchmod: it is created 0600). */
static int
renew_store(struct pk_shipper *s, const uint8_t *pem, size_t len)
{
	char path[1024];

	if (snprintf(path, sizeof(path), "%s/%s", s->c.spool_dir,
	    PK_SHIP_RENEWED) >= (int)sizeof(path))
		return -1;
	return pk_file_replace(path, pem, len, 0600, PK_FILE_DURABLE);
}

/*
 * The hub's answer to RENEW.  A certificate is checked for what the
 * shipper can see (our id as subject, our key, a later expiry); the root
 * supervisor checks the chain and the key again before installing it.
 */
static int
on_cert(struct pk_shipper *s, const struct pk_frame *f, char *why,
    size_t whylen)
{
	char err[PK_PKI_ERRLEN], na[PK_TIMESTRLEN];
	struct pk_pki_certinfo ci;
	struct pk_cert c;

	s->renew_wait = 0;
	if (pk_cert_decode(f, &c) != PK_FE_OK) {
		s->st.protocol_errors++;
		snprintf(why, whylen, "malformed CERT frame from hub");
		return -1;
	}
	if (c.result != PK_CERT_ISSUED) {
		s->st.renewals_refused++;
		pk_renew_declined(&c, &s->renew_next);
		return 0;
	}
	if (pk_pki_cert_pem_info((const char *)c.pem, c.pem_len, &ci, err,
	    sizeof(err)) != 0 || strcmp(ci.cn, s->c.agent_id) != 0 ||
	    strcmp(ci.id, s->c.agent_id) != 0 ||
	    ci.not_after_us <= s->c.cert_not_after_us) {
		s->st.renewals_refused++;
		s->renew_next = pk_mono_us() + PK_RENEW_REFUSED_US;
		log_warnx("hub: the renewed certificate is not for this "
		    "agent's key or ends no later: not used");
		return 0;
	}
	if (renew_store(s, c.pem, c.pem_len) != 0) {
		s->renew_next = pk_mono_us() + PK_RENEW_LATER_US;
		log_warn("hub: cannot write the renewed certificate in %s",
		    s->c.spool_dir);
		return 0;
	}
	s->renewed = 1;
	log_info("hub: certificate renewed (serial %s, until %s)", ci.serial,
	    pk_time_format((uint64_t)ci.not_after_us, na, sizeof(na)));
	snprintf(why, whylen, "certificate renewed: a new shipper will use "
	    "it");
	return -1;
}

/*
 * A TASK frame: decoded strictly (a malformed frame ends the session
 * like any other); its specification is judged by task_agent.c, which
 * answers refusals itself, so one bad order never disturbs the others.
 */
static int
on_task(struct pk_shipper *s, const struct pk_frame *f, char *why,
    size_t whylen)
{
	struct pk_task_frame tf;
	struct pk_ipc_msg m;
	int r;

	if ((r = pk_task_frame_decode(f, &tf)) != PK_FE_OK) {
		s->st.protocol_errors++;
		snprintf(why, whylen, "malformed TASK frame from hub: %s",
		    pk_frame_strerror(r));
		return -1;
	}
	s->st.task_frames++;
	s->task_session = 1;
	if (s->ta == NULL) {
		/* tasks are not possible here: the spool is unusable */
		return 0;
	}
	pk_tagent_on_task(s->ta, &tf, &m);
	if (m.type != 0)
		ipc_send(s, m.type, m.a);
	return 0;
}

/*
 * A CONFIG frame (v2 sessions only): APPLY is inflated, parsed and filed
 * here, then applied by the collector; ROLLBACK goes to the collector
 * directly.  A refusal is answered at once; a malformed frame ends the
 * session like any other.
 */
static int
on_config(struct pk_shipper *s, const struct pk_frame *f, char *why,
    size_t whylen)
{
	struct pk_config_frame cf;
	struct pk_ipc_msg m;
	int terr;

	if (pk_bship_decode(s->sc.wl.version, f, &cf, &terr, why,
	    whylen) != 0) {
		s->st.protocol_errors++;
		if (terr)
			pk_shipconn_error(&s->cn, PK_WE_TYPE,
			    PK_BSHIP_TYPE_MSG);
		return -1;
	}
	if (pk_bship_config(&s->bs, &cf, s->c.ipc_fd >= 0, &m) == 1)
		ipc_send(s, m.type, m.a);
	return 0;
}

/* The next APPLIED into s->out, or a timed-out request: 1 queued. */
static int
applied_next(struct pk_shipper *s)
{
	size_t len;

	if (s->cn.out_len != 0 || pk_bship_next(&s->bs, pk_mono_us(),
	    s->cn.out, s->cn.out_cap, &len) != 1)
		return 0;
	s->cn.out_len = len;
	s->cn.out_off = 0;
	return 1;
}

/* The next RESULT frame into s->out: 1 queued, 0 none. */
static int
task_next(struct pk_shipper *s)
{
	size_t len;

	if (s->ta == NULL || s->cn.out_len != 0 ||
	    pk_tagent_next(s->ta, s->cn.out, s->cn.out_cap,
	    s->sc.wl.max_frame, pk_mono_us(), &len) != 1)
		return 0;
	s->cn.out_len = len;
	s->cn.out_off = 0;
	s->st.result_frames++;
	return 1;
}

/*
 * The hub's frames other than ACK, HEARTBEAT and ERROR (shipconn's
 * ops.frame): 0 go on, -1 over, 1 unexpected here.
 */
static int
on_frame(void *arg, const struct pk_frame *f, char *why, size_t whylen)
{
	struct pk_shipper *s = arg;

	switch (f->type) {
	case PK_FT_CERT:
		if (!s->renew_wait)
			break;
		return on_cert(s, f, why, whylen);
	case PK_FT_TASK:
		return on_task(s, f, why, whylen);
	case PK_FT_CONFIG:
		return on_config(s, f, why, whylen);
	default:
		break;
	}
	return 1;
}

static void
queue_ctl(struct pk_shipper *s, const uint8_t *frame, size_t len)
{
	memcpy(s->cn.out, frame, len);
	pk_shipconn_queue(&s->cn, len);
}

static void log_stats(const struct pk_shipper *s);

/* When renew_due() becomes true by the clocks alone; UINT64_MAX never. */
static uint64_t
renew_at(const struct pk_shipper *s)
{
	int64_t left;
	uint64_t at;

	if (s->c.renew_csr == NULL || s->renew_wait || s->renewed)
		return UINT64_MAX;
	left = (int64_t)s->c.cert_not_after_us -
	    (int64_t)s->c.renew_before_us - (int64_t)pk_now_us();
	at = pk_mono_us() + (left > 0 ? (uint64_t)left : 0);
	return at > s->renew_next ? at : s->renew_next;
}

/*
 * How long the session may sleep when neither the hub nor the collector
 * says anything.  Busy (a batch or a result just queued, a full window,
 * tasks in this session, the drain after a stop): SHIP_SLICE_MS, as the
 * spool and task files change without a message each time.  Idle: until
 * the next heartbeat, the hub's silence limit, a renewal or the status
 * file; new records come with the collector's SPOOL_STATUS.
 */
static int
session_timeout(const struct pk_shipper *s, int idle, uint64_t hb,
    uint64_t drain_until)
{
	uint64_t at, t;

	if (!idle || drain_until != 0 || s->task_session || hb == 0 ||
	    pk_bship_busy(&s->bs))
		return SHIP_SLICE_MS;
	at = pk_sc_wake_at(&s->sc, s->cn.out_len == 0);
	if ((t = renew_at(s)) < at)
		at = t;
	if ((t = status_due(s)) < at)
		at = t;
	return pk_sc_ms_until(at);
}

/* The welcomed connection, until it ends.  Returns with why set. */
static void
session(struct pk_shipper *s, volatile sig_atomic_t *report, char *why,
    size_t whylen)
{
	uint64_t hb = pk_sc_heartbeat_us(&s->sc), now;
	uint64_t drain_until = 0;
	struct pollfd p[2];
	size_t len;
	int np, r, idle = 0;

	s->session_start = pk_mono_us();
	pk_sc_begin(&s->sc, s->session_start);
	/* The collector must never hand out a number the hub already has. */
	ipc_send(s, PK_IPC_HUB_STORED, s->sc.wl.stored_seq);
	/* Uploads wait for the hub's START: it says where it stands. */
	if (s->ta != NULL)
		pk_tagent_session(s->ta);
	s->renew_wait = 0;
	s->task_session = 0;
	/* a request of the last session is the hub's to send again */
	pk_bship_session(&s->bs, s->sc.wl.version);

	for (;;) {
		if (*s->quit && drain_until == 0) {
			/* The collector stopped first (docs/privsep.md): send
			 * what it spooled last, within a bound. */
			drain_until = pk_mono_us() + SHIP_DRAIN_US;
		}
		if (report != NULL && *report) {
			*report = 0;
			log_stats(s);
		}
		ship_status(s, 0);
		ipc_drain(s);
		if (s->cn.out_len == 0 && drain_until == 0 && renew_due(s))
			renew_send(s);
		/* a bundle's answer goes before batches: the hub waits */
		(void)applied_next(s);
		/* Results and batches take turns on the one connection. */
		s->task_turn ^= 1;
		if (s->task_turn && drain_until == 0)
			(void)task_next(s);
		if (s->cn.out_len == 0 && pk_sc_can_send(&s->sc)) {
			if ((r = pk_shipconn_batch(&s->cn)) < 0) {
				snprintf(why, whylen, "cannot read the spool");
				return;
			}
			idle = r == 0;
		} else
			idle = 0;
		if (!s->task_turn && drain_until == 0 && task_next(s))
			idle = 0;
		/* Read the spool once more after the stop before deciding
		 * that everything went. */
		if (drain_until != 0 && ((idle && s->sc.fl_n == 0 &&
		    s->cn.out_len == 0) || pk_mono_us() >= drain_until)) {
			pk_shipconn_error(&s->cn, PK_WE_SHUTDOWN,
			    "agent stopping");
			snprintf(why, whylen, "stopping");
			return;
		}
		now = pk_mono_us();
		if (s->cn.out_len == 0 && pk_sc_heartbeat(&s->sc, now,
		    pk_now_us(), s->cn.ctl, sizeof(s->cn.ctl), &len))
			queue_ctl(s, s->cn.ctl, len);
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
			np = 0;
			p[np].fd = s->fd;
			p[np].events = POLLIN | (s->cn.out_len ? POLLOUT : 0);
			p[np++].revents = 0;
			if (s->c.ipc_fd >= 0) {
				p[np].fd = s->c.ipc_fd;
				p[np].events = POLLIN;
				p[np++].revents = 0;
			}
			if (ship_poll(s, p, (nfds_t)np, session_timeout(s,
			    idle, hb, drain_until)) < 0 && errno != EINTR) {
				snprintf(why, whylen, "poll: %s",
				    strerror(errno));
				return;
			}
		}
		if (pk_shipconn_read(&s->cn, why, whylen) != 0)
			return;
	}
}

/* ------------------------------------------------------------- public */

struct pk_shipper *
pk_shipper_new(const struct pk_shipper_conf *c, struct pk_tls_ctx *ctx,
    char *err, size_t errlen)
{
	struct pk_shipper *s;
	uint64_t seed = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->c = *c;
	pk_bship_init(&s->bs, s->c.spool_dir, s->c.bundle_max_entries,
	    s->c.bundle_accept);
	s->ctx = ctx;
	s->fd = -1;
	/* Until pk_shipper_run blocks some: asleep as awake. */
	sigprocmask(SIG_BLOCK, NULL, &s->sleepmask);
	if (s->c.batch_records > PK_BATCH_MAX_RECORDS)
		s->c.batch_records = PK_BATCH_MAX_RECORDS;
	if (s->c.batch_bytes > PK_BATCH_MAX_RAW)
		s->c.batch_bytes = PK_BATCH_MAX_RAW;
	s->cn.ops = (struct pk_shipconn_ops){ conn_wait, on_frame, on_acked,
	    s };
	s->cn.cnt = (struct pk_shipconn_counts){ &s->st.tls_failures,
	    &s->st.refusals, &s->st.protocol_errors, NULL };
	/* Linux answers the hub's protocol errors by closing. */
	s->cn.answer_errors = 0;
	if (pk_shipconn_init(&s->cn, &s->sc) != 0) {
		snprintf(err, errlen, "out of memory");
		pk_shipper_free(s);
		return NULL;
	}
	if ((s->rd = pk_spool_reader_open(c->spool_dir, NULL)) == NULL) {
		snprintf(err, errlen, "cannot read spool %s", c->spool_dir);
		pk_shipper_free(s);
		return NULL;
	}
	if (pk_sc_init(&s->sc, &(struct pk_sc_conf){ s->c.batch_records,
	    s->c.batch_bytes, s->c.level, s->c.spool_fsync }, s->rd) != 0) {
		snprintf(err, errlen, "out of memory");
		pk_shipper_free(s);
		return NULL;
	}
	if (c->tasks) {
		struct pk_task_policy pol = c->task_policy;

		if ((s->ta = pk_tagent_new(c->spool_dir, &pol)) == NULL) {
			snprintf(err, errlen, "out of memory");
			pk_shipper_free(s);
			return NULL;
		}
	} else {
		struct pk_task_policy off;

		pk_task_policy_default(&off);
		off.enabled = 0;
		s->ta = pk_tagent_new(c->spool_dir, &off);
	}
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = pk_now_us() ^ ((uint64_t)getpid() << 32);
	s->rng = seed | 1;
	return s;
}

void
pk_shipper_free(struct pk_shipper *s)
{
	if (s == NULL)
		return;
	conn_close(s);
	if (s->rd != NULL)
		pk_spool_reader_close(s->rd);
	pk_tagent_free(s->ta);
	pk_shipconn_free(&s->cn);
	pk_sc_free(&s->sc);
	free(s);
}

void
pk_shipper_stats(const struct pk_shipper *s, struct pk_shipper_stats *st)
{
	*st = s->st;
	/* the protocol's counters are kept by shipcore */
	st->batches = s->sc.n.batches;
	st->records = s->sc.n.records;
	st->raw_bytes = s->sc.n.raw_bytes;
	st->wire_bytes = s->sc.n.wire_bytes;
	st->acks = s->sc.n.acks;
	st->acked_seq = s->sc.n.acked_seq;
	st->unsendable = s->sc.n.unsendable;
	st->spool_errors = s->sc.n.spool_errors;
	/* and the bundles' by bundle_agent.c */
	st->config_frames = s->bs.st.config_frames;
	st->bundles_refused = s->bs.st.refused;
	st->applied_frames = s->bs.st.applied_frames;
	st->applied_dropped = s->bs.st.applied_dropped;
	st->bundle_timeouts = s->bs.st.timeouts;
}

static void
log_stats(const struct pk_shipper *s)
{
	struct pk_shipper_stats all, *t = &all;

	pk_shipper_stats(s, &all);
#define ST(f) log_info("stats: shipper.%s %llu", #f, (unsigned long long)t->f)
	ST(connects); ST(sessions); ST(connect_failures); ST(tls_failures);
	ST(refusals); ST(timeouts); ST(protocol_errors); ST(batches);
	ST(records); ST(raw_bytes); ST(wire_bytes); ST(acks); ST(acked_seq);
	ST(unsendable); ST(spool_errors); ST(ipc_bad); ST(renewals);
	ST(renewals_refused); ST(task_frames); ST(result_frames);
	ST(config_frames); ST(bundles_refused); ST(applied_frames);
	ST(applied_dropped); ST(bundle_timeouts);
#undef ST
	if (s->ta != NULL) {
		struct pk_tagent_stats ts;

		pk_tagent_stats(s->ta, &ts);
#define TS(f) log_info("stats: shipper.tasks.%s %llu", #f, \
	(unsigned long long)ts.f)
		TS(tasks_started); TS(tasks_refused); TS(tasks_resumed);
		TS(tasks_cancelled); TS(tasks_forgotten); TS(track_full);
		TS(replies_dropped); TS(state_frames); TS(data_frames);
		TS(data_bytes); TS(wire_bytes); TS(status_bad);
		TS(file_errors);
#undef TS
	}
}

int
pk_shipper_run(struct pk_shipper *s, volatile sig_atomic_t *quit,
    volatile sig_atomic_t *report)
{
	char why[512];
	uint64_t wait_ms, until, wake;
	sigset_t block, orig;
	int was_up;

	s->quit = quit;
	/* Signals only while asleep (ship_poll): none is missed. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, PK_SUP_SIG_REPORT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	s->sleepmask = orig;
	sigdelset(&s->sleepmask, SIGTERM);
	sigdelset(&s->sleepmask, SIGINT);
	sigdelset(&s->sleepmask, PK_SUP_SIG_REPORT);
	log_info("hub: shipping to %s:%u%s%s", s->c.host, s->c.port,
	    s->c.proxy_host[0] ? " through proxy " : "", s->c.proxy_host);
	while (!*quit) {
		why[0] = '\0';
		s->failed_auth = 0;
		was_up = 0;
		ship_state(s, "connecting", NULL);
		if (conn_open(s, why, sizeof(why)) == 0) {
			s->st.sessions++;
			was_up = 1;
			ship_state(s, "connected", "");
			log_info("hub: connected to %s (%s), it stores up to "
			    "seq %llu", s->c.server_name, s->sc.wl.hub_id,
			    (unsigned long long)s->sc.wl.stored_seq);
			session(s, report, why, sizeof(why));
			if (pk_mono_us() - s->session_start >= SHIP_STABLE_US)
				s->sc.attempt = 0;
		}
		if (s->renewed && s->cn.tls != NULL)
			pk_shipconn_error(&s->cn, PK_WE_SHUTDOWN,
			    "agent restarting with its renewed certificate");
		conn_close(s);
		if (s->renewed) {
			log_info("hub: %s", why);
			log_stats(s);
			sigprocmask(SIG_SETMASK, &orig, NULL);
			return PK_SHIP_RUN_RENEWED;
		}
		if (*quit)
			break;
		wait_ms = pk_sc_backoff_ms(&s->sc, s->c.backoff_base_ms,
		    s->c.backoff_cap_ms, s->failed_auth, &s->rng);
		log_warnx("hub: %s%s; next attempt in %.1f s",
		    was_up ? "connection lost: " : "", why,
		    (double)wait_ms / 1000.0);
		ship_state(s, "failed", why);
		until = pk_mono_us() + wait_ms * MS;
		while (!*quit && pk_mono_us() < until) {
			if (report != NULL && *report) {
				*report = 0;
				log_stats(s);
			}
			ship_status(s, 0);
			wake = PK_MIN(until, status_due(s));
			if (s->c.ipc_fd >= 0)
				(void)wait_fd(s, s->c.ipc_fd, POLLIN, wake);
			else
				(void)wait_fd(s, -1, 0, wake);
			ipc_drain(s);
		}
	}
	log_stats(s);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return 0;
}
