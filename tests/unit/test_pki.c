/*
 * test_pki.c - transport/pki.c, the certificates behind enrollment
 * (docs/enrollment.md): a P-256 key and its CSR round-trip and name the
 * same agent id; a CSR whose signature was tampered with, a P-384 or RSA
 * CSR, garbage and two CSRs in one are refused; the CA made by
 * pk_pki_ca_create signs agent and hub certificates that the openssl
 * command line verifies for the right purpose (clientAuth, serverAuth with
 * the hub's name and address); the agent id is the SHA-256 of the SPKI as
 * `openssl pkey -pubin -outform DER | openssl dgst -sha256` computes it
 * and survives writing and reading the key; files are made 0600 / 0644
 * and never overwritten.  Needs the openssl command line; Linux only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport/pki.h"

struct fx {
	char	dir[64];
	char	crt[128], key[128];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[PK_PKI_ERRLEN];

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_pki.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->crt, sizeof(f->crt), "%s/ca.crt", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/ca.key", f->dir);
	if (pk_pki_ca_create("Test Member CA", 30, f->crt, f->key, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "ca_create: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Run a shell command; its first output line in out (may be NULL). */
static int
sh(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	FILE *p;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (out != NULL) {
		out[0] = '\0';
		if (fgets(out, (int)cap, p) != NULL)
			out[strcspn(out, "\r\n")] = '\0';
	}
	while (fgetc(p) != EOF)
		;
	rc = pclose(p);
	return rc;
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	size_t n;

	if (fp == NULL)
		return NULL;
	buf = calloc(1, PK_PKI_PEM_MAX + 1);
	n = fread(buf, 1, PK_PKI_PEM_MAX, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static void
put(const char *path, const char *s)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fputs(s, fp) >= 0, 1);
	fclose(fp);
}

