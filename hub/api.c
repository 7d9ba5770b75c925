/*
 * api.c - the HTTPS JSON API (see api.h, docs/api.md).  One evhttp on the
 * hub's event_base; each connection is an OpenSSL bufferevent made from
 * the hub's [tls] cert and key (transport/tls.c).  A request goes:
 * path check (hub/apiparam.c) -> route -> method -> bearer token and role
 * -> body size -> query parameters -> handler -> JSON, then an audit row
 * when the caller is an admin, the method writes, or the role was too
 * low.  Every refusal is a JSON {"error": "..."} with a 4xx status, and
 * nothing a client sends is ever spliced into SQL or printed unbounded.
 * evhttp itself answers what never reaches us (a malformed request line
 * or headers, headers over 16 KiB: 400; a body over max_body: 413; an
 * unknown method: 501) with a canned HTML page; libevent 2.1 has no hook
 * for those, so a callback on each connection's output buffer swaps that
 * page for our JSON before a byte of it is written (http_error_json).
 * Open connections are counted and bounded by [api] max_connections
 * (hub/conncap.c, which the peering listener shares).
 * /metrics counts answers by route and status class and times them.
 * Called by hub/main.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "hub/api.h"
#include "hub/auth.h"
#include "hub/enroll.h"
#include "hub/outbreak.h"
#include "hub/bundles.h"
#include "hub/conncap.h"
#include "hub/peering.h"
#include "hub/stix.h"
#include "hub/tasks.h"
#include "hub/ui.h"
#include "transport/tls.h"

#ifndef PICKET_VERSION
#define PICKET_VERSION "0.0.0"
#endif

#define API_TIMEOUT_S		30	/* idle HTTP connection */
#define API_HEADERS_MAX		(16 * 1024)
#define REMOTE_MAX		80
#define ACTION_MAX		HUB_AUDIT_FIELD_MAX
#define STATUS_CLASSES		6	/* 0 (other), 1xx .. 5xx */
#define ROUTES_MAX		32	/* the route table's rows */
#define ROUTE_UI		ROUTES_MAX	/* GET / and /ui/<file> */
#define ROUTE_OTHER		(ROUTES_MAX + 1)	/* no route: 400/404 */
#define ROUTE_CLASSES		(ROUTES_MAX + 2)
#define LAT_BUCKETS		13
#define CANNED_MAX		1024	/* evhttp's error pages are ~250 B */

/* Latency histogram bounds, µs, and as Prometheus "le" labels. */
static const uint64_t lat_us[LAT_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
static const char *const lat_le[LAT_BUCKETS] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
	"0.5", "1", "2.5", "5", "10",
};

struct hub_api {
	struct event_base	*base;
	struct evhttp		*http;
	struct pk_tls_ctx	*tls;
	struct hub_store	*st;
	struct hub_ingest	*in;
	struct hub_listener	*l;
	struct hub_tasks	*tasks;		/* targeted collection */
	struct hub_peering	*peering;	/* NULL: off */
	struct hub_bundles	*bundles;	/* NULL: no serving side */
	char			 data_dir[HUB_PATH_MAX];
	char			 results_dir[HUB_PATH_MAX];	/* task results */
	uint64_t		 max_body;
	struct hub_conncap	 cap;		/* [api] max_connections */
	/* Answers by route class and status class; handling time by route
	 * class (lat: per bucket, the last one +Inf). */
	uint64_t		 req[ROUTE_CLASSES][STATUS_CLASSES];
	uint64_t		 lat[ROUTE_CLASSES][LAT_BUCKETS + 1];
	uint64_t		 lat_sum_us[ROUTE_CLASSES];
	uint64_t		 ui_files;	/* UI files served (200) */
	uint64_t		 stix_exports, stix_redacted, stix_names;
	uint64_t		 bev_failures;
	uint64_t		 audit_failures;
	struct hub_sharing	 sharing;	/* STIX export */
	char			 share_name[PK_HUB_ID_MAX + 1];
};

/* ------------------------------------------------------------ handlers */

const char *
hub_api_param(const struct hub_api_req *r, const char *key)
{
	return hub_params_get(r->params, key);
}

json_t *
hub_api_error(int *status, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*status = code;
	return json_pack("{s:s}", "error", msg);
}

const struct hub_listener *
hub_api_listener(const struct hub_api *a)
{
	return a->l;
}

const struct hub_ingest *
hub_api_ingest(const struct hub_api *a)
{
	return a->in;
}

void
hub_api_set_tasks(struct hub_api *a, struct hub_tasks *t)
{
	a->tasks = t;
}

void
hub_api_set_peering(struct hub_api *a, struct hub_peering *p)
{
	a->peering = p;
}

void
hub_api_set_bundles(struct hub_api *a, struct hub_bundles *b)
{
	a->bundles = b;
}

struct hub_bundles *
hub_api_bundles(const struct hub_api *a)
{
	return a->bundles;
}

struct hub_tasks *
hub_api_tasks(const struct hub_api *a)
{
	return a->tasks;
}

const char *
hub_api_results_dir(const struct hub_api *a)
{
	return a->results_dir;
}

/* ---- helpers the handler files share (api.h) */

json_t *
hub_api_jtime(int64_t us)
{
	char t[PK_TIMESTRLEN];

	if (us <= 0)
		return json_null();
	return json_string(pk_time_format((uint64_t)us, t, sizeof(t)));
}

json_t *
hub_api_jint(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX :
	    (json_int_t)v);
}

void
hub_api_audit(struct hub_api_req *r, const char *action, const char *target,
    const char *result)
{
	(void)hub_audit(r->st, r->actor, hub_role_name(r->role), action,
	    target, r->remote, result);
}

int64_t
hub_api_path_id(const char *s)
{
	const char *why;
	uint64_t v;

	if (s == NULL || pk_parse_u64(s, 1, INT64_MAX, &v, &why) == -1)
		return 0;
	return (int64_t)v;
}

