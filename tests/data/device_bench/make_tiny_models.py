"""Regenerate the two tiny .tflite models used by tests/device_bench (not GhostNet: fast to run).

tiny_conv.fp32.tflite: float32 [1,32,32,3] -> conv3x3(8) -> relu -> depthwise3x3 -> mean -> dense(10)
tiny_conv.int8.tflite: the same graph, full-integer quantized (uint8 I/O) on random calibration data.
Written by ghostedge's authors for its tests (Apache-2.0, like the project). Needs tensorflow:
    .venv/bin/python tests/data/device_bench/make_tiny_models.py
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    import tensorflow as tf

    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    w1 = tf.constant(rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32))
    w2 = tf.constant(rng.normal(0, 0.3, (3, 3, 8, 1)).astype(np.float32))
    w3 = tf.constant(rng.normal(0, 0.3, (8, 10)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 32, 32, 3], tf.float32)])
    def tiny(x):
        y = tf.nn.relu(tf.nn.conv2d(x, w1, 1, "SAME"))
        y = tf.nn.relu(tf.nn.depthwise_conv2d(y, w2, [1, 1, 1, 1], "SAME"))
        y = tf.reduce_mean(y, axis=[1, 2])
        return tf.nn.softmax(tf.matmul(y, w3))

    concrete = tiny.get_concrete_function()
    fp32 = tf.lite.TFLiteConverter.from_concrete_functions([concrete], tiny).convert()
    (HERE / "tiny_conv.fp32.tflite").write_bytes(fp32)

    def representative():
        for _ in range(8):
            yield [rng.random((1, 32, 32, 3), dtype=np.float32)]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete], tiny)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.uint8
    (HERE / "tiny_conv.int8.tflite").write_bytes(conv.convert())


if __name__ == "__main__":
    main()
