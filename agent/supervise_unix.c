/*
 * supervise_unix.c - the parent supervisor of supervise.h: fork the
 * children, reap them, restart them with a doubling backoff, stop them on
 * quit.  The parent sleeps in ppoll() with SIGCHLD and the usual quit
 * signals unblocked only there, so a child's death or the caller's quit
 * handler wakes it at once without a race between the check and the
 * sleep.  Called only by agent/main.c (Linux today; nothing here is
 * Linux-only except PR_SET_PDEATHSIG, which is #ifdef'd).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* ppoll */
#endif
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/supervise.h"
#include "common/log.h"
#include "common/util.h"

/* Sleep when nothing is due: no limit.  Everything that can end it is a
 * signal in the blocked set below (a child's death, quit, reload), let in
 * only inside ppoll(), or a hook's descriptor or deadline (fds()); the
 * timed steps (backoff, SIGKILL after the grace) set their own limit. */
#define SUP_IDLE_MS	UINT64_MAX
/* After SIGKILL, how long to wait for the kernel to finish the children. */
#define SUP_KILL_WAIT_MS 5000

/* Signals blocked except while sleeping (see supervise.h). */
static const int sup_signals[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT,
	SIGUSR1 };

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Only there so SIGCHLD is not discarded and interrupts ppoll(). */
static void
sup_sigchld(int sig)
{
	(void)sig;
}

void
pk_sup_defaults(struct pk_sup_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->backoff_min_ms = 1000;
	s->backoff_max_ms = 60000;
	s->stable_ms = 60000;
	s->stop_grace_ms = 10000;
}

const char *
pk_sup_describe(int wstatus, char *out, size_t len)
{
	if (WIFEXITED(wstatus))
		snprintf(out, len, "exited with status %d",
		    WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(out, len, "killed by signal %d (%s)%s",
		    WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)),
		    WCOREDUMP(wstatus) ? ", core dumped" : "");
	else
		snprintf(out, len, "changed state (wait status %#x)", wstatus);
	return out;
}

/* ms as ppoll's timeout; NULL (no limit) for SUP_IDLE_MS. */
static const struct timespec *
sup_timespec(uint64_t ms, struct timespec *ts)
{
	if (ms == SUP_IDLE_MS)
		return NULL;
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
	return ts;
}

/* Sleep up to ms, waking early on any signal in sup_signals. */
static void
sup_sleep(uint64_t ms, const sigset_t *sleepmask)
{
	struct timespec ts;

	(void)ppoll(NULL, 0, sup_timespec(ms, &ts), sleepmask);
}

/*
 * The main loop's sleep: like sup_sleep, and also on the hook's
 * descriptors (settings fds/ready), whose handler runs after it.
 */
static void
sup_sleep_hooked(uint64_t ms, const struct pk_sup_settings *s,
    const sigset_t *sleepmask)
{
	struct pollfd pfd[PK_SUP_MAX_FDS];
	struct timespec ts;
	int n = 0, i;

	if (s->fds == NULL) {
		sup_sleep(ms, sleepmask);
		return;
	}
	n = s->fds(pfd, PK_SUP_MAX_FDS, &ms, s->hook_arg);
	if (n < 0 || n > PK_SUP_MAX_FDS)
		n = 0;
	for (i = 0; i < n; i++)
		pfd[i].revents = 0;
	if (ppoll(pfd, (nfds_t)n, sup_timespec(ms, &ts), sleepmask) < 0)
		for (i = 0; i < n; i++)
			pfd[i].revents = 0;
	if (s->ready != NULL)
		s->ready(pfd, n, s->hook_arg);
}

void
pk_sup_restart(struct pk_sup_child *c)
{
	if (!c->restart_req) {
		c->restart_req = 1;
		c->term_ms = 0;
	}
}

/*
 * In the new child: die with the parent, forget the parent's signal
 * handling, run.  Never returns.
 */
static void PK_NORETURN
sup_child_main(struct pk_sup_child *c, pid_t parent)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

