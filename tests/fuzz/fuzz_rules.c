/*
 * fuzz_rules.c - libFuzzer target for the rule loader and matcher
 * (collectors/pcap/rules_parse.c, rules_match.c, ac.c).  The input is a
 * rule file's text.  It is loaded (every rule must end up loaded or
 * reported: count + skipped equals the reports plus the loaded), the
 * prefilter is compiled, and a fixed set of packets (TCP with and without
 * a stream view, UDP, ICMP, IPv6) is matched through the whole set and
 * through each rule alone; the two must agree on which rules match.
 * Thresholds are exercised on every match.  Any broken promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/rules.h"
#include "common/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t reports;

static void
on_report(void *arg, const char *line)
{
	(void)arg;
	if (line == NULL || strlen(line) == 0)
		abort();
	reports++;
}

struct ctx {
	struct pk_rule_thresh	*th;
	const struct pk_packet	*p;
	uint8_t			*seen;	/* per rule: matched through the set */
	size_t			 n;
};

static void
on_hit(void *arg, const struct pk_rule *r, int on_stream)
{
	struct ctx *c = arg;

	(void)on_stream;
	if (r->idx >= c->n)
		abort();
	c->seen[r->idx] = 1;
	pk_rule_thresh_check(c->th, r, &c->p->src, &c->p->dst, c->p->ts_us);
}

static const uint8_t payload[] =
    "\x05\x00\x0b\x03\x10\x00\x00\x00GET /index.html HTTP/1.1\r\n"
    "Host: example\r\nUser-Agent: Mozilla/5.0 (Windows; U) Firefox/3.6.12"
    "\r\n\r\n\x04\x01\x01\x01\x01\x01\x01\x01\xff" "SMBr\x90\x90\x90\x90"
    "abcdefghijklmnopqrstuvwxyz0123456789";

static void
packets(struct pk_ruleset *rs, struct ctx *c)
{
	struct pk_packet p;
	struct pk_rule_input in;
	size_t i, k;
	int variant, m;

	for (variant = 0; variant < 6; variant++) {
		memset(&p, 0, sizeof(p));
		p.ts_us = 1700000000000000ULL + (uint64_t)variant * 1000000;
		p.src.family = p.dst.family = 4;
		p.src.a[0] = 10;
		p.src.a[3] = 5;
		p.dst.a[0] = 203;
		p.dst.a[3] = 9;
		p.sport = 3333;
		p.dport = variant & 1 ? 445 : 80;
		p.payload = payload + variant * 3;
		p.payload_len = (uint32_t)(sizeof(payload) - 1 - variant * 3);
		memset(&in, 0, sizeof(in));
		in.pkt = &p;
		in.src_home = 1;
		in.has_flow = variant != 5;
		in.to_server = variant < 3;
		in.established = variant & 1;
		switch (variant) {
		case 0:
		case 1:
			p.proto = 6;
			p.tcp_flags = variant ? 0x18 : 0x02;
			if (variant == 1) {
				in.stream = payload;
				in.stream_len = sizeof(payload) - 1;
			}
			break;
		case 2:
			p.proto = 17;
			break;
		case 3:
			p.proto = 1;
			break;
		case 4:
			p.proto = 17;
			p.src.family = p.dst.family = 6;
			break;
		default:
			p.proto = 6;
			p.tcp_flags = 0x29;
			p.payload_len = 0;
			break;
		}
		c->p = &p;
		memset(c->seen, 0, c->n);
		pk_ruleset_match(rs, &in, on_hit, c);
		for (i = 0; i < c->n; i++) {
			const struct pk_rule *r = pk_ruleset_rule(rs, i);

			m = pk_rule_match(r, &in, NULL, NULL);
			/* the prefilter may not lose a match (a step-limited
			 * evaluation counts as no match either way) */
			if (m && !c->seen[i])
				abort();
			if (!m && c->seen[i])
				abort();
			for (k = 0; k < r->ncontents; k++)
				if (r->c[k].len == 0 ||
				    r->c[k].len > PK_RULE_MAX_PATTERN)
					abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_ruleset *rs;
	struct ctx c;
	long loaded;

	if (size > 256 * 1024)
		return 0;
	reports = 0;
	if ((rs = pk_ruleset_new(NULL)) == NULL)
		return 0;
	pk_ruleset_set_reporter(rs, on_report, NULL);
	loaded = pk_ruleset_load_text(rs, "fuzz.rules", (const char *)data,
	    size);
	if (loaded < 0) {		/* out of memory */
		pk_ruleset_free(rs);
		return 0;
	}
	/* every rule loaded or reported, each report counted once */
	if ((uint64_t)pk_ruleset_count(rs) > (uint64_t)loaded ||
	    pk_ruleset_skipped(rs) != reports)
		abort();
	if (pk_ruleset_compile(rs) == 0 && pk_ruleset_count(rs) > 0) {
		memset(&c, 0, sizeof(c));
		c.n = pk_ruleset_count(rs);
		c.seen = calloc(c.n, 1);
		c.th = pk_rule_thresh_new(64);
		if (c.seen != NULL && c.th != NULL)
			packets(rs, &c);
		free(c.seen);
		pk_rule_thresh_free(c.th);
	}
	pk_ruleset_free(rs);
	return 0;
}
