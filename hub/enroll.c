/*
 * enroll.c - enrollment tokens, POST /api/v1/enroll and the revoked check
 * (see enroll.h, docs/enrollment.md).  An enrollment token is the only
 * credential the endpoint takes, so it is treated like an API token: a
 * 32-byte secret from getrandom(2), only its SHA-256 in the store.  The
 * endpoint refuses an unknown, expired, used-up or revoked token with one
 * and the same 403 message, so a caller cannot probe which; the log and
 * the audit row say which.  The CSR is checked (transport/pki.c) before a
 * use of the token is taken, the use is taken in the same transaction
 * that records the agent, and the certificate names the agent by its key
 * alone.  Attempts are rate-limited per remote address in a fixed table
 * (oldest entry evicted, counted) and each one is an audit row, except
 * repeated 429s within one window (the first is audited).  Called by
 * hub/api.c, hub/listener.c, hub/main.c and hub/enroll_cli.c.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "hub/api.h"
#include "hub/auth.h"
#include "hub/config.h"
#include "hub/enroll.h"
#include "transport/frame.h"
#include "transport/pki.h"

#define ENROLL_TOKEN_RANDOM	32
#define ENROLL_TOKEN_TEXT_MAX	128
#define ADDR_MAX		72
#define REFUSED			"enrollment token refused: unknown, expired, " \
				"used up or revoked"

struct rate {
	char		 addr[ADDR_MAX];	/* "" = free */
	int64_t		 start_us;		/* window start */
	uint32_t	 n;			/* attempts in the window */
	int		 told;			/* 429 audited this window */
};

/* The last renewal of an agent id (direct-mapped by hash: a collision
 * forgets an older one, which only loosens the limit for it). */
struct renewed {
	char		 id[PK_PKI_ID_LEN + 1];
	int64_t		 at_us;
};

/* The endpoint's state: one hub, one event loop, one of these. */
static struct {
	char			 crt[HUB_PATH_MAX + 32];
	char			 key[HUB_PATH_MAX + 32];
	struct pk_pki_ca	*ca;
	char			*ca_pem;
	struct rate		*rate;		/* HUB_ENROLL_ADDRS */
	uint64_t		 rate_evicted;
	struct renewed		*renewed;	/* HUB_RENEW_SLOTS */
	int			 on;		/* init was called */
} E;

/* ------------------------------------------------------------ tokens */

int
hub_ca_paths(const char *data_dir, char *crt, char *key, size_t cap)
{
	int a, b;

	a = snprintf(crt, cap, "%s/%s/ca.crt", data_dir, HUB_CA_DIR);
	b = snprintf(key, cap, "%s/%s/ca.key", data_dir, HUB_CA_DIR);
	return a < 0 || b < 0 || (size_t)a >= cap || (size_t)b >= cap ? -1 : 0;
}

