/*
 * config.h - the agent's configuration: one INI file, one option table per
 * section.  The table (config.c) drives parsing, defaults, bounds checking,
 * the normalised print of `picketd -nv` and docs/configuration.md, so a new
 * option is one table row and one struct field.
 *
 * config.c is portable (defaults, setting, validation, printing);
 * config_ini.c reads files with inih.
 */
#ifndef PICKET_CONFIG_H
#define PICKET_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/netaddr.h"

#define PK_CFG_STR_MAX	256
#define PK_CFG_PATH_MAX	1024
#define PK_CFG_VARS_MAX	64
#define PK_CFG_VAR_NAME_MAX 48

/* A set of ports, e.g. "135,139,445" or "1000-2000". */
struct pk_portset {
	uint32_t n;		/* number of ports in the set */
	uint8_t  bits[65536 / 8];
};
int pk_portset_has(const struct pk_portset *s, uint16_t port);
int pk_portset_parse(const char *s, struct pk_portset *out, char *err,
    size_t errlen);
void pk_portset_format(const struct pk_portset *s, char *out, size_t len);

struct pk_config {
	struct {
		char		host_name[PK_CFG_STR_MAX];	/* "" = system */
		char		host_id[PK_CFG_STR_MAX];	/* "" = derived */
		int		log_level;			/* LOG_LVL_* */
		char		tlp[32];
		char		user[PK_CFG_STR_MAX];	/* privsep, "" = none */
		char		control_socket[PK_CFG_PATH_MAX]; /* "" = off */
	} agent;
	struct {
		struct pk_cidrset home_net;	/* empty = local addresses */
	} network;
	struct {
		char		interfaces[PK_CFG_STR_MAX]; /* "any" */
		uint64_t	snaplen;
		int		promiscuous;
		int		immediate;	/* deliver each packet at once */
		uint64_t	buffer_size;
		uint64_t	ring_size;	/* capture thread -> engine */
		uint64_t	health_interval; /* s, 0 = never */
		char		filter[PK_CFG_PATH_MAX];	/* BPF */
	} pcap;
	struct {
		uint64_t	frag_memory;
		uint64_t	frag_timeout;		/* seconds */
		uint64_t	frag_max_datagrams;
	} decode;
	struct {
		uint64_t	max_flows;
		uint64_t	tcp_attempt_timeout;	/* seconds */
		uint64_t	tcp_timeout;
		uint64_t	tcp_closed_timeout;
		uint64_t	udp_timeout;
		uint64_t	other_timeout;
	} flows;
	struct {
		int		enabled;
		uint64_t	max_sources;
		double		trw_benign_success;	/* theta0 = 0.8 */
		double		trw_scanner_success;	/* theta1 = 0.2 */
		double		trw_detection;		/* P_D = 0.99 */
		double		trw_false_alarm;	/* P_F = 0.01 */
		uint64_t	address_scan_hosts;	/* 25 */
		uint64_t	address_scan_window;	/* 300 s */
		uint64_t	port_scan_ports;	/* 15 */
		uint64_t	port_scan_window;	/* 300 s */
		struct pk_portset worm_tcp_ports;	/* 135,139,445 */
		uint64_t	worm_tcp_rate;		/* 70 SYNs */
		struct pk_portset worm_udp_ports;	/* 1434 */
		uint64_t	worm_udp_rate;		/* 40 */
		uint64_t	worm_window;		/* 60 s */
		uint64_t	idle_timeout;		/* close indicator, s */
	} scan;
	struct {
		uint64_t	depth;		/* bytes kept per direction */
		uint64_t	memcap;		/* all streams together */
		uint64_t	max_segments;	/* out-of-order, per direction */
	} stream;
	struct {
		int		enabled;
		char		paths[PK_CFG_PATH_MAX];	/* files and dirs */
		uint64_t	max_rules;
		uint64_t	max_threshold_entries;
	} rules;
	struct {
		int		enabled;
		char		paths[PK_CFG_PATH_MAX];	/* files and dirs */
		uint64_t	max_entries;
	} ioc;
	struct {
		int		enabled;
		uint64_t	substring;	/* bytes hashed per window */
		uint64_t	sample;		/* keep 1 fingerprint in N */
		uint64_t	min_destinations;
		uint64_t	window;		/* seconds */
		uint64_t	max_fingerprints;
		uint64_t	excerpt;	/* payload bytes reported */
	} fingerprint;
	struct {
		int		enabled;
		char		persistence_paths[PK_CFG_PATH_MAX];
		char		exec_paths[PK_CFG_PATH_MAX];
		struct pk_portset listen_allow;
		uint64_t	max_processes;
		uint64_t	argv_bytes;
		uint64_t	ring_size;		/* BPF ring buffer bytes */
		uint64_t	hash_max_size;
		uint64_t	recent_write;		/* seconds */
		uint64_t	rate_limit;		/* events/s per process */
	} process;
	struct {
		char		file[PK_CFG_PATH_MAX];	/* "", "-" = stdout */
		uint64_t	update_interval;	/* s, 0 = start+end */
	} output;
	struct {
		char		dir[PK_CFG_PATH_MAX];
		uint64_t	max_bytes;
		uint64_t	segment_bytes;
		char		sync[16];		/* batch, always, never */
		uint64_t	sync_interval;		/* milliseconds */
	} spool;
	struct {
		char		address[PK_CFG_STR_MAX];	/* "" = no hub */
		char		server_name[PK_CFG_STR_MAX];	/* "" = host */
		char		ca[PK_CFG_PATH_MAX];
		char		cert[PK_CFG_PATH_MAX];
		char		key[PK_CFG_PATH_MAX];
		char		crl[PK_CFG_PATH_MAX];
		char		pin[PK_CFG_STR_MAX];	/* SPKI SHA-256 hex */
		char		proxy[PK_CFG_STR_MAX];	/* host:port */
		uint64_t	connect_timeout;	/* s */
		uint64_t	backoff_base;		/* s */
		uint64_t	backoff_cap;		/* s */
		uint64_t	renew_before;		/* s */
		uint64_t	batch_records;
		uint64_t	batch_bytes;
		uint64_t	compression;		/* 0 = off, 1..9 */
	} hub;
	/* [tasks]: what the hub may order (docs/tasks.md, "Agent") */
	struct {
		int		enabled;
		char		allow[PK_CFG_STR_MAX];	/* type names */
		uint64_t	max_duration;		/* s */
		uint64_t	max_bytes;
		uint64_t	max_concurrent;
		uint64_t	max_disk;
		char		allow_filters[4096];	/* ';'-separated */
		char		deny_words[1024];
	} tasks;
	/* [bundle]: shared-indicator bundles from the hub (docs/bundles.md) */
	struct {
		int		accept;
		uint64_t	max_entries;
	} bundle;
	/* [vars]: rule variables ($NAME) for Suricata-syntax rules */
	struct {
		size_t		n;
		struct {
			char	name[PK_CFG_VAR_NAME_MAX];
			char	value[PK_CFG_STR_MAX];
		} v[PK_CFG_VARS_MAX];
	} vars;
};

