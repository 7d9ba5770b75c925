/*
 * test_task_agent.c - the shipper's half of targeted collection
 * (agent/task_agent.c) against a real directory, with this test playing
 * the collector (writing status and result files) and the hub (reading
 * the RESULT frames back with the strict decoders): refusals at once
 * with their reasons, the task file and the TASK_NEW message, STATE
 * running before data, DATA chunks from the hub's resume offset (deflated
 * chunks inflate to the same bytes), done only after the last byte,
 * CANCEL and FORGET, and the concurrency bound.  Linux only (POSIX
 * files).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/task_agent.h"
#include "transport/batch.h"
#include "transport/frame.h"

static char spool[256], tdir[300];
static uint8_t out[PK_FRAME_HDR + PK_FRAME_MAX_PAYLOAD];
static uint8_t plain[PK_RESULT_CHUNK_MAX];

static int
setup(void **state)
{
	(void)state;
	snprintf(spool, sizeof(spool), "/tmp/pt-tagent-unit-XXXXXX");
	if (mkdtemp(spool) == NULL)
		return -1;
	snprintf(tdir, sizeof(tdir), "%s/tasks", spool);
	return mkdir(tdir, 0700);
}

static int
teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool);
	return system(cmd) == 0 ? 0 : -1;
}

static struct pk_tagent *
store(void)
{
	struct pk_task_policy p;
	struct pk_tagent *ta;

	pk_task_policy_default(&p);
	assert_non_null(ta = pk_tagent_new(spool, &p));
	pk_tagent_session(ta);
	return ta;
}

static void
order(struct pk_tagent *ta, uint64_t id, int op, uint64_t resume,
    const char *spec, struct pk_ipc_msg *m)
{
	struct pk_task_frame tf;

	memset(&tf, 0, sizeof(tf));
	tf.id = id;
	tf.op = (uint8_t)op;
	tf.resume = resume;
	tf.spec = (const uint8_t *)spec;
	tf.spec_len = spec != NULL ? strlen(spec) : 0;
	pk_tagent_on_task(ta, &tf, m);
}

/* The next frame, decoded; 0 if none. */
static int
next(struct pk_tagent *ta, struct pk_result *r, uint64_t now)
{
	struct pk_frame f;
	size_t len, plen;

	if (pk_tagent_next(ta, out, sizeof(out), PK_FRAME_MAX_PAYLOAD, now,
	    &len) != 1)
		return 0;
	f.len = (uint32_t)(len - PK_FRAME_HDR);
	f.type = out[4];
	f.flags = out[5];
	f.payload = out + PK_FRAME_HDR;
	assert_int_equal(f.type, PK_FT_RESULT);
	assert_int_equal(pk_result_decode(&f, r), PK_FE_OK);
	if (r->kind == PK_RK_DATA && (r->flags & PK_FF_RESULT_DEFLATE)) {
		assert_int_equal(pk_chunk_inflate(r->data, r->dlen, plain,
		    sizeof(plain), &plen), 0);
		r->data = plain;
		r->dlen = plen;
	}
	return 1;
}

static void
put(uint64_t id, const char *ext, const void *buf, size_t len)
{
	assert_int_equal(pk_tfile_write(tdir, id, ext, buf, len), 0);
}

static void
status(uint64_t id, int state, uint64_t bytes, uint64_t rows,
    const char *reason)
{
	struct pk_task_status s;
	char buf[PK_TSTATUS_MAX];
	size_t n;

	memset(&s, 0, sizeof(s));
	s.state = state;
	s.bytes = bytes;
	s.rows = rows;
	snprintf(s.reason, sizeof(s.reason), "%s", reason);
	n = pk_task_status_encode(&s, buf, sizeof(buf));
	put(id, "state", buf, n);
}

static void
test_refusals(void **state)
{
	struct pk_tagent *ta = store();
	struct pk_ipc_msg m;
	struct pk_result r;

	(void)state;
	order(ta, 5, PK_TOP_START, 0, "{bad", &m);
	assert_int_equal(m.type, 0);
	order(ta, 6, PK_TOP_START, 0, "{\"type\":\"proc_trace\",\"pid\":1,"
	    "\"duration\":5}", &m);
	assert_int_equal(m.type, 0);
	order(ta, 7, PK_TOP_START, 0, "{\"type\":\"pcap\",\"duration\":90000}",
	    &m);
	assert_int_equal(next(ta, &r, 0), 1);
	assert_true(r.id == 5 && r.kind == PK_RK_STATE &&
	    r.state == PK_TS_REFUSED);
	assert_true(strncmp(r.reason, "bad specification: ", 19) == 0);
	assert_int_equal(next(ta, &r, 0), 1);
	assert_true(r.id == 6 && r.state == PK_TS_REFUSED);
	assert_string_equal(r.reason, "type proc_trace is not allowed by "
	    "[tasks] allow");
	assert_int_equal(next(ta, &r, 0), 1);
	assert_true(r.id == 7 && r.state == PK_TS_REFUSED);
	assert_non_null(strstr(r.reason, "duration"));
	assert_int_equal(next(ta, &r, 0), 0);
	/* nothing was filed */
	assert_true(pk_tfile_size(tdir, 5, "task") < 0);
	assert_true(pk_tfile_size(tdir, 6, "task") < 0);
	pk_tagent_free(ta);
}

