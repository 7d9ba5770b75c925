/*
 * rules.h - content rules: the subset of Suricata's rule language that worm
 * and virus rules use (docs/rules.md), parsed by rules_parse.c and matched
 * by rules_match.c.
 *
 * A struct pk_ruleset is built by loading rule text (files or strings);
 * every rule is either loaded or reported ("FILE:LINE: sid N: problem")
 * through the reporter callback and counted under its reason.  After
 * pk_ruleset_compile() the set is matched against packets and TCP stream
 * views with pk_ruleset_match(): an Aho-Corasick prefilter over one "fast
 * pattern" per rule picks the candidates, which are then evaluated in full
 * with Suricata's semantics.  A TCP stream is scanned once as it grows:
 * the automaton state is kept with the stream (struct pk_stream_scan).  Thresholds (threshold, detection_filter) are
 * a separate bounded table (pk_rule_thresh) the caller consults when a
 * rule matched, so the matcher itself keeps no per-host state.
 *
 * Callers: the rules detector (sigdet.c), its tests and the fuzz target.
 * Portable: only the C library (files are read with stdio).
 */
#ifndef PICKET_RULES_H
#define PICKET_RULES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collectors/pcap/decode.h"
#include "collectors/pcap/stream.h"
#include "common/netaddr.h"

struct pk_config;

/* Bounds: every input the loader reads is capped by one of these. */
#define PK_RULE_MAX_LINE	65536	/* one rule, continuation lines joined */
#define PK_RULE_MAX_CONTENTS	32	/* content keywords per rule */
#define PK_RULE_MAX_PATTERN	2048	/* bytes of one content */
#define PK_RULE_MAX_MSG		256
#define PK_RULE_MAX_NODES	128	/* address or port list elements */
#define PK_RULE_MAX_NEST	8	/* [..] and $VAR nesting */
#define PK_RULE_MAX_REASONS	64	/* distinct skip reasons counted */
#define PK_RULE_MAX_FILES	4096
/* Content inspection steps per rule and buffer, as Suricata's
 * detect.inspection-recursion-limit (default 3000). */
#define PK_RULE_INSPECT_LIMIT	3000
#define PK_RULE_DISTANCE_MAX	1048576	/* |distance|, within: 1 MiB */

enum pk_rule_proto { PK_RP_TCP = 0, PK_RP_UDP, PK_RP_ICMP, PK_RP_IP };

/* One element of an address or port list, stored in preorder. */
enum pk_rule_node_kind {
	PK_RN_ANY = 0,
	PK_RN_CIDR,		/* address */
	PK_RN_HOME,		/* $HOME_NET resolved per packet */
	PK_RN_RANGE,		/* port lo..hi */
	PK_RN_GROUP,		/* [..]: the next size-1 nodes */
};

struct pk_rule_node {
	uint8_t		 kind;
	uint8_t		 neg;
	uint16_t	 size;		/* nodes in this subtree, itself too */
	struct pk_cidr	 cidr;
	uint16_t	 lo, hi;
};

struct pk_rule_list {
	struct pk_rule_node *n;
	uint16_t	 len;
	uint8_t		 any;		/* the list is plain "any" */
	int32_t		 single;	/* one positive port, else -1 */
};

struct pk_rule_content {
	uint8_t		*pat;
	uint16_t	 len;
	uint8_t		 nocase, negated, fast, fast_only;
	uint8_t		 has_offset, has_depth, has_distance, has_within;
	uint8_t		 relative;	/* distance or within */
	uint8_t		 relative_next;	/* the next content is relative */
	uint32_t	 offset, depth;	/* depth counts from offset */
	int32_t		 distance, within;
};

/* dsize operators */
enum { PK_DS_NONE = 0, PK_DS_EQ, PK_DS_NE, PK_DS_LT, PK_DS_LE, PK_DS_GT,
	PK_DS_GE, PK_DS_RANGE };
