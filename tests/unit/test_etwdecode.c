/*
 * test_etwdecode.c - the ETW record decoder (collectors/etw/etwdecode.c) on
 * recorded event records: ProcessStart (v0, v1, v3), ProcessStop (v0, v2)
 * and TCP connect/accept for IPv4 and IPv6, then truncated, overlong,
 * odd-length, unterminated, badly encoded, unknown-version, unknown-event
 * and unknown-provider cases.  Portable: it runs natively, under ASan and
 * as a Windows .exe under wine (tests/wine/run.sh), where ETW itself is
 * only a stub, which is why the decoder is tested on bytes.
 *
 * How the records were made, honestly: they were NOT captured on a Windows
 * machine.  Each array is the user data written out field by field from
 * the providers' manifest layouts (field order and in-types as the
 * Microsoft-Windows-Kernel-Process and Microsoft-Windows-Kernel-Network
 * manifests give them: UInt32/UInt64/FILETIME little-endian, UnicodeString
 * NUL-terminated UTF-16LE, SID as its bytes, AnsiString NUL-terminated,
 * ports in network order), with a small script and real-looking values.
 * A capture from a real host (tracerpt or a raw EVENT_RECORD dump) should
 * be added beside them when one is available.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "collectors/ebpf/proc.h"
#include "collectors/etw/etwdecode.h"
#include "common/netaddr.h"
#include "tests/unit/etwrec.h"

/* ProcessStart v0 (Windows 7/8 layout) */
static const uint8_t start_v0[] = {
	/* ProcessID 1234 */
	0xd2, 0x04, 0x00, 0x00,
	/* CreateTime 2013-02-01 08:00:12 UTC */
	0x00, 0x8e, 0x44, 0x29, 0x52, 0x00, 0xce, 0x01,
	/* ParentProcessID 600 */
	0x58, 0x02, 0x00, 0x00,
	/* SessionID 0 */
	0x00, 0x00, 0x00, 0x00,
	/* ImageName \Device\HarddiskVolume2\Windows\System32\svchost.exe */
	0x5c, 0x00, 0x44, 0x00, 0x65, 0x00, 0x76, 0x00,
	0x69, 0x00, 0x63, 0x00, 0x65, 0x00, 0x5c, 0x00,
	0x48, 0x00, 0x61, 0x00, 0x72, 0x00, 0x64, 0x00,
	0x64, 0x00, 0x69, 0x00, 0x73, 0x00, 0x6b, 0x00,
	0x56, 0x00, 0x6f, 0x00, 0x6c, 0x00, 0x75, 0x00,
	0x6d, 0x00, 0x65, 0x00, 0x32, 0x00, 0x5c, 0x00,
	0x57, 0x00, 0x69, 0x00, 0x6e, 0x00, 0x64, 0x00,
	0x6f, 0x00, 0x77, 0x00, 0x73, 0x00, 0x5c, 0x00,
	0x53, 0x00, 0x79, 0x00, 0x73, 0x00, 0x74, 0x00,
	0x65, 0x00, 0x6d, 0x00, 0x33, 0x00, 0x32, 0x00,
	0x5c, 0x00, 0x73, 0x00, 0x76, 0x00, 0x63, 0x00,
	0x68, 0x00, 0x6f, 0x00, 0x73, 0x00, 0x74, 0x00,
	0x2e, 0x00, 0x65, 0x00, 0x78, 0x00, 0x65, 0x00,
	0x00, 0x00,
};

