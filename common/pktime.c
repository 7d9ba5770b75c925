/*
 * pktime.c - portable time formatting.  Converting days since the epoch to
 * a civil date by arithmetic (not gmtime) keeps this free of the C
 * library's time zone state and identical on every platform.
 */
#include <stdio.h>

#include "common/pktime.h"

/* Days since 1970-01-01 to year/month/day in the proleptic Gregorian
 * calendar, counting in 400-year eras that start on March 1st. */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = (z - era * 146097) - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

char *
pk_time_format(uint64_t us, char *out, size_t len)
{
	uint64_t secs = us / PK_USEC, sod = secs % 86400;
	int64_t y;
	unsigned m, d;

	civil_from_days((int64_t)(secs / 86400), &y, &m, &d);
	snprintf(out, len, "%04lld-%02u-%02uT%02u:%02u:%02u.%06uZ",
	    (long long)y, m, d, (unsigned)(sod / 3600),
	    (unsigned)(sod / 60 % 60), (unsigned)(sod % 60),
	    (unsigned)(us % PK_USEC));
	return out;
}
