"""How a classifier is fed and read, decided from its TFLite metadata, the ModelReport that
``ghostedge convert`` wrote beside it (``ghostedge.model_report.find_report``), and what the model itself shows: the input layout and size,
raw 0..255 pixels vs normalized values (also for quantized ``--bare`` exports), probabilities vs
logits, and the preprocessing preset scaled to the input size. Used by ``ghostedge.appexport.predict``.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence

from ghostedge.errors import ModelError
from ghostedge.model_report import ModelReport

log = logging.getLogger(__name__)


def preset_name(report: Optional[ModelReport], preprocessing: Optional[str]) -> str:
    """The preprocessing preset: the override, else the report's, else torchvision's."""
    if preprocessing:
        return preprocessing
    return (report.preprocessing_name if report is not None else None) or "torchvision"


def image_input(shape: Sequence[int], source: str) -> tuple[str, int]:
    """(layout, side) of an image input; anything else is refused."""
    shape = [int(v) for v in shape]
    if len(shape) == 4 and shape[0] in (1, -1) and shape[3] == 3 and shape[1] == shape[2] > 0:
        return "NHWC", shape[1]
    if len(shape) == 4 and shape[0] in (1, -1) and shape[1] == 3 and shape[2] == shape[3] > 0:
        return "NCHW", shape[2]
    raise ModelError(f"{source} does not take an image", f"its input has shape {shape}",
                     "predict needs a model with one square RGB image input [1,H,W,3] (or [1,3,H,W])")


def decide_input(input_kind: str, metadata: Optional[Dict[str, Any]], report: Optional[ModelReport],
                 dtype: str, notes: List[str]) -> str:
    """"pixels" (raw 0..255) or "normalized": ``input_kind`` unless "auto", else from the
    metadata, the report, the input type; a guess is added to ``notes``."""
    if input_kind != "auto":
        return input_kind
    if dtype in ("uint8", "int8") and is_bare(metadata, report):
        return "normalized"  # quantized normalized values: normalize, then quantize with the input scale
    if metadata and metadata.get("inputs"):
        norm = metadata["inputs"][0].get("normalization") or {}
        raw_pixels = norm.get("mean") == [0.0] and norm.get("std") == [1.0]
        return "pixels" if raw_pixels or dtype == "uint8" else "normalized"
    if report is not None and report.app_ready is not None:
        return "pixels" if report.app_ready else "normalized"
    if dtype == "uint8":
        return "pixels"
    notes.append("no metadata or report says what the input is: assuming raw 0..255 pixels "
                 "(ghostedge's app-ready default); pass --input normalized for a bare model")
    return "pixels"


def is_bare(metadata: Optional[Dict[str, Any]], report: Optional[ModelReport]) -> bool:
    """A ``--bare`` export (normalized input, logits): its report says so, else its metadata names
    the output ``logits``. Its uint8 metadata declares mean 0 / std 1 (MediaPipe takes one mean/std
    only), but the input quantization was calibrated on normalized values."""
    if report is not None and report.app_ready is not None:
        return not report.app_ready
    outputs = (metadata or {}).get("outputs") or [{}]
    return bool(metadata) and outputs[0].get("name") == "logits"


def decide_output(metadata: Optional[Dict[str, Any]], report: Optional[ModelReport]) -> str:
    """"probabilities", "logits", or "auto" (decided from the values) for the model's output."""
    if metadata and metadata.get("outputs"):
        return "logits" if metadata["outputs"][0].get("name") == "logits" else "probabilities"
    if report is not None and report.app_ready is not None:
        return "probabilities" if report.app_ready else "logits"
    return "auto"
