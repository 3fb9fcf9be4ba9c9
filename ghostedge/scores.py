"""Class scores: softmax and the top-k order with a fixed, unbiased tie-break (one definition for
verification, INT8 fidelity, predict and eval)."""
from __future__ import annotations

import numpy as np

TIEBREAK_SEED = 20200317


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float64."""
    z = np.asarray(x, np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def topk_indices(scores: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices of the ``k`` largest scores per row, best first.

    Exact ties (common in uint8 outputs, whose probabilities step by 1/256) are broken by a fixed
    pseudo-random order of the classes, not by index, so no class is favoured.
    """
    scores = np.atleast_2d(np.asarray(scores))
    k = min(k, scores.shape[1])
    tiebreak = np.random.default_rng(TIEBREAK_SEED).permutation(scores.shape[1])
    order = np.lexsort((np.broadcast_to(tiebreak, scores.shape), -scores), axis=1)
    return order[:, :k]
