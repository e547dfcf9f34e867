#!/bin/bash
# The kernel matrix through a real CI engine: this repository's GitLab
# pipeline (.gitlab-ci.yml, made by `guplab matrix --plan --format gitlab`)
# run here by gitlab-ci-local (shell executor, no containers): two kernel
# jobs and the merge job. The merged table must equal the one built here
# from test-vm's reports of the same kernels, for the same probes.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${GUPLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/guplab}
tool="$cache/tools/gitlab-ci-local-4.55.0"
# 4.55: the last release that runs on Node 20 (4.75 needs Node 22's Set methods).
if [ ! -x "$tool/node_modules/.bin/gitlab-ci-local" ]; then
	npm install --prefix "$tool.tmp.$$" --no-audit --no-fund --ignore-scripts gitlab-ci-local@4.55.0 >/dev/null
	mv -T "$tool.tmp.$$" "$tool" 2>/dev/null || rm -rf "$tool.tmp.$$"
fi
rm -rf results/jobs results/matrix .gitlab-ci-local
# No --shell-isolation: the jobs run in this checkout, already built, and
# the merge job reads the kernel jobs' folders where they wrote them.
"$tool/node_modules/.bin/gitlab-ci-local" --variable "GUPLAB_CACHE=$cache"
node scripts/same-matrix.mjs results/matrix/matrix.json results/test-vm
