#!/usr/bin/env bash
# The whole test suite, from nothing: bootstrap, MariaDB, the generated-code check, type
# checks of the tests, lint (scripts/lint.sh: ESLint, Prettier, dependency-cruiser), then
# every ava test (unit, simulator, cross-package), the agent's integration tests again with the
# agent split in two processes, and last the short fault-injection seeds, one at a time on an
# otherwise idle machine (ava.fault-seeds.config.mjs).
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
declare -A before=()
for pid in $(ps -e -o pid=); do before[$pid]=1; done

# What a test that failed or timed out left running (AVA ends a timed-out file's worker, not what
# it started): processes started since the suite began, on this checkout's programs or a
# temporary directory (agents, APIs, simulated pct and its task workers, pmxcfs servers,
# mariadbd and HAProxy of a Galera test). Nothing that ran before the suite is touched.
kill_leftovers() {
  local tmp="${TMPDIR:-/tmp}" repo pid args
  repo=$(pwd)
  local -a pids=()
  while read -r pid args; do
    [[ $pid == "$$" || -n ${before[$pid]:-} ]] && continue
    [[ $args == *"$repo/"* || $args == *"$tmp/"* ]] || continue
    [[ ${#pids[@]} -eq 0 ]] && echo "test: processes left by the tests above, killed before the fault seeds:"
    echo "  $pid ${args:0:200}"
    pids+=("$pid")
  done < <(ps -e -o pid=,args=)
  if [[ ${#pids[@]} -gt 0 ]]; then kill -KILL "${pids[@]}" 2>/dev/null || true; fi
  leftovers=${#pids[@]}
  # A killed pmxcfs leaves its mount point answering ENOTCONN.
  findmnt -rn -o TARGET,FSTYPE | awk -v tmp="$tmp/" 'index($1, tmp) == 1 && $2 ~ /^fuse/ { print $1 }' |
    while read -r mount; do fusermount3 -uz "$mount" 2>/dev/null || true; done
}

set +e
pnpm exec ava "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [[ $# -eq 0 ]]; then
  # The agent's integration tests again with every agent split in two processes, as the
  # package runs it (docs/security.md, "The agent split"); the run above had one process each.
  echo "test: the agent's integration tests, split (LOCKSTEP_TEST_AGENT_SPLIT=1)"
  LOCKSTEP_TEST_AGENT_SPLIT=1 pnpm exec ava packages/agent/test/integration/ 2>&1 | tee -a "$log"
  split=${PIPESTATUS[0]}
  if [[ $status -eq 0 ]]; then status=$split; fi
  # The fault seeds need the machine to themselves: a leftover's load slows every seed's pct
  # past its timeout, an incident no fault explains.
  kill_leftovers
  seeds_start="before the fault seeds: ${leftovers} leftover process(es) killed, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "test: ${seeds_start}"
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
  grep -E '^\s+✘ ' "$log" | sort -u || true
  # What AVA's inactivity timeout found still running (it names them ◌).
  grep -E '^\s*◌ ' "$log" | sed 's/^\s*/  pending at the timeout: /' | sort -u || true
fi
if [[ -n ${seeds_start:-} ]]; then echo "${seeds_start}"; fi
echo "ava: ${passed} passed, ${failed} failed"
exit "$status"
