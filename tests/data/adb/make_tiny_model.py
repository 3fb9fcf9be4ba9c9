"""Regenerate tiny_fc.tflite (a 2-layer float32 MLP, input [1, 64], output [1, 10], fixed seed).

Run once with the convert stack: ``.venv/bin/python tests/data/adb/make_tiny_model.py``.
The tests only read the committed file (it is ours, Apache-2.0 like the project).
"""
from pathlib import Path


def main() -> None:
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    w1 = tf.constant(rng.standard_normal((64, 32)).astype("float32") * 0.1)
    w2 = tf.constant(rng.standard_normal((32, 10)).astype("float32") * 0.1)

    @tf.function(input_signature=[tf.TensorSpec([1, 64], tf.float32, name="input")])
    def mlp(x):
        return tf.nn.softmax(tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2))

    converter = tf.lite.TFLiteConverter.from_concrete_functions([mlp.get_concrete_function()], mlp)
    out = Path(__file__).with_name("tiny_fc.tflite")
    out.write_bytes(converter.convert())
    print(out, out.stat().st_size)


if __name__ == "__main__":
    main()
