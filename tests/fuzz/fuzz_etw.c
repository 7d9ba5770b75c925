/*
 * fuzz_etw.c - libFuzzer target for the ETW record decoder
 * (collectors/etw/etwdecode.c).  The first byte picks the (provider,
 * event id, version) the rest is decoded as, known ones and near misses
 * alike; the second the pointer size and the size of the path buffer.
 * Any bytes must be decoded or refused without reading past them, and a
 * decoded event must keep the decoder's promises: the path inside the
 * caller's buffer, NUL-terminated, no NUL inside, valid UTF-8; comm
 * terminated; the type the event id implies.  Seeds are the unit test's
 * records (tests/fuzz/corpus/fuzz_etw).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/ebpf/proc.h"
#include "collectors/etw/etwdecode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct combo {
	int		 net;	/* provider: 0 process, 1 network, 2 other */
	uint16_t	 id;
	uint8_t		 version;
	int		 type;	/* expected on success; 0 = must fail */
};

static const struct combo combos[] = {
	{ 0, 1, 0, PK_EV_EXEC }, { 0, 1, 1, PK_EV_EXEC },
	{ 0, 1, 2, PK_EV_EXEC }, { 0, 1, 3, PK_EV_EXEC }, { 0, 1, 4, 0 },
	{ 0, 2, 0, PK_EV_EXIT }, { 0, 2, 1, PK_EV_EXIT },
	{ 0, 2, 2, PK_EV_EXIT }, { 0, 2, 3, 0 }, { 0, 3, 0, 0 },
	{ 1, 12, 0, PK_EV_CONNECT }, { 1, 15, 0, PK_EV_CONNECT },
	{ 1, 28, 0, PK_EV_CONNECT }, { 1, 31, 0, PK_EV_CONNECT },
	{ 1, 12, 1, 0 }, { 1, 10, 0, 0 }, { 2, 1, 0, 0 },
};

static const size_t caps[] = { 1, 2, 3, 4, 7, 16, 64, 260, 4096 };

/* Well-formed UTF-8 (no overlong forms, no surrogates). */
static int
utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, j;
	uint32_t cp;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			k = 1, cp = s[i] & 0x1f;
		else if ((s[i] & 0xf0) == 0xe0)
			k = 2, cp = s[i] & 0x0f;
		else if ((s[i] & 0xf8) == 0xf0)
			k = 3, cp = s[i] & 0x07;
		else
			return 0;
		if (k > n - i - 1)
			return 0;
		for (j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t other[16] = { 1, 2, 3 };
	const struct combo *c;
	struct pk_etw_rec r;
	struct pk_pev ev;
	unsigned fl;
	size_t cap, n;
	char *path;
	int e;

	if (size < 2)
		return 0;
	c = &combos[data[0] % (sizeof(combos) / sizeof(combos[0]))];
	cap = caps[(data[1] >> 1) % (sizeof(caps) / sizeof(caps[0]))];
	memset(&r, 0, sizeof(r));
	memcpy(r.provider, c->net == 0 ? pk_etw_guid_kernel_process :
	    c->net == 1 ? pk_etw_guid_kernel_network : other, 16);
	r.id = c->id;
	r.version = c->version;
	r.ptrsize = (data[1] & 1) ? 4 : 8;
	r.data = data + 2;
	r.len = size - 2;
	if ((path = malloc(cap)) == NULL)	/* exact size: ASan's bound */
		return 0;
	e = pk_etw_decode(&r, &ev, path, cap, &fl);
	if (e != PK_ETW_OK) {
		if (e > 0 || e <= -PK_ETW__NERR || ev.type != 0 ||
		    path[0] != '\0' || fl != 0)
			abort();
	} else {
		if (c->type == 0 || ev.type != c->type)
			abort();
		if (memchr(ev.comm, '\0', sizeof(ev.comm)) == NULL)
			abort();
		if (ev.type == PK_EV_EXEC) {
			n = ev.u.exec.path_len;
			if (ev.u.exec.path != path || n >= cap ||
			    path[n] != '\0' || memchr(path, '\0', n) != NULL ||
			    !utf8_ok((const unsigned char *)path, n) ||
			    strlen(ev.comm) > n)
				abort();
			if (!(fl & PK_ETW_F_TRUNC) !=
			    !(ev.u.exec.flags & PK_EXEC_PATH_TRUNC))
				abort();
		} else if (ev.type == PK_EV_CONNECT) {
			if (ev.u.conn.src.family != ev.u.conn.dst.family ||
			    (ev.u.conn.dst.family != 4 &&
			    ev.u.conn.dst.family != 6))
				abort();
		}
	}
	free(path);
	/* the converter alone, on the same bytes */
	path = malloc(cap);
	if (path == NULL)
		return 0;
	fl = 0;
	n = pk_etw_utf16_to_utf8(data + 2, size - 2, path, cap, &fl);
	if (n >= cap || path[n] != '\0' || memchr(path, '\0', n) != NULL ||
	    !utf8_ok((const unsigned char *)path, n))
		abort();
	free(path);
	return 0;
}
