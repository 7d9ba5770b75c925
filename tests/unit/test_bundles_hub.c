/*
 * test_bundles_hub.c - hub/bundles.c and the store's schema 8 on a real
 * SQLite store in a temporary directory: a refresh makes version 1 from
 * approved rows only, nothing new when nothing changed, a rejection makes
 * version 2, the earliest of two peers' rows keeps a value, rule ids
 * become rule entries, the max_entries cap counts what it leaves out, a
 * rollback withdraws and its content is not issued again until the set
 * changes, retention keeps the newest versions, reach and matches, and
 * the migration from schema 7 keeps the data.  Run by make check-unit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub/bundles.h"
#include "hub/ingest.h"
#include "hub/store.h"
#include "tests/unit/hubfix.h"
#include "transport/bundle.h"
#include "transport/frame.h"

static int
setup(void **state)
{
	return hubfix_setup(state, sizeof(struct hubfix), "bundles_hub");
}

/* Put a row in the state given, received at `received`. */
static void
put(struct hubfix *f, const char *peer, int k, const char *kind,
    const char *value, int64_t received, int state, const char *rules)
{
	struct hub_shared s;
	int is_new;

	memset(&s, 0, sizeof(s));
	snprintf(s.peer, sizeof(s.peer), "%s", peer);
	snprintf(s.origin, sizeof(s.origin), "Member %s", peer);
	snprintf(s.stix_id, sizeof(s.stix_id),
	    "indicator--00000000-0000-4000-8000-%012d", k);
	snprintf(s.kind, sizeof(s.kind), "%s", kind);
	snprintf(s.value, sizeof(s.value), "%s", value);
	snprintf(s.rule_ids, sizeof(s.rule_ids), "%s", rules);
	s.tlp = 1;
	s.first_received_us = s.last_received_us = received;
	s.state = state;
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	assert_int_equal(is_new, 1);
}

struct idrow {
	int64_t	 id;
};

static int
got_id(void *arg, const struct hub_shared *s)
{
	((struct idrow *)arg)->id = s->id;
	return 1;
}

/* The id of peer's row with value. */
static int64_t
id_of(struct hubfix *f, const char *peer, const char *value)
{
	struct hub_shared_filter flt;
	struct idrow r = { 0 };

	memset(&flt, 0, sizeof(flt));
	flt.state = -1;
	flt.peer = peer;
	flt.value = value;
	flt.limit = 1;
	assert_int_equal(f->st->ops->shared_list(f->st, &flt, got_id, &r), 0);
	assert_true(r.id > 0);
	return r.id;
}

static const struct hub_bundle_opts opts = { 20000, 50 };

static struct hub_bundle_result
refresh(struct hubfix *f, const struct hub_bundle_opts *o, int64_t now)
{
	struct hub_bundle_result res;
	char err[HUB_BUNDLE_ERR_MAX];

	assert_int_equal(hub_bundles_refresh(f->st, o, now, &res, err,
	    sizeof(err)), 0);
	return res;
}

struct content {
	char	 text[65536];
	size_t	 len;
	int	 withdrawn;
	uint64_t entries;
};

static int
got_content(void *arg, const struct hub_bundle_row *b)
{
	struct content *c = arg;

	assert_true(b->content_len < sizeof(c->text));
	memcpy(c->text, b->content, b->content_len);
	c->text[b->content_len] = '\0';
	c->len = b->content_len;
	c->withdrawn = b->withdrawn;
	c->entries = b->entries;
	return 1;
}

/* Version v's text, parsed strictly as an agent would. */
static void
parsed(struct hubfix *f, uint64_t v, struct content *c, struct pk_bundle *b)
{
	char err[PK_BUNDLE_ERRLEN];
	int found;

	assert_int_equal(f->st->ops->bundle_get(f->st, v, got_content, c,
	    &found), 0);
	assert_int_equal(found, 1);
	if (pk_bundle_parse(c->text, c->len, PK_BUNDLE_MAX_ENTRIES, b, err,
	    sizeof(err)) != 0)
		fail_msg("bundle %llu does not parse: %s",
		    (unsigned long long)v, err);
	assert_int_equal(b->version, v);
	assert_int_equal(b->n, c->entries);
}

