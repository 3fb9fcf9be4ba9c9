"""``ghostedge.bench(...)``: plan, deploy, measure, keep every run in results.jsonl, write the
tables and plot — on a phone over adb or on this computer's CPU; and ``bench_report(...)`` to
redraw them from saved results."""
from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from ghostedge.device_bench import plan as plans
from ghostedge.errors import GhostEdgeError, OutputExistsError, UsageError
from ghostedge.text import counted

log = logging.getLogger(__name__)

PathArg = Union[str, "os.PathLike[str]"]
DEFAULT_DIR = Path("ghostedge-out")
DEFAULT_MODELS = ("ghostnet_100.fp32.tflite", "ghostnet_100.int8.tflite")


@dataclass
class BenchSession:
    """What one benchmark (or one redraw of saved results) produced."""

    folder: Path
    summary: Dict[str, Any]
    files: Dict[str, Path] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    interrupted: bool = False

    def to_dict(self) -> Dict[str, Any]:
        """What ``ghostedge bench --json`` / ``report --json`` print: the summary and the files."""
        return {**self.summary, "files": {k: str(v) for k, v in self.files.items()}}

    def table(self) -> str:
        """The seed-format table, the repeat-spread table and where the files are."""
        from ghostedge.device_bench.render import cv_table, markdown_table

        return (markdown_table(self.summary) + "\n\n" + cv_table(self.summary) + "\n\n"
                + "\n".join(f"{k}: {v}" for k, v in self.files.items()))


def default_models(base: Path = DEFAULT_DIR) -> List[Path]:
    """ghostedge's FP32 and INT8 GhostNet 1.0x, or an error saying how to make them."""
    paths = [base / name for name in DEFAULT_MODELS]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise UsageError(f"No model to benchmark: {', '.join(missing)} not found",
                         "no MODEL.tflite was given, so the default FP32 and INT8 GhostNet 1.0x are used",
                         "Run `ghostedge convert --int8` first, or pass .tflite files")
    return paths


def output_folder(output: Optional[PathArg], device_name: str, force: bool) -> Path:
    """``output``, else ghostedge-out/bench-<device>-<timestamp>; refuses old results without
    ``force``. Only checks: nothing is created or removed until the device is ready."""
    from ghostedge.device_bench.store import RESULTS_NAME

    if output:
        folder = Path(output)
    else:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = DEFAULT_DIR / f"bench-{re.sub(r'[^A-Za-z0-9._-]+', '_', device_name)}-{stamp}"
    if folder.exists() and not folder.is_dir():
        raise OutputExistsError(f"Output {folder} is a file", "--output must be a folder",
                                "Choose another --output folder")
    results = folder / RESULTS_NAME
    if results.exists() and not force:
        raise OutputExistsError(f"Output {results} already exists",
                                "ghostedge does not overwrite results by default",
                                "Pass --force to replace them, or choose another --output folder")
    return folder


def start_output(folder: Path) -> None:
    """Create the folder and remove earlier results and reports (only reached with ``force``)."""
    from ghostedge.device_bench.render import report_files
    from ghostedge.device_bench.store import RESULTS_NAME
    from ghostedge.fileio import os_error

    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in [folder / RESULTS_NAME, *report_files(folder)]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        raise os_error(exc, f"Cannot write to output folder {folder}", folder) from exc


def make_backend(device: Optional[str], affinity: Optional[str], benchmark_binary: Optional[PathArg],
                 keep: bool, run_timeout: float, cache_dir: Optional[PathArg] = None) -> Any:
    """LocalBackend for ``device="local"``, else an AdbBackend on the resolved serial."""
    if device == "local":
        from ghostedge.device_bench.local import LocalBackend

        return LocalBackend(affinity or "none")
    from ghostedge.android_runner import resolve_serial
    from ghostedge.device_bench.adb_backend import AdbBackend

    serial = resolve_serial(device)
    return AdbBackend(serial, affinity=affinity or "big",
                      benchmark_binary=str(benchmark_binary) if benchmark_binary else None,
                      keep=keep, timeout_s=run_timeout, cache_dir=str(cache_dir) if cache_dir else None)


def summarize(folder: Path, results: Optional[Path] = None, plot: bool = True) -> BenchSession:
    """Read the saved runs and write table.md, table.csv, summary.json and latency.png."""
    from ghostedge.device_bench.render import write_reports
    from ghostedge.device_bench.store import RESULTS_NAME, read_results
    from ghostedge.device_bench.summary import build_summary

    results = results or folder / RESULTS_NAME
    summary = build_summary(read_results(results))
    files = write_reports(summary, folder, plot=plot)
    return BenchSession(folder, summary, {"results": results, **files}, list(summary["warnings"]))


def oversubscribed_advice(info: Dict[str, Any], pinned: int) -> str:
    """What helps when threads exceed the pinned cores: wider pinning only where there is more."""
    policy = info.get("affinity", {}).get("policy")
    if info.get("kind") == "local":
        if policy in ("none", "all", "prime", "big"):  # already every CPU this process may use
            return f"this machine offers only {counted(pinned, 'CPU')} to this process; use fewer --threads"
        return "use --affinity none (every CPU this process may use) or fewer --threads"
    if policy in ("all", "none"):
        return "the phone has no more cores; use fewer --threads"
    return "use --affinity all or fewer --threads"


