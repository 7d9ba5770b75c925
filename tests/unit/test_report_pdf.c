/*
 * test_report_pdf.c - the after-action report as a PDF (hub/report_pdf.c)
 * and the PDF writer under it (hub/pdf.c).  A realistic report JSON (five
 * hosts, thirty timeline entries, two tasks, lessons with parentheses,
 * backslashes, "Zürich" and an emoji) is rendered and read back by
 * programs that share no code with ours: poppler's pdftotext, pdfinfo
 * and pdftoppm (poppler-utils, installed by packaging/deps.sh).  Because
 * poppler quietly repairs a broken cross-reference table, the test also
 * checks the xref offsets and every stream's /Length itself, and inflates
 * a content stream to see the WinAnsi bytes and the escapes.  Then: a
 * 400-entry timeline runs over several pages, a report with every field
 * missing or of the wrong type still renders, and a 5 MB lessons text
 * stops at the page cap with an error.  Run by make check-unit and
 * check-asan; needs jansson and poppler, so not under wine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "hub/incidents.h"
#include "hub/pdf.h"
#include "transport/batch.h"

#define OUT_MAX		(16u * 1024u * 1024u)	/* a tool's output we read */
#define HOSTS		5
#define LESSONS \
	"The worm (a Conficker variant) reached the 10.8 campus through " \
	"the VPN concentrator in Zürich; the first host was ws-12.\n\n" \
	"Scans on 445/tcp were seen before any fingerprint matched: the " \
	"scan detector saw ws-14 alone. Paths like C:\\Windows\\Temp\\x.exe " \
	"and \\\\fileserver\\share were used (see the notes).\n\n" \
	"Next time: order the packet capture within ten minutes, and tell " \
	"the peer hubs sooner \xf0\x9f\x98\x80 (the sharing is not built yet)."

static char tmpdir[64];

static const char *const host_names[HOSTS] = {
	"ws-12", "ws-14", "srv-files-02", "ws-31", "kiosk-7",
};

/* ------------------------------------------------------------ fixtures */

