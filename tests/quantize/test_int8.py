"""quantize_int8 on a tiny hand-built TensorFlow SavedModel (normalization, conv, depthwise,
mean, matmul, softmax): every I/O type is fully integer, the check rejects the float model, and
the fidelity report matches the layers of the FP32 twin."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ghostedge.errors import QuantizationError
from ghostedge.quantize.check import assert_fully_integer
from ghostedge.quantize.fidelity import compare_int8, format_layer_table
from ghostedge.quantize.int8 import quantize_int8

SIZE = 32


def _saved_model(folder: Path) -> Path:
    import tensorflow as tf

    rng = np.random.default_rng(0)

    class Tiny(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = tf.constant(rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32))
            self.dw = tf.constant(rng.normal(0, 0.3, (3, 3, 8, 1)).astype(np.float32))
            self.fc = tf.constant(rng.normal(0, 0.5, (8, 5)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([1, SIZE, SIZE, 3], tf.float32, name="image")])
        def __call__(self, image):
            x = (image - tf.constant([123.7, 116.3, 103.5])) * tf.constant([0.0171, 0.0175, 0.0174])
            x = tf.nn.relu(tf.nn.conv2d(x, self.conv, 1, "SAME"))
            x = tf.nn.relu(tf.nn.depthwise_conv2d(x, self.dw, [1, 1, 1, 1], "SAME"))
            x = tf.reduce_mean(x, axis=[1, 2])
            return {"probabilities": tf.nn.softmax(tf.matmul(x, self.fc))}

    module = Tiny()
    tf.saved_model.save(module, str(folder), signatures=module.__call__.get_concrete_function())
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import tensorflow as tf

    root = tmp_path_factory.mktemp("tiny_tf")
    saved = _saved_model(root / "saved_model")
    fp32 = root / "tiny.fp32.tflite"
    fp32.write_bytes(tf.lite.TFLiteConverter.from_saved_model(str(saved)).convert())
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (24, SIZE, SIZE, 3), dtype=np.uint8)
    return {"saved": saved, "fp32": fp32, "calibration": pixels[:16], "heldout": pixels[16:], "root": root}


@pytest.mark.slow
@pytest.mark.parametrize("io", ["uint8", "int8", "float32"])
def test_every_io_type_is_fully_integer(tiny, io):
    data = quantize_int8(tiny["saved"], tiny["calibration"], io=io)
    path = tiny["root"] / f"tiny.{io}.int8.tflite"
    path.write_bytes(data)
    summary = assert_fully_integer(path)
    assert summary["io"] == {"input": [io], "output": [io]}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "FULLY_CONNECTED", "SOFTMAX"} <= set(summary["ops"])
    assert summary["per_channel_tensors"] >= 1                 # per-channel conv weights
    if io == "uint8":
        assert summary["inputs"][0]["scale"] == pytest.approx(1.0, rel=0.01)   # raw pixels 0..255
    if io == "float32":
        assert len(summary["float_boundary_ops"]) == 2


@pytest.mark.slow
def test_float_model_is_refused_and_fidelity_points_at_layers(tiny):
    with pytest.raises(QuantizationError, match="not a full-integer"):
        assert_fully_integer(tiny["fp32"])
    int8 = tiny["root"] / "tiny.int8.tflite"
    int8.write_bytes(quantize_int8(tiny["saved"], tiny["calibration"]))
    report = compare_int8(tiny["fp32"], int8, tiny["heldout"])
    assert report["images"] == 8 and 0.0 <= report["top1_agreement"] <= 1.0
    assert report["cosine_mean"] > 0.9
    ops = {row["op"] for row in report["layers"]}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"} <= ops
    table = format_layer_table(report["layers"])
    assert "| 1 |" in table


def test_bad_arguments_fail_before_tensorflow(tmp_path):
    pixels = np.zeros((2, SIZE, SIZE, 3), np.uint8)
    with pytest.raises(QuantizationError, match="No TensorFlow SavedModel"):
        quantize_int8(tmp_path, pixels)
    (tmp_path / "saved_model.pb").write_bytes(b"")
    with pytest.raises(QuantizationError, match="Unknown INT8 I/O type"):
        quantize_int8(tmp_path, pixels, io="int4")
    with pytest.raises(QuantizationError, match="wrong layout"):
        quantize_int8(tmp_path, np.zeros((0, SIZE, SIZE, 3), np.uint8))


@pytest.mark.slow
def test_calibration_size_must_fit_the_model(tiny):
    with pytest.raises(QuantizationError, match="do not fit the model input"):
        quantize_int8(tiny["saved"], np.zeros((2, 64, 64, 3), np.uint8))


@pytest.mark.slow
def test_parallel_calibration_gives_the_identical_model(tiny, caplog):
    """Two processes, each calibrating half, then min/max merged: bit-identical to one pass."""
    import logging

    pixels = np.random.default_rng(2).integers(0, 256, (70, SIZE, SIZE, 3), dtype=np.uint8)
    with caplog.at_level(logging.INFO, logger="ghostedge"):
        parallel = quantize_int8(tiny["saved"], pixels, parallel=True)
    assert any("INT8 calibration: parallel" in r.getMessage() for r in caplog.records)
    single = quantize_int8(tiny["saved"], pixels, parallel=False)
    assert parallel == single
    half = quantize_int8(tiny["saved"], pixels[:35], parallel=False)
    assert half != single          # the second half's ranges really were used
