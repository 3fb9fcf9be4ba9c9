"""Regenerate the tiny .tflite models of tests/armcheck (not GhostNet: they run in milliseconds
even under qemu). Needs tensorflow (the convert stack):

    .venv/bin/python tests/data/armcheck/make_models.py

tiny_check.fp32.tflite   float32 [1,32,32,3] raw pixels 0..255 -> /255 -> conv3x3(8)+relu ->
                         depthwise3x3+relu -> mean -> dense(20) -> softmax (app-ready layout)
tiny_check.fp16.tflite   the same graph with float16 weights (DEQUANTIZE ops, fp32 arithmetic)
tiny_check.int8.tflite   the same graph, full-integer, uint8 pixels in, uint8 probabilities out,
                         calibrated on seeded random pixels 0..255
tiny_check.custom_op.tflite  the fp32 model with its SOFTMAX replaced by the custom operator
                         "GhostEdgeNoSuchOp", which no TFLite runtime has a kernel for
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CUSTOM_OP = "GhostEdgeNoSuchOp"


def replace_op_with_custom(model_bytes: bytes, builtin_name: str, custom_name: str) -> bytes:
    """Rewrite the model flatbuffer: the operator code of ``builtin_name`` becomes a CUSTOM
    operator named ``custom_name`` (same inputs and outputs)."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model_bytes, 0))
    target = getattr(schema.BuiltinOperator, builtin_name)
    hits = 0
    for code in model.operatorCodes:
        if max(code.builtinCode, code.deprecatedBuiltinCode) == target:
            code.builtinCode = schema.BuiltinOperator.CUSTOM
            code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
            code.customCode = custom_name
            code.version = 1
            hits += 1
    if not hits:
        raise SystemExit(f"the model has no {builtin_name} operator")
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def main() -> None:
    import tensorflow as tf

    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    w1 = tf.constant(rng.normal(0, 0.5, (3, 3, 3, 8)).astype(np.float32))
    w2 = tf.constant(rng.normal(0, 0.5, (3, 3, 8, 1)).astype(np.float32))
    w3 = tf.constant(rng.normal(0, 1.0, (8, 20)).astype(np.float32))

    @tf.function(input_signature=[tf.TensorSpec([1, 32, 32, 3], tf.float32, name="image")])
    def tiny(image):
        y = tf.nn.relu(tf.nn.conv2d(image / 255.0, w1, 1, "SAME"))
        y = tf.nn.relu(tf.nn.depthwise_conv2d(y, w2, [1, 1, 1, 1], "SAME"))
        y = tf.reduce_mean(y, axis=[1, 2])
        return tf.nn.softmax(4.0 * tf.matmul(y, w3))

    concrete = tiny.get_concrete_function()

    def converter():
        return tf.lite.TFLiteConverter.from_concrete_functions([concrete], tiny)

    fp32 = converter().convert()
    (HERE / "tiny_check.fp32.tflite").write_bytes(fp32)

    conv = converter()
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    (HERE / "tiny_check.fp16.tflite").write_bytes(conv.convert())

    def representative():
        for _ in range(32):
            yield [rng.uniform(0, 255, (1, 32, 32, 3)).astype(np.float32)]

    conv = converter()
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.uint8
    conv.inference_output_type = tf.uint8
    (HERE / "tiny_check.int8.tflite").write_bytes(conv.convert())

    (HERE / "tiny_check.custom_op.tflite").write_bytes(replace_op_with_custom(fp32, "SOFTMAX", CUSTOM_OP))
    for path in sorted(HERE.glob("tiny_check.*.tflite")):
        print(path.name, path.stat().st_size)


if __name__ == "__main__":
    main()
