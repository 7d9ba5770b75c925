/*
 * indicator.c - ECS-aligned JSON for indicators.  The field names and
 * nesting here are the contract documented in docs/schema.md and checked by
 * tests/schema/indicator.schema.json; change all three together.
 * Every string that can come from a packet is bounded and sanitised by the
 * JSON writer.  Portable; called by the engine.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/indicator.h"
#include "common/pktime.h"
#include "common/util.h"

/* Longest value we write for any one string field (bytes of input). */
#define FIELD_MAX	1024
#define NAME_MAX_	255
#define SHARED_STR_MAX	4096	/* a bundle value is at most 1 KiB */

const char *
pk_transport_name(uint8_t proto)
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "ipv6-icmp";
	default:
		return NULL;
	}
}

const char *
pk_direction_name(int d)
{
	static const char *const names[] = { "unknown", "inbound", "outbound",
	    "internal", "external" };

	if (d < 0 || (size_t)d >= PK_NELEM(names))
		return "unknown";
	return names[d];
}

const char *
pk_phase_name(int p)
{
	static const char *const names[] = { "start", "change", "end" };

	if (p < 0 || (size_t)p >= PK_NELEM(names))
		return "info";
	return names[p];
}

static void
write_time(struct json *j, const char *key, uint64_t us)
{
	char t[PK_TIMESTRLEN];

	json_str(j, key, pk_time_format(us, t, sizeof(t)), 0);
}

static void
write_endpoint(struct json *j, const char *key, int has_ip,
    const struct pk_addr *a, int has_port, uint16_t port)
{
	char ip[PK_ADDRSTRLEN];

	if (!has_ip && !has_port)
		return;
	json_obj_begin(j, key);
	if (has_ip)
		json_str(j, "ip", pk_addr_format(a, ip, sizeof(ip)), 0);
	if (has_port)
		json_u64(j, "port", port);
	json_obj_end(j);
}

static void
write_event(struct json *j, const struct pk_indicator *ind)
{
	int alert = ind->kind == NULL;

	json_obj_begin(j, "event");
	json_str(j, "kind", alert ? "alert" : ind->kind, 0);
	json_arr_begin(j, "category");
	json_str(j, NULL, ind->category ? ind->category : "network", 0);
	if (alert)
		json_str(j, NULL, "intrusion_detection", 0);
	json_arr_end(j);
	json_arr_begin(j, "type");
	json_str(j, NULL, alert ? pk_phase_name(ind->phase) : "info", 0);
	if (alert)
		json_str(j, NULL, "indicator", 0);
	json_arr_end(j);
	json_str(j, "module", ind->module ? ind->module : "network", 0);
	json_str(j, "dataset", ind->dataset ? ind->dataset : "picket", 0);
	json_u64(j, "severity", ind->severity);
	write_time(j, "start", ind->first_seen_us);
	write_time(j, "end", ind->last_seen_us);
	json_obj_end(j);
}

static void
write_identity(struct json *j, const struct pk_indicator *ind)
{
	json_obj_begin(j, "host");
	json_str(j, "id", ind->host_id ? ind->host_id : "", NAME_MAX_);
	json_str(j, "name", ind->host_name ? ind->host_name : "", NAME_MAX_);
	json_obj_end(j);
	json_obj_begin(j, "agent");
	json_str(j, "id", ind->agent_id ? ind->agent_id : "", NAME_MAX_);
	json_str(j, "type", "picketd", 0);
	json_str(j, "version", ind->agent_version ? ind->agent_version : "",
	    NAME_MAX_);
	json_obj_end(j);
}

static void
write_network(struct json *j, const struct pk_indicator *ind)
{
	const char *t = pk_transport_name(ind->transport);

	write_endpoint(j, "source", ind->has_src, &ind->src, ind->has_sport,
	    ind->sport);
	write_endpoint(j, "destination", ind->has_dst, &ind->dst,
	    ind->has_dport, ind->dport);
	json_obj_begin(j, "network");
	if (t != NULL)
		json_str(j, "transport", t, 0);
	json_str(j, "direction", pk_direction_name(ind->direction), 0);
	json_obj_end(j);
	if (ind->dns_name != NULL) {
		json_obj_begin(j, "dns");
		json_obj_begin(j, "question");
		json_str(j, "name", ind->dns_name, NAME_MAX_);
		json_obj_end(j);
		json_obj_end(j);
	}
	if (ind->sni != NULL) {
		json_obj_begin(j, "tls");
		json_obj_begin(j, "client");
		json_str(j, "server_name", ind->sni, NAME_MAX_);
		json_obj_end(j);
		json_obj_end(j);
	}
	if (ind->url_domain != NULL || ind->url_path != NULL) {
		json_obj_begin(j, "url");
		if (ind->url_domain != NULL)
			json_str(j, "domain", ind->url_domain, NAME_MAX_);
		if (ind->url_path != NULL)
			json_str(j, "path", ind->url_path, FIELD_MAX);
		json_obj_end(j);
	}
}

static void
write_rule(struct json *j, const struct pk_indicator *ind)
{
	json_obj_begin(j, "rule");
	json_str(j, "id", ind->rule_id ? ind->rule_id : "", NAME_MAX_);
	json_str(j, "name", ind->rule_name ? ind->rule_name : "", FIELD_MAX);
	json_str(j, "ruleset", ind->ruleset ? ind->ruleset : "", NAME_MAX_);
	if (ind->rule_category != NULL)
		json_str(j, "category", ind->rule_category, NAME_MAX_);
	if (ind->rule_reference != NULL)
		json_str(j, "reference", ind->rule_reference, FIELD_MAX);
	if (ind->rule_version != NULL)
		json_str(j, "version", ind->rule_version, NAME_MAX_);
	json_obj_end(j);
}

