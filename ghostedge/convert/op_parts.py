"""The GhostNet part and the MACs of every operator of a converted .tflite: the ``op_parts``
section of the model report, read back by ``ghostedge bench --op-profile``. Parts: ``PARTS``.

Labels come from the graph's structure, so FP32, FP16 and INT8 files of both layouts (timm/Huawei,
PaddleClas) are read alike: a GhostModule is a CONCATENATION of a conv's output x (primary) and a
depthwise conv of x (cheap); SE a MEAN whose result gates, through a few ops, a MUL with the MEAN's
input; shortcut an ADD of two computed tensors, one a GhostModule's output, with the ops feeding
only its other input (a projecting shortcut's depthwise + 1×1 convs); stride_dw a depthwise conv of
a GhostModule's output; stem and head what comes before the first GhostModule and after the last
shortcut ADD (the 1×1 conv after the last bottleneck, pooling, conv_head, classifier, softmax);
other: input normalization, QUANTIZE/DEQUANTIZE at the edges, anything unrecognized. Ops that only
prepare one consumer's input (PAD, DEQUANTIZE of FP16 weights, RESHAPE, requantizing QUANTIZE) take
their consumer's part: XNNPACK fuses or drops most of them, so a profile shows their time in the
consumer's row anyway. Given the ONNX export, each weighted operator is also matched by weight
values to its torch module (``ghostedge.quantize.layer_names``) and both labelings are compared
(``onnx_check``); where they differ the module wins.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple, Union

from ghostedge.tflite import OperatorInfo, TFLiteModel, read_model

log = logging.getLogger(__name__)
PathArg = Union[str, Path]

SCHEMA = 1
PARTS = ("stem", "primary", "cheap", "concat", "stride_dw", "se", "shortcut", "head", "other")
PART_LABELS = {"stem": "stem conv", "primary": "primary 1x1 conv", "cheap": "cheap depthwise op",
               "concat": "concatenation", "stride_dw": "depthwise stride conv", "se": "SE block",
               "shortcut": "shortcut", "head": "head", "other": "other"}
WEIGHTED = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
PREP_OPS = ("PAD", "PADV2", "DEQUANTIZE", "QUANTIZE", "RESHAPE", "SQUEEZE", "EXPAND_DIMS")
_MODULE_PARTS = ((r"^conv_stem$", "stem"), (r"\.primary_conv\.", "primary"),
                 (r"\.cheap_operation\.", "cheap"),
                 (r"\.conv_dw$", "stride_dw"), (r"\.se\.", "se"), (r"\.shortcut\.", "shortcut"),
                 (r"^(conv_head|classifier)$|^blocks\.\d+\.\d+\.conv$", "head"))


def module_part(module: str) -> Optional[str]:
    """The part of a torch module path (``blocks.6.3.ghost1.primary_conv.0`` → ``primary``)."""
    return next((part for pattern, part in _MODULE_PARTS if re.search(pattern, module)), None)


class _Graph:
    """Operators of subgraph 0 with their producers and consumers."""

    def __init__(self, model: TFLiteModel) -> None:
        self.ops: List[OperatorInfo] = model.operators(0)
        self.shapes = [t.shape for t in model.tensors(0)]
        self.inputs = {t.index for t in model.inputs}
        self.outputs = {t.index for t in model.outputs}
        self.producer: Dict[int, int] = {t: op.index for op in self.ops for t in op.outputs}
        self.consumers: Dict[int, List[int]] = {}
        for op, t in ((op, t) for op in self.ops for t in op.inputs):
            self.consumers.setdefault(t, []).append(op.index)

    def data_inputs(self, op: OperatorInfo) -> List[int]:
        """Inputs computed by an operator or fed to the model (not constants)."""
        return [t for t in op.inputs if t >= 0 and (t in self.producer or t in self.inputs)]

    def source(self, tensor: int) -> Optional[int]:
        """The operator that computes ``tensor``, looking through PAD/QUANTIZE/RESHAPE ... ops."""
        op = self.producer.get(tensor)
        for _ in range(8):
            if op is None or self.ops[op].name not in PREP_OPS:
                return op
            ins = self.data_inputs(self.ops[op])
            op = self.producer.get(ins[0]) if len(ins) == 1 else None
        return op

    def is_dw(self, op: OperatorInfo) -> bool:
        """A depthwise conv: DEPTHWISE_CONV_2D, or a CONV_2D grouped one input channel per group."""
        if op.name == "DEPTHWISE_CONV_2D":
            return True
        if op.name != "CONV_2D" or len(op.inputs) < 2:
            return False
        w, x = self.shapes[op.inputs[1]], self.shapes[op.inputs[0]]
        return len(w) == 4 and w[3] == 1 and len(x) == 4 and x[3] > 1

    def macs(self, op: OperatorInfo) -> int:
        """Multiply-accumulates, counted as ``TFLiteModel.macs`` does."""
        w = self.shapes[op.inputs[1]] if op.name in WEIGHTED and len(op.inputs) > 1 and op.outputs else []
        if len(w) != (2 if op.name == "FULLY_CONNECTED" else 4):
            return 0
        per = math.prod(w[1:] if op.name == "CONV_2D" else w[1:3])   # OHWI, 1HWO, [out, in]
        return int(per * math.prod(max(int(v), 1) for v in self.shapes[op.outputs[0]]))


def operator_rows(model: TFLiteModel) -> List[Dict[str, Any]]:
    """``{"index", "op", "macs", "inputs"}`` per operator of subgraph 0 (``inputs``: how many of its
    inputs are computed tensors, not constants; 0 for a DEQUANTIZE of FP16 weights)."""
    g = _Graph(model)
    return [{"index": op.index, "op": op.name, "macs": g.macs(op), "inputs": len(g.data_inputs(op))}
            for op in g.ops]


def label_structure(g: _Graph) -> Tuple[Dict[int, str], Dict[str, int]]:
    """{operator index: part} from the graph's structure, and what was recognized."""
    labels: Dict[int, str] = {}

    def part_of(tensor: int) -> Optional[str]:
        return labels.get(src) if (src := g.source(tensor)) is not None else None

    found = {"ghost_modules": 0, "se_blocks": 0, "shortcut_adds": 0, "stride_dw": 0}
    for c in (op for op in g.ops if op.name == "CONCATENATION"):
        ins = g.data_inputs(c)
        for a, b in ((ins, ins[::-1]) if len(ins) == 2 else ()):
            pa, pb = g.source(a), g.source(b)
            if pa is None or pb is None or g.ops[pa].name != "CONV_2D" or g.is_dw(g.ops[pa]):
                continue
            b_ins = g.data_inputs(g.ops[pb])
            if g.is_dw(g.ops[pb]) and b_ins and g.source(b_ins[0]) == pa:
                labels.update({pa: "primary", pb: "cheap", c.index: "concat"})
                found["ghost_modules"] += 1
                labels.update({j: "concat" for j in g.consumers.get(c.outputs[0], [])
                               if g.ops[j].name in ("STRIDED_SLICE", "SLICE")})
                break
    for m in (op for op in g.ops if op.name == "MEAN" and op.index not in labels):
        if gate := _se_ops(g, m):
            labels.update({i: "se" for i in gate})
            found["se_blocks"] += 1
    for d in g.ops:
        ins = g.data_inputs(d)
        if d.index not in labels and g.is_dw(d) and ins and part_of(ins[0]) == "concat":
            labels[d.index] = "stride_dw"
            found["stride_dw"] += 1
    for a in (op for op in g.ops if op.name == "ADD" and op.index not in labels):
        ins = g.data_inputs(a)
        if len(ins) == 2 and any(part_of(t) == "concat" for t in ins):
            labels[a.index] = "shortcut"
            found["shortcut_adds"] += 1
            _walk_shortcut(g, ins, labels)
    _stem_head_edges(g, labels)
    return labels, found


