/*
 * bundle_agent.c - shared-indicator bundles on the agent (bundle_agent.h,
 * docs/bundles.md "Agent").  The shipper files what the hub sent; the
 * collector parses it again, builds the detection sets and swaps them
 * into the engine between packets, so a bundle applies without a restart
 * and without losing a packet, and a bundle that fails anywhere leaves
 * the running one in place.  The state file says what runs, so a
 * restarted collector runs it again; only the running and the previous
 * bundle's files are kept.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/bundle_agent.h"
#include "agent/engine.h"
#include "agent/ioc.h"
#include "common/dir.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "transport/batch.h"
#include "transport/bundle.h"

#define BA_PATH_MAX	1100
#define BA_SMALL_MAX	2048		/* state and status files */
#define BA_VERSION_MAX	((1ULL << 63) - 1)

/* ---- files ----------------------------------------------------------- */

static int
ba_path(char *out, size_t cap, const char *spool, const char *name)
{
	int n = snprintf(out, cap, "%s/%s/%s", spool, PK_BUNDLE_SUBDIR, name);

	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int
ba_vpath(char *out, size_t cap, const char *spool, uint64_t v)
{
	char name[40];

	snprintf(name, sizeof(name), "%llu.bundle", (unsigned long long)v);
	return ba_path(out, cap, spool, name);
}

/* Write name in spool/bundle atomically and durably. */
static int
ba_write(const char *spool, const char *name, const void *buf, size_t len)
{
	char path[BA_PATH_MAX];

	if (ba_path(path, sizeof(path), spool, name) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return pk_file_replace(path, buf, len, 0600, PK_FILE_DURABLE);
}

/* "key=DIGITS\n" at *p: the number, *p moved past the line; -1 if not. */
static int
kv_u64(const char **p, const char *end, const char *key, uint64_t *v)
{
	size_t kl = strlen(key), n = 0;
	char num[24];
	const char *perr;

	if ((size_t)(end - *p) < kl + 1 || memcmp(*p, key, kl) != 0 ||
	    (*p)[kl] != '=')
		return -1;
	*p += kl + 1;
	while (*p + n < end && (*p)[n] >= '0' && (*p)[n] <= '9' && n < 20)
		n++;
	if (n == 0 || *p + n >= end || (*p)[n] != '\n')
		return -1;
	memcpy(num, *p, n);
	num[n] = '\0';
	if (pk_parse_u64(num, 0, BA_VERSION_MAX, v, &perr) != 0)
		return -1;
	*p += n + 1;
	return 0;
}

int
pk_bstate_read(const char *spool, struct pk_bstate *st)
{
	char path[BA_PATH_MAX], *buf;
	const char *p, *end;
	size_t len;
	int r;

	memset(st, 0, sizeof(*st));
	if (ba_path(path, sizeof(path), spool, "state") != 0)
		return -1;
	if ((r = pk_file_read_max(path, BA_SMALL_MAX, &buf, &len)) == -1)
		return errno == ENOENT ? 1 : -1;
	if (r != 0)
		return -1;
	p = buf;
	end = buf + len;
	r = kv_u64(&p, end, "running", &st->running) == 0 &&
	    kv_u64(&p, end, "previous", &st->previous) == 0 && p == end &&
	    (st->previous == 0 || st->previous != st->running) ? 0 : -1;
	free(buf);
	if (r != 0)
		memset(st, 0, sizeof(*st));
	return r;
}

int
pk_bstate_write(const char *spool, const struct pk_bstate *st)
{
	char buf[128];
	int n;

	n = snprintf(buf, sizeof(buf), "running=%llu\nprevious=%llu\n",
	    (unsigned long long)st->running,
	    (unsigned long long)st->previous);
	return ba_write(spool, "state", buf, (size_t)n);
}

int
pk_bstatus_read(const char *spool, struct pk_bstatus *st)
{
	char path[BA_PATH_MAX], *buf;
	const char *p, *end, *nl;
	uint64_t oc;
	size_t len, i;
	int r;

	memset(st, 0, sizeof(*st));
	if (ba_path(path, sizeof(path), spool, "status") != 0)
		return -1;
	if ((r = pk_file_read_max(path, BA_SMALL_MAX, &buf, &len)) == -1)
		return errno == ENOENT ? 1 : -1;
	if (r != 0)
		return -1;
	p = buf;
	end = buf + len;
	r = -1;
	if (kv_u64(&p, end, "version", &st->version) != 0 ||
	    kv_u64(&p, end, "outcome", &oc) != 0 || oc > PK_AO_LAST ||
	    kv_u64(&p, end, "running", &st->running) != 0 ||
	    kv_u64(&p, end, "previous", &st->previous) != 0 ||
	    (size_t)(end - p) < 8 || memcmp(p, "reason=", 7) != 0)
		goto out;
	p += 7;
	if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
	    nl + 1 != end || (size_t)(nl - p) > PK_BUNDLE_REASON_MAX)
		goto out;
	for (i = 0; p + i < nl; i++) {
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			goto out;
		st->reason[i] = p[i];
	}
	st->reason[i] = '\0';
	st->outcome = (uint8_t)oc;
	r = 0;
out:
	free(buf);
	return r;
}

int
pk_bstatus_write(const char *spool, const struct pk_bstatus *st)
{
	char buf[PK_BUNDLE_REASON_MAX + 256], reason[PK_BUNDLE_REASON_MAX + 1];
	size_t i;
	int n;

	/* one line: control bytes become blanks */
	pk_strlcpy(reason, st->reason, sizeof(reason));
	for (i = 0; reason[i] != '\0'; i++)
		if ((unsigned char)reason[i] < 0x20 || reason[i] == 0x7f)
			reason[i] = ' ';
	n = snprintf(buf, sizeof(buf), "version=%llu\noutcome=%u\n"
	    "running=%llu\nprevious=%llu\nreason=%s\n",
	    (unsigned long long)st->version, st->outcome,
	    (unsigned long long)st->running,
	    (unsigned long long)st->previous, reason);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return ba_write(spool, "status", buf, (size_t)n);
}

int
pk_bundle_store(const char *spool, uint64_t version, const void *text,
    size_t len)
{
	char name[40];

	snprintf(name, sizeof(name), "%llu.bundle",
	    (unsigned long long)version);
	return ba_write(spool, name, text, len);
}

int
pk_bundle_load_file(const char *spool, uint64_t version, char **text,
    size_t *len)
{
	char path[BA_PATH_MAX];

	*text = NULL;
	*len = 0;
	if (ba_vpath(path, sizeof(path), spool, version) != 0)
		return -1;
	return pk_file_read_max(path, PK_BUNDLE_RAW_MAX, text, len);
}

/* ---- the shipper's half ------------------------------------------------ */

int
pk_bundle_receive(const char *spool, const struct pk_config_frame *cf,
    size_t max_entries, int accept, char *reason, size_t rlen)
{
	char err[PK_BUNDLE_ERRLEN];
	struct pk_bundle b;
	uint8_t *raw;
	size_t n;
	int r;

	if (!accept) {
		snprintf(reason, rlen, "%s", PK_BUNDLE_OFF_REASON);
		return -1;
	}
	if (cf->op != PK_COP_APPLY || cf->raw_len == 0 ||
	    cf->raw_len > PK_BUNDLE_RAW_MAX || cf->data == NULL) {
		snprintf(reason, rlen, "not a bundle to apply");
		return -1;
	}
	if ((raw = malloc(cf->raw_len)) == NULL) {
		snprintf(reason, rlen, "out of memory");
		return -1;
	}
	if (cf->flags & PK_FF_CONFIG_DEFLATE) {
		r = pk_chunk_inflate(cf->data, cf->dlen, raw, cf->raw_len, &n);
		if (r != PK_BE_OK || n != cf->raw_len) {
			snprintf(reason, rlen, r == PK_BE_BOMB ? "bundle "
			    "inflates past its raw_len (%u bytes)" : r ==
			    PK_BE_OK ? "bundle inflates to fewer bytes than "
			    "its raw_len (%u)" : "bundle is not a valid zlib "
			    "stream (raw_len %u)", cf->raw_len);
			free(raw);
			return -1;
		}
	} else if (cf->dlen != cf->raw_len) {
		snprintf(reason, rlen, "bundle is %zu bytes, raw_len says %u",
		    cf->dlen, cf->raw_len);
		free(raw);
		return -1;
	} else
		memcpy(raw, cf->data, cf->dlen);
	n = cf->raw_len;
	if (pk_bundle_parse((const char *)raw, n, max_entries, &b, err,
	    sizeof(err)) != 0) {
		snprintf(reason, rlen, "bad bundle: %s", err);
		free(raw);
		return -1;
	}
	r = b.version == cf->version ? 0 : -1;
	if (r != 0)
		snprintf(reason, rlen, "bundle text is version %llu, the "
		    "frame says %llu", (unsigned long long)b.version,
		    (unsigned long long)cf->version);
	pk_bundle_free(&b);
	if (r == 0 && pk_bundle_store(spool, cf->version, raw, n) != 0) {
		snprintf(reason, rlen, "cannot file the bundle: %s",
		    strerror(errno));
		r = -1;
	}
	free(raw);
	return r;
}

void
pk_bship_init(struct pk_bship *b, const char *spool, size_t max_entries,
    int accept)
{
	memset(b, 0, sizeof(*b));
	b->spool_dir = spool;
	b->max_entries = max_entries;
	b->accept = accept;
}

int
pk_bship_decode(uint8_t version, const struct pk_frame *f,
    struct pk_config_frame *cf, int *type_err, char *why, size_t whylen)
{
	int r;

	*type_err = 0;
	if (version < PK_PROTO_BUNDLES) {
		*type_err = 1;
		snprintf(why, whylen, "hub sent CONFIG in a version %u "
		    "session", version);
		return -1;
	}
	if ((r = pk_config_decode(f, cf)) != PK_FE_OK) {
		snprintf(why, whylen, "malformed CONFIG frame from hub: %s",
		    pk_frame_strerror(r));
		return -1;
	}
	return 0;
}

/* Running and previous as the collector last wrote them. */
static void
bship_running(const struct pk_bship *b, struct pk_bstate *st)
{
	if (pk_bstate_read(b->spool_dir, st) != 0)
		memset(st, 0, sizeof(*st));
}

/* Queue one APPLIED for the hub (sent between other frames). */
static void
bship_queue(struct pk_bship *b, uint64_t running, uint64_t previous,
    uint64_t version, uint8_t outcome, const char *reason)
{
	struct pk_applied *a;

	if (b->aq_n >= PK_BSHIP_QUEUE) {
		b->st.applied_dropped++;
		return;
	}
	a = &b->aq[b->aq_n++];
	memset(a, 0, sizeof(*a));
	a->running = running;
	a->previous = previous;
	a->version = version;
	a->outcome = outcome;
	pk_strlcpy(a->reason, reason != NULL ? reason : "", sizeof(a->reason));
	/* one line of printable text on the wire */
	for (size_t i = 0; a->reason[i] != '\0'; i++)
		if ((unsigned char)a->reason[i] < 0x20 || a->reason[i] == 0x7f)
			a->reason[i] = ' ';
}

void
pk_bship_session(struct pk_bship *b, uint8_t version)
{
	struct pk_bstate bst;

	b->wait = 0;
	b->aq_n = 0;
	if (version >= PK_PROTO_BUNDLES) {
		bship_running(b, &bst);
		bship_queue(b, bst.running, bst.previous, 0, PK_AO_RUNNING,
		    "");
	}
}

int
pk_bship_config(struct pk_bship *b, const struct pk_config_frame *cf,
    int have_collector, struct pk_ipc_msg *req)
{
	char reason[PK_ERROR_MSG_MAX + 1];
	struct pk_bstate bst;

	memset(req, 0, sizeof(*req));
	b->st.config_frames++;
	bship_running(b, &bst);
	reason[0] = '\0';
	if (b->wait)
		snprintf(reason, sizeof(reason), "bundle %llu is still being "
		    "applied", (unsigned long long)b->version);
	else if (!have_collector)
		snprintf(reason, sizeof(reason), "no collector to apply it");
	else if (cf->op == PK_COP_APPLY)
		(void)pk_bundle_receive(b->spool_dir, cf, b->max_entries,
		    b->accept, reason, sizeof(reason));
	else if (!b->accept)
		snprintf(reason, sizeof(reason), "%s", PK_BUNDLE_OFF_REASON);
	if (reason[0] != '\0') {
		b->st.refused++;
		log_warnx("hub: bundle %llu refused: %s",
		    (unsigned long long)cf->version, reason);
		bship_queue(b, bst.running, bst.previous, cf->version,
		    PK_AO_REFUSED, reason);
		return 0;
	}
	b->wait = 1;
	b->version = cf->version;
	b->since = pk_mono_us();
	req->type = cf->op == PK_COP_APPLY ? PK_IPC_BUNDLE_NEW :
	    PK_IPC_BUNDLE_ROLLBACK;
	req->a = cf->version;
	return 1;
}

void
pk_bship_answered(struct pk_bship *b, const struct pk_ipc_msg *m,
    int connected)
{
	struct pk_bstatus bs;

	if (!b->wait)
		return;
	if (pk_bstatus_read(b->spool_dir, &bs) != 0 ||
	    bs.version != b->version || bs.outcome != m->c ||
	    bs.running != m->a || bs.previous != m->b) {
		/* an older answer, or a status file this message does
		 * not describe: keep waiting */
		return;
	}
	b->wait = 0;
	if (connected)
		bship_queue(b, m->a, m->b, bs.version, bs.outcome, bs.reason);
}

int
pk_bship_busy(const struct pk_bship *b)
{
	return b->wait || b->aq_n > 0;
}

int
pk_bship_next(struct pk_bship *b, uint64_t now, uint8_t *out, size_t cap,
    size_t *len)
{
	struct pk_bstate bst;

	*len = 0;
	if (b->wait && now - b->since >= PK_BSHIP_WAIT_US) {
		b->wait = 0;
		b->st.timeouts++;
		bship_running(b, &bst);
		bship_queue(b, bst.running, bst.previous, b->version,
		    PK_AO_REFUSED, "the collector did not answer within 60 s");
	}
	if (b->aq_n == 0)
		return 0;
	if (pk_applied_encode(&b->aq[0], out, cap, len) != PK_FE_OK) {
		log_warnx("hub: cannot encode APPLIED for bundle %llu",
		    (unsigned long long)b->aq[0].version);
		*len = 0;
	}
	memmove(&b->aq[0], &b->aq[1], (b->aq_n - 1) * sizeof(b->aq[0]));
	b->aq_n--;
	if (*len == 0)
		return 0;
	b->st.applied_frames++;
	return 1;
}

/* ---- the collector's half ------------------------------------------------ */

struct pk_bagent {
	char			 spool[BA_PATH_MAX - 16];
	size_t			 max_entries;
	int			 accept;	/* [bundle] accept */
	struct pk_engine	*e;
	struct pk_shared	*cur;		/* what the engine uses */
	struct pk_bstate	 st;
	struct pk_bagent_stats	 stats;
};

struct pk_bagent *
pk_bagent_new(const char *spool, int accept, size_t max_entries,
    struct pk_engine *e)
{
	struct pk_bagent *ba;
	char dir[BA_PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s/%s", spool, PK_BUNDLE_SUBDIR) >=
	    (int)sizeof(dir) || (pk_dir_make(dir) != 0 && errno != EEXIST))
		return NULL;
	if ((ba = calloc(1, sizeof(*ba))) == NULL)
		return NULL;
	pk_strlcpy(ba->spool, spool, sizeof(ba->spool));
	ba->max_entries = max_entries > PK_BUNDLE_MAX_ENTRIES ?
	    PK_BUNDLE_MAX_ENTRIES : max_entries;
	ba->e = e;
	ba->accept = accept;
	return ba;
}

void
pk_bagent_free(struct pk_bagent *ba)
{
	if (ba == NULL)
		return;
	if (ba->e != NULL)
		pk_engine_set_shared(ba->e, NULL);
	pk_shared_free(ba->cur);
	free(ba);
}

/* Read, parse and build version v: the sets, or NULL with the reason. */
static struct pk_shared *
ba_build(struct pk_bagent *ba, uint64_t v, char *reason, size_t rlen)
{
	char err[PK_BUNDLE_ERRLEN];
	struct pk_bundle b;
	struct pk_shared *sh;
	char *text;
	size_t len;
	int r;

	if ((r = pk_bundle_load_file(ba->spool, v, &text, &len)) != 0) {
		snprintf(reason, rlen, "bundle %llu: %s",
		    (unsigned long long)v, r == -2 ? "file too large" :
		    "no readable file");
		return NULL;
	}
	r = pk_bundle_parse(text, len, ba->max_entries, &b, err, sizeof(err));
	free(text);
	if (r != 0) {
		snprintf(reason, rlen, "bundle %llu: %s",
		    (unsigned long long)v, err);
		return NULL;
	}
	if (b.version != v) {
		snprintf(reason, rlen, "bundle %llu: its text says version "
		    "%llu", (unsigned long long)v,
		    (unsigned long long)b.version);
		pk_bundle_free(&b);
		return NULL;
	}
	if ((sh = pk_shared_new(&b)) == NULL)
		snprintf(reason, rlen, "bundle %llu: out of memory",
		    (unsigned long long)v);
	return sh;
}

/* Install sh (NULL: none) between packets; the old sets go. */
static void
ba_swap(struct pk_bagent *ba, struct pk_shared *sh)
{
	const struct pk_shared_stats *s;

	pk_engine_set_shared(ba->e, sh);
	pk_shared_free(ba->cur);
	ba->cur = sh;
	s = sh != NULL ? pk_shared_stats(sh) : NULL;
	ba->stats.entries_loaded = s != NULL ? s->loaded : 0;
	ba->stats.entries_ignored = s != NULL ? s->ignored : 0;
}

struct sweep {
	const struct pk_bstate	*st;
};

/* Delete bundle files other than the running and the previous one. */
static int
sweep_one(void *arg, const char *path)
{
	const struct sweep *sw = arg;
	const char *base = path, *p, *perr;
	char num[24];
	uint64_t v;
	size_t n;

	/* pk_dir_each joins with '/' on POSIX, '\\' on Windows */
	for (p = path; *p != '\0'; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	n = strcspn(base, ".");
	if (n == 0 || n >= sizeof(num))
		return 0;
	memcpy(num, base, n);
	num[n] = '\0';
	if (pk_parse_u64(num, 1, BA_VERSION_MAX, &v, &perr) == 0 &&
	    (v == sw->st->running || v == sw->st->previous))
		return 0;
	(void)pk_file_remove(path);
	return 0;
}

static void
ba_commit(struct pk_bagent *ba)
{
	char dir[BA_PATH_MAX];
	struct sweep sw = { &ba->st };

	if (pk_bstate_write(ba->spool, &ba->st) != 0) {
		ba->stats.file_errors++;
		log_warn("bundle: cannot write %s/%s/state", ba->spool,
		    PK_BUNDLE_SUBDIR);
	}
	if (snprintf(dir, sizeof(dir), "%s/%s", ba->spool, PK_BUNDLE_SUBDIR)
	    < (int)sizeof(dir))
		(void)pk_dir_each(dir, ".bundle", sweep_one, &sw);
}

static void
ba_msg(const struct pk_bagent *ba, uint8_t outcome, struct pk_ipc_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = PK_IPC_BUNDLE_STATE;
	m->a = ba->st.running;
	m->b = ba->st.previous;
	m->c = outcome;
}

void
pk_bagent_start(struct pk_bagent *ba, struct pk_ipc_msg *m)
{
	char reason[PK_BUNDLE_REASON_MAX + 1];
	struct pk_shared *sh;
	int r;

	if ((r = pk_bstate_read(ba->spool, &ba->st)) == 0 && !ba->accept &&
	    ba->st.running != 0) {
		log_info("bundle: [bundle] accept = no: not running version "
		    "%llu", (unsigned long long)ba->st.running);
		memset(&ba->st, 0, sizeof(ba->st));
		ba_commit(ba);
	} else if (r < 0) {
		ba->stats.corrupt++;
		log_warnx("bundle: %s/%s/state is corrupt: running no bundle "
		    "until the hub sends one", ba->spool, PK_BUNDLE_SUBDIR);
		memset(&ba->st, 0, sizeof(ba->st));
		ba_commit(ba);
	} else if (r == 0 && ba->st.running != 0) {
		if ((sh = ba_build(ba, ba->st.running, reason,
		    sizeof(reason))) == NULL) {
			ba->stats.corrupt++;
			log_warnx("bundle: %s: running no bundle until the hub "
			    "sends one", reason);
			memset(&ba->st, 0, sizeof(ba->st));
			ba_commit(ba);
		} else {
			ba_swap(ba, sh);
			log_info("bundle: running version %llu (%llu entries, "
			    "%llu ignored)", (unsigned long long)
			    ba->st.running, (unsigned long long)
			    ba->stats.entries_loaded, (unsigned long long)
			    ba->stats.entries_ignored);
		}
	}
	ba_msg(ba, PK_AO_RUNNING, m);
}

static void
ba_answer(struct pk_bagent *ba, uint64_t version, uint8_t outcome,
    const char *reason, struct pk_ipc_msg *reply)
{
	struct pk_bstatus bs;

	memset(&bs, 0, sizeof(bs));
	bs.version = version;
	bs.outcome = outcome;
	bs.running = ba->st.running;
	bs.previous = ba->st.previous;
	pk_strlcpy(bs.reason, reason, sizeof(bs.reason));
	if (pk_bstatus_write(ba->spool, &bs) != 0) {
		ba->stats.file_errors++;
		log_warn("bundle: cannot write %s/%s/status", ba->spool,
		    PK_BUNDLE_SUBDIR);
	}
	ba_msg(ba, outcome, reply);
}

static void
ba_apply(struct pk_bagent *ba, uint64_t v, struct pk_ipc_msg *reply)
{
	char reason[PK_BUNDLE_REASON_MAX + 1];
	struct pk_shared *sh;
	uint64_t t0 = pk_mono_us();

	if ((sh = ba_build(ba, v, reason, sizeof(reason))) == NULL) {
		ba->stats.refused++;
		log_warnx("bundle: refused, keeping version %llu: %s",
		    (unsigned long long)ba->st.running, reason);
		ba_answer(ba, v, PK_AO_REFUSED, reason, reply);
		return;
	}
	ba_swap(ba, sh);
	if (ba->st.running != v) {
		ba->st.previous = ba->st.running;
		ba->st.running = v;
	}
	ba_commit(ba);
	ba->stats.applied++;
	ba->stats.apply_us = pk_mono_us() - t0;
	log_info("bundle: version %llu applied (%llu entries, %llu ignored, "
	    "%llu us), previous %llu", (unsigned long long)v,
	    (unsigned long long)ba->stats.entries_loaded,
	    (unsigned long long)ba->stats.entries_ignored,
	    (unsigned long long)ba->stats.apply_us,
	    (unsigned long long)ba->st.previous);
	ba_answer(ba, v, PK_AO_APPLIED, "", reply);
}

static void
ba_rollback(struct pk_bagent *ba, uint64_t v, struct pk_ipc_msg *reply)
{
	char reason[PK_BUNDLE_REASON_MAX + 1];
	struct pk_shared *sh = NULL;

	if (v != ba->st.previous) {
		ba->stats.refused++;
		snprintf(reason, sizeof(reason), "cannot roll back to %llu: "
		    "the previous bundle kept is %llu",
		    (unsigned long long)v,
		    (unsigned long long)ba->st.previous);
		log_warnx("bundle: %s", reason);
		ba_answer(ba, v, PK_AO_REFUSED, reason, reply);
		return;
	}
	if (v != 0 && (sh = ba_build(ba, v, reason, sizeof(reason))) == NULL) {
		ba->stats.refused++;
		log_warnx("bundle: rollback refused, keeping version %llu: %s",
		    (unsigned long long)ba->st.running, reason);
		ba_answer(ba, v, PK_AO_REFUSED, reason, reply);
		return;
	}
	ba_swap(ba, sh);
	ba->st.running = v;
	ba->st.previous = 0;
	ba_commit(ba);
	ba->stats.rolled_back++;
	log_info("bundle: rolled back to version %llu", (unsigned long long)v);
	ba_answer(ba, v, PK_AO_ROLLED_BACK, "", reply);
}

void
pk_bagent_ipc(struct pk_bagent *ba, const struct pk_ipc_msg *m,
    struct pk_ipc_msg *reply)
{
	memset(reply, 0, sizeof(*reply));
	if ((m->type == PK_IPC_BUNDLE_NEW || m->type ==
	    PK_IPC_BUNDLE_ROLLBACK) && !ba->accept) {
		ba->stats.refused++;
		ba_answer(ba, m->a, PK_AO_REFUSED, PK_BUNDLE_OFF_REASON, reply);
	} else if (m->type == PK_IPC_BUNDLE_NEW && m->a != 0)
		ba_apply(ba, m->a, reply);
	else if (m->type == PK_IPC_BUNDLE_ROLLBACK)
		ba_rollback(ba, m->a, reply);
	else
		ba->stats.ipc_ignored++;
}

void
pk_bagent_state(const struct pk_bagent *ba, struct pk_bstate *st)
{
	*st = ba->st;
}

void
pk_bagent_stats(const struct pk_bagent *ba, struct pk_bagent_stats *st)
{
	*st = ba->stats;
}

void
pk_bagent_report(const struct pk_bagent *ba, uint64_t shared_matches,
    FILE *fp)
{
	const struct pk_bagent_stats *st = &ba->stats;

	fprintf(fp, "bundle_running %llu\nbundle_previous %llu\n"
	    "bundles_applied %llu\nbundles_refused %llu\n"
	    "bundles_rolled_back %llu\nbundle_entries %llu\n"
	    "bundle_entries_ignored %llu\nbundle_corrupt %llu\n"
	    "bundle_file_errors %llu\nbundle_apply_us %llu\n"
	    "shared_matches %llu\n",
	    (unsigned long long)ba->st.running,
	    (unsigned long long)ba->st.previous,
	    (unsigned long long)st->applied, (unsigned long long)st->refused,
	    (unsigned long long)st->rolled_back,
	    (unsigned long long)st->entries_loaded,
	    (unsigned long long)st->entries_ignored,
	    (unsigned long long)st->corrupt,
	    (unsigned long long)st->file_errors,
	    (unsigned long long)st->apply_us,
	    (unsigned long long)shared_matches);
}

/* ---- picketd -n ------------------------------------------------------------ */

int
pk_bundle_summary(const char *spool, size_t max_entries, FILE *out)
{
	char err[PK_BUNDLE_ERRLEN], *text;
	struct pk_bstate st;
	struct pk_bundle b;
	size_t len, i, nk[PK_BK_LAST + 1];
	int r, k, first = 1;

	if ((r = pk_bstate_read(spool, &st)) < 0) {
		fprintf(out, "bundle: %s/%s/state is corrupt\n", spool,
		    PK_BUNDLE_SUBDIR);
		return -1;
	}
	if (r == 1 || st.running == 0) {
		fprintf(out, "bundle: none\n");
		return 0;
	}
	if (pk_bundle_load_file(spool, st.running, &text, &len) != 0) {
		fprintf(out, "bundle: version %llu has no readable file\n",
		    (unsigned long long)st.running);
		return -1;
	}
	r = pk_bundle_parse(text, len, max_entries, &b, err, sizeof(err));
	free(text);
	if (r != 0) {
		fprintf(out, "bundle: version %llu: %s\n",
		    (unsigned long long)st.running, err);
		return -1;
	}
	memset(nk, 0, sizeof(nk));
	for (i = 0; i < b.n; i++)
		if (b.e[i].kind <= PK_BK_LAST)
			nk[b.e[i].kind]++;
	fprintf(out, "bundle: version %llu (previous %llu), %zu entries",
	    (unsigned long long)st.running, (unsigned long long)st.previous,
	    b.n);
	for (k = 1; k <= PK_BK_LAST; k++) {
		if (nk[k] == 0)
			continue;
		fprintf(out, "%s%zu %s", first ? ": " : ", ", nk[k],
		    pk_bundle_kind_name(k));
		first = 0;
	}
	fprintf(out, "\n");
	pk_bundle_free(&b);
	return 0;
}