static json_t *
build_report(size_t ntimeline, const char *lessons, int final)
{
	static const char *const kinds[] = { "new_host", "note", "linked",
	    "task_ordered", "task_finished", "owner" };
	json_t *r, *tl, *hs, *cum, *tasks;
	char t[40], text[200], aid[40];
	size_t i;

	tl = json_array();
	for (i = 0; i < ntimeline; i++) {
		snprintf(t, sizeof(t), "2026-11-26T%02zu:%02zu:11.000Z",
		    8 + i / 60 % 12, i % 60);
		if (i == 0)
			snprintf(text, sizeof(text), "rule picket.fingerprint."
			    "worm on ws-12 (first indicator)");
		else
			snprintf(text, sizeof(text), "event %zu: %s on %s, "
			    "checked by the team at the Zürich office", i,
			    kinds[i % PK_NELEM(kinds)], host_names[i % HOSTS]);
		json_array_append_new(tl, json_pack("{s:s, s:s, s:s, s:n}",
		    "time", t, "kind", i == 0 ? "first_indicator" :
		    kinds[i % PK_NELEM(kinds)], "text", text, "actor"));
	}
	hs = json_array();
	for (i = 0; i < HOSTS; i++) {
		snprintf(aid, sizeof(aid), "63a7e0c1%024zu", i);
		snprintf(t, sizeof(t), "2026-11-26T08:%02zu:00.000Z", 2 * i);
		/* ws-14 was seen by the scan detector alone. */
		json_array_append_new(hs, json_pack("{s:s, s:s, s:s, s:o}",
		    "agent_id", aid, "host_name", host_names[i], "first_seen",
		    t, "classes", i == 1 ? json_pack("[s]", "scan") :
		    json_pack("[s,s]", "scan", "signature")));
	}
	cum = json_array();
	for (i = 0; i < HUB_INC_BUCKETS; i++)
		json_array_append_new(cum, json_integer(i < 3 ? 0 :
		    i < 10 ? 1 : i < 20 ? 3 : 5));
	tasks = json_pack("[{s:i, s:s, s:s, s:i, s:{s:i, s:i, s:i, s:i, "
	    "s:i, s:i}, s:i, s:[{s:s, s:s}]}, {s:i, s:s, s:s, s:i, s:{s:i, "
	    "s:i}, s:i, s:[]}]",
	    "id", 12, "type", "pcap", "created", "2026-11-26T08:32:11.000Z",
	    "hosts", 3, "outcomes", "done", 2, "refused", 1, "failed", 0,
	    "expired", 0, "cancelled", 0, "running", 0, "bytes", 123456,
	    "refusals", "agent_id", "63a7e0c1000000000000000000000004",
	    "reason", "policy: pcap not allowed on kiosks",
	    "id", 13, "type", "ioc_sweep", "created",
	    "2026-11-26T09:00:00.000Z", "hosts", 5, "outcomes", "done", 5,
	    "running", 0, "bytes", 2048, "refusals");
	r = json_pack("{s:{s:i, s:s, s:s, s:s, s:s, s:s, s:o}, s:b, s:s, "
	    "s:{s:s, s:f, s:f, s:f, s:o, s:i, s:i, s:b}, s:o, "
	    "s:{s:s, s:i, s:o}, "
	    "s:[{s:s, s:s, s:s, s:i, s:i, s:[s]}, {s:s, s:s, s:s, s:i, s:i, "
	    "s:[s, s]}], "
	    "s:{s:[s], s:[]}, s:o, s:o, "
	    "s:{s:[], s:[], s:s}, s:s}",
	    "incident", "id", 3, "title", "Conficker on the 10.8 campus",
	    "state", final ? "closed" : "contained", "owner", "alice",
	    "created", "2026-11-26T08:22:11.000Z", "contained",
	    "2026-11-26T09:00:00.000Z", "closed", final ?
	    json_string("2026-11-26T10:00:00.000Z") : json_null(),
	    "final", final, "generated", "2026-11-26T10:00:01.000Z",
	    "figures", "first_indicator", "2026-11-26T08:00:00.000Z",
	    "time_to_detect_s", 1320.5, "time_to_first_task_s", 1800.0,
	    "time_to_contain_s", 3600.0, "time_to_close_s", final ?
	    json_real(7200.0) : json_null(), "hosts_affected", HOSTS,
	    "indicators", 231, "truncated", 0,
	    "timeline", tl,
	    "hosts_over_time", "start", "2026-11-26T08:00:00.000Z",
	    "bucket_seconds", 150, "cumulative", cum,
	    "detections", "class", "fingerprint", "first_seen",
	    "2026-11-26T08:04:00.000Z", "first_host", "ws-12", "hosts", 4,
	    "indicators", 40, "rules", "picket.fingerprint.worm",
	    "class", "scan", "first_seen", "2026-11-26T08:00:00.000Z",
	    "first_host", "ws-14", "hosts", 5, "indicators", 191, "rules",
	    "picket.scan.smb", "picket.scan.tcp",
	    "hosts_seen_only_by", "scan", "ws-14", "signature",
	    "hosts", hs, "tasks", tasks,
	    "sharing", "sent", "received", "note", "peering is not built yet",
	    "lessons", lessons);
	assert_non_null(r);
	return r;
}

/* ------------------------------------------------------------ helpers */

static char *
write_pdf(const unsigned char *b, size_t len, const char *name)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

/* A command's whole standard output (NUL-terminated); its exit status. */
static char *
run(const char *cmd, int *status)
{
	size_t len = 0, cap = 0, n;
	char *out = NULL;
	FILE *f;

	f = popen(cmd, "r");
	assert_non_null(f);
	for (;;) {
		if (cap - len < 4097)
			assert_int_equal(pk_grow(&out, &cap, cap, 1), 0);
		n = fread(out + len, 1, cap - len - 1, f);
		if (n == 0)
			break;
		len += n;
		assert_true(len < OUT_MAX);
	}
	out[len] = '\0';
	*status = pclose(f);
	return out;
}

static char *
pdftotext(const char *path)
{
	char cmd[300];
	char *out;
	int st;

	snprintf(cmd, sizeof(cmd), "pdftotext -layout %s - 2>&1", path);
	out = run(cmd, &st);
	if (st != 0)
		fail_msg("pdftotext failed (%d): %s", st, out);
	return out;
}

