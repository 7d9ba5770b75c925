/*
 * main.c - picket-hub's command line.  Subcommands:
 *   serve -c hub.ini        open the store, apply retention (then hourly)
 *                           and serve agents over TLS (hub/listener.c)
 *                           and the HTTPS API (hub/api.c) on one libevent
 *                           loop in the foreground until SIGTERM/SIGINT;
 *                           SIGUSR1 logs the counters (docs/hub.md)
 *   token create|list|revoke  API bearer tokens (docs/api.md), audited
 *   ca, enroll-token, agent   the member CA, enrollment tokens and
 *                           enrolled agents (hub/enroll_cli.c,
 *                           docs/enrollment.md), audited
 *   task create|list|show|cancel|fetch  targeted collection
 *                           (hub/task_cli.c, docs/tasks.md), audited
 *   incident list|show|create|link|note|set|report  incidents and
 *                           after-action reports (hub/incident_cli.c,
 *                           docs/incidents.md), audited
 *   peer add|list|show|set|remove  member hubs this one shares with
 *                           (hub/peer_cli.c, docs/peering.md), audited
 *   bundle list|show|rollback  the approved shared indicators as bundles
 *                           for the agents (hub/bundle_cli.c), audited
 *   indicators [filters]    print stored indicators (table or NDJSON)
 *   import FILE --agent ID  feed an NDJSON file (as `picketd -r` prints)
 *                           through the BATCH path the network uses
 *   version
 * The store is data_dir/hub.db from -c hub.ini, or --db PATH.  Only the
 * user (and tests) call this.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "hub/api.h"
#include "hub/auth.h"
#include "hub/bundles.h"
#include "hub/cli.h"
#include "hub/config.h"
#include "hub/enroll.h"
#include "hub/incidents.h"
#include "hub/ingest.h"
#include "hub/listener.h"
#include "hub/peering.h"
#include "hub/stix.h"
#include "hub/store.h"
#include "hub/tasks.h"
#include "transport/batch.h"
#include "transport/frame.h"

#ifndef PICKET_VERSION
#define PICKET_VERSION "0.0.0"
#endif

#define HUB_DEFAULT_CONF	"/etc/picket/hub.ini"
#define HUB_DB_NAME		"hub.db"
#define IMPORT_FILE_MAX		(512u * 1024u * 1024u)
#define IMPORT_BATCH_RECORDS	1000u
#define IMPORT_BATCH_RAW	(512u * 1024u)	/* deflated fits a frame */
#define RETENTION_CHUNK		5000u
#define RETENTION_EVERY_US	(3600ULL * PK_USEC)
#define STOP_GRACE_MS		2000	/* to flush ERROR SHUTDOWN */

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: picket-hub serve [-fv] [-c hub.ini]\n"
	    "       picket-hub indicators [-c hub.ini | --db PATH] "
	    "[--host H] [--since DURATION]\n"
	    "                  [--kind K] [--rule R] [--limit N] [--json]\n"
	    "       picket-hub import FILE --agent ID [-c hub.ini | --db PATH] "
	    "[--host-name NAME]\n"
	    "                  [--first-seq N]\n"
	    "       picket-hub token create --role viewer|responder|admin "
	    "--name NAME\n"
	    "                  [-c hub.ini | --db PATH]\n"
	    "       picket-hub token list [-c hub.ini | --db PATH]\n"
	    "       picket-hub token revoke NAME [-c hub.ini | --db PATH]\n"
	    "       picket-hub ca init|import ...        the member CA "
	    "(docs/enrollment.md)\n"
	    "       picket-hub enroll-token create|list|revoke ... [-c "
	    "hub.ini]\n"
	    "       picket-hub agent list|revoke ID [-c hub.ini]\n"
	    "       picket-hub task create|list|show|cancel|fetch ...  "
	    "targeted collection\n"
	    "       picket-hub incident list|show|create|link|note|set|"
	    "report ...  incidents\n"
	    "       picket-hub peer add|list|show|set|remove ...  member "
	    "hubs (docs/peering.md)\n"
	    "       picket-hub bundle list|show|rollback ...  bundles for "
	    "the agents\n"
	    "       picket-hub version\n");
}