def _se_ops(g: _Graph, mean: OperatorInfo) -> Set[int]:
    """The ops of the SE block that starts at ``mean``: from it to the MUL that gates its input."""
    x = (g.data_inputs(mean) or [-1])[0]
    sx = g.source(x)
    down, frontier = {mean.index}, [mean.index]
    for _ in range(10):
        nxt = []
        for t in (t for i in frontier for t in g.ops[i].outputs):
            for j in g.consumers.get(t, []):
                ins = [u for u in g.data_inputs(g.ops[j]) if u != t]
                if g.ops[j].name == "MUL" and any(u == x or g.source(u) in ({sx} - {None}) for u in ins):
                    chain, stack = {j}, [j]
                    while stack:   # back from the gating MUL to the MEAN, inside ``down``
                        for p in (g.producer.get(u) for u in g.data_inputs(g.ops[stack.pop()])):
                            if p in down and p not in chain:
                                chain.add(p)
                                stack.append(p)
                    return chain
                if j not in down:
                    down.add(j)
                    nxt.append(j)
        frontier = nxt
    return set()


def _walk_shortcut(g: _Graph, tensors: List[int], labels: Dict[int, str]) -> None:
    """Label the unlabelled ops that feed only this shortcut ADD, back to the block's input."""
    stack = list(tensors)
    while stack:
        t = stack.pop()
        p = g.producer.get(t)
        if p is None or p in labels or len(g.consumers.get(t, [])) != 1:
            continue
        if g.ops[p].name not in PREP_OPS:   # PAD/QUANTIZE take their consumer's part later
            labels[p] = "shortcut"
        stack.extend(g.data_inputs(g.ops[p]))


