/*
 * test_hubstore.c - the hub's store and ingest path: schema creation and
 * re-open, inserts with duplicate (agent, seq) ignored, queries by host,
 * time, kind and rule, retention in chunks, a newer schema refused, the
 * JSON reader and field extraction on real indicator lines, and whole
 * BATCH frames (built as an agent builds them) ingested twice, corrupt and
 * with a record that is not an indicator; group commit (several agents'
 * batches in one commit, nothing durable or counted before it, a failed
 * commit storing none, other writers committing the group first) and the
 * import path's one transaction per batch.  Run by make check-unit and
 * check-asan; needs SQLite, so not under wine.
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
#include "hub/jsonread.h"
#include "hub/store.h"
#include "tests/unit/hubfix.h"
#include "transport/batch.h"
#include "transport/frame.h"

static const char REC_FMT[] =
    "{\"@timestamp\":\"%s\",\"event\":{\"kind\":\"%s\",\"category\":"
    "[\"network\"],\"type\":[\"end\",\"indicator\"],\"severity\":%d},"
    "\"host\":{\"id\":\"h\",\"name\":\"ws-%s\"},\"rule\":{\"id\":\"%s\","
    "\"name\":\"Port \\\"scan\\\" \\u00e9\",\"ruleset\":\"picket-builtin\"},"
    "\"source\":{\"ip\":\"10.0.0.%d\"},\"destination\":{\"ip\":"
    "\"192.0.2.1\",\"port\":445},\"network\":{\"transport\":\"tcp\","
    "\"direction\":\"outbound\"},\"picket\":{\"seq\":%d,\"count\":%d,"
    "\"first_seen\":\"%s\",\"last_seen\":\"%s\",\"fingerprint\":"
    "\"0123456789abcdef0123456789abcdef\",\"details\":{\"top_ports\":"
    "[445,139]}}}";

static void
mkrec(char *out, size_t cap, const char *ts, const char *kind,
    const char *host, const char *rule, int n)
{
	snprintf(out, cap, REC_FMT, ts, kind, 73, host, rule, n, n, n + 1,
	    ts, ts);
}

static int
setup(void **state)
{
	return hubfix_setup(state, sizeof(struct hubfix), "hubstore");
}

/* Insert one record through hub_extract, as ingest does. */
static int
put(struct hubfix *f, const char *agent, uint64_t seq, int64_t ingest,
    const char *json)
{
	return hubfix_put_json(f->st, json, agent, seq, ingest);
}

struct rows {
	int		 n;
	uint64_t	 seq[16];
	char		 json[4][2048];
};

static int
collect(void *arg, const struct hub_indicator *d)
{
	struct rows *r = arg;

	if (r->n < 4)
		snprintf(r->json[r->n], sizeof(r->json[0]), "%.*s",
		    (int)d->json_len, d->json);
	if (r->n < 16)
		r->seq[r->n] = d->seq;
	r->n++;
	return 0;
}

static int
count(struct hubfix *f, const struct hub_query *q)
{
	struct rows r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->query(f->st, q, collect, &r), 0);
	return r.n;
}

static void
test_schema_create_reopen(void **state)
{
	struct hubfix *f = *state;
	char rec[2048];
	int v = -1;

	assert_int_equal(f->st->ops->schema_version(f->st, &v), 0);
	assert_int_equal(v, HUB_SCHEMA_VERSION);
	mkrec(rec, sizeof(rec), "2010-04-18T21:41:52.640830Z", "alert", "a",
	    "picket.scan.port", 1);
	assert_int_equal(put(f, "agent-a", 1, 100, rec), 1);
	hubfix_reopen(f);
	assert_int_equal(f->st->ops->schema_version(f->st, &v), 0);
	assert_int_equal(v, HUB_SCHEMA_VERSION);
	struct hub_query q = { 0 };
	assert_int_equal(count(f, &q), 1);
	/* The row survived and a re-insert is still a duplicate. */
	assert_int_equal(put(f, "agent-a", 1, 100, rec), 0);
}

