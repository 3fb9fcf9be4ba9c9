"""GhostNet part labels of a converted model's operators (the report's ``op_parts`` section): on
tiny conversions of both layouts (tests/data/op_parts) and, in the slow test, a real GhostNet 1.0x
whose per-part MACs are checked against torch and whose fake-phone profile is split by part."""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ghostedge.convert.op_parts import (PARTS, PREP_OPS, WEIGHTED, label_op_parts, module_part,
                                        op_parts_section)
from ghostedge.errors import InvalidModelError
from ghostedge.tflite import read_model

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = DATA / "op_parts"
FAKE_BM = Path(__file__).resolve().parents[1] / "fakephone" / "fake_benchmark_model.py"
TINY = [(layout, kind) for layout in ("tiny_timm", "tiny_paddle") for kind in ("fp32", "fp16", "int8")]


def check_section(section: dict, path: Path) -> None:
    """Every operator has a part, MACs add up per part and in total to TFLiteModel.macs()."""
    model = read_model(path)
    ops = model.operators()
    assert section["operator_count"] == len(ops) == len(section["operators"])
    assert [o["op"] for o in section["operators"]] == [op.name for op in ops]
    assert all(o["part"] in PARTS for o in section["operators"])
    assert section["total_macs"] == model.macs() > 0
    parts = section["parts"]
    assert sum(p["macs"] for p in parts.values()) == section["total_macs"]
    assert sum(p["ops"] for p in parts.values()) == len(ops)
    # each share is rounded to 6 decimals: at most 9 parts of 5e-7
    assert sum(p["mac_share"] for p in parts.values()) == pytest.approx(1.0, abs=9 * 5e-7)
    assert not [o for o in section["operators"] if o["op"] in WEIGHTED and o["part"] == "other"]
    json.loads(json.dumps(section))


@pytest.mark.parametrize("layout,kind", TINY)
def test_tiny_models_every_operator_gets_a_part(layout: str, kind: str) -> None:
    path = FIXTURES / f"{layout}.{kind}.tflite"
    section = op_parts_section(path, FIXTURES / f"{layout}.onnx")
    check_section(section, path)
    # the five bottlenecks: 10 GhostModules, SE in 2, 5 residual ADDs, stride 2 in 2 (make_fixtures.py)
    assert section["recognized"] == {"ghost_modules": 10, "se_blocks": 2, "shortcut_adds": 5, "stride_dw": 2}
    check = section["onnx_check"]
    assert check["weighted_ops"] == check["named"] == check["agree"] == 36 and check["disagree"] == []
    assert section["method"] == "graph structure, checked against the ONNX module names"
    for o in section["operators"]:
        if o["op"] in WEIGHTED:
            assert module_part(o["module"]) == o["part"], o


@pytest.mark.parametrize("layout,kind", TINY)
def test_structure_alone_gives_the_parts_the_onnx_names_give(layout: str, kind: str) -> None:
    path = FIXTURES / f"{layout}.{kind}.tflite"
    alone = label_op_parts(path)
    named = label_op_parts(path, FIXTURES / f"{layout}.onnx")
    assert alone.onnx_check is None and alone.to_dict()["method"] == "graph structure"
    assert [o["part"] for o in alone.operators] == [o["part"] for o in named.operators]
    assert "module" not in alone.operators[0]


def test_the_graph_pieces_of_a_tiny_int8_model() -> None:
    path = FIXTURES / "tiny_timm.int8.tflite"
    model, section = read_model(path), op_parts_section(path)
    ops, parts = model.operators(), [o["part"] for o in section["operators"]]
    producer = {t: op.index for op in ops for t in op.outputs}
    consumers: dict = {}
    for op in ops:
        for t in op.inputs:
            consumers.setdefault(t, []).append(op.index)
    # the edges: QUANTIZE of the uint8 input, normalization MUL/ADD, QUANTIZE of the uint8 output
    assert [(ops[i].name, parts[i]) for i in (0, 1, 2)] == [("QUANTIZE", "other"), ("MUL", "other"), ("ADD", "other")]
    assert (ops[-1].name, parts[-1]) == ("QUANTIZE", "other")
    assert [ops[i].name for i, p in enumerate(parts) if p == "stem"] == ["PAD", "CONV_2D"]
    assert [ops[i].name for i, p in enumerate(parts) if p == "head"] == [
        "CONV_2D", "MEAN", "CONV_2D", "FULLY_CONNECTED", "SOFTMAX"]
    for op in ops:
        if op.name == "CONCATENATION":   # a GhostModule: primary conv output and its cheap op's output
            assert parts[op.index] == "concat"
            assert sorted(parts[producer[t]] for t in op.inputs) == ["cheap", "primary"]
        if op.name in PREP_OPS and parts[op.index] != "other":   # a PAD takes its consumer's part
            assert {parts[j] for j in consumers[op.outputs[0]]} == {parts[op.index]}
    assert {ops[i].name for i, p in enumerate(parts) if p == "cheap"} == {"DEPTHWISE_CONV_2D"}
    assert {ops[i].name for i, p in enumerate(parts) if p == "primary"} == {"CONV_2D"}
    assert {ops[i].name for i, p in enumerate(parts) if p == "se"} == {"MEAN", "CONV_2D", "MUL"}