/* ProcessStart v1: a packaged application, package strings filled in */
static const uint8_t start_v1_pkg[] = {
	/* ProcessID 9012 */
	0x34, 0x23, 0x00, 0x00,
	/* CreateTime 2024-05-14 09:30:00 UTC */
	0x00, 0x1c, 0xae, 0x4a, 0xe1, 0xa5, 0xda, 0x01,
	/* ParentProcessID 5540 */
	0xa4, 0x15, 0x00, 0x00,
	/* SessionID 1 */
	0x01, 0x00, 0x00, 0x00,
	/* Flags 0 */
	0x00, 0x00, 0x00, 0x00,
	/* ImageName (drive-letter form) */
	0x43, 0x00, 0x3a, 0x00, 0x5c, 0x00, 0x50, 0x00,
	0x72, 0x00, 0x6f, 0x00, 0x67, 0x00, 0x72, 0x00,
	0x61, 0x00, 0x6d, 0x00, 0x20, 0x00, 0x46, 0x00,
	0x69, 0x00, 0x6c, 0x00, 0x65, 0x00, 0x73, 0x00,
	0x5c, 0x00, 0x57, 0x00, 0x69, 0x00, 0x6e, 0x00,
	0x64, 0x00, 0x6f, 0x00, 0x77, 0x00, 0x73, 0x00,
	0x41, 0x00, 0x70, 0x00, 0x70, 0x00, 0x73, 0x00,
	0x5c, 0x00, 0x4d, 0x00, 0x69, 0x00, 0x63, 0x00,
	0x72, 0x00, 0x6f, 0x00, 0x73, 0x00, 0x6f, 0x00,
	0x66, 0x00, 0x74, 0x00, 0x2e, 0x00, 0x57, 0x00,
	0x69, 0x00, 0x6e, 0x00, 0x64, 0x00, 0x6f, 0x00,
	0x77, 0x00, 0x73, 0x00, 0x4e, 0x00, 0x6f, 0x00,
	0x74, 0x00, 0x65, 0x00, 0x70, 0x00, 0x61, 0x00,
	0x64, 0x00, 0x5f, 0x00, 0x31, 0x00, 0x31, 0x00,
	0x2e, 0x00, 0x32, 0x00, 0x33, 0x00, 0x31, 0x00,
	0x32, 0x00, 0x2e, 0x00, 0x31, 0x00, 0x38, 0x00,
	0x2e, 0x00, 0x30, 0x00, 0x5f, 0x00, 0x78, 0x00,
	0x36, 0x00, 0x34, 0x00, 0x5f, 0x00, 0x5f, 0x00,
	0x38, 0x00, 0x77, 0x00, 0x65, 0x00, 0x6b, 0x00,
	0x79, 0x00, 0x62, 0x00, 0x33, 0x00, 0x64, 0x00,
	0x38, 0x00, 0x62, 0x00, 0x62, 0x00, 0x77, 0x00,
	0x65, 0x00, 0x5c, 0x00, 0x4e, 0x00, 0x6f, 0x00,
	0x74, 0x00, 0x65, 0x00, 0x70, 0x00, 0x61, 0x00,
	0x64, 0x00, 0x5c, 0x00, 0x4e, 0x00, 0x6f, 0x00,
	0x74, 0x00, 0x65, 0x00, 0x70, 0x00, 0x61, 0x00,
	0x64, 0x00, 0x2e, 0x00, 0x65, 0x00, 0x78, 0x00,
	0x65, 0x00, 0x00, 0x00,
	/* ImageChecksum */
	0xd0, 0xc1, 0x04, 0x00,
	/* TimeDateStamp */
	0xb4, 0xa0, 0x71, 0x65,
	/* PackageFullName */
	0x4d, 0x00, 0x69, 0x00, 0x63, 0x00, 0x72, 0x00,
	0x6f, 0x00, 0x73, 0x00, 0x6f, 0x00, 0x66, 0x00,
	0x74, 0x00, 0x2e, 0x00, 0x57, 0x00, 0x69, 0x00,
	0x6e, 0x00, 0x64, 0x00, 0x6f, 0x00, 0x77, 0x00,
	0x73, 0x00, 0x4e, 0x00, 0x6f, 0x00, 0x74, 0x00,
	0x65, 0x00, 0x70, 0x00, 0x61, 0x00, 0x64, 0x00,
	0x5f, 0x00, 0x31, 0x00, 0x31, 0x00, 0x2e, 0x00,
	0x32, 0x00, 0x33, 0x00, 0x31, 0x00, 0x32, 0x00,
	0x2e, 0x00, 0x31, 0x00, 0x38, 0x00, 0x2e, 0x00,
	0x30, 0x00, 0x5f, 0x00, 0x78, 0x00, 0x36, 0x00,
	0x34, 0x00, 0x5f, 0x00, 0x5f, 0x00, 0x38, 0x00,
	0x77, 0x00, 0x65, 0x00, 0x6b, 0x00, 0x79, 0x00,
	0x62, 0x00, 0x33, 0x00, 0x64, 0x00, 0x38, 0x00,
	0x62, 0x00, 0x62, 0x00, 0x77, 0x00, 0x65, 0x00,
	0x00, 0x00,
	/* PackageRelativeAppId */
	0x41, 0x00, 0x70, 0x00, 0x70, 0x00, 0x00, 0x00,
};

