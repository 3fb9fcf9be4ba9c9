"""What ``ghostedge eval`` evaluates: a .tflite file (with the report JSON beside it, when there is
one) or a registered torch model with weights. Resolves preprocessing, input size, class count
and the seed table's reference columns."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ghostedge.data.preprocess import Preprocessing, get_preset
from ghostedge.errors import DataError, GhostEdgeError, ModelError
from ghostedge.models.registry import MODEL_SPECS, ModelSpec, get_spec
from ghostedge.quantize.calibration import sized_preprocessing

log = logging.getLogger(__name__)

_PRECISION = {"fp32": "FP32", "fp16": "FP16", "int8": "INT8", "float32": "FP32", "float16": "FP16"}


@dataclass
class EvalTarget:
    """One model to evaluate."""

    kind: str                          # "tflite", "onnx" or "torch"
    label: str                         # row name in the table
    source: str                        # path, or "torch:<name> (<weights>)"
    image_size: int
    num_classes: int
    preprocessing: Preprocessing
    normalized_input: bool = False     # bare exports take normalized input
    spec: Optional[ModelSpec] = None
    path: Optional[Path] = None
    report: Dict[str, Any] = field(default_factory=dict)
    macs: Optional[int] = None
    params: Optional[int] = None
    reference: Dict[str, Any] = field(default_factory=dict)   # published top1/top5 for the table


def report_for(path: Path) -> Dict[str, Any]:
    """The ``<name>.<kind>.report.json`` written beside a converted model, or {}."""
    candidate = path.with_name(path.name[: -len(".tflite")] + ".report.json") if path.name.endswith(
        ".tflite") else None
    if candidate is None or not candidate.is_file():
        return {}
    try:
        data = json.loads(candidate.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable report %s: %s", candidate, exc)
        return {}


def _spec_from(report: Dict[str, Any], path: Path) -> Optional[ModelSpec]:
    name = report.get("model_name") or report.get("name") or path.name.split(".", 1)[0]
    return MODEL_SPECS.get(str(name))


def table_identity(report: Dict[str, Any], spec: Optional[ModelSpec]) -> tuple[Optional[str], Dict[str, Any]]:
    """(table name, reference figures) of a converted model: the report's top-level
    ``display_name`` / ``reference`` (the weights source's, e.g. ``GhostNet_x1_3_ssld``; older
    reports keep them under ``source``), else the registry variant's; (None, {}) when unknown."""
    source = report.get("source") if isinstance(report.get("source"), dict) else {}
    display = next((d["display_name"] for d in (report, source)
                    if isinstance(d.get("display_name"), str) and d["display_name"]), None)
    reference = next((dict(d["reference"]) for d in (report, source)
                      if isinstance(d.get("reference"), dict) and d["reference"]), None)
    if display is None and spec is not None:
        display = spec.display_name
    if reference is None:
        reference = dict(spec.reference) if spec is not None else {}
    return display, reference


def _precision(report: Dict[str, Any], path: Path, input_dtype: str) -> str:
    kind = str(report.get("kind", "")).lower()
    if kind in _PRECISION:
        return _PRECISION[kind]
    match = re.search(r"\.(fp32|fp16|int8)\.tflite$", path.name)
    if match:
        return _PRECISION[match.group(1)]
    return "INT8" if input_dtype in ("uint8", "int8") else "TFLite"


def _preprocessing(report: Dict[str, Any], override: Optional[str], spec: Optional[ModelSpec]) -> Preprocessing:
    if override:
        return get_preset(override)
    pre = report.get("preprocessing")
    name = pre.get("name") if isinstance(pre, dict) else pre
    if isinstance(name, str) and name:
        return get_preset(name)
    return get_preset(spec.preprocessing if spec else "torchvision")


def params_for(spec: ModelSpec, num_classes: int) -> int:
    """Parameters of a registered variant with ``num_classes`` outputs (classifier is Linear(1280, C))."""
    return spec.params + 1281 * (num_classes - 1000)


