#!/usr/bin/env bash
# A project-local MariaDB Galera cluster for tests, benchmarks and the fault suite: three
# `mariadbd` processes with wsrep on loopback under .local/galera/n{1,2,3}, run as the `mysql`
# user, no systemd; and HAProxy in front, sending every connection to one writer node (n1, else
# n2, else n3) that is Synced in the Primary component. docs/galera.md says why.
#
#   scripts/galera.sh start          install if missing, start the nodes one at a time until each
#                                    is Synced (a new cluster from n1, or a restart from the node
#                                    safe to bootstrap), create the `lockstep` user, start the proxy
#   scripts/galera.sh stop           stop the proxy, then each node cleanly (data kept)
#   scripts/galera.sh status         each node's state and the proxy's writer; exit 0 when all
#                                    three are Synced and Primary and the proxy answers
#   scripts/galera.sh url [n]        the proxy's database URL, or node n's (it holds the password)
#   scripts/galera.sh writer         the node the proxy sends connections to
#   scripts/galera.sh kill-writer    SIGKILL that node (a crash) and print its name
#   scripts/galera.sh node <n> start|stop|kill|pause|resume
#                                    one node: join the running cluster (until Synced), stop
#                                    cleanly, SIGKILL, SIGSTOP, SIGCONT
#
# Environment: LOCKSTEP_GALERA_DIR (default .local/galera); LOCKSTEP_GALERA_PORT_BASE (default
# 3410): the proxy listens on the base, node i on base+i (MySQL), base+10+i (group
# communication), base+20+i (IST) and base+30+i (SST); LOCKSTEP_GALERA_SYNC_TIMEOUT (seconds
# one node may take to be Synced, default 180); LOCKSTEP_GALERA_NETNS (unset: everything on
# 127.0.0.1) = n1=<netns>@<ipv4>,n2=...,n3=...,proxy=...: each node and the proxy run in that
# network namespace (/run/netns/<netns>) and bind to that address, for the fault suite's
# partitions; a cluster's every command must be given the placement it was started with.
# Needs root: nodes run as `mysql`, HAProxy as `haproxy`.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${LOCKSTEP_GALERA_DIR:-$PWD/.local/galera}"
BASE="${LOCKSTEP_GALERA_PORT_BASE:-3410}"
SYNC_TIMEOUT="${LOCKSTEP_GALERA_SYNC_TIMEOUT:-180}"
NODES=(1 2 3)
PROXY="$DIR/proxy"
CLIENT_CNF="$DIR/lockstep.cnf"
URLFILE="$DIR/database-url"
PLACEMENT="${LOCKSTEP_GALERA_NETNS:-}"
# The placement a cluster was started with (absent: loopback).
PLACEMENT_FILE="$DIR/placement"
# Parsed from PLACEMENT, by 1, 2, 3 and proxy; empty on loopback.
declare -A NETNS=() ADDRESS=()
PROVIDER=/usr/lib/galera/libgalera_smm.so
# The proxy's health check logs in as this user: no password (HAProxy's check cannot compute
# one), no privilege, few connections. It can read status variables and nothing else.
CHECK_USER=lockstep_check

log() { echo "galera: $*" >&2; }
die() { log "$*"; exit 1; }

node_dir() { echo "$DIR/n$1"; }
mysql_port() { echo $((BASE + $1)); }
group_port() { echo $((BASE + 10 + $1)); }
ist_port() { echo $((BASE + 20 + $1)); }
sst_port() { echo $((BASE + 30 + $1)); }

