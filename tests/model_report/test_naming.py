"""Output naming of a conversion: model and report file names per kind, stale files, and where a
model's report may lie."""
from __future__ import annotations

from pathlib import Path

import pytest

from ghostedge.model_report import KINDS, ArtifactNames, report_candidates


def test_kinds_are_the_four_artifacts_in_order():
    assert KINDS == ("onnx", "fp32", "fp16", "int8")


@pytest.mark.parametrize("kind, model, report", [
    ("onnx", "ghostnet_100.onnx", "ghostnet_100.onnx.report.json"),
    ("fp32", "ghostnet_100.fp32.tflite", "ghostnet_100.fp32.report.json"),
    ("fp16", "ghostnet_100.fp16.tflite", "ghostnet_100.fp16.report.json"),
    ("int8", "ghostnet_100.int8.tflite", "ghostnet_100.int8.report.json"),
])
def test_model_and_report_names_per_kind(tmp_path, kind, model, report):
    names = ArtifactNames(tmp_path / "out", "ghostnet_100")
    assert names.model(kind) == tmp_path / "out" / model
    assert names.report(kind) == tmp_path / "out" / report


def test_output_dir_given_as_str_gives_paths():
    names = ArtifactNames("out", "m")  # type: ignore[arg-type]
    assert names.model("fp16") == Path("out/m.fp16.tflite")
    assert names.report("onnx") == Path("out/m.onnx.report.json")


@pytest.mark.parametrize("kind", ["tflite", "FP32", "", "int16"])
def test_unknown_kind_is_refused(tmp_path, kind):
    names = ArtifactNames(tmp_path, "m")
    with pytest.raises(ValueError, match="unknown artifact kind"):
        names.model(kind)
    with pytest.raises(ValueError, match="unknown artifact kind"):
        names.report(kind)


@pytest.mark.parametrize("fp16, int8, expected", [
    (False, False, ["onnx", "fp32"]),
    (True, False, ["onnx", "fp32", "fp16"]),
    (False, True, ["onnx", "fp32", "int8"]),
    (True, True, ["onnx", "fp32", "fp16", "int8"]),
])
def test_kinds_and_planned_files(tmp_path, fp16, int8, expected):
    names = ArtifactNames(tmp_path, "m")
    assert names.kinds(fp16, int8) == expected
    planned = names.planned(fp16, int8)
    assert list(planned) == expected
    assert {k: p.name for k, p in planned.items()} == {
        k: ("m.onnx" if k == "onnx" else f"m.{k}.tflite") for k in expected}


def test_stale_lists_only_unrequested_fp16_int8_files(tmp_path):
    names = ArtifactNames(tmp_path, "m")
    for kind in KINDS:
        names.model(kind).write_bytes(b"x")
        names.report(kind).write_text("{}")
    (tmp_path / "other.int8.tflite").write_bytes(b"x")

    assert names.stale(fp16=True, int8=True) == []
    assert names.stale(fp16=True, int8=False) == [tmp_path / "m.int8.tflite",
                                                   tmp_path / "m.int8.report.json"]
    assert names.stale(fp16=False, int8=False) == [
        tmp_path / "m.fp16.tflite", tmp_path / "m.fp16.report.json",
        tmp_path / "m.int8.tflite", tmp_path / "m.int8.report.json"]


def test_stale_counts_a_dangling_symlink_and_skips_missing_files(tmp_path):
    names = ArtifactNames(tmp_path, "m")
    names.model("fp16").symlink_to(tmp_path / "gone.tflite")
    assert names.stale(fp16=False, int8=False) == [tmp_path / "m.fp16.tflite"]
    assert ArtifactNames(tmp_path / "empty", "m").stale(fp16=False, int8=False) == []


def test_names_are_frozen(tmp_path):
    names = ArtifactNames(tmp_path, "m")
    with pytest.raises(AttributeError):
        names.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("model, expected", [
    ("d/x.int8.tflite", ["d/x.int8.report.json", "d/x.int8.tflite.report.json"]),
    ("d/x.fp16.tflite", ["d/x.fp16.report.json", "d/x.fp16.tflite.report.json"]),
    ("d/x.tflite", ["d/x.report.json", "d/x.tflite.report.json"]),
    ("d/x.onnx", ["d/x.report.json", "d/x.onnx.report.json"]),
    ("d/x", ["d/x.report.json"]),                      # no suffix: one candidate, not the same twice
])
def test_report_candidates_order(model, expected):
    assert report_candidates(model) == [Path(p) for p in expected]
    assert report_candidates(Path(model)) == [Path(p) for p in expected]


def test_every_report_convert_writes_is_a_candidate_of_its_model(tmp_path):
    names = ArtifactNames(tmp_path, "ghostnet_100")
    for kind in KINDS:
        assert names.report(kind) in report_candidates(names.model(kind))
    # .tflite kinds: what convert writes is the first place looked at
    for kind in ("fp32", "fp16", "int8"):
        assert report_candidates(names.model(kind))[0] == names.report(kind)
