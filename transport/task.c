/*
 * task.c - the task specification of task.h: a strict parser over the
 * bounded JSON reader (hub/jsonread.c) and a canonical writer over
 * common/json.c.  Every key is looked at once while walking the object,
 * so an unknown or repeated key is caught, and every value is checked
 * against its type's range before anything is kept.  Portable.
 */
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "common/netaddr.h"
#include "common/util.h"
#include "hub/jsonread.h"
#include "transport/task.h"

static const char *const type_names[PK_TASK_NTYPES] = {
	[PK_TASK_PCAP] = "pcap",
	[PK_TASK_PROC_TRACE] = "proc_trace",
	[PK_TASK_IOC_SWEEP] = "ioc_sweep",
	[PK_TASK_SENSITIVITY] = "sensitivity",
	[PK_TASK_SNAPSHOT] = "snapshot",
};

static const char *const state_names[PK_TS_NSTATES] = {
	[PK_TS_QUEUED] = "queued",
	[PK_TS_SENT] = "sent",
	[PK_TS_RUNNING] = "running",
	[PK_TS_DONE] = "done",
	[PK_TS_FAILED] = "failed",
	[PK_TS_REFUSED] = "refused",
	[PK_TS_EXPIRED] = "expired",
	[PK_TS_CANCELLED] = "cancelled",
};

/* Keys, as bits, to know which were seen and which a type allows. */
enum {
	K_TYPE = 1 << 0, K_DURATION = 1 << 1, K_MAX_BYTES = 1 << 2,
	K_MAX_PACKETS = 1 << 3, K_MAX_ROWS = 1 << 4, K_FILTER = 1 << 5,
	K_PID = 1 << 6, K_EXE = 1 << 7, K_FACTOR = 1 << 8,
	K_ADDRESSES = 1 << 9, K_DOMAINS = 1 << 10, K_HASHES = 1 << 11,
};

static const struct {
	const char	*name;
	int		 bit;
} keys[] = {
	{ "type", K_TYPE }, { "duration", K_DURATION },
	{ "max_bytes", K_MAX_BYTES }, { "max_packets", K_MAX_PACKETS },
	{ "max_rows", K_MAX_ROWS }, { "filter", K_FILTER }, { "pid", K_PID },
	{ "exe", K_EXE }, { "factor", K_FACTOR },
	{ "addresses", K_ADDRESSES }, { "domains", K_DOMAINS },
	{ "hashes", K_HASHES },
};

/* What each type takes; duration is required where it is allowed. */
static const int allowed[PK_TASK_NTYPES] = {
	[PK_TASK_PCAP] = K_TYPE | K_DURATION | K_MAX_BYTES | K_MAX_PACKETS |
	    K_FILTER,
	[PK_TASK_PROC_TRACE] = K_TYPE | K_DURATION | K_MAX_BYTES | K_MAX_ROWS |
	    K_PID | K_EXE,
	[PK_TASK_IOC_SWEEP] = K_TYPE | K_MAX_BYTES | K_MAX_ROWS |
	    K_ADDRESSES | K_DOMAINS | K_HASHES,
	[PK_TASK_SENSITIVITY] = K_TYPE | K_DURATION | K_FACTOR,
	[PK_TASK_SNAPSHOT] = K_TYPE | K_MAX_BYTES | K_MAX_ROWS,
};

const char *
pk_task_type_name(int type)
{
	return type > 0 && type < PK_TASK_NTYPES ? type_names[type] : "?";
}

int
pk_task_type_parse(const char *s)
{
	int i;

	for (i = 1; i < PK_TASK_NTYPES; i++)
		if (strcmp(s, type_names[i]) == 0)
			return i;
	return 0;
}

const char *
pk_task_state_name(int state)
{
	return state > 0 && state < PK_TS_NSTATES ? state_names[state] : "?";
}

int
pk_task_state_parse(const char *s)
{
	int i;

	for (i = 1; i < PK_TS_NSTATES; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return 0;
}

int
pk_task_state_final(int state)
{
	return state == PK_TS_DONE || state == PK_TS_FAILED ||
	    state == PK_TS_REFUSED || state == PK_TS_EXPIRED ||
	    state == PK_TS_CANCELLED;
}

/* ------------------------------------------------------------ checks */

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* A domain as DNS writes it (a trailing dot allowed). */
static int
domain_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PK_TASK_NAME_MAX)
		return 0;
	if (s[n - 1] == '.')
		n--;
	return pk_hostname_ok((const uint8_t *)s, n);
}

