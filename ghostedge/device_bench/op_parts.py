"""A benchmark_model per-operator profile summed by GhostNet part: time share against MAC share.

The parts of a model's operators come from the ``op_parts`` section of its report (written by
``ghostedge convert``, see ``ghostedge.convert.op_parts``); which operator each profile row belongs
to is ``ghostedge.device_bench.op_align``'s business (TFLite rows by node index, XNNPACK rows by an
alignment on type families, rows shared by delegate partitions, whole-delegate rows).

Every row's time lands on exactly one line, so the lines add up to the profiled run: the parts, a
``delegate`` line for a whole-delegate row that cannot be split (older benchmark_model builds,
GPU/NNAPI; it holds the MACs of the operators it ran), an ``unmatched`` line for rows no operator
took. Without a report section (a model from elsewhere, or the section of another model) the rows
are summed by TFLite operator type (MACs from the .tflite, when it can be read here), or else by the
profile's own node types; the result says so in its notes.
"""
from __future__ import annotations

import collections
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ghostedge.android_runner.op_profile import OpProfile
from ghostedge.convert.op_parts import PART_LABELS, PARTS, SCHEMA
from ghostedge.device_bench.op_align import Ops, place_rows, xnn_type

log = logging.getLogger(__name__)


@dataclass
class PartRow:
    """One line: a part (or operator type), its time per run, shares, MACs and counts."""

    part: str
    label: str
    time_ms: float
    time_share: float            # of the lines' sum (all lines add to 1)
    mac_share: Optional[float]   # of the model's MACs; None when unknown
    macs: Optional[int]
    ops: int                     # TFLite operators on this line
    rows: int                    # profile rows (calls) whose time it holds


@dataclass
class PartProfile:
    """A profiled run split by GhostNet part (``grouping`` "part"), else by operator type."""

    model: str
    form: str                    # OpProfile.form
    grouping: str                # "part", "operator type" or "profile node type"
    total_ms: Optional[float]    # the profiled run's time (the profile's own Timings average)
    parts: List[PartRow] = field(default_factory=list)
    unmatched: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    operators: List[Dict[str, Any]] = field(default_factory=list)  # index, op, part, ms

    @property
    def parts_sum_ms(self) -> float:
        return sum(p.time_ms for p in self.parts)

    @property
    def coverage(self) -> Optional[float]:   # the lines' sum over the profiled run's time
        return self.parts_sum_ms / self.total_ms if self.total_ms else None

    def to_dict(self) -> Dict[str, Any]:
        return {**asdict(self), "parts_sum_ms": round(self.parts_sum_ms, 6), "coverage": self.coverage}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "PartProfile":
        """Back from ``to_dict`` (a stored bench result), to redraw the table and the plot."""
        keys = ("model", "form", "grouping", "total_ms", "unmatched", "notes", "operators")
        return cls(**{k: data[k] for k in keys if k in data}, parts=[PartRow(**p) for p in data.get("parts", [])])

    def table(self) -> str:
        """The lines as a text table: time share beside MAC share, and their ratio."""
        def line(label: str, ops: int, rows: int, ms: float, share: float, mac: Optional[float]) -> str:
            ratio = f"{share / mac:.2f}" if mac else "-"
            mac_text = "-" if mac is None else f"{100 * mac:.1f}"
            return f"{label[:29]:<30}{ops:>5}{rows:>6}{ms:>9.3f}{100 * share:>8.1f}{mac_text:>8}{ratio:>9}"

        head = "".join(f"{c:>{w}}" for c, w in (("ops", 5), ("rows", 6), ("ms/run", 9), ("time %", 8),
                                                  ("MAC %", 8), ("time/MAC", 9)))
        head = f"{self.grouping:<30}{head}"
        known = [p.mac_share for p in self.parts if p.mac_share is not None]
        out = [f"Per-operator profile by {self.grouping}: {self.model} ({self.form.replace('_', ' ')})",
               head, "-" * len(head)] + [line(p.label, p.ops, p.rows, p.time_ms, p.time_share, p.mac_share)
                                         for p in self.parts]
        ops, rows = sum(p.ops for p in self.parts), sum(p.rows for p in self.parts)
        out += ["-" * len(head), line("total", ops, rows, self.parts_sum_ms, float(bool(self.parts)),
                                      sum(known) if known else None)]
        if self.total_ms:
            out.append(f"the lines add up to {self.parts_sum_ms:.3f} ms of the profiled run's "
                       f"{self.total_ms:.3f} ms ({100 * (self.coverage or 0):.1f} %)")
        return "\n".join(out + [f"note: {n}" for n in self.notes])

    def write_plot(self, path: Union[str, Path]) -> Path:
        """Bars of time share against MAC share per line (PNG, written atomically)."""
        import matplotlib

        matplotlib.use("Agg", force=True)
        from matplotlib import pyplot as plt

        from ghostedge.fileio import atomic_path

        rows = self.parts[::-1]
        ys = list(range(len(rows)))
        fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.8), dpi=110)
        try:
            for shift, label, values in ((0.2, "time %", [r.time_share for r in rows]),
                                         (-0.2, "MAC %", [r.mac_share or 0 for r in rows])):
                ax.barh([y + shift for y in ys], [100 * v for v in values], height=0.4, label=label)
            ax.set(yticks=ys, yticklabels=[r.label for r in rows], xlabel="share (%)",
                   title=f"{self.model}: time vs MACs by {self.grouping}")
            ax.grid(True, axis="x", alpha=0.3)
            ax.legend(fontsize=8)
            fig.tight_layout()
            with atomic_path(path, suffix=".png") as tmp:
                fig.savefig(tmp, format="png")
        finally:
            plt.close(fig)
        return Path(path)


