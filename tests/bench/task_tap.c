/*
 * task_tap.c - what a running pcap task costs packet processing
 * (docs/tasks.md, "Agent"): the frames of a capture file go through the
 * engine (decode, flows, detectors) again and again, once without a task,
 * once with a pcap task whose filter matches nothing ("tcp port 8080" on
 * a capture without that port) and once with one that keeps every frame
 * (no filter, written with pcap_dump).  Prints ns per frame for each.
 * Usage: task_tap FILE.pcap [rounds]
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "agent/task_agent.h"
#include "agent/task_exec.h"
#include "common/util.h"

struct fr {
	uint8_t		*d;
	uint32_t	 caplen, len;
	uint64_t	 ts;
};

static uint64_t
ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void
sink(void *arg, const char *line, size_t len, const struct pk_indicator *ind)
{
	(void)arg; (void)line; (void)len; (void)ind;
}

static double
run(struct pk_config *cfg, int lt, struct fr *f, size_t n, int rounds,
    struct pk_texec *te)
{
	struct pk_engine *e = pk_engine_new(cfg);
	uint64_t t0, shift = 0;
	size_t i;
	int r;

	pk_engine_add_output(e, sink, NULL);
	if (te != NULL)
		pk_engine_set_taps(e, pk_texec_frame, pk_texec_dns, te);
	t0 = ns();
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++)
			pk_engine_frame(e, lt, f[i].d, f[i].caplen, f[i].len,
			    f[i].ts + shift);
		shift += 3600ULL * 1000000;	/* later each round */
	}
	t0 = ns() - t0;
	pk_engine_free(e);
	return (double)t0 / ((double)n * rounds);
}

/* The tap alone: what the engine's frame path gains per frame. */
static double
tap_only(struct fr *f, size_t n, int rounds, struct pk_texec *te, int lt)
{
	uint64_t t0 = ns();
	size_t i;
	int r;

	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++)
			pk_texec_frame(te, lt, f[i].d, f[i].caplen, f[i].len,
			    f[i].ts);
	return (double)(ns() - t0) / ((double)n * rounds);
}

static struct pk_texec *
task(const char *spool, const char *spec, int lt)
{
	struct pk_texec_conf c;
	struct pk_ipc_msg m = { PK_IPC_TASK_NEW, 1, 0, 0 };
	char dir[512];
	struct pk_texec *te;

	memset(&c, 0, sizeof(c));
	c.spool_dir = spool;
	pk_task_policy_default(&c.pol);
	c.pol.max_bytes = 1ULL << 30;
	c.pol.max_disk = 1ULL << 31;
	c.linktype = lt;
	c.snaplen = 262144;
	te = pk_texec_new(&c);
	snprintf(dir, sizeof(dir), "%s/tasks", spool);
	pk_tfile_remove(dir, 1);
	pk_tfile_write(dir, 1, "task", spec, strlen(spec));
	pk_texec_ipc(te, &m, 0);
	return te;
}

int
main(int argc, char **argv)
{
	static struct pk_config cfg;
	char err[PCAP_ERRBUF_SIZE], spool[] = "/tmp/pt-tagent-bench-XXXXXX";
	struct pcap_pkthdr *h;
	const u_char *d;
	struct fr *f = NULL;
	size_t n = 0, cap = 0;
	struct pk_texec *te;
	pcap_t *p;
	uint64_t nrounds = 200;
	const char *why;
	double base, miss, all, v, tmiss = 1e18, tall = 1e18;
	int lt, rounds, k;

	if (argc < 2 || (argc > 2 && pk_parse_u64(argv[2], 1, 1000000,
	    &nrounds, &why) != 0) ||
	    (p = pcap_open_offline(argv[1], err)) == NULL ||
	    mkdtemp(spool) == NULL) {
		fprintf(stderr, "usage: task_tap FILE.pcap [rounds]\n");
		return 1;
	}
	rounds = (int)nrounds;
	lt = pcap_datalink(p);
	while (pcap_next_ex(p, &h, &d) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			f = realloc(f, cap * sizeof(*f));
		}
		f[n].d = malloc(h->caplen);
		memcpy(f[n].d, d, h->caplen);
		f[n].caplen = h->caplen;
		f[n].len = h->len;
		f[n].ts = (uint64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
		n++;
	}
	pcap_close(p);
	pk_config_defaults(&cfg);
	/* Interleaved, best of five: the machine's noise is larger than
	 * the difference measured. */
	base = miss = all = 1e18;
	for (k = 0; k < 5; k++) {
		v = run(&cfg, lt, f, n, rounds, NULL);
		base = v < base ? v : base;
		te = task(spool, "{\"type\":\"pcap\",\"duration\":300,"
		    "\"filter\":\"tcp port 8080\",\"max_bytes\":1073741824,"
		    "\"max_packets\":100000000}", lt);
		v = run(&cfg, lt, f, n, rounds, te);
		miss = v < miss ? v : miss;
		v = tap_only(f, n, rounds, te, lt);
		tmiss = v < tmiss ? v : tmiss;
		pk_texec_free(te);
		te = task(spool, "{\"type\":\"pcap\",\"duration\":300,"
		    "\"max_bytes\":1073741824,\"max_packets\":100000000}",
		    lt);
		v = run(&cfg, lt, f, n, rounds, te);
		all = v < all ? v : all;
		v = tap_only(f, n, rounds, te, lt);
		tall = v < tall ? v : tall;
		pk_texec_free(te);
	}
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool);
		if (system(cmd) != 0)
			fprintf(stderr, "task_tap: could not remove %s\n",
			    spool);
	}
	printf("frames %zu x %d rounds\n", n, rounds);
	printf("engine alone          %.0f ns/frame\n", base);
	printf("pcap task, no match   %.0f ns/frame (+%.1f%%)\n", miss,
	    100 * (miss - base) / base);
	printf("pcap task, all kept   %.0f ns/frame (+%.1f%%)\n", all,
	    100 * (all - base) / base);
	printf("the tap alone: no match %.0f ns/frame, all kept %.0f "
	    "ns/frame\n", tmiss, tall);
	return 0;
}
