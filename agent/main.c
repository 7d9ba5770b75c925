/*
 * main.c - picketd, the Picket agent: command line, configuration, and the
 * main loop that waits on every collector and keeps the engine's clock
 * ticking.  `-r FILE` runs the same engine over a capture file and exits;
 * `-n` only checks the configuration.  Live, the process is a supervisor
 * with two children (docs/privsep.md): the collector (capture, detection,
 * spool) and, when [hub] address is set, the shipper (spool to hub); each
 * opens what needs root and then drops to [agent] user.  This file is the
 * POSIX program; the Windows service has its own entry point.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/enroll.h"
#include "agent/ioc.h"
#include "agent/output.h"
#include "agent/privsep.h"
#include "agent/shipper.h"
#include "agent/spoolout.h"
#include "agent/supervise.h"
#include "collectors/collector.h"
#include "collectors/pcap/sigdet.h"
#ifdef PICKET_HAVE_EBPF
#include "collectors/ebpf/ebpf.h"
#endif
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "transport/pki.h"
#include "transport/tls.h"

#define MAIN_POLL_MS		1000
#define SPOOL_POLL_MS		100
#define MAIN_BUDGET		1024	/* frames per collector per wakeup */
#define MAX_COLLECTORS		8
/* A child that cannot start for a reason a restart will not fix. */
#define EXIT_CONFIG		78
/* The shipper got a renewed certificate: install it, start a new one. */
#define EXIT_RENEWED		75

#ifndef CAP_DAC_READ_SEARCH
#define CAP_DAC_READ_SEARCH	2
#endif
#ifndef CAP_SYS_PTRACE
#define CAP_SYS_PTRACE		19
#endif

struct opts {
	const char	*config;
	const char	*readfile;
	const char	*output;
	const char	*home_net;
	const char	*rulefile;	/* -S: only this rule file */
	int		 check;
	int		 verbose;
	int		 foreground;
	int		 debug;
};

struct running {
	const struct pk_collector_ops	*ops;
	void				*st;
};

/* What the supervisor hands its children (each gets its own copy). */
struct agent {
	struct pk_config	*cfg;
	const struct opts	*o;
	char			 host_id[PK_CFG_STR_MAX];
	char			 host_name[PK_CFG_STR_MAX];
	char			 agent_id[PK_CFG_STR_MAX];
	int			 hub;		/* reporting configured */
	int			 ipc[2];	/* collector end, shipper end */
	int			 drop;		/* switch to user */
	struct pk_priv_user	 user;
};

