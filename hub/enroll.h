/*
 * enroll.h - enrollment on the hub (docs/enrollment.md): the member CA in
 * data_dir/ca/, enrollment tokens ("pke_" secrets stored as SHA-256, with
 * an expiry, a number of uses, a tag), POST /api/v1/enroll (a CSR and a
 * token in, a certificate whose CN is the agent id derived from the key
 * out; rate-limited per address, every attempt audited), and revocation
 * of enrolled agents, checked by the listener at each HELLO.  The
 * endpoint's state (the CA, the rate table) is this module's, set up by
 * hub_enroll_init() before the API starts.  Called by hub/api.c (the
 * route), hub/listener.c (HELLO), hub/main.c (serve and the `ca`,
 * `enroll-token` and `agent` subcommands, in hub/enroll_cli.c).
 */
#ifndef PICKET_HUB_ENROLL_H
#define PICKET_HUB_ENROLL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hub/store.h"

struct hub_api_req;
struct hub_config;

#define HUB_ETOKEN_PREFIX	"pke_"
#define HUB_ETOKEN_LEN		(4 + 43)	/* prefix + base64url(32) */
#define HUB_CERT_DAYS		397		/* agent certificates */
#define HUB_ENROLL_RATE		10		/* attempts per address ... */
#define HUB_ENROLL_WINDOW_S	60		/* ... per this many seconds */
#define HUB_ENROLL_ADDRS	4096		/* rate table entries */
#define HUB_CA_DIR		"ca"		/* under data_dir */

/* data_dir/ca/ca.crt and ca.key into out (cap bytes each): 0 or -1. */
int hub_ca_paths(const char *data_dir, char *crt, char *key, size_t cap);

/*
 * Enrollment tokens.  create: a fresh secret (HUB_ETOKEN_LEN + 1 bytes in
 * secret), valid for uses enrollments until expires_us (0: never), with
 * tag (may be ""): 0 with *id, or -1 (*err).
 */
int hub_etoken_create(struct hub_store *st, uint64_t uses,
    int64_t expires_us, const char *tag, char *secret, size_t cap,
    int64_t *id, const char **err);
/* A tag: 0..HUB_TAG_MAX of [A-Za-z0-9._:@-]. */
int hub_tag_ok(const char *tag);

/*
 * Is this agent id revoked?  1 revoked, 0 not (or never enrolled: agents
 * with certificates made by hand have no row), -1 store error.
 */
int hub_agent_revoked(struct hub_store *st, const char *agent_id);

/* `picket-hub serve`: load the CA if data_dir/ca has one (else the
 * endpoint answers 503 until it does) and make the rate table. */
int hub_enroll_init(const struct hub_config *c);
void hub_enroll_free(void);

/*
 * RENEW from a connected agent (hub/listener.c): csr (len bytes of PEM)
 * must be for the key the agent connected with, whose agent id is the
 * certificate's CN cn; the agent must have enrolled here (a row in
 * agents) and not be revoked; one renewal an hour per agent (kept in
 * memory, HUB_RENEW_SLOTS ids; a restart forgets them).  Signs a certificate
 * like enrollment does (same CN, HUB_CERT_DAYS), records its serial and
 * expiry, audits the attempt (actor cn, from peer).  Returns a
 * pk_cert_result: PK_CERT_ISSUED with *pem (malloc'd PEM, the caller
 * frees), or PK_CERT_REFUSED / PK_CERT_LATER with a reason in msg.
 */
int hub_enroll_renew(struct hub_store *st, const char *cn, const char *peer,
    const char *csr, size_t len, int64_t now_us, char **pem, char *msg,
    size_t msgcap);
#define HUB_RENEW_GAP_S		3600	/* one renewal an hour per agent */
#define HUB_RENEW_SLOTS		4096	/* agents whose last renewal we keep */

/* POST /api/v1/enroll (hub/api.c's route table). */
json_t *hub_enroll_api(struct hub_api_req *r, int *status);

/* The subcommands (hub/enroll_cli.c); argv[0] is the subcommand name. */
int hub_cmd_ca(int argc, char **argv);
int hub_cmd_enroll_token(int argc, char **argv);
int hub_cmd_agent(int argc, char **argv);

/* "valid", or why the token can no longer enrol: "revoked", "expired",
 * "used-up".  The endpoint and `enroll-token list` judge alike. */
const char *hub_etoken_state(const struct hub_enroll_token *t, int64_t now);

#endif
