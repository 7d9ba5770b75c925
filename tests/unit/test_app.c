/*
 * test_app.c - unit tests for collectors/pcap/app.c with real bytes.
 *
 * The TLS and HTTP samples below were captured on loopback on 2026-11-26:
 * `tcpdump -i lo -w lo.pcap` while `openssl s_server -accept
 * 127.0.0.1:44330` answered `openssl s_client -connect 127.0.0.1:44330
 * -servername example.org` (also -tls1_2, and -noservername) and `curl -k
 * --resolve WWW.Example.org:44330:127.0.0.1 https://WWW.Example.org:44330/`,
 * and `python3 -m http.server 48080 --bind 127.0.0.1` answered curl 7.88.1.
 * The first TCP payload of each client (and the server's ServerHello
 * record) was extracted with scapy (rdpcap, Raw.load) and printed as C.
 * DNS messages are built by hand below, byte by byte, with the offsets
 * written next to them, because the interesting ones (loops, forward
 * pointers, overlong names) cannot come from a real resolver.
 *
 * Every valid sample is also fed cut at every length: the parser must
 * not crash and must return an error, or a result that agrees with the
 * whole sample.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/app.h"
#include "common/util.h"

/* ------------------------------------------------------ TLS samples */

/* openssl s_client -servername example.org (317 bytes) */
static const uint8_t tls13_openssl[] = {
	0x16, 0x03, 0x01, 0x01, 0x38, 0x01, 0x00, 0x01, 0x34, 0x03, 0x03, 0xc4,
	0x21, 0x54, 0xb7, 0x60, 0xf4, 0x28, 0x9c, 0x5d, 0xbd, 0x5b, 0x00, 0x46,
	0x42, 0x9e, 0x73, 0x4a, 0x1b, 0x30, 0xf3, 0xf7, 0x19, 0x74, 0x8d, 0x45,
	0xdc, 0xa4, 0x9c, 0x25, 0x68, 0x2f, 0xb3, 0x20, 0xd7, 0x0c, 0x47, 0x54,
	0x2e, 0x3a, 0x30, 0x10, 0xab, 0xd9, 0x78, 0xf0, 0x75, 0xe3, 0x9e, 0xef,
	0xfe, 0x9c, 0x75, 0x4c, 0x54, 0xdd, 0x05, 0x1c, 0x2a, 0x35, 0x0c, 0xb4,
	0x1d, 0xce, 0x8c, 0x6f, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xad,
	0x00, 0x00, 0x00, 0x10, 0x00, 0x0e, 0x00, 0x00, 0x0b, 0x65, 0x78, 0x61,
	0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x0b, 0x00, 0x04,
	0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00, 0x1d,
	0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01, 0x01,
	0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00, 0x16,
	0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28,
	0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09,
	0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01,
	0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02,
	0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03,
	0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00,
	0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x60, 0x1b, 0xe8,
	0xab, 0x7c, 0x77, 0x14, 0x04, 0xc3, 0x93, 0xd3, 0x0d, 0x07, 0x20, 0xb7,
	0x33, 0x4f, 0x56, 0x9f, 0x7e, 0x85, 0x23, 0xfd, 0xca, 0x66, 0xad, 0x3a,
	0x79, 0x57, 0x38, 0x1f, 0x68,
};

/* curl -k https://WWW.Example.org:44330/ (--resolve to 127.0.0.1) (517 bytes) */
static const uint8_t tls_curl[] = {
	0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x40,
	0x4c, 0x54, 0x01, 0x3c, 0xd8, 0xc4, 0x8e, 0x51, 0x47, 0x5e, 0x86, 0xbf,
	0xd2, 0x75, 0x6e, 0xdd, 0x83, 0x94, 0xf7, 0x16, 0x79, 0xb0, 0x9f, 0xd5,
	0x0f, 0x32, 0xe1, 0xfb, 0x06, 0x63, 0xf3, 0x20, 0xed, 0x5e, 0x48, 0x02,
	0x53, 0xb1, 0x7a, 0x54, 0x2c, 0x01, 0xc5, 0xda, 0xd0, 0x81, 0xe7, 0xdd,
	0xd3, 0x9a, 0x0a, 0xe4, 0xf1, 0x35, 0x50, 0xe4, 0x2b, 0x46, 0xab, 0xbb,
	0x50, 0x1b, 0x79, 0x32, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x01, 0x75,
	0x00, 0x00, 0x00, 0x14, 0x00, 0x12, 0x00, 0x00, 0x0f, 0x77, 0x77, 0x77,
	0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67,
	0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16,
	0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18,
	0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x10,
	0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74, 0x70,
	0x2f, 0x31, 0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00,
	0x00, 0x31, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03,
	0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a,
	0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01,
	0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02,
	0x06, 0x02, 0x00, 0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03,
	0x02, 0x03, 0x01, 0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00,
	0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x60, 0x02, 0xe6, 0x3c, 0x5d,
	0x12, 0xa2, 0x01, 0x12, 0xfb, 0x3e, 0x23, 0x64, 0xbc, 0x3a, 0xd2, 0xa0,
	0x47, 0x66, 0x96, 0x14, 0xd2, 0x39, 0xd6, 0x3f, 0x1c, 0x07, 0x84, 0x36,
	0x68, 0xc7, 0x68, 0x00, 0x15, 0x00, 0xae, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00,
};

/* openssl s_client -tls1_2 -servername example.org (208 bytes) */
static const uint8_t tls12_openssl[] = {
	0x16, 0x03, 0x01, 0x00, 0xcb, 0x01, 0x00, 0x00, 0xc7, 0x03, 0x03, 0x95,
	0x49, 0xb5, 0x50, 0xe0, 0xb6, 0x53, 0x7d, 0xdf, 0x85, 0x1a, 0x1e, 0x54,
	0x34, 0x21, 0x0a, 0x34, 0x71, 0xe5, 0x06, 0xc8, 0x71, 0x54, 0x7e, 0x96,
	0xff, 0xef, 0xff, 0x5c, 0x9d, 0x6c, 0xc1, 0x00, 0x00, 0x38, 0xc0, 0x2c,
	0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b,
	0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23,
	0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09,
	0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c,
	0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0x66, 0x00, 0x00,
	0x00, 0x10, 0x00, 0x0e, 0x00, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d, 0x70,
	0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00,
	0x01, 0x02, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a, 0x00, 0x1d, 0x00, 0x17,
	0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x00, 0x23, 0x00, 0x00, 0x00, 0x16,
	0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28,
	0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09,
	0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01,
	0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02,
	0x05, 0x02, 0x06, 0x02,
};

/* openssl s_client -tls1_2 -noservername (188 bytes) */
static const uint8_t tls12_nosni[] = {
	0x16, 0x03, 0x01, 0x00, 0xb7, 0x01, 0x00, 0x00, 0xb3, 0x03, 0x03, 0x53,
	0xed, 0x25, 0x28, 0x27, 0xc4, 0x36, 0xcf, 0xa8, 0x37, 0xa7, 0x5d, 0x24,
	0x41, 0xca, 0x2c, 0x81, 0x9f, 0xbd, 0xb7, 0x68, 0x86, 0x5b, 0xbd, 0x51,
	0xef, 0x89, 0xcc, 0xe2, 0x94, 0xee, 0x9f, 0x00, 0x00, 0x38, 0xc0, 0x2c,
	0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa, 0xc0, 0x2b,
	0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b, 0xc0, 0x23,
	0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39, 0xc0, 0x09,
	0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d, 0x00, 0x3c,
	0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0x52, 0x00, 0x0b,
	0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x0c, 0x00, 0x0a,
	0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x00, 0x23,
	0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00, 0x0d,
	0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08, 0x07,
	0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08, 0x05,
	0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03, 0x01,
	0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02,
};

