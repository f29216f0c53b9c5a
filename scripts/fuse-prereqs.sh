#!/usr/bin/env bash
# What the simulated pmxcfs (packages/sim/pmxcfs/pmxcfs-server.py) needs, from Debian 12:
# fuse3 (fusermount3) and python3-fusepy (fusepy for /usr/bin/python3, with libfuse2).
# Idempotent and quiet when all is there. Without /dev/fuse it says so and exits 0: the
# simulator then stays on plain directories (its pmxcfs tests are skipped with that reason).
set -euo pipefail

log() { echo "fuse-prereqs: $*" >&2; }

if [[ ! -e /dev/fuse ]]; then
  log "no /dev/fuse on this machine: simulated nodes keep /etc/pve as plain directories"
  exit 0
fi

missing=()
command -v fusermount3 >/dev/null || missing+=(fuse3)
/usr/bin/python3 -c 'import fusepy' 2>/dev/null || missing+=(python3-fusepy)
((${#missing[@]})) || exit 0

[[ $(id -u) -eq 0 ]] || { log "missing ${missing[*]}; installing needs root"; exit 1; }
log "installing ${missing[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine's package lists may not know them yet: update once, only when needed.
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
