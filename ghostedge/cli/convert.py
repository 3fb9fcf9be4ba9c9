"""``ghostedge convert``: GhostNet (PyTorch) → verified TFLite FP32 (always), FP16, INT8."""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any, Dict, List

from ghostedge.cli.output import Output
from ghostedge.errors import UsageError

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
    g.add_argument("--calib-samples", type=int, default=500, metavar="N",
                   help="calibration images drawn (default: 500)")
    g.add_argument("--calib-seed", type=int, default=0, metavar="S", help="sampling seed (default: 0)")
    g.add_argument("--int8-io", choices=["uint8", "int8", "float32"], default="uint8",
                   help="INT8 input/output type (default: uint8, what MediaPipe accepts)")
    g.add_argument("--explain", action="store_true", help="print the per-layer INT8 error table")
    p.set_defaults(func=run)


def _check_args(args: argparse.Namespace) -> None:
    if args.int8 is False and (args.calib is not None or args.explain):
        raise UsageError("--calib and --explain need --int8", "they only affect the INT8 model",
                         "Add --int8")
    if args.calib_samples < 1:
        raise UsageError(f"--calib-samples {args.calib_samples} is not usable",
                         "at least one calibration image is needed", "Pass --calib-samples 500")
    if args.calib is not None and not args.calib.exists():
        raise UsageError(f"Calibration data {args.calib} does not exist", "no such file or folder",
                         "Pass an ImageNet folder or list file to --calib")


def resolve_model(args: argparse.Namespace) -> str:
    """``--model``, or when it is not given the registry model that fits ``--weights``
    (``ghostedge.models.weights.default_model_for``). Stores the result in ``args.model``."""
    if not args.model:
        from ghostedge.models.weights import default_model_for

        args.model = default_model_for(args.weights)
    return str(args.model)


def run(args: argparse.Namespace, out: Output) -> int:
    """Load the weights, convert, print a summary (or the reports with --json)."""
    from ghostedge.convert.pipeline import check_label_count, check_outputs, convert, validate_options
    from ghostedge.data.preprocess import get_preset
    from ghostedge.models.registry import get_spec

    started = time.perf_counter()
    _check_args(args)
    resolve_model(args)
    get_spec(args.model)  # unknown names fail before anything heavy
    labels = None
    if args.labels is not None:
        from ghostedge.data.labels import read_labels_file

        labels = read_labels_file(args.labels)
    validate_options(args.image_size, args.int8, args.int8_io, labels)
    known_classes = args.num_classes or (1000 if args.weights == "random" else None)
    if labels is not None and known_classes is not None:
        check_label_count(labels, known_classes)
    check_outputs(args.output, args.model, args.fp16, args.int8, args.force)

    from ghostedge.models.weights import load_model

    loaded = load_model(args.model, args.weights, args.num_classes, args.cache_dir)
    pre = get_preset(args.preprocessing or loaded.preprocessing)
    calibration = None
    if args.int8:
        from ghostedge.quantize.calibration import build_calibration_set

        calibration = build_calibration_set(args.calib, args.calib_samples, args.calib_seed, pre,
                                            args.image_size)  # warns when falling back to photos
    result = convert(loaded.model, name=args.model, output_dir=args.output, preprocessing=pre,
                     fp16=args.fp16, int8=args.int8, calibration=calibration, int8_io=args.int8_io,
                     bare=args.bare, image_size=args.image_size, labels=labels, force=args.force,
                     source_info=loaded.weights_info, explain=args.explain)
    result.wall_s = command_seconds(started)
    data = {"output_dir": str(result.output_dir),
            "wall_s": round(result.wall_s, 3),
            "artifacts": {k: str(v) for k, v in result.artifacts.items()},
            "durations_s": {k: round(v, 3) for k, v in result.durations_s.items()},
            "onnx2tf_peak_rss_mb": round(result.onnx2tf_peak_rss_mb, 1),
            "reports": result.reports}
    out.result(data, lambda: summary_text(result))
    if args.explain and result.layer_table and not out.json_mode:
        out.print("")
        out.print(result.layer_table)
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
        rep = result.reports[kind]
        fid = rep["fidelity_vs_torch"]
        if "logit_cosine_min" in fid:
            cos = f"cos {fid['logit_cosine_min']:.6f}"
        else:  # quantized probabilities: compared in probability space (see verify.fidelity)
            cos = f"prob cos {fid.get('prob_cosine_min', 0.0):.4f}"
        line = (f"  {Path(path).name:<28} {rep['size_mb']:7.2f} MB  {_ops_text(rep.get('ops', {}))}  "
                f"vs torch: max|dp| {fid['prob_max_abs_diff']:.2g}, {cos}, "
                f"top-1 {fid['top1_agreement']:.0%}")
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
