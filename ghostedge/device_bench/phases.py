"""The phases after a device's planned runs (each takes the ``runner.DeviceRun``): adaptive repeats of unstable cells, the per-operator
profile (``--op-profile``) and peak memory (``--memory``), each in runs of their own so that
neither the profiler nor the memory poller disturbs a timed run."""
from __future__ import annotations

import logging
import statistics
from typing import Any, Dict, Optional

from ghostedge.android_runner.errors import CellFailure
from ghostedge.device_bench.adaptive import AdaptivePolicy, Budget, decide
from ghostedge.device_bench.cells import cell_stats
from ghostedge.device_bench.plan import PlannedRun, cell_key
from ghostedge.device_bench.store import utc_now

log = logging.getLogger(__name__)


def _cell_records(run: Any, label: str, key: str) -> list:
    return [r for r in run.records if r["model"]["label"] == label
            and cell_key(r.get("delegate", "cpu"), r["threads"]) == key]


def adaptive_phase(run: Any) -> Dict[str, Dict[str, Any]]:
    """After the planned repeats: while a cell's 95 % interval is wider than ±2 % (or it has
    fewer than 6 runs), run one more round of such cells, interleaved, until none is left, the
    most runs allowed are reached or the budget is spent. Returns each cell's last decision."""
    plan = run.plan
    if plan.adaptive_budget_s <= 0:
        return {}
    policy = AdaptivePolicy(min_runs=plan.min_repeats, max_runs=plan.max_repeats,
                            budget_s=plan.adaptive_budget_s)
    budget = Budget()
    decisions: Dict[str, Dict[str, Any]] = {}
    repeat = plan.repeats
    while True:
        again = []
        for model, delegate, threads in plan.cells():
            key = cell_key(delegate, threads)
            if (model.label, key) in run.failed_cells:
                continue
            records = _cell_records(run, model.label, key)
            walls = [r["wall_s"] for r in records if r.get("wall_s")]
            decision = decide(cell_stats(records), policy, budget.spent(),
                              statistics.fmean(walls) if walls else None)
            decisions[f"{model.label} | {key}"] = decision.to_dict()
            if decision.again:
                again.append((model, delegate, threads))
        if not again:
            break
        for model, delegate, threads in again:
            run.run_one(PlannedRun(run.index + 1, repeat, model, threads, delegate), phase="adaptive")
        repeat += 1
    unstable = [k for k, d in decisions.items() if d["unstable"]]
    if unstable:
        log.warning("%s: %d cell(s) still wider than ±2 %% when the adaptive repeats stopped: %s",
                    run.label, len(unstable), "; ".join(f"{k} ({decisions[k]['reason']})" for k in unstable))
    return decisions


def _extra_record(run: Any, kind: str, model: Any, threads: int, delegate: str) -> Dict[str, Any]:
    return {"kind": kind, "session_id": run.session_id, "at": utc_now(), "model": model.to_dict(),
            "threads": threads, "delegate": delegate}


def profile_phase(run: Any) -> None:
    """``--op-profile``: one run with ``--enable_op_profiling=true`` per (model, CPU threads),
    summed by GhostNet part through the model's report (by operator type without one, said so)."""
    from ghostedge.android_runner.op_profile import parse_op_profile
    from ghostedge.device_bench.op_parts import profile_by_part
    from ghostedge.model_report import find_report

    plan = run.plan
    if not plan.op_profile or "cpu" not in plan.delegates:
        return
    for model in plan.models:
        report = find_report(model.path)
        section: Optional[dict] = report.sections.get("op_parts") if report is not None else None
        if report is not None and section is None:
            section = {}   # a report without the section: profile_by_part says so
        for threads in plan.threads:
            if (model.label, cell_key("cpu", threads)) in run.failed_cells:
                continue
            run.check_stop()
            run.where = f"op profile of {model.label} at {threads} thread(s)"
            if run.gate is not None:
                run.gate.before_run()
            record = _extra_record(run, "profile", model, threads, "cpu")
            try:
                text = run.backend.profile(model, threads, plan)
            except CellFailure as exc:
                record.update(status="failed", failure={"kind": exc.kind, "reason": exc.reason})
                log.warning("%s: no op profile: %s", run.label, exc.one_line())
            else:
                parts = profile_by_part(parse_op_profile(text), model.path, section or None)
                if section == {}:
                    parts.notes.insert(0, f"{model.label}'s report has no op_parts section (converted by an "
                                          "older ghostedge): profiled by operator type only")
                record.update(status="ok", part_profile=parts.to_dict())
            run.writer.append(record)


def memory_phase(run: Any) -> None:
    """``--memory``: one run per (model, delegate) with ``--report_peak_memory_footprint=true``."""
    plan = run.plan
    if not plan.memory:
        return
    for model in plan.models:
        for delegate in plan.delegates:
            threads = plan.threads[0] if delegate == "cpu" else plan.delegate_threads
            if (model.label, cell_key(delegate, threads)) in run.failed_cells:
                continue
            run.check_stop()
            run.where = f"memory run of {model.label} ({delegate})"
            record = _extra_record(run, "memory", model, threads, delegate)
            try:
                memory = run.backend.memory(model, threads, plan, delegate)
            except CellFailure as exc:
                record.update(status="failed", failure={"kind": exc.kind, "reason": exc.reason})
            else:
                record.update(status="ok", memory=memory,
                              peak_mb=memory.get("peak_periodic_mb", memory.get("delta_overall_mb")))
            run.writer.append(record)
