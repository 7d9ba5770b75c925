/*
 * log.c - formatting and level filtering for the log vocabulary in log.h.
 * Portable: the line is built here and handed to a sink (stderr, or the
 * platform's system log from log_unix.c / log_win32.c).  Any file may call
 * the log functions once log_init() has run; before that they go to stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

static int		 log_level = LOG_LVL_INFO;
static log_sink_fn	 log_sink;
static char		 log_prog[32] = "picket";

static const char *const level_names[] = { "error", "warning", "info",
    "debug" };

static void
log_stderr(int level, const char *line)
{
	fprintf(stderr, "%s: %s: %s\n", log_prog, level_names[level], line);
	fflush(stderr);
}

void
log_init(int foreground, int level, const char *progname)
{
	if (progname != NULL)
		pk_strlcpy(log_prog, progname, sizeof(log_prog));
	log_level = level;
	log_sink = foreground ? log_stderr : log_platform_sink(log_prog);
	if (log_sink == NULL)
		log_sink = log_stderr;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

void
log_set_sink(log_sink_fn sink)
{
	log_sink = sink;
}

static void vlog(int, const char *, va_list, const char *)
    PK_PRINTF(2, 0);

static void
vlog(int level, const char *fmt, va_list ap, const char *suffix)
{
	char line[1024];
	int n;

	if (level > log_level)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n >= 0 && suffix != NULL && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ": %s", suffix);
	(log_sink != NULL ? log_sink : log_stderr)(level, line);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_WARN, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
