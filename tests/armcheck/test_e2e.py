"""Slow: build the real aarch64 runtime (Debian arm64 Python + qemu-user-static from
deb.debian.org, the pinned aarch64 wheels from PyPI) into a fresh cache and run tiny models on
emulated Cortex-A76 and Cortex-A53 cores. Needs network access to both; about a minute."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from armcheck.fakes import TINY
from ghostedge.armcheck import check_models, compare, prepare_runtime, runner
from ghostedge.armcheck.targets import CORES
from ghostedge.model_report import ModelReport, load_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def arm_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("arm-cache")
    return cache, prepare_runtime("arm64", cache)


def test_runtime_is_built_once_and_reused(arm_cache):
    cache, built = arm_cache
    assert built.built_now and built.path.parent == cache / "arm64"
    assert built.versions()["machine"] == "aarch64" and built.versions()["ai-edge-litert"] == "2.1.0"
    assert built.versions()["tflite-runtime"] == "2.14.0" and built.versions()["numpy"] == "1.26.4"
    assert os.access(built.qemu, os.X_OK) and (built.sysroot / "usr/bin/python3.11").is_file()
    assert sorted(p.name for p in built.path.iterdir()) == ["bin", "manifest.json", "sysroot"]  # no apt state
    assert [p.name for p in (cache / "arm64").iterdir()] == [built.path.name]  # no build leftovers
    again = prepare_runtime("arm64", cache)
    assert not again.built_now and again.path == built.path


def test_tiny_models_on_arm(arm_cache, tmp_path):
    cache, _ = arm_cache
    models = {}
    for kind, src in TINY.items():
        models[kind] = tmp_path / src.name
        shutil.copy(src, models[kind])
    report = tmp_path / "tiny_check.int8.report.json"
    ModelReport(kind="int8", model_name="tiny_check", file=models["int8"].name, app_ready=True,
                size_bytes=models["int8"].stat().st_size).dump(report)
    res = check_models([models[k] for k in ("fp32", "fp16", "int8", "custom_op")], cache_dir=cache)
    by = {Path(m.model).name.split(".")[1]: m for m in res.models}
    assert res.runtime["versions"]["machine"] == "aarch64" and not res.runtime["built_now"]
    for kind in ("fp32", "fp16", "int8"):
        m = by[kind]
        assert m.passed, m.problems
        litert = [r for r in m.rows if r.runtime.startswith("LiteRT") and r.mode == "default"]
        assert len(litert) == 4 and all(r.load_ok and r.passed for r in litert)
        # XNNPACK takes the same operators on ARM as on x86
        assert all(r.delegation["delegated"] == m.x86_delegation["delegated"] for r in litert)
    fp16_a76 = next(r for r in by["fp32"].rows if r.mode == "xnnpack-fp16" and r.core == "cortex-a76")
    fp16_a53 = next(r for r in by["fp32"].rows if r.mode == "xnnpack-fp16" and r.core == "cortex-a53")
    # real FP16 arithmetic (11-bit significands) moves the probabilities far beyond the float rule,
    # so the comparator would catch an ARM kernel that computed in FP16 by mistake
    assert fp16_a76.load_ok and fp16_a76.max_abs_diff > compare.FLOAT_TOLERANCE
    assert not fp16_a53.load_ok and fp16_a53.refused  # ARMv8.0: XNNPACK refuses FP16
    custom = by["custom_op"]
    assert not custom.passed and not res.passed
    assert "Encountered unresolved custom op: GhostEdgeNoSuchOp" in custom.problems[0]
    assert custom.problems[0].startswith("ARM LiteRT 2.1.0 failed (cortex-a53, cortex-a76")
    section = load_report(report).sections["arm64"]
    assert section["passed"] is True and section["runtime_versions"]["machine"] == "aarch64"


def test_a_cpuinfo_identity_that_does_not_match_the_core_dies_and_is_reported(arm_cache, tmp_path):
    _, rt = arm_cache
    # the A76's MIDR under -cpu cortex-a53: LiteRT picks dot-product INT8 kernels the core lacks
    wrong = dataclasses.replace(CORES["cortex-a53"], name="a53-with-a76-identity", midr=CORES["cortex-a76"].midr)
    x = np.random.default_rng(0).uniform(0, 255, (2, 1, 32, 32, 3))
    np.save(tmp_path / "u8.npy", x.astype(np.uint8))
    np.save(tmp_path / "f32.npy", x.astype(np.float32))
    tasks = [{"id": 0, "model": str(TINY["int8"]), "inputs": str(tmp_path / "u8.npy"), "runtime": "litert",
              "threads": 1, "mode": "default", "output": str(tmp_path / "o0.npy")},
             {"id": 1, "model": str(TINY["fp32"]), "inputs": str(tmp_path / "f32.npy"), "runtime": "litert",
              "threads": 1, "mode": "default", "output": str(tmp_path / "o1.npy")}]
    out = runner.run_guest(rt, wrong, tasks, tmp_path)
    assert out.processes == 2
    assert out.results[0]["error"].startswith("the emulated process died with SIGILL")
    assert out.results[1]["ok"]
    assert not list(tmp_path.rglob("*.core"))


def test_cli_reuses_the_cache(arm_cache, tmp_path):
    cache, _ = arm_cache
    proc = subprocess.run([sys.executable, "-m", "ghostedge", "check", "--json", "--cache-dir", str(cache),
                           "--no-report", "--cores", "cortex-a53", "--threads", "1", str(TINY["int8"])],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["passed"] and doc["runtime"]["built_now"] is False and doc["guest_processes"] == 1


def _qemu_pids(marker: str) -> list:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().decode("utf-8", "replace")
            except OSError:
                continue
            if "qemu-aarch64-static" in cmd and marker in cmd:
                pids.append(int(entry.name))
    return pids


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_check_leaves_no_qemu_and_no_temp_files(arm_cache, tmp_path, sig):
    cache, _ = arm_cache
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp))
    # 2000 inputs keep the emulated process busy for several seconds
    proc = subprocess.Popen([sys.executable, "-m", "ghostedge", "check", "--cache-dir", str(cache),
                             "--no-report", "--no-tflite-runtime", "--no-force-fp16", "--random-inputs",
                             "2000", "--cores", "cortex-a76", "--threads", "1", "2", str(TINY["fp32"])],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not _qemu_pids(str(tmp)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _qemu_pids(str(tmp)), "qemu never started"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "error: interrupted" in err
    assert _qemu_pids(str(tmp)) == []
    assert list(tmp.iterdir()) == []
