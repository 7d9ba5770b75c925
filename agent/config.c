/*
 * config.c - the agent's option tables and everything they drive: defaults,
 * setting one option from text, cross-option validation, the normalised
 * print of `picketd -nv` and the Markdown reference in docs/configuration.md.
 * One row per option (after Fluent Bit's config_map), so the default the
 * documentation shows is the text pk_config_defaults() parses.  Portable C
 * only; config_ini.c feeds it from a file.  Callers: main, config_ini.c,
 * tests.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/config.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "common/util.h"
#include "agent/task_policy.h"

enum opt_type {
	OT_STRING,
	OT_BOOL,
	OT_UINT,
	OT_DURATION,
	OT_SIZE,
	OT_DOUBLE,
	OT_CIDRSET,
	OT_PORTSET,
	OT_LOGLEVEL,
	OT_TLP
};

struct opt {
	const char	*name;
	enum opt_type	 type;
	size_t		 off;		/* offsetof(struct pk_config, ...) */
	size_t		 size;		/* OT_STRING: field size */
	const char	*def;		/* default, as a user would write it */
	uint64_t	 min, max;	/* UINT, DURATION, SIZE */
	double		 dmin, dmax;	/* DOUBLE, both bounds exclusive */
	const char	*unit;
	const char	*help;
};

struct section {
	const char	*name;
	const char	*help;
	const struct opt *opts;
	size_t		 nopts;
};

/*
 * Field offset with a compile-time type check: comparing pointers of
 * distinct types is a warning (an error with -Werror), and sizeof keeps
 * the comparison unevaluated.  A row whose type does not match its field
 * therefore does not build.
 */
#define CFG_FIELD(sec, f, T) (offsetof(struct pk_config, sec.f) + \
	0 * sizeof((T *)0 == &((struct pk_config *)0)->sec.f))
#define CFG_STRFIELD(sec, f) (offsetof(struct pk_config, sec.f) + \
	0 * sizeof((char *)0 == ((struct pk_config *)0)->sec.f))
#define CFG_SIZEOF(sec, f) sizeof(((struct pk_config *)0)->sec.f)

#define O_STR(sec, f, def, help) \
	{ #f, OT_STRING, CFG_STRFIELD(sec, f), CFG_SIZEOF(sec, f), def, \
	  0, 0, 0, 0, NULL, help }
