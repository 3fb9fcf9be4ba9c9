"""Post-training full-integer INT8 quantization of an onnx2tf SavedModel with TFLiteConverter.

Per-channel weights, every operator integer (``TFLITE_BUILTINS_INT8`` only, no float fallback),
calibrated on raw-pixel images (float32 0..255 NHWC; the normalization lives in the graph).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Iterator, List, Optional

import numpy as np

from ghostedge.data.preprocess import Preprocessing
from ghostedge.errors import QuantizationError
from ghostedge.quantize.batches import representative_batches
from ghostedge.quantize.options import IO_TYPES

log = logging.getLogger(__name__)


def _check_inputs(saved_model_dir: Path, pixels: np.ndarray, io: str) -> None:
    if io not in IO_TYPES:
        raise QuantizationError(f"Unknown INT8 I/O type {io!r}", f"choose one of {', '.join(IO_TYPES)}",
                                "Pass --int8-io uint8 (app-friendly), int8 or float32")
    if not (Path(saved_model_dir) / "saved_model.pb").is_file():
        raise QuantizationError(f"No TensorFlow SavedModel in {saved_model_dir}",
                                "saved_model.pb is missing (onnx2tf writes it beside its .tflite files)",
                                "Run the FP32 conversion first; INT8 is quantized from its SavedModel")
    if pixels.ndim != 4 or pixels.shape[-1] != 3 or len(pixels) == 0:
        raise QuantizationError("Calibration images have the wrong layout",
                                f"expected a non-empty NHWC RGB batch, got shape {tuple(pixels.shape)}",
                                "Build the calibration set with ghostedge.quantize.calibration")


def _saved_model_input_shape(saved_model_dir: Path) -> List[int]:
    """Static input shape of the SavedModel's serving_default signature (single input)."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(saved_model_dir))
    fn = loaded.signatures.get("serving_default") if hasattr(loaded, "signatures") else None
    if fn is None:
        raise QuantizationError(f"SavedModel {saved_model_dir} has no serving_default signature",
                                "TFLiteConverter needs one signature to quantize",
                                "Convert again with ghostedge convert (it asks onnx2tf for signatures)")
    specs = list(fn.structured_input_signature[1].values())
    if len(specs) != 1:
        raise QuantizationError("INT8 needs a model with exactly one input", f"found {len(specs)} inputs")
    return [int(d) if d is not None else -1 for d in specs[0].shape]


def quantize_int8(saved_model_dir: Path, calibration: Any, io: str = "uint8",
                  normalize_with: Optional[Preprocessing] = None, parallel: bool = True) -> bytes:
    """Quantize ``saved_model_dir`` to a full-integer INT8 TFLite flatbuffer (bytes).

    ``calibration`` is a :class:`~ghostedge.quantize.calibration.CalibrationSet` (its ``.pixels``,
    uint8 NHWC raw pixels after the FP32 path's preprocessing) or a bare NHWC array. ``io`` sets
    the input and output type: ``uint8`` (default; what MediaPipe / the Task Library accept),
    ``int8``, or ``float32`` (float I/O, integer inside). ``normalize_with``: the preprocessing
    to apply to the pixels when the SavedModel takes normalized input (``--bare`` exports).
    ``parallel``: calibrate half of the images in a second process (identical statistics; see
    :mod:`ghostedge.quantize.parallel_calibration`).
    """
    saved_model_dir = Path(saved_model_dir)
    pixels = np.asarray(getattr(calibration, "pixels", calibration))
    _check_inputs(saved_model_dir, pixels, io)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    shape = _saved_model_input_shape(saved_model_dir)
    if len(shape) != 4 or shape[-1] != 3 or list(shape[1:3]) != list(pixels.shape[1:3]):
        raise QuantizationError(
            "Calibration images do not fit the model input",
            f"model input is {shape} (NHWC), calibration crops are {list(pixels.shape[1:])}",
            "Build the calibration set with the same --image-size as the conversion")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: representative_batches(pixels, normalize_with)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter._experimental_disable_per_channel = False  # per-channel weights (the default; be explicit)
    io_type = {"uint8": tf.uint8, "int8": tf.int8, "float32": tf.float32}[io]
    converter.inference_input_type = io_type
    converter.inference_output_type = io_type
    log.info("Quantizing %s to full-integer INT8 (%s I/O) with %d calibration images",
             saved_model_dir, io, len(pixels))
    try:
        if parallel:
            from ghostedge.quantize.parallel_calibration import parallel_calibration

            def bar(part: np.ndarray) -> Iterator[List[np.ndarray]]:
                return representative_batches(part, normalize_with)

            with parallel_calibration(pixels, normalize_with, bar) as used:
                model = converter.convert()
            log.info("INT8 calibration: %s", used["path"])
        else:
            model = converter.convert()
    except Exception as exc:  # TF raises ConverterError, RuntimeError, ValueError...
        lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
        raise QuantizationError(
            "Full-integer INT8 quantization failed", lines[-1] if lines else type(exc).__name__,
            "Rerun with --debug for TensorFlow's message; an op without an INT8 kernel cannot be "
            "quantized fully") from exc
    return bytes(model)
