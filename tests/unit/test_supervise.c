/*
 * test_supervise.c - unit tests for agent/supervise_unix.c.  Each case runs
 * pk_sup_run() in a forked "supervisor" process whose SIGTERM handler sets
 * quit, exactly as picketd's parent does; its children report "started,
 * pid, time" as fixed records on a pipe and the supervisor's log lines go
 * to a second pipe.  The test process makes itself a child subreaper so
 * that children orphaned by a killed supervisor are reparented to it and
 * their deaths can be checked with waitpid().  No root needed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/supervise.h"
#include "common/log.h"

struct ev {
	int32_t		pid;
	int32_t		tag;	/* which child */
	uint64_t	ms;	/* monotonic */
};

static int	ev_w = -1, log_w = -1;	/* write ends, in the supervisor */
static pid_t	cur_sup;		/* for the teardown after a failure */
static volatile sig_atomic_t quit_flag;

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
send_ev(int tag)
{
	struct ev e = { (int32_t)getpid(), tag, mono_ms() };

	if (write(ev_w, &e, sizeof(e)) != (ssize_t)sizeof(e))
		_exit(120);
}

/* Child bodies.  arg is the tag. */
static int
run_quick(void *arg)
{
	send_ev((int)(intptr_t)arg);
	return 0;
}

static int
run_sleeper(void *arg)
{
	send_ev((int)(intptr_t)arg);
	/* Until a signal ends us; the bound only keeps the loop finite. */
	for (int i = 0; i < 1000000; i++)
		pause();
	return 0;
}

static int
run_stubborn(void *arg)
{
	signal(SIGTERM, SIG_IGN);
	send_ev((int)(intptr_t)arg);
	/* Until a signal ends us; the bound only keeps the loop finite. */
	for (int i = 0; i < 1000000; i++)
		pause();
	return 0;
}

static int
run_120ms(void *arg)
{
	struct timespec ts = { 0, 120 * 1000000L };

	send_ev((int)(intptr_t)arg);
	nanosleep(&ts, NULL);
	return 0;
}

static int
run_unfixable(void *arg)
{
	send_ev((int)(intptr_t)arg);
	return 78;
}

static int
run_renewed(void *arg)
{
	send_ev((int)(intptr_t)arg);
	return 75;
}

static volatile sig_atomic_t term_seen;

static void
on_child_term(int sig)
{
	(void)sig;
	term_seen = 1;
}

/* On SIGTERM: 150 ms of "flushing", then report and exit. */
static int
run_slow_stop(void *arg)
{
	struct timespec ts = { 0, 150 * 1000000L };

	signal(SIGTERM, on_child_term);
	send_ev((int)(intptr_t)arg);
	for (int i = 0; i < 1000000 && !term_seen; i++)
		pause();
	nanosleep(&ts, NULL);
	send_ev(100 + (int)(intptr_t)arg);
	return 0;
}

static void
log_to_pipe(int level, const char *line)
{
	char buf[1100];
	int n;

	(void)level;
	n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n >= (int)sizeof(buf))
		n = (int)sizeof(buf) - 1;
	if (n > 0 && write(log_w, buf, (size_t)n) < 0)
		_exit(121);
}

static void
on_term(int sig)
{
	(void)sig;
	quit_flag = 1;
}

struct sup {
	pid_t	pid;
	int	ev_r;
	int	log_r;
};

