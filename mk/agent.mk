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
