/*
 * task_cli.c - `picket-hub task create|list|show|cancel|fetch`
 * (docs/tasks.md, "Hub"): the command line of targeted collection.  Like
 * `enroll-token` it writes the store directly; a running hub finds a new
 * task or a cancellation within a second (hub/tasks.c polls the store)
 * and sends the TASK frames.  The specification is built from the flags
 * as JSON and checked by the same parser as the API's (pk_task_parse
 * through hub_task_create).  create, cancel and fetch are audited with
 * actor "cli"; the store and the audit rows are hub/cli.c's, shared with
 * the other subcommands.  Called by hub/main.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/pktime.h"
#include "common/util.h"
#include "hub/cli.h"
#include "hub/config.h"
#include "hub/store.h"
#include "hub/tasks.h"

#define LIST_MAX	64	/* --agent, --tag, --address ... */
#define COPY_BUF	(64 * 1024)

enum { O_DB = 500, O_TYPE, O_FILTER, O_DURATION, O_MAXBYTES, O_MAXPKTS,
	O_MAXROWS, O_PID, O_EXE, O_ADDR, O_DOMAIN, O_HASH, O_FACTOR, O_AGENT,
	O_TAG, O_RRULE, O_RFP, O_RIOC, O_SINCE, O_EXPIRES, O_HOST, O_JSON,
	O_LIMIT };

static void
usage(void)
{
	fprintf(stderr,
	    "usage: picket-hub task create --type pcap|proc_trace|ioc_sweep|"
	    "sensitivity|snapshot\n"
	    "           [--filter EXPR] [--duration 60s] [--max-bytes 50M] "
	    "[--max-packets N]\n"
	    "           [--max-rows N] [--pid N | --exe PATH] [--factor PCT]\n"
	    "           [--address A]... [--domain D]... [--hash SHA256]...\n"
	    "           [--agent ID]... [--tag TAG]... [--hosts-reported-rule "
	    "RULE |\n"
	    "           --hosts-reported-fingerprint FP | --hosts-reported-ioc "
	    "VALUE] [--since 1h]\n"
	    "           [--expires 1h] [-c hub.ini | --db PATH]\n"
	    "       picket-hub task list [--limit N] [--json] [-c hub.ini | "
	    "--db PATH]\n"
	    "       picket-hub task show ID [--json] [-c hub.ini | --db PATH]\n"
	    "       picket-hub task cancel ID [-c hub.ini | --db PATH]\n"
	    "       picket-hub task fetch ID --host AGENT -o FILE [-c hub.ini "
	    "| --db PATH]\n");
}

struct opts {
	struct hub_cli_where where;	/* -c, --db */
	const char	*type, *filter, *duration, *max_bytes, *max_packets;
	const char	*max_rows, *pid, *exe, *factor;
	const char	*addrs[LIST_MAX], *domains[LIST_MAX], *hashes[LIST_MAX];
	size_t		 naddrs, ndomains, nhashes;
	const char	*agents[LIST_MAX], *tags[LIST_MAX];
	size_t		 nagents, ntags;
	int		 reported;
	const char	*value, *since, *expires, *host, *out, *limit;
	int		 json;
};

static int
push(const char **v, size_t *n, const char *s, const char *what)
{
	if (*n == LIST_MAX) {
		fprintf(stderr, "picket-hub: at most %d %s\n", LIST_MAX, what);
		return -1;
	}
	v[(*n)++] = s;
	return 0;
}

