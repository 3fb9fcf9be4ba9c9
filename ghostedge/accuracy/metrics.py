"""Accuracy from top-k predictions: per-model rows of the seed's table."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Sequence

import numpy as np


@dataclass
class ModelAccuracy:
    """One model's accuracy on one dataset, with the seed table's other columns."""

    model: str                               # row label, e.g. "GhostNet_x1_0 INT8"
    source: str                              # file path or "torch:<name> (<weights>)"
    images: int
    top1: float
    top5: float
    correct1: int
    correct5: int
    skipped: int = 0
    reference_top1: Optional[float] = None
    reference_top5: Optional[float] = None
    flops_g: Optional[float] = None          # 2 × MACs at the model's input size
    params_m: Optional[float] = None
    num_classes: Optional[int] = None
    image_size: Optional[int] = None
    preprocessing: Optional[str] = None
    seconds: Optional[float] = None

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def topk_correct(topk: np.ndarray, labels: Sequence[int]) -> tuple[int, int]:
    """(top-1 hits, top-5 hits) for predictions ``topk`` [N, k] (best first) and true labels."""
    topk = np.asarray(topk)
    labels_arr = np.asarray(labels).reshape(-1, 1)
    if len(topk) == 0:
        return 0, 0
    top1 = int(np.sum(topk[:, 0] == labels_arr[:, 0]))
    top5 = int(np.sum(np.any(topk[:, :5] == labels_arr, axis=1)))
    return top1, top5


def accuracy(topk: np.ndarray, labels: Sequence[int]) -> Dict[str, float]:
    """Top-1 and top-5 accuracy (fractions) with their hit counts."""
    c1, c5 = topk_correct(topk, labels)
    n = max(1, len(labels))
    return {"top1": c1 / n, "top5": c5 / n, "correct1": c1, "correct5": c5, "images": len(labels)}
