/*
 * pki.c - the OpenSSL backend of pki.h: keys, CSRs and the member CA for
 * enrollment.  With transport/tls.c (connections) it is one of the two
 * files that include OpenSSL headers; the split is deliberate, so that
 * certificate making never touches the connection code.  Policy lives
 * here in one place: only EC P-256 keys are accepted in a CSR, its
 * signature must verify under its own key, the hub chooses every field
 * of the certificate it signs (the CSR's subject and extensions are
 * ignored), serials are 128 random bits, and private keys are written
 * 0600 with O_EXCL.  Called only through pki.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/dir.h"
#include "common/util.h"
#include "transport/pki.h"
#include "transport/tls.h"

#define SKEW_S		300	/* certificates start 5 minutes back */
#define DAY_S		86400
#define DAYS_MAX	36500

struct pk_pki_key {
	EVP_PKEY	*pkey;
};

struct pk_pki_csr {
	X509_REQ	*req;
	EVP_PKEY	*pub;		/* owned by req */
};

struct pk_pki_ca {
	X509		*crt;
	EVP_PKEY	*key;
};

/* ------------------------------------------------------------ keys */

static EVP_PKEY *
p256_new(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* Is pkey an EC key on P-256 with a valid public point? */
static int
is_p256(EVP_PKEY *pkey, char *err, size_t errlen)
{
	char group[64];
	EVP_PKEY_CTX *pc;
	size_t glen = 0;
	int ok;

	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
		pk_errf(err, errlen, "key is %s, want EC P-256",
		    OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
		return 0;
	}
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &glen) != 1 ||
	    strcmp(group, "prime256v1") != 0) {
		ERR_clear_error();
		pk_errf(err, errlen, "EC key on curve %s, want P-256",
		    glen > 0 ? group : "(unnamed)");
		return 0;
	}
	if ((pc = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return 0;
	}
	ok = EVP_PKEY_public_check(pc) == 1;
	EVP_PKEY_CTX_free(pc);
	if (!ok) {
		ERR_clear_error();
		pk_errf(err, errlen, "EC public key is not a valid P-256 point");
	}
	return ok;
}

struct pk_pki_key *
pk_pki_key_new(char *err, size_t errlen)
{
	struct pk_pki_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	if ((k->pkey = p256_new()) == NULL) {
		pk_errf(err, errlen, "EC P-256 key: %s", pk_tls_ossl_reason("failed"));
		free(k);
		return NULL;
	}
	return k;
}

struct pk_pki_key *
pk_pki_key_read(const char *path, char *err, size_t errlen)
{
	struct pk_pki_key *k;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		pk_errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		fclose(f);
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k->pkey == NULL) {
		pk_errf(err, errlen, "%s: %s", path,
		    pk_tls_ossl_reason("no PEM private key"));
		free(k);
		return NULL;
	}
	return k;
}

