"""Top-k classification of image files (``ghostedge.predict``) with a .tflite, an .onnx or a torch
registry model, through the project's one preprocessing."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ghostedge.appexport.classifier import Classifier, open_classifier
from ghostedge.data.preprocess import IMAGE_SUFFIXES, load_pixels
from ghostedge.errors import DataError, UsageError
from ghostedge.text import counted

log = logging.getLogger(__name__)

PathArg = Union[str, "os.PathLike[str]"]
MAX_TOP_K = 1000


class ClassScore(NamedTuple):
    """One class of a prediction: ``(label, probability)``."""

    label: str
    probability: float


class ImagePrediction(List[ClassScore]):
    """The top classes of one image, best first: a list of ``(label, probability)`` with the
    image's path and the class indices as attributes."""

    def __init__(self, image: str, scores: Sequence[ClassScore], indices: Sequence[int]) -> None:
        super().__init__(scores)
        self.image = image
        self.indices = [int(i) for i in indices]

    def to_dict(self) -> Dict[str, Any]:
        return {"image": self.image, "top": [{"index": i, "label": s.label, "probability": s.probability}
                                             for i, s in zip(self.indices, self)]}


@dataclass
class PredictionSet(List[ImagePrediction]):
    """Predictions for every image (a list of :class:`ImagePrediction`), with how the model was
    fed, notes, and the unreadable files skipped in folders."""

    model: Dict[str, Any] = field(default_factory=dict)
    skipped: List[Tuple[str, str]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """What ``ghostedge predict --json`` prints."""
        shown = {k: v for k, v in self.model.items() if k not in ("layout", "size")}
        return {**shown, "results": [p.to_dict() for p in self],
                "skipped": [{"image": image, "reason": reason} for image, reason in self.skipped]}


def _expand(paths: Sequence[PathArg]) -> List[Tuple[Path, bool]]:
    """Image arguments → (file, found in a folder): folders expand to their image files (sorted,
    not recursive)."""
    files: List[Tuple[Path, bool]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise DataError(f"Folder {path} has no images",
                                f"no files ending in {', '.join(IMAGE_SUFFIXES)} (subfolders are not searched)",
                                "Pass image files or a folder that holds them")
            files.extend((p, True) for p in found)
        elif not path.exists():
            raise DataError(f"Image {path} does not exist", "no such file", "Check the path")
        else:
            files.append((path, False))
    if not files:
        raise DataError("No images given", "", "Pass one or more image files or folders")
    return files


def expand_images(paths: Sequence[PathArg]) -> List[Path]:
    """Image arguments → files: folders expand to their image files (sorted, not recursive)."""
    return [path for path, _ in _expand(paths)]


def unreadable_list(skipped: Sequence[Tuple[Any, str]], shown: int = 5) -> str:
    """``2 unreadable files: a.jpg, b.png`` (the first ``shown`` names, then how many more)."""
    names = ", ".join(str(path) for path, _ in skipped[:shown])
    more = f" and {len(skipped) - shown} more" if len(skipped) > shown else ""
    return f"{counted(len(skipped), 'unreadable file')}: {names}{more}"


def classify(classifier: Classifier, image: PathArg, top_k: int = 5) -> ImagePrediction:
    """Top-``top_k`` classes of one image file (ties listed in class-index order, as apps do)."""
    probs = classifier.scores(load_pixels(image, classifier.preprocessing))
    order = np.argsort(-probs, kind="stable")[:max(1, top_k)]
    return ImagePrediction(str(image), [ClassScore(classifier.labels[int(i)], float(probs[i])) for i in order],
                           order)


def predict_with(classifier: Classifier, images: Sequence[PathArg], top_k: int = 5) -> PredictionSet:
    """Classify every image (folders expanded) with an open classifier. An unreadable file named on
    its own stops with its name; unreadable files found in a folder are skipped and listed."""
    from ghostedge.progress import progress

    files = _expand(images)
    result = PredictionSet(notes=list(classifier.notes))
    bad: List[Tuple[str, str]] = []
    for path, in_folder in progress(files, total=len(files), desc="predict"):
        try:
            result.append(classify(classifier, path, top_k))
        except DataError as exc:
            if not in_folder:
                raise
            bad.append((str(path), str(exc)))
    if not result:
        raise DataError("No image could be read", unreadable_list(bad),
                        "Pass readable JPEG, PNG, BMP, GIF, TIFF or WebP images")
    result.skipped = bad
    if bad:
        result.notes.append(f"skipped {unreadable_list(bad)}")
    for pred in result:
        probs = [s.probability for s in pred]
        if len(probs) > 1 and max(probs) - min(probs) < 1e-9:
            result.notes.append(f"{pred.image}: the top {len(probs)} classes all score {probs[0]:.4f}, so "
                                "their order means nothing (an untrained model, or a uint8 output too "
                                "coarse to separate them)")
    result.model = {"model": classifier.source, "backend": classifier.backend,
                    "input_dtype": classifier.input_dtype, "input_kind": classifier.input_kind,
                    "output_kind": classifier.output_kind, "labels_source": classifier.labels_source,
                    "has_metadata": classifier.has_metadata, "preprocessing": classifier.preprocessing.name,
                    "layout": classifier.layout, "size": classifier.size}
    return result


def predict(images: Union[PathArg, Sequence[PathArg]], model: PathArg, top_k: int = 5, *,
            weights: Optional[str] = None, preprocessing: Optional[str] = None, input_kind: str = "auto",
            labels: Optional[PathArg] = None, num_threads: Optional[int] = None) -> PredictionSet:
    """Top-``top_k`` (label, probability) pairs for each image (or folder of images) with ``model``:
    a .tflite or .onnx file, or a registry name with ``weights``. Returns one list per image."""
    if isinstance(images, (str, os.PathLike)):
        images = [images]
    if not isinstance(top_k, int) or isinstance(top_k, bool) or not 1 <= top_k <= MAX_TOP_K:
        raise UsageError(f"--top {top_k} is not allowed", f"it must be from 1 to {MAX_TOP_K}",
                         "Use --top 5, say")
    expand_images(images)  # check the images before loading a model
    classifier = open_classifier(model, weights=weights, preprocessing=preprocessing, input_kind=input_kind,
                                 num_threads=num_threads, labels_file=labels)
    return predict_with(classifier, images, top_k)
