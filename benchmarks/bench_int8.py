"""INT8 vs FP32, side by side in ONE process, interleaved, batch 1: median latency of ghostedge's
full-integer INT8 .tflite and its FP32 .tflite (GhostNet 1.0x) at 1 and 2 threads, plus the wall
time of the whole ``ghostedge convert --int8`` (FP32 + INT8) with 500 calibration images.
Writes the "int8" section of docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_int8.py [--model ghostnet_100] [--samples 500] [--rounds 20]

Goals (issue 3): INT8/FP32 latency <= 0.80 at 1 thread; FP32+INT8 conversion <= 60 s on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def make_calibration_jpegs(folder: Path, count: int, seed: int = 0) -> Path:
    """``count`` random crops (10-100 % area, random flips) of the bundled photos as JPEG files."""
    from PIL import Image

    from ghostedge.data.preprocess import bundled_photos, load_rgb

    rng = np.random.default_rng(seed)
    photos = [load_rgb(p) for p in bundled_photos()]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        img = photos[int(rng.integers(len(photos)))]
        w, h = img.size
        side_w = int(w * np.sqrt(rng.uniform(0.1, 1.0)))
        side_h = int(h * np.sqrt(rng.uniform(0.1, 1.0)))
        left, top = int(rng.integers(0, w - side_w + 1)), int(rng.integers(0, h - side_h + 1))
        crop = img.crop((left, top, left + side_w, top + side_h))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        crop.save(folder / f"crop_{i:04d}.jpg", quality=90)
    return folder


def make_checkpoint(model_name: str, path: Path) -> None:
    """ghostedge's `--weights random` model (seeded; BatchNorm re-estimated on the bundled photos,
    logits spread like a trained network's) saved as a checkpoint, so conversion time excludes
    the re-estimation."""
    import torch

    from ghostedge.models.weights import load_model

    torch.save(load_model(model_name, "random").model.state_dict(), path)


def timed_convert(model: str, weights: Path, calib: Path, samples: int, out: Path) -> Tuple[float, Dict]:
    """Wall time of ``ghostedge convert --int8`` run as a user runs it (a subprocess)."""
    argv = [str(ROOT / ".venv" / "bin" / "ghostedge"), "convert", "--model", model, "--weights", str(weights),
            "--int8", "--calib", str(calib), "--calib-samples", str(samples), "--output", str(out),
            "--force", "--json"]
    env = {**os.environ, "GHOSTEDGE_NO_PROGRESS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"convert failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    report = json.loads((out / f"{model}.int8.report.json").read_text())
    return wall, report


def interleaved_latency(paths: Dict[str, Path], threads: List[int], rounds: int, iters: int
                        ) -> Dict[Tuple[str, int], float]:
    """Median ms per (model, threads); every configuration runs in turn in each round."""
    from ghostedge.tflite import load_interpreter

    runners = {}
    for name, path in paths.items():
        for t in threads:
            interp = load_interpreter(path, num_threads=t)
            inp = interp.get_input_details()[0]
            x = np.random.default_rng(0).integers(0, 256, inp["shape"]).astype(inp["dtype"])
            interp.set_tensor(inp["index"], x)
            for _ in range(10):
                interp.invoke()
            runners[(name, t)] = interp
    samples: Dict[Tuple[str, int], List[float]] = {k: [] for k in runners}
    for _ in range(rounds):
        for key, interp in runners.items():
            for _ in range(iters):
                t0 = time.perf_counter()
                interp.invoke()
                samples[key].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ghostnet_100")
    parser.add_argument("--samples", type=int, default=500, help="calibration images (default 500)")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--no-write", action="store_true", help="print, do not update docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-int8-") as tmp_name:
        tmp = Path(tmp_name)
        calib = make_calibration_jpegs(tmp / "calib", args.samples)
        weights = tmp / f"{args.model}.pth"
        make_checkpoint(args.model, weights)
        wall, report = timed_convert(args.model, weights, calib, args.samples, tmp / "out")
        paths = {"FP32": tmp / "out" / f"{args.model}.fp32.tflite", "INT8": tmp / "out" / f"{args.model}.int8.tflite"}
        sizes = {k: p.stat().st_size / 1e6 for k, p in paths.items()}
        latency = interleaved_latency(paths, [1, 2], args.rounds, args.iters)
    durations = report.get("durations_s", {})
    fid = report.get("fidelity_vs_fp32", {})
    ratio1 = latency[("INT8", 1)] / latency[("FP32", 1)]
    ratio2 = latency[("INT8", 2)] / latency[("FP32", 2)]
    lines = [
        "## INT8 vs FP32 (`benchmarks/bench_int8.py`)",
        "",
        f"{args.model}, ghostedge's seeded random weights (BatchNorm re-estimated on the bundled photos, logits spread like a trained network's); LiteRT "
        f"(XNNPACK), batch 1, one process, interleaved ({args.rounds} rounds x {args.iters} runs per "
        f"configuration), median ms. {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| artifact | size (MB) | 1 thread (ms) | 2 threads (ms) | vs FP32, 1 thread | vs FP32, 2 threads |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for name in ("FP32", "INT8"):
        r1 = latency[(name, 1)] / latency[("FP32", 1)]
        r2 = latency[(name, 2)] / latency[("FP32", 2)]
        lines.append(f"| ghostedge {name} ({paths[name].name}) | {sizes[name]:.2f} | {latency[(name, 1)]:.2f} | "
                     f"{latency[(name, 2)]:.2f} | {r1:.2f} | {r2:.2f} |")
    lines += [
        "",
        f"- INT8/FP32 at 1 thread: **{ratio1:.2f}** (goal <= 0.80; onnx2tf's own int8 gives 0.78), "
        f"2 threads: {ratio2:.2f}.",
        f"- `ghostedge convert --int8 --calib <{args.samples} JPEG crops>` (FP32 + INT8, whole command, "
        f"verification and fidelity report included): **{wall:.1f} s** wall (goal <= 60 s on 2 cores; "
        "onnx2tf `-oiqt` takes ~112 s). Steps: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in durations.items() if isinstance(v, (int, float))) + ".",
        f"- INT8 vs FP32 on {fid.get('images', '?')} held-out crops: top-1 agreement "
        f"{fid.get('top1_agreement', float('nan')):.3f}, probability cosine {fid.get('cosine_mean', float('nan')):.4f} "
        "(random weights: indicative only; the digits-trained test measures accuracy).",
        f"- Load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())} (shared machine: read ratios).",
    ]
    markdown = "\n".join(lines)
    print(markdown)
    if not args.no_write:
        print(f"\nwrote {write_section('int8', markdown)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
