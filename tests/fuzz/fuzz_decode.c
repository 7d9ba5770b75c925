/*
 * fuzz_decode.c - libFuzzer target for the packet decoder and reassembler.
 * The first input byte picks a link type from the supported list, the next
 * says whether frames were captured whole (>= 128) or cut at that many
 * bytes (to exercise snaplen cuts), and the rest is the frame.  The rest
 * may hold several frames separated by "PKT!", so that all fragments of
 * one datagram can sit in one input and reassembly completes often.  One
 * decoder lives across inputs, with small reassembly bounds, so fragments
 * from different inputs also meet, fill the table, overlap and expire: the
 * reassembly state is fuzzed too.
 * Build: clang -fsanitize=fuzzer,address,undefined -I. ... (see Makefile).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int links[] = {
	PK_LINK_NULL, PK_LINK_ETHERNET, PK_LINK_RAW, PK_LINK_RAW_DLT,
	PK_LINK_RAW_DLT14, PK_LINK_LOOP, PK_LINK_LINUX_SLL, PK_LINK_IPV4,
	PK_LINK_IPV6, PK_LINK_LINUX_SLL2,
};

static struct pk_decoder *dec;
static uint64_t now_us;
static uint64_t calls;
static volatile uint8_t sink;	/* keeps touch() from being optimised out */

/* Touch every byte the packet points at, so ASan checks the pointers. */
static uint8_t
touch(const struct pk_packet *p)
{
	uint8_t x = 0;
	uint32_t i;

	for (i = 0; i < p->payload_len; i++)
		x ^= p->payload[i];
	return x;
}

/* Offset of the next "PKT!" at or after i, or size. */
static size_t
next_sep(const uint8_t *data, size_t size, size_t i)
{
	for (; i + 4 <= size; i++)
		if (memcmp(data + i, "PKT!", 4) == 0)
			return i;
	return size;
}

/*
 * Decode from a heap copy of exactly the captured bytes, so ASan flags a
 * read past caplen even when more input follows in the fuzzer's buffer.
 */
static void
one_frame(int lt, uint8_t cut, const uint8_t *frame, size_t size)
{
	struct pk_packet p;
	uint32_t len, cap;
	uint8_t *copy;

	len = (uint32_t)(size > 70000 ? 70000 : size);
	cap = cut >= 128 || cut > len ? len : cut;
	if ((copy = malloc(cap ? cap : 1)) == NULL)
		return;
	if (cap > 0)
		memcpy(copy, frame, cap);
	if (pk_decode(dec, lt, copy, cap, len, now_us, &p) == 1)
		sink = touch(&p);
	free(copy);
	if (++calls % 64 == 0)
		pk_decoder_expire(dec, now_us);
	if (calls % 4096 == 0)
		now_us += 60u * 1000000u;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_decode_cfg cfg = { 256 * 1024, 30, 64 };
	size_t i, end;
	int lt, n;

	if (dec == NULL && (dec = pk_decoder_new(&cfg)) == NULL)
		return 0;
	if (size < 2)
		return 0;
	lt = links[data[0] % (sizeof(links) / sizeof(links[0]))];
	/* Time moves on by a varying step; sometimes jumps past timeouts. */
	now_us += 1000u + (uint64_t)(data[0] >> 4) * 250000u;
	for (i = 2, n = 0; i <= size && n < 64; i = end + 4, n++) {
		end = next_sep(data, size, i);
		one_frame(lt, data[1], data + i, end - i);
	}
	(void)pk_decoder_errors(dec);
	return 0;
}
