/*
 * sha256.c - SHA-256 written from FIPS 180-4 sections 4.1.2, 4.2.2, 5.1.1,
 * 5.3.3 and 6.2 (see sha256.h).  Plain C with no OS headers so that the
 * Windows build shares it.  The 64 rounds run eight at a time with the
 * working variables renamed rather than moved, and the message schedule
 * is a 16-word window, which keeps it within reach of OpenSSL's generic
 * code without any assembly; executables are hashed once per file and
 * cached, so this is enough.
 */
#include <string.h>

#include "common/sha256.h"

/* 4.2.2: the first 32 bits of the fractional parts of the cube roots of
 * the first 64 primes. */
static const uint32_t K[64] = {
	0x428a2f98U, 0x71374491U, 0xb5c0fbcfU, 0xe9b5dba5U,
	0x3956c25bU, 0x59f111f1U, 0x923f82a4U, 0xab1c5ed5U,
	0xd807aa98U, 0x12835b01U, 0x243185beU, 0x550c7dc3U,
	0x72be5d74U, 0x80deb1feU, 0x9bdc06a7U, 0xc19bf174U,
	0xe49b69c1U, 0xefbe4786U, 0x0fc19dc6U, 0x240ca1ccU,
	0x2de92c6fU, 0x4a7484aaU, 0x5cb0a9dcU, 0x76f988daU,
	0x983e5152U, 0xa831c66dU, 0xb00327c8U, 0xbf597fc7U,
	0xc6e00bf3U, 0xd5a79147U, 0x06ca6351U, 0x14292967U,
	0x27b70a85U, 0x2e1b2138U, 0x4d2c6dfcU, 0x53380d13U,
	0x650a7354U, 0x766a0abbU, 0x81c2c92eU, 0x92722c85U,
	0xa2bfe8a1U, 0xa81a664bU, 0xc24b8b70U, 0xc76c51a3U,
	0xd192e819U, 0xd6990624U, 0xf40e3585U, 0x106aa070U,
	0x19a4c116U, 0x1e376c08U, 0x2748774cU, 0x34b0bcb5U,
	0x391c0cb3U, 0x4ed8aa4aU, 0x5b9cca4fU, 0x682e6ff3U,
	0x748f82eeU, 0x78a5636fU, 0x84c87814U, 0x8cc70208U,
	0x90befffaU, 0xa4506cebU, 0xbef9a3f7U, 0xc67178f2U,
};

/* 5.3.3: the first 32 bits of the fractional parts of the square roots of
 * the first 8 primes. */
static const uint32_t H0[8] = {
	0x6a09e667U, 0xbb67ae85U, 0x3c6ef372U, 0xa54ff53aU,
	0x510e527fU, 0x9b05688cU, 0x1f83d9abU, 0x5be0cd19U,
};

/* 3.2 and 4.1.2.  Compilers turn these into single rotate instructions. */
#define ROTR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z)	(((x) & ((y) ^ (z))) ^ (z))
#define MAJ(x, y, z)	(((x) & (y)) | ((z) & ((x) | (y))))
#define BSIG0(x)	(ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x)	(ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x)	(ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x)	(ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

/* Big-endian loads and stores byte by byte: no alignment or host-order
 * assumptions, and compilers recognise the pattern as a bswap. */
static uint32_t
load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * One round of 6.2.2 step 3, with the eight working variables named by
 * position instead of shifted: the caller rotates the argument list, so
 * only d and h change here.  W is W[t] already computed.
 */
#define ROUND(a, b, c, d, e, f, g, h, k, w) do {			\
	uint32_t t1_ = (h) + BSIG1(e) + CH(e, f, g) + (k) + (w);	\
	(d) += t1_;							\
	(h) = t1_ + BSIG0(a) + MAJ(a, b, c);				\
} while (0)

/* 6.2.2 step 1 for t >= 16, on a 16-word window: W[t] replaces W[t-16]. */
#define SCHED(w, t)	((w)[(t) & 15] += SSIG1((w)[((t) - 2) & 15]) +	\
	(w)[((t) - 7) & 15] + SSIG0((w)[((t) - 15) & 15]))

/* Eight rounds starting at t (a multiple of 8); sched says whether W[t..]
 * must be expanded first (t >= 16) or is the message itself. */