/* ProcessStop v2 */
static const uint8_t stop_v2[] = {
	/* ProcessID 7424 */
	0x00, 0x1d, 0x00, 0x00,
	/* ProcessSequenceNumber 4215 */
	0x77, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* CreateTime */
	0x80, 0xc3, 0xfc, 0x0c, 0xe0, 0xa5, 0xda, 0x01,
	/* ExitTime */
	0x80, 0x4c, 0xc7, 0x68, 0xe0, 0xa5, 0xda, 0x01,
	/* ExitCode 0xC0000005 */
	0x05, 0x00, 0x00, 0xc0,
	/* TokenElevationType 3 */
	0x03, 0x00, 0x00, 0x00,
	/* HandleCount 87 */
	0x57, 0x00, 0x00, 0x00,
	/* CommitCharge */
	0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* CommitPeak */
	0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* CPUCycleCount */
	0x4e, 0x4a, 0x61, 0x36, 0x00, 0x00, 0x00, 0x00,
	/* ReadOperationCount */
	0x29, 0x00, 0x00, 0x00,
	/* WriteOperationCount */
	0x07, 0x00, 0x00, 0x00,
	/* ReadTransferKiloBytes */
	0x7c, 0x01, 0x00, 0x00,
	/* WriteTransferKiloBytes */
	0x0c, 0x00, 0x00, 0x00,
	/* HardFaultCount */
	0x03, 0x00, 0x00, 0x00,
	/* ImageName (ANSI) */
	0x78, 0x2e, 0x65, 0x78, 0x65, 0x00,
};

/* ProcessStop v0 */
static const uint8_t stop_v0[] = {
	/* ProcessID 1234 */
	0xd2, 0x04, 0x00, 0x00,
	/* CreateTime */
	0x00, 0x8e, 0x44, 0x29, 0x52, 0x00, 0xce, 0x01,
	/* ExitTime */
	0x00, 0xde, 0xed, 0xd4, 0x52, 0x00, 0xce, 0x01,
	/* ExitCode 0 */
	0x00, 0x00, 0x00, 0x00,
	/* TokenElevationType 1 */
	0x01, 0x00, 0x00, 0x00,
	/* HandleCount 220 */
	0xdc, 0x00, 0x00, 0x00,
	/* CommitCharge */
	0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* CommitPeak */
	0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* ImageName (ANSI) */
	0x73, 0x76, 0x63, 0x68, 0x6f, 0x73, 0x74, 0x2e,
	0x65, 0x78, 0x65, 0x00,
};

/* TCPv4 connection attempted (12): x.exe to 10.0.0.5:445 */
static const uint8_t tcp4_connect[] = {
	/* PID 7424 */
	0x00, 0x1d, 0x00, 0x00,
	/* size 0 */
	0x00, 0x00, 0x00, 0x00,
	/* daddr 10.0.0.5 */
	0x0a, 0x00, 0x00, 0x05,
	/* saddr 192.168.1.23 */
	0xc0, 0xa8, 0x01, 0x17,
	/* dport 445 (network order) */
	0x01, 0xbd,
	/* sport 49732 */
	0xc2, 0x44,
	/* mss 1460, sackopt 1, tsopt 0, wsopt 1 */
	0xb4, 0x05, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00,
	/* rcvwin 64240 */
	0xf0, 0xfa, 0x00, 0x00,
	/* rcvwinscale 8, sndwinscale 8 */
	0x08, 0x00, 0x08, 0x00,
	/* seqnum */
	0xf0, 0x11, 0x3c, 0x9a,
	/* connid */
	0x00, 0x00, 0x00, 0x00,
};

/* TCPv4 connection accepted (15): svchost.exe on 3389 from 203.0.113.9 */
static const uint8_t tcp4_accept[] = {
	/* PID 1234 */
	0xd2, 0x04, 0x00, 0x00,
	/* size 0 */
	0x00, 0x00, 0x00, 0x00,
	/* daddr 203.0.113.9 */
	0xcb, 0x00, 0x71, 0x09,
	/* saddr 192.168.1.23 */
	0xc0, 0xa8, 0x01, 0x17,
	/* dport 51000 (network order) */
	0xc7, 0x38,
	/* sport 3389 */
	0x0d, 0x3d,
	/* mss 1460, sackopt 1, tsopt 0, wsopt 1 */
	0xb4, 0x05, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00,
	/* rcvwin 64240 */
	0xf0, 0xfa, 0x00, 0x00,
	/* rcvwinscale 8, sndwinscale 8 */
	0x08, 0x00, 0x08, 0x00,
	/* seqnum */
	0x4e, 0x3d, 0x2c, 0x1b,
	/* connid */
	0x00, 0x00, 0x00, 0x00,
};

