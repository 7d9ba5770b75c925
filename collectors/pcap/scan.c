/*
 * scan.c - the scan detector (pk_detector_scan).  Four methods, each one
 * indicator per key that updates rather than one line per probe:
 *
 *   picket.scan.port       one source probing many ports of one host,
 *                          or sending even one probe whose TCP flags no
 *                          stack sends (NULL, FIN without ACK, Xmas).
 *   picket.scan.address    one source probing many hosts: many hosts on
 *                          one port in a window, or the Threshold Random
 *                          Walk (Jung et al. 2004), a sequential
 *                          likelihood-ratio test over the outcomes of the
 *                          source's first contacts.  Either method opens
 *                          the same indicator: one per source.
 *   picket.scan.worm_port  SYNs (or datagrams) to worm ports at a rate.
 *
 * A "probe" is the first packet of a new flow that asks for an answer: a
 * bare SYN, a UDP datagram, or a FIN/NULL/Xmas/ACK-style packet with no
 * payload.  SYNs and datagrams are connection attempts: the flow table
 * tells us how they ended, and only the ones that failed (RST, ICMP
 * unreachable, silence) or that were answered but then carried no data in
 * either direction (a half-open probe of an open port) count towards
 * fan-out, so a browser opening connections to thirty CDN hosts or an FTP
 * client opening passive data ports is not a scanner.  Stealth probes
 * have no "success", so they count as soon as they are seen.
 *
 * All state is bounded: sources, port-scan pairs, per-port trackers and
 * worm-port trackers live in LRU tables capped by scan.max_sources, each
 * with its own eviction counter, and large distinct-count bitmaps come
 * from a fixed budget.  docs/detection.md describes the figures.
 * Outbound indicators name the process behind their probes through the
 * engine's attribution service, and share one claim per (process, port)
 * with the process collector so one scan is one indicator
 * (docs/detection.md, "The process behind an outbound scan").
 * Portable.  The engine calls it through struct pk_detector_ops; it calls
 * back pk_engine_emit(), pk_engine_direction(), pk_engine_offline() and
 * the attribution functions (pk_engine_attribute*, pk_engine_scan_*).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/indicator.h"
#include "collectors/pcap/scan.h"
#include "common/dlist.h"
#include "common/json.h"
#include "common/log.h"
#include "common/lrutab.h"
#include "common/netaddr.h"
#include "common/util.h"

#define USEC			1000000ULL
#define SCAN_CONTACTS		64	/* first-contact memory per source */
#define SCAN_TARGETS		8	/* addresses kept for the details */
#define SCAN_TOP_PORTS		10
#define DSET_INLINE		64	/* exact distinct keys before a bitmap */
#define DSET_BITS		65536u	/* 8 KiB bitmap */
#define SCAN_MAX_BITMAPS	256	/* 2 MiB of bitmaps in all */
#define SCAN_MAX_BUCKETS	(1u << 20)
#define SCAN_RECENT		8	/* recent probes kept per home source */
#define ATTR_WAIT_US		(2 * USEC)	/* for the process collector */

/* ---- distinct counters ---------------------------------------------- */

/*
 * Exact for the first DSET_INLINE keys, then a 65536-bit bitmap: exact
 * for 16-bit keys (ports), linear counting (Whang et al. 1990) for hashed
 * keys (hosts), which stays within about 1% well past ten thousand
 * hosts.  If the bitmap budget is spent the count stops growing (counted
 * in scan.bitmaps_denied) rather than memory growing.
 */
struct dset {
	uint32_t	 n;
	uint8_t		 ninl;
	uint8_t		 hashed;
	uint8_t		 full;
	uint32_t	 inl[DSET_INLINE];
	uint8_t		*bits;
	uint32_t	 nbits;
};

/* ---- indicators ------------------------------------------------------ */

enum ikind { IK_PORT = 0, IK_ADDR, IK_WORM, IK__REPORTED,
	IK_ADDR_TRK = IK__REPORTED };	/* per-port part of IK_ADDR: silent */

struct ind {
	struct pk_dlink	 act;		/* list of active indicators */
	void		*owner;
	uint8_t		 kind, active, started, direction;
	/* fingerprint key fixed at the first report, so every report of
	 * one indicator carries the same fingerprint */
	uint8_t		 fp_set, fp_has_port;
	uint16_t	 fp_port;
	uint64_t	 first_us, last_us;	/* packet times */
	uint64_t	 touch_us;	/* detector clock at last growth */
	uint64_t	 count;
	uint64_t	 reported_us, reported_count;
	/*
	 * The process behind an outbound indicator (engine attribution), a
	 * copy the indicator owns; claim_* is the (port, proto) it claimed
	 * for that process.  deferred: the process collector reported this
	 * scan first, so this indicator stays silent.
	 */
	struct pk_proc_ref *proc;
	uint8_t		 attr;		/* ATTR_* */
	uint8_t		 deferred;
	uint8_t		 claim_proto;
	uint16_t	 claim_port;
	uint64_t	 attr_until;	/* detector clock: stop waiting */
};

enum { ATTR_NONE = 0, ATTR_WAIT, ATTR_DONE };

enum { TK_PORT = 0, TK_ADDR, TK_WORM, TK__COUNT };

/*
 * TK_PORT: (src, dst, proto), distinct ports.  TK_ADDR: (src, port,
 * proto), distinct hosts.  TK_WORM: (src, port, proto), SYN rate.
 */
struct trk {
	struct pk_lrunode n;
	uint8_t		 kind, proto;
	uint8_t		 stealth;	/* TK_PORT: an impossible-flags probe */
	uint16_t	 port;
	struct pk_addr	 src, dst;
	uint64_t	 win_start;	/* detector clock */
	uint64_t	 first_ts;	/* earliest probe time in the window */
	uint64_t	 probes;
	struct dset	 ds;
	uint64_t	 rate_cur, rate_prev, rate_start;
	uint8_t		 ntargets;
	struct pk_addr	 targets[SCAN_TARGETS];
	struct ind	 ind;
};

struct addrport {
	uint16_t	 port;
	uint8_t		 proto;
	uint32_t	 hosts;
	uint64_t	 probes;
};

enum { TRW_TESTING = 0, TRW_SCANNER, TRW_BENIGN };

/* A probe's local end: what the attribution service is asked about. */
struct probe {
	uint16_t	 sport, dport;
	uint8_t		 proto;
};

struct src {
	struct pk_lrunode n;
	struct pk_addr	 addr;
	/* TRW: hashes of contacted hosts; pending bit = outcome awaited */
	uint32_t	 contact[SCAN_CONTACTS];
	uint64_t	 pending;
	uint8_t		 ncontacts, contact_next;
	uint8_t		 trw_state, trw_proto;
	double		 llr;
	uint64_t	 trw_until;
	uint32_t	 ok, fail;
	uint64_t	 trw_first, trw_last;
	uint8_t		 ntrw_targets;
	struct pk_addr	 trw_targets[SCAN_TARGETS];
	/* address scan, keyed by source, opened by TRW or by one of its
	 * TK_ADDR trackers crossing the fan-out threshold */
	struct ind	 aind;
	const char	*addr_method;	/* what opened it: "trw", "fanout" */
	uint16_t	 addr_port;
	uint8_t		 addr_proto;
	uint8_t		 naddr_targets;
	struct pk_addr	 addr_targets[SCAN_TARGETS];
	uint8_t		 nports;
	struct addrport	 ports[SCAN_TOP_PORTS];
	/* a home source's latest probes, newest at recent_next - 1 */
	uint8_t		 nrecent, recent_next;
	struct probe	 recent[SCAN_RECENT];
};

