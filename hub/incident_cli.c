/*
 * incident_cli.c - `picket-hub incident list|show|create|link|note|set|
 * report` (docs/incidents.md): the incident team's command line, for a
 * hub without its API or a responder at the console.  Like `picket-hub
 * task` it opens the store directly (-c hub.ini or --db PATH, hub/cli.c; WAL
 * lets it run beside `serve`) and calls the same library as the API
 * (hub/incidents.h), so the rules and refusals are the same; every change
 * is one audit row like the API's, actor "cli".  What people wrote
 * (titles, notes, lessons) is printed with control bytes replaced, so a
 * note cannot drive the terminal.  Exit status: 0 done, 1 refused, not
 * found or a store error, 2 usage.  Called by hub/main.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/pktime.h"
#include "common/util.h"
#include "hub/apiparam.h"
#include "hub/cli.h"
#include "hub/incidents.h"
#include "hub/store.h"

#define LIST_DEF	50
#define LIST_MAX	100000
#define TARGET_MAX	(HUB_INC_ERR_MAX + 64)	/* hub_audit cuts it */
#define ACTOR		"cli"

enum { O_DB = 600, O_STATE, O_OWNER, O_TITLE, O_OUTBREAK, O_SINCE,
	O_LESSONS, O_PDF, O_JSON, O_LIMIT };

static void
usage(void)
{
	fprintf(stderr,
	    "usage: picket-hub incident list [--state open|contained|closed] "
	    "[--limit N] [--json]\n"
	    "       picket-hub incident show ID [--json]\n"
	    "       picket-hub incident create --title T [--owner O] "
	    "[--outbreak KIND:KEY]\n"
	    "           [--since 48h|RFC3339]\n"
	    "       picket-hub incident link ID outbreak|indicator|host|task "
	    "VALUE\n"
	    "       picket-hub incident note ID TEXT\n"
	    "       picket-hub incident set ID [--state S] [--owner O] "
	    "[--title T]\n"
	    "           [--lessons-file FILE]\n"
	    "       picket-hub incident report ID [--pdf FILE | --json]\n"
	    "       each with [-c hub.ini | --db PATH]\n");
}

struct opts {
	struct hub_cli_where where;	/* -c, --db */
	const char	*state, *owner, *title, *outbreak, *since;
	const char	*lessons, *pdf, *limit;
	int		 json;
};

static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "state", required_argument, NULL, O_STATE },
		{ "owner", required_argument, NULL, O_OWNER },
		{ "title", required_argument, NULL, O_TITLE },
		{ "outbreak", required_argument, NULL, O_OUTBREAK },
		{ "since", required_argument, NULL, O_SINCE },
		{ "lessons-file", required_argument, NULL, O_LESSONS },
		{ "pdf", required_argument, NULL, O_PDF },
		{ "json", no_argument, NULL, O_JSON },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':	o->where.conf = optarg; break;
		case O_DB:	o->where.db = optarg; break;
		case O_STATE:	o->state = optarg; break;
		case O_OWNER:	o->owner = optarg; break;
		case O_TITLE:	o->title = optarg; break;
		case O_OUTBREAK: o->outbreak = optarg; break;
		case O_SINCE:	o->since = optarg; break;
		case O_LESSONS:	o->lessons = optarg; break;
		case O_PDF:	o->pdf = optarg; break;
		case O_JSON:	o->json = 1; break;
		case O_LIMIT:	o->limit = optarg; break;
		default:
			return -1;
		}
	}
	return 0;
}

static void
audit(struct hub_store *st, const char *action, const char *target,
    int rc)
{
	hub_cli_audit(st, action, target, rc == 0 ? "ok" : rc == 1 ? "400" :
	    rc == 2 ? "404" : "500");
}

/* An id argument: 0 (after usage) if it is not one. */
static int64_t
parse_id(const char *s)
{
	const char *why;
	uint64_t v;

	if (s == NULL || pk_parse_u64(s, 1, INT64_MAX, &v, &why) == -1) {
		fprintf(stderr, "picket-hub: incident id: %s\n", s == NULL ?
		    "missing" : why);
		return 0;
	}
	return (int64_t)v;
}

/* ------------------------------------------------------------ printing */

/*
 * Untrusted text to the terminal: C0 and C1 controls and DEL become '?';
 * with indent, a newline starts an indented line instead.
 */
