#!/usr/bin/env bash
# The house rules, each failing on a violation: ESLint's type-aware rules (eslint.config.js),
# Prettier's format (prettier.config.js; `pnpm format` rewrites), and dependency-cruiser's
# import cycles and package boundaries (.dependency-cruiser.cjs), and knip's unused files,
# exports and dependencies (knip.json). Part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
echo "lint: eslint" >&2
pnpm exec eslint --max-warnings 0 . || status=1
echo "lint: prettier --check" >&2
pnpm exec prettier --check --log-level warn "**/*.{ts,js,mjs,cjs}" || status=1
echo "lint: dependency-cruiser" >&2
pnpm exec depcruise packages test scripts bench --config .dependency-cruiser.cjs --output-type err || status=1
echo "lint: knip" >&2
pnpm exec knip --no-progress || status=1
exit "$status"