struct scan {
	struct pk_engine	*e;
	int			 trw_on;
	double			 llr_ok, llr_fail, llr_hi, llr_lo;
	uint64_t		 addr_hosts, addr_win, port_ports, port_win;
	struct pk_portset	 worm_tcp, worm_udp;
	uint64_t		 worm_tcp_rate, worm_udp_rate, worm_win;
	uint64_t		 idle, update;
	/*
	 * The configured thresholds; the fields above hold the ones in
	 * force, which the sensitivity task lowers (scan_sensitivity).
	 */
	double			 cfg_llr_hi;
	uint64_t		 cfg_addr_hosts, cfg_port_ports;
	uint64_t		 cfg_worm_tcp_rate, cfg_worm_udp_rate;
	struct pk_lrutab	 sources;
	struct pk_lrutab	 tk[TK__COUNT];
	struct pk_dlist		 act;	/* head = least recently grown */
	uint64_t		 nbitmaps, bitmaps_denied;
	uint64_t		 reports, detections[IK__REPORTED];
	uint64_t		 trw_verdicts;	/* sources found scanning by TRW */
	uint64_t		 attributed, unattributed, deferred;
	uint64_t		 now;	/* latest packet/tick time seen */
	uint64_t		 seed;
};

struct details {
	const char		*method;
	int			 has_ports, has_hosts, has_attempts;
	int			 attributed;
	uint64_t		 distinct_ports, distinct_hosts;
	uint64_t		 ok, failed;
	size_t			 ntop;
	uint16_t		 top[SCAN_TOP_PORTS];
	size_t			 ntargets;
	const struct pk_addr	*targets;
};

static uint64_t
age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void
scan_clock(struct scan *s, uint64_t ts)
{
	/* Capture files can step back in time; the clock only advances. */
	if (ts > s->now)
		s->now = ts;
}

static int
addr_is_group(const struct pk_addr *a)
{
	if (a->family == 4)
		return a->a[0] >= 224;
	if (a->family == 6)
		return a->a[0] == 0xff;
	return 0;
}

static uint32_t
host32(const struct scan *s, const struct pk_addr *a)
{
	uint64_t h = pk_fnv1a64(a, sizeof(*a), s->seed);

	return (uint32_t)(h ^ (h >> 32));
}

/* ---- dset ------------------------------------------------------------ */

static uint32_t
dset_index(const struct dset *d, uint32_t key)
{
	return (d->hashed ? (key ^ (key >> 16)) : key) & (DSET_BITS - 1);
}

static int
dset_set(struct dset *d, uint32_t key)
{
	uint32_t i = dset_index(d, key);
	uint8_t m = (uint8_t)(1u << (i & 7));

	if (d->bits[i >> 3] & m)
		return 0;
	d->bits[i >> 3] |= m;
	d->nbits++;
	return 1;
}

static int
dset_grow(struct scan *s, struct dset *d)
{
	uint8_t i;

	if (s->nbitmaps >= SCAN_MAX_BITMAPS ||
	    (d->bits = calloc(DSET_BITS / 8, 1)) == NULL) {
		s->bitmaps_denied++;
		d->full = 1;
		return -1;
	}
	s->nbitmaps++;
	for (i = 0; i < d->ninl; i++)
		dset_set(d, d->inl[i]);
	return 0;
}

static void
dset_count(struct dset *d)
{
	double m = DSET_BITS, est;
	uint32_t n;

	if (!d->hashed) {
		d->n = d->nbits;
		return;
	}
	if (d->nbits >= DSET_BITS)
		return;		/* saturated: keep the last estimate */
	est = -m * log(1.0 - (double)d->nbits / m);
	n = (uint32_t)(est + 0.5);
	if (n > d->n)
		d->n = n;
}

/* Add a key; returns 1 when it was not seen before. */
static int
dset_add(struct scan *s, struct dset *d, uint32_t key)
{
	uint8_t i;

	if (d->bits == NULL) {
		for (i = 0; i < d->ninl; i++)
			if (d->inl[i] == key)
				return 0;
		if (d->ninl < DSET_INLINE) {
			d->inl[d->ninl++] = key;
			d->n++;
			return 1;
		}
		if (d->full || dset_grow(s, d) == -1)
			return 0;
	}
	if (!dset_set(d, key))
		return 0;
	dset_count(d);
	return 1;
}

static void
dset_reset(struct scan *s, struct dset *d)
{
	uint8_t hashed = d->hashed;

	if (d->bits != NULL) {
		free(d->bits);
		s->nbitmaps--;
	}
	memset(d, 0, sizeof(*d));
	d->hashed = hashed;
}

/* ---- reporting -------------------------------------------------------- */

static const char *const rule_ids[IK__REPORTED] = {
	"picket.scan.port", "picket.scan.address", "picket.scan.worm_port",
};
static const char *const rule_names[IK__REPORTED] = {
	"Port scan", "Address scan", "Worm port SYN rate",
};

static uint8_t
severity(int kind, int dir)
{
	if (dir == PK_DIRN_OUTBOUND)	/* this host scans others */
		return kind == IK_WORM ? PK_SEV_CRITICAL : PK_SEV_HIGH;
	if (dir == PK_DIRN_INBOUND)
		return PK_SEV_MEDIUM;
	return PK_SEV_MEDIUM;
}

static void
write_details(struct json *j, const void *arg)
{
	const struct details *d = arg;
	char ip[PK_ADDRSTRLEN];
	size_t i;

	json_str(j, "method", d->method, 0);
	if (d->has_ports)
		json_u64(j, "distinct_ports", d->distinct_ports);
	if (d->has_hosts)
		json_u64(j, "distinct_hosts", d->distinct_hosts);
	if (d->ntop > 0) {
		json_arr_begin(j, "top_ports");
		for (i = 0; i < d->ntop; i++)
			json_u64(j, NULL, d->top[i]);
		json_arr_end(j);
	}
	if (d->ntargets > 0) {
		json_arr_begin(j, "targets");
		for (i = 0; i < d->ntargets; i++)
			json_str(j, NULL, pk_addr_format(&d->targets[i], ip,
			    sizeof(ip)), 0);
		json_arr_end(j);
	}
	if (d->has_attempts) {
		json_u64(j, "attempts_ok", d->ok);
		json_u64(j, "attempts_failed", d->failed);
	}
	if (d->attributed)
		json_bool(j, "attributed", 1);
}

static const char *
proto_name(uint8_t proto)
{
	const char *n = pk_transport_name(proto);

	return n != NULL ? n : "ip";
}

/* Ports of an address scan, most hosts first. */
static void
addr_top_ports(const struct src *sr, struct details *d)
{
	struct addrport p[SCAN_TOP_PORTS], tmp;
	size_t i, k, n = sr->nports;

	memcpy(p, sr->ports, n * sizeof(p[0]));
	for (i = 1; i < n; i++)
		for (k = i; k > 0 && p[k].hosts > p[k - 1].hosts; k--) {
			tmp = p[k];
			p[k] = p[k - 1];
			p[k - 1] = tmp;
		}
	d->ntop = n;
	d->distinct_hosts = 0;
	for (i = 0; i < n; i++) {
		d->top[i] = p[i].port;
		if (p[i].hosts > d->distinct_hosts)
			d->distinct_hosts = p[i].hosts;
	}
}

