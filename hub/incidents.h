/*
 * incidents.h - incidents and after-action reports (docs/incidents.md):
 * an incident groups outbreaks, indicators, hosts and tasks under one
 * record with a state (open, contained, closed), an owner, notes, the
 * team's lessons and a timeline.  The timeline's facts (first indicator,
 * first host, each new host, each task ordered and finished) are derived
 * from the store when asked, so they are never stale; what people do
 * (opened, state, owner, notes, links, lessons) is stored as events.
 * When an incident closes, its report is computed and kept with it, so
 * retention deleting indicators later does not change what the report
 * said.  Library code over the store (hub/store.h) returning jansson
 * trees: hub/api_incidents.c serves it, hub/incident_cli.c and the unit
 * tests call it directly.  Runs on the hub's event loop: every scan of
 * indicators is bounded (HUB_INC_SCAN_MAX rows, "truncated" says so).
 */
#ifndef PICKET_HUB_INCIDENTS_H
#define PICKET_HUB_INCIDENTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hub/store.h"

#define HUB_INC_TITLE_MAX	200	/* bytes */
#define HUB_INC_OWNER_MAX	64
#define HUB_INC_NOTE_MAX	4096
#define HUB_INC_LESSONS_MAX	16384
#define HUB_INC_LINK_MAX	1100	/* one link's value: "ioc:" + 1024 */
#define HUB_INC_LINKS_MAX	1000	/* links of one incident */
#define HUB_INC_EVENTS_MAX	5000	/* stored events of one incident */
#define HUB_INC_SCAN_MAX	200000ULL	/* indicator rows per computation */
#define HUB_INC_HOSTS_MAX	10000	/* hosts listed */
#define HUB_INC_BUCKETS		48	/* hosts-over-time series length */
#define HUB_INC_SINCE_DEF	(24LL * 3600 * 1000000)	/* before creation */
#define HUB_INC_ERR_MAX		256

enum hub_inc_state { HUB_INC_OPEN = 0, HUB_INC_CONTAINED = 1,
	HUB_INC_CLOSED = 2 };

/*
 * What a link names.  Values: an outbreak as "<kind>:<key>" with the kind
 * and key of GET /api/v1/outbreaks ("fingerprint:3fa9...", "scan:445/tcp/
 * outbound", "rule:...", "ioc:domain:evil.example"); an indicator as
 * "<agent_id>/<seq>"; a host as its agent id; a task as its decimal id.
 */
enum hub_inc_link { HUB_LINK_OUTBREAK = 0, HUB_LINK_INDICATOR = 1,
	HUB_LINK_HOST = 2, HUB_LINK_TASK = 3 };

/* "open" "contained" "closed" <-> enum hub_inc_state; -1 unknown. */
const char *hub_inc_state_name(int state);
int hub_inc_state_parse(const char *s);
/* "outbreak" "indicator" "host" "task" <-> enum hub_inc_link. */
const char *hub_inc_link_name(int kind);
int hub_inc_link_parse(const char *s);

/*
 * Open an incident.  title: 1..HUB_INC_TITLE_MAX bytes of printable UTF-8;
 * owner may be NULL or "" (nobody yet); outbreak (may be NULL) is an
 * outbreak link value, linked at once; since_us (0: created minus
 * HUB_INC_SINCE_DEF) is where its indicators start.  The "opened" event
 * records actor.  0 with *id; 1 refused (err says why: a 400); -1 store.
 */
int hub_incident_create(struct hub_store *st, const char *title,
    const char *owner, const char *outbreak, int64_t since_us,
    const char *actor, int64_t now_us, int64_t *id, char *err,
    size_t errlen);

/*
 * Link one more thing (kind, value) to incident id, with a "linked"
 * event.  A value that names nothing the hub knows (an unknown host,
 * task or indicator, a malformed outbreak) is refused; linking the same
 * thing twice is not an error (*dup 1, no event).  0; 1 refused (err); 2
 * no such incident; -1 store.
 */
int hub_incident_link(struct hub_store *st, int64_t id, int kind,
    const char *value, const char *actor, int64_t now_us, int *dup,
    char *err, size_t errlen);

/*
 * Change what people decide; NULL leaves a field as it is.  state moves
 * open -> contained -> closed, and back to open (reopened); a closed
 * incident accepts only a state change back to open and lessons.
 * Contained or closed sets contained_us/closed_us (the first time:
 * reopening and closing again keeps the first containment).  Closing
 * computes the report and stores it with the incident.  Every change is
 * an event with actor.  0; 1 refused (err); 2 no such incident; -1.
 */
int hub_incident_update(struct hub_store *st, int64_t id, const char *title,
    const char *owner, const char *state, const char *lessons,
    const char *actor, int64_t now_us, char *err, size_t errlen);

/* A note (1..HUB_INC_NOTE_MAX bytes) on the timeline.  0; 1; 2; -1. */
int hub_incident_note(struct hub_store *st, int64_t id, const char *text,
    const char *actor, int64_t now_us, char *err, size_t errlen);

/* *found 1 when incident id exists (one indexed look-up).  0, or -1. */
int hub_incident_exists(struct hub_store *st, int64_t id, int *found);

/*
 * The incident list, newest first, ids < before_id (0: from the newest),
 * at most limit, state -1 for every state:
 * {"incidents":[{"id","title","state","owner","created","created_by",
 *   "contained","closed","links"}], "next_cursor"} - the same objects the
 * API pages.  NULL with err on a store failure.
 */
json_t *hub_incident_list(struct hub_store *st, int64_t before_id,
    uint64_t limit, int state, char *err, size_t errlen);

/*
 * One incident with everything derived (docs/incidents.md, "The incident
 * record"): *found 0 and NULL for no such id; NULL with err on failure.
 */
json_t *hub_incident_get(struct hub_store *st, int64_t id, int64_t now_us,
    int *found, char *err, size_t errlen);

/*
 * The after-action report (docs/incidents.md, "The report"): the one kept
 * at close for a closed incident, else computed now with "final": false.
 */
json_t *hub_incident_report(struct hub_store *st, int64_t id,
    int64_t now_us, int *found, char *err, size_t errlen);

/*
 * The report as a PDF (hub/report_pdf.c): malloc'd bytes in *out, *len.
 * 0, or -1 (memory; err).
 */
int hub_report_pdf(const json_t *report, unsigned char **out, size_t *len,
    char *err, size_t errlen);

/* `picket-hub incident ...` (hub/incident_cli.c). */
int hub_cmd_incident(int argc, char **argv);

#endif
