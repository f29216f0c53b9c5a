#!/usr/bin/env bash
# Builds the Debian packages into dist/deb/ (or --out <dir>): lockstep-agent_<version>_amd64.deb
# and lockstep-api_<version>_amd64.deb, each with its own Node.js runtime, the same bytes for
# the same commit. Run after scripts/bootstrap.sh (it needs pnpm's packages, dpkg-deb and
# dpkg-shlibdeps); see docs/packaging.md.
set -euo pipefail
cd "$(dirname "$0")/.."

pnpm exec tsc -b
exec pnpm exec tsx scripts/package/main.ts "$@"
