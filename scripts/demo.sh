#!/usr/bin/env bash
# The demo: MariaDB, two simulated Proxmox nodes with an agent each, and a provisioning run
# narrated step by step. Everything it starts is stopped at the end; state stays in .local/demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/mariadb.sh start
exec pnpm exec tsx scripts/demo/demo.ts "$@"
