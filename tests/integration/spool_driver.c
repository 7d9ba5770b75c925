/*
 * spool_driver.c - a small program around the spool for
 * tests/integration/test_spool_crash.py (which compiles it) and for the
 * throughput figures in docs/spool.md.  Not part of picketd.
 *
 *   spool_driver write DIR RUN SEGBYTES [POLICY]   append until killed;
 *       "O next torn corrupt" at start, then "S seq" for every record a
 *       successful pk_spool_sync reported durable
 *   spool_driver read DIR FROM        "A acked", then "R seq payload" lines
 *   spool_driver ack DIR SEQ          reader-side ack; "K acked" when done
 *   spool_driver bench DIR POLICY N SIZE   "bench policy n size secs rate"
 *   spool_driver fill DIR SEGBYTES FILE    append every line of FILE as a
 *       record (the reporting tests pre-load real indicators); prints
 *       "F first last"
 *
 * Payloads are JSON lines that carry their own sequence number, the run,
 * an index, padding of varying length and "ck": the 64-bit FNV-1a of
 * everything before ,"ck" in hex, so the test can check each record.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "transport/spool.h"

static int
policy(const char *s)
{
	if (strcmp(s, "always") == 0)
		return PK_SPOOL_SYNC_ALWAYS;
	if (strcmp(s, "never") == 0)
		return PK_SPOOL_SYNC_NEVER;
	return PK_SPOOL_SYNC_BATCH;
}

static uint64_t
num(const char *s)
{
	const char *err;
	uint64_t v;

	if (pk_parse_u64(s, 0, UINT64_MAX, &v, &err) != 0) {
		fprintf(stderr, "spool_driver: %s: %s\n", s, err);
		exit(2);
	}
	return v;
}

static size_t
make_payload(char *buf, size_t cap, uint64_t seq, uint64_t run, uint64_t i,
    size_t pad)
{
	static const char x[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t n, k;
	int w;

	w = snprintf(buf, cap, "{\"seq\":%" PRIu64 ",\"run\":%" PRIu64
	    ",\"i\":%" PRIu64 ",\"pad\":\"", seq, run, i);
	n = (size_t)w;
	for (k = 0; k < pad && n + 40 < cap; k++)
		buf[n++] = x[(seq + k) % (sizeof(x) - 1)];
	buf[n++] = '"';
	w = snprintf(buf + n, cap - n, ",\"ck\":\"%016" PRIx64 "\"}",
	    pk_fnv1a64(buf, n, PK_FNV_SEED));
	return n + (size_t)w;
}

static int
do_write(const char *dir, uint64_t run, uint64_t seg, int pol)
{
	struct pk_spool_settings s;
	struct pk_spool_stats st;
	struct pk_spool *sp;
	char buf[4096];
	uint64_t i, seq, durable;
	size_t len;

	pk_spool_settings_init(&s, dir);
	s.segment_bytes = seg;
	s.max_bytes = 1ULL << 30;
	s.sync = pol;
	if ((sp = pk_spool_open(&s)) == NULL)
		return 1;
	pk_spool_stats(sp, &st);
	printf("O %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", st.next_seq,
	    st.torn_bytes, st.corrupt_records);
	fflush(stdout);
	srand((unsigned)(run * 2654435761u));
	for (i = 0;; i++) {
		seq = pk_spool_next_seq(sp);
		len = make_payload(buf, sizeof(buf), seq, run, i,
		    (size_t)(rand() % 1500));
		if (pk_spool_append(sp, buf, len, &seq) != 0) {
			fprintf(stderr, "append: %s\n", strerror(errno));
			continue;
		}
		if (pk_spool_sync(sp, &durable) == 0 && durable >= seq) {
			printf("S %" PRIu64 "\n", seq);
			fflush(stdout);
		}
	}
	return 0;
}

static int
print_rec(void *arg, uint64_t seq, const uint8_t *pl, size_t len)
{
	(void)arg;
	printf("R %" PRIu64 " %.*s\n", seq, (int)len, (const char *)pl);
	return 0;
}

static int
do_read(const char *dir, uint64_t from)
{
	struct pk_spool_reader *rd;
	struct pk_spool_stats st;
	long r;

	if ((rd = pk_spool_reader_open(dir, NULL)) == NULL)
		return 1;
	printf("A %" PRIu64 "\n", pk_spool_reader_acked(rd));
	while ((r = pk_spool_read(rd, from, 1000, 0, print_rec, NULL,
	    &from)) > 0)
		;
	pk_spool_reader_stats(rd, &st);
	printf("C %" PRIu64 " %" PRIu64 "\n", st.corrupt_records,
	    st.skipped_bytes);
	pk_spool_reader_close(rd);
	return r < 0;
}

static int
do_ack(const char *dir, uint64_t seq)
{
	struct pk_spool_reader *rd;
	int rc;

	if ((rd = pk_spool_reader_open(dir, NULL)) == NULL)
		return 1;
	rc = pk_spool_reader_ack(rd, seq, 1);
	if (rc == 0) {
		printf("K %" PRIu64 "\n", seq);
		fflush(stdout);
	}
	pk_spool_reader_close(rd);
	return rc != 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Batch: a pk_spool_sync every 100 records, as the engine would at the
 * end of a burst of indicators. */
