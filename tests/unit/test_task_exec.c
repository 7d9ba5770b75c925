/*
 * test_task_exec.c - the collector's task runner (agent/task_exec.c) and
 * its /proc readers (agent/task_sys_linux.c), with real files: a pcap
 * task keeps exactly the frames its filter matches (read back with
 * libpcap) and stops at max_packets; a filter libpcap refuses fails with
 * libpcap's message; the runner refuses on its own what the policy
 * forbids even when the file is there; cancel and restart recovery; a
 * snapshot lists this very process; /proc/net lines parse; proc_trace
 * follows a tree through events handed to the engine's process tap and
 * stops at max_rows; sensitivity lowers the engine's thresholds, one
 * task at a time, and puts them back.  Linux only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <pcap/pcap.h>
#include <cmocka.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/task_agent.h"
#include "agent/task_exec.h"
#include "agent/task_sys.h"
#include "collectors/ebpf/evdecode.h"
#include "collectors/ebpf/proc.h"

static char spool[256], tdir[300];

static int
setup(void **state)
{
	(void)state;
	snprintf(spool, sizeof(spool), "/tmp/pt-tagent-exec-XXXXXX");
	if (mkdtemp(spool) == NULL)
		return -1;
	snprintf(tdir, sizeof(tdir), "%s/tasks", spool);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool);
	return system(cmd) == 0 ? 0 : -1;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static struct pk_texec *
runner(void)
{
	struct pk_texec_conf c;
	struct pk_texec *te;

	memset(&c, 0, sizeof(c));
	c.spool_dir = spool;
	pk_task_policy_default(&c.pol);
	c.linktype = DLT_EN10MB;
	c.snaplen = 65535;
	assert_non_null(te = pk_texec_new(&c));
	return te;
}

static void
file_task(struct pk_texec *te, uint64_t id, const char *spec)
{
	struct pk_ipc_msg m = { PK_IPC_TASK_NEW, id, 0, 0 };

	assert_int_equal(pk_tfile_write(tdir, id, "task", spec, strlen(spec)),
	    0);
	pk_texec_ipc(te, &m, now_us());
}

static struct pk_task_status
st(uint64_t id)
{
	struct pk_task_status s;

	assert_int_equal(pk_tfile_status(tdir, id, &s), 0);
	return s;
}

/* Ethernet + IPv4 + TCP, ports as given, 20 bytes of payload. */
static size_t
frame(uint8_t *f, uint16_t sport, uint16_t dport)
{
	static const uint8_t ip[] = { 0x45, 0, 0, 60, 0, 1, 0x40, 0, 64, 6,
	    0, 0, 10, 0, 0, 1, 10, 0, 0, 2 };

	memset(f, 0, 74);
	f[12] = 0x08;
	memcpy(f + 14, ip, sizeof(ip));
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
	f[46] = 0x50;
	f[47] = 0x18;
	return 74;
}

static void
test_pcap_filter_and_cap(void **state)
{
	struct pk_texec *te = runner();
	char path[400], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	uint8_t f[128];
	pcap_t *p;
	int i, n = 0;
	size_t len;

	(void)state;
	file_task(te, 1, "{\"type\":\"pcap\",\"filter\":\"tcp port 8080\","
	    "\"duration\":60,\"max_packets\":5}");
	assert_int_equal(st(1).state, PK_TS_RUNNING);
	assert_int_equal(pk_texec_running(te), 1);
	for (i = 0; i < 20; i++) {
		len = frame(f, (uint16_t)(40000 + i), i % 2 ? 8080 : 443);
		pk_texec_frame(te, DLT_EN10MB, f, (uint32_t)len, (uint32_t)len,
		    1700000000000000ULL + (uint64_t)i);
	}
	pk_texec_tick(te, now_us());
	assert_int_equal(pk_texec_running(te), 0);
	assert_int_equal(st(1).state, PK_TS_DONE);
	assert_string_equal(st(1).reason, "max_packets reached");
	assert_true(st(1).rows == 5);
	assert_true(st(1).bytes == 24 + 5 * (16 + 74));
	snprintf(path, sizeof(path), "%s/1.out", tdir);
	assert_non_null(p = pcap_open_offline(path, err));
	assert_int_equal(pcap_datalink(p), DLT_EN10MB);
	while (pcap_next_ex(p, &h, &d) == 1) {
		assert_int_equal(h->caplen, 74);
		assert_true(d[36] == 0x1f && d[37] == 0x90);	/* 8080 */
		n++;
	}
	pcap_close(p);
	assert_int_equal(n, 5);
	pk_texec_free(te);
}