static int
pdfinfo_pages(const char *path)
{
	char cmd[300], *out, *pg;
	uint64_t n;
	const char *e;
	int st;

	snprintf(cmd, sizeof(cmd), "pdfinfo %s 2>&1", path);
	out = run(cmd, &st);
	if (st != 0)
		fail_msg("pdfinfo failed (%d): %s", st, out);
	/* Poppler says "Syntax Error" (and still succeeds) on a damaged file. */
	if (strstr(out, "Error") != NULL)
		fail_msg("pdfinfo complained: %s", out);
	pg = strstr(out, "\nPages:");
	assert_non_null(pg);
	pg += 7;
	while (*pg == ' ')
		pg++;
	pg[strcspn(pg, "\n")] = '\0';
	assert_int_equal(pk_parse_u64(pg, 1, 100000, &n, &e), 0);
	free(out);
	return (int)n;
}

/* Count the PNGs pdftoppm writes for path. */
static int
pdftoppm_pngs(const char *path, const char *prefix)
{
	char cmd[400], *out;
	struct dirent *de;
	DIR *d;
	int st, n = 0;

	snprintf(cmd, sizeof(cmd), "pdftoppm -png -r 40 %s %s/%s 2>&1", path,
	    tmpdir, prefix);
	out = run(cmd, &st);
	if (st != 0 || out[0] != '\0')
		fail_msg("pdftoppm failed (%d): %s", st, out);
	free(out);
	d = opendir(tmpdir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0 &&
		    l > 4 && strcmp(de->d_name + l - 4, ".png") == 0)
			n++;
	}
	closedir(d);
	return n;
}

static const unsigned char *
find(const unsigned char *b, size_t len, const char *s)
{
	size_t n = strlen(s), i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (memcmp(b + i, s, n) == 0)
			return b + i;
	return NULL;
}

static int
count(const unsigned char *b, size_t len, const char *s)
{
	const unsigned char *p = b;
	int n = 0;

	while ((p = find(p, len - (size_t)(p - b), s)) != NULL) {
		n++;
		p++;
	}
	return n;
}

/*
 * The structure poppler would forgive: the header, the trailer's
 * startxref pointing at "xref", each entry 20 bytes pointing at its
 * "N 0 obj", and each stream exactly /Length bytes long.  Returns the
 * number of objects.
 */
static int
check_structure(const unsigned char *b, size_t len)
{
	const unsigned char *sx, *x, *o;
	char tmp[40];
	uint64_t xref, nobj, off, slen;
	const char *e;
	size_t i, k;

	assert_true(len > 100);
	assert_memory_equal(b, "%PDF-1.4\n", 9);
	assert_memory_equal(b + len - 6, "%%EOF\n", 6);
	sx = find(b + len - 64, 64, "startxref\n");
	assert_non_null(sx);
	k = strcspn((const char *)sx + 10, "\n");
	assert_true(k < sizeof(tmp));
	memcpy(tmp, sx + 10, k);
	tmp[k] = '\0';
	assert_int_equal(pk_parse_u64(tmp, 1, len, &xref, &e), 0);
	x = b + xref;
	assert_memory_equal(x, "xref\n0 ", 7);
	k = strcspn((const char *)x + 7, "\n");
	memcpy(tmp, x + 7, k);
	tmp[k] = '\0';
	assert_int_equal(pk_parse_u64(tmp, 2, 2000, &nobj, &e), 0);
	x += 7 + k + 1;
	assert_memory_equal(x, "0000000000 65535 f \n", 20);
	for (i = 1; i < nobj; i++) {
		x += 20;
		assert_memory_equal(x + 10, " 00000 n \n", 10);
		memcpy(tmp, x, 10);
		tmp[10] = '\0';
		assert_int_equal(pk_parse_u64(tmp, 0, len, &off, &e), 0);
		snprintf(tmp, sizeof(tmp), "%zu 0 obj\n", i);
		assert_memory_equal(b + off, tmp, strlen(tmp));
		/* A stream's length: "/Length N" ... "stream\n" N bytes. */
		o = find(b + off, 80, "/Length ");
		if (o == NULL || find(b + off, 120, "stream\n") == NULL)
			continue;
		k = strcspn((const char *)o + 8, " >");
		memcpy(tmp, o + 8, k);
		tmp[k] = '\0';
		assert_int_equal(pk_parse_u64(tmp, 0, len, &slen, &e), 0);
		o = find(o, 120, "stream\n") + 7;
		assert_memory_equal(o + slen, "\nendstream\nendobj\n", 18);
	}
	assert_memory_equal(x + 20, "trailer\n", 8);
	return (int)nobj;
}

