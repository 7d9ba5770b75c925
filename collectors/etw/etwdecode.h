/*
 * etwdecode.h - decode the user data of the ETW events the Windows process
 * collector subscribes to (Microsoft-Windows-Kernel-Process ProcessStart and
 * ProcessStop, Microsoft-Windows-Kernel-Network TCP connect and accept for
 * IPv4 and IPv6) into the struct pk_pev the eBPF collector produces
 * (collectors/ebpf/evdecode.h), so the process table and the detections see
 * one event shape on both systems.  Portable C with no Windows header: it
 * parses the providers' documented manifest layouts, so the unit test and
 * the fuzzer run it on recorded bytes anywhere.  Called by the Windows
 * session (etw_win32.c) for every record it drains, and by tests.
 *
 * Every length is checked against the record; a record that is short, of
 * an unknown provider, event or version, or whose strings are malformed is
 * refused with its own reason, never read past.
 */
#ifndef PICKET_ETW_ETWDECODE_H
#define PICKET_ETW_ETWDECODE_H

#include <stddef.h>
#include <stdint.h>

#include "collectors/ebpf/evdecode.h"

/*
 * Provider GUIDs as 16 bytes in the GUID structure's memory order
 * (Data1, Data2, Data3 little-endian, then Data4), which is what a
 * Windows EVENT_RECORD holds: the session copies its ProviderId as is.
 */
extern const uint8_t pk_etw_guid_kernel_process[16];	/* {22FB2CD6-...} */
extern const uint8_t pk_etw_guid_kernel_network[16];	/* {7DD42A49-...} */

/* Event ids in the providers' manifests. */
#define PK_ETW_PROCESS_START	1
#define PK_ETW_PROCESS_STOP	2
#define PK_ETW_TCP4_CONNECT	12	/* TCPv4: connection attempted */
#define PK_ETW_TCP4_ACCEPT	15	/* TCPv4: connection accepted */
#define PK_ETW_TCP6_CONNECT	28
#define PK_ETW_TCP6_ACCEPT	31

/* Keywords the session enables (manifest values). */
#define PK_ETW_KW_PROCESS	0x10ULL	/* WINEVENT_KEYWORD_PROCESS */
#define PK_ETW_KW_NET_IPV4	0x10ULL	/* KERNEL_NETWORK_KEYWORD_IPV4 */
#define PK_ETW_KW_NET_IPV6	0x20ULL	/* KERNEL_NETWORK_KEYWORD_IPV6 */

enum pk_etw_err {
	PK_ETW_OK = 0,
	PK_ETW_EPROVIDER = -1,	/* not a provider this decoder knows */
	PK_ETW_EEVENT = -2,	/* event id not decoded for the provider */
	PK_ETW_EVERSION = -3,	/* event version whose layout is unknown */
	PK_ETW_EPTRSIZE = -4,	/* pointer size neither 4 nor 8 */
	PK_ETW_ESHORT = -5,	/* shorter than the fixed fields */
	PK_ETW_EUNTERM = -6,	/* string without its NUL in the record */
	PK_ETW_EODD = -7,	/* UTF-16 string ends in half a unit */
	PK_ETW_ESID = -8,	/* malformed SID (MandatoryLabel) */
	PK_ETW_EARG = -9,	/* caller error: NULL data, no path buffer */
	PK_ETW__NERR = 10
};

/* Decoder flags beside the event (pk_etw_decode's *flags). */
#define PK_ETW_F_NTDEVICE	0x01	/* path is \Device\...: caller maps it */
#define PK_ETW_F_REPLACED	0x02	/* bad UTF-16 replaced by U+FFFD */
#define PK_ETW_F_TRUNC		0x04	/* path cut to the caller's buffer */
#define PK_ETW_F_INBOUND	0x08	/* connect: accepted, not initiated */

/* One record as the session hands it over. */
struct pk_etw_rec {
	uint8_t		 provider[16];	/* EVENT_HEADER.ProviderId bytes */
	uint16_t	 id;		/* EVENT_DESCRIPTOR.Id */
	uint8_t		 version;	/* EVENT_DESCRIPTOR.Version */
	uint8_t		 ptrsize;	/* 4 or 8: EVENT_HEADER_FLAG_32/64_BIT */
	uint64_t	 ts_ns;		/* the caller's clock, copied to ts_ns */
	const void	*data;		/* UserData */
	size_t		 len;		/* UserDataLength */
};

/*
 * Decode rec into *out.  An exec's path (UTF-8, no NUL inside, NUL after
 * path_len) is written into path[0..pathcap); out's string pointers point
 * there or at static empty strings, valid while path is.  *flags (may be
 * NULL) gets PK_ETW_F_*.  Returns PK_ETW_OK or a negative enum pk_etw_err.
 */
int pk_etw_decode(const struct pk_etw_rec *rec, struct pk_pev *out,
    char *path, size_t pathcap, unsigned *flags);
const char *pk_etw_strerror(int err);

/*
 * The top-level field names the decoder assumes for (provider, id,
 * version), in manifest order, comma-separated ("ProcessID,CreateTime,..."),
 * or NULL if it does not decode that event.  The Windows session compares
 * them with what TDH reads from the manifest installed on the host.
 */
const char *pk_etw_layout(const uint8_t provider[16], uint16_t id,
    uint8_t version);

/*
 * UTF-16LE (n bytes, stops at a NUL unit) to UTF-8 in out[0..cap), always
 * NUL-terminated when cap > 0, cut at a character boundary; unpaired
 * surrogates become U+FFFD.  Returns the bytes written (no NUL) and ORs
 * PK_ETW_F_REPLACED / PK_ETW_F_TRUNC into *flags.
 */
size_t pk_etw_utf16_to_utf8(const uint8_t *s, size_t n, char *out,
    size_t cap, unsigned *flags);

#endif
