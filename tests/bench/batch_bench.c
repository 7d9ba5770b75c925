/*
 * batch_bench.c - how well BATCH payloads compress and how fast they are
 * built and opened (transport/batch.c).  Reads real indicator lines
 * (picketd -r output; tests/bench/mkcorpus.py makes a large set) and, for
 * batches of 1, 10, 100 and 1000 consecutive lines, prints the compression
 * ratio as plain NDJSON, deflated without a dictionary and deflated with
 * the preset dictionary (id 1), then build and open throughput.
 *
 *   batch_bench FILE            the full table
 *   batch_bench --smoke FILE    quick: every batch round-trips and the
 *                               dictionary beats no dictionary (exit 1 if
 *                               not); for `make check`
 *
 * Not part of the unit tests; the lead may call --smoke from make check
 * with tests/bench/indicators-sample.ndjson.  Portable C.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transport/batch.h"

#define MAX_LINES	200000
#define MAX_BATCH	1000
#define OUT_CAP		(PK_FRAME_MAX_PAYLOAD - PK_BATCH_FIXED)

static char		*text;
static struct pk_batch_rec lines[MAX_LINES];
static uint32_t		 nlines;
static size_t		 line_bytes;
static uint8_t		 zbuf[OUT_CAP];
static uint8_t		 raw[PK_BATCH_MAX_RAW];
static struct pk_batch_rec recs[MAX_BATCH], outrecs[MAX_BATCH];

static int
load(const char *path)
{
	FILE *f = fopen(path, "rb");
	long size;
	char *p, *end, *nl;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "batch_bench: cannot read %s\n", path);
		return -1;
	}
	if ((text = malloc((size_t)size + 1)) == NULL ||
	    fread(text, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		return -1;
	}
	fclose(f);
	text[size] = '\n';
	end = text + size;
	for (p = text; p < end && nlines < MAX_LINES; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p) + 1);
		if (nl > p && pk_batch_record_ok(p, (size_t)(nl - p))) {
			lines[nlines].data = p;
			lines[nlines].len = (size_t)(nl - p);
			line_bytes += lines[nlines].len;
			nlines++;
		}
	}
	if (nlines == 0) {
		fprintf(stderr, "batch_bench: no indicator lines in %s\n", path);
		return -1;
	}
	return 0;
}

/* Batch of n lines starting at line i (wrapping), seqs from 1000+i. */
static void
pick(uint32_t i, uint32_t n)
{
	uint32_t k;

	for (k = 0; k < n; k++) {
		recs[k] = lines[(i + k) % nlines];
		recs[k].seq = 1000 + (uint64_t)i + k;
	}
}

/* Build one batch; check it opens to the same records. 0 or -1. */
static int
roundtrip(uint32_t n, uint8_t dict, int level, size_t *rawlen, size_t *zlen)
{
	struct pk_batch_hdr h;
	struct pk_batch_limits lim = { PK_BATCH_MAX_RECORDS, PK_BATCH_MAX_RAW };
	uint32_t k;
	int err;

	err = pk_batch_build(recs, n, dict, level, zbuf, sizeof(zbuf), &h, zlen);
	if (err != PK_BE_OK) {
		fprintf(stderr, "build: %s\n", pk_batch_strerror(err));
		return -1;
	}
	err = pk_batch_open(&h, zbuf, *zlen, &lim, raw, sizeof(raw), outrecs,
	    MAX_BATCH, NULL);
	if (err != PK_BE_OK) {
		fprintf(stderr, "open: %s\n", pk_batch_strerror(err));
		return -1;
	}
	for (k = 0; k < n; k++)
		if (outrecs[k].len != recs[k].len || outrecs[k].seq != recs[k].seq ||
		    memcmp(outrecs[k].data, recs[k].data, recs[k].len) != 0) {
			fprintf(stderr, "record %u differs\n", k);
			return -1;
		}
	*rawlen = h.raw_len;
	return 0;
}

struct ratio {
	double	nodict, dict;		/* raw / compressed */
	size_t	zdict_per_rec;
};

