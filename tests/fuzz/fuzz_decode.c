/*
 * fuzz_decode.c - libFuzzer target for the packet decoder and reassembler.
 * The first input byte picks a link type from the supported list, the next
 * says whether the frame was captured whole (>= 128) or cut at that many
 * bytes (to exercise snaplen cuts), and the rest is the frame.  One decoder lives across inputs, with small
 * reassembly bounds, so fragments from different inputs meet, fill the
 * table, overlap and expire: the reassembly state is fuzzed too.
 * Build: clang -fsanitize=fuzzer,address,undefined -I. ... (see Makefile).
 */
#include <stddef.h>
#include <stdint.h>
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_decode_cfg cfg = { 256 * 1024, 30, 64 };
	struct pk_packet p;
	uint32_t len, cap;
	int lt;

	if (dec == NULL && (dec = pk_decoder_new(&cfg)) == NULL)
		return 0;
	if (size < 2)
		return 0;
	lt = links[data[0] % (sizeof(links) / sizeof(links[0]))];
	len = (uint32_t)(size - 2 > 70000 ? 70000 : size - 2);
	cap = data[1] >= 128 || data[1] > len ? len : data[1];
	/* Time moves on by a varying step; sometimes jumps past timeouts. */
	now_us += 1000u + (uint64_t)(data[0] >> 4) * 250000u;
	if (pk_decode(dec, lt, data + 2, cap, len, now_us, &p) == 1)
		sink = touch(&p);
	if (++calls % 64 == 0)
		pk_decoder_expire(dec, now_us);
	if (calls % 4096 == 0)
		now_us += 60u * 1000000u;
	(void)pk_decoder_errors(dec);
	return 0;
}
