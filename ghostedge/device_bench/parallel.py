"""Several devices at once: one worker thread per device (each adb call is its own subprocess, so
threads run in parallel), each with its own deployment, pinning, cool-down and cleanup, all
appending to one results file. The main thread shows progress and takes Ctrl-C / SIGTERM /
SIGHUP: it then stops every worker (their running adb command is killed), waits while each cleans
its phone and writes its end record, and hands the interruption back."""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from ghostedge.device_bench.plan import BenchPlan
from ghostedge.device_bench.runner import DeviceRun, session_header
from ghostedge.device_bench.store import ResultsWriter, new_session_id, utc_now
from ghostedge.errors import GhostEdgeError
from ghostedge.progress import progress

log = logging.getLogger(__name__)

CLEANUP_WAIT_S = 120.0   # after an interruption, how long to wait for the devices' cleanup


@dataclass
class DeviceSpec:
    """A device to run on: its name (serial or "local"), how to open it (reads its facts), or
    why it cannot be used (named but unauthorized/offline/missing)."""

    name: str
    open: Optional[Callable[[], Any]] = None
    error: Optional[GhostEdgeError] = None
    check: Optional[Callable[[Any], List[str]]] = None   # warnings about this device (oversubscription)


@dataclass
class Worker:
    spec: DeviceSpec
    stop: threading.Event = field(default_factory=threading.Event)
    backend: Any = None
    run: Optional[DeviceRun] = None
    error: Optional[GhostEdgeError] = None
    interrupt: Optional[KeyboardInterrupt] = None
    unexpected: Optional[BaseException] = None
    warnings: List[str] = field(default_factory=list)
    thread: Optional[threading.Thread] = None

    @property
    def status(self) -> str:
        if self.run is not None and self.run.status != "running":
            return self.run.status
        return "interrupted" if self.interrupt else "failed" if (self.error or self.unexpected) else "ok"

    @property
    def failure(self) -> Optional[GhostEdgeError]:
        return self.run.error if self.run is not None and self.run.error else self.error

    def halt(self) -> None:
        self.stop.set()
        stop = getattr(self.backend, "stop", None)
        if stop is not None:
            stop()


@dataclass
class Outcome:
    workers: List[Worker]
    writer: ResultsWriter
    started: bool
    interrupt: Optional[KeyboardInterrupt] = None


def _work(worker: Worker, plan: BenchPlan, writer: ResultsWriter, command_line: Sequence[str],
          group: str, ready: Callable[[], None], events: "queue.Queue[Any]") -> None:
    try:
        if worker.stop.is_set():
            raise KeyboardInterrupt("stopped before start")
        worker.backend = worker.spec.open()
        if worker.stop.is_set():   # stopped while the facts were read: nothing is on the phone yet
            raise KeyboardInterrupt("stopped before start")
        worker.warnings = worker.spec.check(worker.backend) if worker.spec.check else []
        for text in worker.warnings:
            log.warning("%s", text)
        worker.run = DeviceRun(plan, worker.backend, writer, command_line, group, worker.stop, events.put)
        worker.run.execute(ready)
    except KeyboardInterrupt as exc:
        worker.interrupt = exc
    except GhostEdgeError as exc:
        worker.error = exc
    except Exception as exc:  # noqa: BLE001 - reported by the main thread
        worker.unexpected = exc
    finally:
        events.put(None)


def _events(events: "queue.Queue[Any]", workers: List[Worker]) -> Iterator[Any]:
    """Each run record as a worker appends it, until every worker is done."""
    left = len(workers)
    while left:
        try:
            item = events.get(timeout=0.2)
        except queue.Empty:
            continue
        if item is None:
            left -= 1
        else:
            yield item


def run_devices(plan: BenchPlan, specs: Sequence[DeviceSpec], writer: ResultsWriter,
                command_line: Sequence[str], start_output: Callable[[], None]) -> Outcome:
    """Run ``plan`` on every usable device at once; ``start_output`` is called once, when the
    first device is deployed and about to measure (nothing is written before)."""
    group = new_session_id()
    lock = threading.Lock()
    state = {"started": False}

    def ready() -> None:
        with lock:
            if not state["started"]:
                start_output()
                state["started"] = True

    events: "queue.Queue[Any]" = queue.Queue()
    workers = [Worker(s) for s in specs]
    live = [w for w in workers if w.spec.error is None]
    for w in workers:
        if w.spec.error is not None:
            w.error = w.spec.error
    for w in live:
        w.thread = threading.Thread(target=_work, args=(w, plan, writer, command_line, group, ready, events),
                                    name=f"bench-{w.spec.name}", daemon=True)
        w.thread.start()
    interrupt: Optional[KeyboardInterrupt] = None
    try:
        for _ in progress(_events(events, live), total=len(plan.runs()) * len(live), desc="bench", unit="run"):
            pass
    except KeyboardInterrupt as exc:
        interrupt = exc
        log.warning("interrupted: stopping %d device(s) and cleaning up", len(live))
        for w in live:
            w.halt()
        try:
            for w in live:
                if w.thread is not None:
                    w.thread.join(CLEANUP_WAIT_S)
        except KeyboardInterrupt:
            log.warning("interrupted again: not waiting for the devices' cleanup")
    if state["started"]:
        _record_unstarted(workers, plan, writer, command_line, group)
    writer.close()
    return Outcome(workers, writer, state["started"], interrupt)


def _record_unstarted(workers: List[Worker], plan: BenchPlan, writer: ResultsWriter,
                      command_line: Sequence[str], group: str) -> None:
    """A device that failed before its session began still gets its rows marked: a header, the
    error and an end record."""
    for w in workers:
        if w.run is not None and w.run.header is not None:
            continue
        if w.status == "interrupted" or (w.failure is None and w.unexpected is None):
            continue
        sid = new_session_id()
        device = (w.backend.device_info() if w.backend is not None else
                  {"kind": "adb", "serial": w.spec.name, "label": w.spec.name, "is_sd855": False,
                   "facts": {}, "affinity": {}})

        class _Stub:
            def device_info(self) -> Dict[str, Any]:
                return device

            def runtime_info(self) -> Dict[str, Any]:
                return {}

        exc = w.failure or w.unexpected
        message = exc.one_line() if isinstance(exc, GhostEdgeError) else f"{type(exc).__name__}: {exc}"
        writer.append(session_header(plan, _Stub(), sid, command_line, group))  # type: ignore[arg-type]
        writer.append({"kind": "error", "session_id": sid, "at": utc_now(), "run_index": None,
                       "where": "start", "error_type": type(exc).__name__, "message": message})
        writer.append({"kind": "end", "session_id": sid, "at": utc_now(), "status": "failed",
                       "runs_done": 0, "runs_planned": len(plan.runs()), "where": "start"})