static void
test_run_upload_forget(void **state)
{
	struct pk_tagent *ta = store();
	struct pk_ipc_msg m;
	struct pk_result r;
	char buf[4096], *data;
	const size_t total = 600000;
	uint64_t got = 0;
	long n;
	size_t i;

	(void)state;
	order(ta, 9, PK_TOP_START, 0, "{ \"duration\": 5, \"type\": \"pcap\","
	    " \"filter\": \"tcp\" }", &m);
	assert_true(m.type == PK_IPC_TASK_NEW && m.a == 9);
	/* the canonical specification was filed */
	n = pk_tfile_read(tdir, 9, "task", buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"type\":\"pcap\""));
	assert_non_null(strstr(buf, "\"max_packets\":100000"));
	/* the collector has not spoken yet */
	assert_int_equal(next(ta, &r, 0), 0);

	/* it runs and has written part of the result */
	data = malloc(total);
	assert_non_null(data);
	for (i = 0; i < total; i++)
		data[i] = (char)(i * 7 % 13);
	put(9, "out", data, 300000);
	status(9, PK_TS_RUNNING, 300000, 10, "");
	assert_int_equal(next(ta, &r, 0), 1);
	assert_true(r.kind == PK_RK_STATE && r.state == PK_TS_RUNNING);
	while (next(ta, &r, 0) == 1) {
		assert_int_equal(r.kind, PK_RK_DATA);
		assert_true(r.offset == got);
		assert_memory_equal(r.data, data + got, r.dlen);
		got += r.dlen;
	}
	assert_true(got == 300000);
	/* finished: the rest, then done with the final size */
	put(9, "out", data, total);
	status(9, PK_TS_DONE, total, 20, "max_packets reached");
	while (next(ta, &r, 2000000) == 1 && r.kind == PK_RK_DATA) {
		assert_true(r.offset == got);
		assert_memory_equal(r.data, data + got, r.dlen);
		got += r.dlen;
	}
	assert_true(got == total);
	assert_true(r.kind == PK_RK_STATE && r.state == PK_TS_DONE &&
	    r.bytes == total && r.rows == 20);
	assert_string_equal(r.reason, "max_packets reached");
	assert_int_equal(next(ta, &r, 3000000), 0);

	/* a new session: START resumes at the hub's offset */
	pk_tagent_session(ta);
	order(ta, 9, PK_TOP_START, total - 1000, "{}", &m);
	assert_int_equal(m.type, 0);		/* nothing new to run */
	assert_int_equal(next(ta, &r, 0), 1);
	assert_true(r.kind == PK_RK_DATA && r.offset == total - 1000 &&
	    r.dlen == 1000);
	assert_int_equal(next(ta, &r, 0), 1);
	assert_true(r.state == PK_TS_DONE && r.bytes == total);

	order(ta, 9, PK_TOP_FORGET, 0, NULL, &m);
	assert_int_equal(m.type, 0);		/* finished: nothing to stop */
	assert_true(pk_tfile_size(tdir, 9, "task") < 0);
	assert_true(pk_tfile_size(tdir, 9, "out") < 0);
	assert_true(pk_tfile_size(tdir, 9, "state") < 0);
	free(data);
	pk_tagent_free(ta);
}

static void
test_cancel_and_concurrency(void **state)
{
	struct pk_tagent *ta = store();
	struct pk_ipc_msg m;
	struct pk_result r;

	(void)state;
	/* unknown: cancelled at once */
	order(ta, 40, PK_TOP_CANCEL, 0, NULL, &m);
	assert_int_equal(m.type, 0);
	assert_int_equal(next(ta, &r, 0), 1);
	assert_true(r.id == 40 && r.state == PK_TS_CANCELLED);

	order(ta, 41, PK_TOP_START, 0, "{\"type\":\"snapshot\"}", &m);
	assert_int_equal(m.type, PK_IPC_TASK_NEW);
	order(ta, 42, PK_TOP_START, 0, "{\"type\":\"snapshot\"}", &m);
	assert_int_equal(m.type, PK_IPC_TASK_NEW);
	/* two filed and not finished: the third waits for room */
	order(ta, 43, PK_TOP_START, 0, "{\"type\":\"snapshot\"}", &m);
	assert_int_equal(m.type, 0);
	assert_int_equal(next(ta, &r, 0), 1);
	assert_true(r.id == 43 && r.state == PK_TS_REFUSED);
	assert_string_equal(r.reason, "2 tasks already running ([tasks] "
	    "max_concurrent 2)");

	status(41, PK_TS_RUNNING, 0, 0, "");
	order(ta, 41, PK_TOP_CANCEL, 0, NULL, &m);
	assert_true(m.type == PK_IPC_TASK_CANCEL && m.a == 41);
	assert_true(pk_tfile_size(tdir, 41, "cancel") == 0);
	/* no word from a cancelled task until the collector's */
	assert_int_equal(next(ta, &r, 0), 0);
	status(41, PK_TS_CANCELLED, 0, 0, "");
	assert_int_equal(next(ta, &r, 0), 1);
	assert_true(r.id == 41 && r.state == PK_TS_CANCELLED);

	/* a running task forgotten: the collector is told to stop */
	order(ta, 42, PK_TOP_FORGET, 0, NULL, &m);
	assert_true(m.type == PK_IPC_TASK_CANCEL && m.a == 42);
	assert_true(pk_tfile_size(tdir, 42, "task") < 0);
	pk_tagent_free(ta);
}

static void
test_bad_status_file(void **state)
{
	struct pk_tagent *ta = store();
	struct pk_tagent_stats st;
	struct pk_ipc_msg m;
	struct pk_result r;

	(void)state;
	order(ta, 50, PK_TOP_START, 0, "{\"type\":\"snapshot\"}", &m);
	put(50, "state", "state=running\nbytes=x\n", 22);
	assert_int_equal(next(ta, &r, 0), 0);
	pk_tagent_stats(ta, &st);
	assert_true(st.status_bad >= 1);
	pk_tagent_free(ta);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_upload_forget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel_and_concurrency,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_status_file, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
