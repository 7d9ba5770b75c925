/*
 * offline.c - the offline packet collector (offline.h): reads a pcap or
 * pcapng file with pcapfile.c on the caller's thread and hands each frame
 * to the engine, as capture.c's offline path does with libpcap, with the
 * same checks, messages and statistics lines, so `picketd -r` prints the
 * same on every platform.  A truncated last record is counted and the
 * rest of the file used; any other malformation ends the run with an
 * error.  Called through struct pk_collector_ops by the Windows main.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/engine.h"
#include "collectors/pcap/decode.h"
#include "collectors/pcap/offline.h"
#include "collectors/pcap/pcapfile.h"
#include "common/log.h"
#include "common/util.h"

struct offline {
	struct pk_engine	*engine;
	struct pk_pcapfile	*f;
	char			 name[64];
	uint64_t		 frames;
	uint64_t		 truncated_records;
	uint64_t		 read_errors;
	uint64_t		 unsupported;	/* frames of other link types */
	int			 ended;		/* PK_COLL_EOF/_ERROR once seen */
};

/* libpcap's names for the link types people meet, for the message. */
static const char *
linktype_name(int lt)
{
	switch (lt) {
	case 6: return "IEEE802";
	case 9: return "PPP";
	case 50: return "PPP_HDLC";
	case 104: return "C_HDLC";
	case 105: return "IEEE802_11";
	case 127: return "IEEE802_11_RADIO";
	case 192: return "PPI";
	case 220: return "USB_LINUX_MMAPPED";
	case 249: return "USBPCAP";
	}
	return "unknown";
}

static int
off_available(const struct pk_config *cfg, int offline, char *why,
    size_t whylen)
{
	(void)cfg;
	if (!offline) {
		snprintf(why, whylen, "live capture is not in this build "
		    "(it needs Npcap; docs/windows.md)");
		return -1;
	}
	return 0;
}

static void *
off_open(struct pk_engine *e, const struct pk_config *cfg, const char *source,
    char *err, size_t errlen)
{
	struct offline *o;
	int lt;

	(void)cfg;
	if (source == NULL) {
		snprintf(err, errlen, "no capture file");
		return NULL;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((o->f = pk_pcapfile_open(source, err, errlen)) == NULL) {
		free(o);
		return NULL;
	}
	lt = pk_pcapfile_linktype(o->f);
	if (!pk_linktype_supported(lt)) {
		snprintf(err, errlen, "%s: unsupported link type %d (%s)",
		    source, lt, linktype_name(lt));
		pk_pcapfile_close(o->f);
		free(o);
		return NULL;
	}
	o->engine = e;
	pk_strlcpy(o->name, source, sizeof(o->name));
	return o;
}

static int
off_fds(void *st, int *fds, int max)
{
	(void)st;
	(void)fds;
	(void)max;
	return 0;
}

/* The end of the file: count and log it once; PK_COLL_EOF or _ERROR. */
static int
off_end(struct offline *o, int rc)
{
	if (rc == PK_PCAPFILE_EOF)
		return PK_COLL_EOF;
	if (rc == PK_PCAPFILE_TRUNCATED) {
		o->truncated_records++;
		log_warnx("%s: %s (counted; the rest of the file is used)",
		    o->name, pk_pcapfile_error(o->f));
		return PK_COLL_EOF;
	}
	o->read_errors++;
	log_warnx("%s: %s", o->name, pk_pcapfile_error(o->f));
	return PK_COLL_ERROR;
}

static int
off_poll(void *st, int budget)
{
	struct offline *o = st;
	struct pk_pcapfile_rec r;
	int n = 0, rc;

	if (o->ended != 0)
		return o->ended;
	while (n < budget) {
		rc = pk_pcapfile_next(o->f, &r);
		if (rc != PK_PCAPFILE_OK) {
			/* Frames of this call first; the end on the next. */
			o->ended = off_end(o, rc);
			return n > 0 ? n : o->ended;
		}
		n++;
		/* A pcapng interface the decoder cannot read: its frames
		 * are counted, the other interfaces' still analysed. */
		if (!pk_linktype_supported(r.linktype)) {
			o->unsupported++;
			continue;
		}
		o->frames++;
		pk_engine_frame(o->engine, r.linktype, r.data, r.caplen,
		    r.wirelen, r.ts_us);
	}
	return n;
}

static void
off_stats(void *st, FILE *fp)
{
	struct offline *o = st;

	fprintf(fp, "pcap.frames %llu\n", (unsigned long long)o->frames);
	fprintf(fp, "pcap.truncated_records %llu\n",
	    (unsigned long long)o->truncated_records);
	fprintf(fp, "pcap.read_errors %llu\n",
	    (unsigned long long)o->read_errors);
	/* Only this reader has these; printed when they happened. */
	if (o->unsupported > 0)
		fprintf(fp, "pcap.unsupported_link_frames %llu\n",
		    (unsigned long long)o->unsupported);
	if (pk_pcapfile_stats(o->f)->cut_to_snaplen > 0)
		fprintf(fp, "pcap.cut_to_snaplen %llu\n", (unsigned long long)
		    pk_pcapfile_stats(o->f)->cut_to_snaplen);
}

static void
off_close(void *st)
{
	struct offline *o = st;

	pk_pcapfile_close(o->f);
	free(o);
}

const struct pk_collector_ops pk_collector_pcapfile = {
	.name = "pcap",
	.description = "packets from a capture file (the project's reader)",
	.section = "pcap",
	.available = off_available,
	.open = off_open,
	.fds = off_fds,
	.poll = off_poll,
	.stats = off_stats,
	.close = off_close,
};
