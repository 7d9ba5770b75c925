/*
 * capture.c - the libpcap collector.
 *
 * Live: one pcap handle per configured interface ("any" by default), each
 * read by its own capture thread that copies frames into a ring
 * (ring.h); the engine's thread drains the rings.  A short stall of
 * detection is absorbed by the ring and then the kernel's buffer.  When
 * the ring is full the capture thread waits for room (cap_wait_room)
 * rather than copy frames only to drop them, so under overload the
 * kernel drops, at no CPU cost, and detection keeps the CPU.  A pipe
 * wakes the engine's thread when a ring goes from empty to not empty.
 * Kernel drops, interface drops and the agent's own drops are reported in
 * the statistics and, every [pcap] health_interval, as a health indicator.
 *
 * Offline: one file (pcap or pcapng) read to the end on the caller's
 * thread; a truncated last record is counted, not fatal.
 *
 * The interfaces' own addresses become home_net when none is configured,
 * so the direction of a scan (the host scanning others, or being scanned)
 * is known without configuration.  libpcap is also Npcap's API, so this
 * file serves Windows too (the wake pipe becomes an event there).
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "collectors/pcap/capture.h"
#include "collectors/pcap/decode.h"
#include "collectors/pcap/ring.h"
#include "common/log.h"
#include "common/pktime.h"
#include "common/util.h"

#define CAP_MAX_HANDLES	PK_COLL_MAX_FDS
#define CAP_TIMEOUT_MS	100	/* capture thread checks its stop flag */
#define CAP_BATCH	256	/* frames per pcap_dispatch in the thread */

struct capture;

struct cap_handle {
	pcap_t			*p;
	int			 linktype;
	char			 name[64];
	/* live only */
	struct capture		*c;
	struct pk_ring		 ring;
	pthread_t		 thread;
	int			 running;
	_Atomic int		 failed;	/* thread hit a read error */
	pthread_mutex_t		 mu;		/* with room: ring full */
	pthread_cond_t		 room;
	int			 sync_ok;	/* mu and room initialised */
	_Atomic int		 waiting;	/* the thread waits for room */
	_Atomic uint64_t	 ring_waits;	/* ... how many times */
	struct pcap_stat	 last;		/* at the last health report */
	uint64_t		 last_agent_drops;
	/* libpcap's counters are 32 bits: followed as 64-bit totals,
	 * looked at every second (cap_tick) */
	uint64_t		 recv_total, drop_total, ifdrop_total;
	uint32_t		 recv_seen, drop_seen, ifdrop_seen;
};

struct capture {
	struct pk_engine	*engine;
	struct cap_handle	 h[CAP_MAX_HANDLES];
	int			 nh;
	int			 offline;
	_Atomic int		 stop;
	int			 wake[2];	/* pipe: [0] read, [1] write */
	uint64_t		 health_us;	/* 0 = no health reports */
	uint64_t		 next_health;
	uint64_t		 frames;
	uint64_t		 truncated_records;
	uint64_t		 read_errors;
	uint64_t		 health_reports;
};

static void cap_close(void *st);

/* Offline: pcap_dispatch hands frames straight to the engine. */
struct cap_ctx {
	struct capture	*c;
	int		 linktype;
};

static void
cap_cb(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct cap_ctx *x = (struct cap_ctx *)arg;
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000ULL +
	    (uint64_t)h->ts.tv_usec;

	x->c->frames++;
	pk_engine_frame(x->c->engine, x->linktype, bytes, h->caplen, h->len,
	    ts);
}

/*
 * The ring is full: detection is behind.  Copying the frame only to drop
 * it would take CPU from detection just when it lacks it most: under a
 * CPU quota (the unit's CPUQuota=50%) that turned an overload into a
 * collapse (capture_bench --cpu-limit 25, 150,000 packets/s: the engine
 * analysed a third of what it does at 100,000).  So the thread stops
 * reading; the kernel's buffer fills and the kernel drops what does not
 * fit, counted in pcap.IF.dropped.  The engine signals after it has
 * taken frames (cap_signal_room); a stop signals too.
 */
