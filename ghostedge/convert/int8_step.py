"""The INT8 artifact: calls ``ghostedge.quantize`` (full-integer conversion, integer check,
fidelity against FP32) and finishes the file like the float ones."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional

from ghostedge.convert.artifacts import ArtifactJob, finish_tflite
from ghostedge.errors import QuantizationError
from ghostedge.model_report import ModelReport
from ghostedge.quantize.check import assert_fully_integer
from ghostedge.quantize.fidelity import compare_int8, format_layer_table
from ghostedge.quantize.int8 import quantize_int8
from ghostedge.quantize.options import Int8Options

log = logging.getLogger(__name__)


def io_quantization(report: ModelReport) -> Dict[str, Any]:
    """Scale/zero point of the input and output, as an app developer needs them."""
    def pick(t: Dict[str, Any]) -> Dict[str, Any]:
        return {k: t[k] for k in ("name", "dtype", "scale", "zero_point")}

    return {"input": [pick(t) for t in report.inputs], "output": [pick(t) for t in report.outputs]}


def model_input_normalization(job: ArtifactJob) -> Optional[Any]:
    """The preprocessing (sized to the image) that turns raw pixels into the model's input: a bare
    export takes ImageNet-normalized input, so calibration and the FP32 comparison must normalize
    the raw-pixel calibration images; app-ready models (normalization in the graph) take them as
    they are (None)."""
    if not job.bare:
        return None
    from ghostedge.data.preprocess import for_image_size

    return for_image_size(job.preprocessing, job.image_size)


def build_int8(saved_model_dir: Optional[Path], calibration: Any, options: Int8Options, fp32_path: Path,
               job: ArtifactJob) -> tuple[Path, ModelReport, Optional[str]]:
    """Quantize the onnx2tf SavedModel to full integer (calibrated on normalized images for bare
    exports), check every operator is integer, compare with the FP32 model on held-out images,
    verify against torch (recorded, not bounded) and write ``<name>.int8.tflite``.
    Returns (path, report, layer table text or None)."""
    if saved_model_dir is None or not Path(saved_model_dir).is_dir():
        raise QuantizationError("INT8 conversion needs onnx2tf's SavedModel", "it was not produced",
                                "Rerun with --debug and report it")
    normalized = model_input_normalization(job)
    raw = quantize_int8(Path(saved_model_dir), calibration, options.io, normalize_with=normalized)
    heldout = getattr(calibration, "heldout_pixels", None)
    tables: Dict[str, str] = {}

    def checks(tmp: Path) -> Dict[str, Any]:
        integer = assert_fully_integer(tmp)
        onnx_path = job.names.model("onnx")   # written before the TFLite steps
        fid = compare_int8(Path(fp32_path), tmp, heldout, normalized_input=normalized,
                           onnx_path=onnx_path if onnx_path.is_file() else None)
        if options.explain and isinstance(fid, dict) and fid.get("layers"):
            tables["layers"] = format_layer_table(fid["layers"])
        return {"integer_check": integer, "fidelity_vs_fp32": fid, "int8_io": options.io,
                "calibration_input": ("normalized (bare model: ImageNet mean/std applied to the pixels)"
                                      if normalized is not None else "raw pixels 0..255"),
                "calibration": dict(getattr(calibration, "description", {}) or {})}

    dest, report = finish_tflite("int8", raw, job, input_dtype=options.io, extra_checks=checks)
    report.sections["io_quantization"] = io_quantization(report)
    return dest, report, tables.get("layers")
