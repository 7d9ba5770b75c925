/*
 * wpcap.h - live capture on Windows through Npcap's wpcap.dll, loaded at
 * run time (wpcap_win32.c).  The Windows main registers it as its live
 * "pcap" collector and calls pk_wpcap_list for --list-interfaces.
 */
#ifndef PICKET_WPCAP_H
#define PICKET_WPCAP_H

#include <stdio.h>

#include "collectors/collector.h"

extern const struct pk_collector_ops pk_collector_wpcap;

/* One line per adapter: pcap name, description, "(no address)" when it
 * has none.  0, or -1 with err (no Npcap, listing failed). */
int pk_wpcap_list(FILE *fp, char *err, size_t errlen);

#endif
