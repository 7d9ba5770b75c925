/*
 * agentcli.h - what picketd's two mains (agent/main.c on Unix,
 * agent/main_win32.c on Windows) share for the modes that do not run live:
 * `-n` (check the configuration and load what the agent would load) and
 * making the detection engine for `-r`.  Portable: it uses only the core,
 * the TLS wrapper and the standard library.
 */
#ifndef PICKET_AGENTCLI_H
#define PICKET_AGENTCLI_H

#include <stdio.h>

struct pk_config;
struct pk_engine;

/*
 * -n with [hub]: load the certificates as the shipper will, so that a
 * missing or mismatched key shows now, not as reconnect warnings later.
 * Writes "hub: ..." to out; 0 fine, 1 a problem.
 */
int pk_cli_check_hub(const struct pk_config *cfg, FILE *out);

/*
 * -n: the file is already loaded and checked; also load the IOC lists,
 * the rules (rulefile, -S, may be NULL) and the hub's certificates, and
 * say what was found; extra (may be NULL) adds a platform's own lines
 * and returns its number of problems.  Prints the configuration first
 * when verbose.  Ends with "configuration OK" or the number of problems
 * on stderr; returns 0 or 1 (the exit status).
 */
int pk_cli_check_config(const struct pk_config *cfg, int verbose,
    const char *rulefile, int (*extra)(const struct pk_config *, FILE *));

/*
 * The engine for this agent: with rulefile (-S), that file and no other
 * (rules are turned on; a missing file is an error, logged).  NULL on
 * failure (logged).
 */
struct pk_engine *pk_cli_make_engine(struct pk_config *cfg,
    const char *rulefile, const char *host_id, const char *host_name,
    const char *agent_id, int offline);

#endif