/* Fork a supervisor process running kids with settings s. */
static struct sup
sup_spawn(struct pk_sup_child *kids, int n, const struct pk_sup_settings *s)
{
	struct sup sp;
	struct sigaction sa;
	int evp[2], logp[2];

	assert_int_equal(pipe(evp), 0);
	assert_int_equal(pipe(logp), 0);
	fflush(NULL);
	sp.pid = fork();
	assert_true(sp.pid >= 0);
	if (sp.pid == 0) {
		/* A failed case must not leave a supervisor running. */
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		close(evp[0]);
		close(logp[0]);
		ev_w = evp[1];
		log_w = logp[1];
		log_set_sink(log_to_pipe);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_term;	/* no SA_RESTART, like picketd */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		{
			int rc = pk_sup_run(kids, n, s, &quit_flag);

			_exit(rc < 0 ? 2 : rc);
		}
	}
	cur_sup = sp.pid;
	close(evp[1]);
	close(logp[1]);
	sp.ev_r = evp[0];
	sp.log_r = logp[0];
	fcntl(sp.log_r, F_SETFL, O_NONBLOCK);
	return sp;
}

/* Next start record within timeout_ms, or fail the test. */
static struct ev
sup_next(const struct sup *sp, int timeout_ms)
{
	struct pollfd pfd = { sp->ev_r, POLLIN, 0 };
	struct ev e;

	if (poll(&pfd, 1, timeout_ms) != 1)
		fail_msg("no child start within %d ms", timeout_ms);
	assert_int_equal(read(sp->ev_r, &e, sizeof(e)), (ssize_t)sizeof(e));
	return e;
}

/* Start records until end of file (every writer gone) or max. */
static int
read_all_events(const struct sup *sp, struct ev *evs, int max)
{
	struct pollfd pfd = { sp->ev_r, POLLIN, 0 };
	int n = 0;

	while (n < max && poll(&pfd, 1, 3000) == 1 &&
	    read(sp->ev_r, &evs[n], sizeof(evs[n])) == (ssize_t)sizeof(evs[n]))
		n++;
	return n;
}