static int
do_bench(const char *dir, const char *pol, uint64_t n, uint64_t size)
{
	struct pk_spool_settings s;
	struct pk_spool *sp;
	char buf[PK_SPOOL_PAYLOAD_MAX];
	double t0, t;
	uint64_t i;

	if (size == 0 || size > sizeof(buf))
		return 2;
	memset(buf, 'x', size);
	pk_spool_settings_init(&s, dir);
	s.sync = policy(pol);
	if ((sp = pk_spool_open(&s)) == NULL)
		return 1;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		if (pk_spool_append(sp, buf, size, NULL) != 0)
			return 1;
		if (s.sync == PK_SPOOL_SYNC_BATCH && i % 100 == 99)
			(void)pk_spool_sync(sp, NULL);
	}
	(void)pk_spool_sync(sp, NULL);
	t = now_s() - t0;
	pk_spool_close(sp);
	printf("bench %s n=%" PRIu64 " size=%" PRIu64 " %.3fs %.0f rec/s "
	    "%.1f MB/s\n", pol, n, size, t, (double)n / t,
	    (double)n * (double)size / t / 1e6);
	return 0;
}

static int
do_fill(const char *dir, uint64_t seg, const char *file)
{
	struct pk_spool_settings s;
	struct pk_spool *sp;
	char line[PK_SPOOL_PAYLOAD_MAX + 2];
	uint64_t seq, first = 0, last = 0;
	size_t len;
	FILE *fp;
	int failed = 0;

	if ((fp = fopen(file, "r")) == NULL) {
		fprintf(stderr, "spool_driver: %s: %s\n", file, strerror(errno));
		return 1;
	}
	pk_spool_settings_init(&s, dir);
	s.segment_bytes = seg;
	s.sync = PK_SPOOL_SYNC_BATCH;
	if ((sp = pk_spool_open(&s)) == NULL) {
		fclose(fp);
		return 1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		len = strcspn(line, "\n");
		if (len == 0)
			continue;
		if (pk_spool_append(sp, line, len, &seq) != 0) {
			fprintf(stderr, "spool_driver: append failed\n");
			failed = 1;
			break;
		}
		if (first == 0)
			first = seq;
		last = seq;
	}
	fclose(fp);
	(void)pk_spool_sync(sp, NULL);
	pk_spool_close(sp);
	printf("F %" PRIu64 " %" PRIu64 "\n", first, last);
	return failed || last == 0;
}

int
main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "fill") == 0)
		return do_fill(argv[2], num(argv[3]), argv[4]);
	if (argc >= 5 && strcmp(argv[1], "write") == 0)
		return do_write(argv[2], num(argv[3]), num(argv[4]),
		    policy(argc >= 6 ? argv[5] : "always"));
	if (argc == 4 && strcmp(argv[1], "read") == 0)
		return do_read(argv[2], num(argv[3]));
	if (argc == 4 && strcmp(argv[1], "ack") == 0)
		return do_ack(argv[2], num(argv[3]));
	if (argc == 6 && strcmp(argv[1], "bench") == 0)
		return do_bench(argv[2], argv[3], num(argv[4]), num(argv[5]));
	fprintf(stderr, "usage: spool_driver write DIR RUN SEGBYTES [POLICY] |"
	    " read DIR FROM | ack DIR SEQ | bench DIR POLICY N SIZE |"
	    " fill DIR SEGBYTES FILE\n");
	return 2;
}
