/*
 * enroll_win32.h - `picketd.exe enroll` (docs/enrollment.md,
 * docs/windows.md "Enrollment"): the Windows agent gets its certificate
 * from the hub with an enrollment token, as agent/enroll.c does on Linux
 * (the same request, checks and files), over Winsock and the HTTPS client
 * connection of transport/tls.c instead of libevent.  pk_wenroll() is also
 * what the service calls at its first start when the MSI left it a token.
 * Called by agent/main_win32.c.
 */
#ifndef PICKET_ENROLL_WIN32_H
#define PICKET_ENROLL_WIN32_H

#include <stddef.h>

struct pk_wenroll_req {
	const char	*hub;		/* the hub's API address, HOST:PORT */
	const char	*token;		/* the enrollment token */
	const char	*ca;		/* the CA file that verifies the hub */
	const char	*dir;		/* agent.key, agent.crt, ca.crt go here */
	const char	*host_name;	/* NULL: the DNS host name */
	const char	*server_name;	/* NULL: HOST of hub */
};

/*
 * Enrol: a new EC P-256 key (written under a temporary name, kept as
 * agent.key only once the hub's answer checks out), a CSR, one POST to
 * /api/v1/enroll, the certificate checked against the key and kept with a
 * copy of the CA.  0 with the agent id in id, or -1 with the reason in
 * err; *usage (may be NULL) is set when the request itself was malformed.
 */
int pk_wenroll(const struct pk_wenroll_req *r, char *id, size_t idcap,
    char *err, size_t errlen, int *usage);

/* `picketd.exe enroll ARGS`: argv[0] is "enroll".  Exit status as
 * Linux's: 0 enrolled (the id on stdout), 1 refused or failed, 2 usage. */
int pk_wenroll_main(int argc, char **argv, const char *default_dir);

#endif
