#!/usr/bin/env bash
# Set up, train a narrative model on the bundled seed articles, and show what it found.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
narratives train seeds/ --run seeds-demo --overwrite
narratives runs
