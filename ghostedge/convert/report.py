"""The ``<name>.<kind>.report.json`` written beside each model."""
from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Dict, List, Optional

from ghostedge import __version__
from ghostedge._io import sha256_file
from ghostedge.data.preprocess import Preprocessing

SCHEMA_VERSION = 1
_TOOLS = ["torch", "onnx", "onnx2tf", "onnxsim", "onnxruntime", "tensorflow", "ai-edge-litert",
          "tflite-runtime", "numpy"]


def report_path(output_dir: Path, name: str, kind: str) -> Path:
    """``<output_dir>/<name>.<kind>.report.json``."""
    return Path(output_dir) / f"{name}.{kind}.report.json"


def tool_versions() -> Dict[str, str]:
    """Installed versions of the tools that made the model (no heavy import)."""
    versions = {"ghostedge": __version__, "python": platform.python_version()}
    for dist in _TOOLS:
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = "not installed"
    try:
        from ghostedge.runtime import interpreter_class

        versions["verification_runtime"] = interpreter_class()[1]
    except Exception:  # noqa: BLE001 - the report must not fail on a version probe
        versions["verification_runtime"] = "unavailable"
    return versions


def tflite_facts(path: Path) -> Dict[str, Any]:
    """I/O details (names, shapes, dtypes, quantization), op counts and signatures of a .tflite."""
    from ghostedge.convert.tflite_graph import op_counts, signatures
    from ghostedge.runtime import io_details, load_interpreter

    data = Path(path).read_bytes()
    interp = load_interpreter(path)
    io = io_details(interp)
    return {
        "inputs": [t.to_dict() for t in io["inputs"]],
        "outputs": [t.to_dict() for t in io["outputs"]],
        "signatures": signatures(data),
        "ops": op_counts(data),
        "op_total": sum(op_counts(data).values()),
    }


def onnx_facts(path: Path) -> Dict[str, Any]:
    """I/O and op counts of an .onnx file."""
    import collections

    import onnx

    model = onnx.load(str(path))

    def dims(value_info: Any) -> List[int]:
        return [d.dim_value for d in value_info.type.tensor_type.shape.dim]

    counts = collections.Counter(node.op_type for node in model.graph.node)
    return {
        "opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0),
        "inputs": [{"name": i.name, "shape": dims(i), "dtype": "float32"} for i in model.graph.input],
        "outputs": [{"name": o.name, "shape": dims(o), "dtype": "float32"} for o in model.graph.output],
        "ops": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "op_total": sum(counts.values()),
    }


def table_identity(name: str, source_info: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The name and reference figures tables show for a model: the weights source's own
    (``GhostNet_x1_3_ssld`` and its top-1/SD855 figures) when it has them, else the registry's."""
    from ghostedge.models.registry import MODEL_SPECS

    spec = MODEL_SPECS.get(name)
    info = source_info or {}
    display = info.get("display_name") if isinstance(info.get("display_name"), str) else None
    reference = info.get("reference") if isinstance(info.get("reference"), dict) else None
    return {"display_name": display or (spec.display_name if spec else name),
            "reference": dict(reference if reference is not None else (spec.reference if spec else {}))}


def build_report(*, kind: str, path: Path, name: str, facts: Dict[str, Any], fidelity: Dict[str, Any],
                 durations_s: Dict[str, float], preprocessing: Preprocessing, image_size: int,
                 bare: bool, source_info: Optional[Dict[str, Any]], extra: Optional[Dict[str, Any]] = None,
                 ) -> Dict[str, Any]:
    """Everything a reader needs to trust (or reproduce) one artifact."""
    from ghostedge.data.preprocess import for_image_size

    size = os.path.getsize(path)
    preprocessing = for_image_size(preprocessing, image_size)
    report: Dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "model_name": name,
        **table_identity(name, source_info),
        "file": Path(path).name,
        "size_bytes": size,
        "size_mb": round(size / 1e6, 3),
        "sha256": sha256_file(path),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "app_ready": not bare,
        "bare": bare,
        "interface": ("normalized float32 NHWC input, logits output" if bare else
                      "raw RGB pixels 0..255 NHWC input (normalization in the graph), "
                      "softmax probabilities output"),
        "image_size": image_size,
        "preprocessing": {"name": preprocessing.name, "description": preprocessing.describe(),
                          "resize_short": preprocessing.resize_short, "crop": preprocessing.crop,
                          "mean": list(preprocessing.mean), "std": list(preprocessing.std)},
        "source": dict(source_info or {}),
        **facts,
        "fidelity_vs_torch": fidelity,
        "durations_s": {k: round(v, 3) for k, v in durations_s.items()},
        "tools": tool_versions(),
    }
    if extra:
        report.update(extra)
    return report
