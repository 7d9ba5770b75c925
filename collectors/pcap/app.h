/*
 * app.h - the few application-layer fields the detectors need: DNS
 * questions and answers, the TLS ClientHello server name, and the HTTP/1.x
 * request line and Host header.  Each parser takes a transport payload,
 * never reads outside it, bounds every loop, and returns 0 on success or a
 * negative PK_APP_E* code.  Portable; called by the engine and fuzz targets.
 */
#ifndef PICKET_APP_H
#define PICKET_APP_H

#include <stddef.h>
#include <stdint.h>

#include "common/netaddr.h"

#define PK_APP_EMALFORMED	-1	/* bytes are not what they claim */
#define PK_APP_ENOTMINE		-2	/* not this protocol (not an error) */
#define PK_APP_ETRUNC		-3	/* cut short (payload ends early) */

#define PK_DNS_NAME_MAX		255	/* presentation form, no final dot */
#define PK_DNS_MAX_QUESTIONS	4
#define PK_DNS_MAX_ANSWERS	16
#define PK_DNS_MAX_POINTERS	32	/* compression jumps per name */

struct pk_dns_rr {
	char		 name[PK_DNS_NAME_MAX + 1];
	uint16_t	 type;		/* 1 A, 28 AAAA, 5 CNAME, ... */
	uint32_t	 ttl;
	struct pk_addr	 addr;		/* A / AAAA */
	char		 target[PK_DNS_NAME_MAX + 1]; /* CNAME/NS/PTR */
};

struct pk_dns {
	uint16_t	 id;
	uint8_t		 qr;		/* 0 query, 1 response */
	uint8_t		 opcode;
	uint8_t		 rcode;
	uint16_t	 qdcount, ancount;
	size_t		 nquestions;
	struct {
		char	 name[PK_DNS_NAME_MAX + 1];
		uint16_t type, class;
	} q[PK_DNS_MAX_QUESTIONS];
	size_t		 nanswers;	/* kept (<= PK_DNS_MAX_ANSWERS) */
	struct pk_dns_rr an[PK_DNS_MAX_ANSWERS];
};

/*
 * DNS message (UDP payload; for TCP, the caller strips the 2-byte length).
 * Names are lowercased, labels joined by '.', bytes outside [-_a-z0-9]
 * escaped as \DDD so names are always printable.
 */
int pk_dns_parse(const uint8_t *p, size_t len, struct pk_dns *out);

#define PK_SNI_MAX 255
/* TLS ClientHello server_name (host_name type).  ENOTMINE if not a hello. */
int pk_tls_sni(const uint8_t *p, size_t len, char *out, size_t outlen);

#define PK_HTTP_METHOD_MAX	16
#define PK_HTTP_URI_MAX		1024
#define PK_HTTP_HOST_MAX	255
#define PK_HTTP_UA_MAX		256
struct pk_http_req {
	char	method[PK_HTTP_METHOD_MAX + 1];
	char	uri[PK_HTTP_URI_MAX + 1];	/* cut if longer, see uri_cut */
	char	host[PK_HTTP_HOST_MAX + 1];	/* lowercased, port removed */
	char	user_agent[PK_HTTP_UA_MAX + 1];
	uint8_t	version_minor;			/* HTTP/1.x */
	uint8_t	uri_cut;
};
/* Request line and headers from the start of a client payload. */
int pk_http_request(const uint8_t *p, size_t len, struct pk_http_req *out);

#endif
