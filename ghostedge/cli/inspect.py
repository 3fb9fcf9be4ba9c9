"""``ghostedge inspect``: what an app developer needs to know about a .tflite file."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ghostedge.cli.output import Output

DESCRIPTION = """\
Show a .tflite model's inputs and outputs (names, shapes, dtypes, quantization scale and zero
point), signatures, TFLite metadata (name, version, normalization, labels), operator counts,
whether every operator is integer, its size and SHA-256. Files without metadata work too.

example:
  ghostedge inspect ghostedge-out/ghostnet_100.int8.tflite
"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``inspect`` command."""
    p = sub.add_parser("inspect", parents=[common], help="I/O, quantization, metadata, ops, size "
                       "and SHA-256 of a .tflite", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path, metavar="MODEL.tflite", help="the .tflite file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    """Print the model's facts (or --json)."""
    from ghostedge.api import inspect

    info = inspect(args.model)
    out.result(info.to_dict(), info.text)
    return 0
