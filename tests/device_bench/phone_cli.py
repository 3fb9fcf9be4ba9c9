"""Helpers for end-to-end bench tests against fake phones: a workspace with models and a placeholder
benchmark_model, the CLI as a subprocess (base install only), its one error line, waiting for runs."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from fakephone.harness import write_fake_benchmark_binary

TESTS = Path(__file__).resolve().parents[1]
DATA = TESTS / "data" / "device_bench"
DRIVER = Path(__file__).resolve().parent / "base_install_driver.py"
FAST_THERMAL = {"cool_tau_s": 0.3}   # phones cool back within a second: gating stays short
QUICK = ["--warmup-runs", "1", "--num-runs", "5", "--min-secs", "0", "--warmup-min-secs", "0",
         "--adaptive-budget", "0"]


def workspace(tmp_path: Path, source: str = "device_bench") -> Path:
    """ghostedge-out/ghostnet_100.{fp32,int8}.tflite (tiny models named so, with a 1000-class
    report) and bin/benchmark_model (a placeholder the fake phones run)."""
    out = tmp_path / "ws" / "ghostedge-out"
    out.mkdir(parents=True)
    for precision in ("fp32", "int8"):
        src = DATA / f"tiny_conv.{precision}.tflite" if source == "device_bench" else \
            TESTS / "data" / "op_parts" / f"tiny_timm.{precision}.tflite"
        shutil.copy(src, out / f"ghostnet_100.{precision}.tflite")
        if source == "device_bench":
            (out / f"ghostnet_100.{precision}.report.json").write_text(
                json.dumps({"kind": precision, "model_name": "ghostnet_100",
                            "outputs": [{"name": "logits", "shape": [1, 1000]}]}))
    write_fake_benchmark_binary(tmp_path / "ws" / "bin" / "benchmark_model")
    (tmp_path / "ws" / "tmp").mkdir()
    return tmp_path / "ws"


def models(ws: Path) -> List[str]:
    return [str(ws / "ghostedge-out" / f"ghostnet_100.{p}.tflite") for p in ("fp32", "int8")]


def bench_args(ws: Path, devices: List[str], *extra: str, out: str = "res") -> List[str]:
    return ["bench", *models(ws), "--device", *devices, "--benchmark-binary", str(ws / "bin" / "benchmark_model"),
            *QUICK, "--output", str(ws / out), *extra]


def cli(args: List[str], ws: Path, env: Dict[str, str]) -> subprocess.Popen:
    env = dict(env, GHOSTEDGE_NO_PROGRESS="1", GHOSTEDGE_CACHE=str(ws / "cache"), TMPDIR=str(ws / "tmp"))
    return subprocess.Popen([sys.executable, str(DRIVER), *args], cwd=ws, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run(args: List[str], ws: Path, env: Dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    proc = cli(args, ws, env)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def error_line(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def count_runs(path: Path) -> int:
    return path.read_text().count('"kind": "run"') if path.exists() else 0


def wait_until(condition, proc: Optional[subprocess.Popen] = None, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"bench ended before {what}: {proc.communicate()}")
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def table_rows(stdout: str) -> List[List[str]]:
    """The first markdown table's body rows, split into cells."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Device |") or line.startswith("| Models |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows
