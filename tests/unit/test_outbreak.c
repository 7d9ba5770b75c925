/*
 * test_outbreak.c - the hub's outbreak grouping on a real SQLite store:
 * indicators as five agents would report them (a worm-port scan on 445
 * from four hosts, one worm fingerprint on three, a listed domain on two,
 * inbound port scans on two, a content rule on one host only, health
 * reports, rows outside the window) go in through hub_extract and the
 * store's insert, as ingest stores them; the test checks the groups, their
 * order, host counts, patient zero, the series, the kind and size filters,
 * truncation, the query-parameter parser's refusals, and what peer hubs
 * shared of a group's value or listed its rule id (rows put with the
 * store's shared_put, found through schema 9's rule id index).  Run by make
 * check-unit and check-asan; needs SQLite and jansson, so not under wine.
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
	int		 in_window;	/* alert rows inside [T0, T0+24h) */
};

/* One indicator as picketd writes it (docs/schema.md). */
struct rec {
	const char	*agent, *host;
	int64_t		 ts, first;	/* first 0: same as ts */
	const char	*kind;		/* event.kind */
	const char	*rule_id, *rule_name, *ruleset, *dataset;
	int		 sev;
	const char	*sip, *dip;
	int		 dport;		/* -1: none */
	const char	*dir;
	const char	*fp;
	const char	*ttype, *tname;	/* IOC matches */
	int		 count;
};

static void
fmt_time(int64_t us, char *out, size_t len)
{
	char b[HUB_TIME_MS_LEN];

	hub_time_ms(us, b, sizeof(b));
	snprintf(out, len, "%s", b);
}

static void
build(const struct rec *r, char *out, size_t cap)
{
	char ts[40], fs[40], dst[128], thr[512];

	fmt_time(r->ts, ts, sizeof(ts));
	fmt_time(r->first ? r->first : r->ts, fs, sizeof(fs));
	if (r->dport >= 0)
		snprintf(dst, sizeof(dst), "{\"ip\":\"%s\",\"port\":%d}",
		    r->dip, r->dport);
	else
		snprintf(dst, sizeof(dst), "{\"ip\":\"%s\"}", r->dip);
	thr[0] = '\0';
	if (r->ttype != NULL)
		snprintf(thr, sizeof(thr), ",\"threat\":{\"indicator\":{"
		    "\"type\":\"%s\",\"name\":\"%s\",\"provider\":"
		    "\"feed.txt\"}},\"dns\":{\"question\":{\"name\":\"%s\"}}",
		    r->ttype, r->tname, r->tname);
	snprintf(out, cap,
	    "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"%s\",\"category\":"
	    "[\"network\",\"intrusion_detection\"],\"type\":[\"end\","
	    "\"indicator\"],\"module\":\"network\",\"dataset\":\"%s\","
	    "\"severity\":%d,\"start\":\"%s\",\"end\":\"%s\"},\"host\":{"
	    "\"id\":\"%s\",\"name\":\"%s\"},\"agent\":{\"id\":\"%s\",\"type\":"
	    "\"picketd\",\"version\":\"0.1.0\"},\"rule\":{\"id\":\"%s\","
	    "\"name\":\"%s\",\"ruleset\":\"%s\"},\"message\":\"test\","
	    "\"source\":{\"ip\":\"%s\"},\"destination\":%s,\"network\":{"
	    "\"transport\":\"tcp\",\"direction\":\"%s\"}%s,\"picket\":{"
	    "\"seq\":1,\"count\":%d,\"first_seen\":\"%s\",\"last_seen\":\"%s\","
	    "\"fingerprint\":\"%s\",\"tlp\":\"TLP:AMBER\",\"details\":{}}}",
	    ts, r->kind ? r->kind : "alert", r->dataset ? r->dataset :
	    "picket.scan", r->sev, fs, ts, r->agent, r->host, r->agent,
	    r->rule_id, r->rule_name, r->ruleset ? r->ruleset :
	    "picket-builtin", r->sip, dst, r->dir, thr, r->count > 0 ?
	    r->count : 1, fs, ts, r->fp);
}

static void
put(struct fx *f, const struct rec *r)
{
	char json[4096];

	build(r, json, sizeof(json));
	assert_int_equal(hubfix_put_json(f->hf.st, json, r->agent, ++f->seq,
	    T0), 1);
	if ((r->kind == NULL || strcmp(r->kind, "alert") == 0) &&
	    r->ts >= T0 && r->ts < T0 + 24 * H)
		f->in_window++;
}

