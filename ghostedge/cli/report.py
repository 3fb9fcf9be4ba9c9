"""``ghostedge report``: redraw the table, CSV, summary JSON and plot from saved bench results."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ghostedge.cli.output import Output
from ghostedge.errors import OutputExistsError

DESCRIPTION = """\
Read a results.jsonl written by `ghostedge bench` (or the folder holding it) and write
table.md, table.csv, summary.json and latency.png again. By default they are redrawn beside
the results (results.jsonl itself is never changed); with --output DIR they go to DIR, which
must not hold report files yet unless --force is given.

example:
  ghostedge report ghostedge-out/bench-SERIAL-20260101-120000
"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``report`` command."""
    p = sub.add_parser("report", parents=[common], help="redraw tables and plots from saved bench "
                       "results", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", metavar="RESULTS.jsonl|DIR", help="results of `ghostedge bench`")
    p.add_argument("--output", metavar="DIR", help="where to write the report files "
                   "(default: beside the results)")
    p.add_argument("--no-plot", action="store_true", help="skip latency.png")
    p.add_argument("--force", action="store_true", help="overwrite report files in --output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    """Summarize the saved runs, write the report files, print the table."""
    from ghostedge.device_bench.render import cv_table, markdown_table, report_files, write_reports
    from ghostedge.device_bench.store import read_results, resolve_results_path
    from ghostedge.device_bench.summary import build_summary

    results = resolve_results_path(args.results)
    sessions = read_results(results)
    folder = Path(args.output) if args.output else results.parent
    if args.output and not args.force:
        existing = [str(p) for p in report_files(folder) if p.exists()]
        if existing:
            raise OutputExistsError(f"Output {existing[0]} already exists",
                                    "ghostedge does not overwrite files by default",
                                    "Pass --force to overwrite, or choose another --output folder")
    summary = build_summary(sessions)
    files = write_reports(summary, folder, plot=not args.no_plot)
    summary["files"] = {"results": str(results), **{k: str(v) for k, v in files.items()}}
    for session in sessions:
        if session.status != "ok":
            out.warn(f"session {session.session_id} ended {session.status}"
                     + (f": {session.errors[-1].get('message')}" if session.errors else "")
                     + f" ({len(session.runs)} run(s) kept)")
    for warning in summary["warnings"]:
        out.warn(warning)
    out.result(summary, lambda: markdown_table(summary) + "\n\n" + cv_table(summary) + "\n\n"
               + "\n".join(f"{k}: {v}" for k, v in summary["files"].items()))
    return 0
