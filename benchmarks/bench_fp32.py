"""FP32 latency side by side, in ONE process, interleaved, batch 1: ghostedge's FP32 .tflite,
onnx2tf's default output for the same ONNX (plain ``onnx2tf -i``), onnxruntime on the .onnx and
torch eager, at 1 and 2 threads; plus the wall time and peak memory of
``ghostedge convert --fp16`` for GhostNet 1.0x. Writes the "fp32" section of docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_fp32.py [--model ghostnet_100] [--rounds 10] [--iters 20]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

# Thread pools that spin after a run (OpenMP in torch, onnxruntime's intra-op pool) would steal
# the second core from whatever runs next; make them sleep instead. Set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import write_section  # noqa: E402


def make_checkpoint(model_name: str, path: Path) -> Any:
    """Random weights, BatchNorm re-estimated on the bundled photos, saved timm-style."""
    import torch

    from ghostedge.models.bn_recalib import recalibrate_batchnorm
    from ghostedge.models.registry import create_model

    torch.manual_seed(0)
    model = recalibrate_batchnorm(create_model(model_name), batches=4)
    torch.save(model.state_dict(), path)
    return model


def timed_convert(model_name: str, ckpt: Path, out: Path) -> Dict[str, Any]:
    """``ghostedge convert --fp16`` as a user runs it: wall time, peak RSS of the process tree."""
    exe = Path(sys.executable).parent / "ghostedge"
    cmd = [str(exe), "convert", "--model", model_name, "--weights", str(ckpt), "--fp16",
           "--output", str(out), "--force", "--json"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, GHOSTEDGE_NO_PROGRESS="1"))
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"convert failed: {proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    data["wall_s"] = wall
    data["children_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return data


def onnx2tf_default(onnx_path: Path, work: Path) -> Tuple[Path, float]:
    """onnx2tf's default conversion (no signature/SavedModel options) of the same ONNX."""
    from ghostedge.convert.onnx2tf_runner import run_onnx2tf

    outs = run_onnx2tf(onnx_path, work, saved_model=False)
    return outs.fp32, outs.seconds


def runners(paths: Dict[str, Path], module: Any, threads: int, size: int) -> Dict[str, Callable[[], None]]:
    """One zero-argument callable per artifact at ``threads`` threads."""
    import onnxruntime as ort
    import torch

    from ghostedge.tflite import load_interpreter

    x_nhwc = np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype(np.float32)
    x_nchw = np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))
    result: Dict[str, Callable[[], None]] = {}
    for label in ("ghostedge fp32 .tflite", "onnx2tf default fp32 .tflite"):
        interp = load_interpreter(paths[label], num_threads=threads)
        idx = interp.get_input_details()[0]["index"]

        def run_tflite(interp: Any = interp, idx: int = idx) -> None:
            interp.set_tensor(idx, x_nhwc)
            interp.invoke()
        result[label] = run_tflite
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(str(paths["onnxruntime (.onnx)"]), opts, providers=["CPUExecutionProvider"])
    result["onnxruntime (.onnx)"] = lambda: sess.run(None, {"image": x_nchw})
    tensor = torch.from_numpy(x_nchw)

    def run_torch() -> None:
        with torch.no_grad():
            module(tensor)
    result["torch eager"] = run_torch
    return result


def _torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def measure(paths: Dict[str, Path], module: Any, size: int, rounds: int, iters: int) -> Dict[Tuple[str, int], float]:
    """Median ms per (artifact, threads). Interleaved run by run: every artifact runs once in
    turn, so load from elsewhere on the machine spreads evenly over all of them."""
    cells = {t: runners(paths, module, t, size) for t in (1, 2)}
    rng = np.random.default_rng(0)
    samples: Dict[Tuple[str, int], List[float]] = {}
    for t, fns in cells.items():  # warm-up
        _torch_threads(t)
        for fn in fns.values():
            for _ in range(5):
                fn()
    for _ in range(rounds):
        for t, fns in cells.items():
            _torch_threads(t)  # torch's pool size is global: set once per block, outside timing
            labels = list(fns)
            for _ in range(iters):
                for label in rng.permutation(labels):  # no artifact always follows the same one
                    fn = fns[label]
                    t0 = time.perf_counter()
                    fn()
                    samples.setdefault((label, t), []).append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in samples.items()}


