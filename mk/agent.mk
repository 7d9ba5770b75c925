# mk/agent.mk - unit-test wiring for the agent's Linux-only parts
# (privilege separation, the supervisor), included by the top Makefile.
# Tests with UNIT_EXTRA_* are skipped by the wine run: these parts are
# threads of one service on Windows (issue 10).
UNIT_EXTRA_test_privsep := $(BUILD)/agent/privsep_linux.o
UNIT_EXTRA_test_supervise := $(BUILD)/agent/supervise_unix.o
$(BUILD)/tests/test_privsep: $(BUILD)/agent/privsep_linux.o
$(BUILD)/tests/test_supervise: $(BUILD)/agent/supervise_unix.o
UNIT_EXTRA_test_reload := $(BUILD)/agent/control.o
$(BUILD)/tests/test_reload: $(BUILD)/agent/control.o
# Targeted collection (issue 7): the shipper's task store and the
# collector's runner (libpcap, /proc).
UNIT_EXTRA_test_task_agent := $(BUILD)/agent/task_agent.o
$(BUILD)/tests/test_task_agent: $(BUILD)/agent/task_agent.o
UNIT_EXTRA_test_task_exec := $(BUILD)/agent/task_exec.o \
	$(BUILD)/agent/task_agent.o $(BUILD)/agent/task_sys_linux.o -lpcap
$(BUILD)/tests/test_task_exec: $(BUILD)/agent/task_exec.o \
	$(BUILD)/agent/task_agent.o $(BUILD)/agent/task_sys_linux.o
# What a running pcap task costs the engine (docs/tasks.md, "Agent").
TASK_TAP_OBJS := $(BUILD)/agent/task_exec.o $(BUILD)/agent/task_agent.o \
	$(BUILD)/agent/task_sys_linux.o
$(BUILD)/bench/task_tap: tests/bench/task_tap.c $(TASK_TAP_OBJS) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< \
		$(TASK_TAP_OBJS) $(CORE_LIB) -lpcap -lpthread -lz -lm
# Shared-indicator bundles (issue 11): the agent's files and apply.
UNIT_EXTRA_test_bundle_agent := $(BUILD)/agent/bundle_agent.o
$(BUILD)/tests/test_bundle_agent: $(BUILD)/agent/bundle_agent.o
