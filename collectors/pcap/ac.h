/*
 * ac.h - Aho-Corasick multi-pattern search, case-folded (ASCII), for the
 * content-rule prefilter (rules_match.c).  Patterns are added with an
 * integer id, the automaton is built once, then any number of buffers are
 * scanned; every occurrence of every pattern is reported with its end
 * offset.  Matching is case-insensitive for ASCII letters: callers verify
 * case-sensitive patterns afterwards.  Scanning costs O(buffer + matches)
 * whatever the number of patterns.  A scan can be resumed: the state
 * reached at the end of one buffer, given back with the next, continues
 * the text as if the buffers were one (pk_ac_scan_from), which is how a
 * TCP stream is scanned once as it grows.  Portable; no global state.
 */
#ifndef PICKET_AC_H
#define PICKET_AC_H

#include <stddef.h>
#include <stdint.h>

#define PK_AC_MAX_STATES	(1u << 26)	/* hard cap on trie size */
/*
 * The shallowest states (breadth-first) get a full transition row (one
 * entry per byte class: each folded byte that occurs in a pattern, and
 * all the others), up to this many bytes in all; deeper states keep a
 * sorted edge run and fall back through failure links to a row.  4 MiB
 * is 4,096 rows of 256 classes (binary patterns), 16,384 of 64 (text):
 * every state of a few hundred rules, the first levels of thousands.
 */
#define PK_AC_DENSE_BYTES	(4u << 20)

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
/*
 * Scan buf continuing from *state (0: the start of a text), then store
 * the state reached.  Ends are reported as base + offset in buf, so a
 * caller feeding a stream piece by piece gets stream offsets.  An
 * occurrence may begin in an earlier piece.  When fn stops the scan,
 * *state is that of the byte the occurrence ended on.  A state is only
 * meaningful to the automaton that produced it.
 */
uint64_t pk_ac_scan_from(const struct pk_ac *ac, uint32_t *state,
    const uint8_t *buf, size_t len, size_t base, pk_ac_hit_fn fn, void *arg);
size_t pk_ac_patterns(const struct pk_ac *ac);
size_t pk_ac_states(const struct pk_ac *ac);
size_t pk_ac_memory(const struct pk_ac *ac);	/* bytes held */
size_t pk_ac_dense_states(const struct pk_ac *ac);	/* with a full row */

/* ASCII case folding shared with the verifier. */
extern const uint8_t pk_ac_fold[256];

#endif