#define O_BOOL(sec, f, def, help) \
	{ #f, OT_BOOL, CFG_FIELD(sec, f, int), 0, def, 0, 0, 0, 0, NULL, help }
#define O_UINT(sec, f, def, lo, hi, unit, help) \
	{ #f, OT_UINT, CFG_FIELD(sec, f, uint64_t), 0, def, lo, hi, 0, 0, \
	  unit, help }
#define O_DUR(sec, f, def, lo, hi, help) \
	{ #f, OT_DURATION, CFG_FIELD(sec, f, uint64_t), 0, def, lo, hi, 0, 0, \
	  "seconds", help }
#define O_SIZE(sec, f, def, lo, hi, help) \
	{ #f, OT_SIZE, CFG_FIELD(sec, f, uint64_t), 0, def, lo, hi, 0, 0, \
	  "bytes", help }
#define O_PROB(sec, f, def, help) \
	{ #f, OT_DOUBLE, CFG_FIELD(sec, f, double), 0, def, 0, 0, 0.0, 1.0, \
	  "probability", help }
#define O_CIDRS(sec, f, def, help) \
	{ #f, OT_CIDRSET, CFG_FIELD(sec, f, struct pk_cidrset), 0, def, \
	  0, 0, 0, 0, NULL, help }
#define O_PORTS(sec, f, def, help) \
	{ #f, OT_PORTSET, CFG_FIELD(sec, f, struct pk_portset), 0, def, \
	  0, 0, 0, 0, NULL, help }
#define O_LOGLVL(sec, f, def, help) \
	{ #f, OT_LOGLEVEL, CFG_FIELD(sec, f, int), 0, def, 0, 0, 0, 0, NULL, \
	  help }
#define O_TLP(sec, f, def, help) \
	{ #f, OT_TLP, CFG_STRFIELD(sec, f), CFG_SIZEOF(sec, f), def, \
	  0, 0, 0, 0, NULL, help }

#define KIB	1024ULL
#define MIB	(1024ULL * 1024)
#define GIB	(1024ULL * 1024 * 1024)
#define MINUTE	60ULL
#define HOUR	3600ULL
#define DAY	86400ULL

static const struct opt agent_opts[] = {
	O_STR(agent, host_name, "",
	    "Host name reported with every indicator; empty means the name "
	    "the operating system reports."),
	O_STR(agent, host_id, "",
	    "Stable host identifier reported with every indicator; empty "
	    "means the agent derives one, so set it only to override that."),
	O_LOGLVL(agent, log_level, "info",
	    "Least severe message written to the log (err, warn, info or "
	    "debug); debug is verbose and meant for troubleshooting."),
	O_STR(agent, user, "picket",
	    "Unprivileged user the collector and the shipper switch to after "
	    "opening what needs root (docs/privsep.md); empty, or a user that "
	    "does not exist, keeps them running as the starting user (logged)."),
	O_STR(agent, control_socket, "/run/picket/picketd.sock",
	    "Unix socket on which the root supervisor answers `picketd "
	    "status` (docs/status.md); only root may connect.  Its directory "
	    "is created mode 0700 when missing.  Empty turns it off, and so "
	    "does starting picketd as another user than root.  Changed by a "
	    "reload (SIGHUP) it moves at once."),
	O_TLP(agent, tlp, "TLP:AMBER",
	    "Traffic Light Protocol marking put on every indicator, which "
	    "limits how far the hub may share it with peers."),
};

static const struct opt network_opts[] = {
	O_CIDRS(network, home_net, "",
	    "Addresses and prefixes of the networks you protect, comma "
	    "separated (at most 64); empty means the addresses of the "
	    "capture interfaces."),
};

static const struct opt pcap_opts[] = {
	O_STR(pcap, interfaces, "any",
	    "Comma-separated interfaces to capture on; \"any\" captures on "
	    "every interface the system offers."),
	O_UINT(pcap, snaplen, "4096", 64, 262144, "bytes",
	    "Bytes kept of each packet; application fields beyond this "
	    "length are not seen by the detectors."),
	O_BOOL(pcap, promiscuous, "no",
	    "Put the interfaces in promiscuous mode to see traffic not "
	    "addressed to this host; leave off on ordinary hosts."),
	O_BOOL(pcap, immediate, "no",
	    "Hand each packet to the agent as soon as it arrives instead of "
	    "in batches the kernel delivers at least every 100 ms; costs a "
	    "wakeup per packet (about 40 times the CPU at 10,000 packets a "
	    "second, see docs/performance.md)."),
	O_SIZE(pcap, buffer_size, "4M", 64 * KIB, GIB,
	    "Kernel capture buffer per interface; packets that arrive while "
	    "it is full are dropped and counted."),
	O_SIZE(pcap, ring_size, "4M", 256 * KIB, GIB,
	    "Buffer between each interface's capture thread and detection. "
	    "When detection falls behind and it fills, the capture thread "
	    "stops reading until detection makes room (pcap.IF.ring_waits), "
	    "so the kernel's buffer takes the rest and the kernel drops what "
	    "does not fit: no CPU goes into copying packets that would be "
	    "dropped."),
	O_DUR(pcap, health_interval, "300s", 0, DAY,
	    "How often capture health (packets received, dropped by the "
	    "kernel, dropped by the agent) is reported as an indicator; 0 "
	    "never."),
	O_STR(pcap, filter, "",
	    "BPF filter expression (tcpdump syntax) applied in the kernel; "
	    "empty captures all traffic."),
};

static const struct opt decode_opts[] = {
	O_SIZE(decode, frag_memory, "4M", 64 * KIB, GIB,
	    "Memory for IP fragments awaiting reassembly; when it is used "
	    "up, new fragments are dropped and counted."),
	O_DUR(decode, frag_timeout, "30s", 1, 300,
	    "How long an incomplete fragmented datagram is kept before it is "
	    "discarded."),
	O_UINT(decode, frag_max_datagrams, "1024", 16, 1000000, "datagrams",
	    "Fragmented datagrams reassembled at once; fragments of further "
	    "datagrams are dropped and counted."),
};

static const struct opt flows_opts[] = {
	O_UINT(flows, max_flows, "65536", 64, 10000000, "flows",
	    "Connections tracked at once; when the table is full, the least "
	    "recently used connection is evicted and counted."),
	O_DUR(flows, tcp_attempt_timeout, "10s", 1, 300,
	    "How long an unanswered TCP connection attempt is tracked."),
	O_DUR(flows, tcp_timeout, "600s", 10, DAY,
	    "How long an idle established TCP connection is tracked."),
	O_DUR(flows, tcp_closed_timeout, "10s", 1, 600,
	    "How long a TCP connection is kept after FIN or RST, to absorb "
	    "late packets."),
	O_DUR(flows, udp_timeout, "60s", 1, DAY,
	    "How long an idle UDP flow is tracked."),
	O_DUR(flows, other_timeout, "30s", 1, DAY,
	    "How long an idle flow of any other protocol (ICMP, ...) is "
	    "tracked."),
};

static const struct opt scan_opts[] = {
	O_BOOL(scan, enabled, "yes",
	    "Run the scan and worm detectors."),
	O_UINT(scan, max_sources, "8192", 16, 1000000, "sources",
	    "Source addresses (and each of the detector's per-source tables) "
	    "tracked at once; when full, the least recently used entry is "
	    "evicted, its indicator reported first, and counted."),
	O_PROB(scan, trw_benign_success, "0.8",
	    "Threshold random walk: probability that a connection attempt "
	    "of a benign host succeeds; must exceed trw_scanner_success."),
	O_PROB(scan, trw_scanner_success, "0.2",
	    "Threshold random walk: probability that a connection attempt "
	    "of a scanner succeeds."),
	O_PROB(scan, trw_detection, "0.99",
	    "Threshold random walk: wanted probability of detecting a "
	    "scanner; higher needs more failed attempts before a report."),
	O_PROB(scan, trw_false_alarm, "0.01",
	    "Threshold random walk: tolerated probability of reporting a "
	    "benign host; must be below trw_detection."),
	O_UINT(scan, address_scan_hosts, "25", 2, 100000, "hosts",
	    "Distinct destination hosts one source must try within "
	    "address_scan_window to be reported as an address scan."),
	O_DUR(scan, address_scan_window, "300s", 1, DAY,
	    "Time window for address_scan_hosts."),
	O_UINT(scan, port_scan_ports, "15", 2, 65536, "ports",
	    "Distinct ports of one host a source must try within "
	    "port_scan_window to be reported as a port scan."),
	O_DUR(scan, port_scan_window, "300s", 1, DAY,
	    "Time window for port_scan_ports."),
	O_PORTS(scan, worm_tcp_ports, "135,139,445",
	    "TCP ports (list and ranges, e.g. 135,139,445 or 1000-2000) "
	    "watched for worm-like connection rates; empty turns this off."),
	O_UINT(scan, worm_tcp_rate, "70", 1, 1000000, "SYNs",
	    "TCP connection attempts to worm_tcp_ports within worm_window "
	    "that report a source as worm-like."),
	O_PORTS(scan, worm_udp_ports, "1434",
	    "UDP ports watched for worm-like packet rates; empty turns this "
	    "off."),
	O_UINT(scan, worm_udp_rate, "40", 1, 1000000, "packets",
	    "UDP packets to distinct hosts on worm_udp_ports within "
	    "worm_window that report a source as worm-like."),
	O_DUR(scan, worm_window, "60s", 1, HOUR,
	    "Time window for worm_tcp_rate and worm_udp_rate."),
	O_DUR(scan, idle_timeout, "600s", 1, DAY,
	    "An open indicator with no new activity for this long is closed "
	    "and reported a last time."),
};

static const struct opt stream_opts[] = {
	O_SIZE(stream, depth, "64k", 1 * KIB, 16 * MIB,
	    "Bytes of each TCP direction reassembled in order for content "
	    "rules; data past this depth is not inspected as a stream."),
	O_SIZE(stream, memcap, "64M", 1 * MIB, 4 * GIB,
	    "Memory for all TCP streams together; streams that would exceed "
	    "it are not reassembled, and that is counted."),
	O_UINT(stream, max_segments, "32", 0, 4096, "segments",
	    "Out-of-order segments held per direction while waiting for a "
	    "gap to fill; more are dropped and counted."),
};

static const struct opt rules_opts[] = {
	O_BOOL(rules, enabled, "yes",
	    "Match content rules (the Suricata-compatible subset) against "
	    "packets and reassembled TCP streams."),
	O_STR(rules, paths, "/usr/share/picket/rules,/etc/picket/rules",
	    "Comma-separated rule files and directories (every *.rules file "
	    "in a directory); a missing default directory is skipped."),
	O_UINT(rules, max_rules, "100000", 1, 10000000, "rules",
	    "Rules loaded at most; rules past the limit are reported and "
	    "skipped."),
	O_UINT(rules, max_threshold_entries, "65536", 16, 10000000,
	    "entries",
	    "Addresses tracked at once for threshold and detection_filter "
	    "counting; the least recently used is evicted and counted."),
};

static const struct opt ioc_opts[] = {
	O_BOOL(ioc, enabled, "yes",
	    "Match indicator-of-compromise lists against addresses, DNS "
	    "names, TLS server names, HTTP hosts and URLs."),
	O_STR(ioc, paths, "/usr/share/picket/ioc,/etc/picket/ioc",
	    "Comma-separated IOC list files and directories (every *.txt "
	    "file in a directory); a missing default directory is skipped."),
	O_UINT(ioc, max_entries, "10000000", 1, 100000000, "entries",
	    "Entries loaded at most over all lists; further entries are "
	    "reported and skipped."),
};

static const struct opt fingerprint_opts[] = {
	O_BOOL(fingerprint, enabled, "yes",
	    "Look for the same payload sent by this host to many "
	    "destinations: an unknown worm spreading (after EarlyBird, "
	    "Singh et al. 2004)."),
	O_UINT(fingerprint, substring, "40", 8, 256, "bytes",
	    "Length of the payload substrings that are fingerprinted."),
	O_UINT(fingerprint, sample, "64", 1, 4096, NULL,
	    "Keep one substring fingerprint in this many (value sampling), "
	    "which bounds the work per payload byte."),
	O_UINT(fingerprint, min_destinations, "20", 2, 1000000, "hosts",
	    "Distinct destinations one fingerprint must reach within the "
	    "window before it is reported."),
	O_DUR(fingerprint, window, "600s", 10, DAY,
	    "Time over which destinations of a fingerprint are counted."),
	O_UINT(fingerprint, max_fingerprints, "65536", 64, 10000000,
	    "fingerprints",
	    "Fingerprints tracked at once; the least recently seen is "
	    "evicted and counted."),
	O_UINT(fingerprint, excerpt, "64", 0, 512, "bytes",
	    "Payload bytes reported with a fingerprint indicator so an "
	    "analyst can see what was sent (escaped, never more)."),
};

static const struct opt process_opts[] = {
	O_BOOL(process, enabled, "yes",
	    "Watch processes with eBPF (Linux) or ETW (Windows): exec, "
	    "network connections by process, persistence writes, module "
	    "loads; off, or unavailable, leaves packet detection running."),
	O_STR(process, persistence_paths,
	    "/etc/cron,/var/spool/cron,/etc/systemd/system,/etc/init.d,"
	    "/etc/rc.local,/etc/ld.so.preload,/etc/profile.d,/etc/profile,"
	    "/etc/bash.bashrc,/root/.bashrc,/root/.ssh/authorized_keys,"
	    "/home/*/.ssh/authorized_keys,/home/*/.config/systemd,"
	    "/home/*/.bashrc",
	    "Comma-separated path prefixes (\"*\" matches one path "
	    "component) whose creation or opening for write is reported as "
	    "a persistence write."),
	O_STR(process, exec_paths, "/tmp/,/var/tmp/,/dev/shm/,/run/shm/",
	    "Comma-separated world-writable or memory-backed path prefixes "
	    "from which running a program is reported (memfd and deleted "
	    "files always are)."),
	O_PORTS(process, listen_allow, "22,53,80,443",
	    "Ports on which a new listener is expected; a listener on any "
	    "other port is reported."),
	O_UINT(process, max_processes, "32768", 256, 4194304, "processes",
	    "Processes tracked at once; the least recently active is evicted "
	    "and counted."),
	O_SIZE(process, argv_bytes, "1k", 64, 16 * KIB,
	    "Bytes of a new program's arguments that are recorded."),
	O_SIZE(process, ring_size, "8M", 256 * KIB, 1 * GIB,
	    "Kernel ring buffer that carries process events to the agent "
	    "(eBPF, Linux), rounded up to a power of two; events that find "
	    "it full are "
	    "lost and counted (health indicator).  It is kernel memory "
	    "mapped twice into the agent, so its RSS shows twice this; a "
	    "smaller ring saves memory, a larger one rides out longer "
	    "stalls (docs/performance.md).  Read when the process collector "
	    "starts."),
	O_SIZE(process, hash_max_size, "64M", 1 * MIB, 4 * GIB,
	    "Largest executable whose SHA-256 is computed; larger ones are "
	    "reported without a hash and counted."),
	O_DUR(process, recent_write, "600s", 1, DAY,
	    "A program run within this long after its file was written is "
	    "reported as a freshly dropped program."),
	O_UINT(process, rate_limit, "1000", 10, 1000000, "events/s",
	    "Events one process may send per second before the kernel side "
	    "drops (and counts) the rest, so a fork bomb cannot flood the "
	    "agent."),
};

static const struct opt output_opts[] = {
	O_STR(output, file, "",
	    "File the indicators are appended to, one JSON object per line; "
	    "empty or \"-\" writes them to standard output."),
	O_DUR(output, update_interval, "60s", 0, DAY,
	    "How often an open indicator is written again with its new "
	    "counts; 0 writes it only when it opens and when it closes."),
};

static const struct opt spool_opts[] = {
	O_STR(spool, dir, "/var/lib/picket/spool",
	    "Directory of the on-disk queue of indicators waiting for the hub "
	    "(docs/spool.md); used only when [hub] address is set."),
	O_SIZE(spool, max_bytes, "256M", 64 * KIB, 1024 * GIB,
	    "Most disk the spool may use; when full, the oldest segment is "
	    "dropped, counted and reported to the hub.  At least twice "
	    "segment_bytes."),
	O_SIZE(spool, segment_bytes, "8M", 4 * KIB, 1 * GIB,
	    "Size at which a spool segment file is closed and a new one "
	    "started; acknowledged segments are deleted whole."),
	O_STR(spool, sync, "batch",
	    "When spooled indicators are forced to disk: \"batch\" (at most "
	    "sync_interval after they are written), \"always\" (each one), "
	    "\"never\" (left to the operating system)."),
	O_UINT(spool, sync_interval, "200", 10, 60000, "milliseconds",
	    "With sync = batch: the longest an indicator waits before it is "
	    "forced to disk."),
};

static const struct opt hub_opts[] = {
	O_STR(hub, address, "",
	    "The member's hub as host:port (\"[v6addr]:port\" for IPv6); "
	    "empty keeps indicators local (no spool, no shipper)."),
	O_STR(hub, server_name, "",
	    "Name the hub's certificate must carry (and SNI); empty means the "
	    "host part of address."),
	O_STR(hub, ca, "/etc/picket/ca.crt",
	    "PEM file of the CA(s) that issue hub certificates."),
	O_STR(hub, cert, "/etc/picket/agent.crt",
	    "This agent's certificate (PEM); its subject CN is the agent id."),
	O_STR(hub, key, "/etc/picket/agent.key",
	    "This agent's private key (PEM), read once at start as root."),
	O_STR(hub, crl, "",
	    "Optional PEM certificate revocation list for the hub's CA."),
	O_STR(hub, pin, "",
	    "Optional SHA-256 of the hub certificate's public key (64 hex "
	    "digits); a hub with another key is refused even if its "
	    "certificate verifies."),
	O_STR(hub, proxy, "",
	    "Optional HTTP proxy as host:port; the agent asks it to CONNECT "
	    "to the hub and runs TLS through the tunnel."),
	O_DUR(hub, connect_timeout, "10s", 1, 300,
	    "How long a TCP connection, proxy tunnel, TLS handshake and "
	    "HELLO/WELCOME exchange may take together."),
	O_DUR(hub, backoff_base, "1s", 1, HOUR,
	    "First reconnect delay bound; it doubles after each failure up "
	    "to backoff_cap, and the wait is drawn uniformly below it (full "
	    "jitter) so agents of a restarted hub do not reconnect together."),
	O_DUR(hub, backoff_cap, "300s", 1, DAY,
	    "Largest reconnect delay bound."),
	O_DUR(hub, renew_before, "30d", HOUR, 3650 * DAY,
	    "The agent asks the hub for a new certificate for its key when "
	    "its own expires within this time; the supervisor installs it "
	    "over cert (docs/enrollment.md).  Only for certificates from "
	    "enrollment, whose subject is the key's agent id."),
	O_UINT(hub, batch_records, "1000", 1, 10000, "records",
	    "Most indicators per batch (the hub may ask for fewer)."),
	O_SIZE(hub, batch_bytes, "512k", 4 * KIB, 8 * MIB,
	    "Most uncompressed bytes per batch (the hub may ask for fewer)."),
	O_UINT(hub, compression, "6", 0, 9, "zlib level",
	    "Deflate level for batches; 0 sends them uncompressed."),
};

static const struct opt tasks_opts[] = {
	O_BOOL(tasks, enabled, "yes",
	    "Accept targeted collection from the hub (docs/tasks.md); no "
	    "refuses every task with that reason."),
	O_STR(tasks, allow, "pcap, ioc_sweep, snapshot",
	    "Task types the hub may order, comma-separated, of pcap, "
	    "ioc_sweep, snapshot, proc_trace and sensitivity (the last two "
	    "must be named to be allowed).  Any other type is refused with "
	    "the reason."),
	O_DUR(tasks, max_duration, "300s", 1, DAY,
	    "Longest duration a pcap, proc_trace or sensitivity task may ask "
	    "for; a longer one is refused, not shortened."),
	O_SIZE(tasks, max_bytes, "100M", 1, GIB,
	    "Largest result (max_bytes) one task may ask for; a larger one "
	    "is refused."),
	O_UINT(tasks, max_concurrent, "2", 1, 16, "tasks",
	    "Tasks running at once; one more is refused until one ends."),
	O_SIZE(tasks, max_disk, "512M", MIB, 64 * GIB,
	    "Bytes all task files in the spool's tasks/ directory may take "
	    "(results wait there until the hub has them); a task whose "
	    "max_bytes would pass it is refused."),
	O_STR(tasks, allow_filters, "",
	    "If set, the only pcap filters allowed: expressions separated by "
	    "';', compared exactly after runs of blanks are made one space "
	    "(an order without a filter, which captures everything, is then "
	    "refused).  Empty: any filter that deny_words does not refuse."),
	O_STR(tasks, deny_words, "",
	    "Words a pcap filter may not contain, comma-separated, compared "
	    "case-insensitively with the filter's whole words (runs of "
	    "letters, digits and . : _ - /), e.g. \"22, 10.0.0.5\" refuses "
	    "\"port 22\" but not \"port 2222\"."),
};

static const struct opt bundle_opts[] = {
	O_BOOL(bundle, accept, "yes",
	    "Apply the shared-indicator bundles the hub pushes "
	    "(docs/bundles.md); no refuses each with that reason."),
	O_UINT(bundle, max_entries, "20000", 1, 20000, "entries",
	    "Most entries a bundle may have; a larger one is refused whole."),
};

#define SECTION(n, h) { #n, h, n##_opts, PK_NELEM(n##_opts) }

static const struct section sections[] = {
	SECTION(agent, "Who this agent is and how it logs."),
	SECTION(network, "What the agent considers the local network."),
	SECTION(pcap, "Packet capture (libpcap or Npcap)."),
	SECTION(decode, "Packet decoding and IP fragment reassembly."),
	SECTION(flows, "The connection (flow) table."),
	SECTION(scan, "Scan and worm detection: threshold random walk "
	    "(Jung et al., 2004), address and port scan counts, and "
	    "connection rates to ports worms are known to use."),
	SECTION(stream, "TCP stream reassembly for content rules."),
	SECTION(rules, "Content rules: the Suricata-compatible subset "
	    "(see docs/rules.md)."),
	SECTION(ioc, "Indicator-of-compromise lists (see docs/ioc.md)."),
	SECTION(fingerprint, "Worm fingerprinting: content prevalence and "
	    "address dispersion."),
	SECTION(process, "Process and host activity (eBPF on Linux, ETW on "
	    "Windows; see docs/process.md)."),
	SECTION(output, "Where indicators are written."),
	SECTION(spool, "The on-disk queue between detection and the hub."),
	SECTION(hub, "Reporting to the member's hub over mutual TLS "
	    "(docs/protocol.md, docs/tls.md)."),
	SECTION(tasks, "Targeted collection: what the hub may order this "
	    "host to collect, and within what bounds (docs/tasks.md)."),
	SECTION(bundle, "Shared-indicator bundles: indicators peer members "
	    "shared, pushed by the hub as detection (docs/bundles.md)."),
};

static const char *const tlp_names[] = {
	"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"
};

static const char *const log_names[] = { "err", "warn", "info", "debug" };

/* ASCII only: the C library's versions depend on the locale. */
static int
cfg_tolower(int ch)
{
	return (ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch;
}

static int
cfg_strcaseeq(const char *a, const char *b)
{
	while (*a != '\0' && cfg_tolower((unsigned char)*a) ==
	    cfg_tolower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/*
 * Messages (pk_errf) echo a refused value as at most 80 bytes ("%.80s"):
 * enough to recognise it, short enough that the reason after it is not
 * cut off.
 */

static void *
opt_ptr(struct pk_config *c, const struct opt *o)
{
	return (char *)c + o->off;
}

static const void *
opt_cptr(const struct pk_config *c, const struct opt *o)
{
	return (const char *)c + o->off;
}

static const struct section *
find_section(const char *name)
{
	size_t i;

	for (i = 0; i < PK_NELEM(sections); i++)
		if (cfg_strcaseeq(sections[i].name, name))
			return &sections[i];
	return NULL;
}

static const struct opt *
find_opt(const struct section *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nopts; i++)
		if (cfg_strcaseeq(s->opts[i].name, name))
			return &s->opts[i];
	return NULL;
}

/*
 * Numbers in their normal form: durations in seconds with an "s", sizes
 * in the largest binary unit that divides them exactly.  Both parse back
 * to the same value, so -nv output can be fed to picketd again.
 */
static void
fmt_duration(uint64_t v, char *out, size_t len)
{
	snprintf(out, len, "%llus", (unsigned long long)v);
}

static void
fmt_size(uint64_t v, char *out, size_t len)
{
	if (v != 0 && v % GIB == 0)
		snprintf(out, len, "%lluG", (unsigned long long)(v / GIB));
	else if (v != 0 && v % MIB == 0)
		snprintf(out, len, "%lluM", (unsigned long long)(v / MIB));
	else if (v != 0 && v % KIB == 0)
		snprintf(out, len, "%lluk", (unsigned long long)(v / KIB));
	else
		snprintf(out, len, "%llu", (unsigned long long)v);
}

static void
fmt_number(enum opt_type t, uint64_t v, char *out, size_t len)
{
	if (t == OT_DURATION)
		fmt_duration(v, out, len);
	else if (t == OT_SIZE)
		fmt_size(v, out, len);
	else
		snprintf(out, len, "%llu", (unsigned long long)v);
}

/* Shortest "%g" text that reads back as the same double. */
static void
fmt_double(double v, char *out, size_t len)
{
	int prec;

	for (prec = 6; prec < 17; prec++) {
		snprintf(out, len, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
	snprintf(out, len, "%.17g", v);
}

/* --- port sets ------------------------------------------------------- */

int
pk_portset_has(const struct pk_portset *s, uint16_t port)
{
	return (s->bits[port >> 3] >> (port & 7)) & 1;
}

static void
portset_add(struct pk_portset *s, uint32_t port)
{
	uint8_t m = (uint8_t)(1u << (port & 7));

	if ((s->bits[port >> 3] & m) == 0) {
		s->bits[port >> 3] |= m;
		s->n++;
	}
}

/* One port number "0".."65535"; decimal only, no sign, no spaces. */
static int
portset_num(const char *s, size_t len, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*out = v;
	return 0;
}

/* One element "p" or "lo-hi" of length len (not NUL-terminated). */
static int
portset_elem(const char *s, size_t len, struct pk_portset *out, char *err,
    size_t errlen)
{
	const char *dash = memchr(s, '-', len);
	uint32_t lo, hi, p;
	int shown = len > 32 ? 32 : (int)len;

	if (dash == NULL) {
		if (portset_num(s, len, &lo) != 0)
			goto bad;
		portset_add(out, lo);
		return 0;
	}
	if (portset_num(s, (size_t)(dash - s), &lo) != 0 ||
	    portset_num(dash + 1, len - (size_t)(dash - s) - 1, &hi) != 0)
		goto bad;
	if (lo > hi) {
		pk_errf(err, errlen, "bad port range \"%.*s\": start above end",
		    shown, s);
		return -1;
	}
	for (p = lo; p <= hi; p++)	/* at most 65536 iterations */
		portset_add(out, p);
	return 0;
bad:
	pk_errf(err, errlen, "bad port \"%.*s%s\": want 0-65535 or a range "
	    "like 1000-2000", shown, s, len > 32 ? "..." : "");
	return -1;
}

/*
 * "135,139,445", "1000-2000", elements separated by commas and/or
 * spaces; an empty string is the empty set.  On error *out is the empty
 * set and err names the bad element.
 */
int
pk_portset_parse(const char *s, struct pk_portset *out, char *err,
    size_t errlen)
{
	const char *p = s, *start;

	memset(out, 0, sizeof(*out));
	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return 0;
		start = p;
		while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t')
			p++;
		if (portset_elem(start, (size_t)(p - start), out, err,
		    errlen) != 0) {
			memset(out, 0, sizeof(*out));
			return -1;
		}
	}
}

/* Next run of consecutive ports at or after *from; 0 when none is left. */
static int
portset_next_run(const struct pk_portset *s, uint32_t *from, uint32_t *lo,
    uint32_t *hi)
{
	uint32_t p = *from;

	/* Whole empty or full bytes at a time: sets are sparse or ranges. */
	while (p < 65536 && !pk_portset_has(s, (uint16_t)p))
		p += (p & 7) == 0 && s->bits[p >> 3] == 0 ? 8 : 1;
	if (p >= 65536)
		return 0;
	*lo = p;
	while (p < 65536 && pk_portset_has(s, (uint16_t)p))
		p += (p & 7) == 0 && s->bits[p >> 3] == 0xff ? 8 : 1;
	*hi = p - 1;
	*from = p;
	return 1;
}

/* Runs of three or more ports are written as a range. */
static int
portset_run_text(uint32_t lo, uint32_t hi, int first, char *out, size_t len)
{
	const char *sep = first ? "" : ",";

	if (lo == hi)
		return snprintf(out, len, "%s%u", sep, lo);
	if (hi == lo + 1)
		return snprintf(out, len, "%s%u,%u", sep, lo, hi);
	return snprintf(out, len, "%s%u-%u", sep, lo, hi);
}

/*
 * Normal form: ascending, ranges merged.  If out is too small the text
 * ends after the last element that fit, followed by "..." when room.
 */
void
pk_portset_format(const struct pk_portset *s, char *out, size_t len)
{
	uint32_t from = 0, lo, hi;
	size_t used = 0;
	char elem[16];
	int n;

	if (len == 0)
		return;
	out[0] = '\0';
	while (portset_next_run(s, &from, &lo, &hi)) {
		n = portset_run_text(lo, hi, used == 0, elem, sizeof(elem));
		if (n < 0 || used + (size_t)n + 1 > len) {
			if (used + 4 <= len)
				memcpy(out + used, "...", 4);
			return;
		}
		memcpy(out + used, elem, (size_t)n + 1);
		used += (size_t)n;
	}
}

static void
portset_print(const struct pk_portset *s, FILE *fp)
{
	uint32_t from = 0, lo, hi;
	char elem[16];
	int first = 1;

	while (portset_next_run(s, &from, &lo, &hi)) {
		portset_run_text(lo, hi, first, elem, sizeof(elem));
		fputs(elem, fp);
		first = 0;
	}
}

/* --- setting one option --------------------------------------------- */

static int
set_string(struct pk_config *c, const struct opt *o, const char *v,
    const char *qual, char *err, size_t errlen)
{
	size_t n = strlen(v), i;

	if (n >= o->size) {
		pk_errf(err, errlen, "value for %s too long (%lu bytes, at most "
		    "%lu)", qual, (unsigned long)n, (unsigned long)(o->size - 1));
		return -1;
	}
	/* Strings end up in logs and JSON; control bytes are never meant. */
	for (i = 0; i < n; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			pk_errf(err, errlen, "value for %s contains a control "
			    "character", qual);
			return -1;
		}
	}
	memcpy(opt_ptr(c, o), v, n + 1);
	return 0;
}

static int
set_number(struct pk_config *c, const struct opt *o, const char *v,
    const char *qual, char *err, size_t errlen)
{
	const char *why = NULL;
	char lo[32], hi[32];
	uint64_t x;
	int r;

	if (o->type == OT_DURATION)
		r = pk_parse_duration(v, 0, UINT64_MAX, &x, &why);
	else if (o->type == OT_SIZE)
		r = pk_parse_size(v, 0, UINT64_MAX, &x, &why);
	else
		r = pk_parse_u64(v, 0, UINT64_MAX, &x, &why);
	if (r != 0 && (why == NULL || strstr(why, "range") == NULL)) {
		pk_errf(err, errlen, "value \"%.80s\" for %s: %s", v, qual,
		    why != NULL ? why : "not a number");
		return -1;
	}
	/* Too big for 64 bits is out of range too: say what the range is. */
	if (r != 0 || x < o->min || x > o->max) {
		fmt_number(o->type, o->min, lo, sizeof(lo));
		fmt_number(o->type, o->max, hi, sizeof(hi));
		pk_errf(err, errlen, "value %.80s for %s out of range %s..%s", v,
		    qual, lo, hi);
		return -1;
	}
	*(uint64_t *)opt_ptr(c, o) = x;
	return 0;
}

/*
 * strtod() alone would take "nan", "inf", hex floats and leading spaces;
 * a probability is written as a plain decimal.
 */
static int
set_double(struct pk_config *c, const struct opt *o, const char *v,
    const char *qual, char *err, size_t errlen)
{
	const char *p;
	char *end;
	double x;

	for (p = v; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' ||
		    *p == 'E' || *p == '-' || *p == '+'))
			break;
	if (*v == '\0' || *p != '\0' || !((*v >= '0' && *v <= '9') ||
	    *v == '.')) {
		pk_errf(err, errlen, "value \"%.80s\" for %s: not a decimal "
		    "number", v, qual);
		return -1;
	}
	x = strtod(v, &end);
	if (*end != '\0' || !isfinite(x)) {
		pk_errf(err, errlen, "value \"%.80s\" for %s: not a decimal "
		    "number", v, qual);
		return -1;
	}
	if (!(x > o->dmin && x < o->dmax)) {
		pk_errf(err, errlen, "value %.80s for %s out of range: must be "
		    "above %g and below %g", v, qual, o->dmin, o->dmax);
		return -1;
	}
	*(double *)opt_ptr(c, o) = x;
	return 0;
}

static int
set_bool(struct pk_config *c, const struct opt *o, const char *v,
    const char *qual, char *err, size_t errlen)
{
	const char *why = NULL;
	int b;

	if (pk_parse_bool(v, &b, &why) != 0) {
		pk_errf(err, errlen, "value \"%.80s\" for %s: not yes or no", v,
		    qual);
		return -1;
	}
	*(int *)opt_ptr(c, o) = b ? 1 : 0;
	return 0;
}

static int
set_loglevel(struct pk_config *c, const struct opt *o, const char *v,
    const char *qual, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < PK_NELEM(log_names); i++) {
		if (cfg_strcaseeq(v, log_names[i])) {
			*(int *)opt_ptr(c, o) = LOG_LVL_ERR + (int)i;
			return 0;
		}
	}
	/* The spellings people also type. */
	if (cfg_strcaseeq(v, "error")) {
		*(int *)opt_ptr(c, o) = LOG_LVL_ERR;
		return 0;
	}
	if (cfg_strcaseeq(v, "warning")) {
		*(int *)opt_ptr(c, o) = LOG_LVL_WARN;
		return 0;
	}
	pk_errf(err, errlen, "value \"%.80s\" for %s: not a log level (err, "
	    "warn, info, debug)", v, qual);
	return -1;
}

/*
 * TLP 2.0 names, case-insensitive, "TLP:" optional; TLP 1.0's WHITE is
 * taken as its successor CLEAR.  Stored in canonical spelling.
 */
static int
set_tlp(struct pk_config *c, const struct opt *o, const char *v,
    const char *qual, char *err, size_t errlen)
{
	const char *bare = v;
	size_t i;

	if (strlen(v) > 4 && cfg_tolower((unsigned char)v[0]) == 't' &&
	    cfg_tolower((unsigned char)v[1]) == 'l' &&
	    cfg_tolower((unsigned char)v[2]) == 'p' && v[3] == ':')
		bare = v + 4;
	for (i = 0; i < PK_NELEM(tlp_names); i++) {
		if (cfg_strcaseeq(bare, tlp_names[i] + 4)) {
			pk_strlcpy(opt_ptr(c, o), tlp_names[i], o->size);
			return 0;
		}
	}
	if (cfg_strcaseeq(bare, "WHITE")) {
		pk_strlcpy(opt_ptr(c, o), "TLP:CLEAR", o->size);
		return 0;
	}
	pk_errf(err, errlen, "value \"%.80s\" for %s: not a TLP marking "
	    "(TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, TLP:RED)",
	    v, qual);
	return -1;
}

static int
set_cidrset(struct pk_config *c, const struct opt *o, const char *v,
    const char *qual, char *err, size_t errlen)
{
	struct pk_cidrset *set = opt_ptr(c, o), tmp;
	char why[160];
	const char *p;

	for (p = v; *p == ' ' || *p == '\t' || *p == ','; p++)
		;
	if (*p == '\0') {
		memset(set, 0, sizeof(*set));
		return 0;
	}
	why[0] = '\0';
	if (pk_cidrset_parse(v, &tmp, why, sizeof(why)) != 0) {
		pk_errf(err, errlen, "value for %s: %s", qual,
		    why[0] != '\0' ? why : "not a list of addresses");
		return -1;
	}
	*set = tmp;
	return 0;
}

static int
set_portset(struct pk_config *c, const struct opt *o, const char *v,
    const char *qual, char *err, size_t errlen)
{
	struct pk_portset tmp;	/* 8 KiB: a bad value changes nothing */
	char why[160];

	if (pk_portset_parse(v, &tmp, why, sizeof(why)) != 0) {
		pk_errf(err, errlen, "value for %s: %s", qual, why);
		return -1;
	}
	memcpy(opt_ptr(c, o), &tmp, sizeof(tmp));
	return 0;
}

/* One pair of surrounding double quotes is taken off: `name = ""`. */
static const char *
unquote(const char *v, char *buf, size_t len)
{
	size_t n = strlen(v);

	if (n < 2 || v[0] != '"' || v[n - 1] != '"' || n - 2 >= len)
		return v;
	memcpy(buf, v + 1, n - 2);
	buf[n - 2] = '\0';
	return buf;
}

/*
 * [vars] is the one free-form section: any NAME = value defines the rule
 * variable $NAME (an address or port list, as Suricata's vars).  Names are
 * the shell-like [A-Za-z_][A-Za-z0-9_]*; values are checked by the rule
 * loader, which knows whether a variable is used as addresses or ports.
 */
static int
var_name_ok(const char *n)
{
	size_t i;

	if (n[0] == '\0' || (n[0] >= '0' && n[0] <= '9'))
		return 0;
	for (i = 0; n[i] != '\0'; i++)
		if (!((n[i] >= 'A' && n[i] <= 'Z') ||
		    (n[i] >= 'a' && n[i] <= 'z') ||
		    (n[i] >= '0' && n[i] <= '9') || n[i] == '_'))
			return 0;
	return i < PK_CFG_VAR_NAME_MAX;
}

static int
set_var(struct pk_config *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	char buf[PK_CFG_PATH_MAX + 8];
	const char *v;
	size_t i;

	if (key == NULL)
		return 0;
	if (!var_name_ok(key)) {
		pk_errf(err, errlen, "bad variable name \"%.64s\" in [vars] "
		    "(letters, digits and _, at most %d)", key,
		    PK_CFG_VAR_NAME_MAX - 1);
		return -1;
	}
	if (value == NULL) {
		pk_errf(err, errlen, "no value for vars.%s", key);
		return -1;
	}
	v = unquote(value, buf, sizeof(buf));
	if (strlen(v) >= PK_CFG_STR_MAX) {
		pk_errf(err, errlen, "value for vars.%s longer than %d bytes",
		    key, PK_CFG_STR_MAX - 1);
		return -1;
	}
	for (i = 0; i < c->vars.n; i++)
		if (strcmp(c->vars.v[i].name, key) == 0)
			break;
	if (i == c->vars.n) {
		if (c->vars.n >= PK_CFG_VARS_MAX) {
			pk_errf(err, errlen, "more than %d variables in [vars]",
			    PK_CFG_VARS_MAX);
			return -1;
		}
		c->vars.n++;
	}
	pk_strlcpy(c->vars.v[i].name, key, sizeof(c->vars.v[i].name));
	pk_strlcpy(c->vars.v[i].value, v, sizeof(c->vars.v[i].value));
	return 0;
}

const char *
pk_config_var(const struct pk_config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->vars.n; i++)
		if (strcmp(c->vars.v[i].name, name) == 0)
			return c->vars.v[i].value;
	return NULL;
}

