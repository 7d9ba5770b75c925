/*
 * outbreak.c - groups the stored indicators of many hosts into outbreaks
 * (see outbreak.h, docs/outbreaks.md).  One pass over the store's rows in
 * the window, oldest first: each alert gets one grouping key (its worm
 * fingerprint, its listed IOC value, its scanning port, or its rule id),
 * each (key, host) pair remembers when that host was first affected, and
 * the groups seen on enough hosts are sorted and printed.  Everything is
 * bounded: the rows looked at, the candidate keys, the hosts, the output;
 * what a bound cut is counted and reported, never dropped silently.
 * Fingerprint, IOC and rule groups then get "members": what peer hubs
 * shared of the same value (a rule group: shared rows that list its rule
 * id), one bounded, indexed shared_list query per group.
 * Called by hub/api.c (GET /api/v1/outbreaks) and the unit tests.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/pktime.h"
#include "common/util.h"
#include "hub/ingest.h"
#include "hub/jsonread.h"
#include "hub/outbreak.h"
#include "hub/stix.h"

#define EMPTY		UINT32_MAX
#define KEY_MAX		HUB_OB_KEY_MAX
#define LABEL_MAX	HUB_OB_LABEL_MAX
#define RULES_MAX	4	/* rule ids listed per group */
#define RULE_ID_MAX	64
#define HOSTS_MAX	100000	/* distinct agents in one answer */
#define CAND_PER_GROUP	16	/* candidate keys per group returned */
#define CAND_MIN	1024
#define CAND_MAX	200000

enum { K_FP = HUB_OB_FINGERPRINT, K_RULE = HUB_OB_RULE,
	K_IOC = HUB_OB_IOC, K_SCAN = HUB_OB_SCAN, K__N = HUB_OB_NKINDS };
static const char *const kind_names[K__N] = {
	"fingerprint", "rule", "ioc", "scan",
};

struct host {
	char		 id[HUB_ID_MAX + 1];
	char		 name[HUB_HOST_MAX + 1];
	int		 named;		/* hosts table consulted */
};

struct grp {
	uint8_t		 kind;
	char		*key;
	size_t		 keylen;
	char		*label;
	int64_t		 first_us, last_us;
	uint64_t	 indicators;
	int		 max_sev;
	uint32_t	 nhosts;
	uint32_t	 nrules;
	char		 rules[RULES_MAX][RULE_ID_MAX];
	/* after the scan: this group's slice of the sorted entries */
	uint32_t	 ent_off;
};

/* When one host was first affected by one group. */
struct ent {
	uint32_t	 grp, host;
	int64_t		 first_us;
};

struct ob {
	const struct hub_outbreak_params *p;
	struct host	*hosts;
	uint32_t	 nhosts, hosts_cap;
	struct grp	*grps;
	uint32_t	 ngrps, grps_cap, grps_max;
	struct ent	*ents;
	uint32_t	 nents, ents_cap;
	struct hub_itab	 hix, gix, eix;
	uint64_t	 scanned, cut, keys_dropped, hosts_dropped;
	int		 cut_exact, nomem;
	/* the key being looked up, for the eq callbacks */
	const char	*k;
	size_t		 klen;
	uint8_t		 kkind;
	uint32_t	 kg, kh;
};

/* ---- shared helpers --------------------------------------------------- */

