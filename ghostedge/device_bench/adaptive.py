"""When to run: wait (bounded) for a quiet host before a local run, and repeat an unstable cell
until its 95 % interval is within ±2 % of its headline, it has had the most runs allowed, or the
time budget is spent — saying which.

Decision logic on injected clocks: ``decide`` is pure (the caller passes the cell's statistics
from ``stats.cell_from_runs`` and the time spent, e.g. from ``Budget``) and runs nothing. Intended
use in the runner: after the planned repeats, while some cell's decision says ``again``, run one
more round of those cells (interleaved, as the planned repeats), then decide again.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, Optional, Sequence

from ghostedge.device_bench.host_load import (BUSY, UNKNOWN, HostLoad, HostSample, Thresholds,
                                              assess, read_host_sample, usable_cpus)
from ghostedge.device_bench.stats import CONFIDENCE, TARGET_REL_HALF_WIDTH, CellStats

log = logging.getLogger(__name__)

STABLE, MORE, MAX_RUNS, BUDGET, NO_DATA = "stable", "more", "max_runs", "budget", "no_data"


@dataclass(frozen=True)
class AdaptivePolicy:
    """Target ±``target`` at ``confidence``; at least ``min_runs`` (6: the fewest runs whose
    order-statistic interval reaches 95 %), at most ``max_runs``, within ``budget_s`` seconds."""

    target: float = TARGET_REL_HALF_WIDTH
    min_runs: int = 6
    max_runs: int = 20
    budget_s: float = 60.0
    confidence: float = CONFIDENCE

    def __post_init__(self) -> None:
        if not 0 < self.target < 1 or self.min_runs < 1 or self.max_runs < self.min_runs \
                or self.budget_s < 0:
            raise ValueError(f"invalid adaptive policy {self}")


@dataclass(frozen=True)
class Decision:
    """Whether to run the cell again; ``status`` is one of stable / more / max_runs / budget /
    no_data and ``reason`` says it in words, e.g. "interval ±3.4 % after 8 runs, budget 60 s
    spent"."""

    again: bool
    status: str
    reason: str
    runs: int
    rel_half_width: Optional[float]
    spent_s: float

    @property
    def unstable(self) -> bool:
        """Stopped without reaching the target."""
        return not self.again and self.status in (MAX_RUNS, BUDGET)

    def to_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        data["spent_s"] = round(self.spent_s, 3)
        data["unstable"] = self.unstable
        return data


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def decide(stats: Optional[CellStats], policy: AdaptivePolicy, spent_s: float,
           next_run_s: Optional[float] = None) -> Decision:
    """Run the cell again? ``spent_s``: time spent so far against the budget; ``next_run_s``: how
    long one more run is expected to take (e.g. the cell's mean run time), so that a run that
    would end past the budget is not started."""
    if stats is None or stats.n == 0:
        return Decision(False, NO_DATA, "no measured runs", 0, None, spent_s)
    n, half = stats.n, stats.rel_half_width
    reached = stats.ci_confidence >= policy.confidence and half <= policy.target
    where = f"interval ±{_pct(half)} after {n} run{'s' if n != 1 else ''}"
    if stats.ci_confidence < policy.confidence:
        where += f" ({stats.ci_confidence:.0%} interval)"
    if reached and n >= policy.min_runs:
        return Decision(False, STABLE, where, n, half, spent_s)
    if n >= policy.max_runs:
        return Decision(False, MAX_RUNS, f"{where}, the most runs allowed ({policy.max_runs})",
                        n, half, spent_s)
    upcoming = max(0.0, next_run_s or 0.0)
    if spent_s >= policy.budget_s or spent_s + upcoming > policy.budget_s:
        return Decision(False, BUDGET, f"{where}, budget {policy.budget_s:g} s spent",
                        n, half, spent_s)
    if n < policy.min_runs:
        goal = f"{n} of at least {policy.min_runs} runs"
    else:
        goal = f"target ±{_pct(policy.target)}"
    return Decision(True, MORE, f"{where}; {goal}", n, half, spent_s)


class Budget:
    """Seconds spent since ``start()`` (or creation) on an injected clock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._start = clock()

    def start(self) -> None:
        self._start = self._clock()

    def spent(self) -> float:
        return max(0.0, self._clock() - self._start)


@dataclass
class WaitResult:
    """What ``wait_quiet`` saw: whether the host got quiet, how long it waited, the last check."""

    quiet: bool
    waited_s: float
    checks: int
    last: Optional[HostLoad]

    @property
    def timed_out(self) -> bool:
        return not self.quiet and self.last is not None and self.last.verdict != UNKNOWN

    def to_dict(self) -> Dict[str, object]:
        return {"quiet": self.quiet, "waited_s": round(self.waited_s, 3), "checks": self.checks,
                "timed_out": self.timed_out, "last": self.last.to_dict() if self.last else None}


def wait_quiet(max_wait_s: float, poll_s: float = 1.0,
               clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep,
               sample: Optional[Callable[[], Optional[HostSample]]] = None,
               cpus: Optional[Sequence[int]] = None,
               thresholds: Thresholds = Thresholds()) -> WaitResult:
    """Watch the host ``poll_s`` at a time until one interval is quiet, at most ``max_wait_s``.
    Nothing of ours runs meanwhile, so every busy CPU counts against quiet. Returns at once with
    verdict "unknown" where the host cannot be read."""
    sample = sample or read_host_sample
    cpus = list(cpus) if cpus is not None else usable_cpus()
    start = clock()
    previous = sample()
    checks = 0
    last: Optional[HostLoad] = None
    while True:
        if previous is None:
            return WaitResult(False, clock() - start, checks, assess(None, None, cpus))
        sleep(poll_s)
        current = sample()
        checks += 1
        last = assess(previous, current, cpus, thresholds=thresholds)
        waited = clock() - start
        if last.verdict != BUSY:
            return WaitResult(last.quiet, waited, checks, last)
        if waited + poll_s > max_wait_s:
            log.warning("host still busy after %.0f s (%s); running anyway", waited,
                        "; ".join(last.reasons))
            return WaitResult(False, waited, checks, last)
        previous = current
