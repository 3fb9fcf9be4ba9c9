"""Run onnx2tf in a subprocess, offline, on a copy of the .onnx.

Why a subprocess: onnx2tf configures TensorFlow logging and globals at import time and holds
~1.3 GB while converting; a child process keeps ours clean and lets us measure its peak memory.
Why a prepared working folder: onnx2tf downloads
``calibration_image_sample_data_20x128x128x3_float32.npy`` whenever the input looks like an image
(even without quantization) and crashes offline; it looks in its current folder first.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ghostedge.errors import ConversionError

log = logging.getLogger(__name__)

SAMPLE_NPY = "calibration_image_sample_data_20x128x128x3_float32.npy"
TIMEOUT_S = 1800


@dataclass
class Onnx2tfOutputs:
    """What one onnx2tf run produced."""

    fp32: Path
    fp16: Path
    saved_model: Optional[Path]
    seconds: float
    peak_rss_mb: float
    argv: List[str] = field(default_factory=list)
    log_path: Optional[Path] = None


def onnx2tf_command() -> List[str]:
    """The onnx2tf executable beside the running interpreter, else ``python -m onnx2tf``."""
    exe = Path(sys.executable).parent / "onnx2tf"
    if exe.is_file() and os.access(exe, os.X_OK):
        return [str(exe)]
    return [sys.executable, "-m", "onnx2tf"]


def write_sample_npy(folder: Path) -> Path:
    """A small valid stand-in for onnx2tf's sample data (seeded noise in 0..1, NHWC), so it
    never tries the network. It is not used for any output ghostedge keeps."""
    path = folder / SAMPLE_NPY
    rng = np.random.default_rng(0)
    np.save(path, rng.random((20, 128, 128, 3), dtype=np.float32))
    return path


def child_env() -> Dict[str, str]:
    """Environment for the child: the venv's bin/ first on PATH (so ``onnxsim`` is found),
    quiet TensorFlow, no GPU probing."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("CUDA_VISIBLE_DEVICES", "")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    return env


def run_measured(argv: List[str], cwd: Path, log_path: Path, env: Optional[Dict[str, str]] = None,
                 timeout: float = TIMEOUT_S) -> tuple[int, float, float]:
    """Run ``argv`` with output to ``log_path``: (exit code, seconds, peak RSS in MB of the
    child and the children it waited for)."""
    start = time.perf_counter()
    with open(log_path, "wb") as logfh:
        try:
            # its own process group: onnx2tf starts onnxsim and others, all stopped together
            proc = subprocess.Popen(argv, cwd=str(cwd), env=env, stdout=logfh, start_new_session=True,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise ConversionError(f"Cannot start {argv[0]}", str(exc),
                                  "Install the conversion stack: bash scripts/setup.sh") from exc
        deadline = start + timeout
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    _kill_group(proc)
                    pid, status, usage = os.wait4(proc.pid, 0)
                    raise ConversionError("onnx2tf did not finish", f"killed after {timeout:.0f} s")
                time.sleep(0.05)
        except BaseException:
            if proc.poll() is None:
                _kill_group(proc)
                proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    return proc.returncode, seconds, usage.ru_maxrss / 1024.0


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the child and every process it started (its own process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _last_error_line(log_path: Path) -> str:
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    noise = ("W0000", "I0000", "E0000", "WARNING: All log messages")
    useful = [ln.strip() for ln in lines if ln.strip() and not ln.startswith(noise)]
    for line in reversed(useful):
        if "Error" in line or "error" in line:
            return line[:300]
    return useful[-1][:300] if useful else "no output"


def _keep_log(log_path: Path) -> Path:
    """Copy a failed run's log out of the temporary folder (which is deleted) for the user."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix="ghostedge-onnx2tf-", suffix=".log")
    os.close(fd)
    shutil.copyfile(log_path, name)
    return Path(name)


def run_onnx2tf(onnx_path: Path, work_dir: Path, *, saved_model: bool = True,
                extra_args: Optional[List[str]] = None) -> Onnx2tfOutputs:
    """Convert a COPY of ``onnx_path`` with onnx2tf in ``work_dir`` (created; onnx2tf writes
    there). Returns the paths of its float32/float16 .tflite files and SavedModel folder."""
    work_dir.mkdir(parents=True, exist_ok=True)
    write_sample_npy(work_dir)
    model_copy = work_dir / "model.onnx"
    shutil.copyfile(onnx_path, model_copy)
    out_dir = work_dir / "saved_model"
    argv = onnx2tf_command() + ["-i", str(model_copy), "-o", str(out_dir), "-v", "error"]
    if saved_model:
        argv.append("-osd")  # SavedModel with a serving_default signature (INT8 starts from it)
    argv += list(extra_args or [])
    log_path = work_dir / "onnx2tf.log"
    log.info("running %s", " ".join(argv))
    code, seconds, peak_mb = run_measured(argv, work_dir, log_path, env=child_env())
    fp32, fp16 = out_dir / "model_float32.tflite", out_dir / "model_float16.tflite"
    if code != 0 or not fp32.is_file():
        kept = _keep_log(log_path)
        raise ConversionError("onnx2tf failed to convert the ONNX model",
                              f"exit code {code}: {_last_error_line(log_path)}",
                              f"See its full log in {kept}")
    if (work_dir / SAMPLE_NPY).stat().st_size == 0:  # pragma: no cover - defensive
        raise ConversionError("onnx2tf replaced its sample data", "unexpected download attempt")
    if log.isEnabledFor(logging.DEBUG):  # its stderr (TensorFlow noise included): -vv only
        for line in log_path.read_text(errors="replace").splitlines():
            if line.strip():
                log.debug("onnx2tf: %s", line.rstrip())
    has_saved_model = (out_dir / "saved_model.pb").is_file()
    log.info("onnx2tf finished in %.1f s (peak %.0f MB)", seconds, peak_mb)
    return Onnx2tfOutputs(fp32, fp16, out_dir if has_saved_model else None, seconds, peak_mb,
                          argv, log_path)
