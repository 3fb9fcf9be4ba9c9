"""Run models over a labeled dataset: TFLite with one interpreter per worker process, torch in
batches. Every model sees the same deterministic list of images."""
from __future__ import annotations

import logging
import multiprocessing
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ghostedge.progress import progress
from ghostedge.data.preprocess import Preprocessing, load_pixels, normalize
from ghostedge.errors import DataError
from ghostedge.accuracy.metrics import ModelAccuracy, accuracy
from ghostedge.scores import topk_indices
from ghostedge.text import counted
from ghostedge.accuracy.targets import EvalTarget

log = logging.getLogger(__name__)

Sample = Tuple[Path, int]
_WORKER: Dict[str, Any] = {}


def _model_input(path: Path, pre: Preprocessing, normalized: bool) -> np.ndarray:
    pixels = load_pixels(path, pre)
    return normalize(pixels, pre) if normalized else pixels.astype(np.float32)


def _init_worker(model_path: str, pre: Preprocessing, normalized: bool, threads: int) -> None:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ghostedge.tflite import load_interpreter

    _WORKER.update(interp=load_interpreter(model_path, num_threads=threads), pre=pre, normalized=normalized)


def _predict_one(item: Tuple[int, str]) -> Tuple[int, Optional[List[int]], str]:
    """Worker: (position, top-5 class indices or None, reason when skipped)."""
    from ghostedge.tflite import run_single

    position, path = item
    try:
        x = _model_input(Path(path), _WORKER["pre"], _WORKER["normalized"])
    except DataError as exc:
        return position, None, str(exc)
    scores = run_single(_WORKER["interp"], x).reshape(1, -1)
    return position, [int(v) for v in topk_indices(scores)[0]], ""


def predict_tflite(target: EvalTarget, samples: Sequence[Sample], workers: int = 2
                   ) -> Tuple[np.ndarray, List[Tuple[Path, str]]]:
    """Top-5 indices [N, 5] (-1 rows for unreadable images) and the skipped files."""
    items = [(i, str(p)) for i, (p, _) in enumerate(samples)]
    top = np.full((len(items), 5), -1, np.int64)
    skipped: List[Tuple[Path, str]] = []
    args = (str(target.path), target.preprocessing, target.normalized_input, 1)
    desc = f"eval {target.label}"
    if workers <= 1 or len(items) < 8:
        _init_worker(*args)
        results = (_predict_one(item) for item in items)
        _collect(progress(results, total=len(items), desc=desc, unit="img"), top, skipped, samples)
        _WORKER.clear()
        return top, skipped
    ctx = multiprocessing.get_context("spawn")   # no fork of a process holding threads/interpreters
    with ctx.Pool(processes=workers, initializer=_init_worker, initargs=args) as pool:
        results = pool.imap_unordered(_predict_one, items, chunksize=4)
        _collect(progress(results, total=len(items), desc=desc, unit="img"), top, skipped, samples)
    return top, skipped


def _collect(results: Any, top: np.ndarray, skipped: list, samples: Sequence[Sample]) -> None:
    for position, indices, reason in results:
        if indices is None:
            skipped.append((Path(samples[position][0]), reason))
        else:
            top[position, :len(indices)] = indices


def predict_torch(target: EvalTarget, model: Any, samples: Sequence[Sample], workers: int = 2,
                  batch_size: int = 32) -> Tuple[np.ndarray, List[Tuple[Path, str]]]:
    """Top-5 indices [N, 5] of a torch model (normalized NCHW input, batched)."""
    import torch

    torch.set_num_threads(max(1, workers))
    top = np.full((len(samples), 5), -1, np.int64)
    skipped: List[Tuple[Path, str]] = []
    batch: List[np.ndarray] = []
    positions: List[int] = []

    def flush() -> None:
        if not batch:
            return
        x = torch.from_numpy(np.ascontiguousarray(np.stack(batch).transpose(0, 3, 1, 2)))
        with torch.no_grad():
            scores = model(x).float().numpy()
        idx = topk_indices(scores)
        top[positions, :idx.shape[1]] = idx
        batch.clear()
        positions.clear()

    for i, (path, _) in enumerate(progress(samples, total=len(samples), desc=f"eval {target.label}",
                                           unit="img")):
        try:
            batch.append(normalize(load_pixels(path, target.preprocessing), target.preprocessing))
            positions.append(i)
        except DataError as exc:
            skipped.append((Path(path), str(exc)))
        if len(batch) >= batch_size:
            flush()
    flush()
    return top, skipped