static const struct pk_bundle_entry *
find(const struct pk_bundle *b, int kind, const char *value)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->e[i].kind == kind && strcmp(b->e[i].value, value) == 0)
			return &b->e[i];
	return NULL;
}

static uint64_t
current(struct hubfix *f)
{
	uint64_t cur, max;

	assert_int_equal(f->st->ops->bundle_current(f->st, &cur, &max), 0);
	return cur;
}

static void
decide(struct hubfix *f, int64_t id, int state, int64_t now)
{
	int found;

	assert_int_equal(f->st->ops->shared_decide(f->st, id, state, "alice",
	    now, &found), 0);
	assert_int_equal(found, 1);
}

/* Approved rows only; again with nothing changed: no new version. */
static void
test_refresh_and_reject(void **state)
{
	struct hubfix *f = *state;
	struct hub_bundle_result res;
	struct pk_bundle b;
	struct content c;
	const struct pk_bundle_entry *e;
	int64_t idb;

	/* nothing approved, nothing sent yet: no version at all */
	put(f, "state-a", 1, "domain", "worm.example.org", 1000,
	    HUB_SHARED_PENDING, "[]");
	res = refresh(f, &opts, 5000);
	assert_int_equal(res.made, 0);
	assert_int_equal(current(f), 0);

	put(f, "state-a", 2, "ipv4", "198.51.100.7", 1100,
	    HUB_SHARED_APPROVED, "[]");
	put(f, "state-a", 3, "fingerprint",
	    "3F2A00112233445566778899AABBCCDD", 1200, HUB_SHARED_APPROVED,
	    "[]");
	res = refresh(f, &opts, 6000);
	assert_int_equal(res.made, 1);
	assert_int_equal(res.version, 1);
	assert_int_equal(res.rows, 2);
	assert_int_equal(current(f), 1);
	parsed(f, 1, &c, &b);
	assert_int_equal(b.n, 2);
	assert_null(find(&b, PK_BK_DOMAIN, "worm.example.org"));
	assert_non_null(e = find(&b, PK_BK_IPV4, "198.51.100.7"));
	assert_string_equal(e->origin, "state-a");
	assert_int_equal(e->tlp, PK_BTLP_GREEN);
	assert_int_equal(e->ref, (uint64_t)id_of(f, "state-a",
	    "198.51.100.7"));
	/* stored lower case, as the format wants */
	assert_non_null(find(&b, PK_BK_FINGERPRINT,
	    "3f2a00112233445566778899aabbccdd"));
	pk_bundle_free(&b);

	res = refresh(f, &opts, 7000);
	assert_int_equal(res.made, 0);
	assert_int_equal(res.unchanged, 1);
	assert_int_equal(current(f), 1);

	idb = id_of(f, "state-a", "198.51.100.7");
	decide(f, idb, HUB_SHARED_REJECTED, 8000);
	res = refresh(f, &opts, 9000);
	assert_int_equal(res.made, 1);
	assert_int_equal(res.version, 2);
	parsed(f, 2, &c, &b);
	assert_int_equal(b.n, 1);
	assert_null(find(&b, PK_BK_IPV4, "198.51.100.7"));
	pk_bundle_free(&b);
}

/* Two peers, one value: the earliest received row is the entry; rule ids
 * become rule entries with the row's ref. */
static void
test_dedup_and_rules(void **state)
{
	struct hubfix *f = *state;
	struct hub_bundle_result res;
	struct pk_bundle b;
	struct content c;
	const struct pk_bundle_entry *e;

	/* state-b's row is stored first (lower id) but received later */
	put(f, "state-b", 1, "domain", "worm.example.org", 5000,
	    HUB_SHARED_APPROVED, "[\"sid:2001\"]");
	put(f, "state-a", 2, "domain", "worm.example.org", 1000,
	    HUB_SHARED_APPROVED, "[\"picket.scan.port\", \"sid:2001\"]");
	res = refresh(f, &opts, 6000);
	assert_int_equal(res.made, 1);
	assert_int_equal(res.duplicates, 2);	/* the domain, sid:2001 */
	parsed(f, 1, &c, &b);
	assert_int_equal(b.n, 3);
	assert_non_null(e = find(&b, PK_BK_DOMAIN, "worm.example.org"));
	assert_string_equal(e->origin, "state-a");
	assert_int_equal(e->ref, (uint64_t)id_of(f, "state-a",
	    "worm.example.org"));
	assert_non_null(e = find(&b, PK_BK_RULE, "sid:2001"));
	assert_string_equal(e->origin, "state-a");
	assert_non_null(e = find(&b, PK_BK_RULE, "picket.scan.port"));
	assert_int_equal(e->ref, (uint64_t)id_of(f, "state-a",
	    "worm.example.org"));
	pk_bundle_free(&b);
}