static void
fill_port(const struct trk *t, struct pk_indicator *pi, struct details *d,
    char *msg, size_t len)
{
	char a[PK_ADDRSTRLEN], b[PK_ADDRSTRLEN];

	pi->src = t->src;
	pi->has_dst = 1;
	pi->dst = t->dst;
	pi->transport = t->proto;
	d->method = t->stealth ? "stealth" : "fanout";
	d->has_ports = 1;
	d->distinct_ports = t->ds.n;
	snprintf(msg, len, "%s scanned %u %s ports on %s",
	    pk_addr_format(&t->src, a, sizeof(a)), t->ds.n,
	    proto_name(t->proto), pk_addr_format(&t->dst, b, sizeof(b)));
}

static uint64_t
addr_probes(const struct src *sr)
{
	uint64_t n = 0;
	uint8_t i;

	for (i = 0; i < sr->nports; i++)
		n += sr->ports[i].probes;
	return n;
}

static void
fill_addr(const struct src *sr, struct pk_indicator *pi, struct details *d,
    char *msg, size_t len)
{
	char a[PK_ADDRSTRLEN];

	pi->src = sr->addr;
	d->method = sr->addr_method;
	d->has_hosts = 1;
	addr_top_ports(sr, d);
	if (d->ntop > 0) {
		pi->has_dport = 1;
		pi->dport = d->top[0];
		pi->transport = sr->addr_proto;
	} else
		pi->transport = sr->trw_proto;
	if (sr->trw_state == TRW_SCANNER) {
		d->has_attempts = 1;
		d->ok = sr->ok;
		d->failed = sr->fail;
		d->distinct_hosts = PK_MAX(d->distinct_hosts,
		    (uint64_t)sr->ok + sr->fail);
	}
	/* TRW's targets are the first failed contacts, in order */
	d->ntargets = sr->ntrw_targets ? sr->ntrw_targets :
	    sr->naddr_targets;
	d->targets = sr->ntrw_targets ? sr->trw_targets : sr->addr_targets;
	/* Both methods see the same failed attempts: report the larger
	 * count rather than their sum. */
	pi->count = PK_MAX(addr_probes(sr), sr->trw_state == TRW_SCANNER ?
	    (uint64_t)sr->ok + sr->fail : 0);
	if (pi->count == 0)
		pi->count = 1;
	if (d->ntop > 0)
		snprintf(msg, len, "%s probed %llu hosts on port %u/%s",
		    pk_addr_format(&sr->addr, a, sizeof(a)),
		    (unsigned long long)d->distinct_hosts, d->top[0],
		    proto_name(sr->addr_proto));
	else
		snprintf(msg, len, "%s failed %u of %u first-contact "
		    "connection attempts", pk_addr_format(&sr->addr, a,
		    sizeof(a)), sr->fail, sr->ok + sr->fail);
}

static void
fill_worm(const struct trk *t, uint64_t count, struct pk_indicator *pi,
    struct details *d, char *msg, size_t len)
{
	char a[PK_ADDRSTRLEN];

	pi->src = t->src;
	pi->has_dport = 1;
	pi->dport = t->port;
	pi->transport = t->proto;
	d->method = "rate";
	d->has_hosts = 1;
	d->distinct_hosts = t->ds.n;
	d->ntargets = t->ntargets;
	d->targets = t->targets;
	snprintf(msg, len, "%s sent %llu %s to port %u/%s (%u hosts)",
	    pk_addr_format(&t->src, a, sizeof(a)), (unsigned long long)count,
	    t->proto == PK_PROTO_TCP ? "SYNs" : "datagrams", t->port,
	    proto_name(t->proto), t->ds.n);
}

/* " by /path (pid N)" after the summary. */
static void
proc_suffix(const struct pk_proc_ref *r, char *msg, size_t len)
{
	size_t n = strlen(msg);

	/* cut like the rest of the summary: the full path is in process.* */
	if (n + 1 < len && snprintf(msg + n, len - n, " by %s (pid %u)",
	    r->exe[0] != '\0' ? r->exe : r->name, (unsigned)r->pid) < 0)
		msg[n] = '\0';
}

/* What the process collector learnt since (its hash): 1 if news. */
static int
attr_refresh(struct scan *s, struct ind *in)
{
	struct pk_proc_ref now;

	if (in->proc == NULL || in->proc->has_hash ||
	    !pk_engine_attribute_pid(s->e, in->proc->pid, &now) ||
	    !now.has_hash || strcmp(now.exe, in->proc->exe) != 0)
		return 0;
	in->proc->has_hash = 1;
	memcpy(in->proc->sha256, now.sha256, sizeof(now.sha256));
	return 1;
}

static void
emit(struct scan *s, struct ind *in, int phase)
{
	struct pk_indicator pi;
	struct details d;
	char msg[256], key[96];

	if (in->kind >= IK__REPORTED || in->deferred)
		return;
	memset(&pi, 0, sizeof(pi));
	memset(&d, 0, sizeof(d));
	pi.phase = (uint8_t)phase;
	pi.direction = in->direction;
	pi.severity = severity(in->kind, in->direction);
	pi.module = "network";
	pi.dataset = "picket.scan";
	pi.category = "network";
	pi.rule_id = rule_ids[in->kind];
	pi.rule_name = rule_names[in->kind];
	pi.ruleset = "picket-builtin";
	pi.message = msg;
	pi.first_seen_us = in->first_us;
	pi.last_seen_us = in->last_us;
	pi.count = in->count;
	pi.has_src = 1;
	switch (in->kind) {
	case IK_PORT:
		fill_port(in->owner, &pi, &d, msg, sizeof(msg));
		break;
	case IK_ADDR:
		fill_addr(in->owner, &pi, &d, msg, sizeof(msg));
		break;
	default:
		fill_worm(in->owner, in->count, &pi, &d, msg, sizeof(msg));
		break;
	}
	/* No addresses in the fingerprint: the hub groups the same
	 * fingerprint on many hosts into one outbreak. */
	if (!in->fp_set) {
		in->fp_set = 1;
		in->fp_has_port = pi.has_dport;
		in->fp_port = pi.dport;
	}
	if (in->fp_has_port)
		snprintf(key, sizeof(key), "%s|%s|%u", pi.rule_id,
		    pk_direction_name(pi.direction), in->fp_port);
	else
		snprintf(key, sizeof(key), "%s|%s", pi.rule_id,
		    pk_direction_name(pi.direction));
	pk_indicator_fingerprint(&pi, key, strlen(key));
	if (in->proc != NULL) {
		attr_refresh(s, in);
		pi.write_ecs = pk_proc_ref_write_ecs;
		pi.ecs_arg = in->proc;
		d.attributed = 1;
		proc_suffix(in->proc, msg, sizeof(msg));
	}
	pi.write_details = write_details;
	pi.details_arg = &d;
	pk_engine_emit(s->e, &pi);
	s->reports++;
	in->reported_us = s->now;
	in->reported_count = in->count;
}

