/*
 * renew_win32.h - certificate renewal for the Windows agent
 * (docs/enrollment.md "Renewal", docs/windows.md): the Windows agent is
 * one process with no privilege split, so its reporting thread does what
 * Linux divides between the shipper and the root supervisor: it makes
 * the request for its own key, sends RENEW after WELCOME when [hub] cert
 * ends within [hub] renew_before, takes CERT, and installs an issued
 * certificate itself with transport/pki.c's pk_pki_cert_install (the
 * checks the Linux supervisor makes: chain to [hub] ca for clientAuth,
 * the key, the subject, a later end; an atomic, durable replace).  Called
 * only by agent/shipper_win32.c, from its thread.
 */
#ifndef PICKET_RENEW_WIN32_H
#define PICKET_RENEW_WIN32_H

#include <stddef.h>
#include <stdint.h>

#include "transport/frame.h"

struct pk_wrenew {
	const char	*cert, *key, *ca;	/* [hub] files */
	const char	*spool_dir;		/* where CERT is written first */
	uint64_t	 before_us;		/* [hub] renew_before */
	char		*csr;		/* PEM; NULL: this certificate is not
					 * renewed by the agent */
	int64_t		 not_after_us;	/* of the certificate in use */
	uint64_t	 next;		/* monotonic: not before */
	int		 wait;		/* RENEW sent, no CERT yet */
	uint64_t	 renewals, refused;	/* sent, answers not installed */
};

/*
 * Set up r for the files named (they outlive it): a renewed certificate
 * a crash left in the spool is installed first; then, when [hub] cert
 * came from enrollment (its subject is the key's agent id), the request
 * is made and kept.  Says in the log what it decided.
 */
void pk_wrenew_init(struct pk_wrenew *r, const char *cert, const char *key,
    const char *ca, const char *spool_dir, uint64_t before_us);
void pk_wrenew_free(struct pk_wrenew *r);
/*
 * RENEW into out when it is due (a request, the certificate within
 * before_us of its end, none asked for lately, no answer pending):
 * 1 made (*len), 0 not due.
 */
int pk_wrenew_request(struct pk_wrenew *r, uint8_t *out, size_t cap,
    size_t *len);
/*
 * A CERT frame.  -1 malformed or not asked for (why says so: a protocol
 * error), 0 a refusal or a certificate not installed (logged; asked
 * again later), 1 a new [hub] cert is installed: the next connection
 * must use it (why says so).
 */
int pk_wrenew_answer(struct pk_wrenew *r, const struct pk_frame *f,
    char *why, size_t whylen);
/* The session ended: an answer no longer comes. */
void pk_wrenew_session_end(struct pk_wrenew *r);

#endif
