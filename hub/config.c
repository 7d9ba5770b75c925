/*
 * config.c - hub.ini (see config.h).  One table names every option, its
 * section, type, bounds and default; loading applies the defaults and then
 * each name = value inih hands over, and refuses unknown names, bad
 * numbers and values too long for their field.  Called by hub/main.c.
 */
#include <stddef.h>
#include <string.h>

#include <ini.h>

#include "common/util.h"
#include "hub/config.h"
#include "transport/batch.h"
#include "transport/bundle.h"
#include "transport/frame.h"

/* HT_LIST: a string that each further line adds to (", " between), for
 * lists longer than the 200 bytes Debian's inih reads on one line:
 * indented continuation lines reach us as the same name again.
 * HT_DUR: seconds written as "30s", "5m", "2h" or a plain number;
 * HT_SIZE: bytes as "64k", "4M", "1G" or a plain number; both bounded by
 * lo..hi like HT_UINT.  HT_ADDR: "" or host:port with a port 1..65535. */
enum { HT_STR, HT_UINT, HT_LIST, HT_DUR, HT_SIZE, HT_ADDR };

struct hub_opt {
	const char	*section;
	const char	*name;
	int		 type;
	size_t		 off;
	size_t		 size;		/* strings: the field's size */
	const char	*def;
	uint64_t	 lo, hi;
	const char	*choices;	/* HT_STR: "a|b", NULL = any text */
};

#define HS(sec, n, f, def) { sec, n, HT_STR, offsetof(struct hub_config, f), \
	sizeof(((struct hub_config *)0)->f), def, 0, 0, NULL }
#define HL(sec, n, f) { sec, n, HT_LIST, offsetof(struct hub_config, f), \
	sizeof(((struct hub_config *)0)->f), "", 0, 0, NULL }
#define HU(sec, n, f, def, lo, hi) { sec, n, HT_UINT, \
	offsetof(struct hub_config, f), sizeof(uint64_t), def, lo, hi, NULL }
#define HD(sec, n, f, def, lo, hi) { sec, n, HT_DUR, \
	offsetof(struct hub_config, f), sizeof(uint64_t), def, lo, hi, NULL }
#define HZ(sec, n, f, def, lo, hi) { sec, n, HT_SIZE, \
	offsetof(struct hub_config, f), sizeof(uint64_t), def, lo, hi, NULL }
#define HC(sec, n, f, def, choices) { sec, n, HT_STR, \
	offsetof(struct hub_config, f), sizeof(((struct hub_config *)0)->f), \
	def, 0, 0, choices }
#define HA(sec, n, f, def) { sec, n, HT_ADDR, offsetof(struct hub_config, f), \
	sizeof(((struct hub_config *)0)->f), def, 0, 0, NULL }

static const struct hub_opt hub_opts[] = {
	HS("hub", "data_dir", data_dir, "/var/lib/picket-hub"),
	HS("hub", "listen", listen, "0.0.0.0:7443"),
	HU("hub", "retention_days", retention_days, "90", 0, 36500),
	HU("hub", "max_connections", max_connections, "10000", 1, 1000000),
	HS("hub", "name", name, ""),
	HU("hub", "heartbeat", heartbeat, "30", 1, 3600),
	HU("hub", "handshake_timeout", handshake_timeout, "10", 1, 300),
	HU("hub", "max_frame", max_frame, "1048576", 4096,
	    PK_FRAME_MAX_PAYLOAD),
	HU("hub", "max_batch_records", max_batch_records, "10000", 1,
	    PK_BATCH_MAX_RECORDS),
	HU("hub", "max_batch_bytes", max_batch_bytes, "8388608", 4096,
	    PK_BATCH_MAX_RAW),
	HU("hub", "max_inflight", max_inflight, "8", 1, 64),
	HS("tls", "ca", tls_ca, ""),
	HS("tls", "cert", tls_cert, ""),
	HS("tls", "key", tls_key, ""),
	HS("tls", "crl", tls_crl, ""),
	HS("api", "listen", api_listen, "0.0.0.0:8443"),
	HU("api", "max_body", api_max_body, "65536", 0, 16ULL * 1024 * 1024),
	HU("api", "max_connections", api_max_connections, "256", 1, 65536),
	HS("api", "ui_dir", ui_dir, "/usr/share/picket-hub/ui"),
	HS("sharing", "name", share_name, ""),
	HS("sharing", "internal", share_internal, ""),
	HU("sharing", "host_pseudonyms", share_pseudonyms, "0", 0, 1),
	HL("sharing", "internal_domains", share_domains),
	HU("tasks", "max_total_bytes", tasks_max_total_bytes, "10737418240",
	    0, UINT64_MAX / 2),
	/* docs/peering.md: a bundle holds at least one indicator and its
	 * sighting, and is at most 256 MiB, which evhttp still buffers */
	HA("peering", "listen", peering_listen, ""),
	HS("peering", "cert", peering_cert, ""),
	HS("peering", "key", peering_key, ""),
	HD("peering", "push_interval", peering_push_interval, "30s", 1,
	    86400),
	HZ("peering", "max_bundle_bytes", peering_max_bundle_bytes, "4M",
	    4096, 256ULL * 1024 * 1024),
	HU("peering", "max_bundle_objects", peering_max_bundle_objects,
	    "5000", 11, 100000),
	HU("peering", "max_connections", peering_max_connections, "64", 1,
	    4096),
	/* the bundle format's own cap bounds max_entries (transport/bundle.h) */
	HU("bundles", "max_entries", bundles_max_entries, "20000", 1,
	    PK_BUNDLE_MAX_ENTRIES),
	HD("bundles", "check_interval", bundles_check_interval, "5s", 1, 3600),
	HU("bundles", "keep", bundles_keep, "50", 2, 100000),
	/* docs/scaling.md: several hubs over one PostgreSQL database */
	HC("store", "backend", store_backend, "sqlite", "sqlite|postgresql"),
	HS("store", "dsn", store_dsn, ""),
	/* several hubs share one directory for task results (a mount every
	 * hub has), so an upload resumed through another hub continues the
	 * same file and any hub serves the download (docs/scaling.md) */
	HS("tasks", "results_dir", tasks_results_dir, ""),
};

