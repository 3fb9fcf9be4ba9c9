"""The report files of a bench, written all or nothing: every file is made first as a hidden
staged file beside its place, and only when all of them exist are they renamed into place (a
rename in one folder needs no space). A full disk, a read-only or vanished folder, a name too long:
nothing half-done stays, and one line says which path and what to do."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Callable, Dict, List, Union

log = logging.getLogger(__name__)

OUTPUT_NAMES = {"table": "table.md", "csv": "table.csv", "summary": "summary.json", "plot": "latency.png"}
PROFILE_PLOTS = "op_parts-*.png"


def profile_plot_name(prof: Dict[str, Any]) -> str:
    raw = f"op_parts-{prof.get('device')}-{prof['model']}-{prof.get('threads')}t"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)[:120] + ".png"


def _writers(summary: Dict[str, Any], plot: bool) -> Dict[str, "tuple[str, Callable[[Path], Any]]"]:
    from ghostedge.device_bench.render import csv_text, markdown_report

    def text(content: str) -> Callable[[Path], Any]:
        return lambda p: p.write_text(content, encoding="utf-8")

    out: Dict[str, tuple] = {
        "table": (OUTPUT_NAMES["table"], text(markdown_report(summary))),
        "csv": (OUTPUT_NAMES["csv"], text(csv_text(summary))),
        "summary": (OUTPUT_NAMES["summary"], text(json.dumps(summary, indent=2, default=str) + "\n"))}
    if not plot:
        return out
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        log.warning("no plots: matplotlib is not installed")
        return out
    from ghostedge.device_bench.op_parts import PartProfile
    from ghostedge.device_bench.plot import write_latency_plot

    out["plot"] = (OUTPUT_NAMES["plot"], lambda p: write_latency_plot(summary, p))
    for i, prof in enumerate(summary.get("profiles", [])):
        if prof.get("status") == "ok" and prof.get("part_profile"):
            parts = PartProfile.from_dict(prof["part_profile"])
            out[f"op_parts_{i}"] = (profile_plot_name(prof), lambda p, parts=parts: _part_plot(parts, p))
    return out


def _part_plot(parts: Any, path: Path) -> None:
    """PartProfile.write_plot renames its own temporary file onto ``path`` (our staged name)."""
    parts.write_plot(path)


def write_reports(summary: Dict[str, Any], folder: Union[str, "os.PathLike[str]"],
                  plot: bool = True) -> Dict[str, Path]:
    """Write table.md, table.csv, summary.json, latency.png and one op_parts-*.png per profile
    into ``folder``: all of them, or none (then a one-line error)."""
    from ghostedge.fileio import os_error

    folder = Path(folder)
    staged: List["tuple[Path, Path]"] = []
    written: Dict[str, Path] = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for key, (name, write) in _writers(summary, plot).items():
            final = folder / name
            stage = folder / f".{name}.staged"
            staged.append((stage, final))
            write(stage)
            written[key] = final
        for stage, final in staged:
            os.replace(stage, final)
    except OSError as exc:
        for stage, _ in staged:
            with contextlib.suppress(OSError):
                stage.unlink()
        raise os_error(exc, f"Cannot write the report files in {folder}", folder) from exc
    except BaseException:
        for stage, _ in staged:
            with contextlib.suppress(OSError):
                stage.unlink()
        raise
    return written


def report_files(folder: Union[str, "os.PathLike[str]"]) -> List[Path]:
    """The report files a bench writes (for --force checks and listings)."""
    folder = Path(folder)
    return [folder / name for name in OUTPUT_NAMES.values()] + sorted(folder.glob(PROFILE_PLOTS))
