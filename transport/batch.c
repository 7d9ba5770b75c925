/*
 * batch.c - build and open BATCH payloads (docs/protocol.md, "BATCH").
 * The agent deflates its records straight from the spool's buffers, one
 * deflate() call per record and newline, so no NDJSON copy is made.  The
 * hub inflates into a buffer it sized from the negotiated limit, and never
 * lets zlib write past the size the batch declared: a zip bomb costs it
 * raw_len bytes of output and one counter, not memory.  The zlib stream
 * format (RFC 1950) is used rather than raw deflate because its header
 * names the preset dictionary by Adler-32 (so an id/dictionary mismatch is
 * caught) and its trailer checksums the data.  This is the only file that
 * includes <zlib.h>.  Portable; called by the shipper, the hub, tests,
 * fuzzers and the benchmark.
 */
#include <limits.h>
#include <string.h>

#include <zlib.h>

#include "common/util.h"
#include "transport/batch.h"
#include "transport/dict_v1.h"

const uint8_t *
pk_batch_dict(uint8_t dict_id, size_t *len)
{
	if (dict_id == PK_DICT_V1) {
		*len = sizeof(pk_dict_v1) - 1;	/* not the NUL */
		return (const uint8_t *)pk_dict_v1;
	}
	*len = 0;
	return NULL;
}

int
pk_batch_record_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 2 || s[0] != '{' || s[len - 1] != '}')
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20)
			return 0;
	return 1;
}

/* ------------------------------------------------------------ build */

/* Check the records; their NDJSON length into *raw. */
static int
build_check(const struct pk_batch_rec *recs, uint32_t n, size_t *raw)
{
	uint32_t i;
	size_t len;

	*raw = 0;
	if (n == 0 || n > PK_BATCH_MAX_RECORDS || recs[0].seq == 0 ||
	    recs[0].seq - 1 > UINT64_MAX - n)
		return PK_BE_ARG;
	for (i = 0; i < n; i++) {
		if (recs[i].seq != recs[0].seq + i)
			return PK_BE_SEQ;
		len = recs[i].len;
		if (len > 0 && recs[i].data[len - 1] == '\n')
			len--;
		if (!pk_batch_record_ok(recs[i].data, len))
			return PK_BE_RECORD;
		if (len + 1 > PK_BATCH_MAX_RAW - *raw)
			return PK_BE_LIMIT;
		*raw += len + 1;
	}
	return PK_BE_OK;
}

static int
build_plain(const struct pk_batch_rec *recs, uint32_t n, size_t raw,
    uint8_t *out, size_t cap)
{
	uint32_t i;
	size_t len, off = 0;

	if (raw > cap)
		return PK_BE_SPACE;
	for (i = 0; i < n; i++) {
		len = recs[i].len;
		if (recs[i].data[len - 1] == '\n')
			len--;
		memcpy(out + off, recs[i].data, len);
		out[off + len] = '\n';
		off += len + 1;
	}
	return PK_BE_OK;
}

/* Feed len bytes to deflate; flush with Z_FINISH on the last piece. */
static int
deflate_piece(z_stream *z, const void *p, size_t len, int flush)
{
	int r;

	z->next_in = (Bytef *)(uintptr_t)p;	/* zlib does not write it */
	z->avail_in = (uInt)len;
	for (;;) {
		r = deflate(z, flush);
		if (r == Z_STREAM_END)
			return PK_BE_OK;
		if (r != Z_OK && r != Z_BUF_ERROR)
			return PK_BE_ZLIB;
		if (z->avail_out == 0)
			return PK_BE_SPACE;
		if (z->avail_in == 0 && flush == Z_NO_FLUSH)
			return PK_BE_OK;
	}
}

