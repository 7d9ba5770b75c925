/*
 * ingest.c - turns BATCH frames into stored indicators (see ingest.h).
 * Pure logic: the caller owns the socket and the clock.  The order of
 * events is the exactly-once rule of docs/protocol.md: open the whole
 * batch first (a corrupt batch stores nothing), insert every record with
 * INSERT OR IGNORE in one transaction, raise the host's settled seq in the
 * same transaction, commit, and only then hand back the ACK.  In a group
 * (ingest.h) the commit is the group's, and the ACK handed back is held by
 * the caller until hub_ingest_group_commit returns 0.  Called by
 * hub/main.c (import), hub/listener.c (groups) and the unit tests.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "common/pktime.h"
#include "hub/ingest.h"
#include "hub/jsonread.h"

int
hub_ingest_init(struct hub_ingest *in, struct hub_store *st,
    const struct pk_batch_limits *lim)
{
	memset(in, 0, sizeof(*in));
	in->st = st;
	in->lim.max_records = PK_BATCH_MAX_RECORDS;
	in->lim.max_raw = PK_BATCH_MAX_RAW;
	if (lim != NULL) {
		in->lim.max_records = PK_MIN(lim->max_records,
		    PK_BATCH_MAX_RECORDS);
		in->lim.max_raw = PK_MIN(lim->max_raw, PK_BATCH_MAX_RAW);
	}
	if (in->lim.max_records == 0 || in->lim.max_raw == 0)
		return -1;
	in->raw = malloc(in->lim.max_raw);
	in->recs = calloc(in->lim.max_records, sizeof(*in->recs));
	if (in->raw == NULL || in->recs == NULL) {
		hub_ingest_free(in);
		return -1;
	}
	return 0;
}

void
hub_ingest_free(struct hub_ingest *in)
{
	free(in->raw);
	free(in->recs);
	in->raw = NULL;
	in->recs = NULL;
}

int
hub_ingest_group_begin(struct hub_ingest *in)
{
	if (!in->group) {
		in->group = 1;
		memset(&in->g, 0, sizeof(in->g));
	}
	return 0;
}

int
hub_ingest_group_full(const struct hub_ingest *in)
{
	return in->group && (in->g.batches >= HUB_GROUP_BATCHES ||
	    in->g.records >= HUB_GROUP_RECORDS);
}

int
hub_ingest_group_commit(struct hub_ingest *in)
{
	struct hub_ingest_stats *s = &in->stats;
	struct hub_ingest_group *g = &in->g;
	int rc;

	if (!in->group)
		return 0;
	in->group = 0;
	if (g->writes == 0)
		return 0;
	if ((rc = in->st->ops->group_commit(in->st)) == -1) {
		log_warnx("ingest: a group of %llu batch(es) was not stored: "
		    "their ACKs are not sent",
		    (unsigned long long)g->batches);
		s->store_errors += g->batches;
	} else if (g->batches > 0) {
		s->batches += g->batches;
		s->records += g->records;
		s->stored += g->stored;
		s->duplicates += g->duplicates;
		s->rejected += g->rejected;
		s->group_commits++;
		s->group_max = PK_MAX(s->group_max, g->batches);
	}
	memset(g, 0, sizeof(*g));
	return rc;
}

/* Before a write: in a group, make sure its transaction is open. */
static int
group_join(struct hub_ingest *in)
{
	if (!in->group)
		return 0;
	if (in->st->ops->group_join(in->st) == -1)
		return -1;
	in->g.writes++;
	return 0;
}

int
hub_ingest_hello(struct hub_ingest *in, const char *agent_id,
    const char *host_name, uint64_t dropped, int64_t now_us,
    uint64_t *stored_seq)
{
	struct hub_host h;
	int found;

	*stored_seq = 0;
	if (group_join(in) == -1)
		return -1;
	if (in->st->ops->host_seen(in->st, agent_id, host_name, dropped,
	    now_us) == -1 ||
	    in->st->ops->host_get(in->st, agent_id, &h, &found) == -1) {
		if (in->group)
			(void)in->st->ops->group_rollback(in->st);
		return -1;
	}
	if (found)
		*stored_seq = h.last_seq;
	return 0;
}

int
hub_parse_time(const char *s, int64_t *us)
{
	return pk_time_parse(s, 0, us);
}

/*
 * The columns hub_extract takes from an indicator, by where they sit:
 * "" is the top-level object, else the member object of that name
 * ("picket.shared" is picket's member "shared").  One walk over the
 * record fills them all (the record is read twice in all: validated,
 * then walked), where a lookup per column read it seventeen times.  The
 * first occurrence of a key wins, as a lookup by path would find it.
 */
enum { XT_STR, XT_INT };
enum { XR_OPT, XR_REQ };		/* absent: fine / refused */

struct xfield {
	const char	*obj, *key;
	int		 type, req;
	size_t		 off, cap;	/* strings: the column */
	int64_t		 min, max;	/* integers */
};

