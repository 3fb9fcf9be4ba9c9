"""Render a bench summary: the seed-format table (devices × models, thread columns, delegate
columns, storage size; marked cells never shown as plain figures), the interval table, notes, the
per-part profiles and the CSV. Files: ``reportfiles.write_reports``."""
from __future__ import annotations

import csv
import io
import logging
from typing import Any, Dict, List, Optional

from ghostedge.device_bench.summary import column_prefix, latency_ms

log = logging.getLogger(__name__)

HEADLINES = {"median": "median over runs of each run's median inference time",
             "mean": "mean over runs of each run's average inference time (as Paddle Lite prints it)"}


def _ms(value: Optional[float]) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.4f}"


def _mb(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.3f}"


def _multi(summary: Dict[str, Any]) -> bool:
    return len(summary.get("devices") or [summary.get("device")]) > 1


def _columns(summary: Dict[str, Any]) -> List[Dict[str, Any]]:
    return summary.get("columns") or [{"key": str(t), "delegate": "cpu", "threads": t, "label": f"thread={t}"}
                                      for t in summary["threads"]]


def footnote(footnotes: List[str], text: str) -> int:
    """The number of ``text`` among the footnotes (added when new)."""
    if text not in footnotes:
        footnotes.append(text)
    return footnotes.index(text) + 1


def cell_text(cell: Optional[Dict[str, Any]], footnotes: List[str]) -> str:
    """``12.34``, ``10.20 (oversubscribed)``, ``failed [1]`` (reason in footnote 1), ``—``."""
    if not cell:
        return "—"
    if cell.get("status") == "failed":
        return f"failed [{footnote(footnotes, cell.get('reason') or 'failed')}]"
    marks = [m for m in cell.get("marks", []) if m != "failed"]
    return _ms(cell.get("headline_ms", cell.get("median_ms"))) + (f" ({', '.join(marks)})" if marks else "")


def markdown_table(summary: Dict[str, Any], footnotes: Optional[List[str]] = None) -> str:
    """``| Models | <SoC> time(ms) bs=1, thread=1 | thread=2 | ... | GPU | Storage Size(M) |``; with
    several devices a Device column comes first. Footnotes of failed cells go to ``footnotes``."""
    notes: List[str] = [] if footnotes is None else footnotes
    cols = _columns(summary)
    multi = _multi(summary)
    memory = any(r.get("memory") for r in summary["rows"])
    prefix = "" if multi else f"{column_prefix(summary['device'])} "
    heads = [f"{prefix}time(ms) bs=1, {c['label']}" if i == 0 else c["label"] for i, c in enumerate(cols)]
    first = ["Device", "Models"] if multi else ["Models"]
    tail = ["Storage Size(M)"] + (["Peak memory(MB)"] if memory else [])
    lines = ["| " + " | ".join(first + heads + tail) + " |", "|" + "---|" * (len(first) + len(heads) + len(tail))]
    for row in summary["rows"]:
        lead = [f"{row.get('device_label')} ({row.get('device')})", row["label"]] if multi else [row["label"]]
        cells = [cell_text(row["cells"].get(c["key"]), notes) for c in cols]
        if row.get("device_status") == "failed" and not any(row["cells"].get(c["key"]) for c in cols):
            reason = f"device failed: {row.get('device_error')}"
            cells = [f"device failed [{footnote(notes, reason)}]"] + ["—"] * (len(cols) - 1)
        mem = row.get("memory", {}).get("cpu")
        extra = [_mb(row["size_mb"])] + ([f"{mem:.1f}" if isinstance(mem, (int, float)) else "—"] if memory else [])
        lines.append("| " + " | ".join(lead + cells + extra) + " |")
    for ref in summary.get("reference", []):
        lead = [summary_ref_device(summary), ref["label"]] if multi else [ref["label"]]
        cells = [_ms(ref["ms"].get(c["key"])) if c["delegate"] == "cpu" else "—" for c in cols]
        lines.append("| " + " | ".join(lead + cells + [_mb(ref["storage_mb"])] + (["—"] if memory else [])) + " |")
    return "\n".join(lines)


