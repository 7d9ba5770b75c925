/*
 * ipc.c - encoding of the collector <-> shipper messages (ipc.h).  The
 * decoder is strict: anything but the one valid shape is refused, so a
 * peer that sends garbage is noticed (and counted by the caller) rather
 * than half understood.
 */
#include <string.h>

#include "agent/ipc.h"

#define IPC_SEQ_LIMIT	(1ULL << 62)	/* = PK_SPOOL_SEQ_LIMIT */
#define IPC_TASK_LIMIT	(1ULL << 63)	/* task ids fit a signed 64-bit */
#define IPC_OUTCOME_LAST 3		/* = PK_AO_LAST (transport/frame.h) */

static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

void
pk_ipc_encode(const struct pk_ipc_msg *m, uint8_t out[PK_IPC_MSG_SIZE])
{
	memset(out, 0, PK_IPC_MSG_SIZE);
	out[0] = m->type;
	out[1] = PK_IPC_VERSION;
	put64(out + 8, m->a);
	put64(out + 16, m->b);
	put64(out + 24, m->c);
}

int
pk_ipc_decode(const uint8_t *buf, size_t len, struct pk_ipc_msg *m)
{
	static const uint8_t zero[6];

	if (len != PK_IPC_MSG_SIZE || buf[1] != PK_IPC_VERSION ||
	    memcmp(buf + 2, zero, sizeof(zero)) != 0)
		return -1;
	memset(m, 0, sizeof(*m));
	m->type = buf[0];
	m->a = get64(buf + 8);
	m->b = get64(buf + 16);
	m->c = get64(buf + 24);
	switch (m->type) {
	case PK_IPC_SPOOL_STATUS:
		/* durable never runs ahead of what was handed out */
		if (m->a == 0 || m->a >= IPC_SEQ_LIMIT || m->b >= m->a)
			return -1;
		return 0;
	case PK_IPC_HUB_STORED:
		if (m->a >= IPC_SEQ_LIMIT || m->b != 0 || m->c != 0)
			return -1;
		return 0;
	case PK_IPC_TASK_NEW:
	case PK_IPC_TASK_CANCEL:
	case PK_IPC_TASK_STATE:
		if (m->a == 0 || m->a >= IPC_TASK_LIMIT || m->b != 0 ||
		    m->c != 0)
			return -1;
		return 0;
	case PK_IPC_BUNDLE_NEW:
		if (m->a == 0 || m->a >= IPC_TASK_LIMIT || m->b != 0 ||
		    m->c != 0)
			return -1;
		return 0;
	case PK_IPC_BUNDLE_ROLLBACK:
		if (m->a >= IPC_TASK_LIMIT || m->b != 0 || m->c != 0)
			return -1;
		return 0;
	case PK_IPC_BUNDLE_STATE:
		if (m->a >= IPC_TASK_LIMIT || m->b >= IPC_TASK_LIMIT ||
		    m->c > IPC_OUTCOME_LAST)
			return -1;
		return 0;
	default:
		return -1;
	}
}
