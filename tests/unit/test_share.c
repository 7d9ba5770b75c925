/*
 * test_share.c - the bundles member hubs exchange (hub/share_out.c,
 * hub/share_in.c; docs/peering.md).  Out: alerts go into a real SQLite
 * store through hub_extract and the store's insert (outside and inside
 * addresses, names under the member's internal domain, host names, TLP
 * CLEAR to RED and unmarked, severities, all four outbreak kinds); the
 * bundle for a peer holds exactly what its policy allows, its text holds
 * none of the member's addresses, names, hosts or agent ids, and the
 * cursor (max_rows, small max_objects, nothing new, nothing allowed)
 * never skips a row.  In: that bundle reads back to the same values, and
 * each refusal of the Validation table, each "matching too much" case
 * and each whole-bundle refusal (depth, duplicates, types, sizes,
 * sequence) is checked with its own input.  Payload excerpts: sent
 * only to a peer whose policy asks and only from AMBER or AMBER+STRICT
 * rows, whole or cut at a character boundary, withheld (and counted)
 * when they name an internal address, an internal domain, the host or
 * the agent; the receiver keeps one under AMBER and refuses one under
 * GREEN, an over-long one and a non-string.  Also the answer's shape.
 * Run by make check-unit and check-asan; needs SQLite and jansson.
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
#include "hub/share.h"
#include "hub/stix.h"
#include "hub/store.h"
#include "tests/unit/hubfix.h"

#define H	(3600LL * HUB_USEC)
#define T0	1714521600000000LL	/* 2024-05-01T00:00:00Z */
#define NOW	(T0 + 24 * H)

/* ---- the store ----------------------------------------------------------- */

struct fx {
	struct hubfix	 hf;	/* first: hubfix_setup allocates */
	uint64_t	 seq;
	int64_t		 rowid[64];	/* of each record, in order */
	size_t		 nrows;
};

struct rec {
	const char	*agent, *host;
	int64_t		 ts;
	const char	*rule_id;
	const char	*sip, *dip;
	const char	*dir;
	const char	*fp;
	const char	*tlp;		/* NULL: field absent */
	const char	*ttype, *tname;
	int		 severity;
};

static void
build(const struct rec *r, char *out, size_t cap)
{
	char ts[40], thr[1500], tlp[64];

	hub_time_ms(r->ts, ts, sizeof(ts));
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
	    "\"category\":[\"network\"],\"type\":[\"end\",\"indicator\"],"
	    "\"module\":\"network\",\"dataset\":\"picket.x\",\"severity\":%d,"
	    "\"start\":\"%s\",\"end\":\"%s\"},"
	    "\"host\":{\"id\":\"%s\",\"name\":\"%s\"},\"agent\":{\"id\":"
	    "\"%s\",\"type\":\"picketd\",\"version\":\"0.1.0\"},\"rule\":{"
	    "\"id\":\"%s\",\"name\":\"A rule about %s\",\"ruleset\":\"x\"},"
	    "\"message\":\"%s talked to %s\",\"source\":{\"ip\":"
	    "\"%s\"},\"destination\":{\"ip\":\"%s\",\"port\":445},"
	    "\"network\":{\"transport\":\"tcp\",\"direction\":\"%s\"}%s,"
	    "\"picket\":{\"seq\":1,\"count\":2,\"first_seen\":\"%s\","
	    "\"last_seen\":\"%s\",\"fingerprint\":\"%s\"%s,\"details\":{"
	    "\"targets\":[\"%s\"]}}}",
	    ts, r->severity, ts, ts, r->agent, r->host, r->agent, r->rule_id,
	    r->sip, r->host, r->dip, r->sip, r->dip, r->dir, thr, ts, ts,
	    r->fp, tlp, r->dip);
}

struct rowids {
	int64_t		*ids;
	size_t		 n, cap;
};

static int
collect(void *arg, int64_t rowid, const struct hub_indicator *d)
{
	struct rowids *r = arg;

	(void)d;
	if (r->n < r->cap)
		r->ids[r->n++] = rowid;
	return 0;
}

static void
put(struct fx *f, const struct rec *r)
{
	char json[4096];

	build(r, json, sizeof(json));
	assert_int_equal(hubfix_put_json(f->hf.st, json, r->agent, ++f->seq,
	    T0), 1);
}

#define SHA	"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
#define FPW	"9f86d081884c7d659a2feaa0c55ad015"
#define URLV	"http://evil.example/a'b\\\\c"	/* JSON text */

/* agent, host, ts, rule, sip, dip, dir, fp, tlp, ttype, tname, severity */
static const struct rec recs[] = {
	/* 0: allowed: a listed domain, GREEN */
	{ "agent-01", "ws-secret-01", T0 + 1 * H, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0", "TLP:GREEN", "domain-name",
	  "evil.example", 73 },
	/* 1: allowed: a listed address, CLEAR */
	{ "agent-02", "ws-secret-02", T0 + 2 * H, "picket.ioc.address",
	  "10.1.2.4", "203.0.113.5", "outbound",
	  "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0", "TLP:CLEAR", "ipv4-addr",
	  "203.0.113.5", 73 },
	/* 2, 3: the member's own address and name: redacted */
	{ "agent-02", "ws-secret-02", T0 + 3 * H, "picket.ioc.address",
	  "10.1.2.4", "10.9.9.9", "internal",
	  "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "TLP:CLEAR", "ipv4-addr",
	  "10.9.9.9", 73 },
	{ "agent-02", "ws-secret-02", T0 + 3 * H, "picket.ioc.domain",
	  "10.1.2.4", "203.0.113.53", "outbound",
	  "a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2", "TLP:CLEAR", "domain-name",
	  "www.agency.example", 73 },
	/* 4: allowed: a URL with the characters patterns escape */
	{ "agent-03", "ws-secret-03", T0 + 3 * H, "picket.ioc.url",
	  "10.1.2.5", "203.0.113.80", "outbound",
	  "a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6", "TLP:CLEAR", "url", URLV, 73 },
	/* 5: AMBER: above the peer's GREEN */
	{ "agent-03", "ws-secret-03", T0 + 4 * H, "picket.process.ioc_hash",
	  "10.1.2.5", "10.1.2.5", "unknown",
	  "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0", "TLP:AMBER", "file", SHA, 73 },
	/* 6: allowed: a worm fingerprint (its inside source redacted) */
	{ "agent-01", "ws-secret-01", T0 + 5 * H,
	  "picket.fingerprint.outbound", "10.1.2.3", "198.51.100.20",
	  "outbound", FPW, "TLP:GREEN", NULL, NULL, 99 },
	/* 7: allowed: an outside scanner */
	{ "agent-03", "ws-secret-03", T0 + 7 * H, "picket.scan.port",
	  "198.51.100.7", "10.1.2.5", "inbound",
	  "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0", "TLP:CLEAR", NULL, NULL, 47 },
	/* 8: an inside scanner: redacted */
	{ "agent-03", "ws-secret-03", T0 + 7 * H, "picket.scan.port",
	  "192.168.5.5", "10.1.2.5", "inbound",
	  "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1", "TLP:CLEAR", NULL, NULL, 47 },
	/* 9, 10: RED and unmarked never leave */
	{ "agent-01", "ws-secret-01", T0 + 9 * H, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0", "TLP:RED", "domain-name",
	  "red.example", 99 },
	{ "agent-01", "ws-secret-01", T0 + 9 * H, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1", NULL, "domain-name",
	  "unmarked.example", 99 },
	/* 11: below the peer's minimum severity */
	{ "agent-01", "ws-secret-01", T0 + 10 * H, "picket.ioc.domain",
	  "10.1.2.3", "203.0.113.53", "outbound",
	  "e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2", "TLP:CLEAR", "domain-name",
	  "low.example", 10 },
	/* 12: a content rule (kind rule), which this peer does not take */
	{ "agent-02", "ws-secret-02", T0 + 11 * H, "sid:2001219",
	  "203.0.113.99", "10.1.2.4", "inbound",
	  "e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3e3", "TLP:CLEAR", NULL, NULL, 73 },
};
#define NRECS	PK_NELEM(recs)
#define NFILTERED	5	/* 5, 9, 10, 11, 12 */
#define NREDACTED	3	/* 2, 3, 8 */

