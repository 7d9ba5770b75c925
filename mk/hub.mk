# mk/hub.mk - included by the top Makefile: unit-test and fuzzer wiring for
# picket-hub (hub/).  The hub program itself is built by the Makefile's
# HUB_* block from hub/*.c.
HUB_STORE_OBJS := $(BUILD)/hub/store_sqlite.o $(BUILD)/hub/ingest.o \
	$(BUILD)/hub/jsonread.o $(BUILD)/hub/config.o
UNIT_EXTRA_test_hubstore := $(HUB_STORE_OBJS) -lsqlite3 -linih
# The pattern rule for unit tests only depends on the core library.
$(BUILD)/tests/test_hubstore: $(HUB_STORE_OBJS)

# The JSON reader's fuzzer needs hub/jsonread.c, which is not in the core.
$(FUZZ_BUILD)/fuzz_jsonread: tests/fuzz/fuzz_jsonread.c hub/jsonread.c common/util.c
	@mkdir -p $(@D)
	clang $(CPPFLAGS_ALL) $(FUZZ_CFLAGS) -o $@ $< hub/jsonread.c common/util.c