def _section_ops(section: Any) -> Optional[Ops]:
    ops = section.get("operators") if isinstance(section, dict) and section.get("schema") == SCHEMA else None
    keys = ("index", "op", "part", "macs", "inputs")
    if not isinstance(ops, list) or not all(isinstance(o, dict) and all(k in o for k in keys) for o in ops):
        return None
    return ops if [o["index"] for o in ops] == list(range(len(ops))) else None


def _model_ops(model_path: Path) -> Optional[Ops]:
    """The .tflite's operators, each its own type's group; None when it cannot be read here."""
    try:
        from ghostedge.convert.op_parts import operator_rows
        from ghostedge.tflite import read_model

        return [{**o, "part": o["op"]} for o in operator_rows(read_model(model_path))]
    except Exception as exc:   # no flatbuffers on this machine, no such file: the profile alone
        log.debug("cannot read %s for the profile: %s", model_path, exc)
        return None


def profile_by_part(profile: OpProfile, model_path: Union[str, Path],
                    report_section: Optional[dict]) -> PartProfile:
    """Sum the profiled run's rows by GhostNet part (matching rules: see the module doc)."""
    model_path = Path(model_path)
    notes: List[str] = []
    ops = _section_ops(report_section)
    if report_section is None:
        notes.append(f"{model_path.name} has no op_parts section in a report beside it (not converted by "
                     "ghostedge, or by an older version): profiled by operator type only")
    elif ops is None:
        notes.append("the report's op_parts section is unreadable: profiled by operator type only")
    elif (found := _model_ops(model_path)) is not None and [o["op"] for o in found] != [o["op"] for o in ops]:
        notes.append(f"the report's op_parts section describes another model ({len(ops)} operators, "
                     f"{model_path.name} has {len(found)}): profiled by operator type only")
        ops = None
    grouping = "part"
    if ops is None:
        ops = _model_ops(model_path)
        grouping = "operator type" if ops is not None else "profile node type"
    result = PartProfile(model_path.name, profile.form, grouping, profile.total_ms, notes=notes)
    if profile.form == "empty":
        notes.append("the output holds no per-operator profile (was --enable_op_profiling=true given?)")
    elif ops is None:
        groups: Dict[str, List[Any]] = {}
        for r in profile.operators:
            g = groups.setdefault(xnn_type(r), [xnn_type(r), 0.0, 0, 0, 0])
            g[1], g[4] = g[1] + r.per_run_ms, g[4] + max(1, r.times_called)
        _lines(result, groups, 0, sorted(groups, key=lambda k: -groups[k][1]))
    else:
        _place_rows(profile, ops, result)
    return result


def _place_rows(profile: OpProfile, ops: Ops, result: PartProfile) -> None:
    """Put each row's time per run on its operator (``op_align``), then sum by part."""
    placed = place_rows(profile.operators, ops)
    times, calls, unmatched, kernels = placed.times, placed.calls, placed.unmatched, placed.kernels
    in_kernel = {i for _, c in kernels for i in c}
    silent = collections.Counter(o["op"] for o in ops if o["index"] not in set(times) | in_kernel)
    if placed.shared_calls:
        result.notes.append(f"{placed.shared_calls} more call(s) of rows that delegate partitions share "
                            "were placed in later partitions")
    if kernels:
        result.notes.append(f"this benchmark_model reports the {kernels[0][0].node_type} delegate as one "
                            "row (older builds; GPU/NNAPI): its time cannot be split by part. A current "
                            "LiteRT benchmark_model reports one row per XNNPACK operator")
    elif silent:
        result.notes.append(f"{sum(silent.values())} operator(s) had no row of their own (fused or dropped "
                            "by XNNPACK): " + ", ".join(f"{k} x{v}" for k, v in sorted(silent.items())))
    groups: Dict[str, List[Any]] = {}   # key: [label, ms, macs, ops, rows]
    for o in ops:
        i = int(o["index"])
        key = "delegate" if i in in_kernel else str(o["part"])
        g = groups.setdefault(key, [PART_LABELS.get(key, key), 0.0, 0, 0, 0])
        g[1:] = [g[1] + times.get(i, 0.0), g[2] + int(o["macs"]), g[3] + 1, g[4] + calls.get(i, 0)]
        result.operators.append({"index": i, "op": o["op"], "part": key, "ms": round(times.get(i, 0.0), 6)})
    for kernel, _ in kernels:
        g = groups.setdefault("delegate", ["", 0.0, 0, 0, 0])
        name = re.sub(r"^TfLite|Delegate\w*$", "", kernel.node_type)
        g[0], g[1], g[4] = f"{name} delegate (not split)".strip(), g[1] + kernel.per_run_ms, g[4] + 1
    if unmatched:
        groups["unmatched"] = ["unmatched rows", sum(ms for _, ms in unmatched), 0, 0, len(unmatched)]
        result.unmatched = [r.name or r.node_type for r, _ in unmatched]
        result.notes.append(f"{len(unmatched)} profile row(s) matched no operator: "
                            + ", ".join(result.unmatched[:8]))
    order = list(PARTS) if result.grouping == "part" else sorted(groups, key=lambda k: -groups[k][1])
    _lines(result, groups, sum(int(o["macs"]) for o in ops), order + ["delegate", "unmatched"])


def _lines(result: PartProfile, groups: Dict[str, List[Any]], total_macs: int, order: List[str]) -> None:
    summed = sum(g[1] for g in groups.values()) or 1.0
    for key in dict.fromkeys(k for k in order if k in groups):
        label, ms, macs, n_ops, n_rows = groups[key]
        result.parts.append(PartRow(key, label, round(ms, 6), ms / summed,
                                    macs / total_macs if total_macs else None, macs if total_macs else None,
                                    n_ops, n_rows))