/* Over max_entries the newest entries are left out and counted. */
static void
test_cap(void **state)
{
	struct hubfix *f = *state;
	struct hub_bundle_opts small = { 3, 50 };
	struct hub_bundle_result res;
	struct pk_bundle b;
	struct content c;
	char v[64];
	int i;

	for (i = 0; i < 5; i++) {
		snprintf(v, sizeof(v), "198.51.100.%d", 10 + i);
		put(f, "state-a", i + 1, "ipv4", v, 1000 + i,
		    HUB_SHARED_APPROVED, "[]");
	}
	res = refresh(f, &small, 9000);
	assert_int_equal(res.made, 1);
	assert_int_equal(res.over_cap, 2);
	assert_int_equal(res.entries, 3);
	parsed(f, 1, &c, &b);
	assert_non_null(find(&b, PK_BK_IPV4, "198.51.100.10"));
	assert_non_null(find(&b, PK_BK_IPV4, "198.51.100.12"));
	assert_null(find(&b, PK_BK_IPV4, "198.51.100.13"));
	assert_null(find(&b, PK_BK_IPV4, "198.51.100.14"));
	pk_bundle_free(&b);
}

/* Rollback withdraws; the same content is not made again until the
 * approved set changes. */
static void
test_rollback(void **state)
{
	struct hubfix *f = *state;
	struct hub_bundle_result res;
	struct pk_bundle b;
	struct content c;
	uint64_t wd, cur;

	put(f, "state-a", 1, "domain", "one.example.org", 1000,
	    HUB_SHARED_APPROVED, "[]");
	assert_int_equal(refresh(f, &opts, 2000).version, 1);
	put(f, "state-a", 2, "domain", "two.example.org", 3000,
	    HUB_SHARED_APPROVED, "[]");
	assert_int_equal(refresh(f, &opts, 4000).version, 2);

	assert_int_equal(hub_bundles_rollback(f->st, "alice", 5000, &wd,
	    &cur), 0);
	assert_int_equal(wd, 2);
	assert_int_equal(cur, 1);
	parsed(f, 2, &c, &b);
	assert_int_equal(c.withdrawn, 1);
	pk_bundle_free(&b);

	res = refresh(f, &opts, 6000);
	assert_int_equal(res.made, 0);
	assert_int_equal(res.withdrawn, 1);
	assert_int_equal(current(f), 1);

	put(f, "state-a", 3, "domain", "three.example.org", 7000,
	    HUB_SHARED_APPROVED, "[]");
	res = refresh(f, &opts, 8000);
	assert_int_equal(res.made, 1);
	assert_int_equal(res.version, 3);

	/* back to none */
	assert_int_equal(hub_bundles_rollback(f->st, "alice", 9000, &wd,
	    &cur), 0);
	assert_int_equal(wd, 3);
	assert_int_equal(cur, 1);
	assert_int_equal(hub_bundles_rollback(f->st, "alice", 9100, &wd,
	    &cur), 0);
	assert_int_equal(wd, 1);
	assert_int_equal(cur, 0);
	assert_int_equal(hub_bundles_rollback(f->st, "alice", 9200, &wd,
	    &cur), 0);
	assert_int_equal(wd, 0);
}

struct vrows {
	uint64_t	 v[16];
	size_t		 n;
};

static int
got_version(void *arg, const struct hub_bundle_row *b)
{
	struct vrows *r = arg;

	if (r->n < 16)
		r->v[r->n++] = b->version;
	assert_null(b->content);
	return 0;
}

