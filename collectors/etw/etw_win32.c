/*
 * etw_win32.c - the ETW real-time session of the Windows agent (see
 * etw_win32.h).  Steps: StartTraceW for the session "Picket-Agent" (a
 * leftover session of that name, from an agent that died, is stopped and
 * the start tried once more), EnableTraceEx2 for Kernel-Process (process
 * keyword) and Kernel-Network (IPv4 and IPv6 keywords), OpenTraceW in
 * real-time event-record mode, and ProcessTrace on its own thread.  The
 * callback runs on that thread: it keeps only the six events the decoder
 * knows (Kernel-Network also sends every TCP send and receive under the
 * same keywords), copies each into a fixed-size queue slot, and counts
 * what it had to drop (queue full, record larger than a slot).  The
 * agent's loop drains the queue through etwdecode.c, so parsing never
 * runs on ETW's thread and never needs Windows to be tested.
 *
 * TDH is used for what it is for at run time: the first time an event
 * (provider, id, version) arrives, TdhGetEventInformation reads the field
 * names from the manifest installed on this host, and they are compared
 * with the layout the decoder assumes (pk_etw_layout).  A mismatch is
 * logged once and that event's records are counted and not decoded: a
 * future Windows that reorders fields is seen, not misread.  tdh.dll is
 * loaded at run time, so a host (or wine) without it still runs, unchecked.
 */
#include <windows.h>
#include <evntcons.h>
#include <evntrace.h>
#include <tdh.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/ebpf/proc.h"
#include "collectors/etw/etw_win32.h"
#include "collectors/etw/etwdecode.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"

#define SESSION_W	L"Picket-Agent"
#define NAME_BYTES	(sizeof(SESSION_W) + 2)
#define KEYS_MAX	16	/* (provider, id, version) seen, for TDH */
#define LAYOUT_MAX	512
#define STOP_WAIT_MS	5000

/* {22FB2CD6-0E7B-422B-A0C7-2FAD1FD0E716}, {7DD42A49-5329-4832-8DFD-43D979153A88} */
static const GUID guid_process = { 0x22fb2cd6, 0x0e7b, 0x422b,
	{ 0xa0, 0xc7, 0x2f, 0xad, 0x1f, 0xd0, 0xe7, 0x16 } };
static const GUID guid_network = { 0x7dd42a49, 0x5329, 0x4832,
	{ 0x8d, 0xfd, 0x43, 0xd9, 0x79, 0x15, 0x3a, 0x88 } };

typedef ULONG (WINAPI *tdh_info_fn)(PEVENT_RECORD, ULONG, PVOID,
    PTRACE_EVENT_INFO, PULONG);

struct slot {
	struct pk_etw_rec	 rec;	/* rec.data set when drained */
	uint8_t			 data[PK_ETW_DATA_MAX];
};

/* What TDH said about one (provider, id, version). */
struct key {
	uint8_t		 provider[16];
	uint16_t	 id;
	uint8_t		 version;
	int		 verdict;	/* 1 agrees, -1 differs, 0 unchecked */
	int		 logged;
	char		 names[LAYOUT_MAX];	/* TDH's, when it differs */
};

struct pk_etw {
	/* session */
	TRACEHANDLE		 session, trace;
	HANDLE			 thread;
	EVENT_TRACE_PROPERTIES	*props;
	size_t			 props_len;
	pk_etw_sink		 sink;
	void			*arg;
	HMODULE			 tdh;
	tdh_info_fn		 tdh_info;

	/* the queue: the callback writes, the loop reads, under lock */
	CRITICAL_SECTION	 lock;
	struct slot		*q;
	size_t			 head, count;
	struct key		 keys[KEYS_MAX];
	size_t			 nkeys;
	uint64_t		 received, ignored, queued, dropped_full,
				 dropped_size, mismatched, keys_full;

	/* the loop's own */
	struct slot		 cur;
	char			 path[PK_EV_PATH_MAX];
	uint64_t		 decoded[PK_EV__MAX], bad[PK_ETW__NERR];
	uint64_t		 inbound, ntdevice, replaced, truncated;
};

/* ---- the callback (ProcessTrace's thread) --------------------------------- */

static int
wanted(const EVENT_RECORD *r)
{
	USHORT id = r->EventHeader.EventDescriptor.Id;

	if (IsEqualGUID(&r->EventHeader.ProviderId, &guid_process))
		return id == PK_ETW_PROCESS_START || id == PK_ETW_PROCESS_STOP;
	if (IsEqualGUID(&r->EventHeader.ProviderId, &guid_network))
		return id == PK_ETW_TCP4_CONNECT || id == PK_ETW_TCP4_ACCEPT ||
		    id == PK_ETW_TCP6_CONNECT || id == PK_ETW_TCP6_ACCEPT;
	return 0;
}

