/*
 * api_tasks.c - the API's task endpoints (docs/api.md, "Tasks"): create
 * (responder), list and show (viewer), cancel and download a result
 * (responder).  The specification inside a create body is handed to
 * transport/task.c as the very bytes the client sent (pk_task_parse, the
 * one parser agent and hub share), found with the bounded JSON reader;
 * the rest of the body (targets, expiry) is read with jansson, duplicate
 * keys refused; an "incident" id links the new task to that incident
 * (hub/incidents.h).  Every create, cancel and download is one audit row
 * with what it did, besides the API's own row for each write.  The handlers
 * run on the hub's loop: their queries are bounded (a task has at most
 * 10,000 hosts, a list at most HUB_LIMIT_MAX tasks).  Called through
 * the route table in hub/api.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "hub/api.h"
#include "hub/incidents.h"
#include "hub/jsonread.h"
#include "hub/tasks.h"

#define SINCE_MAX_S	(366ULL * 86400)	/* reported since: a year */

/* ---- create */

/* An array of 1..max strings: a calloc'ed vector into the JSON's own
 * strings (valid while the JSON lives).  0, or -1 with err. */
static int
str_array(json_t *a, const char *what, size_t max, const char ***out,
    size_t *n, char *err, size_t errlen)
{
	const char **v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > max) {
		snprintf(err, errlen, "targets: %s: an array of 1 to %zu "
		    "strings", what, max);
		return -1;
	}
	if ((v = calloc(json_array_size(a), sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < json_array_size(a); i++) {
		if (!json_is_string(json_array_get(a, i))) {
			free(v);
			snprintf(err, errlen, "targets: %s: entry %zu is not a "
			    "string", what, i + 1);
			return -1;
		}
		v[i] = json_string_value(json_array_get(a, i));
	}
	*out = v;
	*n = i;
	return 0;
}

/* "reported": {"rule"|"fingerprint"|"ioc": value, "since": "1h"} */
static int
reported(json_t *o, int64_t now_us, struct hub_task_targets *tg, char *err,
    size_t errlen)
{
	static const char *const kinds[] = { "rule", "fingerprint", "ioc" };
	const char *key, *why;
	json_t *v;
	uint64_t since = 3600;
	int i, k;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "targets: reported: an object");
		return -1;
	}
	json_object_foreach(o, key, v) {
		for (k = -1, i = 0; i < 3; i++)
			if (strcmp(key, kinds[i]) == 0)
				k = i;
		if (k >= 0) {
			if (tg->reported >= 0 || !json_is_string(v)) {
				snprintf(err, errlen, "targets: reported: one "
				    "of rule, fingerprint, ioc, a string");
				return -1;
			}
			tg->reported = k;
			tg->value = json_string_value(v);
		} else if (strcmp(key, "since") == 0) {
			if (!json_is_string(v) || pk_parse_duration(
			    json_string_value(v), 1, SINCE_MAX_S, &since,
			    &why) == -1) {
				snprintf(err, errlen, "targets: reported: "
				    "since: a duration up to 366d");
				return -1;
			}
		} else {
			snprintf(err, errlen, "targets: reported: unknown key "
			    "\"%.40s\"", key);
			return -1;
		}
	}
	if (tg->reported < 0) {
		snprintf(err, errlen, "targets: reported: name a rule, "
		    "fingerprint or ioc");
		return -1;
	}
	tg->since_s = since;
	tg->since_us = now_us - (int64_t)since * 1000000;
	return 0;
}