/* The database path: --db wins, else data_dir/hub.db of the config. */
static int
db_path(const char *conf, const char *db, char *out, size_t cap,
    struct hub_config *c)
{
	int n;

	if (conf == NULL && db != NULL) {
		hub_config_defaults(c);
	} else if (hub_config_load(c, conf != NULL ? conf : HUB_DEFAULT_CONF,
	    stderr) == -1)
		return -1;
	if (db != NULL)
		n = snprintf(out, cap, "%s", db);
	else
		n = snprintf(out, cap, "%s/%s", c->data_dir, HUB_DB_NAME);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "picket-hub: database path too long\n");
		return -1;
	}
	return 0;
}

/* --db (a SQLite file) or the configuration's store ([store]). */
static struct hub_store *
store_open(const struct hub_config *c, const char *db)
{
	return hub_cli_store(c, db);
}

/* Delete indicators older than retention_days, a chunk per transaction;
 * with several hubs on one database only the one that leads the job. */
static int
retention(struct hub_store *st, uint64_t days)
{
	uint64_t deleted = 0;
	int mine = 0;

	if (days == 0)
		return 0;
	if (st->ops->lead(st, HUB_LEAD_RETENTION, &mine) == -1)
		return -1;
	if (!mine)
		return 0;
	if (st->ops->retention(st, (int64_t)pk_now_us() - (int64_t)(days *
	    86400) * 1000000, RETENTION_CHUNK, &deleted) == -1) {
		log_warnx("retention failed");
		return -1;
	}
	if (deleted > 0)
		log_info("retention: deleted %llu indicators older than "
		    "%llu days", (unsigned long long)deleted,
		    (unsigned long long)days);
	return 0;
}

static void
print_counters(struct hub_listener *l, struct hub_ingest *in,
    struct hub_tasks *t, struct hub_peering *p, struct hub_bundles *b)
{
	log_info("counters");
	if (b != NULL)
		hub_bundles_print(b, stderr);
	if (t != NULL)
		hub_tasks_print(t, stderr);
	if (p != NULL)
		hub_peering_print(p, stderr);
	hub_counters_print(hub_listener_counters(l), &in->stats, stderr);
}

/* What the loop's signal and timer callbacks need. */
struct serve_ctx {
	struct event_base	*base;
	struct hub_config	*c;
	struct hub_store	*st;
	struct hub_ingest	*in;
	struct hub_listener	*l;
	struct hub_tasks	*tasks;
	struct hub_peering	*peering;
	struct hub_bundles	*bundles;
	/* [sharing] for the bundles peers get (the API loads its own) */
	struct hub_sharing	 sharing;
	char			 share_name[PK_HUB_ID_MAX + 1];
};

/* SIGTERM/SIGINT end the loop; libevent turns signals into events, so
 * the handler never runs inside our code. */
static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct serve_ctx *x = arg;

	(void)what;
	log_info("signal %d", (int)sig);
	event_base_loopbreak(x->base);
}

static void
on_usr1(evutil_socket_t sig, short what, void *arg)
{
	struct serve_ctx *x = arg;

	(void)sig;
	(void)what;
	print_counters(x->l, x->in, x->tasks, x->peering, x->bundles);
}

static void
on_retention(evutil_socket_t fd, short what, void *arg)
{
	struct serve_ctx *x = arg;

	(void)fd;
	(void)what;
	(void)retention(x->st, x->c->retention_days);
}


/*
 * The loop.  Two priorities: the API's connections (0) before the agents'
 * (1), and after 10 ms or 8 agent callbacks the loop looks for new events
 * again, so a person waiting on the UI waits for one batch commit at most,
 * not for every agent's that was ready.
 */
static struct event_base *
new_base(void)
{
	struct event_config *cfg;
	struct event_base *b;
	struct timeval tv = { 0, 10 * 1000 };

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	(void)event_config_set_max_dispatch_interval(cfg, &tv, 8, 1);
	b = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (b != NULL && event_base_priority_init(b, HUB_PRIO_LEVELS) != 0) {
		event_base_free(b);
		return NULL;
	}
	return b;
}

/*
 * One descriptor per agent connection: take the hard limit on open files
 * (a unit file sets it: LimitNOFILE), and say when it cannot hold
 * max_connections, so a full hub is explained rather than mysterious.
 */
