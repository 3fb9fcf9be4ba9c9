"""ghostedge inspect: I/O, quantization, metadata, op counts, integer check, size and SHA-256."""
from __future__ import annotations

import hashlib
import json

from ghostedge.appexport.inspection import inspect


def inspect_tflite(path):
    return inspect(path).to_dict()
from ghostedge.cli.main import main


def test_int8_with_metadata(tiny_with_metadata):
    path = tiny_with_metadata["app_int8"]
    info = inspect_tflite(path)
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info["size_bytes"] == path.stat().st_size
    (inp,) = info["inputs"]
    assert inp["shape"] == [1, 64, 64, 3] and inp["dtype"] == "uint8" and inp["scale"] > 0
    assert info["outputs"][0]["dtype"] == "uint8"
    assert info["signatures"] == {"serving_default": {"inputs": ["image"], "outputs": ["probabilities"]}}
    assert info["fully_integer"] is True and info["float_ops"] == []
    assert "DELEGATE" not in info["ops"] and info["ops"]["CONV_2D"] == 1
    assert info["op_total"] == sum(info["ops"].values())
    meta = info["metadata"]
    assert info["has_metadata"] and meta["label_count"] == 10 and meta["first_labels"][0] == "tiny class 0"
    assert meta["inputs"][0]["normalization"] == {"mean": [0.0], "std": [1.0]}


def test_fp32_without_metadata_says_so(tiny, capsys):
    info = inspect_tflite(tiny["app_fp32"])
    assert info["has_metadata"] is False and info["metadata"] is None
    assert info["fully_integer"] is False and "CONV_2D" in info["float_ops"]
    assert main(["inspect", str(tiny["app_fp32"])]) == 0
    text = capsys.readouterr().out
    assert "metadata: none" in text and "fully integer: no" in text and info["sha256"] in text


def test_cli_json_and_human_with_metadata(tiny_with_metadata, capsys):
    assert main(["inspect", str(tiny_with_metadata["app_fp32"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["metadata"]["name"] == "tiny" and data["metadata"]["label_count"] == 10
    assert main(["inspect", str(tiny_with_metadata["app_fp32"])]) == 0
    text = capsys.readouterr().out
    assert "labels: 10" in text and "mean [0.0] std [1.0]" in text and "signature serving_default" in text


def test_not_a_model_is_one_line_error(tmp_path, capsys):
    junk = tmp_path / "x.tflite"
    junk.write_text("nope")
    assert main(["inspect", str(junk)]) == 1
    assert capsys.readouterr().err.strip().startswith("error: ")
    assert main(["inspect", str(tmp_path / "missing.tflite")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_arm_check_rows_say_failed_or_reported():
    from ghostedge.appexport.inspection import _arm_lines

    section = {"arch": "arm64", "passed": True, "checked_at": "2026-12-05", "rule": "r", "rows": [
        {"core": "cortex-a76", "threads": 1, "runtime": "LiteRT 2.1.0", "mode": "default", "load_ok": True,
         "max_abs_diff": 0.0039, "passed": True, "problem": None},
        {"core": "cortex-a76", "threads": 1, "runtime": "tflite-runtime 2.14.0", "mode": "default", "load_ok": True,
         "max_abs_diff": 0.113, "passed": None, "problem": "29 steps"},
        {"core": "cortex-a53", "threads": 2, "runtime": "LiteRT 2.1.0", "mode": "default", "load_ok": True,
         "max_abs_diff": 0.5, "passed": False, "problem": "too far"}]}
    rows = [line for line in _arm_lines(section) if line.startswith("  cortex")]
    assert rows[0].endswith("max diff 0.0039")
    assert rows[1].endswith("max diff 0.113  (differs; reported, not a failure)")
    assert rows[2].endswith("max diff 0.5  (fails)")
