"""The versioned ``ModelReport`` of one converted artifact: build, validate, load, dump, find."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from ghostedge.errors import ReportError
from ghostedge.fileio import atomic_write_json
from ghostedge.model_report.naming import KINDS, report_candidates

log = logging.getLogger(__name__)

SCHEMA = "ghostedge.model-report"
SCHEMA_VERSION = 2
PRECISIONS = ("fp32", "fp16", "int8")
PathArg = Union[str, Path]

# Keys of the JSON document that are typed fields below; anything else is kept in ``sections``.
_FIELDS = ("kind", "model_name", "display_name", "reference", "num_classes", "file", "size_bytes",
           "sha256", "created", "app_ready", "image_size", "preprocessing", "source", "inputs",
           "outputs", "signatures", "ops", "has_metadata", "fidelity_vs_torch", "durations_s",
           "tools", "onnx2tf_peak_rss_mb", "opset")
_DERIVED = ("schema", "schema_version", "precision", "registry_name", "size_mb", "bare", "interface",
            "op_total")


def _registered(name: str) -> bool:
    from ghostedge.models.registry import MODEL_SPECS

    return name in MODEL_SPECS
@dataclass
class ModelReport:
    """Everything a reader needs to trust (or reproduce) one converted artifact."""

    kind: str
    model_name: str
    file: Optional[str] = None
    display_name: Optional[str] = None
    reference: Dict[str, Any] = field(default_factory=dict)
    num_classes: Optional[int] = None
    size_bytes: Optional[int] = None
    sha256: Optional[str] = None
    created: Optional[str] = None
    app_ready: Optional[bool] = None
    image_size: Optional[int] = None
    preprocessing: Dict[str, Any] = field(default_factory=dict)
    source: Dict[str, Any] = field(default_factory=dict)
    inputs: List[Dict[str, Any]] = field(default_factory=list)
    outputs: List[Dict[str, Any]] = field(default_factory=list)
    signatures: Dict[str, Any] = field(default_factory=dict)
    ops: Dict[str, int] = field(default_factory=dict)
    has_metadata: Optional[bool] = None
    fidelity_vs_torch: Dict[str, Any] = field(default_factory=dict)
    durations_s: Dict[str, float] = field(default_factory=dict)
    tools: Dict[str, str] = field(default_factory=dict)
    onnx2tf_peak_rss_mb: Optional[float] = None
    opset: Optional[int] = None
    # further sections by name: INT8's integer_check / fidelity_vs_fp32 / calibration /
    # io_quantization / int8_io, "arm64" from `ghostedge check`, and keys of newer versions
    sections: Dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    # -- identity --
    @property
    def precision(self) -> Optional[str]:
        """"fp32" / "fp16" / "int8" for .tflite artifacts, None for ONNX."""
        return self.kind if self.kind in PRECISIONS else None

    @property
    def bare(self) -> bool:
        return self.app_ready is False

    @property
    def preprocessing_name(self) -> Optional[str]:
        name = self.preprocessing.get("name") if isinstance(self.preprocessing, dict) else None
        return name if isinstance(name, str) and name else None

    # -- (de)serialization --
    def to_dict(self) -> Dict[str, Any]:
        """The JSON document (keys in a stable, readable order)."""
        doc: Dict[str, Any] = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "kind": self.kind,
                               "precision": self.precision, "model_name": self.model_name,
                               "registry_name": self.model_name if _registered(self.model_name) else None,
                               "display_name": self.display_name, "reference": self.reference,
                               "num_classes": self.num_classes, "file": self.file,
                               "size_bytes": self.size_bytes,
                               "size_mb": round(self.size_bytes / 1e6, 3) if self.size_bytes else None,
                               "sha256": self.sha256, "created": self.created,
                               "app_ready": self.app_ready, "bare": self.bare,
                               "interface": _interface(self.app_ready), "image_size": self.image_size,
                               "preprocessing": self.preprocessing, "source": self.source}
        if self.opset is not None:
            doc["opset"] = self.opset
        doc.update({"inputs": self.inputs, "outputs": self.outputs})
        if self.kind != "onnx":
            doc.update({"signatures": self.signatures})
        doc.update({"ops": self.ops, "op_total": sum(self.ops.values())})
        if self.kind != "onnx":
            doc["has_metadata"] = self.has_metadata
        doc.update({"fidelity_vs_torch": self.fidelity_vs_torch, "durations_s": self.durations_s,
                    "tools": self.tools, "onnx2tf_peak_rss_mb": self.onnx2tf_peak_rss_mb})
        doc.update(self.sections)
        return doc

    @classmethod
    def from_dict(cls, data: Any, source: str = "report") -> "ModelReport":
        """Validate a JSON document (this version or ghostedge 0.1's) and build the report."""
        if not isinstance(data, dict):
            raise ReportError(f"Cannot read {source}", "it is not a JSON object",
                              "Pass a .report.json written by `ghostedge convert`")
        schema = data.get("schema")
        version = data.get("schema_version", 1 if schema is None else None)
        if schema is not None and schema != SCHEMA:
            raise ReportError(f"Cannot read {source}", f"its schema is {schema!r}, not {SCHEMA!r}",
                              "Pass a .report.json written by `ghostedge convert`")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ReportError(f"Cannot read {source}", "it has no valid schema_version",
                              "Pass a .report.json written by `ghostedge convert`")
        if version > SCHEMA_VERSION:
            raise ReportError(f"Cannot read {source}", f"it has schema version {version}; this "
                              f"ghostedge reads up to {SCHEMA_VERSION}", "Upgrade ghostedge")
        problems = _type_problems(data)
        if problems:
            raise ReportError(f"Cannot read {source}", "; ".join(problems[:3]),
                              "Re-run `ghostedge convert` to write a fresh report")
        known = {k: data[k] for k in _FIELDS if k in data and data[k] is not None}
        known.setdefault("num_classes", _classes_from_outputs(data.get("outputs")))
        sections = {k: v for k, v in data.items() if k not in _FIELDS and k not in _DERIVED}
        return cls(sections=sections, **known)

    def dump(self, path: PathArg) -> Path:
        """Write the report atomically."""
        return atomic_write_json(path, self.to_dict())


def _interface(app_ready: Optional[bool]) -> Optional[str]:
    if app_ready is None:
        return None
    return ("raw RGB pixels 0..255 NHWC input (normalization in the graph), softmax probabilities "
            "output" if app_ready else "normalized float32 NHWC input, logits output")


_TYPES: Dict[str, Any] = {
    "kind": str, "model_name": str, "file": str, "display_name": str, "reference": dict,
    "num_classes": int, "size_bytes": int, "sha256": str, "app_ready": bool, "image_size": int,
    "preprocessing": dict, "source": dict, "inputs": list, "outputs": list, "signatures": dict,
    "ops": dict, "fidelity_vs_torch": dict, "durations_s": dict, "tools": dict, "created": str,
    "has_metadata": bool, "opset": int, "onnx2tf_peak_rss_mb": (int, float)}
_REQUIRED = ("kind", "model_name")


def _type_problems(data: Dict[str, Any]) -> List[str]:
    problems = [f"{key} is missing" for key in _REQUIRED if key not in data]
    for key, typ in _TYPES.items():
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
            expected = " or ".join(t.__name__ for t in typ) if isinstance(typ, tuple) else typ.__name__
            problems.append(f"{key} is {type(value).__name__}, expected {expected}")
    if isinstance(data.get("kind"), str) and data["kind"] not in KINDS:
        problems.append(f"kind {data['kind']!r} is not one of {', '.join(KINDS)}")
    return problems


def _classes_from_outputs(outputs: Any) -> Optional[int]:
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict):
        shape = outputs[0].get("shape")
        if isinstance(shape, list) and shape and isinstance(shape[-1], int) and shape[-1] > 0:
            return int(shape[-1])
    return None


