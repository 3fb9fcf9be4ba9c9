"""``BenchSession``: what one bench (or one redraw of saved results) produced."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional


@dataclass
class BenchSession:
    """What one benchmark (or one redraw of saved results) produced. ``failures``: one line per
    device that failed (its rows are marked); ``unsaved``: the results as JSON lines when they
    could be written nowhere."""

    folder: Path
    summary: Dict[str, Any]
    files: Dict[str, Path] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)
    interrupted: bool = False
    failures: List[str] = field(default_factory=list)
    unsaved: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        """What ``ghostedge bench --json`` / ``report --json`` print: the summary and the files."""
        return {**self.summary, "files": {k: str(v) for k, v in self.files.items()},
                "failures": list(self.failures), "interrupted": self.interrupted}

    def table(self) -> str:
        """The seed-format table, the interval table, per-part profiles and where the files are."""
        from ghostedge.device_bench.render import interval_table, markdown_table, notes, profile_tables

        footnotes: List[str] = []
        table = markdown_table(self.summary, footnotes)
        parts = [table, "", interval_table(self.summary), "", *notes(self.summary, footnotes),
                 *profile_tables(self.summary)]
        return "\n".join(parts + [f"{k}: {v}" for k, v in self.files.items()])
