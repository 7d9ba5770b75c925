/*
 * test_stix.c - the hub's STIX 2.1 export on a real SQLite store: IOC
 * matches (domain, addresses, URLs, a file hash), a worm fingerprint and
 * inbound and outbound scans from three hosts with different TLP marks go
 * in through hub_extract and the store's insert; the test checks every
 * object's required STIX 2.1 properties, references that resolve, TLP
 * filtering and marking, ids that repeat across exports, sighting counts
 * that count a finding once, and that no internal address, host name or
 * agent id appears anywhere in the serialised bundle.  Also the HMAC
 * (RFC 4231) and UUIDv5 building blocks.  Run by make check-unit and
 * check-asan; needs SQLite and jansson, so not under wine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "hub/ingest.h"
#include "hub/outbreak.h"
#include "hub/stix.h"
#include "hub/store.h"
#include "tests/unit/hubfix.h"

#define H	(3600LL * HUB_USEC)
#define T0	1714521600000000LL	/* 2024-05-01T00:00:00Z */

struct fx {
	struct hubfix	 hf;	/* first: hubfix_setup allocates */
	uint64_t	 seq;
};

struct rec {
	const char	*agent, *host;
	int64_t		 ts, first;
	const char	*rule_id;
	const char	*sip, *dip;
	const char	*dir;
	const char	*fp;
	const char	*tlp;		/* NULL: field absent */
	const char	*ttype, *tname;
	int		 count;
};

static void
build(const struct rec *r, char *out, size_t cap)
{
	char ts[40], fs[40], thr[1500], tlp[64];

	hub_time_ms(r->ts, ts, sizeof(ts));
	hub_time_ms(r->first ? r->first : r->ts, fs, sizeof(fs));
	thr[0] = '\0';
	if (r->ttype != NULL)
		snprintf(thr, sizeof(thr), ",\"threat\":{\"indicator\":{"
		    "\"type\":\"%s\",\"name\":\"%s\",\"provider\":"
		    "\"member-feed.txt\"}}", r->ttype, r->tname);
	tlp[0] = '\0';
	if (r->tlp != NULL)
		snprintf(tlp, sizeof(tlp), ",\"tlp\":\"%s\"", r->tlp);
	snprintf(out, cap,
	    "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"alert\","
	    "\"category\":[\"network\",\"intrusion_detection\"],\"type\":"
	    "[\"end\",\"indicator\"],\"module\":\"network\",\"dataset\":"
	    "\"picket.x\",\"severity\":73,\"start\":\"%s\",\"end\":\"%s\"},"
	    "\"host\":{\"id\":\"%s\",\"name\":\"%s\"},\"agent\":{\"id\":"
	    "\"%s\",\"type\":\"picketd\",\"version\":\"0.1.0\"},\"rule\":{"
	    "\"id\":\"%s\",\"name\":\"A rule about %s\",\"ruleset\":\"x\"},"
	    "\"message\":\"%s talked to %s on %s\",\"source\":{\"ip\":"
	    "\"%s\"},\"destination\":{\"ip\":\"%s\",\"port\":445},"
	    "\"network\":{\"transport\":\"tcp\",\"direction\":\"%s\"}%s,"
	    "\"picket\":{\"seq\":1,\"count\":%d,\"first_seen\":\"%s\","
	    "\"last_seen\":\"%s\",\"fingerprint\":\"%s\"%s,\"details\":{"
	    "\"targets\":[\"%s\"]}}}",
	    ts, fs, ts, r->agent, r->host, r->agent, r->rule_id, r->sip,
	    r->sip, r->dip, r->host, r->sip, r->dip, r->dir, thr,
	    r->count > 0 ? r->count : 1, fs, ts, r->fp, tlp, r->dip);
}

static void
put(struct fx *f, const struct rec *r)
{
	char json[4096];

	build(r, json, sizeof(json));
	hubfix_put_json(f->hf.st, json, r->agent, ++f->seq, T0);
}

#define SHA	"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
#define FPW	"9f86d081884c7d659a2feaa0c55ad015"

