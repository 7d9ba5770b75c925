/*
 * ntpath.c - the NT device path map (see ntpath.h).  A linear table: at
 * most PK_NTMAP_MAX short entries, looked up once per process start.
 * Portable C, ASCII case folding only (device names are ASCII).
 */
#include <string.h>

#include "collectors/etw/ntpath.h"
#include "common/util.h"

static int
ieq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

void
pk_ntmap_clear(struct pk_ntmap *m)
{
	uint64_t refused = m->refused;

	memset(m, 0, sizeof(*m));
	m->refused = refused;
	(void)pk_ntmap_add(m, "\\Device\\Mup", "\\");
}

int
pk_ntmap_add(struct pk_ntmap *m, const char *dev, const char *to)
{
	size_t dl = strlen(dev), tl = strlen(to), i;
	struct pk_ntmap_ent *e = NULL;

	while (dl > 0 && dev[dl - 1] == '\\')
		dl--;
	if (dl == 0 || dl >= sizeof(e->dev) || tl >= sizeof(e->to)) {
		m->refused++;
		return -1;
	}
	for (i = 0; i < m->n; i++)
		if (m->e[i].devlen == dl && ieq(m->e[i].dev, dev, dl))
			e = &m->e[i];
	if (e == NULL) {
		if (m->n >= PK_NTMAP_MAX) {
			m->refused++;
			return -1;
		}
		e = &m->e[m->n++];
	}
	memcpy(e->dev, dev, dl);
	e->dev[dl] = '\0';
	e->devlen = dl;
	memcpy(e->to, to, tl + 1);
	return 0;
}

int
pk_ntmap_map(const struct pk_ntmap *m, const char *path, size_t len,
    char *out, size_t cap)
{
	const struct pk_ntmap_ent *best = NULL, *e;
	size_t i, tl, rest;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	for (i = 0; i < m->n; i++) {
		e = &m->e[i];
		if (e->devlen > len || !ieq(e->dev, path, e->devlen) ||
		    (e->devlen < len && path[e->devlen] != '\\'))
			continue;
		if (best == NULL || e->devlen > best->devlen)
			best = e;
	}
	if (best == NULL)
		return 0;
	tl = strlen(best->to);
	rest = len - best->devlen;
	if (tl + rest + 1 > cap)
		return -1;
	memcpy(out, best->to, tl);
	memcpy(out + tl, path + best->devlen, rest);
	out[tl + rest] = '\0';
	return 1;
}
