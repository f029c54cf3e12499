#!/usr/bin/env bash
# Set up, train a narrative model on the bundled seed articles, and open the dashboard on it.
# PORT=8502 bash scripts/demo.sh serves on another port; Ctrl+C stops the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
narratives train seeds/ --run seeds-demo --overwrite
narratives runs
narratives dashboard seeds-demo --port "${PORT:-8501}"
