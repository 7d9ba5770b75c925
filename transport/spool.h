/*
 * spool.h - the agent's on-disk queue of indicators waiting for the hub.
 *
 * The collector appends each indicator line (NDJSON) as one record with a
 * strictly increasing sequence number; the shipper reads records from a
 * sequence number onward and, when the hub's ACK covers them, acknowledges
 * them so whole segments can be deleted.  The writer (struct pk_spool) is
 * used by one thread of one process; readers (struct pk_spool_reader) work
 * from the files alone, so on Linux the shipper may be another process
 * reading while the collector writes.  Layout, recovery policy and
 * durability promises: docs/spool.md.
 *
 * The portable logic is transport/spool.c (C library only); the few file
 * operations it needs are the table struct pk_spool_fsops, implemented by
 * transport/spool_unix.c and transport/spool_win32.c.  Tests may pass
 * their own table (to inject ENOSPC, count calls) in the settings.
 */
#ifndef PICKET_SPOOL_H
#define PICKET_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* Record framing (docs/spool.md).  All integers little-endian. */
#define PK_SPOOL_MAGIC		0xa7	/* byte 0 of every record */
#define PK_SPOOL_VERSION	1	/* byte 1 */
#define PK_SPOOL_HDR		20	/* magic ver flags len seq crc */
#define PK_SPOOL_PAYLOAD_MAX	65536	/* larger payloads are refused */
/* Sequence numbers stay below this, so "last + 1" can never wrap. */
#define PK_SPOOL_SEQ_LIMIT	(1ULL << 62)

/* Defaults for [spool]. */
#define PK_SPOOL_MAX_BYTES_DEFAULT	(256ULL << 20)
#define PK_SPOOL_SEGMENT_DEFAULT	(8ULL << 20)
#define PK_SPOOL_SYNC_MS_DEFAULT	200
/* Smallest segment accepted; tests use small ones to rotate often. */
#define PK_SPOOL_SEGMENT_MIN		256
/* Segments considered in one directory listing (more are ignored, counted). */
#define PK_SPOOL_MAX_SEGMENTS		65536
#define PK_SPOOL_PATH_MAX		4096

enum pk_spool_sync {
	PK_SPOOL_SYNC_BATCH = 0,	/* fsync in pk_spool_sync / timer */
	PK_SPOOL_SYNC_ALWAYS,		/* fsync after every append */
	PK_SPOOL_SYNC_NEVER		/* leave it to the OS, no fsync at all */
};

/* ---------------------------------------------------- platform layer */

/* Open modes for pk_spool_fsops.open. */
#define PK_SPOOL_OPEN_READ	0	/* read only, file must exist */
#define PK_SPOOL_OPEN_APPEND	1	/* read/append, created if missing */
#define PK_SPOOL_OPEN_REPLACE	2	/* write, created or emptied */

/* Called with each entry name of a directory ("." and ".." excluded). */
typedef int (*pk_spool_name_fn)(void *arg, const char *name);

/*
 * Every function returns 0 or -1 with errno set (ENOENT for a missing
 * file, ENOSPC for a full disk; the Windows file maps its error codes).
 * Files are opaque handles; shared so that a reader may read, and the
 * writer delete, a file another handle holds open.
 */
struct pk_spool_fsops {
	int	(*open)(const char *path, int mode, void **fh);
	/* Write all len bytes at the end of the file; -1 if not all were. */
	int	(*append)(void *fh, const void *buf, size_t len);
	/* Read up to len bytes at off; *got < len only at end of file. */
	int	(*pread)(void *fh, uint64_t off, void *buf, size_t len,
		    size_t *got);
	int	(*size)(void *fh, uint64_t *size);
	int	(*truncate)(void *fh, uint64_t size);
	int	(*sync)(void *fh);		/* data to stable storage */
	void	(*close)(void *fh);
	int	(*sync_dir)(const char *dir);	/* names to stable storage */
	int	(*list)(const char *dir, pk_spool_name_fn fn, void *arg);
	int	(*remove)(const char *path);
	int	(*rename)(const char *from, const char *to); /* atomic replace */
	int	(*mkdir)(const char *path);	/* 0 if it already exists */
};

/* The host's implementation (spool_unix.c or spool_win32.c). */
extern const struct pk_spool_fsops pk_spool_fs_default;

/* --------------------------------------------------------- settings */

struct pk_spool_settings {
	const char	*dir;		/* created if missing (one level) */
	uint64_t	 max_bytes;	/* 0: default; >= 2 * segment_bytes */
	uint64_t	 segment_bytes;	/* 0: default */
	int		 sync;		/* enum pk_spool_sync */
	uint32_t	 sync_interval_ms; /* batch: 0 means default */
	/* NULL: pk_spool_fs_default. */
	const struct pk_spool_fsops *fs;
	/* Monotonic clock in microseconds for the batch interval; NULL: none
	 * (then only pk_spool_sync and pk_spool_tick with a time sync). */
	uint64_t	(*now_us)(void);
};

void pk_spool_settings_init(struct pk_spool_settings *s, const char *dir);

