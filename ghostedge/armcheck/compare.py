"""The comparator: does ARM compute what x86 computed? Pure numpy, no runtime needed.

Rules (per run against x86 LiteRT on the same inputs):
  * FP32 / FP16 models: max abs difference of the probabilities (softmax of logits for bare
    models) <= ``FLOAT_TOLERANCE`` and the same top-5 for every input (ties aware);
  * INT8 models: identical raw outputs, or values at most ``INT8_MAX_STEPS`` quantization step
    apart with the same top-5; every difference is listed per value in quantization steps;
and, without failing: tflite-runtime's differences, forced-FP16 XNNPACK fidelity, and which
operators XNNPACK took (the rest run on TFLite's builtin kernels).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

# x86 (AVX2/AVX-512) and ARM (NEON) XNNPACK kernels are both exact float32 code that sums and
# fuses in another order: a relative difference of ~1e-5 on the probabilities of a 60-layer
# network. Measured on a GhostNet 1.0x export (random weights, 8 inputs): FP32 2.4e-6, FP16
# export 2.6e-6 at a probability of 0.26. 1e-5 leaves 4x headroom while a kernel that computes
# otherwise moves them by 1e-3 and more (FP16 arithmetic forced on the A76: 9.4e-3).
FLOAT_TOLERANCE = 1e-5
# INT8 requantization rounds fp32 products to integers; a product that lands on a rounding tie can
# go either way in another microkernel (x86 and ARM use different ones). Measured on the same
# export: photos bit-exact, one random input 4 of 1000 values 1 step apart. A real kernel error
# moves values by several steps (tflite-runtime 2.14's other INT8 kernels: up to 29).
INT8_MAX_STEPS = 1
TOP_K = 5
MAX_LISTED_VALUES = 20


def probabilities(raw: np.ndarray, quantization: Sequence[float] = (0.0, 0),
                  logits: bool = False) -> np.ndarray:
    """Raw outputs (N, ...) as float64 probabilities (N, C): dequantized when integer, softmax
    when the model outputs logits."""
    y = raw.reshape(len(raw), -1)
    if y.dtype.kind in "iu":
        scale, zero = float(quantization[0]), int(quantization[1])
        y = (y.astype(np.float64) - zero) * (scale or 1.0)
    else:
        y = y.astype(np.float64)
    if logits:
        z = np.exp(y - y.max(axis=-1, keepdims=True))
        y = z / z.sum(axis=-1, keepdims=True)
    return y


def topk(p: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Indices of the k largest values per row (stable: ties keep index order)."""
    return np.argsort(-p, axis=-1, kind="stable")[:, :k]


