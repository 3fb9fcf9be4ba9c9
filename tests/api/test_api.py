"""The Python API: ``ghostedge.<function>`` returns typed results whose ``to_dict()`` is exactly what
the CLI's ``--json`` prints, and the package stays importable without torch/TensorFlow."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import ghostedge
from ghostedge.cli.main import main

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture()
def tiny_app(tmp_path) -> Path:
    """The tiny app-ready float model with TFLite metadata and labels."""
    from ghostedge.tflite.metadata import add_metadata

    src = (DATA / "appexport" / "tiny_app.fp32.tflite").read_bytes()
    path = tmp_path / "tiny.fp32.tflite"
    path.write_bytes(add_metadata(src, name="tiny", labels=[f"tiny class {i}" for i in range(10)],
                                  input_dtype="float32", app_ready=True, version="0.1",
                                  description="tiny test classifier"))
    return path


def _cli_json(capsys, *argv) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_public_names():
    for name in ("convert", "evaluate", "predict", "inspect", "bench", "check", "devices", "list_models"):
        assert callable(getattr(ghostedge, name)), name
    assert ghostedge.GhostEdgeError is ghostedge.errors.GhostEdgeError
    with pytest.raises(AttributeError):
        ghostedge.no_such_function


def test_convert_is_the_package_and_the_function():
    import inspect

    import ghostedge.convert as package

    assert ghostedge.convert is package and callable(package)
    params = inspect.signature(ghostedge.convert).parameters
    assert {"model", "weights", "fp16", "int8", "calib", "output", "check_arm64"} <= set(params)


def test_inspect_result_is_the_cli_json(tiny_app, capsys):
    info = ghostedge.inspect(tiny_app)
    assert info.fully_integer is False and info.metadata["label_count"] == 10
    assert json.loads(json.dumps(info.to_dict())) == _cli_json(capsys, "inspect", str(tiny_app))


def test_predict_is_a_list_of_label_probability_pairs(tiny_app, capsys):
    from ghostedge.data.preprocess import bundled_photos

    photo = bundled_photos()[0]
    result = ghostedge.predict(photo, tiny_app, top_k=3)
    (first,) = result
    assert len(first) == 3 and all(isinstance(label, str) and 0 <= p <= 1 for label, p in first)
    assert first[0].label.startswith("tiny class") and first[0] == (first[0].label, first[0].probability)
    assert sum(p for _, p in ghostedge.predict(photo, tiny_app, top_k=10)[0]) == pytest.approx(1.0, abs=1e-5)
    assert result.to_dict() == _cli_json(capsys, "predict", str(photo), "--model", str(tiny_app), "--top", "3")


def test_list_models_is_the_cli_json(capsys, tmp_path):
    catalog = ghostedge.list_models(cache_dir=tmp_path)
    assert {m["name"] for m in catalog.models} >= {"ghostnet_050", "ghostnet_100", "ghostnet_130"}
    assert catalog.to_dict() == _cli_json(capsys, "models", "--cache-dir", str(tmp_path))


def test_bench_local_returns_a_session(tmp_path, capsys):
    src = DATA / "device_bench" / "tiny_conv.fp32.tflite"
    model = tmp_path / "tiny_conv.fp32.tflite"
    shutil.copy(src, model)
    session = ghostedge.bench([model], device="local", threads=(1,), repeats=1, num_runs=3, min_secs=0,
                              warmup_runs=1, warmup_min_secs=0, output=tmp_path / "b")
    assert (tmp_path / "b" / "results.jsonl").is_file() and session.files["results"].is_file()
    (row,) = session.summary["rows"]
    assert row["cells"]["1"] is not None
    data = session.to_dict()
    assert data["files"]["table"].endswith("table.md") and json.loads(json.dumps(data))


def test_api_errors_are_the_one_error_tree(tmp_path):
    with pytest.raises(ghostedge.GhostEdgeError, match="does not exist"):
        ghostedge.inspect(tmp_path / "missing.tflite")
    with pytest.raises(ghostedge.GhostEdgeError, match="--top 0"):
        ghostedge.predict(tmp_path / "x.png", tmp_path / "m.tflite", top_k=0)
    with pytest.raises(ghostedge.GhostEdgeError, match="Unknown INT8 I/O"):
        ghostedge.Int8Options(io="int4")
