/*
 * sigdet.h - the rules detector (pk_detector_sig, name "rules"): matches
 * the content rules of [rules] paths (rules.h, docs/rules.md) against
 * packets and reassembled TCP streams and reports one updating indicator
 * per (rule, source, destination).  The engine finds it through
 * pk_detectors[] (agent/detectors.c); agent/main.c calls pk_rules_check()
 * for `picketd -S FILE` style checks and pk_sigdet_set_rule_file() to run
 * with one explicit rule file.  Portable.
 */
#ifndef PICKET_SIGDET_H
#define PICKET_SIGDET_H

#include <stdio.h>

#include "agent/engine.h"

struct pk_config;

extern const struct pk_detector_ops pk_detector_sig;

/*
 * Load the rules as the detector would (explicit_file non-NULL: only that
 * file) and print "rules: N loaded, M skipped", one line per skip reason
 * with its count, and each skipped rule's "FILE:LINE: sid N: problem" to
 * out.  Returns the number of problems: unreadable files and paths (a
 * missing explicit file is one).  Skipped unsupported rules are not
 * problems.
 */
int pk_rules_check(const struct pk_config *cfg, const char *explicit_file,
    FILE *out);

/* Run with this rule file instead of [rules] paths (NULL: the paths).
 * Read at detector init; the string is copied. */
void pk_sigdet_set_rule_file(const char *path);

#endif
