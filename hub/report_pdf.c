/*
 * report_pdf.c - the after-action report as a PDF (hub_report_pdf() in
 * incidents.h): it renders the report JSON of docs/incidents.md ("The
 * report") with hub/pdf.c: the title block, the figures, a chart of
 * hosts affected over time, the timeline, detections, hosts, tasks,
 * sharing and the lessons.  The JSON is read as untrusted: a field that is
 * missing or of the wrong type prints "-" and the rest goes on, so a
 * report from an older or newer hub still prints.  Everything printed is
 * bounded by pdf.c's caps (pages and bytes); a report that passes them is
 * an error, not a huge file.  Called by hub/api_incidents.c (?format=pdf),
 * hub/incident_cli.c and tests/unit/test_report_pdf.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/pktime.h"
#include "common/util.h"
#include "hub/incidents.h"
#include "hub/pdf.h"

#define X0		PDF_MARGIN
#define WIDTH		(PDF_PAGE_W - 2 * PDF_MARGIN)
#define BODY		9.5		/* body text size */
#define BODY_LEAD	12.5
#define CELL		8.5		/* table text size */
#define CELL_LEAD	10.5
#define CELL_PAD	3.0
#define CELL_LINES	60		/* lines of one cell; a note fits */
#define COLS_MAX	6
#define POINTS_MAX	1000		/* chart points read (48 expected) */
#define COUNT_MAX	1e9		/* a larger host count is not one */
#define REFUSALS_MAX	50		/* refusals listed per task */
#define LIST_MAX	10000		/* names joined into one line */
#define TXT		256		/* one formatted value */
#define DASH		"-"

/* ------------------------------------------------------------ values */

static const char *
jstr(const json_t *o, const char *key)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
jnum(const json_t *v, double *d)
{
	if (!json_is_number(v))
		return 0;
	*d = json_number_value(v);
	return isfinite(*d);
}

/* Any scalar as text: strings as they are, numbers, yes/no, "-". */
static const char *
jtext(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_real(v) && isfinite(json_real_value(v))) {
		snprintf(buf, len, "%.6g", json_real_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "yes" : "no";
	return DASH;
}

/* "2026-11-26 10:02:11 UTC" from RFC 3339; anything else as it came. */
static const char *
fmt_time_us(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		pk_strlcpy(buf, DASH, len);
	return buf;
}

static const char *
fmt_time(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	const char *s;
	int64_t us;

	if (json_is_null(v))
		return "not yet";
	if ((s = jstr(o, key)) == NULL)
		return DASH;
	if (pk_time_parse(s, 1, &us) == -1)
		return s;
	return fmt_time_us(us, buf, len);
}

/* Seconds in human units: "45 s", "22 min 0 s", "3 h 5 min", "2 d 4 h". */
static const char *
fmt_dur(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	double d;
	long long s;

	if (json_is_null(v))
		return "not yet";
	if (!jnum(v, &d) || d < 0 || d > 1e12)
		return DASH;
	s = (long long)floor(d);
	if (s < 60)
		snprintf(buf, len, "%lld s", s);
	else if (s < 3600)
		snprintf(buf, len, "%lld min %lld s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lld d %lld h", s / 86400, s % 86400 / 3600);
	return buf;
}

static const char *
fmt_bytes(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB",
	    "TiB" };
	double d;
	size_t u = 0;

	if (!jnum(v, &d) || d < 0)
		return DASH;
	if (d < 1024) {
		snprintf(buf, len, "%.0f bytes", d);
		return buf;
	}
	while (d >= 1024 && u + 1 < PK_NELEM(unit)) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", d, unit[u]);
	return buf;
}

/*
 * The strings of an array joined with ", " into a malloc'd string (at
 * most LIST_MAX of them; the rest counted); "none" for an empty array,
 * "-" when it is not one.  NULL only without memory.
 */
