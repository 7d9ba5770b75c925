/*
 * attrib.h - the engine's process attribution service, internal to the
 * engine: only engine.c and attrib.c include it.  Collectors and
 * detectors use the pk_engine_attrib*, pk_engine_attribute* and
 * pk_engine_scan_* calls in engine.h, which hold a struct attrib and
 * pass it here.  Portable.
 */
#ifndef PICKET_ATTRIB_H
#define PICKET_ATTRIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/engine.h"
#include "common/dlist.h"
#include "common/netaddr.h"

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

/* ttl_us: how long an endpoint answers lookups; claim_ttl_us: claims. */
void attrib_init(struct attrib *a, uint64_t ttl_us, uint64_t claim_ttl_us);
void attrib_free(struct attrib *a);
void attrib_expire(struct attrib *a, uint64_t now);
void attrib_report(const struct attrib *a, FILE *fp);
void attrib_process(struct attrib *a, const struct pk_proc_ref *ref,
    uint64_t now_us);
int attrib_record(struct attrib *a, uint8_t proto,
    const struct pk_addr *laddr, uint16_t lport, const struct pk_addr *raddr,
    uint16_t rport, uint32_t pid, uint64_t now_us);
int attrib_lookup(struct attrib *a, uint8_t proto, const struct pk_addr *laddr,
    uint16_t lport, struct pk_proc_ref *out, uint64_t now_us);
int attrib_lookup_pid(struct attrib *a, uint32_t pid, struct pk_proc_ref *out);
int attrib_active(const struct attrib *a);
int attrib_claim(struct attrib *a, uint32_t pid, uint16_t port, uint8_t proto,
    int owner, uint64_t now_us);

#endif