/* the ServerHello record openssl s_server answered with (127 bytes) */
static const uint8_t tls_server_hello[] = {
	0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00, 0x76, 0x03, 0x03, 0x9a,
	0xe4, 0xb0, 0x6e, 0x65, 0xd6, 0x21, 0xb1, 0xdd, 0x90, 0x54, 0x31, 0xc5,
	0xd2, 0x18, 0x71, 0x36, 0x63, 0x8d, 0xce, 0xe3, 0x3c, 0xba, 0xfe, 0x49,
	0xc3, 0x76, 0x1f, 0xf5, 0x2b, 0xd1, 0xdc, 0x20, 0xd7, 0x0c, 0x47, 0x54,
	0x2e, 0x3a, 0x30, 0x10, 0xab, 0xd9, 0x78, 0xf0, 0x75, 0xe3, 0x9e, 0xef,
	0xfe, 0x9c, 0x75, 0x4c, 0x54, 0xdd, 0x05, 0x1c, 0x2a, 0x35, 0x0c, 0xb4,
	0x1d, 0xce, 0x8c, 0x6f, 0x13, 0x02, 0x00, 0x00, 0x2e, 0x00, 0x2b, 0x00,
	0x02, 0x03, 0x04, 0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, 0x96,
	0x67, 0x27, 0xce, 0xb0, 0x2b, 0xfc, 0xbd, 0x53, 0x54, 0x24, 0x2a, 0xf0,
	0x69, 0xb5, 0xcb, 0xfa, 0xb1, 0x01, 0xd7, 0x75, 0x09, 0x8d, 0x49, 0x0b,
	0x58, 0x03, 0x49, 0xf2, 0x22, 0xed, 0x50,
};

/*
 * curl -H 'Host: Example.ORG:48080' http://127.0.0.1:48080/index.html
 * (91 bytes): "GET /index.html HTTP/1.1\r\nHost: Example.ORG:48080\r\n
 * User-Agent: curl/7.88.1\r\nAccept: * / *\r\n\r\n" (no spaces in the slash)
 */
static const uint8_t http_get_host_port[] = {
	0x47, 0x45, 0x54, 0x20, 0x2f, 0x69, 0x6e, 0x64, 0x65, 0x78, 0x2e, 0x68,
	0x74, 0x6d, 0x6c, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31,
	0x0d, 0x0a, 0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0x45, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x2e, 0x4f, 0x52, 0x47, 0x3a, 0x34, 0x38, 0x30, 0x38,
	0x30, 0x0d, 0x0a, 0x55, 0x73, 0x65, 0x72, 0x2d, 0x41, 0x67, 0x65, 0x6e,
	0x74, 0x3a, 0x20, 0x63, 0x75, 0x72, 0x6c, 0x2f, 0x37, 0x2e, 0x38, 0x38,
	0x2e, 0x31, 0x0d, 0x0a, 0x41, 0x63, 0x63, 0x65, 0x70, 0x74, 0x3a, 0x20,
	0x2a, 0x2f, 0x2a, 0x0d, 0x0a, 0x0d, 0x0a,
};

/* curl http://127.0.0.1:48080/ (79 bytes): "GET / HTTP/1.1\r\n
 * Host: 127.0.0.1:48080\r\nUser-Agent: curl/7.88.1\r\nAccept: ..." */
static const uint8_t http_get_root[] = {
	0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31,
	0x2e, 0x31, 0x0d, 0x0a, 0x48, 0x6f, 0x73, 0x74, 0x3a, 0x20, 0x31, 0x32,
	0x37, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31, 0x3a, 0x34, 0x38, 0x30, 0x38,
	0x30, 0x0d, 0x0a, 0x55, 0x73, 0x65, 0x72, 0x2d, 0x41, 0x67, 0x65, 0x6e,
	0x74, 0x3a, 0x20, 0x63, 0x75, 0x72, 0x6c, 0x2f, 0x37, 0x2e, 0x38, 0x38,
	0x2e, 0x31, 0x0d, 0x0a, 0x41, 0x63, 0x63, 0x65, 0x70, 0x74, 0x3a, 0x20,
	0x2a, 0x2f, 0x2a, 0x0d, 0x0a, 0x0d, 0x0a,
};

/* curl -X POST -d a=1 http://127.0.0.1:48080/x?y=z (156 bytes):
 * "POST /x?y=z HTTP/1.1\r\n", Host, User-Agent, Accept, Content-Length,
 * Content-Type, blank line, then the body "a=1". */
static const uint8_t http_post[] = {
	0x50, 0x4f, 0x53, 0x54, 0x20, 0x2f, 0x78, 0x3f, 0x79, 0x3d, 0x7a, 0x20,
	0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e, 0x31, 0x0d, 0x0a, 0x48, 0x6f,
	0x73, 0x74, 0x3a, 0x20, 0x31, 0x32, 0x37, 0x2e, 0x30, 0x2e, 0x30, 0x2e,
	0x31, 0x3a, 0x34, 0x38, 0x30, 0x38, 0x30, 0x0d, 0x0a, 0x55, 0x73, 0x65,
	0x72, 0x2d, 0x41, 0x67, 0x65, 0x6e, 0x74, 0x3a, 0x20, 0x63, 0x75, 0x72,
	0x6c, 0x2f, 0x37, 0x2e, 0x38, 0x38, 0x2e, 0x31, 0x0d, 0x0a, 0x41, 0x63,
	0x63, 0x65, 0x70, 0x74, 0x3a, 0x20, 0x2a, 0x2f, 0x2a, 0x0d, 0x0a, 0x43,
	0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x4c, 0x65, 0x6e, 0x67, 0x74,
	0x68, 0x3a, 0x20, 0x33, 0x0d, 0x0a, 0x43, 0x6f, 0x6e, 0x74, 0x65, 0x6e,
	0x74, 0x2d, 0x54, 0x79, 0x70, 0x65, 0x3a, 0x20, 0x61, 0x70, 0x70, 0x6c,
	0x69, 0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x2f, 0x78, 0x2d, 0x77, 0x77,
	0x77, 0x2d, 0x66, 0x6f, 0x72, 0x6d, 0x2d, 0x75, 0x72, 0x6c, 0x65, 0x6e,
	0x63, 0x6f, 0x64, 0x65, 0x64, 0x0d, 0x0a, 0x0d, 0x0a, 0x61, 0x3d, 0x31,
};


/* ------------------------------------------------------ DNS builder */

/* A message under construction; offsets matter, so tests note them. */
struct msg {
	uint8_t	b[2048];
	size_t	n;
};

static void
put8(struct msg *m, unsigned v)
{
	assert_true(m->n < sizeof(m->b));
	m->b[m->n++] = (uint8_t)v;
}

