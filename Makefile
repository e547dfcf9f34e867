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

.PHONY: all deps build addon ts kmod kmod-check test-vm-lines kernels load unload bench overhead test test-unit test-host test-runner test-vm test-kernel stress test-stress clean

all: build

deps:
	./scripts/deps.sh

# The addon against the running Node's own headers (no header download).
addon: deps
	node_modules/.bin/node-gyp rebuild --nodedir=$(NODEDIR)

ts: deps
	node_modules/.bin/tsc -p tsconfig.json

# The harness-overhead baseline (guplab overhead): a minimal C loop of PIN ioctls.
tools/pin1: tools/pin1.c kmod/uapi/guplab.h
	$(CC) -O2 -Wall -Wextra -Werror -o $@ tools/pin1.c

build: addon ts tools/pin1

# Bare metal: build against the running kernel and load it.
kmod:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod W=1 modules

# W=1 and sparse (C=1) builds against every Debian kernel line the archive
# has headers for on x86_64 (5.10, 6.1, 6.12, 7.2, 7.3 today: `guplab
# kernels`), and 5.10, 6.1, 6.12 and 7.3 on arm64 (cross-compiled).
KMOD_CHECK_X86_64 ?= all
KMOD_CHECK_ARM64 ?= 5.10,6.1,6.12,7.3
kmod-check: build
	$(GUPLAB) kmod-check --kernel $(KMOD_CHECK_X86_64) --arch x86_64
	$(GUPLAB) kmod-check --kernel $(KMOD_CHECK_ARM64) --arch arm64

load: kmod
	-rmmod guplab 2>/dev/null
	insmod kmod/guplab.ko

unload:
	rmmod guplab

# The main job: boot the default kernel in QEMU, run the default benchmark
# (table; results/results.json and results/report.html on the host).
bench: build
	$(GUPLAB) bench --vm $(VM_FLAGS)

# The harness's own overhead: a 1-page PIN from TypeScript, C, and in the kernel loop.
overhead: build
	$(GUPLAB) vm run $(VM_FLAGS) -- $(NODE) bin/guplab.js overhead

test: build test-unit test-host kmod-check test-runner test-vm test-stress

# The tests are type-checked too (strict, as lib/), then run.
test-unit:
	node_modules/.bin/tsc -p tsconfig.test.json
	$(VITEST) run test/unit

test-host:
	$(VITEST) run test/host

# The VM runner's faults, from the host: guests that hang with a silent
# console, panic, or end, booted side by side (timeout, verdicts, saved
# console logs, no partial result file copied back).
test-runner: build
	$(VITEST) run test/vm

# Kernel tests inside the VM on each kernel:arch, where /dev/guplab must
# exist (never skipped there); arm64 runs under TCG on an x86_64 host. One
# boot per run: the kernel tests, then the semantics check suite, in a guest
# with every memory kind they pin (huge pages, ZONE_MOVABLE, plain ext4/xfs
# disks, memfd_secret; DAX on emulated pmem where the arch has memmap=).
# (The same guest as `guplab check --vm`.) The check reports make the kernel
# matrix (results/test-vm/matrix.md) without more boots.
VM_RUNS ?= 6.1:x86_64 6.12:x86_64 6.1:arm64 6.12:arm64
VM_TEST_FLAGS ?= --mem 3072 --hugepages 16 --movablecore 256M --fs ext4,xfs --append secretmem.enable=1
VM_TEST_FLAGS_x86_64 ?= --pmem 128M --dax ext4,xfs
test-vm:
	rm -rf results/test-vm
	set -e; for r in $(VM_RUNS); do k=$${r%%:*}; a=$${r##*:}; \
	  extra=; if [ $$a = x86_64 ]; then extra="$(VM_TEST_FLAGS_x86_64)"; fi; \
	  $(GUPLAB) vm run --kernel $$k --arch $$a $(VM_TEST_FLAGS) $$extra --out results/test-vm -- \
	    sh -c '$(VITEST) run test/kernel && node bin/guplab.js check --json "$$GUPLAB_VM_OUT/check-'$$k'-'$$a'.json"'; \
	done
	$(GUPLAB) matrix --from results/test-vm/check-*.json --out results/test-vm --changed

# The other Debian lines (`guplab kernels`), outside `make test` for time:
# 5.10 and 7.x x86_64 and 5.10 arm64, each about 10-15 min under TCG here.
VM_RUNS_LINES ?= 5.10:x86_64 7.2:x86_64 7.3:x86_64 5.10:arm64
test-vm-lines:
	$(MAKE) test-vm VM_RUNS="$(VM_RUNS_LINES)"

kernels: build
	$(GUPLAB) kernels

# Fuzzing, SIGKILLed holders, pin/mm races, permissions, rmmod/insmod in the
# VM on 6.1 and 6.12 (README "Stress"). `make stress` is the full run (1M
# pinned pages killed, 60 s races, 5 GiB guest); `make test` runs the ci
# profile (same 100k fuzz calls, 15 s races, 256K pages killed).
STRESS_KERNELS ?= 6.1 6.12
comma := ,
STRESS_PROFILE ?= full
stress: build
	$(GUPLAB) stress --kernel $(subst $(eval) ,$(comma),$(STRESS_KERNELS)) --profile $(STRESS_PROFILE)

test-stress: build
	$(GUPLAB) stress --kernel $(subst $(eval) ,$(comma),$(STRESS_KERNELS)) --profile ci

# Kernel tests on bare metal, after `make load`.
test-kernel:
	$(VITEST) run test/kernel

clean:
	rm -rf build dist tools/pin1
	$(MAKE) -C kmod -f /dev/null clean 2>/dev/null || true
	rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/modules.order kmod/Module.symvers
