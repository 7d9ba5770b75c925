/*
 * main_win32.c - picketd.exe, the Windows agent's entry point
 * (docs/windows.md): offline analysis (`-r FILE`), live capture in the
 * foreground through Npcap (collectors/pcap/wpcap_win32.c) with the
 * indicators written locally and, beside it, the ETW process session
 * (collectors/etw/etw_win32.c) feeding the process table and detections
 * Linux's eBPF collector feeds (collectors/etw/etwproc.c,
 * collectors/ebpf/procdet.c), `--list-interfaces`, the configuration
 * check (`-n`, `-nv`), `-V`, `-h` and `--config-doc`, and the same live
 * capture as a Windows service (`--service`, agent/service_win32.c;
 * `--install-service`, `--uninstall-service`), with the options,
 * output and exit status of agent/main.c (the POSIX program) for those
 * modes, over the same engine, detectors, configuration and outputs.
 * Capture files are read by the project's own reader
 * (collectors/pcap/offline.c), so -r needs no Npcap.  With [hub] address
 * set, indicators also go to the spool (agent/spoolout_win32.c) and a
 * reporting thread ships them to the hub (agent/shipper_win32.c), in live
 * runs and in -r alike (-r then waits for the hub's ACKs, at most
 * OFFLINE_ACK_WAIT_MS); the hub's shared-indicator bundles are applied
 * here, between packets, as Linux's collector does (agent/bundle_agent.c).  `picketd.exe enroll` is agent/enroll_win32.c.
 * `status` comes later and is refused here with a pointer to the
 * documentation.
 *
 * What differs from Linux, and why:
 *  - Default paths live under %ProgramData%\Picket (local configuration,
 *    rules, IOC lists, spool, certificates) and next to picketd.exe
 *    (the rules and lists the package ships), in place of /etc/picket and
 *    /usr/share/picket.  config.c's defaults are Linux paths and
 *    pk_config_load() starts from them, so they are replaced after the
 *    file is read, option by option, where the file left the default.
 *  - The host id comes from the MachineGuid the Windows installation
 *    holds (the analogue of /etc/machine-id), the host name from
 *    GetComputerNameEx.
 *  - Every file is opened in binary mode (_fmode), stdout and stderr too,
 *    so the agent reads and writes the same bytes as on Linux: NDJSON lines
 *    end in LF, and readers see a CR where the file has one (they already
 *    accept CRLF files on Linux).
 */
#include <windows.h>
#include <shlobj.h>

#include <fcntl.h>
#include <getopt.h>
#include <io.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agentcli.h"
#include "agent/bundle_agent.h"
#include "agent/config.h"
#include "agent/engine.h"
#include "agent/enroll_win32.h"
#include "agent/indicator.h"
#include "agent/ioc.h"
#include "agent/output.h"
#include "agent/service.h"
#include "agent/shipper_win32.h"
#include "agent/spoolout_win32.h"
#include "collectors/collector.h"
#include "collectors/ebpf/hash.h"
#include "collectors/ebpf/procdet.h"
#include "collectors/ebpf/proctable.h"
#include "collectors/etw/etw_win32.h"
#include "collectors/etw/etwproc.h"
#include "collectors/etw/ntpath.h"
#include "collectors/pcap/offline.h"
#include "collectors/pcap/wpcap.h"
#include "collectors/pcap/sigdet.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"
#include "transport/tls.h"

#define OFFLINE_BUDGET	4096	/* frames per poll, as agent/main.c */
#define LIVE_BUDGET	256	/* frames per poll between clock checks */
#define ETW_BUDGET	PK_ETW_QUEUE_CAP /* ETW records per loop: all queued */
#define OPEN_TRIES	12	/* the service: capture not ready at boot */
#define OPEN_RETRY_MS	5000
/* -r with [hub]: how long to wait for the hub's ACKs after the file;
 * what is not acknowledged by then stays in the spool for the next run */
#define OFFLINE_ACK_WAIT_MS	60000

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
	int		 list;		/* --list-interfaces */
	int		 service;	/* --service: under the SCM */
	int		 install;	/* 1 install, -1 uninstall */
};

static volatile LONG quit;

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: picketd [-dfhnvV] [-c file] [-o file|-] [-r capture] [-S rules]\n"
"               [--home-net cidrs] [--list-interfaces]\n"
"  -c file        configuration file (INI); built-in defaults without it\n"
"  -n             check the configuration and exit; with -v print it\n"
"  -v             verbose: with -n print the normalised configuration\n"
"  -f             stay in the foreground, log to stderr\n"
"  -d             debug logging (implies -f)\n"
"  -o file|-      also write every indicator as NDJSON to file (- = stdout)\n"
"  -r capture     analyse a pcap/pcapng file, print indicators, exit\n"
"  -S rules       load exactly this rule file instead of [rules] paths\n"
"  --home-net L   the monitored addresses (CIDR list), as [network] home_net\n"
"  --list-interfaces  the adapters Npcap can capture on, and exit\n"
"  --install-service  register the picketd service (auto start; with -c,\n"
"                 that configuration), --uninstall-service remove it\n"
"  --service      run as the service (the service control manager's form)\n"
"  --config-doc   print the configuration reference (Markdown)\n"
"  -V             print the version\n"
"  -h             this help\n"
"       picketd enroll --hub HOST:PORT --token TOKEN|- --ca CA.crt [--dir DIR]\n"
"               get this host's certificate from the hub (docs/enrollment.md)\n"
"Without -r it captures live on [pcap] interfaces through Npcap and writes\n"
"indicators to -o, [output] file or stdout, and with [hub] address to the\n"
"hub (-r too: it then waits up to 60 s for the hub's ACKs); status comes\n"
"later (docs/windows.md).\n");
}

