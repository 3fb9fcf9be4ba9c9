"""Latency measurement: plans (models × threads × repeats), statistics, the JSON-lines results
store, seed-format tables, plots, and the local-CPU device. Light: numpy/matplotlib load lazily."""
from __future__ import annotations

from ghostedge.device_bench.plan import BenchModel, BenchPlan, PlannedRun, describe_model
from ghostedge.device_bench.render import csv_text, markdown_report, markdown_table, write_reports
from ghostedge.device_bench.runner import BenchRun, run_plan, wait_for_cooldown
from ghostedge.device_bench.stats import CellStats, cell_stats
from ghostedge.device_bench.store import SCHEMA, ResultsWriter, Session, read_results
from ghostedge.device_bench.summary import build_summary

__all__ = ["BenchModel", "BenchPlan", "PlannedRun", "describe_model", "csv_text", "markdown_report",
           "markdown_table", "write_reports", "BenchRun", "run_plan", "wait_for_cooldown",
           "CellStats", "cell_stats", "SCHEMA", "ResultsWriter", "Session", "read_results",
           "build_summary"]