static char *
join_list(const json_t *a)
{
	size_t i, n, len = 0, cap = 0, k;
	char *out = NULL, more[48];
	const char *s;

	if (!json_is_array(a))
		return strdup(DASH);
	if ((n = json_array_size(a)) == 0)
		return strdup("none");
	for (i = 0; i < n && i < LIST_MAX; i++) {
		s = json_string_value(json_array_get(a, i));
		if (s == NULL)
			s = DASH;
		k = strlen(s) + 3;
		while (cap - len < k + sizeof(more))
			if (pk_grow(&out, &cap, cap, 1) == -1) {
				free(out);
				return NULL;
			}
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
		    i ? ", " : "", s);
	}
	if (n > LIST_MAX) {
		snprintf(more, sizeof(more), " and %zu more", n - LIST_MAX);
		len += (size_t)snprintf(out + len, cap - len, "%s", more);
	}
	return out;
}

/* ------------------------------------------------------------ layout */

struct col {
	const char	*title;
	double		 w;
};

struct cell {
	const char	*s;
	size_t		 off[CELL_LINES + 1], len[CELL_LINES + 1];
	long		 n;
	int		 cut;
};

static int
cell_line(void *arg, const char *s, size_t n)
{
	struct cell *c = arg;

	c->off[c->n] = (size_t)(s - c->s);
	c->len[c->n] = n;
	c->n++;
	return 0;
}

static void
heading(struct pdf *p, const char *title)
{
	/* Keep a heading with at least a few lines of what it heads. */
	pdf_need(p, 70);
	pdf_set_y(p, pdf_y(p) - 8);
	pdf_grey(p, 0.1);
	pdf_text(p, X0, pdf_y(p) - 13, PDF_HELV_BOLD, 13, title);
	pdf_grey(p, 0.6);
	pdf_line(p, X0, pdf_y(p) - 17, X0 + WIDTH, pdf_y(p) - 17, 0.6);
	pdf_grey(p, 0);
	pdf_set_y(p, pdf_y(p) - 24);
}

static void
para(struct pdf *p, int font, const char *s)
{
	pdf_paragraph(p, X0, WIDTH, font, BODY, BODY_LEAD, s);
}

static void
table_header(struct pdf *p, const struct col *cols, size_t ncols)
{
	double x = X0, h = CELL_LEAD + 2 * CELL_PAD, y = pdf_y(p);
	size_t i;

	pdf_grey(p, 0.88);
	pdf_fill_rect(p, X0, y - h, WIDTH, h);
	pdf_grey(p, 0);
	for (i = 0; i < ncols; i++) {
		pdf_text(p, x + CELL_PAD, y - CELL_PAD - CELL, PDF_HELV_BOLD,
		    CELL, cols[i].title);
		x += cols[i].w;
	}
	pdf_set_y(p, y - h);
}

/*
 * One table row: each cell wrapped to its column; a row never splits
 * across pages, and a new page repeats the header.
 */
static void
table_row(struct pdf *p, const struct col *cols, size_t ncols,
    const char *const *cells)
{
	struct cell c[COLS_MAX];	/* about 6 KB */
	double x, h, y;
	long lines = 1, j;
	size_t i;

	for (i = 0; i < ncols && i < COLS_MAX; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].s = cells[i] != NULL ? cells[i] : DASH;
		pdf_wrap(PDF_HELV, CELL, cols[i].w - 2 * CELL_PAD, c[i].s,
		    strlen(c[i].s), CELL_LINES + 1, cell_line, &c[i]);
		if (c[i].n > CELL_LINES) {
			/* The last line says the text goes on. */
			c[i].n = CELL_LINES - 1;
			c[i].cut = 1;
		}
		lines = PK_MAX(lines, c[i].n + c[i].cut);
	}
	h = (double)lines * CELL_LEAD + 2 * CELL_PAD;
	if (pdf_need(p, h) == 1)
		table_header(p, cols, ncols);
	y = pdf_y(p);
	x = X0;
	for (i = 0; i < ncols && i < COLS_MAX; i++) {
		for (j = 0; j < c[i].n; j++)
			pdf_text_n(p, x + CELL_PAD, y - CELL_PAD - CELL -
			    (double)j * CELL_LEAD, PDF_HELV, CELL,
			    c[i].s + c[i].off[j], c[i].len[j]);
		if (c[i].cut)
			pdf_text(p, x + CELL_PAD, y - CELL_PAD - CELL -
			    (double)c[i].n * CELL_LEAD, PDF_HELV_BOLD, CELL,
			    "[... cut]");
		x += cols[i].w;
	}
	pdf_grey(p, 0.8);
	pdf_line(p, X0, y - h, X0 + WIDTH, y - h, 0.4);
	pdf_grey(p, 0);
	pdf_set_y(p, y - h);
}

