/*
 * reasm.h - IPv4/IPv6 fragment reassembly for the packet decoder.  Only
 * decode.c may call these functions: it validates the IP header, hands each
 * fragment here and decodes the datagram that comes back complete.
 * Portable (standard C only).
 *
 * Datagrams are keyed by (IP version, src, dst, id, proto) for IPv4 as RFC
 * 791 says; for IPv6 the key is (src, dst, id) and the upper protocol is
 * taken from the offset-zero fragment, because RFC 8200 lets the Next Header
 * of later fragments differ.
 *
 * Bounds: at most cfg->frag_max_datagrams datagrams and cfg->frag_mem_max
 * bytes (datagram bookkeeping plus data buffers) are held.  A fragment that
 * would exceed either bound is dropped with its datagram and counted
 * PK_DE_FRAG_NOMEM: new datagrams lose, held ones keep their place, so a
 * flood cannot flush datagrams already being assembled (it can only keep
 * new ones out, which the counter makes visible).  Incomplete datagrams
 * expire frag_timeout_s after their first fragment (PK_DE_FRAG_TIMEOUT);
 * expiry runs on every fragment and on pk_reasm_expire().  The one
 * completed datagram handed to the decoder (at most 64 KiB, freed at the
 * next pk_reasm_release) is outside the bound.
 *
 * Overlap policy: FIRST FRAGMENT WINS.  Bytes already held are kept; a later
 * fragment only fills holes.  If its bytes in the overlapping range differ
 * from the held ones, PK_DE_FRAG_OVERLAP is counted once for that fragment,
 * but the datagram is still reassembled from the first copy.  Exact
 * duplicates (same bytes) are benign retransmissions and are not counted.
 * Why not drop the whole datagram: overlaps with different bytes are an
 * evasion trick (teardrop-style, or to make an IDS and the target see
 * different payloads).  If we dropped such datagrams, an attacker could
 * blind every detector behind us by adding one conflicting fragment to
 * each attack datagram while the target still reassembles it.  Keeping one
 * interpretation and counting the conflict gives the detectors both the
 * payload and the anomaly.  (Targets differ: Linux and BSD prefer the
 * earlier data for most overlaps, which is the same choice.)
 *
 * Errors, each counted in the decoder's err[] array given to pk_reasm_new:
 *   PK_DE_FRAG_BAD     more-fragments set and length not a multiple of 8,
 *                      empty fragment, data past a known end, or a second
 *                      last fragment with a different end (the datagram is
 *                      dropped in the last two cases: it cannot be made
 *                      consistent).
 *   PK_DE_FRAG_TOOBIG  the fragment would make the datagram longer than
 *                      65535 bytes (ping of death).  The datagram is dropped.
 *                      This also covers "offset + length > 65535".
 *   PK_DE_FRAG_NOMEM   see bounds above.
 *   PK_DE_FRAG_TIMEOUT an incomplete datagram expired.
 *   PK_DE_FRAG_OVERLAP see overlap policy above.
 */
#ifndef PICKET_REASM_H
#define PICKET_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "collectors/pcap/decode.h"

/* Largest IP header the reassembler stores (IPv4 with all options). */
#define PK_REASM_HDR_MAX	60
/* Largest fragmentable part of a datagram, in bytes. */
#define PK_REASM_DATA_MAX	65535u

struct pk_reasm;

struct pk_frag {
	uint8_t		 ipver;		/* 4 or 6 */
	uint8_t		 proto;		/* v4: IP proto; v6: pass 0 (key) */
	uint32_t	 id;		/* v4: 16-bit id; v6: 32-bit id */
	const uint8_t	*src, *dst;	/* 4 or 16 bytes */
	/*
	 * Header placed in front of the reassembled data: for IPv4 the
	 * fragment's own header with options; for IPv6 a 40-byte fixed
	 * header whose Next Header is the fragment header's.  Only the
	 * offset-zero fragment's header is kept.  The reassembler patches
	 * the length and clears the fragment fields.
	 */
	const uint8_t	*hdr;
	uint32_t	 hdrlen;	/* <= PK_REASM_HDR_MAX */
	uint32_t	 max_end;	/* largest legal offset+len */
	uint32_t	 off;		/* byte offset of data */
	uint32_t	 len;		/* data bytes (all captured) */
	int		 more;		/* more-fragments flag */
	const uint8_t	*data;
};

/* cfg must be filled (no zeros); err points to PK_DE__COUNT counters. */
struct pk_reasm *pk_reasm_new(const struct pk_decode_cfg *cfg, uint64_t *err);
void pk_reasm_free(struct pk_reasm *r);

/*
 * Take one fragment at time now_us.  Returns 1 when it completed a
 * datagram: *dgram and *dgramlen then hold the whole datagram (header + data),
 * in a buffer the reassembler owns until pk_reasm_release().  Returns 0
 * when the fragment was held (an overlap may have been counted), -1 when it
 * was refused (one counter incremented).
 */
int pk_reasm_add(struct pk_reasm *r, const struct pk_frag *f, uint64_t now_us,
    const uint8_t **dgram, uint32_t *dgramlen);

/* Free the buffer last returned by pk_reasm_add. */
void pk_reasm_release(struct pk_reasm *r);

/* Drop incomplete datagrams older than the timeout; returns how many. */
uint32_t pk_reasm_expire(struct pk_reasm *r, uint64_t now_us);

/* Datagrams and bytes currently held (for tests and statistics). */
uint32_t pk_reasm_count(const struct pk_reasm *r);
size_t pk_reasm_mem(const struct pk_reasm *r);

#endif