/* SIGTERM the supervisor; returns ms until it exited 0. */
static uint64_t
sup_quit(const struct sup *sp)
{
	uint64_t t0 = mono_ms();
	int st;

	assert_int_equal(kill(sp->pid, SIGTERM), 0);
	assert_int_equal(waitpid(sp->pid, &st, 0), sp->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	return mono_ms() - t0;
}

/* All log text written so far (after the supervisor exited). */
static const char *
sup_log(const struct sup *sp, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1 &&
	    (n = read(sp->log_r, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	return buf;
}

static void
sup_close(struct sup *sp)
{
	close(sp->ev_r);
	close(sp->log_r);
}

/* A process that no longer exists (reaped), checked for up to ms. */
static int
gone_within(pid_t pid, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;

	do {
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return 1;
		usleep(5000);
	} while (mono_ms() < end);
	return 0;
}

static void
settings(struct pk_sup_settings *s, uint32_t min, uint32_t max,
    uint32_t stable, uint32_t grace)
{
	pk_sup_defaults(s);
	s->backoff_min_ms = min;
	s->backoff_max_ms = max;
	s->stable_ms = stable;
	s->stop_grace_ms = grace;
}

/* ---------------------------------------------------------------- */

static void
test_defaults_and_args(void **state)
{
	struct pk_sup_settings s;
	struct pk_sup_child kid = { .name = "x", .run = NULL, .arg = NULL };
	volatile sig_atomic_t q = 1;

	(void)state;
	pk_sup_defaults(&s);
	assert_int_equal(s.backoff_min_ms, 1000);
	assert_int_equal(s.backoff_max_ms, 60000);
	assert_int_equal(s.stable_ms, 60000);
	assert_int_equal(s.stop_grace_ms, 10000);
	assert_null(s.on_exit);
	assert_int_equal(pk_sup_run(&kid, 0, &s, &q), -1);
	assert_int_equal(pk_sup_run(&kid, PK_SUP_MAX_CHILDREN + 1, &s, &q), -1);
	assert_int_equal(pk_sup_run(&kid, 1, &s, &q), -1);	/* run NULL */
}

static void
test_describe(void **state)
{
	char buf[96];
	pid_t pid;
	int st;

	(void)state;
	if ((pid = fork()) == 0)
		_exit(3);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_string_equal(pk_sup_describe(st, buf, sizeof(buf)),
	    "exited with status 3");
	if ((pid = fork()) == 0) {
		raise(SIGKILL);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_string_equal(pk_sup_describe(st, buf, sizeof(buf)),
	    "killed by signal 9 (Killed)");
}

/* Exits at once, status 0: restarted anyway, gaps 20, 40, 80, 160, 320. */
static void
test_backoff_doubles(void **state)
{
	struct pk_sup_child kid = { .name = "quick", .run = run_quick,
	    .arg = (void *)1 };
	struct pk_sup_settings s;
	struct sup sp;
	struct ev e[6];
	uint64_t gap, want;
	char log[8192];
	int i;

	(void)state;
	settings(&s, 20, 1000, 60000, 1000);
	sp = sup_spawn(&kid, 1, &s);
	for (i = 0; i < 6; i++)
		e[i] = sup_next(&sp, 2000);
	for (i = 1; i < 6; i++) {
		gap = e[i].ms - e[i - 1].ms;
		want = 20ULL << (i - 1);
		print_message("      gap %d: %llu ms (backoff %llu)\n", i,
		    (unsigned long long)gap, (unsigned long long)want);
		assert_true(gap + 1 >= want);		/* ms rounding */
		assert_true(gap < want + 150);		/* slow CI, ASan */
		assert_int_not_equal(e[i].pid, e[i - 1].pid);
	}
	assert_true(sup_quit(&sp) < 500);
	sup_log(&sp, log, sizeof(log));
	assert_non_null(strstr(log, "quick exited with status 0 after 0.0 s, "
	    "restarting in 0.0 s"));
	assert_non_null(strstr(log, "restarting in 0.3 s"));	/* 320 ms */
	sup_close(&sp);
}

/* Up longer than stable_ms: the backoff starts over each time. */
static void
test_backoff_resets(void **state)
{
	struct pk_sup_child kid = { .name = "steady", .run = run_120ms,
	    .arg = (void *)1 };
	struct pk_sup_settings s;
	struct sup sp;
	struct ev e[5];
	uint64_t gap;
	int i;

	(void)state;
	settings(&s, 20, 1000, 100, 1000);
	sp = sup_spawn(&kid, 1, &s);
	for (i = 0; i < 5; i++)
		e[i] = sup_next(&sp, 2000);
	/* Without the reset the last gap would be 120 + 160 ms. */
	for (i = 1; i < 5; i++) {
		gap = e[i].ms - e[i - 1].ms;
		assert_true(gap >= 139);
		assert_true(gap < 220);
	}
	sup_quit(&sp);
	sup_close(&sp);
}

/* SIGKILLed child: restarted; quit noticed and handled fast. */
static void
test_killed_restarted(void **state)
{
	struct pk_sup_child kid = { .name = "collector", .run = run_sleeper,
	    .arg = (void *)1 };
	struct pk_sup_settings s;
	struct sup sp;
	struct ev a, b;
	uint64_t t;
	char log[8192];

	(void)state;
	settings(&s, 50, 1000, 60000, 2000);
	sp = sup_spawn(&kid, 1, &s);
	a = sup_next(&sp, 2000);
	t = mono_ms();
	assert_int_equal(kill(a.pid, SIGKILL), 0);
	b = sup_next(&sp, 1000);
	assert_int_not_equal(a.pid, b.pid);
	assert_true(b.ms - t + 1 >= 50);
	/* The child dies of SIGTERM at once: stop is immediate. */
	t = sup_quit(&sp);
	print_message("      quit took %llu ms\n", (unsigned long long)t);
	assert_true(t < 150);
	assert_true(gone_within(b.pid, 100));
	sup_log(&sp, log, sizeof(log));
	assert_non_null(strstr(log, "collector killed by signal 9 (Killed) "
	    "after"));
	assert_non_null(strstr(log, "restarting in 0.0 s"));
	assert_non_null(strstr(log, "collector killed by signal 15"));
	sup_close(&sp);
}

/* A child ignoring SIGTERM gets SIGKILL after stop_grace_ms. */
static void
test_stop_grace(void **state)
{
	struct pk_sup_child kids[2] = {
		{ .name = "stubborn", .run = run_stubborn, .arg = (void *)1 },
		{ .name = "polite", .run = run_sleeper, .arg = (void *)2 },
	};
	struct pk_sup_settings s;
	struct sup sp;
	struct ev a, b;
	uint64_t t;
	char log[8192];

	(void)state;
	settings(&s, 1000, 1000, 60000, 300);
	sp = sup_spawn(kids, 2, &s);
	a = sup_next(&sp, 2000);
	b = sup_next(&sp, 2000);
	t = sup_quit(&sp);
	print_message("      stop took %llu ms (grace 300)\n",
	    (unsigned long long)t);
	assert_true(t >= 295);
	assert_true(t < 800);
	/* Reaped by the supervisor: no zombie left. */
	assert_true(gone_within(a.pid, 100));
	assert_true(gone_within(b.pid, 100));
	sup_log(&sp, log, sizeof(log));
	assert_non_null(strstr(log, "still running 300 ms after SIGTERM, "
	    "sending SIGKILL"));
	assert_non_null(strstr(log, "stubborn killed by signal 9"));
	assert_non_null(strstr(log, "polite killed by signal 15"));
	sup_close(&sp);
}

/* A child that says a restart cannot help (fatal_status) stops them all. */
static void
test_fatal_status(void **state)
{
	struct pk_sup_child kids[2] = {
		{ .name = "broken", .run = run_unfixable, .arg = (void *)1 },
		{ .name = "other", .run = run_sleeper, .arg = (void *)2 },
	};
	struct pk_sup_settings s;
	struct sup sp;
	struct ev evs[4];
	char log[8192];
	int st, nev, i;

	(void)state;
	settings(&s, 20, 20, 60000, 1000);
	s.fatal_status = 78;
	sp = sup_spawn(kids, 2, &s);
	/* The other child may not even have started when the broken one
	 * ends everything: read what came, up to end of file. */
	nev = read_all_events(&sp, evs, 4);
	assert_true(nev >= 1);
	assert_true(evs[0].tag == 1 || (nev > 1 && evs[1].tag == 1));
	for (i = 0; i < nev; i++)
		assert_true(evs[i].tag == 1 || evs[i].tag == 2);
	assert_int_equal(waitpid(sp.pid, &st, 0), sp.pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 78);
	for (i = 0; i < nev; i++)
		assert_true(gone_within(evs[i].pid, 100));
	/* Started once each at most: no restart after a fatal exit. */
	assert_true(nev <= 2);
	sup_log(&sp, log, sizeof(log));
	assert_non_null(strstr(log, "broken exited with status 78: cannot "
	    "run, stopping"));
	/* Not restarted: no third start. */
	assert_null(strstr(log, "restarting"));
	sup_close(&sp);
}

/* A child exiting with quick_status is started again at once, every
 * time, while the backoff would have grown to a second. */
static void
test_quick_status(void **state)
{
	struct pk_sup_child kid = { .name = "shipper", .run = run_renewed,
	    .arg = (void *)1 };
	struct pk_sup_settings s;
	struct sup sp;
	struct ev e[4];
	char log[8192];
	int i;

	(void)state;
	settings(&s, 1000, 60000, 60000, 1000);
	s.quick_status = 75;
	sp = sup_spawn(&kid, 1, &s);
	for (i = 0; i < 4; i++)
		e[i] = sup_next(&sp, 900);
	for (i = 1; i < 4; i++) {
		assert_int_not_equal(e[i].pid, e[i - 1].pid);
		assert_true(e[i].ms - e[i - 1].ms < 500);	/* not 1 s */
	}
	sup_quit(&sp);
	sup_log(&sp, log, sizeof(log));
	assert_non_null(strstr(log, "shipper exited with status 75: "
	    "starting it again now"));
	assert_null(strstr(log, "restarting in"));
	sup_close(&sp);
}

/* The hooks of pk_sup_run (fds, ready, on_wake): a byte on a pipe the
 * supervisor sleeps on reaches ready() at once, and on_wake() restarts
 * both children through pk_sup_restart(): one after the other, in array
 * order, without the backoff. */
static int hook_r = -1;
static volatile int hook_restart;

static int
hook_fds(struct pollfd *pfd, int max, uint64_t *timeout_ms, void *arg)
{
	(void)arg;
	(void)timeout_ms;
	if (max < 1)
		return 0;
	pfd[0].fd = hook_r;
	pfd[0].events = POLLIN;
	return 1;
}

static void
hook_ready(const struct pollfd *pfd, int n, void *arg)
{
	char c;

	(void)arg;
	if (n == 1 && (pfd[0].revents & POLLIN) && read(hook_r, &c, 1) == 1) {
		send_ev(50);
		hook_restart = 1;
	}
}

static void
hook_wake(struct pk_sup_child *kids, int n, void *arg)
{
	(void)arg;
	if (!hook_restart)
		return;
	hook_restart = 0;
	for (int i = 0; i < n; i++)
		pk_sup_restart(&kids[i]);
}

static void
test_hooks_restart(void **state)
{
	struct pk_sup_child kids[2] = {
		{ .name = "collector", .run = run_slow_stop, .arg = (void *)1 },
		{ .name = "shipper", .run = run_sleeper, .arg = (void *)2 },
	};
	struct pk_sup_settings s;
	struct sup sp;
	struct ev a, b, e[4];
	char log[8192];
	int p[2], i;
	uint64_t t0;

	(void)state;
	assert_int_equal(pipe(p), 0);
	hook_r = p[0];
	settings(&s, 1000, 60000, 60000, 2000);
	s.fds = hook_fds;
	s.ready = hook_ready;
	s.on_wake = hook_wake;
	sp = sup_spawn(kids, 2, &s);
	a = sup_next(&sp, 900);
	b = sup_next(&sp, 900);
	if (a.tag == 2) {
		struct ev t = a;

		a = b;
		b = t;
	}
	t0 = mono_ms();
	assert_int_equal(write(p[1], "r", 1), 1);
	/* ready() at once; the collector flushes (101), starts again (1),
	 * and only then the shipper is stopped and started again (2). */
	for (i = 0; i < 4; i++)
		e[i] = sup_next(&sp, 1500);
	assert_int_equal(e[0].tag, 50);
	assert_true(e[0].ms - t0 < 200);
	assert_int_equal(e[1].tag, 101);
	/* The two new children report in whichever order they run. */
	if (e[2].tag == 2) {
		struct ev t = e[2];

		e[2] = e[3];
		e[3] = t;
	}
	assert_int_equal(e[2].tag, 1);
	assert_int_not_equal(e[2].pid, a.pid);
	assert_int_equal(e[3].tag, 2);
	assert_int_not_equal(e[3].pid, b.pid);
	assert_true(e[2].ms - t0 < 900 && e[3].ms - t0 < 900); /* no backoff */
	sup_quit(&sp);
	sup_log(&sp, log, sizeof(log));
	{
		char started[64];
		const char *ex, *st, *sh;

		snprintf(started, sizeof(started), "collector started, pid %d",
		    (int)e[2].pid);
		ex = strstr(log, "collector exited with status 0: starting it "
		    "again as asked");
		st = strstr(log, started);
		sh = strstr(log, "shipper killed by signal 15");
		/* The supervisor's order: the collector is started again
		 * before the shipper is stopped. */
		assert_non_null(ex);
		assert_non_null(st);
		assert_non_null(sh);
		assert_true(ex < st && st < sh);
	}
	assert_null(strstr(log, "restarting in"));
	sup_close(&sp);
	close(p[0]);
	close(p[1]);
}

/* Children stop one after the other, in array order. */
static void
test_ordered_stop(void **state)
{
	struct pk_sup_child kids[2] = {
		{ .name = "first", .run = run_slow_stop, .arg = (void *)1 },
		{ .name = "second", .run = run_slow_stop, .arg = (void *)2 },
	};
	struct pk_sup_settings s;
	struct sup sp;
	struct ev e1, e2;

	(void)state;
	settings(&s, 1000, 1000, 60000, 2000);
	sp = sup_spawn(kids, 2, &s);
	(void)sup_next(&sp, 2000);
	(void)sup_next(&sp, 2000);
	(void)sup_quit(&sp);
	e1 = sup_next(&sp, 100);
	e2 = sup_next(&sp, 100);
	assert_int_equal(e1.tag, 101);
	assert_int_equal(e2.tag, 102);
	/* The second got SIGTERM only after the first had gone. */
	assert_true(e2.ms >= e1.ms + 140);
	sup_close(&sp);
}

/* SIGKILL the supervisor: PR_SET_PDEATHSIG takes the children along. */
static void
test_parent_death(void **state)
{
	struct pk_sup_child kids[2] = {
		{ .name = "a", .run = run_sleeper, .arg = (void *)1 },
		{ .name = "b", .run = run_sleeper, .arg = (void *)2 },
	};
	struct pk_sup_settings s;
	struct sup sp;
	struct ev e[2];
	uint64_t end;
	pid_t r;
	int i, st;

	(void)state;
	settings(&s, 1000, 1000, 60000, 1000);
	sp = sup_spawn(kids, 2, &s);
	e[0] = sup_next(&sp, 2000);
	e[1] = sup_next(&sp, 2000);
	assert_int_equal(kill(sp.pid, SIGKILL), 0);
	assert_int_equal(waitpid(sp.pid, &st, 0), sp.pid);
	/* We are the subreaper: the orphans are ours to reap. */
	for (i = 0; i < 2; i++) {
		end = mono_ms() + 1000;
		while ((r = waitpid(e[i].pid, &st, WNOHANG)) == 0 &&
		    mono_ms() < end)
			usleep(5000);
		if (r != e[i].pid) {
			/* Survivors: end them so they do not outlive us. */
			kill(e[0].pid, SIGKILL);
			kill(e[1].pid, SIGKILL);
			waitpid(e[0].pid, NULL, 0);
			waitpid(e[1].pid, NULL, 0);
			fail_msg("child %d outlived its supervisor", e[i].pid);
		}
		assert_true(WIFSIGNALED(st));
		assert_int_equal(WTERMSIG(st), SIGTERM);
		assert_int_equal(kill(e[i].pid, 0), -1);
	}
	sup_close(&sp);
}

/* After a failed assert: SIGKILL the supervisor (its children follow). */
static int
sup_teardown(void **state)
{
	(void)state;
	if (cur_sup > 0 && waitpid(cur_sup, NULL, WNOHANG) == 0) {
		kill(cur_sup, SIGKILL);
		waitpid(cur_sup, NULL, 0);
	}
	cur_sup = 0;
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	/* Orphans of a killed supervisor come to us (test_parent_death). */
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_args),
		cmocka_unit_test(test_describe),
		cmocka_unit_test_teardown(test_backoff_doubles, sup_teardown),
		cmocka_unit_test_teardown(test_backoff_resets, sup_teardown),
		cmocka_unit_test_teardown(test_killed_restarted, sup_teardown),
		cmocka_unit_test_teardown(test_stop_grace, sup_teardown),
		cmocka_unit_test_teardown(test_fatal_status, sup_teardown),
		cmocka_unit_test_teardown(test_quick_status, sup_teardown),
		cmocka_unit_test_teardown(test_ordered_stop, sup_teardown),
		cmocka_unit_test_teardown(test_hooks_restart, sup_teardown),
		cmocka_unit_test_teardown(test_parent_death, sup_teardown),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
