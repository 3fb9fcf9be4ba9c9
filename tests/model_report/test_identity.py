"""A model's identity in tables: precision spellings, names read from file names and reports,
labels, and labels made distinct when several files share one."""
from __future__ import annotations

import pytest

from ghostedge.model_report import (ModelIdentity, ModelReport, distinct_labels, identity_for,
                                    identity_from_filename, precision_of, report_identity)


@pytest.mark.parametrize("text, expected", [
    ("fp32", "fp32"), ("float32", "fp32"), ("F32", "fp32"), (" Float32 ", "fp32"),
    ("fp16", "fp16"), ("float16", "fp16"), ("f16", "fp16"),
    ("int8", "int8"), ("I8", "int8"), ("uint8", "int8"), ("full_integer_quant", "int8"),
    ("integer_quant", "int8"),
    ("int16", None), ("dynamic_range_quant", None), ("", None), ("tflite", None),
    (None, None), (8, None), (b"int8", None), (["int8"], None),
])
def test_precision_of(text, expected):
    assert precision_of(text) == expected


@pytest.mark.parametrize("name, expected", [
    ("ghostnet_100.int8.tflite", ("GhostNet_x1_0", "ghostnet_100", "int8")),
    ("runs/a/ghostnet_050.fp16.tflite", ("GhostNet_x0_5", "ghostnet_050", "fp16")),
    ("ghostnet_130.onnx", ("GhostNet_x1_3", "ghostnet_130", None)),
    ("ghostnet_100.tflite", ("GhostNet_x1_0", "ghostnet_100", None)),
    ("paddle_ghostnet_x1_0.float32.tflite", ("GhostNet_x1_0", "paddle_ghostnet_x1_0", "fp32")),
    ("GhostNet_x1_3.int8.tflite", ("GhostNet_x1_3", "ghostnet_130", "int8")),  # table name: timm
    ("ghostnet_100_full_integer_quant.tflite", ("GhostNet_x1_0", "ghostnet_100", "int8")),
    ("model_float32.tflite", ("model", None, "fp32")),
    ("my-net-fp16.tflite", ("my-net", None, "fp16")),
    ("my_model.v2.tflite", ("my_model.v2", None, None)),
    ("a_b_int8.tflite", ("a_b", None, "int8")),
    ("model_fp32.int8.tflite", ("model_fp32", None, "int8")),  # the dotted kind wins
    ("int8.tflite", ("int8", None, None)),
    ("weights", ("weights", None, None)),
])
def test_identity_from_filename(name, expected):
    ident = identity_from_filename(name)
    assert (ident.display_name, ident.registry_name, ident.precision) == expected
    assert ident.reference is None and ident.num_classes is None


def test_label_with_and_without_precision():
    assert ModelIdentity("GhostNet_x1_0", "ghostnet_100", "int8").label == "GhostNet_x1_0 INT8"
    assert ModelIdentity("GhostNet_x1_0", "ghostnet_100", None).label == "GhostNet_x1_0"
    assert identity_from_filename("ghostnet_130.fp16.tflite").label == "GhostNet_x1_3 FP16"


def test_identity_equality_ignores_reference_and_classes():
    a = ModelIdentity("X", None, "fp32", {"top1": 0.5}, 10)
    assert a == ModelIdentity("X", None, "fp32")
    assert a != ModelIdentity("X", None, "fp16")
    assert a.to_dict() == {"display_name": "X", "registry_name": None, "precision": "fp32",
                           "reference": {"top1": 0.5}, "num_classes": 10}


def test_distinct_labels_bracket_only_colliding_entries_with_files(tmp_path):
    a = tmp_path / "runA" / "ghostnet_100.int8.tflite"
    b = tmp_path / "runB" / "ghostnet_100.int8.tflite"
    c = tmp_path / "runA" / "ghostnet_100.onnx"
    labels = ["GhostNet_x1_0 INT8", "GhostNet_x1_0 INT8", "GhostNet_x1_0", "GhostNet_x1_0 INT8"]
    assert distinct_labels(labels, [a, str(b), c, None]) == [
        "GhostNet_x1_0 INT8 [runA/ghostnet_100.int8]", "GhostNet_x1_0 INT8 [runB/ghostnet_100.int8]",
        "GhostNet_x1_0", "GhostNet_x1_0 INT8"]
    assert distinct_labels(["A", "B"], [a, b]) == ["A", "B"]
    assert distinct_labels(["A", "A"], [tmp_path / "m.onnx", None]) == [
        f"A [{tmp_path.name}/m.onnx]", "A"]
    assert distinct_labels([], []) == []