#ifdef __linux__
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0)
		log_warn("%s: PR_SET_PDEATHSIG", c->name);
#endif
	/* The parent may have died before prctl(): nobody would tell us. */
	if (getppid() != parent)
		_exit(1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	/* EINVAL for SIGKILL, SIGSTOP and libc's reserved signals: fine. */
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	/* A request for statistics that comes before the child has its
	 * handler must not kill it (supervise.h, PK_SUP_SIG_REPORT). */
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGUSR1, &sa, NULL);
	(void)sigaction(PK_SUP_SIG_REPORT, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	_exit(c->run(c->arg));
}

static void
sup_start(struct pk_sup_child *c, const struct pk_sup_settings *s,
    pid_t self, uint64_t now)
{
	pid_t pid;

	/* Unflushed stdio would be written twice, by parent and child. */
	fflush(NULL);
	if ((pid = fork()) < 0) {
		log_warn("%s: fork (retrying in %u ms)", c->name,
		    c->backoff_ms);
		c->restart_at_ms = now + c->backoff_ms;
		c->backoff_ms = PK_MIN(c->backoff_ms * 2, s->backoff_max_ms);
		return;
	}
	if (pid == 0)
		sup_child_main(c, self);
	if (c->started_ms != 0)
		c->restarts++;
	c->pid = (int)pid;
	c->started_ms = now;
	log_info("%s started, pid %d", c->name, c->pid);
}

/* c's process ended with wstatus: log, and schedule the restart. */
static void
sup_ended(struct pk_sup_child *c, int wstatus,
    const struct pk_sup_settings *s, int stopping)
{
	uint64_t now = now_ms(), up = now - c->started_ms;
	uint32_t delay;
	char why[96];

	pk_sup_describe(wstatus, why, sizeof(why));
	c->pid = 0;
	c->last_status = wstatus;
	if (s->on_exit != NULL)
		s->on_exit(c, s->hook_arg);
	if (stopping) {
		log_info("%s %s", c->name, why);
		return;
	}
	if (c->restart_req) {
		/* Asked for (pk_sup_restart): not a crash, no backoff. */
		log_info("%s %s: starting it again as asked", c->name, why);
		c->restart_req = 0;
		c->term_ms = 0;
		c->restart_at_ms = now;
		return;
	}
	if (s->fatal_status != 0 && WIFEXITED(wstatus) &&
	    WEXITSTATUS(wstatus) == s->fatal_status) {
		/* It said a restart cannot help: stop everything. */
		log_warnx("%s %s: cannot run, stopping", c->name, why);
		c->fatal = 1;
		return;
	}
	if (s->quick_status != 0 && WIFEXITED(wstatus) &&
	    WEXITSTATUS(wstatus) == s->quick_status) {
		log_info("%s %s: starting it again now", c->name, why);
		c->restart_at_ms = now;
		return;
	}
	/* A child that ran stable_ms was healthy: start over from min. */
	if (up >= s->stable_ms)
		c->backoff_ms = s->backoff_min_ms;
	delay = c->backoff_ms;
	c->backoff_ms = PK_MIN(c->backoff_ms * 2, s->backoff_max_ms);
	c->restart_at_ms = now + delay;
	log_warnx("%s %s after %llu.%llu s, restarting in %u.%u s", c->name,
	    why, (unsigned long long)(up / 1000),
	    (unsigned long long)(up % 1000 / 100), delay / 1000,
	    delay % 1000 / 100);
}

/* Reap every child that has ended; returns how many are still running. */
static int
sup_reap(struct pk_sup_child *kids, int n, const struct pk_sup_settings *s,
    int stopping)
{
	pid_t r;
	int i, st, alive = 0;

	for (i = 0; i < n; i++) {
		if (kids[i].pid <= 0)
			continue;
		r = waitpid((pid_t)kids[i].pid, &st, WNOHANG);
		if (r == (pid_t)kids[i].pid) {
			sup_ended(&kids[i], st, s, stopping);
		} else if (r < 0 && errno != EINTR) {
			/* ECHILD: someone else reaped it; treat as a crash. */
			log_warn("%s: waitpid %d", kids[i].name, kids[i].pid);
			sup_ended(&kids[i], 0, s, stopping);
		} else
			alive++;
	}
	return alive;
}

