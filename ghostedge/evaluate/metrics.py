"""Accuracy from top-k predictions, and model cost (MACs, parameters) counted from a .tflite."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np


@dataclass
class EvalResult:
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


def topk_indices(scores: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices of the ``k`` largest scores per row, best first.

    Exact ties (common in uint8 outputs, whose probabilities step by 1/256) are broken by a fixed
    pseudo-random order of the classes, not by index, so no class is favoured.
    """
    scores = np.atleast_2d(np.asarray(scores))
    k = min(k, scores.shape[1])
    tiebreak = np.random.default_rng(20200317).permutation(scores.shape[1])
    order = np.lexsort((np.broadcast_to(tiebreak, scores.shape), -scores), axis=1)
    return order[:, :k]


def accuracy(topk: np.ndarray, labels: Sequence[int]) -> Dict[str, float]:
    """Top-1 and top-5 accuracy (fractions) with their hit counts."""
    c1, c5 = topk_correct(topk, labels)
    n = max(1, len(labels))
    return {"top1": c1 / n, "top5": c5 / n, "correct1": c1, "correct5": c5, "images": len(labels)}


def tflite_macs(path: Union[str, Path]) -> int:
    """Multiply-accumulates of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED ops in a .tflite."""
    from ghostedge.quantize.check import _enum_names, _schema, read_model

    schema = _schema()
    model = read_model(path)
    op_names = _enum_names(schema.BuiltinOperator)
    codes = []
    for i in range(model.OperatorCodesLength()):
        c = model.OperatorCodes(i)
        codes.append(op_names.get(max(int(c.BuiltinCode()), int(c.DeprecatedBuiltinCode())), ""))
    sg = model.Subgraphs(0)

    def shape(t: int) -> list:
        tensor = sg.Tensors(t)
        return [int(v) for v in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []

    total = 0
    for o in range(sg.OperatorsLength()):
        op = sg.Operators(o)
        name = codes[op.OpcodeIndex()]
        ins = [int(v) for v in op.InputsAsNumpy()]
        out = shape(int(op.OutputsAsNumpy()[0]))
        if name == "CONV_2D":            # weights [Cout, kh, kw, Cin]
            w = shape(ins[1])
            total += int(np.prod(out)) * w[1] * w[2] * w[3]
        elif name == "DEPTHWISE_CONV_2D":  # weights [1, kh, kw, Cout]
            w = shape(ins[1])
            total += int(np.prod(out)) * w[1] * w[2]
        elif name == "FULLY_CONNECTED":  # weights [Cout, Cin]
            w = shape(ins[1])
            total += int(np.prod(out)) * w[1]
    return total


def torch_macs(model: Any, image_size: int) -> int:
    """Multiply-accumulates of Conv2d and Linear layers for one image (one traced forward pass)."""
    import torch

    total = [0]

    def hook(module: Any, _inp: Any, out: Any) -> None:
        if isinstance(module, torch.nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total[0] += int(out.numel()) * k
        elif isinstance(module, torch.nn.Linear):
            total[0] += int(out.numel()) * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, image_size, image_size))
    finally:
        for h in handles:
            h.remove()
    return total[0]
