/*
 * capture.h - the libpcap collector: live capture on the host's interfaces
 * or offline reading of a pcap/pcapng file, feeding frames to the engine.
 */
#ifndef PICKET_CAPTURE_H
#define PICKET_CAPTURE_H

#include "collectors/collector.h"

extern const struct pk_collector_ops pk_collector_pcap;

#endif
