/*
 * share_out.c - the bundle this hub sends one peer (share.h,
 * docs/peering.md "The exchange"): the alert rows stored after the
 * peer's cursor, in row id order, each kept or held back by the peer's
 * policy (TLP, severity, outbreak kind), the kept ones made a STIX 2.1
 * bundle by hub/stix.c, which does all the redaction, and the bundle's
 * sequence number put at its top level.  Payload excerpts go only to a
 * peer whose policy asks for them, only from AMBER rows, and only whole
 * and clean (stix.c decides).  Called by hub/peering.c and the unit
 * tests.
 */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "hub/outbreak.h"
#include "hub/share.h"

/* Identity, the markings, and room for one row's values: a bundle
 * smaller than this could never carry a row. */
#define OUT_OBJECTS_MIN	(1 + HUB_TLP_RED + 2 * HUB_STIX_ROW_VALUES)

struct out {
	const struct hub_peer	*p;
	struct hub_stix_build	*b;
	struct hub_share_out_stats st;
	int64_t			 last;	/* last row id looked at */
	int			 nomem;
};

/* Does the peer's policy let this row go?  (TLP RED never does.) */
static int
allowed(const struct hub_peer *p, const struct hub_indicator *d)
{
	char key[HUB_OB_KEY_MAX], label[HUB_OB_LABEL_MAX];
	int tlp, kind;

	tlp = hub_stix_row_tlp(d);
	if (tlp >= HUB_TLP_RED || tlp > p->send_tlp)
		return 0;
	if (d->severity < p->send_min_severity)
		return 0;
	kind = hub_outbreak_classify(d, key, sizeof(key), label,
	    sizeof(label));
	if (kind < 0 || kind >= HUB_OB_NKINDS ||
	    (p->send_kinds & (1u << kind)) == 0)
		return 0;
	return 1;
}

static int
on_row(void *arg, int64_t rowid, const struct hub_indicator *d)
{
	struct out *o = arg;
	int rc;

	if (!allowed(o->p, d)) {
		o->st.rows++;
		o->st.filtered++;
		o->last = rowid;
		return 0;
	}
	/* A row that does not fit stays after the cursor for the next
	 * bundle: the cursor only passes rows looked at in full. */
	if ((rc = hub_stix_add(o->b, d)) == HUB_STIX_FULL)
		return 1;
	if (rc == -1) {
		o->nomem = 1;
		return 1;
	}
	o->st.rows++;
	o->last = rowid;
	return 0;
}

json_t *
hub_share_bundle(struct hub_store *st, const struct hub_peer *p,
    const struct hub_sharing *sh, uint64_t max_rows, uint32_t max_objects,
    int64_t now_us, int64_t *last_rowid, struct hub_share_out_stats *stats,
    char *err, size_t errlen)
{
	struct hub_stix_params sp;
	struct hub_stix_stats ss;
	struct out o;
	json_t *b;

	(void)now_us;	/* the rows' own times date the objects */
	*last_rowid = p->cursor_rowid;
	memset(&o, 0, sizeof(o));
	o.p = p;
	o.last = p->cursor_rowid;
	if (stats != NULL)
		memset(stats, 0, sizeof(*stats));
	if (p->send_tlp < HUB_TLP_CLEAR || p->send_seq < 1 ||
	    p->send_seq > (uint64_t)INT64_MAX || p->cursor_rowid < 0 ||
	    max_rows < 1 || max_objects < OUT_OBJECTS_MIN) {
		snprintf(err, errlen, "peer %s: policy or limits out of range",
		    p->name);
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	hub_stix_params_default(&sp);
	/* RED never leaves, whatever the stored policy says */
	sp.tlp = PK_MIN(p->send_tlp, (int)HUB_TLP_AMBER_STRICT);
	/* larger limits than the export's own make smaller bundles, never
	 * a failed push */
	sp.max_indicators = PK_MIN(max_rows, HUB_OB_MAX_INDICATORS_CAP);
	/* each indicator brings its sighting; identity and markings too */
	sp.max_objects = (PK_MIN(max_objects, HUB_STIX_MAX_OBJECTS_CAP) - 1 -
	    HUB_TLP_RED) / 2;
	sp.sharing = sh;
	sp.stats = &ss;
	sp.excerpts = p->send_excerpts != 0;
	if ((o.b = hub_stix_begin(&sp, err, errlen)) == NULL)
		return NULL;
	if (st->ops->alerts_after(st, p->cursor_rowid, max_rows, on_row,
	    &o) == -1 || o.nomem) {
		snprintf(err, errlen, o.nomem ? "out of memory" :
		    "store query failed");
		hub_stix_abort(o.b);
		return NULL;
	}
	/* finish even when empty: it fills the redaction counts */
	if ((b = hub_stix_finish(o.b, err, errlen)) == NULL)
		return NULL;
	*last_rowid = o.last;
	o.st.redacted = ss.redacted;
	o.st.indicators = ss.indicators;
	o.st.excerpts = (uint32_t)PK_MIN(ss.excerpts, (uint64_t)UINT32_MAX);
	o.st.excerpts_withheld = ss.excerpts_withheld;
	if (stats != NULL)
		*stats = o.st;
	if (ss.indicators == 0) {
		json_decref(b);
		if (errlen > 0)
			err[0] = '\0';
		return NULL;
	}
	if (json_object_set_new(b, "x_picket_sequence",
	    json_integer((json_int_t)p->send_seq)) == -1) {
		json_decref(b);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return b;
}
