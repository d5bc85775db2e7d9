#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on the addresses in DATABASE_URL / REDIS_URL (defaults:
# 127.0.0.1:5432 and 127.0.0.1:6379). Start them when they are installed but stopped; otherwise
# stop with a message that says what is missing and how to get it.
set -euo pipefail

pg_host=127.0.0.1 pg_port=5432 redis_host=127.0.0.1 redis_port=6379
if [ -n "${DATABASE_URL:-}" ]; then
  read -r pg_host pg_port < <(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or 5432)' "$DATABASE_URL")
fi
if [ -n "${REDIS_URL:-}" ]; then
  read -r redis_host redis_port < <(python3 -c 'import sys,urllib.parse as u; p=u.urlparse(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or 6379)' "$REDIS_URL")
fi

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {  # name host port
  for _ in $(seq 1 30); do port_open "$2" "$3" && return 0; sleep 1; done
  echo "error: $1 did not come up on $2:$3 within 30 s" >&2
  return 1
}

if ! port_open "$pg_host" "$pg_port"; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql)" ]; then
    echo "Starting PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
    wait_for PostgreSQL "$pg_host" "$pg_port"
  else
    echo "error: PostgreSQL is not running on $pg_host:$pg_port and is not installed." >&2
    echo "       Install it (apt-get install postgresql) or set DATABASE_URL to a running server." >&2
    exit 1
  fi
fi

if ! port_open "$redis_host" "$redis_port"; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis..."
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no
    wait_for Redis "$redis_host" "$redis_port"
  else
    echo "error: Redis is not running on $redis_host:$redis_port and is not installed." >&2
    echo "       Install it (apt-get install redis-server) or set REDIS_URL to a running server." >&2
    exit 1
  fi
fi
echo "PostgreSQL ($pg_host:$pg_port) and Redis ($redis_host:$redis_port) are up."
