/*
 * api.h - picket-hub's HTTPS JSON API (docs/api.md): evhttp on the same
 * libevent event_base as the agent listener, TLS 1.3 through
 * transport/tls.c, bearer tokens with roles (hub/auth.h), an audit row
 * for every admin or write action, JSON through jansson.
 *
 * Adding an endpoint is one line in the route table in api.c:
 *
 *	{ "GET", "/api/v1/outbreaks", HUB_ROLE_VIEWER, api_outbreaks,
 *	  "since window limit" },
 *
 * method, path ("{id}" matches one segment, handed over as r->arg), the
 * least role that may call it (HUB_ROLE_NONE: no token), the handler,
 * and the query parameters it takes (space separated; any other is a
 * 400 before the handler runs).  A handler is
 *
 *	json_t *handler(struct hub_api_req *r, int *status);
 *
 * it reads r (store, caller, parameters) and returns the JSON body (the
 * API sends and frees it) with *status set, 200 unless it says
 * otherwise; hub_api_error() makes the {"error": "..."} body.  It runs on
 * the event loop, so it must not block for long (bounded queries).
 * Called by hub/main.c (`picket-hub serve`).
 */
#ifndef PICKET_HUB_API_H
#define PICKET_HUB_API_H

#include <jansson.h>

#include "common/log.h"
#include "hub/apiparam.h"
#include "hub/config.h"
#include "hub/ingest.h"
#include "hub/listener.h"
#include "hub/store.h"

struct hub_api;
struct event_base;

/* What a handler gets. */
struct hub_api_req {
	struct hub_store	*st;
	struct hub_api		*api;		/* hub_api_listener() ... */
	int			 role;		/* caller's; NONE without token */
	const char		*actor;		/* token name, "" without */
	const char		*remote;	/* "address:port" */
	const char		*arg;		/* the {id} segment, decoded */
	const char		*arg2;		/* a second {...}, or "" */
	const struct hub_params	*params;	/* checked names, decoded */
	int64_t			 now_us;	/* wall clock at the request */
	/* The request body (at most [api] max_body bytes), not
	 * NUL-terminated; NULL and 0 when there is none. */
	const char		*body;
	size_t			 body_len;
	/* A handler that answers with text instead of JSON sets these and
	 * returns NULL (the API frees text).  text_len 0: text is a string
	 * (strlen); else its length in bytes (a PDF).  A disposition (see
	 * below) goes with text too; it must live as long as text. */
	char			*text;
	size_t			 text_len;
	const char		*content_type;
	/* ... or with a file: an open descriptor (the API closes it),
	 * the bytes to send from its start, and a Content-Disposition
	 * (NULL: none) kept in text, which the API frees. */
	int			 file_fd;	/* -1: no file */
	uint64_t		 file_len;
	const char		*disposition;
};

typedef json_t *(*hub_api_fn)(struct hub_api_req *r, int *status);

struct hub_route {
	const char	*method;
	const char	*path;
	int		 role;		/* enum hub_role */
	hub_api_fn	 fn;
	const char	*params;	/* space separated; NULL = none */
};

/* A parameter's value, or NULL. */
const char *hub_api_param(const struct hub_api_req *r, const char *key);

/* {"error": fmt...} with *status = code. */
json_t *hub_api_error(int *status, int code, const char *fmt, ...)
    PK_PRINTF(3, 4);

/*
 * Small helpers the handler files (api.c, api_tasks.c, api_incidents.c,
 * api_peers.c) share, so that every answer writes times and counts the
 * same way and every handler's audit row has the same shape.
 */
/* RFC 3339 text of a µs time, or JSON null for 0 (or less). */
json_t *hub_api_jtime(int64_t us);
/* A count as a JSON integer, capped at INT64_MAX. */
json_t *hub_api_jint(uint64_t v);
/* The handler's own audit row: r's caller, role and address, action on
 * target with result ("ok", "404", ...).  A failed write is not the
 * caller's concern, so nothing is returned. */
void hub_api_audit(struct hub_api_req *r, const char *action,
    const char *target, const char *result);
/* An id from the path (r->arg): 1..INT64_MAX, else 0. */
int64_t hub_api_path_id(const char *s);
/* The body read strictly: one JSON object, duplicate keys refused, every
 * key one of allowed (space separated; NULL: any key).  The object, or
 * NULL with err (a 400's message). */
