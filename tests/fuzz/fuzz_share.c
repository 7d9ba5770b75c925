/*
 * fuzz_share.c - libFuzzer target for the bundle parser peers are
 * exposed to (hub/share_in.c, docs/peering.md "Validation").  The first
 * input byte picks the receiver's accept_tlp, the rest is the body, read
 * under small limits.  Promises checked (abort when broken): a refused
 * bundle says why and leaves nothing allocated; a read one takes or
 * refuses at most as many objects as it has, lists at most 100
 * refusals, each with a reason; every item is one of the five kinds,
 * with a non-empty value, an indicator id and a marking no higher than
 * accept_tlp; an excerpt only on an item marked AMBER or stricter, at
 * most 1,024 bytes; the answer for it can be built and serialised.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hub/share.h"

#define MAX_BYTES	65536
#define MAX_OBJECTS	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
kind_ok(const char *k)
{
	static const char *const kinds[] = { "ipv4", "ipv6", "domain", "url",
	    "sha256", "fingerprint" };
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(k, kinds[i]) == 0)
			return 1;
	return 0;
}

/* The objects the body really has (it parsed, so it is JSON). */
static size_t
objects_in(const char *body, size_t len)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	size_t n;

	if (root == NULL)
		abort();	/* hub_share_parse read it */
	n = json_array_size(json_object_get(root, "objects"));
	json_decref(root);
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hub_share_limits lim;
	struct hub_share_in in;
	char err[256];
	const char *body;
	size_t len, i, nobj;
	json_t *a;
	char *s;

	if (size < 1)
		return 0;
	lim.max_bytes = MAX_BYTES;
	lim.max_objects = MAX_OBJECTS;
	lim.accept_tlp = data[0] % HUB_TLP_RED;
	body = (const char *)data + 1;
	len = size - 1;
	err[0] = '\0';
	if (hub_share_parse(body, len, &lim, 1, &in, err, sizeof(err)) != 0) {
		if (err[0] == '\0' || in.items != NULL || in.refused != NULL ||
		    in.nitems != 0 || in.nrefused != 0)
			abort();
		return 0;
	}
	nobj = objects_in(body, len);
	if (in.seq < 1 || nobj > MAX_OBJECTS ||
	    in.nitems + in.nrefused > nobj ||
	    in.nrefused_listed > in.nrefused || in.nrefused_listed > 100)
		abort();
	for (i = 0; i < in.nitems; i++) {
		const struct hub_shared *h = &in.items[i];

		if (!kind_ok(h->kind) || h->value[0] == '\0' ||
		    h->tlp < HUB_TLP_CLEAR || h->tlp > lim.accept_tlp ||
		    strncmp(h->stix_id, "indicator--", 11) != 0 ||
		    strlen(h->stix_id) != 11 + 36 || h->rule_ids[0] != '[' ||
		    h->first_received_us != 1)
			abort();
		/* an excerpt only under AMBER or stricter, and bounded */
		if (h->excerpt[0] != '\0' && (h->tlp < HUB_TLP_AMBER ||
		    strlen(h->excerpt) > HUB_SHARE_EXCERPT_MAX))
			abort();
	}
	for (i = 0; i < in.nrefused_listed; i++)
		if (in.refused[i].reason[0] == '\0')
			abort();
	if ((a = hub_share_answer(&in, in.nitems, 0)) == NULL ||
	    (s = json_dumps(a, JSON_COMPACT)) == NULL)
		abort();
	free(s);
	json_decref(a);
	hub_share_in_free(&in);
	return 0;
}