static volatile sig_atomic_t quit, report;

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: picketd [-dfhnvV] [-c file] [-o file|-] [-r capture] [-S rules]\n"
"               [--home-net cidrs]\n"
"  -c file        configuration file (INI); built-in defaults without it\n"
"  -n             check the configuration and exit; with -v print it\n"
"  -v             verbose: with -n print the normalised configuration\n"
"  -f             stay in the foreground, log to stderr\n"
"  -d             debug logging (implies -f)\n"
"  -o file|-      also write every indicator as NDJSON to file (- = stdout)\n"
"  -r capture     analyse a pcap/pcapng file, print indicators, exit\n"
"  -S rules       load exactly this rule file instead of [rules] paths\n"
"  --home-net L   the monitored addresses (CIDR list), as [network] home_net\n"
"  --config-doc   print the configuration reference (Markdown)\n"
"  -V             print the version\n"
"  -h             this help\n"
"       picketd enroll --hub HOST:PORT --token TOKEN --ca CA.crt [--dir DIR]\n"
"               get this host's certificate from the hub (docs/enrollment.md)\n");
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		quit = 1;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "home-net", required_argument, NULL, 'H' },
		{ "config-doc", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "c:dfhno:r:S:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'd': o->debug = 1; o->foreground = 1; break;
		case 'f': o->foreground = 1; break;
		case 'n': o->check = 1; break;
		case 'o': o->output = optarg; break;
		case 'r': o->readfile = optarg; break;
		case 'S': o->rulefile = optarg; break;
		case 'v': o->verbose = 1; break;
		case 'H': o->home_net = optarg; break;
		case 'D':
			pk_config_doc(stdout);
			exit(0);
		case 'V':
			printf("picketd %s\n", PICKET_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "picketd: unexpected argument: %s\n",
		    argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

/* Load, override and validate; returns the number of problems. */
static int
load_config(struct pk_config *cfg, const struct opts *o)
{
	char err[256];
	int problems = 0;

	pk_config_defaults(cfg);
	if (o->config != NULL)
		problems += pk_config_load(cfg, o->config, stderr);
	if (o->home_net != NULL && pk_config_set(cfg, "network", "home_net",
	    o->home_net, err, sizeof(err)) != 0) {
		fprintf(stderr, "--home-net: %s\n", err);
		problems++;
	}
	if (problems == 0)
		problems += pk_config_validate(cfg,
		    o->config ? o->config : "(defaults)", stderr);
	return problems;
}

/*
 * A stable host id until enrollment gives the agent a key: derived from
 * the machine id (or the host name), so restarts keep it.
 */
static void
derive_identity(const struct pk_config *cfg, char *host_id, size_t idlen,
    char *host_name, size_t namelen)
{
	struct pk_indicator tmp;
	char mid[128] = "";
	FILE *fp;

	if (cfg->agent.host_name[0] != '\0')
		pk_strlcpy(host_name, cfg->agent.host_name, namelen);
	else if (gethostname(host_name, namelen) != 0)
		pk_strlcpy(host_name, "localhost", namelen);
	host_name[namelen - 1] = '\0';
	if (cfg->agent.host_id[0] != '\0') {
		pk_strlcpy(host_id, cfg->agent.host_id, idlen);
		return;
	}
	if ((fp = fopen("/etc/machine-id", "r")) != NULL) {
		if (fgets(mid, sizeof(mid), fp) == NULL)
			mid[0] = '\0';
		fclose(fp);
	}
	if (mid[0] == '\0')
		pk_strlcpy(mid, host_name, sizeof(mid));
	memset(&tmp, 0, sizeof(tmp));
	pk_indicator_fingerprint(&tmp, mid, strlen(mid));
	pk_strlcpy(host_id, tmp.fingerprint, idlen);
}

/*
 * -n with [hub]: load the certificates as the shipper will, so a missing
 * or mismatched key shows now rather than as reconnect warnings later.
 */
static int
check_hub(const struct pk_config *cfg)
{
	struct pk_tls_client_opts to;
	struct pk_tls_ctx *ctx;
	char err[PK_TLS_ERRLEN + 64], id[PK_TLS_CN_MAX + 1];

	memset(&to, 0, sizeof(to));
	to.ca_file = cfg->hub.ca;
	to.cert_file = cfg->hub.cert;
	to.key_file = cfg->hub.key;
	to.crl_file = cfg->hub.crl[0] ? cfg->hub.crl : NULL;
	to.spki_pin = cfg->hub.pin[0] ? cfg->hub.pin : NULL;
	if ((ctx = pk_tls_client_ctx_new(&to, err, sizeof(err))) == NULL) {
		fprintf(stderr, "hub: %s\n", err);
		return 1;
	}
	pk_tls_ctx_free(ctx);
	if (pk_tls_file_cn(cfg->hub.cert, id, sizeof(id), err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "hub: %s\n", err);
		return 1;
	}
	fprintf(stderr, "hub: %s as agent %s, certificates OK\n",
	    cfg->hub.address, id);
	return 0;
}

/*
 * -n: the file is already checked; also load what the agent would load
 * (IOC lists, rules) and say what it found, so an operator learns of a bad
 * list before a restart.
 */
static int
check_config(const struct pk_config *cfg, const struct opts *o)
{
	int problems = 0;

	if (o->verbose)
		pk_config_print(cfg, stdout);
	if (cfg->ioc.enabled)
		problems += pk_ioc_check(cfg, stderr);
	if (cfg->rules.enabled || o->rulefile != NULL)
		problems += pk_rules_check(cfg, o->rulefile, stderr);
	if (cfg->hub.address[0] != '\0')
		problems += check_hub(cfg);
#ifdef PICKET_HAVE_EBPF
	/* Which process hooks would load here: information, not a problem
	 * (the agent runs on packets alone where eBPF cannot). */
	if (cfg->process.enabled)
		(void)pk_ebpf_check(stderr);
#endif
	if (problems != 0) {
		fprintf(stderr, "configuration has %d problem%s\n", problems,
		    problems == 1 ? "" : "s");
		return 1;
	}
	fprintf(stderr, "configuration OK\n");
	return 0;
}

static int
open_collectors(struct pk_engine *e, const struct pk_config *cfg,
    const char *readfile, struct running *run)
{
	char why[256];
	int i, n = 0;

	for (i = 0; pk_collectors[i] != NULL && n < MAX_COLLECTORS; i++) {
		const struct pk_collector_ops *ops = pk_collectors[i];

		/* Offline analysis reads packets only. */
		if (readfile != NULL && strcmp(ops->name, "pcap") != 0)
			continue;
		if (ops->available(cfg, readfile != NULL, why,
		    sizeof(why)) != 0) {
			log_warnx("collector %s not available here: %s",
			    ops->name, why);
			continue;
		}
		if ((run[n].st = ops->open(e, cfg, readfile, why,
		    sizeof(why))) == NULL) {
			if (readfile != NULL) {
				log_warnx("cannot read %s: %s", readfile, why);
				return -1;
			}
			log_warnx("collector %s: %s", ops->name, why);
			continue;
		}
		run[n].ops = ops;
		n++;
	}
	return n;
}

static void
print_report(struct pk_engine *e, struct running *run, int nrun, FILE *fp)
{
	int i;

	for (i = 0; i < nrun; i++)
		run[i].ops->stats(run[i].st, fp);
	pk_engine_report(e, fp);
	fflush(fp);
}

static int
run_offline(struct pk_engine *e, struct running *run, int nrun)
{
	int r;

	do {
		r = run[0].ops->poll(run[0].st, 4096);
	} while (r >= 0 && !quit);
	pk_engine_flush(e, pk_engine_now(e));
	print_report(e, run, nrun, stderr);
	return r == PK_COLL_ERROR ? 1 : 0;
}

static void
report_to_log(struct pk_engine *e, struct running *run, int nrun)
{
	char *buf = NULL, *line, *next;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return;
	print_report(e, run, nrun, fp);
	fclose(fp);
	for (line = buf; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		log_info("stats: %s", line);
	}
	free(buf);
}

static void
log_stat_line(const char *line)
{
	log_info("stats: %s", line);
}

static int
run_live(struct pk_engine *e, struct running *run, int nrun,
    struct pk_spoolout *so)
{
	struct pollfd pfd[PK_COLL_MAX_FDS * MAX_COLLECTORS + 1];
	int fds[PK_COLL_MAX_FDS], owner[PK_COLL_MAX_FDS * MAX_COLLECTORS + 1];
	int pending[PK_COLL_MAX_FDS * MAX_COLLECTORS + 1];
	int i, k, n, r, busy = 0, npfd = 0, timeout;
	uint64_t last_tick = 0;

	for (i = 0; i < nrun; i++) {
		n = run[i].ops->fds(run[i].st, fds, PK_COLL_MAX_FDS);
		for (k = 0; k < n; k++) {
			pfd[npfd].fd = fds[k];
			pfd[npfd].events = POLLIN;
			pending[npfd] = 0;
			owner[npfd++] = i;
		}
	}
	/* The shipper's messages: read by pk_spoolout_tick below. */
	if (so != NULL && so->ipc_fd >= 0) {
		pfd[npfd].fd = so->ipc_fd;
		pfd[npfd].events = POLLIN;
		pending[npfd] = 0;
		owner[npfd++] = -1;
	}
	/* The spool's durability timer needs a turn every sync interval. */
	timeout = so != NULL ? SPOOL_POLL_MS : MAIN_POLL_MS;
	while (!quit) {
		/* A collector that used its whole budget has more waiting:
		 * come straight back instead of sleeping. */
		if (poll(pfd, (nfds_t)npfd, busy ? 0 : timeout) < 0 &&
		    errno != EINTR)
			fatal("poll");
		busy = 0;
		for (k = 0; k < npfd; k++) {
			if (owner[k] < 0)
				continue;
			if (!(pfd[k].revents & (POLLIN | POLLERR | POLLHUP)) &&
			    !pending[k])
				continue;
			r = run[owner[k]].ops->poll(run[owner[k]].st,
			    MAIN_BUDGET);
			if (r == PK_COLL_ERROR)
				quit = 1;
			pending[k] = r >= MAIN_BUDGET;
			busy |= pending[k];
		}
		if (so != NULL)
			pk_spoolout_tick(so, pk_mono_us());
		if (pk_mono_us() - last_tick >= PK_USEC) {
			last_tick = pk_mono_us();
			/* Look at every collector once a second even without
			 * a wakeup: a safety net, and cheap. */
			for (k = 0; k < npfd; k++)
				pending[k] = 1;
			busy = 1;
			pk_engine_tick(e, pk_now_us());
			for (i = 0; i < nrun; i++)
				if (run[i].ops->tick != NULL)
					run[i].ops->tick(run[i].st,
					    pk_now_us());
		}
		if (report) {
			report = 0;
			report_to_log(e, run, nrun);
			if (so != NULL)
				pk_spoolout_report(so, log_stat_line);
		}
	}
	log_info("shutting down");
	/* What was captured before the stop is analysed before the flush. */
	for (i = 0; i < nrun; i++) {
		if (run[i].ops->drain != NULL)
			run[i].ops->drain(run[i].st);
		while (run[i].ops->poll(run[i].st, MAIN_BUDGET) >= MAIN_BUDGET)
			;
	}
	pk_engine_flush(e, pk_now_us());
	report_to_log(e, run, nrun);
	if (so != NULL)
		pk_spoolout_report(so, log_stat_line);
	return 0;
}

static void
setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* -o / [output] file, opened before privileges go. */
static int
open_output(struct pk_engine *e, const struct opts *o,
    const struct pk_config *cfg, struct pk_output_ndjson *out)
{
	const char *outpath = o->output != NULL ? o->output : cfg->output.file;

	if (outpath[0] == '\0' && o->readfile != NULL)
		outpath = "-";
	memset(out, 0, sizeof(*out));
	if (outpath[0] == '\0') {
		if (cfg->hub.address[0] == '\0')
			log_warnx("no output configured (-o, [output] file or "
			    "[hub] address): indicators are only counted");
		return 0;
	}
	if (!o->foreground && o->readfile == NULL && strcmp(outpath, "-") == 0)
		fatalx("-o - needs -f (a daemon has no stdout)");
	if (pk_output_ndjson_open(out, outpath, o->readfile == NULL) != 0) {
		log_warn("output %s", outpath);
		return -1;
	}
	pk_engine_add_output(e, pk_output_ndjson_write, out);
	return 0;
}

static struct pk_engine *
make_engine(struct agent *a)
{
	struct pk_engine *e;

	if (a->o->rulefile != NULL) {
		FILE *fp;

		/* -S: that file and no other, even if [rules] is off; asked
		 * for by name, so its absence is an error, not a warning. */
		if ((fp = fopen(a->o->rulefile, "r")) == NULL) {
			log_warn("cannot read rule file %s", a->o->rulefile);
			return NULL;
		}
		fclose(fp);
		a->cfg->rules.enabled = 1;
		pk_sigdet_set_rule_file(a->o->rulefile);
	}
	if ((e = pk_engine_new(a->cfg)) == NULL) {
		log_warnx("cannot start the detection engine");
		return NULL;
	}
	pk_engine_set_identity(e, a->host_id, a->host_name, a->agent_id);
	pk_engine_set_offline(e, a->o->readfile != NULL);
	return e;
}

/* Switch to [agent] user keeping keep (capability bits); 0 or -1. */
static int
drop_to_user(struct agent *a, const char *who, uint64_t keep)
{
	char err[256];
	int r;

	if (!a->drop)
		return 0;
	if ((r = pk_priv_drop(&a->user, keep, err, sizeof(err))) < 0) {
		log_warnx("%s: cannot drop privileges: %s", who, err);
		return -1;
	}
	if (r == 0)
		log_info("%s: running as %s%s", who, a->user.name,
		    keep ? " with the capabilities hashing needs" :
		    ", no capabilities");
	return 0;
}

/* The collector process: capture, detection, local output, spool. */
static int
collector_main(void *arg)
{
	struct agent *a = arg;
	struct pk_engine *e;
	struct pk_output_ndjson out;
	struct pk_spoolout so;
	struct running run[MAX_COLLECTORS];
	uint64_t keep = 0;
	int nrun, rc, i;

	memset(&so, 0, sizeof(so));	/* closed on every path below */
	/* ps and the tests tell the children apart by name. */
	(void)prctl(PR_SET_NAME, "pk-collector", 0, 0, 0);
	setup_signals();
	if (a->hub)
		close(a->ipc[1]);
	if ((e = make_engine(a)) == NULL)
		return EXIT_CONFIG;
	if (open_output(e, a->o, a->cfg, &out) != 0) {
		pk_engine_free(e);
		return EXIT_CONFIG;
	}
	if ((nrun = open_collectors(e, a->cfg, NULL, run)) <= 0) {
		log_warnx("no collector could start");
		pk_engine_free(e);
		return EXIT_CONFIG;
	}
	/* Handles are open and BPF programs loaded; what is left needs no
	 * root.  Hashing programs of other users' processes reads their
	 * /proc/PID/exe: that alone keeps two capabilities. */
	for (i = 0; i < nrun; i++)
		if (strcmp(run[i].ops->name, "ebpf") == 0)
			keep = (1ULL << CAP_DAC_READ_SEARCH) |
			    (1ULL << CAP_SYS_PTRACE);
	if (drop_to_user(a, "collector", keep) != 0) {
		rc = EXIT_CONFIG;
		goto out;
	}
	for (i = 0; i < nrun; i++) {
		char why[256];

		if (run[i].ops->start != NULL &&
		    run[i].ops->start(run[i].st, why, sizeof(why)) != 0) {
			log_warnx("collector %s: %s", run[i].ops->name, why);
			rc = 1;
			goto out;
		}
	}
	if (a->hub) {
		if (pk_spoolout_open(&so, a->cfg, e, a->ipc[0]) != 0) {
			rc = 1;		/* restarted with backoff */
			goto out;
		}
		pk_engine_add_output(e, pk_spoolout_write, &so);
	}
	log_info("picketd %s running, host %s (%s)", PICKET_VERSION,
	    a->host_name, a->host_id);
	rc = run_live(e, run, nrun, a->hub ? &so : NULL);
out:
	/* Collectors may report while they close (what their buffers still
	 * held): the spool closes after them. */
	for (i = 0; i < nrun; i++)
		run[i].ops->close(run[i].st);
	pk_spoolout_close(&so);
	pk_output_ndjson_close(&out);
	pk_engine_free(e);
	return rc;
}

static int
shipper_conf(const struct agent *a, struct pk_shipper_conf *sc)
{
	const struct pk_config *cfg = a->cfg;

	memset(sc, 0, sizeof(*sc));
	if (pk_config_split_hostport(cfg->hub.address, sc->host,
	    sizeof(sc->host), &sc->port) != 0)
		return -1;
	pk_strlcpy(sc->server_name, cfg->hub.server_name[0] ?
	    cfg->hub.server_name : sc->host, sizeof(sc->server_name));
	if (cfg->hub.proxy[0] != '\0' && pk_config_split_hostport(
	    cfg->hub.proxy, sc->proxy_host, sizeof(sc->proxy_host),
	    &sc->proxy_port) != 0)
		return -1;
	sc->spool_dir = cfg->spool.dir;
	sc->spool_fsync = pk_config_spool_sync(cfg) != PK_SPOOL_SYNC_NEVER;
	sc->connect_timeout_ms = (uint32_t)cfg->hub.connect_timeout * 1000;
	sc->backoff_base_ms = (uint32_t)cfg->hub.backoff_base * 1000;
	sc->backoff_cap_ms = (uint32_t)(cfg->hub.backoff_cap > 86400 ? 86400 :
	    cfg->hub.backoff_cap) * 1000;
	sc->batch_records = (uint32_t)cfg->hub.batch_records;
	sc->batch_bytes = (uint32_t)cfg->hub.batch_bytes;
	sc->level = (int)cfg->hub.compression;
	pk_strlcpy(sc->agent_id, a->agent_id, sizeof(sc->agent_id));
	pk_strlcpy(sc->host_name, a->host_name, sizeof(sc->host_name));
	sc->ipc_fd = a->ipc[1];
	return 0;
}

/*
 * As root, before the shipper drops its privileges: a CSR for the agent's
 * key, kept for when the certificate nears its end (docs/enrollment.md).
 * Only a certificate from enrollment can be renewed: its subject is the
 * key's agent id, which the hub checks.  NULL: no renewal (said once).
 */
static char *
renew_prepare(const struct agent *a, int64_t *not_after)
{
	char err[PK_PKI_ERRLEN], id[PK_PKI_ID_LEN + 1], na[PK_TIMESTRLEN];
	const struct pk_config *cfg = a->cfg;
	struct pk_pki_certinfo ci;
	struct pk_pki_key *k;
	char *csr = NULL;
	int soon;

	if (pk_pki_cert_file_info(cfg->hub.cert, &ci, err, sizeof(err)) != 0) {
		log_warnx("shipper: %s: no renewal", err);
		return NULL;
	}
	*not_after = ci.not_after_us;
	pk_time_format((uint64_t)ci.not_after_us, na, sizeof(na));
	soon = (int64_t)pk_now_us() + (int64_t)cfg->hub.renew_before *
	    (int64_t)PK_USEC >= ci.not_after_us;
	if ((k = pk_pki_key_read(cfg->hub.key, err, sizeof(err))) == NULL) {
		log_warnx("shipper: %s: no renewal", err);
		return NULL;
	}
	if (pk_pki_key_id(k, id, sizeof(id)) != 0 || strcmp(id, ci.cn) != 0) {
		if (soon)
			log_warnx("shipper: %s expires %s and was not made by "
			    "enrollment (its subject is not the key's agent "
			    "id): replace it by hand before then",
			    cfg->hub.cert, na);
	} else if ((csr = pk_pki_csr_make(k, id, err, sizeof(err))) == NULL)
		log_warnx("shipper: certificate request: %s: no renewal", err);
	else if (soon)
		log_info("shipper: %s expires %s: it will be renewed",
		    cfg->hub.cert, na);
	pk_pki_key_free(k);
	return csr;
}

/* In the root parent: a renewed certificate waiting in the spool is
 * checked and put in place of [hub] cert. */
static void
renew_install(const struct agent *a)
{
	char path[PK_CFG_PATH_MAX + 32], err[PK_PKI_ERRLEN], na[PK_TIMESTRLEN];
	const struct pk_config *cfg = a->cfg;
	struct pk_pki_certinfo ci;

	snprintf(path, sizeof(path), "%s/%s", cfg->spool.dir,
	    PK_SHIP_RENEWED);
	if (access(path, F_OK) != 0)
		return;
	if (pk_pki_cert_install(path, cfg->hub.cert, cfg->hub.key,
	    cfg->hub.ca, &ci, err, sizeof(err)) != 0) {
		log_warnx("renewed certificate not installed, %s stays: %s",
		    cfg->hub.cert, err);
		return;
	}
	log_info("certificate renewed: %s is now serial %s, valid until %s",
	    cfg->hub.cert, ci.serial, pk_time_format(
	    (uint64_t)ci.not_after_us, na, sizeof(na)));
}

static void
on_child_exit(const struct pk_sup_child *c, void *arg)
{
	if (strcmp(c->name, "shipper") == 0 && WIFEXITED(c->last_status) &&
	    WEXITSTATUS(c->last_status) == EXIT_RENEWED)
		renew_install(arg);
}

/* The shipper process: reads the key, drops everything, talks to the hub. */
static int
shipper_main(void *arg)
{
	struct agent *a = arg;
	struct pk_tls_client_opts to;
	struct pk_shipper_conf sc;
	struct pk_tls_ctx *ctx;
	struct pk_shipper *sh;
	char err[PK_TLS_ERRLEN + 64];
	int r;

	(void)prctl(PR_SET_NAME, "pk-shipper", 0, 0, 0);
	setup_signals();
	close(a->ipc[0]);
	if (shipper_conf(a, &sc) != 0)
		return EXIT_CONFIG;	/* -n refuses this before we get here */
	memset(&to, 0, sizeof(to));
	to.ca_file = a->cfg->hub.ca;
	to.cert_file = a->cfg->hub.cert;
	to.key_file = a->cfg->hub.key;
	to.crl_file = a->cfg->hub.crl[0] ? a->cfg->hub.crl : NULL;
	to.spki_pin = a->cfg->hub.pin[0] ? a->cfg->hub.pin : NULL;
	if ((ctx = pk_tls_client_ctx_new(&to, err, sizeof(err))) == NULL) {
		/* Detection goes on; we are restarted with backoff, so a
		 * certificate put in place later is picked up. */
		log_warnx("shipper: %s", err);
		return 1;
	}
	sc.renew_csr = renew_prepare(a, &sc.cert_not_after_us);
	sc.renew_before_us = a->cfg->hub.renew_before * PK_USEC;
	if (drop_to_user(a, "shipper", 0) != 0) {
		pk_tls_ctx_free(ctx);
		return EXIT_CONFIG;
	}
	if ((r = pk_priv_seccomp_shipper(err, sizeof(err))) < 0) {
		log_warnx("shipper: seccomp: %s", err);
		pk_tls_ctx_free(ctx);
		return EXIT_CONFIG;
	} else if (r > 0)
		log_warnx("shipper: this kernel has no seccomp filter: "
		    "running without one");
	if ((sh = pk_shipper_new(&sc, ctx, err, sizeof(err))) == NULL) {
		log_warnx("shipper: %s", err);
		pk_tls_ctx_free(ctx);
		return 1;
	}
	r = pk_shipper_run(sh, &quit, &report);
	pk_shipper_free(sh);
	pk_tls_ctx_free(ctx);
	free((char *)sc.renew_csr);
	return r == PK_SHIP_RUN_RENEWED ? EXIT_RENEWED : r == 0 ? 0 : 1;
}

/* Everything the children need that must be decided once, as root. */
static int
prepare(struct agent *a)
{
	char err[PK_CFG_PATH_MAX + 128];
	int r;

	a->hub = a->cfg->hub.address[0] != '\0';
	a->drop = 0;
	if (a->cfg->agent.user[0] != '\0' && geteuid() == 0) {
		if (pk_priv_lookup(a->cfg->agent.user, &a->user, err,
		    sizeof(err)) == 0)
			a->drop = 1;
		else
			log_warnx("%s: collector and shipper keep running as "
			    "root", err);
	} else if (geteuid() != 0)
		log_info("running as uid %u, no privilege drop",
		    (unsigned)geteuid());
	if (!a->hub)
		return 0;
	if (pk_tls_file_cn(a->cfg->hub.cert, a->agent_id, sizeof(a->agent_id),
	    err, sizeof(err)) != 0)
		log_warnx("agent id: %s; using %s until the certificate is "
		    "readable", err, a->agent_id);
	if (a->drop) {
		r = pk_priv_own_dir(a->cfg->spool.dir, &a->user, err,
		    sizeof(err));
	} else {
		r = mkdir(a->cfg->spool.dir, 0700);
		if (r != 0 && errno == EEXIST)
			r = 0;
		if (r != 0)
			snprintf(err, sizeof(err), "%s: %s", a->cfg->spool.dir,
			    strerror(errno));
	}
	if (r != 0) {
		log_warnx("spool: %s", err);
		return -1;
	}
	/* Created once and held by the supervisor, so a restarted child
	 * finds its end still there; messages are hints, never state. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, a->ipc) != 0) {
		log_warn("socketpair");
		return -1;
	}
	return 0;
}

static int
run_agent(struct agent *a)
{
	struct pk_sup_child kids[2];
	struct pk_sup_settings set;
	int n = 0, rc;

	if (prepare(a) != 0)
		return 1;
	memset(kids, 0, sizeof(kids));
	kids[n].name = "collector";
	kids[n].run = collector_main;
	kids[n++].arg = a;
	if (a->hub) {
		kids[n].name = "shipper";
		kids[n].run = shipper_main;
		kids[n++].arg = a;
	}
	/* A certificate the shipper got just before the agent stopped. */
	if (a->hub)
		renew_install(a);
	pk_sup_defaults(&set);
	set.fatal_status = EXIT_CONFIG;
	set.quick_status = EXIT_RENEWED;
	set.on_exit = on_child_exit;
	set.hook_arg = a;
	rc = pk_sup_run(kids, n, &set, &quit);
	log_info("shutting down");
	return rc == 0 ? 0 : 1;
}

static int
run_file(struct agent *a)
{
	struct pk_engine *e;
	struct pk_output_ndjson out;
	struct running run[MAX_COLLECTORS];
	int nrun, rc, i;

	if ((e = make_engine(a)) == NULL)
		return 1;
	if (open_output(e, a->o, a->cfg, &out) != 0) {
		pk_engine_free(e);
		return 1;
	}
	if ((nrun = open_collectors(e, a->cfg, a->o->readfile, run)) <= 0) {
		pk_output_ndjson_close(&out);
		pk_engine_free(e);
		return 1;
	}
	rc = run_offline(e, run, nrun);
	for (i = 0; i < nrun; i++)
		run[i].ops->close(run[i].st);
	pk_output_ndjson_close(&out);
	pk_engine_free(e);
	return rc;
}

int
main(int argc, char **argv)
{
	static struct pk_config cfg;	/* large: port bitmaps */
	static struct agent a;
	struct opts o;

	/* `picketd enroll ...` (agent/enroll.c, docs/enrollment.md). */
	if (argc > 1 && strcmp(argv[1], "enroll") == 0)
		return pk_enroll_main(argc - 1, argv + 1);
	memset(&o, 0, sizeof(o));
	if (parse_args(argc, argv, &o) != 0)
		return 1;
	log_init(1, LOG_LVL_INFO, "picketd");
	if (load_config(&cfg, &o) != 0)
		return 1;
	if (o.check)
		return check_config(&cfg, &o);
	/* Offline runs and foreground runs log to stderr. */
	if (o.readfile == NULL && !o.foreground) {
		if (daemon(0, 0) != 0)
			fatal("daemon");
	}
	log_init(o.foreground || o.readfile != NULL,
	    o.debug ? LOG_LVL_DEBUG : cfg.agent.log_level, "picketd");
	setup_signals();

	a.cfg = &cfg;
	a.o = &o;
	a.ipc[0] = a.ipc[1] = -1;
	derive_identity(&cfg, a.host_id, sizeof(a.host_id), a.host_name,
	    sizeof(a.host_name));
	pk_strlcpy(a.agent_id, a.host_id, sizeof(a.agent_id));
	if (o.readfile != NULL)
		return run_file(&a);
	return run_agent(&a);
}
