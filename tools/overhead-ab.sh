#!/bin/sh
# guplab overhead from another checkout (BEFORE, built) and from this one,
# alternately, twice, in one boot: before/after figures for a change to the
# call path. BEFORE must lie inside the project so that the guest sees it:
#   git worktree add .before <commit> && ln -s ../node_modules .before/ && make -C .before build
#   guplab vm run --kernel 6.1 -- sh tools/overhead-ab.sh .before
set -e
before=${1:?usage: tools/overhead-ab.sh BEFORE_CHECKOUT}
[ -f "$before/dist/lib/cli.js" ] || { echo "overhead-ab: $before has no build: run make -C $before build" >&2; exit 2; }
for i in 1 2; do
	echo "== before $i ($(git -C "$before" rev-parse --short HEAD 2>/dev/null || echo "$before"))"
	(cd "$before" && node bin/guplab.js overhead)
	echo "== after $i ($(git rev-parse --short HEAD 2>/dev/null || echo .))"
	node bin/guplab.js overhead
done
