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
#include "agent/engine.h"
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

/* ---- process attribution (engine.h) ---------------------------------- */

#define ATTR_EP_BUCKETS		8192u	/* power of two */
#define ATTR_PROC_BUCKETS	1024u

struct attr_ep {
	struct attr_ep	*hnext;
	struct pk_dlink	 lru;		/* head = recorded longest ago */
	uint64_t	 ts;
	struct pk_addr	 laddr, raddr;
	uint16_t	 lport, rport;
	uint8_t		 proto;
	uint32_t	 pid;
};

struct attr_proc {
	struct attr_proc *hnext;
	struct pk_dlink	 lru;
	struct pk_proc_ref ref;
};

struct attr_claim {
	uint64_t	 ts;
	uint32_t	 pid;
	uint16_t	 port;
	uint8_t		 proto, owner;
};

struct attrib {
	/* both tables are allocated on the first record, so an agent
	 * without a process collector pays nothing */
	struct attr_ep		*ep;
	struct attr_ep		**ep_b;
	struct attr_ep		*ep_free;
	struct pk_dlist		 ep_lru;
	size_t			 ep_used, nep;
	struct attr_proc	*pr;
	struct attr_proc	**pr_b;
	struct attr_proc	*pr_free;
	struct pk_dlist		 pr_lru;
	size_t			 pr_used, npr;
	struct attr_claim	 claims[PK_SCAN_CLAIMS];
	uint64_t		 ttl_us, claim_ttl_us, now;
	int			 failed;	/* allocation failed: off */
	/* counters */
	uint64_t		 records, lookups, hits, no_process;
	uint64_t		 ep_evicted, ep_expired, pr_evicted;
	uint64_t		 claims_taken, claims_refused, claims_evicted;
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
	e->home = cfg->network.home_net;
	e->attr.ttl_us = ((uint64_t)cfg->flows.tcp_attempt_timeout +
	    PK_ATTR_MARGIN_S) * PK_USEC;
	e->attr.claim_ttl_us = PK_MAX(cfg->scan.idle_timeout, 1) * PK_USEC;

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
	free(e->attr.ep);
	free(e->attr.ep_b);
	free(e->attr.pr);
	free(e->attr.pr_b);
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

/* ---- process attribution -------------------------------------------- */

/*
 * Why two tables: a scanner opens thousands of endpoints from one
 * process, so endpoints hold only a pid and the process reference (about
 * 1 KiB with its paths) is kept once per pid.
 */
static int
attr_alloc(struct attrib *a)
{
	if (a->ep != NULL)
		return 0;
	if (a->failed)
		return -1;
	a->ep = calloc(PK_ATTR_MAX_ENDPOINTS, sizeof(*a->ep));
	a->ep_b = calloc(ATTR_EP_BUCKETS, sizeof(*a->ep_b));
	a->pr = calloc(PK_ATTR_MAX_PROCS, sizeof(*a->pr));
	a->pr_b = calloc(ATTR_PROC_BUCKETS, sizeof(*a->pr_b));
	if (a->ep == NULL || a->ep_b == NULL || a->pr == NULL ||
	    a->pr_b == NULL) {
		free(a->ep);
		free(a->ep_b);
		free(a->pr);
		free(a->pr_b);
		a->ep = NULL;
		a->ep_b = NULL;
		a->pr = NULL;
		a->pr_b = NULL;
		a->failed = 1;
		log_warnx("process attribution: out of memory, disabled");
		return -1;
	}
	return 0;
}

static void
attr_clock(struct attrib *a, uint64_t now)
{
	if (now > a->now)
		a->now = now;
}

static size_t
attr_ep_bucket(uint8_t proto, uint16_t lport)
{
	uint32_t k = ((uint32_t)proto << 16 | lport) * 2654435761u;

	return (k >> 16) & (ATTR_EP_BUCKETS - 1);
}

static size_t
attr_pr_bucket(uint32_t pid)
{
	return (pid * 2654435761u >> 12) & (ATTR_PROC_BUCKETS - 1);
}

static struct attr_proc *
attr_proc_find(struct attrib *a, uint32_t pid)
{
	struct attr_proc *p;

	if (a->pr_b == NULL)
		return NULL;
	for (p = a->pr_b[attr_pr_bucket(pid)]; p != NULL; p = p->hnext)
		if (p->ref.pid == pid)
			return p;
	return NULL;
}

static void
attr_proc_unhash(struct attrib *a, struct attr_proc *p)
{
	struct attr_proc **pp;

	for (pp = &a->pr_b[attr_pr_bucket(p->ref.pid)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	pk_dlist_unlink(&a->pr_lru, &p->lru);
	a->npr--;
}

static void
attr_ep_unhash(struct attrib *a, struct attr_ep *x)
{
	struct attr_ep **pp;

	for (pp = &a->ep_b[attr_ep_bucket(x->proto, x->lport)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == x) {
			*pp = x->hnext;
			break;
		}
	pk_dlist_unlink(&a->ep_lru, &x->lru);
	a->nep--;
}

static int
attr_expired(const struct attrib *a, const struct attr_ep *x)
{
	return a->now > x->ts && a->now - x->ts >= a->ttl_us;
}

/* Endpoints past their time go back to the free list, oldest first. */
static void
attr_expire(struct attrib *a, uint64_t now)
{
	struct attr_ep *x;

	if (a->ep == NULL)
		return;
	attr_clock(a, now);
	while ((x = PK_DLIST_FIRST(&a->ep_lru, struct attr_ep, lru)) != NULL &&
	    attr_expired(a, x)) {
		attr_ep_unhash(a, x);
		x->hnext = a->ep_free;
		a->ep_free = x;
		a->ep_expired++;
	}
}

void
pk_engine_attrib_process(struct pk_engine *e, const struct pk_proc_ref *ref,
    uint64_t now_us)
{
	struct attrib *a = &e->attr;
	struct attr_proc *p;
	size_t b;

	if (attr_alloc(a) == -1)
		return;
	attr_clock(a, now_us);
	if ((p = attr_proc_find(a, ref->pid)) != NULL) {
		p->ref = *ref;
		pk_dlist_move_tail(&a->pr_lru, &p->lru);
		return;
	}
	if ((p = a->pr_free) != NULL)
		a->pr_free = p->hnext;
	else if (a->pr_used < PK_ATTR_MAX_PROCS)
		p = &a->pr[a->pr_used++];
	else {
		/* Its endpoints stay, and miss (attrib.no_process). */
		p = PK_DLIST_FIRST(&a->pr_lru, struct attr_proc, lru);
		attr_proc_unhash(a, p);
		a->pr_evicted++;
	}
	p->ref = *ref;
	p->ref.name[sizeof(p->ref.name) - 1] = '\0';
	p->ref.exe[sizeof(p->ref.exe) - 1] = '\0';
	p->ref.parent_exe[sizeof(p->ref.parent_exe) - 1] = '\0';
	b = attr_pr_bucket(ref->pid);
	p->hnext = a->pr_b[b];
	a->pr_b[b] = p;
	pk_dlist_append(&a->pr_lru, &p->lru);
	a->npr++;
}

static int
attr_addr_match(const struct pk_addr *entry, const struct pk_addr *want)
{
	return entry->family == 0 || want == NULL || want->family == 0 ||
	    pk_addr_eq(entry, want);
}

int
pk_engine_attrib_record(struct pk_engine *e, uint8_t proto,
    const struct pk_addr *laddr, uint16_t lport, const struct pk_addr *raddr,
    uint16_t rport, uint32_t pid, uint64_t now_us)
{
	struct attrib *a = &e->attr;
	struct attr_proc *p;
	struct attr_ep *x;
	struct pk_addr none;
	size_t b;

	if (lport == 0 || a->ep == NULL ||
	    (p = attr_proc_find(a, pid)) == NULL)
		return -1;
	attr_clock(a, now_us);
	memset(&none, 0, sizeof(none));
	if (laddr == NULL)
		laddr = &none;
	pk_dlist_move_tail(&a->pr_lru, &p->lru);
	a->records++;
	b = attr_ep_bucket(proto, lport);
	for (x = a->ep_b[b]; x != NULL; x = x->hnext)
		if (x->proto == proto && x->lport == lport &&
		    memcmp(&x->laddr, laddr, sizeof(*laddr)) == 0)
			break;
	if (x != NULL)
		pk_dlist_unlink(&a->ep_lru, &x->lru);	/* reused below */
	else {
		if ((x = a->ep_free) != NULL)
			a->ep_free = x->hnext;
		else if (a->ep_used < PK_ATTR_MAX_ENDPOINTS)
			x = &a->ep[a->ep_used++];
		else {
			x = PK_DLIST_FIRST(&a->ep_lru, struct attr_ep, lru);
			attr_ep_unhash(a, x);
			a->ep_evicted++;
		}
		x->proto = proto;
		x->lport = lport;
		x->laddr = *laddr;
		x->hnext = a->ep_b[b];
		a->ep_b[b] = x;
		a->nep++;
	}
	if (raddr != NULL)
		x->raddr = *raddr;
	else
		memset(&x->raddr, 0, sizeof(x->raddr));
	x->rport = rport;
	x->pid = pid;
	x->ts = a->now;
	pk_dlist_append(&a->ep_lru, &x->lru);
	return 0;
}

int
pk_engine_attribute(struct pk_engine *e, uint8_t proto,
    const struct pk_addr *laddr, uint16_t lport, struct pk_proc_ref *out)
{
	struct attrib *a = &e->attr;
	struct attr_proc *p;
	struct attr_ep *x;

	if (a->ep == NULL || lport == 0)
		return 0;
	attr_clock(a, e->now_us);
	a->lookups++;
	for (x = a->ep_b[attr_ep_bucket(proto, lport)]; x != NULL;
	    x = x->hnext) {
		if (x->proto != proto || x->lport != lport ||
		    !attr_addr_match(&x->laddr, laddr) || attr_expired(a, x))
			continue;
		if ((p = attr_proc_find(a, x->pid)) == NULL) {
			a->no_process++;
			return 0;
		}
		*out = p->ref;
		a->hits++;
		return 1;
	}
	return 0;
}

int
pk_engine_attribute_pid(struct pk_engine *e, uint32_t pid,
    struct pk_proc_ref *out)
{
	struct attr_proc *p = attr_proc_find(&e->attr, pid);

	if (p == NULL)
		return 0;
	*out = p->ref;
	return 1;
}

int
pk_engine_attrib_active(const struct pk_engine *e)
{
	return e->attr.ep != NULL;	/* fed since the first process */
}

void
pk_proc_ref_write_ecs(struct json *j, const void *arg)
{
	const struct pk_proc_ref *r = arg;
	char hex[65], uid[16];

	json_obj_begin(j, "process");
	json_u64(j, "pid", r->pid);
	json_str(j, "executable", r->exe, PK_ATTR_EXE_MAX);
	if (r->name[0] != '\0')
		json_str(j, "name", r->name, 16);
	json_obj_begin(j, "parent");
	json_u64(j, "pid", r->ppid);
	if (r->parent_exe[0] != '\0')
		json_str(j, "executable", r->parent_exe, PK_ATTR_EXE_MAX);
	json_obj_end(j);
	if (r->has_hash) {
		pk_hex(r->sha256, 32, hex);
		json_obj_begin(j, "hash");
		json_str(j, "sha256", hex, 0);
		json_obj_end(j);
	}
	json_obj_end(j);
	/* ECS user.id is a string (it holds SIDs on Windows). */
	snprintf(uid, sizeof(uid), "%u", (unsigned)r->uid);
	json_obj_begin(j, "user");
	json_str(j, "id", uid, 0);
	json_obj_end(j);
}

static struct attr_claim *
claim_find(struct attrib *a, uint32_t pid, uint16_t port, uint8_t proto)
{
	size_t i;

	for (i = 0; i < PK_SCAN_CLAIMS; i++)
		if (a->claims[i].owner != PK_CLAIM_NONE &&
		    a->claims[i].pid == pid && a->claims[i].port == port &&
		    a->claims[i].proto == proto)
			return &a->claims[i];
	return NULL;
}

int
pk_engine_scan_claim(struct pk_engine *e, uint32_t pid, uint16_t port,
    uint8_t proto, int owner, uint64_t now_us)
{
	struct attrib *a = &e->attr;
	struct attr_claim *c, *old = NULL;
	size_t i;

	attr_clock(a, now_us);
	if ((c = claim_find(a, pid, port, proto)) != NULL &&
	    c->owner != owner && a->now - PK_MIN(c->ts, a->now) <
	    a->claim_ttl_us) {
		a->claims_refused++;
		return c->owner;
	}
	if (c == NULL) {
		/* a free slot, else one that lapsed, else the oldest */
		for (i = 0; i < PK_SCAN_CLAIMS && c == NULL; i++)
			if (a->claims[i].owner == PK_CLAIM_NONE)
				c = &a->claims[i];
		for (i = 0; i < PK_SCAN_CLAIMS && c == NULL; i++)
			if (old == NULL || a->claims[i].ts < old->ts)
				old = &a->claims[i];
		if (c == NULL) {
			c = old;
			if (a->now - PK_MIN(c->ts, a->now) < a->claim_ttl_us)
				a->claims_evicted++;
		}
		a->claims_taken++;
	}
	c->pid = pid;
	c->port = port;
	c->proto = proto;
	c->owner = (uint8_t)owner;
	c->ts = a->now;
	return owner;
}

void
pk_engine_scan_release(struct pk_engine *e, uint32_t pid, uint16_t port,
    uint8_t proto, int owner)
{
	struct attr_claim *c = claim_find(&e->attr, pid, port, proto);

	if (c != NULL && c->owner == owner)
		c->owner = PK_CLAIM_NONE;
}

static void
attr_report(struct attrib *a, FILE *fp)
{
	fprintf(fp, "attrib.endpoints %llu\n", (unsigned long long)a->nep);
	fprintf(fp, "attrib.endpoints_evicted %llu\n",
	    (unsigned long long)a->ep_evicted);
	fprintf(fp, "attrib.endpoints_expired %llu\n",
	    (unsigned long long)a->ep_expired);
	fprintf(fp, "attrib.processes %llu\n", (unsigned long long)a->npr);
	fprintf(fp, "attrib.processes_evicted %llu\n",
	    (unsigned long long)a->pr_evicted);
	fprintf(fp, "attrib.records %llu\n", (unsigned long long)a->records);
	fprintf(fp, "attrib.lookups %llu\n", (unsigned long long)a->lookups);
	fprintf(fp, "attrib.hits %llu\n", (unsigned long long)a->hits);
	fprintf(fp, "attrib.no_process %llu\n",
	    (unsigned long long)a->no_process);
	fprintf(fp, "attrib.claims %llu\n",
	    (unsigned long long)a->claims_taken);
	fprintf(fp, "attrib.claims_refused %llu\n",
	    (unsigned long long)a->claims_refused);
	fprintf(fp, "attrib.claims_evicted %llu\n",
	    (unsigned long long)a->claims_evicted);
}

void
pk_engine_emit(struct pk_engine *e, struct pk_indicator *ind)
{
	long n;
	size_t i;

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
	attr_expire(&e->attr, e->now_us);
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
	attr_report(&e->attr, fp);
	for (i = 0; i < e->ndet; i++)
		if (e->det[i].ops->stats != NULL)
			e->det[i].ops->stats(e->det[i].st, fp);
	fprintf(fp, "indicators %llu\n", (unsigned long long)e->stats.indicators);
	fprintf(fp, "indicators_dropped %llu\n",
	    (unsigned long long)e->stats.indicators_dropped);
}
