/*
 * auth.h - the API's bearer tokens, roles and audit log (docs/api.md).
 * A token is "pkt_" and 43 base64url characters (32 random bytes); the
 * store keeps only its SHA-256, so a stolen database holds no usable
 * secret.  Roles are ordered viewer < responder < admin.  Every token
 * change and every admin or write action is one audit row.  Called by
 * hub/api.c (each request) and hub/main.c (`picket-hub token ...`).
 */
#ifndef PICKET_HUB_AUTH_H
#define PICKET_HUB_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "hub/store.h"

#define HUB_TOKEN_PREFIX	"pkt_"
#define HUB_TOKEN_RANDOM	32			/* bytes */
#define HUB_TOKEN_LEN		(4 + 43)		/* prefix + base64url */
#define HUB_TOKEN_TEXT_MAX	128	/* longest Authorization we hash */

/* "viewer" -> HUB_ROLE_VIEWER ...; HUB_ROLE_NONE for anything else. */
int hub_role_parse(const char *s);
const char *hub_role_name(int role);

/* A token name: 1..HUB_TOKEN_NAME_MAX of [A-Za-z0-9._@-]. */
int hub_token_name_ok(const char *name);

/* The SHA-256 the store keeps for secret. */
void hub_token_hash(const char *secret, size_t len,
    uint8_t hash[HUB_TOKEN_HASH_LEN]);

/*
 * A new token: fresh random secret (HUB_TOKEN_LEN + 1 bytes in secret),
 * stored as name with role.  0; 1 a valid token already has that name;
 * -1 error (logged / err).
 */
int hub_token_create(struct hub_store *st, const char *name, int role,
    char *secret, size_t cap, const char **err);

/*
 * The valid (not revoked) token for the secret s[0..len), into *t.
 * 0 found, 1 unknown or revoked or malformed, -1 store error.
 */
int hub_token_check(struct hub_store *st, const char *s, size_t len,
    struct hub_token *t);

/* One audit row, timed now; fields truncated to fit.  0 or -1. */
int hub_audit(struct hub_store *st, const char *actor, const char *role,
    const char *action, const char *target, const char *remote,
    const char *result);

/* base64url without padding of n bytes into out (4n/3 + 1 bytes). */
void hub_b64url(const uint8_t *in, size_t n, char *out);
/* n bytes from the kernel's random source: 0 or -1. */
int hub_random_bytes(uint8_t *buf, size_t n);

#endif
