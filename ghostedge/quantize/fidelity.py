"""INT8 against FP32 on held-out images: agreement of the outputs, and a per-layer error table.

The per-layer table runs both models with every intermediate tensor kept (no delegate) and
matches activations by tensor name (FP32 and INT8 come from the same SavedModel graph, so
onnx2tf's names line up). For each INT8 activation it reports RMSE in units of its quantization
step, the cosine to the FP32 tensor, and the cosine the op *lost* relative to its inputs —
the column that points at where accuracy goes.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ghostedge.progress import progress
from ghostedge.data.preprocess import Preprocessing, normalize
from ghostedge.errors import QuantizationError

log = logging.getLogger(__name__)

LAYER_IMAGES = 16   # images used for the per-layer table (every tensor is kept: memory-heavy)


def _inputs_for(pixels: np.ndarray, normalized_input: Optional[Preprocessing]) -> np.ndarray:
    x = np.asarray(pixels)
    return normalize(x, normalized_input) if normalized_input is not None else x.astype(np.float32)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.ravel().astype(np.float64)
    b = b.ravel().astype(np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 and nb == 0.0:
        return 1.0
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


MIN_HELDOUT = 10        # fewer held-out images: the agreement figures are anecdotal; say so
LOW_TOP1 = 0.25         # INT8-vs-FP32 top-1 agreement below this (or cosine below LOW_COSINE)
LOW_COSINE = 0.5        # means the INT8 model is not usable as it is; say why that usually is
LIKELY_CAUSES = ("likely causes: untrained or random weights (their softmax probabilities are below "
                 "the uint8 output step 1/256 and all round to 0), or too few or unrepresentative "
                 "calibration images (pass --calib with a few hundred ImageNet samples)")


def output_agreement(fp32: np.ndarray, int8: np.ndarray) -> Dict[str, Any]:
    """Top-1/top-5 agreement, cosine and abs diffs between two [N, classes] output arrays.

    Ties: quantized outputs often have several classes with exactly the same (maximal) value.
    The FP32 top-1 counts as agreeing at top-1 when it is among the INT8 maximal ties, and as
    within the INT8 top-5 when its INT8 value is at least the 5th-largest INT8 value, so the
    figures never depend on how ties happen to be broken. ``top1_tied_images`` says how many
    images had a tie at the INT8 maximum, ``top1_agreement_strict`` counts those as agreeing only
    when the tie is broken (``topk_indices``' fixed order) in favour of the FP32 top-1.
    """
    fp32 = np.asarray(fp32, np.float64)
    int8 = np.asarray(int8, np.float64)
    from ghostedge.scores import topk_indices

    k = min(5, fp32.shape[1])
    top5_fp, top5_q = topk_indices(fp32, k), topk_indices(int8, k)
    top1_fp, top1_q = top5_fp[:, 0], top5_q[:, 0]
    rows = np.arange(len(int8))
    q_at_fp_top1 = int8[rows, top1_fp]
    row_max = int8.max(axis=1)
    ties = (int8 == row_max[:, None]).sum(axis=1)
    tied = ties > 1
    # A tie counts as agreement only among a handful of classes: a constant output (every class
    # tied) says nothing about the FP32 top-1 and must not read as 100 % agreement.
    decisive = ties <= k
    cos = np.array([_cosine(a, b) for a, b in zip(fp32, int8)])
    overlap = [len(set(a) & set(b)) / k for a, b in zip(top5_fp, top5_q)]
    return {
        "images": int(len(fp32)),
        "top1_agreement": float(np.mean((q_at_fp_top1 >= row_max) & decisive)),
        "top1_agreement_strict": float(np.mean(top1_fp == top1_q)),
        "top1_tied_images": int(tied.sum()),
        "top5_agreement": float(np.mean((int8 >= q_at_fp_top1[:, None]).sum(axis=1) <= k)),
        "top5_overlap": float(np.mean(overlap)),
        "tie_rule": "FP32 top-1 agrees when it is among at most 5 tied INT8 maxima; it is in the INT8 "
                    "top-5 when at most 5 classes reach its INT8 value; a constant output never agrees",
        "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
        "max_abs_diff": float(np.max(np.abs(fp32 - int8))),
        "mean_abs_diff": float(np.mean(np.abs(fp32 - int8))),
        "constant_output": bool(np.all(np.ptp(int8, axis=1) == 0)),
    }


def agreement_warnings(figures: Dict[str, Any]) -> List[str]:
    """Plain-language warnings about an INT8-vs-FP32 comparison: a constant INT8 output, very low
    agreement, too few held-out images. Empty when nothing is suspicious."""
    found: List[str] = []
    if figures.get("constant_output"):
        found.append("the INT8 model's output is constant (every class gets the same value, e.g. all "
                     f"0) on all {figures['images']} held-out images: it does not classify; "
                     + LIKELY_CAUSES)
    elif figures["top1_agreement"] < LOW_TOP1 or figures["cosine_mean"] < LOW_COSINE:
        found.append(f"INT8 agrees poorly with FP32 (top-1 {figures['top1_agreement']:.0%}, "
                     f"{figures.get('top1_tied_images', 0)} images with tied maxima, cosine "
                     f"{figures['cosine_mean']:.3f}); " + LIKELY_CAUSES)
    if figures["images"] < MIN_HELDOUT:
        found.append(f"the INT8-vs-FP32 figures rest on only {figures['images']} held-out image(s) "
                     f"(fewer than {MIN_HELDOUT}): treat them as anecdotal; use a --calib dataset "
                     "with more images than --calib-samples so some are held out")
    return found


def _run_all(path: Path, inputs: np.ndarray, desc: str) -> np.ndarray:
    from ghostedge.tflite import load_interpreter, run_single

    interp = load_interpreter(path, num_threads=1)
    return np.concatenate([run_single(interp, x)[None].reshape(1, -1)
                           for x in progress(inputs, total=len(inputs), desc=desc, unit="img")])


def _debug_interpreter(path: Path) -> Any:
    """An interpreter that keeps every intermediate tensor (no XNNPACK, which would fuse them)."""
    import warnings

    from ghostedge.tflite import load_interpreter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_interpreter(path, delegates=False, preserve_all_tensors=True)


def _short_name(name: str) -> str:
    """A readable layer name from onnx2tf's fused tensor names ("a;b;c" → the conv/matmul part)."""
    parts = [p for p in name.split(";") if p]
    keys = ("convolution", "depthwise", "matmul", "MatMul", "concat", "Mean", "mean", "Add", "Mul")
    chosen = next((p for key in keys for p in parts if key in p), parts[0] if parts else name)
    for prefix in ("model_1/", "model/", "StatefulPartitionedCall/"):
        chosen = chosen.replace(prefix, "")
    return chosen


def _match_key(name: str) -> str:
    """Name key shared by the FP32 and INT8 tensors of one activation: fused tensor names differ
    only in the constants folded into them (``Const_87`` vs ``.../Add/y``), so use the first part."""
    return name.split(";", 1)[0]


def _matched_pairs(fp_i: Any, q_i: Any) -> List[tuple]:
    """(op name, INT8 tensor detail, FP32 tensor index, INT8 op inputs) for each matched activation."""
    fp_by_key: Dict[str, list] = {}
    fp_computed = {t for op in fp_i._get_ops_details() for t in op["outputs"]}
    for d in fp_i.get_tensor_details():
        if d["index"] in fp_computed:   # activations only (not weights or unused tensors)
            fp_by_key.setdefault(_match_key(d["name"]), []).append(d)
    q_details = {d["index"]: d for d in q_i.get_tensor_details()}
    pairs = []
    for op in q_i._get_ops_details():
        for t in op["outputs"]:
            qd = q_details.get(t)
            candidates = fp_by_key.get(_match_key(qd["name"]), []) if qd else []
            if len(candidates) != 1 or not float(qd["quantization"][0]):
                continue
            if list(candidates[0]["shape"]) != list(qd["shape"]):
                continue
            pairs.append((op["op_name"], qd, candidates[0]["index"], [i for i in op["inputs"] if i >= 0]))
    return pairs


def layer_errors(fp32_path: Path, int8_path: Path, inputs: np.ndarray, onnx_path: Optional[Path] = None,
                 module_summary: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
    """Per-layer INT8-vs-FP32 errors of every matched activation, worst (most cosine lost) first.

    With ``onnx_path`` (the ONNX the FP32 model was converted from), each row's ``module`` names
    the GhostNet module (see ``ghostedge.quantize.layer_names``; "" when not determined) and
    ``module_summary`` (if given) receives how many weighted ops were matched."""
    from ghostedge.tflite import run_single

    fp_i, q_i = _debug_interpreter(fp32_path), _debug_interpreter(int8_path)
    pairs = _matched_pairs(fp_i, q_i)
    if not pairs:
        raise QuantizationError("No INT8 tensor could be matched to the FP32 model",
                                "the two models do not come from the same graph",
                                "Compare an INT8 model with the FP32 model it was quantized from")
    stats = {qd["index"]: {"sq": 0.0, "n": 0, "cos": []} for _, qd, _, _ in pairs}
    for x in progress(inputs, total=len(inputs), desc="per-layer errors", unit="img"):
        run_single(fp_i, x)
        run_single(q_i, x)
        for _, qd, f_index, _ in pairs:
            scale, zero = qd["quantization"]
            q = (q_i.get_tensor(qd["index"]).astype(np.float32) - zero) * np.float32(scale)
            f = fp_i.get_tensor(f_index).astype(np.float32)
            s = stats[qd["index"]]
            s["sq"] += float(np.sum((q - f) ** 2, dtype=np.float64))
            s["n"] += q.size
            s["cos"].append(_cosine(q, f))
    cos_of = {i: float(np.mean(s["cos"])) for i, s in stats.items()}
    producers = {t: [i for i in op["inputs"] if i >= 0]
                 for op in q_i._get_ops_details() for t in op["outputs"]}

    def input_cosine(t: int, depth: int = 0) -> float:
        """Cosine of an op input: measured, else inherited from its producer (weights, inputs: 1)."""
        if t in cos_of:
            return cos_of[t]
        if t not in producers or depth > 50:
            return 1.0
        return min([input_cosine(i, depth + 1) for i in producers[t]] or [1.0])

    modules: Dict[str, str] = {}
    if onnx_path is not None:
        from ghostedge.quantize.layer_names import tflite_module_names

        modules, summary = tflite_module_names(fp_i, Path(onnx_path), key=_match_key)
        if module_summary is not None:
            module_summary.update(summary)
    rows = []
    for op_name, qd, _, ins in pairs:
        s = stats[qd["index"]]
        cosine = cos_of[qd["index"]]
        before = min([input_cosine(i) for i in ins] or [1.0])
        rmse = float(np.sqrt(s["sq"] / max(1, s["n"])))
        scale = float(qd["quantization"][0])
        rows.append({
            "tensor": qd["name"], "layer": _short_name(qd["name"]),
            "module": modules.get(_match_key(qd["name"]), ""), "op": op_name,
            "shape": [int(v) for v in qd["shape"]], "scale": scale, "rmse": rmse,
            "rmse_over_scale": rmse / scale, "cosine": cosine, "cosine_lost": max(0.0, before - cosine),
        })
    rows.sort(key=lambda r: (-r["cosine_lost"], -r["rmse_over_scale"]))
    return rows


def compare_int8(fp32_path: Union[str, Path], int8_path: Union[str, Path], pixels: np.ndarray,
                 layer_images: int = LAYER_IMAGES, normalized_input: Optional[Preprocessing] = None,
                 onnx_path: Optional[Union[str, Path]] = None) -> Dict[str, Any]:
    """INT8 vs FP32 on held-out raw-pixel images (uint8 NHWC): output agreement and per-layer rows.

    ``normalized_input`` is the preprocessing to apply when the models take normalized input
    (``--bare`` exports); app-ready models take the raw pixels as they are. ``onnx_path``: the
    ONNX the FP32 model was converted from; when given, layer rows get a ``module`` (GhostNet
    module path, matched by weight values) and the result a ``module_names`` summary.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 4 or len(pixels) == 0:
        raise QuantizationError("No held-out images for the INT8 fidelity report",
                                f"got an array of shape {tuple(pixels.shape)}",
                                "Build the calibration set with heldout > 0")
    inputs = _inputs_for(pixels, normalized_input)
    fp32_out = _run_all(Path(fp32_path), inputs, "FP32 on held-out")
    int8_out = _run_all(Path(int8_path), inputs, "INT8 on held-out")
    result = output_agreement(fp32_out, int8_out)
    module_summary: Dict[str, Any] = {}
    rows = layer_errors(Path(fp32_path), Path(int8_path), inputs[:max(1, layer_images)],
                        onnx_path=Path(onnx_path) if onnx_path is not None else None,
                        module_summary=module_summary)
    result.update({"layer_images": int(min(len(inputs), max(1, layer_images))),
                   "layers_matched": len(rows), "layers": rows})
    if onnx_path is not None:
        result["module_names"] = module_summary
    log.info("INT8 vs FP32 on %d held-out images: top-1 agreement %.3f, cosine %.4f",
             result["images"], result["top1_agreement"], result["cosine_mean"])
    result["warnings"] = agreement_warnings(result)
    for text in result["warnings"]:
        log.warning("INT8 fidelity: %s", text)
    return result


def format_layer_table(rows: Sequence[Dict[str, Any]], top: int = 15) -> str:
    """The layers that lose the most, as a markdown table (worst first)."""
    shown = list(rows)[:top]
    with_module = any(r.get("module") for r in rows)
    lines = [f"Per-layer INT8 error (worst {len(shown)} of {len(rows)} matched activations; "
             "'cos lost' = cosine to FP32 lost by this op, 'RMSE/scale' in quantization steps"
             + ("; 'module' = GhostNet module, '(after)' = an op without weights that follows it)"
                if with_module else ")"),
             "| # | layer | " + ("module | " if with_module else "")
             + "op | shape | scale | RMSE/scale | cosine | cos lost |",
             "|--:|:--|" + (":--|" if with_module else "") + ":--|:--|--:|--:|--:|--:|"]
    for i, r in enumerate(shown, 1):
        name = r["layer"] if len(r["layer"]) <= 48 else r["layer"][:45] + "..."
        module = (r.get("module") or "-") + " | " if with_module else ""
        shape = "x".join(str(v) for v in r["shape"][1:]) or "-"
        lines.append(f"| {i} | {name} | {module}{r['op']} | {shape} | {r['scale']:.4g} | "
                     f"{r['rmse_over_scale']:.2f} | {r['cosine']:.4f} | {r['cosine_lost']:.4f} |")
    return "\n".join(lines)
