/*
 * indicator.h - the indicator record and its ECS-aligned JSON form.
 *
 * An indicator is an aggregated finding (first/last seen, count), not a raw
 * event.  Detectors fill a struct pk_indicator and hand it to the engine,
 * which stamps identity and sequence and passes it to every output.
 * docs/schema.md is the contract for the JSON; tests validate every line
 * against tests/schema/indicator.schema.json.  Portable.
 */
#ifndef PICKET_INDICATOR_H
#define PICKET_INDICATOR_H

#include <stddef.h>
#include <stdint.h>

#include "common/json.h"
#include "common/netaddr.h"

/* ECS event.severity, numeric, Elastic's four bands. */
#define PK_SEV_LOW	21
#define PK_SEV_MEDIUM	47
#define PK_SEV_HIGH	73
#define PK_SEV_CRITICAL	99

/* ECS network.direction as seen from the monitored host/network. */
enum pk_direction {
	PK_DIRN_UNKNOWN = 0,
	PK_DIRN_INBOUND,
	PK_DIRN_OUTBOUND,
	PK_DIRN_INTERNAL,
	PK_DIRN_EXTERNAL,
};

/* Lifecycle of one indicator: ECS event.type. */
enum pk_ind_phase {
	PK_PHASE_START = 0,	/* first report */
	PK_PHASE_CHANGE,	/* periodic update */
	PK_PHASE_END,		/* closed: idle or end of input */
};

#define PK_IND_MAX_DETAILS_BUF 2048

/*
 * picket.shared: the bundle entry (docs/bundles.md) an indicator came
 * from, when a shared indicator caused it.  kind and tlp are the bundle's
 * names ("fingerprint", "green").  Detectors that keep an indicator open
 * across a bundle swap hold a copy (pk_ind_shared_dup), never a pointer
 * into the bundle.
 */
struct pk_ind_shared {
	uint64_t	 ref;		/* the hub's shared-indicator id */
	uint64_t	 bundle;	/* bundle version */
	const char	*origin;	/* the peer member's name */
	const char	*tlp;
	const char	*kind;
	const char	*value;
};

struct pk_indicator {
	/* set by the engine */
	uint64_t	 seq;
	uint64_t	 ts_us;		/* @timestamp: time of this report */
	const char	*host_id, *host_name, *agent_id, *agent_version;

	/* set by the detector */
	uint8_t		 phase;		/* enum pk_ind_phase */
	uint8_t		 direction;	/* enum pk_direction */
	uint8_t		 severity;	/* PK_SEV_* */
	const char	*kind;		/* event.kind: NULL = "alert";
					   "metric" for health reports */
	const char	*module;	/* event.module: "network", "process" */
	const char	*dataset;	/* event.dataset: "picket.scan" */
	const char	*category;	/* event.category[0]: "network", ... */
	const char	*rule_id;	/* "picket.scan.port" / sid */
	const char	*rule_name;
	const char	*ruleset;	/* "picket-builtin" / rule file name */
	const char	*rule_category;	/* rule.category: classtype */
	const char	*rule_reference; /* rule.reference: first reference */
	const char	*rule_version;	/* rule.version: rev */
	const char	*message;	/* human summary, optional */

	uint64_t	 first_seen_us, last_seen_us;
	uint64_t	 count;
	char		 fingerprint[33];	/* hex; same finding, same value */
	const char	*tlp;		/* "TLP:AMBER" ... */

	/* optional network fields (has_* guards) */
	uint8_t		 has_src, has_dst, has_sport, has_dport;
	struct pk_addr	 src, dst;
	uint16_t	 sport, dport;
	uint8_t		 transport;	/* IP protocol number, 0 = none */
	const char	*dns_name;	/* dns.question.name */
	const char	*sni;		/* tls.client.server_name */
	const char	*url_domain, *url_path;

	/* threat.indicator.* for IOC matches */
	const char	*threat_type;	/* "ipv4-addr", "ipv6-addr",
					   "domain-name", "url", "file" */
	const char	*threat_name;	/* the listed value that matched */
	const char	*threat_provider; /* the list it came from */

	/* picket.shared, or NULL (the engine fills it for a rule entry). */
	const struct pk_ind_shared *shared;

	/*
	 * Further top-level ECS objects (process.*, user.*, file.*) written
	 * by the collector that knows them; called once per serialisation
	 * with the JSON writer at the top level.  Optional.
	 */
	void		(*write_ecs)(struct json *j, const void *arg);
	const void	*ecs_arg;

	/*
	 * picket.details: written by the detector into the open object.
	 * Called once per serialisation; must not fail.
	 */
	void		(*write_details)(struct json *j, const void *arg);
	const void	*details_arg;
};

/* "tcp", "udp", "icmp", "ipv6-icmp" or NULL */
const char *pk_transport_name(uint8_t proto);
const char *pk_direction_name(int d);
const char *pk_phase_name(int p);
/* Serialise one indicator as a single JSON line (no newline). */
long pk_indicator_json(const struct pk_indicator *ind, char *buf, size_t cap);
/* fingerprint = first 16 bytes of FNV-based hash of the parts, hex */
/*
 * Start a health report (event.kind "metric", category host, dataset
 * picket.health, ruleset picket-builtin): ind is zeroed and those fields
 * set; the caller adds severity, message, counts and details.
 */
void pk_indicator_health(struct pk_indicator *ind, const char *module,
    const char *rule_id, const char *rule_name);
void pk_indicator_fingerprint(struct pk_indicator *ind, const void *key,
    size_t keylen);
/* The same 128 bits as bytes (the hex above is these, in order). */
void pk_indicator_fp_bytes(const void *key, size_t keylen, uint8_t out[16]);

/* One malloc'd copy of s with its strings (free() it); NULL if no memory. */
struct pk_ind_shared *pk_ind_shared_dup(const struct pk_ind_shared *s);

#endif
