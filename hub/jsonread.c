/*
 * jsonread.c - the hub's bounded JSON reader (see jsonread.h).  A strict
 * recursive-descent checker of RFC 8259 syntax: every step checks the
 * position against the length, nesting stops at PK_JR_MAX_DEPTH, so any
 * byte string is safe to hand it.  Lookups walk the document again for
 * each path; records are at most a few kilobytes and the hub reads about
 * fifteen fields from each, so a second tree structure would cost more
 * than it saves.  Portable; called by hub/ingest.c, tests and the fuzzer.
 */
#include <string.h>

#include "hub/jsonread.h"
#include "common/util.h"

struct jr {
	const char	*s;
	size_t		 len;
	size_t		 pos;
};

static int jr_value(struct jr *r, int depth);

static void
jr_ws(struct jr *r)
{
	while (r->pos < r->len && (r->s[r->pos] == ' ' ||
	    r->s[r->pos] == '\t' || r->s[r->pos] == '\n' ||
	    r->s[r->pos] == '\r'))
		r->pos++;
}

/* The string starting at r->pos (a quote): advance past it. */
static int
jr_string(struct jr *r)
{
	if (r->pos >= r->len || r->s[r->pos] != '"')
		return -1;
	r->pos++;
	while (r->pos < r->len) {
		unsigned char c = (unsigned char)r->s[r->pos];

		if (c == '"') {
			r->pos++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c != '\\') {
			r->pos++;
			continue;
		}
		if (r->pos + 1 >= r->len)
			return -1;
		c = (unsigned char)r->s[r->pos + 1];
		if (c == 'u') {
			size_t i;

			if (r->len - r->pos < 6)
				return -1;
			for (i = 2; i < 6; i++)
				if (pk_hexval((unsigned char)r->s[r->pos + i]) < 0)
					return -1;
			r->pos += 6;
			continue;
		}
		if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
			return -1;
		r->pos += 2;
	}
	return -1;
}

static int
jr_digits(struct jr *r)
{
	size_t start = r->pos;

	while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
		r->pos++;
	return r->pos > start ? 0 : -1;
}

static int
jr_number(struct jr *r)
{
	if (r->pos < r->len && r->s[r->pos] == '-')
		r->pos++;
	if (r->pos < r->len && r->s[r->pos] == '0')
		r->pos++;
	else if (jr_digits(r) == -1)
		return -1;
	if (r->pos < r->len && r->s[r->pos] == '.') {
		r->pos++;
		if (jr_digits(r) == -1)
			return -1;
	}
	if (r->pos < r->len && (r->s[r->pos] == 'e' || r->s[r->pos] == 'E')) {
		r->pos++;
		if (r->pos < r->len && (r->s[r->pos] == '+' ||
		    r->s[r->pos] == '-'))
			r->pos++;
		if (jr_digits(r) == -1)
			return -1;
	}
	return 0;
}

static int
jr_word(struct jr *r, const char *w)
{
	size_t n = strlen(w);

	if (r->len - r->pos < n || memcmp(r->s + r->pos, w, n) != 0)
		return -1;
	r->pos += n;
	return 0;
}

/* Object or array at r->pos; close is '}' or ']'. */
static int
jr_container(struct jr *r, int depth, char close)
{
	r->pos++;
	jr_ws(r);
	if (r->pos < r->len && r->s[r->pos] == close) {
		r->pos++;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (jr_string(r) == -1)
				return -1;
			jr_ws(r);
			if (r->pos >= r->len || r->s[r->pos] != ':')
				return -1;
			r->pos++;
		}
		if (jr_value(r, depth + 1) == -1)
			return -1;
		jr_ws(r);
		if (r->pos >= r->len)
			return -1;
		if (r->s[r->pos] == close) {
			r->pos++;
			return 0;
		}
		if (r->s[r->pos] != ',')
			return -1;
		r->pos++;
		jr_ws(r);
	}
}

static int
jr_type(char c)
{
	switch (c) {
	case '{':	return PK_JR_OBJECT;
	case '[':	return PK_JR_ARRAY;
	case '"':	return PK_JR_STRING;
	case 't':	return PK_JR_TRUE;
	case 'f':	return PK_JR_FALSE;
	case 'n':	return PK_JR_NULL;
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return PK_JR_NUMBER;
		return PK_JR_NONE;
	}
}

