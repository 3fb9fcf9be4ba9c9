"""Which TFLite operator each row of a benchmark_model per-operator profile belongs to.

* A TFLite row (``[outputs]:N``: no delegate, or an operator the delegate left) is operator N.
* XNNPACK rows (``Delegate/<XNNPACK operator>:<k>``, current builds; ``k`` counts the operators of
  one delegate partition) between two TFLite rows are matched, in execution order, to the
  operators there by type family (``compatible``: CONV_2D → Convolution, CONCATENATION → a Copy per
  input or Concatenate, MEAN → Global Average Pooling or Mean, ADD → Add or Binary Elementwise, a
  QD8/QP8 Convert → the weighted operator after it, ...). A least-cost alignment (``align_rows``)
  lets an operator take no row (a PAD or activation XNNPACK fused into its neighbour, a RESHAPE or
  the DEQUANTIZE of FP16 weights it dropped: cheap; a conv or elementwise op: dear) or several; a
  row that no operator of its family can take is unmatched.
* benchmark_model merges rows of equal names: a row called N times a run is N operators of several
  partitions that share a name (``Delegate/Copy (NC, X8):3``). Its first call is where it is
  printed; a later partition shows a gap at ``k`` where the others were, and each gap is offered
  the shared rows of that ``k`` (the alignment picks the one whose family fits the operator there).
  Calls left over at the end are unmatched.
* A whole-delegate row (``TfLiteXNNPackDelegate`` of older builds, GPU/NNAPI delegates) cannot be
  split: it holds the operators between its neighbours as one block.
"""
from __future__ import annotations

import collections
import functools
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ghostedge.android_runner.op_profile import OpRow
from ghostedge.convert.op_parts import PREP_OPS, WEIGHTED

Ops = List[Dict[str, Any]]
# XNNPACK operator families a TFLite type may become besides its own name (HARD_SWISH → HardSwish)
_FAMILIES = {"CONV_2D": "convolution|fully connected", "DEPTHWISE_CONV_2D": "(depthwise )?convolution",
             "FULLY_CONNECTED": "dynamic fully connected|batch matrix multiply", "MUL": "multiply",
             "CONCATENATION": "copy|concatenate.*", "MEAN": "global average pooling|global sum pooling|sum",
             "SUB": "subtract", "DIV": "divide", "PAD": "constant pad", "PADV2": "constant pad",
             "RESHAPE": "copy|static reshape", "SQUEEZE": "copy|static reshape", "QUANTIZE": "convert",
             "EXPAND_DIMS": "copy|static reshape|static expand dims", "DEQUANTIZE": "convert",
             "LOGISTIC": "sigmoid", "MAX_POOL_2D": "max pooling", "STRIDED_SLICE": "slice|copy",
             "AVERAGE_POOL_2D": "average pooling|global average pooling", "SLICE": "slice|copy"}
_BINARY = ("ADD", "MUL", "SUB", "DIV", "MINIMUM", "MAXIMUM", "SQUARED_DIFFERENCE", "POW")
_UNARY = ("QUANTIZE", "DEQUANTIZE", "HARD_SWISH", "LOGISTIC", "TANH", "ELU", "LEAKY_RELU", "GELU", "ABS",
          "NEG", "SQRT", "RSQRT", "EXP", "LOG", "FLOOR", "CEIL", "ROUND", "SQUARE")
_FUSABLE = PREP_OPS + ("RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1")
UNMATCHED_COST, GAP_COST, EXTRA_ROW_COST = 4.0, 0.5, 0.3


@functools.lru_cache(maxsize=4096)
def compatible(op: str, xnn_type: str) -> bool:
    """Whether a TFLite operator type (``CONV_2D``) may have become XNNPACK operator ``xnn_type``."""
    family = xnn_type.split(" (")[0].strip().lower()
    if re.sub("[^a-z]", "", family) == re.sub("[^a-z]", "", op.lower()):
        return True
    if family in ("unary elementwise", "clamp"):
        return op in _UNARY or op.startswith("RELU")
    if family == "convert" and op in WEIGHTED:   # dynamic quantization of a weighted op's input
        return re.search(r"\bQ[DP]U?8\b", xnn_type) is not None
    if family == "binary elementwise":
        return op in _BINARY
    return bool(re.fullmatch(_FAMILIES.get(op, "$^"), family))


