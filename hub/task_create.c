/*
 * task_create.c - making a task (tasks.h: hub_task_create) and naming
 * its result files (hub_task_result_path), apart from the serving side
 * in tasks.c so that the CLI, the API and the unit tests need only the
 * store.  The order is checked with the shared parser (transport/task.c)
 * and stored in its canonical form; its targets are resolved now, once,
 * to agent ids (explicit ids the hub knows, enrolled agents by tag,
 * hosts that reported a rule, fingerprint or IOC value since a time),
 * sorted, unique, at least one and at most HUB_TASK_TARGETS_MAX, so the
 * hosts of a task never change after it is made.  Called by
 * hub/api_tasks.c, hub/task_cli.c and tests/unit/test_hubtasks.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "hub/tasks.h"

#define CANON_MAX		(PK_TASK_JSON_MAX + 1)

/* ------------------------------------------------------------ helpers */

/* A growing array of agent ids (owned copies). */
struct idset {
	char	**v;
	size_t	  n, cap;
	int	  oom;
};

static int
idset_add(struct idset *s, const char *id)
{

	if (pk_grow(&s->v, &s->cap, s->n, sizeof(*s->v)) == -1) {
		s->oom = 1;
		return -1;
	}
	if ((s->v[s->n] = strdup(id)) == NULL) {
		s->oom = 1;
		return -1;
	}
	s->n++;
	return 0;
}

static void
idset_free(struct idset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
cmp_pstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates. */
static void
idset_unique(struct idset *s)
{
	size_t i, j = 0;

	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_pstr);
	for (i = 1; i < s->n; i++) {
		if (strcmp(s->v[i], s->v[j]) == 0)
			free(s->v[i]);
		else
			s->v[++j] = s->v[i];
	}
	s->n = j + 1;
}

/* An agent id as HELLO carries it: 1..64 bytes, no control bytes. */
static int
agent_id_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > PK_AGENT_ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

/* ------------------------------------------------------------ create */

struct tag_ctx {
	const struct hub_task_targets	*tg;
	struct idset			*ids;
};

static int
tag_row(void *arg, const struct hub_agent *a)
{
	struct tag_ctx *x = arg;
	size_t i;

	if (a->revoked_us != 0 || a->tag[0] == '\0')
		return 0;
	for (i = 0; i < x->tg->ntags; i++)
		if (strcmp(a->tag, x->tg->tags[i]) == 0)
			return idset_add(x->ids, a->agent_id) == -1 ||
			    x->ids->n > HUB_TASK_TARGETS_MAX;
	return 0;
}

static int
reported_row(void *arg, const char *agent_id)
{
	struct idset *ids = arg;

	return idset_add(ids, agent_id) == -1 ||
	    ids->n > HUB_TASK_TARGETS_MAX;
}

static void
describe(const struct hub_task_targets *tg, char *out, size_t cap)
{
	static const char *const what[] = { "rule", "fingerprint", "ioc" };
	size_t off = 0, i;
	int n;

	out[0] = '\0';
#define APPEND(...) do {						\
	n = snprintf(out + off, cap - off, __VA_ARGS__);		\
	if (n < 0 || (size_t)n >= cap - off)				\
		return;							\
	off += (size_t)n;						\
} while (0)
	for (i = 0; i < tg->nagents; i++)
		APPEND("%sagent %s", off > 0 ? ", " : "", tg->agents[i]);
	for (i = 0; i < tg->ntags; i++)
		APPEND("%stag %s", off > 0 ? ", " : "", tg->tags[i]);
	if (tg->reported >= 0 && tg->reported <= HUB_REPORTED_IOC)
		APPEND("%shosts that reported %s %s in the last %llus",
		    off > 0 ? ", " : "", what[tg->reported], tg->value,
		    (unsigned long long)tg->since_s);
#undef APPEND
}

/* The hosts of tg, sorted and unique: 0, 1 refused (err), -1 store. */
static int
resolve(struct hub_store *st, const struct hub_task_targets *tg,
    struct idset *ids, char *err, size_t errlen)
{
	struct tag_ctx x = { tg, ids };
	size_t i;
	int found;

