"""``ghostedge bench``: latency of .tflite models on phones over adb (or ``--device local``),
printed as PaddleClas's "SD855 time(ms) bs=1, thread=1/2/4, Storage Size(M)" table."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, List, Tuple

from ghostedge.cli.output import Output
from ghostedge.errors import GhostEdgeError, UsageError

DESCRIPTION = """\
Measure latency (batch 1) of .tflite models with TFLite's benchmark_model on Android phones over
adb — several at once (--device S1 S2, or --device all), each pinned with taskset to its own big
cores and cooled back to its starting temperature before each run — for each --threads value and
--delegate, repeated and interleaved so drift spreads over all cells, more runs for unstable
cells. Every run is appended to results.jsonl as it ends; table.md, table.csv, summary.json and
latency.png follow. On a Snapdragon 855 the PaddleClas reference numbers appear beside ours.
--device local runs the same plan on this computer's CPU through LiteRT (host load recorded).

protocols:
  strict (default)  pinned, cooled, interleaved, >= 6 runs per cell, adaptive repeats to ±2 %,
                    headline = median over runs of each run's median
  paddlelite        as PaddleClas made its table: 10 warm-up + 30 inferences, 1 run per cell,
                    no pinning, no cool-down, headline = average

examples:
  ghostedge convert --int8 && ghostedge bench --device SERIAL --threads 1 2 4
  ghostedge bench --device all --delegate cpu gpu --op-profile --memory
  ghostedge bench --device 192.168.1.20:5555 --protocol paddlelite
  ghostedge bench model.tflite --device local --threads 1 2 --wait-quiet 60
"""

NUMBERS = [("--repeats", "N", "runs of every cell (strict: 6, paddlelite: 1)"),
           ("--warmup-runs", "N", "warm-up inferences per run (default: 10)"),
           ("--num-runs", "N", "timed inferences per run, at least (strict: 50, paddlelite: 30)"),
           ("--min-secs", "S", "keep timing until both --num-runs and S seconds are reached, as "
                               "benchmark_model does (strict: 1, paddlelite: 0)"),
           ("--warmup-min-secs", "S", "warm up for at least S seconds too (strict: 0.5)"),
           ("--cooldown-temp", "C", "before each run, wait while any temperature is above C °C"),
           ("--cooldown-delta", "C", "phones: before each run, wait until the hottest zone is within C °C "
                                     "of its reading at the start (default: 3)"),
           ("--cooldown-max-wait", "S", "longest cool-down wait per run in seconds (default: 120)"),
           ("--run-timeout", "S", "timeout of one benchmark_model run on the phone; it is then killed "
                                  "there (default: 600)"),
           ("--adaptive-budget", "S", "seconds per device for extra runs of cells whose 95 %% interval is "
                                      "wider than ±2 %% (strict: 60, paddlelite: 0 = off)"),
           ("--max-repeats", "N", "most runs of one cell with the adaptive repeats (default: 20)"),
           ("--wait-quiet", "S", "--device local: before each run, wait up to S seconds for a quiet "
                                 "host (default: 0 = do not wait; busy runs are flagged either way)")]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``bench`` command."""
    p = sub.add_parser("bench", parents=[common], help="benchmark .tflite latency on phones (adb) "
                       "or the local CPU", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", metavar="MODEL.tflite",
                   help="models to measure (default: ghostedge-out/ghostnet_100.{fp32,int8}.tflite)")
    # lists are read as strings: nargs="+" also takes MODEL.tflite paths that follow (split_models)
    p.add_argument("--device", nargs="+", metavar="SERIAL|all|local",
                   help="adb serials (or HOST:PORT of a device farm), 'all' (every ready phone) or "
                        "'local' (default: $ANDROID_SERIAL, else the only attached device)")
    p.add_argument("--threads", nargs="+", default=None, metavar="N", help="thread counts (default: 1 2 4)")
    p.add_argument("--delegate", nargs="+", default=["cpu"], metavar="cpu|gpu|nnapi",
                   help="back-ends: cpu (XNNPACK, the --threads columns), gpu, nnapi (default: cpu)")
    p.add_argument("--protocol", default="strict", metavar="strict|paddlelite",
                   help="how the table is made (default: strict; see above)")
    for flag, metavar, text in NUMBERS:
        p.add_argument(flag, metavar=metavar, default=None, help=text)
    p.add_argument("--no-cooldown", action="store_true", help="phones: do not wait for the phone to cool")
    p.add_argument("--op-profile", action="store_true", help="phones: one more run per model and thread "
                   "count with benchmark_model's op profiling, split by GhostNet part")
    p.add_argument("--memory", action="store_true", help="phones: one more run per model and delegate with "
                   "--report_peak_memory_footprint=true")
    p.add_argument("--affinity", default=None, metavar="prime|big|all|none|HEX",
                   help="cores to pin with taskset, from each phone's own clusters (strict: big; "
                        "paddlelite and --device local: none)")
    p.add_argument("--benchmark-binary", metavar="PATH",
                   help="benchmark_model for the phones' ABI (default: the ghostedge cache)")
    p.add_argument("--keep", action="store_true", help="leave the pushed files on the phone")
    p.add_argument("--output", metavar="DIR", help="output folder (default: "
                   "ghostedge-out/bench-<device>-<timestamp>)")
    p.add_argument("--force", action="store_true", help="replace results in an existing --output")
    p.set_defaults(func=run)