/* agent, host, ts, first, rule, sip, dip, dir, fp, tlp, ttype, tname, n */
static const struct rec recs[] = {
	/* one finding reported twice: counts 1 then 3, one sighting of 3 */
	{ "agent-01", "ws-secret-01", T0 + 1 * H, T0 + 1 * H,
	  "picket.ioc.domain", "10.1.2.3", "203.0.113.53", "outbound",
	  "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0", "TLP:GREEN", "domain-name",
	  "evil.example", 1 },
	{ "agent-01", "ws-secret-01", T0 + 2 * H, T0 + 1 * H,
	  "picket.ioc.domain", "10.1.2.3", "203.0.113.53", "outbound",
	  "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0", "TLP:GREEN", "domain-name",
	  "evil.example", 3 },
	{ "agent-02", "ws-secret-02", T0 + 2 * H, 0, "picket.ioc.address",
	  "10.1.2.4", "203.0.113.5", "outbound",
	  "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0", "TLP:CLEAR", "ipv4-addr",
	  "203.0.113.5", 2 },
	/* listed values inside the member's networks: redacted */
	{ "agent-02", "ws-secret-02", T0 + 3 * H, 0, "picket.ioc.address",
	  "10.1.2.4", "10.9.9.9", "internal",
	  "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "TLP:CLEAR", "ipv4-addr",
	  "10.9.9.9", 1 },
	{ "agent-02", "ws-secret-02", T0 + 3 * H, 0, "picket.ioc.address",
	  "10.1.2.4", "10.0.0.7", "internal",
	  "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2", "TLP:CLEAR", "ipv6-addr",
	  "::ffff:10.0.0.7", 1 },
	{ "agent-03", "ws-secret-03", T0 + 3 * H, 0, "picket.ioc.url",
	  "10.1.2.5", "192.168.1.10", "internal",
	  "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3", "TLP:CLEAR", "url",
	  "http://192.168.1.10/payload.exe", 1 },
	{ "agent-03", "ws-secret-03", T0 + 3 * H, 0, "picket.ioc.url",
	  "10.1.2.5", "10.0.0.5", "internal",
	  "a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4", "TLP:CLEAR", "url",
	  "http://user@10.0.0.5:8080/x", 1 },
	/* an address in a spelling browsers accept: not exported */
	{ "agent-03", "ws-secret-03", T0 + 3 * H, 0, "picket.ioc.url",
	  "10.1.2.5", "10.0.0.5", "internal",
	  "a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5", "TLP:CLEAR", "url",
	  "http://167772165/x", 1 },
	{ "agent-03", "ws-secret-03", T0 + 3 * H, 0, "picket.ioc.url",
	  "10.1.2.5", "203.0.113.80", "outbound",
	  "a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6", "TLP:CLEAR", "url",
	  "http://evil.example/a'b\\\\c", 1 },
	{ "agent-03", "ws-secret-03", T0 + 4 * H, 0, "picket.process.ioc_hash",
	  "10.1.2.5", "10.1.2.5", "unknown",
	  "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0", "TLP:AMBER", "file", SHA, 1 },
	/* the worm fingerprint on two hosts: sources are ours */
	{ "agent-01", "ws-secret-01", T0 + 5 * H, 0,
	  "picket.fingerprint.outbound", "10.1.2.3", "198.51.100.20",
	  "outbound", FPW, "TLP:GREEN", NULL, NULL, 30 },
	{ "agent-02", "ws-secret-02", T0 + 6 * H, 0,
	  "picket.fingerprint.outbound", "10.1.2.4", "198.51.100.21",
	  "outbound", FPW, "TLP:GREEN", NULL, NULL, 20 },
	/* an outside scanner: shareable; an inside one: not */
	{ "agent-03", "ws-secret-03", T0 + 7 * H, 0, "picket.scan.port",
	  "198.51.100.7", "10.1.2.5", "inbound",
	  "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0", "TLP:CLEAR", NULL, NULL, 1000 },
	{ "agent-03", "ws-secret-03", T0 + 7 * H, 0, "picket.scan.port",
	  "192.168.5.5", "10.1.2.5", "inbound",
	  "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1", "TLP:CLEAR", NULL, NULL, 1000 },
	/* our own host with a public address scanning out: not shared */
	{ "agent-02", "ws-secret-02", T0 + 8 * H, 0, "picket.scan.worm_port",
	  "198.18.0.1", "0.0.0.0", "outbound",
	  "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2", "TLP:CLEAR", NULL, NULL, 80 },
	/* RED and unmarked never leave below red */
	{ "agent-01", "ws-secret-01", T0 + 9 * H, 0, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0", "TLP:RED", "domain-name",
	  "red.example", 1 },
	{ "agent-01", "ws-secret-01", T0 + 9 * H, 0, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1", NULL, "domain-name",
	  "unmarked.example", 1 },
};

