"""The phone backend: facts, affinity mask, deployment and benchmark_model runs over adb
(through ``ghostedge.android_runner``)."""
from __future__ import annotations

import contextlib
import dataclasses
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ghostedge.fileio import sha256_file
from ghostedge.device_bench.plan import MAX_SECS, BenchModel
from ghostedge.errors import BenchmarkError, GhostEdgeError

log = logging.getLogger(__name__)

RUN_TIMEOUT_S = 600.0


def soc_label(facts_dict: Dict[str, Any], is_sd855: bool) -> str:
    """Column name of the table: "SD855" on a Snapdragon 855, else the SoC/platform name."""
    if is_sd855:
        return "SD855"
    for key in ("soc", "soc_model", "platform", "board", "hardware", "model"):
        value = facts_dict.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "device"


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def output_to_result(output: Any) -> Dict[str, Any]:
    """A ``BenchmarkOutput`` as plain JSON: averages (µs), run statistics, init time, memory."""
    data = output.to_dict() if hasattr(output, "to_dict") else _plain(output)
    runs = _plain(getattr(output, "runs", None))
    warmup = _plain(getattr(output, "warmup", None))
    result = {"avg_us": getattr(output, "avg_us", None), "init_us": getattr(output, "init_us", None),
              "runs": runs, "warmup": warmup, "memory": _plain(getattr(output, "memory", None))}
    if result["avg_us"] is None and isinstance(runs, dict):
        result["avg_us"] = runs.get("avg")
    result["parsed"] = data
    return result


class AdbBackend:
    """Runs the plan on one phone: push once, pin with taskset, one benchmark_model per run."""

    kind = "adb"

    def __init__(self, serial: str, affinity: str = "big", benchmark_binary: Optional[str] = None,
                 keep: bool = False, cache_dir: Optional[str] = None,
                 extra_flags: Sequence[str] = (), timeout_s: float = RUN_TIMEOUT_S) -> None:
        from ghostedge.android_runner import Adb, affinity_mask, read_device_facts

        self.serial = serial
        self.adb = Adb(serial)
        self.facts = read_device_facts(self.adb)
        self.facts_dict: Dict[str, Any] = _plain(self.facts.to_dict())
        self.is_sd855 = bool(getattr(self.facts, "is_sd855", False))
        self.policy = affinity
        self.mask, cpus = affinity_mask(self.facts, affinity)
        self.cpus: List[int] = sorted(int(c) for c in cpus)
        self.binary_arg = benchmark_binary
        self.cache_dir = cache_dir
        self.keep = keep
        self.extra_flags = list(extra_flags)
        self.timeout_s = timeout_s
        self.binary_path: Optional[Path] = None
        self.binary_sha256: Optional[str] = None
        self._stack = contextlib.ExitStack()
        self._deployment: Any = None
        self._remote_binary: Optional[str] = None
        self._remote_models: Dict[str, str] = {}

    @property
    def label(self) -> str:
        return soc_label(self.facts_dict, self.is_sd855)

    def device_info(self) -> Dict[str, Any]:
        """Device section of the session record: serial, SoC label, facts, affinity."""
        return {"kind": "adb", "serial": self.serial, "label": self.label, "is_sd855": self.is_sd855,
                "facts": self.facts_dict,
                "affinity": {"policy": self.policy, "mask": self.mask, "cpus": self.cpus}}

    def runtime_info(self) -> Dict[str, Any]:
        """The benchmark binary (path, SHA-256) and extra flags."""
        return {"runtime": "benchmark_model", "binary": str(self.binary_path) if self.binary_path
                else None, "binary_sha256": self.binary_sha256,
                "flags": self.extra_flags}

    def pinned_cores(self) -> int:
        """How many CPUs the runs may use (the taskset mask, else all)."""
        if self.cpus:
            return len(self.cpus)
        return len(self.facts_dict.get("cpu_max_khz") or {}) or 0

    def _abi(self) -> str:
        return str(getattr(self.facts, "abi", None) or self.facts_dict.get("abi") or "arm64-v8a")

    def prepare(self, models: Sequence[BenchModel]) -> None:
        """Find the benchmark binary, then push it and every model (skipped when unchanged)."""
        from ghostedge.android_runner import Deployment, find_benchmark_binary

        binary = Path(find_benchmark_binary(self._abi(), self.binary_arg, self.cache_dir))
        self.binary_path = binary
        self.binary_sha256 = sha256_file(binary)
        self._deployment = self._stack.enter_context(Deployment(self.adb, keep=self.keep))
        self._remote_binary = self._deployment.push(binary, executable=True)
        for model in models:
            self._remote_models[model.path] = self._deployment.push(Path(model.path))

    def temperatures(self) -> Dict[str, float]:
        """Battery and thermal-zone temperatures in °C."""
        from ghostedge.android_runner import read_temperatures

        return {str(k): float(v) for k, v in read_temperatures(self.adb).items() if v is not None}

    def run(self, model: BenchModel, threads: int, plan: Any) -> Dict[str, Any]:
        """One benchmark_model invocation under taskset; its parsed output as plain JSON."""
        from ghostedge.android_runner import run_benchmark_model

        if self._remote_binary is None or model.path not in self._remote_models:
            raise BenchmarkError("Benchmark run before deployment", "prepare() was not called",
                                 "This is a ghostedge bug: report it")
        output = run_benchmark_model(self.adb, self._remote_binary, self._remote_models[model.path],
                                     threads=threads, mask=self.mask, warmup_runs=plan.warmup_runs,
                                     num_runs=plan.num_runs, timeout=self.timeout_s,
                                     min_secs=plan.min_secs,
                                     extra_flags=[f"--warmup_min_secs={plan.warmup_min_secs:g}",
                                                  f"--max_secs={MAX_SECS:g}", *self.extra_flags])
        return output_to_result(output)

    def close(self) -> None:
        """Remove what was pushed (unless --keep); never masks the error that ended the run."""
        try:
            self._stack.close()
        except GhostEdgeError as exc:
            log.warning("could not clean up the phone: %s", exc.one_line())
