/*
 * test_peerstore.c - the store's schema-6 operations (docs/peering.md)
 * on a real SQLite file: peers added (a second time refused as a
 * duplicate), read, listed by name, updated with and without a new CA,
 * removed; a push's progress (sent, cursor only, error, received) and a
 * cursor that never goes back; alerts_after over indicators stored
 * through the insert op (row id order, not time order; non-alerts and
 * duplicates skipped; the limit; rows of an open group committed before
 * they are read); shared indicators kept once per (peer, STIX id) with
 * the analyst's state surviving a resend, listed with each filter and
 * paged, decided; schema 9's payload excerpts (a peer's send_excerpts,
 * a row's excerpt) and the rule id index (filled by shared_put, replaced
 * when a row is sent again, back-filled when a schema-8 file is
 * upgraded); a schema-5 database migrated with its rows kept; and
 * the [peering] options of hub.ini (defaults, durations, sizes, the
 * listen address's shape, refusals).
 * Run by make check-unit and check-asan.
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


#include "hub/config.h"
#include "hub/ingest.h"
#include "hub/store.h"
#include "tests/unit/hubfix.h"

#define CA_PEM	"-----BEGIN CERTIFICATE-----\nMIIB\n" \
	"-----END CERTIFICATE-----\n"
#define CA_HASH	"3f0b1c6a9d6e0c3f1d2a8f5e7b4c9a1d2e3f405162738495a6b7c8d9e0f1a2b3"

static const char REC_FMT[] =
    "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"%s\",\"category\":"
    "[\"network\"],\"type\":[\"indicator\"],\"severity\":%d},"
    "\"host\":{\"id\":\"h\",\"name\":\"ws-1\"},\"rule\":{\"id\":"
    "\"picket.scan.port\",\"name\":\"Port scan\",\"ruleset\":"
    "\"picket-builtin\"},\"source\":{\"ip\":\"10.0.0.1\"},"
    "\"network\":{\"transport\":\"tcp\",\"direction\":\"outbound\"},"
    "\"picket\":{\"seq\":%d,\"count\":1,\"first_seen\":\"%s\","
    "\"last_seen\":\"%s\",\"fingerprint\":"
    "\"0123456789abcdef0123456789abcdef\"}}";

static int
setup(void **state)
{
	return hubfix_setup(state, sizeof(struct hubfix), "peerstore");
}

static void
mkpeer(struct hub_peer *p, const char *name)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->url, sizeof(p->url), "https://%s.example:7444", name);
	p->ca_pem = CA_PEM;
	p->ca_len = strlen(CA_PEM);
	snprintf(p->ca_sha256, sizeof(p->ca_sha256), "%s", CA_HASH);
	p->enabled = 1;
	p->send_tlp = 1;		/* green */
	p->send_min_severity = 0;
	p->send_kinds = HUB_PEER_KINDS_ALL;
	p->accept_tlp = 2;		/* amber */
	p->created_us = 1000;
	/* progress the store must ignore on add */
	p->cursor_rowid = 77;
	p->send_seq = 9;
	p->bundles_sent = 5;
}

/* A copy of the peer the store hands over, CA included. */
struct got {
	int		 n;
	struct hub_peer	 p[4];
	char		 ca[4][256];
};

static int
got_peer(void *arg, const struct hub_peer *p)
{
	struct got *g = arg;

	if (g->n < 4) {
		g->p[g->n] = *p;
		snprintf(g->ca[g->n], sizeof(g->ca[0]), "%.*s",
		    (int)p->ca_len, p->ca_pem);
		g->p[g->n].ca_pem = NULL;	/* the statement's: gone */
	}
	g->n++;
	return 0;
}

static struct got
get(struct hubfix *f, const char *name, int *found)
{
	struct got g;

	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->peer_get(f->st, name, got_peer, &g,
	    found), 0);
	return g;
}