/* [spool] sync as enum pk_spool_sync (transport/spool.h), -1 if unknown. */
int pk_config_spool_sync(const struct pk_config *c);
/* Split "host:port" / "[v6]:port" into host and port; 0 or -1. */
int pk_config_split_hostport(const char *s, char *host, size_t hostlen,
    uint16_t *port);

/* Value of a [vars] variable (name without '$'), or NULL. */
const char *pk_config_var(const struct pk_config *c, const char *name);

void pk_config_defaults(struct pk_config *c);
/*
 * Set one option from text.  Returns 0, or -1 with a message in err
 * ("unknown section", "unknown key", "value out of range 1..10", ...).
 */
int pk_config_set(struct pk_config *c, const char *section, const char *key,
    const char *value, char *err, size_t errlen);
/* Cross-option checks after loading; prints "name: message" lines. */
int pk_config_validate(const struct pk_config *c, const char *name, FILE *errfp);
/* Normalised configuration, every option, defaults filled in (-nv). */
void pk_config_print(const struct pk_config *c, FILE *fp);
/* Markdown reference generated from the tables (docs/configuration.md). */
void pk_config_doc(FILE *fp);
/* The option blocks of an INI file listing every option commented out at
 * its default (packaging/agent.ini), and the same for the OPTIONS section
 * of picket-agent.ini(5) in roff; both from the tables. */
void pk_config_ini_options(FILE *fp);
void pk_config_man_options(FILE *fp);

/* config_ini.c: load a file / a string.  Returns the number of problems,
 * each printed to errfp as "NAME:LINE: message". */
int pk_config_load(struct pk_config *c, const char *path, FILE *errfp);
int pk_config_load_string(struct pk_config *c, const char *text,
    const char *name, FILE *errfp);

#endif