static int
targets(json_t *o, int64_t now_us, struct hub_task_targets *tg, char *err,
    size_t errlen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "targets: an object");
		return -1;
	}
	json_object_foreach(o, key, v) {
		if (strcmp(key, "agents") == 0) {
			if (str_array(v, "agents", HUB_TASK_TARGETS_MAX,
			    (const char ***)&tg->agents, &tg->nagents, err,
			    errlen) == -1)
				return -1;
		} else if (strcmp(key, "tags") == 0) {
			if (str_array(v, "tags", 64, (const char ***)&tg->tags,
			    &tg->ntags, err, errlen) == -1)
				return -1;
		} else if (strcmp(key, "reported") == 0) {
			if (reported(v, now_us, tg, err, errlen) == -1)
				return -1;
		} else {
			snprintf(err, errlen, "targets: unknown key \"%.40s\"",
			    key);
			return -1;
		}
	}
	return 0;
}

/* expires_in: "1h" or seconds. */
static int
expires_in(json_t *v, uint64_t *s, char *err, size_t errlen)
{
	const char *why;

	*s = HUB_TASK_EXPIRES_DEF;
	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 1 &&
	    json_integer_value(v) <= HUB_TASK_EXPIRES_MAX) {
		*s = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && pk_parse_duration(json_string_value(v), 1,
	    HUB_TASK_EXPIRES_MAX, s, &why) == 0)
		return 0;
	snprintf(err, errlen, "expires_in: a duration from 1s to 30d");
	return -1;
}

/*
 * "incident": the id of an incident the new task is linked to; it must
 * exist before the task is made.  *id 0 when the body names none.  0; 1
 * refused (err); -1 store.
 */
static int
incident_arg(struct hub_store *st, json_t *v, int64_t *id, char *err,
    size_t errlen)
{
	int found;

	*id = 0;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		snprintf(err, errlen, "incident: an incident id");
		return 1;
	}
	*id = (int64_t)json_integer_value(v);
	if (hub_incident_exists(st, *id, &found) == -1) {
		snprintf(err, errlen, "incident: store unavailable");
		return -1;
	}
	if (!found) {
		snprintf(err, errlen, "incident: no incident %lld",
		    (long long)*id);
		return 1;
	}
	return 0;
}

/* The spec's own bytes in the body, for pk_task_parse. */
static int
spec_span(const struct hub_api_req *r, struct pk_jr_val *v, char *err,
    size_t errlen)
{
	if (pk_jr_find(r->body, r->body_len, "task", v) != 1 ||
	    v->type != PK_JR_OBJECT) {
		snprintf(err, errlen, "task: an object (the specification, "
		    "docs/tasks.md)");
		return -1;
	}
	return 0;
}