#define P_DOMAIN	"[domain-name:value = 'evil.example']"
#define P_ADDR		"[ipv4-addr:value = '203.0.113.5']"
#define P_SCANNER	"[ipv4-addr:value = '198.51.100.7']"
#define P_URL		"[url:value = 'http://evil.example/a\\'b\\\\c']"
#define P_FP		"[x-picket-fingerprint:value = '" FPW "']"
static const char *const allowed_patterns[] = {
	P_DOMAIN, P_ADDR, P_SCANNER, P_URL, P_FP,
};

static int
setup(void **state)
{
	struct fx *f;
	struct rowids r;
	size_t i;

	hubfix_setup(state, sizeof(*f), "share");
	f = *state;
	for (i = 0; i < NRECS; i++)
		put(f, &recs[i]);
	r.ids = f->rowid;
	r.n = 0;
	r.cap = PK_NELEM(f->rowid);
	assert_int_equal(f->hf.st->ops->alerts_after(f->hf.st, 0, 1000, collect,
	    &r), 0);
	assert_int_equal(r.n, NRECS);
	f->nrows = r.n;
	for (i = 1; i < r.n; i++)
		assert_true(f->rowid[i] > f->rowid[i - 1]);
	return 0;
}

static struct hub_sharing sharing;

static void
peer_default(struct hub_peer *p)
{
	char err[128];

	hub_sharing_default(&sharing);
	sharing.hub_name = "State CERT Example";
	assert_int_equal(hub_sharing_set_domains(&sharing, "agency.example",
	    err, sizeof(err)), 0);
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "other-cert");
	p->enabled = 1;
	p->send_tlp = HUB_TLP_GREEN;
	p->send_min_severity = 40;
	p->send_kinds = (1u << HUB_OB_FINGERPRINT) | (1u << HUB_OB_IOC) |
	    (1u << HUB_OB_SCAN);
	p->accept_tlp = HUB_TLP_AMBER;
	p->cursor_rowid = 0;
	p->send_seq = 7;
}

static const char *
sget(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL)
		fail_msg("missing string property %s", k);
	return s;
}

/* How many indicators carry this pattern. */
static int
has_pattern(const json_t *b, const char *pat)
{
	const json_t *objs = json_object_get(b, "objects");
	size_t i;
	json_t *o;
	int n = 0;

	json_array_foreach(objs, i, o)
		if (strcmp(sget(o, "type"), "indicator") == 0 &&
		    strcmp(sget(o, "pattern"), pat) == 0)
			n++;
	return n;
}

static size_t
count_type(const json_t *b, const char *type)
{
	const json_t *objs = json_object_get(b, "objects");
	size_t i, n = 0;
	json_t *o;

	json_array_foreach(objs, i, o)
		if (strcmp(sget(o, "type"), type) == 0)
			n++;
	return n;
}

/* Nothing the member keeps to itself, anywhere in the text. */
static void
check_redacted(const char *s)
{
	static const char *const secret[] = {
		"10.1.2.3", "10.1.2.4", "10.1.2.5", "10.9.9.9",
		"192.168.5.5", "agency.example", "ws-secret", "agent-0",
		"member-feed", "A rule about", "talked to", "red.example",
		"unmarked.example",
	};
	size_t i;

	for (i = 0; i < PK_NELEM(secret); i++)
		if (strstr(s, secret[i]) != NULL)
			fail_msg("\"%s\" leaked into the bundle", secret[i]);
}

static json_t *
out(struct fx *f, const struct hub_peer *p, uint64_t max_rows,
    uint32_t max_objects, int64_t *last, struct hub_share_out_stats *st)
{
	char err[256] = "x";
	json_t *b;

	b = hub_share_bundle(f->hf.st, p, &sharing, max_rows, max_objects, NOW,
	    last, st, err, sizeof(err));
	if (b == NULL && err[0] != '\0')
		fail_msg("hub_share_bundle: %s", err);
	return b;
}

/* ---- out ----------------------------------------------------------------- */

static void
test_out_policy(void **state)
{
	struct fx *f = *state;
	struct hub_share_out_stats st;
	struct hub_peer p;
	int64_t last = -1;
	json_t *b;
	char *s;
	size_t i;

	peer_default(&p);
	b = out(f, &p, 2500, 5000, &last, &st);
	assert_non_null(b);
	assert_string_equal(sget(b, "type"), "bundle");
	assert_int_equal(json_integer_value(json_object_get(b,
	    "x_picket_sequence")), 7);
	/* exactly the allowed values, each once, each with its sighting */
	for (i = 0; i < PK_NELEM(allowed_patterns); i++)
		assert_int_equal(has_pattern(b, allowed_patterns[i]), 1);
	assert_int_equal(count_type(b, "indicator"),
	    PK_NELEM(allowed_patterns));
	assert_int_equal(count_type(b, "sighting"),
	    PK_NELEM(allowed_patterns));
	assert_int_equal(count_type(b, "identity"), 1);
	/* CLEAR and GREEN only: no AMBER, never RED */
	assert_int_equal(count_type(b, "marking-definition"), 2);
	assert_int_equal(st.rows, NRECS);
	assert_int_equal(st.filtered, NFILTERED);
	assert_int_equal(st.redacted, NREDACTED);
	assert_int_equal(st.indicators, PK_NELEM(allowed_patterns));
	assert_int_equal(last, f->rowid[NRECS - 1]);
	s = json_dumps(b, JSON_COMPACT);
	assert_non_null(s);
	check_redacted(s);
	/* no AMBER hash, no rule-kind address */
	assert_null(strstr(s, "e3b0c442"));
	assert_null(strstr(s, "203.0.113.99"));
	assert_null(strstr(s, "low.example"));
	assert_null(strstr(s, hub_tlp_marking_id(HUB_TLP_RED)));
	free(s);
	json_decref(b);
}

/* The same rows under a wider policy: the rule kind, AMBER, any
 * severity; RED still never leaves, internals are still redacted. */
