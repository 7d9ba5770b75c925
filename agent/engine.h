/*
 * engine.h - the detection engine: the one code path shared by live capture
 * and offline analysis.  Collectors hand frames (or, later, process events)
 * to the engine; it decodes, keeps flows, parses the application fields,
 * runs every enabled detector, and passes indicators to the outputs.
 *
 * Detectors are plugins: a struct pk_detector_ops of callbacks, registered
 * in detectors.c.  The core never knows what a detector does.  Portable.
 */
#ifndef PICKET_ENGINE_H
#define PICKET_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/indicator.h"
#include "common/json.h"
#include "common/netaddr.h"
#include "collectors/pcap/app.h"
#include "collectors/pcap/decode.h"
#include "collectors/pcap/flow.h"
#include "collectors/pcap/stream.h"

struct pk_config;
struct pk_engine;

/* What the engine knows about one packet beyond decoding. */
struct pk_pktctx {
	const struct pk_packet	*pkt;
	struct pk_flow		*flow;		/* NULL for flowless packets */
	int			 dir;		/* PK_DIR_FWD / PK_DIR_REV */
	int			 flow_new;
	int			 src_home, dst_home;	/* address in home_net */
	const struct pk_dns	*dns;		/* parsed when port 53 */
	const char		*sni;		/* TLS ClientHello */
	const struct pk_http_req *http;		/* HTTP request */
	/*
	 * TCP: the in-order bytes of this packet's direction, when this
	 * packet added some (stream.h); NULL otherwise.
	 */
	const struct pk_stream_view *stream;
};

struct pk_detector_ops {
	const char	*name;		/* "scan" */
	const char	*description;
	/* Enabled in this configuration? */
	int		(*enabled)(const struct pk_config *cfg);
	void		*(*init)(struct pk_engine *e, const struct pk_config *cfg);
	void		(*packet)(void *st, const struct pk_pktctx *ctx);
	void		(*flow_event)(void *st, const struct pk_flow *f,
			    int event, uint64_t now_us);
	/* Housekeeping at packet/wall time (about once a second). */
	void		(*tick)(void *st, uint64_t now_us);
	/* End of input or shutdown: close and report everything open. */
	void		(*flush)(void *st, uint64_t now_us);
	/* Counters for the statistics report: name=value lines. */
	void		(*stats)(void *st, FILE *fp);
	void		(*free)(void *st);
	/*
	 * Optional: what a detector loads from files (rules, IOC lists),
	 * reloaded from a new configuration in two steps, so that
	 * pk_engine_reload() swaps every detector or none.  prepare builds
	 * what cfg asks for without touching st (NULL and err on failure);
	 * commit installs it between packets, owning it and freeing the old;
	 * discard frees one that was not installed.  size counts what is
	 * loaded, in reload_unit ("rules"), for the log.
	 */
	void		*(*reload_prepare)(void *st, const struct pk_config *cfg,
			    char *err, size_t errlen);
	void		(*reload_commit)(void *st, void *prepared);
	void		(*reload_discard)(void *prepared);
	uint64_t	(*size)(void *st);
	const char	*reload_unit;
	/*
	 * Optional: run with thresholds at pct percent of their configured
	 * values (10..100; 100 = exactly the configured ones), the
	 * sensitivity task (docs/tasks.md).  The detector keeps the
	 * configured values and derives the ones in force from them, so
	 * going back to 100 restores them bit for bit.  Writes the
	 * thresholds now in force ("port_scan_ports 7, ...") into desc.
	 */
	void		(*sensitivity)(void *st, unsigned pct, char *desc,
			    size_t len);
};

/* Registered detectors (detectors.c), NULL-terminated. */
extern const struct pk_detector_ops *const pk_detectors[];

/* Outputs receive every indicator as one JSON line. */
typedef void (*pk_output_fn)(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind);

struct pk_engine_stats {
	uint64_t indicators;		/* reports emitted */
	uint64_t indicators_dropped;	/* could not be serialised */
	uint64_t dns, tls_sni, http;	/* application fields parsed */
	uint64_t app_errors;		/* malformed DNS/TLS/HTTP */
	uint64_t shared_matches;	/* indicators opened with picket.shared */
};

struct pk_engine *pk_engine_new(const struct pk_config *cfg);
void pk_engine_free(struct pk_engine *e);
int pk_engine_add_output(struct pk_engine *e, pk_output_fn fn, void *arg);
/* Identity stamped on every indicator (strings are copied). */
void pk_engine_set_identity(struct pk_engine *e, const char *host_id,
    const char *host_name, const char *agent_id);