static void
put16(struct msg *m, unsigned v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static void
put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

static void
putbytes(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* Uncompressed labels of a dotted name, without the final zero. */
static void
putlabels(struct msg *m, const char *name)
{
	const char *dot;
	size_t l;

	while (*name != '\0') {
		dot = strchr(name, '.');
		l = dot != NULL ? (size_t)(dot - name) : strlen(name);
		put8(m, (unsigned)l);
		putbytes(m, name, l);
		name += l;
		if (*name == '.')
			name++;
	}
}

static void
putname(struct msg *m, const char *name)
{
	putlabels(m, name);
	put8(m, 0);
}

static void
putptr(struct msg *m, unsigned off)
{
	put16(m, 0xc000 | off);
}

static void
header(struct msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

/* Resource record header after the owner name. */
static void
rrhdr(struct msg *m, unsigned type, uint32_t ttl, unsigned rdlen)
{
	put16(m, type);
	put16(m, 1);
	put32(m, ttl);
	put16(m, rdlen);
}

static int
dns(const struct msg *m, struct pk_dns *d)
{
	return pk_dns_parse(m->b, m->n, d);
}

/* ------------------------------------------------------------ DNS */

/* A stub resolver's query: "www.Example.COM" A IN, RD set. */
static void
build_query(struct msg *m)
{
	header(m, 0x1234, 0x0100, 1, 0);
	putname(m, "www.Example.COM");		/* 12..28 */
	put16(m, 1);
	put16(m, 1);
}

/*
 * A compressed response: www.example.com CNAME web.example.com, that A
 * and AAAA.  Offsets: question name at 12 ("www" 12, "example" 16),
 * answer 1 owner is a pointer to 12, its rdata "web" + pointer to 16
 * starts at 45; answers 2 and 3 point at 45.
 */
static void
build_response(struct msg *m)
{
	static const uint8_t v6[16] = {
		0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0x00, 0x01,
		0x02, 0x48, 0x18, 0x93, 0x25, 0xc8, 0x19, 0x46
	};

	header(m, 0xbeef, 0x8180, 1, 3);
	putname(m, "www.example.com");		/* 12..28 */
	put16(m, 1);
	put16(m, 1);				/* 29..32 */
	putptr(m, 12);				/* 33 */
	rrhdr(m, 5, 300, 6);			/* 35..44 */
	assert_int_equal(m->n, 45);
	putlabels(m, "web");			/* 45..48 */
	putptr(m, 16);				/* 49..50 */
	putptr(m, 45);
	rrhdr(m, 1, 60, 4);
	put8(m, 93); put8(m, 184); put8(m, 216); put8(m, 34);
	putptr(m, 45);
	rrhdr(m, 28, 0xffffffffu, 16);
	putbytes(m, v6, sizeof(v6));
}

static void
test_dns_query(void **state)
{
	struct msg m;
	struct pk_dns d;

	(void)state;
	build_query(&m);
	assert_int_equal(dns(&m, &d), 0);
	assert_int_equal(d.id, 0x1234);
	assert_int_equal(d.qr, 0);
	assert_int_equal(d.opcode, 0);
	assert_int_equal(d.rcode, 0);
	assert_int_equal(d.qdcount, 1);
	assert_int_equal(d.nquestions, 1);
	assert_string_equal(d.q[0].name, "www.example.com");
	assert_int_equal(d.q[0].type, 1);
	assert_int_equal(d.q[0].class, 1);
	assert_int_equal(d.nanswers, 0);
}

static void
test_dns_response(void **state)
{
	struct msg m;
	struct pk_dns d;
	char a[PK_ADDRSTRLEN];

	(void)state;
	build_response(&m);
	assert_int_equal(dns(&m, &d), 0);
	assert_int_equal(d.id, 0xbeef);
	assert_int_equal(d.qr, 1);
	assert_int_equal(d.rcode, 0);
	assert_int_equal(d.nquestions, 1);
	assert_string_equal(d.q[0].name, "www.example.com");
	assert_int_equal(d.nanswers, 3);
	assert_string_equal(d.an[0].name, "www.example.com");
	assert_int_equal(d.an[0].type, 5);
	assert_int_equal(d.an[0].ttl, 300);
	assert_string_equal(d.an[0].target, "web.example.com");
	assert_string_equal(d.an[1].name, "web.example.com");
	assert_int_equal(d.an[1].type, 1);
	assert_int_equal(d.an[1].addr.family, 4);
	assert_string_equal(pk_addr_format(&d.an[1].addr, a, sizeof(a)),
	    "93.184.216.34");
	assert_string_equal(d.an[2].name, "web.example.com");
	assert_int_equal(d.an[2].type, 28);
	assert_true(d.an[2].ttl == 0xffffffffu);
	assert_string_equal(pk_addr_format(&d.an[2].addr, a, sizeof(a)),
	    "2606:2800:220:1:248:1893:25c8:1946");
}

static void
test_dns_nxdomain_flags(void **state)
{
	struct msg m;
	struct pk_dns d;

	(void)state;
	/* QR, opcode 2 (status), RCODE 3 (NXDOMAIN). */
	header(&m, 1, 0x8000 | 2 << 11 | 3, 1, 0);
	putname(&m, "nx.example");
	put16(&m, 16);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), 0);
	assert_int_equal(d.qr, 1);
	assert_int_equal(d.opcode, 2);
	assert_int_equal(d.rcode, 3);
	assert_int_equal(d.q[0].type, 16);
	/* The root name prints as "". */
	header(&m, 1, 0, 1, 0);
	put8(&m, 0);
	put16(&m, 2);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), 0);
	assert_string_equal(d.q[0].name, "");
}

static void
test_dns_pointer_loop(void **state)
{
	struct msg m;
	struct pk_dns d;

	(void)state;
	/* A name that is a pointer to itself. */
	header(&m, 1, 0, 1, 0);
	putptr(&m, 12);				/* 12 -> 12 */
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);

	/* "a" then a pointer back to the "a": points backwards from where
	 * it sits, yet loops forever unless jumps must go below the labels
	 * already read. */
	header(&m, 1, 0, 1, 0);
	putlabels(&m, "a");			/* 12..13 */
	putptr(&m, 12);				/* 14 -> 12 */
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);

	/* Two names pointing at each other: q1 "x" + ptr to 17 (q2),
	 * q2 (17) "y" + ptr to 12 (q1).  The second jump goes up. */
	header(&m, 1, 0, 2, 0);
	putlabels(&m, "x");			/* 12..13 */
	putptr(&m, 21);				/* 14: forward! */
	put16(&m, 1);
	put16(&m, 1);				/* 16..19 */
	assert_int_equal(m.n, 20);
	putlabels(&m, "y");			/* 20..21 */
	putptr(&m, 12);
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);
	assert_int_equal(d.nquestions, 0);
}

static void
test_dns_forward_pointer(void **state)
{
	struct msg m;
	struct pk_dns d;

	(void)state;
	/* Question name pointing ahead, at a valid name in the answer. */
	header(&m, 1, 0x8000, 1, 1);
	putptr(&m, 18);				/* 12 -> 18 */
	put16(&m, 1);
	put16(&m, 1);				/* 14..17 */
	putname(&m, "fwd.example");		/* 18 */
	rrhdr(&m, 1, 1, 4);
	put32(&m, 0x01020304);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);

	/* Pointer beyond the end of the message. */
	header(&m, 1, 0, 1, 0);
	putptr(&m, 0x3fff);
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);

	/* Pointer cut in half at the end of the payload. */
	header(&m, 1, 0, 1, 0);
	put8(&m, 0xc0);
	assert_int_equal(dns(&m, &d), PK_APP_ETRUNC);
}

