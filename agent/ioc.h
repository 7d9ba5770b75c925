/*
 * ioc.h - indicator-of-compromise sets: addresses and CIDRs, domain names,
 * URLs and SHA-256 file hashes loaded from plain-text lists (one entry a
 * line, the type recognised from the value; docs/ioc.md is the format).
 *
 * Load with pk_ioc_load() (the [ioc] paths of a configuration) or
 * pk_iocset_new() + pk_ioc_load_path()/pk_ioc_load_buf() +
 * pk_iocset_finish(); then look values up by type.  Lookups never change
 * the set, so a finished set may be shared read-only.  Every entry
 * remembers its list (file base name without ".txt") and line.  The
 * network IOC detector (collectors/pcap/iocdet.c), the configuration
 * check of main.c and, later, the process collector call these.
 * Portable: files are read through stdio, directories through common/dir.h.
 */
#ifndef PICKET_IOC_H
#define PICKET_IOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/netaddr.h"

struct pk_config;

enum pk_ioc_type {
	PK_IOC_ADDR = 0,	/* IPv4/IPv6 address or CIDR */
	PK_IOC_DOMAIN,
	PK_IOC_URL,
	PK_IOC_SHA256,
	PK_IOC__COUNT
};

#define PK_IOC_LINE_MAX		4096	/* longer lines are bad lines */
#define PK_IOC_VALUE_MAX	2048	/* URLs longer than this are bad */
#define PK_IOC_LIST_MAX		80	/* list name bytes kept: room for
					   "shared:" and a 64-byte origin */

/* What a lookup found: a copy, valid as long as the caller keeps it. */
struct pk_ioc_match {
	int		 type;		/* enum pk_ioc_type */
	char		 value[PK_IOC_VALUE_MAX + 1];	/* listed, normalised */
	char		 list[PK_IOC_LIST_MAX];
	const char	*desc;		/* second field, "" if none; owned by
					   the set */
	uint32_t	 line;
	uint8_t		 plen;		/* PK_IOC_ADDR: prefix length */
	uint8_t		 exact;		/* PK_IOC_DOMAIN: "=name", no
					   subdomains */
};

struct pk_ioc_stats {
	uint64_t	 entries[PK_IOC__COUNT];	/* distinct, loaded */
	uint64_t	 files;		/* lists read */
	uint64_t	 bad;		/* bad lines, reported and skipped */
	uint64_t	 unreadable;	/* paths that could not be read */
	uint64_t	 duplicates;	/* same value again: first kept */
	uint64_t	 over_limit;	/* skipped: max_entries reached */
	uint64_t	 mem;		/* bytes held by the set */
};

struct pk_iocset;

struct pk_iocset *pk_iocset_new(uint64_t max_entries);
void pk_iocset_free(struct pk_iocset *set);

/*
 * Load one list given as text (name is used in messages and as the list
 * name).  Bad lines are printed to errfp as "NAME:LINE: message" (to the
 * log when errfp is NULL) and skipped.  Returns the number of bad lines.
 */
int pk_ioc_load_buf(struct pk_iocset *set, const char *name,
    const char *text, size_t len, FILE *errfp);
/*
 * Load a file, or every *.txt file of a directory.  Returns the number of
 * bad lines and unreadable paths; a missing path is skipped silently when
 * missing_ok.
 */
int pk_ioc_load_path(struct pk_iocset *set, const char *path, int missing_ok,
    FILE *errfp);
/* After loading, before lookups: sorts and removes duplicates. */
void pk_iocset_finish(struct pk_iocset *set);

/*
 * A whole configuration: the comma-separated [ioc] paths, the default
 * directories skipped when missing.  *problems (may be NULL) gets the
 * count of bad lines, unreadable paths and entries over max_entries.
 * NULL only when out of memory.
 */
struct pk_iocset *pk_ioc_load(const struct pk_config *cfg, FILE *errfp,
    int *problems);
