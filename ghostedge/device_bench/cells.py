"""One table cell (device × model × delegate/threads) from its run records: which runs count, its
statistics (``stats.cell_from_runs``), its headline for the protocol, and its marks.

Which runs count: every run that ended ``ok``; on ``--device local`` runs whose host was busy
(``host_load``) are left out when at least 3 quiet runs remain, else the cell is marked *busy*.
Marks: ``busy``, ``throttled`` (a phone run whose pinned cores ran below 95 % of their maximum
frequency), ``oversubscribed`` (more threads than usable cores: the figure measures the scheduler),
``unstable`` (95 % interval wider than ±2 %), ``failed`` (the cell could not be measured: why)."""
from __future__ import annotations

import statistics
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ghostedge.device_bench.stats import CellStats, cell_from_runs, median_interval, run_from_result

MIN_QUIET = 3
MARKS = ("failed", "oversubscribed", "busy", "throttled", "unstable")


def _busy(record: Dict[str, Any]) -> bool:
    load = (record.get("result") or {}).get("host_load") or {}
    return bool(record.get("busy")) or load.get("verdict") == "busy"


def usable(records: Sequence[Dict[str, Any]]) -> Tuple[List[Dict[str, Any]], int, bool]:
    """(runs that count, busy runs left out, whether busy runs had to stay in)."""
    ok = [r for r in records if r.get("status", "ok") == "ok" and r.get("result")]
    busy = [r for r in ok if _busy(r)]
    quiet = [r for r in ok if not _busy(r)]
    if busy and len(quiet) >= MIN_QUIET:
        return quiet, len(busy), False
    return ok, 0, bool(busy)


def cell_stats(records: Sequence[Dict[str, Any]]) -> Optional[CellStats]:
    """The statistics of the runs that count (None without any)."""
    runs, _, _ = usable(records)
    return cell_from_runs([run_from_result(r["result"]) for r in runs])


def cell_summary(records: Sequence[Dict[str, Any]], headline: str = "median") -> Optional[Dict[str, Any]]:
    """The cell as summary.json holds it (None: never measured). ``headline_ms`` (also under its
    old name ``median_ms``) is the protocol's statistic: ``median`` (median over runs of each run's
    median) or ``mean`` (mean of the runs' averages, the paddlelite protocol)."""
    failed = [r for r in records if r.get("status") == "failed"]
    runs, left_out, busy_kept = usable(records)
    stats = cell_from_runs([run_from_result(r["result"]) for r in runs])
    oversub = any(r.get("oversubscribed") for r in records)
    if stats is None:
        if not failed:
            return None
        failure = failed[0].get("failure") or {}
        return {"status": "failed", "n": 0, "reason": failure.get("reason", "failed"),
                "failure_kind": failure.get("kind"), "headline_ms": None, "median_ms": None,
                "marks": ["failed"], "oversubscribed": oversub}
    data = stats.to_dict()
    notes = list(stats.notes)
    value = stats.headline_ms
    if headline == "mean":
        value = stats.mean_ms
        low, high, conf = median_interval(stats.avgs_ms)
        data.update(ci_low_ms=low, ci_high_ms=high, ci_confidence=conf)
        notes.append("headline: mean of the runs' averages (paddlelite protocol); the interval is that "
                     "of the runs' averages' median")
    throttled = sum(1 for r in runs if r.get("throttled"))
    marks = [m for m, on in (("oversubscribed", oversub), ("busy", busy_kept), ("throttled", throttled > 0),
                             ("unstable", stats.stable is False)) if on]
    if left_out:
        notes.append(f"{left_out} run(s) on a busy host left out")
    if busy_kept:
        notes.append(f"fewer than {MIN_QUIET} runs on a quiet host: busy runs kept, cell marked busy")
    waits = [(r.get("cooldown") or {}).get("waited_s") or 0.0 for r in runs]
    data.update(status="ok", headline_ms=value, median_ms=value, statistic=headline, marks=marks,
                oversubscribed=oversub, busy_runs_left_out=left_out, throttled_runs=throttled,
                failed_runs=len(failed), runs_total=len(records), notes=notes,
                cooldown_waited_s=round(sum(waits), 3),
                freq_reach=_median([(r["result"].get("frequency") or {}).get("reach_median") for r in runs]))
    return data


def _median(values: Sequence[Optional[float]]) -> Optional[float]:
    kept = [v for v in values if isinstance(v, (int, float))]
    return round(statistics.median(kept), 4) if kept else None


def mark_text(cell: Optional[Dict[str, Any]]) -> str:
    """A cell's marks in words, e.g. ``oversubscribed, busy`` ("" for a clean cell)."""
    if not cell:
        return ""
    return ", ".join(m for m in cell.get("marks", []) if m != "failed")