/* TDH's top-level field names, comma-separated, into out. */
static int
tdh_names(struct pk_etw *e, PEVENT_RECORD r, char *out, size_t len)
{
	TRACE_EVENT_INFO *info;
	ULONG size = 0, i, st;
	size_t o = 0;

	out[0] = '\0';
	st = e->tdh_info(r, 0, NULL, NULL, &size);
	if (st != ERROR_INSUFFICIENT_BUFFER || size < sizeof(*info) ||
	    size > 65536 || (info = malloc(size)) == NULL)
		return -1;
	if (e->tdh_info(r, 0, NULL, info, &size) != ERROR_SUCCESS ||
	    info->TopLevelPropertyCount > 64 ||
	    offsetof(TRACE_EVENT_INFO, EventPropertyInfoArray) +
	    (size_t)info->TopLevelPropertyCount * sizeof(EVENT_PROPERTY_INFO) >
	    size) {
		free(info);
		return -1;
	}
	for (i = 0; i < info->TopLevelPropertyCount; i++) {
		ULONG off = info->EventPropertyInfoArray[i].NameOffset;
		const WCHAR *w;
		size_t k;

		if (off == 0 || off >= size - 1)
			break;
		w = (const WCHAR *)(const void *)((const char *)info + off);
		if (i > 0 && o + 1 < len)
			out[o++] = ',';
		/* names are ASCII in these manifests; bounded by the buffer */
		for (k = 0; off + 2 * k + 1 < size && w[k] != 0 &&
		    o + 1 < len; k++)
			out[o++] = w[k] < 0x80 ? (char)w[k] : '?';
	}
	out[o] = '\0';
	free(info);
	return 0;
}

/* 1: decode it, 0: its layout differs from the decoder's, skip it. */
static int
layout_ok(struct pk_etw *e, PEVENT_RECORD r)
{
	const EVENT_DESCRIPTOR *d = &r->EventHeader.EventDescriptor;
	char names[LAYOUT_MAX];
	const char *want;
	struct key *k;
	size_t i;

	for (i = 0; i < e->nkeys; i++) {
		k = &e->keys[i];
		if (k->id == d->Id && k->version == d->Version &&
		    memcmp(k->provider, &r->EventHeader.ProviderId, 16) == 0)
			return k->verdict >= 0;
	}
	if (e->tdh_info == NULL)
		return 1;
	if (e->nkeys == KEYS_MAX) {
		e->keys_full++;		/* unchecked, still decoded */
		return 1;
	}
	k = &e->keys[e->nkeys];
	memset(k, 0, sizeof(*k));
	memcpy(k->provider, &r->EventHeader.ProviderId, 16);
	k->id = d->Id;
	k->version = d->Version;
	want = pk_etw_layout(k->provider, k->id, k->version);
	if (want != NULL && tdh_names(e, r, names, sizeof(names)) == 0) {
		size_t n = strlen(want);

		k->verdict = strncmp(names, want, n) == 0 &&
		    (names[n] == '\0' || names[n] == ',') ? 1 : -1;
		if (k->verdict < 0)
			pk_strlcpy(k->names, names, sizeof(k->names));
	}
	EnterCriticalSection(&e->lock);
	e->nkeys++;
	LeaveCriticalSection(&e->lock);
	return k->verdict >= 0;
}

static VOID WINAPI
on_event(PEVENT_RECORD r)
{
	struct pk_etw *e = r->UserContext;
	struct slot *s;
	int ok;

	if (e == NULL)
		return;
	if (!wanted(r)) {
		InterlockedIncrement64((LONG64 *)&e->ignored);
		return;
	}
	ok = layout_ok(e, r);
	EnterCriticalSection(&e->lock);
	e->received++;
	if (!ok)
		e->mismatched++;
	else if (r->UserDataLength > PK_ETW_DATA_MAX)
		e->dropped_size++;
	else if (e->count == PK_ETW_QUEUE_CAP)
		e->dropped_full++;
	else {
		s = &e->q[(e->head + e->count) % PK_ETW_QUEUE_CAP];
		memcpy(s->rec.provider, &r->EventHeader.ProviderId, 16);
		s->rec.id = r->EventHeader.EventDescriptor.Id;
		s->rec.version = r->EventHeader.EventDescriptor.Version;
		s->rec.ptrsize = (r->EventHeader.Flags &
		    EVENT_HEADER_FLAG_32_BIT_HEADER) ? 4 : 8;
		/* the monotonic clock, as ts_ns is on Linux */
		s->rec.ts_ns = pk_mono_us() * 1000;
		s->rec.len = r->UserDataLength;
		if (r->UserDataLength > 0)
			memcpy(s->data, r->UserData, r->UserDataLength);
		e->count++;
		e->queued++;
	}
	LeaveCriticalSection(&e->lock);
}

