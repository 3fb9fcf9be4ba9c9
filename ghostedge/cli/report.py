"""``ghostedge report``: redraw the tables, CSV, summary JSON and plots from saved bench results,
or compare two benches cell by cell."""
from __future__ import annotations

import argparse
from typing import Any

from ghostedge.cli.output import Output
from ghostedge.errors import UsageError

DESCRIPTION = """\
Read a results.jsonl written by `ghostedge bench` (or the folder holding it) and write
table.md, table.csv, summary.json, latency.png and the op-profile plots again — all of them or
none. By default they are redrawn beside the results (results.jsonl itself is never changed);
with --output DIR they go to DIR, which must not hold report files yet unless --force is given.

With two results, print them cell by cell: each headline with its 95 % interval, the difference,
and whether the intervals overlap (nothing is written).

examples:
  ghostedge report ghostedge-out/bench-SERIAL-20260101-120000
  ghostedge report before/ after/            # did the change move the numbers?
"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``report`` command."""
    p = sub.add_parser("report", parents=[common], help="redraw tables and plots from saved bench "
                       "results, or compare two", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+", metavar="RESULTS.jsonl|DIR", help="results of `ghostedge bench` "
                   "(two: compare them)")
    p.add_argument("--output", metavar="DIR", help="where to write the report files "
                   "(default: beside the results)")
    p.add_argument("--no-plot", action="store_true", help="skip the plots")
    p.add_argument("--force", action="store_true", help="overwrite report files in --output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    """Summarize the saved runs, write the report files, print the table (or the comparison)."""
    from ghostedge.api import bench_compare, bench_report

    if len(args.results) > 2:
        raise UsageError(f"report takes one or two results, not {len(args.results)}",
                         "two are compared cell by cell", "Pass one results folder, or two to compare")
    if len(args.results) == 2:
        if args.output or args.force or args.no_plot:
            raise UsageError("--output, --force and --no-plot apply to one results folder",
                             "a comparison of two is printed, not written", "Drop them, or pass one folder")
        comparison = bench_compare(*args.results)
        for note in comparison.notes:
            out.warn(note)
        out.result(comparison.to_dict(), comparison.table)
        return 0
    session = bench_report(args.results[0], args.output, plot=not args.no_plot, force=args.force)
    for warning in session.warnings:
        out.warn(warning)
    out.result(session.to_dict(), session.table)
    return 0
