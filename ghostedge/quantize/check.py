"""Prove that a .tflite is full-integer: every operator reads and writes integer tensors.

The facts come from the one TFLite reader (``ghostedge.tflite``: the flatbuffer itself, no
interpreter, delegate or TensorFlow); this module holds the policy: a float operator inside an
INT8 model is a QuantizationError.
"""
from __future__ import annotations

import collections
from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

from ghostedge.errors import QuantizationError
from ghostedge.tflite import read_model


def integer_report(path: Union[str, Path]) -> Tuple[Dict[str, Any], List[str]]:
    """Summary of a model's operators and tensor types, plus the list of float violations."""
    return read_model(path).integer_report()


def assert_fully_integer(path: Union[str, Path]) -> Dict[str, Any]:
    """Return the integer summary of ``path``; raise QuantizationError naming the float ops."""
    summary, violations = integer_report(path)
    if violations:
        counts = collections.Counter(v.split(" ", 1)[0] for v in violations)
        kinds = ", ".join(f"{name}×{n}" for name, n in counts.most_common())
        raise QuantizationError(
            f"{Path(path).name} is not a full-integer INT8 model",
            f"{len(violations)} operators use float tensors ({kinds}; first: {violations[0]})",
            "Quantize with `ghostedge convert --int8` (TFLITE_BUILTINS_INT8 only, no float fallback)")
    return summary
