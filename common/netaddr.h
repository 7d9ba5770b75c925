/*
 * netaddr.h - IPv4/IPv6 addresses and CIDR sets, parsed and printed without
 * the platform's socket headers so the portable core builds anywhere.
 * IPv4 addresses are stored in a[0..3] with family 4; the rest is zero.
 */
#ifndef PICKET_NETADDR_H
#define PICKET_NETADDR_H

#include <stddef.h>
#include <stdint.h>

struct pk_addr {
	uint8_t family;		/* 4 or 6; 0 = unset */
	uint8_t a[16];
};

#define PK_ADDRSTRLEN 46

struct pk_cidr {
	struct pk_addr net;	/* host bits cleared */
	uint8_t plen;
};

#define PK_CIDRSET_MAX 64
struct pk_cidrset {
	size_t n;
	struct pk_cidr c[PK_CIDRSET_MAX];
};

int pk_addr_parse(const char *s, struct pk_addr *out);	/* 0 / -1 */
/* Canonical text (RFC 5952 for IPv6).  Returns out. */
char *pk_addr_format(const struct pk_addr *a, char *out, size_t len);
int pk_addr_cmp(const struct pk_addr *x, const struct pk_addr *y);
int pk_addr_eq(const struct pk_addr *x, const struct pk_addr *y);
void pk_addr_v4(struct pk_addr *out, const uint8_t b[4]);
void pk_addr_v6(struct pk_addr *out, const uint8_t b[16]);
uint64_t pk_addr_hash(const struct pk_addr *a, uint64_t seed);

/* "10.0.0.0/8", "2001:db8::/32", or a bare address (full-length prefix). */
int pk_cidr_parse(const char *s, struct pk_cidr *out);
int pk_cidr_contains(const struct pk_cidr *c, const struct pk_addr *a);
/*
 * Comma/space separated list of CIDRs.  On error returns -1 and writes a
 * message naming the bad element into err.
 */
int pk_cidrset_parse(const char *s, struct pk_cidrset *out, char *err,
    size_t errlen);
int pk_cidrset_contains(const struct pk_cidrset *set, const struct pk_addr *a);
/* Normalised text "a/n,b/m" for printing configuration. */
void pk_cidrset_format(const struct pk_cidrset *set, char *out, size_t len);

#endif
