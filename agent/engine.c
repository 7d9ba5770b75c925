/*
 * engine.c - the detection engine shared by live capture and offline
 * analysis (see engine.h).  For each frame: decode, follow the flow, parse
 * the application fields the detectors want, then give the packet to every
 * enabled detector.  Time comes from the packets, so a capture file replays
 * exactly as the live traffic was seen.  Indicators are serialised once
 * here and handed to every output.  Portable.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/attrib.h"
#include "agent/engine.h"
#include "agent/ioc.h"
#include "common/dlist.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"

#define ENGINE_MAX_OUTPUTS	8
#define ENGINE_MAX_DETECTORS	16
#define ENGINE_LINE_MAX		8192	/* one indicator as JSON */
#define ENGINE_TICK_US		PK_USEC

struct engine_output {
	pk_output_fn	 fn;
	void		*arg;
};

struct engine_detector {
	const struct pk_detector_ops	*ops;
	void				*st;
};

struct pk_engine {
	const struct pk_config	*cfg;
	struct pk_decoder	*dec;
	struct pk_flow_table	*flows;
	struct pk_streams	*streams;
	struct pk_cidrset	 home;
	struct engine_detector	 det[ENGINE_MAX_DETECTORS];
	size_t			 ndet;
	struct engine_output	 out[ENGINE_MAX_OUTPUTS];
	size_t			 nout;
	struct pk_engine_stats	 stats;
	struct attrib		 attr;
	uint64_t		 seq;
	uint64_t		 now_us;	/* latest packet or tick time */
	uint64_t		 last_tick_us;
	int			 offline;
	char			 host_id[PK_CFG_STR_MAX];
	char			 host_name[PK_CFG_STR_MAX];
	char			 agent_id[PK_CFG_STR_MAX];
	char			 line[ENGINE_LINE_MAX];
	pk_engine_frame_tap	 tap_frame;	/* targeted collection */
	pk_engine_dns_tap	 tap_dns;
	void			*tap_arg;
	struct pk_engine_proc_tap proc_tap;	/* proc_trace */
	int			 have_proc_tap;
	unsigned		 sens_pct;	/* sensitivity task; 100 */
	const struct pk_shared	*shared;	/* the bundle's sets; NULL */
};

static void
engine_flow_event(void *arg, const struct pk_flow *f, int event,
    uint64_t now_us)
{
	struct pk_engine *e = arg;
	size_t i;

	for (i = 0; i < e->ndet; i++)
		if (e->det[i].ops->flow_event != NULL)
			e->det[i].ops->flow_event(e->det[i].st, f, event,
			    now_us);
	/* The engine keeps a flow's stream state in its user pointer. */
	if (event == PK_FE_END && f->user != NULL)
		pk_stream_release(e->streams, f->user);
}

static void
engine_release_stream(void *arg, struct pk_flow *f)
{
	struct pk_engine *e = arg;

	if (f->user != NULL)
		pk_stream_release(e->streams, f->user);
	f->user = NULL;
}

