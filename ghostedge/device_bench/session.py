"""``ghostedge.bench(...)``: check every option, plan, run on one or several devices at once (phones
over adb, or this computer's CPU), keep every run in results.jsonl as it ends, then the tables and
plots; ``bench_report(...)`` redraws them from saved results, ``bench_compare(...)`` sets two
sessions side by side."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from ghostedge.device_bench.outputs import default_models, output_folder, start_output
from ghostedge.device_bench.sessionresult import BenchSession
from ghostedge.errors import OutputExistsError, UsageError
from ghostedge.text import counted

log = logging.getLogger(__name__)

PathArg = Union[str, "os.PathLike[str]"]


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


def _device_check(threads: Sequence[int]) -> Callable[[Any], List[str]]:
    def check(backend: Any) -> List[str]:
        pinned = backend.pinned_cores()
        info = backend.device_info()
        too_many = [t for t in threads if pinned and t > pinned]
        if not too_many:
            return []
        aff = info["affinity"]
        return [f"{info.get('serial')}: threads {too_many} exceed the {counted(pinned, 'core')} available "
                f"(affinity {aff['policy']}: CPUs {aff['cpus']}); threads will share cores and those cells "
                f"are marked oversubscribed — {oversubscribed_advice(info, pinned)}"]
    return check


def bench(models: Union[PathArg, Sequence[PathArg], None] = None,
          device: Union[str, Sequence[str], None] = None, *, protocol: str = "strict",
          threads: Optional[Sequence[int]] = None, delegates: Sequence[str] = ("cpu",),
          repeats: Optional[int] = None, warmup_runs: Optional[int] = None, num_runs: Optional[int] = None,
          min_secs: Optional[float] = None, warmup_min_secs: Optional[float] = None,
          affinity: Optional[str] = None, benchmark_binary: Optional[PathArg] = None, keep: bool = False,
          cooldown: Optional[bool] = None, cooldown_temp: Optional[float] = None,
          cooldown_delta: float = 3.0, cooldown_max_wait: float = 120.0, run_timeout: float = 600.0,
          adaptive_budget: Optional[float] = None, max_repeats: int = 20, wait_quiet: float = 0.0,
          op_profile: bool = False, memory: bool = False, output: Optional[PathArg] = None,
          force: bool = False, cache_dir: Optional[PathArg] = None,
          command_line: Optional[Sequence[str]] = None,
          announce: Optional[Callable[[str], None]] = None) -> BenchSession:
    """Measure latency (batch 1) of .tflite ``models`` on ``device``: adb serials (a list, or
    "all" for every ready phone; default ``$ANDROID_SERIAL``, else the only attached phone), each
    phone in parallel with TFLite's benchmark_model pinned to its big cores and cooled between
    runs, or ``"local"`` (this CPU, LiteRT). ``protocol`` "strict" (default) or "paddlelite"
    (PaddleClas's way) sets the defaults of the options left ``None``; ``delegates`` adds GPU /
    NNAPI columns; ``op_profile`` and ``memory`` add runs of their own. Each run is kept in
    results.jsonl as it ends; tables and plots follow, also after a failure or an interruption
    (then re-raised, with ``.session`` attached). A device that fails marks its rows; the others
    finish, and a ``BenchmarkError`` (with ``.session``) says which failed."""
    from ghostedge.device_bench.options import resolve_options
    from ghostedge.device_bench.plan import BenchPlan, describe_model, disambiguate
    from ghostedge.device_bench.targets import device_specs

    opts = resolve_options(protocol, threads, delegates, repeats, warmup_runs, num_runs, min_secs,
                           warmup_min_secs, affinity, cooldown, cooldown_temp, cooldown_delta,
                           cooldown_max_wait, run_timeout, adaptive_budget, max_repeats, wait_quiet,
                           op_profile, memory)
    names = [device] if isinstance(device, str) or device is None else list(device)
    local = "local" in names
    warnings: List[str] = []
    if local:
        _check_local(names, opts, benchmark_binary, keep, warnings)
    if isinstance(models, (str, os.PathLike)):
        models = [models]
    paths = [Path(m) for m in models] if models else default_models()
    described = disambiguate([describe_model(p) for p in paths])
    gate_on = opts.cooldown if opts.cooldown is not None else (opts.protocol.cooldown and not local)
    plan = BenchPlan(described, opts.threads, opts.repeats, opts.warmup_runs, opts.num_runs, opts.cooldown_temp,
                     opts.cooldown_max_wait, opts.min_secs, opts.warmup_min_secs, opts.delegates,
                     opts.protocol.name, opts.protocol.headline,
                     opts.cooldown_delta if gate_on and opts.cooldown_temp is None else None,
                     opts.adaptive_budget, opts.max_repeats, 6 if opts.protocol.name == "strict" else 1,
                     opts.wait_quiet, opts.op_profile, opts.memory, delegate_threads=opts.threads[0])
    specs, skipped = device_specs(names, opts, benchmark_binary, keep, cache_dir, _device_check(plan.threads))
    warnings += skipped
    from ghostedge.device_bench.outputs import folder_name

    folder = output_folder(output, folder_name([s.name for s in specs]), force)
    for text in warnings:
        log.warning("%s", text)
    where_ = ", ".join(s.name for s in specs)
    (announce or log.info)(f"Benchmarking {counted(len(described), 'model')} × "
                           + (f"delegates {plan.delegates} × " if plan.delegates != ["cpu"] else "")
                           + f"threads {plan.threads} × {counted(plan.repeats, 'repeat')} ({plan.protocol} "
                           f"protocol) on {where_} → {folder}")
    from ghostedge.device_bench.finish import finish_session

    return finish_session(plan, specs, folder, command_line if command_line is not None else sys.argv,
                          warnings, lambda: start_output(folder))


def _check_local(names: List[str], opts: Any, benchmark_binary: Any, keep: bool, warnings: List[str]) -> None:
    if names != ["local"]:
        raise UsageError("--device local cannot be combined with phones",
                         "the host's own work for the phones would disturb the local timings",
                         "Run the phones and --device local as two benches")
    if opts.delegates != ["cpu"]:
        raise UsageError(f"--delegate {' '.join(d for d in opts.delegates if d != 'cpu')} needs a phone",
                         "--device local runs LiteRT on this CPU (XNNPACK) only",
                         "Use --delegate cpu with --device local, or pass a phone's serial")
    for flag, on in (("--op-profile", opts.op_profile), ("--memory", opts.memory)):
        if on:
            raise UsageError(f"{flag} needs a phone", "it is measured by benchmark_model on the phone",
                             f"Drop {flag} for --device local, or pass a phone's serial")
    if benchmark_binary or keep:
        warnings.append("--benchmark-binary and --keep apply to phones only; --device local uses LiteRT "
                        "in this process")


def summarize(folder: Path, results: Optional[Path] = None, plot: bool = True,
              sessions: Optional[List[Any]] = None) -> BenchSession:
    """Write table.md, table.csv, summary.json and the plots from saved runs (or ``sessions``)."""
    from ghostedge.device_bench.reportfiles import write_reports
    from ghostedge.device_bench.store import RESULTS_NAME, read_results
    from ghostedge.device_bench.summary import build_summary

    results = results or folder / RESULTS_NAME
    summary = build_summary(sessions if sessions is not None else read_results(results))
    files = write_reports(summary, folder, plot=plot)
    return BenchSession(folder, summary, {"results": results, **files}, list(summary["warnings"]))


def bench_report(results: PathArg, output: Optional[PathArg] = None, plot: bool = True,
                 force: bool = False) -> BenchSession:
    """Redraw table.md, table.csv, summary.json and the plots from a saved results.jsonl (or the
    folder holding it): beside it, or in ``output`` (refused if it holds reports, unless
    ``force``). results.jsonl itself is never changed. All report files are written, or none."""
    from ghostedge.device_bench.reportfiles import report_files
    from ghostedge.device_bench.store import read_results, resolve_results_path

    path = resolve_results_path(results)
    folder = Path(output) if output else path.parent
    if output and not force:
        existing = [str(p) for p in report_files(folder) if p.exists()]
        if existing:
            raise OutputExistsError(f"Output {existing[0]} already exists",
                                    "ghostedge does not overwrite files by default",
                                    "Pass --force to overwrite, or choose another --output folder")
    sessions = read_results(path)
    session = summarize(folder, path, plot, sessions)
    for saved in sessions:
        if saved.status != "ok":
            session.warnings.insert(0, f"session {saved.session_id} "
                                       f"({saved.header.get('device', {}).get('serial')}) ended {saved.status}"
                                       + (f": {saved.errors[-1].get('message')}" if saved.errors else "")
                                       + f" ({counted(len(saved.runs), 'run')} kept)")
    return session


def bench_compare(a: PathArg, b: PathArg) -> Any:
    """Two saved sessions cell by cell: headlines, difference, whether the 95 % intervals overlap."""
    from ghostedge.device_bench.compare import compare_results

    return compare_results(a, b)