def _stem_head_edges(g: _Graph, labels: Dict[int, str]) -> None:
    """Stem, head, the model's edges, and the ops that only prepare their consumer's input."""
    primary = [i for i, p in labels.items() if p == "primary"]
    adds = [i for i, p in labels.items() if p == "shortcut" and g.ops[i].name == "ADD"]
    first, last = (min(primary), max(adds)) if primary and adds else (-1, len(g.ops))
    for op in g.ops:
        i = op.index
        if i in labels:
            continue
        if op.name in ("QUANTIZE", "DEQUANTIZE") and (
                set(g.data_inputs(op)) & g.inputs or set(op.outputs) & g.outputs):
            labels[i] = "other"
        elif op.name in PREP_OPS:
            continue
        elif i < first:
            labels[i] = "stem" if op.name in WEIGHTED else "other"
        elif i > last:
            labels[i] = "head"
    changed = True
    while changed:   # prep ops take the part of their consumers (all of one part)
        changed = False
        for op in (o for o in g.ops if o.index not in labels and o.name in PREP_OPS):
            parts = {labels.get(j) for t in op.outputs for j in g.consumers.get(t, [])}
            if len(parts) == 1 and None not in parts:
                labels[op.index], changed = str(parts.pop()), True


@dataclass
class OpParts:
    """Every operator's part and MACs, per-part totals, and how the labels were found."""

    operators: List[Dict[str, Any]]
    recognized: Dict[str, int]
    onnx_check: Optional[Dict[str, Any]] = None
    notes: List[str] = field(default_factory=list)

    @property
    def total_macs(self) -> int:
        return sum(int(o["macs"]) for o in self.operators)

    def parts(self) -> Dict[str, Dict[str, Any]]:
        """{part: {"label", "ops", "macs", "mac_share"}} for the parts present, in ``PARTS`` order."""
        out = {p: {"label": PART_LABELS[p], "ops": 0, "macs": 0} for p in PARTS}
        for o in self.operators:
            out[o["part"]]["ops"] += 1
            out[o["part"]]["macs"] += int(o["macs"])
        total = self.total_macs or 1
        return {p: {**e, "mac_share": round(e["macs"] / total, 6)} for p, e in out.items() if e["ops"]}

    def to_dict(self) -> Dict[str, Any]:
        method = "graph structure" + (", checked against the ONNX module names" if self.onnx_check
                                      and "error" not in self.onnx_check else "")
        return {"schema": SCHEMA, "method": method, "operator_count": len(self.operators),
                "total_macs": self.total_macs, "parts": self.parts(), "recognized": self.recognized,
                "onnx_check": self.onnx_check, "notes": self.notes, "operators": self.operators}