/* 1 if key is one of the space separated names in allowed. */
static int
key_allowed(const char *allowed, const char *key)
{
	size_t klen = strlen(key), n;
	const char *p;

	for (p = allowed; *p != '\0'; ) {
		n = strcspn(p, " ");
		if (n == klen && strncmp(p, key, n) == 0)
			return 1;
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

json_t *
hub_api_body_object(const struct hub_api_req *r, const char *allowed,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *body, *v;
	const char *key;

	if (r->body == NULL || r->body_len == 0) {
		snprintf(err, errlen, "a JSON body is required");
		return NULL;
	}
	if ((body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES,
	    &je)) == NULL) {
		snprintf(err, errlen, "body: %.120s (line %d)", je.text,
		    je.line);
		return NULL;
	}
	if (!json_is_object(body)) {
		json_decref(body);
		snprintf(err, errlen, "body: a JSON object");
		return NULL;
	}
	if (allowed == NULL)
		return body;
	json_object_foreach(body, key, v) {
		if (!key_allowed(allowed, key)) {
			/* a key with control bytes must not reach the log */
			char k[48];
			size_t i;

			pk_strlcpy(k, key, sizeof(k));
			for (i = 0; k[i] != '\0'; i++)
				if ((unsigned char)k[i] < 0x20 ||
				    (unsigned char)k[i] == 0x7f)
					k[i] = '?';
			snprintf(err, errlen, "unknown field \"%s\"", k);
			json_decref(body);
			return NULL;
		}
	}
	return body;
}

json_t *
hub_api_page_args(struct hub_api_req *r, uint64_t *limit, int64_t *before,
    int *status)
{
	char err[HUB_ERR_MAX];
	const char *v, *why;
	uint64_t b = 0;

	if (hub_params_limit(r->params, limit, err, sizeof(err)) == -1)
		return hub_api_error(status, 400, "%s", err);
	if ((v = hub_api_param(r, "cursor")) != NULL &&
	    pk_parse_u64(v, 1, INT64_MAX, &b, &why) == -1)
		return hub_api_error(status, 400, "cursor: not a cursor this "
		    "hub made");
	*before = (int64_t)b;
	return NULL;
}

static json_t *
api_healthz(struct hub_api_req *r, int *status)
{
	*status = 200;
	return json_pack("{s:s,s:s,s:I}", "status", "ok", "version",
	    PICKET_VERSION, "agents_connected",
	    (json_int_t)hub_listener_connected(r->api->l));
}

/* Who the token is: the UI shows the forms a role may use. */
static json_t *
api_whoami(struct hub_api_req *r, int *status)
{
	*status = 200;
	return json_pack("{s:s,s:s}", "name", r->actor, "role",
	    hub_role_name(r->role));
}

/* ---- /metrics: Prometheus text exposition format 0.0.4 */

struct mbuf {
	char	*b;
	size_t	 len, cap;
	int	 oom;
};

static void mprintf(struct mbuf *, const char *, ...) PK_PRINTF(2, 3);

static void
mprintf(struct mbuf *m, const char *fmt, ...)
{
	va_list ap;
	char *nb;
	size_t ncap;
	int n;

	if (m->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(m->b + m->len, m->cap - m->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			m->oom = 1;
			return;
		}
		if ((size_t)n < m->cap - m->len) {
			m->len += (size_t)n;
			return;
		}
		ncap = m->cap * 2 + (size_t)n;
		if ((nb = realloc(m->b, ncap)) == NULL) {
			m->oom = 1;
			return;
		}
		m->b = nb;
		m->cap = ncap;
	}
}

static void
metric(struct mbuf *m, const char *name, const char *type, const char *help,
    uint64_t v)
{
	mprintf(m, "# HELP picket_hub_%s %s\n# TYPE picket_hub_%s %s\n"
	    "picket_hub_%s %llu\n", name, help, name, type, name,
	    (unsigned long long)v);
}

/* The header of a metric with labels; its samples follow. */
static void
family(struct mbuf *m, const char *name, const char *type, const char *help)
{
	mprintf(m, "# HELP picket_hub_%s %s\n# TYPE picket_hub_%s %s\n", name,
	    help, name, type);
}

static void
sample(struct mbuf *m, const char *name, const char *label,
    const char *value, uint64_t v)
{
	mprintf(m, "picket_hub_%s{%s=\"%s\"} %llu\n", name, label, value,
	    (unsigned long long)v);
}

static void api_metrics_http(struct mbuf *, const struct hub_api *);

/* Targeted collection (hub/tasks.c, docs/hub.md). */
static void
api_metrics_tasks(struct mbuf *m, const struct hub_tasks *t)
{
	const struct hub_task_stats *k = hub_tasks_stats(t);

	metric(m, "tasks_total", "counter", "Tasks this hub has dispatched "
	    "(made by the API or the CLI).", k->created);
	metric(m, "tasks_cancelled_total", "counter", "Task cancellations "
	    "applied.", k->cancelled);
	family(m, "task_frames_out_total", "counter", "TASK frames queued "
	    "to agents, by operation.");
	sample(m, "task_frames_out_total", "op", "start", k->starts);
	sample(m, "task_frames_out_total", "op", "cancel", k->cancels);
	sample(m, "task_frames_out_total", "op", "forget", k->forgets);
	metric(m, "task_queue_full_total", "counter", "TASK frames not queued: "
	    "the connection's task queue was full.", k->queue_full);
	metric(m, "task_results_in_total", "counter", "RESULT frames from "
	    "agents.", k->frames_in);
	metric(m, "task_chunks_total", "counter", "Result chunks stored.",
	    k->chunks);
	metric(m, "task_chunks_ignored_total", "counter", "Result chunks "
	    "ignored: not at the stored offset, or for a finished task.",
	    k->chunks_ignored);
	metric(m, "task_chunks_bad_total", "counter", "Result chunks that did "
	    "not inflate.", k->chunks_bad);
	metric(m, "task_result_unknown_total", "counter", "RESULT frames for "
	    "a task the host does not have.", k->unknown);
	metric(m, "task_bytes_stored_total", "counter", "Result bytes "
	    "written.", k->bytes_stored);
	metric(m, "task_result_bytes", "gauge", "Result bytes the hub holds "
	    "for every task.", hub_tasks_total_bytes(t));
	metric(m, "task_over_quota_total", "counter", "Tasks failed on "
	    "max_bytes or [tasks] max_total_bytes.", k->over_quota);
	metric(m, "task_hosts_expired_total", "counter", "Hosts whose task "
	    "expired before it started.", k->expired);
	metric(m, "task_hosts_done_total", "counter", "Hosts whose whole "
	    "result is at the hub.", k->done);
	metric(m, "task_errors_total", "counter", "Task store or result file "
	    "errors.", k->store_errors + k->file_errors);
}

/* Sharing with member hubs (hub/peering.c, docs/peering.md). */
static void
api_metrics_peering(struct mbuf *m, const struct hub_peering *p)
{
	const struct hub_peering_stats *k = hub_peering_stats(p);
	const struct hub_conncap *cc = hub_peering_conncap(p);

	family(m, "peer_bundles_out_total", "counter", "Bundles pushed to "
	    "peers, by outcome.");
	sample(m, "peer_bundles_out_total", "outcome", "sent", k->bundles_sent);
	sample(m, "peer_bundles_out_total", "outcome", "refused",
	    k->bundles_refused);
	sample(m, "peer_bundles_out_total", "outcome", "failed",
	    k->push_failures);
	metric(m, "peer_indicators_sent_total", "counter", "Indicators in "
	    "bundles peers took.", k->indicators_sent);
	metric(m, "peer_rows_filtered_total", "counter", "Alert rows kept "
	    "back by a peer's policy.", k->rows_filtered);
	metric(m, "peer_values_redacted_total", "counter", "Values left out "
	    "of bundles as internal.", k->values_redacted);
	metric(m, "peer_excerpts_withheld_total", "counter", "Payload "
	    "excerpts left out of bundles as naming the member's own.",
	    k->excerpts_withheld);
	family(m, "peer_bundles_in_total", "counter", "Bundles peers pushed "
	    "here, by outcome.");
	sample(m, "peer_bundles_in_total", "outcome", "stored",
	    k->bundles_received);
	sample(m, "peer_bundles_in_total", "outcome", "duplicate",
	    k->bundles_duplicate);
	sample(m, "peer_bundles_in_total", "outcome", "refused",
	    k->bundles_refused_in);
	metric(m, "peer_objects_refused_total", "counter", "Objects of "
	    "received bundles refused one by one.", k->objects_refused);
	family(m, "peer_shared_stored_total", "counter", "Shared indicators "
	    "stored from peers: new rows, and rows sent again.");
	sample(m, "peer_shared_stored_total", "row", "new", k->shared_new);
	sample(m, "peer_shared_stored_total", "row", "updated",
	    k->shared_updated);
	metric(m, "peer_handshakes_refused_total", "counter", "Peering "
	    "TLS handshakes refused: no enabled peer's CA.",
	    k->handshakes_refused);
	metric(m, "peer_connections", "gauge", "Connections open on the "
	    "peering listener now.", cc->conns);
	metric(m, "peer_refused_limit_total", "counter", "Peering "
	    "connections closed at once: [peering] max_connections reached.",
	    cc->refused);
	metric(m, "peer_accept_errors_total", "counter", "Peering accept() "
	    "failures (out of descriptors...).", cc->accept_errors);
}

/* The listener's event counters, as picket_hub_listener_events_total
 * samples: label value and field of struct hub_counters. */
#define LEV(f)	{ #f, offsetof(struct hub_counters, f) }
static const struct {
	const char	*name;
	size_t		 off;
} listener_events[] = {
	LEV(accepted),
	LEV(refused_limit),
	LEV(accept_errors),
	LEV(handshake_failures),
	LEV(timeouts),
	LEV(auth_failures),
	LEV(version_failures),
	LEV(welcomes),
	LEV(replaced),
	LEV(identity_conflicts),
	LEV(peer_errors),
	LEV(peer_closed),
	LEV(truncated),
	LEV(inflight_exceeded),
	LEV(renewals),
	LEV(renewed),
	LEV(configs_sent),
	LEV(bundle_reports),
	LEV(applied),
	LEV(refused),
	LEV(rolled_back),
	LEV(bundle_too_big),
	LEV(bundle_queue_full),
	LEV(bundle_store_errors),
};
#undef LEV

static json_t *
api_metrics(struct hub_api_req *r, int *status)
{
	static const char *const we[HUB_WE_SLOTS] = {
		NULL, "protocol", "toolarge", "type", "version", "state",
		"batch", "limit", "auth", "timeout", "internal", "shutdown",
	};
	const struct hub_counters *k = hub_listener_counters(r->api->l);
	const struct hub_ingest_stats *is = &r->api->in->stats;
	struct mbuf m = { NULL, 0, 0, 0 };
	uint64_t size = 0, v;
	int i;

	if ((m.b = malloc(8192)) == NULL)
		return hub_api_error(status, 500, "out of memory");
	m.cap = 8192;
	metric(&m, "agents_connected", "gauge", "Agents connected now "
	    "(past HELLO).", hub_listener_connected(r->api->l));
	metric(&m, "connections", "gauge", "Agent TCP connections open now.",
	    k->active);
	metric(&m, "batches_total", "counter", "BATCH frames stored and "
	    "acknowledged.", k->batches);
	metric(&m, "records_total", "counter", "Records in stored batches.",
	    is->records);
	metric(&m, "indicators_stored_total", "counter", "Indicators stored "
	    "(new rows).", is->stored);
	metric(&m, "indicators_duplicate_total", "counter", "Records already "
	    "stored (resent after a lost ACK).", is->duplicates);
	metric(&m, "indicators_rejected_total", "counter", "Records refused: "
	    "not an indicator.", is->rejected);
	metric(&m, "store_errors_total", "counter", "Batches not stored: the "
	    "store failed.", is->store_errors);
	metric(&m, "bad_batches_total", "counter", "BATCH frames refused.",
	    is->bad_frames + is->batch.rejected);
	metric(&m, "group_commits_total", "counter", "Store transactions "
	    "holding agents' batches (group commit).", is->group_commits);
	metric(&m, "group_max_batches", "gauge", "Most batches in one group "
	    "commit.", is->group_max);
	family(&m, "listener_events_total", "counter", "Agent listener "
	    "events and errors.");
	for (i = 0; i < (int)(sizeof(listener_events) /
	    sizeof(listener_events[0])); i++) {
		memcpy(&v, (const char *)k + listener_events[i].off,
		    sizeof(v));
		sample(&m, "listener_events_total", "event",
		    listener_events[i].name, v);
	}
	family(&m, "closed_by_error_total", "counter", "Agent connections "
	    "closed with an ERROR the hub sent, by code.");
	for (i = 1; i < HUB_WE_SLOTS; i++)
		sample(&m, "closed_by_error_total", "code", we[i],
		    k->closed_by_error[i]);
	metric(&m, "frames_in_total", "counter", "Frames from agents.",
	    k->frames_in);
	metric(&m, "frames_out_total", "counter", "Frames to agents.",
	    k->frames_out);
	metric(&m, "bytes_in_total", "counter", "Decrypted bytes from agents.",
	    k->bytes_in);
	metric(&m, "bytes_out_total", "counter", "Bytes to agents before "
	    "encryption.", k->bytes_out);
	if (r->st->ops->size(r->st, &size) == -1)
		size = 0;
	metric(&m, "store_size_bytes", "gauge", "Size of the store's "
	    "database.", size);
	if (r->api->tasks != NULL)
		api_metrics_tasks(&m, r->api->tasks);
	if (r->api->peering != NULL)
		api_metrics_peering(&m, r->api->peering);
	api_metrics_http(&m, r->api);
	metric(&m, "api_audit_failures_total", "counter", "Audit rows the "
	    "store did not take.", r->api->audit_failures);
	if (m.oom) {
		free(m.b);
		return hub_api_error(status, 500, "out of memory");
	}
	*status = 200;
	r->text = m.b;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return NULL;
}

/* ---- hosts */

/*
 * One host.  identity_conflict is null, or what the listener saw when the
 * host's identity kept connecting from two places (a cloned machine).
 */
static json_t *
host_json(const struct hub_api *a, const struct hub_host *h, int connected,
    json_t *bundle)
{
	char addr_a[96], addr_b[96];
	uint64_t flips;
	json_t *conflict;

	if (a->l != NULL && hub_listener_conflicts(a->l, h->agent_id, &flips,
	    addr_a, addr_b, sizeof(addr_a)) == 1)
		conflict = json_pack("{s:o,s:[s,s]}", "address_changes",
		    hub_api_jint(flips), "addresses", addr_a, addr_b);
	else
		conflict = json_null();
	return json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o}",
	    "agent_id", h->agent_id, "host_name", h->host_name,
	    "first_seen", hub_api_jtime(h->first_seen_us),
	    "last_seen", hub_api_jtime(h->last_seen_us),
	    "last_seq", hub_api_jint(h->last_seq),
	    "dropped", hub_api_jint(h->dropped),
	    "rejected", hub_api_jint(h->rejected), "connected", connected,
	    "identity_conflict", conflict,
	    "bundle", bundle != NULL ? bundle :
	    hub_api_host_bundle(a->st, h->agent_id));
}

