/*
 * test_ipc.c - the collector <-> shipper messages (agent/ipc.c) and the
 * reconnect backoff (common/util.c pk_backoff_ms): exact round trips, and
 * every malformed shape refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "agent/ipc.h"
#include "common/util.h"

static void
test_roundtrip(void **state)
{
	struct pk_ipc_msg m = { PK_IPC_SPOOL_STATUS, 1001, 1000, 7 }, back;
	uint8_t buf[PK_IPC_MSG_SIZE];

	(void)state;
	pk_ipc_encode(&m, buf);
	assert_int_equal(buf[0], PK_IPC_SPOOL_STATUS);
	assert_int_equal(buf[1], PK_IPC_VERSION);
	/* little-endian a at offset 8 */
	assert_int_equal(buf[8], 1001 & 0xff);
	assert_int_equal(buf[9], 1001 >> 8);
	assert_int_equal(pk_ipc_decode(buf, sizeof(buf), &back), 0);
	assert_int_equal(back.type, m.type);
	assert_true(back.a == 1001 && back.b == 1000 && back.c == 7);

	m = (struct pk_ipc_msg){ PK_IPC_HUB_STORED, 42, 0, 0 };
	pk_ipc_encode(&m, buf);
	assert_int_equal(pk_ipc_decode(buf, sizeof(buf), &back), 0);
	assert_true(back.type == PK_IPC_HUB_STORED && back.a == 42);
}

static void
test_refused(void **state)
{
	struct pk_ipc_msg m = { PK_IPC_SPOOL_STATUS, 10, 9, 0 }, back;
	uint8_t buf[PK_IPC_MSG_SIZE + 1], bad[PK_IPC_MSG_SIZE];
	int i;

	(void)state;
	pk_ipc_encode(&m, buf);
	buf[PK_IPC_MSG_SIZE] = 0;
	assert_int_equal(pk_ipc_decode(buf, PK_IPC_MSG_SIZE - 1, &back), -1);
	assert_int_equal(pk_ipc_decode(buf, PK_IPC_MSG_SIZE + 1, &back), -1);
	/* version and each reserved byte */
	for (i = 1; i < 8; i++) {
		memcpy(bad, buf, sizeof(bad));
		bad[i] ^= 0x40;
		assert_int_equal(pk_ipc_decode(bad, sizeof(bad), &back), -1);
	}
	/* unknown types */
	memcpy(bad, buf, sizeof(bad));
	bad[0] = 0;
	assert_int_equal(pk_ipc_decode(bad, sizeof(bad), &back), -1);
	bad[0] = 6;
	assert_int_equal(pk_ipc_decode(bad, sizeof(bad), &back), -1);
	/* durable at or past next; next 0; next past the sequence limit */
	m = (struct pk_ipc_msg){ PK_IPC_SPOOL_STATUS, 10, 10, 0 };
	pk_ipc_encode(&m, bad);
	assert_int_equal(pk_ipc_decode(bad, sizeof(bad), &back), -1);
	m = (struct pk_ipc_msg){ PK_IPC_SPOOL_STATUS, 0, 0, 0 };
	pk_ipc_encode(&m, bad);
	assert_int_equal(pk_ipc_decode(bad, sizeof(bad), &back), -1);
	m = (struct pk_ipc_msg){ PK_IPC_SPOOL_STATUS, 1ULL << 62, 1, 0 };
	pk_ipc_encode(&m, bad);
	assert_int_equal(pk_ipc_decode(bad, sizeof(bad), &back), -1);
	/* HUB_STORED carries only a */
	m = (struct pk_ipc_msg){ PK_IPC_HUB_STORED, 5, 1, 0 };
	pk_ipc_encode(&m, bad);
	assert_int_equal(pk_ipc_decode(bad, sizeof(bad), &back), -1);
	m = (struct pk_ipc_msg){ PK_IPC_HUB_STORED, 1ULL << 62, 0, 0 };
	pk_ipc_encode(&m, bad);
	assert_int_equal(pk_ipc_decode(bad, sizeof(bad), &back), -1);
}

/* Task messages (docs/tasks.md "Agent"): an id and nothing else. */
static void
test_task_msgs(void **state)
{
	struct pk_ipc_msg m, back;
	uint8_t buf[PK_IPC_MSG_SIZE];
	uint8_t types[3] = { PK_IPC_TASK_NEW, PK_IPC_TASK_CANCEL,
	    PK_IPC_TASK_STATE };
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		m = (struct pk_ipc_msg){ types[i], 77, 0, 0 };
		pk_ipc_encode(&m, buf);
		assert_int_equal(pk_ipc_decode(buf, sizeof(buf), &back), 0);
		assert_true(back.type == types[i] && back.a == 77 &&
		    back.b == 0 && back.c == 0);
		m = (struct pk_ipc_msg){ types[i], (1ULL << 63) - 1, 0, 0 };
		pk_ipc_encode(&m, buf);
		assert_int_equal(pk_ipc_decode(buf, sizeof(buf), &back), 0);
		/* id 0, id past 2^63, and anything in b or c */
		m = (struct pk_ipc_msg){ types[i], 0, 0, 0 };
		pk_ipc_encode(&m, buf);
		assert_int_equal(pk_ipc_decode(buf, sizeof(buf), &back), -1);
		m = (struct pk_ipc_msg){ types[i], 1ULL << 63, 0, 0 };
		pk_ipc_encode(&m, buf);
		assert_int_equal(pk_ipc_decode(buf, sizeof(buf), &back), -1);
		m = (struct pk_ipc_msg){ types[i], 5, 1, 0 };
		pk_ipc_encode(&m, buf);
		assert_int_equal(pk_ipc_decode(buf, sizeof(buf), &back), -1);
		m = (struct pk_ipc_msg){ types[i], 5, 0, 9 };
		pk_ipc_encode(&m, buf);
		assert_int_equal(pk_ipc_decode(buf, sizeof(buf), &back), -1);
	}
}

static void
test_backoff(void **state)
{
	uint64_t r, v, maxv;
	unsigned a;

	(void)state;
	/* The bound doubles from base to cap; r picks inside it. */
	assert_true(pk_backoff_ms(1000, 300000, 0, UINT64_MAX) <= 1000);
	assert_int_equal(pk_backoff_ms(1000, 300000, 0, 1000), 1000);
	assert_int_equal(pk_backoff_ms(1000, 300000, 0, 1001), 0);
	assert_int_equal(pk_backoff_ms(1000, 300000, 3, 8000), 8000);
	assert_int_equal(pk_backoff_ms(1000, 300000, 3, 8001), 0);
	/* capped, and no overflow for absurd attempts */
	assert_int_equal(pk_backoff_ms(1000, 300000, 9, 300000), 300000);
	assert_int_equal(pk_backoff_ms(1000, 300000, 1000, 300000), 300000);
	assert_int_equal(pk_backoff_ms(1000, 300000, 1000, 300001), 0);
	/* Full jitter: over many draws the whole window is used, not just
	 * its top (which would bunch agents after a hub restart). */
	for (a = 0; a < 12; a++) {
		maxv = 0;
		r = 0x9e3779b97f4a7c15ULL;
		for (int i = 0; i < 2000; i++) {
			r = r * 6364136223846793005ULL + 1442695040888963407ULL;
			v = pk_backoff_ms(1000, 300000, a, r >> 11);
			if (v > maxv)
				maxv = v;
		}
		assert_true(maxv <= (a < 9 ? 1000ULL << a : 300000));
		assert_true(maxv >= (a < 9 ? (1000ULL << a) * 9 / 10 :
		    270000));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_task_msgs),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
