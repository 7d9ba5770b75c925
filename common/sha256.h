/*
 * sha256.h - SHA-256 (FIPS 180-4) in portable C, so that hashing
 * executables needs no crypto library: the eBPF collector digests the
 * programs it sees (collectors/ebpf/hash_linux.c) and the Windows agent
 * those ETW reports (hash_win32.c), while OpenSSL stays confined to
 * transport/tls.c.  Any file may
 * call it; a context is plain memory, one per thread, with no setup to race.
 */
#ifndef PICKET_SHA256_H
#define PICKET_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define PK_SHA256_LEN	32
#define PK_SHA256_BLOCK	64

/* Opaque in spirit: callers only pass it to the functions below. */
struct pk_sha256 {
	uint32_t	 h[8];			/* chaining value */
	uint64_t	 nbytes;		/* message length so far */
	uint8_t		 buf[PK_SHA256_BLOCK];	/* partial block */
	size_t		 nbuf;			/* bytes in buf, < 64 */
};

void pk_sha256_init(struct pk_sha256 *c);
/* Adds len bytes; pieces of any size give the digest of their concatenation. */
void pk_sha256_update(struct pk_sha256 *c, const void *data, size_t len);
/* Writes the digest; the context is spent, init it again to reuse it. */
void pk_sha256_final(struct pk_sha256 *c, uint8_t out[32]);
/* The digest of one buffer. */
void pk_sha256(const void *data, size_t len, uint8_t out[32]);

#endif