#define FP_WORM	"9f86d081884c7d659a2feaa0c55ad015"
#define FP_445	"0a1b2c3d4e5f60718293a4b5c6d7e8f9"

static void
scan445(struct fx *f, const char *agent, const char *host, int64_t ts,
    int64_t first, const char *rule)
{
	struct rec r = {
		.agent = agent, .host = host, .ts = ts, .first = first,
		.rule_id = rule, .rule_name = "Worm port SYN rate", .sev = 99,
		.sip = "10.0.0.9", .dip = "0.0.0.0", .dport = 445,
		.dir = "outbound", .fp = FP_445, .count = 80,
	};

	put(f, &r);
}

static void
fingerprint(struct fx *f, const char *agent, const char *host, int64_t ts)
{
	struct rec r = {
		.agent = agent, .host = host, .ts = ts,
		.rule_id = "picket.fingerprint.outbound",
		.rule_name = "Same payload to many hosts",
		.dataset = "picket.fingerprint", .sev = 73,
		.sip = "10.0.0.5", .dip = "0.0.0.0", .dport = 445,
		.dir = "outbound", .fp = FP_WORM, .count = 30,
	};

	put(f, &r);
}

static void
ioc(struct fx *f, const char *agent, const char *host, int64_t ts,
    const char *name)
{
	struct rec r = {
		.agent = agent, .host = host, .ts = ts,
		.rule_id = "picket.ioc.domain",
		.rule_name = "Traffic to a listed domain", .ruleset = "picket-ioc",
		.dataset = "picket.ioc", .sev = 73, .sip = "10.0.0.7",
		.dip = "203.0.113.53", .dport = 53, .dir = "outbound",
		.fp = "11112222333344445555666677778888", .ttype = "domain-name",
		.tname = name,
	};

	put(f, &r);
}

static void
portscan_in(struct fx *f, const char *agent, const char *host, int64_t ts)
{
	struct rec r = {
		.agent = agent, .host = host, .ts = ts,
		.rule_id = "picket.scan.port", .rule_name = "Port scan",
		.sev = 47, .sip = "198.51.100.7", .dip = "10.0.0.1", .dport = -1,
		.dir = "inbound", .fp = "aaaabbbbccccddddeeeeffff00001111",
	};

	put(f, &r);
}

static void
load(struct fx *f)
{
	struct rec rule = {
		.agent = "agent-02", .host = "ws-02", .ts = T0 + 2 * H,
		.rule_id = "2001", .rule_name = "ET WORM Conficker probe",
		.ruleset = "worms.rules", .dataset = "picket.rules", .sev = 73,
		.sip = "10.0.0.2", .dip = "192.0.2.8", .dport = 445,
		.dir = "outbound", .fp = "2001aaaa2001aaaa2001aaaa2001aaaa",
	};
	struct rec health = {
		.agent = "agent-01", .host = "ws-01", .ts = T0 + H,
		.kind = "metric", .rule_id = "picket.health.capture",
		.rule_name = "Capture health", .sev = 21, .sip = "10.0.0.1",
		.dip = "10.0.0.1", .dport = -1, .dir = "unknown",
		.fp = "0000111122223333444455556666777f",
	};
	static const char *const names[] = { "ws-01", "ws-02", "ws-03",
	    "ws-04" };
	char id[32];
	int i;

	/* agents 1-4 said HELLO; agent 5 is known only from its records */
	for (i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "agent-0%d", i + 1);
		assert_int_equal(f->hf.st->ops->host_seen(f->hf.st, id,
		    names[i], 0, T0), 0);
	}
	/* before the window: must not count */
	fingerprint(f, "agent-01", "ws-01", T0 - H);
	scan445(f, "agent-01", "ws-01", T0 + 1 * H, 0, "picket.scan.worm_port");
	fingerprint(f, "agent-03", "ws-03", T0 + 2 * H);
	fingerprint(f, "agent-04", "ws-04", T0 + 2 * H + 600 * HUB_USEC);
	put(f, &rule);
	put(f, &health);
	scan445(f, "agent-02", "ws-02", T0 + 3 * H, 0, "picket.scan.worm_port");
	scan445(f, "agent-02", "ws-02", T0 + 4 * H, 0, "picket.scan.address");
	scan445(f, "agent-03", "ws-03", T0 + 5 * H, 0, "picket.scan.worm_port");
	scan445(f, "agent-04", "ws-04", T0 + 5 * H + 1800 * HUB_USEC, 0,
	    "picket.scan.worm_port");
	/* agent-01's later report of the same scan: one host, not two */
	scan445(f, "agent-01", "ws-01", T0 + 6 * H, T0 + 1 * H,
	    "picket.scan.worm_port");
	fingerprint(f, "agent-05", "ws-05", T0 + 7 * H);
	ioc(f, "agent-01", "ws-01", T0 + 8 * H, "evil.example");
	ioc(f, "agent-05", "ws-05", T0 + 9 * H, "Evil.Example");
	portscan_in(f, "agent-01", "ws-01", T0 + 9 * H + 1800 * HUB_USEC);
	portscan_in(f, "agent-02", "ws-02", T0 + 10 * H);
	/* after the window */
	ioc(f, "agent-03", "ws-03", T0 + 25 * H, "evil.example");
}

