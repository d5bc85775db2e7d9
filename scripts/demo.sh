#!/usr/bin/env bash
# README command 1: set everything up, then run the demo (sandbox org, sync, admin).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG=${DEBUG:-1}
bash scripts/setup.sh
exec "${VENV:-.venv}/bin/python" manage.py demo "$@"