/* One value, leading whitespace skipped; r->pos ends just past it. */
static int
jr_value(struct jr *r, int depth)
{
	if (depth >= PK_JR_MAX_DEPTH)
		return -1;
	jr_ws(r);
	if (r->pos >= r->len)
		return -1;
	switch (jr_type(r->s[r->pos])) {
	case PK_JR_OBJECT:	return jr_container(r, depth, '}');
	case PK_JR_ARRAY:	return jr_container(r, depth, ']');
	case PK_JR_STRING:	return jr_string(r);
	case PK_JR_NUMBER:	return jr_number(r);
	case PK_JR_TRUE:	return jr_word(r, "true");
	case PK_JR_FALSE:	return jr_word(r, "false");
	case PK_JR_NULL:	return jr_word(r, "null");
	default:		return -1;
	}
}

int
pk_jr_validate(const char *s, size_t len)
{
	struct jr r = { s, len, 0 };

	if (s == NULL || jr_value(&r, 0) == -1)
		return -1;
	jr_ws(&r);
	return r.pos == len ? 0 : -1;
}

/* Encode code point cp as UTF-8 into out[*n..cap): 0 or -1. */
static int
jr_put_utf8(char *out, size_t cap, size_t *n, uint32_t cp)
{
	unsigned char b[4];
	size_t k, i;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xC0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xE0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 3;
	} else {
		b[0] = (unsigned char)(0xF0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (unsigned char)(0x80 | (cp & 0x3F));
		k = 4;
	}
	if (cap - *n <= k)	/* keep room for the NUL */
		return -1;
	for (i = 0; i < k; i++)
		out[(*n)++] = (char)b[i];
	return 0;
}

static uint32_t
jr_u4(const char *p)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = (v << 4) | (uint32_t)pk_hexval((unsigned char)p[i]);
	return v;
}

/* Decode the string whose opening quote is s[0], s[0..len) its span. */
static int
jr_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t i, n = 0;

	if (cap == 0 || len < 2 || s[0] != '"' || s[len - 1] != '"')
		return -1;
	for (i = 1; i < len - 1; ) {
		uint32_t cp;

		if (s[i] != '\\') {
			if (cap - n <= 1)
				return -1;
			out[n++] = s[i++];
			continue;
		}
		if (i + 1 >= len - 1)
			return -1;
		switch (s[i + 1]) {
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case '"': case '\\': case '/':
			cp = (unsigned char)s[i + 1];
			break;
		case 'u':
			if (len - 1 - i < 6)
				return -1;
			cp = jr_u4(s + i + 2);
			i += 6;
			if (cp >= 0xD800 && cp < 0xDC00 && len - 1 - i >= 6 &&
			    s[i] == '\\' && s[i + 1] == 'u') {
				uint32_t lo = jr_u4(s + i + 2);

				if (lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) +
					    (lo - 0xDC00);
					i += 6;
				}
			}
			if (cp >= 0xD800 && cp < 0xE000)
				cp = 0xFFFD;
			if (jr_put_utf8(out, cap, &n, cp) == -1)
				return -1;
			continue;
		default:
			return -1;
		}
		i += 2;
		if (jr_put_utf8(out, cap, &n, cp) == -1)
			return -1;
	}
	out[n] = '\0';
	return 0;
}

/* Length of the next path segment of path (up to '.' or the end). */
static size_t
jr_seglen(const char *path)
{
	size_t n = 0;

	while (path[n] != '\0' && path[n] != '.')
		n++;
	return n;
}

int
pk_jr_find(const char *s, size_t len, const char *path, struct pk_jr_val *v)
{
	struct jr r = { s, len, 0 };
	int depth = 0;

	if (s == NULL || path == NULL || v == NULL)
		return -1;
	for (;;) {
		size_t seg = jr_seglen(path);

		jr_ws(&r);
		if (r.pos >= r.len || r.s[r.pos] != '{' || depth >= PK_JR_MAX_DEPTH)
			return r.pos >= r.len || jr_type(r.s[r.pos]) ==
			    PK_JR_NONE ? -1 : 0;
		r.pos++;
		jr_ws(&r);
		if (r.pos < r.len && r.s[r.pos] == '}')
			return 0;
		for (;;) {
			char key[PK_JR_KEY_MAX + 1];
			size_t k0 = r.pos;
			int match;

			if (jr_string(&r) == -1)
				return -1;
			match = jr_decode(r.s + k0, r.pos - k0, key,
			    sizeof(key)) == 0 && strlen(key) == seg &&
			    memcmp(key, path, seg) == 0;
			jr_ws(&r);
			if (r.pos >= r.len || r.s[r.pos] != ':')
				return -1;
			r.pos++;
			jr_ws(&r);
			if (match && path[seg] != '\0') {
				path += seg + 1;
				depth++;
				break;		/* descend into this value */
			}
			k0 = r.pos;
			if (jr_value(&r, depth + 1) == -1)
				return -1;
			if (match) {
				v->type = jr_type(r.s[k0]);
				v->p = r.s + k0;
				v->len = r.pos - k0;
				return 1;
			}
			jr_ws(&r);
			if (r.pos >= r.len)
				return -1;
			if (r.s[r.pos] == '}')
				return 0;
			if (r.s[r.pos] != ',')
				return -1;
			r.pos++;
			jr_ws(&r);
		}
	}
}

