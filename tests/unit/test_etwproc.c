/*
 * test_etwproc.c - the Windows agent's ETW events into the process
 * detections (collectors/etw/etwproc.c, ntpath.c, collectors/ebpf/procdet.c
 * with the Windows path rules): ETW event records go through the real
 * decoder (etwdecode.c), the device map, the feed and the detections into
 * a real engine, and the indicators it writes are checked.  Portable: it
 * runs natively, under ASan and as a Windows .exe under wine
 * (tests/wine/run.sh); the hash IOC case hashes a real file it writes,
 * through hash_win32.c under wine and hash_linux.c natively (no injected
 * hash).
 *
 * The records, like those of test_etwdecode.c (whose ProcessStart v3
 * record is copied here), are written field by field from the providers'
 * manifest layouts, not captured on a Windows host; the builders below
 * write ProcessStart v0 and TCPv4 connect/accept records the same way.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/ioc.h"
#include "collectors/ebpf/hash.h"
#include "collectors/ebpf/proc.h"
#include "collectors/ebpf/procdet.h"
#include "collectors/etw/etwdecode.h"
#include "collectors/etw/etwproc.h"
#include "collectors/etw/ntpath.h"
#include "common/pktime.h"
#include "common/sha256.h"
#include "common/util.h"
#include "tests/unit/etwrec.h"
#include "tests/unit/indlines.h"

#define T0	1700000000000000ULL

/* ProcessStart v0: pid, CreateTime, ppid, SessionID, ImageName (ASCII
 * path written as UTF-16LE). */
static size_t
mk_start_v0(uint8_t *b, size_t cap, uint32_t pid, uint32_t ppid,
    const char *path)
{
	size_t n = strlen(path), o = 0, i;

	assert_true(20 + 2 * n + 2 <= cap);
	memset(b, 0, 20);
	b[0] = (uint8_t)pid;
	b[1] = (uint8_t)(pid >> 8);
	b[2] = (uint8_t)(pid >> 16);
	b[3] = (uint8_t)(pid >> 24);
	b[4] = 0x00; b[5] = 0x8e; b[6] = 0x44; b[7] = 0x29;	/* CreateTime */
	b[8] = 0x52; b[9] = 0x00; b[10] = 0xce; b[11] = 0x01;
	b[12] = (uint8_t)ppid;
	b[13] = (uint8_t)(ppid >> 8);
	b[14] = (uint8_t)(ppid >> 16);
	b[15] = (uint8_t)(ppid >> 24);
	o = 20;						/* SessionID 0 */
	for (i = 0; i < n; i++) {
		b[o++] = (uint8_t)path[i];
		b[o++] = 0;
	}
	b[o++] = 0;
	b[o++] = 0;
	return o;
}

/* TCPv4 connect (12) or accept (15), version 0: PID, size, daddr, saddr,
 * dport, sport (network order), then mss .. connid. */
static size_t
mk_tcp4(uint8_t *b, uint32_t pid, const uint8_t remote[4],
    const uint8_t local[4], uint16_t rport, uint16_t lport)
{
	memset(b, 0, 44);
	b[0] = (uint8_t)pid;
	b[1] = (uint8_t)(pid >> 8);
	b[2] = (uint8_t)(pid >> 16);
	b[3] = (uint8_t)(pid >> 24);
	memcpy(b + 8, remote, 4);
	memcpy(b + 12, local, 4);
	b[16] = (uint8_t)(rport >> 8);
	b[17] = (uint8_t)rport;
	b[18] = (uint8_t)(lport >> 8);
	b[19] = (uint8_t)lport;
	b[20] = 0xb4;	/* mss 1460 */
	b[21] = 0x05;
	b[32] = 0xf0;	/* rcvwin 64240 */
	b[33] = 0xfa;
	return 44;
}

