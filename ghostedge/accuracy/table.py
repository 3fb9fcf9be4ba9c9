"""The seed's accuracy table: | Models | Top1 | Top5 | Reference top1 | Reference top5 | FLOPs(G) | Params(M) |"""
from __future__ import annotations

from typing import Optional, Sequence

from ghostedge.accuracy.metrics import ModelAccuracy
from ghostedge.text import counted

HEADER = "| Models | Top1 | Top5 | Reference top1 | Reference top5 | FLOPs(G) | Params(M) |"
ALIGN = "|:--:|:--:|:--:|:--:|:--:|:--:|:--:|"


def _num(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_table(results: Sequence[ModelAccuracy]) -> str:
    """One row per model, numbers as the seed writes them (fractions with 3 decimals)."""
    lines = [HEADER, ALIGN]
    for r in results:
        lines.append(f"| {r.model} | {_num(r.top1)} | {_num(r.top5)} | {_num(r.reference_top1)} | "
                     f"{_num(r.reference_top5)} | {_num(r.flops_g)} | {_num(r.params_m)} |")
    return "\n".join(lines)


def format_footer(results: Sequence[ModelAccuracy], data: str, layout: str) -> str:
    """The lines under the table: what was measured on what."""
    if not results:
        return ""
    first = results[0]
    lines = [f"{counted(first.images, 'image')} from {data} ({layout}); "
             f"FLOPs = 2 x multiply-accumulates at {first.image_size}x{first.image_size}; "
             "reference columns: published ImageNet top-1/top-5 (PaddleClas/timm) for 1000-class models"]
    for r in results:
        if r.skipped:
            lines.append(f"{r.model}: {counted(r.skipped, 'unreadable image')} skipped")
    return "\n".join(lines)
