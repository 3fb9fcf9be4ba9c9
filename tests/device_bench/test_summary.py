"""Bench tables name a paddle:GhostNet_x1_3_ssld conversion "GhostNet_x1_3_ssld" (not its
architecture's "GhostNet_x1_3") and, on an SD855, show the ssld row's published latency."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ghostedge.model_report import identity_for as model_identity
from ghostedge.model_report import source_identity
from ghostedge.device_bench.plan import BenchModel, BenchPlan, describe_model
from ghostedge.device_bench.render import markdown_table
from ghostedge.device_bench.runner import run_plan
from ghostedge.device_bench.store import read_results
from ghostedge.device_bench.summary import build_summary
from ghostedge.models.pdparams import PADDLE_SOURCES

SSLD = PADDLE_SOURCES["GhostNet_x1_3_ssld"]
DATA = Path(__file__).resolve().parents[1] / "data" / "device_bench"


def _ssld_report(kind: str) -> dict:
    """What ``ghostedge convert --weights paddle:GhostNet_x1_3_ssld`` writes (JSON round trip)."""
    source = {"source": "paddle:GhostNet_x1_3_ssld", "display_name": "GhostNet_x1_3_ssld",
              "reference": dict(SSLD.reference)}
    report = {"kind": kind, "model_name": "paddle_ghostnet_x1_3", "app_ready": True,
              "outputs": [{"name": "logits", "shape": [1, 1000], "dtype": "float32"}],
              **dict(zip(("display_name", "reference"), source_identity("paddle_ghostnet_x1_3", source))),
              "source": source}
    return json.loads(json.dumps(report))


def _model(folder: Path, stem: str, kind: str, report: dict = None) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{stem}.{kind}.tflite"
    shutil.copy(DATA / f"tiny_conv.{kind}.tflite", path)
    if report is not None:
        (folder / f"{stem}.{kind}.report.json").write_text(json.dumps(report))
    return path


def test_convert_report_carries_the_source_name_and_reference():
    display, reference = source_identity("paddle_ghostnet_x1_3", {"display_name": "GhostNet_x1_3_ssld",
                                                                  "reference": dict(SSLD.reference)})
    assert display == "GhostNet_x1_3_ssld"
    assert reference["sd855_ms"] == {1: 19.16, 2: 17.85, 4: 10.18}
    display, reference = source_identity("ghostnet_100", {"kind": "random", "source": "random"})
    assert display == "GhostNet_x1_0" and reference["top1"] == 0.7398


def test_identity_prefers_the_report_display_name(tmp_path):
    path = _model(tmp_path / "a", "paddle_ghostnet_x1_3", "fp32", _ssld_report("fp32"))
    ident = model_identity(path)
    assert (ident.display_name, ident.registry_name, ident.precision) == \
        ("GhostNet_x1_3_ssld", "paddle_ghostnet_x1_3", "fp32")
    assert ident.reference["sd855_ms"] == {"1": 19.16, "2": 17.85, "4": 10.18}
    # reports written before the top-level fields existed keep them under "source"
    old = _ssld_report("int8")
    del old["display_name"], old["reference"]
    ident = model_identity(_model(tmp_path / "b", "paddle_ghostnet_x1_3", "int8", old))
    assert ident.display_name == "GhostNet_x1_3_ssld" and ident.reference["top1"] == 0.794
    # no report: the architecture's name, as before
    assert model_identity(_model(tmp_path / "c", "paddle_ghostnet_x1_3", "fp32")).display_name == "GhostNet_x1_3"


def test_bench_model_round_trip_keeps_the_reference(tmp_path):
    model = describe_model(_model(tmp_path / "a", "paddle_ghostnet_x1_3", "fp32", _ssld_report("fp32")))
    assert model.label == "GhostNet_x1_3_ssld FP32"
    again = BenchModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again == model and again.reference == model.reference
    plain = describe_model(_model(tmp_path / "b", "ghostnet_100", "fp32"))
    assert "reference" not in plain.to_dict() and BenchModel.from_dict(plain.to_dict()).reference is None


def test_sd855_table_uses_the_ssld_reference_row(tmp_path, scripted_backend):
    models = [_model(tmp_path / "ssld", "paddle_ghostnet_x1_3", k, _ssld_report(k)) for k in ("fp32", "int8")]
    # plain x1_3: a report without a weights source of its own (the registry variant's name)
    models.append(_model(tmp_path / "plain", "paddle_ghostnet_x1_3", "fp32",
                         {"kind": "fp32", "model_name": "paddle_ghostnet_x1_3",
                          "outputs": [{"name": "logits", "shape": [1, 1000]}]}))
    plan = BenchPlan([describe_model(m) for m in models], threads=[1, 2, 4], repeats=1)
    results = tmp_path / "results.jsonl"
    run_plan(plan, scripted_backend(sd855=True, latency_us=lambda m, t, n: 10000.0), results)
    table = markdown_table(build_summary(read_results(results)))
    assert "| GhostNet_x1_3_ssld FP32 | 10.00 |" in table
    assert "| GhostNet_x1_3_ssld INT8 | 10.00 |" in table
    assert "| GhostNet_x1_3 FP32 | 10.00 |" in table
    assert "| GhostNet_x1_3_ssld (PaddleClas, Paddle Lite) | 19.16 | 17.85 | 10.18 | 29.000 |" in table
    assert "| GhostNet_x1_3 (PaddleClas, Paddle Lite) | 19.16 | 12.25 | 9.40 | 29.000 |" in table
    assert table.count("PaddleClas, Paddle Lite") == 2
