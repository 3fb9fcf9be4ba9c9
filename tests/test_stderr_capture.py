"""The installed ``ghostedge convert`` keeps TensorFlow/LiteRT's C-level noise off stderr; the INT8
model is compared with torch in probability space and the whole command is timed (slow)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ghostedge.stderr_capture import captured_stderr

NOISE = ("E0000", "W0000", "I0000", "cuDNN", "cuda_dnn", "computation placer", "fully_quantize",
         "inference_type:")


@pytest.mark.slow
def test_cli_convert_int8_stderr_has_no_tensorflow_noise(tmp_path):
    out = tmp_path / "out"
    exe = Path(sys.executable).parent / "ghostedge"
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "ghostedge"]),
           "convert", "--model", "ghostnet_050", "--weights", "random", "--int8", "--calib-samples", "8",
           "--image-size", "64", "--output", str(out)]
    env = dict(os.environ, GHOSTEDGE_NO_PROGRESS="1")
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    noisy = [ln for ln in proc.stderr.splitlines() if any(n in ln for n in NOISE)]
    assert noisy == [], "\n".join(noisy[:10])
    int8_line = next(ln for ln in proc.stdout.splitlines() if "int8.tflite" in ln)
    assert "prob cos" in int8_line, proc.stdout
    assert "s conversion, " in proc.stdout and " s total" in proc.stdout, proc.stdout


def test_c_level_stderr_is_captured_and_python_output_kept(capfd, caplog, monkeypatch):
    ghost = logging.getLogger("ghostedge")   # an earlier main() left a handler on a closed stream
    monkeypatch.setattr(ghost, "handlers", [])
    monkeypatch.setattr(ghost, "propagate", True)
    with caplog.at_level(logging.INFO, logger="ghostedge"):
        with captured_stderr("tensorflow"):
            os.write(2, b"E0000 00:00 cuda_dnn.cc:8579] Unable to register cuDNN factory\n")
            print("python text", file=sys.stderr)
    err = capfd.readouterr().err
    assert "cuDNN" not in err and "python text" in err
    assert any("cuDNN" in r.getMessage() for r in caplog.records)   # shown with -v
    with pytest.raises(RuntimeError), captured_stderr("tensorflow"):
        os.write(2, b"fully_quantize: 0, inference_type: 6\n")
        raise RuntimeError("boom")
    assert "fully_quantize" not in capfd.readouterr().err