static void
test_newer_schema_refused(void **state)
{
	struct hubfix *f = *state;
	struct hub_store *st2 = NULL;

	f->st->ops->close(f->st);
	f->st = NULL;
	hubfix_sql(f, "UPDATE schema_version SET version = 99");
	assert_int_equal(hubfix_ops()->open(&st2, f->path), -1);
	assert_null(st2);
}

/*
 * A schema 9 store (with the ts_us index that version 10 drops) upgrades
 * with its rows, and time ranges still select them.
 */
static void
test_migration_from_9(void **state)
{
	struct hubfix *f = *state;
	struct hub_query q = { 0 };
	char rec[2048];
	int v = -1;

	mkrec(rec, sizeof(rec), "2010-04-18T21:41:52Z", "alert", "a",
	    "picket.scan.port", 1);
	assert_int_equal(put(f, "agent-a", 1, 100, rec), 1);
	mkrec(rec, sizeof(rec), "2012-04-18T21:41:52Z", "alert", "a",
	    "picket.scan.port", 1);
	assert_int_equal(put(f, "agent-a", 2, 100, rec), 1);
	hubfix_downgrade(f, "CREATE INDEX indicators_ts ON indicators(ts_us);"
	    "UPDATE schema_version SET version = 9");
	assert_int_equal(f->st->ops->schema_version(f->st, &v), 0);
	assert_int_equal(v, HUB_SCHEMA_VERSION);
	assert_int_equal(hubfix_sql_int(f, f->schema[0] != '\0' ?
	    "SELECT count(*) FROM pg_indexes WHERE schemaname = "
	    "current_schema() AND indexname = 'indicators_ts'" :
	    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
	    "name = 'indicators_ts'"), 0);
	assert_int_equal(count(f, &q), 2);
	q.since_us = INT64_C(1293840000000000);	/* 2011-01-01 */
	assert_int_equal(count(f, &q), 1);
}

static void
test_duplicates_ignored(void **state)
{
	struct hubfix *f = *state;
	struct hub_query q = { 0 };
	char rec[2048];

	mkrec(rec, sizeof(rec), "2010-04-18T21:41:52Z", "alert", "a",
	    "picket.scan.port", 1);
	assert_int_equal(put(f, "agent-a", 1, 100, rec), 1);
	assert_int_equal(put(f, "agent-a", 1, 100, rec), 0);
	assert_int_equal(put(f, "agent-a", 2, 100, rec), 1);
	assert_int_equal(put(f, "agent-b", 1, 100, rec), 1);
	assert_int_equal(count(f, &q), 3);
}

