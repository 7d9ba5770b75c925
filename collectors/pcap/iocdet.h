/*
 * iocdet.h - the IOC detector: connection endpoints, DNS questions and
 * answers, TLS server names, HTTP hosts and URLs matched against the
 * indicator-of-compromise lists of [ioc] (agent/ioc.h, docs/ioc.md).  It
 * is a detector plugin; the engine finds it through pk_detectors[]
 * (agent/detectors.c) and nothing else should call it.
 */
#ifndef PICKET_IOCDET_H
#define PICKET_IOCDET_H

#include "agent/engine.h"

extern const struct pk_detector_ops pk_detector_ioc;

#endif