/* The first content stream, inflated (malloc'd, NUL-terminated). */
static char *
first_content(const unsigned char *b, size_t len)
{
	const unsigned char *o, *s;
	uint64_t slen;
	size_t k, outlen;
	char tmp[32], *out;
	const char *e;

	o = find(b, len, "/Filter /FlateDecode");
	assert_non_null(o);
	o = find(o - 30, 30, "/Length ");
	assert_non_null(o);
	k = strcspn((const char *)o + 8, " ");
	memcpy(tmp, o + 8, k);
	tmp[k] = '\0';
	assert_int_equal(pk_parse_u64(tmp, 1, len, &slen, &e), 0);
	s = find(o, 80, "stream\n") + 7;
	out = malloc(PDF_PAGE_RAW_MAX + 1);
	assert_non_null(out);
	assert_int_equal(pk_chunk_inflate(s, slen, (uint8_t *)out,
	    PDF_PAGE_RAW_MAX, &outlen), 0);
	out[outlen] = '\0';
	return out;
}

static void
render(const json_t *r, unsigned char **b, size_t *len)
{
	char err[HUB_INC_ERR_MAX] = "";

	if (hub_report_pdf(r, b, len, err, sizeof(err)) != 0)
		fail_msg("hub_report_pdf: %s", err);
	assert_non_null(*b);
}

/* ------------------------------------------------------------ tests */

static void
test_report_text(void **state)
{
	json_t *r = build_report(30, LESSONS, 1);
	unsigned char *b;
	size_t len, i;
	char *path, *txt, *cs;
	int pages, nobj;

	(void)state;
	render(r, &b, &len);
	nobj = check_structure(b, len);
	pages = count(b, len, "/Type /Page ");
	assert_int_equal(nobj, 6 + 2 * pages);
	path = write_pdf(b, len, "report.pdf");
	assert_int_equal(pdfinfo_pages(path), pages);
	assert_true(pages >= 2);
	assert_int_equal(pdftoppm_pngs(path, "rep"), pages);

	txt = pdftotext(path);
	assert_non_null(strstr(txt, "Conficker on the 10.8 campus"));
	assert_non_null(strstr(txt, "Zürich"));
	/* The figures, in human units. */
	assert_non_null(strstr(txt, "22 min 0 s"));
	assert_non_null(strstr(txt, "30 min 0 s"));
	assert_non_null(strstr(txt, "1 h 0 min"));
	assert_non_null(strstr(txt, "2 h 0 min"));
	assert_null(strstr(txt, "not yet"));
	assert_null(strstr(txt, "DRAFT"));
	assert_non_null(strstr(txt, "2026-11-26 08:00:00 UTC"));
	for (i = 0; i < HOSTS; i++)
		assert_non_null(strstr(txt, host_names[i]));
	/* The chart's labels: start, end (48 buckets of 150 s), maximum. */
	assert_non_null(strstr(txt, "2026-11-26 10:00:00 UTC"));
	assert_non_null(strstr(txt, "at most 5 hosts"));
	/* Every timeline entry, the last one too. */
	assert_non_null(strstr(txt, "event 1:"));
	assert_non_null(strstr(txt, "event 29:"));
	assert_non_null(strstr(txt, "first indicator"));
	/* Tables: detections, tasks and their outcomes, sharing. */
	assert_non_null(strstr(txt, "picket.fingerprint.worm"));
	assert_non_null(strstr(txt, "done 2, refused 1"));
	assert_non_null(strstr(txt, "120.6 KiB"));
	assert_non_null(strstr(txt, "pcap not allowed on kiosks"));
	assert_non_null(strstr(txt, "peering is not built yet"));
	/* The lessons: escapes survive, the emoji became '?'. */
	assert_non_null(strstr(txt, "(a Conficker variant)"));
	assert_non_null(strstr(txt, "C:\\Windows\\Temp\\x.exe"));
	assert_non_null(strstr(txt, "\\\\fileserver\\share"));
	assert_non_null(strstr(txt, "sooner ? (the sharing"));
	assert_non_null(strstr(txt, "packet capture"));

	/* Byte level: WinAnsi 0xFC for the u-umlaut, escaped parentheses. */
	cs = first_content(b, len);
	assert_non_null(strstr(cs, "Z\\374rich"));
	assert_non_null(strstr(cs, "\\(first indicator\\)"));
	assert_non_null(strstr(cs, "/F2 "));
	free(cs);
	assert_non_null(find(b, len, "/Producer (Picket)"));
	assert_non_null(find(b, len, "/BaseFont /Helvetica-Bold"));
	assert_non_null(find(b, len, "/Encoding /WinAnsiEncoding"));
	free(txt);
	free(b);
	json_decref(r);
}