/* Ctrl-C and Ctrl-Break: stop reading and report, as SIGINT does. */
static BOOL WINAPI
on_console(DWORD type)
{
	if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT ||
	    type == CTRL_CLOSE_EVENT) {
		InterlockedExchange(&quit, 1);
		return TRUE;
	}
	return FALSE;
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "home-net", required_argument, NULL, 'H' },
		{ "config-doc", no_argument, NULL, 'D' },
		{ "list-interfaces", no_argument, NULL, 'L' },
		{ "service", no_argument, NULL, 'W' },
		{ "install-service", no_argument, NULL, 'I' },
		{ "uninstall-service", no_argument, NULL, 'U' },
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
		case 'L':
			o->list = 1;
			break;
		case 'W':
			o->service = 1;
			break;
		case 'I':
			o->install = 1;
			break;
		case 'U':
			o->install = -1;
			break;
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

/* ---- Windows default paths ------------------------------------------------ */

/*
 * Options whose built-in default is a Linux path, and their Windows
 * defaults: %P is %ProgramData%\Picket, %I the directory of picketd.exe
 * (where the package puts the rules and lists it ships).  A list marked
 * dirs keeps only directories that exist, since the rule and IOC loaders
 * skip only their Linux default directories when they are missing.
 */
struct win_default {
	const char	*section, *key;
	size_t		 off, size;
	const char	*value;
	int		 dirs;
};

#define WD(sec, k, v, d) { #sec, #k, offsetof(struct pk_config, sec.k), \
	sizeof(((struct pk_config *)0)->sec.k), v, d }

static const struct win_default win_defaults[] = {
	WD(rules, paths, "%I\\rules,%P\\rules", 1),
	WD(ioc, paths, "%I\\ioc,%P\\ioc", 1),
	WD(spool, dir, "%P\\spool", 0),
	WD(hub, ca, "%P\\ca.crt", 0),
	WD(hub, cert, "%P\\agent.crt", 0),
	WD(hub, key, "%P\\agent.key", 0),
	/* No Unix socket and no user switch on Windows: the service's
	 * control channel and account come with the service. */
	WD(agent, control_socket, "", 0),
	WD(agent, user, "", 0),
	/* %TEMP%, Downloads and the like (collectors/etw/etwproc.h) */
	WD(process, exec_paths, PK_WIN_EXEC_PATHS, 0),
};

/* The machine's application data folder (what the MSI calls
 * CommonAppDataFolder), whatever the process's environment says: a
 * service's environment may not have %ProgramData%. */
static void
program_data(char *out, size_t len)
{
	char pd[MAX_PATH];

	if (SHGetFolderPathA(NULL, CSIDL_COMMON_APPDATA, NULL,
	    SHGFP_TYPE_CURRENT, pd) != S_OK) {
		DWORD n = GetEnvironmentVariableA("ProgramData", pd,
		    sizeof(pd));

		if (n == 0 || n >= sizeof(pd))
			pk_strlcpy(pd, "C:\\ProgramData", sizeof(pd));
	}
	snprintf(out, len, "%s\\Picket", pd);
}

static void
exe_dir(char *out, size_t len)
{
	char p[MAX_PATH], *slash;
	DWORD n = GetModuleFileNameA(NULL, p, sizeof(p));

	if (n == 0 || n >= sizeof(p)) {
		pk_strlcpy(out, ".", len);
		return;
	}
	if ((slash = strrchr(p, '\\')) != NULL)
		*slash = '\0';
	pk_strlcpy(out, p, len);
}

/* Append s to out (len bytes), cut if it does not fit. */
static void
append(char *out, size_t len, const char *s)
{
	size_t n = strlen(out);

	if (n + 1 < len)
		pk_strlcpy(out + n, s, len - n);
}

/* Expand %P and %I in v; a list with dirs keeps existing directories. */
static void
expand_default(const struct win_default *d, char *out, size_t len)
{
	char pd[MAX_PATH + 16], ed[MAX_PATH], one[PK_CFG_PATH_MAX], *o;
	const char *s = d->value, *e;
	DWORD attr;
	size_t n;

	program_data(pd, sizeof(pd));
	exe_dir(ed, sizeof(ed));
	out[0] = '\0';
	while (*s != '\0') {
		e = strchr(s, ',');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		one[0] = '\0';
		o = one;
		if (n >= 2 && s[0] == '%' && (s[1] == 'P' || s[1] == 'I')) {
			pk_strlcpy(one, s[1] == 'P' ? pd : ed, sizeof(one));
			o = one + strlen(one);
			s += 2;
			n -= 2;
		}
		if (n < sizeof(one) - (size_t)(o - one)) {
			memcpy(o, s, n);
			o[n] = '\0';
		}
		attr = GetFileAttributesA(one);
		if (!d->dirs || (attr != INVALID_FILE_ATTRIBUTES &&
		    (attr & FILE_ATTRIBUTE_DIRECTORY))) {
			if (out[0] != '\0')
				append(out, len, ",");
			append(out, len, one);
		}
		s += n;
		if (*s == ',')
			s++;
	}
}