static void
test_peer_crud(void **state)
{
	struct hubfix *f = *state;
	struct hub_peer p;
	struct got g;
	int dup = -1, found = -1;

	mkpeer(&p, "state-b");
	assert_int_equal(f->st->ops->peer_add(f->st, &p, &dup), 0);
	assert_int_equal(dup, 0);
	mkpeer(&p, "county-a");
	p.enabled = 0;
	p.auto_approve = 1;
	p.send_kinds = 0x5;
	p.send_excerpts = 1;
	assert_int_equal(f->st->ops->peer_add(f->st, &p, &dup), 0);
	assert_int_equal(dup, 0);
	/* the same name again: nothing stored */
	snprintf(p.url, sizeof(p.url), "https://other.example:1");
	assert_int_equal(f->st->ops->peer_add(f->st, &p, &dup), 0);
	assert_int_equal(dup, 1);

	g = get(f, "county-a", &found);
	assert_int_equal(found, 1);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.p[0].url, "https://county-a.example:7444");
	assert_string_equal(g.ca[0], CA_PEM);
	assert_int_equal(g.p[0].ca_len, strlen(CA_PEM));
	assert_string_equal(g.p[0].ca_sha256, CA_HASH);
	assert_int_equal(g.p[0].enabled, 0);
	assert_int_equal(g.p[0].auto_approve, 1);
	assert_int_equal(g.p[0].send_kinds, 0x5);
	assert_int_equal(g.p[0].send_excerpts, 1);
	assert_int_equal(g.p[0].send_tlp, 1);
	assert_int_equal(g.p[0].accept_tlp, 2);
	assert_int_equal(g.p[0].created_us, 1000);
	/* progress starts at zero, the sequence at 1 */
	assert_int_equal(g.p[0].cursor_rowid, 0);
	assert_int_equal(g.p[0].send_seq, 1);
	assert_int_equal(g.p[0].bundles_sent, 0);
	assert_int_equal(g.p[0].recv_seq, 0);
	assert_string_equal(g.p[0].last_error, "");

	g = get(f, "nobody", &found);
	assert_int_equal(found, 0);
	assert_int_equal(g.n, 0);

	/* the list is by name */
	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->peer_list(f->st, got_peer, &g), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.p[0].name, "county-a");
	assert_string_equal(g.p[1].name, "state-b");

	/* update without a CA keeps it */
	mkpeer(&p, "state-b");
	p.ca_pem = NULL;
	snprintf(p.ca_sha256, sizeof(p.ca_sha256), "ignored");
	snprintf(p.url, sizeof(p.url), "https://b2.example:7445");
	p.send_min_severity = 60;
	p.send_tlp = 3;
	p.enabled = 0;
	assert_int_equal(get(f, "state-b", &found).p[0].send_excerpts, 0);
	p.send_excerpts = 1;
	assert_int_equal(f->st->ops->peer_update(f->st, &p, &found), 0);
	assert_int_equal(found, 1);
	g = get(f, "state-b", &found);
	assert_int_equal(g.p[0].send_excerpts, 1);
	assert_string_equal(g.p[0].url, "https://b2.example:7445");
	assert_string_equal(g.ca[0], CA_PEM);
	assert_string_equal(g.p[0].ca_sha256, CA_HASH);
	assert_int_equal(g.p[0].send_min_severity, 60);
	assert_int_equal(g.p[0].send_tlp, 3);
	assert_int_equal(g.p[0].enabled, 0);
	/* ... with one replaces both the PEM and its hash */
	p.ca_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n"
	    "-----END CERTIFICATE-----\n";
	p.ca_len = strlen(p.ca_pem);
	snprintf(p.ca_sha256, sizeof(p.ca_sha256), "%064d", 7);
	assert_int_equal(f->st->ops->peer_update(f->st, &p, &found), 0);
	g = get(f, "state-b", &found);
	assert_string_equal(g.ca[0], p.ca_pem);
	assert_string_equal(g.p[0].ca_sha256, p.ca_sha256);
	snprintf(p.name, sizeof(p.name), "nobody");
	assert_int_equal(f->st->ops->peer_update(f->st, &p, &found), 0);
	assert_int_equal(found, 0);

	/* remove, and a second time finds nothing; it survives a reopen */
	assert_int_equal(f->st->ops->peer_remove(f->st, "county-a", &found),
	    0);
	assert_int_equal(found, 1);
	assert_int_equal(f->st->ops->peer_remove(f->st, "county-a", &found),
	    0);
	assert_int_equal(found, 0);
	hubfix_reopen(f);
	memset(&g, 0, sizeof(g));
	assert_int_equal(f->st->ops->peer_list(f->st, got_peer, &g), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.p[0].name, "state-b");
	/* the name is free again */
	mkpeer(&p, "county-a");
	assert_int_equal(f->st->ops->peer_add(f->st, &p, &dup), 0);
	assert_int_equal(dup, 0);
}

