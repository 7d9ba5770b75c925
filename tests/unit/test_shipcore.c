/*
 * test_shipcore.c - unit tests for agent/shipcore.c, the protocol logic
 * both platform shippers share, over a real spool in a fresh directory
 * (transport/spool.c with the host's file layer): HELLO from the spool,
 * WELCOME and ERROR judged, the resume point of docs/protocol.md
 * "Exactly once" (rules 4 and 5), batches of consecutive records with the
 * record after a sequence gap carried into the next batch, a batch halved
 * until it fits the hub's max_frame, a record that cannot travel skipped,
 * the in-flight window (WELCOME's max_inflight and the core's own cap),
 * ACKs trimming the spool, the heartbeat and silence clocks and the
 * backoff.  Runs on Linux and, cross-built, under wine.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _WIN32
#include <direct.h>
#define rmdir_portable _rmdir
#else
#include <unistd.h>
#define rmdir_portable rmdir
#endif

#include "agent/shipcore.h"
#include "common/log.h"
#include "common/pktime.h"
#include "transport/batch.h"
#include "transport/frame.h"
#include "transport/spool.h"

#define OUT_CAP		(PK_FRAME_HDR + PK_FRAME_MAX_PAYLOAD)

static char tmpdir[1024];

struct fx {
	struct pk_spool		*sp;
	struct pk_spool_reader	*rd;
	struct pk_shipcore	 sc;
	uint8_t			*out;
	uint8_t			*dbuf;
};

/* ------------------------------------------------------------ helpers */

static int
rm_one(void *arg, const char *name)
{
	char path[2048];

	snprintf(path, sizeof(path), "%s/%s", (const char *)arg, name);
	(void)pk_spool_fs_default.remove(path);
	return 0;
}

static int
count_one(void *arg, const char *name)
{
	(void)name;
	(*(int *)arg)++;
	return 0;
}

static void
rm_dir(const char *dir)
{
	(void)pk_spool_fs_default.list(dir, rm_one, (void *)dir);
	(void)rmdir_portable(dir);
}

static int
setup(void **state)
{
	static unsigned counter;
	const char *base = getenv("TMPDIR");
	struct pk_spool_settings set;
	struct fx *x;

	if (base == NULL || base[0] == '\0')
		base = getenv("TEMP");
	if (base == NULL || base[0] == '\0')
		base = ".";
	snprintf(tmpdir, sizeof(tmpdir), "%s/picket-shipcore-test-%lx-%u",
	    base, (unsigned long)time(NULL) ^ (unsigned long)clock() ^
	    (unsigned long)(uintptr_t)&counter, counter++);
	rm_dir(tmpdir);
	x = calloc(1, sizeof(*x));
	assert_non_null(x);
	pk_spool_settings_init(&set, tmpdir);
	set.segment_bytes = 4096;	/* small: ACKs delete segments */
	set.sync = PK_SPOOL_SYNC_NEVER;
	assert_non_null(x->sp = pk_spool_open(&set));
	assert_non_null(x->rd = pk_spool_reader_open(tmpdir, NULL));
	assert_non_null(x->out = malloc(OUT_CAP));
	assert_non_null(x->dbuf = malloc(PK_FRAME_MAX_PAYLOAD));
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	pk_sc_free(&x->sc);
	pk_spool_reader_close(x->rd);
	pk_spool_close(x->sp);
	free(x->out);
	free(x->dbuf);
	free(x);
	rm_dir(tmpdir);
	return 0;
}

static void
core(struct fx *x, uint32_t recs, uint32_t bytes, int level)
{
	struct pk_sc_conf c = { recs, bytes, level, 0 };

	assert_int_equal(pk_sc_init(&x->sc, &c, x->rd), 0);
}

/* Append records first..: each {"i":N,"p":"xx..."} with pad bytes. */
static void
append(struct fx *x, int n, size_t pad)
{
	char buf[8192];
	uint64_t seq;
	int i, len;

	for (i = 0; i < n; i++) {
		len = snprintf(buf, sizeof(buf), "{\"i\":%d,\"p\":\"", i);
		assert_true(len > 0 && (size_t)len + pad + 2 < sizeof(buf));
		memset(buf + len, 'x', pad);
		len += (int)pad;
		memcpy(buf + len, "\"}", 2);
		len += 2;
		assert_int_equal(pk_spool_append(x->sp, buf, (size_t)len,
		    &seq), 0);
	}
	assert_int_equal(pk_spool_sync(x->sp, NULL), 0);
}

