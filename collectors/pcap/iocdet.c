/*
 * iocdet.c - the IOC detector (pk_detector_ioc).  It loads the [ioc]
 * lists once (agent/ioc.c) and looks up, per packet:
 *
 *   destination.ip / source.ip   both endpoints of every new flow
 *   dns.question.name            the question names of DNS queries
 *   dns.answers                  answer names, CNAME targets and the
 *                                A/AAAA addresses of DNS responses
 *   tls.client.server_name       the ClientHello server name
 *   url.domain / url.full        the HTTP Host, and http://host[:port]/uri
 *
 * A match opens (or grows) one indicator per (listed value, local
 * endpoint): the host on our side that made the contact.  Like the scan
 * detector it reports START, CHANGE every [output] update_interval while
 * it grows, and END when idle for IOCDET_IDLE_S or at the end of input;
 * offline, only END.  Indicators live in a bounded hash table with an LRU
 * list; when it is full the least recently grown one is ended and
 * counted (ioc.indicators_evicted).  The fingerprint is (type, listed
 * value): the same listed value seen on many hosts groups at the hub.
 * The running bundle's lists (docs/bundles.md; pk_engine_shared, looked
 * up after the configured ones, nothing when there is none) are matched
 * the same way; such an indicator keeps a copy of its bundle entry for
 * picket.shared.
 *
 * Portable.  The engine calls it through struct pk_detector_ops; it calls
 * back pk_engine_emit(), pk_engine_direction() and pk_engine_offline().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/indicator.h"
#include "agent/ioc.h"
#include "collectors/pcap/iocdet.h"
#include "common/dlist.h"
#include "common/json.h"
#include "common/log.h"
#include "common/lrutab.h"
#include "common/netaddr.h"
#include "common/util.h"

#define USEC			1000000ULL
#define IOCDET_IDLE_S		600	/* end an indicator idle this long */
#define IOCDET_MAX_INDICATORS	4096	/* open at once */
#define IOCDET_BUCKETS		4096u
#define IOCDET_OBS_MAX		1024	/* observed strings kept */

struct iind {
	struct pk_lrunode n;		/* LRU head = least recently grown */
	uint8_t		 type;		/* PK_IOC_* */
	uint8_t		 family;	/* PK_IOC_ADDR: 4 or 6 */
	uint8_t		 direction, severity, started;
	uint8_t		 transport, has_dport;
	uint16_t	 dport;
	const char	*matched;	/* field of the first match */
	struct pk_addr	 local;		/* our side: the key */
	struct pk_addr	 src, dst;	/* who contacted whom */
	char		*value;		/* listed value */
	char		*list;
	uint32_t	 line;
	char		*dns_name, *sni, *url_domain, *url_path;
	uint64_t	 first_us, last_us, count;
	uint64_t	 reported_us, reported_count;
	uint64_t	 last_pkt;	/* one count per packet */
	struct pk_ind_shared *shared;	/* a bundle entry matched (copy) */
};

struct iocdet {
	struct pk_engine	*e;
	struct pk_iocset	*set;
	/* the bundle's set (pk_engine_shared), looked at per packet; the
	 * lookup just made matched it when last_shared is set */
	const struct pk_shared	*sh;
	const struct pk_iocset	*shset;
	int			 last_shared;
	uint64_t		 shared_hits;
	uint64_t		 idle, update, now, pktno;
	struct pk_lrutab	 tab;		/* cap IOCDET_MAX_INDICATORS */
	uint64_t		 lookups, hits, reports, opened;
	uint64_t		 seed;
};

/* One observation: what matched, where, and what the packet showed. */
struct obs {
	const struct pk_ioc_match *m;
	const char		*matched;
	const struct pk_addr	*local;		/* our side: the key */
	const struct pk_addr	*src, *dst;	/* initiator, responder */
	int			 local_home;
	uint8_t			 transport;
	uint16_t		 dport;
	int			 has_dport;
	int			 shared;	/* m is a bundle entry's */
	const char		*dns_name, *sni, *url_domain, *url_path;
	uint64_t		 ts;
};

struct details {
	const char	*matched;
	const char	*list;
	uint32_t	 line;
};

