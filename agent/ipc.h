/*
 * ipc.h - the messages the collector and the shipper exchange over the
 * socketpair the supervisor made for them (docs/privsep.md).  They share
 * no memory, so this is all they say to each other besides the spool
 * files: fixed 32-byte messages, every one checked for its exact length,
 * version, type and reserved bytes before use, because a compromised
 * shipper must not be able to steer the collector.  Portable encoding
 * only; the file descriptors belong to agent/main.c.  Called by
 * agent/main.c, agent/shipper.c, tests and the fuzzer.
 */
#ifndef PICKET_IPC_H
#define PICKET_IPC_H

#include <stddef.h>
#include <stdint.h>

#define PK_IPC_MSG_SIZE		32
#define PK_IPC_VERSION		1

enum pk_ipc_type {
	/* collector -> shipper: a = next seq the spool will give, b = last
	 * seq known durable, c = records the spool has lost (dropped when
	 * full, lost to write errors, corrupt) since it was created. */
	PK_IPC_SPOOL_STATUS	= 1,
	/* shipper -> collector: the hub stores every seq <= a (WELCOME);
	 * the collector never gives out a seq at or below it again. */
	PK_IPC_HUB_STORED	= 2,
	/* shipper -> collector: a = task id (>= 1); the hub ordered it and
	 * spool/tasks/<a>.task holds its specification (docs/tasks.md,
	 * "Agent").  The collector reads and checks the file itself. */
	PK_IPC_TASK_NEW		= 3,
	/* shipper -> collector: a = task id (>= 1); stop it, state
	 * cancelled. */
	PK_IPC_TASK_CANCEL	= 4,
	/* collector -> shipper: a = task id (>= 1); its status file
	 * changed.  Only a wake-up: the shipper reads the file itself. */
	PK_IPC_TASK_STATE	= 5,
	/* shipper -> collector: a = bundle version (>= 1); the hub sent it
	 * and spool/bundle/<a>.bundle holds it (docs/bundles.md, "Agent").
	 * The collector reads and parses the file itself. */
	PK_IPC_BUNDLE_NEW	= 6,
	/* shipper -> collector: go back to the bundle kept as previous,
	 * which the hub says is a (0: run none). */
	PK_IPC_BUNDLE_ROLLBACK	= 7,
	/* collector -> shipper: a = bundle running (0 none), b = previous
	 * kept (0 none), c = outcome of the last request (enum
	 * pk_applied_outcome); spool/bundle/status says which version it
	 * answered and why.  Also sent when the collector starts. */
	PK_IPC_BUNDLE_STATE	= 8,
};

struct pk_ipc_msg {
	uint8_t		type;
	uint64_t	a, b, c;
};

/* Layout: u8 type, u8 version, 6 zero bytes, then a, b, c as u64 LE. */
void pk_ipc_encode(const struct pk_ipc_msg *m, uint8_t out[PK_IPC_MSG_SIZE]);
/* 0, or -1 when len, version, type, reserved bytes or a value is wrong
 * (sequence numbers stay below 2^62, as in the spool; a task id is
 * 1..2^63-1 and the task messages carry nothing else; bundle versions
 * are below 2^63, an outcome at most PK_AO_LAST). */
int pk_ipc_decode(const uint8_t *buf, size_t len, struct pk_ipc_msg *m);

#endif
