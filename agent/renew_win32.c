/*
 * renew_win32.c - the Windows agent renews its certificate
 * (renew_win32.h).  The timing is the Linux shipper's (agent/shipper.c):
 * RENEW at most once before its CERT and at most once a session; LATER
 * is asked again an hour later, REFUSED (or a certificate that fails a
 * check) a day later; after a renewal the next session starts afresh, as
 * Linux's new shipper does.  The request, the words of a refusal and
 * the install (pk_pki_cert_install: what is checked, how the file is
 * replaced) are agent/renew.c's, which Linux uses too, so both platforms
 * install exactly the same certificates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/renew.h"
#include "agent/renew_win32.h"
#include "common/dir.h"
#include "common/log.h"
#include "common/pktime.h"
#include "transport/pki.h"

#define RENEWED_FILE		"renewed.crt"	/* as agent/shipper.h's */

static int
renewed_path(const struct pk_wrenew *r, char *out, size_t cap)
{
	return snprintf(out, cap, "%s/%s", r->spool_dir, RENEWED_FILE) >=
	    (int)cap ? -1 : 0;
}

void
pk_wrenew_init(struct pk_wrenew *r, const char *cert, const char *key,
    const char *ca, const char *spool_dir, uint64_t before_us)
{
	char path[1024];
	size_t len;
	char *left;

	memset(r, 0, sizeof(*r));
	r->cert = cert;
	r->key = key;
	r->ca = ca;
	r->spool_dir = spool_dir;
	r->before_us = before_us;
	/* Written, not yet installed, when the agent stopped. */
	if (renewed_path(r, path, sizeof(path)) == 0 &&
	    (left = pk_file_read_small(path, PK_PKI_PEM_MAX, &len)) != NULL) {
		free(left);
		(void)pk_renew_install(path, cert, key, ca,
		    &r->not_after_us);
	}
	r->csr = pk_renew_prepare(cert, key, before_us, &r->not_after_us);
}

void
pk_wrenew_free(struct pk_wrenew *r)
{
	free(r->csr);
	r->csr = NULL;
}

int
pk_wrenew_request(struct pk_wrenew *r, uint8_t *out, size_t cap,
    size_t *len)
{
	if (r->csr == NULL || r->wait || pk_mono_us() < r->next ||
	    (int64_t)pk_now_us() + (int64_t)r->before_us < r->not_after_us)
		return 0;
	if (pk_renew_encode(r->csr, strlen(r->csr), out, cap, len) !=
	    PK_FE_OK) {
		r->next = pk_mono_us() + PK_RENEW_REFUSED_US;
		log_warnx("hub: cannot encode the certificate request");
		return 0;
	}
	r->wait = 1;
	/* Also "once a session": the next one within the hour asks not. */
	r->next = pk_mono_us() + PK_RENEW_LATER_US;
	r->renewals++;
	log_info("hub: certificate expires within renew_before: asking the "
	    "hub for a new one");
	return 1;
}

int
pk_wrenew_answer(struct pk_wrenew *r, const struct pk_frame *f, char *why,
    size_t whylen)
{
	char path[1024];
	struct pk_cert c;

	if (!r->wait || pk_cert_decode(f, &c) != PK_FE_OK) {
		snprintf(why, whylen, "%s CERT frame from hub", r->wait ?
		    "malformed" : "unasked");
		return -1;
	}
	r->wait = 0;
	if (c.result != PK_CERT_ISSUED) {
		r->refused++;
		pk_renew_declined(&c, &r->next);
		return 0;
	}
	/* Through a file, as on Linux: a crash before the install leaves
	 * it for the next start, and the install trusts nothing in it. */
	if (renewed_path(r, path, sizeof(path)) != 0 ||
	    pk_file_replace(path, c.pem, c.pem_len, 0600,
	    PK_FILE_DURABLE) != 0) {
		r->next = pk_mono_us() + PK_RENEW_LATER_US;
		log_warn("hub: cannot write the renewed certificate in %s",
		    r->spool_dir);
		return 0;
	}
	if (pk_renew_install(path, r->cert, r->key, r->ca,
	    &r->not_after_us) != 0) {
		r->refused++;
		r->next = pk_mono_us() + PK_RENEW_REFUSED_US;
		return 0;
	}
	r->next = 0;
	snprintf(why, whylen, "certificate renewed: reconnecting with it");
	return 1;
}

void
pk_wrenew_session_end(struct pk_wrenew *r)
{
	r->wait = 0;
}