static int
build_deflate(const struct pk_batch_rec *recs, uint32_t n, uint8_t dict_id,
    int level, uint8_t *out, size_t cap, size_t *outlen)
{
	z_stream z;
	const uint8_t *dict;
	size_t dlen, len;
	uint32_t i;
	int err = PK_BE_OK;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return PK_BE_ZLIB;
	z.next_out = out;
	z.avail_out = (uInt)(cap > UINT_MAX ? UINT_MAX : cap);
	if (dict_id != PK_DICT_NONE) {
		dict = pk_batch_dict(dict_id, &dlen);
		if (deflateSetDictionary(&z, dict, (uInt)dlen) != Z_OK)
			err = PK_BE_ZLIB;
	}
	for (i = 0; i < n && err == PK_BE_OK; i++) {
		len = recs[i].len;
		if (recs[i].data[len - 1] == '\n')
			len--;
		err = deflate_piece(&z, recs[i].data, len, Z_NO_FLUSH);
		if (err == PK_BE_OK)
			err = deflate_piece(&z, "\n", 1,
			    i + 1 == n ? Z_FINISH : Z_NO_FLUSH);
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	return err;
}

int
pk_batch_build(const struct pk_batch_rec *recs, uint32_t n, uint8_t dict_id,
    int level, uint8_t *out, size_t cap, struct pk_batch_hdr *hdr,
    size_t *outlen)
{
	size_t raw;
	int err;

	memset(hdr, 0, sizeof(*hdr));
	*outlen = 0;
	if (level < PK_BATCH_PLAIN || level > 9)
		return PK_BE_ARG;
	if (dict_id != PK_DICT_NONE &&
	    (level == PK_BATCH_PLAIN || pk_batch_dict(dict_id, &raw) == NULL))
		return PK_BE_DICT;
	if ((err = build_check(recs, n, &raw)) != PK_BE_OK)
		return err;
	/* The frame carries the data after its fixed fields. */
	if (cap > PK_FRAME_MAX_PAYLOAD - PK_BATCH_FIXED)
		cap = PK_FRAME_MAX_PAYLOAD - PK_BATCH_FIXED;
	if (level == PK_BATCH_PLAIN) {
		err = build_plain(recs, n, raw, out, cap);
		*outlen = raw;
	} else {
		err = build_deflate(recs, n, dict_id, level, out, cap, outlen);
	}
	if (err != PK_BE_OK) {
		*outlen = 0;
		return err;
	}
	hdr->flags = level == PK_BATCH_PLAIN ? 0 : PK_FF_BATCH_DEFLATE;
	hdr->first_seq = recs[0].seq;
	hdr->count = n;
	hdr->raw_len = (uint32_t)raw;
	hdr->dict_id = dict_id;
	return PK_BE_OK;
}

/* ------------------------------------------------------------ open */

/* Supply the dictionary zlib asks for; it must be the one hdr names. */
static int
inflate_dict(z_stream *z, uint8_t dict_id)
{
	const uint8_t *dict = NULL;
	size_t dlen = 0;

	if (dict_id != PK_DICT_NONE)
		dict = pk_batch_dict(dict_id, &dlen);
	if (dict == NULL || z->adler != adler32(1L, dict, (uInt)dlen))
		return PK_BE_DICT;
	if (inflateSetDictionary(z, dict, (uInt)dlen) != Z_OK)
		return PK_BE_DICT;
	return PK_BE_OK;
}

/* After raw_len bytes of output: is there more?  (A bomb, or a lie.) */
static int
inflate_more(z_stream *z)
{
	uint8_t probe[64];
	int r;

	z->next_out = probe;
	z->avail_out = sizeof(probe);
	r = inflate(z, Z_FINISH);
	if (z->avail_out != sizeof(probe))
		return PK_BE_BOMB;
	if (r == Z_STREAM_END)
		return PK_BE_OK;
	return PK_BE_CORRUPT;
}

static int
inflate_all(const struct pk_batch_hdr *hdr, const uint8_t *data, size_t dlen,
    uint8_t *out)
{
	z_stream z;
	int r, err = PK_BE_OK, dict_used = 0;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15) != Z_OK)
		return PK_BE_ZLIB;
	z.next_in = (Bytef *)(uintptr_t)data;	/* zlib does not write it */
	z.avail_in = (uInt)dlen;
	z.next_out = out;
	z.avail_out = hdr->raw_len;
	for (;;) {
		r = inflate(&z, Z_FINISH);
		if (r == Z_NEED_DICT && !dict_used) {
			dict_used = 1;
			if ((err = inflate_dict(&z, hdr->dict_id)) != PK_BE_OK)
				break;
			continue;
		}
		if (r == Z_STREAM_END) {
			if (z.avail_out != 0)
				err = PK_BE_LENGTH;
			else if (z.avail_in != 0)
				err = PK_BE_CORRUPT;	/* bytes after the end */
			break;
		}
		if (r == Z_MEM_ERROR) {
			err = PK_BE_ZLIB;
			break;
		}
		if (r != Z_OK && r != Z_BUF_ERROR) {
			err = PK_BE_CORRUPT;
			break;
		}
		if (z.avail_out == 0) {
			/* Declared size reached, stream not ended. */
			err = inflate_more(&z);
			if (err == PK_BE_OK && z.avail_in != 0)
				err = PK_BE_CORRUPT;
			break;
		}
		/* Output room left but no progress: input ran out. */
		err = PK_BE_CORRUPT;
		break;
	}
	if (err == PK_BE_OK && hdr->dict_id != PK_DICT_NONE && !dict_used)
		err = PK_BE_DICT;	/* header names a dictionary, stream none */
	inflateEnd(&z);
	return err;
}

