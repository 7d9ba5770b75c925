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

/* A required or optional string field; 0 found, 1 absent, -1 bad. */
static int
get_str(const char *s, size_t len, const char *path, char *out, size_t cap)
{
	struct pk_jr_val v;
	int rc;

	out[0] = '\0';
	rc = pk_jr_find(s, len, path, &v);
	if (rc <= 0)
		return rc == 0 ? 1 : -1;
	return pk_jr_string(&v, out, cap) == 0 ? 0 : -1;
}

static int
get_int(const char *s, size_t len, const char *path, int64_t min,
    int64_t max, int64_t *out)
{
	struct pk_jr_val v;
	int rc;

	rc = pk_jr_find(s, len, path, &v);
	if (rc <= 0)
		return rc == 0 ? 1 : -1;
	return pk_jr_int(&v, min, max, out);
}

int
hub_extract(const char *s, size_t len, struct hub_indicator *d)
{
	static const struct {
		const char	*path;
		size_t		 off;
		size_t		 cap;
	} req[] = {
#define F(p, f) { p, offsetof(struct hub_indicator, f), \
	sizeof(((struct hub_indicator *)0)->f) }
		F("@timestamp", timestamp),
		F("event.kind", event_kind),
		F("rule.id", rule_id),
		F("rule.name", rule_name),
		F("rule.ruleset", ruleset),
		F("network.direction", direction),
		F("picket.fingerprint", fingerprint),
		F("picket.first_seen", first_seen),
		F("picket.last_seen", last_seen),
	}, opt[] = {
		F("source.ip", source_ip),
		F("destination.ip", destination_ip),
		F("network.transport", transport),
#undef F
	};
	int64_t v;
	size_t i;

	memset(d, 0, sizeof(*d));
	d->destination_port = -1;
	if (len == 0 || s[0] != '{' || pk_jr_validate(s, len) == -1)
		return -1;
	for (i = 0; i < PK_NELEM(req); i++)
		if (get_str(s, len, req[i].path, (char *)d + req[i].off,
		    req[i].cap) != 0 || ((char *)d)[req[i].off] == '\0')
			return -1;
	for (i = 0; i < PK_NELEM(opt); i++)
		if (get_str(s, len, opt[i].path, (char *)d + opt[i].off,
		    opt[i].cap) == -1)
			return -1;
	if (hub_parse_time(d->timestamp, &d->ts_us) == -1)
		return -1;
	if (get_int(s, len, "event.severity", 0, 100, &v) != 0)
		return -1;
	d->severity = (int)v;
	if (get_int(s, len, "picket.count", 1, INT64_MAX, &v) != 0)
		return -1;
	d->count = (uint64_t)v;
	switch (get_int(s, len, "destination.port", 0, 65535, &v)) {
	case 0:
		d->destination_port = (int)v;
		break;
	case 1:
		break;
	default:
		return -1;
	}
	/* A bundle entry's match names the shared indicator it came from
	 * (docs/peering.md): a positive integer, else ignored (-1 marks it
	 * for the counter, never the store). */
	switch (get_int(s, len, "picket.shared.ref", 1, INT64_MAX, &v)) {
	case 0:
		d->shared_ref = v;
		break;
	case 1:
		break;
	default:
		d->shared_ref = -1;
		break;
	}
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
