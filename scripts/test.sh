#!/usr/bin/env bash
# Set up, lint, and run the test suite (offline; tests that need ../shared/corpora skip without it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
ruff check .
ruff format --check .
python -m pytest "$@"
