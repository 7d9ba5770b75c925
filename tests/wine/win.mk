# Cross-build rules for the Windows unit tests.  Only tests/wine/run.sh uses
# this file, as an extra makefile read after the top-level Makefile:
#
#   make -f Makefile -f tests/wine/win.mk BUILD=build/win \
#        CC=x86_64-w64-mingw32-gcc AR=x86_64-w64-mingw32-ar \
#        CMOCKA_WIN=/var/cache/picket/cmocka-mingw-VER wine-build
#
# Reusing the Makefile keeps one source of truth: the portable core is
# CORE_SRCS plus the Windows platform layer WIN_SRCS, objects are built by
# the Makefile's own $(BUILD)/%.o rule (same flags, -MMD header deps), and a
# unit test runs here unless it needs more than the core (UNIT_EXTRA_test_X,
# e.g. test_config needs inih, which has no mingw build).

WIN_OBJS  := $(CORE_SRCS:%.c=$(BUILD)/%.o) $(WIN_SRCS:%.c=$(BUILD)/%.o)
WIN_LIB   := $(BUILD)/libpicketcore-win.a
# Also out: tests of portable code that use POSIX themselves for their
# fixtures (a temporary directory of rule files): test_sensitivity; and
# test_hasher, which tests the Linux half of collectors/ebpf/hash.h
# (hash_linux.c's thread, /proc/PID/exe; test_etwproc covers
# hash_win32.c under wine).
WIN_TESTS := $(filter-out test_config test_sensitivity test_hasher,$(foreach t,$(UNIT_SRCS:tests/unit/%.c=%),$(if $(UNIT_EXTRA_$t),,$t)))
WIN_SKIP  := $(filter-out $(WIN_TESTS),$(UNIT_SRCS:tests/unit/%.c=%))
WIN_EXES  := $(WIN_TESTS:%=$(BUILD)/tests/%.exe)

.PHONY: wine-build wine-list wine-skipped

$(WIN_LIB): $(WIN_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# -static: no libgcc/winpthread DLLs to find at run time under wine.
$(BUILD)/tests/%.exe: tests/unit/%.c $(WIN_LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_ALL) -I$(CMOCKA_WIN)/include $(CFLAGS_ALL) -MMD -MP \
		-static -o $@ $< $(WIN_LIB) $(CMOCKA_WIN)/lib/libcmocka.a -lpthread -lz -lm

wine-build: $(WIN_EXES)

wine-list:
	@echo $(WIN_EXES)

wine-skipped:
	@echo $(WIN_SKIP)