static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "type", required_argument, NULL, O_TYPE },
		{ "filter", required_argument, NULL, O_FILTER },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "max-bytes", required_argument, NULL, O_MAXBYTES },
		{ "max-packets", required_argument, NULL, O_MAXPKTS },
		{ "max-rows", required_argument, NULL, O_MAXROWS },
		{ "pid", required_argument, NULL, O_PID },
		{ "exe", required_argument, NULL, O_EXE },
		{ "address", required_argument, NULL, O_ADDR },
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "hash", required_argument, NULL, O_HASH },
		{ "factor", required_argument, NULL, O_FACTOR },
		{ "agent", required_argument, NULL, O_AGENT },
		{ "tag", required_argument, NULL, O_TAG },
		{ "hosts-reported-rule", required_argument, NULL, O_RRULE },
		{ "hosts-reported-fingerprint", required_argument, NULL,
		  O_RFP },
		{ "hosts-reported-ioc", required_argument, NULL, O_RIOC },
		{ "since", required_argument, NULL, O_SINCE },
		{ "expires", required_argument, NULL, O_EXPIRES },
		{ "host", required_argument, NULL, O_HOST },
		{ "json", no_argument, NULL, O_JSON },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc = 0;

	memset(o, 0, sizeof(*o));
	o->reported = -1;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:o:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':	o->where.conf = optarg; break;
		case 'o':	o->out = optarg; break;
		case O_DB:	o->where.db = optarg; break;
		case O_TYPE:	o->type = optarg; break;
		case O_FILTER:	o->filter = optarg; break;
		case O_DURATION: o->duration = optarg; break;
		case O_MAXBYTES: o->max_bytes = optarg; break;
		case O_MAXPKTS:	o->max_packets = optarg; break;
		case O_MAXROWS:	o->max_rows = optarg; break;
		case O_PID:	o->pid = optarg; break;
		case O_EXE:	o->exe = optarg; break;
		case O_FACTOR:	o->factor = optarg; break;
		case O_ADDR:
			rc |= push(o->addrs, &o->naddrs, optarg, "addresses");
			break;
		case O_DOMAIN:
			rc |= push(o->domains, &o->ndomains, optarg, "domains");
			break;
		case O_HASH:
			rc |= push(o->hashes, &o->nhashes, optarg, "hashes");
			break;
		case O_AGENT:
			rc |= push(o->agents, &o->nagents, optarg, "agents");
			break;
		case O_TAG:
			rc |= push(o->tags, &o->ntags, optarg, "tags");
			break;
		case O_RRULE:
		case O_RFP:
		case O_RIOC:
			if (o->reported >= 0) {
				fprintf(stderr, "picket-hub: one --hosts-"
				    "reported-* only\n");
				return -1;
			}
			o->reported = ch == O_RRULE ? HUB_REPORTED_RULE :
			    ch == O_RFP ? HUB_REPORTED_FINGERPRINT :
			    HUB_REPORTED_IOC;
			o->value = optarg;
			break;
		case O_SINCE:	o->since = optarg; break;
		case O_EXPIRES:	o->expires = optarg; break;
		case O_HOST:	o->host = optarg; break;
		case O_JSON:	o->json = 1; break;
		case O_LIMIT:	o->limit = optarg; break;
		default:
			return -1;
		}
	}
	return rc == 0 ? 0 : -1;
}

/* ---- create */

static int
set_num(json_t *spec, const char *key, const char *v, int size)
{
	const char *why;
	uint64_t n;
	int rc;

	if (v == NULL)
		return 0;
	if (size == 1)
		rc = pk_parse_size(v, 0, UINT64_MAX / 2, &n, &why);
	else if (size == 2)
		rc = pk_parse_duration(v, 0, UINT64_MAX / 2 / 1000000, &n,
		    &why);
	else
		rc = pk_parse_u64(v, 0, UINT64_MAX / 2, &n, &why);
	if (rc == -1) {
		fprintf(stderr, "picket-hub: --%s %s: %s\n", key, v, why);
		return -1;
	}
	return json_object_set_new(spec, key, json_integer((json_int_t)n));
}