static int
sha256_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return i == 64;
}

/* An absolute path without "." or ".." components. */
static int
path_ok(const char *s)
{
	const char *p;

	if (s[0] != '/' || !printable(s))
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		if ((p[1] == '.' && (p[2] == '/' || p[2] == '\0')) ||
		    (p[1] == '.' && p[2] == '.' && (p[3] == '/' ||
		    p[3] == '\0')))
			return 0;
	}
	return 1;
}

static int
get_u64(const struct pk_jr_val *v, uint64_t lo, uint64_t hi, uint64_t *out,
    const char *key, char *err, size_t errlen)
{
	int64_t x;

	if (pk_jr_int(v, (int64_t)lo, (int64_t)hi, &x) == -1) {
		snprintf(err, errlen, "%s: want a whole number in %llu..%llu",
		    key, (unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	*out = (uint64_t)x;
	return 0;
}

static int
get_str(const struct pk_jr_val *v, char *out, size_t cap, const char *key,
    char *err, size_t errlen)
{
	if (pk_jr_string(v, out, cap) == -1 || !printable(out)) {
		snprintf(err, errlen, "%s: want a string of printable ASCII, "
		    "at most %zu bytes", key, cap - 1);
		return -1;
	}
	return 0;
}

/* Check one ioc_sweep list; count its entries. */
static int
check_list(const struct pk_jr_val *v, int list, uint32_t *n,
    const char *key, char *err, size_t errlen)
{
	struct pk_jr_iter it;
	struct pk_jr_val e;
	struct pk_cidr c;
	char s[PK_TASK_NAME_MAX + 2];
	int r, ok;

	*n = 0;
	if (pk_jr_iter_init(&it, v) == -1 || v->type != PK_JR_ARRAY) {
		snprintf(err, errlen, "%s: want an array of strings", key);
		return -1;
	}
	while ((r = pk_jr_iter_next(&it, NULL, 0, &e)) == 1) {
		if (*n >= PK_TASK_LIST_MAX) {
			snprintf(err, errlen, "%s: more than %d entries", key,
			    PK_TASK_LIST_MAX);
			return -1;
		}
		if (pk_jr_string(&e, s, sizeof(s)) == -1) {
			snprintf(err, errlen, "%s[%u]: want a string of at "
			    "most %d bytes", key, *n, PK_TASK_NAME_MAX);
			return -1;
		}
		switch (list) {
		case PK_TL_ADDRESS:
			ok = pk_cidr_parse(s, &c) == 0;
			break;
		case PK_TL_DOMAIN:
			ok = domain_ok(s);
			break;
		default:
			ok = sha256_ok(s);
			break;
		}
		if (!ok) {
			snprintf(err, errlen, "%s[%u]: \"%.80s\" is not %s",
			    key, *n, s, list == PK_TL_ADDRESS ?
			    "an address or CIDR" : list == PK_TL_DOMAIN ?
			    "a domain name" : "a SHA-256 in hex");
			return -1;
		}
		(*n)++;
	}
	if (r == -1) {
		snprintf(err, errlen, "%s: malformed array", key);
		return -1;
	}
	return 0;
}

/* One member of the object. */
static int
member(struct pk_task_spec *t, int bit, const char *key,
    const struct pk_jr_val *v, char *err, size_t errlen)
{
	char tname[32];
	uint64_t x;

	switch (bit) {
	case K_TYPE:
		if (pk_jr_string(v, tname, sizeof(tname)) == -1 ||
		    (t->type = pk_task_type_parse(tname)) == 0) {
			snprintf(err, errlen, "type: want one of pcap, "
			    "proc_trace, ioc_sweep, sensitivity, snapshot");
			return -1;
		}
		return 0;
	case K_DURATION:
		if (get_u64(v, 1, PK_TASK_DURATION_MAX, &x, key, err,
		    errlen) == -1)
			return -1;
		t->duration_s = (uint32_t)x;
		return 0;
	case K_MAX_BYTES:
		return get_u64(v, 1, PK_TASK_BYTES_MAX, &t->max_bytes, key,
		    err, errlen);
	case K_MAX_PACKETS:
		return get_u64(v, 1, PK_TASK_PACKETS_MAX, &t->max_packets, key,
		    err, errlen);
	case K_MAX_ROWS:
		return get_u64(v, 1, PK_TASK_ROWS_MAX, &t->max_rows, key, err,
		    errlen);
	case K_FILTER:
		return get_str(v, t->filter, sizeof(t->filter), key, err,
		    errlen);
	case K_PID:
		if (get_u64(v, 1, PK_TASK_PID_MAX, &x, key, err, errlen) == -1)
			return -1;
		t->pid = (uint32_t)x;
		return 0;
	case K_EXE:
		if (get_str(v, t->exe, sizeof(t->exe), key, err, errlen) == -1)
			return -1;
		if (!path_ok(t->exe)) {
			snprintf(err, errlen, "exe: want an absolute path "
			    "without . or .. components");
			return -1;
		}
		return 0;
	case K_FACTOR:
		if (get_u64(v, 10, 100, &x, key, err, errlen) == -1)
			return -1;
		t->factor_pct = (uint32_t)x;
		return 0;
	case K_ADDRESSES:
		return check_list(v, PK_TL_ADDRESS, &t->n_addresses, key, err,
		    errlen);
	case K_DOMAINS:
		return check_list(v, PK_TL_DOMAIN, &t->n_domains, key, err,
		    errlen);
	default:
		return check_list(v, PK_TL_HASH, &t->n_hashes, key, err,
		    errlen);
	}
}

int
pk_task_parse(const char *json, size_t len, struct pk_task_spec *t,
    char *err, size_t errlen)
{
	char key[PK_JR_KEY_MAX + 1];
	struct pk_jr_iter it;
	struct pk_jr_val root, v;
	int seen = 0, bit, r;
	size_t i;

	memset(t, 0, sizeof(*t));
	if (json == NULL || len == 0 || len > PK_TASK_JSON_MAX) {
		snprintf(err, errlen, "task: want 1..%d bytes of JSON",
		    PK_TASK_JSON_MAX);
		return -1;
	}
	if (pk_jr_root(json, len, &root) == -1 || root.type != PK_JR_OBJECT ||
	    pk_jr_iter_init(&it, &root) == -1) {
		snprintf(err, errlen, "task: not one JSON object");
		return -1;
	}
	t->src = json;
	t->srclen = len;
	while ((r = pk_jr_iter_next(&it, key, sizeof(key), &v)) == 1) {
		bit = 0;
		for (i = 0; i < PK_NELEM(keys); i++)
			if (strcmp(key, keys[i].name) == 0)
				bit = keys[i].bit;
		if (bit == 0) {
			/* The key is the sender's: no control bytes in the
			 * reason, which goes to logs and answers. */
			for (i = 0; key[i] != '\0'; i++)
				if ((unsigned char)key[i] < 0x20 ||
				    (unsigned char)key[i] >= 0x7f)
					key[i] = '?';
			snprintf(err, errlen, "unknown key \"%.64s\"", key);
			return -1;
		}
		if (seen & bit) {
			snprintf(err, errlen, "key \"%s\" given twice", key);
			return -1;
		}
		seen |= bit;
		if (member(t, bit, key, &v, err, errlen) == -1)
			return -1;
	}
	if (r == -1) {
		snprintf(err, errlen, "task: malformed JSON object (or a key "
		    "over %d bytes)", PK_JR_KEY_MAX);
		return -1;
	}
	if (!(seen & K_TYPE)) {
		snprintf(err, errlen, "type: missing");
		return -1;
	}
	for (i = 0; i < PK_NELEM(keys); i++)
		if ((seen & keys[i].bit) && !(allowed[t->type] & keys[i].bit)) {
			snprintf(err, errlen, "%s: not a key of a %s task",
			    keys[i].name, pk_task_type_name(t->type));
			return -1;
		}
	if ((allowed[t->type] & K_DURATION) && !(seen & K_DURATION)) {
		snprintf(err, errlen, "duration: missing (seconds, 1..%d)",
		    PK_TASK_DURATION_MAX);
		return -1;
	}
	switch (t->type) {
	case PK_TASK_PROC_TRACE:
		if ((t->pid != 0) == (t->exe[0] != '\0')) {
			snprintf(err, errlen, "proc_trace: want either pid or "
			    "exe");
			return -1;
		}
		break;
	case PK_TASK_IOC_SWEEP:
		if (t->n_addresses + t->n_domains + t->n_hashes == 0) {
			snprintf(err, errlen, "ioc_sweep: want at least one "
			    "address, domain or hash");
			return -1;
		}
		break;
	case PK_TASK_SENSITIVITY:
		if (t->factor_pct == 0)
			t->factor_pct = 50;
		break;
	}
	if (t->type != PK_TASK_SENSITIVITY && t->max_bytes == 0)
		t->max_bytes = PK_TASK_DEF_BYTES;
	if (t->type == PK_TASK_PCAP && t->max_packets == 0)
		t->max_packets = PK_TASK_DEF_PACKETS;
	if ((allowed[t->type] & K_MAX_ROWS) && t->max_rows == 0)
		t->max_rows = PK_TASK_DEF_ROWS;
	return 0;
}

/* ------------------------------------------------------------ lists */

static int
list_each(const struct pk_task_spec *t, const char *name, int list,
    int (*fn)(void *, int, const char *), void *arg)
{
	char s[PK_TASK_NAME_MAX + 2];
	struct pk_jr_iter it;
	struct pk_jr_val v, e;
	int r, rc;

	if (pk_jr_find(t->src, t->srclen, name, &v) != 1 ||
	    pk_jr_iter_init(&it, &v) == -1)
		return 0;
	while ((r = pk_jr_iter_next(&it, NULL, 0, &e)) == 1)
		if (pk_jr_string(&e, s, sizeof(s)) == 0 &&
		    (rc = fn(arg, list, s)) != 0)
			return rc;
	return 0;
}

int
pk_task_ioc_each(const struct pk_task_spec *t,
    int (*fn)(void *arg, int list, const char *entry), void *arg)
{
	int rc;

	if (t->type != PK_TASK_IOC_SWEEP || t->src == NULL)
		return 0;
	if ((rc = list_each(t, "addresses", PK_TL_ADDRESS, fn, arg)) != 0 ||
	    (rc = list_each(t, "domains", PK_TL_DOMAIN, fn, arg)) != 0)
		return rc;
	return list_each(t, "hashes", PK_TL_HASH, fn, arg);
}

/* ------------------------------------------------------------ writing */

struct enc {
	struct json	*j;
	int		 list;
};

static int
enc_entry(void *arg, int list, const char *entry)
{
	struct enc *e = arg;

	if (list == e->list)
		json_str(e->j, NULL, entry, 0);
	return 0;
}

static void
enc_list(struct json *j, const struct pk_task_spec *t, const char *name,
    int list, uint32_t n)
{
	struct enc e = { j, list };

	if (n == 0)
		return;
	json_arr_begin(j, name);
	(void)list_each(t, name, list, enc_entry, &e);
	json_arr_end(j);
}

size_t
pk_task_encode(const struct pk_task_spec *t, char *out, size_t cap)
{
	struct json j;
	long n;

	json_init(&j, out, cap);
	json_obj_begin(&j, NULL);
	json_str(&j, "type", pk_task_type_name(t->type), 0);
	if (allowed[t->type] & K_DURATION)
		json_u64(&j, "duration", t->duration_s);
	switch (t->type) {
	case PK_TASK_PCAP:
		json_str(&j, "filter", t->filter, 0);
		json_u64(&j, "max_packets", t->max_packets);
		break;
	case PK_TASK_PROC_TRACE:
		if (t->pid != 0)
			json_u64(&j, "pid", t->pid);
		else
			json_str(&j, "exe", t->exe, 0);
		break;
	case PK_TASK_IOC_SWEEP:
		enc_list(&j, t, "addresses", PK_TL_ADDRESS, t->n_addresses);
		enc_list(&j, t, "domains", PK_TL_DOMAIN, t->n_domains);
		enc_list(&j, t, "hashes", PK_TL_HASH, t->n_hashes);
		break;
	case PK_TASK_SENSITIVITY:
		json_u64(&j, "factor", t->factor_pct);
		break;
	}
	if (allowed[t->type] & K_MAX_ROWS)
		json_u64(&j, "max_rows", t->max_rows);
	if (allowed[t->type] & K_MAX_BYTES)
		json_u64(&j, "max_bytes", t->max_bytes);
	json_obj_end(&j);
	n = json_finish(&j);
	return n < 0 ? 0 : (size_t)n;
}
