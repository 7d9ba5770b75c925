/*
 * pcapfile.c - the capture-file reader (pcapfile.h): classic pcap and
 * pcapng from a FILE or a memory buffer, with only the C library, so that
 * offline analysis needs no libpcap (Windows: no Npcap).  Called by the
 * offline collector, the unit tests and the fuzzer.
 *
 * What comes from outside is the whole file, so every length is checked
 * before it is used: a pcapng block's total length against its minimum,
 * its multiple of four, PK_PCAPFILE_MAX_BLOCK and the copy at its end; each
 * option against the block body; a packet's captured length against the
 * block and PK_PCAPFILE_MAX_SNAP.  Where libpcap has a rule the Linux agent
 * therefore follows (a capture length over the snapshot is cut to it, one
 * over MAXIMUM_SNAPLEN is an error, microsecond timestamps are truncated,
 * old 2.x files with caplen and len swapped), this reader follows it too,
 * so the two builds see the same frames.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/pcapfile.h"
#include "common/log.h"	/* PK_PRINTF */

#define PCAP_MAGIC_US		0xa1b2c3d4u
#define PCAP_MAGIC_NS		0xa1b23c4du
#define PCAP_MAGIC_KUZ		0xa1b2cd34u	/* Kuznetzov's patched pcap */
#define PCAP_HDR_LEN		24
#define PCAP_REC_LEN		16
#define PCAP_KUZ_REC_LEN	24

#define NG_SHB			0x0a0d0d0au
#define NG_IDB			0x00000001u
#define NG_OPB			0x00000002u	/* obsolete Packet Block */
#define NG_SPB			0x00000003u
#define NG_EPB			0x00000006u
#define NG_BOM			0x1a2b3c4du
#define NG_MIN_BLOCK		12		/* type, length, length */
#define NG_SHB_MIN		28
#define NG_IDB_MIN		20
#define NG_EPB_MIN		32
#define NG_OPB_MIN		32
#define NG_SPB_MIN		16
#define NG_OPT_ENDOFOPT		0
#define NG_IF_TSRESOL		9
#define NG_IF_TSOFFSET		14

/* LINKTYPE_ values carry FCS flags in their upper bits (libpcap's
 * LT_LINKTYPE()). */
#define LT_LINKTYPE(x)		((x) & 0x03ffffffu)

struct ng_if {
	int		 linktype;
	uint32_t	 snaplen;	/* adjusted: 0 or too big = maximum */
	uint64_t	 ticks;		/* per second (if_tsresol) */
	int64_t		 offset_s;	/* if_tsoffset */
};

struct pk_pcapfile {
	/* the source: a FILE, or a buffer and a read position */
	FILE		*fp;
	const uint8_t	*mem;
	size_t		 memlen, mempos;
	enum pk_pcapfile_format format;
	int		 swap;		/* current section's byte order */
	int		 done;		/* EOF or error seen: no more reads */
	char		 err[PK_PCAPFILE_ERRLEN];
	struct pk_pcapfile_stats st;
	uint8_t		*buf;		/* one record or block */
	size_t		 bufcap;
	/* classic pcap */
	int		 linktype;
	uint32_t	 snaplen;
	int		 nanos;
	int		 lengths_swapped; /* old files: see pcap_header() */
	size_t		 reclen;	/* record header size */
	/* pcapng: the current section's interfaces */
	struct ng_if	 ifs[PK_PCAPFILE_MAX_IFS];
	uint32_t	 nifs;
	int		 first_linktype;
};

static void
set_err(struct pk_pcapfile *f, const char *fmt, ...) PK_PRINTF(2, 3);

static void
set_err(struct pk_pcapfile *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->err, sizeof(f->err), fmt, ap);
	va_end(ap);
}

