/*
 * cli.h - what picket-hub's store-writing subcommands share
 * (hub/task_cli.c, hub/incident_cli.c, hub/peer_cli.c, hub/enroll_cli.c):
 * finding and opening the configuration and the store from -c hub.ini /
 * --db PATH, the audit rows they write as actor "cli", times and JSON
 * lines on stdout.  Every function says what went wrong on stderr as
 * "picket-hub: ..." itself, so a caller only returns its exit status.
 * Only those command-line files call it; the daemon has its own paths.
 */
#ifndef HUB_CLI_H
#define HUB_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct hub_config;
struct hub_store;

#define HUB_CLI_CONF	"/etc/picket/hub.ini"	/* without -c */

/* Where the store is, as the user gave it: -c hub.ini, --db PATH. */
struct hub_cli_where {
	const char	*conf;
	const char	*db;
};

/*
 * Load conf (HUB_CLI_CONF when NULL) and make its data_dir.  0, or -1
 * (said).
 */
int hub_cli_config(const char *conf, struct hub_config *c);

/* Open the SQLite file db when it is given (c may then be NULL), else c's
 * store: [store] backend postgresql with its dsn, or data_dir/hub.db.
 * NULL when it fails (said). */
struct hub_store *hub_cli_store(const struct hub_config *c, const char *db);

/*
 * The store of w: --db alone needs no configuration; otherwise the
 * configuration is loaded (its data_dir made) and --db, when given,
 * still names the database.  results_dir (may be NULL) gets where task
 * results live: the configuration's ([tasks] results_dir, or
 * data_dir/tasks), or with --db alone the database's directory's tasks/.
 * NULL when it fails (said).
 */
struct hub_store *hub_cli_open(const struct hub_cli_where *w,
    char *results_dir, size_t cap);

/* One audit row for a command-line change: actor "cli", role admin. */
void hub_cli_audit(struct hub_store *st, const char *action,
    const char *target, const char *result);

/* us as an RFC 3339 time in out, or none when us <= 0. */
const char *hub_cli_time(int64_t us, const char *none, char *out, size_t cap);

/* j dumped with flags as one line on stdout.  0, or -1. */
int hub_cli_json_line(const json_t *j, size_t flags);

#endif
