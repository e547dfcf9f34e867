#!/bin/bash
# `make test-fresh`: README's two commands (make bench, make test) in a
# freshly debootstrapped Debian 12 root that has only what minbase brings,
# the machine's Node.js (the base image's, like every machine of this kind),
# and what scripts/deps.sh installs there. The host's kernel and /dev are
# shared (QEMU under TCG needs nothing else); the guplab cache starts empty,
# so kernels and tools are downloaded as on a new machine. A missing install
# step fails here even where the host has the package by hand.
#
# FRESH_ROOT (default /var/tmp/guplab-fresh) is made anew each run;
# FRESH_COMMANDS (default "make bench && make test") is what runs in it.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
root=${FRESH_ROOT:-/var/tmp/guplab-fresh}
commands=${FRESH_COMMANDS:-make bench && make test}

[ "$(id -u)" = 0 ] || { echo "guplab: make test-fresh debootstraps and chroots: run it as root" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "guplab: make test-fresh needs debootstrap: apt-get install debootstrap (or run scripts/deps.sh)" >&2; exit 2; }
command -v node >/dev/null || { echo "guplab: make test-fresh copies the machine's Node.js into the root, and there is none here" >&2; exit 2; }
[ -z "$(git status --porcelain --untracked-files=no)" ] || echo "guplab: note: uncommitted changes are not tested; the root gets a clone of HEAD ($(git rev-parse --short HEAD))" >&2

mounted=()
cleanup() {
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() { # host-path root-path
	mkdir -p "$2"
	mount --bind "$1" "$2"
	mounted+=("$2")
}

started=$SECONDS
umount -R "$root" 2>/dev/null || true
rm -rf "$root"
# The archive the host's apt uses (sources in deb822 or one-line form).
# (As lib/kernels/apt.ts systemMirrors reads them.)
mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
	sed -nE 's/^URIs:[[:space:]]*([^[:space:]]+).*/\1/p; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' | grep -v security | head -n 1) || true
echo "=== debootstrap --variant=minbase bookworm $root ${mirror}"
debootstrap --variant=minbase bookworm "$root" ${mirror:+"$mirror"} >/dev/null
# apt as the host has it (sources, and settings such as Check-Valid-Until
# for a snapshot archive); nothing from the host's package set.
rm -rf "$root/etc/apt/sources.list.d" "$root/etc/apt/apt.conf.d"
cp -a /etc/apt/sources.list.d /etc/apt/apt.conf.d "$root/etc/apt/"
[ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$root/etc/apt/"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
# debootstrap writes no /etc/hosts, and vitest listens on localhost.
cp /etc/hosts "$root/etc/hosts"
# The machine's Node.js and npm: part of the base image on this kind, not
# something deps.sh installs.
dpkg -L nodejs | while read -r f; do [ -f "$f" ] || [ -L "$f" ] && echo "${f#/}"; done | tar -C / -cf - -T - | tar -C "$root" -xf -
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
mkdir -p "$root$(dirname "$npm_dir")"
# (The machine upgrades npm past the package's own copy: the whole folder, replaced.)
rm -rf "$root$npm_dir"
cp -a "$npm_dir" "$root$npm_dir"
ln -sf "$npm_dir/bin/npm-cli.js" "$root/usr/bin/npm"
ln -sf "$npm_dir/bin/npx-cli.js" "$root/usr/bin/npx"
# make too: every machine of this kind ships it, and README's commands start
# with it (deps.sh lists it as well, with g++ and python3 of the same image).
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
	sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends make git ca-certificates >/dev/null'
# The machine's trust setup too (a CA of its network's proxy, npm's cafile):
# the machine's, not the project's, as a new machine of this kind has it.
for f in /etc/ssl/certs/ca-certificates.crt /usr/local/share/ca-certificates /etc/npmrc /root/.npmrc; do
	[ -e "$f" ] && { mkdir -p "$root$(dirname "$f")"; cp -a "$f" "$root$(dirname "$f")/"; }
done
git clone -q "$src" "$root/work/guplab"
# The root a mount point of its own, as / is on a machine: the kernel build
# roots' `unshare -m --propagation private` fails on a / that is not one.
bind "$root" "$root"
for d in /dev /dev/pts /proc /sys; do bind "$d" "$root$d"; done
echo "=== fresh root ready ($((SECONDS - started)) s); in it: $commands"
t0=$SECONDS
set +e
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb CI=true ${NODE_EXTRA_CA_CERTS:+NODE_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS} \
	bash -c "cd /work/guplab && set -o pipefail && $commands"
rc=$?
set -e
echo "=== make test-fresh: $commands: $([ $rc = 0 ] && echo ok || echo "FAILED (exit $rc)") in $((SECONDS - t0)) s; $((SECONDS - started)) s in all"
if [ $rc = 0 ]; then
	status=$(git -C "$root/work/guplab" status --porcelain --untracked-files=no)
	[ -z "$status" ] || { echo "guplab: the clean clone was changed by the commands (results would say +dirty):"; echo "$status"; exit 1; }
	echo "guplab: the clone is still clean: results name $(git -C "$root/work/guplab" rev-parse --short HEAD) without +dirty"
fi
exit $rc