def bench(models: Union[PathArg, Sequence[PathArg], None] = None, device: Optional[str] = None, *,
          threads: Sequence[int] = plans.DEFAULT_THREADS, repeats: int = plans.DEFAULT_REPEATS,
          warmup_runs: int = plans.DEFAULT_WARMUP_RUNS, num_runs: int = plans.DEFAULT_NUM_RUNS,
          min_secs: float = plans.DEFAULT_MIN_SECS, warmup_min_secs: float = plans.DEFAULT_WARMUP_MIN_SECS,
          affinity: Optional[str] = None, benchmark_binary: Optional[PathArg] = None, keep: bool = False,
          cooldown_temp: Optional[float] = None, cooldown_max_wait: float = 120.0,
          run_timeout: float = 600.0, output: Optional[PathArg] = None, force: bool = False,
          cache_dir: Optional[PathArg] = None, command_line: Optional[Sequence[str]] = None,
          announce: Optional[Callable[[str], None]] = None) -> BenchSession:
    """Measure latency (batch 1) of .tflite ``models`` on ``device``: an adb serial (default:
    ``$ANDROID_SERIAL``, else the only attached phone) with TFLite's benchmark_model pinned to the
    phone's big cores, or ``"local"`` (this CPU, LiteRT). Each run is kept in results.jsonl as it
    ends; tables and a plot follow. Partial results are kept on failure or interruption.
    ``announce`` receives one line saying what is about to be measured (the CLI prints it)."""
    from ghostedge.device_bench.plan import BenchPlan, describe_model, disambiguate

    if isinstance(models, (str, os.PathLike)):
        models = [models]
    paths = [Path(m) for m in models] if models else default_models()
    described = disambiguate([describe_model(p) for p in paths])
    plan = BenchPlan(described, [int(t) for t in threads], repeats, warmup_runs, num_runs, cooldown_temp,
                     cooldown_max_wait, min_secs, warmup_min_secs)
    if run_timeout is None or not 0 < float(run_timeout) <= 86400:
        raise UsageError(f"Invalid --run-timeout {run_timeout}", "it must be more than 0 and at most 86400 s",
                         "Use e.g. --run-timeout 600")
    warnings: List[str] = []
    if device == "local" and (benchmark_binary or keep):
        warnings.append("--benchmark-binary and --keep apply to phones only; --device local uses LiteRT "
                        "in this process")
    backend = make_backend(device, affinity, benchmark_binary, keep, float(run_timeout), cache_dir)
    info = backend.device_info()
    folder = output_folder(output, str(info.get("serial") or device or "device"), force)
    pinned = backend.pinned_cores()
    too_many = [t for t in plan.threads if pinned and t > pinned]
    if too_many:
        aff = info["affinity"]
        warnings.append(f"threads {too_many} exceed the {counted(pinned, 'core')} available "
                        f"(affinity {aff['policy']}: CPUs {aff['cpus']}); threads will share cores — "
                        f"{oversubscribed_advice(info, pinned)}")
    for text in warnings:
        log.warning("%s", text)
    line = (f"Benchmarking {counted(len(described), 'model')} × threads {plan.threads} × "
            f"{counted(plan.repeats, 'repeat')} on {info['label']} → {folder}")
    (announce or log.info)(line)
    session = measure(plan, backend, folder, command_line if command_line is not None else sys.argv)
    session.warnings = warnings + session.warnings
    return session


def measure(plan: Any, backend: Any, folder: Path, command_line: Sequence[str]) -> BenchSession:
    """Deploy, run the plan, then summarize and write the reports — also for partial results
    after a failure or Ctrl-C (the device is cleaned up either way)."""
    from ghostedge.device_bench.runner import run_plan
    from ghostedge.device_bench.store import RESULTS_NAME

    started = failed = False
    session: Optional[BenchSession] = None
    try:
        backend.prepare(plan.models)
        start_output(folder)
        started = True
        run_plan(plan, backend, folder / RESULTS_NAME, command_line=command_line)
    except BaseException:
        failed = True
        raise
    finally:
        backend.close()
        if started:
            try:
                session = summarize(folder)
            except GhostEdgeError as exc:
                if not failed:
                    raise
                log.warning("no report for the partial results: %s", exc.one_line())
            else:
                if failed and any(s["runs"] for s in session.summary["sessions"]):
                    log.warning("partial results and report kept in %s", folder)
    assert session is not None
    return session


def bench_report(results: PathArg, output: Optional[PathArg] = None, plot: bool = True,
                 force: bool = False) -> BenchSession:
    """Redraw table.md, table.csv, summary.json and latency.png from a saved results.jsonl (or
    the folder holding it): beside it, or in ``output`` (refused if it holds reports, unless
    ``force``). results.jsonl itself is never changed."""
    from ghostedge.device_bench.render import report_files
    from ghostedge.device_bench.store import read_results, resolve_results_path

    path = resolve_results_path(results)
    folder = Path(output) if output else path.parent
    if output and not force:
        existing = [str(p) for p in report_files(folder) if p.exists()]
        if existing:
            raise OutputExistsError(f"Output {existing[0]} already exists",
                                    "ghostedge does not overwrite files by default",
                                    "Pass --force to overwrite, or choose another --output folder")
    session = summarize(folder, path, plot)
    for saved in read_results(path):
        if saved.status != "ok":
            session.warnings.insert(0, f"session {saved.session_id} ended {saved.status}"
                                       + (f": {saved.errors[-1].get('message')}" if saved.errors else "")
                                       + f" ({counted(len(saved.runs), 'run')} kept)")
    return session
