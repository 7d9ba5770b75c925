/*
 * log_win32.c - the system log sink on Windows.  Until the Windows service
 * (and its Event Log source) exists, lines go to stderr, which the service
 * wrapper redirects to a file.  Only log.c calls this.
 */
#include <stdio.h>

#include "common/log.h"

static void
log_win32(int level, const char *line)
{
	static const char *const names[] = { "error", "warning", "info",
	    "debug" };

	fprintf(stderr, "%s: %s\n", names[level], line);
}

log_sink_fn
log_platform_sink(const char *progname)
{
	(void)progname;
	return log_win32;
}
