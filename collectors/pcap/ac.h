/*
 * ac.h - Aho-Corasick multi-pattern search, case-folded (ASCII), for the
 * content-rule prefilter (rules_match.c).  Patterns are added with an
 * integer id, the automaton is built once, then any number of buffers are
 * scanned; every occurrence of every pattern is reported with its end
 * offset.  Matching is case-insensitive for ASCII letters: callers verify
 * case-sensitive patterns afterwards.  Scanning costs O(buffer + matches)
 * whatever the number of patterns.  Portable; no global state.
 */
#ifndef PICKET_AC_H
#define PICKET_AC_H

#include <stddef.h>
#include <stdint.h>

#define PK_AC_MAX_STATES	(1u << 26)	/* hard cap on trie size */

struct pk_ac;

/*
 * Called for each occurrence: id as given to pk_ac_add, end = offset one
 * past the last byte of the occurrence.  Return non-zero to stop the scan.
 */
typedef int (*pk_ac_hit_fn)(void *arg, uint32_t id, size_t end);

struct pk_ac *pk_ac_new(void);
void pk_ac_free(struct pk_ac *ac);
/* Add a pattern (len >= 1) before pk_ac_build.  0, or -1 (no memory, cap
 * reached, empty pattern, already built). */
int pk_ac_add(struct pk_ac *ac, const uint8_t *pat, size_t len, uint32_t id);
/* Compute failure links.  0 / -1 (no memory). */
int pk_ac_build(struct pk_ac *ac);
/* Scan buf; returns the number of occurrences reported. */
uint64_t pk_ac_scan(const struct pk_ac *ac, const uint8_t *buf, size_t len,
    pk_ac_hit_fn fn, void *arg);
size_t pk_ac_patterns(const struct pk_ac *ac);
size_t pk_ac_states(const struct pk_ac *ac);
size_t pk_ac_memory(const struct pk_ac *ac);	/* bytes held */

/* ASCII case folding shared with the verifier. */
extern const uint8_t pk_ac_fold[256];

#endif