struct pk_engine *
pk_engine_new(const struct pk_config *cfg)
{
	struct pk_engine *e;
	struct pk_decode_cfg dc;
	struct pk_flow_cfg fc;
	struct pk_stream_cfg sc;
	size_t i;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->cfg = cfg;
	e->sens_pct = 100;
	e->home = cfg->network.home_net;
	attrib_init(&e->attr, ((uint64_t)cfg->flows.tcp_attempt_timeout +
	    PK_ATTR_MARGIN_S) * PK_USEC,
	    PK_MAX(cfg->scan.idle_timeout, 1) * PK_USEC);

	memset(&dc, 0, sizeof(dc));
	dc.frag_mem_max = cfg->decode.frag_memory;
	dc.frag_timeout_s = (uint32_t)cfg->decode.frag_timeout;
	dc.frag_max_datagrams = (uint32_t)cfg->decode.frag_max_datagrams;
	memset(&fc, 0, sizeof(fc));
	fc.max_flows = (uint32_t)cfg->flows.max_flows;
	fc.tcp_attempt_timeout_s = (uint32_t)cfg->flows.tcp_attempt_timeout;
	fc.tcp_established_timeout_s = (uint32_t)cfg->flows.tcp_timeout;
	fc.tcp_closed_timeout_s = (uint32_t)cfg->flows.tcp_closed_timeout;
	fc.udp_timeout_s = (uint32_t)cfg->flows.udp_timeout;
	fc.other_timeout_s = (uint32_t)cfg->flows.other_timeout;
	memset(&sc, 0, sizeof(sc));
	sc.depth = (uint32_t)cfg->stream.depth;
	sc.memcap = cfg->stream.memcap;
	sc.max_segments = (uint32_t)cfg->stream.max_segments;
	if ((e->dec = pk_decoder_new(&dc)) == NULL ||
	    (e->flows = pk_flow_table_new(&fc, engine_flow_event, e)) == NULL ||
	    (e->streams = pk_streams_new(&sc)) == NULL)
		goto fail;

	for (i = 0; pk_detectors[i] != NULL && e->ndet < ENGINE_MAX_DETECTORS;
	    i++) {
		const struct pk_detector_ops *ops = pk_detectors[i];
		void *st;

		if (ops->enabled != NULL && !ops->enabled(cfg)) {
			log_info("detector %s disabled by configuration",
			    ops->name);
			continue;
		}
		if ((st = ops->init(e, cfg)) == NULL) {
			log_warnx("detector %s failed to start", ops->name);
			goto fail;
		}
		e->det[e->ndet].ops = ops;
		e->det[e->ndet].st = st;
		e->ndet++;
	}
	return e;
fail:
	pk_engine_free(e);
	return NULL;
}

void
pk_engine_free(struct pk_engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->ndet; i++)
		e->det[i].ops->free(e->det[i].st);
	/* Flows first: freeing the table releases no streams (no END
	 * events), so release what the remaining flows hold ourselves. */
	if (e->flows != NULL)
		pk_flow_table_free_each(e->flows, engine_release_stream, e);
	if (e->streams != NULL)
		pk_streams_free(e->streams);
	if (e->dec != NULL)
		pk_decoder_free(e->dec);
	attrib_free(&e->attr);
	free(e);
}

void
pk_engine_set_identity(struct pk_engine *e, const char *host_id,
    const char *host_name, const char *agent_id)
{
	pk_strlcpy(e->host_id, host_id ? host_id : "", sizeof(e->host_id));
	pk_strlcpy(e->host_name, host_name ? host_name : "",
	    sizeof(e->host_name));
	pk_strlcpy(e->agent_id, agent_id ? agent_id : "",
	    sizeof(e->agent_id));
}

int
pk_engine_add_output(struct pk_engine *e, pk_output_fn fn, void *arg)
{
	if (e->nout >= ENGINE_MAX_OUTPUTS)
		return -1;
	e->out[e->nout].fn = fn;
	e->out[e->nout].arg = arg;
	e->nout++;
	return 0;
}

void
pk_engine_set_offline(struct pk_engine *e, int offline)
{
	e->offline = offline;
}

int
pk_engine_offline(const struct pk_engine *e)
{
	return e->offline;
}

const struct pk_config *
pk_engine_config(const struct pk_engine *e)
{
	return e->cfg;
}

uint64_t
pk_engine_now(const struct pk_engine *e)
{
	return e->now_us;
}

int
pk_engine_add_home(struct pk_engine *e, const struct pk_cidr *c)
{
	size_t i;

	for (i = 0; i < e->home.n; i++)
		if (e->home.c[i].plen == c->plen &&
		    pk_addr_eq(&e->home.c[i].net, &c->net))
			return 0;
	if (e->home.n >= PK_CIDRSET_MAX)
		return -1;
	e->home.c[e->home.n++] = *c;
	return 0;
}

int
pk_engine_is_home(const struct pk_engine *e, const struct pk_addr *a)
{
	return pk_cidrset_contains(&e->home, a);
}

