/*
 * config.h - picket-hub's configuration (hub.ini): a handful of options in
 * [hub], [tls] and [api], read with inih through one option table
 * (config.c), so an option is one table row and one field.  docs/hub.md
 * lists them all.  Called by hub/main.c, the listener and the API.
 */
#ifndef PICKET_HUB_CONFIG_H
#define PICKET_HUB_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "transport/frame.h"

#define HUB_PATH_MAX	1024

struct hub_config {
	char		data_dir[HUB_PATH_MAX];	/* hub.db lives here */
	char		listen[256];		/* host:port for agents */
	uint64_t	retention_days;		/* 0 = keep for ever */
	uint64_t	max_connections;
	char		name[PK_HUB_ID_MAX + 1];	/* hub_id; "" = host */
	uint64_t	heartbeat;		/* seconds; silence limit is 3x */
	uint64_t	handshake_timeout;	/* seconds for TLS + HELLO */
	uint64_t	max_frame;		/* payload bytes, in WELCOME */
	uint64_t	max_batch_records;
	uint64_t	max_batch_bytes;	/* inflated NDJSON bytes */
	uint64_t	max_inflight;		/* unACKed BATCH frames */
	char		tls_ca[HUB_PATH_MAX];
	char		tls_cert[HUB_PATH_MAX];
	char		tls_key[HUB_PATH_MAX];
	char		tls_crl[HUB_PATH_MAX];	/* "" = no CRL */
	char		api_listen[256];	/* HTTPS API; "" = off */
	uint64_t	api_max_body;		/* request body bytes */
	uint64_t	api_max_connections;	/* open HTTPS connections */
	char		ui_dir[HUB_PATH_MAX];	/* web UI files; "" = off */
	char		share_name[PK_HUB_ID_MAX + 1];	/* "" = name */
	char		share_internal[1024];	/* CIDRs; "" = built in */
	uint64_t	share_pseudonyms;	/* 1: hosts as pseudonyms */
	char		share_domains[4096];	/* suffixes; "" = none */
	uint64_t	tasks_max_total_bytes;	/* all results; 0 = no cap */
	/* [peering] (docs/peering.md) */
	char		peering_listen[256];	/* host:port; "" = off */
	char		peering_cert[HUB_PATH_MAX];	/* "" = [tls] cert */
	char		peering_key[HUB_PATH_MAX];	/* "" = [tls] key */
	uint64_t	peering_push_interval;	/* seconds */
	uint64_t	peering_max_bundle_bytes;
	uint64_t	peering_max_bundle_objects;
	uint64_t	peering_max_connections;	/* the listener's */
	/* [bundles] (docs/peering.md, "From shared indicators to detection") */
	uint64_t	bundles_max_entries;	/* entries of one bundle */
	uint64_t	bundles_check_interval;	/* seconds */
	uint64_t	bundles_keep;		/* newest versions kept */
	/* [store] (docs/scaling.md) */
	char		store_backend[16];	/* "sqlite" or "postgresql" */
	char		store_dsn[1024];	/* libpq connection string */
	char		tasks_results_dir[HUB_PATH_MAX];	/* "" = data_dir/tasks */
};

/* Where task results live: [tasks] results_dir, or data_dir/tasks.  -1
 * when it does not fit cap. */
int hub_config_results_dir(const struct hub_config *c, char *out,
    size_t cap);

void hub_config_defaults(struct hub_config *c);
/* Read path over the defaults; problems to errfp.  0 or -1. */
int hub_config_load(struct hub_config *c, const char *path, FILE *errfp);
/* Set one option ("hub", "retention_days", "30"): 0 or -1 with *err. */
int hub_config_set(struct hub_config *c, const char *section,
    const char *name, const char *value, const char **err);

#endif
