#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: fast unit tests and the slow integration
# tests (conversion, fake phone over the real adb, training). Extra pytest args pass through.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for extra in scripts/setup_*_env.sh; do
  [ -e "$extra" ] && bash "$extra"
done
export GHOSTEDGE_NO_PROGRESS=1
exec .venv/bin/python -m pytest -m "slow or not slow" -p no:cacheprovider "$@"