/* TCPv6 connection attempted (28) */
static const uint8_t tcp6_connect[] = {
	/* PID 7424 */
	0x00, 0x1d, 0x00, 0x00,
	/* size 0 */
	0x00, 0x00, 0x00, 0x00,
	/* daddr 2001:db8::5 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
	/* saddr 2001:db8::17 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x17,
	/* dport 445 (network order) */
	0x01, 0xbd,
	/* sport 49733 */
	0xc2, 0x45,
	/* mss 1460, sackopt 1, tsopt 0, wsopt 1 */
	0xb4, 0x05, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00,
	/* rcvwin 64240 */
	0xf0, 0xfa, 0x00, 0x00,
	/* rcvwinscale 8, sndwinscale 8 */
	0x08, 0x00, 0x08, 0x00,
	/* seqnum */
	0x0d, 0xf0, 0xad, 0x0b,
	/* connid */
	0x00, 0x00, 0x00, 0x00,
};

/* TCPv6 connection accepted (31) */
static const uint8_t tcp6_accept[] = {
	/* PID 1234 */
	0xd2, 0x04, 0x00, 0x00,
	/* size 0 */
	0x00, 0x00, 0x00, 0x00,
	/* daddr 2001:db8:1::9 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
	/* saddr 2001:db8::17 */
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x17,
	/* dport 51001 (network order) */
	0xc7, 0x39,
	/* sport 3389 */
	0x0d, 0x3d,
	/* mss 1460, sackopt 1, tsopt 0, wsopt 1 */
	0xb4, 0x05, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00,
	/* rcvwin 64240 */
	0xf0, 0xfa, 0x00, 0x00,
	/* rcvwinscale 8, sndwinscale 8 */
	0x08, 0x00, 0x08, 0x00,
	/* seqnum */
	0x78, 0x56, 0x34, 0x12,
	/* connid */
	0x00, 0x00, 0x00, 0x00,
};

static char pathbuf[1024];

static struct pk_etw_rec
mkrec(const uint8_t *prov, uint16_t id, uint8_t version, const void *data,
    size_t len)
{
	struct pk_etw_rec r;

	memset(&r, 0, sizeof(r));
	memcpy(r.provider, prov, 16);
	r.id = id;
	r.version = version;
	r.ptrsize = 8;
	r.ts_ns = 77;
	r.data = data;
	r.len = len;
	return r;
}

static int
dec(const uint8_t *prov, uint16_t id, uint8_t version, const void *data,
    size_t len, struct pk_pev *ev, unsigned *fl)
{
	struct pk_etw_rec r = mkrec(prov, id, version, data, len);

	return pk_etw_decode(&r, ev, pathbuf, sizeof(pathbuf), fl);
}

#define PROC	pk_etw_guid_kernel_process
#define NET	pk_etw_guid_kernel_network

static void
addr_is(const struct pk_addr *a, const char *want)
{
	char s[PK_ADDRSTRLEN];

	pk_addr_format(a, s, sizeof(s));
	assert_string_equal(s, want);
}

static void
test_start_v3_temp(void **state)
{
	struct pk_pev ev;
	unsigned fl;

	(void)state;
	assert_int_equal(dec(PROC, 1, 3, start_v3_temp, sizeof(start_v3_temp),
	    &ev, &fl), PK_ETW_OK);
	assert_int_equal(ev.type, PK_EV_EXEC);
	assert_int_equal(ev.pid, 7424);
	assert_int_equal(ev.u.exec.ppid, 6112);
	assert_int_equal(ev.ts_ns, 77);
	assert_string_equal(ev.u.exec.path,
	    "\\Device\\HarddiskVolume3\\Users\\alice\\AppData\\Local\\Temp\\"
	    "x.exe");
	assert_int_equal(ev.u.exec.path_len, strlen(ev.u.exec.path));
	assert_ptr_equal(ev.u.exec.fname, ev.u.exec.path);
	assert_int_equal(ev.u.exec.argc, 0);
	assert_int_equal(ev.u.exec.argv_len, 0);
	assert_non_null(ev.u.exec.argv);
	assert_int_equal(ev.u.exec.flags, 0);
	assert_string_equal(ev.comm, "x.exe");
	assert_int_equal(fl, PK_ETW_F_NTDEVICE);
}

static void
test_start_v0(void **state)
{
	struct pk_pev ev;
	unsigned fl;

	(void)state;
	assert_int_equal(dec(PROC, 1, 0, start_v0, sizeof(start_v0), &ev,
	    &fl), PK_ETW_OK);
	assert_int_equal(ev.type, PK_EV_EXEC);
	assert_int_equal(ev.pid, 1234);
	assert_int_equal(ev.u.exec.ppid, 600);
	assert_string_equal(ev.u.exec.path,
	    "\\Device\\HarddiskVolume2\\Windows\\System32\\svchost.exe");
	assert_string_equal(ev.comm, "svchost.exe");
	assert_int_equal(fl, PK_ETW_F_NTDEVICE);
	/* The v0 bytes are not a v1 record: Flags would swallow the
	 * image name's first two units and the package strings are absent. */
	assert_int_not_equal(dec(PROC, 1, 1, start_v0, sizeof(start_v0), &ev,
	    &fl), PK_ETW_OK);
}

