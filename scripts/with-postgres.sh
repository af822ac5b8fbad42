#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster: install the server from Debian when it is
# missing, start a cluster on a free loopback port, export DATABASE_URL, run "$@", stop the cluster.
set -euo pipefail

pg_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
  done | tail -n 1
}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PGBIN=$(pg_bindir)
if [ -z "$PGBIN" ]; then
  echo "PostgreSQL server not found: installing Debian's postgresql package"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(pg_bindir)
fi

WORK=$(mktemp -d /tmp/survey-pg.XXXXXX)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
AS_OWNER=()
if [ "$(id -u)" -eq 0 ]; then  # the server refuses to run as root
  chown postgres: "$WORK"
  AS_OWNER=(runuser -u postgres --)
fi

stop() {
  "${AS_OWNER[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap stop EXIT

"${AS_OWNER[@]}" "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${AS_OWNER[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w \
  -o "-p $PORT -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null
"$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres survey_test
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"

export DATABASE_URL="postgresql://postgres@127.0.0.1:$PORT/survey_test"
"$@"
