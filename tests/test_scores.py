"""ghostedge.scores: softmax and the unbiased top-k order."""
from __future__ import annotations
import numpy as np
from ghostedge.scores import topk_indices


def test_topk_indices_orders_best_first():
    scores = np.array([[0.1, 0.7, 0.05, 0.15, 0.0, 0.0]])
    assert topk_indices(scores, 3).tolist() == [[1, 3, 0]]