int
hub_config_results_dir(const struct hub_config *c, char *out, size_t cap)
{
	int n;

	if (c->tasks_results_dir[0] != '\0')
		n = snprintf(out, cap, "%s", c->tasks_results_dir);
	else
		n = snprintf(out, cap, "%s/tasks", c->data_dir);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Is value one of the "|"-separated choices? */
static int
choice_ok(const char *choices, const char *value)
{
	size_t n = strlen(value);
	const char *p = choices, *bar;

	for (;;) {
		bar = strchr(p, '|');
		if ((size_t)(bar != NULL ? bar - p : (ptrdiff_t)strlen(p)) == n &&
		    strncmp(p, value, n) == 0)
			return 1;
		if (bar == NULL)
			return 0;
		p = bar + 1;
	}
}

/* "" or host:port, [v6]:port: the shape only (the listener resolves it). */
static int
addr_ok(const char *v, const char **err)
{
	const char *colon;
	uint64_t port;

	if (v[0] == '\0')
		return 0;
	if ((colon = strrchr(v, ':')) == NULL || colon == v) {
		*err = "not host:port";
		return -1;
	}
	if (v[0] == '[' && colon[-1] != ']') {
		*err = "not [address]:port";
		return -1;
	}
	if (pk_parse_u64(colon + 1, 1, 65535, &port, err) == -1) {
		*err = "port not 1..65535";
		return -1;
	}
	return 0;
}

static int
opt_apply(struct hub_config *c, const struct hub_opt *o, const char *value,
    const char **err)
{
	char *field = (char *)c + o->off;
	uint64_t v;
	size_t n;

	if (o->type == HT_LIST && field[0] != '\0' && value[0] != '\0') {
		n = strlen(field);
		if (pk_strlcpy(field + n, ", ", o->size - n) >= o->size - n ||
		    pk_strlcpy(field + n + 2, value, o->size - n - 2) >=
		    o->size - n - 2) {
			field[n] = '\0';
			*err = "value too long";
			return -1;
		}
		return 0;
	}
	if (o->type == HT_STR || o->type == HT_LIST || o->type == HT_ADDR) {
		if (o->type == HT_ADDR && addr_ok(value, err) == -1)
			return -1;
		if (o->choices != NULL && !choice_ok(o->choices, value)) {
			*err = "not one of the accepted values";
			return -1;
		}
		if (strlen(value) >= o->size) {
			*err = "value too long";
			return -1;
		}
		pk_strlcpy(field, value, o->size);
		return 0;
	}
	if (o->type == HT_DUR) {
		if (pk_parse_duration(value, o->lo, o->hi, &v, err) == -1)
			return -1;
	} else if (o->type == HT_SIZE) {
		if (pk_parse_size(value, o->lo, o->hi, &v, err) == -1)
			return -1;
	} else if (pk_parse_u64(value, o->lo, o->hi, &v, err) == -1)
		return -1;
	memcpy(field, &v, sizeof(v));
	return 0;
}

void
hub_config_defaults(struct hub_config *c)
{
	const char *err;
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < PK_NELEM(hub_opts); i++)
		(void)opt_apply(c, &hub_opts[i], hub_opts[i].def, &err);
}

int
hub_config_set(struct hub_config *c, const char *section, const char *name,
    const char *value, const char **err)
{
	size_t i;

	for (i = 0; i < PK_NELEM(hub_opts); i++)
		if (strcmp(hub_opts[i].section, section) == 0 &&
		    strcmp(hub_opts[i].name, name) == 0)
			return opt_apply(c, &hub_opts[i], value, err);
	*err = "unknown option";
	return -1;
}

struct load_ctx {
	struct hub_config	*c;
	const char		*path;
	FILE			*errfp;
	int			 problems;
};

static int
load_one(void *arg, const char *section, const char *name, const char *value)
{
	struct load_ctx *x = arg;
	const char *err = NULL;

	if (hub_config_set(x->c, section, name, value, &err) == -1) {
		fprintf(x->errfp, "%s: [%s] %s: %s\n", x->path, section, name,
		    err != NULL ? err : "invalid");
		x->problems++;
	}
	return 1;	/* keep going: report every problem at once */
}

int
hub_config_load(struct hub_config *c, const char *path, FILE *errfp)
{
	struct load_ctx x = { c, path, errfp, 0 };
	int rc;

	hub_config_defaults(c);
	rc = ini_parse(path, load_one, &x);
	if (rc < 0) {
		fprintf(errfp, "%s: cannot open\n", path);
		return -1;
	}
	if (rc > 0) {
		fprintf(errfp, "%s:%d: syntax error\n", path, rc);
		return -1;
	}
	return x.problems == 0 ? 0 : -1;
}