static void
test_peer_progress(void **state)
{
	struct hubfix *f = *state;
	struct hub_peer p;
	struct got g;
	char longerr[HUB_PEER_ERR_MAX + 100];
	int dup, found;

	mkpeer(&p, "b");
	assert_int_equal(f->st->ops->peer_add(f->st, &p, &dup), 0);
	/* a failed push: the error only */
	assert_int_equal(f->st->ops->peer_error(f->st, "b",
	    "connect: refused"), 0);
	g = get(f, "b", &found);
	assert_string_equal(g.p[0].last_error, "connect: refused");
	assert_int_equal(g.p[0].cursor_rowid, 0);
	assert_int_equal(g.p[0].send_seq, 1);
	assert_int_equal(g.p[0].last_push_us, 0);

	/* a 200 for sequence 1, 40 indicators, rows up to 120 */
	assert_int_equal(f->st->ops->peer_sent(f->st, "b", 120, 2, 40, 5000),
	    0);
	g = get(f, "b", &found);
	assert_int_equal(g.p[0].cursor_rowid, 120);
	assert_int_equal(g.p[0].send_seq, 2);
	assert_int_equal(g.p[0].last_push_us, 5000);
	assert_string_equal(g.p[0].last_error, "");
	assert_int_equal(g.p[0].bundles_sent, 1);
	assert_int_equal(g.p[0].indicators_sent, 40);
	assert_int_equal(f->st->ops->peer_sent(f->st, "b", 130, 3, 2, 6000),
	    0);
	g = get(f, "b", &found);
	assert_int_equal(g.p[0].bundles_sent, 2);
	assert_int_equal(g.p[0].indicators_sent, 42);

	/* nothing to send: the cursor alone moves, never backwards */
	assert_int_equal(f->st->ops->peer_cursor(f->st, "b", 200), 0);
	assert_int_equal(f->st->ops->peer_cursor(f->st, "b", 150), 0);
	g = get(f, "b", &found);
	assert_int_equal(g.p[0].cursor_rowid, 200);
	assert_int_equal(g.p[0].send_seq, 3);
	assert_int_equal(g.p[0].bundles_sent, 2);
	assert_int_equal(g.p[0].last_push_us, 6000);

	/* an error longer than the field is cut to it */
	memset(longerr, 'e', sizeof(longerr) - 1);
	longerr[sizeof(longerr) - 1] = '\0';
	assert_int_equal(f->st->ops->peer_error(f->st, "b", longerr), 0);
	g = get(f, "b", &found);
	assert_int_equal(strlen(g.p[0].last_error), HUB_PEER_ERR_MAX);
	assert_int_equal(g.p[0].cursor_rowid, 200);

	/* received: sequence, bundles, indicators, refusals */
	assert_int_equal(f->st->ops->peer_received(f->st, "b", 1, 10, 2), 0);
	assert_int_equal(f->st->ops->peer_received(f->st, "b", 2, 5, 1), 0);
	g = get(f, "b", &found);
	assert_int_equal(g.p[0].recv_seq, 2);
	assert_int_equal(g.p[0].bundles_received, 2);
	assert_int_equal(g.p[0].indicators_received, 15);
	assert_int_equal(g.p[0].objects_refused, 3);
	/* values a column cannot hold are refused */
	assert_int_equal(f->st->ops->peer_received(f->st, "b", UINT64_MAX, 0,
	    0), -1);
	assert_int_equal(f->st->ops->peer_sent(f->st, "b", 1, UINT64_MAX, 0,
	    0), -1);
	g = get(f, "b", &found);
	assert_int_equal(g.p[0].recv_seq, 2);
}

/* Store one indicator through hub_extract and the insert op, as ingest
 * does: *is_new back. */
static int
put(struct hubfix *f, const char *agent, uint64_t seq, const char *kind,
    const char *ts, int sev)
{
	char rec[2048];

	snprintf(rec, sizeof(rec), REC_FMT, ts, kind, sev, (int)seq, ts, ts);
	return hubfix_put_json(f->st, rec, agent, seq, 1);
}

struct rows {
	int		 n;
	int64_t		 rowid[32];
	uint64_t	 seq[32];
	char		 agent[32][HUB_ID_MAX + 1];
	int		 stop_after;	/* 0: never */
};

static int
got_row(void *arg, int64_t rowid, const struct hub_indicator *d)
{
	struct rows *r = arg;

	assert_string_equal(d->event_kind, "alert");
	assert_true(d->json_len > 0 && d->json[0] == '{');
	if (r->n < 32) {
		r->rowid[r->n] = rowid;
		r->seq[r->n] = d->seq;
		snprintf(r->agent[r->n], sizeof(r->agent[0]), "%s",
		    d->agent_id);
	}
	r->n++;
	return r->stop_after != 0 && r->n >= r->stop_after;
}

static struct rows
after(struct hubfix *f, int64_t rowid, uint64_t limit)
{
	struct rows r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->alerts_after(f->st, rowid, limit,
	    got_row, &r), 0);
	return r;
}