/* flags modifiers */
enum { PK_FM_EXACT = 0, PK_FM_PLUS, PK_FM_ANY, PK_FM_NOT };
/* flow options (bits) */
#define PK_FLOW_TO_SERVER	0x01
#define PK_FLOW_TO_CLIENT	0x02
#define PK_FLOW_ESTABLISHED	0x04
#define PK_FLOW_NOT_ESTABLISHED	0x08
#define PK_FLOW_STATELESS	0x10
#define PK_FLOW_ONLY_STREAM	0x20
#define PK_FLOW_NO_STREAM	0x40
/* threshold types */
enum { PK_RT_NONE = 0, PK_RT_LIMIT, PK_RT_THRESHOLD, PK_RT_BOTH,
	PK_RT_DETECTION };
enum { PK_TRACK_SRC = 0, PK_TRACK_DST, PK_TRACK_BOTH, PK_TRACK_RULE };

struct pk_rule {
	uint32_t	 idx;		/* position in the set */
	uint32_t	 sid, gid, rev;
	uint8_t		 priority;	/* 0 = none */
	uint8_t		 proto;		/* enum pk_rule_proto */
	uint8_t		 bidir;		/* <> */
	uint8_t		 has_flags, flags_mod, flags_val, flags_keep;
	uint8_t		 dsize_op;
	uint16_t	 dsize_lo, dsize_hi;
	uint8_t		 flow;		/* PK_FLOW_* */
	uint8_t		 th_type, th_track;
	uint32_t	 th_count, th_seconds;
	struct pk_rule_list src, sport, dst, dport;
	uint8_t		 ncontents;
	int8_t		 fast;		/* prefilter content, -1 = none */
	struct pk_rule_content *c;
	char		*msg;		/* "" when absent */
	char		*classtype;	/* NULL when absent */
	char		*reference;	/* first reference, "cve:2003-0352" */
	const char	*file;		/* base name, owned by the set */
	uint32_t	 line;
};

struct pk_ruleset;

/* One line per rule that was not loaded: "FILE:LINE: sid N: message". */
typedef void (*pk_rules_report_fn)(void *arg, const char *line);

/*
 * A new, empty set.  cfg gives [vars] and rules.max_rules (NULL: no
 * variables but the built-in defaults, max_rules 100000).
 */
struct pk_ruleset *pk_ruleset_new(const struct pk_config *cfg);
void pk_ruleset_free(struct pk_ruleset *rs);
void pk_ruleset_set_reporter(struct pk_ruleset *rs, pk_rules_report_fn fn,
    void *arg);
/*
 * Load rules from text; name is used in messages and as the rule set's
 * name (its base name).  Returns the number of rules loaded, -1 only when
 * out of memory.
 */
long pk_ruleset_load_text(struct pk_ruleset *rs, const char *name,
    const char *text, size_t len);
/* Load a file; -1 if it cannot be read (nothing reported for it). */
long pk_ruleset_load_file(struct pk_ruleset *rs, const char *path);
/* Build the prefilter.  0 / -1 (no memory).  Load nothing after this. */
int pk_ruleset_compile(struct pk_ruleset *rs);

size_t pk_ruleset_count(const struct pk_ruleset *rs);
const struct pk_rule *pk_ruleset_rule(const struct pk_ruleset *rs, size_t i);
uint64_t pk_ruleset_skipped(const struct pk_ruleset *rs);
/* Skip reasons: i from 0 while it returns non-NULL; *count set. */
const char *pk_ruleset_reason(const struct pk_ruleset *rs, size_t i,
    uint64_t *count);

/* ---- matching (rules_match.c) ------------------------------------------ */

/* What the matcher needs to know about one packet. */
struct pk_rule_input {
	const struct pk_packet	*pkt;
	/* TCP: the in-order bytes of this direction, or NULL */
	const uint8_t		*stream;
	uint32_t		 stream_len;
	/*
	 * The first byte of stream this packet made available, and the
	 * direction's scanner cursor (stream.h): with a cursor only the bytes
	 * not scanned yet go through the prefilter, and rules found earlier
	 * that have not matched yet are evaluated again.  NULL: the whole
	 * stream is scanned.
	 */
	uint32_t		 stream_new;
	struct pk_stream_scan	*scan;
	uint8_t			 has_flow;
	uint8_t			 to_server;	/* from the flow's initiator */
	uint8_t			 established;
	uint8_t			 src_home, dst_home;
};

/* on_stream: 1 when the contents matched the stream, 0 the packet. */
typedef void (*pk_rule_hit_fn)(void *arg, const struct pk_rule *r,
    int on_stream);