def _is_model(text: str) -> bool:
    return text.lower().endswith(".tflite") or Path(text).is_file()


def split_models(values: List[Any], models: List[str]) -> Tuple[List[str], List[str]]:
    """The option's own values, and the models: paths that a list option swallowed
    (``--threads 1 2 model.tflite``) go after the ones given before it."""
    own = [str(v) for v in values if not _is_model(str(v).strip())]
    extra = [str(v) for v in values if _is_model(str(v).strip())]
    return own, [*models, *extra]


def split_threads(values: List[Any], models: List[str]) -> Tuple[List[int], List[str]]:
    """Thread counts from --threads, and the models (see ``split_models``)."""
    own, given = split_models(values, models)
    threads: List[int] = []
    for text in own:
        if not re.fullmatch(r"[+-]?\d+", text.strip()):
            raise UsageError(f"Invalid --threads value {text.strip()!r}",
                             "thread counts are whole numbers, and it is not a model file",
                             "Use e.g. --threads 1 2 4")
        threads.append(int(text))
    if not threads:
        raise UsageError("No thread count after --threads", "only model files followed it",
                         "Use e.g. --threads 1 2 4 MODEL.tflite")
    return threads, given


def run(args: argparse.Namespace, out: Output) -> int:
    """Plan, deploy, measure, write results and reports, print the table."""
    from ghostedge.api import bench

    given = list(args.models)
    threads = None
    if args.threads is not None:
        threads, given = split_threads(list(args.threads), given)
    devices, given = split_models(list(args.device or []), given)
    delegates, given = split_models(list(args.delegate), given)
    numbers = {flag.lstrip("-").replace("-", "_"): getattr(args, flag.lstrip("-").replace("-", "_"))
               for flag, _, _ in NUMBERS}
    try:
        session = bench(given, devices or None, protocol=args.protocol, threads=threads, delegates=delegates,
                        affinity=args.affinity, benchmark_binary=args.benchmark_binary, keep=args.keep,
                        cooldown=False if args.no_cooldown else None, op_profile=args.op_profile,
                        memory=args.memory, output=args.output, force=args.force, command_line=sys.argv,
                        announce=out.print,
                        **{k: v for k, v in numbers.items() if v is not None})
    except (GhostEdgeError, KeyboardInterrupt) as exc:
        partial = getattr(exc, "session", None)
        if partial is not None:
            show(partial, out)
        raise
    show(session, out)
    return 0


def show(session: Any, out: Output) -> None:
    """The summary's warnings on stderr (the rest were logged as they happened), the table (or
    JSON) on stdout; results that could be saved nowhere follow as JSON lines."""
    for warning in session.summary.get("warnings", []):
        out.warn(warning)
    out.result(session.to_dict(), session.table)
    if session.unsaved:
        sys.stdout.write(session.unsaved)
        sys.stdout.flush()
