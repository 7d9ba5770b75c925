/*
 * renew.c - certificate renewal shared by both agents (renew.h).  The
 * decisions are docs/enrollment.md's: only a certificate whose subject
 * is its key's agent id was made by enrollment, and only that one is
 * renewed by the agent; a refusal is asked again a day later, a "later"
 * an hour later.
 */
#include <stdio.h>
#include <string.h>

#include "agent/renew.h"
#include "common/log.h"
#include "transport/pki.h"

char *
pk_renew_prepare(const char *cert_path, const char *key_path,
    uint64_t before_us, int64_t *not_after)
{
	char err[PK_PKI_ERRLEN], id[PK_PKI_ID_LEN + 1], na[PK_TIMESTRLEN];
	struct pk_pki_certinfo ci;
	struct pk_pki_key *k;
	char *csr = NULL;
	int soon;

	if (pk_pki_cert_file_info(cert_path, &ci, err, sizeof(err)) != 0) {
		log_warnx("shipper: %s: no renewal", err);
		return NULL;
	}
	*not_after = ci.not_after_us;
	pk_time_format((uint64_t)ci.not_after_us, na, sizeof(na));
	soon = (int64_t)pk_now_us() + (int64_t)before_us >= ci.not_after_us;
	if ((k = pk_pki_key_read(key_path, err, sizeof(err))) == NULL) {
		log_warnx("shipper: %s: no renewal", err);
		return NULL;
	}
	if (pk_pki_key_id(k, id, sizeof(id)) != 0 || strcmp(id, ci.cn) != 0) {
		if (soon)
			log_warnx("shipper: %s expires %s and was not made by "
			    "enrollment (its subject is not the key's agent "
			    "id): replace it by hand before then",
			    cert_path, na);
	} else if ((csr = pk_pki_csr_make(k, id, err, sizeof(err))) == NULL)
		log_warnx("shipper: certificate request: %s: no renewal", err);
	else if (soon)
		log_info("shipper: %s expires %s: it will be renewed",
		    cert_path, na);
	pk_pki_key_free(k);
	return csr;
}

int
pk_renew_install(const char *path, const char *cert_path,
    const char *key_path, const char *ca_path, int64_t *not_after)
{
	char err[PK_PKI_ERRLEN], na[PK_TIMESTRLEN];
	struct pk_pki_certinfo ci;

	if (pk_pki_cert_install(path, cert_path, key_path, ca_path, &ci, err,
	    sizeof(err)) != 0) {
		log_warnx("renewed certificate not installed, %s stays: %s",
		    cert_path, err);
		return -1;
	}
	*not_after = ci.not_after_us;
	log_info("certificate renewed: %s is now serial %s, valid until %s",
	    cert_path, ci.serial, pk_time_format((uint64_t)ci.not_after_us,
	    na, sizeof(na)));
	return 0;
}

void
pk_renew_declined(const struct pk_cert *c, uint64_t *next)
{
	int refused = c->result == PK_CERT_REFUSED;

	*next = pk_mono_us() + (refused ? PK_RENEW_REFUSED_US :
	    PK_RENEW_LATER_US);
	log_warnx("hub: certificate not renewed (%s): %s; asking again in %s",
	    refused ? "refused" : "later", c->msg, refused ? "a day" :
	    "an hour");
}
