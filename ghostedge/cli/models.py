"""``ghostedge models``: the registered GhostNet variants and the named weights sources."""
from __future__ import annotations

import argparse
from typing import Any

from ghostedge.cli.output import Output


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``models`` command."""
    p = sub.add_parser(
        "models", parents=[common], help="list GhostNet variants, weight sources and reference figures",
        description="List every registered GhostNet variant with its width, parameters, MACs at "
                    "224x224, named weight sources (for --weights), preprocessing, published "
                    "top-1/top-5 and PaddleClas's SD855 latency. Any variant also takes a local "
                    ".pth/.pt/.bin/.safetensors checkpoint, an http(s) URL, or `random`.")
    p.add_argument("--cache-dir", default=None,
                   help="weights cache to check for downloaded sources "
                        "(default: $GHOSTEDGE_CACHE or ~/.cache/ghostedge)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, out: Output) -> int:
    """List the variants (``--json`` for data)."""
    from ghostedge.api import list_models

    catalog = list_models(args.cache_dir)
    out.result(catalog.to_dict(), catalog.table)
    return 0
