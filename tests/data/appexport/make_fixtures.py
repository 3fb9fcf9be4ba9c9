"""Regenerate the small .tflite fixtures of tests/appexport (run with the project's .venv python).

Tiny image classifiers written by TensorFlow's converter (no metadata), deterministic weights:
- tiny_app.fp32.tflite: float32 [1,64,64,3] raw pixels -> probabilities [1,10] (softmax), app-ready
- tiny_bare.fp32.tflite: float32 [1,64,64,3] normalized input -> logits [1,10]
- tiny_app.int8.tflite: full-integer, uint8 raw-pixel input, uint8 probabilities output
- not_image.tflite: float32 [1,16] -> [1,10]: a model whose input is not an image
Signature "serving_default", input "image", output "probabilities" (or "logits").
These files are ghostedge's own test data (Apache-2.0, like the project).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def _weights(seed: int = 0):
    rng = np.random.default_rng(seed)
    conv = rng.normal(0, 0.5, (3, 3, 3, 16)).astype(np.float32)
    dense = rng.normal(0, 1.0, (16, 10)).astype(np.float32) * 0.4  # probabilities spread over several classes
    return conv, dense


def _module(app_ready: bool):
    import tensorflow as tf

    conv, dense = _weights()

    class Tiny(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 64, 64, 3], tf.float32, name="image")])
        def serve(self, image):
            x = (image / 255.0 - MEAN) / STD if app_ready else image
            x = tf.nn.relu(tf.nn.conv2d(x, conv, strides=2, padding="SAME"))
            x = tf.reduce_mean(x, axis=[1, 2])
            logits = tf.matmul(x, dense)
            if app_ready:
                return {"probabilities": tf.nn.softmax(logits)}
            return {"logits": logits}

    return Tiny()


def _not_image():
    import tensorflow as tf

    w = np.random.default_rng(1).normal(0, 1, (16, 10)).astype(np.float32)

    class Flat(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 16], tf.float32, name="features")])
        def serve(self, features):
            return {"probabilities": tf.nn.softmax(tf.matmul(features, w))}

    return Flat()


def _convert(module, int8: bool = False) -> bytes:
    import tensorflow as tf

    fn = module.serve.get_concrete_function()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn], module)
    if int8:
        rng = np.random.default_rng(2)

        def representative():
            for _ in range(16):
                yield {"image": rng.uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)}

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.uint8
        conv.inference_output_type = tf.uint8
    return conv.convert()


def main() -> int:
    (HERE / "tiny_app.fp32.tflite").write_bytes(_convert(_module(True)))
    (HERE / "tiny_bare.fp32.tflite").write_bytes(_convert(_module(False)))
    (HERE / "tiny_app.int8.tflite").write_bytes(_convert(_module(True), int8=True))
    (HERE / "not_image.tflite").write_bytes(_convert(_not_image()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