static int
setup(void **state)
{
	struct fx *f;
	size_t i;

	hubfix_setup(state, sizeof(*f), "stix");
	f = *state;
	assert_int_equal(f->hf.st->ops->host_seen(f->hf.st, "agent-01",
	    "ws-secret-01", 0, T0), 0);
	for (i = 0; i < PK_NELEM(recs); i++)
		put(f, &recs[i]);
	return 0;
}

/* IOC matches naming the member's own domains ([sharing]
 * internal_domains = agency.example): only xagency.example may leave. */
static const struct rec name_recs[] = {
	{ "agent-01", "ws-secret-01", T0 + 1 * H, 0, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0", "TLP:CLEAR", "domain-name",
	  "www.agency.example", 1 },
	{ "agent-01", "ws-secret-01", T0 + 1 * H, 0, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1", "TLP:CLEAR", "domain-name",
	  "AGENCY.example", 1 },
	{ "agent-01", "ws-secret-01", T0 + 1 * H, 0, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", "TLP:CLEAR", "domain-name",
	  "a.b.agency.example.", 1 },
	/* a stranger's name that spells ours */
	{ "agent-01", "ws-secret-01", T0 + 1 * H, 0, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3", "TLP:CLEAR", "domain-name",
	  "intra.agency.example.evil.example", 1 },
	/* URLs: the host, the user info, the query (escaped) */
	{ "agent-01", "ws-secret-01", T0 + 1 * H, 0, "picket.ioc.url",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4", "TLP:CLEAR", "url",
	  "https://Mail.Agency.Example:8443/owa", 1 },
	{ "agent-01", "ws-secret-01", T0 + 1 * H, 0, "picket.ioc.url",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5", "TLP:CLEAR", "url",
	  "http://cdn.example/r?next=hr%2Eagency%2eexample", 1 },
	/* not ours: the label boundary matters */
	{ "agent-01", "ws-secret-01", T0 + 1 * H, 0, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6", "TLP:CLEAR", "domain-name",
	  "xagency.example", 1 },
	{ "agent-01", "ws-secret-01", T0 + 1 * H, 0, "picket.ioc.url",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7", "TLP:CLEAR", "url",
	  "http://www.xagency.example/agency-example", 1 },
	/* another registrant's, but it spells ours: dropped too */
	{ "agent-01", "ws-secret-01", T0 + 1 * H, 0, "picket.ioc.url",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8b8", "TLP:CLEAR", "url",
	  "http://agency.example.org/x", 1 },
};

static int
setup_names(void **state)
{
	struct fx *f;
	size_t i;

	hubfix_setup(state, sizeof(*f), "stix");
	f = *state;
	for (i = 0; i < PK_NELEM(name_recs); i++)
		put(f, &name_recs[i]);
	return 0;
}

static struct hub_sharing sharing;

static void
params(struct hub_stix_params *p, const char *tlp)
{
	char err[128];

	hub_sharing_default(&sharing);
	sharing.hub_name = "State CERT Example";
	hub_stix_params_default(p);
	p->now_us = T0 + 24 * H;
	p->since_us = T0;
	p->until_us = T0 + 24 * H;
	p->sharing = &sharing;
	assert_int_equal(hub_stix_params_set(p, "tlp", tlp, err, sizeof(err)),
	    0);
}

static json_t *
export(struct fx *f, const struct hub_stix_params *p)
{
	char err[256] = "";
	json_t *j = hub_stix_bundle(f->hf.st, p, err, sizeof(err));

	if (j == NULL)
		fail_msg("hub_stix_bundle: %s", err);
	return j;
}

/* ---- STIX 2.1 structure checks ----------------------------------------- */

static int
is_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return 1;
}

/* "<type>--<uuid>" with the object's own type */
static void
check_id(const char *id, const char *type)
{
	size_t n = strlen(type);

	assert_true(strncmp(id, type, n) == 0);
	assert_true(id[n] == '-' && id[n + 1] == '-');
	assert_true(is_uuid(id + n + 2));
}

/* STIX timestamp: YYYY-MM-DDTHH:MM:SS.sssZ (milliseconds, UTC) */
static void
check_time(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	if (s == NULL)
		fail_msg("missing timestamp %s", k);
	assert_int_equal(strlen(s), strlen(shape));
	for (i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd')
			assert_true(s[i] >= '0' && s[i] <= '9');
		else
			assert_int_equal(s[i], shape[i]);
}

static const char *
sget(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL)
		fail_msg("missing string property %s", k);
	return s;
}

static const json_t *
find_id(const json_t *objs, const char *id)
{
	size_t i;
	json_t *o;

	json_array_foreach(objs, i, o)
		if (strcmp(sget(o, "id"), id) == 0)
			return o;
	return NULL;
}

