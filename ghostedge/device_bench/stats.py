"""Per-cell statistics over repeats: median of the repeats' averages, min, max, std, CV."""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence

HIGH_CV = 0.05  # repeats disagreeing by more than 5 % (std/mean) earn a warning


@dataclass(frozen=True)
class CellStats:
    """Latency of one (model, threads) cell over its repeats, in milliseconds."""

    n: int
    median_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float
    std_ms: float
    cv: float           # std / mean (sample std; 0 for a single repeat)
    values_ms: List[float]

    @property
    def high_variance(self) -> bool:
        return self.n > 1 and self.cv > HIGH_CV

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["high_variance"] = self.high_variance
        return data


def cell_stats(values_ms: Sequence[float]) -> Optional[CellStats]:
    """Statistics of one cell's repeat averages; None when nothing was measured."""
    values = [float(v) for v in values_ms if v is not None and math.isfinite(float(v))]
    if not values:
        return None
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    cv = std / mean if mean > 0 else 0.0
    return CellStats(len(values), statistics.median(values), mean, min(values), max(values), std, cv,
                     values)


def summarize_runs_us(samples_us: Iterable[float]) -> Dict[str, float]:
    """benchmark_model-style statistics (µs) of one run's per-inference times."""
    values = [float(v) for v in samples_us]
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    n = len(ordered)

    def pct(p: float) -> float:
        return ordered[min(n - 1, int(p / 100.0 * n))]

    mean = statistics.fmean(values)
    return {"count": n, "first": values[0], "curr": values[-1], "min": ordered[0],
            "max": ordered[-1], "avg": mean, "std": statistics.pstdev(values) if n > 1 else 0.0,
            "p5": pct(5), "median": statistics.median(values), "p95": pct(95)}
