"""``ghostedge bench``: latency of .tflite models on a phone over adb (or ``--device local``),
printed as PaddleClas's "SD855 time(ms) bs=1, thread=1/2/4, Storage Size(M)" table."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, List, Tuple

from ghostedge.cli.output import Output
from ghostedge.errors import UsageError

DESCRIPTION = """\
Measure latency (batch 1) of .tflite models with TFLite's benchmark_model on an Android phone
over adb, pinned with taskset to the phone's own big cores, for each --threads value, repeated
--repeats times (interleaved so thermal drift spreads over all cells). Results are appended to
results.jsonl as each run ends; table.md, table.csv, summary.json and latency.png follow.
On a Snapdragon 855 the PaddleClas reference numbers appear beside ours.
--device local runs the same plan on this computer's CPU through LiteRT.

examples:
  ghostedge convert --int8 && ghostedge bench --device SERIAL --threads 1 2 4
  ghostedge bench model.tflite --device local --threads 1 2 4 --repeats 5
"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``bench`` command."""
    p = sub.add_parser("bench", parents=[common], help="benchmark .tflite latency on a phone (adb) "
                       "or the local CPU", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", metavar="MODEL.tflite",
                   help="models to measure (default: ghostedge-out/ghostnet_100.{fp32,int8}.tflite)")
    p.add_argument("--device", metavar="SERIAL|local",
                   help="adb serial (or HOST:PORT), or 'local' (default: $ANDROID_SERIAL, else the "
                        "only attached device)")
    # read as strings: nargs="+" also takes MODEL.tflite paths that follow, which split_threads returns
    p.add_argument("--threads", nargs="+", default=["1", "2", "4"], metavar="N",
                   help="thread counts (default: 1 2 4)")
    p.add_argument("--repeats", type=int, default=3, help="runs of every cell (default: 3)")
    p.add_argument("--warmup-runs", type=int, default=10, help="warm-up inferences per run "
                   "(default: 10)")
    p.add_argument("--num-runs", type=int, default=50, help="timed inferences per run, at least "
                   "(default: 50)")
    p.add_argument("--min-secs", type=float, default=1.0, metavar="S",
                   help="keep timing until both --num-runs and S seconds are reached, as "
                        "benchmark_model does (default: 1; 0 = exactly --num-runs)")
    p.add_argument("--warmup-min-secs", type=float, default=0.5, metavar="S",
                   help="warm up for at least S seconds too (default: 0.5)")
    p.add_argument("--affinity", default=None, metavar="prime|big|all|none|HEX",
                   help="cores to pin with taskset, from the phone's own clusters (default: big; "
                        "none for --device local)")
    p.add_argument("--benchmark-binary", metavar="PATH",
                   help="benchmark_model for the phone's ABI (default: the ghostedge cache)")
    p.add_argument("--keep", action="store_true", help="leave the pushed files on the phone")
    p.add_argument("--cooldown-temp", type=float, metavar="C",
                   help="before each run, wait while any temperature is above C °C")
    p.add_argument("--cooldown-max-wait", type=float, default=120.0, metavar="S",
                   help="longest cool-down wait per run in seconds (default: 120)")
    p.add_argument("--run-timeout", type=float, default=600.0, metavar="S",
                   help="timeout of one benchmark_model run on the phone (default: 600)")
    p.add_argument("--output", metavar="DIR", help="output folder (default: "
                   "ghostedge-out/bench-<device>-<timestamp>)")
    p.add_argument("--force", action="store_true", help="replace results in an existing --output")
    p.set_defaults(func=run)


def split_threads(values: List[Any], models: List[str]) -> Tuple[List[int], List[str]]:
    """Thread counts from --threads, and the models: paths that --threads swallowed
    (``--threads 1 2 model.tflite``) go after the ones given before it."""
    threads: List[int] = []
    extra: List[str] = []
    for value in values:
        text = str(value).strip()
        if re.fullmatch(r"[+-]?\d+", text):
            threads.append(int(text))
        elif text.lower().endswith(".tflite") or Path(text).exists():
            extra.append(str(value))
        else:
            raise UsageError(f"Invalid --threads value {text!r}",
                             "thread counts are whole numbers, and it is not a model file",
                             "Use e.g. --threads 1 2 4")
    if not threads:
        raise UsageError("No thread count after --threads", "only model files followed it",
                         "Use e.g. --threads 1 2 4 MODEL.tflite")
    return threads, [*models, *extra]


def run(args: argparse.Namespace, out: Output) -> int:
    """Plan, deploy, measure, write results and reports, print the table."""
    from ghostedge.api import bench

    threads, given = split_threads(list(args.threads), list(args.models))
    session = bench(given, args.device, threads=threads, repeats=args.repeats, warmup_runs=args.warmup_runs,
                    num_runs=args.num_runs, min_secs=args.min_secs, warmup_min_secs=args.warmup_min_secs,
                    affinity=args.affinity, benchmark_binary=args.benchmark_binary, keep=args.keep,
                    cooldown_temp=args.cooldown_temp, cooldown_max_wait=args.cooldown_max_wait,
                    run_timeout=args.run_timeout, output=args.output, force=args.force,
                    command_line=sys.argv, announce=out.print)
    for warning in session.summary["warnings"]:
        out.warn(warning)
    out.result(session.to_dict(), session.table)
    return 0