json_t *
hub_api_task_create(struct hub_api_req *r, int *status)
{
	struct hub_task_targets tg;
	struct pk_jr_val sv;
	json_t *body = NULL, *v;
	const char *key;
	char err[HUB_TASK_ERR_MAX], target[HUB_TASK_ERR_MAX + 32];
	uint64_t exp_s = 0;
	int64_t id = 0, inc = 0;
	size_t nhosts = 0;
	int rc = 1, dup = 0;

	memset(&tg, 0, sizeof(tg));
	tg.reported = -1;
	err[0] = '\0';
	if (r->body == NULL || r->body_len == 0) {
		snprintf(err, sizeof(err), "a JSON body is required");
		goto refuse;
	}
	/* The specification first, with the shared parser's own words. */
	if (spec_span(r, &sv, err, sizeof(err)) == -1)
		goto refuse;
	{
		struct pk_task_spec ts;
		char perr[HUB_TASK_ERR_MAX - 8];

		if (pk_task_parse(sv.p, sv.len, &ts, perr, sizeof(perr)) ==
		    -1) {
			hub_task_reason_clean(perr);
			snprintf(err, sizeof(err), "task: %s", perr);
			goto refuse;
		}
	}
	if ((body = hub_api_body_object(r, NULL, err, sizeof(err))) == NULL)
		goto refuse;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "task") != 0 && strcmp(key, "targets") != 0 &&
		    strcmp(key, "expires_in") != 0 &&
		    strcmp(key, "incident") != 0) {
			snprintf(err, sizeof(err), "unknown key \"%.40s\"",
			    key);
			goto refuse;
		}
	}
	if ((v = json_object_get(body, "targets")) == NULL) {
		snprintf(err, sizeof(err), "targets: required");
		goto refuse;
	}
	if (targets(v, r->now_us, &tg, err, sizeof(err)) == -1 ||
	    expires_in(json_object_get(body, "expires_in"), &exp_s, err,
	    sizeof(err)) == -1)
		goto refuse;
	if ((rc = incident_arg(r->st, json_object_get(body, "incident"), &inc,
	    err, sizeof(err))) != 0)
		goto refuse;
	rc = hub_task_create(r->st, sv.p, sv.len, &tg, r->now_us +
	    (int64_t)exp_s * 1000000, r->actor, r->now_us, &id, &nhosts, err,
	    sizeof(err));
	if (rc != 0)
		goto refuse;
	if (hub_api_tasks(r->api) != NULL)
		hub_tasks_poll(hub_api_tasks(r->api));	/* START now */
	snprintf(target, sizeof(target), "task %lld (%zu hosts)",
	    (long long)id, nhosts);
	hub_api_audit(r, "task.create", target, "ok");
	if (inc != 0) {
		/* The task exists and runs whatever happens here: a failed
		 * link is logged and said in the answer, not a refusal. */
		char tid[24];

		snprintf(tid, sizeof(tid), "%lld", (long long)id);
		rc = hub_incident_link(r->st, inc, HUB_LINK_TASK, tid,
		    r->actor, r->now_us, &dup, err, sizeof(err));
		snprintf(target, sizeof(target), "incident/%lld task %lld",
		    (long long)inc, (long long)id);
		hub_api_audit(r, "incident.link", target, rc == 0 ? "ok" :
		    rc == 1 ? "400" : rc == 2 ? "404" : "500");
		if (rc != 0) {
			log_warnx("task %lld: not linked to incident %lld: %s",
			    (long long)id, (long long)inc, err);
			inc = 0;
		}
	}
	free((void *)tg.agents);
	free((void *)tg.tags);
	json_decref(body);
	*status = 201;
	snprintf(target, sizeof(target), "/api/v1/tasks/%lld", (long long)id);
	return json_pack("{s:I,s:I,s:s,s:o}", "id", (json_int_t)id, "hosts",
	    (json_int_t)nhosts, "url", target, "incident", inc != 0 ?
	    json_integer((json_int_t)inc) : json_null());
refuse:
	hub_api_audit(r, "task.create", err, rc == -1 ? "500" : "400");
	free((void *)tg.agents);
	free((void *)tg.tags);
	json_decref(body);
	return hub_api_error(status, rc == -1 ? 500 : 400, "%s", err);
}

/* ---- list and show */

static json_t *
task_json(struct hub_store *st, const struct hub_task *t, int *oom)
{
	uint64_t counts[PK_TS_NSTATES], total = 0;
	json_error_t je;
	json_t *o, *states, *spec;
	int i;

	if (st->ops->task_counts(st, t->id, counts) == -1)
		memset(counts, 0, sizeof(counts));
	if ((states = json_object()) == NULL) {
		*oom = 1;
		return NULL;
	}
	for (i = 1; i < PK_TS_NSTATES; i++) {
		total += counts[i];
		json_object_set_new(states, pk_task_state_name(i),
		    hub_api_jint(counts[i]));
	}
	if ((spec = json_loadb(t->spec, t->spec_len, 0, &je)) == NULL)
		spec = json_null();
	o = json_pack("{s:I,s:s,s:o,s:o,s:s,s:o,s:o,s:s,s:o,s:o,s:b}",
	    "id", (json_int_t)t->id, "type", pk_task_type_name(t->type),
	    "spec", spec, "created", hub_api_jtime(t->created_us),
	    "created_by", t->created_by,
	    "expires", hub_api_jtime(t->expires_us),
	    "cancelled", hub_api_jtime(t->cancelled_us),
	    "targets", t->targets, "hosts", hub_api_jint(total),
	    "states", states, "finished",
	    total > 0 && counts[PK_TS_QUEUED] + counts[PK_TS_SENT] +
	    counts[PK_TS_RUNNING] == 0);
	if (o == NULL)
		*oom = 1;
	return o;
}

