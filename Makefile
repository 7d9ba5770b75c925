# Picket - plain Makefile.  Objects go under $(BUILD) (default build/).
#
#   make            build/picketd
#   make check      install deps, build, unit tests (plain, ASan+UBSan, the
#                   hub store suites on PostgreSQL,
#                   mingw under wine), integration tests, 20 s of each fuzzer
#   make run        install deps, build, run the agent live, indicators on stdout
#   make fuzz       run each fuzzer for FUZZ_SECONDS (default 300)
#   make docs       regenerate docs/configuration.md from the option tables

VERSION		:= 0.1.0
BUILD		?= build
CC		?= cc
OPT		?= -O2 -g
SAN		?=
PKG_CONFIG	?= pkg-config
FUZZ_SECONDS	?= 300

WARN	:= -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	   -Wformat=2 -Wpointer-arith -Wvla -Werror
CSTD	:= -std=gnu11
CPPFLAGS_ALL := -I. -DPICKET_VERSION=\"$(VERSION)\"
CFLAGS_ALL := $(CSTD) $(OPT) $(WARN) $(SAN) $(CFLAGS)
LDFLAGS_ALL := $(SAN) $(LDFLAGS)

# Portable core: no OS calls, builds with mingw and runs under wine.
CORE_SRCS := \
	common/log.c common/util.c common/json.c common/netaddr.c common/pktime.c \
	collectors/pcap/decode.c collectors/pcap/reasm.c collectors/pcap/app.c \
	collectors/pcap/flow.c collectors/pcap/scan.c collectors/pcap/ring.c \
	agent/indicator.c agent/engine.c agent/attrib.c agent/detectors.c \
	agent/config.c agent/ipc.c agent/task_policy.c
# Issue-3 subsystems, taken in as their files appear.
CORE_SRCS += $(wildcard collectors/pcap/stream.c collectors/pcap/ac.c \
	collectors/pcap/rules_parse.c collectors/pcap/rules_match.c \
	collectors/pcap/sigdet.c collectors/pcap/fingerprint.c \
	agent/ioc.c collectors/pcap/iocdet.c)
# Reporting (issue 5): the portable parts of the transport.
CORE_SRCS += $(wildcard common/crc32c.c common/sha256.c transport/frame.c transport/batch.c \
	transport/spool.c)
# Targeted collection (issue 7): the task specification both sides parse,
# over the bounded JSON reader (portable, kept under hub/ where it began).
CORE_SRCS += hub/jsonread.c transport/task.c
# The agent's side of the protocol without I/O, shared by the Linux and
# Windows shippers (agent/shipcore.c), and the spool output's formatting.
CORE_SRCS += agent/shipcore.c agent/spoolcore.c
# Shared-indicator bundles (issue 11): written by the hub, parsed by both.
CORE_SRCS += $(wildcard transport/bundle.c)
# The project's own capture-file reader (pcap and pcapng), for Windows,
# where the agent reads files without Npcap (docs/windows.md).
CORE_SRCS += collectors/pcap/pcapfile.c
# The Windows process collector's ETW record decoder (portable; docs/windows.md).
CORE_SRCS += collectors/etw/etwdecode.c
# The process table and detections, fed by eBPF on Linux and ETW on Windows
# (docs/process.md, docs/windows.md); their platform halves are below.
CORE_SRCS += collectors/ebpf/evdecode.c collectors/ebpf/proctable.c \
	collectors/ebpf/procdet.c collectors/etw/ntpath.c collectors/etw/etwproc.c
# Platform layer for POSIX hosts.
UNIX_SRCS := common/log_unix.c common/pktime_unix.c common/dir_unix.c \
	$(wildcard transport/spool_unix.c) \
	collectors/ebpf/proctable_linux.c collectors/ebpf/hash_linux.c