	if (tg->nagents == 0 && tg->ntags == 0 && tg->reported < 0) {
		snprintf(err, errlen, "targets: name agents, tags or "
		    "\"reported\"");
		return 1;
	}
	for (i = 0; i < tg->nagents; i++) {
		if (!agent_id_ok(tg->agents[i])) {
			snprintf(err, errlen, "targets: agent id %zu is not "
			    "1-64 printable bytes", i + 1);
			return 1;
		}
		if (st->ops->agent_known(st, tg->agents[i], &found) == -1) {
			snprintf(err, errlen, "store unavailable");
			return -1;
		}
		if (!found) {
			snprintf(err, errlen, "targets: unknown agent %.64s",
			    tg->agents[i]);
			return 1;
		}
		if (idset_add(ids, tg->agents[i]) == -1)
			goto oom;
	}
	for (i = 0; i < tg->ntags; i++)
		if (tg->tags[i][0] == '\0' ||
		    strlen(tg->tags[i]) > HUB_TAG_MAX) {
			snprintf(err, errlen, "targets: a tag is 1-%d bytes",
			    HUB_TAG_MAX);
			return 1;
		}
	if (tg->ntags > 0 && st->ops->agent_list(st, tag_row, &x) == -1) {
		snprintf(err, errlen, "store unavailable");
		return -1;
	}
	if (tg->reported >= 0) {
		if (tg->reported > HUB_REPORTED_IOC || tg->value == NULL ||
		    tg->value[0] == '\0' || strlen(tg->value) > 1024) {
			snprintf(err, errlen, "targets: reported: a rule, "
			    "fingerprint or ioc of 1-1024 bytes");
			return 1;
		}
		if (st->ops->task_reported(st, tg->reported, tg->value,
		    tg->since_us, reported_row, ids) == -1) {
			snprintf(err, errlen, "store unavailable");
			return -1;
		}
	}
	if (ids->oom)
		goto oom;
	idset_unique(ids);
	if (ids->n > HUB_TASK_TARGETS_MAX) {
		snprintf(err, errlen, "targets: more than %d hosts",
		    HUB_TASK_TARGETS_MAX);
		return 1;
	}
	if (ids->n == 0) {
		snprintf(err, errlen, "targets: no host matches");
		return 1;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* The parser's reason on one line: it may quote a key with control
 * bytes in it. */
void
hub_task_reason_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

int
hub_task_create(struct hub_store *st, const char *spec, size_t len,
    const struct hub_task_targets *tg, int64_t expires_us, const char *actor,
    int64_t now_us, int64_t *id, size_t *nhosts, char *err, size_t errlen)
{
	struct pk_task_spec ts;
	struct hub_task t;
	struct idset ids;
	char perr[HUB_TASK_ERR_MAX - 8], *canon = NULL;
	size_t clen;
	int rc;

	*id = 0;
	*nhosts = 0;
	if (pk_task_parse(spec, len, &ts, perr, sizeof(perr)) == -1) {
		hub_task_reason_clean(perr);
		snprintf(err, errlen, "task: %s", perr);
		return 1;
	}
	if (expires_us <= now_us) {
		snprintf(err, errlen, "expires_in: must be in the future");
		return 1;
	}
	if ((canon = malloc(CANON_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((clen = pk_task_encode(&ts, canon, CANON_MAX)) == 0 ||
	    clen > PK_TASK_JSON_MAX) {
		free(canon);
		snprintf(err, errlen, "task: over %d bytes once written out",
		    PK_TASK_JSON_MAX);
		return 1;
	}
	memset(&ids, 0, sizeof(ids));
	if ((rc = resolve(st, tg, &ids, err, errlen)) != 0) {
		idset_free(&ids);
		free(canon);
		return rc;
	}
	memset(&t, 0, sizeof(t));
	t.type = ts.type;
	t.spec = canon;
	t.spec_len = clen;
	t.created_us = now_us;
	pk_strlcpy(t.created_by, actor, sizeof(t.created_by));
	t.expires_us = expires_us;
	describe(tg, t.targets, sizeof(t.targets));
	rc = st->ops->task_add(st, &t, (const char *const *)ids.v, ids.n, id);
	if (rc == 0)
		*nhosts = ids.n;
	else
		snprintf(err, errlen, "store unavailable");
	idset_free(&ids);
	free(canon);
	return rc == 0 ? 0 : -1;
}

int
hub_task_result_path(const char *results_dir, int64_t id, const char *agent_id,
    int type, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[3 * HUB_ID_MAX + 1];
	size_t i, o = 0;
	unsigned char ch;
	int n;

	for (i = 0; agent_id[i] != '\0' && o + 4 < sizeof(name); i++) {
		ch = (unsigned char)agent_id[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-') {
			name[o++] = (char)ch;
		} else {
			name[o++] = '%';
			name[o++] = hex[ch >> 4];
			name[o++] = hex[ch & 15];
		}
	}
	name[o] = '\0';
	if (agent_id[i] != '\0' || o == 0)
		return -1;
	n = snprintf(out, cap, "%s/%lld/%s.%s", results_dir, (long long)id,
	    name, type == PK_TASK_PCAP ? "pcap" : "ndjson");
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}
