# mk/tls.mk - unit-test wiring for the TLS layer (transport/tls.c, the only
# file that includes OpenSSL's TLS headers), included by the top Makefile.
# test_tls links tls.o and libssl; tests with UNIT_EXTRA_* are skipped by
# the wine run, which is right: the TLS layer is not part of the portable
# core.  The test makes its certificates at run time with
# packaging/mkcerts.sh (needs the openssl command line) from PICKET_SRCDIR,
# default "." (make runs it from the top of the repo).

UNIT_EXTRA_test_tls := $(BUILD)/transport/tls.o -lssl -lcrypto

# UNIT_EXTRA_* is only on the link line; make must also build the object.
$(BUILD)/tests/test_tls: $(BUILD)/transport/tls.o packaging/mkcerts.sh