WIN_SRCS  := common/log_win32.c common/pktime_win32.c common/dir_win32.c \
	$(wildcard transport/spool_win32.c) \
	collectors/ebpf/proctable_win32.c collectors/ebpf/hash_win32.c
# The agent program (libpcap, inih).
AGENT_SRCS := agent/main.c agent/config_ini.c agent/output.c \
	collectors/collector.c collectors/pcap/capture.c \
	agent/spoolout.c agent/shipper.c agent/privsep_linux.c \
	agent/supervise_unix.c agent/control.c transport/tls.c \
	agent/enroll.c agent/enrollmsg.c transport/pki.c agent/agentcli.c \
	agent/task_agent.c agent/task_exec.c agent/task_sys_linux.c \
	agent/bundle_agent.c agent/renew.c agent/shipconn.c

LIBS	:= -lpcap -linih -lpthread -lz -levent_openssl -levent -lssl -lcrypto
# The eBPF process collector (Linux) adds its sources to AGENT_SRCS, its
# libraries to LIBS, and the rules that build BPF objects and skeletons.
-include mk/ebpf.mk

CORE_OBJS  := $(CORE_SRCS:%.c=$(BUILD)/%.o)
UNIX_OBJS  := $(UNIX_SRCS:%.c=$(BUILD)/%.o)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/%.o)
CORE_LIB   := $(BUILD)/libpicketcore.a

UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Unit tests that need more than the portable core.
UNIT_EXTRA_test_config := $(BUILD)/agent/config_ini.o -linih

FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all deps check check-unit check-asan check-pg check-wine check-integration asan-picketd \
	check-bench-smoke bench \
	check-fuzz fuzz run docs clean unit
.DEFAULT_GOAL := all