def test_module_names_of_both_layouts() -> None:
    assert module_part("conv_stem") == "stem"
    assert module_part("blocks.6.3.ghost1.primary_conv.0") == "primary"
    assert module_part("blocks.6.3.ghost2.cheap_operation.0") == "cheap"
    assert module_part("blocks.3.0.conv_dw") == "stride_dw"
    assert module_part("blocks.3.0.se.conv_reduce") == module_part("blocks.3.0.se.fc_expand") == "se"
    assert module_part("blocks.1.0.shortcut.2") == "shortcut"
    assert module_part("blocks.9.0.conv") == module_part("conv_head") == module_part("classifier") == "head"
    assert module_part("features.0") is None


def test_a_model_that_is_no_ghostnet_is_labelled_and_said_so() -> None:
    path = DATA / "appexport" / "tiny_app.fp32.tflite"
    section = op_parts_section(path)
    assert section["recognized"]["ghost_modules"] == 0
    assert any("not a GhostNet" in n for n in section["notes"])
    assert all(o["part"] == "other" for o in section["operators"])
    assert section["total_macs"] == read_model(path).macs()


def test_unusable_onnx_keeps_the_structure_labels(tmp_path: Path) -> None:
    bad = tmp_path / "x.onnx"
    bad.write_bytes(b"not an onnx file")
    path = FIXTURES / "tiny_paddle.fp32.tflite"
    section = op_parts_section(path, bad)
    assert "error" in section["onnx_check"] and section["method"] == "graph structure"
    assert [o["part"] for o in section["operators"]] == [o["part"] for o in op_parts_section(path)["operators"]]


def test_a_damaged_model_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.tflite"
    bad.write_bytes((FIXTURES / "tiny_timm.fp32.tflite").read_bytes()[:3000])
    with pytest.raises(InvalidModelError):
        op_parts_section(bad)


# ---------------------------------------------------------------- real GhostNet 1.0x (slow)

def torch_part_macs(model) -> dict:
    """MACs per part from the torch modules themselves (forward hooks at 224×224)."""
    import torch

    found: dict = {}

    def hook(name):
        def run(mod, inputs, out):
            per = (mod.in_channels // mod.groups * math.prod(mod.kernel_size)
                   if isinstance(mod, torch.nn.Conv2d) else mod.in_features)
            found[module_part(name)] = found.get(module_part(name), 0) + out.numel() * per
        return run

    for name, mod in model.named_modules():
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
            mod.register_forward_hook(hook(name))
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    return found


@pytest.fixture(scope="module")
def ghostnet_100(tmp_path_factory):
    import torch

    from ghostedge.convert.pipeline import convert_torch_model
    from ghostedge.data.preprocess import PRESETS
    from ghostedge.models.bn_recalib import recalibrate_batchnorm
    from ghostedge.models.registry import create_model
    from ghostedge.quantize.calibration import build_calibration_set
    from ghostedge.quantize.options import Int8Options

    torch.manual_seed(0)
    model = recalibrate_batchnorm(create_model("ghostnet_100"), batches=2, batch_size=8).eval()
    out = tmp_path_factory.mktemp("ghostnet_100")
    pre = PRESETS["torchvision"]
    convert_torch_model(model, name="ghostnet_100", output_dir=out, preprocessing=pre, fp16=True,
                        int8=Int8Options(samples=32), calibration=build_calibration_set(None, 32, 0, pre, 224))
    return out, torch_part_macs(model)


def fake_profile(model_path: Path) -> str:
    """The fake phone's benchmark_model output with op profiling (current per-operator form)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "FAKE_BM_MODE": "synthetic", "FAKE_BM_US": "7000"}
        env.pop("FAKE_ADBD_ROOT", None)
        shutil.copyfile(model_path, Path(tmp) / model_path.name)
        return subprocess.run([sys.executable, str(FAKE_BM), f"--graph={Path(tmp) / model_path.name}",
                               "--enable_op_profiling=true", "--num_runs=20", "--min_secs=0.01",
                               "--warmup_runs=1", "--warmup_min_secs=0"],
                              cwd=tmp, env=env, capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["fp32", "fp16", "int8"])
def test_real_ghostnet_100_parts_macs_and_profile(ghostnet_100, kind: str) -> None:
    from ghostedge.android_runner.op_profile import parse_op_profile
    from ghostedge.device_bench.op_parts import profile_by_part

    folder, torch_macs = ghostnet_100
    path = folder / f"ghostnet_100.{kind}.tflite"
    section = op_parts_section(path, folder / "ghostnet_100.onnx")
    check_section(section, path)
    assert section["recognized"] == {"ghost_modules": 32, "se_blocks": 7, "shortcut_adds": 16, "stride_dw": 4}
    assert section["onnx_check"]["agree"] == section["onnx_check"]["weighted_ops"] == 96
    # the per-part MACs of the .tflite are the torch modules' own, part by part
    assert {p: v["macs"] for p, v in section["parts"].items() if v["macs"]} == torch_macs
    profile = parse_op_profile(fake_profile(path))
    parts = profile_by_part(profile, path, section)
    assert parts.grouping == "part" and parts.unmatched == [] and profile.form == "per_operator"
    assert abs(parts.parts_sum_ms - profile.total_ms) <= 0.05 * profile.total_ms   # the bound
    # tighter: rows are printed with 3 decimals (0.0005 ms each at most)
    assert parts.parts_sum_ms == pytest.approx(profile.total_ms, abs=0.0005 * len(profile.operators) + 1e-3)
    assert {p.part for p in parts.parts} == set(section["parts"])