static void
test_queries(void **state)
{
	struct hubfix *f = *state;
	struct hub_query q = { 0 };
	char rec[2048];
	int64_t t;

	mkrec(rec, sizeof(rec), "2010-01-01T00:00:00Z", "alert", "a",
	    "picket.scan.port", 1);
	put(f, "agent-a", 1, 1, rec);
	mkrec(rec, sizeof(rec), "2012-01-01T00:00:00.5Z", "metric", "a",
	    "picket.health.capture", 2);
	put(f, "agent-a", 2, 1, rec);
	mkrec(rec, sizeof(rec), "2014-01-01T00:00:00Z", "alert", "b",
	    "sid.2000001", 3);
	put(f, "agent-b", 7, 1, rec);
	assert_int_equal(f->st->ops->host_seen(f->st, "agent-b", "ws-b", 0,
	    5), 0);

	q.host = "agent-a";
	assert_int_equal(count(f, &q), 2);
	q.host = "ws-b";			/* by host name */
	assert_int_equal(count(f, &q), 1);
	q.host = "nobody";
	assert_int_equal(count(f, &q), 0);
	q.host = NULL;
	q.kind = "metric";
	assert_int_equal(count(f, &q), 1);
	q.kind = NULL;
	q.rule = "sid.2000001";
	assert_int_equal(count(f, &q), 1);
	q.rule = NULL;
	assert_int_equal(hub_parse_time("2011-06-01T00:00:00Z", &t), 0);
	q.since_us = t;
	struct rows r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(f->st->ops->query(f->st, &q, collect, &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.seq[0], 2);		/* ordered by @timestamp */
	assert_int_equal(r.seq[1], 7);
	assert_non_null(strstr(r.json[0], "picket.health.capture"));
	q.limit = 1;
	assert_int_equal(count(f, &q), 1);
}

static void
test_retention_chunks(void **state)
{
	struct hubfix *f = *state;
	struct hub_query q = { 0 };
	char rec[2048];
	uint64_t deleted = 0;
	int i;

	mkrec(rec, sizeof(rec), "2010-01-01T00:00:00Z", "alert", "a",
	    "picket.scan.port", 1);
	for (i = 1; i <= 25; i++)	/* ingested at 1..25 */
		put(f, "agent-a", (uint64_t)i, i, rec);
	assert_int_equal(f->st->ops->retention(f->st, 21, 4, &deleted), 0);
	assert_int_equal(deleted, 20);	/* 5 chunks of 4, and a last empty */
	assert_int_equal(count(f, &q), 5);
	assert_int_equal(f->st->ops->retention(f->st, 21, 4, &deleted), 0);
	assert_int_equal(deleted, 0);
	if (hubfix_pg() != NULL) {
		/* a sequence never starts over: every old row goes */
		assert_int_equal(f->st->ops->retention(f->st, 1000, 3,
		    &deleted), 0);
		assert_int_equal(deleted, 5);
		assert_int_equal(count(f, &q), 0);
		return;
	}
	/* All are old: the newest stays, so rowids never start over */
	assert_int_equal(f->st->ops->retention(f->st, 1000, 3, &deleted), 0);
	assert_int_equal(deleted, 4);
	assert_int_equal(count(f, &q), 1);
	put(f, "agent-a", 26, 26, rec);
	assert_int_equal(f->st->ops->retention(f->st, 1000, 3, &deleted), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(count(f, &q), 1);
}

/*
 * PostgreSQL keeps indicators in one partition per ingest day: retention
 * drops the days wholly before the cutoff (no row by row delete) and
 * deletes the rest of the cutoff's day, and a resent (agent, seq) is
 * still refused when its first copy is in another day.
 */
static void
test_retention_drops_days(void **state)
{
	struct hubfix *f = *state;
	struct hub_query q = { 0 };
	const int64_t day = (int64_t)86400 * 1000000;
	const int64_t d0 = 20000;	/* 2024-10-04 */
	char rec[2048], sql[256];
	uint64_t deleted = 0;
	int64_t d;
	int i;

	if (hubfix_pg() == NULL)
		skip();
	for (d = d0; d < d0 + 3; d++) {
		snprintf(sql, sizeof(sql), "CREATE TABLE indicators_d%lld "
		    "PARTITION OF indicators FOR VALUES FROM (%lld) TO (%lld)",
		    (long long)d, (long long)(d * day),
		    (long long)((d + 1) * day));
		hubfix_sql(f, sql);
	}
	mkrec(rec, sizeof(rec), "2010-01-01T00:00:00Z", "alert", "a",
	    "picket.scan.port", 1);
	/* 10 rows a day over three days, plus the same seq a day later */
	for (i = 0; i < 30; i++)
		assert_int_equal(put(f, "agent-a", (uint64_t)i + 1, d0 * day +
		    (i / 10) * day + i, rec), 1);
	assert_int_equal(put(f, "agent-a", 5, (d0 + 2) * day + 99, rec), 0);
	assert_int_equal(hubfix_sql_int(f, "SELECT count(*) FROM "
	    "indicators_d20001"), 10);
	/* the cutoff: day d0 + 1, row 15 of the stream (i = 14) */
	assert_int_equal(f->st->ops->retention(f->st, (d0 + 1) * day + 15,
	    4, &deleted), 0);
	assert_int_equal(deleted, 10 + 5);	/* day d0, i = 10..14 */
	assert_int_equal(hubfix_sql_int(f, "SELECT count(*) FROM pg_class "
	    "WHERE relname = 'indicators_d20000' AND relnamespace = "
	    "current_schema()::regnamespace"), 0);
	assert_int_equal(hubfix_sql_int(f, "SELECT count(*) FROM pg_class "
	    "WHERE relname = 'indicators_d20001' AND relnamespace = "
	    "current_schema()::regnamespace"), 1);
	assert_int_equal(count(f, &q), 15);
}

static void
test_jsonread(void **state)
{
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\" 1}", "[1,2",
		"{\"a\":\"x\ty\"}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":tru}",
		"{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{} {}", "{\"a\":-}",
	};
	struct pk_jr_val v;
	char deep[200], out[32];
	size_t i;
	int64_t n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pk_jr_validate(bad[i], strlen(bad[i])), -1);
	const char *good = " {\"a\":[1,-2.5e3,true,null,"
	    "{\"b\":\"\\u00e9\"}]} ";
	assert_int_equal(pk_jr_validate(good, strlen(good)), 0);
	/* Too deep is malformed, not a stack overflow. */
	memset(deep, '[', sizeof(deep));
	assert_int_equal(pk_jr_validate(deep, sizeof(deep)), -1);
	const char *doc = "{\"x\":{\"y\":1},\"a\":{\"b\":\"\\ud83d\\ude00"
	    "\\n\"},\"n\":-9223372036854775808,\"big\":9223372036854775808}";
	assert_int_equal(pk_jr_find(doc, strlen(doc), "a.b", &v), 1);
	assert_int_equal(pk_jr_string(&v, out, sizeof(out)), 0);
	assert_string_equal(out, "\xf0\x9f\x98\x80\n");
	assert_int_equal(pk_jr_string(&v, out, 5), -1);	/* does not fit */
	assert_int_equal(pk_jr_find(doc, strlen(doc), "a.c", &v), 0);
	assert_int_equal(pk_jr_find(doc, strlen(doc), "x.y.z", &v), 0);
	assert_int_equal(pk_jr_find(doc, strlen(doc), "n", &v), 1);
	assert_int_equal(pk_jr_int(&v, INT64_MIN, INT64_MAX, &n), 0);
	assert_true(n == INT64_MIN);
	assert_int_equal(pk_jr_find(doc, strlen(doc), "big", &v), 1);
	assert_int_equal(pk_jr_int(&v, INT64_MIN, INT64_MAX, &n), -1);
	/* A lookup that stops on a broken document says so. */
	assert_int_equal(pk_jr_find("{\"a\":1,\"b\"", 10, "b", &v), -1);
}

