#!/usr/bin/env bash
# `make serve`: the deploy configuration (DEBUG=0) on this machine, as a Procfile platform runs
# it: `release` once, then the long-running processes together under honcho (Ctrl-C stops all).
# release is not run under honcho: honcho stops every process as soon as one exits.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SECRET_KEY:-}" ]; then
  cat >&2 <<'MSG'
error: SECRET_KEY is not set; the deploy configuration refuses to start without one.
Set it to a long random string, e.g.
  export SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"
Served over plain http on 127.0.0.1 (no TLS in front), also set SECURE_SSL_REDIRECT=0.
MSG
  exit 2
fi
export DEBUG=0
export SERVE_PORT=${SERVE_PORT:-8000}
VENV=${VENV:-.venv}
DEBUG= bash scripts/setup.sh
export PATH="$PWD/$VENV/bin:$PATH"
release=$(sed -n 's/^release: *//p' Procfile)
echo "release: $release"
bash -c "$release"
processes="web worker clock"
if grep -q '^listener:' Procfile; then processes="$processes listener"; fi
# shellcheck disable=SC2086 - the process names are words
exec "$VENV/bin/honcho" start $processes
