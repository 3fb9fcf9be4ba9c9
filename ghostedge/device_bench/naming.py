"""Table names for .tflite files: from the ``.report.json`` written beside them by ``ghostedge
convert``, else from the file name (``ghostnet_100.int8.tflite`` → "GhostNet_x1_0" + "INT8").
A report's top-level ``display_name`` / ``reference`` (the weights source's, e.g.
``GhostNet_x1_3_ssld``) win over the registry variant's."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ghostedge.errors import GhostEdgeError

log = logging.getLogger(__name__)

PRECISIONS = {"fp32": "fp32", "float32": "fp32", "f32": "fp32", "fp16": "fp16", "float16": "fp16",
              "f16": "fp16", "int8": "int8", "full_integer_quant": "int8", "integer_quant": "int8",
              "uint8": "int8", "i8": "int8"}


@dataclass(frozen=True)
class ModelIdentity:
    """What a .tflite file is, as far as tables are concerned."""

    display_name: str
    registry_name: Optional[str]
    precision: Optional[str]
    reference: Optional[Dict[str, Any]] = field(default=None, compare=False)  # from the report


def _spec(name: str) -> Any:
    from ghostedge.models import registry

    try:
        return registry.get_spec(name)
    except GhostEdgeError:
        return registry.spec_for_display_name(name)


def _precision(text: Any) -> Optional[str]:
    if not isinstance(text, str):
        return None
    return PRECISIONS.get(text.strip().lower())


def report_candidates(path: Path) -> List[Path]:
    """Where a model's report may lie: ``x.int8.report.json`` or ``x.int8.tflite.report.json``."""
    return [path.with_suffix(".report.json"), path.with_name(path.name + ".report.json")]


def _from_report(report: Dict[str, Any]) -> Optional[ModelIdentity]:
    nested = report.get("model") if isinstance(report.get("model"), dict) else {}
    flat = {**nested, **{k: v for k, v in report.items() if not isinstance(v, dict)}}
    registry_name = next((flat[k] for k in ("registry_name", "model_name", "name", "model", "arch")
                          if isinstance(flat.get(k), str) and _spec(flat[k]) is not None), None)
    spec = _spec(registry_name) if registry_name else None
    source = report.get("source") if isinstance(report.get("source"), dict) else {}
    display = next((d.get("display_name") for d in (report, nested, source)
                    if isinstance(d.get("display_name"), str) and d.get("display_name")), None)
    if display is None and spec is not None:
        display = spec.display_name
    if display is None:
        return None
    reference = next((dict(d["reference"]) for d in (report, nested, source)
                      if isinstance(d.get("reference"), dict) and d["reference"]), None)
    precision = next((_precision(flat.get(k)) for k in ("precision", "dtype", "quantization",
                                                          "variant", "kind")
                      if _precision(flat.get(k))), None)
    return ModelIdentity(display, spec.name if spec is not None else registry_name, precision, reference)


def identity_from_filename(path: Path) -> ModelIdentity:
    """``ghostnet_100.int8.tflite`` → (GhostNet_x1_0, ghostnet_100, int8); unknown names keep the stem."""
    stem = path.name[:-len(".tflite")] if path.name.endswith(".tflite") else path.stem
    parts = stem.split(".")
    precision = None
    if len(parts) > 1 and _precision(parts[-1]):
        precision = _precision(parts[-1])
        parts = parts[:-1]
    base = ".".join(parts)
    if precision is None:  # also accept onnx2tf-style suffixes: model_float32, model_full_integer_quant
        match = re.match(r"^(.*?)[_-](float32|float16|fp32|fp16|int8|full_integer_quant)$", base)
        if match:
            base, precision = match.group(1), _precision(match.group(2))
    spec = _spec(base)
    if spec is not None:
        return ModelIdentity(spec.display_name, spec.name, precision)
    return ModelIdentity(base or stem, None, precision)


def model_identity(path: Path) -> ModelIdentity:
    """Name a model for tables: its report first, then its file name."""
    from_name = identity_from_filename(path)
    for candidate in report_candidates(path):
        if not candidate.is_file():
            continue
        try:
            report = json.loads(candidate.read_text())
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable model report %s (%s)", candidate, exc)
            continue
        if isinstance(report, dict):
            found = _from_report(report)
            if found is not None:
                return ModelIdentity(found.display_name, found.registry_name or from_name.registry_name,
                                     found.precision or from_name.precision, found.reference)
    return from_name


IMAGENET_CLASSES = 1000


def _classes_from_report(report: Dict[str, Any]) -> Optional[int]:
    """``num_classes`` (top level or under ``model``/``io``), else the last dim of ``outputs[0]``."""
    for section in (report, report.get("model"), report.get("io")):
        if not isinstance(section, dict):
            continue
        count = section.get("num_classes")
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            return count
        outputs = section.get("outputs")
        if isinstance(outputs, list) and outputs and isinstance(outputs[0], dict):
            shape = outputs[0].get("shape")
            if isinstance(shape, list) and shape and isinstance(shape[-1], int) and shape[-1] > 0:
                return shape[-1]
    return None


def _classes_from_flatbuffer(path: Path) -> Optional[int]:
    """Last dim of the first output of subgraph 0, read with LiteRT's schema module only when
    ai-edge-litert is installed (never TensorFlow: bench must stay light)."""
    import importlib.util

    if importlib.util.find_spec("ai_edge_litert") is None:
        return None
    try:
        from ghostedge.runtime import tflite_schema

        schema = tflite_schema()
        model = schema.Model.GetRootAs(path.read_bytes(), 0)
        graph = model.Subgraphs(0)
        shape = graph.Tensors(int(graph.Outputs(0))).ShapeAsNumpy()
        return int(shape[-1]) if len(shape) else None
    except Exception as exc:  # noqa: BLE001 - a reference figure is optional; never fail a bench on it
        log.warning("cannot read the output shape of %s (%s)", path, exc)
        return None


def output_classes(path: Path) -> Optional[int]:
    """The model's class count: from its ``.report.json``, else its flatbuffer; None when unknown."""
    for candidate in report_candidates(path):
        try:
            report = json.loads(candidate.read_text()) if candidate.is_file() else None
        except (OSError, ValueError):
            continue
        if isinstance(report, dict):
            count = _classes_from_report(report)
            if count is not None:
                return count
    return _classes_from_flatbuffer(path)
