/*
 * api_bundles.c - the API's bundle endpoints (docs/api.md, docs/peering.md
 * "From shared indicators to detection"): the versions the hub made from
 * approved shared indicators, one version's text and members, the
 * rollback (admin, audited), and the reach and matches each shared
 * indicator gets in GET /api/v1/shared and /shared/{id}, and the bundle
 * each host runs in GET /api/v1/hosts.  Every list is bounded.  Called
 * through the route table of hub/api.c and by hub/api_peers.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "hub/api.h"
#include "hub/bundles.h"
#include "hub/outbreak.h"
#include "transport/bundle.h"
#include "transport/frame.h"

#define BUNDLE_LIST_DEF		100
#define BUNDLE_LIST_MAX		1000
#define TARGET_MAX		64

static const char *const outcomes[] = {
	[PK_AO_RUNNING] = "running", [PK_AO_APPLIED] = "applied",
	[PK_AO_REFUSED] = "refused", [PK_AO_ROLLED_BACK] = "rolled_back",
};

static json_t *
jversion(uint64_t v)
{
	return v == 0 ? json_null() : hub_api_jint(v);
}

static json_t *
bundle_json(const struct hub_bundle_row *b, uint64_t current)
{
	return json_pack("{s:o,s:o,s:s,s:o,s:o,s:b,s:b,s:o,s:o,s:o}",
	    "version", hub_api_jint(b->version),
	    "created", hub_api_jtime(b->created_us),
	    "sha256", b->sha256,
	    "entries", hub_api_jint(b->entries),
	    "bytes", hub_api_jint(b->bytes),
	    "current", b->version == current,
	    "withdrawn", b->withdrawn,
	    "withdrawn_by", b->withdrawn ? json_string(b->withdrawn_by) :
	    json_null(),
	    "withdrawn_at", hub_api_jtime(b->withdrawn_us),
	    "hosts_running", hub_api_jint(b->hosts_running));
}

struct list_ctx {
	json_t		*arr;
	uint64_t	 current;
	int		 oom;
};

static int
list_row(void *arg, const struct hub_bundle_row *b)
{
	struct list_ctx *x = arg;

	if (json_array_append_new(x->arr, bundle_json(b, x->current)) == -1) {
		x->oom = 1;
		return 1;
	}
	return 0;
}

/* ?limit: 1..BUNDLE_LIST_MAX, BUNDLE_LIST_DEF when absent. */
static int
list_limit(struct hub_api_req *r, uint64_t *limit)
{
	const char *v = hub_api_param(r, "limit"), *err;

	*limit = BUNDLE_LIST_DEF;
	if (v == NULL)
		return 0;
	return pk_parse_u64(v, 1, BUNDLE_LIST_MAX, limit, &err);
}

json_t *
hub_api_bundle_list(struct hub_api_req *r, int *status)
{
	struct list_ctx x = { NULL, 0, 0 };
	uint64_t limit, max;

	if (list_limit(r, &limit) == -1)
		return hub_api_error(status, 400, "limit: 1 to %d",
		    BUNDLE_LIST_MAX);
	if (r->st->ops->bundle_current(r->st, &x.current, &max) == -1)
		return hub_api_error(status, 500, "store unavailable");
	if ((x.arr = json_array()) == NULL)
		return hub_api_error(status, 500, "out of memory");
	if (r->st->ops->bundle_list(r->st, limit, list_row, &x) == -1 ||
	    x.oom) {
		json_decref(x.arr);
		return hub_api_error(status, 500, "store unavailable");
	}
	*status = 200;
	return json_pack("{s:o,s:o}", "bundles", x.arr, "current",
	    jversion(x.current));
}

struct get_ctx {
	json_t		*o;
	uint64_t	 current;
};

static int
get_row(void *arg, const struct hub_bundle_row *b)
{
	struct get_ctx *x = arg;

	if ((x->o = bundle_json(b, x->current)) != NULL &&
	    json_object_set_new(x->o, "content", json_stringn(b->content,
	    b->content_len)) == -1) {
		json_decref(x->o);
		x->o = NULL;
	}
	return 1;
}

static int
member_row(void *arg, int64_t id)
{
	return json_array_append_new(arg, json_integer(id)) == -1;
}

json_t *
hub_api_bundle_get(struct hub_api_req *r, int *status)
{
	struct get_ctx x = { NULL, 0 };
	uint64_t max;
	int64_t v = hub_api_path_id(r->arg);
	json_t *m;
	int found = 0;

	if (v == 0)
		return hub_api_error(status, 404, "no bundle %.40s", r->arg);
	if (r->st->ops->bundle_current(r->st, &x.current, &max) == -1 ||
	    r->st->ops->bundle_get(r->st, (uint64_t)v, get_row, &x, &found) ==
	    -1) {
		json_decref(x.o);
		return hub_api_error(status, 500, "store unavailable");
	}
	if (!found)
		return hub_api_error(status, 404, "no bundle %lld",
		    (long long)v);
	if (x.o == NULL || (m = json_array()) == NULL ||
	    json_object_set_new(x.o, "members", m) == -1) {
		json_decref(x.o);
		return hub_api_error(status, 500, "out of memory");
	}
	if (r->st->ops->bundle_members(r->st, (uint64_t)v,
	    PK_BUNDLE_MAX_ENTRIES, member_row, m) == -1) {
		json_decref(x.o);
		return hub_api_error(status, 500, "store unavailable");
	}
	*status = 200;
	return x.o;
}