static const char *const rule_ids[PK_IOC__COUNT] = {
	"picket.ioc.address", "picket.ioc.domain", "picket.ioc.url",
	"picket.ioc.sha256",
};
static const char *const rule_names[PK_IOC__COUNT] = {
	"Traffic with a listed address", "Traffic to a listed domain",
	"Request for a listed URL", "Listed file hash",
};

static uint64_t
age(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static char *
dupstr(const char *s)
{
	size_t n = 0;
	char *d;

	if (s == NULL)
		return NULL;
	while (n < IOCDET_OBS_MAX && s[n] != '\0')
		n++;
	if ((d = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static const char *
threat_type(const struct iind *in)
{
	switch (in->type) {
	case PK_IOC_ADDR:
		return in->family == 6 ? "ipv6-addr" : "ipv4-addr";
	case PK_IOC_DOMAIN:
		return "domain-name";
	case PK_IOC_URL:
		return "url";
	default:
		return "file";
	}
}

static void
write_details(struct json *j, const void *arg)
{
	const struct details *d = arg;

	json_str(j, "method", "ioc", 0);
	json_str(j, "matched", d->matched, 0);
	json_str(j, "list", d->list, 0);
	json_u64(j, "line", d->line);
}

static void
emit(struct iocdet *s, struct iind *in, int phase)
{
	struct pk_indicator pi;
	struct details d;
	char msg[512], key[PK_IOC_VALUE_MAX + 64], a[PK_ADDRSTRLEN];

	memset(&pi, 0, sizeof(pi));
	pi.phase = (uint8_t)phase;
	pi.direction = in->direction;
	pi.severity = in->severity;
	pi.module = "network";
	pi.dataset = "picket.ioc";
	pi.category = "network";
	pi.rule_id = rule_ids[in->type];
	pi.rule_name = rule_names[in->type];
	pi.ruleset = "picket-ioc";
	pi.first_seen_us = in->first_us;
	pi.last_seen_us = in->last_us;
	pi.count = in->count;
	pi.has_src = 1;
	pi.src = in->src;
	pi.has_dst = 1;
	pi.dst = in->dst;
	pi.has_dport = in->has_dport;
	pi.dport = in->dport;
	pi.transport = in->transport;
	pi.dns_name = in->dns_name;
	pi.sni = in->sni;
	pi.url_domain = in->url_domain;
	pi.url_path = in->url_path;
	pi.threat_type = threat_type(in);
	pi.threat_name = in->value;
	pi.threat_provider = in->list;
	pi.shared = in->shared;
	snprintf(msg, sizeof(msg), "%s %s listed %s %s (list %s, line %u)",
	    pk_addr_format(&in->local, a, sizeof(a)),
	    in->type == PK_IOC_ADDR ? "exchanged traffic with" :
	    in->type == PK_IOC_URL ? "requested" : "contacted",
	    pk_ioc_type_name(in->type), in->value, in->list, in->line);
	pi.message = msg;
	/* no addresses: the same listed value on many hosts is one
	 * finding at the hub */
	snprintf(key, sizeof(key), "%s|%s", pi.rule_id, in->value);
	pk_indicator_fingerprint(&pi, key, strlen(key));
	d.matched = in->matched;
	d.list = in->list;
	d.line = in->line;
	pi.write_details = write_details;
	pi.details_arg = &d;
	pk_engine_emit(s->e, &pi);
	s->reports++;
	in->reported_us = s->now;
	in->reported_count = in->count;
}

static void
ind_free(struct iind *in)
{
	free(in->value);
	free(in->list);
	free(in->dns_name);
	free(in->sni);
	free(in->url_domain);
	free(in->url_path);
	free(in->shared);
	free(in);
}

/* Frees an indicator without reporting: the detector is going away. */
static void
ind_release(struct pk_lrunode *n, void *arg)
{
	(void)arg;
	ind_free(PK_CONTAINER_OF(n, struct iind, n));
}

/* END (in every mode), then forget it. */
static void
ind_end(struct iocdet *s, struct iind *in)
{
	emit(s, in, PK_PHASE_END);
	pk_lrutab_unlink(&s->tab, &in->n);
	ind_free(in);
}

static uint64_t
ind_hash(const struct iocdet *s, int type, const char *value,
    const struct pk_addr *local)
{
	uint64_t h = pk_fnv1a64(value, strlen(value), s->seed ^ (uint64_t)type);

	return pk_fnv1a64(local, sizeof(*local), h);
}

static struct iind *
ind_find(struct iocdet *s, uint64_t h, int type, const char *value,
    const struct pk_addr *local)
{
	struct pk_lrunode *n;
	struct iind *in;

	for (n = pk_lrutab_chain(&s->tab, h); n != NULL; n = n->hnext) {
		in = PK_CONTAINER_OF(n, struct iind, n);
		if (n->hash == h && in->type == type &&
		    strcmp(in->value, value) == 0 &&
		    memcmp(&in->local, local, sizeof(*local)) == 0)
			return in;
	}
	return NULL;
}

static struct iind *
ind_new(struct iocdet *s, uint64_t h, const struct obs *o)
{
	const struct pk_ioc_match *m = o->m;
	struct iind *in;
	struct pk_lrunode *n;

	if ((n = pk_lrutab_victim(&s->tab)) != NULL)
		ind_end(s, PK_CONTAINER_OF(n, struct iind, n));
	if ((in = calloc(1, sizeof(*in))) == NULL)
		return NULL;
	in->value = dupstr(m->value);
	in->list = dupstr(m->list);
	if (in->value == NULL || in->list == NULL) {
		ind_free(in);
		return NULL;
	}
	/* what the packet showed, when it is not the listed value itself */
	if (o->shared) {
		struct pk_ind_shared tag;

		if (pk_shared_ioc(s->sh, m, &tag))
			in->shared = pk_ind_shared_dup(&tag);
	}
	in->dns_name = dupstr(o->dns_name);
	in->sni = dupstr(o->sni);
	in->url_domain = dupstr(o->url_domain);
	in->url_path = dupstr(o->url_path);
	in->type = (uint8_t)m->type;
	in->family = strchr(m->value, ':') != NULL ? 6 : 4;
	in->line = m->line;
	in->matched = o->matched;
	in->local = *o->local;
	in->src = *o->src;
	in->dst = *o->dst;
	in->transport = o->transport;
	in->has_dport = (uint8_t)o->has_dport;
	in->dport = o->dport;
	in->direction = (uint8_t)pk_engine_direction(s->e, o->src, o->dst);
	/* our host reaching out to a listed value is the stronger sign */
	in->severity = o->local_home ? PK_SEV_HIGH : PK_SEV_MEDIUM;
	in->first_us = in->last_us = o->ts;
	pk_lrutab_link(&s->tab, &in->n, h, s->now);
	s->opened++;
	return in;
}

static void
observe(struct iocdet *s, struct obs *o)
{
	uint64_t h = ind_hash(s, o->m->type, o->m->value, o->local);
	struct iind *in;

	o->shared = s->last_shared;
	if ((in = ind_find(s, h, o->m->type, o->m->value, o->local)) == NULL) {
		if ((in = ind_new(s, h, o)) == NULL)
			return;
		in->count = 1;
		in->last_pkt = s->pktno;
		if (!pk_engine_offline(s->e)) {
			emit(s, in, PK_PHASE_START);
			in->started = 1;
		}
		return;
	}
	if (in->last_pkt == s->pktno)
		return;		/* the same packet named it twice */
	in->last_pkt = s->pktno;
	in->count++;
	if (o->ts < in->first_us)
		in->first_us = o->ts;
	if (o->ts > in->last_us)
		in->last_us = o->ts;
	pk_lrutab_touch(&s->tab, &in->n, s->now);
	if (s->update > 0 && in->started && in->count != in->reported_count &&
	    age(s->now, in->reported_us) >= s->update &&
	    !pk_engine_offline(s->e))
		emit(s, in, PK_PHASE_CHANGE);
}

/* ---- lookups per field -------------------------------------------------- */

/* src contacted dst; local is the key, home says if it is ours. */
static void
obs_init(struct obs *o, const struct pk_packet *p, const struct pk_addr *src,
    const struct pk_addr *dst, const struct pk_addr *local, int local_home,
    uint16_t server_port)
{
	memset(o, 0, sizeof(*o));
	o->src = src;
	o->dst = dst;
	o->local = local;
	o->local_home = local_home;
	o->transport = p->proto;
	o->has_dport = p->proto == PK_PROTO_TCP || p->proto == PK_PROTO_UDP;
	o->dport = server_port;
	o->ts = p->ts_us;
}

/* One lookup function of agent/ioc.h, over an untyped key. */
typedef int (*match_fn)(const struct pk_iocset *, const void *,
    struct pk_ioc_match *);

static int
match_addr(const struct pk_iocset *set, const void *k, struct pk_ioc_match *m)
{
	return pk_ioc_match_addr(set, k, m);
}

static int
match_domain(const struct pk_iocset *set, const void *k,
    struct pk_ioc_match *m)
{
	return pk_ioc_match_domain(set, k, m);
}

static int
match_url(const struct pk_iocset *set, const void *k, struct pk_ioc_match *m)
{
	return pk_ioc_match_url(set, k, m);
}

/*
 * The configured lists first, then the bundle's (a value on both is
 * reported as the local list's).  last_shared says which one matched.
 */
static int
look(struct iocdet *s, match_fn fn, const void *key, struct pk_ioc_match *m)
{
	s->lookups++;
	s->last_shared = 0;
	if (!fn(s->set, key, m)) {
		if (s->shset == NULL || !fn(s->shset, key, m))
			return 0;
		s->last_shared = 1;
		s->shared_hits++;
	}
	s->hits++;
	return 1;
}

static int
look_addr(struct iocdet *s, const struct pk_addr *a, struct pk_ioc_match *m)
{
	return look(s, match_addr, a, m);
}

static int
look_domain(struct iocdet *s, const char *name, struct pk_ioc_match *m)
{
	if (name == NULL || name[0] == '\0') {
		s->lookups++;
		s->last_shared = 0;
		return 0;
	}
	return look(s, match_domain, name, m);
}

static int
look_url(struct iocdet *s, const char *url, struct pk_ioc_match *m)
{
	return look(s, match_url, url, m);
}

/* Both endpoints of a new flow. */
static void
check_flow(struct iocdet *s, const struct pk_pktctx *c, struct pk_ioc_match *m)
{
	const struct pk_flow *f = c->flow;
	const struct pk_packet *p = c->pkt;
	int ihome = c->dir == PK_DIR_FWD ? c->src_home : c->dst_home;
	struct obs o;

	if (look_addr(s, &f->dst, m)) {
		/* the initiator contacted a listed address */
		obs_init(&o, p, &f->src, &f->dst, &f->src, ihome, f->dport);
		o.m = m;
		o.matched = "destination.ip";
		observe(s, &o);
	}
	if (look_addr(s, &f->src, m)) {
		/* a listed address contacted the responder: inbound, so
		 * never "our host reached out" */
		obs_init(&o, p, &f->src, &f->dst, &f->dst, 0, f->dport);
		o.m = m;
		o.matched = "source.ip";
		observe(s, &o);
	}
}

static void
check_dns(struct iocdet *s, const struct pk_pktctx *c, struct pk_ioc_match *m)
{
	const struct pk_packet *p = c->pkt;
	const struct pk_dns *d = c->dns;
	const struct pk_dns_rr *rr;
	const char *qname;
	struct obs o;
	size_t i;

	if (!d->qr) {
		/* a query: the sender is the client */
		for (i = 0; i < d->nquestions && i < PK_DNS_MAX_QUESTIONS;
		    i++) {
			if (!look_domain(s, d->q[i].name, m))
				continue;
			obs_init(&o, p, &p->src, &p->dst, &p->src,
			    c->src_home, p->dport);
			o.m = m;
			o.matched = "dns.question.name";
			o.dns_name = d->q[i].name;
			observe(s, &o);
		}
		return;
	}
	/* a response: the receiver is the client */
	qname = d->nquestions > 0 ? d->q[0].name : NULL;
	for (i = 0; i < d->nanswers && i < PK_DNS_MAX_ANSWERS; i++) {
		rr = &d->an[i];
		obs_init(&o, p, &p->dst, &p->src, &p->dst, c->dst_home,
		    p->sport);
		o.matched = "dns.answers";
		o.dns_name = qname != NULL ? qname : rr->name;
		o.m = m;
		if (look_domain(s, rr->name, m))
			observe(s, &o);
		if (rr->target[0] != '\0' && look_domain(s, rr->target, m))
			observe(s, &o);
		if ((rr->type == 1 || rr->type == 28) &&
		    look_addr(s, &rr->addr, m))
			observe(s, &o);
	}
}

static void
check_sni(struct iocdet *s, const struct pk_pktctx *c, struct pk_ioc_match *m)
{
	const struct pk_packet *p = c->pkt;
	struct obs o;

	if (!look_domain(s, c->sni, m))
		return;
	obs_init(&o, p, &p->src, &p->dst, &p->src, c->src_home, p->dport);
	o.m = m;
	o.matched = "tls.client.server_name";
	o.sni = c->sni;
	observe(s, &o);
}

/* http://host[:port]/uri, or the request's absolute URI (proxies). */
static int
build_url(const struct pk_packet *p, const struct pk_http_req *h,
    char *url, size_t len)
{
	char host[PK_ADDRSTRLEN + 2], port[8] = "";
	const char *hp = h->host;
	int n;

	if (h->uri[0] != '/' && h->uri[0] != '\0')
		return snprintf(url, len, "%s", h->uri) < (int)len ? 0 : -1;
	if (hp[0] == '\0') {
		/* no Host header: the address is the host */
		pk_addr_format(&p->dst, host + 1, sizeof(host) - 2);
		if (p->dst.family == 6) {
			host[0] = '[';
			pk_strlcpy(host + strlen(host), "]", 2);
			hp = host;
		} else
			hp = host + 1;
	}
	if (p->dport != 80)
		snprintf(port, sizeof(port), ":%u", p->dport);
	n = snprintf(url, len, "http://%s%s%s", hp, port,
	    h->uri[0] != '\0' ? h->uri : "/");
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

static void
check_http(struct iocdet *s, const struct pk_pktctx *c, struct pk_ioc_match *m)
{
	const struct pk_packet *p = c->pkt;
	const struct pk_http_req *h = c->http;
	char url[PK_IOC_VALUE_MAX + 1];
	struct obs o;

	obs_init(&o, p, &p->src, &p->dst, &p->src, c->src_home, p->dport);
	o.url_domain = h->host[0] != '\0' ? h->host : NULL;
	o.url_path = h->uri[0] != '\0' ? h->uri : NULL;
	o.m = m;
	if (look_domain(s, h->host, m)) {
		o.matched = "url.domain";
		observe(s, &o);
	}
	if (build_url(p, h, url, sizeof(url)) == -1)
		return;
	if (look_url(s, url, m)) {
		o.matched = "url.full";
		observe(s, &o);
	}
}

/* ---- the detector ------------------------------------------------------- */

static int
ioc_enabled(const struct pk_config *cfg)
{
	return cfg->ioc.enabled;
}

static void ioc_free(void *);

static void *
ioc_init(struct pk_engine *e, const struct pk_config *cfg)
{
	const struct pk_ioc_stats *st;
	struct iocdet *s;
	int problems = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->e = e;
	s->seed = PK_FNV_SEED ^ (uint64_t)(uintptr_t)s;
	s->idle = IOCDET_IDLE_S * USEC;
	s->update = cfg->output.update_interval * USEC;
	if (pk_lrutab_init(&s->tab, IOCDET_MAX_INDICATORS, IOCDET_BUCKETS) ==
	    -1) {
		ioc_free(s);
		return NULL;
	}
	/* bad lines go to the log; the lists that loaded are used */
	if ((s->set = pk_ioc_load(cfg, NULL, &problems)) == NULL) {
		ioc_free(s);
		return NULL;
	}
	st = pk_iocset_stats(s->set);
	log_info("ioc: %llu entries (%llu addresses, %llu domains, %llu urls, "
	    "%llu hashes) from %llu files, %llu bad lines",
	    (unsigned long long)pk_iocset_size(s->set),
	    (unsigned long long)st->entries[PK_IOC_ADDR],
	    (unsigned long long)st->entries[PK_IOC_DOMAIN],
	    (unsigned long long)st->entries[PK_IOC_URL],
	    (unsigned long long)st->entries[PK_IOC_SHA256],
	    (unsigned long long)st->files, (unsigned long long)st->bad);
	return s;
}

/*
 * Reload: a new set from the new [ioc] lists.  Open indicators hold
 * copies of what they matched, so they go on with the new set; a list
 * that cannot be read or has bad lines keeps the running set (the parent
 * refused such a configuration already, as picketd -n does).
 */
static void *
ioc_reload_prepare(void *st, const struct pk_config *cfg, char *err,
    size_t errlen)
{
	struct pk_iocset *set;
	int problems = 0;

	(void)st;
	if ((set = pk_ioc_load(cfg, NULL, &problems)) == NULL) {
		snprintf(err, errlen, "ioc: out of memory");
		return NULL;
	}
	if (problems > 0) {
		snprintf(err, errlen, "ioc: %d problem%s in the lists (logged)",
		    problems, problems == 1 ? "" : "s");
		pk_iocset_free(set);
		return NULL;
	}
	return set;
}

static void
ioc_reload_commit(void *st, void *prepared)
{
	struct iocdet *s = st;

	pk_iocset_free(s->set);
	s->set = prepared;
}

static void
ioc_reload_discard(void *prepared)
{
	pk_iocset_free(prepared);
}

static uint64_t
ioc_size(void *st)
{
	return pk_iocset_size(((struct iocdet *)st)->set);
}

static void
ioc_packet(void *st, const struct pk_pktctx *c)
{
	struct iocdet *s = st;
	struct pk_ioc_match m;

	if (c->pkt == NULL)
		return;
	/* a bundle swaps between packets: look once per packet */
	s->sh = pk_engine_shared(s->e);
	s->shset = pk_shared_iocset(s->sh);
	if (pk_iocset_size(s->set) == 0 && s->shset == NULL)
		return;
	if (c->pkt->ts_us > s->now)
		s->now = c->pkt->ts_us;
	s->pktno++;
	if (c->flow != NULL && c->flow_new)
		check_flow(s, c, &m);
	if (c->dns != NULL)
		check_dns(s, c, &m);
	if (c->sni != NULL)
		check_sni(s, c, &m);
	if (c->http != NULL)
		check_http(s, c, &m);
}

static void
ioc_tick(void *st, uint64_t now_us)
{
	struct iocdet *s = st;
	struct pk_lrunode *n;

	if (now_us > s->now)
		s->now = now_us;
	while ((n = pk_lrutab_oldest(&s->tab)) != NULL) {
		if (age(s->now, n->touch_us) < s->idle)
			break;
		ind_end(s, PK_CONTAINER_OF(n, struct iind, n));
	}
}

static void
ioc_flush(void *st, uint64_t now_us)
{
	struct iocdet *s = st;
	struct pk_lrunode *n;

	if (now_us > s->now)
		s->now = now_us;
	while ((n = pk_lrutab_oldest(&s->tab)) != NULL)
		ind_end(s, PK_CONTAINER_OF(n, struct iind, n));
}

static void
ioc_stats(void *st, FILE *fp)
{
	struct iocdet *s = st;

	fprintf(fp, "ioc.entries %llu\n",
	    (unsigned long long)pk_iocset_size(s->set));
	fprintf(fp, "ioc.lookups %llu\n", (unsigned long long)s->lookups);
	fprintf(fp, "ioc.hits %llu\n", (unsigned long long)s->hits);
	fprintf(fp, "ioc.shared_hits %llu\n",
	    (unsigned long long)s->shared_hits);
	fprintf(fp, "ioc.indicators_open %llu\n", (unsigned long long)s->tab.n);
	fprintf(fp, "ioc.indicators_opened %llu\n",
	    (unsigned long long)s->opened);
	fprintf(fp, "ioc.indicators_evicted %llu\n",
	    (unsigned long long)s->tab.evicted);
	fprintf(fp, "ioc.indicators %llu\n", (unsigned long long)s->reports);
}

static void
ioc_free(void *st)
{
	struct iocdet *s = st;

	if (s == NULL)
		return;
	pk_lrutab_clear(&s->tab, ind_release, NULL);
	pk_iocset_free(s->set);
	free(s);
}

const struct pk_detector_ops pk_detector_ioc = {
	.name = "ioc",
	.description = "addresses, DNS names, TLS server names, HTTP hosts "
	    "and URLs matched against indicator-of-compromise lists",
	.enabled = ioc_enabled,
	.init = ioc_init,
	.packet = ioc_packet,
	.flow_event = NULL,
	.tick = ioc_tick,
	.flush = ioc_flush,
	.stats = ioc_stats,
	.free = ioc_free,
	.reload_prepare = ioc_reload_prepare,
	.reload_commit = ioc_reload_commit,
	.reload_discard = ioc_reload_discard,
	.size = ioc_size,
	.reload_unit = "IOC entries",
};
