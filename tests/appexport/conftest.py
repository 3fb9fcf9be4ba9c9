"""Fixtures of the app-export tests: tiny TFLite models (tests/data/appexport, made by
make_fixtures.py there) and, for the slow tests, one real ghostedge conversion (GhostNet 0.5x,
FP32 + INT8) shared by every test that needs it."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Dict

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "data" / "appexport"
TINY_LABELS = [f"tiny class {i}" for i in range(10)]


@pytest.fixture()
def tiny(tmp_path) -> Dict[str, Path]:
    """Copies of the tiny models (no metadata): app_fp32, app_int8, bare_fp32, not_image."""
    names = {"app_fp32": "tiny_app.fp32.tflite", "app_int8": "tiny_app.int8.tflite",
             "bare_fp32": "tiny_bare.fp32.tflite", "not_image": "not_image.tflite"}
    out = {}
    for key, name in names.items():
        out[key] = tmp_path / name
        shutil.copyfile(FIXTURES / name, out[key])
    return out


@pytest.fixture()
def tiny_with_metadata(tiny) -> Dict[str, Path]:
    """The tiny app-ready FP32/INT8 and bare models with ghostedge metadata and TINY_LABELS."""
    from ghostedge.tflite.metadata import add_metadata

    out = {}
    for key, dtype, app in (("app_fp32", "float32", True), ("app_int8", "uint8", True),
                            ("bare_fp32", "float32", False)):
        path = tiny[key].with_name(tiny[key].name.replace(".tflite", ".meta.tflite"))
        path.write_bytes(add_metadata(tiny[key].read_bytes(), name="tiny", labels=TINY_LABELS,
                                      input_dtype=dtype, app_ready=app, version="0.1",
                                      description="tiny test classifier"))
        out[key] = path
    return out


@pytest.fixture(scope="session")
def converted_ghostnet(tmp_path_factory) -> Dict[str, Path]:
    """GhostNet 0.5x converted by ghostedge's own pipeline to FP32 and INT8 (with metadata), with
    the .onnx and the torch checkpoint it came from.

    Random weights, BatchNorm statistics re-estimated on the bundled photos, and the classifier
    scaled up so that the probabilities are spread over a few classes (an untrained network's
    are nearly uniform, which would make top-5 comparisons meaningless).
    """
    import torch

    from ghostedge.convert.pipeline import convert_torch_model as convert
    from ghostedge.quantize.options import Int8Options
    from ghostedge.data.preprocess import PRESETS
    from ghostedge.models.bn_recalib import recalibrate_batchnorm
    from ghostedge.models.registry import create_model
    from ghostedge.quantize.calibration import build_calibration_set

    torch.manual_seed(0)
    model = create_model("ghostnet_050")
    recalibrate_batchnorm(model, batches=4)
    with torch.no_grad():
        model.classifier.weight.mul_(30.0)
    model.eval()
    pre = PRESETS["torchvision"]
    out_dir = tmp_path_factory.mktemp("converted")
    calibration = build_calibration_set(None, 32, 0, pre, 224)
    result = convert(model, name="ghostnet_050", output_dir=out_dir, preprocessing=pre, int8=Int8Options(),
                     calibration=calibration)
    checkpoint = out_dir / "ghostnet_050.pth"
    torch.save(model.state_dict(), checkpoint)
    return {"checkpoint": checkpoint, **{kind: Path(path) for kind, path in result.artifacts.items()}}