/* Split NDJSON into exactly hdr->count checked records. */
static int
split(const struct pk_batch_hdr *hdr, const uint8_t *raw,
    struct pk_batch_rec *recs)
{
	const uint8_t *p = raw, *end = raw + hdr->raw_len, *nl;
	uint32_t n = 0;

	if (hdr->raw_len == 0 || end[-1] != '\n')
		return PK_BE_RECORD;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		/* end[-1] is '\n', so nl is never NULL. */
		if (n == hdr->count)
			return PK_BE_COUNT;
		if (!pk_batch_record_ok((const char *)p, (size_t)(nl - p)))
			return PK_BE_RECORD;
		recs[n].seq = hdr->first_seq + n;
		recs[n].data = (const char *)p;
		recs[n].len = (size_t)(nl - p);
		n++;
		p = nl + 1;
	}
	return n == hdr->count ? PK_BE_OK : PK_BE_COUNT;
}

static int
open_batch(const struct pk_batch_hdr *hdr, const uint8_t *data, size_t dlen,
    const struct pk_batch_limits *lim, uint8_t *out, size_t cap,
    struct pk_batch_rec *recs, uint32_t nrecs)
{
	uint32_t max_rec = PK_MIN(lim->max_records, PK_BATCH_MAX_RECORDS);
	uint32_t max_raw = PK_MIN(lim->max_raw, PK_BATCH_MAX_RAW);
	size_t dictlen;
	int err;

	if (hdr->first_seq == 0 || hdr->count == 0 ||
	    hdr->first_seq - 1 > UINT64_MAX - hdr->count || dlen == 0)
		return PK_BE_ARG;
	if (hdr->count > max_rec || hdr->raw_len > max_raw)
		return PK_BE_LIMIT;
	if (hdr->count > nrecs || hdr->raw_len > cap)
		return PK_BE_SPACE;
	if (!(hdr->flags & PK_FF_BATCH_DEFLATE)) {
		if (hdr->dict_id != PK_DICT_NONE)
			return PK_BE_DICT;
		if (dlen != hdr->raw_len)
			return PK_BE_LENGTH;
		memcpy(out, data, dlen);
	} else {
		if (hdr->dict_id != PK_DICT_NONE &&
		    pk_batch_dict(hdr->dict_id, &dictlen) == NULL)
			return PK_BE_DICT;
		if (dlen > UINT_MAX)
			return PK_BE_LIMIT;
		if ((err = inflate_all(hdr, data, dlen, out)) != PK_BE_OK)
			return err;
	}
	return split(hdr, out, recs);
}

int
pk_batch_open(const struct pk_batch_hdr *hdr, const uint8_t *data,
    size_t dlen, const struct pk_batch_limits *lim, uint8_t *out, size_t cap,
    struct pk_batch_rec *recs, uint32_t nrecs, struct pk_batch_stats *st)
{
	int err = open_batch(hdr, data, dlen, lim, out, cap, recs, nrecs);

