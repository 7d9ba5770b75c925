# mk/hub.mk - included by the top Makefile: unit-test and fuzzer wiring for
# picket-hub (hub/).  The hub program itself is built by the Makefile's
# HUB_* block from hub/*.c.
# Both stores: SQLite and PostgreSQL (hub/store_pg*.c, libpq); the store
# suites run against each (tests/unit/hubfix.c, PICKET_TEST_PG).
HUB_PG_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard hub/store_pg*.c))
HUB_DB_LIBS := -lsqlite3 -lpq -ljansson
HUB_STORE_OBJS := $(BUILD)/hub/store_sqlite.o $(HUB_PG_OBJS) $(BUILD)/hub/ingest.o \
	$(BUILD)/hub/jsonread.o $(BUILD)/hub/config.o
# The hub tests' shared fixture (tests/unit/hubfix.c: a store in a
# temporary directory, rows put in as ingest puts them), built by the
# Makefile's $(BUILD)/%.o rule.  It calls hub_extract, so every test that
# links it links hub/ingest.o too.
HUBFIX_OBJ := $(BUILD)/tests/unit/hubfix.o
UNIT_EXTRA_test_hubstore := $(HUBFIX_OBJ) $(HUB_STORE_OBJS) $(HUB_DB_LIBS) -linih
# The pattern rule for unit tests only depends on the core library.
$(BUILD)/tests/test_hubstore: $(HUBFIX_OBJ) $(HUB_STORE_OBJS)

# The JSON reader's fuzzer needs hub/jsonread.c, which is not in the core.
$(FUZZ_BUILD)/fuzz_jsonread: tests/fuzz/fuzz_jsonread.c hub/jsonread.c common/util.c
	@mkdir -p $(@D)
	clang $(CPPFLAGS_ALL) $(FUZZ_CFLAGS) -o $@ $< hub/jsonread.c common/util.c

# Outbreaks and the STIX 2.1 export (hub/outbreak.c, hub/stix.c) build
# their answers with jansson; their unit tests open a real store.
HUB_VIEW_OBJS := $(BUILD)/hub/outbreak.o $(BUILD)/hub/stix.o
UNIT_EXTRA_test_outbreak := $(HUBFIX_OBJ) $(HUB_VIEW_OBJS) $(HUB_STORE_OBJS) \
	$(HUB_DB_LIBS) -linih -ljansson
UNIT_EXTRA_test_stix := $(HUBFIX_OBJ) $(HUB_VIEW_OBJS) $(HUB_STORE_OBJS) \
	$(HUB_DB_LIBS) -linih -ljansson
$(BUILD)/tests/test_outbreak $(BUILD)/tests/test_stix: $(HUBFIX_OBJ) \
	$(HUB_VIEW_OBJS) $(HUB_STORE_OBJS)

# hub_extract, the columns of every record an agent sends (hub/ingest.c;
# tests/fuzz/fuzz_extract.c).
FUZZ_EXTRA_fuzz_extract := $(FUZZ_BUILD)/obj/hub/ingest.o
$(FUZZ_BUILD)/fuzz_extract: $(FUZZ_BUILD)/obj/hub/ingest.o

# The API's path and query-string checks (hub/apiparam.c, portable C).
$(FUZZ_BUILD)/fuzz_api_params: tests/fuzz/fuzz_api_params.c hub/apiparam.c common/util.c \
	common/pktime.c
	@mkdir -p $(@D)
	clang $(CPPFLAGS_ALL) $(FUZZ_CFLAGS) -o $@ $< hub/apiparam.c common/util.c \
		common/pktime.c

# The API's input checks (portable, but not in the core library).
UNIT_EXTRA_test_apiparam := $(BUILD)/hub/apiparam.o
$(BUILD)/tests/test_apiparam: $(BUILD)/hub/apiparam.o

# The API's store operations and tokens (schema 2).
HUB_API_OBJS := $(BUILD)/hub/store_sqlite.o $(HUB_PG_OBJS) $(BUILD)/hub/auth.o \
	$(BUILD)/hub/apiparam.o
UNIT_EXTRA_test_hubapi := $(HUB_API_OBJS) $(HUB_DB_LIBS)
$(BUILD)/tests/test_hubapi: $(HUB_API_OBJS)

# Enrollment's certificates (transport/pki.c, the second file with OpenSSL
# headers; docs/enrollment.md).  The test runs the openssl command line.
UNIT_EXTRA_test_pki := $(BUILD)/transport/pki.o $(BUILD)/transport/tls.o -lssl -lcrypto
$(BUILD)/tests/test_pki: $(BUILD)/transport/pki.o $(BUILD)/transport/tls.o

