#!/usr/bin/env bash
# Everything the demo and the tests need, from a fresh Debian 12 with Node 20 (as root):
# pnpm, the workspace's packages, Debian's protobuf-compiler, mariadb-server, util-linux's
# flock, systemd-analyze (to verify the agent's unit), openssl (lockstep-pki issues the
# cluster's certificates with it), promtool (from Debian's prometheus package: it checks and
# unit-tests ops/prometheus), galera-4, haproxy and rsync (scripts/galera.sh); for the Debian
# packages (scripts/package.sh and their tests) dpkg-dev (dpkg-shlibdeps), binutils (strip),
# lintian and debootstrap; then a build.
# Safe to run again: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.8
log() { echo "bootstrap: $*" >&2; }

node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
  || { log "Node >= 20.19 is required, found $(node --version)"; exit 1; }

missing=()
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v flock >/dev/null || missing+=(util-linux)
command -v mariadbd >/dev/null || missing+=(mariadb-server)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v openssl >/dev/null || missing+=(openssl)
command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
command -v strip >/dev/null || missing+=(binutils)
command -v lintian >/dev/null || missing+=(lintian)
command -v debootstrap >/dev/null || missing+=(debootstrap)
# Only its promtool is wanted: no recommends (the node exporter, a daemon of its own). Galera
# and HAProxy for the replicated topology (scripts/galera.sh runs them itself, never as services).
tools=()
command -v promtool >/dev/null || tools+=(prometheus)
[[ -e /usr/lib/galera/libgalera_smm.so ]] || tools+=(galera-4)
command -v haproxy >/dev/null || tools+=(haproxy)
command -v rsync >/dev/null || tools+=(rsync)
if ((${#missing[@]} + ${#tools[@]})); then
  [[ $(id -u) -eq 0 ]] || { log "missing ${missing[*]} ${tools[*]}; installing needs root"; exit 1; }
  log "installing ${missing[*]} ${tools[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps mariadb-server and prometheus from starting a system-wide server; ours
  # is project-local, and prometheus's is never run.
  policy=/usr/sbin/policy-rc.d
  created=""
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; created=1; fi
  if ((${#missing[@]})); then apt-get install -y -qq "${missing[@]}" >/dev/null; fi
  if ((${#tools[@]})); then
    apt-get install -y -qq --no-install-recommends "${tools[@]}" >/dev/null
    # Its postinst enables the server for the next boot; nothing here is to start then either.
    if command -v systemctl >/dev/null; then systemctl disable prometheus.service haproxy.service >/dev/null 2>&1 || true; fi
  fi
  if [[ -n $created ]]; then rm -f "$policy"; fi
fi

if ! command -v pnpm >/dev/null || [[ $(pnpm --version) != "$PNPM_VERSION" ]]; then
  log "installing pnpm $PNPM_VERSION from the npm registry"
  npm install --global --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
fi

log "installing workspace packages"
pnpm install --frozen-lockfile --reporter=silent
log "building"
pnpm exec tsc -b