static void
test_out_wide_policy(void **state)
{
	struct fx *f = *state;
	struct hub_share_out_stats st;
	struct hub_peer p;
	int64_t last;
	json_t *b;
	char *s;

	peer_default(&p);
	p.send_tlp = HUB_TLP_RED;	/* clamped: RED never leaves */
	p.send_min_severity = 0;
	p.send_kinds = HUB_PEER_KINDS_ALL;
	sharing.host_pseudonyms = 1;
	memset(sharing.secret, 0x5a, sizeof(sharing.secret));
	b = out(f, &p, 2500, 5000, &last, &st);
	assert_non_null(b);
	assert_int_equal(has_pattern(b, "[domain-name:value = 'low.example']"),
	    1);
	assert_int_equal(has_pattern(b, "[ipv4-addr:value = '203.0.113.99']"),
	    1);
	assert_int_equal(has_pattern(b, "[file:hashes.'SHA-256' = "
	    "'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	    "']"), 1);
	assert_int_equal(count_type(b, "indicator"), 8);
	assert_int_equal(st.filtered, 2);	/* RED, unmarked */
	s = json_dumps(b, JSON_COMPACT);
	check_redacted(s);
	/* hosts as keyed pseudonyms, never as ids */
	assert_non_null(strstr(s, "x_picket_host_pseudonyms"));
	free(s);
	json_decref(b);
}

static void
test_out_cursor(void **state)
{
	struct fx *f = *state;
	struct hub_share_out_stats st;
	struct hub_peer p;
	int64_t last;
	json_t *b;

	peer_default(&p);
	/* max_rows: the first 5 rows (0..4) */
	b = out(f, &p, 5, 5000, &last, &st);
	assert_non_null(b);
	assert_int_equal(last, f->rowid[4]);
	assert_int_equal(st.rows, 5);
	assert_int_equal(count_type(b, "indicator"), 3);
	json_decref(b);
	/* the rest from there */
	p.cursor_rowid = last;
	p.send_seq = 8;
	b = out(f, &p, 5, 5000, &last, &st);
	assert_non_null(b);
	assert_int_equal(json_integer_value(json_object_get(b,
	    "x_picket_sequence")), 8);
	assert_int_equal(last, f->rowid[9]);
	assert_int_equal(has_pattern(b, P_SCANNER), 1);
	assert_int_equal(has_pattern(b, P_FP), 1);
	assert_int_equal(count_type(b, "indicator"), 2);
	json_decref(b);
	/* rows 10..12: none passes, the cursor still moves */
	p.cursor_rowid = last;
	last = -1;
	b = out(f, &p, 5, 5000, &last, &st);
	assert_null(b);
	assert_int_equal(last, f->rowid[NRECS - 1]);
	assert_int_equal(st.rows, 3);
	assert_int_equal(st.filtered, 3);
	/* nothing new: the cursor stays */
	p.cursor_rowid = last;
	last = -1;
	b = out(f, &p, 5, 5000, &last, &st);
	assert_null(b);
	assert_int_equal(last, p.cursor_rowid);
	assert_int_equal(st.rows, 0);
	/* nothing allowed at all */
	peer_default(&p);
	p.send_min_severity = 100;
	b = out(f, &p, 2500, 5000, &last, &st);
	assert_null(b);
	assert_int_equal(last, f->rowid[NRECS - 1]);
	assert_int_equal(st.filtered, NRECS);
}

/*
 * A bundle too small for everything: each stops before a row that might
 * not fit, and the next one starts there; together they carry every
 * allowed value, and no bundle exceeds max_objects.
 */
static void
test_out_small_bundles(void **state)
{
	struct fx *f = *state;
	struct hub_share_out_stats st;
	struct hub_peer p;
	int seen[PK_NELEM(allowed_patterns)] = { 0 };
	int64_t last;
	uint64_t rows = 0;
	json_t *b;
	size_t i;
	int rounds = 0, bundles = 0;

	peer_default(&p);
	for (;;) {
		assert_true(++rounds < 50);
		b = out(f, &p, 2500, 11, &last, &st);
		rows += st.rows;
		if (b != NULL) {
			bundles++;
			assert_true(json_array_size(json_object_get(b,
			    "objects")) <= 11);
			for (i = 0; i < PK_NELEM(allowed_patterns); i++)
				seen[i] += has_pattern(b, allowed_patterns[i]);
			json_decref(b);
			p.send_seq++;
		}
		if (last == p.cursor_rowid)
			break;
		assert_true(last > p.cursor_rowid);
		p.cursor_rowid = last;
	}
	assert_true(bundles >= 2);
	assert_int_equal(rows, NRECS);
	for (i = 0; i < PK_NELEM(allowed_patterns); i++)
		assert_int_equal(seen[i], 1);
}

static void
test_out_bad_args(void **state)
{
	struct fx *f = *state;
	struct hub_peer p;
	char err[128] = "";
	int64_t last = -1;

	peer_default(&p);
	assert_null(hub_share_bundle(f->hf.st, &p, &sharing, 100, 5, NOW, &last,
	    NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
	assert_int_equal(last, 0);
	p.send_seq = 0;
	err[0] = '\0';
	assert_null(hub_share_bundle(f->hf.st, &p, &sharing, 100, 5000, NOW,
	    &last, NULL, err, sizeof(err)));
	assert_true(err[0] != '\0');
}

/* ---- in: the round trip -------------------------------------------------- */

static struct hub_share_limits lim = { 1 << 20, 200, HUB_TLP_AMBER };

static const struct hub_shared *
item(const struct hub_share_in *in, const char *kind, const char *value)
{
	size_t i;

	for (i = 0; i < in->nitems; i++)
		if (strcmp(in->items[i].kind, kind) == 0 &&
		    strcmp(in->items[i].value, value) == 0)
			return &in->items[i];
	return NULL;
}

static void
test_roundtrip(void **state)
{
	struct fx *f = *state;
	struct hub_share_out_stats st;
	struct hub_share_in in;
	struct hub_peer p;
	const struct hub_shared *s;
	char err[256] = "", *txt;
	int64_t last;
	json_t *b;

	peer_default(&p);
	p.send_min_severity = 0;
	p.send_kinds = HUB_PEER_KINDS_ALL;
	b = out(f, &p, 2500, 5000, &last, &st);
	assert_non_null(b);
	txt = json_dumps(b, JSON_COMPACT);
	assert_int_equal(hub_share_parse(txt, strlen(txt), &lim, NOW, &in,
	    err, sizeof(err)), 0);
	assert_int_equal(in.seq, 7);
	assert_string_equal(in.origin, "State CERT Example");
	assert_int_equal(in.nrefused, 0);
	assert_int_equal(in.nitems, st.indicators);
	assert_int_equal(in.nitems, 7);
	/* the worm fingerprint, the value every member's hosts share */
	assert_non_null(item(&in, "fingerprint", FPW));
	s = item(&in, "domain", "evil.example");
	assert_non_null(s);
	assert_int_equal(s->tlp, HUB_TLP_GREEN);
	assert_int_equal(s->count, 2);
	assert_int_equal(s->hosts, 1);
	assert_string_equal(s->origin, "State CERT Example");
	assert_string_equal(s->rule_ids, "[\"picket.ioc.domain\"]");
	assert_int_equal(s->first_received_us, NOW);
	assert_int_equal(s->last_received_us, NOW);
	assert_true(strncmp(s->stix_id, "indicator--", 11) == 0);
	s = item(&in, "ipv4", "203.0.113.5");
	assert_non_null(s);
	assert_int_equal(s->tlp, HUB_TLP_CLEAR);
	assert_non_null(item(&in, "ipv4", "198.51.100.7"));
	assert_non_null(item(&in, "ipv4", "203.0.113.99"));
	assert_non_null(item(&in, "domain", "low.example"));
	/* the escapes undone */
	assert_non_null(item(&in, "url", "http://evil.example/a'b\\c"));
	hub_share_in_free(&in);
	/* a stricter receiver: GREEN in, the same GREEN bundle passes, a
	 * CLEAR-only receiver refuses the GREEN domain and fingerprint */
	lim.accept_tlp = HUB_TLP_CLEAR;
	assert_int_equal(hub_share_parse(txt, strlen(txt), &lim, NOW, &in,
	    err, sizeof(err)), 0);
	assert_int_equal(in.nitems, 5);
	/* the two indicators and their sightings */
	assert_int_equal(in.nrefused, 4);
	assert_null(item(&in, "domain", "evil.example"));
	assert_null(item(&in, "fingerprint", FPW));
	hub_share_in_free(&in);
	lim.accept_tlp = HUB_TLP_AMBER;
	free(txt);
	json_decref(b);
}

/* ---- in: objects one by one ---------------------------------------------- */

#define BUNDLE_ID	"bundle--6f3d2bd5-a5c4-4d4b-9f0b-3b7b5b1c7f11"
#define IDENT_ID	"identity--0b0c63b5-83a4-5d6b-8a5e-2bb0b6d11e01"
#define MARK(t)		hub_tlp_marking_id(HUB_TLP_##t)

static char idbuf[64][64];

static const char *
oid(const char *type, int n)
{
	static int k;
	char *b = idbuf[k++ % 64];

	snprintf(b, 64, "%s--00000000-0000-4000-8000-%012d", type, n);
	return b;
}

static json_t *
bundle_new(void)
{
	json_t *b = json_pack("{s:s, s:s, s:i, s:[{s:s, s:s, s:s, s:s}]}",
	    "type", "bundle", "id", BUNDLE_ID, "x_picket_sequence", 5,
	    "objects", "type", "identity", "spec_version", "2.1", "id",
	    IDENT_ID, "name", "Other CERT");

	assert_non_null(b);
	return b;
}

static json_t *
ind_new(int n, const char *pattern, const char *mark)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
	    "indicator", "spec_version", "2.1", "id", oid("indicator", n),
	    "pattern", pattern, "pattern_type", "stix");

	assert_non_null(o);
	if (mark != NULL)
		json_object_set_new(o, "object_marking_refs",
		    json_pack("[s]", mark));
	return o;
}

static json_t *
sig_new(int n, int of)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:[s]}",
	    "type", "sighting", "spec_version", "2.1", "id",
	    oid("sighting", n), "sighting_of_ref", oid("indicator", of),
	    "count", 3, "x_picket_hosts", 2, "object_marking_refs",
	    MARK(GREEN));

	assert_non_null(o);
	return o;
}

static void
add(json_t *b, json_t *o)
{
	assert_int_equal(json_array_append_new(json_object_get(b, "objects"),
	    o), 0);
}

/* Parse b (consumed): 0 / -1, in filled. */
static int
parse(json_t *b, struct hub_share_in *in, char *err, size_t errlen)
{
	char *s = json_dumps(b, JSON_COMPACT);
	int rc;

	assert_non_null(s);
	json_decref(b);
	rc = hub_share_parse(s, strlen(s), &lim, NOW, in, err, errlen);
	free(s);
	return rc;
}

