"""The versioned ModelReport: round trip, derived keys, 0.1 reports, every refusal, atomic dump and
finding the report beside a model."""
from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from ghostedge.errors import ReportError
from ghostedge.model_report import (SCHEMA, SCHEMA_VERSION, ModelReport, add_section, find_report,
                                    load_report)


def _full() -> ModelReport:
    return ModelReport(
        kind="int8", model_name="ghostnet_100", file="ghostnet_100.int8.tflite",
        display_name="GhostNet_x1_0", reference={"top1": 0.74}, num_classes=1000,
        size_bytes=5_500_000, sha256="ab" * 32, created="2024-01-01T00:00:00Z", app_ready=True,
        image_size=224, preprocessing={"name": "imagenet"}, source={"weights": "timm"},
        inputs=[{"name": "in", "shape": [1, 224, 224, 3]}],
        outputs=[{"name": "out", "shape": [1, 1000]}], signatures={"serving_default": {}},
        ops={"CONV_2D": 10, "ADD": 5}, has_metadata=True, fidelity_vs_torch={"top1_agree": 0.99},
        durations_s={"convert": 1.5}, tools={"onnx2tf": "1.0"}, onnx2tf_peak_rss_mb=512.0,
        opset=13, sections={"calibration": {"images": 100}})


def test_round_trip_keeps_every_field():
    report = _full()
    doc = report.to_dict()
    assert doc["schema"] == SCHEMA == "ghostedge.model-report"
    assert doc["schema_version"] == SCHEMA_VERSION == 2
    back = ModelReport.from_dict(json.loads(json.dumps(doc)))
    assert dataclasses.asdict(back) == dataclasses.asdict(report)


def test_derived_keys_are_computed_and_not_stored_back():
    doc = _full().to_dict()
    assert doc["precision"] == "int8" and doc["registry_name"] == "ghostnet_100"
    assert doc["size_mb"] == 5.5 and doc["op_total"] == 15 and doc["bare"] is False
    assert doc["interface"].startswith("raw RGB pixels")
    assert doc["calibration"] == {"images": 100}
    doc.update(precision="fp16", size_mb=99.0, op_total=1, bare=True, registry_name="x")
    back = ModelReport.from_dict(doc)
    assert back.precision == "int8" and back.sections == {"calibration": {"images": 100}}
    again = back.to_dict()
    assert (again["size_mb"], again["op_total"], again["registry_name"]) == (5.5, 15, "ghostnet_100")


def test_onnx_and_unregistered_reports():
    doc = ModelReport(kind="onnx", model_name="tiny", app_ready=False).to_dict()
    assert doc["precision"] is None and doc["registry_name"] is None and doc["bare"] is True
    assert "signatures" not in doc and "has_metadata" not in doc and "opset" not in doc
    assert doc["size_mb"] is None and doc["op_total"] == 0
    assert doc["interface"].startswith("normalized float32")
    assert ModelReport(kind="fp32", model_name="tiny").to_dict()["interface"] is None


@pytest.mark.parametrize("extra", [{}, {"schema_version": 1}])
def test_a_ghostedge_0_1_report_still_loads(extra):
    old = {"kind": "fp16", "model_name": "ghostnet_100", "size_bytes": 10,
           "source": {"display_name": "GhostNet_x1_0"}, "int8_io": "float", **extra}
    report = ModelReport.from_dict(old)
    assert (report.kind, report.model_name, report.size_bytes) == ("fp16", "ghostnet_100", 10)
    assert report.sections == {"int8_io": "float"}
    assert report.to_dict()["schema"] == SCHEMA


def test_unknown_sections_survive_a_round_trip():
    doc = ModelReport(kind="fp32", model_name="m").to_dict()
    doc["arm64"] = {"passed": True}
    doc["future_key"] = [1, 2]
    back = ModelReport.from_dict(doc)
    assert back.sections == {"arm64": {"passed": True}, "future_key": [1, 2]}
    again = back.to_dict()
    assert again["arm64"] == {"passed": True} and again["future_key"] == [1, 2]


def _base(**changes):
    doc = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "kind": "fp32", "model_name": "m"}
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not ...}


@pytest.mark.parametrize("data, why", [
    ([1, 2], "not a JSON object"),
    ("text", "not a JSON object"),
    (_base(schema="other.report"), "its schema is 'other.report'"),
    (_base(schema_version=SCHEMA_VERSION + 1), f"schema version {SCHEMA_VERSION + 1}"),
    (_base(schema_version=0), "no valid schema_version"),
    (_base(schema_version="2"), "no valid schema_version"),
    (_base(schema_version=True), "no valid schema_version"),
    (_base(schema_version=...), "no valid schema_version"),  # schema key but no version
    (_base(kind=...), "kind is missing"),
    (_base(model_name=...), "model_name is missing"),
    (_base(num_classes=True), "num_classes is bool, expected int"),
    (_base(num_classes="1000"), "num_classes is str, expected int"),
    (_base(ops=[1]), "ops is list, expected dict"),
    (_base(app_ready=1), "app_ready is int, expected bool"),
    (_base(opset="13"), "opset is str, expected int"),
    (_base(has_metadata="yes"), "has_metadata is str, expected bool"),
    (_base(created=20260101), "created is int, expected str"),
    (_base(onnx2tf_peak_rss_mb=True), "onnx2tf_peak_rss_mb is bool, expected int or float"),
    (_base(kind="tflite"), "kind 'tflite' is not one of onnx, fp32, fp16, int8"),
])
def test_refusals(data, why):
    with pytest.raises(ReportError) as info:
        ModelReport.from_dict(data, "r.json")
    assert info.value.what == "Cannot read r.json"
    assert why in info.value.why