/* The one frame in buf (the decoder's own checks). */
static void
frame_of(struct fx *x, const uint8_t *buf, size_t len, struct pk_frame *f)
{
	struct pk_frame_dec d;

	pk_frame_dec_init(&d, x->dbuf, PK_FRAME_MAX_PAYLOAD);
	assert_int_equal(pk_frame_dec_next(&d, &buf, &len, f), 1);
	assert_int_equal(len, 0);
}

static void
welcome(struct fx *x, uint64_t stored, uint32_t max_frame, uint32_t max_rec,
    uint32_t inflight)
{
	struct pk_welcome w;
	struct pk_frame f;
	uint8_t buf[256];
	char why[256];
	size_t len;
	int auth = 7;

	memset(&w, 0, sizeof(w));
	w.version = PK_PROTO_MIN;
	w.dicts = PK_DICT_MASK;
	w.stored_seq = stored;
	w.max_frame = max_frame;
	w.max_batch_records = max_rec;
	w.max_batch_bytes = PK_BATCH_MAX_RAW;
	w.max_inflight = inflight;
	w.heartbeat_s = 10;
	snprintf(w.hub_id, sizeof(w.hub_id), "hub-test");
	assert_int_equal(pk_welcome_encode(&w, buf, sizeof(buf), &len),
	    PK_FE_OK);
	frame_of(x, buf, len, &f);
	assert_int_equal(pk_sc_welcome(&x->sc, &f, PK_PROTO_MIN, PK_PROTO_MAX,
	    &auth, why, sizeof(why)), 0);
	assert_int_equal(auth, 0);
	pk_sc_begin(&x->sc, 1000);
}

/* The next batch: its first seq and count; 0 when none. */
static uint32_t
next(struct fx *x, uint64_t *first, size_t *flen)
{
	struct pk_batch_hdr h;
	struct pk_frame f;
	const uint8_t *data;
	size_t len, dlen;
	int r;

	r = pk_sc_next_batch(&x->sc, x->out, 2000, &len);
	assert_true(r == 0 || r == 1);
	if (r == 0)
		return 0;
	frame_of(x, x->out, len, &f);
	assert_int_equal(f.type, PK_FT_BATCH);
	assert_int_equal(pk_batch_decode_hdr(&f, &h, &data, &dlen), PK_FE_OK);
	if (flen != NULL)
		*flen = len;
	*first = h.first_seq;
	return h.count;
}

/* ------------------------------------------------------------- tests */

static void
test_hello_and_resume(void **state)
{
	struct fx *x = *state;
	struct pk_hello h;

	core(x, 100, 1 << 20, 0);
	append(x, 10, 10);
	assert_int_equal(pk_spool_reader_ack(x->rd, 3, 0), 0);
	/* next_seq: the larger of the collector's and the ack point + 1 */
	pk_sc_hello(&x->sc, 1, 2, 0, 4, "agent-1", "host", &h);
	assert_int_equal(h.next_seq, 4);
	assert_int_equal(h.oldest_seq, 4);
	assert_int_equal(h.dropped, 4);
	assert_string_equal(h.agent_id, "agent-1");
	pk_sc_hello(&x->sc, 1, 2, 11, 0, "agent-1", "host", &h);
	assert_int_equal(h.next_seq, 11);
	assert_int_equal(h.ver_min, 1);
	assert_int_equal(h.ver_max, 2);
	/* stored_seq below the ack point: resume at oldest_seq */
	welcome(x, 0, 65536, 1000, 4);
	assert_int_equal(x->sc.read_from, 4);
	assert_int_equal(x->sc.sent_seq, 3);
	assert_int_equal(x->sc.n.acked_seq, 3);
	/* stored_seq past it: resume at stored_seq + 1, and what the hub
	 * has is acked in the spool (rule 4) */
	welcome(x, 6, 65536, 1000, 4);
	assert_int_equal(x->sc.read_from, 7);
	assert_int_equal(x->sc.sent_seq, 6);
	assert_int_equal(pk_spool_reader_acked(x->rd), 6);
	{
		uint64_t first;

		assert_int_equal(next(x, &first, NULL), 4);
		assert_int_equal(first, 7);
	}
}

