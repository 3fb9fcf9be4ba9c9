"""Verification, every time: run the written model on real photos and seeded random inputs and
compare it with torch (same wrapper). A model outside its bounds raises VerificationError."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ghostedge.data.preprocess import Preprocessing, for_image_size, load_pixels, normalize
from ghostedge.errors import VerificationError
from ghostedge.scores import softmax

log = logging.getLogger(__name__)

RANDOM_INPUTS = 3
RANDOM_SEED = 0
LOG_FLOOR = 1e-30  # probabilities below this are clipped before taking logs

# Bounds a model must meet (None: recorded, not enforced). Probabilities are compared directly;
# "logit" figures use centered log-probabilities for app-ready models (softmax-invariant logits)
# and centered logits for bare ones. FP16 stores weights in half precision (relative rounding
# 4.9e-4); the measured logit error of GhostNet is ~1e-3, so 2e-2 on probabilities and a cosine
# of 0.999 leave a wide margin while still catching a broken conversion.
BOUNDS: Dict[str, Dict[str, Optional[float]]] = {
    "onnx": {"prob_max_abs_diff": 1e-4, "logit_cosine_min": 0.9999},
    "fp32": {"prob_max_abs_diff": 1e-4, "logit_cosine_min": 0.9999},
    "fp16": {"prob_max_abs_diff": 2e-2, "logit_cosine_min": 0.999},
    "int8": {"prob_max_abs_diff": None, "logit_cosine_min": None},
}


@dataclass
class Reference:
    """Inputs (float32 NHWC, what the TFLite model takes) and torch's outputs for them."""

    names: List[str]
    inputs_nhwc: np.ndarray
    outputs: np.ndarray
    bare: bool

    @property
    def inputs_nchw(self) -> np.ndarray:
        return np.ascontiguousarray(self.inputs_nhwc.transpose(0, 3, 1, 2))


def verification_inputs(images: Sequence[Path], pre: Preprocessing, image_size: int,
                        bare: bool) -> tuple[List[str], np.ndarray]:
    """Photos through the shared preprocessing plus seeded random pixels: float32 NHWC, raw
    pixels 0..255 for app-ready models, normalized for bare ones."""
    pre = for_image_size(pre, image_size)
    pixels = [load_pixels(p, pre).astype(np.float32) for p in images]
    rng = np.random.default_rng(RANDOM_SEED)
    pixels += [rng.uniform(0, 255, (image_size, image_size, 3)).astype(np.float32)
               for _ in range(RANDOM_INPUTS)]
    names = [Path(p).name for p in images] + [f"random-{i}" for i in range(RANDOM_INPUTS)]
    batch = np.stack(pixels)
    if bare:
        batch = normalize(batch, pre)
    return names, batch.astype(np.float32)


def build_reference(module: Any, names: List[str], inputs_nhwc: np.ndarray, bare: bool) -> Reference:
    """Run the torch export module on every verification input."""
    from ghostedge.convert.wrapper import torch_forward

    nchw = np.ascontiguousarray(inputs_nhwc.transpose(0, 3, 1, 2))
    outputs = np.concatenate([torch_forward(module, nchw[i:i + 1]) for i in range(len(nchw))])
    return Reference(names, inputs_nhwc, outputs.astype(np.float32), bare)


def _centered_logits(outputs: np.ndarray, bare: bool) -> np.ndarray:
    logits = outputs.astype(np.float64) if bare else np.log(np.maximum(outputs.astype(np.float64), LOG_FLOOR))
    return logits - logits.mean(axis=-1, keepdims=True)


def _row_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), 1e-30)