static void
test_key_csr_round_trip(void **state)
{
	char err[PK_PKI_ERRLEN], id1[PK_PKI_ID_LEN + 1], id2[PK_PKI_ID_LEN + 1];
	char spki[PK_PKI_SPKI_HEX + 1];
	struct pk_pki_key *k;
	struct pk_pki_csr *c;
	char *pem;
	size_t i;

	(void)state;
	assert_non_null(k = pk_pki_key_new(err, sizeof(err)));
	assert_non_null(pem = pk_pki_csr_make(k, "whatever-the-agent-says",
	    err, sizeof(err)));
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----"));
	c = pk_pki_csr_parse(pem, strlen(pem), err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(pk_pki_key_id(k, id1, sizeof(id1)), 0);
	assert_int_equal(pk_pki_csr_id(c, id2, sizeof(id2)), 0);
	assert_string_equal(id1, id2);
	assert_int_equal(strlen(id1), PK_PKI_ID_LEN);
	assert_memory_equal(id1, "a-", 2);
	for (i = 2; i < PK_PKI_ID_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", id1[i]));
	/* The id is the head of the full SPKI hash. */
	assert_int_equal(pk_pki_csr_spki_hex(c, spki, sizeof(spki)), 0);
	assert_memory_equal(spki, id1 + 2, PK_PKI_ID_HEX);
	/* Too small a buffer is refused, never overrun. */
	assert_int_equal(pk_pki_key_id(k, id2, PK_PKI_ID_LEN), -1);
	pk_pki_csr_free(c);
	free(pem);
	pk_pki_key_free(k);
}

/* ---- base64 for the tampering test */

static const char b64a[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
b64dec(const char *in, uint8_t *out)
{
	uint32_t v = 0;
	size_t n = 0;
	int bits = 0;
	const char *p;

	for (; *in != '\0'; in++) {
		if (*in == '=' || (p = strchr(b64a, *in)) == NULL)
			continue;
		v = v << 6 | (uint32_t)(p - b64a);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(v >> bits);
		}
	}
	return n;
}

static void
b64enc(const uint8_t *in, size_t n, char *out)
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64a[v >> 18 & 63];
		out[o++] = b64a[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64a[v & 63] : '=';
		if (o % 65 == 64)
			out[o++] = '\n';
	}
	out[o] = '\0';
}

/* Flip one bit of the last byte of the DER: the signature's s value. */
static char *
tamper(const char *pem, uint8_t mask)
{
	static const char b[] = "-----BEGIN CERTIFICATE REQUEST-----\n";
	static const char e[] = "-----END CERTIFICATE REQUEST-----";
	uint8_t der[4096];
	char body[8192], *out, *body_in;
	const char *end;
	size_t n;

	end = strstr(pem, e);
	body_in = strndup(pem + strlen(b), (size_t)(end - pem) - strlen(b));
	n = b64dec(body_in, der);
	free(body_in);
	der[n - 1] ^= mask;
	b64enc(der, n, body);
	out = malloc(strlen(body) + 128);
	snprintf(out, strlen(body) + 128, "%s%s\n%s\n", b, body, e);
	return out;
}

static void
test_tampered_csr_refused(void **state)
{
	char err[PK_PKI_ERRLEN];
	struct pk_pki_key *k;
	struct pk_pki_csr *c;
	char *pem, *bad;

	(void)state;
	assert_non_null(k = pk_pki_key_new(err, sizeof(err)));
	assert_non_null(pem = pk_pki_csr_make(k, "x", err, sizeof(err)));
	/* Re-encoded unchanged it parses: the flipped bit is the test. */
	bad = tamper(pem, 0);
	c = pk_pki_csr_parse(bad, strlen(bad), err, sizeof(err));
	assert_non_null(c);
	pk_pki_csr_free(c);
	free(bad);
	bad = tamper(pem, 0x01);
	c = pk_pki_csr_parse(bad, strlen(bad), err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, "CSR: signature does not verify");
	free(bad);
	free(pem);
	pk_pki_key_free(k);
}

static void
test_garbage_refused(void **state)
{
	char err[PK_PKI_ERRLEN], *two;
	struct pk_pki_key *k;
	char *pem;
	size_t n;

	(void)state;
	assert_null(pk_pki_csr_parse("", 0, err, sizeof(err)));
	assert_null(pk_pki_csr_parse("hello", 5, err, sizeof(err)));
	assert_non_null(strstr(err, "want a PEM"));
	assert_null(pk_pki_csr_parse("-----BEGIN CERTIFICATE REQUEST-----\n"
	    "AAAA\n-----END CERTIFICATE REQUEST-----\n", 76, err,
	    sizeof(err)));
	assert_non_null(k = pk_pki_key_new(err, sizeof(err)));
	assert_non_null(pem = pk_pki_csr_make(k, "x", err, sizeof(err)));
	n = strlen(pem);
	two = malloc(2 * n + 1);
	memcpy(two, pem, n);
	memcpy(two + n, pem, n + 1);
	assert_null(pk_pki_csr_parse(two, 2 * n, err, sizeof(err)));
	assert_string_equal(err, "CSR: more than one request");
	/* Over the size cap: refused before parsing. */
	assert_null(pk_pki_csr_parse(pem, PK_PKI_PEM_MAX + 1, err,
	    sizeof(err)));
	free(two);
	free(pem);
	pk_pki_key_free(k);
}

static void
test_non_p256_refused(void **state)
{
	struct fx *f = *state;
	char err[PK_PKI_ERRLEN], path[160], *pem;
	static const char *const opts[] = {
		"-newkey ec -pkeyopt ec_paramgen_curve:P-384",
		"-newkey rsa:2048",
		"-newkey ed25519",
	};
	static const char *const want[] = {
		"EC key on curve secp384r1, want P-256",
		"key is rsaEncryption, want EC P-256",
		"key is ED25519, want EC P-256",
	};
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/other%zu.csr", f->dir, i);
		assert_int_equal(sh(NULL, 0, "openssl req -new %s -nodes "
		    "-keyout %s.key -subj /CN=other -out %s 2>/dev/null",
		    opts[i], path, path), 0);
		assert_non_null(pem = slurp(path));
		assert_null(pk_pki_csr_parse(pem, strlen(pem), err,
		    sizeof(err)));
		assert_string_equal(err, want[i]);
		free(pem);
	}
	/* A P-256 CSR from the command line is taken. */
	snprintf(path, sizeof(path), "%s/p256.csr", f->dir);
	assert_int_equal(sh(NULL, 0, "openssl req -new -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout %s.key -subj /CN=o "
	    "-out %s 2>/dev/null", path, path), 0);
	assert_non_null(pem = slurp(path));
	struct pk_pki_csr *c = pk_pki_csr_parse(pem, strlen(pem), err,
	    sizeof(err));
	assert_non_null(c);
	pk_pki_csr_free(c);
	free(pem);
}

