#!/bin/sh
# HAProxy's health check of one Galera node (scripts/galera.sh copies it next to the proxy's
# configuration). HAProxy runs it with: proxy address, proxy port, node address, node port.
# Exits 0 only when the node is Synced (wsrep_local_state 4), in the Primary component and
# ready: a node that answers but is joining, donating, desynced or cut off from the majority
# (which would refuse every statement with 1047) must take no connections. The password is read
# from check.cnf beside this script, never from the command line.
set -eu
# HAProxy gives a check 2 s; its log says why a node went down, so the client's own errors
# (one a second while a node is down) are not kept.
status=$(timeout 2 mariadb --defaults-extra-file="$(dirname "$0")/check.cnf" --protocol=tcp \
  --host="$3" --port="$4" --connect-timeout=2 -N -B \
  -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', 'wsrep_cluster_status', 'wsrep_ready')" 2>/dev/null)
printf '%s\n' "$status" | awk -F '\t' '{ v[$1] = $2 }
  END { exit !(v["wsrep_local_state"] == "4" && v["wsrep_cluster_status"] == "Primary" && v["wsrep_ready"] == "ON") }'
