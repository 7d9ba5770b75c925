/*
 * scan.h - the scan detector: sequential hypothesis testing on first
 * contacts (TRW), port and address fan-out, and worm-port SYN/datagram
 * rates.  It is a detector plugin; the engine finds it through
 * pk_detectors[] (agent/detectors.c) and nothing else should call it.
 * How it works, its thresholds and their names: docs/detection.md.
 */
#ifndef PICKET_SCAN_H
#define PICKET_SCAN_H

#include "agent/engine.h"

extern const struct pk_detector_ops pk_detector_scan;

#endif
