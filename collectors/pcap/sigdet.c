/*
 * sigdet.c - the rules detector (pk_detector_sig, "rules").  At init it
 * loads the rule files of [rules] paths (or the one file given with
 * pk_sigdet_set_rule_file), reports what it could not load, and compiles
 * the prefilter.  For each packet it asks rules_match.c which rules match
 * the packet payload or, for TCP, the in-order stream of its direction,
 * and turns matches into indicators (the stream view's cursor lets the
 * matcher scan each stream byte once):
 *
 *   - a rule that matched a TCP flow direction's contents once is not
 *     reported again for that direction (its packets may match again,
 *     and a pending stream rule is evaluated again as the stream grows
 *     when its cursor overflowed): a bounded LRU set of (flow, first_us,
 *     rule, direction);
 *   - threshold / detection_filter decide whether a match alerts
 *     (pk_rule_thresh, keyed by rule and tracked address, packet time);
 *   - one indicator per (rule, source, destination) counts the alerts,
 *     START / CHANGE / END like the scan detector (offline: END only).
 *
 * Every table is bounded and counts what it evicted.  Portable.  Calls
 * back pk_engine_emit, pk_engine_direction and pk_engine_offline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/indicator.h"
#include "collectors/pcap/rules.h"
#include "collectors/pcap/sigdet.h"
#include "common/dir.h"
#include "common/json.h"
#include "common/log.h"
#include "common/lrutab.h"
#include "common/netaddr.h"
#include "common/util.h"

#define USEC		1000000ULL
#define SIG_IDLE	(600 * USEC)	/* close an indicator idle this long */
#define SIG_MIN_TABLE	1024
#define SIG_LOG_LINES	20		/* skipped rules logged at warn */

static char rule_file[PK_CFG_PATH_MAX];

static const char *const default_paths[] = {
	"/usr/share/picket/rules", "/etc/picket/rules",
};

/* ---- bounded LRU tables with fixed-size keys ---------------------------- */

/*
 * Both tables key their nodes by a fixed-size struct right after the
 * node; the key is hashed and compared as bytes (keys are memset first).
 */
struct ltab {
	struct pk_lrutab	 t;
	size_t			 keyoff, keylen;
};

struct ltab_key {
	const struct ltab	*lt;
	const void		*key;
};

static int
ltab_init(struct ltab *lt, uint64_t cap, size_t keyoff, size_t keylen)
{
	lt->keyoff = keyoff;
	lt->keylen = keylen;
	return pk_lrutab_init(&lt->t, cap, 1u << 22);
}

static int
ltab_eq(const struct pk_lrunode *n, const void *arg)
{
	const struct ltab_key *k = arg;

	return memcmp((const char *)n + k->lt->keyoff, k->key,
	    k->lt->keylen) == 0;
}

static struct pk_lrunode *
ltab_find(struct ltab *lt, const void *key, uint64_t *hp)
{
	struct ltab_key k = { lt, key };

	*hp = pk_fnv1a64(key, lt->keylen, PK_FNV_SEED);
	return pk_lrutab_find(&lt->t, *hp, ltab_eq, &k);
}

/* ---- state -------------------------------------------------------------- */

struct fkey {			/* one (flow, direction, rule) reported */
	uint64_t	 flow;		/* the flow's address */
	uint64_t	 first_us;	/* tells reused flow slots apart */
	uint32_t	 rule;
	uint32_t	 dir;
};

struct fired {
	struct pk_lrunode n;
	struct fkey	 k;
};

struct ikey {
	uint32_t	 rule;
	struct pk_addr	 src, dst;
};

struct sind {
	struct pk_lrunode n;
	struct ikey	 k;
	uint8_t		 started, direction, severity, transport, on_stream;
	uint8_t		 has_ports;
	uint16_t	 sport, dport;
	uint64_t	 first_us, last_us, count;
	uint64_t	 reported_us, reported_count;
};

struct sig {
	struct pk_engine	*e;
	struct pk_ruleset	*rs;
	struct pk_rule_thresh	*th;
	struct ltab		 fired, inds;
	uint64_t		 now, idle, update;
	uint64_t		 fired_suppressed, thresh_suppressed;
	uint64_t		 reports, opened, alerts;
	int			 load_problems;
	const struct pk_pktctx	*ctx;		/* packet being matched */
};

