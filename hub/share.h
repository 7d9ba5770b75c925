/*
 * share.h - the bundles member hubs exchange (docs/peering.md): building
 * the one this hub sends a peer (share_out.c: the alerts stored after the
 * peer's cursor, filtered by its policy, redacted and made a STIX 2.1
 * bundle through hub/stix.c) and reading one a peer sent (share_in.c: a
 * strict, bounded parser that takes or refuses each object with a
 * reason).  Library code with no I/O but the store: hub/peering.c calls
 * it, the unit tests and tests/fuzz/fuzz_share.c call it directly.
 */
#ifndef PICKET_HUB_SHARE_H
#define PICKET_HUB_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hub/stix.h"
#include "hub/store.h"

#define HUB_SHARE_DEPTH_MAX	8	/* JSON nesting of a bundle */
#define HUB_SHARE_STR_MAX	1024	/* any string in it */
#define HUB_SHARE_RULES_MAX	16	/* x_picket_rule_ids */
#define HUB_SHARE_EXCERPT_MAX	1024	/* x_picket_excerpt, bytes */
#define HUB_SHARE_REASON_MAX	128

/* ---- out ---------------------------------------------------------------- */

struct hub_share_out_stats {
	uint64_t	 rows;		/* alert rows looked at */
	uint64_t	 filtered;	/* kept back by the peer's policy */
	uint64_t	 redacted;	/* values dropped as internal */
	uint32_t	 indicators;	/* indicator objects in the bundle */
	uint32_t	 excerpts;	/* of those, with x_picket_excerpt */
	uint64_t	 excerpts_withheld;	/* rows whose excerpt named
					 * something of the member's */
};

/*
 * The next bundle for peer p: alerts with row id after p->cursor_rowid, at
 * most max_rows of them, kept when p's policy allows them (TLP at most
 * p->send_tlp and never RED; severity at least p->send_min_severity; an
 * outbreak kind in p->send_kinds), redacted as the STIX export redacts
 * under sh, with "x_picket_sequence": p->send_seq at the top level and at
 * most max_objects objects.  With p->send_excerpts, indicators of rows
 * marked TLP:AMBER or AMBER+STRICT carry a payload excerpt
 * (x_picket_excerpt, hub_stix_params.excerpts), never one that names an
 * internal address or name, the host or the agent.  *last_rowid is the
 * last row id looked at
 * (== p->cursor_rowid when there was none).  Returns the bundle, or NULL
 * with *last_rowid set and err "" when nothing passed the policy (the
 * cursor may still move), or NULL with err on failure.
 */
json_t *hub_share_bundle(struct hub_store *st, const struct hub_peer *p,
    const struct hub_sharing *sh, uint64_t max_rows, uint32_t max_objects,
    int64_t now_us, int64_t *last_rowid, struct hub_share_out_stats *stats,
    char *err, size_t errlen);

/* ---- in ----------------------------------------------------------------- */

struct hub_share_refusal {
	char		 id[80];	/* the object's id, or "" */
	char		 reason[HUB_SHARE_REASON_MAX];
};

/* A bundle read: what to keep, and what was refused and why. */
struct hub_share_in {
	uint64_t		 seq;		/* x_picket_sequence */
	char			 origin[HUB_PEER_NAME_MAX * 2 + 1];
	struct hub_shared	*items;		/* peer, state unset */
	size_t			 nitems;
	struct hub_share_refusal *refused;
	size_t			 nrefused;	/* all of them counted ... */
	size_t			 nrefused_listed;	/* ... these listed */
};

struct hub_share_limits {
	size_t		 max_bytes;	/* the body */
	size_t		 max_objects;
	int		 accept_tlp;	/* enum hub_tlp, < RED */
};

/*
 * Read body[0..len): 0 with *in filled (the caller frees it with
 * hub_share_in_free), or -1 with err when the bundle is refused whole
 * (not JSON, too deep, too big, not a bundle, no sequence...).  Objects
 * are taken or refused one by one (docs/peering.md, "Validation").
 * now_us stamps first/last_received.
 */
int hub_share_parse(const char *body, size_t len,
    const struct hub_share_limits *lim, int64_t now_us,
    struct hub_share_in *in, char *err, size_t errlen);
void hub_share_in_free(struct hub_share_in *in);

/* The answer for the sender: {"sequence","accepted","duplicates",
 * "refused":[{"id","reason"}]} (at most 100 refusals listed). */
json_t *hub_share_answer(const struct hub_share_in *in, uint64_t accepted,
    uint64_t duplicates);

#endif