struct hosts_ctx {
	const struct hub_api *api;
	json_t		 *arr;
	const char	**ids;
	size_t		  nids;
	int		  oom;
	/* every agent's bundle row, read once, by agent id */
	struct hub_agent_bundle *b;
	size_t		  nb, capb;
};

static int
bundle_row(void *arg, const struct hub_agent_bundle *a)
{
	struct hosts_ctx *x = arg;
	struct hub_agent_bundle *v;
	size_t cap;

	if (x->nb == x->capb) {
		cap = x->capb ? x->capb * 2 : 256;
		if ((v = reallocarray(x->b, cap, sizeof(*v))) == NULL) {
			x->oom = 1;
			return 1;
		}
		x->b = v;
		x->capb = cap;
	}
	x->b[x->nb++] = *a;
	return 0;
}

static int
cmp_bundle(const void *key, const void *elt)
{
	return strcmp(key, ((const struct hub_agent_bundle *)elt)->agent_id);
}

static int
cmp_id(const void *key, const void *elt)
{
	return strcmp(key, *(const char *const *)elt);
}

static int
is_connected(const char **ids, size_t n, const char *id)
{
	return n > 0 && bsearch(id, ids, n, sizeof(*ids), cmp_id) != NULL;
}

static int
host_row(void *arg, const struct hub_host *h)
{
	struct hosts_ctx *x = arg;
	json_t *o;

	o = host_json(x->api, h, is_connected(x->ids, x->nids, h->agent_id),
	    hub_api_bundle_json(x->nb > 0 ? bsearch(h->agent_id, x->b, x->nb,
	    sizeof(*x->b), cmp_bundle) : NULL));
	if (o == NULL || json_array_append_new(x->arr, o) == -1) {
		x->oom = 1;
		return 1;
	}
	return 0;
}

