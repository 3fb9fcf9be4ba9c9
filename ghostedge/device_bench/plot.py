"""latency.png: headline latency against threads per (device, model), 95 % intervals as error bars,
delegate cells as labelled levels; oversubscribed cells drawn hollow and hatched, never as plain
points; the PaddleClas references dashed."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Union

from ghostedge.device_bench.summary import column_prefix


def write_latency_plot(summary: Dict[str, Any], dest: Union[str, "os.PathLike[str]"]) -> Path:
    """Draw the summary's plot into ``dest`` (PNG; the caller stages and renames it)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib import pyplot as plt

    threads = summary["threads"]
    multi = len(summary.get("devices") or [1]) > 1
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=110)
    try:
        drew_over = False
        for row in summary["rows"]:
            name = f"{row.get('device')} {row['label']}" if multi else row["label"]
            pts = [(t, row["cells"].get(str(t))) for t in threads]
            pts = [(t, c) for t, c in pts if c and c.get("status") == "ok"]
            if pts:
                xs = [t for t, _ in pts]
                ys = [c["headline_ms"] for _, c in pts]
                err = [[max(0.0, c["headline_ms"] - c["ci_low_ms"]) for _, c in pts],
                       [max(0.0, c["ci_high_ms"] - c["headline_ms"]) for _, c in pts]]
                line = ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=name)
                color = line[0].get_color()
                over = [(t, c) for t, c in pts if c.get("oversubscribed")]
                if over:
                    drew_over = True
                    ax.scatter([t for t, _ in over], [c["headline_ms"] for _, c in over], s=160,
                               facecolors="none", edgecolors=color, hatch="///", linewidths=1.2, zorder=3)
                    for t, c in over:
                        ax.annotate("oversubscribed", (t, c["headline_ms"]), textcoords="offset points",
                                    xytext=(6, 6), fontsize=7, color=color)
            for key, cell in row["cells"].items():
                if key.isdigit() or not cell or cell.get("status") != "ok":
                    continue
                ax.axhline(cell["headline_ms"], linestyle=":", linewidth=1)
                ax.annotate(f"{key.upper()} {name}", (threads[0] if threads else 1, cell["headline_ms"]),
                            textcoords="offset points", xytext=(2, 3), fontsize=7)
        for ref in summary.get("reference", []):
            pts = [(t, ref["ms"][str(t)]) for t in threads if ref["ms"].get(str(t)) is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle="--", marker="x", label=ref["label"])
        if threads:
            ax.set_xticks(threads)
        ax.set_xlabel("threads")
        ax.set_ylabel(f"latency (ms, {summary.get('headline', 'median')}; bars: 95 % interval)")
        title = "several devices" if multi else column_prefix(summary["device"])
        ax.set_title(f"{title}: latency vs threads (bs=1, {summary.get('protocol', 'strict')} protocol)"
                     + ("\nhollow hatched = oversubscribed (more threads than cores)" if drew_over else ""),
                     fontsize=9)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "no measurements", ha="center", va="center", transform=ax.transAxes)
        fig.tight_layout()
        fig.savefig(dest, format="png")
    finally:
        plt.close(fig)
    return Path(dest)