static void
test_report_draft(void **state)
{
	json_t *r = build_report(3, "", 0);
	unsigned char *b;
	size_t len;
	char *path, *txt;

	(void)state;
	render(r, &b, &len);
	check_structure(b, len);
	path = write_pdf(b, len, "draft.pdf");
	assert_int_equal(pdfinfo_pages(path), count(b, len, "/Type /Page "));
	txt = pdftotext(path);
	assert_non_null(strstr(txt, "DRAFT"));
	assert_non_null(strstr(txt, "not yet"));	/* closed, to close */
	assert_non_null(strstr(txt, "No lessons written yet."));
	assert_non_null(strstr(txt, "(draft)"));
	free(txt);
	free(b);
	json_decref(r);
}

static void
test_long_timeline(void **state)
{
	json_t *r = build_report(400, LESSONS, 1);
	unsigned char *b;
	size_t len;
	char *path, *txt;
	int pages;

	(void)state;
	render(r, &b, &len);
	check_structure(b, len);
	pages = count(b, len, "/Type /Page ");
	/* 400 rows of one or two lines: at least eight pages of them. */
	assert_true(pages >= 9);
	path = write_pdf(b, len, "long.pdf");
	assert_int_equal(pdfinfo_pages(path), pages);
	assert_int_equal(pdftoppm_pngs(path, "long"), pages);
	txt = pdftotext(path);
	assert_non_null(strstr(txt, "event 399:"));
	assert_non_null(strstr(txt, "event 200:"));
	/* The header is repeated on each page of the table. */
	assert_true(count((unsigned char *)txt, strlen(txt),
	    "What happened") >= pages - 2);
	free(txt);
	free(b);
	json_decref(r);
}

/* Every field missing, then every field of the wrong type. */
static void
test_broken_report(void **state)
{
	static const char *const bad[] = {
		"{}",
		"[]",
		"{\"incident\": 7, \"final\": \"yes\", \"figures\": [], "
		    "\"timeline\": {}, \"hosts_over_time\": 3, "
		    "\"detections\": \"x\", \"hosts_seen_only_by\": [], "
		    "\"hosts\": 1, \"tasks\": null, \"sharing\": [], "
		    "\"lessons\": 5}",
		"{\"incident\": {\"id\": \"x\", \"title\": 5, \"created\": "
		    "\"yesterday\", \"closed\": 12}, \"figures\": "
		    "{\"time_to_detect_s\": \"fast\", \"time_to_contain_s\": "
		    "-5, \"time_to_close_s\": 1e300, \"hosts_affected\": "
		    "null}, \"timeline\": [1, null, {\"time\": 3, \"kind\": "
		    "[], \"text\": {}}], \"hosts_over_time\": {\"start\": 1, "
		    "\"cumulative\": [\"a\", -1, 2.5, null, 1e308]}, "
		    "\"detections\": [5, {\"rules\": [1, null]}], "
		    "\"hosts_seen_only_by\": {\"scan\": 4, \"ioc\": [7]}, "
		    "\"hosts\": [{\"classes\": \"x\"}], \"tasks\": [{\"outcomes\":"
		    " [], \"refusals\": [3, {}], \"bytes\": -1}], "
		    "\"sharing\": {\"sent\": 1, \"note\": 2}, \"lessons\": null}",
	};
	json_error_t je;
	json_t *r;
	unsigned char *b;
	size_t len, i;
	char name[32], *path, *txt;

	(void)state;
	for (i = 0; i < PK_NELEM(bad); i++) {
		r = json_loads(bad[i], 0, &je);
		assert_non_null(r);
		render(r, &b, &len);
		check_structure(b, len);
		snprintf(name, sizeof(name), "bad%zu.pdf", i);
		path = write_pdf(b, len, name);
		assert_int_equal(pdfinfo_pages(path),
		    count(b, len, "/Type /Page "));
		txt = pdftotext(path);
		assert_non_null(strstr(txt, "Lessons"));
		free(txt);
		free(b);
		json_decref(r);
	}
}

