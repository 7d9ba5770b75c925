/*
 * enrollmsg.h - the two messages of enrollment (docs/enrollment.md), the
 * same on every platform: the request the agent POSTs and the checks on
 * the hub's answer.  agent/enroll.c (libevent's HTTP client, Linux) and
 * agent/enroll_win32.c (its own one-request client, Windows) carry them
 * and keep the files.
 */
#ifndef PICKET_ENROLLMSG_H
#define PICKET_ENROLLMSG_H

#include <stddef.h>

#define PK_ENROLL_REQ_MAX	(32 * 1024)	/* the request body */

/* {"token":..,"csr":..,"host_name":..}, malloc'd (NUL-terminated), or
 * NULL when it does not fit PK_ENROLL_REQ_MAX or memory ran out. */
char *pk_enroll_request(const char *token, const char *csr, const char *host,
    size_t *len);

/* A string field of the hub's JSON answer into out: 0, or -1 when it is
 * missing, not a string or too long. */
int pk_enroll_field(const char *body, size_t len, const char *key, char *out,
    size_t cap);

/*
 * The certificate of the hub's answer, checked to be this key's: the
 * answer's agent_id, the certificate's subject and the id of its public
 * key must all be kid.  A malloc'd PEM, or NULL with the reason in err.
 */
char *pk_enroll_answer_pem(const char *body, size_t len, const char *kid,
    char *err, size_t errlen);

#endif
