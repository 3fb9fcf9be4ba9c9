"""The real app client: MediaPipe Tasks' ImageClassifier loads ghostedge's FP32 and INT8 exports as
they are and returns the same top-5 as `ghostedge predict` on the bundled photos.

MediaPipe runs in its own environment (.venv-mediapipe, made by scripts/setup_mediapipe_env.sh,
which scripts/test.sh runs) because it resolves its own numpy/protobuf. A missing environment
fails the test with the command to run; it is never skipped.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ghostedge.appexport.inspection import inspect
from ghostedge.appexport.classifier import open_classifier
from ghostedge.appexport.predict import predict_with
from ghostedge.data.preprocess import PRESETS, bundled_photos, load_pixels

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def mediapipe_python() -> Path:
    """The python of the MediaPipe environment made by scripts/setup_mediapipe_env.sh."""
    venv = Path(os.environ.get("GHOSTEDGE_MEDIAPIPE_VENV", REPO / ".venv-mediapipe"))
    return venv / "bin" / "python"


def _run_mediapipe(model: Path, tmp_path: Path, pre=PRESETS["torchvision"]) -> subprocess.CompletedProcess:
    python = mediapipe_python()
    ready = python.exists() and (python.parent.parent / ".ghostedge-setup").exists()
    assert ready, (f"the MediaPipe test environment {python.parent.parent} is missing or incomplete: "
                   "run `bash scripts/setup_mediapipe_env.sh` (scripts/test.sh does; it needs PyPI)")
    crops = np.stack([load_pixels(p, pre) for p in bundled_photos()])
    crops_path = tmp_path / "crops.npy"
    np.save(crops_path, crops)
    client = Path(__file__).with_name("mediapipe_client.py")
    return subprocess.run([str(python), str(client), str(model), str(crops_path)], capture_output=True,
                          text=True, timeout=300)


def _mediapipe(model: Path, tmp_path: Path, pre=PRESETS["torchvision"]) -> list:
    proc = _run_mediapipe(model, tmp_path, pre)
    assert proc.returncode == 0, f"MediaPipe refused {model.name}: {proc.stderr.strip()[-2000:]}"
    return json.loads(proc.stdout)


def _assert_same_top5(ours, theirs, atol):
    """Same classes and scores; classes whose scores tie at the 5th place may swap."""
    exact = 0
    for res, mp in zip(ours, theirs, strict=True):
        mp_scores = {c["index"]: c["score"] for c in mp["categories"]}
        assert len(mp_scores) == 1000
        top = res["top"]
        for t in top:  # every class we rank has MediaPipe's score for it
            assert abs(mp_scores[t["index"]] - t["probability"]) <= atol, (res["image"], t)
        mp_top = mp["categories"][:5]
        assert np.allclose([c["score"] for c in mp_top], [t["probability"] for t in top], atol=atol)
        fifth = top[-1]["probability"]
        ours_idx = {t["index"] for t in top}
        for c in mp_top:  # a class only MediaPipe ranks must tie with our 5th
            assert c["index"] in ours_idx or abs(c["score"] - fifth) <= atol, (res["image"], c)
        exact += [c["index"] for c in mp_top] == [t["index"] for t in top]
        assert mp_top[0]["name"] == top[0]["label"]  # names from the model's labels file
    return exact


@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_mediapipe_image_classifier_matches_ghostedge_predict(converted_ghostnet, tmp_path, kind):
    model = converted_ghostnet[kind]
    theirs = _mediapipe(model, tmp_path)
    ours = [p.to_dict() for p in predict_with(open_classifier(str(model)), bundled_photos(), 5)]
    exact = _assert_same_top5(ours, theirs, atol=1e-4 if kind == "fp32" else 1e-6)
    if kind == "fp32":
        assert exact == len(ours)  # distinct float scores: same classes in the same order
    top1 = [r["top"][0]["probability"] for r in ours]
    assert max(top1) > 0.1  # spread probabilities: the comparison is not between flat outputs


def test_mediapipe_needs_what_the_metadata_declares(tiny, tiny_with_metadata, tmp_path):
    """Without metadata MediaPipe refuses a float model; with ghostedge's it classifies with our
    labels; a bare model's per-channel normalization is refused, as the export warns."""
    import dataclasses

    pre64 = dataclasses.replace(PRESETS["torchvision"], crop=64, resize_short=73)
    bare = _run_mediapipe(tiny["app_fp32"], tmp_path, pre64)
    assert bare.returncode != 0 and "NormalizationOptions" in bare.stderr
    refused = _run_mediapipe(tiny_with_metadata["bare_fp32"], tmp_path, pre64)
    assert refused.returncode != 0 and "Per-channel" in refused.stderr
    for key in ("app_fp32", "app_int8"):
        theirs = _mediapipe(tiny_with_metadata[key], tmp_path, pre64)
        ours = [p.to_dict() for p in predict_with(open_classifier(str(tiny_with_metadata[key])), bundled_photos(), 5)]
        for res, mp in zip(ours, theirs, strict=True):
            assert len(mp["categories"]) == 10
            scores = {c["index"]: (c["name"], c["score"]) for c in mp["categories"]}
            for t in res["top"]:
                assert scores[t["index"]][0] == t["label"]
                assert abs(scores[t["index"]][1] - t["probability"]) <= 1e-5


