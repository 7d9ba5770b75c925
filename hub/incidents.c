/*
 * incidents.c - incidents and their after-action reports (incidents.h,
 * docs/incidents.md).  What people do (open, link, note, change state,
 * owner, title, lessons) is checked here and written through the store
 * as rows and events, each change in one transaction; what the hub knows
 * by itself (the incident's indicators, hosts, tasks and the derived
 * timeline, the report's figures) is computed from the store every time
 * it is asked, within HUB_INC_SCAN_MAX indicator rows, so it is never
 * stale.  Closing an incident keeps its report as JSON with the row, so
 * retention deleting indicators later does not rewrite history.  Runs on
 * the hub's event loop (hub/api_incidents.c) and in the CLI
 * (hub/incident_cli.c); the unit test is tests/unit/test_incidents.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "hub/incidents.h"
#include "hub/outbreak.h"
#include "hub/stix.h"
#include "transport/task.h"

#define EMPTY		UINT32_MAX
#define TEXT_MAX	1400	/* a derived timeline entry's text */
#define RULES_LISTED	8	/* rule ids per detection class */
#define REFUSALS_MAX	HUB_INC_HOSTS_MAX
#define SHARED_MAX	200	/* peers' rows per outbreak value */

static const char *const state_names[] = { "open", "contained", "closed" };
static const char *const link_names[] = { "outbreak", "indicator", "host",
	"task" };

/* Detection classes (docs/incidents.md, "The report"). */
enum { C_FP, C_IOC, C_SCAN, C_PROC, C_SIG, C__N };
static const char *const class_names[C__N] = { "fingerprint", "ioc", "scan",
	"process", "signature" };

/* Timeline kinds in the order ties keep (docs/incidents.md). */
static const char *const tl_order[] = { "first_indicator", "first_host",
	"new_host", "opened", "linked", "task_ordered", "task_finished",
	"note", "owner|title", "contained|closed|reopened", "lessons",
	"shared_sent|shared_received" };

/* ------------------------------------------------------------ names */

static const char *
name_of(const char *const *names, size_t n, int i)
{
	return i >= 0 && (size_t)i < n ? names[i] : NULL;
}

