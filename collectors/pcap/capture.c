/*
 * capture.c - the libpcap collector.  Live: one pcap handle per configured
 * interface ("any" by default), non-blocking, immediate mode, with the
 * kernel's drop counters reported.  Offline: one file (pcap or pcapng)
 * read to the end; a truncated last record is counted, not fatal.  The
 * interfaces' own addresses become home_net when none is configured, so
 * the direction of a scan (the host scanning others, or being scanned) is
 * known without configuration.  libpcap is also Npcap's API, so this file
 * serves Windows too.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "collectors/pcap/capture.h"
#include "collectors/pcap/decode.h"
#include "common/log.h"
#include "common/util.h"

#define CAP_MAX_HANDLES PK_COLL_MAX_FDS

struct cap_handle {
	pcap_t		*p;
	int		 linktype;
	char		 name[64];
};

struct capture {
	struct pk_engine	*engine;
	struct cap_handle	 h[CAP_MAX_HANDLES];
	int			 nh;
	int			 offline;
	uint64_t		 frames;
	uint64_t		 truncated_records;
	uint64_t		 bad_linktype;
	uint64_t		 read_errors;
};

static int
linktype_supported(int lt)
{
	switch (lt) {
	case PK_LINK_NULL:
	case PK_LINK_ETHERNET:
	case PK_LINK_RAW:
	case PK_LINK_RAW_DLT:
	case PK_LINK_RAW_DLT14:
	case PK_LINK_LOOP:
	case PK_LINK_LINUX_SLL:
	case PK_LINK_IPV4:
	case PK_LINK_IPV6:
	case PK_LINK_LINUX_SLL2:
		return 1;
	}
	return 0;
}

/* pcap_dispatch callback context: the capture and which handle. */
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
	pcap_set_timeout(p, 100);
	if ((r = pcap_activate(p)) < 0) {
		snprintf(err, errlen, "%s: %s%s", ifname, pcap_geterr(p),
		    r == PCAP_ERROR_PERM_DENIED ?
		    " (capture needs root or CAP_NET_RAW)" : "");
		pcap_close(p);
		return -1;
	} else if (r > 0)
		log_warnx("capture on %s: %s", ifname, pcap_geterr(p));
	if (!linktype_supported(pcap_datalink(p))) {
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
	if (pcap_setnonblock(p, 1, perr) != 0) {
		snprintf(err, errlen, "%s: %s", ifname, perr);
		pcap_close(p);
		return -1;
	}
	ch = &c->h[c->nh++];
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
	if (source != NULL) {
		c->offline = 1;
		p = pcap_open_offline_with_tstamp_precision(source,
		    PCAP_TSTAMP_PRECISION_MICRO, perr);
		if (p == NULL) {
			snprintf(err, errlen, "%s", perr);
			free(c);
			return NULL;
		}
		if (!linktype_supported(pcap_datalink(p))) {
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
	while (c->nh > 0)
		pcap_close(c->h[--c->nh].p);
	free(c);
	return NULL;
}

static int
cap_fds(void *st, int *fds, int max)
{
	struct capture *c = st;
	int i, n = 0;

	for (i = 0; i < c->nh && n < max; i++) {
		int fd = pcap_get_selectable_fd(c->h[i].p);

		if (fd >= 0)
			fds[n++] = fd;
	}
	return n;
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

static int
cap_poll(void *st, int budget)
{
	struct capture *c = st;
	int i, r, total = 0;

	if (c->offline)
		return cap_poll_offline(c, budget);
	for (i = 0; i < c->nh; i++) {
		struct cap_ctx x = { c, c->h[i].linktype };

		r = pcap_dispatch(c->h[i].p, budget, cap_cb, (u_char *)&x);
		if (r < 0) {
			c->read_errors++;
			log_warnx("capture on %s: %s", c->h[i].name,
			    pcap_geterr(c->h[i].p));
			return PK_COLL_ERROR;
		}
		total += r;
	}
	return total;
}

static void
cap_stats(void *st, FILE *fp)
{
	struct capture *c = st;
	struct pcap_stat ps;
	int i;

	fprintf(fp, "pcap.frames %llu\n", (unsigned long long)c->frames);
	fprintf(fp, "pcap.truncated_records %llu\n",
	    (unsigned long long)c->truncated_records);
	fprintf(fp, "pcap.read_errors %llu\n",
	    (unsigned long long)c->read_errors);
	if (c->offline)
		return;
	for (i = 0; i < c->nh; i++) {
		if (pcap_stats(c->h[i].p, &ps) != 0)
			continue;
		fprintf(fp, "pcap.%s.received %u\n", c->h[i].name, ps.ps_recv);
		fprintf(fp, "pcap.%s.dropped %u\n", c->h[i].name, ps.ps_drop);
		fprintf(fp, "pcap.%s.if_dropped %u\n", c->h[i].name,
		    ps.ps_ifdrop);
	}
}

static void
cap_close(void *st)
{
	struct capture *c = st;

	while (c->nh > 0)
		pcap_close(c->h[--c->nh].p);
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
	.stats = cap_stats,
	.close = cap_close,
};
