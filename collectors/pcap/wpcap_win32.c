/*
 * wpcap_win32.c - live packet capture on Windows through Npcap's wpcap.dll,
 * loaded when the collector opens, so that picketd.exe starts (and -r, -n
 * work) on a host without Npcap, and says clearly why it cannot capture.
 * The DLL is looked for where Npcap installs it (System32\Npcap) first,
 * then on the normal search path (WinPcap-compatible installs, and wine's
 * wpcap.dll, which forwards to the host's libpcap).  Only the handful of
 * libpcap calls the agent needs are resolved; their types are declared
 * here with Windows' layout (a packet header's time is two 32-bit longs),
 * since no pcap header is part of the mingw toolchain.
 *
 * [pcap] interfaces names adapters by their pcap name
 * (\Device\NPF_{GUID}) or by their description, which is what people see
 * (Npcap: the adapter's friendly description; wine: the Linux interface
 * name); "any" takes every adapter that has an address.  Adapters are
 * read in non-blocking mode on the caller's thread, in turn; when none has
 * a packet the collector waits on their read events (Npcap signals one
 * when data arrives) for at most WP_IDLE_WAIT_MS, so a stop request and
 * the engine's timers are never held up by a quiet network, whatever the
 * driver's read timeout does (libpcap's on Linux, which wine forwards to,
 * does not fire while no packet comes).  Called through struct
 * pk_collector_ops by the Windows main (agent/main_win32.c).
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "collectors/pcap/decode.h"
#include "collectors/pcap/wpcap.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"

#define WP_ERRBUF	256		/* PCAP_ERRBUF_SIZE */
#define WP_MAX_IFACES	16
#define WP_TIMEOUT_MS	20		/* the driver's buffering delay */
#define WP_IDLE_WAIT_MS	100		/* nothing to read: wait this long */
#define WP_NAME_MAX	256

/* The libpcap types the calls below use, with Windows' layout. */
struct wp_if {
	struct wp_if	*next;
	char		*name;
	char		*description;
	void		*addresses;
	unsigned int	 flags;
};
struct wp_pkthdr {
	long		 tv_sec, tv_usec;	/* 32 bits each on Windows */
	unsigned int	 caplen, len;
};
struct wp_bpf_program {
	unsigned int	 bf_len;
	void		*bf_insns;
};
struct wp_stat {
	unsigned int	 ps_recv, ps_drop, ps_ifdrop;
	unsigned int	 spare[4];	/* Npcap may append fields */
};

typedef int (*wp_findalldevs_fn)(struct wp_if **, char *);
typedef void (*wp_freealldevs_fn)(struct wp_if *);
typedef void *(*wp_open_live_fn)(const char *, int, int, int, char *);
typedef int (*wp_next_ex_fn)(void *, struct wp_pkthdr **,
    const unsigned char **);
typedef int (*wp_datalink_fn)(void *);
typedef int (*wp_compile_fn)(void *, struct wp_bpf_program *, const char *,
    int, unsigned int);
typedef int (*wp_setfilter_fn)(void *, struct wp_bpf_program *);
typedef void (*wp_freecode_fn)(struct wp_bpf_program *);
typedef char *(*wp_geterr_fn)(void *);
typedef int (*wp_stats_fn)(void *, struct wp_stat *);
typedef void (*wp_close_fn)(void *);
typedef int (*wp_setnonblock_fn)(void *, int, char *);
typedef HANDLE (*wp_getevent_fn)(void *);

struct wp_api {
	HMODULE			 dll;
	wp_findalldevs_fn	 findalldevs;
	wp_freealldevs_fn	 freealldevs;
	wp_open_live_fn		 open_live;
	wp_next_ex_fn		 next_ex;
	wp_datalink_fn		 datalink;
	wp_compile_fn		 compile;
	wp_setfilter_fn		 setfilter;
	wp_freecode_fn		 freecode;
	wp_geterr_fn		 geterr;
	wp_stats_fn		 stats;
	wp_close_fn		 close;
	wp_setnonblock_fn	 setnonblock;
	wp_getevent_fn		 getevent;	/* optional: Sleep without */
};

struct wp_iface {
	void		*h;
	HANDLE		 ev;			/* read event, or NULL */
	char		 name[WP_NAME_MAX];	/* what the user wrote */
	int		 linktype;
	int		 dead;
	uint64_t	 frames, read_errors;
};

struct wpcap {
	struct pk_engine	*engine;
	struct wp_api		 api;
	struct wp_iface		 ifs[WP_MAX_IFACES];
	int			 nifs;
	int			 next;		/* whose turn */
	uint64_t		 unsupported;	/* adapters skipped */
};

