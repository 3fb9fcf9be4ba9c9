"""``ghostedge eval`` end to end on a hand-built classifier (no TensorFlow): exact accuracies,
worker processes, --limit, --json, and the bad inputs of issue 3.

``ghostedge eval`` acceptance findings: rows of models that share a name are told apart (bench's
``[folder/stem]``), checkpoints given as MODEL point to ``NAME --weights FILE``, .onnx files are
evaluated through predict's opener, folders get a clear error, counts are pluralized."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from quantize.tiny_tflite import build_classifier

from ghostedge.accuracy.metrics import ModelAccuracy
from ghostedge.accuracy.table import format_footer
from ghostedge.accuracy.targets import EvalTarget
from ghostedge.cli.main import main
from ghostedge.data.preprocess import get_preset

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


def test_eval_link_loop_counts_each_image_once(capsys, colors_dir, model):
    (colors_dir / "blue" / "again").symlink_to(colors_dir, target_is_directory=True)
    code, out, err = _run(capsys, "--data", colors_dir, "--json", "--workers", 1, model)
    assert code == 0, err
    data = json.loads(out)
    assert data["results"][0]["images"] == 12 and data["data"]["images"] == 12
    assert any("loop back" in note for note in data["data"]["notes"]) and "loop back" in err


@pytest.mark.parametrize("option, value", [("--limit", "0"), ("--limit", "-3"), ("--workers", "0"),
                                           ("--workers", "1000"), ("--seed", "-1"),
                                           ("--image-size", "0"), ("--image-size", "100000")])
def test_numbers_out_of_range_are_refused_not_replaced(capsys, colors_dir, model, option, value):
    line = _error(capsys, "--data", colors_dir, option, value, model)
    assert option in line


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


COLORS = {"blue": (20, 30, 230), "green": (10, 220, 40), "red": (240, 20, 10)}
WEIGHTS = np.eye(3)[[2, 1, 0]] / 10.0   # class c scores the channel of its colour (as test_evaluate_cli)


def build_onnx_classifier(path: Path, weights: np.ndarray, size: int = 16) -> Path:
    """``scores = mean_hw(image NCHW) · Wᵀ``, built with onnx.helper (no torch)."""
    from onnx import TensorProto, helper, numpy_helper

    weights = np.asarray(weights, np.float32)
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
         helper.make_node("Flatten", ["pooled"], ["flat"]),
         helper.make_node("MatMul", ["flat", "w"], ["scores"])],
        "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, int(weights.shape[0])])],
        [numpy_helper.from_array(np.ascontiguousarray(weights.T), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return path


def test_rows_with_the_same_name_get_their_folder_and_file(capsys, tmp_path, colors_dir):
    (tmp_path / "J").mkdir()
    (tmp_path / "X2").mkdir()
    first = build_classifier(tmp_path / "J" / "ghostnet_050.fp32.tflite", WEIGHTS, size=16)
    second = shutil.copy(first, tmp_path / "X2" / "ghostnet_050.fp32.tflite")
    code, out, err = _run(capsys, "--data", colors_dir, "--workers", 1, first, second)
    assert code == 0, err
    rows = [ln for ln in out.splitlines() if ln.startswith("| GhostNet")]
    assert [r.split(" | ")[0] for r in rows] == ["| GhostNet_x0_5 FP32 [J/ghostnet_050.fp32]",
                                                 "| GhostNet_x0_5 FP32 [X2/ghostnet_050.fp32]"]


def test_disambiguation_keeps_unique_names_and_numbers_repeats(tmp_path):
    from ghostedge.accuracy.targets import disambiguate_labels

    pre = get_preset("torchvision")
    a = EvalTarget("tflite", "A FP32", "a", 16, 3, pre, path=tmp_path / "a.fp32.tflite")
    b = EvalTarget("tflite", "B FP32", "b", 16, 3, pre, path=tmp_path / "b.fp32.tflite")
    again = EvalTarget("tflite", "B FP32", "b", 16, 3, pre, path=tmp_path / "b.fp32.tflite")
    disambiguate_labels([a, b, again])
    assert a.label == "A FP32"
    assert (b.label, again.label) == (f"B FP32 [{tmp_path.name}/b.fp32] #1", f"B FP32 [{tmp_path.name}/b.fp32] #2")


@pytest.mark.parametrize("name, expected", [("w050.pth", "ghostnet_050"), ("ghostnet_130_ema.safetensors", "ghostnet_130"),
                                            ("GhostNet_x1_3_ssld_pretrained.pdparams", "paddle_ghostnet_x1_3")])
def test_checkpoint_as_model_points_to_weights(capsys, tmp_path, colors_dir, name, expected):
    ckpt = tmp_path / name
    ckpt.write_bytes(b"PK\x03\x04 a zip archive, as torch.save writes")
    msg = _error(capsys, "--data", colors_dir, ckpt)
    assert "is a training checkpoint, not a model file" in msg
    assert f"Pass {expected} --weights {ckpt}" in msg and "TFL3" not in msg


def test_checkpoint_with_an_unknown_name_lists_the_variants(capsys, tmp_path, colors_dir):
    ckpt = tmp_path / "model_best.pt"
    ckpt.write_bytes(b"PK\x03\x04")
    msg = _error(capsys, "--data", colors_dir, ckpt)
    assert f"Pass ghostnet_100 --weights {ckpt}" in msg and "ghostnet_050" in msg


def test_onnx_is_evaluated_like_predict_runs_it(capsys, tmp_path, colors_dir):
    onnx_model = build_onnx_classifier(tmp_path / "colors.onnx", WEIGHTS)
    tflite_model = build_classifier(tmp_path / "colors.fp32.tflite", WEIGHTS, size=16)
    code, out, err = _run(capsys, "--data", colors_dir, "--json", "--workers", 1, onnx_model, tflite_model)
    assert code == 0, err
    onnx_row, tflite_row = json.loads(out)["results"]
    assert onnx_row["model"] == "colors.onnx" and onnx_row["source"] == str(onnx_model)
    assert (onnx_row["correct1"], onnx_row["images"]) == (tflite_row["correct1"], 12) == (11, 12)
    assert "raw 0..255 pixels" in err   # no report beside it says what the input is


def test_onnx_image_size_must_fit(capsys, tmp_path, colors_dir):
    onnx_model = build_onnx_classifier(tmp_path / "colors.onnx", WEIGHTS)
    assert "--image-size 224 does not fit" in _error(capsys, "--data", colors_dir, "--image-size", 224, onnx_model)


def test_folder_as_model_names_a_file_to_pass(capsys, tmp_path, colors_dir):
    folder = tmp_path / "models"
    folder.mkdir()
    build_classifier(folder / "colors.fp32.tflite", WEIGHTS, size=16)
    msg = _error(capsys, "--data", colors_dir, folder)
    assert "is a folder, not a model file" in msg and str(folder / "colors.fp32.tflite") in msg


def test_footer_counts_are_pluralized():
    one = ModelAccuracy(model="m", source="m", images=1, top1=1.0, top5=1.0, correct1=1, correct5=1,
                     skipped=1, image_size=16)
    text = format_footer([one], "data", "imagefolder")
    assert text.startswith("1 image from data") and "m: 1 unreadable image skipped" in text
    two = ModelAccuracy(model="m", source="m", images=2, top1=1.0, top5=1.0, correct1=2, correct5=2,
                     skipped=2, image_size=16)
    text = format_footer([two], "data", "imagefolder")
    assert text.startswith("2 images from data") and "m: 2 unreadable images skipped" in text