/* Every ref in a list points at an object of type t in the bundle. */
static void
check_refs(const json_t *objs, const json_t *list, const char *t)
{
	size_t i;
	json_t *r;
	const json_t *o;

	assert_true(json_is_array(list) && json_array_size(list) > 0);
	json_array_foreach(list, i, r) {
		o = find_id(objs, json_string_value(r));
		assert_non_null(o);
		assert_string_equal(sget(o, "type"), t);
	}
}

/*
 * The required properties of each type (STIX 2.1 sections 3.2, 4.9,
 * 4.7, 5.5, 7.2.1) and our own invariants.  Returns the indicator count.
 */
static int
check_bundle(const json_t *b)
{
	const json_t *objs = json_object_get(b, "objects");
	const char *type;
	size_t i;
	json_t *o;
	int nind = 0, nsig = 0;

	assert_string_equal(sget(b, "type"), "bundle");
	check_id(sget(b, "id"), "bundle");
	assert_null(json_object_get(b, "spec_version"));
	assert_true(json_is_array(objs));
	json_array_foreach(objs, i, o) {
		type = sget(o, "type");
		assert_string_equal(sget(o, "spec_version"), "2.1");
		check_id(sget(o, "id"), type);
		check_time(o, "created");
		if (strcmp(type, "marking-definition") == 0) {
			/* not versioned: no modified */
			assert_null(json_object_get(o, "modified"));
			if (json_object_get(o, "extensions") == NULL) {
				assert_non_null(json_object_get(o,
				    "definition_type"));
				assert_non_null(json_object_get(o,
				    "definition"));
			} else {
				json_t *e = json_object_get(json_object_get(o,
				    "extensions"), "extension-definition--"
				    "60a3c5c5-0d10-413e-aab3-9e08dde9e88d");

				assert_non_null(e);
				assert_string_equal(sget(e, "extension_type"),
				    "property-extension");
				assert_non_null(json_object_get(e, "tlp_2_0"));
				assert_true(strncmp(sget(o, "name"), "TLP:",
				    4) == 0);
			}
			continue;
		}
		check_time(o, "modified");
		assert_true(strcmp(sget(o, "modified"), sget(o, "created")) >=
		    0);
		if (strcmp(type, "identity") == 0) {
			assert_true(strlen(sget(o, "name")) > 0);
			continue;
		}
		check_refs(objs, json_object_get(o, "object_marking_refs"),
		    "marking-definition");
		assert_string_equal(sget(o, "created_by_ref"),
		    sget(json_array_get(objs, 0), "id"));
		if (strcmp(type, "indicator") == 0) {
			const char *pat = sget(o, "pattern");

			nind++;
			assert_true(pat[0] == '[' &&
			    pat[strlen(pat) - 1] == ']');
			assert_string_equal(sget(o, "pattern_type"), "stix");
			check_time(o, "valid_from");
			assert_true(json_array_size(json_object_get(o,
			    "indicator_types")) > 0);
		} else if (strcmp(type, "sighting") == 0) {
			json_t *c = json_object_get(o, "count");

			nsig++;
			check_id(sget(o, "sighting_of_ref"), "indicator");
			assert_non_null(find_id(objs, sget(o,
			    "sighting_of_ref")));
			check_refs(objs, json_object_get(o,
			    "where_sighted_refs"), "identity");
			assert_true(json_is_integer(c) &&
			    json_integer_value(c) >= 0 &&
			    json_integer_value(c) <= 999999999);
			check_time(o, "first_seen");
			check_time(o, "last_seen");
			assert_true(strcmp(sget(o, "last_seen"), sget(o,
			    "first_seen")) >= 0);
		} else
			fail_msg("unexpected object type %s", type);
	}
	assert_int_equal(nind, nsig);
	assert_string_equal(sget(json_array_get(objs, 0), "type"),
	    "identity");
	return nind;
}

/* The indicator with this pattern, or NULL. */
static const json_t *
by_pattern(const json_t *b, const char *pat)
{
	const json_t *objs = json_object_get(b, "objects");
	size_t i;
	json_t *o;

	json_array_foreach(objs, i, o)
		if (strcmp(sget(o, "type"), "indicator") == 0 &&
		    strcmp(sget(o, "pattern"), pat) == 0)
			return o;
	return NULL;
}

