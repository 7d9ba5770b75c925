/*
 * pktime_unix.c - wall and monotonic clocks on POSIX hosts.
 */
#include <time.h>

#include "common/pktime.h"

uint64_t
pk_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * PK_USEC + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
pk_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * PK_USEC + (uint64_t)ts.tv_nsec / 1000;
}
