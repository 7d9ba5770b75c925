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

const struct pk_engine_stats *pk_engine_stats(const struct pk_engine *e);
const struct pk_decoder *pk_engine_decoder(const struct pk_engine *e);
const struct pk_flow_table *pk_engine_flows(const struct pk_engine *e);
/* Statistics report (end of -r, SIGUSR1): "name value" lines. */
void pk_engine_report(struct pk_engine *e, FILE *fp);

#endif