static void
put_text(const char *s, const char *indent)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p == '\n' && indent != NULL) {
			fputc('\n', stdout);
			fputs(indent, stdout);
		} else if (*p < 0x20 || *p == 0x7f) {
			fputc('?', stdout);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fputc('?', stdout);	/* U+0080..U+009F */
			p++;
		} else {
			fputc(*p, stdout);
		}
	}
}

/* A string member, "-" for null or missing; numbers as text. */
static const char *
js(const json_t *o, const char *key, char *buf, size_t cap)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		snprintf(buf, cap, "%.1f", json_real_value(v));
		return buf;
	}
	if (json_is_true(v))
		return "yes";
	if (json_is_false(v))
		return "no";
	return "-";
}

static int
print_json(const json_t *o)
{
	return hub_cli_json_line(o, JSON_INDENT(2) | JSON_SORT_KEYS);
}

/* "done 2, refused 1" from an object of counts. */
static void
print_counts(const json_t *o)
{
	const char *k;
	json_t *v;
	int first = 1;

	json_object_foreach((json_t *)o, k, v) {
		if (!json_is_integer(v) || json_integer_value(v) == 0)
			continue;
		printf("%s", first ? "" : ", ");
		put_text(k, NULL);
		printf(" %lld", (long long)json_integer_value(v));
		first = 0;
	}
	if (first)
		printf("-");
}

static void
print_timeline(const json_t *tl)
{
	char b1[32];
	const json_t *e;
	size_t i;

	printf("timeline:\n");
	json_array_foreach((json_t *)tl, i, e) {
		printf("  %-27s %-16s ", js(e, "time", b1, sizeof(b1)),
		    js(e, "kind", b1, sizeof(b1)));
		put_text(js(e, "text", b1, sizeof(b1)), "    ");
		if (json_is_string(json_object_get(e, "actor"))) {
			printf(" (");
			put_text(js(e, "actor", b1, sizeof(b1)), NULL);
			printf(")");
		}
		printf("\n");
	}
}

static void
print_links(const json_t *links)
{
	static const char *const kinds[][2] = {
		{ "outbreaks", "outbreak" }, { "indicators", "indicator" },
		{ "hosts", "host" }, { "tasks", "task" },
	};
	char b[32];
	const json_t *v;
	size_t i, k, n = 0;

	printf("links:\n");
	for (k = 0; k < PK_NELEM(kinds); k++) {
		json_array_foreach(json_object_get(links, kinds[k][0]), i, v) {
			printf("  %-10s ", kinds[k][1]);
			if (json_is_object(v))
				put_text(js(v, "value", b, sizeof(b)), NULL);
			else if (json_is_integer(v))
				printf("%lld", (long long)json_integer_value(v));
			else if (json_is_string(v))
				put_text(json_string_value(v), NULL);
			printf("\n");
			n++;
		}
	}
	if (n == 0)
		printf("  -\n");
}

static void
print_record(const json_t *o)
{
	char b1[32], b2[32];
	const json_t *v, *arr;
	size_t i;

	printf("incident %s: ", js(o, "id", b1, sizeof(b1)));
	put_text(js(o, "title", b1, sizeof(b1)), NULL);
	printf("\nstate:      %s\nowner:      ", js(o, "state", b1,
	    sizeof(b1)));
	put_text(js(o, "owner", b1, sizeof(b1))[0] != '\0' ? js(o, "owner",
	    b1, sizeof(b1)) : "-", NULL);
	printf("\ncreated:    %s by ", js(o, "created", b1, sizeof(b1)));
	put_text(js(o, "created_by", b1, sizeof(b1)), NULL);
	printf("\nsince:      %s\ncontained:  %s\n", js(o, "since", b1,
	    sizeof(b1)), js(o, "contained", b2, sizeof(b2)));
	printf("closed:     %s\nindicators: %s%s\n", js(o, "closed", b1,
	    sizeof(b1)), js(o, "indicators", b2, sizeof(b2)),
	    json_is_true(json_object_get(o, "truncated")) ?
	    " (truncated: more rows than one computation reads)" : "");
	print_links(json_object_get(o, "links"));
	arr = json_object_get(o, "hosts");
	printf("hosts: %zu\n", json_array_size(arr));
	json_array_foreach((json_t *)arr, i, v) {
		printf("  %-24s ", js(v, "agent_id", b1, sizeof(b1)));
		put_text(js(v, "host_name", b1, sizeof(b1)), NULL);
		printf("  first seen %s, %s indicator(s)\n", js(v, "first_seen",
		    b1, sizeof(b1)), js(v, "indicators", b2, sizeof(b2)));
	}
	arr = json_object_get(o, "tasks");
	printf("tasks: %zu\n", json_array_size(arr));
	json_array_foreach((json_t *)arr, i, v) {
		printf("  task %s %s, ", js(v, "id", b1, sizeof(b1)),
		    js(v, "type", b2, sizeof(b2)));
		printf("%s by ", js(v, "created", b1, sizeof(b1)));
		put_text(js(v, "created_by", b1, sizeof(b1)), NULL);
		printf(", %s host(s): ", js(v, "hosts", b1, sizeof(b1)));
		print_counts(json_object_get(v, "states"));
		printf("\n");
	}
	print_timeline(json_object_get(o, "timeline"));
	printf("lessons:\n  ");
	put_text(js(o, "lessons", b1, sizeof(b1))[0] != '\0' ? js(o,
	    "lessons", b1, sizeof(b1)) : "-", "  ");
	printf("\n");
}

