"""Parity with PaddleClas itself (slow). ``paddle_reference.py`` runs in .venv-paddle (made by
scripts/setup_paddle_env.sh: paddlepaddle + paddleclas, its own pip resolution), builds PaddleClas's
GhostNet for each width with random weights and photo-estimated BN statistics, saves real .pdparams
with paddle.save and writes its logits on the bundled photos, preprocessed by PaddleClas's own
operators. Here ghostedge loads those files without Paddle and must reproduce them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ghostedge.data.preprocess import PRESETS, bundled_photos, load_normalized_nchw, load_pixels

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "paddle_reference.py"
MODELS = {0.5: ("GhostNet_x0_5", "paddle_ghostnet_x0_5"), 1.0: ("GhostNet_x1_0", "paddle_ghostnet_x1_0"),
          1.3: ("GhostNet_x1_3", "paddle_ghostnet_x1_3")}
BOUND = 1e-4


def _paddle_python() -> Path:
    venv = Path(os.environ.get("GHOSTEDGE_PADDLE_VENV", ROOT / ".venv-paddle"))
    python = venv / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run scripts/setup_paddle_env.sh (scripts/test.sh does) "
                    "to create the PaddlePaddle + PaddleClas environment these tests compare against")
    return python


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Run PaddleClas once for the three widths: {files..., 'photos': [...]}"""
    out = tmp_path_factory.mktemp("paddle_reference")
    photos = bundled_photos()
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "2"}
    proc = subprocess.run([str(_paddle_python()), str(SCRIPT), "--out", str(out),
                           "--widths", "0.5", "1.0", "1.3", "--", *map(str, photos)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=str(out))
    assert proc.returncode == 0, f"PaddleClas reference script failed:\n{proc.stderr[-3000:]}"
    return {"dir": out, "photos": photos, "versions": json.loads((out / "versions.json").read_text())}


def test_ghostedge_preprocessing_equals_paddleclas(reference):
    crops = np.load(reference["dir"] / "crops.npy")
    inputs = np.load(reference["dir"] / "inputs.npy")
    pre = PRESETS["paddle"]
    ours = np.stack([load_pixels(p, pre) for p in reference["photos"]])
    np.testing.assert_array_equal(ours, crops)               # same uint8 pixels, bit for bit
    ours_in = np.stack([load_normalized_nchw(p, pre) for p in reference["photos"]])
    assert np.abs(ours_in - inputs).max() < 1e-5             # x/255 vs x*0.00392157 in float32


@pytest.mark.parametrize("width", [0.5, 1.0, 1.3])
def test_pdparams_written_by_paddleclas_reproduces_its_logits(reference, width):
    import torch

    from ghostedge.models.weights import load_model

    paddle_name, model_name = MODELS[width]
    path = reference["dir"] / f"{paddle_name}.pdparams"
    loaded = load_model(model_name, str(path))
    assert loaded.preprocessing == "paddle" and loaded.weights_info["display_name"] == paddle_name
    expected = np.load(reference["dir"] / f"{paddle_name}.logits.npy")
    inputs = np.load(reference["dir"] / "inputs.npy")                      # PaddleClas's inputs
    ours_in = np.stack([load_normalized_nchw(p, PRESETS["paddle"]) for p in reference["photos"]])
    with torch.no_grad():
        on_their_inputs = loaded.model(torch.from_numpy(inputs)).numpy()
        end_to_end = loaded.model(torch.from_numpy(ours_in)).numpy()
        exact = loaded.model.double()(torch.from_numpy(inputs).double()).numpy()
    assert np.abs(on_their_inputs - expected).max() < BOUND
    assert np.abs(end_to_end - expected).max() < BOUND
    # In float64 both frameworks compute the same function: no float32 rounding left to hide in.
    assert np.abs(exact - np.load(reference["dir"] / f"{paddle_name}.logits64.npy")).max() < 1e-6
    assert expected.std() > 0.1 and len(set(expected.argmax(1))) > 1       # not a degenerate net


def test_paddle_name_table_matches_our_param_names(reference):
    """The file's StructuredToParameterName@@ table (written by Paddle) agrees with ghostedge's
    ParamAttr naming, so old files keyed by ParamAttr names load too."""
    from ghostedge.models.paddle_ghostnet import paddle_param_name
    from ghostedge.models.pdparams import NAME_TABLE_KEY, _PlainDataUnpickler

    with open(reference["dir"] / "GhostNet_x1_0.pdparams", "rb") as fh:
        raw = _PlainDataUnpickler(fh, encoding="latin1").load()
    table = raw[NAME_TABLE_KEY]
    assert len(table) == 435
    assert {k: paddle_param_name(k) for k in table} == table


def test_fp32_tflite_from_paddleclas_pdparams_matches_paddleclas(reference, tmp_path):
    """x0_5 (the smallest; the same op types as every width) through ghostedge's converter."""
    from ghostedge.convert.pipeline import convert
    from ghostedge.models.weights import load_model
    from ghostedge.runtime import load_interpreter, run_single

    loaded = load_model("paddle_ghostnet_x0_5", str(reference["dir"] / "GhostNet_x0_5.pdparams"))
    result = convert(loaded.model, name="paddle_ghostnet_x0_5", output_dir=tmp_path,
                     preprocessing=PRESETS[loaded.preprocessing], bare=True,
                     source_info=loaded.weights_info)
    interp = load_interpreter(result.artifacts["fp32"], num_threads=1)
    inputs = np.load(reference["dir"] / "inputs.npy").transpose(0, 2, 3, 1)   # NHWC
    logits = np.concatenate([np.asarray(run_single(interp, x[None])).reshape(1, -1) for x in inputs])
    expected = np.load(reference["dir"] / "GhostNet_x0_5.logits.npy")
    assert np.abs(logits - expected).max() < BOUND


def test_reference_environment_really_is_paddle(reference):
    versions = reference["versions"]
    assert versions["paddle"].split(".")[0].isdigit()
    assert "paddle" not in sys.modules        # and ghostedge never imported it here
