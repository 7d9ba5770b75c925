# mk/windows.mk - the Windows agent, cross-built with mingw-w64 (issue 10,
# docs/windows.md).  Included by the top-level Makefile; defines nothing
# that a Linux build uses.
#
#   make windows        build/win/picketd.exe: x86_64, statically linked
#                       (only system DLLs; Npcap's wpcap.dll is loaded at
#                       run time by the live collector)
#   make msi            build/pkg/picket-agent.msi with wixl
#                       (packaging/windows/picket-agent.wxs)
#   make check-windows  build both, compare `wine picketd.exe -r` with the
#                       Linux build's `picketd -r` on every sample capture,
#                       capture live and install the MSI under wine
#                       (tests/integration/test_windows.py)
#
# OpenSSL and inih come from packaging/windows/deps.sh (cross-built from
# Debian's source packages and cached under /var/cache/picket), zlib from
# Debian's libz-mingw-w64-dev.  The objects share build/win with the wine
# run of the unit tests (tests/wine/run.sh): same compiler, same flags.

.PHONY: windows check-windows windows-exe msi

WINDOWS_CROSS	:= x86_64-w64-mingw32
WINDOWS_BUILD	:= build/win

# The sub-make: the Makefile's own object rule and flags, with mingw.
windows:
	@set -e; deps=$$(sh packaging/windows/deps.sh); \
	eval "$$(printf '%s\n' "$$deps" | tail -n 1)"; \
	test -n "$$OPENSSL" && test -n "$$INIH"; \
	$(MAKE) --no-print-directory BUILD=$(WINDOWS_BUILD) \
	    CC=$(WINDOWS_CROSS)-gcc AR=$(WINDOWS_CROSS)-ar OPT='-O2 -g' SAN= \
	    CFLAGS= LDFLAGS= WINDOWS_OPENSSL="$$OPENSSL" WINDOWS_INIH="$$INIH" \
	    windows-exe

# The agent's Windows sources: the core, the platform layer, and the parts
# of the agent the offline modes use, and reporting to the hub (the
# spool output and the shipper thread over transport/tls.c, which -n's
# check of the hub certificates also uses), enrollment (transport/pki.c
# for the key and the request) and renewal (agent/renew*.c).
WINAGENT_SRCS := $(CORE_SRCS) $(WIN_SRCS) agent/main_win32.c \
	agent/agentcli.c agent/config_ini.c agent/output.c \
	collectors/pcap/offline.c collectors/pcap/wpcap_win32.c \
	agent/service_win32.c \
	collectors/etw/etw_win32.c collectors/etw/ntpath_win32.c \
	transport/tls.c agent/spoolout_win32.c agent/shipper_win32.c \
	agent/shipconn.c \
	agent/bundle_agent.c \
	agent/renew.c agent/renew_win32.c agent/enroll_win32.c \
	agent/enrollmsg.c transport/pki.c
WINAGENT_OBJS := $(WINAGENT_SRCS:%.c=$(BUILD)/%.o)
# Static libraries first, then the Windows system libraries they call
# (OpenSSL: Winsock, CryptoAPI, the user and GDI bits of its RNG seeding).
WINAGENT_LIBS := $(WINDOWS_OPENSSL)/lib/libssl.a \
	$(WINDOWS_OPENSSL)/lib/libcrypto.a $(WINDOWS_INIH)/lib/libinih.a \
	-lz -lws2_32 -lcrypt32 -lbcrypt -ladvapi32 -lshell32 -luser32 -lgdi32

ifneq ($(WINDOWS_OPENSSL),)
$(BUILD)/transport/tls.o: CPPFLAGS_ALL += -I$(WINDOWS_OPENSSL)/include
$(BUILD)/transport/pki.o: CPPFLAGS_ALL += -I$(WINDOWS_OPENSSL)/include
$(BUILD)/agent/config_ini.o: CPPFLAGS_ALL += -I$(WINDOWS_INIH)/include
endif

# -static: libgcc and winpthread linked in, so the .exe needs no mingw DLL.
$(BUILD)/picketd.exe: $(WINAGENT_OBJS) $(WINDOWS_OPENSSL)/lib/libcrypto.a \
		$(WINDOWS_INIH)/lib/libinih.a
	$(CC) -static -o $@ $(WINAGENT_OBJS) $(WINAGENT_LIBS) -lm

windows-exe: $(BUILD)/picketd.exe
	@dlls=$$($(WINDOWS_CROSS)-objdump -p $< | \
	    sed -n 's/^[[:space:]]*DLL Name: //p' | tr '\n' ' '); \
	echo "windows: $< imports only: $$dlls"

# The MSI: the agent, the shipped rules and IOC lists, the service.
WINDOWS_MSI	:= build/pkg/picket-agent.msi
msi: windows
	@mkdir -p $(dir $(WINDOWS_MSI))
	wixl -a x64 -D Version=$(VERSION) -D Build=$(WINDOWS_BUILD) \
	    -o $(WINDOWS_MSI) packaging/windows/picket-agent.wxs
	@echo "msi: $(WINDOWS_MSI)"

check-windows: all windows msi
	PICKETD=$(CURDIR)/$(BUILD)/picketd \
	    PICKETD_EXE=$(CURDIR)/$(WINDOWS_BUILD)/picketd.exe \
	    PICKET_MSI=$(CURDIR)/$(WINDOWS_MSI) \
	    /usr/bin/python3 -m pytest -q tests/integration/test_windows.py
