/*
 * supervise.h - the parent supervisor of picketd on Unix: forks each child
 * process (collector, shipper), restarts one that exits or dies after a
 * backoff that doubles from backoff_min_ms to backoff_max_ms (and resets
 * once a child stayed up stable_ms), and on quit stops them all: SIGTERM,
 * stop_grace_ms, SIGKILL, reap.  Implemented in supervise_unix.c; called
 * by agent/main.c from the main thread of the root parent, before it
 * starts any thread.  Windows runs the parts as threads (docs/privsep.md).
 */
#ifndef PICKET_SUPERVISE_H
#define PICKET_SUPERVISE_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define PK_SUP_MAX_CHILDREN	8

/*
 * What a supervisor sends its children to have them log their
 * statistics: it takes SIGUSR1 itself and the children ignore theirs, so
 * signalling every process of the agent (systemctl kill) gives one report
 * from each child.  A real-time signal, since those queue: one sent
 * while the child still holds a group SIGUSR1 pending is not merged
 * into it.  A child ignores it (and SIGUSR1) until its own handler is in
 * place; by default either would kill it.
 */
#define PK_SUP_SIG_REPORT	(SIGRTMIN)

struct pk_sup_child {
	const char	*name;		/* "collector", "shipper" */
	/* Runs in the child; its return value is the exit status. */
	int		(*run)(void *arg);
	void		*arg;

	/* Kept by the supervisor; read-only for the caller. */
	int		 pid;		/* pid_t; 0 when not running */
	unsigned	 restarts;	/* starts after the first */
	uint32_t	 backoff_ms;	/* delay before the next restart */
	uint64_t	 started_ms;	/* monotonic, last start */
	uint64_t	 restart_at_ms;	/* monotonic, next start if pid 0 */
	int		 last_status;	/* raw wait status of the last exit */
	int		 fatal;		/* exited with fatal_status */
	int		 restart_req;	/* pk_sup_restart(): 1 asked, 2 killed */
	uint64_t	 term_ms;	/* monotonic, SIGTERM for restart_req */
};

struct pk_sup_settings {
	uint32_t	backoff_min_ms;	/* first restart delay (1000) */
	uint32_t	backoff_max_ms;	/* cap of the doubling (60000) */
	uint32_t	stable_ms;	/* up this long resets backoff (60000) */
	uint32_t	stop_grace_ms;	/* SIGTERM to SIGKILL (10000), per
					 * child: they stop one at a time,
					 * in array order */
	/* A child exiting with this status (non-zero) cannot run: every
	 * child is stopped and pk_sup_run returns it.  0: none. */
	int		fatal_status;
	/* A child exiting with this status (non-zero) asked to be started
	 * again at once (e.g. to load a renewed certificate): no backoff.
	 * 0: none. */
	int		quick_status;
	/*
	 * Optional, in the parent after each reaped exit (before the restart
	 * is scheduled): e.g. count crashes for health data.  NULL: none.
	 */
	void		(*on_exit)(const struct pk_sup_child *c, void *hook_arg);
	/*
	 * Optional, in the parent: more descriptors to sleep on (e.g. the
	 * control socket).  Before each sleep fds() fills at most max
	 * entries of pfd and returns how many, and may lower *timeout_ms
	 * for a deadline of its own; after the sleep ready() gets them back
	 * with revents set (also when none is ready, so its deadlines run).
	 * Neither may block: the children's deaths wait for them.  NULL:
	 * none.
	 */
	int		(*fds)(struct pollfd *pfd, int max, uint64_t *timeout_ms,
			    void *hook_arg);
	void		(*ready)(const struct pollfd *pfd, int n, void *hook_arg);
	/*
	 * Optional, in the parent after every wakeup (a signal, a child's
	 * death, a descriptor, the idle timeout): e.g. act on a SIGHUP
	 * flag, and call pk_sup_restart() for children to restart.
	 */
	void		(*on_wake)(struct pk_sup_child *kids, int n,
			    void *hook_arg);
	void		*hook_arg;
};

/* Most descriptors fds() may add. */
#define PK_SUP_MAX_FDS	4

/* Fill s with the defaults above. */
void pk_sup_defaults(struct pk_sup_settings *s);

/*
 * Start every child and keep them running until *quit becomes non-zero
 * (the caller's signal handler sets it), then stop them all and reap them.
 * While it runs, SIGCHLD has a handler of its own and SIGCHLD, SIGTERM,
 * SIGINT, SIGHUP and SIGQUIT are blocked except while it sleeps, so a quit
 * handler for any of those is noticed at once; other signals within 1 s.
 * Both are restored on return.  Each child: PR_SET_PDEATHSIG(SIGTERM)
 * (exits if the parent already died), all signal dispositions default and
 * mask empty, then _exit(run(arg)).  A child that exits, even with status
 * 0, is restarted unless we are stopping or its status is fatal_status.
 * Returns 0, fatal_status after a fatal exit, or -1 if n is out of
 * [1, PK_SUP_MAX_CHILDREN] or a child has no run function.
 */
int pk_sup_run(struct pk_sup_child *kids, int n,
    const struct pk_sup_settings *s, volatile sig_atomic_t *quit);

/*
 * From a hook of pk_sup_run: stop c (SIGTERM, SIGKILL after
 * stop_grace_ms) and start it again at once, without backoff.  Several
 * requests are carried out one child at a time, in array order, each
 * started again before the next is stopped (the collector before the
 * shipper, like the stop).  A child not running is started at once.
 */
void pk_sup_restart(struct pk_sup_child *c);

/* "exited with status 3", "killed by signal 9 (Killed)"; returns out. */
const char *pk_sup_describe(int wstatus, char *out, size_t len);

#endif
