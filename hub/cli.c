/*
 * cli.c - the pieces picket-hub's command-line subcommands share
 * (task_cli.c, incident_cli.c, peer_cli.c, enroll_cli.c; see cli.h):
 * they run beside a serving hub and open the same SQLite store directly
 * (WAL lets both write), so where that store is, how it is opened and
 * how a change is audited must be one piece of code, or one subcommand
 * would drift from the others.  Called only by those files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/pktime.h"
#include "common/util.h"
#include "hub/auth.h"
#include "hub/cli.h"
#include "hub/config.h"
#include "hub/store.h"

int
hub_cli_config(const char *conf, struct hub_config *c)
{
	if (hub_config_load(c, conf != NULL ? conf : HUB_CLI_CONF, stderr) ==
	    -1)
		return -1;
	if (mkdir(c->data_dir, 0750) == -1 && errno != EEXIST) {
		fprintf(stderr, "picket-hub: %s: %s\n", c->data_dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

struct hub_store *
hub_cli_store(const struct hub_config *c, const char *db)
{
	struct hub_store *st;
	char path[HUB_PATH_MAX + 16];

	if (db == NULL && strcmp(c->store_backend, "postgresql") == 0) {
		if (hub_store_pg.open(&st, c->store_dsn) == -1) {
			fprintf(stderr, "picket-hub: cannot open the "
			    "PostgreSQL store ([store] dsn)\n");
			return NULL;
		}
		return st;
	}
	if (db != NULL)
		pk_strlcpy(path, db, sizeof(path));
	else
		snprintf(path, sizeof(path), "%s/hub.db", c->data_dir);
	if (hub_store_sqlite.open(&st, path) == -1) {
		fprintf(stderr, "picket-hub: cannot open store %s\n", path);
		return NULL;
	}
	return st;
}

struct hub_store *
hub_cli_open(const struct hub_cli_where *w, char *results_dir, size_t cap)
{
	struct hub_config c;
	char *slash;
	size_t n;

	if (w->conf == NULL && w->db != NULL) {
		if (results_dir != NULL) {
			pk_strlcpy(results_dir, w->db, cap);
			if ((slash = strrchr(results_dir, '/')) != NULL)
				*slash = '\0';
			else
				pk_strlcpy(results_dir, ".", cap);
			n = strlen(results_dir);
			if (pk_strlcpy(results_dir + n, "/tasks", cap - n) >=
			    cap - n)
				return NULL;
		}
		return hub_cli_store(NULL, w->db);	/* SQLite: no config */
	}
	if (hub_cli_config(w->conf, &c) == -1)
		return NULL;
	if (results_dir != NULL && hub_config_results_dir(&c, results_dir,
	    cap) == -1)
		return NULL;
	return hub_cli_store(&c, w->db);
}

void
hub_cli_audit(struct hub_store *st, const char *action, const char *target,
    const char *result)
{
	(void)hub_audit(st, "cli", "admin", action, target, "local", result);
}

const char *
hub_cli_time(int64_t us, const char *none, char *out, size_t cap)
{
	if (us <= 0)
		return none;
	return pk_time_format((uint64_t)us, out, cap);
}

int
hub_cli_json_line(const json_t *j, size_t flags)
{
	char *s;

	if ((s = json_dumps(j, flags)) == NULL)
		return -1;
	printf("%s\n", s);
	free(s);
	return 0;
}