struct details {
	const struct pk_rule	*r;
	int			 on_stream;
};

static uint64_t
age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* ---- loading -------------------------------------------------------------- */

struct loadctx {
	FILE		*out;		/* pk_rules_check; NULL: log */
	uint64_t	 lines;
	int		 problems;
	struct pk_ruleset *rs;
};

static void
load_report(void *arg, const char *line)
{
	struct loadctx *lc = arg;

	if (lc->out != NULL)
		fprintf(lc->out, "%s\n", line);
	else if (lc->lines++ < SIG_LOG_LINES)
		log_warnx("rules: %s", line);
	else
		log_debug("rules: %s", line);
}

static void PK_PRINTF(2, 3)
load_problem(struct loadctx *lc, const char *fmt, ...)
{
	char buf[PK_CFG_PATH_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	lc->problems++;
	if (lc->out != NULL)
		fprintf(lc->out, "%s\n", buf);
	else
		log_warnx("rules: %s", buf);
}

static int
load_one(void *arg, const char *path)
{
	struct loadctx *lc = arg;

	if (pk_ruleset_load_file(lc->rs, path) == -1)
		load_problem(lc, "%s: cannot read", path);
	return 0;
}

static int
is_default_path(const char *p)
{
	size_t i;

	for (i = 0; i < PK_NELEM(default_paths); i++)
		if (strcmp(p, default_paths[i]) == 0)
			return 1;
	return 0;
}

static void
load_path(struct loadctx *lc, const char *path)
{
	switch (pk_path_is_dir(path)) {
	case -1:
		if (!is_default_path(path))
			load_problem(lc, "%s: no such file or directory",
			    path);
		break;
	case 1:
		if (pk_dir_each(path, ".rules", load_one, lc) == -1)
			load_problem(lc, "%s: cannot read directory", path);
		break;
	default:
		load_one(lc, path);
		break;
	}
}

static void
load_rules(struct loadctx *lc, const struct pk_config *cfg,
    const char *explicit_file)
{
	char paths[PK_CFG_PATH_MAX], *tok, *next, *end;

	pk_ruleset_set_reporter(lc->rs, load_report, lc);
	if (explicit_file != NULL && explicit_file[0] != '\0') {
		if (pk_path_is_dir(explicit_file) == 1)
			load_path(lc, explicit_file);
		else if (pk_ruleset_load_file(lc->rs, explicit_file) == -1)
			load_problem(lc, "%s: cannot read", explicit_file);
		return;
	}
	pk_strlcpy(paths, cfg->rules.paths, sizeof(paths));
	for (tok = paths; tok != NULL; tok = next) {
		if ((next = strchr(tok, ',')) != NULL)
			*next++ = '\0';
		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*tok != '\0')
			load_path(lc, tok);
	}
}

int
pk_rules_check(const struct pk_config *cfg, const char *explicit_file,
    FILE *out)
{
	struct loadctx lc;
	const char *reason;
	uint64_t n;
	size_t i;

	memset(&lc, 0, sizeof(lc));
	lc.out = out;
	if ((lc.rs = pk_ruleset_new(cfg)) == NULL) {
		fprintf(out, "rules: out of memory\n");
		return 1;
	}
	load_rules(&lc, cfg, explicit_file);
	fprintf(out, "rules: %zu loaded, %llu skipped\n",
	    pk_ruleset_count(lc.rs),
	    (unsigned long long)pk_ruleset_skipped(lc.rs));
	for (i = 0; (reason = pk_ruleset_reason(lc.rs, i, &n)) != NULL; i++)
		fprintf(out, "rules: skipped %llu: %s\n",
		    (unsigned long long)n, reason);
	pk_ruleset_free(lc.rs);
	return lc.problems;
}

void
pk_sigdet_set_rule_file(const char *path)
{
	pk_strlcpy(rule_file, path != NULL ? path : "", sizeof(rule_file));
}

/* ---- indicators -------------------------------------------------------------- */

