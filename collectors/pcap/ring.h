/*
 * ring.h - a single-producer, single-consumer ring of captured frames.
 *
 * A capture thread pushes each frame (header and bytes, copied) and the
 * engine's thread pops them.  A push that does not fit drops the frame
 * and counts it (the agent's own drops, reported beside the kernel's);
 * the live capture asks pk_ring_fits first and waits for room instead
 * (capture.c), so frames are dropped where it costs nothing: the kernel.
 * Records are variable-sized and never wrap: a record that does not fit
 * before the end of the buffer is preceded by a skip marker.  Lock-free
 * with C11 atomics; portable.
 */
#ifndef PICKET_RING_H
#define PICKET_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct pk_ring_frame {
	uint64_t	 ts_us;
	uint32_t	 caplen;
	uint32_t	 wirelen;
	const uint8_t	*data;
};

struct pk_ring {
	uint8_t			*buf;
	size_t			 size;		/* bytes, power of two */
	_Atomic size_t		 head;		/* producer: next write */
	_Atomic size_t		 tail;		/* consumer: next read */
	_Atomic uint64_t	 pushed, dropped, dropped_bytes;
};

/* size is rounded up to a power of two, at least 64 KiB. */
int pk_ring_init(struct pk_ring *r, size_t size);
void pk_ring_destroy(struct pk_ring *r);
/*
 * Producer: copy one frame in.  Returns 1 if the ring was empty before
 * (the consumer may be asleep: wake it), 0 if not, -1 if it was full and
 * the frame was dropped (counted).
 */
int pk_ring_push(struct pk_ring *r, uint64_t ts_us, const uint8_t *data,
    uint32_t caplen, uint32_t wirelen);
/*
 * Producer: 1 if a frame of caplen bytes would be taken now (or can never
 * be: larger than half the ring, which push drops and counts), 0 if the
 * consumer must make room first.
 */
int pk_ring_fits(struct pk_ring *r, uint32_t caplen);
/* Consumer: look at the oldest frame (0) or learn the ring is empty (-1). */
int pk_ring_peek(struct pk_ring *r, struct pk_ring_frame *f);
/* Consumer: release the frame peek returned. */
void pk_ring_pop(struct pk_ring *r);

#endif