def align_rows(ops: Ops, types: Sequence[Sequence[str]],
               optional: Sequence[bool] = ()) -> List[Optional[int]]:
    """For each row (its possible XNNPACK types, run order), the index of its operator or None: the
    least-cost monotone alignment, an operator taking 0 to expected+2 compatible rows. ``optional``
    rows (gaps offered shared rows) cost little to leave out."""
    n, m, inf = len(ops), len(types), float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back = [[(0, 0)] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0.0
    for i in range(n + 1):
        for j in range(m + 1):
            c = cost[i][j]
            if c == inf:
                continue
            skip = GAP_COST if j < len(optional) and optional[j] else UNMATCHED_COST
            steps = [(i, j + 1, skip)] if j < m else []
            if i < n:
                o = ops[i]
                steps.append((i + 1, j, 0.1 if o["op"] in _FUSABLE else 6.0 if o["op"] in WEIGHTED else 3.0))
                expected = max(1, int(o["inputs"])) if o["op"] == "CONCATENATION" else 1
                k = 0
                while j + k < m and k < expected + 2 and any(compatible(o["op"], t) for t in types[j + k]):
                    k += 1
                    steps.append((i + 1, j + k, EXTRA_ROW_COST * max(0, k - expected)))
            for ni, nj, extra in steps:
                if c + extra < cost[ni][nj]:
                    cost[ni][nj], back[ni][nj] = c + extra, (i, j)
    out: List[Optional[int]] = [None] * m
    i, j = n, m
    while (i, j) != (0, 0):
        pi, pj = back[i][j]
        if pi == i - 1 and pj < j:
            out[pj:j] = [int(ops[pi]["index"])] * (j - pj)
        i, j = pi, pj
    return out


def xnn_type(row: OpRow) -> str:
    """The XNNPACK operator of a ``Delegate/<operator>:<k>`` row, else the row's node type."""
    found = re.match(r"^Delegate/(.*):\d+$", row.name)
    return found.group(1) if found else row.node_type


@dataclass
class Placement:
    """Per-run time and calls per operator index; rows of no operator; unsplittable delegate rows
    with the operators they ran; calls of shared rows placed in later partitions."""

    times: Dict[int, float] = field(default_factory=lambda: collections.defaultdict(float))
    calls: Dict[int, int] = field(default_factory=collections.Counter)
    unmatched: List[Tuple[OpRow, float]] = field(default_factory=list)
    kernels: List[Tuple[OpRow, List[int]]] = field(default_factory=list)
    shared_calls: int = 0

    def give(self, i: int, ms: float) -> None:
        self.times[i] += ms
        self.calls[i] += 1


def place_rows(rows: Sequence[OpRow], ops: Ops) -> Placement:
    """Put every row's time per run on an operator of ``ops`` (index 0..n-1 in execution order)."""
    n, out = len(ops), Placement()
    anchors = [(k, r.index) for k, r in enumerate(rows) if not r.delegated and not r.is_delegate_kernel
               and r.index is not None and 0 <= r.index < n and r.node_type == ops[r.index]["op"]]
    for k, i in anchors:
        out.give(i, rows[k].per_run_ms)
    bounds, anchored = [(-1, -1)] + anchors + [(len(rows), n)], {i for _, i in anchors}
    shared: Dict[int, List[List[Any]]] = collections.defaultdict(list)   # k: [[row, calls left]]
    for (k0, i0), (k1, i1) in zip(bounds, bounds[1:]):
        seg_rows = rows[k0 + 1:k1]
        seg_ops = [o for o in ops[i0 + 1:max(i0 + 1, i1)] if o["index"] not in anchored]
        out.kernels += [(r, [o["index"] for o in seg_ops]) for r in seg_rows
                        if r.is_delegate_kernel and not r.delegated]
        out.unmatched += [(r, r.per_run_ms) for r in seg_rows if not r.delegated and not r.is_delegate_kernel]
        own = [r for r in seg_rows if r.delegated]
        have = {r.index for r in own}
        gaps = [k for k in shared if k not in have and any(e[1] for e in shared[k])]
        items: List[Tuple[int, Optional[OpRow]]] = sorted(
            [(r.index or 0, r) for r in own] + [(k, None) for k in gaps], key=lambda item: item[0])
        types = [[xnn_type(r)] if r else [xnn_type(e[0]) for e in shared[k] if e[1]] for k, r in items]
        placed = align_rows(seg_ops, types, [r is None for _, r in items])
        for (k, r), i in zip(items, placed):
            if r is not None:
                if i is None:
                    out.unmatched.append((r, r.per_run_ms))
                else:
                    out.give(i, r.avg_ms if r.times_called > 1 else r.per_run_ms)
            elif i is not None:   # a gap: the shared row of this k whose family fits operator i
                entry = next(e for e in shared[k] if e[1] and compatible(str(ops[i]["op"]), xnn_type(e[0])))
                entry[1] -= 1
                out.shared_calls += 1
                out.give(i, entry[0].avg_ms)
        for r in own:
            if r.times_called > 1:
                shared[r.index or 0].append([r, r.times_called - 1])
    out.unmatched += [(e[0], e[0].avg_ms * e[1]) for entries in shared.values() for e in entries if e[1]]
    return out