/*
 * wpcap.dll from Npcap's directory, else the search path; NULL if none.
 * Loaded once and kept for the life of the process (never freed): the
 * service opens the capture again after a failure, and unloading and
 * reloading the DLL (and Packet.dll with it) gains nothing.
 */
static HMODULE
wp_load_dll(void)
{
	static HMODULE loaded;
	char dir[MAX_PATH], path[MAX_PATH + 32];
	UINT n;
	HMODULE h;

	if (loaded != NULL)
		return loaded;
	n = GetSystemDirectoryA(dir, sizeof(dir));

	if (n > 0 && n < sizeof(dir)) {
		snprintf(path, sizeof(path), "%s\\Npcap\\wpcap.dll", dir);
		/* its Packet.dll sits beside it */
		if ((h = LoadLibraryExA(path, NULL,
		    LOAD_WITH_ALTERED_SEARCH_PATH)) != NULL)
			return loaded = h;
	}
	return loaded = LoadLibraryA("wpcap.dll");
}

/* Wine's ntdll says who it is; Windows' has no such export. */
static int
wp_under_wine(void)
{
	HMODULE nt = GetModuleHandleA("ntdll.dll");

	return nt != NULL && GetProcAddress(nt, "wine_get_version") != NULL;
}

/* GetProcAddress's answer into a typed function pointer (same size). */
static int
wp_sym(HMODULE dll, const char *sym, void *fnp)
{
	FARPROC p = GetProcAddress(dll, sym);

	if (p == NULL)
		return 0;
	memcpy(fnp, &p, sizeof(p));
	return 1;
}

#define WP_SYM(api, field, sym)	wp_sym((api)->dll, sym, &(api)->field)

static int
wp_load(struct wp_api *api, char *err, size_t errlen)
{
	memset(api, 0, sizeof(*api));
	if ((api->dll = wp_load_dll()) == NULL) {
		snprintf(err, errlen, "Npcap is not installed (wpcap.dll not "
		    "found): install Npcap for live capture; -r FILE works "
		    "without it");
		return -1;
	}
	if (!WP_SYM(api, findalldevs, "pcap_findalldevs") ||
	    !WP_SYM(api, freealldevs, "pcap_freealldevs") ||
	    !WP_SYM(api, open_live, "pcap_open_live") ||
	    !WP_SYM(api, next_ex, "pcap_next_ex") ||
	    !WP_SYM(api, datalink, "pcap_datalink") ||
	    !WP_SYM(api, compile, "pcap_compile") ||
	    !WP_SYM(api, setfilter, "pcap_setfilter") ||
	    !WP_SYM(api, freecode, "pcap_freecode") ||
	    !WP_SYM(api, geterr, "pcap_geterr") ||
	    !WP_SYM(api, stats, "pcap_stats") ||
	    !WP_SYM(api, close, "pcap_close") ||
	    !WP_SYM(api, setnonblock, "pcap_setnonblock")) {
		snprintf(err, errlen, "wpcap.dll lacks a libpcap function "
		    "the agent needs: update Npcap");
		api->dll = NULL;
		return -1;
	}
	/* Wine exports pcap_getevent as a stub that aborts the process
	 * when called: there, the idle wait is a plain sleep. */
	if (wp_under_wine() || !WP_SYM(api, getevent, "pcap_getevent"))
		api->getevent = NULL;
	return 0;
}

static int
wp_available(const struct pk_config *cfg, int offline, char *why,
    size_t whylen)
{
	struct wp_api api;

	(void)cfg;
	if (offline) {
		snprintf(why, whylen, "capture files are read by the "
		    "project's reader");
		return -1;
	}
	return wp_load(&api, why, whylen);
}

/* Does adapter d answer to what the user wrote (want)? */
static int
wp_matches(const struct wp_if *d, const char *want)
{
	if (strcmp(want, "any") == 0)
		return d->addresses != NULL;
	return strcmp(d->name, want) == 0 || (d->description != NULL &&
	    strcmp(d->description, want) == 0);
}

