"""INT8 calibration on both cores, same result as TensorFlow's own.

TensorFlow's calibrator runs the float model image by image (~110 ms per GhostNet 1.0x image on
this machine: 500 images are most of ``convert --int8``). Its logger keeps a plain running
min/max per tensor, so calibrating two halves of the images in two processes and taking the
min of the minima and the max of the maxima gives exactly the statistics of one pass over all
images. While :func:`parallel_calibration` is active, TFLiteConverter's calibration does that;
on any surprise it falls back to TensorFlow's single-process calibration.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

import numpy as np

log = logging.getLogger(__name__)

MIN_IMAGES = 64                  # below this a second process costs more than it saves
WORKER_TIMEOUT_S = 1800
_MIN_FIELD, _MAX_FIELD = 4, 6    # vtable offsets of QuantizationParameters.min / .max


def minmax_offsets(buf: bytearray) -> Dict[int, Tuple[int, int]]:
    """{tensor index: (byte offset of min[0], of max[0])} for every tensor of a calibrated
    flatbuffer that carries exactly one min/max pair."""
    from ghostedge.errors import QuantizationError
    from ghostedge.tflite import tflite_schema

    model = tflite_schema(QuantizationError).Model.GetRootAs(buf, 0)
    found = {}
    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)
        for t in range(sg.TensorsLength()):
            q = sg.Tensors(t).Quantization()
            if q is not None and q.MinLength() == 1 and q.MaxLength() == 1:
                found[(s << 32) | t] = (q._tab.Vector(q._tab.Offset(_MIN_FIELD)),
                                        q._tab.Vector(q._tab.Offset(_MAX_FIELD)))
    return found


def merge_calibrated(a: bytes, b: bytes) -> bytes:
    """The calibrated model ``a`` with each tensor's range widened to cover ``b``'s."""
    out, other = bytearray(a), bytearray(b)
    offs_a, offs_b = minmax_offsets(out), minmax_offsets(other)
    if not offs_a or set(offs_a) != set(offs_b):
        raise ValueError("the two calibration passes recorded different tensors")
    for key, (min_a, max_a) in offs_a.items():
        min_b, max_b = offs_b[key]
        lo = min(struct.unpack_from("<f", out, min_a)[0], struct.unpack_from("<f", other, min_b)[0])
        hi = max(struct.unpack_from("<f", out, max_a)[0], struct.unpack_from("<f", other, max_b)[0])
        struct.pack_into("<f", out, min_a, lo)
        struct.pack_into("<f", out, max_a, hi)
    return bytes(out)


def calibrate_part(model_content: bytes, pixels: np.ndarray, mean_std: Optional[Tuple[list, list]] = None) -> bytes:
    """TensorFlow's calibrator over ``pixels`` (normalized with ``mean_std`` for bare models)."""
    from tensorflow.lite.python.optimize import calibrator

    from ghostedge.data.preprocess import Preprocessing
    from ghostedge.quantize.batches import calibration_batches

    pre = Preprocessing("calibration", mean=tuple(mean_std[0]), std=tuple(mean_std[1])) if mean_std else None
    return calibrator.Calibrator(model_content).calibrate(lambda: calibration_batches(pixels, pre))


def _start_worker(folder: Path, model_content: bytes, pixels: np.ndarray, normalize_with: Any) -> subprocess.Popen:
    """A fresh interpreter (``python -m`` this module): nothing of the caller's script re-runs."""
    (folder / "model.tflite").write_bytes(model_content)
    np.save(folder / "pixels.npy", pixels)
    if normalize_with is not None:
        (folder / "normalize.json").write_text(json.dumps([list(normalize_with.mean), list(normalize_with.std)]))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "GHOSTEDGE_NO_PROGRESS": "1"}
    with open(folder / "worker.log", "wb") as log_file:
        return subprocess.Popen([sys.executable, "-m", __name__, str(folder)], stdout=log_file,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)


def _worker_result(proc: subprocess.Popen, folder: Path) -> bytes:
    try:
        code = proc.wait(timeout=WORKER_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RuntimeError("the calibration worker timed out") from None
    if code != 0:
        tail = (folder / "worker.log").read_text(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"the calibration worker exited with {code}: {tail}")
    return (folder / "calibrated.tflite").read_bytes()


@contextlib.contextmanager
def parallel_calibration(pixels: np.ndarray, normalize_with: Any = None,
                         progress_gen: Optional[Callable[[np.ndarray], Iterator[Any]]] = None
                         ) -> Iterator[Dict[str, Any]]:
    """While active, TFLiteConverter calibrates ``pixels`` in this process and one worker.
    Yields a dict whose ``path`` says which way it went ("parallel" or "tensorflow")."""
    from tensorflow.lite.python.optimize import calibrator as tf_calibrator

    from ghostedge.quantize.batches import calibration_batches

    original_cls = tf_calibrator.Calibrator
    used: Dict[str, Any] = {"path": "tensorflow"}
    half = (len(pixels) + 1) // 2
    feed = progress_gen or (lambda part: calibration_batches(part, normalize_with))

    class ParallelCalibrator(original_cls):  # type: ignore[misc, valid-type]
        def calibrate(self, dataset_gen: Callable[[], Iterator[Any]]) -> bytes:
            base = super().calibrate
            if len(pixels) < MIN_IMAGES or (os.cpu_count() or 1) < 2:
                return base(dataset_gen)
            with tempfile.TemporaryDirectory(prefix="ghostedge-calib-") as tmp:
                try:
                    proc = _start_worker(Path(tmp), self._model_content, pixels[half:], normalize_with)
                except OSError as exc:
                    log.info("no calibration worker (%s); calibrating in this process", exc)
                    return base(dataset_gen)
                try:
                    mine = base(lambda: feed(pixels[:half]))
                    try:
                        merged = merge_calibrated(mine, _worker_result(proc, Path(tmp)))
                    except Exception as exc:  # noqa: BLE001 - finish in this process instead
                        log.info("parallel calibration failed (%s); calibrating the rest here", exc)
                        return base(lambda: feed(pixels[half:]))
                finally:
                    if proc.poll() is None:   # interrupted or failed: never leave the worker behind
                        proc.kill()
                        proc.wait()
            used["path"] = "parallel"
            return merged

    tf_calibrator.Calibrator = ParallelCalibrator
    try:
        yield used
    finally:
        tf_calibrator.Calibrator = original_cls


def _worker_main(folder: str) -> int:
    """``python -m ghostedge.quantize.parallel_calibration FOLDER``: calibrate FOLDER/pixels.npy."""
    work = Path(folder)
    norm = work / "normalize.json"
    mean_std = tuple(json.loads(norm.read_text())) if norm.exists() else None
    result = calibrate_part((work / "model.tflite").read_bytes(), np.load(work / "pixels.npy"), mean_std)
    (work / "calibrated.tflite").write_bytes(result)
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1]))
