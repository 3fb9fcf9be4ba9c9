"""A model's identity in tables: display name, registry name, precision, reference figures."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from ghostedge.model_report.report import ModelReport, find_report

PathArg = Union[str, Path]
@dataclass(frozen=True)
class ModelIdentity:
    """What a model file is, as far as tables are concerned."""

    display_name: str
    registry_name: Optional[str]
    precision: Optional[str]
    reference: Optional[Dict[str, Any]] = field(default=None, compare=False)
    num_classes: Optional[int] = field(default=None, compare=False)

    @property
    def label(self) -> str:
        """Row name, e.g. "GhostNet_x1_0 INT8"."""
        return f"{self.display_name} {self.precision.upper()}" if self.precision else self.display_name

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


_PRECISION_WORDS = {"fp32": "fp32", "float32": "fp32", "f32": "fp32", "fp16": "fp16",
                    "float16": "fp16", "f16": "fp16", "int8": "int8", "full_integer_quant": "int8",
                    "integer_quant": "int8", "uint8": "int8", "i8": "int8"}


def precision_of(text: Any) -> Optional[str]:
    """"fp32" / "fp16" / "int8" for the usual spellings (float32, full_integer_quant...), else None."""
    return _PRECISION_WORDS.get(text.strip().lower()) if isinstance(text, str) else None


def _spec(name: Optional[str]) -> Any:
    from ghostedge.models.registry import MODEL_SPECS, spec_for_display_name

    if not name:
        return None
    return MODEL_SPECS.get(name) or spec_for_display_name(name)


def identity_from_filename(path: PathArg) -> ModelIdentity:
    """``ghostnet_100.int8.tflite`` → (GhostNet_x1_0, ghostnet_100, int8); unknown names keep the stem."""
    path = Path(path)
    stem = path.name[:-len(".tflite")] if path.name.endswith(".tflite") else path.stem
    parts = stem.split(".")
    precision = None
    if len(parts) > 1 and precision_of(parts[-1]):
        precision = precision_of(parts[-1])
        parts = parts[:-1]
    base = ".".join(parts)
    if precision is None:  # onnx2tf-style suffixes too: model_float32, model_full_integer_quant
        match = re.match(r"^(.*?)[_-](float32|float16|fp32|fp16|int8|full_integer_quant)$", base)
        if match:
            base, precision = match.group(1), precision_of(match.group(2))
    spec = _spec(base)
    if spec is not None:
        return ModelIdentity(spec.display_name, spec.name, precision)
    return ModelIdentity(base or stem, None, precision)


def source_identity(model_name: str, source_info: Optional[Dict[str, Any]] = None
                    ) -> Tuple[str, Dict[str, Any]]:
    """(table name, reference figures) of a model built from a weights source: the source's own
    (``paddle:GhostNet_x1_3_ssld`` → ``GhostNet_x1_3_ssld`` and its top-1 / SD855 figures) when it
    has them, else the registry variant's, else the name itself and no figures."""
    spec = _spec(model_name)
    info = source_info or {}
    display = info.get("display_name") if isinstance(info.get("display_name"), str) else None
    reference = info.get("reference") if isinstance(info.get("reference"), dict) else None
    return (display or (spec.display_name if spec else model_name),
            dict(reference if reference is not None else (spec.reference if spec else {})))


def report_identity(report: ModelReport) -> ModelIdentity:
    """Table name, registry name, precision and reference figures of a converted artifact: the
    report's own (its weights source's), else its registry variant's."""
    spec = _spec(report.model_name)
    src = report.source if isinstance(report.source, dict) else {}
    old_display = src.get("display_name") if isinstance(src.get("display_name"), str) else None
    old_reference = src.get("reference") if isinstance(src.get("reference"), dict) else None
    # 0.1 reports written before the top-level fields keep them under "source"
    display = (report.display_name or old_display or (spec.display_name if spec else None)
               or report.model_name)
    reference = dict(report.reference or old_reference or (spec.reference if spec else {}))
    return ModelIdentity(display, spec.name if spec else None, report.precision, reference or None,
                         report.num_classes)


def identity_for(model_path: PathArg, report: Optional[ModelReport] = None) -> ModelIdentity:
    """Name a model for tables: its report first (the weights source's own name and figures,
    e.g. GhostNet_x1_3_ssld), then its file name."""
    from_name = identity_from_filename(model_path)
    report = report if report is not None else find_report(model_path)
    if report is None:
        return from_name
    found = report_identity(report)
    return ModelIdentity(found.display_name, found.registry_name or from_name.registry_name,
                         found.precision or from_name.precision, found.reference, found.num_classes)


def distinct_labels(labels: List[str], paths: List[Optional[PathArg]]) -> List[str]:
    """Row names for tables: a label shared by several model files gets the file's
    ``[folder/stem]`` in brackets (``GhostNet_x1_0 INT8 [runA/ghostnet_100.int8]``), with more of
    its path where that is not enough; entries without a file keep theirs (callers name those)."""
    def tag(path: Path, depth: int) -> str:
        name = path.stem if path.suffix.lower() == ".tflite" else path.name
        parents = [part.name for part in list(path.parents)[:depth] if part.name]
        return "/".join([*reversed(parents), name])

    resolved = [Path(p).resolve() if p is not None else None for p in paths]
    out = list(labels)
    for label in set(labels):
        group = [i for i, (x, r) in enumerate(zip(labels, resolved)) if x == label and r is not None]
        if labels.count(label) < 2 or not group:
            continue
        files = {resolved[i] for i in group}
        depth = 1
        while depth < 64 and len({tag(f, depth) for f in files}) < len(files):
            depth += 1
        for i in group:
            out[i] = f"{label} [{tag(resolved[i], depth)}]"
    return out
