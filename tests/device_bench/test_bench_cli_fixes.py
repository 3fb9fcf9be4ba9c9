"""Acceptance-test findings: --threads followed by model paths, ImageNet references only beside
1000-class models, and advice that exists (local oversubscription)."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from ghostedge.cli.bench import oversubscribed_advice, split_threads
from ghostedge.cli.main import main
from ghostedge.device_bench import summary as summary_mod
from ghostedge.device_bench.naming import output_classes
from ghostedge.device_bench.plan import BenchModel, BenchPlan, describe_model
from ghostedge.device_bench.render import markdown_table
from ghostedge.device_bench.runner import run_plan
from ghostedge.device_bench.store import read_results
from ghostedge.device_bench.summary import build_summary
from ghostedge.errors import UsageError
from ghostedge.models import registry

DATA = Path(__file__).resolve().parents[1] / "data" / "device_bench"
FAST = ["--repeats", "1", "--num-runs", "2", "--warmup-runs", "0", "--min-secs", "0",
        "--warmup-min-secs", "0", "--json"]


def _ten_class(folder: Path, report: bool = True) -> Path:
    """A 10-class ghostnet_050 (the tiny model) with the report `ghostedge convert` writes for it:
    the registry's ImageNet reference figures included, its output shape [1, 10]."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ghostnet_050.fp32.tflite"
    shutil.copy(DATA / "tiny_conv.fp32.tflite", path)
    if report:
        spec = registry.get_spec("ghostnet_050")
        (folder / "ghostnet_050.fp32.report.json").write_text(json.dumps(
            {"schema_version": 1, "kind": "fp32", "model_name": "ghostnet_050",
             "display_name": spec.display_name, "reference": spec.reference,
             "outputs": [{"name": "logits", "index": 9, "shape": [1, 10], "dtype": "float32"}]}))
    return path


def _sd855_table(tmp_path: Path, models, scripted_backend) -> str:
    plan = BenchPlan([describe_model(m) for m in models], threads=[1, 2, 4], repeats=1)
    run_plan(plan, scripted_backend(sd855=True), tmp_path / "results.jsonl")
    return markdown_table(build_summary(read_results(tmp_path / "results.jsonl")))


# --- 1. --threads swallowing model paths -------------------------------------------------------

@pytest.mark.parametrize("order", ["threads_last", "threads_first"])
def test_threads_then_model_path_works_in_both_orders(tmp_path, tiny_models, capsys, order):
    model = str(tiny_models[0])
    if order == "threads_first":   # the UAT command: --threads 1 2 X/model.tflite
        args = ["bench", "--device", "local", "--threads", "1", "2", model]
    else:
        args = ["bench", model, "--device", "local", "--threads", "1", "2"]
    assert main(args + FAST + ["--output", str(tmp_path / order)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["threads"] == [1, 2] and [r["label"] for r in data["rows"]] == ["GhostNet_x1_0 FP32"]


def test_models_before_and_after_threads_keep_their_order(tmp_path):
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    assert split_threads(["1", "4", str(b)], [str(a)]) == ([1, 4], [str(a), str(b)])
    assert split_threads(["2", "missing.tflite"], []) == ([2], ["missing.tflite"])  # exists or not
    assert split_threads([1, 2, 4], []) == ([1, 2, 4], [])


def test_bad_thread_value_is_one_clear_line(tmp_path, tiny_models, capsys):
    assert main(["bench", str(tiny_models[0]), "--device", "local", "--threads", "two"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--threads" in err and "'two'" in err
    with pytest.raises(UsageError, match="No thread count"):
        split_threads([str(tiny_models[0])], [])


# --- 2. ImageNet reference figures only beside 1000-class models --------------------------------

def test_ten_class_model_gets_no_imagenet_reference(tmp_path, scripted_backend):
    path = _ten_class(tmp_path / "m")
    model = describe_model(path)
    assert model.label == "GhostNet_x0_5 FP32" and model.num_classes == 10 and model.reference is None
    assert BenchModel.from_dict(json.loads(json.dumps(model.to_dict()))).num_classes == 10
    table = _sd855_table(tmp_path, [path], scripted_backend)
    assert "| GhostNet_x0_5 FP32 |" in table and "PaddleClas" not in table


def test_class_count_from_flatbuffer_without_report(tmp_path, scripted_backend):
    path = _ten_class(tmp_path / "m", report=False)
    assert output_classes(path) == 10
    assert "PaddleClas" not in _sd855_table(tmp_path, [path], scripted_backend)


def test_no_litert_and_no_report_means_no_reference(tmp_path, monkeypatch):
    path = _ten_class(tmp_path / "m", report=False)
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # not importable: never TensorFlow
    assert output_classes(path) is None and describe_model(path).num_classes is None


def test_thousand_class_model_keeps_its_reference(tmp_path, scripted_backend):
    path = _ten_class(tmp_path / "m")
    report = tmp_path / "m" / "ghostnet_050.fp32.report.json"
    data = json.loads(report.read_text())
    data["outputs"][0]["shape"] = [1, 1000]
    report.write_text(json.dumps(data))
    assert describe_model(path).reference is not None
    assert "| GhostNet_x0_5 (PaddleClas, Paddle Lite) | 5.28 | 3.95 | 3.29 |" in \
        _sd855_table(tmp_path, [path], scripted_backend)


def test_old_records_without_a_class_count_keep_their_reference():
    assert summary_mod._imagenet({}) and summary_mod._imagenet({"num_classes": 1000})
    assert not summary_mod._imagenet({"num_classes": 10})
    assert not summary_mod._imagenet({"num_classes": None})


# --- 3. advice that exists --------------------------------------------------------------------

def test_local_oversubscription_does_not_suggest_affinity_all(tmp_path, tiny_models, capsys):
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    assert main(["bench", str(tiny_models[0]), "--device", "local", "--threads", str(cpus + 1),
                 *FAST, "--output", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "exceed" in err and "--affinity all" not in err and "fewer --threads" in err
    one = "1 CPU" if cpus == 1 else f"{cpus} CPUs"
    assert one in err


def test_oversubscription_advice_per_backend():
    local = {"kind": "local", "affinity": {"policy": "3"}}
    assert "--affinity none" in oversubscribed_advice(local, 2)
    assert "--affinity all" in oversubscribed_advice({"kind": "adb", "affinity": {"policy": "big"}}, 4)
    assert "--affinity" not in oversubscribed_advice({"kind": "adb", "affinity": {"policy": "all"}}, 8)
