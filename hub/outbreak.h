/*
 * outbreak.h - the hub's outbreak view: indicators from different hosts
 * that share a worm fingerprint, a content rule, a listed IOC value or a
 * scanning pattern on one port, inside a time window, grouped into one
 * finding with its first host, its hosts over time and its size.  No
 * single agent can see this; the hub can.  Pure library code over the
 * store's `query` op, returning jansson trees: hub/api.c serves it as
 * GET /api/v1/outbreaks, the unit tests call it directly.  The small time
 * and index-table helpers at the end are shared with hub/stix.c.
 * docs/outbreaks.md describes the grouping rules and the limits.
 */
#ifndef PICKET_HUB_OUTBREAK_H
#define PICKET_HUB_OUTBREAK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hub/store.h"

#define HUB_USEC			1000000LL
#define HUB_OB_WINDOW_US		(24LL * 3600 * HUB_USEC)
#define HUB_OB_MIN_HOSTS		2
#define HUB_OB_MAX_INDICATORS		200000ULL	/* rows scanned */
#define HUB_OB_MAX_INDICATORS_CAP	5000000ULL	/* hard ceiling */
#define HUB_OB_MAX_GROUPS		500		/* groups returned */
#define HUB_OB_MAX_GROUPS_CAP		10000
#define HUB_OB_BUCKETS			24		/* series length */
#define HUB_OB_HOSTS_OUT_MAX		1000	/* host list per group */
#define HUB_OB_PARAM_MAX		64	/* longest parameter value */
/* The members view (what peers shared about a group, docs/outbreaks.md) */
#define HUB_OB_MEMBERS_GROUPS		500	/* groups that get it */
#define HUB_OB_MEMBERS_ROWS		256	/* shared rows read per group */
#define HUB_OB_MEMBERS_OUT		20	/* peers listed per group */

struct hub_outbreak_params {
	int64_t		 since_us, until_us;	/* @timestamp in [since, until) */
	int64_t		 now_us;	/* what "since=24h" counts back from */
	uint32_t	 min_hosts;	/* >= 2 */
	uint64_t	 max_indicators;	/* rows looked at, then cut */
	uint32_t	 max_groups;	/* groups returned */
	const char	*kind;	/* "fingerprint" "rule" "ioc" "scan"; NULL all */
};

/* Now from the wall clock, the last 24 h, the defaults above. */
void hub_outbreak_params_default(struct hub_outbreak_params *p);

/*
 * What every export parameter gets: name and value present, the value at
 * most HUB_OB_PARAM_MAX bytes, and since/until parsed into *since_us /
 * *until_us.  1 handled, 0 not since/until (checked, for the caller), -1
 * refused with err.
 */
int hub_window_param(const char *name, const char *value, int64_t now_us,
    int64_t *since_us, int64_t *until_us, char *err, size_t errlen);

/*
 * One query parameter: since, until (a duration back from now_us such as
 * "24h", "90m", "7d", or RFC 3339 UTC), min_hosts (2..100000), kind
 * (fingerprint|rule|ioc|scan|all), limit (groups, 1..10000).  0, or -1
 * with a message in err naming the parameter; p is unchanged on error.
 */
int hub_outbreak_params_set(struct hub_outbreak_params *p, const char *name,
    const char *value, char *err, size_t errlen);

/*
 * The outbreaks in p's window, newest-biggest first:
 * {"since","until","bucket_seconds","min_hosts","kind","scanned",
 *  "truncated","indicators_cut","indicators_cut_exact","keys_dropped",
 *  "groups_total","groups_omitted","outbreaks":[{"kind","key","label",
 *  "first_seen","last_seen","hosts_affected","hosts":[{"agent_id",
 *  "host_name","first_seen"}],"hosts_listed","patient_zero":{...},
 *  "series":[24 counts of hosts newly affected],"indicators",
 *  "max_severity","rules":[...],"members":{"count","hosts","first",
 *  "peers":[...],"truncated"}}],"members_truncated"}
 * "members" (fingerprint, IOC and rule groups, the first
 * HUB_OB_MEMBERS_GROUPS of them) is what peer hubs shared of the same
 * value (or, for a rule group, rows listing the rule id), from the
 * store's shared_list op.
 * NULL with err set when p is inconsistent or the store fails.  The
 * caller json_decref()s the result.
 */
json_t *hub_outbreaks(struct hub_store *st,
    const struct hub_outbreak_params *p, char *err, size_t errlen);

/*
 * The grouping of one alert, for callers that must agree with this view
 * (hub/incidents.c: an incident's outbreak links, its detection
 * classes): the kind (HUB_OB_*) with its key and label written into
 * key[kcap] and label[lcap], or -1 for a row that is not a finding (not
 * an alert, a health report).  Keys fit in HUB_OB_KEY_MAX bytes.
 */
enum { HUB_OB_FINGERPRINT = 0, HUB_OB_RULE = 1, HUB_OB_IOC = 2,
	HUB_OB_SCAN = 3, HUB_OB_NKINDS = 4 };
#define HUB_OB_KEY_MAX		1100	/* an IOC value (1024) and its type */
#define HUB_OB_LABEL_MAX	300
int hub_outbreak_classify(const struct hub_indicator *d, char *key,
    size_t kcap, char *label, size_t lcap);
/* "fingerprint" "rule" "ioc" "scan", or NULL for another number. */
const char *hub_outbreak_kind_name(int kind);

/* ---- helpers shared with hub/stix.c ---------------------------------- */

/* A JSON string of s; bytes that are not valid UTF-8 become '?'. */
json_t *hub_json_str(const char *s);

/*
 * A point in time from a query parameter: a duration back from now_us
 * ("30s", "15m", "24h", "7d"; at most 10 years) or RFC 3339 UTC.  0 / -1.
 */
int hub_time_param(const char *v, int64_t now_us, int64_t *out);
/* RFC 3339 UTC with milliseconds ("2010-04-18T21:41:52.640Z"), the form
 * STIX requires for created/modified.  Times before 1970 print as 1970. */
#define HUB_TIME_MS_LEN	32
char *hub_time_ms(int64_t us, char *out, size_t len);

/*
 * An open-addressing index from a 64-bit hash to small integers (indexes
 * into the caller's arrays).  The caller compares the real keys in eq, so
 * a hash collision never merges two keys.  Probing stops after
 * HUB_ITAB_PROBES slots: a crafted set of colliding keys from a hostile
 * agent costs bounded time and is refused (counted by the caller), not
 * a slowdown of the whole hub.
 */
#define HUB_ITAB_PROBES	128
struct hub_itab {
	uint64_t	*hash;
	uint32_t	*val;		/* UINT32_MAX = empty */
	size_t		 cap, n;
	uint64_t	 seed;
};
int hub_itab_init(struct hub_itab *t, size_t hint);
void hub_itab_free(struct hub_itab *t);
uint64_t hub_itab_hash(const struct hub_itab *t, const void *key, size_t len);
/* The value whose key eq(arg, value) confirms, or UINT32_MAX. */
uint32_t hub_itab_find(const struct hub_itab *t, uint64_t h,
    int (*eq)(void *arg, uint32_t val), void *arg);
/* Add (h, val) for a key not present: 0, or -1 (memory, probe limit). */
int hub_itab_add(struct hub_itab *t, uint64_t h, uint32_t val);

#endif
