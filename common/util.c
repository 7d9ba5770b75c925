/*
 * util.c - small portable helpers shared by the agent and the hub: bounded
 * string copy, strict parsing of numbers, durations, sizes and booleans
 * (configuration values and anything else read from text), FNV-1a hashing
 * and hex output.  Only the C standard library is used, so this file builds
 * for every platform.  Any file may call these; see util.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const char ERR_NAN[] = "not a number";
static const char ERR_RANGE[] = "out of range";
static const char ERR_UNIT[] = "unknown unit";
static const char ERR_BOOL[] = "not a boolean (yes/no/true/false/on/off/1/0)";

size_t
pk_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

static void
set_err(const char **err, const char *msg)
{
	if (err != NULL)
		*err = msg;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_xdigit(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/*
 * Parse the first n bytes of s as a whole number.  We check every byte
 * ourselves before strtoull sees it, because strtoull would otherwise
 * accept leading spaces, a sign (and negate "-1" into 2^64-1) and octal.
 */
static int
parse_num(const char *s, size_t n, uint64_t *out, const char **err)
{
	char tmp[32];
	const char *digits = s;
	size_t nd = n, i;
	int base = 10;
	unsigned long long v;
	char *end;

	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		digits = s + 2;
		nd = n - 2;
	}
	if (nd == 0)
		goto nan;
	for (i = 0; i < nd; i++) {
		if (base == 16 ? !is_xdigit((unsigned char)digits[i]) :
		    !is_digit((unsigned char)digits[i]))
			goto nan;
	}
	/* Leading zeros are harmless but a longer string is surely too big. */
	while (nd > 1 && digits[0] == '0') {
		digits++;
		nd--;
	}
	if (nd >= sizeof(tmp)) {
		set_err(err, ERR_RANGE);
		return -1;
	}
	memcpy(tmp, digits, nd);
	tmp[nd] = '\0';
	errno = 0;
	v = strtoull(tmp, &end, base);
	if (errno == ERANGE) {
		set_err(err, ERR_RANGE);
		return -1;
	}
	if (errno != 0 || end != tmp + nd)
		goto nan;
	*out = (uint64_t)v;
	return 0;
nan:
	set_err(err, ERR_NAN);
	return -1;
}

static int
check_range(uint64_t v, uint64_t min, uint64_t max, uint64_t *out,
    const char **err)
{
	if (v < min || v > max) {
		set_err(err, ERR_RANGE);
		return -1;
	}
	*out = v;
	return 0;
}

int
pk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **err)
{
	uint64_t v;

	if (s == NULL) {
		set_err(err, ERR_NAN);
		return -1;
	}
	if (parse_num(s, strlen(s), &v, err) == -1)
		return -1;
	return check_range(v, min, max, out, err);
}

/*
 * A number followed by at most one unit letter.  Hex numbers take no unit
 * ("0x1d" is 29, not one day), since the letters would be ambiguous.
 */
static int
parse_scaled(const char *s, const char *units, const uint64_t *mult,
    uint64_t min, uint64_t max, uint64_t *out, const char **err)
{
	size_t n;
	uint64_t v, m = 1;
	const char *u;

	if (s == NULL) {
		set_err(err, ERR_NAN);
		return -1;
	}
	n = strlen(s);
	if (n > 1 && !is_digit((unsigned char)s[n - 1]) &&
	    !(s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
		u = strchr(units, s[n - 1]);
		if (u == NULL) {
			set_err(err, is_digit((unsigned char)s[0]) ?
			    ERR_UNIT : ERR_NAN);
			return -1;
		}
		m = mult[u - units];
		n--;
	}
	if (parse_num(s, n, &v, err) == -1)
		return -1;
	if (v != 0 && m > UINT64_MAX / v) {
		set_err(err, ERR_RANGE);
		return -1;
	}
	return check_range(v * m, min, max, out, err);
}

int
pk_parse_duration(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **err)
{
	static const uint64_t mult[] = { 1, 60, 3600, 86400 };

	return parse_scaled(s, "smhd", mult, min, max, out, err);
}

int
pk_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **err)
{
	static const uint64_t mult[] = {
		1ULL << 10, 1ULL << 10, 1ULL << 20, 1ULL << 20,
		1ULL << 30, 1ULL << 30
	};

	return parse_scaled(s, "kKmMgG", mult, min, max, out, err);
}

static int
ascii_casecmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = (unsigned char)*a, cb = (unsigned char)*b;

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return ca - cb;
		if (ca == '\0')
			return 0;
	}
}

int
pk_parse_bool(const char *s, int *out, const char **err)
{
	static const struct {
		const char	*word;
		int		 val;
	} words[] = {
		{ "yes", 1 }, { "no", 0 }, { "true", 1 }, { "false", 0 },
		{ "on", 1 }, { "off", 0 }, { "1", 1 }, { "0", 0 },
	};
	size_t i;

	for (i = 0; s != NULL && i < PK_NELEM(words); i++) {
		if (ascii_casecmp(s, words[i].word) == 0) {
			*out = words[i].val;
			return 0;
		}
	}
	set_err(err, ERR_BOOL);
	return -1;
}

uint64_t
pk_fnv1a64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void
pk_hex(const uint8_t *in, size_t len, char *out)
{
	static const char hexd[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hexd[in[i] >> 4];
		out[2 * i + 1] = hexd[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

int
pk_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
pk_wrap32_add(uint64_t *total, uint32_t *last, uint32_t now)
{
	*total += (uint32_t)(now - *last);
	*last = now;
}

uint64_t
pk_backoff_ms(uint64_t base_ms, uint64_t cap_ms, unsigned attempt,
    uint64_t r)
{
	uint64_t bound = base_ms;
	unsigned i;

	/* Doubling stops at the cap, so the bound cannot overflow. */
	for (i = 0; i < attempt && bound < cap_ms; i++)
		bound *= 2;
	if (bound > cap_ms)
		bound = cap_ms;
	return r % (bound + 1);
}

void
pk_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

char *
pk_read_file(const char *path, size_t max, size_t *len, char *err,
    size_t errlen)
{
	FILE *fp;
	char *buf;
	size_t n;

	if ((fp = fopen(path, "rb")) == NULL) {
		pk_errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		pk_errf(err, errlen, "%s: out of memory", path);
		fclose(fp);
		return NULL;
	}
	/* One byte more than allowed tells "too large" from "just fits". */
	n = fread(buf, 1, max + 1, fp);
	if (ferror(fp) || n > max) {
		pk_errf(err, errlen, "%s: read error or over %zu bytes", path,
		    max);
		fclose(fp);
		free(buf);
		return NULL;
	}
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}

int
pk_hostname_ok(const uint8_t *s, size_t n)
{
	size_t i, lab = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c == '.') {
			if (lab == 0)
				return 0;
			lab = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if (++lab > 63)
			return 0;
	}
	return lab > 0;
}

int
pk_grow(void *pp, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *np;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	if (elem == 0 || ncap > SIZE_MAX / elem)
		return -1;
	if ((np = realloc(*(void **)pp, ncap * elem)) == NULL)
		return -1;
	*(void **)pp = np;
	*cap = ncap;
	return 0;
}
