#!/usr/bin/env bash
# Create .venv and install ghostedge with the pinned conversion stack (constraints.txt).
# Idempotent: skips pip when constraints.txt and pyproject.toml are unchanged since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
VENV="${GHOSTEDGE_VENV:-.venv}"
EXTRAS="${GHOSTEDGE_EXTRAS:-convert,fallback,test}"

if ! command -v adb >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "setup: installing Debian package adb" >&2
    (apt-get install -y -qq adb >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq adb >/dev/null; }) \
      || echo "setup: could not install adb; device commands will say so" >&2
  else
    echo "setup: adb not found; install the Debian package 'adb' for phone benchmarks" >&2
  fi
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
stamp="$VENV/.ghostedge-setup"
want="$(cat constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1) $EXTRAS"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing into $VENV (first run takes about a minute)" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade "pip>=23"
  # torch first, pinned, so nothing pulls a CUDA build.
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt torch==2.13.0
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[$EXTRAS]"
  echo "$want" > "$stamp"
fi