static void
cap_wait_room(struct cap_handle *ch, uint32_t caplen)
{
	atomic_fetch_add(&ch->ring_waits, 1);
	pthread_mutex_lock(&ch->mu);
	atomic_store(&ch->waiting, 1);
	/* Pairs with the fence in cap_signal_room: either the engine sees
	 * waiting or this thread sees the room the engine made. */
	atomic_thread_fence(memory_order_seq_cst);
	while (!pk_ring_fits(&ch->ring, caplen) && !atomic_load(&ch->c->stop))
		pthread_cond_wait(&ch->room, &ch->mu);
	atomic_store(&ch->waiting, 0);
	pthread_mutex_unlock(&ch->mu);
}

static void
cap_signal_room(struct cap_handle *ch)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load(&ch->waiting))
		return;
	pthread_mutex_lock(&ch->mu);
	pthread_cond_signal(&ch->room);
	pthread_mutex_unlock(&ch->mu);
}

/* Live, on the capture thread: copy the frame into the ring. */
static void
cap_push(u_char *arg, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct cap_handle *ch = (struct cap_handle *)arg;
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000ULL +
	    (uint64_t)h->ts.tv_usec;
	char one = 1;

	if (!pk_ring_fits(&ch->ring, h->caplen))
		cap_wait_room(ch, h->caplen);
	if (pk_ring_push(&ch->ring, ts, bytes, h->caplen, h->len) == 1 &&
	    write(ch->c->wake[1], &one, 1) < 0 && errno != EAGAIN)
		atomic_store(&ch->failed, 1);
}

static void *
cap_thread(void *arg)
{
	struct cap_handle *ch = arg;
	char one = 1;
	int r;

	while (!atomic_load(&ch->c->stop)) {
		r = pcap_dispatch(ch->p, CAP_BATCH, cap_push, (u_char *)ch);
		if (r == PCAP_ERROR_BREAK)
			continue;
		if (r < 0) {
			atomic_store(&ch->failed, 1);
			/* The engine's thread logs it on its next wakeup. */
			(void)write(ch->c->wake[1], &one, 1);
			break;
		}
	}
	return NULL;
}

static int
cap_available(const struct pk_config *cfg, int offline, char *why,
    size_t whylen)
{
	(void)cfg;
	(void)offline;
	(void)why;
	(void)whylen;
	return 0;	/* privileges are checked by pcap_activate itself */
}

/* Add every address of every interface to home_net (live mode). */
static void
cap_learn_home(struct pk_engine *e)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_if_t *devs, *d;
	pcap_addr_t *a;
	struct pk_cidr c;
	int n = 0;

	if (pcap_findalldevs(&devs, err) != 0) {
		log_warnx("cannot list interfaces for home_net: %s", err);
		return;
	}
	for (d = devs; d != NULL; d = d->next) {
		for (a = d->addresses; a != NULL; a = a->next) {
			const struct sockaddr *sa = a->addr;

			memset(&c, 0, sizeof(c));
			if (sa == NULL)
				continue;
			if (sa->sa_family == AF_INET) {
				pk_addr_v4(&c.net, (const uint8_t *)
				    &((const struct sockaddr_in *)(const void *)sa)->sin_addr);
				c.plen = 32;
			} else if (sa->sa_family == AF_INET6) {
				pk_addr_v6(&c.net, (const uint8_t *)
				    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
				c.plen = 128;
			} else
				continue;
			if (pk_engine_add_home(e, &c) == 0)
				n++;
		}
	}
	pcap_freealldevs(devs);
	log_info("home_net: %d local addresses from the interfaces", n);
}