/* Signal every running child. */
static void
sup_kill_all(struct pk_sup_child *kids, int n, int sig)
{
	int i;

	for (i = 0; i < n; i++)
		if (kids[i].pid > 0 && kill((pid_t)kids[i].pid, sig) != 0 &&
		    errno != ESRCH)
			log_warn("%s: kill %d", kids[i].name, kids[i].pid);
}

/* Reap until none is alive or deadline; returns how many are left. */
static int
sup_wait_all(struct pk_sup_child *kids, int n,
    const struct pk_sup_settings *s, uint64_t deadline,
    const sigset_t *sleepmask)
{
	uint64_t now;
	int alive;

	while ((alive = sup_reap(kids, n, s, 1)) > 0 &&
	    (now = now_ms()) < deadline)
		sup_sleep(PK_MIN(deadline - now, 100), sleepmask);
	return alive;
}

/*
 * Stop the children one at a time, in array order, each with its own
 * grace period: the agent lists its collector before its shipper, so the
 * shipper is still connected while the collector writes its last
 * indicators, and can send them before it is asked to stop.
 */
static void
sup_stop(struct pk_sup_child *kids, int n, const struct pk_sup_settings *s,
    const sigset_t *sleepmask)
{
	int i;

	for (i = 0; i < n; i++) {
		if (kids[i].pid <= 0)
			continue;
		sup_kill_all(&kids[i], 1, SIGTERM);
		if (sup_wait_all(&kids[i], 1, s, now_ms() + s->stop_grace_ms,
		    sleepmask) == 0)
			continue;
		log_warnx("%s (pid %d) still running %u ms after SIGTERM, "
		    "sending SIGKILL", kids[i].name, kids[i].pid,
		    s->stop_grace_ms);
		sup_kill_all(&kids[i], 1, SIGKILL);
		if (sup_wait_all(&kids[i], 1, s, now_ms() + SUP_KILL_WAIT_MS,
		    sleepmask) != 0)
			log_warnx("%s (pid %d) not reaped after SIGKILL",
			    kids[i].name, kids[i].pid);
	}
}

/*
 * Carry out pk_sup_restart() requests one child at a time, in array
 * order: SIGTERM the first one asked for, SIGKILL it after the grace;
 * sup_ended() starts it again, and the next one follows.
 */
static void
sup_restart_step(struct pk_sup_child *kids, int n,
    const struct pk_sup_settings *s)
{
	uint64_t now = now_ms();
	int i;

	for (i = 0; i < n; i++) {
		struct pk_sup_child *c = &kids[i];

		if (!c->restart_req)
			continue;
		if (c->pid <= 0) {
			/* Waiting for a backoff: start it now instead. */
			c->restart_req = 0;
			c->restart_at_ms = now;
			continue;
		}
		if (c->term_ms == 0) {
			log_info("%s (pid %d): restarting", c->name, c->pid);
			sup_kill_all(c, 1, SIGTERM);
			c->term_ms = now;
		} else if (c->restart_req == 1 &&
		    now - c->term_ms >= s->stop_grace_ms) {
			log_warnx("%s (pid %d) still running %u ms after "
			    "SIGTERM, sending SIGKILL", c->name, c->pid,
			    s->stop_grace_ms);
			sup_kill_all(c, 1, SIGKILL);
			c->restart_req = 2;	/* killed: wait for the reap */
		}
		return;
	}
}

/* A restart waiting for its child to stop: ms until the SIGKILL is due,
 * or wait unchanged.  The reap itself comes with SIGCHLD. */
