#!/usr/bin/env bash
# Set up a virtualenv, create the embedded SQLite registry with demo data, and serve it
# on http://127.0.0.1:8000/ (API under /api/v1, docs at /api/docs).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${REGISTRY_VENV:-.venv}
RECORDS=${DEMO_RECORDS:-2000}

# A demo on synthetic data: development mode lets the registry start without a
# production secret (REGISTRY_SECRET_KEY); never use it for real records.
export REGISTRY_DEVELOPMENT=1
echo "开发模式（REGISTRY_DEVELOPMENT=1）：以公开的开发用密钥代替 REGISTRY_SECRET_KEY，只用于演示数据，切勿用于真实数据"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e .

if [ ! -f data/registry.sqlite3 ]; then
  "$VENV/bin/credit-registry" init --demo "$RECORDS"
else
  "$VENV/bin/credit-registry" init
fi
exec "$VENV/bin/credit-registry" serve "$@"
