/*
 * renew.h - what the Linux and the Windows agent share of certificate
 * renewal (docs/enrollment.md "Renewal"): the request made at start for
 * the agent's own key, and the timing and words of a CERT that is not a
 * certificate.  Portable (transport/pki.c, common/log.c); called by
 * agent/main.c and agent/shipper.c (Linux: supervisor and shipper) and
 * agent/renew_win32.c (Windows: the reporting thread does both halves).
 */
#ifndef PICKET_RENEW_H
#define PICKET_RENEW_H

#include <stdint.h>

#include "common/pktime.h"
#include "transport/frame.h"

#define PK_RENEW_LATER_US	(3600 * PK_USEC)	/* after LATER */
#define PK_RENEW_REFUSED_US	(86400 * PK_USEC)	/* after REFUSED */

/*
 * A PEM request (malloc'd) for the key at key_path, when the certificate
 * at cert_path came from enrollment (its subject is the key's agent id,
 * which the hub checks); NULL otherwise.  *not_after is the certificate's
 * end (left alone when it cannot be read).  Says in the log what it
 * decided: a certificate made by hand that ends within before_us is
 * warned about.
 */
char *pk_renew_prepare(const char *cert_path, const char *key_path,
    uint64_t before_us, int64_t *not_after);
/*
 * Put the certificate the hub sent, written to path, in place of
 * cert_path with pk_pki_cert_install's checks (transport/pki.h), and log
 * the outcome either way.  0 with *not_after the new end, or -1 (the old
 * certificate stays).
 */
int pk_renew_install(const char *path, const char *cert_path,
    const char *key_path, const char *ca_path, int64_t *not_after);
/*
 * A CERT that is REFUSED or LATER: logged, and *next (monotonic, not
 * before) pushed a day (REFUSED) or an hour (LATER) away.
 */
void pk_renew_declined(const struct pk_cert *c, uint64_t *next);

#endif
