/*
 * proctable_win32.c - the Windows half of the process table (proctable.h):
 * seeding from a Toolhelp snapshot at start, so processes older than the
 * agent are known (pid, parent, image name, full image path by
 * QueryFullProcessImageNameW in its Win32 form, the image file's identity
 * for the hash cache), and device numbers, which on Windows are volume
 * serial numbers and need no conversion.  Arguments and users are not
 * read: another process's command line needs its memory, and ETW gives
 * no user either, so both stay empty on Windows.  Called by the Windows
 * agent (seeding) and procdet.c (device numbers) on one thread.
 */
#include <windows.h>
#include <tlhelp32.h>

#include <string.h>

#include "collectors/ebpf/hash.h"
#include "collectors/ebpf/proctable.h"
#include "common/util.h"

uint64_t
pk_kdev_to_udev(uint64_t kdev)
{
	return kdev;
}

/* UTF-16 to UTF-8 into out (cap bytes, NUL-terminated); bytes written. */
static size_t
to_utf8(const WCHAR *w, char *out, size_t cap)
{
	int n;

	n = WideCharToMultiByte(CP_UTF8, 0, w, -1, out, (int)cap, NULL, NULL);
	if (n <= 0) {
		out[0] = '\0';
		return 0;
	}
	out[n - 1] = '\0';
	return (size_t)n - 1;
}

static void
seed_one(struct pk_proctable *t, const PROCESSENTRY32W *pe, uint64_t now_us)
{
	WCHAR img[PK_PROC_EXE_MAX];
	char path[PK_PROC_EXE_MAX * 3 + 1];
	struct pk_proc *p;
	DWORD n = PK_NELEM(img);
	HANDLE ph;
	size_t len;

	if ((p = pk_proc_new(t, pe->th32ProcessID, now_us)) == NULL)
		return;
	p->seeded = 1;
	p->ppid = pe->th32ParentProcessID;
	/* comm: the image name, cut on a character boundary */
	len = to_utf8(pe->szExeFile, path, sizeof(path));
	if (len > sizeof(p->comm) - 1) {
		len = sizeof(p->comm) - 1;
		while (len > 0 && ((unsigned char)path[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(p->comm, path, len);
	p->comm[len] = '\0';
	/* limited information: enough for the image name, granted for
	 * most processes to an administrator, never for protected ones */
	ph = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
	    pe->th32ProcessID);
	if (ph != NULL) {
		if (QueryFullProcessImageNameW(ph, 0, img, &n) && n > 0 &&
		    (len = to_utf8(img, path, sizeof(path))) > 0) {
			pk_proc_set_exe(p, path, len);
			(void)pk_hash_file_key(p->exe, &p->key, &p->ctime_ns);
		}
		CloseHandle(ph);
	}
	pk_proctable_count_seed(t, 1);
}

int
pk_proctable_seed(struct pk_proctable *t, const char *root, uint64_t now_us)
{
	PROCESSENTRY32W pe;
	HANDLE snap;
	int added = 0;
	BOOL more;

	(void)root;
	if ((snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0)) ==
	    INVALID_HANDLE_VALUE)
		return -1;
	memset(&pe, 0, sizeof(pe));
	pe.dwSize = sizeof(pe);
	for (more = Process32FirstW(snap, &pe); more;
	    more = Process32NextW(snap, &pe)) {
		/* the idle process: not a program */
		if (pe.th32ProcessID == 0)
			continue;
		if (pk_proctable_full(t)) {
			pk_proctable_count_seed(t, 0);
			continue;
		}
		seed_one(t, &pe, now_us);
		added++;
	}
	CloseHandle(snap);
	return added;
}