static void
test_dns_pointer_cap(void **state)
{
	struct msg m;
	struct pk_dns d;
	size_t root, prev;
	int i, chain;

	(void)state;
	/*
	 * Answer 1 carries, in its rdata, a root byte followed by a chain of
	 * pointers each pointing at the one before it (all legal, all going
	 * down).  Answer 2's owner points at the last of the chain, which
	 * costs chain + 1 jumps: 32 is the most a name may take.
	 */
	for (chain = PK_DNS_MAX_POINTERS - 1; chain <= PK_DNS_MAX_POINTERS;
	    chain++) {
		header(&m, 1, 0x8000, 0, 2);
		put8(&m, 0);				/* owner: root */
		rrhdr(&m, 16, 0, (unsigned)(1 + 2 * chain));
		root = prev = m.n;
		put8(&m, 0);
		for (i = 0; i < chain; i++) {
			size_t here = m.n;

			putptr(&m, (unsigned)prev);
			prev = here;
		}
		putptr(&m, (unsigned)prev);		/* answer 2 owner */
		rrhdr(&m, 1, 0, 4);
		put32(&m, 0x0a000001);
		(void)root;
		if (chain + 1 <= PK_DNS_MAX_POINTERS) {
			assert_int_equal(dns(&m, &d), 0);
			assert_int_equal(d.nanswers, 2);
			assert_string_equal(d.an[1].name, "");
		} else {
			assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);
			assert_int_equal(d.nanswers, 1);
		}
	}
}

static void
test_dns_long_names(void **state)
{
	char l63[64], l61[62], want[PK_DNS_NAME_MAX + 1], name[300];
	struct msg m;
	struct pk_dns d;

	(void)state;
	memset(l63, 'a', 63);
	l63[63] = '\0';
	memset(l61, 'b', 61);
	l61[61] = '\0';

	/* 3 x 63 + 61: 3*64 + 62 + 1 = 255 bytes on the wire, the most. */
	snprintf(name, sizeof(name), "%s.%s.%s.%s", l63, l63, l63, l61);
	header(&m, 1, 0, 1, 0);
	putname(&m, name);
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), 0);
	assert_int_equal(strlen(d.q[0].name), 253);
	pk_strlcpy(want, name, sizeof(want));
	assert_string_equal(d.q[0].name, want);

	/* One byte more is 256: refused. */
	snprintf(name, sizeof(name), "%s.%s.%s.%sb", l63, l63, l63, l61);
	header(&m, 1, 0, 1, 0);
	putname(&m, name);
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);

	/* Four full labels: 257. */
	snprintf(name, sizeof(name), "%s.%s.%s.%s", l63, l63, l63, l63);
	header(&m, 1, 0, 1, 0);
	putname(&m, name);
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);

	/* The same limit across a pointer: 200 bytes here + 64 there. */
	header(&m, 1, 0, 2, 0);
	putname(&m, l63);			/* 12: 65 bytes */
	put16(&m, 1);
	put16(&m, 1);
	putlabels(&m, l63);
	putlabels(&m, l63);
	putlabels(&m, l63);
	putptr(&m, 12);			/* 3*64 + 64 + 1 = 257 */
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);
	assert_int_equal(d.nquestions, 1);

	/* Label length 64 (top bits 01) and 128 (10) are reserved types. */
	header(&m, 1, 0, 1, 0);
	put8(&m, 64);
	for (int i = 0; i < 64; i++)
		put8(&m, 'a');
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);
	m.b[12] = 0x80;
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);
}

static void
test_dns_escapes(void **state)
{
	static const uint8_t lab[] = { 'A', '.', 'b', ' ', 0xff, '\\', '_',
	    '-', 'Z', '9', '"', 0 };
	struct msg m;
	struct pk_dns d;
	int i;

	(void)state;
	header(&m, 1, 0, 1, 0);
	put8(&m, sizeof(lab));
	putbytes(&m, lab, sizeof(lab));
	putlabels(&m, "COM");
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), 0);
	assert_string_equal(d.q[0].name,
	    "a\\046b\\032\\255\\092_-z9\\034\\000.com");

	/* 255 wire bytes of escapes cannot print in 255 characters. */
	header(&m, 1, 0, 1, 0);
	for (i = 0; i < 4; i++) {
		int k, n = i < 3 ? 63 : 61;

		put8(&m, (unsigned)n);
		for (k = 0; k < n; k++)
			put8(&m, '.');
	}
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);
	/* ...but a few escapes do. */
	header(&m, 1, 0, 1, 0);
	put8(&m, 60);
	for (i = 0; i < 60; i++)
		put8(&m, i < 2 ? '*' : 'x');
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), 0);
	assert_int_equal(strlen(d.q[0].name), 66);
	assert_memory_equal(d.q[0].name, "\\042\\042xx", 10);
}

static void
test_dns_counts(void **state)
{
	struct msg m;
	struct pk_dns d;
	char name[32];
	int i;

	(void)state;
	/* 6 questions, 20 answers: 4 and 16 kept, the rest skipped. */
	header(&m, 7, 0x8180, 6, 20);
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "q%d.example", i);
		putname(&m, name);
		put16(&m, 1);
		put16(&m, 1);
	}
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "a%d.example", i);
		putname(&m, name);
		rrhdr(&m, 1, (uint32_t)i, 4);
		put32(&m, 0x0a000000u | (uint32_t)i);
	}
	assert_int_equal(dns(&m, &d), 0);
	assert_int_equal(d.qdcount, 6);
	assert_int_equal(d.ancount, 20);
	assert_int_equal(d.nquestions, PK_DNS_MAX_QUESTIONS);
	assert_string_equal(d.q[3].name, "q3.example");
	assert_int_equal(d.nanswers, PK_DNS_MAX_ANSWERS);
	assert_string_equal(d.an[0].name, "a0.example");
	assert_string_equal(d.an[15].name, "a15.example");
	assert_int_equal(d.an[15].addr.a[3], 15);

	/* Counts far beyond the payload: the bytes end the loop. */
	header(&m, 7, 0, 0xffff, 0xffff);
	putname(&m, "only.one");
	put16(&m, 1);
	put16(&m, 1);
	assert_int_equal(dns(&m, &d), PK_APP_ETRUNC);
	assert_int_equal(d.nquestions, 1);
	assert_string_equal(d.q[0].name, "only.one");
	header(&m, 7, 0, 0, 0xffff);
	assert_int_equal(dns(&m, &d), PK_APP_ETRUNC);
	assert_int_equal(d.nanswers, 0);
}

