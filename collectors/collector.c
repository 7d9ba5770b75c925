/*
 * collector.c - the registry of collectors.  One line per collector; the
 * platform's build decides which exist (the eBPF collector joins on Linux,
 * ETW on Windows).
 */
#include <string.h>

#include "collectors/collector.h"
#include "collectors/pcap/capture.h"
#ifdef PICKET_HAVE_EBPF
#include "collectors/ebpf/ebpf.h"
#endif

const struct pk_collector_ops *const pk_collectors[] = {
	&pk_collector_pcap,
#ifdef PICKET_HAVE_EBPF
	&pk_collector_ebpf,
#endif
	NULL,
};

const struct pk_collector_ops *
pk_collector_find(const char *name)
{
	size_t i;

	for (i = 0; pk_collectors[i] != NULL; i++)
		if (strcmp(pk_collectors[i]->name, name) == 0)
			return pk_collectors[i];
	return NULL;
}
