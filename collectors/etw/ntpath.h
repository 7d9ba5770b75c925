/*
 * ntpath.h - NT device paths to drive-letter paths for the Windows
 * process collector.  ETW names images by the kernel's device path
 * (\Device\HarddiskVolume3\Users\alice\x.exe); the detections, the
 * configured patterns and the analyst want C:\Users\alice\x.exe.  The
 * map is a bounded table of (device, replacement) pairs that a platform
 * loader fills (ntpath_win32.c: QueryDosDeviceW over A: to Z:) and that
 * tests fill by hand; the lookup is portable C.  Used by etwproc.c and
 * the unit tests, on one thread.
 */
#ifndef PICKET_ETW_NTPATH_H
#define PICKET_ETW_NTPATH_H

#include <stddef.h>
#include <stdint.h>

#define PK_NTMAP_MAX		64	/* 26 drives, the redirector, spare */
#define PK_NTMAP_DEV_MAX	128	/* bytes of a device name */
#define PK_NTMAP_TO_MAX		8	/* "C:", or "\" for UNC */

struct pk_ntmap_ent {
	char		dev[PK_NTMAP_DEV_MAX];	/* \Device\HarddiskVolume3 */
	size_t		devlen;
	char		to[PK_NTMAP_TO_MAX];	/* C: */
};

struct pk_ntmap {
	struct pk_ntmap_ent	e[PK_NTMAP_MAX];
	size_t			n;
	uint64_t		refused;	/* full, or a name too long */
};

/*
 * Empty the map but for the network redirector: \Device\Mup\srv\share\x
 * is \\srv\share\x.
 */
void pk_ntmap_clear(struct pk_ntmap *m);
/* Map device dev (no trailing "\") to to; 0, or -1 (counted) if full or
 * too long.  A second entry for the same device replaces the first. */
int pk_ntmap_add(struct pk_ntmap *m, const char *dev, const char *to);
/*
 * path (len bytes) with its device replaced, into out (cap bytes,
 * NUL-terminated).  The device must be followed by "\" or the end of the
 * path and matches in either case (\Device\HarddiskVolume1 is not a
 * prefix of \Device\HarddiskVolume10\x); the longest entry wins.
 * Returns 1 when mapped, 0 when no entry matches, -1 when the result
 * does not fit (out then holds "").
 */
int pk_ntmap_map(const struct pk_ntmap *m, const char *path, size_t len,
    char *out, size_t cap);

/* The platform loader (ntpath_win32.c): the map from the system's
 * drive letters.  Returns the entries it holds, or -1. */
int pk_ntmap_load(struct pk_ntmap *m);

#endif