static void
test_extract(void **state)
{
	struct hub_indicator d;
	char rec[2048];
	int64_t t;

	(void)state;
	assert_int_equal(hub_parse_time("1970-01-01T00:00:01.25Z", &t), 0);
	assert_true(t == 1250000);
	assert_int_equal(hub_parse_time("2000-03-01T00:00:00Z", &t), 0);
	assert_true(t == INT64_C(951868800000000));
	assert_int_equal(hub_parse_time("2000-13-01T00:00:00Z", &t), -1);
	assert_int_equal(hub_parse_time("2000-01-01T00:00:00", &t), -1);
	assert_int_equal(hub_parse_time("2000-01-01T00:00:00.Z", &t), -1);
	mkrec(rec, sizeof(rec), "2010-04-18T21:41:52.640830Z", "alert", "a",
	    "picket.scan.worm_port", 4);
	assert_int_equal(hub_extract(rec, strlen(rec), &d), 0);
	assert_string_equal(d.rule_id, "picket.scan.worm_port");
	assert_string_equal(d.rule_name, "Port \"scan\" \xc3\xa9");
	assert_string_equal(d.source_ip, "10.0.0.4");
	assert_int_equal(d.destination_port, 445);
	assert_int_equal(d.severity, 73);
	assert_int_equal(d.count, 5);
	assert_string_equal(d.transport, "tcp");
	assert_true(d.ts_us == INT64_C(1271626912640830));
	/* Missing a required field, or a wrong type: refused. */
	assert_int_equal(hub_extract("{\"a\":1}", 7, &d), -1);
	char *p = strstr(rec, "\"severity\":73");
	memcpy(p, "\"severity\":\"7\"", 14);
	assert_int_equal(hub_extract(rec, strlen(rec), &d), -1);
}

