"""Execute a plan on a backend (phone over adb, or the local CPU), appending each run as it ends."""
from __future__ import annotations

import logging
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence

from ghostedge import __version__
from ghostedge.progress import progress
from ghostedge.device_bench.plan import BenchModel, BenchPlan, PlannedRun
from ghostedge.device_bench.store import ResultsWriter, new_session_id, utc_now
from ghostedge.errors import BenchmarkError, GhostEdgeError

log = logging.getLogger(__name__)


class Backend(Protocol):
    """Where runs happen. ``AdbBackend`` (phone) and ``LocalBackend`` (this CPU) implement it."""

    kind: str

    def device_info(self) -> Dict[str, Any]: ...
    def runtime_info(self) -> Dict[str, Any]: ...
    def pinned_cores(self) -> int: ...
    def prepare(self, models: Sequence[BenchModel]) -> None: ...
    def temperatures(self) -> Dict[str, float]: ...
    def run(self, model: BenchModel, threads: int, plan: BenchPlan) -> Dict[str, Any]: ...
    def close(self) -> None: ...


@dataclass
class CooldownResult:
    waited_s: float
    temperatures: Dict[str, float]
    timed_out: bool


def hottest(temps: Dict[str, float]) -> Optional[float]:
    """The highest plausible reading (0..150 °C); zones reporting nonsense are ignored."""
    values = [v for v in temps.values() if isinstance(v, (int, float)) and math.isfinite(v)
              and 0.0 < v < 150.0]
    return max(values) if values else None


def wait_for_cooldown(read_temps: Callable[[], Dict[str, float]], threshold_c: float,
                      max_wait_s: float, poll_s: float = 2.0,
                      sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.monotonic) -> CooldownResult:
    """Wait while the hottest zone is above ``threshold_c``, at most ``max_wait_s`` seconds."""
    start = clock()
    temps = read_temps()
    while True:
        top = hottest(temps)
        waited = clock() - start
        if top is None or top <= threshold_c:
            return CooldownResult(waited, temps, False)
        if waited >= max_wait_s:
            log.warning("still %.1f °C after %.0f s of cool-down (threshold %.1f °C); running anyway",
                        top, waited, threshold_c)
            return CooldownResult(waited, temps, True)
        sleep(min(poll_s, max(0.0, max_wait_s - waited)) or poll_s)
        temps = read_temps()


@dataclass
class BenchRun:
    """What ``run_plan`` did: the session id, the records written, and where."""

    session_id: str
    results_path: Path
    records: List[Dict[str, Any]]
    total_runs: int
    status: str


def session_header(plan: BenchPlan, backend: Backend, session_id: str,
                   command_line: Sequence[str]) -> Dict[str, Any]:
    """The provenance record that opens a session."""
    return {"kind": "session", "session_id": session_id, "started_at": utc_now(),
            "ghostedge_version": __version__, "command_line": list(command_line),
            "host": {"python": platform.python_version(), "platform": platform.platform()},
            "device": backend.device_info(), "runtime": backend.runtime_info(),
            "plan": plan.to_dict()}


def run_plan(plan: BenchPlan, backend: Backend, results_path: "os.PathLike[str] | str",
             command_line: Sequence[str] = (),
             on_record: Optional[Callable[[Dict[str, Any]], None]] = None) -> BenchRun:
    """Run every planned invocation in order; each result is appended (fsync) as soon as it ends.

    On failure the finished runs stay in the file, an ``error`` and an ``end`` record are added and
    a ``BenchmarkError`` says where it stopped. Ctrl-C ends the session as ``interrupted``.
    """
    session_id = new_session_id()
    runs = plan.runs()
    records: List[Dict[str, Any]] = []
    status = "ok"
    writer = ResultsWriter(results_path)
    try:
        writer.append(session_header(plan, backend, session_id, command_line))
        if plan.cooldown_temp_c is not None and hottest(backend.temperatures()) is None:
            log.warning("--cooldown-temp has no effect: the device reports no temperatures")
        current: Optional[PlannedRun] = None
        last_temps: Optional[Dict[str, float]] = None
        try:
            for current in progress(runs, total=len(runs), desc="bench", unit="run"):
                record = _one_run(plan, backend, current, session_id, last_temps)
                last_temps = record["temperatures_after"]
                writer.append(record)
                records.append(record)
                if on_record:
                    on_record(record)
        except GhostEdgeError as exc:
            status = "failed"
            where = (f"run {current.index + 1} of {len(runs)} ({current.model.label}, "
                     f"{current.threads} thread{'' if current.threads == 1 else 's'}, "
                     f"repeat {current.repeat + 1})") if current else "start"
            writer.append({"kind": "error", "session_id": session_id, "at": utc_now(),
                           "run_index": current.index if current else None,
                           "error_type": type(exc).__name__, "message": exc.one_line()})
            raise BenchmarkError(
                f"Benchmark stopped at {where}", exc.one_line(),
                (f"1 finished run is kept in {results_path}" if len(records) == 1
                 else f"{len(records)} finished runs are kept in {results_path}")) from exc
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            writer.append({"kind": "end", "session_id": session_id, "at": utc_now(),
                           "status": status, "runs_done": len(records), "runs_planned": len(runs)})
    finally:
        writer.close()
    return BenchRun(session_id, Path(results_path), records, len(runs), status)


def _one_run(plan: BenchPlan, backend: Backend, run: PlannedRun, session_id: str,
             last_temps: Optional[Dict[str, float]] = None) -> Dict[str, Any]:
    """Cool down (optional), read temperatures, run, read them again. Without a cool-down the
    previous run's closing reading (taken a moment ago) serves as this run's opening one."""
    cooldown = None
    if plan.cooldown_temp_c is not None:
        waited = wait_for_cooldown(backend.temperatures, plan.cooldown_temp_c, plan.cooldown_max_wait_s)
        before = waited.temperatures
        cooldown = {"threshold_c": plan.cooldown_temp_c, "waited_s": round(waited.waited_s, 3),
                    "timed_out": waited.timed_out}
    elif last_temps is not None:
        before = last_temps
    else:
        before = backend.temperatures()
    started = utc_now()
    t0 = time.monotonic()
    result = backend.run(run.model, run.threads, plan)
    wall_s = time.monotonic() - t0
    ended = utc_now()
    after = backend.temperatures()
    if not result.get("avg_us") or result["avg_us"] <= 0:
        raise BenchmarkError(f"No latency in the output for {run.model.label}",
                             "the benchmark reported no inference average",
                             "Run with -vv to see the benchmark output")
    return {"kind": "run", "session_id": session_id, "index": run.index, "repeat": run.repeat,
            "threads": run.threads, "model": run.model.to_dict(), "started_at": started,
            "ended_at": ended, "wall_s": round(wall_s, 4),
            "mask": backend.device_info().get("affinity", {}).get("mask"),
            "temperatures_before": before, "temperatures_after": after, "cooldown": cooldown,
            "result": result}
