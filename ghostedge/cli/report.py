"""``ghostedge report``: redraw the table, CSV, summary JSON and plot from saved bench results."""
from __future__ import annotations

import argparse
from typing import Any

from ghostedge.cli.output import Output

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
    from ghostedge.api import bench_report

    session = bench_report(args.results, args.output, plot=not args.no_plot, force=args.force)
    for warning in session.warnings:
        out.warn(warning)
    out.result(session.to_dict(), session.table)
    return 0