enum pk_direction
pk_engine_direction(const struct pk_engine *e, const struct pk_addr *src,
    const struct pk_addr *dst)
{
	int s, d;

	if (e->home.n == 0)
		return PK_DIRN_UNKNOWN;
	s = pk_engine_is_home(e, src);
	d = dst != NULL && dst->family != 0 ? pk_engine_is_home(e, dst) : 0;
	if (s && d)
		return PK_DIRN_INTERNAL;
	if (s)
		return PK_DIRN_OUTBOUND;
	if (d)
		return PK_DIRN_INBOUND;
	return PK_DIRN_EXTERNAL;
}

/* ---- process attribution (attrib.c) ------------------------------------ */

void
pk_engine_attrib_process(struct pk_engine *e, const struct pk_proc_ref *ref,
    uint64_t now_us)
{
	attrib_process(&e->attr, ref, now_us);
}

int
pk_engine_attrib_record(struct pk_engine *e, uint8_t proto,
    const struct pk_addr *laddr, uint16_t lport, const struct pk_addr *raddr,
    uint16_t rport, uint32_t pid, uint64_t now_us)
{
	return attrib_record(&e->attr, proto, laddr, lport, raddr, rport, pid,
	    now_us);
}

int
pk_engine_attribute(struct pk_engine *e, uint8_t proto,
    const struct pk_addr *laddr, uint16_t lport, struct pk_proc_ref *out)
{
	return attrib_lookup(&e->attr, proto, laddr, lport, out, e->now_us);
}

int
pk_engine_attribute_pid(struct pk_engine *e, uint32_t pid,
    struct pk_proc_ref *out)
{
	return attrib_lookup_pid(&e->attr, pid, out);
}

int
pk_engine_attrib_active(const struct pk_engine *e)
{
	return attrib_active(&e->attr);
}

int
pk_engine_scan_claim(struct pk_engine *e, uint32_t pid, uint16_t port,
    uint8_t proto, int owner, uint64_t now_us)
{
	return attrib_claim(&e->attr, pid, port, proto, owner, now_us);
}

uint64_t
pk_engine_next_seq(const struct pk_engine *e)
{
	return e->seq + 1;
}

void
pk_engine_set_next_seq(struct pk_engine *e, uint64_t next)
{
	if (next > 0)
		e->seq = next - 1;
}

void
pk_engine_emit(struct pk_engine *e, struct pk_indicator *ind)
{
	struct pk_ind_shared tag;
	long n;
	size_t i;

	/* A bundle's rule entry: whatever fired with that rule.id carries
	 * the entry (docs/bundles.md).  Alerts only, never health reports;
	 * tag lives until the outputs return. */
	if (e->shared != NULL && ind->shared == NULL && ind->kind == NULL &&
	    pk_shared_rule(e->shared, ind->rule_id, &tag))
		ind->shared = &tag;
	if (ind->shared != NULL && (ind->phase == PK_PHASE_START ||
	    (e->offline && ind->phase == PK_PHASE_END)))
		e->stats.shared_matches++;
	ind->seq = ++e->seq;
	ind->ts_us = e->now_us;
	ind->host_id = e->host_id;
	ind->host_name = e->host_name;
	ind->agent_id = e->agent_id;
	ind->agent_version = PICKET_VERSION;
	if (ind->tlp == NULL)
		ind->tlp = e->cfg->agent.tlp;
	n = pk_indicator_json(ind, e->line, sizeof(e->line));
	if (n < 0) {
		/* Only a detector bug can get here: every field is bounded
		 * well under the line size.  Count it rather than lose it
		 * silently. */
		e->stats.indicators_dropped++;
		log_warnx("indicator %s could not be serialised", ind->rule_id);
		return;
	}
	e->stats.indicators++;
	for (i = 0; i < e->nout; i++)
		e->out[i].fn(e->out[i].arg, e->line, (size_t)n, ind);
}

/*
 * Parse the application fields a detector may want.  Cheap checks on the
 * port and first byte come first so ordinary bulk traffic costs nothing.
 */
