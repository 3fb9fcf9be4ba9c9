"""Running .tflite models: LiteRT (``ai-edge-litert``) first, ``tflite-runtime`` as fallback.

Every file is checked structurally (``ghostedge.tflite.verify``) before the native interpreter
sees it; a file the checks cannot vouch for is loaded in a child process first (``probe``), so a
damaged model is a clear error, never a crash. Needs numpy only.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import numpy as np

from ghostedge.errors import InvalidModelError, RuntimeMissingError
from ghostedge.stderr_capture import native_stderr_to_log
from ghostedge.tflite.model import TensorInfo, check_tflite_file

log = logging.getLogger(__name__)


def interpreter_class() -> tuple[Any, str]:
    """The Interpreter class and the runtime's name ("ai-edge-litert X" / "tflite-runtime X")."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, f"ai-edge-litert {_version('ai-edge-litert')}"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter  # type: ignore[no-redef]

        return Interpreter, f"tflite-runtime {_version('tflite-runtime')}"
    except ImportError:
        raise RuntimeMissingError(
            "No TFLite runtime is installed", "neither ai-edge-litert nor tflite-runtime imports",
            "pip install ai-edge-litert (or tflite-runtime)") from None


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def checked_model_file(path: Union[str, Path], probe: bool = False) -> Path:
    """``path`` once it is proven safe to hand to the native interpreter: the structural check,
    and with ``probe`` a load in a child process (for files from outside ghostedge)."""
    from ghostedge.tflite.verify import verify_tflite_file

    path = check_tflite_file(path)
    verify_tflite_file(path)
    if probe:
        from ghostedge.tflite.probe import probe_load

        probe_load(path)
    return path


def load_interpreter(path: Union[str, Path], num_threads: Optional[int] = None, *,
                     delegates: bool = True, preserve_all_tensors: bool = False,
                     probe: bool = False) -> Any:
    """Load a checked .tflite file into an allocated interpreter (XNNPACK by default;
    ``delegates=False`` gives the plain builtin kernels, ``preserve_all_tensors`` keeps every
    intermediate tensor readable, ``probe`` loads it in a child process first)."""
    path = checked_model_file(path, probe=probe)
    cls, _ = interpreter_class()
    kwargs: Dict[str, Any] = {"model_path": str(path), "num_threads": num_threads}
    if preserve_all_tensors:
        kwargs["experimental_preserve_all_tensors"] = True
    if not delegates:
        module = __import__(cls.__module__, fromlist=["OpResolverType"])
        resolver = getattr(module, "OpResolverType", None)
        if resolver is not None:  # tflite-runtime 2.14 applies no default delegate to these anyway
            kwargs["experimental_op_resolver_type"] = resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    try:
        with native_stderr_to_log():
            interp = cls(**kwargs)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        lines = str(exc).strip().splitlines()
        raise InvalidModelError(f"Cannot load {path}", lines[-1] if lines else type(exc).__name__,
                                "Check that the file is a complete .tflite model") from exc
    return interp


def _tensor_info(d: Dict[str, Any]) -> TensorInfo:
    scale, zero = d.get("quantization", (0.0, 0))
    return TensorInfo(d["name"], int(d["index"]), [int(v) for v in d["shape"]],
                      np.dtype(d["dtype"]).name, float(scale), int(zero))


def io_details(interp: Any) -> Dict[str, List[TensorInfo]]:
    """Inputs and outputs of a loaded interpreter."""
    return {"inputs": [_tensor_info(d) for d in interp.get_input_details()],
            "outputs": [_tensor_info(d) for d in interp.get_output_details()]}


def quantize_input(x: np.ndarray, detail: Dict[str, Any]) -> np.ndarray:
    """Float values → the input tensor's dtype (quantized with its scale/zero point if it has one)."""
    dtype = np.dtype(detail["dtype"])
    if dtype.kind in "iu":
        scale, zero = detail["quantization"]
        if scale:
            info = np.iinfo(dtype)
            x = np.clip(np.round(x.astype(np.float32) / scale + zero), info.min, info.max)
    return x.astype(dtype)


def dequantize_output(y: np.ndarray, detail: Dict[str, Any]) -> np.ndarray:
    """An output tensor as float32 (dequantized with its scale/zero point if it has one)."""
    if np.dtype(detail["dtype"]).kind in "iu":
        scale, zero = detail["quantization"]
        if scale:
            return (y.astype(np.float32) - zero) * np.float32(scale)
    return y.astype(np.float32)


def run_single(interp: Any, x: np.ndarray) -> np.ndarray:
    """Run one input (batch 1) through a single-input, single-output interpreter; quantized
    inputs are quantized and quantized outputs dequantized, so callers always see float32."""
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    if x.ndim == len(inp["shape"]) - 1:
        x = x[None]
    interp.set_tensor(inp["index"], quantize_input(x, inp))
    interp.invoke()
    return dequantize_output(interp.get_tensor(out["index"]), out)
