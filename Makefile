# SPDX-License-Identifier: GPL-2.0
#
# Top-level entry points. The modules themselves are described in Kbuild.
#
#   make                 build failover.ko and net_failover.ko (W=1)
#   make kernels         the same for every kernel scripts/setup.sh
#                        prepared (6.1, 6.12, 7.3), in .cache/build/<x.y>
#   make lint            checkpatch --strict, sparse (C=2), kernel-doc
#   make nopci           build a copy as for a kernel without CONFIG_PCI
#   make tools           failoverctl, vf-steer-probe
#   make docs            Documentation/networking/*.rst with docutils
#   make deb             Debian packages in dist/ (DKMS, tools)
#   make demo            boot a guest: pairing, unplug and replug (README)
#   make check           every test, ending in "N passed, N failed"
#   make clean

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
-include $(ROOT)/.cache/env
KDIR ?= /lib/modules/$(shell uname -r)/build
KSRC ?= $(ROOT)/.cache/linux-source-6.1
SELFTESTS := $(ROOT)/tools/testing/selftests/net/failover

SOURCES := net/core/failover.c drivers/net/net_failover.c \
	   drivers/net/net_failover_trace.h include/uapi/linux/net_failover.h \
	   include/net/failover.h include/net/net_failover.h

.PHONY: all modules kernels lint checkpatch sparse kerneldoc demo check clean setup \
	tools docs nopci deb

all: modules

setup:
	@$(ROOT)/scripts/setup.sh

modules:
	$(MAKE) -C $(KDIR) M=$(ROOT) W=1 modules

kernels:
	set -e; for k in $$($(ROOT)/scripts/kbuild.sh list); do \
		$(ROOT)/scripts/kbuild.sh $$k modules; done

checkpatch:
	cd $(ROOT) && $(KSRC)/scripts/checkpatch.pl --strict --no-tree \
		--ignore FILE_PATH_CHANGES -f $(SOURCES)
	# The one file whose job is to test the kernel's version.
	cd $(ROOT) && $(KSRC)/scripts/checkpatch.pl --strict --no-tree \
		--ignore FILE_PATH_CHANGES,LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		-f compat/failover_compat.h

sparse:
	$(MAKE) -C $(KDIR) M=$(ROOT) C=2 W=1 modules 2>&1 | tee $(ROOT)/.cache/sparse.log
	@! grep -E 'warning:|error:' $(ROOT)/.cache/sparse.log

kerneldoc:
	cd $(ROOT) && $(KSRC)/scripts/kernel-doc -v -Werror -none \
		net/core/failover.c drivers/net/net_failover.c \
		include/net/failover.h include/net/net_failover.h

lint: checkpatch sparse kerneldoc

# virtio-mmio and s390 configurations select NET_FAILOVER without PCI. The
# kernel's headers see CONFIG_PCI undefined (forced after autoconf.h); the
# build must not reference pci_bus_type. A copy, so that the tree's objects
# stay those of the real configuration.
NOPCI := $(ROOT)/.cache/nopci
nopci:
	rm -rf $(NOPCI) && mkdir -p $(NOPCI)
	cp -r $(ROOT)/Kbuild $(ROOT)/compat $(ROOT)/net $(ROOT)/drivers $(ROOT)/include $(NOPCI)/
	find $(NOPCI) \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' \) -delete
	echo '#undef CONFIG_PCI' > $(NOPCI)/nopci.h
	$(MAKE) -C $(KDIR) M=$(NOPCI) W=1 KCFLAGS="-include $(NOPCI)/nopci.h" modules
	! nm $(NOPCI)/drivers/net/net_failover.ko | grep -q pci_bus_type

demo:
	@$(ROOT)/scripts/demo.sh

check:
	@$(ROOT)/scripts/check.sh

tools:
	$(MAKE) -C $(ROOT)/tools/net/failover
	$(MAKE) -C $(ROOT)/tools/net/failover/probe

docs:
	@$(ROOT)/scripts/build-docs.sh

deb:
	@$(ROOT)/scripts/deb.sh

# Not kbuild's "clean": with M= it deletes every *.ko below the tree,
# the Debian kernel unpacked in .cache/ included.
clean:
	find $(ROOT)/net $(ROOT)/drivers -type f \( -name '*.o' -o -name '*.ko' \
		-o -name '.*.cmd' -o -name '*.mod' -o -name '*.mod.c' \) -delete
	rm -f $(ROOT)/Module.symvers $(ROOT)/modules.order $(ROOT)/.*.cmd