static void
engine_app(struct pk_engine *e, struct pk_pktctx *c, struct pk_dns *dns,
    char *sni, size_t snilen, struct pk_http_req *http)
{
	const struct pk_packet *p = c->pkt;
	int r;

	if (p->payload_len == 0)
		return;
	if (p->proto == PK_PROTO_UDP && (p->sport == 53 || p->dport == 53 ||
	    p->sport == 5353 || p->dport == 5353)) {
		r = pk_dns_parse(p->payload, p->payload_len, dns);
		if (r == 0) {
			c->dns = dns;
			e->stats.dns++;
			if (e->tap_dns != NULL && dns->qr == 0 &&
			    dns->nquestions > 0)
				e->tap_dns(e->tap_arg, dns->q[0].name);
		} else if (r == PK_APP_EMALFORMED)
			e->stats.app_errors++;
		return;
	}
	if (p->proto != PK_PROTO_TCP || c->dir != PK_DIR_FWD)
		return;
	if (p->payload[0] == 0x16) {
		r = pk_tls_sni(p->payload, p->payload_len, sni, snilen);
		if (r == 0 && sni[0] != '\0') {
			c->sni = sni;
			e->stats.tls_sni++;
		} else if (r == PK_APP_EMALFORMED)
			e->stats.app_errors++;
	} else if (p->payload[0] >= 'A' && p->payload[0] <= 'Z') {
		/* Headers may span segments: a cut request still has its
		 * request line and every header that arrived whole. */
		r = pk_http_request(p->payload, p->payload_len, http);
		if (r == 0 || (r == PK_APP_ETRUNC && http->method[0] != '\0')) {
			c->http = http;
			e->stats.http++;
		} else if (r == PK_APP_EMALFORMED)
			e->stats.app_errors++;
	}
}

void
pk_engine_set_taps(struct pk_engine *e, pk_engine_frame_tap frame,
    pk_engine_dns_tap dns, void *arg)
{
	e->tap_frame = frame;
	e->tap_dns = dns;
	e->tap_arg = arg;
}

void
pk_engine_set_proc_tap(struct pk_engine *e,
    const struct pk_engine_proc_tap *tap)
{
	if (tap == NULL) {
		memset(&e->proc_tap, 0, sizeof(e->proc_tap));
		e->have_proc_tap = 0;
		return;
	}
	e->proc_tap = *tap;
	e->have_proc_tap = 1;
}

const struct pk_engine_proc_tap *
pk_engine_proc_tap(const struct pk_engine *e)
{
	return e->have_proc_tap ? &e->proc_tap : NULL;
}

/* Apply the sensitivity to every detector that has thresholds. */
static void
engine_apply_sensitivity(struct pk_engine *e, char *desc, size_t len)
{
	char one[384];
	size_t i, off = 0;
	int n;

	if (len > 0)
		desc[0] = '\0';
	for (i = 0; i < e->ndet; i++) {
		if (e->det[i].ops->sensitivity == NULL)
			continue;
		one[0] = '\0';
		e->det[i].ops->sensitivity(e->det[i].st, e->sens_pct, one,
		    sizeof(one));
		if (len == 0 || off >= len)
			continue;
		n = snprintf(desc + off, len - off, "%s%s: %s",
		    off > 0 ? "; " : "", e->det[i].ops->name, one);
		if (n > 0)
			off += (size_t)n;
	}
}

void
pk_engine_set_sensitivity(struct pk_engine *e, unsigned pct, char *desc,
    size_t len)
{
	e->sens_pct = pct < 10 ? 10 : pct > 100 ? 100 : pct;
	engine_apply_sensitivity(e, desc, len);
	log_info("sensitivity: thresholds at %u%% of the configured values",
	    e->sens_pct);
}

unsigned
pk_engine_sensitivity(const struct pk_engine *e)
{
	return e->sens_pct;
}