struct list_ctx {
	struct hub_store	*st;
	struct hub_page		 page;
};

static int
list_row(void *arg, const struct hub_task *t)
{
	struct list_ctx *x = arg;

	if (!hub_page_take(&x->page))
		return 1;
	return hub_page_put(&x->page, task_json(x->st, t, &x->page.oom),
	    t->id);
}

json_t *
hub_api_task_list(struct hub_api_req *r, int *status)
{
	struct list_ctx x;
	json_t *bad;

	x.st = r->st;
	if ((bad = hub_page_begin(r, &x.page, status)) != NULL)
		return bad;
	return hub_page_end(&x.page, r->st->ops->task_list(r->st,
	    x.page.before, x.page.want + 1, list_row, &x), "tasks", status);
}

static int
cmp_id(const void *key, const void *elt)
{
	return strcmp(key, *(const char *const *)elt);
}

struct show_ctx {
	json_t		*task;
	struct hub_store *st;
	json_t		*hosts;
	const char	**ids;
	size_t		 nids;
	int		 oom;
};

static int
show_task(void *arg, const struct hub_task *t)
{
	struct show_ctx *x = arg;

	x->task = task_json(x->st, t, &x->oom);
	return 0;
}

static int
show_host(void *arg, const struct hub_task_host *h)
{
	struct show_ctx *x = arg;
	char url[HUB_ID_MAX * 3 + 64];
	json_t *o;

	snprintf(url, sizeof(url), "/api/v1/tasks/%lld/results/%s",
	    (long long)h->task_id, h->agent_id);
	o = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:b,s:o}",
	    "agent_id", h->agent_id, "host_name", h->host_name,
	    "state", pk_task_state_name(h->state), "reason", h->reason,
	    "bytes", hub_api_jint(h->bytes),
	    "final_bytes", hub_api_jint(h->final_bytes),
	    "rows", hub_api_jint(h->rows),
	    "updated", hub_api_jtime(h->updated_us),
	    "connected", x->nids > 0 && bsearch(h->agent_id, x->ids, x->nids,
	    sizeof(*x->ids), cmp_id) != NULL,
	    "result", h->bytes > 0 ? json_string(url) : json_null());
	if (o == NULL || json_array_append_new(x->hosts, o) == -1) {
		x->oom = 1;
		return 1;
	}
	return 0;
}

json_t *
hub_api_task_get(struct hub_api_req *r, int *status)
{
	struct show_ctx x;
	int64_t id = hub_api_path_id(r->arg);
	int found = 0, rc;

	if (id == 0)
		return hub_api_error(status, 404, "no task %.40s", r->arg);
	memset(&x, 0, sizeof(x));
	x.st = r->st;
	if (r->st->ops->task_get(r->st, id, show_task, &x, &found) == -1)
		return hub_api_error(status, 500, "store unavailable");
	if (!found || x.task == NULL) {
		json_decref(x.task);
		return found ? hub_api_error(status, 500, "out of memory") :
		    hub_api_error(status, 404, "no task %lld", (long long)id);
	}
	if ((x.hosts = json_array()) == NULL) {
		json_decref(x.task);
		return hub_api_error(status, 500, "out of memory");
	}
	x.nids = hub_listener_ready_ids(hub_api_listener(r->api), &x.ids);
	rc = r->st->ops->task_hosts(r->st, id, show_host, &x);
	free(x.ids);
	if (rc == -1 || x.oom) {
		json_decref(x.task);
		json_decref(x.hosts);
		return hub_api_error(status, 500, "store unavailable");
	}
	*status = 200;
	return json_pack("{s:o,s:o}", "task", x.task, "hosts", x.hosts);
}

/* ---- cancel */