static DWORD WINAPI
trace_thread(LPVOID arg)
{
	struct pk_etw *e = arg;

	(void)ProcessTrace(&e->trace, 1, NULL, NULL);
	return 0;
}

/* ---- the session ----------------------------------------------------------- */

static void
props_reset(struct pk_etw *e)
{
	EVENT_TRACE_PROPERTIES *p = e->props;

	memset(p, 0, e->props_len);
	p->Wnode.BufferSize = (ULONG)e->props_len;
	p->Wnode.Flags = WNODE_FLAG_TRACED_GUID;
	p->Wnode.ClientContext = 1;		/* QueryPerformanceCounter */
	p->LogFileMode = EVENT_TRACE_REAL_TIME_MODE;
	p->FlushTimer = 1;			/* seconds: events arrive soon */
	p->LoggerNameOffset = sizeof(EVENT_TRACE_PROPERTIES);
}

static int
fail(char *why, size_t len, const char *step, ULONG err)
{
	snprintf(why, len, "%s: error %lu", step, (unsigned long)err);
	return -1;
}

static int
session_start(struct pk_etw *e, char *why, size_t len)
{
	ULONG st;

	props_reset(e);
	st = StartTraceW(&e->session, SESSION_W, e->props);
	if (st == ERROR_ALREADY_EXISTS) {
		/* A session left by an agent that did not stop it. */
		props_reset(e);
		(void)ControlTraceW(0, SESSION_W, e->props,
		    EVENT_TRACE_CONTROL_STOP);
		log_info("process telemetry: stopped a leftover ETW session "
		    "%s", PK_ETW_SESSION_NAME);
		props_reset(e);
		st = StartTraceW(&e->session, SESSION_W, e->props);
	}
	if (st != ERROR_SUCCESS) {
		e->session = 0;
		return fail(why, len, "StartTrace", st);
	}
	st = EnableTraceEx2(e->session, &guid_process,
	    EVENT_CONTROL_CODE_ENABLE_PROVIDER, TRACE_LEVEL_INFORMATION,
	    PK_ETW_KW_PROCESS, 0, 0, NULL);
	if (st != ERROR_SUCCESS)
		return fail(why, len, "EnableTraceEx2 Kernel-Process", st);
	st = EnableTraceEx2(e->session, &guid_network,
	    EVENT_CONTROL_CODE_ENABLE_PROVIDER, TRACE_LEVEL_INFORMATION,
	    PK_ETW_KW_NET_IPV4 | PK_ETW_KW_NET_IPV6, 0, 0, NULL);
	if (st != ERROR_SUCCESS)
		return fail(why, len, "EnableTraceEx2 Kernel-Network", st);
	return 0;
}

static int
trace_open(struct pk_etw *e, char *why, size_t len)
{
	static WCHAR name[] = SESSION_W;
	EVENT_TRACE_LOGFILEW lf;

	memset(&lf, 0, sizeof(lf));
	lf.LoggerName = name;
	lf.ProcessTraceMode = PROCESS_TRACE_MODE_REAL_TIME |
	    PROCESS_TRACE_MODE_EVENT_RECORD;
	lf.EventRecordCallback = on_event;
	lf.Context = e;
	e->trace = OpenTraceW(&lf);
	if (e->trace == INVALID_PROCESSTRACE_HANDLE) {
		e->trace = 0;
		return fail(why, len, "OpenTrace", GetLastError());
	}
	if ((e->thread = CreateThread(NULL, 0, trace_thread, e, 0,
	    NULL)) == NULL)
		return fail(why, len, "CreateThread", GetLastError());
	return 0;
}

/* -1 when ProcessTrace's thread did not end: e must then outlive it. */
static int
teardown(struct pk_etw *e)
{
	int r = 0;

	if (e->session != 0) {
		props_reset(e);
		(void)ControlTraceW(e->session, NULL, e->props,
		    EVENT_TRACE_CONTROL_STOP);
		e->session = 0;
	}
	if (e->trace != 0) {
		(void)CloseTrace(e->trace);
		e->trace = 0;
	}
	if (e->thread != NULL) {
		if (WaitForSingleObject(e->thread, STOP_WAIT_MS) !=
		    WAIT_OBJECT_0) {
			log_warnx("process telemetry: ETW thread did not end");
			r = -1;
		}
		CloseHandle(e->thread);
		e->thread = NULL;
	}
	return r;
}