int
pk_config_set(struct pk_config *c, const char *section, const char *key,
    const char *value, char *err, size_t errlen)
{
	const struct section *s;
	const struct opt *o;
	char qual[128], buf[PK_CFG_PATH_MAX + 8];
	const char *v;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (section == NULL || section[0] == '\0') {
		if (key == NULL)
			pk_errf(err, errlen, "empty section name");
		else
			pk_errf(err, errlen, "key \"%.64s\" is not in any "
			    "section", key);
		return -1;
	}
	if (cfg_strcaseeq(section, "vars"))
		return set_var(c, key, value, err, errlen);
	if ((s = find_section(section)) == NULL) {
		pk_errf(err, errlen, "unknown section [%.64s]", section);
		return -1;
	}
	/* key NULL only asks whether the section exists (config_ini.c). */
	if (key == NULL)
		return 0;
	if ((o = find_opt(s, key)) == NULL) {
		pk_errf(err, errlen, "unknown key \"%.64s\" in section [%s]",
		    key, s->name);
		return -1;
	}
	if (value == NULL) {
		pk_errf(err, errlen, "no value for %s.%s", s->name, o->name);
		return -1;
	}
	snprintf(qual, sizeof(qual), "%s.%s", s->name, o->name);
	/* Too long to unquote means too long for any field: set_string says. */
	v = unquote(value, buf, sizeof(buf));

	switch (o->type) {
	case OT_STRING:
		return set_string(c, o, v, qual, err, errlen);
	case OT_BOOL:
		return set_bool(c, o, v, qual, err, errlen);
	case OT_UINT:
	case OT_DURATION:
	case OT_SIZE:
		return set_number(c, o, v, qual, err, errlen);
	case OT_DOUBLE:
		return set_double(c, o, v, qual, err, errlen);
	case OT_CIDRSET:
		return set_cidrset(c, o, v, qual, err, errlen);
	case OT_PORTSET:
		return set_portset(c, o, v, qual, err, errlen);
	case OT_LOGLEVEL:
		return set_loglevel(c, o, v, qual, err, errlen);
	case OT_TLP:
		return set_tlp(c, o, v, qual, err, errlen);
	}
	pk_errf(err, errlen, "%s: option of unknown type", qual);
	return -1;
}

