/*
 * fuzz_engine.c - libFuzzer target for the whole detection path: decode,
 * flow table, application fields and every detector, exactly as picketd -r
 * runs them.  The input is a sequence of frames, each as
 *   [u16 length][u8 time step, 10 ms units][length bytes of IPv4/IPv6]
 * given to the engine as raw IP, so the fuzzer spends its effort on
 * transport and detector state rather than on link headers (fuzz_decode
 * covers those).  Tables are kept tiny so eviction, expiry and the
 * indicator lifecycle (start, change, end) all run.  The engine is live
 * for odd first bytes and offline for even ones.  Every indicator line is
 * checked to be one JSON object.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "agent/engine.h"
#include "collectors/pcap/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_line(void *arg, const char *line, size_t len,
    const struct pk_indicator *ind)
{
	(void)arg;
	(void)ind;
	if (len < 2 || line[0] != '{' || line[len - 1] != '}' ||
	    memchr(line, '\n', len) != NULL || strlen(line) != len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pk_config cfg;
	static int configured;
	struct pk_engine *e;
	uint64_t now = 1700000000ULL * 1000000ULL;
	size_t off = 1;

	if (size < 1)
		return 0;
	if (!configured) {
		pk_config_defaults(&cfg);
		cfg.flows.max_flows = 64;
		cfg.scan.max_sources = 16;
		cfg.scan.port_scan_ports = 3;
		cfg.scan.address_scan_hosts = 3;
		cfg.scan.worm_tcp_rate = 3;
		cfg.scan.worm_udp_rate = 3;
		cfg.scan.idle_timeout = 2;
		cfg.output.update_interval = 1;
		cfg.decode.frag_max_datagrams = 16;
		configured = 1;
	}
	if ((e = pk_engine_new(&cfg)) == NULL)
		abort();
	pk_engine_add_output(e, check_line, NULL);
	pk_engine_set_offline(e, !(data[0] & 1));
	while (off + 3 <= size) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];

		now += (uint64_t)data[off + 2] * 10000;
		off += 3;
		if (len > size - off)
			len = size - off;
		pk_engine_frame(e, PK_LINK_RAW, data + off, (uint32_t)len,
		    (uint32_t)len, now);
		off += len;
	}
	pk_engine_flush(e, now + 1000000);
	pk_engine_free(e);
	return 0;
}
