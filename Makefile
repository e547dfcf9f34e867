# guplab: one entry point per job. `make bench` and `make test` set up
# everything they need on a Debian machine (as root): see README.md.

NODE       ?= node
NODEDIR    := $(shell $(NODE) -p "require('path').resolve(process.execPath, '../..')")
VITEST     := node_modules/.bin/vitest
GUPLAB     := $(NODE) bin/guplab.js
KVER       ?= $(shell uname -r)
KDIR       ?= /lib/modules/$(KVER)/build
# The default kernel line: lib/kernels/kernel.ts DEFAULT_KERNEL, its one definition.
KERNEL     ?= $(shell sed -n "s/^export const DEFAULT_KERNEL = '\(.*\)';/\1/p" lib/kernels/kernel.ts)
VM_FLAGS   ?= --kernel $(KERNEL)

PHONY_FAST := check lint format checkpatch prebuilds test-ci-engine
.PHONY: all deps build addon ts $(PHONY_FAST) kmod kmod-check test-vm-lines test-selftests fidelity test-debug kernels load unload bench overhead test test-full test-fresh test-unit test-host test-runner test-vm test-kernel stress test-stress clean

all: build

deps:
	./scripts/deps.sh

# The addon against the running Node's own headers (no header download).
ADDON_SOURCES := binding.gyp $(wildcard native/*.cc native/*.h) kmod/uapi/guplab.h
build/Release/guplab.node: $(ADDON_SOURCES) package-lock.json
	node_modules/.bin/node-gyp rebuild --nodedir=$(NODEDIR)
addon: deps build/Release/guplab.node

# The addon for linux-x64 and linux-arm64 in prebuilds/, shipped by npm pack
# (node-gyp-build loads it where guplab is installed).
prebuilds: build
	$(NODE) scripts/prebuilds.mjs

# tsc only when a source changed (the stamp): the CI engine's two kernel
# jobs run `make build` side by side in this checkout, and a tsc rewriting
# dist/ under the other job's node once handed it a half-written module.
TS_SOURCES := tsconfig.json $(shell find lib -name '*.ts')
ts: deps dist/.tsbuilt
dist/.tsbuilt: $(TS_SOURCES)
	node_modules/.bin/tsc -p tsconfig.json
	@touch $@

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

# The test tiers (docs/testing.md). The fast one, `npm test`: no VM, no root
# needed once deps are in: types, lint (biome; clang-format on native/; checkpatch.pl on kmod/), unit
# and host tests, and the drift check of the generated docs (a unit test).
check: build lint checkpatch
	node_modules/.bin/tsc -p tsconfig.test.json
	$(VITEST) run test/unit test/host

lint:
	node_modules/.bin/biome check
	clang-format --dry-run --Werror native/*.cc native/*.h

# Rewrites lib/, test/, scripts/, tools/ and bin/ (biome.jsonc) and native/ (.clang-format) in the checked style.
format:
	node_modules/.bin/biome format --write
	clang-format -i native/*.cc native/*.h

checkpatch: ts
	$(NODE) scripts/checkpatch.mjs

# README's and CI's test command: every layer, as timed phases
# (scripts/test.sh prints the breakdown), on the `test` run set.
test:
	VM_RUNS=$(VM_RUNS) VM_JOBS=$(VM_JOBS) STRESS_KERNELS="$(TEST_STRESS_KERNELS)" ./scripts/test.sh

# Before resolving kernel-side work: every run of the `full` set, stress on
# both stable lines, then the other lines.
test-full:
	VM_RUNS=full VM_JOBS=$(VM_JOBS) STRESS_KERNELS="6.1,6.12" ./scripts/test.sh
	$(MAKE) test-vm-lines

# README's two commands in a freshly debootstrapped Debian 12 root (root only).
test-fresh:
	./scripts/test-fresh.sh

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
# boot per run: the kernel tests, then the semantics check suite, in the full
# guest (lib/vm/guest.ts fullGuest: huge pages, ZONE_MOVABLE, ext4/xfs disks,
# memfd_secret, DAX on emulated pmem where the arch has memmap=), then the
# kernel matrix of the check reports (results/test-vm/matrix.md).
# VM_RUNS names a run set of lib/vm/runs.ts (test for make test, full for
# make test-full, lines) or lists KERNEL:ARCH pairs.
VM_RUNS ?= test
TEST_STRESS_KERNELS ?= 6.12
VM_JOBS ?= 1
test-vm: build
	$(GUPLAB) test-vm --runs $(VM_RUNS) --jobs $(VM_JOBS)

# The matrix through a real CI engine: .gitlab-ci.yml run here by
# gitlab-ci-local (2 kernel jobs + merge), the merged table held against the
# one from test-vm's reports (run test-vm first).
test-ci-engine: build
	./scripts/ci-engine.sh

# The other Debian lines with headers (`guplab kernels`), outside `make
# test` for time: 5.10 and 7.2 x86_64, 5.10 and 7.3 arm64.
test-vm-lines: build
	$(GUPLAB) test-vm --runs lines --jobs $(VM_JOBS) --out results/test-vm-lines

# The kernel's own GUP selftests (gup_test with mm/gup_test.c built out of
# tree from Debian's linux-source, gup_longterm, cow), the cross-check with
# guplab's probes, and gup_test's benchmark against BENCH (README "The
# kernel's own selftests"). One boot per kernel and command; outside make test.
SELFTESTS_KERNELS ?= 6.1 6.12
test-selftests: build
	for k in $(SELFTESTS_KERNELS); do $(GUPLAB) selftests --vm --kernel $$k --out results/selftests || exit 1; done
fidelity: build
	for k in $(SELFTESTS_KERNELS); do $(GUPLAB) fidelity --vm --kernel $$k --out results/fidelity || exit 1; done

# A debug kernel: Debian's linux-source of the line built with KASAN, KFENCE,
# UBSAN, lockdep (PROVE_LOCKING, PROVE_RCU), DEBUG_ATOMIC_SLEEP, DEBUG_VM,
# DEBUG_PAGEALLOC and CONFIG_GUP_TEST (lib/kernels/debugkernel.ts; built once,
# cached by source version and config hash), then on it the kernel tests and
# the check suite, the stress ci profile and the kernel's own selftests
# (README "Debug kernel"). Outside make test for time.
DEBUG_KERNELS ?= 6.12-debug
DEBUG_TIMEOUT ?= 5400
test-debug: build
	$(GUPLAB) test-vm --runs $(subst $(eval) ,$(comma),$(addsuffix :x86_64,$(DEBUG_KERNELS))) --timeout $(DEBUG_TIMEOUT) --out results/test-debug
	$(GUPLAB) stress --kernel $(subst $(eval) ,$(comma),$(DEBUG_KERNELS)) --profile ci --timeout $(DEBUG_TIMEOUT)
	for k in $(DEBUG_KERNELS); do $(GUPLAB) selftests --vm --kernel $$k --arch x86_64 --timeout $(DEBUG_TIMEOUT) --out results/test-debug || exit 1; done

kernels: build
	$(GUPLAB) kernels

# The reference pages in docs/reference/ (CLI, probes, kernels, matrix), from
# the code and docs/data/; test/unit/docs-drift.test.ts fails when they are stale.
.PHONY: docs docs-data
docs: build
	$(NODE) -e 'import("./dist/lib/jobs/docs.js").then((m) => { process.exitCode = m.writeDocs(); })'

# The matrix page's data and the evidence behind every "measured"
# expectation (lib/check/evidence.ts): the check reports of the last
# `make test-full` (test-vm and test-vm-lines; DOCS_DATA_FROM may name one).
DOCS_DATA_FROM ?= results/test-vm results/test-vm-lines
docs-data:
	@for d in $(DOCS_DATA_FROM); do ls $$d/check-*.json >/dev/null 2>&1 || { echo "docs-data: no check reports in $$d: run make test-full (or make test-vm) first" >&2; exit 2; }; done
	mkdir -p docs/data && rm -f docs/data/check-*.json && for d in $(DOCS_DATA_FROM); do cp $$d/check-*.json docs/data/ || exit 1; done
	$(MAKE) docs

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
	rm -rf build dist prebuilds tools/pin1
	$(MAKE) -C kmod -f /dev/null clean 2>/dev/null || true
	rm -f kmod/*.o kmod/*.ko kmod/*.mod kmod/*.mod.c kmod/.*.cmd kmod/modules.order kmod/Module.symvers