def markdown(medians: Dict[Tuple[str, int], float], conv: Dict[str, Any], o2t_seconds: float,
             model_name: str, rounds: int, iters: int) -> str:
    base = {t: medians[("onnx2tf default fp32 .tflite", t)] for t in (1, 2)}
    labels = ["ghostedge fp32 .tflite", "onnx2tf default fp32 .tflite", "onnxruntime (.onnx)", "torch eager"]
    lines = [
        f"## FP32 latency and conversion cost ({model_name}, `benchmarks/bench_fp32.py`)",
        "",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; batch 1, median of {rounds}x{iters} runs per cell, artifacts "
        "interleaved run by run in a shuffled order in one process (spinning thread pools off); random weights with BatchNorm re-estimated (latency does not "
        "depend on the weights). The machine was shared with other work: read ratios.",
        "",
        "| artifact | 1 thread (ms) | 2 threads (ms) | vs onnx2tf default, 1 thread | 2 threads |",
        "|:--|--:|--:|--:|--:|",
    ]
    for label in labels:
        m1, m2 = medians[(label, 1)], medians[(label, 2)]
        lines.append(f"| {label} | {m1:.2f} | {m2:.2f} | {m1 / base[1]:.2f} | {m2 / base[2]:.2f} |")
    durations = conv["durations_s"]
    fp32 = conv["reports"]["fp32"]
    lines += [
        "",
        f"`ghostedge convert --fp16` ({model_name}, FP32 + FP16, each verified against torch): "
        f"**{conv['wall_s']:.1f} s wall** (goal <= 30 s) including Python start-up and weight loading; "
        f"pipeline {durations.get('total', 0):.1f} s (" +
        ", ".join(f"{k} {v:.1f} s" for k, v in durations.items() if k != "total") + "). "
        f"Peak memory: onnx2tf subprocess {conv['onnx2tf_peak_rss_mb']:.0f} MB, largest process of the "
        f"command {conv['children_peak_rss_mb']:.0f} MB. Plain `onnx2tf -i` on the same ONNX: "
        f"{o2t_seconds:.1f} s.",
        "",
        f"FP32 file {fp32['size_mb']:.2f} MB, {fp32['op_total']} ops, max abs diff of probabilities vs torch "
        f"{fp32['fidelity_vs_torch']['prob_max_abs_diff']:.2g}.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ghostnet_100")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--iters", type=int, default=20)
    args = parser.parse_args()
    from ghostedge.convert.wrapper import build_export_module
    from ghostedge.data.preprocess import PRESETS

    with tempfile.TemporaryDirectory(prefix="bench-fp32-") as tmp_name:
        tmp = Path(tmp_name)
        model = make_checkpoint(args.model, tmp / "ckpt.pth")
        conv = timed_convert(args.model, tmp / "ckpt.pth", tmp / "out")
        onnx_path = Path(conv["artifacts"]["onnx"])
        default_fp32, o2t_seconds = onnx2tf_default(onnx_path, tmp / "onnx2tf-default")
        paths = {"ghostedge fp32 .tflite": Path(conv["artifacts"]["fp32"]),
                 "onnx2tf default fp32 .tflite": default_fp32, "onnxruntime (.onnx)": onnx_path}
        module = build_export_module(model, PRESETS["torchvision"])
        medians = measure(paths, module, 224, args.rounds, args.iters)
    md = markdown(medians, conv, o2t_seconds, args.model, args.rounds, args.iters)
    print(md)
    print(f"\nwrote {write_section('fp32', md)}")


if __name__ == "__main__":
    main()
