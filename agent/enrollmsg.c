/*
 * enrollmsg.c - the enrollment request and the checks on the hub's answer
 * (see enrollmsg.h), shared by the Linux and Windows enrollment clients.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/enrollmsg.h"
#include "common/json.h"
#include "hub/jsonread.h"
#include "transport/pki.h"

char *
pk_enroll_request(const char *token, const char *csr, const char *host,
    size_t *len)
{
	struct json j;
	char *buf;
	long n;

	if ((buf = malloc(PK_ENROLL_REQ_MAX)) == NULL)
		return NULL;
	json_init(&j, buf, PK_ENROLL_REQ_MAX);
	json_obj_begin(&j, NULL);
	json_str(&j, "token", token, 0);
	json_str(&j, "csr", csr, 0);
	json_str(&j, "host_name", host, 0);
	json_obj_end(&j);
	if ((n = json_finish(&j)) < 0) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

int
pk_enroll_field(const char *body, size_t len, const char *key, char *out,
    size_t cap)
{
	struct pk_jr_val v;

	if (body == NULL || pk_jr_find(body, len, key, &v) != 1 ||
	    pk_jr_string(&v, out, cap) == -1)
		return -1;
	return 0;
}

static void
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

char *
pk_enroll_answer_pem(const char *body, size_t len, const char *kid,
    char *err, size_t errlen)
{
	char id[PK_PKI_NAME_MAX + 1], cn[PK_PKI_NAME_MAX + 1];
	char cid[PK_PKI_ID_LEN + 1], why[PK_PKI_ERRLEN], *pem;

	if ((pem = malloc(PK_PKI_PEM_MAX + 1)) == NULL) {
		say(err, errlen, "out of memory");
		return NULL;
	}
	why[0] = '\0';
	if (pk_enroll_field(body, len, "agent_id", id, sizeof(id)) == -1 ||
	    pk_enroll_field(body, len, "certificate", pem,
	    PK_PKI_PEM_MAX + 1) == -1) {
		say(err, errlen, "the hub's answer has no agent_id and "
		    "certificate");
		free(pem);
		return NULL;
	}
	if (pk_pki_cert_pem_ids(pem, strlen(pem), cn, sizeof(cn), cid,
	    sizeof(cid), why, sizeof(why)) == -1 || strcmp(id, kid) != 0 ||
	    strcmp(cn, kid) != 0 || strcmp(cid, kid) != 0) {
		say(err, errlen, "the hub's certificate is not for this key "
		    "(agent id %s): %s", kid, why[0] ? why : "wrong name or key");
		free(pem);
		return NULL;
	}
	return pem;
}