struct pk_rules_stats {
	uint64_t	 packets;	/* inputs matched */
	uint64_t	 candidates;	/* rules the prefilter selected */
	uint64_t	 evaluated;	/* rules evaluated in full */
	uint64_t	 matches;
	uint64_t	 inspect_limit;	/* evaluations cut at the step limit */
	uint64_t	 scanned_bytes;	/* bytes through the prefilter */
	uint64_t	 stream_resumed;	/* stream scans from a cursor */
	uint64_t	 stream_rescans;	/* whole-stream scans: no cursor,
					   cursor overflow or restart */
	uint64_t	 pending_overflow;	/* cursors that overflowed */
	uint64_t	 packet_rescans;	/* TCP payloads scanned apart
					   from their stream, for packet
					   rules */
	uint64_t	 pending_skipped;	/* pending rules not evaluated
					   again: no content of theirs in
					   the new bytes */
};

void pk_ruleset_match(struct pk_ruleset *rs, const struct pk_rule_input *in,
    pk_rule_hit_fn fn, void *arg);
const struct pk_rules_stats *pk_ruleset_stats(const struct pk_ruleset *rs);

/* One rule in full (tests, fuzz): 1 match (*on_stream set), 0 no match. */
int pk_rule_match(const struct pk_rule *r, const struct pk_rule_input *in,
    int *on_stream, uint64_t *limit_hits);
/* Contents only, against one buffer: 1, 0, or -1 (step limit). */
int pk_rule_contents(const struct pk_rule *r, const uint8_t *buf,
    uint32_t len);

/* ---- thresholds (rules_match.c) ----------------------------------------- */

struct pk_rule_thresh;

struct pk_rule_thresh *pk_rule_thresh_new(uint64_t max_entries);
void pk_rule_thresh_free(struct pk_rule_thresh *t);
/*
 * A match of r at packet time ts_us between src and dst: 1 = alert,
 * 0 = suppressed by the rule's threshold or detection_filter.  Rules
 * without either always return 1.
 */
int pk_rule_thresh_check(struct pk_rule_thresh *t, const struct pk_rule *r,
    const struct pk_addr *src, const struct pk_addr *dst, uint64_t ts_us);
uint64_t pk_rule_thresh_entries(const struct pk_rule_thresh *t);
uint64_t pk_rule_thresh_evicted(const struct pk_rule_thresh *t);

/* ---- internal: shared by rules_parse.c and rules_match.c only ---------- */

struct pk_rule_group;
struct pk_rule_parse;

struct pk_ruleset {
	const struct pk_config	*cfg;
	uint64_t		 max_rules;
	struct pk_rule		**rules;
	size_t			 n, cap;
	char			**files;	/* base names */
	size_t			 nfiles;
	struct {
		char		 text[96];
		uint64_t	 n;
	}			 reasons[PK_RULE_MAX_REASONS];
	size_t			 nreasons;
	uint64_t		 skipped;
	pk_rules_report_fn	 report;
	void			*report_arg;
	uint32_t		*sidtab;	/* (gid, sid) -> idx + 1 */
	size_t			 sidmask;
	struct pk_rule_parse	*scratch;
	/* built by pk_ruleset_compile() */
	int			 compiled;
	struct pk_rule_group	*groups;
	uint32_t		*stamp;		/* per rule: last scan id */
	uint32_t		 gen;
	uint32_t		*cand;		/* stream or packet group */
	size_t			 ncand;
	uint32_t		*cand2;		/* TCP packet rules */
	size_t			 ncand2;
	uint32_t		 epoch;		/* tells cursors' automata apart */
	uint8_t			*trig;		/* per rule: its other positive
						   contents are in the TCP
						   automaton (rules_match.c) */
	uint32_t		*pmark;		/* per rule: gen when pending in
						   the cursor being matched */
	uint32_t		*ppos;		/* ... and its place there */
	uint8_t			 tcp_pkt_fast;	/* TCP packet rules with a
						   fast pattern */
	struct pk_rules_stats	 stats;
};

/* rules_match.c frees what pk_ruleset_compile() built. */
void pk_ruleset_uncompile(struct pk_ruleset *rs);

#endif
