/*
 * shipconn.c - the TLS session I/O shared by the two agent shippers
 * (shipconn.h): agent/shipper.c and agent/shipper_win32.c connect the
 * socket (and tunnel through a proxy) their own way, then hand it here
 * for the handshake, HELLO/WELCOME and the frames of the session.  Every
 * wait goes through the platform's ops.wait, so this file knows no
 * socket API; every loop is bounded by the setup deadline or by what
 * TLS has buffered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/shipconn.h"
#include "common/pktime.h"

static void
count(uint64_t *c)
{
	if (c != NULL)
		(*c)++;
}

int
pk_shipconn_init(struct pk_shipconn *cn, struct pk_shipcore *sc)
{
	cn->sc = sc;
	cn->tls = NULL;
	cn->out_len = cn->out_off = 0;
	cn->out_cap = PK_FRAME_HDR + PK_FRAME_MAX_PAYLOAD;
	if ((cn->out = malloc(cn->out_cap)) == NULL ||
	    (cn->dbuf = malloc(PK_SHIPCONN_DEC_MAX)) == NULL)
		return -1;
	return 0;
}

void
pk_shipconn_free(struct pk_shipconn *cn)
{
	free(cn->out);
	free(cn->dbuf);
	cn->out = cn->dbuf = NULL;
}

/* Wait as TLS asked (n is WANT_READ or WANT_WRITE): 1 ready. */
static int
tls_wait(struct pk_shipconn *cn, long n, uint64_t deadline)
{
	return cn->ops.wait(cn->ops.arg, n == PK_TLS_WANT_READ,
	    n == PK_TLS_WANT_WRITE, deadline);
}

int
pk_shipconn_tls(struct pk_shipconn *cn, struct pk_tls_ctx *ctx, int fd,
    const char *server_name, uint64_t deadline, char *why, size_t whylen)
{
	char err[PK_TLS_ERRLEN];
	int r;

	if ((cn->tls = pk_tls_client_new(ctx, fd, server_name, err,
	    sizeof(err))) == NULL) {
		snprintf(why, whylen, "TLS: %s", err);
		count(cn->cnt.tls_failures);
		return -1;
	}
	while ((r = pk_tls_handshake(cn->tls)) != PK_TLS_DONE) {
		if ((r != PK_TLS_WANT_READ && r != PK_TLS_WANT_WRITE) ||
		    tls_wait(cn, r, deadline) != 1) {
			snprintf(why, whylen, "TLS handshake with %s: %s",
			    server_name, r == PK_TLS_WANT_READ ||
			    r == PK_TLS_WANT_WRITE ? "timed out" :
			    pk_tls_error(cn->tls));
			count(cn->cnt.tls_failures);
			return -1;
		}
	}
	return 0;
}

/* Write a whole buffer through TLS, waiting as asked (setup phase). */
static int
tls_write_all(struct pk_shipconn *cn, const uint8_t *buf, size_t len,
    uint64_t deadline)
{
	long n;

	while (len > 0) {
		n = pk_tls_write(cn->tls, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n == PK_TLS_WANT_READ || n == PK_TLS_WANT_WRITE) {
			if (tls_wait(cn, n, deadline) != 1)
				return -1;
		} else
			return -1;
	}
	return 0;
}

/*
 * Read until the decoder yields one frame (setup phase: WELCOME or ERROR
 * is the only thing the hub may send).  1 frame, -1 failure.
 */
static int
read_frame(struct pk_shipconn *cn, struct pk_frame *f, uint64_t deadline,
    char *why, size_t whylen)
{
	const uint8_t *in;
	size_t len;
	long n;
	int r;

	for (;;) {
		n = pk_tls_read(cn->tls, cn->rbuf, sizeof(cn->rbuf));
		if (n > 0) {
			in = cn->rbuf;
			len = (size_t)n;
			r = pk_frame_dec_next(&cn->dec, &in, &len, f);
			if (r < 0) {
				snprintf(why, whylen, "bad frame from hub: %s",
				    pk_frame_strerror(cn->dec.err));
				return -1;
			}
			if (r == 1) {
				if (len != 0) {
					/* The hub sent more before we
					 * answered: out of turn. */
					snprintf(why, whylen, "hub sent frames "
					    "before WELCOME was answered");
					return -1;
				}
				return 1;
			}
			continue;
		}
		if (n == PK_TLS_WANT_READ || n == PK_TLS_WANT_WRITE) {
			if (tls_wait(cn, n, deadline) != 1) {
				snprintf(why, whylen, "no WELCOME in time");
				return -1;
			}
			continue;
		}
		/* Under TLS 1.3 the hub judges our certificate after our
		 * side of the handshake is done: a refusal shows here. */
		snprintf(why, whylen, "no WELCOME: %s", n == PK_TLS_CLOSED ?
		    "hub closed the connection" : pk_tls_error(cn->tls));
		return -1;
	}
}

int
pk_shipconn_hello(struct pk_shipconn *cn, const struct pk_hello *h,
    uint64_t deadline, int *auth, char *why, size_t whylen)
{
	struct pk_frame f;
	size_t len;
	int r;

	if (pk_hello_encode(h, cn->ctl, sizeof(cn->ctl), &len) != PK_FE_OK) {
		snprintf(why, whylen, "cannot encode HELLO");
		return -1;
	}
	pk_frame_dec_init(&cn->dec, cn->dbuf, PK_SHIPCONN_DEC_MAX);
	if (tls_write_all(cn, cn->ctl, len, deadline) != 0) {
		snprintf(why, whylen, "no WELCOME: sending HELLO: %s",
		    pk_tls_error(cn->tls));
		return -1;
	}
	if (read_frame(cn, &f, deadline, why, whylen) != 1)
		return -1;
	if ((r = pk_sc_welcome(cn->sc, &f, PK_PROTO_MIN, PK_PROTO_MAX,
	    auth, why, whylen)) != 0) {
		if (r > 0)
			count(cn->cnt.refusals);
		else
			count(cn->cnt.protocol_errors);
		return -1;
	}
	return 0;
}