/* priority 1 high, 2 medium, 3+ low, none medium; from home: critical */
static uint8_t
severity(const struct pk_rule *r, int src_home)
{
	if (src_home)
		return PK_SEV_CRITICAL;
	if (r->priority == 1)
		return PK_SEV_HIGH;
	if (r->priority >= 3)
		return PK_SEV_LOW;
	return PK_SEV_MEDIUM;
}

static void
write_details(struct json *j, const void *arg)
{
	const struct details *d = arg;

	json_str(j, "method", "signature", 0);
	json_u64(j, "gid", d->r->gid);
	json_u64(j, "sid", d->r->sid);
	json_u64(j, "rev", d->r->rev);
	json_str(j, "matched", d->on_stream ? "stream" : "packet", 0);
}

static void
emit(struct sig *s, struct sind *in, int phase)
{
	const struct pk_rule *r = pk_ruleset_rule(s->rs, in->k.rule);
	struct pk_indicator pi;
	struct details d;
	char id[16], ver[16], key[96], msg[PK_RULE_MAX_MSG + 128];
	char a[PK_ADDRSTRLEN], b[PK_ADDRSTRLEN];

	memset(&pi, 0, sizeof(pi));
	d.r = r;
	d.on_stream = in->on_stream;
	snprintf(id, sizeof(id), "%u", r->sid);
	snprintf(ver, sizeof(ver), "%u", r->rev);
	snprintf(msg, sizeof(msg), "%s: %s -> %s",
	    r->msg[0] != '\0' ? r->msg : id,
	    pk_addr_format(&in->k.src, a, sizeof(a)),
	    pk_addr_format(&in->k.dst, b, sizeof(b)));
	pi.phase = (uint8_t)phase;
	pi.direction = in->direction;
	pi.severity = in->severity;
	pi.module = "network";
	pi.dataset = "picket.rules";
	pi.category = "network";
	pi.rule_id = id;
	pi.rule_name = r->msg[0] != '\0' ? r->msg : id;
	pi.ruleset = r->file;
	pi.rule_category = r->classtype;
	pi.rule_reference = r->reference;
	pi.rule_version = ver;
	pi.message = msg;
	pi.first_seen_us = in->first_us;
	pi.last_seen_us = in->last_us;
	pi.count = in->count;
	pi.has_src = pi.has_dst = 1;
	pi.src = in->k.src;
	pi.dst = in->k.dst;
	pi.transport = in->transport;
	if (in->has_ports) {
		pi.has_sport = pi.has_dport = 1;
		pi.sport = in->sport;
		pi.dport = in->dport;
	}
	/* No addresses: the hub groups one rule's findings across hosts. */
	snprintf(key, sizeof(key), "rules|%u|%u|%s", r->gid, r->sid,
	    pk_direction_name(in->direction));
	pk_indicator_fingerprint(&pi, key, strlen(key));
	pi.write_details = write_details;
	pi.details_arg = &d;
	pk_engine_emit(s->e, &pi);
	s->reports++;
	in->reported_us = s->now;
	in->reported_count = in->count;
}

static void
ind_end(struct sig *s, struct sind *in)
{
	emit(s, in, PK_PHASE_END);
	pk_lrutab_unlink(&s->inds.t, &in->n);
	free(in);
}

