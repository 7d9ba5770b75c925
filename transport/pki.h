/*
 * pki.h - certificates for enrollment (docs/enrollment.md): EC P-256 keys,
 * certificate signing requests, the member CA that signs agent and hub
 * certificates, PEM files, and the agent id that derives from a public
 * key.  The types are opaque so that OpenSSL's headers stay in two files:
 * transport/tls.c (connections) and transport/pki.c (certificates); that
 * split was decided on purpose when enrollment came.  Called by the hub's
 * enrollment endpoint and CLI (hub/enroll*.c), the agent's `picketd
 * enroll` (agent/enroll.c), its renewal (agent/renew.c, both platforms)
 * and tests/unit/test_pki.c.  Every function
 * returns 0 / -1 or NULL, with a one-line reason in err (PK_PKI_ERRLEN
 * bytes are enough).
 */
#ifndef PICKET_PKI_H
#define PICKET_PKI_H

#include <stddef.h>
#include <stdint.h>

#define PK_PKI_ERRLEN		192
#define PK_PKI_ID_PREFIX	"a-"
#define PK_PKI_ID_HEX		24	/* hex digits of the SPKI hash kept */
#define PK_PKI_ID_LEN		(2 + PK_PKI_ID_HEX)	/* "a-" + hex */
#define PK_PKI_SPKI_HEX		64	/* SHA-256 of the SPKI, in hex */
#define PK_PKI_SERIAL_HEX	32	/* 16 random bytes */
#define PK_PKI_PEM_MAX		(16 * 1024)	/* CSRs and certificates */
#define PK_PKI_NAME_MAX		64	/* CN of a CA or an agent */
#define PK_PKI_SAN_MAX		8	/* names and addresses of a hub */

struct pk_pki_key;	/* a private key (EC P-256 when we make it) */
struct pk_pki_csr;	/* a parsed, verified CSR */
struct pk_pki_ca;	/* the member CA: certificate and key */

/* ---- keys */

/* A fresh EC P-256 key. */
struct pk_pki_key *pk_pki_key_new(char *err, size_t errlen);
struct pk_pki_key *pk_pki_key_read(const char *path, char *err,
    size_t errlen);
/* PEM (PKCS#8), mode 0600, refuses to overwrite (O_EXCL), fsynced. */
int pk_pki_key_write(const struct pk_pki_key *k, const char *path,
    char *err, size_t errlen);
void pk_pki_key_free(struct pk_pki_key *k);
/* The agent id of the key's public half: "a-" + 24 hex digits of the
 * SHA-256 of its DER SubjectPublicKeyInfo (out: PK_PKI_ID_LEN + 1). */
int pk_pki_key_id(const struct pk_pki_key *k, char *out, size_t cap);

/* ---- certificate signing requests */

/* A PEM CSR for k with subject CN cn, signed by k (SHA-256); malloc'd,
 * NUL-terminated. */
char *pk_pki_csr_make(const struct pk_pki_key *k, const char *cn,
    char *err, size_t errlen);
/*
 * Parse a PEM CSR of at most PK_PKI_PEM_MAX bytes and check it: exactly
 * one CSR, its signature valid under its own key, the key EC P-256 with
 * a valid point.  The subject is not looked at (the hub names agents).
 */
struct pk_pki_csr *pk_pki_csr_parse(const char *pem, size_t len,
    char *err, size_t errlen);
void pk_pki_csr_free(struct pk_pki_csr *c);
/* The agent id and the full SPKI hash (hex, PK_PKI_SPKI_HEX + 1). */
int pk_pki_csr_id(const struct pk_pki_csr *c, char *id, size_t idcap);
int pk_pki_csr_spki_hex(const struct pk_pki_csr *c, char *out, size_t cap);

/* ---- the member CA */

/*
 * Make a CA: a new P-256 key written to key_path (0600, O_EXCL) and a
 * self-signed certificate (CA:TRUE, keyCertSign + cRLSign, subject CN
 * name) valid for days to crt_path (0644, O_EXCL).
 */