def label_op_parts(tflite_path: PathArg, onnx_path: Optional[PathArg] = None) -> OpParts:
    """Label every operator of a converted GhostNet .tflite with its part (see the module doc)."""
    g = _Graph(read_model(tflite_path))
    labels, found = label_structure(g)
    modules: Dict[int, str] = {}
    check = None
    if onnx_path is not None:
        modules, check = _onnx_modules(Path(tflite_path), g, Path(onnx_path))
        disagree = []
        for i, module in sorted(modules.items()):
            part = module_part(module)
            if part and part != labels.get(i):
                disagree.append(f"#{i} {g.ops[i].name} {module}: structure {labels.get(i)}, module {part}")
                labels[i] = part
        check.update({"agree": len(modules) - len(disagree), "disagree": disagree[:20]})
    operators = [{"index": op.index, "op": op.name, "part": labels.get(op.index, "other"), "macs": g.macs(op),
                  "inputs": len(g.data_inputs(op)), **({"module": modules[op.index]} if op.index in modules
                                                       else {})} for op in g.ops]
    notes = []
    if not found["ghost_modules"]:
        notes.append("no GhostModule (a conv and a depthwise conv of it, concatenated): not a GhostNet?")
    odd = [f"#{o['index']} {o['op']}" for o in operators if o["part"] == "other" and o["op"] in WEIGHTED]
    if odd:
        notes.append("weighted operators of no recognized part: " + ", ".join(odd[:10]))
    return OpParts(operators, found, check, notes)


def op_parts_section(tflite_path: PathArg, onnx_path: Optional[PathArg] = None) -> Dict[str, Any]:
    """The JSON-ready ``op_parts`` section of a converted model's report."""
    return label_op_parts(tflite_path, onnx_path).to_dict()


def _onnx_modules(tflite_path: Path, g: _Graph, onnx_path: Path) -> Tuple[Dict[int, str], Dict[str, Any]]:
    """{operator index: torch module} for the weighted operators whose filter (FP32, FP16, or INT8
    dequantized) equals one ONNX weight. Never raises: on a problem the summary says why."""
    summary: Dict[str, Any] = {"source": onnx_path.name, "weighted_ops": 0, "named": 0}
    try:
        import numpy as np

        from ghostedge.quantize.layer_names import match_weights, onnx_weights
        from ghostedge.tflite import load_interpreter

        weights, interp = onnx_weights(onnx_path), load_interpreter(tflite_path, delegates=False)
        details = {d["index"]: d for d in interp.get_tensor_details()}
        claims: Dict[str, List[int]] = {}
        for op in (o for o in g.ops if o.name in WEIGHTED and len(o.inputs) > 1):
            summary["weighted_ops"] += 1
            t, p = op.inputs[1], g.producer.get(op.inputs[1])
            t = g.ops[p].inputs[0] if p is not None and g.ops[p].name == "DEQUANTIZE" else t  # FP16 weights
            filt = np.asarray(interp.get_tensor(t))
            rtol, atol = (1e-4, 1e-6) if filt.dtype == np.float32 else (1e-3, 1e-6)
            q = details[t].get("quantization_parameters", {})
            scales, zeros = np.asarray(q.get("scales", []), np.float32), np.asarray(q.get("zero_points", []))
            if filt.dtype.kind in "iu" and scales.size:   # INT8: dequantized, within half a step
                shape = [1] * filt.ndim
                shape[int(q.get("quantized_dimension", 0))] = -1 if len(scales) > 1 else 1
                filt = (filt.astype(np.float32) - zeros.reshape(shape)) * scales.reshape(shape)
                rtol, atol = 0.0, 0.51 * float(scales.max())
            hit = match_weights(weights, [(op.index, filt.astype(np.float32))], rtol=rtol, atol=atol)
            if op.index in hit:
                claims.setdefault(hit[op.index], []).append(op.index)
        modules = {idx[0]: name for name, idx in claims.items() if len(idx) == 1}
        summary["named"] = len(modules)
        return modules, summary
    except Exception as exc:   # names are a cross-check: never fail the report over them
        log.warning("could not match the operators to the ONNX modules: %s: %s", type(exc).__name__, exc)
        summary["error"] = f"{type(exc).__name__}: {exc}"
        return {}, summary