/* A BATCH frame of n records from seq first, as the agent makes it. */
static size_t
mkframe(uint8_t *frame, size_t cap, uint64_t first, int n, const char *bad)
{
	static char recbuf[8][2048];
	struct pk_batch_rec recs[8];
	struct pk_batch_hdr hdr;
	uint8_t data[65536];
	size_t dlen, flen;
	int i;

	for (i = 0; i < n; i++) {
		mkrec(recbuf[i], sizeof(recbuf[i]), "2010-04-18T21:41:52Z",
		    "alert", "a", "picket.scan.port", (int)first + i);
		recs[i].seq = first + (uint64_t)i;
		recs[i].data = bad != NULL && i == 1 ? bad : recbuf[i];
		recs[i].len = strlen(recs[i].data);
	}
	assert_int_equal(pk_batch_build(recs, (uint32_t)n, PK_DICT_CURRENT,
	    PK_BATCH_LEVEL, data, sizeof(data), &hdr, &dlen), PK_BE_OK);
	assert_int_equal(pk_batch_encode_frame(&hdr, data, dlen, frame, cap,
	    &flen), PK_FE_OK);
	return flen;
}

static void
frame_of(const uint8_t *buf, size_t len, struct pk_frame *f)
{
	f->len = (uint32_t)(len - PK_FRAME_HDR);
	f->type = buf[4];
	f->flags = buf[5];
	f->payload = buf + PK_FRAME_HDR;
}

static void
test_ingest_batches(void **state)
{
	struct hubfix *f = *state;
	struct hub_ingest in;
	struct hub_query q = { 0 };
	struct hub_host h;
	struct pk_frame fr;
	uint8_t buf[70000];
	uint64_t ack, stored;
	uint32_t added;
	uint16_t werr;
	size_t n;
	int found;

	assert_int_equal(hub_ingest_init(&in, f->st, NULL), 0);
	assert_int_equal(hub_ingest_hello(&in, "agent-a", "ws-a", 3, 10,
	    &stored), 0);
	assert_int_equal(stored, 0);

	n = mkframe(buf, sizeof(buf), 101, 5, NULL);
	frame_of(buf, n, &fr);
	assert_int_equal(hub_ingest_batch(&in, "agent-a", &fr, 20, &ack,
	    &added, &werr), 0);
	assert_int_equal(ack, 105);
	assert_int_equal(added, 5);
	/* The same batch again (lost ACK): nothing new, same ACK. */
	assert_int_equal(hub_ingest_batch(&in, "agent-a", &fr, 21, &ack,
	    &added, &werr), 0);
	assert_int_equal(ack, 105);
	assert_int_equal(added, 0);
	assert_int_equal(in.stats.duplicates, 5);

	/* A record that is JSON-looking text but no indicator: skipped. */
	n = mkframe(buf, sizeof(buf), 106, 3, "{\"not\":\"an indicator\"}");
	frame_of(buf, n, &fr);
	assert_int_equal(hub_ingest_batch(&in, "agent-a", &fr, 22, &ack,
	    &added, &werr), 0);
	assert_int_equal(ack, 108);
	assert_int_equal(added, 2);
	assert_int_equal(in.stats.rejected, 1);

	/* An old batch resent after a newer one: the ACK does not go back. */
	n = mkframe(buf, sizeof(buf), 101, 2, NULL);
	frame_of(buf, n, &fr);
	assert_int_equal(hub_ingest_batch(&in, "agent-a", &fr, 23, &ack,
	    &added, &werr), 0);
	assert_int_equal(ack, 108);

	/* Corrupt deflate data: refused whole, nothing stored. */
	n = mkframe(buf, sizeof(buf), 109, 4, NULL);
	buf[n - 6] ^= 0x55;
	buf[n - 7] ^= 0x55;
	frame_of(buf, n, &fr);
	assert_int_equal(hub_ingest_batch(&in, "agent-a", &fr, 24, &ack,
	    &added, &werr), -1);
	assert_int_equal(werr, PK_WE_BATCH);
	assert_int_equal(count(f, &q), 7);

	/* Not a BATCH frame at all. */
	fr.type = PK_FT_HEARTBEAT;
	assert_int_equal(hub_ingest_batch(&in, "agent-a", &fr, 24, &ack,
	    &added, &werr), -1);
	assert_int_equal(werr, PK_WE_STATE);

	assert_int_equal(f->st->ops->host_get(f->st, "agent-a", &h, &found),
	    0);
	assert_int_equal(found, 1);
	assert_string_equal(h.host_name, "ws-a");
	assert_int_equal(h.last_seq, 108);
	assert_int_equal(h.dropped, 3);
	assert_int_equal(h.rejected, 1);
	assert_int_equal(hub_ingest_hello(&in, "agent-a", NULL, 3, 30,
	    &stored), 0);
	assert_int_equal(stored, 108);		/* WELCOME's stored_seq */
	hub_ingest_free(&in);
}

