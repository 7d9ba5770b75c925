/*
 * indlines.h - for the detection unit tests: keep the indicator lines an
 * engine writes (collect() is a pk_engine output callback) and count the
 * ones of a rule, optionally in one phase ("start", "end") and holding a
 * given text.  Included by test_ebpf_decode.c (eBPF events) and
 * test_etwproc.c (ETW events), which check the same detections.
 */
#ifndef PICKET_TEST_INDLINES_H
#define PICKET_TEST_INDLINES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDLINES_MAX	256

struct lines {
	char	*l[INDLINES_MAX];
	size_t	 n;
};

static inline void
collect(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind)
{
	struct lines *ls = arg;

	(void)ind;
	assert_true(ls->n < INDLINES_MAX);
	ls->l[ls->n] = malloc(len + 1);
	assert_non_null(ls->l[ls->n]);
	memcpy(ls->l[ls->n], line, len);
	ls->l[ls->n][len] = '\0';
	ls->n++;
}

static inline size_t
count_rule(const struct lines *ls, const char *rule, const char *phase,
    const char *needle)
{
	char want[128];
	size_t i, n = 0;

	snprintf(want, sizeof(want), "\"id\":\"%s\"", rule);
	for (i = 0; i < ls->n; i++)
		if (strstr(ls->l[i], want) != NULL &&
		    (phase == NULL || strstr(ls->l[i], phase) != NULL) &&
		    (needle == NULL || strstr(ls->l[i], needle) != NULL))
			n++;
	return n;
}

static inline void
lines_free(struct lines *ls)
{
	while (ls->n > 0)
		free(ls->l[--ls->n]);
}

#endif
