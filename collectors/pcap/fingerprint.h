/*
 * fingerprint.h - the worm fingerprinting detector: content prevalence and
 * address dispersion after EarlyBird (Singh et al., "Automated Worm
 * Fingerprinting", OSDI 2004), cut down to what one host sees of its own
 * traffic.  It is a detector plugin; the engine finds it through
 * pk_detectors[] (agent/detectors.c) and nothing else should call it.
 * How it works, its figures and its limits: docs/detection.md, "Worm
 * fingerprinting".
 */
#ifndef PICKET_FINGERPRINT_H
#define PICKET_FINGERPRINT_H

#include "agent/engine.h"

extern const struct pk_detector_ops pk_detector_fingerprint;

#endif
