#!/usr/bin/env bash
# One-time (and idempotent) set-up shared by `make demo` and `make test`: virtual environment,
# Python packages from pyproject.toml, PostgreSQL and Redis up, database created and migrated.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating virtual environment in $VENV..."
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "Installing Python packages..."
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[dev,sandbox]'
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

bash scripts/ensure_services.sh
"$VENV/bin/python" scripts/ensure_database.py
# Migrating needs no secret: without DEBUG or SECRET_KEY in the environment (`make setup`,
# `make bench`), load the settings in their local-development form.
DEBUG=${DEBUG:-1} "$VENV/bin/python" manage.py migrate --noinput -v 0
# Static files for the deploy configuration (WhiteNoise serves them under hashed, compressed
# names; DEBUG=1 serves them from the apps). Collecting reads no secret, so a placeholder lets
# `make demo`, `make test` and a fresh deploy run it before any SECRET_KEY exists.
DEBUG=0 SECRET_KEY=${SECRET_KEY:-collectstatic-reads-no-secret} \
  "$VENV/bin/python" manage.py collectstatic --noinput -v 0
