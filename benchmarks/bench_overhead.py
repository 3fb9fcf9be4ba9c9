"""How much time `ghostedge bench` adds beyond the benchmark binary's own run time (loopback phone,
real adb client), and whether two `--device local` runs in a row agree (within 3 % per cell).

    .venv/bin/python benchmarks/bench_overhead.py [--models A.tflite B.tflite] [--no-write]

Models default to ghostedge-out/ghostnet_100.{fp32,int8}.tflite; when missing they are made once
with `ghostedge convert --weights random --int8` into ghostedge-out/bench_overhead_models
(latency does not depend on the weights). Writes the "bench" section of docs/benchmarks.md;
`--local-only --save-local X.json` on another machine and `--import-local X.json` here add that
machine's local comparison.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))      # the loopback phone lives with the tests
sys.path.insert(0, str(Path(__file__).resolve().parent))

THREADS = ["1", "2", "4"]
SYNTHETIC_US = 5000.0  # the stand-in binary sleeps like a ~5 ms model


def _epoch(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso).timestamp()


def _cli(args: List[str], env: Dict[str, str], cwd: Path) -> Tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ghostedge", *args], env=env, cwd=cwd,
                          capture_output=True, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"ghostedge {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, proc


def ensure_models(paths: List[str], env: Dict[str, str]) -> List[Path]:
    """The given models, ghostedge-out's GhostNet 1.0x, or a one-off random-weight conversion."""
    if paths:
        return [Path(p).resolve() for p in paths]
    default = [ROOT / "ghostedge-out" / f"ghostnet_100.{p}.tflite" for p in ("fp32", "int8")]
    if all(p.is_file() for p in default):
        return default
    cache = ROOT / "ghostedge-out" / "bench_overhead_models"  # git-ignored
    made = [cache / f"ghostnet_100.{p}.tflite" for p in ("fp32", "int8")]
    if not all(p.is_file() for p in made):
        print("converting GhostNet 1.0x (random weights) once for timing ...", file=sys.stderr)
        _cli(["convert", "--weights", "random", "--int8", "--output", str(cache), "--force"], env, ROOT)
    return made


def _binary_own_s(run: Dict[str, Any]) -> float:
    """Init + warm-up + timed runs as the binary reports them (what a phone would spend anyway)."""
    result = run["result"]
    warm = result.get("warmup") or {}
    runs = result.get("runs") or {}
    total_us = (result.get("init_us") or 0.0) + (warm.get("count") or 0) * (warm.get("avg") or 0.0) \
        + (runs.get("count") or 0) * (runs.get("avg") or 0.0)
    return total_us / 1e6


def phone_overhead(models: List[Path], work: Path, env: Dict[str, str], repeats: int,
                   warmup: int, runs: int) -> Dict[str, Any]:
    """Two invocations on one loopback SD855 (--keep, so the second skips every push)."""
    from fakephone.harness import adb_sandbox, write_fake_benchmark_binary

    from ghostedge.device_bench.store import read_results

    binary = write_fake_benchmark_binary(work / "bin" / "benchmark_model")
    passes = []
    with adb_sandbox(work / "adb") as sandbox:
        phone = sandbox.add_phone(benchmark_mode="synthetic", synthetic_us=SYNTHETIC_US)
        penv = dict(env, **sandbox.env)
        for name in ("first (pushes)", "second (pushes skipped)"):
            out = work / f"phone-{len(passes)}"
            t_start = time.time()
            wall, proc = _cli(["bench", "-v", *map(str, models), "--device", phone.serial,
                               "--benchmark-binary", str(binary), "--threads", *THREADS,
                               "--repeats", str(repeats), "--warmup-runs", str(warmup),
                               "--num-runs", str(runs), "--keep", "--output", str(out)], penv, ROOT)
            session = read_results(out)[0]
            own = sum(_binary_own_s(r) for r in session.runs)
            per_run_adb = statistics.median(r["wall_s"] - _binary_own_s(r) for r in session.runs)
            n_runs = len(session.runs)
            cells = n_runs // repeats
            first, last = session.runs[0], session.runs[-1]
            setup = _epoch(first["started_at"]) - t_start
            teardown = t_start + wall - _epoch(last["ended_at"])
            between = statistics.median(_epoch(b["started_at"]) - _epoch(a["ended_at"])
                                        for a, b in zip(session.runs, session.runs[1:]))
            passes.append({"pass": name, "wall_s": wall, "binary_s": own, "runs": n_runs,
                           "setup_s": setup, "teardown_s": teardown, "between_runs_s": between,
                           "overhead_per_run_s": (wall - own) / n_runs,
                           "overhead_per_cell_s": (wall - own) / cells,
                           "adb_run_overhead_s": per_run_adb,
                           "skipped_pushes": proc.stderr.count("push skipped")})
        leftover = phone.listdir()
        sandbox.adb("-s", phone.serial, "shell", "rm", "-rf", "/data/local/tmp/ghostedge", check=False)
    return {"passes": passes, "kept_files": leftover}


