/*
 * pcapfile.h - the project's own capture-file reader: classic pcap (either
 * byte order, microsecond, nanosecond and Kuznetzov magic) and pcapng
 * (SHB, IDB, EPB, SPB, OPB; other blocks skipped), several interfaces each
 * with its link type, snapshot length and timestamp resolution.  Portable
 * C (stdio only), so the Windows agent reads captures without Npcap; the
 * offline collector (collectors/pcap/offline_win32.c), the unit tests and
 * the fuzzer call it.  Every length is checked against the block or file
 * that holds it and records are bounded (PK_PCAPFILE_MAX_SNAP bytes of
 * packet, PK_PCAPFILE_MAX_BLOCK per pcapng block); a last record cut short
 * is reported as PK_PCAPFILE_TRUNCATED, not as a hard error.  Timestamps
 * are microseconds since the epoch, truncated as libpcap truncates them
 * when asked for microsecond precision, so indicators match the Linux
 * build's to the microsecond.
 */
#ifndef PICKET_PCAPFILE_H
#define PICKET_PCAPFILE_H

#include <stddef.h>
#include <stdint.h>

/* libpcap's MAXIMUM_SNAPLEN: the largest packet any of our link types
 * carries; larger capture lengths are refused as libpcap refuses them. */
#define PK_PCAPFILE_MAX_SNAP	262144
/* Largest pcapng block read (libpcap's initial limit is the same). */
#define PK_PCAPFILE_MAX_BLOCK	(16u * 1024 * 1024)
/* Interfaces per pcapng section; packets of further ones are an error. */
#define PK_PCAPFILE_MAX_IFS	64
#define PK_PCAPFILE_ERRLEN	256

/* pk_pcapfile_next() results */
#define PK_PCAPFILE_OK		1	/* rec holds a frame */
#define PK_PCAPFILE_EOF		0	/* clean end of file */
#define PK_PCAPFILE_ERROR	-1	/* malformed; pk_pcapfile_error() says why */
#define PK_PCAPFILE_TRUNCATED	-2	/* last record cut short (counted) */

enum pk_pcapfile_format {
	PK_PCAPFILE_PCAP = 1,
	PK_PCAPFILE_PCAPNG = 2,
};

struct pk_pcapfile_rec {
	int		 linktype;	/* of the frame's interface */
	uint32_t	 ifindex;	/* pcapng interface; 0 for pcap */
	uint64_t	 ts_us;		/* microseconds since the epoch */
	uint32_t	 caplen;	/* bytes at data */
	uint32_t	 wirelen;	/* length on the wire */
	const uint8_t	*data;		/* valid until the next call */
};

struct pk_pcapfile_stats {
	uint64_t	 records;	/* frames handed out */
	uint64_t	 blocks_skipped; /* pcapng blocks of other types */
	uint64_t	 cut_to_snaplen; /* frames longer than the snapshot */
	uint32_t	 sections;	/* pcapng sections (SHBs) */
	uint32_t	 interfaces;	/* IDBs seen over all sections */
};

struct pk_pcapfile;

/*
 * Open a file and read its header.  NULL with a one-line reason in err
 * (no file, empty, not a capture, bad header).
 */
struct pk_pcapfile *pk_pcapfile_open(const char *path, char *err,
    size_t errlen);
/* The same over a buffer the caller keeps alive (tests, fuzzer). */
struct pk_pcapfile *pk_pcapfile_open_mem(const uint8_t *buf, size_t len,
    char *err, size_t errlen);
void pk_pcapfile_close(struct pk_pcapfile *f);

/* The next frame: PK_PCAPFILE_OK, _EOF, _ERROR or _TRUNCATED. */
int pk_pcapfile_next(struct pk_pcapfile *f, struct pk_pcapfile_rec *rec);

/* Why the last call failed ("" if it did not). */
const char *pk_pcapfile_error(const struct pk_pcapfile *f);
enum pk_pcapfile_format pk_pcapfile_format(const struct pk_pcapfile *f);
/*
 * The file's link type as libpcap reports it: the header's for pcap, the
 * first interface's for pcapng (-1 if the first section has no IDB before
 * its first packet; the frames still carry their own).
 */
int pk_pcapfile_linktype(const struct pk_pcapfile *f);
const struct pk_pcapfile_stats *pk_pcapfile_stats(const struct pk_pcapfile *f);

#endif
