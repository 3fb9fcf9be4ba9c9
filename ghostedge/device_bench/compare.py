"""``ghostedge report A B``: two saved benches cell by cell — each headline with its 95 % interval,
the difference, and whether the intervals overlap (if they do not, the difference is more than
run-to-run noise; if they do, the two cannot be told apart at this precision).

Cells are matched by (device SoC label, model, column); when each side holds one device, by
(model, column) alone, so one phone can be compared with another."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

PathArg = Union[str, "os.PathLike[str]"]


@dataclass
class CellPair:
    device: str
    model: str
    column: str
    a_ms: Optional[float]
    b_ms: Optional[float]
    a_ci: Optional[Tuple[float, float]]
    b_ci: Optional[Tuple[float, float]]
    a_marks: List[str]
    b_marks: List[str]

    @property
    def diff_pct(self) -> Optional[float]:
        if self.a_ms and self.b_ms is not None:
            return 100.0 * (self.b_ms - self.a_ms) / self.a_ms
        return None

    @property
    def overlap(self) -> Optional[bool]:
        if not self.a_ci or not self.b_ci:
            return None
        return self.a_ci[0] <= self.b_ci[1] and self.b_ci[0] <= self.a_ci[1]

    def to_dict(self) -> Dict[str, Any]:
        return {"device": self.device, "model": self.model, "column": self.column, "a_ms": self.a_ms,
                "b_ms": self.b_ms, "a_ci": self.a_ci, "b_ci": self.b_ci, "diff_pct": self.diff_pct,
                "overlap": self.overlap, "a_marks": self.a_marks, "b_marks": self.b_marks}


@dataclass
class Comparison:
    """What ``bench_compare`` found; ``to_dict()`` is ``report A B --json``."""

    a: str
    b: str
    a_summary: Dict[str, Any]
    b_summary: Dict[str, Any]
    pairs: List[CellPair] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return {"a": self.a, "b": self.b, "protocols": [self.a_summary.get("protocol"), self.b_summary.get("protocol")],
                "cells": [p.to_dict() for p in self.pairs], "notes": self.notes}

    def table(self) -> str:
        def ms(v: Optional[float], ci: Optional[Tuple[float, float]], marks: List[str]) -> str:
            if v is None:
                return "—"
            text = f"{v:.2f}" + (f" [{ci[0]:.2f}–{ci[1]:.2f}]" if ci else "")
            return text + (f" ({', '.join(marks)})" if marks else "")

        lines = [f"A: {self.a} ({self.a_summary.get('protocol')} protocol)",
                 f"B: {self.b} ({self.b_summary.get('protocol')} protocol)", "",
                 "| Device | Models | column | A ms [95 %] | B ms [95 %] | B vs A | intervals overlap |",
                 "|---|---|---|---|---|---|---|"]
        for p in self.pairs:
            diff = "—" if p.diff_pct is None else f"{p.diff_pct:+.1f} %"
            overlap = {True: "yes", False: "no", None: "—"}[p.overlap]
            lines.append(f"| {p.device} | {p.model} | {p.column} | {ms(p.a_ms, p.a_ci, p.a_marks)} | "
                         f"{ms(p.b_ms, p.b_ci, p.b_marks)} | {diff} | {overlap} |")
        return "\n".join(lines + [f"Note: {n}" for n in self.notes])


def _cells(summary: Dict[str, Any], by_device: bool) -> Dict[tuple, Dict[str, Any]]:
    out = {}
    labels = {c["key"]: c["label"] for c in summary.get("columns", [])}
    for row in summary["rows"]:
        for key, cell in row["cells"].items():
            name = (row.get("device_label") or "", row["label"], labels.get(key, key))
            out[name if by_device else ("",) + name[1:]] = {"cell": cell, "device": row.get("device_label")}
    return out


def compare_results(a: PathArg, b: PathArg) -> Comparison:
    """Read two results (files or folders) and pair their cells."""
    from ghostedge.device_bench.store import read_results, resolve_results_path
    from ghostedge.device_bench.summary import build_summary

    pa, pb = resolve_results_path(a), resolve_results_path(b)
    sa, sb = build_summary(read_results(pa)), build_summary(read_results(pb))
    single = len(sa.get("devices", [])) <= 1 and len(sb.get("devices", [])) <= 1
    ca, cb = _cells(sa, not single), _cells(sb, not single)
    result = Comparison(str(pa), str(pb), sa, sb)
    if sa.get("protocol") != sb.get("protocol"):
        result.notes.append(f"the protocols differ ({sa.get('protocol')} vs {sb.get('protocol')}): "
                            "part of any difference is the protocol's")
    if single and sa.get("device", {}).get("label") != sb.get("device", {}).get("label"):
        result.notes.append(f"different devices: {sa['device'].get('label')} vs {sb['device'].get('label')}")
    for key in list(dict.fromkeys(list(ca) + list(cb))):
        x, y = (ca.get(key) or {}).get("cell"), (cb.get(key) or {}).get("cell")
        ok = [c if c and c.get("status") == "ok" else None for c in (x, y)]
        device = (ca.get(key) or cb.get(key) or {}).get("device") or ""
        result.pairs.append(CellPair(
            device, key[1], key[2], *[c["headline_ms"] if c else None for c in ok],
            *[(c["ci_low_ms"], c["ci_high_ms"]) if c else None for c in ok],
            *[list(c.get("marks", [])) if c else [] for c in (x, y)]))
    if not any(p.a_ms is not None and p.b_ms is not None for p in result.pairs):
        result.notes.append("no cell was measured in both")
    return result