/* A real engine, procdet with the Windows defaults, the ETW feed. */
struct rig {
	struct pk_config	 cfg;
	struct pk_engine	*e;
	struct pk_procdet	*d;
	struct pk_etwproc	*x;
	struct pk_hasher	*h;
	struct pk_iocset	*ioc;
	struct lines		 ls;
	char			 path[1024];	/* the decoder's buffer */
};

static void
rig_open(struct rig *r, struct pk_iocset *ioc, int hasher)
{
	char err[128];

	memset(r, 0, sizeof(*r));
	pk_config_defaults(&r->cfg);
	/* what agent/main_win32.c puts where the file left the default */
	pk_strlcpy(r->cfg.process.exec_paths, PK_WIN_EXEC_PATHS,
	    sizeof(r->cfg.process.exec_paths));
	r->ioc = ioc;
	assert_non_null(r->e = pk_engine_new(&r->cfg));
	assert_int_equal(pk_engine_add_output(r->e, collect, &r->ls), 0);
	assert_non_null(r->d = pk_procdet_new(r->e, &r->cfg, ioc));
	if (hasher) {
		r->h = pk_hasher_new(r->cfg.process.hash_max_size, err,
		    sizeof(err));
		assert_non_null(r->h);
		assert_int_equal(pk_hasher_start(r->h, err, sizeof(err)), 0);
	}
	/* no loader: the map is what the test puts in it */
	assert_non_null(r->x = pk_etwproc_new(r->d, r->h, NULL));
	assert_int_equal(pk_ntmap_add(pk_etwproc_ntmap(r->x),
	    "\\Device\\HarddiskVolume3", "C:"), 0);
}

static void
rig_close(struct rig *r)
{
	pk_procdet_flush(r->d, T0 + 60000000);
	pk_etwproc_free(r->x);
	pk_procdet_free(r->d);
	pk_hasher_free(r->h);
	pk_iocset_free(r->ioc);
	pk_engine_free(r->e);
	lines_free(&r->ls);
}

/* Decode one record and feed it, as etw_win32.c's poll does. */
static void
feed(struct rig *r, const uint8_t *prov, uint16_t id, uint8_t version,
    const void *data, size_t len, uint64_t ts)
{
	struct pk_etw_rec rec;
	struct pk_pev ev;
	unsigned fl;

	memset(&rec, 0, sizeof(rec));
	memcpy(rec.provider, prov, 16);
	rec.id = id;
	rec.version = version;
	rec.ptrsize = 8;
	rec.data = data;
	rec.len = len;
	assert_int_equal(pk_etw_decode(&rec, &ev, r->path, sizeof(r->path),
	    &fl), PK_ETW_OK);
	pk_etwproc_event(r->x, &ev, fl, ts);
}

#define PROC	pk_etw_guid_kernel_process
#define NET	pk_etw_guid_kernel_network

/* ---- the device map -------------------------------------------------------- */