/*
 * Every option from its row's default text, through the same parser a
 * file goes through.  A default that does not parse is a bug in the
 * table; the unit tests compare every default with its expected value.
 */
void
pk_config_defaults(struct pk_config *c)
{
	char err[256];
	size_t i, j;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < PK_NELEM(sections); i++)
		for (j = 0; j < sections[i].nopts; j++)
			if (pk_config_set(c, sections[i].name,
			    sections[i].opts[j].name, sections[i].opts[j].def,
			    err, sizeof(err)) != 0)
				log_warnx("bad default: %s", err);
}

/* --- validation ----------------------------------------------------- */

static int
interfaces_empty(const char *list)
{
	for (; *list != '\0'; list++)
		if (*list != ',' && *list != ' ' && *list != '\t')
			return 0;
	return 1;
}

int
pk_config_spool_sync(const struct pk_config *c)
{
	static const char *const names[] = { "batch", "always", "never" };
	size_t i;

	/* Same order as enum pk_spool_sync. */
	for (i = 0; i < PK_NELEM(names); i++)
		if (cfg_strcaseeq(c->spool.sync, names[i]))
			return (int)i;
	return -1;
}

int
pk_config_split_hostport(const char *s, char *host, size_t hostlen,
    uint16_t *port)
{
	const char *colon, *h = s;
	size_t hl;
	uint64_t v;
	const char *err;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			return -1;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return -1;	/* bare IPv6 needs brackets */
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	if (pk_parse_u64(colon + 1, 1, 65535, &v, &err) != 0)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)v;
	return 0;
}