json_t *
hub_api_bundle_rollback(struct hub_api_req *r, int *status)
{
	struct hub_bundles *b = hub_api_bundles(r->api);
	char target[TARGET_MAX], err[128];
	uint64_t withdrawn, current;
	json_t *body;
	int rc;

	if (r->body != NULL && r->body_len > 0) {
		if ((body = hub_api_body_object(r, "", err, sizeof(err))) ==
		    NULL) {
			hub_api_audit(r, "bundle.rollback", "bundle", "400");
			return hub_api_error(status, 400, "body: none, or {}");
		}
		json_decref(body);
	}
	rc = b != NULL ? hub_bundles_rollback_now(b, r->actor, &withdrawn,
	    &current) : hub_bundles_rollback(r->st, r->actor, r->now_us,
	    &withdrawn, &current);
	if (rc == -1) {
		hub_api_audit(r, "bundle.rollback", "bundle", "500");
		return hub_api_error(status, 500, "store unavailable");
	}
	if (withdrawn == 0) {
		hub_api_audit(r, "bundle.rollback", "bundle", "409");
		return hub_api_error(status, 409, "no bundle to roll back");
	}
	snprintf(target, sizeof(target), "bundle/%llu",
	    (unsigned long long)withdrawn);
	hub_api_audit(r, "bundle.rollback", target, "ok");
	*status = 200;
	return json_pack("{s:o,s:o}", "withdrawn", hub_api_jint(withdrawn),
	    "current", jversion(current));
}

/* ------------------------------------------------------------ shared */

int
hub_api_shared_reach(struct hub_store *st, int64_t id, json_t *o)
{
	struct hub_shared_reach h;
	json_t *reach, *match;

	if (st->ops->shared_reach(st, id, &h) == -1)
		return -1;
	reach = json_pack("{s:o,s:o,s:o}", "first_bundle",
	    jversion(h.first_bundle), "hosts", hub_api_jint(h.hosts),
	    "first_reached", hub_api_jtime(h.first_reached_us));
	match = json_pack("{s:o,s:o,s:o,s:o}", "count",
	    hub_api_jint(h.matches), "hosts", hub_api_jint(h.match_hosts),
	    "first", hub_api_jtime(h.first_match_us), "last",
	    hub_api_jtime(h.last_match_us));
	if (json_object_set_new(o, "reach", reach) == -1 ||
	    json_object_set_new(o, "matches", match) == -1)
		return -1;
	return 0;
}

static int
reached_row(void *arg, const struct hub_reached_host *h)
{
	return json_array_append_new(arg, json_pack("{s:o,s:o,s:o}",
	    "agent_id", hub_json_str(h->agent_id), "host_name",
	    hub_json_str(h->host_name), "since",
	    hub_api_jtime(h->since_us))) == -1;
}

static int
matched_row(void *arg, const struct hub_indicator *d)
{
	return json_array_append_new(arg, json_pack("{s:o,s:o,s:o,s:o,s:o,"
	    "s:o,s:i}", "agent_id", hub_json_str(d->agent_id), "seq",
	    hub_api_jint(d->seq), "timestamp", hub_json_str(d->timestamp),
	    "event_kind", hub_json_str(d->event_kind), "rule_id",
	    hub_json_str(d->rule_id), "rule_name", hub_json_str(d->rule_name),
	    "severity", d->severity)) == -1;
}

int
hub_api_shared_detail(struct hub_store *st, int64_t id, json_t *o)
{
	json_t *hosts, *matched;

	if ((hosts = json_array()) == NULL ||
	    json_object_set_new(o, "reach_hosts", hosts) == -1 ||
	    (matched = json_array()) == NULL ||
	    json_object_set_new(o, "matched", matched) == -1)
		return -1;
	if (st->ops->shared_reached_hosts(st, id, HUB_SHARED_DETAIL_MAX,
	    reached_row, hosts) == -1 ||
	    st->ops->shared_matches(st, id, HUB_SHARED_DETAIL_MAX,
	    matched_row, matched) == -1)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ hosts */

json_t *
hub_api_bundle_json(const struct hub_agent_bundle *a)
{
	if (a == NULL)
		return json_null();
	return json_pack("{s:o,s:o,s:s,s:o,s:o,s:o}",
	    "running", hub_api_jint(a->running),
	    "previous", hub_api_jint(a->previous),
	    "outcome", a->outcome >= 0 && a->outcome <= PK_AO_LAST ?
	    outcomes[a->outcome] : "unknown",
	    "reason", hub_json_str(a->reason),
	    "reported", hub_api_jtime(a->reported_us),
	    "applied", hub_api_jtime(a->applied_us));
}

json_t *
hub_api_host_bundle(struct hub_store *st, const char *agent_id)
{
	struct hub_agent_bundle a;
	int found;

	if (st->ops->agent_bundle_get(st, agent_id, &a, &found) == -1 ||
	    !found)
		return json_null();
	return hub_api_bundle_json(&a);
}