static int
set_list(json_t *spec, const char *key, const char *const *v, size_t n)
{
	json_t *a;
	size_t i;

	if (n == 0)
		return 0;
	if ((a = json_array()) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return json_object_set_new(spec, key, a);
}

/* The flags as a specification; the parser judges it. */
static char *
build_spec(const struct opts *o)
{
	json_t *spec;
	char *s = NULL;

	if ((spec = json_object()) == NULL)
		return NULL;
	json_object_set_new(spec, "type", json_string(o->type));
	if ((o->filter != NULL && json_object_set_new(spec, "filter",
	    json_string(o->filter)) == -1) ||
	    (o->exe != NULL && json_object_set_new(spec, "exe",
	    json_string(o->exe)) == -1) ||
	    set_num(spec, "duration", o->duration, 2) == -1 ||
	    set_num(spec, "max_bytes", o->max_bytes, 1) == -1 ||
	    set_num(spec, "max_packets", o->max_packets, 0) == -1 ||
	    set_num(spec, "max_rows", o->max_rows, 0) == -1 ||
	    set_num(spec, "pid", o->pid, 0) == -1 ||
	    set_num(spec, "factor", o->factor, 0) == -1 ||
	    set_list(spec, "addresses", o->addrs, o->naddrs) == -1 ||
	    set_list(spec, "domains", o->domains, o->ndomains) == -1 ||
	    set_list(spec, "hashes", o->hashes, o->nhashes) == -1) {
		json_decref(spec);
		return NULL;
	}
	s = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	return s;
}

static int
cmd_create(const struct opts *o)
{
	struct hub_task_targets tg;
	struct hub_store *st;
	char err[HUB_TASK_ERR_MAX], target[96], *spec;
	const char *why;
	uint64_t since = 3600, expires = HUB_TASK_EXPIRES_DEF;
	int64_t now = (int64_t)pk_now_us(), id;
	size_t nhosts;
	int rc;

	if (o->type == NULL) {
		fprintf(stderr, "picket-hub: task create: --type is "
		    "required\n");
		return 2;
	}
	if ((o->since != NULL && pk_parse_duration(o->since, 1, 366ULL *
	    86400, &since, &why) == -1) || (o->expires != NULL &&
	    pk_parse_duration(o->expires, 1, HUB_TASK_EXPIRES_MAX, &expires,
	    &why) == -1)) {
		fprintf(stderr, "picket-hub: --since/--expires: %s\n", why);
		return 2;
	}
	if ((spec = build_spec(o)) == NULL)
		return 2;
	memset(&tg, 0, sizeof(tg));
	tg.agents = o->agents;
	tg.nagents = o->nagents;
	tg.tags = o->tags;
	tg.ntags = o->ntags;
	tg.reported = o->reported;
	tg.value = o->value;
	tg.since_s = since;
	tg.since_us = now - (int64_t)since * 1000000;
	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL) {
		free(spec);
		return 1;
	}
	rc = hub_task_create(st, spec, strlen(spec), &tg, now +
	    (int64_t)expires * 1000000, "cli", now, &id, &nhosts, err,
	    sizeof(err));
	if (rc == 0) {
		snprintf(target, sizeof(target), "task %lld (%zu hosts)",
		    (long long)id, nhosts);
		hub_cli_audit(st, "task.create", target, "ok");
		printf("%lld\n", (long long)id);
		fprintf(stderr, "task %lld: %zu host(s)\n", (long long)id,
		    nhosts);
	} else {
		hub_cli_audit(st, "task.create", err, rc == 1 ? "400" :
		    "500");
		fprintf(stderr, "picket-hub: %s\n", err);
	}
	st->ops->close(st);
	free(spec);
	return rc == 0 ? 0 : 1;
}

/* ---- list, show */

static void
print_states(const uint64_t *counts)
{
	int i, first = 1;

	for (i = 1; i < PK_TS_NSTATES; i++) {
		if (counts[i] == 0)
			continue;
		printf("%s%s %llu", first ? "" : ", ", pk_task_state_name(i),
		    (unsigned long long)counts[i]);
		first = 0;
	}
	if (first)
		printf("-");
}

struct list_ctx {
	struct hub_store	*st;
	int			 json;
};

static int
list_row(void *arg, const struct hub_task *t)
{
	struct list_ctx *x = arg;
	uint64_t counts[PK_TS_NSTATES];
	char c[PK_TIMESTRLEN];

	if (x->st->ops->task_counts(x->st, t->id, counts) == -1)
		return 1;
	if (x->json) {
		printf("{\"id\":%lld,\"spec\":%.*s}\n", (long long)t->id,
		    (int)t->spec_len, t->spec);
		return 0;
	}
	printf("%-6lld %-11s %-27s %-16.16s %s ", (long long)t->id,
	    pk_task_type_name(t->type), pk_time_format((uint64_t)t->created_us,
	    c, sizeof(c)), t->created_by, t->cancelled_us != 0 ?
	    "cancelled" : "");
	print_states(counts);
	printf("\n");
	return 0;
}