static int
validate_hub(const struct pk_config *c, const char *name, FILE *errfp)
{
	char host[PK_CFG_STR_MAX];
	uint16_t port;
	size_t i;
	int n = 0;

	if (c->hub.address[0] != '\0' && pk_config_split_hostport(
	    c->hub.address, host, sizeof(host), &port) != 0) {
		fprintf(errfp, "%s: hub.address \"%.80s\": want host:port or "
		    "[v6addr]:port\n", name, c->hub.address);
		n++;
	}
	if (c->hub.proxy[0] != '\0' && pk_config_split_hostport(
	    c->hub.proxy, host, sizeof(host), &port) != 0) {
		fprintf(errfp, "%s: hub.proxy \"%.80s\": want host:port\n",
		    name, c->hub.proxy);
		n++;
	}
	if (c->hub.pin[0] != '\0') {
		for (i = 0; c->hub.pin[i] != '\0'; i++)
			if (pk_hexval((unsigned char)c->hub.pin[i]) < 0)
				break;
		if (i != 64 || c->hub.pin[i] != '\0') {
			fprintf(errfp, "%s: hub.pin: want 64 hex digits (SHA-256 "
			    "of the hub's public key)\n", name);
			n++;
		}
	}
	return n;
}

int
pk_config_validate(const struct pk_config *c, const char *name, FILE *errfp)
{
	int n = 0;

	if (name == NULL)
		name = "config";
	/*
	 * The SPRT's log-likelihood steps only point the right way when a
	 * scanner succeeds less often than a benign host, and when the
	 * detection probability exceeds the false alarm probability.
	 */
	if (!(c->scan.trw_scanner_success < c->scan.trw_benign_success)) {
		fprintf(errfp, "%s: scan.trw_scanner_success (%g) must be "
		    "below scan.trw_benign_success (%g)\n", name,
		    c->scan.trw_scanner_success, c->scan.trw_benign_success);
		n++;
	}
	if (!(c->scan.trw_false_alarm < c->scan.trw_detection)) {
		fprintf(errfp, "%s: scan.trw_false_alarm (%g) must be below "
		    "scan.trw_detection (%g)\n", name,
		    c->scan.trw_false_alarm, c->scan.trw_detection);
		n++;
	}
	/* An attempt that outlives the established timeout makes no sense. */
	if (c->flows.tcp_attempt_timeout > c->flows.tcp_timeout) {
		fprintf(errfp, "%s: flows.tcp_attempt_timeout (%llus) must not "
		    "exceed flows.tcp_timeout (%llus)\n", name,
		    (unsigned long long)c->flows.tcp_attempt_timeout,
		    (unsigned long long)c->flows.tcp_timeout);
		n++;
	}
	if (pk_config_spool_sync(c) < 0) {
		fprintf(errfp, "%s: spool.sync \"%s\": use batch, always or "
		    "never\n", name, c->spool.sync);
		n++;
	}
	if (c->spool.max_bytes < 2 * c->spool.segment_bytes) {
		fprintf(errfp, "%s: spool.max_bytes must be at least twice "
		    "spool.segment_bytes\n", name);
		n++;
	}
	if (c->hub.backoff_base > c->hub.backoff_cap) {
		fprintf(errfp, "%s: hub.backoff_base must not exceed "
		    "hub.backoff_cap\n", name);
		n++;
	}
	n += validate_hub(c, name, errfp);
	if (interfaces_empty(c->pcap.interfaces)) {
		fprintf(errfp, "%s: pcap.interfaces names no interface "
		    "(use \"any\" for all)\n", name);
		n++;
	}
	{
		struct pk_task_policy *pol = malloc(sizeof(*pol));
		char perr[256];

		if (pol != NULL && pk_task_policy_config(pol, c, perr,
		    sizeof(perr)) != 0) {
			fprintf(errfp, "%s: tasks.%s\n", name, perr);
			n++;
		}
		free(pol);
	}
	return n;
}