/* ------------------------------------------------------------ group commit */

/*
 * The real store behind a table that counts the transaction calls
 * and can make the group's commit fail (as a full disk would: the group
 * is rolled back and group_commit says -1).
 */
static struct hub_store_ops wrap;
static const struct hub_store_ops *base;
static int n_begin, n_commit, n_gjoin, n_gcommit, fail_gcommit;

static int
w_begin(struct hub_store *st)
{
	n_begin++;
	return base->begin(st);
}

static int
w_commit(struct hub_store *st)
{
	n_commit++;
	return base->commit(st);
}

static int
w_group_join(struct hub_store *st)
{
	n_gjoin++;
	return base->group_join(st);
}

static int
w_group_commit(struct hub_store *st)
{
	n_gcommit++;
	if (fail_gcommit) {
		(void)base->group_rollback(st);
		(void)base->group_commit(st);
		return -1;
	}
	return base->group_commit(st);
}

static void
wrap_store(struct hubfix *f)
{
	base = hubfix_ops();
	wrap = *base;
	wrap.begin = w_begin;
	wrap.commit = w_commit;
	wrap.group_join = w_group_join;
	wrap.group_commit = w_group_commit;
	n_begin = n_commit = n_gjoin = n_gcommit = fail_gcommit = 0;
	f->st->ops = &wrap;
}

/* Rows another connection (another process) sees: what is committed. */
static int
committed_rows(struct hubfix *f)
{
	return (int)hubfix_sql_int(f, "SELECT count(*) FROM indicators");
}

/* One BATCH of n records from first for agent: *ack. */
static int
ingest(struct hub_ingest *in, const char *agent, uint64_t first, int n,
    uint64_t *ack)
{
	static uint8_t buf[70000];
	struct pk_frame fr;
	uint32_t added;
	uint16_t werr;
	size_t len;

	len = mkframe(buf, sizeof(buf), first, n, NULL);
	frame_of(buf, len, &fr);
	return hub_ingest_batch(in, agent, &fr, 50, ack, &added, &werr);
}

