/*
 * apiparam.h - the API's input checks, in portable C with no I/O: the raw
 * request path and query string (as they came off the wire) become a
 * checked path and a small table of decoded parameters, and the
 * parameters of GET /api/v1/indicators become a struct hub_ind_filter.
 * Everything here is bounded and refuses rather than guesses; every
 * refusal says which parameter and why, for the 400 body.  Kept apart
 * from hub/api.c (libevent, jansson) so that libFuzzer can drive it alone
 * (tests/fuzz/fuzz_api_params.c).  Called by hub/api.c and the fuzzer.
 */
#ifndef PICKET_HUB_APIPARAM_H
#define PICKET_HUB_APIPARAM_H

#include <stddef.h>
#include <stdint.h>

#include "hub/store.h"

#define HUB_PATH_LEN_MAX	1024	/* raw request path bytes */
#define HUB_QUERY_LEN_MAX	4096	/* raw query string bytes */
#define HUB_PARAM_MAX		16	/* parameters in one query */
#define HUB_PARAM_KEY_MAX	31
#define HUB_PARAM_VAL_MAX	512	/* decoded value bytes */
#define HUB_ERR_MAX		160	/* "parameter x: why" */
#define HUB_LIMIT_DEFAULT	100
#define HUB_LIMIT_MAX		1000
#define HUB_TEXT_MAX		256	/* q= */
/* "c" + hex of "ts:seq:agent": fits any cursor we make. */
#define HUB_CURSOR_MAX		(1 + 2 * (21 + 21 + HUB_ID_MAX))

struct hub_param {
	char	key[HUB_PARAM_KEY_MAX + 1];
	char	val[HUB_PARAM_VAL_MAX + 1];
};

struct hub_params {
	size_t			n;
	struct hub_param	p[HUB_PARAM_MAX];
};

/*
 * raw: the request path before decoding.  out gets it percent-decoded.
 * Refused (-1, reason in err): empty, longer than HUB_PATH_LEN_MAX, not
 * starting with '/', "//", a "." or ".." segment, a bad or NUL escape, an
 * encoded '/', control bytes.
 */
int hub_path_check(const char *raw, char *out, size_t cap, char *err,
    size_t errlen);

/*
 * raw: the query string (after '?', NULL or "" for none).  allowed: the
 * parameter names this endpoint takes, space separated (NULL: none).
 * "a=b&c=d", '+' and %XX decoded; refused: unknown, repeated or empty
 * parameters, a name without '=', bad escapes, control bytes, too many
 * or too long.  0, or -1 with "parameter x: why" in err.
 */
int hub_params_parse(const char *raw, const char *allowed,
    struct hub_params *p, char *err, size_t errlen);

/* The value of key, or NULL. */
const char *hub_params_get(const struct hub_params *p, const char *key);

/*
 * limit (default HUB_LIMIT_DEFAULT, 1..HUB_LIMIT_MAX) into *out.
 * 0 or -1 with err.
 */
int hub_params_limit(const struct hub_params *p, uint64_t *out, char *err,
    size_t errlen);

/*
 * A time argument: RFC 3339 ("2026-11-26T10:00:00Z", fraction and
 * +hh:mm offsets allowed) or a duration before now ("24h", "30m", "7d",
 * plain seconds).  0 or -1.
 */
int hub_time_arg(const char *s, int64_t now_us, int64_t *us);

/*
 * The filters of GET /api/v1/indicators (docs/api.md): host, kind, rule,
 * severity (minimum, 0..100), since, until, q, limit, cursor.  f's
 * strings point into p.  0, or -1 with "parameter x: why" in err.
 */
int hub_ind_filter_parse(const struct hub_params *p, int64_t now_us,
    struct hub_ind_filter *f, char *err, size_t errlen);

/* The opaque cursor after a row, and back.  0 or -1. */
int hub_cursor_encode(int64_t ts_us, const char *agent_id, uint64_t seq,
    char *out, size_t cap);
int hub_cursor_decode(const char *s, struct hub_ind_filter *f);

#endif