static void
test_ntmap(void **state)
{
	struct pk_ntmap m;
	char out[64], dev[32];
	const char *p;
	int i;

	(void)state;
	memset(&m, 0, sizeof(m));
	pk_ntmap_clear(&m);
	assert_int_equal(pk_ntmap_add(&m, "\\Device\\HarddiskVolume3", "C:"),
	    0);
	assert_int_equal(pk_ntmap_add(&m, "\\Device\\HarddiskVolume1\\", "D:"),
	    0);
	assert_int_equal(pk_ntmap_add(&m, "\\Device\\HarddiskVolume10", "E:"),
	    0);

	p = "\\Device\\HarddiskVolume3\\Users\\alice\\x.exe";
	assert_int_equal(pk_ntmap_map(&m, p, strlen(p), out, sizeof(out)), 1);
	assert_string_equal(out, "C:\\Users\\alice\\x.exe");
	/* device names compare in either case */
	p = "\\DEVICE\\harddiskvolume3\\a";
	assert_int_equal(pk_ntmap_map(&m, p, strlen(p), out, sizeof(out)), 1);
	assert_string_equal(out, "C:\\a");
	/* Volume1 is no prefix of Volume10: a whole component must match */
	p = "\\Device\\HarddiskVolume10\\b.exe";
	assert_int_equal(pk_ntmap_map(&m, p, strlen(p), out, sizeof(out)), 1);
	assert_string_equal(out, "E:\\b.exe");
	p = "\\Device\\HarddiskVolume1\\b.exe";
	assert_int_equal(pk_ntmap_map(&m, p, strlen(p), out, sizeof(out)), 1);
	assert_string_equal(out, "D:\\b.exe");
	p = "\\Device\\HarddiskVolume12\\b.exe";
	assert_int_equal(pk_ntmap_map(&m, p, strlen(p), out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* only len bytes are read */
	p = "\\Device\\HarddiskVolume3\\abc";
	assert_int_equal(pk_ntmap_map(&m, p, strlen(p) - 2, out, sizeof(out)),
	    1);
	assert_string_equal(out, "C:\\a");
	/* the network redirector: UNC */
	p = "\\Device\\Mup\\srv\\share\\w.exe";
	assert_int_equal(pk_ntmap_map(&m, p, strlen(p), out, sizeof(out)), 1);
	assert_string_equal(out, "\\\\srv\\share\\w.exe");
	/* too long for out: -1, out empty */
	p = "\\Device\\HarddiskVolume3\\0123456789";
	assert_int_equal(pk_ntmap_map(&m, p, strlen(p), out, 8), -1);
	assert_string_equal(out, "");
	/* a device mapped again replaces its letter */
	assert_int_equal(pk_ntmap_add(&m, "\\device\\harddiskvolume3", "F:"),
	    0);
	p = "\\Device\\HarddiskVolume3\\x";
	assert_int_equal(pk_ntmap_map(&m, p, strlen(p), out, sizeof(out)), 1);
	assert_string_equal(out, "F:\\x");
	/* bounded: the table refuses, and counts, past its cap */
	for (i = 0; i < PK_NTMAP_MAX + 4; i++) {
		snprintf(dev, sizeof(dev), "\\Device\\Vol%d", i);
		(void)pk_ntmap_add(&m, dev, "Z:");
	}
	assert_int_equal(m.n, PK_NTMAP_MAX);
	assert_true(m.refused >= 4);
	assert_int_equal(pk_ntmap_add(&m, "", "Z:"), -1);
	assert_int_equal(pk_ntmap_add(&m, "\\Device\\X", "TOOLONGDRIVE"), -1);
}

/* ---- the Windows path rules ---------------------------------------------- */

static void
test_winpaths(void **state)
{
	const char *w = PK_WIN_EXEC_PATHS;

	(void)state;
	assert_true(pk_procdet_path_match_win(w,
	    "C:\\Users\\alice\\AppData\\Local\\Temp\\x.exe"));
	assert_true(pk_procdet_path_match_win(w,
	    "c:\\users\\BOB\\appdata\\local\\temp\\sub\\y.exe"));
	assert_true(pk_procdet_path_match_win(w,
	    "D:\\Users\\carol\\Downloads\\setup.exe"));
	assert_true(pk_procdet_path_match_win(w, "C:\\Windows\\Temp\\a.exe"));
	assert_true(pk_procdet_path_match_win(w,
	    "C:\\Users\\Public\\Documents\\p.exe"));
	assert_false(pk_procdet_path_match_win(w,
	    "C:\\Program Files\\App\\app.exe"));
	assert_false(pk_procdet_path_match_win(w,
	    "C:\\ProgramData\\Microsoft\\Windows Defender\\MsMpEng.exe"));
	assert_false(pk_procdet_path_match_win(w,
	    "C:\\Users\\alice\\AppData\\Local\\Programs\\app.exe"));
	assert_false(pk_procdet_path_match_win(w,
	    "C:\\Windows\\System32\\svchost.exe"));
	/* an unmapped device path has an empty first component */
	assert_false(pk_procdet_path_match_win(w,
	    "\\Device\\HarddiskVolume3\\Users\\alice\\Downloads\\x.exe"));
	/* "*" never matches an empty component, nor the pattern a prefix
	 * of a longer name */
	assert_false(pk_procdet_path_match_win(w,
	    "C:\\Users\\\\Downloads\\x.exe"));
	assert_false(pk_procdet_path_match_win(w,
	    "C:\\Users\\alice\\Downloads2\\x.exe"));
	/* forward slashes are separators on Windows too */
	assert_true(pk_procdet_path_match_win(w,
	    "C:/Users/alice/Downloads/x.exe"));
	/* the Linux rules are unchanged: case and "/" only */
	assert_false(pk_procdet_path_match("/TMP/", "/tmp/x"));
	assert_true(pk_procdet_path_match("/tmp/", "/tmp/x"));
	assert_false(pk_procdet_path_match("*\\Windows\\Temp\\",
	    "C:\\windows\\temp\\a.exe"));
}

/* ---- exec from %TEMP%, by its device path ----------------------------------- */

static void
test_exec_temp(void **state)
{
	struct rig r;
	uint8_t b[256];
	size_t n;

	(void)state;
	rig_open(&r, NULL, 0);
	feed(&r, PROC, PK_ETW_PROCESS_START, 3, start_v3_temp,
	    sizeof(start_v3_temp), T0);
	assert_int_equal(count_rule(&r.ls, "picket.process.exec_writable",
	    "\"type\":[\"start\"",
	    "\"executable\":\"C:\\\\Users\\\\alice\\\\AppData\\\\Local\\\\"
	    "Temp\\\\x.exe\""), 1);
	assert_int_equal(count_rule(&r.ls, "picket.process.exec_writable",
	    NULL, "\"name\":\"x.exe\""), 1);
	assert_int_equal(count_rule(&r.ls, "picket.process.exec_writable",
	    NULL, "\"pid\":7424"), 1);
	assert_int_equal(count_rule(&r.ls, "picket.process.exec_writable",
	    NULL, "HarddiskVolume"), 0);
	/* an installed program is not reported */
	n = mk_start_v0(b, sizeof(b), 5000, 600,
	    "\\Device\\HarddiskVolume3\\Program Files\\App\\app.exe");
	feed(&r, PROC, PK_ETW_PROCESS_START, 0, b, n, T0 + 1000);
	assert_int_equal(count_rule(&r.ls, "picket.process.exec_writable",
	    NULL, "app.exe"), 0);
	/* a volume the map does not know: kept as is, and not matched */
	n = mk_start_v0(b, sizeof(b), 5001, 600,
	    "\\Device\\HarddiskVolume9\\Users\\bob\\Downloads\\d.exe");
	feed(&r, PROC, PK_ETW_PROCESS_START, 0, b, n, T0 + 2000);
	assert_int_equal(count_rule(&r.ls, "picket.process.exec_writable",
	    NULL, "d.exe"), 0);
	{
		struct pk_proc *p = pk_proc_find(pk_procdet_table(r.d), 5001);

		assert_non_null(p);
		assert_string_equal(p->exe,
		    "\\Device\\HarddiskVolume9\\Users\\bob\\Downloads\\d.exe");
		assert_string_equal(p->comm, "d.exe");
	}
	rig_close(&r);
}

/* ---- connect attempts fan out, accepts do not ------------------------------ */

static void
test_scan_not_accepts(void **state)
{
	static const uint8_t local[4] = { 192, 168, 1, 23 };
	struct pk_etw_rec rec;
	struct rig r;
	struct pk_pev ev;
	uint8_t b[256], remote[4] = { 10, 0, 0, 0 };
	unsigned fl;
	size_t n;
	int i;

	(void)state;
	rig_open(&r, NULL, 0);
	/* x.exe from %TEMP% (pid 7424) */
	feed(&r, PROC, PK_ETW_PROCESS_START, 3, start_v3_temp,
	    sizeof(start_v3_temp), T0);
	/* it first accepts 5 connections from peers whose port is 445 ... */
	for (i = 0; i < 5; i++) {
		remote[3] = (uint8_t)(200 + i);
		n = mk_tcp4(b, 7424, remote, local, 445, 445);
		feed(&r, NET, PK_ETW_TCP4_ACCEPT, 0, b, n, T0 + 10 + i);
	}
	/* ... then tries 30 addresses on 445 */
	for (i = 0; i < 30; i++) {
		remote[3] = (uint8_t)(100 + i);
		n = mk_tcp4(b, 7424, remote, local, 445, (uint16_t)(49700 + i));
		feed(&r, NET, PK_ETW_TCP4_CONNECT, 0, b, n, T0 + 100 + i);
	}
	assert_int_equal(count_rule(&r.ls, "picket.process.scan",
	    "\"type\":[\"start\"", "\"pid\":7424"), 1);
	assert_int_equal(count_rule(&r.ls, "picket.process.scan", NULL,
	    "C:\\\\Users\\\\alice\\\\AppData\\\\Local\\\\Temp\\\\x.exe "
	    "(pid 7424) contacted"), 1);
	assert_int_equal(count_rule(&r.ls, "picket.process.scan", NULL,
	    "\"port\":445"), 1);
	assert_int_equal(count_rule(&r.ls, "picket.process.scan", NULL,
	    "\"source\":{\"ip\":\"192.168.1.23\""), 1);
	/* the accepts are not outcomes of its attempts */
	assert_int_equal(count_rule(&r.ls, "picket.process.scan", NULL,
	    "\"attempts_ok\":0"), 1);

	/* a server (pid 1234) accepting 30 peers on 445: no scan */
	n = mk_start_v0(b, sizeof(b), 1234, 600,
	    "\\Device\\HarddiskVolume3\\Windows\\System32\\svchost.exe");
	feed(&r, PROC, PK_ETW_PROCESS_START, 0, b, n, T0 + 1000);
	for (i = 0; i < 30; i++) {
		remote[3] = (uint8_t)(10 + i);
		n = mk_tcp4(b, 1234, remote, local, 445, 445);
		feed(&r, NET, PK_ETW_TCP4_ACCEPT, 0, b, n, T0 + 2000 + i);
	}
	/* and should an accept ever arrive as an attempt, the INBOUND flag
	 * still keeps it out */
	for (i = 0; i < 30; i++) {
		remote[3] = (uint8_t)(50 + i);
		n = mk_tcp4(b, 1234, remote, local, 445, 445);
		memset(&rec, 0, sizeof(rec));
		memcpy(rec.provider, NET, 16);
		rec.id = PK_ETW_TCP4_ACCEPT;
		rec.ptrsize = 8;
		rec.data = b;
		rec.len = n;
		assert_int_equal(pk_etw_decode(&rec, &ev, r.path,
		    sizeof(r.path), &fl), PK_ETW_OK);
		assert_int_equal(ev.u.conn.phase, PK_CONN_ACCEPTED);
		assert_true(fl & PK_ETW_F_INBOUND);
		ev.u.conn.phase = PK_CONN_ATTEMPT;
		pk_etwproc_event(r.x, &ev, fl, T0 + 3000 + (uint64_t)i);
	}
	assert_int_equal(count_rule(&r.ls, "picket.process.scan", NULL,
	    "\"pid\":1234"), 0);
	assert_int_equal(count_rule(&r.ls, "picket.process.scan", NULL,
	    "svchost"), 0);
	rig_close(&r);
}

/* ---- the image's SHA-256 on an IOC list, by the platform's hasher ---------- */

static void
test_hash_ioc(void **state)
{
	static const char body[] = "MZ picket test image, not a program\n";
	char path[512], line[128], hex[65];
	const char *dir;
	struct pk_iocset *ioc;
	uint8_t sha[32], b[2048];
	struct rig r;
	uint64_t start;
	size_t n;
	FILE *fp;

	(void)state;
	/* a real file where this platform keeps temporary files */
	if ((dir = getenv("TEMP")) == NULL && (dir = getenv("TMPDIR")) == NULL)
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s%spicket-etwproc-%llu.exe", dir,
	    strchr(dir, '\\') != NULL ? "\\" : "/",
	    (unsigned long long)pk_mono_us());
	assert_non_null(fp = fopen(path, "wb"));
	assert_int_equal(fwrite(body, 1, sizeof(body) - 1, fp),
	    sizeof(body) - 1);
	assert_int_equal(fclose(fp), 0);
	pk_sha256(body, sizeof(body) - 1, sha);
	pk_hex(sha, 32, hex);

	assert_non_null(ioc = pk_iocset_new(100));
	snprintf(line, sizeof(line), "sha256:%s\n", hex);
	assert_int_equal(pk_ioc_load_buf(ioc, "test-hashes", line,
	    strlen(line), stderr), 0);
	pk_iocset_finish(ioc);

	rig_open(&r, ioc, 1);
	n = mk_start_v0(b, sizeof(b), 8200, 7424, path);
	feed(&r, PROC, PK_ETW_PROCESS_START, 0, b, n, T0);
	/* Linux hashes on a thread, Windows at once or within its budget */
	start = pk_mono_us();
	while (count_rule(&r.ls, "picket.process.ioc_hash", NULL, NULL) == 0 &&
	    pk_mono_us() - start < 10 * PK_USEC)
		pk_etwproc_drain(r.x, T0 + 1000);
	snprintf(line, sizeof(line), "\"sha256\":\"%s\"", hex);
	assert_int_equal(count_rule(&r.ls, "picket.process.ioc_hash",
	    "\"type\":[\"start\"", line), 1);
	assert_int_equal(count_rule(&r.ls, "picket.process.ioc_hash", NULL,
	    "test-hashes"), 1);
	assert_int_equal(count_rule(&r.ls, "picket.process.ioc_hash", NULL,
	    "\"pid\":8200"), 1);
	{
		struct pk_proc *p = pk_proc_find(pk_procdet_table(r.d), 8200);

		assert_non_null(p);
		assert_int_equal(p->hash_state, PK_HASH_DONE);
		assert_memory_equal(p->sha256, sha, 32);
		assert_int_equal(p->key.size, sizeof(body) - 1);
	}

	/* the same image again: the cache answers, the indicator grows */
	n = mk_start_v0(b, sizeof(b), 8201, 7424, path);
	feed(&r, PROC, PK_ETW_PROCESS_START, 0, b, n, T0 + 2000);
	{
		struct pk_proc *p = pk_proc_find(pk_procdet_table(r.d), 8201);

		assert_non_null(p);
		assert_int_equal(p->hash_state, PK_HASH_DONE);
	}
	assert_int_equal(count_rule(&r.ls, "picket.process.ioc_hash",
	    "\"type\":[\"start\"", NULL), 1);

	/* a file that is not there: no identity, no hash, no indicator */
	n = mk_start_v0(b, sizeof(b), 8202, 7424, "/nonexistent/picket/x.exe");
	feed(&r, PROC, PK_ETW_PROCESS_START, 0, b, n, T0 + 3000);
	{
		struct pk_proc *p = pk_proc_find(pk_procdet_table(r.d), 8202);

		assert_non_null(p);
		assert_int_equal(p->hash_state, PK_HASH_NONE);
	}
	rig_close(&r);
	assert_int_equal(remove(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ntmap),
		cmocka_unit_test(test_winpaths),
		cmocka_unit_test(test_exec_temp),
		cmocka_unit_test(test_scan_not_accepts),
		cmocka_unit_test(test_hash_ioc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
