"""What ``ghostedge eval`` evaluates: a .tflite file (with the report beside it, when there is
one), an .onnx file, or a registered torch model with weights. Resolves preprocessing, input size,
class count and the seed table's reference columns."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ghostedge.data.preprocess import Preprocessing, for_image_size, get_preset
from ghostedge.errors import DataError, GhostEdgeError, ModelError
from ghostedge.model_report import (ModelReport, distinct_labels, find_report, identity_for,
                                    identity_from_filename, source_identity)
from ghostedge.models.registry import MODEL_SPECS, ModelSpec, get_spec

log = logging.getLogger(__name__)


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
    report: Optional[ModelReport] = None
    macs: Optional[int] = None
    params: Optional[int] = None
    reference: Dict[str, Any] = field(default_factory=dict)   # published top1/top5 for the table


def _spec_from(report: Optional[ModelReport], path: Path) -> Optional[ModelSpec]:
    name = report.model_name if report is not None else identity_from_filename(path).registry_name
    return MODEL_SPECS.get(str(name)) if name else None


def _preprocessing(report: Optional[ModelReport], override: Optional[str], spec: Optional[ModelSpec]
                   ) -> Preprocessing:
    if override:
        return get_preset(override)
    name = report.preprocessing_name if report is not None else None
    return get_preset(name or (spec.preprocessing if spec else "torchvision"))


def params_for(spec: ModelSpec, num_classes: int) -> int:
    """Parameters of a registered variant with ``num_classes`` outputs (classifier is Linear(1280, C))."""
    return spec.params + 1281 * (num_classes - 1000)


def tflite_target(path: Path, preprocessing: Optional[str] = None, bare: Optional[bool] = None,
                  image_size: Optional[int] = None) -> EvalTarget:
    """Describe a .tflite for evaluation (raises on files that are not .tflite image classifiers)."""
    from ghostedge.tflite import checked_model_file, read_model

    path = Path(path)
    model = read_model(path)
    checked_model_file(path, probe=True)   # the worker processes load it natively
    ins, outs = model.inputs, model.outputs
    if len(ins) != 1 or len(outs) != 1:
        raise ModelError(f"{path.name} is not a single-input image classifier",
                         f"it has {len(ins)} inputs and {len(outs)} outputs")
    shape, out_shape = ins[0].shape, outs[0].shape
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
    report = find_report(path)
    spec = _spec_from(report, path)
    if bare is None:
        bare = bool(report.bare) if report is not None else False
    pre = for_image_size(_preprocessing(report, preprocessing, spec), int(shape[1]))
    ident = identity_for(path, report)
    precision = (ident.precision or ("int8" if ins[0].dtype in ("uint8", "int8") else "")).upper() or "TFLite"
    label = f"{ident.display_name} {precision}" if (report is not None or spec is not None) else path.name
    num_classes = int(out_shape[1])
    return EvalTarget("tflite", label, str(path), int(shape[1]), num_classes, pre, bool(bare), spec,
                      path, report, macs=model.macs(),
                      params=params_for(spec, num_classes) if spec else None,
                      reference=dict(ident.reference or (spec.reference if spec else {})))


def onnx_target(path: Path, preprocessing: Optional[str] = None, bare: Optional[bool] = None,
                image_size: Optional[int] = None) -> tuple[EvalTarget, Any]:
    """Describe an .onnx for evaluation, opened as ``ghostedge predict`` opens it (onnxruntime;
    raw pixels or normalized input from the report beside it). Returns (target, classifier)."""
    from ghostedge.appexport.classifier import open_onnx

    path = Path(path)
    if not path.is_file():
        raise GhostEdgeError(f"Model {path} does not exist", "no such file", "Check the path")
    clf = open_onnx(path, preprocessing, "normalized" if bare else "auto")
    if image_size and image_size != clf.size:
        raise DataError(f"--image-size {image_size} does not fit {path.name}",
                        f"the model takes {clf.size}x{clf.size} images",
                        f"Drop --image-size or pass --image-size {clf.size}")
    report = find_report(path)
    if report is None and not bare:
        log.warning("%s has no report beside it: assuming it takes raw 0..255 pixels "
                    "(pass --bare for a model that takes normalized input)", path.name)
    spec = _spec_from(report, path)
    ident = identity_for(path, report)
    known = report is not None or spec is not None
    num_classes = len(clf.labels)
    reference = dict(ident.reference or (spec.reference if spec else {}))
    target = EvalTarget("onnx", f"{ident.display_name} ONNX" if known else path.name, str(path), clf.size, num_classes,
                        clf.preprocessing, clf.input_kind == "normalized", spec, path, report,
                        params=params_for(spec, num_classes) if spec else None, reference=reference)
    return target, clf


def disambiguate_labels(targets: Sequence[EvalTarget]) -> None:
    """Give targets that would share a table row distinct labels: model files get
    ``[folder/stem]`` (``ghostedge.model_report.distinct_labels``, as bench names its rows), torch
    models their registry name; the same model given twice is numbered."""
    labels = [t.label for t in targets]
    named = distinct_labels(labels, [t.path for t in targets])
    for target, label in zip(targets, named):
        if target.path is None and target.spec is not None and labels.count(target.label) > 1:
            label = f"{target.label} [{target.spec.name}]"
        target.label = label
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
    from ghostedge.models.ghostnet import count_macs, output_classes
    from ghostedge.models.weights import load_model

    spec = get_spec(name)
    loaded = load_model(name, weights, num_classes=num_classes, cache_dir=cache_dir)
    model = loaded.model.eval()
    size = int(image_size or 224)
    pre = for_image_size(get_preset(preprocessing or loaded.preprocessing or spec.preprocessing), size)
    classes = int(getattr(model, "num_classes", 0) or output_classes(model, size))
    display, reference = source_identity(name, loaded.weights_info)
    target = EvalTarget("torch", f"{display} PyTorch", f"torch:{name} ({weights})", size, classes,
                        pre, False, spec, None, {}, macs=count_macs(model, size),
                        params=int(sum(p.numel() for p in model.parameters())), reference=reference)
    return target, model