int
pk_engine_frame(struct pk_engine *e, int linktype, const uint8_t *frame,
    uint32_t caplen, uint32_t wirelen, uint64_t ts_us)
{
	struct pk_packet pkt;
	struct pk_pktctx ctx;
	struct pk_dns dns;
	struct pk_http_req http;
	char sni[PK_SNI_MAX + 1];
	struct pk_stream_view view;
	size_t i;
	int r;

	/* Packet time drives timeouts; a capture may go backwards a little
	 * (multiple interfaces), so time only moves forward. */
	if (ts_us > e->now_us)
		e->now_us = ts_us;
	if (e->now_us - e->last_tick_us >= ENGINE_TICK_US)
		pk_engine_tick(e, e->now_us);

	if (e->tap_frame != NULL)
		e->tap_frame(e->tap_arg, linktype, frame, caplen, wirelen,
		    ts_us);
	r = pk_decode(e->dec, linktype, frame, caplen, wirelen, ts_us, &pkt);
	if (r != 1)
		return r;

	memset(&ctx, 0, sizeof(ctx));
	ctx.pkt = &pkt;
	ctx.flow = pk_flow_update(e->flows, &pkt, &ctx.dir, &ctx.flow_new);
	if (ctx.flow != NULL && pkt.proto == PK_PROTO_TCP &&
	    pk_stream_packet(e->streams, &ctx.flow->user, ctx.dir, &pkt,
	    &view) == 1)
		ctx.stream = &view;
	ctx.src_home = pk_engine_is_home(e, &pkt.src);
	ctx.dst_home = pk_engine_is_home(e, &pkt.dst);
	engine_app(e, &ctx, &dns, sni, sizeof(sni), &http);

	for (i = 0; i < e->ndet; i++)
		if (e->det[i].ops->packet != NULL)
			e->det[i].ops->packet(e->det[i].st, &ctx);
	return 1;
}

void
pk_engine_tick(struct pk_engine *e, uint64_t now_us)
{
	size_t i;

	if (now_us > e->now_us)
		e->now_us = now_us;
	e->last_tick_us = e->now_us;
	pk_decoder_expire(e->dec, e->now_us);
	pk_flow_expire(e->flows, e->now_us);
	attrib_expire(&e->attr, e->now_us);
	for (i = 0; i < e->ndet; i++)
		if (e->det[i].ops->tick != NULL)
			e->det[i].ops->tick(e->det[i].st, e->now_us);
}

void
pk_engine_flush(struct pk_engine *e, uint64_t now_us)
{
	size_t i;

	if (now_us > e->now_us)
		e->now_us = now_us;
	/* Flows first: their final attempt outcomes feed the detectors. */
	pk_flow_flush(e->flows, e->now_us);
	for (i = 0; i < e->ndet; i++)
		if (e->det[i].ops->flush != NULL)
			e->det[i].ops->flush(e->det[i].st, e->now_us);
}

/* ---- reload (SIGHUP) ------------------------------------------------------ */

/* What one reloadable detector becomes: kept, replaced, started, stopped. */
struct engine_plan {
	const struct pk_detector_ops	*ops;
	struct engine_detector		*running;	/* NULL: not running */
	void				*prepared;	/* new state or init */
	int				 enable;
};

static struct engine_detector *
engine_find(struct pk_engine *e, const struct pk_detector_ops *ops)
{
	size_t i;

	for (i = 0; i < e->ndet; i++)
		if (e->det[i].ops == ops)
			return &e->det[i];
	return NULL;
}

int64_t
pk_engine_detector_size(const struct pk_engine *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->ndet; i++)
		if (strcmp(e->det[i].ops->name, name) == 0)
			return e->det[i].ops->size != NULL ?
			    (int64_t)e->det[i].ops->size(e->det[i].st) : -1;
	return -1;
}