static void
table_start(struct pdf *p, const struct col *cols, size_t ncols)
{
	pdf_need(p, 3 * (CELL_LEAD + 2 * CELL_PAD));
	table_header(p, cols, ncols);
}

/* ------------------------------------------------------------ sections */

static void
kv(struct pdf *p, double x, double y, const char *k, const char *v)
{
	pdf_grey(p, 0.4);
	pdf_text(p, x, y, PDF_HELV, BODY, k);
	pdf_grey(p, 0);
	pdf_text(p, x + 82, y, PDF_HELV_BOLD, BODY, v);
}

static void
title_block(struct pdf *p, const json_t *r)
{
	const json_t *inc = json_object_get(r, "incident");
	const char *title = jstr(inc, "title");
	char b[6][TXT], id[TXT];
	double y;

	pdf_grey(p, 0.45);
	pdf_text(p, X0, pdf_y(p) - 9, PDF_HELV_BOLD, 9,
	    "PICKET  \xc2\xb7  AFTER-ACTION REPORT");
	pdf_grey(p, 0);
	pdf_set_y(p, pdf_y(p) - 16);
	pdf_paragraph(p, X0, WIDTH, PDF_HELV_BOLD, 18, 22,
	    title != NULL ? title : DASH);
	pdf_set_y(p, pdf_y(p) - 6);
	if (!json_is_true(json_object_get(r, "final"))) {
		pdf_need(p, 24);
		y = pdf_y(p);
		pdf_rgb(p, 0.98, 0.9, 0.88);
		pdf_fill_rect(p, X0, y - 20, WIDTH, 20);
		pdf_rgb(p, 0.7, 0.1, 0.05);
		pdf_text(p, X0 + 6, y - 14, PDF_HELV_BOLD, 10, "DRAFT");
		pdf_text(p, X0 + 48, y - 14, PDF_HELV, 9.5, "The incident is "
		    "not closed: this report is computed now and will change.");
		pdf_grey(p, 0);
		pdf_set_y(p, y - 28);
	}
	pdf_need(p, 4 * 15);
	y = pdf_y(p) - BODY;
	kv(p, X0, y, "Incident", jtext(inc, "id", id, sizeof(id)));
	kv(p, X0 + WIDTH / 2, y, "State", jtext(inc, "state", b[0], TXT));
	y -= 15;
	kv(p, X0, y, "Owner", jtext(inc, "owner", b[1], TXT));
	kv(p, X0 + WIDTH / 2, y, "Generated",
	    fmt_time(r, "generated", b[2], TXT));
	y -= 15;
	kv(p, X0, y, "Created", fmt_time(inc, "created", b[3], TXT));
	kv(p, X0 + WIDTH / 2, y, "Contained",
	    fmt_time(inc, "contained", b[4], TXT));
	y -= 15;
	kv(p, X0, y, "Closed", fmt_time(inc, "closed", b[5], TXT));
	pdf_set_y(p, y - 10);
}

