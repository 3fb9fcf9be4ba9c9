"""Fixtures shared by the device_bench and cli bench tests (their conftest.py files import them):
the tiny .tflite models and a scripted backend."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "device_bench"

SD855_FACTS = {"model": "GM1903", "platform": "msmnile", "soc": "SM8150", "abi": "arm64-v8a",
               "release": "11", "cpu_max_khz": {str(i): f for i, f in
                                                enumerate([1785600] * 4 + [2419200] * 3 + [2841600])}}


@pytest.fixture()
def tiny_models(tmp_path: Path) -> List[Path]:
    """Copies of the tiny FP32/INT8 models named like ghostedge's GhostNet 1.0x outputs, each with
    a report saying 1000 classes (the tiny models have 10; ImageNet references need 1000)."""
    folder = tmp_path / "models"
    folder.mkdir()
    out = []
    for precision in ("fp32", "int8"):
        dest = folder / f"ghostnet_100.{precision}.tflite"
        shutil.copy(DATA / f"tiny_conv.{precision}.tflite", dest)
        write_imagenet_report(dest)
        out.append(dest)
    return out


def write_imagenet_report(model: Path) -> None:
    """A minimal report beside ``model`` with the output shape of a 1000-class classifier."""
    stem = model.name[:-len(".tflite")]
    name, _, kind = stem.rpartition(".")
    (model.parent / f"{stem}.report.json").write_text(json.dumps(
        {"kind": kind if kind in ("fp32", "fp16", "int8") else "fp32", "model_name": name or stem,
         "outputs": [{"name": "logits", "shape": [1, 1000], "dtype": "float32"}]}))


class ScriptedBackend:
    """A Backend whose latencies come from a function; can fail or be interrupted at a run."""

    kind = "scripted"

    def __init__(self, sd855: bool = True, latency_us: Any = None, fail_at: Optional[int] = None,
                 fail_with: Optional[BaseException] = None, temps: Optional[List[Dict[str, float]]] = None
                 ) -> None:
        self.sd855 = sd855
        self.latency_us = latency_us or (lambda model, threads, n: 10000.0 / threads + 100 * n)
        self.fail_at = fail_at
        self.fail_with = fail_with
        self.calls: List[tuple] = []
        self.temps = list(temps or [])
        self.closed = False
        self.failing_delegates: Dict[str, str] = {}
        self.extra: Any = None            # (model, threads, n) -> more result keys (host_load, frequency)
        self.profile_text = ""

    def device_info(self) -> Dict[str, Any]:
        label = "SD855" if self.sd855 else "SM8550"
        return {"kind": "adb", "serial": "FAKE123", "label": label, "is_sd855": self.sd855,
                "facts": dict(SD855_FACTS, platform="msmnile" if self.sd855 else "kalama"),
                "affinity": {"policy": "big", "mask": "f0", "cpus": [4, 5, 6, 7]}}

    def runtime_info(self) -> Dict[str, Any]:
        return {"runtime": "benchmark_model", "binary": "/x/benchmark_model", "binary_sha256": "ab" * 32}

    def pinned_cores(self) -> int:
        return 4

    def prepare(self, models: Any) -> None:
        pass

    def temperatures(self) -> Dict[str, float]:
        return self.temps.pop(0) if self.temps else {"battery": 31.0}

    def run(self, model: Any, threads: int, plan: Any, delegate: str = "cpu") -> Dict[str, Any]:
        n = len(self.calls)
        self.calls.append((model.label, threads) if delegate == "cpu" else (model.label, threads, delegate))
        if self.fail_at is not None and n == self.fail_at:
            raise self.fail_with
        if delegate in self.failing_delegates:
            from ghostedge.android_runner.errors import CellFailure

            raise CellFailure(f"The {delegate.upper()} delegate failed", self.failing_delegates[delegate],
                              reason=f"{delegate.upper()} delegate failed: {self.failing_delegates[delegate]}")
        avg = float(self.latency_us(model, threads, n))
        result = {"avg_us": avg, "init_us": 1000.0,
                  "runs": {"count": plan.num_runs, "avg": avg, "min": avg * 0.9, "max": avg * 1.1},
                  "warmup": {"count": plan.warmup_runs}, "memory": {}}
        if self.extra is not None:
            result.update(self.extra(model, threads, n))
        return result

    def profile(self, model: Any, threads: int, plan: Any) -> str:
        self.calls.append((model.label, threads, "profile"))
        return self.profile_text

    def memory(self, model: Any, threads: int, plan: Any, delegate: str = "cpu") -> Dict[str, float]:
        self.calls.append((model.label, threads, "memory", delegate))
        return {"peak_periodic_mb": 42.5, "delta_overall_mb": 30.0}

    def close(self) -> None:
        self.closed = True


@pytest.fixture()
def scripted_backend() -> type:
    return ScriptedBackend