/* A figure in seconds as "1h 02m 03s", "-" when it has not happened. */
static void
print_secs(const char *label, const json_t *v)
{
	double s;
	long long t;

	printf("%-22s ", label);
	if (!json_is_number(v)) {
		printf("-\n");
		return;
	}
	s = json_number_value(v);
	t = (long long)s;
	if (t >= 3600)
		printf("%lldh %02lldm %02llds", t / 3600, t / 60 % 60, t % 60);
	else if (t >= 60)
		printf("%lldm %02llds", t / 60, t % 60);
	else
		printf("%.1fs", s);
	printf(" (%.1f s)\n", s);
}

static void
print_report(const json_t *rep)
{
	const json_t *inc = json_object_get(rep, "incident");
	const json_t *fig = json_object_get(rep, "figures"), *v, *only;
	char b1[32], b2[32], b3[32];
	const char *k;
	size_t i, j;

	printf("after-action report, incident %s: ", js(inc, "id", b1,
	    sizeof(b1)));
	put_text(js(inc, "title", b1, sizeof(b1)), NULL);
	printf("\n%s, generated %s; state %s\n",
	    json_is_true(json_object_get(rep, "final")) ? "final" :
	    "draft (the incident is not closed)", js(rep, "generated", b1,
	    sizeof(b1)), js(inc, "state", b2, sizeof(b2)));
	printf("%-22s %s\n", "first indicator", js(fig, "first_indicator", b1,
	    sizeof(b1)));
	print_secs("time to detect", json_object_get(fig, "time_to_detect_s"));
	print_secs("time to first task",
	    json_object_get(fig, "time_to_first_task_s"));
	print_secs("time to contain",
	    json_object_get(fig, "time_to_contain_s"));
	print_secs("time to close", json_object_get(fig, "time_to_close_s"));
	printf("%-22s %s\n%-22s %s%s\n", "hosts affected", js(fig,
	    "hosts_affected", b1, sizeof(b1)), "indicators", js(fig,
	    "indicators", b2, sizeof(b2)),
	    json_is_true(json_object_get(fig, "truncated")) ?
	    " (truncated)" : "");
	printf("detections:\n");
	json_array_foreach(json_object_get(rep, "detections"), i, v) {
		printf("  %-12s first %s on ", js(v, "class", b1, sizeof(b1)),
		    js(v, "first_seen", b2, sizeof(b2)));
		put_text(js(v, "first_host", b1, sizeof(b1)), NULL);
		printf(", %s host(s), %s indicator(s)\n", js(v, "hosts", b1,
		    sizeof(b1)), js(v, "indicators", b2, sizeof(b2)));
	}
	only = json_object_get(rep, "hosts_seen_only_by");
	json_object_foreach((json_t *)only, k, v) {
		if (json_array_size(v) == 0)
			continue;
		printf("  seen only by ");
		put_text(k, NULL);
		printf(":");
		for (j = 0; j < json_array_size(v); j++) {
			const char *h = json_string_value(json_array_get(v, j));

			printf(" ");
			put_text(h != NULL ? h : "?", NULL);
		}
		printf("\n");
	}
	printf("tasks:\n");
	json_array_foreach(json_object_get(rep, "tasks"), i, v) {
		printf("  task %s %s, %s host(s): ", js(v, "id", b1,
		    sizeof(b1)), js(v, "type", b2, sizeof(b2)), js(v, "hosts",
		    b3, sizeof(b3)));
		print_counts(json_object_get(v, "outcomes"));
		printf("\n");
	}
	print_timeline(json_object_get(rep, "timeline"));
	printf("lessons:\n  ");
	put_text(js(rep, "lessons", b1, sizeof(b1))[0] != '\0' ? js(rep,
	    "lessons", b1, sizeof(b1)) : "-", "  ");
	printf("\n");
}