static void
figures(struct pdf *p, const json_t *r)
{
	const json_t *f = json_object_get(r, "figures");
	static const struct {
		const char *label, *key;
		int dur;
	} rows[] = {
		{ "First indicator", "first_indicator", 2 },
		{ "Hosts affected", "hosts_affected", 0 },
		{ "Indicators", "indicators", 0 },
		{ "Time to detect", "time_to_detect_s", 1 },
		{ "Time to first task", "time_to_first_task_s", 1 },
		{ "Time to contain", "time_to_contain_s", 1 },
		{ "Time to close", "time_to_close_s", 1 },
	};
	char buf[TXT];
	const char *v;
	double y;
	size_t i;

	heading(p, "Figures");
	pdf_need(p, 4 * 16 + 4);
	y = pdf_y(p);
	for (i = 0; i < PK_NELEM(rows); i++) {
		if (rows[i].dur == 1)
			v = fmt_dur(f, rows[i].key, buf, sizeof(buf));
		else if (rows[i].dur == 2)
			v = fmt_time(f, rows[i].key, buf, sizeof(buf));
		else
			v = jtext(f, rows[i].key, buf, sizeof(buf));
		/* Counts and the first indicator on the left, times right. */
		if (i < 3)
			kv(p, X0, y - BODY - (double)i * 16, rows[i].label, v);
		else
			kv(p, X0 + WIDTH / 2, y - BODY - (double)(i - 3) * 16,
			    rows[i].label, v);
	}
	pdf_set_y(p, y - 4 * 16 - 4);
	pdf_grey(p, 0.4);
	para(p, PDF_HELV, "Times are measured from the incident's first "
	    "indicator: to detect is until the incident was opened, then "
	    "until the first linked task was ordered, the first "
	    "containment, and closing.");
	if (json_is_true(json_object_get(f, "truncated"))) {
		pdf_rgb(p, 0.7, 0.1, 0.05);
		para(p, PDF_HELV, "The computation stopped at its limit of "
		    "indicator rows: counts are lower bounds.");
	}
	pdf_grey(p, 0);
}

/* The chart's x labels: the window's start and end times. */
static void
chart_labels(struct pdf *p, const json_t *hot, size_t n, double l, double r,
    double b)
{
	char s[TXT], e[TXT];
	const char *st = jstr(hot, "start");
	double bs;
	int64_t us;

	pk_strlcpy(s, DASH, sizeof(s));
	pk_strlcpy(e, DASH, sizeof(e));
	if (st != NULL && pk_time_parse(st, 1, &us) == 0) {
		fmt_time_us(us, s, sizeof(s));
		if (jnum(json_object_get(hot, "bucket_seconds"), &bs) &&
		    bs > 0 && bs * (double)n < 1e11)
			fmt_time_us(us + (int64_t)(bs * (double)n * 1e6), e,
			    sizeof(e));
	}
	pdf_text(p, l, b - 12, PDF_HELV, 8, s);
	pdf_text_right(p, r, b - 12, PDF_HELV, 8, e);
}

static void
chart(struct pdf *p, const json_t *r)
{
	const json_t *hot = json_object_get(r, "hosts_over_time");
	const json_t *cum = json_object_get(hot, "cumulative");
	double xs[POINTS_MAX + 1], ys[POINTS_MAX + 1], vals[POINTS_MAX];
	double max = 0, v, top, bot, l, rt, h, bw;
	char lab[64];
	size_t i, n = 0;

	heading(p, "Hosts affected over time");
	if (json_is_array(cum))
		n = PK_MIN(json_array_size(cum), POINTS_MAX);
	if (n == 0) {
		para(p, PDF_HELV, DASH);
		return;
	}
	for (i = 0; i < n; i++) {
		/* A value that is not a count repeats the one before. */
		if (!jnum(json_array_get(cum, i), &v) || v < 0 ||
		    v > COUNT_MAX)
			v = i ? vals[i - 1] : 0;
		vals[i] = v;
		max = PK_MAX(max, v);
	}
	if (max == 0) {
		para(p, PDF_HELV, "No host was affected in the window.");
		return;
	}
	pdf_need(p, 170);
	top = pdf_y(p) - 10;
	bot = top - 130;
	l = X0 + 36;
	rt = X0 + WIDTH - 8;
	h = top - bot;
	bw = (rt - l) / (double)n;
	/* Bars for each bucket, the line through their tops. */
	pdf_rgb(p, 0.82, 0.88, 0.96);
	for (i = 0; i < n; i++)
		if (vals[i] > 0)
			pdf_fill_rect(p, l + (double)i * bw + 0.5, bot,
			    bw - 1, vals[i] / max * h);
	pdf_grey(p, 0.85);
	pdf_line(p, l, top, rt, top, 0.4);
	pdf_line(p, l, bot + h / 2, rt, bot + h / 2, 0.4);
	xs[0] = l;
	ys[0] = bot;
	for (i = 0; i < n; i++) {
		xs[i + 1] = l + (double)(i + 1) * bw;
		ys[i + 1] = bot + vals[i] / max * h;
	}
	pdf_rgb(p, 0.1, 0.3, 0.65);
	pdf_polyline(p, xs, ys, n + 1, 1.5);
	pdf_grey(p, 0);
	pdf_line(p, l, bot, l, top + 4, 0.8);
	pdf_line(p, l, bot, rt, bot, 0.8);
	snprintf(lab, sizeof(lab), "%.0f", max);
	pdf_text_right(p, l - 4, top - 3, PDF_HELV, 8, lab);
	pdf_text_right(p, l - 4, bot - 3, PDF_HELV, 8, "0");
	chart_labels(p, hot, n, l, rt, bot);
	snprintf(lab, sizeof(lab), "at most %.0f host%s; %zu buckets", max,
	    max == 1 ? "" : "s", n);
	pdf_grey(p, 0.4);
	pdf_text(p, l + 4, top + 4, PDF_HELV, 8, lab);
	pdf_grey(p, 0);
	pdf_set_y(p, bot - 22);
}

