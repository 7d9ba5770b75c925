/*
 * attrib.c - which process is behind a connection: the process collector
 * records each outbound attempt's local endpoint and the process behind
 * it; detectors look an endpoint up when they name the actor of a
 * finding.  Also the scan claims that keep the packet and process
 * detectors from reporting one scan twice (docs/detection.md).  Bounded
 * pools with LRU reuse and counters; allocated on first use, so an agent
 * without a process collector pays nothing.  Internal to the engine
 * (attrib.h).  Portable.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/attrib.h"
#include "common/json.h"
#include "common/log.h"
#include "common/util.h"

void
attrib_init(struct attrib *a, uint64_t ttl_us, uint64_t claim_ttl_us)
{
	memset(a, 0, sizeof(*a));
	a->ttl_us = ttl_us;
	a->claim_ttl_us = claim_ttl_us;
}

void
attrib_free(struct attrib *a)
{
	free(a->ep);
	free(a->ep_b);
	free(a->pr);
	free(a->pr_b);
	memset(a, 0, sizeof(*a));
}

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
void
attrib_expire(struct attrib *a, uint64_t now)
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
attrib_process(struct attrib *a, const struct pk_proc_ref *ref,
    uint64_t now_us)
{
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
attrib_record(struct attrib *a, uint8_t proto,
    const struct pk_addr *laddr, uint16_t lport, const struct pk_addr *raddr,
    uint16_t rport, uint32_t pid, uint64_t now_us)
{
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
attrib_lookup(struct attrib *a, uint8_t proto, const struct pk_addr *laddr,
    uint16_t lport, struct pk_proc_ref *out, uint64_t now_us)
{
	struct attr_proc *p;
	struct attr_ep *x;

	if (a->ep == NULL || lport == 0)
		return 0;
	attr_clock(a, now_us);
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
attrib_lookup_pid(struct attrib *a, uint32_t pid, struct pk_proc_ref *out)
{
	struct attr_proc *p = attr_proc_find(a, pid);

	if (p == NULL)
		return 0;
	*out = p->ref;
	return 1;
}

int
attrib_active(const struct attrib *a)
{
	return a->ep != NULL;	/* fed since the first process */
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
attrib_claim(struct attrib *a, uint32_t pid, uint16_t port, uint8_t proto,
    int owner, uint64_t now_us)
{
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
attrib_report(const struct attrib *a, FILE *fp)
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