/* Offline mode: report indicators only when they close (one line each). */
void pk_engine_set_offline(struct pk_engine *e, int offline);
int pk_engine_offline(const struct pk_engine *e);

/*
 * Taps for targeted collection (agent/task_exec.c, docs/tasks.md):
 * frame sees every frame before it is decoded (the pcap task's filter
 * runs there), dns each query name the engine parsed (ioc_sweep's
 * recent names).  Either may be NULL; one pair per engine.
 */
typedef void (*pk_engine_frame_tap)(void *arg, int linktype,
    const uint8_t *frame, uint32_t caplen, uint32_t wirelen, uint64_t ts_us);
typedef void (*pk_engine_dns_tap)(void *arg, const char *name);
void pk_engine_set_taps(struct pk_engine *e, pk_engine_frame_tap frame,
    pk_engine_dns_tap dns, void *arg);

/*
 * The process tap (proc_trace, agent/task_exec.c): a process collector
 * (collectors/ebpf/ebpf.c) hands every decoded event, with its process
 * table entry as the detections left it (NULL if the table has none),
 * and every executable hash it computed.  The types are the eBPF
 * collector's (evdecode.h, proctable.h); a tap that reads them lives
 * where that collector does.  NULL clears; one tap per engine.
 */
struct pk_pev;
struct pk_proc;
struct pk_filekey;
struct pk_engine_proc_tap {
	void	(*event)(void *arg, const struct pk_pev *ev,
		    const struct pk_proc *p, uint64_t ts_us);
	void	(*hash)(void *arg, const struct pk_filekey *key, int state,
		    const uint8_t sha256[32]);
	void	*arg;
};
void pk_engine_set_proc_tap(struct pk_engine *e,
    const struct pk_engine_proc_tap *tap);
/* The tap in place, or NULL: the collector asks at every event. */
const struct pk_engine_proc_tap *pk_engine_proc_tap(
    const struct pk_engine *e);

/*
 * Sensitivity (the sensitivity task): every running detector with a
 * sensitivity op runs at pct percent of its configured thresholds (10..
 * 100, clamped) until the next call; 100 restores them exactly.  The
 * engine remembers pct and applies it again to detectors a reload
 * (pk_engine_reload) starts or rebuilds, so a reload never loses it.
 * desc gets "scan: ...; fingerprint: ..." (the thresholds in force).
 */
void pk_engine_set_sensitivity(struct pk_engine *e, unsigned pct,
    char *desc, size_t len);
unsigned pk_engine_sensitivity(const struct pk_engine *e);

/* One captured frame.  Returns what pk_decode returned. */
int pk_engine_frame(struct pk_engine *e, int linktype, const uint8_t *frame,
    uint32_t caplen, uint32_t wirelen, uint64_t ts_us);
/* Housekeeping; call at least once a second with packet or wall time. */
void pk_engine_tick(struct pk_engine *e, uint64_t now_us);
void pk_engine_flush(struct pk_engine *e, uint64_t now_us);
/* Add local addresses (live: from the interfaces) to home_net. */
int pk_engine_add_home(struct pk_engine *e, const struct pk_cidr *c);
int pk_engine_is_home(const struct pk_engine *e, const struct pk_addr *a);
enum pk_direction pk_engine_direction(const struct pk_engine *e,
    const struct pk_addr *src, const struct pk_addr *dst);

const struct pk_config *pk_engine_config(const struct pk_engine *e);
/* For detectors: report one indicator (engine stamps seq, identity, time). */
void pk_engine_emit(struct pk_engine *e, struct pk_indicator *ind);
uint64_t pk_engine_now(const struct pk_engine *e);	/* last packet time */
/* The picket.seq the next indicator gets; the spool keeps it equal to its
 * own record sequence number (agent/spoolout.c). */
uint64_t pk_engine_next_seq(const struct pk_engine *e);
void pk_engine_set_next_seq(struct pk_engine *e, uint64_t next);

/*
 * Process attribution: which process owns a local endpoint.  A process
 * collector (eBPF on Linux, later ETW on Windows) records each outbound
 * connection attempt it sees: the local endpoint (protocol, address,
 * port) and the remote one, owned by a pid whose compact reference it
 * recorded too.  Detectors that work from packets look up a probe's local
 * endpoint to name the process behind it.  Bounded: an LRU of endpoints
 * and one of process references, each with a cap and an eviction
 * counter; an endpoint expires flows.tcp_attempt_timeout plus
 * PK_ATTR_MARGIN_S after it was recorded.  All times are wall-clock
 * microseconds, as packets and process events carry them.
 */
#define PK_ATTR_EXE_MAX		512	/* longer paths are cut */
#define PK_ATTR_MARGIN_S	30
#define PK_ATTR_MAX_ENDPOINTS	8192
#define PK_ATTR_MAX_PROCS	1024

