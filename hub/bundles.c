/*
 * bundles.c - the approved shared indicators as a versioned bundle for
 * the agents, and the serving side that keeps the current version's
 * CONFIG frame ready (see bundles.h; docs/peering.md, "From shared
 * indicators to detection").  Why it is shaped like this:
 *
 * - A version is defined by its entry lines.  The header (version,
 *   created) changes every time, so the SHA-256 of the entry lines alone
 *   says whether a refresh found anything new; the same lines as the
 *   current version make no new version, and the same lines as a
 *   withdrawn version make none either, so a rollback is not undone by
 *   the next timer tick but only by a change of the approved set.
 * - When two peers shared the same (kind, value) the earliest received
 *   row wins: rows are read oldest first and duplicates keep the first.
 *   Over max_entries the newest entries are left out (counted, logged):
 *   what analysts accepted first keeps reaching the hosts.
 * - The timer is cheap: an aggregate over the approved rows (the state
 *   index) is compared with the last one before any bundle is built.
 * - The CONFIG APPLY frame is deflated once per version and shared by
 *   every connection (hub/listener.c queues copies).
 *
 * Called by hub/main.c, hub/listener.c, hub/api_bundles.c,
 * hub/api_peers.c, hub/bundle_cli.c and the unit tests.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/log.h"
#include "common/pktime.h"
#include "common/sha256.h"
#include "common/util.h"
#include "hub/bundles.h"
#include "transport/batch.h"
#include "transport/bundle.h"
#include "transport/frame.h"

/* ------------------------------------------------------------ collect */

/* An entry with the order its row was received in (seq). */
struct ent {
	struct pk_bundle_entry	 e;
	uint64_t		 seq;
	char			*val;		/* owned */
	char			*orig;		/* owned */
};

struct collect {
	struct ent	*v;
	size_t		 n, cap;
	uint64_t	 seq;
	struct hub_bundle_result *res;
	int		 oom;
};

static void
collect_free(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].val);
		free(c->v[i].orig);
	}
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

/* Bundle values are lower case except a URL's path: shape the stored
 * value so, then let the format's own check decide. */
static void
lower_value(int kind, char *v)
{
	if (kind == PK_BK_URL || kind == PK_BK_RULE)
		return;
	for (; *v != '\0'; v++)
		*v = (char)tolower((unsigned char)*v);
}

/* 0 added (or left out, counted), -1 out of memory. */
static int
collect_add(struct collect *c, int kind, const char *value,
    const struct hub_shared *s)
{
	char why[HUB_BUNDLE_ERR_MAX];
	struct ent *x, *nv;
	size_t ncap;

	if (c->n >= HUB_BUNDLE_COLLECT_MAX) {
		c->res->over_cap++;
		return 0;
	}
	if (c->n == c->cap) {
		ncap = c->cap == 0 ? 256 : c->cap * 2;
		if ((nv = realloc(c->v, ncap * sizeof(*nv))) == NULL)
			return -1;
		c->v = nv;
		c->cap = ncap;
	}
	x = &c->v[c->n];
	memset(x, 0, sizeof(*x));
	if ((x->val = strdup(value)) == NULL ||
	    (x->orig = strdup(s->peer)) == NULL) {
		free(x->val);
		return -1;
	}
	lower_value(kind, x->val);
	if (s->tlp < PK_BTLP_CLEAR || s->tlp > PK_BTLP_AMBER_STRICT ||
	    s->id <= 0 ||
	    pk_bundle_check_value(kind, x->val, why, sizeof(why)) == -1) {
		log_debug("bundles: shared %lld %s left out: %s",
		    (long long)s->id, s->kind, why);
		c->res->invalid++;
		free(x->val);
		free(x->orig);
		return 0;
	}
	x->e.kind = (uint8_t)kind;
	x->e.tlp = (uint8_t)s->tlp;
	x->e.ref = (uint64_t)s->id;
	x->e.value = x->val;
	x->e.origin = x->orig;
	x->seq = c->seq++;
	c->n++;
	return 0;
}

