"""What changes on a fake phone while it runs: temperatures, CPU frequencies, /proc/loadavg,
/proc/stat, and the table of processes "on the phone". Stdlib only.

Nothing runs in the background: the state (ROOT/.fakephone/state.json, under a file lock) is
advanced from wall-clock time whenever something looks at it. fake_adbd.py calls ``refresh`` before
every shell command and sync read, fake_benchmark_model.py calls ``begin_run``/``end_run`` around its
timed loops, harness.py calls ``refresh`` before answering ``phone.temperatures()``.

Thermal model (per zone, Newton cooling with a heat source): between two updates the activity is
constant, so ``T(t) = T_eq + (T0 - T_eq) * exp(-dt / tau)`` with ``T_eq = ambient + power * tau`` and
``power = heat_c_per_s * gain(zone) * busy_cores``. Idle phones stay exactly at their ambient values.
A zone file written by hand (``echo 47500 > .../temp``) becomes that zone's new ambient.
Throttling: above ``throttle_c`` on the big-core zones, every cluster but the slowest is capped at
``max * (1 - throttle_slope * (T - throttle_c))`` (not below ``throttle_floor * max``), snapped to an
available frequency; busy cores show that cap in ``scaling_cur_freq``, idle ones their lowest step.
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import math
import os
import time
from typing import Any, Dict, Iterator, List, Optional

try:  # imported as fakephone.phone_state by the harness, as phone_state by the phone's scripts
    from . import phone_files, phone_procs
except ImportError:
    import phone_files  # type: ignore[no-redef]
    import phone_procs  # type: ignore[no-redef]
host_stat, process_alive = phone_procs.host_stat, phone_procs.process_alive
register_process, unregister_process, processes = (phone_procs.register_process, phone_procs.unregister_process,
                                                   phone_procs.processes)

THERMAL_DEFAULTS: Dict[str, Any] = {
    "enabled": True,
    "heat_c_per_s": 1.5,        # °C per second per busy core, on a zone of gain 1 (the big cores)
    "cool_tau_s": 3.0,          # time constant of the exponential cooling, seconds
    "battery_tau_factor": 3.0,  # the battery heats and cools this much slower
    "throttle_c": 45.0,         # hottest big-core zone above this: big clusters are capped
    "throttle_slope": 0.05,     # fraction of the max frequency lost per °C above throttle_c
    "throttle_floor": 0.5,      # never below this fraction of the max frequency
    "base_load": 0.4,           # load average of an idle phone
}
# zone type substring -> (gain for CPU work, gain for GPU work); first match wins
ZONE_GAINS = [("cpu-1", 1.0, 0.3), ("cpu-0", 0.55, 0.2), ("gpu", 0.45, 1.0), ("xo", 0.3, 0.3),
              ("battery", 0.2, 0.2)]
BATTERY = ("battery_power_supply", 0.2, 0.2)
LOAD_TAUS = (60.0, 300.0, 900.0)
HZ = 100  # USER_HZ of /proc/stat


def fp_dir(root: str) -> str:
    """ROOT/.fakephone (created)."""
    path = os.path.join(root, ".fakephone")
    os.makedirs(path, exist_ok=True)
    return path


def load_config(root: str, name: str, defaults: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """ROOT/.fakephone/NAME.json over ``defaults`` (a bad or missing file gives the defaults)."""
    data = dict(defaults or {})
    try:
        with open(os.path.join(root, ".fakephone", name + ".json")) as fh:
            data.update(json.load(fh))
    except (OSError, ValueError):
        pass
    return data


def save_config(root: str, name: str, updates: Dict[str, Any]) -> Dict[str, Any]:
    """Merge ``updates`` into ROOT/.fakephone/NAME.json (atomically); returns the new content."""
    with _locked(root, name + ".lock"):
        data = load_config(root, name)
        data.update(updates)
        path = os.path.join(fp_dir(root), name + ".json")
        with open(path + ".tmp", "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.replace(path + ".tmp", path)
    return data


@contextlib.contextmanager
def _locked(root: str, lock_name: str = "state.lock") -> Iterator[None]:
    with open(os.path.join(fp_dir(root), lock_name), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""


# --- CPU layout --------------------------------------------------------------------------------

def clusters(root: str) -> List[Dict[str, Any]]:
    """[{"cpus": [...], "freqs": [kHz ascending]}] read from the device root, slowest first."""
    seen: Dict[str, Dict[str, Any]] = {}
    for path in sorted(glob.glob(os.path.join(root, "sys/devices/system/cpu/cpu[0-9]*/cpufreq"))):
        cpu = int(os.path.basename(os.path.dirname(path))[3:])
        related = _read(os.path.join(path, "related_cpus")) or str(cpu)
        freqs = sorted(int(f) for f in _read(os.path.join(path, "scaling_available_frequencies")).split())
        if not freqs:
            freqs = [int(_read(os.path.join(path, "cpuinfo_max_freq")) or 0)]
        seen.setdefault(related, {"cpus": [], "freqs": freqs})["cpus"].append(cpu)
    return sorted(seen.values(), key=lambda c: (c["freqs"][-1], c["cpus"][0]))


def busy_cpus(run: Dict[str, Any], all_cpus: List[int]) -> List[int]:
    """The cores a run keeps busy: its ``threads`` highest-numbered cores of its mask."""
    cpus = sorted(run.get("cpus") or all_cpus)
    threads = int(run.get("threads") or 1)
    if threads <= 0:
        threads = len(cpus)
    return cpus[-min(threads, len(cpus)):] if cpus else []


# --- the state ---------------------------------------------------------------------------------

def _zone_gain(kind: str, gpu: bool) -> float:
    for key, cpu_gain, gpu_gain in ZONE_GAINS:
        if key in kind:
            return gpu_gain if gpu else cpu_gain
    return 0.3


def _initial_state(root: str, now: float) -> Dict[str, Any]:
    zones = {}
    for folder in sorted(glob.glob(os.path.join(root, "sys/class/thermal/thermal_zone*"))):
        raw = _read(os.path.join(folder, "temp"))
        with contextlib.suppress(ValueError):
            zones[os.path.basename(folder)] = {"type": _read(os.path.join(folder, "type")),
                                               "amb": int(raw) / 1000.0, "temp": int(raw) / 1000.0,
                                               "written": raw}
    raw = _read(os.path.join(root, "sys/class/power_supply/battery/temp"))
    battery = {"amb": int(raw) / 10.0, "temp": int(raw) / 10.0, "written": raw} if raw.lstrip("-").isdigit() else None
    cl = clusters(root)
    cpus = sorted(c for cluster in cl for c in cluster["cpus"])
    uptime = 3600.0
    stat = {str(c): [uptime * HZ * 0.03, 0.0, uptime * HZ * 0.01, uptime * HZ * 0.96] for c in cpus}
    base = THERMAL_DEFAULTS["base_load"]
    return {"t": now, "zones": zones, "battery": battery, "clusters": cl, "cpus": cpus,
            "load": [base, base, base], "stat": stat, "btime": int(now - uptime), "active": {},
            "runs_started": 0, "procs_total": 0}


def _load_state(root: str, now: float) -> Dict[str, Any]:
    try:
        with open(os.path.join(root, ".fakephone", "state.json")) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return _initial_state(root, now)


def _save_state(root: str, state: Dict[str, Any]) -> None:
    path = os.path.join(fp_dir(root), "state.json")
    with open(path + ".tmp", "w") as fh:
        json.dump(state, fh)
    os.replace(path + ".tmp", path)


def _cap_khz(cluster: Dict[str, Any], index: int, n_clusters: int, frac: float) -> int:
    freqs = cluster["freqs"]
    if index == 0 and n_clusters > 1 or frac >= 1.0:
        return freqs[-1]
    allowed = [f for f in freqs if f <= freqs[-1] * frac]
    return allowed[-1] if allowed else freqs[0]


def _throttle_fraction(state: Dict[str, Any], cfg: Dict[str, Any]) -> float:
    temps = [z["temp"] for z in state["zones"].values() if "cpu-1" in z["type"]]
    temps = temps or [z["temp"] for z in state["zones"].values()]
    hot = max(temps) if temps else 0.0
    if hot <= cfg["throttle_c"]:
        return 1.0
    return max(cfg["throttle_floor"], 1.0 - cfg["throttle_slope"] * (hot - cfg["throttle_c"]))


def _advance(root: str, state: Dict[str, Any], now: float) -> None:
    """Move the state from state["t"] to ``now`` with the activity that held meanwhile."""
    cfg = load_config(root, "thermal", THERMAL_DEFAULTS)
    dt = max(0.0, now - float(state["t"]))
    sensors = [(os.path.join(root, "sys/class/thermal", name, "temp"), zone, 1000.0)
               for name, zone in state["zones"].items()]
    if state.get("battery"):
        sensors.append((os.path.join(root, "sys/class/power_supply/battery/temp"), state["battery"], 10.0))
    for path, zone, scale in sensors:  # a file written by hand: a number is the new resting value,
        raw = _read(path)              # anything else (or no file) is left alone until it is a number
        zone["frozen"] = not raw.lstrip("-").isdigit()
        if raw != zone["written"] and not zone["frozen"]:
            zone["amb"] = zone["temp"] = int(raw) / scale
            zone["written"] = raw
    battery = state.get("battery")
    runs = [r for r in state["active"].values()]
    cpu_busy = sorted({c for r in runs if r.get("kind", "cpu") == "cpu" for c in busy_cpus(r, state["cpus"])})
    gpu_runs = sum(1 for r in runs if r.get("kind") in ("gpu", "npu"))
    if cfg.get("enabled", True) and dt > 0:
        tau = float(cfg["cool_tau_s"])
        heat = float(cfg["heat_c_per_s"])
        for zone in state["zones"].values():
            power = heat * (len(cpu_busy) * _zone_gain(zone["type"], False)
                            + 2 * gpu_runs * _zone_gain(zone["type"], True))
            zone["temp"] = _relax(zone["temp"], zone["amb"] + power * tau, dt, tau)
        if battery:
            btau = tau * float(cfg["battery_tau_factor"])
            power = heat * BATTERY[1] * (len(cpu_busy) + 2 * gpu_runs)
            battery["temp"] = _relax(battery["temp"], battery["amb"] + power * btau, dt, btau)
    running = len(cpu_busy) + gpu_runs + float(cfg["base_load"])
    state["load"] = [_relax(v, running, dt, t) for v, t in zip(state["load"], LOAD_TAUS)]
    ticks = dt * HZ
    for cpu, row in state["stat"].items():
        busy = 1.0 if int(cpu) in cpu_busy else 0.03
        row[0] += busy * 0.9 * ticks
        row[2] += busy * 0.1 * ticks
        row[3] += (1.0 - busy) * ticks
    state["t"] = now
    state["freq_fraction"] = _throttle_fraction(state, cfg)
    state["cur_khz"] = {}
    n = len(state["clusters"])
    for index, cluster in enumerate(state["clusters"]):
        cap = _cap_khz(cluster, index, n, state["freq_fraction"])
        for cpu in cluster["cpus"]:
            state["cur_khz"][str(cpu)] = cap if cpu in cpu_busy else cluster["freqs"][0]


def _relax(value: float, target: float, dt: float, tau: float) -> float:
    if value == target or dt <= 0:
        return value
    return target + (value - target) * math.exp(-dt / tau)


@contextlib.contextmanager
def state_at_now(root: str) -> Iterator[Dict[str, Any]]:
    """Lock the state, advance it to now (dropping runs whose process died), yield it, write it back."""
    with _locked(root):
        now = time.time()
        state = _load_state(root, now)
        _advance(root, state, now)
        dead = [pid for pid, run in state["active"].items() if not process_alive(run)]
        for pid in dead:  # killed without end_run: counted as running until now
            del state["active"][pid]
        yield state
        _advance(root, state, time.time())
        phone_files.write_files(root, state)
        _save_state(root, state)


def refresh(root: str) -> Dict[str, Any]:
    """Bring temperatures, frequencies, loadavg and stat files up to now; returns the state."""
    with state_at_now(root) as state:
        return state


def begin_run(root: str, pid: int, threads: int, cpus: Optional[List[int]], kind: str = "cpu") -> int:
    """A benchmark starts its timed loops on ``cpus`` (None: any core); returns its run number (1-based)."""
    fields = host_stat(pid)
    with state_at_now(root) as state:
        state["active"][str(pid)] = {"pid": pid, "threads": threads, "cpus": cpus, "kind": kind,
                                     "since": time.time(), "start": fields[19] if fields else None}
        return int(state["runs_started"])


def count_run(root: str) -> int:
    """Count one more benchmark_model start; returns its number (1-based)."""
    with state_at_now(root) as state:
        state["runs_started"] = int(state["runs_started"]) + 1
        return state["runs_started"]


def end_run(root: str, pid: int) -> None:
    """The benchmark's timed loops ended."""
    with state_at_now(root) as state:
        state["active"].pop(str(pid), None)