/* Up to n bytes into dst; returns how many (short only at the end). */
static size_t
src_read(struct pk_pcapfile *f, void *dst, size_t n)
{
	size_t k;

	if (f->fp != NULL)
		return fread(dst, 1, n, f->fp);
	k = f->memlen - f->mempos;
	if (k > n)
		k = n;
	if (k == 0)
		return 0;
	memcpy(dst, f->mem + f->mempos, k);
	f->mempos += k;
	return k;
}

static int
src_error(struct pk_pcapfile *f)
{
	return f->fp != NULL && ferror(f->fp);
}

static uint16_t
get16(const struct pk_pcapfile *f, const uint8_t *p)
{
	return f->swap ? (uint16_t)(p[0] << 8 | p[1]) :
	    (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t
get32(const struct pk_pcapfile *f, const uint8_t *p)
{
	if (f->swap)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0];
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 8 | p[0];
}

static int
buf_reserve(struct pk_pcapfile *f, size_t n)
{
	uint8_t *nb;
	size_t cap;

	if (n <= f->bufcap)
		return 0;
	cap = f->bufcap ? f->bufcap : 4096;
	while (cap < n)
		cap *= 2;
	if ((nb = realloc(f->buf, cap)) == NULL) {
		set_err(f, "out of memory for a %zu-byte record", n);
		return -1;
	}
	f->buf = nb;
	f->bufcap = cap;
	return 0;
}

/*
 * Exactly n bytes of the record at dst: PK_PCAPFILE_OK, _EOF when nothing
 * at all was left and eof_ok, _TRUNCATED when the file ends inside, or
 * _ERROR on a read error.  what names the part for the message, and base
 * bytes of it were already read (so the message counts the whole part).
 */
static int
read_part(struct pk_pcapfile *f, void *dst, size_t n, size_t base,
    int eof_ok, const char *what)
{
	size_t got = src_read(f, dst, n);

	if (got == n)
		return PK_PCAPFILE_OK;
	if (src_error(f)) {
		set_err(f, "read error: %s", strerror(errno));
		return PK_PCAPFILE_ERROR;
	}
	if (got == 0 && eof_ok)
		return PK_PCAPFILE_EOF;
	set_err(f, "truncated %s: %zu of %zu bytes", what, base + got,
	    base + n);
	return PK_PCAPFILE_TRUNCATED;
}

static int
read_exact(struct pk_pcapfile *f, void *dst, size_t n, int eof_ok,
    const char *what)
{
	return read_part(f, dst, n, 0, eof_ok, what);
}

/* libpcap's rule: 0 or more than the maximum means the maximum. */
static uint32_t
adjust_snaplen(uint32_t snaplen)
{
	return snaplen == 0 || snaplen > PK_PCAPFILE_MAX_SNAP ?
	    PK_PCAPFILE_MAX_SNAP : snaplen;
}

/* ---- classic pcap ------------------------------------------------------ */

static int
pcap_header(struct pk_pcapfile *f, const uint8_t *h)
{
	uint32_t magic = le32(h);
	uint16_t major, minor;

	f->format = PK_PCAPFILE_PCAP;
	f->reclen = PCAP_REC_LEN;
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS ||
	    magic == PCAP_MAGIC_KUZ)
		f->swap = 0;
	else {
		f->swap = 1;
		magic = get32(f, h);
	}
	f->nanos = magic == PCAP_MAGIC_NS;
	if (magic == PCAP_MAGIC_KUZ)
		f->reclen = PCAP_KUZ_REC_LEN;
	major = get16(f, h + 4);
	minor = get16(f, h + 6);
	if (major != 2 || minor > 4) {
		set_err(f, "unsupported pcap version %u.%u", major, minor);
		return -1;
	}
	/* libpcap's reading of history: 2.0-2.2 wrote caplen and len the
	 * wrong way round, 2.3 sometimes did (so swap only if caplen >
	 * len), 2.4 never. */
	f->lengths_swapped = minor < 3 ? 2 : minor == 3 ? 1 : 0;
	f->linktype = (int)LT_LINKTYPE(get32(f, h + 20));
	f->snaplen = adjust_snaplen(get32(f, h + 16));
	return 0;
}