json_t *
hub_api_task_cancel(struct hub_api_req *r, int *status)
{
	char target[64], reason[HUB_TASK_REASON_MAX + 1];
	int64_t id = hub_api_path_id(r->arg);
	uint64_t changed = 0;
	int found = 0, rc;

	if (id == 0)
		return hub_api_error(status, 404, "no task %.40s", r->arg);
	snprintf(target, sizeof(target), "task %lld", (long long)id);
	if (hub_api_tasks(r->api) != NULL) {
		rc = hub_tasks_cancel(hub_api_tasks(r->api), id, r->actor,
		    &found, &changed);
	} else {
		snprintf(reason, sizeof(reason), "cancelled by %s", r->actor);
		rc = r->st->ops->task_cancel(r->st, id, r->now_us, reason,
		    &found, &changed);
	}
	hub_api_audit(r, "task.cancel", target, rc == -1 ? "500" :
	    found ? "ok" : "404");
	if (rc == -1)
		return hub_api_error(status, 500, "store unavailable");
	if (!found)
		return hub_api_error(status, 404, "no task %lld",
		    (long long)id);
	*status = 200;
	return json_pack("{s:I,s:o}", "id", (json_int_t)id, "cancelled",
	    hub_api_jint(changed));
}

/* ---- download */

static int
type_row(void *arg, const struct hub_task *t)
{
	*(int *)arg = t->type;
	return 0;
}

json_t *
hub_api_task_result(struct hub_api_req *r, int *status)
{
	struct hub_task_host h;
	struct stat sb;
	char path[HUB_PATH_MAX + 256], target[128], name[3 * HUB_ID_MAX + 1];
	char *disp;
	const char *base;
	int64_t id = hub_api_path_id(r->arg);
	int found = 0, type = 0, fd;

	if (id == 0)
		return hub_api_error(status, 404, "no task %.40s", r->arg);
	snprintf(target, sizeof(target), "task %lld host %.64s",
	    (long long)id, r->arg2);
	if (r->st->ops->task_get(r->st, id, type_row, &type, &found) == -1 ||
	    (found && r->st->ops->task_host_get(r->st, id, r->arg2, &h,
	    &found) == -1)) {
		hub_api_audit(r, "task.download", target, "500");
		return hub_api_error(status, 500, "store unavailable");
	}
	if (!found) {
		hub_api_audit(r, "task.download", target, "404");
		return hub_api_error(status, 404, "task %lld has no host "
		    "%.64s", (long long)id, r->arg2);
	}
	if (hub_task_result_path(hub_api_results_dir(r->api), id, h.agent_id,
	    type, path, sizeof(path)) == -1) {
		hub_api_audit(r, "task.download", target, "500");
		return hub_api_error(status, 500, "result path too long");
	}
	fd = h.bytes > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd == -1 || fstat(fd, &sb) == -1 ||
	    (uint64_t)sb.st_size < h.bytes) {
		if (fd != -1)
			close(fd);
		hub_api_audit(r, "task.download", target, "404");
		return hub_api_error(status, 404, "task %lld on %.64s has no "
		    "result bytes (%s)", (long long)id, h.agent_id,
		    pk_task_state_name(h.state));
	}
	/* The stored size: a longer file holds bytes not yet counted. */
	base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	pk_strlcpy(name, base, sizeof(name));
	if ((disp = malloc(sizeof(name) + 64)) == NULL) {
		close(fd);
		return hub_api_error(status, 500, "out of memory");
	}
	snprintf(disp, sizeof(name) + 64, "attachment; filename=\"task-%lld-"
	    "%s\"", (long long)id, name);
	r->text = disp;
	r->disposition = disp;
	r->file_fd = fd;
	r->file_len = h.bytes;
	r->content_type = type == PK_TASK_PCAP ?
	    "application/vnd.tcpdump.pcap" : "application/x-ndjson";
	hub_api_audit(r, "task.download", target, "ok");
	*status = 200;
	return NULL;
}