/* One object in a bundle: refused, with a reason containing why. */
static void
refused_one(json_t *o, const char *why)
{
	struct hub_share_in in;
	char err[256] = "";
	json_t *b = bundle_new();

	add(b, o);
	if (parse(b, &in, err, sizeof(err)) != 0)
		fail_msg("bundle refused whole: %s", err);
	if (in.nrefused != 1 || in.nitems != 0)
		fail_msg("expected one refusal (%s), got %zu refused, %zu "
		    "taken%s%s", why, in.nrefused, in.nitems,
		    in.nrefused ? ": " : "",
		    in.nrefused ? in.refused[0].reason : "");
	if (strstr(in.refused[0].reason, why) == NULL)
		fail_msg("reason \"%s\", expected \"%s\"",
		    in.refused[0].reason, why);
	hub_share_in_free(&in);
}

/* One indicator: taken, as (kind, value). */
static void
taken_one(json_t *o, const char *kind, const char *value)
{
	struct hub_share_in in;
	char err[256] = "";
	json_t *b = bundle_new();

	add(b, o);
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	if (in.nitems != 1)
		fail_msg("expected %s %s taken: %s", kind, value,
		    in.nrefused ? in.refused[0].reason : "?");
	assert_int_equal(in.nrefused, 0);
	assert_string_equal(in.items[0].kind, kind);
	assert_string_equal(in.items[0].value, value);
	hub_share_in_free(&in);
}

static void
refused_pattern(const char *pattern, const char *why)
{
	refused_one(ind_new(1, pattern, MARK(GREEN)), why);
}

static void
taken_pattern(const char *pattern, const char *kind, const char *value)
{
	taken_one(ind_new(1, pattern, MARK(GREEN)), kind, value);
}

static void
test_in_identity(void **state)
{
	struct hub_share_in in;
	char err[256], longname[200];
	json_t *b;

	(void)state;
	/* the one identity names the origin */
	b = bundle_new();
	add(b, ind_new(1, "[domain-name:value = 'evil.example']",
	    MARK(GREEN)));
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_string_equal(in.origin, "Other CERT");
	assert_string_equal(in.items[0].origin, "Other CERT");
	hub_share_in_free(&in);
	/* a second one is refused, the first stays */
	b = bundle_new();
	add(b, json_pack("{s:s, s:s, s:s}", "type", "identity", "id",
	    "identity--0b0c63b5-83a4-5d6b-8a5e-2bb0b6d11e02", "name",
	    "Impostor"));
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nrefused, 1);
	assert_string_equal(in.origin, "Other CERT");
	assert_non_null(strstr(in.refused[0].reason, "more than one"));
	hub_share_in_free(&in);
	/* a name too long for an origin, a bad id */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	b = json_pack("{s:s, s:s, s:i, s:[{s:s, s:s, s:s}]}", "type",
	    "bundle", "id", BUNDLE_ID, "x_picket_sequence", 1, "objects",
	    "type", "identity", "id", IDENT_ID, "name", longname);
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nrefused, 1);
	assert_string_equal(in.origin, "");
	hub_share_in_free(&in);
	refused_one(json_pack("{s:s, s:s, s:s}", "type", "identity", "id",
	    "identity--x", "name", "x"), "bad id");
}

static void
test_in_markings(void **state)
{
	struct hub_share_in in;
	char err[256];
	json_t *b;
	int t;

	(void)state;
	/* the five TLP 2.0 definitions are taken (even RED's: it is the
	 * objects marked with it that are refused) */
	b = bundle_new();
	for (t = 0; t < HUB_TLP__N; t++)
		add(b, json_pack("{s:s, s:s, s:s}", "type",
		    "marking-definition", "id", hub_tlp_marking_id(t),
		    "name", hub_tlp_name(t)));
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nrefused, 0);
	assert_int_equal(in.nitems, 0);
	hub_share_in_free(&in);
	refused_one(json_pack("{s:s, s:s}", "type", "marking-definition",
	    "id", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"),
	    "unknown marking");
	/* on indicators */
	refused_one(ind_new(1, "[domain-name:value = 'evil.example']", NULL),
	    "no TLP marking");
	refused_one(ind_new(1, "[domain-name:value = 'evil.example']",
	    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"),
	    "unknown marking");
	refused_one(ind_new(1, "[domain-name:value = 'evil.example']",
	    MARK(RED)), "TLP:RED");
	refused_one(ind_new(1, "[domain-name:value = 'evil.example']",
	    MARK(AMBER_STRICT)), "above");
	b = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_array_append_new(json_object_get(b, "object_marking_refs"),
	    json_string(MARK(CLEAR)));
	refused_one(b, "more than one marking");
	/* up to accept_tlp: AMBER taken, with its level */
	b = bundle_new();
	add(b, ind_new(1, "[domain-name:value = 'evil.example']",
	    MARK(AMBER)));
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nitems, 1);
	assert_int_equal(in.items[0].tlp, HUB_TLP_AMBER);
	hub_share_in_free(&in);
}

static void
test_in_indicator_fields(void **state)
{
	struct hub_share_in in;
	char err[256], rule[300];
	json_t *o, *rules, *b;
	int i;

	(void)state;
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set_new(o, "id", json_string("indicator--1234"));
	refused_one(o, "bad id");
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set_new(o, "id", json_string("indicator--00000000-0000-"
	    "4000-8000-00000000000A"));
	refused_one(o, "bad id");
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set_new(o, "pattern_type", json_string("sigma"));
	refused_one(o, "pattern_type");
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_del(o, "pattern_type");
	refused_one(o, "pattern_type");
	o = ind_new(1, "x", MARK(GREEN));
	json_object_set_new(o, "pattern", json_integer(5));
	refused_one(o, "no pattern");
	/* the fingerprint: 32 hex, kept lower-case */
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set_new(o, "x_picket_fingerprint",
	    json_string("9F86D081884C7D659A2FEAA0C55AD015"));
	b = bundle_new();
	add(b, o);
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nitems, 1);
	assert_string_equal(in.items[0].fingerprint, FPW);
	hub_share_in_free(&in);
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set_new(o, "x_picket_fingerprint",
	    json_string("9f86d081884c7d659a2feaa0c55ad01"));
	refused_one(o, "x_picket_fingerprint");
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set_new(o, "x_picket_fingerprint", json_integer(1));
	refused_one(o, "x_picket_fingerprint");
	/* rule ids: 16 of 256 bytes pass, 17 or 257 bytes do not */
	memset(rule, 'r', 256);
	rule[256] = '\0';
	rules = json_array();
	for (i = 0; i < 16; i++)
		json_array_append_new(rules, json_string(rule));
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set(o, "x_picket_rule_ids", rules);
	b = bundle_new();
	add(b, o);
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nitems, 1);
	assert_int_equal(strlen(in.items[0].rule_ids), 16 * 259 + 1);
	hub_share_in_free(&in);
	json_array_append_new(rules, json_string("one.more"));
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set_new(o, "x_picket_rule_ids", rules);
	refused_one(o, "x_picket_rule_ids");
	rule[256] = 'r';
	rule[257] = '\0';
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set_new(o, "x_picket_rule_ids", json_pack("[s]", rule));
	refused_one(o, "x_picket_rule_ids");
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set_new(o, "x_picket_rule_ids", json_pack("[i]", 1));
	refused_one(o, "x_picket_rule_ids");
	/* any string over 1,024 bytes, wherever it is */
	{
		char big[1100];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		o = ind_new(1, "[domain-name:value = 'evil.example']",
		    MARK(GREEN));
		json_object_set_new(o, "description", json_string(big));
		refused_one(o, "over 1024");
		o = ind_new(1, "[domain-name:value = 'evil.example']",
		    MARK(GREEN));
		json_object_set_new(o, "labels", json_pack("[{s:[s]}]", "x",
		    big));
		refused_one(o, "over 1024");
	}
	/* one id once */
	b = bundle_new();
	add(b, ind_new(1, "[domain-name:value = 'evil.example']",
	    MARK(GREEN)));
	add(b, ind_new(1, "[domain-name:value = 'other.example']",
	    MARK(GREEN)));
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nitems, 1);
	assert_int_equal(in.nrefused, 1);
	assert_string_equal(in.items[0].value, "evil.example");
	assert_non_null(strstr(in.refused[0].reason, "duplicate id"));
	assert_string_equal(in.refused[0].id, oid("indicator", 1));
	hub_share_in_free(&in);
}