static int
cap_open_live_one(struct capture *c, const struct pk_config *cfg,
    const char *ifname, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct bpf_program prog;
	struct cap_handle *ch;
	pcap_t *p;
	int r;

	if (c->nh >= CAP_MAX_HANDLES) {
		snprintf(err, errlen, "too many interfaces (max %d)",
		    CAP_MAX_HANDLES);
		return -1;
	}
	if ((p = pcap_create(ifname, perr)) == NULL) {
		snprintf(err, errlen, "%s: %s", ifname, perr);
		return -1;
	}
	pcap_set_snaplen(p, (int)cfg->pcap.snaplen);
	pcap_set_promisc(p, cfg->pcap.promiscuous);
	pcap_set_buffer_size(p, (int)cfg->pcap.buffer_size);
	pcap_set_immediate_mode(p, cfg->pcap.immediate);
	pcap_set_timeout(p, CAP_TIMEOUT_MS);
	if ((r = pcap_activate(p)) < 0) {
		snprintf(err, errlen, "%s: %s%s", ifname, pcap_geterr(p),
		    r == PCAP_ERROR_PERM_DENIED ?
		    " (capture needs root or CAP_NET_RAW)" : "");
		pcap_close(p);
		return -1;
	} else if (r > 0)
		log_warnx("capture on %s: %s", ifname, pcap_geterr(p));
	if (!pk_linktype_supported(pcap_datalink(p))) {
		snprintf(err, errlen, "%s: unsupported link type %d (%s)",
		    ifname, pcap_datalink(p),
		    pcap_datalink_val_to_name(pcap_datalink(p)));
		pcap_close(p);
		return -1;
	}
	if (cfg->pcap.filter[0] != '\0') {
		if (pcap_compile(p, &prog, cfg->pcap.filter, 1,
		    PCAP_NETMASK_UNKNOWN) != 0 || pcap_setfilter(p, &prog) != 0) {
			snprintf(err, errlen, "%s: pcap.filter: %s", ifname,
			    pcap_geterr(p));
			pcap_close(p);
			return -1;
		}
		pcap_freecode(&prog);
	}
	ch = &c->h[c->nh];
	if (pk_ring_init(&ch->ring, cfg->pcap.ring_size) != 0) {
		snprintf(err, errlen, "%s: no memory for the capture ring",
		    ifname);
		pcap_close(p);
		return -1;
	}
	if (pthread_mutex_init(&ch->mu, NULL) != 0 ||
	    pthread_cond_init(&ch->room, NULL) != 0) {
		snprintf(err, errlen, "%s: cannot make the capture ring's "
		    "lock", ifname);
		pk_ring_destroy(&ch->ring);
		pcap_close(p);
		return -1;
	}
	ch->sync_ok = 1;
	c->nh++;
	ch->c = c;
	ch->p = p;
	ch->linktype = pcap_datalink(p);
	pk_strlcpy(ch->name, ifname, sizeof(ch->name));
	log_info("capturing on %s (%s, snaplen %d)", ifname,
	    pcap_datalink_val_to_name(ch->linktype), pcap_snapshot(p));
	return 0;
}

static void *
cap_open(struct pk_engine *e, const struct pk_config *cfg, const char *source,
    char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE], list[PK_CFG_STR_MAX], *name, *next;
	struct capture *c;
	pcap_t *p;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->engine = e;
	c->wake[0] = c->wake[1] = -1;
	if (source != NULL) {
		c->offline = 1;
		p = pcap_open_offline_with_tstamp_precision(source,
		    PCAP_TSTAMP_PRECISION_MICRO, perr);
		if (p == NULL) {
			snprintf(err, errlen, "%s", perr);
			free(c);
			return NULL;
		}
		if (!pk_linktype_supported(pcap_datalink(p))) {
			snprintf(err, errlen, "%s: unsupported link type %d (%s)",
			    source, pcap_datalink(p),
			    pcap_datalink_val_to_name(pcap_datalink(p)));
			pcap_close(p);
			free(c);
			return NULL;
		}
		c->h[0].p = p;
		c->h[0].linktype = pcap_datalink(p);
		pk_strlcpy(c->h[0].name, source, sizeof(c->h[0].name));
		c->nh = 1;
		return c;
	}

	if (pipe(c->wake) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(c);
		return NULL;
	}
	fcntl(c->wake[0], F_SETFL, O_NONBLOCK);
	fcntl(c->wake[1], F_SETFL, O_NONBLOCK);
	c->health_us = cfg->pcap.health_interval * 1000000ULL;
	if (cfg->network.home_net.n == 0)
		cap_learn_home(e);
	pk_strlcpy(list, cfg->pcap.interfaces, sizeof(list));
	for (name = list; name != NULL; name = next) {
		next = strchr(name, ',');
		if (next != NULL)
			*next++ = '\0';
		while (*name == ' ')
			name++;
		if (*name == '\0')
			continue;
		if (cap_open_live_one(c, cfg, name, err, errlen) != 0)
			goto fail;
	}
	if (c->nh == 0) {
		snprintf(err, errlen, "pcap.interfaces names no interface");
		goto fail;
	}
	return c;