static void
test_alerts_after(void **state)
{
	struct hubfix *f = *state;
	struct rows r, r2;
	int i;

	r = after(f, 0, 0);
	assert_int_equal(r.n, 0);
	/* Stored in this order; @timestamp goes backwards, so the time
	 * order is the reverse of the storing order. */
	assert_int_equal(put(f, "a1", 1, "alert", "2026-01-02T10:00:09Z", 70),
	    1);
	assert_int_equal(put(f, "a2", 1, "alert", "2026-01-02T10:00:08Z", 70),
	    1);
	assert_int_equal(put(f, "a1", 2, "event", "2026-01-02T10:00:07Z", 10),
	    1);
	assert_int_equal(put(f, "a1", 3, "alert", "2026-01-02T10:00:06Z", 30),
	    1);
	/* a resent record stores nothing and takes no row id */
	assert_int_equal(put(f, "a2", 1, "alert", "2026-01-02T10:00:08Z", 70),
	    0);
	assert_int_equal(put(f, "a3", 7, "alert", "2026-01-02T10:00:05Z", 90),
	    1);

	r = after(f, 0, 0);
	assert_int_equal(r.n, 4);	/* the "event" row is not an alert */
	assert_string_equal(r.agent[0], "a1");
	assert_int_equal(r.seq[0], 1);
	assert_string_equal(r.agent[1], "a2");
	assert_string_equal(r.agent[2], "a1");
	assert_int_equal(r.seq[2], 3);
	assert_string_equal(r.agent[3], "a3");
	for (i = 1; i < 4; i++)
		assert_true(r.rowid[i] > r.rowid[i - 1]);
	/* the skipped non-alert used a row id between them */
	assert_true(r.rowid[2] - r.rowid[1] == 2);

	/* the limit, and the cursor continuing from the last row id */
	r = after(f, 0, 2);
	assert_int_equal(r.n, 2);
	r2 = after(f, r.rowid[1], 2);
	assert_int_equal(r2.n, 2);
	assert_string_equal(r2.agent[0], "a1");
	assert_int_equal(r2.seq[0], 3);
	assert_string_equal(r2.agent[1], "a3");
	r2 = after(f, r2.rowid[1], 2);
	assert_int_equal(r2.n, 0);
	/* a callback that stops ends the read */
	memset(&r, 0, sizeof(r));
	r.stop_after = 1;
	assert_int_equal(f->st->ops->alerts_after(f->st, 0, 0, got_row, &r),
	    0);
	assert_int_equal(r.n, 1);

	/* a newer row comes after the older ones whatever its time */
	assert_int_equal(put(f, "a0", 1, "alert", "2020-01-01T00:00:00Z", 50),
	    1);
	r = after(f, 0, 0);
	assert_int_equal(r.n, 5);
	assert_string_equal(r.agent[4], "a0");
	/* row ids survive a reopen */
	hubfix_reopen(f);
	r2 = after(f, 0, 0);
	assert_int_equal(r2.n, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(r2.rowid[i], r.rowid[i]);
}

/* Rows of an open group are committed before alerts_after reads them:
 * a cursor may move past them, so they must be durable. */
static void
test_alerts_after_commits_the_group(void **state)
{
	struct hubfix *f = *state;
	struct rows r;

	assert_int_equal(f->st->ops->group_join(f->st), 0);
	assert_int_equal(put(f, "g1", 1, "alert", "2026-01-02T10:00:00Z", 70),
	    1);
	/* another connection cannot see the group's row yet */
	assert_int_equal(hubfix_sql_int(f, "SELECT count(*) FROM indicators"),
	    0);
	r = after(f, 0, 0);
	assert_int_equal(r.n, 1);
	/* now it can: the read committed the group */
	assert_int_equal(hubfix_sql_int(f, "SELECT count(*) FROM indicators"),
	    1);
	/* and the group's outcome is still reported as success */
	assert_int_equal(f->st->ops->group_commit(f->st), 0);
}

struct srows {
	int		 n;
	struct hub_shared s[8];
};

static int
got_shared(void *arg, const struct hub_shared *s)
{
	struct srows *r = arg;

	if (r->n < 8)
		r->s[r->n] = *s;
	r->n++;
	return 0;
}

static void
mkshared(struct hub_shared *s, const char *peer, int k, const char *kind,
    const char *value, int64_t now)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	snprintf(s->origin, sizeof(s->origin), "Member %s", peer);
	snprintf(s->stix_id, sizeof(s->stix_id),
	    "indicator--00000000-0000-4000-8000-%012d", k);
	snprintf(s->kind, sizeof(s->kind), "%s", kind);
	snprintf(s->value, sizeof(s->value), "%s", value);
	snprintf(s->rule_ids, sizeof(s->rule_ids), "[\"picket.scan.port\"]");
	s->tlp = 1;
	s->hosts = 3;
	s->count = 10;
	s->first_received_us = now;
	s->last_received_us = now;
	s->state = HUB_SHARED_PENDING;
}

static struct srows
list(struct hubfix *f, const struct hub_shared_filter *flt)
{
	struct srows r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->shared_list(f->st, flt, got_shared, &r),
	    0);
	return r;
}

static void
test_shared_put_and_decide(void **state)
{
	struct hubfix *f = *state;
	struct hub_shared s;
	struct hub_shared_filter flt;
	struct srows r;
	int is_new = -1, found = -1;
	int64_t id;

	mkshared(&s, "b", 1, "ipv4", "198.51.100.7", 100);
	snprintf(s.fingerprint, sizeof(s.fingerprint), "%s",
	    "0123456789abcdef0123456789abcdef");
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	assert_int_equal(is_new, 1);
	memset(&flt, 0, sizeof(flt));
	flt.state = -1;
	r = list(f, &flt);
	assert_int_equal(r.n, 1);
	id = r.s[0].id;
	assert_true(id > 0);
	assert_string_equal(r.s[0].peer, "b");
	assert_string_equal(r.s[0].origin, "Member b");
	assert_string_equal(r.s[0].stix_id, s.stix_id);
	assert_string_equal(r.s[0].kind, "ipv4");
	assert_string_equal(r.s[0].value, "198.51.100.7");
	assert_string_equal(r.s[0].fingerprint,
	    "0123456789abcdef0123456789abcdef");
	assert_string_equal(r.s[0].rule_ids, "[\"picket.scan.port\"]");
	assert_int_equal(r.s[0].tlp, 1);
	assert_int_equal(r.s[0].hosts, 3);
	assert_int_equal(r.s[0].count, 10);
	assert_int_equal(r.s[0].state, HUB_SHARED_PENDING);
	assert_string_equal(r.s[0].decided_by, "");

	/* an analyst approves it */
	assert_int_equal(f->st->ops->shared_decide(f->st, id,
	    HUB_SHARED_APPROVED, "alice", 150, &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(f->st->ops->shared_decide(f->st, id + 100,
	    HUB_SHARED_APPROVED, "alice", 150, &found), 0);
	assert_int_equal(found, 0);
	assert_int_equal(f->st->ops->shared_decide(f->st, id, 7, "alice",
	    150, &found), -1);

	/* sent again, with new counts and a state it must not take */
	mkshared(&s, "b", 1, "ipv4", "198.51.100.7", 200);
	s.hosts = 5;
	s.count = 42;
	s.tlp = 2;
	s.state = HUB_SHARED_PENDING;
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	assert_int_equal(is_new, 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->shared_get(f->st, id, got_shared, &r,
	    &found), 0);
	assert_int_equal(found, 1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.s[0].id, id);
	assert_int_equal(r.s[0].hosts, 5);
	assert_int_equal(r.s[0].count, 42);
	assert_int_equal(r.s[0].tlp, 2);
	assert_int_equal(r.s[0].fingerprint[0], '\0');
	assert_int_equal(r.s[0].first_received_us, 100);
	assert_int_equal(r.s[0].last_received_us, 200);
	assert_int_equal(r.s[0].state, HUB_SHARED_APPROVED);
	assert_string_equal(r.s[0].decided_by, "alice");
	assert_int_equal(r.s[0].decided_us, 150);

	/* the same STIX id from another peer is another row; with
	 * auto-approve it is approved at once */
	mkshared(&s, "c", 1, "ipv4", "198.51.100.7", 300);
	s.state = HUB_SHARED_APPROVED;
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	assert_int_equal(is_new, 1);
	r = list(f, &flt);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.s[0].peer, "c");
	assert_int_equal(r.s[0].state, HUB_SHARED_APPROVED);
	assert_true(r.s[0].id > id);

	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->shared_get(f->st, 9999, got_shared, &r,
	    &found), 0);
	assert_int_equal(found, 0);
	assert_int_equal(r.n, 0);
}

