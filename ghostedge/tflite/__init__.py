"""The one owner of the .tflite format: checking files (structural verifier, crash-safe probe),
reading tensors, I/O, operators, signatures and the integer-only check, editing names and
metadata buffers, TFLite Metadata with labels, and running models with LiteRT (``ai-edge-litert``,
falling back to ``tflite-runtime``).

Light to import: the flatbuffers runtime and the generated schema load when a function needs them.
"""
from __future__ import annotations

from ghostedge.tflite.model import (OperatorInfo, TensorInfo, TFLiteModel, check_tflite_file,
                                    read_model)
from ghostedge.tflite.runtime import (checked_model_file, dequantize_output, interpreter_class,
                                      io_details, load_interpreter, quantize_input, run_single)
from ghostedge.tflite.probe import probe_load
from ghostedge.tflite.schema import tflite_schema
from ghostedge.tflite.verify import TFLiteLayout, verify_tflite_bytes, verify_tflite_file

__all__ = ["OperatorInfo", "TensorInfo", "TFLiteModel", "check_tflite_file", "read_model",
           "checked_model_file", "dequantize_output", "interpreter_class", "io_details",
           "load_interpreter", "quantize_input", "run_single", "tflite_schema", "probe_load",
           "TFLiteLayout", "verify_tflite_bytes", "verify_tflite_file"]