static json_t *
api_hosts(struct hub_api_req *r, int *status)
{
	struct hosts_ctx x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.api = r->api;
	if ((x.arr = json_array()) == NULL)
		return hub_api_error(status, 500, "out of memory");
	x.nids = hub_listener_ready_ids(r->api->l, &x.ids);
	rc = r->st->ops->agent_bundles(r->st, bundle_row, &x);
	if (rc == 0 && !x.oom)
		rc = r->st->ops->hosts(r->st, host_row, &x);
	free(x.ids);
	free(x.b);
	if (rc == -1 || x.oom) {
		json_decref(x.arr);
		return hub_api_error(status, 500, "store unavailable");
	}
	*status = 200;
	return json_pack("{s:o}", "hosts", x.arr);
}

static int
rule_row(void *arg, const struct hub_rule_count *rc)
{
	json_t *o;

	o = json_pack("{s:s,s:s,s:o,s:o}", "rule_id", rc->rule_id,
	    "rule_name", rc->rule_name, "count", hub_api_jint(rc->count),
	    "last_timestamp", hub_api_jtime(rc->last_ts_us));
	if (o == NULL || json_array_append_new(arg, o) == -1)
		return 1;
	return 0;
}

static json_t *
api_host(struct hub_api_req *r, int *status)
{
	struct hub_host h;
	const char **ids;
	json_t *rules, *o;
	size_t n;
	int found, conn;

	if (r->st->ops->host_get(r->st, r->arg, &h, &found) == -1)
		return hub_api_error(status, 500, "store unavailable");
	if (!found)
		return hub_api_error(status, 404, "no host with agent id %.64s",
		    r->arg);
	n = hub_listener_ready_ids(r->api->l, &ids);
	conn = is_connected(ids, n, h.agent_id);
	free(ids);
	if ((rules = json_array()) == NULL)
		return hub_api_error(status, 500, "out of memory");
	if (r->st->ops->host_rules(r->st, h.agent_id, rule_row, rules) ==
	    -1) {
		json_decref(rules);
		return hub_api_error(status, 500, "store unavailable");
	}
	if ((o = host_json(r->api, &h, conn, NULL)) == NULL) {
		json_decref(rules);
		return hub_api_error(status, 500, "out of memory");
	}
	*status = 200;
	return json_pack("{s:o,s:o}", "host", o, "rules", rules);
}

/* ---- indicators */

struct ind_ctx {
	json_t		*arr;
	uint64_t	 want;		/* the page size */
	uint64_t	 rows;
	int64_t		 last_ts;
	char		 last_agent[HUB_ID_MAX + 1];
	uint64_t	 last_seq;
	int		 more;		/* a row past the page exists */
	int		 oom;
};

static int
ind_row(void *arg, const struct hub_indicator *d)
{
	struct ind_ctx *x = arg;
	json_error_t e;
	json_t *o;

	if (x->rows == x->want) {
		x->more = 1;
		return 1;
	}
	/* The stored text is the agent's JSON, checked at ingest. */
	if ((o = json_loadb(d->json, d->json_len, 0, &e)) == NULL)
		o = json_pack("{s:s}", "error", "stored JSON unreadable");
	if (o == NULL || json_array_append_new(x->arr, o) == -1) {
		x->oom = 1;
		return 1;
	}
	x->rows++;
	x->last_ts = d->ts_us;
	pk_strlcpy(x->last_agent, d->agent_id, sizeof(x->last_agent));
	x->last_seq = d->seq;
	return 0;
}

static json_t *
api_indicators(struct hub_api_req *r, int *status)
{
	struct hub_ind_filter f;
	struct ind_ctx x;
	char err[HUB_ERR_MAX], cur[HUB_CURSOR_MAX + 1];
	json_t *next;

	if (hub_ind_filter_parse(r->params, r->now_us, &f, err,
	    sizeof(err)) == -1)
		return hub_api_error(status, 400, "%s", err);
	memset(&x, 0, sizeof(x));
	x.want = f.limit;
	f.limit++;		/* one more tells whether a next page exists */
	if ((x.arr = json_array()) == NULL)
		return hub_api_error(status, 500, "out of memory");
	if (r->st->ops->find(r->st, &f, ind_row, &x) == -1 || x.oom) {
		json_decref(x.arr);
		return hub_api_error(status, 500, "store unavailable");
	}
	next = json_null();
	if (x.more && hub_cursor_encode(x.last_ts, x.last_agent, x.last_seq,
	    cur, sizeof(cur)) == 0)
		next = json_string(cur);
	*status = 200;
	return json_pack("{s:o,s:o}", "indicators", x.arr, "next_cursor",
	    next);
}

/* ---- audit */

json_t *
hub_page_begin(struct hub_api_req *r, struct hub_page *p, int *status)
{
	json_t *bad;

	memset(p, 0, sizeof(*p));
	if ((bad = hub_api_page_args(r, &p->want, &p->before, status)) !=
	    NULL)
		return bad;
	if ((p->arr = json_array()) == NULL)
		return hub_api_error(status, 500, "out of memory");
	return NULL;
}

/* 1: room for this row; 0: the page is full (one more row was there). */
int
hub_page_take(struct hub_page *p)
{
	if (p->rows == p->want) {
		p->more = 1;
		return 0;
	}
	return 1;
}

/* 0, or 1 to stop the query (out of memory, counted). */
int
hub_page_put(struct hub_page *p, json_t *o, int64_t id)
{
	if (o == NULL || json_array_append_new(p->arr, o) == -1) {
		p->oom = 1;
		return 1;
	}
	p->rows++;
	p->last_id = id;
	return 0;
}

json_t *
hub_page_end(struct hub_page *p, int store_rc, const char *key, int *status)
{
	char cur[24];
	json_t *next;

	if (store_rc == -1 || p->oom) {
		json_decref(p->arr);
		return hub_api_error(status, 500, "store unavailable");
	}
	next = json_null();
	if (p->more) {
		snprintf(cur, sizeof(cur), "%lld", (long long)p->last_id);
		next = json_string(cur);
	}
	*status = 200;
	return json_pack("{s:o,s:o}", key, p->arr, "next_cursor", next);
}

static int
audit_row(void *arg, const struct hub_audit *a)
{
	struct hub_page *p = arg;

	if (!hub_page_take(p))
		return 1;
	return hub_page_put(p, json_pack("{s:I,s:o,s:s,s:s,s:s,s:s,s:s,s:s}",
	    "id", (json_int_t)a->id, "time", hub_api_jtime(a->ts_us), "actor",
	    a->actor, "role", a->role, "action", a->action, "target",
	    a->target, "remote", a->remote, "result", a->result), a->id);
}

static json_t *
api_audit(struct hub_api_req *r, int *status)
{
	struct hub_page p;
	json_t *bad;

	if ((bad = hub_page_begin(r, &p, status)) != NULL)
		return bad;
	return hub_page_end(&p, r->st->ops->audit_list(r->st, p.before,
	    p.want + 1, audit_row, &p), "audit", status);
}

/* Outbreaks (hub/outbreak.c, docs/outbreaks.md). */
static json_t *
api_outbreaks(struct hub_api_req *r, int *status)
{
	struct hub_outbreak_params p;
	char err[HUB_ERR_MAX];
	json_t *o;
	size_t i;

	hub_outbreak_params_default(&p);
	p.now_us = r->now_us;
	for (i = 0; i < r->params->n; i++)
		if (hub_outbreak_params_set(&p, r->params->p[i].key,
		    r->params->p[i].val, err, sizeof(err)) == -1)
			return hub_api_error(status, 400, "%s", err);
	if ((o = hub_outbreaks(r->st, &p, err, sizeof(err))) == NULL)
		return hub_api_error(status, 500, "%s", err);
	*status = 200;
	return o;
}