struct sent_rows {
	struct hub_sent_value	 v[8];
	size_t			 n;
};

static int
sent_row(void *arg, const struct hub_sent_value *v)
{
	struct sent_rows *r = arg;

	assert_true(r->n < sizeof(r->v) / sizeof(r->v[0]));
	r->v[r->n++] = *v;
	return 0;
}

/* Schema 7: the values each bundle carried, by value, oldest first; the
 * same (peer, seq, value) kept once. */
static void
test_sent_values(void **state)
{
	struct hubfix *f = *state;
	struct hub_sent_value v[3];
	struct sent_rows r;

	memset(v, 0, sizeof(v));
	snprintf(v[0].peer, sizeof(v[0].peer), "state-b");
	v[0].seq = 3;
	snprintf(v[0].kind, sizeof(v[0].kind), "fingerprint");
	snprintf(v[0].value, sizeof(v[0].value), "%s",
	    "9f86d081884c7d659a2feaa0c55ad015");
	v[0].tlp = 1;
	v[0].sent_us = 2000;
	v[1] = v[0];
	snprintf(v[1].kind, sizeof(v[1].kind), "domain");
	snprintf(v[1].value, sizeof(v[1].value), "evil.example");
	v[2] = v[0];
	snprintf(v[2].peer, sizeof(v[2].peer), "state-c");
	v[2].seq = 1;
	v[2].sent_us = 1000;
	assert_int_equal(f->st->ops->sent_add(f->st, v, 3), 0);
	/* the same bundle recorded again: nothing doubles */
	assert_int_equal(f->st->ops->sent_add(f->st, v, 1), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->sent_list(f->st, "fingerprint",
	    "9f86d081884c7d659a2feaa0c55ad015", 0, sent_row, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0].peer, "state-c");	/* sent first */
	assert_int_equal(r.v[0].seq, 1);
	assert_int_equal(r.v[0].sent_us, 1000);
	assert_string_equal(r.v[1].peer, "state-b");
	assert_int_equal(r.v[1].seq, 3);
	assert_int_equal(r.v[1].tlp, 1);
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->sent_list(f->st, "fingerprint",
	    "9f86d081884c7d659a2feaa0c55ad015", 1, sent_row, &r), 0);
	assert_int_equal(r.n, 1);
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->sent_list(f->st, "domain",
	    "evil.example", 0, sent_row, &r), 0);
	assert_int_equal(r.n, 1);
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->sent_list(f->st, "ipv4",
	    "evil.example", 0, sent_row, &r), 0);
	assert_int_equal(r.n, 0);
}