int
hub_tag_ok(const char *tag)
{
	size_t i;
	char c;

	for (i = 0; tag[i] != '\0'; i++) {
		c = tag[i];
		if (i >= HUB_TAG_MAX || !((c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == ':' || c == '@' || c == '-'))
			return 0;
	}
	return 1;
}

int
hub_etoken_create(struct hub_store *st, uint64_t uses, int64_t expires_us,
    const char *tag, char *secret, size_t cap, int64_t *id, const char **err)
{
	uint8_t rnd[ENROLL_TOKEN_RANDOM];
	struct hub_enroll_token t;

	if (!hub_tag_ok(tag)) {
		*err = "bad tag (0..64 of A-Z a-z 0-9 . _ : @ -)";
		return -1;
	}
	if (uses == 0 || uses > 1000000) {
		*err = "bad number of uses (1..1000000)";
		return -1;
	}
	if (cap < HUB_ETOKEN_LEN + 1 ||
	    hub_random_bytes(rnd, sizeof(rnd)) == -1) {
		*err = "no random bytes";
		return -1;
	}
	memcpy(secret, HUB_ETOKEN_PREFIX, 4);
	hub_b64url(rnd, sizeof(rnd), secret + 4);
	memset(&t, 0, sizeof(t));
	pk_strlcpy(t.tag, tag, sizeof(t.tag));
	t.created_us = (int64_t)pk_now_us();
	t.expires_us = expires_us;
	t.uses_max = uses;
	hub_token_hash(secret, strlen(secret), t.hash);
	if (st->ops->etoken_add(st, &t, id) == -1) {
		*err = "store failed";
		return -1;
	}
	return 0;
}

int
hub_agent_revoked(struct hub_store *st, const char *agent_id)
{
	struct hub_agent a;
	int found;

	if (st->ops->agent_get(st, agent_id, &a, &found) == -1)
		return -1;
	return found && a.revoked_us != 0 ? 1 : 0;
}

/* ------------------------------------------------------------ serve */

/* Load the CA when both files exist: 1 loaded, 0 not there, -1 bad. */
static int
ca_load(void)
{
	char err[PK_PKI_ERRLEN];
	struct stat sb;

	if (E.ca != NULL)
		return 1;
	if (stat(E.crt, &sb) == -1 || stat(E.key, &sb) == -1)
		return 0;
	if ((E.ca = pk_pki_ca_load(E.crt, E.key, err, sizeof(err))) == NULL ||
	    (E.ca_pem = pk_pki_ca_pem(E.ca, err, sizeof(err))) == NULL) {
		log_warnx("enroll: member CA: %s", err);
		pk_pki_ca_free(E.ca);
		E.ca = NULL;
		return -1;
	}
	log_info("enroll: member CA %s loaded", E.crt);
	return 1;
}

int
hub_enroll_init(const struct hub_config *c)
{
	int rc;

	hub_enroll_free();
	if (hub_ca_paths(c->data_dir, E.crt, E.key, sizeof(E.crt)) == -1) {
		log_warnx("enroll: data_dir too long");
		return -1;
	}
	if ((E.rate = calloc(HUB_ENROLL_ADDRS, sizeof(*E.rate))) == NULL ||
	    (E.renewed = calloc(HUB_RENEW_SLOTS, sizeof(*E.renewed))) ==
	    NULL) {
		log_warn("enroll");
		return -1;
	}
	E.on = 1;
	if ((rc = ca_load()) == -1)
		return -1;
	if (rc == 0)
		log_info("enroll: no member CA in %s/%s yet (picket-hub ca "
		    "init): POST /api/v1/enroll answers 503", c->data_dir,
		    HUB_CA_DIR);
	return 0;
}

void
hub_enroll_free(void)
{
	pk_pki_ca_free(E.ca);
	free(E.ca_pem);
	free(E.rate);
	free(E.renewed);
	memset(&E, 0, sizeof(E));
}

/* "192.0.2.7:51234" -> "192.0.2.7", "[2001:db8::1]:443" -> "2001:db8::1" */
static void
remote_addr(const char *remote, char *out, size_t cap)
{
	const char *colon = strrchr(remote, ':');
	size_t n = colon != NULL ? (size_t)(colon - remote) : strlen(remote);

	if (n >= 2 && remote[0] == '[' && remote[n - 1] == ']') {
		remote++;
		n -= 2;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, remote, n);
	out[n] = '\0';
}

/*
 * Count an attempt from addr: 0 allowed, 1 over the limit (first time
 * this window), 2 over the limit again.  A full table evicts the entry
 * whose window started first (counted), so an address is at worst
 * forgotten early, never refused for another's attempts.
 */
static int
rate_hit(const char *addr, int64_t now)
{
	const int64_t win = (int64_t)HUB_ENROLL_WINDOW_S * 1000000;
	struct rate *r, *free_slot = NULL, *oldest = NULL;
	size_t i;

	for (i = 0; i < HUB_ENROLL_ADDRS; i++) {
		r = &E.rate[i];
		if (r->addr[0] != '\0' && strcmp(r->addr, addr) == 0)
			break;
		if (free_slot == NULL && (r->addr[0] == '\0' ||
		    now - r->start_us >= win))
			free_slot = r;
		if (oldest == NULL || r->start_us < oldest->start_us)
			oldest = r;
	}
	if (i == HUB_ENROLL_ADDRS) {
		if ((r = free_slot) == NULL) {
			r = oldest;
			E.rate_evicted++;
		}
		pk_strlcpy(r->addr, addr, sizeof(r->addr));
		r->start_us = now;
		r->n = 0;
		r->told = 0;
	} else if (now - r->start_us >= win) {
		r->start_us = now;
		r->n = 0;
		r->told = 0;
	}
	if (r->n < HUB_ENROLL_RATE) {
		r->n++;
		return 0;
	}
	if (r->told)
		return 2;
	r->told = 1;
	return 1;
}

/* One audit row for an attempt (actor "enroll", no role). */
static void
audit(struct hub_api_req *r, const char *target, const char *result)
{
	(void)hub_audit(r->st, "enroll", "none", "POST /api/v1/enroll", target,
	    r->remote, result);
}

/* A string member of o that holds no NUL, at most max bytes; NULL if
 * absent, (const char *)-1 if malformed. */
static const char *
member(json_t *o, const char *key, size_t max)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (v == NULL)
		return NULL;
	if (!json_is_string(v) || (s = json_string_value(v)) == NULL ||
	    json_string_length(v) != strlen(s) || strlen(s) > max)
		return (const char *)-1;
	return s;
}

