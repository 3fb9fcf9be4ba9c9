"""``--device local``: the same plan on this computer's CPU through LiteRT, with a timing loop that
mirrors benchmark_model (warm-up runs, then N timed runs, µs statistics)."""
from __future__ import annotations

import glob
import logging
import os
import platform
import re
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from ghostedge.device_bench.plan import BenchModel
from ghostedge.device_bench.stats import summarize_runs_us
from ghostedge.device_bench.thermal import Stopped
from ghostedge.errors import BenchmarkError, UsageError

log = logging.getLogger(__name__)


def _read(path: str) -> Optional[str]:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model_name(cpuinfo: str) -> str:
    """"model name" (x86) or "Hardware"/"Processor" (ARM) from /proc/cpuinfo text."""
    for key in ("model name", "Hardware", "Processor", "cpu model"):
        match = re.search(rf"^{key}\s*:\s*(.+)$", cpuinfo, re.M)
        if match:
            return " ".join(match.group(1).split())
    return platform.processor() or platform.machine() or "unknown CPU"


def local_facts() -> Dict[str, Any]:
    """CPU model, cores, per-core max frequencies (kHz, when exposed) of this machine."""
    cpuinfo = _read("/proc/cpuinfo") or ""
    freqs: Dict[str, int] = {}
    for path in sorted(glob.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/cpuinfo_max_freq")):
        value = _read(path)
        if value and value.isdigit():
            freqs[re.search(r"cpu(\d+)", path).group(1)] = int(value)
    try:
        usable = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = list(range(os.cpu_count() or 1))
    flags = re.search(r"^flags\s*:\s*(.+)$", cpuinfo, re.M)
    simd = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "asimddp", "fma")
            if flags and f in flags.group(1).split()]
    return {"cpu_model": cpu_model_name(cpuinfo), "machine": platform.machine(),
            "cores": os.cpu_count(), "usable_cpus": usable, "max_freq_khz": freqs,
            "simd": simd, "kernel": platform.release(), "os": platform.system(),
            "python": platform.python_version()}


def local_temperatures() -> Dict[str, float]:
    """Thermal zones of this machine in °C (empty in most VMs)."""
    temps: Dict[str, float] = {}
    for zone in sorted(glob.glob("/sys/class/thermal/thermal_zone*")):
        kind, raw = _read(f"{zone}/type"), _read(f"{zone}/temp")
        try:
            value = float(raw) / 1000.0 if raw else None
        except ValueError:
            value = None
        if value is not None:
            temps[kind or Path(zone).name] = value
    return temps


def _input_data(detail: Dict[str, Any], rng: Any) -> Any:
    import numpy as np

    dtype = np.dtype(detail["dtype"])
    shape = [int(v) for v in detail["shape"]]
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    return rng.random(shape, dtype=np.float32).astype(dtype)


def _timed_loop(invoke: Any, min_runs: int, min_secs: float, max_secs: float,
                stop: Optional[threading.Event] = None) -> List[float]:
    """benchmark_model's loop: run until ``min_runs`` AND ``min_secs`` are reached, never past
    ``max_secs``; per-invocation times in µs. ``stop`` set: raise ``Stopped``."""
    times: List[float] = []
    start = time.perf_counter_ns()
    now = start
    while (len(times) < min_runs or now - start < min_secs * 1e9) and now - start <= max_secs * 1e9:
        if stop is not None and stop.is_set():
            raise Stopped("local run interrupted")
        t = time.perf_counter_ns()
        invoke()
        now = time.perf_counter_ns()
        times.append((now - t) / 1000.0)
    return times


def time_model(path: str, threads: int, warmup_runs: int, num_runs: int, min_secs: float = 0.0,
               warmup_min_secs: float = 0.0, max_secs: float = 150.0,
               stop: Optional[threading.Event] = None, cpus: Optional[Sequence[int]] = None) -> Dict[str, Any]:
    """Load ``path`` with ``threads`` threads, run warm-ups, then the timed runs (as
    benchmark_model: at least ``num_runs`` and at least ``min_secs``). The host is sampled just
    before and after the timed runs (``host_load``); every inference time is kept (``samples_us``)."""
    import numpy as np

    from ghostedge.device_bench.host_load import assess, read_host_sample, usable_cpus
    from ghostedge.tflite import load_interpreter

    t0 = time.perf_counter_ns()
    interp = load_interpreter(path, num_threads=threads)
    init_us = (time.perf_counter_ns() - t0) / 1000.0
    rng = np.random.default_rng(0)
    for detail in interp.get_input_details():
        interp.set_tensor(detail["index"], _input_data(detail, rng))
    warm = _timed_loop(interp.invoke, warmup_runs, warmup_min_secs, max_secs, stop)
    before = read_host_sample()
    runs = _timed_loop(interp.invoke, num_runs, min_secs, max_secs, stop)
    after = read_host_sample()
    load = assess(before, after, list(cpus) if cpus is not None else usable_cpus(), own_threads=threads)
    run_stats = summarize_runs_us(runs)
    return {"avg_us": run_stats["avg"], "init_us": init_us, "runs": run_stats,
            "warmup": summarize_runs_us(warm), "memory": {},
            "samples_us": [round(v, 1) for v in runs], "host_load": load.to_dict()}


