"""``ghostedge predict``: top-k class names with probabilities for images, with a .tflite, an .onnx
or a PyTorch model, through the same preprocessing as every other path."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Dict, List, Tuple

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


def _human(results: List[Dict[str, Any]], header: str, notes: List[str]) -> str:
    lines = [f"# {note}" for note in notes] + [header]
    for res in results:
        lines.append(res["image"])
        width = max(len(t["label"]) for t in res["top"])
        for rank, t in enumerate(res["top"], 1):
            lines.append(f"  {rank}. {t['label']:<{width}}  {t['probability']:.4f}  (class {t['index']})")
    return "\n".join(lines)


def run(args: argparse.Namespace, out: Output) -> int:
    """Classify the images and print (or --json) the top classes."""
    from ghostedge.appexport.predict import expand_images, open_classifier, predict, skipped_summary
    from ghostedge.errors import UsageError

    if args.top < 1:
        raise UsageError(f"--top {args.top} is not allowed", "at least one class is shown", "Use --top 1 or more")
    if args.threads is not None and args.threads < 1:
        raise UsageError(f"--threads {args.threads} is not allowed", "at least one thread", "Use --threads 1 or more")
    expand_images(args.images)  # check the images before loading a model
    clf = open_classifier(args.model, weights=args.weights, preprocessing=args.preprocessing,
                          input_kind=args.input_kind, num_threads=args.threads,
                          labels_file=args.labels)
    for note in clf.notes:
        out.warn(note)
    skipped: List[Tuple[Path, str]] = []
    results = predict(args.images, clf, top=args.top, skipped=skipped)
    if skipped:
        out.warn(skipped_summary(skipped))
    for res in results:
        probs = [t["probability"] for t in res["top"]]
        if len(probs) > 1 and max(probs) - min(probs) < 1e-9:
            out.warn(f"{res['image']}: the top {len(probs)} classes all score {probs[0]:.4f}, so their "
                     "order means nothing (an untrained model, or a uint8 output too coarse to "
                     "separate them)")
    header = (f"model {clf.source} ({clf.backend}, {clf.input_dtype} {clf.layout} "
              f"{clf.size}x{clf.size}, {clf.input_kind} input, labels from {clf.labels_source}, "
              f"preprocessing {clf.preprocessing.name})")
    data = {"model": clf.source, "backend": clf.backend, "input_dtype": clf.input_dtype,
            "input_kind": clf.input_kind, "output_kind": clf.output_kind,
            "labels_source": clf.labels_source, "has_metadata": clf.has_metadata,
            "preprocessing": clf.preprocessing.name, "results": results,
            "skipped": [{"image": str(path), "reason": reason} for path, reason in skipped]}
    out.result(data, lambda: _human(results, header, []))
    return 0
