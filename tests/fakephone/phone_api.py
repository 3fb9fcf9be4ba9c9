"""``FakePhone``: one running fake phone, seen and steered from the test (harness.py re-exports it).

Settings go to files under ROOT/.fakephone that the phone reads at every command, so they can be
changed while a session runs: benchmark.json (benchmark_model stand-in), thermal.json (thermal
model); the live state is ROOT/.fakephone/state.json (phone_state.py).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from fakephone import phone_state

BENCHMARK_CHOICES = {"mode": ("synthetic", "litert"), "fail": ("", "missing", "crash", "delegate"),
                     "version": ("new", "old"), "gpu": ("ok", "partial", "none", "fail", "absent"),
                     "nnapi": ("ok", "partial", "none", "fail", "absent"),
                     "unknown_flags": ("warn", "ignore", "error")}
BENCHMARK_NUMBERS = ("us", "gpu_us", "nnapi_us", "parallel_fraction", "vanish_into_s")
BENCHMARK_NAMES = ("benchmark_model", "android_aarch64_benchmark_model", "android_arm_benchmark_model")


class FakePhone:
    """One running fake phone. ``root`` stands for the phone's ``/``."""

    def __init__(self, sandbox: Any, root: Path, port: int, state: str, proc: subprocess.Popen,
                 profile: str = "sd855") -> None:
        self.sandbox = sandbox
        self.root = root
        self.port = port
        self.state = state
        self.proc = proc
        self.profile = profile
        self.serial = f"127.0.0.1:{port}"

    def __repr__(self) -> str:
        return f"FakePhone({self.serial}, {self.profile}, {self.state})"

    @property
    def env(self) -> Dict[str, str]:
        """Environment for anything that should talk to this phone's private adb server."""
        return dict(self.sandbox.env)

    # --- benchmark_model stand-in ----------------------------------------------------------------
    def benchmark_settings(self) -> Dict[str, Any]:
        """The current benchmark.json (see fake_benchmark_model.py for every key)."""
        return phone_state.load_config(str(self.root), "benchmark")

    def set_benchmark(self, **settings: Any) -> Dict[str, Any]:
        """Change how benchmark_model behaves on this phone, e.g. ``set_benchmark(version="old",
        gpu="fail", nnapi="absent", unknown_flags="ignore", us=8000, parallel_fraction=0.6)``.
        Keys: mode, us, fail, version, gpu, nnapi, gpu_us, nnapi_us, unknown_flags, missing_flags,
        parallel_fraction. Unknown keys or values raise ValueError."""
        for key, value in settings.items():
            if key in BENCHMARK_CHOICES:
                value = "" if value is None and key == "fail" else value
                if value not in BENCHMARK_CHOICES[key]:
                    raise ValueError(f"{key}={value!r}: expected one of {BENCHMARK_CHOICES[key]}")
                settings[key] = value
            elif key in BENCHMARK_NUMBERS:
                settings[key] = None if value is None else float(value)
            elif key == "missing_flags":
                settings[key] = [str(flag).lstrip("-").split("=")[0] for flag in value]
            else:
                raise ValueError(f"unknown benchmark setting {key!r}")
        return phone_state.save_config(str(self.root), "benchmark", settings)

    @property
    def benchmark_mode(self) -> str:
        """``synthetic`` (made-up timings, ``synthetic_us`` mean) or ``litert`` (really runs the model)."""
        return str(self.benchmark_settings().get("mode", "litert"))

    @benchmark_mode.setter
    def benchmark_mode(self, mode: str) -> None:
        self.set_benchmark(mode=mode)

    @property
    def fail(self) -> Optional[str]:
        """Failure injected into benchmark_model runs: None, ``missing``, ``crash`` or ``delegate``."""
        return self.benchmark_settings().get("fail") or None

    @fail.setter
    def fail(self, mode: Optional[str]) -> None:
        if mode not in (None, "missing", "crash", "delegate"):
            raise ValueError(f"unknown failure {mode!r}")
        self.set_benchmark(fail=mode or "")

    @property
    def synthetic_us(self) -> float:
        """Mean inference time of synthetic runs, µs (1 thread, full frequency)."""
        return float(self.benchmark_settings().get("us", 1500))

    @synthetic_us.setter
    def synthetic_us(self, value: float) -> None:
        self.set_benchmark(us=value)

    @property
    def runs_started(self) -> int:
        """How many times benchmark_model has started on this phone."""
        return int(phone_state.refresh(str(self.root)).get("runs_started", 0))

    def vanish_after_runs(self, runs: int, seconds_into_run: float = 0.2) -> None:
        """The phone vanishes ``seconds_into_run`` into the benchmark_model run that follows the next
        ``runs`` runs (before that run prints its results at the latest): ``vanish_after_runs(0)``
        makes the next run the last one, mid-run."""
        target = self.runs_started + int(runs) + 1
        phone_state.save_config(str(self.root), "benchmark", {"vanish_at_run": target,
                                                              "vanish_into_s": float(seconds_into_run)})

    def running_benchmarks(self) -> List[int]:
        """Pids of benchmark_model processes running on the phone now (also those whose adb client
        was killed: the phone keeps running them)."""
        return [p["pid"] for p in self.processes() if p["name"] in BENCHMARK_NAMES or p["kind"] == "benchmark"]

    def processes(self) -> List[Dict[str, Any]]:
        """The phone's process table: adb shells (``kind`` "shell") and benchmark runs ("benchmark"),
        each with pid, ppid, name, argv (as the phone shows them)."""
        return phone_state.processes(str(self.root))

    # --- thermal model, frequencies, load ----------------------------------------------------------
    def thermal_settings(self) -> Dict[str, Any]:
        """The thermal model's parameters (phone_state.THERMAL_DEFAULTS overridden by thermal.json)."""
        return phone_state.load_config(str(self.root), "thermal", phone_state.THERMAL_DEFAULTS)

    def set_thermal(self, **params: Any) -> Dict[str, Any]:
        """Change the thermal model: enabled, heat_c_per_s, cool_tau_s, battery_tau_factor,
        throttle_c, throttle_slope, throttle_floor, base_load."""
        unknown = set(params) - set(phone_state.THERMAL_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown thermal setting(s) {sorted(unknown)}")
        phone_state.refresh(str(self.root))  # the past runs under the old parameters
        return phone_state.save_config(str(self.root), "thermal", params)

    def set_temperatures(self, temps: Dict[str, float], ambient: bool = False) -> None:
        """Set zones (by type, e.g. ``cpu-1-7-usr``, or ``battery``) to a temperature now; they cool
        back to their ambient value, or stay there with ``ambient=True``."""
        with phone_state.state_at_now(str(self.root)) as state:
            zones = phone_state.zone_entries(state)
            targets = {"battery": state.get("battery")}
            targets.update({k: z for k, z in zones.items() if k != "battery"})
            for name, value in temps.items():
                if name not in zones:
                    raise KeyError(f"no thermal zone {name!r}: {sorted(zones)}")
                targets[name]["temp"] = float(value)
                if ambient:
                    targets[name]["amb"] = float(value)

    def temperatures(self) -> Dict[str, float]:
        """°C now, by zone type (``battery`` from the power supply), as the phone's files show them."""
        return phone_state.temperatures(phone_state.refresh(str(self.root)))

    def cur_freqs(self) -> Dict[int, int]:
        """``scaling_cur_freq`` (kHz) of every CPU now."""
        state = phone_state.refresh(str(self.root))
        return {int(cpu): int(khz) for cpu, khz in state["cur_khz"].items()}

    def max_freqs(self) -> Dict[int, int]:
        """``cpuinfo_max_freq`` (kHz) of every CPU."""
        return {c: cl["freqs"][-1] for cl in phone_state.clusters(str(self.root)) for c in cl["cpus"]}

    def loadavg(self) -> Tuple[float, float, float]:
        """/proc/loadavg's three figures now."""
        state = phone_state.refresh(str(self.root))
        return tuple(round(v, 2) for v in state["load"])  # type: ignore[return-value]

    # --- files ------------------------------------------------------------------------------------
    def host_path(self, device_path: str) -> Path:
        """Where a device path lives on this computer."""
        return self.root / device_path.lstrip("/")

    def listdir(self, device_path: str = "/data/local/tmp/ghostedge") -> Optional[List[str]]:
        """Names in a device folder, or None when the folder does not exist."""
        path = self.host_path(device_path)
        return sorted(os.listdir(path)) if path.is_dir() else None

    def plant(self, device_path: str, data: bytes = b"", size: int = 0, executable: bool = False) -> Path:
        """Put a file on the phone (e.g. an earlier session's leftover): ``data`` or ``size`` zero bytes."""
        path = self.host_path(device_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
            if size > len(data):
                fh.truncate(size)
        path.chmod(0o755 if executable else 0o644)
        return path

    def last_taskset_mask(self) -> Optional[str]:
        """The mask the last ``taskset`` on this phone was called with (the fake records, not applies, it)."""
        path = self.root / ".fakephone" / "last_taskset_mask"
        return path.read_text().strip() if path.exists() else None

    # --- life -------------------------------------------------------------------------------------
    @property
    def vanished(self) -> bool:
        """The phone's daemon is gone (``vanish()`` or a scheduled vanish)."""
        return self.proc.poll() is not None

    def vanish(self) -> None:
        """The phone disappears: the daemon and everything it runs are killed, the socket closes."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    stop = vanish