struct pk_spool_stats {
	uint64_t records_appended;	/* since open */
	uint64_t bytes_appended;	/* framed bytes written since open */
	uint64_t disk_bytes;		/* segment bytes on disk now */
	uint64_t segments;		/* segment files now */
	uint64_t fsyncs;		/* data fsyncs */
	uint64_t dir_fsyncs;		/* directory fsyncs */
	uint64_t corrupt_records;	/* invalid complete records met */
	uint64_t torn_bytes;		/* bytes truncated from segment tails */
	uint64_t skipped_bytes;		/* unreadable bytes left in old segments */
	uint64_t dropped_full_records;	/* unacked sequence numbers dropped */
	uint64_t dropped_full_bytes;	/*  ... and their segments' bytes */
	uint64_t dropped_full_segments;
	uint64_t write_errors;		/* appends lost to I/O errors */
	uint64_t enospc_errors;		/*  ... of which the disk was full */
	uint64_t rejected_records;	/* empty or over PK_SPOOL_PAYLOAD_MAX */
	uint64_t acked_segments_removed;
	uint64_t acked_seq;		/* everything <= this is acknowledged */
	uint64_t oldest_seq;		/* first seq still on disk (0: none) */
	uint64_t next_seq;		/* the next append gets this */
	uint64_t durable_seq;		/* last seq known fsynced */
};

/* ----------------------------------------------------------- writer */

struct pk_spool;

/*
 * Open (creating the directory if needed) and recover: the last segment is
 * scanned with CRCs and a torn or corrupt tail truncated; older segments are
 * walked to count records; sizes over max_bytes drop the oldest segments.
 * What was dropped is in the stats.  NULL on error (bad settings, the
 * directory unusable), with a log line.
 */
struct pk_spool *pk_spool_open(const struct pk_spool_settings *s);
/* Syncs (unless policy never) and frees. */
void pk_spool_close(struct pk_spool *sp);

/*
 * Append one record.  On success *seq (may be NULL) is its sequence
 * number.  -1 when the payload is empty or over PK_SPOOL_PAYLOAD_MAX
 * (rejected_records) or on an I/O error such as ENOSPC (write_errors; the
 * record is lost, its sequence number is not reused, and the next append
 * tries again).  Never waits for anything but the disk.
 */
int pk_spool_append(struct pk_spool *sp, const void *payload, size_t len,
    uint64_t *seq);
/*
 * Make every appended record durable (fsync) unless the policy is never.
 * *durable (may be NULL) is the last sequence number now on stable storage
 * (0 if none).  A no-op when nothing changed since the last sync.
 */
int pk_spool_sync(struct pk_spool *sp, uint64_t *durable);
/* Timer: sync if the batch interval has passed since the last one. */
int pk_spool_tick(struct pk_spool *sp, uint64_t now_us);
/* The sequence number the next append will get. */
uint64_t pk_spool_next_seq(const struct pk_spool *sp);
/*
 * Never hand out a sequence number below next: the hub told us (WELCOME)
 * it already stores up to next - 1.  Guards against reuse after a power
 * loss took unsynced records that had already been shipped.
 */
void pk_spool_raise_seq(struct pk_spool *sp, uint64_t next);
/* Acknowledge everything <= seq (see pk_spool_reader_ack). */
int pk_spool_ack(struct pk_spool *sp, uint64_t seq);
/* Copy the counters; acked_seq re-read from the ack file. */
void pk_spool_stats(struct pk_spool *sp, struct pk_spool_stats *st);

/* ----------------------------------------------------------- reader */

struct pk_spool_reader;

/* Called for each record, in sequence order; payload valid during the
 * call only.  Return non-zero to stop (the record counts as read). */
typedef int (*pk_spool_record_fn)(void *arg, uint64_t seq,
    const uint8_t *payload, size_t len);

/* fs NULL: pk_spool_fs_default.  NULL if dir cannot be used. */
struct pk_spool_reader *pk_spool_reader_open(const char *dir,
    const struct pk_spool_fsops *fs);
void pk_spool_reader_close(struct pk_spool_reader *rd);

/*
 * Deliver records with seq >= from, in order, at most max_records and
 * (after the first) at most max_bytes of payload; 0 means no limit.
 * *next_from (may be NULL) is where the next call should start.  Stops
 * quietly at an incomplete record at the end of the newest segment (the
 * writer may be halfway through it).  Returns the number delivered, -1 on
 * an I/O error.  A following call with from == *next_from continues where
 * this one stopped without rescanning.
 */
long pk_spool_read(struct pk_spool_reader *rd, uint64_t from,
    size_t max_records, size_t max_bytes, pk_spool_record_fn fn, void *arg,
    uint64_t *next_from);
/*
 * Everything <= seq is acknowledged: persist the ack point (atomic ack file:
 * write ack.tmp, fsync, rename, fsync directory) and then delete each
 * segment, except the newest, whose records are all <= seq.  The ack point
 * never moves back.  Only one party (writer or one reader) should ack.
 * sync: 0 to skip the fsyncs (policy never).
 */
int pk_spool_reader_ack(struct pk_spool_reader *rd, uint64_t seq, int sync);
/* The persisted ack point (0 if none) */
uint64_t pk_spool_reader_acked(struct pk_spool_reader *rd);
/* Counters this reader saw (corrupt_records, skipped_bytes, removals). */
void pk_spool_reader_stats(const struct pk_spool_reader *rd,
    struct pk_spool_stats *st);

/* ----------------------------------------------- exposed for tests/fuzz */

/*
 * Validate one record at the start of buf (avail bytes).  Returns the
 * record's total size and sets *seq, *payload, *len; 0 if more bytes are
 * needed to decide (incomplete: header says it extends past avail);
 * -1 if the bytes cannot be a record (bad magic, version, flags, length
 * over the maximum, CRC mismatch).
 */
long pk_spool_decode(const uint8_t *buf, size_t avail, uint64_t *seq,
    const uint8_t **payload, size_t *len);
/* Frame a record into out (PK_SPOOL_HDR + len bytes). */
void pk_spool_encode(uint8_t *out, uint64_t seq, const void *payload,
    size_t len);

#endif