/* STIX 2.1 bundle, redacted per [sharing] (hub/stix.c). */
static json_t *
api_stix(struct hub_api_req *r, int *status)
{
	struct hub_stix_params p;
	struct hub_stix_stats st;
	char err[HUB_ERR_MAX];
	json_t *o;
	size_t i;

	hub_stix_params_default(&p);
	p.now_us = r->now_us;
	p.sharing = &r->api->sharing;
	memset(&st, 0, sizeof(st));
	p.stats = &st;
	for (i = 0; i < r->params->n; i++)
		if (hub_stix_params_set(&p, r->params->p[i].key,
		    r->params->p[i].val, err, sizeof(err)) == -1)
			return hub_api_error(status, 400, "%s", err);
	o = hub_stix_bundle(r->st, &p, err, sizeof(err));
	r->api->stix_exports++;
	r->api->stix_redacted += st.redacted;
	r->api->stix_names += st.redacted_names;
	if (o == NULL)
		return hub_api_error(status, 500, "%s", err);
	*status = 200;
	return o;
}

/* ------------------------------------------------------------ routes */

/* One line per endpoint (see api.h). */
static const struct hub_route routes[] = {
	{ "GET", "/healthz", HUB_ROLE_NONE, api_healthz, NULL },
	{ "GET", "/metrics", HUB_ROLE_VIEWER, api_metrics, NULL },
	{ "GET", "/api/v1/whoami", HUB_ROLE_VIEWER, api_whoami, NULL },
	{ "GET", "/api/v1/hosts", HUB_ROLE_VIEWER, api_hosts, NULL },
	{ "GET", "/api/v1/hosts/{id}", HUB_ROLE_VIEWER, api_host, NULL },
	{ "GET", "/api/v1/indicators", HUB_ROLE_VIEWER, api_indicators,
	  "host kind rule severity since until q limit cursor" },
	{ "GET", "/api/v1/audit", HUB_ROLE_ADMIN, api_audit, "limit cursor" },
	{ "GET", "/api/v1/outbreaks", HUB_ROLE_VIEWER, api_outbreaks,
	  "since until min_hosts kind limit" },
	{ "GET", "/api/v1/export/stix", HUB_ROLE_VIEWER, api_stix,
	  "since until tlp" },
	{ "POST", "/api/v1/enroll", HUB_ROLE_NONE, hub_enroll_api, NULL },
	{ "POST", "/api/v1/tasks", HUB_ROLE_RESPONDER, hub_api_task_create,
	  NULL },
	{ "GET", "/api/v1/tasks", HUB_ROLE_VIEWER, hub_api_task_list,
	  "limit cursor" },
	{ "GET", "/api/v1/tasks/{id}", HUB_ROLE_VIEWER, hub_api_task_get,
	  NULL },
	{ "POST", "/api/v1/tasks/{id}/cancel", HUB_ROLE_RESPONDER,
	  hub_api_task_cancel, NULL },
	{ "GET", "/api/v1/tasks/{id}/results/{agent}", HUB_ROLE_RESPONDER,
	  hub_api_task_result, NULL },
	{ "GET", "/api/v1/incidents", HUB_ROLE_VIEWER, hub_api_incident_list,
	  "state limit cursor" },
	{ "POST", "/api/v1/incidents", HUB_ROLE_RESPONDER,
	  hub_api_incident_create, NULL },
	{ "GET", "/api/v1/incidents/{id}", HUB_ROLE_VIEWER,
	  hub_api_incident_get, NULL },
	{ "PATCH", "/api/v1/incidents/{id}", HUB_ROLE_RESPONDER,
	  hub_api_incident_patch, NULL },
	{ "POST", "/api/v1/incidents/{id}/notes", HUB_ROLE_RESPONDER,
	  hub_api_incident_note, NULL },
	{ "POST", "/api/v1/incidents/{id}/links", HUB_ROLE_RESPONDER,
	  hub_api_incident_link, NULL },
	{ "GET", "/api/v1/incidents/{id}/report", HUB_ROLE_VIEWER,
	  hub_api_incident_report, "format" },
	{ "GET", "/api/v1/peers", HUB_ROLE_ADMIN, hub_api_peer_list, NULL },
	{ "GET", "/api/v1/shared", HUB_ROLE_VIEWER, hub_api_shared_list,
	  "peer state kind q limit cursor" },
	{ "POST", "/api/v1/shared/{id}/approve", HUB_ROLE_RESPONDER,
	  hub_api_shared_approve, NULL },
	{ "POST", "/api/v1/shared/{id}/reject", HUB_ROLE_RESPONDER,
	  hub_api_shared_reject, NULL },
	{ "GET", "/api/v1/shared/{id}", HUB_ROLE_VIEWER, hub_api_shared_get,
	  NULL },
	{ "GET", "/api/v1/bundles", HUB_ROLE_VIEWER, hub_api_bundle_list,
	  "limit" },
	{ "GET", "/api/v1/bundles/{id}", HUB_ROLE_VIEWER, hub_api_bundle_get,
	  NULL },
	{ "POST", "/api/v1/bundles/rollback", HUB_ROLE_ADMIN,
	  hub_api_bundle_rollback, NULL },
};
_Static_assert(PK_NELEM(routes) <= ROUTES_MAX, "raise ROUTES_MAX");

/*
 * The route label of a route class: the route table's path (so labels
 * stay few whatever clients ask for), "ui", or "other".  Routes that
 * share a path (two methods) share a label: class i is shown under the
 * first row with its path.
 */
static const char *
route_label(size_t i)
{
	if (i < PK_NELEM(routes))
		return routes[i].path;
	return i == ROUTE_UI ? "ui" : "other";
}

static int
route_first(size_t i)
{
	size_t j;

	if (i >= PK_NELEM(routes))
		return i == ROUTE_UI || i == ROUTE_OTHER;
	for (j = 0; j < i; j++)
		if (strcmp(routes[j].path, routes[i].path) == 0)
			return 0;
	return 1;
}

/* Class i's counters plus those of every later row with its path. */
static void
route_sum(const struct hub_api *a, size_t i, uint64_t req[STATUS_CLASSES],
    uint64_t lat[LAT_BUCKETS + 1], uint64_t *sum_us)
{
	size_t j, c;

	for (j = i; j < ROUTE_CLASSES; j++) {
		if (j != i && (j >= PK_NELEM(routes) ||
		    strcmp(routes[j].path, routes[i].path) != 0))
			continue;
		for (c = 0; c < STATUS_CLASSES; c++)
			req[c] += a->req[j][c];
		for (c = 0; c <= LAT_BUCKETS; c++)
			lat[c] += a->lat[j][c];
		*sum_us += a->lat_sum_us[j];
	}
}

