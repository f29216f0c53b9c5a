#!/usr/bin/env bash
# What the fault suite's network toolkit (test/fault-injection/network/) needs, from Debian 12:
# iproute2 (ip netns, veth, bridge, tc), nftables (the drops: partitions, isolation, loss),
# iptables (its NFQUEUE target, which queues a host's packets to the delayer on kernels
# without sch_netem or nft_queue) and python3 (the delayer itself, stdlib only).
# Idempotent and quiet when all is there; installing needs root, as the toolkit itself does.
set -euo pipefail

log() { echo "netns-prereqs: $*" >&2; }

missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v tc >/dev/null || missing+=(iproute2)
command -v nft >/dev/null || missing+=(nftables)
command -v iptables-nft >/dev/null || missing+=(iptables)
[[ -x /usr/bin/python3 ]] || missing+=(python3)
((${#missing[@]})) || exit 0

[[ $(id -u) -eq 0 ]] || { log "missing ${missing[*]}; installing needs root"; exit 1; }
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
log "installing ${missing[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps nftables' unit from loading /etc/nftables.conf (a flush of the machine's
# ruleset) should the package try to start it; the toolkit touches only namespaces of its own.
policy=/usr/sbin/policy-rc.d
created=""
if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; created=1; fi
# A fresh machine's package lists may not know them yet: update once, only when needed.
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
if [[ -n $created ]]; then rm -f "$policy"; fi