static void
test_welcome_refusals(void **state)
{
	struct fx *x = *state;
	struct pk_welcome w;
	struct pk_frame f;
	uint8_t buf[256];
	char why[256];
	size_t len;
	int auth;

	core(x, 100, 1 << 20, 0);
	assert_int_equal(pk_error_encode(PK_WE_AUTH, "who are you", buf,
	    sizeof(buf), &len), PK_FE_OK);
	frame_of(x, buf, len, &f);
	assert_int_equal(pk_sc_welcome(&x->sc, &f, 1, 2, &auth, why,
	    sizeof(why)), 1);
	assert_int_equal(auth, 1);
	assert_non_null(strstr(why, "who are you"));
	assert_int_equal(pk_error_encode(PK_WE_INTERNAL, "later", buf,
	    sizeof(buf), &len), PK_FE_OK);
	frame_of(x, buf, len, &f);
	assert_int_equal(pk_sc_welcome(&x->sc, &f, 1, 2, &auth, why,
	    sizeof(why)), 1);
	assert_int_equal(auth, 0);
	/* a version we did not offer */
	memset(&w, 0, sizeof(w));
	w.version = 2;
	w.dicts = 1;
	w.max_frame = 65536;
	w.max_batch_records = w.max_batch_bytes = w.max_inflight = 8;
	w.heartbeat_s = 10;
	snprintf(w.hub_id, sizeof(w.hub_id), "h");
	assert_int_equal(pk_welcome_encode(&w, buf, sizeof(buf), &len),
	    PK_FE_OK);
	frame_of(x, buf, len, &f);
	assert_int_equal(pk_sc_welcome(&x->sc, &f, 1, 1, &auth, why,
	    sizeof(why)), -1);
	assert_int_equal(pk_sc_welcome(&x->sc, &f, 1, 2, &auth, why,
	    sizeof(why)), 0);
	/* not an answer to HELLO at all */
	assert_int_equal(pk_heartbeat_encode(5, buf, sizeof(buf), &len),
	    PK_FE_OK);
	frame_of(x, buf, len, &f);
	assert_int_equal(pk_sc_welcome(&x->sc, &f, 1, 2, &auth, why,
	    sizeof(why)), -1);
}

static void
test_gap_carry(void **state)
{
	struct fx *x = *state;
	uint64_t first;

	core(x, 100, 1 << 20, PK_BATCH_LEVEL);
	append(x, 5, 10);			/* 1..5 */
	pk_spool_raise_seq(x->sp, 10);		/* 6..9 lost */
	append(x, 3, 10);			/* 10..12 */
	welcome(x, 0, 65536, 1000, 8);
	assert_int_equal(next(x, &first, NULL), 5);
	assert_int_equal(first, 1);
	/* record 10 was read with the first batch and carried */
	assert_int_equal(next(x, &first, NULL), 3);
	assert_int_equal(first, 10);
	assert_int_equal(next(x, &first, NULL), 0);
	assert_int_equal(x->sc.sent_seq, 12);
	assert_int_equal(x->sc.fl_n, 2);
	/* a reconnect forgets the carry and the ring */
	pk_sc_reset(&x->sc);
	assert_int_equal(x->sc.fl_n, 0);
	assert_int_equal(x->sc.sg.carry_len, 0);
}

static void
test_limits_and_halving(void **state)
{
	struct fx *x = *state;
	uint64_t first, want = 1;
	uint32_t n, batches = 0;
	size_t flen;

	/* our own record limit, then WELCOME's */
	core(x, 4, 1 << 20, 0);
	append(x, 10, 10);
	welcome(x, 0, 65536, 3, 100);
	assert_int_equal(next(x, &first, NULL), 3);
	pk_sc_free(&x->sc);
	/* plain, 10 records of ~20 bytes and 10 of ~60 in frames of at
	 * most 300: the stage (all 20) is halved until a batch fits, and
	 * nothing is lost or repeated */
	core(x, 100, 1 << 20, 0);
	welcome(x, 0, 300, 1000, 100);
	append(x, 10, 50);
	while ((n = next(x, &first, &flen)) != 0) {
		assert_int_equal(first, want);
		assert_true(flen <= PK_FRAME_HDR + 300);
		want += n;
		batches++;
		assert_true(batches < 100);
	}
	assert_int_equal(want, 21);
	assert_true(batches >= 3);
	assert_int_equal(x->sc.n.records, 20);
	assert_int_equal(x->sc.n.unsendable, 0);
}