def _mask_cpus(mask: str) -> List[int]:
    try:
        value = int(mask, 16)
    except ValueError:
        raise UsageError(f"Invalid --affinity {mask!r}", "not prime, big, all, none or a hex mask",
                         "Use e.g. --affinity none, or a hex mask such as 3") from None
    return [i for i in range(value.bit_length()) if value >> i & 1]


class LocalBackend:
    """Benchmarks on this machine's CPU with ghostedge.tflite (LiteRT, XNNPACK)."""

    kind = "local"

    def __init__(self, affinity: str = "none") -> None:
        self.facts = local_facts()
        self.cpus: Optional[List[int]] = None
        self.mask: Optional[str] = None
        if affinity not in ("none", "all", "prime", "big"):
            self.cpus = _mask_cpus(affinity)
            usable = set(self.facts["usable_cpus"])
            if not self.cpus or not set(self.cpus) <= usable:
                raise UsageError(f"Affinity mask {affinity} does not fit this machine",
                                 f"usable CPUs are {sorted(usable)}", "Pass a mask of usable CPUs")
            self.mask = affinity
        elif affinity in ("prime", "big"):
            log.info("--affinity %s has no meaning for the local CPU; not pinning", affinity)
        self.policy = affinity
        self.stop_event = threading.Event()

    @property
    def label(self) -> str:
        return f"local CPU ({self.facts['cpu_model']})"

    def device_info(self) -> Dict[str, Any]:
        """Device section of the session record: CPU facts and affinity."""
        cpus = self.cpus if self.cpus is not None else self.facts["usable_cpus"]
        return {"kind": "local", "serial": "local", "label": self.label, "is_sd855": False,
                "facts": self.facts,
                "affinity": {"policy": self.policy, "mask": self.mask, "cpus": cpus}}

    def runtime_info(self) -> Dict[str, Any]:
        """The TFLite runtime used (e.g. "ai-edge-litert 2.1.0")."""
        from ghostedge.tflite import interpreter_class

        _, name = interpreter_class()
        return {"runtime": name, "binary": None, "binary_sha256": None}

    def pinned_cores(self) -> int:
        """How many CPUs the runs may use."""
        return len(self.cpus) if self.cpus is not None else len(self.facts["usable_cpus"])

    def prepare(self, models: Sequence[BenchModel]) -> None:
        """Fail early when no TFLite runtime is installed or a model would crash it (each file is
        loaded once in a child process first)."""
        from ghostedge.tflite import checked_model_file

        self.runtime_info()
        for model in models:
            checked_model_file(model.path, probe=True)

    def temperatures(self) -> Dict[str, float]:
        """Thermal zones of this machine in °C (often none in VMs)."""
        return local_temperatures()

    def run(self, model: BenchModel, threads: int, plan: Any, delegate: str = "cpu") -> Dict[str, Any]:
        """One timed run of ``model`` with ``threads`` threads (pinned when a mask was given); with
        ``plan.wait_quiet_s`` it first waits (that long at most) for a quiet host."""
        waited = None
        if getattr(plan, "wait_quiet_s", 0) > 0:
            from ghostedge.device_bench.adaptive import wait_quiet

            cpus = self.cpus if self.cpus is not None else self.facts["usable_cpus"]
            waited = wait_quiet(plan.wait_quiet_s, sleep=self._sleep, cpus=cpus)
        previous = None
        if self.cpus is not None:
            previous = os.sched_getaffinity(0)
            os.sched_setaffinity(0, self.cpus)
        try:
            result = time_model(model.path, threads, plan.warmup_runs, plan.num_runs, plan.min_secs,
                                plan.warmup_min_secs, stop=self.stop_event, cpus=self.cpus)
        except (RuntimeError, ValueError) as exc:
            raise BenchmarkError(f"Local benchmark of {model.path} failed", str(exc).splitlines()[-1]
                                 if str(exc) else type(exc).__name__,
                                 "Check that the model runs with `ghostedge inspect`") from exc
        finally:
            if previous is not None:
                os.sched_setaffinity(0, previous)
        if waited is not None:
            result["wait_quiet"] = waited.to_dict()
        return result

    def _sleep(self, seconds: float) -> None:
        if self.stop_event.wait(seconds):
            raise Stopped("waiting for a quiet host interrupted")

    def stop(self) -> None:
        """From another thread: end the current run at its next inference."""
        self.stop_event.set()

    def close(self) -> None:
        """Nothing to clean up locally."""
