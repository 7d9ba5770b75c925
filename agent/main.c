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

#include "agent/agentcli.h"
#include "agent/config.h"
#include "agent/control.h"
#include "agent/engine.h"
#include "agent/enroll.h"
#include "agent/bundle_agent.h"
#include "agent/ioc.h"
#include "agent/output.h"
#include "agent/privsep.h"
#include "agent/renew.h"
#include "agent/shipper.h"
#include "agent/spoolout.h"
#include "agent/task_agent.h"
#include "agent/task_exec.h"
#include "agent/task_policy.h"
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
/* Largest normalised configuration the parent hands the collector. */
#define RELOAD_MAX		(256 * 1024)
/* How often the children rewrite their status files (docs/status.md):
 * while something changes, and when nothing does. */
#define STATUS_EVERY_US		(2 * PK_USEC)
#define STATUS_IDLE_US		(5 * PK_USEC)

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
	/* Reload (SIGHUP): the parent sends the collector the checked,
	 * normalised configuration on ctl[0]; it reads ctl[1]. */
	int			 ctl[2];
	/* Status files of the children; "" = none (docs/status.md). */
	char			 state_dir[PK_CFG_PATH_MAX];
	/* The parent's own, for `picketd status`. */
	struct pk_ctl		*ctl_sock;
	struct pk_sup_child	*kids;
	int			 nkids;
	uint64_t		 started_us;	/* wall */
	unsigned		 reloads, reloads_refused;
	char			 last_reload[320];
};

static volatile sig_atomic_t quit, report, hup;

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
"  --config-ini   print every option commented out at its default (INI)\n"
"  --config-man   print the options for picket-agent.ini(5) (roff)\n"
"  -V             print the version\n"
"  -h             this help\n"
"       picketd enroll --hub HOST:PORT --token TOKEN --ca CA.crt [--dir DIR]\n"
"               get this host's certificate from the hub (docs/enrollment.md)\n"
"       picketd status [-c file] [--json]\n"
"               ask the running agent how it is (docs/status.md)\n");
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else if (sig == SIGHUP)
		hup = 1;
	else
		quit = 1;
}

/* A child's PK_SUP_SIG_REPORT: its supervisor passes on a SIGUSR1. */
static void
on_child_report(int sig)
{
	(void)sig;
	report = 1;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "home-net", required_argument, NULL, 'H' },
		{ "config-doc", no_argument, NULL, 'D' },
		{ "config-ini", no_argument, NULL, 'I' },
		{ "config-man", no_argument, NULL, 'M' },
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
		case 'I':
			pk_config_ini_options(stdout);
			exit(0);
		case 'M':
			pk_config_man_options(stdout);
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

#ifdef PICKET_HAVE_EBPF
/* -n: which process hooks would load here: information, not a problem
 * (the agent runs on packets alone where eBPF cannot). */
static int
check_ebpf(const struct pk_config *cfg, FILE *out)
{
	if (cfg->process.enabled)
		(void)pk_ebpf_check(out);
	return 0;
}
#endif

/*
 * -n: agent/agentcli.c, with this platform's process hooks; then the
 * bundle the spool runs, when it has one (a damaged bundle is the hub's
 * to replace, not a configuration problem).
 */
static int
check_config(const struct pk_config *cfg, const struct opts *o)
{
	struct pk_bstate bs;
	int rc;

#ifdef PICKET_HAVE_EBPF
	rc = pk_cli_check_config(cfg, o->verbose, o->rulefile, check_ebpf);
#else
	rc = pk_cli_check_config(cfg, o->verbose, o->rulefile, NULL);
#endif
	if (cfg->hub.address[0] != '\0' &&
	    pk_bstate_read(cfg->spool.dir, &bs) != 1)
		(void)pk_bundle_summary(cfg->spool.dir,
		    (size_t)cfg->bundle.max_entries, stdout);
	return rc;
}

/* Why the eBPF collector is not running (proc_trace says it); "" when
 * it runs. */
static char proc_why[256];

