"""``ghostedge models``: the registered GhostNet variants, their sizes, weight sources and
reference figures."""
from __future__ import annotations

import argparse
from typing import Any, Dict, List

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


def _cached_sources(spec: Any, cache_dir: Any) -> List[str]:
    from ghostedge.models import hub
    from ghostedge.models.weights import NAMED_SOURCES

    cached = []
    for name in spec.weight_sources:
        sources = NAMED_SOURCES.get(name, ())
        if any(hub.cache_path_for_url(s.url, cache_dir).is_file() for s in sources):
            cached.append(name)
    if any(name.startswith("paddle:") for name in spec.weight_sources):
        try:
            from ghostedge.models.pdparams import source_rows
        except ImportError:
            return cached
        cached += [r["source"] for r in source_rows(cache_dir)
                   if r.get("cached") and r["source"] in spec.weight_sources]
    return cached


def model_rows(cache_dir: Any = None) -> List[Dict[str, Any]]:
    """One JSON-friendly record per registered variant."""
    from ghostedge.models.registry import list_specs

    rows = []
    for spec in list_specs():
        ref = dict(spec.reference)
        rows.append({
            "name": spec.name, "display_name": spec.display_name, "family": spec.family,
            "width": spec.width, "params": spec.params, "macs": spec.macs,
            "macs_m": round(spec.macs / 1e6, 1),
            "weight_sources": list(spec.weight_sources), "cached_sources": _cached_sources(spec, cache_dir),
            "preprocessing": spec.preprocessing,
            "reference": {"top1": ref.get("top1"), "top5": ref.get("top5"),
                          "sd855_ms": {str(k): v for k, v in (ref.get("sd855_ms") or {}).items()},
                          "storage_mb": ref.get("storage_mb")},
            "notes": spec.notes,
        })
    return rows


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}" if isinstance(value, (int, float)) else "-"


def render_table(rows: List[Dict[str, Any]]) -> str:
    """The human table."""
    header = ["model", "table name", "width", "params(M)", "MACs(M)", "weights (--weights)",
              "preprocessing", "top1", "top5", "SD855 ms 1/2/4 thr"]
    lines = [header]
    for r in rows:
        sources = [s + ("*" if s in r["cached_sources"] else "") for s in r["weight_sources"]]
        ms = r["reference"]["sd855_ms"]
        lines.append([
            r["name"], r["display_name"], f"{r['width']:g}", f"{r['params'] / 1e6:.2f}",
            f"{r['macs_m']:.1f}", ", ".join(sources) or "(none: file, URL or random)",
            r["preprocessing"], _pct(r["reference"]["top1"]), _pct(r["reference"]["top5"]),
            "/".join(f"{ms[t]:.2f}" for t in ("1", "2", "4") if t in ms) or "-"])
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    text += ["",
             "weights: named sources (* = already in the cache); every model also takes a local "
             ".pth/.pt/.bin/.safetensors file, an http(s) URL (#sha256=<hex> pins it) or `random`.",
             "top1/top5: published ImageNet-1k figures; SD855: PaddleClas (Paddle Lite, FP32, bs=1)."]
    return "\n".join(text)


def run(args: argparse.Namespace, out: Output) -> int:
    """List the variants (``--json`` for data)."""
    rows = model_rows(args.cache_dir)
    out.result({"models": rows}, lambda: render_table(rows))
    return 0