/* ---- process attribution ---------------------------------------------- */

/*
 * An outbound indicator names the process behind its probes: the engine's
 * attribution service (fed by the process collector) is asked about the
 * source's latest probes, newest first, those to the indicator's port
 * first.  Process events and packets reach the agent on separate paths,
 * so an answer missing at the first report is waited for ATTR_WAIT_US,
 * START held meanwhile, but only while a process collector is feeding
 * the service.  Then the claim: if the process collector already reported
 * this process's scan of that port, this indicator stays silent
 * (deferred) and the analyst has the one that names the process.
 */
static struct src *src_find(struct scan *, const struct pk_addr *,
    uint64_t *);
static struct src *src_get(struct scan *, const struct pk_addr *);
static void ind_start(struct scan *, struct ind *);

static struct src *
ind_source(struct scan *s, struct ind *in, uint16_t *port, uint8_t *proto)
{
	const struct trk *t;
	struct src *sr;
	uint64_t h;

	*port = 0;
	*proto = 0;
	if (in->kind == IK_ADDR) {
		sr = in->owner;
		if (sr->nports > 0) {
			*port = sr->addr_port;
			*proto = sr->addr_proto;
		}
		return sr;
	}
	t = in->owner;
	if (in->kind == IK_WORM) {
		*port = t->port;
		*proto = t->proto;
	}
	return src_find(s, &t->src, &h);
}

static int
attr_lookup(struct scan *s, struct ind *in)
{
	struct pk_proc_ref ref;
	const struct probe *pr;
	struct src *sr;
	uint16_t port;
	uint8_t proto;
	int pass, k;

	if ((sr = ind_source(s, in, &port, &proto)) == NULL)
		return 0;
	for (pass = port != 0 ? 0 : 1; pass < 2; pass++)
		for (k = 0; k < sr->nrecent; k++) {
			pr = &sr->recent[(sr->recent_next + SCAN_RECENT - 1 -
			    k) % SCAN_RECENT];
			if (pass == 0 && (pr->dport != port ||
			    pr->proto != proto))
				continue;
			if (!pk_engine_attribute(s->e, pr->proto, &sr->addr,
			    pr->sport, &ref))
				continue;
			if ((in->proc = malloc(sizeof(*in->proc))) == NULL)
				return 0;
			*in->proc = ref;
			in->claim_port = pr->dport;
			in->claim_proto = pr->proto;
			return 1;
		}
	return 0;
}

/* Found (or given up): leave ATTR_WAIT and settle the claim. */
static void
attr_settle(struct scan *s, struct ind *in)
{
	in->attr = ATTR_DONE;
	if (in->proc == NULL) {
		s->unattributed++;
		return;
	}
	s->attributed++;
	/* a port scan is not what the process collector reports */
	if (in->kind != IK_PORT && pk_engine_scan_claim(s->e, in->proc->pid,
	    in->claim_port, in->claim_proto, PK_CLAIM_PACKET, s->now) ==
	    PK_CLAIM_PROCESS) {
		in->deferred = 1;
		s->deferred++;
	}
}

static void
attr_begin(struct scan *s, struct ind *in)
{
	if (in->direction != PK_DIRN_OUTBOUND &&
	    in->direction != PK_DIRN_INTERNAL)
		return;		/* not a probe from this host */
	if (!pk_engine_attrib_active(s->e))
		return;		/* no process collector: nothing to wait for */
	if (attr_lookup(s, in)) {
		attr_settle(s, in);
		return;
	}
	in->attr = ATTR_WAIT;
	in->attr_until = s->now + ATTR_WAIT_US;
}

static void
attr_poll(struct scan *s, struct ind *in)
{
	if (in->attr != ATTR_WAIT)
		return;
	if (attr_lookup(s, in) || s->now >= in->attr_until)
		attr_settle(s, in);
}

/* Housekeeping: answers that arrived, hashes computed since. */
static void
attr_tick(struct scan *s)
{
	struct pk_dlink *l;
	struct ind *in;

	if (!pk_engine_attrib_active(s->e))
		return;
	for (l = s->act.head; l != NULL; l = l->next) {
		in = PK_CONTAINER_OF(l, struct ind, act);
		if (in->attr == ATTR_WAIT) {
			attr_poll(s, in);
			ind_start(s, in);
		} else if (in->started && !in->deferred && attr_refresh(s, in) &&
		    !pk_engine_offline(s->e))
			emit(s, in, PK_PHASE_CHANGE);	/* the hash is news */
	}
}

static void
attr_drop(struct scan *s, struct ind *in)
{
	/* The claim outlives the indicator by scan.idle_timeout: the
	 * process collector's events lag the packets, and its late view of
	 * this scan (or the drain at stop) must not report it again. */
	if (in->proc != NULL && !in->deferred && in->kind != IK_PORT)
		(void)pk_engine_scan_claim(s->e, in->proc->pid,
		    in->claim_port, in->claim_proto, PK_CLAIM_PACKET, s->now);
	free(in->proc);
	in->proc = NULL;
	in->attr = ATTR_NONE;
	in->deferred = 0;
}

/* Remember a home source's probe: its local port names the process. */
static void
note_probe(struct scan *s, const struct pk_flow *f)
{
	struct probe *pr;
	struct src *sr;

	if ((f->proto != PK_PROTO_TCP && f->proto != PK_PROTO_UDP) ||
	    (sr = src_get(s, &f->src)) == NULL)
		return;
	pr = &sr->recent[sr->recent_next];
	pr->sport = f->sport;
	pr->dport = f->dport;
	pr->proto = f->proto;
	sr->recent_next = (uint8_t)((sr->recent_next + 1) % SCAN_RECENT);
	if (sr->nrecent < SCAN_RECENT)
		sr->nrecent++;
}

/* ---- indicator lifecycle ---------------------------------------------- */

/* The active indicator that has gone longest without growing, or NULL. */
static struct ind *
act_oldest(struct scan *s)
{
	return PK_DLIST_FIRST(&s->act, struct ind, act);
}

static void
ind_activate(struct scan *s, struct ind *in, int kind, void *owner,
    int dir, uint64_t first, uint64_t last, uint64_t count)
{
	in->kind = (uint8_t)kind;
	in->owner = owner;
	in->active = 1;
	in->started = 0;
	in->fp_set = 0;
	in->direction = (uint8_t)dir;
	in->first_us = PK_MIN(first, last);
	in->last_us = PK_MAX(first, last);
	in->count = count;
	in->attr = ATTR_NONE;
	in->deferred = 0;
	pk_dlist_append(&s->act, &in->act);
	in->touch_us = s->now;
	if (kind >= IK__REPORTED)
		return;
	s->detections[kind]++;
	attr_begin(s, in);
	ind_start(s, in);
}

/* START, live, once the process behind it is known or not waited for. */
static void
ind_start(struct scan *s, struct ind *in)
{
	if (in->started || in->attr == ATTR_WAIT || pk_engine_offline(s->e))
		return;
	emit(s, in, PK_PHASE_START);
	in->started = 1;
}