static int
on_ack(struct pk_shipconn *cn, uint64_t seq, char *why, size_t whylen)
{
	if (pk_sc_ack(cn->sc, seq) != 0) {
		snprintf(why, whylen, "ACK %llu outside what was sent",
		    (unsigned long long)seq);
		count(cn->cnt.protocol_errors);
		return -1;
	}
	if (cn->ops.acked != NULL)
		cn->ops.acked(cn->ops.arg, seq);
	return 0;
}

/* One frame of the session: 0 go on, -1 over (why set). */
static int
on_frame(struct pk_shipconn *cn, const struct pk_frame *f, char *why,
    size_t whylen)
{
	struct pk_error e;
	uint64_t v;
	int r;

	switch (f->type) {
	case PK_FT_ACK:
		if (pk_ack_decode(f, &v) != PK_FE_OK)
			break;
		return on_ack(cn, v, why, whylen);
	case PK_FT_HEARTBEAT:
		if (pk_heartbeat_decode(f, &v) != PK_FE_OK)
			break;
		count(cn->cnt.heartbeats_received);
		return 0;
	case PK_FT_ERROR:
		count(cn->cnt.refusals);
		if (pk_error_decode(f, &e) != PK_FE_OK)
			snprintf(e.msg, sizeof(e.msg), "(malformed)");
		snprintf(why, whylen, "hub sent error %u: %.300s", e.code,
		    e.msg);
		return -1;
	default:
		if ((r = cn->ops.frame(cn->ops.arg, f, why, whylen)) <= 0)
			return r;
		break;
	}
	count(cn->cnt.protocol_errors);
	if (cn->answer_errors && pk_frame_dir(f->type) != 0 &&
	    !(pk_frame_dir(f->type) & PK_FDIR_HUB))
		pk_shipconn_error(cn, PK_WE_STATE, "frame not from the hub's "
		    "side");
	else if (cn->answer_errors)
		pk_shipconn_error(cn, PK_WE_PROTOCOL, "unexpected or "
		    "malformed");
	snprintf(why, whylen, "unexpected or malformed %s frame from hub",
	    pk_frame_type_name(f->type));
	return -1;
}

int
pk_shipconn_read(struct pk_shipconn *cn, char *why, size_t whylen)
{
	const uint8_t *in;
	struct pk_frame f;
	size_t len;
	long n;
	int r;

	for (;;) {
		n = pk_tls_read(cn->tls, cn->rbuf, sizeof(cn->rbuf));
		if (n == PK_TLS_WANT_READ || n == PK_TLS_WANT_WRITE)
			return 0;
		if (n <= 0) {
			snprintf(why, whylen, "%s", n == PK_TLS_CLOSED ?
			    "hub closed the connection" :
			    pk_tls_error(cn->tls));
			return -1;
		}
		cn->sc->last_rx = pk_mono_us();
		in = cn->rbuf;
		len = (size_t)n;
		while ((r = pk_frame_dec_next(&cn->dec, &in, &len, &f)) == 1)
			if (on_frame(cn, &f, why, whylen) != 0)
				return -1;
		if (r < 0) {
			count(cn->cnt.protocol_errors);
			if (cn->answer_errors)
				pk_shipconn_error(cn,
				    pk_frame_err_wire(cn->dec.err),
				    pk_frame_strerror(cn->dec.err));
			snprintf(why, whylen, "bad frame from hub: %s",
			    pk_frame_strerror(cn->dec.err));
			return -1;
		}
	}
}

int
pk_shipconn_write(struct pk_shipconn *cn, char *why, size_t whylen)
{
	long n;

	while (cn->out_off < cn->out_len) {
		n = pk_tls_write(cn->tls, cn->out + cn->out_off,
		    cn->out_len - cn->out_off);
		if (n == PK_TLS_WANT_READ || n == PK_TLS_WANT_WRITE)
			return 0;
		if (n <= 0) {
			snprintf(why, whylen, "writing to hub: %s",
			    pk_tls_error(cn->tls));
			return -1;
		}
		cn->out_off += (size_t)n;
		cn->sc->last_tx = pk_mono_us();
	}
	cn->out_len = cn->out_off = 0;
	return 0;
}

int
pk_shipconn_batch(struct pk_shipconn *cn)
{
	size_t len;
	int r;

	if ((r = pk_sc_next_batch(cn->sc, cn->out, pk_mono_us(), &len)) == 1)
		pk_shipconn_queue(cn, len);
	return r;
}

void
pk_shipconn_queue(struct pk_shipconn *cn, size_t len)
{
	cn->out_len = len;
	cn->out_off = 0;
}

void
pk_shipconn_error(struct pk_shipconn *cn, uint16_t code, const char *msg)
{
	size_t len;

	if (cn->out_len == 0 && pk_error_encode(code, msg, cn->ctl,
	    sizeof(cn->ctl), &len) == PK_FE_OK)
		(void)pk_tls_write(cn->tls, cn->ctl, len);
}

void
pk_shipconn_close(struct pk_shipconn *cn)
{
	if (cn->tls != NULL) {
		(void)pk_tls_shutdown(cn->tls);
		pk_tls_free(cn->tls);
		cn->tls = NULL;
	}
	cn->out_len = cn->out_off = 0;
	pk_sc_reset(cn->sc);
}
