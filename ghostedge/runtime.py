"""TFLite runtime access: LiteRT (``ai-edge-litert``) first, ``tflite-runtime`` as fallback.

Used by verification, eval, predict, inspect and the local benchmark. Needs numpy only.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

import numpy as np

from ghostedge.errors import GhostEdgeError, RuntimeMissingError

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


@contextlib.contextmanager
def native_stderr_to_log(logger: logging.Logger = log) -> Iterator[None]:
    """Route what native code writes to file descriptor 2 (e.g. LiteRT's "INFO: Created TensorFlow
    Lite XNNPACK delegate for CPU.") into debug log lines instead of the user's terminal."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (embedded, some test runners)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode("utf-8", "replace").splitlines():
                if line.strip():
                    logger.debug("native: %s", line)


def tflite_schema(error: type = GhostEdgeError, action: str = "Cannot read .tflite flatbuffers") -> Any:
    """The generated TFLite flatbuffer schema module (ships with ai-edge-litert, else tensorflow)."""
    try:
        from ai_edge_litert import schema_py_generated as schema
    except ImportError:
        try:
            from tensorflow.lite.python import schema_py_generated as schema  # type: ignore[no-redef]
        except ImportError:
            raise error(action, "the TFLite schema module is missing (it ships with ai-edge-litert "
                        "and tensorflow)", "pip install ai-edge-litert") from None
    return schema


def check_tflite_file(path: Union[str, Path], error: type = GhostEdgeError) -> Path:
    """Return ``path`` if it is an existing file with the TFL3 identifier, else raise ``error``."""
    path = Path(path)
    if not path.is_file():
        raise error(f"Model {path} does not exist", "no such file", "Check the path")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if len(head) < 8 or head[4:8] != b"TFL3":
        raise error(f"{path} is not a .tflite model", "the file lacks the TFL3 identifier",
                    "Pass a .tflite file written by `ghostedge convert` or a TFLite converter")
    return path


def load_interpreter(path: Union[str, Path], num_threads: Optional[int] = None) -> Any:
    """Load a .tflite file into an allocated interpreter (XNNPACK is applied by default)."""
    path = check_tflite_file(path)
    cls, _ = interpreter_class()
    try:
        with native_stderr_to_log():
            interp = cls(model_path=str(path), num_threads=num_threads)
            interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise GhostEdgeError(f"Cannot load {path}", str(exc).strip().splitlines()[-1] if str(exc) else
                             type(exc).__name__, "Check that the file is a complete .tflite model") from exc
    return interp


@dataclass
class TensorInfo:
    """One input or output tensor, as an app developer needs to know it."""

    name: str
    index: int
    shape: List[int]
    dtype: str
    scale: float
    zero_point: int

    def to_dict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


def _tensor_info(d: Dict[str, Any]) -> TensorInfo:
    scale, zero = d.get("quantization", (0.0, 0))
    return TensorInfo(d["name"], int(d["index"]), [int(v) for v in d["shape"]],
                      np.dtype(d["dtype"]).name, float(scale), int(zero))


def io_details(interp: Any) -> Dict[str, List[TensorInfo]]:
    """Inputs and outputs of an interpreter."""
    return {"inputs": [_tensor_info(d) for d in interp.get_input_details()],
            "outputs": [_tensor_info(d) for d in interp.get_output_details()]}


def ops_by_type(interp: Any) -> Dict[str, int]:
    """Count operators by builtin type (e.g. {"CONV_2D": 59, ...}), most frequent first."""
    counts = collections.Counter(op["op_name"] for op in interp._get_ops_details())
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def run_single(interp: Any, x: np.ndarray) -> np.ndarray:
    """Run one input (batch 1) through a single-input, single-output interpreter.

    Float inputs are cast; quantized inputs are quantized with the input's scale/zero point,
    quantized outputs are dequantized, so callers always see float32 results.
    """
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    if x.ndim == len(inp["shape"]) - 1:
        x = x[None]
    dtype = np.dtype(inp["dtype"])
    if dtype.kind in "iu":
        scale, zero = inp["quantization"]
        if scale:
            info = np.iinfo(dtype)
            x = np.clip(np.round(x.astype(np.float32) / scale + zero), info.min, info.max)
        x = x.astype(dtype)
    else:
        x = x.astype(dtype)
    interp.set_tensor(inp["index"], x)
    interp.invoke()
    y = interp.get_tensor(out["index"])
    if np.dtype(out["dtype"]).kind in "iu":
        scale, zero = out["quantization"]
        if scale:
            return (y.astype(np.float32) - zero) * np.float32(scale)
    return y.astype(np.float32)
