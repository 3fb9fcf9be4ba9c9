"""Facts for the ``ModelReport`` of each converted artifact (built here once; the format and its
naming belong to ``ghostedge.model_report``)."""
from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Dict, List, Optional

from ghostedge import __version__
from ghostedge.data.preprocess import Preprocessing, for_image_size
from ghostedge.fileio import sha256_file
from ghostedge.model_report import ModelReport, source_identity

_TOOLS = ["torch", "onnx", "onnx2tf", "onnxsim", "onnxruntime", "tensorflow", "ai-edge-litert",
          "tflite-runtime", "numpy"]


def tool_versions() -> Dict[str, str]:
    """Installed versions of the tools that made the model (no heavy import)."""
    versions = {"ghostedge": __version__, "python": platform.python_version()}
    for dist in _TOOLS:
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = "not installed"
    try:
        from ghostedge.tflite import interpreter_class

        versions["verification_runtime"] = interpreter_class()[1]
    except Exception:  # noqa: BLE001 - the report must not fail on a version probe
        versions["verification_runtime"] = "unavailable"
    return versions


def tflite_facts(path: Path) -> Dict[str, Any]:
    """I/O (names, shapes, dtypes, quantization), op counts and signatures of a .tflite."""
    from ghostedge.tflite import read_model

    model = read_model(path)
    return {"inputs": [t.to_dict() for t in model.inputs], "outputs": [t.to_dict() for t in model.outputs],
            "signatures": model.signatures(), "ops": model.op_counts()}


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
    }


def build_report(*, kind: str, path: Path, name: str, facts: Dict[str, Any], fidelity: Dict[str, Any],
                 preprocessing: Preprocessing, image_size: int, bare: bool,
                 source_info: Optional[Dict[str, Any]], has_metadata: Optional[bool] = None,
                 sections: Optional[Dict[str, Any]] = None) -> ModelReport:
    """Everything a reader needs to trust (or reproduce) one artifact."""
    size = os.path.getsize(path)
    pre = for_image_size(preprocessing, image_size)
    display, reference = source_identity(name, source_info)
    outputs = facts.get("outputs") or []
    shape = outputs[0].get("shape") if outputs else None
    return ModelReport(
        kind=kind, model_name=name, file=Path(path).name, display_name=display, reference=reference,
        num_classes=int(shape[-1]) if shape else None, size_bytes=size, sha256=sha256_file(path),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), app_ready=not bare,
        image_size=image_size,
        preprocessing={"name": pre.name, "description": pre.describe(), "resize_short": pre.resize_short,
                       "crop": pre.crop, "mean": list(pre.mean), "std": list(pre.std)},
        source=dict(source_info or {}), inputs=facts.get("inputs", []), outputs=outputs,
        signatures=facts.get("signatures", {}), ops=facts.get("ops", {}), opset=facts.get("opset"),
        has_metadata=has_metadata, fidelity_vs_torch=fidelity, tools=tool_versions(),
        sections=dict(sections or {}))