json_t *hub_api_body_object(const struct hub_api_req *r, const char *allowed,
    char *err, size_t errlen);
/* ?limit and ?cursor (an id, 0 when absent) of a paged list: NULL, or
 * the 400 answer. */
json_t *hub_api_page_args(struct hub_api_req *r, uint64_t *limit,
    int64_t *before, int *status);

/*
 * A page of an id-ordered list (newest first): ?limit and ?cursor (the
 * last id of the previous page).  begin reads them (NULL on success, else
 * the 400 answer) and makes arr; each row callback calls take() and, if
 * it returns 1, appends its object with put(); end answers {key: [...],
 * "next_cursor": ...} or the 500 that a failed store or allocation calls
 * for (store_rc is the store's return).
 */
struct hub_page {
	json_t		*arr;
	uint64_t	 want, rows;
	int64_t		 before, last_id;
	int		 more, oom;
};
json_t *hub_page_begin(struct hub_api_req *r, struct hub_page *p,
    int *status);
int hub_page_take(struct hub_page *p);
int hub_page_put(struct hub_page *p, json_t *o, int64_t id);
json_t *hub_page_end(struct hub_page *p, int store_rc, const char *key,
    int *status);

const struct hub_listener *hub_api_listener(const struct hub_api *a);
struct hub_tasks;
/* Targeted collection (hub/tasks.c): the serving side, set by main. */
void hub_api_set_tasks(struct hub_api *a, struct hub_tasks *t);
struct hub_tasks *hub_api_tasks(const struct hub_api *a);
struct hub_peering;
/* Member hubs (hub/peering.c): its counters go to /metrics. */
void hub_api_set_peering(struct hub_api *a, struct hub_peering *p);
struct hub_sharing;
/* [sharing] of c into sh (name: its identity, namecap bytes, which must
 * outlive sh), with the pseudonym key of data_dir/sharing.key, made on
 * first use.  0, or -1 (logged).  The API's STIX export and the peering
 * pusher both call this. */
int hub_api_sharing_load(struct hub_sharing *sh, char *name, size_t namecap,
    const struct hub_config *c);
/* Where task results live ([tasks] results_dir or data_dir/tasks). */
const char *hub_api_results_dir(const struct hub_api *a);

/* The task endpoints (hub/api_tasks.c, docs/api.md). */
json_t *hub_api_task_create(struct hub_api_req *r, int *status);
json_t *hub_api_task_list(struct hub_api_req *r, int *status);
json_t *hub_api_task_get(struct hub_api_req *r, int *status);
json_t *hub_api_task_cancel(struct hub_api_req *r, int *status);
json_t *hub_api_task_result(struct hub_api_req *r, int *status);
/* The incident endpoints (hub/api_incidents.c, docs/incidents.md). */
json_t *hub_api_incident_list(struct hub_api_req *r, int *status);
json_t *hub_api_incident_create(struct hub_api_req *r, int *status);
json_t *hub_api_incident_get(struct hub_api_req *r, int *status);
json_t *hub_api_incident_patch(struct hub_api_req *r, int *status);
json_t *hub_api_incident_note(struct hub_api_req *r, int *status);
json_t *hub_api_incident_link(struct hub_api_req *r, int *status);
json_t *hub_api_incident_report(struct hub_api_req *r, int *status);
/* The peering endpoints (hub/api_peers.c, docs/peering.md). */
json_t *hub_api_peer_list(struct hub_api_req *r, int *status);
json_t *hub_api_shared_list(struct hub_api_req *r, int *status);
json_t *hub_api_shared_approve(struct hub_api_req *r, int *status);
json_t *hub_api_shared_reject(struct hub_api_req *r, int *status);
const struct hub_ingest *hub_api_ingest(const struct hub_api *a);

/*
 * Listen on c->api_listen (must not be "") and serve on base.  The store,
 * ingest and listener are read by handlers; they must outlive the API.
 * NULL on error (logged).
 */
struct hub_api *hub_api_new(const struct hub_config *c,
    struct event_base *base, struct hub_store *st, struct hub_ingest *in,
    struct hub_listener *l);
/* Close the socket and every HTTP connection. */
void hub_api_free(struct hub_api *a);

#endif
