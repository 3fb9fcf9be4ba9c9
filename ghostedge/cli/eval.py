"""``ghostedge eval``: top-1/top-5 of .tflite files and torch models over a labeled image folder,
printed in the seed's table format."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ghostedge.cli.output import Output

DESCRIPTION = """Measure top-1/top-5 accuracy over a labeled image folder.

MODEL is a .tflite file (FP32, FP16 or INT8; its .report.json beside it gives the preprocessing
and the model name), an .onnx file (run with onnxruntime, fed as `ghostedge predict` feeds it),
or a registered model name such as ghostnet_100 with --weights (a checkpoint file goes to
--weights, not MODEL). Rows of models that share a name get their folder/file in brackets.
--data takes an ImageFolder tree (class folders named by WordNet id, ImageNet index, or any names
for other datasets), a folder of ILSVRC2012_val_*.JPEG with LOC_val_solution.csv or val.txt, or a
PaddleClas list file ('relative/path.jpg label' lines).

example: ghostedge eval --data imagenet/val --limit 5000 ghostnet_100.fp32.tflite ghostnet_100.int8.tflite"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``eval`` command."""
    p = sub.add_parser("eval", parents=[common], help="top-1/top-5 of TFLite and torch models on labeled images",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", metavar="MODEL", help=".tflite or .onnx file, or a model name with --weights")
    p.add_argument("--data", required=True, type=Path, metavar="PATH", help="labeled images (see above)")
    p.add_argument("--limit", type=int, metavar="N",
                   help="evaluate a deterministic, class-balanced subset of N images")
    p.add_argument("--seed", type=int, default=0, help="seed of the --limit subset (default 0)")
    p.add_argument("--workers", type=int, default=2, help="worker processes, one interpreter each (default 2)")
    p.add_argument("--weights", help="weights for registered model names (file, URL, imagenet, random)")
    p.add_argument("--num-classes", type=int, help="classes of the torch model (default: from the weights)")
    p.add_argument("--preprocessing", choices=["torchvision", "paddle"],
                   help="override the preprocessing (default: the model's report, else its registry entry)")
    p.add_argument("--image-size", type=int, help="input size of torch models (default 224); "
                   "TFLite models use their own input size")
    p.add_argument("--bare", action="store_true", default=None,
                   help="the .tflite takes normalized input (exported with --bare; read from its report when present)")
    p.add_argument("--cache-dir", type=Path, help="weights cache (default $GHOSTEDGE_CACHE or ~/.cache/ghostedge)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    """Evaluate every MODEL on the same images and print the table."""
    from ghostedge.api import evaluate

    result = evaluate(args.models, args.data, limit=args.limit, seed=args.seed, workers=args.workers,
                      weights=args.weights, num_classes=args.num_classes,
                      preprocessing=args.preprocessing, image_size=args.image_size, bare=args.bare,
                      cache_dir=args.cache_dir)
    for note in result.notes:
        out.warn(note)
    out.result(result.to_dict(), result.table())
    return 0
