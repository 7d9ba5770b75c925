/*
 * fuzz_incident.c - libFuzzer target for what a responder sends about an
 * incident (hub/incidents.c): the title, owner, outbreak, link kinds and
 * values, notes, states and lessons that the API and the CLI pass on
 * unchanged, against a real SQLite store in memory; then the record and
 * the report built from what was accepted, and the report as a PDF
 * (hub/report_pdf.c), where those texts end up.  The input is up to eight
 * fields separated by newlines.  Promises checked (abort when broken):
 * every call answers with one of its documented codes, a refusal always
 * says why, an accepted incident can be read back and reported, and the
 * PDF of its report starts with %PDF-.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hub/incidents.h"
#include "hub/store.h"

#define FIELDS		8
#define FIELD_MAX	20000
#define RUNS_PER_STORE	500	/* a fresh store now and then: bounded */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hub_store *st;
static unsigned runs;

static void
store_fresh(void)
{
	if (st != NULL)
		st->ops->close(st);
	st = NULL;
	if (hub_store_sqlite.open(&st, ":memory:") != 0)
		abort();
}

/* Known codes, and a reason with every refusal. */
static void
check_rc(int rc, const char *err, int max)
{
	if (rc < -1 || rc > max)
		abort();
	if (rc == 1 && err[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const kinds[] = { "outbreak", "indicator", "host",
	    "task" };
	char *f[FIELDS], *buf, *p, *nl, err[HUB_INC_ERR_MAX];
	int64_t id = 0, now = 1795000000000000LL;
	unsigned char *pdf;
	size_t len;
	json_t *j;
	int i, rc, dup, found, kind;

	if (size > FIELDS * FIELD_MAX)
		return 0;
	if (st == NULL || ++runs % RUNS_PER_STORE == 0)
		store_fresh();
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (p = buf, i = 0; i < FIELDS; i++) {
		f[i] = p;
		if (p != NULL && (nl = strchr(p, '\n')) != NULL) {
			*nl = '\0';
			p = nl + 1;
		} else
			p = NULL;
	}
	err[0] = '\0';
	rc = hub_incident_create(st, f[0], f[1], f[2] != NULL &&
	    f[2][0] != '\0' ? f[2] : NULL, 0, "fuzz", now, &id, err,
	    sizeof(err));
	check_rc(rc, err, 1);
	if (rc != 0)
		goto out;
	if (f[3] != NULL && f[4] != NULL) {
		kind = hub_inc_link_parse(f[3]);
		if (kind < 0)
			kind = (int)((unsigned char)f[3][0] % 4);
		if (hub_inc_link_parse(kinds[kind]) != kind)
			abort();
		err[0] = '\0';
		rc = hub_incident_link(st, id, kind, f[4], "fuzz", now + 1,
		    &dup, err, sizeof(err));
		check_rc(rc, err, 1);
	}
	if (f[5] != NULL) {
		err[0] = '\0';
		rc = hub_incident_note(st, id, f[5], "fuzz", now + 2, err,
		    sizeof(err));
		check_rc(rc, err, 1);
	}
	if (f[6] != NULL || f[7] != NULL) {
		err[0] = '\0';
		rc = hub_incident_update(st, id, NULL, NULL, f[6], f[7],
		    "fuzz", now + 3, err, sizeof(err));
		check_rc(rc, err, 1);
	}
	if (hub_incident_exists(st, id, &found) != 0 || !found)
		abort();
	if ((j = hub_incident_get(st, id, now + 4, &found, err,
	    sizeof(err))) == NULL || !found)
		abort();
	json_decref(j);
	if ((j = hub_incident_report(st, id, now + 5, &found, err,
	    sizeof(err))) == NULL || !found)
		abort();
	pdf = NULL;
	if (hub_report_pdf(j, &pdf, &len, err, sizeof(err)) == 0 &&
	    (len < 5 || memcmp(pdf, "%PDF-", 5) != 0))
		abort();
	free(pdf);
	json_decref(j);
out:
	free(buf);
	return 0;
}