static void
test_sign_agent_and_hub(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = { "hub.example", "localhost", NULL };
	static const char *const ips[] = { "127.0.0.1", "::1", NULL };
	char err[PK_PKI_ERRLEN], id[PK_PKI_ID_LEN + 1], cn[80];
	char cid[PK_PKI_ID_LEN + 1], path[160], out[256];
	struct pk_pki_issued is;
	struct pk_pki_key *k;
	struct pk_pki_csr *c;
	struct pk_pki_ca *ca;
	struct stat sb;
	char *pem;

	assert_non_null(ca = pk_pki_ca_load(f->crt, f->key, err,
	    sizeof(err)));
	assert_int_equal(stat(f->key, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(f->crt, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);

	assert_non_null(k = pk_pki_key_new(err, sizeof(err)));
	assert_int_equal(pk_pki_key_id(k, id, sizeof(id)), 0);
	assert_non_null(pem = pk_pki_csr_make(k, "ignored", err, sizeof(err)));
	assert_non_null(c = pk_pki_csr_parse(pem, strlen(pem), err,
	    sizeof(err)));
	free(pem);
	assert_int_equal(pk_pki_ca_sign_agent(ca, c, id, 397, &is, err,
	    sizeof(err)), 0);
	assert_int_equal(strlen(is.serial), PK_PKI_SERIAL_HEX);
	assert_true(is.not_after_us - is.not_before_us >
	    (int64_t)397 * 86400 * 1000000);
	assert_int_equal(pk_pki_cert_pem_ids(is.pem, strlen(is.pem), cn,
	    sizeof(cn), cid, sizeof(cid), err, sizeof(err)), 0);
	assert_string_equal(cn, id);
	assert_string_equal(cid, id);
	snprintf(path, sizeof(path), "%s/agent.crt", f->dir);
	put(path, is.pem);
	/* openssl agrees: chains to the CA, fit for a TLS client ... */
	assert_int_equal(sh(out, sizeof(out), "openssl verify -CAfile %s "
	    "-purpose sslclient %s 2>&1", f->crt, path), 0);
	/* ... and not for a server. */
	assert_int_not_equal(sh(NULL, 0, "openssl verify -CAfile %s -purpose "
	    "sslserver %s >/dev/null 2>&1", f->crt, path), 0);
	/* The serial is the one we were told. */
	assert_int_equal(sh(out, sizeof(out), "openssl x509 -in %s -noout "
	    "-serial", path), 0);
	assert_int_equal(strcasecmp(out + strlen("serial="), is.serial), 0);
	free(is.pem);
	pk_pki_csr_free(c);

	/* A hub certificate with names and addresses. */
	assert_int_equal(pk_pki_ca_sign_server(ca, k, names, ips, 30, &is,
	    err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/hub.crt", f->dir);
	put(path, is.pem);
	free(is.pem);
	assert_int_equal(sh(NULL, 0, "openssl verify -CAfile %s -purpose "
	    "sslserver -verify_hostname localhost %s >/dev/null 2>&1", f->crt,
	    path), 0);
	assert_int_equal(sh(NULL, 0, "openssl verify -CAfile %s -purpose "
	    "sslserver -verify_ip ::1 %s >/dev/null 2>&1", f->crt, path), 0);
	assert_int_not_equal(sh(NULL, 0, "openssl verify -CAfile %s -purpose "
	    "sslserver -verify_hostname other.example %s >/dev/null 2>&1",
	    f->crt, path), 0);
	/* No names at all, or a comma (SAN syntax injection): refused. */
	assert_int_equal(pk_pki_ca_sign_server(ca, k, NULL, NULL, 30, &is,
	    err, sizeof(err)), -1);
	static const char *const evil[] = { "a.example,IP:10.0.0.1", NULL };
	assert_int_equal(pk_pki_ca_sign_server(ca, k, evil, NULL, 30, &is,
	    err, sizeof(err)), -1);
	assert_null(is.pem);
	pk_pki_key_free(k);
	pk_pki_ca_free(ca);
}

/* Sign an agent certificate for k valid days into path. */
static void
issue_to(struct pk_pki_ca *ca, struct pk_pki_key *k, const char *cn,
    unsigned days, const char *path)
{
	char err[PK_PKI_ERRLEN], *pem;
	struct pk_pki_issued is;
	struct pk_pki_csr *c;

	assert_non_null(pem = pk_pki_csr_make(k, "x", err, sizeof(err)));
	assert_non_null(c = pk_pki_csr_parse(pem, strlen(pem), err,
	    sizeof(err)));
	free(pem);
	assert_int_equal(pk_pki_ca_sign_agent(ca, c, cn, days, &is, err,
	    sizeof(err)), 0);
	put(path, is.pem);
	free(is.pem);
	pk_pki_csr_free(c);
}

/* The supervisor's check of a renewed certificate: each wrong one is
 * refused and removed, the installed one is left alone; a right one
 * replaces it. */
static void
test_cert_install(void **state)
{
	struct fx *f = *state;
	char err[PK_PKI_ERRLEN], id[PK_PKI_ID_LEN + 1], crt[160], key[160];
	char nw[160], other_dir[120], other_crt[160], other_key[160];
	char *before, *after, big[PK_PKI_PEM_MAX + 64];
	struct pk_pki_certinfo ci, old;
	struct pk_pki_key *k, *k2;
	struct pk_pki_ca *ca, *ca2;
	struct stat sb;

	assert_non_null(ca = pk_pki_ca_load(f->crt, f->key, err,
	    sizeof(err)));
	snprintf(crt, sizeof(crt), "%s/agent.crt", f->dir);
	snprintf(key, sizeof(key), "%s/agent.key", f->dir);
	snprintf(nw, sizeof(nw), "%s/renewed.crt", f->dir);
	assert_non_null(k = pk_pki_key_new(err, sizeof(err)));
	assert_int_equal(pk_pki_key_write(k, key, err, sizeof(err)), 0);
	assert_int_equal(pk_pki_key_id(k, id, sizeof(id)), 0);
	issue_to(ca, k, id, 10, crt);
	assert_int_equal(pk_pki_cert_file_info(crt, &old, err, sizeof(err)),
	    0);
	assert_string_equal(old.cn, id);
	assert_string_equal(old.id, id);
	assert_true(old.not_after_us > old.not_before_us);
	before = slurp(crt);

	/* No file. */
	assert_int_equal(pk_pki_cert_install(nw, crt, key, f->crt, &ci, err,
	    sizeof(err)), -1);
	/* Ends earlier than the installed one. */
	issue_to(ca, k, id, 5, nw);
	assert_int_equal(pk_pki_cert_install(nw, crt, key, f->crt, &ci, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "expires no later"));
	assert_int_equal(access(nw, F_OK), -1);
	/* Another key. */
	assert_non_null(k2 = pk_pki_key_new(err, sizeof(err)));
	issue_to(ca, k2, id, 20, nw);
	assert_int_equal(pk_pki_cert_install(nw, crt, key, f->crt, &ci, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not for the key"));
	/* Another subject. */
	issue_to(ca, k, "a-000000000000000000000000", 20, nw);
	assert_int_equal(pk_pki_cert_install(nw, crt, key, f->crt, &ci, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "subject"));
	/* Another CA. */
	snprintf(other_dir, sizeof(other_dir), "%s/other", f->dir);
	assert_int_equal(mkdir(other_dir, 0700), 0);
	snprintf(other_crt, sizeof(other_crt), "%s/ca.crt", other_dir);
	snprintf(other_key, sizeof(other_key), "%s/ca.key", other_dir);
	assert_int_equal(pk_pki_ca_create("Other CA", 30, other_crt, other_key,
	    err, sizeof(err)), 0);
	assert_non_null(ca2 = pk_pki_ca_load(other_crt, other_key, err,
	    sizeof(err)));
	issue_to(ca2, k, id, 20, nw);
	assert_int_equal(pk_pki_cert_install(nw, crt, key, f->crt, &ci, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "does not verify"));
	/* A link, garbage, too big. */
	assert_int_equal(symlink(crt, nw), 0);
	assert_int_equal(pk_pki_cert_install(nw, crt, key, f->crt, &ci, err,
	    sizeof(err)), -1);
	assert_int_equal(lstat(nw, &sb), -1);
	put(nw, "not a certificate\n");
	assert_int_equal(pk_pki_cert_install(nw, crt, key, f->crt, &ci, err,
	    sizeof(err)), -1);
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put(nw, big);
	assert_int_equal(pk_pki_cert_install(nw, crt, key, f->crt, &ci, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "regular file"));
	/* All that left the installed certificate as it was. */
	after = slurp(crt);
	assert_string_equal(before, after);
	free(after);

	/* The right one: installed, 0644, the new serial, nothing left. */
	issue_to(ca, k, id, 20, nw);
	assert_int_equal(pk_pki_cert_install(nw, crt, key, f->crt, &ci, err,
	    sizeof(err)), 0);
	assert_string_equal(ci.cn, id);
	assert_true(ci.not_after_us > old.not_after_us);
	assert_string_not_equal(ci.serial, old.serial);
	assert_int_equal(access(nw, F_OK), -1);
	assert_int_equal(stat(crt, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	assert_int_equal(pk_pki_cert_file_info(crt, &old, err, sizeof(err)),
	    0);
	assert_string_equal(old.serial, ci.serial);
	after = slurp(crt);
	assert_string_not_equal(before, after);
	free(after);
	free(before);
	pk_pki_key_free(k);
	pk_pki_key_free(k2);
	pk_pki_ca_free(ca);
	pk_pki_ca_free(ca2);
}

static void
test_id_stable_and_matches_openssl(void **state)
{
	struct fx *f = *state;
	char err[PK_PKI_ERRLEN], id1[PK_PKI_ID_LEN + 1], id2[PK_PKI_ID_LEN + 1];
	char path[160], out[256];
	struct pk_pki_key *k, *k2;
	struct stat sb;

	assert_non_null(k = pk_pki_key_new(err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/agent.key", f->dir);
	assert_int_equal(pk_pki_key_write(k, path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	/* Never overwritten. */
	assert_int_equal(pk_pki_key_write(k, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "refusing to overwrite"));
	assert_non_null(k2 = pk_pki_key_read(path, err, sizeof(err)));
	assert_int_equal(pk_pki_key_id(k, id1, sizeof(id1)), 0);
	assert_int_equal(pk_pki_key_id(k2, id2, sizeof(id2)), 0);
	assert_string_equal(id1, id2);
	assert_int_equal(sh(out, sizeof(out), "openssl pkey -in %s -pubout "
	    "-outform DER | openssl dgst -sha256 -r", path), 0);
	assert_memory_equal(out, id1 + 2, PK_PKI_ID_HEX);
	/* Another key, another id. */
	pk_pki_key_free(k2);
	assert_non_null(k2 = pk_pki_key_new(err, sizeof(err)));
	assert_int_equal(pk_pki_key_id(k2, id2, sizeof(id2)), 0);
	assert_string_not_equal(id1, id2);
	pk_pki_key_free(k2);
	pk_pki_key_free(k);
}

static void
test_ca_files(void **state)
{
	struct fx *f = *state;
	char err[PK_PKI_ERRLEN], crt[160], key[176];

	/* ca_create never overwrites either file. */
	assert_int_equal(pk_pki_ca_create("Again", 30, f->crt, f->key, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "refusing to overwrite"));
	snprintf(crt, sizeof(crt), "%s/other.crt", f->dir);
	assert_int_equal(pk_pki_ca_create("Again", 30, crt, f->key, err,
	    sizeof(err)), -1);
	assert_int_equal(access(crt, F_OK), -1);
	/* A key that is not the certificate's. */
	snprintf(key, sizeof(key), "%s/other.key", f->dir);
	assert_int_equal(pk_pki_ca_create("Other", 30, crt, key, err,
	    sizeof(err)), 0);
	assert_null(pk_pki_ca_load(f->crt, key, err, sizeof(err)));
	assert_non_null(strstr(err, "does not match"));
	/* A certificate that is not a CA. */
	snprintf(crt, sizeof(crt), "%s/leaf.crt", f->dir);
	assert_int_equal(sh(NULL, 0, "openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout %s.key -subj /CN=leaf "
	    "-addext basicConstraints=critical,CA:FALSE -out %s 2>/dev/null",
	    crt, crt), 0);
	snprintf(key, sizeof(key), "%s.key", crt);
	assert_null(pk_pki_ca_load(crt, key, err, sizeof(err)));
	assert_non_null(strstr(err, "not a CA certificate"));
	/* Bad names. */
	assert_int_equal(pk_pki_ca_create("", 30, "/nonexistent/a",
	    "/nonexistent/b", err, sizeof(err)), -1);
	assert_int_equal(pk_pki_ca_create("bad\nname", 30, "/nonexistent/a",
	    "/nonexistent/b", err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_csr_round_trip),
		cmocka_unit_test(test_tampered_csr_refused),
		cmocka_unit_test(test_garbage_refused),
		cmocka_unit_test_setup_teardown(test_non_p256_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sign_agent_and_hub, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_id_stable_and_matches_openssl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ca_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cert_install, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
