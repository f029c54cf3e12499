#!/usr/bin/env bash
# Create .venv and install narratives with its test tools. Idempotent: a second run with the same
# pyproject.toml installs nothing. torch (pulled in by BERTopic through sentence-transformers) is
# pinned to the CPU build first, so pip never fetches gigabytes of CUDA packages. The ray extra is
# installed too, so that the suite runs the --engine ray test.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
stamp=.venv/.narratives-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "torch==2.13.0"
python -m pip install --quiet -e ".[dev,ray]"
echo "$want" > "$stamp"