static void
test_unsendable_skipped(void **state)
{
	struct fx *x = *state;
	uint64_t first, seq;

	core(x, 100, 1 << 20, 0);
	welcome(x, 0, 300, 1000, 100);
	append(x, 1, 10);			/* 1 */
	append(x, 1, 1000);			/* 2: over max_frame */
	assert_int_equal(pk_spool_append(x->sp, "not json", 8, &seq), 0);
	append(x, 1, 10);			/* 4 */
	assert_int_equal(pk_spool_sync(x->sp, NULL), 0);
	assert_int_equal(next(x, &first, NULL), 1);
	assert_int_equal(first, 1);
	assert_int_equal(next(x, &first, NULL), 1);
	assert_int_equal(first, 4);
	assert_int_equal(x->sc.n.unsendable, 2);
	assert_int_equal(x->sc.sent_seq, 4);
	/* the hub settles the gap; the ACK covers the skipped records */
	assert_int_equal(pk_sc_ack(&x->sc, 4), 0);
	assert_int_equal(x->sc.fl_n, 0);
}

static void
test_inflight_window(void **state)
{
	struct fx *x = *state;
	uint64_t first;
	int i;

	core(x, 1, 1 << 20, 0);		/* one record a batch */
	append(x, 100, 10);
	welcome(x, 0, 65536, 1000, 2);
	assert_true(pk_sc_can_send(&x->sc));
	assert_int_equal(next(x, &first, NULL), 1);
	assert_true(pk_sc_can_send(&x->sc));
	assert_int_equal(next(x, &first, NULL), 1);
	assert_false(pk_sc_can_send(&x->sc));
	assert_int_equal(pk_sc_ack(&x->sc, 1), 0);
	assert_true(pk_sc_can_send(&x->sc));
	assert_int_equal(x->sc.fl_n, 1);
	/* a hub that allows more than the core's ring holds */
	welcome(x, 0, 65536, 1000, 1000);
	pk_sc_reset(&x->sc);
	for (i = 0; pk_sc_can_send(&x->sc); i++) {
		assert_int_equal(next(x, &first, NULL), 1);
		assert_true(i < 1000);
	}
	assert_int_equal(i, PK_SC_INFLIGHT_MAX);
	/* an ACK in the middle of a batch keeps that batch */
	assert_int_equal(pk_sc_ack(&x->sc, first - 1), 0);
	assert_int_equal(x->sc.fl_n, 1);
}

static void
test_ack_trims(void **state)
{
	struct fx *x = *state;
	uint64_t first;
	int before = 0, after = 0;
	uint32_t n;

	core(x, 50, 1 << 20, PK_BATCH_LEVEL);
	append(x, 200, 100);		/* several 4 KiB segments */
	welcome(x, 0, 65536, 1000, 64);
	while ((n = next(x, &first, NULL)) != 0)
		;
	assert_int_equal(x->sc.sent_seq, 200);
	assert_int_equal(x->sc.fl_n, 4);
	/* outside what was sent */
	assert_int_equal(pk_sc_ack(&x->sc, 201), -1);
	(void)pk_spool_fs_default.list(tmpdir, count_one, &before);
	/* a sent batch is not an acknowledged one (rule 5) */
	assert_int_equal(pk_spool_reader_acked(x->rd), 0);
	assert_int_equal(pk_sc_ack(&x->sc, 120), 0);
	assert_int_equal(pk_spool_reader_acked(x->rd), 120);
	(void)pk_spool_fs_default.list(tmpdir, count_one, &after);
	assert_true(after < before);
	assert_int_equal(x->sc.fl_n, 2);	/* 101..150 still counts */
	assert_int_equal(x->sc.n.acks, 1);
	assert_int_equal(x->sc.n.acked_seq, 120);
	/* never back */
	assert_int_equal(pk_sc_ack(&x->sc, 100), -1);
	assert_int_equal(pk_sc_ack(&x->sc, 200), 0);
	assert_int_equal(x->sc.fl_n, 0);
	/* resuming after everything was acked: nothing to send */
	welcome(x, 200, 65536, 1000, 64);
	assert_int_equal(x->sc.read_from, 201);
	assert_int_equal(next(x, &first, NULL), 0);
}