/* A hostile lessons text stops at the page cap, with the reason. */
static void
test_huge_lessons(void **state)
{
	size_t n = 5u * 1024u * 1024u, i;
	char err[HUB_INC_ERR_MAX] = "";
	unsigned char *b = (unsigned char *)"x";
	size_t len = 1;
	char *big;
	json_t *r;

	(void)state;
	big = malloc(n + 1);
	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = "lorem ipsum (dolor) \\ sit amet "[i % 31];
	big[n] = '\0';
	r = build_report(30, big, 1);
	assert_int_equal(hub_report_pdf(r, &b, &len, err, sizeof(err)), -1);
	assert_null(b);
	assert_int_equal(len, 0);
	assert_non_null(strstr(err, "500 pages"));
	json_decref(r);
	/* One line that no wrapping breaks still stops, at the page's cap. */
	r = build_report(1, "", 1);
	json_object_set_new(json_object_get(r, "incident"), "owner",
	    json_string(big));
	b = (unsigned char *)"x";
	assert_int_equal(hub_report_pdf(r, &b, &len, err, sizeof(err)), -1);
	assert_null(b);
	assert_non_null(strstr(err, "bytes"));
	json_decref(r);
	free(big);
}

/* The writer's wrapping: no line wider than asked, words kept whole. */
struct lines {
	char	 buf[4096];
	size_t	 len;
	int	 n;
	double	 width, maxw;
};

static int
collect(void *arg, const char *s, size_t n)
{
	struct lines *l = arg;
	double w = pdf_text_width(PDF_HELV, 10, s, n);

	assert_true(w <= l->width + 1e-9);
	l->maxw = PK_MAX(l->maxw, w);
	assert_true(l->len + n + 2 < sizeof(l->buf));
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len++] = '|';
	l->buf[l->len] = '\0';
	l->n++;
	return 0;
}

static void
test_wrap(void **state)
{
	struct lines l;
	long n;

	(void)state;
	/* Helvetica at 10 pt: "aaaa " is 4 * 5.56 + 2.78 = 25.02 pt. */
	assert_true(pdf_text_width(PDF_HELV, 10, "aaaa ", 5) > 25.01 &&
	    pdf_text_width(PDF_HELV, 10, "aaaa ", 5) < 25.03);
	assert_true(pdf_text_width(PDF_HELV_BOLD, 10, "W", 1) > 9.43 &&
	    pdf_text_width(PDF_HELV_BOLD, 10, "W", 1) < 9.45);
	/* "ü" is two bytes, one glyph as wide as "u". */
	assert_true(pdf_text_width(PDF_HELV, 10, "\xc3\xbc", 2) ==
	    pdf_text_width(PDF_HELV, 10, "u", 1));
	memset(&l, 0, sizeof(l));
	l.width = 50;
	n = pdf_wrap(PDF_HELV, 10, l.width,
	    "aaaa bbbb cccc dddd\n\neeeeeeeeeeeeeeeeee", 39, 0, collect, &l);
	assert_int_equal(n, 6);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.buf,
	    "aaaa bbbb|cccc dddd||eeeeeeee|eeeeeeee|ee|");
	/* max_lines stops early. */
	memset(&l, 0, sizeof(l));
	l.width = 50;
	assert_int_equal(pdf_wrap(PDF_HELV, 10, l.width, "aaaa bbbb cccc",
	    14, 1, collect, &l), 1);
	assert_string_equal(l.buf, "aaaa bbbb|");
	/* A character never splits, even in a column narrower than it. */
	memset(&l, 0, sizeof(l));
	l.width = 1000;
	assert_int_equal(pdf_wrap(PDF_HELV, 10, 3, "\xc3\xbc\xc3\xbc", 4, 0,
	    collect, &l), 2);
	assert_string_equal(l.buf, "\xc3\xbc|\xc3\xbc|");
}

static int
setup(void **state)
{
	(void)state;
	pk_strlcpy(tmpdir, "/tmp/picket-rpdf-XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_report_text),
		cmocka_unit_test(test_report_draft),
		cmocka_unit_test(test_long_timeline),
		cmocka_unit_test(test_broken_report),
		cmocka_unit_test(test_huge_lessons),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
