/*
 * main.c - picketd, the Picket agent: command line, configuration, and the
 * main loop that waits on every collector and keeps the engine's clock
 * ticking.  `-r FILE` runs the same engine over a capture file and exits;
 * `-n` only checks the configuration.  This file is the POSIX program; the
 * Windows service has its own entry point.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/ioc.h"
#include "agent/output.h"
#include "collectors/collector.h"
#include "collectors/pcap/sigdet.h"
#ifdef PICKET_HAVE_EBPF
#include "collectors/ebpf/ebpf.h"
#endif
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"

#define MAIN_POLL_MS		1000
#define MAIN_BUDGET		1024	/* frames per collector per wakeup */
#define MAX_COLLECTORS		8

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
"  -h             this help\n");
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

static int
run_live(struct pk_engine *e, struct running *run, int nrun)
{
	struct pollfd pfd[PK_COLL_MAX_FDS * MAX_COLLECTORS];
	int fds[PK_COLL_MAX_FDS], owner[PK_COLL_MAX_FDS * MAX_COLLECTORS];
	int pending[PK_COLL_MAX_FDS * MAX_COLLECTORS];
	int i, k, n, r, busy = 0, npfd = 0;
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
	while (!quit) {
		/* A collector that used its whole budget has more waiting:
		 * come straight back instead of sleeping. */
		if (poll(pfd, (nfds_t)npfd, busy ? 0 : MAIN_POLL_MS) < 0 &&
		    errno != EINTR)
			fatal("poll");
		busy = 0;
		for (k = 0; k < npfd; k++) {
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
		}
	}
	log_info("shutting down");
	/* What was captured before the stop is analysed before the flush. */
	for (i = 0; i < nrun; i++)
		while (run[i].ops->poll(run[i].st, MAIN_BUDGET) >= MAIN_BUDGET)
			;
	pk_engine_flush(e, pk_now_us());
	report_to_log(e, run, nrun);
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

int
main(int argc, char **argv)
{
	static struct pk_config cfg;	/* large: port bitmaps */
	struct opts o;
	struct pk_engine *e;
	struct pk_output_ndjson out;
	struct running run[MAX_COLLECTORS];
	char host_id[PK_CFG_STR_MAX], host_name[PK_CFG_STR_MAX];
	const char *outpath;
	int nrun, rc, i;

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

	if (o.rulefile != NULL) {
		FILE *fp;

		/* -S: that file and no other, even if [rules] is off; asked
		 * for by name, so its absence is an error, not a warning. */
		if ((fp = fopen(o.rulefile, "r")) == NULL)
			fatal("cannot read rule file %s", o.rulefile);
		fclose(fp);
		cfg.rules.enabled = 1;
		pk_sigdet_set_rule_file(o.rulefile);
	}
	if ((e = pk_engine_new(&cfg)) == NULL)
		fatalx("cannot start the detection engine");
	derive_identity(&cfg, host_id, sizeof(host_id), host_name,
	    sizeof(host_name));
	pk_engine_set_identity(e, host_id, host_name, host_id);
	pk_engine_set_offline(e, o.readfile != NULL);

	outpath = o.output != NULL ? o.output : cfg.output.file;
	if (outpath[0] == '\0' && o.readfile != NULL)
		outpath = "-";
	memset(&out, 0, sizeof(out));
	if (outpath[0] != '\0') {
		if (!o.foreground && o.readfile == NULL &&
		    strcmp(outpath, "-") == 0)
			fatalx("-o - needs -f (a daemon has no stdout)");
		if (pk_output_ndjson_open(&out, outpath,
		    o.readfile == NULL) != 0)
			fatal("output %s", outpath);
		pk_engine_add_output(e, pk_output_ndjson_write, &out);
	} else
		log_warnx("no output configured (-o or [output] file): "
		    "indicators are only counted");

	if ((nrun = open_collectors(e, &cfg, o.readfile, run)) <= 0) {
		if (o.readfile == NULL)
			log_warnx("no collector could start");
		pk_engine_free(e);
		return 1;
	}
	if (o.readfile == NULL)
		log_info("picketd %s running, host %s (%s)", PICKET_VERSION,
		    host_name, host_id);
	rc = o.readfile != NULL ? run_offline(e, run, nrun) :
	    run_live(e, run, nrun);

	for (i = 0; i < nrun; i++)
		run[i].ops->close(run[i].st);
	pk_output_ndjson_close(&out);
	pk_engine_free(e);
	return rc;
}