static const json_t *
sighting_of(const json_t *b, const json_t *ind)
{
	const json_t *objs = json_object_get(b, "objects");
	size_t i;
	json_t *o;

	json_array_foreach(objs, i, o)
		if (strcmp(sget(o, "type"), "sighting") == 0 &&
		    strcmp(sget(o, "sighting_of_ref"), sget(ind, "id")) == 0)
			return o;
	return NULL;
}

static const char *
marking_of(const json_t *o)
{
	const json_t *m = json_object_get(o, "object_marking_refs");

	assert_int_equal(json_array_size(m), 1);
	return json_string_value(json_array_get(m, 0));
}

/* Nothing the member keeps to itself, anywhere in the text. */
static void
check_redacted(const json_t *b)
{
	static const char *const secret[] = {
		"10.1.2.3", "10.1.2.4", "10.1.2.5", "10.9.9.9", "10.0.0.7",
		"10.0.0.5", "192.168.1.10", "192.168.5.5", "198.18.0.1",
		"167772165", "ws-secret", "agent-0", "member-feed",
		"A rule about", "talked to",
	};
	char *s = json_dumps(b, JSON_COMPACT);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < PK_NELEM(secret); i++)
		if (strstr(s, secret[i]) != NULL)
			fail_msg("\"%s\" leaked into the bundle", secret[i]);
	free(s);
}

#define P_DOMAIN	"[domain-name:value = 'evil.example']"
#define P_ADDR		"[ipv4-addr:value = '203.0.113.5']"
#define P_SCANNER	"[ipv4-addr:value = '198.51.100.7']"
#define P_FP		"[x-picket-fingerprint:value = '" FPW "']"
#define P_URL		"[url:value = 'http://evil.example/a\\'b\\\\c']"
#define P_SHA		"[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4" \
			"c8996fb92427ae41e4649b934ca495991b7852b855']"

static void
test_tlp_clear(void **state)
{
	struct fx *f = *state;
	struct hub_stix_params p;
	struct hub_stix_stats st;
	json_t *b;
	const json_t *ind, *s;

	params(&p, "clear");
	p.stats = &st;
	b = export(f, &p);
	assert_int_equal(check_bundle(b), 3);
	check_redacted(b);
	assert_non_null(ind = by_pattern(b, P_ADDR));
	assert_string_equal(marking_of(ind), hub_tlp_marking_id(HUB_TLP_CLEAR));
	assert_string_equal(sget(ind, "name"), "Listed address 203.0.113.5");
	assert_non_null(s = sighting_of(b, ind));
	assert_int_equal(json_integer_value(json_object_get(s, "count")), 2);
	assert_non_null(ind = by_pattern(b, P_SCANNER));
	assert_non_null(by_pattern(b, P_URL));
	assert_null(by_pattern(b, P_DOMAIN));	/* green */
	assert_null(by_pattern(b, P_FP));
	/* five internal values and one internal scanner redacted; two
	 * unusable URL spellings, the outbound scan, the process hash
	 * (amber) is filtered not unusable */
	assert_int_equal(st.redacted, 5);
	assert_true(st.tlp_filtered >= 6);
	assert_int_equal(st.indicators, 3);
	assert_false(st.truncated);
	json_decref(b);
}

static void
test_tlp_green_amber(void **state)
{
	struct fx *f = *state;
	struct hub_stix_params p;
	json_t *b;
	const json_t *ind, *s, *hp;

	params(&p, "TLP:GREEN");
	b = export(f, &p);
	assert_int_equal(check_bundle(b), 5);
	check_redacted(b);
	ind = by_pattern(b, P_DOMAIN);
	assert_non_null(ind);
	assert_string_equal(marking_of(ind), hub_tlp_marking_id(HUB_TLP_GREEN));
	s = sighting_of(b, ind);
	/* two reports of one finding (counts 1 and 3): 3, not 4 */
	assert_int_equal(json_integer_value(json_object_get(s, "count")), 3);
	assert_string_equal(sget(s, "first_seen"), "2024-05-01T01:00:00.000Z");
	assert_string_equal(sget(s, "last_seen"), "2024-05-01T02:00:00.000Z");
	ind = by_pattern(b, P_FP);
	assert_non_null(ind);
	assert_string_equal(sget(ind, "x_picket_fingerprint"), FPW);
	s = sighting_of(b, ind);
	assert_int_equal(json_integer_value(json_object_get(s, "count")), 50);
	assert_int_equal(json_integer_value(json_object_get(s,
	    "x_picket_hosts")), 2);
	/* pseudonyms off: no host list at all */
	assert_null(json_object_get(s, "x_picket_host_pseudonyms"));
	/* clear objects keep their own (clear) marking */
	assert_string_equal(marking_of(by_pattern(b, P_ADDR)),
	    hub_tlp_marking_id(HUB_TLP_CLEAR));
	assert_null(by_pattern(b, P_SHA));
	json_decref(b);

	params(&p, "amber");
	b = export(f, &p);
	assert_int_equal(check_bundle(b), 6);
	check_redacted(b);
	assert_non_null(ind = by_pattern(b, P_SHA));
	assert_string_equal(marking_of(ind), hub_tlp_marking_id(HUB_TLP_AMBER));
	assert_null(by_pattern(b, "[domain-name:value = 'red.example']"));
	assert_null(by_pattern(b,
	    "[domain-name:value = 'unmarked.example']"));
	json_decref(b);

	/* red includes RED and the unmarked row (treated as RED) */
	params(&p, "red");
	b = export(f, &p);
	assert_int_equal(check_bundle(b), 8);
	check_redacted(b);
	hp = by_pattern(b, "[domain-name:value = 'unmarked.example']");
	assert_non_null(hp);
	assert_string_equal(marking_of(hp), hub_tlp_marking_id(HUB_TLP_RED));
	json_decref(b);
}