static void
timeline(struct pdf *p, const json_t *r)
{
	static const struct col cols[] = {
		{ "Time", 112 }, { "Kind", 84 }, { "What happened", WIDTH - 196 },
	};
	const json_t *tl = json_object_get(r, "timeline"), *e;
	char t[TXT], kind[TXT];
	const char *cells[3], *k;
	size_t i, j;

	heading(p, "Timeline");
	if (!json_is_array(tl) || json_array_size(tl) == 0) {
		para(p, PDF_HELV, json_is_array(tl) ? "No events." : DASH);
		return;
	}
	table_start(p, cols, PK_NELEM(cols));
	json_array_foreach(tl, i, e) {
		if ((k = jstr(e, "kind")) == NULL)
			k = DASH;
		pk_strlcpy(kind, k, sizeof(kind));
		for (j = 0; kind[j] != '\0'; j++)
			if (kind[j] == '_')
				kind[j] = ' ';
		cells[0] = fmt_time(e, "time", t, sizeof(t));
		cells[1] = kind;
		cells[2] = jstr(e, "text");
		table_row(p, cols, PK_NELEM(cols), cells);
		if (pdf_failed(p))
			return;
	}
}

static void
detections(struct pdf *p, const json_t *r)
{
	static const struct col cols[] = {
		{ "Class", 60 }, { "First seen", 112 }, { "First host", 90 },
		{ "Hosts", 36 }, { "Indicators", 50 },
		{ "Rules", WIDTH - 348 },
	};
	const json_t *d = json_object_get(r, "detections"), *e;
	char t[TXT], h[TXT], n[TXT];
	const char *cells[6];
	char *rules;
	size_t i;

	heading(p, "Detections");
	if (!json_is_array(d) || json_array_size(d) == 0) {
		para(p, PDF_HELV, json_is_array(d) ? "None." : DASH);
		return;
	}
	table_start(p, cols, PK_NELEM(cols));
	json_array_foreach(d, i, e) {
		cells[0] = jstr(e, "class");
		cells[1] = fmt_time(e, "first_seen", t, sizeof(t));
		cells[2] = jstr(e, "first_host");
		cells[3] = jtext(e, "hosts", h, sizeof(h));
		cells[4] = jtext(e, "indicators", n, sizeof(n));
		rules = join_list(json_object_get(e, "rules"));
		cells[5] = rules != NULL ? rules : DASH;
		table_row(p, cols, PK_NELEM(cols), cells);
		free(rules);
		if (pdf_failed(p))
			return;
	}
}

