# packaging.mk - `make deb`, `make rpm`, `make check-packages`: the
# picket-agent and picket-hub packages from the binaries `make all`
# builds (docs/operations.md).  Included by the top-level Makefile.
#
#   make deb [PKG_VERSION=0.1.0+test2]   build/pkg/picket-{agent,hub}_VER_amd64.deb
#   make rpm [PKG_VERSION=...]           build/pkg/picket-{agent,hub}-VER-1.x86_64.rpm
#   make check-packages                  both, then tests/integration/test_packages.py

PKG_VERSION	?= $(VERSION)
PKG_RELEASE	?= 1
PKG_DIR		?= $(BUILD)/pkg

.PHONY: deb rpm packages check-packages

deb: all
	sh packaging/deb/build-deb.sh agent $(PKG_VERSION) $(BUILD) $(PKG_DIR)
	sh packaging/deb/build-deb.sh hub $(PKG_VERSION) $(BUILD) $(PKG_DIR)

rpm: all
	sh packaging/rpm/build-rpm.sh $(PKG_VERSION) $(PKG_RELEASE) $(BUILD) $(PKG_DIR)

packages: deb rpm

# The test builds a second deb with a higher version for the upgrade
# check itself (make deb PKG_VERSION=$(PKG_VERSION)+test2 PKG_DIR=...).
check-packages: deb rpm
	PKG_DIR=$(CURDIR)/$(PKG_DIR) PKG_VERSION=$(PKG_VERSION) \
		/usr/bin/python3 -m pytest -q --basetemp=/tmp/pt-pkg \
		tests/integration/test_packages.py
