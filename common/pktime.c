/*
 * pktime.c - portable time formatting and parsing (RFC 3339).  Converting days since the epoch to
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

/* Days from 1970-01-01 to y-m-d: the inverse of civil_from_days. */
static int64_t
days_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
pk_time_parse(const char *s, int allow_offset, int64_t *us)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	int y, mo, d, h, mi, sec, oh, om, i;
	int64_t frac = 0, scale = (int64_t)PK_USEC, off = 0;

	for (i = 0; shape[i] != '\0'; i++)
		if (s[i] == '\0' || (shape[i] != 'd' && s[i] != shape[i]))
			return -1;
	if (digits(s, 4, &y) == -1 || digits(s + 5, 2, &mo) == -1 ||
	    digits(s + 8, 2, &d) == -1 || digits(s + 11, 2, &h) == -1 ||
	    digits(s + 14, 2, &mi) == -1 || digits(s + 17, 2, &sec) == -1)
		return -1;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	s += 19;
	if (*s == '.') {
		for (i = 1; i <= 9 && s[i] >= '0' && s[i] <= '9'; i++) {
			scale /= 10;
			frac += (s[i] - '0') * scale;
		}
		if (i == 1)
			return -1;
		s += i;
	}
	if (s[0] == 'Z' && s[1] == '\0') {
		off = 0;
	} else if (allow_offset && (s[0] == '+' || s[0] == '-') &&
	    s[3] == ':' &&
	    s[6] == '\0' && s[1] != '\0' && s[2] != '\0' &&
	    digits(s + 1, 2, &oh) == 0 && digits(s + 4, 2, &om) == 0 &&
	    oh <= 23 && om <= 59) {
		off = (int64_t)(oh * 3600 + om * 60) * (s[0] == '+' ? 1 : -1);
	} else {
		return -1;
	}
	*us = ((days_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
	    h * 3600 + mi * 60 + sec - off) * (int64_t)PK_USEC) + frac;
	return 0;
}
