/*
 * apiparam.c - the API's path and query-string checks (see apiparam.h).
 * Portable C, no allocation: every buffer is a fixed field whose size is
 * checked before a byte goes in, so a hostile request can cost at most
 * one struct hub_params.  Called by hub/api.c and the fuzzer.
 */
#include <stdio.h>
#include <string.h>

#include "common/pktime.h"
#include "common/util.h"
#include "hub/apiparam.h"

#define US_PER_S	1000000LL
#define SECS_MAX	(100ULL * 366 * 86400)	/* durations: a century */

static int
fail(char *err, size_t errlen, const char *what, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s%s", what, what[0] != '\0' ?
		    ": " : "", why);
	return -1;
}

static int
is_ctl(unsigned char ch)
{
	return ch < 0x20 || ch == 0x7f;
}

/* ------------------------------------------------------------ path */

int
hub_path_check(const char *raw, char *out, size_t cap, char *err,
    size_t errlen)
{
	size_t i, o = 0, seg = 0;
	int hi, lo, ch;

	if (raw == NULL || raw[0] != '/')
		return fail(err, errlen, "path", "must start with /");
	for (i = 0; raw[i] != '\0'; i++) {
		if (i >= HUB_PATH_LEN_MAX || o + 1 >= cap)
			return fail(err, errlen, "path", "too long");
		ch = (unsigned char)raw[i];
		if (ch == '%') {
			if ((hi = pk_hexval(raw[i + 1])) < 0 ||
			    (lo = pk_hexval(raw[i + 2])) < 0)
				return fail(err, errlen, "path", "bad escape");
			ch = hi * 16 + lo;
			i += 2;
			if (ch == '/')
				return fail(err, errlen, "path",
				    "encoded /");
		} else if (ch == '/') {
			/* the segment that just ended */
			if (i > 0 && o == seg)
				return fail(err, errlen, "path", "empty segment");
			if ((o - seg == 1 && out[seg] == '.') ||
			    (o - seg == 2 && out[seg] == '.' &&
			    out[seg + 1] == '.'))
				return fail(err, errlen, "path",
				    "dot segment");
			out[o++] = '/';
			seg = o;
			continue;
		}
		if (is_ctl((unsigned char)ch))
			return fail(err, errlen, "path", "control byte");
		out[o++] = (char)ch;
	}
	if ((o - seg == 1 && out[seg] == '.') ||
	    (o - seg == 2 && out[seg] == '.' && out[seg + 1] == '.'))
		return fail(err, errlen, "path", "dot segment");
	out[o] = '\0';
	return 0;
}

/* ------------------------------------------------------------ query */