static void
test_shared_list(void **state)
{
	static const struct { const char *peer, *kind, *value; } in[] = {
		{ "b", "ipv4", "198.51.100.7" },
		{ "b", "domain", "Worm.Example.ORG" },
		{ "c", "domain", "c2.example.net" },
		{ "b", "sha256", "ab" },
		{ "c", "url", "http://worm.example.org/x" },
		{ "b", "ipv6", "2001:db8::1" },
	};
	struct hubfix *f = *state;
	struct hub_shared s;
	struct hub_shared_filter flt;
	struct srows r;
	int64_t ids[6];
	size_t i;
	int is_new, found;

	for (i = 0; i < 6; i++) {
		mkshared(&s, in[i].peer, (int)i + 10, in[i].kind, in[i].value,
		    (int64_t)i);
		assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
		assert_int_equal(is_new, 1);
	}
	memset(&flt, 0, sizeof(flt));
	flt.state = -1;
	r = list(f, &flt);
	assert_int_equal(r.n, 6);
	for (i = 0; i < 6; i++) {
		ids[5 - i] = r.s[i].id;	/* newest first */
		assert_string_equal(r.s[i].value, in[5 - i].value);
	}
	/* by peer */
	flt.peer = "c";
	r = list(f, &flt);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.s[0].kind, "url");
	assert_string_equal(r.s[1].kind, "domain");
	/* by kind */
	flt.peer = NULL;
	flt.kind = "domain";
	r = list(f, &flt);
	assert_int_equal(r.n, 2);
	/* kind and peer */
	flt.peer = "b";
	r = list(f, &flt);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.s[0].value, "Worm.Example.ORG");
	/* text, without case, in the value only */
	flt.peer = NULL;
	flt.kind = NULL;
	flt.text = "worm.EXAMPLE";
	r = list(f, &flt);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.s[0].kind, "url");
	assert_string_equal(r.s[1].kind, "domain");
	flt.text = "%";		/* no LIKE wildcards */
	r = list(f, &flt);
	assert_int_equal(r.n, 0);
	flt.text = NULL;
	/* by state */
	assert_int_equal(f->st->ops->shared_decide(f->st, ids[2],
	    HUB_SHARED_REJECTED, "bob", 9, &found), 0);
	assert_int_equal(f->st->ops->shared_decide(f->st, ids[4],
	    HUB_SHARED_APPROVED, "bob", 9, &found), 0);
	flt.state = HUB_SHARED_PENDING;
	r = list(f, &flt);
	assert_int_equal(r.n, 4);
	flt.state = HUB_SHARED_REJECTED;
	r = list(f, &flt);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.s[0].id, ids[2]);
	assert_string_equal(r.s[0].decided_by, "bob");
	/* pages of two, each after the previous page's last id */
	flt.state = -1;
	flt.limit = 2;
	r = list(f, &flt);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.s[0].id, ids[5]);
	assert_int_equal(r.s[1].id, ids[4]);
	flt.before_id = r.s[1].id;
	r = list(f, &flt);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.s[0].id, ids[3]);
	assert_int_equal(r.s[1].id, ids[2]);
	flt.before_id = r.s[1].id;
	r = list(f, &flt);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.s[1].id, ids[0]);
	flt.before_id = r.s[1].id;
	r = list(f, &flt);
	assert_int_equal(r.n, 0);

	/* removing a peer keeps what it shared, under its name */
	{
		struct hub_peer p;
		int dup;

		mkpeer(&p, "c");
		assert_int_equal(f->st->ops->peer_add(f->st, &p, &dup), 0);
		assert_int_equal(f->st->ops->peer_remove(f->st, "c", &found),
		    0);
		assert_int_equal(found, 1);
	}
	memset(&flt, 0, sizeof(flt));
	flt.state = -1;
	flt.peer = "c";
	r = list(f, &flt);
	assert_int_equal(r.n, 2);
}

/* A schema-5 database with rows: schema 6's tables gone. */
static void
test_migration_from_5(void **state)
{
	struct hubfix *f = *state;
	struct hub_host h;
	struct hub_peer p;
	struct hub_shared s;
	struct rows r;
	int v, found, dup, is_new;

	assert_int_equal(f->st->ops->host_seen(f->st, "old-agent", "old-host",
	    0, 100), 0);
	assert_int_equal(put(f, "old-agent", 1, "alert",
	    "2026-01-02T10:00:00Z", 70), 1);
	hubfix_downgrade(f, "DROP TABLE shared_rule_ids; "
	    "DROP TABLE bundles; DROP TABLE bundle_members; "
	    "DROP TABLE agent_bundle; DROP TABLE agent_bundle_events; "
	    "DROP INDEX indicators_shared; DROP INDEX shared_received; "
	    "DROP INDEX shared_decided; "
	    "ALTER TABLE indicators DROP COLUMN shared_ref; "
	    "DROP TABLE peer_sent_values; "
	    "DROP TABLE shared_indicators; "
	    "DROP TABLE peers; UPDATE schema_version SET version = 5");
	assert_int_equal(f->st->ops->schema_version(f->st, &v), 0);
	assert_int_equal(v, HUB_SCHEMA_VERSION);
	assert_int_equal(f->st->ops->host_get(f->st, "old-agent", &h,
	    &found), 0);
	assert_int_equal(found, 1);
	assert_string_equal(h.host_name, "old-host");
	/* the old alert is there for a new peer's cursor 0 */
	r = after(f, 0, 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.agent[0], "old-agent");
	/* and the new tables work */
	mkpeer(&p, "b");
	assert_int_equal(f->st->ops->peer_add(f->st, &p, &dup), 0);
	assert_int_equal(dup, 0);
	mkshared(&s, "b", 1, "domain", "worm.example.org", 5);
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	assert_int_equal(is_new, 1);
}

/* The ids of the rows that list rule (newest first), as the outbreak
 * view asks, with other filters as given. */
static struct srows
by_rule(struct hubfix *f, const char *rule, int state)
{
	struct hub_shared_filter flt;

	memset(&flt, 0, sizeof(flt));
	flt.state = state;
	flt.rule_id = rule;
	return list(f, &flt);
}

/* How many rows shared_rule_ids holds, read with SQL. */
static int
rule_rows(struct hubfix *f)
{
	return (int)hubfix_sql_int(f, "SELECT count(*) FROM shared_rule_ids");
}

/*
 * Schema 9: each row's rule ids are rows of shared_rule_ids, put by
 * shared_put and replaced when the row comes again; the list finds rows
 * by rule id (with the other filters); the excerpt is kept and updated.
 */
