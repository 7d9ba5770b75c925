/*
 * auth.c - tokens, roles and the audit log (see auth.h).  The secret's
 * randomness comes from getrandom(2) (the kernel's CSPRNG, no OpenSSL
 * outside tls.c); the hash is common/sha256.c.  Called by hub/api.c and
 * hub/main.c.
 */
#include <sys/random.h>

#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/pktime.h"
#include "common/sha256.h"
#include "common/util.h"
#include "hub/auth.h"

static const char *const role_names[] = {
	[HUB_ROLE_NONE] = "none", [HUB_ROLE_VIEWER] = "viewer",
	[HUB_ROLE_RESPONDER] = "responder", [HUB_ROLE_ADMIN] = "admin",
};

int
hub_role_parse(const char *s)
{
	int i;

	for (i = HUB_ROLE_VIEWER; i <= HUB_ROLE_ADMIN; i++)
		if (strcmp(s, role_names[i]) == 0)
			return i;
	return HUB_ROLE_NONE;
}

const char *
hub_role_name(int role)
{
	return role >= HUB_ROLE_NONE && role <= HUB_ROLE_ADMIN ?
	    role_names[role] : "none";
}

int
hub_token_name_ok(const char *name)
{
	size_t i;
	char c;

	for (i = 0; name[i] != '\0'; i++) {
		c = name[i];
		if (i >= HUB_TOKEN_NAME_MAX || !((c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '@' || c == '-'))
			return 0;
	}
	return i > 0;
}

void
hub_token_hash(const char *secret, size_t len,
    uint8_t hash[HUB_TOKEN_HASH_LEN])
{
	pk_sha256(secret, len, hash);
}

/* base64url without padding: 32 bytes -> 43 characters. */
void
hub_b64url(const uint8_t *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_";
	uint32_t v;
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
	}
	out[o] = '\0';
}

int
hub_random_bytes(uint8_t *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = getrandom(buf + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	return 0;
}

int
hub_token_create(struct hub_store *st, const char *name, int role,
    char *secret, size_t cap, const char **err)
{
	uint8_t rnd[HUB_TOKEN_RANDOM];
	struct hub_token t;
	int dup;

	if (!hub_token_name_ok(name)) {
		*err = "bad name (1..64 of A-Z a-z 0-9 . _ @ -)";
		return -1;
	}
	if (role < HUB_ROLE_VIEWER || role > HUB_ROLE_ADMIN) {
		*err = "bad role (viewer, responder or admin)";
		return -1;
	}
	if (cap < HUB_TOKEN_LEN + 1 ||
	    hub_random_bytes(rnd, sizeof(rnd)) == -1) {
		*err = "no random bytes";
		return -1;
	}
	memcpy(secret, HUB_TOKEN_PREFIX, 4);
	hub_b64url(rnd, sizeof(rnd), secret + 4);
	memset(&t, 0, sizeof(t));
	pk_strlcpy(t.name, name, sizeof(t.name));
	t.role = role;
	t.created_us = (int64_t)pk_now_us();
	hub_token_hash(secret, strlen(secret), t.hash);
	if (st->ops->token_add(st, &t, &dup) == -1) {
		*err = "store failed";
		return -1;
	}
	return dup ? 1 : 0;
}

int
hub_token_check(struct hub_store *st, const char *s, size_t len,
    struct hub_token *t)
{
	uint8_t h[HUB_TOKEN_HASH_LEN];
	size_t i;
	int found;

	/* Shape first: no store lookup for what we never issued. */
	if (len < 5 || len > HUB_TOKEN_TEXT_MAX ||
	    memcmp(s, HUB_TOKEN_PREFIX, 4) != 0)
		return 1;
	for (i = 4; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 1;
	hub_token_hash(s, len, h);
	if (st->ops->token_find(st, h, t, &found) == -1)
		return -1;
	if (!found || t->revoked_us != 0 || t->role < HUB_ROLE_VIEWER ||
	    t->role > HUB_ROLE_ADMIN)
		return 1;
	return 0;
}

int
hub_audit(struct hub_store *st, const char *actor, const char *role,
    const char *action, const char *target, const char *remote,
    const char *result)
{
	struct hub_audit a;

	memset(&a, 0, sizeof(a));
	a.ts_us = (int64_t)pk_now_us();
	pk_strlcpy(a.actor, actor != NULL ? actor : "", sizeof(a.actor));
	pk_strlcpy(a.role, role != NULL ? role : "", sizeof(a.role));
	pk_strlcpy(a.action, action != NULL ? action : "", sizeof(a.action));
	pk_strlcpy(a.target, target != NULL ? target : "", sizeof(a.target));
	pk_strlcpy(a.remote, remote != NULL ? remote : "", sizeof(a.remote));
	pk_strlcpy(a.result, result != NULL ? result : "", sizeof(a.result));
	if (st->ops->audit_add(st, &a) == -1) {
		log_warnx("audit: cannot store %s %s by %s", a.action,
		    a.target, a.actor);
		return -1;
	}
	return 0;
}