static void
alert(struct sig *s, const struct pk_rule *r, int on_stream)
{
	const struct pk_pktctx *c = s->ctx;
	const struct pk_packet *p = c->pkt;
	struct ikey k;
	struct sind *in;
	struct pk_lrunode *n;
	uint64_t h;

	memset(&k, 0, sizeof(k));
	k.rule = r->idx;
	k.src = p->src;
	k.dst = p->dst;
	s->alerts++;
	if ((n = ltab_find(&s->inds, &k, &h)) != NULL) {
		in = (struct sind *)(void *)n;
		in->count++;
		if (p->ts_us < in->first_us)
			in->first_us = p->ts_us;
		if (p->ts_us > in->last_us)
			in->last_us = p->ts_us;
		pk_lrutab_touch(&s->inds.t, n, s->now);
		if (in->started && s->update > 0 &&
		    in->count != in->reported_count &&
		    age(s->now, in->reported_us) >= s->update &&
		    !pk_engine_offline(s->e))
			emit(s, in, PK_PHASE_CHANGE);
		return;
	}
	if ((n = pk_lrutab_victim(&s->inds.t)) != NULL)
		ind_end(s, (struct sind *)(void *)n);
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return;
	in->k = k;
	in->direction = (uint8_t)pk_engine_direction(s->e, &p->src, &p->dst);
	in->severity = severity(r, c->src_home);
	in->transport = p->proto;
	in->on_stream = (uint8_t)on_stream;
	if (p->proto == PK_PROTO_TCP || p->proto == PK_PROTO_UDP) {
		in->has_ports = 1;
		in->sport = p->sport;
		in->dport = p->dport;
	}
	in->first_us = in->last_us = p->ts_us;
	in->count = 1;
	pk_lrutab_link(&s->inds.t, &in->n, h, s->now);
	s->opened++;
	if (!pk_engine_offline(s->e)) {
		emit(s, in, PK_PHASE_START);
		in->started = 1;
	}
}

/* Was this (rule, flow direction) reported already?  Remembers it. */
static int
already_fired(struct sig *s, const struct pk_rule *r)
{
	const struct pk_pktctx *c = s->ctx;
	struct fkey k;
	struct fired *f;
	struct pk_lrunode *n;
	uint64_t h;

	memset(&k, 0, sizeof(k));
	k.flow = (uint64_t)(uintptr_t)c->flow;
	k.first_us = c->flow->first_us;
	k.rule = r->idx;
	k.dir = (uint32_t)c->dir;
	if ((n = ltab_find(&s->fired, &k, &h)) != NULL) {
		pk_lrutab_touch(&s->fired.t, n, s->now);
		return 1;
	}
	if ((n = pk_lrutab_victim(&s->fired.t)) != NULL) {
		pk_lrutab_unlink(&s->fired.t, n);
		free(n);
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return 0;
	f->k = k;
	pk_lrutab_link(&s->fired.t, &f->n, h, s->now);
	return 0;
}

static void
on_match(void *arg, const struct pk_rule *r, int on_stream)
{
	struct sig *s = arg;
	const struct pk_pktctx *c = s->ctx;
	const struct pk_packet *p = c->pkt;

	/* A TCP flow direction's contents are one finding, however often
	 * the growing stream (or its packets) is matched again. */
	if (r->ncontents > 0 && p->proto == PK_PROTO_TCP && c->flow != NULL &&
	    already_fired(s, r)) {
		s->fired_suppressed++;
		return;
	}
	if (!pk_rule_thresh_check(s->th, r, &p->src, &p->dst, p->ts_us)) {
		s->thresh_suppressed++;
		return;
	}
	alert(s, r, on_stream);
}

/* ---- the detector ---------------------------------------------------------- */

static int
sig_enabled(const struct pk_config *cfg)
{
	return cfg->rules.enabled || rule_file[0] != '\0';
}

static void sig_free(void *);
static void node_free(struct pk_lrunode *n, void *arg);

static void *
sig_init(struct pk_engine *e, const struct pk_config *cfg)
{
	struct sig *s;
	struct loadctx lc;
	const char *reason;
	uint64_t cap, n;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->e = e;
	s->idle = SIG_IDLE;
	s->update = cfg->output.update_interval * USEC;
	cap = PK_MAX(cfg->rules.max_threshold_entries, SIG_MIN_TABLE);
	if ((s->rs = pk_ruleset_new(cfg)) == NULL ||
	    (s->th = pk_rule_thresh_new(cfg->rules.max_threshold_entries)) ==
	    NULL ||
	    ltab_init(&s->fired, cap, offsetof(struct fired, k),
	    sizeof(struct fkey)) == -1 ||
	    ltab_init(&s->inds, cap, offsetof(struct sind, k),
	    sizeof(struct ikey)) == -1)
		goto fail;
	memset(&lc, 0, sizeof(lc));
	lc.rs = s->rs;
	load_rules(&lc, cfg, rule_file[0] != '\0' ? rule_file : NULL);
	s->load_problems = lc.problems;
	if (pk_ruleset_compile(s->rs) == -1)
		goto fail;
	log_info("rules: %zu loaded, %llu skipped", pk_ruleset_count(s->rs),
	    (unsigned long long)pk_ruleset_skipped(s->rs));
	for (i = 0; (reason = pk_ruleset_reason(s->rs, i, &n)) != NULL; i++)
		log_info("rules: skipped %llu: %s", (unsigned long long)n,
		    reason);
	return s;
fail:
	sig_free(s);
	return NULL;
}

/* ---- reload (pk_engine_reload) -------------------------------------------- */

/* A new configuration's rules, built beside the running ones. */
struct sig_new {
	struct pk_ruleset	*rs;
	struct pk_rule_thresh	*th;
	int			 load_problems;
};

static void
sig_reload_discard(void *prepared)
{
	struct sig_new *n = prepared;

	if (n == NULL)
		return;
	pk_rule_thresh_free(n->th);
	pk_ruleset_free(n->rs);
	free(n);
}

/*
 * The parent checked the files as root (picketd -n); here, after the
 * privilege drop, a file that cannot be read or a rule set that does not
 * compile keeps the running rules rather than running with fewer.
 */
static void *
sig_reload_prepare(void *st, const struct pk_config *cfg, char *err,
    size_t errlen)
{
	struct sig_new *n;
	struct loadctx lc;

	(void)st;
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    (n->rs = pk_ruleset_new(cfg)) == NULL ||
	    (n->th = pk_rule_thresh_new(cfg->rules.max_threshold_entries)) ==
	    NULL) {
		snprintf(err, errlen, "rules: out of memory");
		sig_reload_discard(n);
		return NULL;
	}
	memset(&lc, 0, sizeof(lc));
	lc.rs = n->rs;
	load_rules(&lc, cfg, rule_file[0] != '\0' ? rule_file : NULL);
	n->load_problems = lc.problems;
	if (lc.problems > 0) {
		snprintf(err, errlen, "rules: %d file%s could not be read "
		    "(logged)", lc.problems, lc.problems == 1 ? "" : "s");
		sig_reload_discard(n);
		return NULL;
	}
	if (pk_ruleset_compile(n->rs) == -1) {
		snprintf(err, errlen, "rules: cannot compile");
		sig_reload_discard(n);
		return NULL;
	}
	return n;
}

