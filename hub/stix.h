/*
 * stix.h - the hub's STIX 2.1 export: the indicators stored in a window,
 * filtered by their TLP marking, turned into a bundle of an identity (the
 * member hub), the TLP 2.0 marking definitions, indicator objects with
 * STIX patterns for addresses, domains, URLs, file hashes and worm
 * fingerprints, and sightings with counts.  Redaction happens here, before
 * anything leaves: internal addresses and names under the member's
 * internal domains never appear, hosts appear at most as keyed
 * pseudonyms.  Ids are UUIDv5 of the content, so exporting the
 * same data twice gives the same ids.  Pure library code returning
 * jansson trees; hub/api.c serves it as GET /api/v1/export/stix,
 * hub/share_out.c builds peers' bundles with it, the unit tests call it.  docs/outbreaks.md ("STIX 2.1 export") has the mapping.
 */
#ifndef PICKET_HUB_STIX_H
#define PICKET_HUB_STIX_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/netaddr.h"
#include "hub/store.h"

/* TLP 2.0 from most to least shareable; the order is the filter. */
enum hub_tlp {
	HUB_TLP_CLEAR = 0,
	HUB_TLP_GREEN,
	HUB_TLP_AMBER,
	HUB_TLP_AMBER_STRICT,
	HUB_TLP_RED,
	HUB_TLP__N
};

/* "TLP:GREEN", "green", "TLP:AMBER+STRICT" (any case; TLP 1.0's WHITE
 * is CLEAR).  0 / -1. */
int hub_tlp_parse(const char *s, int *tlp);
const char *hub_tlp_name(int tlp);		/* "TLP:GREEN" */
const char *hub_tlp_marking_id(int tlp);	/* marking-definition--... */

#define HUB_STIX_INTERNAL_DEFAULT \
	"10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10 " \
	"127.0.0.0/8 169.254.0.0/16 0.0.0.0/8 fc00::/7 fe80::/10 ::1/128 ::/128"

#define HUB_SHARING_DOMAINS_MAX	64	/* internal domain suffixes */
#define HUB_SHARING_DOMAIN_LEN	253	/* bytes of one, as DNS allows */

/* The member's sharing settings ([sharing] in hub.ini). */
struct hub_sharing {
	const char	*hub_name;	/* the identity object's name */
	uint8_t		 secret[32];	/* pseudonym key; all zero = unset */
	struct pk_cidrset internal;	/* never exported as values */
	/* Domain suffixes (lower case, no trailing dot) whose names never
	 * leave: an IOC domain or a URL naming one is dropped whole. */
	char		 domains[HUB_SHARING_DOMAINS_MAX]
			    [HUB_SHARING_DOMAIN_LEN + 1];
	size_t		 ndomains;
	/* 1: list the sighting hosts as pseudonyms ("h-" + 16 hex of
	 * HMAC-SHA-256(secret, agent id)); 0: only how many.  Host names
	 * and agent ids never leave in clear either way. */
	int		 host_pseudonyms;
};

/* hub_name "picket-hub", HUB_STIX_INTERNAL_DEFAULT, pseudonyms off,
 * secret zero (pseudonyms need one set). */
void hub_sharing_default(struct hub_sharing *s);
/* Replace the internal networks by a CIDR list.  0, or -1 with err. */
int hub_sharing_set_internal(struct hub_sharing *s, const char *cidrs,
    char *err, size_t errlen);

/*
 * Replace the internal domains by a list of suffixes separated by commas
 * or white space ("agency.example, corp.example"; "" = none).  Each is a
 * DNS name, any case, trailing dot ignored.  0, or -1 with err (s
 * unchanged) on a bad name or more than HUB_SHARING_DOMAINS_MAX.
 */
int hub_sharing_set_domains(struct hub_sharing *s, const char *list,
    char *err, size_t errlen);
/*
 * 1 if the DNS name (any case, trailing dots ignored) is one of the
 * internal domains or under one, at a label boundary: with
 * "agency.example", "www.AGENCY.example." is internal and
 * "xagency.example" is not.  n bytes of name are looked at.
 */
int hub_sharing_is_internal_name(const struct hub_sharing *s,
    const char *name, size_t n);

/* What one export did, for logs, headers and tests. */
struct hub_stix_stats {
	uint64_t	 scanned;	/* alert rows looked at */
	uint64_t	 tlp_filtered;	/* rows above the requested TLP */
	uint64_t	 redacted;	/* values dropped as internal */
	uint64_t	 redacted_names;	/* of those: internal domains */
	uint64_t	 unusable;	/* rows with nothing shareable */
	uint64_t	 objects_dropped;	/* over max_objects */
	uint64_t	 excerpts;	/* indicators with x_picket_excerpt */
	uint64_t	 excerpts_withheld;	/* rows whose excerpt named
					 * something of the member's */
	int		 truncated;	/* max_indicators reached */
	uint32_t	 indicators, sightings;
};

#define HUB_STIX_MAX_INDICATORS	200000ULL
#define HUB_STIX_MAX_OBJECTS	10000
#define HUB_STIX_MAX_OBJECTS_CAP	100000

