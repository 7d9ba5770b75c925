/*
 * rules_bench.c - throughput of the content-rule matcher (not run by
 * make check).  Builds rule sets of 10, 1,000 and 10,000 synthetic worm-
 * style rules (random 6-12 byte binary and text fast patterns, a second
 * relative content, port lists, a third nocase), then matches a fixed set
 * of 1,000 pseudo-random packets of 64-1460 bytes (text and binary, a few
 * of them carrying a rule's patterns) through pk_ruleset_match, and
 * prints packets/s, MB/s and the prefilter candidates per packet.
 *
 *   cc -O2 -I. -o rules_bench tests/bench/rules_bench.c \
 *       build/libpicketcore.a -lm && ./rules_bench
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collectors/pcap/rules.h"

#define NPKT	1000
#define ROUNDS	20

#define TEXT_CAP (10000 * 400)	/* rule text for the largest set */

static uint32_t rng = 2463534242u;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void
hexpat(char *out, size_t n, uint8_t *raw)
{
	size_t i, k = 0;

	out[k++] = '|';
	for (i = 0; i < n; i++) {
		raw[i] = (uint8_t)rnd();
		k += (size_t)snprintf(out + k, 4, "%02X ", raw[i]);
	}
	out[k - 1] = '|';
	out[k] = '\0';
}

static uint64_t hits;

static void
on_hit(void *arg, const struct pk_rule *r, int on_stream)
{
	(void)arg;
	(void)r;
	(void)on_stream;
	hits++;
}

static double
now(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

int
main(void)
{
	static const size_t sizes[] = { 10, 1000, 10000 };
	static uint8_t pk[NPKT][1460], raw[16];
	static uint32_t plen[NPKT];
	char *text, pat[64];
	size_t s, i, k, r;

	text = malloc(TEXT_CAP);
	for (i = 0; i < NPKT; i++) {
		plen[i] = 64 + rnd() % (1460 - 64);
		for (k = 0; k < plen[i]; k++)
			pk[i][k] = i % 2 ? (uint8_t)rnd() :
			    (uint8_t)("GET /index.html HTTP/1.1 Host: "
			    "abcdefghijklmnopqrstuvwxyz"[rnd() % 57]);
	}
	printf("%8s %12s %10s %14s %10s\n", "rules", "packets/s", "MB/s",
	    "candidates/pkt", "matches");
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct pk_ruleset *rs = pk_ruleset_new(NULL);
		struct pk_packet p;
		struct pk_rule_input in;
		const struct pk_rules_stats *st;
		size_t len = 0;
		double t0, t;
		uint64_t bytes = 0, c0;

		rng = 99;
		for (r = 0; r < sizes[s]; r++) {
			size_t n = 6 + rnd() % 7;

			hexpat(pat, n, raw);
			/* one packet in 50 carries this rule's pattern */
			if (r % 50 == 0)
				memcpy(pk[(r / 50) % NPKT] + 10, raw, n);
			len += (size_t)snprintf(text + len, TEXT_CAP - len,
			    "alert %s any any -> "
			    "any %s (msg:\"r%zu\"; content:\"%s\"; "
			    "content:\"%c%c\"; distance:0; within:100; "
			    "content:\"x%zu\"; nocase; sid:%zu;)\n",
			    r % 3 ? "tcp" : "udp", r % 4 ? "any" :
			    "[135,139,445]", r, pat, 'a' + (int)(r % 26),
			    'a' + (int)(r / 26 % 26), r, r + 1);
		}
		if (pk_ruleset_load_text(rs, "bench", text, len) < 0 ||
		    pk_ruleset_compile(rs) == -1) {
			fprintf(stderr, "load failed\n");
			return 1;
		}
		memset(&p, 0, sizeof(p));
		p.src.family = p.dst.family = 4;
		p.sport = 4000;
		p.dport = 445;
		memset(&in, 0, sizeof(in));
		in.pkt = &p;
		hits = 0;
		st = pk_ruleset_stats(rs);
		c0 = st->candidates;
		t0 = now();
		for (k = 0; k < ROUNDS; k++)
			for (i = 0; i < NPKT; i++) {
				p.proto = i % 3 ? 6 : 17;
				p.payload = pk[i];
				p.payload_len = plen[i];
				bytes += plen[i];
				pk_ruleset_match(rs, &in, on_hit, NULL);
			}
		t = now() - t0;
		printf("%8zu %12.0f %10.1f %14.2f %10llu\n", sizes[s],
		    NPKT * ROUNDS / t, bytes / t / 1e6,
		    (double)(st->candidates - c0) / (NPKT * ROUNDS),
		    (unsigned long long)hits);
		pk_ruleset_free(rs);
	}
	free(text);
	return 0;
}