/* The API's own families in /metrics (docs/api.md). */
static void
api_metrics_http(struct mbuf *m, const struct hub_api *a)
{
	static const char *const cls[STATUS_CLASSES] = {
		"other", "1xx", "2xx", "3xx", "4xx", "5xx",
	};
	uint64_t req[STATUS_CLASSES], lat[LAT_BUCKETS + 1], sum, cum;
	size_t i, c;

	metric(m, "api_connections", "gauge", "HTTPS API connections open "
	    "now.", a->cap.conns);
	metric(m, "api_refused_limit_total", "counter", "API connections "
	    "closed at once: [api] max_connections reached.",
	    a->cap.refused);
	metric(m, "api_accept_errors_total", "counter", "API accept() "
	    "failures (out of descriptors...).", a->cap.accept_errors);
	family(m, "api_requests_total", "counter", "API and UI requests "
	    "answered, by route and status class.");
	for (i = 0; i < ROUTE_CLASSES; i++) {
		if (!route_first(i))
			continue;
		memset(req, 0, sizeof(req));
		memset(lat, 0, sizeof(lat));
		sum = 0;
		route_sum(a, i, req, lat, &sum);
		/* 2xx, 4xx, 5xx always; the classes the API never answers
		 * with (1xx, 3xx, other) only if they ever happen */
		for (c = 0; c < STATUS_CLASSES; c++)
			if (c == 2 || c == 4 || c == 5 || req[c] != 0)
				mprintf(m, "picket_hub_api_requests_total{route="
				    "\"%s\",code=\"%s\"} %llu\n", route_label(i),
				    cls[c], (unsigned long long)req[c]);
	}
	family(m, "api_request_duration_seconds", "histogram", "Time from "
	    "a request's arrival at the router to its answer, by route.");
	for (i = 0; i < ROUTE_CLASSES; i++) {
		if (!route_first(i))
			continue;
		memset(req, 0, sizeof(req));
		memset(lat, 0, sizeof(lat));
		sum = 0;
		route_sum(a, i, req, lat, &sum);
		for (c = 0, cum = 0; c <= LAT_BUCKETS; c++) {
			cum += lat[c];
			mprintf(m, "picket_hub_api_request_duration_seconds_"
			    "bucket{route=\"%s\",le=\"%s\"} %llu\n",
			    route_label(i), c < LAT_BUCKETS ? lat_le[c] :
			    "+Inf", (unsigned long long)cum);
		}
		mprintf(m, "picket_hub_api_request_duration_seconds_sum{route="
		    "\"%s\"} %llu.%06llu\n", route_label(i),
		    (unsigned long long)(sum / PK_USEC),
		    (unsigned long long)(sum % PK_USEC));
		mprintf(m, "picket_hub_api_request_duration_seconds_count{"
		    "route=\"%s\"} %llu\n", route_label(i),
		    (unsigned long long)cum);
	}
	metric(m, "ui_files_served_total", "counter", "Web UI files served "
	    "(200).", a->ui_files);
	metric(m, "stix_exports_total", "counter", "STIX bundles asked for.",
	    a->stix_exports);
	metric(m, "stix_redacted_total", "counter", "Values kept out of STIX "
	    "bundles as internal (addresses and names).", a->stix_redacted);
	metric(m, "stix_redacted_names_total", "counter", "Of those, names "
	    "under [sharing] internal_domains.", a->stix_names);
}

/* Count one answer of route class rc and how long it took. */
static void
api_count(struct hub_api *a, int rc, int status, uint64_t us)
{
	int c = status / 100;
	size_t b;

	if (rc < 0 || rc >= ROUTE_CLASSES)
		rc = ROUTE_OTHER;
	a->req[rc][c >= 1 && c <= 5 ? c : 0]++;
	for (b = 0; b < LAT_BUCKETS && us > lat_us[b]; b++)
		;
	a->lat[rc][b]++;
	a->lat_sum_us[rc] += us;
}

/*
 * Does path match pattern?  Each "{...}" matches one non-empty segment,
 * the first put in arg, the second in arg2 (cap bytes each).  Both are
 * checked paths (no "//", no dots).
 */
static int
route_match(const char *pattern, const char *path, char *arg, char *arg2,
    size_t cap)
{
	const char *pe, *se;
	char *dst;
	size_t n;
	int nargs = 0;

	arg[0] = arg2[0] = '\0';
	while (*pattern != '\0' && *path != '\0') {
		if (*pattern == '{') {
			if ((pe = strchr(pattern, '}')) == NULL || nargs == 2)
				return 0;
			dst = nargs++ == 0 ? arg : arg2;
			se = strchr(path, '/');
			n = se != NULL ? (size_t)(se - path) : strlen(path);
			if (n == 0 || n >= cap)
				return 0;
			memcpy(dst, path, n);
			dst[n] = '\0';
			pattern = pe + 1;
			path += n;
			continue;
		}
		if (*pattern != *path)
			return 0;
		pattern++;
		path++;
	}
	return *pattern == '\0' && *path == '\0';
}

static const char *
method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:		return "GET";
	case EVHTTP_REQ_POST:		return "POST";
	case EVHTTP_REQ_HEAD:		return "HEAD";
	case EVHTTP_REQ_PUT:		return "PUT";
	case EVHTTP_REQ_DELETE:		return "DELETE";
	case EVHTTP_REQ_OPTIONS:	return "OPTIONS";
	case EVHTTP_REQ_PATCH:		return "PATCH";
	default:			return "OTHER";
	}
}

/* ------------------------------------------------------------ requests */

struct call {
	struct hub_api		*a;
	struct evhttp_request	*req;
	const char		*method;
	char			 remote[REMOTE_MAX];
	char			 path[HUB_PATH_LEN_MAX + 1];
	struct hub_token	 tok;
	int			 role;
	int			 status;
	int			 route;		/* route class, for /metrics */
};

static void
send_body(struct call *k, int status, const char *ctype, const char *body,
    size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(k->req);
	struct evbuffer *b = evhttp_request_get_output_buffer(k->req);

	evhttp_add_header(h, "Content-Type", ctype);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (body != NULL && len > 0)
		evbuffer_add(b, body, len);
	evhttp_send_reply(k->req, status, NULL, NULL);
	k->status = status;
}

static void
send_json(struct call *k, int status, json_t *j)
{
	char *s;

	s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	if (s == NULL) {
		static const char oom[] = "{\"error\":\"out of memory\"}";

		send_body(k, 500, "application/json", oom, sizeof(oom) - 1);
	} else {
		send_body(k, status, "application/json", s, strlen(s));
	}
	free(s);
	json_decref(j);
}

static void send_error(struct call *, int, const char *, ...) PK_PRINTF(3, 4);

static void
send_error(struct call *k, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	send_json(k, status, json_pack("{s:s}", "error", msg));
}

static void
peer(struct evhttp_request *req, char *out, size_t cap)
{
	struct evhttp_connection *ec = evhttp_request_get_connection(req);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (ec != NULL)
		evhttp_connection_get_peer(ec, &addr, &port);
	if (addr == NULL)
		pk_strlcpy(out, "?", cap);
	else if (strchr(addr, ':') != NULL)
		snprintf(out, cap, "[%.64s]:%u", addr, port);
	else
		snprintf(out, cap, "%.64s:%u", addr, port);
}

/*
 * The caller's role from "Authorization: Bearer pkt_...".  0 with k->tok
 * and k->role set, or -1 after sending 401 (or 500).
 */
static int
authenticate(struct call *k)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(k->req);
	const char *v = evhttp_find_header(h, "Authorization");
	struct evkeyvalq *oh = evhttp_request_get_output_headers(k->req);
	size_t len;
	int rc;

	if (v == NULL) {
		evhttp_add_header(oh, "WWW-Authenticate",
		    "Bearer realm=\"picket-hub\"");
		send_error(k, 401, "a bearer token is required");
		return -1;
	}
	if (strncasecmp(v, "Bearer ", 7) != 0) {
		evhttp_add_header(oh, "WWW-Authenticate",
		    "Bearer realm=\"picket-hub\", error=\"invalid_request\"");
		send_error(k, 401, "Authorization: want Bearer");
		return -1;
	}
	v += 7;
	while (*v == ' ')
		v++;
	len = strlen(v);
	while (len > 0 && v[len - 1] == ' ')
		len--;
	rc = hub_token_check(k->a->st, v, len, &k->tok);
	if (rc == -1) {
		send_error(k, 500, "store unavailable");
		return -1;
	}
	if (rc == 1) {
		evhttp_add_header(oh, "WWW-Authenticate",
		    "Bearer realm=\"picket-hub\", error=\"invalid_token\"");
		send_error(k, 401, "unknown or revoked token");
		return -1;
	}
	k->role = k->tok.role;
	return 0;
}

/* Admin actions, writes and refusals of a known caller go to the log. */
static void
audit_call(struct call *k, const char *target)
{
	char action[ACTION_MAX], result[16];

	if (k->tok.name[0] == '\0')
		return;
	if (k->role != HUB_ROLE_ADMIN && strcmp(k->method, "GET") == 0 &&
	    k->status != 403)
		return;
	snprintf(action, sizeof(action), "%s %.200s", k->method, k->path);
	snprintf(result, sizeof(result), "%d", k->status);
	if (hub_audit(k->a->st, k->tok.name, hub_role_name(k->role), action,
	    target, k->remote, result) == -1)
		k->a->audit_failures++;
}