static void
test_dns_rdata(void **state)
{
	struct msg m;
	struct pk_dns d;

	(void)state;
	/* A with 5 bytes of rdata. */
	header(&m, 1, 0x8000, 0, 1);
	putname(&m, "a.example");
	rrhdr(&m, 1, 0, 5);
	put32(&m, 0x01020304);
	put8(&m, 5);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);
	/* AAAA with 4. */
	header(&m, 1, 0x8000, 0, 1);
	putname(&m, "a.example");
	rrhdr(&m, 28, 0, 4);
	put32(&m, 0x01020304);
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);
	/* rdlength past the end of the payload. */
	header(&m, 1, 0x8000, 0, 1);
	putname(&m, "a.example");
	rrhdr(&m, 1, 0, 4);
	put16(&m, 0x0102);
	assert_int_equal(dns(&m, &d), PK_APP_ETRUNC);
	/* CNAME whose name runs past its rdlength. */
	header(&m, 1, 0x8000, 0, 2);
	putname(&m, "a.example");
	rrhdr(&m, 5, 0, 3);
	putname(&m, "target.example");
	assert_int_equal(dns(&m, &d), PK_APP_EMALFORMED);
	assert_int_equal(d.nanswers, 0);
	/* NS and PTR targets, one compressed into the other's owner. */
	header(&m, 1, 0x8000, 0, 2);
	putname(&m, "example");			/* 12..20 */
	rrhdr(&m, 2, 0, 6);
	putlabels(&m, "ns1");
	putptr(&m, 12);
	putname(&m, "4.3.2.1.in-addr.arpa");
	rrhdr(&m, 12, 0, 2);
	putptr(&m, 12);
	assert_int_equal(dns(&m, &d), 0);
	assert_string_equal(d.an[0].target, "ns1.example");
	assert_string_equal(d.an[1].name, "4.3.2.1.in-addr.arpa");
	assert_string_equal(d.an[1].target, "example");
	/* A in class CH is not an address: kept, no address. */
	header(&m, 1, 0x8000, 0, 1);
	putname(&m, "a.example");
	put16(&m, 1);
	put16(&m, 3);
	put32(&m, 0);
	put16(&m, 2);
	put16(&m, 0);
	assert_int_equal(dns(&m, &d), 0);
	assert_int_equal(d.an[0].addr.family, 0);
	/* Unknown types are kept with their name only. */
	header(&m, 1, 0x8000, 0, 1);
	putname(&m, "t.example");
	rrhdr(&m, 16, 9, 3);
	putbytes(&m, "\x02hi", 3);
	assert_int_equal(dns(&m, &d), 0);
	assert_int_equal(d.an[0].type, 16);
	assert_string_equal(d.an[0].target, "");
}

/* The kept entries of a cut parse must match the whole parse. */
static void
same_prefix(const struct pk_dns *cut, const struct pk_dns *full)
{
	size_t i;

	assert_true(cut->nquestions <= full->nquestions);
	assert_true(cut->nanswers <= full->nanswers);
	for (i = 0; i < cut->nquestions; i++) {
		assert_string_equal(cut->q[i].name, full->q[i].name);
		assert_int_equal(cut->q[i].type, full->q[i].type);
	}
	for (i = 0; i < cut->nanswers; i++) {
		assert_string_equal(cut->an[i].name, full->an[i].name);
		assert_string_equal(cut->an[i].target, full->an[i].target);
		assert_true(pk_addr_eq(&cut->an[i].addr, &full->an[i].addr));
	}
}

static void
test_dns_truncation(void **state)
{
	struct msg m[2];
	struct pk_dns full, cut;
	uint8_t *copy;
	size_t s, n;

	(void)state;
	build_query(&m[0]);
	build_response(&m[1]);
	for (s = 0; s < 2; s++) {
		assert_int_equal(dns(&m[s], &full), 0);
		for (n = 0; n < m[s].n; n++) {
			/* An exact-size heap copy lets ASan catch overreads. */
			copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, m[s].b, n);
			assert_int_equal(pk_dns_parse(copy, n, &cut),
			    PK_APP_ETRUNC);
			same_prefix(&cut, &full);
			free(copy);
		}
	}
}

/* ------------------------------------------------------------ TLS */

static int
sni(const uint8_t *p, size_t len, char *out)
{
	return pk_tls_sni(p, len, out, PK_SNI_MAX + 1);
}

static void
test_tls_samples(void **state)
{
	char out[PK_SNI_MAX + 1];

	(void)state;
	assert_int_equal(sni(tls13_openssl, sizeof(tls13_openssl), out), 0);
	assert_string_equal(out, "example.org");
	assert_int_equal(sni(tls_curl, sizeof(tls_curl), out), 0);
	assert_string_equal(out, "www.example.org");
	assert_int_equal(sni(tls12_openssl, sizeof(tls12_openssl), out), 0);
	assert_string_equal(out, "example.org");
	/* A hello without the extension: success, empty name. */
	memcpy(out, "stale", 6);
	assert_int_equal(sni(tls12_nosni, sizeof(tls12_nosni), out), 0);
	assert_string_equal(out, "");
	/* Not a ClientHello at all. */
	assert_int_equal(sni(tls_server_hello, sizeof(tls_server_hello), out),
	    PK_APP_ENOTMINE);
	assert_int_equal(sni(http_get_root, sizeof(http_get_root), out),
	    PK_APP_ENOTMINE);
}

static void
test_tls_not_mine(void **state)
{
	uint8_t b[sizeof(tls13_openssl)];
	char out[PK_SNI_MAX + 1];
	/* SSLv2-compatible ClientHello header. */
	static const uint8_t v2[] = { 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00 };

	(void)state;
	assert_int_equal(sni(v2, sizeof(v2), out), PK_APP_ENOTMINE);
	memcpy(b, tls13_openssl, sizeof(b));
	b[0] = 23;		/* application data */
	assert_int_equal(sni(b, sizeof(b), out), PK_APP_ENOTMINE);
	memcpy(b, tls13_openssl, sizeof(b));
	b[1] = 2;		/* record version 2.x */
	assert_int_equal(sni(b, sizeof(b), out), PK_APP_ENOTMINE);
	memcpy(b, tls13_openssl, sizeof(b));
	b[5] = 2;		/* ServerHello type */
	assert_int_equal(sni(b, sizeof(b), out), PK_APP_ENOTMINE);
}

/* Uppercase in the hello is lowercased; one bad byte makes it MALFORMED. */
static void
test_tls_sni_bytes(void **state)
{
	uint8_t b[sizeof(tls13_openssl)];
	char out[PK_SNI_MAX + 1];
	size_t at;

	(void)state;
	for (at = 0; at + 11 <= sizeof(b); at++)
		if (memcmp(tls13_openssl + at, "example.org", 11) == 0)
			break;
	assert_true(at + 11 <= sizeof(b));
	memcpy(b, tls13_openssl, sizeof(b));
	memcpy(b + at, "ExAmPlE.ORG", 11);
	assert_int_equal(sni(b, sizeof(b), out), 0);
	assert_string_equal(out, "example.org");
	b[at + 3] = 0x01;
	assert_int_equal(sni(b, sizeof(b), out), PK_APP_EMALFORMED);
	assert_string_equal(out, "");
	b[at + 3] = ' ';
	assert_int_equal(sni(b, sizeof(b), out), PK_APP_EMALFORMED);
	b[at + 3] = 0xc3;
	assert_int_equal(sni(b, sizeof(b), out), PK_APP_EMALFORMED);
	b[at + 3] = 'm';
	b[at + 10] = '.';	/* trailing dot */
	assert_int_equal(sni(b, sizeof(b), out), PK_APP_EMALFORMED);
	b[at + 10] = 'g';
	b[at] = '.';		/* leading dot */
	assert_int_equal(sni(b, sizeof(b), out), PK_APP_EMALFORMED);
	/* Too small an output buffer is refused, not overrun. */
	assert_int_equal(pk_tls_sni(tls13_openssl, sizeof(tls13_openssl), out,
	    11), PK_APP_EMALFORMED);
	assert_int_equal(pk_tls_sni(tls13_openssl, sizeof(tls13_openssl), out,
	    12), 0);
	assert_int_equal(pk_tls_sni(tls13_openssl, sizeof(tls13_openssl), out,
	    0), PK_APP_EMALFORMED);
}

