/*
 * api_incidents.c - the API's incident endpoints (docs/incidents.md):
 * list, show and the after-action report (viewer; the report also as a
 * PDF download), create, change, note and link (responder).  Bodies are
 * read strictly: one JSON object, duplicate keys refused, every key
 * known and of the right type and size, so that a client's typo is a 400
 * naming the field instead of a silently ignored change.  The logic and
 * the store are hub/incidents.c's; this file only translates HTTP to its
 * calls and its return codes (1 refused, 2 no such incident, -1 store)
 * back to 400, 404 and 500.  Every write, refused or not, is one audit
 * row ("incident.create", "incident.update", "incident.note",
 * "incident.link", target "incident/<id>"), besides the API's own row.
 * The handlers run on the hub's loop; incidents.c bounds its scans.
 * Called through the route table in hub/api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "hub/api.h"
#include "hub/incidents.h"

#define TARGET_MAX	(HUB_INC_ERR_MAX + 64)	/* hub_audit cuts it */
#define DISP_MAX	96	/* "attachment; filename=..." */

/* ------------------------------------------------------------ helpers */

/*
 * Field key of o as a string of min..max bytes into *out (NULL when the
 * field is absent).  0, or -1 with err.
 */
static int
str_field(json_t *o, const char *key, size_t min, size_t max,
    const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s: a string", key);
		return -1;
	}
	n = json_string_length(v);
	if (n < min || n > max) {
		snprintf(err, errlen, "%s: %zu to %zu bytes", key, min, max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* The 4xx/5xx of a call of incidents.c that returned rc (1, 2, -1). */
static json_t *
refusal(int *status, int rc, int64_t id, const char *err)
{
	if (rc == 2)
		return hub_api_error(status, 404, "no incident %lld",
		    (long long)id);
	if (rc == 1)
		return hub_api_error(status, 400, "%s", err);
	return hub_api_error(status, 500, "%s", err[0] != '\0' ? err :
	    "store unavailable");
}

static const char *
result_of(int rc)
{
	return rc == 0 ? "ok" : rc == 1 ? "400" : rc == 2 ? "404" : "500";
}

/* A refused change of incident id: its audit row, then its answer. */
static json_t *
refused(struct hub_api_req *r, int *status, const char *action, int64_t id,
    int rc, const char *err)
{
	char target[TARGET_MAX];

	snprintf(target, sizeof(target), "incident/%lld: %s", (long long)id,
	    err);
	hub_api_audit(r, action, target, result_of(rc));
	return refusal(status, rc, id, err);
}

/* The record as it is now, for answers that show the change. */
static json_t *
record(struct hub_api_req *r, int64_t id, int ok_status, int *status)
{
	char err[HUB_INC_ERR_MAX];
	json_t *o;
	int found = 0;

	err[0] = '\0';
	o = hub_incident_get(r->st, id, r->now_us, &found, err, sizeof(err));
	if (o == NULL)
		return found || err[0] != '\0' ? hub_api_error(status, 500,
		    "%s", err[0] != '\0' ? err : "out of memory") :
		    hub_api_error(status, 404, "no incident %lld",
		    (long long)id);
	*status = ok_status;
	return o;
}

/* ------------------------------------------------------------ reads */

json_t *
hub_api_incident_list(struct hub_api_req *r, int *status)
{
	char err[HUB_INC_ERR_MAX];
	const char *v;
	uint64_t limit;
	int64_t before;
	json_t *o;
	int state = -1;

	if ((o = hub_api_page_args(r, &limit, &before, status)) != NULL)
		return o;
	if ((v = hub_api_param(r, "state")) != NULL &&
	    (state = hub_inc_state_parse(v)) < 0)
		return hub_api_error(status, 400, "state: one of open, "
		    "contained, closed");
	err[0] = '\0';
	if ((o = hub_incident_list(r->st, before, limit, state, err,
	    sizeof(err))) == NULL)
		return hub_api_error(status, 500, "%s", err[0] != '\0' ? err :
		    "store unavailable");
	*status = 200;
	return o;
}

json_t *
hub_api_incident_get(struct hub_api_req *r, int *status)
{
	int64_t id = hub_api_path_id(r->arg);

	if (id == 0)
		return hub_api_error(status, 404, "no incident %.40s", r->arg);
	return record(r, id, 200, status);
}

/*
 * The report: JSON, or ?format=pdf as a download.  The PDF's bytes are
 * the text answer (text_len), the Content-Disposition after them in the
 * same allocation, so that the API frees both at once.
 */
json_t *
hub_api_incident_report(struct hub_api_req *r, int *status)
{
	char err[HUB_INC_ERR_MAX], *buf;
	const char *fmt = hub_api_param(r, "format");
	unsigned char *pdf = NULL;
	size_t len = 0;
	int64_t id = hub_api_path_id(r->arg);
	json_t *rep;
	int found = 0;

	if (fmt != NULL && strcmp(fmt, "json") != 0 && strcmp(fmt, "pdf") !=
	    0)
		return hub_api_error(status, 400, "format: json or pdf");
	if (id == 0)
		return hub_api_error(status, 404, "no incident %.40s", r->arg);
	err[0] = '\0';
	rep = hub_incident_report(r->st, id, r->now_us, &found, err,
	    sizeof(err));
	if (rep == NULL)
		return found || err[0] != '\0' ? hub_api_error(status, 500,
		    "%s", err[0] != '\0' ? err : "out of memory") :
		    hub_api_error(status, 404, "no incident %lld",
		    (long long)id);
	if (fmt == NULL || strcmp(fmt, "json") == 0) {
		*status = 200;
		return rep;
	}
	if (hub_report_pdf(rep, &pdf, &len, err, sizeof(err)) == -1 ||
	    len == 0) {
		json_decref(rep);
		free(pdf);
		return hub_api_error(status, 500, "pdf: %s", err[0] != '\0' ?
		    err : "empty");
	}
	json_decref(rep);
	if ((buf = malloc(len + DISP_MAX)) == NULL) {
		free(pdf);
		return hub_api_error(status, 500, "out of memory");
	}
	memcpy(buf, pdf, len);
	free(pdf);
	snprintf(buf + len, DISP_MAX, "attachment; filename=\"incident-%lld."
	    "pdf\"", (long long)id);
	r->text = buf;
	r->text_len = len;
	r->disposition = buf + len;
	r->content_type = "application/pdf";
	*status = 200;
	return NULL;
}

/* ------------------------------------------------------------ writes */

json_t *
hub_api_incident_create(struct hub_api_req *r, int *status)
{
	char err[HUB_INC_ERR_MAX], target[TARGET_MAX], url[64];
	const char *title = NULL, *owner = NULL, *outbreak = NULL;
	const char *since = NULL;
	int64_t since_us = 0, id = 0;
	json_t *body;
	int rc = 1;

	err[0] = '\0';
	if ((body = hub_api_body_object(r, "title owner outbreak since", err,
	    sizeof(err))) == NULL)
		goto refuse;
	if (json_object_get(body, "title") == NULL) {
		snprintf(err, sizeof(err), "title: required");
		goto refuse;
	}
	if (str_field(body, "title", 1, HUB_INC_TITLE_MAX, &title, err,
	    sizeof(err)) == -1 ||
	    str_field(body, "owner", 0, HUB_INC_OWNER_MAX, &owner, err,
	    sizeof(err)) == -1 ||
	    str_field(body, "outbreak", 1, HUB_INC_LINK_MAX, &outbreak, err,
	    sizeof(err)) == -1 ||
	    str_field(body, "since", 1, 64, &since, err, sizeof(err)) == -1)
		goto refuse;
	if (since != NULL && (hub_time_arg(since, r->now_us, &since_us) ==
	    -1 || since_us <= 0 || since_us > r->now_us)) {
		snprintf(err, sizeof(err), "since: RFC 3339 time "
		    "(2026-01-02T03:04:05Z) or a duration (48h), not in the "
		    "future");
		goto refuse;
	}
	rc = hub_incident_create(r->st, title, owner, outbreak, since_us,
	    r->actor, r->now_us, &id, err, sizeof(err));
	if (rc != 0)
		goto refuse;
	json_decref(body);
	snprintf(target, sizeof(target), "incident/%lld", (long long)id);
	hub_api_audit(r, "incident.create", target, "ok");
	snprintf(url, sizeof(url), "/api/v1/incidents/%lld", (long long)id);
	*status = 201;
	return json_pack("{s:I,s:s}", "id", (json_int_t)id, "url", url);
refuse:
	json_decref(body);
	snprintf(target, sizeof(target), "incident: %s", err);
	hub_api_audit(r, "incident.create", target,
	    result_of(rc == 0 ? 1 : rc));
	return refusal(status, rc == 0 ? 1 : rc, 0, err);
}

json_t *
hub_api_incident_patch(struct hub_api_req *r, int *status)
{
	char err[HUB_INC_ERR_MAX], target[TARGET_MAX];
	const char *title = NULL, *owner = NULL, *state = NULL;
	const char *lessons = NULL;
	int64_t id = hub_api_path_id(r->arg);
	json_t *body = NULL;
	int rc = 1;

	if (id == 0)
		return hub_api_error(status, 404, "no incident %.40s", r->arg);
	err[0] = '\0';
	if ((body = hub_api_body_object(r, "title owner state lessons", err,
	    sizeof(err))) == NULL)
		goto refuse;
	if (json_object_size(body) == 0) {
		snprintf(err, sizeof(err), "name at least one of title, "
		    "owner, state, lessons");
		goto refuse;
	}
	if (str_field(body, "title", 1, HUB_INC_TITLE_MAX, &title, err,
	    sizeof(err)) == -1 ||
	    str_field(body, "owner", 0, HUB_INC_OWNER_MAX, &owner, err,
	    sizeof(err)) == -1 ||
	    str_field(body, "state", 1, 16, &state, err, sizeof(err)) == -1 ||
	    str_field(body, "lessons", 0, HUB_INC_LESSONS_MAX, &lessons, err,
	    sizeof(err)) == -1)
		goto refuse;
	if (state != NULL && hub_inc_state_parse(state) < 0) {
		snprintf(err, sizeof(err), "state: one of open, contained, "
		    "closed");
		goto refuse;
	}
	rc = hub_incident_update(r->st, id, title, owner, state, lessons,
	    r->actor, r->now_us, err, sizeof(err));
	if (rc != 0)
		goto refuse;
	/* what changed, by name: the values are in the incident's events */
	snprintf(target, sizeof(target), "incident/%lld%s%s%s%s%s",
	    (long long)id, title != NULL ? " title" : "", owner != NULL ?
	    " owner" : "", state != NULL ? " state=" : "", state != NULL ?
	    state : "", lessons != NULL ? " lessons" : "");
	json_decref(body);	/* state pointed into it */
	hub_api_audit(r, "incident.update", target, "ok");
	return record(r, id, 200, status);
refuse:
	json_decref(body);
	return refused(r, status, "incident.update", id, rc, err);
}

json_t *
hub_api_incident_note(struct hub_api_req *r, int *status)
{
	char err[HUB_INC_ERR_MAX], target[TARGET_MAX];
	const char *text = NULL;
	int64_t id = hub_api_path_id(r->arg);
	json_t *body = NULL;
	int rc = 1;

	if (id == 0)
		return hub_api_error(status, 404, "no incident %.40s", r->arg);
	err[0] = '\0';
	if ((body = hub_api_body_object(r, "text", err, sizeof(err))) == NULL)
		goto refuse;
	if (json_object_get(body, "text") == NULL) {
		snprintf(err, sizeof(err), "text: required");
		goto refuse;
	}
	if (str_field(body, "text", 1, HUB_INC_NOTE_MAX, &text, err,
	    sizeof(err)) == -1)
		goto refuse;
	rc = hub_incident_note(r->st, id, text, r->actor, r->now_us, err,
	    sizeof(err));
	if (rc != 0)
		goto refuse;
	json_decref(body);
	snprintf(target, sizeof(target), "incident/%lld", (long long)id);
	hub_api_audit(r, "incident.note", target, "ok");
	*status = 201;
	return json_pack("{s:I}", "incident", (json_int_t)id);
refuse:
	json_decref(body);
	return refused(r, status, "incident.note", id, rc, err);
}

json_t *
hub_api_incident_link(struct hub_api_req *r, int *status)
{
	char err[HUB_INC_ERR_MAX], target[TARGET_MAX];
	const char *kind = NULL, *value = NULL;
	int64_t id = hub_api_path_id(r->arg);
	json_t *body = NULL, *o;
	int rc = 1, k = -1, dup = 0;

	if (id == 0)
		return hub_api_error(status, 404, "no incident %.40s", r->arg);
	err[0] = '\0';
	if ((body = hub_api_body_object(r, "kind value", err,
	    sizeof(err))) == NULL)
		goto refuse;
	if (json_object_get(body, "kind") == NULL ||
	    json_object_get(body, "value") == NULL) {
		snprintf(err, sizeof(err), "%s: required",
		    json_object_get(body, "kind") == NULL ? "kind" : "value");
		goto refuse;
	}
	if (str_field(body, "kind", 1, 16, &kind, err, sizeof(err)) == -1 ||
	    str_field(body, "value", 1, HUB_INC_LINK_MAX, &value, err,
	    sizeof(err)) == -1)
		goto refuse;
	if ((k = hub_inc_link_parse(kind)) < 0) {
		snprintf(err, sizeof(err), "kind: one of outbreak, indicator, "
		    "host, task");
		goto refuse;
	}
	rc = hub_incident_link(r->st, id, k, value, r->actor, r->now_us, &dup,
	    err, sizeof(err));
	if (rc != 0)
		goto refuse;
	/* the value was accepted by incidents.c: it names something the
	 * hub knows, so it is fit for the log */
	snprintf(target, sizeof(target), "incident/%lld %s %s",
	    (long long)id, hub_inc_link_name(k), value);
	hub_api_audit(r, "incident.link", target,
	    dup ? "linked already" : "ok");
	*status = dup ? 200 : 201;
	o = json_pack("{s:I,s:s,s:s,s:b}", "incident",
	    (json_int_t)id, "kind", hub_inc_link_name(k), "value", value,
	    "linked_already", dup);
	json_decref(body);
	return o;
refuse:
	json_decref(body);
	return refused(r, status, "incident.link", id, rc, err);
}
