"""Render a bench summary: the seed-format markdown table (+ CV table), CSV, JSON and a PNG plot."""
from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ghostedge.fileio import atomic_path, atomic_write_json, atomic_write_text
from ghostedge.device_bench.summary import column_prefix, latency_ms

log = logging.getLogger(__name__)

OUTPUT_NAMES = {"table": "table.md", "csv": "table.csv", "summary": "summary.json",
                "plot": "latency.png"}


def _ms(value: Optional[float]) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.4f}"


def _mb(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.3f}"


def markdown_table(summary: Dict[str, Any]) -> str:
    """``| Models | <SoC> time(ms) bs=1, thread=1 | thread=2 | ... | Storage Size(M) |``."""
    threads = summary["threads"]
    prefix = column_prefix(summary["device"])
    heads = [f"{prefix} time(ms) bs=1, thread={t}" if i == 0 else f"thread={t}"
             for i, t in enumerate(threads)]
    lines = ["| Models | " + " | ".join(heads) + " | Storage Size(M) |",
             "|---|" + "---|" * len(threads) + "---|"]
    for row in summary["rows"]:
        cells = [_ms(latency_ms(row, t)) for t in threads]
        lines.append(f"| {row['label']} | " + " | ".join(cells) + f" | {_mb(row['size_mb'])} |")
    for ref in summary.get("reference", []):
        cells = [_ms(ref["ms"].get(str(t))) for t in threads]
        lines.append(f"| {ref['label']} | " + " | ".join(cells) + f" | {_mb(ref['storage_mb'])} |")
    return "\n".join(lines)


def cv_table(summary: Dict[str, Any]) -> str:
    """Coefficient of variation of each cell over its repeats, with min–max in ms."""
    threads = summary["threads"]
    lines = ["| Models | " + " | ".join(f"CV thread={t}" for t in threads) + " | repeats |",
             "|---|" + "---|" * len(threads) + "---|"]
    for row in summary["rows"]:
        cells, counts = [], set()
        for t in threads:
            cell = row["cells"].get(str(t))
            if not cell:
                cells.append("—")
                continue
            counts.add(cell["n"])
            flag = " (high)" if cell["high_variance"] else ""
            cells.append(f"{cell['cv'] * 100:.1f} % ({cell['min_ms']:.2f}–{cell['max_ms']:.2f}){flag}")
        reps = "/".join(str(c) for c in sorted(counts)) or "0"
        lines.append(f"| {row['label']} | " + " | ".join(cells) + f" | {reps} |")
    return "\n".join(lines)


def markdown_report(summary: Dict[str, Any]) -> str:
    """table.md: the seed table, the CV table, the device and the notes."""
    device = summary["device"]
    facts = device.get("facts") or {}
    parts = [markdown_table(summary), "",
             "Median over repeats of each run's average latency. CV = std/mean over repeats "
             "(min–max ms):", "", cv_table(summary), ""]
    described = ", ".join(f"{k}={facts[k]}" for k in ("model", "platform", "soc", "cpu_model", "abi")
                          if facts.get(k))
    parts.append(f"Device: {device.get('label')} ({device.get('serial') or device.get('kind')})"
                 + (f"; {described}" if described else ""))
    if device.get("affinity"):
        aff = device["affinity"]
        parts.append(f"Affinity: {aff.get('policy')} mask={aff.get('mask') or 'none'} "
                     f"cpus={aff.get('cpus')}")
    if summary.get("reference"):
        parts.append("Reference rows: PaddleClas's published SD855 figures (Paddle Lite, FP32, "
                     "bs=1; power mode and phone undocumented).")
    for warning in summary.get("warnings", []):
        parts.append(f"Warning: {warning}")
    return "\n".join(parts).rstrip() + "\n"


def csv_text(summary: Dict[str, Any]) -> str:
    """One CSV row per (model, threads) cell, reference rows marked ``source=reference``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["model", "source", "precision", "threads", "median_ms", "mean_ms", "min_ms",
                     "max_ms", "std_ms", "cv", "repeats", "storage_bytes", "storage_mb", "sha256",
                     "device"])
    label = column_prefix(summary["device"])
    for row in summary["rows"]:
        for t in summary["threads"]:
            cell = row["cells"].get(str(t)) or {}
            writer.writerow([row["label"], "measured", row.get("precision") or "", t,
                             *(f"{cell[k]:.4f}" if k in cell else "" for k in
                               ("median_ms", "mean_ms", "min_ms", "max_ms", "std_ms")),
                             f"{cell['cv']:.5f}" if cell else "", cell.get("n", 0),
                             row.get("size_bytes") or "",
                             f"{row['size_mb']:.3f}" if row.get("size_mb") else "",
                             row.get("sha256") or "", label])
    for ref in summary.get("reference", []):
        for t in summary["threads"]:
            value = ref["ms"].get(str(t))
            writer.writerow([ref["label"], "reference", "fp32", t,
                             "" if value is None else f"{value:.4f}", "", "", "", "", "", "", "",
                             "" if ref["storage_mb"] is None else f"{ref['storage_mb']:.3f}", "",
                             "SD855"])
    return buf.getvalue()


def write_plot(summary: Dict[str, Any], dest: Union[str, "os.PathLike[str]"]) -> Path:
    """latency.png: median latency against threads per model (min–max bars), references dashed."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    threads = summary["threads"]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    try:
        for row in summary["rows"]:
            pts = [(t, row["cells"][str(t)]) for t in threads if row["cells"].get(str(t))]
            if not pts:
                continue
            xs = [t for t, _ in pts]
            ys = [c["median_ms"] for _, c in pts]
            err = [[c["median_ms"] - c["min_ms"] for _, c in pts],
                   [c["max_ms"] - c["median_ms"] for _, c in pts]]
            ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=row["label"])
        for ref in summary.get("reference", []):
            pts = [(t, ref["ms"][str(t)]) for t in threads if ref["ms"].get(str(t)) is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle="--", marker="x",
                        label=ref["label"])
        ax.set_xticks(threads)
        ax.set_xlabel("threads")
        ax.set_ylabel("latency (ms, median of repeats)")
        ax.set_title(f"{column_prefix(summary['device'])}: latency vs threads (bs=1)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no measurements", ha="center", va="center", transform=ax.transAxes)
        fig.tight_layout()
        with atomic_path(dest, suffix=".png") as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return Path(dest)


def write_reports(summary: Dict[str, Any], folder: Union[str, "os.PathLike[str]"],
                  plot: bool = True) -> Dict[str, Path]:
    """Write table.md, table.csv, summary.json and latency.png into ``folder`` (each atomically)."""
    folder = Path(folder)
    written = {"table": atomic_write_text(folder / OUTPUT_NAMES["table"], markdown_report(summary)),
               "csv": atomic_write_text(folder / OUTPUT_NAMES["csv"], csv_text(summary)),
               "summary": atomic_write_json(folder / OUTPUT_NAMES["summary"], summary)}
    if plot:
        try:
            written["plot"] = write_plot(summary, folder / OUTPUT_NAMES["plot"])
        except ImportError as exc:
            log.warning("no latency.png: matplotlib is not installed (%s)", exc)
    return written


def report_files(folder: Union[str, "os.PathLike[str]"]) -> List[Path]:
    """The report files a bench writes (for --force checks and listings)."""
    return [Path(folder) / name for name in OUTPUT_NAMES.values()]
