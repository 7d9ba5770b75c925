/*
 * jsoncheck.h - a strict JSON and UTF-8 validator for unit tests, written
 * independently of common/json.c so the writer's output is judged by code
 * that does not share its mistakes.  Header-only (static inline) so any
 * test can include it.
 */
#ifndef PICKET_TEST_JSONCHECK_H
#define PICKET_TEST_JSONCHECK_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------- validator */

/* Length of one strict UTF-8 character at s (n bytes left), 0 if bad. */
static inline size_t
v_utf8(const uint8_t *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Written independently of json.c: decode, then judge the value. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static inline int
v_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/*
 * Validate a JSON string literal at s[*i]; advance *i past it.  If dec is
 * not NULL, append the decoded bytes (only \u00XX escapes are decoded,
 * which is all the writer emits; others make the decode fail).
 */
static inline int
v_string(const uint8_t *s, size_t n, size_t *i, uint8_t *dec, size_t *dlen)
{
	size_t k = *i, c;

	if (k >= n || s[k] != '"')
		return -1;
	for (k++; k < n; ) {
		if (s[k] == '"') {
			*i = k + 1;
			return 0;
		}
		if (s[k] < 0x20)
			return -1;
		if (s[k] == '\\') {
			uint8_t e;

			if (k + 1 >= n)
				return -1;
			switch (s[k + 1]) {
			case '"': e = '"'; break;
			case '\\': e = '\\'; break;
			case '/': e = '/'; break;
			case 'b': e = '\b'; break;
			case 'f': e = '\f'; break;
			case 'n': e = '\n'; break;
			case 'r': e = '\r'; break;
			case 't': e = '\t'; break;
			case 'u':
				if (k + 5 >= n || !v_hex(s[k + 2]) ||
				    !v_hex(s[k + 3]) || !v_hex(s[k + 4]) ||
				    !v_hex(s[k + 5]))
					return -1;
				/* Lone surrogate escapes are not text. */
				if ((s[k + 2] == 'd' || s[k + 2] == 'D') &&
				    strchr("89abAB", s[k + 3]) != NULL)
					return -1;
				if (dec != NULL) {
					if (s[k + 2] != '0' || s[k + 3] != '0')
						return -1;
					unsigned v = 0;
					sscanf((const char *)s + k + 4, "%2x",
					    &v);
					dec[(*dlen)++] = (uint8_t)v;
				}
				k += 6;
				continue;
			default:
				return -1;
			}
			if (dec != NULL)
				dec[(*dlen)++] = e;
			k += 2;
			continue;
		}
		if ((c = v_utf8(s + k, n - k)) == 0)
			return -1;
		if (dec != NULL) {
			memcpy(dec + *dlen, s + k, c);
			*dlen += c;
		}
		k += c;
	}
	return -1;
}

static inline void
v_ws(const uint8_t *s, size_t n, size_t *i)
{
	while (*i < n && (s[*i] == ' ' || s[*i] == '\n' || s[*i] == '\t' ||
	    s[*i] == '\r'))
		(*i)++;
}

static inline int v_value(const uint8_t *s, size_t n, size_t *i,
    int depth);

static inline int
v_number(const uint8_t *s, size_t n, size_t *i)
{
	size_t k = *i;

	if (k < n && s[k] == '-')
		k++;
	if (k >= n || s[k] < '0' || s[k] > '9')
		return -1;
	if (s[k] == '0')
		k++;
	else
		while (k < n && s[k] >= '0' && s[k] <= '9')
			k++;
	*i = k;
	return 0;
}

static inline int
v_container(const uint8_t *s, size_t n, size_t *i, int depth, int obj)
{
	char close = obj ? '}' : ']';
	int first = 1;

	(*i)++;
	for (;;) {
		v_ws(s, n, i);
		if (*i < n && s[*i] == close && first) {
			(*i)++;
			return 0;
		}
		if (obj) {
			if (v_string(s, n, i, NULL, NULL) == -1)
				return -1;
			v_ws(s, n, i);
			if (*i >= n || s[(*i)++] != ':')
				return -1;
		}
		if (v_value(s, n, i, depth + 1) == -1)
			return -1;
		v_ws(s, n, i);
		if (*i >= n)
			return -1;
		if (s[*i] == close) {
			(*i)++;
			return 0;
		}
		if (s[(*i)++] != ',')
			return -1;
		first = 0;
	}
}

static inline int
v_value(const uint8_t *s, size_t n, size_t *i, int depth)
{
	if (depth > 64)
		return -1;
	v_ws(s, n, i);
	if (*i >= n)
		return -1;
	switch (s[*i]) {
	case '{':
		return v_container(s, n, i, depth, 1);
	case '[':
		return v_container(s, n, i, depth, 0);
	case '"':
		return v_string(s, n, i, NULL, NULL);
	case 't':
		if (n - *i >= 4 && memcmp(s + *i, "true", 4) == 0) {
			*i += 4;
			return 0;
		}
		return -1;
	case 'f':
		if (n - *i >= 5 && memcmp(s + *i, "false", 5) == 0) {
			*i += 5;
			return 0;
		}
		return -1;
	case 'n':
		if (n - *i >= 4 && memcmp(s + *i, "null", 4) == 0) {
			*i += 4;
			return 0;
		}
		return -1;
	default:
		return v_number(s, n, i);
	}
}

/* A whole document: one value and nothing after it. */
static inline int
valid_json(const char *s, size_t n)
{
	size_t i = 0;

	if (v_value((const uint8_t *)s, n, &i, 0) == -1)
		return 0;
	v_ws((const uint8_t *)s, n, &i);
	return i == n;
}

/* Exactly one string literal, fully valid. */
static inline int
valid_json_string(const char *s, size_t n)
{
	size_t i = 0;

	return v_string((const uint8_t *)s, n, &i, NULL, NULL) == 0 && i == n;
}

#endif