check_settings() {
  if [[ ! $BASE =~ ^[0-9]+$ ]] || ((BASE < 1024 || BASE > 65535 - 33)); then
    die "LOCKSTEP_GALERA_PORT_BASE must be a number from 1024 to $((65535 - 33)), got '$BASE'"
  fi
  [[ $SYNC_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "LOCKSTEP_GALERA_SYNC_TIMEOUT must be a positive number of seconds, got '$SYNC_TIMEOUT'"
  [[ -z $PLACEMENT ]] || parse_placement
  [[ $(id -u) -eq 0 ]] || die "needs root: the nodes run as the mysql user and the proxy as haproxy"
  [[ -z $PLACEMENT ]] || check_placed_addresses
}

# LOCKSTEP_GALERA_NETNS into NETNS and ADDRESS, refusing any bad part by name.
parse_placement() {
  local usage="n1=<netns>@<ipv4>,n2=<netns>@<ipv4>,n3=<netns>@<ipv4>,proxy=<netns>@<ipv4>"
  local entries entry name key namespace address
  [[ $PLACEMENT =~ ^[^,]+(,[^,]+)*$ ]] || die "LOCKSTEP_GALERA_NETNS must be $usage (no empty part), got '$PLACEMENT'"
  IFS=, read -ra entries <<<"$PLACEMENT"
  for entry in "${entries[@]}"; do
    [[ $entry =~ ^([^=]*)=([^@]*)@(.*)$ ]] || die "LOCKSTEP_GALERA_NETNS: part '$entry' is not <name>=<netns>@<ipv4>"
    name=${BASH_REMATCH[1]} namespace=${BASH_REMATCH[2]} address=${BASH_REMATCH[3]}
    case $name in
      n1 | n2 | n3) key=${name#n} ;;
      proxy) key=proxy ;;
      *) die "LOCKSTEP_GALERA_NETNS: unknown part '$name' (the parts are n1, n2, n3 and proxy)" ;;
    esac
    [[ -z ${NETNS[$key]:-} ]] || die "LOCKSTEP_GALERA_NETNS names $name twice"
    # "." and ".." would name /run/netns itself or its parent.
    [[ $namespace =~ ^[A-Za-z0-9_.-]+$ && $namespace != . && $namespace != .. ]] \
      || die "LOCKSTEP_GALERA_NETNS: $name's namespace '$namespace' is not a name of letters, digits, '_', '.' and '-'"
    [[ -f /run/netns/$namespace ]] || die "LOCKSTEP_GALERA_NETNS: $name's namespace '$namespace' does not exist (no /run/netns/$namespace)"
    ipv4 "$address" || die "LOCKSTEP_GALERA_NETNS: $name's address '$address' is not a dotted IPv4 address"
    NETNS[$key]=$namespace
    ADDRESS[$key]=$address
  done
  for key in 1 2 3 proxy; do
    name=$key
    [[ $key == proxy ]] || name=n$key
    [[ -n ${NETNS[$key]:-} ]] || die "LOCKSTEP_GALERA_NETNS has no $name=<netns>@<ipv4>: it needs all of $usage"
  done
}

# Four decimal numbers from 0 to 255 without leading zeros (which some tools read as octal).
ipv4() {
  local octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
  [[ $1 =~ ^$octet\.$octet\.$octet\.$octet$ ]]
}

# A node or the proxy could not bind to an address its namespace does not have: say so now.
check_placed_addresses() {
  local key name
  for key in 1 2 3 proxy; do
    name=$key
    [[ $key == proxy ]] || name=n$key
    ip -n "${NETNS[$key]}" -4 -o addr show | grep -q " inet ${ADDRESS[$key]}/" \
      || die "LOCKSTEP_GALERA_NETNS: $name's address ${ADDRESS[$key]} is not an address of namespace '${NETNS[$key]}'"
  done
}

# A cluster's addresses are in its nodes' data and the proxy's config: each command must be
# given the placement the cluster was started with, or it would print or reach other
# addresses. Only a start with nothing running may change it. A directory never started has
# none; one started without a placement file (also by an older script) is on loopback.
check_recorded_placement() {
  local recorded=""
  [[ -e $(node_dir 1)/my.cnf || -e $PLACEMENT_FILE ]] || return 0
  [[ ! -s $PLACEMENT_FILE ]] || recorded=$(<"$PLACEMENT_FILE")
  [[ $recorded != "$PLACEMENT" ]] || return 0
  if [[ $1 == start ]] && ! anything_running; then return 0; fi
  die "the cluster in $DIR was started with LOCKSTEP_GALERA_NETNS='$recorded' ('' for loopback), not '$PLACEMENT': give every command the placement it started with"
}