#define XS(o, k, r, f) { o, k, XT_STR, r, \
	offsetof(struct hub_indicator, f), \
	sizeof(((struct hub_indicator *)0)->f), 0, 0 }
#define XI(o, k, r, lo, hi) { o, k, XT_INT, r, 0, 0, lo, hi }

enum { XF_SEVERITY = 12, XF_COUNT, XF_PORT, XF_SHARED, XF_N };
static const struct xfield xfields[XF_N] = {
	XS("", "@timestamp", XR_REQ, timestamp),
	XS("event", "kind", XR_REQ, event_kind),
	XS("rule", "id", XR_REQ, rule_id),
	XS("rule", "name", XR_REQ, rule_name),
	XS("rule", "ruleset", XR_REQ, ruleset),
	XS("network", "direction", XR_REQ, direction),
	XS("picket", "fingerprint", XR_REQ, fingerprint),
	XS("picket", "first_seen", XR_REQ, first_seen),
	XS("picket", "last_seen", XR_REQ, last_seen),
	XS("source", "ip", XR_OPT, source_ip),
	XS("destination", "ip", XR_OPT, destination_ip),
	XS("network", "transport", XR_OPT, transport),
	XI("event", "severity", XR_REQ, 0, 100),	/* XF_SEVERITY */
	XI("picket", "count", XR_REQ, 1, INT64_MAX),		/* XF_COUNT */
	XI("destination", "port", XR_OPT, 0, 65535),		/* XF_PORT */
	/* a bundle entry's match names the shared indicator it came from
	 * (docs/peering.md): a positive integer, else ignored */
	XI("picket.shared", "ref", XR_OPT, 1, INT64_MAX),	/* XF_SHARED */
};
#undef XS
#undef XI

/* The objects that hold columns; the walk descends into these only. */
static const char *const xobjs[] = { "event", "rule", "network", "picket",
	"source", "destination", "picket.shared" };

struct xstate {
	struct hub_indicator	*d;
	int			 seen[XF_N];	/* 1 found, -1 bad */
	int64_t			 ints[XF_N];
	int			 objs_seen;	/* bit per xobjs[] */
};

static int
xobj_index(const char *name)
{
	size_t i;

	for (i = 0; i < PK_NELEM(xobjs); i++)
		if (strcmp(xobjs[i], name) == 0)
			return (int)i;
	return -1;
}

/* The members of object c, the object called obj: take its columns and
 * descend into picket.shared.  0, or -1 malformed. */
static int
x_walk(struct xstate *x, const char *obj, const struct pk_jr_val *c)
{
	struct pk_jr_iter it;
	struct pk_jr_val v;
	char key[PK_JR_KEY_MAX + 1], sub[2 * PK_JR_KEY_MAX + 2];
	const struct xfield *f;
	size_t i;
	int r, oi;

	if (pk_jr_iter_init(&it, c) == -1)
		return -1;
	it.long_keys = 1;	/* other keys may be long; ours are not */
	while ((r = pk_jr_iter_next(&it, key, sizeof(key), &v)) == 1) {
		if (key[0] == '\0')
			continue;
		for (i = 0; i < XF_N; i++) {
			f = &xfields[i];
			if (x->seen[i] || strcmp(f->obj, obj) != 0 ||
			    strcmp(f->key, key) != 0)
				continue;
			if (f->type == XT_STR)
				x->seen[i] = pk_jr_string(&v, (char *)x->d +
				    f->off, f->cap) == 0 ? 1 : -1;
			else
				x->seen[i] = pk_jr_int(&v, f->min, f->max,
				    &x->ints[i]) == 0 ? 1 : -1;
			break;
		}
		if (v.type != PK_JR_OBJECT)
			continue;
		if (obj[0] == '\0')
			pk_strlcpy(sub, key, sizeof(sub));
		else
			snprintf(sub, sizeof(sub), "%s.%s", obj, key);
		if ((oi = xobj_index(sub)) == -1 || (x->objs_seen & 1 << oi))
			continue;
		x->objs_seen |= 1 << oi;
		if (x_walk(x, sub, &v) == -1)
			return -1;
	}
	return r == 0 ? 0 : -1;
}

