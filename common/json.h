/*
 * json.h - a bounded JSON writer.  It writes into a caller-owned buffer and
 * never exceeds it: once a value would not fit, the writer marks itself
 * overflowed and json_finish() fails, so a record is written whole or not
 * at all.  Strings are arbitrary bytes (they come from packets): invalid
 * UTF-8 is replaced by U+FFFD, control characters are escaped, and every
 * string is cut at the caller's maximum length on a character boundary.
 * Portable; any file may call it.
 */
#ifndef PICKET_JSON_H
#define PICKET_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 16

struct json {
	char	*buf;
	size_t	 cap;
	size_t	 len;
	int	 overflow;
	int	 depth;
	uint8_t	 need_comma[JSON_MAX_DEPTH];
};

void json_init(struct json *j, char *buf, size_t cap);
/* key is NULL inside arrays and at the top level. */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
/* NUL-terminated string, cut at maxlen bytes of input (0 = no limit). */
void json_str(struct json *j, const char *key, const char *s, size_t maxlen);
/* Arbitrary bytes as a string, cut at maxlen bytes (0 = no limit). */
void json_strn(struct json *j, const char *key, const void *s, size_t n,
    size_t maxlen);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_bool(struct json *j, const char *key, int v);
void json_nullv(struct json *j, const char *key);
/*
 * Finish: checks every object/array was closed and nothing overflowed.
 * Returns the length written (buffer NUL-terminated) or -1.
 */
long json_finish(struct json *j);

/* Escape-and-sanitize helper used by json_strn; exposed for tests. */
size_t json_escape(char *out, size_t outcap, const void *s, size_t n,
    size_t maxlen, int *overflow);

#endif