static int
pcap_next(struct pk_pcapfile *f, struct pk_pcapfile_rec *rec)
{
	uint8_t h[PCAP_KUZ_REC_LEN];
	uint32_t sec, frac, caplen, len, keep, t;
	int r;

	r = read_exact(f, h, f->reclen, 1, "record header");
	if (r != PK_PCAPFILE_OK)
		return r;
	sec = get32(f, h);
	frac = get32(f, h + 4);
	caplen = get32(f, h + 8);
	len = get32(f, h + 12);
	if (f->lengths_swapped == 2 ||
	    (f->lengths_swapped == 1 && caplen > len)) {
		t = caplen;
		caplen = len;
		len = t;
	}
	if (caplen > PK_PCAPFILE_MAX_SNAP) {
		set_err(f, "invalid packet capture length %u, bigger than "
		    "maximum of %u", caplen, PK_PCAPFILE_MAX_SNAP);
		return PK_PCAPFILE_ERROR;
	}
	/* Longer than the file's snapshot: keep the snapshot, skip the
	 * rest, as libpcap does. */
	keep = caplen > f->snaplen ? f->snaplen : caplen;
	if (buf_reserve(f, caplen) != 0)
		return PK_PCAPFILE_ERROR;
	r = read_exact(f, f->buf, caplen, 0, "packet data");
	if (r != PK_PCAPFILE_OK)
		return r;
	if (keep < caplen)
		f->st.cut_to_snaplen++;
	rec->linktype = f->linktype;
	rec->ifindex = 0;
	if (f->nanos)
		frac /= 1000;
	rec->ts_us = (uint64_t)sec * 1000000u + frac;
	rec->caplen = keep;
	rec->wirelen = len;
	rec->data = f->buf;
	return PK_PCAPFILE_OK;
}

/* ---- pcapng ------------------------------------------------------------ */

/*
 * Read one block into f->buf (all of it, both length fields included).
 * Returns PK_PCAPFILE_OK with *type and *len set, _EOF at a clean end, or
 * _ERROR / _TRUNCATED.  An SHB sets the byte order of what follows.
 */
static int
ng_read_block(struct pk_pcapfile *f, uint32_t *type, uint32_t *len)
{
	uint8_t h[12];
	uint32_t bom, tlen, have;
	int r, swap;

	r = read_exact(f, h, 8, 1, "pcapng block header");
	if (r != PK_PCAPFILE_OK)
		return r;
	*type = get32(f, h);
	if (*type == NG_SHB) {
		/* The type reads the same in both orders; the byte-order
		 * magic after the length decides the section's order. */
		r = read_part(f, h + 8, 4, 8, 0, "pcapng section header");
		if (r != PK_PCAPFILE_OK)
			return r;
		bom = le32(h + 8);
		if (bom == NG_BOM)
			swap = 0;
		else if (bom == 0x4d3c2b1au)
			swap = 1;
		else {
			set_err(f, "pcapng section header has a bad "
			    "byte-order magic 0x%08x", bom);
			return PK_PCAPFILE_ERROR;
		}
		f->swap = swap;
	}
	tlen = get32(f, h + 4);
	if (tlen < NG_MIN_BLOCK || tlen % 4 != 0) {
		set_err(f, "pcapng block of type 0x%08x has an invalid "
		    "length %u", *type, tlen);
		return PK_PCAPFILE_ERROR;
	}
	if (tlen > PK_PCAPFILE_MAX_BLOCK) {
		set_err(f, "pcapng block of type 0x%08x is %u bytes, more "
		    "than the maximum of %u", *type, tlen,
		    PK_PCAPFILE_MAX_BLOCK);
		return PK_PCAPFILE_ERROR;
	}
	if (*type == NG_SHB && tlen < NG_SHB_MIN) {
		set_err(f, "pcapng section header too short (%u bytes)", tlen);
		return PK_PCAPFILE_ERROR;
	}
	if (buf_reserve(f, tlen) != 0)
		return PK_PCAPFILE_ERROR;
	have = *type == NG_SHB ? 12 : 8;
	memcpy(f->buf, h, have);
	r = read_part(f, f->buf + have, tlen - have, have, 0, "pcapng block");
	if (r != PK_PCAPFILE_OK)
		return r;
	if (get32(f, f->buf + tlen - 4) != tlen) {
		set_err(f, "pcapng block of type 0x%08x: trailing length %u "
		    "differs from %u", *type, get32(f, f->buf + tlen - 4),
		    tlen);
		return PK_PCAPFILE_ERROR;
	}
	*len = tlen;
	return PK_PCAPFILE_OK;
}

