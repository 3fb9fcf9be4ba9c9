"""``ghostedge predict``: top-k class names with probabilities for images, with a .tflite, an .onnx
or a PyTorch model, through the same preprocessing as every other path."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ghostedge.cli.output import Output

DESCRIPTION = """\
Classify images and print the top classes with their probabilities. MODEL is a .tflite (labels
from its metadata; else ImageNet names for 1000 classes, else class indices), an .onnx (run with
onnxruntime), or a registry name such as ghostnet_100 together with --weights. Images go through
the preprocessing recorded in the report JSON beside the model (or --preprocessing). App-ready
models (raw pixels in, probabilities out) and bare ones (normalized in, logits out) are told apart
from the metadata or the report; --input overrides. A folder argument means its image files
(unreadable ones are skipped with a warning; a file named on its own must be readable).

examples:
  ghostedge predict photo.jpg --model ghostedge-out/ghostnet_100.int8.tflite
  ghostedge predict photos/ --model ghostnet_100 --weights imagenet --top 3 --json
"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``predict`` command."""
    p = sub.add_parser("predict", parents=[common], help="top-5 classes of images with a "
                       ".tflite, .onnx or PyTorch model", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders of images")
    p.add_argument("--model", "-m", required=True, metavar="MODEL",
                   help="a .tflite or .onnx file, or a registry name (with --weights)")
    p.add_argument("--weights", default=None, metavar="W",
                   help="for a registry name: checkpoint file, URL, named source or 'random'")
    p.add_argument("--top", type=int, default=5, metavar="K", help="classes shown per image (default: 5)")
    p.add_argument("--preprocessing", choices=["torchvision", "paddle"], default=None,
                   help="image preprocessing (default: from the model's report, else torchvision)")
    p.add_argument("--input", dest="input_kind", choices=["auto", "pixels", "normalized"],
                   default="auto", help="what the model takes: raw 0..255 pixels (app-ready) or "
                   "normalized values (bare); default: from metadata/report")
    p.add_argument("--labels", type=Path, default=None, metavar="FILE",
                   help="class names, one per line, one per class (default: the model's metadata, "
                   "else ImageNet's for 1000 classes, else indices)")
    p.add_argument("--threads", type=int, default=None, metavar="N", help="TFLite interpreter threads")
    p.set_defaults(func=run)


def _human(result: Any) -> str:
    m = result.model
    lines = [f"model {m['model']} ({m['backend']}, {m['input_dtype']} {m['layout']} {m['size']}x{m['size']}, "
             f"{m['input_kind']} input, labels from {m['labels_source']}, preprocessing {m['preprocessing']})"]
    for pred in result:
        lines.append(pred.image)
        width = max(len(s.label) for s in pred)
        for rank, (score, index) in enumerate(zip(pred, pred.indices), 1):
            lines.append(f"  {rank}. {score.label:<{width}}  {score.probability:.4f}  (class {index})")
    return "\n".join(lines)


def run(args: argparse.Namespace, out: Output) -> int:
    """Classify the images and print (or --json) the top classes."""
    from ghostedge.api import predict

    result = predict(args.images, args.model, args.top, weights=args.weights,
                     preprocessing=args.preprocessing, input_kind=args.input_kind, labels=args.labels,
                     num_threads=args.threads)
    for note in result.notes:
        out.warn(note)
    out.result(result.to_dict(), lambda: _human(result))
    return 0