static void
only_by(struct pdf *p, const json_t *r)
{
	const json_t *o = json_object_get(r, "hosts_seen_only_by"), *v;
	const char *k;
	char *list, line[TXT];

	heading(p, "Hosts seen by one detection class only");
	if (!json_is_object(o) || json_object_size(o) == 0) {
		para(p, PDF_HELV, json_is_object(o) ? "None." : DASH);
		return;
	}
	json_object_foreach((json_t *)(uintptr_t)o, k, v) {
		snprintf(line, sizeof(line), "%s:", k);
		pdf_need(p, BODY_LEAD);
		pdf_text(p, X0, pdf_y(p) - BODY, PDF_HELV_BOLD, BODY, line);
		if ((list = join_list(v)) == NULL)
			return;
		pdf_paragraph(p, X0 + 70, WIDTH - 70, PDF_HELV, BODY,
		    BODY_LEAD, list);
		free(list);
		if (pdf_failed(p))
			return;
	}
}

static void
hosts(struct pdf *p, const json_t *r)
{
	static const struct col cols[] = {
		{ "Host", 110 }, { "Agent id", 170 }, { "First seen", 112 },
		{ "Classes", WIDTH - 392 },
	};
	const json_t *hs = json_object_get(r, "hosts"), *e;
	const char *cells[4];
	char t[TXT], *cls;
	size_t i;

	heading(p, "Hosts");
	if (!json_is_array(hs) || json_array_size(hs) == 0) {
		para(p, PDF_HELV, json_is_array(hs) ? "None." : DASH);
		return;
	}
	table_start(p, cols, PK_NELEM(cols));
	json_array_foreach(hs, i, e) {
		cells[0] = jstr(e, "host_name");
		cells[1] = jstr(e, "agent_id");
		cells[2] = fmt_time(e, "first_seen", t, sizeof(t));
		cls = join_list(json_object_get(e, "classes"));
		cells[3] = cls != NULL ? cls : DASH;
		table_row(p, cols, PK_NELEM(cols), cells);
		free(cls);
		if (pdf_failed(p))
			return;
	}
}