int pk_pki_ca_create(const char *name, unsigned days, const char *crt_path,
    const char *key_path, char *err, size_t errlen);
/* Load a CA: the certificate must be a CA (basicConstraints CA:TRUE) and
 * the key must match it. */
struct pk_pki_ca *pk_pki_ca_load(const char *crt_path, const char *key_path,
    char *err, size_t errlen);
void pk_pki_ca_free(struct pk_pki_ca *ca);
/* The CA certificate as PEM (malloc'd) and its subject CN. */
char *pk_pki_ca_pem(const struct pk_pki_ca *ca, char *err, size_t errlen);

/* What the CA put in a certificate it signed. */
struct pk_pki_issued {
	char		 serial[PK_PKI_SERIAL_HEX + 1];	/* hex */
	int64_t		 not_before_us, not_after_us;
	char		*pem;		/* malloc'd; the caller frees */
};

/*
 * An agent certificate for the CSR's key: subject CN = cn, clientAuth
 * extended key usage, digitalSignature, CA:FALSE, a random 128-bit
 * serial, valid from 5 minutes ago (clock skew) for days.
 */
int pk_pki_ca_sign_agent(const struct pk_pki_ca *ca,
    const struct pk_pki_csr *csr, const char *cn, unsigned days,
    struct pk_pki_issued *out, char *err, size_t errlen);
/*
 * A hub (server) certificate for key k: subject CN = the first name (or
 * address), serverAuth, subjectAltName DNS names[] and IP ips[] (each
 * array NULL-terminated, at most PK_PKI_SAN_MAX entries in all).
 */
int pk_pki_ca_sign_server(const struct pk_pki_ca *ca,
    const struct pk_pki_key *k, const char *const *names,
    const char *const *ips, unsigned days, struct pk_pki_issued *out,
    char *err, size_t errlen);

/* ---- files */

/* Write data to path with mode (O_EXCL unless replace), fsynced. */
int pk_pki_write_file(const char *path, const char *data, size_t len,
    int mode, int replace, char *err, size_t errlen);
/* ---- renewal (docs/enrollment.md "Renewal") */

/* What an agent needs to know about a certificate it holds. */
struct pk_pki_certinfo {
	char		cn[PK_PKI_NAME_MAX + 1];
	char		id[PK_PKI_ID_LEN + 1];	/* agent id of its key */
	char		serial[PK_PKI_SERIAL_HEX * 2 + 1];	/* hex */
	int64_t		not_before_us, not_after_us;
};

int pk_pki_cert_file_info(const char *path, struct pk_pki_certinfo *ci,
    char *err, size_t errlen);
int pk_pki_cert_pem_info(const char *pem, size_t len,
    struct pk_pki_certinfo *ci, char *err, size_t errlen);
/*
 * Install a renewed agent certificate.  new_path holds what the
 * unprivileged shipper received; it is trusted for nothing: it must be a
 * regular file (not a link) of at most PK_PKI_PEM_MAX bytes holding one
 * PEM certificate that verifies under ca_path for client authentication
 * now, matches the private key at key_path, has the subject CN of the
 * certificate at crt_path and expires later than it.  Then it replaces
 * crt_path atomically (a temporary file beside it, fsynced, renamed, the
 * directory fsynced).  new_path is removed whatever the outcome.  0 with
 * *ci describing the installed certificate, or -1.
 */
int pk_pki_cert_install(const char *new_path, const char *crt_path,
    const char *key_path, const char *ca_path, struct pk_pki_certinfo *ci,
    char *err, size_t errlen);

/* The subject CN and the agent id (from the key) of a PEM certificate
 * held in memory (to check what a hub answered). */
int pk_pki_cert_pem_ids(const char *pem, size_t len, char *cn, size_t cncap,
    char *id, size_t idcap, char *err, size_t errlen);

#endif