static int
host_name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (i >= HUB_HOST_MAX || !((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

static int
token_shape_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len != HUB_ETOKEN_LEN || memcmp(s, HUB_ETOKEN_PREFIX, 4) != 0)
		return 0;
	for (i = 4; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

/* Why a token cannot be used now, or NULL when it can. */
const char *
hub_etoken_state(const struct hub_enroll_token *t, int64_t now)
{
	if (t->revoked_us != 0)
		return "revoked";
	if (t->expires_us != 0 && t->expires_us <= now)
		return "expired";
	if (t->uses >= t->uses_max)
		return "used-up";
	return "valid";
}

/* 403 for any token refusal: one message, the reason in log and audit. */
static json_t *
refuse_token(struct hub_api_req *r, int *status, const char *why,
    int64_t id)
{
	char target[64], result[64];

	if (id > 0)
		snprintf(target, sizeof(target), "token %lld", (long long)id);
	else
		pk_strlcpy(target, "token ?", sizeof(target));
	snprintf(result, sizeof(result), "403 %s token", why);
	log_warnx("enroll: %s: refused: %s (%s)", r->remote, result + 4,
	    target);
	audit(r, target, result);
	return hub_api_error(status, 403, REFUSED);
}

/* Record the agent and take the token's use, in one transaction. */
static int
record(struct hub_store *st, const struct hub_agent *a, int64_t token_id,
    int64_t now, int *ok)
{
	*ok = 0;
	if (st->ops->begin(st) == -1)
		return -1;
	if (st->ops->etoken_use(st, token_id, now, ok) == -1 ||
	    (*ok && st->ops->agent_put(st, a) == -1)) {
		(void)st->ops->rollback(st);
		return -1;
	}
	if (!*ok)
		return st->ops->rollback(st);
	if (st->ops->commit(st) == -1) {
		(void)st->ops->rollback(st);
		return -1;
	}
	return 0;
}

/* With a valid token and CSR: sign, record, answer. */
static json_t *
enroll(struct hub_api_req *r, int *status, const struct hub_enroll_token *t,
    const struct pk_pki_csr *csr, const char *host)
{
	char err[PK_PKI_ERRLEN], target[96], na[PK_TIMESTRLEN];
	struct pk_pki_issued is;
	struct hub_agent a, old;
	json_t *o;
	int found, ok;

	memset(&a, 0, sizeof(a));
	if (pk_pki_csr_id(csr, a.agent_id, sizeof(a.agent_id)) == -1 ||
	    pk_pki_csr_spki_hex(csr, a.spki, sizeof(a.spki)) == -1)
		return hub_api_error(status, 500, "cannot hash the key");
	snprintf(target, sizeof(target), "%s token %lld", a.agent_id,
	    (long long)t->id);
	if (r->st->ops->agent_get(r->st, a.agent_id, &old, &found) == -1) {
		audit(r, target, "500 store");
		return hub_api_error(status, 500, "store unavailable");
	}
	/* A revoked identity stays revoked: the agent needs a new key. */
	if (found && old.revoked_us != 0) {
		log_warnx("enroll: %s: refused: agent %s is revoked", r->remote,
		    a.agent_id);
		audit(r, target, "403 revoked agent");
		return hub_api_error(status, 403, "this key's agent id %s is "
		    "revoked: enroll with a new key", a.agent_id);
	}
	if (pk_pki_ca_sign_agent(E.ca, csr, a.agent_id, HUB_CERT_DAYS, &is,
	    err, sizeof(err)) == -1) {
		log_warnx("enroll: %s: %s", r->remote, err);
		audit(r, target, "500 sign");
		return hub_api_error(status, 500, "cannot sign");
	}
	pk_strlcpy(a.host_name, host, sizeof(a.host_name));
	pk_strlcpy(a.tag, t->tag, sizeof(a.tag));
	pk_strlcpy(a.serial, is.serial, sizeof(a.serial));
	a.enrolled_us = r->now_us;
	a.token_id = t->id;
	a.not_after_us = is.not_after_us;
	if (record(r->st, &a, t->id, r->now_us, &ok) == -1) {
		free(is.pem);
		audit(r, target, "500 store");
		return hub_api_error(status, 500, "store unavailable");
	}
	if (!ok) {		/* the last use went to someone else */
		free(is.pem);
		return refuse_token(r, status, "used-up", t->id);
	}
	log_info("enroll: %s: agent %s enrolled (host %s, tag %s, token "
	    "%lld), certificate %s until %s", r->remote, a.agent_id,
	    host[0] ? host : "-", a.tag[0] ? a.tag : "-", (long long)t->id,
	    a.serial, pk_time_format((uint64_t)a.not_after_us, na,
	    sizeof(na)));
	audit(r, target, "ok");
	o = json_pack("{s:s,s:s,s:s}", "agent_id", a.agent_id, "certificate",
	    is.pem, "ca", E.ca_pem);
	free(is.pem);
	if (o == NULL)
		return hub_api_error(status, 500, "out of memory");
	*status = 200;
	return o;
}

json_t *
hub_enroll_api(struct hub_api_req *r, int *status)
{
	char err[PK_PKI_ERRLEN], addr[ADDR_MAX], msg[PK_PKI_ERRLEN + 16];
	uint8_t h[HUB_TOKEN_HASH_LEN];
	struct hub_enroll_token t;
	struct pk_pki_csr *csr;
	const char *tok, *pem, *host, *why;
	json_error_t je;
	json_t *body, *o;
	int found;

	if (!E.on || ca_load() != 1) {
		audit(r, "", "503 no CA");
		return hub_api_error(status, 503, "enrollment is not set up "
		    "on this hub (no member CA)");
	}
	remote_addr(r->remote, addr, sizeof(addr));
	switch (rate_hit(addr, r->now_us)) {
	case 0:
		break;
	case 1:
		log_warnx("enroll: %s: over %d attempts in %d s: refusing "
		    "until the window ends", addr, HUB_ENROLL_RATE,
		    HUB_ENROLL_WINDOW_S);
		audit(r, "", "429 rate limited");
		/* FALLTHROUGH */
	default:
		return hub_api_error(status, 429, "too many enrollment "
		    "attempts from %s: at most %d per %d s", addr,
		    HUB_ENROLL_RATE, HUB_ENROLL_WINDOW_S);
	}
	body = r->body_len > 0 ? json_loadb(r->body, r->body_len,
	    JSON_REJECT_DUPLICATES, &je) : NULL;
	tok = body != NULL && json_is_object(body) ? member(body, "token",
	    ENROLL_TOKEN_TEXT_MAX) : (const char *)-1;
	pem = body != NULL && json_is_object(body) ? member(body, "csr",
	    PK_PKI_PEM_MAX) : (const char *)-1;
	host = body != NULL && json_is_object(body) ? member(body,
	    "host_name", HUB_HOST_MAX) : (const char *)-1;
	if (host == NULL)
		host = "";
	why = body == NULL ? "body: want a JSON object" :
	    !json_is_object(body) ? "body: want a JSON object" :
	    tok == NULL || tok == (const char *)-1 ? "token: want a string" :
	    pem == NULL || pem == (const char *)-1 ? "csr: want a PEM string" :
	    host == (const char *)-1 || !host_name_ok(host) ?
	    "host_name: want up to 255 of A-Z a-z 0-9 . - _" : NULL;
	if (why != NULL) {
		snprintf(msg, sizeof(msg), "400 %s", why);
		audit(r, "", msg);
		json_decref(body);
		return hub_api_error(status, 400, "%s", why);
	}
	/* The token: its shape first (no store lookup for what we never
	 * issued), then its row. */
	found = 0;
	memset(&t, 0, sizeof(t));
	if (token_shape_ok(tok)) {
		hub_token_hash(tok, strlen(tok), h);
		if (r->st->ops->etoken_find(r->st, h, &t, &found) == -1) {
			json_decref(body);
			audit(r, "", "500 store");
			return hub_api_error(status, 500, "store unavailable");
		}
	}
	why = found ? hub_etoken_state(&t, r->now_us) : "unknown";
	if (strcmp(why, "valid") != 0) {
		json_decref(body);
		return refuse_token(r, status, why, found ? t.id : 0);
	}
	if ((csr = pk_pki_csr_parse(pem, strlen(pem), err, sizeof(err))) ==
	    NULL) {
		snprintf(msg, sizeof(msg), "400 %s", err);
		log_warnx("enroll: %s: refused: %s", r->remote, err);
		audit(r, "", msg);
		json_decref(body);
		return hub_api_error(status, 400, "%s", err);
	}
	o = enroll(r, status, &t, csr, host);
	pk_pki_csr_free(csr);
	json_decref(body);
	return o;
}

/* ------------------------------------------------------------ renewal */

static int
renew_answer(struct hub_store *st, const char *cn, const char *peer,
    int result, const char *why, char *msg, size_t msgcap)
{
	char res[PK_ERROR_MSG_MAX + 16];

	snprintf(msg, msgcap, "%s", why);
	snprintf(res, sizeof(res), "%s: %s", result == PK_CERT_LATER ?
	    "later" : "refused", why);
	log_warnx("renew: %s [%s]: %s", peer, cn, why);
	(void)hub_audit(st, cn, "agent", "RENEW", cn, peer, res);
	return result;
}

int
hub_enroll_renew(struct hub_store *st, const char *cn, const char *peer,
    const char *csr_pem, size_t len, int64_t now_us, char **pem, char *msg,
    size_t msgcap)
{
	char err[PK_PKI_ERRLEN], id[PK_PKI_ID_LEN + 1], na[PK_TIMESTRLEN];
	char why[PK_PKI_ERRLEN + 64];
	struct pk_pki_issued is;
	struct pk_pki_csr *csr;
	struct renewed *slot;
	struct hub_agent a;
	int found;

	*pem = NULL;
	if (!E.on || ca_load() != 1)
		return renew_answer(st, cn, peer, PK_CERT_LATER,
		    "the hub has no member CA to sign with", msg, msgcap);
	if ((csr = pk_pki_csr_parse(csr_pem, len, err, sizeof(err))) ==
	    NULL) {
		snprintf(why, sizeof(why), "bad request: %s", err);
		return renew_answer(st, cn, peer, PK_CERT_REFUSED, why, msg,
		    msgcap);
	}
	/* The id is the key's: a CSR for another key would hand this
	 * connection someone else's identity. */
	if (pk_pki_csr_id(csr, id, sizeof(id)) == -1 || strcmp(id, cn) != 0) {
		pk_pki_csr_free(csr);
		return renew_answer(st, cn, peer, PK_CERT_REFUSED, "the "
		    "request is not for the key of this connection's "
		    "certificate", msg, msgcap);
	}
	if (st->ops->agent_get(st, cn, &a, &found) == -1) {
		pk_pki_csr_free(csr);
		return renew_answer(st, cn, peer, PK_CERT_LATER,
		    "store unavailable", msg, msgcap);
	}
	if (!found || a.revoked_us != 0) {
		pk_pki_csr_free(csr);
		return renew_answer(st, cn, peer, PK_CERT_REFUSED, !found ?
		    "this agent did not enroll with this hub: its "
		    "certificate is renewed by hand" : "this agent is revoked",
		    msg, msgcap);
	}
	slot = &E.renewed[pk_fnv1a64(cn, strlen(cn), 0) % HUB_RENEW_SLOTS];
	if (strcmp(slot->id, cn) == 0 &&
	    now_us - slot->at_us < (int64_t)HUB_RENEW_GAP_S * 1000000) {
		pk_pki_csr_free(csr);
		return renew_answer(st, cn, peer, PK_CERT_LATER, "renewed "
		    "less than an hour ago", msg, msgcap);
	}
	if (pk_pki_ca_sign_agent(E.ca, csr, cn, HUB_CERT_DAYS, &is, err,
	    sizeof(err)) == -1) {
		pk_pki_csr_free(csr);
		log_warnx("renew: %s [%s]: %s", peer, cn, err);
		return renew_answer(st, cn, peer, PK_CERT_LATER,
		    "cannot sign", msg, msgcap);
	}
	pk_pki_csr_free(csr);
	pk_strlcpy(a.serial, is.serial, sizeof(a.serial));
	a.not_after_us = is.not_after_us;
	if (st->ops->agent_put(st, &a) == -1) {
		free(is.pem);
		return renew_answer(st, cn, peer, PK_CERT_LATER,
		    "store unavailable", msg, msgcap);
	}
	pk_strlcpy(slot->id, cn, sizeof(slot->id));
	slot->at_us = now_us;
	log_info("renew: %s [%s]: certificate %s until %s", peer, cn,
	    a.serial, pk_time_format((uint64_t)a.not_after_us, na,
	    sizeof(na)));
	(void)hub_audit(st, cn, "agent", "RENEW", cn, peer, "ok");
	snprintf(msg, msgcap, "certificate %s", a.serial);
	*pem = is.pem;
	return PK_CERT_ISSUED;
}
