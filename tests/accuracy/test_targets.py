"""Eval tables name a paddle:GhostNet_x1_3_ssld conversion "GhostNet_x1_3_ssld" and give it the
ssld reference top-1/top-5 (0.794 / 0.945), not GhostNet_x1_3's (0.757 / 0.925)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ghostedge.accuracy.metrics import ModelAccuracy
from ghostedge.accuracy.runner import reference_columns
from ghostedge.accuracy.table import format_table
from ghostedge.accuracy.targets import EvalTarget, tflite_target
from ghostedge.model_report import ModelReport, report_identity, source_identity
from ghostedge.data.preprocess import get_preset
from ghostedge.models.pdparams import PADDLE_SOURCES
from ghostedge.models.registry import get_spec

TINY = Path(__file__).resolve().parents[1] / "data" / "device_bench" / "tiny_conv.int8.tflite"
SPEC = get_spec("paddle_ghostnet_x1_3")


def _ssld_report() -> dict:
    source = {"source": "paddle:GhostNet_x1_3_ssld", "display_name": "GhostNet_x1_3_ssld",
              "reference": dict(PADDLE_SOURCES["GhostNet_x1_3_ssld"].reference)}
    display, reference = source_identity("paddle_ghostnet_x1_3", source)
    report = {"kind": "int8", "model_name": "paddle_ghostnet_x1_3", "app_ready": True,
              "preprocessing": {"name": "paddle"}, "display_name": display, "reference": reference,
              "source": source}
    return json.loads(json.dumps(report))


def _identity(report: dict):
    ident = report_identity(ModelReport.from_dict(report))
    return ident.display_name, ident.reference


def test_table_identity_prefers_the_report_fields():
    name, ref = _identity(_ssld_report())
    assert name == "GhostNet_x1_3_ssld" and (ref["top1"], ref["top5"]) == (0.794, 0.945)
    old = _ssld_report()          # written before the top-level fields: read them from "source"
    del old["display_name"], old["reference"]
    assert _identity(old)[0] == "GhostNet_x1_3_ssld"
    plain = {"kind": "fp32", "model_name": "paddle_ghostnet_x1_3"}
    assert _identity(plain) == ("GhostNet_x1_3", dict(SPEC.reference))
    assert source_identity("mystery", None) == ("mystery", {})


def test_tflite_target_label_from_the_report(tmp_path):
    path = tmp_path / "paddle_ghostnet_x1_3.int8.tflite"
    shutil.copy(TINY, path)
    (tmp_path / "paddle_ghostnet_x1_3.int8.report.json").write_text(json.dumps(_ssld_report()))
    target = tflite_target(path)
    assert target.label == "GhostNet_x1_3_ssld INT8" and target.spec is SPEC
    assert target.reference["top1"] == 0.794
    assert reference_columns(target) == {}   # 10 classes: ImageNet references do not apply
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(TINY, plain / "paddle_ghostnet_x1_3.int8.tflite")
    assert tflite_target(plain / "paddle_ghostnet_x1_3.int8.tflite").label == "GhostNet_x1_3 INT8"


def test_table_row_shows_the_ssld_reference():
    name, ref = _identity(_ssld_report())
    target = EvalTarget("tflite", f"{name} INT8", "x.tflite", 224, 1000, get_preset("paddle"),
                        spec=SPEC, reference=ref)
    cols = reference_columns(target)
    result = ModelAccuracy(model=target.label, source=target.source, images=10, top1=0.8, top5=0.9,
                        correct1=8, correct5=9, reference_top1=cols.get("top1"),
                        reference_top5=cols.get("top5"))
    assert "| GhostNet_x1_3_ssld INT8 | 0.800 | 0.900 | 0.794 | 0.945 |" in format_table([result])
    no_ref = EvalTarget("tflite", "GhostNet_x1_3 INT8", "x.tflite", 224, 1000, get_preset("paddle"), spec=SPEC)
    assert reference_columns(no_ref)["top1"] == 0.757
