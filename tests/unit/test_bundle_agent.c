/*
 * test_bundle_agent.c - unit tests for the agent's half of shared-indicator
 * bundles (agent/bundle_agent.c): the state and status files, the
 * shipper's pk_bundle_receive (inflate, parse, file), and the collector's
 * apply, refuse, rollback and restart, in a temporary spool directory.
 * The engine is a double that records the detection sets handed to it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/bundle_agent.h"
#include "agent/engine.h"
#include "agent/ioc.h"
#include "transport/batch.h"
#include "transport/bundle.h"
#include "transport/frame.h"

/* ---- engine double ---- */

struct pk_engine {
	const struct pk_shared	*sh;
	int			 sets;
};

void
pk_engine_set_shared(struct pk_engine *e, const struct pk_shared *sh)
{
	e->sh = sh;
	e->sets++;
}

/* ---- helpers ---- */

static char dir[256];

static int
mkspool(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_bundle_agent.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int
rmspool(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
put(const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/bundle", dir);
	(void)mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/bundle/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

static int
exists(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/bundle/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* A valid bundle: version v, one address and one fingerprint. */
static const char *
text_of(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "picket-bundle 1\nversion %llu\ncreated 5\n"
	    "entries 2\n"
	    "fingerprint 0123456789abcdef0123456789abcdef ref=1 origin=a "
	    "tlp=green\n"
	    "ipv4 192.0.2.%llu ref=2 origin=b tlp=amber\nend\n",
	    (unsigned long long)v, (unsigned long long)v);
	return buf;
}

static void
file_bundle(uint64_t v)
{
	char name[32], buf[512];

	snprintf(name, sizeof(name), "%llu.bundle", (unsigned long long)v);
	put(name, text_of(v, buf, sizeof(buf)));
}

static void
ask(struct pk_bagent *ba, uint8_t type, uint64_t v, struct pk_ipc_msg *r)
{
	struct pk_ipc_msg m = { .type = type, .a = v };
	uint8_t wire[PK_IPC_MSG_SIZE];

	/* what goes over the socketpair decodes both ways */
	pk_ipc_encode(&m, wire);
	assert_int_equal(pk_ipc_decode(wire, sizeof(wire), &m), 0);
	pk_bagent_ipc(ba, &m, r);
	assert_int_equal(r->type, PK_IPC_BUNDLE_STATE);
	pk_ipc_encode(r, wire);
	assert_int_equal(pk_ipc_decode(wire, sizeof(wire), r), 0);
}

/* ---- tests ---- */

static void
test_state_files(void **state)
{
	struct pk_bstate st = { 7, 3 };
	struct pk_bstatus bs, got;

	(void)state;
	assert_int_equal(pk_bstate_read(dir, &st), 1);	/* no directory */
	put("x", "");
	assert_int_equal(pk_bstate_read(dir, &st), 1);
	st.running = 7;
	st.previous = 3;
	assert_int_equal(pk_bstate_write(dir, &st), 0);
	memset(&st, 0, sizeof(st));
	assert_int_equal(pk_bstate_read(dir, &st), 0);
	assert_int_equal(st.running, 7);
	assert_int_equal(st.previous, 3);
	put("state", "running=7\nprevious=x\n");
	assert_int_equal(pk_bstate_read(dir, &st), -1);
	put("state", "running=7\nprevious=7\n");
	assert_int_equal(pk_bstate_read(dir, &st), -1);
	put("state", "running=7\nprevious=3\nmore\n");
	assert_int_equal(pk_bstate_read(dir, &st), -1);
	put("state", "running=7\nprevious=3");
	assert_int_equal(pk_bstate_read(dir, &st), -1);

	memset(&bs, 0, sizeof(bs));
	bs.version = 9;
	bs.outcome = PK_AO_REFUSED;
	bs.running = 7;
	snprintf(bs.reason, sizeof(bs.reason), "line 5: bad\nsecond");
	assert_int_equal(pk_bstatus_write(dir, &bs), 0);
	assert_int_equal(pk_bstatus_read(dir, &got), 0);
	assert_int_equal(got.version, 9);
	assert_int_equal(got.outcome, PK_AO_REFUSED);
	assert_string_equal(got.reason, "line 5: bad second");
	put("status", "version=9\noutcome=9\nrunning=1\nprevious=0\n"
	    "reason=\n");
	assert_int_equal(pk_bstatus_read(dir, &got), -1);
}

static void
test_receive(void **state)
{
	struct pk_config_frame cf;
	char buf[512], why[PK_ERROR_MSG_MAX + 1];
	uint8_t z[1024];
	size_t zlen;

	(void)state;
	put("x", "");
	text_of(4, buf, sizeof(buf));
	memset(&cf, 0, sizeof(cf));
	cf.version = 4;
	cf.op = PK_COP_APPLY;
	cf.raw_len = (uint32_t)strlen(buf);
	cf.data = (const uint8_t *)buf;
	cf.dlen = strlen(buf);
	assert_int_equal(pk_bundle_receive(dir, &cf, 100, 0, why,
	    sizeof(why)), -1);
	assert_string_equal(why, PK_BUNDLE_OFF_REASON);
	assert_int_equal(pk_bundle_receive(dir, &cf, 100, 1, why,
	    sizeof(why)), 0);
	assert_true(exists("4.bundle"));
	/* deflated: the size must be raw_len exactly */
	assert_int_equal(pk_chunk_deflate((const uint8_t *)buf, strlen(buf),
	    z, sizeof(z), &zlen), 0);
	cf.version = 4;
	cf.flags = PK_FF_CONFIG_DEFLATE;
	cf.data = z;
	cf.dlen = zlen;
	assert_int_equal(pk_bundle_receive(dir, &cf, 100, 1, why,
	    sizeof(why)), 0);
	cf.raw_len--;
	assert_int_equal(pk_bundle_receive(dir, &cf, 100, 1, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "inflates past"));
	cf.raw_len += 2;
	assert_int_equal(pk_bundle_receive(dir, &cf, 100, 1, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "fewer bytes"));
	/* more entries than max_entries; another version than the frame */
	cf.raw_len--;
	assert_int_equal(pk_bundle_receive(dir, &cf, 1, 1, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "bad bundle"));
	cf.version = 5;
	assert_int_equal(pk_bundle_receive(dir, &cf, 100, 1, why,
	    sizeof(why)), -1);
	assert_false(exists("5.bundle"));
}

static void
test_apply_rollback_restart(void **state)
{
	struct pk_engine e;
	struct pk_bagent *ba;
	struct pk_bagent_stats st;
	struct pk_bstatus bs;
	struct pk_ipc_msg m;

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_non_null(ba = pk_bagent_new(dir, 1, 20000, &e));
	pk_bagent_start(ba, &m);
	assert_int_equal(m.type, PK_IPC_BUNDLE_STATE);
	assert_int_equal(m.a, 0);
	assert_int_equal(m.c, PK_AO_RUNNING);
	assert_null(e.sh);

	file_bundle(1);
	ask(ba, PK_IPC_BUNDLE_NEW, 1, &m);
	assert_int_equal(m.c, PK_AO_APPLIED);
	assert_int_equal(m.a, 1);
	assert_int_equal(m.b, 0);
	assert_int_equal(pk_shared_version(e.sh), 1);
	assert_int_equal(pk_shared_nfingerprints(e.sh), 1);
	assert_non_null(pk_shared_iocset(e.sh));

	file_bundle(2);
	put("9.bundle", "stale");
	ask(ba, PK_IPC_BUNDLE_NEW, 2, &m);
	assert_int_equal(m.c, PK_AO_APPLIED);
	assert_int_equal(m.a, 2);
	assert_int_equal(m.b, 1);
	assert_false(exists("9.bundle"));	/* only 2 and 1 are kept */
	assert_true(exists("1.bundle"));

	/* a bad file: refused, 2 runs on */
	put("3.bundle", "picket-bundle 1\nversion 3\ncreated 5\nentries 1\n"
	    "ipv4 192.0.2.300 ref=1 origin=a tlp=green\nend\n");
	ask(ba, PK_IPC_BUNDLE_NEW, 3, &m);
	assert_int_equal(m.c, PK_AO_REFUSED);
	assert_int_equal(m.a, 2);
	assert_int_equal(pk_shared_version(e.sh), 2);
	assert_int_equal(pk_bstatus_read(dir, &bs), 0);
	assert_int_equal(bs.version, 3);
	assert_non_null(strstr(bs.reason, "line 5"));
	ask(ba, PK_IPC_BUNDLE_NEW, 4, &m);		/* never filed */
	assert_int_equal(m.c, PK_AO_REFUSED);

	/* rollback: only to the previous one kept */
	ask(ba, PK_IPC_BUNDLE_ROLLBACK, 5, &m);
	assert_int_equal(m.c, PK_AO_REFUSED);
	ask(ba, PK_IPC_BUNDLE_ROLLBACK, 1, &m);
	assert_int_equal(m.c, PK_AO_ROLLED_BACK);
	assert_int_equal(m.a, 1);
	assert_int_equal(m.b, 0);
	assert_int_equal(pk_shared_version(e.sh), 1);
	assert_false(exists("2.bundle"));
	pk_bagent_stats(ba, &st);
	assert_int_equal(st.applied, 2);
	assert_int_equal(st.refused, 3);
	assert_int_equal(st.rolled_back, 1);
	assert_int_equal(st.entries_loaded, 2);
	pk_bagent_free(ba);
	assert_null(e.sh);

	/* a restart runs 1 again */
	assert_non_null(ba = pk_bagent_new(dir, 1, 20000, &e));
	pk_bagent_start(ba, &m);
	assert_int_equal(m.a, 1);
	assert_int_equal(pk_shared_version(e.sh), 1);
	/* rollback to 0 = previous none: no bundle */
	ask(ba, PK_IPC_BUNDLE_ROLLBACK, 0, &m);
	assert_int_equal(m.c, PK_AO_ROLLED_BACK);
	assert_int_equal(m.a, 0);
	assert_null(e.sh);
	pk_bagent_free(ba);

	/* a corrupt state file, then a corrupt bundle: none runs */
	put("state", "running=zz\n");
	assert_non_null(ba = pk_bagent_new(dir, 1, 20000, &e));
	pk_bagent_start(ba, &m);
	assert_int_equal(m.a, 0);
	pk_bagent_stats(ba, &st);
	assert_int_equal(st.corrupt, 1);
	pk_bagent_free(ba);
	file_bundle(6);
	put("state", "running=6\nprevious=0\n");
	put("6.bundle", "picket-bundle 1\nversion 6\n");
	assert_non_null(ba = pk_bagent_new(dir, 1, 20000, &e));
	pk_bagent_start(ba, &m);
	assert_int_equal(m.a, 0);
	assert_null(e.sh);
	pk_bagent_stats(ba, &st);
	assert_int_equal(st.corrupt, 1);
	pk_bagent_free(ba);

	/* [bundle] accept = no: the collector refuses too */
	file_bundle(7);
	assert_non_null(ba = pk_bagent_new(dir, 0, 20000, &e));
	pk_bagent_start(ba, &m);
	ask(ba, PK_IPC_BUNDLE_NEW, 7, &m);
	assert_int_equal(m.c, PK_AO_REFUSED);
	assert_int_equal(pk_bstatus_read(dir, &bs), 0);
	assert_string_equal(bs.reason, PK_BUNDLE_OFF_REASON);
	pk_bagent_free(ba);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_state_files, mkspool,
		    rmspool),
		cmocka_unit_test_setup_teardown(test_receive, mkspool,
		    rmspool),
		cmocka_unit_test_setup_teardown(test_apply_rollback_restart,
		    mkspool, rmspool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