void
pk_pki_key_free(struct pk_pki_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* PEM text of what write() puts in a memory BIO; malloc'd, NUL-ended. */
static char *
bio_text(BIO *b, size_t *lenp)
{
	char *data, *out;
	long n;

	n = BIO_get_mem_data(b, &data);
	if (n <= 0 || (out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)n;
	return out;
}

int
pk_pki_write_file(const char *path, const char *data, size_t len, int mode,
    int replace, char *err, size_t errlen)
{
	/* The file calls are the platform's (common/dir.h), so that this
	 * file builds for the Windows agent too. */
	if (pk_file_write(path, data, len, mode, replace ? 0 :
	    PK_FILE_EXCL) == -1) {
		pk_errf(err, errlen, "%s: %s", path, errno == EEXIST ?
		    "exists (refusing to overwrite)" : strerror(errno));
		return -1;
	}
	return 0;
}

int
pk_pki_key_write(const struct pk_pki_key *k, const char *path, char *err,
    size_t errlen)
{
	BIO *b;
	char *pem;
	size_t len = 0;
	int rc;

	ERR_clear_error();
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(b, k->pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || (pem = bio_text(b, &len)) == NULL) {
		pk_errf(err, errlen, "%s: %s", path, pk_tls_ossl_reason("cannot encode"));
		BIO_free(b);
		return -1;
	}
	BIO_free(b);
	rc = pk_pki_write_file(path, pem, len, 0600, 0, err, errlen);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

/* SHA-256 of the DER SubjectPublicKeyInfo of pkey (the RFC 7469 input,
 * as tls.c hashes peers). */
static int
spki_hash(EVP_PKEY *pkey, uint8_t out[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int len, rc;

	len = i2d_PUBKEY(pkey, &der);
	if (len <= 0) {
		ERR_clear_error();
		return -1;
	}
	rc = EVP_Digest(der, (size_t)len, out, &mdlen, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return rc == 1 && mdlen == 32 ? 0 : -1;
}

static int
pkey_id(EVP_PKEY *pkey, char *out, size_t cap)
{
	uint8_t h[32];
	char hex[65];

	if (cap < PK_PKI_ID_LEN + 1 || spki_hash(pkey, h) == -1)
		return -1;
	pk_hex(h, sizeof(h), hex);
	snprintf(out, cap, "%s%.*s", PK_PKI_ID_PREFIX, PK_PKI_ID_HEX, hex);
	return 0;
}

int
pk_pki_key_id(const struct pk_pki_key *k, char *out, size_t cap)
{
	return pkey_id(k->pkey, out, cap);
}

/* ------------------------------------------------------------ CSRs */

char *
pk_pki_csr_make(const struct pk_pki_key *k, const char *cn, char *err,
    size_t errlen)
{
	X509_REQ *req;
	X509_NAME *name;
	BIO *b = NULL;
	char *pem = NULL;

	ERR_clear_error();
	if ((req = X509_REQ_new()) == NULL)
		goto fail;
	name = X509_REQ_get_subject_name(req);
	if (X509_REQ_set_version(req, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, k->pkey) != 1 ||
	    X509_REQ_sign(req, k->pkey, EVP_sha256()) <= 0)
		goto fail;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509_REQ(b, req) != 1 ||
	    (pem = bio_text(b, NULL)) == NULL)
		goto fail;
	BIO_free(b);
	X509_REQ_free(req);
	return pem;
fail:
	pk_errf(err, errlen, "CSR: %s", pk_tls_ossl_reason("cannot make"));
	BIO_free(b);
	X509_REQ_free(req);
	return NULL;
}

struct pk_pki_csr *
pk_pki_csr_parse(const char *pem, size_t len, char *err, size_t errlen)
{
	static const char begin[] = "-----BEGIN CERTIFICATE REQUEST-----";
	struct pk_pki_csr *c;
	X509_REQ *extra;
	BIO *b;

	if (len == 0 || len > PK_PKI_PEM_MAX) {
		pk_errf(err, errlen, "CSR: want 1..%d bytes of PEM",
		    PK_PKI_PEM_MAX);
		return NULL;
	}
	/* Only the one PEM type: no "NEW CERTIFICATE REQUEST", no keys. */
	if (len < sizeof(begin) - 1 || memcmp(pem, begin,
	    sizeof(begin) - 1) != 0) {
		pk_errf(err, errlen, "CSR: want a PEM \"%s\"", begin);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	ERR_clear_error();
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		pk_errf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	c->req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	if (c->req != NULL && (extra = PEM_read_bio_X509_REQ(b, NULL, NULL,
	    NULL)) != NULL) {
		X509_REQ_free(extra);
		BIO_free(b);
		pk_errf(err, errlen, "CSR: more than one request");
		pk_pki_csr_free(c);
		return NULL;
	}
	BIO_free(b);
	if (c->req == NULL) {
		pk_errf(err, errlen, "CSR: %s", pk_tls_ossl_reason("not a PEM request"));
		free(c);
		return NULL;
	}
	ERR_clear_error();
	if ((c->pub = X509_REQ_get0_pubkey(c->req)) == NULL) {
		pk_errf(err, errlen, "CSR: no usable public key (%s)",
		    pk_tls_ossl_reason("unknown type"));
		pk_pki_csr_free(c);
		return NULL;
	}
	if (!is_p256(c->pub, err, errlen)) {
		pk_pki_csr_free(c);
		return NULL;
	}
	/* Proof of possession: the request is signed by its own key. */
	if (X509_REQ_verify(c->req, c->pub) != 1) {
		ERR_clear_error();
		pk_errf(err, errlen, "CSR: signature does not verify");
		pk_pki_csr_free(c);
		return NULL;
	}
	return c;
}

void
pk_pki_csr_free(struct pk_pki_csr *c)
{
	if (c == NULL)
		return;
	X509_REQ_free(c->req);
	free(c);
}

int
pk_pki_csr_id(const struct pk_pki_csr *c, char *id, size_t idcap)
{
	return pkey_id(c->pub, id, idcap);
}

int
pk_pki_csr_spki_hex(const struct pk_pki_csr *c, char *out, size_t cap)
{
	uint8_t h[32];

	if (cap < PK_PKI_SPKI_HEX + 1 || spki_hash(c->pub, h) == -1)
		return -1;
	pk_hex(h, sizeof(h), out);
	return 0;
}

/* ------------------------------------------------------------ signing */

/* One extension from its text form (issuer/subject set in v3). */
static int
add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext;
	int ok;

	if ((ext = X509V3_EXT_conf_nid(NULL, v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/* A random positive 128-bit serial, set on x and given in hex. */
static int
set_serial(X509 *x, char hex[PK_PKI_SERIAL_HEX + 1])
{
	unsigned char r[PK_PKI_SERIAL_HEX / 2];
	ASN1_INTEGER *ai;
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[0] &= 0x7f;		/* positive */
	r[0] |= 0x40;		/* and always 16 bytes long */
	if ((bn = BN_bin2bn(r, sizeof(r), NULL)) == NULL)
		return -1;
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	if (ai == NULL)
		return -1;
	ok = X509_set_serialNumber(x, ai);
	ASN1_INTEGER_free(ai);
	pk_hex(r, sizeof(r), hex);
	return ok == 1 ? 0 : -1;
}

/*
 * The common part of every certificate we sign: v3, serial, validity,
 * names, key, subject and authority key ids, then ext[] (nid, value)
 * pairs, signed with issuer_key (self-signed when issuer is NULL).
 */
struct ext_def {
	int		 nid;
	const char	*value;
};

static X509 *
build(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *subject_key,
    const char *cn, unsigned days, const struct ext_def *ext, size_t next,
    struct pk_pki_issued *out)
{
	X509V3_CTX v3;
	X509_NAME *name;
	X509 *x;
	time_t now = time(NULL);
	size_t i;

	if (days == 0 || days > DAYS_MAX || (x = X509_new()) == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 || set_serial(x, out->serial) == -1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, -SKEW_S, &now) ==
	    NULL || X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0,
	    &now) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) != 1 ||
	    X509_set_pubkey(x, subject_key) != 1)
		goto fail;
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (add_ext(x, &v3, NID_subject_key_identifier, "hash") == -1 ||
	    add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") ==
	    -1)
		goto fail;
	for (i = 0; i < next; i++)
		if (add_ext(x, &v3, ext[i].nid, ext[i].value) == -1)
			goto fail;
	if (X509_sign(x, issuer_key, EVP_sha256()) <= 0)
		goto fail;
	out->not_before_us = ((int64_t)now - SKEW_S) * 1000000;
	out->not_after_us = ((int64_t)now + (int64_t)days * DAY_S) * 1000000;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static char *
cert_pem(X509 *x)
{
	BIO *b;
	char *pem = NULL;

	if ((b = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_X509(b, x) == 1)
		pem = bio_text(b, NULL);
	BIO_free(b);
	return pem;
}

/* A CN we put in a certificate: 1..64 printable ASCII bytes. */
static int
cn_ok(const char *cn)
{
	size_t i;

	for (i = 0; cn[i] != '\0'; i++)
		if (i >= PK_PKI_NAME_MAX || cn[i] < 0x20 || cn[i] > 0x7e)
			return 0;
	return i > 0;
}

int
pk_pki_ca_create(const char *name, unsigned days, const char *crt_path,
    const char *key_path, char *err, size_t errlen)
{
	static const struct ext_def ext[] = {
		{ NID_basic_constraints, "critical,CA:TRUE,pathlen:0" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
	};
	struct pk_pki_issued is;
	struct pk_pki_key k;
	struct stat sb;
	X509 *x;
	char *pem;
	int rc;

	if (!cn_ok(name)) {
		pk_errf(err, errlen, "CA name: want 1..%d printable ASCII bytes",
		    PK_PKI_NAME_MAX);
		return -1;
	}
	/* Neither file may exist: check both before writing either. */
	if (stat(crt_path, &sb) == 0 || stat(key_path, &sb) == 0) {
		pk_errf(err, errlen, "%s exists (refusing to overwrite)",
		    stat(crt_path, &sb) == 0 ? crt_path : key_path);
		return -1;
	}
	memset(&is, 0, sizeof(is));
	ERR_clear_error();
	if ((k.pkey = p256_new()) == NULL) {
		pk_errf(err, errlen, "CA key: %s", pk_tls_ossl_reason("failed"));
		return -1;
	}
	x = build(NULL, k.pkey, k.pkey, name, days, ext, PK_NELEM(ext), &is);
	if (x == NULL || (pem = cert_pem(x)) == NULL) {
		pk_errf(err, errlen, "CA certificate: %s",
		    pk_tls_ossl_reason("cannot make"));
		X509_free(x);
		EVP_PKEY_free(k.pkey);
		return -1;
	}
	X509_free(x);
	rc = pk_pki_key_write(&k, key_path, err, errlen);
	if (rc == 0)
		rc = pk_pki_write_file(crt_path, pem, strlen(pem), 0644, 0,
		    err, errlen);
	free(pem);
	EVP_PKEY_free(k.pkey);
	return rc;
}

static X509 *
read_cert(const char *path, char *err, size_t errlen)
{
	FILE *f;
	X509 *x;

	if ((f = fopen(path, "r")) == NULL) {
		pk_errf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	ERR_clear_error();
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		pk_errf(err, errlen, "%s: %s", path,
		    pk_tls_ossl_reason("no PEM certificate"));
	return x;
}

struct pk_pki_ca *
pk_pki_ca_load(const char *crt_path, const char *key_path, char *err,
    size_t errlen)
{
	struct pk_pki_key *k;
	struct pk_pki_ca *ca;

	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		pk_errf(err, errlen, "out of memory");
		return NULL;
	}
	if ((ca->crt = read_cert(crt_path, err, errlen)) == NULL) {
		free(ca);
		return NULL;
	}
	if ((k = pk_pki_key_read(key_path, err, errlen)) == NULL) {
		pk_pki_ca_free(ca);
		return NULL;
	}
	ca->key = k->pkey;
	free(k);
	if (X509_check_ca(ca->crt) == 0) {
		pk_errf(err, errlen, "%s: not a CA certificate "
		    "(basicConstraints CA:TRUE)", crt_path);
		pk_pki_ca_free(ca);
		return NULL;
	}
	if (X509_check_private_key(ca->crt, ca->key) != 1) {
		ERR_clear_error();
		pk_errf(err, errlen, "%s does not match %s", key_path, crt_path);
		pk_pki_ca_free(ca);
		return NULL;
	}
	return ca;
}

void
pk_pki_ca_free(struct pk_pki_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->crt);
	EVP_PKEY_free(ca->key);
	free(ca);
}

char *
pk_pki_ca_pem(const struct pk_pki_ca *ca, char *err, size_t errlen)
{
	char *pem;

	if ((pem = cert_pem(ca->crt)) == NULL)
		pk_errf(err, errlen, "CA certificate: %s",
		    pk_tls_ossl_reason("cannot encode"));
	return pem;
}

static int
issue(const struct pk_pki_ca *ca, EVP_PKEY *subject, const char *cn,
    unsigned days, const struct ext_def *ext, size_t next,
    struct pk_pki_issued *out, char *err, size_t errlen)
{
	X509 *x;

	memset(out, 0, sizeof(*out));
	if (!cn_ok(cn)) {
		pk_errf(err, errlen, "subject CN: want 1..%d printable ASCII "
		    "bytes", PK_PKI_NAME_MAX);
		return -1;
	}
	ERR_clear_error();
	x = build(ca->crt, ca->key, subject, cn, days, ext, next, out);
	if (x == NULL || (out->pem = cert_pem(x)) == NULL) {
		pk_errf(err, errlen, "certificate: %s",
		    pk_tls_ossl_reason("cannot sign"));
		X509_free(x);
		return -1;
	}
	X509_free(x);
	return 0;
}

int
pk_pki_ca_sign_agent(const struct pk_pki_ca *ca,
    const struct pk_pki_csr *csr, const char *cn, unsigned days,
    struct pk_pki_issued *out, char *err, size_t errlen)
{
	static const struct ext_def ext[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "clientAuth" },
	};

	return issue(ca, csr->pub, cn, days, ext, PK_NELEM(ext), out, err,
	    errlen);
}

int
pk_pki_ca_sign_server(const struct pk_pki_ca *ca, const struct pk_pki_key *k,
    const char *const *names, const char *const *ips, unsigned days,
    struct pk_pki_issued *out, char *err, size_t errlen)
{
	struct ext_def ext[4] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_subject_alt_name, NULL },
	};
	char san[1024];
	const char *cn = NULL;
	size_t i, len = 0, n = 0;
	int w;

	for (i = 0; names != NULL && names[i] != NULL; i++, n++) {
		w = snprintf(san + len, sizeof(san) - len, "%sDNS:%s",
		    len ? "," : "", names[i]);
		if (w < 0 || (size_t)w >= sizeof(san) - len ||
		    strchr(names[i], ',') != NULL || !cn_ok(names[i]))
			goto bad;
		len += (size_t)w;
		if (cn == NULL)
			cn = names[i];
	}
	for (i = 0; ips != NULL && ips[i] != NULL; i++, n++) {
		w = snprintf(san + len, sizeof(san) - len, "%sIP:%s",
		    len ? "," : "", ips[i]);
		if (w < 0 || (size_t)w >= sizeof(san) - len ||
		    strchr(ips[i], ',') != NULL || !cn_ok(ips[i]))
			goto bad;
		len += (size_t)w;
		if (cn == NULL)
			cn = ips[i];
	}
	if (n == 0 || n > PK_PKI_SAN_MAX)
		goto bad;
	ext[3].value = san;
	return issue(ca, k->pkey, cn, days, ext, PK_NELEM(ext), out, err,
	    errlen);
bad:
	memset(out, 0, sizeof(*out));
	pk_errf(err, errlen, "hub names: want 1..%d DNS names and IP addresses "
	    "of printable ASCII without commas", PK_PKI_SAN_MAX);
	return -1;
}

int
pk_pki_cert_pem_ids(const char *pem, size_t len, char *cn, size_t cncap,
    char *id, size_t idcap, char *err, size_t errlen)
{
	X509 *x;
	BIO *b;
	int n, rc = -1;

	if (len == 0 || len > PK_PKI_PEM_MAX ||
	    (b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		pk_errf(err, errlen, "certificate: want 1..%d bytes of PEM",
		    PK_PKI_PEM_MAX);
		return -1;
	}
	ERR_clear_error();
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL) {
		pk_errf(err, errlen, "certificate: %s",
		    pk_tls_ossl_reason("not PEM"));
		return -1;
	}
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, (int)cncap);
	if (n <= 0 || (size_t)n >= cncap)
		pk_errf(err, errlen, "certificate: no usable subject CN");
	else if (pkey_id(X509_get0_pubkey(x), id, idcap) == -1)
		pk_errf(err, errlen, "certificate: cannot hash its key");
	else
		rc = 0;
	ERR_clear_error();
	X509_free(x);
	return rc;
}

/* ------------------------------------------------------------ renewal */

/* µs since 1970 of an ASN1_TIME, without timegm (Windows has none). */
static int
asn1_us(const ASN1_TIME *t, int64_t *us)
{
	ASN1_TIME *epoch;
	int days, secs, rc = -1;

	if ((epoch = ASN1_TIME_set(NULL, 0)) == NULL)
		return -1;
	if (ASN1_TIME_diff(&days, &secs, epoch, t) == 1) {
		*us = ((int64_t)days * DAY_S + secs) * 1000000;
		rc = 0;
	}
	ASN1_TIME_free(epoch);
	return rc;
}

static int
x509_info(X509 *x, struct pk_pki_certinfo *ci, char *err, size_t errlen)
{
	const ASN1_INTEGER *sn;
	BIGNUM *bn;
	char *hex;
	int n;

	memset(ci, 0, sizeof(*ci));
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, ci->cn, (int)sizeof(ci->cn));
	if (n <= 0 || (size_t)n >= sizeof(ci->cn)) {
		pk_errf(err, errlen, "certificate: no usable subject CN");
		return -1;
	}
	if (pkey_id(X509_get0_pubkey(x), ci->id, sizeof(ci->id)) == -1 ||
	    asn1_us(X509_get0_notBefore(x), &ci->not_before_us) == -1 ||
	    asn1_us(X509_get0_notAfter(x), &ci->not_after_us) == -1) {
		pk_errf(err, errlen, "certificate: unreadable key or dates");
		return -1;
	}
	sn = X509_get0_serialNumber(x);
	if ((bn = ASN1_INTEGER_to_BN(sn, NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL) {
		pk_strlcpy(ci->serial, hex, sizeof(ci->serial));
		OPENSSL_free(hex);
	}
	BN_free(bn);
	return 0;
}

static X509 *
pem_cert(const char *pem, size_t len, char *err, size_t errlen)
{
	X509 *x;
	BIO *b;

	if (len == 0 || len > PK_PKI_PEM_MAX ||
	    (b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		pk_errf(err, errlen, "certificate: want 1..%d bytes of PEM",
		    PK_PKI_PEM_MAX);
		return NULL;
	}
	ERR_clear_error();
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL)
		pk_errf(err, errlen, "certificate: %s",
		    pk_tls_ossl_reason("not PEM"));
	return x;
}

int
pk_pki_cert_pem_info(const char *pem, size_t len, struct pk_pki_certinfo *ci,
    char *err, size_t errlen)
{
	X509 *x;
	int rc;

	if ((x = pem_cert(pem, len, err, errlen)) == NULL)
		return -1;
	rc = x509_info(x, ci, err, errlen);
	X509_free(x);
	return rc;
}

int
pk_pki_cert_file_info(const char *path, struct pk_pki_certinfo *ci,
    char *err, size_t errlen)
{
	X509 *x;
	int rc;

	if ((x = read_cert(path, err, errlen)) == NULL)
		return -1;
	rc = x509_info(x, ci, err, errlen);
	X509_free(x);
	return rc;
}

/* The whole of a small regular file that is not a link; malloc'd. */
static char *
read_small(const char *path, size_t max, size_t *lenp, char *err,
    size_t errlen)
{
	char *buf = pk_file_read_small(path, max, lenp);

	if (buf == NULL) {
		if (errno == EINVAL)
			pk_errf(err, errlen, "%s: not a regular file of "
			    "1..%zu bytes", path, max);
		else
			pk_errf(err, errlen, "%s: %s", path, strerror(errno));
	}
	return buf;
}

/* Does x chain to the CA in ca_path, for a TLS client, now? */
static int
verify_client(X509 *x, const char *ca_path, char *err, size_t errlen)
{
	X509_STORE *store;
	X509_STORE_CTX *ctx = NULL;
	int rc = -1;

	ERR_clear_error();
	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_load_file(store, ca_path) != 1 ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, x, NULL) != 1 ||
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1) {
		pk_errf(err, errlen, "%s: %s", ca_path,
		    pk_tls_ossl_reason("cannot load the CA"));
		goto out;
	}
	if (X509_verify_cert(ctx) == 1)
		rc = 0;
	else
		pk_errf(err, errlen, "does not verify under %s: %s", ca_path,
		    X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rc;
}

int
pk_pki_cert_install(const char *new_path, const char *crt_path,
    const char *key_path, const char *ca_path, struct pk_pki_certinfo *ci,
    char *err, size_t errlen)
{
	struct pk_pki_certinfo old;
	struct pk_pki_key *k = NULL;
	char *pem;
	X509 *x = NULL;
	size_t len = 0;
	int rc = -1;

	pem = read_small(new_path, PK_PKI_PEM_MAX, &len, err, errlen);
	(void)remove(new_path);
	if (pem == NULL)
		return -1;
	if ((x = pem_cert(pem, len, err, errlen)) == NULL ||
	    x509_info(x, ci, err, errlen) == -1 ||
	    pk_pki_cert_file_info(crt_path, &old, err, errlen) == -1 ||
	    verify_client(x, ca_path, err, errlen) == -1 ||
	    (k = pk_pki_key_read(key_path, err, errlen)) == NULL)
		goto out;
	ERR_clear_error();
	if (X509_check_private_key(x, k->pkey) != 1) {
		pk_errf(err, errlen, "it is not for the key %s", key_path);
		goto out;
	}
	if (strcmp(ci->cn, old.cn) != 0) {
		pk_errf(err, errlen, "its subject %s is not %s's (%s)", ci->cn,
		    crt_path, old.cn);
		goto out;
	}
	if (ci->not_after_us <= old.not_after_us) {
		pk_errf(err, errlen, "it expires no later than %s", crt_path);
		goto out;
	}
	/* pk_file_replace: the platform's atomic, durable replace (a
	 * rename over an existing file is not one on Windows); then the
	 * mode enrollment gives, whatever the service's umask (a public
	 * certificate: a failure there is no reason to keep the old one). */
	if (pk_file_replace(crt_path, pem, len, 0644, PK_FILE_DURABLE) == -1) {
		pk_errf(err, errlen, "%s: %s", crt_path, strerror(errno));
		goto out;
	}
	(void)chmod(crt_path, 0644);
	rc = 0;
out:
	ERR_clear_error();
	pk_pki_key_free(k);
	X509_free(x);
	free(pem);
	return rc;
}
