/*
 * log_win32.c - the system log sink on Windows: lines with their UTC time
 * on stderr, or in the file the service (agent/main_win32.c, --service)
 * opens, %ProgramData%\Picket\picketd.log (a service has no usable
 * stderr); console runs log through log.c's foreground sink instead.  Not the Event Log yet: that needs a message
 * table resource in the executable.  Only log.c calls this.
 */
#include <windows.h>

#include <stdio.h>

#include "common/log.h"

static FILE *log_file;		/* NULL: stderr */

void
log_win32_set_file(FILE *fp)
{
	log_file = fp;
}

static void
log_win32(int level, const char *line)
{
	static const char *const names[] = { "error", "warning", "info",
	    "debug" };
	SYSTEMTIME t;

	GetSystemTime(&t);
	fprintf(log_file != NULL ? log_file : stderr, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ %s: %s\n",
	    t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond,
	    t.wMilliseconds, names[level], line);
}

log_sink_fn
log_platform_sink(const char *progname)
{
	(void)progname;
	return log_win32;
}
