/*
 * offline.h - the offline packet collector over the project's own capture
 * reader (pcapfile.h): `-r FILE` without libpcap.  The Windows agent
 * registers it as its "pcap" collector, so offline analysis works without
 * Npcap; it opens only with a source file (live capture is capture.c's,
 * through libpcap or Npcap's wpcap.dll).  Portable C: any main may use it.
 */
#ifndef PICKET_OFFLINE_H
#define PICKET_OFFLINE_H

#include "collectors/collector.h"

extern const struct pk_collector_ops pk_collector_pcapfile;

#endif