/* Average over up to nb batches of n lines spread over the input. */
static int
measure(uint32_t n, uint32_t nb, struct ratio *r)
{
	size_t raw_t = 0, z0 = 0, z1 = 0, rl, zl;
	uint32_t b, step = nlines / nb > 0 ? nlines / nb : 1;

	for (b = 0; b < nb; b++) {
		pick(b * step, n);
		if (roundtrip(n, PK_DICT_NONE, PK_BATCH_LEVEL, &rl, &zl) != 0)
			return -1;
		raw_t += rl;
		z0 += zl;
		if (roundtrip(n, PK_DICT_V1, PK_BATCH_LEVEL, &rl, &zl) != 0)
			return -1;
		z1 += zl;
		/* Plain NDJSON of 1000 lines is over the frame size. */
		if (n <= 100 &&
		    roundtrip(n, PK_DICT_NONE, PK_BATCH_PLAIN, &rl, &zl) != 0)
			return -1;
	}
	r->nodict = (double)raw_t / (double)z0;
	r->dict = (double)raw_t / (double)z1;
	r->zdict_per_rec = z1 / ((size_t)nb * n);
	return 0;
}

static double
now_s(void)
{
	return (double)clock() / CLOCKS_PER_SEC;
}

/* MB/s of NDJSON for building and opening batches of n lines. */
static void
speed(uint32_t n, uint8_t dict, double min_s)
{
	struct pk_batch_hdr h;
	struct pk_batch_limits lim = { PK_BATCH_MAX_RECORDS, PK_BATCH_MAX_RAW };
	double t0, tb = 0, to = 0, bytes = 0;
	uint32_t iters = 0;
	size_t zl;

	pick(0, n);
	while (tb + to < min_s) {
		t0 = now_s();
		if (pk_batch_build(recs, n, dict, PK_BATCH_LEVEL, zbuf,
		    sizeof(zbuf), &h, &zl) != PK_BE_OK)
			abort();
		tb += now_s() - t0;
		t0 = now_s();
		if (pk_batch_open(&h, zbuf, zl, &lim, raw, sizeof(raw), outrecs,
		    MAX_BATCH, NULL) != PK_BE_OK)
			abort();
		to += now_s() - t0;
		bytes += h.raw_len;
		iters++;
	}
	printf("| %4u | %-5s | %8.1f | %8.1f | %9.0f | %9.0f |\n", n,
	    dict ? "v1" : "none", bytes / 1e6 / tb, bytes / 1e6 / to,
	    iters / tb * n, iters / to * n);
}

int
main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 1, 10, 100, 1000 };
	struct ratio r;
	int smoke = argc == 3 && strcmp(argv[1], "--smoke") == 0;
	size_t i;

	if (argc != 2 && !smoke) {
		fprintf(stderr, "usage: batch_bench [--smoke] FILE\n");
		return 2;
	}
	if (load(argv[argc - 1]) != 0)
		return 1;
	printf("%u indicator lines, average %zu bytes\n\n", nlines,
	    line_bytes / nlines);
	printf("| lines | ratio, no dictionary | ratio, dictionary v1 | "
	    "bytes/record with v1 |\n| ---: | ---: | ---: | ---: |\n");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (measure(sizes[i], smoke ? 3 : (sizes[i] < 100 ? 200 : 20),
		    &r) != 0)
			return 1;
		printf("| %u | %.2f | %.2f | %zu |\n", sizes[i], r.nodict, r.dict,
		    r.zdict_per_rec);
		if (smoke && sizes[i] <= 10 && r.dict <= r.nodict) {
			fprintf(stderr, "batch_bench: dictionary does not help\n");
			return 1;
		}
	}
	printf("\n| lines | dict | build MB/s | open MB/s | build rec/s | "
	    "open rec/s |\n| ---: | --- | ---: | ---: | ---: | ---: |\n");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		speed(sizes[i], PK_DICT_NONE, smoke ? 0.01 : 1.0);
		speed(sizes[i], PK_DICT_V1, smoke ? 0.01 : 1.0);
	}
	free(text);
	return 0;
}