/* "120 rules, 3 IOC entries" of the running reloadable detectors. */
static void
engine_sizes(struct pk_engine *e, char *out, size_t len)
{
	size_t i, used = 0;
	int n;

	int pass;

	out[0] = '\0';
	/* The rules first: "reload: N rules, M IOC entries". */
	for (pass = 0; pass < 2; pass++)
	for (i = 0; pk_detectors[i] != NULL; i++) {
		const struct pk_detector_ops *ops = pk_detectors[i];
		struct engine_detector *d;

		if (ops->reload_prepare == NULL || ops->size == NULL ||
		    (strcmp(ops->name, "rules") == 0) != (pass == 0))
			continue;
		d = engine_find(e, ops);
		n = snprintf(out + used, len - used, "%s%llu %s",
		    used > 0 ? ", " : "",
		    (unsigned long long)(d != NULL ? ops->size(d->st) : 0),
		    ops->reload_unit != NULL ? ops->reload_unit : ops->name);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

/* Remove a running detector (cfg turned it off), keeping the order. */
static void
engine_remove(struct pk_engine *e, struct engine_detector *d)
{
	size_t i = (size_t)(d - e->det);

	if (d->ops->flush != NULL)
		d->ops->flush(d->st, e->now_us);
	d->ops->free(d->st);
	memmove(&e->det[i], &e->det[i + 1], (e->ndet - i - 1) * sizeof(*d));
	e->ndet--;
}

/* Add a started detector at its place in pk_detectors[] order. */
static void
engine_insert(struct pk_engine *e, const struct pk_detector_ops *ops,
    void *st)
{
	size_t at = 0, i, k;

	for (i = 0; pk_detectors[i] != NULL && pk_detectors[i] != ops; i++)
		for (k = 0; k < e->ndet; k++)
			if (e->det[k].ops == pk_detectors[i])
				at = k + 1;
	memmove(&e->det[at + 1], &e->det[at], (e->ndet - at) *
	    sizeof(e->det[0]));
	e->det[at].ops = ops;
	e->det[at].st = st;
	e->ndet++;
}

static void
engine_plan_discard(struct engine_plan *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i].prepared == NULL)
			continue;
		if (p[i].running != NULL)
			p[i].ops->reload_discard(p[i].prepared);
		else
			p[i].ops->free(p[i].prepared);
		p[i].prepared = NULL;
	}
}

int
pk_engine_reload(struct pk_engine *e, const struct pk_config *cfg,
    char *err, size_t errlen)
{
	struct engine_plan plan[ENGINE_MAX_DETECTORS];
	char was[256], now[256];
	size_t i, n = 0, k;

	engine_sizes(e, was, sizeof(was));
	/* Build everything first: a failure leaves the engine as it was. */
	for (i = 0; pk_detectors[i] != NULL && n < ENGINE_MAX_DETECTORS; i++) {
		const struct pk_detector_ops *ops = pk_detectors[i];
		struct engine_plan *p = &plan[n];

		if (ops->reload_prepare == NULL || ops->reload_commit == NULL ||
		    ops->reload_discard == NULL)
			continue;
		memset(p, 0, sizeof(*p));
		p->ops = ops;
		p->running = engine_find(e, ops);
		p->enable = ops->enabled == NULL || ops->enabled(cfg);
		n++;
		if (!p->enable)
			continue;
		if (p->running != NULL)
			p->prepared = ops->reload_prepare(p->running->st, cfg,
			    err, errlen);
		else if (e->ndet + n > ENGINE_MAX_DETECTORS)
			snprintf(err, errlen, "%s: too many detectors",
			    ops->name);
		else if ((p->prepared = ops->init(e, cfg)) == NULL)
			snprintf(err, errlen, "%s: cannot start", ops->name);
		if (p->prepared == NULL) {
			engine_plan_discard(plan, n);
			return -1;
		}
	}
	/* Install, between packets: nothing below can fail. */
	for (k = 0; k < n; k++) {
		struct engine_plan *p = &plan[k];
		struct engine_detector *d = engine_find(e, p->ops);

		if (!p->enable) {
			if (d != NULL) {
				log_info("detector %s disabled by the new "
				    "configuration", p->ops->name);
				engine_remove(e, d);
			}
		} else if (d != NULL)
			p->ops->reload_commit(d->st, p->prepared);
		else {
			log_info("detector %s enabled by the new "
			    "configuration", p->ops->name);
			engine_insert(e, p->ops, p->prepared);
		}
		p->prepared = NULL;
	}
	/* A detector started or rebuilt here runs at the sensitivity in
	 * force (a sensitivity task may be running). */
	if (e->sens_pct != 100)
		engine_apply_sensitivity(e, NULL, 0);
	engine_sizes(e, now, sizeof(now));
	log_info("reload: %s (was %s)", now, was);
	return 0;
}

const struct pk_engine_stats *
pk_engine_stats(const struct pk_engine *e)
{
	return &e->stats;
}

const struct pk_decoder *
pk_engine_decoder(const struct pk_engine *e)
{
	return e->dec;
}

const struct pk_flow_table *
pk_engine_flows(const struct pk_engine *e)
{
	return e->flows;
}

