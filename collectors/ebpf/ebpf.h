/*
 * ebpf.h - the Linux eBPF process collector: the plugin the agent's main
 * loop runs (collectors/collector.c registers it when built with
 * PICKET_HAVE_EBPF) and the hook report for `picketd -n`.
 */
#ifndef PICKET_EBPF_H
#define PICKET_EBPF_H

#include <stdio.h>

#include "collectors/collector.h"

extern const struct pk_collector_ops pk_collector_ebpf;

/*
 * For `picketd -n`: say whether BTF, privileges and tracefs are there and,
 * hook by hook, whether it would load on this kernel (as root the programs
 * are really loaded through the verifier, then unloaded; nothing is
 * attached).  Returns 0 when the collector could run, -1 when it could
 * not (the agent would still run without it).
 */
int pk_ebpf_check(FILE *out);

#endif
