"""Latency statistics: each run's figures as benchmark_model prints them, and each cell's over runs.

A *run* is one benchmark invocation (load, warm up, N timed inferences). Its figures are kept as
benchmark_model names them (count, first, curr, min, max, avg, std, p5, median, p95; µs). Its
*center* is its median inference time; older benchmark_model builds print no median, and then the
run's average stands in (``CellStats.run_stat`` says which; a note is added).

A *cell* (model × threads) gets one headline, in ms: **the median over runs of the runs' medians**.
Why (measured on the project's shared 2-vCPU VM, GhostNet 1.0x FP32/INT8 under LiteRT, 5 runs of
>= 50 inferences per cell, sessions in a row; numbers in the issue-10 report):
* It is the latency a typical inference sees, and it does not depend on how many inferences a run
  has. The minimum does: over ~200 inferences it is 0.7 % (up to 2.5 %) lower than over the first
  50, only ~4 % of inferences come within 1 % of it, and it sits 2-6 % below the median — a best
  case (what AI Hub reports), kept beside the headline as ``best_ms`` (minimum of the runs' minima).
* A run's median ignores inferences delayed by other work; its average does not (run-to-run CV of
  quiet runs: median 0.4-1.9 %, average up to 6 %). The median over runs then ignores whole runs
  spoiled by a burst. With another process busy on one of the 2 CPUs, 1-thread cells of
  consecutive sessions agreed within 3 % in 8 of 10 pairs (median difference 0.7 %) against 4 of
  10 for the mean of averages (the figure Paddle Lite and benchmark_model's "Inference (avg)"
  give, kept as ``mean_ms``). 2-thread cells then doubled whatever the statistic (no statistic
  rescues a saturated host: ``host_load`` flags such runs instead).

Its 95 % interval is the distribution-free interval for a median from order statistics: with n
runs, [x(k), x(n+1-k)] of the sorted run centers covers the true median with probability
1 - 2·P(Binomial(n, ½) <= k-1), whatever the distribution, assuming independent runs. The largest
k reaching 95 % is used; from 6 runs on, k >= 1 reaches it (n=6: [min, max], 96.9 %; n=9: 2nd to
8th, 96.1 %; n=12: 3rd to 10th, 96.1 %). With fewer runs no interval reaches 95 %: [min, max] is
given with its true confidence (3 runs: 75 %, 5 runs: 93.8 %) and the cell's stability is unknown.
A bootstrap over runs was rejected: for a median of n <= 5 values its 2.5/97.5 percentiles are
always the sample's min and max (measured: 56 of 56 five-run cells; a 3-run cell would read "95 %"
for a 75 % interval), and beyond that it approximates the same order statistics with seed noise.
Pooling every inference into one interval was rejected too: inferences within a run are not
independent (a burst of other work shifts a whole run), so the pooled interval is far narrower
than what is seen between sessions (measured: ±1.1 % median half-width against a median 1.7 %,
up to 70 %, difference between consecutive sessions' headlines).

A cell is *stable* when its interval lies within ±2 % of the headline (``TARGET_REL_HALF_WIDTH``).
"""
from __future__ import annotations

import math
import re
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ghostedge.android_runner.parse import STAT_KEYS, RunStats

HIGH_CV = 0.05                 # repeats disagreeing by more than 5 % (std/mean) earn a warning
CONFIDENCE = 0.95
TARGET_REL_HALF_WIDTH = 0.02   # a stable cell's interval lies within ±2 % of its headline
HEADLINE = "median over runs of each run's median inference time"


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


@dataclass(frozen=True)
class RunSummary(RunStats):
    """One run's figures in µs, as benchmark_model prints them (``None`` where not printed), and
    the per-inference times when they are known (``--device local``)."""

    samples_us: Optional[List[float]] = None

    @property
    def center_stat(self) -> str:
        """"median", or "avg" where benchmark_model printed no median."""
        return "median" if self.median is not None else "avg"

    @property
    def center_us(self) -> Optional[float]:
        """The run's median, else its average."""
        return self.median if self.median is not None else self.avg

    def to_dict(self, include_samples: bool = True) -> Dict[str, Any]:
        data = asdict(self)
        if not include_samples:
            data.pop("samples_us")
        return data


def _finite(value: Any) -> Optional[float]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def run_from_times(times_us: Iterable[float]) -> Optional[RunSummary]:
    """A run from its per-inference times (µs); None when there are none."""
    values = [v for v in (_finite(t) for t in times_us) if v is not None]
    if not values:
        return None
    return RunSummary(samples_us=values, **summarize_runs_us(values))


def run_from_stats(stats: Mapping[str, Any]) -> Optional[RunSummary]:
    """A run from benchmark_model's stat figures (``count=… first=… … [p5= median= p95=]`` as a
    mapping, e.g. ``RunStats.to_dict()``); None without a usable median or average."""
    values = {k: _finite(stats.get(k)) for k in STAT_KEYS}
    count = int(_finite(stats.get("count")) or 0)
    if count == 1 and values["curr"] is not None:   # one run prints only curr (and percentiles)
        for key in ("first", "min", "max", "avg"):
            values[key] = values[key] if values[key] is not None else values["curr"]
    run = RunSummary(count, **values)
    return run if run.center_us is not None and run.center_us > 0 else None