/*
 * Open indicators and the tables name rules by their index in the old
 * set: the indicators are ended (reported, not lost) and the tables
 * emptied, then the new set takes over.  Thresholds start counting again.
 */
static void
sig_reload_commit(void *st, void *prepared)
{
	struct sig *s = st;
	struct sig_new *n = prepared;
	struct pk_lrunode *node;

	while ((node = pk_lrutab_oldest(&s->inds.t)) != NULL)
		ind_end(s, (struct sind *)(void *)node);
	pk_lrutab_clear(&s->fired.t, node_free, NULL);
	pk_rule_thresh_free(s->th);
	pk_ruleset_free(s->rs);
	s->rs = n->rs;
	s->th = n->th;
	s->load_problems = n->load_problems;
	free(n);
}

static uint64_t
sig_size(void *st)
{
	return pk_ruleset_count(((struct sig *)st)->rs);
}

static int
established(const struct pk_flow *f)
{
	if (f->proto != PK_PROTO_TCP)
		return f->pkts[PK_DIR_FWD] > 0 && f->pkts[PK_DIR_REV] > 0;
	switch (f->state) {
	case PK_FS_ESTABLISHED:
	case PK_FS_FIN:
	case PK_FS_CLOSED:
		return 1;
	case PK_FS_RESET:	/* reset after both sides carried data */
		return f->payload[PK_DIR_FWD] > 0 && f->payload[PK_DIR_REV] > 0;
	default:
		return 0;
	}
}

