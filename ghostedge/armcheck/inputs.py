"""What every runtime is fed, and what x86 computes for it.

Inputs are built once on the host in the model's own input dtype and fed byte for byte to x86
and to every ARM run: the bundled photos, preprocessed as the model's report says (else
torchvision's preset scaled to the input size), as raw pixels for app-ready models (uint8 pixels
as they are for INT8 app-ready models) or normalized for ``--bare`` ones, plus seeded random
inputs. The reference is x86 LiteRT at one thread (1 and 2 threads are bit-identical there).
"""
from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ghostedge.armcheck.errors import ArmCheckError

log = logging.getLogger(__name__)

RANDOM_SEED = 0


@dataclass
class ModelInputs:
    """The input batch: ``array`` has shape (N, *model input shape) in the model's dtype."""

    names: List[str]
    photos: int
    array: np.ndarray
    description: str


@dataclass
class Reference:
    """x86 LiteRT's raw outputs (N, *output shape) for :class:`ModelInputs`."""

    runtime: str
    outputs: Optional[np.ndarray]
    output_dtype: str = "float32"
    output_quantization: tuple = (0.0, 0)
    ops: List[Dict[str, Any]] = field(default_factory=list)
    invoke_s: float = 0.0
    error: Optional[str] = None


def io_of(interp: Any, source: str) -> tuple:
    """(input detail, output detail) of a single-input model, else ArmCheckError."""
    inputs, outputs = interp.get_input_details(), interp.get_output_details()
    if len(inputs) != 1 or not outputs:
        raise ArmCheckError(f"Cannot check {source}", f"it has {len(inputs)} inputs and "
                            f"{len(outputs)} outputs", "ghostedge check takes single-input models")
    return inputs[0], outputs[0]


def _quantize(values: np.ndarray, dtype: np.dtype, quant: Sequence[float]) -> np.ndarray:
    scale, zero = float(quant[0]), int(quant[1])
    info = np.iinfo(dtype)
    if scale:
        values = np.round(values.astype(np.float64) / scale + zero)
    return np.clip(values, info.min, info.max).astype(dtype)


def image_side(shape: Sequence[int]) -> Optional[tuple]:
    """("NHWC"|"NCHW", side) for a square RGB image input of batch 1, else None."""
    s = [int(v) for v in shape]
    if len(s) == 4 and s[0] == 1 and s[3] == 3 and s[1] == s[2] > 0:
        return "NHWC", s[1]
    if len(s) == 4 and s[0] == 1 and s[1] == 3 and s[2] == s[3] > 0:
        return "NCHW", s[2]
    return None


