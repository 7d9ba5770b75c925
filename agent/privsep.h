/*
 * privsep.h - privilege separation primitives for picketd on Linux: look up
 * the unprivileged user, hand it the spool directory, drop from root to it
 * keeping only named capabilities, and install the shipper's seccomp
 * allowlist.  Implemented in privsep_linux.c; only agent/main.c (and the
 * unit tests) call these, each in a freshly forked, still single-threaded
 * child.  The header uses fixed-width types only so that portable code may
 * include it; there is no Windows implementation (there the parts are
 * threads of one service, see docs/privsep.md).
 */
#ifndef PICKET_PRIVSEP_H
#define PICKET_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>

/* A resolved user.  uid/gid are uid_t/gid_t values (32 bits on Linux). */
struct pk_priv_user {
	uint32_t	uid;
	uint32_t	gid;		/* the user's primary group */
	char		name[64];
};

/* Bit for one capability number in pk_priv_drop()'s keep mask. */
#define PK_PRIV_CAP(c)	(UINT64_C(1) << (c))

/*
 * Resolve user (a name, never a number) with getpwnam_r.  0 on success;
 * -1 with a reason naming the user in err when it does not exist, its name
 * does not fit, or the lookup fails.
 */
int pk_priv_lookup(const char *user, struct pk_priv_user *u, char *err,
    size_t errlen);

/*
 * Drop from root to u for good, keeping only the capabilities in keep
 * (PK_PRIV_CAP(CAP_x) | ..., 0 = none) as permitted and effective.
 * Order: refuse if the process has more than one thread; drop every other
 * capability from the bounding set; PR_SET_KEEPCAPS (only if keep != 0);
 * setgroups(1, &gid), setresgid, setresuid; capset(permitted = effective =
 * keep, inheritable = 0); clear ambient capabilities; PR_SET_KEEPCAPS 0;
 * PR_SET_NO_NEW_PRIVS; PR_SET_DUMPABLE 0; re-arm the parent-death signal
 * (the kernel clears it when the euid changes).  Then verify: all three
 * uids and gids are u's, setuid(0) and setgid(0) fail, and the capability
 * sets are exactly keep.
 * Returns 1 when the process is not running as root (nothing done: the
 * caller logs "running as uid N, no privilege drop"), 0 when dropped, and
 * -1 with a reason in err (the process may be half-dropped: exit).
 * Refuses a target user with uid 0 or gid 0.
 */
int pk_priv_drop(const struct pk_priv_user *u, uint64_t keep, char *err,
    size_t errlen);

/*
 * Make dir (the last path component; its parent must exist) a directory
 * owned by u with mode 0700, and chown the regular files directly inside
 * it that are not u's (a spool left by an earlier run as root).  Symbolic
 * links are never followed: dir itself must not be one, and links inside
 * are left alone.  At most PK_PRIV_OWN_MAX entries are examined.  Call as
 * root before the drop; as another user it succeeds only when nothing
 * needs chowning.  0 on success, -1 with a reason in err.
 */
#define PK_PRIV_OWN_MAX	100000
int pk_priv_own_dir(const char *dir, const struct pk_priv_user *u, char *err,
    size_t errlen);

/*
 * Install the shipper's seccomp filter (allowlist in privsep_linux.c):
 * the architecture is checked, x32 system calls are refused, anything not
 * listed kills the whole process with SIGSYS.  Sets PR_SET_NO_NEW_PRIVS
 * itself.  Applies to every thread (TSYNC); the shipper has one.
 * Returns 0 when installed, 1 when the kernel has no seccomp filter support
 * (the caller logs and runs without), -1 with a reason in err.
 */
int pk_priv_seccomp_shipper(char *err, size_t errlen);

#endif