/* "done 2, refused 1": the outcomes that happened, in the JSON's order. */
static const char *
outcomes(const json_t *o, char *buf, size_t len)
{
	const json_t *v;
	const char *k;
	size_t used = 0;
	double d;
	int n;

	if (!json_is_object(o))
		return DASH;
	buf[0] = '\0';
	json_object_foreach((json_t *)(uintptr_t)o, k, v) {
		if (!jnum(v, &d) || d == 0)
			continue;
		n = snprintf(buf + used, len - used, "%s%s %.0f",
		    used ? ", " : "", k, d);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return used ? buf : "none yet";
}

static void
refusals(struct pdf *p, const json_t *task)
{
	const json_t *rf = json_object_get(task, "refusals"), *e;
	const char *a, *why;
	char line[HUB_INC_NOTE_MAX];
	size_t i, n;

	if (!json_is_array(rf) || (n = json_array_size(rf)) == 0)
		return;
	pdf_set_y(p, pdf_y(p) - 2);
	for (i = 0; i < n && i < REFUSALS_MAX; i++) {
		e = json_array_get(rf, i);
		a = jstr(e, "agent_id");
		why = jstr(e, "reason");
		snprintf(line, sizeof(line), "Refused on %s: %s",
		    a != NULL ? a : DASH, why != NULL ? why : DASH);
		pdf_paragraph(p, X0 + 16, WIDTH - 16, PDF_HELV, CELL,
		    CELL_LEAD, line);
	}
	if (n > REFUSALS_MAX) {
		snprintf(line, sizeof(line), "... and %zu more refusals",
		    n - REFUSALS_MAX);
		pdf_paragraph(p, X0 + 16, WIDTH - 16, PDF_HELV, CELL,
		    CELL_LEAD, line);
	}
	pdf_set_y(p, pdf_y(p) - 4);
}

static void
tasks(struct pdf *p, const json_t *r)
{
	static const struct col cols[] = {
		{ "Task", 40 }, { "Type", 64 }, { "Ordered", 112 },
		{ "Hosts", 40 }, { "Outcomes", WIDTH - 326 }, { "Data", 70 },
	};
	const json_t *ts = json_object_get(r, "tasks"), *e;
	char id[TXT], t[TXT], h[TXT], o[TXT], b[TXT];
	const char *cells[6];
	size_t i;

	heading(p, "Tasks and outcomes");
	if (!json_is_array(ts) || json_array_size(ts) == 0) {
		para(p, PDF_HELV, json_is_array(ts) ? "No tasks." : DASH);
		return;
	}
	table_start(p, cols, PK_NELEM(cols));
	json_array_foreach(ts, i, e) {
		cells[0] = jtext(e, "id", id, sizeof(id));
		cells[1] = jstr(e, "type");
		cells[2] = fmt_time(e, "created", t, sizeof(t));
		cells[3] = jtext(e, "hosts", h, sizeof(h));
		cells[4] = outcomes(json_object_get(e, "outcomes"), o,
		    sizeof(o));
		cells[5] = fmt_bytes(e, "bytes", b, sizeof(b));
		table_row(p, cols, PK_NELEM(cols), cells);
		refusals(p, e);
		if (pdf_failed(p))
			return;
	}
}

static void
sharing(struct pdf *p, const json_t *r)
{
	const json_t *s = json_object_get(r, "sharing");
	const json_t *sent = json_object_get(s, "sent");
	const json_t *recv = json_object_get(s, "received");
	const char *note = jstr(s, "note");
	char line[TXT], ns[32], nr[32];

	heading(p, "Sharing");
	if (!json_is_object(s)) {
		para(p, PDF_HELV, DASH);
		return;
	}
	if (json_is_array(sent))
		snprintf(ns, sizeof(ns), "%zu", json_array_size(sent));
	else
		pk_strlcpy(ns, DASH, sizeof(ns));
	if (json_is_array(recv))
		snprintf(nr, sizeof(nr), "%zu", json_array_size(recv));
	else
		pk_strlcpy(nr, DASH, sizeof(nr));
	snprintf(line, sizeof(line), "Shared with peer hubs: %s sent, %s "
	    "received.", ns, nr);
	para(p, PDF_HELV, line);
	if (note != NULL)
		para(p, PDF_HELV, note);
}

static void
lessons(struct pdf *p, const json_t *r)
{
	const json_t *l = json_object_get(r, "lessons");
	const char *s = json_string_value(l);

	heading(p, "Lessons");
	if (s == NULL)
		para(p, PDF_HELV, DASH);
	else if (*s == '\0')
		para(p, PDF_HELV, "No lessons written yet.");
	else
		pdf_paragraph(p, X0, WIDTH, PDF_HELV, 10, 13.5, s);
}

int
hub_report_pdf(const json_t *report, unsigned char **out, size_t *len,
    char *err, size_t errlen)
{
	const json_t *inc = json_object_get(report, "incident");
	const char *title = jstr(inc, "title");
	char footer[HUB_INC_TITLE_MAX + 64], id[TXT], doc[HUB_INC_TITLE_MAX +
	    64];
	struct pdf *p;
	int rc;

	*out = NULL;
	*len = 0;
	snprintf(footer, sizeof(footer), "Picket after-action report, "
	    "incident %.32s%s", jtext(inc, "id", id, sizeof(id)),
	    json_is_true(json_object_get(report, "final")) ? "" :
	    " (draft)");
	snprintf(doc, sizeof(doc), "After-action report: %.*s",
	    HUB_INC_TITLE_MAX, title != NULL ? title : DASH);
	if ((p = pdf_new(doc, footer)) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return -1;
	}
	title_block(p, report);
	figures(p, report);
	chart(p, report);
	timeline(p, report);
	detections(p, report);
	only_by(p, report);
	hosts(p, report);
	tasks(p, report);
	sharing(p, report);
	lessons(p, report);
	rc = pdf_finish(p, out, len, err, errlen);
	pdf_free(p);
	return rc;
}