/*
 * The real hello's handshake message re-framed as two records: the first
 * 100 bytes of the message in one, the rest in a second.  The name lies
 * in the second record, so the answer is "cut", not a guess.
 */
static void
test_tls_split_record(void **state)
{
	uint8_t b[sizeof(tls13_openssl) + 5];
	const uint8_t *hs = tls13_openssl + 5;
	size_t hslen = sizeof(tls13_openssl) - 5, first = 100, n = 0;
	char out[PK_SNI_MAX + 1];

	(void)state;
	b[n++] = 22; b[n++] = 3; b[n++] = 1;
	b[n++] = (uint8_t)(first >> 8); b[n++] = (uint8_t)first;
	memcpy(b + n, hs, first);
	n += first;
	b[n++] = 22; b[n++] = 3; b[n++] = 1;
	b[n++] = (uint8_t)((hslen - first) >> 8);
	b[n++] = (uint8_t)(hslen - first);
	memcpy(b + n, hs + first, hslen - first);
	n += hslen - first;
	assert_int_equal(n, sizeof(b));
	assert_int_equal(sni(b, n, out), PK_APP_ETRUNC);
	/* Split after the name: the first record already has it. */
	first = 200;
	b[3] = (uint8_t)(first >> 8);
	b[4] = (uint8_t)first;
	memcpy(b + 5, hs, first);
	b[5 + first] = 22;
	assert_int_equal(sni(b, sizeof(b), out), 0);
	assert_string_equal(out, "example.org");
}

/* A minimal ClientHello around a given server_name extension body. */
static size_t
build_hello(uint8_t *b, size_t cap, const uint8_t *ext, size_t elen,
    unsigned sidlen)
{
	struct msg m;
	size_t hs, i;

	m.n = 0;
	put8(&m, 22); put16(&m, 0x0301); put16(&m, 0);	/* record, len later */
	put8(&m, 1); put8(&m, 0); put16(&m, 0);	/* hello, len later */
	hs = m.n;
	put16(&m, 0x0303);
	for (i = 0; i < 32; i++)
		put8(&m, (unsigned)i);
	put8(&m, sidlen);
	for (i = 0; i < sidlen; i++)
		put8(&m, 0xaa);
	put16(&m, 4); put16(&m, 0x1301); put16(&m, 0xc02f);
	put8(&m, 1); put8(&m, 0);
	put16(&m, (unsigned)(4 + 5 + 4 + elen));
	put16(&m, 0xff01); put16(&m, 1); put8(&m, 0);	/* reneg info */
	put16(&m, 0x0a0a); put16(&m, 0);		/* GREASE, empty */
	put16(&m, 0); put16(&m, (unsigned)elen);
	putbytes(&m, ext, elen);
	m.b[3] = (uint8_t)((m.n - 5) >> 8);
	m.b[4] = (uint8_t)(m.n - 5);
	m.b[7] = (uint8_t)((m.n - hs) >> 8);
	m.b[8] = (uint8_t)(m.n - hs);
	assert_true(m.n <= cap);
	memcpy(b, m.b, m.n);
	return m.n;
}

/* server_name body with one entry of the given type. */
static size_t
sni_ext(uint8_t *e, unsigned type, const char *name, size_t n)
{
	e[0] = (uint8_t)((n + 3) >> 8);
	e[1] = (uint8_t)(n + 3);
	e[2] = (uint8_t)type;
	e[3] = (uint8_t)(n >> 8);
	e[4] = (uint8_t)n;
	memcpy(e + 5, name, n);
	return n + 5;
}

static int
hello_sni(const char *name, size_t n, char *out)
{
	uint8_t e[600], b[1024];
	size_t el = sni_ext(e, 0, name, n);

	return sni(b, build_hello(b, sizeof(b), e, el, 32), out);
}

static void
test_tls_hostnames(void **state)
{
	char out[PK_SNI_MAX + 1], name[300];

	(void)state;
	assert_int_equal(hello_sni("a.b", 3, out), 0);
	assert_string_equal(out, "a.b");
	assert_int_equal(hello_sni("X_Y-1.Example", 13, out), 0);
	assert_string_equal(out, "x_y-1.example");
	assert_int_equal(hello_sni("192.0.2.1", 9, out), 0);
	assert_int_equal(hello_sni("", 0, out), PK_APP_EMALFORMED);
	assert_int_equal(hello_sni("a..b", 4, out), PK_APP_EMALFORMED);
	assert_int_equal(hello_sni(".a", 2, out), PK_APP_EMALFORMED);
	assert_int_equal(hello_sni("a.", 2, out), PK_APP_EMALFORMED);
	assert_int_equal(hello_sni("a\0b", 3, out), PK_APP_EMALFORMED);
	assert_int_equal(hello_sni("a\nb", 3, out), PK_APP_EMALFORMED);
	assert_int_equal(hello_sni("a/b", 3, out), PK_APP_EMALFORMED);
	assert_int_equal(hello_sni("a:443", 5, out), PK_APP_EMALFORMED);
	assert_int_equal(hello_sni("[::1]", 5, out), PK_APP_EMALFORMED);
	assert_int_equal(hello_sni("caf\xc3\xa9.fr", 8, out),
	    PK_APP_EMALFORMED);
	/* Label length 63 ok, 64 not. */
	memset(name, 'a', 64);
	assert_int_equal(hello_sni(name, 63, out), 0);
	assert_int_equal(strlen(out), 63);
	assert_int_equal(hello_sni(name, 64, out), PK_APP_EMALFORMED);
	/* 255 bytes ok, 256 not. */
	memset(name, 'a', sizeof(name));
	for (int i = 50; i < 250; i += 51)
		name[i] = '.';
	assert_int_equal(hello_sni(name, 255, out), 0);
	assert_int_equal(strlen(out), 255);
	assert_int_equal(hello_sni(name, 256, out), PK_APP_EMALFORMED);
}

static void
test_tls_lengths(void **state)
{
	uint8_t e[64], b[1024];
	char out[PK_SNI_MAX + 1];
	size_t el, n;

	(void)state;
	/* Only a non-host_name entry: a hello without a host name. */
	el = sni_ext(e, 7, "abc", 3);
	n = build_hello(b, sizeof(b), e, el, 0);
	assert_int_equal(sni(b, n, out), 0);
	assert_string_equal(out, "");
	/* Session id of 33 bytes. */
	el = sni_ext(e, 0, "abc", 3);
	n = build_hello(b, sizeof(b), e, el, 33);
	assert_int_equal(sni(b, n, out), PK_APP_EMALFORMED);
	/* Entry length beyond its list. */
	el = sni_ext(e, 0, "abc", 3);
	e[4] = 9;
	n = build_hello(b, sizeof(b), e, el, 0);
	assert_int_equal(sni(b, n, out), PK_APP_EMALFORMED);
	/* List length beyond the extension. */
	el = sni_ext(e, 0, "abc", 3);
	e[1] = 40;
	n = build_hello(b, sizeof(b), e, el, 0);
	assert_int_equal(sni(b, n, out), PK_APP_EMALFORMED);
	/* Handshake length shorter than its contents: the hello we hold is
	 * whole, so running off it is a lie, not a cut. */
	el = sni_ext(e, 0, "abc", 3);
	n = build_hello(b, sizeof(b), e, el, 0);
	b[8] = (uint8_t)(b[8] - 10);
	assert_int_equal(sni(b, n, out), PK_APP_EMALFORMED);
	/* Extension length larger than the extensions block. */
	n = build_hello(b, sizeof(b), e, el, 0);
	b[n - el - 1] = 0xff;
	assert_int_equal(sni(b, n, out), PK_APP_EMALFORMED);
	/* Record length 0, and over 2^14 + 2048. */
	n = build_hello(b, sizeof(b), e, el, 0);
	b[3] = 0;
	b[4] = 0;
	assert_int_equal(sni(b, n, out), PK_APP_EMALFORMED);
	b[3] = 0x50;
	assert_int_equal(sni(b, n, out), PK_APP_EMALFORMED);
	/* Odd cipher suite length. */
	n = build_hello(b, sizeof(b), e, el, 0);
	b[9 + 2 + 32 + 1 + 1] = 3;
	assert_int_equal(sni(b, n, out), PK_APP_EMALFORMED);
}