static void
test_bad_filter_and_policy(void **state)
{
	struct pk_texec *te = runner();

	(void)state;
	file_task(te, 2, "{\"type\":\"pcap\",\"filter\":\"tcp port (((\","
	    "\"duration\":5}");
	assert_int_equal(st(2).state, PK_TS_FAILED);
	assert_true(strncmp(st(2).reason, "filter does not compile: ", 25) ==
	    0);
	assert_non_null(strstr(st(2).reason, "syntax error"));
	/* filed behind the shipper's back: the runner checks again */
	file_task(te, 3, "{\"type\":\"proc_trace\",\"pid\":1,\"duration\":5}");
	assert_int_equal(st(3).state, PK_TS_REFUSED);
	assert_string_equal(st(3).reason, "type proc_trace is not allowed by "
	    "[tasks] allow");
	file_task(te, 4, "{\"type\":\"pcap\"}");
	assert_int_equal(st(4).state, PK_TS_REFUSED);
	assert_true(strncmp(st(4).reason, "bad specification: ", 19) == 0);
	assert_int_equal(pk_texec_running(te), 0);
	pk_texec_free(te);
}

static void
test_cancel_and_recover(void **state)
{
	struct pk_texec *te = runner();
	struct pk_ipc_msg c = { PK_IPC_TASK_CANCEL, 5, 0, 0 };

	(void)state;
	file_task(te, 5, "{\"type\":\"pcap\",\"duration\":60}");
	assert_int_equal(st(5).state, PK_TS_RUNNING);
	pk_texec_ipc(te, &c, now_us());
	assert_int_equal(st(5).state, PK_TS_CANCELLED);
	assert_int_equal(pk_texec_running(te), 0);

	file_task(te, 6, "{\"type\":\"pcap\",\"duration\":60}");
	assert_int_equal(st(6).state, PK_TS_RUNNING);
	/* the collector dies mid-run: its last word on disk is running */
	pk_texec_free(te);
	assert_int_equal(st(6).state, PK_TS_FAILED);
	{
		struct pk_task_status r = st(6);
		char b[PK_TSTATUS_MAX];
		size_t len;

		r.state = PK_TS_RUNNING;
		len = pk_task_status_encode(&r, b, sizeof(b));
		assert_int_equal(pk_tfile_write(tdir, 6, "state", b, len), 0);
	}
	te = runner();
	assert_int_equal(pk_tfile_write(tdir, 7, "task", "{\"type\":"
	    "\"snapshot\",\"max_rows\":3}", 32), 0);
	pk_texec_recover(te, now_us());
	assert_int_equal(st(6).state, PK_TS_FAILED);
	assert_string_equal(st(6).reason, "agent restarted");
	assert_int_equal(st(5).state, PK_TS_CANCELLED);	/* final: kept */
	/* filed but never begun: begun now */
	assert_int_equal(pk_texec_running(te), 1);
	pk_texec_free(te);
	assert_int_equal(st(7).state, PK_TS_FAILED);
	assert_string_equal(st(7).reason, "agent stopped");
}