static void
sig_packet(void *st, const struct pk_pktctx *c)
{
	struct sig *s = st;
	struct pk_rule_input in;

	if (c->pkt == NULL || pk_ruleset_count(s->rs) == 0)
		return;
	if (c->pkt->ts_us > s->now)
		s->now = c->pkt->ts_us;
	memset(&in, 0, sizeof(in));
	in.pkt = c->pkt;
	if (c->stream != NULL && c->stream->data != NULL) {
		in.stream = c->stream->data;
		in.stream_len = c->stream->len;
		in.stream_new = c->stream->new_off;
		in.scan = c->stream->scan;
	}
	if (c->flow != NULL) {
		in.has_flow = 1;
		in.to_server = c->dir == PK_DIR_FWD;
		in.established = (uint8_t)established(c->flow);
	}
	in.src_home = (uint8_t)(c->src_home != 0);
	in.dst_home = (uint8_t)(c->dst_home != 0);
	s->ctx = c;
	pk_ruleset_match(s->rs, &in, on_match, s);
	s->ctx = NULL;
}

static void
sig_tick(void *st, uint64_t now_us)
{
	struct sig *s = st;
	struct pk_lrunode *n;

	if (now_us > s->now)
		s->now = now_us;
	while ((n = pk_lrutab_oldest(&s->inds.t)) != NULL &&
	    age(s->now, n->touch_us) >= s->idle)
		ind_end(s, (struct sind *)(void *)n);
}

static void
sig_flush(void *st, uint64_t now_us)
{
	struct sig *s = st;
	struct pk_lrunode *n;

	if (now_us > s->now)
		s->now = now_us;
	while ((n = pk_lrutab_oldest(&s->inds.t)) != NULL)
		ind_end(s, (struct sind *)(void *)n);
}

static void
sig_stats(void *st, FILE *fp)
{
	struct sig *s = st;
	const struct pk_rules_stats *rs = pk_ruleset_stats(s->rs);

#define P(name, v) fprintf(fp, "rules." name " %llu\n", (unsigned long long)(v))
	P("loaded", pk_ruleset_count(s->rs));
	P("skipped", pk_ruleset_skipped(s->rs));
	P("load_problems", s->load_problems);
	P("packets", rs->packets);
	P("prefilter_bytes", rs->scanned_bytes);
	P("prefilter_candidates", rs->candidates);
	P("evaluated", rs->evaluated);
	P("matches", rs->matches);
	P("inspect_limit", rs->inspect_limit);
	P("stream_resumed", rs->stream_resumed);
	P("stream_rescans", rs->stream_rescans);
	P("pending_overflow", rs->pending_overflow);
	P("pending_skipped", rs->pending_skipped);
	P("packet_rescans", rs->packet_rescans);
	P("fired_suppressed", s->fired_suppressed);
	P("fired_tracked", s->fired.t.n);
	P("fired_evicted", s->fired.t.evicted);
	P("threshold_suppressed", s->thresh_suppressed);
	P("threshold_tracked", pk_rule_thresh_entries(s->th));
	P("threshold_evicted", pk_rule_thresh_evicted(s->th));
	P("alerts", s->alerts);
	P("indicators_open", s->inds.t.n);
	P("indicators_opened", s->opened);
	P("indicators_evicted", s->inds.t.evicted);
	P("indicators", s->reports);
#undef P
}

/* The tables' nodes are the first member of what was allocated. */
static void
node_free(struct pk_lrunode *n, void *arg)
{
	(void)arg;
	free(n);
}

static void
sig_free(void *st)
{
	struct sig *s = st;

	if (s == NULL)
		return;
	pk_lrutab_clear(&s->fired.t, node_free, NULL);
	pk_lrutab_clear(&s->inds.t, node_free, NULL);
	pk_rule_thresh_free(s->th);
	pk_ruleset_free(s->rs);
	free(s);
}

const struct pk_detector_ops pk_detector_sig = {
	.name = "rules",
	.description = "content rules (Suricata-compatible subset) on "
	    "packets and TCP streams",
	.enabled = sig_enabled,
	.init = sig_init,
	.packet = sig_packet,
	.flow_event = NULL,
	.tick = sig_tick,
	.flush = sig_flush,
	.stats = sig_stats,
	.free = sig_free,
	.reload_prepare = sig_reload_prepare,
	.reload_commit = sig_reload_commit,
	.reload_discard = sig_reload_discard,
	.size = sig_size,
	.reload_unit = "rules",
};
