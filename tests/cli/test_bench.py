"""`ghostedge report` and `ghostedge bench` argument handling, in-process.

Acceptance-test findings: --threads followed by model paths, ImageNet references only beside
1000-class models, and advice that exists (local oversubscription)."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from ghostedge.cli.bench import split_threads
from ghostedge.cli.main import main
from ghostedge.device_bench import summary as summary_mod
from ghostedge.device_bench.plan import BenchModel, BenchPlan, describe_model
from ghostedge.device_bench.render import markdown_table
from ghostedge.device_bench.runner import run_plan
from ghostedge.device_bench.session import oversubscribed_advice
from ghostedge.device_bench.store import read_results
from ghostedge.device_bench.summary import build_summary
from ghostedge.errors import UsageError
from ghostedge.models import registry


@pytest.fixture()
def saved_results(tmp_path, tiny_models, scripted_backend):
    folder = tmp_path / "bench"
    plan = BenchPlan([describe_model(m) for m in tiny_models], threads=[1, 2, 4], repeats=2)
    run_plan(plan, scripted_backend(), folder / "results.jsonl")
    return folder


def test_report_redraws_everything_from_saved_results(saved_results, capsys):
    assert main(["report", str(saved_results)]) == 0
    out = capsys.readouterr().out
    assert "| Models | SD855 time(ms) bs=1, thread=1 | thread=2 | thread=4 | Storage Size(M) |" in out
    assert "| GhostNet_x1_0 (PaddleClas, Paddle Lite) | 12.89 | 8.66 | 6.72 | 20.000 |" in out
    assert "Protocol: strict" in out and "95 % interval" in out
    for name in ("table.md", "table.csv", "summary.json", "latency.png"):
        assert (saved_results / name).stat().st_size > 0
    assert main(["report", str(saved_results / "results.jsonl"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["device"]["label"] == "SD855" and len(data["rows"]) == 2
    assert data["files"]["results"].endswith("results.jsonl")


def test_report_refuses_to_overwrite_another_output(saved_results, tmp_path, capsys):
    other = tmp_path / "elsewhere"
    assert main(["report", str(saved_results), "--output", str(other), "--no-plot"]) == 0
    assert not (other / "latency.png").exists() and (other / "table.md").exists()
    assert main(["report", str(saved_results), "--output", str(other)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: Output") and "--force" in err[-1]
    assert main(["report", str(saved_results), "--output", str(other), "--force"]) == 0


def test_report_on_missing_or_foreign_files(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: No benchmark results at") and len(err.splitlines()) == 1
    assert main(["report", str(tmp_path / "nothing"), "--no-plot"]) == 1
    capsys.readouterr()
    one_line = tmp_path / "hostname"
    one_line.write_text("myhost\n")
    assert main(["report", str(one_line)]) == 1
    err = capsys.readouterr().err
    assert "line 1 is not JSON" in err and "warning" not in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\nnot json\n{"x": 2}\n')
    assert main(["report", str(bad)]) == 1
    assert "schema" in capsys.readouterr().err


def test_bench_without_models_says_to_convert_first(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "--device", "local"]) == 2
    err = capsys.readouterr().err.strip()
    assert "ghostnet_100.fp32.tflite" in err and "ghostedge convert --int8" in err
    assert len(err.splitlines()) == 1


def test_bench_rejects_non_tflite_and_bad_options(tmp_path, tiny_models, capsys):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"definitely not a flatbuffer")
    assert main(["bench", str(junk), "--device", "local"]) == 2
    assert "not a .tflite model" in capsys.readouterr().err
    assert main(["bench", str(tiny_models[0]), "--device", "local", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err
    assert main(["bench", str(tiny_models[0]), "--device", "local", "--affinity", "zz"]) == 2
    assert "affinity" in capsys.readouterr().err.lower()


def test_bench_refuses_existing_results_without_force(tmp_path, tiny_models, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text("old\n")
    assert main(["bench", str(tiny_models[0]), "--device", "local", "--output", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert (out / "results.jsonl").read_text() == "old\n"


def test_force_keeps_old_results_when_the_device_fails_before_measuring(tmp_path, tiny_models,
                                                                         monkeypatch, capsys):
    from ghostedge.device_bench.local import LocalBackend
    from ghostedge.errors import BenchmarkError

    def broken(self, models):
        raise BenchmarkError("No benchmark binary", "test", "Pass --benchmark-binary")

    monkeypatch.setattr(LocalBackend, "prepare", broken)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text("old\n")
    assert main(["bench", str(tiny_models[0]), "--device", "local", "--output", str(out), "--force"]) == 1
    assert "No benchmark binary" in capsys.readouterr().err
    assert (out / "results.jsonl").read_text() == "old\n" and not (out / "table.md").exists()


def test_local_bench_json_in_process(tmp_path, tiny_models, capsys):
    args = ["bench", *map(str, tiny_models), "--device", "local", "--threads", "1", "2", "--repeats", "2",
            "--adaptive-budget", "0",
            "--num-runs", "3", "--warmup-runs", "1", "--min-secs", "0", "--warmup-min-secs", "0",
            "--output", str(tmp_path / "o"), "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["device"]["kind"] == "local" and data["device"]["label"].startswith("local CPU (")
    assert data["reference"] == [] and data["threads"] == [1, 2]
    cell = data["rows"][1]["cells"]["2"]
    assert cell["n"] == 2 and cell["min_ms"] <= cell["median_ms"] <= cell["max_ms"]
    assert main(args) == 1  # a second run into the same folder is refused without --force
    assert main(args + ["--force"]) == 0


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
    assert describe_model(path).num_classes == 10
    assert "PaddleClas" not in _sd855_table(tmp_path, [path], scripted_backend)


def test_no_litert_and_no_report_means_no_reference(tmp_path, monkeypatch):
    path = _ten_class(tmp_path / "m", report=False)
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # not importable: never TensorFlow
    assert describe_model(path).num_classes is None


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
    captured = capsys.readouterr()
    err = captured.err
    assert "exceed" in err and "--affinity all" not in err and "fewer --threads" in err
    one = "1 CPU" if cpus == 1 else f"{cpus} CPUs"
    assert one in err
    cell = json.loads(captured.out)["rows"][0]["cells"][str(cpus + 1)]
    assert cell["oversubscribed"] and "oversubscribed" in cell["marks"]   # never a plain figure
    table = (tmp_path / "o" / "table.md").read_text().splitlines()[2]
    assert "(oversubscribed" in table


def test_oversubscription_advice_per_backend():
    local = {"kind": "local", "affinity": {"policy": "3"}}
    assert "--affinity none" in oversubscribed_advice(local, 2)
    assert "--affinity all" in oversubscribed_advice({"kind": "adb", "affinity": {"policy": "big"}}, 4)
    assert "--affinity" not in oversubscribed_advice({"kind": "adb", "affinity": {"policy": "all"}}, 8)