# Targeted collection: the store's task operations and making a task
# (hub/task_create.c; the serving side, hub/tasks.c, is the integration
# tests' in tests/integration/test_tasks_hub.py).
HUB_TASK_OBJS := $(BUILD)/hub/task_create.o $(BUILD)/hub/store_sqlite.o \
	$(HUB_PG_OBJS)
UNIT_EXTRA_test_hubtasks := $(HUBFIX_OBJ) $(HUB_TASK_OBJS) \
	$(BUILD)/hub/ingest.o $(HUB_DB_LIBS)
$(BUILD)/tests/test_hubtasks: $(HUBFIX_OBJ) $(HUB_TASK_OBJS) \
	$(BUILD)/hub/ingest.o
# tests/fuzz/fuzz_task.c (the specification parser, the TASK and RESULT
# decoders, the chunk inflater) needs only the core library: the generic
# fuzz rule builds it.

# The after-action report as a PDF (hub/report_pdf.c over hub/pdf.c, the
# project's own PDF writer); the test reads the files back with poppler.
UNIT_EXTRA_test_report_pdf := $(BUILD)/hub/report_pdf.o $(BUILD)/hub/pdf.o \
	-ljansson -lz
$(BUILD)/tests/test_report_pdf: $(BUILD)/hub/report_pdf.o $(BUILD)/hub/pdf.o

# Incidents and their reports (hub/incidents.c over the store and the
# outbreak view's classification; docs/incidents.md).
HUB_INC_OBJS := $(BUILD)/hub/incidents.o $(BUILD)/hub/outbreak.o $(BUILD)/hub/stix.o \
	$(HUB_STORE_OBJS)
UNIT_EXTRA_test_incidents := $(HUBFIX_OBJ) $(HUB_INC_OBJS) $(HUB_DB_LIBS) -linih \
	-ljansson
$(BUILD)/tests/test_incidents: $(HUBFIX_OBJ) $(HUB_INC_OBJS)

# What responders send about incidents, against a store in memory, and the
# report's PDF (tests/fuzz/fuzz_incident.c).
FUZZ_INC_OBJS := $(addprefix $(FUZZ_BUILD)/obj/hub/,incidents.o outbreak.o stix.o \
	store_sqlite.o ingest.o config.o report_pdf.o pdf.o)
FUZZ_EXTRA_fuzz_incident := $(FUZZ_INC_OBJS) -lsqlite3 -ljansson
$(FUZZ_BUILD)/fuzz_incident: $(FUZZ_INC_OBJS)

# Peering's store operations (schema 6, docs/peering.md) on a real store.
UNIT_EXTRA_test_peerstore := $(HUBFIX_OBJ) $(HUB_STORE_OBJS) $(HUB_DB_LIBS) -linih
$(BUILD)/tests/test_peerstore: $(HUBFIX_OBJ) $(HUB_STORE_OBJS)

# Peering bundles (hub/share_out.c over the STIX export, hub/share_in.c;
# docs/peering.md): the unit test opens a real store, the fuzzer reads
# bundles only.
HUB_SHARE_OBJS := $(BUILD)/hub/share_out.o $(BUILD)/hub/share_in.o \
	$(HUB_VIEW_OBJS) $(HUB_STORE_OBJS)
UNIT_EXTRA_test_share := $(HUBFIX_OBJ) $(HUB_SHARE_OBJS) $(HUB_DB_LIBS) -linih \
	-ljansson
$(BUILD)/tests/test_share: $(HUBFIX_OBJ) $(HUB_SHARE_OBJS)
FUZZ_SHARE_OBJS := $(addprefix $(FUZZ_BUILD)/obj/hub/,share_in.o stix.o \
	outbreak.o ingest.o jsonread.o)
FUZZ_EXTRA_fuzz_share := $(FUZZ_SHARE_OBJS) -ljansson
$(FUZZ_BUILD)/fuzz_share: $(FUZZ_SHARE_OBJS)

# Bundles of approved shared indicators for the agents (hub/bundles.c over
# the store's schema 8 and transport/bundle.c; docs/peering.md).
HUB_BUNDLE_OBJS := $(BUILD)/hub/bundles.o $(HUB_STORE_OBJS)
UNIT_EXTRA_test_bundles_hub := $(HUBFIX_OBJ) $(HUB_BUNDLE_OBJS) $(HUB_DB_LIBS) \
	-linih -ljansson -levent
$(BUILD)/tests/test_bundles_hub: $(HUBFIX_OBJ) $(HUB_BUNDLE_OBJS)