def test_num_classes_comes_from_the_outputs_shape_when_absent():
    assert ModelReport.from_dict(_base(outputs=[{"shape": [1, 37]}])).num_classes == 37
    assert ModelReport.from_dict(_base(outputs=[{"shape": [1, 37]}], num_classes=5)).num_classes == 5
    for outputs in ([], [{"shape": [1, 0]}], [{"shape": "1x37"}], [{}], ["x"]):
        assert ModelReport.from_dict(_base(outputs=outputs)).num_classes is None


def test_load_report_names_the_path(tmp_path):
    missing = tmp_path / "missing.report.json"
    with pytest.raises(ReportError, match="Cannot read .*missing.report.json"):
        load_report(missing)
    bad = tmp_path / "bad.report.json"
    bad.write_text("{not json")
    with pytest.raises(ReportError, match="bad.report.json: it is not JSON"):
        load_report(bad)
    wrong = tmp_path / "wrong.report.json"
    wrong.write_text(json.dumps(_base(kind="tflite")))
    with pytest.raises(ReportError, match="wrong.report.json"):
        load_report(wrong)


def test_dump_is_atomic_and_loads_back(tmp_path):
    report = _full()
    path = report.dump(tmp_path / "sub" / "m.int8.report.json")
    assert path == tmp_path / "sub" / "m.int8.report.json"
    assert json.loads(path.read_text(encoding="utf-8")) == report.to_dict()
    assert dataclasses.asdict(load_report(path)) == dataclasses.asdict(report)
    ModelReport(kind="fp32", model_name="other").dump(path)  # replaces in place
    assert load_report(path).model_name == "other"
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.int8.report.json"]


def _model(tmp_path, name="m.int8.tflite", size=100):
    path = tmp_path / name
    path.write_bytes(b"\0" * size)
    return path


def test_find_report_beside_the_model(tmp_path):
    model = _model(tmp_path)
    assert find_report(model) is None
    ModelReport(kind="int8", model_name="m", size_bytes=100,
                outputs=[{"shape": [1, 10]}]).dump(tmp_path / "m.int8.tflite.report.json")
    found = find_report(model)
    assert found is not None and found.kind == "int8" and found.num_classes == 10
    ModelReport(kind="int8", model_name="first").dump(tmp_path / "m.int8.report.json")
    assert find_report(str(model)).model_name == "first"  # convert's name wins


def test_find_report_ignores_unreadable_and_other_files_reports(tmp_path, caplog):
    model = _model(tmp_path)
    (tmp_path / "m.int8.report.json").write_text("[]")
    with caplog.at_level(logging.WARNING, logger="ghostedge.model_report.report"):
        assert find_report(model) is None
    assert "ignoring the report beside m.int8.tflite" in caplog.text

    caplog.clear()
    ModelReport(kind="int8", model_name="m", size_bytes=99).dump(tmp_path / "m.int8.report.json")
    with caplog.at_level(logging.WARNING, logger="ghostedge.model_report.report"):
        assert find_report(model) is None
    assert "describes a file of 99 bytes, m.int8.tflite has 100" in caplog.text

    # a broken or stale first candidate does not hide a good second one
    ModelReport(kind="int8", model_name="ok", size_bytes=100).dump(
        tmp_path / "m.int8.tflite.report.json")
    assert find_report(model).model_name == "ok"


def test_find_report_without_size_or_model_file_accepts_the_report(tmp_path):
    ModelReport(kind="fp32", model_name="nosize").dump(tmp_path / "m.fp32.report.json")
    assert find_report(_model(tmp_path, "m.fp32.tflite")).model_name == "nosize"
    ModelReport(kind="fp16", model_name="gone", size_bytes=5).dump(tmp_path / "g.fp16.report.json")
    assert find_report(tmp_path / "g.fp16.tflite").model_name == "gone"


def test_add_section_rewrites_the_report(tmp_path):
    model = _model(tmp_path)
    assert add_section(model, "arm64", {"passed": True}) is None
    ModelReport(kind="int8", model_name="m", size_bytes=100).dump(tmp_path / "m.int8.report.json")
    assert add_section(model, "arm64", {"passed": True}) == tmp_path / "m.int8.report.json"
    assert load_report(tmp_path / "m.int8.report.json").sections == {"arm64": {"passed": True}}
    for core in ("kind", "op_total"):
        with pytest.raises(ValueError, match="core field"):
            add_section(model, core, 1)


def test_an_onnx_report_is_not_taken_for_a_tflite_of_the_same_stem(tmp_path, caplog):
    model = _model(tmp_path, "m.tflite")
    ModelReport(kind="onnx", model_name="m", size_bytes=100).dump(tmp_path / "m.report.json")
    with caplog.at_level(logging.WARNING, logger="ghostedge.model_report.report"):
        assert find_report(model) is None
    assert "describes a onnx artifact, not a .tflite file" in caplog.text
    onnx = _model(tmp_path, "m.onnx")
    assert find_report(onnx).kind == "onnx"


def test_add_section_writes_where_the_report_was_found(tmp_path):
    model = _model(tmp_path)
    (tmp_path / "m.int8.report.json").write_text("not json")          # broken first candidate
    ModelReport(kind="int8", model_name="second", size_bytes=100).dump(tmp_path / "m.int8.tflite.report.json")
    assert add_section(model, "arm64", {"passed": False}) == tmp_path / "m.int8.tflite.report.json"
    assert (tmp_path / "m.int8.report.json").read_text() == "not json"   # left as it was
    assert load_report(tmp_path / "m.int8.tflite.report.json").sections == {"arm64": {"passed": False}}
