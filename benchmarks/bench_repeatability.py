"""Do `ghostedge bench --device local` numbers reproduce, and does it notice when they cannot?

    .venv/bin/python benchmarks/bench_repeatability.py [--models A.tflite B.tflite] [--no-write]
        [--skip-hog] [--hog-seconds 30]

1. Two consecutive default `ghostedge bench --device local --threads 1 2` runs (strict protocol)
   of GhostNet 1.0x FP32 and INT8: headline figures compared cell by cell (difference, 95 %
   intervals overlap?), with the host load measured during each run (ghostedge's own per-run
   `host_load`, and the 1-minute load average before and after).
2. The same with a CPU hog on every usable core beside it: which cells are flagged busy.
3. With a hog that stops after --hog-seconds and `--wait-quiet 120`: the waits before the runs.
Models default to ghostedge-out/ghostnet_100.{fp32,int8}.tflite; when missing they are made once
with `ghostedge convert --weights random --int8` into ghostedge-out/bench_models (latency does not
depend on the weights). Writes the "repeatability" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _cli(args: List[str], cwd: Path, check: bool = True) -> Tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    env = dict(os.environ, GHOSTEDGE_NO_PROGRESS="1")
    proc = subprocess.run([sys.executable, "-m", "ghostedge", *args], env=env, cwd=cwd, capture_output=True,
                          text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"ghostedge {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return time.monotonic() - start, proc


def ensure_models(paths: List[str]) -> List[Path]:
    if paths:
        return [Path(p).resolve() for p in paths]
    default = [ROOT / "ghostedge-out" / f"ghostnet_100.{p}.tflite" for p in ("fp32", "int8")]
    if all(p.is_file() for p in default):
        return default
    cache = ROOT / "ghostedge-out" / "bench_models"   # git-ignored
    made = [cache / f"ghostnet_100.{p}.tflite" for p in ("fp32", "int8")]
    if not all(p.is_file() for p in made):
        print("converting GhostNet 1.0x (random weights) once ...", file=sys.stderr)
        _cli(["convert", "--weights", "random", "--int8", "--output", str(cache), "--force"], ROOT)
    return made


def _hog(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def hogs(seconds: float) -> List[multiprocessing.Process]:
    """One busy process per usable CPU for ``seconds``."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    procs = [multiprocessing.Process(target=_hog, args=(time.time() + seconds,), daemon=True) for _ in range(cpus)]
    for p in procs:
        p.start()
    return procs


def session(models: List[Path], work: Path, name: str, extra: List[str] = ()) -> Dict[str, Any]:
    """One `ghostedge bench --device local --threads 1 2` and what the host did meanwhile."""
    out = work / name
    load0 = os.getloadavg()
    wall, _ = _cli(["bench", *map(str, models), "--device", "local", "--threads", "1", "2", "--output", str(out),
                    "--json", *extra], ROOT)
    load1 = os.getloadavg()
    summary = json.loads((out / "summary.json").read_text())
    runs = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    runs = [r for r in runs if r.get("kind") == "run"]
    others = [r["result"]["host_load"].get("other_cpu") for r in runs if r["result"]["host_load"].get("other_cpu") is not None]
    waits = [r["result"].get("wait_quiet", {}).get("waited_s") for r in runs if r["result"].get("wait_quiet")]
    return {"name": name, "folder": str(out), "wall_s": wall, "summary": summary, "runs": len(runs),
            "load_before": load0[0], "load_after": load1[0],
            "other_cpu_median": statistics.median(others) if others else None,
            "other_cpu_max": max(others) if others else None,
            "busy_runs": sum(r["result"]["host_load"].get("verdict") == "busy" for r in runs),
            "waits": waits}


def cells(summary: Dict[str, Any]) -> Dict[Tuple[str, str], Dict[str, Any]]:
    return {(row["label"], key): cell for row in summary["rows"] for key, cell in row["cells"].items() if cell}


def _fmt(v: Optional[float], spec: str = ".3f") -> str:
    return "—" if v is None else format(v, spec)