def fidelity(reference: np.ndarray, candidate: np.ndarray, bare: bool,
             quantized_probabilities: bool = False) -> Dict[str, Any]:
    """Max abs diff (probabilities and logits), logit cosine, top-1/top-5 agreement.

    ``quantized_probabilities``: the candidate outputs probabilities in steps of a quantization
    scale (INT8 app-ready model, uint8 output: most classes are exactly 0). Logs of those are
    meaningless (log(0) is clipped to ``LOG_FLOOR``), so it is compared in probability space only:
    ``prob_cosine_min``/``prob_cosine_mean``, ``prob_max_abs_diff`` and top-k, with
    ``comparison_space`` saying so and no logit figures.
    """
    ref_p = softmax(reference) if bare else reference.astype(np.float64)
    cand_p = softmax(candidate) if bare else candidate.astype(np.float64)
    top5_ref = np.argsort(-ref_p, axis=-1, kind="stable")[:, :5]
    top5_cand = np.argsort(-cand_p, axis=-1, kind="stable")[:, :5]
    overlap = [len(set(a) & set(b)) / 5.0 for a, b in zip(top5_ref, top5_cand)]
    common = {
        "samples": int(len(reference)),
        "prob_max_abs_diff": float(np.abs(ref_p - cand_p).max()),
        "raw_output_max_abs_diff": float(np.abs(reference.astype(np.float64) - candidate).max()),
        "top1_agreement": float(np.mean(top5_ref[:, 0] == top5_cand[:, 0])),
        "top5_agreement": float(np.mean(overlap)),
    }
    if quantized_probabilities and not bare:
        # tied quantized maxima: the one tie rule of ghostedge.quantize.fidelity (the reference's
        # top-1 agrees when it is among at most 5 tied maxima; a constant output never agrees)
        from ghostedge.quantize.fidelity import output_agreement

        agreement = output_agreement(ref_p, cand_p)
        common["top1_agreement"] = agreement["top1_agreement"]
        common["constant_output"] = agreement["constant_output"]
        pcos = _row_cosine(ref_p, cand_p)
        return {**common, "prob_cosine_min": float(pcos.min()), "prob_cosine_mean": float(pcos.mean()),
                "comparison_space": "probabilities (quantized probability output; logit-space "
                                    "figures are not meaningful for it)"}
    ref_l, cand_l = _centered_logits(reference, bare), _centered_logits(candidate, bare)
    cos = _row_cosine(ref_l, cand_l)
    space = "centered logits" if bare else "centered log-probabilities"
    return {**common, "logit_max_abs_diff": float(np.abs(ref_l - cand_l).max()),
            "logit_cosine_min": float(cos.min()), "logit_cosine_mean": float(cos.mean()),
            "logit_space": space, "comparison_space": space}


def run_tflite(path: Path, inputs_nhwc: np.ndarray) -> np.ndarray:
    """Outputs of a .tflite file (LiteRT, fallback tflite-runtime) for each input, float32."""
    from ghostedge.tflite import load_interpreter, run_single

    interp = load_interpreter(path, num_threads=2)
    return np.concatenate([run_single(interp, inputs_nhwc[i:i + 1]) for i in range(len(inputs_nhwc))])


def run_onnx(path: Path, inputs_nchw: np.ndarray) -> np.ndarray:
    """Outputs of an .onnx file with onnxruntime (CPU) for each input."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: inputs_nchw[i:i + 1]})[0]
                           for i in range(len(inputs_nchw))]).astype(np.float32)


def check_bounds(kind: str, figures: Dict[str, Any], label: str) -> Dict[str, Any]:
    """Raise VerificationError when ``figures`` break the bounds of ``kind``; return the bounds."""
    bounds = BOUNDS.get(kind, {})
    limit = bounds.get("prob_max_abs_diff")
    if limit is not None and figures["prob_max_abs_diff"] > limit:
        raise VerificationError(
            f"{label} does not match torch", f"max abs difference of probabilities "
            f"{figures['prob_max_abs_diff']:.3g} exceeds {limit:g} on {figures['samples']} inputs",
            "The file was not kept; rerun with --debug and report it")
    floor = bounds.get("logit_cosine_min")
    if floor is not None and figures.get("logit_cosine_min", figures.get("prob_cosine_min", 1.0)) < floor:
        raise VerificationError(
            f"{label} does not match torch", f"logit cosine {figures['logit_cosine_min']:.6f} "
            f"is below {floor:g}", "The file was not kept; rerun with --debug and report it")
    return bounds


def verify_model(path: Path, reference: Reference, kind: str, label: str) -> Dict[str, Any]:
    """Run ``path`` (.tflite, or .onnx for kind "onnx") on the reference inputs, compare with
    torch, enforce the bounds of ``kind``. Returns the fidelity figures with bounds and inputs."""
    if kind == "onnx":
        outputs = run_onnx(path, reference.inputs_nchw)
    else:
        outputs = run_tflite(path, reference.inputs_nhwc)
    if outputs.shape != reference.outputs.shape:
        raise VerificationError(f"{label} has the wrong output shape",
                                f"{list(outputs.shape)} instead of {list(reference.outputs.shape)}")
    figures = fidelity(reference.outputs, outputs, reference.bare,
                       quantized_probabilities=(kind == "int8" and not reference.bare))
    cos_key = "logit_cosine_min" if "logit_cosine_min" in figures else "prob_cosine_min"
    log.info("%s vs torch: prob max abs %.3g, %s %.6f", label, figures["prob_max_abs_diff"],
             cos_key.replace("_", " "), figures[cos_key])
    bounds = check_bounds(kind, figures, label)
    figures["bounds"] = bounds
    figures["inputs"] = list(reference.names)
    return figures
