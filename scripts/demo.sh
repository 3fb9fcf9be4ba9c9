#!/usr/bin/env bash
# The main job, offline: set up, convert GhostNet 1.0x to verified FP32 / FP16 / INT8 TFLite
# (random weights with BatchNorm re-estimated on the bundled photos; pass --weights to convert a
# real checkpoint instead), then benchmark FP32 vs INT8 on this computer's CPU.
#   bash scripts/demo.sh                      # everything into ./ghostedge-out
#   GHOSTEDGE_WEIGHTS=ckpt.pth bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${GHOSTEDGE_OUT:-ghostedge-out}"
WEIGHTS="${GHOSTEDGE_WEIGHTS:-random}"

bash scripts/setup.sh
GE=.venv/bin/ghostedge

echo "demo: converting ghostnet_100 ($WEIGHTS weights) to FP32, FP16 and INT8 in $OUT/" >&2
"$GE" convert --model ghostnet_100 --weights "$WEIGHTS" --fp16 --int8 --output "$OUT" --force

if "$GE" bench --help >/dev/null 2>&1; then
  echo "demo: benchmarking FP32 vs INT8 on the local CPU (threads 1 2 4)" >&2
  # models first: --threads takes several values
  "$GE" bench "$OUT/ghostnet_100.fp32.tflite" "$OUT/ghostnet_100.int8.tflite" \
    --device local --threads 1 2 4 --output "$OUT/bench" --force
else
  echo "demo: 'ghostedge bench' is not available in this build; skipping the benchmark" >&2
fi
echo "demo: done; models and reports are in $OUT/" >&2