def render(models: List[Path], a: Dict[str, Any], b: Dict[str, Any], hog: Optional[Dict[str, Any]],
           quiet: Optional[Dict[str, Any]], cpu: str) -> str:
    ca, cb = cells(a["summary"]), cells(b["summary"])
    lines = ["## Repeatability of `ghostedge bench --device local` (`benchmarks/bench_repeatability.py`)", "",
             f"Run {datetime.date.today().isoformat()} on {cpu}. Models: {', '.join(m.name for m in models)} "
             "(GhostNet 1.0x, random weights). Default strict protocol: 6 runs per cell (10 warm-up, ≥ 50 "
             "inferences and ≥ 1 s each), more while a cell's 95 % interval is wider than ±2 % (60 s budget); "
             "headline = median over runs of each run's median.", "",
             "Host load during each session: ghostedge's per-run `host_load` (CPU used by other processes "
             "during the timed loop, median / max over the session's runs) and the 1-minute load average "
             "before → after.", "",
             "| session | runs | wall s | other CPU median / max | busy runs | load avg before → after |",
             "|---|---|---|---|---|---|"]
    for s in [x for x in (a, b, hog, quiet) if x]:
        lines.append(f"| {s['name']} | {s['runs']} | {s['wall_s']:.0f} | {_fmt(s['other_cpu_median'], '.2f')} / "
                     f"{_fmt(s['other_cpu_max'], '.2f')} | {s['busy_runs']} | {s['load_before']:.2f} → "
                     f"{s['load_after']:.2f} |")
    lines += ["", "### Two default sessions in a row", "",
              "| model | threads | run 1 ms [95 %] | run 2 ms [95 %] | difference | within 3 % | intervals overlap | marks |",
              "|---|---|---|---|---|---|---|---|"]
    within = 0
    for key in ca:
        x, y = ca[key], cb.get(key)
        if not y or x.get("status") != "ok" or y.get("status") != "ok":
            continue
        diff = 100 * (y["headline_ms"] - x["headline_ms"]) / x["headline_ms"]
        overlap = x["ci_low_ms"] <= y["ci_high_ms"] and y["ci_low_ms"] <= x["ci_high_ms"]
        within += abs(diff) <= 3
        marks = ", ".join(sorted(set(x.get("marks", [])) | set(y.get("marks", [])))) or "—"
        lines.append(f"| {key[0]} | {key[1]} | {x['headline_ms']:.3f} [{x['ci_low_ms']:.3f}–{x['ci_high_ms']:.3f}] "
                     f"n={x['n']} | {y['headline_ms']:.3f} [{y['ci_low_ms']:.3f}–{y['ci_high_ms']:.3f}] n={y['n']} | "
                     f"{diff:+.1f} % | {'yes' if abs(diff) <= 3 else 'no'} | {'yes' if overlap else 'no'} | {marks} |")
    lines += ["", f"{within} of {len(ca)} cells within 3 %."]
    if hog:
        ch = cells(hog["summary"])
        flagged = sum(bool("busy" in c.get("marks", []) or c.get("busy_runs_left_out")) for c in ch.values())
        lines += ["", "### With a CPU hog on every usable core (`--adaptive-budget 0`)", "",
                  "| model | threads | ms | marks | busy runs left out |", "|---|---|---|---|---|"]
        lines += [f"| {k[0]} | {k[1]} | {_fmt(c.get('headline_ms'))} | {', '.join(c.get('marks', [])) or '—'} | "
                  f"{c.get('busy_runs_left_out', 0)} |" for k, c in ch.items()]
        lines += ["", f"{flagged} of {len(ch)} cells flagged (busy) or cleaned of busy runs; "
                      f"{hog['busy_runs']} of {hog['runs']} runs had a busy host."]
    if quiet:
        waits = quiet["waits"]
        lines += ["", f"### `--wait-quiet 120` with a hog that stops after {quiet['hog_s']:.0f} s", "",
                  f"Waits before the runs (s): first {waits[0]:.1f}, then max {max(waits[1:] or [0]):.1f}; "
                  f"busy runs {quiet['busy_runs']} of {quiet['runs']}." if waits else "No wait recorded."]
    lines += ["", "A shared machine is rarely quiet for long: read the busy-run counts and load figures "
                  "above before the differences."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=[])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--skip-hog", action="store_true")
    parser.add_argument("--hog-seconds", type=float, default=30.0)
    args = parser.parse_args()
    from ghostedge.device_bench.local import local_facts

    facts = local_facts()
    cpu = f"{facts['cpu_model']}, {len(facts['usable_cpus'])} usable CPUs"
    models = ensure_models(args.models)
    with tempfile.TemporaryDirectory(prefix="ghostedge-repeat-") as tmp:
        work = Path(tmp)
        a = session(models, work, "default 1")
        b = session(models, work, "default 2")
        hog = quiet = None
        if not args.skip_hog:
            procs = hogs(3600)
            try:
                hog = session(models, work, "hog on every core", ["--adaptive-budget", "0"])
            finally:
                for p in procs:
                    p.terminate()
                    p.join()
            procs = hogs(args.hog_seconds)
            try:
                quiet = session(models, work, f"--wait-quiet 120, hog for {args.hog_seconds:.0f} s",
                                ["--wait-quiet", "120", "--adaptive-budget", "0"])
                quiet["hog_s"] = args.hog_seconds
            finally:
                for p in procs:
                    p.terminate()
                    p.join()
        text = render(models, a, b, hog, quiet, cpu)
    print(text)
    if not args.no_write:
        from _report import write_section

        print(f"wrote {write_section('repeatability', text)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