static void
test_start_v1_package(void **state)
{
	struct pk_pev ev;
	unsigned fl;

	(void)state;
	assert_int_equal(dec(PROC, 1, 1, start_v1_pkg, sizeof(start_v1_pkg),
	    &ev, &fl), PK_ETW_OK);
	assert_int_equal(ev.pid, 9012);
	assert_int_equal(ev.u.exec.ppid, 5540);
	assert_string_equal(ev.u.exec.path, "C:\\Program Files\\WindowsApps\\"
	    "Microsoft.WindowsNotepad_11.2312.18.0_x64__8wekyb3d8bbwe\\"
	    "Notepad\\Notepad.exe");
	/* a drive-letter path is not flagged for mapping */
	assert_int_equal(fl, 0);
	/* comm: the last component, at most 16 bytes */
	assert_string_equal(ev.comm, "Notepad.exe");
	/* v2 has v1's layout */
	assert_int_equal(dec(PROC, 1, 2, start_v1_pkg, sizeof(start_v1_pkg),
	    &ev, &fl), PK_ETW_OK);
	assert_int_equal(ev.pid, 9012);
	/* without the last string's terminator it is refused */
	assert_int_equal(dec(PROC, 1, 1, start_v1_pkg,
	    sizeof(start_v1_pkg) - 2, &ev, &fl), PK_ETW_EUNTERM);
}

static void
test_stop(void **state)
{
	struct pk_pev ev;
	unsigned fl;

	(void)state;
	assert_int_equal(dec(PROC, 2, 2, stop_v2, sizeof(stop_v2), &ev, &fl),
	    PK_ETW_OK);
	assert_int_equal(ev.type, PK_EV_EXIT);
	assert_int_equal(ev.pid, 7424);
	assert_int_equal((uint32_t)ev.u.exit.code, 0xC0000005u);
	assert_int_equal(dec(PROC, 2, 0, stop_v0, sizeof(stop_v0), &ev, &fl),
	    PK_ETW_OK);
	assert_int_equal(ev.type, PK_EV_EXIT);
	assert_int_equal(ev.pid, 1234);
	assert_int_equal(ev.u.exit.code, 0);
	assert_int_equal(fl, 0);
	/* v1 reads ExitCode where v0 has it: read as v1, the v2 record's
	 * ExitCode is the low half of ExitTime, not 0xC0000005 */
	assert_int_equal(dec(PROC, 2, 1, stop_v2, sizeof(stop_v2), &ev, &fl),
	    PK_ETW_OK);
	assert_int_not_equal((uint32_t)ev.u.exit.code, 0xC0000005u);
	/* only up to ExitCode is needed: 24 bytes (v0/v1), 32 (v2) */
	assert_int_equal(dec(PROC, 2, 0, stop_v0, 24, &ev, &fl), PK_ETW_OK);
	assert_int_equal(dec(PROC, 2, 0, stop_v0, 23, &ev, &fl),
	    PK_ETW_ESHORT);
	assert_int_equal(dec(PROC, 2, 2, stop_v2, 32, &ev, &fl), PK_ETW_OK);
	assert_int_equal(dec(PROC, 2, 2, stop_v2, 31, &ev, &fl),
	    PK_ETW_ESHORT);
}

