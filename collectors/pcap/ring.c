/*
 * ring.c - the capture ring (see ring.h).  The producer owns head, the
 * consumer owns tail; each publishes with a release store and reads the
 * other's with an acquire load, so a record's bytes are visible before
 * its position is.  Positions count bytes forever (size_t wraps after
 * 2^64 on 64-bit hosts) and are reduced modulo the power-of-two size.
 */
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/ring.h"

#define RING_ALIGN	8
#define RING_SKIP	UINT32_MAX	/* caplen of a skip marker */

struct rec_hdr {
	uint64_t	ts_us;
	uint32_t	caplen;
	uint32_t	wirelen;
};

static size_t
rec_size(uint32_t caplen)
{
	return (sizeof(struct rec_hdr) + caplen + RING_ALIGN - 1) &
	    ~(size_t)(RING_ALIGN - 1);
}

int
pk_ring_init(struct pk_ring *r, size_t size)
{
	size_t s = 64 * 1024;

	while (s < size && s < ((size_t)1 << 40))
		s <<= 1;
	memset(r, 0, sizeof(*r));
	if ((r->buf = malloc(s)) == NULL)
		return -1;
	r->size = s;
	atomic_init(&r->head, 0);
	atomic_init(&r->tail, 0);
	atomic_init(&r->pushed, 0);
	atomic_init(&r->dropped, 0);
	atomic_init(&r->dropped_bytes, 0);
	return 0;
}

void
pk_ring_destroy(struct pk_ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

int
pk_ring_fits(struct pk_ring *r, uint32_t caplen)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t need = rec_size(caplen), off = head & (r->size - 1);
	size_t skip = need > r->size - off ? r->size - off : 0;

	return need > r->size / 2 || need + skip <= r->size - (head - tail);
}

int
pk_ring_push(struct pk_ring *r, uint64_t ts_us, const uint8_t *data,
    uint32_t caplen, uint32_t wirelen)
{
	size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	size_t need = rec_size(caplen), off = head & (r->size - 1);
	size_t room_end = r->size - off, skip = 0;
	struct rec_hdr h;

	/* A record never wraps: if it does not fit before the end, mark the
	 * rest of the buffer as skipped and start again at offset 0. */
	if (need > room_end)
		skip = room_end;
	if (need + skip > r->size - (head - tail) || need > r->size / 2) {
		atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&r->dropped_bytes, wirelen,
		    memory_order_relaxed);
		return -1;
	}
	if (skip > 0) {
		if (skip >= sizeof(h)) {
			memset(&h, 0, sizeof(h));
			h.caplen = RING_SKIP;
			memcpy(r->buf + off, &h, sizeof(h));
		}
		head += skip;
		off = 0;
	}
	h.ts_us = ts_us;
	h.caplen = caplen;
	h.wirelen = wirelen;
	memcpy(r->buf + off, &h, sizeof(h));
	memcpy(r->buf + off + sizeof(h), data, caplen);
	atomic_store_explicit(&r->head, head + need, memory_order_release);
	atomic_fetch_add_explicit(&r->pushed, 1, memory_order_relaxed);
	/*
	 * Wake the consumer if it had consumed everything before this
	 * record: it may be asleep.  The tail read before publishing may be
	 * stale, so read it again after a full fence; the consumer fences
	 * between storing tail and reading head (pk_ring_peek), so at least
	 * one side sees the other's store and a record is never stranded.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	return tail == head - skip ? 1 : 0;
}

int
pk_ring_peek(struct pk_ring *r, struct pk_ring_frame *f)
{
	size_t tail, head, off;
	struct rec_hdr h;

	tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);	/* see pk_ring_push */
	head = atomic_load_explicit(&r->head, memory_order_acquire);

	for (;;) {
		if (tail == head)
			return -1;
		off = tail & (r->size - 1);
		/* Too little room left for a header: the producer skipped
		 * it without a marker. */
		if (r->size - off < sizeof(h)) {
			tail += r->size - off;
			continue;
		}
		memcpy(&h, r->buf + off, sizeof(h));
		if (h.caplen == RING_SKIP) {
			tail += r->size - off;
			continue;
		}
		break;
	}
	atomic_store_explicit(&r->tail, tail, memory_order_release);
	f->ts_us = h.ts_us;
	f->caplen = h.caplen;
	f->wirelen = h.wirelen;
	f->data = r->buf + off + sizeof(h);
	return 0;
}

void
pk_ring_pop(struct pk_ring *r)
{
	size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	struct rec_hdr h;

	memcpy(&h, r->buf + (tail & (r->size - 1)), sizeof(h));
	atomic_store_explicit(&r->tail, tail + rec_size(h.caplen),
	    memory_order_release);
}
