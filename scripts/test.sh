#!/bin/bash
# `make test` and `make test-full`: every test layer, as phases; prints how
# long each took. The
# runner-fault guests mostly wait on a 90 s timeout, so they run beside the
# CPU-bound phases instead of before them.
set -uo pipefail
cd "$(dirname "$0")/.."

GUPLAB="node bin/guplab.js"
VITEST=node_modules/.bin/vitest
LOGS=results/test-logs
mkdir -p "$LOGS"
started=$SECONDS
summary=()
failed=0
why=() # logs of the phases that failed, digested after the summary

record() { # name seconds status
	summary+=("$(printf '%-34s %5d s  %s' "$1" "$2" "$([ "$3" = 0 ] && echo ok || echo "FAILED (exit $3)")")")
	[ "$3" = 0 ] || failed=1
}

phase() { # name command... (output also kept in $LOGS/NAME.log)
	local name=$1 t0=$SECONDS rc log
	log="$LOGS/$(echo "${name%% (*}" | tr -c 'a-z0-9\n' -).log"
	shift
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	record "$name" $((SECONDS - t0)) $rc
	[ $rc = 0 ] || why+=("$log")
	return $rc
}

print_summary() {
	echo
	echo "=== make test: time per phase (wall; phases marked || ran beside others)"
	printf '%s\n' "${summary[@]}"
	printf '%-34s %5d s  %s\n' "total" $((SECONDS - started)) "$([ $failed = 0 ] && echo ok || echo FAILED)"
	# CI shows the tail of this output: end with what failed, not with passing logs.
	for log in "${why[@]}"; do
		echo
		echo "=== why it failed ($log): failing tests and guplab's own lines"
		sed 's/\x1b\[[0-9;]*[a-zA-Z]//g' "$log" | grep -E '(✗|×|FAIL|AssertionError|Error:|expected|^guplab: )' | grep -v '^guplab: \(cached\|building\|booting\)' | tail -n 40
	done
}
trap print_summary EXIT

phase "build" make -s build || exit 1
runs=$(node -e "import('./dist/lib/vm/runs.js').then((m) => console.log(m.expandRuns(process.argv[1])))" "${VM_RUNS:?run through make test, which sets VM_RUNS}") || exit 2
echo "=== runs: $runs; stress on ${STRESS_KERNELS:-6.12}"
# Kernels first, one at a time (a no-op when cached), so that the phases
# that run side by side below only read the cache.
phase "kernels (fetch into the cache)" node -e "
  const { ensureKernel } = await import('./dist/lib/kernels/kernel.js');
  for (const r of '$runs'.split(','))
    ensureKernel(r.split(':')[0], r.split(':')[1], (m) => console.error('guplab: ' + m));" || exit 1

# Beside the rest: the VM runner's faults (hang, panic, end), from the host,
# and the module builds of kmod-check (while the fast tier runs).
# (It records its own wall time: it ends long before it is waited for.)
(t0=$SECONDS; $VITEST run test/vm > "$LOGS/runner-faults.log" 2>&1; rc=$?; echo $((SECONDS - t0)) > "$LOGS/runner-faults.secs"; exit $rc) &
faults_pid=$!
t_kmod=$SECONDS
# The module's W=1 + sparse builds for the kernels the VM runs boot.
runs_of() { echo "$runs" | tr ',' '\n' | grep ":$1\$" | cut -d: -f1 | paste -sd,; }
arches=$(node -e "import('./dist/lib/vm/arch.js').then((m) => console.log(m.ARCH_NAMES.join(' ')))") || exit 2
(for arch in $arches; do
	[ -z "$(runs_of $arch)" ] || $GUPLAB kmod-check --kernel "$(runs_of $arch)" --arch $arch || exit
done) > "$LOGS/kmod-check.log" 2>&1 &
kmod_pid=$!

# The fast tier (npm test): types, lint, checkpatch, unit, host, doc drift.
phase "check (types, lint, unit, host, docs)" make -s check
rc=$?
wait $kmod_pid
krc=$?
echo "=== kmod-check (log: $LOGS/kmod-check.log)"
cat "$LOGS/kmod-check.log"
record "|| kmod-check (W=1, sparse)" $((SECONDS - t_kmod)) $krc
[ $krc = 0 ] || why+=("$LOGS/kmod-check.log")
[ $rc = 0 ] && [ $krc = 0 ] &&
phase "test-vm (kernel tests + check)" $GUPLAB test-vm --runs "$VM_RUNS" --jobs "${VM_JOBS:-1}" &&
phase "CI engine (gitlab-ci-local, 2 jobs + merge)" ./scripts/ci-engine.sh &&
phase "package (pack, install, vm run)" $VITEST run test/package &&
phase "stress ci profile" $GUPLAB stress --kernel "${STRESS_KERNELS:-6.12}" --profile ci
rc=$?

wait $faults_pid
frc=$?
echo "=== runner faults (log: $LOGS/runner-faults.log)"
tail -n 25 "$LOGS/runner-faults.log"
record "|| runner faults (hang, panic, end)" "$(cat "$LOGS/runner-faults.secs" 2>/dev/null || echo 0)" $frc
[ $frc = 0 ] || why+=("$LOGS/runner-faults.log")
[ $rc = 0 ] && [ $frc = 0 ]
