/*
 * log_unix.c - the system log sink for POSIX hosts: syslog(3), which
 * journald collects on systemd machines.  Only log.c calls this.
 */
#include <syslog.h>

#include "common/log.h"

static void
log_syslog(int level, const char *line)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
	    LOG_DEBUG };

	syslog(prio[level], "%s", line);
}

log_sink_fn
log_platform_sink(const char *progname)
{
	openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return log_syslog;
}