def summary_ref_device(summary: Dict[str, Any]) -> str:
    return "SD855 (published)"


def interval_table(summary: Dict[str, Any]) -> str:
    """Each cell's 95 % interval, run count, best (fastest inference) and mean, in ms."""
    cols = _columns(summary)
    multi = _multi(summary)
    lines = ["| " + " | ".join((["Device"] if multi else []) + ["Models"] + [c["label"] for c in cols]) + " |",
             "|" + "---|" * (len(cols) + 1 + multi)]
    for row in summary["rows"]:
        cells = []
        for c in cols:
            cell = row["cells"].get(c["key"])
            if not cell or cell.get("status") == "failed":
                cells.append("—")
                continue
            conf = cell.get("ci_confidence") or 0.0
            cells.append(f"[{_ms(cell['ci_low_ms'])}–{_ms(cell['ci_high_ms'])}] n={cell['n']}"
                         + (f" ({conf:.0%})" if conf < 0.95 else "")
                         + f", best {_ms(cell['best_ms'])}, mean {_ms(cell['mean_ms'])}")
        lead = [f"{row.get('device_label')} ({row.get('device')})"] if multi else []
        lines.append("| " + " | ".join(lead + [row["label"]] + cells) + " |")
    return "\n".join(lines)


def notes(summary: Dict[str, Any], footnotes: Optional[List[str]] = None) -> List[str]:
    """Protocol, statistic, marks, devices (affinity, cool-down, leftovers removed), footnotes,
    warnings: one line each."""
    from ghostedge.device_bench.options import PROTOCOLS

    protocol = PROTOCOLS.get(summary.get("protocol", "strict"))
    changes = summary.get("protocol_changes") or []
    out = [f"Protocol: {summary.get('protocol', 'strict')}" + (f" — {protocol.description}" if protocol else "")
           + (f"; changed here: {', '.join(changes)}." if changes else "."),
           f"Headline: {HEADLINES.get(summary.get('headline', 'median'), summary.get('headline'))}; second table: "
           "95 % interval of the median of the runs (order statistics), runs, best inference, mean.",
           "Marks: oversubscribed = more threads than usable cores (the scheduler is measured); busy = other work "
           "on the host during the runs; throttled = pinned cores below 95 % of their top frequency; "
           "unstable = interval wider than ±2 %."]
    for dev in summary.get("devices") or [summary["device"]]:
        facts = dev.get("facts") or {}
        described = ", ".join(f"{k}={facts[k]}" for k in ("model", "platform", "soc", "cpu_model", "abi") if facts.get(k))
        line = f"Device: {dev.get('label')} ({dev.get('serial') or dev.get('kind')})" + (f"; {described}" if described else "")
        aff = dev.get("affinity") or {}
        if aff:
            line += f"; affinity {aff.get('policy')} mask={aff.get('mask') or 'none'} cpus={aff.get('cpus')}"
        thermal = dev.get("thermal") or {}
        if thermal.get("mode") not in (None, "off"):
            line += (f"; cool-down to {_c(thermal.get('threshold_c'))} (start {_c(thermal.get('baseline_c'))}), "
                     f"waited {dev.get('cooldown_waited_s') or 0:.1f} s in all")
        removed = (dev.get("deployment") or {}).get("removed_leftovers")
        if removed:
            line += f"; removed earlier sessions' leftovers: {', '.join(sorted(removed))}"
        if dev.get("status") not in (None, "ok"):
            line += f"; ended {dev['status']}"
        out.append(line)
    if summary.get("reference"):
        out.append("Reference rows: PaddleClas's published SD855 figures (Paddle Lite, FP32, bs=1; power mode "
                   "and phone undocumented; made with the paddlelite protocol's settings).")
    out += [f"[{i}] {text}" for i, text in enumerate(footnotes or [], start=1)]
    return out + [f"Warning: {w}" for w in summary.get("warnings", [])]


