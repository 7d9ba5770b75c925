/*
 * ntpath_win32.c - fill the NT device map (ntpath.h) from the system's
 * drive letters: QueryDosDeviceW for A: to Z:, each letter's first
 * target kept when it is a \Device\ name (subst drives, whose target is
 * a \??\ path, are left out: an image started from one is reported by
 * its real device anyway).  Called by etwproc.c at start and when a
 * lookup misses (a drive mounted since), at most every 30 s.
 */
#include <windows.h>

#include "collectors/etw/ntpath.h"

int
pk_ntmap_load(struct pk_ntmap *m)
{
	WCHAR name[3] = { L'A', L':', 0 }, target[512];
	char dev[PK_NTMAP_DEV_MAX], to[3];
	int n, k;

	pk_ntmap_clear(m);
	for (k = 0; k < 26; k++) {
		name[0] = (WCHAR)(L'A' + k);
		if (QueryDosDeviceW(name, target, 512) == 0)
			continue;
		target[511] = 0;
		if (wcsncmp(target, L"\\Device\\", 8) != 0)
			continue;
		n = WideCharToMultiByte(CP_UTF8, 0, target, -1, dev,
		    (int)sizeof(dev), NULL, NULL);
		if (n <= 1)
			continue;
		to[0] = (char)('A' + k);
		to[1] = ':';
		to[2] = '\0';
		(void)pk_ntmap_add(m, dev, to);
	}
	return (int)m->n;
}
