"""``ghostedge convert``: GhostNet (PyTorch) → verified TFLite FP32 (always), FP16, INT8."""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any, Dict, List

from ghostedge.cli.output import Output
from ghostedge.quantize.options import DEFAULT_SAMPLES, IO_TYPES

DESCRIPTION = """\
Convert GhostNet from PyTorch to TFLite: torch -> ONNX (opset 17) -> onnx2tf -> NHWC .tflite with
no TRANSPOSE. Writes <name>.onnx, <name>.fp32.tflite (+ .fp16 / .int8) and a .report.json beside
each. Every file is verified against torch on real photos and seeded random inputs before it is
kept (FP32: max abs difference of probabilities <= 1e-4; FP16: <= 2e-2 and logit cosine >= 0.999;
INT8: every operator integer, compared with FP32 on held-out images). By default the models are
app-ready: raw RGB pixels 0..255 in (NHWC; normalization inside the graph), softmax probabilities
out; --bare exports the plain network (normalized input, logits). Works offline.

examples:
  ghostedge convert --int8 --calib ~/imagenet/val
  ghostedge convert --weights paddle:GhostNet_x1_3_ssld --int8    # --model paddle_ghostnet_x1_3
  ghostedge convert --model ghostnet_130 --weights ckpt.pth --fp16 --output out
  ghostedge convert --weights random --fp16 --int8 --force
"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``convert`` command."""
    p = sub.add_parser("convert", parents=[common], help="convert GhostNet to verified TFLite "
                       "(FP32, FP16, full-integer INT8)", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("model")
    g.add_argument("--model", default=None, help="registry name (default: the model that fits "
                   "--weights: paddle:GhostNet_x1_3_ssld -> paddle_ghostnet_x1_3, a .pdparams file -> "
                   "its paddle_ghostnet_* width, anything else -> ghostnet_100; see `ghostedge models`)")
    g.add_argument("--weights", default="imagenet", help="checkpoint file, URL, named source "
                   "(imagenet, timm, huawei, paddle:GhostNet_x1_3_ssld, ...) or 'random' (default: imagenet)")
    g.add_argument("--num-classes", type=int, default=None, metavar="N",
                   help="classes of the checkpoint (default: from the checkpoint; 1000 for random)")
    g.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                   help="download cache (default: ~/.cache/ghostedge or $GHOSTEDGE_CACHE)")
    g = p.add_argument_group("outputs")
    g.add_argument("--output", type=Path, default=Path("ghostedge-out"), metavar="DIR",
                   help="output folder (default: ./ghostedge-out)")
    g.add_argument("--fp16", action="store_true", help="also write <name>.fp16.tflite (half-size weights)")
    g.add_argument("--int8", action="store_true", help="also write <name>.int8.tflite (full integer)")
    g.add_argument("--bare", action="store_true", help="export the plain network: normalized "
                   "input, logits (default: app-ready pixels in, probabilities out)")
    g.add_argument("--image-size", type=int, default=224, metavar="PX", help="input size (default: 224)")
    g.add_argument("--preprocessing", choices=["torchvision", "paddle"], default=None,
                   help="image preprocessing (default: the one the weights were trained with)")
    g.add_argument("--labels", type=Path, default=None, metavar="FILE",
                   help="class names, one per line (default: ImageNet's 1000 for 1000 classes)")
    g.add_argument("--force", action="store_true", help="overwrite existing outputs")
    g = p.add_argument_group("INT8")
    g.add_argument("--calib", type=Path, default=None, metavar="PATH",
                   help="ImageNet samples for calibration: ImageFolder tree, ILSVRC2012 val folder or "
                        "list file (default: the bundled photos, with a warning)")
    g.add_argument("--calib-samples", type=int, default=DEFAULT_SAMPLES, metavar="N",
                   help=f"calibration images drawn (default: {DEFAULT_SAMPLES})")
    g.add_argument("--calib-seed", type=int, default=0, metavar="S", help="sampling seed (default: 0)")
    g.add_argument("--int8-io", choices=IO_TYPES, default="uint8",
                   help="INT8 input/output type (default: uint8, what MediaPipe accepts)")
    g.add_argument("--explain", action="store_true", help="print the per-layer INT8 error table")
    g = p.add_argument_group("ARM")
    g.add_argument("--check-arm64", action="store_true",
                   help="after converting, run the .tflite files on real ARM64 code under qemu "
                        "(`ghostedge check --arch arm64`) and fail if they compute otherwise")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    """Convert with the library, print a summary (or the reports with --json)."""
    from ghostedge.api import convert

    started = time.perf_counter()
    result = convert(args.model, args.weights, output=args.output, fp16=args.fp16, int8=args.int8,
                     calib=args.calib, calib_samples=args.calib_samples, calib_seed=args.calib_seed,
                     int8_io=args.int8_io, explain=args.explain, bare=args.bare,
                     image_size=args.image_size, preprocessing=args.preprocessing, labels=args.labels,
                     num_classes=args.num_classes, cache_dir=args.cache_dir, force=args.force,
                     check_arm64=args.check_arm64)
    result.wall_s = command_seconds(started)
    out.result(result.to_dict(), lambda: summary_text(result))
    if args.explain and result.layer_table and not out.json_mode:
        out.print("")
        out.print(result.layer_table)
    if result.arm64 is not None and not result.arm64.passed:
        return 1
    return 0