static void
raise_nofile(const struct hub_config *c)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < c->max_connections + 64)
		log_warnx("open files limited to %llu: at most about %llu "
		    "agents (max_connections %llu); raise LimitNOFILE",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)(rl.rlim_cur > 64 ?
		    rl.rlim_cur - 64 : 0),
		    (unsigned long long)c->max_connections);
}

/* The current bundle moved: the listener offers it to its agents. */
static void
bundles_changed(void *arg)
{
	hub_listener_bundle_changed(arg);
}

static int
serve_loop(struct hub_config *c, struct hub_store *st, struct hub_ingest *in)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1 };
	struct event *sev[PK_NELEM(sigs)] = { NULL }, *ret = NULL;
	struct timeval hourly = { (time_t)(RETENTION_EVERY_US / PK_USEC), 0 };
	struct serve_ctx x;
	struct hub_api *api = NULL;
	struct sigaction sa;
	sigset_t block;
	size_t i;
	int rc = 1;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;	/* OpenSSL writes to closed sockets */
	if (sigaction(SIGPIPE, &sa, NULL) == -1) {
		log_warn("signals");
		return 1;
	}
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.st = st;
	x.in = in;
	if ((x.base = new_base()) == NULL) {
		log_warnx("event_base_new failed");
		return 1;
	}
	raise_nofile(c);
	if ((x.l = hub_listener_new(c, in, x.base)) == NULL)
		goto out;
	if ((x.tasks = hub_tasks_new(c, st, x.base)) == NULL)
		goto out;
	hub_tasks_set_listener(x.tasks, x.l);
	hub_listener_set_tasks(x.l, x.tasks);
	/* Bundles of approved shared indicators: CONFIG frames (v2). */
	if ((x.bundles = hub_bundles_new(c, st, x.base)) == NULL)
		goto out;
	hub_bundles_set_notify(x.bundles, bundles_changed, x.l);
	hub_listener_set_bundles(x.l, x.bundles);
	for (i = 0; i < PK_NELEM(sigs); i++) {
		sev[i] = evsignal_new(x.base, sigs[i], sigs[i] == SIGUSR1 ?
		    on_usr1 : on_stop, &x);
		if (sev[i] == NULL || event_add(sev[i], NULL) == -1) {
			log_warnx("signal events");
			goto out;
		}
	}
	if ((ret = event_new(x.base, -1, EV_PERSIST, on_retention, &x)) ==
	    NULL || event_add(ret, &hourly) == -1) {
		log_warnx("retention timer");
		goto out;
	}
	if (c->api_listen[0] != '\0') {
		if ((api = hub_api_new(c, x.base, st, in, x.l)) == NULL)
			goto out;
		hub_api_set_tasks(api, x.tasks);
		hub_api_set_bundles(api, x.bundles);
		log_info("API listening on %s", c->api_listen);
	}
	/* Peering runs even with no listener and no peer yet: `picket-hub
	 * peer add` then applies without a restart (docs/peering.md). */
	if (hub_api_sharing_load(&x.sharing, x.share_name,
	    sizeof(x.share_name), c) == -1 || (x.peering = hub_peering_new(c,
	    st, x.base, &x.sharing)) == NULL)
		goto out;
	if (api != NULL)
		hub_api_set_peering(api, x.peering);
	log_info("listening on %s", c->listen);
	rc = event_base_dispatch(x.base) == -1 ? 1 : 0;
	/* From here on a second SIGTERM (or a late SIGUSR1) stays pending
	 * instead of killing the hub in its graceful stop. */
	sigemptyset(&block);
	for (i = 0; i < PK_NELEM(sigs); i++)
		sigaddset(&block, sigs[i]);
	(void)sigprocmask(SIG_BLOCK, &block, NULL);
	log_info("stopping");
	/* The API first: no request may read the listener as it stops. */
	hub_api_free(api);
	api = NULL;
	hub_listener_stop(x.l, STOP_GRACE_MS);
	print_counters(x.l, in, x.tasks, x.peering, x.bundles);
