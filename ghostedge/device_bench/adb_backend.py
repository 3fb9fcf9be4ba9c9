"""The phone backend: facts, affinity mask, deployment and benchmark_model runs over adb
(through ``ghostedge.android_runner``)."""
from __future__ import annotations

import contextlib
import dataclasses
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ghostedge.device_bench.plan import MAX_SECS, BenchModel
from ghostedge.errors import BenchmarkError, GhostEdgeError
from ghostedge.fileio import sha256_file

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
        """Find the benchmark binary, kill and remove what earlier sessions left in ghostedge's
        folder on the phone (said in the log and the session header), then push the binary and
        every model (skipped when an identical file is there)."""
        from ghostedge.android_runner import Deployment, find_benchmark_binary

        binary = Path(find_benchmark_binary(self._abi(), self.binary_arg, self.cache_dir))
        self.binary_path = binary
        self.binary_sha256 = sha256_file(binary)
        self._deployment = Deployment(self.adb, keep=self.keep)
        self._stack.push(self._deployment)   # cleaned up even if creating the folder is interrupted
        self._deployment.prepare()
        self._deployment.sweep([self._deployment.remote_path(binary).rsplit("/", 1)[-1]]
                               + [self._deployment.remote_path(Path(m.path)).rsplit("/", 1)[-1] for m in models])
        self._remote_binary = self._deployment.push(binary, executable=True)
        for model in models:
            self._remote_models[model.path] = self._deployment.push(Path(model.path))

    def deployment_info(self) -> Dict[str, Any]:
        """What the deployment found and did on the phone: earlier sessions' leftovers removed
        (name -> bytes) and their processes killed."""
        dep = self._deployment
        return {"folder": dep.remote_dir, "removed_leftovers": dict(dep.removed), "killed": list(dep.killed),
                "pushed": list(dep.transferred), "unchanged": list(dep.skipped)} if dep else {}

    def temperatures(self) -> Dict[str, float]:
        """Battery and thermal-zone temperatures in °C."""
        from ghostedge.android_runner import read_temperatures

        return {str(k): float(v) for k, v in read_temperatures(self.adb).items() if v is not None}

    def _invoke(self, model: BenchModel, threads: int, plan: Any, delegate: str,
                extra: Sequence[str] = (), sample: bool = True) -> Any:
        from ghostedge.android_runner import DELEGATE_FLAGS, run_benchmark_model

        if self._remote_binary is None or model.path not in self._remote_models:
            raise BenchmarkError("Benchmark run before deployment", "prepare() was not called",
                                 "This is a ghostedge bug: report it")
        wanted = [DELEGATE_FLAGS[delegate]] if delegate in DELEGATE_FLAGS else []
        sample_cpus = (self.cpus or sorted(self.facts.cpu_max_khz)) if sample else None
        return run_benchmark_model(self.adb, self._remote_binary, self._remote_models[model.path],
                                   threads=threads, mask=self.mask, warmup_runs=plan.warmup_runs,
                                   num_runs=plan.num_runs, timeout=self.timeout_s, min_secs=plan.min_secs,
                                   extra_flags=[f"--warmup_min_secs={plan.warmup_min_secs:g}",
                                                f"--max_secs={MAX_SECS:g}", *wanted, *extra, *self.extra_flags],
                                   sample_cpus=sample_cpus, required_flags=[*wanted, *extra], delegate=delegate)

    def run(self, model: BenchModel, threads: int, plan: Any, delegate: str = "cpu") -> Dict[str, Any]:
        """One benchmark_model invocation under taskset, with the phone's load and the pinned cores'
        frequencies sampled while it runs; its parsed output as plain JSON."""
        from ghostedge.android_runner import frequency_verdict
        from ghostedge.android_runner.remote import PhoneSample

        output = self._invoke(model, threads, plan, delegate)
        result = output_to_result(output)
        samples = [PhoneSample(s["load1"], {int(k): v for k, v in s["cur_khz"].items()}) for s in output.samples]
        result["phone"] = {"samples": output.samples,
                           "load1": [s.load1 for s in samples if s.load1 is not None]}
        if delegate == "cpu":
            result["frequency"] = frequency_verdict(samples, self.facts.cpu_max_khz,
                                                    getattr(self.facts, "cpu_min_khz", None) or None)
        result["delegates"] = [d.to_dict() for d in output.delegates]
        if output.unconsumed_flags:
            result["unconsumed_flags"] = list(output.unconsumed_flags)
        return result

    def profile(self, model: BenchModel, threads: int, plan: Any) -> str:
        """A run with ``--enable_op_profiling=true``: benchmark_model's whole output."""
        return str(self._invoke(model, threads, plan, "cpu", ["--enable_op_profiling=true"], sample=False).raw)

    def memory(self, model: BenchModel, threads: int, plan: Any, delegate: str = "cpu") -> Dict[str, float]:
        """A run with ``--report_peak_memory_footprint=true``: the memory figures (MB)."""
        output = self._invoke(model, threads, plan, delegate, ["--report_peak_memory_footprint=true"], sample=False)
        return dict(output.memory)

    def stop(self) -> None:
        """From another thread: kill the adb command running now; cleanup follows in ``close``."""
        self.adb.interrupt()

    def close(self) -> None:
        """Kill what still runs from ghostedge's folder and remove it (unless --keep); never
        masks the error that ended the run."""
        self.adb.resume()
        try:
            self._stack.close()
        except GhostEdgeError as exc:
            log.warning("could not clean up the phone: %s", exc.one_line())
