/*
 * test_crc32c.c - unit tests for common/crc32c.c: the CRC-32C test
 * vectors of RFC 3720 appendix B.4 (32 bytes of zeros, of 0xff, ascending,
 * descending, and the iSCSI read command PDU), the "123456789" check value,
 * the empty input, incremental use in every split, and a bitwise reference
 * implementation compared on pseudo-random data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/crc32c.h"

/* Bit by bit, straight from the definition: the table must agree. */
static uint32_t
crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffU;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		c ^= p[i];
		for (k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78U : c >> 1;
	}
	return ~c;
}

static void
test_rfc3720_vectors(void **state)
{
	uint8_t buf[32];
	/* RFC 3720 B.4: iSCSI SCSI Read (10) command PDU. */
	static const uint8_t pdu[48] = {
		0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
		0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
		0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	int i;

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pk_crc32c(0, buf, 32), 0x8a9136aaU);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(pk_crc32c(0, buf, 32), 0x62a8ab43U);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(pk_crc32c(0, buf, 32), 0x46dd794eU);
	for (i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(pk_crc32c(0, buf, 32), 0x113fdb5cU);
	assert_int_equal(pk_crc32c(0, pdu, sizeof(pdu)), 0xd9963a56U);
}

static void
test_check_value_and_empty(void **state)
{
	(void)state;
	assert_int_equal(pk_crc32c(0, "123456789", 9), 0xe3069283U);
	assert_int_equal(pk_crc32c(0, "", 0), 0);
	assert_int_equal(pk_crc32c(0x12345678U, NULL, 0), 0x12345678U);
}

static void
test_incremental_every_split(void **state)
{
	const char *s = "The quick brown fox jumps over the lazy dog";
	size_t n = strlen(s), k;
	uint32_t whole = pk_crc32c(0, s, n);

	(void)state;
	assert_int_equal(whole, 0x22620404U);
	for (k = 0; k <= n; k++)
		assert_int_equal(pk_crc32c(pk_crc32c(0, s, k), s + k, n - k),
		    whole);
}

static void
test_matches_bitwise(void **state)
{
	uint8_t buf[4096];
	uint32_t x = 2463534242U;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
	for (len = 0; len <= sizeof(buf); len += 97)
		assert_int_equal(pk_crc32c(0, buf, len), crc_bitwise(buf, len));
	/* One flipped bit anywhere changes the CRC. */
	for (i = 0; i < 64 * 8; i++) {
		uint32_t before = pk_crc32c(0, buf, 64);

		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_not_equal(pk_crc32c(0, buf, 64), before);
		buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3720_vectors),
		cmocka_unit_test(test_check_value_and_empty),
		cmocka_unit_test(test_incremental_every_split),
		cmocka_unit_test(test_matches_bitwise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
