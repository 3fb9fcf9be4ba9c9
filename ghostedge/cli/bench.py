"""``ghostedge bench``: latency of .tflite models on a phone over adb (or ``--device local``),
printed as PaddleClas's "SD855 time(ms) bs=1, thread=1/2/4, Storage Size(M)" table."""
from __future__ import annotations

import argparse
import datetime as _dt
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

from ghostedge.cli.output import Output
from ghostedge.errors import GhostEdgeError, OutputExistsError, UsageError

DEFAULT_DIR = Path("ghostedge-out")
DEFAULT_MODELS = ("ghostnet_100.fp32.tflite", "ghostnet_100.int8.tflite")

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


def default_models(base: Path = DEFAULT_DIR) -> List[Path]:
    """ghostedge's FP32 and INT8 GhostNet 1.0x, or an error saying how to make them."""
    paths = [base / name for name in DEFAULT_MODELS]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UsageError(f"No model to benchmark: {', '.join(missing)} not found",
                         "no MODEL.tflite was given, so the default FP32 and INT8 GhostNet 1.0x are used",
                         "Run `ghostedge convert --int8` first, or pass .tflite files")
    return paths


def check_model_file(path: Path) -> Path:
    """A readable .tflite file (TFL3 identifier), else a clear usage error."""
    from ghostedge.runtime import check_tflite_file

    return check_tflite_file(path, UsageError)


def output_folder(args: argparse.Namespace, device_name: str) -> Path:
    """--output, else ghostedge-out/bench-<device>-<timestamp>; refuses old results without --force.

    Only checks: nothing is created or removed until the phone is ready (``start_output``).
    """
    from ghostedge.device_bench.store import RESULTS_NAME

    if args.output:
        folder = Path(args.output)
    else:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = DEFAULT_DIR / f"bench-{re.sub(r'[^A-Za-z0-9._-]+', '_', device_name)}-{stamp}"
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"Output {folder} is a file", "--output must be a folder",
                                "Choose another --output folder")
    results = folder / RESULTS_NAME
    if results.exists() and not args.force:
        raise OutputExistsError(f"Output {results} already exists",
                                "ghostedge does not overwrite results by default",
                                "Pass --force to replace them, or choose another --output folder")
    return folder


def start_output(folder: Path) -> None:
    """Create the folder and remove earlier results and reports (only reached with --force)."""
    from ghostedge.device_bench.render import report_files
    from ghostedge.device_bench.store import RESULTS_NAME

    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in [folder / RESULTS_NAME, *report_files(folder)]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        raise GhostEdgeError(f"Cannot write to output folder {folder}", str(exc),
                             "Choose a writable --output folder") from exc


def make_backend(args: argparse.Namespace) -> Any:
    """LocalBackend for --device local, else an AdbBackend on the resolved serial."""
    if args.device == "local":
        from ghostedge.device_bench.local import LocalBackend

        return LocalBackend(args.affinity or "none")
    from ghostedge.android_runner import resolve_serial
    from ghostedge.device_bench.adb_backend import AdbBackend

    serial = resolve_serial(args.device)
    return AdbBackend(serial, affinity=args.affinity or "big", benchmark_binary=args.benchmark_binary,
                      keep=args.keep, timeout_s=args.run_timeout)


def _finish(folder: Path) -> Dict[str, Any]:
    """Summarize what results.jsonl holds and write the report files."""
    from ghostedge.device_bench.render import write_reports
    from ghostedge.device_bench.store import RESULTS_NAME, read_results
    from ghostedge.device_bench.summary import build_summary

    summary = build_summary(read_results(folder / RESULTS_NAME))
    files = write_reports(summary, folder)
    summary["files"] = {k: str(v) for k, v in {"results": folder / RESULTS_NAME, **files}.items()}
    return summary


def measure(plan: Any, backend: Any, folder: Path, out: Output) -> Dict[str, Any]:
    """Deploy, run the plan, then summarize and write the reports — also for partial results
    after a failure or Ctrl-C (the phone is cleaned up either way)."""
    from ghostedge.device_bench.runner import run_plan
    from ghostedge.device_bench.store import RESULTS_NAME

    started = False
    failed = False
    try:
        backend.prepare(plan.models)
        start_output(folder)
        started = True
        run_plan(plan, backend, folder / RESULTS_NAME, command_line=sys.argv)
    except (GhostEdgeError, KeyboardInterrupt):
        failed = True
        raise
    finally:
        backend.close()
        if started:
            try:
                summary = _finish(folder)
            except GhostEdgeError as exc:
                if not failed:
                    raise
                out.warn(f"no report for the partial results: {exc.one_line()}")
            else:
                if failed and any(s["runs"] for s in summary["sessions"]):
                    out.warn(f"partial results and report kept in {folder}")
    return summary


def _count(n: int, noun: str) -> str:
    """"1 core", "4 cores"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def oversubscribed_advice(info: Dict[str, Any], pinned: int) -> str:
    """What helps when --threads exceeds the pinned cores: wider pinning only where there is more."""
    policy = info.get("affinity", {}).get("policy")
    if info.get("kind") == "local":
        if policy in ("none", "all", "prime", "big"):  # already every CPU this process may use
            return f"this machine offers only {_count(pinned, 'CPU')} to this process; use fewer --threads"
        return "use --affinity none (every CPU this process may use) or fewer --threads"
    if policy in ("all", "none"):
        return "the phone has no more cores; use fewer --threads"
    return "use --affinity all or fewer --threads"


def run(args: argparse.Namespace, out: Output) -> int:
    """Plan, deploy, measure, write results and reports, print the table."""
    from ghostedge.device_bench.plan import BenchPlan, describe_model, disambiguate
    from ghostedge.device_bench.render import cv_table, markdown_table

    threads, given = split_threads(list(args.threads), list(args.models))
    paths = [Path(m) for m in given] if given else default_models()
    models = disambiguate([describe_model(check_model_file(p)) for p in paths])
    if args.cooldown_temp is not None and args.cooldown_max_wait < 0:
        raise UsageError("Invalid --cooldown-max-wait", "it must be 0 or more seconds",
                         "Use e.g. --cooldown-max-wait 120")
    plan = BenchPlan(models, threads, args.repeats, args.warmup_runs, args.num_runs,
                     args.cooldown_temp, args.cooldown_max_wait, args.min_secs, args.warmup_min_secs)
    if args.device == "local" and (args.benchmark_binary or args.keep):
        out.warn("--benchmark-binary and --keep apply to phones only; --device local uses LiteRT "
                 "in this process")
    backend = make_backend(args)
    device_name = backend.device_info().get("serial") or args.device or "device"
    folder = output_folder(args, str(device_name))
    pinned = backend.pinned_cores()
    too_many = [t for t in plan.threads if pinned and t > pinned]
    if too_many:
        info = backend.device_info()
        aff = info["affinity"]
        out.warn(f"threads {too_many} exceed the {_count(pinned, 'core')} available "
                 f"(affinity {aff['policy']}: CPUs {aff['cpus']}); threads will share cores — "
                 f"{oversubscribed_advice(info, pinned)}")
    out.print(f"Benchmarking {_count(len(models), 'model')} × threads {plan.threads} × "
              f"{_count(plan.repeats, 'repeat')} on {backend.device_info()['label']} → {folder}")
    summary = measure(plan, backend, folder, out)
    for warning in summary["warnings"]:
        out.warn(warning)
    out.result(summary, lambda: markdown_table(summary) + "\n\n" + cv_table(summary) + "\n\n"
               + "\n".join(f"{k}: {v}" for k, v in summary["files"].items()))
    return 0