static void
test_tcp(void **state)
{
	struct pk_pev ev;
	unsigned fl;

	(void)state;
	assert_int_equal(dec(NET, 12, 0, tcp4_connect, sizeof(tcp4_connect),
	    &ev, &fl), PK_ETW_OK);
	assert_int_equal(ev.type, PK_EV_CONNECT);
	assert_int_equal(ev.pid, 7424);
	assert_int_equal(ev.u.conn.phase, PK_CONN_ATTEMPT);
	assert_int_equal(ev.u.conn.proto, 6);
	addr_is(&ev.u.conn.dst, "10.0.0.5");
	addr_is(&ev.u.conn.src, "192.168.1.23");
	assert_int_equal(ev.u.conn.dport, 445);
	assert_int_equal(ev.u.conn.sport, 49732);
	assert_int_equal(ev.u.conn.err, 0);
	assert_int_equal(fl, 0);

	assert_int_equal(dec(NET, 15, 0, tcp4_accept, sizeof(tcp4_accept),
	    &ev, &fl), PK_ETW_OK);
	assert_int_equal(ev.pid, 1234);
	assert_int_equal(ev.u.conn.phase, PK_CONN_ACCEPTED);
	assert_int_equal(fl, PK_ETW_F_INBOUND);
	addr_is(&ev.u.conn.dst, "203.0.113.9");
	addr_is(&ev.u.conn.src, "192.168.1.23");
	assert_int_equal(ev.u.conn.dport, 51000);
	assert_int_equal(ev.u.conn.sport, 3389);

	assert_int_equal(dec(NET, 28, 0, tcp6_connect, sizeof(tcp6_connect),
	    &ev, &fl), PK_ETW_OK);
	assert_int_equal(ev.u.conn.phase, PK_CONN_ATTEMPT);
	addr_is(&ev.u.conn.dst, "2001:db8::5");
	addr_is(&ev.u.conn.src, "2001:db8::17");
	assert_int_equal(ev.u.conn.dport, 445);
	assert_int_equal(ev.u.conn.sport, 49733);

	assert_int_equal(dec(NET, 31, 0, tcp6_accept, sizeof(tcp6_accept),
	    &ev, &fl), PK_ETW_OK);
	assert_int_equal(ev.u.conn.phase, PK_CONN_ACCEPTED);
	assert_int_equal(fl, PK_ETW_F_INBOUND);
	addr_is(&ev.u.conn.dst, "2001:db8:1::9");
	assert_int_equal(ev.u.conn.sport, 3389);

	/* the whole layout: 44 bytes (v4), 68 (v6) */
	assert_int_equal(sizeof(tcp4_connect), 44);
	assert_int_equal(sizeof(tcp6_connect), 68);
	/* an IPv6 record read as IPv4 decodes other addresses: the event id,
	 * not the length, says which */
	assert_int_equal(dec(NET, 12, 0, tcp6_connect, sizeof(tcp6_connect),
	    &ev, &fl), PK_ETW_OK);
	assert_int_equal(ev.u.conn.dst.family, 4);
}

/* Every prefix shorter than the whole record is refused, never read past
 * (ASan checks that), for the records whose every field is checked. */
static void
test_truncated(void **state)
{
	static const struct {
		const uint8_t	*b;
		size_t		 len, need;
		uint16_t	 id;
		uint8_t		 ver;
		const uint8_t	*prov;
	} recs[] = {
		{ start_v3_temp, sizeof(start_v3_temp), sizeof(start_v3_temp),
		    1, 3, PROC },
		{ start_v0, sizeof(start_v0), sizeof(start_v0), 1, 0, PROC },
		{ start_v1_pkg, sizeof(start_v1_pkg), sizeof(start_v1_pkg),
		    1, 1, PROC },
		{ stop_v2, sizeof(stop_v2), 32, 2, 2, PROC },
		{ tcp4_connect, sizeof(tcp4_connect), 20, 12, 0, NET },
		{ tcp6_accept, sizeof(tcp6_accept), 44, 31, 0, NET },
	};
	struct pk_pev ev;
	unsigned fl;
	size_t i, n;
	uint8_t *copy;

	(void)state;
	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		for (n = 0; n <= recs[i].len; n++) {
			int e;

			/* a heap copy of exactly n bytes: ASan sees any
			 * read past it */
			copy = malloc(n > 0 ? n : 1);
			assert_non_null(copy);
			memcpy(copy, recs[i].b, n);
			e = dec(recs[i].prov, recs[i].id, recs[i].ver, copy, n,
			    &ev, &fl);
			free(copy);
			if (n < recs[i].need) {
				assert_true(e == PK_ETW_ESHORT ||
				    e == PK_ETW_EUNTERM || e == PK_ETW_EODD);
				assert_int_equal(ev.type, 0);
				assert_string_equal(pathbuf, "");
			} else
				assert_int_equal(e, PK_ETW_OK);
		}
	}
	/* no data at all */
	assert_int_equal(dec(PROC, 1, 3, NULL, 0, &ev, &fl), PK_ETW_ESHORT);
	assert_int_equal(dec(NET, 12, 0, NULL, 0, &ev, &fl), PK_ETW_ESHORT);
}

/* A v0 ProcessStart around an image name given as UTF-16 units. */
static size_t
mk_v0(uint8_t *b, size_t cap, const uint16_t *units, size_t n, int term)
{
	size_t o = 0, i;

	assert_true(cap >= 20 + 2 * n + 2);
	memcpy(b, start_v0, 20);		/* fixed fields */
	o = 20;
	for (i = 0; i < n; i++) {
		b[o++] = (uint8_t)(units[i] & 0xff);
		b[o++] = (uint8_t)(units[i] >> 8);
	}
	if (term) {
		b[o++] = 0;
		b[o++] = 0;
	}
	return o;
}