static void
test_snapshot_self(void **state)
{
	struct pk_texec *te = runner();
	char *buf, needle[64];
	size_t cap;
	long n;
	int i;

	(void)state;
	file_task(te, 8, "{\"type\":\"snapshot\",\"max_rows\":100000}");
	for (i = 0; i < 600 && pk_texec_running(te) > 0; i++) {
		usleep(10000);
		pk_texec_tick(te, now_us());
	}
	assert_int_equal(pk_texec_running(te), 0);
	assert_int_equal(st(8).state, PK_TS_DONE);
	/* as large as the host's processes and sockets make it (a busy
	 * machine has tens of thousands of sockets) */
	cap = (size_t)st(8).bytes + 1;
	assert_non_null(buf = malloc(cap));
	n = pk_tfile_read(tdir, 8, "out", buf, cap - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_true((uint64_t)n == st(8).bytes);
	snprintf(needle, sizeof(needle), "{\"kind\":\"process\",\"pid\":%d,",
	    (int)getpid());
	assert_non_null(strstr(buf, needle));
	assert_non_null(strstr(buf, "\"sha256\":\""));
	free(buf);
	pk_texec_free(te);
}

static void
test_dns_ring_sweep(void **state)
{
	struct pk_texec *te = runner();
	char buf[65536];
	long n;
	int i;

	(void)state;
	pk_texec_dns(te, "www.Evil.Example.");
	pk_texec_dns(te, "www.evil.example");	/* repeat: once */
	pk_texec_dns(te, "notevil.example");
	pk_texec_dns(te, "good.test");
	file_task(te, 9, "{\"type\":\"ioc_sweep\",\"domains\":"
	    "[\"evil.example\"]}");
	for (i = 0; i < 500 && pk_texec_running(te) > 0; i++) {
		usleep(10000);
		pk_texec_tick(te, now_us());
	}
	assert_int_equal(st(9).state, PK_TS_DONE);
	assert_true(st(9).rows == 1);
	n = pk_tfile_read(tdir, 9, "out", buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "{\"kind\":\"hit\",\"list\":\"domain\","
	    "\"value\":\"evil.example\",\"where\":\"dns\",\"name\":"
	    "\"www.evil.example\"}\n");
	pk_texec_free(te);
}

static void
test_sock_lines(void **state)
{
	struct pk_sys_sock s;
	char a[PK_ADDRSTRLEN];

	(void)state;
	assert_int_equal(pk_sys_sock_line("   0: 0100007F:1F90 00000000:0000 "
	    "0A 00000000:00000000 00:00000000 00000000   65534        0 "
	    "123456 1 0000000000000000 100 0 0 10 0", 0, 0, &s), 0);
	assert_string_equal(s.proto, "tcp");
	assert_string_equal(s.state, "listen");
	assert_string_equal(pk_addr_format(&s.local, a, sizeof(a)),
	    "127.0.0.1");
	assert_int_equal(s.lport, 8080);
	assert_int_equal(s.uid, 65534);
	assert_true(s.inode == 123456);
	assert_int_equal(pk_sys_sock_line("  12: 00000000000000000000000001000000"
	    ":0035 0000000000000000FFFF00000201C90A:D431 01 00000000:00000000 "
	    "00:00000000 00000000     0        0 77 2 0000000000000000 0", 1,
	    1, &s), 0);
	assert_string_equal(s.proto, "udp6");
	assert_string_equal(s.state, "connected");
	assert_string_equal(pk_addr_format(&s.local, a, sizeof(a)), "::1");
	assert_string_equal(pk_addr_format(&s.remote, a, sizeof(a)),
	    "::ffff:10.201.1.2");
	assert_int_equal(s.rport, 0xd431);
	/* the header line and garbage */
	assert_int_equal(pk_sys_sock_line("  sl  local_address rem_address   "
	    "st tx_queue", 0, 0, &s), -1);
	assert_int_equal(pk_sys_sock_line("   0: 0100007G:1F90 00000000:0000 "
	    "0A", 0, 0, &s), -1);
	assert_int_equal(pk_sys_sock_line("   0: 0100007F:1F90", 0, 0, &s),
	    -1);
}

static struct pk_config ecfg;

/* A runner with an engine, sensitivity and proc_trace allowed. */
static struct pk_texec *
runner_engine(struct pk_engine **e, const char *proc_why)
{
	struct pk_texec_conf c;
	struct pk_texec *te;

	pk_config_defaults(&ecfg);
	ecfg.rules.enabled = 0;
	ecfg.ioc.enabled = 0;
	assert_non_null(*e = pk_engine_new(&ecfg));
	memset(&c, 0, sizeof(c));
	c.spool_dir = spool;
	pk_task_policy_default(&c.pol);
	c.pol.allow |= (1u << PK_TASK_PROC_TRACE) |
	    (1u << PK_TASK_SENSITIVITY);
	c.linktype = DLT_EN10MB;
	c.engine = *e;
	c.proc_why = proc_why;
	assert_non_null(te = pk_texec_new(&c));
	return te;
}

static void
ev_send(struct pk_engine *e, const struct pk_pev *ev)
{
	const struct pk_engine_proc_tap *tap = pk_engine_proc_tap(e);

	assert_non_null(tap);
	tap->event(tap->arg, ev, NULL, 1700000000ULL * 1000000ULL);
}

static struct pk_pev
ev_exec(uint32_t pid, uint32_t ppid, const char *path, const char *argv,
    size_t argv_len)
{
	struct pk_pev ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = PK_EV_EXEC;
	ev.pid = pid;
	ev.u.exec.ppid = ppid;
	ev.u.exec.path = ev.u.exec.fname = path;
	ev.u.exec.path_len = ev.u.exec.fname_len = strlen(path);
	ev.u.exec.argv = argv;
	ev.u.exec.argv_len = argv_len;
	return ev;
}

static struct pk_pev
ev_simple(int type, uint32_t pid, uint32_t arg)
{
	struct pk_pev ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.pid = pid;
	memcpy(ev.comm, "x", 2);
	if (type == PK_EV_FORK)
		ev.u.fork.child = arg;
	else if (type == PK_EV_CONNECT) {
		ev.u.conn.phase = PK_CONN_ATTEMPT;
		ev.u.conn.proto = 6;
		assert_int_equal(pk_addr_parse("192.0.2.7", &ev.u.conn.dst), 0);
		ev.u.conn.dport = (uint16_t)arg;
	}
	return ev;
}

/* A tree by exe: the root's exec, its fork and child's exec and connect
 * and exit are rows; other processes and a reused pid are not; max_rows
 * ends it, and the tap goes with it. */
static void
test_proc_trace_tree(void **state)
{
	struct pk_engine *e;
	struct pk_texec *te = runner_engine(&e, "");
	struct pk_pev ev;
	char buf[8192];
	long n;

	(void)state;
	assert_null(pk_engine_proc_tap(e));
	file_task(te, 21, "{\"type\":\"proc_trace\",\"exe\":"
	    "\"/opt/pt-none/root\",\"duration\":60,\"max_rows\":5}");
	assert_int_equal(st(21).state, PK_TS_RUNNING);
	ev = ev_exec(5000, 1, "/opt/pt-none/root", "root\0-v", 7);
	ev_send(e, &ev);
	ev = ev_simple(PK_EV_FORK, 5000, 5001);
	ev_send(e, &ev);
	ev = ev_simple(PK_EV_CONNECT, 7777, 80);	/* not in the tree */
	ev_send(e, &ev);
	ev = ev_exec(5001, 5000, "/bin/true", "true", 4);
	ev_send(e, &ev);
	ev = ev_simple(PK_EV_CONNECT, 5001, 443);
	ev_send(e, &ev);
	ev = ev_simple(PK_EV_EXIT, 5001, 0);
	ev_send(e, &ev);
	ev = ev_exec(5001, 1, "/bin/other", "other", 5);	/* reused */
	ev_send(e, &ev);
	ev = ev_simple(PK_EV_EXIT, 5000, 0);	/* a sixth row: cut */
	ev_send(e, &ev);
	pk_texec_tick(te, now_us());
	assert_int_equal(st(21).state, PK_TS_DONE);
	assert_string_equal(st(21).reason, "cut at max_rows");
	assert_true(st(21).rows == 5);
	assert_null(pk_engine_proc_tap(e));
	n = pk_tfile_read(tdir, 21, "out", buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "{\"kind\":\"exec\",\"ts\":"
	    "\"2023-11-14T22:13:20.000000Z\",\"pid\":5000,\"ppid\":1,"));
	assert_non_null(strstr(buf, "\"exe\":\"/opt/pt-none/root\","
	    "\"argv\":[\"root\",\"-v\"]}\n"));
	assert_non_null(strstr(buf, "\"kind\":\"fork\""));
	assert_non_null(strstr(buf, "\"child\":5001"));
	assert_non_null(strstr(buf, "\"pid\":5001,\"ppid\":5000,"));
	assert_non_null(strstr(buf, "\"kind\":\"connect\",\"ts\":"
	    "\"2023-11-14T22:13:20.000000Z\",\"pid\":5001,\"comm\":\"x\","
	    "\"phase\":\"attempt\",\"proto\":\"tcp\",\"address\":"
	    "\"192.0.2.7\",\"port\":443}"));
	assert_non_null(strstr(buf, "\"kind\":\"exit\""));
	assert_null(strstr(buf, "7777"));
	assert_null(strstr(buf, "/bin/other"));
	pk_texec_free(te);
	pk_engine_free(e);
}

