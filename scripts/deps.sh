#!/bin/sh
# Installs the Debian packages guplab needs that are missing, then the npm
# packages. Idempotent: a second run installs nothing.
set -eu

# gdb and numactl: vm shell --gdb (and its symbol ELF, binutils; gdb-multiarch for
# a guest of the other arch) and NUMA guests (numactl --membind in the guest).
# rsync: gitlab-ci-local copies the checkout with it (make test's CI-engine phase).
# Every program the code runs is listed with its package in lib/util/programs.ts.
# libc6-dev-i386 and lib32gcc-12-dev: gcc -m32 for the 32-bit caller of
# test/kernel/unpriv.c. Not gcc-multilib: on bookworm it conflicts with
# gcc-aarch64-linux-gnu, and installing it removes the cross compilers.
# device-tree-compiler: dtc adds the pmem-region node to arm64 guests' device
# tree (--pmem/--dax, DAX in the full guest: lib/vm/devicetree.ts).
# flex, bison, bc, libelf-dev and libssl-dev: building a debug kernel from
# Debian's linux-source (--kernel 6.12-debug, make test-debug: lib/kernels/debugkernel.ts).
# clang-format: make lint checks native/ against .clang-format.
PACKAGES="qemu-system-x86 busybox-static kmod xz-utils zstd sparse gcc make libc6-dev libelf1 \
debian-archive-keyring apt dpkg python3 g++ dwarves util-linux libc6-dev-i386 lib32gcc-12-dev \
gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross e2fsprogs xfsprogs \
qemu-system-arm g++-aarch64-linux-gnu debootstrap chromium git device-tree-compiler gdb gdb-multiarch numactl binutils \
flex bison bc libelf-dev libssl-dev rsync clang-format"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "guplab: missing Debian packages:$missing" >&2
		echo "guplab: install them as root: apt-get update && apt-get install --no-install-recommends$missing" >&2
		exit 1
	fi
	echo "guplab: installing$missing"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# node_modules exactly at the lock file's versions (npm ci never rewrites the
# lock, so a clean clone stays clean), unless already in step with it.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund --ignore-scripts
fi