int
hub_extract(const char *s, size_t len, struct hub_indicator *d)
{
	struct xstate x;
	struct pk_jr_val root;
	size_t i;

	memset(d, 0, sizeof(*d));
	memset(&x, 0, sizeof(x));
	x.d = d;
	d->destination_port = -1;
	if (len == 0 || s[0] != '{' || pk_jr_validate(s, len) == -1 ||
	    pk_jr_root(s, len, &root) == -1 || x_walk(&x, "", &root) == -1)
		return -1;
	for (i = 0; i < XF_N; i++) {
		if (i == XF_SHARED)
			continue;	/* a bad one is counted, below */
		if (x.seen[i] == -1 || (x.seen[i] == 0 &&
		    xfields[i].req == XR_REQ))
			return -1;
		/* a required text column may not be empty */
		if (xfields[i].type == XT_STR && xfields[i].req == XR_REQ &&
		    ((char *)d)[xfields[i].off] == '\0')
			return -1;
	}
	if (hub_parse_time(d->timestamp, &d->ts_us) == -1)
		return -1;
	d->severity = (int)x.ints[XF_SEVERITY];
	d->count = (uint64_t)x.ints[XF_COUNT];
	if (x.seen[XF_PORT] == 1)
		d->destination_port = (int)x.ints[XF_PORT];
	/* -1 marks a bad reference for the counter, never the store */
	d->shared_ref = x.seen[XF_SHARED] == 1 ? x.ints[XF_SHARED] :
	    x.seen[XF_SHARED] == -1 ? -1 : 0;
	d->json = s;
	d->json_len = len;
	return 0;
}

/*
 * Store the opened records of one batch in one transaction: its own, or
 * the group's (committed later by hub_ingest_group_commit).
 */
static int
store_batch(struct hub_ingest *in, const char *agent_id, uint32_t n,
    int64_t now_us, uint64_t last, uint32_t *added, uint32_t *dups,
    uint32_t *rejected)
{
	struct hub_store *st = in->st;
	struct hub_indicator d;
	uint32_t i;
	int is_new;

	if (in->group) {
		if (group_join(in) == -1)
			return -1;
	} else if (st->ops->begin(st) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (hub_extract(in->recs[i].data, in->recs[i].len, &d) == -1) {
			(*rejected)++;
			continue;
		}
		if (d.shared_ref < 0)
			in->stats.shared_ref_bad++;
		pk_strlcpy(d.agent_id, agent_id, sizeof(d.agent_id));
		d.seq = in->recs[i].seq;
		d.ingest_us = now_us;
		if (st->ops->insert(st, &d, &is_new) == -1)
			goto fail;
		if (is_new)
			(*added)++;
		else
			(*dups)++;
	}
	if (st->ops->host_settle(st, agent_id, last, *rejected, now_us) == -1)
		goto fail;
	if (in->group)
		return 0;
	if (st->ops->commit(st) == -1)
		goto fail;
	return 0;
fail:
	/* In a group the other batches' rows go too: the whole group fails
	 * and none of its ACKs is sent. */
	if (in->group)
		(void)st->ops->group_rollback(st);
	else
		st->ops->rollback(st);
	return -1;
}

int
hub_ingest_batch(struct hub_ingest *in, const char *agent_id,
    const struct pk_frame *f, int64_t now_us, uint64_t *ack,
    uint32_t *added, uint16_t *wire_err)
{
	struct pk_batch_hdr hdr;
	struct hub_host h;
	const uint8_t *data;
	size_t dlen;
	uint32_t dups = 0, rejected = 0;
	uint64_t last;
	int rc, found;

	*ack = 0;
	*added = 0;
	*wire_err = 0;
	if (f->type != PK_FT_BATCH) {
		*wire_err = PK_WE_STATE;
		in->stats.bad_frames++;
		return -1;
	}
	if ((rc = pk_batch_decode_hdr(f, &hdr, &data, &dlen)) != PK_FE_OK) {
		*wire_err = pk_frame_err_wire(rc);
		in->stats.bad_frames++;
		return -1;
	}
	rc = pk_batch_open(&hdr, data, dlen, &in->lim, in->raw,
	    in->lim.max_raw, in->recs, in->lim.max_records, &in->stats.batch);
	if (rc != PK_BE_OK) {
		*wire_err = rc == PK_BE_LIMIT ? PK_WE_LIMIT : PK_WE_BATCH;
		log_debug("ingest: %s: batch at seq %llu: %s", agent_id,
		    (unsigned long long)hdr.first_seq, pk_batch_strerror(rc));
		return -1;
	}
	last = hdr.first_seq + hdr.count - 1;
	if (store_batch(in, agent_id, hdr.count, now_us, last, added, &dups,
	    &rejected) == -1) {
		*added = 0;
		*wire_err = PK_WE_INTERNAL;
		in->stats.store_errors++;
		return -1;
	}
	if (in->group) {
		/* Counted when (if) the group commits. */
		in->g.batches++;
		in->g.records += hdr.count;
		in->g.stored += *added;
		in->g.duplicates += dups;
		in->g.rejected += rejected;
	} else {
		in->stats.batches++;
		in->stats.records += hdr.count;
		in->stats.stored += *added;
		in->stats.duplicates += dups;
		in->stats.rejected += rejected;
	}
	/* A resent old batch must not move the ACK backwards. */
	*ack = last;
	if (in->st->ops->host_get(in->st, agent_id, &h, &found) == 0 &&
	    found && h.last_seq > last)
		*ack = h.last_seq;
	return 0;
}