struct hub_stix_params {
	int64_t		 since_us, until_us;	/* @timestamp in [since, until) */
	int64_t		 now_us;	/* what "since=24h" counts back from */
	int		 tlp;	/* export markings up to this (enum hub_tlp) */
	uint64_t	 max_indicators;	/* rows looked at */
	uint32_t	 max_objects;	/* indicator objects (each + sighting) */
	const struct hub_sharing *sharing;	/* required */
	struct hub_stix_stats *stats;	/* optional, filled */
	/* 1: an indicator made from rows marked TLP:AMBER or AMBER+STRICT
	 * carries one of their payload excerpts (picket.details.excerpt)
	 * as x_picket_excerpt, unless it names anything of the member's
	 * (hub_sharing_text_leaks: then it is left out and counted).  Only
	 * a peer whose policy says so (send_excerpts); 0 by default, and
	 * the SIEM export never sets it. */
	int		 excerpts;
};

#define HUB_STIX_EXCERPT_MAX	1024	/* bytes of x_picket_excerpt */

/* Last 24 h, tlp CLEAR (the safest), the limits above; sharing NULL. */
void hub_stix_params_default(struct hub_stix_params *p);
/* since, until (as for outbreaks), tlp (clear|green|amber|amber+strict|
 * red, "TLP:" optional).  0, or -1 with err; p unchanged on error. */
int hub_stix_params_set(struct hub_stix_params *p, const char *name,
    const char *value, char *err, size_t errlen);

/*
 * The bundle {"type":"bundle","id":"bundle--<uuid>","objects":[...]}.
 * NULL with err set on bad parameters (no sharing settings, no hub name,
 * pseudonyms without a secret, since >= until) or a store failure.
 */
json_t *hub_stix_bundle(struct hub_store *st, const struct hub_stix_params *p,
    char *err, size_t errlen);

/*
 * The same bundle from rows the caller picks rather than a window
 * (hub/share_out.c: the alerts after a peer's cursor): begin with params
 * as above (the window is not used; tlp, limits, sharing and stats
 * are), add the rows in order, finish.  The limits
 * never cut a row in half: once max_indicators rows were looked at, or
 * a row's values might not all fit under max_objects, add returns
 * HUB_STIX_FULL without taking the row, so the caller can send it in the
 * next bundle instead of losing it.
 */
struct hub_stix_build;
#define HUB_STIX_ROW_VALUES	3	/* indicators one row can add */
#define HUB_STIX_FULL		1
/* NULL with err on bad parameters (as hub_stix_bundle, no window). */
struct hub_stix_build *hub_stix_begin(const struct hub_stix_params *p,
    char *err, size_t errlen);
/* 0 (taken, or nothing shareable: counted in stats), HUB_STIX_FULL, or
 * -1 out of memory. */
int hub_stix_add(struct hub_stix_build *b, const struct hub_indicator *d);
/* Indicator objects so far. */
uint32_t hub_stix_count(const struct hub_stix_build *b);
/* The bundle, or NULL with err; frees b either way, fills p->stats. */
json_t *hub_stix_finish(struct hub_stix_build *b, char *err, size_t errlen);
/* Give up on b (NULL is fine). */
void hub_stix_abort(struct hub_stix_build *b);

/* The row's picket.tlp (enum hub_tlp); RED when absent or unreadable,
 * the rule the export filters by. */
int hub_stix_row_tlp(const struct hub_indicator *d);

/* ---- building blocks, public for tests -------------------------------- */

void hub_hmac_sha256(const uint8_t *key, size_t keylen, const void *msg,
    size_t len, uint8_t out[32]);
#define HUB_PSEUDONYM_LEN	18	/* "h-" + 16 hex */
void hub_pseudonym(const uint8_t secret[32], const char *id,
    char out[HUB_PSEUDONYM_LEN + 1]);
/* RFC 4122 version-5 UUID of name in namespace ns, as text (36 + NUL). */
void hub_uuid5(const uint8_t ns[16], const void *name, size_t len,
    char out[37]);
/* 1 if the address or CIDR text s overlaps an internal network (or is
 * not an address at all: what cannot be checked is not exported). */
int hub_sharing_is_internal(const struct hub_sharing *s, const char *v);

/*
 * Does free text t[0..n) (a payload excerpt) name anything of the
 * member's, as written or percent-decoded?  HUB_LEAK_ADDR: an IPv4
 * address (dotted quad) or IPv6 address inside s's internal networks;
 * HUB_LEAK_NAME: a name under an internal domain; HUB_LEAK_OWN: one of
 * the nown strings (host name, agent id), without case.  0: none of
 * them.  What cannot be checked (no memory) counts as a leak.
 */
enum { HUB_LEAK_NONE = 0, HUB_LEAK_ADDR, HUB_LEAK_NAME, HUB_LEAK_OWN };
int hub_sharing_text_leaks(const struct hub_sharing *s, const char *t,
    size_t n, const char *const *own, size_t nown);

#endif
