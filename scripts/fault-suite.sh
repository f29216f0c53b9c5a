#!/usr/bin/env bash
# The fault-injection suite at length: seeded workloads and faults against real API
# processes, agents on a simulated 3-node cluster (each node's /etc/pve a pmxcfs FUSE mount
# when the machine has FUSE, plain directories otherwise, without the pmxcfs faults) and a
# MariaDB of its own, invariants checked per seed.
#
#   scripts/fault-suite.sh                    one fresh seed, 120 requests, 30 faults, 90 s
#   scripts/fault-suite.sh --seeds 20         seeds 1..20 in a row
#   scripts/fault-suite.sh --seed 7           repeat one seed (a failing run prints this line)
#   scripts/fault-suite.sh --db galera        on a 3-node Galera cluster behind HAProxy, with every
#                                             API process, agent and database node in a network
#                                             namespace of its own, and faults of the database and
#                                             the network (writer killed, a node partitioned, an API
#                                             cut off from the database, an agent from the APIs)
#
# Options: --seed N, --seeds K, --requests N, --faults N, --phase-s S, --db single|galera. The
# test command runs a short seed of the same runner (test/fault-injection.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/fuse-prereqs.sh
scripts/netns-prereqs.sh
# Node itself, not `pnpm exec`: pnpm kills its child at once on SIGINT, before the runner has
# stopped the agents, FUSE servers and MariaDB it started.
exec node --import tsx test/fault-injection/main.ts "$@"