static void
write_threat(struct json *j, const struct pk_indicator *ind)
{
	if (ind->threat_type == NULL)
		return;
	json_obj_begin(j, "threat");
	json_obj_begin(j, "indicator");
	json_str(j, "type", ind->threat_type, NAME_MAX_);
	if (ind->threat_name != NULL)
		json_str(j, "name", ind->threat_name, FIELD_MAX);
	if (ind->threat_provider != NULL)
		json_str(j, "provider", ind->threat_provider, NAME_MAX_);
	json_obj_end(j);
	json_obj_end(j);
}

/* picket.shared (docs/schema.md): the hub reads ref. */
static void
write_shared(struct json *j, const struct pk_ind_shared *s)
{
	json_obj_begin(j, "shared");
	json_u64(j, "ref", s->ref);
	json_str(j, "origin", s->origin ? s->origin : "", NAME_MAX_);
	json_str(j, "tlp", s->tlp ? s->tlp : "", NAME_MAX_);
	json_u64(j, "bundle", s->bundle);
	json_str(j, "kind", s->kind ? s->kind : "", NAME_MAX_);
	json_str(j, "value", s->value ? s->value : "", FIELD_MAX);
	json_obj_end(j);
}

long
pk_indicator_json(const struct pk_indicator *ind, char *buf, size_t cap)
{
	struct json j;

	json_init(&j, buf, cap);
	json_obj_begin(&j, NULL);
	write_time(&j, "@timestamp", ind->ts_us);
	write_event(&j, ind);
	write_identity(&j, ind);
	write_rule(&j, ind);
	if (ind->message != NULL)
		json_str(&j, "message", ind->message, FIELD_MAX);
	write_network(&j, ind);
	write_threat(&j, ind);
	if (ind->write_ecs != NULL)
		ind->write_ecs(&j, ind->ecs_arg);

	json_obj_begin(&j, "picket");
	json_u64(&j, "seq", ind->seq);
	json_u64(&j, "count", ind->count);
	write_time(&j, "first_seen", ind->first_seen_us);
	write_time(&j, "last_seen", ind->last_seen_us);
	json_str(&j, "fingerprint", ind->fingerprint, 0);
	json_str(&j, "tlp", ind->tlp ? ind->tlp : "TLP:AMBER", 0);
	if (ind->shared != NULL)
		write_shared(&j, ind->shared);
	json_obj_begin(&j, "details");
	if (ind->write_details != NULL)
		ind->write_details(&j, ind->details_arg);
	json_obj_end(&j);
	json_obj_end(&j);

	json_obj_end(&j);
	return json_finish(&j);
}

void
pk_indicator_fp_bytes(const void *key, size_t keylen, uint8_t h[16])
{
	uint64_t a, b;
	int i;

	/* Two independent FNV-1a passes give 128 bits: enough to keep
	 * distinct findings apart; this is an identifier, not a MAC. */
	a = pk_fnv1a64(key, keylen, PK_FNV_SEED);
	b = pk_fnv1a64(key, keylen, PK_FNV_SEED ^ 0x9e3779b97f4a7c15ULL);
	for (i = 0; i < 8; i++) {
		h[i] = (uint8_t)(a >> (56 - 8 * i));
		h[8 + i] = (uint8_t)(b >> (56 - 8 * i));
	}
}

void
pk_indicator_fingerprint(struct pk_indicator *ind, const void *key,
    size_t keylen)
{
	uint8_t h[16];

	pk_indicator_fp_bytes(key, keylen, h);
	pk_hex(h, sizeof(h), ind->fingerprint);
}

/* Copy one string into the block at *p; "" for NULL. */
static const char *
shared_put(char **p, const char *s)
{
	size_t n = s != NULL ? strnlen(s, SHARED_STR_MAX) : 0;
	char *d = *p;

	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	*p += n + 1;
	return d;
}

struct pk_ind_shared *
pk_ind_shared_dup(const struct pk_ind_shared *s)
{
	const char *f[4] = { s->origin, s->tlp, s->kind, s->value };
	struct pk_ind_shared *d;
	size_t need = sizeof(*d), i;
	char *p;

	for (i = 0; i < PK_NELEM(f); i++)
		need += (f[i] != NULL ? strnlen(f[i], SHARED_STR_MAX) : 0) + 1;
	if ((d = malloc(need)) == NULL)
		return NULL;
	*d = *s;
	p = (char *)(d + 1);
	d->origin = shared_put(&p, s->origin);
	d->tlp = shared_put(&p, s->tlp);
	d->kind = shared_put(&p, s->kind);
	d->value = shared_put(&p, s->value);
	return d;
}

void
pk_indicator_health(struct pk_indicator *ind, const char *module,
    const char *rule_id, const char *rule_name)
{
	memset(ind, 0, sizeof(*ind));
	ind->kind = "metric";
	ind->category = "host";
	ind->module = module;
	ind->dataset = "picket.health";
	ind->rule_id = rule_id;
	ind->rule_name = rule_name;
	ind->ruleset = "picket-builtin";
}
