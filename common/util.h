/*
 * util.h - small portable helpers: bounded string copy, strict number
 * parsing (we never use atoi), hashing, and the array-size macro.
 * No platform calls here; time lives in time.h.  Any file may call these.
 */
#ifndef PICKET_UTIL_H
#define PICKET_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common/log.h"	/* PK_PRINTF */

#define PK_NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define PK_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Copy at most size-1 bytes, always NUL-terminate; returns strlen(src). */
size_t pk_strlcpy(char *dst, const char *src, size_t size);

/*
 * Parse a whole string as an unsigned/signed decimal (or 0x hex) number in
 * [min, max].  Leading/trailing spaces are refused.  0 on success, -1 on
 * error with *err set to a static message ("not a number", "out of range").
 */
int pk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **err);
/* "10s", "5m", "2h", "1d" or plain seconds -> seconds. */
int pk_parse_duration(const char *s, uint64_t min, uint64_t max,
    uint64_t *out, const char **err);
/* "64k", "10M", "1G" or plain bytes -> bytes. */
int pk_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **err);
/* yes/no/true/false/on/off/1/0 */
int pk_parse_bool(const char *s, int *out, const char **err);

/* 64-bit FNV-1a, for hash tables and fingerprints (not for security). */
uint64_t pk_fnv1a64(const void *data, size_t len, uint64_t seed);
#define PK_FNV_SEED 0xcbf29ce484222325ULL

/*
 * A host name as DNS and TLS write it: dot-separated labels of 1..63
 * bytes of [A-Za-z0-9_-], no empty label, no trailing dot (callers that
 * accept one strip it first).  1 if s[0..n) is one, else 0.
 */
int pk_hostname_ok(const uint8_t *s, size_t n);
/*
 * Room for one more element in a growable array: *pp (of *cap elements of
 * elem bytes, n used) is doubled from 64 when full.  0, or -1 (no memory
 * or overflow; the array is unchanged).
 */
int pk_grow(void *pp, size_t *cap, size_t n, size_t elem);
/* Value of one hex digit (either case), or -1. */
int pk_hexval(int c);
/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void pk_hex(const uint8_t *in, size_t len, char *out);

/*
 * Reconnect delay with exponential backoff and full jitter: uniform in
 * [0, min(cap, base * 2^attempt)] milliseconds, drawn from the random
 * number r (docs/protocol.md "Reconnecting").
 */
uint64_t pk_backoff_ms(uint64_t base_ms, uint64_t cap_ms, unsigned attempt,
    uint64_t r);

/*
 * A 32-bit counter that wraps (libpcap's ps_recv, ps_drop) followed as a
 * 64-bit total: add the distance from *last to now, keep now.  Exact as
 * long as it is looked at before the counter moves on by 2^32.
 */
void pk_wrap32_add(uint64_t *total, uint32_t *last, uint32_t now);

/* printf into err (errlen bytes; nothing if err is NULL or errlen 0):
 * the one-line reasons functions hand back to their callers. */
void pk_errf(char *err, size_t errlen, const char *fmt, ...)
    PK_PRINTF(3, 4);

/*
 * A whole file of at most max bytes, NUL-terminated (max + 1 allocated;
 * the caller frees), its length in *len; NULL with the reason in err.
 */
char *pk_read_file(const char *path, size_t max, size_t *len, char *err,
    size_t errlen);

#endif