struct pk_etw *
pk_etw_open(pk_etw_sink sink, void *arg, char *why, size_t whylen)
{
	struct pk_etw *e;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->q = calloc(PK_ETW_QUEUE_CAP, sizeof(*e->q))) == NULL) {
		free(e);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	e->props_len = sizeof(EVENT_TRACE_PROPERTIES) + NAME_BYTES;
	if ((e->props = calloc(1, e->props_len)) == NULL) {
		free(e->q);
		free(e);
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	InitializeCriticalSection(&e->lock);
	e->sink = sink;
	e->arg = arg;
	if ((e->tdh = LoadLibraryA("tdh.dll")) != NULL)
		e->tdh_info = (tdh_info_fn)(void (*)(void))GetProcAddress(
		    e->tdh, "TdhGetEventInformation");
	if (e->tdh_info == NULL)
		log_debug("process telemetry: no TDH; event layouts are not "
		    "checked against the host's manifests");
	if (session_start(e, why, whylen) != 0 ||
	    trace_open(e, why, whylen) != 0) {
		pk_etw_close(e);
		return NULL;
	}
	return e;
}

/* Tell, once each, of events whose manifest differs from the decoder. */
static void
report_mismatches(struct pk_etw *e)
{
	size_t i, n;

	EnterCriticalSection(&e->lock);
	n = e->nkeys;
	LeaveCriticalSection(&e->lock);
	for (i = 0; i < n; i++) {
		struct key *k = &e->keys[i];

		if (k->verdict >= 0 || k->logged)
			continue;
		k->logged = 1;
		log_warnx("process telemetry: event %u version %u: this "
		    "host's manifest has fields %s, not %s; its records are "
		    "skipped", (unsigned)k->id, (unsigned)k->version,
		    k->names, pk_etw_layout(k->provider, k->id, k->version));
	}
}

size_t
pk_etw_poll(struct pk_etw *e, size_t budget)
{
	struct pk_pev ev;
	unsigned fl;
	size_t n;
	int r;

	report_mismatches(e);
	for (n = 0; n < budget; n++) {
		EnterCriticalSection(&e->lock);
		if (e->count == 0) {
			LeaveCriticalSection(&e->lock);
			break;
		}
		e->cur.rec = e->q[e->head].rec;
		memcpy(e->cur.data, e->q[e->head].data, e->cur.rec.len);
		e->head = (e->head + 1) % PK_ETW_QUEUE_CAP;
		e->count--;
		LeaveCriticalSection(&e->lock);

		e->cur.rec.data = e->cur.data;
		r = pk_etw_decode(&e->cur.rec, &ev, e->path, sizeof(e->path),
		    &fl);
		if (r != PK_ETW_OK) {
			if (r < 0 && r > -PK_ETW__NERR)
				e->bad[-r]++;
			continue;
		}
		e->decoded[ev.type]++;
		e->inbound += (fl & PK_ETW_F_INBOUND) != 0;
		e->ntdevice += (fl & PK_ETW_F_NTDEVICE) != 0;
		e->replaced += (fl & PK_ETW_F_REPLACED) != 0;
		e->truncated += (fl & PK_ETW_F_TRUNC) != 0;
		if (e->sink != NULL)
			e->sink(e->arg, &ev, fl);
	}
	return n;
}

void
pk_etw_stats(struct pk_etw *e, FILE *fp)
{
	uint64_t received, ignored, queued, full, size, mism, keys;
	int i;

	EnterCriticalSection(&e->lock);
	received = e->received;
	ignored = e->ignored;
	queued = e->queued;
	full = e->dropped_full;
	size = e->dropped_size;
	mism = e->mismatched;
	keys = e->keys_full;
	LeaveCriticalSection(&e->lock);
#define LINE(name, v) fprintf(fp, "process.etw." name " %llu\n", \
	(unsigned long long)(v))
	LINE("records", received);
	LINE("other_events", ignored);
	LINE("queued", queued);
	LINE("dropped_queue_full", full);
	LINE("dropped_oversize", size);
	LINE("layout_mismatch", mism);
	LINE("layouts_unchecked", keys);
	LINE("exec", e->decoded[PK_EV_EXEC]);
	LINE("exit", e->decoded[PK_EV_EXIT]);
	LINE("connect", e->decoded[PK_EV_CONNECT] - e->inbound);
	LINE("accept", e->inbound);
	LINE("nt_device_paths", e->ntdevice);
	LINE("paths_replaced_utf16", e->replaced);
	LINE("paths_truncated", e->truncated);
#undef LINE
	for (i = 1; i < PK_ETW__NERR; i++)
		if (e->bad[i] != 0)
			fprintf(fp, "process.etw.refused.%d %llu\n", i,
			    (unsigned long long)e->bad[i]);
}

void
pk_etw_close(struct pk_etw *e)
{
	if (e == NULL)
		return;
	/* A callback may still run on a thread that did not end: its
	 * context stays allocated (the process is about to exit). */
	if (teardown(e) != 0)
		return;
	if (e->tdh != NULL)
		FreeLibrary(e->tdh);
	DeleteCriticalSection(&e->lock);
	free(e->props);
	free(e->q);
	free(e);
}