static void
test_in_patterns(void **state)
{
	(void)state;
	/* the five forms, spaces optional, values made canonical */
	taken_pattern("[ipv4-addr:value = '203.0.113.5']", "ipv4",
	    "203.0.113.5");
	taken_pattern("[ipv4-addr:value='203.0.113.0/24']", "ipv4",
	    "203.0.113.0/24");
	taken_pattern("[ipv4-addr:value = '203.0.113.77/16']", "ipv4",
	    "203.0.0.0/16");
	taken_pattern("[ipv6-addr:value = '2001:DB8:0::1']", "ipv6",
	    "2001:db8::1");
	taken_pattern("[ipv6-addr:value = '2001:db8::/32']", "ipv6",
	    "2001:db8::/32");
	taken_pattern("[domain-name:value = 'Evil.Example']", "domain",
	    "evil.example");
	taken_pattern("[domain-name:value = 'a-b.xn--p1ai']", "domain",
	    "a-b.xn--p1ai");
	taken_pattern("[url:value = 'HTTPS://Evil.Example:8443/A?b=C']", "url",
	    "https://evil.example:8443/A?b=C");
	taken_pattern("[url:value = 'ftp://user@203.0.113.5/x']", "url",
	    "ftp://user@203.0.113.5/x");
	taken_pattern("[url:value = 'http://[2001:db8::1]:80/']", "url",
	    "http://[2001:db8::1]:80/");
	taken_pattern("[url:value = 'http://evil.example/a\\'b\\\\c']", "url",
	    "http://evil.example/a'b\\c");
	taken_pattern("[file:hashes.'SHA-256' = '" SHA "']", "sha256",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* other forms */
	refused_pattern("[domain-name:value = 'evil.example' OR "
	    "domain-name:value = 'b.example']", "not one comparison");
	refused_pattern("[domain-name:value = 'evil.example'] AND "
	    "[domain-name:value = 'b.example']", "not one comparison");
	refused_pattern("[domain-name:value != 'evil.example']",
	    "not one comparison");
	refused_pattern("[domain-name:value LIKE 'evil.%']",
	    "not one comparison");
	refused_pattern("[domain-name:value MATCHES '.*']",
	    "not one comparison");
	refused_pattern("[domain-name:value = 'evil.example'] WITHIN 5 "
	    "SECONDS", "not one comparison");
	refused_pattern("domain-name:value = 'evil.example'",
	    "not one comparison");
	refused_pattern("[domain-name:value = 'evil.example'",
	    "not one comparison");
	refused_pattern("[domain-name:value = \"evil.example\"]",
	    "not one comparison");
	refused_pattern("[network-traffic:dst_port = 445]", "path");
	taken_pattern("[x-picket-fingerprint:value = '" FPW "']", "fingerprint",
	    FPW);
	refused_pattern("[x-picket-fingerprint:value = 'abc123']",
	    "not a valid fingerprint");
	refused_pattern("[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
	    "path");
	refused_pattern("[domain-name:valuex = 'evil.example']", "path");
	refused_pattern("[url:value = 'http://evil.example/\\x']",
	    "bad escape");
	refused_pattern("[url:value = 'http://evil.example/\\']",
	    "not one comparison");
	refused_pattern("[domain-name:value = '']", "empty");
	/* values not valid for their type */
	refused_pattern("[ipv4-addr:value = '203.0.113.256']", "not a valid");
	refused_pattern("[ipv4-addr:value = '2001:db8::1']", "not a valid");
	refused_pattern("[ipv4-addr:value = '203.0.113.5/33']", "not a valid");
	refused_pattern("[ipv6-addr:value = '203.0.113.5']", "not a valid");
	refused_pattern("[ipv6-addr:value = '2001:db8:::1']", "not a valid");
	refused_pattern("[domain-name:value = 'evil..example']", "not a valid");
	refused_pattern("[domain-name:value = 'evil example.org']",
	    "not a valid");
	refused_pattern("[domain-name:value = '10.0.0.5']", "not a valid");
	refused_pattern("[domain-name:value = 'evil.example.']",
	    "not a valid");
	{
		char p[400], lab[70];

		memset(lab, 'a', 64);
		lab[64] = '\0';
		snprintf(p, sizeof(p), "[domain-name:value = '%s.example']",
		    lab);
		refused_pattern(p, "not a valid");
	}
	refused_pattern("[url:value = 'gopher://evil.example/']",
	    "not a valid");
	refused_pattern("[url:value = 'javascript:alert(1)']", "not a valid");
	refused_pattern("[url:value = 'http://evil.example/a b']",
	    "not a valid");
	refused_pattern("[url:value = 'http://167772165/']", "not a valid");
	refused_pattern("[url:value = 'http://evil.example:99999/']",
	    "not a valid");
	refused_pattern("[file:hashes.'SHA-256' = '" SHA "0']", "64 hex");
}

/* Each "matching too much" case of docs/peering.md, and its edge. */
static void
test_in_too_much(void **state)
{
	(void)state;
	refused_pattern("[ipv4-addr:value = '203.0.0.0/15']",
	    "matches too much");
	refused_pattern("[ipv4-addr:value = '0.0.0.0/0']", "matches too much");
	taken_pattern("[ipv4-addr:value = '203.0.0.0/16']", "ipv4",
	    "203.0.0.0/16");
	refused_pattern("[ipv6-addr:value = '2001:db8::/31']",
	    "matches too much");
	refused_pattern("[ipv6-addr:value = '::/0']", "matches too much");
	taken_pattern("[ipv6-addr:value = '2001:db8::/32']", "ipv6",
	    "2001:db8::/32");
	refused_pattern("[domain-name:value = 'example']", "matches too much");
	refused_pattern("[domain-name:value = 'com']", "matches too much");
	taken_pattern("[domain-name:value = 'example.com']", "domain",
	    "example.com");
	refused_pattern("[url:value = 'http:///etc/passwd']",
	    "matches too much");
	refused_pattern("[url:value = 'http://']", "matches too much");
	refused_pattern("[url:value = 'https://user@/x']", "matches too much");
	refused_pattern("[file:hashes.'SHA-256' = 'e3b0c442']",
	    "matches too much");
	refused_pattern("[file:hashes.'SHA-256' = '" "g3b0c44298fc1c149afbf4c8"
	    "996fb92427ae41e4649b934ca495991b7852b855" "']",
	    "matches too much");
}

static void
test_in_sightings(void **state)
{
	struct hub_share_in in;
	char err[256];
	json_t *b, *s;

	(void)state;
	/* before or after its indicator: counts attached */
	b = bundle_new();
	add(b, sig_new(1, 1));
	add(b, ind_new(1, "[domain-name:value = 'evil.example']",
	    MARK(GREEN)));
	add(b, ind_new(2, "[domain-name:value = 'b.example']", MARK(CLEAR)));
	add(b, sig_new(2, 2));
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nrefused, 0);
	assert_int_equal(in.nitems, 2);
	assert_int_equal(in.items[0].count, 3);
	assert_int_equal(in.items[0].hosts, 2);
	assert_int_equal(in.items[0].tlp, HUB_TLP_GREEN);
	/* the sighting's GREEN makes the CLEAR indicator's row GREEN */
	assert_int_equal(in.items[1].tlp, HUB_TLP_GREEN);
	hub_share_in_free(&in);
	/* of an indicator not in the bundle, or refused */
	refused_one(sig_new(1, 9), "not a sighting of an indicator");
	b = bundle_new();
	add(b, ind_new(1, "[domain-name:value = 'com']", MARK(GREEN)));
	add(b, sig_new(1, 1));
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nitems, 0);
	assert_int_equal(in.nrefused, 2);
	assert_non_null(strstr(in.refused[1].reason, "not a sighting"));
	hub_share_in_free(&in);
	/* numbers that are not, pseudonyms that are not */
	s = sig_new(1, 1);
	json_object_set_new(s, "count", json_string("3"));
	b = bundle_new();
	add(b, ind_new(1, "[domain-name:value = 'evil.example']",
	    MARK(GREEN)));
	add(b, s);
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nitems, 1);
	assert_int_equal(in.nrefused, 1);
	assert_int_equal(in.items[0].count, 0);
	assert_non_null(strstr(in.refused[0].reason, "integers"));
	hub_share_in_free(&in);
	{
		static const char *const bad[] = { "x_picket_hosts", "count",
		    "x_picket_host_pseudonyms", "x_picket_host_pseudonyms",
		    "x_picket_host_pseudonyms", "object_marking_refs" };
		json_t *v[6];
		size_t i;

		v[0] = json_integer(-1);
		v[1] = json_real(2.5);
		v[2] = json_pack("[s]", "h-0123456789abcdeg");
		v[3] = json_pack("[s]", "ws-secret-01");
		v[4] = json_string("h-0123456789abcdef");
		v[5] = json_pack("[s]", MARK(RED));
		for (i = 0; i < PK_NELEM(bad); i++) {
			s = sig_new(1, 1);
			json_object_set_new(s, bad[i], v[i]);
			b = bundle_new();
			add(b, ind_new(1, "[domain-name:value = "
			    "'evil.example']", MARK(GREEN)));
			add(b, s);
			assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
			if (in.nrefused != 1 || in.nitems != 1)
				fail_msg("sighting with bad %s taken", bad[i]);
			hub_share_in_free(&in);
		}
	}
	/* good pseudonyms pass; a second sighting of one indicator not */
	s = sig_new(1, 1);
	json_object_set_new(s, "x_picket_host_pseudonyms",
	    json_pack("[s,s]", "h-0123456789abcdef", "h-fedcba9876543210"));
	b = bundle_new();
	add(b, ind_new(1, "[domain-name:value = 'evil.example']",
	    MARK(GREEN)));
	add(b, s);
	add(b, sig_new(2, 1));
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nitems, 1);
	assert_int_equal(in.nrefused, 1);
	assert_non_null(strstr(in.refused[0].reason, "second sighting"));
	hub_share_in_free(&in);
}

