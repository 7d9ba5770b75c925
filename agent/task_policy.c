/*
 * task_policy.c - the [tasks] policy and the task status file
 * (task_policy.h).  The policy is checked twice, by the shipper and by
 * the collector, with the same function, so the two cannot disagree; the
 * status file is the collector's only way to tell the shipper how a task
 * goes, so its decoder accepts one exact shape and nothing else.
 */
#include <stdio.h>
#include <string.h>

#include "agent/config.h"
#include "agent/task_policy.h"
#include "common/util.h"

#define DEF_ALLOW	"pcap, ioc_sweep, snapshot"
#define DEF_DURATION	300ULL
#define DEF_BYTES	(100ULL * 1024 * 1024)
#define DEF_CONCURRENT	2ULL
#define DEF_DISK	(512ULL * 1024 * 1024)

static int
is_sep(int c, const char *seps)
{
	return c != '\0' && strchr(seps, c) != NULL;
}

/*
 * Split s at any of seps into trimmed, non-empty items; fn gets each.
 * Items longer than max are an error.  0 or -1 (err set).
 */
static int
each_item(const char *s, const char *seps, size_t max,
    int (*fn)(void *, const char *, char *, size_t), void *arg, char *err,
    size_t errlen)
{
	char item[PK_TASK_FILTER_MAX + 1];
	size_t n;

	while (*s != '\0') {
		while (is_sep(*s, seps) || *s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		for (n = 0; s[n] != '\0' && !is_sep(s[n], seps); n++)
			;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n > max || n >= sizeof(item)) {
			snprintf(err, errlen, "item longer than %zu bytes: "
			    "%.40s...", max, s);
			return -1;
		}
		memcpy(item, s, n);
		item[n] = '\0';
		if (fn(arg, item, err, errlen) != 0)
			return -1;
		s += n;
	}
	return 0;
}

static int
add_type(void *arg, const char *item, char *err, size_t errlen)
{
	struct pk_task_policy *p = arg;
	int t;

	if ((t = pk_task_type_parse(item)) == 0) {
		snprintf(err, errlen, "allow: unknown task type \"%s\" (pcap, "
		    "proc_trace, ioc_sweep, sensitivity, snapshot)", item);
		return -1;
	}
	p->allow |= 1u << t;
	return 0;
}

static int
add_filter(void *arg, const char *item, char *err, size_t errlen)
{
	struct pk_task_policy *p = arg;

	if (p->nfilters >= PK_TPOL_NFILTERS) {
		snprintf(err, errlen, "allow_filters: more than %d expressions",
		    PK_TPOL_NFILTERS);
		return -1;
	}
	pk_task_filter_norm(item, p->filters[p->nfilters++],
	    sizeof(p->filters[0]));
	return 0;
}

static int
add_word(void *arg, const char *item, char *err, size_t errlen)
{
	struct pk_task_policy *p = arg;

	if (p->nwords >= PK_TPOL_NWORDS) {
		snprintf(err, errlen, "deny_words: more than %d words",
		    PK_TPOL_NWORDS);
		return -1;
	}
	pk_strlcpy(p->words[p->nwords++], item, sizeof(p->words[0]));
	return 0;
}

int
pk_task_policy_init(struct pk_task_policy *p, int enabled,
    const char *allow, uint64_t max_duration_s, uint64_t max_bytes,
    uint64_t max_concurrent, uint64_t max_disk, const char *allow_filters,
    const char *deny_words, char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->enabled = enabled;
	p->max_duration_s = max_duration_s;
	p->max_bytes = max_bytes;
	p->max_concurrent = max_concurrent;
	p->max_disk = max_disk;
	if (each_item(allow, ", ", 32, add_type, p, err, errlen) != 0 ||
	    each_item(allow_filters, ";", PK_TASK_FILTER_MAX, add_filter, p,
	    err, errlen) != 0 ||
	    each_item(deny_words, ", ", PK_TPOL_WORD_MAX, add_word, p, err,
	    errlen) != 0)
		return -1;
	return 0;
}

int
pk_task_policy_config(struct pk_task_policy *p, const struct pk_config *c,
    char *err, size_t errlen)
{
	return pk_task_policy_init(p, c->tasks.enabled, c->tasks.allow,
	    c->tasks.max_duration, c->tasks.max_bytes,
	    c->tasks.max_concurrent, c->tasks.max_disk,
	    c->tasks.allow_filters, c->tasks.deny_words, err, errlen);
}