static int
cmd_list(const struct opts *o)
{
	struct list_ctx x;
	struct hub_store *st;
	const char *why;
	uint64_t limit = 50;
	int rc;

	if (o->limit != NULL && pk_parse_u64(o->limit, 1, 100000, &limit,
	    &why) == -1) {
		fprintf(stderr, "picket-hub: --limit: %s\n", why);
		return 2;
	}
	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	x.st = st;
	x.json = o->json;
	if (!o->json)
		printf("%-6s %-11s %-27s %-16s %s\n", "ID", "TYPE", "CREATED",
		    "BY", "HOSTS");
	rc = st->ops->task_list(st, 0, limit, list_row, &x);
	st->ops->close(st);
	return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

static int
show_task(void *arg, const struct hub_task *t)
{
	const struct opts *o = arg;
	char c[PK_TIMESTRLEN], e[PK_TIMESTRLEN];

	if (o->json) {
		printf("{\"id\":%lld,\"type\":\"%s\",\"spec\":%.*s}\n",
		    (long long)t->id, pk_task_type_name(t->type),
		    (int)t->spec_len, t->spec);
		return 0;
	}
	printf("task %lld: %s\nspec: %.*s\ncreated: %s by %s\nexpires: %s\n"
	    "targets: %s\n", (long long)t->id, pk_task_type_name(t->type),
	    (int)t->spec_len, t->spec, pk_time_format((uint64_t)t->created_us,
	    c, sizeof(c)), t->created_by, pk_time_format(
	    (uint64_t)t->expires_us, e, sizeof(e)), t->targets);
	if (t->cancelled_us != 0)
		printf("cancelled: %s\n", pk_time_format(
		    (uint64_t)t->cancelled_us, c, sizeof(c)));
	printf("%-24s %-9s %12s %10s %-27s %s\n", "AGENT", "STATE", "BYTES",
	    "ROWS", "UPDATED", "REASON");
	return 0;
}

static int
show_host(void *arg, const struct hub_task_host *h)
{
	const struct opts *o = arg;
	json_t *j;
	char u[PK_TIMESTRLEN];
	int rc;

	if (o->json) {
		j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I}", "agent_id",
		    h->agent_id, "state", pk_task_state_name(h->state),
		    "reason", h->reason, "bytes", (json_int_t)h->bytes,
		    "final_bytes", (json_int_t)h->final_bytes, "rows",
		    (json_int_t)h->rows);
		rc = j != NULL && hub_cli_json_line(j, JSON_COMPACT) == 0 ?
		    0 : 1;
		json_decref(j);
		return rc;
	}
	printf("%-24s %-9s %12llu %10llu %-27s %s\n", h->agent_id,
	    pk_task_state_name(h->state), (unsigned long long)h->bytes,
	    (unsigned long long)h->rows, pk_time_format(
	    (uint64_t)h->updated_us, u, sizeof(u)), h->reason);
	return 0;
}

static int64_t
arg_id(int argc, char **argv)
{
	const char *why;
	uint64_t v;

	if (optind + 1 != argc || pk_parse_u64(argv[optind], 1, INT64_MAX,
	    &v, &why) == -1) {
		usage();
		return 0;
	}
	return (int64_t)v;
}

static int
cmd_show(const struct opts *o, int64_t id)
{
	struct hub_store *st;
	int found, rc;

	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	rc = st->ops->task_get(st, id, show_task, (void *)o, &found);
	if (rc == 0 && !found)
		fprintf(stderr, "picket-hub: no task %lld\n", (long long)id);
	else if (rc == 0)
		rc = st->ops->task_hosts(st, id, show_host, (void *)o);
	st->ops->close(st);
	return rc == 0 && found && fflush(stdout) == 0 ? 0 : 1;
}

static int
cmd_cancel(const struct opts *o, int64_t id)
{
	struct hub_store *st;
	char target[64];
	uint64_t changed;
	int found, rc;

	if ((st = hub_cli_open(&o->where, NULL, 0)) == NULL)
		return 1;
	rc = st->ops->task_cancel(st, id, (int64_t)pk_now_us(),
	    "cancelled by cli", &found, &changed);
	snprintf(target, sizeof(target), "task %lld", (long long)id);
	hub_cli_audit(st, "task.cancel", target, rc == -1 ? "500" :
	    found ? "ok" : "404");
	st->ops->close(st);
	if (rc == -1)
		return 1;
	if (!found) {
		fprintf(stderr, "picket-hub: no task %lld\n", (long long)id);
		return 1;
	}
	fprintf(stderr, "task %lld: %llu host(s) cancelled\n", (long long)id,
	    (unsigned long long)changed);
	return 0;
}

