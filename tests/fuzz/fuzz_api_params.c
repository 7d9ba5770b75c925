/*
 * fuzz_api_params.c - libFuzzer target for hub/apiparam.c, the code every
 * HTTPS API request's path and query string go through before any
 * handler runs.  Input: "PATH\nQUERY".  The path check, the query parser
 * (with the parameter list of GET /api/v1/indicators) and the indicator
 * filter must never read past the input or crash, and what they accept
 * must hold their promises: a checked path has no "//", no dot segment and
 * no control byte; every parameter is allowed, unique, non-empty and free
 * of control bytes; a cursor that decodes encodes back to itself.
 * Built by mk/hub.mk; run by `make fuzz` / `make check-fuzz`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hub/apiparam.h"

#define ALLOWED "host kind rule severity since until q limit cursor"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_path(const char *path)
{
	char out[HUB_PATH_LEN_MAX + 1], err[HUB_ERR_MAX];
	size_t i;

	if (hub_path_check(path, out, sizeof(out), err, sizeof(err)) == -1) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return;
	}
	if (out[0] != '/' || strstr(out, "//") != NULL ||
	    strstr(out, "/../") != NULL || strstr(out, "/./") != NULL)
		abort();
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			abort();
}

static void
check_cursor(const struct hub_ind_filter *f, const char *given)
{
	char enc[HUB_CURSOR_MAX + 1];
	struct hub_ind_filter g;

	if (hub_cursor_encode(f->after_ts_us, f->after_agent, f->after_seq,
	    enc, sizeof(enc)) == -1)
		abort();
	memset(&g, 0, sizeof(g));
	if (hub_cursor_decode(enc, &g) == -1 || g.after_ts_us !=
	    f->after_ts_us || g.after_seq != f->after_seq ||
	    strcmp(g.after_agent, f->after_agent) != 0)
		abort();
	(void)given;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hub_params p;
	struct hub_ind_filter f;
	char err[HUB_ERR_MAX], *s, *nl, *query;
	size_t i, j;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	nl = strchr(s, '\n');
	query = nl != NULL ? nl + 1 : NULL;
	if (nl != NULL)
		*nl = '\0';
	check_path(s);
	if (hub_params_parse(query, ALLOWED, &p, err, sizeof(err)) == 0) {
		if (p.n > HUB_PARAM_MAX)
			abort();
		for (i = 0; i < p.n; i++) {
			if (p.p[i].val[0] == '\0' || strstr(ALLOWED,
			    p.p[i].key) == NULL)
				abort();
			for (j = 0; p.p[i].val[j] != '\0'; j++)
				if ((unsigned char)p.p[i].val[j] < 0x20)
					abort();
			for (j = i + 1; j < p.n; j++)
				if (strcmp(p.p[i].key, p.p[j].key) == 0)
					abort();
		}
		if (hub_ind_filter_parse(&p, 1767225600LL * 1000000, &f, err,
		    sizeof(err)) == 0) {
			if (f.limit < 1 || f.limit > HUB_LIMIT_MAX ||
			    f.severity_min > 100)
				abort();
			if (f.has_after)
				check_cursor(&f, hub_params_get(&p, "cursor"));
		}
	}
	free(s);
	return 0;
}