def command_seconds(started: float) -> float:
    """Wall seconds of the whole command: since the process started (Linux /proc), else since
    ``started`` (a ``time.perf_counter()`` taken when the command began)."""
    since_run = time.perf_counter() - started
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 (starttime), counted after the ")"
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        since_start = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return since_run
    return since_start if since_run <= since_start < since_run + 3600 else since_run


def _ops_text(ops: Dict[str, int], top: int = 4) -> str:
    items = list(ops.items())
    text = ", ".join(f"{k} {v}" for k, v in items[:top])
    return f"{sum(ops.values())} ops ({text}{', ...' if len(items) > top else ''})"


def summary_text(result: Any) -> str:
    """A short human summary: one line per file, then timings."""
    lines: List[str] = [f"ghostedge convert: {result.name} -> {result.output_dir}"]
    for kind, path in result.artifacts.items():
        rep = result.reports[kind].to_dict()
        fid = rep["fidelity_vs_torch"]
        if "logit_cosine_min" in fid:
            cos = f"cos {fid['logit_cosine_min']:.6f}"
        else:  # quantized probabilities: compared in probability space (see verify.fidelity)
            cos = f"prob cos {fid.get('prob_cosine_min', 0.0):.4f}"
        top1 = ("constant output (does not classify)" if fid.get("constant_output")
                else f"top-1 {fid['top1_agreement']:.0%}")
        line = (f"  {Path(path).name:<28} {rep['size_mb']:7.2f} MB  {_ops_text(rep.get('ops', {}))}  "
                f"vs torch: max|dp| {fid['prob_max_abs_diff']:.2g}, {cos}, {top1}")
        lines.append(line)
        if kind == "int8":
            f8 = rep.get("fidelity_vs_fp32") or {}
            if f8:
                ties = f8.get("top1_tied_images", 0)
                tie_text = f" ({ties} with tied INT8 maxima, counted as agreeing)" if ties else ""
                lines.append(f"  {'':<28} INT8 vs FP32 on {f8.get('images', '?')} held-out images: "
                             f"top-1 {f8.get('top1_agreement', 0):.1%}{tie_text}, "
                             f"top-5 {f8.get('top5_agreement', 0):.1%}, cosine {f8.get('cosine_mean', 0):.4f}")
            q = rep.get("io_quantization", {})
            for side in ("input", "output"):
                for t in q.get(side, []):
                    lines.append(f"  {'':<28} {side} {t['name']}: {t['dtype']} scale {t['scale']:.6g} "
                                 f"zero point {t['zero_point']}")
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in result.durations_s.items() if k != "total")
    wall = getattr(result, "wall_s", None)
    total = f", {wall:.1f} s total (with model loading and imports)" if wall else ""
    lines.append(f"  time: {result.durations_s.get('total', 0):.1f} s conversion{total} ({steps}); onnx2tf peak "
                 f"memory {result.onnx2tf_peak_rss_mb:.0f} MB")
    lines.append("  reports: " + ", ".join(f"{result.name}.{k}.report.json" for k in result.artifacts))
    return "\n".join(lines)
