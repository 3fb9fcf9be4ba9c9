"""Make the tiny GhostNets of tests/data/op_parts with ghostedge's own conversion pipeline
(torch → ONNX → onnx2tf → TFLite FP32, FP16 and full-integer INT8), so the op-parts tests read the graphs
a real conversion writes, in both layouts, without converting anything themselves.

Each is GhostNet at width 0.1 cut to five bottlenecks that still hold every kind of block (identity
shortcut; stride 2 with a projecting shortcut, with and without SE; SE with an identity shortcut;
a projecting shortcut at stride 1), with a 16-wide head, 10 classes, 64×64 input. The PaddleClas
layout is built by ghostedge's PaddleGhostNet with its block table swapped for the same five.
Random weights (seed 0), BatchNorm statistics re-estimated on the bundled photos.

Run: .venv/bin/python tests/data/op_parts/make_fixtures.py  (about a minute)

With ``--record DIR`` (DIR holding ``ghostedge convert --weights random --int8 --output DIR``'s
GhostNet 1.0x) it records instead what the fast tests need of a real-size model: the op_parts
sections of ghostnet_100.fp32/.int8 (ghostnet_100.*.op_parts.json) and the fake phone's
benchmark_model op profile of the INT8 model, current per-XNNPACK-operator form
(ghostnet_100.int8.profile.txt; synthetic timings, 7 ms a run).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGE_SIZE, HEAD, CLASSES = 64, 16, 10
# k, exp, c, SE, stride of each bottleneck (timm: per stage, SE as a ratio; Paddle: flat, SE 0/1)
TIMM_CFG = [[[3, 16, 16, 0, 1]], [[3, 48, 24, 0, 2]], [[5, 72, 40, 0.25, 2]],
            [[3, 120, 40, 0.25, 1], [3, 240, 48, 0, 1]]]
PADDLE_CFG = [(3, 16, 16, 0, 1), (3, 48, 24, 0, 2), (5, 72, 40, 1, 2), (3, 120, 40, 1, 1), (3, 240, 48, 0, 1)]
PADDLE_STAGES = (1, 1, 1, 2)


def tiny_timm():
    import torch.nn as nn

    from ghostedge.models.ghostnet import GhostNet

    model = GhostNet(TIMM_CFG, width=0.1, num_classes=CLASSES)
    model.conv_head = nn.Conv2d(model.conv_head.in_channels, HEAD, 1, bias=True)
    model.classifier = nn.Linear(HEAD, CLASSES)
    return model


def tiny_paddle():
    import torch.nn as nn

    from unittest import mock

    from ghostedge.models import paddle_ghostnet

    with mock.patch.object(paddle_ghostnet, "PADDLE_GHOSTNET_CFG", PADDLE_CFG), \
            mock.patch.object(paddle_ghostnet, "STAGE_SIZES", PADDLE_STAGES):
        model = paddle_ghostnet.PaddleGhostNet(width=0.1, num_classes=CLASSES)
    model.conv_head = nn.Conv2d(model.conv_head.in_channels, HEAD, 1, bias=False)
    model.bn_head = nn.BatchNorm2d(HEAD)
    model.classifier = nn.Linear(HEAD, CLASSES)
    return model


def record(folder: Path) -> int:
    """The op_parts sections and the fake phone's INT8 op profile of a converted GhostNet 1.0x."""
    from ghostedge.convert.op_parts import op_parts_section

    for kind in ("fp32", "int8"):
        section = op_parts_section(folder / f"ghostnet_100.{kind}.tflite", folder / "ghostnet_100.onnx")
        head = json.dumps({k: v for k, v in section.items() if k != "operators"}, indent=1)
        ops = ",\n".join(json.dumps(o) for o in section["operators"])   # one operator a line
        (HERE / f"ghostnet_100.{kind}.op_parts.json").write_text(f'{head[:-2]},\n "operators": [\n{ops}\n]}}\n')
    fake = HERE.parents[1] / "fakephone" / "fake_benchmark_model.py"
    with tempfile.TemporaryDirectory() as tmp:   # an empty folder: no phone root, default settings
        env = {**os.environ, "FAKE_BM_MODE": "synthetic", "FAKE_BM_US": "7000"}
        env.pop("FAKE_ADBD_ROOT", None)
        out = subprocess.run([sys.executable, str(fake), f"--graph={folder / 'ghostnet_100.int8.tflite'}",
                              "--enable_op_profiling=true", "--num_runs=30", "--min_secs=0.01",
                              "--warmup_runs=1", "--warmup_min_secs=0"],
                             cwd=tmp, env=env, capture_output=True, text=True, check=True)
    text = out.stdout.replace(str(folder) + "/", "/data/local/tmp/ghostedge/")
    (HERE / "ghostnet_100.int8.profile.txt").write_text(text)
    return 0


def main() -> int:
    if sys.argv[1:2] == ["--record"]:
        return record(Path(sys.argv[2]))
    import torch

    from ghostedge.convert.pipeline import convert_torch_model
    from ghostedge.data.preprocess import PRESETS
    from ghostedge.models.bn_recalib import recalibrate_batchnorm
    from ghostedge.quantize.calibration import build_calibration_set
    from ghostedge.quantize.options import Int8Options

    for name, build, pre in (("tiny_timm", tiny_timm, "torchvision"), ("tiny_paddle", tiny_paddle, "paddle")):
        torch.manual_seed(0)
        model = recalibrate_batchnorm(build(), batches=2, batch_size=8).eval()
        calibration = build_calibration_set(None, 16, 0, PRESETS[pre], IMAGE_SIZE)
        with tempfile.TemporaryDirectory() as tmp:
            convert_torch_model(model, name=name, output_dir=Path(tmp), preprocessing=PRESETS[pre], fp16=True,
                                int8=Int8Options(), calibration=calibration, image_size=IMAGE_SIZE)
            for suffix in (".onnx", ".fp32.tflite", ".fp16.tflite", ".int8.tflite"):
                shutil.copyfile(Path(tmp) / (name + suffix), HERE / (name + suffix))
    return 0


if __name__ == "__main__":
    sys.exit(main())
