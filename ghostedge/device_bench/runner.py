"""One device's session: deploy, cool down, run every planned cell, repeat unstable cells, profile,
measure memory — each run appended to the results as it ends; a cell the device cannot measure (a
delegate that fails) is marked and the rest goes on; the device is cleaned up whatever happens."""
from __future__ import annotations

import logging
import os
import platform
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence

from ghostedge import __version__
from ghostedge.android_runner.errors import CellFailure
from ghostedge.device_bench.plan import BenchModel, BenchPlan, PlannedRun
from ghostedge.device_bench.store import ResultsWriter, new_session_id, utc_now
from ghostedge.device_bench.thermal import ThermalGate
from ghostedge.errors import BenchmarkError, GhostEdgeError
from ghostedge.text import counted

log = logging.getLogger(__name__)


class Backend(Protocol):
    """Where runs happen. ``AdbBackend`` (phone) and ``LocalBackend`` (this CPU) implement it;
    ``profile``/``memory``/``stop``/``deployment_info`` are optional."""

    kind: str

    def device_info(self) -> Dict[str, Any]: ...
    def runtime_info(self) -> Dict[str, Any]: ...
    def pinned_cores(self) -> int: ...
    def prepare(self, models: Sequence[BenchModel]) -> None: ...
    def temperatures(self) -> Dict[str, float]: ...
    def run(self, model: BenchModel, threads: int, plan: BenchPlan, delegate: str = "cpu") -> Dict[str, Any]: ...
    def close(self) -> None: ...