record_placement() {
  if [[ -z $PLACEMENT ]]; then rm -f "$PLACEMENT_FILE"; else echo "$PLACEMENT" >"$PLACEMENT_FILE"; fi
}

anything_running() {
  local n
  [[ -z $(proxy_pid) ]] || return 0
  for n in "${NODES[@]}"; do [[ -z $(node_pid "$n") ]] || return 0; done
  return 1
}

# Where node n (or the proxy) listens.
address_of() { echo "${ADDRESS[$1]:-127.0.0.1}"; }

# The argv prefix, in IN_NETNS, that runs a command in node n's (or the proxy's) namespace:
# none on loopback. nsenter --net only (the mounts stay shared) and it execs the command, so
# `$!` is the command's own pid; rsync, which a state transfer forks, runs there too.
netns_argv() {
  IN_NETNS=()
  [[ -z $PLACEMENT ]] || IN_NETNS=(nsenter "--net=/run/netns/${NETNS[$1]}" --)
}

# "1" or "n1" -> 1; anything else is refused.
node_number() {
  [[ $1 =~ ^n?([1-3])$ ]] || die "no node '$1': the nodes are n1, n2 and n3"
  echo "${BASH_REMATCH[1]}"
}

ensure_installed() {
  local missing=()
  command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null \
    && command -v wsrep_sst_rsync >/dev/null || missing+=(mariadb-server)
  [[ -e $PROVIDER ]] || missing+=(galera-4)
  command -v rsync >/dev/null || missing+=(rsync)
  command -v haproxy >/dev/null || missing+=(haproxy)
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the packages from starting their system-wide servers.
  local policy=/usr/sbin/policy-rc.d created=""
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; created=1; fi
  apt-get install -y -qq "${missing[@]}" >/dev/null
  if [[ -n $created ]]; then rm -f "$policy"; fi
  # Their maintainer scripts enable the services for the next boot; ours are project-local.
  local unit
  for unit in mariadb haproxy; do
    if [[ " ${missing[*]} " == *" ${unit}"* ]] && command -v systemctl >/dev/null; then
      systemctl disable --quiet "$unit.service" 2>/dev/null || true
    fi
  done
}

# The nodes' user must reach their directories: every parent searchable.
ensure_reachable() {
  runuser -u "$1" -- test -w "$2" \
    || die "the $1 user cannot write $2 (a directory above it is not searchable): set LOCKSTEP_GALERA_DIR elsewhere, e.g. under /tmp"
}

prepare_dirs() {
  id haproxy >/dev/null 2>&1 || die "no haproxy user: install Debian's haproxy package"
  mkdir -p "$DIR" "$PROXY"
  chmod 711 "$DIR"
  local n nd
  for n in "${NODES[@]}"; do
    nd=$(node_dir "$n")
    # A temporary directory of its own: a starting server deletes every #sql file in its tmpdir
    # (mysql_rm_tmp_tables), and with /tmp that was another server's table while it worked.
    mkdir -p "$nd/data" "$nd/tmp"
    chown mysql:mysql "$nd" "$nd/data" "$nd/tmp"
    chmod 750 "$nd"
    ensure_reachable mysql "$nd"
    write_node_config "$n"
  done
  chmod 700 "$PROXY"
}

# The other nodes in the order a joiner asks them for a state transfer: the least preferred
# writer first, so that the writer is not the donor (an rsync donor blocks its writes). The
# trailing comma lets any node donate when those cannot.
donors_for() {
  case $1 in 1) echo "n3,n2," ;; 2) echo "n3,n1," ;; 3) echo "n2,n1," ;; esac
}

