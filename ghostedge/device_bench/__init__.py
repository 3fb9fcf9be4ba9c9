"""Latency measurement: ``bench`` (plans of models × threads × repeats, run on a phone over adb or
on this CPU), statistics, the JSON-lines results store, seed-format tables and plots.
Light: numpy/matplotlib load lazily."""
from __future__ import annotations

from ghostedge.device_bench.plan import BenchModel, BenchPlan, PlannedRun, describe_model
from ghostedge.device_bench.session import BenchSession, bench, bench_report
from ghostedge.device_bench.store import SCHEMA, ResultsWriter, Session, read_results

__all__ = ["BenchModel", "BenchPlan", "PlannedRun", "describe_model", "BenchSession", "bench",
           "bench_report", "SCHEMA", "ResultsWriter", "Session", "read_results"]
