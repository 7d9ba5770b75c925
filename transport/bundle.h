/*
 * bundle.h - the shared-indicator bundle: the versioned list of indicators
 * a hub's analysts accepted from peer members, which the hub pushes to its
 * agents in CONFIG frames (transport/frame.h) and the agents turn into
 * detection (docs/bundles.md is the contract).  The format is plain text,
 * one entry per line, so that an operator can read what their hosts were
 * told to look for; this file writes it (the hub) and parses it strictly
 * (the agent's shipper before it files a bundle, its collector again
 * before it applies one, the tests and fuzz_bundle).  Portable: no I/O.
 *
 *   picket-bundle 1
 *   version 7
 *   created 1764201600000000
 *   entries 2
 *   fingerprint 3f2a...(32 hex) ref=12 origin=state-a tlp=green
 *   ipv4 198.51.100.0/24 ref=13 origin=state-b tlp=amber
 *   end
 *
 * Kinds and values: ipv4 / ipv6 (an address or a CIDR, at least /16 and
 * /32), domain, url (http or https), sha256 (64 hex), fingerprint (32 to
 * 64 hex, a worm payload fingerprint), rule (a rule id the origin saw fire
 * with a shared indicator, 1..64 bytes of [A-Za-z0-9._:-]).  Values are
 * lower case except url paths.  ref is the hub's shared-indicator id,
 * origin the peer's name ([A-Za-z0-9._-], 1..64), tlp one of clear, green,
 * amber, amber+strict.  Entries are sorted by (kind, value), each pair at
 * most once.
 */
#ifndef PICKET_BUNDLE_H
#define PICKET_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define PK_BUNDLE_FORMAT	1		/* "picket-bundle 1" */
#define PK_BUNDLE_MAX_ENTRIES	20000
#define PK_BUNDLE_LINE_MAX	2048		/* bytes, without the LF */
#define PK_BUNDLE_VALUE_MAX	1024
#define PK_BUNDLE_ORIGIN_MAX	64
#define PK_BUNDLE_ERRLEN	256

/* Kinds, in the order entries are sorted (by this number, then value). */
enum pk_bundle_kind {
	PK_BK_DOMAIN = 1,
	PK_BK_FINGERPRINT,
	PK_BK_IPV4,
	PK_BK_IPV6,
	PK_BK_RULE,
	PK_BK_SHA256,
	PK_BK_URL,
};
#define PK_BK_LAST	PK_BK_URL

enum pk_bundle_tlp {
	PK_BTLP_CLEAR = 0,
	PK_BTLP_GREEN,
	PK_BTLP_AMBER,
	PK_BTLP_AMBER_STRICT,
};

/* One entry.  In a parsed bundle the strings point into the bundle's own
 * copy of the text (NUL-terminated there); for pk_bundle_write they are
 * the caller's. */
struct pk_bundle_entry {
	uint8_t		 kind;		/* enum pk_bundle_kind */
	uint8_t		 tlp;		/* enum pk_bundle_tlp */
	uint64_t	 ref;		/* >= 1 */
	const char	*value;
	const char	*origin;
};

struct pk_bundle {
	uint64_t		 version;	/* >= 1 */
	uint64_t		 created_us;
	size_t			 n;
	struct pk_bundle_entry	*e;		/* sorted, see above */
	char			*text;		/* owned copy, fields cut */
};

/*
 * Parse text[0..len) (at most PK_FRAME's PK_BUNDLE_RAW_MAX bytes; more is
 * an error).  Strict: the header lines in order, `entries` equal to the
 * number of entry lines (at most max_entries, itself at most
 * PK_BUNDLE_MAX_ENTRIES), every value valid for its kind, entries sorted
 * and unique, `end` as the last line followed by one LF and nothing else.
 * Returns 0 with *b filled (free with pk_bundle_free), or -1 with a
 * reason in err naming the line ("line 7: ipv4 network /8 is wider than
 * /16").
 */
int pk_bundle_parse(const char *text, size_t len, size_t max_entries,
    struct pk_bundle *b, char *err, size_t errlen);
void pk_bundle_free(struct pk_bundle *b);

/*
 * Write b's header and its entries, which the caller has sorted and
 * de-duplicated (pk_bundle_sort does both), into a malloc'd text:
 * 0 with *out (NUL-terminated) and *outlen, or -1 with err (an invalid
 * entry is refused, naming it, so the hub never sends what an agent would
 * refuse).
 */
int pk_bundle_write(const struct pk_bundle *b, char **out, size_t *outlen,
    char *err, size_t errlen);
/* Sort e[0..*n) by (kind, value) and drop later duplicates (the first of
 * each pair is kept, so order them by preference first: stable). */
void pk_bundle_sort(struct pk_bundle_entry *e, size_t *n);

/* Is value valid for kind (the parser's rule)?  0 yes, -1 with a reason. */
int pk_bundle_check_value(int kind, const char *value, char *err,
    size_t errlen);

/* "domain", "fingerprint" ... and back (0 when unknown). */
const char *pk_bundle_kind_name(int kind);
int pk_bundle_kind_parse(const char *name);
/* "clear", "green", "amber", "amber+strict" and back (-1 when unknown). */
const char *pk_bundle_tlp_name(int tlp);
int pk_bundle_tlp_parse(const char *name);

#endif
