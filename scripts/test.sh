#!/usr/bin/env bash
# The whole test suite, from nothing: bootstrap, MariaDB, the generated-code check, type
# checks of the tests, lint (scripts/lint.sh: ESLint, Prettier, dependency-cruiser), then
# every ava test (unit, simulator, cross-package), and last the short fault-injection seeds,
# one at a time on an otherwise idle machine (ava.fault-seeds.config.mjs).
# Arguments are ava's and select tests of the first run only, which then runs alone.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
scripts/fuse-prereqs.sh
scripts/netns-prereqs.sh
scripts/mariadb.sh start
scripts/codegen.sh --check
pnpm exec tsx scripts/spec-schema.ts --check
pnpm exec tsc -p tsconfig.tests.json
scripts/lint.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
pnpm exec ava "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [[ $# -eq 0 ]]; then
  # A test that failed or timed out may leave its processes running; the fault seeds need the
  # machine to themselves, so they go (named here) rather than slow every seed's pct past its timeout.
  ours="$(pwd)/packages/(agent|api|sim)/bin/"
  if pgrep -f "$ours" >/dev/null; then
    echo "test: processes left by the tests above, killed before the fault seeds:"
    pgrep -af "$ours" | cut -c1-200
    pkill -KILL -f "$ours" || true
  fi
  pnpm exec ava --config ava.fault-seeds.config.mjs 2>&1 | tee -a "$log"
  seeds=${PIPESTATUS[0]}
  if [[ $status -eq 0 ]]; then status=$seeds; fi
fi
set -e
# ava prints a passed count only when nothing failed, so count its result marks.
passed=$(grep -cE '^\s+✔ ' "$log" || true)
failed=$(grep -cE '^\s+✘ ' "$log" || true)
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi
# Last, so that the end of the output (all a CI report may keep) names what failed.
if [[ $failed -gt 0 ]]; then
  echo "failed:"
  grep -E '^\s+✘ ' "$log" | sort -u
fi
echo "ava: ${passed} passed, ${failed} failed"
exit "$status"