static int
count_member(void *arg, int64_t id)
{
	(void)id;
	(*(int *)arg)++;
	return 0;
}

/* keep = 2: the two newest versions stay, with their members. */
static void
test_retention(void **state)
{
	struct hubfix *f = *state;
	struct hub_bundle_opts keep2 = { 20000, 2 };
	struct hub_bundle_result res;
	struct vrows r;
	char v[64];
	int i, n = 0;

	for (i = 0; i < 4; i++) {
		snprintf(v, sizeof(v), "host%d.example.org", i);
		put(f, "state-a", i + 1, "domain", v, 1000 + i,
		    HUB_SHARED_APPROVED, "[]");
		res = refresh(f, &keep2, 2000 + i);
		assert_int_equal(res.made, 1);
		assert_int_equal(res.version, (uint64_t)i + 1);
	}
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->bundle_list(f->st, 0, got_version, &r),
	    0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.v[0], 4);
	assert_int_equal(r.v[1], 3);
	/* members of version 1 went with it, version 4's are there */
	assert_int_equal(f->st->ops->bundle_members(f->st, 1, 0, count_member,
	    &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(f->st->ops->bundle_members(f->st, 4, 0, count_member,
	    &n), 0);
	assert_int_equal(n, 4);
}

/* APPLIED reports give reach; picket.shared.ref gives matches. */
struct abs {
	struct hub_agent_bundle	 v[4];
	size_t			 n;
};

static int
abs_row(void *arg, const struct hub_agent_bundle *a)
{
	struct abs *x = arg;

	if (x->n == 4)
		return 1;
	x->v[x->n++] = *a;
	return 0;
}

static void
test_reach_and_matches(void **state)
{
	struct hubfix *f = *state;
	struct abs abs;
	struct hub_agent_bundle a;
	struct hub_shared_reach r;
	char json[1024];
	int64_t id;
	int n = 0, found;

	put(f, "state-a", 1, "domain", "worm.example.org", 1000,
	    HUB_SHARED_APPROVED, "[]");
	assert_int_equal(refresh(f, &opts, 2000).version, 1);
	id = id_of(f, "state-a", "worm.example.org");
	assert_int_equal(f->st->ops->bundle_members(f->st, 1, 0, count_member,
	    &n), 0);
	assert_int_equal(n, 1);

	memset(&a, 0, sizeof(a));
	snprintf(a.agent_id, sizeof(a.agent_id), "agent-1");
	a.running = 1;
	a.outcome = PK_AO_APPLIED;
	a.reported_us = a.applied_us = 3000;
	assert_int_equal(f->st->ops->agent_bundle_put(f->st, &a, 1), 0);
	snprintf(a.agent_id, sizeof(a.agent_id), "agent-2");
	a.running = 0;
	a.outcome = PK_AO_REFUSED;
	snprintf(a.reason, sizeof(a.reason), "line 5: bad");
	a.reported_us = 3500;
	a.applied_us = 0;
	assert_int_equal(f->st->ops->agent_bundle_put(f->st, &a, 1), 0);
	assert_int_equal(f->st->ops->agent_bundle_get(f->st, "agent-2", &a,
	    &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(a.outcome, PK_AO_REFUSED);
	assert_string_equal(a.reason, "line 5: bad");

	snprintf(json, sizeof(json), "{\"@timestamp\":\"2026-01-02T10:00:00Z\","
	    "\"event\":{\"kind\":\"alert\",\"severity\":70},\"rule\":{\"id\":"
	    "\"picket.ioc.domain\",\"name\":\"IOC\",\"ruleset\":\"picket\"},"
	    "\"network\":{\"direction\":\"outbound\"},\"picket\":{\"fingerprint"
	    "\":\"00112233445566778899aabbccddeeff\",\"first_seen\":"
	    "\"2026-01-02T10:00:00Z\",\"last_seen\":\"2026-01-02T10:00:00Z\","
	    "\"count\":1,\"shared\":{\"ref\":%lld,\"origin\":\"state-a\","
	    "\"bundle\":1}}}", (long long)id);
	assert_int_equal(hubfix_put_json(f->st, json, "agent-1", 1, 4000), 1);
	/* a malformed ref is no match */
	snprintf(json, sizeof(json), "{\"@timestamp\":\"2026-01-02T11:00:00Z\","
	    "\"event\":{\"kind\":\"alert\",\"severity\":70},\"rule\":{\"id\":"
	    "\"picket.ioc.domain\",\"name\":\"IOC\",\"ruleset\":\"picket\"},"
	    "\"network\":{\"direction\":\"outbound\"},\"picket\":{\"fingerprint"
	    "\":\"00112233445566778899aabbccddeeff\",\"first_seen\":"
	    "\"2026-01-02T10:00:00Z\",\"last_seen\":\"2026-01-02T10:00:00Z\","
	    "\"count\":1,\"shared\":{\"ref\":\"%lld\"}}}", (long long)id);
	assert_int_equal(hubfix_put_json(f->st, json, "agent-1", 2, 4100), 1);

	assert_int_equal(f->st->ops->shared_reach(f->st, id, &r), 0);
	assert_int_equal(r.first_bundle, 1);
	assert_int_equal(r.hosts, 1);		/* the refusal is no reach */
	assert_int_equal(r.first_reached_us, 3000);
	assert_int_equal(r.matches, 1);
	assert_int_equal(r.match_hosts, 1);
	assert_true(r.first_match_us > 0);
	assert_int_equal(r.first_match_us, r.last_match_us);
	/* the whole list, by agent id (the hosts page reads it once; "B"
	 * sorts before "a" bytewise on both backends) */
	snprintf(a.agent_id, sizeof(a.agent_id), "B-agent");
	a.outcome = PK_AO_APPLIED;
	a.running = 1;
	a.reason[0] = '\0';
	assert_int_equal(f->st->ops->agent_bundle_put(f->st, &a, 1), 0);
	memset(&abs, 0, sizeof(abs));
	assert_int_equal(f->st->ops->agent_bundles(f->st, abs_row, &abs), 0);
	assert_int_equal(abs.n, 3);
	assert_string_equal(abs.v[0].agent_id, "B-agent");
	assert_string_equal(abs.v[1].agent_id, "agent-1");
	assert_int_equal(abs.v[1].running, 1);
	assert_int_equal(abs.v[1].applied_us, 3000);
	assert_string_equal(abs.v[2].agent_id, "agent-2");
	assert_string_equal(abs.v[2].reason, "line 5: bad");
}

/* A schema 7 database upgrades with its rows. */
static void
test_migration_from_7(void **state)
{
	struct hubfix *f = *state;
	struct hub_host h;
	int v, found;

	assert_int_equal(f->st->ops->host_seen(f->st, "old-agent", "old-host",
	    0, 100), 0);
	put(f, "state-a", 1, "domain", "old.example.org", 1000,
	    HUB_SHARED_APPROVED, "[]");
	hubfix_downgrade(f, "DROP TABLE shared_rule_ids; "
	    "DROP TABLE bundles; DROP TABLE bundle_members; "
	    "DROP TABLE agent_bundle; DROP TABLE agent_bundle_events; "
	    "DROP INDEX indicators_shared; DROP INDEX shared_received; "
	    "DROP INDEX shared_decided; "
	    "ALTER TABLE indicators DROP COLUMN shared_ref; "
	    "ALTER TABLE shared_indicators DROP COLUMN excerpt; "
	    "ALTER TABLE peers DROP COLUMN send_excerpts; "
	    "UPDATE schema_version SET version = 7");
	assert_int_equal(f->st->ops->schema_version(f->st, &v), 0);
	assert_int_equal(v, HUB_SCHEMA_VERSION);
	assert_int_equal(f->st->ops->host_get(f->st, "old-agent", &h,
	    &found), 0);
	assert_int_equal(found, 1);
	assert_string_equal(h.host_name, "old-host");
	/* the kept approved row makes the first bundle */
	assert_int_equal(refresh(f, &opts, 2000).version, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refresh_and_reject,
		    setup, hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_dedup_and_rules, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_reach_and_matches, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_7, setup,
		    hubfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