static int
setup(void **state)
{
	struct fx *f;

	hubfix_setup(state, sizeof(*f), "outbreak");
	f = *state;
	load(f);
	return 0;
}

static void
window(struct hub_outbreak_params *p)
{
	hub_outbreak_params_default(p);
	p->now_us = T0 + 24 * H;
	p->since_us = T0;
	p->until_us = T0 + 24 * H;
}

static json_t *
run(struct fx *f, const struct hub_outbreak_params *p)
{
	char err[256] = "";
	json_t *j = hub_outbreaks(f->hf.st, p, err, sizeof(err));

	if (j == NULL)
		fail_msg("hub_outbreaks: %s", err);
	return j;
}

static const char *
sget(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	assert_non_null(s);
	return s;
}

static json_int_t
iget(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void
test_groups(void **state)
{
	struct fx *f = *state;
	struct hub_outbreak_params p;
	json_t *j, *obs, *g, *hosts, *series, *pz;
	size_t i;

	window(&p);
	j = run(f, &p);
	obs = json_object_get(j, "outbreaks");
	assert_true(json_is_array(obs));
	/* the content rule on one host is not an outbreak */
	assert_int_equal(json_array_size(obs), 4);
	assert_int_equal(iget(j, "groups_total"), 4);
	assert_int_equal(iget(j, "bucket_seconds"), 3600);
	assert_false(json_is_true(json_object_get(j, "truncated")));
	assert_int_equal(iget(j, "scanned"), f->in_window);

	/* 1: scanning 445 on four hosts */
	g = json_array_get(obs, 0);
	assert_string_equal(sget(g, "kind"), "scan");
	assert_string_equal(sget(g, "key"), "445/tcp/outbound");
	assert_string_equal(sget(g, "label"), "scanning 445/tcp");
	assert_int_equal(iget(g, "hosts_affected"), 4);
	assert_int_equal(iget(g, "indicators"), 6);
	assert_int_equal(iget(g, "max_severity"), 99);
	assert_string_equal(sget(g, "first_seen"), "2024-05-01T01:00:00.000Z");
	assert_string_equal(sget(g, "last_seen"), "2024-05-01T06:00:00.000Z");
	pz = json_object_get(g, "patient_zero");
	assert_string_equal(sget(pz, "agent_id"), "agent-01");
	assert_string_equal(sget(pz, "host_name"), "ws-01");
	assert_string_equal(sget(pz, "first_seen"), "2024-05-01T01:00:00.000Z");
	hosts = json_object_get(g, "hosts");
	assert_int_equal(json_array_size(hosts), 4);
	assert_string_equal(sget(json_array_get(hosts, 1), "agent_id"),
	    "agent-02");
	assert_string_equal(sget(json_array_get(hosts, 3), "agent_id"),
	    "agent-04");
	series = json_object_get(g, "series");
	assert_int_equal(json_array_size(series), HUB_OB_BUCKETS);
	for (i = 0; i < HUB_OB_BUCKETS; i++) {
		json_int_t want = i == 1 || i == 3 ? 1 : i == 5 ? 2 : 0;

		assert_int_equal(json_integer_value(json_array_get(series, i)),
		    want);
	}
	assert_int_equal(json_array_size(json_object_get(g, "rules")), 2);

	/* 2: the fingerprint on three hosts; the row before the window
	 * (agent-01) does not count */
	g = json_array_get(obs, 1);
	assert_string_equal(sget(g, "kind"), "fingerprint");
	assert_string_equal(sget(g, "key"), FP_WORM);
	assert_string_equal(sget(g, "label"), "fingerprint 9f86d081884c "
	    "(445/tcp)");
	assert_int_equal(iget(g, "hosts_affected"), 3);
	pz = json_object_get(g, "patient_zero");
	assert_string_equal(sget(pz, "agent_id"), "agent-03");
	/* agent-05 never said HELLO: its name comes from its records */
	hosts = json_object_get(g, "hosts");
	assert_string_equal(sget(json_array_get(hosts, 2), "host_name"),
	    "ws-05");
	series = json_object_get(g, "series");
	assert_int_equal(json_integer_value(json_array_get(series, 2)), 2);
	assert_int_equal(json_integer_value(json_array_get(series, 7)), 1);

	/* 3 and 4 have two hosts each: the later last_seen first */
	g = json_array_get(obs, 2);
	assert_string_equal(sget(g, "kind"), "scan");
	assert_string_equal(sget(g, "key"), "ports/tcp/inbound");
	assert_string_equal(sget(g, "label"), "port scanning (tcp) (inbound)");
	assert_int_equal(iget(g, "hosts_affected"), 2);
	g = json_array_get(obs, 3);
	assert_string_equal(sget(g, "kind"), "ioc");
	/* the name's case does not split the group */
	assert_string_equal(sget(g, "key"), "domain-name:evil.example");
	assert_string_equal(sget(g, "label"), "IOC evil.example");
	assert_int_equal(iget(g, "hosts_affected"), 2);
	assert_string_equal(sget(json_object_get(g, "patient_zero"),
	    "agent_id"), "agent-01");
	json_decref(j);
}

static void
test_filters(void **state)
{
	struct fx *f = *state;
	struct hub_outbreak_params p;
	char err[128];
	json_t *j, *obs;

	window(&p);
	assert_int_equal(hub_outbreak_params_set(&p, "kind", "ioc", err,
	    sizeof(err)), 0);
	j = run(f, &p);
	obs = json_object_get(j, "outbreaks");
	assert_int_equal(json_array_size(obs), 1);
	assert_string_equal(sget(json_array_get(obs, 0), "kind"), "ioc");
	assert_string_equal(sget(j, "kind"), "ioc");
	json_decref(j);

	window(&p);
	assert_int_equal(hub_outbreak_params_set(&p, "kind", "rule", err,
	    sizeof(err)), 0);
	j = run(f, &p);
	assert_int_equal(json_array_size(json_object_get(j, "outbreaks")), 0);
	json_decref(j);
	/* with min_hosts 1 the single-host rule shows, keyed by its sid */
	p.min_hosts = 1;
	j = run(f, &p);
	obs = json_object_get(j, "outbreaks");
	assert_int_equal(json_array_size(obs), 1);
	assert_string_equal(sget(json_array_get(obs, 0), "key"), "2001");
	assert_string_equal(sget(json_array_get(obs, 0), "label"),
	    "ET WORM Conficker probe");
	json_decref(j);

	window(&p);
	assert_int_equal(hub_outbreak_params_set(&p, "min_hosts", "4", err,
	    sizeof(err)), 0);
	j = run(f, &p);
	obs = json_object_get(j, "outbreaks");
	assert_int_equal(json_array_size(obs), 1);
	assert_int_equal(iget(json_array_get(obs, 0), "hosts_affected"), 4);
	json_decref(j);

	window(&p);
	assert_int_equal(hub_outbreak_params_set(&p, "limit", "1", err,
	    sizeof(err)), 0);
	j = run(f, &p);
	assert_int_equal(json_array_size(json_object_get(j, "outbreaks")), 1);
	assert_int_equal(iget(j, "groups_total"), 4);
	assert_int_equal(iget(j, "groups_omitted"), 3);
	json_decref(j);

	/* a window that ends before the IOC rows: no IOC group */
	window(&p);
	p.until_us = T0 + 8 * H;
	j = run(f, &p);
	obs = json_object_get(j, "outbreaks");
	assert_int_equal(json_array_size(obs), 2);
	assert_string_equal(sget(json_array_get(obs, 1), "kind"),
	    "fingerprint");
	json_decref(j);
}

static void
test_truncation(void **state)
{
	struct fx *f = *state;
	struct hub_outbreak_params p;
	json_t *j;

	window(&p);
	p.max_indicators = 10;
	j = run(f, &p);
	assert_true(json_is_true(json_object_get(j, "truncated")));
	assert_int_equal(iget(j, "scanned"), 10);
	assert_int_equal(iget(j, "indicators_cut"), f->in_window - 10);
	assert_true(json_is_true(json_object_get(j, "indicators_cut_exact")));
	/* the first ten rows (to 07:00): the scan on four hosts and the
	 * fingerprint on three; the IOC and inbound scans were cut */
	assert_int_equal(iget(j, "groups_total"), 2);
	assert_int_equal(iget(json_array_get(json_object_get(j, "outbreaks"),
	    0), "hosts_affected"), 4);
	assert_int_equal(iget(json_array_get(json_object_get(j, "outbreaks"),
	    1), "hosts_affected"), 3);
	json_decref(j);

	/* a bound far below the data: counting the cut stops too */
	window(&p);
	p.max_indicators = 2;
	j = run(f, &p);
	assert_true(json_is_true(json_object_get(j, "truncated")));
	assert_int_equal(iget(j, "scanned"), 2);
	assert_int_equal(iget(j, "indicators_cut"), 2);
	assert_false(json_is_true(json_object_get(j, "indicators_cut_exact")));
	json_decref(j);
}

static void
test_params(void **state)
{
	struct hub_outbreak_params p, before;
	char err[256], big[200];
	static const char *const bad[][2] = {
		{ "since", "abc" }, { "since", "24x" }, { "since", "" },
		{ "since", "-5h" }, { "since", "99999999999d" },
		{ "since", "2024-13-01T00:00:00Z" },
		{ "since", "2024-05-01T00:00:00+02:00" },
		{ "until", "yesterday" }, { "min_hosts", "1" },
		{ "min_hosts", "abc" }, { "min_hosts", "100001" },
		{ "min_hosts", "-2" }, { "kind", "worm" }, { "kind", "" },
		{ "limit", "0" }, { "limit", "10001" }, { "limit", "1e3" },
		{ "bogus", "1" },
	};
	size_t i;

	(void)state;
	hub_outbreak_params_default(&p);
	assert_int_equal(p.min_hosts, 2);
	assert_int_equal(p.max_groups, 500);
	assert_int_equal(p.max_indicators, 200000);
	assert_true(p.until_us - p.since_us == 24 * H);
	p.now_us = T0;
	assert_int_equal(hub_outbreak_params_set(&p, "since", "24h", err,
	    sizeof(err)), 0);
	assert_true(p.since_us == T0 - 24 * H);
	assert_int_equal(hub_outbreak_params_set(&p, "since", "90m", err,
	    sizeof(err)), 0);
	assert_true(p.since_us == T0 - 90 * 60 * HUB_USEC);
	assert_int_equal(hub_outbreak_params_set(&p, "until",
	    "2024-05-01T12:00:00Z", err, sizeof(err)), 0);
	assert_true(p.until_us == T0 + 12 * H);
	assert_int_equal(hub_outbreak_params_set(&p, "kind", "fingerprint",
	    err, sizeof(err)), 0);
	assert_string_equal(p.kind, "fingerprint");
	assert_int_equal(hub_outbreak_params_set(&p, "kind", "all", err,
	    sizeof(err)), 0);
	assert_null(p.kind);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		before = p;
		err[0] = '\0';
		assert_int_equal(hub_outbreak_params_set(&p, bad[i][0],
		    bad[i][1], err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
		assert_memory_equal(&p, &before, sizeof(p));
	}
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(hub_outbreak_params_set(&p, "limit", big, err,
	    sizeof(err)), -1);
	assert_int_equal(hub_outbreak_params_set(&p, NULL, "1", err,
	    sizeof(err)), -1);
	assert_int_equal(hub_outbreak_params_set(&p, "limit", NULL, err,
	    sizeof(err)), -1);
	/* a tiny error buffer is still NUL-terminated */
	assert_int_equal(hub_outbreak_params_set(&p, "kind", "x", err, 8), -1);
	assert_int_equal(strlen(err), 7);
}

static void
test_bad_window(void **state)
{
	struct fx *f = *state;
	struct hub_outbreak_params p;
	char err[128] = "";

	window(&p);
	p.since_us = p.until_us;
	assert_null(hub_outbreaks(f->hf.st, &p, err, sizeof(err)));
	assert_string_equal(err, "since must be before until");
	window(&p);
	p.max_indicators = 0;
	assert_null(hub_outbreaks(f->hf.st, &p, err, sizeof(err)));
}

/* A row as a peer's bundle leaves it (docs/peering.md). */
static void
shared(struct fx *f, const char *peer, const char *origin, int n,
    const char *kind, const char *value, uint64_t hosts, int tlp,
    int64_t first, int state)
{
	struct hub_shared s;
	int is_new = 0;

	memset(&s, 0, sizeof(s));
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	snprintf(s.origin, sizeof(s.origin), "%s", origin);
	snprintf(s.stix_id, sizeof(s.stix_id),
	    "indicator--00000000-0000-4000-8000-%012d", n);
	snprintf(s.kind, sizeof(s.kind), "%s", kind);
	snprintf(s.value, sizeof(s.value), "%s", value);
	snprintf(s.rule_ids, sizeof(s.rule_ids), "[\"picket.fingerprint."
	    "outbound\"]");
	s.tlp = tlp;
	s.hosts = hosts;
	s.count = hosts * 3;
	s.first_received_us = first;
	s.last_received_us = first + H;
	s.state = state;
	assert_int_equal(f->hf.st->ops->shared_put(f->hf.st, &s, &is_new), 0);
	assert_int_equal(is_new, 1);
}

/* The group of kind k in the answer; it must be there. */
static json_t *
group_of(json_t *j, const char *kind)
{
	json_t *obs = json_object_get(j, "outbreaks"), *g;
	size_t i;

	json_array_foreach(obs, i, g)
		if (strcmp(sget(g, "kind"), kind) == 0)
			return g;
	fail_msg("no %s group", kind);
	return NULL;
}

static void
want_json(const json_t *got, const char *want)
{
	json_error_t e;
	json_t *w = json_loads(want, 0, &e);
	char *g;

	if (w == NULL)
		fail_msg("expected JSON: %s", e.text);
	if (!json_equal(got, w)) {
		g = json_dumps(got, JSON_SORT_KEYS);
		fail_msg("members: %s", g != NULL ? g : "(null)");
	}
	json_decref(w);
}

/*
 * What peers shared of a group's value: rejected rows and other values
 * (even one that contains it) are left out, two rows of one peer are
 * one member, peers are listed earliest first.
 */
static void
test_members(void **state)
{
	struct fx *f = *state;
	struct hub_outbreak_params p;
	json_t *j, *g;
	char peer[32];
	int i;

	shared(f, "beta", "Beta State SOC", 1, "fingerprint", FP_WORM, 5,
	    HUB_TLP_GREEN, T0 + 3 * H, HUB_SHARED_APPROVED);
	shared(f, "alpha", "Alpha City", 2, "fingerprint", FP_WORM, 2,
	    HUB_TLP_AMBER, T0 + 1 * H, HUB_SHARED_PENDING);
	/* beta again under another id: later, more hosts than its first */
	shared(f, "beta", "Beta State SOC", 3, "fingerprint", FP_WORM, 3,
	    HUB_TLP_CLEAR, T0 + 5 * H, HUB_SHARED_PENDING);
	shared(f, "gamma", "Gamma County", 4, "fingerprint", FP_WORM, 40,
	    HUB_TLP_CLEAR, T0, HUB_SHARED_REJECTED);
	/* another value, which the store's substring filter also finds */
	shared(f, "delta", "Delta", 5, "fingerprint", FP_WORM "ab", 9,
	    HUB_TLP_CLEAR, T0, HUB_SHARED_APPROVED);
	shared(f, "delta", "Delta", 6, "domain", "evil.example", 4,
	    HUB_TLP_GREEN, T0 + 2 * H, HUB_SHARED_APPROVED);
	shared(f, "alpha", "Alpha City", 7, "domain", "not-evil.example", 1,
	    HUB_TLP_GREEN, T0, HUB_SHARED_APPROVED);
	/* the same text as another kind is not the same indicator */
	shared(f, "alpha", "Alpha City", 8, "url", "evil.example", 1,
	    HUB_TLP_GREEN, T0, HUB_SHARED_APPROVED);

	window(&p);
	j = run(f, &p);
	assert_false(json_is_true(json_object_get(j, "members_truncated")));
	g = group_of(j, "fingerprint");
	want_json(json_object_get(g, "members"),
	    "{\"count\":2,\"hosts\":7,\"first\":{\"peer\":\"alpha\","
	    "\"origin\":\"Alpha City\",\"first_received\":"
	    "\"2024-05-01T01:00:00.000Z\"},\"peers\":["
	    "{\"peer\":\"alpha\",\"origin\":\"Alpha City\",\"hosts\":2,"
	    "\"tlp\":\"TLP:AMBER\",\"first_received\":"
	    "\"2024-05-01T01:00:00.000Z\",\"state\":\"pending\"},"
	    "{\"peer\":\"beta\",\"origin\":\"Beta State SOC\",\"hosts\":5,"
	    "\"tlp\":\"TLP:GREEN\",\"first_received\":"
	    "\"2024-05-01T03:00:00.000Z\",\"state\":\"approved\"}],"
	    "\"truncated\":false}");
	/* "domain-name:evil.example" maps to the shared kind domain */
	want_json(json_object_get(group_of(j, "ioc"), "members"),
	    "{\"count\":1,\"hosts\":4,\"first\":{\"peer\":\"delta\","
	    "\"origin\":\"Delta\",\"first_received\":"
	    "\"2024-05-01T02:00:00.000Z\"},\"peers\":[{\"peer\":\"delta\","
	    "\"origin\":\"Delta\",\"hosts\":4,\"tlp\":\"TLP:GREEN\","
	    "\"first_received\":\"2024-05-01T02:00:00.000Z\",\"state\":"
	    "\"approved\"}],\"truncated\":false}");
	/* scans have no value a peer shares */
	assert_null(json_object_get(json_array_get(json_object_get(j,
	    "outbreaks"), 0), "members"));
	json_decref(j);

	/* more rows than one group reads: counted as far as read, and said */
	for (i = 0; i < HUB_OB_MEMBERS_ROWS; i++) {
		snprintf(peer, sizeof(peer), "p%03d", i);
		shared(f, peer, "Member", 100 + i, "domain", "evil.example", 1,
		    HUB_TLP_CLEAR, T0 + 10 * H + i, HUB_SHARED_PENDING);
	}
	window(&p);
	j = run(f, &p);
	assert_true(json_is_true(json_object_get(j, "members_truncated")));
	g = json_object_get(group_of(j, "ioc"), "members");
	assert_true(json_is_true(json_object_get(g, "truncated")));
	/* newest first: delta's older row is the one left out */
	assert_int_equal(iget(g, "count"), HUB_OB_MEMBERS_ROWS);
	assert_int_equal(json_array_size(json_object_get(g, "peers")),
	    HUB_OB_MEMBERS_OUT);
	assert_string_equal(sget(json_object_get(g, "first"), "peer"), "p000");
	assert_false(json_is_true(json_object_get(json_object_get(group_of(j,
	    "fingerprint"), "members"), "truncated")));
	json_decref(j);
}

/* A shared row of kind ipv4 that lists the rule ids rules (JSON). */
static void
shared_rule(struct fx *f, const char *peer, int n, const char *value,
    const char *rules, uint64_t hosts, int64_t first, int state)
{
	struct hub_shared s;
	int is_new = 0;

	memset(&s, 0, sizeof(s));
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	snprintf(s.origin, sizeof(s.origin), "Origin %s", peer);
	snprintf(s.stix_id, sizeof(s.stix_id),
	    "indicator--00000000-0000-4000-8000-%012d", n);
	snprintf(s.kind, sizeof(s.kind), "ipv4");
	snprintf(s.value, sizeof(s.value), "%s", value);
	snprintf(s.rule_ids, sizeof(s.rule_ids), "%s", rules);
	s.tlp = HUB_TLP_AMBER;
	s.hosts = hosts;
	s.count = hosts;
	s.first_received_us = first;
	s.last_received_us = first;
	s.state = state;
	assert_int_equal(f->hf.st->ops->shared_put(f->hf.st, &s, &is_new), 0);
	assert_int_equal(is_new, 1);
}

/*
 * A rule outbreak's members: peers whose rows list its rule id, whatever
 * the value (rejected rows left out, a rule id that only starts the same
 * is another rule), one member per peer, earliest first.
 */
static void
test_rule_members(void **state)
{
	struct fx *f = *state;
	struct hub_outbreak_params p;
	struct rec rule = {
		.agent = "agent-03", .host = "ws-03", .ts = T0 + 6 * H,
		.rule_id = "2001", .rule_name = "ET WORM Conficker probe",
		.ruleset = "worms.rules", .dataset = "picket.rules", .sev = 73,
		.sip = "10.0.0.3", .dip = "192.0.2.9", .dport = 445,
		.dir = "outbound", .fp = "2001bbbb2001bbbb2001bbbb2001bbbb",
	};
	json_t *j, *g, *m;

	/* with agent-02's row of load(): a rule group on two hosts */
	put(f, &rule);
	shared_rule(f, "beta", 1, "203.0.113.7", "[\"2001\",\"2002\"]", 4,
	    T0 + 2 * H, HUB_SHARED_PENDING);
	shared_rule(f, "beta", 2, "203.0.113.8", "[\"2001\"]", 6, T0 + 3 * H,
	    HUB_SHARED_APPROVED);
	shared_rule(f, "alpha", 3, "203.0.113.9", "[\"2001\"]", 2, T0 + H,
	    HUB_SHARED_PENDING);
	shared_rule(f, "gamma", 4, "203.0.113.10", "[\"2001\"]", 50, T0,
	    HUB_SHARED_REJECTED);
	shared_rule(f, "delta", 5, "203.0.113.11", "[\"20011\",\"2002\"]", 9,
	    T0, HUB_SHARED_APPROVED);

	window(&p);
	p.kind = "rule";
	j = run(f, &p);
	g = group_of(j, "rule");
	assert_string_equal(sget(g, "key"), "2001");
	assert_int_equal(iget(g, "hosts_affected"), 2);
	m = json_object_get(g, "members");
	want_json(m,
	    "{\"count\":2,\"hosts\":8,\"first\":{\"peer\":\"alpha\","
	    "\"origin\":\"Origin alpha\",\"first_received\":"
	    "\"2024-05-01T01:00:00.000Z\"},\"peers\":["
	    "{\"peer\":\"alpha\",\"origin\":\"Origin alpha\",\"hosts\":2,"
	    "\"tlp\":\"TLP:AMBER\",\"first_received\":"
	    "\"2024-05-01T01:00:00.000Z\",\"state\":\"pending\"},"
	    "{\"peer\":\"beta\",\"origin\":\"Origin beta\",\"hosts\":6,"
	    "\"tlp\":\"TLP:AMBER\",\"first_received\":"
	    "\"2024-05-01T02:00:00.000Z\",\"state\":\"approved\"}],"
	    "\"truncated\":false}");
	assert_false(json_is_true(json_object_get(j, "members_truncated")));
	json_decref(j);
	/* a rule nobody shared: members with no one in them */
	rule.rule_id = "3003";
	put(f, &rule);
	rule.agent = "agent-04";
	rule.host = "ws-04";
	put(f, &rule);
	window(&p);
	p.kind = "rule";
	j = run(f, &p);
	{
		json_t *obs = json_object_get(j, "outbreaks"), *o;
		size_t i;
		int seen = 0;

		json_array_foreach(obs, i, o)
			if (strcmp(sget(o, "key"), "3003") == 0) {
				want_json(json_object_get(o, "members"),
				    "{\"count\":0,\"hosts\":0,\"first\":null,"
				    "\"peers\":[],\"truncated\":false}");
				seen = 1;
			}
		assert_true(seen);
	}
	json_decref(j);
}

static int
is_val(void *arg, uint32_t v)
{
	return *(uint32_t *)arg == v;
}

/* Colliding hashes are refused after the probe bound, not looped on. */
static void
test_itab(void **state)
{
	struct hub_itab t;
	uint32_t i, want;
	int added = 0;

	(void)state;
	assert_int_equal(hub_itab_init(&t, 4), 0);
	for (i = 0; i < 1000; i++)
		if (hub_itab_add(&t, 42, i) == 0)
			added++;
	assert_int_equal(added, HUB_ITAB_PROBES);
	want = 5;
	assert_int_equal(hub_itab_find(&t, 42, is_val, &want), 5);
	want = 999;
	assert_int_equal(hub_itab_find(&t, 42, is_val, &want), UINT32_MAX);
	/* ordinary keys still go in: only those whose slot falls inside
	 * the colliding run can be refused */
	for (i = 0, added = 0; i < 5000; i++)
		if (hub_itab_add(&t, (uint64_t)i * 0x9e3779b97f4a7c15ULL + 1,
		    1000 + i) == 0)
			added++;
	assert_true(added >= 4900);	/* about 5000 * 128 / 16384 refused */
	want = 1007;
	assert_int_equal(hub_itab_find(&t, 0x9e3779b97f4a7c15ULL * 7 + 1,
	    is_val, &want), 1007);
	hub_itab_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_groups, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_truncation, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_bad_window, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_rule_members, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_members, setup,
		    hubfix_teardown),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_itab),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
