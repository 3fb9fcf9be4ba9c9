"""The key test of issue 3: a GhostNet that was really trained (0.5x, 10 classes, scikit-learn's
handwritten digits upscaled to 64x64 PNG files) goes through the same conversion code as users'
models; FP32 TFLite must score exactly what torch scores, INT8 within 1.5 points, fully integer,
and ``ghostedge eval`` must print those numbers in the seed's table."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ghostedge.cli.main import main
from ghostedge.data.preprocess import PRESETS, load_normalized_nchw
from ghostedge.quantize.calibration import build_calibration_set, sized_preprocessing
from ghostedge.quantize.check import assert_fully_integer

SIZE = 64
EPOCHS = 5
CLASSES = [f"digit_{d}" for d in range(10)]     # sorted order == digit order


def _write_digits(root: Path) -> dict:
    """Every 5th digit is held out; images are 8x8 → 64x64 bilinear, grey → RGB, PNG files."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    splits: dict = {"train": [], "heldout": []}
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        split = "heldout" if i % 5 == 0 else "train"
        folder = root / split / CLASSES[int(label)]
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (image * (255.0 / 16.0)).round().astype(np.uint8)
        path = folder / f"{i:04d}.png"
        Image.fromarray(pixels, "L").resize((SIZE, SIZE), Image.BILINEAR).convert("RGB").save(path)
        splits[split].append((path, int(label)))
    return splits


def _tensors(samples, pre):
    import torch

    x = np.stack([load_normalized_nchw(p, pre) for p, _ in samples])   # exactly eval's preprocessing
    return torch.from_numpy(x), torch.tensor([label for _, label in samples])


def _train(x, y):
    import torch

    from ghostedge.models.registry import create_model

    torch.manual_seed(0)
    model = create_model("ghostnet_050", num_classes=10)
    model.train()
    batch = 64
    steps = EPOCHS * ((len(x) + batch - 1) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    for _ in range(EPOCHS):
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
    return model.eval()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import torch

    from ghostedge.convert.pipeline import convert_torch_model as convert
    from ghostedge.quantize.options import Int8Options

    threads = torch.get_num_threads()
    torch.set_num_threads(1)    # on busy shared cores one thread trains many times faster than two
    try:
        root = tmp_path_factory.mktemp("digits")
        splits = _write_digits(root)
        pre = sized_preprocessing(PRESETS["torchvision"], SIZE)
        model = _train(*_tensors(splits["train"], pre))
        x_held, y_held = _tensors(splits["heldout"], pre)
        with torch.no_grad():
            torch_correct = int((model(x_held).argmax(1) == y_held).sum())
        weights = root / "digits_ghostnet_050.pth"
        torch.save(model.state_dict(), weights)
        calibration = build_calibration_set(root / "train", samples=200, seed=0, image_size=SIZE, heldout=50)
        result = convert(model, name="ghostnet_050", output_dir=root / "out", preprocessing=PRESETS["torchvision"],
                         int8=Int8Options(explain=True), calibration=calibration, image_size=SIZE, labels=CLASSES)
    finally:
        torch.set_num_threads(threads)
    return {"root": root, "heldout": root / "heldout", "n_heldout": len(splits["heldout"]),
            "torch_correct": torch_correct, "weights": weights, "result": result}


@pytest.fixture(scope="module")
def evaluated(trained):
    """``ghostedge eval --json`` over the held-out split: torch (weights file), FP32, INT8."""
    import io
    from contextlib import redirect_stdout

    art = trained["result"].artifacts
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(["eval", "--json", "--data", str(trained["heldout"]), str(art["fp32"]), str(art["int8"])])
    assert code == 0
    return {r["model"]: r for r in json.loads(buffer.getvalue())["results"]}


@pytest.mark.slow
def test_network_really_learned(trained):
    assert trained["torch_correct"] / trained["n_heldout"] >= 0.90


@pytest.mark.slow
def test_fp32_tflite_accuracy_equals_torch(trained, evaluated):
    fp32 = evaluated["GhostNet_x0_5 FP32"]
    assert fp32["images"] == trained["n_heldout"]
    assert fp32["correct1"] == trained["torch_correct"]


@pytest.mark.slow
def test_int8_within_one_and_a_half_points_of_fp32(evaluated):
    fp32, int8 = evaluated["GhostNet_x0_5 FP32"], evaluated["GhostNet_x0_5 INT8"]
    assert int8["images"] == fp32["images"]
    assert abs(int8["top1"] - fp32["top1"]) * 100 <= 1.5, (int8["top1"], fp32["top1"])


@pytest.mark.slow
def test_int8_file_is_fully_integer_and_reported(trained):
    result = trained["result"]
    path = result.artifacts["int8"]
    assert path.name == "ghostnet_050.int8.tflite"
    summary = assert_fully_integer(path)
    assert summary["io"] == {"input": ["uint8"], "output": ["uint8"]}
    report = result.reports["int8"].to_dict()
    calibration = report["calibration"]
    assert calibration["count"] == 200 and calibration["seed"] == 0 and calibration["class_balanced"]
    assert len(calibration["file_list_sha256"]) == 64
    fidelity = report["fidelity_vs_fp32"]
    assert fidelity["images"] == 50 and fidelity["top1_agreement"] >= 0.9
    assert fidelity["layers"] and fidelity["layers"][0]["cosine_lost"] >= fidelity["layers"][-1]["cosine_lost"]
    assert result.layer_table and "RMSE/scale" in result.layer_table


@pytest.mark.slow
def test_eval_prints_the_seed_table_with_torch_fp32_and_int8(trained, evaluated, capsys):
    art = trained["result"].artifacts
    code = main(["eval", "--data", str(trained["heldout"]), "--workers", "2", "--weights", str(trained["weights"]),
                 "--image-size", str(SIZE), "ghostnet_050", str(art["fp32"]), str(art["int8"])])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "| Models | Top1 | Top5 | Reference top1 | Reference top5 | FLOPs(G) | Params(M) |"
    torch_top1 = trained["torch_correct"] / trained["n_heldout"]
    assert lines[2].startswith(f"| GhostNet_x0_5 PyTorch | {torch_top1:.3f} |")
    for row, kind in zip(lines[3:5], ("FP32", "INT8")):
        r = evaluated[f"GhostNet_x0_5 {kind}"]
        assert row.startswith(f"| GhostNet_x0_5 {kind} | {r['top1']:.3f} | {r['top5']:.3f} | - | - |"), row
