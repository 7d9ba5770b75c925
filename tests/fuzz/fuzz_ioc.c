/*
 * fuzz_ioc.c - libFuzzer target for IOC list loading and lookups
 * (agent/ioc.c).  The input is the text of one list file: it is loaded
 * (messages to /dev/null), then the first token of every line is looked
 * up as a domain, a URL, an address and a SHA-256, and the input's first
 * bytes as an address of each family.  Promises checked (abort if
 * broken): loading the same text twice gives the same counts; every match
 * names a listed value that matches itself again (a domain its own name,
 * a URL its own text, an address its network with the same prefix
 * length); the bad-line count equals the returned one.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ioc.h"
#include "common/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static void
check_match(const struct pk_iocset *set, const struct pk_ioc_match *m)
{
	struct pk_ioc_match again;
	struct pk_cidr c;

	switch (m->type) {
	case PK_IOC_DOMAIN:
		if (!pk_ioc_match_domain(set, m->value, &again) ||
		    strcmp(again.value, m->value) != 0)
			abort();
		break;
	case PK_IOC_URL:
		if (!pk_ioc_match_url(set, m->value, &again) ||
		    strcmp(again.value, m->value) != 0)
			abort();
		break;
	case PK_IOC_ADDR:
		if (pk_cidr_parse(m->value, &c) != 0 || c.plen != m->plen ||
		    !pk_ioc_match_addr(set, &c.net, &again) ||
		    again.plen < m->plen)
			abort();
		break;
	default:
		break;
	}
	if (m->desc == NULL)
		abort();
}

static void
lookups(const struct pk_iocset *set, const char *tok)
{
	struct pk_ioc_match m;
	struct pk_addr a;
	uint8_t h[32];
	size_t i, n = strlen(tok);

	if (pk_ioc_match_domain(set, tok, &m))
		check_match(set, &m);
	if (pk_ioc_match_url(set, tok, &m))
		check_match(set, &m);
	if (pk_addr_parse(tok, &a) == 0 && pk_ioc_match_addr(set, &a, &m))
		check_match(set, &m);
	memset(h, 0, sizeof(h));
	for (i = 0; i < n && i < 64; i++)
		h[i / 2] = (uint8_t)(h[i / 2] << 4 | (tok[i] & 0x0f));
	pk_ioc_match_sha256(set, h, &m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_iocset *set, *set2;
	struct pk_ioc_match m;
	struct pk_addr a;
	char tok[PK_IOC_LINE_MAX + 1];
	size_t i, j, k;
	int bad, bad2, t;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	if ((set = pk_iocset_new(5000)) == NULL)
		return 0;
	bad = pk_ioc_load_buf(set, "fuzz.txt", (const char *)data, size,
	    devnull);
	if ((uint64_t)bad != pk_iocset_stats(set)->bad)
		abort();
	if ((set2 = pk_iocset_new(5000)) != NULL) {
		bad2 = pk_ioc_load_buf(set2, "fuzz.txt", (const char *)data,
		    size, devnull);
		if (bad2 != bad || pk_iocset_size(set2) != pk_iocset_size(set))
			abort();
		for (t = 0; t < PK_IOC__COUNT; t++)
			if (pk_iocset_stats(set)->entries[t] !=
			    pk_iocset_stats(set2)->entries[t])
				abort();
		pk_iocset_free(set2);
	}
	/* the first token of every line, as each type */
	for (i = 0; i < size; i = j + 1) {
		while (i < size && (data[i] == ' ' || data[i] == '\t'))
			i++;
		for (j = i; j < size && data[j] != '\n'; j++)
			;
		for (k = 0; i + k < j && k < sizeof(tok) - 1 &&
		    data[i + k] != ' ' && data[i + k] != '\t' &&
		    data[i + k] != '\0'; k++)
			tok[k] = (char)data[i + k];
		tok[k] = '\0';
		/* a listed domain with its "=", "*." or "." taken off */
		lookups(set, tok);
		if (k > 1 && (tok[0] == '=' || tok[0] == '.'))
			lookups(set, tok + 1);
		else if (k > 2 && tok[0] == '*' && tok[1] == '.')
			lookups(set, tok + 2);
	}
	/* raw bytes as addresses */
	memset(&a, 0, sizeof(a));
	a.family = 4;
	memcpy(a.a, data, size < 4 ? size : 4);
	if (pk_ioc_match_addr(set, &a, &m))
		check_match(set, &m);
	a.family = 6;
	memcpy(a.a, data, size < 16 ? size : 16);
	if (pk_ioc_match_addr(set, &a, &m))
		check_match(set, &m);
	pk_iocset_free(set);
	return 0;
}