static void
test_deterministic(void **state)
{
	struct fx *f = *state;
	struct hub_stix_params p;
	json_t *a, *b;
	char *sa, *sb;

	params(&p, "amber");
	a = export(f, &p);
	b = export(f, &p);
	sa = json_dumps(a, JSON_SORT_KEYS | JSON_COMPACT);
	sb = json_dumps(b, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(sa, sb);
	free(sa);
	free(sb);
	/* a wider window with the same data: the same ids */
	json_decref(b);
	p.since_us = T0 - 48 * H;
	b = export(f, &p);
	assert_string_equal(sget(by_pattern(a, P_DOMAIN), "id"),
	    sget(by_pattern(b, P_DOMAIN), "id"));
	assert_string_equal(sget(a, "id"), sget(b, "id"));
	json_decref(b);
	/* another member's hub: other ids for the same pattern */
	sharing.hub_name = "Another Member";
	b = export(f, &p);
	assert_string_not_equal(sget(by_pattern(a, P_DOMAIN), "id"),
	    sget(by_pattern(b, P_DOMAIN), "id"));
	json_decref(a);
	json_decref(b);
}

static void
test_pseudonyms(void **state)
{
	struct fx *f = *state;
	struct hub_stix_params p;
	char err[128] = "", want[HUB_PSEUDONYM_LEN + 1];
	const json_t *s, *ps;
	json_t *b;
	size_t i;

	params(&p, "green");
	sharing.host_pseudonyms = 1;
	/* no secret: refused, a pseudonym of a known key is no secret */
	assert_null(hub_stix_bundle(f->hf.st, &p, err, sizeof(err)));
	assert_string_equal(err, "host pseudonyms need a sharing secret");
	for (i = 0; i < sizeof(sharing.secret); i++)
		sharing.secret[i] = (uint8_t)(i * 7 + 1);
	b = export(f, &p);
	check_bundle(b);
	check_redacted(b);
	s = sighting_of(b, by_pattern(b, P_FP));
	ps = json_object_get(s, "x_picket_host_pseudonyms");
	assert_int_equal(json_array_size(ps), 2);
	hub_pseudonym(sharing.secret, "agent-01", want);
	assert_string_equal(json_string_value(json_array_get(ps, 0)), want);
	assert_int_equal(strlen(want), HUB_PSEUDONYM_LEN);
	assert_true(strncmp(want, "h-", 2) == 0);
	hub_pseudonym(sharing.secret, "agent-02", want);
	assert_string_equal(json_string_value(json_array_get(ps, 1)), want);
	json_decref(b);
}

static void
test_params(void **state)
{
	struct hub_stix_params p, before;
	char err[128];
	int t;

	(void)state;
	hub_stix_params_default(&p);
	assert_int_equal(p.tlp, HUB_TLP_CLEAR);
	assert_int_equal(hub_tlp_parse("TLP:AMBER+STRICT", &t), 0);
	assert_int_equal(t, HUB_TLP_AMBER_STRICT);
	assert_int_equal(hub_tlp_parse("tlp:white", &t), 0);
	assert_int_equal(t, HUB_TLP_CLEAR);
	assert_int_equal(hub_tlp_parse("Amber", &t), 0);
	assert_int_equal(t, HUB_TLP_AMBER);
	assert_int_equal(hub_tlp_parse("TLP:", &t), -1);
	assert_int_equal(hub_tlp_parse("purple", &t), -1);
	assert_int_equal(hub_tlp_parse("", &t), -1);
	before = p;
	assert_int_equal(hub_stix_params_set(&p, "tlp", "TLP:PINK", err,
	    sizeof(err)), -1);
	assert_int_equal(hub_stix_params_set(&p, "since", "1x", err,
	    sizeof(err)), -1);
	assert_int_equal(hub_stix_params_set(&p, "format", "xml", err,
	    sizeof(err)), -1);
	assert_memory_equal(&p, &before, sizeof(p));
	p.now_us = T0;
	assert_int_equal(hub_stix_params_set(&p, "since", "7d", err,
	    sizeof(err)), 0);
	assert_true(p.since_us == T0 - 7 * 24 * H);
	/* the TLP 2.0 ids OASIS publishes */
	assert_string_equal(hub_tlp_marking_id(HUB_TLP_CLEAR),
	    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487");
	assert_string_equal(hub_tlp_marking_id(HUB_TLP_RED),
	    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1");
}

static void
test_internal(void **state)
{
	struct hub_sharing s;
	char err[128];

	(void)state;
	hub_sharing_default(&s);
	assert_true(hub_sharing_is_internal(&s, "10.1.2.3"));
	assert_true(hub_sharing_is_internal(&s, "172.31.255.255"));
	assert_false(hub_sharing_is_internal(&s, "172.32.0.1"));
	assert_true(hub_sharing_is_internal(&s, "100.64.0.1"));
	assert_true(hub_sharing_is_internal(&s, "127.0.0.1"));
	assert_true(hub_sharing_is_internal(&s, "::1"));
	assert_true(hub_sharing_is_internal(&s, "fd12:3456::1"));
	assert_true(hub_sharing_is_internal(&s, "fe80::1"));
	assert_true(hub_sharing_is_internal(&s, "::ffff:192.168.1.1"));
	assert_false(hub_sharing_is_internal(&s, "8.8.8.8"));
	assert_false(hub_sharing_is_internal(&s, "2001:db8::1"));
	/* blocks that reach into an internal network are internal */
	assert_true(hub_sharing_is_internal(&s, "10.0.0.0/7"));
	assert_true(hub_sharing_is_internal(&s, "0.0.0.0/0"));
	assert_false(hub_sharing_is_internal(&s, "203.0.113.0/24"));
	/* what is not an address cannot be checked, so is not shared */
	assert_true(hub_sharing_is_internal(&s, "not-an-address"));
	assert_true(hub_sharing_is_internal(&s, ""));
	assert_int_equal(hub_sharing_set_internal(&s, "203.0.113.0/24", err,
	    sizeof(err)), 0);
	assert_true(hub_sharing_is_internal(&s, "203.0.113.9"));
	assert_false(hub_sharing_is_internal(&s, "10.1.2.3"));
	assert_int_equal(hub_sharing_set_internal(&s, "10.0.0.0/33", err,
	    sizeof(err)), -1);
	/* unchanged on error */
	assert_true(hub_sharing_is_internal(&s, "203.0.113.9"));
}

static void
test_internal_names(void **state)
{
	struct hub_sharing s;
	char err[128], many[80 * 12];
	size_t i, o = 0;

	(void)state;
	hub_sharing_default(&s);
	assert_int_equal(s.ndomains, 0);
	assert_false(hub_sharing_is_internal_name(&s, "agency.example", 14));
	assert_int_equal(hub_sharing_set_domains(&s, " Agency.Example.,"
	    "corp.example\t.lan ", err, sizeof(err)), 0);
	assert_int_equal(s.ndomains, 3);
	assert_string_equal(s.domains[0], "agency.example");
	assert_string_equal(s.domains[2], "lan");
#define IN(n)	hub_sharing_is_internal_name(&s, n, strlen(n))
	assert_true(IN("agency.example"));
	assert_true(IN("www.agency.example"));
	assert_true(IN("WWW.AGENCY.EXAMPLE"));
	assert_true(IN("a.b.agency.example."));
	assert_true(IN("a.b.agency.example.."));
	assert_true(IN("printer.lan"));
	assert_true(IN("agency.example.evil.example"));
	assert_false(IN("xagency.example"));
	assert_false(IN("agency.examples"));
	assert_false(IN("agency-example"));
	assert_false(IN("example"));
	assert_false(IN("plan"));
	assert_false(IN(""));
	/* n bounds what is read */
	assert_false(hub_sharing_is_internal_name(&s, "agency.example", 13));
#undef IN
	/* refused, and the old list kept */
	assert_int_equal(hub_sharing_set_domains(&s, "ok.example, bad!name",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad!name"));
	assert_int_equal(hub_sharing_set_domains(&s, "a..b", err,
	    sizeof(err)), -1);
	assert_int_equal(hub_sharing_set_domains(&s, "10.1.2.3", err,
	    sizeof(err)), -1);
	assert_int_equal(hub_sharing_set_domains(&s, ".", err, sizeof(err)),
	    -1);
	assert_int_equal(s.ndomains, 3);
	for (i = 0; i <= HUB_SHARING_DOMAINS_MAX; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o,
		    "d%zu.example ", i);
	assert_int_equal(hub_sharing_set_domains(&s, many, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "more than"));
	assert_int_equal(hub_sharing_set_domains(&s, "", err, sizeof(err)),
	    0);
	assert_int_equal(s.ndomains, 0);
}

/* The serialised bundle never spells an internal name, in any case. */
static void
test_export_internal_domains(void **state)
{
	struct fx *f = *state;
	struct hub_stix_params p;
	struct hub_stix_stats st;
	char err[128], *text;
	const char *q;
	json_t *b;
	size_t i, n;

	params(&p, "clear");
	assert_int_equal(hub_sharing_set_domains(&sharing, "agency.example",
	    err, sizeof(err)), 0);
	p.stats = &st;
	b = export(f, &p);
	text = json_dumps(b, JSON_COMPACT);
	assert_non_null(text);
	for (i = 0; text[i] != '\0'; i++)
		if (text[i] >= 'A' && text[i] <= 'Z')
			text[i] = (char)(text[i] - 'A' + 'a');
	/* Every internal name has "agency.example" as whole labels; the
	 * text may hold it only inside xagency.example (the domain and the
	 * URL, each twice: pattern and name). */
	for (q = text, n = 0; (q = strstr(q, "agency.example")) != NULL;
	    q++, n++)
		assert_true(q > text && q[-1] == 'x');
	assert_int_equal(n, 4);
	assert_null(strstr(text, "www.agency"));
	assert_null(strstr(text, "a.b.agency"));
	assert_null(strstr(text, "hr%2eagency"));
	free(text);
	assert_int_equal(st.redacted_names, 7);
	assert_int_equal(st.redacted, 7);
	assert_int_equal(st.indicators, 2);
	assert_non_null(by_pattern(b, "[domain-name:value = 'xagency.example']"));
	json_decref(b);
	/* without the setting, the same rows are exported (but the name
	 * with a trailing dot, which is not one the export writes) */
	params(&p, "clear");
	p.stats = &st;
	b = export(f, &p);
	assert_int_equal(st.redacted_names, 0);
	assert_int_equal(st.indicators, 8);
	assert_non_null(by_pattern(b,
	    "[domain-name:value = 'www.agency.example']"));
	json_decref(b);
}

static void
test_blocks(void **state)
{
	/* RFC 4231 test case 2 */
	static const char want_mac[] = "5bdcc146bf60754e6a042426089575c75a003f08"
	    "9d2739839dec58b964ec3843";
	/* RFC 4122's DNS namespace; uuid5(NAMESPACE_DNS, "python.org") as
	 * Python's uuid module computes it */
	static const uint8_t dns[16] = { 0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad,
	    0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	uint8_t mac[32], key[131];
	char hex[65], u[37];

	(void)state;
	hub_hmac_sha256((const uint8_t *)"Jefe", 4,
	    "what do ya want for nothing?", 28, mac);
	pk_hex(mac, 32, hex);
	assert_string_equal(hex, want_mac);
	/* RFC 4231 test case 6: a key longer than the block is hashed */
	memset(key, 0xaa, sizeof(key));
	hub_hmac_sha256(key, sizeof(key),
	    "Test Using Larger Than Block-Size Key - Hash Key First", 54, mac);
	pk_hex(mac, 32, hex);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728"
	    "c5140546040f0ee37f54");
	hub_uuid5(dns, "python.org", 10, u);
	assert_string_equal(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tlp_clear, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_tlp_green_amber, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_deterministic, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_pseudonyms, setup,
		    hubfix_teardown),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_internal),
		cmocka_unit_test(test_internal_names),
		cmocka_unit_test_setup_teardown(test_export_internal_domains,
		    setup_names, hubfix_teardown),
		cmocka_unit_test(test_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