static int
wp_open_one(struct wpcap *w, const struct pk_config *cfg, const char *dev,
    const char *label, char *err, size_t errlen)
{
	char ebuf[WP_ERRBUF];
	struct wp_bpf_program prog;
	struct wp_iface *f;
	void *h;
	int lt;

	if (w->nifs >= WP_MAX_IFACES) {
		log_warnx("pcap: more than %d adapters; %s not captured",
		    WP_MAX_IFACES, label);
		return 0;
	}
	ebuf[0] = '\0';
	h = w->api.open_live(dev, (int)PK_MIN(cfg->pcap.snaplen, 262144),
	    cfg->pcap.promiscuous, WP_TIMEOUT_MS, ebuf);
	if (h == NULL) {
		snprintf(err, errlen, "%s: %s", label, ebuf);
		return -1;
	}
	if (w->api.setnonblock(h, 1, ebuf) != 0) {
		snprintf(err, errlen, "%s: non-blocking mode: %s", label, ebuf);
		w->api.close(h);
		return -1;
	}
	lt = w->api.datalink(h);
	if (!pk_linktype_supported(lt)) {
		log_warnx("pcap: %s: link type %d is not decoded; skipped",
		    label, lt);
		w->unsupported++;
		w->api.close(h);
		return 0;
	}
	if (cfg->pcap.filter[0] != '\0') {
		if (w->api.compile(h, &prog, cfg->pcap.filter, 1,
		    0xffffffffu) != 0 || w->api.setfilter(h, &prog) != 0) {
			snprintf(err, errlen, "%s: filter \"%s\": %s", label,
			    cfg->pcap.filter, w->api.geterr(h));
			w->api.close(h);
			return -1;
		}
		w->api.freecode(&prog);
	}
	f = &w->ifs[w->nifs++];
	f->h = h;
	f->ev = w->api.getevent != NULL ? w->api.getevent(h) : NULL;
	f->linktype = lt;
	pk_strlcpy(f->name, label, sizeof(f->name));
	log_info("capturing on %s (link type %d)", label, lt);
	return 0;
}

/* Each name of the comma-separated list, matched against the adapters. */
static int
wp_open_list(struct wpcap *w, const struct pk_config *cfg,
    struct wp_if *devs, char *err, size_t errlen)
{
	char list[sizeof(cfg->pcap.interfaces)], *p, *name, *end;
	const struct wp_if *d;
	int found;

	pk_strlcpy(list, cfg->pcap.interfaces, sizeof(list));
	for (p = list; p != NULL; p = end) {
		if ((end = strchr(p, ',')) != NULL)
			*end++ = '\0';
		name = p;
		while (*name == ' ' || *name == '\t')
			name++;
		p = name + strlen(name);
		while (p > name && (p[-1] == ' ' || p[-1] == '\t'))
			*--p = '\0';
		if (*name == '\0')
			continue;
		found = 0;
		for (d = devs; d != NULL; d = d->next) {
			if (!wp_matches(d, name))
				continue;
			found = 1;
			if (wp_open_one(w, cfg, d->name, d->description != NULL &&
			    strcmp(name, "any") == 0 ? d->description : name,
			    err, errlen) != 0)
				return -1;
			if (strcmp(name, "any") != 0)
				break;
		}
		if (!found) {
			snprintf(err, errlen, "no adapter named \"%s\" (the "
			    "names are in `picketd --list-interfaces`)", name);
			return -1;
		}
	}
	if (w->nifs == 0) {
		snprintf(err, errlen, "no adapter to capture on");
		return -1;
	}
	return 0;
}

static void
wp_close_all(struct wpcap *w)
{
	int i;

	for (i = 0; i < w->nifs; i++)
		if (w->ifs[i].h != NULL)
			w->api.close(w->ifs[i].h);
	free(w);
}