def _c(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.1f} °C"


def profile_tables(summary: Dict[str, Any]) -> List[str]:
    """Each --op-profile result as its per-part table (or why there is none)."""
    from ghostedge.device_bench.op_parts import PartProfile

    out = []
    for prof in summary.get("profiles", []):
        head = f"Op profile on {prof['device_label']} ({prof['device']}), {prof['model']}, {prof['threads']} thread(s):"
        if prof.get("status") == "ok" and prof.get("part_profile"):
            out += ["", head, PartProfile.from_dict(prof["part_profile"]).table()]
        else:
            out += ["", head + f" not measured — {(prof.get('failure') or {}).get('reason', 'failed')}"]
    return out + ([""] if out else [])


def markdown_report(summary: Dict[str, Any]) -> str:
    """table.md: the seed table, the interval table, the notes and the per-part profiles."""
    footnotes: List[str] = []
    table = markdown_table(summary, footnotes)
    parts = [table, "", interval_table(summary), "", *notes(summary, footnotes), *profile_tables(summary)]
    return "\n".join(parts).rstrip() + "\n"


CSV_FIELDS = ["model", "source", "precision", "delegate", "threads", "median_ms", "statistic", "ci_low_ms",
              "ci_high_ms", "ci_confidence", "best_ms", "mean_ms", "min_ms", "max_ms", "std_ms", "cv", "repeats",
              "marks", "status", "reason", "storage_bytes", "storage_mb", "peak_memory_mb", "sha256", "device",
              "serial"]


def csv_text(summary: Dict[str, Any]) -> str:
    """One CSV row per (device, model, column) cell (``median_ms`` holds the headline), reference
    rows marked ``source=reference``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in summary["rows"]:
        for col in _columns(summary):
            cell = row["cells"].get(col["key"]) or {}
            num = {k: (f"{cell[k]:.4f}" if isinstance(cell.get(k), (int, float)) else "")
                   for k in ("headline_ms", "ci_low_ms", "ci_high_ms", "best_ms", "mean_ms", "min_ms", "max_ms",
                             "std_ms")}
            mem = row.get("memory", {}).get(col["delegate"])
            writer.writerow([row["label"], "measured", row.get("precision") or "", col["delegate"],
                             col["threads"] if col["threads"] is not None else "", num["headline_ms"],
                             cell.get("statistic", ""), num["ci_low_ms"], num["ci_high_ms"],
                             f"{cell['ci_confidence']:.4f}" if cell.get("ci_confidence") is not None else "",
                             num["best_ms"], num["mean_ms"], num["min_ms"], num["max_ms"], num["std_ms"],
                             f"{cell['cv']:.5f}" if cell.get("cv") is not None else "", cell.get("n", 0),
                             ";".join(cell.get("marks", [])), cell.get("status", "missing"), cell.get("reason", ""),
                             row.get("size_bytes") or "", f"{row['size_mb']:.3f}" if row.get("size_mb") else "",
                             f"{mem:.2f}" if isinstance(mem, (int, float)) else "", row.get("sha256") or "",
                             row.get("device_label") or column_prefix(summary["device"]), row.get("device") or ""])
    for ref in summary.get("reference", []):
        for t in summary["threads"]:
            value = ref["ms"].get(str(t))
            data = {"model": ref["label"], "source": "reference", "precision": "fp32", "delegate": "cpu",
                    "threads": t, "median_ms": "" if value is None else f"{value:.4f}", "statistic": "published",
                    "storage_mb": "" if ref["storage_mb"] is None else f"{ref['storage_mb']:.3f}",
                    "device": "SD855"}
            writer.writerow([data.get(k, "") for k in CSV_FIELDS])
    return buf.getvalue()


def latency(row: Dict[str, Any], key: Any) -> Optional[float]:
    """The cell's headline (ms), None when not measured."""
    return latency_ms(row, key)