fail:
	cap_close(c);
	return NULL;
}

/* One capture thread per interface, started once privileges are gone. */
static int
cap_start(void *st, char *err, size_t errlen)
{
	struct capture *c = st;
	int i;

	if (c->offline)
		return 0;
	for (i = 0; i < c->nh; i++) {
		if (c->h[i].running)
			continue;
		if (pthread_create(&c->h[i].thread, NULL, cap_thread,
		    &c->h[i]) != 0) {
			snprintf(err, errlen, "cannot start a capture thread");
			return -1;
		}
		c->h[i].running = 1;
	}
	return 0;
}

static int
cap_fds(void *st, int *fds, int max)
{
	struct capture *c = st;

	if (c->offline || max < 1)
		return 0;
	fds[0] = c->wake[0];
	return 1;
}

static int
cap_poll_offline(struct capture *c, int budget)
{
	struct cap_ctx x = { c, c->h[0].linktype };
	int r;

	r = pcap_dispatch(c->h[0].p, budget, cap_cb, (u_char *)&x);
	if (r > 0)
		return r;
	if (r == 0)
		return PK_COLL_EOF;
	if (r == PCAP_ERROR_BREAK)
		return PK_COLL_EOF;
	/* libpcap reports a cut-short last record as an error; it is the
	 * normal end of a capture interrupted by a crash or a full disk. */
	if (strstr(pcap_geterr(c->h[0].p), "truncated") != NULL) {
		c->truncated_records++;
		log_warnx("%s: %s (counted; the rest of the file is used)",
		    c->h[0].name, pcap_geterr(c->h[0].p));
		return PK_COLL_EOF;
	}
	c->read_errors++;
	log_warnx("%s: %s", c->h[0].name, pcap_geterr(c->h[0].p));
	return PK_COLL_ERROR;
}

/* Live: drain the rings, round robin, up to budget frames. */
static int
cap_poll(void *st, int budget)
{
	struct capture *c = st;
	struct pk_ring_frame f;
	char drain[64];
	int i, n, total = 0, more = 1;

	if (c->offline)
		return cap_poll_offline(c, budget);
	while (read(c->wake[0], drain, sizeof(drain)) > 0)
		;
	while (more && total < budget) {
		more = 0;
		for (i = 0; i < c->nh; i++) {
			for (n = 0; n < 64 &&
			    pk_ring_peek(&c->h[i].ring, &f) == 0; n++) {
				c->frames++;
				pk_engine_frame(c->engine, c->h[i].linktype,
				    f.data, f.caplen, f.wirelen, f.ts_us);
				pk_ring_pop(&c->h[i].ring);
			}
			if (n > 0)
				cap_signal_room(&c->h[i]);
			total += n;
			more |= n == 64;
		}
	}
	for (i = 0; i < c->nh; i++) {
		if (atomic_load(&c->h[i].failed) && c->h[i].running) {
			c->read_errors++;
			log_warnx("capture on %s: %s", c->h[i].name,
			    pcap_geterr(c->h[i].p));
			return PK_COLL_ERROR;
		}
	}
	return total;
}

