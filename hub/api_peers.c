/*
 * api_peers.c - the API's peering endpoints (docs/peering.md, "API"):
 * the peers with their policy and both directions' progress (admin: the
 * URLs, CA fingerprints and errors say how the member is connected), the
 * indicators peers shared (viewer, filtered and paged newest first like
 * the other lists), and an analyst's decision on one of them (responder:
 * approve or reject).  What peers sent is untrusted text even after the
 * receiver's checks, so every string goes out through hub_json_str
 * (valid UTF-8 whatever the store holds) and the UI shows it as text.
 * Each decision is one audit row ("shared.approve", "shared.reject",
 * target "shared/<id>"), refused or not, besides the API's own row.  The
 * handlers run on the hub's loop; the store bounds every query by the
 * page size.  Called through the route table in hub/api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "hub/api.h"
#include "hub/bundles.h"
#include "hub/outbreak.h"
#include "hub/stix.h"

#define TARGET_MAX	96	/* "shared/<id>" and a reason */

static const char *const state_names[] = { "pending", "approved",
	"rejected" };
static const char *const shared_kinds[] = { "ipv4", "ipv6", "domain", "url",
	"sha256", "fingerprint" };

/* ------------------------------------------------------------ helpers */

/* A string that may be absent: null for "". */
static json_t *
jstr_or_null(const char *s)
{
	return s == NULL || s[0] == '\0' ? json_null() : hub_json_str(s);
}

static json_t *
jtlp(int tlp)
{
	const char *n = tlp >= 0 && tlp < HUB_TLP__N ? hub_tlp_name(tlp) : NULL;

	return n != NULL ? json_string(n) : json_null();
}

static const char *
state_name(int s)
{
	return s >= 0 && s < (int)PK_NELEM(state_names) ? state_names[s] :
	    "unknown";
}

static int
state_parse(const char *s)
{
	size_t i;

	for (i = 0; i < PK_NELEM(state_names); i++)
		if (strcmp(s, state_names[i]) == 0)
			return (int)i;
	return -1;
}

/* A peer name as docs/peering.md allows: 1..64 of [A-Za-z0-9._-]. */
static int
name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > HUB_PEER_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

/* ------------------------------------------------------------ peers */

/* send_kinds as the outbreak kinds' names. */
static json_t *
kinds_json(unsigned bits)
{
	json_t *a = json_array();
	const char *n;
	int k;

	if (a == NULL)
		return NULL;
	for (k = 0; k < HUB_OB_NKINDS; k++) {
		if ((bits & (1U << k)) == 0 ||
		    (n = hub_outbreak_kind_name(k)) == NULL)
			continue;
		if (json_array_append_new(a, json_string(n)) == -1) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
peer_json(const struct hub_peer *p)
{
	json_t *policy, *sent, *recv;

	policy = json_pack("{s:o,s:i,s:o,s:b,s:o,s:b}",
	    "send_tlp", jtlp(p->send_tlp),
	    "send_min_severity", p->send_min_severity,
	    "send_kinds", kinds_json(p->send_kinds),
	    "send_excerpts", p->send_excerpts,
	    "accept_tlp", jtlp(p->accept_tlp),
	    "auto_approve", p->auto_approve);
	/* sequence: the next bundle's; the peer's received.sequence is the
	 * last it took, one less once it is up to date */
	sent = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o}",
	    "cursor", (json_int_t)p->cursor_rowid,
	    "sequence", hub_api_jint(p->send_seq),
	    "last_push", hub_api_jtime(p->last_push_us),
	    "last_error", jstr_or_null(p->last_error),
	    "bundles", hub_api_jint(p->bundles_sent),
	    "indicators", hub_api_jint(p->indicators_sent));
	recv = json_pack("{s:o,s:o,s:o,s:o}",
	    "sequence", hub_api_jint(p->recv_seq),
	    "bundles", hub_api_jint(p->bundles_received),
	    "indicators", hub_api_jint(p->indicators_received),
	    "refused", hub_api_jint(p->objects_refused));
	return json_pack("{s:o,s:o,s:s,s:b,s:o,s:o,s:o,s:o}",
	    "name", hub_json_str(p->name), "url", hub_json_str(p->url),
	    "ca_sha256", p->ca_sha256, "enabled", p->enabled,
	    "created", hub_api_jtime(p->created_us), "policy", policy,
	    "sent", sent, "received", recv);
}

struct peers_ctx {
	json_t	*arr;
	size_t	 n;
	int	 oom;
};

/* At most HUB_LIMIT_MAX peers are listed: the table is the operator's
 * own, but an answer is still bounded. */
