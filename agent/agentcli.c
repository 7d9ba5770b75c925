/*
 * agentcli.c - the non-live modes both mains share (agentcli.h).
 */
#include <stdio.h>
#include <string.h>

#include "agent/agentcli.h"
#include "agent/config.h"
#include "agent/engine.h"
#include "agent/ioc.h"
#include "collectors/pcap/sigdet.h"
#include "common/log.h"
#include "transport/tls.h"

int
pk_cli_check_hub(const struct pk_config *cfg, FILE *out)
{
	struct pk_tls_client_opts to;
	struct pk_tls_ctx *ctx;
	char err[PK_TLS_ERRLEN + 64], id[PK_TLS_CN_MAX + 1];

	memset(&to, 0, sizeof(to));
	to.ca_file = cfg->hub.ca;
	to.cert_file = cfg->hub.cert;
	to.key_file = cfg->hub.key;
	to.crl_file = cfg->hub.crl[0] ? cfg->hub.crl : NULL;
	to.spki_pin = cfg->hub.pin[0] ? cfg->hub.pin : NULL;
	if ((ctx = pk_tls_client_ctx_new(&to, err, sizeof(err))) == NULL) {
		fprintf(out, "hub: %s\n", err);
		return 1;
	}
	pk_tls_ctx_free(ctx);
	if (pk_tls_file_cn(cfg->hub.cert, id, sizeof(id), err,
	    sizeof(err)) != 0) {
		fprintf(out, "hub: %s\n", err);
		return 1;
	}
	fprintf(out, "hub: %s as agent %s, certificates OK\n",
	    cfg->hub.address, id);
	return 0;
}

int
pk_cli_check_config(const struct pk_config *cfg, int verbose,
    const char *rulefile, int (*extra)(const struct pk_config *, FILE *))
{
	int problems = 0;

	if (verbose)
		pk_config_print(cfg, stdout);
	if (cfg->ioc.enabled)
		problems += pk_ioc_check(cfg, stderr);
	if (cfg->rules.enabled || rulefile != NULL)
		problems += pk_rules_check(cfg, rulefile, stderr);
	if (cfg->hub.address[0] != '\0')
		problems += pk_cli_check_hub(cfg, stderr);
	if (extra != NULL)
		problems += extra(cfg, stderr);
	if (problems != 0) {
		fprintf(stderr, "configuration has %d problem%s\n", problems,
		    problems == 1 ? "" : "s");
		return 1;
	}
	fprintf(stderr, "configuration OK\n");
	return 0;
}

struct pk_engine *
pk_cli_make_engine(struct pk_config *cfg, const char *rulefile,
    const char *host_id, const char *host_name, const char *agent_id,
    int offline)
{
	struct pk_engine *e;

	if (rulefile != NULL) {
		FILE *fp;

		/* Asked for by name, so its absence is an error, not the
		 * warning a missing default directory gets. */
		if ((fp = fopen(rulefile, "r")) == NULL) {
			log_warn("cannot read rule file %s", rulefile);
			return NULL;
		}
		fclose(fp);
		cfg->rules.enabled = 1;
		pk_sigdet_set_rule_file(rulefile);
	}
	if ((e = pk_engine_new(cfg)) == NULL) {
		log_warnx("cannot start the detection engine");
		return NULL;
	}
	pk_engine_set_identity(e, host_id, host_name, agent_id);
	pk_engine_set_offline(e, offline);
	return e;
}
