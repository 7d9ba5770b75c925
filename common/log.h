/*
 * log.h - the one error vocabulary of Picket (agent and hub).
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  fatal() and
 * fatalx() log and exit(1).  Output goes to stderr when running in the
 * foreground and to the platform log (syslog, Event Log) otherwise; the
 * platform sink lives in log_unix.c / log_win32.c.  Any file may call these.
 */
#ifndef PICKET_LOG_H
#define PICKET_LOG_H

#include <stdarg.h>
#include <stdio.h>

/* mingw checks "printf" as Microsoft's; its own macro names the C99 one. */
#ifdef __MINGW_PRINTF_FORMAT
#define PK_PRINTF(a, b) __attribute__((format(__MINGW_PRINTF_FORMAT, a, b)))
#else
#define PK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#endif
#define PK_NORETURN __attribute__((noreturn))

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Platform sink: write one finished line at a level.  Set by log_init(). */
typedef void (*log_sink_fn)(int level, const char *line);

void log_init(int foreground, int level, const char *progname);
void log_setlevel(int level);
int log_getlevel(void);
void log_set_sink(log_sink_fn sink); /* tests: capture lines */

void log_warn(const char *fmt, ...) PK_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) PK_PRINTF(1, 2);
void log_info(const char *fmt, ...) PK_PRINTF(1, 2);
void log_debug(const char *fmt, ...) PK_PRINTF(1, 2);
void fatal(const char *fmt, ...) PK_PRINTF(1, 2) PK_NORETURN;
void fatalx(const char *fmt, ...) PK_PRINTF(1, 2) PK_NORETURN;

/* Provided by the platform file: open the system log sink. */
log_sink_fn log_platform_sink(const char *progname);
/* Windows only (log_win32.c): the platform sink writes to fp (the
 * service's log file) instead of stderr. */
void log_win32_set_file(FILE *fp);

#endif
