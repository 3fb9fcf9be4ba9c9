"""The full-integer check on hand-built flatbuffers: integer models pass, float ops fail by name,
float I/O is allowed only as QUANTIZE/DEQUANTIZE at the model's boundary."""
from __future__ import annotations

import numpy as np
import pytest

from ghostedge.errors import GhostEdgeError, QuantizationError
from ghostedge.quantize.check import assert_fully_integer, integer_report
from quantize.tiny_tflite import build_classifier

W = np.eye(3)


def test_full_integer_model_passes_with_uint8_io(tmp_path):
    summary = assert_fully_integer(build_classifier(tmp_path / "m.tflite", W, mode="int8"))
    assert summary["fully_integer"] is True
    assert summary["io"] == {"input": ["uint8"], "output": ["uint8"]}
    assert summary["ops"] == {"QUANTIZE": 2, "FULLY_CONNECTED": 1, "MEAN": 1, "SOFTMAX": 1}
    assert summary["operators"] == 5 and summary["float_boundary_ops"] == []
    assert summary["inputs"][0]["scale"] == 1.0 and summary["inputs"][0]["zero_point"] == 0
    assert summary["outputs"][0]["scale"] == pytest.approx(1 / 256)
    assert "float32" not in summary["tensor_dtypes"]


def test_float_io_allows_only_boundary_quantize_dequantize(tmp_path):
    summary = assert_fully_integer(build_classifier(tmp_path / "m.tflite", W, mode="float_io"))
    assert summary["io"] == {"input": ["float32"], "output": ["float32"]}
    assert len(summary["float_boundary_ops"]) == 2


def test_float_model_fails_naming_the_float_ops(tmp_path):
    path = build_classifier(tmp_path / "m.fp32.tflite", W, mode="float")
    with pytest.raises(QuantizationError) as info:
        assert_fully_integer(path)
    message = str(info.value)
    assert "is not a full-integer INT8 model" in message
    assert "3 operators use float tensors" in message and "MEAN" in message and "SOFTMAX" in message
    assert "\n" not in message


def test_internal_dequantize_is_a_float_fallback(tmp_path):
    path = build_classifier(tmp_path / "m.tflite", W, mode="hybrid")
    summary, violations = integer_report(path)
    assert not summary["fully_integer"]
    assert any(v.startswith("DEQUANTIZE") for v in violations)
    assert any(v.startswith("FULLY_CONNECTED") for v in violations)
    with pytest.raises(QuantizationError, match="DEQUANTIZE"):
        assert_fully_integer(path)


def test_not_a_tflite_file(tmp_path):
    bogus = tmp_path / "model.tflite"
    bogus.write_bytes(b"PK\x03\x04 a zip, not a flatbuffer")
    with pytest.raises(GhostEdgeError, match="is not a .tflite model"):
        assert_fully_integer(bogus)
    with pytest.raises(GhostEdgeError, match="does not exist"):
        assert_fully_integer(tmp_path / "absent.tflite")
