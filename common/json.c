/*
 * json.c - the bounded JSON writer behind every indicator and health record.
 * Strings handed to it come from packets, so it treats them as untrusted
 * bytes: control characters are escaped, invalid UTF-8 becomes U+FFFD, and
 * the output is always valid JSON in valid UTF-8 or nothing at all (the
 * writer fails as a whole rather than emit half a record).  Portable C; any
 * file may call it (see json.h).
 *
 * j->overflow is the writer's failure flag: 1 means the buffer was too
 * small, 2 means the caller misused the API (too deep, mismatched end, key
 * where none belongs).  Either way every later call does nothing and
 * json_finish() returns -1.  need_comma[d - 1] describes the container open
 * at depth d: bit 0 "a value was already written", bit 1 "it is an array".
 */
#include <string.h>

#include "common/json.h"

#define JF_COMMA	0x01
#define JF_ARRAY	0x02

#define J_OVERFLOW	1
#define J_MISUSE	2

void
json_init(struct json *j, char *buf, size_t cap)
{
	memset(j, 0, sizeof(*j));
	j->buf = buf;
	j->cap = cap;
	if (cap > 0)
		buf[0] = '\0';
	else
		j->overflow = J_OVERFLOW;
}

/* Append raw bytes; one byte is always kept for the final NUL. */
static void
put(struct json *j, const char *s, size_t n)
{
	if (j->overflow)
		return;
	if (n >= j->cap - j->len) {
		j->overflow = J_OVERFLOW;
		return;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

/*
 * Decode one character at p[0..n).  Returns its length in bytes and sets
 * *valid; an invalid sequence is reported with the length of its maximal
 * subpart (Unicode 15, section 3.9, "U+FFFD substitution of maximal
 * subparts"), so one bad sequence costs one U+FFFD and a valid character
 * after it is never swallowed.  The second-byte ranges reject overlongs,
 * surrogates and code points above U+10FFFF at the earliest byte.
 */
static size_t
utf8_char(const uint8_t *p, size_t n, int *valid)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t need, i;

	*valid = 0;
	if (c < 0x80) {
		*valid = 1;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 1;	/* continuation byte, C0, C1, F5..FF */
	for (i = 1; i <= need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			return i;	/* truncated or bad: maximal subpart */
		lo = 0x80;
		hi = 0xbf;
	}
	*valid = 1;
	return need + 1;
}

/* The JSON escape for one ASCII byte, or NULL if it goes out as is. */
static const char *
ascii_escape(uint8_t c, char tmp[7])
{
	static const char hexd[] = "0123456789abcdef";

	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	default:
		break;
	}
	/* DEL is legal JSON but we keep logs free of control bytes. */
	if (c >= 0x20 && c != 0x7f)
		return NULL;
	memcpy(tmp, "\\u00", 4);
	tmp[4] = hexd[c >> 4];
	tmp[5] = hexd[c & 0x0f];
	tmp[6] = '\0';
	return tmp;
}

/*
 * Escape s[0..n) into out (at most outcap - 1 bytes plus a NUL).  Input is
 * cut at maxlen bytes (0 = none) without splitting a character: a valid
 * character crossing the limit is dropped whole.  If the output does not
 * fit, it stops after the last whole escaped character that did, sets
 * *overflow and returns the length written so far.
 */
size_t
json_escape(char *out, size_t outcap, const void *s, size_t n, size_t maxlen,
    int *overflow)
{
	const uint8_t *p = s;
	size_t lim = (maxlen != 0 && maxlen < n) ? maxlen : n;
	size_t i = 0, o = 0, clen, elen;
	const char *e;
	char tmp[7];
	int valid;

	if (outcap == 0) {
		if (n > 0 && lim > 0 && overflow != NULL)
			*overflow = 1;
		return 0;
	}
	while (i < lim) {
		clen = utf8_char(p + i, n - i, &valid);
		if (i + clen > lim)
			break;		/* would split a character at maxlen */
		if (!valid) {
			e = "\xef\xbf\xbd";	/* U+FFFD */
			elen = 3;
		} else if (clen == 1 &&
		    (e = ascii_escape(p[i], tmp)) != NULL) {
			elen = strlen(e);
		} else {
			e = (const char *)p + i;
			elen = clen;
		}
		if (elen >= outcap - o) {
			if (overflow != NULL)
				*overflow = 1;
			break;
		}
		memcpy(out + o, e, elen);
		o += elen;
		i += clen;
	}
	out[o] = '\0';
	return o;
}

static void
misuse(struct json *j)
{
	j->overflow = J_MISUSE;
}

static void
put_escaped(struct json *j, const void *s, size_t n, size_t maxlen)
{
	int ovf = 0;
	size_t w;

	put(j, "\"", 1);
	if (j->overflow)
		return;
	w = json_escape(j->buf + j->len, j->cap - j->len, s, n, maxlen, &ovf);
	if (ovf) {
		j->buf[j->len] = '\0';
		j->overflow = J_OVERFLOW;
		return;
	}
	j->len += w;
	put(j, "\"", 1);
}

/*
 * Everything a value needs before it: the comma, the key, and a check
 * that the key matches the container (required in objects, forbidden in
 * arrays and at the top level, where only one value may be written).
 */
static void
prefix(struct json *j, const char *key)
{
	uint8_t *f;

	if (j->overflow)
		return;
	if (j->depth == 0) {
		if (key != NULL || j->len != 0)
			misuse(j);
		return;
	}
	f = &j->need_comma[j->depth - 1];
	if ((*f & JF_ARRAY) ? key != NULL : key == NULL) {
		misuse(j);
		return;
	}
	if (*f & JF_COMMA)
		put(j, ",", 1);
	*f |= JF_COMMA;
	if (key != NULL) {
		put_escaped(j, key, strlen(key), 0);
		put(j, ":", 1);
	}
}

static void
open_container(struct json *j, const char *key, int array)
{
	prefix(j, key);
	if (j->overflow)
		return;
	if (j->depth >= JSON_MAX_DEPTH) {
		misuse(j);
		return;
	}
	put(j, array ? "[" : "{", 1);
	if (j->overflow)
		return;
	j->need_comma[j->depth++] = array ? JF_ARRAY : 0;
}

static void
close_container(struct json *j, int array)
{
	if (j->overflow)
		return;
	if (j->depth == 0 ||
	    !!(j->need_comma[j->depth - 1] & JF_ARRAY) != !!array) {
		misuse(j);
		return;
	}
	put(j, array ? "]" : "}", 1);
	if (!j->overflow)
		j->depth--;
}

void
json_obj_begin(struct json *j, const char *key)
{
	open_container(j, key, 0);
}

void
json_obj_end(struct json *j)
{
	close_container(j, 0);
}

void
json_arr_begin(struct json *j, const char *key)
{
	open_container(j, key, 1);
}

void
json_arr_end(struct json *j)
{
	close_container(j, 1);
}

void
json_str(struct json *j, const char *key, const char *s, size_t maxlen)
{
	if (s == NULL) {
		json_nullv(j, key);
		return;
	}
	json_strn(j, key, s, strlen(s), maxlen);
}

void
json_strn(struct json *j, const char *key, const void *s, size_t n,
    size_t maxlen)
{
	prefix(j, key);
	if (s == NULL)
		n = 0;
	put_escaped(j, s == NULL ? "" : s, n, maxlen);
}

/* Decimal digits without printf: no locale, no %llu portability trouble. */
static void
put_u64(struct json *j, uint64_t v, int neg)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	if (neg)
		tmp[--i] = '-';
	put(j, tmp + i, sizeof(tmp) - i);
}

void
json_u64(struct json *j, const char *key, uint64_t v)
{
	prefix(j, key);
	put_u64(j, v, 0);
}

void
json_i64(struct json *j, const char *key, int64_t v)
{
	prefix(j, key);
	/* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
	if (v < 0)
		put_u64(j, (uint64_t)0 - (uint64_t)v, 1);
	else
		put_u64(j, (uint64_t)v, 0);
}

void
json_bool(struct json *j, const char *key, int v)
{
	prefix(j, key);
	if (v)
		put(j, "true", 4);
	else
		put(j, "false", 5);
}

void
json_nullv(struct json *j, const char *key)
{
	prefix(j, key);
	put(j, "null", 4);
}

long
json_finish(struct json *j)
{
	if (j->overflow || j->depth != 0 || j->len == 0) {
		if (j->cap > 0)
			j->buf[0] = '\0';
		if (!j->overflow)
			misuse(j);
		return -1;
	}
	return (long)j->len;
}
