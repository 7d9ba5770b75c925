/*
 * task_policy.h - what the host's owner lets the hub order ([tasks] in
 * the INI, docs/tasks.md "Agent"), and the small status file the
 * collector writes for each task.  Both processes use them: the shipper
 * checks the policy before it writes a task file (so a refusal goes back
 * at once), the collector checks it again before it runs the task (it
 * trusts nothing the network-facing process wrote), and the shipper reads
 * the collector's status files to relay them.  Portable (standard C):
 * called by agent/config.c, agent/task_agent.c, agent/task_exec.c, the
 * unit tests and tests/fuzz/fuzz_task_status.c.
 */
#ifndef PICKET_TASK_POLICY_H
#define PICKET_TASK_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "transport/task.h"

#define PK_TPOL_FILTERS_MAX	4096	/* allow_filters text */
#define PK_TPOL_WORDS_MAX	1024	/* deny_words text */
#define PK_TPOL_NFILTERS	32	/* expressions in allow_filters */
#define PK_TPOL_NWORDS		64	/* words in deny_words */
#define PK_TPOL_WORD_MAX	64	/* one deny word */

struct pk_task_policy {
	int		enabled;
	unsigned	allow;		/* bit (1 << type) */
	uint64_t	max_duration_s;
	uint64_t	max_bytes;	/* one task's result */
	uint64_t	max_concurrent;	/* tasks running at once */
	uint64_t	max_disk;	/* every task file in spool/tasks */
	/* allow_filters: exact expressions (spaces normalised); none = any
	 * filter not refused by deny_words. */
	char		filters[PK_TPOL_NFILTERS][PK_TASK_FILTER_MAX + 1];
	int		nfilters;
	char		words[PK_TPOL_NWORDS][PK_TPOL_WORD_MAX + 1];
	int		nwords;
};

/* Types this agent can run (the others are refused "not supported"):
 * every type task.h knows; the check stays for a type added there
 * before an agent learns it. */
#define PK_TPOL_SUPPORTED ((1u << PK_TASK_PCAP) | (1u << PK_TASK_IOC_SWEEP) | \
	(1u << PK_TASK_SNAPSHOT) | (1u << PK_TASK_SENSITIVITY) | \
	(1u << PK_TASK_PROC_TRACE))

/*
 * Build a policy from the [tasks] values: allow is a comma- or
 * space-separated list of type names (an unknown name is an error),
 * allow_filters a ';'-separated list of filter expressions, deny_words a
 * comma- or space-separated list of words.  0, or -1 with err set.
 */
int pk_task_policy_init(struct pk_task_policy *p, int enabled,
    const char *allow, uint64_t max_duration_s, uint64_t max_bytes,
    uint64_t max_concurrent, uint64_t max_disk, const char *allow_filters,
    const char *deny_words, char *err, size_t errlen);
struct pk_config;
/* The policy of a configuration's [tasks] section: 0, or -1 with err
 * ("allow: unknown task type ..."). */
int pk_task_policy_config(struct pk_task_policy *p,
    const struct pk_config *c, char *err, size_t errlen);
/* The defaults (docs/tasks.md): what an INI without [tasks] gives. */
void pk_task_policy_default(struct pk_task_policy *p);

/*
 * May this specification run here?  0, or -1 with a one-line reason
 * ("type proc_trace is not allowed by [tasks] allow").  The checks that
 * depend on what is already running are pk_task_policy_room()'s.
 */
int pk_task_policy_check(const struct pk_task_policy *p,
    const struct pk_task_spec *t, char *reason, size_t len);
/* Room for one more task: running tasks and bytes of task files on disk
 * now.  0, or -1 with a reason. */
int pk_task_policy_room(const struct pk_task_policy *p,
    const struct pk_task_spec *t, uint64_t running, uint64_t disk_bytes,
    char *reason, size_t len);
/* Write the filter with runs of blanks made one space, trimmed (the
 * form allow_filters compares). */
void pk_task_filter_norm(const char *in, char *out, size_t cap);

/* ---- spool/tasks/<id>.state: the collector's word on a task ---- */

#define PK_TSTATUS_MAX	1024	/* bytes of the file */

struct pk_task_status {
	int		state;		/* running, done, failed, refused,
					 * cancelled */
	uint64_t	bytes;		/* result bytes written */
	uint64_t	rows;
	char		reason[PK_TASK_REASON_MAX + 1];
};

/* "state=running\nbytes=N\nrows=N\nreason=TEXT\n", keys in that order;
 * control bytes of the reason become '?'.  Length, or 0 if cap is small. */
size_t pk_task_status_encode(const struct pk_task_status *s, char *out,
    size_t cap);
/* The strict reverse: exactly that shape, or -1. */
int pk_task_status_decode(const char *buf, size_t len,
    struct pk_task_status *s);

/* A task's file name "<id>.<ext>": the id (1..2^63-1, decimal without
 * leading zeros) and the extension pointer, or -1. */
int pk_task_file_id(const char *name, uint64_t *id, const char **ext);

#endif