static void
check_tls_cuts(const uint8_t *s, size_t len, const char *want)
{
	char out[PK_SNI_MAX + 1];
	uint8_t *copy;
	size_t n;
	int rc;

	for (n = 0; n < len; n++) {
		copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, s, n);
		rc = sni(copy, n, out);
		/* Either "cut", or the name was already all there. */
		if (rc == 0)
			assert_string_equal(out, want);
		else {
			if (rc != PK_APP_ETRUNC)
				fail_msg("cut at %lu: rc %d", (unsigned long)n, rc);
			assert_string_equal(out, "");
		}
		free(copy);
	}
}

static void
test_tls_truncation(void **state)
{
	(void)state;
	check_tls_cuts(tls13_openssl, sizeof(tls13_openssl), "example.org");
	check_tls_cuts(tls_curl, sizeof(tls_curl), "www.example.org");
	check_tls_cuts(tls12_openssl, sizeof(tls12_openssl), "example.org");
	check_tls_cuts(tls12_nosni, sizeof(tls12_nosni), "");
}

/* ----------------------------------------------------------- HTTP */

static int
http(const char *s, struct pk_http_req *r)
{
	return pk_http_request((const uint8_t *)s, strlen(s), r);
}

static void
test_http_samples(void **state)
{
	struct pk_http_req r;

	(void)state;
	assert_int_equal(pk_http_request(http_get_host_port,
	    sizeof(http_get_host_port), &r), 0);
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.uri, "/index.html");
	assert_string_equal(r.host, "example.org");
	assert_string_equal(r.user_agent, "curl/7.88.1");
	assert_int_equal(r.version_minor, 1);
	assert_int_equal(r.uri_cut, 0);

	assert_int_equal(pk_http_request(http_get_root, sizeof(http_get_root),
	    &r), 0);
	assert_string_equal(r.uri, "/");
	assert_string_equal(r.host, "127.0.0.1");

	assert_int_equal(pk_http_request(http_post, sizeof(http_post), &r), 0);
	assert_string_equal(r.method, "POST");
	assert_string_equal(r.uri, "/x?y=z");
	assert_string_equal(r.host, "127.0.0.1");
	assert_string_equal(r.user_agent, "curl/7.88.1");

	/* A TLS hello is not HTTP. */
	assert_int_equal(pk_http_request(tls13_openssl, sizeof(tls13_openssl),
	    &r), PK_APP_ENOTMINE);
}

static void
test_http_methods(void **state)
{
	static const char *const ok[] = {
		"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT",
		"TRACE", "PATCH", "PROPFIND", "SEARCH", "M-SEARCH", "MKCOL",
	};
	struct pk_http_req r;
	char req[128];
	size_t i;

	(void)state;
	for (i = 0; i < PK_NELEM(ok); i++) {
		snprintf(req, sizeof(req), "%s * HTTP/1.0\r\n\r\n", ok[i]);
		assert_int_equal(http(req, &r), 0);
		assert_string_equal(r.method, ok[i]);
		assert_string_equal(r.uri, "*");
		assert_int_equal(r.version_minor, 0);
	}
	/* Not HTTP. */
	assert_int_equal(http("get / HTTP/1.1\r\n\r\n", &r), PK_APP_ENOTMINE);
	assert_int_equal(http("GETS / HTTP/1.1\r\n\r\n", &r),
	    PK_APP_ENOTMINE);
	assert_int_equal(http("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &r),
	    PK_APP_ENOTMINE);
	assert_int_equal(http("SSH-2.0-OpenSSH_9.2\r\n", &r), PK_APP_ENOTMINE);
	assert_int_equal(http(" GET / HTTP/1.1\r\n\r\n", &r), PK_APP_ENOTMINE);
	assert_int_equal(http("GET\t/ HTTP/1.1\r\n\r\n", &r), PK_APP_ENOTMINE);
	/* Too short to tell. */
	assert_int_equal(http("", &r), PK_APP_ETRUNC);
	assert_int_equal(http("GE", &r), PK_APP_ETRUNC);
	assert_int_equal(http("GET", &r), PK_APP_ETRUNC);
	assert_int_equal(http("M-SEA", &r), PK_APP_ETRUNC);
	/* A method, then not an HTTP/1.x request line. */
	assert_int_equal(http("GET / HTTP/2.0\r\n\r\n", &r),
	    PK_APP_EMALFORMED);
	assert_int_equal(http("GET /\r\n", &r), PK_APP_EMALFORMED);
	assert_int_equal(http("GET  / HTTP/1.1\r\n\r\n", &r),
	    PK_APP_EMALFORMED);
	assert_int_equal(http("GET / HTTP/1.1 \r\n\r\n", &r),
	    PK_APP_EMALFORMED);
	assert_int_equal(http("GET / HTTP/1.x\r\n\r\n", &r),
	    PK_APP_EMALFORMED);
	assert_int_equal(http("GET / http/1.1\r\n\r\n", &r),
	    PK_APP_EMALFORMED);
	assert_int_equal(http("GET / HTTP/1.11\r\n\r\n", &r),
	    PK_APP_EMALFORMED);
	assert_int_equal(http("GET /\x01 HTTP/1.1\r\n\r\n", &r),
	    PK_APP_EMALFORMED);
	assert_int_equal(http("GET /\x01", &r), PK_APP_EMALFORMED);
	assert_int_equal(http("GET \r\n\r\n", &r), PK_APP_EMALFORMED);
}

static void
check_host(const char *value, const char *want)
{
	struct pk_http_req r;
	char req[512];

	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost:%s\r\n\r\n",
	    value);
	assert_int_equal(http(req, &r), 0);
	if (strcmp(r.host, want) != 0)
		fail_msg("Host \"%s\" -> \"%s\", want \"%s\"", value, r.host,
		    want);
}