out:
	hub_api_free(api);
	hub_peering_free(x.peering);
	if (x.l != NULL) {
		hub_listener_set_tasks(x.l, NULL);
		hub_listener_set_bundles(x.l, NULL);
	}
	hub_listener_free(x.l);
	hub_tasks_free(x.tasks);
	hub_bundles_free(x.bundles);
	if (ret != NULL)
		event_free(ret);
	for (i = 0; i < PK_NELEM(sigs); i++)
		if (sev[i] != NULL)
			event_free(sev[i]);
	event_base_free(x.base);
	return rc;
}

static int
cmd_serve(int argc, char **argv)
{
	struct pk_batch_limits lim;
	struct hub_ingest in;
	struct hub_config c;
	struct hub_store *st;
	const char *conf = NULL;
	char path[HUB_PATH_MAX + 16];
	int ch, verbose = 0, rc;

	while ((ch = getopt(argc, argv, "c:fv")) != -1) {
		switch (ch) {
		case 'c':	conf = optarg; break;
		case 'f':	break;	/* always in the foreground */
		case 'v':	verbose = 1; break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (db_path(conf, NULL, path, sizeof(path), &c) == -1)
		return 1;
	log_setlevel(verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (mkdir(c.data_dir, 0750) == -1 && errno != EEXIST) {
		log_warn("%s", c.data_dir);
		return 1;
	}
	if ((st = store_open(&c, NULL)) == NULL)
		return 1;
	if (retention(st, c.retention_days) == -1) {
		st->ops->close(st);
		return 1;
	}
	lim.max_records = (uint32_t)c.max_batch_records;
	lim.max_raw = (uint32_t)c.max_batch_bytes;
	if (hub_ingest_init(&in, st, &lim) == -1) {
		log_warnx("ingest: out of memory");
		st->ops->close(st);
		return 1;
	}
	/* never the dsn: it may hold a password */
	log_info("store %s open", strcmp(c.store_backend, "postgresql") == 0 ?
	    "postgresql ([store] dsn)" : path);
	if (hub_enroll_init(&c) == -1) {
		hub_ingest_free(&in);
		st->ops->close(st);
		return 1;
	}
	rc = serve_loop(&c, st, &in);
	hub_enroll_free();
	hub_ingest_free(&in);
	st->ops->close(st);
	return rc;
}

static int
print_row(void *arg, const struct hub_indicator *d)
{
	const int *json = arg;
	char port[16] = "";

	if (*json) {
		fwrite(d->json, 1, d->json_len, stdout);
		putchar('\n');
		return 0;
	}
	if (d->destination_port >= 0)
		snprintf(port, sizeof(port), ":%d", d->destination_port);
	printf("%-27s %-16.16s %6llu %-32.32s %3d %-15s %s%s %llu\n",
	    d->timestamp, d->agent_id, (unsigned long long)d->seq,
	    d->rule_id, d->severity, d->source_ip[0] ? d->source_ip : "-",
	    d->destination_ip[0] ? d->destination_ip : "-", port,
	    (unsigned long long)d->count);
	return 0;
}

enum { O_DB = 256, O_HOST, O_SINCE, O_KIND, O_RULE, O_JSON, O_LIMIT,
	O_AGENT, O_HOSTNAME, O_FIRSTSEQ };

static int
cmd_indicators(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "host", required_argument, NULL, O_HOST },
		{ "since", required_argument, NULL, O_SINCE },
		{ "kind", required_argument, NULL, O_KIND },
		{ "rule", required_argument, NULL, O_RULE },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "json", no_argument, NULL, O_JSON },
		{ NULL, 0, NULL, 0 },
	};
	struct hub_query q = { 0 };
	struct hub_config c;
	struct hub_store *st;
	const char *conf = NULL, *db = NULL, *err;
	char path[HUB_PATH_MAX + 16];
	uint64_t v;
	int ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':	conf = optarg; break;
		case O_DB:	db = optarg; break;
		case O_HOST:	q.host = optarg; break;
		case O_KIND:	q.kind = optarg; break;
		case O_RULE:	q.rule = optarg; break;
		case O_JSON:	json = 1; break;
		case O_SINCE:
			if (pk_parse_duration(optarg, 1, 100ULL * 365 * 86400,
			    &v, &err) == -1) {
				fprintf(stderr, "picket-hub: --since %s: %s\n",
				    optarg, err);
				return 2;
			}
			q.since_us = (int64_t)pk_now_us() - (int64_t)v * 1000000;
			break;
		case O_LIMIT:
			if (pk_parse_u64(optarg, 1, UINT32_MAX, &q.limit,
			    &err) == -1) {
				fprintf(stderr, "picket-hub: --limit %s: %s\n",
				    optarg, err);
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (db_path(conf, db, path, sizeof(path), &c) == -1)
		return 1;
	if ((st = store_open(&c, db)) == NULL)
		return 1;
	if (!json)
		printf("%-27s %-16s %6s %-32s %3s %-15s %s %s\n", "TIME",
		    "AGENT", "SEQ", "RULE", "SEV", "SOURCE", "DESTINATION",
		    "COUNT");
	rc = st->ops->query(st, &q, print_row, &json);
	st->ops->close(st);
	return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

struct importer {
	struct hub_ingest	 in;
	const char		*agent;
	uint8_t			*data;		/* batch payload data */
	uint8_t			*frame;		/* encoded frame */
	uint8_t			*decbuf;	/* frame decoder's buffer */
	uint64_t		 ack;
	uint64_t		 frames;
};

/* Build, frame, decode and ingest recs[0..n): exactly the network path
 * after TLS.  On PK_BE_SPACE send the two halves. */
static int
import_batch(struct importer *im, struct pk_batch_rec *recs, uint32_t n)
{
	struct pk_batch_hdr hdr;
	struct pk_frame_dec dec;
	struct pk_frame f;
	const uint8_t *p;
	size_t dlen, flen, left;
	uint64_t ack;
	uint32_t added;
	uint16_t werr;
	int rc;

	rc = pk_batch_build(recs, n, PK_DICT_CURRENT, PK_BATCH_LEVEL,
	    im->data, PK_FRAME_MAX_PAYLOAD - PK_BATCH_FIXED, &hdr, &dlen);
	if (rc == PK_BE_SPACE && n > 1)
		return import_batch(im, recs, n / 2) == 0 &&
		    import_batch(im, recs + n / 2, n - n / 2) == 0 ? 0 : -1;
	if (rc != PK_BE_OK) {
		fprintf(stderr, "picket-hub: batch at seq %llu: %s\n",
		    (unsigned long long)recs[0].seq, pk_batch_strerror(rc));
		return -1;
	}
	if (pk_batch_encode_frame(&hdr, im->data, dlen, im->frame,
	    PK_FRAME_HDR + PK_FRAME_MAX_PAYLOAD, &flen) != PK_FE_OK)
		return -1;
	pk_frame_dec_init(&dec, im->decbuf, PK_FRAME_MAX_PAYLOAD);
	p = im->frame;
	left = flen;
	if (pk_frame_dec_next(&dec, &p, &left, &f) != 1 || left != 0) {
		fprintf(stderr, "picket-hub: frame: %s\n",
		    pk_frame_strerror(dec.err));
		return -1;
	}
	if (hub_ingest_batch(&im->in, im->agent, &f, (int64_t)pk_now_us(),
	    &ack, &added, &werr) == -1) {
		fprintf(stderr, "picket-hub: batch at seq %llu refused "
		    "(ERROR %u)\n", (unsigned long long)recs[0].seq, werr);
		return -1;
	}
	im->ack = ack;
	im->frames++;
	return 0;
}

/* Split buf into lines and send them in batches, seq from first. */
static int
import_lines(struct importer *im, char *buf, size_t len, uint64_t first)
{
	struct pk_batch_rec *recs;
	size_t pos = 0, raw = 0;
	uint32_t n = 0;
	uint64_t seq = first;
	int rc = 0;

	if ((recs = calloc(IMPORT_BATCH_RECORDS, sizeof(*recs))) == NULL)
		return -1;
	while (pos < len && rc == 0) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;

		if (l > 0 && buf[pos + l - 1] == '\r')
			l--;
		if (l > 0) {
			if (n > 0 && (n == IMPORT_BATCH_RECORDS ||
			    raw + l + 1 > IMPORT_BATCH_RAW)) {
				rc = import_batch(im, recs, n);
				n = 0;
				raw = 0;
			}
			recs[n].seq = seq++;
			recs[n].data = buf + pos;
			recs[n].len = l;
			raw += l + 1;
			n++;
		}
		pos += (nl != NULL ? (size_t)(nl - (buf + pos)) + 1 : len - pos);
	}
	if (rc == 0 && n > 0)
		rc = import_batch(im, recs, n);
	free(recs);
	return rc;
}

static int
cmd_import(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "agent", required_argument, NULL, O_AGENT },
		{ "host-name", required_argument, NULL, O_HOSTNAME },
		{ "first-seq", required_argument, NULL, O_FIRSTSEQ },
		{ NULL, 0, NULL, 0 },
	};
	struct importer im;
	struct hub_config c;
	struct hub_store *st;
	const char *conf = NULL, *db = NULL, *host = NULL, *err;
	const char *file;
	char path[HUB_PATH_MAX + 16], why[HUB_PATH_MAX + 64];
	char *buf;
	size_t len;
	uint64_t first = 1, stored_seq;
	int ch, rc;

	memset(&im, 0, sizeof(im));
	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':		conf = optarg; break;
		case O_DB:		db = optarg; break;
		case O_AGENT:		im.agent = optarg; break;
		case O_HOSTNAME:	host = optarg; break;
		case O_FIRSTSEQ:
			if (pk_parse_u64(optarg, 1, INT64_MAX / 2, &first,
			    &err) == -1) {
				fprintf(stderr, "picket-hub: --first-seq: "
				    "%s\n", err);
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || im.agent == NULL || im.agent[0] == '\0' ||
	    strlen(im.agent) > PK_AGENT_ID_MAX) {
		usage(stderr);
		return 2;
	}
	file = argv[optind];
	if (db_path(conf, db, path, sizeof(path), &c) == -1)
		return 1;
	if ((buf = pk_read_file(file, IMPORT_FILE_MAX, &len, why,
	    sizeof(why))) == NULL) {
		fprintf(stderr, "picket-hub: %s\n", why);
		return 1;
	}
	if ((st = store_open(&c, db)) == NULL) {
		free(buf);
		return 1;
	}
	im.data = malloc(PK_FRAME_MAX_PAYLOAD);
	im.frame = malloc(PK_FRAME_HDR + PK_FRAME_MAX_PAYLOAD);
	im.decbuf = malloc(PK_FRAME_MAX_PAYLOAD);
	rc = -1;
	if (im.data != NULL && im.frame != NULL && im.decbuf != NULL &&
	    hub_ingest_init(&im.in, st, NULL) == 0) {
		if (hub_ingest_hello(&im.in, im.agent, host, 0,
		    (int64_t)pk_now_us(), &stored_seq) == 0)
			rc = import_lines(&im, buf, len, first);
		hub_ingest_free(&im.in);
	}
	fprintf(stderr, "records %llu\nstored %llu\nduplicates %llu\n"
	    "rejected %llu\nbatches %llu\nack %llu\n",
	    (unsigned long long)im.in.stats.records,
	    (unsigned long long)im.in.stats.stored,
	    (unsigned long long)im.in.stats.duplicates,
	    (unsigned long long)im.in.stats.rejected,
	    (unsigned long long)im.frames, (unsigned long long)im.ack);
	free(im.data);
	free(im.frame);
	free(im.decbuf);
	free(buf);
	st->ops->close(st);
	return rc == 0 ? 0 : 1;
}