static int
peer_row(void *arg, const struct hub_peer *p)
{
	struct peers_ctx *x = arg;
	json_t *o;

	if (x->n == HUB_LIMIT_MAX)
		return 1;
	if ((o = peer_json(p)) == NULL || json_array_append_new(x->arr, o) ==
	    -1) {
		x->oom = 1;
		return 1;
	}
	x->n++;
	return 0;
}

json_t *
hub_api_peer_list(struct hub_api_req *r, int *status)
{
	struct peers_ctx x = { NULL, 0, 0 };
	int rc;

	if ((x.arr = json_array()) == NULL)
		return hub_api_error(status, 500, "out of memory");
	rc = r->st->ops->peer_list(r->st, peer_row, &x);
	if (rc == -1 || x.oom) {
		json_decref(x.arr);
		return hub_api_error(status, 500, "store unavailable");
	}
	*status = 200;
	return json_pack("{s:o}", "peers", x.arr);
}

/* ------------------------------------------------------------ shared */

static json_t *
shared_json(const struct hub_shared *s)
{
	json_t *rules;

	/* Stored as the JSON array the peer sent (checked by share_in.c);
	 * anything else shows as an empty list rather than failing the
	 * page. */
	rules = json_loads(s->rule_ids, JSON_REJECT_DUPLICATES, NULL);
	if (rules != NULL && !json_is_array(rules)) {
		json_decref(rules);
		rules = NULL;
	}
	if (rules == NULL)
		rules = json_array();
	return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,"
	    "s:o,s:s,s:o,s:o,s:o}",
	    "id", (json_int_t)s->id,
	    "peer", hub_json_str(s->peer),
	    "origin", hub_json_str(s->origin),
	    "stix_id", hub_json_str(s->stix_id),
	    "kind", hub_json_str(s->kind),
	    "value", hub_json_str(s->value),
	    "tlp", jtlp(s->tlp),
	    "fingerprint", jstr_or_null(s->fingerprint),
	    "rule_ids", rules,
	    "hosts", hub_api_jint(s->hosts),
	    "count", hub_api_jint(s->count),
	    "first_received", hub_api_jtime(s->first_received_us),
	    "last_received", hub_api_jtime(s->last_received_us),
	    "state", state_name(s->state),
	    "decided_by", jstr_or_null(s->decided_by),
	    "decided", hub_api_jtime(s->decided_us),
	    /* the payload excerpt the peer sent (AMBER+ only), as text */
	    "excerpt", jstr_or_null(s->excerpt));
}

static int
shared_row(void *arg, const struct hub_shared *s)
{
	struct hub_page *p = arg;

	if (!hub_page_take(p))
		return 1;
	return hub_page_put(p, shared_json(s), s->id);
}

/* The filter from ?peer state kind q.  0, or -1 with err (a 400). */
static int
shared_filter(const struct hub_api_req *r, struct hub_shared_filter *f,
    char *err, size_t errlen)
{
	const char *v;
	size_t i;

	memset(f, 0, sizeof(*f));
	f->state = -1;
	if ((v = hub_api_param(r, "peer")) != NULL) {
		if (!name_ok(v)) {
			snprintf(err, errlen, "peer: a peer name (1 to %d of "
			    "A-Z a-z 0-9 . _ -)", HUB_PEER_NAME_MAX);
			return -1;
		}
		f->peer = v;
	}
	if ((v = hub_api_param(r, "state")) != NULL &&
	    (f->state = state_parse(v)) < 0) {
		snprintf(err, errlen, "state: one of pending, approved, "
		    "rejected");
		return -1;
	}
	if ((v = hub_api_param(r, "kind")) != NULL) {
		for (i = 0; i < PK_NELEM(shared_kinds); i++)
			if (strcmp(v, shared_kinds[i]) == 0)
				f->kind = shared_kinds[i];
		if (f->kind == NULL) {
			snprintf(err, errlen, "kind: one of ipv4, ipv6, "
			    "domain, url, sha256, fingerprint");
			return -1;
		}
	}
	if ((v = hub_api_param(r, "q")) != NULL) {
		if (strlen(v) > HUB_TEXT_MAX) {
			snprintf(err, errlen, "q: at most %d bytes",
			    HUB_TEXT_MAX);
			return -1;
		}
		if (v[0] != '\0')
			f->text = v;
	}
	return 0;
}

/*
 * Each row of a page gains "reach" and "matches" (docs/peering.md): read
 * after the page, one bounded pair of queries per row, so the list's own
 * query stays as it was.
 */
static json_t *
with_reach(struct hub_api_req *r, json_t *page, int *status)
{
	json_t *arr, *o;
	size_t i;

	if (page == NULL || *status != 200 ||
	    (arr = json_object_get(page, "shared")) == NULL)
		return page;
	json_array_foreach(arr, i, o) {
		if (hub_api_shared_reach(r->st, (int64_t)json_integer_value(
		    json_object_get(o, "id")), o) == -1) {
			json_decref(page);
			return hub_api_error(status, 500, "store unavailable");
		}
	}
	return page;
}