static void
test_in_other_objects(void **state)
{
	struct hub_share_in in;
	char err[256];
	json_t *b;

	(void)state;
	refused_one(json_pack("{s:s, s:s}", "type", "malware", "id",
	    "malware--00000000-0000-4000-8000-000000000001"), "type malware");
	refused_one(json_pack("{s:s, s:s}", "type", "relationship", "id",
	    "relationship--00000000-0000-4000-8000-000000000001"),
	    "not accepted");
	refused_one(json_pack("{s:s}", "id", "x"), "no type");
	refused_one(json_pack("{s:i}", "type", 3), "no type");
	refused_one(json_string("indicator"), "not an object");
	refused_one(json_pack("[]"), "not an object");
	/* 150 refusals: all counted, 100 listed, ids echoed */
	b = bundle_new();
	{
		int i;

		for (i = 0; i < 150; i++)
			add(b, ind_new(i, "[domain-name:value = 'com']",
			    MARK(GREEN)));
	}
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	assert_int_equal(in.nrefused, 150);
	assert_int_equal(in.nrefused_listed, 100);
	assert_string_equal(in.refused[99].id, oid("indicator", 99));
	hub_share_in_free(&in);
}

/* ---- in: bundles refused whole ------------------------------------------- */

static void
whole(const char *text, const char *why)
{
	struct hub_share_in in;
	char err[256] = "";

	if (hub_share_parse(text, strlen(text), &lim, NOW, &in, err,
	    sizeof(err)) != -1)
		fail_msg("bundle taken (%s expected): %.80s", why, text);
	if (strstr(err, why) == NULL)
		fail_msg("error \"%s\", expected \"%s\"", err, why);
	assert_null(in.items);
	assert_null(in.refused);
}

#define B(rest)	"{\"type\":\"bundle\",\"id\":\"" BUNDLE_ID "\"" rest "}"