static int
open_collectors(struct pk_engine *e, const struct pk_config *cfg,
    const char *readfile, struct running *run)
{
	char why[256];
	int i, n = 0;

	snprintf(proc_why, sizeof(proc_why), "this agent was built without "
	    "the eBPF process collector");

	for (i = 0; pk_collectors[i] != NULL && n < MAX_COLLECTORS; i++) {
		const struct pk_collector_ops *ops = pk_collectors[i];

		/* Offline analysis reads packets only. */
		if (readfile != NULL && strcmp(ops->name, "pcap") != 0)
			continue;
		if (strcmp(ops->name, "ebpf") == 0)
			proc_why[0] = '\0';
		if (ops->available(cfg, readfile != NULL, why,
		    sizeof(why)) != 0) {
			log_warnx("collector %s not available here: %s",
			    ops->name, why);
			if (strcmp(ops->name, "ebpf") == 0)
				pk_strlcpy(proc_why, why, sizeof(proc_why));
			continue;
		}
		if ((run[n].st = ops->open(e, cfg, readfile, why,
		    sizeof(why))) == NULL) {
			if (readfile != NULL) {
				log_warnx("cannot read %s: %s", readfile, why);
				return -1;
			}
			log_warnx("collector %s: %s", ops->name, why);
			if (strcmp(ops->name, "ebpf") == 0)
				pk_strlcpy(proc_why, why, sizeof(proc_why));
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

/* The collector's reload and status counters (docs/status.md). */
struct coll_state {
	struct agent		*a;
	struct pk_engine	*e;
	struct running		*run;
	int			 nrun;
	struct pk_spoolout	*so;
	struct pk_texec		*te;		/* targeted collection */
	struct pk_bagent	*ba;		/* shared-indicator bundles */
	unsigned		 reloads, reloads_failed;
	uint64_t		 started_us, status_us;
	/* The configuration of the rules and lists running now: kept, as
	 * a rule set refers to the configuration it was loaded with. */
	struct pk_config	*live;
};

static FILE *status_fp;

static void
status_spool_line(const char *line)
{
	fprintf(status_fp, "%s\n", line);
}

/* The bundle's numbers, "key value" lines (docs/bundles.md). */
static void
bundle_status(const struct pk_bagent *ba, struct pk_engine *e, FILE *fp)
{
	pk_bagent_report(ba, pk_engine_stats(e)->shared_matches, fp);
}

static void
bundle_log(const struct pk_bagent *ba, struct pk_engine *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;
	char *p, *nl;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return;
	bundle_status(ba, e, fp);
	fclose(fp);
	for (p = buf; p != NULL && *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		log_info("stats: %s", p);
	}
	free(buf);
}

/* Rewrite state_dir/.status-collector: what `picketd status` shows. */
static void
collector_status(struct coll_state *cs)
{
	char *buf = NULL;
	size_t len = 0;
	int i;

	if (cs->a->state_dir[0] == '\0' ||
	    (status_fp = open_memstream(&buf, &len)) == NULL)
		return;
	fprintf(status_fp, "pid %d\nupdated_us %llu\nstarted_us %llu\n",
	    (int)getpid(), (unsigned long long)pk_now_us(),
	    (unsigned long long)cs->started_us);
	fprintf(status_fp, "collectors ");
	for (i = 0; i < cs->nrun; i++)
		fprintf(status_fp, "%s%s", i > 0 ? "," : "",
		    cs->run[i].ops->name);
	fprintf(status_fp, "\nreloads %u\nreloads_failed %u\n",
	    cs->reloads, cs->reloads_failed);
	fprintf(status_fp, "rules_loaded %lld\nioc_entries %lld\n",
	    (long long)pk_engine_detector_size(cs->e, "rules"),
	    (long long)pk_engine_detector_size(cs->e, "ioc"));
	if (cs->ba != NULL)
		bundle_status(cs->ba, cs->e, status_fp);
	print_report(cs->e, cs->run, cs->nrun, status_fp);
	if (cs->so != NULL)
		pk_spoolout_report(cs->so, status_spool_line);
	fclose(status_fp);
	status_fp = NULL;
	if (buf != NULL && pk_status_write(cs->a->state_dir,
	    PK_STATUS_COLLECTOR, buf, len) != 0)
		log_debug("status file in %s: %s", cs->a->state_dir,
		    strerror(errno));
	free(buf);
}

/* Parse and check a configuration sent by the parent; NULL if bad. */
static struct pk_config *
collector_parse(const char *text, char *err, size_t errlen)
{
	struct pk_config *nc;
	char *msg = NULL;
	size_t mlen = 0;
	FILE *fp;
	int problems;

	if ((nc = malloc(sizeof(*nc))) == NULL ||
	    (fp = open_memstream(&msg, &mlen)) == NULL) {
		free(nc);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pk_config_defaults(nc);
	problems = pk_config_load_string(nc, text, "reload", fp);
	if (problems == 0)
		problems = pk_config_validate(nc, "reload", fp);
	fclose(fp);
	if (problems != 0) {
		snprintf(err, errlen, "%.*s", (int)strcspn(msg ? msg : "",
		    "\n"), msg ? msg : "");
		free(nc);
		nc = NULL;
	}
	free(msg);
	return nc;
}

/*
 * SIGHUP reached the parent, which checked the new configuration and sent
 * it here: build the new rules and IOC lists (as [agent] user: the files
 * are read again) and swap them in between packets.  A failure keeps the
 * running ones.  Everything else in the message needs no action here:
 * the parent restarts this process when other options changed.
 */
static void
collector_reload(struct coll_state *cs, int fd)
{
	struct pk_config *nc, *cfg = cs->a->cfg;
	char *buf, err[512];
	ssize_t r;
	int i;

	if ((buf = malloc(RELOAD_MAX + 1)) == NULL)
		return;
	r = recv(fd, buf, RELOAD_MAX, MSG_DONTWAIT | MSG_TRUNC);
	if (r <= 0) {
		free(buf);
		return;
	}
	if (r > RELOAD_MAX) {
		snprintf(err, sizeof(err), "configuration over %d bytes",
		    RELOAD_MAX);
		nc = NULL;
	} else {
		buf[r] = '\0';
		nc = collector_parse(buf, err, sizeof(err));
	}
	free(buf);
	if (nc == NULL || pk_engine_reload(cs->e, nc, err, sizeof(err)) != 0) {
		cs->reloads_failed++;
		log_warnx("reload refused by the collector: %s; keeping the "
		    "running rules and IOC lists", err);
		free(nc);
		collector_status(cs);
		return;
	}
	/* What changes live; the engine reads these from cfg. */
	cfg->rules = nc->rules;
	cfg->ioc = nc->ioc;
	cfg->vars = nc->vars;
	pk_strlcpy(cfg->agent.tlp, nc->agent.tlp, sizeof(cfg->agent.tlp));
	cfg->agent.log_level = nc->agent.log_level;
	if (!cs->a->o->debug)
		log_setlevel(nc->agent.log_level);
	for (i = 0; i < cs->nrun; i++)
		if (cs->run[i].ops->reload != NULL)
			cs->run[i].ops->reload(cs->run[i].st, cfg);
	free(cs->live);
	cs->live = nc;
	cs->reloads++;
	collector_status(cs);
}

static void tasks_report(const struct pk_texec *te);

/*
 * How long the collector's loop may sleep when no descriptor wakes it:
 * until the next once-a-second tick (engine housekeeping, collector
 * ticks, the status file), sooner when the spool has work due (a batch
 * sync, a status for the shipper: pk_spoolout_timeout) or a task runs
 * (its files are flushed and its worker looked at every turn, as
 * before).  Nothing else here runs on a timer: packets, process events,
 * hashes, the shipper's messages and reloads all come with a wake-up.
 */
static int
loop_timeout(const struct coll_state *cs, uint64_t last_tick)
{
	uint64_t now = pk_mono_us(), due = last_tick + PK_USEC;
	int ms, t;

	ms = due <= now ? 0 : (int)((due - now + 999) / 1000);
	if (cs->so != NULL && (t = pk_spoolout_timeout(cs->so, now)) >= 0 &&
	    t < ms)
		ms = t;
	if (cs->te != NULL && pk_texec_running(cs->te) > 0) {
		t = cs->so != NULL ? SPOOL_POLL_MS : MAIN_POLL_MS;
		ms = PK_MIN(ms, t);
	}
	return ms;
}

static int
run_live(struct coll_state *cs)
{
	struct pk_engine *e = cs->e;
	struct running *run = cs->run;
	int nrun = cs->nrun;
	struct pk_spoolout *so = cs->so;
	int ctl_fd = cs->a->ctl[1];
	struct pollfd pfd[PK_COLL_MAX_FDS * MAX_COLLECTORS + 2];
	int fds[PK_COLL_MAX_FDS], owner[PK_COLL_MAX_FDS * MAX_COLLECTORS + 2];
	int pending[PK_COLL_MAX_FDS * MAX_COLLECTORS + 2];
	int polled[MAX_COLLECTORS];
	int i, j, k, n, r, t, pass, eager, busy = 0, npfd = 0, changed = 0;
	uint64_t last_tick = 0, seq, recall_at = 0, now, us;

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
	/* The parent's reloads (SIGHUP). */
	if (ctl_fd >= 0) {
		pfd[npfd].fd = ctl_fd;
		pfd[npfd].events = POLLIN;
		pending[npfd] = 0;
		owner[npfd++] = -2;
	}
	collector_status(cs);
	seq = pk_engine_next_seq(e);
	while (!quit) {
		/* A collector that used its whole budget has more waiting:
		 * come straight back instead of sleeping. */
		t = busy ? 0 : loop_timeout(cs, last_tick);
		now = pk_mono_us();
		if (recall_at != 0 && t != 0)
			t = recall_at <= now ? 0 : PK_MIN(t,
			    (int)((recall_at - now + 999) / 1000));
		if (poll(pfd, (nfds_t)npfd, t) < 0 && errno != EINTR)
			fatal("poll");
		busy = 0;
		/* The recall (below) only had to wake the loop. */
		if (recall_at != 0 && pk_mono_us() >= recall_at)
			recall_at = 0;
		memset(polled, 0, sizeof(polled));
		/*
		 * Two passes.  First the collectors that wake the loop only
		 * now and then (those with recall_us): they are polled on
		 * every turn, which costs nothing when they are empty, and
		 * before the others because their events explain what the
		 * others see (a process's connect comes before its SYN, and
		 * the scan the SYNs make is attributed to that process).
		 * Then the rest, when woken or pending.
		 */
		for (k = 0; k < 2 * npfd; k++) {
			pass = k >= npfd;
			j = k % npfd;
			/* Between packets: the engine is not in use. */
			if (!pass && owner[j] == -2 &&
			    (pfd[j].revents & POLLIN)) {
				collector_reload(cs, ctl_fd);
				changed = 1;
			}
			if (owner[j] < 0)
				continue;
			eager = run[owner[j]].ops->recall_us != NULL;
			if (eager == pass || (eager && polled[owner[j]]))
				continue;
			if (!eager && !(pfd[j].revents & (POLLIN | POLLERR |
			    POLLHUP)) && !pending[j])
				continue;
			polled[owner[j]] = 1;
			r = run[owner[j]].ops->poll(run[owner[j]].st,
			    MAIN_BUDGET);
			if (r == PK_COLL_ERROR)
				quit = 1;
			if (r > 0)
				changed = 1;
			/* Events it did not wake us for may follow. */
			if (r > 0 && eager && (us = run[owner[j]].ops->recall_us(
			    run[owner[j]].st)) > 0 && (recall_at == 0 ||
			    pk_mono_us() + us < recall_at))
				recall_at = pk_mono_us() + us;
			pending[j] = r >= MAIN_BUDGET;
			busy |= pending[j];
		}
		if (so != NULL)
			pk_spoolout_tick(so, pk_mono_us());
		if (cs->te != NULL)
			pk_texec_tick(cs->te, pk_mono_us());
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
			/* The status file: every STATUS_EVERY_US while
			 * something happens (events, indicators, reloads),
			 * every STATUS_IDLE_US otherwise, which is well
			 * within the supervisor's STATUS_STALE_US. */
			if (pk_engine_next_seq(e) != seq)
				changed = 1;
			if (pk_now_us() - cs->status_us >= (changed ?
			    STATUS_EVERY_US : STATUS_IDLE_US)) {
				cs->status_us = pk_now_us();
				seq = pk_engine_next_seq(e);
				changed = 0;
				collector_status(cs);
			}
		}
		if (report) {
			report = 0;
			report_to_log(e, run, nrun);
			if (so != NULL)
				pk_spoolout_report(so, log_stat_line);
			if (cs->te != NULL)
				tasks_report(cs->te);
			if (cs->ba != NULL)
				bundle_log(cs->ba, e);
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
	collector_status(cs);
	return 0;
}

/*
 * The parent reloads on SIGHUP; a child ignores one (the parent tells the
 * collector what to reload), so `kill -HUP` of the whole process group
 * does what it does to the parent alone.  SIGUSR1 likewise: the parent
 * passes it on as PK_SUP_SIG_REPORT (supervise.h), and a child ignores a
 * SIGUSR1 of its own.
 */
static void
setup_signals(int child)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!child) {
		sigaction(SIGUSR1, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (child) {
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
		sa.sa_handler = on_child_report;
		sigaction(PK_SUP_SIG_REPORT, &sa, NULL);
	}
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
	return pk_cli_make_engine(a->cfg, a->o->rulefile, a->host_id,
	    a->host_name, a->agent_id, a->o->readfile != NULL);
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

/* What the shipper's messages reach in the collector. */
struct coll_ipc {
	struct pk_texec		*te;
	struct pk_bagent	*ba;
	struct pk_spoolout	*so;
};

static void
ipc_send_coll(struct pk_spoolout *so, const struct pk_ipc_msg *m)
{
	uint8_t buf[PK_IPC_MSG_SIZE];

	if (so->ipc_fd < 0 || m->type == 0)
		return;
	pk_ipc_encode(m, buf);
	(void)send(so->ipc_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The collector process: capture, detection, local output, spool.
 * Task messages go to the runner, bundle messages to the bundle agent
 * (between packets: this runs from the loop's spool tick). */
static void
tasks_ipc(void *arg, const struct pk_ipc_msg *m)
{
	struct coll_ipc *ci = arg;
	struct pk_ipc_msg reply;

	if (m->type == PK_IPC_BUNDLE_NEW || m->type == PK_IPC_BUNDLE_ROLLBACK) {
		if (ci->ba == NULL)
			return;
		pk_bagent_ipc(ci->ba, m, &reply);
		ipc_send_coll(ci->so, &reply);
		return;
	}
	if (ci->te != NULL)
		pk_texec_ipc(ci->te, m, pk_mono_us());
}

/* A status file changed: wake the shipper (never blocks). */
static void
tasks_notify(void *arg, uint64_t id)
{
	struct pk_spoolout *so = arg;
	struct pk_ipc_msg m = { .type = PK_IPC_TASK_STATE, .a = id };
	uint8_t buf[PK_IPC_MSG_SIZE];

	if (so->ipc_fd < 0)
		return;
	pk_ipc_encode(&m, buf);
	(void)send(so->ipc_fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * Targeted collection (docs/tasks.md, "Agent"): the runner reads the
 * task files the shipper writes into the spool, taps the engine's frames
 * for pcap tasks and hears the shipper's TASK messages.  Made after the
 * privilege drop, so its worker threads inherit the dropped credentials.
 * NULL (logged) when it cannot run: detection goes on without it.
 */
static struct pk_texec *
tasks_open(struct agent *a, struct pk_engine *e, struct pk_spoolout *so)
{
	struct pk_texec_conf tc;
	struct pk_texec *te;
	char err[256];

	memset(&tc, 0, sizeof(tc));
	tc.spool_dir = a->cfg->spool.dir;
	if (pk_task_policy_config(&tc.pol, a->cfg, err, sizeof(err)) != 0) {
		log_warnx("tasks: %s: refusing every task", err);
		pk_task_policy_default(&tc.pol);
		tc.pol.enabled = 0;
	}
	/* The link type libpcap gives "any" until a frame says otherwise. */
	tc.linktype = strcmp(a->cfg->pcap.interfaces, "any") == 0 ?
	    113 : 1;
	tc.snaplen = (uint32_t)a->cfg->pcap.snaplen;
	tc.notify = tasks_notify;
	tc.notify_arg = so;
	/* sensitivity lowers e's thresholds; proc_trace sets its process
	 * tap, which the eBPF collector calls when it runs */
	tc.engine = e;
	tc.proc_why = proc_why;
	if ((te = pk_texec_new(&tc)) == NULL) {
		log_warnx("tasks: cannot use %s/%s: tasks will not run",
		    tc.spool_dir, PK_TASKS_SUBDIR);
		return NULL;
	}
	pk_engine_set_taps(e, pk_texec_frame, pk_texec_dns, te);
	pk_texec_recover(te, pk_mono_us());
	return te;
}

/*
 * Shared-indicator bundles (docs/bundles.md, "Agent"): the bundle the
 * spool's state names runs again, and the shipper hears what runs.
 * NULL (logged) when spool/bundle cannot be made: no bundle runs.
 */
static struct pk_bagent *
bundles_open(struct agent *a, struct pk_engine *e, struct pk_spoolout *so)
{
	struct pk_bagent *ba;
	struct pk_ipc_msg m;

	if ((ba = pk_bagent_new(a->cfg->spool.dir, a->cfg->bundle.accept,
	    (size_t)a->cfg->bundle.max_entries, e)) == NULL) {
		log_warn("bundle: cannot use %s/%s: no bundle will run",
		    a->cfg->spool.dir, PK_BUNDLE_SUBDIR);
		return NULL;
	}
	pk_bagent_start(ba, &m);
	ipc_send_coll(so, &m);
	return ba;
}

static void
tasks_report(const struct pk_texec *te)
{
	struct pk_texec_stats st;

	pk_texec_stats(te, &st);
	log_info("tasks: started %llu, done %llu, failed %llu, cancelled "
	    "%llu, refused %llu, recovered_failed %llu, frames_seen %llu, "
	    "frames_matched %llu, frames_linktype %llu, dns_names %llu, "
	    "ipc_ignored %llu, file_errors %llu, proc_events %llu, "
	    "proc_rows %llu, tree_full %llu",
	    (unsigned long long)st.started, (unsigned long long)st.done,
	    (unsigned long long)st.failed, (unsigned long long)st.cancelled,
	    (unsigned long long)st.refused,
	    (unsigned long long)st.recovered_failed,
	    (unsigned long long)st.frames_seen,
	    (unsigned long long)st.frames_matched,
	    (unsigned long long)st.frames_linktype,
	    (unsigned long long)st.dns_names,
	    (unsigned long long)st.ipc_ignored,
	    (unsigned long long)st.file_errors,
	    (unsigned long long)st.proc_events,
	    (unsigned long long)st.proc_rows,
	    (unsigned long long)st.tree_full);
}

static int
collector_main(void *arg)
{
	struct agent *a = arg;
	struct pk_engine *e;
	struct pk_output_ndjson out;
	struct pk_spoolout so;
	struct running run[MAX_COLLECTORS];
	struct coll_state cs;
	struct pk_texec *te = NULL;
	struct pk_bagent *ba = NULL;
	struct coll_ipc ci;
	uint64_t keep = 0;
	int nrun, rc, i;

	memset(&so, 0, sizeof(so));	/* closed on every path below */
	memset(&ci, 0, sizeof(ci));
	/* ps and the tests tell the children apart by name. */
	(void)prctl(PR_SET_NAME, "pk-collector", 0, 0, 0);
	setup_signals(1);
	pk_ctl_forget(a->ctl_sock);
	a->ctl_sock = NULL;
	if (a->hub)
		close(a->ipc[1]);
	if (a->ctl[0] >= 0)
		close(a->ctl[0]);
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
		te = tasks_open(a, e, &so);
		ba = bundles_open(a, e, &so);
		ci.te = te;
		ci.ba = ba;
		ci.so = &so;
		so.task_fn = tasks_ipc;
		so.task_arg = &ci;
	}
	log_info("picketd %s running, host %s (%s)", PICKET_VERSION,
	    a->host_name, a->host_id);
	memset(&cs, 0, sizeof(cs));
	cs.te = te;
	cs.ba = ba;
	cs.a = a;
	cs.e = e;
	cs.run = run;
	cs.nrun = nrun;
	cs.so = a->hub ? &so : NULL;
	cs.started_us = pk_now_us();
	rc = run_live(&cs);
	free(cs.live);
	if (te != NULL) {
		pk_engine_set_taps(e, NULL, NULL, NULL);
		/* tasks end below: thresholds back, process tap cleared */
		so.task_fn = NULL;
		tasks_report(te);
		pk_texec_free(te);
	}
	so.task_fn = NULL;
	if (ba != NULL)
		bundle_log(ba, e);
	pk_bagent_free(ba);
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
	sc->status_file = a->state_dir[0] != '\0';
	sc->bundle_accept = cfg->bundle.accept;
	sc->bundle_max_entries = (size_t)cfg->bundle.max_entries;
	{
		char err[256];

		sc->tasks = pk_task_policy_config(&sc->task_policy, cfg, err,
		    sizeof(err)) == 0;
	}
	return 0;
}

/* In the root parent: a renewed certificate waiting in the spool is
 * checked and put in place of [hub] cert. */
static void
renew_install(const struct agent *a)
{
	char path[PK_CFG_PATH_MAX + 32];
	const struct pk_config *cfg = a->cfg;
	int64_t not_after;

	snprintf(path, sizeof(path), "%s/%s", cfg->spool.dir,
	    PK_SHIP_RENEWED);
	if (access(path, F_OK) != 0)
		return;
	(void)pk_renew_install(path, cfg->hub.cert, cfg->hub.key, cfg->hub.ca,
	    &not_after);
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
	setup_signals(1);
	pk_ctl_forget(a->ctl_sock);
	a->ctl_sock = NULL;
	close(a->ipc[0]);
	if (a->ctl[0] >= 0) {
		close(a->ctl[0]);
		close(a->ctl[1]);
	}
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
	/* As root, before the shipper drops its privileges. */
	sc.renew_before_us = a->cfg->hub.renew_before * PK_USEC;
	sc.renew_csr = pk_renew_prepare(a->cfg->hub.cert, a->cfg->hub.key,
	    sc.renew_before_us, &sc.cert_not_after_us);
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

/* [agent] user: whom the children become; as root only. */
static void
prepare_user(struct agent *a)
{
	char err[PK_CFG_PATH_MAX + 128];

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
}

/* The spool directory, owned by [agent] user; 0 or -1 (logged). */
static int
prepare_spool(struct agent *a)
{
	char err[PK_CFG_PATH_MAX + 128];
	int r;

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
	return 0;
}

/* The control socket is served by a root parent with a path set. */
static int
control_on(const struct pk_config *cfg)
{
	return geteuid() == 0 && cfg->agent.control_socket[0] != '\0';
}

/*
 * Where the children write their status files: the spool directory,
 * which they own, when there is a hub or a control socket to read them.
 */
static void
prepare_state_dir(struct agent *a)
{
	a->state_dir[0] = '\0';
	if (!a->hub && !control_on(a->cfg))
		return;
	if (!a->hub && prepare_spool(a) != 0) {
		log_warnx("status: no state directory, `picketd status` "
		    "shows the supervisor's data only");
		return;
	}
	pk_strlcpy(a->state_dir, a->cfg->spool.dir, sizeof(a->state_dir));
}

/* Everything the children need that must be decided once, as root. */
static int
prepare(struct agent *a)
{
	char err[PK_CFG_PATH_MAX + 128];

	a->hub = a->cfg->hub.address[0] != '\0';
	prepare_user(a);
	/* The parent hands the collector a reloaded configuration here;
	 * held like ipc, so a restarted collector has its end. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, a->ctl) != 0) {
		log_warn("socketpair");
		return -1;
	}
	if (!a->hub) {
		prepare_state_dir(a);
		return 0;
	}
	if (pk_tls_file_cn(a->cfg->hub.cert, a->agent_id, sizeof(a->agent_id),
	    err, sizeof(err)) != 0)
		log_warnx("agent id: %s; using %s until the certificate is "
		    "readable", err, a->agent_id);
	if (prepare_spool(a) != 0)
		return -1;
	prepare_state_dir(a);
	/* Created once and held by the supervisor, so a restarted child
	 * finds its end still there; messages are hints, never state. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, a->ipc) != 0) {
		log_warn("socketpair");
		return -1;
	}
	return 0;
}

/* ---- reload (SIGHUP), in the root parent ------------------------------- */

#define K_LIVE		1	/* the collector reloads it in place */
#define K_COLL		2	/* the collector restarts */
#define K_SHIP		4	/* the shipper restarts */
#define K_PARENT	8	/* the parent applies it */
#define K_REFUSE	16	/* needs a restart of picketd */
#define DIFF_MAX	64
#define DIFF_KEYLEN	80

/* What a changed key needs (docs/rules.md, "Reload"). */
static int
key_class(const char *key, const struct pk_config *o,
    const struct pk_config *n)
{
	if (strncmp(key, "rules.", 6) == 0 || strncmp(key, "ioc.", 4) == 0 ||
	    strcmp(key, "vars") == 0 || strcmp(key, "agent.tlp") == 0)
		return K_LIVE;
	if (strcmp(key, "agent.log_level") == 0)
		return K_LIVE | K_PARENT;
	if (strcmp(key, "agent.control_socket") == 0)
		return K_PARENT;
	/* A shipper to add or take away: a different process tree. */
	if (strcmp(key, "hub.address") == 0 &&
	    (o->hub.address[0] == '\0') != (n->hub.address[0] == '\0'))
		return K_REFUSE;
	if (strncmp(key, "hub.", 4) == 0)
		return K_SHIP;
	/* Both check the [tasks] policy (docs/tasks.md, "Agent"). */
	if (strncmp(key, "spool.", 6) == 0 || strncmp(key, "agent.", 6) == 0 ||
	    strncmp(key, "tasks.", 6) == 0 || strncmp(key, "bundle.", 7) == 0)
		return K_COLL | K_SHIP;
	return K_COLL;
}

static char *
config_text(const struct pk_config *c, size_t *len)
{
	char *buf = NULL;
	FILE *fp;

	*len = 0;
	if ((fp = open_memstream(&buf, len)) == NULL)
		return NULL;
	pk_config_print(c, fp);
	fclose(fp);
	return buf;
}

/*
 * The keys ("section.key", "vars") whose normalised values differ: both
 * texts come from the same option table, line for line up to [vars].
 */
static int
config_diff(const struct pk_config *o, const struct pk_config *n,
    char keys[][DIFF_KEYLEN], int max)
{
	char *ta, *tb, *pa, *pb, sec[64] = "";
	size_t la, lb, len;
	int nk = 0;

	ta = config_text(o, &len);
	tb = config_text(n, &len);
	for (pa = ta, pb = tb; pa != NULL && pb != NULL && *pa != '\0' &&
	    *pb != '\0' && nk < max; pa += la + (pa[la] != '\0'),
	    pb += lb + (pb[lb] != '\0')) {
		la = strcspn(pa, "\n");
		lb = strcspn(pb, "\n");
		if (pa[0] == '[') {
			snprintf(sec, sizeof(sec), "%.*s", (int)(la > 2 ?
			    la - 2 : 0), pa + 1);
			if (strcmp(sec, "vars") == 0) {
				if (strcmp(pa, pb) != 0)
					pk_strlcpy(keys[nk++], "vars",
					    DIFF_KEYLEN);
				break;
			}
			continue;
		}
		if (la == lb && memcmp(pa, pb, la) == 0)
			continue;
		snprintf(keys[nk++], DIFF_KEYLEN, "%s.%.*s", sec,
		    (int)strcspn(pa, " ="), pa);
	}
	free(ta);
	free(tb);
	return nk;
}

/* The first line of what a check printed since off, as the reason. */
static void
first_line(FILE *fp, char **buf, size_t off, char *reason, size_t len)
{
	fflush(fp);
	if (reason[0] != '\0' || *buf == NULL)
		return;
	snprintf(reason, len, "%.*s", (int)strcspn(*buf + off, "\n"),
	    *buf + off);
}

/*
 * What picketd -n checks, on the new file: the INI, the rule files, the
 * IOC lists and, with [hub] address, the certificates.  Every message is
 * logged; the first problem becomes the reason.  0 or the problem count.
 */
static int
reload_check(struct pk_config *nc, const struct opts *o, char *reason,
    size_t rlen)
{
	char *buf = NULL, *line, *next, err[256];
	size_t blen = 0, off;
	int problems = 0, p;
	FILE *fp;

	reason[0] = '\0';
	if ((fp = open_memstream(&buf, &blen)) == NULL) {
		snprintf(reason, rlen, "out of memory");
		return 1;
	}
	pk_config_defaults(nc);
	if (o->config != NULL)
		problems += pk_config_load(nc, o->config, fp);
	if (o->home_net != NULL && pk_config_set(nc, "network", "home_net",
	    o->home_net, err, sizeof(err)) != 0) {
		fprintf(fp, "--home-net: %s\n", err);
		problems++;
	}
	if (problems == 0)
		problems += pk_config_validate(nc,
		    o->config ? o->config : "(defaults)", fp);
	first_line(fp, &buf, 0, reason, problems ? rlen : 0);
	if (problems == 0 && nc->ioc.enabled) {
		fflush(fp);
		off = blen;
		if ((p = pk_ioc_check(nc, fp)) > 0)
			first_line(fp, &buf, off, reason, rlen);
		problems += p;
	}
	if (problems == 0 && (nc->rules.enabled || o->rulefile != NULL)) {
		fflush(fp);
		off = blen;
		if ((p = pk_rules_check(nc, o->rulefile, fp)) > 0)
			first_line(fp, &buf, off, reason, rlen);
		problems += p;
	}
	if (problems == 0 && nc->hub.address[0] != '\0') {
		fflush(fp);
		off = blen;
		if ((p = pk_cli_check_hub(nc, fp)) > 0)
			first_line(fp, &buf, off, reason, rlen);
		problems += p;
	}
	fclose(fp);
	for (line = buf; problems && line != NULL && *line != '\0';
	    line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		log_warnx("reload: %s", line);
	}
	free(buf);
	if (problems != 0 && reason[0] == '\0')
		snprintf(reason, rlen, "%d problem%s", problems,
		    problems == 1 ? "" : "s");
	return problems;
}

/* Hand the collector the running configuration to reload; 0 or -1. */
static int
reload_send(struct agent *a)
{
	size_t len;
	char *text = config_text(a->cfg, &len);
	ssize_t r = -1;

	if (text != NULL && len <= RELOAD_MAX)
		r = send(a->ctl[0], text, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	free(text);
	return r == (ssize_t)len ? 0 : -1;
}

static void control_reopen(struct agent *a);

/* "a, b, c" of the keys with any of the bits in mask. */
static void
key_list(char keys[][DIFF_KEYLEN], const int *cls, int nk, int mask,
    char *out, size_t len)
{
	size_t used = 0;
	int i, n;

	out[0] = '\0';
	for (i = 0; i < nk; i++) {
		if (!(cls[i] & mask))
			continue;
		n = snprintf(out + used, len - used, "%s%s",
		    used ? ", " : "", keys[i]);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}

static void
reload_refused(struct agent *a, const char *reason)
{
	a->reloads_refused++;
	log_warnx("reload refused: %s; keeping the running configuration",
	    reason);
	snprintf(a->last_reload, sizeof(a->last_reload), "refused: %s",
	    reason);
}

/*
 * SIGHUP: check the file as picketd -n does; refuse it whole, or take it
 * and apply each change where it belongs: rules and lists in the running
 * collector, other options by restarting the child that reads them
 * (collector first; its spool and sequence numbers stay on disk).
 */
static void
reload(struct agent *a, struct pk_sup_child *kids, int n)
{
	char keys[DIFF_MAX][DIFF_KEYLEN], reason[512], list[1024];
	int cls[DIFF_MAX], nk, i, mask = 0, ship = n > 1;
	struct pk_config *nc;

	log_info("reload: reading %s", a->o->config ? a->o->config :
	    "(defaults)");
	if ((nc = malloc(sizeof(*nc))) == NULL) {
		reload_refused(a, "out of memory");
		return;
	}
	if (reload_check(nc, a->o, reason, sizeof(reason)) != 0) {
		reload_refused(a, reason);
		free(nc);
		return;
	}
	nk = config_diff(a->cfg, nc, keys, DIFF_MAX);
	for (i = 0; i < nk; i++)
		mask |= cls[i] = key_class(keys[i], a->cfg, nc);
	if (mask & K_REFUSE) {
		key_list(keys, cls, nk, K_REFUSE, list, sizeof(list));
		snprintf(reason, sizeof(reason), "%.200s: adding or removing the "
		    "hub needs a restart of picketd", list);
		reload_refused(a, reason);
		free(nc);
		return;
	}
	*a->cfg = *nc;
	free(nc);
	a->reloads++;
	snprintf(a->last_reload, sizeof(a->last_reload), "accepted, %d "
	    "option%s changed", nk, nk == 1 ? "" : "s");
	log_info("reload: configuration accepted, %d option%s changed", nk,
	    nk == 1 ? "" : "s");
	if (mask & K_PARENT) {
		if (!a->o->debug)
			log_setlevel(a->cfg->agent.log_level);
		control_reopen(a);
	}
	if (mask & (K_COLL | K_SHIP)) {
		/* Who the children are and where they write, as at start. */
		derive_identity(a->cfg, a->host_id, sizeof(a->host_id),
		    a->host_name, sizeof(a->host_name));
		if (!a->hub)
			pk_strlcpy(a->agent_id, a->host_id,
			    sizeof(a->agent_id));
		prepare_user(a);
		if (a->hub)
			(void)prepare_spool(a);
		prepare_state_dir(a);
	}
	if (mask & K_COLL) {
		key_list(keys, cls, nk, K_COLL, list, sizeof(list));
		log_info("reload: restarting the collector for %s", list);
		pk_sup_restart(&kids[0]);
	} else if (reload_send(a) != 0) {
		/* Rule and list files may have changed even when no option
		 * did: the collector always rereads them. */
		log_warnx("reload: cannot reach the collector, restarting it");
		pk_sup_restart(&kids[0]);
	}
	if (ship && (mask & K_SHIP)) {
		key_list(keys, cls, nk, K_SHIP, list, sizeof(list));
		log_info("reload: restarting the shipper for %s", list);
		pk_sup_restart(&kids[1]);
	}
}

/* ---- picketd status, in the root parent -------------------------------- */

/* A status file older than this is shown as stale (the child is stuck
 * or cannot write). */
#define STATUS_STALE_US	(10 * PK_USEC)

struct child_view {
	const struct pk_sup_child *c;
	char	*st;		/* its status file, NULL none */
	int	 stale;
	uint64_t age_s;
};

static void
child_view(const struct agent *a, int i, const char *file,
    struct child_view *v)
{
	uint64_t upd, now = pk_now_us();

	memset(v, 0, sizeof(*v));
	v->c = i < a->nkids ? &a->kids[i] : NULL;
	if (a->state_dir[0] == '\0' || v->c == NULL)
		return;
	v->st = pk_status_read(a->state_dir, file);
	if (v->st == NULL)
		return;
	upd = pk_status_u64(v->st, "updated_us");
	v->age_s = now > upd ? (now - upd) / PK_USEC : 0;
	/* A file from an earlier process is not this one's. */
	v->stale = now - upd > STATUS_STALE_US || v->c->pid == 0 ||
	    (int)pk_status_u64(v->st, "pid") != v->c->pid;
}

static uint64_t
mono_now_ms(void)
{
	return pk_mono_us() / 1000;
}

static void
dur_fmt(uint64_t s, char *out, size_t len)
{
	if (s >= 86400)
		snprintf(out, len, "%llud %lluh", (unsigned long long)(s /
		    86400), (unsigned long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, len, "%lluh %llum", (unsigned long long)(s /
		    3600), (unsigned long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(out, len, "%llum %llus", (unsigned long long)(s / 60),
		    (unsigned long long)(s % 60));
	else
		snprintf(out, len, "%llus", (unsigned long long)s);
}

static void
child_exit(const struct pk_sup_child *c, char *out, size_t len)
{
	if (c->started_ms == 0 || (c->restarts == 0 && c->pid != 0))
		pk_strlcpy(out, "none", len);
	else
		pk_sup_describe(c->last_status, out, len);
}

static uint64_t
child_up_s(const struct pk_sup_child *c)
{
	return c->pid != 0 ? (mono_now_ms() - c->started_ms) / 1000 : 0;
}

static void
status_text_child(FILE *fp, const char *name, const struct child_view *v)
{
	char up[32], ex[128];

	if (v->c == NULL) {
		fprintf(fp, "%s: not configured\n", name);
		return;
	}
	child_exit(v->c, ex, sizeof(ex));
	dur_fmt(child_up_s(v->c), up, sizeof(up));
	if (v->c->pid != 0)
		fprintf(fp, "%s: running, pid %d, up %s, %u restart%s, "
		    "last exit %s\n", name, v->c->pid, up, v->c->restarts,
		    v->c->restarts == 1 ? "" : "s", ex);
	else
		fprintf(fp, "%s: not running (restarting), %u restart%s, "
		    "last exit %s\n", name, v->c->restarts,
		    v->c->restarts == 1 ? "" : "s", ex);
	if (v->st == NULL)
		fprintf(fp, "  status: none yet\n");
	else if (v->stale)
		fprintf(fp, "  status: stale, written %llus ago\n",
		    (unsigned long long)v->age_s);
}

/* The hub's state for the exit status: 0 connected (or no hub), 1 not. */
static int
hub_code(const struct agent *a, const struct child_view *sh)
{
	char st[32];

	if (!a->hub)
		return 0;
	if (sh->st == NULL || sh->stale ||
	    pk_status_get(sh->st, "state", st, sizeof(st)) != 0)
		return 1;
	return strcmp(st, "connected") == 0 ? 0 : 1;
}

static void
status_text(struct agent *a, FILE *fp, const struct child_view *co,
    const struct child_view *sh)
{
	char up[32], ts[PK_TIMESTRLEN], v[512], err[256];
	const char *c = co->st, *h = sh->st;
	uint64_t segs;

	dur_fmt((pk_now_us() - a->started_us) / PK_USEC, up, sizeof(up));
	fprintf(fp, "picketd %s: running, pid %d, up %s (since %s)\n",
	    PICKET_VERSION, (int)getpid(), up, pk_time_format(a->started_us,
	    ts, sizeof(ts)));
	fprintf(fp, "config: %s, %u reload%s, %u refused%s%s%s\n",
	    a->o->config ? a->o->config : "(defaults)", a->reloads,
	    a->reloads == 1 ? "" : "s", a->reloads_refused,
	    a->last_reload[0] ? " (last: " : "", a->last_reload,
	    a->last_reload[0] ? ")" : "");
	status_text_child(fp, "collector", co);
	if (c != NULL && !co->stale) {
		pk_status_get(c, "collectors", v, sizeof(v));
		fprintf(fp, "  collectors active: %s\n", v[0] ? v : "none");
		fprintf(fp, "  packets: %llu, indicators: %llu\n",
		    (unsigned long long)pk_status_u64(c, "packets"),
		    (unsigned long long)pk_status_u64(c, "indicators"));
		pk_status_get(c, "rules_loaded", v, sizeof(v));
		pk_status_get(c, "ioc_entries", err, sizeof(err));
		fprintf(fp, "  rules: %s, IOC entries: %s, reloads: %llu, "
		    "refused: %llu\n", v[0] == '-' ? "off" : v,
		    err[0] == '-' ? "off" : err,
		    (unsigned long long)pk_status_u64(c, "reloads"),
		    (unsigned long long)pk_status_u64(c, "reloads_failed"));
		fprintf(fp, "  drops: kernel %llu, agent %llu, spool %llu\n",
		    (unsigned long long)(pk_status_sum(c, "pcap.", ".dropped") +
		    pk_status_sum(c, "pcap.", ".if_dropped")),
		    (unsigned long long)pk_status_sum(c, "pcap.",
		    ".agent_dropped"),
		    (unsigned long long)pk_status_u64(c,
		    "spool.dropped_full_records"));
		if (a->hub) {
			segs = pk_status_u64(c, "spool.segments");
			fprintf(fp, "  spool: %llu bytes in %llu segment%s, "
			    "oldest seq %llu, next seq %llu\n",
			    (unsigned long long)pk_status_u64(c,
			    "spool.disk_bytes"), (unsigned long long)segs,
			    segs == 1 ? "" : "s",
			    (unsigned long long)pk_status_u64(c,
			    "spool.oldest_seq"),
			    (unsigned long long)pk_status_u64(c,
			    "spool.next_seq"));
		}
	}
	if (!a->hub) {
		fprintf(fp, "shipper: not configured (no [hub] address)\n");
		return;
	}
	status_text_child(fp, "shipper", sh);
	if (h == NULL || sh->stale) {
		fprintf(fp, "  hub: %s, state unknown\n", a->cfg->hub.address);
		return;
	}
	pk_status_get(h, "state", v, sizeof(v));
	pk_status_get(h, "last_error", err, sizeof(err));
	fprintf(fp, "  hub: %s %s since %s", v, a->cfg->hub.address,
	    pk_time_format(pk_status_u64(h, "since_us"), ts, sizeof(ts)));
	if (strcmp(v, "connected") != 0 && err[0] != '\0')
		fprintf(fp, ", last error: %s", err);
	fputc('\n', fp);
	if (pk_status_u64(h, "last_ack_us") != 0)
		fprintf(fp, "  last ack: seq %llu at %s\n",
		    (unsigned long long)pk_status_u64(h, "acked_seq"),
		    pk_time_format(pk_status_u64(h, "last_ack_us"), ts,
		    sizeof(ts)));
	else
		fprintf(fp, "  last ack: none since the shipper started "
		    "(acknowledged up to seq %llu)\n",
		    (unsigned long long)pk_status_u64(h, "acked_seq"));
}

static void
json_child(struct json *j, const char *key, const struct child_view *v)
{
	char ex[128];

	if (v->c == NULL) {
		json_nullv(j, key);
		return;
	}
	json_obj_begin(j, key);
	json_bool(j, "running", v->c->pid != 0);
	json_u64(j, "pid", (uint64_t)(v->c->pid > 0 ? v->c->pid : 0));
	json_u64(j, "uptime_s", child_up_s(v->c));
	json_u64(j, "restarts", v->c->restarts);
	child_exit(v->c, ex, sizeof(ex));
	json_str(j, "last_exit", ex, 0);
	if (v->st == NULL)
		json_nullv(j, "status_age_s");
	else
		json_u64(j, "status_age_s", v->age_s);
	json_bool(j, "status_stale", v->st == NULL || v->stale);
	json_obj_end(j);
}

static void
status_json(struct agent *a, FILE *fp, const struct child_view *co,
    const struct child_view *sh)
{
	char *buf, v[512], ts[PK_TIMESTRLEN];
	const char *c = co->st != NULL && !co->stale ? co->st : NULL;
	const char *h = sh->st != NULL && !sh->stale ? sh->st : NULL;
	struct json j;
	long len;

	if ((buf = malloc(PK_CTL_ANSWER_MAX / 2)) == NULL)
		return;
	json_init(&j, buf, PK_CTL_ANSWER_MAX / 2);
	json_obj_begin(&j, NULL);
	json_str(&j, "version", PICKET_VERSION, 0);
	json_u64(&j, "pid", (uint64_t)getpid());
	json_u64(&j, "uptime_s", (pk_now_us() - a->started_us) / PK_USEC);
	json_str(&j, "started", pk_time_format(a->started_us, ts,
	    sizeof(ts)), 0);
	json_str(&j, "config", a->o->config ? a->o->config : "", 0);
	json_u64(&j, "reloads", a->reloads);
	json_u64(&j, "reloads_refused", a->reloads_refused);
	json_str(&j, "last_reload", a->last_reload, 0);
	json_child(&j, "collector", co);
	json_child(&j, "shipper", sh);
	json_arr_begin(&j, "collectors");
	if (c != NULL && pk_status_get(c, "collectors", v, sizeof(v)) == 0) {
		char *tok, *next;

		for (tok = v; tok != NULL && *tok != '\0'; tok = next) {
			if ((next = strchr(tok, ',')) != NULL)
				*next++ = '\0';
			json_str(&j, NULL, tok, 0);
		}
	}
	json_arr_end(&j);
	if (c != NULL) {
		json_u64(&j, "packets", pk_status_u64(c, "packets"));
		json_u64(&j, "indicators", pk_status_u64(c, "indicators"));
		json_i64(&j, "rules", pk_status_get(c, "rules_loaded", v,
		    sizeof(v)) == 0 && v[0] != '-' ? (int64_t)pk_status_u64(c,
		    "rules_loaded") : -1);
		json_i64(&j, "ioc_entries", pk_status_get(c, "ioc_entries", v,
		    sizeof(v)) == 0 && v[0] != '-' ? (int64_t)pk_status_u64(c,
		    "ioc_entries") : -1);
		if (pk_status_get(c, "bundle_running", v, sizeof(v)) == 0) {
			static const char *const bk[] = { "bundle_running",
			    "bundle_previous", "bundles_applied",
			    "bundles_refused", "bundles_rolled_back",
			    "bundle_entries", "bundle_entries_ignored",
			    "bundle_corrupt", "shared_matches" };
			size_t k;

			json_obj_begin(&j, "bundle");
			for (k = 0; k < PK_NELEM(bk); k++)
				json_u64(&j, bk[k], pk_status_u64(c, bk[k]));
			json_obj_end(&j);
		}
		json_obj_begin(&j, "drops");
		json_u64(&j, "kernel", pk_status_sum(c, "pcap.", ".dropped") +
		    pk_status_sum(c, "pcap.", ".if_dropped"));
		json_u64(&j, "agent", pk_status_sum(c, "pcap.",
		    ".agent_dropped"));
		json_u64(&j, "spool", pk_status_u64(c,
		    "spool.dropped_full_records"));
		json_obj_end(&j);
	}
	if (c != NULL && a->hub) {
		json_obj_begin(&j, "spool");
		json_u64(&j, "bytes", pk_status_u64(c, "spool.disk_bytes"));
		json_u64(&j, "segments", pk_status_u64(c, "spool.segments"));
		json_u64(&j, "oldest_seq", pk_status_u64(c, "spool.oldest_seq"));
		json_u64(&j, "next_seq", pk_status_u64(c, "spool.next_seq"));
		json_obj_end(&j);
	}
	if (!a->hub)
		json_nullv(&j, "hub");
	else {
		json_obj_begin(&j, "hub");
		json_str(&j, "address", a->cfg->hub.address, 0);
		if (h == NULL || pk_status_get(h, "state", v, sizeof(v)) != 0)
			pk_strlcpy(v, "unknown", sizeof(v));
		json_str(&j, "state", v, 0);
		if (h != NULL) {
			json_str(&j, "since", pk_time_format(pk_status_u64(h,
			    "since_us"), ts, sizeof(ts)), 0);
			pk_status_get(h, "last_error", v, sizeof(v));
			json_str(&j, "last_error", v, 0);
			json_u64(&j, "last_ack_seq", pk_status_u64(h,
			    "acked_seq"));
			if (pk_status_u64(h, "last_ack_us") != 0)
				json_str(&j, "last_ack", pk_time_format(
				    pk_status_u64(h, "last_ack_us"), ts,
				    sizeof(ts)), 0);
			else
				json_nullv(&j, "last_ack");
		}
		json_obj_end(&j);
	}
	json_obj_end(&j);
	if ((len = json_finish(&j)) > 0)
		fprintf(fp, "%.*s\n", (int)len, buf);
	free(buf);
}

/* The control socket's answer (control.h): text or JSON, exit status. */
static int
status_answer(int req, FILE *fp, void *arg)
{
	struct agent *a = arg;
	struct child_view co, sh;
	int code;

	child_view(a, 0, PK_STATUS_COLLECTOR, &co);
	child_view(a, 1, PK_STATUS_SHIPPER, &sh);
	if (!a->hub)
		sh.c = NULL;
	code = hub_code(a, &sh);
	if (req == PK_CTL_STATUS_JSON)
		status_json(a, fp, &co, &sh);
	else
		status_text(a, fp, &co, &sh);
	free(co.st);
	free(sh.st);
	return code;
}

/* Open (or move, after a reload) the control socket as configured. */
static void
control_reopen(struct agent *a)
{
	char err[256];

	if (a->ctl_sock != NULL && control_on(a->cfg) &&
	    strcmp(pk_ctl_path(a->ctl_sock), a->cfg->agent.control_socket) ==
	    0)
		return;
	pk_ctl_close(a->ctl_sock);
	a->ctl_sock = NULL;
	if (!control_on(a->cfg))
		return;
	if ((a->ctl_sock = pk_ctl_open(a->cfg->agent.control_socket,
	    status_answer, a, err, sizeof(err))) == NULL)
		log_warnx("control socket: %s; `picketd status` will not "
		    "answer", err);
	else
		log_info("control socket: %s", a->cfg->agent.control_socket);
}

/* Supervisor hooks (supervise.h). */
static int
sup_fds(struct pollfd *pfd, int max, uint64_t *timeout_ms, void *arg)
{
	struct agent *a = arg;

	return a->ctl_sock != NULL ? pk_ctl_fds(a->ctl_sock, pfd, max,
	    timeout_ms) : 0;
}

static void
sup_ready(const struct pollfd *pfd, int n, void *arg)
{
	struct agent *a = arg;

	if (a->ctl_sock != NULL)
		pk_ctl_ready(a->ctl_sock, pfd, n);
}

static void
sup_wake(struct pk_sup_child *kids, int n, void *arg)
{
	struct agent *a = arg;
	int i;

	a->kids = kids;
	a->nkids = n;
	if (hup) {
		hup = 0;
		reload(a, kids, n);
	}
	/* SIGUSR1: each child logs its statistics (on_child_report). */
	if (report) {
		report = 0;
		for (i = 0; i < n; i++)
			if (kids[i].pid > 0 && kill((pid_t)kids[i].pid,
			    PK_SUP_SIG_REPORT) != 0 && errno != ESRCH)
				log_warn("%s: kill %d", kids[i].name,
				    kids[i].pid);
	}
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
	set.fds = sup_fds;
	set.ready = sup_ready;
	set.on_wake = sup_wake;
	a->kids = kids;
	a->nkids = n;
	a->started_us = pk_now_us();
	control_reopen(a);
	rc = pk_sup_run(kids, n, &set, &quit);
	pk_ctl_close(a->ctl_sock);
	a->ctl_sock = NULL;
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

/*
 * `picketd status [-c file] [--json]`: ask the running agent over its
 * control socket.  Exit status like systemctl's (docs/status.md): 0
 * running and connected to its hub (or none configured), 1 running but
 * the hub is not connected, 2 the agent refused or did not answer, 3 not
 * running, 4 not allowed (not root) or no control socket configured.
 */
static int
status_main(int argc, char **argv, struct pk_config *cfg)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	char err[512];
	int ch, json = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: picketd status [-c file] [--json]\n");
			return 0;
		default:
			fprintf(stderr, "usage: picketd status [-c file] "
			    "[--json]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: picketd status [-c file] [--json]\n");
		return 2;
	}
	pk_config_defaults(cfg);
	if (file != NULL && pk_config_load(cfg, file, stderr) != 0)
		return 2;
	if (cfg->agent.control_socket[0] == '\0') {
		fprintf(stderr, "picketd status: [agent] control_socket is "
		    "off in %s\n", file ? file : "the defaults");
		return 4;
	}
	rc = pk_ctl_query(cfg->agent.control_socket, json, stdout, err,
	    sizeof(err));
	if (rc >= 2) {
		fprintf(stderr, "picketd status: %s\n", err);
		if (rc == 3 && !json)
			printf("picketd: not running\n");
	}
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
	if (argc > 1 && strcmp(argv[1], "status") == 0)
		return status_main(argc - 1, argv + 1, &cfg);
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
	setup_signals(0);

	a.cfg = &cfg;
	a.o = &o;
	a.ipc[0] = a.ipc[1] = -1;
	a.ctl[0] = a.ctl[1] = -1;
	derive_identity(&cfg, a.host_id, sizeof(a.host_id), a.host_name,
	    sizeof(a.host_name));
	pk_strlcpy(a.agent_id, a.host_id, sizeof(a.agent_id));
	if (o.readfile != NULL)
		return run_file(&a);
	return run_agent(&a);
}