struct pk_proc_ref {
	uint32_t	 pid, ppid, uid;
	uint8_t		 has_hash;
	uint8_t		 sha256[32];
	char		 name[17];			/* comm */
	char		 exe[PK_ATTR_EXE_MAX + 1];
	char		 parent_exe[PK_ATTR_EXE_MAX + 1];	/* "" unknown */
};

/* Add or refresh the reference for ref->pid (a new image, a hash). */
void pk_engine_attrib_process(struct pk_engine *e,
    const struct pk_proc_ref *ref, uint64_t now_us);
/*
 * pid made an attempt from laddr:lport (an unset laddr matches any local
 * address) to raddr:rport; proto is the IP protocol number.  Returns 0, or
 * -1 when pid has no reference or lport is 0.
 */
int pk_engine_attrib_record(struct pk_engine *e, uint8_t proto,
    const struct pk_addr *laddr, uint16_t lport, const struct pk_addr *raddr,
    uint16_t rport, uint32_t pid, uint64_t now_us);
/* The process behind a local endpoint: 1 and *out filled, or 0. */
int pk_engine_attribute(struct pk_engine *e, uint8_t proto,
    const struct pk_addr *laddr, uint16_t lport, struct pk_proc_ref *out);
/* The current reference of a pid (e.g. its hash arrived): 1 or 0. */
int pk_engine_attribute_pid(struct pk_engine *e, uint32_t pid,
    struct pk_proc_ref *out);
/* Has a process collector recorded anything?  Detectors wait for an
 * attribution only when one has. */
int pk_engine_attrib_active(const struct pk_engine *e);
/* write_ecs callback for an indicator (arg: const struct pk_proc_ref *):
 * ECS process.* and user.* in the shape the process collector writes. */
void pk_proc_ref_write_ecs(struct json *j, const void *arg);

/*
 * One scan, one indicator.  A scan by one process on one port may be seen
 * by the packet scan detector and by the process collector; whichever
 * reports it first claims (pid, port, proto) and the other stays silent
 * for it (docs/detection.md).  pk_engine_scan_claim() takes or refreshes
 * the claim for owner and returns owner, or returns the other owner when
 * that one holds it.  A claim lapses scan.idle_timeout after its last
 * refresh; an owner refreshes it once more when its indicator ends, so
 * the other side's late events for that scan stay silent.  Bounded
 * (PK_SCAN_CLAIMS).
 */
enum pk_claim_owner { PK_CLAIM_NONE = 0, PK_CLAIM_PACKET, PK_CLAIM_PROCESS };
#define PK_SCAN_CLAIMS	256

int pk_engine_scan_claim(struct pk_engine *e, uint32_t pid, uint16_t port,
    uint8_t proto, int owner, uint64_t now_us);

/*
 * SIGHUP: reload what the detectors load from files (those with reload
 * ops: the rules and the IOC lists) from cfg, between packets: flows,
 * streams, scan state, sequence numbers and outputs are kept.  A reloadable
 * detector that cfg disables is flushed and removed; one it enables is
 * started.  cfg is only read during the call: the caller keeps its own
 * copy of what changed (pk_engine_config() is not replaced).  All or
 * nothing: returns 0, or -1 with err and the running detectors untouched.
 * Logs "reload: N rules, M IOC entries (was ...)".
 */
int pk_engine_reload(struct pk_engine *e, const struct pk_config *cfg,
    char *err, size_t errlen);
/* Of a running detector named name (pk_detector_ops size): its count, or
 * -1 when it is not running or cannot tell. */
int64_t pk_engine_detector_size(const struct pk_engine *e, const char *name);

/*
 * Shared indicators (docs/bundles.md): the detection sets of the bundle
 * the collector runs (agent/ioc.h, struct pk_shared), or NULL for none.
 * The caller owns sh and swaps it between packets; detectors look it up
 * per packet and copy what an open indicator keeps (pk_ind_shared_dup).
 * The engine itself tags any alert whose rule.id is a rule entry.
 */
struct pk_shared;
void pk_engine_set_shared(struct pk_engine *e, const struct pk_shared *sh);
const struct pk_shared *pk_engine_shared(const struct pk_engine *e);

const struct pk_engine_stats *pk_engine_stats(const struct pk_engine *e);
const struct pk_decoder *pk_engine_decoder(const struct pk_engine *e);
const struct pk_flow_table *pk_engine_flows(const struct pk_engine *e);
/* Statistics report (end of -r, SIGUSR1): "name value" lines. */
void pk_engine_report(struct pk_engine *e, FILE *fp);

#endif