/*
 * A file as the answer (a task's result): evbuffer_add_file maps it
 * (a TLS connection cannot sendfile), so a large result never sits in
 * memory as a copy.  The buffer owns fd from here.
 */
static void
send_file(struct call *k, int status, const char *ctype, const char *disp,
    int fd, uint64_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(k->req);
	struct evbuffer *b = evhttp_request_get_output_buffer(k->req);

	evhttp_add_header(h, "Content-Type", ctype);
	if (disp != NULL)
		evhttp_add_header(h, "Content-Disposition", disp);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (len == 0 || evbuffer_add_file(b, fd, 0, (ev_off_t)len) == -1) {
		if (len != 0) {
			close(fd);
			send_error(k, 500, "cannot read the result file");
			return;
		}
		close(fd);
	}
	evhttp_send_reply(k->req, status, NULL, NULL);
	k->status = status;
}

static void
dispatch(struct call *k, const struct hub_route *rt, const char *arg,
    const char *arg2, const char *query)
{
	struct hub_api_req r;
	struct hub_params p;
	char err[HUB_ERR_MAX];
	const char *target = query != NULL ? query : "";
	json_t *j;
	int status = 200;

	if (rt->role > HUB_ROLE_NONE) {
		if (authenticate(k) == -1)
			return;
		if (k->role < rt->role) {
			send_error(k, 403, "role %s may not do this (needs "
			    "%s)", hub_role_name(k->role),
			    hub_role_name(rt->role));
			audit_call(k, target);
			return;
		}
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(k->req)) >
	    k->a->max_body) {
		send_error(k, 413, "body over %llu bytes",
		    (unsigned long long)k->a->max_body);
		audit_call(k, target);
		return;
	}
	if (hub_params_parse(query, rt->params, &p, err, sizeof(err)) == -1) {
		send_error(k, 400, "%s", err);
		audit_call(k, target);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.st = k->a->st;
	r.api = k->a;
	r.role = k->role;
	r.actor = k->tok.name;
	r.remote = k->remote;
	r.arg = arg;
	r.arg2 = arg2;
	r.file_fd = -1;
	r.params = &p;
	r.now_us = (int64_t)pk_now_us();
	if ((r.body_len = evbuffer_get_length(evhttp_request_get_input_buffer(
	    k->req))) > 0)
		r.body = (const char *)evbuffer_pullup(
		    evhttp_request_get_input_buffer(k->req), -1);
	j = rt->fn(&r, &status);
	if (j == NULL && r.file_fd >= 0) {
		send_file(k, status, r.content_type != NULL ? r.content_type :
		    "application/octet-stream", r.disposition, r.file_fd,
		    r.file_len);
		free(r.text);
	} else if (j == NULL && r.text != NULL) {
		if (r.disposition != NULL)
			evhttp_add_header(evhttp_request_get_output_headers(
			    k->req), "Content-Disposition", r.disposition);
		send_body(k, status, r.content_type != NULL ? r.content_type :
		    "text/plain; charset=utf-8", r.text, r.text_len > 0 ?
		    r.text_len : strlen(r.text));
		free(r.text);
	} else {
		free(r.text);
		send_json(k, status, j);
	}
	audit_call(k, target);
}

/* Route one request and answer it (every path below sends once). */
static void
api_route(struct call *k)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(k->req);
	const struct hub_route *rt;
	char err[HUB_ERR_MAX], rarg[HUB_PATH_LEN_MAX + 1], allow[64];
	char rarg2[HUB_PATH_LEN_MAX + 1];
	const char *raw;
	size_t i, alen = 0;
	int n, path_known = -1;

	raw = u != NULL ? evhttp_uri_get_path(u) : NULL;
	if (raw == NULL || hub_path_check(raw, k->path, sizeof(k->path), err,
	    sizeof(err)) == -1) {
		send_error(k, 400, "%s", raw == NULL ? "no path" : err);
		return;
	}
	allow[0] = '\0';
	for (i = 0; i < PK_NELEM(routes); i++) {
		rt = &routes[i];
		if (!route_match(rt->path, k->path, rarg, rarg2,
		    sizeof(rarg)))
			continue;
		if (strcmp(rt->method, k->method) == 0) {
			k->route = (int)i;
			dispatch(k, rt, rarg, rarg2, evhttp_uri_get_query(u));
			return;
		}
		if (path_known == -1)
			path_known = (int)i;
		n = snprintf(allow + alen, sizeof(allow) - alen, "%s%s",
		    alen > 0 ? ", " : "", rt->method);
		if (n > 0 && (size_t)n < sizeof(allow) - alen)
			alen += (size_t)n;
	}
	if (path_known != -1) {
		k->route = path_known;
		evhttp_add_header(evhttp_request_get_output_headers(k->req),
		    "Allow", allow);
		send_error(k, 405, "method %s not allowed (%s)", k->method,
		    allow);
		return;
	}
	if (hub_ui_serve(k->req, k->method, k->path) == 0) {
		/* GET / and /ui/<file>: hub/ui.c answered.  The request lives
		 * on until its answer is written (a later loop turn), so its
		 * status can still be read here. */
		k->route = ROUTE_UI;
		k->status = evhttp_request_get_response_code(k->req);
		if (k->status == 200)
			k->a->ui_files++;
		return;
	}
	send_error(k, 404, "no such endpoint");
}

/*
 * When make_bev cannot make a TLS bufferevent (out of memory), evhttp
 * quietly uses a plain socket one: such a connection must never be
 * served, or a token could cross the network in clear.
 */