/*
 * Live, at stop: what the kernel accepted before the stop is analysed.
 * The kernel hands packets over in blocks that it closes at the latest
 * CAP_TIMEOUT_MS after they open, so the last packets of a burst can sit
 * in the kernel for that long.  Wait until the capture threads have taken
 * as many frames as the kernel counted (less its own drops), or for two
 * timeouts at most: a filter applied in user space makes the threads see
 * fewer frames than the kernel counted, and then the bound ends the wait.
 */
static void
cap_drain(void *st)
{
	struct capture *c = st;
	struct pcap_stat ps;
	uint32_t want[CAP_MAX_HANDLES], took;
	uint64_t deadline;
	struct pollfd pfd;
	int i, behind;

	if (c->offline)
		return;
	for (i = 0; i < c->nh; i++)
		want[i] = pcap_stats(c->h[i].p, &ps) == 0 ?
		    ps.ps_recv - ps.ps_drop : 0;
	deadline = pk_mono_us() + 2 * CAP_TIMEOUT_MS * 1000ULL;
	for (;;) {
		while (cap_poll(c, 4096) > 0)
			;
		behind = 0;
		for (i = 0; i < c->nh; i++) {
			if (!c->h[i].running || atomic_load(&c->h[i].failed))
				continue;
			/* ps_recv is 32 bits and wraps: compare the distance. */
			took = (uint32_t)(atomic_load(&c->h[i].ring.pushed) +
			    atomic_load(&c->h[i].ring.dropped));
			if ((int32_t)(took - want[i]) < 0)
				behind = 1;
		}
		if (!behind || pk_mono_us() >= deadline)
			break;
		pfd.fd = c->wake[0];
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, 10);
	}
	/* The last frames a thread pushed while we were deciding. */
	while (cap_poll(c, 4096) > 0)
		;
}

static void
health_details(struct json *j, const void *arg)
{
	const uint64_t *v = arg;

	json_u64(j, "received", v[0]);
	json_u64(j, "kernel_dropped", v[1]);
	json_u64(j, "interface_dropped", v[2]);
	json_u64(j, "agent_dropped", v[3]);
}

/*
 * One health report per interface: what was received and dropped since
 * the last report.  Drops raise the severity so they stand out.
 */
static void
cap_health(struct capture *c, struct cap_handle *ch)
{
	struct pk_indicator ind;
	struct pcap_stat ps;
	uint64_t v[4], agent = atomic_load(&ch->ring.dropped);
	char msg[256];

	if (pcap_stats(ch->p, &ps) != 0)
		return;
	v[0] = ps.ps_recv - ch->last.ps_recv;
	v[1] = ps.ps_drop - ch->last.ps_drop;
	v[2] = ps.ps_ifdrop - ch->last.ps_ifdrop;
	v[3] = agent - ch->last_agent_drops;
	ch->last = ps;
	ch->last_agent_drops = agent;
	pk_indicator_health(&ind, "network", "picket.health.capture",
	    "Capture health");
	ind.severity = v[1] + v[2] + v[3] > 0 ? PK_SEV_MEDIUM : PK_SEV_LOW;
	snprintf(msg, sizeof(msg), "%s: %llu packets, %llu dropped by the "
	    "kernel, %llu by the interface, %llu by the agent", ch->name,
	    (unsigned long long)v[0], (unsigned long long)v[1],
	    (unsigned long long)v[2], (unsigned long long)v[3]);
	ind.message = msg;
	ind.first_seen_us = ind.last_seen_us = pk_engine_now(c->engine);
	ind.count = v[0] > 0 ? v[0] : 1;
	pk_indicator_fingerprint(&ind, ch->name, strlen(ch->name));
	ind.write_details = health_details;
	ind.details_arg = v;
	pk_engine_emit(c->engine, &ind);
	c->health_reports++;
}

