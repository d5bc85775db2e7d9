#!/usr/bin/env bash
# README command 2: lint, type check, the migrations check, then the whole pytest suite (browser
# and fault suites included). pytest's exit 5 (no tests collected) is a failure, not a success.
set -uo pipefail
cd "$(dirname "$0")/.."
export DEBUG=1
VENV=${VENV:-.venv}

bash scripts/install_system_packages.sh || exit 1
bash scripts/setup.sh || exit 1

echo "== ruff"
"$VENV/bin/ruff" check . || exit 1
echo "== mypy"
"$VENV/bin/mypy" || exit 1
echo "== makemigrations --check"
"$VENV/bin/python" manage.py makemigrations --check --dry-run || exit 1
echo "== pytest"
"$VENV/bin/pytest" "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "error: pytest collected no tests; that is a failure." >&2
  exit 1
fi
exit "$status"