/* ------------------------------------------------------------ commands */

static int
cmd_list(const struct opts *o)
{
	struct hub_store *st;
	char err[HUB_INC_ERR_MAX], b1[32], b2[32];
	const char *why;
	const json_t *v;
	uint64_t limit = LIST_DEF;
	json_t *l;
	size_t i;
	int state = -1;

	if (o->limit != NULL && pk_parse_u64(o->limit, 1, LIST_MAX, &limit,
	    &why) == -1) {
		fprintf(stderr, "picket-hub: --limit: %s\n", why);
		return 2;
	}
	if (o->state != NULL && (state = hub_inc_state_parse(o->state)) < 0) {
		fprintf(stderr, "picket-hub: --state: open, contained or "
		    "closed\n");
		return 2;
	}
	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	err[0] = '\0';
	l = hub_incident_list(st, 0, limit, state, err, sizeof(err));
	st->ops->close(st);
	if (l == NULL) {
		fprintf(stderr, "picket-hub: %s\n", err[0] != '\0' ? err :
		    "store unavailable");
		return 1;
	}
	if (o->json) {
		json_array_foreach(json_object_get(l, "incidents"), i, v)
			(void)hub_cli_json_line(v, JSON_COMPACT);
	} else {
		printf("%-6s %-9s %-27s %-16s %5s %s\n", "ID", "STATE",
		    "CREATED", "OWNER", "LINKS", "TITLE");
		json_array_foreach(json_object_get(l, "incidents"), i, v) {
			printf("%-6s %-9s %-27s ", js(v, "id", b1, sizeof(b1)),
			    js(v, "state", b2, sizeof(b2)), js(v, "created",
			    b1, sizeof(b1)));
			printf("%-16.16s ", js(v, "owner", b1, sizeof(b1))[0] !=
			    '\0' ? js(v, "owner", b1, sizeof(b1)) : "-");
			printf("%5s ", js(v, "links", b1, sizeof(b1)));
			put_text(js(v, "title", b1, sizeof(b1)), NULL);
			printf("\n");
		}
	}
	json_decref(l);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* A read that found nothing: no such incident, or why; the status. */
static int
unread(int found, int64_t id, const char *err)
{
	if (!found && err[0] == '\0')
		fprintf(stderr, "picket-hub: no incident %lld\n",
		    (long long)id);
	else
		fprintf(stderr, "picket-hub: %s\n", err);
	return 1;
}

static int
cmd_show(const struct opts *o, int64_t id)
{
	struct hub_store *st;
	char err[HUB_INC_ERR_MAX];
	json_t *r;
	int found = 0;

	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	err[0] = '\0';
	r = hub_incident_get(st, id, (int64_t)pk_now_us(), &found, err,
	    sizeof(err));
	st->ops->close(st);
	if (r == NULL)
		return unread(found, id, err);
	if (o->json)
		(void)print_json(r);
	else
		print_record(r);
	json_decref(r);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
cmd_create(const struct opts *o)
{
	struct hub_store *st;
	char err[HUB_INC_ERR_MAX], target[TARGET_MAX];
	int64_t now = (int64_t)pk_now_us(), since = 0, id = 0;
	int rc;

	if (o->title == NULL) {
		fprintf(stderr, "picket-hub: incident create: --title is "
		    "required\n");
		return 2;
	}
	if (o->since != NULL && (hub_time_arg(o->since, now, &since) == -1 ||
	    since <= 0 || since > now)) {
		fprintf(stderr, "picket-hub: --since: an RFC 3339 time or a "
		    "duration back from now (48h), not in the future\n");
		return 2;
	}
	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	err[0] = '\0';
	rc = hub_incident_create(st, o->title, o->owner, o->outbreak, since,
	    ACTOR, now, &id, err, sizeof(err));
	if (rc == 0)
		snprintf(target, sizeof(target), "incident/%lld",
		    (long long)id);
	else
		snprintf(target, sizeof(target), "incident: %s", err);
	audit(st, "incident.create", target, rc);
	st->ops->close(st);
	if (rc != 0) {
		fprintf(stderr, "picket-hub: %s\n", err[0] != '\0' ? err :
		    "store unavailable");
		return 1;
	}
	printf("%lld\n", (long long)id);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* What a write returned, said on stderr; the exit status. */
static int
said(int rc, int64_t id, const char *err)
{
	if (rc == 2)
		fprintf(stderr, "picket-hub: no incident %lld\n",
		    (long long)id);
	else if (rc != 0)
		fprintf(stderr, "picket-hub: %s\n", err[0] != '\0' ? err :
		    "store unavailable");
	return rc == 0 ? 0 : 1;
}

static int
cmd_link(const struct opts *o, int64_t id, const char *kind,
    const char *value)
{
	struct hub_store *st;
	char err[HUB_INC_ERR_MAX], target[TARGET_MAX];
	int k, rc, dup = 0;

	if ((k = hub_inc_link_parse(kind)) < 0) {
		fprintf(stderr, "picket-hub: link kind: outbreak, indicator, "
		    "host or task\n");
		return 2;
	}
	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	err[0] = '\0';
	rc = hub_incident_link(st, id, k, value, ACTOR, (int64_t)pk_now_us(),
	    &dup, err, sizeof(err));
	if (rc == 0)
		snprintf(target, sizeof(target), "incident/%lld %s %s",
		    (long long)id, hub_inc_link_name(k), value);
	else
		snprintf(target, sizeof(target), "incident/%lld: %s",
		    (long long)id, err);
	hub_cli_audit(st, "incident.link", target, rc == 0 ? (dup ?
	    "linked already" : "ok") : rc == 1 ? "400" : rc == 2 ? "404" :
	    "500");
	st->ops->close(st);
	if (rc == 0 && dup)
		fprintf(stderr, "incident %lld: linked already\n",
		    (long long)id);
	return said(rc, id, err);
}

static int
cmd_note(const struct opts *o, int64_t id, const char *text)
{
	struct hub_store *st;
	char err[HUB_INC_ERR_MAX], target[TARGET_MAX];
	int rc;

	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	err[0] = '\0';
	rc = hub_incident_note(st, id, text, ACTOR, (int64_t)pk_now_us(), err,
	    sizeof(err));
	if (rc == 0)
		snprintf(target, sizeof(target), "incident/%lld",
		    (long long)id);
	else
		snprintf(target, sizeof(target), "incident/%lld: %s",
		    (long long)id, err);
	audit(st, "incident.note", target, rc);
	st->ops->close(st);
	return said(rc, id, err);
}

/*
 * The lessons file ("-": stdin), whole: at most HUB_INC_LESSONS_MAX
 * bytes, no NUL.  A malloc'd string, or NULL (said).
 */
static char *
read_lessons(const char *path)
{
	char *buf;
	size_t len = 0;
	ssize_t n = 0;
	int fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "picket-hub: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(HUB_INC_LESSONS_MAX + 2)) == NULL) {
		fprintf(stderr, "picket-hub: out of memory\n");
		if (fd != STDIN_FILENO)
			close(fd);
		return NULL;
	}
	/* one byte past the limit tells a file that is too long */
	while (len <= HUB_INC_LESSONS_MAX) {
		n = read(fd, buf + len, HUB_INC_LESSONS_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (n < 0)
		fprintf(stderr, "picket-hub: %s: %s\n", path, strerror(errno));
	if (fd != STDIN_FILENO)
		close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	if (len > HUB_INC_LESSONS_MAX || memchr(buf, '\0', len) != NULL) {
		fprintf(stderr, "picket-hub: %s: lessons are text of at most "
		    "%d bytes\n", path, HUB_INC_LESSONS_MAX);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

static int
cmd_set(const struct opts *o, int64_t id)
{
	struct hub_store *st;
	char err[HUB_INC_ERR_MAX], target[TARGET_MAX], *lessons = NULL;
	int rc;

	if (o->state == NULL && o->owner == NULL && o->title == NULL &&
	    o->lessons == NULL) {
		fprintf(stderr, "picket-hub: incident set: name --state, "
		    "--owner, --title or --lessons-file\n");
		return 2;
	}
	if (o->state != NULL && hub_inc_state_parse(o->state) < 0) {
		fprintf(stderr, "picket-hub: --state: open, contained or "
		    "closed\n");
		return 2;
	}
	if (o->lessons != NULL && (lessons = read_lessons(o->lessons)) == NULL)
		return 1;
	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL) {
		free(lessons);
		return 1;
	}
	err[0] = '\0';
	rc = hub_incident_update(st, id, o->title, o->owner, o->state,
	    lessons, ACTOR, (int64_t)pk_now_us(), err, sizeof(err));
	if (rc == 0)
		snprintf(target, sizeof(target), "incident/%lld%s%s%s%s%s",
		    (long long)id, o->title != NULL ? " title" : "",
		    o->owner != NULL ? " owner" : "", o->state != NULL ?
		    " state=" : "", o->state != NULL ? o->state : "",
		    lessons != NULL ? " lessons" : "");
	else
		snprintf(target, sizeof(target), "incident/%lld: %s",
		    (long long)id, err);
	audit(st, "incident.update", target, rc);
	st->ops->close(st);
	free(lessons);
	return said(rc, id, err);
}

/* Write len bytes to path (mode 0640), whole or not at all said. */
static int
write_file(const char *path, const unsigned char *p, size_t len)
{
	size_t off = 0;
	ssize_t w;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1) {
		fprintf(stderr, "picket-hub: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (off < len) {
		w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "picket-hub: %s: %s\n", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (close(fd) == -1) {
		fprintf(stderr, "picket-hub: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
cmd_report(const struct opts *o, int64_t id)
{
	struct hub_store *st;
	char err[HUB_INC_ERR_MAX];
	unsigned char *pdf = NULL;
	size_t len = 0;
	json_t *rep;
	int found = 0, rc = 0;

	if (o->pdf != NULL && o->json) {
		fprintf(stderr, "picket-hub: incident report: --pdf or "
		    "--json, not both\n");
		return 2;
	}
	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	err[0] = '\0';
	rep = hub_incident_report(st, id, (int64_t)pk_now_us(), &found, err,
	    sizeof(err));
	st->ops->close(st);
	if (rep == NULL)
		return unread(found, id, err);
	if (o->pdf != NULL) {
		if (hub_report_pdf(rep, &pdf, &len, err, sizeof(err)) == -1) {
			fprintf(stderr, "picket-hub: pdf: %s\n", err);
			rc = 1;
		} else if (write_file(o->pdf, pdf, len) == -1) {
			rc = 1;
		} else {
			fprintf(stderr, "incident %lld: report written to %s "
			    "(%zu bytes)\n", (long long)id, o->pdf, len);
		}
		free(pdf);
	} else if (o->json) {
		rc = print_json(rep) == 0 ? 0 : 1;
	} else {
		print_report(rep);
	}
	json_decref(rep);
	return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

int
hub_cmd_incident(int argc, char **argv)
{
	struct opts o;
	const char *sub;
	int64_t id;
	int npos;

	if (argc < 2) {
		usage();
		return 2;
	}
	sub = argv[1];
	if (strcmp(sub, "help") == 0 || strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "--help") == 0) {
		usage();
		return 0;
	}
	if (parse(argc, argv, &o) == -1) {
		usage();
		return 2;
	}
	npos = argc - optind;
	if (strcmp(sub, "list") == 0)
		return npos == 0 ? cmd_list(&o) : (usage(), 2);
	if (strcmp(sub, "create") == 0)
		return npos == 0 ? cmd_create(&o) : (usage(), 2);
	if ((strcmp(sub, "show") == 0 || strcmp(sub, "set") == 0 ||
	    strcmp(sub, "report") == 0) && npos == 1) {
		if ((id = parse_id(argv[optind])) == 0)
			return 2;
		if (strcmp(sub, "show") == 0)
			return cmd_show(&o, id);
		if (strcmp(sub, "set") == 0)
			return cmd_set(&o, id);
		return cmd_report(&o, id);
	}
	if (strcmp(sub, "note") == 0 && npos == 2) {
		if ((id = parse_id(argv[optind])) == 0)
			return 2;
		return cmd_note(&o, id, argv[optind + 1]);
	}
	if (strcmp(sub, "link") == 0 && npos == 3) {
		if ((id = parse_id(argv[optind])) == 0)
			return 2;
		return cmd_link(&o, id, argv[optind + 1], argv[optind + 2]);
	}
	usage();
	return 2;
}
