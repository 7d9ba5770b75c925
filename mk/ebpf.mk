# mk/ebpf.mk - the eBPF process collector (Linux), included by the top
# Makefile after LIBS.  It adds the collector's sources to the agent, its
# libraries to LIBS, and the rules that build the kernel side:
#
#   build/ebpf/vmlinux.h     from the running kernel's BTF (never committed)
#   build/ebpf/proc.bpf.o    clang -target bpf, CO-RE
#   build/ebpf/proc.skel.h   bpftool gen skeleton (never committed)
#
# The decoder (evdecode.c) is plain C: its unit test and fuzzer link it
# without libbpf.  Tests listed in UNIT_EXTRA_* are skipped by the wine run,
# which is right for this Linux-only code.

EBPF_BUILD	:= $(BUILD)/ebpf
BPFTOOL		?= bpftool
BPF_CLANG	?= clang
VMLINUX_BTF	?= /sys/kernel/btf/vmlinux
BPF_ARCH	?= x86

# The decoder, the process table and the detections are in CORE_SRCS (the
# Windows agent feeds them from ETW), their Linux halves (proctable_linux.c,
# hash_linux.c) in UNIX_SRCS: see the top Makefile.
EBPF_SRCS := collectors/ebpf/ebpf.c
AGENT_SRCS += $(EBPF_SRCS)
LIBS += -lbpf -lelf -lz

$(EBPF_BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp
	mv $@.tmp $@

$(EBPF_BUILD)/proc.bpf.o: collectors/ebpf/proc.bpf.c collectors/ebpf/proc.h \
    $(EBPF_BUILD)/vmlinux.h
	$(BPF_CLANG) -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_$(BPF_ARCH) \
		-I $(EBPF_BUILD) -I. -c $< -o $@

$(EBPF_BUILD)/proc.skel.h: $(EBPF_BUILD)/proc.bpf.o
	$(BPFTOOL) gen skeleton $< name proc_bpf > $@.tmp
	mv $@.tmp $@

# Every collector object waits for the skeleton; ebpf.c includes it.
$(EBPF_SRCS:%.c=$(BUILD)/%.o): $(EBPF_BUILD)/proc.skel.h
$(BUILD)/collectors/ebpf/ebpf.o: CPPFLAGS_ALL += -I$(EBPF_BUILD)
$(BUILD)/collectors/collector.o: CPPFLAGS_ALL += -DPICKET_HAVE_EBPF

# Unit test: the decoder and the detections on recorded events.  They are
# in the core library now; the explicit object keeps this Linux test out of
# the wine run (UNIT_EXTRA_*), as before.
EBPF_UNIT_OBJS := $(BUILD)/collectors/ebpf/evdecode.o
UNIT_EXTRA_test_ebpf_decode := $(EBPF_UNIT_OBJS)
$(BUILD)/tests/test_ebpf_decode: $(EBPF_UNIT_OBJS)

# Fuzzer: the decoder is outside FUZZ_LIBSRC (the portable core).
FUZZ_EXTRA_fuzz_ebpf_event := build/fuzz/obj/collectors/ebpf/evdecode.o
build/fuzz/fuzz_ebpf_event: build/fuzz/obj/collectors/ebpf/evdecode.o

# main.c may call pk_ebpf_check() for `picketd -n` under this define.
$(BUILD)/agent/main.o: CPPFLAGS_ALL += -DPICKET_HAVE_EBPF
