/*
 * jsonread.h - a small bounded JSON reader for the hub: it checks that a
 * record is one well-formed JSON value (depth and length capped) and finds
 * single fields by dotted path ("rule.id", "@timestamp") without building a
 * tree or allocating.  The project's common/json.c only writes JSON; the
 * hub needs to read the indicators agents send, which are hostile bytes.
 * Portable (standard C only).  Called by hub/ingest.c, the hub's unit tests
 * and tests/fuzz/fuzz_jsonread.c.
 */
#ifndef PICKET_HUB_JSONREAD_H
#define PICKET_HUB_JSONREAD_H

#include <stddef.h>
#include <stdint.h>

#define PK_JR_MAX_DEPTH	32	/* nesting levels; deeper is malformed */
#define PK_JR_KEY_MAX	64	/* longest path segment we can match */

enum pk_jr_type {
	PK_JR_NONE = 0,
	PK_JR_OBJECT,
	PK_JR_ARRAY,
	PK_JR_STRING,
	PK_JR_NUMBER,
	PK_JR_TRUE,
	PK_JR_FALSE,
	PK_JR_NULL,
};

/* A value found in a document: a span of the caller's bytes. */
struct pk_jr_val {
	int		 type;		/* enum pk_jr_type */
	const char	*p;		/* first byte (the quote for strings) */
	size_t		 len;		/* bytes of the whole value */
};

/* 0 if s[0..len) is exactly one JSON value (whitespace around allowed). */
int pk_jr_validate(const char *s, size_t len);
/*
 * Find the value at a dotted path of object keys in the object s[0..len).
 * 1 found (*v filled), 0 not present, -1 malformed document up to where
 * the search read (a found value is itself fully checked).
 */
int pk_jr_find(const char *s, size_t len, const char *path,
    struct pk_jr_val *v);
/*
 * Decode a string value into out (NUL-terminated, UTF-8; \u escapes
 * decoded, an unpaired surrogate becomes U+FFFD).  0, or -1 when v is not
 * a string, is malformed or does not fit cap.
 */
int pk_jr_string(const struct pk_jr_val *v, char *out, size_t cap);
/* An integer value in [min, max]: 0 or -1 (fractions, exponents refused). */
int pk_jr_int(const struct pk_jr_val *v, int64_t min, int64_t max,
    int64_t *out);

/*
 * Walk the members of an object or the elements of an array, in order,
 * without building anything.  init: 0, or -1 when c is not an object or
 * an array.  next: 1 with the next value in *v (and, for an object, its
 * key decoded into key[keycap]; a key that does not fit is malformed),
 * 0 at the end, -1 malformed.  The container must have come from
 * pk_jr_root, pk_jr_find or another iterator (its bytes are checked again
 * as they are walked).
 */
struct pk_jr_iter {
	const char	*s;
	size_t		 len, pos;
	int		 object;
	int		 state;		/* 0 before the first, 1 inside, 2 done */
	/* set after init: a key longer than keycap comes back as "" (the
	 * caller looks for short keys only) instead of being malformed */
	int		 long_keys;
};

/* The whole document s[0..len) as one value: 0, or -1 if malformed. */
int pk_jr_root(const char *s, size_t len, struct pk_jr_val *v);
int pk_jr_iter_init(struct pk_jr_iter *it, const struct pk_jr_val *c);
int pk_jr_iter_next(struct pk_jr_iter *it, char *key, size_t keycap,
    struct pk_jr_val *v);

#endif