def local_agreement(models: List[Path], work: Path, env: Dict[str, str], repeats: int, warmup: int,
                    runs: int) -> Dict[str, Any]:
    """Two `--device local` runs in a row; per-cell median difference and CVs."""
    load_before = os.getloadavg()[0]
    summaries = []
    for i in range(2):
        out = work / f"local-{i}"
        _cli(["bench", *map(str, models), "--device", "local", "--threads", *THREADS, "--repeats",
              str(repeats), "--warmup-runs", str(warmup), "--num-runs", str(runs), "--output", str(out)],
             env, ROOT)
        summaries.append(json.loads((out / "summary.json").read_text()))
    cells = []
    for row_a, row_b in zip(summaries[0]["rows"], summaries[1]["rows"]):
        for t in summaries[0]["threads"]:
            a, b = row_a["cells"][str(t)], row_b["cells"][str(t)]
            diff = abs(a["median_ms"] - b["median_ms"]) / ((a["median_ms"] + b["median_ms"]) / 2)
            cells.append({"model": row_a["label"], "threads": t, "a_ms": a["median_ms"],
                          "b_ms": b["median_ms"], "diff": diff, "cv_a": a["cv"], "cv_b": b["cv"]})
    return {"device": summaries[0]["device"]["label"], "cells": cells, "repeats": repeats,
            "runs": f"{warmup} warm-up + {runs} timed runs, min 1 s",
            "machine": f"{os.cpu_count()} cores, 1-min load average {load_before:.1f} before the runs"}


def render_phone(phone: Dict[str, Any], args: Any) -> List[str]:
    lines = ["### Overhead on the loopback SD855 phone (real adb client, stand-in benchmark_model "
             f"sleeping {SYNTHETIC_US / 1000:.0f} ms per inference)", "",
             "Overhead = wall time of the whole `ghostedge bench` process − the binary's own "
             "reported time (init + warm-up + runs). It includes process start, device facts, "
             "pushes, `taskset`, temperature reads before/after each run, parsing, fsync'ed JSON "
             "lines, reports and cleanup, and the stand-in binary's Python start-up (a native "
             "binary starts in milliseconds), so it overstates the real cost.", "",
             "| pass | runs | wall s | binary s | overhead per run s | per (model, threads) cell "
             f"({args.repeats} repeats) s | pushes skipped |",
             "|---|---|---|---|---|---|---|"]
    for p in phone["passes"]:
        lines.append(f"| {p['pass']} | {p['runs']} | {p['wall_s']:.2f} | {p['binary_s']:.2f} | "
                     f"{p['overhead_per_run_s']:.2f} | {p['overhead_per_cell_s']:.2f} | "
                     f"{p['skipped_pushes']} |")
    lines += ["", "Where it goes (seconds): start-up = process start → first run (Python, imports, "
              "adb server/connect, device facts, binary lookup, pushes or SHA-256 checks); per run = "
              "adb round trip beyond the binary's own time (includes the stand-in's start-up); "
              "between runs = temperature read + fsync'ed JSON line; finish = reports (plot) + "
              "cleanup + exit.", "", "| pass | start-up | per run | between runs | finish |",
              "|---|---|---|---|---|"]
    for p in phone["passes"]:
        lines.append(f"| {p['pass']} | {p['setup_s']:.2f} | {p['adb_run_overhead_s']:.2f} | "
                     f"{p['between_runs_s']:.2f} | {p['teardown_s']:.2f} |")
    worst = max(p["overhead_per_cell_s"] for p in phone["passes"])
    lines += ["", f"Goal < 2 s per cell: {'met' if worst < 2 else 'NOT met'} (worst {worst:.2f} s).", ""]
    return lines