static void
test_in_whole(void **state)
{
	struct hub_share_in in;
	char err[256], *big;
	size_t i, n;
	int rc;

	(void)state;
	/* a bundle that is fine, as text */
	rc = hub_share_parse(B(",\"x_picket_sequence\":3,\"objects\":[]"),
	    strlen(B(",\"x_picket_sequence\":3,\"objects\":[]")), &lim, NOW,
	    &in, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_int_equal(in.seq, 3);
	hub_share_in_free(&in);
	whole("", "not JSON");
	whole("{", "not JSON");
	whole("nonsense", "not JSON");
	whole(B(",\"x_picket_sequence\":3,\"objects\":[]") " trailing",
	    "not JSON");
	whole("[]", "not a JSON object");
	whole("\"bundle\"", "not JSON");	/* jansson: not an array/object */
	whole("{\"type\":\"report\",\"id\":\"" BUNDLE_ID "\","
	    "\"x_picket_sequence\":1,\"objects\":[]}", "not a STIX bundle");
	whole("{\"type\":[\"bundle\"],\"id\":\"" BUNDLE_ID "\","
	    "\"x_picket_sequence\":1,\"objects\":[]}", "not a STIX bundle");
	whole("{\"type\":\"bundle\",\"id\":\"bundle--1\","
	    "\"x_picket_sequence\":1,\"objects\":[]}", "bad bundle id");
	whole("{\"type\":\"bundle\",\"id\":\"indicator--00000000-0000-4000-"
	    "8000-000000000001\",\"x_picket_sequence\":1,\"objects\":[]}",
	    "bad bundle id");
	/* duplicate keys, at the top and inside an object */
	whole(B(",\"x_picket_sequence\":3,\"x_picket_sequence\":4,"
	    "\"objects\":[]"), "duplicate");
	whole(B(",\"x_picket_sequence\":3,\"objects\":[{\"type\":\"a\","
	    "\"type\":\"b\"}]"), "duplicate");
	/* the sequence */
	whole(B(",\"objects\":[]"), "no x_picket_sequence");
	whole(B(",\"x_picket_sequence\":0,\"objects\":[]"), "positive");
	whole(B(",\"x_picket_sequence\":-4,\"objects\":[]"), "positive");
	whole(B(",\"x_picket_sequence\":\"17\",\"objects\":[]"), "positive");
	whole(B(",\"x_picket_sequence\":17.0,\"objects\":[]"), "positive");
	whole(B(",\"x_picket_sequence\":null,\"objects\":[]"), "positive");
	whole(B(",\"x_picket_sequence\":99999999999999999999999,"
	    "\"objects\":[]"), "not JSON");
	/* objects */
	whole(B(",\"x_picket_sequence\":3"), "no objects");
	whole(B(",\"x_picket_sequence\":3,\"objects\":{}"), "no objects");
	/* a string over 1,024 bytes outside the objects */
	n = 1100;
	big = malloc(n + 200);
	assert_non_null(big);
	i = (size_t)snprintf(big, 200, "{\"type\":\"bundle\",\"id\":\""
	    BUNDLE_ID "\",\"x_picket_sequence\":3,\"objects\":[],\"x\":\"");
	memset(big + i, 'a', n);
	memcpy(big + i + n, "\"}", 3);
	whole(big, "over 1024");
	free(big);
}

static void
test_in_limits(void **state)
{
	struct hub_share_in in;
	struct hub_share_limits small = { 200, 2, HUB_TLP_GREEN };
	const char *deep9 = B(",\"x_picket_sequence\":3,\"objects\":[{\"a\":"
	    "[[[[[[1]]]]]]}]");
	const char *deep8 = B(",\"x_picket_sequence\":3,\"objects\":[{\"a\":"
	    "[[[[[1]]]]]}]");
	/* brackets in strings, and an escaped quote before them, are not
	 * nesting */
	const char *str = B(",\"x_picket_sequence\":3,\"objects\":[{\"a\":"
	    "\"\\\"[[[[[[[[[[{{{{{{{{\\\\\"}]");
	char err[256], *huge;
	size_t i;

	(void)state;
	whole(deep9, "nesting deeper than 8");
	assert_int_equal(hub_share_parse(deep8, strlen(deep8), &lim, NOW, &in,
	    err, sizeof(err)), 0);
	/* not a usable object, but the bundle is read */
	assert_int_equal(in.nrefused, 1);
	hub_share_in_free(&in);
	assert_int_equal(hub_share_parse(str, strlen(str), &lim, NOW, &in,
	    err, sizeof(err)), 0);
	hub_share_in_free(&in);
	/* a deep document is refused before jansson reads it: 100,000
	 * brackets, not even closed */
	huge = malloc(100001);
	assert_non_null(huge);
	memset(huge, '[', 100000);
	huge[100000] = '\0';
	assert_int_equal(hub_share_parse(huge, 100000, &lim, NOW, &in, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "nesting"));
	/* over max_bytes: refused before anything is read */
	assert_int_equal(hub_share_parse(huge, 100000, &small, NOW, &in, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "over 200 bytes"));
	free(huge);
	/* more objects than allowed */
	{
		const char *three = B(",\"x_picket_sequence\":3,\"objects\":"
		    "[1,2,3]");

		small.max_bytes = 1000;
		assert_int_equal(hub_share_parse(three, strlen(three), &small,
		    NOW, &in, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "more than 2 objects"));
	}
	/* RED as a receiver's limit is refused as a setting */
	small.accept_tlp = HUB_TLP_RED;
	assert_int_equal(hub_share_parse("{}", 2, &small, NOW, &in, err,
	    sizeof(err)), -1);
	/* the length is the caller's: bytes after it are not read */
	{
		const char *ok = B(",\"x_picket_sequence\":3,\"objects\":[]");
		char buf[512];

		i = strlen(ok);
		memcpy(buf, ok, i);
		memset(buf + i, '[', 100);
		buf[i + 100] = '\0';
		assert_int_equal(hub_share_parse(buf, i, &lim, NOW, &in, err,
		    sizeof(err)), 0);
		hub_share_in_free(&in);
	}
}


/* ---- payload excerpts ----------------------------------------------------- */

/* An AMBER-or-other fingerprint alert of agent-01 (ws-secret-01) whose
 * picket.details carries excerpt x (raw text, JSON-escaped here). */
static void
put_excerpt_n(struct fx *f, const char *fp, const char *tlp, const char *x,
    size_t xn)
{
	struct rec r = { "agent-01", "ws-secret-01", T0 + 12 * H,
	    "picket.fingerprint.outbound", "10.1.2.3", "198.51.100.20",
	    "outbound", fp, tlp, NULL, NULL, 99 };
	char json[8192], *q, *esc;
	json_t *j;
	size_t n;

	build(&r, json, sizeof(json));
	assert_non_null(j = json_stringn(x, xn));
	assert_non_null(esc = json_dumps(j, JSON_ENCODE_ANY));
	json_decref(j);
	q = strstr(json, "\"details\":{");
	assert_non_null(q);
	q += strlen("\"details\":{");
	n = strlen(q);
	assert_true(strlen(json) + strlen(esc) + 16 < sizeof(json));
	memmove(q + strlen("\"excerpt\":") + strlen(esc) + 1, q, n + 1);
	memcpy(q, "\"excerpt\":", strlen("\"excerpt\":"));
	memcpy(q + strlen("\"excerpt\":"), esc, strlen(esc));
	q[strlen("\"excerpt\":") + strlen(esc)] = ',';
	free(esc);
	assert_int_equal(hubfix_put_json(f->hf.st, json, r.agent, ++f->seq,
	    T0), 1);
}

static void
put_excerpt(struct fx *f, const char *fp, const char *tlp, const char *x)
{
	put_excerpt_n(f, fp, tlp, x, strlen(x));
}

/* Control bytes, a NUL (which JSON carries as \u0000), DEL, U+FFFD as
 * the agent writes an invalid byte, and a backslash. */
static const char clean_raw[] = "GET /w.exe HTTP/1.0\r\n\0\x7f"
    "\xef\xbf\xbd worm \\ end";

/* The indicator of fingerprint fp in bundle b. */
static const json_t *
fp_indicator(const json_t *b, const char *fp)
{
	char pat[128];
	const json_t *objs = json_object_get(b, "objects");
	size_t i;
	json_t *o;

	snprintf(pat, sizeof(pat), "[x-picket-fingerprint:value = '%s']", fp);
	json_array_foreach(objs, i, o)
		if (strcmp(sget(o, "type"), "indicator") == 0 &&
		    strcmp(sget(o, "pattern"), pat) == 0)
			return o;
	fail_msg("no indicator for %s", fp);
	return NULL;
}

static const char *
excerpt_of(const json_t *b, const char *fp)
{
	return json_string_value(json_object_get(fp_indicator(b, fp),
	    "x_picket_excerpt"));
}

#define FX(c)	c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define F_CLEAN		FX("1")
#define F_GREEN		FX("2")
#define F_ADDR		FX("3")
#define F_NAME		FX("4")
#define F_HOST		FX("5")
#define F_STRICT	FX("6")
#define F_LONG		FX("7")
#define F_PCT		FX("8")
#define F_AGENT		FX("9")
#define F_V6		FX("a")
#define F_NEAR		FX("b")

static void
test_out_excerpts(void **state)
{
	struct fx *f = *state;
	struct hub_share_out_stats st;
	struct hub_share_in in;
	struct hub_peer p;
	const struct hub_shared *it;
	char longx[2000], err[256] = "", *txt;
	const char *x;
	int64_t last;
	json_t *b;
	size_t i, n;

	put_excerpt_n(f, F_CLEAN, "TLP:AMBER", clean_raw,
	    sizeof(clean_raw) - 1);
	put_excerpt(f, F_GREEN, "TLP:GREEN", "GREEN payload, never sent");
	put_excerpt(f, F_ADDR, "TLP:AMBER", "GET / HTTP/1.1\r\nHost: "
	    "10.1.2.3:445\r\n");
	put_excerpt(f, F_NAME, "TLP:AMBER", "\\\\FS01.Agency.Example\\IPC$");
	put_excerpt(f, F_HOST, "TLP:AMBER", "user@WS-SECRET-01 login");
	put_excerpt(f, F_STRICT, "TLP:AMBER+STRICT", "strict \x01 payload");
	put_excerpt(f, F_PCT, "TLP:AMBER", "GET /?u=http%3A%2F%2F%31%30.9.9.9/");
	put_excerpt(f, F_AGENT, "TLP:AMBER", "id=Agent-01;");
	put_excerpt(f, F_V6, "TLP:AMBER", "to [fe80::1%eth0]:445");
	/* outside addresses, an address-like version and a stranger's name
	 * that only resembles the internal domain pass */
	put_excerpt(f, F_NEAR, "TLP:AMBER", "from 198.51.100.9 v1.2.3.4 "
	    "agency.com 110.0.0.5");
	/* 700 two-byte characters: cut at 1024 bytes, between two of them */
	for (i = 0; i < 700; i++)
		memcpy(longx + 2 * i, "\xc3\xa9", 2);
	longx[1400] = '\0';
	put_excerpt(f, F_LONG, "TLP:AMBER", longx);

	/* the policy off: no excerpt at all, nothing counted */
	peer_default(&p);
	p.send_tlp = HUB_TLP_AMBER_STRICT;
	p.send_min_severity = 0;
	p.cursor_rowid = f->rowid[NRECS - 1];
	b = out(f, &p, 2500, 5000, &last, &st);
	assert_non_null(b);
	txt = json_dumps(b, JSON_COMPACT);
	assert_null(strstr(txt, "x_picket_excerpt"));
	assert_int_equal(st.excerpts, 0);
	assert_int_equal(st.excerpts_withheld, 0);
	free(txt);
	json_decref(b);

	/* on: AMBER and AMBER+STRICT rows carry theirs, clean ones only */
	p.send_excerpts = 1;
	b = out(f, &p, 2500, 5000, &last, &st);
	assert_non_null(b);
	assert_string_equal(excerpt_of(b, F_CLEAN), "GET /w.exe HTTP/1.0"
	    "\\x0d\\x0a\\x00\\x7f\xef\xbf\xbd worm \\\\ end");
	assert_null(excerpt_of(b, F_GREEN));
	assert_null(excerpt_of(b, F_ADDR));
	assert_null(excerpt_of(b, F_NAME));
	assert_null(excerpt_of(b, F_HOST));
	assert_null(excerpt_of(b, F_PCT));
	assert_null(excerpt_of(b, F_AGENT));
	assert_null(excerpt_of(b, F_V6));
	assert_string_equal(excerpt_of(b, F_STRICT),
	    "strict \\x01 payload");
	assert_string_equal(excerpt_of(b, F_NEAR), "from 198.51.100.9 "
	    "v1.2.3.4 agency.com 110.0.0.5");
	x = excerpt_of(b, F_LONG);
	assert_non_null(x);
	n = strlen(x);
	assert_int_equal(n, 1024);	/* 512 whole characters */
	assert_memory_equal(x, longx, n);
	assert_int_equal(st.excerpts, 4);
	assert_int_equal(st.excerpts_withheld, 6);
	txt = json_dumps(b, JSON_COMPACT);
	check_redacted(txt);
	assert_null(strstr(txt, "GREEN payload"));
	assert_null(strstr(txt, "9.9.9"));
	assert_null(strstr(txt, "fe80"));
	/* the receiver keeps each, as sent */
	lim.accept_tlp = HUB_TLP_AMBER_STRICT;
	assert_int_equal(hub_share_parse(txt, strlen(txt), &lim, NOW, &in,
	    err, sizeof(err)), 0);
	lim.accept_tlp = HUB_TLP_AMBER;
	assert_int_equal(in.nrefused, 0);
	assert_non_null(it = item(&in, "fingerprint", F_STRICT));
	assert_string_equal(it->excerpt, "strict \\x01 payload");
	it = item(&in, "fingerprint", F_CLEAN);
	assert_non_null(it);
	assert_string_equal(it->excerpt, excerpt_of(b, F_CLEAN));
	assert_int_equal(it->tlp, HUB_TLP_AMBER);
	assert_non_null(it = item(&in, "fingerprint", F_LONG));
	assert_int_equal(strlen(it->excerpt), 1024);
	assert_non_null(it = item(&in, "fingerprint", F_ADDR));
	assert_string_equal(it->excerpt, "");
	hub_share_in_free(&in);
	free(txt);
	json_decref(b);

	/* a peer that takes only GREEN gets none, whatever it asks */
	p.send_tlp = HUB_TLP_GREEN;
	b = out(f, &p, 2500, 5000, &last, &st);
	assert_non_null(b);
	txt = json_dumps(b, JSON_COMPACT);
	assert_null(strstr(txt, "x_picket_excerpt"));
	assert_null(excerpt_of(b, F_GREEN));
	free(txt);
	json_decref(b);
}

/* The check on its own: each kind of leak, and text that is none. */
static void
test_text_leaks(void **state)
{
	static const struct { const char *t; int want; } cases[] = {
		{ "plain worm text", HUB_LEAK_NONE },
		{ "x10.0.0.5", HUB_LEAK_ADDR },
		{ "10.0.0.55555", HUB_LEAK_ADDR },	/* 10.0.0.5, .55 */
		{ "a.b 192.168.1.1.", HUB_LEAK_ADDR },
		{ "1.2.3.4 8.8.8.8 300.1.1.1", HUB_LEAK_NONE },
		{ "[::ffff:10.1.1.1]", HUB_LEAK_ADDR },
		{ "fc00::1:", HUB_LEAK_ADDR },
		{ "2001:db8::1 and 12:34:56", HUB_LEAK_NONE },
		{ "%31%39%32.168.0.1", HUB_LEAK_ADDR },
		{ "mail.agency.example.", HUB_LEAK_NAME },
		{ "AGENCY.EXAMPLE", HUB_LEAK_NAME },
		{ "agency%2Eexample", HUB_LEAK_NAME },
		{ "notagency.example", HUB_LEAK_NONE },
		{ "on ws-SECRET-01 today", HUB_LEAK_OWN },
		{ "ws-secret-0", HUB_LEAK_NONE },
	};
	const char *own[] = { "ws-secret-01", "", NULL };
	size_t i;
	char err[128];

	(void)state;
	hub_sharing_default(&sharing);
	assert_int_equal(hub_sharing_set_domains(&sharing, "agency.example",
	    err, sizeof(err)), 0);
	for (i = 0; i < PK_NELEM(cases); i++) {
		int got = hub_sharing_text_leaks(&sharing, cases[i].t,
		    strlen(cases[i].t), own, 3);

		if (got != cases[i].want)
			fail_msg("\"%s\": %d, expected %d", cases[i].t, got,
			    cases[i].want);
	}
	/* only n bytes are looked at */
	assert_int_equal(hub_sharing_text_leaks(&sharing, "ok 10.0.0.1", 3,
	    own, 3), HUB_LEAK_NONE);
}

/* The receiver: an excerpt only as a string of at most 1,024 bytes, on
 * an indicator marked AMBER or stricter. */
static void
test_in_excerpt(void **state)
{
	struct hub_share_in in;
	char big[1100], err[256] = "";
	json_t *o, *b;

	(void)state;
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(GREEN));
	json_object_set_new(o, "x_picket_excerpt", json_string("GET /"));
	refused_one(o, "x_picket_excerpt under a marking below TLP:AMBER");
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(CLEAR));
	json_object_set_new(o, "x_picket_excerpt", json_string(""));
	refused_one(o, "below TLP:AMBER");
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(AMBER));
	json_object_set_new(o, "x_picket_excerpt", json_integer(7));
	refused_one(o, "x_picket_excerpt is not a string");
	memset(big, 'x', 1025);
	big[1025] = '\0';
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(AMBER));
	json_object_set_new(o, "x_picket_excerpt", json_string(big));
	refused_one(o, "over 1024 bytes");
	/* kept: AMBER, exactly 1,024 bytes; AMBER+STRICT too */
	big[1024] = '\0';
	b = bundle_new();
	o = ind_new(1, "[domain-name:value = 'evil.example']", MARK(AMBER));
	json_object_set_new(o, "x_picket_excerpt", json_string(big));
	add(b, o);
	o = ind_new(2, "[domain-name:value = 'evil2.example']",
	    MARK(AMBER_STRICT));
	json_object_set_new(o, "x_picket_excerpt", json_string("SMB \\x00"));
	add(b, o);
	lim.accept_tlp = HUB_TLP_AMBER_STRICT;
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	lim.accept_tlp = HUB_TLP_AMBER;
	assert_int_equal(in.nrefused, 0);
	assert_int_equal(in.nitems, 2);
	assert_string_equal(in.items[0].excerpt, big);
	assert_string_equal(in.items[1].excerpt, "SMB \\x00");
	hub_share_in_free(&in);
	/* without one: empty */
	taken_one(ind_new(1, "[domain-name:value = 'evil.example']",
	    MARK(AMBER)), "domain", "evil.example");
}