static void
test_group_commit(void **state)
{
	struct hubfix *f = *state;
	struct hub_ingest in;
	uint64_t ack, stored;
	struct hub_host h;
	int found;

	wrap_store(f);
	assert_int_equal(hub_ingest_init(&in, f->st, NULL), 0);
	assert_int_equal(hub_ingest_group_commit(&in), 0);	/* none open */
	assert_int_equal(n_gcommit, 0);

	/* Three agents, four batches, one turn of the loop. */
	assert_int_equal(hub_ingest_group_begin(&in), 0);
	assert_int_equal(hub_ingest_hello(&in, "agent-c", "ws-c", 0, 40,
	    &stored), 0);
	assert_int_equal(ingest(&in, "agent-a", 1, 3, &ack), 0);
	assert_int_equal(ack, 3);
	assert_int_equal(ingest(&in, "agent-b", 1, 2, &ack), 0);
	assert_int_equal(ack, 2);
	assert_int_equal(ingest(&in, "agent-a", 4, 2, &ack), 0);
	assert_int_equal(ack, 5);
	assert_int_equal(ingest(&in, "agent-c", 1, 1, &ack), 0);
	assert_int_equal(ack, 1);
	assert_int_equal(hub_ingest_group_full(&in), 0);
	/* Nothing is durable yet, so no ACK may go: another connection
	 * sees no row, and nothing is counted as stored. */
	assert_int_equal(committed_rows(f), 0);
	assert_int_equal(in.stats.batches, 0);
	assert_int_equal(n_gcommit, 0);
	/* This connection sees its own open group (the API's case). */
	assert_int_equal(f->st->ops->host_get(f->st, "agent-a", &h, &found),
	    0);
	assert_int_equal(found, 1);
	assert_int_equal(h.last_seq, 5);

	assert_int_equal(hub_ingest_group_commit(&in), 0);
	assert_int_equal(n_gcommit, 1);			/* one commit */
	assert_int_equal(n_begin + n_commit, 0);	/* no own txns */
	assert_int_equal(committed_rows(f), 8);
	assert_int_equal(in.stats.batches, 4);
	assert_int_equal(in.stats.records, 8);
	assert_int_equal(in.stats.stored, 8);
	assert_int_equal(in.stats.group_commits, 1);
	assert_int_equal(in.stats.group_max, 4);
	assert_int_equal(in.group, 0);

	/* A HELLO-only group commits too but is not a batch group. */
	assert_int_equal(hub_ingest_group_begin(&in), 0);
	assert_int_equal(hub_ingest_hello(&in, "agent-a", NULL, 0, 60,
	    &stored), 0);
	assert_int_equal(stored, 5);
	assert_int_equal(hub_ingest_group_commit(&in), 0);
	assert_int_equal(in.stats.group_commits, 1);

	/* The bound: a full group says so. */
	assert_int_equal(hub_ingest_group_begin(&in), 0);
	for (stored = 0; stored < HUB_GROUP_BATCHES; stored++) {
		assert_int_equal(hub_ingest_group_full(&in), 0);
		assert_int_equal(ingest(&in, "agent-b", 3 + stored, 1, &ack),
		    0);
	}
	assert_int_equal(hub_ingest_group_full(&in), 1);
	assert_int_equal(hub_ingest_group_commit(&in), 0);
	assert_int_equal(in.stats.group_max, HUB_GROUP_BATCHES);
	assert_int_equal(committed_rows(f), 8 + HUB_GROUP_BATCHES);
	hub_ingest_free(&in);
}

static void
test_group_commit_fails(void **state)
{
	struct hubfix *f = *state;
	struct hub_ingest in;
	uint64_t ack, stored;

	wrap_store(f);
	assert_int_equal(hub_ingest_init(&in, f->st, NULL), 0);
	assert_int_equal(hub_ingest_group_begin(&in), 0);
	assert_int_equal(ingest(&in, "agent-a", 1, 3, &ack), 0);
	assert_int_equal(ingest(&in, "agent-b", 1, 2, &ack), 0);
	fail_gcommit = 1;
	/* -1: no ACK of the group may be sent; nothing of it is stored. */
	assert_int_equal(hub_ingest_group_commit(&in), -1);
	assert_int_equal(committed_rows(f), 0);
	assert_int_equal(in.stats.batches, 0);
	assert_int_equal(in.stats.store_errors, 2);
	assert_int_equal(in.stats.group_commits, 0);
	/* The agent resends from where WELCOME says: the start. */
	fail_gcommit = 0;
	assert_int_equal(hub_ingest_hello(&in, "agent-a", NULL, 0, 60,
	    &stored), 0);
	assert_int_equal(stored, 0);
	/* The next group is a fresh one and commits. */
	assert_int_equal(hub_ingest_group_begin(&in), 0);
	assert_int_equal(ingest(&in, "agent-a", 1, 3, &ack), 0);
	assert_int_equal(hub_ingest_group_commit(&in), 0);
	assert_int_equal(committed_rows(f), 3);
	hub_ingest_free(&in);
}

