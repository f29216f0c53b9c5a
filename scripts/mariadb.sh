#!/usr/bin/env bash
# A project-local MariaDB for tests and the demo: Debian's mariadb-server, its own data
# directory under .local/mariadb, loopback only, no systemd.
#
#   scripts/mariadb.sh start    install if missing, initialise, start, create the `lockstep` user
#   scripts/mariadb.sh stop     stop the server (data kept)
#   scripts/mariadb.sh status   exit 0 when the server answers
#   scripts/mariadb.sh url      print the connection URL (it holds the password: keep it out of logs)
#
# Environment: LOCKSTEP_MARIADB_DIR (default .local/mariadb), LOCKSTEP_MARIADB_PORT (default 3307),
# LOCKSTEP_MARIADB_BIND (default 127.0.0.1): the address to listen on and to put in the URL;
# any other than 127.0.0.1 (a host of the fault suite's network namespaces) also lets the
# `lockstep` user in from other addresses.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${LOCKSTEP_MARIADB_DIR:-$PWD/.local/mariadb}"
PORT="${LOCKSTEP_MARIADB_PORT:-3307}"
BIND="${LOCKSTEP_MARIADB_BIND:-127.0.0.1}"
DATA="$DIR/data"
SOCK="$DIR/mysqld.sock"
PIDFILE="$DIR/mysqld.pid"
URLFILE="$DIR/database-url"

log() { echo "mariadb: $*" >&2; }

ensure_installed() {
  command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null && return
  [[ $(id -u) -eq 0 ]] || { log "mariadb-server is missing and installing it needs root"; exit 1; }
  log "installing Debian's mariadb-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the package from starting its own system-wide server.
  local policy=/usr/sbin/policy-rc.d created=""
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; created=1; fi
  apt-get install -y -qq mariadb-server >/dev/null
  if [[ -n $created ]]; then rm -f "$policy"; fi
}

answering() {
  mariadb-admin --no-defaults --protocol=socket --socket="$SOCK" -uroot ping >/dev/null 2>&1
}

start() {
  ensure_installed
  if answering; then log "already running on $BIND:$PORT"; return; fi
  # A temporary directory of its own: a starting server deletes every #sql file in its tmpdir
  # (mysql_rm_tmp_tables), and with /tmp that was another server's table while it worked.
  mkdir -p "$DIR" "$DIR/tmp"
  if [[ ! -d $DATA/mysql ]]; then
    log "initialising $DATA"
    mariadb-install-db --no-defaults --datadir="$DATA" --user="$(id -un)" --tmpdir="$DIR/tmp" \
      --auth-root-authentication-method=socket --skip-test-db >"$DIR/install.log" 2>&1 \
      || { cat "$DIR/install.log" >&2; exit 1; }
  fi
  log "starting on $BIND:$PORT"
  setsid mariadbd --no-defaults --datadir="$DATA" --tmpdir="$DIR/tmp" --socket="$SOCK" --port="$PORT" \
    --bind-address="$BIND" --pid-file="$PIDFILE" --log-error="$DIR/error.log" \
    --user="$(id -un)" --max-connections=500 --innodb-buffer-pool-size=256M \
    --innodb-flush-log-at-trx-commit=1 --skip-name-resolve </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 120); do
    answering && break
    sleep 0.25
  done
  answering || { log "server did not come up; last lines of $DIR/error.log:"; tail -20 "$DIR/error.log" >&2; exit 1; }
  ensure_user
}

ensure_user() {
  if [[ ! -s $URLFILE ]]; then
    local password
    password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
    (umask 077; echo "mysql://lockstep:${password}@${BIND}:${PORT}/lockstep" >"$URLFILE")
  fi
  local password client=127.0.0.1
  password=$(sed -E 's#^mysql://lockstep:([^@]*)@.*#\1#' "$URLFILE")
  # Bound to a host's address, the server is there for clients on other hosts.
  [[ $BIND == 127.0.0.1 ]] || client=%
  # Tests create and drop their own databases, so the user may create any.
  mariadb --no-defaults --protocol=socket --socket="$SOCK" -uroot <<SQL
CREATE USER IF NOT EXISTS 'lockstep'@'${client}' IDENTIFIED BY '${password}';
ALTER USER 'lockstep'@'${client}' IDENTIFIED BY '${password}';
GRANT ALL PRIVILEGES ON *.* TO 'lockstep'@'${client}';
CREATE DATABASE IF NOT EXISTS lockstep CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
SQL
}

stop() {
  if [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    log "stopped"
  else
    log "not running"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) answering ;;
  url) [[ -s $URLFILE ]] || { log "not initialised: run scripts/mariadb.sh start"; exit 1; }; cat "$URLFILE" ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