static int
ng_shb(struct pk_pcapfile *f, const uint8_t *b)
{
	uint16_t major = get16(f, b + 12), minor = get16(f, b + 14);

	/* libpcap reads 1.0 and the 1.2 some writers put in. */
	if (major != 1 || (minor != 0 && minor != 2)) {
		set_err(f, "unsupported pcapng version %u.%u", major, minor);
		return -1;
	}
	f->nifs = 0;
	f->st.sections++;
	return 0;
}

/* if_tsresol: 10^-n or, with the top bit, 2^-n seconds. */
static int
ng_tsresol(struct pk_pcapfile *f, uint8_t v, uint64_t *ticks)
{
	unsigned n = v & 0x7f, i;

	if (v & 0x80) {
		if (n > 63) {
			set_err(f, "pcapng if_tsresol 2^-%u is out of range", n);
			return -1;
		}
		*ticks = (uint64_t)1 << n;
		return 0;
	}
	if (n > 19) {
		set_err(f, "pcapng if_tsresol 10^-%u is out of range", n);
		return -1;
	}
	*ticks = 1;
	for (i = 0; i < n; i++)
		*ticks *= 10;
	return 0;
}

/* Walk the options in [p, end): code, length, value padded to 4. */
static int
ng_idb_options(struct pk_pcapfile *f, struct ng_if *ifp, const uint8_t *p,
    const uint8_t *end)
{
	uint16_t code, olen;
	uint64_t off;
	size_t padded;

	while (end - p >= 4) {
		code = get16(f, p);
		olen = get16(f, p + 2);
		p += 4;
		if (code == NG_OPT_ENDOFOPT)
			break;
		padded = ((size_t)olen + 3) & ~(size_t)3;
		if (padded > (size_t)(end - p)) {
			set_err(f, "pcapng interface option %u is %u bytes, "
			    "past the end of its block", code, olen);
			return -1;
		}
		if (code == NG_IF_TSRESOL) {
			if (olen != 1) {
				set_err(f, "pcapng if_tsresol has length %u, "
				    "not 1", olen);
				return -1;
			}
			if (ng_tsresol(f, p[0], &ifp->ticks) != 0)
				return -1;
		} else if (code == NG_IF_TSOFFSET) {
			if (olen != 8) {
				set_err(f, "pcapng if_tsoffset has length %u, "
				    "not 8", olen);
				return -1;
			}
			off = f->swap ?
			    (uint64_t)get32(f, p) << 32 | get32(f, p + 4) :
			    (uint64_t)get32(f, p + 4) << 32 | get32(f, p);
			ifp->offset_s = (int64_t)off;
		}
		p += padded;
	}
	return 0;
}