static void
ind_grow(struct scan *s, struct ind *in, uint64_t ts, uint64_t add)
{
	in->count += add;
	if (ts < in->first_us)
		in->first_us = ts;
	if (ts > in->last_us)
		in->last_us = ts;
	pk_dlist_move_tail(&s->act, &in->act);
	in->touch_us = s->now;
	if (in->attr == ATTR_WAIT) {
		attr_poll(s, in);
		ind_start(s, in);
	} else if (in->proc != NULL && !in->deferred && in->kind != IK_PORT)
		(void)pk_engine_scan_claim(s->e, in->proc->pid, in->claim_port,
		    in->claim_proto, PK_CLAIM_PACKET, s->now);
	if (in->kind < IK__REPORTED && s->update > 0 && in->started &&
	    in->count != in->reported_count &&
	    age(s->now, in->reported_us) >= s->update &&
	    !pk_engine_offline(s->e))
		emit(s, in, PK_PHASE_CHANGE);
}

static void
trk_reset(struct scan *s, struct trk *t)
{
	dset_reset(s, &t->ds);
	t->probes = 0;
	t->ntargets = 0;
	t->rate_cur = t->rate_prev = 0;
}

static void
trw_reset(struct src *sr)
{
	sr->trw_state = TRW_TESTING;
	sr->llr = 0;
	sr->ok = sr->fail = 0;
	sr->ntrw_targets = 0;
	sr->trw_proto = 0;
}

/* Close an indicator: END (in every mode), then forget its episode. */
static void
ind_end(struct scan *s, struct ind *in)
{
	struct src *sr;

	if (!in->active)
		return;
	if (in->attr == ATTR_WAIT) {
		in->attr_until = 0;	/* a last look, then report */
		attr_poll(s, in);
		ind_start(s, in);
	}
	emit(s, in, PK_PHASE_END);
	pk_dlist_unlink(&s->act, &in->act);
	in->active = 0;
	attr_drop(s, in);
	switch (in->kind) {
	case IK_ADDR:
		sr = in->owner;
		sr->nports = 0;
		sr->naddr_targets = 0;
		if (sr->trw_state == TRW_SCANNER)
			trw_reset(sr);
		break;
	default:
		trk_reset(s, in->owner);
		break;
	}
}

/* ---- sources and trackers --------------------------------------------- */

static void
src_remove(struct scan *s, struct src *sr)
{
	ind_end(s, &sr->aind);
	pk_lrutab_unlink(&s->sources, &sr->n);
	free(sr);
}

static struct src *
src_find(struct scan *s, const struct pk_addr *a, uint64_t *hp)
{
	uint64_t h = pk_fnv1a64(a, sizeof(*a), s->seed);
	struct pk_lrunode *n;

	*hp = h;
	for (n = pk_lrutab_chain(&s->sources, h); n != NULL; n = n->hnext)
		if (n->hash == h &&
		    memcmp(&((struct src *)(void *)n)->addr, a, sizeof(*a)) == 0)
			return (struct src *)(void *)n;
	return NULL;
}

static struct src *
src_get(struct scan *s, const struct pk_addr *a)
{
	struct pk_lrunode *n;
	struct src *sr;
	uint64_t h;

	if ((sr = src_find(s, a, &h)) != NULL) {
		pk_lrutab_touch(&s->sources, &sr->n, s->now);
		return sr;
	}
	if ((n = pk_lrutab_victim(&s->sources)) != NULL)
		src_remove(s, (struct src *)(void *)n);
	if ((sr = calloc(1, sizeof(*sr))) == NULL)
		return NULL;
	sr->addr = *a;
	pk_lrutab_link(&s->sources, &sr->n, h, s->now);
	return sr;
}

static void
trk_remove(struct scan *s, struct trk *t)
{
	ind_end(s, &t->ind);
	dset_reset(s, &t->ds);
	pk_lrutab_unlink(&s->tk[t->kind], &t->n);
	free(t);
}

static struct trk *
trk_get(struct scan *s, int kind, const struct pk_addr *sa,
    const struct pk_addr *da, uint16_t port, uint8_t proto)
{
	struct pk_lrutab *tab = &s->tk[kind];
	struct pk_addr none;
	uint8_t key[4 + 2 * sizeof(struct pk_addr)];
	struct pk_lrunode *n;
	struct trk *t;
	uint64_t h;

	memset(&none, 0, sizeof(none));
	if (da == NULL)
		da = &none;
	key[0] = (uint8_t)kind;
	key[1] = proto;
	key[2] = (uint8_t)(port >> 8);
	key[3] = (uint8_t)port;
	memcpy(key + 4, sa, sizeof(*sa));
	memcpy(key + 4 + sizeof(*sa), da, sizeof(*da));
	h = pk_fnv1a64(key, sizeof(key), s->seed);
	for (n = pk_lrutab_chain(tab, h); n != NULL; n = n->hnext) {
		t = (struct trk *)(void *)n;
		if (n->hash == h && t->proto == proto && t->port == port &&
		    memcmp(&t->src, sa, sizeof(*sa)) == 0 &&
		    memcmp(&t->dst, da, sizeof(*da)) == 0) {
			pk_lrutab_touch(tab, n, s->now);
			return t;
		}
	}
	if ((n = pk_lrutab_victim(tab)) != NULL)
		trk_remove(s, (struct trk *)(void *)n);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->kind = (uint8_t)kind;
	t->proto = proto;
	t->port = port;
	t->src = *sa;
	t->dst = *da;
	t->ds.hashed = kind != TK_PORT;
	pk_lrutab_link(tab, &t->n, h, s->now);
	return t;
}

/* Start a new fan-out window when the old one has run out. */
static void
trk_window(struct scan *s, struct trk *t, uint64_t win, uint64_t ts)
{
	if (t->ind.active)
		return;		/* a running indicator keeps accumulating */
	if (t->probes == 0 || age(s->now, t->win_start) >= win) {
		trk_reset(s, t);
		t->win_start = s->now;
		t->first_ts = ts;
	}
	if (ts < t->first_ts)
		t->first_ts = ts;
}

static void
add_target(struct pk_addr *v, uint8_t *n, const struct pk_addr *a)
{
	uint8_t i;

	for (i = 0; i < *n; i++)
		if (memcmp(&v[i], a, sizeof(*a)) == 0)
			return;
	if (*n < SCAN_TARGETS)
		v[(*n)++] = *a;
}

/* ---- fan-out ----------------------------------------------------------- */

static void
port_probe(struct scan *s, const struct pk_addr *sa, const struct pk_addr *da,
    uint16_t dport, uint8_t proto, uint64_t ts, int stealth)
{
	struct trk *t;

	if (s->port_ports == 0 ||
	    (t = trk_get(s, TK_PORT, sa, da, 0, proto)) == NULL)
		return;
	trk_window(s, t, s->port_win, ts);
	t->probes++;
	dset_add(s, &t->ds, dport);
	if (stealth)
		t->stealth = 1;
	if (t->ind.active)
		ind_grow(s, &t->ind, ts, 1);
	else if (t->ds.n >= s->port_ports || t->stealth)
		ind_activate(s, &t->ind, IK_PORT, t,
		    pk_engine_direction(s->e, sa, da), t->first_ts, ts,
		    t->probes);
}

