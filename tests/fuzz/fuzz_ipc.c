/*
 * fuzz_ipc.c - libFuzzer target for the collector <-> shipper messages
 * (agent/ipc.c), the one parser that reads bytes from the less trusted of
 * the two processes.  Any input either fails to decode or decodes to a
 * message that encodes back to exactly the same 32 bytes and satisfies
 * the documented ranges.  A broken promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pk_ipc_msg m;
	uint8_t out[PK_IPC_MSG_SIZE];

	if (pk_ipc_decode(data, size, &m) != 0)
		return 0;
	if (size != PK_IPC_MSG_SIZE)
		abort();
	pk_ipc_encode(&m, out);
	if (memcmp(out, data, PK_IPC_MSG_SIZE) != 0)
		abort();
	if (m.type == PK_IPC_SPOOL_STATUS && (m.a == 0 || m.b >= m.a ||
	    m.a >= (1ULL << 62)))
		abort();
	if (m.type == PK_IPC_HUB_STORED && (m.b != 0 || m.c != 0))
		abort();
	if ((m.type == PK_IPC_TASK_NEW || m.type == PK_IPC_TASK_CANCEL ||
	    m.type == PK_IPC_TASK_STATE) &&
	    (m.a == 0 || m.a >= (1ULL << 63) || m.b != 0 || m.c != 0))
		abort();
	/* bundles: a version (0 only for a rollback to none), the state
	 * with an outcome of enum pk_applied_outcome */
	if (m.type == PK_IPC_BUNDLE_NEW && (m.a == 0 ||
	    m.a >= (1ULL << 63) || m.b != 0 || m.c != 0))
		abort();
	if (m.type == PK_IPC_BUNDLE_ROLLBACK && (m.a >= (1ULL << 63) ||
	    m.b != 0 || m.c != 0))
		abort();
	if (m.type == PK_IPC_BUNDLE_STATE && (m.a >= (1ULL << 63) ||
	    m.b >= (1ULL << 63) || m.c > 3))
		abort();
	if (m.type != PK_IPC_SPOOL_STATUS && m.type != PK_IPC_HUB_STORED &&
	    m.type != PK_IPC_TASK_NEW && m.type != PK_IPC_TASK_CANCEL &&
	    m.type != PK_IPC_TASK_STATE && m.type != PK_IPC_BUNDLE_NEW &&
	    m.type != PK_IPC_BUNDLE_ROLLBACK && m.type != PK_IPC_BUNDLE_STATE)
		abort();
	return 0;
}
