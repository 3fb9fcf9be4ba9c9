"""The end of a bench: run the devices, then — whatever happened (done, a device failed, Ctrl-C,
SIGTERM, a full disk) — make sure every measured run is somewhere (results.jsonl, else a rescue
file, else stdout), write the reports (all or none), and say what went wrong in one line, with
the session attached (``exc.session``) so the CLI can still print the table."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence

from ghostedge.device_bench.parallel import Outcome, Worker, run_devices
from ghostedge.device_bench.runner import stopped_error
from ghostedge.errors import BenchmarkError, GhostEdgeError

log = logging.getLogger(__name__)


def finish_session(plan: Any, specs: Sequence[Any], folder: Path, command_line: Sequence[str],
                   warnings: List[str], start: Callable[[], None]) -> Any:
    """Run ``plan`` on ``specs`` and settle the outcome (module doc)."""
    from ghostedge.device_bench.store import RESULTS_NAME, ResultsWriter

    results = folder / RESULTS_NAME
    writer = ResultsWriter(results)
    outcome = run_devices(plan, specs, writer, command_line, start)
    for w in outcome.workers:
        warnings.extend(w.warnings)
    if not outcome.started:   # nothing was measured and nothing written: only the reason
        if outcome.interrupt is not None:
            raise outcome.interrupt
        failed = [w for w in outcome.workers if w.unexpected or w.failure]
        if failed and failed[0].unexpected is not None:
            raise failed[0].unexpected
        if len(failed) == 1 and failed[0].failure is not None:
            raise failed[0].failure
        raise BenchmarkError(f"No device could start the benchmark ({len(failed)} tried)",
                             "; ".join(f"{w.spec.name}: {w.failure.one_line()}" for w in failed if w.failure),
                             "Fix the first problem named and rerun")
    saved_to, unsaved = _secure_results(writer, folder)
    session, report_error = _reports(writer, folder, results, warnings, specs)
    session.failures = [_failure_line(w, results) for w in outcome.workers if w.status == "failed"]
    session.unsaved = unsaved
    session.interrupted = outcome.interrupt is not None
    _raise_for(outcome, session, writer, results, saved_to, unsaved, report_error)
    return session


def _secure_results(writer: Any, folder: Path) -> "tuple[Optional[Path], Optional[str]]":
    """After a write failure: write everything again in place, else to a rescue folder, else keep
    it for stdout. (where it is now, or the JSON lines when it is nowhere)."""
    from ghostedge.device_bench.outputs import rescue

    if writer.error is None:
        return writer.path, None
    try:
        return writer.save(), None
    except OSError as exc:
        log.debug("results still cannot be written to %s: %s", writer.path, exc)
    rescued = rescue(writer, f"{folder.name}-{writer.records[0].get('group_id', 'bench')}")
    return (rescued, None) if rescued else (None, writer.lines())


def _reports(writer: Any, folder: Path, results: Path, warnings: List[str],
             specs: Sequence[Any]) -> "tuple[Any, Optional[GhostEdgeError]]":
    from ghostedge.device_bench.reportfiles import write_reports
    from ghostedge.device_bench.sessionresult import BenchSession
    from ghostedge.device_bench.store import sessions_from_records
    from ghostedge.device_bench.summary import build_summary

    sessions = sessions_from_records(writer.records)
    order = [str(s.name) for s in specs]
    sessions.sort(key=lambda s: order.index(str(s.header.get("device", {}).get("serial")))
                  if str(s.header.get("device", {}).get("serial")) in order else len(order))
    summary = build_summary(sessions)
    session = BenchSession(folder, summary, {"results": results}, warnings + list(summary["warnings"]))
    try:
        session.files.update(write_reports(summary, folder))
    except GhostEdgeError as exc:
        return session, exc
    return session, None


def _failure_line(worker: Worker, results: Path) -> str:
    if worker.run is not None and worker.run.error is not None and worker.run.header is not None:
        return f"{worker.spec.name}: {stopped_error(worker.run, results).one_line()}"
    exc = worker.failure or worker.unexpected
    text = exc.one_line() if isinstance(exc, GhostEdgeError) else f"{type(exc).__name__}: {exc}"
    return f"{worker.spec.name}: {text}"


def _raise_for(outcome: Outcome, session: Any, writer: Any, results: Path, saved_to: Optional[Path],
               unsaved: Optional[str], report_error: Optional[GhostEdgeError]) -> None:
    from ghostedge.fileio import os_error

    runs = sum(1 for r in writer.records if r.get("kind") == "run" and r.get("status", "ok") == "ok")
    if writer.error is not None or (saved_to is not None and saved_to != results):
        where = (f"all {runs} measured runs were saved to {saved_to}: run `ghostedge report {saved_to}`"
                 if saved_to else f"all {runs} measured runs are printed on stdout as JSON lines: save them "
                                  "as results.jsonl and run `ghostedge report` on it")
        err = os_error(writer.error, f"Cannot write the results to {results}", results.parent)
        results_error: Optional[GhostEdgeError] = type(err)(err.what, err.why, where)
        if saved_to is not None:
            log.warning("%s", where)
    else:
        results_error = None
    for failure in (outcome.interrupt, next((w.unexpected for w in outcome.workers if w.unexpected), None)):
        if failure is not None:
            if results_error is not None:
                log.warning("%s", results_error.one_line())
            failure.session = session  # type: ignore[attr-defined]
            raise failure
    if results_error is not None:
        results_error.session = session  # type: ignore[attr-defined]
        raise results_error
    if report_error is not None:
        error = type(report_error)(report_error.what, report_error.why,
                                   f"{results} is complete ({runs} runs): free some space and run "
                                   f"`ghostedge report {results.parent}`")
        error.session = session  # type: ignore[attr-defined]
        raise error
    failed = [w for w in outcome.workers if w.status == "failed"]
    if not failed:
        return
    if len(outcome.workers) == 1:
        w = failed[0]
        error = (stopped_error(w.run, results) if w.run is not None and w.run.error is not None
                 and w.run.header is not None else w.failure)
    else:
        ok = len(outcome.workers) - len(failed)
        error = BenchmarkError(f"{len(failed)} of {len(outcome.workers)} devices failed",
                               "; ".join(session.failures),
                               (f"The other {ok} device(s) finished; " if ok else "")
                               + f"every finished run is kept in {results} and the failed devices' rows "
                                 "are marked in the table")
    assert error is not None
    error.session = session  # type: ignore[attr-defined]
    raise error