/* --- printing ------------------------------------------------------- */

static void
opt_print_value(const struct pk_config *c, const struct opt *o, FILE *fp)
{
	const void *p = opt_cptr(c, o);
	char buf[PK_CIDRSET_MAX * (PK_ADDRSTRLEN + 5) + 16];
	int lvl;

	switch (o->type) {
	case OT_STRING:
		fprintf(fp, "\"%s\"", (const char *)p);
		return;
	case OT_TLP:
		fputs((const char *)p, fp);
		return;
	case OT_BOOL:
		fputs(*(const int *)p ? "yes" : "no", fp);
		return;
	case OT_UINT:
	case OT_DURATION:
	case OT_SIZE:
		fmt_number(o->type, *(const uint64_t *)p, buf, sizeof(buf));
		fputs(buf, fp);
		return;
	case OT_DOUBLE:
		fmt_double(*(const double *)p, buf, sizeof(buf));
		fputs(buf, fp);
		return;
	case OT_CIDRSET:
		if (((const struct pk_cidrset *)p)->n == 0) {
			fputs("\"\"", fp);
			return;
		}
		buf[0] = '\0';
		pk_cidrset_format(p, buf, sizeof(buf));
		fputs(buf, fp);
		return;
	case OT_PORTSET:
		if (((const struct pk_portset *)p)->n == 0)
			fputs("\"\"", fp);
		else
			portset_print(p, fp);
		return;
	case OT_LOGLEVEL:
		lvl = *(const int *)p;
		if (lvl >= 0 && (size_t)lvl < PK_NELEM(log_names))
			fputs(log_names[lvl], fp);
		else
			fprintf(fp, "%d", lvl);
		return;
	}
}