/* ---- the answer ---------------------------------------------------------- */

static void
test_answer(void **state)
{
	struct hub_share_in in;
	char err[256];
	const json_t *r, *e;
	json_t *b, *a;
	int i;

	(void)state;
	b = bundle_new();
	add(b, ind_new(1, "[domain-name:value = 'evil.example']",
	    MARK(GREEN)));
	for (i = 0; i < 120; i++)
		add(b, ind_new(100 + i, "[ipv4-addr:value = '0.0.0.0/0']",
		    MARK(GREEN)));
	json_object_set_new(b, "x_picket_sequence", json_integer(17));
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	a = hub_share_answer(&in, 40, 2);
	assert_non_null(a);
	assert_int_equal(json_object_size(a), 4);
	assert_int_equal(json_integer_value(json_object_get(a, "sequence")),
	    17);
	assert_int_equal(json_integer_value(json_object_get(a, "accepted")),
	    40);
	assert_int_equal(json_integer_value(json_object_get(a, "duplicates")),
	    2);
	r = json_object_get(a, "refused");
	assert_true(json_is_array(r));
	assert_int_equal(json_array_size(r), 100);
	e = json_array_get(r, 0);
	assert_int_equal(json_object_size(e), 2);
	assert_string_equal(json_string_value(json_object_get(e, "id")),
	    oid("indicator", 100));
	assert_non_null(strstr(json_string_value(json_object_get(e, "reason")),
	    "IPv4 network shorter than /16"));
	json_decref(a);
	hub_share_in_free(&in);
	/* nothing refused: an empty list */
	b = bundle_new();
	assert_int_equal(parse(b, &in, err, sizeof(err)), 0);
	a = hub_share_answer(&in, 0, 0);
	assert_int_equal(json_array_size(json_object_get(a, "refused")), 0);
	assert_int_equal(json_integer_value(json_object_get(a, "sequence")),
	    5);
	json_decref(a);
	hub_share_in_free(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_out_policy, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_out_wide_policy, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_out_cursor, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_out_small_bundles, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_out_bad_args, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
		    hubfix_teardown),
		cmocka_unit_test(test_in_identity),
		cmocka_unit_test(test_in_markings),
		cmocka_unit_test(test_in_indicator_fields),
		cmocka_unit_test(test_in_patterns),
		cmocka_unit_test(test_in_too_much),
		cmocka_unit_test(test_in_sightings),
		cmocka_unit_test(test_in_other_objects),
		cmocka_unit_test(test_in_whole),
		cmocka_unit_test(test_in_limits),
		cmocka_unit_test(test_answer),
		cmocka_unit_test_setup_teardown(test_out_excerpts, setup,
		    hubfix_teardown),
		cmocka_unit_test(test_text_leaks),
		cmocka_unit_test(test_in_excerpt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
