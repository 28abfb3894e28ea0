#!/usr/bin/env bash
# Starts the services the tests need, on loopback, in a throwaway folder, and prints `export` lines:
#   PostgreSQL (Debian package; installed when missing) on a free port, trust auth, fsync off;
#   MariaDB (Debian's mariadb-server; installed when missing) on a free port, no grant tables (any user), for the
#   MySQL catalog's tests;
#   s3rver (npm, pinned in tests/services/package.json) on a free port;
#   Debian's chromium for the dashboard's browser test (installed when missing).
# Usage: eval "$(scripts/test-services.sh start DIR)"   then   scripts/test-services.sh stop DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:?start|stop}"
dir="${2:?a folder for the service data}"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null ||
    echo $(( 20000 + RANDOM % 20000 ))
}

pg_bin() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$bin" ] && [ -x "$bin/initdb" ] && echo "$bin"
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  mkdir -p "$dir"
  if [ -z "$(pg_bin)" ]; then
    echo "installing postgresql (Debian package)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
  fi
  bin="$(pg_bin)"
  pgdata="$dir/pg"
  rm -rf "$pgdata"; mkdir -p "$pgdata"
  if [ "$(id -u)" = 0 ]; then
    chmod 755 "$dir"; chown postgres:postgres "$pgdata"
  fi
  as_pg "$bin/initdb" -D "$pgdata" --auth=trust -E UTF8 --locale=C.UTF-8 -U postgres >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  pgport="$(free_port)"
  as_pg "$bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 start \
    -o "-p $pgport -k $pgdata -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2 ||
    { cat "$pgdata/server.log" >&2; exit 1; }
  echo "$bin" > "$dir/pg.bin"

  if ! command -v mariadbd >/dev/null || ! command -v mariadb-install-db >/dev/null; then
    echo "installing mariadb-server (Debian package)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    # Without systemd the package's own start is refused (policy-rc.d); the server is started by hand below.
    apt-get update -qq >&2 && apt-get install -y -qq mariadb-server >&2
  fi
  mydir="$dir/mariadb"
  rm -rf "$mydir"; mkdir -p "$mydir"
  if [ "$(id -u)" = 0 ]; then chown mysql:mysql "$mydir"; fi
  mariadb-install-db --no-defaults --user=mysql --datadir="$mydir/data" --auth-root-authentication-method=normal \
    --skip-test-db >"$dir/mariadb-install.log" 2>&1 || { cat "$dir/mariadb-install.log" >&2; exit 1; }
  myport="$(free_port)"
  # --no-defaults: the machine's /etc/mysql settings (a bind address, a port) never leak in; the character set is
  # the one applications use; no binary log and no flush per commit, as fsync is off for PostgreSQL.
  nohup mariadbd --no-defaults --user=mysql --datadir="$mydir/data" --socket="$mydir/sock" --port="$myport" \
    --bind-address=127.0.0.1 --skip-grant-tables --skip-name-resolve --pid-file="$mydir/pid" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci --innodb-flush-log-at-trx-commit=0 \
    --innodb-buffer-pool-size=64M --max-connections=200 >"$dir/mariadb.log" 2>&1 &
  for _ in $(seq 1 300); do
    grep -q "ready for connections" "$dir/mariadb.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "ready for connections" "$dir/mariadb.log" || { cat "$dir/mariadb.log" >&2; exit 1; }

  if [ ! -x /usr/bin/chromium ]; then
    # The dashboard's browser test drives Debian's Chromium; Playwright never downloads a browser.
    echo "installing chromium (Debian package)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq chromium >&2
  fi

  if [ ! -d "$here/tests/services/node_modules/s3rver" ]; then
    echo "installing s3rver (npm)..." >&2
    (cd "$here/tests/services" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  s3port="$(free_port)"
  mkdir -p "$dir/s3"
  nohup node --openssl-legacy-provider "$here/tests/services/s3rver.js" --port "$s3port" --directory "$dir/s3" >"$dir/s3rver.log" 2>&1 &
  echo $! > "$dir/s3rver.pid"
  for _ in $(seq 1 100); do
    grep -q "listening" "$dir/s3rver.log" 2>/dev/null && break
    sleep 0.1
  done
  grep -q "listening" "$dir/s3rver.log" || { cat "$dir/s3rver.log" >&2; exit 1; }

  echo "export RECLAIM_TEST_PG='Host=127.0.0.1;Port=$pgport;Username=postgres;Database=postgres;Pooling=true'"
  echo "export RECLAIM_TEST_PG_BIN='$bin'"
  echo "export RECLAIM_TEST_PG_PORT='$pgport'"
  echo "export RECLAIM_TEST_S3_ENDPOINT='http://127.0.0.1:$s3port'"
  echo "export RECLAIM_TEST_MYSQL='Server=127.0.0.1;Port=$myport;User ID=root;Database=mysql'"
  echo "export RECLAIM_TEST_REQUIRE_SERVICES=1"
  ;;
stop)
  if [ -f "$dir/s3rver.pid" ]; then kill "$(cat "$dir/s3rver.pid")" 2>/dev/null || true; fi
  if [ -f "$dir/mariadb/pid" ]; then
    mypid="$(cat "$dir/mariadb/pid")"
    kill "$mypid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$mypid" 2>/dev/null || break; sleep 0.1; done
  fi
  if [ -f "$dir/pg.bin" ]; then as_pg "$(cat "$dir/pg.bin")/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null 2>&1 || true; fi
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
