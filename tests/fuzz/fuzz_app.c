/*
 * fuzz_app.c - libFuzzer target for the application-layer parsers in
 * collectors/pcap/app.c.  Each input goes whole to the DNS, TLS and HTTP
 * parsers (the engine also hands them payloads that are not theirs), and
 * the outputs are checked for what callers rely on: a known return code,
 * NUL-terminated strings inside their arrays, printable names, counts
 * within the arrays.  Any broken promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/pcap/app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_rc(int rc)
{
	if (rc != 0 && rc != PK_APP_EMALFORMED && rc != PK_APP_ENOTMINE &&
	    rc != PK_APP_ETRUNC)
		abort();
}

/* NUL inside cap bytes, and (if names) only name characters before it. */
static void
check_str(const char *s, size_t cap, int name)
{
	const char *nul = memchr(s, '\0', cap);
	const char *p;

	if (nul == NULL)
		abort();
	for (p = s; name && p < nul; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || (c >= 'A' && c <= 'Z'))
			abort();
	}
}

static void
fuzz_dns(const uint8_t *data, size_t size)
{
	struct pk_dns d;
	size_t i;
	int rc = pk_dns_parse(data, size, &d);

	check_rc(rc);
	if (rc == PK_APP_ENOTMINE)
		abort();	/* the DNS parser never says that */
	if (d.nquestions > PK_DNS_MAX_QUESTIONS ||
	    d.nanswers > PK_DNS_MAX_ANSWERS ||
	    d.nquestions > d.qdcount || d.nanswers > d.ancount)
		abort();
	for (i = 0; i < d.nquestions; i++)
		check_str(d.q[i].name, sizeof(d.q[i].name), 1);
	for (i = 0; i < d.nanswers; i++) {
		check_str(d.an[i].name, sizeof(d.an[i].name), 1);
		check_str(d.an[i].target, sizeof(d.an[i].target), 1);
		if (d.an[i].addr.family != 0 && d.an[i].addr.family != 4 &&
		    d.an[i].addr.family != 6)
			abort();
	}
}

static void
fuzz_tls(const uint8_t *data, size_t size)
{
	char out[PK_SNI_MAX + 1 + 8];
	int rc;

	/* Canary bytes after the size we declare. */
	memset(out, 0x5a, sizeof(out));
	rc = pk_tls_sni(data, size, out, PK_SNI_MAX + 1);
	check_rc(rc);
	check_str(out, PK_SNI_MAX + 1, 1);
	if (rc != 0 && out[0] != '\0')
		abort();
	for (size_t i = PK_SNI_MAX + 1; i < sizeof(out); i++)
		if (out[i] != 0x5a)
			abort();
}

static void
fuzz_http(const uint8_t *data, size_t size)
{
	struct pk_http_req r;
	int rc = pk_http_request(data, size, &r);

	check_rc(rc);
	check_str(r.method, sizeof(r.method), 0);
	check_str(r.uri, sizeof(r.uri), 0);
	check_str(r.host, sizeof(r.host), 0);
	check_str(r.user_agent, sizeof(r.user_agent), 0);
	if (rc == 0 && (r.method[0] == '\0' || r.uri[0] == '\0'))
		abort();
	if (r.version_minor > 9 || r.uri_cut > 1)
		abort();
	/* Host is lowercase and has no spaces. */
	for (const char *p = r.host; *p; p++)
		if (*p <= ' ' || (*p >= 'A' && *p <= 'Z'))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy so ASan sees any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);

	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	fuzz_dns(copy, size);
	fuzz_tls(copy, size);
	fuzz_http(copy, size);
	free(copy);
	return 0;
}