def session_header(plan: BenchPlan, backend: Backend, session_id: str, command_line: Sequence[str],
                   group_id: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
    """The provenance record that opens a device's session."""
    return {"kind": "session", "session_id": session_id, "group_id": group_id or session_id,
            "started_at": utc_now(), "ghostedge_version": __version__, "command_line": list(command_line),
            "host": {"python": platform.python_version(), "platform": platform.platform()},
            "device": backend.device_info(), "runtime": backend.runtime_info(), "plan": plan.to_dict(),
            **extra}


def where(run: PlannedRun, total: Optional[int]) -> str:
    """``run 3 of 12 (GhostNet_x1_0 FP32, 2 threads, repeat 1)``; without ``total``: ``run (...)``."""
    return ((f"run {run.index + 1} of {total} (" if total else "run (") + f"{run.model.label}, "
            + (f"{counted(run.threads, 'thread')}" if run.delegate == "cpu" else run.delegate.upper())
            + f", repeat {run.repeat + 1})")


class DeviceRun:
    """One device's session, in the calling thread (``parallel.run_devices`` gives each device a
    thread). ``status`` ends as ok / failed / interrupted; ``error`` says why it failed."""

    def __init__(self, plan: BenchPlan, backend: Backend, writer: ResultsWriter,
                 command_line: Sequence[str] = (), group_id: Optional[str] = None,
                 stop: Optional[threading.Event] = None,
                 on_record: Optional[Callable[[Dict[str, Any]], None]] = None) -> None:
        self.plan, self.backend, self.writer = plan, backend, writer
        self.command_line, self.group_id = list(command_line), group_id
        self.stop = stop or threading.Event()
        self.on_record = on_record
        self.session_id = new_session_id()
        self.records: List[Dict[str, Any]] = []
        self.failed_cells: Dict[tuple, str] = {}
        self.status = "running"
        self.error: Optional[GhostEdgeError] = None
        self.unexpected: Optional[BaseException] = None
        self.interrupt: Optional[KeyboardInterrupt] = None
        self.where = "start"
        self.header: Optional[Dict[str, Any]] = None
        self.decisions: Dict[str, Any] = {}
        self.gate: Optional[ThermalGate] = None
        self.index = 0
        self.total = len(plan.runs())

    # --- the whole session --------------------------------------------------------------------
    def execute(self, ready: Optional[Callable[[], None]] = None) -> "DeviceRun":
        """Deploy, run every phase, clean up; never raises (``status``, ``error``, ``interrupt``)."""
        from ghostedge.device_bench.phases import adaptive_phase, memory_phase, profile_phase

        try:
            self.backend.prepare(self.plan.models)
            if ready is not None:
                ready()
            self.start()
            for planned in self.plan.runs():
                self.run_one(planned)
            self.decisions = adaptive_phase(self)
            profile_phase(self)
            memory_phase(self)
            self.status = "ok"
        except KeyboardInterrupt as exc:
            self.status, self.interrupt = "interrupted", exc
        except GhostEdgeError as exc:
            self.status, self.error = "failed", exc
            self._error_record(exc)
        except Exception as exc:  # noqa: BLE001 - a bug: end the session cleanly, re-raised later
            self.status, self.unexpected = "failed", exc
            self._error_record(exc)
            log.debug("unexpected error on %s", self.label, exc_info=True)
        finally:
            self._close()
            if self.header is not None:
                self.writer.append({"kind": "end", "session_id": self.session_id, "at": utc_now(),
                                    "status": self.status, "runs_done": len(self.records),
                                    "runs_planned": self.total, "where": self.where,
                                    "adaptive": [{"cell": k, **d} for k, d in self.decisions.items()],
                                    "cooldown_waited_s": round(self.gate.waited_s, 3) if self.gate else 0.0})
        return self

    @property
    def label(self) -> str:
        info = getattr(self.backend, "serial", None) or self.backend.kind
        return str(info)

    def start(self) -> None:
        """The thermal baseline, then the session header."""
        plan = self.plan
        self.gate = ThermalGate(plan.cooldown_mode, plan.cooldown_temp_c, plan.cooldown_delta_c,
                                plan.cooldown_max_wait_s, self.backend.temperatures, self.stop)
        thermal = self.gate.start()
        deployment = getattr(self.backend, "deployment_info", lambda: None)()
        extra = {"thermal": thermal, **({"deployment": deployment} if deployment else {})}
        self.header = session_header(plan, self.backend, self.session_id, self.command_line,
                                     self.group_id, **extra)
        self.writer.append(self.header)

    def _close(self) -> None:
        try:
            self.backend.close()
        except GhostEdgeError as exc:
            log.warning("could not clean up %s: %s", self.label, exc.one_line())

    def _error_record(self, exc: BaseException) -> None:
        if self.header is None:
            return
        message = exc.one_line() if isinstance(exc, GhostEdgeError) else f"{type(exc).__name__}: {exc}"
        self.writer.append({"kind": "error", "session_id": self.session_id, "at": utc_now(),
                            "run_index": self.index if self.where != "start" else None,
                            "where": self.where, "error_type": type(exc).__name__, "message": message})

    def check_stop(self) -> None:
        if self.stop.is_set():
            from ghostedge.device_bench.thermal import Stopped

            raise Stopped("stopped")

    # --- one run ------------------------------------------------------------------------------
    def run_one(self, planned: PlannedRun, phase: str = "planned") -> Optional[Dict[str, Any]]:
        """Cool down, run, record. A cell that failed before is skipped (None)."""
        cell = (planned.model.label, planned.cell)
        if cell in self.failed_cells:
            return None
        self.check_stop()
        self.where = where(planned, self.total) if phase == "planned" else f"{phase} {where(planned, None)}"
        self.index = planned.index
        before, cooldown = self.gate.before_run() if self.gate else (None, None)
        if before is None:
            before = (self.records[-1]["temperatures_after"] if self.records else None) or self.backend.temperatures()
        started, t0 = utc_now(), time.monotonic()
        record: Dict[str, Any] = {"kind": "run", "session_id": self.session_id, "index": planned.index,
                                  "repeat": planned.repeat, "threads": planned.threads,
                                  "delegate": planned.delegate, "phase": phase,
                                  "model": planned.model.to_dict(), "started_at": started}
        try:
            result = self.backend.run(planned.model, planned.threads, self.plan, planned.delegate)
        except CellFailure as exc:
            self.failed_cells[cell] = exc.reason
            log.warning("%s on %s: %s (cell marked; the session goes on)", self.where, self.label, exc.one_line())
            record.update(status="failed", failure={"kind": exc.kind, "reason": exc.reason,
                                                    "message": exc.one_line()}, result=None)
            result = None
        wall_s = time.monotonic() - t0
        if result is not None and (not result.get("avg_us") or result["avg_us"] <= 0):
            raise BenchmarkError(f"No latency in the output for {planned.model.label}",
                                 "the benchmark reported no inference average",
                                 "Run with -vv to see the benchmark output")
        pinned = self.backend.pinned_cores()
        lost: Optional[GhostEdgeError] = None
        try:
            after: Optional[Dict[str, float]] = self.backend.temperatures()
        except GhostEdgeError as exc:   # the phone went away after its output came: keep the run
            after, lost = None, exc
        record.update({"ended_at": utc_now(), "wall_s": round(wall_s, 4),
                       "mask": self.backend.device_info().get("affinity", {}).get("mask"),
                       "temperatures_before": before, "temperatures_after": after,
                       "cooldown": cooldown,
                       "oversubscribed": planned.delegate == "cpu" and bool(pinned) and planned.threads > pinned})
        if result is not None:
            record.update(status="ok", result=result,
                          throttled=(result.get("frequency") or {}).get("throttled"),
                          busy=(result.get("host_load") or {}).get("verdict") == "busy")
        self.writer.append(record)
        self.records.append(record)
        if self.on_record:
            self.on_record(record)
        if lost is not None:
            raise lost
        return record


@dataclass
class BenchRun:
    """What ``run_plan`` did: the session id, the records written, and where."""

    session_id: str
    results_path: Path
    records: List[Dict[str, Any]]
    total_runs: int
    status: str


def run_plan(plan: BenchPlan, backend: Backend, results_path: "os.PathLike[str] | str",
             command_line: Sequence[str] = (),
             on_record: Optional[Callable[[Dict[str, Any]], None]] = None) -> BenchRun:
    """One device's whole session in this thread, appended to ``results_path``. On failure the
    finished runs stay in the file, an ``error`` and an ``end`` record are added and a
    ``BenchmarkError`` says where it stopped; Ctrl-C ends the session as ``interrupted``."""
    writer = ResultsWriter(results_path)
    try:
        done = DeviceRun(plan, backend, writer, command_line, on_record=on_record).execute()
    finally:
        writer.close()
    if done.interrupt is not None:
        raise done.interrupt
    if done.unexpected is not None:
        raise done.unexpected
    if done.error is not None:
        raise stopped_error(done, Path(results_path)) from done.error
    return BenchRun(done.session_id, Path(results_path), done.records, done.total, done.status)


def stopped_error(done: DeviceRun, results: Path) -> BenchmarkError:
    """``Benchmark stopped at run 3 of 12 (...): <why>. 2 finished runs are kept in <results>``."""
    assert done.error is not None
    kept = len([r for r in done.records if r.get("status", "ok") == "ok"])
    return BenchmarkError(f"Benchmark stopped at {done.where}", done.error.one_line(),
                          f"1 finished run is kept in {results}" if kept == 1
                          else f"{kept} finished runs are kept in {results}")