def render_local(local: Dict[str, Any]) -> List[str]:
    lines = [f"### Two `--device local` runs in a row: {local['device']}, {local['machine']}", "",
             f"{local.get('repeats', '?')} repeats per cell, {local.get('runs', '')}.", "",
             "| model | threads | run 1 ms | run 2 ms | difference | CV run 1 | CV run 2 |",
             "|---|---|---|---|---|---|---|"]
    for c in local["cells"]:
        lines.append(f"| {c['model']} | {c['threads']} | {c['a_ms']:.3f} | {c['b_ms']:.3f} | "
                     f"{c['diff']:.1%} | {c['cv_a']:.1%} | {c['cv_b']:.1%} |")
    within = sum(c["diff"] <= 0.03 for c in local["cells"])
    lines += ["", f"{within} of {len(local['cells'])} cells agree within 3 %.", ""]
    return lines


def render(models: List[Path], phone: Dict[str, Any], locals_: List[Dict[str, Any]], args: Any) -> str:
    lines = ["## `ghostedge bench`: tool overhead and local repeatability", "",
             f"Script: `benchmarks/bench_overhead.py`. Models: {', '.join(m.name for m in models)}; "
             f"threads {' '.join(THREADS)}, {args.repeats} repeats, {args.warmup_runs} warm-up + "
             f"{args.num_runs} timed runs per invocation.", ""]
    if phone:
        lines += render_phone(phone, args)
    for local in locals_:
        lines += render_local(local)
    lines.append("CV = std/mean of a cell's repeat averages. These tables use fixed `--repeats` and the average of each "
                 "repeat, not the default strict protocol (median of run medians, adaptive repeats, busy runs flagged): "
                 "its repeatability is in the section written by bench_repeatability.py below. On a machine shared with other work, "
                 "or with more threads than free cores, cells drift well beyond 3 %; compare on a "
                 "quiet machine.")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=[])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--warmup-runs", type=int, default=10)
    parser.add_argument("--num-runs", type=int, default=50)
    parser.add_argument("--local-only", action="store_true", help="skip the loopback phone (no adb)")
    parser.add_argument("--save-local", metavar="JSON", help="also save the local comparison as JSON")
    parser.add_argument("--import-local", metavar="JSON", nargs="*", default=[],
                        help="add local comparisons saved on other machines (--save-local)")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/benchmarks.md")
    args = parser.parse_args()
    env = dict(os.environ, GHOSTEDGE_NO_PROGRESS="1")
    models = ensure_models(args.models, env)
    with tempfile.TemporaryDirectory(prefix="bench_overhead_") as tmp:
        work = Path(tmp)
        phone = {} if args.local_only else phone_overhead(models, work, env, args.repeats,
                                                          args.warmup_runs, args.num_runs)
        local = local_agreement(models, work, env, args.repeats, args.warmup_runs, args.num_runs)
    if args.save_local:
        Path(args.save_local).write_text(json.dumps(local, indent=2))
    locals_ = [local] + [json.loads(Path(p).read_text()) for p in args.import_local]
    md = render(models, phone, locals_, args)
    print(md)
    if not args.no_write:
        from _report import write_section

        print(f"written to {write_section('bench', md)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
