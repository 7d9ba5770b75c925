/*
 * shipconn.h - the TLS session I/O both agent shippers do the same way
 * (docs/protocol.md "Connection"): the TLS client handshake over a socket
 * the platform connected, HELLO out and WELCOME in under the setup's
 * deadline, reading and decoding the hub's frames with the ACK,
 * HEARTBEAT and ERROR cases handled here, writing the one pending frame,
 * the best-effort ERROR goodbye and the TLS side of closing.  What the
 * platforms do differently is given to it: how to wait on the socket
 * (poll on Linux, select on Windows), where the counters are, what else
 * an ACK means, the other frame types, and whether protocol errors are
 * answered with an ERROR frame.  Called only by agent/shipper.c (Linux)
 * and agent/shipper_win32.c (Windows); not part of the portable core, as
 * it calls transport/tls.c.
 */
#ifndef PICKET_SHIPCONN_H
#define PICKET_SHIPCONN_H

#include <stddef.h>
#include <stdint.h>

#include "agent/shipcore.h"
#include "transport/frame.h"
#include "transport/tls.h"

#define PK_SHIPCONN_RBUF	16384	/* one TLS read */
#define PK_SHIPCONN_CTL_MAX	1024	/* HELLO, HEARTBEAT, ERROR frames */
/* The hub sends small frames (WELCOME, ACK, HEARTBEAT, ERROR, CERT),
 * TASK, whose specification may take PK_TASK_JSON_MAX bytes, and CONFIG,
 * whose bundle may fill a whole frame. */
#define PK_SHIPCONN_DEC_MAX	PK_FRAME_MAX_PAYLOAD

struct pk_shipconn;

/*
 * What the platform gives (set before pk_shipconn_init):
 *  - wait: sleep until the socket is readable (rd) or writable (wr) or
 *    the monotonic deadline passes: 1 ready, anything else gives up;
 *  - frame: a frame of a type other than ACK, HEARTBEAT and ERROR:
 *    0 go on, -1 the session is over (why set), 1 not taken here (an
 *    unexpected frame: shipconn counts and reports it);
 *  - acked (may be NULL): an ACK was taken by the core for seq.
 */
struct pk_shipconn_ops {
	int	(*wait)(void *arg, int rd, int wr, uint64_t deadline);
	int	(*frame)(void *arg, const struct pk_frame *f, char *why,
		    size_t whylen);
	void	(*acked)(void *arg, uint64_t seq);
	void	 *arg;
};

/* The platform's counters (NULL: not kept there) and its manners. */
struct pk_shipconn_counts {
	uint64_t	*tls_failures, *refusals, *protocol_errors;
	uint64_t	*heartbeats_received;
};

struct pk_shipconn {
	struct pk_shipconn_ops	  ops;
	struct pk_shipconn_counts cnt;
	int			  answer_errors; /* ERROR frames for the
						  * hub's protocol errors */
	struct pk_shipcore	 *sc;		/* the platform's */
	struct pk_tls		 *tls;		/* NULL: not connected */
	struct pk_frame_dec	  dec;
	uint8_t			 *dbuf;		/* decoder payload buffer */
	uint8_t			  rbuf[PK_SHIPCONN_RBUF];
	uint8_t			 *out;		/* one frame being written */
	size_t			  out_cap, out_len, out_off;
	uint8_t			  ctl[PK_SHIPCONN_CTL_MAX];
};

/* Buffers (out: a whole frame, dbuf: the decoder's): 0, or -1 out of
 * memory (pk_shipconn_free frees what was made). */
int pk_shipconn_init(struct pk_shipconn *cn, struct pk_shipcore *sc);
void pk_shipconn_free(struct pk_shipconn *cn);

/*
 * TLS over fd (connected, non-blocking) up to a finished handshake with
 * server_name checked, by the deadline: 0, or -1 (counted, why set).
 */
int pk_shipconn_tls(struct pk_shipconn *cn, struct pk_tls_ctx *ctx,
    int fd, const char *server_name, uint64_t deadline, char *why,
    size_t whylen);
/*
 * HELLO h out, then the hub's answer judged by the core (sc->wl):
 * 0 welcomed, -1 refused or failed (counted, why set; *auth as
 * pk_sc_welcome says).
 */
int pk_shipconn_hello(struct pk_shipconn *cn, const struct pk_hello *h,
    uint64_t deadline, int *auth, char *why, size_t whylen);

/* Read and handle everything available.  0 fine, -1 connection over. */
int pk_shipconn_read(struct pk_shipconn *cn, char *why, size_t whylen);
/* Write what is pending.  0 fine (maybe more to write), -1 over. */
int pk_shipconn_write(struct pk_shipconn *cn, char *why, size_t whylen);
/* The core's next BATCH as the pending frame: 1 made, 0 nothing to
 * send, -1 spool or encoder error (pk_sc_next_batch). */
int pk_shipconn_batch(struct pk_shipconn *cn);
/* len bytes already in cn->out become the pending frame. */
void pk_shipconn_queue(struct pk_shipconn *cn, size_t len);
/*
 * Best effort ERROR goodbye, only when no frame is pending: TLS wants a
 * write it could not finish retried with the same bytes.
 */
void pk_shipconn_error(struct pk_shipconn *cn, uint16_t code,
    const char *msg);
/* close_notify and the TLS state freed, nothing pending, the core reset;
 * the socket stays the caller's to close. */
void pk_shipconn_close(struct pk_shipconn *cn);

#endif