def top_matches(ref: np.ndarray, cand: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Per row: is the candidate's top-k the reference's, rank by rank? A rank also agrees when
    the two classes there are tied (equal value) in the reference or in the candidate, so a tie
    broken differently is not a disagreement."""
    k = min(k, ref.shape[-1])
    rt, ct = topk(ref, k), topk(cand, k)
    rows = np.arange(len(ref))[:, None]
    same = (rt == ct) | (ref[rows, rt] == ref[rows, ct]) | (cand[rows, rt] == cand[rows, ct])
    return same.all(axis=-1)


@dataclass
class QuantizedDiff:
    """Differences between two integer outputs, counted in quantization steps."""

    values: int
    differing: int
    max_steps: int
    histogram: Dict[int, int]            # steps -> how many values differ by that many
    listed: List[Dict[str, Any]] = field(default_factory=list)  # the first differing values

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["histogram"] = {str(k): v for k, v in sorted(self.histogram.items())}
        return d


def quantized_steps(ref: np.ndarray, cand: np.ndarray, names: Sequence[str],
                    limit: int = MAX_LISTED_VALUES) -> QuantizedDiff:
    """Compare integer outputs value by value: a difference of 1 is one quantization step."""
    r = ref.reshape(len(ref), -1).astype(np.int64)
    c = cand.reshape(len(cand), -1).astype(np.int64)
    steps = np.abs(c - r)
    where = np.argwhere(steps > 0)
    listed = [{"input": names[i] if i < len(names) else str(i), "index": int(j),
               "reference": int(r[i, j]), "arm": int(c[i, j]), "steps": int(steps[i, j])}
              for i, j in where[:limit]]
    hist = Counter(int(s) for s in steps[steps > 0].ravel())
    return QuantizedDiff(int(steps.size), int(len(where)), int(steps.max(initial=0)), dict(hist), listed)


@dataclass
class Comparison:
    """One run against the reference."""

    samples: int
    max_abs_diff: float
    identical: bool
    top1_agree: int
    top5_agree: int
    quantized: Optional[QuantizedDiff] = None

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["quantized"] = self.quantized.to_dict() if self.quantized else None
        return d


def compare_outputs(ref: np.ndarray, cand: np.ndarray, quantization: Sequence[float] = (0.0, 0),
                    logits: bool = False, names: Sequence[str] = ()) -> Comparison:
    """Compare raw outputs of the same inputs (shape (N, ...)); raises ValueError when the shapes
    or dtypes differ (a different model, not a numeric difference)."""
    if ref.shape != cand.shape or ref.dtype != cand.dtype:
        raise ValueError(f"outputs differ in form: {ref.dtype}{list(ref.shape)} vs "
                         f"{cand.dtype}{list(cand.shape)}")
    pr, pc = probabilities(ref, quantization, logits), probabilities(cand, quantization, logits)
    rows = np.arange(len(pr))
    r1, c1 = topk(pr, 1)[:, 0], topk(pc, 1)[:, 0]
    # a tied maximum (either side) counts as agreeing when the other's top-1 is among the ties
    top1 = (r1 == c1) | (pr[rows, c1] == pr.max(axis=-1)) | (pc[rows, r1] == pc.max(axis=-1))
    quant = quantized_steps(ref, cand, names) if ref.dtype.kind in "iu" else None
    return Comparison(int(len(ref)), float(np.abs(pr - pc).max(initial=0.0)),
                      bool(np.array_equal(ref, cand)), int(top1.sum()),
                      int(top_matches(pr, pc).sum()), quant)


def judge(comparison: Comparison, exact: bool, tolerance: float = FLOAT_TOLERANCE,
          max_steps: int = INT8_MAX_STEPS) -> Optional[str]:
    """None when the run meets its rule, else one line saying how it does not."""
    top5 = (f"top-5 differs on {comparison.samples - comparison.top5_agree} of {comparison.samples} inputs"
            if comparison.top5_agree < comparison.samples else None)
    if exact:
        q = comparison.quantized
        if comparison.identical:
            return None
        if q is None:
            return (f"outputs differ from x86 (max abs diff {comparison.max_abs_diff:.3g}); INT8 must "
                    "be bit-exact")
        if q.max_steps <= max_steps and top5 is None:
            return None
        text = (f"{q.differing} of {q.values} output values differ from x86, by up to {q.max_steps} "
                f"quantization step(s)")
        limit = "INT8 must be bit-exact" if max_steps == 0 else f"at most {max_steps} allowed"
        return "; ".join(t for t in (f"{text} ({limit})", top5) if t)
    problems = []
    if comparison.max_abs_diff > tolerance:
        problems.append(f"max abs difference of probabilities {comparison.max_abs_diff:.3g} > {tolerance:g}")
    if top5:
        problems.append(top5)
    return "; ".join(problems) or None


@dataclass
class Delegation:
    """How many operators a delegate (XNNPACK) took; the rest run on TFLite's builtin kernels."""

    total: int
    delegated: int
    partitions: int
    not_delegated: Dict[str, int]

    @property
    def all_delegated(self) -> bool:
        return self.delegated == self.total

    def summary(self) -> str:
        rest = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in sorted(self.not_delegated.items()))
        text = f"{self.delegated}/{self.total} ops in XNNPACK"
        return text + (f"; builtin kernels: {rest}" if rest else "")

    def to_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "summary": self.summary()}


def delegation(ops: Sequence[Dict[str, Any]]) -> Delegation:
    """From the interpreter's node list (original operators, then DELEGATE nodes with the
    partition's outside inputs and outputs): walk back from each DELEGATE node's outputs to its
    inputs; the operators on the way are the ones the delegate replaced."""
    originals = [(i, op) for i, op in enumerate(ops) if op["op"] != "DELEGATE"]
    producer = {t: i for i, op in originals for t in op["outputs"]}
    taken: set = set()
    partitions = 0
    for node in ops:
        if node["op"] != "DELEGATE":
            continue
        partitions += 1
        boundary = set(node["inputs"])
        stack = list(node["outputs"])
        while stack:
            t = stack.pop()
            if t in boundary or t not in producer or producer[t] in taken:
                continue
            taken.add(producer[t])
            stack.extend(v for v in ops[producer[t]]["inputs"] if v >= 0)
    rest = Counter(op["op"] for i, op in originals if i not in taken)
    return Delegation(len(originals), len(taken), partitions, dict(rest))
