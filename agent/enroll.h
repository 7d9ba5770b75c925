/*
 * enroll.h - `picketd enroll` (docs/enrollment.md): make the agent's own
 * EC P-256 key, send a CSR and an enrollment token to the hub's
 * POST /api/v1/enroll over server-authenticated TLS 1.3 (the hub checked
 * against the CA file the operator gives), and keep the key and the
 * certificate the hub signs in a directory with tight permissions, where
 * [hub] ca/cert/key find them by default.  Called by agent/main.c when
 * the first argument is "enroll".
 */
#ifndef PICKET_AGENT_ENROLL_H
#define PICKET_AGENT_ENROLL_H

/* argv[0] is "enroll".  Exit status: 0 enrolled, 1 refused or failed,
 * 2 usage. */
int pk_enroll_main(int argc, char **argv);

#endif