all: $(BUILD)/picketd

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(CORE_LIB): $(CORE_OBJS) $(UNIX_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/picketd: $(AGENT_OBJS) $(CORE_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(AGENT_OBJS) $(CORE_LIB) $(LIBS) -lm

$(BUILD)/tests/%: tests/unit/%.c $(CORE_LIB) $(BUILD)/agent/config_ini.o
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP $(LDFLAGS_ALL) -o $@ $< \
		$(UNIT_EXTRA_$*) $(CORE_LIB) -lcmocka -lpthread -lz -lm

unit: $(UNIT_BINS)

deps:
	@sh packaging/deps.sh

check-unit: unit
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

ASAN_MAKE = $(MAKE) BUILD=build/asan OPT="-O1 -g -fno-omit-frame-pointer" \
	SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"

check-asan:
	$(ASAN_MAKE) check-unit build/asan/picketd

asan-picketd:
	$(ASAN_MAKE) build/asan/picketd build/asan/picket-hub

check-wine:
	@sh tests/wine/run.sh

# The hub's store suites again, on a real PostgreSQL server (plain and
# ASan+UBSan builds; tests/pg/run.sh starts and stops the server).
check-pg: all unit
	$(ASAN_MAKE) unit
	@sh tests/pg/run.sh $(CURDIR)/$(BUILD) $(CURDIR)/build/asan

check-integration: all asan-picketd
	# The packages and the Windows agent have their own targets, which
	# build what those tests check (check-packages, check-windows).
	PICKETD=$(CURDIR)/$(BUILD)/picketd PICKETD_ASAN=$(CURDIR)/build/asan/picketd \
		/usr/bin/python3 -m pytest -q tests/integration \
		--ignore=tests/integration/test_packages.py \
		--ignore=tests/integration/test_windows.py
	# The hub's listener, API and ingest again under ASan+UBSan (leaks at exit).
	PICKETD=$(CURDIR)/$(BUILD)/picketd PICKET_HUB=$(CURDIR)/build/asan/picket-hub \
		/usr/bin/python3 -m pytest -q tests/integration/test_hub_listener.py \
		tests/integration/test_api.py tests/integration/test_enroll.py \
		tests/integration/test_hub_import.py \
		tests/integration/test_bundles_hub.py

# libFuzzer targets: clang, one binary per tests/fuzz/fuzz_*.c
FUZZ_BUILD := build/fuzz
FUZZ_CFLAGS := $(CSTD) -O1 -g $(WARN) -fsanitize=fuzzer,address,undefined
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_LIBSRC := $(CORE_SRCS) $(UNIX_SRCS) agent/config_ini.c

# The library is compiled once for every target (instrumented, without
# libFuzzer's main); each target links it with its own extra objects.
FUZZ_OBJFLAGS := $(CSTD) -O1 -g $(WARN) -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LIB := $(FUZZ_BUILD)/libfuzzcore.a

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	clang $(CPPFLAGS_ALL) $(FUZZ_OBJFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIBSRC:%.c=$(FUZZ_BUILD)/obj/%.o)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	clang $(CPPFLAGS_ALL) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_EXTRA_$*) \
		$(FUZZ_LIB) -linih -lz -lm

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

check-fuzz:
	$(MAKE) -j2 fuzz-build
	@sh tests/fuzz/run.sh 20 $(FUZZ_BINS)

# The hub (issue 5 onwards): built once its sources exist.  tls.c
# (connections) and pki.c (certificates) are the files that include
# OpenSSL headers.
HUB_SRCS := $(wildcard hub/*.c)
HUB_OBJS := $(HUB_SRCS:%.c=$(BUILD)/%.o) \
	$(patsubst %.c,$(BUILD)/%.o,$(wildcard transport/tls.c transport/conn.c \
	transport/pki.c))
HUB_LIBS := -levent_openssl -levent -ljansson -lssl -lcrypto -lsqlite3 -lpq -linih -lz -lpthread -lm
# The PostgreSQL store (hub/store_pg*.c) and the test fixture that makes
# its schemas include libpq's header, which Debian keeps in its own
# directory.
PQ_CFLAGS := $(shell $(PKG_CONFIG) --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
$(BUILD)/hub/store_pg_%.o: CPPFLAGS_ALL += $(PQ_CFLAGS)
$(BUILD)/hub/store_pg.o $(BUILD)/tests/unit/hubfix.o: CPPFLAGS_ALL += $(PQ_CFLAGS)
ifneq ($(HUB_SRCS),)
all: $(BUILD)/picket-hub
endif
$(BUILD)/picket-hub: $(HUB_OBJS) $(CORE_LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(HUB_OBJS) $(CORE_LIB) $(HUB_LIBS)
# Unit-test wiring for the TLS layer and the hub (UNIT_EXTRA_* entries).
-include mk/tls.mk mk/hub.mk mk/agent.mk

# Benchmarks: full runs print figures (docs/performance.md); the smoke
# runs in make check only prove each script still runs and prints.
$(BUILD)/bench/%: tests/bench/%.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(CORE_LIB) \
		-lpthread -lz -lm

# The bare libpcap read loop: the floor throughput.py compares with.
$(BUILD)/bench/pcap_read: tests/bench/pcap_read.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< -lpcap

BENCH_ENV = PICKETD=$(CURDIR)/$(BUILD)/picketd \
	PICKET_HUB=$(CURDIR)/$(BUILD)/picket-hub \
	PCAP_READ=$(CURDIR)/$(BUILD)/bench/pcap_read

check-bench-smoke: all $(BUILD)/bench/batch_bench $(BUILD)/bench/pcap_read
	$(BUILD)/bench/batch_bench --smoke tests/bench/indicators-sample.ndjson
	$(BENCH_ENV) /usr/bin/python3 tests/bench/throughput.py --smoke
	$(BENCH_ENV) /usr/bin/python3 tests/bench/footprint.py --smoke
	PICKETD=$(CURDIR)/$(BUILD)/picketd /usr/bin/python3 \
		tests/bench/capture_bench.py --smoke --cpu-limit 50
	PICKETD=$(CURDIR)/$(BUILD)/picketd /usr/bin/python3 \
		tests/bench/wire.py --smoke
	$(BENCH_ENV) /usr/bin/python3 tests/bench/latency.py --smoke
	PICKETD=$(CURDIR)/$(BUILD)/picketd PICKET_HUB=$(CURDIR)/$(BUILD)/picket-hub \
		/usr/bin/python3 tests/bench/ship_bench.py --smoke
	PICKETD=$(CURDIR)/$(BUILD)/picketd PICKET_HUB=$(CURDIR)/$(BUILD)/picket-hub \
		/usr/bin/python3 tests/bench/agent_load.py --smoke
	$(BENCH_ENV) /usr/bin/python3 tests/bench/multihub_load.py --smoke
	$(BENCH_ENV) /usr/bin/python3 tests/bench/pg_scale.py --smoke

# Every benchmark at full size, each several times (issue 9; slow: tens of
# minutes).  Figures go to docs/performance.md.  Not part of make check.
bench: deps all $(BUILD)/bench/pcap_read $(BUILD)/bench/batch_bench \
		$(BUILD)/bench/rules_bench
	@test -x /usr/bin/time || apt-get install -y --no-install-recommends time
	$(BENCH_ENV) /usr/bin/python3 tests/bench/throughput.py
	$(BENCH_ENV) /usr/bin/python3 tests/bench/footprint.py --runs 3
	$(BUILD)/bench/rules_bench
	$(BUILD)/bench/batch_bench tests/bench/indicators-sample.ndjson
	$(BENCH_ENV) /usr/bin/python3 tests/bench/capture_bench.py
	$(BENCH_ENV) /usr/bin/python3 tests/bench/capture_bench.py \
		--cpu-limit 25 --rates 50000,100000,150000,200000,max \
		--tools picketd,suricata,suricata-pcap
	$(BENCH_ENV) BATCH_BENCH=$(CURDIR)/$(BUILD)/bench/batch_bench \
		/usr/bin/python3 tests/bench/wire.py
	$(BENCH_ENV) /usr/bin/python3 tests/bench/latency.py
	$(BENCH_ENV) /usr/bin/python3 tests/bench/ship_bench.py
	$(BENCH_ENV) /usr/bin/python3 tests/bench/agent_load.py -n 1000 --runs 3
	$(BENCH_ENV) /usr/bin/python3 tests/bench/agent_load.py -n 10000 -b 2 -k 50 \
		--connect-timeout 10 --retry-for 300
	$(BENCH_ENV) /usr/bin/python3 tests/bench/task_dispatch.py -n 1000
	$(BENCH_ENV) /usr/bin/python3 tests/bench/multihub_load.py
	$(BENCH_ENV) /usr/bin/python3 tests/bench/pg_scale.py --rows 14000000
	@if sh tests/bench/ebpf_bench.sh --smoke $(CURDIR)/$(BUILD)/picketd \
		>/dev/null 2>&1; then sh tests/bench/ebpf_bench.sh \
		$(CURDIR)/$(BUILD)/picketd; else echo "ebpf_bench: cannot run" \
		"here (needs root and the eBPF collector); skipped"; fi
	@echo "make bench: done"

check: deps
	$(MAKE) all
	$(MAKE) check-unit
	$(MAKE) check-asan
	$(MAKE) check-pg
	$(MAKE) check-integration
	$(MAKE) check-packages
	$(MAKE) check-wine
	$(MAKE) check-windows
	$(MAKE) check-bench-smoke
	$(MAKE) check-fuzz
	@echo "make check: all suites passed"

run: deps all
	sh packaging/run.sh $(BUILD)/picketd $(BUILD)/picket-hub

docs: $(BUILD)/picketd
	sh packaging/genconfig.sh $(BUILD)/picketd

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# Print a variable for scripts: make -s print-CORE_SRCS
print-%:
	@echo $($*)

include packaging/packaging.mk
include mk/windows.mk