/* One TK_ADDR tracker over the threshold feeds its source's indicator. */
static void
addr_contribute(struct scan *s, struct src *sr, const struct trk *t,
    uint64_t ts, uint64_t add, const struct pk_addr *newtarget)
{
	struct addrport *ap = NULL;
	uint8_t i, min = 0;

	for (i = 0; i < sr->nports; i++) {
		if (sr->ports[i].port == t->port &&
		    sr->ports[i].proto == t->proto) {
			ap = &sr->ports[i];
			break;
		}
		if (sr->ports[i].hosts < sr->ports[min].hosts)
			min = i;
	}
	if (ap == NULL && sr->nports < SCAN_TOP_PORTS) {
		ap = &sr->ports[sr->nports++];
		memset(ap, 0, sizeof(*ap));
	} else if (ap == NULL && sr->ports[min].hosts < t->ds.n) {
		ap = &sr->ports[min];
		memset(ap, 0, sizeof(*ap));
	}
	if (ap != NULL) {
		ap->port = t->port;
		ap->proto = t->proto;
		ap->hosts = t->ds.n;
		ap->probes += add;
	}
	if (sr->aind.active) {
		if (newtarget != NULL)
			add_target(sr->addr_targets, &sr->naddr_targets,
			    newtarget);
		ind_grow(s, &sr->aind, ts, add);
		return;
	}
	sr->addr_port = t->port;
	sr->addr_proto = t->proto;
	sr->addr_method = "fanout";
	sr->naddr_targets = 0;
	for (i = 0; i < t->ntargets; i++)
		add_target(sr->addr_targets, &sr->naddr_targets,
		    &t->targets[i]);
	ind_activate(s, &sr->aind, IK_ADDR, sr,
	    pk_engine_direction(s->e, &sr->addr, &t->targets[0]), t->first_ts,
	    ts, add);
}

static void
addr_probe(struct scan *s, const struct pk_addr *sa, const struct pk_addr *da,
    uint16_t dport, uint8_t proto, uint64_t ts)
{
	const struct pk_addr *newtarget = NULL;
	struct src *sr;
	struct trk *t;

	if (s->addr_hosts == 0 ||
	    (t = trk_get(s, TK_ADDR, sa, NULL, dport, proto)) == NULL)
		return;
	trk_window(s, t, s->addr_win, ts);
	t->probes++;
	if (dset_add(s, &t->ds, host32(s, da))) {
		newtarget = da;
		add_target(t->targets, &t->ntargets, da);
	}
	if (t->ind.active) {
		ind_grow(s, &t->ind, ts, 1);
		if ((sr = src_get(s, sa)) != NULL)
			addr_contribute(s, sr, t, ts, 1, newtarget);
	} else if (t->ds.n >= s->addr_hosts) {
		ind_activate(s, &t->ind, IK_ADDR_TRK, t, PK_DIRN_UNKNOWN,
		    t->first_ts, ts, t->probes);
		if ((sr = src_get(s, sa)) != NULL)
			addr_contribute(s, sr, t, ts, t->probes, NULL);
	}
}

static void
fanout_probe(struct scan *s, const struct pk_addr *sa,
    const struct pk_addr *da, uint16_t dport, uint8_t proto, uint64_t ts,
    int stealth)
{
	port_probe(s, sa, da, dport, proto, ts, stealth);
	addr_probe(s, sa, da, dport, proto, ts);
}

/* ---- worm-port rate ------------------------------------------------------ */

/*
 * Two buckets of worm_window each: the rate is the current bucket plus
 * the previous one weighted by how much of it still lies inside the
 * sliding window.  Two counters per tracker, within one bucket's worth of
 * the exact sliding count.
 */
static uint64_t
rate_add(struct scan *s, struct trk *t)
{
	uint64_t el, w = s->worm_win;

	el = age(s->now, t->rate_start);
	if (t->rate_cur + t->rate_prev == 0 || el >= 2 * w) {
		t->rate_prev = 0;
		t->rate_cur = 0;
		t->rate_start = s->now;
		el = 0;
	} else if (el >= w) {
		t->rate_prev = t->rate_cur;
		t->rate_cur = 0;
		t->rate_start += w;
		el -= w;
	}
	t->rate_cur++;
	return t->rate_cur + (t->rate_prev * (w - el) + w / 2) / w;
}

/*
 * TCP counts connection attempts (SYNs that open a flow, retransmissions
 * excluded); UDP counts datagrams to hosts this source had not sent to on
 * that port, so one client polling one server never adds up.
 */
static void
worm_probe(struct scan *s, const struct pk_packet *p, int flow_new,
    uint64_t rate)
{
	struct trk *t;
	uint64_t est;
	int newhost;

	if ((t = trk_get(s, TK_WORM, &p->src, NULL, p->dport,
	    p->proto)) == NULL)
		return;
	if ((newhost = dset_add(s, &t->ds, host32(s, &p->dst))))
		add_target(t->targets, &t->ntargets, &p->dst);
	if (p->proto == PK_PROTO_TCP ? !flow_new : !newhost)
		return;
	if (t->ind.active) {
		ind_grow(s, &t->ind, p->ts_us, 1);
		return;
	}
	est = rate_add(s, t);
	/* first SYN of a fresh series, or an earlier packet time */
	if ((t->rate_prev == 0 && t->rate_cur == 1) || p->ts_us < t->first_ts)
		t->first_ts = p->ts_us;
	if (est >= rate)
		ind_activate(s, &t->ind, IK_WORM, t,
		    pk_engine_direction(s->e, &p->src, t->ntargets ?
		    &t->targets[0] : &p->dst), t->first_ts, p->ts_us, est);
}

/* ---- TRW ------------------------------------------------------------------ */

static int
contact_find(const struct src *sr, uint32_t h)
{
	int i;

	for (i = 0; i < sr->ncontacts; i++)
		if (sr->contact[i] == h)
			return i;
	return -1;
}

/* A new attempt: remember the host; a first contact awaits its outcome. */
static void
trw_contact(struct scan *s, const struct pk_flow *f)
{
	struct src *sr;
	uint32_t h = host32(s, &f->dst);
	int i;

	if ((sr = src_get(s, &f->src)) == NULL || contact_find(sr, h) >= 0)
		return;
	/* a ring: the oldest contact is forgotten first */
	i = sr->contact_next;
	sr->contact[i] = h;
	sr->pending |= 1ULL << i;
	sr->contact_next = (uint8_t)((i + 1) % SCAN_CONTACTS);
	if (sr->ncontacts < SCAN_CONTACTS)
		sr->ncontacts++;
}