	if (st == NULL)
		return err;
	if (err != PK_BE_OK) {
		st->rejected++;
		st->err[err]++;
		return err;
	}
	st->batches++;
	st->records += hdr->count;
	st->bytes_in += dlen;
	st->bytes_out += hdr->raw_len;
	return err;
}

const char *
pk_batch_strerror(int err)
{
	static const char *const msgs[PK_BE_NERR] = {
		[PK_BE_OK] = "ok",
		[PK_BE_ARG] = "bad argument",
		[PK_BE_SEQ] = "sequence numbers not consecutive",
		[PK_BE_RECORD] = "record is not one line of JSON text",
		[PK_BE_SPACE] = "output buffer too small",
		[PK_BE_LIMIT] = "batch over the limit",
		[PK_BE_DICT] = "unknown or mismatched dictionary",
		[PK_BE_CORRUPT] = "corrupt deflate stream",
		[PK_BE_BOMB] = "inflates past its declared size",
		[PK_BE_LENGTH] = "inflates to less than its declared size",
		[PK_BE_COUNT] = "record count differs from the header",
		[PK_BE_ZLIB] = "zlib failure",
	};

	if (err < 0 || err >= PK_BE_NERR)
		return "unknown error";
	return msgs[err];
}

/* ------------------------------------------------------------ chunks */

/*
 * Result chunks (docs/tasks.md): one plain zlib stream each, at most
 * PK_RESULT_CHUNK_MAX bytes either side.  The hub inflates into a buffer
 * of exactly cap bytes and asks zlib for one byte more only to tell a
 * bomb from a stream that ends there.
 */
int
pk_chunk_deflate(const uint8_t *in, size_t inlen, uint8_t *out, size_t cap,
    size_t *outlen)
{
	z_stream z;
	int r, err;

	*outlen = 0;
	if (in == NULL || inlen == 0 || out == NULL || inlen > UINT_MAX ||
	    cap > UINT_MAX)
		return PK_BE_ARG;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, PK_BATCH_LEVEL, Z_DEFLATED, 15, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return PK_BE_ZLIB;
	z.next_in = (Bytef *)(uintptr_t)in;	/* zlib does not write it */
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	r = deflate(&z, Z_FINISH);
	if (r == Z_STREAM_END) {
		*outlen = cap - z.avail_out;
		err = PK_BE_OK;
	} else if (r == Z_OK || r == Z_BUF_ERROR) {
		err = PK_BE_SPACE;
	} else {
		err = PK_BE_ZLIB;
	}
	deflateEnd(&z);
	return err;
}

int
pk_chunk_inflate(const uint8_t *in, size_t inlen, uint8_t *out, size_t cap,
    size_t *outlen)
{
	uint8_t probe[1];
	z_stream z;
	int r, err, bomb = 0;

	*outlen = 0;
	if (in == NULL || inlen == 0 || out == NULL || cap == 0 ||
	    inlen > UINT_MAX || cap > UINT_MAX)
		return PK_BE_ARG;
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15) != Z_OK)
		return PK_BE_ZLIB;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	r = inflate(&z, Z_FINISH);
	if (r == Z_BUF_ERROR && z.avail_out == 0) {
		/* cap reached: one byte more, or the stream's end */
		z.next_out = probe;
		z.avail_out = sizeof(probe);
		r = inflate(&z, Z_FINISH);
		bomb = z.avail_out == 0;
	}
	if (bomb)
		err = PK_BE_BOMB;
	else if (r == Z_STREAM_END)
		err = z.avail_in != 0 || z.total_out == 0 ? PK_BE_CORRUPT :
		    PK_BE_OK;
	else if (r == Z_MEM_ERROR)
		err = PK_BE_ZLIB;
	else
		err = PK_BE_CORRUPT;	/* bad, truncated, or a dictionary */
	if (err == PK_BE_OK)
		*outlen = (size_t)z.total_out;
	inflateEnd(&z);
	return err;
}
