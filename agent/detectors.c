/*
 * detectors.c - the list of detectors the engine runs.  Adding a detector
 * is one line here and one struct pk_detector_ops in its own file.
 */
#include <stddef.h>

#include "agent/engine.h"
#include "collectors/pcap/fingerprint.h"
#include "collectors/pcap/iocdet.h"
#include "collectors/pcap/scan.h"
#include "collectors/pcap/sigdet.h"

const struct pk_detector_ops *const pk_detectors[] = {
	&pk_detector_scan,
	&pk_detector_fingerprint,
	&pk_detector_ioc,
	&pk_detector_sig,
	NULL,
};