static void
trw_outcome(struct scan *s, struct src *sr, const struct pk_flow *f, int ok)
{
	int i = contact_find(sr, host32(s, &f->dst));

	if (i < 0 || !(sr->pending & (1ULL << i)))
		return;		/* not a first contact, or already counted */
	sr->pending &= ~(1ULL << i);
	pk_lrutab_touch(&s->sources, &sr->n, s->now);
	if (!s->trw_on)
		return;
	if (sr->trw_state == TRW_BENIGN) {
		if (s->now < sr->trw_until)
			return;
		trw_reset(sr);
	}
	if (ok)
		sr->ok++;
	else {
		sr->fail++;
		add_target(sr->trw_targets, &sr->ntrw_targets, &f->dst);
		if (sr->trw_proto == 0)
			sr->trw_proto = f->proto;
	}
	if (sr->trw_state == TRW_SCANNER) {
		if (sr->aind.active)
			ind_grow(s, &sr->aind, f->first_us, 1);
		return;
	}
	if (sr->ok + sr->fail == 1 || f->first_us < sr->trw_first)
		sr->trw_first = f->first_us;
	if (sr->ok + sr->fail == 1 || f->first_us > sr->trw_last)
		sr->trw_last = f->first_us;
	sr->llr += ok ? s->llr_ok : s->llr_fail;
	if (sr->llr >= s->llr_hi) {
		sr->trw_state = TRW_SCANNER;
		s->trw_verdicts++;
		/* A fan-out verdict may have opened it already: then the
		 * test's attempts simply join its details. */
		if (!sr->aind.active) {
			sr->addr_method = "trw";
			sr->nports = 0;
			sr->naddr_targets = 0;
			ind_activate(s, &sr->aind, IK_ADDR, sr,
			    pk_engine_direction(s->e, &sr->addr,
			    sr->ntrw_targets ? &sr->trw_targets[0] : &f->dst),
			    sr->trw_first, sr->trw_last,
			    (uint64_t)sr->ok + sr->fail);
		}
	} else if (sr->llr <= s->llr_lo) {
		/* benign: stop testing this source for a window */
		sr->trw_state = TRW_BENIGN;
		sr->trw_until = s->now + s->addr_win;
	}
}

static int
trw_config(struct scan *s, const struct pk_config *cfg)
{
	double t0 = cfg->scan.trw_benign_success;
	double t1 = cfg->scan.trw_scanner_success;
	double pd = cfg->scan.trw_detection;
	double pf = cfg->scan.trw_false_alarm;

	/* The test only makes sense when a scanner succeeds less often
	 * than a benign host and detection beats false alarms. */
	if (!(t0 > 0 && t0 < 1 && t1 > 0 && t1 < t0 && pf > 0 && pd < 1 &&
	    pf < pd)) {
		log_warnx("scan: TRW parameters out of range, TRW disabled");
		return 0;
	}
	s->llr_ok = log(t1 / t0);
	s->llr_fail = log((1 - t1) / (1 - t0));
	s->llr_hi = log(pd / pf);
	s->llr_lo = log((1 - pd) / (1 - pf));
	return 1;
}

/* ---- the detector --------------------------------------------------------- */

static int
scan_enabled(const struct pk_config *cfg)
{
	return cfg->scan.enabled;
}

static void scan_free(void *);

static void *
scan_init(struct pk_engine *e, const struct pk_config *cfg)
{
	struct scan *s;
	int i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->e = e;
	s->seed = PK_FNV_SEED ^ (uint64_t)(uintptr_t)s;
	s->trw_on = trw_config(s, cfg);
	s->addr_hosts = cfg->scan.address_scan_hosts;
	s->addr_win = cfg->scan.address_scan_window * USEC;
	s->port_ports = cfg->scan.port_scan_ports;
	s->port_win = cfg->scan.port_scan_window * USEC;
	s->worm_tcp = cfg->scan.worm_tcp_ports;
	s->worm_udp = cfg->scan.worm_udp_ports;
	s->worm_tcp_rate = cfg->scan.worm_tcp_rate;
	s->worm_udp_rate = cfg->scan.worm_udp_rate;
	s->worm_win = PK_MAX(cfg->scan.worm_window, 1) * USEC;
	s->idle = PK_MAX(cfg->scan.idle_timeout, 1) * USEC;
	s->update = cfg->output.update_interval * USEC;
	s->cfg_llr_hi = s->llr_hi;
	s->cfg_addr_hosts = s->addr_hosts;
	s->cfg_port_ports = s->port_ports;
	s->cfg_worm_tcp_rate = s->worm_tcp_rate;
	s->cfg_worm_udp_rate = s->worm_udp_rate;
	if (pk_lrutab_init(&s->sources, cfg->scan.max_sources,
	    SCAN_MAX_BUCKETS) == -1)
		goto fail;
	for (i = 0; i < TK__COUNT; i++)
		if (pk_lrutab_init(&s->tk[i], cfg->scan.max_sources,
		    SCAN_MAX_BUCKETS) == -1)
			goto fail;
	return s;
fail:
	scan_free(s);
	return NULL;
}

/* pct percent of a configured count, never below 1; 0 (off) stays 0. */
static uint64_t
scaled(uint64_t v, unsigned pct)
{
	uint64_t r;

	if (v == 0 || pct >= 100)
		return v;
	r = v / 100 * pct + v % 100 * pct / 100;
	return r < 1 ? 1 : r;
}

/*
 * Failed first contacts in a row that make a source with no success a
 * scanner: the smallest n with n * llr_fail >= llr_hi.
 */
static unsigned
trw_failures(const struct scan *s)
{
	double n;

	if (!s->trw_on || s->llr_fail <= 0)
		return 0;
	n = ceil(s->llr_hi / s->llr_fail - 1e-9);
	return n < 1 ? 1 : (unsigned)n;
}

/*
 * The sensitivity task: counts (port_scan_ports, address_scan_hosts, the
 * worm rates) at pct percent, rounded down, never below 1; TRW's upper
 * threshold ln(P_D/P_F) at pct percent, so a source needs about pct
 * percent of the failed first contacts it needs otherwise (its lower,
 * benign threshold is kept).  Windows are kept.  At 100 every value is
 * the configured one again, copied back, not computed.
 */
static void
scan_sensitivity(void *st, unsigned pct, char *desc, size_t len)
{
	struct scan *s = st;

	s->port_ports = scaled(s->cfg_port_ports, pct);
	s->addr_hosts = scaled(s->cfg_addr_hosts, pct);
	s->worm_tcp_rate = scaled(s->cfg_worm_tcp_rate, pct);
	s->worm_udp_rate = scaled(s->cfg_worm_udp_rate, pct);
	s->llr_hi = pct >= 100 ? s->cfg_llr_hi : s->cfg_llr_hi * pct / 100.0;
	if (desc != NULL && len > 0)
		snprintf(desc, len, "port_scan_ports %llu, address_scan_hosts "
		    "%llu, worm_tcp_rate %llu, worm_udp_rate %llu, "
		    "trw_failures %u", (unsigned long long)s->port_ports,
		    (unsigned long long)s->addr_hosts,
		    (unsigned long long)s->worm_tcp_rate,
		    (unsigned long long)s->worm_udp_rate, trw_failures(s));
}

static int
is_bare_syn(uint8_t fl)
{
	return (fl & (PK_TH_SYN | PK_TH_ACK | PK_TH_RST | PK_TH_FIN)) ==
	    PK_TH_SYN;
}

/* Does this first packet of a flow ask the destination for an answer? */
static int
is_probe(const struct pk_packet *p)
{
	uint8_t fl = p->tcp_flags;

	if (p->proto == PK_PROTO_UDP)
		return 1;
	if (p->proto != PK_PROTO_TCP || (fl & PK_TH_RST))
		return 0;
	if ((fl & (PK_TH_SYN | PK_TH_ACK)) == (PK_TH_SYN | PK_TH_ACK))
		return 0;	/* an answer: backscatter or a missed SYN */
	if (fl & PK_TH_SYN)
		return 1;
	/* FIN, NULL, Xmas, ACK probes carry no data; a data packet is a
	 * connection we joined late. */
	return p->payload_len == 0;
}

