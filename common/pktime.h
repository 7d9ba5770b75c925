/*
 * pktime.h - time for the agent.  Packet time and wall time are both
 * microseconds since the Unix epoch (uint64_t).  Platform code in
 * pktime_unix.c / pktime_win32.c.
 */
#ifndef PICKET_PKTIME_H
#define PICKET_PKTIME_H

#include <stddef.h>
#include <stdint.h>

#define PK_USEC 1000000ULL

uint64_t pk_now_us(void);	/* wall clock */
uint64_t pk_mono_us(void);	/* monotonic */
/* RFC 3339 UTC with microseconds: 2024-01-02T03:04:05.123456Z (portable). */
char *pk_time_format(uint64_t us, char *out, size_t len);
/*
 * RFC 3339 "2010-04-18T21:41:52.640830Z" (fraction optional, 1..9 digits;
 * with allow_offset also "+02:00"-style offsets) to µs since 1970, years
 * from 1970.  0 or -1.
 */
int pk_time_parse(const char *s, int allow_offset, int64_t *us);
#define PK_TIMESTRLEN 32

#endif
