/*
 * engine_double.h - the engine test double the detector unit tests share
 * (test_scan, test_fingerprint, test_iocdet, test_rules_match): a fake
 * struct pk_engine that records every indicator a detector emits, a
 * pk_engine_direction with a fixed home net (10.0.0.0/8), and
 * pk_engine_offline, pk_engine_shared (ed_shared).  Every recorded
 * indicator is also serialised, its
 * details and the whole ECS record, so a detector that builds a record
 * the writer rejects fails its test.  Only for those test binaries,
 * included once, after <cmocka.h> and the project headers.
 *
 * The including test defines, before the include:
 *   MAXREC			how many indicators are kept;
 *   struct rec			what is kept of one: at least int phase,
 *				direction, severity; uint64_t count;
 *				char fp[33]; and char details[] for the
 *				serialised details;
 *   ENGINE_DOUBLE_FIELDS	(optional) extra members of struct pk_engine;
 *   ENGINE_DOUBLE_DROP_EXCESS	(optional) count (e->total) but drop
 *				indicators past MAXREC instead of failing;
 *   ENGINE_DOUBLE_CHECK_LINE(line, len)  (optional) a further check of
 *				the serialised record;
 * and after it ed_record(), which copies the rest of what the test
 * asserts on into the rec and checks what every indicator of its
 * detector must carry.
 */
#ifndef PICKET_TESTS_ENGINE_DOUBLE_H
#define PICKET_TESTS_ENGINE_DOUBLE_H

struct pk_engine {
	int		 offline;
	struct rec	 rec[MAXREC];
	size_t		 n;		/* recorded */
	size_t		 total;		/* emitted, recorded or not */
#ifdef ENGINE_DOUBLE_FIELDS
	ENGINE_DOUBLE_FIELDS
#endif
};

static void ed_record(struct rec *r, struct pk_indicator *ind);

/* Is a in the double's home net, 10.0.0.0/8? */
static inline int
ed_home(const struct pk_addr *a)
{
	return a != NULL && a->family == 4 && a->a[0] == 10;
}

void
pk_engine_emit(struct pk_engine *e, struct pk_indicator *ind)
{
	struct rec *r;
	struct json j;
	char line[8192];
	long len;

	e->total++;
#ifdef ENGINE_DOUBLE_DROP_EXCESS
	if (e->n >= MAXREC)
		return;
#else
	assert_true(e->n < MAXREC);
#endif
	r = &e->rec[e->n++];
	memset(r, 0, sizeof(*r));
	r->phase = ind->phase;
	r->direction = ind->direction;
	r->severity = ind->severity;
	r->count = ind->count;
	memcpy(r->fp, ind->fingerprint, sizeof(r->fp));
	ed_record(r, ind);
	json_init(&j, r->details, sizeof(r->details));
	json_obj_begin(&j, NULL);
	ind->write_details(&j, ind->details_arg);
	json_obj_end(&j);
	assert_true(json_finish(&j) > 0);
	/* the whole record must serialise too */
	ind->ts_us = ind->last_seen_us;
	len = pk_indicator_json(ind, line, sizeof(line));
	assert_true(len > 0);
#ifdef ENGINE_DOUBLE_CHECK_LINE
	ENGINE_DOUBLE_CHECK_LINE(line, len);
#endif
}

enum pk_direction
pk_engine_direction(const struct pk_engine *e, const struct pk_addr *src,
    const struct pk_addr *dst)
{
	int s = ed_home(src), d = ed_home(dst);

	(void)e;
	if (s && d)
		return PK_DIRN_INTERNAL;
	if (s)
		return PK_DIRN_OUTBOUND;
	if (d)
		return PK_DIRN_INBOUND;
	return PK_DIRN_EXTERNAL;
}

int
pk_engine_offline(const struct pk_engine *e)
{
	return e->offline;
}

/* The bundle's detection sets a test hands its detector (agent/ioc.h,
 * pk_shared_new); NULL: none, as in the engine without a bundle. */
static const struct pk_shared *ed_shared;

const struct pk_shared *
pk_engine_shared(const struct pk_engine *e)
{
	(void)e;
	return ed_shared;
}

#endif
