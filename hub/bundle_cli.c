/*
 * bundle_cli.c - `picket-hub bundle list|show|rollback` (docs/peering.md,
 * "From shared indicators to detection"): the versions of the bundle the
 * hub makes from approved shared indicators for its agents, one version's
 * text, and the rollback, audited as actor "cli" like every command-line
 * change.  A running hub picks a rollback made here up at its next check
 * ([bundles] check_interval) and tells its agents.  Called by hub/main.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pktime.h"
#include "common/util.h"
#include "hub/bundles.h"
#include "hub/cli.h"
#include "hub/store.h"

#define LIST_MAX	1000	/* versions printed; [bundles] keep is 50 */

struct bopts {
	struct hub_cli_where	 where;
	int			 json;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: picket-hub bundle list [--json] [-c hub.ini | --db PATH]\n"
	    "       picket-hub bundle show VERSION [-c hub.ini | --db PATH]\n"
	    "       picket-hub bundle rollback [-c hub.ini | --db PATH]\n");
}

static int
parse(int argc, char **argv, struct bopts *o)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':	o->where.conf = optarg; break;
		case 'd':	o->where.db = optarg; break;
		case 'j':	o->json = 1; break;
		default:	return -1;
		}
	}
	return 0;
}

struct list_ctx {
	int	 json;
	int	 failed;
};

static int
list_row(void *arg, const struct hub_bundle_row *b)
{
	struct list_ctx *x = arg;
	char t[HUB_TIME_MAX], w[HUB_TIME_MAX];
	json_t *j;

	if (x->json) {
		j = json_pack("{s:I,s:I,s:s,s:I,s:I,s:b,s:s,s:I,s:I}",
		    "version", (json_int_t)b->version,
		    "created_us", (json_int_t)b->created_us,
		    "sha256", b->sha256,
		    "entries", (json_int_t)b->entries,
		    "bytes", (json_int_t)b->bytes,
		    "withdrawn", b->withdrawn,
		    "withdrawn_by", b->withdrawn_by,
		    "withdrawn_us", (json_int_t)b->withdrawn_us,
		    "hosts_running", (json_int_t)b->hosts_running);
		if (j == NULL || hub_cli_json_line(j, JSON_COMPACT) == -1)
			x->failed = 1;
		json_decref(j);
		return x->failed;
	}
	printf("%-8llu %-25s %8llu %10llu %6llu  %s\n",
	    (unsigned long long)b->version,
	    hub_cli_time(b->created_us, "-", t, sizeof(t)),
	    (unsigned long long)b->entries, (unsigned long long)b->bytes,
	    (unsigned long long)b->hosts_running,
	    b->withdrawn ? hub_cli_time(b->withdrawn_us, "withdrawn", w,
	    sizeof(w)) : "");
	if (b->withdrawn)
		printf("%-8s withdrawn by %s\n", "", b->withdrawn_by);
	return 0;
}

static int
cmd_list(const struct bopts *o)
{
	struct list_ctx x = { o->json, 0 };
	struct hub_store *st;
	int rc;

	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	if (!o->json)
		printf("%-8s %-25s %8s %10s %6s  %s\n", "VERSION", "CREATED",
		    "ENTRIES", "BYTES", "HOSTS", "WITHDRAWN");
	rc = st->ops->bundle_list(st, LIST_MAX, list_row, &x);
	st->ops->close(st);
	if (rc == -1 || x.failed) {
		fprintf(stderr, "picket-hub: cannot list bundles\n");
		return 1;
	}
	return 0;
}

static int
show_row(void *arg, const struct hub_bundle_row *b)
{
	(void)arg;
	fwrite(b->content, 1, b->content_len, stdout);
	return 1;
}

static int
cmd_show(const struct bopts *o, const char *arg)
{
	struct hub_store *st;
	const char *err;
	uint64_t v;
	int found = 0, rc;

	if (pk_parse_u64(arg, 1, INT64_MAX, &v, &err) == -1) {
		fprintf(stderr, "picket-hub: bundle version \"%.40s\": %s\n",
		    arg, err);
		return 2;
	}
	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	rc = st->ops->bundle_get(st, v, show_row, NULL, &found);
	st->ops->close(st);
	if (rc == -1) {
		fprintf(stderr, "picket-hub: store unavailable\n");
		return 1;
	}
	if (!found) {
		fprintf(stderr, "picket-hub: no bundle %llu\n",
		    (unsigned long long)v);
		return 1;
	}
	return 0;
}

static int
cmd_rollback(const struct bopts *o)
{
	struct hub_store *st;
	uint64_t withdrawn, current;
	char target[64];
	int rc;

	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	rc = hub_bundles_rollback(st, "cli", (int64_t)pk_now_us(), &withdrawn,
	    &current);
	if (rc == -1) {
		hub_cli_audit(st, "bundle.rollback", "bundle", "500");
		st->ops->close(st);
		fprintf(stderr, "picket-hub: store unavailable\n");
		return 1;
	}
	if (withdrawn == 0) {
		hub_cli_audit(st, "bundle.rollback", "bundle", "409");
		st->ops->close(st);
		fprintf(stderr, "picket-hub: no bundle to roll back\n");
		return 1;
	}
	snprintf(target, sizeof(target), "bundle/%llu",
	    (unsigned long long)withdrawn);
	hub_cli_audit(st, "bundle.rollback", target, "ok");
	st->ops->close(st);
	printf("withdrew version %llu; current is now %llu%s\n",
	    (unsigned long long)withdrawn, (unsigned long long)current,
	    current == 0 ? " (none)" : "");
	return 0;
}

int
hub_cmd_bundle(int argc, char **argv)
{
	struct bopts o;
	const char *sub;

	if (argc < 2 || parse(argc, argv, &o) == -1) {
		usage();
		return 2;
	}
	sub = argv[1];
	if (strcmp(sub, "list") == 0 && optind == argc)
		return cmd_list(&o);
	if (strcmp(sub, "show") == 0 && optind + 1 == argc)
		return cmd_show(&o, argv[optind]);
	if (strcmp(sub, "rollback") == 0 && optind == argc)
		return cmd_rollback(&o);
	usage();
	return 2;
}
