/*
 * pktime_win32.c - wall and monotonic clocks on Windows.
 */
#include <windows.h>

#include "common/pktime.h"

/* FILETIME counts 100 ns since 1601-01-01; Unix epoch is this many later. */
#define EPOCH_DIFF_100NS 116444736000000000ULL

uint64_t
pk_now_us(void)
{
	FILETIME ft;
	ULARGE_INTEGER u;

	GetSystemTimeAsFileTime(&ft);
	u.LowPart = ft.dwLowDateTime;
	u.HighPart = ft.dwHighDateTime;
	return (u.QuadPart - EPOCH_DIFF_100NS) / 10;
}

uint64_t
pk_mono_us(void)
{
	LARGE_INTEGER f, c;

	QueryPerformanceFrequency(&f);
	QueryPerformanceCounter(&c);
	return (uint64_t)(c.QuadPart / f.QuadPart) * PK_USEC +
	    (uint64_t)(c.QuadPart % f.QuadPart) * PK_USEC / (uint64_t)f.QuadPart;
}
