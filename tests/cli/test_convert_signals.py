"""Fault injection: SIGTERM, SIGHUP and SIGINT at several points of `ghostedge convert` (ONNX
export, onnx2tf, the FP32 verification, INT8 calibration). Each ends with one `error: interrupted`
line and the signal's exit code; the temporary folder is empty, no child process survives, and the
output folder holds only finished models, each with its report — never a partial file."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

POINTS = [("export_onnx", signal.SIGTERM), ("onnx2tf", signal.SIGTERM), ("onnx2tf", signal.SIGINT),
          ("fp32", signal.SIGHUP), ("int8", signal.SIGTERM), ("int8", signal.SIGINT)]


def _processes_mentioning(text: str) -> list:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


@pytest.mark.parametrize("step, sig", POINTS, ids=[f"{s}-{g.name}" for s, g in POINTS])
def test_interrupted_convert_leaves_nothing_behind(tmp_path, step, sig):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    env = {**os.environ, "TMPDIR": str(tmp), "GHOSTEDGE_NO_PROGRESS": "1"}
    argv = [sys.executable, "-m", "ghostedge", "-v", "convert", "--model", "ghostnet_050", "--weights", "random",
            "--int8", "--calib-samples", "80", "--image-size", "96", "--output", str(out)]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    deadline = time.monotonic() + 600
    for line in proc.stderr:                     # -v logs "info: step <name>" as each step starts
        seen.append(line)
        if line.strip() == f"info: step {step}":
            time.sleep(1.0 if step in ("onnx2tf", "int8") else 0.2)   # well inside the step
            proc.send_signal(sig)
            break
        assert time.monotonic() < deadline, "".join(seen[-20:])
    else:
        pytest.fail(f"step {step} never started:\n{''.join(seen[-20:])}")
    rest = proc.stderr.read()
    proc.wait(timeout=300)
    errors = [ln for ln in (''.join(seen) + rest).splitlines() if ln.startswith("error:")]
    assert proc.returncode == 128 + sig, rest[-2000:]
    assert len(errors) == 1 and "interrupted" in errors[0], errors
    assert list(tmp.iterdir()) == [], sorted(p.name for p in tmp.iterdir())
    assert _processes_mentioning(str(tmp)) == []
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert not [n for n in left if n.startswith(".") or n.endswith(".part")], left
    models = [n for n in left if not n.endswith(".report.json")]
    assert sorted(n.replace(".report.json", "") for n in left if n.endswith(".report.json")) == \
        sorted(m.replace(".tflite", "").replace(".onnx", ".onnx") for m in models), left