int
pk_jr_string(const struct pk_jr_val *v, char *out, size_t cap)
{
	if (v == NULL || out == NULL || v->type != PK_JR_STRING)
		return -1;
	return jr_decode(v->p, v->len, out, cap);
}

int
pk_jr_int(const struct pk_jr_val *v, int64_t min, int64_t max, int64_t *out)
{
	uint64_t mag = 0;
	size_t i = 0;
	int neg = 0;

	if (v == NULL || v->type != PK_JR_NUMBER || v->len == 0)
		return -1;
	if (v->p[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == v->len)
		return -1;
	for (; i < v->len; i++) {
		char c = v->p[i];

		if (c < '0' || c > '9')
			return -1;
		if (mag > (UINT64_C(1) << 63) / 10)
			return -1;
		mag = mag * 10 + (uint64_t)(c - '0');
		if (mag > (UINT64_C(1) << 63))
			return -1;
	}
	if (!neg && mag > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? (mag == (UINT64_C(1) << 63) ? INT64_MIN :
	    -(int64_t)mag) : (int64_t)mag;
	if (*out < min || *out > max)
		return -1;
	return 0;
}

int
pk_jr_root(const char *s, size_t len, struct pk_jr_val *v)
{
	struct jr r = { s, len, 0 };
	size_t start;

	if (s == NULL || v == NULL)
		return -1;
	jr_ws(&r);
	start = r.pos;
	if (jr_value(&r, 0) == -1)
		return -1;
	v->type = jr_type(s[start]);
	v->p = s + start;
	v->len = r.pos - start;
	jr_ws(&r);
	return r.pos == len ? 0 : -1;
}

int
pk_jr_iter_init(struct pk_jr_iter *it, const struct pk_jr_val *c)
{
	if (it == NULL || c == NULL || c->len < 2 ||
	    (c->type != PK_JR_OBJECT && c->type != PK_JR_ARRAY))
		return -1;
	it->s = c->p;
	it->len = c->len;
	it->pos = 1;		/* past the bracket */
	it->object = c->type == PK_JR_OBJECT;
	it->state = 0;
	it->long_keys = 0;
	return 0;
}

int
pk_jr_iter_next(struct pk_jr_iter *it, char *key, size_t keycap,
    struct pk_jr_val *v)
{
	struct jr r = { it->s, it->len, it->pos };
	char close = it->object ? '}' : ']';
	size_t k0;

	if (it->state == 2)
		return 0;
	jr_ws(&r);
	if (r.pos >= r.len)
		goto bad;
	if (it->state == 0 && r.s[r.pos] == close) {
		it->state = 2;
		return 0;
	}
	if (it->state == 1) {
		if (r.s[r.pos] == close) {
			it->state = 2;
			return 0;
		}
		if (r.s[r.pos] != ',')
			goto bad;
		r.pos++;
		jr_ws(&r);
	}
	if (it->object) {
		k0 = r.pos;
		if (r.pos >= r.len || r.s[r.pos] != '"' || jr_string(&r) == -1 ||
		    key == NULL || keycap == 0)
			goto bad;
		/* the string is well formed: decoding fails only when it
		 * does not fit */
		if (jr_decode(r.s + k0, r.pos - k0, key, keycap) == -1) {
			if (!it->long_keys)
				goto bad;
			key[0] = '\0';
		}
		jr_ws(&r);
		if (r.pos >= r.len || r.s[r.pos] != ':')
			goto bad;
		r.pos++;
		jr_ws(&r);
	}
	k0 = r.pos;
	/* Depth 1: the container itself is one level already. */
	if (r.pos >= r.len || jr_value(&r, 1) == -1)
		goto bad;
	v->type = jr_type(r.s[k0]);
	v->p = r.s + k0;
	v->len = r.pos - k0;
	it->pos = r.pos;
	it->state = 1;
	return 1;
bad:
	it->state = 2;
	return -1;
}
