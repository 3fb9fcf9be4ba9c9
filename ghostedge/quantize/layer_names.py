"""GhostNet module names for the TFLite layers of the per-layer INT8 table.

onnx2tf names TFLite tensors after the TensorFlow ops it created (``tf.nn.convolution_52/...``),
which say nothing about the torch model. The ONNX file exported beside the model names its nodes
after the torch module path (``/net/blocks/blocks.9/blocks.9.0/conv/Conv``). The counters in
onnx2tf's names do *not* follow the ONNX node order (onnx2tf reorders the graph, and turns some
grouped convolutions into CONV_2D and others into DEPTHWISE_CONV_2D), so ops are not matched by
position: each weighted TFLite op (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) of the FP32 model
is matched to the ONNX Conv/Gemm/MatMul whose weight has the same values after the layout
transpose (OIHW → OHWI for convolutions, → 1HWO for depthwise ones). Only unique matches count;
anything else stays unnamed. Ops without weights (ADD, MUL, CONCATENATION, MEAN, PAD, ...) get
the module of the nearest weighted op feeding them, marked `` (after)``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Hashable, List, Sequence, Tuple

import numpy as np

log = logging.getLogger(__name__)

WEIGHTED_TFLITE_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
WEIGHTED_ONNX_OPS = ("Conv", "Gemm", "MatMul")
AFTER = " (after)"
WRAPPER_PREFIX = "net."   # ghostedge.convert.wrapper.AppReadyClassifier keeps the network as .net


def module_path(node_name: str) -> str:
    """Torch module path from a TorchScript-exporter ONNX node name.

    ``/net/blocks/blocks.6/blocks.6.3/ghost1/primary_conv/primary_conv.0/Conv`` →
    ``blocks.6.3.ghost1.primary_conv.0`` (each scope repeats its parent's name; the app-ready
    wrapper's ``net.`` is dropped). Names that are not of that form give "".
    """
    if not node_name.startswith("/"):
        return ""
    scopes = [s for s in node_name.split("/")[1:-1] if s]   # last part: the op ("Conv", "Gemm_3")
    parts: List[str] = []
    last = ""
    for scope in scopes:
        if last and scope.startswith(last + "."):
            parts.append(scope[len(last) + 1:])
        else:
            parts.append(scope)
        last = scope
    path = ".".join(parts)
    if path.startswith(WRAPPER_PREFIX):
        path = path[len(WRAPPER_PREFIX):]
    return path


def weight_layouts(weight: np.ndarray) -> List[np.ndarray]:
    """The TFLite filter layouts an ONNX weight can take: conv OIHW → OHWI (CONV_2D) or 1HWO
    (DEPTHWISE_CONV_2D); a 2-D Gemm/MatMul weight as it is or transposed (FULLY_CONNECTED)."""
    w = np.asarray(weight)
    if w.ndim == 4:
        return [w.transpose(0, 2, 3, 1), w.transpose(1, 2, 3, 0)]
    if w.ndim == 2:
        return [w, w.T]
    return []


def match_weights(onnx_weights: Sequence[Tuple[str, np.ndarray]],
                  tflite_weights: Sequence[Tuple[Hashable, np.ndarray]],
                  rtol: float = 1e-4, atol: float = 1e-6) -> Dict[Hashable, str]:
    """Match TFLite filters to ONNX weights by shape *and* values (one layout of the ONNX weight
    must equal the filter). Returns {tflite key: module} for the pairs that match one-to-one;
    a filter equal to several ONNX weights (or one ONNX weight equal to several filters) is left out."""
    candidates: Dict[Hashable, List[int]] = {}
    for key, filt in tflite_weights:
        f = np.asarray(filt, np.float32)
        hits = []
        for j, (_, w) in enumerate(onnx_weights):
            for layout in weight_layouts(w):
                if layout.shape == f.shape and np.allclose(layout.astype(np.float32), f, rtol=rtol, atol=atol):
                    hits.append(j)
                    break
        candidates[key] = hits
    used: Dict[int, int] = {}
    for hits in candidates.values():
        for j in hits:
            used[j] = used.get(j, 0) + 1
    out: Dict[Hashable, str] = {}
    for key, hits in candidates.items():
        if len(hits) == 1 and used[hits[0]] == 1:
            name = onnx_weights[hits[0]][0]
            if name:
                out[key] = name
    return out


def label_ops(ops: Sequence[Tuple[Sequence[Hashable], Sequence[Hashable]]],
              weighted: Dict[Hashable, str], max_depth: int = 64) -> Dict[Hashable, str]:
    """Module names for every op output: ``weighted`` ({output: module}) as given; any other
    output gets the module of the nearest weighted op upstream (breadth first over its inputs,
    first input first) plus `` (after)``, or nothing when no weighted op feeds it.
    ``ops``: (inputs, outputs) per op, any order."""
    producer_inputs: Dict[Hashable, List[Hashable]] = {}
    for inputs, outputs in ops:
        for t in outputs:
            producer_inputs[t] = list(inputs)
    labels: Dict[Hashable, str] = dict(weighted)
    for t in producer_inputs:
        if t in labels:
            continue
        frontier, seen, found = list(producer_inputs[t]), {t}, ""
        for _ in range(max_depth):
            if not frontier:
                break
            hit = next((weighted[x] for x in frontier if x in weighted), "")
            if hit:
                found = hit
                break
            nxt: List[Hashable] = []
            for x in frontier:
                if x not in seen:
                    seen.add(x)
                    nxt.extend(producer_inputs.get(x, []))
            frontier = nxt
        if found:
            labels[t] = found + AFTER
    return labels


def onnx_weights(onnx_path: Path) -> List[Tuple[str, np.ndarray]]:
    """(module path, weight) of every ONNX Conv/Gemm/MatMul whose weight is an initializer."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    inits = {i.name: i for i in model.graph.initializer}
    out = []
    for node in model.graph.node:
        if node.op_type in WEIGHTED_ONNX_OPS and len(node.input) > 1 and node.input[1] in inits:
            out.append((module_path(node.name), numpy_helper.to_array(inits[node.input[1]])))
    return out


def tflite_module_names(interp: Any, onnx_path: Path,
                        key: Any = None) -> Tuple[Dict[Any, str], Dict[str, Any]]:
    """{tensor key: module} for the op outputs of a *float* TFLite interpreter (the FP32 model:
    its filters are the ONNX weights, unquantized), and a summary of the match. ``key`` turns a
    tensor name into the key used by the caller (default: the name). Never raises: on any
    problem the mapping is empty and the summary says why."""
    key = key or (lambda name: name)
    summary: Dict[str, Any] = {"source": str(onnx_path), "weighted_ops": 0, "matched": 0}
    try:
        weights = onnx_weights(Path(onnx_path))
        details = {d["index"]: d for d in interp.get_tensor_details()}
        ops = interp._get_ops_details()
        filters: List[Tuple[Any, np.ndarray]] = []
        graph: List[Tuple[List[Any], List[Any]]] = []
        for op in ops:
            ins = [key(details[i]["name"]) for i in op["inputs"] if i >= 0]
            outs = [key(details[i]["name"]) for i in op["outputs"] if i >= 0]
            graph.append((ins, outs))
            if op["op_name"] in WEIGHTED_TFLITE_OPS and len(outs) == 1 and len(op["inputs"]) > 1:
                filt = interp.get_tensor(op["inputs"][1])
                if np.issubdtype(filt.dtype, np.floating):
                    filters.append((outs[0], filt))
                summary["weighted_ops"] += 1
        weighted = match_weights(weights, filters)
        summary["matched"] = len(weighted)
        summary["onnx_weighted_nodes"] = len(weights)
        return label_ops(graph, weighted), summary
    except Exception as exc:   # names are a convenience: never fail the fidelity report over them
        log.warning("could not name the layers after GhostNet modules: %s: %s", type(exc).__name__, exc)
        summary["error"] = f"{type(exc).__name__}: {exc}"
        return {}, summary