_STAT_LINE = re.compile(r"count=(\d+)\b(.*)$")
_PAIR = re.compile(r"\b(\w+)=([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


def run_from_stat_line(line: str) -> Optional[RunSummary]:
    """A run from one printed stat line (any ``INFO:``/logcat prefix, ``%g`` numbers)."""
    found = _STAT_LINE.search(line)
    if not found:
        return None
    values: Dict[str, Any] = dict(_PAIR.findall(found.group(2)))
    values["count"] = found.group(1)
    return run_from_stats(values)


def run_from_result(result: Mapping[str, Any]) -> Optional[RunSummary]:
    """A run from a results.jsonl run record's ``result``: its per-inference times
    (``samples_us``) when stored, else its stat figures (``runs``), else its ``avg_us`` alone."""
    samples = result.get("samples_us")
    if isinstance(samples, list) and samples:
        return run_from_times(samples)
    if isinstance(result.get("runs"), Mapping):
        run = run_from_stats(result["runs"])
        if run is not None:
            return run
    avg = _finite(result.get("avg_us"))
    return RunSummary(0, avg=avg) if avg is not None and avg > 0 else None


def median_interval(values: Sequence[float],
                    confidence: float = CONFIDENCE) -> Tuple[float, float, float]:
    """Distribution-free interval for the median of ``values``: (low, high, achieved confidence).
    The narrowest order-statistic interval reaching ``confidence``, else [min, max] with the lower
    confidence it has (module docstring)."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0 or not 0.0 < confidence < 1.0:
        raise ValueError(f"need values and 0 < confidence < 1 (got {n} values, {confidence})")

    def coverage(k: int) -> float:   # P(x(k) <= median <= x(n+1-k))
        return 1.0 - 2.0 * sum(math.comb(n, i) for i in range(k)) / 2.0 ** n

    k = 1
    while k + 1 <= (n + 1) // 2 and coverage(k + 1) >= confidence:
        k += 1
    return ordered[k - 1], ordered[n - k], coverage(k) if n > 1 else 0.0


@dataclass(frozen=True)
class CellStats:
    """One (model, threads) cell over its runs, in ms. ``headline_ms``: the median over runs of
    the runs' medians (module docstring); every per-run figure it came from is kept."""

    n: int
    headline_ms: float
    ci_low_ms: float
    ci_high_ms: float
    ci_confidence: float          # what the interval achieves (>= 0.95 from 6 runs)
    rel_half_width: float         # the interval's larger side / headline
    stable: Optional[bool]        # within ±2 %; None: too few runs for a 95 % interval
    best_ms: float                # minimum over runs of the runs' minima (else their centers)
    mean_ms: float                # mean over runs of the runs' averages
    min_ms: float                 # smallest run center
    max_ms: float                 # largest run center
    std_ms: float                 # sample std of the run centers (0 for one run)
    cv: float                     # std_ms / mean of the run centers
    run_stat: str                 # "median", "avg" (no median printed) or "median/avg"
    values_ms: List[float]        # each run's center, in run order
    avgs_ms: List[float]
    mins_ms: List[float]
    notes: List[str] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        """The headline (the name older readers of summary.json use)."""
        return self.headline_ms

    @property
    def high_variance(self) -> bool:
        return self.n > 1 and self.cv > HIGH_CV

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["median_ms"] = self.median_ms
        data["high_variance"] = self.high_variance
        data["headline"] = HEADLINE
        return data


def cell_from_runs(runs: Sequence[Optional[RunSummary]], confidence: float = CONFIDENCE,
                   target: float = TARGET_REL_HALF_WIDTH) -> Optional[CellStats]:
    """Statistics of one cell from its runs (``None`` entries are skipped); None without any."""
    usable = [r for r in runs if r is not None and r.center_us is not None and r.center_us > 0]
    if not usable:
        return None
    centers = [r.center_us / 1000.0 for r in usable]
    avgs = [(r.avg if r.avg is not None else r.center_us) / 1000.0 for r in usable]
    mins = [(r.min if r.min is not None else r.center_us) / 1000.0 for r in usable]
    headline = statistics.median(centers)
    low, high, achieved = median_interval(centers, confidence)
    half = max(headline - low, high - headline) / headline
    stable = (half <= target) if achieved >= confidence else None
    mean_c = statistics.fmean(centers)
    std = statistics.stdev(centers) if len(centers) > 1 else 0.0
    kinds = sorted({r.center_stat for r in usable}, reverse=True)
    notes = []
    if "avg" in kinds:
        missing = sum(r.center_stat == "avg" for r in usable)
        notes.append(f"{missing} of {len(usable)} runs printed no median (older benchmark_model); "
                     "their average stands in")
    if achieved < confidence:
        needed = math.ceil(math.log2(2.0 / (1.0 - confidence)))   # 1 - 2 / 2**n >= confidence
        notes.append(f"{len(usable)} runs give at most a {achieved:.1%} interval; "
                     f"{needed} are needed for {confidence:.0%}")
    return CellStats(len(usable), headline, low, high, achieved, half, stable, min(mins),
                     statistics.fmean(avgs), min(centers), max(centers), std,
                     std / mean_c if mean_c > 0 else 0.0, "/".join(kinds), centers, avgs, mins,
                     notes)


def cell_stats(values_ms: Sequence[float]) -> Optional[CellStats]:
    """A cell from its runs' averages alone (ms): each average stands in for its run's median."""
    runs = [RunSummary(0, avg=v * 1000.0) for v in (_finite(x) for x in values_ms)
            if v is not None and v > 0]
    return cell_from_runs(runs)