write_node_config() {
  local n=$1 nd address listen=""
  nd=$(node_dir "$n")
  address=$(address_of "$n")
  # Placed, group communication binds to the node's address too (by default it takes every
  # address of its namespace).
  [[ -z $PLACEMENT ]] || listen="gmcast.listen_addr=tcp://$address:$(group_port "$n");"
  cat >"$nd/my.cnf" <<CNF
# Written by scripts/galera.sh at each start; docs/galera.md explains each setting.
[mariadbd]
datadir=$nd/data
tmpdir=$nd/tmp
socket=$nd/mysqld.sock
pid-file=$nd/mysqld.pid
log-error=$nd/error.log
port=$(mysql_port "$n")
bind-address=$address
user=mysql
skip-name-resolve
max_connections=500
innodb_buffer_pool_size=128M
innodb_flush_log_at_trx_commit=1
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=$PROVIDER
wsrep_cluster_name=lockstep
wsrep_cluster_address=gcomm://$(address_of 1):$(group_port 1),$(address_of 2):$(group_port 2),$(address_of 3):$(group_port 3)
wsrep_node_name=n$n
wsrep_node_address=$address:$(group_port "$n")
wsrep_provider_options="base_port=$(group_port "$n");${listen}ist.recv_addr=$address:$(ist_port "$n");gcache.size=64M;gcache.recover=yes"
wsrep_sst_method=rsync
wsrep_sst_receive_address=$address:$(sst_port "$n")
wsrep_sst_donor=$(donors_for "$n")
CNF
  chmod 644 "$nd/my.cnf"
}

# A live process's pid from its pid file, or nothing (a stale file, a reused pid).
live_pid() {
  local file=$1 comm=$2 pid
  [[ -s $file ]] || return 0
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/stat ]] || return 0
  [[ $(</proc/"$pid"/comm) == "$comm" ]] || return 0
  # A zombie is dead.
  [[ $(awk '{print $3}' /proc/"$pid"/stat) != Z ]] && echo "$pid"
  return 0
}

node_pid() { live_pid "$(node_dir "$1")/mysqld.pid" mariadbd; }
proxy_pid() { live_pid "$PROXY/haproxy.pid" haproxy; }

alive() { [[ -r /proc/$1/stat && $(awk '{print $3}' /proc/"$1"/stat) != Z ]]; }

