"""``ghostedge eval`` end to end on a hand-built classifier (no TensorFlow): exact accuracies,
worker processes, --limit, --json, and the bad inputs of issue 3."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ghostedge.cli.main import main
from quantize.tiny_tflite import build_classifier

COLORS = {"blue": (20, 30, 230), "green": (10, 220, 40), "red": (240, 20, 10)}
# Class folders sort as blue=0, green=1, red=2; the model scores class c by the channel of its colour.
WEIGHTS = np.eye(3)[[2, 1, 0]] / 10.0


def _solid(path: Path, rgb, size=(40, 30)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path)


@pytest.fixture()
def colors_dir(tmp_path) -> Path:
    """12 images in 3 class folders; one green image is filed under red (a known error)."""
    root = tmp_path / "colors"
    for name, rgb in COLORS.items():
        for i in range(4):
            _solid(root / name / f"{name}{i}.png", rgb)
    _solid(root / "red" / "red_wrong.png", COLORS["green"])
    (root / "red" / "red3.png").unlink()
    return root


@pytest.fixture()
def model(tmp_path) -> Path:
    return build_classifier(tmp_path / "colors.fp32.tflite", WEIGHTS, size=16)


def _run(capsys, *argv):
    code = main(["eval", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("workers", [1, 2])
def test_eval_prints_table_with_exact_accuracy(capsys, colors_dir, model, workers):
    code, out, err = _run(capsys, "--data", colors_dir, "--workers", workers, model)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("| Models | Top1 | Top5 | Reference top1")
    assert lines[2] == "| colors.fp32.tflite | 0.917 | 1.000 | - | - | 0.000 | - |"
    assert "12 images from" in out


def test_eval_json_and_limit_are_deterministic(capsys, colors_dir, model):
    runs = []
    for _ in range(2):
        code, out, _ = _run(capsys, "--data", colors_dir, "--limit", 6, "--json", "--workers", 1, model)
        assert code == 0
        runs.append(json.loads(out))
    for run in runs:
        for result in run["results"]:
            result.pop("seconds")
    data = runs[0]
    assert data == runs[1]
    assert data["data"]["evaluated"] == 6 and data["results"][0]["images"] == 6
    assert data["results"][0]["num_classes"] == 3


def test_eval_counts_unreadable_images(capsys, colors_dir, model):
    (colors_dir / "blue" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    code, out, err = _run(capsys, "--data", colors_dir, "--json", "--workers", 1, model)
    assert code == 0, err
    result = json.loads(out)["results"][0]
    assert result["skipped"] == 1 and result["images"] == 12 and result["correct1"] == 11


def _error(capsys, *argv) -> str:
    code, out, err = _run(capsys, *argv)
    assert code != 0
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def test_bad_inputs_get_one_line_errors(capsys, tmp_path, colors_dir, model):
    text_file = tmp_path / "notes.tflite"
    text_file.write_text("hello, not a model")
    assert "is not a .tflite model" in _error(capsys, "--data", colors_dir, text_file)
    png = colors_dir / "blue" / "blue0.png"
    assert "is not a .tflite model" in _error(capsys, "--data", colors_dir, png)
    assert "does not exist" in _error(capsys, "--data", colors_dir, tmp_path / "missing.tflite")
    assert "Unknown model 'resnet50'" in _error(capsys, "--data", colors_dir, "resnet50")
    assert "needs --weights" in _error(capsys, "--data", colors_dir, "ghostnet_100")
    assert "--limit 0" in _error(capsys, "--data", colors_dir, "--limit", 0, model)
    assert "does not exist" in _error(capsys, "--data", tmp_path / "nowhere", model)
    empty = tmp_path / "empty"
    empty.mkdir()
    _error(capsys, "--data", empty, model)


def test_unlabeled_data_is_refused(capsys, tmp_path, model):
    flat = tmp_path / "flat"
    for i in range(3):
        _solid(flat / f"img{i}.jpg", (i * 50, 10, 10))
    assert "no labels" in _error(capsys, "--data", flat, model)


def test_class_count_must_fit_the_data(capsys, tmp_path, colors_dir):
    ten = build_classifier(tmp_path / "ten.tflite", np.ones((10, 3)), size=16)
    imagenet = tmp_path / "imagenet"
    for wnid in ("n01440764", "n01443537"):
        _solid(imagenet / "val" / wnid / "a.JPEG", (1, 2, 3))
    msg = _error(capsys, "--data", imagenet, ten)
    assert "10 classes" in msg and "ImageNet" in msg
    msg = _error(capsys, "--data", colors_dir, ten)
    assert "10 classes" in msg and "has 3" in msg


def test_image_size_that_does_not_fit_the_model(capsys, colors_dir, model):
    msg = _error(capsys, "--data", colors_dir, "--image-size", 224, model)
    assert "--image-size 224 does not fit" in msg