def load_report(path: PathArg) -> ModelReport:
    """Read and validate one report file; ReportError when it cannot be used."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"Cannot read {path}", exc.strerror or str(exc), "Check the path") from exc
    except ValueError as exc:
        raise ReportError(f"Cannot read {path}", f"it is not JSON ({exc})",
                          "Re-run `ghostedge convert` to write a fresh report") from exc
    return ModelReport.from_dict(data, str(path))


def find_report(model_path: PathArg) -> Optional[ModelReport]:
    """The report beside ``model_path``, or None. An unreadable report, or one that describes
    another file (another size, or an ONNX report beside a .tflite), is ignored with a warning."""
    found = _find(Path(model_path))
    return found[0] if found else None


def _describes(report: ModelReport, model_path: Path) -> Optional[str]:
    """Why ``report`` is not the record of ``model_path`` (None when it is)."""
    suffix = model_path.suffix.lower()
    if suffix in (".onnx", ".tflite") and (report.kind == "onnx") != (suffix == ".onnx"):
        return f"it describes a {report.kind} artifact, not a {suffix} file"
    try:
        size = model_path.stat().st_size
    except OSError:
        return None
    if report.size_bytes is not None and size != report.size_bytes:
        return (f"it describes a file of {report.size_bytes} bytes, {model_path.name} has {size} "
                "(an older conversion?)")
    return None


def _find(model_path: Path) -> Optional[Tuple[ModelReport, Path]]:
    for candidate in report_candidates(model_path):
        if not candidate.is_file():
            continue
        try:
            report = load_report(candidate)
        except ReportError as exc:
            log.warning("ignoring the report beside %s: %s", model_path.name, exc.one_line())
            continue
        mismatch = _describes(report, model_path)
        if mismatch:
            log.warning("ignoring %s: %s", candidate.name, mismatch)
            continue
        return report, candidate
    return None


def add_section(model_path: PathArg, name: str, data: Any) -> Optional[Path]:
    """Store ``data`` as section ``name`` (e.g. "arm64") in the report beside ``model_path``,
    rewriting it atomically. Returns the report's path, or None when the model has none."""
    if name in _FIELDS or name in _DERIVED:
        raise ValueError(f"{name!r} is a core field of the model report, not a section")
    found = _find(Path(model_path))
    if found is None:
        return None
    report, path = found
    report.sections[name] = data
    return report.dump(path)


