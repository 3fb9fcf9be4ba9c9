"""``ghostedge eval``: top-1/top-5 of .tflite files and torch models over a labeled image folder,
printed in the seed's table format."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, List, Tuple

from ghostedge.cli.output import Output
from ghostedge.errors import GhostEdgeError, ModelError, UsageError

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


def _validate(args: argparse.Namespace) -> None:
    if args.limit is not None and args.limit <= 0:
        raise UsageError(f"--limit {args.limit} is not a positive number of images", fix="Pass --limit 1000, say")
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers} must be at least 1")
    if args.image_size is not None and args.image_size < 16:
        raise UsageError(f"--image-size {args.image_size} is too small", fix="Pass --image-size 224")


def _targets(args: argparse.Namespace) -> List[Tuple[Any, Any]]:
    from ghostedge.appexport.inspection import check_not_checkpoint, folder_error
    from ghostedge.evaluate.targets import disambiguate_labels, onnx_target, tflite_target, torch_target
    from ghostedge.models.registry import MODEL_SPECS

    targets = []
    for item in args.models:
        path = Path(item)
        if item in MODEL_SPECS and not path.exists():
            if not args.weights:
                raise UsageError(f"{item} is a model name: evaluating it needs --weights",
                                 fix=f"Pass --weights FILE (or imagenet), or a converted {item}.*.tflite file")
            targets.append(torch_target(item, args.weights, args.num_classes, args.preprocessing,
                                        args.image_size, args.cache_dir))
        elif path.is_dir():
            raise folder_error(path, "eval", (".tflite", ".onnx"))
        elif path.suffix.lower() == ".onnx":
            targets.append(onnx_target(path, args.preprocessing, args.bare, args.image_size))
        elif path.exists():
            check_not_checkpoint(path, "eval takes .tflite/.onnx files, or registry names with --weights",
                                 "Pass {name} --weights {weights} instead")
            targets.append((tflite_target(path, args.preprocessing, args.bare, args.image_size), None))
        elif path.suffix or "/" in item:
            raise GhostEdgeError(f"Model {path} does not exist", "no such file", "Check the path")
        else:
            raise ModelError(f"Unknown model {item!r}", f"it is neither a file nor one of {', '.join(sorted(MODEL_SPECS))}",
                             "Pass a .tflite or .onnx file, or a registered model name with --weights")
    disambiguate_labels([target for target, _ in targets])
    return targets


def run(args: argparse.Namespace, out: Output) -> int:
    """Evaluate every MODEL on the same images and print the table."""
    from ghostedge.data.folders import load_labeled_dataset, sample
    from ghostedge.evaluate.runner import check_fits, evaluate_all
    from ghostedge.evaluate.table import counted, format_footer, format_table

    _validate(args)
    dataset = load_labeled_dataset(args.data)
    targets = _targets(args)
    for target, _ in targets:
        check_fits(target, dataset)
    samples = list(dataset.samples)
    if args.limit is not None and args.limit < len(samples):
        samples = sample(dataset, args.limit, args.seed)
    elif args.limit is not None:
        out.warn(f"--limit {args.limit} is not below the {counted(len(samples), 'image')} found: evaluating all")
    results = evaluate_all(targets, samples, workers=args.workers)
    data = {"data": {**dataset.describe(), "evaluated": len(samples), "limit": args.limit, "seed": args.seed},
            "results": [r.to_dict() for r in results]}
    human = format_table(results) + "\n\n" + format_footer(results, str(args.data), dataset.layout)
    out.result(data, human)
    return 0