/* Without process events, and for a pid that is not there: failed. */
static void
test_proc_trace_unavailable(void **state)
{
	struct pk_engine *e;
	struct pk_texec *te = runner_engine(&e, "disabled ([process] enabled "
	    "= no)");

	(void)state;
	file_task(te, 22, "{\"type\":\"proc_trace\",\"pid\":1,"
	    "\"duration\":5}");
	assert_int_equal(st(22).state, PK_TS_FAILED);
	assert_string_equal(st(22).reason, "process events are not available "
	    "on this host: disabled ([process] enabled = no)");
	pk_texec_free(te);
	pk_engine_free(e);
	te = runner_engine(&e, NULL);
	file_task(te, 23, "{\"type\":\"proc_trace\",\"pid\":4194303,"
	    "\"duration\":5}");
	assert_int_equal(st(23).state, PK_TS_FAILED);
	assert_string_equal(st(23).reason, "no process 4194303");
	assert_null(pk_engine_proc_tap(e));
	pk_texec_free(te);
	pk_engine_free(e);
}

/* One sensitivity task at a time; cancel puts the thresholds back. */
static void
test_sensitivity_task(void **state)
{
	struct pk_engine *e;
	struct pk_texec *te = runner_engine(&e, NULL);
	struct pk_ipc_msg m = { PK_IPC_TASK_CANCEL, 31, 0, 0 };

	(void)state;
	file_task(te, 31, "{\"type\":\"sensitivity\",\"factor\":40,"
	    "\"duration\":60}");
	assert_int_equal(st(31).state, PK_TS_RUNNING);
	assert_int_equal(pk_engine_sensitivity(e), 40);
	file_task(te, 32, "{\"type\":\"sensitivity\",\"duration\":60}");
	assert_int_equal(st(32).state, PK_TS_FAILED);
	assert_string_equal(st(32).reason, "another sensitivity task is "
	    "running");
	assert_int_equal(pk_engine_sensitivity(e), 40);
	pk_texec_ipc(te, &m, now_us());
	assert_int_equal(st(31).state, PK_TS_CANCELLED);
	assert_int_equal(pk_engine_sensitivity(e), 100);
	assert_true(st(31).bytes == 0);
	/* a short one ends by itself: done, the thresholds in the reason */
	file_task(te, 33, "{\"type\":\"sensitivity\",\"factor\":50,"
	    "\"duration\":1}");
	assert_int_equal(pk_engine_sensitivity(e), 50);
	pk_texec_tick(te, now_us() + 1100000);
	assert_int_equal(st(33).state, PK_TS_DONE);
	assert_non_null(strstr(st(33).reason, "thresholds were at 50% for "));
	assert_non_null(strstr(st(33).reason, "port_scan_ports 7,"));
	assert_non_null(strstr(st(33).reason, "; 0 indicator reports "
	    "meanwhile"));
	assert_int_equal(pk_engine_sensitivity(e), 100);
	pk_texec_free(te);
	pk_engine_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pcap_filter_and_cap,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_filter_and_policy,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_and_recover,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_self, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dns_ring_sweep, setup,
		    teardown),
		cmocka_unit_test(test_sock_lines),
		cmocka_unit_test_setup_teardown(test_proc_trace_tree, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_proc_trace_unavailable,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_sensitivity_task, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