static void
test_strings(void **state)
{
	/* "C:\a" U+00E9 U+1F600 (a pair), a lone high surrogate, 'b',
	 * a lone low surrogate, a high surrogate at the very end */
	static const uint16_t u[] = { 'C', ':', '\\', 'a', 0x00e9, 0xd83d,
	    0xde00, 0xd800, 'b', 0xdc00, 0xdbff };
	uint8_t b[256];
	struct pk_pev ev;
	unsigned fl;
	size_t n;

	(void)state;
	n = mk_v0(b, sizeof(b), u, sizeof(u) / sizeof(u[0]), 1);
	assert_int_equal(dec(PROC, 1, 0, b, n, &ev, &fl), PK_ETW_OK);
	assert_string_equal(ev.u.exec.path, "C:\\a\xc3\xa9\xf0\x9f\x98\x80"
	    "\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
	assert_int_equal(fl, PK_ETW_F_REPLACED);
	assert_null(memchr(ev.u.exec.path, '\0', ev.u.exec.path_len));

	/* unterminated at an even length, then at an odd one */
	n = mk_v0(b, sizeof(b), u, 4, 0);
	assert_int_equal(dec(PROC, 1, 0, b, n, &ev, &fl), PK_ETW_EUNTERM);
	assert_int_equal(dec(PROC, 1, 0, b, n - 1, &ev, &fl), PK_ETW_EODD);
	b[n] = 'x';
	assert_int_equal(dec(PROC, 1, 0, b, n + 1, &ev, &fl), PK_ETW_EODD);
	/* an empty image name is a record, with an empty path */
	n = mk_v0(b, sizeof(b), u, 0, 1);
	assert_int_equal(dec(PROC, 1, 0, b, n, &ev, &fl), PK_ETW_OK);
	assert_int_equal(ev.u.exec.path_len, 0);
	assert_string_equal(ev.comm, "");
}

/* Longer than the caller's buffer: cut on a character boundary. */
static void
test_overlong(void **state)
{
	static const uint16_t u[] = { 'C', ':', '\\', 'T', 'e', 'm', 'p',
	    '\\', 'a', 0x017e, 0x017e, 0x017e, 0x017e, 0x017e, 0x017e, 0x017e,
	    0x017e, 0x017e, 0x017e, '.', 'e', 'x', 'e' };
	uint8_t b[256], big[sizeof(tcp4_connect) + 64];
	char small[11];
	struct pk_etw_rec r;
	struct pk_pev ev;
	unsigned fl;
	size_t n;

	(void)state;
	n = mk_v0(b, sizeof(b), u, sizeof(u) / sizeof(u[0]), 1);
	r = mkrec(PROC, 1, 0, b, n);
	assert_int_equal(pk_etw_decode(&r, &ev, small, sizeof(small), &fl),
	    PK_ETW_OK);
	/* "C:\Temp\a" is 9 bytes and U+017E two: 11 does not fit in 10 */
	assert_int_equal(ev.u.exec.path_len, 9);
	assert_memory_equal(small, "C:\\Temp\\a", 10);
	assert_true(fl & PK_ETW_F_TRUNC);
	assert_true(ev.u.exec.flags & PK_EXEC_PATH_TRUNC);
	/* comm: at most 16 bytes, never half a character */
	assert_int_equal(dec(PROC, 1, 0, b, n, &ev, &fl), PK_ETW_OK);
	assert_string_equal(ev.comm,
	    "a\xc5\xbe\xc5\xbe\xc5\xbe\xc5\xbe\xc5\xbe\xc5\xbe\xc5\xbe");
	assert_int_equal(fl, 0);
	/* a one-byte buffer holds only the NUL */
	assert_int_equal(pk_etw_decode(&r, &ev, small, 1, &fl), PK_ETW_OK);
	assert_int_equal(ev.u.exec.path_len, 0);
	assert_int_equal(small[0], '\0');
	/* bytes after a known layout's last field are ignored */
	memset(big, 0xee, sizeof(big));
	memcpy(big, tcp4_connect, sizeof(tcp4_connect));
	assert_int_equal(dec(NET, 12, 0, big, sizeof(big), &ev, &fl),
	    PK_ETW_OK);
	assert_int_equal(ev.u.conn.dport, 445);
}

static void
test_refusals(void **state)
{
	uint8_t sid[sizeof(start_v3_temp)];
	struct pk_etw_rec r;
	struct pk_pev ev;
	unsigned fl;
	int e;
	const char *seen[PK_ETW__NERR];

	(void)state;
	/* unknown versions */
	assert_int_equal(dec(PROC, 1, 4, start_v3_temp, sizeof(start_v3_temp),
	    &ev, &fl), PK_ETW_EVERSION);
	assert_int_equal(dec(PROC, 2, 3, stop_v2, sizeof(stop_v2), &ev, &fl),
	    PK_ETW_EVERSION);
	assert_int_equal(dec(NET, 12, 1, tcp4_connect, sizeof(tcp4_connect),
	    &ev, &fl), PK_ETW_EVERSION);
	/* unknown events: thread start, TCP send, UDP */
	assert_int_equal(dec(PROC, 3, 0, start_v0, sizeof(start_v0), &ev,
	    &fl), PK_ETW_EEVENT);
	assert_int_equal(dec(NET, 10, 0, tcp4_connect, sizeof(tcp4_connect),
	    &ev, &fl), PK_ETW_EEVENT);
	assert_int_equal(dec(NET, 42, 0, tcp4_connect, sizeof(tcp4_connect),
	    &ev, &fl), PK_ETW_EEVENT);
	/* another provider (Kernel-Process with one bit flipped) */
	r = mkrec(PROC, 1, 0, start_v0, sizeof(start_v0));
	r.provider[15] ^= 1;
	assert_int_equal(pk_etw_decode(&r, &ev, pathbuf, sizeof(pathbuf),
	    &fl), PK_ETW_EPROVIDER);
	/* pointer size */
	r = mkrec(PROC, 1, 0, start_v0, sizeof(start_v0));
	r.ptrsize = 0;
	assert_int_equal(pk_etw_decode(&r, &ev, pathbuf, sizeof(pathbuf),
	    &fl), PK_ETW_EPTRSIZE);
	r.ptrsize = 4;
	assert_int_equal(pk_etw_decode(&r, &ev, pathbuf, sizeof(pathbuf),
	    &fl), PK_ETW_OK);
	/* caller errors */
	assert_int_equal(pk_etw_decode(&r, &ev, pathbuf, 0, &fl), PK_ETW_EARG);
	r.data = NULL;
	assert_int_equal(pk_etw_decode(&r, &ev, pathbuf, sizeof(pathbuf),
	    &fl), PK_ETW_EARG);
	/* a malformed MandatoryLabel: revision 2, then 16 sub-authorities,
	 * then more sub-authorities than the record holds */
	memcpy(sid, start_v3_temp, sizeof(sid));
	sid[48] = 2;
	assert_int_equal(dec(PROC, 1, 3, sid, sizeof(sid), &ev, &fl),
	    PK_ETW_ESID);
	sid[48] = 1;
	sid[49] = 16;
	assert_int_equal(dec(PROC, 1, 3, sid, sizeof(sid), &ev, &fl),
	    PK_ETW_ESID);
	sid[49] = 15;
	assert_int_equal(dec(PROC, 1, 3, sid, 48 + 8 + 4 * 14, &ev, &fl),
	    PK_ETW_ESHORT);
	/* each refusal has its own text */
	for (e = 0; e < PK_ETW__NERR; e++) {
		int j;

		seen[e] = pk_etw_strerror(-e);
		assert_string_not_equal(seen[e], "?");
		for (j = 0; j < e; j++)
			assert_string_not_equal(seen[e], seen[j]);
	}
	assert_string_equal(pk_etw_strerror(-PK_ETW__NERR), "?");
}

static void
test_layouts(void **state)
{
	(void)state;
	assert_non_null(pk_etw_layout(PROC, 1, 0));
	assert_non_null(strstr(pk_etw_layout(PROC, 1, 3),
	    "MandatoryLabel,ImageName"));
	assert_string_equal(pk_etw_layout(PROC, 1, 1),
	    pk_etw_layout(PROC, 1, 2));
	assert_string_equal(pk_etw_layout(PROC, 2, 0),
	    "ProcessID,CreateTime,ExitTime,ExitCode");
	assert_string_equal(pk_etw_layout(NET, 31, 0),
	    "PID,size,daddr,saddr,dport,sport");
	assert_null(pk_etw_layout(PROC, 1, 4));
	assert_null(pk_etw_layout(PROC, 3, 0));
	assert_null(pk_etw_layout(NET, 12, 1));
	assert_null(pk_etw_layout(NET, 10, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_v3_temp),
		cmocka_unit_test(test_start_v0),
		cmocka_unit_test(test_start_v1_package),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_layouts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