/* ---- fetch */

static int
type_row(void *arg, const struct hub_task *t)
{
	*(int *)arg = t->type;
	return 0;
}

/* Copy the first n bytes of in to out. */
static int
copy(int in, int out, uint64_t n)
{
	static uint8_t buf[COPY_BUF];
	ssize_t r, w;
	size_t off;

	while (n > 0) {
		r = read(in, buf, (size_t)PK_MIN(n, (uint64_t)sizeof(buf)));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		for (off = 0; off < (size_t)r; off += (size_t)w) {
			w = write(out, buf + off, (size_t)r - off);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0)
				return -1;
		}
		n -= (uint64_t)r;
	}
	return 0;
}

static int
cmd_fetch(const struct opts *o, int64_t id)
{
	struct hub_task_host h;
	struct hub_store *st;
	char dir[HUB_PATH_MAX], path[HUB_PATH_MAX + 256], target[128];
	int found = 0, type = 0, in = -1, out = -1, rc = 1;

	if (o->host == NULL || o->out == NULL) {
		usage();
		return 2;
	}
	if ((st = hub_cli_open(&o->where, dir, sizeof(dir))) == NULL)
		return 1;
	snprintf(target, sizeof(target), "task %lld host %.64s",
	    (long long)id, o->host);
	if (st->ops->task_get(st, id, type_row, &type, &found) == -1 ||
	    (found && st->ops->task_host_get(st, id, o->host, &h, &found) ==
	    -1)) {
		found = -1;
	} else if (!found) {
		fprintf(stderr, "picket-hub: task %lld has no host %s\n",
		    (long long)id, o->host);
	} else if (h.bytes == 0) {
		fprintf(stderr, "picket-hub: task %lld on %s has no result "
		    "bytes (%s)\n", (long long)id, o->host,
		    pk_task_state_name(h.state));
	} else if (hub_task_result_path(dir, id, h.agent_id, type, path,
	    sizeof(path)) == -1 || (in = open(path, O_RDONLY | O_CLOEXEC)) ==
	    -1) {
		fprintf(stderr, "picket-hub: %s: %s\n", path, strerror(errno));
	} else if (strcmp(o->out, "-") == 0 ? (out = STDOUT_FILENO) < 0 :
	    (out = open(o->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1) {
		fprintf(stderr, "picket-hub: %s: %s\n", o->out,
		    strerror(errno));
	} else if (copy(in, out, h.bytes) == -1) {
		fprintf(stderr, "picket-hub: copying %s: %s\n", path,
		    strerror(errno));
	} else {
		rc = 0;
		if (h.state != PK_TS_DONE)
			fprintf(stderr, "picket-hub: task %lld on %s is %s: "
			    "%llu bytes so far\n", (long long)id, o->host,
			    pk_task_state_name(h.state),
			    (unsigned long long)h.bytes);
	}
	if (in != -1)
		close(in);
	if (out != -1 && out != STDOUT_FILENO && close(out) == -1)
		rc = 1;
	hub_cli_audit(st, "task.download", target, rc == 0 ? "ok" :
	    found == -1 ? "500" : "404");
	st->ops->close(st);
	return rc;
}

int
hub_cmd_task(int argc, char **argv)
{
	struct opts o;
	const char *sub;
	int64_t id;

	if (argc < 2) {
		usage();
		return 2;
	}
	sub = argv[1];
	if (parse(argc, argv, &o) == -1) {
		usage();
		return 2;
	}
	if (strcmp(sub, "create") == 0) {
		if (optind != argc) {
			usage();
			return 2;
		}
		return cmd_create(&o);
	}
	if (strcmp(sub, "list") == 0)
		return optind == argc ? cmd_list(&o) : (usage(), 2);
	if (strcmp(sub, "show") != 0 && strcmp(sub, "cancel") != 0 &&
	    strcmp(sub, "fetch") != 0) {
		usage();
		return 2;
	}
	if ((id = arg_id(argc, argv)) == 0)
		return 2;
	if (strcmp(sub, "show") == 0)
		return cmd_show(&o, id);
	if (strcmp(sub, "cancel") == 0)
		return cmd_cancel(&o, id);
	return cmd_fetch(&o, id);
}