static void
test_rule_index_and_excerpt(void **state)
{
	struct hubfix *f = *state;
	struct hub_shared s;
	struct srows r;
	int is_new, found;
	int64_t id1;

	mkshared(&s, "b", 1, "ipv4", "198.51.100.7", 100);
	snprintf(s.rule_ids, sizeof(s.rule_ids),
	    "[\"sid:2001\",\"picket.scan.port\"]");
	snprintf(s.excerpt, sizeof(s.excerpt), "GET /worm.exe HTTP/1.1");
	s.tlp = 2;
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	assert_int_equal(is_new, 1);
	mkshared(&s, "c", 2, "domain", "worm.example.org", 200);
	snprintf(s.rule_ids, sizeof(s.rule_ids), "[\"sid:2001\"]");
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	/* not a JSON array: no rule ids, and the put still works */
	mkshared(&s, "c", 3, "domain", "other.example.org", 300);
	snprintf(s.rule_ids, sizeof(s.rule_ids), "sid:2001");
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	assert_int_equal(is_new, 1);
	assert_int_equal(rule_rows(f), 3);

	r = by_rule(f, "sid:2001", -1);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.s[0].peer, "c");	/* newest first */
	assert_string_equal(r.s[1].value, "198.51.100.7");
	assert_string_equal(r.s[1].excerpt, "GET /worm.exe HTTP/1.1");
	assert_string_equal(r.s[0].excerpt, "");
	id1 = r.s[1].id;
	r = by_rule(f, "picket.scan.port", -1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.s[0].id, id1);
	/* exactly the id: neither a prefix nor another case */
	assert_int_equal(by_rule(f, "sid:200", -1).n, 0);
	assert_int_equal(by_rule(f, "SID:2001", -1).n, 0);
	/* with the other filters */
	assert_int_equal(f->st->ops->shared_decide(f->st, id1,
	    HUB_SHARED_REJECTED, "bob", 9, &found), 0);
	r = by_rule(f, "sid:2001", HUB_SHARED_PENDING);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.s[0].peer, "c");

	/* sent again with other rule ids and no excerpt: replaced */
	mkshared(&s, "b", 1, "ipv4", "198.51.100.7", 400);
	snprintf(s.rule_ids, sizeof(s.rule_ids), "[\"sid:3003\"]");
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	assert_int_equal(is_new, 0);
	assert_int_equal(rule_rows(f), 2);
	assert_int_equal(by_rule(f, "picket.scan.port", -1).n, 0);
	r = by_rule(f, "sid:2001", -1);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.s[0].peer, "c");
	r = by_rule(f, "sid:3003", -1);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.s[0].id, id1);
	assert_string_equal(r.s[0].excerpt, "");
	assert_int_equal(r.s[0].state, HUB_SHARED_REJECTED);
	/* and kept across a reopen */
	hubfix_reopen(f);
	assert_int_equal(by_rule(f, "sid:3003", -1).n, 1);
}

/* A schema-8 database: its shared rows' rule ids are indexed by the
 * upgrade, their data kept, the new columns at their defaults. */
static void
test_migration_from_8(void **state)
{
	struct hubfix *f = *state;
	struct hub_shared s;
	struct hub_peer p;
	struct srows r;
	struct got g;
	int v, found, dup, is_new;

	mkpeer(&p, "b");
	assert_int_equal(f->st->ops->peer_add(f->st, &p, &dup), 0);
	mkshared(&s, "b", 1, "ipv4", "198.51.100.7", 100);
	snprintf(s.rule_ids, sizeof(s.rule_ids),
	    "[\"sid:2001\",\"picket.scan.port\"]");
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	mkshared(&s, "b", 2, "domain", "worm.example.org", 200);
	snprintf(s.rule_ids, sizeof(s.rule_ids), "[\"sid:2001\"]");
	s.state = HUB_SHARED_APPROVED;
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	mkshared(&s, "b", 3, "domain", "third.example.org", 300);
	snprintf(s.rule_ids, sizeof(s.rule_ids), "[]");
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	/* a text an older hub could have kept: not an array, no ids */
	mkshared(&s, "b", 4, "domain", "fourth.example.org", 400);
	snprintf(s.rule_ids, sizeof(s.rule_ids), "{\"a\":\"sid:2001\"}");
	assert_int_equal(f->st->ops->shared_put(f->st, &s, &is_new), 0);
	hubfix_downgrade(f, "DROP TABLE shared_rule_ids; "
	    "ALTER TABLE shared_indicators DROP COLUMN excerpt; "
	    "ALTER TABLE peers DROP COLUMN send_excerpts; "
	    "UPDATE schema_version SET version = 8");
	assert_int_equal(f->st->ops->schema_version(f->st, &v), 0);
	assert_int_equal(v, HUB_SCHEMA_VERSION);
	assert_int_equal(rule_rows(f), 3);
	r = by_rule(f, "sid:2001", -1);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.s[0].value, "worm.example.org");
	assert_int_equal(r.s[0].state, HUB_SHARED_APPROVED);
	assert_string_equal(r.s[0].rule_ids, "[\"sid:2001\"]");
	assert_string_equal(r.s[0].excerpt, "");
	assert_string_equal(r.s[1].value, "198.51.100.7");
	assert_int_equal(r.s[1].first_received_us, 100);
	r = by_rule(f, "picket.scan.port", -1);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.s[0].value, "198.51.100.7");
	/* every row is still there, the peer too, excerpts off */
	memset(&r, 0, sizeof(r));
	{
		struct hub_shared_filter flt;

		memset(&flt, 0, sizeof(flt));
		flt.state = -1;
		r = list(f, &flt);
	}
	assert_int_equal(r.n, 4);
	g = get(f, "b", &found);
	assert_int_equal(found, 1);
	assert_int_equal(g.p[0].send_excerpts, 0);
	assert_string_equal(g.p[0].url, "https://b.example:7444");
}