static void
engine_report_streams(struct pk_engine *e, FILE *fp)
{
	const struct pk_stream_stats *ss = pk_streams_stats(e->streams);

	fprintf(fp, "stream.streams %llu\n", (unsigned long long)ss->streams);
	fprintf(fp, "stream.bytes %llu\n", (unsigned long long)ss->bytes);
	fprintf(fp, "stream.segments_ooo %llu\n",
	    (unsigned long long)ss->segments_ooo);
	fprintf(fp, "stream.ooo_dropped %llu\n",
	    (unsigned long long)ss->ooo_dropped);
	fprintf(fp, "stream.overlaps_differ %llu\n",
	    (unsigned long long)ss->overlaps_differ);
	fprintf(fp, "stream.gaps %llu\n", (unsigned long long)ss->gaps);
	fprintf(fp, "stream.depth_reached %llu\n",
	    (unsigned long long)ss->depth_reached);
	fprintf(fp, "stream.memcap_refused %llu\n",
	    (unsigned long long)ss->memcap_refused);
	fprintf(fp, "stream.mem_peak %llu\n", (unsigned long long)ss->mem_peak);
	fprintf(fp, "stream.closed %llu\n", (unsigned long long)ss->closed);
	fprintf(fp, "stream.scan_refused %llu\n",
	    (unsigned long long)ss->scan_refused);
}

void
pk_engine_report(struct pk_engine *e, FILE *fp)
{
	const struct pk_decode_stats *ds = pk_decoder_stats(e->dec);
	const struct pk_flow_stats *fs = pk_flow_stats(e->flows);
	size_t i;
	int k;

	fprintf(fp, "packets %llu\n", (unsigned long long)ds->packets);
	fprintf(fp, "bytes %llu\n", (unsigned long long)ds->bytes);
	fprintf(fp, "packets_decoded %llu\n", (unsigned long long)ds->decoded);
	fprintf(fp, "fragments %llu\n", (unsigned long long)ds->fragments);
	fprintf(fp, "fragments_reassembled %llu\n",
	    (unsigned long long)ds->reassembled);
	fprintf(fp, "decode_errors %llu\n",
	    (unsigned long long)pk_decoder_errors(e->dec));
	for (k = 0; k < PK_DE__COUNT; k++)
		if (ds->err[k] != 0)
			fprintf(fp, "decode.%s %llu\n", pk_decode_err_name(k),
			    (unsigned long long)ds->err[k]);
	fprintf(fp, "flows_created %llu\n", (unsigned long long)fs->created);
	fprintf(fp, "flows_active %llu\n", (unsigned long long)fs->active);
	fprintf(fp, "flows_expired %llu\n", (unsigned long long)fs->expired);
	fprintf(fp, "flows_evicted %llu\n", (unsigned long long)fs->evicted);
	fprintf(fp, "attempts_ok %llu\n", (unsigned long long)fs->attempts_ok);
	fprintf(fp, "attempts_failed %llu\n",
	    (unsigned long long)fs->attempts_fail);
	engine_report_streams(e, fp);
	fprintf(fp, "app.dns %llu\n", (unsigned long long)e->stats.dns);
	fprintf(fp, "app.tls_sni %llu\n", (unsigned long long)e->stats.tls_sni);
	fprintf(fp, "app.http %llu\n", (unsigned long long)e->stats.http);
	fprintf(fp, "app.errors %llu\n", (unsigned long long)e->stats.app_errors);
	attrib_report(&e->attr, fp);
	for (i = 0; i < e->ndet; i++)
		if (e->det[i].ops->stats != NULL)
			e->det[i].ops->stats(e->det[i].st, fp);
	fprintf(fp, "indicators %llu\n", (unsigned long long)e->stats.indicators);
	fprintf(fp, "indicators_dropped %llu\n",
	    (unsigned long long)e->stats.indicators_dropped);
	/* shared_matches: the bundle agent's lines have it (only it sets
	 * e->shared) */
}

void
pk_engine_set_shared(struct pk_engine *e, const struct pk_shared *sh)
{
	e->shared = sh;
}

const struct pk_shared *
pk_engine_shared(const struct pk_engine *e)
{
	return e->shared;
}