void
pk_config_print(const struct pk_config *c, FILE *fp)
{
	size_t i, j;

	for (i = 0; i < PK_NELEM(sections); i++) {
		fprintf(fp, "%s[%s]\n", i > 0 ? "\n" : "", sections[i].name);
		for (j = 0; j < sections[i].nopts; j++) {
			fprintf(fp, "%s = ", sections[i].opts[j].name);
			opt_print_value(c, &sections[i].opts[j], fp);
			fputc('\n', fp);
		}
	}
	fputs("\n[vars]\n", fp);
	for (i = 0; i < c->vars.n; i++)
		fprintf(fp, "%s = \"%s\"\n", c->vars.v[i].name,
		    c->vars.v[i].value);
}

/* --- documentation -------------------------------------------------- */

static const char *
type_name(enum opt_type t)
{
	switch (t) {
	case OT_STRING:		return "string";
	case OT_BOOL:		return "boolean";
	case OT_UINT:		return "integer";
	case OT_DURATION:	return "duration";
	case OT_SIZE:		return "size";
	case OT_DOUBLE:		return "decimal";
	case OT_CIDRSET:	return "address list";
	case OT_PORTSET:	return "port list";
	case OT_LOGLEVEL:	return "log level";
	case OT_TLP:		return "TLP";
	}
	return "?";
}

static void
doc_range(const struct opt *o, FILE *fp)
{
	char lo[32], hi[32];

	switch (o->type) {
	case OT_STRING:
		fprintf(fp, "up to %lu bytes", (unsigned long)(o->size - 1));
		return;
	case OT_BOOL:
		fputs("yes, no", fp);
		return;
	case OT_UINT:
	case OT_DURATION:
	case OT_SIZE:
		fmt_number(o->type, o->min, lo, sizeof(lo));
		fmt_number(o->type, o->max, hi, sizeof(hi));
		fprintf(fp, "%s..%s", lo, hi);
		if (o->unit != NULL && o->type == OT_UINT)
			fprintf(fp, " %s", o->unit);
		return;
	case OT_DOUBLE:
		fprintf(fp, "above %g, below %g", o->dmin, o->dmax);
		return;
	case OT_CIDRSET:
		fprintf(fp, "up to %d prefixes", PK_CIDRSET_MAX);
		return;
	case OT_PORTSET:
		fputs("ports 0-65535", fp);
		return;
	case OT_LOGLEVEL:
		fputs("err, warn, info, debug", fp);
		return;
	case OT_TLP:
		fputs("TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, "
		    "TLP:RED", fp);
		return;
	}
}

/*
 * Words of s after prefix, lines at most width columns (a word longer
 * than a line gets one of its own).  Help texts are one paragraph.
 */
static void
wrap(FILE *fp, const char *prefix, const char *s, size_t width)
{
	size_t col = 0, n;

	while (*s != '\0') {
		while (*s == ' ')
			s++;
		for (n = 0; s[n] != '\0' && s[n] != ' '; n++)
			;
		if (n == 0)
			break;
		if (col > 0 && col + 1 + n > width) {
			fputc('\n', fp);
			col = 0;
		}
		if (col == 0) {
			fputs(prefix, fp);
			col = strlen(prefix);
		} else {
			fputc(' ', fp);
			col++;
		}
		fwrite(s, 1, n, fp);
		col += n;
		s += n;
	}
	if (col > 0)
		fputc('\n', fp);
}