/* Bring the 64-bit totals up to libpcap's counters. */
static void
cap_totals(struct cap_handle *ch)
{
	struct pcap_stat ps;

	if (pcap_stats(ch->p, &ps) != 0)
		return;
	pk_wrap32_add(&ch->recv_total, &ch->recv_seen, ps.ps_recv);
	pk_wrap32_add(&ch->drop_total, &ch->drop_seen, ps.ps_drop);
	pk_wrap32_add(&ch->ifdrop_total, &ch->ifdrop_seen, ps.ps_ifdrop);
}

static void
cap_tick(void *st, uint64_t now_us)
{
	struct capture *c = st;
	int i;

	if (c->offline)
		return;
	for (i = 0; i < c->nh; i++)
		cap_totals(&c->h[i]);
	if (c->health_us == 0)
		return;
	if (c->next_health == 0) {
		c->next_health = now_us + c->health_us;
		return;
	}
	if (now_us < c->next_health)
		return;
	c->next_health = now_us + c->health_us;
	for (i = 0; i < c->nh; i++)
		cap_health(c, &c->h[i]);
}

static void
cap_stats(void *st, FILE *fp)
{
	struct capture *c = st;
	int i;

	fprintf(fp, "pcap.frames %llu\n", (unsigned long long)c->frames);
	fprintf(fp, "pcap.truncated_records %llu\n",
	    (unsigned long long)c->truncated_records);
	fprintf(fp, "pcap.read_errors %llu\n",
	    (unsigned long long)c->read_errors);
	if (c->offline)
		return;
	fprintf(fp, "pcap.health_reports %llu\n",
	    (unsigned long long)c->health_reports);
	for (i = 0; i < c->nh; i++) {
		fprintf(fp, "pcap.%s.agent_dropped %llu\n", c->h[i].name,
		    (unsigned long long)atomic_load(&c->h[i].ring.dropped));
		fprintf(fp, "pcap.%s.ring_waits %llu\n", c->h[i].name,
		    (unsigned long long)atomic_load(&c->h[i].ring_waits));
		cap_totals(&c->h[i]);
		fprintf(fp, "pcap.%s.received %llu\n", c->h[i].name,
		    (unsigned long long)c->h[i].recv_total);
		fprintf(fp, "pcap.%s.dropped %llu\n", c->h[i].name,
		    (unsigned long long)c->h[i].drop_total);
		fprintf(fp, "pcap.%s.if_dropped %llu\n", c->h[i].name,
		    (unsigned long long)c->h[i].ifdrop_total);
	}
}

static void
cap_close(void *st)
{
	struct capture *c = st;
	int i;

	atomic_store(&c->stop, 1);
	for (i = 0; i < c->nh; i++)
		if (c->h[i].running) {
			pcap_breakloop(c->h[i].p);
			/* A thread waiting for room sees the stop. */
			pthread_mutex_lock(&c->h[i].mu);
			pthread_cond_signal(&c->h[i].room);
			pthread_mutex_unlock(&c->h[i].mu);
		}
	for (i = 0; i < c->nh; i++)
		if (c->h[i].running) {
			pthread_join(c->h[i].thread, NULL);
			c->h[i].running = 0;
		}
	while (c->nh > 0) {
		c->nh--;
		pcap_close(c->h[c->nh].p);
		if (!c->offline)
			pk_ring_destroy(&c->h[c->nh].ring);
		if (c->h[c->nh].sync_ok) {
			pthread_mutex_destroy(&c->h[c->nh].mu);
			pthread_cond_destroy(&c->h[c->nh].room);
		}
	}
	if (c->wake[0] >= 0)
		close(c->wake[0]);
	if (c->wake[1] >= 0)
		close(c->wake[1]);
	free(c);
}

const struct pk_collector_ops pk_collector_pcap = {
	.name = "pcap",
	.description = "packets from the host's interfaces or a capture file",
	.section = "pcap",
	.available = cap_available,
	.open = cap_open,
	.fds = cap_fds,
	.poll = cap_poll,
	.start = cap_start,
	.drain = cap_drain,
	.tick = cap_tick,
	.stats = cap_stats,
	.close = cap_close,
};