json_t *
hub_api_shared_list(struct hub_api_req *r, int *status)
{
	struct hub_shared_filter f;
	struct hub_page p;
	char err[HUB_ERR_MAX];
	json_t *bad;

	if (shared_filter(r, &f, err, sizeof(err)) == -1)
		return hub_api_error(status, 400, "%s", err);
	if ((bad = hub_page_begin(r, &p, status)) != NULL)
		return bad;
	f.before_id = p.before;
	f.limit = p.want + 1;	/* one more: is there a next page? */
	return with_reach(r, hub_page_end(&p, r->st->ops->shared_list(r->st,
	    &f, shared_row, &p), "shared", status), status);
}

/* ------------------------------------------------------------ decisions */

static int
one_row(void *arg, const struct hub_shared *s)
{
	json_t **out = arg;

	*out = shared_json(s);
	return 1;
}

/*
 * The body of a decision: none, or an empty JSON object (room for a
 * reason later without breaking clients).  0, or -1 with err.
 */
static int
empty_body(const struct hub_api_req *r, char *err, size_t errlen)
{
	json_t *b;

	if (r->body == NULL || r->body_len == 0)
		return 0;
	/* no key allowed: only {} is read */
	if ((b = hub_api_body_object(r, "", err, errlen)) == NULL) {
		snprintf(err, errlen, "body: none, or {}");
		return -1;
	}
	json_decref(b);
	return 0;
}

static json_t *
decide(struct hub_api_req *r, int *status, int state, const char *action)
{
	char target[TARGET_MAX], err[HUB_ERR_MAX];
	int64_t id = hub_api_path_id(r->arg);
	json_t *o = NULL;
	int found = 0, rc;

	if (id == 0) {
		snprintf(target, sizeof(target), "shared/%.40s", r->arg);
		hub_api_audit(r, action, target, "404");
		return hub_api_error(status, 404, "no shared indicator %.40s",
		    r->arg);
	}
	snprintf(target, sizeof(target), "shared/%lld", (long long)id);
	if (empty_body(r, err, sizeof(err)) == -1) {
		hub_api_audit(r, action, target, "400");
		return hub_api_error(status, 400, "%s", err);
	}
	if (r->st->ops->shared_decide(r->st, id, state, r->actor,
	    r->now_us, &found) == -1) {
		hub_api_audit(r, action, target, "500");
		return hub_api_error(status, 500, "store unavailable");
	}
	if (!found) {
		hub_api_audit(r, action, target, "404");
		return hub_api_error(status, 404, "no shared indicator %lld",
		    (long long)id);
	}
	hub_api_audit(r, action, target, "ok");
	/* The approved set changed: a new bundle goes out now, not at the
	 * next check (a no-op without the serving side). */
	hub_bundles_check(hub_api_bundles(r->api));
	found = 0;
	rc = r->st->ops->shared_get(r->st, id, one_row, &o, &found);
	if (rc == -1 || !found || o == NULL) {
		json_decref(o);
		return hub_api_error(status, 500, rc == -1 ?
		    "store unavailable" : "out of memory");
	}
	*status = 200;
	return o;
}

json_t *
hub_api_shared_approve(struct hub_api_req *r, int *status)
{
	return decide(r, status, HUB_SHARED_APPROVED, "shared.approve");
}

json_t *
hub_api_shared_reject(struct hub_api_req *r, int *status)
{
	return decide(r, status, HUB_SHARED_REJECTED, "shared.reject");
}

/* GET /api/v1/shared/{id}: the row, its reach and matches, and up to
 * HUB_SHARED_DETAIL_MAX hosts reached and matching indicators. */
json_t *
hub_api_shared_get(struct hub_api_req *r, int *status)
{
	int64_t id = hub_api_path_id(r->arg);
	json_t *o = NULL;
	int found = 0, rc;

	if (id == 0)
		return hub_api_error(status, 404, "no shared indicator %.40s",
		    r->arg);
	rc = r->st->ops->shared_get(r->st, id, one_row, &o, &found);
	if (rc == -1 || (found && o == NULL)) {
		json_decref(o);
		return hub_api_error(status, 500, rc == -1 ?
		    "store unavailable" : "out of memory");
	}
	if (!found)
		return hub_api_error(status, 404, "no shared indicator %lld",
		    (long long)id);
	if (hub_api_shared_reach(r->st, id, o) == -1 ||
	    hub_api_shared_detail(r->st, id, o) == -1) {
		json_decref(o);
		return hub_api_error(status, 500, "store unavailable");
	}
	*status = 200;
	return o;
}