/* Where the file left a Linux default, put the Windows one. */
static int
apply_win_defaults(struct pk_config *cfg)
{
	static struct pk_config def;	/* large: port bitmaps */
	char val[PK_CFG_PATH_MAX], err[256];
	size_t i;
	int problems = 0;

	pk_config_defaults(&def);
	for (i = 0; i < PK_NELEM(win_defaults); i++) {
		const struct win_default *d = &win_defaults[i];
		const char *now = (const char *)cfg + d->off;

		if (strncmp(now, (const char *)&def + d->off, d->size) != 0)
			continue;
		expand_default(d, val, sizeof(val));
		if (pk_config_set(cfg, d->section, d->key, val, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "default %s.%s: %s\n", d->section,
			    d->key, err);
			problems++;
		}
	}
	return problems;
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
	problems += apply_win_defaults(cfg);
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

/* ---- identity --------------------------------------------------------------- */

/*
 * The installation's MachineGuid (64-bit view of the registry, whatever
 * the process is): set once by Windows setup, kept across reboots and
 * renames, as /etc/machine-id is on Linux.
 */
static int
machine_guid(char *out, size_t len)
{
	HKEY k;
	DWORD type, n = (DWORD)len;
	LONG r;

	if (RegOpenKeyExA(HKEY_LOCAL_MACHINE,
	    "SOFTWARE\\Microsoft\\Cryptography", 0,
	    KEY_QUERY_VALUE | KEY_WOW64_64KEY, &k) != ERROR_SUCCESS)
		return -1;
	r = RegQueryValueExA(k, "MachineGuid", NULL, &type, (BYTE *)out, &n);
	RegCloseKey(k);
	if (r != ERROR_SUCCESS || type != REG_SZ || n == 0 || n > len)
		return -1;
	out[n - 1] = '\0';
	return out[0] != '\0' ? 0 : -1;
}

/* As agent/main.c's derive_identity(), from Windows' sources. */
static void
derive_identity(const struct pk_config *cfg, char *host_id, size_t idlen,
    char *host_name, size_t namelen)
{
	struct pk_indicator tmp;
	char mid[128] = "";
	DWORD n = (DWORD)namelen;

	if (cfg->agent.host_name[0] != '\0')
		pk_strlcpy(host_name, cfg->agent.host_name, namelen);
	else if (!GetComputerNameExA(ComputerNameDnsHostname, host_name, &n) ||
	    host_name[0] == '\0')
		pk_strlcpy(host_name, "localhost", namelen);
	host_name[namelen - 1] = '\0';
	if (cfg->agent.host_id[0] != '\0') {
		pk_strlcpy(host_id, cfg->agent.host_id, idlen);
		return;
	}
	if (machine_guid(mid, sizeof(mid)) != 0)
		pk_strlcpy(mid, host_name, sizeof(mid));
	memset(&tmp, 0, sizeof(tmp));
	pk_indicator_fingerprint(&tmp, mid, strlen(mid));
	pk_strlcpy(host_id, tmp.fingerprint, idlen);
}

/* ---- -n -------------------------------------------------------------------- */

/* ---- -r -------------------------------------------------------------------- */

/* -o / [output] file; -r without either writes to stdout. */
static int
open_output(struct pk_engine *e, const struct opts *o,
    const struct pk_config *cfg, struct pk_output_ndjson *out)
{
	const char *outpath = o->output != NULL ? o->output : cfg->output.file;

	if (outpath[0] == '\0')
		outpath = "-";
	if (pk_output_ndjson_open(out, outpath, 0) != 0) {
		log_warn("output %s", outpath);
		return -1;
	}
	pk_engine_add_output(e, pk_output_ndjson_write, out);
	return 0;
}

/* What a run reads packets into and writes indicators to. */
struct run {
	struct pk_engine	*e;
	struct pk_output_ndjson	 out;
	/* [hub] address set: the spool, the reporting thread */
	int			 hub;
	struct pk_wlink		 link;
	struct pk_wspool	 spool;
	struct pk_wship		*ship;
	struct pk_bagent	*ba;		/* shared-indicator bundles */
	/* live with [process] enabled and ETW available; else NULL */
	struct pk_etw		*etw;
	struct pk_procdet	*det;
	struct pk_hasher	*hasher;
	struct pk_etwproc	*feed;
	struct pk_iocset	*ioc;
};

/*
 * Shared-indicator bundles (docs/bundles.md, "The agent"), as Linux's
 * collector runs them: the bundle spool\bundle\state names runs again
 * before the first packet.  Made before the reporting thread starts, so
 * the two never write and read the state file at once here.  On failure
 * (logged) no bundle runs and the shipper refuses every CONFIG.
 */
static void
bundles_open(struct run *run, const struct pk_config *cfg)
{
	struct pk_ipc_msg m;

	if ((run->ba = pk_bagent_new(cfg->spool.dir, cfg->bundle.accept,
	    (size_t)cfg->bundle.max_entries, run->e)) == NULL) {
		log_warn("bundle: cannot use %s\\%s: no bundle will run",
		    cfg->spool.dir, PK_BUNDLE_SUBDIR);
		return;
	}
	pk_bagent_start(run->ba, &m);	/* the shipper reads the state */
	EnterCriticalSection(&run->link.mu);
	run->link.bundles = 1;
	LeaveCriticalSection(&run->link.mu);
}

/*
 * Between packets: a request the reporting thread left in the link is
 * applied (or refused) here, on the thread that runs the engine, and
 * its BUNDLE_STATE goes back the same way (Linux: tasks_ipc).
 */
static void
bundle_tick(struct run *run)
{
	struct pk_ipc_msg req, reply;

	if (run->ba == NULL)
		return;
	EnterCriticalSection(&run->link.mu);
	req = run->link.bundle_req;
	run->link.bundle_req.type = 0;
	LeaveCriticalSection(&run->link.mu);
	if (req.type == 0)
		return;
	pk_bagent_ipc(run->ba, &req, &reply);
	if (reply.type == 0)
		return;
	EnterCriticalSection(&run->link.mu);
	run->link.bundle_ans = reply;
	LeaveCriticalSection(&run->link.mu);
}

/*
 * -r: wait for the hub's ACKs of everything up to last (bounded by
 * OFFLINE_ACK_WAIT_MS), applying a bundle the hub sends meanwhile, until
 * the reporting thread took its answer.  1 when all was ACKed.
 */
static int
offline_wait(struct run *run, uint64_t last)
{
	uint64_t until = pk_mono_us() + OFFLINE_ACK_WAIT_MS * 1000ULL;
	int acked = 0, busy;

	for (;;) {
		bundle_tick(run);
		if (!acked)
			acked = pk_wship_wait_acked(run->ship, last, 0);
		EnterCriticalSection(&run->link.mu);
		busy = run->link.bundle_req.type != 0 ||
		    run->link.bundle_ans.type != 0;
		LeaveCriticalSection(&run->link.mu);
		if ((acked && !busy) || pk_mono_us() >= until)
			return acked;
		Sleep(50);
	}
}

/*
 * [hub] address set: the spool as an engine output and the reporting
 * thread, as Linux's collector and shipper (docs/windows.md).  A failure
 * is logged and the run goes on writing locally: detection never waits
 * on reporting.
 */
static void
report_begin(struct run *run, const struct pk_config *cfg,
    const char *agent_id, const char *host_name)
{
	struct pk_wship_conf sc;
	char err[PK_TLS_ERRLEN + 64];

	memset(&sc, 0, sizeof(sc));
	if (pk_config_split_hostport(cfg->hub.address, sc.host,
	    sizeof(sc.host), &sc.port) != 0) {
		log_warnx("hub: bad [hub] address %s", cfg->hub.address);
		return;
	}
	if (cfg->hub.proxy[0] != '\0' && pk_config_split_hostport(
	    cfg->hub.proxy, sc.proxy_host, sizeof(sc.proxy_host),
	    &sc.proxy_port) != 0) {
		log_warnx("hub: bad [hub] proxy %s", cfg->hub.proxy);
		return;
	}
	pk_strlcpy(sc.server_name, cfg->hub.server_name[0] ?
	    cfg->hub.server_name : sc.host, sizeof(sc.server_name));
	sc.spool_dir = cfg->spool.dir;
	sc.spool_fsync = pk_config_spool_sync(cfg) != PK_SPOOL_SYNC_NEVER;
	sc.connect_timeout_ms = (uint32_t)cfg->hub.connect_timeout * 1000;
	sc.backoff_base_ms = (uint32_t)cfg->hub.backoff_base * 1000;
	sc.backoff_cap_ms = (uint32_t)(cfg->hub.backoff_cap > 86400 ? 86400 :
	    cfg->hub.backoff_cap) * 1000;
	sc.batch_records = (uint32_t)cfg->hub.batch_records;
	sc.batch_bytes = (uint32_t)cfg->hub.batch_bytes;
	sc.level = (int)cfg->hub.compression;
	pk_strlcpy(sc.agent_id, agent_id, sizeof(sc.agent_id));
	pk_strlcpy(sc.host_name, host_name, sizeof(sc.host_name));
	sc.renew_before_us = cfg->hub.renew_before * PK_USEC;
	sc.tls.ca_file = cfg->hub.ca;
	sc.tls.cert_file = cfg->hub.cert;
	sc.tls.key_file = cfg->hub.key;
	sc.tls.crl_file = cfg->hub.crl[0] ? cfg->hub.crl : NULL;
	sc.tls.spki_pin = cfg->hub.pin[0] ? cfg->hub.pin : NULL;
	sc.bundle_accept = cfg->bundle.accept;
	sc.bundle_max_entries = (size_t)cfg->bundle.max_entries;
	pk_wlink_init(&run->link);
	run->hub = 1;
	if (pk_wspool_open(&run->spool, cfg, run->e, &run->link) != 0)
		return;
	pk_engine_add_output(run->e, pk_wspool_write, &run->spool);
	bundles_open(run, cfg);
	if ((run->ship = pk_wship_start(&sc, &run->link, err,
	    sizeof(err))) == NULL)
		log_warnx("hub: %s: indicators stay in the spool", err);
}

static int
run_begin(struct run *run, struct pk_config *cfg, const struct opts *o,
    const char *host_id, const char *host_name, const char *agent_id,
    int offline)
{
	memset(run, 0, sizeof(*run));
	if ((run->e = pk_cli_make_engine(cfg, o->rulefile, host_id,
	    host_name, agent_id, offline)) == NULL)
		return -1;
	if (open_output(run->e, o, cfg, &run->out) != 0) {
		pk_engine_free(run->e);
		return -1;
	}
	if (cfg->hub.address[0] != '\0')
		report_begin(run, cfg, agent_id, host_name);
	return 0;
}

/*
 * The end of reporting, after the engine's last indicator: the spool
 * synced, -r waiting for the hub's ACKs (bounded), the reporting thread
 * stopped (it drains for up to 5 s and says goodbye), the counters.
 */
static void
report_end(struct run *run, int offline, FILE *stats)
{
	uint64_t last;

	if (!run->hub)
		return;
	pk_wspool_sync(&run->spool);
	last = pk_wspool_last_seq(&run->spool);
	if (run->ship != NULL && offline && stats != NULL && last > 0) {
		if (offline_wait(run, last))
			log_info("hub: every record up to seq %llu "
			    "acknowledged", (unsigned long long)last);
		else
			log_warnx("hub: not every record acknowledged within "
			    "%d s: the rest stays in the spool for the next "
			    "run", OFFLINE_ACK_WAIT_MS / 1000);
	}
	pk_wship_stop(run->ship, stats);
	run->ship = NULL;
	if (stats != NULL)
		pk_wspool_report(&run->spool, stats);
	if (stats != NULL && run->ba != NULL)
		pk_bagent_report(run->ba,
		    pk_engine_stats(run->e)->shared_matches, stats);
	pk_bagent_free(run->ba);
	run->ba = NULL;
	pk_wspool_close(&run->spool);
	pk_wlink_free(&run->link);
	run->hub = 0;
}

/*
 * The end of a run (st NULL: the source never opened): END for every
 * open indicator at flush_us, the statistics lines Linux prints, and
 * everything closed.  The exit status for the collector's last answer.
 */
static int
run_end(struct run *run, const struct pk_collector_ops *ops, void *st,
    uint64_t flush_us, int r, int offline)
{
	if (st != NULL) {
		if (run->feed != NULL) {
			(void)pk_etw_poll(run->etw, ETW_BUDGET);
			pk_etwproc_drain(run->feed, flush_us);
			pk_procdet_flush(run->det, flush_us);
		}
		pk_engine_flush(run->e, flush_us);
		ops->stats(st, stderr);
		if (run->etw != NULL)
			pk_etw_stats(run->etw, stderr);
		if (run->feed != NULL) {
			pk_etwproc_stats(run->feed, stderr);
			pk_procdet_stats(run->det, stderr);
			pk_hasher_stats(run->hasher, stderr);
		}
		pk_engine_report(run->e, stderr);
		/* after the collector: it may report while it closes */
		ops->close(st);
		report_end(run, offline, stderr);
		fflush(stderr);
	}
	report_end(run, offline, NULL);
	pk_etw_close(run->etw);
	pk_etwproc_free(run->feed);
	pk_procdet_free(run->det);
	pk_hasher_free(run->hasher);
	pk_iocset_free(run->ioc);
	pk_output_ndjson_close(&run->out);
	pk_engine_free(run->e);
	return st == NULL || r == PK_COLL_ERROR ? 1 : 0;
}

static int
run_file(struct pk_config *cfg, const struct opts *o, const char *host_id,
    const char *host_name, const char *agent_id)
{
	const struct pk_collector_ops *ops = &pk_collector_pcapfile;
	struct run run;
	char why[256];
	void *st = NULL;
	int r = 0;

	if (run_begin(&run, cfg, o, host_id, host_name, agent_id, 1) != 0)
		return 1;
	if (ops->available(cfg, 1, why, sizeof(why)) != 0 ||
	    (st = ops->open(run.e, cfg, o->readfile, why, sizeof(why))) ==
	    NULL) {
		log_warnx("cannot read %s: %s", o->readfile, why);
		return run_end(&run, ops, NULL, 0, 0, 1);
	}
	do {
		r = ops->poll(st, OFFLINE_BUDGET);
		if (run.hub) {
			pk_wspool_tick(&run.spool, pk_mono_us());
			bundle_tick(&run);
		}
	} while (r >= 0 && !InterlockedCompareExchange(&quit, 0, 0));
	return run_end(&run, ops, st, pk_engine_now(run.e), r, 1);
}

/* ---- live ------------------------------------------------------------------ */

/*
 * Process telemetry: the detections (collectors/ebpf/procdet.c) with the
 * Windows hasher (hash_win32.c) and the process table seeded from a
 * Toolhelp snapshot, fed by the ETW session (collectors/etw/etw_win32.c)
 * through collectors/etw/etwproc.c (drive-letter paths, file identity,
 * accepts kept out of fan-out).  Without ETW (not an administrator,
 * wine) the capture runs on alone and nothing of this is kept.
 */
static void
etw_begin(struct run *run, const struct pk_config *cfg)
{
	char why[256];
	int problems = 0, seeded;

	if (cfg->ioc.enabled)
		run->ioc = pk_ioc_load(cfg, NULL, &problems);
	if ((run->det = pk_procdet_new(run->e, cfg, run->ioc)) == NULL ||
	    (run->hasher = pk_hasher_new(cfg->process.hash_max_size, why,
	    sizeof(why))) == NULL ||
	    (run->feed = pk_etwproc_new(run->det, run->hasher,
	    pk_ntmap_load)) == NULL) {
		log_warnx("process telemetry: cannot set up the detections: "
		    "running without process events");
		goto fail;
	}
	if ((run->etw = pk_etw_open(pk_etwproc_sink, run->feed, why,
	    sizeof(why))) == NULL) {
		log_warnx("process telemetry: ETW session unavailable (%s): "
		    "running without process events", why);
		goto fail;
	}
	/* Session first, then the snapshot: a process started in between
	 * is seen by both, never by neither. */
	seeded = pk_proctable_seed(pk_procdet_table(run->det), NULL,
	    pk_now_us());
	pk_procdet_hash_all(run->det);
	log_info("process telemetry: ETW session %s (Kernel-Process, "
	    "Kernel-Network TCP), %d processes from a snapshot%s",
	    PK_ETW_SESSION_NAME, seeded, run->ioc != NULL ?
	    ", executable hashes checked against the IOC lists" : "");
	return;
fail:
	pk_etwproc_free(run->feed);
	pk_procdet_free(run->det);
	pk_hasher_free(run->hasher);
	pk_iocset_free(run->ioc);
	run->feed = NULL;
	run->det = NULL;
	run->hasher = NULL;
	run->ioc = NULL;
}

/*
 * Capture until Ctrl-C (or the last adapter fails): frames through the
 * engine, its timers once a second on the wall clock, as agent/main.c's
 * collector loop does; then END for every open indicator and the same
 * statistics lines as Linux.
 */
static int
run_live(struct pk_config *cfg, const struct opts *o, const char *host_id,
    const char *host_name, const char *agent_id)
{
	const struct pk_collector_ops *ops = &pk_collector_wpcap;
	struct run run;
	uint64_t last_tick;
	char why[256];
	void *st;
	int r, tries;

	if (ops->available(cfg, 0, why, sizeof(why)) != 0) {
		log_warnx("no live capture: %s", why);
		return 1;
	}
	if (run_begin(&run, cfg, o, host_id, host_name, agent_id, 0) != 0)
		return 1;
	if (cfg->process.enabled)
		etw_begin(&run, cfg);
	/*
	 * A service starts at boot, maybe before the capture driver or the
	 * network stack it asks about: it says it is running (the boot need
	 * not wait for it) and tries again for a minute before it fails, and
	 * the service control manager's recovery actions take over.
	 */
	if (o->service)
		pk_svc_running();
	for (tries = 0; (st = ops->open(run.e, cfg, NULL, why,
	    sizeof(why))) == NULL; tries++) {
		if (!o->service || tries >= OPEN_TRIES ||
		    InterlockedCompareExchange(&quit, 0, 0)) {
			log_warnx("cannot capture: %s", why);
			return run_end(&run, ops, NULL, 0, 0, 0);
		}
		log_warnx("cannot capture yet: %s; trying again in %d s", why,
		    OPEN_RETRY_MS / 1000);
		Sleep(OPEN_RETRY_MS);
	}
	log_info("running, host %s (%s)", host_name, host_id);
	last_tick = pk_mono_us();
	do {
		r = ops->poll(st, LIVE_BUDGET);
		if (run.etw != NULL) {
			(void)pk_etw_poll(run.etw, ETW_BUDGET);
			pk_etwproc_drain(run.feed, pk_now_us());
		}
		if (pk_mono_us() - last_tick >= PK_USEC) {
			last_tick = pk_mono_us();
			/* the detections' timers with the engine's, as the
			 * eBPF collector's tick does on Linux */
			if (run.det != NULL)
				pk_procdet_tick(run.det, pk_now_us());
			pk_engine_tick(run.e, pk_now_us());
		}
		if (run.hub) {
			pk_wspool_tick(&run.spool, pk_mono_us());
			bundle_tick(&run);
		}
	} while (r >= 0 && !InterlockedCompareExchange(&quit, 0, 0));
	log_info("stopping");
	return run_end(&run, ops, st, pk_now_us(), r, 0);
}

/* ---- the service ----------------------------------------------------------- */

struct svc_ctx {
	struct pk_config	*cfg;
	struct opts		*o;
	const char		*host_id, *host_name;
	char			 agent_id[PK_CFG_STR_MAX];
};

/*
 * What the MSI's HUB, HUB_LISTEN, CA and TOKEN properties left in
 * HKLM\SOFTWARE\Picket (packaging/windows/picket-agent.wxs): Hub (the
 * hub's HTTPS API, HOST or HOST:PORT, port 8443 by default), HubListen
 * (the agent listener, default HOST:7443), CA (the file that verifies
 * the hub, default [hub] ca) and Token.  Empty values are absent.
 */
#define MSI_KEY		"SOFTWARE\\Picket"
#define MSI_API_PORT	"8443"
#define MSI_LISTEN_PORT	7443

static int
reg_str(HKEY k, const char *name, char *out, size_t len)
{
	DWORD type, n = (DWORD)len - 1;

	memset(out, 0, len);
	if (RegQueryValueExA(k, name, NULL, &type, (BYTE *)out, &n) !=
	    ERROR_SUCCESS || type != REG_SZ || n >= len)
		out[0] = '\0';
	out[len - 1] = '\0';
	return out[0] != '\0';
}

/* hub as HOST:PORT, with the API's default port when it has none. */
static int
msi_api(const char *hub, char *out, size_t len, char *host, size_t hlen)
{
	uint16_t port;

	if (pk_config_split_hostport(hub, host, hlen, &port) == 0) {
		pk_strlcpy(out, hub, len);
		return 0;
	}
	snprintf(out, len, "%s%s%s:" MSI_API_PORT, strchr(hub, ':') ? "[" :
	    "", hub, strchr(hub, ':') ? "]" : "");
	return pk_config_split_hostport(out, host, hlen, &port);
}

/*
 * The service's first start after an MSI install with HUB and TOKEN: the
 * MSI's hub address becomes [hub] address where agent.ini leaves it
 * empty (the file stays the administrator's), and with a token and no
 * certificate yet the host enrols (agent/enroll_win32.c, into
 * %ProgramData%\Picket) and the token is deleted.  A failed enrollment is
 * logged and tried again at the next start; capture runs meanwhile.
 */
static void
svc_first_start(struct pk_config *cfg)
{
	char hub[256], listen[256], ca[PK_CFG_PATH_MAX], tok[256];
	char api[300], host[256], pd[MAX_PATH + 16], id[64], err[512];
	struct pk_wenroll_req r;
	HKEY k;

	if (RegOpenKeyExA(HKEY_LOCAL_MACHINE, MSI_KEY, 0, KEY_QUERY_VALUE |
	    KEY_SET_VALUE | KEY_WOW64_64KEY, &k) != ERROR_SUCCESS)
		return;
	if (!reg_str(k, "Hub", hub, sizeof(hub)) ||
	    msi_api(hub, api, sizeof(api), host, sizeof(host)) != 0) {
		if (hub[0] != '\0')
			log_warnx("service: the MSI's HUB %s is not HOST or "
			    "HOST:PORT", hub);
		RegCloseKey(k);
		return;
	}
	if (cfg->hub.address[0] == '\0') {
		if (!reg_str(k, "HubListen", listen, sizeof(listen)))
			snprintf(listen, sizeof(listen), "%s%s%s:%d",
			    strchr(host, ':') ? "[" : "", host,
			    strchr(host, ':') ? "]" : "", MSI_LISTEN_PORT);
		if (pk_config_set(cfg, "hub", "address", listen, err,
		    sizeof(err)) != 0)
			log_warnx("service: the MSI's hub address %s: %s",
			    listen, err);
		else
			log_info("service: reporting to %s (the MSI's HUB; "
			    "[hub] address in agent.ini overrides it)", listen);
	}
	if (reg_str(k, "Token", tok, sizeof(tok))) {
		if (GetFileAttributesA(cfg->hub.cert) !=
		    INVALID_FILE_ATTRIBUTES) {
			log_info("service: %s exists: already enrolled, the "
			    "MSI's token is not used", cfg->hub.cert);
			(void)RegDeleteValueA(k, "Token");
		} else {
			if (!reg_str(k, "CA", ca, sizeof(ca)))
				pk_strlcpy(ca, cfg->hub.ca, sizeof(ca));
			program_data(pd, sizeof(pd));
			memset(&r, 0, sizeof(r));
			r.hub = api;
			r.token = tok;
			r.ca = ca;
			r.dir = pd;
			if (pk_wenroll(&r, id, sizeof(id), err, sizeof(err),
			    NULL) == 0) {
				log_info("service: enrolled with %s as %s",
				    api, id);
				(void)RegDeleteValueA(k, "Token");
			} else
				log_warnx("service: enrollment with %s: %s; "
				    "trying again at the next start", api, err);
		}
		SecureZeroMemory(tok, sizeof(tok));
	}
	RegCloseKey(k);
}

static int
svc_body(void *arg)
{
	struct svc_ctx *c = arg;
	char err[PK_CFG_PATH_MAX + 128];

	/* The MSI registers the service without recovery actions. */
	if (pk_svc_set_recovery(err, sizeof(err)) != 0)
		log_debug("service: %s", err);
	/* Enrolment may take a while: running first, the boot goes on. */
	pk_svc_running();
	svc_first_start(c->cfg);
	if (c->cfg->hub.address[0] != '\0' && pk_tls_file_cn(c->cfg->hub.cert,
	    c->agent_id, sizeof(c->agent_id), err, sizeof(err)) != 0) {
		pk_strlcpy(c->agent_id, c->host_id, sizeof(c->agent_id));
		log_warnx("agent id: %s; using %s", err, c->agent_id);
	}
	return run_live(c->cfg, c->o, c->host_id, c->host_name, c->agent_id);
}

static void
svc_stop(void *arg)
{
	(void)arg;
	InterlockedExchange(&quit, 1);
}

/*
 * The service's defaults: %ProgramData%\Picket\agent.ini when -c is not
 * given (written from agent.ini.example beside the executable the first
 * time), the log in picketd.log beside it (the service has
 * no console), indicators in indicators.ndjson there unless [output] file
 * says otherwise.
 */
static void
svc_prepare(struct opts *o)
{
	static char ini[MAX_PATH + 32], logp[MAX_PATH + 32];
	char pd[MAX_PATH + 16], ed[MAX_PATH], ex[MAX_PATH + 32];
	FILE *fp;

	program_data(pd, sizeof(pd));
	(void)CreateDirectoryA(pd, NULL);
	snprintf(logp, sizeof(logp), "%s\\picketd.log", pd);
	if ((fp = fopen(logp, "ab")) != NULL) {
		setvbuf(fp, NULL, _IONBF, 0);
		log_win32_set_file(fp);
	}
	snprintf(ini, sizeof(ini), "%s\\agent.ini", pd);
	if (o->config != NULL)
		return;
	/* First start: the commented example the MSI put beside the
	 * executable becomes the configuration, which from then on is the
	 * administrator's (no upgrade or uninstall touches it). */
	exe_dir(ed, sizeof(ed));
	snprintf(ex, sizeof(ex), "%s\\agent.ini.example", ed);
	if (GetFileAttributesA(ini) == INVALID_FILE_ATTRIBUTES &&
	    GetFileAttributesA(ex) != INVALID_FILE_ATTRIBUTES) {
		if (CopyFileA(ex, ini, TRUE))
			log_info("service: wrote %s from %s", ini, ex);
		else
			log_warnx("service: cannot write %s: error %lu", ini,
			    (unsigned long)GetLastError());
	}
	if (GetFileAttributesA(ini) != INVALID_FILE_ATTRIBUTES)
		o->config = ini;
}

static const char *
svc_output(const struct pk_config *cfg)
{
	static char out[MAX_PATH + 32];
	char pd[MAX_PATH + 16];

	if (cfg->output.file[0] != '\0')
		return NULL;
	program_data(pd, sizeof(pd));
	snprintf(out, sizeof(out), "%s\\indicators.ndjson", pd);
	return out;
}

int
main(int argc, char **argv)
{
	static struct pk_config cfg;	/* large: port bitmaps */
	char host_id[PK_CFG_STR_MAX], host_name[PK_CFG_STR_MAX];
	char agent_id[PK_CFG_STR_MAX];
	struct opts o;

	/* Binary files and standard streams: the same bytes as on Linux. */
	_fmode = _O_BINARY;
	(void)_setmode(_fileno(stdout), _O_BINARY);
	(void)_setmode(_fileno(stderr), _O_BINARY);
	SetConsoleCtrlHandler(on_console, TRUE);

	/* `picketd enroll ...` (agent/enroll_win32.c, docs/windows.md). */
	if (argc > 1 && strcmp(argv[1], "enroll") == 0) {
		char pd[MAX_PATH + 16];

		program_data(pd, sizeof(pd));
		return pk_wenroll_main(argc - 1, argv + 1, pd);
	}
	if (argc > 1 && strcmp(argv[1], "status") == 0) {
		fprintf(stderr, "picketd: %s is not in this Windows build yet "
		    "(docs/windows.md)\n", argv[1]);
		return 2;
	}
	memset(&o, 0, sizeof(o));
	if (parse_args(argc, argv, &o) != 0)
		return 1;
	log_init(1, LOG_LVL_INFO, "picketd");
	if (o.install != 0) {
		char why[256];

		if ((o.install > 0 ? pk_svc_install(o.config, why,
		    sizeof(why)) : pk_svc_uninstall(why, sizeof(why))) != 0) {
			log_warnx("%s", why);
			return 1;
		}
		log_info("service %s %s", PK_SVC_NAME, o.install > 0 ?
		    "installed (auto start)" : "removed");
		return 0;
	}
	if (o.service)
		svc_prepare(&o);
	if (o.list) {
		char why[256];

		if (pk_wpcap_list(stdout, why, sizeof(why)) != 0) {
			log_warnx("%s", why);
			return 1;
		}
		return 0;
	}
	if (load_config(&cfg, &o) != 0)
		return 1;
	if (o.check)
		return pk_cli_check_config(&cfg, o.verbose, o.rulefile, NULL);
	/* the service logs through log_win32.c: lines with their time */
	log_init(!o.service, o.debug ? LOG_LVL_DEBUG : cfg.agent.log_level,
	    "picketd");
	derive_identity(&cfg, host_id, sizeof(host_id), host_name,
	    sizeof(host_name));
	/* As on Linux: reporting, the agent id is the certificate's CN
	 * (what the hub derives); else the host id. */
	pk_strlcpy(agent_id, host_id, sizeof(agent_id));
	if (cfg.hub.address[0] != '\0') {
		char err[PK_CFG_PATH_MAX + 128];

		if (pk_tls_file_cn(cfg.hub.cert, agent_id, sizeof(agent_id),
		    err, sizeof(err)) != 0) {
			pk_strlcpy(agent_id, host_id, sizeof(agent_id));
			log_warnx("agent id: %s; using %s", err, agent_id);
		}
	}
	if (o.service) {
		static struct svc_ctx c;
		char why[256];

		c.cfg = &cfg;
		c.o = &o;
		c.host_id = host_id;
		c.host_name = host_name;
		pk_strlcpy(c.agent_id, agent_id, sizeof(c.agent_id));
		int rc;

		if (o.output == NULL)
			o.output = svc_output(&cfg);
		log_info("service: starting");
		if ((rc = pk_svc_run(svc_body, svc_stop, &c, why,
		    sizeof(why))) < 0) {
			log_warnx("%s", why);
			return 1;
		}
		return rc;
	}
	if (o.readfile == NULL)
		return run_live(&cfg, &o, host_id, host_name, agent_id);
	return run_file(&cfg, &o, host_id, host_name, agent_id);
}