static int
ng_idb(struct pk_pcapfile *f, const uint8_t *b, uint32_t len)
{
	struct ng_if *ifp;

	if (len < NG_IDB_MIN) {
		set_err(f, "pcapng interface description too short (%u "
		    "bytes)", len);
		return -1;
	}
	if (f->nifs >= PK_PCAPFILE_MAX_IFS) {
		set_err(f, "more than %d interfaces in one pcapng section",
		    PK_PCAPFILE_MAX_IFS);
		return -1;
	}
	ifp = &f->ifs[f->nifs];
	memset(ifp, 0, sizeof(*ifp));
	ifp->linktype = (int)LT_LINKTYPE(get16(f, b + 8));
	ifp->snaplen = adjust_snaplen(get32(f, b + 12));
	ifp->ticks = 1000000;	/* the default: microseconds */
	if (ng_idb_options(f, ifp, b + 16, b + len - 4) != 0)
		return -1;
	if (f->first_linktype < 0)
		f->first_linktype = ifp->linktype;
	f->nifs++;
	f->st.interfaces++;
	return 0;
}

/* Timestamp ticks of an interface to microseconds, truncating. */
static uint64_t
ng_ts_us(const struct ng_if *ifp, uint64_t t)
{
	uint64_t sec = t / ifp->ticks, frac = t % ifp->ticks, us;

	if (ifp->ticks == 1000000)
		us = frac;
	else if (ifp->ticks > 1000000 && ifp->ticks % 1000000 == 0)
		us = frac / (ifp->ticks / 1000000);
	else if (ifp->ticks < 1000000 && 1000000 % ifp->ticks == 0)
		us = frac * (1000000 / ifp->ticks);
	else	/* binary fractions: frac * 10^6 may not fit 64 bits */
		us = (uint64_t)((long double)frac * 1000000.0L /
		    (long double)ifp->ticks);
	/* The offset's magnitude in unsigned arithmetic: negating INT64_MIN
	 * as an int64_t is undefined (a fuzzer found one in an IDB). */
	if (ifp->offset_s < 0 && 0 - (uint64_t)ifp->offset_s > sec)
		sec = 0;
	else
		sec += (uint64_t)ifp->offset_s;
	return sec * 1000000u + us;
}

/* A packet of interface id with caplen bytes at data inside the block. */
static int
ng_packet(struct pk_pcapfile *f, struct pk_pcapfile_rec *rec, uint32_t id,
    uint64_t ts, int has_ts, uint32_t caplen, uint32_t wirelen,
    const uint8_t *data)
{
	const struct ng_if *ifp;

	if (id >= f->nifs) {
		set_err(f, "a packet arrived on interface %u, but there's no "
		    "Interface Description Block for that interface", id);
		return PK_PCAPFILE_ERROR;
	}
	ifp = &f->ifs[id];
	if (caplen > PK_PCAPFILE_MAX_SNAP) {
		set_err(f, "invalid packet capture length %u, bigger than "
		    "maximum of %u", caplen, PK_PCAPFILE_MAX_SNAP);
		return PK_PCAPFILE_ERROR;
	}
	if (caplen > ifp->snaplen) {
		caplen = ifp->snaplen;
		f->st.cut_to_snaplen++;
	}
	rec->linktype = ifp->linktype;
	rec->ifindex = id;
	rec->ts_us = has_ts ? ng_ts_us(ifp, ts) : 0;
	rec->caplen = caplen;
	rec->wirelen = wirelen;
	rec->data = data;
	return PK_PCAPFILE_OK;
}

/* EPB and OPB: the captured length must fit the block's body. */
static int
ng_epb(struct pk_pcapfile *f, struct pk_pcapfile_rec *rec, uint32_t type,
    const uint8_t *b, uint32_t len)
{
	uint32_t id, caplen, wirelen, room;
	uint64_t ts;

	if (len < (type == NG_EPB ? NG_EPB_MIN : NG_OPB_MIN)) {
		set_err(f, "pcapng packet block too short (%u bytes)", len);
		return PK_PCAPFILE_ERROR;
	}
	id = type == NG_EPB ? get32(f, b + 8) : get16(f, b + 8);
	ts = (uint64_t)get32(f, b + 12) << 32 | get32(f, b + 16);
	caplen = get32(f, b + 20);
	wirelen = get32(f, b + 24);
	room = len - 28 - 4;
	if (caplen > room) {
		set_err(f, "pcapng packet block: captured length %u is more "
		    "than the %u bytes the block holds", caplen, room);
		return PK_PCAPFILE_ERROR;
	}
	return ng_packet(f, rec, id, ts, 1, caplen, wirelen, b + 28);
}