static uint64_t
mix64(uint64_t x)
{
	/* splitmix64's finaliser: FNV's low bits are weak on short keys */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

int
hub_itab_init(struct hub_itab *t, size_t hint)
{
	size_t i, cap = 64;
	int local;

	memset(t, 0, sizeof(*t));
	while (cap < hint * 2 && cap < ((size_t)1 << 30))
		cap <<= 1;
	t->hash = calloc(cap, sizeof(*t->hash));
	t->val = malloc(cap * sizeof(*t->val));
	if (t->hash == NULL || t->val == NULL) {
		hub_itab_free(t);
		return -1;
	}
	for (i = 0; i < cap; i++)
		t->val[i] = EMPTY;
	t->cap = cap;
	/* Not a secret, but not knowable from outside before the call:
	 * enough that colliding keys cannot be prepared in advance. */
	t->seed = mix64(PK_FNV_SEED ^ pk_now_us() ^ pk_mono_us() ^
	    (uint64_t)(uintptr_t)&local);
	return 0;
}

void
hub_itab_free(struct hub_itab *t)
{
	free(t->hash);
	free(t->val);
	t->hash = NULL;
	t->val = NULL;
	t->cap = t->n = 0;
}

uint64_t
hub_itab_hash(const struct hub_itab *t, const void *key, size_t len)
{
	return mix64(pk_fnv1a64(key, len, t->seed));
}

uint32_t
hub_itab_find(const struct hub_itab *t, uint64_t h,
    int (*eq)(void *arg, uint32_t val), void *arg)
{
	size_t i, k, mask = t->cap - 1;

	if (t->cap == 0)
		return EMPTY;
	for (i = h & mask, k = 0; k < HUB_ITAB_PROBES; k++, i = (i + 1) & mask) {
		if (t->val[i] == EMPTY)
			return EMPTY;
		if (t->hash[i] == h && eq(arg, t->val[i]))
			return t->val[i];
	}
	return EMPTY;
}

static int
itab_grow(struct hub_itab *t)
{
	struct hub_itab n = *t;
	size_t i, j, mask;

	if (t->cap >= ((size_t)1 << 30))
		return -1;
	n.cap = t->cap * 2;
	n.hash = calloc(n.cap, sizeof(*n.hash));
	n.val = malloc(n.cap * sizeof(*n.val));
	if (n.hash == NULL || n.val == NULL) {
		free(n.hash);
		free(n.val);
		return -1;
	}
	for (i = 0; i < n.cap; i++)
		n.val[i] = EMPTY;
	mask = n.cap - 1;
	/* Load stays under one half, so a free slot always exists. */
	for (i = 0; i < t->cap; i++) {
		if (t->val[i] == EMPTY)
			continue;
		for (j = t->hash[i] & mask; n.val[j] != EMPTY; j = (j + 1) & mask)
			;
		n.hash[j] = t->hash[i];
		n.val[j] = t->val[i];
	}
	free(t->hash);
	free(t->val);
	*t = n;
	return 0;
}

int
hub_itab_add(struct hub_itab *t, uint64_t h, uint32_t val)
{
	size_t i, k, mask;

	if (val == EMPTY || t->cap == 0)
		return -1;
	if ((t->n + 1) * 2 > t->cap && itab_grow(t) == -1)
		return -1;
	mask = t->cap - 1;
	for (i = h & mask, k = 0; k < HUB_ITAB_PROBES; k++, i = (i + 1) & mask)
		if (t->val[i] == EMPTY) {
			t->hash[i] = h;
			t->val[i] = val;
			t->n++;
			return 0;
		}
	return -1;
}

int
hub_time_param(const char *v, int64_t now_us, int64_t *out)
{
	const char *e;
	uint64_t secs;
	int64_t t;

	if (v == NULL || v[0] == '\0' || strlen(v) > HUB_OB_PARAM_MAX)
		return -1;
	if (v[0] >= '0' && v[0] <= '9' && strchr(v, '-') == NULL) {
		/* a duration back from now: at most ten years */
		if (pk_parse_duration(v, 1, 10ULL * 366 * 86400, &secs, &e) == -1)
			return -1;
		*out = now_us - (int64_t)secs * HUB_USEC;
		return 0;
	}
	if (hub_parse_time(v, &t) == -1)
		return -1;
	*out = t;
	return 0;
}

char *
hub_time_ms(int64_t us, char *out, size_t len)
{
	char buf[PK_TIMESTRLEN];

	if (us < 0)
		us = 0;
	pk_time_format((uint64_t)us, buf, sizeof(buf));
	/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ": keep three fraction digits */
	snprintf(out, len, "%.23sZ", buf);
	return out;
}

/* ---- parameters ------------------------------------------------------- */

void
hub_outbreak_params_default(struct hub_outbreak_params *p)
{
	memset(p, 0, sizeof(*p));
	p->now_us = (int64_t)pk_now_us();
	p->until_us = p->now_us;
	p->since_us = p->now_us - HUB_OB_WINDOW_US;
	p->min_hosts = HUB_OB_MIN_HOSTS;
	p->max_indicators = HUB_OB_MAX_INDICATORS;
	p->max_groups = HUB_OB_MAX_GROUPS;
	p->kind = NULL;
}

static int
kind_index(const char *s)
{
	int i;

	for (i = 0; i < K__N; i++)
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return -1;
}

int
hub_window_param(const char *name, const char *value, int64_t now_us,
    int64_t *since_us, int64_t *until_us, char *err, size_t errlen)
{
	int64_t t;

	if (name == NULL || value == NULL) {
		snprintf(err, errlen, "parameter without a name or value");
		return -1;
	}
	if (strlen(value) > HUB_OB_PARAM_MAX) {
		snprintf(err, errlen, "%.32s: value longer than %d bytes",
		    name, HUB_OB_PARAM_MAX);
		return -1;
	}
	if (strcmp(name, "since") != 0 && strcmp(name, "until") != 0)
		return 0;
	if (hub_time_param(value, now_us, &t) == -1) {
		snprintf(err, errlen, "%s: expected a duration such as 24h, "
		    "90m, 7d or an RFC 3339 UTC time such as "
		    "2024-05-01T00:00:00Z", name);
		return -1;
	}
	*(name[0] == 's' ? since_us : until_us) = t;
	return 1;
}

int
hub_outbreak_params_set(struct hub_outbreak_params *p, const char *name,
    const char *value, char *err, size_t errlen)
{
	const char *e = NULL;
	uint64_t u;
	int k;

	if ((k = hub_window_param(name, value, p->now_us, &p->since_us,
	    &p->until_us, err, errlen)) != 0)
		return k < 0 ? -1 : 0;
	if (strcmp(name, "min_hosts") == 0) {
		if (pk_parse_u64(value, 2, 100000, &u, &e) == -1) {
			snprintf(err, errlen, "min_hosts: %s (2..100000)", e);
			return -1;
		}
		p->min_hosts = (uint32_t)u;
		return 0;
	}
	if (strcmp(name, "limit") == 0) {
		if (pk_parse_u64(value, 1, HUB_OB_MAX_GROUPS_CAP, &u, &e) == -1) {
			snprintf(err, errlen, "limit: %s (1..%d)", e,
			    HUB_OB_MAX_GROUPS_CAP);
			return -1;
		}
		p->max_groups = (uint32_t)u;
		return 0;
	}
	if (strcmp(name, "kind") == 0) {
		if (strcmp(value, "all") == 0) {
			p->kind = NULL;
			return 0;
		}
		if ((k = kind_index(value)) == -1) {
			snprintf(err, errlen, "kind: expected fingerprint, rule, "
			    "ioc, scan or all");
			return -1;
		}
		p->kind = kind_names[k];	/* static: outlives value */
		return 0;
	}
	snprintf(err, errlen, "unknown parameter \"%.32s\" (since, until, "
	    "min_hosts, kind, limit)", name);
	return -1;
}

static int
params_check(const struct hub_outbreak_params *p, char *err, size_t errlen)
{
	if (p->since_us >= p->until_us) {
		snprintf(err, errlen, "since must be before until");
		return -1;
	}
	if (p->min_hosts < 1 || p->max_groups < 1 ||
	    p->max_groups > HUB_OB_MAX_GROUPS_CAP || p->max_indicators < 1 ||
	    p->max_indicators > HUB_OB_MAX_INDICATORS_CAP) {
		snprintf(err, errlen, "limits out of range");
		return -1;
	}
	if (p->kind != NULL && kind_index(p->kind) == -1) {
		snprintf(err, errlen, "kind: expected fingerprint, rule, ioc, "
		    "scan or all");
		return -1;
	}
	return 0;
}

/* ---- classification --------------------------------------------------- */

static int
has_prefix(const char *s, const char *pfx)
{
	return strncmp(s, pfx, strlen(pfx)) == 0;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* A string field of the row's JSON; "" when absent or unreadable. */
static void
json_field(const struct hub_indicator *d, const char *path, char *out,
    size_t cap)
{
	struct pk_jr_val v;

	out[0] = '\0';
	if (d->json == NULL ||
	    pk_jr_find(d->json, d->json_len, path, &v) != 1 ||
	    pk_jr_string(&v, out, cap) == -1)
		out[0] = '\0';
}

static const char *
transport_of(const struct hub_indicator *d)
{
	return d->transport[0] != '\0' ? d->transport : "ip";
}

/*
 * The grouping key and label of one alert.  Exactly one kind per row: a
 * fingerprint indicator is a fingerprint, an IOC match an IOC, a scan a
 * scanning pattern, anything else (content rules, process rules) a rule.
 * -1 for rows that are not findings (health reports).
 */
int
hub_outbreak_classify(const struct hub_indicator *d, char *key, size_t kcap,
    char *label, size_t lcap)
{
	/* an IOC value is at most 1024 bytes (docs/schema.md) */
	char v[1030], t[HUB_SHORT_MAX];
	const char *dir = d->direction;
	int outbound = strcmp(dir, "outbound") == 0;

	if (strcmp(d->event_kind, "alert") != 0 ||
	    has_prefix(d->rule_id, "picket.health."))
		return -1;
	if (has_prefix(d->rule_id, "picket.fingerprint.")) {
		pk_strlcpy(key, d->fingerprint, kcap);
		lower(key);
		if (d->destination_port >= 0)
			snprintf(label, lcap, "fingerprint %.12s (%d/%s)", key,
			    d->destination_port, transport_of(d));
		else
			snprintf(label, lcap, "fingerprint %.12s", key);
		return K_FP;
	}
	if (has_prefix(d->rule_id, "picket.scan.") ||
	    strcmp(d->rule_id, "picket.process.scan") == 0) {
		/* The port is the pattern; a port scan (many ports on one
		 * host) has none and is its own pattern.  Direction stays
		 * in the key: hosts scanning out (infected) and hosts
		 * scanned from outside are different stories. */
		if (d->destination_port >= 0) {
			snprintf(key, kcap, "%d/%s/%s", d->destination_port,
			    transport_of(d), dir);
			snprintf(label, lcap, "scanning %d/%s%s%s%s",
			    d->destination_port, transport_of(d),
			    outbound ? "" : " (", outbound ? "" : dir,
			    outbound ? "" : ")");
		} else {
			snprintf(key, kcap, "ports/%s/%s", transport_of(d),
			    dir);
			snprintf(label, lcap, "port scanning (%s)%s%s%s",
			    transport_of(d), outbound ? "" : " (",
			    outbound ? "" : dir, outbound ? "" : ")");
		}
		return K_SCAN;
	}
	json_field(d, "threat.indicator.name", v, sizeof(v));
	if (v[0] != '\0') {
		json_field(d, "threat.indicator.type", t, sizeof(t));
		/* URLs keep their case (paths are case-sensitive); names,
		 * addresses and hashes do not */
		if (strcmp(t, "url") != 0)
			lower(v);
		snprintf(key, kcap, "%s:%s", t[0] != '\0' ? t : "unknown", v);
		snprintf(label, lcap, "IOC %.280s", v);
		return K_IOC;
	}
	pk_strlcpy(key, d->rule_id, kcap);
	if (d->rule_name[0] != '\0')
		pk_strlcpy(label, d->rule_name, lcap);
	else
		snprintf(label, lcap, "rule %.250s", d->rule_id);
	return K_RULE;
}

const char *
hub_outbreak_kind_name(int kind)
{
	return kind >= 0 && kind < K__N ? kind_names[kind] : NULL;
}

/* ---- the tables ------------------------------------------------------- */

static int
host_eq(void *arg, uint32_t v)
{
	struct ob *o = arg;

	return strcmp(o->hosts[v].id, o->k) == 0;
}

static uint32_t
host_intern(struct ob *o, const struct hub_indicator *d)
{
	struct host *h;
	uint64_t hv;
	uint32_t i;

	o->k = d->agent_id;
	hv = hub_itab_hash(&o->hix, d->agent_id, strlen(d->agent_id));
	if ((i = hub_itab_find(&o->hix, hv, host_eq, o)) != EMPTY)
		return i;
	if (o->nhosts >= HOSTS_MAX) {
		o->hosts_dropped++;
		return EMPTY;
	}
	if (o->nhosts == o->hosts_cap) {
		uint32_t nc = o->hosts_cap ? o->hosts_cap * 2 : 64;

		h = realloc(o->hosts, (size_t)nc * sizeof(*h));
		if (h == NULL)
			goto nomem;
		o->hosts = h;
		o->hosts_cap = nc;
	}
	h = &o->hosts[o->nhosts];
	memset(h, 0, sizeof(*h));
	pk_strlcpy(h->id, d->agent_id, sizeof(h->id));
	/* The record's own host.name until the hosts table says better. */
	json_field(d, "host.name", h->name, sizeof(h->name));
	if (hub_itab_add(&o->hix, hv, o->nhosts) == -1) {
		o->hosts_dropped++;
		return EMPTY;
	}
	return o->nhosts++;
nomem:
	o->nomem = 1;
	return EMPTY;
}

static int
grp_eq(void *arg, uint32_t v)
{
	struct ob *o = arg;
	const struct grp *g = &o->grps[v];

	return g->kind == o->kkind && g->keylen == o->klen &&
	    memcmp(g->key, o->k, o->klen) == 0;
}

static char *
dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static uint32_t
grp_intern(struct ob *o, int kind, const char *key, const char *label)
{
	uint8_t buf[KEY_MAX + 1];
	struct grp *g;
	size_t kl = strlen(key);
	uint64_t hv;
	uint32_t i;

	buf[0] = (uint8_t)kind;
	memcpy(buf + 1, key, PK_MIN(kl, sizeof(buf) - 1));
	hv = hub_itab_hash(&o->gix, buf, 1 + PK_MIN(kl, sizeof(buf) - 1));
	o->k = key;
	o->klen = kl;
	o->kkind = (uint8_t)kind;
	if ((i = hub_itab_find(&o->gix, hv, grp_eq, o)) != EMPTY)
		return i;
	if (o->ngrps >= o->grps_max) {
		o->keys_dropped++;
		return EMPTY;
	}
	if (o->ngrps == o->grps_cap) {
		uint32_t nc = o->grps_cap ? o->grps_cap * 2 : 64;

		g = realloc(o->grps, (size_t)nc * sizeof(*g));
		if (g == NULL)
			goto nomem;
		o->grps = g;
		o->grps_cap = nc;
	}
	g = &o->grps[o->ngrps];
	memset(g, 0, sizeof(*g));
	g->kind = (uint8_t)kind;
	g->keylen = kl;
	g->first_us = INT64_MAX;
	g->last_us = INT64_MIN;
	g->max_sev = -1;
	if ((g->key = dupn(key, kl)) == NULL ||
	    (g->label = dupn(label, strlen(label))) == NULL) {
		free(g->key);
		goto nomem;
	}
	if (hub_itab_add(&o->gix, hv, o->ngrps) == -1) {
		free(g->key);
		free(g->label);
		o->keys_dropped++;
		return EMPTY;
	}
	return o->ngrps++;
nomem:
	o->nomem = 1;
	return EMPTY;
}

static int
ent_eq(void *arg, uint32_t v)
{
	struct ob *o = arg;

	return o->ents[v].grp == o->kg && o->ents[v].host == o->kh;
}

/* Host h affected by group g at t: a new pair counts one more host. */
static int
ent_note(struct ob *o, uint32_t g, uint32_t h, int64_t t)
{
	uint32_t key[2] = { g, h }, i;
	struct ent *e;
	uint64_t hv;

	hv = hub_itab_hash(&o->eix, key, sizeof(key));
	o->kg = g;
	o->kh = h;
	if ((i = hub_itab_find(&o->eix, hv, ent_eq, o)) != EMPTY) {
		if (t < o->ents[i].first_us)
			o->ents[i].first_us = t;
		return 0;
	}
	if (o->nents == o->ents_cap) {
		uint32_t nc = o->ents_cap ? o->ents_cap * 2 : 256;

		e = realloc(o->ents, (size_t)nc * sizeof(*e));
		if (e == NULL) {
			o->nomem = 1;
			return -1;
		}
		o->ents = e;
		o->ents_cap = nc;
	}
	if (hub_itab_add(&o->eix, hv, o->nents) == -1) {
		o->keys_dropped++;
		return -1;
	}
	e = &o->ents[o->nents++];
	e->grp = g;
	e->host = h;
	e->first_us = t;
	o->grps[g].nhosts++;
	return 0;
}

static void
note_rule(struct grp *g, const char *rule_id)
{
	uint32_t i;

	for (i = 0; i < g->nrules; i++)
		if (strncmp(g->rules[i], rule_id, RULE_ID_MAX - 1) == 0)
			return;
	if (g->nrules < RULES_MAX)
		pk_strlcpy(g->rules[g->nrules++], rule_id, RULE_ID_MAX);
}

/* picket.first_seen / last_seen, or @timestamp when unreadable. */
static void
row_times(const struct hub_indicator *d, int64_t *first, int64_t *last)
{
	if (hub_parse_time(d->first_seen, first) == -1)
		*first = d->ts_us;
	if (hub_parse_time(d->last_seen, last) == -1)
		*last = d->ts_us;
	if (*last < *first)
		*last = *first;
}

static int
on_row(void *arg, const struct hub_indicator *d)
{
	struct ob *o = arg;
	const struct hub_outbreak_params *p = o->p;
	char key[KEY_MAX], label[LABEL_MAX];
	int64_t first, last;
	struct grp *g;
	uint32_t gi, hi;
	int kind;

	/* rows come in @timestamp order: the first past the window ends
	 * the scan */
	if (d->ts_us >= p->until_us)
		return 1;
	if (o->scanned >= p->max_indicators) {
		/* Count what the bound cut, but do not read for ever. */
		if (o->cut >= p->max_indicators) {
			o->cut_exact = 0;
			return 1;
		}
		o->cut++;
		return 0;
	}
	o->scanned++;
	if ((kind = hub_outbreak_classify(d, key, sizeof(key), label,
	    sizeof(label))) < 0)
		return 0;
	if (p->kind != NULL && strcmp(p->kind, kind_names[kind]) != 0)
		return 0;
	if ((hi = host_intern(o, d)) == EMPTY ||
	    (gi = grp_intern(o, kind, key, label)) == EMPTY)
		return o->nomem;
	row_times(d, &first, &last);
	g = &o->grps[gi];
	g->indicators++;
	g->first_us = PK_MIN(g->first_us, first);
	g->last_us = PK_MAX(g->last_us, last);
	g->max_sev = PK_MAX(g->max_sev, d->severity);
	note_rule(g, d->rule_id);
	if (ent_note(o, gi, hi, first) == -1)
		return o->nomem;
	return 0;
}

/* ---- output ----------------------------------------------------------- */

json_t *
hub_json_str(const char *s)
{
	json_t *j;
	char *c;
	size_t i, n;

	if ((j = json_string(s)) != NULL)
		return j;
	n = strlen(s);
	if ((c = dupn(s, n)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	j = json_string(c);
	free(c);
	return j;
}

static int
put(json_t *o, const char *k, json_t *v)
{
	return v == NULL || json_object_set_new(o, k, v) == -1 ? -1 : 0;
}

static json_t *
jtime(int64_t us)
{
	char b[HUB_TIME_MS_LEN];

	return json_string(hub_time_ms(us, b, sizeof(b)));
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if (x->grp != y->grp)
		return x->grp < y->grp ? -1 : 1;
	if (x->first_us != y->first_us)
		return x->first_us < y->first_us ? -1 : 1;
	if (x->host != y->host)
		return x->host < y->host ? -1 : 1;
	return 0;
}

/* qsort has no context argument: the groups being sorted. */
static const struct grp *sort_grps;

static int
grp_cmp(const void *a, const void *b)
{
	const struct grp *x = &sort_grps[*(const uint32_t *)a];
	const struct grp *y = &sort_grps[*(const uint32_t *)b];
	int c;

	if (x->nhosts != y->nhosts)
		return x->nhosts > y->nhosts ? -1 : 1;
	if (x->last_us != y->last_us)
		return x->last_us > y->last_us ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	c = strcmp(x->key, y->key);
	return c;
}

/* The hosts table's name for h (HELLO), once per host. */
static void
host_name(struct hub_store *st, struct host *h)
{
	struct hub_host hh;
	int found = 0;

	if (h->named)
		return;
	h->named = 1;
	if (st->ops->host_get(st, h->id, &hh, &found) == 0 && found &&
	    hh.host_name[0] != '\0')
		pk_strlcpy(h->name, hh.host_name, sizeof(h->name));
}

static json_t *
host_json(struct hub_store *st, struct host *h, int64_t first_us)
{
	json_t *j = json_object();
	int bad = 0;

	if (j == NULL)
		return NULL;
	host_name(st, h);
	bad |= put(j, "agent_id", hub_json_str(h->id));
	bad |= put(j, "host_name", hub_json_str(h->name));
	bad |= put(j, "first_seen", jtime(first_us));
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static json_t *
group_json(struct ob *o, struct hub_store *st, const struct grp *g,
    int64_t bucket_us)
{
	const struct hub_outbreak_params *p = o->p;
	const struct ent *e = &o->ents[g->ent_off];
	json_t *j, *hosts, *series, *rules;
	uint64_t counts[HUB_OB_BUCKETS] = { 0 };
	uint32_t i, n = g->nhosts;
	int64_t b;
	int bad = 0;

	if ((j = json_object()) == NULL)
		return NULL;
	hosts = json_array();
	series = json_array();
	rules = json_array();
	for (i = 0; i < n; i++) {
		b = (e[i].first_us - p->since_us) / bucket_us;
		b = b < 0 ? 0 : PK_MIN(b, HUB_OB_BUCKETS - 1);
		counts[b]++;
		if (i < HUB_OB_HOSTS_OUT_MAX)
			bad |= json_array_append_new(hosts, host_json(st,
			    &o->hosts[e[i].host], e[i].first_us));
	}
	for (i = 0; i < HUB_OB_BUCKETS; i++)
		bad |= json_array_append_new(series, json_integer(
		    (json_int_t)counts[i]));
	for (i = 0; i < g->nrules; i++)
		bad |= json_array_append_new(rules, hub_json_str(g->rules[i]));
	bad |= put(j, "kind", json_string(kind_names[g->kind]));
	bad |= put(j, "key", hub_json_str(g->key));
	bad |= put(j, "label", hub_json_str(g->label));
	bad |= put(j, "first_seen", jtime(g->first_us));
	bad |= put(j, "last_seen", jtime(g->last_us));
	bad |= put(j, "hosts_affected", json_integer(n));
	bad |= put(j, "hosts_listed", json_integer(PK_MIN(n,
	    HUB_OB_HOSTS_OUT_MAX)));
	/* entries are sorted by first time: the first is patient zero */
	bad |= put(j, "patient_zero", host_json(st, &o->hosts[e[0].host],
	    e[0].first_us));
	bad |= put(j, "hosts", hosts);
	bad |= put(j, "series", series);
	bad |= put(j, "indicators", json_integer((json_int_t)g->indicators));
	bad |= put(j, "max_severity", json_integer(g->max_sev));
	bad |= put(j, "rules", rules);
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---- members: what peer hubs shared of the same value --------------- */

/* One peer's rows for one value, folded (rejected rows never get here). */
struct mpeer {
	char		 peer[HUB_PEER_NAME_MAX + 1];
	char		 origin[HUB_PEER_NAME_MAX * 2 + 1];
	uint64_t	 hosts;		/* the largest of its rows */
	int		 tlp;		/* of its earliest row */
	int64_t		 first_us;	/* earliest first_received */
	int		 state;		/* approved if any row is */
};

/* The lookup of one group: at most HUB_OB_MEMBERS_ROWS rows, so at most
 * that many peers, and the array is sized for it once per call. */
struct members {
	const char	*value;		/* NULL: a rule (by index) */
	int		 fold;		/* compare without case (not URLs) */
	struct mpeer	*p;		/* HUB_OB_MEMBERS_ROWS */
	uint32_t	 n;
	uint64_t	 rows;		/* rows shared_list gave */
};

/*
 * The shared kind and value peers would use for a group (a rule group:
 * kind NULL and its rule id, which shared rows list in rule_ids and the
 * store indexes, schema 9), or -1 for a group peers cannot share: scans
 * (a port and a direction are no value a peer sends) and IOC types with
 * no STIX pattern.
 */
static int
members_key(const struct grp *g, const char **kind, const char **value)
{
	if (g->kind == K_RULE) {
		*kind = NULL;
		*value = g->key;
		return g->key[0] != '\0' ? 0 : -1;
	}
	static const struct { const char *type, *kind; } iocs[] = {
		{ "ipv4-addr:", "ipv4" }, { "ipv6-addr:", "ipv6" },
		{ "domain-name:", "domain" }, { "url:", "url" },
		{ "file:", "sha256" },
	};
	size_t i, n;

	if (g->kind == K_FP) {
		*kind = "fingerprint";
		*value = g->key;
		return g->key[0] != '\0' ? 0 : -1;
	}
	if (g->kind != K_IOC)
		return -1;
	for (i = 0; i < PK_NELEM(iocs); i++) {
		n = strlen(iocs[i].type);
		if (strncmp(g->key, iocs[i].type, n) == 0 &&
		    g->key[n] != '\0') {
			*kind = iocs[i].kind;
			*value = g->key + n;
			return 0;
		}
	}
	return -1;
}

static int
member_row(void *arg, const struct hub_shared *s)
{
	struct members *m = arg;
	struct mpeer *p;
	uint32_t i;

	m->rows++;
	/* the store looked the value up exactly (shared_value index, or
	 * shared_rule_ids for a rule); the check stays cheap insurance for
	 * another backend, and an analyst's rejection takes the row out */
	if ((m->value != NULL && (m->fold ? strcasecmp(s->value, m->value) :
	    strcmp(s->value, m->value)) != 0) ||
	    s->state == HUB_SHARED_REJECTED)
		return 0;
	for (i = 0; i < m->n; i++)
		if (strcmp(m->p[i].peer, s->peer) == 0)
			break;
	if (i == m->n) {
		if (m->n >= HUB_OB_MEMBERS_ROWS)	/* one per row: cannot */
			return 0;
		p = &m->p[m->n++];
		memset(p, 0, sizeof(*p));
		pk_strlcpy(p->peer, s->peer, sizeof(p->peer));
		p->first_us = INT64_MAX;
		p->state = s->state;
	}
	p = &m->p[i];
	if (s->first_received_us < p->first_us) {
		p->first_us = s->first_received_us;
		pk_strlcpy(p->origin, s->origin, sizeof(p->origin));
		p->tlp = s->tlp;
	}
	p->hosts = PK_MAX(p->hosts, s->hosts);
	if (s->state == HUB_SHARED_APPROVED)
		p->state = HUB_SHARED_APPROVED;
	return 0;
}

static int
mpeer_cmp(const void *a, const void *b)
{
	const struct mpeer *x = a, *y = b;

	if (x->first_us != y->first_us)
		return x->first_us < y->first_us ? -1 : 1;
	return strcmp(x->peer, y->peer);
}

static json_t *
mpeer_json(const struct mpeer *p, int full)
{
	json_t *j = json_object();
	int bad = 0;

	if (j == NULL)
		return NULL;
	bad |= put(j, "peer", hub_json_str(p->peer));
	bad |= put(j, "origin", hub_json_str(p->origin));
	if (full) {
		bad |= put(j, "hosts", json_integer((json_int_t)PK_MIN(
		    p->hosts, (uint64_t)INT64_MAX)));
		bad |= put(j, "tlp", json_string(hub_tlp_name(p->tlp)));
	}
	bad |= put(j, "first_received", jtime(p->first_us));
	if (full)
		bad |= put(j, "state", json_string(
		    p->state == HUB_SHARED_APPROVED ? "approved" : "pending"));
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/*
 * g's "members" from the shared rows of its value, or NULL with *err
 * set (1: the store failed, 2: memory).  The rows come newest first and
 * at most HUB_OB_MEMBERS_ROWS of them: when that many came, older ones
 * may be missing (even the earliest), and "truncated" says so.
 */
static json_t *
members_json(struct hub_store *st, struct members *m, const char *kind,
    const char *value, int *cut, int *err)
{
	struct hub_shared_filter f;
	json_t *j, *peers;
	uint64_t hosts = 0;
	uint32_t i;
	int bad = 0;

	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.limit = HUB_OB_MEMBERS_ROWS;
	if (kind == NULL) {
		/* a rule id: rows of any kind that list it */
		f.rule_id = value;
		m->value = NULL;
		m->fold = 0;
	} else {
		f.kind = kind;
		f.value = value;	/* exactly: the shared_value index */
		m->value = value;
		m->fold = strcmp(kind, "url") != 0;
	}
	m->n = 0;
	m->rows = 0;
	if (st->ops->shared_list(st, &f, member_row, m) == -1) {
		*err = 1;
		return NULL;
	}
	*cut = m->rows >= HUB_OB_MEMBERS_ROWS;
	if (m->n > 1)
		qsort(m->p, m->n, sizeof(*m->p), mpeer_cmp);
	if ((j = json_object()) == NULL || (peers = json_array()) == NULL) {
		json_decref(j);
		*err = 2;
		return NULL;
	}
	for (i = 0; i < m->n; i++) {
		hosts = m->p[i].hosts > (uint64_t)INT64_MAX - hosts ?
		    (uint64_t)INT64_MAX : hosts + m->p[i].hosts;
		if (i < HUB_OB_MEMBERS_OUT)
			bad |= json_array_append_new(peers,
			    mpeer_json(&m->p[i], 1));
	}
	bad |= put(j, "count", json_integer(m->n));
	bad |= put(j, "hosts", json_integer((json_int_t)hosts));
	bad |= put(j, "first", m->n > 0 ? mpeer_json(&m->p[0], 0) :
	    json_null());
	bad |= put(j, "peers", peers);
	bad |= put(j, "truncated", json_boolean(*cut));
	if (bad) {
		json_decref(j);
		*err = 2;
		return NULL;
	}
	return j;
}

/*
 * "members" on the first HUB_OB_MEMBERS_GROUPS groups of arr that peers
 * can share; *cut when a group past that bound went without, or a
 * group's rows were cut.  0, or -1 with err set.
 */
static int
members_add(struct hub_store *st, json_t *arr, const struct grp *const *gs,
    uint32_t n, int *cut, char *err, size_t errlen)
{
	struct members m;
	const char *kind, *value;
	json_t *mj;
	uint32_t i, done = 0;
	int c, e = 0;

	*cut = 0;
	memset(&m, 0, sizeof(m));
	for (i = 0; i < n; i++) {
		if (members_key(gs[i], &kind, &value) == -1)
			continue;
		if (done >= HUB_OB_MEMBERS_GROUPS) {
			*cut = 1;
			break;
		}
		if (m.p == NULL && (m.p = calloc(HUB_OB_MEMBERS_ROWS,
		    sizeof(*m.p))) == NULL) {
			e = 2;
			break;
		}
		done++;
		c = 0;
		if ((mj = members_json(st, &m, kind, value, &c, &e)) == NULL)
			break;
		*cut |= c;
		if (json_object_set_new(json_array_get(arr, i), "members",
		    mj) == -1) {
			e = 2;
			break;
		}
	}
	free(m.p);
	if (e != 0)
		snprintf(err, errlen, e == 1 ? "store query failed" :
		    "out of memory");
	return e != 0 ? -1 : 0;
}

/* The answer, or NULL with err set. */
static json_t *
result_json(struct ob *o, struct hub_store *st, char *err, size_t errlen)
{
	const struct hub_outbreak_params *p = o->p;
	const struct grp **out = NULL;
	uint32_t *idx = NULL, nidx = 0, i, nout;
	int64_t bucket_us;
	json_t *j, *arr;
	int bad = 0, mcut = 0;

	/* Each group's hosts, in the order they were affected. */
	if (o->nents > 0)
		qsort(o->ents, o->nents, sizeof(*o->ents), ent_cmp);
	for (i = o->nents; i > 0; i--)
		o->grps[o->ents[i - 1].grp].ent_off = i - 1;
	snprintf(err, errlen, "out of memory");
	if (o->ngrps > 0 &&
	    ((idx = malloc((size_t)o->ngrps * sizeof(*idx))) == NULL ||
	    (out = malloc((size_t)o->ngrps * sizeof(*out))) == NULL)) {
		free(idx);
		return NULL;
	}
	for (i = 0; i < o->ngrps; i++)
		if (o->grps[i].nhosts >= p->min_hosts)
			idx[nidx++] = i;
	sort_grps = o->grps;
	if (nidx > 0)
		qsort(idx, nidx, sizeof(*idx), grp_cmp);
	sort_grps = NULL;
	nout = PK_MIN(nidx, p->max_groups);
	bucket_us = (p->until_us - p->since_us + HUB_OB_BUCKETS - 1) /
	    HUB_OB_BUCKETS;
	/* whole seconds, so the UI can label the axis */
	bucket_us = (bucket_us + HUB_USEC - 1) / HUB_USEC * HUB_USEC;
	if ((j = json_object()) == NULL || (arr = json_array()) == NULL) {
		json_decref(j);
		free(idx);
		free(out);
		return NULL;
	}
	for (i = 0; i < nout; i++) {
		out[i] = &o->grps[idx[i]];
		bad |= json_array_append_new(arr, group_json(o, st, out[i],
		    bucket_us));
	}
	free(idx);
	/* only whole groups get members: a failed group_json above makes
	 * the answer fail anyway */
	if (!bad && members_add(st, arr, out, nout, &mcut, err,
	    errlen) == -1) {
		free(out);
		json_decref(arr);
		json_decref(j);
		return NULL;
	}
	free(out);
	bad |= put(j, "since", jtime(p->since_us));
	bad |= put(j, "until", jtime(p->until_us));
	bad |= put(j, "bucket_seconds", json_integer(bucket_us / HUB_USEC));
	bad |= put(j, "min_hosts", json_integer(p->min_hosts));
	bad |= put(j, "kind", p->kind != NULL ? json_string(p->kind) :
	    json_string("all"));
	bad |= put(j, "scanned", json_integer((json_int_t)o->scanned));
	bad |= put(j, "truncated", json_boolean(o->cut > 0 ||
	    o->keys_dropped > 0 || o->hosts_dropped > 0));
	bad |= put(j, "indicators_cut", json_integer((json_int_t)o->cut));
	bad |= put(j, "indicators_cut_exact", json_boolean(o->cut_exact));
	bad |= put(j, "keys_dropped", json_integer(
	    (json_int_t)o->keys_dropped));
	bad |= put(j, "hosts_dropped", json_integer(
	    (json_int_t)o->hosts_dropped));
	bad |= put(j, "groups_total", json_integer(nidx));
	bad |= put(j, "groups_omitted", json_integer(nidx - nout));
	bad |= put(j, "members_truncated", json_boolean(mcut));
	bad |= put(j, "outbreaks", arr);
	if (bad) {
		snprintf(err, errlen, "out of memory");
		json_decref(j);
		return NULL;
	}
	return j;
}

static void
ob_free(struct ob *o)
{
	uint32_t i;

	for (i = 0; i < o->ngrps; i++) {
		free(o->grps[i].key);
		free(o->grps[i].label);
	}
	free(o->grps);
	free(o->hosts);
	free(o->ents);
	hub_itab_free(&o->hix);
	hub_itab_free(&o->gix);
	hub_itab_free(&o->eix);
}

json_t *
hub_outbreaks(struct hub_store *st, const struct hub_outbreak_params *p,
    char *err, size_t errlen)
{
	struct hub_query q;
	struct ob o;
	json_t *res = NULL;
	uint64_t lim;

	if (params_check(p, err, errlen) == -1)
		return NULL;
	memset(&o, 0, sizeof(o));
	o.p = p;
	o.cut_exact = 1;
	o.grps_max = (uint32_t)PK_MIN(PK_MAX((uint64_t)p->max_groups *
	    CAND_PER_GROUP, CAND_MIN), CAND_MAX);
	if (hub_itab_init(&o.hix, 64) == -1 ||
	    hub_itab_init(&o.gix, 256) == -1 ||
	    hub_itab_init(&o.eix, 1024) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memset(&q, 0, sizeof(q));
	/* since 0 would mean "no filter" to the store: 1 µs is the same */
	q.since_us = p->since_us != 0 ? p->since_us : 1;
	q.kind = "alert";
	/* the rows used, the rows counted as cut, one to see the end */
	lim = p->max_indicators * 2 + 1;
	q.limit = lim;
	if (st->ops->query(st, &q, on_row, &o) == -1 || o.nomem) {
		snprintf(err, errlen, o.nomem ? "out of memory" :
		    "store query failed");
		goto out;
	}
	res = result_json(&o, st, err, errlen);
out:
	ob_free(&o);
	return res;
}