static void
scan_packet(void *st, const struct pk_pktctx *c)
{
	struct scan *s = st;
	const struct pk_packet *p = c->pkt;
	const struct pk_flow *f = c->flow;

	if (f == NULL || p == NULL)
		return;
	scan_clock(s, p->ts_us);
	if (p->proto == PK_PROTO_TCP && is_bare_syn(p->tcp_flags) &&
	    s->worm_tcp_rate > 0 && pk_portset_has(&s->worm_tcp, p->dport))
		worm_probe(s, p, c->flow_new, s->worm_tcp_rate);
	else if (p->proto == PK_PROTO_UDP && s->worm_udp_rate > 0 &&
	    !addr_is_group(&p->dst) && pk_portset_has(&s->worm_udp, p->dport))
		worm_probe(s, p, c->flow_new, s->worm_udp_rate);
	if (!c->flow_new || addr_is_group(&f->dst) || !is_probe(p))
		return;
	if (c->src_home)
		note_probe(s, f);
	if (f->saw_syn || f->proto == PK_PROTO_UDP) {
		/* an attempt: fan-out counts it if it fails (flow_event) */
		trw_contact(s, f);
		return;
	}
	/* Every TCP segment after the first SYN carries ACK, so a first
	 * packet without ACK (NULL, FIN, Xmas, SYN+FIN) is a probe that
	 * no stack sends: a scanner even if it is alone. */
	fanout_probe(s, &f->src, &f->dst, f->dport, f->proto, p->ts_us,
	    p->proto == PK_PROTO_TCP && !(p->tcp_flags & PK_TH_ACK));
}

/*
 * A handshake that was answered and then carried no data either way is a
 * half-open (or connect) probe of an open port: nmap's SYN scan resets
 * right after the SYN-ACK.  Counting it keeps the open ports in a port
 * scan's distinct count.
 */
static int
is_empty_handshake(const struct pk_flow *f)
{
	return f->proto == PK_PROTO_TCP && f->saw_syn &&
	    f->outcome == PK_FE_ATTEMPT_OK &&
	    f->payload[PK_DIR_FWD] == 0 && f->payload[PK_DIR_REV] == 0;
}

static void
scan_flow_event(void *st, const struct pk_flow *f, int event,
    uint64_t now_us)
{
	struct scan *s = st;
	struct src *sr;
	uint64_t h;

	if (event == PK_FE_END) {
		if (is_empty_handshake(f) && !addr_is_group(&f->dst)) {
			scan_clock(s, now_us);
			fanout_probe(s, &f->src, &f->dst, f->dport, f->proto,
			    f->first_us, 0);
		}
		return;
	}
	if (event != PK_FE_ATTEMPT_OK && event != PK_FE_ATTEMPT_FAIL)
		return;
	scan_clock(s, now_us);
	if ((sr = src_find(s, &f->src, &h)) != NULL)
		trw_outcome(s, sr, f, event == PK_FE_ATTEMPT_OK);
	if (event == PK_FE_ATTEMPT_FAIL && !addr_is_group(&f->dst))
		fanout_probe(s, &f->src, &f->dst, f->dport, f->proto,
		    f->first_us, 0);
}

/* Drop state nobody has used for idle_timeout, oldest first. */
static void
sweep(struct scan *s)
{
	struct pk_lrunode *n;
	struct ind *in;
	int i;

	while ((in = act_oldest(s)) != NULL &&
	    age(s->now, in->touch_us) >= s->idle)
		ind_end(s, in);
	while ((n = pk_lrutab_oldest(&s->sources)) != NULL &&
	    age(s->now, n->touch_us) >= s->idle)
		src_remove(s, (struct src *)(void *)n);
	for (i = 0; i < TK__COUNT; i++)
		while ((n = pk_lrutab_oldest(&s->tk[i])) != NULL &&
		    age(s->now, n->touch_us) >= s->idle)
			trk_remove(s, (struct trk *)(void *)n);
}

static void
scan_tick(void *st, uint64_t now_us)
{
	struct scan *s = st;

	scan_clock(s, now_us);
	attr_tick(s);
	sweep(s);
}

static void
scan_flush(void *st, uint64_t now_us)
{
	struct scan *s = st;
	struct ind *in;

	scan_clock(s, now_us);
	while ((in = act_oldest(s)) != NULL)
		ind_end(s, in);
}

static void
scan_stats(void *st, FILE *fp)
{
	static const char *const tk_names[TK__COUNT] = { "pairs",
	    "port_trackers", "worm_trackers" };
	struct scan *s = st;
	int i;

	fprintf(fp, "scan.sources_tracked %llu\n",
	    (unsigned long long)s->sources.n);
	fprintf(fp, "scan.sources_evicted %llu\n",
	    (unsigned long long)s->sources.evicted);
	for (i = 0; i < TK__COUNT; i++) {
		fprintf(fp, "scan.%s_tracked %llu\n", tk_names[i],
		    (unsigned long long)s->tk[i].n);
		fprintf(fp, "scan.%s_evicted %llu\n", tk_names[i],
		    (unsigned long long)s->tk[i].evicted);
	}
	fprintf(fp, "scan.bitmaps %llu\n", (unsigned long long)s->nbitmaps);
	fprintf(fp, "scan.bitmaps_denied %llu\n",
	    (unsigned long long)s->bitmaps_denied);
	for (i = 0; i < IK__REPORTED; i++)
		fprintf(fp, "scan.detections_%s %llu\n", rule_ids[i] + 12,
		    (unsigned long long)s->detections[i]);
	fprintf(fp, "scan.trw_verdicts %llu\n",
	    (unsigned long long)s->trw_verdicts);
	fprintf(fp, "scan.attributed %llu\n",
	    (unsigned long long)s->attributed);
	fprintf(fp, "scan.unattributed %llu\n",
	    (unsigned long long)s->unattributed);
	fprintf(fp, "scan.deferred_to_process %llu\n",
	    (unsigned long long)s->deferred);
	fprintf(fp, "scan.indicators %llu\n", (unsigned long long)s->reports);
}

/* Frees a source without reporting: the detector is going away. */
static void
src_release(struct pk_lrunode *n, void *arg)
{
	struct src *sr = (struct src *)(void *)n;

	(void)arg;
	free(sr->aind.proc);
	free(sr);
}

static void
trk_release(struct pk_lrunode *n, void *arg)
{
	struct trk *t = (struct trk *)(void *)n;

	(void)arg;
	free(t->ind.proc);
	free(t->ds.bits);
	free(t);
}

static void
scan_free(void *st)
{
	struct scan *s = st;
	int i;

	if (s == NULL)
		return;
	pk_lrutab_clear(&s->sources, src_release, NULL);
	for (i = 0; i < TK__COUNT; i++)
		pk_lrutab_clear(&s->tk[i], trk_release, NULL);
	free(s);
}

const struct pk_detector_ops pk_detector_scan = {
	.name = "scan",
	.description = "port, address and worm-port scans; sequential "
	    "hypothesis test on first contacts",
	.enabled = scan_enabled,
	.init = scan_init,
	.packet = scan_packet,
	.flow_event = scan_flow_event,
	.tick = scan_tick,
	.flush = scan_flush,
	.stats = scan_stats,
	.free = scan_free,
	.sensitivity = scan_sensitivity,
};