/* The row's rule ids (a JSON array of strings) as `rule` entries. */
static int
collect_rules(struct collect *c, const struct hub_shared *s)
{
	json_error_t jerr;
	json_t *a, *v;
	size_t i;
	int rc = 0;

	if (s->rule_ids[0] == '\0' || strcmp(s->rule_ids, "[]") == 0)
		return 0;
	if ((a = json_loads(s->rule_ids, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL || !json_is_array(a)) {
		c->res->invalid++;
		json_decref(a);
		return 0;
	}
	json_array_foreach(a, i, v) {
		if (i >= 64)	/* a peer sends at most 16 (share.h) */
			break;
		if (!json_is_string(v)) {
			c->res->invalid++;
			continue;
		}
		if ((rc = collect_add(c, PK_BK_RULE, json_string_value(v), s))
		    == -1)
			break;
	}
	json_decref(a);
	return rc;
}

static int
collect_row(void *arg, const struct hub_shared *s)
{
	struct collect *c = arg;
	int kind;

	c->res->rows++;
	kind = pk_bundle_kind_parse(s->kind);
	if (kind == 0 || kind == PK_BK_RULE) {
		c->res->invalid++;
	} else if (collect_add(c, kind, s->value, s) == -1) {
		c->oom = 1;
		return 1;
	}
	if (collect_rules(c, s) == -1) {
		c->oom = 1;
		return 1;
	}
	return 0;
}

/* By (kind, value), then the earliest received first. */
static int
cmp_kv_seq(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int r;

	if (x->e.kind != y->e.kind)
		return x->e.kind < y->e.kind ? -1 : 1;
	if ((r = strcmp(x->e.value, y->e.value)) != 0)
		return r;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int
cmp_seq(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Drop later duplicates, then the newest over max: c->v stays owned. */
static void
collect_settle(struct collect *c, uint64_t max)
{
	size_t i, j = 0;

	if (c->n == 0)
		return;
	qsort(c->v, c->n, sizeof(*c->v), cmp_kv_seq);
	for (i = 0; i < c->n; i++) {
		if (j > 0 && c->v[j - 1].e.kind == c->v[i].e.kind &&
		    strcmp(c->v[j - 1].e.value, c->v[i].e.value) == 0) {
			c->res->duplicates++;
			free(c->v[i].val);
			free(c->v[i].orig);
			continue;
		}
		c->v[j++] = c->v[i];
	}
	c->n = j;
	if (c->n <= max)
		return;
	qsort(c->v, c->n, sizeof(*c->v), cmp_seq);
	for (i = (size_t)max; i < c->n; i++) {
		free(c->v[i].val);
		free(c->v[i].orig);
	}
	c->res->over_cap += c->n - (size_t)max;
	c->n = (size_t)max;
}

/* ------------------------------------------------------------ write */

int
hub_bundles_entry_sha(const char *text, size_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	const char *p = text, *end = text + len, *nl;
	uint8_t d[32];
	int i;

	/* picket-bundle, version, created, entries */
	for (i = 0; i < 4; i++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return -1;
		p = nl + 1;
	}
	if ((size_t)(end - p) < 4 || memcmp(end - 4, "end\n", 4) != 0)
		return -1;
	pk_sha256(p, (size_t)(end - 4 - p), d);
	for (i = 0; i < 32; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[64] = '\0';
	return 0;
}

struct sha_ctx {
	char	 sha[65];
};

static int
sha_row(void *arg, const struct hub_bundle_row *b)
{
	struct sha_ctx *x = arg;

	pk_strlcpy(x->sha, b->sha256, sizeof(x->sha));
	return 1;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The distinct refs of the entries, sorted: *members (malloc'd). */
static int
members_of(const struct pk_bundle_entry *e, size_t n, int64_t **members,
    size_t *nm)
{
	int64_t *m;
	size_t i, j = 0;

	*members = NULL;
	*nm = 0;
	if (n == 0)
		return 0;
	if ((m = calloc(n, sizeof(*m))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		m[i] = (int64_t)e[i].ref;
	qsort(m, n, sizeof(*m), cmp_i64);
	for (i = 0; i < n; i++)
		if (j == 0 || m[j - 1] != m[i])
			m[j++] = m[i];
	*members = m;
	*nm = j;
	return 0;
}

/*
 * Write the entries as version `version`, compare with what is stored,
 * store when new.  e is sorted and unique.
 */
static int
store_version(struct hub_store *st, const struct hub_bundle_opts *o,
    struct pk_bundle_entry *e, size_t n, uint64_t cur, uint64_t version,
    int64_t now_us, struct hub_bundle_result *res, char *err, size_t errlen)
{
	struct hub_bundle_row row;
	struct pk_bundle b;
	struct sha_ctx cs;
	int64_t *members = NULL;
	size_t len, nm;
	char *text = NULL;
	int found, rc = -1;

	memset(&b, 0, sizeof(b));
	b.version = version;
	b.created_us = (uint64_t)now_us;
	b.n = n;
	b.e = e;
	if (pk_bundle_write(&b, &text, &len, err, errlen) == -1)
		return -1;
	memset(&row, 0, sizeof(row));
	if (hub_bundles_entry_sha(text, len, row.sha256) == -1) {
		snprintf(err, errlen, "bundle text has no entry section");
		goto out;
	}
	cs.sha[0] = '\0';
	if (cur != 0 && st->ops->bundle_get(st, cur, sha_row, &cs, &found) ==
	    -1)
		goto store;
	if (cur != 0 && strcmp(cs.sha, row.sha256) == 0) {
		res->unchanged = 1;
		rc = 0;
		goto out;
	}
	if (st->ops->bundle_sha_withdrawn(st, row.sha256, &found) == -1)
		goto store;
	if (found) {
		res->withdrawn = 1;
		rc = 0;
		goto out;
	}
	if (members_of(e, n, &members, &nm) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	row.version = version;
	row.created_us = now_us;
	row.entries = n;
	row.bytes = len;
	row.content = text;
	row.content_len = len;
	if (st->ops->bundle_add(st, &row, members, nm, o->keep,
	    &res->trimmed) == -1)
		goto store;
	res->made = 1;
	res->version = version;
	rc = 0;
	goto out;
store:
	snprintf(err, errlen, "store unavailable");
out:
	free(members);
	free(text);
	return rc;
}

int
hub_bundles_refresh(struct hub_store *st, const struct hub_bundle_opts *o,
    int64_t now_us, struct hub_bundle_result *res, char *err, size_t errlen)
{
	struct pk_bundle_entry *e = NULL;
	struct collect c;
	uint64_t cur, max;
	size_t i, n;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&c, 0, sizeof(c));
	c.res = res;
	err[0] = '\0';
	if (st->ops->bundle_current(st, &cur, &max) == -1) {
		snprintf(err, errlen, "store unavailable");
		return -1;
	}
	res->version = cur;
	if (st->ops->shared_approved(st, HUB_BUNDLE_COLLECT_MAX,
	    collect_row, &c) == -1 || c.oom) {
		snprintf(err, errlen, c.oom ? "out of memory" :
		    "store unavailable");
		goto out;
	}
	collect_settle(&c, PK_MIN(o->max_entries, PK_BUNDLE_MAX_ENTRIES));
	if (c.n == 0 && max == 0) {
		rc = 0;		/* nothing approved, nothing sent yet */
		goto out;
	}
	if (c.n > 0 && (e = calloc(c.n, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < c.n; i++)
		e[i] = c.v[i].e;
	n = c.n;
	pk_bundle_sort(e, &n);
	res->entries = n;
	rc = store_version(st, o, e, n, cur, max + 1, now_us, res, err,
	    errlen);
out:
	free(e);
	collect_free(&c);
	return rc;
}

int
hub_bundles_rollback(struct hub_store *st, const char *actor, int64_t now_us,
    uint64_t *withdrawn, uint64_t *current)
{
	uint64_t cur, max;
	int found;

	*withdrawn = *current = 0;
	if (st->ops->bundle_current(st, &cur, &max) == -1)
		return -1;
	if (cur == 0)
		return 0;
	if (st->ops->bundle_withdraw(st, cur, actor, now_us, &found) == -1)
		return -1;
	*withdrawn = found ? cur : 0;
	return st->ops->bundle_current(st, current, &max);
}

/* ------------------------------------------------------------ serving */

struct hub_bundles {
	struct hub_store	*st;
	hub_bundles_notify_fn	 notify;	/* the listener */
	void			*notify_arg;
	struct event		*timer;
	struct hub_bundle_opts	 o;
	struct hub_shared_sig	 sig;		/* of the last refresh */
	int			 have_sig;
	uint64_t		 version;	/* current, as loaded */
	uint8_t			*frame;		/* its CONFIG APPLY */
	size_t			 frame_len;
	struct hub_bundle_stats	 k;
};

struct load_ctx {
	struct hub_bundles	*b;
	int			 rc;
};

/* Deflate the content and make the frame; -1 too big or no memory. */
static int
make_frame(struct hub_bundles *b, const struct hub_bundle_row *row)
{
	struct pk_config_frame cf;
	uint8_t *z = NULL, *f = NULL;
	size_t zcap = PK_FRAME_MAX_PAYLOAD - PK_CONFIG_MIN, zlen, flen;
	int rc;

	if (row->content_len == 0 || row->content_len > PK_BUNDLE_RAW_MAX)
		return -1;
	if ((z = malloc(zcap)) == NULL ||
	    (f = malloc(PK_FRAME_HDR + PK_FRAME_MAX_PAYLOAD)) == NULL)
		goto fail;
	/* level 6, no dictionary (transport/batch.c, the zlib file) */
	if (pk_chunk_deflate((const uint8_t *)row->content, row->content_len,
	    z, zcap, &zlen) != PK_BE_OK)
		goto fail;
	memset(&cf, 0, sizeof(cf));
	cf.version = row->version;
	cf.op = PK_COP_APPLY;
	cf.flags = PK_FF_CONFIG_DEFLATE;
	cf.raw_len = (uint32_t)row->content_len;
	cf.data = z;
	cf.dlen = zlen;
	rc = pk_config_encode(&cf, f, PK_FRAME_HDR + PK_FRAME_MAX_PAYLOAD,
	    &flen);
	if (rc != PK_FE_OK)
		goto fail;
	free(z);
	b->frame = f;
	b->frame_len = flen;
	return 0;
fail:
	free(z);
	free(f);
	return -1;
}

static int
load_row(void *arg, const struct hub_bundle_row *row)
{
	struct load_ctx *x = arg;

	if (make_frame(x->b, row) == -1) {
		x->b->k.too_big++;
		log_warnx("bundles: version %llu (%llu bytes) does not fit a "
		    "CONFIG frame: agents keep what they run (lower "
		    "[bundles] max_entries)", (unsigned long long)row->version,
		    (unsigned long long)row->content_len);
	}
	return 1;
}

/* The store's current version into the cache; 1 when it moved.  A
 * version whose frame cannot be made is counted once and not retried. */
static int
load_current(struct hub_bundles *b)
{
	struct load_ctx x = { b, 0 };
	uint64_t cur, max;
	int found;

	if (b->st->ops->bundle_current(b->st, &cur, &max) == -1) {
		b->k.store_errors++;
		return 0;
	}
	if (cur == b->version)
		return 0;
	free(b->frame);
	b->frame = NULL;
	b->frame_len = 0;
	if (cur != 0 && b->st->ops->bundle_get(b->st, cur, load_row, &x,
	    &found) == -1) {
		b->k.store_errors++;
		return 0;
	}
	log_info("bundles: current version %llu (was %llu)",
	    (unsigned long long)cur, (unsigned long long)b->version);
	b->version = cur;
	return 1;
}

static void
refresh(struct hub_bundles *b)
{
	struct hub_bundle_result res;
	char err[HUB_BUNDLE_ERR_MAX];

	b->k.refreshes++;
	if (hub_bundles_refresh(b->st, &b->o, (int64_t)pk_now_us(), &res,
	    err, sizeof(err)) == -1) {
		b->k.store_errors++;
		b->have_sig = 0;	/* try again next tick */
		log_warnx("bundles: refresh failed: %s", err);
		return;
	}
	b->k.invalid += res.invalid;
	b->k.over_cap += res.over_cap;
	if (res.over_cap > 0)
		log_warnx("bundles: %llu entries over max_entries (%llu) left "
		    "out, the newest first", (unsigned long long)res.over_cap,
		    (unsigned long long)b->o.max_entries);
	if (res.made) {
		b->k.versions++;
		log_info("bundles: version %llu: %llu entries from %llu "
		    "approved rows (%llu duplicates, %llu invalid)",
		    (unsigned long long)res.version,
		    (unsigned long long)res.entries,
		    (unsigned long long)res.rows,
		    (unsigned long long)res.duplicates,
		    (unsigned long long)res.invalid);
	}
}

void
hub_bundles_check(struct hub_bundles *b)
{
	struct hub_shared_sig sig;

	if (b == NULL)
		return;
	b->k.checks++;
	if (b->st->ops->shared_signature(b->st, &sig) == -1) {
		b->k.store_errors++;
		return;
	}
	if (!b->have_sig || memcmp(&sig, &b->sig, sizeof(sig)) != 0) {
		b->sig = sig;
		b->have_sig = 1;
		refresh(b);
	}
	if (load_current(b) && b->notify != NULL)
		b->notify(b->notify_arg);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hub_bundles_check(arg);
}

struct hub_bundles *
hub_bundles_new(const struct hub_config *c, struct hub_store *st,
    struct event_base *base)
{
	struct timeval tv;
	struct hub_bundles *b;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		log_warn("bundles");
		return NULL;
	}
	b->st = st;
	b->o.max_entries = c->bundles_max_entries;
	b->o.keep = c->bundles_keep;
	tv.tv_sec = (time_t)c->bundles_check_interval;
	tv.tv_usec = 0;
	if (base != NULL && ((b->timer = event_new(base, -1, EV_PERSIST,
	    on_tick, b)) == NULL || event_add(b->timer, &tv) == -1)) {
		log_warnx("bundles: cannot make the timer");
		hub_bundles_free(b);
		return NULL;
	}
	hub_bundles_check(b);
	return b;
}

void
hub_bundles_set_notify(struct hub_bundles *b, hub_bundles_notify_fn fn,
    void *arg)
{
	b->notify = fn;
	b->notify_arg = arg;
}

void
hub_bundles_free(struct hub_bundles *b)
{
	if (b == NULL)
		return;
	if (b->timer != NULL)
		event_free(b->timer);
	free(b->frame);
	free(b);
}

int
hub_bundles_rollback_now(struct hub_bundles *b, const char *actor,
    uint64_t *withdrawn, uint64_t *current)
{
	if (hub_bundles_rollback(b->st, actor, (int64_t)pk_now_us(), withdrawn,
	    current) == -1) {
		b->k.store_errors++;
		return -1;
	}
	if (*withdrawn != 0)
		b->k.rollbacks++;
	if (load_current(b) && b->notify != NULL)
		b->notify(b->notify_arg);
	return 0;
}

uint64_t
hub_bundles_version(const struct hub_bundles *b)
{
	return b != NULL ? b->version : 0;
}

int
hub_bundles_frame(const struct hub_bundles *b, const uint8_t **frame,
    size_t *len)
{
	if (b == NULL || b->frame == NULL)
		return -1;
	*frame = b->frame;
	*len = b->frame_len;
	return 0;
}

const struct hub_bundle_stats *
hub_bundles_stats(const struct hub_bundles *b)
{
	return &b->k;
}

void
hub_bundles_print(const struct hub_bundles *b, FILE *fp)
{
	const struct hub_bundle_stats *k = &b->k;

	fprintf(fp, "bundles_version %llu\nbundles_checks %llu\n"
	    "bundles_refreshes %llu\nbundles_versions %llu\n"
	    "bundles_invalid %llu\nbundles_over_cap %llu\n"
	    "bundles_rollbacks %llu\nbundles_too_big %llu\n"
	    "bundles_store_errors %llu\n", (unsigned long long)b->version,
	    (unsigned long long)k->checks, (unsigned long long)k->refreshes,
	    (unsigned long long)k->versions, (unsigned long long)k->invalid,
	    (unsigned long long)k->over_cap, (unsigned long long)k->rollbacks,
	    (unsigned long long)k->too_big,
	    (unsigned long long)k->store_errors);
}
