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

.PHONY: all deps build addon ts kmod load unload bench test test-unit test-host test-vm test-kernel clean

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

load: kmod
	-rmmod guplab 2>/dev/null
	insmod kmod/guplab.ko

unload:
	rmmod guplab

# The main job: boot the default kernel in QEMU, run the headline benchmark.
bench: build
	$(GUPLAB) bench --vm $(VM_FLAGS)

test: build test-unit test-host test-vm

test-unit:
	$(VITEST) run test/unit

test-host:
	$(VITEST) run test/host

# Kernel tests inside the VM, where /dev/guplab must exist (never skipped there).
test-vm:
	$(GUPLAB) vm run $(VM_FLAGS) -- $(VITEST) run test/kernel

# Kernel tests on bare metal, after `make load`.
test-kernel:
	$(VITEST) run test/kernel

clean:
	rm -rf build dist
	$(MAKE) -C kmod -f /dev/null clean 2>/dev/null || true
	rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/modules.order kmod/Module.symvers