static int
index_of(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
hub_inc_state_name(int state)
{
	return name_of(state_names, PK_NELEM(state_names), state);
}

int
hub_inc_state_parse(const char *s)
{
	return index_of(state_names, PK_NELEM(state_names), s);
}

const char *
hub_inc_link_name(int kind)
{
	return name_of(link_names, PK_NELEM(link_names), kind);
}

int
hub_inc_link_parse(const char *s)
{
	return index_of(link_names, PK_NELEM(link_names), s);
}

/* ------------------------------------------------------------ checks */

/*
 * s[0..n) is well-formed UTF-8 without control characters; lines also
 * allows newlines and tabs (notes, lessons).  Overlong forms, surrogates
 * and C1 controls are refused: these strings end up in HTML, PDF and
 * terminals.
 */
static int
text_ok(const char *s, size_t n, int lines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, len;
	uint32_t cp, min;
	unsigned c;

	while (i < n) {
		c = p[i];
		if (c < 0x80) {
			if (c == 0x7f || (c < 0x20 && !(lines &&
			    (c == '\n' || c == '\t' || c == '\r'))))
				return 0;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else
			return 0;
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 &&
		    cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return 0;
		i += len;
	}
	return 1;
}

/* A user's text: min..max bytes of text_ok.  0, or 1 with err. */
static int
check_text(const char *field, const char *s, size_t min, size_t max,
    int lines, char *err, size_t errlen)
{
	size_t n = s != NULL ? strnlen(s, max + 1) : 0;
	size_t i;
	int blank = 1;

	for (i = 0; i < n && blank; i++)
		blank = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r';
	if (n < min || n > max || !text_ok(s != NULL ? s : "", n, lines) ||
	    (min > 0 && blank)) {
		pk_errf(err, errlen, "%s: %zu to %zu bytes of %sUTF-8 text%s",
		    field, min, max, lines ? "" : "single-line ",
		    min > 0 ? ", not blank" : "");
		return 1;
	}
	return 0;
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/*
 * An outbreak link value "<kind>:<key>" in the form the outbreak view
 * writes its keys (hub_outbreak_classify): fingerprints and IOC values
 * other than URLs in lower case, so one outbreak is one link however it
 * was typed.  0 with out and *kind, or 1 with err naming field.
 */
static int
outbreak_norm(const char *field, const char *v, char *out, size_t cap,
    int *kind, char *err, size_t errlen)
{
	const char *colon, *key, *name, *vc;
	char *w;
	size_t n = strnlen(v, HUB_INC_LINK_MAX + 1), kl;
	int k;

	*kind = -1;
	if (n == 0 || n > HUB_INC_LINK_MAX || !text_ok(v, n, 0) ||
	    (colon = strchr(v, ':')) == NULL)
		goto bad;
	kl = (size_t)(colon - v);
	for (k = 0; k < HUB_OB_NKINDS; k++) {
		name = hub_outbreak_kind_name(k);
		if (name != NULL && strlen(name) == kl &&
		    strncmp(v, name, kl) == 0)
			break;
	}
	if (k == HUB_OB_NKINDS) {
		pk_errf(err, errlen, "%s: the kind is one of fingerprint, "
		    "rule, ioc, scan", field);
		return 1;
	}
	key = colon + 1;
	if (key[0] == '\0' || strlen(key) >= HUB_OB_KEY_MAX)
		goto bad;
	if (k == HUB_OB_IOC) {
		/* "<type>:<value>", as the outbreak view keys IOCs */
		if ((vc = strchr(key, ':')) == NULL || vc == key ||
		    vc[1] == '\0') {
			pk_errf(err, errlen, "%s: an IOC outbreak is "
			    "ioc:<type>:<value>", field);
			return 1;
		}
	}
	if ((size_t)snprintf(out, cap, "%s", v) >= cap)
		goto bad;
	if (k == HUB_OB_FINGERPRINT)
		lower(out + kl + 1);
	else if (k == HUB_OB_IOC && strncmp(key, "url:", 4) != 0) {
		/* URLs keep their case (paths are case-sensitive) */
		if ((w = strchr(out + kl + 1, ':')) != NULL)
			lower(w + 1);
	}
	*kind = k;
	return 0;
bad:
	pk_errf(err, errlen, "%s: an outbreak is <kind>:<key> as in "
	    "/api/v1/outbreaks (at most %d bytes)", field, HUB_INC_LINK_MAX);
	return 1;
}

/* "<agent_id>/<seq>": split at the last '/'.  0, or -1. */
static int
indicator_parse(const char *v, char *agent, size_t acap, uint64_t *seq)
{
	const char *slash = strrchr(v, '/'), *why;
	size_t al;

	if (slash == NULL || slash == v)
		return -1;
	al = (size_t)(slash - v);
	if (al >= acap || al > HUB_ID_MAX)
		return -1;
	memcpy(agent, v, al);
	agent[al] = '\0';
	return pk_parse_u64(slash + 1, 0, INT64_MAX, seq, &why);
}

static int
found_row(void *arg, const struct hub_indicator *d)
{
	(void)arg;
	(void)d;
	return 0;
}

static int
found_task(void *arg, const struct hub_task *t)
{
	(void)arg;
	(void)t;
	return 0;
}

/*
 * Check a link's value against what the hub knows and write its
 * canonical form into out.  0; 1 refused (err); -1 store.
 */
static int
link_check(struct hub_store *st, int kind, const char *value, char *out,
    size_t cap, char *err, size_t errlen)
{
	char agent[HUB_ID_MAX + 1];
	const char *why;
	uint64_t u;
	int k, found = 0;

	if (value == NULL || value[0] == '\0' ||
	    strnlen(value, HUB_INC_LINK_MAX + 1) > HUB_INC_LINK_MAX) {
		pk_errf(err, errlen, "value: 1 to %d bytes", HUB_INC_LINK_MAX);
		return 1;
	}
	switch (kind) {
	case HUB_LINK_OUTBREAK:
		return outbreak_norm("value", value, out, cap, &k, err,
		    errlen);
	case HUB_LINK_INDICATOR:
		if (indicator_parse(value, agent, sizeof(agent), &u) == -1) {
			pk_errf(err, errlen, "value: an indicator is "
			    "<agent_id>/<seq>");
			return 1;
		}
		if (st->ops->indicator_get(st, agent, u, found_row, NULL,
		    &found) == -1)
			return -1;
		if (!found) {
			pk_errf(err, errlen, "value: no indicator %.64s/%llu",
			    agent, (unsigned long long)u);
			return 1;
		}
		snprintf(out, cap, "%s/%llu", agent, (unsigned long long)u);
		return 0;
	case HUB_LINK_HOST:
		if (strlen(value) > HUB_ID_MAX || !text_ok(value,
		    strlen(value), 0)) {
			pk_errf(err, errlen, "value: not an agent id");
			return 1;
		}
		if (st->ops->agent_known(st, value, &found) == -1)
			return -1;
		if (!found) {
			pk_errf(err, errlen, "value: no agent %.64s is known "
			    "to this hub", value);
			return 1;
		}
		pk_strlcpy(out, value, cap);
		return 0;
	case HUB_LINK_TASK:
		if (pk_parse_u64(value, 1, INT64_MAX, &u, &why) == -1) {
			pk_errf(err, errlen, "value: a task id: %s", why);
			return 1;
		}
		if (st->ops->task_get(st, (int64_t)u, found_task, NULL,
		    &found) == -1)
			return -1;
		if (!found) {
			pk_errf(err, errlen, "value: no task %llu",
			    (unsigned long long)u);
			return 1;
		}
		snprintf(out, cap, "%llu", (unsigned long long)u);
		return 0;
	}
	pk_errf(err, errlen, "kind: one of outbreak, indicator, host, task");
	return 1;
}

/* ------------------------------------------------------------ the row */

/* An incident as read, with owned copies of its text. */
struct inc {
	struct hub_incident	 r;
	char			*title, *owner, *created_by, *lessons, *report;
	int			 nomem;
};

static char *
xdup(const char *s, int *nomem)
{
	char *d = strdup(s != NULL ? s : "");

	if (d == NULL)
		*nomem = 1;
	return d;
}

static int
inc_row(void *arg, const struct hub_incident *i)
{
	struct inc *c = arg;

	c->r = *i;
	c->title = xdup(i->title, &c->nomem);
	c->owner = xdup(i->owner, &c->nomem);
	c->created_by = xdup(i->created_by, &c->nomem);
	c->lessons = xdup(i->lessons, &c->nomem);
	c->report = xdup(i->report, &c->nomem);
	c->r.title = c->title;
	c->r.owner = c->owner;
	c->r.created_by = c->created_by;
	c->r.lessons = c->lessons;
	c->r.report = c->report;
	return 0;
}

static void
inc_free(struct inc *c)
{
	free(c->title);
	free(c->owner);
	free(c->created_by);
	free(c->lessons);
	free(c->report);
	memset(c, 0, sizeof(*c));
}

/* 0 with *found; -1 store or memory (err). */
static int
inc_load(struct hub_store *st, int64_t id, struct inc *c, int *found,
    char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (st->ops->incident_get(st, id, inc_row, c, found) == -1) {
		pk_errf(err, errlen, "store unavailable");
		return -1;
	}
	if (c->nomem) {
		inc_free(c);
		pk_errf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void
event_fill(struct hub_inc_event *e, int64_t id, int64_t ts, const char *kind,
    const char *actor, const char *text)
{
	memset(e, 0, sizeof(*e));
	e->incident_id = id;
	e->ts_us = ts;
	pk_strlcpy(e->kind, kind, sizeof(e->kind));
	pk_strlcpy(e->actor, actor != NULL ? actor : "", sizeof(e->actor));
	e->text = text;
}

/* Room for n more events?  0; 1 refused; -1 store. */
static int
room_for(struct hub_store *st, int64_t id, uint64_t links_add,
    uint64_t events_add, char *err, size_t errlen)
{
	uint64_t links, events;

	if (st->ops->inc_counts(st, id, &links, &events) == -1) {
		pk_errf(err, errlen, "store unavailable");
		return -1;
	}
	if (links + links_add > HUB_INC_LINKS_MAX) {
		pk_errf(err, errlen, "value: the incident has %d links, the "
		    "most it may have", HUB_INC_LINKS_MAX);
		return 1;
	}
	if (events + events_add > HUB_INC_EVENTS_MAX) {
		pk_errf(err, errlen, "the incident's timeline has %d events, "
		    "the most it may have", HUB_INC_EVENTS_MAX);
		return 1;
	}
	return 0;
}

/* End a transaction: commit when rc is 0, else roll back; the rc. */
static int
txn_end(struct hub_store *st, int rc, char *err, size_t errlen)
{
	if (rc == 0) {
		if (st->ops->commit(st) == -1) {
			(void)st->ops->rollback(st);
			pk_errf(err, errlen, "store unavailable");
			return -1;
		}
		return 0;
	}
	(void)st->ops->rollback(st);
	if (rc == -1 && err != NULL && errlen > 0 && err[0] == '\0')
		pk_errf(err, errlen, "store unavailable");
	return rc;
}

/* ------------------------------------------------------------ changes */

int
hub_incident_create(struct hub_store *st, const char *title,
    const char *owner, const char *outbreak, int64_t since_us,
    const char *actor, int64_t now_us, int64_t *id, char *err,
    size_t errlen)
{
	char ob[HUB_INC_LINK_MAX + 1], text[HUB_INC_LINK_MAX + 200];
	struct hub_incident i;
	struct hub_inc_link_row l;
	struct hub_inc_event e;
	int kind, dup, rc = -1, have_ob;

	*id = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (actor == NULL)
		actor = "";
	if (check_text("title", title, 1, HUB_INC_TITLE_MAX, 0, err, errlen) ||
	    (owner != NULL && check_text("owner", owner, 0, HUB_INC_OWNER_MAX,
	    0, err, errlen)))
		return 1;
	have_ob = outbreak != NULL && outbreak[0] != '\0';
	if (have_ob && outbreak_norm("outbreak", outbreak, ob, sizeof(ob),
	    &kind, err, errlen) != 0)
		return 1;
	if (since_us == 0)
		since_us = now_us - HUB_INC_SINCE_DEF;
	if (since_us < 0 || since_us > now_us) {
		pk_errf(err, errlen, "since: a time before now");
		return 1;
	}
	memset(&i, 0, sizeof(i));
	i.title = title;
	i.owner = owner != NULL ? owner : "";
	i.created_by = actor;
	i.state = HUB_INC_OPEN;
	i.created_us = now_us;
	i.since_us = since_us;
	if (st->ops->begin(st) == -1) {
		pk_errf(err, errlen, "store unavailable");
		return -1;
	}
	if (st->ops->incident_add(st, &i, id) == -1)
		goto out;
	if (have_ob) {
		memset(&l, 0, sizeof(l));
		l.incident_id = *id;
		l.kind = HUB_LINK_OUTBREAK;
		l.value = ob;
		l.added_us = now_us;
		pk_strlcpy(l.added_by, actor, sizeof(l.added_by));
		if (st->ops->inc_link_add(st, &l, &dup) == -1)
			goto out;
		snprintf(text, sizeof(text), "opened by %.64s from outbreak %s",
		    actor, ob);
	} else
		snprintf(text, sizeof(text), "opened by %.64s", actor);
	event_fill(&e, *id, now_us, "opened", actor, text);
	rc = st->ops->inc_event_add(st, &e);
out:
	if ((rc = txn_end(st, rc, err, errlen)) != 0)
		*id = 0;
	return rc;
}

int
hub_incident_link(struct hub_store *st, int64_t id, int kind,
    const char *value, const char *actor, int64_t now_us, int *dup,
    char *err, size_t errlen)
{
	char v[HUB_INC_LINK_MAX + 1], text[HUB_INC_LINK_MAX + 200];
	struct hub_inc_link_row l;
	struct hub_inc_event e;
	struct inc c;
	int rc, found;

	*dup = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (actor == NULL)
		actor = "";
	if (hub_inc_link_name(kind) == NULL) {
		pk_errf(err, errlen, "kind: one of outbreak, indicator, host, "
		    "task");
		return 1;
	}
	if ((rc = link_check(st, kind, value, v, sizeof(v), err, errlen)) != 0)
		return rc;
	if (st->ops->begin(st) == -1) {
		pk_errf(err, errlen, "store unavailable");
		return -1;
	}
	if ((rc = inc_load(st, id, &c, &found, err, errlen)) == -1)
		return txn_end(st, -1, err, errlen);
	if (!found)
		return txn_end(st, 2, err, errlen);
	if (c.r.state == HUB_INC_CLOSED) {
		inc_free(&c);
		pk_errf(err, errlen, "the incident is closed: reopen it first");
		return txn_end(st, 1, err, errlen);
	}
	inc_free(&c);
	memset(&l, 0, sizeof(l));
	l.incident_id = id;
	l.kind = kind;
	l.value = v;
	l.added_us = now_us;
	pk_strlcpy(l.added_by, actor, sizeof(l.added_by));
	/* Counted before the insert: a duplicate is answered even when
	 * the incident is full, and a new link never goes past the cap. */
	if ((rc = room_for(st, id, 1, 1, err, errlen)) == -1)
		return txn_end(st, -1, err, errlen);
	if (st->ops->inc_link_add(st, &l, dup) == -1)
		return txn_end(st, -1, err, errlen);
	if (*dup) {
		if (err != NULL && errlen > 0)
			err[0] = '\0';
		return txn_end(st, 0, err, errlen);
	}
	if (rc == 1)
		return txn_end(st, 1, err, errlen);
	snprintf(text, sizeof(text), "%.64s linked %s %s", actor,
	    hub_inc_link_name(kind), v);
	event_fill(&e, id, now_us, "linked", actor, text);
	rc = st->ops->inc_event_add(st, &e);
	return txn_end(st, rc, err, errlen);
}

int
hub_incident_note(struct hub_store *st, int64_t id, const char *text,
    const char *actor, int64_t now_us, char *err, size_t errlen)
{
	struct hub_inc_event e;
	struct inc c;
	int rc, found;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (check_text("text", text, 1, HUB_INC_NOTE_MAX, 1, err, errlen))
		return 1;
	if (st->ops->begin(st) == -1) {
		pk_errf(err, errlen, "store unavailable");
		return -1;
	}
	if (inc_load(st, id, &c, &found, err, errlen) == -1)
		return txn_end(st, -1, err, errlen);
	if (!found)
		return txn_end(st, 2, err, errlen);
	rc = c.r.state == HUB_INC_CLOSED;
	inc_free(&c);
	if (rc) {
		pk_errf(err, errlen, "the incident is closed: reopen it first");
		return txn_end(st, 1, err, errlen);
	}
	if ((rc = room_for(st, id, 0, 1, err, errlen)) != 0)
		return txn_end(st, rc, err, errlen);
	event_fill(&e, id, now_us, "note", actor, text);
	rc = st->ops->inc_event_add(st, &e);
	return txn_end(st, rc, err, errlen);
}

static json_t *report_json(struct hub_store *st, const struct inc *c,
    int64_t now_us, int final, char *err, size_t errlen);
static int report_patch_lessons(struct inc *c, const char *lessons,
    int64_t now_us, const char *actor);

/* What one update changes, worked out before anything is written. */
struct change {
	const char	*title, *owner, *lessons;	/* NULL: unchanged */
	int		 to_state;			/* -1: unchanged */
	const char	*state_event;	/* "contained" "closed" "reopened" */
	int		 nevents;
};

static int
plan(const struct inc *c, const char *title, const char *owner,
    const char *state, const char *lessons, struct change *ch, char *err,
    size_t errlen)
{
	int closed = c->r.state == HUB_INC_CLOSED, to;

	memset(ch, 0, sizeof(*ch));
	ch->to_state = -1;
	if (title != NULL && strcmp(title, c->title) != 0)
		ch->title = title;
	if (owner != NULL && strcmp(owner, c->owner) != 0)
		ch->owner = owner;
	if (lessons != NULL && strcmp(lessons, c->lessons) != 0)
		ch->lessons = lessons;
	to = state != NULL ? hub_inc_state_parse(state) : c->r.state;
	/* a reopening may rename it in the same change */
	if (closed && to != HUB_INC_OPEN && (ch->title != NULL ||
	    ch->owner != NULL)) {
		pk_errf(err, errlen, "%s: a closed incident takes only "
		    "lessons and a reopening", ch->title != NULL ? "title" :
		    "owner");
		return 1;
	}
	if (closed && to == HUB_INC_CONTAINED) {
		pk_errf(err, errlen, "state: a closed incident can only be "
		    "reopened");
		return 1;
	}
	if (to != c->r.state) {
		ch->to_state = to;
		ch->state_event = to == HUB_INC_OPEN ? "reopened" :
		    to == HUB_INC_CONTAINED ? "contained" : "closed";
	}
	ch->nevents = (ch->title != NULL) + (ch->owner != NULL) +
	    (ch->lessons != NULL) + (ch->to_state != -1);
	return 0;
}

/* Write the events of ch (title, owner, state, lessons, in this order). */
static int
change_events(struct hub_store *st, int64_t id, const struct change *ch,
    const char *actor, int64_t now_us)
{
	char text[200];
	struct hub_inc_event e;

	if (ch->title != NULL) {
		event_fill(&e, id, now_us, "title", actor, ch->title);
		if (st->ops->inc_event_add(st, &e) == -1)
			return -1;
	}
	if (ch->owner != NULL) {
		event_fill(&e, id, now_us, "owner", actor, ch->owner);
		if (st->ops->inc_event_add(st, &e) == -1)
			return -1;
	}
	if (ch->state_event != NULL) {
		snprintf(text, sizeof(text), "%s by %.64s", ch->state_event,
		    actor);
		event_fill(&e, id, now_us, ch->state_event, actor, text);
		if (st->ops->inc_event_add(st, &e) == -1)
			return -1;
	}
	if (ch->lessons != NULL) {
		snprintf(text, sizeof(text), "lessons edited by %.64s", actor);
		event_fill(&e, id, now_us, "lessons", actor, text);
		if (st->ops->inc_event_add(st, &e) == -1)
			return -1;
	}
	return 0;
}

/* The report of c, closed just now, kept with it (c->report replaced). */
static int
snapshot(struct hub_store *st, struct inc *c, int64_t now_us, char *err,
    size_t errlen)
{
	json_t *rep;
	char *s;
	int found;

	if ((rep = report_json(st, c, now_us, 1, err, errlen)) == NULL)
		return -1;
	s = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	if (s == NULL) {
		pk_errf(err, errlen, "out of memory");
		return -1;
	}
	free(c->report);
	c->report = s;
	c->r.report = s;
	if (st->ops->incident_put(st, &c->r, &found) == -1)
		return -1;
	return 0;
}

int
hub_incident_update(struct hub_store *st, int64_t id, const char *title,
    const char *owner, const char *state, const char *lessons,
    const char *actor, int64_t now_us, char *err, size_t errlen)
{
	struct change ch;
	struct inc c;
	int rc, found;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (actor == NULL)
		actor = "";
	if ((title != NULL && check_text("title", title, 1,
	    HUB_INC_TITLE_MAX, 0, err, errlen)) ||
	    (owner != NULL && check_text("owner", owner, 0,
	    HUB_INC_OWNER_MAX, 0, err, errlen)) ||
	    (lessons != NULL && check_text("lessons", lessons, 0,
	    HUB_INC_LESSONS_MAX, 1, err, errlen)))
		return 1;
	if (state != NULL && hub_inc_state_parse(state) < 0) {
		pk_errf(err, errlen, "state: one of open, contained, closed");
		return 1;
	}
	if (st->ops->begin(st) == -1) {
		pk_errf(err, errlen, "store unavailable");
		return -1;
	}
	if (inc_load(st, id, &c, &found, err, errlen) == -1)
		return txn_end(st, -1, err, errlen);
	if (!found)
		return txn_end(st, 2, err, errlen);
	if ((rc = plan(&c, title, owner, state, lessons, &ch, err,
	    errlen)) != 0 || ch.nevents == 0 ||
	    (rc = room_for(st, id, 0, (uint64_t)ch.nevents, err,
	    errlen)) != 0)
		goto out;
	rc = -1;
	if (ch.title != NULL)
		c.r.title = ch.title;
	if (ch.owner != NULL)
		c.r.owner = ch.owner;
	if (ch.lessons != NULL)
		c.r.lessons = ch.lessons;
	if (ch.to_state != -1) {
		c.r.state = ch.to_state;
		/* The first containment and closing are the ones the
		 * report measures: later ones do not move them. */
		if (ch.to_state == HUB_INC_CONTAINED && c.r.contained_us == 0)
			c.r.contained_us = now_us;
		if (ch.to_state == HUB_INC_CLOSED && c.r.closed_us == 0)
			c.r.closed_us = now_us;
		if (ch.to_state == HUB_INC_OPEN)
			c.r.report = "";	/* computed live again */
	} else if (c.r.state == HUB_INC_CLOSED && ch.lessons != NULL &&
	    c.report[0] != '\0') {
		/* Lessons come after closing: the kept report takes them
		 * without being recomputed (its indicators may be gone). */
		if (report_patch_lessons(&c, ch.lessons, now_us, actor) == -1) {
			pk_errf(err, errlen, "out of memory");
			goto out;
		}
		c.r.report = c.report;
	}
	if (st->ops->incident_put(st, &c.r, &found) == -1 ||
	    change_events(st, id, &ch, actor, now_us) == -1)
		goto out;
	if (ch.to_state == HUB_INC_CLOSED && snapshot(st, &c, now_us, err,
	    errlen) == -1)
		goto out;
	rc = 0;
out:
	inc_free(&c);
	return txn_end(st, rc, err, errlen);
}

/* ------------------------------------------------------------ the list */

struct list {
	json_t		*arr;
	uint64_t	 limit, n;
	int64_t		 last_id;
	int		 more, nomem;
};

static json_t *
jtime(int64_t us)
{
	char b[HUB_TIME_MS_LEN];

	if (us <= 0)
		return json_null();
	return json_string(hub_time_ms(us, b, sizeof(b)));
}

static json_t *
jint(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX :
	    (json_int_t)v);
}

static int
put(json_t *o, const char *k, json_t *v)
{
	return v == NULL || json_object_set_new(o, k, v) == -1 ? -1 : 0;
}

static int
list_row(void *arg, const struct hub_incident *i)
{
	struct list *l = arg;
	json_t *o;
	int bad = 0;

	if (l->n == l->limit) {
		l->more = 1;
		return 1;
	}
	if ((o = json_object()) == NULL) {
		l->nomem = 1;
		return 1;
	}
	bad |= put(o, "id", json_integer(i->id));
	bad |= put(o, "title", hub_json_str(i->title));
	bad |= put(o, "state", json_string(hub_inc_state_name(i->state) ?
	    hub_inc_state_name(i->state) : "open"));
	bad |= put(o, "owner", hub_json_str(i->owner));
	bad |= put(o, "created", jtime(i->created_us));
	bad |= put(o, "created_by", hub_json_str(i->created_by));
	bad |= put(o, "contained", jtime(i->contained_us));
	bad |= put(o, "closed", jtime(i->closed_us));
	bad |= put(o, "links", jint(i->links));
	if (bad || json_array_append_new(l->arr, o) == -1) {
		if (bad)
			json_decref(o);
		l->nomem = 1;
		return 1;
	}
	l->n++;
	l->last_id = i->id;
	return 0;
}

json_t *
hub_incident_list(struct hub_store *st, int64_t before_id, uint64_t limit,
    int state, char *err, size_t errlen)
{
	struct list l;
	json_t *res;

	memset(&l, 0, sizeof(l));
	l.limit = limit == 0 ? 50 : PK_MIN(limit, (uint64_t)10000);
	if ((l.arr = json_array()) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	/* one more than asked: whether there is a next page */
	if (st->ops->incident_list(st, before_id < 0 ? 0 : before_id,
	    l.limit + 1, state < 0 || state > HUB_INC_CLOSED ? -1 : state,
	    list_row, &l) == -1 || l.nomem) {
		json_decref(l.arr);
		pk_errf(err, errlen, l.nomem ? "out of memory" :
		    "store unavailable");
		return NULL;
	}
	res = json_pack("{s:o,s:o}", "incidents", l.arr, "next_cursor",
	    l.more ? json_integer(l.last_id) : json_null());
	if (res == NULL)
		pk_errf(err, errlen, "out of memory");
	return res;
}

/* ------------------------------------------------------------ computing */

struct ihost {
	char		 id[HUB_ID_MAX + 1];
	char		 name[HUB_HOST_MAX + 1];
	int64_t		 first_us;	/* first incident indicator */
	uint64_t	 nind;		/* incident indicators */
	unsigned	 classes;	/* detection classes (report) */
};

struct iseen {
	uint32_t	 host;
	uint64_t	 seq;
};

struct ilink {
	int		 kind;
	char		*value;
};


struct ievent {
	int64_t		 ts_us;
	char		 kind[HUB_INC_KIND_MAX + 1];
	char		 actor[HUB_TOKEN_NAME_MAX + 1];
	char		*text;
};

struct itask {
	int64_t		 id;
	int		 found;
	int		 type;
	int64_t		 created_us, last_us;
	char		 created_by[HUB_TOKEN_NAME_MAX + 1];
	uint64_t	 nhosts, bytes;
	uint64_t	 counts[PK_TS_NSTATES];
	json_t		*refusals;
};

struct iclass {
	int64_t		 first_us;
	uint32_t	 first_host;
	uint64_t	 hosts, indicators;
	uint32_t	 nrules;
	char		 rules[RULES_LISTED][HUB_RULE_MAX];
};

struct calc {
	struct hub_store *st;
	const struct inc *inc;
	int64_t		 now_us, since_us, until_us;
	struct ilink	*links;
	size_t		 nlinks, links_cap;
	struct ievent	*events;
	size_t		 nevents, events_cap;
	struct itask	*tasks;
	size_t		 ntasks, tasks_cap;
	struct ihost	*hosts;
	size_t		 nhosts, hosts_cap;
	struct hub_itab	 hix;
	struct iseen	*seen;
	size_t		 nseen, seen_cap;
	struct hub_itab	 six;
	uint64_t	 scanned, indicators;
	int		 truncated, nomem;
	/* the earliest indicator */
	int64_t		 first_us;
	uint32_t	 first_host;
	char		 first_rule[HUB_RULE_MAX], first_name[HUB_RULE_MAX];
	struct iclass	 cls[C__N];
	/* the outbreak a scan is matching, the key being looked up */
	int		 ob_kind;
	const char	*ob_key;
	const char	*k_id;
	uint32_t	 k_host;
	uint64_t	 k_seq;
	struct itask	*cur_task;
	struct hub_shared *shared;	/* peers' rows of its outbreaks */
	size_t		 nshared, shared_cap;
	struct hub_sent_value *sent;		/* what went to peers */
	size_t		 nsent, sent_cap;
};

/* Room for one more element of a calc array: 0, or -1 (nomem set). */
static int
calc_grow(struct calc *c, void *pp, size_t *cap, size_t n, size_t elem)
{
	if (pk_grow(pp, cap, n, elem) == -1) {
		c->nomem = 1;
		return -1;
	}
	return 0;
}

static int
host_eq(void *arg, uint32_t v)
{
	struct calc *c = arg;

	return strcmp(c->hosts[v].id, c->k_id) == 0;
}

static uint32_t
host_find(struct calc *c, const char *id)
{
	c->k_id = id;
	return hub_itab_find(&c->hix, hub_itab_hash(&c->hix, id, strlen(id)),
	    host_eq, c);
}

/* The host's index, added if new; EMPTY when the table is full. */
static uint32_t
host_intern(struct calc *c, const char *id)
{
	struct ihost *h;
	uint64_t hv;
	uint32_t i;

	c->k_id = id;
	hv = hub_itab_hash(&c->hix, id, strlen(id));
	if ((i = hub_itab_find(&c->hix, hv, host_eq, c)) != EMPTY)
		return i;
	if (c->nhosts >= HUB_INC_HOSTS_MAX) {
		c->truncated = 1;
		return EMPTY;
	}
	if (calc_grow(c, &c->hosts, &c->hosts_cap, c->nhosts, sizeof(*h)) ==
	    -1)
		return EMPTY;
	h = &c->hosts[c->nhosts];
	memset(h, 0, sizeof(*h));
	pk_strlcpy(h->id, id, sizeof(h->id));
	h->first_us = INT64_MAX;
	if (hub_itab_add(&c->hix, hv, (uint32_t)c->nhosts) == -1) {
		c->truncated = 1;
		return EMPTY;
	}
	return (uint32_t)c->nhosts++;
}

static int
seen_eq(void *arg, uint32_t v)
{
	struct calc *c = arg;

	return c->seen[v].host == c->k_host && c->seen[v].seq == c->k_seq;
}

/* 1 when (host, seq) was counted already; else remembers it: 0. */
static int
seen_add(struct calc *c, uint32_t host, uint64_t seq)
{
	uint8_t key[12];
	uint64_t hv;

	memcpy(key, &host, 4);
	memcpy(key + 4, &seq, 8);
	hv = hub_itab_hash(&c->six, key, sizeof(key));
	c->k_host = host;
	c->k_seq = seq;
	if (hub_itab_find(&c->six, hv, seen_eq, c) != EMPTY)
		return 1;
	if (calc_grow(c, &c->seen, &c->seen_cap, c->nseen,
	    sizeof(*c->seen)) == -1)
		return 1;
	c->seen[c->nseen].host = host;
	c->seen[c->nseen].seq = seq;
	if (hub_itab_add(&c->six, hv, (uint32_t)c->nseen) == -1) {
		c->truncated = 1;
		return 1;
	}
	c->nseen++;
	return 0;
}

/*
 * An indicator's time: its @timestamp, when the agent made the report.
 * Detection is what the figures measure (time to detect is from the
 * first report to the incident), and the window is on the same column.
 */
static int64_t
row_time(const struct hub_indicator *d)
{
	return d->ts_us;
}

/* One of the incident's indicators. */
static void
ind_add(struct calc *c, const struct hub_indicator *d)
{
	struct ihost *h;
	uint32_t hi;
	int64_t t;

	if ((hi = host_intern(c, d->agent_id)) == EMPTY ||
	    seen_add(c, hi, d->seq))
		return;
	t = row_time(d);
	h = &c->hosts[hi];
	h->nind++;
	if (t < h->first_us)
		h->first_us = t;
	c->indicators++;
	if (c->indicators == 1 || t < c->first_us) {
		c->first_us = t;
		c->first_host = hi;
		pk_strlcpy(c->first_rule, d->rule_id, sizeof(c->first_rule));
		pk_strlcpy(c->first_name, d->rule_name, sizeof(c->first_name));
	}
}

/* Count a row against the computation's budget: 0 go on, 1 stop. */
static int
budget(struct calc *c)
{
	if (c->scanned >= HUB_INC_SCAN_MAX) {
		c->truncated = 1;
		return 1;
	}
	c->scanned++;
	return 0;
}

static int
ob_row(void *arg, const struct hub_indicator *d)
{
	struct calc *c = arg;
	char key[HUB_OB_KEY_MAX], label[HUB_OB_LABEL_MAX];

	if (budget(c))
		return 1;
	if (hub_outbreak_classify(d, key, sizeof(key), label,
	    sizeof(label)) == c->ob_kind && strcmp(key, c->ob_key) == 0)
		ind_add(c, d);
	return c->nomem;
}

static int
link_row(void *arg, const struct hub_indicator *d)
{
	struct calc *c = arg;

	if (!budget(c))
		ind_add(c, d);
	return 1;
}

/* The alerts of one outbreak link inside the window. */
static int
scan_outbreak(struct calc *c, const char *value)
{
	struct hub_alert_filter f;
	const char *colon = strchr(value, ':'), *v;
	char kind[16];
	size_t kl;
	int k;

	if (colon == NULL || (kl = (size_t)(colon - value)) >= sizeof(kind))
		return 0;
	memcpy(kind, value, kl);
	kind[kl] = '\0';
	for (k = 0; k < HUB_OB_NKINDS; k++)
		if (strcmp(kind, hub_outbreak_kind_name(k)) == 0)
			break;
	if (k == HUB_OB_NKINDS || c->scanned >= HUB_INC_SCAN_MAX) {
		if (k != HUB_OB_NKINDS)
			c->truncated = 1;
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.since_us = c->since_us;
	f.until_us = c->until_us;
	c->ob_kind = k;
	c->ob_key = colon + 1;
	switch (k) {
	case HUB_OB_FINGERPRINT:
		f.fingerprint = c->ob_key;
		break;
	case HUB_OB_RULE:
		f.rule = c->ob_key;
		break;
	case HUB_OB_IOC:
		if ((v = strchr(c->ob_key, ':')) != NULL)
			f.ioc_name = v + 1;
		break;
	case HUB_OB_SCAN:
		f.scan = 1;
		break;
	}
	/* what is left of the budget, and one row to see that it cut */
	f.limit = HUB_INC_SCAN_MAX - c->scanned + 1;
	return c->st->ops->alerts(c->st, &f, ob_row, c);
}

static int
scan_indicator(struct calc *c, const char *value)
{
	char agent[HUB_ID_MAX + 1];
	uint64_t seq;
	int found;

	if (indicator_parse(value, agent, sizeof(agent), &seq) == -1)
		return 0;
	return c->st->ops->indicator_get(c->st, agent, seq, link_row, c,
	    &found);
}

static int
task_row(void *arg, const struct hub_task *t)
{
	struct itask *k = ((struct calc *)arg)->cur_task;

	k->found = 1;
	k->type = t->type;
	k->created_us = t->created_us;
	pk_strlcpy(k->created_by, t->created_by, sizeof(k->created_by));
	return 0;
}

static int
task_host_row(void *arg, const struct hub_task_host *h)
{
	struct calc *c = arg;
	struct itask *k = c->cur_task;
	uint32_t hi;
	json_t *o;

	k->nhosts++;
	if (h->state > 0 && h->state < PK_TS_NSTATES)
		k->counts[h->state]++;
	k->bytes += h->bytes;
	if (h->updated_us > k->last_us)
		k->last_us = h->updated_us;
	if ((hi = host_intern(c, h->agent_id)) != EMPTY && h->host_name[0] !=
	    '\0' && c->hosts[hi].name[0] == '\0')
		pk_strlcpy(c->hosts[hi].name, h->host_name,
		    sizeof(c->hosts[hi].name));
	if (h->state == PK_TS_REFUSED && k->refusals != NULL &&
	    json_array_size(k->refusals) < REFUSALS_MAX) {
		o = json_pack("{s:o,s:o}", "agent_id",
		    hub_json_str(h->agent_id), "reason",
		    hub_json_str(h->reason));
		if (o == NULL || json_array_append_new(k->refusals, o) == -1)
			c->nomem = 1;
	}
	return c->nomem;
}

static int
scan_task(struct calc *c, const char *value)
{
	struct itask *k;
	const char *why;
	uint64_t id;
	int found;

	if (pk_parse_u64(value, 1, INT64_MAX, &id, &why) == -1)
		return 0;
	if (calc_grow(c, &c->tasks, &c->tasks_cap, c->ntasks, sizeof(*k)) ==
	    -1)
		return 0;
	k = &c->tasks[c->ntasks++];
	memset(k, 0, sizeof(*k));
	k->id = (int64_t)id;
	if ((k->refusals = json_array()) == NULL) {
		c->nomem = 1;
		return 0;
	}
	c->cur_task = k;
	if (c->st->ops->task_get(c->st, k->id, task_row, c, &found) == -1)
		return -1;
	if (!found)
		return 0;
	return c->st->ops->task_hosts(c->st, k->id, task_host_row, c);
}

static int
links_row(void *arg, const struct hub_inc_link_row *l)
{
	struct calc *c = arg;
	struct ilink *k;

	if (calc_grow(c, &c->links, &c->links_cap, c->nlinks, sizeof(*k)) ==
	    -1)
		return 1;
	k = &c->links[c->nlinks];
	k->kind = l->kind;
	if ((k->value = strdup(l->value)) == NULL) {
		c->nomem = 1;
		return 1;
	}
	c->nlinks++;
	return 0;
}

static int
events_row(void *arg, const struct hub_inc_event *e)
{
	struct calc *c = arg;
	struct ievent *k;

	if (calc_grow(c, &c->events, &c->events_cap, c->nevents,
	    sizeof(*k)) == -1)
		return 1;
	k = &c->events[c->nevents];
	k->ts_us = e->ts_us;
	pk_strlcpy(k->kind, e->kind, sizeof(k->kind));
	pk_strlcpy(k->actor, e->actor, sizeof(k->actor));
	if ((k->text = strdup(e->text)) == NULL) {
		c->nomem = 1;
		return 1;
	}
	c->nevents++;
	return 0;
}

static void
calc_free(struct calc *c)
{
	size_t i;

	for (i = 0; i < c->nlinks; i++)
		free(c->links[i].value);
	for (i = 0; i < c->nevents; i++)
		free(c->events[i].text);
	for (i = 0; i < c->ntasks; i++)
		json_decref(c->tasks[i].refusals);
	free(c->shared);
	free(c->sent);
	free(c->links);
	free(c->events);
	free(c->tasks);
	free(c->hosts);
	free(c->seen);
	hub_itab_free(&c->hix);
	hub_itab_free(&c->six);
}

/* The hosts table's name for each host (HELLO), else the enrolment's. */
static int
host_names(struct calc *c)
{
	struct hub_host h;
	struct hub_agent a;
	size_t i;
	int found;

	for (i = 0; i < c->nhosts; i++) {
		if (c->st->ops->host_get(c->st, c->hosts[i].id, &h,
		    &found) == -1)
			return -1;
		if (found && h.host_name[0] != '\0') {
			pk_strlcpy(c->hosts[i].name, h.host_name,
			    sizeof(c->hosts[i].name));
			continue;
		}
		if (c->hosts[i].name[0] != '\0')
			continue;
		if (c->st->ops->agent_get(c->st, c->hosts[i].id, &a,
		    &found) == -1)
			return -1;
		if (found)
			pk_strlcpy(c->hosts[i].name, a.host_name,
			    sizeof(c->hosts[i].name));
	}
	return 0;
}

/*
 * Read everything the record and the report are made of: links, events,
 * the indicators of the window, tasks, hosts.  0, or -1 (err).
 */
static int
shared_row(void *arg, const struct hub_shared *s)
{
	struct calc *c = arg;

	if (calc_grow(c, &c->shared, &c->shared_cap, c->nshared,
	    sizeof(*c->shared)) == -1)
		return -1;
	c->shared[c->nshared++] = *s;
	return 0;
}

static int
sent_row(void *arg, const struct hub_sent_value *v)
{
	struct calc *c = arg;

	if (calc_grow(c, &c->sent, &c->sent_cap, c->nsent,
	    sizeof(*c->sent)) == -1)
		return -1;
	c->sent[c->nsent++] = *v;
	return 0;
}

/*
 * What peers shared about an outbreak of the incident, and what this hub
 * sent them of it (docs/peering.md):
 * its worm fingerprint, or an IOC value of a kind a peer can share.  Scan
 * and rule outbreaks have no value peers exchange.
 */
static int
scan_shared(struct calc *c, const char *value)
{
	static const struct { const char *type, *kind; } iocs[] = {
		{ "ipv4-addr:", "ipv4" }, { "ipv6-addr:", "ipv6" },
		{ "domain-name:", "domain" }, { "url:", "url" },
		{ "file:", "sha256" },
	};
	struct hub_shared_filter f;
	const char *v = NULL, *kind = NULL;
	size_t i, n;

	if (strncmp(value, "fingerprint:", 12) == 0) {
		kind = "fingerprint";
		v = value + 12;
	} else if (strncmp(value, "ioc:", 4) == 0) {
		for (i = 0; i < PK_NELEM(iocs) && kind == NULL; i++) {
			n = strlen(iocs[i].type);
			if (strncmp(value + 4, iocs[i].type, n) == 0) {
				kind = iocs[i].kind;
				v = value + 4 + n;
			}
		}
	}
	if (kind == NULL || *v == '\0')
		return 0;
	memset(&f, 0, sizeof(f));
	f.state = -1;
	f.kind = kind;
	f.value = v;	/* exactly: the shared_value index */
	f.limit = SHARED_MAX;
	if (c->st->ops->shared_list(c->st, &f, shared_row, c) == -1)
		return -1;
	return c->st->ops->sent_list(c->st, kind, v, SHARED_MAX, sent_row, c);
}

static int
calc_run(struct calc *c, struct hub_store *st, const struct inc *inc,
    int64_t now_us, char *err, size_t errlen)
{
	size_t i;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->st = st;
	c->inc = inc;
	c->now_us = now_us;
	c->since_us = inc->r.since_us;
	if (hub_itab_init(&c->hix, 64) == -1 ||
	    hub_itab_init(&c->six, 1024) == -1) {
		pk_errf(err, errlen, "out of memory");
		return -1;
	}
	if (st->ops->inc_links(st, inc->r.id, HUB_INC_LINKS_MAX, links_row,
	    c) == -1 || st->ops->inc_events(st, inc->r.id,
	    HUB_INC_EVENTS_MAX, events_row, c) == -1)
		goto store;
	if (c->nomem)
		goto nomem;
	/* The window ends when the incident (last) closed, else now. */
	c->until_us = now_us;
	if (inc->r.state == HUB_INC_CLOSED) {
		c->until_us = inc->r.closed_us > 0 ? inc->r.closed_us : now_us;
		for (i = 0; i < c->nevents; i++)
			if (strcmp(c->events[i].kind, "closed") == 0)
				c->until_us = c->events[i].ts_us;
	}
	/* [since, until) must hold the instant of closing itself */
	if (c->until_us < INT64_MAX)
		c->until_us++;
	if (c->until_us <= c->since_us)
		c->until_us = c->since_us + 1;
	for (i = 0; i < c->nlinks && rc == 0 && !c->nomem; i++) {
		switch (c->links[i].kind) {
		case HUB_LINK_OUTBREAK:
			rc = scan_outbreak(c, c->links[i].value);
			if (rc == 0)
				rc = scan_shared(c, c->links[i].value);
			break;
		case HUB_LINK_INDICATOR:
			rc = scan_indicator(c, c->links[i].value);
			break;
		case HUB_LINK_HOST:
			(void)host_intern(c, c->links[i].value);
			break;
		case HUB_LINK_TASK:
			rc = scan_task(c, c->links[i].value);
			break;
		}
	}
	if (rc == -1)
		goto store;
	if (c->nomem)
		goto nomem;
	if (host_names(c) == -1)
		goto store;
	return 0;
store:
	pk_errf(err, errlen, "store unavailable");
	return -1;
nomem:
	pk_errf(err, errlen, "out of memory");
	return -1;
}

/* ------------------------------------------------------------ output */

static const char *
host_label(const struct ihost *h)
{
	return h->name[0] != '\0' ? h->name : h->id;
}

static int
tl_rank(const char *kind)
{
	const char *s, *e;
	size_t i, n = strlen(kind);

	for (i = 0; i < PK_NELEM(tl_order); i++)
		for (s = tl_order[i]; *s != '\0'; s = *e ? e + 1 : e) {
			e = strchr(s, '|');
			if (e == NULL)
				e = s + strlen(s);
			if ((size_t)(e - s) == n && strncmp(s, kind, n) == 0)
				return (int)i;
		}
	return (int)PK_NELEM(tl_order);
}

struct tl {
	int64_t		 t;
	int		 rank;
	size_t		 seq;
	json_t		*o;
};

static int
tl_cmp(const void *a, const void *b)
{
	const struct tl *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

static int
tl_add(struct tl **v, size_t *n, size_t *cap, int64_t t, const char *kind,
    const char *text, const char *agent, const char *actor)
{
	json_t *o;

	if (pk_grow(v, cap, *n, sizeof(**v)) == -1)
		return -1;
	o = json_pack("{s:o,s:s,s:o,s:o,s:o}", "time", jtime(t), "kind", kind,
	    "text", hub_json_str(text), "agent_id", agent != NULL ?
	    hub_json_str(agent) : json_null(), "actor", actor != NULL ?
	    hub_json_str(actor) : json_null());
	if (o == NULL)
		return -1;
	(*v)[*n].t = t;
	(*v)[*n].rank = tl_rank(kind);
	(*v)[*n].seq = *n;
	(*v)[*n].o = o;
	(*n)++;
	return 0;
}

/* qsort has no context argument: the hosts being sorted.  The hub runs
 * one event loop, and nothing here calls back into it while sorting. */
static const struct ihost *sort_hosts;

/* Hosts with indicators by first indicator, then the others by id. */
static int
host_cmp(const void *a, const void *b)
{
	const struct ihost *x = &sort_hosts[*(const uint32_t *)a];
	const struct ihost *y = &sort_hosts[*(const uint32_t *)b];

	if (x->first_us != y->first_us)
		return x->first_us < y->first_us ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* The hosts in output order (caller frees). */
static uint32_t *
host_order(const struct calc *c)
{
	uint32_t *idx;
	size_t i;

	if ((idx = malloc((c->nhosts + 1) * sizeof(*idx))) == NULL)
		return NULL;
	for (i = 0; i < c->nhosts; i++)
		idx[i] = (uint32_t)i;
	sort_hosts = c->hosts;
	if (c->nhosts > 1)
		qsort(idx, c->nhosts, sizeof(*idx), host_cmp);
	sort_hosts = NULL;
	return idx;
}

static void
task_outcome_text(const struct itask *k, char *out, size_t cap)
{
	size_t n;
	int s, first = 1;

	n = (size_t)snprintf(out, cap, "task %lld (%s) finished:",
	    (long long)k->id, pk_task_type_name(k->type));
	for (s = PK_TS_DONE; s < PK_TS_NSTATES && n < cap; s++) {
		if (k->counts[s] == 0)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s %llu %s",
		    first ? "" : ",", (unsigned long long)k->counts[s],
		    pk_task_state_name(s));
		first = 0;
	}
}

static json_t *
timeline_json(const struct calc *c, const uint32_t *order)
{
	char text[TEXT_MAX];
	struct tl *v = NULL;
	size_t n = 0, cap = 0, i;
	const struct ihost *h;
	const struct itask *k;
	json_t *arr = NULL;
	int bad = 0, s, final;

	if (c->indicators > 0) {
		h = &c->hosts[c->first_host];
		snprintf(text, sizeof(text), "%.256s (%.256s) on %.255s",
		    c->first_name[0] != '\0' ? c->first_name : c->first_rule,
		    c->first_rule, host_label(h));
		bad |= tl_add(&v, &n, &cap, c->first_us, "first_indicator",
		    text, h->id, NULL);
	}
	for (i = 0; i < c->nhosts && !bad; i++) {
		h = &c->hosts[order[i]];
		if (h->nind == 0)
			break;		/* the rest have no indicators */
		if (i == 0)
			snprintf(text, sizeof(text), "%.255s is the first host "
			    "affected", host_label(h));
		else
			snprintf(text, sizeof(text), "%.255s affected (host "
			    "%zu of the incident)", host_label(h), i + 1);
		bad |= tl_add(&v, &n, &cap, h->first_us, i == 0 ?
		    "first_host" : "new_host", text, h->id, NULL);
	}
	for (i = 0; i < c->nevents && !bad; i++)
		bad |= tl_add(&v, &n, &cap, c->events[i].ts_us,
		    c->events[i].kind, c->events[i].text, NULL,
		    c->events[i].actor);
	for (i = 0; i < c->ntasks && !bad; i++) {
		k = &c->tasks[i];
		if (!k->found)
			continue;
		snprintf(text, sizeof(text), "task %lld (%s) ordered by %.64s "
		    "on %llu host%s", (long long)k->id,
		    pk_task_type_name(k->type), k->created_by,
		    (unsigned long long)k->nhosts, k->nhosts == 1 ? "" : "s");
		bad |= tl_add(&v, &n, &cap, k->created_us, "task_ordered", text,
		    NULL, k->created_by);
		for (final = k->nhosts > 0, s = 1; s < PK_TS_NSTATES; s++)
			if (k->counts[s] > 0 && !pk_task_state_final(s))
				final = 0;
		if (!final || bad)
			continue;
		task_outcome_text(k, text, sizeof(text));
		bad |= tl_add(&v, &n, &cap, k->last_us, "task_finished", text,
		    NULL, NULL);
	}
	for (i = 0; i < c->nshared && !bad; i++) {
		const struct hub_shared *x = &c->shared[i];

		snprintf(text, sizeof(text), "%.64s (%.128s) shared %s %.400s "
		    "under %s", x->peer, x->origin[0] != '\0' ? x->origin :
		    x->peer, x->kind, x->value, hub_tlp_name(x->tlp) != NULL ?
		    hub_tlp_name(x->tlp) : "TLP:?");
		bad |= tl_add(&v, &n, &cap, x->first_received_us,
		    "shared_received", text, NULL, NULL);
	}
	for (i = 0; i < c->nsent && !bad; i++) {
		const struct hub_sent_value *y = &c->sent[i];

		snprintf(text, sizeof(text), "sent %s %.400s to %.64s under %s "
		    "(bundle %llu)", y->kind, y->value, y->peer,
		    hub_tlp_name(y->tlp) != NULL ? hub_tlp_name(y->tlp) :
		    "TLP:?", (unsigned long long)y->seq);
		bad |= tl_add(&v, &n, &cap, y->sent_us, "shared_sent", text,
		    NULL, NULL);
	}
	if (!bad && n > 0)
		qsort(v, n, sizeof(*v), tl_cmp);
	if (!bad && (arr = json_array()) != NULL)
		for (i = 0; i < n; i++) {
			bad |= json_array_append(arr, v[i].o);
		}
	for (i = 0; i < n; i++)
		json_decref(v[i].o);
	free(v);
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *
links_json(const struct calc *c)
{
	json_t *ob, *ind, *hosts, *tasks, *o;
	const char *v, *colon;
	const char *why;
	uint64_t id;
	size_t i;
	int bad = 0;

	ob = json_array();
	ind = json_array();
	hosts = json_array();
	tasks = json_array();
	o = json_pack("{s:o,s:o,s:o,s:o}", "outbreaks", ob, "indicators", ind,
	    "hosts", hosts, "tasks", tasks);
	if (o == NULL)
		return NULL;
	for (i = 0; i < c->nlinks && !bad; i++) {
		v = c->links[i].value;
		switch (c->links[i].kind) {
		case HUB_LINK_OUTBREAK:
			if ((colon = strchr(v, ':')) == NULL)
				break;
			bad |= json_array_append_new(ob, json_pack(
			    "{s:s%,s:o,s:o}", "kind", v, (size_t)(colon - v),
			    "key", hub_json_str(colon + 1), "value",
			    hub_json_str(v)));
			break;
		case HUB_LINK_INDICATOR:
			bad |= json_array_append_new(ind, hub_json_str(v));
			break;
		case HUB_LINK_HOST:
			bad |= json_array_append_new(hosts, hub_json_str(v));
			break;
		case HUB_LINK_TASK:
			if (pk_parse_u64(v, 1, INT64_MAX, &id, &why) == 0)
				bad |= json_array_append_new(tasks,
				    json_integer((json_int_t)id));
			break;
		}
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
states_json(const struct itask *k, int outcomes)
{
	json_t *o = json_object();
	uint64_t running = 0;
	int s, bad = 0;
	static const int fixed[] = { PK_TS_DONE, PK_TS_REFUSED, PK_TS_FAILED,
	    PK_TS_EXPIRED, PK_TS_CANCELLED };

	if (o == NULL)
		return NULL;
	if (!outcomes) {
		for (s = 1; s < PK_TS_NSTATES; s++)
			if (k->counts[s] > 0)
				bad |= put(o, pk_task_state_name(s),
				    jint(k->counts[s]));
	} else {
		/* the report: final states, and "running" for the hosts
		 * not final yet (queued, sent or running) */
		for (s = 0; s < (int)PK_NELEM(fixed); s++)
			bad |= put(o, pk_task_state_name(fixed[s]),
			    jint(k->counts[fixed[s]]));
		for (s = 1; s < PK_TS_NSTATES; s++)
			if (!pk_task_state_final(s))
				running += k->counts[s];
		bad |= put(o, "running", jint(running));
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
tasks_json(const struct calc *c, int report)
{
	const struct itask *k;
	json_t *arr = json_array(), *o;
	size_t i;
	int bad = 0;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < c->ntasks && !bad; i++) {
		k = &c->tasks[i];
		if (!k->found)
			continue;
		if (!report)
			o = json_pack("{s:I,s:s,s:o,s:o,s:o,s:o}", "id",
			    (json_int_t)k->id, "type",
			    pk_task_type_name(k->type), "created",
			    jtime(k->created_us), "created_by",
			    hub_json_str(k->created_by), "hosts",
			    jint(k->nhosts), "states", states_json(k, 0));
		else
			o = json_pack("{s:I,s:s,s:o,s:o,s:o,s:o,s:O}", "id",
			    (json_int_t)k->id, "type",
			    pk_task_type_name(k->type), "created",
			    jtime(k->created_us), "hosts", jint(k->nhosts),
			    "outcomes", states_json(k, 1), "bytes",
			    jint(k->bytes), "refusals", k->refusals);
		bad |= json_array_append_new(arr, o);
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *
classes_json(unsigned mask)
{
	json_t *a = json_array();
	int k;

	for (k = 0; a != NULL && k < C__N; k++)
		if ((mask & (1u << k)) && json_array_append_new(a,
		    json_string(class_names[k])) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The incident's hosts: the record's form, or the report's. */
static json_t *
hosts_json(const struct calc *c, const uint32_t *order, int report)
{
	const struct ihost *h;
	json_t *arr = json_array(), *o;
	size_t i;
	int bad = 0;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < c->nhosts && !bad; i++) {
		h = &c->hosts[order[i]];
		o = json_pack("{s:o,s:o,s:o}", "agent_id", hub_json_str(h->id),
		    "host_name", hub_json_str(h->name), "first_seen",
		    h->nind > 0 ? jtime(h->first_us) : json_null());
		if (o != NULL)
			bad |= report ? put(o, "classes",
			    classes_json(h->classes)) : put(o, "indicators",
			    jint(h->nind));
		bad |= json_array_append_new(arr, o);
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *
record_json(const struct calc *c)
{
	const struct inc *inc = c->inc;
	uint32_t *order;
	json_t *o;
	int bad = 0;

	if ((order = host_order(c)) == NULL || (o = json_object()) == NULL) {
		free(order);
		return NULL;
	}
	bad |= put(o, "id", json_integer(inc->r.id));
	bad |= put(o, "title", hub_json_str(inc->r.title));
	bad |= put(o, "state", json_string(hub_inc_state_name(inc->r.state) ?
	    hub_inc_state_name(inc->r.state) : "open"));
	bad |= put(o, "owner", hub_json_str(inc->r.owner));
	bad |= put(o, "created", jtime(inc->r.created_us));
	bad |= put(o, "created_by", hub_json_str(inc->r.created_by));
	bad |= put(o, "since", jtime(inc->r.since_us));
	bad |= put(o, "contained", jtime(inc->r.contained_us));
	bad |= put(o, "closed", jtime(inc->r.closed_us));
	bad |= put(o, "lessons", hub_json_str(inc->r.lessons));
	bad |= put(o, "links", links_json(c));
	bad |= put(o, "hosts", hosts_json(c, order, 0));
	bad |= put(o, "indicators", jint(c->indicators));
	bad |= put(o, "truncated", json_boolean(c->truncated));
	bad |= put(o, "tasks", tasks_json(c, 0));
	bad |= put(o, "timeline", timeline_json(c, order));
	free(order);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------ report */

static int
class_of(const struct hub_indicator *d)
{
	char key[HUB_OB_KEY_MAX], label[HUB_OB_LABEL_MAX];

	switch (hub_outbreak_classify(d, key, sizeof(key), label,
	    sizeof(label))) {
	case HUB_OB_FINGERPRINT:
		return C_FP;
	case HUB_OB_IOC:
		return C_IOC;
	case HUB_OB_SCAN:
		return C_SCAN;
	case HUB_OB_RULE:
		return strncmp(d->rule_id, "picket.process.", 15) == 0 ?
		    C_PROC : C_SIG;
	}
	return -1;
}

static int
class_row(void *arg, const struct hub_indicator *d)
{
	struct calc *c = arg;
	struct iclass *k;
	uint32_t hi, r;
	int cl;
	int64_t t;

	if (budget(c))
		return 1;
	if ((cl = class_of(d)) < 0 || (hi = host_find(c, d->agent_id)) ==
	    EMPTY)
		return 0;
	k = &c->cls[cl];
	t = row_time(d);
	c->hosts[hi].classes |= 1u << cl;
	if (k->indicators == 0 || t < k->first_us) {
		k->first_us = t;
		k->first_host = hi;
	}
	k->indicators++;
	for (r = 0; r < k->nrules; r++)
		if (strcmp(k->rules[r], d->rule_id) == 0)
			break;
	if (r == k->nrules && k->nrules < RULES_LISTED)
		pk_strlcpy(k->rules[k->nrules++], d->rule_id,
		    sizeof(k->rules[0]));
	return 0;
}

/*
 * Every alert on the incident's hosts inside the window, by detection
 * class: which detector saw each host, and when it first saw one.
 */
static int
classify_hosts(struct calc *c)
{
	struct hub_alert_filter f;
	json_t *ids;
	size_t i;
	char *s;
	int rc;

	if (c->nhosts == 0)
		return 0;
	if (c->scanned >= HUB_INC_SCAN_MAX) {
		c->truncated = 1;
		return 0;
	}
	if ((ids = json_array()) == NULL)
		return -1;
	for (i = 0; i < c->nhosts; i++)
		if (json_array_append_new(ids, hub_json_str(c->hosts[i].id)) ==
		    -1) {
			json_decref(ids);
			return -1;
		}
	s = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	if (s == NULL)
		return -1;
	memset(&f, 0, sizeof(f));
	f.since_us = c->since_us;
	f.until_us = c->until_us;
	f.agents = s;
	f.limit = HUB_INC_SCAN_MAX - c->scanned + 1;
	rc = c->st->ops->alerts(c->st, &f, class_row, c);
	free(s);
	for (i = 0; i < c->nhosts; i++) {
		int k;

		for (k = 0; k < C__N; k++)
			if (c->hosts[i].classes & (1u << k))
				c->cls[k].hosts++;
	}
	return rc;
}

static json_t *
detections_json(const struct calc *c)
{
	const struct iclass *k;
	json_t *arr = json_array(), *rules, *o;
	int order[C__N], i, j, t, bad = 0;
	uint32_t r;

	if (arr == NULL)
		return NULL;
	/* the classes that saw something, the earliest first */
	for (i = 0, j = 0; i < C__N; i++)
		if (c->cls[i].indicators > 0)
			order[j++] = i;
	for (i = 1; i < j; i++)
		for (t = i; t > 0 && c->cls[order[t]].first_us <
		    c->cls[order[t - 1]].first_us; t--) {
			int x = order[t];

			order[t] = order[t - 1];
			order[t - 1] = x;
		}
	for (i = 0; i < j && !bad; i++) {
		k = &c->cls[order[i]];
		if ((rules = json_array()) == NULL) {
			bad = 1;
			break;
		}
		for (r = 0; r < k->nrules; r++)
			bad |= json_array_append_new(rules,
			    hub_json_str(k->rules[r]));
		o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "class",
		    class_names[order[i]], "first_seen", jtime(k->first_us),
		    "first_host", hub_json_str(host_label(
		    &c->hosts[k->first_host])), "hosts", jint(k->hosts),
		    "indicators", jint(k->indicators), "rules", rules);
		bad |= json_array_append_new(arr, o);
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static json_t *
seen_only_json(const struct calc *c, const uint32_t *order)
{
	json_t *o = json_object(), *a[C__N];
	const struct ihost *h;
	size_t i;
	int k, bad = 0;

	if (o == NULL)
		return NULL;
	for (k = 0; k < C__N; k++)
		bad |= put(o, class_names[k], a[k] = json_array());
	for (i = 0; i < c->nhosts && !bad; i++) {
		h = &c->hosts[order[i]];
		/* exactly one class saw this host */
		if (h->classes == 0 || (h->classes & (h->classes - 1)) != 0)
			continue;
		for (k = 0; k < C__N; k++)
			if (h->classes == 1u << k)
				bad |= json_array_append_new(a[k],
				    hub_json_str(host_label(h)));
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
jsecs(int64_t from, int64_t to)
{
	if (from <= 0 || to <= 0)
		return json_null();
	return json_real((double)(to - from) / 1e6);
}

static json_t *
figures_json(const struct calc *c)
{
	const struct inc *inc = c->inc;
	int64_t first = c->indicators > 0 ? c->first_us : 0, task = 0;
	uint64_t affected = 0;
	size_t i;

	for (i = 0; i < c->ntasks; i++)
		if (c->tasks[i].found && (task == 0 ||
		    c->tasks[i].created_us < task))
			task = c->tasks[i].created_us;
	for (i = 0; i < c->nhosts; i++)
		affected += c->hosts[i].nind > 0;
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}",
	    "first_indicator", first > 0 ? jtime(first) : json_null(),
	    "time_to_detect_s", jsecs(first, inc->r.created_us),
	    "time_to_first_task_s", jsecs(first, task),
	    "time_to_contain_s", jsecs(first, inc->r.contained_us),
	    "time_to_close_s", jsecs(first, inc->r.closed_us),
	    "hosts_affected", jint(affected),
	    "indicators", jint(c->indicators),
	    "truncated", c->truncated);
}

/* HUB_INC_BUCKETS counts of hosts affected by each bucket's end. */
static json_t *
over_time_json(const struct calc *c)
{
	int64_t start = c->first_us, end = c->until_us - 1, bucket;
	uint64_t n;
	json_t *arr = json_array();
	size_t i;
	int b, bad = 0;

	if (arr == NULL)
		return NULL;
	if (c->indicators == 0) {
		for (b = 0; b < HUB_INC_BUCKETS; b++)
			bad |= json_array_append_new(arr, json_integer(0));
		return json_pack("{s:n,s:i,s:o}", "start", "bucket_seconds", 0,
		    "cumulative", arr);
	}
	bucket = end > start ? (end - start + HUB_INC_BUCKETS - 1) /
	    HUB_INC_BUCKETS : 1;
	/* whole seconds, at least one, so the axis can be labelled */
	bucket = (bucket + HUB_USEC - 1) / HUB_USEC * HUB_USEC;
	for (b = 0; b < HUB_INC_BUCKETS && !bad; b++) {
		for (n = 0, i = 0; i < c->nhosts; i++)
			n += c->hosts[i].nind > 0 && c->hosts[i].first_us <
			    start + (int64_t)(b + 1) * bucket;
		bad |= json_array_append_new(arr, jint(n));
	}
	if (bad) {
		json_decref(arr);
		return NULL;
	}
	return json_pack("{s:o,s:I,s:o}", "start", jtime(start),
	    "bucket_seconds", (json_int_t)(bucket / HUB_USEC), "cumulative",
	    arr);
}

static json_t *sharing_json(const struct calc *c);

static json_t *
report_build(struct calc *c, int final)
{
	const struct inc *inc = c->inc;
	uint32_t *order;
	json_t *o, *head;
	int bad = 0;

	if ((order = host_order(c)) == NULL || (o = json_object()) == NULL) {
		free(order);
		return NULL;
	}
	head = json_pack("{s:I,s:o,s:s,s:o,s:o,s:o,s:o}", "id",
	    (json_int_t)inc->r.id, "title", hub_json_str(inc->r.title),
	    "state", hub_inc_state_name(inc->r.state) ?
	    hub_inc_state_name(inc->r.state) : "open", "owner",
	    hub_json_str(inc->r.owner), "created", jtime(inc->r.created_us),
	    "contained", jtime(inc->r.contained_us), "closed",
	    jtime(inc->r.closed_us));
	bad |= put(o, "incident", head);
	bad |= put(o, "final", json_boolean(final));
	bad |= put(o, "generated", jtime(c->now_us));
	bad |= put(o, "figures", figures_json(c));
	bad |= put(o, "timeline", timeline_json(c, order));
	bad |= put(o, "hosts_over_time", over_time_json(c));
	bad |= put(o, "detections", detections_json(c));
	bad |= put(o, "hosts_seen_only_by", seen_only_json(c, order));
	bad |= put(o, "hosts", hosts_json(c, order, 1));
	bad |= put(o, "tasks", tasks_json(c, 1));
	bad |= put(o, "sharing", sharing_json(c));
	bad |= put(o, "lessons", hub_json_str(inc->r.lessons));
	free(order);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* What peers shared about the incident's outbreaks, oldest first. */
static json_t *
sharing_json(const struct calc *c)
{
	const struct hub_shared *x;
	const struct hub_sent_value *y;
	json_t *rec, *sent, *o;
	size_t i;
	int bad = 0;

	if ((sent = json_array()) == NULL)
		return NULL;
	for (i = 0; i < c->nsent && !bad; i++) {
		y = &c->sent[i];
		o = json_pack("{s:o,s:s,s:o,s:s,s:o,s:I}", "peer",
		    hub_json_str(y->peer), "kind", y->kind, "value",
		    hub_json_str(y->value), "tlp", hub_tlp_name(y->tlp) != NULL ?
		    hub_tlp_name(y->tlp) : "TLP:RED", "sent", jtime(y->sent_us),
		    "sequence", (json_int_t)PK_MIN(y->seq,
		    (uint64_t)INT64_MAX));
		bad |= o == NULL || json_array_append_new(sent, o) == -1;
	}
	if (bad || (rec = json_array()) == NULL) {
		json_decref(sent);
		return NULL;
	}
	for (i = 0; i < c->nshared && !bad; i++) {
		x = &c->shared[i];
		o = json_pack("{s:o,s:o,s:s,s:o,s:s,s:o,s:o,s:s}", "peer",
		    hub_json_str(x->peer), "origin", hub_json_str(x->origin),
		    "kind", x->kind, "value", hub_json_str(x->value), "tlp",
		    hub_tlp_name(x->tlp) != NULL ? hub_tlp_name(x->tlp) :
		    "TLP:RED", "first_received", jtime(x->first_received_us),
		    "hosts", json_integer((json_int_t)x->hosts), "state",
		    x->state == HUB_SHARED_APPROVED ? "approved" :
		    x->state == HUB_SHARED_REJECTED ? "rejected" : "pending");
		bad |= o == NULL || json_array_append_new(rec, o) == -1;
	}
	if (bad) {
		json_decref(rec);
		json_decref(sent);
		return NULL;
	}
	return json_pack("{s:o,s:o,s:s}", "sent", sent, "received", rec,
	    "note", "the worm fingerprints and IOC values of this incident's "
	    "outbreaks that went to peers and came from them");
}

static json_t *
report_json(struct hub_store *st, const struct inc *inc, int64_t now_us,
    int final, char *err, size_t errlen)
{
	struct calc c;
	json_t *rep = NULL;

	if (calc_run(&c, st, inc, now_us, err, errlen) == 0) {
		if (classify_hosts(&c) == -1 || c.nomem)
			pk_errf(err, errlen, "store unavailable");
		else if ((rep = report_build(&c, final)) == NULL)
			pk_errf(err, errlen, "out of memory");
	}
	calc_free(&c);
	return rep;
}

/* Lessons edited after closing: into the kept report, with the event. */
static int
report_patch_lessons(struct inc *c, const char *lessons, int64_t now_us,
    const char *actor)
{
	char text[200];
	json_t *rep, *tl, *ev;
	char *s;

	if ((rep = json_loads(c->report, 0, NULL)) == NULL)
		return 0;	/* unreadable: left for the next close */
	snprintf(text, sizeof(text), "lessons edited by %.64s", actor);
	ev = json_pack("{s:o,s:s,s:s,s:n,s:o}", "time", jtime(now_us), "kind",
	    "lessons", "text", text, "agent_id", "actor", hub_json_str(actor));
	if (ev == NULL || json_object_set_new(rep, "lessons",
	    hub_json_str(lessons)) == -1) {
		json_decref(ev);
		json_decref(rep);
		return -1;
	}
	if ((tl = json_object_get(rep, "timeline")) != NULL &&
	    json_is_array(tl))
		(void)json_array_append(tl, ev);
	json_decref(ev);
	s = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	if (s == NULL)
		return -1;
	free(c->report);
	c->report = s;
	return 0;
}

static int
exists_row(void *arg, const struct hub_incident *i)
{
	(void)arg;
	(void)i;
	return 0;
}

int
hub_incident_exists(struct hub_store *st, int64_t id, int *found)
{
	*found = 0;
	return st->ops->incident_get(st, id, exists_row, NULL, found);
}

json_t *
hub_incident_get(struct hub_store *st, int64_t id, int64_t now_us,
    int *found, char *err, size_t errlen)
{
	struct calc c;
	struct inc inc;
	json_t *o = NULL;

	*found = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (inc_load(st, id, &inc, found, err, errlen) == -1 || !*found)
		return NULL;
	if (calc_run(&c, st, &inc, now_us, err, errlen) == 0 &&
	    (o = record_json(&c)) == NULL)
		pk_errf(err, errlen, "out of memory");
	calc_free(&c);
	inc_free(&inc);
	return o;
}

json_t *
hub_incident_report(struct hub_store *st, int64_t id, int64_t now_us,
    int *found, char *err, size_t errlen)
{
	struct inc inc;
	json_t *rep = NULL;

	*found = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (inc_load(st, id, &inc, found, err, errlen) == -1 || !*found)
		return NULL;
	if (inc.r.state == HUB_INC_CLOSED && inc.report[0] != '\0')
		rep = json_loads(inc.report, 0, NULL);
	if (rep == NULL)
		rep = report_json(st, &inc, now_us, 0, err, errlen);
	inc_free(&inc);
	return rep;
}