/* SPB: no interface id (0), no timestamp, no captured length. */
static int
ng_spb(struct pk_pcapfile *f, struct pk_pcapfile_rec *rec, const uint8_t *b,
    uint32_t len)
{
	uint32_t wirelen, caplen, room;

	if (len < NG_SPB_MIN) {
		set_err(f, "pcapng simple packet block too short (%u bytes)",
		    len);
		return PK_PCAPFILE_ERROR;
	}
	if (f->nifs == 0) {
		set_err(f, "a simple packet block arrived with no Interface "
		    "Description Block before it");
		return PK_PCAPFILE_ERROR;
	}
	wirelen = get32(f, b + 8);
	room = len - 12 - 4;
	caplen = wirelen;
	if (caplen > f->ifs[0].snaplen)
		caplen = f->ifs[0].snaplen;
	if (caplen > room) {
		set_err(f, "pcapng simple packet block: %u bytes of packet "
		    "but the block holds %u", caplen, room);
		return PK_PCAPFILE_ERROR;
	}
	return ng_packet(f, rec, 0, 0, 0, caplen, wirelen, b + 12);
}

/*
 * Blocks until a packet or the end.  Other block types are skipped (name
 * resolution, statistics, secrets, custom blocks).
 */
static int
ng_next(struct pk_pcapfile *f, struct pk_pcapfile_rec *rec)
{
	uint32_t type, len;
	int r;

	for (;;) {
		r = ng_read_block(f, &type, &len);
		if (r != PK_PCAPFILE_OK)
			return r;
		switch (type) {
		case NG_SHB:
			if (ng_shb(f, f->buf) != 0)
				return PK_PCAPFILE_ERROR;
			break;
		case NG_IDB:
			if (ng_idb(f, f->buf, len) != 0)
				return PK_PCAPFILE_ERROR;
			break;
		case NG_EPB:
		case NG_OPB:
			return ng_epb(f, rec, type, f->buf, len);
		case NG_SPB:
			return ng_spb(f, rec, f->buf, len);
		default:
			f->st.blocks_skipped++;
			break;
		}
	}
}

/*
 * At open, after the SHB: read on to the first IDB so the file's link type
 * is known (libpcap does the same, and refuses a packet before any IDB).
 * The blocks read are not packets, so nothing is lost.
 */
static int
ng_open(struct pk_pcapfile *f)
{
	uint32_t type, len;
	int r;

	f->format = PK_PCAPFILE_PCAPNG;
	f->first_linktype = -1;
	if (ng_shb(f, f->buf) != 0)
		return -1;
	while (f->first_linktype < 0) {
		r = ng_read_block(f, &type, &len);
		if (r == PK_PCAPFILE_EOF) {
			set_err(f, "the capture file has no Interface "
			    "Description Blocks");
			return -1;
		}
		if (r != PK_PCAPFILE_OK)
			return -1;
		switch (type) {
		case NG_SHB:
			if (ng_shb(f, f->buf) != 0)
				return -1;
			break;
		case NG_IDB:
			if (ng_idb(f, f->buf, len) != 0)
				return -1;
			break;
		case NG_EPB:
		case NG_OPB:
		case NG_SPB:
			set_err(f, "the capture file has a packet block "
			    "before any Interface Description Blocks");
			return -1;
		default:
			f->st.blocks_skipped++;
			break;
		}
	}
	return 0;
}