def tflite_target(path: Path, preprocessing: Optional[str] = None, bare: Optional[bool] = None,
                  image_size: Optional[int] = None) -> EvalTarget:
    """Describe a .tflite for evaluation (raises on files that are not .tflite image classifiers)."""
    from ghostedge.evaluate.metrics import tflite_macs
    from ghostedge.runtime import io_details, load_interpreter

    path = Path(path)
    if not path.is_file():
        raise GhostEdgeError(f"Model {path} does not exist", "no such file",
                             "Pass a .tflite file or a model name such as ghostnet_100 with --weights")
    interp = load_interpreter(path)
    io = io_details(interp)
    if len(io["inputs"]) != 1 or len(io["outputs"]) != 1:
        raise ModelError(f"{path.name} is not a single-input image classifier",
                         f"it has {len(io['inputs'])} inputs and {len(io['outputs'])} outputs")
    shape, out_shape = io["inputs"][0].shape, io["outputs"][0].shape
    if len(shape) != 4 or shape[3] != 3 or shape[1] != shape[2]:
        raise ModelError(f"{path.name} does not take square RGB images",
                         f"its input shape is {shape}, expected [1, H, H, 3] (NHWC)",
                         "Evaluate models written by `ghostedge convert`")
    if len(out_shape) != 2:
        raise ModelError(f"{path.name} does not output class scores", f"its output shape is {out_shape}")
    if image_size and image_size != shape[1]:
        raise DataError(f"--image-size {image_size} does not fit {path.name}",
                        f"the model takes {shape[1]}x{shape[2]} images",
                        f"Drop --image-size or pass --image-size {shape[1]}")
    report = report_for(path)
    spec = _spec_from(report, path)
    if bare is None:
        bare = bool(report.get("bare", False))
    pre = sized_preprocessing(_preprocessing(report, preprocessing, spec), int(shape[1]))
    precision = _precision(report, path, io["inputs"][0].dtype)
    display, reference = table_identity(report, spec)
    label = f"{display} {precision}" if display else path.name
    num_classes = int(out_shape[1])
    return EvalTarget("tflite", label, str(path), int(shape[1]), num_classes, pre, bool(bare), spec,
                      path, report, macs=tflite_macs(path),
                      params=params_for(spec, num_classes) if spec else None, reference=reference)


def onnx_target(path: Path, preprocessing: Optional[str] = None, bare: Optional[bool] = None,
                image_size: Optional[int] = None) -> tuple[EvalTarget, Any]:
    """Describe an .onnx for evaluation, opened as ``ghostedge predict`` opens it (onnxruntime;
    raw pixels or normalized input from the report beside it). Returns (target, classifier)."""
    from ghostedge.appexport.feeding import find_report
    from ghostedge.appexport.predict import open_onnx

    path = Path(path)
    if not path.is_file():
        raise GhostEdgeError(f"Model {path} does not exist", "no such file", "Check the path")
    clf = open_onnx(path, preprocessing, "normalized" if bare else "auto")
    if image_size and image_size != clf.size:
        raise DataError(f"--image-size {image_size} does not fit {path.name}",
                        f"the model takes {clf.size}x{clf.size} images",
                        f"Drop --image-size or pass --image-size {clf.size}")
    report = find_report(path) or {}
    if not report and not bare:
        log.warning("%s has no report beside it: assuming it takes raw 0..255 pixels "
                    "(pass --bare for a model that takes normalized input)", path.name)
    spec = _spec_from(report, path)
    display, reference = table_identity(report, spec)
    num_classes = len(clf.labels)
    target = EvalTarget("onnx", f"{display} ONNX" if display else path.name, str(path), clf.size, num_classes,
                        clf.preprocessing, clf.input_kind == "normalized", spec, path, report,
                        params=params_for(spec, num_classes) if spec else None, reference=reference)
    return target, clf


def disambiguate_labels(targets: Sequence[EvalTarget]) -> None:
    """Give targets that would share a table row distinct labels: model files get bench's
    ``[folder/stem]`` (``ghostedge.device_bench.plan.disambiguate``), torch models their registry
    name; the same model given twice is numbered."""
    from ghostedge.device_bench.plan import BenchModel, disambiguate

    labels = [t.label for t in targets]
    files = [t for t in targets if t.path is not None]
    models = [BenchModel(str(Path(t.path).resolve()), t.label, None, None, "", 0) for t in files]
    for target, model in zip(files, disambiguate(models)):
        target.label = model.label
    for target in targets:
        if target.path is None and target.spec is not None and labels.count(target.label) > 1:
            target.label = f"{target.label} [{target.spec.name}]"
    seen: Dict[str, int] = {}
    final: List[str] = [t.label for t in targets]
    for target in targets:
        if final.count(target.label) > 1:
            seen[target.label] = seen.get(target.label, 0) + 1
            target.label = f"{target.label} #{seen[target.label]}"


def torch_target(name: str, weights: str, num_classes: Optional[int] = None,
                 preprocessing: Optional[str] = None, image_size: Optional[int] = None,
                 cache_dir: Optional[Path] = None) -> tuple[EvalTarget, Any]:
    """Load a registered model with weights (``ghostedge.models.weights.load_model``)."""
    from ghostedge.evaluate.metrics import torch_macs
    from ghostedge.models.weights import load_model

    spec = get_spec(name)
    loaded = load_model(name, weights, num_classes=num_classes, cache_dir=cache_dir)
    model = loaded.model.eval()
    size = int(image_size or 224)
    pre = sized_preprocessing(get_preset(preprocessing or loaded.preprocessing or spec.preprocessing), size)
    classes = int(getattr(model, "num_classes", 0) or _classes_of(model, size))
    display, reference = table_identity({"source": dict(loaded.weights_info or {})}, spec)
    target = EvalTarget("torch", f"{display} PyTorch", f"torch:{name} ({weights})", size, classes,
                        pre, False, spec, None, {}, macs=torch_macs(model, size),
                        params=int(sum(p.numel() for p in model.parameters())), reference=reference)
    return target, model


def _classes_of(model: Any, image_size: int) -> int:
    import torch

    with torch.no_grad():
        return int(model(torch.zeros(1, 3, image_size, image_size)).shape[-1])