def test_converted_int8_inspects_as_app_ready(converted_ghostnet):
    info = inspect(converted_ghostnet["int8"]).to_dict()
    assert info["fully_integer"] is True
    assert info["inputs"][0]["dtype"] == "uint8" and info["inputs"][0]["shape"] == [1, 224, 224, 3]
    assert info["outputs"][0]["dtype"] in ("uint8", "float32")
    meta = info["metadata"]
    assert meta["label_count"] == 1000 and meta["first_labels"][0] == "tench"
    assert meta["inputs"][0]["normalization"] == {"mean": [0.0], "std": [1.0]}
    assert meta["outputs"][0]["name"] == "probabilities"
    sig = info["signatures"]["serving_default"]
    assert sig == {"inputs": ["image"], "outputs": ["probabilities"]}


def test_onnx_predict_agrees_with_fp32_tflite(converted_ghostnet):
    photos = bundled_photos()
    onnx = [p.to_dict() for p in predict_with(open_classifier(str(converted_ghostnet["onnx"])), photos, 5)]
    tfl = [p.to_dict() for p in predict_with(open_classifier(str(converted_ghostnet["fp32"])), photos, 5)]
    for a, b in zip(onnx, tfl, strict=True):
        assert [t["index"] for t in a["top"]] == [t["index"] for t in b["top"]]
        assert np.allclose([t["probability"] for t in a["top"]], [t["probability"] for t in b["top"]],
                           atol=1e-4)
        assert a["top"][0]["label"] == b["top"][0]["label"]  # ImageNet names for 1000 classes


def test_torch_predict_agrees_with_fp32_tflite(converted_ghostnet, capsys):
    from ghostedge.cli.main import main

    photo = str(bundled_photos()[1])
    assert main(["predict", photo, "--model", "ghostnet_050", "--weights",
                 str(converted_ghostnet["checkpoint"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["backend"] == "torch" and data["input_kind"] == "normalized"
    (torch_res,) = data["results"]
    (tfl_res,) = [p.to_dict() for p in predict_with(open_classifier(str(converted_ghostnet["fp32"])), [photo], 5)]
    assert [t["index"] for t in torch_res["top"]] == [t["index"] for t in tfl_res["top"]]
    assert [t["label"] for t in torch_res["top"]] == [t["label"] for t in tfl_res["top"]]
    assert np.allclose([t["probability"] for t in torch_res["top"]],
                       [t["probability"] for t in tfl_res["top"]], atol=1e-4)