def model_inputs(input_detail: Dict[str, Any], report: Any = None, photos: bool = True,
                 random_inputs: int = 3, seed: int = RANDOM_SEED) -> ModelInputs:
    """Photos (when the input is an image) plus ``random_inputs`` seeded random inputs.
    ``report`` is the model's ModelReport (or None): its preprocessing and app-ready flag."""
    from ghostedge.data.preprocess import (bundled_photos, for_image_size, get_preset, load_pixels,
                                           normalize)

    shape = [int(v) for v in input_detail["shape"]]
    dtype = np.dtype(input_detail["dtype"])
    quant = input_detail.get("quantization", (0.0, 0))
    rng = np.random.default_rng(seed)
    image = image_side(shape)
    bare = report is not None and getattr(report, "app_ready", None) is False
    names: List[str] = []
    values: List[np.ndarray] = []
    if image is not None:
        layout, side = image
        pre_name = (report.preprocessing_name if report is not None else None) or "torchvision"
        pre = for_image_size(get_preset(pre_name), side)
        files = bundled_photos() if photos else []
        pixels = [load_pixels(p, pre).astype(np.float32) for p in files]
        pixels += [rng.uniform(0, 255, (side, side, 3)).astype(np.float32) for _ in range(random_inputs)]
        names = [p.name for p in files] + [f"random-{i}" for i in range(random_inputs)]
        for px in pixels:
            v = normalize(px, pre) if bare else px
            v = v.transpose(2, 0, 1) if layout == "NCHW" else v
            values.append(v[None])
        space = "normalized values" if bare else "raw pixels 0..255"
        desc = (f"{len(files)} bundled photos ({pre.name} preprocessing, {side}x{side}, {space}) + "
                f"{random_inputs} seeded random")
        n_photos = len(files)
    else:
        for i in range(random_inputs):
            if dtype.kind in "iu":
                info = np.iinfo(dtype)
                values.append(rng.integers(info.min, int(info.max) + 1, shape).astype(np.float64))
            else:
                values.append(rng.standard_normal(shape).astype(np.float32))
            names.append(f"random-{i}")
        desc, n_photos = f"{random_inputs} seeded random inputs (seed {seed})", 0
    if not values:
        raise ArmCheckError("No inputs to check with", "photos are off and no random inputs were asked for",
                            "Use at least one random input or the bundled photos")
    if dtype.kind in "iu":
        raw_pixels = image is not None and not bare and dtype == np.uint8
        batch = np.stack([np.clip(np.round(v), 0, 255).astype(np.uint8) if raw_pixels else
                          (v.astype(dtype) if image is None else _quantize(v, dtype, quant))
                          for v in values])
    else:
        batch = np.stack([v.astype(dtype) for v in values])
    return ModelInputs(names, n_photos, batch, desc)


def run_raw(interp: Any, inputs: np.ndarray) -> tuple:
    """Feed each row of ``inputs`` as it is; (raw outputs stacked, invoke times)."""
    inp, out = io_of(interp, "the model")
    ys, times = [], []
    for x in inputs:
        interp.set_tensor(inp["index"], x.reshape(inp["shape"]))
        t0 = time.perf_counter()
        interp.invoke()
        times.append(time.perf_counter() - t0)
        ys.append(np.array(interp.get_tensor(out["index"]), copy=True))
    return np.stack(ys), times


def op_records(interp: Any) -> List[Dict[str, Any]]:
    """Operators in execution order (DELEGATE nodes included), as the guest reports them."""
    return [{"op": str(d["op_name"]), "inputs": [int(v) for v in d["inputs"]],
             "outputs": [int(v) for v in d["outputs"]]} for d in interp._get_ops_details()]


def x86_reference(model: Path, inputs: ModelInputs) -> Reference:
    """Run ``model`` with the host's LiteRT (loaded in a child process first, so a file that
    would crash the native runtime is an error here) on ``inputs``. A model the host cannot load
    gives a Reference with ``error`` set (the ARM runs still show what ARM does with it)."""
    from ghostedge.errors import GhostEdgeError
    from ghostedge.stderr_capture import native_stderr_to_log
    from ghostedge.tflite import interpreter_class, load_interpreter

    _, runtime = interpreter_class()
    try:
        interp = load_interpreter(model, num_threads=1, probe=True)
    except GhostEdgeError as exc:
        return Reference(f"x86 {runtime}", None, error=exc.why or exc.one_line())
    out = interp.get_output_details()[0]
    with native_stderr_to_log():
        outputs, times = run_raw(interp, inputs.array)
    return Reference(f"x86 {runtime}", outputs, str(outputs.dtype),
                     (float(out["quantization"][0]), int(out["quantization"][1])), op_records(interp),
                     statistics.median(times))


def input_detail(model: Any) -> Dict[str, Any]:
    """The single input of a parsed model (:class:`ghostedge.tflite.TFLiteModel`) in the form of
    the interpreter's input details."""
    inputs = model.inputs
    if len(inputs) != 1:
        raise ArmCheckError(f"Cannot check {model.source}", f"it has {len(inputs)} inputs",
                            "ghostedge check takes single-input models")
    t = inputs[0]
    return {"shape": np.array(t.shape), "dtype": np.dtype(t.dtype), "quantization": (t.scale, t.zero_point)}