/*
 * Another writer on the same connection (the API's audit row, an
 * enrollment's own transaction) commits the open group first instead of
 * joining or nesting in it; the group's outcome still comes from
 * hub_ingest_group_commit.
 */
static void
test_group_other_writers(void **state)
{
	struct hubfix *f = *state;
	struct hub_ingest in;
	struct hub_audit a;
	uint64_t ack;

	assert_int_equal(hub_ingest_init(&in, f->st, NULL), 0);
	assert_int_equal(hub_ingest_group_begin(&in), 0);
	assert_int_equal(ingest(&in, "agent-a", 1, 3, &ack), 0);
	assert_int_equal(committed_rows(f), 0);
	memset(&a, 0, sizeof(a));
	a.ts_us = 1;
	snprintf(a.actor, sizeof(a.actor), "admin");
	snprintf(a.action, sizeof(a.action), "GET /x");
	assert_int_equal(f->st->ops->audit_add(f->st, &a), 0);
	assert_int_equal(committed_rows(f), 3);
	/* The group goes on in a new transaction... */
	assert_int_equal(ingest(&in, "agent-a", 4, 2, &ack), 0);
	/* ...and a transaction of its own does not nest in it. */
	assert_int_equal(f->st->ops->begin(f->st), 0);
	assert_int_equal(committed_rows(f), 5);
	assert_int_equal(f->st->ops->commit(f->st), 0);
	assert_int_equal(hub_ingest_group_commit(&in), 0);
	assert_int_equal(in.stats.batches, 2);
	assert_int_equal(in.stats.group_commits, 1);
	/* Group writes inside someone's open transaction are refused. */
	assert_int_equal(f->st->ops->begin(f->st), 0);
	assert_int_equal(f->st->ops->group_join(f->st), -1);
	assert_int_equal(f->st->ops->rollback(f->st), 0);
	hub_ingest_free(&in);
}

/* `picket-hub import` (no group): one transaction per batch, as before. */
static void
test_import_commits_each_batch(void **state)
{
	struct hubfix *f = *state;
	struct hub_ingest in;
	uint64_t ack;
	int i;

	wrap_store(f);
	assert_int_equal(hub_ingest_init(&in, f->st, NULL), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(ingest(&in, "agent-a", 1 + 2 * (uint64_t)i,
		    2, &ack), 0);
		assert_int_equal(ack, 2 + 2 * (uint64_t)i);
		/* Durable when the call returns. */
		assert_int_equal(committed_rows(f), 2 + 2 * i);
		assert_int_equal(n_begin, i + 1);
		assert_int_equal(n_commit, i + 1);
	}
	assert_int_equal(n_gjoin + n_gcommit, 0);
	assert_int_equal(in.stats.batches, 3);
	assert_int_equal(in.stats.group_commits, 0);
	hub_ingest_free(&in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_create_reopen,
		    setup, hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused,
		    setup, hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_9, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_ignored,
		    setup, hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_queries, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_retention_chunks, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_retention_drops_days,
		    setup, hubfix_teardown),
		cmocka_unit_test(test_jsonread),
		cmocka_unit_test(test_extract),
		cmocka_unit_test_setup_teardown(test_ingest_batches, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_fails, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_group_other_writers, setup,
		    hubfix_teardown),
		cmocka_unit_test_setup_teardown(test_import_commits_each_batch,
		    setup, hubfix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