/* ------------------------------------------------------------ tokens */

static int
print_token(void *arg, const struct hub_token *t)
{
	char c[PK_TIMESTRLEN], r[PK_TIMESTRLEN];

	(void)arg;
	printf("%-24s %-9s %-27s %s\n", t->name, hub_role_name(t->role),
	    pk_time_format((uint64_t)t->created_us, c, sizeof(c)),
	    t->revoked_us != 0 ? pk_time_format((uint64_t)t->revoked_us, r,
	    sizeof(r)) : "-");
	return 0;
}

enum { T_DB = 300, T_ROLE, T_NAME };

/*
 * token create --role R --name N: the secret goes to stdout once and is
 * never stored; token list: names and roles, no secrets; token revoke
 * NAME.  Creating and revoking are audited with actor "cli".
 */
static int
cmd_token(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", required_argument, NULL, T_DB },
		{ "role", required_argument, NULL, T_ROLE },
		{ "name", required_argument, NULL, T_NAME },
		{ NULL, 0, NULL, 0 },
	};
	struct hub_config c;
	struct hub_store *st;
	const char *conf = NULL, *db = NULL, *role = NULL, *name = NULL;
	const char *sub, *err = "failed";
	char path[HUB_PATH_MAX + 16], secret[HUB_TOKEN_LEN + 1];
	int ch, rc = 1, r, found;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	sub = argv[1];
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':	conf = optarg; break;
		case T_DB:	db = optarg; break;
		case T_ROLE:	role = optarg; break;
		case T_NAME:	name = optarg; break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (strcmp(sub, "revoke") == 0 && optind + 1 == argc)
		name = argv[optind++];
	if (optind != argc || (strcmp(sub, "create") == 0 && (role == NULL ||
	    name == NULL)) || (strcmp(sub, "revoke") == 0 && name == NULL) ||
	    (strcmp(sub, "create") != 0 && strcmp(sub, "revoke") != 0 &&
	    strcmp(sub, "list") != 0)) {
		usage(stderr);
		return 2;
	}
	if (strcmp(sub, "create") == 0 && hub_role_parse(role) ==
	    HUB_ROLE_NONE) {
		fprintf(stderr, "picket-hub: --role %s: want viewer, responder "
		    "or admin\n", role);
		return 2;
	}
	if (db_path(conf, db, path, sizeof(path), &c) == -1)
		return 1;
	if ((st = store_open(&c, db)) == NULL)
		return 1;
	if (strcmp(sub, "list") == 0) {
		printf("%-24s %-9s %-27s %s\n", "NAME", "ROLE", "CREATED",
		    "REVOKED");
		rc = st->ops->token_list(st, print_token, NULL) == 0 ? 0 : 1;
	} else if (strcmp(sub, "create") == 0) {
		r = hub_token_create(st, name, hub_role_parse(role), secret,
		    sizeof(secret), &err);
		if (r == 0) {
			printf("%s\n", secret);
			rc = 0;
		} else if (r == 1) {
			fprintf(stderr, "picket-hub: a valid token is already "
			    "called %s\n", name);
		} else {
			fprintf(stderr, "picket-hub: token: %s\n", err);
		}
		(void)hub_audit(st, "cli", "admin", "token.create", name,
		    "local", r == 0 ? "ok" : r == 1 ? "exists" : "error");
	} else {
		if (st->ops->token_revoke(st, name, (int64_t)pk_now_us(),
		    &found) == -1)
			found = -1;
		if (found == 1)
			rc = 0;
		else if (found == 0)
			fprintf(stderr, "picket-hub: no valid token called "
			    "%s\n", name);
		(void)hub_audit(st, "cli", "admin", "token.revoke", name,
		    "local", found == 1 ? "ok" : found == 0 ? "unknown" :
		    "error");
	}
	st->ops->close(st);
	return rc == 0 && fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	log_init(1, LOG_LVL_WARN, "picket-hub");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("picket-hub %s\n", PICKET_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "indicators") == 0)
		return cmd_indicators(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "token") == 0)
		return cmd_token(argc - 1, argv + 1);
	if (strcmp(argv[1], "ca") == 0)
		return hub_cmd_ca(argc - 1, argv + 1);
	if (strcmp(argv[1], "enroll-token") == 0)
		return hub_cmd_enroll_token(argc - 1, argv + 1);
	if (strcmp(argv[1], "agent") == 0)
		return hub_cmd_agent(argc - 1, argv + 1);
	if (strcmp(argv[1], "task") == 0)
		return hub_cmd_task(argc - 1, argv + 1);
	if (strcmp(argv[1], "incident") == 0)
		return hub_cmd_incident(argc - 1, argv + 1);
	if (strcmp(argv[1], "peer") == 0)
		return hub_cmd_peer(argc - 1, argv + 1);
	if (strcmp(argv[1], "bundle") == 0)
		return hub_cmd_bundle(argc - 1, argv + 1);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