static int
is_tls(struct evhttp_request *req)
{
	struct evhttp_connection *ec = evhttp_request_get_connection(req);

	return ec != NULL && bufferevent_openssl_get_ssl(
	    evhttp_connection_get_bufferevent(ec)) != NULL;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct call k;
	uint64_t t0 = pk_mono_us();

	memset(&k, 0, sizeof(k));
	k.a = arg;
	k.req = req;
	k.route = ROUTE_OTHER;
	k.method = method_name(evhttp_request_get_command(req));
	peer(req, k.remote, sizeof(k.remote));
	if (!is_tls(req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		send_error(&k, 400, "TLS required");
	} else
		api_route(&k);
	api_count(k.a, k.route, k.status, pk_mono_us() - t0);
}

/* ------------------------------------------------------------ errors */

/*
 * evhttp answers a request it could not parse (400), a body over
 * max_body (413), an Expect it does not know (417) or a method it does
 * not know (501) itself, with a canned HTML page, and libevent 2.1 has
 * no hook for that.  This callback on each connection's output buffer
 * sees the page arrive: evhttp writes a response only into an empty
 * buffer (it reads the next request after the last answer is out), its
 * status line and headers first and the body last, and nothing is sent
 * before the event loop turns.  When the whole buffer is exactly such a
 * page (after at most one "100 Continue"), it is replaced by the same
 * status with our JSON shape.  Anything else, ours included (JSON, the
 * UI's files, all with other headers), is left alone.
 */
static const char canned_open[] = "\r\n\r\n<HTML><HEAD>\n<TITLE>";
static const char canned_close[] = "</BODY></HTML>\n";

static const char *
canned_why(const struct hub_api *a, int code, char *buf, size_t cap)
{
	switch (code) {
	case 400:
		return "bad request: a malformed request line or header, or "
		    "headers over 16384 bytes";
	case 413:
		snprintf(buf, cap, "body over %llu bytes ([api] max_body)",
		    (unsigned long long)a->max_body);
		return buf;
	case 417:
		return "Expect: only 100-continue is understood";
	case 501:
		return "method not implemented";
	default:
		snprintf(buf, cap, "HTTP error %d", code);
		return buf;
	}
}

static void
http_error_json(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct hub_api *a = arg;
	size_t len = evbuffer_get_length(b), skip = 0, cl = sizeof(canned_close)
	    - 1;
	char page[CANNED_MAX + 1], why[96];
	const char *p, *eol, *body, *ct, *msg;
	int code;

	if (info->n_added == 0 || len < 32 || len > CANNED_MAX ||
	    evbuffer_copyout(b, page, len) != (ev_ssize_t)len)
		return;
	page[len] = '\0';
	if (memcmp(page + len - cl, canned_close, cl) != 0 ||
	    memchr(page, '\0', len) != NULL)
		return;
	/* "HTTP/1.1 100 Continue\r\n\r\n" may still be waiting ahead */
	if (strncmp(page, "HTTP/1.", 7) == 0 && strncmp(page + 8, " 100 ", 5)
	    == 0 && (p = strstr(page, "\r\n\r\n")) != NULL)
		skip = (size_t)(p + 4 - page);
	p = page + skip;
	if (strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ' ||
	    p[9] < '4' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9' || p[12] != ' ' ||
	    (eol = strstr(p, "\r\n")) == NULL ||
	    (body = strstr(p, canned_open)) == NULL ||
	    (ct = strstr(p, "\r\nContent-Type: text/html\r\n")) == NULL ||
	    ct > body)
		return;
	code = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	msg = canned_why(a, code, why, sizeof(why));
	/* Drain it all and put back what stays: the adds call us again,
	 * and find no HTML page then. */
	evbuffer_drain(b, len);
	if (skip > 0)
		evbuffer_add(b, page, skip);
	evbuffer_add_printf(b, "%.*s\r\nContent-Type: application/json\r\n"
	    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	    "Connection: close\r\nContent-Length: %zu\r\n\r\n"
	    "{\"error\":\"%s\"}", (int)(eol - p), p, strlen(msg) + 12, msg);
	api_count(a, ROUTE_OTHER, code, 0);
}

/* ------------------------------------------------------------ connections */

/* evhttp's accept made a connection: its TLS bufferevent. */
static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
	struct hub_api *a = arg;
	struct bufferevent *bev;
	struct ssl_st *ssl;

	if ((ssl = pk_tls_http_ssl_new(a->tls)) == NULL) {
		a->bev_failures++;
		return NULL;
	}
	hub_conncap_count(&a->cap, ssl);
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		pk_tls_http_ssl_free(ssl);
		a->bev_failures++;
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	/* People waiting on the UI go before agents' batches (the base has
	 * two priorities; agent events keep the default, 1). */
	(void)bufferevent_priority_set(bev, 0);
	if (evbuffer_add_cb(bufferevent_get_output(bev), http_error_json, a) ==
	    NULL)
		a->bev_failures++;	/* only the HTML pages stay HTML */
	hub_conncap_check(&a->cap);
	return bev;
}

/*
 * [sharing]: the identity name, the internal networks, and the pseudonym
 * key, made once (32 random bytes, mode 0600) in data_dir/sharing.key so
 * that a host keeps its pseudonym across restarts.  The peering pusher
 * (hub/peering.c) loads the same settings through this.
 */
int
hub_api_sharing_load(struct hub_sharing *sh, char *name, size_t namecap,
    const struct hub_config *c)
{
	char path[HUB_PATH_MAX + 32], err[256];
	ssize_t n = 0;
	int fd;

	hub_sharing_default(sh);
	pk_strlcpy(name, c->share_name[0] ? c->share_name :
	    c->name[0] ? c->name : "picket-hub", namecap);
	sh->hub_name = name;
	sh->host_pseudonyms = c->share_pseudonyms != 0;
	if (c->share_internal[0] != '\0' && hub_sharing_set_internal(
	    sh, c->share_internal, err, sizeof(err)) == -1) {
		log_warnx("[sharing] internal: %s", err);
		return -1;
	}
	if (hub_sharing_set_domains(sh, c->share_domains, err,
	    sizeof(err)) == -1) {
		log_warnx("[sharing] internal_domains: %s", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/sharing.key", c->data_dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, sh->secret, sizeof(sh->secret));
		close(fd);
		if (n == (ssize_t)sizeof(sh->secret))
			return 0;
		log_warnx("%s: not a 32-byte key", path);
		return -1;
	}
	if (errno != ENOENT ||
	    getrandom(sh->secret, sizeof(sh->secret), 0) !=
	    (ssize_t)sizeof(sh->secret) ||
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0) {
		log_warn("%s", path);
		return -1;
	}
	n = write(fd, sh->secret, sizeof(sh->secret));
	if (n != (ssize_t)sizeof(sh->secret) || fsync(fd) != 0) {
		log_warn("%s", path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
sharing_init(struct hub_api *a, const struct hub_config *c)
{
	return hub_api_sharing_load(&a->sharing, a->share_name,
	    sizeof(a->share_name), c);
}

struct hub_api *
hub_api_new(const struct hub_config *c, struct event_base *base,
    struct hub_store *st, struct hub_ingest *in, struct hub_listener *l)
{
	struct hub_api *a;
	struct evhttp_bound_socket *bs;
	char err[PK_TLS_ERRLEN];
	int fd, one = 1;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warn("api");
		return NULL;
	}
	a->base = base;
	a->st = st;
	a->in = in;
	a->l = l;
	a->max_body = c->api_max_body;
	pk_strlcpy(a->data_dir, c->data_dir, sizeof(a->data_dir));
	if (hub_config_results_dir(c, a->results_dir, sizeof(a->results_dir))
	    == -1) {
		log_warnx("api: results directory name too long");
		hub_api_free(a);
		return NULL;
	}
	(void)hub_ui_set_dir(c->ui_dir);	/* same size: cannot fail */
	if (sharing_init(a, c) == -1) {
		hub_api_free(a);
		return NULL;
	}
	if ((a->tls = pk_tls_http_ctx_new(c->tls_cert, c->tls_key, err,
	    sizeof(err))) == NULL) {
		log_warnx("api TLS: %s", err);
		hub_api_free(a);
		return NULL;
	}
	if ((a->http = evhttp_new(base)) == NULL) {
		log_warnx("api: evhttp_new failed");
		hub_api_free(a);
		return NULL;
	}
	evhttp_set_bevcb(a->http, make_bev, a);
	evhttp_set_gencb(a->http, on_request, a);
	evhttp_set_max_body_size(a->http, (ev_ssize_t)c->api_max_body);
	evhttp_set_max_headers_size(a->http, API_HEADERS_MAX);
	evhttp_set_timeout(a->http, API_TIMEOUT_S);
	/* Every method reaches on_request, which answers 405 itself. */
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	if ((fd = hub_listen_on(c->api_listen)) == -1) {
		hub_api_free(a);
		return NULL;
	}
	/* Small answers go out at once, not after a delayed ACK; accepted
	 * sockets inherit the option. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* evhttp owns fd from here: evhttp_free() closes it. */
	if ((bs = evhttp_accept_socket_with_handle(a->http, fd)) == NULL) {
		log_warnx("api: cannot accept on %s", c->api_listen);
		evutil_closesocket(fd);
		hub_api_free(a);
		return NULL;
	}
	if (hub_conncap_start(&a->cap, base, bs, c->api_max_connections,
	    "api", "[api] max_connections") == -1) {
		hub_api_free(a);
		return NULL;
	}
	return a;
}

void
hub_api_free(struct hub_api *a)
{
	if (a == NULL)
		return;
	hub_conncap_stop(&a->cap);	/* before evhttp closes its fd */
	if (a->http != NULL)
		evhttp_free(a->http);
	pk_tls_ctx_free(a->tls);
	free(a);
}