static void
test_http_host(void **state)
{
	struct pk_http_req r;

	(void)state;
	check_host(" example.com", "example.com");
	check_host("example.com", "example.com");
	check_host(" \tExample.COM \t", "example.com");
	check_host(" example.com:8080", "example.com");
	check_host(" example.com:", "example.com");
	check_host(" 10.1.2.3:80", "10.1.2.3");
	check_host(" [::1]:8080", "[::1]");
	check_host(" [2001:DB8::1]", "[2001:db8::1]");
	check_host(" [::ffff:1.2.3.4]:443", "[::ffff:1.2.3.4]");
	check_host(" x_y-z.example.", "x_y-z.example.");
	/* Refused: left empty rather than half right. */
	check_host(" exa mple.com", "");
	check_host(" example.com:80x", "");
	check_host(" example.com:123456", "");
	check_host(" example.com:80:80", "");
	check_host(" [::1", "");
	check_host(" []:80", "");
	check_host(" [::1]x", "");
	check_host(" [example.com]", "");
	check_host(" ex]ample", "");
	check_host(" :80", "");
	check_host(" ex\x01" "ample", "");
	check_host(" caf\xc3\xa9.fr", "");
	check_host(" ", "");
	check_host("", "");

	/* Header name case and first-one-wins. */
	assert_int_equal(http("GET / HTTP/1.1\r\nHOST: a.example\r\n"
	    "host: b.example\r\n\r\n", &r), 0);
	assert_string_equal(r.host, "a.example");
	/* A bad first Host does not hide a good second one. */
	assert_int_equal(http("GET / HTTP/1.1\r\nHost: a b\r\n"
	    "Host: b.example\r\n\r\n", &r), 0);
	assert_string_equal(r.host, "b.example");
	/* Not "Host" even though it starts so. */
	assert_int_equal(http("GET / HTTP/1.1\r\nHostile: a.example\r\n"
	    "X-Host: b.example\r\n\r\n", &r), 0);
	assert_string_equal(r.host, "");
	/* Too long. */
	{
		char req[600], h[300];

		memset(h, 'a', sizeof(h));
		h[PK_HTTP_HOST_MAX] = '\0';
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n"
		    "\r\n", h);
		assert_int_equal(http(req, &r), 0);
		assert_string_equal(r.host, h);
		h[PK_HTTP_HOST_MAX] = 'a';
		h[PK_HTTP_HOST_MAX + 1] = '\0';
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n"
		    "\r\n", h);
		assert_int_equal(http(req, &r), 0);
		assert_string_equal(r.host, "");
	}
}

static void
test_http_fields(void **state)
{
	struct pk_http_req r;
	char req[4096], uri[2100], ua[400];

	(void)state;
	/* Bare LF line ends, odd but seen from scripts and malware. */
	assert_int_equal(http("GET /a HTTP/1.0\nHost: h.example\n"
	    "User-Agent:  Mozilla/4.0 (compatible; MSIE 6.0)  \n\n", &r), 0);
	assert_string_equal(r.host, "h.example");
	assert_string_equal(r.user_agent, "Mozilla/4.0 (compatible; MSIE 6.0)");
	assert_int_equal(r.version_minor, 0);

	/* Code Red II style URI: long, kept up to the cap. */
	memset(uri, 'X', sizeof(uri));
	memcpy(uri, "/default.ida?", 13);
	uri[2000] = '\0';
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", uri);
	assert_int_equal(http(req, &r), 0);
	assert_int_equal(r.uri_cut, 1);
	assert_int_equal(strlen(r.uri), PK_HTTP_URI_MAX);
	assert_memory_equal(r.uri, uri, PK_HTTP_URI_MAX);
	uri[PK_HTTP_URI_MAX] = '\0';
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", uri);
	assert_int_equal(http(req, &r), 0);
	assert_int_equal(r.uri_cut, 0);
	assert_string_equal(r.uri, uri);

	/* User-Agent cut at its cap. */
	memset(ua, 'u', sizeof(ua));
	ua[sizeof(ua) - 1] = '\0';
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nuser-agent: %s\r\n\r\n",
	    ua);
	assert_int_equal(http(req, &r), 0);
	assert_int_equal(strlen(r.user_agent), PK_HTTP_UA_MAX);

	/* Headers not finished: ETRUNC, with every whole line used and the
	 * cut one ignored. */
	assert_int_equal(http("GET / HTTP/1.1\r\nHost: h.example\r\n"
	    "User-Agent: cu", &r), PK_APP_ETRUNC);
	assert_string_equal(r.uri, "/");
	assert_string_equal(r.host, "h.example");
	assert_string_equal(r.user_agent, "");
	assert_int_equal(http("GET / HTTP/1.1\r\nHost: h.exa", &r),
	    PK_APP_ETRUNC);
	assert_string_equal(r.host, "");
	/* Lines without a colon are tolerated. */
	assert_int_equal(http("GET / HTTP/1.1\r\njunk\r\nHost: h\r\n\r\n",
	    &r), 0);
	assert_string_equal(r.host, "h");
	/* Whatever follows the blank line is the body, not headers. */
	assert_int_equal(http("POST / HTTP/1.1\r\n\r\nHost: h\r\n\r\n", &r),
	    0);
	assert_string_equal(r.host, "");
}

static void
check_http_cuts(const uint8_t *s, size_t len)
{
	struct pk_http_req full, cut;
	uint8_t *copy;
	size_t n;
	int rc;

	assert_int_equal(pk_http_request(s, len, &full), 0);
	for (n = 0; n < len; n++) {
		copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, s, n);
		rc = pk_http_request(copy, n, &cut);
		if (rc != 0 && rc != PK_APP_ETRUNC)
			fail_msg("cut at %lu: rc %d", (unsigned long)n, rc);
		/* Every field is either missing or right. */
		if (cut.method[0] != '\0')
			assert_string_equal(cut.method, full.method);
		if (cut.uri[0] != '\0')
			assert_string_equal(cut.uri, full.uri);
		if (cut.host[0] != '\0')
			assert_string_equal(cut.host, full.host);
		if (cut.user_agent[0] != '\0')
			assert_string_equal(cut.user_agent, full.user_agent);
		/* Success needs the blank line, so only a body can be cut. */
		if (rc == 0)
			assert_string_equal(cut.host, full.host);
		free(copy);
	}
}

static void
test_http_truncation(void **state)
{
	(void)state;
	check_http_cuts(http_get_host_port, sizeof(http_get_host_port));
	check_http_cuts(http_get_root, sizeof(http_get_root));
	check_http_cuts(http_post, sizeof(http_post));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_query),
		cmocka_unit_test(test_dns_response),
		cmocka_unit_test(test_dns_nxdomain_flags),
		cmocka_unit_test(test_dns_pointer_loop),
		cmocka_unit_test(test_dns_forward_pointer),
		cmocka_unit_test(test_dns_pointer_cap),
		cmocka_unit_test(test_dns_long_names),
		cmocka_unit_test(test_dns_escapes),
		cmocka_unit_test(test_dns_counts),
		cmocka_unit_test(test_dns_rdata),
		cmocka_unit_test(test_dns_truncation),
		cmocka_unit_test(test_tls_samples),
		cmocka_unit_test(test_tls_not_mine),
		cmocka_unit_test(test_tls_sni_bytes),
		cmocka_unit_test(test_tls_split_record),
		cmocka_unit_test(test_tls_hostnames),
		cmocka_unit_test(test_tls_lengths),
		cmocka_unit_test(test_tls_truncation),
		cmocka_unit_test(test_http_samples),
		cmocka_unit_test(test_http_methods),
		cmocka_unit_test(test_http_host),
		cmocka_unit_test(test_http_fields),
		cmocka_unit_test(test_http_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
