# guplab: one entry point per job. `make bench` and `make test` set up
# everything they need on a Debian machine (as root): see README.md.

NODE       ?= node
NODEDIR    := $(shell $(NODE) -p "require('path').resolve(process.execPath, '../..')")
VITEST     := node_modules/.bin/vitest
GUPLAB     := $(NODE) bin/guplab.js
KVER       ?= $(shell uname -r)
KDIR       ?= /lib/modules/$(KVER)/build
KERNEL     ?= 6.1
VM_FLAGS   ?= --kernel $(KERNEL)

.PHONY: all deps build addon ts kmod kmod-check load unload bench test test-unit test-host test-vm test-kernel clean

all: build

deps:
	./scripts/deps.sh

# The addon against the running Node's own headers (no header download).
addon: deps
	node_modules/.bin/node-gyp rebuild --nodedir=$(NODEDIR)

ts: deps
	node_modules/.bin/tsc -p tsconfig.json

build: addon ts

# Bare metal: build against the running kernel and load it.
kmod:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod W=1 modules

# W=1 (and sparse C=1) builds against Debian 6.1 and 6.12, x86_64 and arm64.
kmod-check: build
	$(GUPLAB) kmod-check --kernel 6.1,6.12 --arch x86_64,arm64

load: kmod
	-rmmod guplab 2>/dev/null
	insmod kmod/guplab.ko

unload:
	rmmod guplab

# The main job: boot the default kernel in QEMU, run the headline benchmark.
bench: build
	$(GUPLAB) bench --vm $(VM_FLAGS)

test: build test-unit test-host kmod-check test-vm

test-unit:
	$(VITEST) run test/unit

test-host:
	$(VITEST) run test/host

# Kernel tests inside the VM on each kernel:arch, where /dev/guplab must
# exist (never skipped there). arm64 runs under TCG on an x86_64 host.
VM_RUNS ?= 6.1:x86_64 6.12:x86_64 6.1:arm64 6.12:arm64
test-vm:
	set -e; for r in $(VM_RUNS); do $(GUPLAB) vm run --kernel $${r%%:*} --arch $${r##*:} -- $(VITEST) run test/kernel; done

# Kernel tests on bare metal, after `make load`.
test-kernel:
	$(VITEST) run test/kernel

clean:
	rm -rf build dist
	$(MAKE) -C kmod -f /dev/null clean 2>/dev/null || true
	rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/modules.order kmod/Module.symvers