/* Decode raw[0..len) ('+' is space) into out (cap bytes).  0 or -1. */
static int
unescape(const char *raw, size_t len, char *out, size_t cap,
    const char **why)
{
	size_t i, o = 0;
	int hi, lo, ch;

	for (i = 0; i < len; i++) {
		ch = (unsigned char)raw[i];
		if (ch == '+') {
			ch = ' ';
		} else if (ch == '%') {
			if (i + 2 >= len ||
			    (hi = pk_hexval(raw[i + 1])) < 0 ||
			    (lo = pk_hexval(raw[i + 2])) < 0) {
				*why = "bad escape";
				return -1;
			}
			ch = hi * 16 + lo;
			i += 2;
		}
		if (is_ctl((unsigned char)ch)) {
			*why = "control byte";
			return -1;
		}
		if (o + 1 >= cap) {
			*why = "too long";
			return -1;
		}
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

/* Is name (NUL-terminated) a word of the space-separated list? */
static int
word_in(const char *list, const char *name)
{
	size_t n = strlen(name), w;

	if (list == NULL || n == 0)
		return 0;
	while (*list != '\0') {
		while (*list == ' ')
			list++;
		for (w = 0; list[w] != '\0' && list[w] != ' '; w++)
			;
		if (w == n && memcmp(list, name, n) == 0)
			return 1;
		list += w;
	}
	return 0;
}

static int
param_one(struct hub_params *p, const char *s, size_t len,
    const char *allowed, char *err, size_t errlen)
{
	struct hub_param *q;
	const char *eq, *why = NULL;
	char key[HUB_PARAM_KEY_MAX + 1];
	size_t i;

	eq = memchr(s, '=', len);
	if (unescape(s, eq != NULL ? (size_t)(eq - s) : len, key,
	    sizeof(key), &why) == -1)
		return fail(err, errlen, "parameter name", why);
	for (i = 0; key[i] != '\0'; i++)
		if (!((key[i] >= 'a' && key[i] <= 'z') || key[i] == '_'))
			return fail(err, errlen, "parameter name",
			    "not [a-z_]");
	if (key[0] == '\0')
		return fail(err, errlen, "parameter name", "empty");
	if (!word_in(allowed, key))
		return fail(err, errlen, key, "unknown parameter");
	if (eq == NULL)
		return fail(err, errlen, key, "no value");
	if (hub_params_get(p, key) != NULL)
		return fail(err, errlen, key, "given twice");
	if (p->n >= HUB_PARAM_MAX)
		return fail(err, errlen, key, "too many parameters");
	q = &p->p[p->n];
	eq++;
	if (unescape(eq, len - (size_t)(eq - s), q->val, sizeof(q->val),
	    &why) == -1)
		return fail(err, errlen, key, why);
	if (q->val[0] == '\0')
		return fail(err, errlen, key, "empty value");
	memcpy(q->key, key, sizeof(q->key));
	p->n++;
	return 0;
}

int
hub_params_parse(const char *raw, const char *allowed, struct hub_params *p,
    char *err, size_t errlen)
{
	const char *s, *amp;
	size_t len, total;

	p->n = 0;
	if (raw == NULL || raw[0] == '\0')
		return 0;
	total = strlen(raw);
	if (total > HUB_QUERY_LEN_MAX)
		return fail(err, errlen, "query", "too long");
	for (s = raw; s < raw + total; s = amp + 1) {
		amp = memchr(s, '&', total - (size_t)(s - raw));
		if (amp == NULL)
			amp = raw + total;
		len = (size_t)(amp - s);
		if (len > 0 && param_one(p, s, len, allowed, err, errlen) ==
		    -1)
			return -1;
		if (amp == raw + total)
			break;
	}
	return 0;
}

const char *
hub_params_get(const struct hub_params *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->n && i < HUB_PARAM_MAX; i++)
		if (strcmp(p->p[i].key, key) == 0)
			return p->p[i].val;
	return NULL;
}

int
hub_params_limit(const struct hub_params *p, uint64_t *out, char *err,
    size_t errlen)
{
	const char *v = hub_params_get(p, "limit"), *why;

	*out = HUB_LIMIT_DEFAULT;
	if (v != NULL && pk_parse_u64(v, 1, HUB_LIMIT_MAX, out, &why) == -1)
		return fail(err, errlen, "limit", "want 1..1000");
	return 0;
}

/* ------------------------------------------------------------ time */

int
hub_time_arg(const char *s, int64_t now_us, int64_t *us)
{
	uint64_t secs;
	const char *why;

	if (strlen(s) > 40)
		return -1;
	if (pk_time_parse(s, 1, us) == 0)
		return 0;
	if (pk_parse_duration(s, 0, SECS_MAX, &secs, &why) == -1)
		return -1;
	*us = now_us - (int64_t)secs * US_PER_S;
	return 0;
}

/* ------------------------------------------------------------ cursor */

int
hub_cursor_encode(int64_t ts_us, const char *agent_id, uint64_t seq,
    char *out, size_t cap)
{
	char plain[21 + 21 + HUB_ID_MAX + 1];
	int n;

	n = snprintf(plain, sizeof(plain), "%lld:%llu:%s", (long long)ts_us,
	    (unsigned long long)seq, agent_id);
	if (n < 0 || (size_t)n >= sizeof(plain) || cap < 2 * (size_t)n + 2)
		return -1;
	out[0] = 'c';
	pk_hex((const uint8_t *)plain, (size_t)n, out + 1);
	return 0;
}

int
hub_cursor_decode(const char *s, struct hub_ind_filter *f)
{
	char plain[21 + 21 + HUB_ID_MAX + 1], num[22];
	const char *c1, *c2, *why;
	uint64_t v;
	size_t len, i, n;
	int hi, lo;

	len = strlen(s);
	if (len < 3 || s[0] != 'c' || (len - 1) % 2 != 0 ||
	    (len - 1) / 2 >= sizeof(plain))
		return -1;
	n = (len - 1) / 2;
	for (i = 0; i < n; i++) {
		if ((hi = pk_hexval(s[1 + 2 * i])) < 0 ||
		    (lo = pk_hexval(s[2 + 2 * i])) < 0)
			return -1;
		plain[i] = (char)(hi * 16 + lo);
		if (is_ctl((unsigned char)plain[i]))
			return -1;
	}
	plain[n] = '\0';
	if ((c1 = strchr(plain, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL)
		return -1;
	/* ts: an optional '-' and digits (pk_parse_u64 has no sign). */
	if ((size_t)(c1 - plain) >= sizeof(num) || c1 == plain)
		return -1;
	memcpy(num, plain, (size_t)(c1 - plain));
	num[c1 - plain] = '\0';
	if (num[0] == '-') {
		if (pk_parse_u64(num + 1, 0, INT64_MAX, &v, &why) == -1)
			return -1;
		f->after_ts_us = -(int64_t)v;
	} else {
		if (pk_parse_u64(num, 0, INT64_MAX, &v, &why) == -1)
			return -1;
		f->after_ts_us = (int64_t)v;
	}
	if ((size_t)(c2 - c1 - 1) >= sizeof(num) || c2 == c1 + 1)
		return -1;
	memcpy(num, c1 + 1, (size_t)(c2 - c1 - 1));
	num[c2 - c1 - 1] = '\0';
	if (pk_parse_u64(num, 0, INT64_MAX, &f->after_seq, &why) == -1)
		return -1;
	if (c2[1] == '\0' || pk_strlcpy(f->after_agent, c2 + 1,
	    sizeof(f->after_agent)) >= sizeof(f->after_agent))
		return -1;
	f->has_after = 1;
	return 0;
}

/* ------------------------------------------------------------ filters */

static int
text_arg(const struct hub_params *p, const char *key, size_t max,
    const char **out, char *err, size_t errlen)
{
	const char *v = hub_params_get(p, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (strlen(v) > max)
		return fail(err, errlen, key, "too long");
	*out = v;
	return 0;
}

static int
time_param(const struct hub_params *p, const char *key, int64_t now_us,
    int64_t *out, char *err, size_t errlen)
{
	const char *v = hub_params_get(p, key);

	*out = 0;
	if (v == NULL)
		return 0;
	if (hub_time_arg(v, now_us, out) == -1)
		return fail(err, errlen, key, "want RFC 3339 time "
		    "(2026-01-02T03:04:05Z) or a duration (24h)");
	if (*out <= 0)
		return fail(err, errlen, key, "before 1970");
	return 0;
}

int
hub_ind_filter_parse(const struct hub_params *p, int64_t now_us,
    struct hub_ind_filter *f, char *err, size_t errlen)
{
	const char *v, *why;
	uint64_t sev;

	memset(f, 0, sizeof(*f));
	f->severity_min = -1;
	if (text_arg(p, "host", HUB_HOST_MAX, &f->host, err, errlen) == -1 ||
	    text_arg(p, "kind", HUB_SHORT_MAX, &f->kind, err, errlen) == -1 ||
	    text_arg(p, "rule", HUB_RULE_MAX, &f->rule, err, errlen) == -1 ||
	    text_arg(p, "q", HUB_TEXT_MAX, &f->text, err, errlen) == -1)
		return -1;
	if ((v = hub_params_get(p, "severity")) != NULL) {
		if (pk_parse_u64(v, 0, 100, &sev, &why) == -1)
			return fail(err, errlen, "severity", "want 0..100");
		f->severity_min = (int)sev;
	}
	if (time_param(p, "since", now_us, &f->since_us, err, errlen) == -1 ||
	    time_param(p, "until", now_us, &f->until_us, err, errlen) == -1)
		return -1;
	if (f->since_us != 0 && f->until_us != 0 && f->until_us <= f->since_us)
		return fail(err, errlen, "until", "not after since");
	if (hub_params_limit(p, &f->limit, err, errlen) == -1)
		return -1;
	if ((v = hub_params_get(p, "cursor")) != NULL &&
	    hub_cursor_decode(v, f) == -1)
		return fail(err, errlen, "cursor", "not a cursor this hub "
		    "made");
	return 0;
}
