"""Plan ordering, validation and model naming."""
from __future__ import annotations

import json

import pytest

from ghostedge.model_report import identity_for as model_identity
from ghostedge.model_report import identity_from_filename
from ghostedge.device_bench.plan import BenchModel, BenchPlan, describe_model, disambiguate
from ghostedge.errors import UsageError


def _model(name: str, precision: str = "fp32") -> BenchModel:
    return BenchModel(path=f"/m/{name}.{precision}.tflite", display_name=name, registry_name=None,
                      precision=precision, sha256="0" * 64, size_bytes=1000)


def test_plan_interleaves_repeats_over_all_cells():
    plan = BenchPlan([_model("a"), _model("b")], threads=[1, 2, 4], repeats=3)
    runs = plan.runs()
    assert len(runs) == 2 * 3 * 3
    assert [r.index for r in runs] == list(range(18))
    cells = [(r.model.display_name, r.threads) for r in runs]
    one_repeat = [("a", 1), ("a", 2), ("a", 4), ("b", 1), ("b", 2), ("b", 4)]
    assert cells == one_repeat * 3
    assert [r.repeat for r in runs] == [0] * 6 + [1] * 6 + [2] * 6


@pytest.mark.parametrize("kwargs, word", [
    ({"threads": [0]}, "--threads"), ({"threads": [1, 1]}, "repeated"), ({"threads": []}, "--threads"),
    ({"repeats": 0}, "--repeats"), ({"num_runs": 0}, "--num-runs"), ({"warmup_runs": -1}, "--warmup"),
    ({"min_secs": -1}, "--min-secs"), ({"warmup_min_secs": 500}, "--warmup-min-secs"),
])
def test_plan_refuses_bad_settings(kwargs, word):
    with pytest.raises(UsageError) as info:
        BenchPlan([_model("a")], **kwargs)
    assert word in str(info.value)


def test_plan_refuses_duplicate_rows_and_empty():
    with pytest.raises(UsageError, match="Nothing to benchmark"):
        BenchPlan([])
    twin = BenchModel(path="/other/a.fp32.tflite", display_name="a", registry_name=None, precision="fp32",
                        sha256="1" * 64, size_bytes=10)
    with pytest.raises(UsageError, match="share the table row"):
        BenchPlan([_model("a"), twin])
    named = disambiguate([_model("a"), twin, _model("b")])
    assert [m.label for m in named] == ["a [m/a.fp32] FP32", "a [other/a.fp32] FP32", "b FP32"]
    BenchPlan(named)
    with pytest.raises(UsageError, match="given more than once"):
        BenchPlan([_model("a"), _model("a")])
    # the message names the duplicated file only, not every model of the plan
    with pytest.raises(UsageError, match="given more than once") as err:
        BenchPlan([_model("a"), _model("b"), _model("a")])
    assert "a.fp32.tflite" in str(err.value) and "b.fp32.tflite" not in str(err.value)


@pytest.mark.parametrize("name, display, registry, precision", [
    ("ghostnet_100.int8.tflite", "GhostNet_x1_0", "ghostnet_100", "int8"),
    ("ghostnet_050.fp32.tflite", "GhostNet_x0_5", "ghostnet_050", "fp32"),
    ("ghostnet_130.fp16.tflite", "GhostNet_x1_3", "ghostnet_130", "fp16"),
    ("GhostNet_x1_0.tflite", "GhostNet_x1_0", "ghostnet_100", None),
    ("model_full_integer_quant.tflite", "model", None, "int8"),
    ("mobilenet.tflite", "mobilenet", None, None),
])
def test_names_from_file_names(tmp_path, name, display, registry, precision):
    ident = identity_from_filename(tmp_path / name)
    assert (ident.display_name, ident.registry_name, ident.precision) == (display, registry, precision)


def test_name_from_report_json_beside_the_model(tmp_path, tiny_models):
    renamed = tmp_path / "whatever.tflite"
    renamed.write_bytes(tiny_models[1].read_bytes())
    (tmp_path / "whatever.report.json").write_text(json.dumps(
        {"kind": "int8", "model_name": "ghostnet_130"}))
    ident = model_identity(renamed)
    assert (ident.display_name, ident.registry_name, ident.precision) == ("GhostNet_x1_3", "ghostnet_130",
                                                                          "int8")
    described = describe_model(renamed)
    assert described.label == "GhostNet_x1_3 INT8"
    assert described.size_bytes == renamed.stat().st_size and len(described.sha256) == 64


def test_unreadable_report_falls_back_to_file_name(tmp_path, tiny_models):
    model = tiny_models[0]
    (model.parent / "ghostnet_100.fp32.report.json").write_text("{not json")
    assert model_identity(model).display_name == "GhostNet_x1_0"