static void
test_clocks_and_backoff(void **state)
{
	struct fx *x = *state;
	uint64_t hb, first, rng = 12345, ms;
	uint8_t buf[64];
	size_t len;
	int i;

	core(x, 100, 1 << 20, 0);
	append(x, 3, 10);
	welcome(x, 0, 65536, 1000, 8);		/* clocks at 1000 */
	hb = pk_sc_heartbeat_us(&x->sc);
	assert_int_equal(hb, 10 * PK_USEC);
	assert_int_equal(pk_sc_heartbeat(&x->sc, 1000 + hb - 1, 1, buf,
	    sizeof(buf), &len), 0);
	assert_int_equal(pk_sc_heartbeat(&x->sc, 1000 + hb, 1, buf,
	    sizeof(buf), &len), 1);
	assert_int_equal(pk_sc_wake_at(&x->sc, 1), 1000 + hb);
	assert_int_equal(pk_sc_wake_at(&x->sc, 0), 1000 + 3 * hb + 1);
	assert_false(pk_sc_timed_out(&x->sc, 1000 + 3 * hb));
	assert_true(pk_sc_timed_out(&x->sc, 1000 + 3 * hb + 1));
	/* an unACKed batch times out even when the hub talks */
	assert_int_equal(next(x, &first, NULL), 3);	/* sent at 2000 */
	x->sc.last_rx = 2000 + 3 * hb + 10;
	assert_true(pk_sc_timed_out(&x->sc, 2000 + 3 * hb + 1));
	assert_int_equal(pk_sc_wake_at(&x->sc, 0), 2000 + 3 * hb + 1);
	/* backoff: within its bounds, growing attempts, reset by an ACK */
	for (i = 0; i < 40; i++) {
		ms = pk_sc_backoff_ms(&x->sc, 100, 60000, 0, &rng);
		assert_true(ms <= 60000);
	}
	assert_int_equal(x->sc.attempt, 32);
	for (i = 0; i < 40; i++) {
		ms = pk_sc_backoff_ms(&x->sc, 100, 60000, 1, &rng);
		assert_true(ms >= 30000 && ms <= 60000);
	}
	assert_int_equal(pk_sc_ack(&x->sc, 3), 0);
	assert_int_equal(x->sc.attempt, 0);
	ms = pk_sc_backoff_ms(&x->sc, 100, 60000, 0, &rng);
	assert_true(ms <= 100);
}

/* pk_sc_proxy_answer on a copy of text, as a shipper would have read
 * it; why kept for the caller. */
static char proxy_why[256];

static int
proxy_answer(const char *text)
{
	char resp[PK_SC_PROXY_MAX + 1];
	size_t len = strlen(text);

	memcpy(resp, text, len);
	return pk_sc_proxy_answer(resp, len, proxy_why, sizeof(proxy_why));
}

/* The CONNECT request both shippers send and how they judge the
 * proxy's answer (docs/protocol.md "Connection"). */
static void
test_proxy(void **state)
{
	char req[600], resp[PK_SC_PROXY_MAX + 1];

	(void)state;
	assert_int_equal(pk_sc_proxy_request("hub.example", 7443, req,
	    sizeof(req)), 61);
	assert_string_equal(req, "CONNECT hub.example:7443 HTTP/1.1\r\n"
	    "Host: hub.example:7443\r\n\r\n");
	assert_true(pk_sc_proxy_request("2001:db8::1", 7443, req,
	    sizeof(req)) > 0);
	assert_string_equal(req, "CONNECT [2001:db8::1]:7443 HTTP/1.1\r\n"
	    "Host: [2001:db8::1]:7443\r\n\r\n");
	assert_int_equal(pk_sc_proxy_request("hub.example", 7443, req, 20),
	    -1);

	assert_int_equal(proxy_answer("HTTP/1.1 200 Connection "
	    "established\r\n\r\n"), 0);
	assert_int_equal(proxy_answer("HTTP/1.0 200 OK\r\n\r\n"), 0);
	/* Only 200 opens the tunnel, as on Linux since the proxy came. */
	assert_int_equal(proxy_answer("HTTP/1.1 403 Forbidden\r\nX: y\r\n"
	    "\r\n"), -1);
	assert_string_equal(proxy_why, "proxy refused CONNECT: HTTP/1.1 403 "
	    "Forbidden");
	assert_int_equal(proxy_answer("HTTP/2 200\r\n\r\n"), -1);
	/* A header cut at the cap is refused, never read past. */
	memset(resp, 'a', PK_SC_PROXY_MAX);
	assert_int_equal(pk_sc_proxy_answer(resp, PK_SC_PROXY_MAX, proxy_why,
	    sizeof(proxy_why)), -1);
	assert_string_equal(proxy_why, "proxy: response header too long");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello_and_resume, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_welcome_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gap_carry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_halving,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsendable_skipped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflight_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ack_trims, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_clocks_and_backoff,
		    setup, teardown),
		cmocka_unit_test(test_proxy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