void
pk_task_policy_default(struct pk_task_policy *p)
{
	char err[128];

	(void)pk_task_policy_init(p, 1, DEF_ALLOW, DEF_DURATION, DEF_BYTES,
	    DEF_CONCURRENT, DEF_DISK, "", "", err, sizeof(err));
}

void
pk_task_filter_norm(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	int blank = 0;

	if (cap == 0)
		return;
	while (*in == ' ' || *in == '\t')
		in++;
	for (; *in != '\0' && n + 1 < cap; in++) {
		if (*in == ' ' || *in == '\t') {
			blank = 1;
			continue;
		}
		if (blank && n + 2 < cap)
			out[n++] = ' ';
		blank = 0;
		out[n++] = *in;
	}
	out[n] = '\0';
}

static int
word_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '_' ||
	    c == '-' || c == '/';
}

static int
ieq(const char *a, size_t alen, const char *b)
{
	size_t i;

	if (strlen(b) != alen)
		return 0;
	for (i = 0; i < alen; i++) {
		int x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return 1;
}

/* The first deny word that is a whole token of the filter, or NULL. */
static const char *
denied_word(const struct pk_task_policy *p, const char *f)
{
	size_t n;
	int i;

	while (*f != '\0') {
		if (!word_char(*f)) {
			f++;
			continue;
		}
		for (n = 0; word_char(f[n]); n++)
			;
		for (i = 0; i < p->nwords; i++)
			if (ieq(f, n, p->words[i]))
				return p->words[i];
		f += n;
	}
	return NULL;
}

static int
check_filter(const struct pk_task_policy *p, const char *filter,
    char *reason, size_t len)
{
	char norm[PK_TASK_FILTER_MAX + 1];
	const char *w;
	int i;

	pk_task_filter_norm(filter, norm, sizeof(norm));
	if (p->nfilters > 0) {
		for (i = 0; i < p->nfilters; i++)
			if (strcmp(norm, p->filters[i]) == 0)
				break;
		if (i == p->nfilters) {
			snprintf(reason, len, "filter \"%.200s\" is not one "
			    "of [tasks] allow_filters", norm);
			return -1;
		}
	}
	if ((w = denied_word(p, norm)) != NULL) {
		snprintf(reason, len, "filter \"%.200s\" contains \"%s\", "
		    "refused by [tasks] deny_words", norm, w);
		return -1;
	}
	return 0;
}

int
pk_task_policy_check(const struct pk_task_policy *p,
    const struct pk_task_spec *t, char *reason, size_t len)
{
	const char *name = pk_task_type_name(t->type);

	if (!p->enabled) {
		snprintf(reason, len, "tasks are turned off on this host "
		    "([tasks] enabled = no)");
		return -1;
	}
	if (t->type <= 0 || t->type >= PK_TASK_NTYPES ||
	    !(p->allow & (1u << t->type))) {
		snprintf(reason, len, "type %s is not allowed by [tasks] "
		    "allow", name);
		return -1;
	}
	if (!(PK_TPOL_SUPPORTED & (1u << t->type))) {
		snprintf(reason, len, "type %s is not supported by this agent "
		    "yet", name);
		return -1;
	}
	if (t->duration_s > p->max_duration_s) {
		snprintf(reason, len, "duration %us is over [tasks] "
		    "max_duration (%llus)", t->duration_s,
		    (unsigned long long)p->max_duration_s);
		return -1;
	}
	if (t->type != PK_TASK_SENSITIVITY && t->max_bytes > p->max_bytes) {
		snprintf(reason, len, "max_bytes %llu is over [tasks] "
		    "max_bytes (%llu)", (unsigned long long)t->max_bytes,
		    (unsigned long long)p->max_bytes);
		return -1;
	}
	if (t->type == PK_TASK_PCAP &&
	    check_filter(p, t->filter, reason, len) != 0)
		return -1;
	return 0;
}

int
pk_task_policy_room(const struct pk_task_policy *p,
    const struct pk_task_spec *t, uint64_t running, uint64_t disk_bytes,
    char *reason, size_t len)
{
	if (running >= p->max_concurrent) {
		snprintf(reason, len, "%llu tasks already running ([tasks] "
		    "max_concurrent %llu)", (unsigned long long)running,
		    (unsigned long long)p->max_concurrent);
		return -1;
	}
	if (disk_bytes + t->max_bytes > p->max_disk) {
		snprintf(reason, len, "task files would pass [tasks] max_disk "
		    "(%llu bytes held, %llu asked, %llu allowed)",
		    (unsigned long long)disk_bytes,
		    (unsigned long long)t->max_bytes,
		    (unsigned long long)p->max_disk);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------ status file */

size_t
pk_task_status_encode(const struct pk_task_status *s, char *out, size_t cap)
{
	char reason[PK_TASK_REASON_MAX + 1];
	size_t i;
	int n;

	pk_strlcpy(reason, s->reason, sizeof(reason));
	for (i = 0; reason[i] != '\0'; i++)
		if ((unsigned char)reason[i] < 0x20 ||
		    (unsigned char)reason[i] > 0x7e)
			reason[i] = '?';
	n = snprintf(out, cap, "state=%s\nbytes=%llu\nrows=%llu\nreason=%s\n",
	    pk_task_state_name(s->state), (unsigned long long)s->bytes,
	    (unsigned long long)s->rows, reason);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	return (size_t)n;
}

/* "key=" at *p, then the value up to '\n' (exclusive) into val. */
static int
take_line(const char **p, const char *end, const char *key, char *val,
    size_t vcap)
{
	size_t klen = strlen(key), n;
	const char *nl;

	if ((size_t)(end - *p) < klen + 1 || memcmp(*p, key, klen) != 0 ||
	    (*p)[klen] != '=')
		return -1;
	*p += klen + 1;
	if ((nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		return -1;
	n = (size_t)(nl - *p);
	if (n >= vcap)
		return -1;
	memcpy(val, *p, n);
	val[n] = '\0';
	if (strlen(val) != n)
		return -1;		/* a NUL inside */
	*p = nl + 1;
	return 0;
}

static int
num(const char *s, uint64_t *v)
{
	const char *err;

	/* decimal only: no sign, no leading zeros, no hex */
	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0') ||
	    s[0] < '0' || s[0] > '9')
		return -1;
	return pk_parse_u64(s, 0, UINT64_MAX, v, &err);
}

int
pk_task_status_decode(const char *buf, size_t len, struct pk_task_status *s)
{
	const char *p = buf, *end = buf + len;
	char v[PK_TASK_REASON_MAX + 1];
	size_t i;

	if (len > PK_TSTATUS_MAX)
		return -1;
	memset(s, 0, sizeof(*s));
	if (take_line(&p, end, "state", v, 16) != 0)
		return -1;
	s->state = pk_task_state_parse(v);
	if (s->state != PK_TS_RUNNING && s->state != PK_TS_DONE &&
	    s->state != PK_TS_FAILED && s->state != PK_TS_REFUSED &&
	    s->state != PK_TS_CANCELLED)
		return -1;
	if (take_line(&p, end, "bytes", v, 24) != 0 || num(v, &s->bytes) != 0 ||
	    take_line(&p, end, "rows", v, 24) != 0 || num(v, &s->rows) != 0 ||
	    take_line(&p, end, "reason", s->reason, sizeof(s->reason)) != 0 ||
	    p != end)
		return -1;
	for (i = 0; s->reason[i] != '\0'; i++)
		if ((unsigned char)s->reason[i] < 0x20 ||
		    (unsigned char)s->reason[i] > 0x7e)
			return -1;
	if (s->bytes > PK_TASK_BYTES_MAX || s->rows > PK_TASK_PACKETS_MAX)
		return -1;
	return 0;
}

int
pk_task_file_id(const char *name, uint64_t *id, const char **ext)
{
	uint64_t v = 0;
	size_t i;

	if (name[0] < '1' || name[0] > '9')
		return -1;
	for (i = 0; name[i] >= '0' && name[i] <= '9'; i++) {
		if (i >= 19)
			return -1;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (name[i] != '.' || v >= (1ULL << 63))
		return -1;
	*id = v;
	*ext = name + i + 1;
	return 0;
}