def test_distinct_labels_go_deeper_until_the_files_differ(tmp_path):
    a = tmp_path / "x" / "run" / "m.int8.tflite"
    b = tmp_path / "y" / "run" / "m.int8.tflite"
    assert distinct_labels(["L", "L"], [a, b]) == ["L [x/run/m.int8]", "L [y/run/m.int8]"]
    onnx, tfl = tmp_path / "d" / "m.int8.onnx", tmp_path / "d" / "m.int8.tflite"
    assert distinct_labels(["L", "L"], [onnx, tfl]) == ["L [d/m.int8.onnx]", "L [d/m.int8]"]
    assert distinct_labels(["L", "L"], [a, a]) == ["L [run/m.int8]"] * 2     # the same file twice


def _report_beside(model, **fields):
    ModelReport(**fields).dump(model.parent / (model.name[:-len(".tflite")] + ".report.json"))


def test_identity_for_without_a_report_reads_the_file_name(tmp_path):
    model = tmp_path / "ghostnet_100.int8.tflite"
    model.write_bytes(b"x")
    ident = identity_for(model)
    assert (ident.display_name, ident.registry_name, ident.precision) == (
        "GhostNet_x1_0", "ghostnet_100", "int8")
    assert ident.reference is None and ident.num_classes is None


def test_identity_for_prefers_the_report_beside_the_file(tmp_path):
    model = tmp_path / "renamed.fp16.tflite"
    model.write_bytes(b"x" * 7)
    _report_beside(model, kind="fp16", model_name="paddle_ghostnet_x1_3", size_bytes=7,
                   display_name="GhostNet_x1_3_ssld", reference={"top1": 0.79},
                   outputs=[{"shape": [1, 1000]}])
    ident = identity_for(model)
    assert (ident.display_name, ident.registry_name, ident.precision) == (
        "GhostNet_x1_3_ssld", "paddle_ghostnet_x1_3", "fp16")
    assert ident.reference == {"top1": 0.79} and ident.num_classes == 1000
    assert ident.label == "GhostNet_x1_3_ssld FP16"


def test_identity_for_fills_gaps_of_the_report_from_the_file_name(tmp_path):
    model = tmp_path / "ghostnet_100.int8.tflite"
    model.write_bytes(b"x")
    # an ONNX-kind report (no precision) of an unregistered name: name and precision from the file
    report = ModelReport(kind="onnx", model_name="custom")
    ident = identity_for(model, report)
    assert (ident.display_name, ident.registry_name, ident.precision) == (
        "custom", "ghostnet_100", "int8")
    assert ident.reference is None


def test_identity_for_ignores_a_report_of_another_file(tmp_path):
    model = tmp_path / "ghostnet_050.int8.tflite"
    model.write_bytes(b"x" * 3)
    _report_beside(model, kind="int8", model_name="ghostnet_130", size_bytes=999)
    assert identity_for(model).display_name == "GhostNet_x0_5"


def test_report_identity_uses_registry_and_0_1_source_fields():
    reg = report_identity(ModelReport(kind="int8", model_name="ghostnet_100"))
    assert (reg.display_name, reg.registry_name, reg.precision) == (
        "GhostNet_x1_0", "ghostnet_100", "int8")
    assert reg.reference["top1"] == 0.7398
    old = report_identity(ModelReport.from_dict({
        "kind": "fp32", "model_name": "ghostnet_130",
        "source": {"display_name": "Old_Name", "reference": {"top1": 0.1}}}))
    assert (old.display_name, old.reference) == ("Old_Name", {"top1": 0.1})
    bare = report_identity(ModelReport(kind="onnx", model_name="tiny"))
    assert (bare.display_name, bare.registry_name, bare.precision, bare.reference) == (
        "tiny", None, None, None)