/*
 * For `picketd -n`: load the configured lists, print the bad lines and
 *   ioc: N entries (a addresses, b domains, c urls, d hashes) from F files,
 *   B bad lines
 * and return the number of problems (0 = good).
 */
int pk_ioc_check(const struct pk_config *cfg, FILE *out);

const struct pk_ioc_stats *pk_iocset_stats(const struct pk_iocset *set);
uint64_t pk_iocset_size(const struct pk_iocset *set);	/* all types */

/* Lookups: 1 and *out filled on a match, else 0.  out may be NULL. */
/* The most specific listed prefix holding a. */
int pk_ioc_match_addr(const struct pk_iocset *set, const struct pk_addr *a,
    struct pk_ioc_match *out);
/* The name itself, else its nearest listed parent domain. */
int pk_ioc_match_domain(const struct pk_iocset *set, const char *name,
    struct pk_ioc_match *out);
/* The URL as listed, else the listed URL without query (host + path). */
int pk_ioc_match_url(const struct pk_iocset *set, const char *url,
    struct pk_ioc_match *out);
int pk_ioc_match_sha256(const struct pk_iocset *set, const uint8_t h[32],
    struct pk_ioc_match *out);

/*
 * Normalisation, exposed for the detector and tests.  Returns 0, or -1
 * with a static message in *err.
 *   domain: lowercase, trailing dot removed, labels checked.
 *   url:    http/https only; scheme and host lowercased, default port
 *           removed, empty path made "/", fragment removed.
 */
int pk_ioc_norm_domain(const char *in, char *out, size_t outlen,
    const char **err);
int pk_ioc_norm_url(const char *in, char *out, size_t outlen,
    const char **err);

const char *pk_ioc_type_name(int type);	/* "address", "domain", ... */

/*
 * Shared indicators: the detection sets built from one bundle the hub
 * pushed (transport/bundle.h, docs/bundles.md).  ipv4, ipv6, domain, url
 * and sha256 entries become an IOC set with one list per origin, named
 * "shared:<origin>", matched by the same lookups as the configured lists;
 * 32-hex fingerprint entries a sorted set of 16-byte values (the bytes of
 * picket.fingerprint, pk_indicator_fp_bytes); rule entries a sorted set
 * of rule ids.  Entries an agent cannot use (a fingerprint that is not
 * 32 hex digits, a value the IOC loader refuses) are counted as ignored,
 * never fatal.  Read-only once built: the collector builds one, hands it
 * to the engine (pk_engine_set_shared) between packets and frees the old.
 */
struct pk_bundle;
struct pk_ind_shared;
struct pk_shared;

struct pk_shared_stats {
	uint64_t	 loaded;		/* entries in use */
	uint64_t	 ignored;		/* entries not usable here */
	uint64_t	 kind[8];		/* in the bundle, by enum
						   pk_bundle_kind */
};

/* Takes *b (zeroed on return, success or not).  NULL: out of memory. */
struct pk_shared *pk_shared_new(struct pk_bundle *b);
void pk_shared_free(struct pk_shared *sh);
uint64_t pk_shared_version(const struct pk_shared *sh);
const struct pk_shared_stats *pk_shared_stats(const struct pk_shared *sh);
/* The IOC set of the bundle, NULL when it has no IOC entries. */
const struct pk_iocset *pk_shared_iocset(const struct pk_shared *sh);
/* Number of fingerprint values in use (0: nothing to look for). */
size_t pk_shared_nfingerprints(const struct pk_shared *sh);
/*
 * Lookups: 1 and *out filled (strings owned by sh) on a match, else 0.
 * pk_shared_ioc: the entry behind a match made on pk_shared_iocset(sh).
 */
int pk_shared_ioc(const struct pk_shared *sh, const struct pk_ioc_match *m,
    struct pk_ind_shared *out);
int pk_shared_fingerprint(const struct pk_shared *sh, const uint8_t fp[16],
    struct pk_ind_shared *out);
int pk_shared_rule(const struct pk_shared *sh, const char *rule_id,
    struct pk_ind_shared *out);

#endif