/* [peering] in hub.ini: defaults, units, bounds, a file with errors. */
static void
test_config_peering(void **state)
{
	static const struct { const char *name, *value; } bad[] = {
		{ "push_interval", "0s" },
		{ "push_interval", "2d" },
		{ "push_interval", "soon" },
		{ "max_bundle_bytes", "1k" },
		{ "max_bundle_bytes", "1G" },
		{ "max_bundle_bytes", "-4M" },
		{ "max_bundle_objects", "1" },
		{ "max_bundle_objects", "5000000" },
		{ "max_connections", "0" },
		{ "max_connections", "5000" },
		{ "listen", "7444" },
		{ "listen", "hub:0" },
		{ "listen", "hub:65536" },
		{ "listen", "hub:http" },
		{ "listen", "[::1:7444" },
		{ "listen", ":7444" },
		{ "cafile", "x" },
	};
	struct hub_config c;
	const char *err;
	char path[128], line[256];
	FILE *fp, *errfp;
	size_t i;
	int problems;

	(void)state;
	hub_config_defaults(&c);
	assert_string_equal(c.peering_listen, "");
	assert_string_equal(c.peering_cert, "");
	assert_string_equal(c.peering_key, "");
	assert_int_equal(c.peering_push_interval, 30);
	assert_int_equal(c.peering_max_bundle_bytes, 4 * 1024 * 1024);
	assert_int_equal(c.peering_max_bundle_objects, 5000);
	assert_int_equal(c.peering_max_connections, 64);

	assert_int_equal(hub_config_set(&c, "peering", "push_interval", "5m",
	    &err), 0);
	assert_int_equal(c.peering_push_interval, 300);
	assert_int_equal(hub_config_set(&c, "peering", "push_interval", "45",
	    &err), 0);
	assert_int_equal(c.peering_push_interval, 45);
	assert_int_equal(hub_config_set(&c, "peering", "max_bundle_bytes",
	    "512k", &err), 0);
	assert_int_equal(c.peering_max_bundle_bytes, 512 * 1024);
	assert_int_equal(hub_config_set(&c, "peering", "max_bundle_objects",
	    "200", &err), 0);
	assert_int_equal(c.peering_max_bundle_objects, 200);
	assert_int_equal(hub_config_set(&c, "peering", "max_connections",
	    "8", &err), 0);
	assert_int_equal(c.peering_max_connections, 8);
	assert_int_equal(hub_config_set(&c, "peering", "listen",
	    "0.0.0.0:7444", &err), 0);
	assert_string_equal(c.peering_listen, "0.0.0.0:7444");
	assert_int_equal(hub_config_set(&c, "peering", "listen",
	    "[::1]:7444", &err), 0);
	assert_int_equal(hub_config_set(&c, "peering", "cert",
	    "/etc/picket/peer.crt", &err), 0);
	assert_string_equal(c.peering_cert, "/etc/picket/peer.crt");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_int_equal(hub_config_set(&c, "peering", bad[i].name,
		    bad[i].value, &err), -1);
		assert_non_null(err);
	}
	/* a refused value leaves the previous one */
	assert_int_equal(c.peering_push_interval, 45);
	assert_string_equal(c.peering_listen, "[::1]:7444");

	/* a file: every problem named, with its section and option */
	snprintf(path, sizeof(path), "/tmp/peerconf.%d.ini", (int)getpid());
	assert_non_null(fp = fopen(path, "w"));
	fprintf(fp, "[peering]\nlisten = 127.0.0.1:7444\npush_interval = 2m\n"
	    "max_bundle_bytes = 8M\nmax_bundle_objects = 0\n");
	fclose(fp);
	assert_non_null(errfp = tmpfile());
	assert_int_equal(hub_config_load(&c, path, errfp), -1);
	rewind(errfp);
	problems = 0;
	while (fgets(line, sizeof(line), errfp) != NULL) {
		assert_non_null(strstr(line,
		    "[peering] max_bundle_objects: out of range"));
		problems++;
	}
	fclose(errfp);
	assert_int_equal(problems, 1);
	assert_int_equal(c.peering_push_interval, 120);
	assert_int_equal(c.peering_max_bundle_bytes, 8 * 1024 * 1024);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_peer_crud, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_peer_progress, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_alerts_after, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(
		    test_alerts_after_commits_the_group, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_shared_put_and_decide,
		    setup, hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_sent_values, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_shared_list, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_5, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_rule_index_and_excerpt,
		    setup, hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_8, setup,
		    hubfix_teardown),
		cmocka_unit_test(test_config_peering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