/* Help text plus its range in parentheses, as one paragraph. */
static void
help_with_range(const struct opt *o, char *out, size_t cap)
{
	FILE *fp;

	/* A range is short; tmpfile() is portable where open_memstream is
	 * not (mingw). */
	out[0] = '\0';
	if ((fp = tmpfile()) == NULL) {
		snprintf(out, cap, "%s", o->help);
		return;
	}
	fprintf(fp, "%s (", o->help);
	doc_range(o, fp);
	fputc(')', fp);
	rewind(fp);
	out[fread(out, 1, cap - 1, fp)] = '\0';
	fclose(fp);
}

void
pk_config_ini_options(FILE *fp)
{
	struct pk_config *def;
	char text[2048];
	size_t i, j;

	if ((def = malloc(sizeof(*def))) == NULL)
		return;
	pk_config_defaults(def);
	for (i = 0; i < PK_NELEM(sections); i++) {
		fprintf(fp, "\n[%s]\n", sections[i].name);
		wrap(fp, "# ", sections[i].help, 72);
		for (j = 0; j < sections[i].nopts; j++) {
			const struct opt *o = &sections[i].opts[j];

			fputc('\n', fp);
			help_with_range(o, text, sizeof(text));
			wrap(fp, "# ", text, 72);
			fprintf(fp, "#%s = ", o->name);
			opt_print_value(def, o, fp);
			fputc('\n', fp);
		}
	}
	free(def);
}

/*
 * Text for roff: a backslash is \e, a hyphen \- (as the man pages write
 * them), and a comma may end a line (\:), so long lists of paths wrap.
 */
static void
roff_text(FILE *fp, const char *s, int breaks)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", fp);
		else if (*s == '-')
			fputs("\\-", fp);
		else if (*s == ',' && breaks)
			fputs(",\\:", fp);
		else
			fputc(*s, fp);
	}
}

/* One line of roff text: a leading dot or quote would be a request. */
static void
roff_line(FILE *fp, const char *s)
{
	if (s[0] == '.' || s[0] == '\'')
		fputs("\\&", fp);
	roff_text(fp, s, 0);
	fputc('\n', fp);
}

/* "Default: value; range." with the value and range escaped. */
static void
roff_default(FILE *fp, const struct pk_config *def, const struct opt *o)
{
	char buf[4096];
	FILE *t;

	buf[0] = '\0';
	if ((t = tmpfile()) != NULL) {
		opt_print_value(def, o, t);
		fputs("; ", t);
		doc_range(o, t);
		rewind(t);
		buf[fread(buf, 1, sizeof(buf) - 1, t)] = '\0';
		fclose(t);
	}
	fputs("Default: ", fp);
	roff_text(fp, buf, 1);
	fputs(".\n", fp);
}

void
pk_config_man_options(FILE *fp)
{
	struct pk_config *def;
	size_t i, j;

	if ((def = malloc(sizeof(*def))) == NULL)
		return;
	pk_config_defaults(def);
	for (i = 0; i < PK_NELEM(sections); i++) {
		fprintf(fp, ".SS \"[%s]\"\n", sections[i].name);
		roff_line(fp, sections[i].help);
		for (j = 0; j < sections[i].nopts; j++) {
			const struct opt *o = &sections[i].opts[j];

			fprintf(fp, ".TP\n\\fB%s\\fR = \\fI%s\\fR\n", o->name,
			    type_name(o->type));
			roff_line(fp, o->help);
			roff_default(fp, def, o);
		}
	}
	free(def);
}

static const char doc_intro[] =
"# picketd configuration\n"
"\n"
"<!-- Generated by `picketd --config-doc` from the option tables in\n"
"     agent/config.c; edit those, not this file. -->\n"
"\n"
"picketd reads one INI file, by default `/etc/picket/agent.ini`\n"
"(`-c FILE` names another).  Every option has a default, so an empty\n"
"file is a valid configuration.\n"
"\n"
"- `picketd -n -c FILE` checks the file, prints each problem as\n"
"  `FILE:LINE: message` and exits non-zero if there is any.\n"
"- `picketd -nv -c FILE` also prints the whole configuration as the\n"
"  agent will use it: every option, defaults filled in, values in\n"
"  normal form.\n"
"\n"
"## Syntax\n"
"\n"
"- `[section]` starts a section; `name = value` sets an option in it\n"
"  (`name: value` works too).  Section and option names are\n"
"  case-insensitive.\n"
"- Lines starting with `;` or `#` are comments, and so is anything\n"
"  after ` ;` or ` #` (a space, then `;` or `#`) on a line.\n"
"- Space around names and values is ignored.  One pair of double quotes\n"
"  around a value is removed: `host_name = \"\"` is the empty string.\n"
"- Lines may be up to 2000 characters long.\n"
"- Each option may be set only once: setting it again is an error\n"
"  (`duplicate key`), because with two values in one file it is\n"
"  not obvious which one the agent uses.\n"
"- Unknown sections and options are errors, so a typo cannot silently\n"
"  leave an option at its default.\n"
"\n"
"## Values\n"
"\n"
"| type | written as |\n"
"| --- | --- |\n"
"| boolean | `yes`/`no`, `true`/`false`, `on`/`off`, `1`/`0` |\n"
"| integer | decimal digits (or `0x` hex) |\n"
"| duration | seconds, or a number followed by `s`, `m`, `h` or `d`: `90s`, `5m`, `1h`, `1d`; printed in seconds (`300s`) |\n"
"| size | bytes, or a number followed by `k`, `M` or `G` (powers of 1024): `64k`, `4M`, `1G` |\n"
"| decimal | a decimal number such as `0.8` |\n"
"| address list | addresses and CIDR prefixes separated by commas: `10.0.0.0/8, 192.168.1.0/24, 2001:db8::/32` |\n"
"| port list | ports and ranges separated by commas: `135,139,445`, `1000-2000` |\n"
"| log level | `err`, `warn`, `info` or `debug` |\n"
"| TLP | `TLP:CLEAR`, `TLP:GREEN`, `TLP:AMBER`, `TLP:AMBER+STRICT` or `TLP:RED` (any case, `TLP:` may be left out; `TLP:WHITE` means `TLP:CLEAR`) |\n"
"\n"
"After loading, some options are checked against each other:\n"
"`scan.trw_scanner_success` must be below `scan.trw_benign_success`,\n"
"`scan.trw_false_alarm` below `scan.trw_detection`,\n"
"`flows.tcp_attempt_timeout` at most `flows.tcp_timeout`, and\n"
"`pcap.interfaces` must name at least one interface.\n";

static const char doc_vars[] =
"\n## [vars]\n"
"\n"
"Variables for content rules, as Suricata's `vars`: each `NAME = value`\n"
"defines `$NAME` for the rules' address and port fields, for example\n"
"`HTTP_SERVERS = \"10.1.0.0/16\"` or `HTTP_PORTS = \"[80,8080]\"`.\n"
"Names are letters, digits and `_`; at most 64 variables.  Values are\n"
"checked when the rules are loaded.  `$HOME_NET` defaults to\n"
"`[network] home_net` (or the interfaces' addresses) and\n"
"`$EXTERNAL_NET` to everything else; docs/rules.md lists the other\n"
"built-in defaults.\n";

void
pk_config_doc(FILE *fp)
{
	struct pk_config *def;
	size_t i, j;

	/* The defaults shown are the ones pk_config_defaults() applies. */
	if ((def = malloc(sizeof(*def))) == NULL)
		return;
	pk_config_defaults(def);
	fputs(doc_intro, fp);
	for (i = 0; i < PK_NELEM(sections); i++) {
		fprintf(fp, "\n## [%s]\n\n%s\n\n", sections[i].name,
		    sections[i].help);
		fputs("| option | type | default | range | description |\n"
		    "| --- | --- | --- | --- | --- |\n", fp);
		for (j = 0; j < sections[i].nopts; j++) {
			const struct opt *o = &sections[i].opts[j];

			fprintf(fp, "| `%s` | %s | `", o->name,
			    type_name(o->type));
			opt_print_value(def, o, fp);
			fputs("` | ", fp);
			doc_range(o, fp);
			fprintf(fp, " | %s |\n", o->help);
		}
	}
	fputs(doc_vars, fp);
	free(def);
}
