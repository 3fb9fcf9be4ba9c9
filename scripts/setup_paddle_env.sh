#!/usr/bin/env bash
# Create .venv-paddle: PaddlePaddle (CPU) + PaddleClas, used ONLY by the PaddleClas parity tests
# (tests/paddle). Its own pip resolution, separate from the pinned stack in .venv; ghostedge itself
# never imports Paddle. Idempotent: returns at once when the stamp matches.
# Skip with GHOSTEDGE_SKIP_PADDLE_ENV=1 (the parity tests then fail, saying how to set it up).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${GHOSTEDGE_SKIP_PADDLE_ENV:-0}" = "1" ] && exit 0
PY="${PYTHON:-python3}"
VENV="${GHOSTEDGE_PADDLE_VENV:-.venv-paddle}"
PADDLE_SPEC="${GHOSTEDGE_PADDLE_SPEC:-paddlepaddle==3.3.1}"
PADDLECLAS_SPEC="${GHOSTEDGE_PADDLECLAS_SPEC:-paddleclas==2.6.0}"
stamp="$VENV/.ghostedge-paddle-setup"
want="$PADDLE_SPEC $PADDLECLAS_SPEC v1"
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "setup_paddle_env: installing $PADDLE_SPEC and $PADDLECLAS_SPEC into $VENV (first run: about a minute, ~1.6 GB)" >&2
install() {
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade "pip>=23"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$PADDLE_SPEC" "$PADDLECLAS_SPEC"
  "$VENV/bin/python" -c "import paddle; from paddleclas.ppcls.arch.backbone.model_zoo import ghostnet" \
    2>/dev/null
}
if install; then
  echo "$want" > "$stamp"
else
  # Do not stop the rest of the test suite: tests/paddle/test_paddle_parity.py fails on its own,
  # saying that this environment is missing.
  echo "setup_paddle_env: WARNING: could not install $PADDLE_SPEC / $PADDLECLAS_SPEC into $VENV;" \
       "the PaddleClas parity tests will fail" >&2
fi