def slowdown(state: Dict[str, Any], pid: int) -> float:
    """How much slower the run of ``pid`` is now than at full frequency (>= 1)."""
    run = state["active"].get(str(pid))
    if not run or run.get("kind", "cpu") != "cpu":
        return 1.0
    worst = 1.0
    for cluster in state["clusters"]:
        for cpu in busy_cpus(run, state["cpus"]):
            if cpu in cluster["cpus"]:
                worst = max(worst, cluster["freqs"][-1] / max(1, state["cur_khz"].get(str(cpu), cluster["freqs"][-1])))
    return worst


def zone_entries(state: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """The state's zones by the names ghostedge's read_temperatures gives them: ``battery`` (power
    supply) and every thermal zone by type (a type seen twice gets ``#zoneN``)."""
    out: Dict[str, Dict[str, Any]] = {}
    if state.get("battery"):
        out["battery"] = dict(state["battery"], scale=10.0)
    for name, zone in sorted(state["zones"].items(), key=lambda kv: int(kv[0][len("thermal_zone"):] or 0)):
        key = zone["type"] if zone["type"] not in out else "%s#zone%s" % (zone["type"], name[len("thermal_zone"):])
        out[key] = zone
    return out


def temperatures(state: Dict[str, Any]) -> Dict[str, float]:
    """°C as the device files show them now, by ``zone_entries`` name."""
    return {k: int(z["written"]) / z.get("scale", 1000.0) for k, z in zone_entries(state).items()
            if not z.get("frozen")}