def predict_classifier(target: EvalTarget, classifier: Any, samples: Sequence[Sample]
                       ) -> Tuple[np.ndarray, List[Tuple[Path, str]]]:
    """Top-5 indices [N, 5] of a ``ghostedge.appexport.predict.Classifier`` (.onnx models), one
    image at a time in this process."""
    top = np.full((len(samples), 5), -1, np.int64)
    skipped: List[Tuple[Path, str]] = []
    for i, (path, _) in enumerate(progress(samples, total=len(samples), desc=f"eval {target.label}",
                                           unit="img")):
        try:
            pixels = load_pixels(path, target.preprocessing)
        except DataError as exc:
            skipped.append((Path(path), str(exc)))
            continue
        idx = topk_indices(classifier.scores(pixels).reshape(1, -1))[0]
        top[i, :len(idx)] = idx
    return top, skipped


def evaluate_target(target: EvalTarget, samples: Sequence[Sample], model: Any = None,
                    workers: int = 2) -> ModelAccuracy:
    """Top-1/top-5 of one model over ``samples`` (unreadable images are skipped and counted)."""
    started = time.perf_counter()
    if target.kind == "torch":
        top, skipped = predict_torch(target, model, samples, workers)
    elif target.kind == "onnx":
        top, skipped = predict_classifier(target, model, samples)
    else:
        top, skipped = predict_tflite(target, samples, workers)
    keep = top[:, 0] >= 0
    if not keep.any():
        raise DataError(f"No image could be evaluated with {target.label}",
                        f"all {len(samples)} files were unreadable" if len(samples) != 1
                        else "the one file was unreadable", "Check the --data folder")
    labels = np.asarray([label for _, label in samples])[keep]
    acc = accuracy(top[keep], labels)
    ref = reference_columns(target)
    return ModelAccuracy(
        model=target.label, source=target.source, images=int(acc["images"]), top1=acc["top1"],
        top5=acc["top5"], correct1=acc["correct1"], correct5=acc["correct5"], skipped=len(skipped),
        reference_top1=ref.get("top1"), reference_top5=ref.get("top5"),
        flops_g=(2 * target.macs / 1e9) if target.macs else None,
        params_m=(target.params / 1e6) if target.params else None,
        num_classes=target.num_classes, image_size=target.image_size,
        preprocessing=target.preprocessing.describe(), seconds=round(time.perf_counter() - started, 3))


def reference_columns(target: EvalTarget) -> Dict[str, Any]:
    """Published top-1/top-5 for the table (the weights source's, e.g. GhostNet_x1_3_ssld's, else
    the registry variant's); none for models that are not 1000-class ImageNet classifiers."""
    if target.num_classes != 1000:
        return {}
    if target.reference:
        return dict(target.reference)
    return dict(target.spec.reference) if target.spec else {}


def check_fits(target: EvalTarget, dataset: Any) -> None:
    """Refuse a model whose class count does not fit the dataset's labels."""
    labels = [label for _, label in dataset.samples if label is not None]
    top_label = max(labels) if labels else -1
    names = getattr(dataset, "class_names", None)
    if getattr(dataset, "imagenet", False) and target.num_classes != 1000:
        raise DataError(f"{target.label} has {target.num_classes} classes but {dataset.root} is labeled "
                        "with ImageNet's 1000 classes", "class indices would not line up",
                        "Evaluate a 1000-class ImageNet model on this data, or a dataset of "
                        f"{target.num_classes} classes")
    if (names and len(names) != target.num_classes) or top_label >= target.num_classes:
        found = len(names) if names else top_label + 1
        raise DataError(f"{target.label} has {target.num_classes} classes but {dataset.root} has "
                        f"{'at least ' if not names else ''}{found}", "class indices would not line up",
                        "Evaluate the model on data with the classes it was trained on")


def evaluate_all(targets: Sequence[Tuple[EvalTarget, Any]], samples: Sequence[Sample],
                 workers: int = 2) -> List[ModelAccuracy]:
    """Evaluate each (target, torch model or None) on the same samples."""
    results = []
    for target, model in targets:
        log.info("evaluating %s on %s", target.label, counted(len(samples), "image"))
        results.append(evaluate_target(target, samples, model, workers))
    return results
