"""``ghostedge.evaluate(...)``: top-1/top-5 of .tflite/.onnx files and registry models over one
labeled image folder, as the seed's table."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ghostedge.accuracy.metrics import ModelAccuracy
from ghostedge.accuracy.targets import EvalTarget
from ghostedge.errors import GhostEdgeError, ModelError, UsageError
from ghostedge.text import counted

log = logging.getLogger(__name__)

PathArg = Union[str, "os.PathLike[str]"]


@dataclass
class EvalResult:
    """One evaluation: what data was used and one row per model."""

    data: Dict[str, Any]
    rows: List[ModelAccuracy] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    data_arg: str = ""   # the data path as given (the table footer names it)

    def to_dict(self) -> Dict[str, Any]:
        """What ``ghostedge eval --json`` prints."""
        return {"data": self.data, "results": [r.to_dict() for r in self.rows]}

    def table(self) -> str:
        """The seed-format table and its footer."""
        from ghostedge.accuracy.table import format_footer, format_table

        return format_table(self.rows) + "\n\n" + format_footer(self.rows, self.data_arg or str(self.data["path"]),
                                                                 str(self.data.get("layout", "")))

    def __getitem__(self, model: str) -> ModelAccuracy:
        """The row of ``model`` (its table label or source path)."""
        for row in self.rows:
            if model in (row.model, row.source):
                return row
        raise KeyError(model)


def resolve_targets(models: Sequence[Any], weights: Optional[str] = None, num_classes: Optional[int] = None,
                    preprocessing: Optional[str] = None, image_size: Optional[int] = None,
                    bare: Optional[bool] = None, cache_dir: Optional[PathArg] = None
                    ) -> List[Tuple[EvalTarget, Any]]:
    """Each item → (target, torch model / onnx classifier / None): a .tflite or .onnx path, or a
    registry name evaluated with ``weights``. Rows that would share a name are told apart."""
    from ghostedge.accuracy.targets import disambiguate_labels, onnx_target, tflite_target, torch_target
    from ghostedge.appexport.inspection import check_not_checkpoint, folder_error
    from ghostedge.models.registry import MODEL_SPECS

    targets: List[Tuple[EvalTarget, Any]] = []
    for item in models:
        text = str(item)
        path = Path(item)
        if text in MODEL_SPECS and not path.exists():
            if not weights:
                raise UsageError(f"{text} is a model name: evaluating it needs --weights",
                                 fix=f"Pass --weights FILE (or imagenet), or a converted {text}.*.tflite file")
            targets.append(torch_target(text, weights, num_classes, preprocessing, image_size,
                                        Path(cache_dir) if cache_dir else None))
        elif path.is_dir():
            raise folder_error(path, "eval", (".tflite", ".onnx"))
        elif path.suffix.lower() == ".onnx" and path.exists():
            targets.append(onnx_target(path, preprocessing, bare, image_size))
        elif path.exists():
            check_not_checkpoint(path, "eval takes .tflite/.onnx files, or registry names with --weights",
                                 "Pass {name} --weights {weights} instead")
            targets.append((tflite_target(path, preprocessing, bare, image_size), None))
        elif path.suffix or "/" in text:
            raise GhostEdgeError(f"Model {path} does not exist", "no such file", "Check the path")
        else:
            raise ModelError(f"Unknown model {text!r}",
                             f"it is neither a file nor one of {', '.join(sorted(MODEL_SPECS))}",
                             "Pass a .tflite or .onnx file, or a registered model name with --weights")
    disambiguate_labels([target for target, _ in targets])
    return targets


def evaluate(models: Union[PathArg, Sequence[PathArg]], data: PathArg, *, limit: Optional[int] = None,
             seed: int = 0, workers: int = 2, weights: Optional[str] = None,
             num_classes: Optional[int] = None, preprocessing: Optional[str] = None,
             image_size: Optional[int] = None, bare: Optional[bool] = None,
             cache_dir: Optional[PathArg] = None) -> EvalResult:
    """Top-1/top-5 of every model on the same images of ``data`` (an ImageFolder tree, an
    ILSVRC2012 val folder with its labels, or a PaddleClas list file). ``limit``: a seeded,
    class-balanced subset of that many images. Registry names need ``weights``."""
    from ghostedge.accuracy.runner import check_fits, evaluate_all
    from ghostedge.data.folders import load_labeled_dataset
    from ghostedge.data.sampling import sample

    if isinstance(models, (str, os.PathLike)):
        models = [models]
    _check_numbers(limit, seed, workers, image_size)
    if not models:
        raise UsageError("No model to evaluate", "no MODEL was given", "Pass .tflite/.onnx files or model names")
    dataset = load_labeled_dataset(data)
    targets = resolve_targets(models, weights, num_classes, preprocessing, image_size, bare, cache_dir)
    for target, _ in targets:
        check_fits(target, dataset)
    samples = list(dataset.samples)
    notes: List[str] = []
    if limit is not None and limit < len(samples):
        samples = sample(dataset, limit, seed)
    elif limit is not None:
        notes.append(f"--limit {limit} is not below the {counted(len(samples), 'image')} found: evaluating all")
    rows = evaluate_all(targets, samples, workers=workers)
    described = {**dataset.describe(), "evaluated": len(samples), "limit": limit, "seed": seed}
    return EvalResult(described, rows, notes, str(data))


def _check_numbers(limit: Optional[int], seed: int, workers: int, image_size: Optional[int]) -> None:
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise UsageError(f"--limit {limit} is not a positive number of images", fix="Pass --limit 1000, say")
    if not isinstance(seed, int) or seed < 0:
        raise UsageError(f"--seed {seed} is not usable", "it must be a whole number >= 0", "Pass --seed 0")
    if not isinstance(workers, int) or not 1 <= workers <= 64:
        raise UsageError(f"--workers {workers} is not usable", "it must be from 1 to 64", "Pass --workers 2")
    if image_size is not None and (not isinstance(image_size, int) or not 16 <= image_size <= 2048):
        raise UsageError(f"--image-size {image_size} is not usable", "it must be from 16 to 2048",
                         "Pass --image-size 224")