wait_gone() {
  local pid=$1 seconds=$2 deadline=$((SECONDS + $2))
  while alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# SQL as root over node n's socket, bounded: a paused node must not hang the caller.
root_sql() {
  local n=$1 seconds=$2
  shift 2
  timeout "$seconds" mariadb --no-defaults --protocol=socket --socket="$(node_dir "$n")/mysqld.sock" -uroot -N -B "$@"
}

# "Synced Primary", "Joining Primary", ..., "down" (no process) or "not answering".
node_state() {
  local n=$1 out
  [[ -n $(node_pid "$n") ]] || { echo down; return; }
  query_state "$n"
}

query_state() {
  local out
  out=$(root_sql "$1" 5 -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_cluster_status')" 2>/dev/null) \
    || { echo "not answering"; return; }
  awk -F'\t' '{ v[$1] = $2 } END { print v["wsrep_local_state_comment"] " " v["wsrep_cluster_status"] }' <<<"$out"
}

launch_node() {
  local n=$1 nd pid
  shift
  nd=$(node_dir "$n")
  rm -f "$nd/mysqld.pid"
  netns_argv "$n"
  setsid "${IN_NETNS[@]}" mariadbd --defaults-file="$nd/my.cnf" "$@" </dev/null >>"$nd/console.log" 2>&1 &
  pid=$!
  wait_synced "$n" "$pid"
}

wait_synced() {
  local n=$1 pid=$2 deadline=$((SECONDS + SYNC_TIMEOUT)) state="not started"
  while ((SECONDS < deadline)); do
    alive "$pid" || die "n$n exited while starting; last lines of $(node_dir "$n")/error.log:
$(tail -n 20 "$(node_dir "$n")/error.log" 2>/dev/null)"
    state=$(query_state "$n")
    if [[ $state == "Synced Primary" ]]; then log "n$n Synced on $(address_of "$n"):$(mysql_port "$n")"; return; fi
    sleep 0.5
  done
  die "n$n is not Synced after $SYNC_TIMEOUT s (last seen: $state); see $(node_dir "$n")/error.log"
}

has_cluster_state() { [[ -f $(node_dir "$1")/data/grastate.dat ]]; }

# Which node starts a new primary component: n1 for a new cluster; on a restart the one whose
# grastate.dat says safe_to_bootstrap: 1 (the last to leave cleanly); after a crash of all, the
# one with the highest recovered seqno (Galera's documented recovery).
bootstrap_node() {
  local n
  for n in "${NODES[@]}"; do has_cluster_state "$n" && break; n=""; done
  if [[ -z $n ]]; then
    [[ -d $(node_dir 1)/data/mysql ]] || init_node 1
    echo 1
    return
  fi
  for n in "${NODES[@]}"; do
    if grep -qx 'safe_to_bootstrap: 1' "$(node_dir "$n")/data/grastate.dat" 2>/dev/null; then echo "$n"; return; fi
  done
  most_advanced_node
}

init_node() {
  local nd
  nd=$(node_dir "$1")
  log "initialising n$1"
  mariadb-install-db --no-defaults --datadir="$nd/data" --tmpdir="$nd/tmp" --user=mysql \
    --auth-root-authentication-method=socket --skip-test-db >"$nd/install.log" 2>&1 \
    || { cat "$nd/install.log" >&2; exit 1; }
}

most_advanced_node() {
  local n nd position seqno best="" best_seqno=-2
  log "no node is safe to bootstrap (the cluster did not stop cleanly): recovering each node's last position"
  for n in "${NODES[@]}"; do
    has_cluster_state "$n" || continue
    nd=$(node_dir "$n")
    rm -f "$nd/recover.log"
    netns_argv "$n"
    "${IN_NETNS[@]}" mariadbd --defaults-file="$nd/my.cnf" --wsrep-recover --log-error="$nd/recover.log" </dev/null >/dev/null 2>&1 || true
    position=$(sed -n 's/.*WSREP: Recovered position: *\([^ ]*\).*/\1/p' "$nd/recover.log" 2>/dev/null | tail -n 1)
    seqno=${position##*:}
    log "n$n: recovered position ${position:-none} (see $nd/recover.log)"
    if [[ $seqno =~ ^-?[0-9]+$ ]] && ((seqno > best_seqno)); then best=$n best_seqno=$seqno; fi
  done
  [[ -n $best ]] || die "no node has a recoverable position; see $DIR/n*/recover.log"
  sed -i 's/^safe_to_bootstrap: 0$/safe_to_bootstrap: 1/' "$(node_dir "$best")/data/grastate.dat"
  log "n$best is the most advanced (seqno $best_seqno)"
  echo "$best"
}

new_password() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24; }

# A [client] option file (0600): passwords reach the client there, never on a command line.
write_client_cnf() {
  (umask 077; printf '[client]\nuser=%s\npassword=%s\n' "$2" "$3" >"$1")
}

cnf_password() { sed -n 's/^password=//p' "$1"; }

synced_node() {
  local n
  for n in "${NODES[@]}"; do [[ $(node_state "$n") == "Synced Primary" ]] && { echo "$n"; return; }; done
  die "no node is Synced in the Primary component"
}

ensure_users() {
  [[ -s $CLIENT_CNF ]] || write_client_cnf "$CLIENT_CNF" lockstep "$(new_password)"
  local password node
  password=$(cnf_password "$CLIENT_CNF")
  node=$(synced_node)
  (umask 077; echo "mysql://lockstep:${password}@$(address_of proxy):${BASE}/lockstep" >"$URLFILE")
  # Tests create and drop their own databases, so the user may create any. The health check's
  # user reads status variables only, which needs no privilege.
  {
    user_sql lockstep 127.0.0.1 "IDENTIFIED BY '${password}'" "GRANT ALL PRIVILEGES ON *.*"
    user_sql "$CHECK_USER" 127.0.0.1 "IDENTIFIED BY '' WITH MAX_USER_CONNECTIONS 10"
    if [[ -n $PLACEMENT ]]; then
      # Placed, HAProxy connects from its own address, and a node's own URL is used from the
      # root namespace and the fault suite's hosts, whose addresses this script does not
      # know: the password user from anywhere (the nodes listen on the namespaces' network
      # only). The check user has no password: from the proxy's address alone.
      user_sql lockstep % "IDENTIFIED BY '${password}'" "GRANT ALL PRIVILEGES ON *.*"
      user_sql "$CHECK_USER" "$(address_of proxy)" "IDENTIFIED BY '' WITH MAX_USER_CONNECTIONS 10"
    fi
    echo "CREATE DATABASE IF NOT EXISTS lockstep CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
  } | root_sql "$node" 60
}

# The statements that make user@host with these options (a new user has its password at
# once), and grant it a privilege if given.
user_sql() {
  echo "CREATE USER IF NOT EXISTS '$1'@'$2' $3;"
  echo "ALTER USER '$1'@'$2' $3;"
  [[ -z ${4:-} ]] || echo "$4 TO '$1'@'$2';"
}

hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# A MySQL packet: 3-byte little-endian payload length, sequence number, payload (all hex).
mysql_packet() {
  local length=$((${#2} / 2))
  printf '%02x%02x%02x%s%s' $((length & 255)) $(((length >> 8) & 255)) $(((length >> 16) & 255)) "$1" "$2"
}

# HAProxy's check, in HAProxy itself (no program forked per check, so a loaded host cannot
# starve it): read the server's greeting (protocol 10), log in as CHECK_USER without a password
# (capabilities LONG_PASSWORD, PROTOCOL_41 and SECURE_CONNECTION; utf8; an empty auth
# response), expect OK, then ask for Synced (wsrep_local_state 4), Primary and ready. The reply
# holds wsrep_ok_<n>_ with n the number of those that hold, or an error packet (#<SQLSTATE>),
# e.g. 1047 on a node outside the Primary component. min-recv 0 makes the last rule judge the
# reply already read instead of waiting for more, so an unhealthy node fails at once.
write_check_rules() {
  local login query
  login=$(mysql_packet 01 "018200000000000121$(printf '%046d' 0)$(hex "$CHECK_USER")0000")
  query=$(mysql_packet 00 "03$(hex "SELECT CONCAT('wsrep_ok_', COUNT(*), '_') AS s FROM information_schema.GLOBAL_STATUS WHERE (VARIABLE_NAME, VARIABLE_VALUE) IN (('WSREP_LOCAL_STATE', '4'), ('WSREP_CLUSTER_STATUS', 'Primary'), ('WSREP_READY', 'ON'))")")
  cat <<RULES
  option tcp-check
  tcp-check connect
  tcp-check expect rbinary ^[0-9A-Fa-f]{6}000[Aa]
  tcp-check send-binary $login
  tcp-check expect rbinary ^[0-9A-Fa-f]{6}0200
  tcp-check send-binary $query
  tcp-check expect rstring wsrep_ok_[0-9]_|#[0-9A-Z]{5}
  tcp-check expect min-recv 0 string wsrep_ok_3_
  tcp-check send-binary 0100000001
RULES
}

write_proxy_config() {
  cat >"$PROXY/haproxy.cfg" <<CFG
# Written by scripts/galera.sh at each start; docs/galera.md explains each setting.
global
  user haproxy
  group haproxy
  log stdout format raw local0 info

defaults
  mode tcp
  log global
  option tcplog
  option dontlog-normal
  timeout connect 2s
  # A check's reply must come within 2 s.
  timeout check 2s
  # Longer than the server's wait_timeout (8 h): the server, not the proxy, ends idle connections.
  timeout client 8h
  timeout server 8h

listen galera
  bind $(address_of proxy):$BASE
$(write_check_rules)
  option redispatch
  retries 2
  # One writer: n1 while it is healthy, else the first healthy backup in order. A node marked
  # down loses its connections at once; a preferred node coming back takes the backups' away,
  # so that two nodes never take writes through this proxy for longer than a check.
  # A check every second, every 0.5 s while a node changes state. 3 failures in a row mark a
  # node down: a crashed one in about 2 s, while one slow reply on a loaded host does not. 20
  # passes in a row (10 s) mark it up: a node resumed after a pause reports itself Synced and
  # Primary for about 6 s until it sees that the others went on without it
  # (evs.suspect_timeout, 5 s).
  default-server check inter 1s fastinter 500ms downinter 1s fall 3 rise 20 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions
  server n1 $(address_of 1):$(mysql_port 1)
  server n2 $(address_of 2):$(mysql_port 2) backup
  server n3 $(address_of 3):$(mysql_port 3) backup
CFG
}

# The node name the proxy's connection lands on.
proxy_writer() {
  timeout 10 mariadb --defaults-extra-file="$CLIENT_CNF" --protocol=tcp --host="$(address_of proxy)" --port="$BASE" \
    --connect-timeout=5 -N -B -e 'SELECT @@wsrep_node_name' 2>/dev/null
}

start_proxy() {
  if [[ -n $(proxy_pid) ]]; then
    log "proxy already running on $(address_of proxy):$BASE"
  else
    write_proxy_config
    haproxy -c -q -f "$PROXY/haproxy.cfg" || die "HAProxy refused $PROXY/haproxy.cfg"
    netns_argv proxy
    setsid "${IN_NETNS[@]}" haproxy -db -f "$PROXY/haproxy.cfg" </dev/null >>"$PROXY/haproxy.log" 2>&1 &
    echo $! >"$PROXY/haproxy.pid"
  fi
  # A running proxy that saw the nodes go down takes them back only after 20 passed checks.
  local deadline=$((SECONDS + 60)) writer
  until writer=$(proxy_writer); do
    [[ -n $(proxy_pid) ]] || die "HAProxy exited; last lines of $PROXY/haproxy.log:
$(tail -n 20 "$PROXY/haproxy.log")"
    ((SECONDS < deadline)) || die "the proxy on $(address_of proxy):$BASE does not answer after 60 s; see $PROXY/haproxy.log"
    sleep 0.5
  done
  log "proxy on $(address_of proxy):$BASE, writing to $writer"
}

start() {
  ensure_installed
  prepare_dirs
  record_placement
  local n running=""
  for n in "${NODES[@]}"; do [[ -n $(node_pid "$n") ]] && running=1; done
  if [[ -z $running ]]; then
    n=$(bootstrap_node)
    log "n$n starts a new primary component (--wsrep-new-cluster)"
    launch_node "$n" --wsrep-new-cluster
  fi
  for n in "${NODES[@]}"; do
    [[ -n $(node_pid "$n") ]] && continue
    log "n$n joining"
    launch_node "$n"
  done
  ensure_users
  start_proxy
}

stop_proxy() {
  local pid
  pid=$(proxy_pid)
  [[ -n $pid ]] || { log "proxy not running"; return 0; }
  kill "$pid"
  wait_gone "$pid" 30 || { kill -KILL "$pid"; wait_gone "$pid" 10 || true; }
  log "proxy stopped"
}

stop_node() {
  local n=$1 pid
  pid=$(node_pid "$n")
  [[ -n $pid ]] || { log "n$n not running"; return 0; }
  # A paused node must run again to shut down.
  kill -CONT "$pid"
  kill -TERM "$pid"
  if wait_gone "$pid" 120; then log "n$n stopped"; return 0; fi
  log "n$n did not stop within 120 s, killed; see $(node_dir "$n")/error.log"
  kill -KILL "$pid"
  wait_gone "$pid" 10 || true
  return 1
}

kill_node() {
  local n=$1 pid
  pid=$(node_pid "$n")
  [[ -n $pid ]] || die "n$n is not running"
  kill -KILL "$pid"
  wait_gone "$pid" 10 || die "n$n (pid $pid) survived SIGKILL for 10 s"
  log "n$n killed"
}

# One at a time and the highest first: each clean leave keeps the rest Primary, and the last
# node to leave (the preferred writer when all are up) is marked safe to bootstrap.
stop() {
  local n failed=0
  stop_proxy
  for n in 3 2 1; do stop_node "$n" || failed=1; done
  return "$failed"
}

status() {
  local n state writer failed=0
  for n in "${NODES[@]}"; do
    state=$(node_state "$n")
    echo "n$n $(address_of "$n"):$(mysql_port "$n") $state"
    [[ $state == "Synced Primary" ]] || failed=1
  done
  if [[ -s $CLIENT_CNF ]] && writer=$(proxy_writer); then
    echo "proxy $(address_of proxy):$BASE -> $writer"
  else
    echo "proxy $(address_of proxy):$BASE not answering"
    failed=1
  fi
  return "$failed"
}

url() {
  [[ -s $CLIENT_CNF ]] || die "not initialised: run scripts/galera.sh start"
  local port=$BASE n host
  host=$(address_of proxy)
  if [[ -n ${1:-} ]]; then
    n=$(node_number "$1")
    port=$(mysql_port "$n")
    host=$(address_of "$n")
  fi
  echo "mysql://lockstep:$(cnf_password "$CLIENT_CNF")@${host}:${port}/lockstep"
}

writer() {
  [[ -s $CLIENT_CNF ]] || die "not initialised: run scripts/galera.sh start"
  proxy_writer || die "the proxy on $(address_of proxy):$BASE does not answer"
}

kill_writer() {
  local name n
  name=$(writer)
  n=$(node_number "$name")
  kill_node "$n"
  echo "$name"
}

node_command() {
  local n action=${2:-} pid
  n=$(node_number "${1:-}")
  case $action in
    start)
      [[ -z $(node_pid "$n") ]] || { log "n$n already running"; return; }
      local other found=""
      for other in "${NODES[@]}"; do [[ $other != "$n" && -n $(node_pid "$other") ]] && found=1; done
      [[ -n $found ]] || die "no running node for n$n to join: use scripts/galera.sh start"
      prepare_dirs
      log "n$n joining"
      launch_node "$n"
      ;;
    stop) stop_node "$n" ;;
    kill) kill_node "$n" ;;
    pause | resume)
      pid=$(node_pid "$n")
      [[ -n $pid ]] || die "n$n is not running"
      if [[ $action == pause ]]; then kill -STOP "$pid"; else kill -CONT "$pid"; fi
      log "n$n ${action}d"
      ;;
    *) die "usage: $0 node <n1|n2|n3> start|stop|kill|pause|resume" ;;
  esac
}

case "${1:-}" in
  start | stop | status | url | writer | kill-writer | node) check_settings; check_recorded_placement "$1" ;;
esac
case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) url "${2:-}" ;;
  writer) writer ;;
  kill-writer) kill_writer ;;
  node) node_command "${2:-}" "${3:-}" ;;
  *) echo "usage: $0 start|stop|status|url [n]|writer|kill-writer|node <n> start|stop|kill|pause|resume" >&2; exit 2 ;;
esac