#define EIGHT(t, sched) do {						\
	if (sched) {							\
		SCHED(w, (t) + 0); SCHED(w, (t) + 1);			\
		SCHED(w, (t) + 2); SCHED(w, (t) + 3);			\
		SCHED(w, (t) + 4); SCHED(w, (t) + 5);			\
		SCHED(w, (t) + 6); SCHED(w, (t) + 7);			\
	}								\
	ROUND(a, b, c, d, e, f, g, h, K[(t) + 0], w[((t) + 0) & 15]);	\
	ROUND(h, a, b, c, d, e, f, g, K[(t) + 1], w[((t) + 1) & 15]);	\
	ROUND(g, h, a, b, c, d, e, f, K[(t) + 2], w[((t) + 2) & 15]);	\
	ROUND(f, g, h, a, b, c, d, e, K[(t) + 3], w[((t) + 3) & 15]);	\
	ROUND(e, f, g, h, a, b, c, d, K[(t) + 4], w[((t) + 4) & 15]);	\
	ROUND(d, e, f, g, h, a, b, c, K[(t) + 5], w[((t) + 5) & 15]);	\
	ROUND(c, d, e, f, g, h, a, b, K[(t) + 6], w[((t) + 6) & 15]);	\
	ROUND(b, c, d, e, f, g, h, a, K[(t) + 7], w[((t) + 7) & 15]);	\
} while (0)

/* 6.2.2 for n consecutive 64-byte blocks. */
static void
compress(uint32_t st[8], const uint8_t *p, size_t n)
{
	uint32_t w[16], a, b, c, d, e, f, g, h;
	int t;

	for (; n > 0; n--, p += PK_SHA256_BLOCK) {
		for (t = 0; t < 16; t++)
			w[t] = load_be32(p + 4 * t);
		a = st[0]; b = st[1]; c = st[2]; d = st[3];
		e = st[4]; f = st[5]; g = st[6]; h = st[7];
		EIGHT(0, 0);
		EIGHT(8, 0);
		EIGHT(16, 1);
		EIGHT(24, 1);
		EIGHT(32, 1);
		EIGHT(40, 1);
		EIGHT(48, 1);
		EIGHT(56, 1);
		st[0] += a; st[1] += b; st[2] += c; st[3] += d;
		st[4] += e; st[5] += f; st[6] += g; st[7] += h;
	}
}

void
pk_sha256_init(struct pk_sha256 *c)
{
	memcpy(c->h, H0, sizeof(c->h));
	c->nbytes = 0;
	c->nbuf = 0;
}

void
pk_sha256_update(struct pk_sha256 *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t take, nblk;

	if (len == 0)
		return;		/* data may be NULL then */
	c->nbytes += len;
	if (c->nbuf > 0) {
		take = PK_SHA256_BLOCK - c->nbuf;
		if (take > len)
			take = len;
		memcpy(c->buf + c->nbuf, p, take);
		c->nbuf += take;
		p += take;
		len -= take;
		if (c->nbuf < PK_SHA256_BLOCK)
			return;
		compress(c->h, c->buf, 1);
		c->nbuf = 0;
	}
	/* Whole blocks straight from the caller's memory: no copy. */
	nblk = len / PK_SHA256_BLOCK;
	if (nblk > 0) {
		compress(c->h, p, nblk);
		p += nblk * PK_SHA256_BLOCK;
		len -= nblk * PK_SHA256_BLOCK;
	}
	if (len > 0) {
		memcpy(c->buf, p, len);
		c->nbuf = len;
	}
}

/*
 * 5.1.1: a 1 bit, zeros up to 56 bytes into the last block (a block of its
 * own when fewer than 9 bytes remain), then the length in bits as a 64-bit
 * big-endian number.
 */
void
pk_sha256_final(struct pk_sha256 *c, uint8_t out[32])
{
	uint64_t bits = c->nbytes * 8;
	int i;

	c->buf[c->nbuf++] = 0x80;
	if (c->nbuf > PK_SHA256_BLOCK - 8) {
		memset(c->buf + c->nbuf, 0, PK_SHA256_BLOCK - c->nbuf);
		compress(c->h, c->buf, 1);
		c->nbuf = 0;
	}
	memset(c->buf + c->nbuf, 0, PK_SHA256_BLOCK - 8 - c->nbuf);
	store_be32(c->buf + 56, (uint32_t)(bits >> 32));
	store_be32(c->buf + 60, (uint32_t)bits);
	compress(c->h, c->buf, 1);
	for (i = 0; i < 8; i++)
		store_be32(out + 4 * i, c->h[i]);
}

void
pk_sha256(const void *data, size_t len, uint8_t out[32])
{
	struct pk_sha256 c;

	pk_sha256_init(&c);
	pk_sha256_update(&c, data, len);
	pk_sha256_final(&c, out);
}