static uint64_t
sup_restart_wait(const struct pk_sup_child *kids, int n,
    const struct pk_sup_settings *s, uint64_t wait)
{
	uint64_t now = now_ms(), due;
	int i;

	for (i = 0; i < n; i++) {
		if (kids[i].restart_req != 1 || kids[i].pid <= 0 ||
		    kids[i].term_ms == 0)
			continue;
		due = kids[i].term_ms + s->stop_grace_ms;
		wait = PK_MIN(wait, due > now ? due - now : 0);
	}
	return wait;
}

/* Start whatever is due; returns ms until the next start (SUP_IDLE_MS
 * when none is waiting). */
static uint64_t
sup_start_due(struct pk_sup_child *kids, int n,
    const struct pk_sup_settings *s, pid_t self)
{
	uint64_t now = now_ms(), wait = SUP_IDLE_MS;
	int i;

	for (i = 0; i < n; i++)
		if (kids[i].pid == 0 && kids[i].restart_at_ms <= now)
			sup_start(&kids[i], s, self, now);
	/* Still waiting: backoff, or a failed fork to retry. */
	for (i = 0; i < n; i++)
		if (kids[i].pid == 0 && kids[i].restart_at_ms > now)
			wait = PK_MIN(wait, kids[i].restart_at_ms - now);
	return wait;
}

int
pk_sup_run(struct pk_sup_child *kids, int n, const struct pk_sup_settings *set,
    volatile sig_atomic_t *quit)
{
	struct pk_sup_settings s = *set;
	struct sigaction sa, old_chld;
	sigset_t block, orig, sleepmask;
	pid_t self = getpid();
	uint64_t wait;
	size_t k;
	int i, fatal = 0;

	if (n < 1 || n > PK_SUP_MAX_CHILDREN)
		return -1;
	for (i = 0; i < n; i++)
		if (kids[i].run == NULL || kids[i].name == NULL)
			return -1;
	/* A zero minimum would restart a crashing child in a tight loop. */
	s.backoff_min_ms = PK_MAX(s.backoff_min_ms, 1);
	s.backoff_max_ms = PK_MAX(s.backoff_max_ms, s.backoff_min_ms);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sup_sigchld;
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, &old_chld);
	sigemptyset(&block);
	for (k = 0; k < PK_NELEM(sup_signals); k++)
		sigaddset(&block, sup_signals[k]);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sleepmask = orig;
	for (k = 0; k < PK_NELEM(sup_signals); k++)
		sigdelset(&sleepmask, sup_signals[k]);

	for (i = 0; i < n; i++) {
		kids[i].pid = 0;
		kids[i].restarts = 0;
		kids[i].backoff_ms = s.backoff_min_ms;
		kids[i].started_ms = 0;
		kids[i].restart_at_ms = 0;
		kids[i].last_status = 0;
		kids[i].fatal = 0;
		kids[i].restart_req = 0;
		kids[i].term_ms = 0;
	}
	while (!*quit && !fatal) {
		sup_reap(kids, n, &s, 0);
		for (i = 0; i < n; i++)
			fatal |= kids[i].fatal;
		if (*quit || fatal)
			break;
		if (s.on_wake != NULL)
			s.on_wake(kids, n, s.hook_arg);
		/* Restarted children start before the next one is stopped. */
		wait = sup_start_due(kids, n, &s, self);
		sup_restart_step(kids, n, &s);
		wait = sup_restart_wait(kids, n, &s, wait);
		for (i = 0; i < n; i++)
			if (kids[i].restart_req == 0 && kids[i].pid == 0 &&
			    kids[i].restart_at_ms <= now_ms())
				wait = 0;
		sup_sleep_hooked(wait, &s, &sleepmask);
	}
	log_info("stopping %d child process%s", n, n == 1 ? "" : "es");
	sup_stop(kids, n, &s, &sleepmask);

	sigprocmask(SIG_SETMASK, &orig, NULL);
	sigaction(SIGCHLD, &old_chld, NULL);
	return fatal ? s.fatal_status : 0;
}