/* ---- opening ----------------------------------------------------------- */

static int
open_common(struct pk_pcapfile *f)
{
	uint8_t h[PCAP_HDR_LEN];
	uint32_t type, len, magic;
	size_t got;

	got = src_read(f, h, 4);
	if (got == 0 && !src_error(f)) {
		set_err(f, "empty file");
		return -1;
	}
	if (got < 4) {
		set_err(f, src_error(f) ? "read error" : "file too short "
		    "for a capture header (%zu bytes)", got);
		return -1;
	}
	magic = le32(h);
	if (magic == NG_SHB) {
		/* Re-read it as the block it is. */
		if (f->fp != NULL) {
			if (fseek(f->fp, 0, SEEK_SET) != 0) {
				set_err(f, "cannot rewind: %s", strerror(errno));
				return -1;
			}
		} else
			f->mempos = 0;
		if (ng_read_block(f, &type, &len) != PK_PCAPFILE_OK)
			return -1;
		return ng_open(f);
	}
	if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS &&
	    magic != PCAP_MAGIC_KUZ && magic != 0xd4c3b2a1u &&
	    magic != 0x4d3cb2a1u && magic != 0x34cdb2a1u) {
		set_err(f, "unknown file format (magic 0x%08x)", magic);
		return -1;
	}
	got = src_read(f, h + 4, PCAP_HDR_LEN - 4);
	if (got != PCAP_HDR_LEN - 4) {
		set_err(f, "truncated pcap file header: %zu of %d bytes",
		    got + 4, (int)PCAP_HDR_LEN);
		return -1;
	}
	return pcap_header(f, h);
}

static struct pk_pcapfile *
open_finish(struct pk_pcapfile *f, char *err, size_t errlen)
{
	/* A buffer from the start: an empty record still points somewhere. */
	if (buf_reserve(f, 4096) == 0 && open_common(f) == 0) {
		f->err[0] = '\0';
		return f;
	}
	snprintf(err, errlen, "%s", f->err);
	pk_pcapfile_close(f);
	return NULL;
}

struct pk_pcapfile *
pk_pcapfile_open(const char *path, char *err, size_t errlen)
{
	struct pk_pcapfile *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* "rb": Windows would otherwise turn CR LF into LF. */
	if ((f->fp = fopen(path, "rb")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(f);
		return NULL;
	}
	return open_finish(f, err, errlen);
}

struct pk_pcapfile *
pk_pcapfile_open_mem(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct pk_pcapfile *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->mem = buf;
	f->memlen = buf != NULL ? len : 0;
	return open_finish(f, err, errlen);
}

void
pk_pcapfile_close(struct pk_pcapfile *f)
{
	if (f == NULL)
		return;
	if (f->fp != NULL)
		fclose(f->fp);
	free(f->buf);
	free(f);
}

int
pk_pcapfile_next(struct pk_pcapfile *f, struct pk_pcapfile_rec *rec)
{
	int r;

	if (f->done)
		return PK_PCAPFILE_EOF;
	f->err[0] = '\0';
	r = f->format == PK_PCAPFILE_PCAP ? pcap_next(f, rec) : ng_next(f, rec);
	if (r == PK_PCAPFILE_OK)
		f->st.records++;
	else
		f->done = 1;	/* after an error the position is unknown */
	return r;
}

const char *
pk_pcapfile_error(const struct pk_pcapfile *f)
{
	return f->err;
}

enum pk_pcapfile_format
pk_pcapfile_format(const struct pk_pcapfile *f)
{
	return f->format;
}

int
pk_pcapfile_linktype(const struct pk_pcapfile *f)
{
	return f->format == PK_PCAPFILE_PCAP ? f->linktype : f->first_linktype;
}

const struct pk_pcapfile_stats *
pk_pcapfile_stats(const struct pk_pcapfile *f)
{
	return &f->st;
}
