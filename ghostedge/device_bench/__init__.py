"""Latency measurement: ``bench`` (plans of models × delegates × threads × repeats, run on one or
several phones over adb at once, or on this CPU), robust statistics, the JSON-lines results store,
seed-format tables and plots, per-part op profiles, session comparison.
Light: numpy/matplotlib load lazily."""
from __future__ import annotations

from ghostedge.device_bench.plan import BenchModel, BenchPlan, PlannedRun, describe_model
from ghostedge.device_bench.session import BenchSession, bench, bench_compare, bench_report
from ghostedge.device_bench.store import SCHEMA, ResultsWriter, Session, read_results

__all__ = ["BenchModel", "BenchPlan", "PlannedRun", "describe_model", "BenchSession", "bench",
           "bench_report", "bench_compare", "SCHEMA", "ResultsWriter", "Session", "read_results"]
