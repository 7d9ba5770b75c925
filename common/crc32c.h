/*
 * crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum iSCSI, ext4 and SCTP use, in portable C.  The spool frames its
 * records with it (transport/spool.c); any file may call it.  Software
 * table only: the spool's cost is the disk, not the checksum.
 */
#ifndef PICKET_CRC32C_H
#define PICKET_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * CRC-32C of len bytes, continuing from crc: pass 0 to start, and the
 * previous result to checksum data given in pieces, so
 * pk_crc32c(pk_crc32c(0, a, n), b, m) equals the CRC of a followed by b.
 */
uint32_t pk_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
