#!/usr/bin/env bash
# Create .venv-mediapipe: a separate environment with MediaPipe Tasks, the real app client that the
# app-export tests (tests/appexport) run ghostedge's .tflite files through. It is separate because
# mediapipe resolves its own numpy/protobuf, which conflict with the conversion stack's pins.
# Idempotent: quick when the environment is already in place. Failure here does not stop the test
# run; the MediaPipe test then fails with the reason (the environment is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
VENV="${GHOSTEDGE_MEDIAPIPE_VENV:-.venv-mediapipe}"
MEDIAPIPE_SPEC="${GHOSTEDGE_MEDIAPIPE_SPEC:-mediapipe==1.2.2}"

stamp="$VENV/.ghostedge-setup"
if [ "$(cat "$stamp" 2>/dev/null)" = "$MEDIAPIPE_SPEC" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi
echo "setup: installing $MEDIAPIPE_SPEC into $VENV (the MediaPipe client for the app-export tests)" >&2
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
if "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$MEDIAPIPE_SPEC" \
    && "$VENV/bin/python" -c "from mediapipe.tasks.python import vision" ; then
  echo "$MEDIAPIPE_SPEC" > "$stamp"
else
  echo "setup: could not install $MEDIAPIPE_SPEC into $VENV; the MediaPipe app-client test will fail" >&2
  exit 0
fi