static void *
wp_open(struct pk_engine *e, const struct pk_config *cfg, const char *source,
    char *err, size_t errlen)
{
	char ebuf[WP_ERRBUF];
	struct wp_if *devs = NULL;
	struct wpcap *w;

	if (source != NULL) {
		snprintf(err, errlen, "live capture only");
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->engine = e;
	if (wp_load(&w->api, err, errlen) != 0) {
		free(w);
		return NULL;
	}
	ebuf[0] = '\0';
	if (w->api.findalldevs(&devs, ebuf) != 0) {
		snprintf(err, errlen, "listing adapters: %s", ebuf);
		wp_close_all(w);
		return NULL;
	}
	if (wp_open_list(w, cfg, devs, err, errlen) != 0) {
		w->api.freealldevs(devs);
		wp_close_all(w);
		return NULL;
	}
	w->api.freealldevs(devs);
	return w;
}

static int
wp_fds(void *st, int *fds, int max)
{
	(void)st;
	(void)fds;
	(void)max;
	return 0;
}

/* Nothing anywhere: wait for a read event, WP_IDLE_WAIT_MS at most. */
static void
wp_idle(struct wpcap *w)
{
	HANDLE evs[WP_MAX_IFACES];
	DWORD n = 0;
	int i;

	for (i = 0; i < w->nifs; i++)
		if (!w->ifs[i].dead && w->ifs[i].ev != NULL)
			evs[n++] = w->ifs[i].ev;
	if (n == 0) {
		Sleep(WP_IDLE_WAIT_MS);
		return;
	}
	(void)WaitForMultipleObjects(n, evs, FALSE, WP_IDLE_WAIT_MS);
}

/*
 * Read adapters in turn until budget frames or every adapter came up
 * empty once in a row; with no frame at all, wait (wp_idle) before
 * returning 0.  A read error takes that adapter out (counted, logged);
 * when none is left the collector ends with an error.
 */
static int
wp_poll(void *st, int budget)
{
	struct wpcap *w = st;
	struct wp_pkthdr *hdr;
	const unsigned char *data;
	struct wp_iface *f;
	int n = 0, idle = 0, alive, i, r;

	while (n < budget && idle < w->nifs) {
		f = &w->ifs[w->next];
		w->next = (w->next + 1) % w->nifs;
		if (f->dead) {
			idle++;
			continue;
		}
		r = w->api.next_ex(f->h, &hdr, &data);
		if (r == 1) {
			idle = 0;
			n++;
			f->frames++;
			pk_engine_frame(w->engine, f->linktype, data,
			    hdr->caplen, hdr->len,
			    (uint64_t)(uint32_t)hdr->tv_sec * PK_USEC +
			    (uint64_t)(uint32_t)hdr->tv_usec);
		} else if (r == 0) {
			idle++;
		} else {
			f->read_errors++;
			f->dead = 1;
			log_warnx("pcap: %s: %s; no longer captured", f->name,
			    w->api.geterr(f->h));
		}
	}
	for (alive = 0, i = 0; i < w->nifs; i++)
		alive += !w->ifs[i].dead;
	if (alive == 0)
		return n > 0 ? n : PK_COLL_ERROR;
	if (n == 0)
		wp_idle(w);
	return n;
}

static void
wp_stats(void *st, FILE *fp)
{
	struct wpcap *w = st;
	struct wp_stat ps;
	uint64_t frames = 0, errs = 0, recv = 0, drop = 0, ifdrop = 0;
	int i;

	for (i = 0; i < w->nifs; i++) {
		frames += w->ifs[i].frames;
		errs += w->ifs[i].read_errors;
		memset(&ps, 0, sizeof(ps));
		if (!w->ifs[i].dead && w->api.stats(w->ifs[i].h, &ps) == 0) {
			recv += ps.ps_recv;
			drop += ps.ps_drop;
			ifdrop += ps.ps_ifdrop;
		}
	}
	fprintf(fp, "pcap.frames %llu\n", (unsigned long long)frames);
	fprintf(fp, "pcap.read_errors %llu\n", (unsigned long long)errs);
	fprintf(fp, "pcap.kernel_received %llu\n", (unsigned long long)recv);
	fprintf(fp, "pcap.kernel_dropped %llu\n", (unsigned long long)drop);
	fprintf(fp, "pcap.interface_dropped %llu\n",
	    (unsigned long long)ifdrop);
	fprintf(fp, "pcap.adapters_skipped %llu\n",
	    (unsigned long long)w->unsupported);
}

static void
wp_close(void *st)
{
	wp_close_all(st);
}

const struct pk_collector_ops pk_collector_wpcap = {
	.name = "pcap",
	.description = "live packets through Npcap's wpcap.dll",
	.section = "pcap",
	.available = wp_available,
	.open = wp_open,
	.fds = wp_fds,
	.poll = wp_poll,
	.stats = wp_stats,
	.close = wp_close,
};

int
pk_wpcap_list(FILE *fp, char *err, size_t errlen)
{
	char ebuf[WP_ERRBUF];
	struct wp_if *devs = NULL, *d;
	struct wp_api api;

	if (wp_load(&api, err, errlen) != 0)
		return -1;
	ebuf[0] = '\0';
	if (api.findalldevs(&devs, ebuf) != 0) {
		snprintf(err, errlen, "listing adapters: %s", ebuf);
		return -1;
	}
	for (d = devs; d != NULL; d = d->next)
		fprintf(fp, "%s\t%s%s\n", d->name, d->description != NULL ?
		    d->description : "-", d->addresses != NULL ? "" :
		    "\t(no address)");
	api.freealldevs(devs);
	return 0;
}
